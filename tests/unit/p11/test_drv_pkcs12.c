/* PKCS#12 files as tokens, read side, through the module: slots from directories (option,
 * environment, vtoken.conf), labels, nothing visible before login, NCA's real files
 * opened with Qwerty12 (objects, CKA_ID / CKA_LABEL = SubjectKeyIdentifier, sensitive
 * keys), signatures and decryption checked with OpenSSL, wrong passwords without a
 * counter, damaged files that stay byte-identical, read-only files, new files joining
 * the slot list, and the vendor filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "drv_pkcs12.h"
#include "p11_test.h"
#include "test_drv_pkcs12.h"

static void setup(void)
{
    pt_setup();
}

static void teardown(void)
{
    pt_teardown();
}

static CK_ULONG slot_count(bool present)
{
    CK_ULONG n = 0;
    ck_assert_rv(C_GetSlotList(present ? CK_TRUE : CK_FALSE, NULL, &n), CKR_OK);
    return n;
}

static void token_info(CK_SLOT_ID slot, CK_TOKEN_INFO *ti)
{
    ck_assert_rv(C_GetTokenInfo(slot, ti), CKR_OK);
}

static bool padded_eq(const CK_UTF8CHAR *field, size_t width, const char *want)
{
    size_t n = strlen(want);
    if (n > width || memcmp(field, want, n))
        return false;
    for (size_t i = n; i < width; i++)
        if (field[i] != ' ')
            return false;
    return true;
}

#define PT_PIN_FLAGS                                                                               \
    (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED |                       \
     CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_FINAL_TRY | CKF_SO_PIN_LOCKED)

START_TEST(slots_one_per_file)
{
    free(pt_copy_nca(PT_AUTH));
    free(pt_copy_nca(PT_SIGN));
    /* Not key stores, or hidden: no slots. */
    char *txt = pt_path("notes.txt"), *hidden = pt_path(".old.p12"), *sub = pt_path("sub.p12");
    FILE *f = fopen(txt, "w");
    fputs("x", f);
    fclose(f);
    f = fopen(hidden, "w");
    fputs("x", f);
    fclose(f);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    pt_init(NULL);

    ck_assert_uint_eq(slot_count(false), 2);
    ck_assert_uint_eq(slot_count(true), 2);
    CK_SLOT_ID ids[4];
    CK_ULONG n = 4;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    /* In name order; the description carries the whole file name. */
    CK_SLOT_INFO si;
    ck_assert_rv(C_GetSlotInfo(ids[0], &si), CKR_OK);
    ck_assert(padded_eq(si.slotDescription, 64, PT_AUTH ".p12"));
    ck_assert(padded_eq(si.manufacturerID, 32, "vtoken"));
    ck_assert(si.flags & CKF_TOKEN_PRESENT);
    ck_assert(!(si.flags & CKF_HW_SLOT));
    ck_assert_rv(C_GetSlotInfo(ids[1], &si), CKR_OK);
    ck_assert(padded_eq(si.slotDescription, 64, PT_SIGN ".p12"));

    CK_TOKEN_INFO ti;
    token_info(ids[0], &ti);
    /* 52 characters cut to 32: the kind and the first 20 hex digits of the SKI. */
    ck_assert(padded_eq(ti.label, 32, "AUTH_RSA256_b2c70a9ff7a5dc59de0c"));
    ck_assert(padded_eq(ti.manufacturerID, 32, "vtoken"));
    ck_assert(padded_eq(ti.model, 16, "PKCS#12 file"));
    ck_assert_uint_eq(ti.flags & (CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
                                  CKF_TOKEN_INITIALIZED | CKF_RNG | CKF_WRITE_PROTECTED),
                      CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED |
                          CKF_RNG);
    ck_assert_uint_eq(ti.flags & PT_PIN_FLAGS, 0);
    ck_assert_uint_eq(ti.ulMinPinLen, 6);
    ck_assert_uint_eq(ti.ulMaxPinLen, 32);
    CK_TOKEN_INFO ti2;
    token_info(ids[1], &ti2);
    ck_assert(padded_eq(ti2.label, 32, "RSA256_11c707bd54cbfcccb3815e39c"));
    /* Serials differ per file and stay put. */
    ck_assert(memcmp(ti.serialNumber, ti2.serialNumber, 16));
    CK_TOKEN_INFO again;
    token_info(ids[0], &again);
    ck_assert_mem_eq(again.serialNumber, ti.serialNumber, 16);
    free(txt);
    free(hidden);
    free(sub);
}
END_TEST

START_TEST(labels_cut_at_characters)
{
    char out[33];
    /* 2-byte letters: cut before the letter that would not fit (31 bytes here),
     * never in the middle of one. */
    p11_p12_label("ЭЦП_Иванов_Иван_Иванович_подпись.p12", out, sizeof(out));
    ck_assert_str_eq(out, "ЭЦП_Иванов_Иван_И");
    ck_assert_uint_eq(strlen(out), 31);
    ck_assert_uint_le(strlen(out), 32);
    p11_p12_label("ЭЦП_Ива\xd0.pfx", out, sizeof(out)); /* a cut sequence */
    ck_assert_str_eq(out, "ЭЦП_Ива?");
    p11_p12_label("key.P12", out, sizeof(out));
    ck_assert_str_eq(out, "key");
    p11_p12_label("bad\xff\xfename.pfx", out, sizeof(out));
    ck_assert_str_eq(out, "bad??name");
    p11_p12_label("a\tb.p12", out, sizeof(out));
    ck_assert_str_eq(out, "a?b");
    char desc[65];
    p11_p12_description(PT_AUTH ".p12", desc, sizeof(desc));
    ck_assert_str_eq(desc, PT_AUTH ".p12");
}
END_TEST

START_TEST(nothing_visible_before_login)
{
    free(pt_copy_nca(PT_AUTH));
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot(PT_AUTH ".p12");
    CK_SESSION_HANDLE h = pt_open(slot, false);
    CK_OBJECT_HANDLE all[16];
    CK_ULONG n = 99;
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_FindObjects(h, all, 16, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_eq(n, 0);
    /* After login the key, its public key and the certificate; after logout nothing. */
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_OK);
    ck_assert_rv(C_FindObjectsInit(h, NULL, 0), CKR_OK);
    ck_assert_rv(C_FindObjects(h, all, 16, &n), CKR_OK);
    ck_assert_rv(C_FindObjectsFinal(h), CKR_OK);
    ck_assert_uint_eq(n, 3);
    CK_OBJECT_HANDLE cert = pt_find_one(h, CKO_CERTIFICATE);
    ck_assert(pt_bool(h, cert, CKA_PRIVATE));
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 0);
    ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 0);
    CK_BYTE buf[8];
    CK_ATTRIBUTE a = {CKA_VALUE, buf, sizeof(buf)};
    ck_assert_rv(C_GetAttributeValue(h, cert, &a, 1), CKR_OBJECT_HANDLE_INVALID);
}
END_TEST

/* Everything NCA's files promise, as PKCS#11 objects. */
static void check_nca_objects(const char *stem)
{
    char desc[128];
    snprintf(desc, sizeof(desc), "%s.p12", stem);
    CK_SESSION_HANDLE h = pt_login(pt_slot(desc), PT_PW, false);
    X509 *cer = pt_nca_cert(stem);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cer);
    ck_assert_ptr_nonnull(ski);
    char hex[41];
    vt_hex_encode(ASN1_STRING_get0_data(ski), 20, hex);
    ck_assert_str_eq(hex, strchr(stem, '_') ? strrchr(stem, '_') + 1 : stem);

    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    CK_OBJECT_HANDLE pub = pt_find_one(h, CKO_PUBLIC_KEY);
    CK_OBJECT_HANDLE cert = pt_find_one(h, CKO_CERTIFICATE);
    uint8_t buf[4096];
    CK_OBJECT_HANDLE objs[] = {priv, pub, cert};
    for (size_t i = 0; i < 3; i++) {
        /* CKA_ID the SKI's bytes, CKA_LABEL its lower-case hex (the NCALayer alias). */
        ck_assert_uint_eq(pt_attr(h, objs[i], CKA_ID, buf, sizeof(buf)), 20);
        ck_assert_mem_eq(buf, ASN1_STRING_get0_data(ski), 20);
        CK_ULONG l = pt_attr(h, objs[i], CKA_LABEL, buf, sizeof(buf));
        ck_assert_uint_eq(l, 40);
        ck_assert_mem_eq(buf, hex, 40);
        ck_assert(pt_bool(h, objs[i], CKA_TOKEN));
        ck_assert(pt_bool(h, objs[i], CKA_PRIVATE));
        ck_assert(!pt_bool(h, objs[i], CKA_MODIFIABLE));
    }
    ck_assert_uint_eq(pt_ulong(h, priv, CKA_KEY_TYPE), CKK_RSA);
    ck_assert(pt_bool(h, priv, CKA_SENSITIVE));
    ck_assert(!pt_bool(h, priv, CKA_EXTRACTABLE));
    ck_assert(!pt_bool(h, priv, CKA_ALWAYS_SENSITIVE));
    ck_assert(!pt_bool(h, priv, CKA_NEVER_EXTRACTABLE));
    ck_assert(!pt_bool(h, priv, CKA_LOCAL));
    ck_assert(pt_bool(h, priv, CKA_SIGN));
    ck_assert(pt_bool(h, priv, CKA_DECRYPT));
    ck_assert(pt_bool(h, priv, CKA_DESTROYABLE));
    ck_assert(!pt_bool(h, pub, CKA_DESTROYABLE));
    /* The secret parts never come out. */
    CK_ATTRIBUTE sec[] = {{CKA_PRIVATE_EXPONENT, buf, sizeof(buf)},
                          {CKA_PRIME_1, buf, sizeof(buf)}};
    ck_assert_rv(C_GetAttributeValue(h, priv, sec, 2), CKR_ATTRIBUTE_SENSITIVE);
    ck_assert_uint_eq(sec[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    ck_assert_uint_eq(sec[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* The certificate is the .cer, and the key's modulus is its. */
    unsigned char *der = NULL;
    int dlen = i2d_X509(cer, &der);
    CK_ULONG l = pt_attr(h, cert, CKA_VALUE, buf, sizeof(buf));
    ck_assert_uint_eq(l, (CK_ULONG)dlen);
    ck_assert_mem_eq(buf, der, l);
    OPENSSL_free(der);
    BIGNUM *n = NULL;
    ck_assert(EVP_PKEY_get_bn_param(X509_get0_pubkey(cer), "n", &n));
    uint8_t nb[512];
    int nlen = BN_bn2bin(n, nb);
    BN_free(n);
    l = pt_attr(h, priv, CKA_MODULUS, buf, sizeof(buf));
    ck_assert_uint_eq(l, (CK_ULONG)nlen);
    ck_assert_mem_eq(buf, nb, l);
    ck_assert_uint_eq(pt_ulong(h, pub, CKA_MODULUS_BITS), 2048);
    ck_assert_uint_eq(pt_ulong(h, cert, CKA_CERTIFICATE_CATEGORY), 1);
    /* CKA_SUBJECT of the key is the certificate's subject. */
    der = NULL;
    dlen = i2d_X509_NAME(X509_get_subject_name(cer), &der);
    ck_assert_uint_eq(pt_attr(h, priv, CKA_SUBJECT, buf, sizeof(buf)), (CK_ULONG)dlen);
    ck_assert_mem_eq(buf, der, (size_t)dlen);
    OPENSSL_free(der);
    X509_free(cer);
    ck_assert_rv(C_CloseSession(h), CKR_OK);
}

START_TEST(nca_files_objects)
{
    free(pt_copy_nca(PT_AUTH));
    free(pt_copy_nca(PT_SIGN));
    pt_init(NULL);
    check_nca_objects(PT_AUTH);
    check_nca_objects(PT_SIGN);
}
END_TEST

START_TEST(nca_sign_verified_by_openssl)
{
    const char *stem = _i ? PT_SIGN : PT_AUTH;
    char desc[128];
    snprintf(desc, sizeof(desc), "%s.p12", stem);
    free(pt_copy_nca(stem));
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot(desc), PT_PW, false);
    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    CK_OBJECT_HANDLE pub = pt_find_one(h, CKO_PUBLIC_KEY);
    X509 *cer = pt_nca_cert(stem);
    static const uint8_t data[] = "НУР-СУЛТАН: a document to sign";
    uint8_t sig[512];
    CK_ULONG slen = sizeof(sig);

    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR)data, sizeof(data), sig, &slen), CKR_OK);
    ck_assert_uint_eq(slen, 256);
    ck_assert(pt_verify(X509_get0_pubkey(cer), "SHA256", false, data, sizeof(data), sig, slen));
    ck_assert(
        !pt_verify(X509_get0_pubkey(cer), "SHA256", false, data, sizeof(data) - 1, sig, slen));
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, (CK_BYTE_PTR)data, sizeof(data), sig, slen), CKR_OK);

    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof(pp)};
    slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &pss, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR)data, sizeof(data), sig, &slen), CKR_OK);
    ck_assert(pt_verify(X509_get0_pubkey(cer), "SHA256", true, data, sizeof(data), sig, slen));

    /* Multi-part, SHA-1 */
    CK_MECHANISM m1 = {CKM_SHA1_RSA_PKCS, NULL, 0};
    slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m1, priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)data, 10), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)data + 10, sizeof(data) - 10), CKR_OK);
    ck_assert_rv(C_SignFinal(h, sig, &slen), CKR_OK);
    ck_assert(pt_verify(X509_get0_pubkey(cer), "SHA1", false, data, sizeof(data), sig, slen));
    X509_free(cer);
}
END_TEST

START_TEST(nca_decrypt)
{
    free(pt_copy_nca(PT_AUTH));
    pt_init(NULL);
    CK_SESSION_HANDLE h = pt_login(pt_slot(PT_AUTH ".p12"), PT_PW, false);
    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    X509 *cer = pt_nca_cert(PT_AUTH);
    static const uint8_t secret[] = "session key 0123456789abcdef";
    for (int oaep = 0; oaep < 2; oaep++) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(pt_libctx(), X509_get0_pubkey(cer), NULL);
        uint8_t ct[256], pt[256];
        size_t ctlen = sizeof(ct);
        ck_assert_int_eq(EVP_PKEY_encrypt_init(c), 1);
        ck_assert_int_eq(
            EVP_PKEY_CTX_set_rsa_padding(c, oaep ? RSA_PKCS1_OAEP_PADDING : RSA_PKCS1_PADDING), 1);
        ck_assert_int_eq(EVP_PKEY_encrypt(c, ct, &ctlen, secret, sizeof(secret)), 1);
        EVP_PKEY_CTX_free(c);
        CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
        CK_MECHANISM m = oaep ? (CK_MECHANISM){CKM_RSA_PKCS_OAEP, &op, sizeof(op)}
                              : (CK_MECHANISM){CKM_RSA_PKCS, NULL, 0};
        CK_ULONG plen = sizeof(pt);
        ck_assert_rv(C_DecryptInit(h, &m, priv), CKR_OK);
        ck_assert_rv(C_Decrypt(h, ct, (CK_ULONG)ctlen, pt, &plen), CKR_OK);
        ck_assert_uint_eq(plen, sizeof(secret));
        ck_assert_mem_eq(pt, secret, plen);
    }
    X509_free(cer);
}
END_TEST

START_TEST(wrong_password_has_no_counter)
{
    char *path = pt_copy_nca(PT_AUTH);
    pt_snap snap;
    pt_snapshot(path, &snap);
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot(PT_AUTH ".p12");
    CK_SESSION_HANDLE h = pt_open(slot, false);
    static const char *const wrong[] = {"qwerty12", "Qwerty1", "Qwerty123", "", "x"};
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < VT_ARRAY_LEN(wrong); i++) {
            ck_assert_rv(C_Login(h, CKU_USER, PIN(wrong[i])), CKR_PIN_INCORRECT);
            CK_TOKEN_INFO ti;
            token_info(slot, &ti);
            ck_assert_uint_eq(ti.flags & PT_PIN_FLAGS, 0);
        }
    }
    ck_assert_rv(C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "Qwerty12\0x", 10), CKR_PIN_INCORRECT);
    CK_SESSION_HANDLE rw = pt_open(slot, true);
    ck_assert_rv(C_CloseSession(h), CKR_OK);
    ck_assert_rv(C_Login(rw, CKU_SO, PIN(PT_PW)), CKR_USER_TYPE_INVALID); /* no SO */
    h = rw;
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_OK);
    ck_assert_rv(C_Login(h, CKU_USER, PIN(PT_PW)), CKR_USER_ALREADY_LOGGED_IN);
    ck_assert_rv(C_Logout(h), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_assert_unchanged(path, &snap); /* opening never writes */
    free(path);
}
END_TEST

/* Damaged, truncated, empty and foreign files: a slot each, a token that says
 * CKR_DEVICE_ERROR at login, files left exactly as they were. */
START_TEST(damaged_files_stay_slots)
{
    char *good = pt_copy_nca(PT_AUTH);
    vt_buf b = {0};
    FILE *f = fopen(good, "rb");
    uint8_t chunk[4096];
    size_t n = fread(chunk, 1, sizeof(chunk), f);
    fclose(f);
    ck_assert(vt_buf_append(&b, chunk, n));
    struct {
        const char *name;
        size_t len;
        int flip;
    } cases[] = {
        {"truncated.p12", n / 2, -1}, {"empty.p12", 0, -1},         {"onebyte.pfx", 1, -1},
        {"flipped.p12", n, 100},      {"text.p12", (size_t)-1, -1},
    };
    char *paths[VT_ARRAY_LEN(cases)];
    pt_snap snaps[VT_ARRAY_LEN(cases)];
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        paths[i] = pt_path(cases[i].name);
        f = fopen(paths[i], "wb");
        if (cases[i].len == (size_t)-1) {
            fputs("-----BEGIN CERTIFICATE-----\nnot a key store\n", f);
        } else {
            if (cases[i].flip >= 0)
                b.data[cases[i].flip] ^= 0x40;
            fwrite(b.data, 1, cases[i].len, f);
            if (cases[i].flip >= 0)
                b.data[cases[i].flip] ^= 0x40;
        }
        fclose(f);
        pt_snapshot(paths[i], &snaps[i]);
    }
    pt_init(NULL);
    ck_assert_uint_eq(slot_count(true), VT_ARRAY_LEN(cases) + 1);
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        CK_SLOT_ID slot = pt_slot(cases[i].name);
        CK_TOKEN_INFO ti;
        token_info(slot, &ti);
        CK_SESSION_HANDLE h = pt_open(slot, true);
        CK_RV want = CKR_DEVICE_ERROR;
        /* A changed byte inside the MAC's scope cannot be told from a wrong password. */
        CK_RV got = C_Login(h, CKU_USER, PIN(PT_PW));
        ck_assert_msg(got == want || (cases[i].flip >= 0 && got == CKR_PIN_INCORRECT), "%s: %s",
                      cases[i].name, p11_rv_name(got));
        ck_assert_uint_eq(pt_find(h, CKO_PRIVATE_KEY, NULL), 0);
        ck_assert_rv(C_CloseSession(h), CKR_OK);
    }
    ck_assert_rv(C_Login(pt_open(pt_slot(PT_AUTH ".p12"), false), CKU_USER, PIN(PT_PW)), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    for (size_t i = 0; i < VT_ARRAY_LEN(cases); i++) {
        pt_assert_unchanged(paths[i], &snaps[i]);
        free(paths[i]);
    }
    vt_buf_free(&b);
    free(good);
}
END_TEST

START_TEST(read_only_file)
{
    char *path = pt_copy_nca(PT_AUTH);
    ck_assert_int_eq(chmod(path, 0400), 0);
    pt_snap snap;
    pt_snapshot(path, &snap);
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot(PT_AUTH ".p12");
    CK_TOKEN_INFO ti;
    token_info(slot, &ti);
    ck_assert(ti.flags & CKF_WRITE_PROTECTED);
    CK_SESSION_HANDLE h = 0;
    ck_assert_rv(C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
                 CKR_TOKEN_WRITE_PROTECTED);
    /* Reading and signing work. */
    h = pt_login(slot, PT_PW, false);
    CK_OBJECT_HANDLE priv = pt_find_one(h, CKO_PRIVATE_KEY);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[256];
    CK_ULONG slen = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR) "x", 1, sig, &slen), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_assert_unchanged(path, &snap);

    /* A writable file in a read-only directory cannot be replaced either. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(chmod(pt_files, 0500), 0);
    pt_init(NULL);
    token_info(pt_slot(PT_AUTH ".p12"), &ti);
    ck_assert(ti.flags & CKF_WRITE_PROTECTED);
    ck_assert_int_eq(chmod(pt_files, 0700), 0);
    token_info(pt_slot(PT_AUTH ".p12"), &ti);
    ck_assert(!(ti.flags & CKF_WRITE_PROTECTED));
    free(path);
}
END_TEST

/* Files that appear later get new slots (the list only grows); a file that goes away
 * leaves its slot without a token, and comes back in the same slot. */
START_TEST(slot_list_grows_with_new_files)
{
    free(pt_copy_nca(PT_AUTH));
    pt_init(NULL);
    ck_assert_uint_eq(slot_count(false), 1);
    char *sign = pt_copy_nca(PT_SIGN);
    /* The call with a list does not look for files: the usual pair of calls agrees. */
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    ck_assert_rv(C_GetSlotList(CK_FALSE, ids, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(slot_count(false), 2);
    CK_SLOT_ID s2 = pt_slot(PT_SIGN ".p12");
    CK_SESSION_HANDLE h = pt_login(s2, PT_PW, false);
    ck_assert_uint_eq(pt_find(h, CKO_CERTIFICATE, NULL), 1);

    char moved[256];
    snprintf(moved, sizeof(moved), "%s/elsewhere", pt_root);
    ck_assert_int_eq(rename(sign, moved), 0);
    ck_assert_uint_eq(slot_count(false), 2);
    ck_assert_uint_eq(slot_count(true), 1);
    CK_SESSION_INFO si;
    ck_assert_rv(C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    CK_SLOT_INFO sl;
    ck_assert_rv(C_GetSlotInfo(s2, &sl), CKR_OK);
    ck_assert(!(sl.flags & CKF_TOKEN_PRESENT));
    CK_SLOT_ID ev = 99;
    ck_assert_rv(C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_OK);
    ck_assert_uint_eq(ev, s2);
    ck_assert_int_eq(rename(moved, sign), 0);
    ck_assert_uint_eq(slot_count(true), 2);
    ck_assert_uint_eq(pt_slot(PT_SIGN ".p12"), s2);
    /* A file added while a C_WaitForSlotEvent polls is an event on a new slot. */
    char *third = pt_path("third.p12");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", sign, third);
    ck_assert_int_eq(system(cmd), 0);
    bool seen_new = false;
    for (int i = 0; i < 4; i++) {
        CK_RV rv = C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL);
        if (rv == CKR_NO_EVENT)
            break;
        ck_assert_rv(rv, CKR_OK);
        seen_new |= ev == 2;
    }
    ck_assert(seen_new);
    ck_assert_uint_eq(slot_count(false), 3);
    free(sign);
    free(third);
}
END_TEST

START_TEST(directories_from_env_and_config)
{
    char a[200], b[200], conf[200];
    snprintf(a, sizeof(a), "%s/a", pt_root);
    snprintf(b, sizeof(b), "%s/b", pt_root);
    ck_assert_int_eq(mkdir(a, 0700), 0);
    ck_assert_int_eq(mkdir(b, 0700), 0);
    char *src = pt_copy_nca(PT_AUTH);
    char cmd[800];
    snprintf(cmd, sizeof(cmd),
             "cp '%s' '%s/one.p12' && cp '%s' '%s/two.pfx' && mkdir '%s/p12' && "
             "cp '%s' '%s/p12/three.p12'",
             src, a, src, b, pt_home, src, pt_home);
    ck_assert_int_eq(system(cmd), 0);

    /* vtoken.conf: a relative path is taken from the home; the rule is configurable. */
    snprintf(conf, sizeof(conf), "%s/vtoken.conf", pt_home);
    FILE *f = fopen(conf, "w");
    fprintf(f, "[pkcs12]\npath = p12:%s/\npassword_rule = min=4,max=10,digit\n", b);
    fclose(f);
    char opts[400];
    snprintf(opts, sizeof(opts), "embedded=0 pcsc=0 home='%s'", pt_home);
    pt_init_raw(opts);
    ck_assert_uint_eq(slot_count(false), 2);
    (void)pt_slot("three.p12");
    CK_TOKEN_INFO ti;
    token_info(pt_slot("two.pfx"), &ti);
    ck_assert_uint_eq(ti.ulMinPinLen, 4);
    ck_assert_uint_eq(ti.ulMaxPinLen, 10);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);

    /* $VTOKEN_P12_PATH replaces the configured directories (dirs repeated count once). */
    char env[1024];
    snprintf(env, sizeof(env), "%s::%s:%s/", a, b, a);
    setenv("VTOKEN_P12_PATH", env, 1);
    setenv("VTOKEN_P12_RULE", "min=8", 1);
    pt_init_raw(opts);
    ck_assert_uint_eq(slot_count(false), 2);
    (void)pt_slot("one.p12");
    token_info(pt_slot("two.pfx"), &ti);
    ck_assert_uint_eq(ti.ulMinPinLen, 8);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);

    /* The option replaces both; an empty p12_path means no directories; pkcs12=0 none. */
    char o2[800];
    snprintf(o2, sizeof(o2), "%s p12_path='%s' p12_rule=none", opts, b);
    pt_init_raw(o2);
    ck_assert_uint_eq(slot_count(false), 1);
    token_info(pt_slot("two.pfx"), &ti);
    ck_assert_uint_eq(ti.ulMinPinLen, 0);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    snprintf(o2, sizeof(o2), "%s p12_path=''", opts);
    pt_init_raw(o2);
    ck_assert_uint_eq(slot_count(false), 0);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    snprintf(o2, sizeof(o2), "%s pkcs12=0", opts);
    pt_init_raw(o2);
    ck_assert_uint_eq(slot_count(false), 0);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    /* A rule that does not parse leaves NCA's in force. */
    snprintf(o2, sizeof(o2), "%s p12_rule=min=x", opts);
    pt_init_raw(o2);
    token_info(pt_slot("two.pfx"), &ti);
    ck_assert_uint_eq(ti.ulMinPinLen, 6);
    ck_assert_uint_eq(ti.ulMaxPinLen, 32);
    free(src);
}
END_TEST

START_TEST(vendor_personality_hides_files)
{
    free(pt_copy_nca(PT_AUTH));
    pt_init("vendor=etoken");
    ck_assert_uint_eq(slot_count(false), 0);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    pt_init("vendor=all");
    ck_assert_uint_eq(slot_count(false), 1);
}
END_TEST

START_TEST(random_and_mechanisms)
{
    free(pt_copy_nca(PT_AUTH));
    pt_init(NULL);
    CK_SLOT_ID slot = pt_slot(PT_AUTH ".p12");
    CK_SESSION_HANDLE h = pt_open(slot, false);
    uint8_t r1[64] = {0}, r2[64] = {0};
    ck_assert_rv(C_GenerateRandom(h, r1, sizeof(r1)), CKR_OK);
    ck_assert_rv(C_GenerateRandom(h, r2, sizeof(r2)), CKR_OK);
    ck_assert(memcmp(r1, r2, sizeof(r1)));
    CK_MECHANISM_INFO mi;
    ck_assert_rv(C_GetMechanismInfo(slot, CKM_ECDSA_SHA256, &mi), CKR_OK);
    ck_assert(mi.flags & CKF_SIGN);
    ck_assert_uint_eq(mi.ulMaxKeySize, 521);
    ck_assert_rv(C_GetMechanismInfo(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi), CKR_OK);
    ck_assert_uint_eq(mi.ulMinKeySize, 1024);
    ck_assert_uint_eq(mi.ulMaxKeySize, 4096);
    ck_assert_rv(C_GetMechanismInfo(slot, CKM_RSA_PKCS_OAEP, &mi), CKR_OK);
    ck_assert(mi.flags & CKF_DECRYPT);
    /* No SO: nobody can initialise the token or the user's PIN. */
    ck_assert_rv(C_CloseSession(h), CKR_OK);
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof(label));
    ck_assert_rv(C_InitToken(slot, PIN(PT_PW), label), CKR_FUNCTION_NOT_SUPPORTED);
}
END_TEST

Suite *drv_pkcs12_suite(void)
{
    Suite *s = suite_create("drv_pkcs12");
    TCase *tc = tcase_create("read");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, slots_one_per_file);
    tcase_add_test(tc, labels_cut_at_characters);
    tcase_add_test(tc, nothing_visible_before_login);
    tcase_add_test(tc, nca_files_objects);
    tcase_add_loop_test(tc, nca_sign_verified_by_openssl, 0, 2);
    tcase_add_test(tc, nca_decrypt);
    tcase_add_test(tc, wrong_password_has_no_counter);
    tcase_add_test(tc, damaged_files_stay_slots);
    tcase_add_test(tc, read_only_file);
    tcase_add_test(tc, slot_list_grows_with_new_files);
    tcase_add_test(tc, directories_from_env_and_config);
    tcase_add_test(tc, vendor_personality_hides_files);
    tcase_add_test(tc, random_and_mechanisms);
    suite_add_tcase(s, tc);
    return s;
}
