/* The eToken driver against the in-process card: a factory-fresh token, PINs and their
 * 15-try counters, keys generated and imported and checked with OpenSSL, certificates
 * and data objects through PKCS#15, a second connection, filling the token to capacity
 * (CKR_DEVICE_MEMORY, nothing lost), and C_InitToken. */
#define _POSIX_C_SOURCE             200809L /* mkdtemp */
#define OPENSSL_SUPPRESS_DEPRECATED         /* raw RSA for the checks */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "drv_etoken.h"
#include "sim.h"
#include "test_drv_etoken.h"

#define USER_PIN "1234567890"
#define SO_PIN   "0987654321"

static char dir[64], img[128];
static sim_card *card;
static p11_token *tok;

static p11_token *open_token(void)
{
    sim_conn *conn = NULL;
    apdu_transport *tr = NULL;
    uint8_t atr[33];
    size_t atr_len = sizeof(atr);
    p11_token *t = NULL;

    ck_assert_int_eq(sim_conn_open(card, &conn), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(conn, atr, &atr_len), SIM_OK);
    ck_assert(p11_drv_etoken.match(atr, atr_len));
    ck_assert_int_eq(sim_transport_new(conn, &tr), SIM_OK);
    ck_assert_int_eq(p11_drv_etoken.open(tr, &t), CKR_OK);
    return t;
}

static void setup(void)
{
    strcpy(dir, "/tmp/vt-et-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/etoken.img", dir);
    ck_assert_int_eq(sim_card_create(img, "etoken", false), SIM_OK);
    ck_assert_int_eq(sim_card_open(img, &card, NULL), SIM_OK);
    tok = open_token();
}

static void teardown(void)
{
    char lock[160];
    tok->ops->close(tok);
    sim_card_close(card);
    snprintf(lock, sizeof(lock), "%s.lock", img);
    unlink(img);
    unlink(lock);
    rmdir(dir);
}

static CK_RV login(p11_token *t, CK_USER_TYPE who, const char *pin)
{
    return t->ops->login(t, who, (const uint8_t *)pin, strlen(pin));
}

static const p11_attr *attr(const p11_tobj *o, CK_ATTRIBUTE_TYPE type)
{
    const p11_attr *a = p11_attrs_get(&o->attrs, type);
    ck_assert_msg(a != NULL, "attribute 0x%lx missing", (unsigned long)type);
    return a;
}

static bool battr(const p11_tobj *o, CK_ATTRIBUTE_TYPE type)
{
    bool v = false;
    ck_assert_msg(p11_attrs_get_bool(&o->attrs, type, &v), "bool 0x%lx missing",
                  (unsigned long)type);
    return v;
}

static CK_OBJECT_CLASS cls(const p11_tobj *o)
{
    CK_ULONG c = ~0ul;
    ck_assert(p11_attrs_get_ulong(&o->attrs, CKA_CLASS, &c));
    return c;
}

static size_t count_objects(p11_token *t)
{
    p11_tobj *objs = NULL;
    size_t n = 0;
    ck_assert_int_eq(t->ops->list_objects(t, &objs, &n), CKR_OK);
    p11_tobjs_free(objs, n);
    return n;
}

START_TEST(matches_atrs)
{
    static const uint8_t et_b[] = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE,
                                   0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4};
    static const uint8_t et_a[] = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0x3A,
                                   0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0x30};
    static const uint8_t kaz[] = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A,
                                  0x54, 0x4F, 0x4B, 0x45, 0x4E, 0x82};
    static const uint8_t jacarta[] = {0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F,
                                      0xC3, 0x80, 0x73, 0xC8, 0x21, 0x13, 0x66, 0x01,
                                      0x06, 0x11, 0x59, 0x00, 0x01, 0x28};
    /* the old CardOS eToken PRO is not this card */
    static const uint8_t cardos[] = {0x3B, 0xE2, 0x00, 0xFF, 0xC1, 0x10,
                                     0x31, 0xFE, 0x55, 0xC8, 0x02, 0x9C};

    ck_assert(p11_drv_etoken.match(et_b, sizeof(et_b)));
    ck_assert(p11_drv_etoken.match(et_a, sizeof(et_a)));
    ck_assert(!p11_drv_etoken.match(et_b, sizeof(et_b) - 1));
    ck_assert(!p11_drv_etoken.match(kaz, sizeof(kaz)));
    ck_assert(!p11_drv_etoken.match(jacarta, sizeof(jacarta)));
    ck_assert(!p11_drv_etoken.match(cardos, sizeof(cardos)));
    ck_assert_str_eq(p11_drv_etoken.vendor, "etoken");
    ck_assert_str_eq(p11_drv_etoken.name, "etoken");
}
END_TEST

START_TEST(factory_token)
{
    p11_token_info info;
    sim_card_info ci;

    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "eToken");
    ck_assert_str_eq(info.manufacturer, "SafeNet, Inc.");
    ck_assert_str_eq(info.model, "eToken PRO 72K");
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    for (char *c = ci.serial_hex; *c; c++)
        *c = (char)(*c >= 'a' ? *c - 32 : *c);
    ck_assert_str_eq(info.serial, ci.serial_hex);
    ck_assert_uint_eq(
        info.flags &
            (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG),
        CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG);
    ck_assert_uint_eq(info.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED |
                                    CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_LOCKED),
                      0);
    ck_assert_int_eq(info.user_tries_left, 15);
    ck_assert_int_eq(info.user_tries_max, 15);
    ck_assert_int_eq(info.so_tries_left, 15);
    ck_assert_uint_eq(info.min_pin, 6);
    ck_assert_uint_eq(info.max_pin, 16);
    ck_assert_uint_eq(info.total_mem, 73728);
    ck_assert_uint_eq(info.free_mem, (size_t)47 * 1024);
    ck_assert_uint_eq(count_objects(tok), 0);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
}
END_TEST

START_TEST(pin_counters_lock_and_unblock)
{
    p11_token_info info;
    int i;

    ck_assert_int_eq(login(tok, CKU_USER, "12345"), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678901234567"), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, "0000000000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_int_eq(info.user_tries_left, 14);
    ck_assert(info.flags & CKF_USER_PIN_COUNT_LOW);
    for (i = 0; i < 13; i++)
        ck_assert_int_eq(login(tok, CKU_USER, "0000000000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_FINAL_TRY);
    /* the 15th wrong try locks it */
    ck_assert_int_eq(login(tok, CKU_USER, "0000000000"), CKR_PIN_LOCKED);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_PIN_LOCKED);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_LOCKED);
    ck_assert_int_eq(info.user_tries_left, 0);
    /* the SO unblocks with a new user PIN */
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"123", 3), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_uint_eq(info.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW), 0);
    /* the user changes it */
    ck_assert_int_eq(tok->ops->set_pin(tok, CKU_USER, (const uint8_t *)"11223344", 8,
                                       (const uint8_t *)"87878787", 8),
                     CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(login(tok, CKU_USER, "87878787"), CKR_OK);
    /* C_SetPIN from a session not logged in leaves the card unverified */
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->set_pin(tok, CKU_SO, (const uint8_t *)SO_PIN, 10,
                                       (const uint8_t *)"5566778899", 10),
                     CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_SO, "5566778899"), CKR_OK);
}
END_TEST

/* PKCS#1 v1.5 block of a SHA-256 DigestInfo, signed raw on the card, verified here. */
static void sign_and_verify(p11_token *t, const p11_tobj *priv, const p11_attr *n,
                            const p11_attr *e)
{
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    uint8_t di[sizeof(prefix) + 32], block[256], sig[256], check[256];
    size_t len = n->len, sig_len = sizeof(sig);
    BIGNUM *bn = BN_bin2bn(n->value, (int)n->len, NULL),
           *be = BN_bin2bn(e->value, (int)e->len, NULL);
    RSA *rsa = RSA_new();

    memcpy(di, prefix, sizeof(prefix));
    ck_assert_int_eq(RAND_bytes(di + sizeof(prefix), 32), 1);
    ck_assert_int_eq(RSA_padding_add_PKCS1_type_1(block, (int)len, di, sizeof(di)), 1);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, len, sig, &sig_len), CKR_OK);
    ck_assert_uint_eq(sig_len, len);
    ck_assert_int_eq(RSA_set0_key(rsa, bn, be, NULL), 1);
    ck_assert_int_eq(RSA_public_decrypt((int)len, sig, check, rsa, RSA_NO_PADDING), (int)len);
    ck_assert_mem_eq(check, block, len);
    /* and deciphers what OpenSSL encrypted with the public key */
    uint8_t msg[16], ct[256], pt[256];
    size_t pt_len = sizeof(pt);
    ck_assert_int_eq(RAND_bytes(msg, sizeof(msg)), 1);
    ck_assert_int_eq(RSA_public_encrypt(sizeof(msg), msg, ct, rsa, RSA_PKCS1_PADDING), (int)len);
    ck_assert_int_eq(t->ops->rsa_decrypt(t, priv, P11_RSA_RAW, ct, len, pt, &pt_len), CKR_OK);
    ck_assert_uint_eq(pt_len, len);
    ck_assert_mem_eq(pt + len - sizeof(msg), msg, sizeof(msg));
    ck_assert_uint_eq(pt[0], 0x00);
    ck_assert_uint_eq(pt[1], 0x02);
    RSA_free(rsa);
    /* wrong length and PKCS#1 mode are refused */
    sig_len = sizeof(sig);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, len - 1, sig, &sig_len),
                     CKR_DATA_LEN_RANGE);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
                     CKR_MECHANISM_INVALID);
    sig_len = len - 1;
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, len, sig, &sig_len),
                     CKR_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(sig_len, len);
}

static void generate(p11_token *t, CK_ULONG bits, p11_tobj *pub, p11_tobj *priv)
{
    p11_attrs pt = {0}, vt = {0};

    ck_assert_int_eq(p11_attrs_set(&vt, CKA_LABEL, "signing key", 11), CKR_OK);
    ck_assert_int_eq(p11_attrs_set_bool(&vt, CKA_SIGN, true), CKR_OK);
    ck_assert_int_eq(p11_attrs_set_bool(&vt, CKA_DECRYPT, true), CKR_OK);
    ck_assert_int_eq(p11_attrs_set_bool(&pt, CKA_VERIFY, true), CKR_OK);
    ck_assert_int_eq(
        t->ops->generate_rsa(t, bits, (const uint8_t *)"\x01\x00\x01", 3, &pt, &vt, pub, priv),
        CKR_OK);
    p11_attrs_free(&pt);
    p11_attrs_free(&vt);
}

START_TEST(keygen_sign_and_list)
{
    p11_tobj pub, priv, *objs = NULL;
    size_t n = 0, i;
    p11_token *other;

    ck_assert_int_eq(tok->ops->generate_rsa(tok, 2048, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 1536, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_KEY_SIZE_RANGE);
    ck_assert_int_eq(
        tok->ops->generate_rsa(tok, 2048, (const uint8_t *)"\x03", 1, NULL, NULL, &pub, &priv),
        CKR_TEMPLATE_INCONSISTENT);
    for (CK_ULONG bits = 1024; bits <= 2048; bits += 1024) {
        generate(tok, bits, &pub, &priv);
        ck_assert_int_eq(cls(&priv), CKO_PRIVATE_KEY);
        ck_assert_int_eq(cls(&pub), CKO_PUBLIC_KEY);
        ck_assert_uint_eq(attr(&pub, CKA_MODULUS)->len, bits / 8);
        ck_assert_mem_eq(attr(&priv, CKA_MODULUS)->value, attr(&pub, CKA_MODULUS)->value, bits / 8);
        ck_assert_mem_eq(attr(&priv, CKA_ID)->value, attr(&pub, CKA_ID)->value,
                         attr(&pub, CKA_ID)->len);
        ck_assert(battr(&priv, CKA_SENSITIVE));
        ck_assert(battr(&priv, CKA_NEVER_EXTRACTABLE));
        ck_assert(!battr(&priv, CKA_EXTRACTABLE));
        ck_assert(battr(&priv, CKA_LOCAL));
        ck_assert(battr(&priv, CKA_PRIVATE));
        ck_assert(!battr(&pub, CKA_PRIVATE));
        sign_and_verify(tok, &priv, attr(&pub, CKA_MODULUS), attr(&pub, CKA_PUBLIC_EXPONENT));
        if (bits == 1024) {
            p11_tobj_free(&pub);
            p11_tobj_free(&priv);
        }
    }
    ck_assert_uint_eq(count_objects(tok), 4);

    /* another connection to the same card sees the same application */
    other = open_token();
    ck_assert_uint_eq(count_objects(other), 2); /* not logged in there: only public keys */
    ck_assert_int_eq(login(other, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 4);
    for (i = 0; i < n; i++)
        if (cls(&objs[i]) == CKO_PRIVATE_KEY && attr(&objs[i], CKA_MODULUS)->len == 256)
            sign_and_verify(other, &objs[i], attr(&pub, CKA_MODULUS),
                            attr(&pub, CKA_PUBLIC_EXPONENT));
    p11_tobjs_free(objs, n);
    other->ops->close(other);

    /* the key does not sign once the user logged out */
    uint8_t block[256] = {0}, sig[256];
    size_t sig_len = sizeof(sig);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->rsa_sign(tok, &priv, P11_RSA_RAW, block, 256, sig, &sig_len),
                     CKR_USER_NOT_LOGGED_IN); /* the card's 69 82 */
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);

    /* destroy: gone from the list and from the card, its key reference free again */
    ck_assert_int_eq(tok->ops->destroy_object(tok, &priv), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &pub), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 2);
    ck_assert_int_eq(tok->ops->rsa_sign(tok, &priv, P11_RSA_RAW, block, 256, sig, &sig_len),
                     CKR_KEY_HANDLE_INVALID);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    generate(tok, 2048, &pub, &priv);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
}
END_TEST

/* A private key from the host (C_CreateObject) signs and deciphers like OpenSSL's. */
START_TEST(imported_key)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *name;
    } parts[] = {{CKA_MODULUS, "n"},
                 {CKA_PUBLIC_EXPONENT, "e"},
                 {CKA_PRIVATE_EXPONENT, "d"},
                 {CKA_PRIME_1, "rsa-factor1"},
                 {CKA_PRIME_2, "rsa-factor2"},
                 {CKA_EXPONENT_1, "rsa-exponent1"},
                 {CKA_EXPONENT_2, "rsa-exponent2"},
                 {CKA_COEFFICIENT, "rsa-coefficient1"}};
    p11_attrs tmpl = {0};
    p11_tobj priv, *objs = NULL;
    size_t n = 0;
    uint8_t v[256];
    sim_card_info ci;

    ck_assert_ptr_nonnull(pk);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_PRIVATE_KEY);
    p11_attrs_set_ulong(&tmpl, CKA_KEY_TYPE, CKK_RSA);
    p11_attrs_set(&tmpl, CKA_ID, "\x42", 1);
    p11_attrs_set(&tmpl, CKA_LABEL, "imported", 8);
    p11_attrs_set_bool(&tmpl, CKA_SIGN, true);
    p11_attrs_set_bool(&tmpl, CKA_DECRYPT, true);
    for (size_t i = 0; i < VT_ARRAY_LEN(parts); i++) {
        BIGNUM *bn = NULL;
        ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, parts[i].name, &bn), 1);
        int len = BN_bn2bin(bn, v);
        ck_assert_int_eq(p11_attrs_set(&tmpl, parts[i].type, v, (CK_ULONG)len), CKR_OK);
        BN_clear_free(bn);
    }
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &priv), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &priv), CKR_OK);
    ck_assert_int_eq(cls(&priv), CKO_PRIVATE_KEY);
    ck_assert(!battr(&priv, CKA_LOCAL));
    ck_assert(!battr(&priv, CKA_EXTRACTABLE));
    ck_assert_mem_eq(attr(&priv, CKA_ID)->value, "\x42", 1);
    /* the modulus comes from the card (GENERATE P1 81), not from the template */
    ck_assert_uint_eq(attr(&priv, CKA_MODULUS)->len, 256);
    sign_and_verify(tok, &priv, attr(&priv, CKA_MODULUS), attr(&priv, CKA_PUBLIC_EXPONENT));
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    ck_assert_uint_eq(ci.nkeys, 1);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_ge(n, 1);
    p11_tobjs_free(objs, n);

    /* parts that make no key are refused and leave nothing behind */
    p11_tobj bad;
    v[0] = 0xC3;
    p11_attrs_set(&tmpl, CKA_ID, "\x43", 1);
    ck_assert_int_eq(p11_attrs_set(&tmpl, CKA_PRIME_1, v, 128), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    ck_assert_uint_eq(ci.nkeys, 1);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &priv), CKR_OK);
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    ck_assert_uint_eq(ci.nkeys, 0);
    p11_tobj_free(&priv);
    p11_attrs_free(&tmpl);
    EVP_PKEY_free(pk);
}
END_TEST

static void make_cert(uint8_t **der, int *len)
{
    EVP_PKEY *pk = EVP_RSA_gen(1024);
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    unsigned char *buf = NULL;

    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"eToken test", -1, -1,
                               0);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
    *len = i2d_X509(x, &buf);
    *der = buf;
    X509_NAME_free(nm);
    X509_free(x);
    EVP_PKEY_free(pk);
}

START_TEST(certificate_and_data_objects)
{
    uint8_t *cert = NULL;
    int cert_len = 0;
    p11_attrs tmpl = {0}, ch = {0};
    p11_tobj c, d, upd;
    static const uint8_t oid_der[] = {0x06, 0x03, 0x2A, 0x03, 0x04};

    make_cert(&cert, &cert_len);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_CERTIFICATE);
    p11_attrs_set(&tmpl, CKA_VALUE, cert, (CK_ULONG)cert_len);
    p11_attrs_set(&tmpl, CKA_ID, "\x45", 1);
    p11_attrs_set(&tmpl, CKA_LABEL, "my cert", 7);
    /* writing needs the user */
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &c), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &c), CKR_OK);
    ck_assert_int_eq(cls(&c), CKO_CERTIFICATE);
    ck_assert_uint_eq(attr(&c, CKA_VALUE)->len, (size_t)cert_len);
    ck_assert_mem_eq(attr(&c, CKA_VALUE)->value, cert, (size_t)cert_len);
    ck_assert_uint_eq(attr(&c, CKA_SERIAL_NUMBER)->len, 4); /* 02 02 10 92 */
    ck_assert_mem_eq(attr(&c, CKA_SERIAL_NUMBER)->value, "\x02\x02\x10\x92", 4);
    ck_assert_uint_gt(attr(&c, CKA_SUBJECT)->len, 0);
    ck_assert_uint_eq(attr(&c, CKA_ISSUER)->len, attr(&c, CKA_SUBJECT)->len);
    p11_attrs_free(&tmpl);

    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
    p11_attrs_set(&tmpl, CKA_VALUE, "secret stuff", 12);
    p11_attrs_set(&tmpl, CKA_APPLICATION, "myapp", 5);
    p11_attrs_set(&tmpl, CKA_OBJECT_ID, oid_der, sizeof(oid_der));
    p11_attrs_set(&tmpl, CKA_LABEL, "mydata", 6);
    p11_attrs_set_bool(&tmpl, CKA_PRIVATE, true);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &d), CKR_OK);
    ck_assert(battr(&d, CKA_PRIVATE));
    ck_assert_mem_eq(attr(&d, CKA_VALUE)->value, "secret stuff", 12);
    ck_assert_mem_eq(attr(&d, CKA_OBJECT_ID)->value, oid_der, sizeof(oid_der));
    p11_attrs_free(&tmpl);

    p11_attrs_set(&ch, CKA_LABEL, "renamed", 7);
    ck_assert_int_eq(tok->ops->set_attributes(tok, &c, &ch, &upd), CKR_OK);
    ck_assert_mem_eq(attr(&upd, CKA_LABEL)->value, "renamed", 7);
    p11_attrs_free(&ch);

    ck_assert_uint_eq(count_objects(tok), 2);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 1); /* the private data object is hidden */
    {
        p11_token *other = open_token();
        ck_assert_uint_eq(count_objects(other), 1);
        other->ops->close(other);
    }
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &d), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 0);
    p11_tobj_free(&c);
    p11_tobj_free(&d);
    p11_tobj_free(&upd);
    OPENSSL_free(cert);
}
END_TEST

/* Data objects until the token is full: CKR_DEVICE_MEMORY, and everything written before
 * is still there, also for a token opened afresh. */
START_TEST(fill_to_capacity)
{
    enum { SIZE = 3000, MAX = 32 };
    static uint8_t vals[MAX][SIZE];
    p11_tobj o, *objs = NULL;
    p11_token_info info;
    size_t made = 0, n = 0, found = 0;
    CK_RV rv = CKR_OK;
    p11_token *again;

    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    for (made = 0; made < MAX; made++) {
        p11_attrs tmpl = {0};
        char label[16];
        snprintf(label, sizeof(label), "blob %zu", made);
        ck_assert_int_eq(RAND_bytes(vals[made], SIZE), 1);
        p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
        p11_attrs_set(&tmpl, CKA_VALUE, vals[made], SIZE);
        p11_attrs_set(&tmpl, CKA_LABEL, label, (CK_ULONG)strlen(label));
        rv = tok->ops->create_object(tok, &tmpl, &o);
        p11_attrs_free(&tmpl);
        if (rv != CKR_OK)
            break;
        p11_tobj_free(&o);
    }
    ck_assert_int_eq(rv, CKR_DEVICE_MEMORY);
    /* 47 KiB less the PKCS#15 files: about a dozen 3000-byte objects */
    ck_assert_uint_ge(made, 10);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_uint_lt(info.free_mem, SIZE + 64);
    /* a key pair does not fit either, and leaves nothing */
    p11_tobj pub, priv;
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 2048, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_DEVICE_MEMORY);

    for (int round = 0; round < 2; round++) {
        p11_token *t = tok;
        if (round == 1) {
            /* the card closed and opened again, as a new process would */
            tok->ops->close(tok);
            sim_card_close(card);
            ck_assert_int_eq(sim_card_open(img, &card, NULL), SIM_OK);
            again = open_token();
            tok = t = again;
            ck_assert_int_eq(login(t, CKU_USER, USER_PIN), CKR_OK);
        }
        ck_assert_int_eq(t->ops->list_objects(t, &objs, &n), CKR_OK);
        ck_assert_uint_eq(n, made);
        found = 0;
        for (size_t i = 0; i < n; i++) {
            const p11_attr *l = attr(&objs[i], CKA_LABEL), *v = attr(&objs[i], CKA_VALUE);
            size_t k;
            char lab[16];
            ck_assert_uint_lt(l->len, sizeof(lab));
            memcpy(lab, l->value, l->len);
            lab[l->len] = '\0';
            char *end = NULL;
            ck_assert_int_eq(strncmp(lab, "blob ", 5), 0);
            k = strtoul(lab + 5, &end, 10);
            ck_assert(end != lab + 5 && *end == '\0');
            ck_assert_uint_lt(k, made);
            ck_assert_uint_eq(v->len, SIZE);
            ck_assert_mem_eq(v->value, vals[k], SIZE);
            found++;
        }
        ck_assert_uint_eq(found, made);
        p11_tobjs_free(objs, n);
    }
    /* deleting one makes room for one */
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &objs[0]), CKR_OK);
    p11_tobjs_free(objs, n);
    {
        p11_attrs tmpl = {0};
        p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
        p11_attrs_set(&tmpl, CKA_VALUE, vals[0], SIZE);
        ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &o), CKR_OK);
        p11_tobj_free(&o);
        p11_attrs_free(&tmpl);
    }
}
END_TEST

START_TEST(init_token_wipes)
{
    p11_tobj pub, priv, o;
    p11_attrs tmpl = {0};
    p11_token_info info;
    sim_card_info ci;

    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    generate(tok, 1024, &pub, &priv);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
    p11_attrs_set(&tmpl, CKA_VALUE, "x", 1);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &o), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);

    ck_assert_int_eq(tok->ops->init_token(tok, (const uint8_t *)"0000000000", 10, "new label"),
                     CKR_PIN_INCORRECT);
    ck_assert_int_eq(
        tok->ops->init_token(tok, (const uint8_t *)SO_PIN, 10, "new label                       "),
        CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "new label");
    ck_assert_uint_eq(info.flags & CKF_USER_PIN_INITIALIZED, 0);
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    ck_assert_uint_eq(ci.nkeys, 0);
    /* until the SO sets a user PIN, the user cannot log in */
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"2222333344", 10), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_INITIALIZED);
    ck_assert_int_eq(login(tok, CKU_USER, "2222333344"), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 0);
    /* the whole 47 KiB but the new application's files is free again */
    ck_assert_uint_gt(info.free_mem, (size_t)40 * 1024);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    p11_tobj_free(&o);
    p11_attrs_free(&tmpl);
}
END_TEST

START_TEST(random_bytes)
{
    uint8_t a[300] = {0}, b[300] = {0};

    ck_assert_int_eq(tok->ops->random(tok, a, sizeof(a)), CKR_OK);
    ck_assert_int_eq(tok->ops->random(tok, b, sizeof(b)), CKR_OK);
    ck_assert_mem_ne(a, b, sizeof(a));
    ck_assert_int_eq(tok->ops->random(tok, a, 1), CKR_OK);
}
END_TEST

Suite *drv_etoken_suite(void)
{
    Suite *s = suite_create("drv_etoken");
    TCase *tc = tcase_create("in-process card");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_atrs);
    tcase_add_test(tc, factory_token);
    tcase_add_test(tc, pin_counters_lock_and_unblock);
    tcase_add_test(tc, keygen_sign_and_list);
    tcase_add_test(tc, imported_key);
    tcase_add_test(tc, certificate_and_data_objects);
    tcase_add_test(tc, fill_to_capacity);
    tcase_add_test(tc, init_token_wipes);
    tcase_add_test(tc, random_bytes);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, drv_etoken_module_tcase());
    return s;
}
