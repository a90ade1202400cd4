/* Opening a PKCS#12 file: decode it in the store's private library context, tell a
 * wrong password (MAC) from a damaged file, decrypt key bags and certificate safes,
 * and keep what a rewrite needs (algorithms, attributes, bags we do not interpret).
 * Also the read-only accessors. */
#include "p12_internal.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

void p12_seterr(ks_p12 *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof(p->error), fmt, ap);
    va_end(ap);
}

ks_p12 *p12_new(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen)
{
    ks_p12 *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ctx = ctx;
    p->path = path != NULL ? strdup(path) : NULL;
    p->pw = malloc(pwlen + 1);
    if ((path != NULL && p->path == NULL) || p->pw == NULL) {
        ks_p12_close(p);
        return NULL;
    }
    if (pwlen > 0)
        memcpy(p->pw, pw, pwlen);
    p->pw[pwlen] = '\0';
    p->pwlen = pwlen;
    p->mac_md_nid = NID_undef;
    return p;
}

void p12_bag_clear(p12_bag *b)
{
    PKCS12_SAFEBAG_free(b->bag);
    PKCS8_PRIV_KEY_INFO_free(b->p8); /* cleanses the key */
    sk_X509_ATTRIBUTE_pop_free(b->attrs, X509_ATTRIBUTE_free);
    EVP_PKEY_free(b->pkey);
    X509_free(b->cert);
    OPENSSL_free(b->der);
    free(b->friendly);
    free(b->lkid);
    memset(b, 0, sizeof(*b));
}

void p12_safe_clear(p12_safe *s)
{
    for (size_t i = 0; i < s->nbags; i++)
        p12_bag_clear(&s->bags[i]);
    free(s->bags);
    memset(s, 0, sizeof(*s));
}

void ks_p12_close(ks_p12 *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nsafes; i++)
        p12_safe_clear(&p->safes[i]);
    free(p->safes);
    if (p->pw != NULL)
        vt_wipe(p->pw, p->pwlen + 1);
    free(p->pw);
    free(p->path);
    free(p);
}

/* ---- algorithm parameters ----------------------------------------------------- */

static int int_of(const ASN1_INTEGER *i, int dflt)
{
    long v;
    if (i == NULL)
        return dflt;
    v = ASN1_INTEGER_get(i);
    return v > 0 && v <= INT32_MAX ? (int)v : -1;
}

/* The parameters of a PBE AlgorithmIdentifier. false when they cannot be decoded. */
bool p12_pbe_from_algor(const X509_ALGOR *alg, p12_pbe *pbe)
{
    const ASN1_OBJECT *obj;
    const void *pval;
    int ptype;
    bool ok = false;

    memset(pbe, 0, sizeof(*pbe));
    if (alg == NULL)
        return false;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    pbe->nid = OBJ_obj2nid(obj);
    if (ptype != V_ASN1_SEQUENCE || pval == NULL)
        return false;
    if (pbe->nid == NID_pbes2) {
        PBE2PARAM *p2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
        PBKDF2PARAM *kdf = NULL;
        if (p2 == NULL || p2->keyfunc == NULL || p2->encryption == NULL)
            goto out2;
        X509_ALGOR_get0(&obj, NULL, NULL, p2->encryption);
        pbe->cipher_nid = OBJ_obj2nid(obj);
        X509_ALGOR_get0(&obj, &ptype, &pval, p2->keyfunc);
        ok = true; /* decodable; whether we can redo it is pbe->known */
        if (OBJ_obj2nid(obj) != NID_id_pbkdf2 || ptype != V_ASN1_SEQUENCE)
            goto out2;
        kdf = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBKDF2PARAM));
        if (kdf == NULL || kdf->salt == NULL || kdf->salt->type != V_ASN1_OCTET_STRING) {
            ok = false;
            goto out2;
        }
        pbe->salt_len = ASN1_STRING_length(kdf->salt->value.octet_string);
        pbe->iter = int_of(kdf->iter, -1);
        if (kdf->prf != NULL) {
            X509_ALGOR_get0(&obj, NULL, NULL, kdf->prf);
            pbe->prf_nid = OBJ_obj2nid(obj);
        } else {
            pbe->prf_nid = NID_hmacWithSHA1;
        }
        pbe->known = pbe->iter > 0 && pbe->salt_len > 0 && pbe->cipher_nid != NID_undef &&
                     pbe->prf_nid != NID_undef;
    out2:
        PBKDF2PARAM_free(kdf);
        PBE2PARAM_free(p2);
        return ok;
    }
    PBEPARAM *pp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBEPARAM));
    if (pp != NULL && pp->salt != NULL) {
        ok = true;
        pbe->salt_len = ASN1_STRING_length(pp->salt);
        pbe->iter = int_of(pp->iter, 1);
        pbe->known = pbe->nid != NID_undef && pbe->iter > 0 && pbe->salt_len > 0 &&
                     EVP_PBE_find(EVP_PBE_TYPE_OUTER, pbe->nid, NULL, NULL, NULL) == 1;
    }
    PBEPARAM_free(pp);
    return ok;
}

/* ---- bags --------------------------------------------------------------------- */

ks_status p12_bag_decode_ids(p12_bag *b, const STACK_OF(X509_ATTRIBUTE) * attrs)
{
    free(b->friendly);
    free(b->lkid);
    b->friendly = NULL;
    b->lkid = NULL;
    b->lkid_len = 0;
    ASN1_TYPE *t = PKCS12_get_attr_gen(attrs, NID_friendlyName);
    if (t != NULL && t->type == V_ASN1_BMPSTRING) {
        char *u = OPENSSL_uni2utf8(t->value.bmpstring->data, t->value.bmpstring->length);
        if (u != NULL) {
            b->friendly = strdup(u);
            OPENSSL_free(u);
            if (b->friendly == NULL)
                return KS_ERR_NOMEM;
        }
    } else if (t != NULL && t->type == V_ASN1_UTF8STRING) {
        b->friendly =
            strndup((const char *)t->value.utf8string->data, (size_t)t->value.utf8string->length);
        if (b->friendly == NULL)
            return KS_ERR_NOMEM;
    }
    t = PKCS12_get_attr_gen(attrs, NID_localKeyID);
    if (t != NULL && t->type == V_ASN1_OCTET_STRING && t->value.octet_string->length > 0) {
        b->lkid_len = (size_t)t->value.octet_string->length;
        b->lkid = malloc(b->lkid_len);
        if (b->lkid == NULL)
            return KS_ERR_NOMEM;
        memcpy(b->lkid, t->value.octet_string->data, b->lkid_len);
    }
    return KS_OK;
}

static ks_status push_bag(p12_safe *s, p12_bag *b)
{
    p12_bag *grown = realloc(s->bags, (s->nbags + 1) * sizeof(*grown));
    if (grown == NULL)
        return KS_ERR_NOMEM;
    s->bags = grown;
    s->bags[s->nbags++] = *b;
    memset(b, 0, sizeof(*b));
    return KS_OK;
}

ks_status p12_cert_of_bag(ks_p12 *p, PKCS12_SAFEBAG *bag, p12_bag *b)
{
    /* The bag's certificate is decoded outside our context; re-decode its DER in ours
     * so that everything done with it uses our providers. */
    X509 *x = PKCS12_SAFEBAG_get1_cert(bag);
    int n = x != NULL ? i2d_X509(x, &b->der) : -1;
    X509_free(x);
    if (n <= 0)
        return KS_ERR_CORRUPT;
    b->der_len = (size_t)n;
    const unsigned char *q = b->der;
    b->cert = X509_new_ex(p->ctx->libctx, NULL);
    if (b->cert == NULL)
        return KS_ERR_NOMEM;
    if (d2i_X509(&b->cert, &q, (long)b->der_len) == NULL)
        return KS_ERR_CORRUPT;
    return KS_OK;
}

/* A decryption failure is a wrong password when nothing else vouched for the password,
 * and damage when the MAC already did. */
static ks_status decrypt_failed(ks_p12 *p, char *why, size_t cap, const char *what)
{
    if (!p->has_mac) {
        snprintf(why, cap, "wrong password (cannot decrypt %s)", what);
        return KS_ERR_BAD_PASSWORD;
    }
    snprintf(why, cap, "cannot decrypt %s although the MAC verified", what);
    return KS_ERR_CORRUPT;
}

/* Take ownership of bag and add it to safe s. */
static ks_status read_bag(ks_p12 *p, p12_safe *s, PKCS12_SAFEBAG *bag, char *why, size_t cap)
{
    OSSL_LIB_CTX *lc = p->ctx->libctx;
    p12_bag b = {0};
    ks_status rv = KS_OK;
    const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);

    switch (PKCS12_SAFEBAG_get_nid(bag)) {
    case NID_pkcs8ShroudedKeyBag: {
        const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
        const X509_ALGOR *alg = NULL;
        b.kind = P12_BAG_KEY;
        if (sig == NULL) {
            snprintf(why, cap, "a key bag holds no encrypted key");
            rv = KS_ERR_CORRUPT;
            goto out;
        }
        X509_SIG_get0(sig, &alg, NULL);
        if (!p12_pbe_from_algor(alg, &b.pbe) || b.pbe.iter < 0) {
            snprintf(why, cap, "a key bag has unreadable encryption parameters");
            rv = KS_ERR_CORRUPT;
            goto out;
        }
        if (b.pbe.iter > KS_P12_MAX_ITER) {
            snprintf(why, cap, "a key bag asks for %d iterations (vtoken takes at most %d)",
                     b.pbe.iter, KS_P12_MAX_ITER);
            rv = KS_ERR_UNSUPPORTED;
            goto out;
        }
        if (!b.pbe.known)
            p->write_block = "a key bag uses encryption parameters vtoken cannot reproduce";
        b.p8 = PKCS8_decrypt_ex(sig, p->pw, (int)p->pwlen, lc, NULL);
        if (b.p8 == NULL) {
            rv = decrypt_failed(p, why, cap, "a key bag");
            goto out;
        }
        break;
    }
    case NID_keyBag: {
        const PKCS8_PRIV_KEY_INFO *p8 = PKCS12_SAFEBAG_get0_p8inf(bag);
        b.kind = P12_BAG_PLAIN_KEY;
        b.p8 = p8 != NULL ? ASN1_item_dup(ASN1_ITEM_rptr(PKCS8_PRIV_KEY_INFO), (void *)p8) : NULL;
        if (b.p8 == NULL) {
            snprintf(why, cap, "a key bag holds no key");
            rv = KS_ERR_CORRUPT;
            goto out;
        }
        break;
    }
    case NID_certBag:
        if (PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate) {
            b.kind = P12_BAG_CERT;
            rv = p12_cert_of_bag(p, bag, &b);
            if (rv == KS_ERR_CORRUPT)
                snprintf(why, cap, "a certificate bag holds no valid certificate");
            if (rv != KS_OK)
                goto out;
            break;
        }
        b.kind = P12_BAG_OTHER;
        break;
    case NID_safeContentsBag:
        /* Nested safes may hold key bags under the old password: a password change
         * could not re-encrypt them, so the file is read-only for us. */
        p->write_block = "the file has nested SafeContents bags";
        b.kind = P12_BAG_OTHER;
        break;
    default:
        b.kind = P12_BAG_OTHER;
        break;
    }

    if (b.kind == P12_BAG_KEY || b.kind == P12_BAG_PLAIN_KEY) {
        if (attrs != NULL) {
            b.attrs = sk_X509_ATTRIBUTE_deep_copy(attrs, X509_ATTRIBUTE_dup, X509_ATTRIBUTE_free);
            if (b.attrs == NULL) {
                rv = KS_ERR_NOMEM;
                goto out;
            }
        }
        /* NULL for algorithms we cannot use (GOST): the key is kept, not offered. */
        b.pkey = EVP_PKCS82PKEY_ex(b.p8, lc, NULL);
        rv = p12_bag_decode_ids(&b, b.attrs);
        PKCS12_SAFEBAG_free(bag);
        bag = NULL;
    } else {
        rv = p12_bag_decode_ids(&b, attrs);
        b.bag = bag;
        bag = NULL;
    }
    if (rv == KS_OK)
        rv = push_bag(s, &b);
out:
    PKCS12_SAFEBAG_free(bag);
    p12_bag_clear(&b);
    return rv;
}

static ks_status push_safe(ks_p12 *p, p12_safe **out)
{
    p12_safe *grown = realloc(p->safes, (p->nsafes + 1) * sizeof(*grown));
    if (grown == NULL)
        return KS_ERR_NOMEM;
    p->safes = grown;
    *out = &p->safes[p->nsafes++];
    memset(*out, 0, sizeof(**out));
    return KS_OK;
}

static ks_status read_safe(ks_p12 *p, PKCS7 *p7, char *why, size_t cap)
{
    STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
    p12_safe *s = NULL;
    ks_status rv;
    int nid = OBJ_obj2nid(p7->type);

    rv = push_safe(p, &s);
    if (rv != KS_OK)
        return rv;
    if (nid == NID_pkcs7_data) {
        bags = PKCS12_unpack_p7data(p7);
        if (bags == NULL) {
            snprintf(why, cap, "a SafeContents cannot be decoded");
            return KS_ERR_CORRUPT;
        }
    } else if (nid == NID_pkcs7_encrypted) {
        s->encrypted = true;
        if (p7->d.encrypted == NULL || p7->d.encrypted->enc_data == NULL ||
            !p12_pbe_from_algor(p7->d.encrypted->enc_data->algorithm, &s->pbe) || s->pbe.iter < 0) {
            snprintf(why, cap, "an encrypted safe has unreadable encryption parameters");
            return KS_ERR_CORRUPT;
        }
        if (s->pbe.iter > KS_P12_MAX_ITER) {
            snprintf(why, cap, "an encrypted safe asks for %d iterations (vtoken takes at most %d)",
                     s->pbe.iter, KS_P12_MAX_ITER);
            return KS_ERR_UNSUPPORTED;
        }
        if (!s->pbe.known)
            p->write_block = "an encrypted safe uses parameters vtoken cannot reproduce";
        bags = PKCS12_unpack_p7encdata(p7, p->pw, (int)p->pwlen);
        if (bags == NULL)
            return decrypt_failed(p, why, cap, "an encrypted safe");
    } else if (nid == NID_pkcs7_enveloped) {
        snprintf(why, cap, "public-key privacy mode (enveloped safes) is not supported");
        return KS_ERR_UNSUPPORTED;
    } else {
        snprintf(why, cap, "a safe has an unknown content type");
        return KS_ERR_CORRUPT;
    }
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && rv == KS_OK; i++) {
        PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
        (void)sk_PKCS12_SAFEBAG_set(bags, i, NULL);
        rv = read_bag(p, s, bag, why, cap);
    }
    sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    return rv;
}

ks_status p12_parse(ks_p12 *p, const uint8_t *der, size_t len, char *why, size_t cap)
{
    OSSL_LIB_CTX *lc = p->ctx->libctx;
    STACK_OF(PKCS7) *safes = NULL;
    PKCS12 *p12 = NULL;
    EVP_MD *md = NULL;
    ks_status rv = KS_OK;

    why[0] = '\0';
    if (len == 0) {
        snprintf(why, cap, "empty file");
        return KS_ERR_CORRUPT;
    }
    if (len > KS_P12_MAX_SIZE || len > LONG_MAX) {
        snprintf(why, cap, "larger than a key store can be");
        return KS_ERR_CORRUPT;
    }
    /* Decoding into an object made in our context keeps that context for the MAC and
     * the safes (OpenSSL propagates it), so the legacy ciphers come from our providers. */
    p12 = PKCS12_init_ex(NID_pkcs7_data, lc, NULL);
    if (p12 == NULL)
        return KS_ERR_NOMEM;
    const unsigned char *q = der;
    if (d2i_PKCS12(&p12, &q, (long)len) == NULL) {
        snprintf(why, cap, "not a PKCS#12 file, or truncated");
        rv = KS_ERR_CORRUPT;
        goto out;
    }
    safes = PKCS12_unpack_authsafes(p12);
    if (safes == NULL) {
        /* A signed AuthenticatedSafe (public-key integrity) also lands here. */
        snprintf(why, cap,
                 "the AuthenticatedSafe cannot be decoded (or uses public-key "
                 "integrity mode, which is not supported)");
        rv = KS_ERR_CORRUPT;
        goto out;
    }
    p->has_mac = PKCS12_mac_present(p12) == 1;
    if (p->has_mac) {
        const X509_ALGOR *macalg = NULL;
        const ASN1_OCTET_STRING *salt = NULL;
        const ASN1_INTEGER *iter = NULL;
        const ASN1_OBJECT *obj = NULL;
        PKCS12_get0_mac(NULL, &macalg, &salt, &iter, p12);
        X509_ALGOR_get0(&obj, NULL, NULL, macalg);
        p->mac_md_nid = OBJ_obj2nid(obj);
        p->mac_iter = int_of(iter, 1);
        p->mac_salt_len = salt != NULL ? ASN1_STRING_length(salt) : 0;
        if (p->mac_md_nid != NID_undef)
            md = EVP_MD_fetch(lc, OBJ_nid2sn(p->mac_md_nid), NULL);
        if (md == NULL) {
            char name[80];
            OBJ_obj2txt(name, sizeof(name), obj, 0);
            snprintf(why, cap, "MAC digest %s is not supported", name);
            rv = KS_ERR_UNSUPPORTED;
            goto out;
        }
        if (p->mac_iter <= 0 || p->mac_salt_len <= 0) {
            snprintf(why, cap, "bad MAC parameters");
            rv = KS_ERR_CORRUPT;
            goto out;
        }
        if (p->mac_iter > KS_P12_MAX_ITER) {
            snprintf(why, cap, "the MAC asks for %d iterations (vtoken takes at most %d)",
                     p->mac_iter, KS_P12_MAX_ITER);
            rv = KS_ERR_UNSUPPORTED;
            goto out;
        }
        /* The digest is available, so a failure here is the password (or bytes changed
         * inside the MAC's scope, which no one can tell apart from it). */
        if (PKCS12_verify_mac(p12, p->pw, (int)p->pwlen) != 1) {
            snprintf(why, cap, "wrong password (MAC verification failed)");
            rv = KS_ERR_BAD_PASSWORD;
            goto out;
        }
    }
    for (int i = 0; i < sk_PKCS7_num(safes) && rv == KS_OK; i++)
        rv = read_safe(p, sk_PKCS7_value(safes, i), why, cap);
out:
    EVP_MD_free(md);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_free(p12);
    return rv;
}

static char *with_path(const char *path, const char *msg)
{
    char *s = NULL;
    if (asprintf(&s, "%s: %s", path, msg) < 0)
        return NULL;
    return s;
}

ks_status ks_p12_open(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen, ks_p12 **out,
                      char **why)
{
    char msg[384] = "";
    vt_buf buf = {0};
    ks_p12 *p = NULL;
    ks_status rv;

    if (why != NULL)
        *why = NULL;
    if (out != NULL)
        *out = NULL;
    if (ctx == NULL || path == NULL || out == NULL || (pw == NULL && pwlen > 0) ||
        (pwlen > 0 && memchr(pw, '\0', pwlen) != NULL) || pwlen > INT32_MAX)
        return KS_ERR_ARGS;
    ERR_set_mark(); /* leave the application's error queue as we found it */
    p = p12_new(ctx, path, pw, pwlen);
    if (p == NULL) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    rv = ks_read_file_stat(path, KS_P12_MAX_SIZE, &buf, &p->st);
    if (rv == KS_ERR_CORRUPT)
        snprintf(msg, sizeof(msg), "larger than a key store can be");
    else if (rv != KS_OK)
        snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
    else
        rv = p12_parse(p, buf.data, buf.len, msg, sizeof(msg));
out:
    ERR_pop_to_mark();
    vt_buf_free(&buf);
    if (rv != KS_OK) {
        if (why != NULL)
            *why = with_path(path, msg);
        ks_p12_close(p);
        return rv;
    }
    *out = p;
    return KS_OK;
}

ks_status ks_p12_open_mem(ks_p12_ctx *ctx, const uint8_t *der, size_t len, const char *pw,
                          size_t pwlen, ks_p12 **out, char **why)
{
    char msg[384] = "";
    ks_p12 *p = NULL;
    ks_status rv;

    if (why != NULL)
        *why = NULL;
    if (out != NULL)
        *out = NULL;
    if (ctx == NULL || (der == NULL && len > 0) || out == NULL || (pw == NULL && pwlen > 0) ||
        (pwlen > 0 && memchr(pw, '\0', pwlen) != NULL) || pwlen > INT32_MAX)
        return KS_ERR_ARGS;
    ERR_set_mark();
    p = p12_new(ctx, NULL, pw, pwlen);
    rv = p == NULL ? KS_ERR_NOMEM : p12_parse(p, der, len, msg, sizeof(msg));
    ERR_pop_to_mark();
    if (rv != KS_OK) {
        if (why != NULL)
            *why = strdup(msg);
        ks_p12_close(p);
        return rv;
    }
    *out = p;
    return KS_OK;
}

bool p12_in_memory(ks_p12 *p)
{
    if (p->path != NULL)
        return false;
    p12_seterr(p, "a key store opened from memory has no file to write");
    return true;
}

ks_status ks_p12_reopen(const ks_p12 *p, ks_p12 **out, char **why)
{
    if (why != NULL)
        *why = NULL;
    if (out != NULL)
        *out = NULL;
    if (p == NULL || p->path == NULL)
        return KS_ERR_ARGS;
    return ks_p12_open(p->ctx, p->path, p->pw, p->pwlen, out, why);
}

/* ---- accessors ---------------------------------------------------------------- */

static bool is_kind(const p12_bag *b, ks_p12_kind kind)
{
    if (kind == KS_P12_KEY)
        return b->kind == P12_BAG_KEY || b->kind == P12_BAG_PLAIN_KEY;
    return b->kind == P12_BAG_CERT;
}

p12_bag *p12_find(const ks_p12 *p, ks_p12_kind kind, size_t n, size_t *safe, size_t *idx)
{
    if (p == NULL)
        return NULL;
    for (size_t s = 0; s < p->nsafes; s++) {
        for (size_t i = 0; i < p->safes[s].nbags; i++) {
            p12_bag *b = &p->safes[s].bags[i];
            if (!is_kind(b, kind))
                continue;
            if (n-- == 0) {
                if (safe != NULL)
                    *safe = s;
                if (idx != NULL)
                    *idx = i;
                return b;
            }
        }
    }
    return NULL;
}

size_t ks_p12_count(const ks_p12 *p, ks_p12_kind kind)
{
    size_t n = 0;
    for (size_t s = 0; p != NULL && s < p->nsafes; s++)
        for (size_t i = 0; i < p->safes[s].nbags; i++)
            n += is_kind(&p->safes[s].bags[i], kind);
    return n;
}

EVP_PKEY *ks_p12_key(const ks_p12 *p, size_t i)
{
    p12_bag *b = p12_find(p, KS_P12_KEY, i, NULL, NULL);
    return b != NULL ? b->pkey : NULL;
}

X509 *ks_p12_cert(const ks_p12 *p, size_t i)
{
    p12_bag *b = p12_find(p, KS_P12_CERT, i, NULL, NULL);
    return b != NULL ? b->cert : NULL;
}

const uint8_t *ks_p12_cert_der(const ks_p12 *p, size_t i, size_t *len)
{
    p12_bag *b = p12_find(p, KS_P12_CERT, i, NULL, NULL);
    if (len != NULL)
        *len = b != NULL ? b->der_len : 0;
    return b != NULL ? b->der : NULL;
}

const char *ks_p12_friendly_name(const ks_p12 *p, ks_p12_kind kind, size_t i)
{
    p12_bag *b = p12_find(p, kind, i, NULL, NULL);
    return b != NULL ? b->friendly : NULL;
}

const uint8_t *ks_p12_local_key_id(const ks_p12 *p, ks_p12_kind kind, size_t i, size_t *len)
{
    p12_bag *b = p12_find(p, kind, i, NULL, NULL);
    if (len != NULL)
        *len = b != NULL ? b->lkid_len : 0;
    return b != NULL ? b->lkid : NULL;
}

const char *ks_p12_path(const ks_p12 *p)
{
    return p != NULL ? p->path : NULL;
}

const char *ks_p12_error(const ks_p12 *p)
{
    return p != NULL ? p->error : "";
}

bool ks_p12_changed(const ks_p12 *p)
{
    struct stat st;
    if (p == NULL || p->path == NULL)
        return true;
    return stat(p->path, &st) != 0 || !ks_stat_same(&st, &p->st);
}

static void pbe_info(const p12_pbe *pbe, ks_p12_pbe_info *out)
{
    out->pbe_nid = pbe->nid;
    out->cipher_nid = pbe->nid == NID_pbes2 ? pbe->cipher_nid : NID_undef;
    out->prf_nid = pbe->nid == NID_pbes2 ? pbe->prf_nid : NID_undef;
    out->iter = pbe->iter;
    out->salt_len = pbe->salt_len;
}

void ks_p12_get_info(const ks_p12 *p, ks_p12_info *info)
{
    if (info == NULL)
        return;
    memset(info, 0, sizeof(*info));
    info->key.pbe_nid = info->cert.pbe_nid = info->mac_md_nid = NID_undef;
    if (p == NULL)
        return;
    bool key = false, cert = false;
    for (size_t s = 0; s < p->nsafes; s++) {
        if (p->safes[s].encrypted && !cert) {
            pbe_info(&p->safes[s].pbe, &info->cert);
            cert = true;
        }
        for (size_t i = 0; i < p->safes[s].nbags && !key; i++) {
            if (p->safes[s].bags[i].kind == P12_BAG_KEY) {
                pbe_info(&p->safes[s].bags[i].pbe, &info->key);
                key = true;
            }
        }
    }
    if (p->has_mac) {
        info->mac_md_nid = p->mac_md_nid;
        info->mac_iter = p->mac_iter;
        info->mac_salt_len = p->mac_salt_len;
    }
}
