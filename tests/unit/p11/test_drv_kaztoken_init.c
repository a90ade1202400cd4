/* The Kaztoken driver's C_InitToken, C_InitPIN after it, the access conditions of the
 * PKCS#15 files (OpenSC's after C_InitToken, "SO or user" on an application the user made
 * on a factory card), and private keys imported without a PuKDF entry, against the
 * in-process card. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "drv_kaztoken.h"
#include "p11_test.h"
#include "sim.h"
#include "sw.h"

void drv_kaztoken_init_tcases(Suite *s);

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
    ck_assert_int_eq(sim_transport_new(conn, &tr), SIM_OK);
    ck_assert_int_eq(p11_drv_kaztoken.open(tr, &t), CKR_OK);
    return t;
}

static void setup(void)
{
    strcpy(dir, "/tmp/vt-kzi-XXXXXX");
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

static size_t count_objects(p11_token *t)
{
    p11_tobj *objs = NULL;
    size_t n = 99;

    ck_assert_int_eq(t->ops->list_objects(t, &objs, &n), CKR_OK);
    p11_tobjs_free(objs, n);
    return n;
}

/* A key pair and a private data object, as the user. */
static void populate(p11_token *t)
{
    p11_attrs tmpl = {0};
    p11_tobj pub, priv, d;

    ck_assert_int_eq(login(t, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(t->ops->generate_rsa(t, 1024, NULL, 0, NULL, NULL, &pub, &priv), CKR_OK);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_DATA);
    p11_attrs_set(&tmpl, CKA_VALUE, "payload", 7);
    p11_attrs_set_bool(&tmpl, CKA_PRIVATE, true);
    ck_assert_int_eq(t->ops->create_object(t, &tmpl, &d), CKR_OK);
    ck_assert_uint_eq(count_objects(t), 3);
    ck_assert_int_eq(t->ops->logout(t), CKR_OK);
    p11_attrs_free(&tmpl);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
    p11_tobj_free(&d);
}

/* SELECT the path (hex, below the MF): whether it exists, and its tag 86 as hex. */
static bool file_sec(p11_token *t, const char *path_hex, char sec_hex[31])
{
    kz_token *k = t->drv;
    uint8_t path[16];
    long n = vt_hex_decode(path_hex, path, sizeof(path));
    vt_buf fcp = {0};
    uint16_t sw = 0;
    size_t i;
    bool found;

    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(p11_kz_cmd(k, 0x00, 0xA4, 0x08, 0x00, path, (size_t)n, 256, 0, &fcp, &sw),
                     CKR_OK);
    found = sw == APDU_SW_OK;
    sec_hex[0] = '\0';
    for (i = 2; found && i + 2 <= fcp.len; i += 2u + fcp.data[i + 1])
        if (fcp.data[i] == 0x86 && fcp.data[i + 1] == 15 && i + 17 <= fcp.len)
            vt_hex_encode(fcp.data + i + 2, 15, sec_hex);
    vt_buf_free(&fcp);
    return found;
}

static void assert_sec(p11_token *t, const char *path_hex, const char *want)
{
    char got[31];

    ck_assert_msg(file_sec(t, path_hex, got), "no file %s", path_hex);
    ck_assert_msg(!strcasecmp(got, want), "access conditions of %s: %s, want %s", path_hex, got,
                  want);
}

/* TokenInfo carries the card's serial number (GET DATA), as OpenSC writes it. */
static void assert_tokeninfo_serial(p11_token *t)
{
    kz_token *k = t->drv;
    p11_token_info info;
    char hex[2 * sizeof(k->obj.p15.ti.serial) + 1];

    ck_assert_int_eq(t->ops->get_info(t, &info), CKR_OK);
    ck_assert(k->obj.p15.present);
    ck_assert_uint_eq(k->obj.p15.ti.serial_len, 4);
    vt_hex_encode(k->obj.p15.ti.serial, 4, hex);
    ck_assert_msg(!strcasecmp(hex, info.serial), "TokenInfo serial %s, card %s", hex, info.serial);
}

START_TEST(init_token_wipes_and_relabels)
{
    p11_token_info info;
    char sec[31];

    populate(tok);
    /* a wrong SO PIN changes nothing but the SO counter */
    ck_assert_int_eq(tok->ops->init_token(tok, (const uint8_t *)"00000000", 8, "x"),
                     CKR_PIN_INCORRECT);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_int_eq(info.so_tries_left, 9);
    ck_assert(info.flags & CKF_SO_PIN_COUNT_LOW);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 3);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);

    ck_assert_int_eq(
        tok->ops->init_token(tok, (const uint8_t *)SO_PIN, 8, "Re-initialised                  "),
        CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert_str_eq(info.label, "Re-initialised");
    assert_tokeninfo_serial(tok);
    ck_assert_uint_eq(info.flags & (CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED),
                      CKF_TOKEN_INITIALIZED);
    ck_assert_uint_eq(info.flags & (CKF_SO_PIN_COUNT_LOW | CKF_USER_PIN_COUNT_LOW), 0);
    ck_assert_int_eq(info.so_tries_left, 10);
    ck_assert_uint_eq(count_objects(tok), 0);
    /* the key objects went with the files */
    ck_assert(!file_sec(tok,
                        "100010006002"
                        "0001",
                        sec));
    ck_assert(!file_sec(tok,
                        "100010006001"
                        "0001",
                        sec));
    ck_assert(!file_sec(tok,
                        "5000"
                        "0500",
                        sec));
    /* the factory file system is back */
    ck_assert(file_sec(tok, "100010006002", sec));
    ck_assert(file_sec(tok, "10001002", sec));

    /* no user PIN until the SO sets one; the SO PIN is the one it was */
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_USER_PIN_NOT_INITIALIZED);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)"11223344", 8), CKR_OK);
    ck_assert_int_eq(tok->ops->get_info(tok, &info), CKR_OK);
    ck_assert(info.flags & CKF_USER_PIN_INITIALIZED);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_PIN_INCORRECT);
    ck_assert_int_eq(login(tok, CKU_USER, "11223344"), CKR_OK);
    ck_assert_uint_eq(count_objects(tok), 0);
    /* and the token works as before */
    {
        p11_tobj pub, priv;
        ck_assert_int_eq(tok->ops->generate_rsa(tok, 1024, NULL, 0, NULL, NULL, &pub, &priv),
                         CKR_OK);
        ck_assert_uint_eq(count_objects(tok), 2);
        p11_tobj_free(&pub);
        p11_tobj_free(&priv);
    }
    /* a second connection (another process) sees the same */
    {
        p11_token *other = open_token();
        ck_assert_int_eq(other->ops->get_info(other, &info), CKR_OK);
        ck_assert_str_eq(info.label, "Re-initialised");
        ck_assert(info.flags & CKF_USER_PIN_INITIALIZED);
        other->ops->close(other);
    }
}
END_TEST

/* The application C_InitToken writes has the conditions OpenSC's rutoken_ecp profile
 * gives (read back from a card pkcs15-init personalised); the user cannot rewrite the
 * AODF, the SO can. */
START_TEST(init_token_acls_are_opensc)
{
    kz_token *k = tok->drv;
    p11_p15_path aodf;
    const uint8_t junk[4] = {0x30, 0x02, 0x05, 0x00};
    p11_tobj pub, priv;

    ck_assert_int_eq(tok->ops->init_token(tok, (const uint8_t *)SO_PIN, 8, "acl"), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)USER_PIN, 8), CKR_OK);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->generate_rsa(tok, 1024, NULL, 0, NULL, NULL, &pub, &priv), CKR_OK);
    assert_sec(tok, "2F00", "430001000000000100000000000000");
    assert_sec(tok, "5000", "430000000000000200000000000000");
    assert_sec(tok, "50005031", "430000000000000100000000000000");
    assert_sec(tok, "50005032", "430000000000000200000000000000");
    assert_sec(tok, "50006005", "430001000000000100000000000000");
    assert_sec(tok, "50006002", "430002000000000200000000000000");
    assert_sec(tok, "50006001", "430002000000000200000000000000");
    assert_sec(tok, "50000200", "430002000000000200000000000000");
    assert_sec(tok, "1000100060020001", "460002020000000200000000000000");
    assert_sec(tok, "1000100060010001", "460002000000000200000000000000");

    p11_p15_path_set(&aodf, (const uint8_t *)"\x3F\x00\x50\x00\x60\x05", 6);
    ck_assert_int_eq(k->obj.fs.write(k->obj.fs.ctx, &aodf, P11_P15_FILE_AODF, 256, junk, 4),
                     CKR_USER_NOT_LOGGED_IN);
    ck_assert_int_eq(tok->ops->logout(tok), CKR_OK);
    ck_assert_int_eq(login(tok, CKU_SO, SO_PIN), CKR_OK);
    /* (the SO rewrites the AODF through C_InitPIN; here just prove the right) */
    ck_assert_int_eq(tok->ops->init_pin(tok, (const uint8_t *)USER_PIN, 8), CKR_OK);
    p11_tobj_free(&pub);
    p11_tobj_free(&priv);
}
END_TEST

/* On a factory card the user's first object creates the application: EF(DIR), the AODF
 * and the ODF's deletion take "SO or user", so the user could fill them; C_InitPIN (the
 * SO) can still mark the user PIN. */
START_TEST(first_write_acls)
{
    /* (no get_info before the first write: the serial is read when the token opens) */
    populate(tok);
    assert_tokeninfo_serial(tok);
    assert_sec(tok, "2F00", "430003000000000300000000000000");
    assert_sec(tok, "50005031", "430000000000000300000000000000");
    assert_sec(tok, "50006005", "430003000000000300000000000000");
    assert_sec(tok, "50005032", "430000000000000200000000000000");
    assert_sec(tok, "50006002", "430002000000000200000000000000");
    assert_sec(tok, "50000500", "430202000000000200000000000000");
}
END_TEST

static void add_bn(p11_attrs *a, CK_ATTRIBUTE_TYPE type, EVP_PKEY *pk, const char *name)
{
    BIGNUM *bn = NULL;
    uint8_t buf[512];
    int len;

    ck_assert(EVP_PKEY_get_bn_param(pk, name, &bn));
    len = BN_bn2bin(bn, buf);
    ck_assert_int_eq(p11_attrs_set(a, type, buf, (CK_ULONG)len), CKR_OK);
    BN_free(bn);
}

/* A private key written with C_CreateObject gets no PuKDF entry (opensc-pkcs11 writes
 * none either), yet shows its modulus and exponent, in this session and the next: they
 * come from the public half the card keeps with the key. */
START_TEST(imported_key_without_pukdf)
{
    EVP_PKEY *pk = EVP_RSA_gen(1024);
    p11_attrs tmpl = {0};
    p11_tobj priv, *objs = NULL;
    kz_token *k = tok->drv;
    p11_p15_df *pukdf;
    p11_token *other;
    BIGNUM *bn = NULL;
    uint8_t n_be[128];
    size_t n = 0;

    ck_assert_ptr_nonnull(pk);
    ck_assert(EVP_PKEY_get_bn_param(pk, "n", &bn));
    ck_assert_int_eq(BN_bn2binpad(bn, n_be, sizeof(n_be)), 128);
    p11_attrs_set_ulong(&tmpl, CKA_CLASS, CKO_PRIVATE_KEY);
    p11_attrs_set_ulong(&tmpl, CKA_KEY_TYPE, CKK_RSA);
    p11_attrs_set(&tmpl, CKA_ID, "\x47", 1);
    p11_attrs_set(&tmpl, CKA_LABEL, "imported", 8);
    p11_attrs_set_bool(&tmpl, CKA_SIGN, true);
    add_bn(&tmpl, CKA_MODULUS, pk, "n");
    add_bn(&tmpl, CKA_PUBLIC_EXPONENT, pk, "e");
    add_bn(&tmpl, CKA_PRIVATE_EXPONENT, pk, "d");
    add_bn(&tmpl, CKA_PRIME_1, pk, "rsa-factor1");
    add_bn(&tmpl, CKA_PRIME_2, pk, "rsa-factor2");
    add_bn(&tmpl, CKA_EXPONENT_1, pk, "rsa-exponent1");
    add_bn(&tmpl, CKA_EXPONENT_2, pk, "rsa-exponent2");
    add_bn(&tmpl, CKA_COEFFICIENT, pk, "rsa-coefficient1");
    ck_assert_int_eq(login(tok, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(tok->ops->create_object(tok, &tmpl, &priv), CKR_OK);
    ck_assert_uint_eq(p11_attrs_get(&priv.attrs, CKA_MODULUS)->len, 128);
    ck_assert_mem_eq(p11_attrs_get(&priv.attrs, CKA_MODULUS)->value, n_be, 128);
    ck_assert_mem_eq(p11_attrs_get(&priv.attrs, CKA_PUBLIC_EXPONENT)->value, "\x01\x00\x01", 3);
    pukdf = p11_p15_card_df(&k->obj.p15, P11_P15_PUKDF);
    ck_assert(pukdf == NULL || pukdf->n == 0);
    ck_assert_uint_eq(count_objects(tok), 1);

    other = open_token();
    ck_assert_int_eq(login(other, CKU_USER, USER_PIN), CKR_OK);
    ck_assert_int_eq(other->ops->list_objects(other, &objs, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_mem_eq(p11_attrs_get(&objs[0].attrs, CKA_MODULUS)->value, n_be, 128);
    p11_tobjs_free(objs, n);
    other->ops->close(other);

    BN_free(bn);
    EVP_PKEY_free(pk);
    p11_attrs_free(&tmpl);
    p11_tobj_free(&priv);
}
END_TEST

void drv_kaztoken_init_tcases(Suite *s)
{
    TCase *tc = tcase_create("init token, ACLs, import");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_token_wipes_and_relabels);
    tcase_add_test(tc, init_token_acls_are_opensc);
    tcase_add_test(tc, first_write_acls);
    tcase_add_test(tc, imported_key_without_pukdf);
    suite_add_tcase(s, tc);
}
