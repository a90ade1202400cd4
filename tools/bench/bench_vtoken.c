/* vtoken-bench table, vtoken's side: signing and key generation on embedded cards
 * (one Kaztoken, two Kaztokens, eToken, JaCarta), on a PKCS#12 file and on a card behind
 * pcscd + vpcd; module start-up with three cards and ten PKCS#12 files; finding one object
 * among 1,000 session objects. Each step loads the module with its own option string. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_ossl.h"
#include "bench_table.h"

CK_RV bench_login_session(bench_p11 *m, CK_SLOT_ID slot, const char *pin, CK_SESSION_HANDLE *h)
{
    CK_RV rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, h);
    if (rv != CKR_OK)
        return rv;
    rv = m->f->C_Login(*h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

bool bench_signer_open(bench_p11 *m, CK_SLOT_ID slot, CK_OBJECT_HANDLE key, const char *pin,
                       bench_signer *out)
{
    memset(out, 0, sizeof(*out));
    out->m = m;
    out->key = key;
    CK_RV rv = bench_login_session(m, slot, pin, &out->h);
    if (rv == CKR_OK) {
        out->pub = bench_p11_rsa_public(m, out->h, key);
        if (!out->pub)
            rv = CKR_KEY_HANDLE_INVALID;
    }
    if (rv != CKR_OK)
        fprintf(stderr, "vtoken-bench: a signer on slot %lu: %s\n", slot, bench_rv_name(rv));
    return rv == CKR_OK;
}

void bench_side_close(bench_side *sd)
{
    for (size_t i = 0; i < sd->ns; i++)
        EVP_PKEY_free(sd->s[i].pub);
    sd->ns = 0;
    bench_p11_unload(&sd->m); /* C_Finalize closes the sessions */
}

bool bench_side_keygen(bench_side *sd, bool token, double *secs)
{
    CK_OBJECT_HANDLE pub, priv;
    uint64_t t0 = bench_now_ns();
    CK_RV rv = bench_p11_keygen(&sd->m, sd->keygen_h, 2048, token, &pub, &priv);
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    if (rv != CKR_OK) {
        fprintf(stderr, "vtoken-bench: key generation: %s\n", bench_rv_name(rv));
        return false;
    }
    sd->m.f->C_DestroyObject(sd->keygen_h, priv);
    sd->m.f->C_DestroyObject(sd->keygen_h, pub);
    return true;
}

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "vtoken-bench: cannot write %s: %s\n", path, strerror(errno));
    return ok;
}

/* The i-th slot with a token. */
static bool nth_slot(bench_p11 *m, size_t i, CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[64];
    CK_ULONG n = 64;
    if (m->f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK || i >= n) {
        fprintf(stderr, "vtoken-bench: the module shows no token %zu\n", i);
        return false;
    }
    *slot = ids[i];
    return true;
}

/* Time C_FindObjectsInit + C_FindObjects + C_FindObjectsFinal of one object among
 * BT_FIND_OBJECTS session data objects labelled "object NNNN", by label and by class +
 * label. */
static bool find_times(bench_p11 *m, const bench_conf *c, CK_SLOT_ID slot, bench_results *r)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_CLASS data = CKO_DATA;
    CK_BBOOL no = CK_FALSE;
    char label[32];
    bool ok = false;
    CK_RV rv = m->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h);
    for (int i = 0; rv == CKR_OK && i < BT_FIND_OBJECTS; i++) {
        CK_OBJECT_HANDLE o;
        snprintf(label, sizeof(label), "object %04d", i);
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &data, sizeof(data)},
                            {CKA_TOKEN, &no, sizeof(no)},
                            {CKA_LABEL, label, strlen(label)}};
        rv = m->f->C_CreateObject(h, t, 3, &o);
    }
    if (rv != CKR_OK) {
        fprintf(stderr, "vtoken-bench: creating session objects: %s\n", bench_rv_name(rv));
        return false;
    }
    for (int pass = 0; pass < 2; pass++) {
        CK_ATTRIBUTE by_label = {CKA_LABEL, label, 0};
        CK_ATTRIBUTE by_class[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_LABEL, label, 0}};
        unsigned long long rounds = 0;
        uint64_t t0 = bench_now_ns(), stop = t0 + (uint64_t)(c->seconds * 1e9);
        uint64_t t1 = t0;
        while (t1 < stop) {
            CK_OBJECT_HANDLE found[4];
            CK_ULONG got = 0;
            snprintf(label, sizeof(label), "object %04llu", (rounds * 7919) % BT_FIND_OBJECTS);
            by_label.ulValueLen = by_class[1].ulValueLen = strlen(label);
            rv = m->f->C_FindObjectsInit(h, pass ? by_class : &by_label, pass ? 2 : 1);
            if (rv == CKR_OK)
                rv = m->f->C_FindObjects(h, found, 4, &got);
            if (rv == CKR_OK)
                rv = m->f->C_FindObjectsFinal(h);
            if (rv != CKR_OK || got != 1) {
                fprintf(stderr, "vtoken-bench: find '%s': %s, %lu found\n", label,
                        bench_rv_name(rv), got);
                goto out;
            }
            rounds++;
            if (rounds % 64 == 0)
                t1 = bench_now_ns();
        }
        t1 = bench_now_ns();
        double per = (double)(t1 - t0) / 1e9 / (double)rounds;
        if (pass)
            r->find_class_label = per;
        else
            r->find_label = per;
    }
    ok = true;
out:
    m->f->C_CloseSession(h);
    return ok;
}

/* BT_P12_FILES PKCS#12 files with the run's key in <tmp>/p12. */
static bool p12_files(const bench_conf *c, char *dir, size_t cap)
{
    char path[700];
    snprintf(dir, cap, "%s/p12", c->tmp);
    if (mkdir(dir, 0700) != 0) {
        if (errno == EEXIST)
            return true;
        fprintf(stderr, "vtoken-bench: mkdir %s: %s\n", dir, strerror(errno));
        return false;
    }
    for (int i = 1; i <= BT_P12_FILES; i++) {
        snprintf(path, sizeof(path), "%s/bench%02d.p12", dir, i);
        if (!bench_ossl_write_p12(path, c->key, BT_P12_PASS))
            return false;
    }
    return true;
}

/* A key on the token of slot (generated, or the first one there with find_first). */
static bool token_key(bench_p11 *m, CK_SLOT_ID slot, const char *pin, bool find_first,
                      CK_SESSION_HANDLE *keep, CK_OBJECT_HANDLE *key)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE pub;
    CK_RV rv = bench_login_session(m, slot, pin, &h);
    if (rv == CKR_OK && !(find_first && bench_p11_first_key(m, h, key) == CKR_OK))
        rv = bench_p11_keygen(m, h, 2048, true, &pub, key);
    if (rv != CKR_OK) {
        fprintf(stderr, "vtoken-bench: a key on slot %lu: %s\n", slot, bench_rv_name(rv));
        return false;
    }
    if (keep)
        *keep = h; /* stays open: it also keeps the token logged in */
    return true;
}

static bool add_signers(bench_side *sd, CK_SLOT_ID slot, CK_OBJECT_HANDLE key, const char *pin,
                        int n, int *first)
{
    *first = (int)sd->ns;
    for (int i = 0; i < n; i++)
        if (sd->ns >= BT_MAX_SIGNERS ||
            !bench_signer_open(&sd->m, slot, key, pin, &sd->s[sd->ns++]))
            return false;
    return true;
}

bool bench_vtoken_open(const bench_conf *c, bench_side *sd, bench_vt_index *ix)
{
    char home[640], conf[700], dir[600] = "", opts[2048];
    CK_SLOT_ID slot[4], ps;
    CK_OBJECT_HANDLE key[4], pk;
    bool pcsc = c->reader && (c->parts & BT_PCSC), p12 = c->parts & BT_P12;
    bool emb = c->parts & BT_EMBEDDED;

    memset(sd, 0, sizeof(*sd));
    memset(ix, -1, sizeof(*ix));
    snprintf(home, sizeof(home), "%s/home", c->tmp);
    snprintf(conf, sizeof(conf), "%s/vtoken.conf", home);
    if (mkdir(home, 0700) != 0 ||
        !write_file(conf, "[token kaz1]\nprofile = kaztoken\n[token kaz2]\nprofile = kaztoken\n"
                          "[token etoken]\nprofile = etoken\n[token jacarta]\nprofile = jacarta\n"))
        return false;
    if (p12 && !p12_files(c, dir, sizeof(dir)))
        return false;
    snprintf(opts, sizeof(opts), "home=%s embedded=1 pcsc=%d pkcs12=%d p12_path=%s", home,
             pcsc ? 1 : 0, p12 ? 1 : 0, p12 ? dir : "/nonexistent");
    if (!bench_p11_open(&sd->m, c->module))
        return false;
    CK_RV rv = bench_p11_init(&sd->m, opts);
    if (rv != CKR_OK) {
        fprintf(stderr, "vtoken-bench: C_Initialize(\"%s\"): %s\n", opts, bench_rv_name(rv));
        return false;
    }
    /* the embedded tokens come first, in vtoken.conf's order */
    for (size_t i = 0; i < 4; i++)
        if (!nth_slot(&sd->m, i, &slot[i]))
            return false;
    if (!token_key(&sd->m, slot[0], BT_USER_PIN, false, &sd->keygen_h, &key[0]))
        return false;
    if (emb) {
        if (!token_key(&sd->m, slot[1], BT_USER_PIN, false, NULL, &key[1]) ||
            !token_key(&sd->m, slot[2], BT_LONG_PIN, false, NULL, &key[2]) ||
            !token_key(&sd->m, slot[3], BT_LONG_PIN, false, NULL, &key[3]) ||
            !add_signers(sd, slot[0], key[0], BT_USER_PIN, 2, &ix->kaz_a) ||
            !add_signers(sd, slot[1], key[1], BT_USER_PIN, 1, &ix->kaz2) ||
            !add_signers(sd, slot[2], key[2], BT_LONG_PIN, 1, &ix->etoken) ||
            !add_signers(sd, slot[3], key[3], BT_LONG_PIN, 1, &ix->jacarta))
            return false;
        ix->kaz_b = ix->kaz_a + 1;
    }
    if (p12) {
        if (bench_p11_find_slot(&sd->m, "bench01.p12", false, &ps) != CKR_OK) {
            fprintf(stderr, "vtoken-bench: no slot for bench01.p12\n");
            return false;
        }
        if (!token_key(&sd->m, ps, BT_P12_PASS, true, NULL, &pk) ||
            !add_signers(sd, ps, pk, BT_P12_PASS, 2, &ix->p12_a))
            return false;
        ix->p12_b = ix->p12_a + 1;
    }
    if (pcsc) {
        if (bench_p11_find_slot(&sd->m, c->reader, false, &ps) != CKR_OK) {
            fprintf(stderr, "vtoken-bench: no token in a reader named like '%s'\n", c->reader);
            return false;
        }
        if (!token_key(&sd->m, ps, BT_USER_PIN, true, NULL, &pk) ||
            !add_signers(sd, ps, pk, BT_USER_PIN, 2, &ix->pcsc_a))
            return false;
        ix->pcsc_b = ix->pcsc_a + 1;
    }
    return true;
}

bool bench_vtoken_find(const bench_conf *c, bench_side *sd, bench_results *r)
{
    CK_SLOT_ID slot;
    return nth_slot(&sd->m, 0, &slot) && find_times(&sd->m, c, slot, r);
}

/* C_Initialize, the slot list and C_GetTokenInfo of every token: what an application
 * does before it shows anything. */
static bool start_once(bench_p11 *m, const char *opts, double *secs, size_t *nslots)
{
    CK_SLOT_ID ids[64];
    CK_ULONG n = 0;
    uint64_t t0 = bench_now_ns();
    CK_RV rv = bench_p11_init(m, opts);
    if (rv == CKR_OK)
        rv = m->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv == CKR_OK) {
        n = n > 64 ? 64 : n;
        rv = m->f->C_GetSlotList(CK_TRUE, ids, &n);
    }
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; i++) {
        CK_TOKEN_INFO ti;
        rv = m->f->C_GetTokenInfo(ids[i], &ti);
    }
    *secs = (double)(bench_now_ns() - t0) / 1e9;
    *nslots = n;
    bench_p11_fini(m);
    if (rv != CKR_OK)
        fprintf(stderr, "vtoken-bench: start-up: %s\n", bench_rv_name(rv));
    return rv == CKR_OK;
}

bool bench_vtoken_init(const bench_conf *c, bench_results *r)
{
    char dir[600], opts[1400];
    double secs[256];
    bench_p11 m;
    bool ok = false;
    int runs = c->inits > 256 ? 256 : c->inits;

    if (!p12_files(c, dir, sizeof(dir)))
        return false;
    /* a fresh home: the three factory tokens, made by the first start */
    snprintf(opts, sizeof(opts), "home=%s/home-init embedded=1 pcsc=0 pkcs12=1 p12_path=%s", c->tmp,
             dir);
    if (!bench_p11_open(&m, c->module))
        return false;
    if (!start_once(&m, opts, &secs[0], &r->init_slots))
        goto out;
    for (int i = 0; i < runs; i++)
        if (!start_once(&m, opts, &secs[i], &r->init_slots))
            goto out;
    r->init = bench_median(secs, (size_t)runs);
    ok = true;
out:
    bench_p11_unload(&m);
    return ok;
}
