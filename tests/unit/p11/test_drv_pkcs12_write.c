/* PKCS#12 files as tokens, write side and other key types, through the module:
 * C_SetPIN (round trip keeping the file's algorithms, the password rule, read-only
 * files), generated NCA-style and modern files, ECDSA keys, key generation with
 * certificate write-back (NCA's names), key import and removal, and a file another
 * program changes while we are logged in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include "drv_pkcs12.h"
#include "p11_test.h"
#include "p12.h"
#include "test_drv_pkcs12.h"

static ks_p12_ctx *kctx;

static void setup(void)
{
    pt_setup();
    ck_assert_int_eq(ks_p12_ctx_new(&kctx), KS_OK);
}

static void teardown(void)
{
    pt_teardown();
    ks_p12_ctx_free(kctx);
    kctx = NULL;
}

static ks_status ks_try(const char *path, const char *pw)
{
    ks_p12 *p = NULL;
    ks_status st = ks_p12_open(kctx, path, pw, strlen(pw), &p, NULL);
    ks_p12_close(p);
    return st;
}

static void ks_info(const char *path, const char *pw, ks_p12_info *info)
{
    ks_p12 *p = NULL;
    ck_assert_int_eq(ks_p12_open(kctx, path, pw, strlen(pw), &p, NULL), KS_OK);
    ks_p12_get_info(p, info);
    ks_p12_close(p);
}

static void sign_check(CK_SESSION_HANDLE h, EVP_PKEY *pub)
{
    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    static const uint8_t data[] = "signed after the change";
    uint8_t sig[512];
    CK_ULONG slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR)data, sizeof(data), sig, &slen), CKR_OK);
    ck_assert(pt_verify(pub, "SHA256", false, data, sizeof(data), sig, slen));
}

/* A file of each kind: NCA's real one, an NCA-style one and a modern one. */
static char *make_file(int kind, EVP_PKEY **pub)
{
    if (kind == 0) {
        X509 *cer = pt_nca_cert(PT_AUTH);
        *pub = X509_get_pubkey(cer);
        X509_free(cer);
        return pt_copy_nca(PT_AUTH);
    }
    EVP_PKEY *key = pt_rsa_key(2048);
    X509 *x = pt_cert(key, NULL, true);
    char *path = pt_path(kind == 1 ? "legacy.p12" : "modern.pfx");
    pt_write_p12(path, PT_PW, key, x, kind == 1);
    *pub = X509_get_pubkey(x);
    X509_free(x);
    EVP_PKEY_free(key);
    return path;
}

START_TEST(set_pin_round_trip_keeps_algorithms)
{
    EVP_PKEY *pub = NULL;
    char *path = make_file(_i, &pub);
    const char *name = strrchr(path, '/') + 1;
    ks_p12_info before, after;
    ks_info(path, PT_PW, &before);
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot(name);
    CK_SESSION_HANDLE h = pt_login(slot, PT_PW, true);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Alma2024ty")), CKR_OK);
    /* Still logged in, with the same keys. */
    sign_check(h, pub);
    ck_assert_int_eq(ks_try(path, "Alma2024ty"), KS_OK);
    ck_assert_int_eq(ks_try(path, PT_PW), KS_ERR_BAD_PASSWORD);
    ks_info(path, "Alma2024ty", &after);
    ck_assert_mem_eq(&after, &before, sizeof(before));
    ck_assert_int_eq(before.key.pbe_nid,
                     _i == 2 ? NID_pbes2 : NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_PIN_INCORRECT);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("Alma2024ty")), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    /* C_SetPIN works in a public R/W session too; and back. */
    ck_assert_rv(C_SetPIN(h, PIN("Alma2024ty"), PIN(PT_PW)), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    ck_assert_int_eq(ks_try(path, PT_PW), KS_OK);
    ks_info(path, PT_PW, &after);
    ck_assert_mem_eq(&after, &before, sizeof(before));
    pt_init(NULL);
    h = pt_login(pt_slot(name), PT_PW, false);
    sign_check(h, pub);
    EVP_PKEY_free(pub);
    free(path);
}
END_TEST

/* A link in the directory to a file elsewhere (a USB stick): the file is rewritten, the
 * link stays a link. */
START_TEST(set_pin_through_a_symlink)
{
    char *inside = pt_copy_nca(PT_AUTH);
    char elsewhere[256], link_path[256];
    snprintf(elsewhere, sizeof(elsewhere), "%s/usb", pt_root);
    ck_assert_int_eq(mkdir(elsewhere, 0700), 0);
    snprintf(elsewhere, sizeof(elsewhere), "%s/usb/key.p12", pt_root);
    ck_assert_int_eq(rename(inside, elsewhere), 0);
    snprintf(link_path, sizeof(link_path), "%s/linked.p12", pt_files);
    ck_assert_int_eq(symlink(elsewhere, link_path), 0);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot("linked.p12"), PT_PW, true);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Alma2024ty")), CKR_OK);
    struct stat st;
    ck_assert_int_eq(lstat(link_path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(ks_try(elsewhere, "Alma2024ty"), KS_OK);
    ck_assert_int_eq(ks_try(link_path, "Alma2024ty"), KS_OK);
    /* The target's directory decides whether the file can be replaced. */
    snprintf(link_path, sizeof(link_path), "%s/usb", pt_root);
    ck_assert_int_eq(chmod(link_path, 0500), 0);
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(pt_slot("linked.p12"), &ti), CKR_OK);
    ck_assert(ti.flags & CKF_WRITE_PROTECTED);
    ck_assert_int_eq(chmod(link_path, 0700), 0);
    free(inside);
}
END_TEST

START_TEST(set_pin_refusals_change_nothing)
{
    char *path = pt_copy_nca(PT_SIGN);
    pt_snap snap;
    pt_snapshot(path, &snap);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_open(pt_slot(PT_SIGN ".p12"), true);
    ck_assert_rv(C_SetPIN(h, PIN("Qwerty13"), PIN("Alma2024ty")), CKR_PIN_INCORRECT);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("abcdefgh1")), CKR_PIN_INVALID); /* no upper */
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("ABCDEFGH1")), CKR_PIN_INVALID); /* no lower */
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Abcdefghi")), CKR_PIN_INVALID); /* no digit */
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Ab1")), CKR_PIN_LEN_RANGE);     /* 3 < 6 */
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Ab1456789012345678901234567890123")),
                 CKR_PIN_LEN_RANGE); /* 33 > 32 */
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), (CK_UTF8CHAR_PTR) "Abc1\0def", 8), CKR_PIN_INVALID);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("Ab12\nxyz")), CKR_PIN_INVALID);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_assert_unchanged(path, &snap);

    /* Another rule: lengths in characters, any class set. */
    pt_init("p12_rule=min=4,max=6,digit");
    h = pt_open(pt_slot(PT_SIGN ".p12"), true);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("abcdef")), CKR_PIN_INVALID);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("1234567")), CKR_PIN_LEN_RANGE);
    ck_assert_rv(C_SetPIN(h, PIN(PT_PW), PIN("1234")), CKR_OK);
    ck_assert_int_eq(ks_try(path, "1234"), KS_OK);
    vt_buf_free(&snap.bytes);
    free(path);
}
END_TEST

/* The driver's own rule check counts characters, as NCA's rule does (the module's
 * length check before it counts bytes, as PKCS#11 does). */
START_TEST(driver_rule_counts_characters)
{
    char *path = pt_copy_nca(PT_SIGN);
    ks_pwrule rule;
    char why[100];
    ck_assert_int_eq(ks_pwrule_parse("min=6,max=10,upper,lower,digit", &rule, why, sizeof(why)),
                     KS_OK);
    p11_token *t = NULL;
    ck_assert_rv(p11_p12_open(kctx, path, &rule, &t), CKR_OK);
    const char *ten = "Пароль12Ab"; /* 10 characters, 16 bytes */
    ck_assert_rv(
        t->ops->set_pin(t, CKU_USER, (const uint8_t *)PT_PW, 8, (const uint8_t *)ten, strlen(ten)),
        CKR_OK);
    ck_assert_int_eq(ks_try(path, ten), KS_OK);
    const char *eleven = "Пароль12Abc";
    ck_assert_rv(t->ops->set_pin(t, CKU_USER, (const uint8_t *)ten, strlen(ten),
                                 (const uint8_t *)eleven, strlen(eleven)),
                 CKR_PIN_LEN_RANGE);
    ck_assert_rv(t->ops->set_pin(t, CKU_SO, (const uint8_t *)ten, strlen(ten),
                                 (const uint8_t *)"Abcdef12", 8),
                 CKR_USER_TYPE_INVALID);
    /* Read-only: refused before anything is read, file untouched. */
    pt_snap snap;
    pt_snapshot(path, &snap);
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_rv(t->ops->set_pin(t, CKU_USER, (const uint8_t *)ten, strlen(ten),
                                 (const uint8_t *)"Abcdef12", 8),
                 CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(chmod(pt_files, 0500), 0);
    ck_assert_rv(t->ops->set_pin(t, CKU_USER, (const uint8_t *)ten, strlen(ten),
                                 (const uint8_t *)"Abcdef12", 8),
                 CKR_TOKEN_WRITE_PROTECTED);
    ck_assert_int_eq(chmod(pt_files, 0700), 0);
    pt_assert_unchanged(path, &snap);
    t->ops->close(t);
    free(path);
}
END_TEST

START_TEST(generated_files_sign_with_ski_names)
{
    EVP_PKEY *pub = NULL;
    char *path = make_file(1 + _i, &pub);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot(strrchr(path, '/') + 1), PT_PW, false);
    uint8_t ski[20], id[64];
    pt_pub_sha1(pub, ski);
    CK_OBJECT_HANDLE o[16];
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, o), 1);
    ck_assert_uint_eq(pt_attr(h, o[0], CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, ski, 20);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, o), 1);
    ck_assert_uint_eq(pt_attr(h, o[0], CKA_ID, id, sizeof(id)), 20);
    ck_assert_mem_eq(id, ski, 20);
    sign_check(h, pub);
    EVP_PKEY_free(pub);
    free(path);
}
END_TEST

static const char *const curves[] = {"P-256", "P-384", "P-521"};

START_TEST(ecdsa_keys)
{
    EVP_PKEY *key = pt_ec_key(curves[_i]);
    X509 *x = pt_cert(key, NULL, true);
    char *path = pt_path("ec.p12");
    pt_write_p12(path, PT_PW, key, x, _i == 0);
    free(pt_copy_nca(PT_AUTH));
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot("ec.p12"), PT_PW, false);
    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    CK_OBJECT_HANDLE pub = pt_find_one(h, CKO_PUBLIC_KEY);
    ck_assert_uint_eq(pt_ulong(h, priv, CKA_KEY_TYPE), CKK_EC);
    ck_assert(pt_bool(h, priv, CKA_SIGN));
    ck_assert(!pt_bool(h, priv, CKA_DECRYPT));
    /* CKA_EC_PARAMS: the curve's OID; CKA_EC_POINT: the point in an OCTET STRING. */
    uint8_t buf[512];
    char curve[64];
    ck_assert(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
                                             NULL));
    unsigned char *oid = NULL;
    int olen = i2d_ASN1_OBJECT(OBJ_nid2obj(OBJ_sn2nid(curve)), &oid);
    ck_assert_uint_eq(pt_attr(h, priv, CKA_EC_PARAMS, buf, sizeof(buf)), (CK_ULONG)olen);
    ck_assert_mem_eq(buf, oid, (size_t)olen);
    ck_assert_uint_eq(pt_attr(h, pub, CKA_EC_PARAMS, buf, sizeof(buf)), (CK_ULONG)olen);
    OPENSSL_free(oid);
    uint8_t point[200];
    size_t plen = 0;
    ck_assert(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                              sizeof(point), &plen));
    CK_ULONG l = pt_attr(h, pub, CKA_EC_POINT, buf, sizeof(buf));
    ck_assert_uint_eq(buf[0], 0x04); /* OCTET STRING */
    ck_assert_uint_eq(l, plen + (plen < 128 ? 2 : 3));
    ck_assert_mem_eq(buf + l - plen, point, plen);
    CK_ATTRIBUTE sec = {CKA_VALUE, buf, sizeof(buf)};
    ck_assert_rv(C_GetAttributeValue(h, priv, &sec, 1), CKR_ATTRIBUTE_SENSITIVE);

    size_t n = _i == 0 ? 32 : _i == 1 ? 48 : 66;
    static const uint8_t data[] = "ECDSA through a PKCS#12 token";
    uint8_t hash[32], sig[200];
    CK_ULONG slen = 0;
    SHA256(data, sizeof(data), hash);
    /* CKM_ECDSA over a hash, with a length query first. */
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
    ck_assert_rv(C_SignInit(h, &raw, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, hash, sizeof(hash), NULL, &slen), CKR_OK);
    ck_assert_uint_eq(slen, 2 * n);
    ck_assert_rv(C_Sign(h, hash, sizeof(hash), sig, &slen), CKR_OK);
    ck_assert_uint_eq(slen, 2 * n);
    ck_assert(pt_verify(key, NULL, false, hash, sizeof(hash), sig, slen));
    /* The module verifies it with the public key object; a changed signature fails. */
    ck_assert_rv(C_VerifyInit(h, &raw, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, hash, sizeof(hash), sig, slen), CKR_OK);
    sig[5] ^= 1;
    ck_assert_rv(C_VerifyInit(h, &raw, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, hash, sizeof(hash), sig, slen), CKR_SIGNATURE_INVALID);
    ck_assert_rv(C_VerifyInit(h, &raw, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, hash, sizeof(hash), sig, slen - 1), CKR_SIGNATURE_LEN_RANGE);
    /* Hash-and-sign, multi-part. */
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)data, 7), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)data + 7, sizeof(data) - 7), CKR_OK);
    ck_assert_rv(C_SignFinal(h, sig, &slen), CKR_OK);
    ck_assert(pt_verify(X509_get0_pubkey(x), "SHA256", false, data, sizeof(data), sig, slen));
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, (CK_BYTE_PTR)data, sizeof(data), sig, slen), CKR_OK);
    /* Mechanisms and keys must agree. */
    CK_MECHANISM rsa = {CKM_SHA256_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_SignInit(h, &rsa, priv), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM dec = {CKM_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_DecryptInit(h, &dec, priv), CKR_KEY_TYPE_INCONSISTENT);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_init(NULL);
    h = pt_login(pt_slot(PT_AUTH ".p12"), PT_PW, false);
    ck_assert_rv(C_SignInit(h, &m, pt_find_one(h, CKO_PRIVATE_KEY)), CKR_KEY_TYPE_INCONSISTENT);
    EVP_PKEY_free(key);
    X509_free(x);
    free(path);
}
END_TEST

static void make_empty(const char *path, ks_p12_style style)
{
    ks_p12 *p = NULL;
    char *why = NULL;
    ck_assert_int_eq(ks_p12_create(kctx, path, PT_PW, 8, style, &KS_PWRULE_NCA, &p, &why), KS_OK);
    ks_p12_close(p);
}

/* The public key of a key object, through CKA_PUBLIC_KEY_INFO. */
static EVP_PKEY *public_of(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
    uint8_t spki[1024];
    CK_ULONG l = pt_attr(h, o, CKA_PUBLIC_KEY_INFO, spki, sizeof(spki));
    const unsigned char *q = spki;
    EVP_PKEY *pk = d2i_PUBKEY_ex(NULL, &q, (long)l, pt_libctx(), NULL);
    ck_assert_ptr_nonnull(pk);
    return pk;
}

START_TEST(keygen_and_certificate_write_back)
{
    char *path = pt_path("new.p12");
    make_empty(path, _i ? KS_P12_STYLE_MODERN : KS_P12_STYLE_NCA);
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot("new.p12");
    CK_SESSION_HANDLE h = pt_open(slot, true);
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_TOKEN, &yes, 1},
                           {CKA_ID, "\x01", 1},
                           {CKA_LABEL, "my key", 6}};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &yes, 1}, {CKA_ID, "\x01", 1}, {CKA_LABEL, "my key", 6}};
    CK_OBJECT_HANDLE hpub, hpriv;
    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 4, privt, 3, &hpub, &hpriv),
                 CKR_USER_NOT_LOGGED_IN);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 0);
    ck_assert_rv(C_GenerateKeyPair(h, &gen, pubt, 4, privt, 3, &hpub, &hpriv), CKR_OK);
    uint8_t buf[256];
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_ID, buf, sizeof(buf)), 1);
    ck_assert_uint_eq(buf[0], 1);
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_LABEL, buf, sizeof(buf)), 6);
    ck_assert_mem_eq(buf, "my key", 6);
    ck_assert(pt_bool(h, hpriv, CKA_LOCAL));
    ck_assert(!pt_bool(h, hpriv, CKA_ALWAYS_SENSITIVE));
    ck_assert_uint_eq(pt_ulong(h, hpriv, CKA_KEY_GEN_MECHANISM), CKM_RSA_PKCS_KEY_PAIR_GEN);
    ck_assert_uint_eq(pt_ulong(h, hpub, CKA_MODULUS_BITS), 2048);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 1);
    ck_assert_uint_eq(pt_find(h, CKO_PUBLIC_KEY, NULL), 1);

    /* The file holds the key, encrypted as the file's style says. */
    ks_p12 *p = NULL;
    ck_assert_int_eq(ks_p12_open(kctx, path, PT_PW, 8, &p, NULL), KS_OK);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ks_p12_info info;
    ks_p12_get_info(p, &info);
    ck_assert_int_eq(info.key.pbe_nid, _i ? NID_pbes2 : NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
    ks_p12_close(p);

    /* A CA issues the certificate; writing it back names the pair by its SKI. */
    EVP_PKEY *pub = public_of(h, hpub);
    EVP_PKEY *ca = pt_rsa_key(2048);
    X509 *x = pt_cert(pub, ca, true);
    uint8_t ski[20];
    char hex[41];
    pt_pub_sha1(pub, ski);
    vt_hex_encode(ski, 20, hex);
    unsigned char *der = NULL;
    int dlen = i2d_X509(x, &der);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE certt[] = {{CKA_CLASS, &cc, sizeof(cc)}, {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                            {CKA_TOKEN, &yes, 1},         {CKA_ID, "\x01", 1},
                            {CKA_LABEL, "my cert", 7},    {CKA_VALUE, der, (CK_ULONG)dlen}};
    CK_OBJECT_HANDLE hcert;
    ck_assert_rv(C_CreateObject(h, certt, 6, &hcert), CKR_OK);
    ck_assert_uint_eq(pt_attr(h, hcert, CKA_ID, buf, sizeof(buf)), 20);
    ck_assert_mem_eq(buf, ski, 20);
    ck_assert_uint_eq(pt_attr(h, hcert, CKA_LABEL, buf, sizeof(buf)), 40);
    ck_assert_mem_eq(buf, hex, 40);
    /* The key was renamed with it (same handle, attributes listed again). */
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_ID, buf, sizeof(buf)), 20);
    ck_assert_mem_eq(buf, ski, 20);
    ck_assert_uint_eq(pt_attr(h, hpriv, CKA_LABEL, buf, sizeof(buf)), 40);
    ck_assert_mem_eq(buf, hex, 40);
    ck_assert_uint_eq(pt_ulong(h, hcert, CKA_CERTIFICATE_CATEGORY), 1);
    /* The same certificate twice: the file holds it already. */
    CK_OBJECT_HANDLE again;
    ck_assert_rv(C_CreateObject(h, certt, 6, &again), CKR_TEMPLATE_INCONSISTENT);
    /* In the file: localKeyID = SKI and friendlyName = hex on both bags. */
    ck_assert_int_eq(ks_p12_open(kctx, path, PT_PW, 8, &p, NULL), KS_OK);
    size_t len = 0;
    const uint8_t *lk = ks_p12_local_key_id(p, KS_P12_KEY, 0, &len);
    ck_assert_uint_eq(len, 20);
    ck_assert_mem_eq(lk, ski, 20);
    lk = ks_p12_local_key_id(p, KS_P12_CERT, 0, &len);
    ck_assert_uint_eq(len, 20);
    ck_assert_mem_eq(lk, ski, 20);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_KEY, 0), hex);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_CERT, 0), hex);
    ks_p12_close(p);
    sign_check(h, X509_get0_pubkey(x));
    /* After a new login the same objects, as listed from the file. */
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_OK);
    CK_OBJECT_HANDLE k2 = pt_find_one(h, CKO_PRIVATE_KEY);
    ck_assert_uint_eq(pt_attr(h, k2, CKA_ID, buf, sizeof(buf)), 20);
    ck_assert_mem_eq(buf, ski, 20);
    ck_assert(pt_bool(h, k2, CKA_LOCAL)); /* for as long as this token lives */
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_init(NULL);
    h = pt_login(pt_slot("new.p12"), PT_PW, false);
    ck_assert(!pt_bool(h, pt_find_one(h, CKO_PRIVATE_KEY), CKA_LOCAL));
    sign_check(h, X509_get0_pubkey(x));
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(pub);
    free(path);
}
END_TEST

static void bn_attr(EVP_PKEY *k, const char *name, uint8_t *out, CK_ULONG *len)
{
    BIGNUM *bn = NULL;
    ck_assert(EVP_PKEY_get_bn_param(k, name, &bn));
    *len = (CK_ULONG)BN_bn2bin(bn, out);
    BN_clear_free(bn);
}

START_TEST(import_and_destroy)
{
    char *path = pt_copy_nca(PT_AUTH);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot(PT_AUTH ".p12"), PT_PW, true);
    EVP_PKEY *key = pt_rsa_key(2048);
    static const char *const names[] = {"n",
                                        "e",
                                        "d",
                                        "rsa-factor1",
                                        "rsa-factor2",
                                        "rsa-exponent1",
                                        "rsa-exponent2",
                                        "rsa-coefficient1"};
    static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
        CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT};
    uint8_t vals[8][512];
    CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[12] = {{CKA_CLASS, &pc, sizeof(pc)},
                          {CKA_KEY_TYPE, &kt, sizeof(kt)},
                          {CKA_TOKEN, &yes, 1},
                          {CKA_LABEL, "imported", 8}};
    for (int i = 0; i < 8; i++) {
        t[4 + i].type = types[i];
        t[4 + i].pValue = vals[i];
        bn_attr(key, names[i], vals[i], &t[4 + i].ulValueLen);
    }
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(h, t, 12, &o), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 2);
    ck_assert_uint_eq(pt_find(h, CKO_PUBLIC_KEY, NULL), 2);
    uint8_t buf[64];
    ck_assert_uint_eq(pt_attr(h, o, CKA_LABEL, buf, sizeof(buf)), 8);
    ck_assert(!pt_bool(h, o, CKA_LOCAL));
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[256];
    CK_ULONG slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m, o), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "abc", 3, sig, &slen), CKR_OK);
    ck_assert(pt_verify(key, "SHA256", false, (const uint8_t *)"abc", 3, sig, slen));

    /* Only keys and certificates: no data objects, no bare public keys. */
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_ATTRIBUTE data[] = {{CKA_CLASS, &dc, sizeof(dc)}, {CKA_TOKEN, &yes, 1}};
    ck_assert_rv(C_CreateObject(h, data, 2, &o), CKR_TEMPLATE_INCONSISTENT);

    /* Public keys go with their private key; certificates and keys can be removed. */
    CK_OBJECT_HANDLE pubs[16];
    ck_assert_uint_eq(pt_find(h, CKO_PUBLIC_KEY, pubs), 2);
    ck_assert_rv(C_DestroyObject(h, pubs[0]), CKR_ACTION_PROHIBITED);
    ck_assert_rv(C_DestroyObject(h, pt_find_one(h, CKO_CERTIFICATE)), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 0);
    CK_OBJECT_HANDLE privs[16];
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, privs), 2);
    ck_assert_rv(C_DestroyObject(h, privs[0]), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 1);
    ck_assert_uint_eq(pt_find(h, CKO_PUBLIC_KEY, NULL), 1);
    ks_p12 *p = NULL;
    ck_assert_int_eq(ks_p12_open(kctx, path, PT_PW, 8, &p, NULL), KS_OK);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 0);
    ks_p12_close(p);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

/* Another program rewrites the file while we are logged in. */
START_TEST(file_changed_by_another_program)
{
    char *path = pt_copy_nca(PT_AUTH);
    X509 *cer = pt_nca_cert(PT_AUTH);
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot(PT_AUTH ".p12"), PT_PW, true);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 1);
    /* Same password: we read the new file (its certificate is gone). */
    ks_p12 *p = NULL;
    ck_assert_int_eq(ks_p12_open(kctx, path, PT_PW, 8, &p, NULL), KS_OK);
    ck_assert_int_eq(ks_p12_remove(p, KS_P12_CERT, 0), KS_OK);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 0);
    sign_check(h, X509_get0_pubkey(cer));
    /* A new password: our keys still sign, writes fail until a new login. */
    ck_assert_int_eq(ks_p12_change_password(p, "Alma2024ty", 10, &KS_PWRULE_NCA), KS_OK);
    ks_p12_close(p);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 1);
    sign_check(h, X509_get0_pubkey(cer));
    unsigned char *der = NULL;
    int dlen = i2d_X509(cer, &der);
    CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE certt[] = {{CKA_CLASS, &cc, sizeof(cc)},
                            {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                            {CKA_TOKEN, &yes, 1},
                            {CKA_VALUE, der, (CK_ULONG)dlen}};
    CK_OBJECT_HANDLE o;
    ck_assert_rv(C_CreateObject(h, certt, 4, &o), CKR_FUNCTION_FAILED);
    ck_assert_int_eq(ks_try(path, "Alma2024ty"), KS_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_PIN_INCORRECT);
    ck_assert_rv(C_Login(h, CKU_USER, PIN("Alma2024ty")), CKR_OK);
    ck_assert_rv(C_CreateObject(h, certt, 4, &o), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 1);
    OPENSSL_free(der);
    X509_free(cer);
    free(path);
}
END_TEST

Suite *drv_pkcs12_write_suite(void)
{
    Suite *s = suite_create("drv_pkcs12_write");
    TCase *tc = tcase_create("write");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, set_pin_round_trip_keeps_algorithms, 0, 3);
    tcase_add_test(tc, set_pin_through_a_symlink);
    tcase_add_test(tc, set_pin_refusals_change_nothing);
    tcase_add_test(tc, driver_rule_counts_characters);
    tcase_add_loop_test(tc, generated_files_sign_with_ski_names, 0, 2);
    tcase_add_loop_test(tc, ecdsa_keys, 0, 3);
    tcase_add_loop_test(tc, keygen_and_certificate_write_back, 0, 2);
    tcase_add_test(tc, import_and_destroy);
    tcase_add_test(tc, file_changed_by_another_program);
    suite_add_tcase(s, tc);
    return s;
}
