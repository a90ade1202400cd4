/* Fixture and OpenSSL-only helpers of the PKCS#12 token tests (no suite here). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "p11_test.h"
#include "test_drv_pkcs12.h"

char pt_root[128];
char pt_files[160];
char pt_home[160];

void pt_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(pt_root, sizeof(pt_root), "%s/vt-p12-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(pt_root));
    snprintf(pt_files, sizeof(pt_files), "%s/files", pt_root);
    snprintf(pt_home, sizeof(pt_home), "%s/home", pt_root);
    ck_assert_int_eq(mkdir(pt_files, 0700), 0);
    ck_assert_int_eq(mkdir(pt_home, 0700), 0);
    unsetenv("VTOKEN_P12_PATH");
    unsetenv("VTOKEN_P12_RULE");
    unsetenv("VTOKEN_HOME");
    p11_test_clear_slots(); /* with test slots registered the module shows only those */
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700); /* read-only test directories */
    return remove(path);
}

void pt_teardown(void)
{
    C_Finalize(NULL);
    chmod(pt_files, 0700);
    nftw(pt_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *pt_path(const char *name)
{
    char *p = NULL;
    ck_assert_int_gt(asprintf(&p, "%s/%s", pt_files, name), 0);
    return p;
}

static void slurp(const char *path, vt_buf *out)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        ck_assert(vt_buf_append(out, buf, n));
    fclose(f);
}

char *pt_copy_nca(const char *stem)
{
    char src[512];
    vt_buf b = {0};
    snprintf(src, sizeof(src), "%s/nca/%s.p12", VT_SHARED_VECTORS_DIR, stem);
    slurp(src, &b);
    char name[256];
    snprintf(name, sizeof(name), "%s.p12", stem);
    char *dst = pt_path(name);
    FILE *f = fopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(dst, 0600), 0);
    vt_buf_free(&b);
    return dst;
}

X509 *pt_nca_cert(const char *stem)
{
    char src[512];
    snprintf(src, sizeof(src), "%s/nca/%s.cer", VT_SHARED_VECTORS_DIR, stem);
    FILE *f = fopen(src, "r");
    ck_assert_ptr_nonnull(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    return x;
}

void pt_init_raw(const char *options)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)options};
    ck_assert_rv(C_Initialize(&a), CKR_OK);
}

void pt_init(const char *extra)
{
    char o[1024];
    snprintf(o, sizeof(o), "embedded=0 pcsc=0 home='%s' p12_path='%s' %s", pt_home, pt_files,
             extra ? extra : "");
    pt_init_raw(o);
}

CK_SLOT_ID pt_slot(const char *desc)
{
    CK_SLOT_ID ids[32];
    CK_ULONG n = 32;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_SLOT_INFO si;
        ck_assert_rv(C_GetSlotInfo(ids[i], &si), CKR_OK);
        size_t len = strlen(desc);
        if (len <= sizeof(si.slotDescription) && !memcmp(si.slotDescription, desc, len) &&
            (len == sizeof(si.slotDescription) || si.slotDescription[len] == ' '))
            return ids[i];
    }
    ck_abort_msg("no slot described as %s", desc);
    return 0;
}

CK_SESSION_HANDLE pt_open(CK_SLOT_ID slot, bool rw)
{
    CK_SESSION_HANDLE h = 0;
    ck_assert_rv(
        C_OpenSession(slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h),
        CKR_OK);
    return h;
}

CK_SESSION_HANDLE pt_login(CK_SLOT_ID slot, const char *pw, bool rw)
{
    CK_SESSION_HANDLE h = pt_open(slot, rw);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(pw)), CKR_OK);
    return h;
}

CK_ULONG pt_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t = {CKA_CLASS, &cls, sizeof(cls)};
    CK_OBJECT_HANDLE tmp[16];
    CK_ULONG n = 0;
    ck_assert_rv(C_FindObjectsInit(h, &t, 1), CKR_OK);
    ck_assert_rv(C_FindObjects(h, out ? out : tmp, 16, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    return n;
}

CK_OBJECT_HANDLE pt_find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
    CK_OBJECT_HANDLE o[16];
    CK_ULONG n = pt_find(h, cls, o);
    ck_assert_msg(n == 1, "expected one %s, found %lu", p11_class_name(cls), n);
    return o[0];
}

CK_ULONG pt_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, void *buf,
                 CK_ULONG cap)
{
    CK_ATTRIBUTE a = {t, buf, cap};
    ck_assert_rv(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
    return a.ulValueLen;
}

bool pt_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL v = 0xAA;
    ck_assert_uint_eq(pt_attr(h, o, t, &v, sizeof(v)), 1);
    ck_assert(v == CK_TRUE || v == CK_FALSE);
    return v == CK_TRUE;
}

CK_ULONG pt_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
    CK_ULONG v = 0;
    ck_assert_uint_eq(pt_attr(h, o, t, &v, sizeof(v)), sizeof(v));
    return v;
}

/* ---- OpenSSL ---- */

OSSL_LIB_CTX *pt_libctx(void)
{
    static OSSL_LIB_CTX *lc;
    if (!lc) {
        lc = OSSL_LIB_CTX_new();
        ck_assert_ptr_nonnull(lc);
        ck_assert_ptr_nonnull(OSSL_PROVIDER_load(lc, "default"));
        ck_assert_ptr_nonnull(OSSL_PROVIDER_load(lc, "legacy"));
    }
    return lc;
}

EVP_PKEY *pt_rsa_key(int bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(pt_libctx(), NULL, "RSA", (size_t)bits);
    ck_assert_ptr_nonnull(k);
    return k;
}

EVP_PKEY *pt_ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(pt_libctx(), NULL, "EC", curve);
    ck_assert_ptr_nonnull(k);
    return k;
}

void pt_pub_sha1(EVP_PKEY *key, uint8_t out[20])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    ck_assert_int_gt(n, 0);
    SHA1(der, (size_t)n, out);
    OPENSSL_free(der);
}

X509 *pt_cert(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, bool ski)
{
    static long serial = 100;
    X509 *x = X509_new_ex(pt_libctx(), NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert(X509_set_version(x, X509_VERSION_3));
    ck_assert(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++));
    X509_NAME *n = X509_get_subject_name(x);
    ck_assert(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)"ТЕСТОВ ТЕСТ", -1, -1, 0));
    ck_assert(
        X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"KZ", -1, -1, 0));
    X509_NAME *in = X509_NAME_new();
    ck_assert(X509_NAME_add_entry_by_txt(in, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)"ҰКО 3.0 (RSA TEST)", -1, -1, 0));
    ck_assert(X509_set_issuer_name(x, issuer_key ? in : n));
    X509_NAME_free(in);
    ck_assert(X509_gmtime_adj(X509_getm_notBefore(x), 0));
    ck_assert(X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600));
    ck_assert(X509_set_pubkey(x, subject_key));
    if (ski) {
        uint8_t id[20];
        pt_pub_sha1(subject_key, id);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        ck_assert(ASN1_OCTET_STRING_set(os, id, 20));
        ck_assert(X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, 0));
        ASN1_OCTET_STRING_free(os);
    }
    ck_assert(X509_sign(x, issuer_key ? issuer_key : subject_key, EVP_sha256()) > 0);
    return x;
}

void pt_write_p12(const char *path, const char *pw, EVP_PKEY *key, X509 *cert, bool legacy)
{
    uint8_t id[20];
    char hex[41];
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
    if (ski) {
        memcpy(id, ASN1_STRING_get0_data(ski), 20);
    } else {
        pt_pub_sha1(key, id);
    }
    vt_hex_encode(id, 20, hex);
    PKCS12 *p12 =
        legacy ? PKCS12_create_ex(pw, hex, key, cert, NULL, NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
                                  NID_pbe_WithSHA1And40BitRC2_CBC, 1024, 1024, 0, pt_libctx(), NULL)
               : PKCS12_create_ex(pw, hex, key, cert, NULL, 0, 0, 0, 0, 0, pt_libctx(), NULL);
    ck_assert_ptr_nonnull(p12);
    if (legacy) {
        EVP_MD *sha1 = EVP_MD_fetch(pt_libctx(), "SHA1", NULL);
        ck_assert(PKCS12_set_mac(p12, pw, -1, NULL, 20, 1024, sha1));
        EVP_MD_free(sha1);
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(i2d_PKCS12_fp(f, p12));
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);
    PKCS12_free(p12);
}

bool pt_verify(EVP_PKEY *pub, const char *md, bool pss, const uint8_t *data, size_t len,
               const uint8_t *sig, size_t sig_len)
{
    bool ok = false;
    if (EVP_PKEY_is_a(pub, "EC")) {
        /* r || s into DER */
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)(sig_len / 2), NULL);
        BIGNUM *s = BN_bin2bn(sig + sig_len / 2, (int)(sig_len / 2), NULL);
        ck_assert(ECDSA_SIG_set0(es, r, s));
        unsigned char *der = NULL;
        int dlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (md) {
            EVP_MD_CTX *mc = EVP_MD_CTX_new();
            ok = EVP_DigestVerifyInit_ex(mc, NULL, md, pt_libctx(), NULL, pub, NULL) == 1 &&
                 EVP_DigestVerify(mc, der, (size_t)dlen, data, len) == 1;
            EVP_MD_CTX_free(mc);
        } else {
            EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(pt_libctx(), pub, NULL);
            ok = EVP_PKEY_verify_init(c) == 1 &&
                 EVP_PKEY_verify(c, der, (size_t)dlen, data, len) == 1;
            EVP_PKEY_CTX_free(c);
        }
        OPENSSL_free(der);
        return ok;
    }
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    ok = EVP_DigestVerifyInit_ex(mc, &pc, md, pt_libctx(), NULL, pub, NULL) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_AUTO) == 1;
    ok = ok && EVP_DigestVerify(mc, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(mc);
    return ok;
}

void pt_snapshot(const char *path, pt_snap *s)
{
    memset(s, 0, sizeof(*s));
    slurp(path, &s->bytes);
    ck_assert_int_eq(stat(path, &s->st), 0);
}

void pt_assert_unchanged(const char *path, pt_snap *s)
{
    pt_snap now;
    pt_snapshot(path, &now);
    ck_assert_uint_eq(now.bytes.len, s->bytes.len);
    if (now.bytes.len)
        ck_assert_mem_eq(now.bytes.data, s->bytes.data, now.bytes.len);
    ck_assert_uint_eq(now.st.st_ino, s->st.st_ino);
    ck_assert_int_eq(now.st.st_mtim.tv_sec, s->st.st_mtim.tv_sec);
    ck_assert_int_eq(now.st.st_mtim.tv_nsec, s->st.st_mtim.tv_nsec);
    vt_buf_free(&now.bytes);
    vt_buf_free(&s->bytes);
}
