/* Writing PKCS#12 files: encode the model under a password with the algorithms the file
 * already uses (fresh salts and IVs of the same length), check the result by reading it
 * back, and replace the file atomically under an flock on the old file. Password
 * changes, added keys and certificates, removals and new empty files all go through
 * p12_commit(), so each either replaces the whole file or changes nothing. */
#include "p12_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* ---- encoding ----------------------------------------------------------------- */

static X509_ALGOR *pbe_algor(ks_p12 *p, const p12_pbe *pbe)
{
    OSSL_LIB_CTX *lc = p->ctx->libctx;
    if (pbe->nid != NID_pbes2)
        return PKCS5_pbe_set_ex(pbe->nid, pbe->iter, NULL, pbe->salt_len, lc);
    EVP_CIPHER *c = EVP_CIPHER_fetch(lc, OBJ_nid2sn(pbe->cipher_nid), NULL);
    X509_ALGOR *alg = NULL;
    if (c != NULL)
        alg = PKCS5_pbe2_set_iv_ex(c, pbe->iter, NULL, pbe->salt_len, NULL, pbe->prf_nid, lc);
    EVP_CIPHER_free(c);
    return alg;
}

/* Copy attributes onto a bag value by value, keeping their order. (OpenSSL 3.0 has
 * no setter for a bag's attribute list, only "add one attribute".) */
static bool copy_attrs(PKCS12_SAFEBAG *bag, const STACK_OF(X509_ATTRIBUTE) * attrs)
{
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
        int nvals = X509_ATTRIBUTE_count(a);
        char oid[128];
        if (nvals <= 0 || OBJ_obj2txt(oid, sizeof(oid), X509_ATTRIBUTE_get0_object(a), 1) <= 0)
            return false;
        for (int j = 0; j < nvals; j++) {
            ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, j);
            /* Negative types (V_ASN1_OTHER) would be read as string-conversion flags. */
            if (t == NULL || t->type < 0)
                return false;
            /* ASN1_TYPE_set1() reads a BOOLEAN from whether the pointer is NULL. */
            const void *data = t->type == V_ASN1_NULL ? NULL : (const void *)t->value.ptr;
            if (t->type == V_ASN1_BOOLEAN)
                data = t->value.boolean ? (const void *)"" : NULL;
            if (j == 0) {
                if (!PKCS12_add1_attr_by_txt(bag, oid, t->type, data, -1))
                    return false;
            } else {
                const STACK_OF(X509_ATTRIBUTE) *now = PKCS12_SAFEBAG_get0_attrs(bag);
                X509_ATTRIBUTE *last = X509at_get_attr(now, X509at_get_attr_count(now) - 1);
                if (last == NULL || !X509_ATTRIBUTE_set1_data(last, t->type, data, -1))
                    return false;
            }
        }
    }
    return true;
}

static PKCS12_SAFEBAG *key_bag(ks_p12 *p, const p12_bag *b, const char *pw, size_t pwlen)
{
    PKCS12_SAFEBAG *bag = NULL;
    if (b->kind == P12_BAG_PLAIN_KEY) {
        PKCS8_PRIV_KEY_INFO *dup = ASN1_item_dup(ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO), b->p8);
        bag = dup != NULL ? PKCS12_SAFEBAG_create0_p8inf(dup) : NULL;
        if (bag == NULL)
            PKCS8_PRIV_KEY_INFO_free(dup);
    } else {
        X509_ALGOR *alg = pbe_algor(p, &b->pbe);
        X509_SIG *sig = NULL;
        if (alg != NULL)
            sig = PKCS8_set0_pbe_ex(pw, (int)pwlen, b->p8, alg, p->ctx->libctx, NULL);
        if (sig == NULL)
            X509_ALGOR_free(alg);
        bag = sig != NULL ? PKCS12_SAFEBAG_create0_pkcs8(sig) : NULL;
        if (bag == NULL)
            X509_SIG_free(sig);
    }
    if (bag != NULL && !copy_attrs(bag, b->attrs)) {
        PKCS12_SAFEBAG_free(bag);
        bag = NULL;
    }
    return bag;
}

/* An EncryptedData safe, as PKCS12_pack_p7encdata_ex builds it, but with an
 * AlgorithmIdentifier we made (so PBES2 keeps its PRF). */
static PKCS7 *pack_encrypted(ks_p12 *p, const p12_pbe *pbe, const char *pw, size_t pwlen,
                             STACK_OF(PKCS12_SAFEBAG) * bags)
{
    PKCS7 *p7 = PKCS7_new_ex(p->ctx->libctx, NULL);
    X509_ALGOR *alg = pbe_algor(p, pbe);
    if (p7 == NULL || alg == NULL || !PKCS7_set_type(p7, NID_pkcs7_encrypted))
        goto err;
    PKCS7_ENC_CONTENT *ec = p7->d.encrypted->enc_data;
    ASN1_OBJECT_free(ec->content_type);
    ec->content_type = OBJ_nid2obj(NID_pkcs7_data);
    X509_ALGOR_free(ec->algorithm);
    ec->algorithm = alg;
    alg = NULL;
    ASN1_OCTET_STRING_free(ec->enc_data);
    ec->enc_data = PKCS12_item_i2d_encrypt_ex(ec->algorithm, ASN1_ITEM_rptr(PKCS12_SAFEBAGS), pw,
                                              (int)pwlen, bags, 1, p->ctx->libctx, NULL);
    if (ec->enc_data == NULL)
        goto err;
    return p7;
err:
    X509_ALGOR_free(alg);
    PKCS7_free(p7);
    return NULL;
}

static PKCS7 *build_safe(ks_p12 *p, const p12_safe *s, const char *pw, size_t pwlen)
{
    STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
    STACK_OF(PKCS12_SAFEBAG) *made = sk_PKCS12_SAFEBAG_new_null();
    PKCS7 *p7 = NULL;
    if (bags == NULL || made == NULL)
        goto out;
    for (size_t i = 0; i < s->nbags; i++) {
        const p12_bag *b = &s->bags[i];
        PKCS12_SAFEBAG *bag = b->bag;
        if (b->kind == P12_BAG_KEY || b->kind == P12_BAG_PLAIN_KEY) {
            bag = key_bag(p, b, pw, pwlen);
            if (bag == NULL || !sk_PKCS12_SAFEBAG_push(made, bag)) {
                PKCS12_SAFEBAG_free(bag);
                goto out;
            }
        }
        if (!sk_PKCS12_SAFEBAG_push(bags, bag))
            goto out;
    }
    p7 = s->encrypted ? pack_encrypted(p, &s->pbe, pw, pwlen, bags) : PKCS12_pack_p7data(bags);
out:
    sk_PKCS12_SAFEBAG_free(bags); /* borrowed bags */
    sk_PKCS12_SAFEBAG_pop_free(made, PKCS12_SAFEBAG_free);
    return p7;
}

ks_status p12_build(ks_p12 *p, const char *pw, size_t pwlen, vt_buf *der)
{
    OSSL_LIB_CTX *lc = p->ctx->libctx;
    STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
    PKCS12 *p12 = PKCS12_init_ex(NID_pkcs7_data, lc, NULL);
    EVP_MD *md = NULL;
    ks_status rv = KS_ERR_UNSUPPORTED;

    if (safes == NULL || p12 == NULL) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    for (size_t s = 0; s < p->nsafes; s++) {
        PKCS7 *p7 = build_safe(p, &p->safes[s], pw, pwlen);
        if (p7 == NULL || !sk_PKCS7_push(safes, p7)) {
            PKCS7_free(p7);
            p12_seterr(p, "cannot encode safe %zu", s + 1);
            goto out;
        }
    }
    if (!PKCS12_pack_authsafes(p12, safes)) {
        p12_seterr(p, "cannot encode the AuthenticatedSafe");
        goto out;
    }
    if (p->has_mac) {
        md = EVP_MD_fetch(lc, OBJ_nid2sn(p->mac_md_nid), NULL);
        if (md == NULL ||
            !PKCS12_set_mac(p12, pw, (int)pwlen, NULL, p->mac_salt_len, p->mac_iter, md)) {
            p12_seterr(p, "cannot compute the MAC");
            goto out;
        }
    }
    int n = i2d_PKCS12(p12, NULL);
    if (n <= 0 || !vt_buf_reserve(der, (size_t)n)) {
        rv = n <= 0 ? KS_ERR_UNSUPPORTED : KS_ERR_NOMEM;
        goto out;
    }
    unsigned char *w = der->data + der->len;
    if (i2d_PKCS12(p12, &w) != n)
        goto out;
    der->len += (size_t)n;
    rv = KS_OK;
out:
    EVP_MD_free(md);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_free(p12);
    return rv;
}

/* ---- committing to disk --------------------------------------------------------- */

/* Read-only means no write permission bits (which root must respect too) or no
 * access for us. */
static bool writable(const char *path, bool dir)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if ((st.st_mode & 0222) == 0)
        return false;
    return access(path, dir ? W_OK | X_OK : W_OK) == 0;
}

ks_status p12_check_dir(ks_p12 *p)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(p->path, '/');
    size_t n = slash == NULL ? 0 : slash == p->path ? 1 : (size_t)(slash - p->path);
    if (n >= sizeof(dir))
        return KS_ERR_ARGS;
    memcpy(dir, n ? p->path : ".", n ? n : 1);
    dir[n ? n : 1] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        p12_seterr(p, "%s: directory %s does not exist", p->path, dir);
        return KS_ERR_NOT_FOUND;
    }
    if (!writable(dir, true)) {
        p12_seterr(p, "%s: directory %s is read-only; nothing was changed", p->path, dir);
        return KS_ERR_ACCESS;
    }
    return KS_OK;
}

/* Does the model survive a round trip through the bytes we are about to write? A bug
 * here must not lock someone out of their keys. */
static ks_status self_check(ks_p12 *p, const vt_buf *der, const char *pw, size_t pwlen)
{
    char why[256];
    ks_p12 *q = p12_new(p->ctx, NULL, pw, pwlen);
    if (q == NULL)
        return KS_ERR_NOMEM;
    ks_status rv = p12_parse(q, der->data, der->len, why, sizeof(why));
    if (rv == KS_OK &&
        (ks_p12_count(q, KS_P12_KEY) != ks_p12_count(p, KS_P12_KEY) ||
         ks_p12_count(q, KS_P12_CERT) != ks_p12_count(p, KS_P12_CERT) || q->nsafes != p->nsafes))
        rv = KS_ERR_UNSUPPORTED;
    if (rv != KS_OK) {
        p12_seterr(p, "%s: the re-encoded file did not read back (%s); nothing was changed",
                   p->path, why[0] ? why : "contents differ");
        rv = rv == KS_ERR_NOMEM ? rv : KS_ERR_UNSUPPORTED;
    }
    ks_p12_close(q);
    return rv;
}

ks_status p12_commit(ks_p12 *p, const char *pw, size_t pwlen)
{
    vt_buf der = {0};
    struct stat st;
    ks_status rv;
    int fd = -1;

    ERR_set_mark();
    if (p->write_block != NULL) {
        p12_seterr(p, "%s: %s; it can be read but not rewritten", p->path, p->write_block);
        rv = KS_ERR_UNSUPPORTED;
        goto out;
    }
    if (ks_p12_changed(p)) {
        p12_seterr(p, "%s: changed on disk since it was opened; open it again", p->path);
        rv = KS_ERR_STALE;
        goto out;
    }
    if (!writable(p->path, false)) {
        p12_seterr(p, "%s: file is read-only; nothing was changed", p->path);
        rv = KS_ERR_ACCESS;
        goto out;
    }
    rv = p12_check_dir(p);
    if (rv != KS_OK)
        goto out;
    rv = p12_build(p, pw, pwlen, &der);
    if (rv == KS_OK)
        rv = self_check(p, &der, pw, pwlen);
    if (rv != KS_OK)
        goto out;

    /* Writers exclude each other through a lock on the file being replaced; whoever
     * waited finds a different file under the name afterwards and gets KS_ERR_STALE. */
    fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
        rv = ks_from_errno(errno);
        p12_seterr(p, "%s: cannot lock: %s", p->path, strerror(errno));
        goto out;
    }
    if (!ks_stat_same(&st, &p->st) || ks_p12_changed(p)) {
        p12_seterr(p, "%s: changed on disk since it was opened; open it again", p->path);
        rv = KS_ERR_STALE;
        goto out;
    }
    rv = ks_atomic_write_stat(p->path, der.data, der.len, KS_MODE_KEEP, &st);
    if (rv != KS_OK) {
        p12_seterr(p, "%s: cannot write: %s", p->path,
                   rv == KS_ERR_FAULT ? "injected fault" : strerror(errno));
        goto out;
    }
    p->st = st;
    p->error[0] = '\0';
out:
    if (fd >= 0)
        close(fd);
    vt_buf_free(&der);
    ERR_pop_to_mark();
    return rv;
}

bool p12_has_nul(const char *pw, size_t len)
{
    return len > 0 && memchr(pw, '\0', len) != NULL;
}

ks_status ks_p12_change_password(ks_p12 *p, const char *new_pw, size_t new_len,
                                 const ks_pwrule *rule)
{
    char why[160];
    if (p == NULL || (new_pw == NULL && new_len > 0) || new_len > INT32_MAX)
        return KS_ERR_ARGS;
    p->error[0] = '\0';
    if (p12_in_memory(p))
        return KS_ERR_UNSUPPORTED;
    if (rule != NULL && ks_pwrule_check(rule, new_pw, new_len, why, sizeof(why)) != KS_OK) {
        p12_seterr(p, "%s", why);
        return KS_ERR_POLICY;
    }
    if (p12_has_nul(new_pw, new_len)) {
        p12_seterr(p, "password must not contain NUL");
        return KS_ERR_ARGS;
    }
    char *copy = malloc(new_len + 1);
    if (copy == NULL)
        return KS_ERR_NOMEM;
    if (new_len > 0)
        memcpy(copy, new_pw, new_len);
    copy[new_len] = '\0';
    ks_status rv = p12_commit(p, copy, new_len);
    if (rv != KS_OK) {
        vt_wipe(copy, new_len + 1);
        free(copy);
        return rv;
    }
    vt_wipe(p->pw, p->pwlen + 1);
    free(p->pw);
    p->pw = copy;
    p->pwlen = new_len;
    return KS_OK;
}

ks_status ks_p12_create(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen,
                        ks_p12_style style, const ks_pwrule *rule, ks_p12 **out, char **why)
{
    char msg[640] = "";
    vt_buf der = {0};
    ks_p12 *p = NULL;
    struct stat st;
    ks_status rv;

    if (why != NULL)
        *why = NULL;
    if (out != NULL)
        *out = NULL;
    if (ctx == NULL || path == NULL || *path == '\0' || (pw == NULL && pwlen > 0) ||
        p12_has_nul(pw, pwlen) || pwlen > INT32_MAX ||
        (style != KS_P12_STYLE_NCA && style != KS_P12_STYLE_MODERN))
        return KS_ERR_ARGS;
    ERR_set_mark();
    if (rule != NULL && ks_pwrule_check(rule, pw, pwlen, msg, sizeof(msg)) != KS_OK) {
        rv = KS_ERR_POLICY;
        goto out;
    }
    if (lstat(path, &st) == 0) {
        snprintf(msg, sizeof(msg), "%s: already exists", path);
        rv = KS_ERR_EXISTS;
        goto out;
    }
    p = p12_new(ctx, path, pw, pwlen);
    if (p == NULL) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    p->has_mac = true;
    p->mac_md_nid = style == KS_P12_STYLE_NCA ? NID_sha1 : NID_sha256;
    p->mac_iter = style == KS_P12_STYLE_NCA ? 1024 : PKCS12_DEFAULT_ITER;
    p->mac_salt_len = style == KS_P12_STYLE_NCA ? 20 : 8;
    rv = p12_check_dir(p);
    if (rv == KS_OK)
        rv = p12_build(p, pw, pwlen, &der);
    if (rv == KS_OK)
        rv = self_check(p, &der, pw, pwlen);
    if (rv != KS_OK) {
        snprintf(msg, sizeof(msg), "%s", p->error[0] ? p->error : ks_strerror(rv));
        goto out;
    }
    rv = ks_atomic_create_stat(path, der.data, der.len, 0600, &p->st);
    if (rv != KS_OK) {
        snprintf(msg, sizeof(msg), "%s: %s", path,
                 rv == KS_ERR_EXISTS ? "already exists" : strerror(errno));
        goto out;
    }
out:
    ERR_pop_to_mark();
    vt_buf_free(&der);
    if (rv == KS_OK && out != NULL) {
        *out = p;
        p = NULL;
    }
    if (rv != KS_OK && why != NULL)
        *why = strdup(msg);
    ks_p12_close(p);
    return rv;
}
