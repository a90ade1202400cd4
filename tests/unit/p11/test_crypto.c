/* Mechanisms: what is offered for which driver capabilities; signatures checked with
 * OpenSSL for every signing mechanism (token padding and module padding); software
 * verify and encrypt; decryption (PKCS#1, OAEP, raw); digests and their saved states;
 * random numbers; key pair generation. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "p11_test.h"

static const CK_BYTE msg[] = "the quick brown fox jumps over the lazy dog";
#define MSG (CK_BYTE_PTR) msg, (CK_ULONG)(sizeof(msg) - 1)

static void keys_with_caps(unsigned caps, CK_SESSION_HANDLE *h, CK_OBJECT_HANDLE *priv,
                           CK_OBJECT_HANDLE *pub)
{
    mock_config cfg;
    mock_config_default(&cfg);
    cfg.caps = caps;
    fx_init_with(&cfg);
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "key1", false, true, true);
    *h = fx_open(true);
    fx_login(*h);
    *priv = fx_find_one(*h, CKO_PRIVATE_KEY, NULL);
    *pub = fx_find_one(*h, CKO_PUBLIC_KEY, NULL);
}

static bool ossl_verify(const EVP_MD *md, int pad, int salt, const CK_BYTE *sig, size_t sl)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    bool ok = EVP_DigestVerifyInit(c, &pc, md, NULL, mock_key(0)) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pc, pad) > 0 &&
              (pad != RSA_PKCS1_PSS_PADDING || EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt) > 0) &&
              EVP_DigestVerify(c, sig, sl, msg, sizeof(msg) - 1) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

static CK_ULONG sign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, CK_MECHANISM *m,
                     const CK_BYTE *data, CK_ULONG len, CK_BYTE *sig)
{
    CK_ULONG sl = 256;
    ck_assert_rv(C_SignInit(h, m, key), CKR_OK);
    ck_assert_rv(C_Sign(h, (CK_BYTE_PTR)data, len, sig, &sl), CKR_OK);
    return sl;
}

static void sign_all_and_check(unsigned caps)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE priv, pub;
    CK_BYTE sig[256];
    keys_with_caps(caps, &h, &priv, &pub);
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *md;
    } hashed[] = {{CKM_SHA1_RSA_PKCS, "SHA1"},
                  {CKM_SHA224_RSA_PKCS, "SHA224"},
                  {CKM_SHA256_RSA_PKCS, "SHA256"},
                  {CKM_SHA384_RSA_PKCS, "SHA384"},
                  {CKM_SHA512_RSA_PKCS, "SHA512"}};
    for (size_t i = 0; i < 5; i++) {
        CK_MECHANISM m = {hashed[i].m, NULL, 0};
        CK_ULONG sl = sign(h, priv, &m, MSG, sig);
        ck_assert_uint_eq(sl, 128);
        ck_assert_msg(
            ossl_verify(EVP_get_digestbyname(hashed[i].md), RSA_PKCS1_PADDING, 0, sig, sl), "%s",
            p11_mech_name(hashed[i].m));
        ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
        ck_assert_rv(C_Verify(h, MSG, sig, sl), CKR_OK);
    }
    /* CKM_RSA_PKCS over a DigestInfo the caller built */
    CK_BYTE di[19 + 32] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                           0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    unsigned int dl;
    EVP_Digest(msg, sizeof(msg) - 1, di + 19, &dl, EVP_sha256(), NULL);
    CK_MECHANISM raw15 = {CKM_RSA_PKCS, NULL, 0};
    CK_ULONG sl = sign(h, priv, &raw15, di, sizeof(di), sig);
    ck_assert(ossl_verify(EVP_sha256(), RSA_PKCS1_PADDING, 0, sig, sl));
    ck_assert_rv(C_VerifyInit(h, &raw15, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, di, sizeof(di), sig, sl), CKR_OK);
    if (caps & P11_CAP_RSA_RAW) {
        /* PSS, both forms, checked by OpenSSL and by the module */
        CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
        CK_MECHANISM pss = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof(pp)};
        sl = sign(h, priv, &pss, MSG, sig);
        ck_assert(ossl_verify(EVP_sha256(), RSA_PKCS1_PSS_PADDING, 32, sig, sl));
        ck_assert_rv(C_VerifyInit(h, &pss, pub), CKR_OK);
        ck_assert_rv(C_Verify(h, MSG, sig, sl), CKR_OK);
        CK_MECHANISM bare = {CKM_RSA_PKCS_PSS, &pp, sizeof(pp)};
        sl = sign(h, priv, &bare, di + 19, 32, sig);
        ck_assert(ossl_verify(EVP_sha256(), RSA_PKCS1_PSS_PADDING, 32, sig, sl));
        ck_assert_rv(C_VerifyInit(h, &bare, pub), CKR_OK);
        ck_assert_rv(C_Verify(h, di + 19, 32, sig, sl), CKR_OK);
        /* raw RSA: recover the input with the public key */
        CK_MECHANISM x509 = {CKM_RSA_X_509, NULL, 0};
        sl = sign(h, priv, &x509, (const CK_BYTE *)"\x00\x01\x02raw", 6, sig);
        ck_assert_uint_eq(sl, 128);
        CK_BYTE rec[128];
        size_t rl = sizeof(rec);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(mock_key(0), NULL);
        EVP_PKEY_verify_recover_init(pc);
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING);
        ck_assert(EVP_PKEY_verify_recover(pc, rec, &rl, sig, sl) == 1);
        EVP_PKEY_CTX_free(pc);
        ck_assert_mem_eq(rec + 122, "\x00\x01\x02raw", 6);
        ck_assert_rv(C_VerifyInit(h, &x509, pub), CKR_OK);
        ck_assert_rv(C_Verify(h, (CK_BYTE_PTR) "\x00\x01\x02raw", 6, sig, sl), CKR_OK);
    }
    fx_fini();
}

START_TEST(sign_every_mechanism_token_padding)
{
    sign_all_and_check(P11_CAP_RSA_PKCS1 | P11_CAP_RNG | P11_CAP_WRITE);
}
END_TEST

START_TEST(sign_every_mechanism_module_padding)
{
    sign_all_and_check(P11_CAP_RSA_RAW | P11_CAP_RNG | P11_CAP_WRITE);
}
END_TEST

START_TEST(mechanisms_follow_capabilities)
{
    CK_MECHANISM_TYPE list[32];
    CK_ULONG n = 0;
    CK_MECHANISM_INFO mi;
    mock_config cfg;
    mock_config_default(&cfg);
    cfg.caps = P11_CAP_RSA_PKCS1; /* no raw RSA, no key generation, no RNG */
    fx_init_with(&cfg);
    ck_assert_rv(C_GetMechanismList(fx_slot, NULL, NULL), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GetMechanismList(fx_slot, NULL, &n), CKR_OK);
    ck_assert_uint_eq(n, 19); /* every mechanism but key generation */
    n = 2;
    ck_assert_rv(C_GetMechanismList(fx_slot, list, &n), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(n, 19);
    ck_assert_rv(C_GetMechanismList(fx_slot, list, &n), CKR_OK);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi),
                 CKR_MECHANISM_INVALID);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_SHA256_RSA_PKCS, &mi), CKR_OK);
    ck_assert_uint_eq(mi.flags, CKF_HW | CKF_SIGN | CKF_VERIFY);
    ck_assert_uint_eq(mi.ulMinKeySize, 1024);
    ck_assert_uint_eq(mi.ulMaxKeySize, 2048);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_SHA256_RSA_PKCS_PSS, &mi), CKR_OK);
    ck_assert_uint_eq(mi.flags, CKF_VERIFY); /* verify in software only */
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_RSA_PKCS_OAEP, &mi), CKR_OK);
    ck_assert_uint_eq(mi.flags, CKF_ENCRYPT);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_SHA512, &mi), CKR_OK);
    ck_assert_uint_eq(mi.flags, CKF_DIGEST);
    ck_assert_uint_eq(mi.ulMaxKeySize, 0);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_ECDSA, &mi), CKR_MECHANISM_INVALID);
    ck_assert_rv(C_GetMechanismInfo(fx_slot, CKM_SHA256, NULL), CKR_ARGUMENTS_BAD);
    CK_TOKEN_INFO ti;
    ck_assert_rv(C_GetTokenInfo(fx_slot, &ti), CKR_OK);
    ck_assert_uint_eq(ti.flags & CKF_RNG, 0);
    /* so PSS signing is refused, and random numbers too */
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "k", false, false, true);
    CK_SESSION_HANDLE h = fx_open(false);
    fx_login(h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pss = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof(pp)};
    ck_assert_rv(C_SignInit(h, &pss, priv), CKR_MECHANISM_INVALID);
    CK_BYTE r[8];
    ck_assert_rv(C_GenerateRandom(h, r, 8), CKR_RANDOM_NO_RNG);
    ck_assert_rv(C_SeedRandom(h, r, 8), CKR_RANDOM_NO_RNG);
    fx_fini();
}
END_TEST

START_TEST(sign_errors_and_buffers)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE priv, pub;
    keys_with_caps(P11_CAP_RSA_RAW | P11_CAP_RSA_PKCS1, &h, &priv, &pub);
    CK_OBJECT_HANDLE data;
    CK_OBJECT_CLASS dc = CKO_DATA;
    CK_ATTRIBUTE dt = {CKA_CLASS, &dc, sizeof(dc)};
    ck_assert_rv(C_CreateObject(h, &dt, 1, &data), CKR_OK);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_MECHANISM bad = {CKM_ECDSA, NULL, 0};
    CK_MECHANISM param = {CKM_SHA256_RSA_PKCS, "x", 1};
    CK_BYTE sig[256];
    CK_ULONG sl;
    ck_assert_rv(C_Sign(h, MSG, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_SignInit(h, NULL, priv), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_SignInit(h, &bad, priv), CKR_MECHANISM_INVALID);
    ck_assert_rv(C_SignInit(h, &param, priv), CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv(C_SignInit(h, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_SignInit(h, &m, data), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(C_SignInit(h, &m, 9999), CKR_KEY_HANDLE_INVALID);
    CK_RSA_PKCS_PSS_PARAMS wrong_hash = {CKM_SHA_1, CKG_MGF1_SHA256, 20};
    CK_RSA_PKCS_PSS_PARAMS big_salt = {CKM_SHA256, CKG_MGF1_SHA256, 100};
    CK_MECHANISM p1 = {CKM_SHA256_RSA_PKCS_PSS, &wrong_hash, sizeof(wrong_hash)};
    CK_MECHANISM p2 = {CKM_SHA256_RSA_PKCS_PSS, &big_salt, sizeof(big_salt)};
    CK_MECHANISM p3 = {CKM_SHA256_RSA_PKCS_PSS, NULL, 0};
    ck_assert_rv(C_SignInit(h, &p1, priv), CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv(C_SignInit(h, &p2, priv), CKR_MECHANISM_PARAM_INVALID);
    ck_assert_rv(C_SignInit(h, &p3, priv), CKR_MECHANISM_PARAM_INVALID);
    /* length query and a short buffer leave the operation active */
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OPERATION_ACTIVE);
    sl = 0;
    ck_assert_rv(C_Sign(h, MSG, NULL, &sl), CKR_OK);
    ck_assert_uint_eq(sl, 128);
    sl = 10;
    ck_assert_rv(C_Sign(h, MSG, sig, &sl), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(sl, 128);
    sl = sizeof(sig);
    ck_assert_rv(C_Sign(h, MSG, sig, &sl), CKR_OK);
    ck_assert(ossl_verify(EVP_sha256(), RSA_PKCS1_PADDING, 0, sig, sl));
    /* multi-part gives the same (deterministic) signature */
    CK_BYTE sig2[256];
    CK_ULONG sl2 = sizeof(sig2);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)msg, 10), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)msg + 10, sizeof(msg) - 11), CKR_OK);
    ck_assert_rv(C_Sign(h, MSG, sig2, &sl2), CKR_OPERATION_ACTIVE); /* ends it */
    ck_assert_rv(C_SignFinal(h, sig2, &sl2), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)msg, 10), CKR_OK);
    ck_assert_rv(C_SignUpdate(h, (CK_BYTE_PTR)msg + 10, sizeof(msg) - 11), CKR_OK);
    sl2 = 1;
    ck_assert_rv(C_SignFinal(h, sig2, &sl2), CKR_BUFFER_TOO_SMALL);
    sl2 = sizeof(sig2);
    ck_assert_rv(C_SignFinal(h, sig2, &sl2), CKR_OK);
    ck_assert_uint_eq(sl2, sl);
    ck_assert_mem_eq(sig, sig2, sl);
    /* raw PKCS#1 input too long: the error ends the operation */
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    CK_BYTE big[120] = {0};
    ck_assert_rv(C_SignInit(h, &raw, priv), CKR_OK);
    sl = sizeof(sig);
    ck_assert_rv(C_Sign(h, big, sizeof(big), sig, &sl), CKR_DATA_LEN_RANGE);
    ck_assert_rv(C_Sign(h, big, 10, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
    /* verify: wrong length, tampered */
    ck_assert_rv(C_VerifyInit(h, &m, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, MSG, sig, 127), CKR_SIGNATURE_LEN_RANGE);
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    sig[5] ^= 1;
    ck_assert_rv(C_Verify(h, MSG, sig, 128), CKR_SIGNATURE_INVALID);
    sig[5] ^= 1;
    ck_assert_rv(C_VerifyInit(h, &m, pub), CKR_OK);
    ck_assert_rv(C_VerifyUpdate(h, (CK_BYTE_PTR)msg, 3), CKR_OK);
    ck_assert_rv(C_VerifyUpdate(h, (CK_BYTE_PTR)msg + 3, sizeof(msg) - 4), CKR_OK);
    ck_assert_rv(C_VerifyFinal(h, sig, 128), CKR_OK);
    ck_assert_rv(C_VerifyFinal(h, sig, 128), CKR_OPERATION_NOT_INITIALIZED);
    fx_fini();
}
END_TEST

START_TEST(private_key_ops_need_login)
{
    fx_init();
    mock_card_add_keypair(fx_card, mock_key(0), "\x01", "k", false, true, true);
    CK_SESSION_HANDLE h = fx_open(false);
    fx_login(h);
    CK_OBJECT_HANDLE priv = fx_find_one(h, CKO_PRIVATE_KEY, NULL);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    ck_assert_rv(C_Logout(h), CKR_OK);
    CK_BYTE sig[128];
    CK_ULONG sl = sizeof(sig);
    /* the key's handle died with the login */
    ck_assert_rv(C_Sign(h, MSG, sig, &sl), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_USER_NOT_LOGGED_IN);
    fx_login(h);
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_KEY_HANDLE_INVALID);
    fx_fini();
}
END_TEST

static CK_ULONG encrypt(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE pub, CK_MECHANISM *m,
                        const char *text, CK_BYTE *out)
{
    CK_ULONG ol = 0;
    ck_assert_rv(C_EncryptInit(h, m, pub), CKR_OK);
    ck_assert_rv(C_Encrypt(h, (CK_BYTE_PTR)text, strlen(text), NULL, &ol), CKR_OK);
    ck_assert_uint_eq(ol, 128);
    ck_assert_rv(C_Encrypt(h, (CK_BYTE_PTR)text, strlen(text), out, &ol), CKR_OK);
    return ol;
}

static void decrypt_expect(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE priv, CK_MECHANISM *m,
                           const CK_BYTE *ct, CK_ULONG cl, const char *want)
{
    CK_BYTE pt[128];
    CK_ULONG pl = 0;
    ck_assert_rv(C_DecryptInit(h, m, priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, (CK_BYTE_PTR)ct, cl, NULL, &pl), CKR_OK);
    ck_assert_uint_eq(pl, 128); /* the bound, before the card is asked */
    pl = 2;
    ck_assert_rv(C_Decrypt(h, (CK_BYTE_PTR)ct, cl, pt, &pl), CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(pl, strlen(want)); /* now exact */
    ck_assert_rv(C_Decrypt(h, (CK_BYTE_PTR)ct, cl, pt, &pl), CKR_OK);
    ck_assert_uint_eq(pl, strlen(want));
    ck_assert_mem_eq(pt, want, pl);
}

static void crypt_roundtrips(unsigned caps)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE priv, pub;
    CK_BYTE ct[128];
    keys_with_caps(caps, &h, &priv, &pub);
    CK_MECHANISM p15 = {CKM_RSA_PKCS, NULL, 0};
    CK_ULONG cl = encrypt(h, pub, &p15, "session key", ct);
    decrypt_expect(h, priv, &p15, ct, cl, "session key");
    if (caps & P11_CAP_RSA_RAW) {
        CK_RSA_PKCS_OAEP_PARAMS op1 = {CKM_SHA_1, CKG_MGF1_SHA1, 0, NULL, 0};
        CK_RSA_PKCS_OAEP_PARAMS op2 = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "lbl", 3};
        CK_MECHANISM o1 = {CKM_RSA_PKCS_OAEP, &op1, sizeof(op1)};
        CK_MECHANISM o2 = {CKM_RSA_PKCS_OAEP, &op2, sizeof(op2)};
        cl = encrypt(h, pub, &o1, "oaep one", ct);
        decrypt_expect(h, priv, &o1, ct, cl, "oaep one");
        cl = encrypt(h, pub, &o2, "oaep two", ct);
        decrypt_expect(h, priv, &o2, ct, cl, "oaep two");
        /* the wrong label does not decode */
        CK_RSA_PKCS_OAEP_PARAMS op3 = op2;
        op3.pSourceData = "LBL";
        CK_MECHANISM o3 = {CKM_RSA_PKCS_OAEP, &op3, sizeof(op3)};
        CK_BYTE pt[128];
        CK_ULONG pl = sizeof(pt);
        ck_assert_rv(C_DecryptInit(h, &o3, priv), CKR_OK);
        ck_assert_rv(C_Decrypt(h, ct, cl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
        /* OpenSSL's OAEP-SHA256 ciphertext decrypts through the module */
        size_t ol = sizeof(ct);
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(mock_key(0), NULL);
        EVP_PKEY_encrypt_init(pc);
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
        EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256());
        EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256());
        EVP_PKEY_CTX_set0_rsa_oaep_label(pc, OPENSSL_memdup("lbl", 3), 3);
        ck_assert(EVP_PKEY_encrypt(pc, ct, &ol, (const unsigned char *)"from openssl", 12) == 1);
        EVP_PKEY_CTX_free(pc);
        decrypt_expect(h, priv, &o2, ct, (CK_ULONG)ol, "from openssl");
    }
    /* errors */
    CK_BYTE pt[128];
    CK_ULONG pl = sizeof(pt);
    ck_assert_rv(C_DecryptInit(h, &p15, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_EncryptInit(h, &p15, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    ck_assert_rv(C_DecryptInit(h, &p15, priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, ct, 100, pt, &pl), CKR_ENCRYPTED_DATA_LEN_RANGE);
    ck_assert_rv(C_Decrypt(h, ct, 128, pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
    CK_BYTE junk[128];
    memset(junk, 0x11, sizeof(junk));
    ck_assert_rv(C_DecryptInit(h, &p15, priv), CKR_OK);
    ck_assert_rv(C_Decrypt(h, junk, 128, pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
    ck_assert_rv(C_EncryptInit(h, &p15, pub), CKR_OK);
    CK_BYTE big[120] = {0};
    pl = sizeof(pt);
    ck_assert_rv(C_Encrypt(h, big, sizeof(big), pt, &pl), CKR_DATA_LEN_RANGE);
    fx_fini();
}

START_TEST(encrypt_decrypt_token_padding)
{
    crypt_roundtrips(P11_CAP_RSA_PKCS1);
}
END_TEST

START_TEST(encrypt_decrypt_module_padding)
{
    crypt_roundtrips(P11_CAP_RSA_RAW);
}
END_TEST

START_TEST(digests_and_saved_state)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(false), h2 = fx_open(false); /* no login needed */
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *md;
    } d[] = {{CKM_SHA_1, "SHA1"},
             {CKM_SHA224, "SHA224"},
             {CKM_SHA256, "SHA256"},
             {CKM_SHA384, "SHA384"},
             {CKM_SHA512, "SHA512"}};
    for (size_t i = 0; i < 5; i++) {
        CK_MECHANISM m = {d[i].m, NULL, 0};
        CK_BYTE want[64], got[64], state[512];
        unsigned int wl;
        EVP_Digest(msg, sizeof(msg) - 1, want, &wl, EVP_get_digestbyname(d[i].md), NULL);
        CK_ULONG gl = 0;
        ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
        ck_assert_rv(C_Digest(h, MSG, NULL, &gl), CKR_OK);
        ck_assert_uint_eq(gl, wl);
        gl = 4;
        ck_assert_rv(C_Digest(h, MSG, got, &gl), CKR_BUFFER_TOO_SMALL);
        gl = sizeof(got);
        ck_assert_rv(C_Digest(h, MSG, got, &gl), CKR_OK);
        ck_assert_mem_eq(got, want, wl);
        /* multi-part, duplicated into another session half-way (OpenSSL's dup) */
        ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
        ck_assert_rv(C_DigestUpdate(h, (CK_BYTE_PTR)msg, 7), CKR_OK);
        CK_ULONG sl = 0;
        ck_assert_rv(C_GetOperationState(h, NULL, &sl), CKR_OK);
        ck_assert_uint_le(sl, sizeof(state));
        ck_assert_rv(C_GetOperationState(h, state, &sl), CKR_OK);
        ck_assert_rv(C_SetOperationState(h2, state, sl, 0, 0), CKR_OK);
        ck_assert_rv(C_DigestUpdate(h2, (CK_BYTE_PTR)msg + 7, sizeof(msg) - 8), CKR_OK);
        ck_assert_rv(C_DigestUpdate(h, (CK_BYTE_PTR)msg + 7, sizeof(msg) - 8), CKR_OK);
        gl = sizeof(got);
        ck_assert_rv(C_DigestFinal(h2, got, &gl), CKR_OK);
        ck_assert_mem_eq(got, want, wl);
        gl = sizeof(got);
        ck_assert_rv(C_DigestFinal(h, got, &gl), CKR_OK);
        ck_assert_mem_eq(got, want, wl);
        /* a forged state is refused */
        state[10] ^= 0x40;
        ck_assert_rv(C_SetOperationState(h2, state, sl, 0, 0), CKR_SAVED_STATE_INVALID);
        ck_assert_rv(C_SetOperationState(h2, state, 3, 0, 0), CKR_SAVED_STATE_INVALID);
    }
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_ULONG sl = 0;
    ck_assert_rv(C_GetOperationState(h, NULL, &sl), CKR_OPERATION_NOT_INITIALIZED);
    ck_assert_rv(C_DigestInit(h, &m), CKR_OK);
    ck_assert_rv(C_DigestInit(h, &m), CKR_OPERATION_ACTIVE);
    CK_BYTE st[512];
    ck_assert_rv(C_GetOperationState(h, NULL, &sl), CKR_OK);
    ck_assert_rv(C_GetOperationState(h, st, &sl), CKR_OK);
    ck_assert_rv(C_SetOperationState(h2, st, sl, 5, 0), CKR_KEY_NOT_NEEDED);
    sl = 3;
    ck_assert_rv(C_GetOperationState(h, st, &sl), CKR_BUFFER_TOO_SMALL);
    ck_assert_rv(C_DigestFinal(h, NULL, &sl), CKR_OK);
    ck_assert_rv(C_DigestKey(h, 1234), CKR_KEY_HANDLE_INVALID);
    ck_assert_rv(C_DigestUpdate(h, NULL, 5), CKR_OPERATION_NOT_INITIALIZED);
    CK_MECHANISM bad = {CKM_MD5, NULL, 0};
    ck_assert_rv(C_DigestInit(h, &bad), CKR_MECHANISM_INVALID);
    fx_fini();
}
END_TEST

START_TEST(sign_state_is_not_saveable)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE priv, pub;
    keys_with_caps(P11_CAP_RSA_RAW, &h, &priv, &pub);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    ck_assert_rv(C_SignInit(h, &m, priv), CKR_OK);
    CK_ULONG sl = 0;
    ck_assert_rv(C_GetOperationState(h, NULL, &sl), CKR_STATE_UNSAVEABLE);
    ck_assert_rv(C_DigestKey(h, priv), CKR_OPERATION_NOT_INITIALIZED);
    CK_MECHANISM d = {CKM_SHA_1, NULL, 0};
    ck_assert_rv(C_DigestInit(h, &d), CKR_OK);
    ck_assert_rv(C_DigestKey(h, priv), CKR_KEY_INDIGESTIBLE);
    fx_fini();
}
END_TEST

START_TEST(random_from_the_token)
{
    fx_init();
    CK_SESSION_HANDLE h = fx_open(false);
    CK_BYTE a[64] = {0}, b[64] = {0};
    ck_assert_rv(C_GenerateRandom(h, a, sizeof(a)), CKR_OK);
    ck_assert_rv(C_GenerateRandom(h, b, sizeof(b)), CKR_OK);
    ck_assert_mem_ne(a, b, sizeof(a));
    ck_assert_rv(C_GenerateRandom(h, NULL, 4), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GenerateRandom(h, a, 0), CKR_OK);
    ck_assert_rv(C_SeedRandom(h, a, 4), CKR_RANDOM_SEED_NOT_SUPPORTED);
    fx_fini();
}
END_TEST

START_TEST(generate_key_pair)
{
    fx_init();
    CK_SESSION_HANDLE ro = fx_open(false), h = fx_open(true);
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048, small = 512;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS wrong = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_TOKEN, &yes, 1},
                           {CKA_ID, "\x33", 1},
                           {CKA_LABEL, "gen", 3}};
    CK_ATTRIBUTE privt[] = {
        {CKA_TOKEN, &yes, 1}, {CKA_ID, "\x33", 1}, {CKA_LABEL, "gen", 3}, {CKA_SIGN, &yes, 1}};
    CK_OBJECT_HANDLE pub, priv;
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubt, 4, privt, 4, &pub, &priv), CKR_USER_NOT_LOGGED_IN);
    fx_login(h);
    ck_assert_rv(C_GenerateKeyPair(ro, &m, pubt, 4, privt, 4, &pub, &priv), CKR_SESSION_READ_ONLY);
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubt + 1, 3, privt, 4, &pub, &priv),
                 CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE smallt[] = {{CKA_MODULUS_BITS, &small, sizeof(small)}};
    ck_assert_rv(C_GenerateKeyPair(h, &m, smallt, 1, privt, 4, &pub, &priv), CKR_KEY_SIZE_RANGE);
    CK_ATTRIBUTE sess[] = {{CKA_TOKEN, &no, 1}};
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubt, 4, sess, 1, &pub, &priv),
                 CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE cls[] = {{CKA_CLASS, &wrong, sizeof(wrong)}, {CKA_MODULUS_BITS, &bits, 8}};
    ck_assert_rv(C_GenerateKeyPair(h, &m, cls, 2, privt, 4, &pub, &priv),
                 CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE mod[] = {{CKA_MODULUS_BITS, &bits, 8}, {CKA_MODULUS, "x", 1}};
    ck_assert_rv(C_GenerateKeyPair(h, &m, mod, 2, privt, 4, &pub, &priv), CKR_ATTRIBUTE_READ_ONLY);
    CK_MECHANISM bad = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    ck_assert_rv(C_GenerateKeyPair(h, &bad, pubt, 4, privt, 4, &pub, &priv), CKR_MECHANISM_INVALID);
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubt, 4, privt, 4, NULL, &priv), CKR_ARGUMENTS_BAD);
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubt, 4, privt, 4, &pub, &priv), CKR_OK);
    ck_assert(fx_get_bool(h, priv, CKA_LOCAL));
    ck_assert(fx_get_bool(h, priv, CKA_ALWAYS_SENSITIVE));
    ck_assert(fx_get_bool(h, priv, CKA_NEVER_EXTRACTABLE));
    ck_assert(fx_get_bool(h, priv, CKA_TOKEN));
    ck_assert(fx_get_bool(h, pub, CKA_LOCAL));
    ck_assert_uint_eq(fx_get_ulong(h, priv, CKA_KEY_GEN_MECHANISM), CKM_RSA_PKCS_KEY_PAIR_GEN);
    ck_assert_uint_eq(fx_get_ulong(h, pub, CKA_MODULUS_BITS), 2048);
    CK_BYTE n[256];
    ck_assert_uint_eq(fx_get_bytes(h, priv, CKA_MODULUS, n, sizeof(n)), 256);
    /* the pair works: sign on the card, verify in software */
    CK_MECHANISM sm = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE sig[256];
    CK_ULONG sl = sizeof(sig);
    ck_assert_rv(C_SignInit(h, &sm, priv), CKR_OK);
    ck_assert_rv(C_Sign(h, MSG, sig, &sl), CKR_OK);
    ck_assert_rv(C_VerifyInit(h, &sm, pub), CKR_OK);
    ck_assert_rv(C_Verify(h, MSG, sig, sl), CKR_OK);
    /* a session public key beside a token private key */
    CK_ULONG b1024 = 1024;
    CK_ATTRIBUTE pubs[] = {{CKA_MODULUS_BITS, &b1024, sizeof(b1024)}, {CKA_TOKEN, &no, 1}};
    ck_assert_rv(C_GenerateKeyPair(h, &m, pubs, 2, privt, 4, &pub, &priv), CKR_OK);
    ck_assert(!fx_get_bool(h, pub, CKA_TOKEN));
    ck_assert_uint_eq(fx_get_ulong(h, pub, CKA_MODULUS_BITS), 1024);
    fx_fini();
}
END_TEST

Suite *crypto_suite(void)
{
    Suite *s = suite_create("p11_crypto");
    TCase *tc = tcase_create("crypto");
    tcase_add_test(tc, sign_every_mechanism_token_padding);
    tcase_add_test(tc, sign_every_mechanism_module_padding);
    tcase_add_test(tc, mechanisms_follow_capabilities);
    tcase_add_test(tc, sign_errors_and_buffers);
    tcase_add_test(tc, private_key_ops_need_login);
    tcase_add_test(tc, encrypt_decrypt_token_padding);
    tcase_add_test(tc, encrypt_decrypt_module_padding);
    tcase_add_test(tc, digests_and_saved_state);
    tcase_add_test(tc, sign_state_is_not_saveable);
    tcase_add_test(tc, random_from_the_token);
    tcase_add_test(tc, generate_key_pair);
    suite_add_tcase(s, tc);
    return s;
}
