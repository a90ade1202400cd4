/* The token side of NCA's flows, over the PKCS#11 module loaded as an application loads
 * it: sessions and login, the key sets on a token (certificates paired with their keys
 * by CKA_ID), on-token key generation, C_Sign, certificate write-back, C_SetPIN. */
#include "nca_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "sim.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

#define F (t->m.f)

static void unpad(char *out, size_t cap, const CK_UTF8CHAR *in, size_t width)
{
    size_t n = width;
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

static bool ends_with_p12(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && (strcasecmp(s + n - 4, ".p12") == 0 || strcasecmp(s + n - 4, ".pfx") == 0);
}

static CK_RV refresh_info(nca_tok *t)
{
    CK_TOKEN_INFO ti;
    CK_RV rv = F->C_GetTokenInfo(t->slot, &ti);

    if (rv != CKR_OK)
        return rv;
    unpad(t->label, sizeof(t->label), ti.label, sizeof(ti.label));
    unpad(t->manufacturer, sizeof(t->manufacturer), ti.manufacturerID, sizeof(ti.manufacturerID));
    unpad(t->model, sizeof(t->model), ti.model, sizeof(ti.model));
    unpad(t->serial, sizeof(t->serial), ti.serialNumber, sizeof(ti.serialNumber));
    t->flags = ti.flags;
    t->min_pin = ti.ulMinPinLen;
    t->max_pin = ti.ulMaxPinLen;
    return CKR_OK;
}

int nca_tok_open(nca_tok *t, const char *module_path, const char *home, const char *token, bool rw)
{
    char options[4200] = "";
    CK_RV rv;
    int rc;

    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", token);
    snprintf(t->home, sizeof(t->home), "%s", home);
    /* The module reads the same home as we do; quoted, since a path may hold blanks. */
    snprintf(options, sizeof(options), "home=\"%s\"", home);
    rc = vt_p11_load(&t->m, module_path, options, t->err, sizeof(t->err));
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rc = vt_p11_find_token(&t->m, home, token, &t->slot, t->err, sizeof(t->err));
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rv = refresh_info(t);
    if (rv == CKR_OK)
        rv = F->C_OpenSession(t->slot, CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL,
                              &t->s);
    if (rv != CKR_OK) {
        snprintf(t->err, sizeof(t->err), "cannot open a %ssession with %s: %s%s",
                 rw ? "read/write " : "", token, vt_ckr_name(rv),
                 rv == CKR_TOKEN_WRITE_PROTECTED ? " (a read-only file or token)" : "");
        return VTOKEN_EXIT_FAILURE;
    }
    t->have_session = true;
    t->media = ends_with_p12(token) || strstr(t->model, "PKCS#12") || strstr(t->model, "PKCS12")
                   ? NCA_MEDIA_FILE
                   : NCA_MEDIA_TOKEN;
    return VTOKEN_EXIT_OK;
}

void nca_tok_close(nca_tok *t)
{
    if (t->m.f) {
        if (t->logged_in)
            (void)F->C_Logout(t->s);
        if (t->have_session)
            (void)F->C_CloseSession(t->s);
    }
    t->logged_in = t->have_session = false;
    vt_p11_unload(&t->m);
}

/* ---- PINs ---------------------------------------------------------------------------- */

/* The exact counter of a virtual card of this home (tokcmd.c reads it from the card
 * image: CK_TOKEN_INFO has only the three flags). */
static bool card_counters(nca_tok *t, int *left, int *max)
{
    sim_card_info info;

    if (!tok_home_card(t->home, t->serial, NULL, 0, &info) || info.user_tries_left < 0)
        return false;
    *left = info.user_tries_left;
    *max = info.user_tries_max;
    return true;
}

void nca_tok_pin_state(nca_tok *t, nca_pin_state *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->tries_left = ps->tries_max = -1;
    (void)refresh_info(t);
    ps->locked = (t->flags & CKF_USER_PIN_LOCKED) != 0;
    ps->final_try = (t->flags & CKF_USER_PIN_FINAL_TRY) != 0;
    ps->count_low = (t->flags & CKF_USER_PIN_COUNT_LOW) != 0;
    /* PKCS#11 only has the three flags; a real card answers VERIFY with 63Cx, and NCA's
     * site shows that number. Our cards keep it in their image. */
    if (t->media == NCA_MEDIA_TOKEN && card_counters(t, &ps->tries_left, &ps->tries_max)) {
        ps->exact = true;
        ps->locked = ps->locked || ps->tries_left == 0;
    } else if (ps->locked) {
        ps->tries_left = 0;
    } else if (ps->final_try) {
        ps->tries_left = 1;
    }
}

CK_RV nca_tok_login(nca_tok *t, const char *pin, nca_pin_state *ps)
{
    CK_RV rv = F->C_Login(t->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));

    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv == CKR_OK)
        t->logged_in = true;
    else if (ps && (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE))
        nca_tok_pin_state(t, ps);
    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "C_Login: %s", vt_ckr_name(rv));
    return rv;
}

CK_RV nca_tok_set_pin(nca_tok *t, const char *old_pin, const char *new_pin, nca_pin_state *ps)
{
    CK_RV rv = F->C_SetPIN(t->s, (CK_UTF8CHAR_PTR)old_pin, strlen(old_pin),
                           (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin));

    if (rv != CKR_OK) {
        snprintf(t->err, sizeof(t->err), "C_SetPIN: %s", vt_ckr_name(rv));
        if (ps)
            nca_tok_pin_state(t, ps);
    }
    return rv;
}

/* ---- objects ------------------------------------------------------------------------- */

/* Every object matching tmpl (at most cap handles). */
static CK_RV find(nca_tok *t, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out, size_t cap,
                  size_t *count)
{
    CK_ULONG got = 0;
    CK_RV rv = F->C_FindObjectsInit(t->s, tmpl, n);

    *count = 0;
    if (rv != CKR_OK)
        return rv;
    while (*count < cap) {
        rv = F->C_FindObjects(t->s, out + *count, (CK_ULONG)(cap - *count), &got);
        if (rv != CKR_OK || got == 0)
            break;
        *count += got;
    }
    (void)F->C_FindObjectsFinal(t->s);
    return rv;
}

/* An attribute's value into a new buffer (caller frees), or NULL with *rv. */
static uint8_t *get_attr(nca_tok *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, size_t *len,
                         CK_RV *rv)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    uint8_t *v;

    *rv = F->C_GetAttributeValue(t->s, h, &a, 1);
    if (*rv != CKR_OK)
        return NULL;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        *rv = CKR_ATTRIBUTE_TYPE_INVALID;
        return NULL;
    }
    v = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!v) {
        *rv = CKR_HOST_MEMORY;
        return NULL;
    }
    a.pValue = v;
    *rv = F->C_GetAttributeValue(t->s, h, &a, 1);
    if (*rv != CKR_OK) {
        free(v);
        return NULL;
    }
    *len = a.ulValueLen;
    return v;
}

static CK_OBJECT_HANDLE find_by_id(nca_tok *t, CK_OBJECT_CLASS cls, const uint8_t *id,
                                   size_t id_len)
{
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ID, (void *)id, id_len},
    };
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    size_t n = 0;

    if (find(t, tmpl, VT_ARRAY_LEN(tmpl), &h, 1, &n) != CKR_OK || n == 0)
        return CK_INVALID_HANDLE;
    return h;
}

static int by_not_before(const void *a, const void *b)
{
    const nca_key *x = a, *y = b;
    return ASN1_TIME_compare(X509_get0_notBefore(x->cert), X509_get0_notBefore(y->cert));
}

#define MAX_OBJECTS 256

CK_RV nca_tok_keys(nca_tok *t, nca_key **keys, size_t *n)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE h[MAX_OBJECTS];
    nca_key *v = NULL;
    size_t count = 0, k = 0;
    CK_RV rv;

    *keys = NULL;
    *n = 0;
    rv = find(t, tmpl, VT_ARRAY_LEN(tmpl), h, VT_ARRAY_LEN(h), &count);
    if (rv != CKR_OK)
        goto out;
    v = calloc(count ? count : 1, sizeof(*v));
    if (!v) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        size_t len = 0, id_len = 0, label_len = 0;
        uint8_t *der = get_attr(t, h[i], CKA_VALUE, &len, &rv);
        uint8_t *id = der ? get_attr(t, h[i], CKA_ID, &id_len, &rv) : NULL;
        uint8_t *label = id ? get_attr(t, h[i], CKA_LABEL, &label_len, &rv) : NULL;
        const unsigned char *p = der;
        X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;

        /* Something that is not an X.509 certificate is not part of a key set. */
        if (x && id && id_len <= sizeof(v[k].id)) {
            nca_key *e = &v[k++];
            e->cert = x;
            x = NULL;
            e->tmpl = nca_cert_template(e->cert);
            memcpy(e->id, id, id_len);
            e->id_len = id_len;
            snprintf(e->label, sizeof(e->label), "%.*s", (int)label_len,
                     label ? (const char *)label : "");
            e->cert_h = h[i];
            e->priv_h = find_by_id(t, CKO_PRIVATE_KEY, e->id, e->id_len);
            e->pub_h = find_by_id(t, CKO_PUBLIC_KEY, e->id, e->id_len);
        }
        X509_free(x);
        free(der);
        free(id);
        free(label);
        if (rv == CKR_HOST_MEMORY)
            goto out;
        rv = CKR_OK;
    }
    qsort(v, k, sizeof(*v), by_not_before);
    *keys = v;
    *n = k;
    v = NULL;
out:
    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "cannot list the objects of %s: %s", t->name,
                 vt_ckr_name(rv));
    nca_keys_free(v, k);
    return rv;
}

void nca_keys_free(nca_key *keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++)
        X509_free(keys[i].cert);
    free(keys);
}

const nca_key *nca_keys_current(const nca_key *keys, size_t n, nca_template tmpl)
{
    for (size_t i = n; i-- > 0;)
        if (keys[i].tmpl == tmpl && keys[i].priv_h != CK_INVALID_HANDLE)
            return &keys[i];
    return NULL;
}

/* ---- key generation, signing, write-back --------------------------------------------- */

static EVP_PKEY *rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;

    if (bld && bn && be && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1)
        (void)EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    BN_free(bn);
    BN_free(be);
    OSSL_PARAM_BLD_free(bld);
    return key;
}

CK_RV nca_tok_generate(nca_tok *t, nca_template tmpl, CK_ULONG bits, CK_OBJECT_HANDLE *pub,
                       CK_OBJECT_HANDLE *priv, EVP_PKEY **pub_key)
{
    CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE, enc = tmpl == NCA_TEMPLATE_AUTH ? CK_TRUE : CK_FALSE;
    CK_BYTE exponent[] = {0x01, 0x00, 0x01};
    uint8_t id[NCA_SKI_LEN];
    char label[] = NCA_PENDING_LABEL;
    CK_ATTRIBUTE pub_tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_MODULUS_BITS, &bits, sizeof(bits)},
        {CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)},
        {CKA_VERIFY, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &enc, sizeof(enc)},
        {CKA_ID, id, sizeof(id)},
        {CKA_LABEL, label, strlen(label)},
    };
    CK_ATTRIBUTE priv_tmpl[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},      {CKA_DECRYPT, &enc, sizeof(enc)},
        {CKA_ID, id, sizeof(id)},           {CKA_LABEL, label, strlen(label)},
    };
    uint8_t *n = NULL, *e = NULL;
    size_t n_len = 0, e_len = 0;
    CK_RV rv;

    *pub = *priv = CK_INVALID_HANDLE;
    *pub_key = NULL;
    /* A temporary ID: NCA's (the SKI) is known only once the public key exists. */
    if (RAND_bytes(id, sizeof(id)) != 1)
        return CKR_FUNCTION_FAILED;
    rv = F->C_GenerateKeyPair(t->s, &mech, pub_tmpl, VT_ARRAY_LEN(pub_tmpl), priv_tmpl,
                              VT_ARRAY_LEN(priv_tmpl), pub, priv);
    if (rv != CKR_OK) {
        snprintf(t->err, sizeof(t->err), "C_GenerateKeyPair (RSA-%lu): %s", (unsigned long)bits,
                 vt_ckr_name(rv));
        return rv;
    }
    n = get_attr(t, *pub, CKA_MODULUS, &n_len, &rv);
    e = n ? get_attr(t, *pub, CKA_PUBLIC_EXPONENT, &e_len, &rv) : NULL;
    if (e)
        *pub_key = rsa_public(n, n_len, e, e_len);
    if (rv == CKR_OK && !*pub_key)
        rv = CKR_GENERAL_ERROR;
    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "cannot read the new public key: %s", vt_ckr_name(rv));
    free(n);
    free(e);
    return rv;
}

CK_RV nca_tok_set_id(nca_tok *t, CK_OBJECT_HANDLE h, const uint8_t *id, size_t id_len,
                     const char *label, bool *named_by_token)
{
    CK_BBOOL modifiable = CK_TRUE;
    CK_ATTRIBUTE m = {CKA_MODIFIABLE, &modifiable, sizeof(modifiable)};
    CK_ATTRIBUTE a[] = {
        {CKA_ID, (void *)id, id_len},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_RV rv;

    *named_by_token = false;
    if (F->C_GetAttributeValue(t->s, h, &m, 1) == CKR_OK && modifiable == CK_FALSE) {
        *named_by_token = true;
        return CKR_OK;
    }
    rv = F->C_SetAttributeValue(t->s, h, a, VT_ARRAY_LEN(a));
    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "C_SetAttributeValue (CKA_ID, CKA_LABEL): %s",
                 vt_ckr_name(rv));
    return rv;
}

CK_OBJECT_HANDLE nca_tok_private_key(nca_tok *t, const uint8_t *id, size_t id_len)
{
    return find_by_id(t, CKO_PRIVATE_KEY, id, id_len);
}

CK_RV nca_tok_sign(nca_tok *t, CK_OBJECT_HANDLE priv, const uint8_t *data, size_t len, uint8_t *sig,
                   size_t *sig_len)
{
    CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_ULONG out_len = *sig_len;
    CK_RV rv = F->C_SignInit(t->s, &mech, priv);

    if (rv == CKR_OK)
        rv = F->C_Sign(t->s, (CK_BYTE_PTR)data, len, sig, &out_len);
    if (rv != CKR_OK) {
        snprintf(t->err, sizeof(t->err), "C_Sign (CKM_SHA256_RSA_PKCS): %s", vt_ckr_name(rv));
        return rv;
    }
    *sig_len = out_len;
    return CKR_OK;
}

CK_RV nca_tok_write_cert(nca_tok *t, X509 *cert, const uint8_t *id, size_t id_len,
                         const char *label, CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    unsigned char *der = NULL;
    int der_len = i2d_X509(cert, &der);
    CK_RV rv;

    if (der_len <= 0)
        return CKR_HOST_MEMORY;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_CERTIFICATE_TYPE, &type, sizeof(type)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_ID, (void *)id, id_len},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, der, (CK_ULONG)der_len},
    };
    rv = F->C_CreateObject(t->s, tmpl, VT_ARRAY_LEN(tmpl), out);
    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "C_CreateObject (certificate): %s", vt_ckr_name(rv));
    OPENSSL_free(der);
    return rv;
}

CK_RV nca_tok_destroy(nca_tok *t, CK_OBJECT_HANDLE h)
{
    CK_RV rv = F->C_DestroyObject(t->s, h);

    if (rv != CKR_OK)
        snprintf(t->err, sizeof(t->err), "C_DestroyObject: %s", vt_ckr_name(rv));
    return rv;
}

CK_RV nca_tok_destroy_set(nca_tok *t, CK_OBJECT_HANDLE cert, CK_OBJECT_HANDLE priv,
                          CK_OBJECT_HANDLE pub)
{
    CK_OBJECT_CLASS cls;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    CK_RV rv = CKR_OK;

    if (cert != CK_INVALID_HANDLE)
        rv = nca_tok_destroy(t, cert);
    if (rv == CKR_OK && priv != CK_INVALID_HANDLE)
        rv = nca_tok_destroy(t, priv);
    /* Still there after its private key went? Then it is an object of its own. */
    if (rv == CKR_OK && pub != CK_INVALID_HANDLE &&
        F->C_GetAttributeValue(t->s, pub, &a, 1) == CKR_OK)
        rv = nca_tok_destroy(t, pub);
    return rv;
}

CK_RV nca_tok_remove_pending(nca_tok *t, size_t *removed)
{
    char label[] = NCA_PENDING_LABEL;
    CK_ATTRIBUTE tmpl[] = {{CKA_LABEL, label, strlen(label)}};
    CK_OBJECT_HANDLE h[MAX_OBJECTS];
    size_t n = 0;
    CK_RV rv = find(t, tmpl, VT_ARRAY_LEN(tmpl), h, VT_ARRAY_LEN(h), &n);

    *removed = 0;
    /* Private keys first: on a .p12 the public key goes with its private key. */
    for (int pass = 0; rv == CKR_OK && pass < 2; pass++) {
        for (size_t i = 0; rv == CKR_OK && i < n; i++) {
            CK_OBJECT_CLASS cls;
            CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
            if (h[i] == CK_INVALID_HANDLE)
                continue;
            if (F->C_GetAttributeValue(t->s, h[i], &a, 1) != CKR_OK) {
                h[i] = CK_INVALID_HANDLE; /* gone with its key */
                continue;
            }
            if (pass == 0 && cls != CKO_PRIVATE_KEY)
                continue;
            rv = nca_tok_destroy(t, h[i]);
            h[i] = CK_INVALID_HANDLE;
            if (rv == CKR_OK)
                (*removed)++;
        }
    }
    return rv;
}
