/* The PKCS#12 store's private OpenSSL library context (default + legacy providers, so
 * the host application's default context is never touched) and the directory scan,
 * which only stat()s: nothing is opened or decrypted before login. */
#include "p12_internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

ks_status ks_p12_ctx_new(ks_p12_ctx **out)
{
    if (out == NULL)
        return KS_ERR_ARGS;
    *out = NULL;
    ks_p12_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return KS_ERR_NOMEM;
    /* No configuration file is loaded into this context: the user's openssl.cnf must
     * not change how we read key stores (nor may ours change the application). */
    c->libctx = OSSL_LIB_CTX_new();
    if (c->libctx == NULL) {
        free(c);
        return KS_ERR_NOMEM;
    }
    c->deflt = OSSL_PROVIDER_load(c->libctx, "default");
    c->legacy = OSSL_PROVIDER_load(c->libctx, "legacy");
    if (c->deflt == NULL || c->legacy == NULL) {
        ks_p12_ctx_free(c);
        return KS_ERR_UNSUPPORTED;
    }
    *out = c;
    return KS_OK;
}

void ks_p12_ctx_free(ks_p12_ctx *c)
{
    if (c == NULL)
        return;
    if (c->legacy != NULL)
        OSSL_PROVIDER_unload(c->legacy);
    if (c->deflt != NULL)
        OSSL_PROVIDER_unload(c->deflt);
    OSSL_LIB_CTX_free(c->libctx);
    free(c);
}

OSSL_LIB_CTX *ks_p12_ctx_libctx(const ks_p12_ctx *c)
{
    return c != NULL ? c->libctx : NULL;
}

/* ---- scanning ----------------------------------------------------------------- */

static size_t p12_suffix(const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && (strcasecmp(name + n - 4, ".p12") == 0 || strcasecmp(name + n - 4, ".pfx") == 0))
        return 4;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const ks_p12_entry *)a)->name, ((const ks_p12_entry *)b)->name);
}

void ks_p12_list_free(ks_p12_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].stem);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

ks_status ks_p12_scan(const char *dir, ks_p12_list *out)
{
    ks_status rv = KS_OK;
    struct dirent *e;
    size_t cap = 0;
    DIR *d;

    if (out == NULL)
        return KS_ERR_ARGS;
    out->v = NULL;
    out->n = 0;
    if (dir == NULL)
        return KS_ERR_ARGS;
    d = opendir(dir);
    if (d == NULL)
        return ks_from_errno(errno);
    size_t dlen = strlen(dir);
    while ((e = readdir(d)) != NULL) {
        size_t suffix = p12_suffix(e->d_name);
        if (e->d_name[0] == '.' || suffix == 0)
            continue;
        ks_p12_entry en = {0};
        size_t nlen = strlen(e->d_name);
        en.path = malloc(dlen + 1 + nlen + 1);
        en.stem = strndup(e->d_name, nlen - suffix);
        if (en.path == NULL || en.stem == NULL) {
            free(en.path);
            free(en.stem);
            rv = KS_ERR_NOMEM;
            goto out;
        }
        memcpy(en.path, dir, dlen);
        en.path[dlen] = '/';
        memcpy(en.path + dlen + 1, e->d_name, nlen + 1);
        en.name = en.path + dlen + 1;
        struct stat st;
        /* stat follows links: a link to a key store is a key store; dangling links
         * and anything that is not a regular file are skipped. */
        if (stat(en.path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(en.path);
            free(en.stem);
            continue;
        }
        en.size = (uint64_t)st.st_size;
        en.mtime_sec = (int64_t)st.st_mtim.tv_sec;
        en.mtime_nsec = st.st_mtim.tv_nsec;
        en.dev = (uint64_t)st.st_dev;
        en.ino = (uint64_t)st.st_ino;
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            ks_p12_entry *grown = realloc(out->v, ncap * sizeof(*grown));
            if (grown == NULL) {
                free(en.path);
                free(en.stem);
                rv = KS_ERR_NOMEM;
                goto out;
            }
            out->v = grown;
            cap = ncap;
        }
        out->v[out->n++] = en;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), by_name);
out:
    closedir(d);
    if (rv != KS_OK)
        ks_p12_list_free(out);
    return rv;
}
