/* sim_card: one card image shared by the connections of this process. Creating factory
 * images, opening and closing, the summary for tools, and the card lock: an in-process
 * mutex plus the image flock, with a reload whenever another process changed the file. */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "fs.h"
#include "pin.h"
#include "sim_int.h"

const char *sim_strerror(sim_status st)
{
    switch (st) {
    case SIM_OK:
        return "success";
    case SIM_ERR_ARGS:
        return "invalid argument";
    case SIM_ERR_NOMEM:
        return "out of memory";
    case SIM_ERR_PROFILE:
        return "unknown token profile";
    case SIM_ERR_IMAGE:
        return "card image damaged or written by a newer vtoken";
    case SIM_ERR_IO:
        return "card image could not be read or written";
    case SIM_ERR_EXISTS:
        return "card image already exists";
    case SIM_ERR_NOT_FOUND:
        return "card image or token not found";
    case SIM_ERR_POWER:
        return "card not powered";
    case SIM_ERR_CONFIG:
        return "vtoken.conf is malformed";
    }
    return "unknown error";
}

sim_status sim_from_ks(ks_status st)
{
    switch (st) {
    case KS_OK:
        return SIM_OK;
    case KS_ERR_ARGS:
        return SIM_ERR_ARGS;
    case KS_ERR_NOMEM:
        return SIM_ERR_NOMEM;
    case KS_ERR_NOT_FOUND:
        return SIM_ERR_NOT_FOUND;
    case KS_ERR_CORRUPT:
    case KS_ERR_VERSION:
    case KS_ERR_UNSUPPORTED:
        return SIM_ERR_IMAGE;
    case KS_ERR_EXISTS:
        return SIM_ERR_EXISTS;
    default:
        return SIM_ERR_IO;
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- creation ------------------------------------------------------------------- */

static sim_status factory_image(const sim_profile *p, ks_image *img)
{
    const sim_dialect *d = sim_dialect_by_name(p->dialect);
    ks_image_init(img);
    snprintf(img->profile, sizeof(img->profile), "%s", p->name);
    snprintf(img->label, sizeof(img->label), "%s", p->label);
    img->serial_len = p->serial_len;
    if (RAND_bytes(img->serial, (int)p->serial_len) != 1)
        return SIM_ERR_NOMEM;
    img->lifecycle = SIM_LC_BLANK;
    if (d == NULL)
        return SIM_OK;
    return d->format(img, p);
}

sim_status sim_card_create(const char *image_path, const char *profile, bool overwrite)
{
    const sim_profile *p = sim_profile_by_name(profile);
    ks_image_file *f = NULL;
    ks_image img, probe;
    bool locked = false;
    sim_status rv;

    ks_image_init(&img);
    ks_image_init(&probe);
    if (image_path == NULL || *image_path == '\0')
        return SIM_ERR_ARGS;
    if (p == NULL)
        return SIM_ERR_PROFILE;
    rv = factory_image(p, &img);
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_open(image_path, &f));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(f, true));
    if (rv != SIM_OK)
        goto out;
    locked = true;
    if (!overwrite) {
        /* Anything already there, even a damaged image, is someone's card. */
        ks_status st = ks_image_file_load(f, &probe);
        if (st != KS_ERR_NOT_FOUND) {
            rv = st == KS_OK || st == KS_ERR_CORRUPT || st == KS_ERR_VERSION ? SIM_ERR_EXISTS
                                                                             : sim_from_ks(st);
            goto out;
        }
    }
    rv = sim_from_ks(ks_image_file_save(f, &img, true));
out:
    if (locked)
        ks_image_file_unlock(f);
    ks_image_file_close(f);
    ks_image_free(&probe);
    ks_image_free(&img);
    return rv;
}

/* ---- open / close --------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void set_why(char **why, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (why == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *why = dup_str(buf);
}

/* A blank image (made before its family had a dialect) gets the factory format the
 * first time a build with the dialect opens it. */
static sim_status format_if_blank(sim_card *card)
{
    sim_status rv = SIM_OK;
    ks_image tmp;
    ks_image_init(&tmp);
    if (card->dialect == NULL || card->img.lifecycle != SIM_LC_BLANK)
        return SIM_OK;
    rv = sim_from_ks(ks_image_file_lock(card->file, true));
    if (rv != SIM_OK)
        return rv;
    rv = sim_from_ks(ks_image_file_load(card->file, &tmp));
    if (rv != SIM_OK)
        goto out;
    if (tmp.lifecycle == SIM_LC_BLANK && tmp.nnodes == 0) {
        rv = card->dialect->format(&tmp, card->profile);
        if (rv == SIM_OK)
            rv = sim_from_ks(ks_image_file_save(card->file, &tmp, false));
        if (rv != SIM_OK)
            goto out;
    }
    ks_image_free(&card->img);
    card->img = tmp;
    ks_image_init(&tmp);
out:
    ks_image_file_unlock(card->file);
    ks_image_free(&tmp);
    return rv;
}

sim_status sim_card_open(const char *image_path, sim_card **out, char **why)
{
    sim_card *card = NULL;
    sim_status rv = SIM_ERR_ARGS;
    ks_status st;

    if (why != NULL)
        *why = NULL;
    if (image_path == NULL || out == NULL)
        goto out;
    *out = NULL;
    rv = SIM_ERR_NOMEM;
    card = calloc(1, sizeof(*card));
    if (card == NULL)
        goto out;
    ks_image_init(&card->img);
    pthread_mutex_init(&card->mu, NULL);
    pthread_cond_init(&card->cv, NULL);
    card->path = dup_str(image_path);
    if (card->path == NULL)
        goto out;
    rv = sim_from_ks(ks_image_file_open(image_path, &card->file));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(card->file, false));
    if (rv != SIM_OK)
        goto out;
    st = ks_image_file_load(card->file, &card->img);
    ks_image_file_unlock(card->file);
    rv = sim_from_ks(st);
    if (rv == SIM_ERR_IMAGE)
        set_why(why, "%s: %s", image_path,
                ks_image_file_error(card->file) ? ks_image_file_error(card->file)
                                                : ks_strerror(st));
    if (rv != SIM_OK)
        goto out;
    card->profile = sim_profile_by_name(card->img.profile);
    if (card->profile == NULL) {
        rv = SIM_ERR_IMAGE;
        set_why(why, "%s: unknown token profile \"%s\"", image_path, card->img.profile);
        goto out;
    }
    card->dialect = sim_dialect_by_name(card->profile->dialect);
    rv = format_if_blank(card);
    if (rv != SIM_OK)
        goto out;
    *out = card;
    card = NULL;
out:
    sim_card_close(card);
    return rv;
}

void sim_card_close(sim_card *card)
{
    if (card == NULL)
        return;
    ks_image_free(&card->img);
    ks_image_file_close(card->file);
    pthread_cond_destroy(&card->cv);
    pthread_mutex_destroy(&card->mu);
    free(card->path);
    free(card);
}

const sim_profile *sim_card_profile(const sim_card *card)
{
    return card != NULL ? card->profile : NULL;
}

const char *sim_card_path(const sim_card *card)
{
    return card != NULL ? card->path : NULL;
}

void sim_card_set_compute_hook(sim_card *card, sim_compute_hook fn, void *arg)
{
    pthread_mutex_lock(&card->mu);
    card->hook = fn;
    card->hook_arg = arg;
    pthread_mutex_unlock(&card->mu);
}

/* ---- locking -------------------------------------------------------------------- */

static void reload(sim_card *card)
{
    ks_image tmp;
    ks_image_init(&tmp);
    if (ks_image_file_load(card->file, &tmp) != KS_OK) {
        /* Keep serving nothing rather than a state that is no longer on disk. */
        card->broken = true;
        ks_image_free(&tmp);
        return;
    }
    ks_image_free(&card->img);
    card->img = tmp;
    card->stale = false;
    card->broken = false;
}

sim_status sim_card_enter(sim_card *card, sim_conn *conn, bool exclusive)
{
    sim_status rv = SIM_OK;
    pthread_mutex_lock(&card->mu);
    while (card->txn_owner != NULL && card->txn_owner != conn)
        pthread_cond_wait(&card->cv, &card->mu);
    /* A connection inside its own transaction already holds the flock, exclusively. */
    if (card->txn_owner != conn) {
        rv = sim_from_ks(ks_image_file_lock(card->file, exclusive));
        if (rv != SIM_OK)
            goto out;
    }
    if (card->stale || card->broken || ks_image_file_changed(card->file))
        reload(card);
out:
    if (rv != SIM_OK)
        pthread_mutex_unlock(&card->mu);
    return rv;
}

sim_status sim_card_leave(sim_card *card, sim_conn *conn, bool save)
{
    sim_status rv = SIM_OK;
    if (save) {
        rv = sim_from_ks(sim_fault_save(card, &card->img));
        if (rv != SIM_OK)
            card->stale = true;
    }
    if (card->txn_owner != conn)
        ks_image_file_unlock(card->file);
    pthread_mutex_unlock(&card->mu);
    return rv;
}

sim_status sim_ctx_save(sim_ctx *ctx)
{
    sim_status rv;
    if (!ctx->exclusive)
        return SIM_ERR_ARGS;
    rv = sim_from_ks(sim_fault_save(ctx->card, ctx->img));
    if (rv != SIM_OK) {
        /* Whatever the command did in memory is dropped: the disk decides. */
        ctx->card->stale = true;
        ctx->dirty = false;
        return rv;
    }
    ctx->dirty = false;
    return SIM_OK;
}

sim_status sim_conn_begin(sim_conn *conn)
{
    sim_card *card;
    sim_status rv = SIM_OK;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    card = conn->card;
    pthread_mutex_lock(&card->mu);
    if (card->txn_owner == conn)
        goto out; /* already ours */
    while (card->txn_owner != NULL)
        pthread_cond_wait(&card->cv, &card->mu);
    rv = sim_from_ks(ks_image_file_lock(card->file, true));
    if (rv != SIM_OK)
        goto out;
    card->txn_owner = conn;
    conn->in_txn = true;
    if (card->stale || card->broken || ks_image_file_changed(card->file))
        reload(card);
out:
    pthread_mutex_unlock(&card->mu);
    return rv;
}

sim_status sim_conn_end(sim_conn *conn)
{
    sim_card *card;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    card = conn->card;
    pthread_mutex_lock(&card->mu);
    if (card->txn_owner == conn) {
        ks_image_file_unlock(card->file);
        card->txn_owner = NULL;
        conn->in_txn = false;
        pthread_cond_broadcast(&card->cv);
    }
    pthread_mutex_unlock(&card->mu);
    return SIM_OK;
}

uint64_t sim_card_generation(sim_card *card)
{
    uint64_t gen;
    pthread_mutex_lock(&card->mu);
    /* Images are replaced by rename, so a read without the flock sees a whole file. */
    if (card->stale || card->broken || ks_image_file_changed(card->file))
        reload(card);
    gen = card->img.generation;
    pthread_mutex_unlock(&card->mu);
    return gen;
}

/* ---- summary -------------------------------------------------------------------- */

static void pin_info(const ks_image *img, const sim_pin_profile *pp, int *left, int *max)
{
    long idx = pp->ref != 0 ? sim_pin_find(img, pp->ref) : -1;
    *left = -1;
    *max = -1;
    if (idx < 0)
        return;
    *left = sim_pin_tries(&img->nodes[idx]);
    *max = img->nodes[idx].counter_max;
}

sim_status sim_card_get_info(sim_card *card, sim_card_info *info)
{
    sim_status rv;
    if (card == NULL || info == NULL)
        return SIM_ERR_ARGS;
    memset(info, 0, sizeof(*info));
    rv = sim_card_enter(card, NULL, false);
    if (rv != SIM_OK)
        return rv;
    if (card->broken) {
        rv = SIM_ERR_IMAGE;
        goto out;
    }
    const ks_image *img = &card->img;
    snprintf(info->profile, sizeof(info->profile), "%s", img->profile);
    vt_hex_encode(img->serial, img->serial_len, info->serial_hex);
    snprintf(info->label, sizeof(info->label), "%s", img->label);
    pin_info(img, &card->profile->user, &info->user_tries_left, &info->user_tries_max);
    pin_info(img, &card->profile->so, &info->so_tries_left, &info->so_tries_max);
    info->capacity = card->profile->capacity;
    info->used = sim_img_used(img);
    for (size_t i = 0; i < img->nnodes; i++) {
        const ks_node *n = &img->nodes[i];
        if (n->type == SIM_NODE_PRIVKEY && n->body_len > 0)
            info->nkeys++;
        else if (n->type == SIM_NODE_EF)
            info->nfiles++;
    }
out:
    sim_card_leave(card, NULL, false);
    return rv;
}
