/* The mock token (see mock_token.h). Behaves like a card where the module can tell:
 * counters, locks, login state per "connection", always-authenticate keys. */
#include "mock_token.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "vt_util.h"

typedef struct mock_obj {
    p11_attrs attrs; /* what list_objects reports */
    EVP_PKEY *key;   /* private keys */
    uint32_t ref;
    bool is_private;
    bool always_auth;
} mock_obj;

struct mock_card {
    mock_config cfg;
    char label[33];
    char user_pin[64], so_pin[64];
    bool user_pin_set;
    int user_tries, so_tries;
    _Atomic bool present; /* pulled by tests while a waiter polls */
    /* the current connection's security state */
    bool user_in, so_in, ctx_ok;
    mock_obj *objs;
    size_t nobjs, cap;
    uint32_t next_ref;
    _Atomic uint64_t gen; /* moved by tests from their own thread too */
    unsigned list_calls, sign_calls;
};

static EVP_PKEY *keys[3];

void mock_keys_init(void)
{
    static const unsigned bits[3] = {1024, 1024, 2048};
    for (int i = 0; i < 3; i++)
        if (!keys[i])
            keys[i] = EVP_RSA_gen(bits[i]);
}

EVP_PKEY *mock_key(int i)
{
    mock_keys_init();
    return keys[i];
}

void mock_config_default(mock_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->caps =
        P11_CAP_RSA_RAW | P11_CAP_RSA_PKCS1 | P11_CAP_KEYGEN_RSA | P11_CAP_RNG | P11_CAP_WRITE;
    cfg->label = "mock token";
    cfg->serial = "0123456789ABCDEF";
    cfg->user_pin = "12345678";
    cfg->so_pin = "87654321";
    cfg->user_tries_max = 3;
    cfg->so_tries_max = 3;
    cfg->min_pin = 6;
    cfg->max_pin = 32;
}

mock_card *mock_card_new(const mock_config *cfg)
{
    mock_card *c = calloc(1, sizeof(*c));
    c->cfg = *cfg;
    snprintf(c->label, sizeof(c->label), "%s", cfg->label);
    if (cfg->user_pin) {
        snprintf(c->user_pin, sizeof(c->user_pin), "%s", cfg->user_pin);
        c->user_pin_set = true;
    }
    snprintf(c->so_pin, sizeof(c->so_pin), "%s", cfg->so_pin);
    c->user_tries = cfg->user_tries_max;
    c->so_tries = cfg->so_tries_max;
    c->present = true;
    c->next_ref = 1;
    c->gen = 1;
    return c;
}

static void obj_free(mock_obj *o)
{
    p11_attrs_free(&o->attrs);
    EVP_PKEY_free(o->key);
}

void mock_card_free(mock_card *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nobjs; i++)
        obj_free(&c->objs[i]);
    free(c->objs);
    free(c);
}

/* Only atomics here: a test thread pulls the card while the module polls it. The
 * security state goes with the connection (m_present, mock_open). */
void mock_card_set_present(mock_card *c, bool present)
{
    atomic_store(&c->present, present);
    atomic_fetch_add(&c->gen, 1);
}

int mock_card_user_tries(const mock_card *c)
{
    return c->user_tries;
}

int mock_card_so_tries(const mock_card *c)
{
    return c->so_tries;
}

unsigned mock_card_list_calls(const mock_card *c)
{
    return c->list_calls;
}

unsigned mock_card_sign_calls(const mock_card *c)
{
    return c->sign_calls;
}

size_t mock_card_object_count(const mock_card *c)
{
    return c->nobjs;
}

void mock_card_bump_generation(mock_card *c)
{
    c->gen++;
}

static mock_obj *obj_add(mock_card *c)
{
    if (c->nobjs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->objs = realloc(c->objs, c->cap * sizeof(*c->objs));
    }
    mock_obj *o = &c->objs[c->nobjs++];
    memset(o, 0, sizeof(*o));
    o->ref = c->next_ref++;
    c->gen++;
    return o;
}

static mock_obj *obj_by_ref(mock_card *c, const p11_tobj *t)
{
    uint32_t ref;
    if (t->ref_len != sizeof(ref))
        return NULL;
    memcpy(&ref, t->ref, sizeof(ref));
    for (size_t i = 0; i < c->nobjs; i++)
        if (c->objs[i].ref == ref)
            return &c->objs[i];
    return NULL;
}

static void bn_attr(p11_attrs *a, CK_ATTRIBUTE_TYPE t, EVP_PKEY *k, const char *name)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, name, &bn))
        return;
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n);
    BN_bn2bin(bn, buf);
    p11_attrs_set(a, t, buf, (CK_ULONG)n);
    free(buf);
    BN_free(bn);
}

static void set_str(p11_attrs *a, CK_ATTRIBUTE_TYPE t, const char *s)
{
    if (s)
        p11_attrs_set(a, t, s, (CK_ULONG)strlen(s));
}

void mock_card_add_keypair(mock_card *c, EVP_PKEY *key, const char *id, const char *label,
                           bool always_auth, bool with_pubkey, bool with_modulus)
{
    mock_obj *o = obj_add(c);
    EVP_PKEY_up_ref(key);
    o->key = key;
    o->is_private = true;
    o->always_auth = always_auth;
    p11_attrs *a = &o->attrs;
    p11_attrs_set_ulong(a, CKA_CLASS, CKO_PRIVATE_KEY);
    p11_attrs_set_ulong(a, CKA_KEY_TYPE, CKK_RSA);
    p11_attrs_set_bool(a, CKA_TOKEN, true);
    p11_attrs_set_bool(a, CKA_PRIVATE, true);
    p11_attrs_set_bool(a, CKA_SIGN, true);
    p11_attrs_set_bool(a, CKA_DECRYPT, true);
    p11_attrs_set_bool(a, CKA_SENSITIVE, true);
    p11_attrs_set_bool(a, CKA_EXTRACTABLE, false);
    p11_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, true);
    p11_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, true);
    p11_attrs_set_bool(a, CKA_LOCAL, true);
    p11_attrs_set_bool(a, CKA_ALWAYS_AUTHENTICATE, always_auth);
    set_str(a, CKA_ID, id);
    set_str(a, CKA_LABEL, label);
    if (with_modulus) {
        bn_attr(a, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N);
        bn_attr(a, CKA_PUBLIC_EXPONENT, key, OSSL_PKEY_PARAM_RSA_E);
    }
    if (!with_pubkey)
        return;
    o = obj_add(c);
    a = &o->attrs;
    p11_attrs_set_ulong(a, CKA_CLASS, CKO_PUBLIC_KEY);
    p11_attrs_set_ulong(a, CKA_KEY_TYPE, CKK_RSA);
    p11_attrs_set_bool(a, CKA_TOKEN, true);
    p11_attrs_set_bool(a, CKA_PRIVATE, false);
    p11_attrs_set_bool(a, CKA_VERIFY, true);
    p11_attrs_set_bool(a, CKA_ENCRYPT, true);
    p11_attrs_set_bool(a, CKA_LOCAL, true);
    set_str(a, CKA_ID, id);
    set_str(a, CKA_LABEL, label);
    bn_attr(a, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N);
    bn_attr(a, CKA_PUBLIC_EXPONENT, key, OSSL_PKEY_PARAM_RSA_E);
}

size_t mock_make_cert(EVP_PKEY *key, const char *cn, unsigned char **der)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"KZ", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    *der = NULL;
    int len = i2d_X509(x, der);
    X509_free(x);
    return len > 0 ? (size_t)len : 0;
}

void mock_card_add_cert(mock_card *c, const unsigned char *der, size_t len, const char *id,
                        const char *label)
{
    mock_obj *o = obj_add(c);
    p11_attrs *a = &o->attrs;
    p11_attrs_set_ulong(a, CKA_CLASS, CKO_CERTIFICATE);
    p11_attrs_set_ulong(a, CKA_CERTIFICATE_TYPE, CKC_X_509);
    p11_attrs_set_bool(a, CKA_TOKEN, true);
    p11_attrs_set_bool(a, CKA_PRIVATE, false);
    set_str(a, CKA_ID, id);
    set_str(a, CKA_LABEL, label);
    p11_attrs_set(a, CKA_VALUE, der, (CK_ULONG)len);
}

void mock_card_add_data(mock_card *c, const char *label, const char *value, bool is_private)
{
    mock_obj *o = obj_add(c);
    o->is_private = is_private;
    p11_attrs *a = &o->attrs;
    p11_attrs_set_ulong(a, CKA_CLASS, CKO_DATA);
    p11_attrs_set_bool(a, CKA_TOKEN, true);
    p11_attrs_set_bool(a, CKA_PRIVATE, is_private);
    set_str(a, CKA_LABEL, label);
    set_str(a, CKA_VALUE, value);
}

/* ---- p11_token_ops ---------------------------------------------------------------- */

#define CARD(t) ((mock_card *)(t)->drv)

static CK_RV m_get_info(p11_token *t, p11_token_info *info)
{
    mock_card *c = CARD(t);
    if (!c->present)
        return CKR_DEVICE_REMOVED;
    snprintf(info->label, sizeof(info->label), "%s", c->label);
    snprintf(info->manufacturer, sizeof(info->manufacturer), "vtoken tests");
    snprintf(info->model, sizeof(info->model), "mock");
    snprintf(info->serial, sizeof(info->serial), "%s", c->cfg.serial);
    info->flags = CKF_LOGIN_REQUIRED | CKF_TOKEN_INITIALIZED |
                  (c->user_pin_set ? CKF_USER_PIN_INITIALIZED : 0) |
                  (c->cfg.write_protected ? CKF_WRITE_PROTECTED : 0);
    info->min_pin = c->cfg.min_pin;
    info->max_pin = c->cfg.max_pin;
    info->total_mem = 65536;
    info->free_mem = 65536 - 100 * c->nobjs;
    info->hw.major = 1;
    info->fw.major = 2;
    info->user_tries_left = c->user_tries;
    info->user_tries_max = c->cfg.user_tries_max;
    info->so_tries_left = c->so_tries;
    info->so_tries_max = c->cfg.so_tries_max;
    return CKR_OK;
}

/* VERIFY with a retry counter: the try is spent before the comparison. */
static CK_RV verify(int *tries, int max, const char *want, const uint8_t *pin, size_t len)
{
    if (*tries == 0)
        return CKR_PIN_LOCKED;
    (*tries)--;
    if (len == strlen(want) && !memcmp(want, pin, len)) {
        *tries = max;
        return CKR_OK;
    }
    return CKR_PIN_INCORRECT;
}

static CK_RV m_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    mock_card *c = CARD(t);
    CK_RV rv;
    if (!c->present)
        return CKR_DEVICE_REMOVED;
    if (who == CKU_SO) {
        rv = verify(&c->so_tries, c->cfg.so_tries_max, c->so_pin, pin, len);
        c->so_in = rv == CKR_OK;
        return rv;
    }
    if (!c->user_pin_set)
        return CKR_USER_PIN_NOT_INITIALIZED;
    rv = verify(&c->user_tries, c->cfg.user_tries_max, c->user_pin, pin, len);
    if (who == CKU_CONTEXT_SPECIFIC)
        c->ctx_ok = rv == CKR_OK;
    else
        c->user_in = rv == CKR_OK;
    return rv;
}

static CK_RV m_logout(p11_token *t)
{
    mock_card *c = CARD(t);
    c->user_in = c->so_in = c->ctx_ok = false;
    return c->present ? CKR_OK : CKR_DEVICE_REMOVED;
}

static CK_RV check_policy(const mock_card *c, const uint8_t *pin, size_t len)
{
    if (len < c->cfg.min_pin || len > c->cfg.max_pin)
        return CKR_PIN_LEN_RANGE;
    for (size_t i = 0; c->cfg.digits_only && i < len; i++)
        if (pin[i] < '0' || pin[i] > '9')
            return CKR_PIN_INVALID;
    return CKR_OK;
}

static CK_RV m_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                       const uint8_t *new_pin, size_t new_len)
{
    mock_card *c = CARD(t);
    CK_RV rv = check_policy(c, new_pin, new_len);
    if (rv != CKR_OK)
        return rv;
    if (who == CKU_SO) {
        rv = verify(&c->so_tries, c->cfg.so_tries_max, c->so_pin, old_pin, old_len);
        if (rv == CKR_OK)
            snprintf(c->so_pin, sizeof(c->so_pin), "%.*s", (int)new_len, (const char *)new_pin);
        return rv;
    }
    rv = verify(&c->user_tries, c->cfg.user_tries_max, c->user_pin, old_pin, old_len);
    if (rv == CKR_OK)
        snprintf(c->user_pin, sizeof(c->user_pin), "%.*s", (int)new_len, (const char *)new_pin);
    return rv;
}

static CK_RV m_init_pin(p11_token *t, const uint8_t *pin, size_t len)
{
    mock_card *c = CARD(t);
    if (!c->so_in)
        return CKR_USER_NOT_LOGGED_IN;
    CK_RV rv = check_policy(c, pin, len);
    if (rv != CKR_OK)
        return rv;
    snprintf(c->user_pin, sizeof(c->user_pin), "%.*s", (int)len, (const char *)pin);
    c->user_pin_set = true;
    c->user_tries = c->cfg.user_tries_max; /* unblocked */
    return CKR_OK;
}

static CK_RV m_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label)
{
    mock_card *c = CARD(t);
    CK_RV rv = verify(&c->so_tries, c->cfg.so_tries_max, c->so_pin, so_pin, len);
    if (rv != CKR_OK)
        return rv;
    for (size_t i = 0; i < c->nobjs; i++)
        obj_free(&c->objs[i]);
    c->nobjs = 0;
    c->gen++;
    snprintf(c->label, sizeof(c->label), "%s", label);
    c->user_pin_set = false;
    c->user_in = c->so_in = false;
    return CKR_OK;
}

static void to_tobj(const mock_obj *o, p11_tobj *t)
{
    memset(t, 0, sizeof(*t));
    p11_attrs_copy(&t->attrs, &o->attrs);
    memcpy(t->ref, &o->ref, sizeof(o->ref));
    t->ref_len = sizeof(o->ref);
}

static CK_RV m_list(p11_token *t, p11_tobj **objs, size_t *n)
{
    mock_card *c = CARD(t);
    if (!c->present)
        return CKR_DEVICE_REMOVED;
    c->list_calls++;
    *objs = calloc(c->nobjs ? c->nobjs : 1, sizeof(**objs));
    *n = 0;
    for (size_t i = 0; i < c->nobjs; i++)
        if (!c->objs[i].is_private || c->user_in)
            to_tobj(&c->objs[i], &(*objs)[(*n)++]);
    return CKR_OK;
}

static uint64_t m_generation(p11_token *t)
{
    return CARD(t)->gen;
}

static EVP_PKEY *key_from_template(const p11_attrs *a)
{
    static const struct {
        CK_ATTRIBUTE_TYPE t;
        const char *name;
    } parts[] = {
        {CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N},
        {CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E},
        {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
        {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1},
        {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2},
        {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
    };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bns[8] = {0};
    EVP_PKEY *pk = NULL;
    for (size_t i = 0; i < 8; i++) {
        const p11_attr *at = p11_attrs_get(a, parts[i].t);
        if (!at)
            continue;
        bns[i] = BN_bin2bn(at->value, (int)at->len, NULL);
        OSSL_PARAM_BLD_push_BN(bld, parts[i].name, bns[i]);
    }
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, p) <= 0)
        pk = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(bns[i]);
    return pk;
}

static CK_RV m_create(p11_token *t, const p11_attrs *tmpl, p11_tobj *out)
{
    mock_card *c = CARD(t);
    if (!c->user_in)
        return CKR_USER_NOT_LOGGED_IN; /* the card wants the PIN for any write */
    CK_ULONG cls = 0;
    p11_attrs_get_ulong(tmpl, CKA_CLASS, &cls);
    EVP_PKEY *key = NULL;
    if (cls == CKO_PRIVATE_KEY) {
        key = key_from_template(tmpl);
        if (!key)
            return CKR_TEMPLATE_INCONSISTENT;
    }
    mock_obj *o = obj_add(c);
    p11_attrs_copy(&o->attrs, tmpl);
    static const CK_ATTRIBUTE_TYPE secret[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                               CKA_PRIME_2,          CKA_EXPONENT_1,
                                               CKA_EXPONENT_2,       CKA_COEFFICIENT};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        p11_attrs_remove(&o->attrs, secret[i]);
    o->key = key;
    bool priv = false;
    p11_attrs_get_bool(tmpl, CKA_PRIVATE, &priv);
    o->is_private = priv;
    p11_attrs_get_bool(tmpl, CKA_ALWAYS_AUTHENTICATE, &o->always_auth);
    to_tobj(o, out);
    return CKR_OK;
}

static CK_RV m_destroy(p11_token *t, const p11_tobj *obj)
{
    mock_card *c = CARD(t);
    mock_obj *o = obj_by_ref(c, obj);
    if (!o)
        return CKR_OBJECT_HANDLE_INVALID;
    if (!c->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    obj_free(o);
    *o = c->objs[--c->nobjs];
    c->gen++;
    return CKR_OK;
}

static CK_RV m_set_attrs(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                         p11_tobj *updated)
{
    mock_card *c = CARD(t);
    mock_obj *o = obj_by_ref(c, obj);
    if (!o)
        return CKR_OBJECT_HANDLE_INVALID;
    if (!c->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    for (size_t i = 0; i < changes->n; i++)
        if (changes->v[i].type != CKA_LABEL && changes->v[i].type != CKA_ID)
            return CKR_ATTRIBUTE_READ_ONLY; /* what this card can store */
    for (size_t i = 0; i < changes->n; i++)
        p11_attrs_set(&o->attrs, changes->v[i].type, changes->v[i].value, changes->v[i].len);
    c->gen++;
    to_tobj(o, updated);
    return CKR_OK;
}

static CK_RV m_generate(p11_token *t, CK_ULONG bits, const uint8_t *exp, size_t exp_len,
                        const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                        p11_tobj *priv)
{
    mock_card *c = CARD(t);
    (void)exp;
    if (!c->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    if (exp_len != 3)
        return CKR_TEMPLATE_INCONSISTENT; /* this card does 65537 only */
    /* Pre-made keys stand in for fresh ones: the module cannot tell, the tests run fast. */
    EVP_PKEY *key = bits == 2048 ? mock_key(2) : mock_key((int)(c->next_ref % 2));
    mock_obj *o = obj_add(c);
    p11_attrs_copy(&o->attrs, priv_tmpl);
    bn_attr(&o->attrs, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N);
    bn_attr(&o->attrs, CKA_PUBLIC_EXPONENT, key, OSSL_PKEY_PARAM_RSA_E);
    EVP_PKEY_up_ref(key);
    o->key = key;
    o->is_private = true;
    p11_attrs_get_bool(priv_tmpl, CKA_ALWAYS_AUTHENTICATE, &o->always_auth);
    to_tobj(o, priv);
    bool pub_token = false;
    p11_attrs_get_bool(pub_tmpl, CKA_TOKEN, &pub_token);
    p11_attrs pa = {0};
    p11_attrs_copy(&pa, pub_tmpl);
    bn_attr(&pa, CKA_MODULUS, key, OSSL_PKEY_PARAM_RSA_N);
    bn_attr(&pa, CKA_PUBLIC_EXPONENT, key, OSSL_PKEY_PARAM_RSA_E);
    if (pub_token) {
        mock_obj *po = obj_add(c);
        po->attrs = pa;
        to_tobj(po, pub);
    } else {
        memset(pub, 0, sizeof(*pub));
        pub->attrs = pa;
    }
    return CKR_OK;
}

static CK_RV key_op(mock_card *c, const p11_tobj *key, mock_obj **out)
{
    if (!c->present)
        return CKR_DEVICE_REMOVED;
    mock_obj *o = obj_by_ref(c, key);
    if (!o || !o->key)
        return CKR_KEY_HANDLE_INVALID;
    if (!c->user_in)
        return CKR_USER_NOT_LOGGED_IN;
    if (o->always_auth && !c->ctx_ok)
        return CKR_USER_NOT_LOGGED_IN;
    c->ctx_ok = false;
    *out = o;
    return CKR_OK;
}

static CK_RV m_sign(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                    size_t in_len, uint8_t *out, size_t *out_len)
{
    mock_card *c = CARD(t);
    mock_obj *o;
    CK_RV rv = key_op(c, key, &o);
    if (rv != CKR_OK)
        return rv;
    if ((op == P11_RSA_RAW && !(c->cfg.caps & P11_CAP_RSA_RAW)) ||
        (op == P11_RSA_PKCS1 && !(c->cfg.caps & P11_CAP_RSA_PKCS1)))
        return CKR_FUNCTION_NOT_SUPPORTED;
    c->sign_calls++;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(o->key, NULL);
    rv = CKR_DEVICE_ERROR;
    if (EVP_PKEY_sign_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, op == P11_RSA_RAW ? RSA_NO_PADDING : RSA_PKCS1_PADDING) >
            0 &&
        EVP_PKEY_sign(ctx, out, out_len, in, in_len) > 0)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static CK_RV m_decrypt(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t *out_len)
{
    mock_card *c = CARD(t);
    mock_obj *o;
    CK_RV rv = key_op(c, key, &o);
    if (rv != CKR_OK)
        return rv;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(o->key, NULL);
    rv = CKR_ENCRYPTED_DATA_INVALID;
    if (EVP_PKEY_decrypt_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, op == P11_RSA_RAW ? RSA_NO_PADDING : RSA_PKCS1_PADDING) >
            0 &&
        EVP_PKEY_decrypt(ctx, out, out_len, in, in_len) > 0)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static CK_RV m_random(p11_token *t, uint8_t *out, size_t len)
{
    if (!CARD(t)->present)
        return CKR_DEVICE_REMOVED;
    return RAND_bytes(out, (int)len) == 1 ? CKR_OK : CKR_DEVICE_ERROR;
}

static CK_RV m_present(p11_token *t)
{
    mock_card *c = CARD(t);
    if (atomic_load(&c->present))
        return CKR_OK;
    c->user_in = c->so_in = c->ctx_ok = false;
    return CKR_TOKEN_NOT_PRESENT;
}

static void m_close(p11_token *t)
{
    free(t); /* the security state is reset when the next connection opens */
}

static const p11_token_ops mock_ops_template = {
    .name = "mock",
    .rsa_min_bits = 1024,
    .rsa_max_bits = 2048,
    .get_info = m_get_info,
    .login = m_login,
    .logout = m_logout,
    .set_pin = m_set_pin,
    .init_pin = m_init_pin,
    .init_token = m_init_token,
    .list_objects = m_list,
    .generation = m_generation,
    .create_object = m_create,
    .destroy_object = m_destroy,
    .set_attributes = m_set_attrs,
    .generate_rsa = m_generate,
    .rsa_sign = m_sign,
    .rsa_decrypt = m_decrypt,
    .ec_sign = NULL,
    .random = m_random,
    .present = m_present,
    .close = m_close,
};

/* One ops table per capability set the tests use. */
typedef struct mock_token {
    p11_token tok;
    p11_token_ops ops;
} mock_token;

CK_RV mock_open(void *card, p11_token **out)
{
    mock_card *c = card;
    if (!atomic_load(&c->present))
        return CKR_TOKEN_NOT_PRESENT;
    c->user_in = c->so_in = c->ctx_ok = false; /* a new connection */
    mock_token *mt = calloc(1, sizeof(*mt));
    mt->ops = mock_ops_template;
    mt->ops.caps = c->cfg.caps;
    mt->tok.ops = &mt->ops;
    mt->tok.drv = c;
    mt->tok.changes_seen_at_txn = c->cfg.changes_seen_at_txn;
    *out = &mt->tok;
    return CKR_OK;
}
