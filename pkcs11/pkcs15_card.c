/* The PKCS#15 application on a card: reading it (EF(DIR) -> ODF -> TokenInfo -> DFs),
 * creating it in the rutoken_ecp layout, and rewriting directory files as objects come
 * and go. All card access goes through the driver's p11_p15_fs. */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkcs15_card.h"

#define DIR_SIZE  128
#define ODF_SIZE  128
#define TI_SIZE   128
#define AODF_SIZE 256
#define XDF_SIZE  2048

static const uint8_t path_dir[] = {0x3F, 0x00, 0x2F, 0x00};
/* The PKCS#15 application identifier, A0 00 00 00 63 "PKCS-15", in EF(DIR). */
static const uint8_t pkcs15_aid[] = {0xA0, 0x00, 0x00, 0x00, 0x63, 0x50,
                                     0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35};
static const uint8_t path_app[] = {0x3F, 0x00, 0x50, 0x00};

/* Where the rutoken_ecp profile puts each directory file, in the ODF order OpenSC's
 * pkcs15-init produces for a fully populated card. */
static const struct {
    p11_p15_df_type type;
    uint16_t fid;
    size_t size;
} layout[] = {
    {P11_P15_AODF, 0x6005, AODF_SIZE}, {P11_P15_PRKDF, 0x6002, XDF_SIZE},
    {P11_P15_PUKDF, 0x6001, XDF_SIZE}, {P11_P15_CDF, 0x6004, XDF_SIZE},
    {P11_P15_DODF, 0x6006, XDF_SIZE},
};

static size_t df_size(p11_p15_df_type t)
{
    size_t i;

    for (i = 0; i < VT_ARRAY_LEN(layout); i++)
        if (layout[i].type == t)
            return layout[i].size;
    return XDF_SIZE;
}

static CK_RV p15_rv(p11_p15_status st)
{
    switch (st) {
    case P11_P15_OK:
        return CKR_OK;
    case P11_P15_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case P11_P15_ERR_ARGS:
    case P11_P15_ERR_INTERNAL:
        return CKR_GENERAL_ERROR;
    default:
        return CKR_DEVICE_ERROR; /* the card holds something we cannot read */
    }
}

void p11_p15_now(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    if (strftime(out, 16, "%Y%m%d%H%M%SZ", &tm) == 0)
        strcpy(out, "19700101000000Z");
}

p11_p15_status p11_p15_card_init(p11_p15_card *card)
{
    memset(card, 0, sizeof(*card));
    return p11_p15_codec_new(&card->codec);
}

void p11_p15_card_reset(p11_p15_card *card)
{
    size_t i;

    for (i = 0; i < card->ndfs; i++)
        p11_p15_objs_free(card->dfs[i].objs, card->dfs[i].n);
    p11_p15_tokeninfo_clear(&card->ti);
    memset(card->dfs, 0, sizeof(card->dfs));
    card->ndfs = 0;
    card->present = false;
    memset(&card->app, 0, sizeof(card->app));
}

void p11_p15_card_free(p11_p15_card *card)
{
    if (!card)
        return;
    p11_p15_card_reset(card);
    p11_p15_codec_free(card->codec);
    card->codec = NULL;
}

bool p11_p15_card_abs_path(const p11_p15_card *card, const p11_p15_path *in, p11_p15_path *out)
{
    return p11_p15_path_absolute(&card->app, in, out);
}

static bool child(const p11_p15_path *parent, uint16_t fid, p11_p15_path *out)
{
    *out = *parent;
    out->count = -1;
    out->index = 0;
    return p11_p15_path_append(out, fid);
}

/* The application DF from EF(DIR): the first record with a path. */
static CK_RV find_app(p11_p15_card *card, const p11_p15_fs *fs, bool *found)
{
    vt_buf buf = {0};
    p11_p15_dirrec recs[P11_P15_MAX_DIRRECS];
    size_t n = 0, i;
    bool exists = false;
    CK_RV rv;

    *found = false;
    rv = fs->read(fs->ctx, &(p11_p15_path){.v = {0x3F, 0x00, 0x2F, 0x00}, .len = 4, .count = -1},
                  &buf, &exists);
    if (rv != CKR_OK || !exists)
        goto out;
    rv = p15_rv(p11_p15_decode_dir(card->codec, buf.data, buf.len, recs, VT_ARRAY_LEN(recs), &n));
    if (rv != CKR_OK)
        goto out;
    for (i = 0; i < n; i++) {
        if (recs[i].path_len >= 2 && p11_p15_path_set(&card->app, recs[i].path, recs[i].path_len)) {
            if (card->app.v[0] != 0x3F || card->app.v[1] != 0x00) {
                p11_p15_path rel = card->app;
                p11_p15_path mf;
                p11_p15_path_set(&mf, path_dir, 2);
                if (!p11_p15_path_absolute(&mf, &rel, &card->app))
                    continue;
            }
            *found = true;
            break;
        }
    }
out:
    vt_buf_free(&buf);
    return rv;
}

CK_RV p11_p15_card_load(p11_p15_card *card, const p11_p15_fs *fs)
{
    vt_buf buf = {0};
    p11_p15_odf_entry odf[P11_P15_MAX_ODF];
    p11_p15_path p;
    size_t n = 0, i;
    bool found = false;
    CK_RV rv;

    p11_p15_card_reset(card);
    rv = find_app(card, fs, &found);
    if (rv != CKR_OK)
        goto out;
    /* No EF(DIR): the profile's place, as OpenSC would look under its default. */
    if (!found)
        p11_p15_path_set(&card->app, path_app, sizeof(path_app));
    child(&card->app, 0x5031, &p);
    rv = fs->read(fs->ctx, &p, &buf, &found);
    if (rv != CKR_OK || !found)
        goto out;
    rv = p15_rv(p11_p15_decode_odf(card->codec, buf.data, buf.len, odf, VT_ARRAY_LEN(odf), &n));
    if (rv != CKR_OK)
        goto out;
    child(&card->app, 0x5032, &p);
    vt_buf_clear(&buf);
    rv = fs->read(fs->ctx, &p, &buf, &found);
    if (rv != CKR_OK)
        goto out;
    if (found && buf.len) {
        rv = p15_rv(p11_p15_decode_tokeninfo(card->codec, buf.data, buf.len, &card->ti));
        if (rv != CKR_OK)
            goto out;
    }
    for (i = 0; i < n; i++) {
        p11_p15_df *df = &card->dfs[card->ndfs];

        df->type = odf[i].type;
        if (!p11_p15_path_absolute(&card->app, &odf[i].path, &df->path)) {
            rv = CKR_DEVICE_ERROR;
            goto out;
        }
        card->ndfs++;
        vt_buf_clear(&buf);
        rv = fs->read(fs->ctx, &df->path, &buf, &found);
        if (rv != CKR_OK)
            goto out;
        if (!found)
            continue; /* listed but absent: an empty DF */
        rv = p15_rv(p11_p15_decode_df(card->codec, df->type, buf.data, buf.len, &df->objs, &df->n));
        if (rv != CKR_OK)
            goto out;
    }
    card->present = true;
out:
    vt_buf_free(&buf);
    if (rv != CKR_OK)
        p11_p15_card_reset(card);
    return rv;
}

p11_p15_df *p11_p15_card_df(p11_p15_card *card, p11_p15_df_type type)
{
    size_t i;

    for (i = 0; i < card->ndfs; i++)
        if (card->dfs[i].type == type)
            return &card->dfs[i];
    return NULL;
}

p11_p15_obj *p11_p15_card_pin(p11_p15_card *card, long reference, p11_p15_df **df, size_t *idx)
{
    p11_p15_df *d = p11_p15_card_df(card, P11_P15_AODF);
    size_t i;

    for (i = 0; d && i < d->n; i++) {
        if (d->objs[i].type == P11_P15_OBJ_AUTH_PIN && d->objs[i].u.pin.reference == reference) {
            if (df)
                *df = d;
            if (idx)
                *idx = i;
            return &d->objs[i];
        }
    }
    return NULL;
}

static CK_RV write_df(p11_p15_card *card, const p11_p15_fs *fs, const p11_p15_df *df)
{
    vt_buf der = {0};
    CK_RV rv;

    rv = p15_rv(p11_p15_encode_df(card->codec, df->objs, df->n, &der));
    if (rv == CKR_OK)
        rv = fs->write(fs->ctx, &df->path,
                       df->type == P11_P15_AODF ? P11_P15_FILE_AODF : P11_P15_FILE_XDF,
                       df_size(df->type), der.data, der.len);
    vt_buf_free(&der);
    return rv;
}

static CK_RV write_odf(p11_p15_card *card, const p11_p15_fs *fs)
{
    p11_p15_odf_entry e[P11_P15_MAX_ODF];
    p11_p15_path p;
    vt_buf der = {0};
    size_t i;
    CK_RV rv;

    for (i = 0; i < card->ndfs; i++) {
        e[i].type = card->dfs[i].type;
        e[i].path = card->dfs[i].path;
    }
    child(&card->app, 0x5031, &p);
    rv = p15_rv(p11_p15_encode_odf(card->codec, e, card->ndfs, &der));
    if (rv == CKR_OK)
        rv = fs->write(fs->ctx, &p, P11_P15_FILE_ODF, ODF_SIZE, der.data, der.len);
    vt_buf_free(&der);
    return rv;
}

static CK_RV write_tokeninfo(p11_p15_card *card, const p11_p15_fs *fs)
{
    p11_p15_path p;
    vt_buf der = {0};
    CK_RV rv;

    p11_p15_now(card->ti.last_update);
    child(&card->app, 0x5032, &p);
    rv = p15_rv(p11_p15_encode_tokeninfo(card->codec, &card->ti, &der));
    if (rv == CKR_OK)
        rv = fs->write(fs->ctx, &p, P11_P15_FILE_TOKENINFO, TI_SIZE, der.data, der.len);
    vt_buf_free(&der);
    return rv;
}

/* The PIN objects pkcs15-init puts in the AODF for this profile. */
static void pin_obj(p11_p15_obj *o, bool so, long min, long max, uint8_t ref)
{
    p11_p15_obj_init(o, P11_P15_OBJ_AUTH_PIN);
    strcpy(o->label, so ? "Security Officer PIN" : "User PIN");
    o->flags = P11_P15_CO_PRIVATE | P11_P15_CO_MODIFIABLE;
    o->u.pin.auth_id.v[0] = ref;
    o->u.pin.auth_id.len = 1;
    o->u.pin.flags = P11_P15_PIN_CASE_SENSITIVE | P11_P15_PIN_INITIALIZED |
                     P11_P15_PIN_UNBLOCK_DISABLED | (so ? P11_P15_PIN_SO_PIN : 0);
    o->u.pin.type = P11_P15_PIN_TYPE_ASCII;
    o->u.pin.min_len = min;
    o->u.pin.stored_len = max;
    o->u.pin.max_len = max;
    o->u.pin.reference = ref;
    o->u.pin.has_pad = true;
    o->u.pin.pad_char = 0;
}

CK_RV p11_p15_card_create(p11_p15_card *card, const p11_p15_fs *fs, const p11_p15_new_app *app)
{
    p11_p15_dirrec rec;
    p11_p15_path p;
    vt_buf der = {0};
    size_t i;
    CK_RV rv;

    p11_p15_card_reset(card);
    p11_p15_path_set(&card->app, path_app, 2);
    p11_p15_path_append(&card->app, app->app_fid ? app->app_fid : 0x5000);
    rv = fs->create_df(fs->ctx, &card->app);
    if (rv != CKR_OK)
        goto out;
    /* The AODF only, as pkcs15-init --create-pkcs15 makes it: the other directory files
     * come with their first entry (p11_p15_card_add), so the ODF lists them in the order
     * they appeared, byte for byte what OpenSC writes for the same history. */
    card->dfs[0].type = layout[0].type;
    child(&card->app, layout[0].fid, &card->dfs[0].path);
    card->ndfs = 1;

    /* AODF: SO PIN, then the user PIN */
    card->dfs[0].objs = calloc(2, sizeof(p11_p15_obj));
    if (!card->dfs[0].objs) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    pin_obj(&card->dfs[0].objs[0], true, app->so_pin_min, app->so_pin_max,
            app->so_ref ? app->so_ref : 1);
    pin_obj(&card->dfs[0].objs[1], false, app->user_pin_min, app->user_pin_max,
            app->user_ref ? app->user_ref : 2);
    card->dfs[0].n = 2;

    card->ti.version = 0;
    if (app->serial_len && app->serial_len <= sizeof(card->ti.serial)) {
        memcpy(card->ti.serial, app->serial, app->serial_len);
        card->ti.serial_len = app->serial_len;
    }
    card->ti.has_manufacturer = app->manufacturer != NULL;
    if (app->manufacturer)
        snprintf(card->ti.manufacturer, sizeof(card->ti.manufacturer), "%s", app->manufacturer);
    card->ti.has_label = true;
    snprintf(card->ti.label, sizeof(card->ti.label), "%s", app->label);
    card->ti.has_flags = true;
    card->ti.flags = P11_P15_TOKEN_EID_COMPLIANT;

    /* directory files first, EF(DIR) last: until it names the application, a half-made
     * one is invisible */
    rv = write_odf(card, fs);
    if (rv == CKR_OK)
        rv = write_tokeninfo(card, fs);
    for (i = 0; rv == CKR_OK && i < card->ndfs; i++)
        rv = write_df(card, fs, &card->dfs[i]);
    if (rv != CKR_OK)
        goto out;
    memset(&rec, 0, sizeof(rec));
    memcpy(rec.aid, pkcs15_aid, sizeof(pkcs15_aid));
    rec.aid_len = sizeof(pkcs15_aid);
    rec.has_label = true;
    snprintf(rec.label, sizeof(rec.label), "%s", app->label);
    memcpy(rec.path, card->app.v, card->app.len);
    rec.path_len = card->app.len;
    rv = p15_rv(p11_p15_encode_dir(card->codec, &rec, 1, &der));
    p11_p15_path_set(&p, path_dir, sizeof(path_dir));
    if (rv == CKR_OK)
        rv = fs->write(fs->ctx, &p, P11_P15_FILE_DIR, DIR_SIZE, der.data, der.len);
    if (rv == CKR_OK)
        card->present = true;
out:
    vt_buf_free(&der);
    if (rv != CKR_OK)
        p11_p15_card_reset(card);
    return rv;
}

CK_RV p11_p15_card_add(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df_type type,
                       const p11_p15_obj *obj)
{
    p11_p15_df *df = p11_p15_card_df(card, type);
    p11_p15_obj *nv;
    bool new_df = false;
    size_t i;
    CK_RV rv;

    if (!card->present)
        return CKR_GENERAL_ERROR;
    if (!df) {
        /* an application made by another tool without this DF: add it where the profile
         * puts it, and name it in the ODF */
        if (card->ndfs == VT_ARRAY_LEN(card->dfs))
            return CKR_DEVICE_MEMORY;
        df = &card->dfs[card->ndfs];
        memset(df, 0, sizeof(*df));
        df->type = type;
        for (i = 0; i < VT_ARRAY_LEN(layout); i++)
            if (layout[i].type == type)
                child(&card->app, layout[i].fid, &df->path);
        if (df->path.len == 0)
            return CKR_GENERAL_ERROR;
        card->ndfs++;
        new_df = true;
    }
    nv = realloc(df->objs, (df->n + 1) * sizeof(*nv));
    if (!nv)
        return CKR_HOST_MEMORY;
    df->objs = nv;
    if (p11_p15_obj_copy(&df->objs[df->n], obj) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    df->n++;
    rv = write_df(card, fs, df);
    if (rv == CKR_OK && new_df)
        rv = write_odf(card, fs);
    if (rv != CKR_OK) {
        df->n--;
        p11_p15_obj_clear(&df->objs[df->n]);
        if (new_df && df->n == 0) {
            /* the DF never made it to the card: drop it and its entry array */
            free(df->objs);
            memset(df, 0, sizeof(*df));
            card->ndfs--;
        }
    }
    return rv;
}

CK_RV p11_p15_card_replace(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df *df, size_t i,
                           const p11_p15_obj *obj)
{
    p11_p15_obj old, copy;
    CK_RV rv;

    if (i >= df->n)
        return CKR_GENERAL_ERROR;
    if (p11_p15_obj_copy(&copy, obj) != P11_P15_OK)
        return CKR_HOST_MEMORY;
    old = df->objs[i];
    df->objs[i] = copy;
    rv = write_df(card, fs, df);
    if (rv != CKR_OK) {
        df->objs[i] = old;
        p11_p15_obj_clear(&copy);
    } else {
        p11_p15_obj_clear(&old);
    }
    return rv;
}

CK_RV p11_p15_card_remove(p11_p15_card *card, const p11_p15_fs *fs, p11_p15_df *df, size_t i)
{
    p11_p15_obj old;
    CK_RV rv;

    if (i >= df->n)
        return CKR_GENERAL_ERROR;
    old = df->objs[i];
    memmove(&df->objs[i], &df->objs[i + 1], (df->n - i - 1) * sizeof(*df->objs));
    df->n--;
    rv = write_df(card, fs, df);
    if (rv != CKR_OK) {
        memmove(&df->objs[i + 1], &df->objs[i], (df->n - i) * sizeof(*df->objs));
        df->objs[i] = old;
        df->n++;
    } else {
        p11_p15_obj_clear(&old);
    }
    return rv;
}

CK_RV p11_p15_card_set_label(p11_p15_card *card, const p11_p15_fs *fs, const char *label)
{
    if (!card->present)
        return CKR_GENERAL_ERROR;
    card->ti.has_label = true;
    snprintf(card->ti.label, sizeof(card->ti.label), "%s", label);
    return write_tokeninfo(card, fs);
}

static bool path_used(const p11_p15_card *card, const p11_p15_path *p)
{
    size_t d, i;

    for (d = 0; d < card->ndfs; d++) {
        for (i = 0; i < card->dfs[d].n; i++) {
            const p11_p15_obj *o = &card->dfs[d].objs[i];
            p11_p15_path abs;

            if (o->has_path && p11_p15_path_absolute(&card->app, &o->path, &abs) &&
                p11_p15_path_eq(&abs, p))
                return true;
        }
    }
    return false;
}

CK_RV p11_p15_card_alloc_ef(const p11_p15_card *card, uint16_t base, p11_p15_path *out)
{
    unsigned idx;

    for (idx = 0; idx <= 0xFE; idx++) {
        child(&card->app, (uint16_t)(base + idx), out);
        if (!path_used(card, out))
            return CKR_OK;
    }
    return CKR_DEVICE_MEMORY;
}

CK_RV p11_p15_card_alloc_key_ref(const p11_p15_card *card, long *ref)
{
    const p11_p15_df *df = NULL;
    long r;
    size_t i, d;

    for (d = 0; d < card->ndfs; d++)
        if (card->dfs[d].type == P11_P15_PRKDF)
            df = &card->dfs[d];
    for (r = 1; r <= 0xFF; r++) {
        bool used = false;
        for (i = 0; df && i < df->n && !used; i++)
            used = p11_p15_obj_is_prkey(df->objs[i].type) && df->objs[i].u.key.key_reference == r;
        if (!used) {
            *ref = r;
            return CKR_OK;
        }
    }
    return CKR_DEVICE_MEMORY;
}
