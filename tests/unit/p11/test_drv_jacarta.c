/* The JaCarta driver against the in-process card: the token info strings and counters, PIN
 * lock and unblock, keys generated and imported on the card and checked with OpenSSL
 * (PKCS#1 by the card, raw RSA for the module's PSS and OAEP), certificates and data
 * objects through PKCS#15, C_InitToken by the SO, and object memory running out. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "drv_jacarta.h"
#include "test_drv_jacarta.h"
#include "p11_test.h"
#include "sim.h"

static char dir[64], img[128];
static sim_card *card;
static p11_token *tok;

#define JC_USER_PIN "1234567890"
#define JC_SOPIN    "00000000"

static const uint8_t JC_ATR[] = {0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73,
                                 0xC8, 0x21, 0x13, 0x66, 0x01, 0x06, 0x11, 0x59, 0x00, 0x01, 0x28};

static p11_token *open_token_on(sim_card *c, CK_RV want)
{
    sim_conn *conn = NULL;
    apdu_transport *tr = NULL;
    uint8_t atr[33];
    size_t atr_len = sizeof(atr);
    p11_token *t = NULL;

    ck_assert_int_eq(sim_conn_open(c, &conn), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(conn, atr, &atr_len), SIM_OK);
    ck_assert_int_eq(sim_transport_new(conn, &tr), SIM_OK);
    ck_assert_int_eq(p11_drv_jacarta.open(tr, &t), want);
    return t;
}

static p11_token *open_token(void)
{
    return open_token_on(card, CKR_OK);
}

static void setup(void)
{
    strcpy(dir, "/tmp/vt-jc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/jacarta.img", dir);
    ck_assert_int_eq(sim_card_create(img, "jacarta", false), SIM_OK);
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

static size_t count_objects(p11_token *t)
{
    p11_tobj *objs = NULL;
    size_t n = 99;
    ck_assert_int_eq(t->ops->list_objects(t, &objs, &n), CKR_OK);
    p11_tobjs_free(objs, n);
    return n;
}

static EVP_PKEY *pkey_of(const p11_tobj *pub)
{
    const p11_attr *n = attr(pub, CKA_MODULUS), *e = attr(pub, CKA_PUBLIC_EXPONENT);
    BIGNUM *bn = BN_bin2bn(n->value, (int)n->len, NULL),
           *be = BN_bin2bn(e->value, (int)e->len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;

    ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn));
    ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be));
    params = OSSL_PARAM_BLD_to_param(bld);
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    return pk;
}

START_TEST(matches_atrs)
{
    static const uint8_t jc2[] = {0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73,
                                  0xC8, 0x21, 0x13, 0x66, 0x01, 0x0B, 0x03, 0x52, 0x00, 0x05, 0x38};
    static const uint8_t kaz[] = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A,
                                  0x54, 0x4F, 0x4B, 0x45, 0x4E, 0x82};

    ck_assert(p11_drv_jacarta.match(JC_ATR, sizeof(JC_ATR)));
    ck_assert(p11_drv_jacarta.match(jc2, sizeof(jc2)));
    ck_assert(!p11_drv_jacarta.match(kaz, sizeof(kaz)));
    ck_assert(!p11_drv_jacarta.match(JC_ATR, sizeof(JC_ATR) - 1));
    ck_assert_str_eq(p11_drv_jacarta.vendor, "jacarta");
    ck_assert_str_eq(p11_drv_jacarta.name, "jacarta");
}
END_TEST

START_TEST(factory_token)
{
    p11_token_info info;
    sim_card_info ci;
    char serial[17];

    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "JaCarta");
    ck_assert_str_eq(info.manufacturer, "Aladdin R.D.");
    ck_assert_str_eq(info.model, "JaCarta Laser");
    ck_assert_int_eq(sim_card_get_info(card, &ci), SIM_OK);
    for (size_t i = 0; i < 16; i++)
        serial[i] =
            (char)(ci.serial_hex[i] >= 'a' ? ci.serial_hex[i] - 'a' + 'A' : ci.serial_hex[i]);
    serial[16] = '\0';
    ck_assert_str_eq(info.serial, serial);
    ck_assert_uint_eq(
        info.flags &
            (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG),
        CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RNG);
    ck_assert_uint_eq(info.flags & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED |
                                    CKF_SO_PIN_COUNT_LOW | CKF_SO_PIN_LOCKED | CKF_WRITE_PROTECTED),
                      0);
    ck_assert_int_eq(info.user_tries_left, 10);
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_uint_eq(info.min_pin, 4);
    ck_assert_uint_eq(info.max_pin, 16);
    ck_assert_uint_eq(info.total_mem, 73728);
    ck_assert_uint_eq(info.free_mem, 73728 - 385);
    ck_assert_uint_eq(info.hw.major, 1);
    ck_assert_uint_eq(info.fw.major, 1);
    ck_assert_uint_eq(count_objects(tok), 0);
}
END_TEST

/* Another family's card answers the applet's SELECT and GET CAPABILITY with errors. */
START_TEST(other_cards_refused)
{
    char other[160];
    sim_card *kz = NULL;

    snprintf(other, sizeof(other), "%s/kaztoken.img", dir);
    ck_assert_int_eq(sim_card_create(other, "kaztoken", false), SIM_OK);
    ck_assert_int_eq(sim_card_open(other, &kz, NULL), SIM_OK);
    ck_assert_ptr_null(open_token_on(kz, CKR_TOKEN_NOT_RECOGNIZED));
    sim_card_close(kz);
    unlink(other);
}
END_TEST

START_TEST(pin_counters_lock_and_unblock)
{
    p11_token_info info;
    int i;

    ck_assert_int_eq(login(tok, CKU_USER, "123"), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, "12345678901234567"), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, "0000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_int_eq(info.user_tries_left, 9);
    ck_assert(info.flags & CKF_USER_PIN_COUNT_LOW);
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(login(tok, CKU_USER, "0000"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_FINAL_TRY);
    ck_assert_int_eq(login(tok, CKU_USER, "0000"), CKR_PIN_LOCKED);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_PIN_LOCKED);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_LOCKED);
    ck_assert_int_eq(info.user_tries_left, 0);
    /* a wrong SO PIN shows on the SO counter */
    ck_assert_int_eq(login(tok, CKU_SO, "11111111"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_int_eq(info.so_tries_left, 9);
    ck_assert(info.flags & CKF_SO_PIN_COUNT_LOW);
    /* init_pin needs the SO on the card */
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8),
                     CKR_USER_NOT_LOGGED_IN);
    /* the SO unblocks and sets a new user PIN */
    ck_assert_int_eq(login(tok, CKU_SO, JC_SOPIN), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"123", 3), CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_uint_eq(
        info.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW | CKF_SO_PIN_COUNT_LOW), 0);
    /* and the user changes it */
    ck_assert_int_eq(tok->ops->set_pin(tok, CKU_USER, (const uint8_t *)"11223344", 8,
                                       (const uint8_t *)"87878787", 8),
                     CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_PIN_INCORRECT);
    ck_assert_int_eq(login(tok, CKU_USER, "87878787"), CKR_OK);
}
END_TEST

/* C_SetPIN in a public session verifies the old PIN on the card: the card must not stay
 * logged in afterwards. */
START_TEST(set_pin_without_login_leaves_card_logged_out)
{
    p11_tobj pub, priv;

    ck_assert_int_eq(tok->ops->set_pin(tok, CKU_USER, (const uint8_t *)JC_USER_PIN, 10,
                                       (const uint8_t *)"24681357", 8),
                     CKR_OK);
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 1024, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(
        tok->ops->set_pin(tok, CKU_USER, (const uint8_t *)"24681357", 8, (const uint8_t *)"123", 3),
        CKR_PIN_LEN_RANGE);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_PIN_INCORRECT);
    ck_assert_int_eq(login(tok, CKU_USER, "24681357"), CKR_OK);
}
END_TEST

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

/* PKCS#1 v1.5 signing by the card, raw RSA, PKCS#1 deciphering: all checked with OpenSSL. */
static void crypto_checks(p11_token *t, const p11_tobj *priv, const p11_tobj *pub)
{
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    EVP_PKEY *pk = pkey_of(pub);
    size_t k = (size_t)EVP_PKEY_get_size(pk), sig_len, out_len, ct_len;
    uint8_t di[sizeof(prefix) + 32], sig[256], out[256], ct[256], block[256];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *ctx;

    memcpy(di, prefix, sizeof(prefix));
    SHA256((const uint8_t *)"hello", 5, di + sizeof(prefix));
    sig_len = sizeof(sig);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
                     CKR_OK);
    ck_assert_uint_eq(sig_len, k);
    ck_assert_int_eq(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    ck_assert_int_eq(EVP_DigestVerify(md, sig, sig_len, (const uint8_t *)"hello", 5), 1);
    EVP_MD_CTX_free(md);

    /* raw: a block the module padded itself (PSS, say) comes back as block^d */
    memset(block, 0x5A, k);
    block[0] = 0x00;
    sig_len = sizeof(sig);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, k, sig, &sig_len), CKR_OK);
    ck_assert_uint_eq(sig_len, k);
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    out_len = sizeof(out);
    ck_assert_int_eq(EVP_PKEY_verify_recover_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING), 1);
    ck_assert_int_eq(EVP_PKEY_verify_recover(ctx, out, &out_len, sig, sig_len), 1);
    ck_assert_uint_eq(out_len, k);
    ck_assert_mem_eq(out, block, k);
    EVP_PKEY_CTX_free(ctx);

    /* PKCS#1 v1.5 encryption by OpenSSL, the card takes the padding off */
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    ct_len = sizeof(ct);
    ck_assert_int_eq(EVP_PKEY_encrypt_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    ck_assert_int_eq(EVP_PKEY_encrypt(ctx, ct, &ct_len, (const uint8_t *)"session key", 11), 1);
    EVP_PKEY_CTX_free(ctx);
    out_len = sizeof(out);
    ck_assert_int_eq(t->ops->rsa_decrypt(t, priv, P11_RSA_PKCS1, ct, ct_len, out, &out_len),
                     CKR_OK);
    ck_assert_uint_eq(out_len, 11);
    ck_assert_mem_eq(out, "session key", 11);
    /* the same block raw: the whole padded block */
    out_len = sizeof(out);
    ck_assert_int_eq(t->ops->rsa_decrypt(t, priv, P11_RSA_RAW, ct, ct_len, out, &out_len), CKR_OK);
    ck_assert_uint_eq(out_len, k);
    ck_assert_uint_eq(out[1], 0x02);
    ck_assert_mem_eq(out + k - 11, "session key", 11);
    /* a block that is not PKCS#1 type 2 */
    out_len = sizeof(out);
    ck_assert_int_eq(t->ops->rsa_decrypt(t, priv, P11_RSA_PKCS1, sig, k, out, &out_len),
                     CKR_ENCRYPTED_DATA_INVALID);
    /* lengths */
    sig_len = sizeof(sig);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_RAW, block, k - 1, sig, &sig_len),
                     CKR_DATA_LEN_RANGE);
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_PKCS1, block, k - 10, sig, &sig_len),
                     CKR_DATA_LEN_RANGE);
    sig_len = 10;
    ck_assert_int_eq(t->ops->rsa_sign(t, priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
                     CKR_BUFFER_TOO_SMALL);
    EVP_PKEY_free(pk);
}

START_TEST(keygen_sign_and_list)
{
    p11_tobj pub, priv, *objs = NULL;
    size_t n = 0, i;
    uint8_t id[20];
    const p11_attr *mod;
    p11_token *other;
    p11_token_info before, after;

    ck_assert_int_eq(tok->ops->generate_rsa(tok, 2048, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 1536, NULL, 0, NULL, NULL, &pub, &priv),
                     CKR_KEY_SIZE_RANGE);
    ck_assert_int_eq(
        tok->ops->generate_rsa(tok, 2048, (const uint8_t *)"\x03", 1, NULL, NULL, &pub, &priv),
        CKR_TEMPLATE_INCONSISTENT);
    ck_assert_int_eq(tok->ops->get_info(tok, &before), CKR_OK);
    generate(tok, 2048, &pub, &priv);
    ck_assert_int_eq(tok->ops->get_info(tok, &after), CKR_OK);
    ck_assert_uint_lt(after.free_mem, before.free_mem);
    ck_assert_int_eq(cls(&priv), CKO_PRIVATE_KEY);
    ck_assert_int_eq(cls(&pub), CKO_PUBLIC_KEY);
    mod = attr(&pub, CKA_MODULUS);
    ck_assert_uint_eq(mod->len, 256);
    SHA1(mod->value, mod->len, id);
    ck_assert_uint_eq(attr(&priv, CKA_ID)->len, 20);
    ck_assert_mem_eq(attr(&priv, CKA_ID)->value, id, 20);
    ck_assert_mem_eq(attr(&pub, CKA_ID)->value, id, 20);
    ck_assert_mem_eq(attr(&priv, CKA_MODULUS)->value, mod->value, 256);
    ck_assert(battr(&priv, CKA_SENSITIVE));
    ck_assert(battr(&priv, CKA_NEVER_EXTRACTABLE));
    ck_assert(!battr(&priv, CKA_EXTRACTABLE));
    ck_assert(battr(&priv, CKA_LOCAL));
    ck_assert(battr(&priv, CKA_PRIVATE));
    ck_assert(battr(&priv, CKA_SIGN));
    ck_assert(!battr(&pub, CKA_PRIVATE));
    ck_assert_mem_eq(attr(&priv, CKA_LABEL)->value, "signing key", 11);
    crypto_checks(tok, &priv, &pub);

    ck_assert_uint_eq(count_objects(tok), 2);
    /* another connection to the same card reads the same PKCS#15 application */
    other = open_token();
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 1); /* not logged in there: the private key is hidden */
    ck_assert_int_eq(cls(&objs[0]), CKO_PUBLIC_KEY);
    p11_tobjs_free(objs, n);
    ck_assert_int_eq(login(other, CKU_USER, JC_USER_PIN), CKR_OK);
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 2);
    for (i = 0; i < n; i++)
        if (cls(&objs[i]) == CKO_PRIVATE_KEY)
            crypto_checks(other, &objs[i], &pub);
    p11_tobjs_free(objs, n);
    /* logged out there, the card refuses that connection the key */
    ck_assert_int_eq(other->ops->logout(other), CKR_OK);
    {
        uint8_t sig[256], di[35] = {0x30, 0x21};
        size_t sig_len = sizeof(sig);
        ck_assert_int_eq(
            other->ops->rsa_sign(other, &priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
            CKR_USER_NOT_LOGGED_IN);
    }
    other->ops->close(other);

    /* destroy: gone from the list, and its key reference is free again */
    ck_assert_int_eq(tok->ops->destroy_object(tok, &priv), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &pub), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 0);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    generate(tok, 1024, &pub, &priv);
    crypto_checks(tok, &priv, &pub);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
}
END_TEST

static void set_bn(p11_attrs *a, CK_ATTRIBUTE_TYPE type, EVP_PKEY *pk, const char *name)
{
    BIGNUM *bn = NULL;
    uint8_t buf[256];
    int len;
    ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
    len = BN_bn2bin(bn, buf);
    ck_assert_int_eq(p11_attrs_set(a, type, buf, (CK_ULONG)len), CKR_OK);
    BN_clear_free(bn);
    vt_wipe(buf, sizeof(buf));
}

/* A key made here and written to the card (80 24): the card signs as this key does. */
START_TEST(imported_private_key)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    p11_attrs tmpl = {0};
    p11_tobj priv, pub;
    uint8_t di[51] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    uint8_t sig[256], want[256];
    size_t sig_len = sizeof(sig), want_len = sizeof(want);
    EVP_PKEY_CTX *ctx;

    ck_assert_ptr_nonnull(pk);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_PRIVATE_KEY);
    p11_attrs_set_ulong(&tmpl, CKA_KEY_TYPE, CKK_RSA);
    p11_attrs_set(&tmpl, CKA_ID, "\x01\x02", 2);
    p11_attrs_set_bool(&tmpl, CKA_SIGN, true);
    set_bn(&tmpl, CKA_MODULUS, pk, OSSL_PKEY_PARAM_RSA_N);
    set_bn(&tmpl, CKA_PUBLIC_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_E);
    set_bn(&tmpl, CKA_PRIVATE_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_D);
    set_bn(&tmpl, CKA_PRIME_1, pk, OSSL_PKEY_PARAM_RSA_FACTOR1);
    set_bn(&tmpl, CKA_PRIME_2, pk, OSSL_PKEY_PARAM_RSA_FACTOR2);
    set_bn(&tmpl, CKA_EXPONENT_1, pk, OSSL_PKEY_PARAM_RSA_EXPONENT1);
    set_bn(&tmpl, CKA_EXPONENT_2, pk, OSSL_PKEY_PARAM_RSA_EXPONENT2);
    set_bn(&tmpl, CKA_COEFFICIENT, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &priv), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &priv), CKR_OK);
    ck_assert_int_eq(cls(&priv), CKO_PRIVATE_KEY);
    ck_assert(!battr(&priv, CKA_LOCAL));
    ck_assert_uint_eq(attr(&priv, CKA_MODULUS)->len, 256);
    SHA256((const uint8_t *)"imported", 8, di + 19);
    ck_assert_int_eq(tok->ops->rsa_sign(tok, &priv, P11_RSA_PKCS1, di, sizeof(di), sig, &sig_len),
                     CKR_OK);
    /* OpenSSL with the same key: PKCS#1 v1.5 signatures are deterministic */
    ctx = EVP_PKEY_CTX_new(pk, NULL);
    ck_assert_int_eq(EVP_PKEY_sign_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    ck_assert_int_eq(EVP_PKEY_sign(ctx, want, &want_len, di, sizeof(di)), 1);
    ck_assert_uint_eq(sig_len, want_len);
    ck_assert_mem_eq(sig, want, want_len);
    EVP_PKEY_CTX_free(ctx);
    /* parts that do not belong together are refused, and leave nothing behind */
    p11_attrs_free(&tmpl);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_PRIVATE_KEY);
    p11_attrs_set_ulong(&tmpl, CKA_KEY_TYPE, CKK_RSA);
    set_bn(&tmpl, CKA_MODULUS, pk, OSSL_PKEY_PARAM_RSA_N);
    set_bn(&tmpl, CKA_PUBLIC_EXPONENT, pk, OSSL_PKEY_PARAM_RSA_E);
    set_bn(&tmpl, CKA_PRIME_1, pk, OSSL_PKEY_PARAM_RSA_FACTOR1);
    set_bn(&tmpl, CKA_PRIME_2, pk, OSSL_PKEY_PARAM_RSA_FACTOR2);
    set_bn(&tmpl, CKA_EXPONENT_1, pk, OSSL_PKEY_PARAM_RSA_EXPONENT2);
    set_bn(&tmpl, CKA_EXPONENT_2, pk, OSSL_PKEY_PARAM_RSA_EXPONENT1);
    set_bn(&tmpl, CKA_COEFFICIENT, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    {
        size_t n0 = count_objects(tok);
        ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &pub), CKR_ATTRIBUTE_VALUE_INVALID);
        ck_assert_uint_eq(count_objects(tok), n0);
    }
    p11_attrs_free(&tmpl);
    p11_tobj_free(&priv);
    EVP_PKEY_free(pk);
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
    p11_tobj c, d, upd, *objs = NULL;
    size_t n = 0;

    make_cert(&cert, &cert_len);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_CERTIFICATE);
    p11_attrs_set(&tmpl, CKA_VALUE, cert, (CK_ULONG)cert_len);
    p11_attrs_set(&tmpl, CKA_ID, "\x45", 1);
    p11_attrs_set(&tmpl, CKA_LABEL, "my cert", 7);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &c), CKR_OK);
    ck_assert_int_eq(cls(&c), CKO_CERTIFICATE);
    ck_assert_uint_eq(attr(&c, CKA_VALUE)->len, (size_t)cert_len);
    ck_assert_mem_eq(attr(&c, CKA_VALUE)->value, cert, (size_t)cert_len);
    ck_assert_uint_eq(attr(&c, CKA_SERIAL_NUMBER)->len, 4); /* 02 02 10 92 */
    ck_assert_mem_eq(attr(&c, CKA_SERIAL_NUMBER)->value, "\x02\x02\x10\x92", 4);
    ck_assert_uint_gt(attr(&c, CKA_SUBJECT)->len, 0);
    ck_assert_uint_gt(attr(&c, CKA_ISSUER)->len, 0);
    p11_attrs_free(&tmpl);

    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
    p11_attrs_set(&tmpl, CKA_VALUE, "secret stuff", 12);
    p11_attrs_set(&tmpl, CKA_APPLICATION, "myapp", 5);
    p11_attrs_set(&tmpl, CKA_LABEL, "mydata", 6);
    p11_attrs_set_bool(&tmpl, CKA_PRIVATE, true);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &d), CKR_OK);
    ck_assert(battr(&d, CKA_PRIVATE));
    ck_assert_mem_eq(attr(&d, CKA_VALUE)->value, "secret stuff", 12);
    p11_attrs_free(&tmpl);

    p11_attrs_set(&ch, CKA_LABEL, "renamed", 7);
    ck_assert_int_eq(tok->ops->set_attributes(tok, &c, &ch, &upd), CKR_OK);
    ck_assert_mem_eq(attr(&upd, CKA_LABEL)->value, "renamed", 7);
    p11_attrs_free(&ch);

    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->list_objects(tok, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 1); /* the private data object is hidden */
    ck_assert_int_eq(cls(&objs[0]), CKO_CERTIFICATE);
    ck_assert_mem_eq(attr(&objs[0], CKA_LABEL)->value, "renamed", 7);
    p11_tobjs_free(objs, n);
    /* writing needs a PIN */
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &upd), CKR_OK);
    ck_assert_int_eq(tok->ops->destroy_object(tok, &d), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 0);
    p11_tobj_free(&c);
    p11_tobj_free(&d);
    p11_tobj_free(&upd);
    OPENSSL_free((void *)cert);
}
END_TEST

/* C_InitToken: the SO wipes every object and the label goes into the applet's TokenInfo;
 * the user PIN stays. */
START_TEST(init_token_by_so)
{
    p11_tobj pub, priv;
    p11_token_info info;
    p11_token *other;

    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    generate(tok, 1024, &pub, &priv);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(tok->ops->init_token(tok, (const uint8_t *)"11111111", 8, "NCA token"),
                     CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->init_token(tok, (const uint8_t *)JC_SOPIN, 8, "NCA token"), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "NCA token");
    ck_assert_str_eq(info.model, "JaCarta Laser");
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_uint_eq(info.free_mem, 73728 - 385);
    ck_assert_uint_eq(count_objects(tok), 0);
    /* the SO is logged out again; the user PIN still works and the token is usable */
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    generate(tok, 1024, &pub, &priv);
    other = open_token();
    ck_assert_int_eq(other->ops->get_info(other, &info), CKR_OK);
    ck_assert_str_eq(info.label, "NCA token");
    ck_assert_uint_eq(count_objects(other), 1);
    other->ops->close(other);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
}
END_TEST

/* Data objects until the 72 KiB run out: CKR_DEVICE_MEMORY, and nothing half-made. */
START_TEST(memory_runs_out)
{
    static uint8_t big[30000];
    p11_attrs tmpl = {0};
    p11_tobj o[3];
    p11_token_info info;
    CK_RV rv = CKR_OK;
    int made = 0;

    memset(big, 0xA5, sizeof(big));
    ck_assert_int_eq(login(tok, CKU_USER, JC_USER_PIN), CKR_OK);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
    p11_attrs_set(&tmpl, CKA_VALUE, big, sizeof(big));
    p11_attrs_set(&tmpl, CKA_LABEL, "big", 3);
    for (made = 0; made < 3; made++) {
        rv = tok->ops->create_object(tok, &tmpl, &o[made]);
        if (rv != CKR_OK)
            break;
    }
    ck_assert_int_eq(made, 2);
    ck_assert_int_eq(rv, CKR_DEVICE_MEMORY);
    ck_assert_uint_eq(count_objects(tok), 2);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_uint_lt(info.free_mem, sizeof(big));
    ck_assert_int_eq(tok->ops->destroy_object(tok, &o[0]), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &o[2]), CKR_OK);
    ck_assert_mem_eq(attr(&o[2], CKA_VALUE)->value, big, sizeof(big));
    for (int i = 0; i < 3; i++)
        p11_tobj_free(&o[i]);
    p11_attrs_free(&tmpl);
}
END_TEST

START_TEST(random_bytes)
{
    uint8_t a[300] = {0}, b[300] = {0};

    ck_assert_int_eq(tok->ops->random(tok, a, sizeof(a)), CKR_OK);
    ck_assert_int_eq(tok->ops->random(tok, b, sizeof(b)), CKR_OK);
    ck_assert_mem_ne(a, b, sizeof(a));
}
END_TEST

Suite *drv_jacarta_suite(void)
{
    Suite *s = suite_create("drv_jacarta");
    TCase *tc = tcase_create("in-process card");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, matches_atrs);
    tcase_add_test(tc, factory_token);
    tcase_add_test(tc, other_cards_refused);
    tcase_add_test(tc, pin_counters_lock_and_unblock);
    tcase_add_test(tc, set_pin_without_login_leaves_card_logged_out);
    tcase_add_test(tc, keygen_sign_and_list);
    tcase_add_test(tc, imported_private_key);
    tcase_add_test(tc, certificate_and_data_objects);
    tcase_add_test(tc, init_token_by_so);
    tcase_add_test(tc, memory_runs_out);
    tcase_add_test(tc, random_bytes);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, drv_jacarta_module_tcase());
    return s;
}
