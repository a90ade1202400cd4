/* The Kaztoken driver against the in-process card: a factory-fresh token, PINs and their
 * counters, key generation and raw RSA checked with OpenSSL, certificates and data
 * objects through PKCS#15, and what a second connection to the same card sees. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_padding_add_PKCS1_type_1 and raw RSA for checks */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "drv_kaztoken.h"
#include "p11_test.h"
#include "sim.h"

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
    ck_assert(p11_drv_kaztoken.match(atr, atr_len));
    ck_assert_int_eq(sim_transport_new(conn, &tr), SIM_OK);
    ck_assert_int_eq(p11_drv_kaztoken.open(tr, &t), CKR_OK);
    return t;
}

static void setup(void)
{
    strcpy(dir, "/tmp/vt-kz-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/kaztoken.img", dir);
    ck_assert_int_eq(sim_card_create(img, "kaztoken", false), SIM_OK);
    ck_assert_int_eq(sim_card_open(img, &card, NULL), SIM_OK);
    tok = open_token();
}

static void teardown(void)
{
    tok->ops->close(tok);
    sim_card_close(card);
    unlink(img);
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

START_TEST(matches_atrs)
{
    static const uint8_t kaz[] = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A, 0x54,
                                  0x4F, 0x4B, 0x45, 0x4E, 0x82};
    static const uint8_t ecp[] = {0x3B, 0x8B, 0x01, 0x52, 0x75, 0x74, 0x6F, 0x6B,
                                  0x65, 0x6E, 0x20, 0x45, 0x43, 0x50, 0xA0};
    static const uint8_t etoken[] = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE,
                                     0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4};

    ck_assert(p11_drv_kaztoken.match(kaz, sizeof(kaz)));
    ck_assert(p11_drv_kaztoken.match(ecp, sizeof(ecp)));
    ck_assert(!p11_drv_kaztoken.match(etoken, sizeof(etoken)));
    ck_assert(!p11_drv_kaztoken.match(kaz, sizeof(kaz) - 1));
    ck_assert_str_eq(p11_drv_kaztoken.vendor, "kaztoken");
}
END_TEST

START_TEST(factory_token)
{
    p11_token_info info;
    p11_tobj *objs = NULL;
    size_t n = 99;

    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "KAZTOKEN");
    ck_assert_str_eq(info.model, "KAZTOKEN");
    ck_assert_uint_gt(strlen(info.serial), 0);
    ck_assert_uint_eq(info.flags & (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED |
                                    CKF_LOGIN_REQUIRED | CKF_RNG),
                      CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED |
                          CKF_RNG);
    ck_assert_uint_eq(info.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED), 0);
    ck_assert_int_eq(info.user_tries_left, 10);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    p11_tobjs_free(objs, n);
}
END_TEST

START_TEST(pin_counters_lock_and_unblock)
{
    p11_token_info info;
    int i;

    ck_assert_int_eq(login(tok, CKU_USER, "123"), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, "00000000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_int_eq(info.user_tries_left, 9);
    ck_assert(info.flags & CKF_USER_PIN_COUNT_LOW);
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(login(tok, CKU_USER, "00000000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_FINAL_TRY);
    ck_assert_int_eq(login(tok, CKU_USER, "00000000"), CKR_PIN_LOCKED);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678"), CKR_PIN_LOCKED);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_LOCKED);
    ck_assert_int_eq(info.user_tries_left, 0);
    /* the SO unblocks and sets a new user PIN */
    ck_assert_int_eq(login(tok, CKU_SO, "87654321"), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_uint_eq(info.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW), 0);
    /* and the user changes it */
    ck_assert_int_eq(tok->ops->set_pin(tok, CKU_USER, (const uint8_t *)"11223344", 8,
                                       (const uint8_t *)"87878787", 8),
                     CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(login(tok, CKU_USER, "87878787"), CKR_OK);
}
END_TEST

/* PKCS#1 v1.5 block of a SHA-256 DigestInfo, signed raw on the card, verified here. */
static void sign_and_verify(p11_token *t, const p11_tobj *priv, const p11_tobj *pub)
{
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    const p11_attr *n = attr(pub, CKA_MODULUS), *e = attr(pub, CKA_PUBLIC_EXPONENT);
    uint8_t di[sizeof(prefix) + 32], block[256], sig[256], check[256];
    size_t sig_len = sizeof(sig);
    BIGNUM *bn = BN_bin2bn(n->value, (int)n->len, NULL), *be = BN_bin2bn(e->value, (int)e->len, NULL);
    RSA *rsa = RSA_new();

    ck_assert_uint_eq(n->len, 256);
    memcpy(di, prefix, sizeof(prefix));
    SHA256((const uint8_t *)"hello", 5, di + sizeof(prefix));
    ck_assert_int_eq(RSA_padding_add_PKCS1_type_1(block, 256, di, sizeof(di)), 1);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, 256, sig, &sig_len), CKR_OK);
    ck_assert_uint_eq(sig_len, 256);
    ck_assert_int_eq(RSA_set0_key(rsa, bn, be, NULL), 1);
    ck_assert_int_eq(RSA_public_decrypt(256, sig, check, rsa, RSA_NO_PADDING), 256);
    ck_assert_mem_eq(check, block, 256);
    RSA_free(rsa);
    /* wrong length and PKCS#1 mode are refused */
    sig_len = sizeof(sig);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, 255, sig, &sig_len),
                     CKR_DATA_LEN_RANGE);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
                     CKR_MECHANISM_INVALID);
}

static void generate(p11_token *t, p11_tobj *pub, p11_tobj *priv)
{
    p11_attrs pt = {0}, vt = {0};

    ck_assert_int_eq(p11_attrs_set(&vt, CKA_LABEL, "signing key", 11), CKR_OK);
    ck_assert_int_eq(p11_attrs_set_bool(&vt, CKA_SIGN, true), CKR_OK);
    ck_assert_int_eq(p11_attrs_set_bool(&pt, CKA_VERIFY, true), CKR_OK);
    ck_assert_int_eq(t->ops->generate_rsa(t, 2048, (const uint8_t *)"\x01\x00\x01", 3, &pt, &vt,
                                          pub, priv),
                     CKR_OK);
    p11_attrs_free(&pt);
    p11_attrs_free(&vt);
}

START_TEST(keygen_sign_and_list)
{
    p11_tobj pub, priv, *objs = NULL;
    size_t n = 0, i, privs = 0, pubs = 0;
    uint8_t id[20];
    const p11_attr *mod;
    p11_token *other;

    ck_assert_int_eq(tok->ops->generate_rsa(tok, 2048, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678"), CKR_OK);
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 1536, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_KEY_SIZE_RANGE);
    generate(tok, &pub, &priv);
    ck_assert_int_eq(cls(&priv), CKO_PRIVATE_KEY);
    ck_assert_int_eq(cls(&pub), CKO_PUBLIC_KEY);
    mod = attr(&pub, CKA_MODULUS);
    SHA1(mod->value, mod->len, id);
    ck_assert_uint_eq(attr(&priv, CKA_ID)->len, 20);
    ck_assert_mem_eq(attr(&priv, CKA_ID)->value, id, 20);
    ck_assert_mem_eq(attr(&pub, CKA_ID)->value, id, 20);
    ck_assert_mem_eq(attr(&priv, CKA_MODULUS)->value, mod->value, 256);
    ck_assert(battr(&priv, CKA_SENSITIVE));
    ck_assert(battr(&priv, CKA_ALWAYS_SENSITIVE));
    ck_assert(battr(&priv, CKA_NEVER_EXTRACTABLE));
    ck_assert(!battr(&priv, CKA_EXTRACTABLE));
    ck_assert(battr(&priv, CKA_LOCAL));
    ck_assert(battr(&priv, CKA_PRIVATE));
    ck_assert(battr(&priv, CKA_SIGN));
    ck_assert(!battr(&pub, CKA_PRIVATE));
    ck_assert(battr(&pub, CKA_VERIFY));
    ck_assert_uint_eq(attr(&priv, CKA_LABEL)->len, 11);
    ck_assert_mem_eq(attr(&priv, CKA_LABEL)->value, "signing key", 11);
    sign_and_verify(tok, &priv, &pub);

    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    for (i = 0; i < n; i++) {
        privs += cls(&objs[i]) == CKO_PRIVATE_KEY;
        pubs += cls(&objs[i]) == CKO_PUBLIC_KEY;
    }
    ck_assert_uint_eq(privs, 1);
    ck_assert_uint_eq(pubs, 1);
    p11_tobjs_free(objs, n);

    /* another connection to the same card reads the same PKCS#15 application */
    other = open_token();
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 1); /* not logged in there: the private key is hidden */
    ck_assert_int_eq(cls(&objs[0]), CKO_PUBLIC_KEY);
    ck_assert_mem_eq(attr(&objs[0], CKA_MODULUS)->value, mod->value, 256);
    p11_tobjs_free(objs, n);
    ck_assert_int_eq(login(other, CKU_USER, "12345678"), CKR_OK);
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    for (i = 0; i < n; i++)
        if (cls(&objs[i]) == CKO_PRIVATE_KEY)
            sign_and_verify(other, &objs[i], &pub);
    p11_tobjs_free(objs, n);
    other->ops->close(other);

    /* destroy: gone from the list, and its key reference is free again */
    ck_assert_int_eq(tok->ops->destroy_object(tok, &priv), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &pub), CKR_OK);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    generate(tok, &pub, &priv);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
}
END_TEST

static void make_cert(const uint8_t **der, int *len)
{
    EVP_PKEY *pk = EVP_RSA_gen(1024);
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    unsigned char *buf = NULL;

    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"Test", -1, -1, 0);
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
    const uint8_t *cert = NULL;
    int cert_len = 0;
    p11_attrs tmpl = {0}, ch = {0};
    p11_tobj c, d, upd, bad, *objs = NULL;
    size_t n = 0;
    static const uint8_t oid_der[] = {0x06, 0x03, 0x2A, 0x03, 0x04};

    make_cert(&cert, &cert_len);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678"), CKR_OK);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_CERTIFICATE);
    p11_attrs_set(&tmpl, CKA_VALUE, cert, (CK_ULONG)cert_len);
    p11_attrs_set(&tmpl, CKA_ID, "\x45", 1);
    p11_attrs_set(&tmpl, CKA_LABEL, "my cert", 7);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &c), CKR_OK);
    ck_assert_int_eq(cls(&c), CKO_CERTIFICATE);
    ck_assert_uint_eq(attr(&c, CKA_VALUE)->len, (size_t)cert_len);
    ck_assert_mem_eq(attr(&c, CKA_VALUE)->value, cert, (size_t)cert_len);
    ck_assert_uint_eq(attr(&c, CKA_SERIAL_NUMBER)->len, 4); /* 02 02 10 92 */
    ck_assert_uint_gt(attr(&c, CKA_SUBJECT)->len, 0);
    ck_assert_mem_eq(attr(&c, CKA_ID)->value, "\x45", 1);
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
    ck_assert_mem_eq(attr(&d, CKA_APPLICATION)->value, "myapp", 5);
    p11_attrs_free(&tmpl);

    /* relabel the certificate */
    p11_attrs_set(&ch, CKA_LABEL, "renamed", 7);
    ck_assert_int_eq(tok->ops->set_attributes(tok, &c, &ch, &upd), CKR_OK);
    ck_assert_mem_eq(attr(&upd, CKA_LABEL)->value, "renamed", 7);
    p11_attrs_free(&ch);
    p11_attrs_set_ulong(&ch, CKA_CLASS, CKO_DATA);
    ck_assert_int_eq(tok->ops->set_attributes(tok, &c, &ch, &bad), CKR_ATTRIBUTE_READ_ONLY);
    p11_attrs_free(&ch);

    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    p11_tobjs_free(objs, n);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 1); /* the private data object is hidden */
    ck_assert_int_eq(cls(&objs[0]), CKO_CERTIFICATE);
    p11_tobjs_free(objs, n);
    /* writing needs the user */
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678"), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &d), CKR_OK);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 0);
    p11_tobjs_free(objs, n);
    p11_tobj_free(&c);
    p11_tobj_free(&d);
    p11_tobj_free(&upd);
    OPENSSL_free((void *)cert);
}
END_TEST

START_TEST(random_bytes)
{
    uint8_t a[100] = {0}, b[100] = {0};

    ck_assert_int_eq(tok->ops->random(tok, a, sizeof(a)), CKR_OK);
    ck_assert_int_eq(tok->ops->random(tok, b, sizeof(b)), CKR_OK);
    ck_assert_mem_ne(a, b, sizeof(a));
}
END_TEST

void drv_kaztoken_init_tcases(Suite *s); /* test_drv_kaztoken_init.c */

Suite *drv_kaztoken_suite(void)
{
    Suite *s = suite_create("drv_kaztoken");
    TCase *tc = tcase_create("in-process card");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_atrs);
    tcase_add_test(tc, factory_token);
    tcase_add_test(tc, pin_counters_lock_and_unblock);
    tcase_add_test(tc, keygen_sign_and_list);
    tcase_add_test(tc, certificate_and_data_objects);
    tcase_add_test(tc, random_bytes);
    suite_add_tcase(s, tc);
    drv_kaztoken_init_tcases(s);
    return s;
}
