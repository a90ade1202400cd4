/* Adding and removing keys and certificates in a PKCS#12 file. New objects follow the
 * file's own conventions (NCA's: localKeyID = SubjectKeyIdentifier, friendlyName = its
 * lower-case hex) and its algorithms; each change is written at once through
 * p12_commit() and undone in memory when the write fails. */
#include "p12_internal.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

static bool sha1(ks_p12 *p, const uint8_t *in, size_t len, uint8_t out[20])
{
    EVP_MD *md = EVP_MD_fetch(p->ctx->libctx, "SHA1", NULL);
    unsigned int n = 0;
    bool ok = md != NULL && EVP_Digest(in, len, out, &n, md, NULL) && n == 20;
    EVP_MD_free(md);
    return ok;
}

/* SHA-1 of the whole DER SubjectPublicKeyInfo: the SubjectKeyIdentifier NCA's CA writes
 * (its test certificates show it), not RFC 5280's method 1 (SHA-1 of the key bits
 * alone). A key named so keeps its name when its certificate arrives. */
static bool pubkey_id(ks_p12 *p, const EVP_PKEY *key, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = key != NULL ? i2d_PUBKEY(key, &der) : -1;
    bool ok = n > 0 && sha1(p, der, (size_t)n, out);

    OPENSSL_free(der);
    return ok;
}

/* The same for a certificate's key, whatever its algorithm (the SPKI's bytes suffice). */
static bool cert_key_id(ks_p12 *p, X509 *cert, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    bool ok = n > 0 && sha1(p, der, (size_t)n, out);

    OPENSSL_free(der);
    return ok;
}

static X509_ATTRIBUTE *id_attr(const uint8_t *id, size_t len)
{
    return X509_ATTRIBUTE_create_by_NID(NULL, NID_localKeyID, V_ASN1_OCTET_STRING, id, (int)len);
}

static X509_ATTRIBUTE *name_attr(const char *name)
{
    /* MBSTRING_UTF8 in, BMPString out: friendlyName's type in the string table. */
    return X509_ATTRIBUTE_create_by_NID(NULL, NID_friendlyName, MBSTRING_UTF8, name, -1);
}

/* attrs with localKeyID and friendlyName replaced (others kept, in order). */
static STACK_OF(X509_ATTRIBUTE) * with_ids(const STACK_OF(X509_ATTRIBUTE) * attrs,
                                           const uint8_t *id, size_t id_len, const char *name)
{
    STACK_OF(X509_ATTRIBUTE) *out = sk_X509_ATTRIBUTE_new_null();
    X509_ATTRIBUTE *a = NULL;
    if (out == NULL)
        return NULL;
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *old = sk_X509_ATTRIBUTE_value(attrs, i);
        int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(old));
        if (nid == NID_localKeyID || nid == NID_friendlyName)
            continue;
        a = X509_ATTRIBUTE_dup(old);
        if (a == NULL || !sk_X509_ATTRIBUTE_push(out, a))
            goto err;
    }
    a = id_attr(id, id_len);
    if (a == NULL || !sk_X509_ATTRIBUTE_push(out, a))
        goto err;
    a = name_attr(name);
    if (a == NULL || !sk_X509_ATTRIBUTE_push(out, a))
        goto err;
    return out;
err:
    X509_ATTRIBUTE_free(a);
    sk_X509_ATTRIBUTE_pop_free(out, X509_ATTRIBUTE_free);
    return NULL;
}

static bool is_key(const p12_bag *b)
{
    return b->kind == P12_BAG_KEY || b->kind == P12_BAG_PLAIN_KEY;
}

static const p12_bag *first_key_bag(const ks_p12 *p, size_t *safe)
{
    for (size_t s = 0; s < p->nsafes; s++)
        for (size_t i = 0; i < p->safes[s].nbags; i++)
            if (p->safes[s].bags[i].kind == P12_BAG_KEY) {
                if (safe != NULL)
                    *safe = s;
                return &p->safes[s].bags[i];
            }
    return NULL;
}

static const p12_safe *first_encrypted(const ks_p12 *p)
{
    for (size_t s = 0; s < p->nsafes; s++)
        if (p->safes[s].encrypted)
            return &p->safes[s];
    return NULL;
}

/* What a file with nothing to copy from uses: its MAC says which style it was made in. */
static bool nca_style(const ks_p12 *p)
{
    return !p->has_mac || p->mac_md_nid == NID_sha1;
}

static int style_iter(const ks_p12 *p)
{
    if (p->has_mac && p->mac_iter > 1)
        return p->mac_iter;
    return nca_style(p) ? 1024 : PKCS12_DEFAULT_ITER;
}

static p12_pbe modern_pbe(int iter)
{
    return (p12_pbe){NID_pbes2, NID_aes_256_cbc, NID_hmacWithSHA256, iter, 8, true};
}

/* Key bags are encrypted like the file's first key bag, else like its certificate safe
 * (a PKCS#12 PBE there means NCA's 3DES for keys), else by the file's style. */
static p12_pbe key_pbe_for(const ks_p12 *p)
{
    const p12_bag *k = first_key_bag(p, NULL);
    const p12_safe *c = first_encrypted(p);
    if (k != NULL)
        return k->pbe;
    if (c != NULL && c->pbe.nid == NID_pbes2)
        return c->pbe;
    if (c != NULL)
        return (p12_pbe){
            NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 0, 0, c->pbe.iter, c->pbe.salt_len, true};
    if (nca_style(p))
        return (p12_pbe){NID_pbe_WithSHA1And3_Key_TripleDES_CBC, 0, 0, style_iter(p), 20, true};
    return modern_pbe(style_iter(p));
}

/* Certificate safes mirror the key bags the same way (3DES keys go with RC2-40
 * certificates, as in NCA's files). */
static p12_pbe cert_pbe_for(const ks_p12 *p)
{
    const p12_bag *k = first_key_bag(p, NULL);
    if (k != NULL && k->pbe.nid == NID_pbes2)
        return k->pbe;
    if (k != NULL)
        return (p12_pbe){NID_pbe_WithSHA1And40BitRC2_CBC, 0, 0, k->pbe.iter, k->pbe.salt_len, true};
    if (nca_style(p))
        return (p12_pbe){NID_pbe_WithSHA1And40BitRC2_CBC, 0, 0, style_iter(p), 20, true};
    return modern_pbe(style_iter(p));
}

static ks_status insert_safe(ks_p12 *p, size_t at, bool encrypted, const p12_pbe *pbe)
{
    p12_safe *grown = realloc(p->safes, (p->nsafes + 1) * sizeof(*grown));
    if (grown == NULL)
        return KS_ERR_NOMEM;
    p->safes = grown;
    memmove(&p->safes[at + 1], &p->safes[at], (p->nsafes - at) * sizeof(*grown));
    memset(&p->safes[at], 0, sizeof(*grown));
    p->safes[at].encrypted = encrypted;
    if (pbe != NULL)
        p->safes[at].pbe = *pbe;
    p->nsafes++;
    return KS_OK;
}

static void remove_safe(ks_p12 *p, size_t at)
{
    p12_safe_clear(&p->safes[at]);
    memmove(&p->safes[at], &p->safes[at + 1], (p->nsafes - at - 1) * sizeof(*p->safes));
    p->nsafes--;
}

static ks_status insert_bag(p12_safe *s, size_t at, p12_bag *b)
{
    p12_bag *grown = realloc(s->bags, (s->nbags + 1) * sizeof(*grown));
    if (grown == NULL)
        return KS_ERR_NOMEM;
    s->bags = grown;
    memmove(&s->bags[at + 1], &s->bags[at], (s->nbags - at) * sizeof(*grown));
    s->bags[at] = *b;
    memset(b, 0, sizeof(*b));
    s->nbags++;
    return KS_OK;
}

/* Take bag at out of s into *b. */
static void take_bag(p12_safe *s, size_t at, p12_bag *b)
{
    *b = s->bags[at];
    memmove(&s->bags[at], &s->bags[at + 1], (s->nbags - at - 1) * sizeof(*s->bags));
    s->nbags--;
}

static size_t count_before(const ks_p12 *p, ks_p12_kind kind, size_t safe, size_t idx)
{
    size_t n = 0;
    for (size_t s = 0; s <= safe && s < p->nsafes; s++)
        for (size_t i = 0; i < p->safes[s].nbags && (s < safe || i < idx); i++)
            n += kind == KS_P12_KEY ? is_key(&p->safes[s].bags[i])
                                    : p->safes[s].bags[i].kind == P12_BAG_CERT;
    return n;
}

ks_status ks_p12_add_key(ks_p12 *p, EVP_PKEY *key, const uint8_t *id, size_t id_len,
                         const char *friendly, size_t *index)
{
    uint8_t digest[20];
    char hex[2 * 64 + 1];
    p12_bag b = {0};
    size_t safe = 0, at;
    bool new_safe = false;
    ks_status rv;

    if (p == NULL || key == NULL || (id != NULL && (id_len == 0 || id_len > 64)))
        return KS_ERR_ARGS;
    p->error[0] = '\0';
    if (p12_in_memory(p))
        return KS_ERR_UNSUPPORTED;
    ERR_set_mark();
    if (id == NULL) {
        if (!pubkey_id(p, key, digest)) {
            p12_seterr(p, "cannot compute the key identifier");
            rv = KS_ERR_UNSUPPORTED;
            goto out;
        }
        id = digest;
        id_len = sizeof(digest);
    }
    for (size_t i = 0; i < ks_p12_count(p, KS_P12_KEY); i++) {
        EVP_PKEY *k = ks_p12_key(p, i);
        if (k != NULL && EVP_PKEY_eq(k, key) == 1) {
            p12_seterr(p, "%s: this key is already in the file", p->path);
            rv = KS_ERR_EXISTS;
            goto out;
        }
    }
    vt_hex_encode(id, id_len, hex);
    b.kind = P12_BAG_KEY;
    b.pbe = key_pbe_for(p);
    b.p8 = EVP_PKEY2PKCS8(key);
    b.pkey = b.p8 != NULL ? EVP_PKCS82PKEY_ex(b.p8, p->ctx->libctx, NULL) : NULL;
    if (b.pkey == NULL) {
        p12_seterr(p, "the key cannot be stored (unsupported key type)");
        rv = KS_ERR_UNSUPPORTED;
        goto out;
    }
    b.attrs = with_ids(NULL, id, id_len, friendly != NULL ? friendly : hex);
    if (b.attrs == NULL) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    rv = p12_bag_decode_ids(&b, b.attrs);
    if (rv != KS_OK)
        goto out;

    /* Next to the other keys; else in the first plain safe; else a new plain safe
     * in front (where NCA's files keep the key). */
    if (first_key_bag(p, &safe) == NULL) {
        for (safe = 0; safe < p->nsafes && p->safes[safe].encrypted; safe++)
            ;
        if (safe == p->nsafes) {
            safe = 0;
            rv = insert_safe(p, 0, false, NULL);
            if (rv != KS_OK)
                goto out;
            new_safe = true;
        }
    }
    at = p->safes[safe].nbags;
    rv = insert_bag(&p->safes[safe], at, &b);
    if (rv != KS_OK)
        goto out;
    rv = p12_commit(p, p->pw, p->pwlen);
    if (rv != KS_OK) {
        take_bag(&p->safes[safe], at, &b);
        if (new_safe)
            remove_safe(p, safe);
        goto out;
    }
    if (index != NULL)
        *index = count_before(p, KS_P12_KEY, safe, at);
out:
    if (rv != KS_OK && p->error[0] == '\0')
        p12_seterr(p, "%s", ks_strerror(rv));
    p12_bag_clear(&b);
    ERR_pop_to_mark();
    return rv;
}

ks_status ks_p12_add_cert(ks_p12 *p, const uint8_t *der, size_t len, size_t *index)
{
    uint8_t digest[20];
    const uint8_t *id;
    size_t id_len;
    char hex[2 * 64 + 1];
    p12_bag b = {0};
    p12_bag *key = NULL;
    size_t key_safe = 0, key_idx = 0; /* key's place: pointers die when bags move */
    STACK_OF(X509_ATTRIBUTE) *key_attrs = NULL;
    char *key_friendly = NULL;
    uint8_t *key_lkid = NULL;
    size_t key_lkid_len = 0, safe = 0, at;
    bool new_safe = false, key_changed = false;
    ks_status rv;

    if (p == NULL || der == NULL || len == 0 || len > LONG_MAX)
        return KS_ERR_ARGS;
    p->error[0] = '\0';
    if (p12_in_memory(p))
        return KS_ERR_UNSUPPORTED;
    ERR_set_mark();
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    bool whole = x != NULL && q == der + len;
    b.kind = P12_BAG_CERT;
    b.bag = whole ? PKCS12_SAFEBAG_create_cert(x) : NULL;
    X509_free(x);
    if (!whole) {
        p12_seterr(p, "not a DER certificate");
        rv = KS_ERR_CORRUPT;
        goto out;
    }
    if (b.bag == NULL || p12_cert_of_bag(p, b.bag, &b) != KS_OK) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < ks_p12_count(p, KS_P12_CERT); i++) {
        size_t l = 0;
        const uint8_t *d = ks_p12_cert_der(p, i, &l);
        if (l == b.der_len && memcmp(d, b.der, l) == 0) {
            p12_seterr(p, "%s: this certificate is already in the file", p->path);
            rv = KS_ERR_EXISTS;
            goto out;
        }
    }
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(b.cert);
    if (ski != NULL && ASN1_STRING_length(ski) > 0 && ASN1_STRING_length(ski) <= 64) {
        id = ASN1_STRING_get0_data(ski);
        id_len = (size_t)ASN1_STRING_length(ski);
    } else {
        if (!cert_key_id(p, b.cert, digest)) {
            p12_seterr(p, "cannot compute the certificate's key identifier");
            rv = KS_ERR_UNSUPPORTED;
            goto out;
        }
        id = digest;
        id_len = sizeof(digest);
    }
    vt_hex_encode(id, id_len, hex);
    if (!PKCS12_add_localkeyid(b.bag, (unsigned char *)id, (int)id_len) ||
        !PKCS12_add_friendlyname_utf8(b.bag, hex, -1)) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    rv = p12_bag_decode_ids(&b, PKCS12_SAFEBAG_get0_attrs(b.bag));
    if (rv != KS_OK)
        goto out;

    /* The key this certificate belongs to takes the same localKeyID and friendlyName. */
    EVP_PKEY *pub = X509_get0_pubkey(b.cert);
    for (size_t i = 0; pub != NULL && i < ks_p12_count(p, KS_P12_KEY); i++) {
        p12_bag *k = p12_find(p, KS_P12_KEY, i, &key_safe, &key_idx);
        if (k->pkey != NULL && EVP_PKEY_eq(k->pkey, pub) == 1) {
            key = k;
            break;
        }
    }
    if (key != NULL && (key->lkid_len != id_len || memcmp(key->lkid, id, id_len) != 0 ||
                        key->friendly == NULL || strcmp(key->friendly, hex) != 0)) {
        STACK_OF(X509_ATTRIBUTE) *na = with_ids(key->attrs, id, id_len, hex);
        if (na == NULL) {
            rv = KS_ERR_NOMEM;
            goto out;
        }
        key_attrs = key->attrs;
        key_friendly = key->friendly;
        key_lkid = key->lkid;
        key_lkid_len = key->lkid_len;
        key->attrs = na;
        key->friendly = NULL;
        key->lkid = NULL;
        key_changed = true;
        rv = p12_bag_decode_ids(key, na);
        if (rv != KS_OK)
            goto undo;
    }

    /* With the other certificates; else in the first encrypted safe; else in a new
     * encrypted safe at the end. */
    for (safe = 0; safe < p->nsafes; safe++) {
        bool has_cert = false;
        for (size_t i = 0; i < p->safes[safe].nbags; i++)
            has_cert |= p->safes[safe].bags[i].kind == P12_BAG_CERT;
        if (has_cert)
            break;
    }
    if (safe == p->nsafes) {
        const p12_safe *e = first_encrypted(p);
        if (e != NULL) {
            safe = (size_t)(e - p->safes);
        } else {
            p12_pbe pbe = cert_pbe_for(p);
            safe = p->nsafes;
            rv = insert_safe(p, safe, true, &pbe);
            if (rv != KS_OK)
                goto undo;
            new_safe = true;
        }
    }
    at = p->safes[safe].nbags;
    rv = insert_bag(&p->safes[safe], at, &b);
    if (rv != KS_OK)
        goto undo;
    rv = p12_commit(p, p->pw, p->pwlen);
    if (rv != KS_OK) {
        take_bag(&p->safes[safe], at, &b);
        goto undo;
    }
    if (index != NULL)
        *index = count_before(p, KS_P12_CERT, safe, at);
    if (key_changed) {
        sk_X509_ATTRIBUTE_pop_free(key_attrs, X509_ATTRIBUTE_free);
        free(key_friendly);
        free(key_lkid);
    }
    goto out;
undo:
    if (new_safe)
        remove_safe(p, safe);
    if (key_changed) {
        key = &p->safes[key_safe].bags[key_idx];
        sk_X509_ATTRIBUTE_pop_free(key->attrs, X509_ATTRIBUTE_free);
        free(key->friendly);
        free(key->lkid);
        key->attrs = key_attrs;
        key->friendly = key_friendly;
        key->lkid = key_lkid;
        key->lkid_len = key_lkid_len;
    }
out:
    if (rv != KS_OK && p->error[0] == '\0')
        p12_seterr(p, "%s", ks_strerror(rv));
    p12_bag_clear(&b);
    ERR_pop_to_mark();
    return rv;
}

ks_status ks_p12_remove(ks_p12 *p, ks_p12_kind kind, size_t i)
{
    size_t safe, at;
    p12_bag b;
    ks_status rv;

    if (p == NULL || p12_find(p, kind, i, &safe, &at) == NULL)
        return KS_ERR_ARGS;
    p->error[0] = '\0';
    if (p12_in_memory(p))
        return KS_ERR_UNSUPPORTED;
    take_bag(&p->safes[safe], at, &b);
    rv = p12_commit(p, p->pw, p->pwlen);
    if (rv != KS_OK) {
        if (insert_bag(&p->safes[safe], at, &b) != KS_OK)
            p12_bag_clear(&b); /* cannot happen: the array had room for it */
        return rv;
    }
    p12_bag_clear(&b);
    return KS_OK;
}
