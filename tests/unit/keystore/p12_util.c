/* PKCS#12 fixtures for the store's tests, made and inspected with OpenSSL alone (never
 * with the code under test): key and certificate generation, NCA-style and modern files,
 * a plain-text description of a file's algorithms and attributes, and the output of
 * `openssl pkcs12 -info`. */
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_test.h"

const kt_p12_spec kt_spec_nca = {NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                 NID_undef,
                                 1024,
                                 20,
                                 NID_undef,
                                 NID_pbe_WithSHA1And40BitRC2_CBC,
                                 NID_undef,
                                 1024,
                                 20,
                                 NID_undef,
                                 "SHA1",
                                 1024,
                                 20,
                                 false};
/* Deliberately unusual counts, lengths and PRFs (neither is OpenSSL's default), so that
 * keeping them is not luck. */
const kt_p12_spec kt_spec_modern = {NID_pbes2,
                                    NID_aes_256_cbc,
                                    3000,
                                    16,
                                    NID_hmacWithSHA512,
                                    NID_pbes2,
                                    NID_aes_128_cbc,
                                    2500,
                                    12,
                                    NID_hmacWithSHA1,
                                    "SHA256",
                                    2200,
                                    10,
                                    true};
const kt_p12_spec kt_spec_nomac = {NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                   NID_undef,
                                   1000,
                                   8,
                                   NID_undef,
                                   NID_pbe_WithSHA1And40BitRC2_CBC,
                                   NID_undef,
                                   1000,
                                   8,
                                   NID_undef,
                                   NULL,
                                   0,
                                   0,
                                   false};

static X509_ALGOR *pbes2(int cipher_nid, int iter, int salt, int prf)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(kt_libctx(), OBJ_nid2sn(cipher_nid), NULL);
    ck_assert_ptr_nonnull(c);
    X509_ALGOR *alg = PKCS5_pbe2_set_iv_ex(c, iter, NULL, salt, NULL, prf, kt_libctx());
    ck_assert_ptr_nonnull(alg);
    EVP_CIPHER_free(c);
    return alg;
}

/* An EncryptedData safe under a PBES2 AlgorithmIdentifier of our choosing. */
static PKCS7 *encrypted_safe(X509_ALGOR *alg, const char *pw, STACK_OF(PKCS12_SAFEBAG) * bags)
{
    PKCS7 *p7 = PKCS7_new_ex(kt_libctx(), NULL);
    ck_assert(p7 != NULL && PKCS7_set_type(p7, NID_pkcs7_encrypted));
    PKCS7_ENC_CONTENT *ec = p7->d.encrypted->enc_data;
    ASN1_OBJECT_free(ec->content_type);
    ec->content_type = OBJ_nid2obj(NID_pkcs7_data);
    X509_ALGOR_free(ec->algorithm);
    ec->algorithm = alg;
    ASN1_OCTET_STRING_free(ec->enc_data);
    ec->enc_data = PKCS12_item_i2d_encrypt_ex(alg, ASN1_ITEM_rptr(PKCS12_SAFEBAGS), pw, -1, bags, 1,
                                              kt_libctx(), NULL);
    ck_assert_ptr_nonnull(ec->enc_data);
    return p7;
}

OSSL_LIB_CTX *kt_libctx(void)
{
    static OSSL_LIB_CTX *lc;
    if (lc == NULL) {
        lc = OSSL_LIB_CTX_new();
        ck_assert_ptr_nonnull(lc);
        ck_assert_ptr_nonnull(OSSL_PROVIDER_load(lc, "default"));
        ck_assert_ptr_nonnull(OSSL_PROVIDER_load(lc, "legacy"));
    }
    return lc;
}

EVP_PKEY *kt_genkey(const char *type)
{
    EVP_PKEY *k = strcmp(type, "RSA") == 0
                      ? EVP_PKEY_Q_keygen(kt_libctx(), NULL, "RSA", (size_t)2048)
                      : EVP_PKEY_Q_keygen(kt_libctx(), NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(k);
    return k;
}

void kt_pubkey_sha1(EVP_PKEY *key, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    ck_assert_int_gt(n, 0);
    SHA1(der, (size_t)n, out);
    OPENSSL_free(der);
}

X509 *kt_cert(EVP_PKEY *key, const uint8_t *ski, size_t ski_len)
{
    X509 *x = X509_new_ex(kt_libctx(), NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert(X509_set_version(x, X509_VERSION_3));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234));
    X509_NAME *n = X509_get_subject_name(x);
    ck_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)"ТЕСТОВ ТЕСТ", -1, -1, 0));
    ck_assert(
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"KZ", -1, -1, 0));
    ck_assert(X509_set_issuer_name(x, n));
    ck_assert(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    ck_assert(X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600));
    ck_assert(X509_set_pubkey(x, key));
    if (ski != NULL) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ck_assert(ASN1_OCTET_STRING_set(os, ski, (int)ski_len));
        ck_assert(X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, 0));
        ASN1_OCTET_STRING_free(os);
    }
    ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void add_extra_attrs(PKCS12_SAFEBAG *bag)
{
    ck_assert(PKCS12_add_CSPName_asc(bag, "vtoken test CSP", -1));
    /* A private attribute with two values of different types. */
    ck_assert(PKCS12_add1_attr_by_txt(bag, "1.3.6.1.4.1.55555.1.1", V_ASN1_OCTET_STRING,
                                      (const unsigned char *)"\x01\x02\x03", 3));
    const STACK_OF(X509_ATTRIBUTE) *attrs = PKCS12_SAFEBAG_get0_attrs(bag);
    X509_ATTRIBUTE *a = X509at_get_attr(attrs, X509at_get_attr_count(attrs) - 1);
    ck_assert(X509_ATTRIBUTE_set1_data(a, V_ASN1_UTF8STRING, "second value", 12));
    /* An OBJECT-valued one, as Java's keytool writes for trusted certificates. */
    ck_assert(PKCS12_add1_attr_by_txt(bag, "2.16.840.1.113894.746875.1.1", V_ASN1_OBJECT,
                                      (const unsigned char *)OBJ_nid2obj(NID_anyExtendedKeyUsage),
                                      -1));
}

void kt_make_p12(const char *path, const char *pw, EVP_PKEY *key, X509 *cert, const kt_p12_spec *sp)
{
    OSSL_LIB_CTX *lc = kt_libctx();
    uint8_t id[64];
    size_t id_len;
    char hex[129];
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
    if (ski != NULL) {
        id_len = (size_t)ASN1_STRING_length(ski);
        memcpy(id, ASN1_STRING_get0_data(ski), id_len);
    } else {
        kt_pubkey_sha1(key, id);
        id_len = 20;
    }
    vt_hex_encode(id, id_len, hex);

    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    ck_assert_ptr_nonnull(p8);
    X509_SIG *sig;
    if (sp->key_cipher != NID_undef) {
        X509_ALGOR *alg = pbes2(sp->key_cipher, sp->key_iter, sp->key_salt, sp->key_prf);
        sig = PKCS8_set0_pbe_ex(pw, -1, p8, alg, lc, NULL);
    } else {
        sig = PKCS8_encrypt_ex(sp->key_nid, NULL, pw, -1, NULL, sp->key_salt, sp->key_iter, p8, lc,
                               NULL);
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    ck_assert_ptr_nonnull(sig);
    PKCS12_SAFEBAG *kb = PKCS12_SAFEBAG_create0_pkcs8(sig);
    ck_assert_ptr_nonnull(kb);
    ck_assert(PKCS12_add_localkeyid(kb, id, (int)id_len));
    ck_assert(PKCS12_add_friendlyname_utf8(kb, hex, -1));
    if (sp->extra_attrs)
        add_extra_attrs(kb);
    STACK_OF(PKCS12_SAFEBAG) *keybags = sk_PKCS12_SAFEBAG_new_null();
    ck_assert(sk_PKCS12_SAFEBAG_push(keybags, kb));

    PKCS12_SAFEBAG *cb = PKCS12_SAFEBAG_create_cert(cert);
    ck_assert_ptr_nonnull(cb);
    ck_assert(PKCS12_add_localkeyid(cb, id, (int)id_len));
    ck_assert(PKCS12_add_friendlyname_utf8(cb, hex, -1));
    STACK_OF(PKCS12_SAFEBAG) *certbags = sk_PKCS12_SAFEBAG_new_null();
    ck_assert(sk_PKCS12_SAFEBAG_push(certbags, cb));

    STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
    PKCS7 *p7 = PKCS12_pack_p7data(keybags);
    ck_assert(p7 != NULL && sk_PKCS7_push(safes, p7));
    if (sp->cert_cipher != NID_undef)
        p7 = encrypted_safe(pbes2(sp->cert_cipher, sp->cert_iter, sp->cert_salt, sp->cert_prf), pw,
                            certbags);
    else
        p7 = PKCS12_pack_p7encdata_ex(sp->cert_nid, pw, -1, NULL, sp->cert_salt, sp->cert_iter,
                                      certbags, lc, NULL);
    ck_assert(p7 != NULL && sk_PKCS7_push(safes, p7));
    PKCS12 *p12 = PKCS12_add_safes_ex(safes, 0, lc, NULL);
    ck_assert_ptr_nonnull(p12);
    if (sp->mac_md != NULL) {
        EVP_MD *md = EVP_MD_fetch(lc, sp->mac_md, NULL);
        ck_assert(PKCS12_set_mac(p12, pw, -1, NULL, sp->mac_salt, sp->mac_iter, md));
        EVP_MD_free(md);
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(i2d_PKCS12_fp(f, p12));
    ck_assert_int_eq(fclose(f), 0);
    PKCS12_free(p12);
    sk_PKCS7_pop_free(safes, PKCS7_free);
    sk_PKCS12_SAFEBAG_pop_free(keybags, PKCS12_SAFEBAG_free);
    sk_PKCS12_SAFEBAG_pop_free(certbags, PKCS12_SAFEBAG_free);
}

/* ---- describing a file -------------------------------------------------------- */

static void put(kt_p12_desc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(kt_p12_desc *d, const char *fmt, ...)
{
    size_t n = strlen(d->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text + n, sizeof(d->text) - n, fmt, ap);
    va_end(ap);
}

static const char *sn(const ASN1_OBJECT *o)
{
    static char buf[4][96];
    static int k;
    char *b = buf[k++ % 4];
    OBJ_obj2txt(b, 96, o, 0);
    return b;
}

static void describe_alg(kt_p12_desc *d, const X509_ALGOR *alg)
{
    const ASN1_OBJECT *obj;
    const void *pval;
    int ptype;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    put(d, " alg=%s", sn(obj));
    ck_assert_int_eq(ptype, V_ASN1_SEQUENCE);
    if (OBJ_obj2nid(obj) == NID_pbes2) {
        PBE2PARAM *p2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
        ck_assert_ptr_nonnull(p2);
        const ASN1_OBJECT *eo;
        const void *iv;
        int ivtype;
        X509_ALGOR_get0(&eo, &ivtype, &iv, p2->encryption);
        put(d, " cipher=%s ivlen=%d", sn(eo),
            ivtype == V_ASN1_OCTET_STRING ? ASN1_STRING_length(iv) : -1);
        X509_ALGOR_get0(&obj, &ptype, &pval, p2->keyfunc);
        put(d, " kdf=%s", sn(obj));
        PBKDF2PARAM *kdf = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBKDF2PARAM));
        ck_assert_ptr_nonnull(kdf);
        put(d, " iter=%ld salt=%d keylen=%ld", ASN1_INTEGER_get(kdf->iter),
            ASN1_STRING_length(kdf->salt->value.octet_string),
            kdf->keylength ? ASN1_INTEGER_get(kdf->keylength) : -1L);
        if (kdf->prf != NULL) {
            X509_ALGOR_get0(&obj, NULL, NULL, kdf->prf);
            put(d, " prf=%s", sn(obj));
        } else {
            put(d, " prf=default");
        }
        PBKDF2PARAM_free(kdf);
        PBE2PARAM_free(p2);
    } else {
        PBEPARAM *pp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBEPARAM));
        ck_assert_ptr_nonnull(pp);
        put(d, " iter=%ld salt=%d", ASN1_INTEGER_get(pp->iter), ASN1_STRING_length(pp->salt));
        PBEPARAM_free(pp);
    }
}

static void describe_attrs(kt_p12_desc *d, const STACK_OF(X509_ATTRIBUTE) * attrs)
{
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(attrs); i++) {
        X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
        put(d, "  attr %s:", sn(X509_ATTRIBUTE_get0_object(a)));
        for (int j = 0; j < X509_ATTRIBUTE_count(a); j++) {
            unsigned char *der = NULL;
            int n = i2d_ASN1_TYPE(X509_ATTRIBUTE_get0_type(a, j), &der);
            ck_assert_int_gt(n, 0);
            char *hex = malloc(2 * (size_t)n + 1);
            vt_hex_encode(der, (size_t)n, hex);
            put(d, " %s", hex);
            free(hex);
            OPENSSL_free(der);
        }
        put(d, "\n");
    }
}

bool kt_p12_describe(const char *path, const char *pw, kt_p12_desc *d)
{
    OSSL_LIB_CTX *lc = kt_libctx();
    vt_buf buf = {0};
    bool ok = false;
    memset(d, 0, sizeof(*d));
    if (!kt_slurp(path, &buf))
        return false;
    PKCS12 *p12 = PKCS12_init_ex(NID_pkcs7_data, lc, NULL);
    const unsigned char *q = buf.data;
    STACK_OF(PKCS7) *safes = NULL;
    if (d2i_PKCS12(&p12, &q, (long)buf.len) == NULL)
        goto out;
    if (PKCS12_mac_present(p12)) {
        const X509_ALGOR *alg;
        const ASN1_OCTET_STRING *salt;
        const ASN1_INTEGER *iter;
        const ASN1_OBJECT *obj;
        PKCS12_get0_mac(NULL, &alg, &salt, &iter, p12);
        X509_ALGOR_get0(&obj, NULL, NULL, alg);
        put(d, "mac %s iter=%ld salt=%d\n", sn(obj), iter ? ASN1_INTEGER_get(iter) : 1L,
            ASN1_STRING_length(salt));
        d->mac_ok = PKCS12_verify_mac(p12, pw, -1) == 1;
        if (!d->mac_ok)
            goto out;
    } else {
        put(d, "no mac\n");
        d->mac_ok = true; /* nothing to verify */
    }
    safes = PKCS12_unpack_authsafes(p12);
    if (safes == NULL)
        goto out;
    for (int i = 0; i < sk_PKCS7_num(safes); i++) {
        PKCS7 *p7 = sk_PKCS7_value(safes, i);
        STACK_OF(PKCS12_SAFEBAG) * bags;
        if (OBJ_obj2nid(p7->type) == NID_pkcs7_data) {
            put(d, "safe data\n");
            bags = PKCS12_unpack_p7data(p7);
        } else {
            put(d, "safe encrypted");
            describe_alg(d, p7->d.encrypted->enc_data->algorithm);
            put(d, "\n");
            bags = PKCS12_unpack_p7encdata(p7, pw, -1);
        }
        if (bags == NULL)
            goto out;
        for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags); j++) {
            PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, j);
            put(d, " bag %s", sn(PKCS12_SAFEBAG_get0_type(bag)));
            if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag) {
                const X509_ALGOR *alg;
                X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &alg, NULL);
                describe_alg(d, alg);
                PKCS8_PRIV_KEY_INFO *p8 = PKCS12_decrypt_skey_ex(bag, pw, -1, lc, NULL);
                put(d, " decrypts=%s", p8 != NULL ? "yes" : "no");
                PKCS8_PRIV_KEY_INFO_free(p8);
            }
            put(d, "\n");
            describe_attrs(d, PKCS12_SAFEBAG_get0_attrs(bag));
        }
        sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
    }
    ok = true;
out:
    sk_PKCS7_pop_free(safes, PKCS7_free);
    PKCS12_free(p12);
    vt_buf_free(&buf);
    return ok;
}

void kt_openssl_info(const char *path, const char *pw, bool legacy, char *out, size_t cap,
                     bool *ran)
{
    char cmd[4200];
    out[0] = '\0';
    *ran = system("command -v openssl >/dev/null 2>&1") == 0;
    if (!*ran)
        return;
    ck_assert_int_eq(setenv("KT_P12_PW", pw, 1), 0);
    snprintf(cmd, sizeof(cmd), "openssl pkcs12 -info -noout %s -in '%s' -passin env:KT_P12_PW 2>&1",
             legacy ? "-legacy" : "", path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    ck_assert_int_eq(pclose(f), 0);
}
