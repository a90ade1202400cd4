/* `vtoken import TOKEN FILE.p12`: put the keys and certificates of a PKCS#12 file (NCA's
 * test keys, say) onto a token through the module, as a personalisation tool would:
 * C_CreateObject for each private key (sensitive, not extractable, CKA_ID = the
 * certificate's SubjectKeyIdentifier, CKA_LABEL = the alias NCA gives it), then for its
 * certificate. The file is read with keystore's PKCS#12 reader (NCA's legacy algorithms). */
#include <getopt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certview.h"
#include "json.h"
#include "p12.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

static const char import_help[] =
    "Usage: vtoken import TOKEN FILE.p12 [--password PASSWORD] [--pin PIN]\n"
    "                     [--pin-file FILE] [--home DIR] [--json]\n"
    "\n"
    "Write the private keys of a PKCS#12 file onto a token, each with its certificate,\n"
    "through the PKCS#11 module (C_CreateObject). A key is stored sensitive and not\n"
    "extractable; it is not 'local' (it was not generated on the token). CKA_ID is the\n"
    "certificate's SubjectKeyIdentifier and CKA_LABEL the key's friendlyName in the file\n"
    "(NCA's alias: the SKI in hex), so the token then holds the key as NCA's tools expect.\n"
    "Certificates without a key in the file are written too. Only RSA keys of the sizes\n"
    "the token supports (1024 and 2048 bits on the cards) can be imported.\n"
    "\n"
    "Secrets not given as options are read, one per line, from --pin-file or standard\n"
    "input, in this order: the file's password, then the token's user PIN. On a terminal\n"
    "they are asked for without echo.\n"
    "\n"
    "TOKEN: a name from vtoken.conf, slot:N, label:LABEL or FILE.p12 (see 'vtoken show\n"
    "--help').\n"
    "\n"
    "Options:\n"
    "  --password PASSWORD  the PKCS#12 file's password (NCA test files: Qwerty12)\n"
    "  --pin PIN            the token's user PIN\n"
    "  --pin-file FILE      read missing secrets from FILE ('-': standard input)\n"
    "  --module PATH        the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                       else the installed one)\n"
    "  --home DIR           the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json               machine-readable output (one JSON object; \"complete\" is\n"
    "                       false when an object failed after others were written)\n"
    "  -h, --help           this text\n"
    "\n"
    "A wrong file password exits with 6, like a wrong PIN. Each key goes with its\n"
    "certificate or not at all; when a later one fails, those already written stay and\n"
    "are listed.\n"
    "\n" VTOKEN_EXIT_HELP;

/* Attribute values collected for one C_CreateObject: wiped and freed together. */
typedef struct tmpl {
    CK_ATTRIBUTE a[24];
    CK_ULONG n;
    uint8_t *owned[24]; /* values we allocated */
    size_t owned_len[24];
    size_t nowned;
} tmpl;

static CK_BBOOL ck_true = CK_TRUE, ck_false = CK_FALSE;

static void tmpl_add(tmpl *t, CK_ATTRIBUTE_TYPE type, void *v, size_t len)
{
    t->a[t->n].type = type;
    t->a[t->n].pValue = v;
    t->a[t->n].ulValueLen = len;
    t->n++;
}

/* A big number as a big-endian byte string (owned by t). False on failure. */
static bool tmpl_add_bn(tmpl *t, CK_ATTRIBUTE_TYPE type, const EVP_PKEY *pk, const char *param)
{
    BIGNUM *bn = NULL;
    uint8_t *v;
    int len;

    if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
        return false;
    len = BN_num_bytes(bn);
    v = malloc(len > 0 ? (size_t)len : 1);
    if (!v) {
        BN_clear_free(bn);
        return false;
    }
    BN_bn2bin(bn, v);
    BN_clear_free(bn);
    t->owned[t->nowned] = v;
    t->owned_len[t->nowned++] = (size_t)len;
    tmpl_add(t, type, v, (size_t)len);
    return true;
}

static void tmpl_free(tmpl *t)
{
    for (size_t i = 0; i < t->nowned; i++) {
        vt_wipe(t->owned[i], t->owned_len[i]);
        free(t->owned[i]);
    }
    memset(t, 0, sizeof(*t));
}

/* Do the key and the certificate hold the same RSA public key? Compared by value:
 * the key lives in keystore's private library context, the certificate does not. */
static bool same_rsa(const EVP_PKEY *key, X509 *cert)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    BIGNUM *n1 = NULL, *n2 = NULL, *e1 = NULL, *e2 = NULL;
    bool same = false;

    if (pub && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n1) == 1 &&
        EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n2) == 1 &&
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e1) == 1 &&
        EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e2) == 1)
        same = BN_cmp(n1, n2) == 0 && BN_cmp(e1, e2) == 0;
    BN_free(n1);
    BN_free(n2);
    BN_free(e1);
    BN_free(e2);
    return same;
}

typedef struct import_item {
    char id[129]; /* hex, for the report */
    char *label;
    bool key, cert;
    char *ncalayer;
} import_item;

typedef struct import_job {
    tok_ctx *t;
    ks_p12 *p12;
    import_item *items;
    size_t nitems;
    bool *cert_used;
} import_job;

/* The CKA_ID of a key and certificate pair: the certificate's SKI (NCA's alias), else
 * the file's localKeyID. */
static bool pair_id(X509 *cert, const uint8_t *lkid, size_t lkid_len, uint8_t *id, size_t *len)
{
    const ASN1_OCTET_STRING *ski = cert ? X509_get0_subject_key_id(cert) : NULL;
    if (ski && (size_t)ASN1_STRING_length(ski) <= *len) {
        *len = (size_t)ASN1_STRING_length(ski);
        memcpy(id, ASN1_STRING_get0_data(ski), *len);
        return true;
    }
    if (lkid && lkid_len > 0 && lkid_len <= *len) {
        *len = lkid_len;
        memcpy(id, lkid, lkid_len);
        return true;
    }
    return false;
}

/* Refuse to add a second object of this class with this CKA_ID. */
static int check_free_id(tok_ctx *t, CK_OBJECT_CLASS cls, const uint8_t *id, size_t id_len,
                         const char *idhex)
{
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, (void *)id, id_len}};
    CK_OBJECT_HANDLE *hs = NULL;
    size_t n = 0;
    CK_RV rv = tok_objects(t, q, 2, &hs, &n);

    free(hs);
    if (rv != CKR_OK)
        return tok_fail(t, "C_FindObjects", rv, CKU_USER);
    if (n > 0) {
        vtoken_error(t->cmd, "the token already holds a %s with id %s: nothing imported",
                     cls == CKO_CERTIFICATE ? "certificate" : "private key", idhex);
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

static CK_RV create_key(tok_ctx *t, EVP_PKEY *key, X509 *cert, const uint8_t *id, size_t id_len,
                        const char *label, CK_OBJECT_HANDLE *h)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        const char *param;
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
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    uint8_t *subject = NULL;
    tmpl tp = {0};
    CK_RV rv = CKR_OK;
    /* Decryption only where the certificate allows encipherment (NCA's AUTH keys, not
     * its SIGN keys); no KeyUsage extension restricts nothing. */
    uint32_t ku = cert ? X509_get_key_usage(cert) : UINT32_MAX;
    bool decrypt = ku == UINT32_MAX || (ku & (KU_KEY_ENCIPHERMENT | KU_DATA_ENCIPHERMENT));

    tmpl_add(&tp, CKA_CLASS, &cls, sizeof(cls));
    tmpl_add(&tp, CKA_KEY_TYPE, &kt, sizeof(kt));
    tmpl_add(&tp, CKA_TOKEN, &ck_true, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_PRIVATE, &ck_true, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_SENSITIVE, &ck_true, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_EXTRACTABLE, &ck_false, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_SIGN, &ck_true, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_DECRYPT, decrypt ? &ck_true : &ck_false, sizeof(CK_BBOOL));
    tmpl_add(&tp, CKA_ID, (void *)id, id_len);
    tmpl_add(&tp, CKA_LABEL, (void *)label, strlen(label));
    if (cert) {
        int n = i2d_X509_NAME(X509_get_subject_name(cert), &subject);
        if (n > 0)
            tmpl_add(&tp, CKA_SUBJECT, subject, (size_t)n);
    }
    for (size_t i = 0; i < VT_ARRAY_LEN(parts); i++) {
        if (!tmpl_add_bn(&tp, parts[i].type, key, parts[i].param)) {
            rv = CKR_KEY_TYPE_INCONSISTENT; /* not an RSA key with CRT parts */
            goto out;
        }
    }
    rv = t->p11.f->C_CreateObject(t->session, tp.a, tp.n, h);
out:
    OPENSSL_free(subject);
    tmpl_free(&tp);
    return rv;
}

static CK_RV create_cert(tok_ctx *t, const uint8_t *der, size_t der_len, const uint8_t *id,
                         size_t id_len, const char *label, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ATTRIBUTE a[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
        {CKA_TOKEN, &ck_true, sizeof(CK_BBOOL)},
        {CKA_PRIVATE, &ck_false, sizeof(CK_BBOOL)},
        {CKA_ID, (void *)id, id_len},
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_VALUE, (void *)der, der_len},
    };
    /* CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER: the module takes them from the DER. */
    return t->p11.f->C_CreateObject(t->session, a, VT_ARRAY_LEN(a), h);
}

static int add_item(import_job *job, const char *idhex, const char *label, bool key, bool cert,
                    const uint8_t *der, size_t der_len)
{
    import_item *v = realloc(job->items, (job->nitems + 1) * sizeof(*v));
    import_item *it;
    cert_view cv;

    if (!v)
        return VTOKEN_EXIT_FAILURE;
    job->items = v;
    it = &v[job->nitems++];
    memset(it, 0, sizeof(*it));
    snprintf(it->id, sizeof(it->id), "%s", idhex);
    it->label = strdup(label);
    it->key = key;
    it->cert = cert;
    if (der && cert_view_parse(der, der_len, &cv)) {
        it->ncalayer = cert_view_entry(&cv, idhex); /* the alias the token shows */
        cert_view_free(&cv);
    }
    return it->label ? VTOKEN_EXIT_OK : VTOKEN_EXIT_FAILURE;
}

/* Key i with its certificate (when the file has one). */
static int import_key(import_job *job, size_t i)
{
    tok_ctx *t = job->t;
    EVP_PKEY *key = ks_p12_key(job->p12, i);
    X509 *cert = NULL;
    const uint8_t *der = NULL, *lkid;
    size_t der_len = 0, lkid_len = 0, id_len;
    uint8_t id[64];
    char idhex[129], label[256];
    const char *friendly;
    CK_OBJECT_HANDLE hkey = 0, hcert = 0;
    CK_RV rv;
    int rc;

    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        vtoken_error(t->cmd, "key %zu of the file is not an RSA key: the tokens hold RSA keys only",
                     i + 1);
        return VTOKEN_EXIT_FAILURE;
    }
    for (size_t j = 0; j < ks_p12_count(job->p12, KS_P12_CERT); j++) {
        if (!job->cert_used[j] && same_rsa(key, ks_p12_cert(job->p12, j))) {
            job->cert_used[j] = true;
            cert = ks_p12_cert(job->p12, j);
            der = ks_p12_cert_der(job->p12, j, &der_len);
            break;
        }
    }
    lkid = ks_p12_local_key_id(job->p12, KS_P12_KEY, i, &lkid_len);
    id_len = sizeof(id);
    if (!pair_id(cert, lkid, lkid_len, id, &id_len)) {
        vtoken_error(t->cmd,
                     "key %zu has neither a certificate with a SubjectKeyIdentifier nor "
                     "a localKeyID to name it by",
                     i + 1);
        return VTOKEN_EXIT_FAILURE;
    }
    vt_hex_encode(id, id_len, idhex);
    friendly = ks_p12_friendly_name(job->p12, KS_P12_KEY, i);
    snprintf(label, sizeof(label), "%s", friendly && *friendly ? friendly : idhex);

    rc = check_free_id(t, CKO_PRIVATE_KEY, id, id_len, idhex);
    if (rc == VTOKEN_EXIT_OK && cert)
        rc = check_free_id(t, CKO_CERTIFICATE, id, id_len, idhex);
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rv = create_key(t, key, cert, id, id_len, label, &hkey);
    if (rv != CKR_OK)
        return tok_fail(t, "C_CreateObject (private key)", rv, CKU_USER);
    if (cert) {
        rv = create_cert(t, der, der_len, id, id_len, label, &hcert);
        if (rv != CKR_OK) {
            /* All or nothing: a key without its certificate is invisible to NCA's tools. */
            (void)t->p11.f->C_DestroyObject(t->session, hkey);
            return tok_fail(t, "C_CreateObject (certificate)", rv, CKU_USER);
        }
    }
    return add_item(job, idhex, label, true, cert != NULL, der, der_len);
}

static int import_lone_cert(import_job *job, size_t j)
{
    tok_ctx *t = job->t;
    X509 *cert = ks_p12_cert(job->p12, j);
    size_t der_len = 0, id_len = 64, lkid_len = 0;
    const uint8_t *der = ks_p12_cert_der(job->p12, j, &der_len);
    const uint8_t *lkid = ks_p12_local_key_id(job->p12, KS_P12_CERT, j, &lkid_len);
    const char *friendly = ks_p12_friendly_name(job->p12, KS_P12_CERT, j);
    uint8_t id[64];
    char idhex[129], label[256];
    CK_OBJECT_HANDLE h;
    CK_RV rv;
    int rc;

    if (!pair_id(cert, lkid, lkid_len, id, &id_len))
        id_len = 0;
    vt_hex_encode(id, id_len, idhex);
    snprintf(label, sizeof(label), "%s", friendly && *friendly ? friendly : idhex);
    if (id_len > 0) {
        rc = check_free_id(t, CKO_CERTIFICATE, id, id_len, idhex);
        if (rc != VTOKEN_EXIT_OK)
            return rc;
    }
    rv = create_cert(t, der, der_len, id, id_len, label, &h);
    if (rv != CKR_OK)
        return tok_fail(t, "C_CreateObject (certificate)", rv, CKU_USER);
    return add_item(job, idhex, label, false, true, der, der_len);
}

/* What was written. complete: every object of the file; else the command failed after
 * these (the error is on stderr) and --json says so with "complete": false. */
static void report(const import_job *job, const char *file, bool json, bool complete)
{
    if (json) {
        printf("{\"token\":");
        vtoken_json_string(stdout, job->t->name);
        printf(",\"slot\":%lu,\"file\":", (unsigned long)job->t->slot);
        vtoken_json_string(stdout, file);
        printf(",\"imported\":[");
    }
    for (size_t i = 0; i < job->nitems; i++) {
        const import_item *it = &job->items[i];
        if (json) {
            printf("%s{\"id\":\"%s\",\"label\":", i ? "," : "", it->id);
            vtoken_json_string(stdout, it->label);
            printf(",\"private_key\":%s,\"certificate\":%s,\"ncalayer\":",
                   it->key ? "true" : "false", it->cert ? "true" : "false");
            if (it->ncalayer)
                vtoken_json_string(stdout, it->ncalayer);
            else
                printf("null");
            printf("}");
        } else {
            printf("imported %s id=%s label=%s%s%s\n",
                   it->key ? (it->cert ? "private key + certificate" : "private key")
                           : "certificate",
                   it->id, it->label, it->ncalayer ? "  " : "", it->ncalayer ? it->ncalayer : "");
        }
    }
    if (json)
        printf("],\"complete\":%s}\n", complete ? "true" : "false");
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"password", required_argument, NULL, 'w'}, {"pin", required_argument, NULL, 'p'},
        {"pin-file", required_argument, NULL, 'P'}, {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL, *pw_opt = NULL, *pin_opt = NULL, *file;
    tok_input in = {.cmd = "import"};
    import_job job = {0};
    ks_p12_ctx *kctx = NULL;
    char pw[256], pin[256], *why = NULL;
    bool json = false;
    ks_status ks;
    tok_ctx t;
    int opt, rc;

    memset(&t, 0, sizeof(t));
    pw[0] = pin[0] = '\0';
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'w':
            pw_opt = optarg;
            break;
        case 'p':
            pin_opt = optarg;
            break;
        case 'P':
            in.file = optarg;
            break;
        case 'M':
            module_opt = optarg;
            break;
        case 'H':
            home_opt = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(import_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("import", argv, opt);
        }
    }
    if (argc - optind < 2)
        return vtoken_usage_error("import", "need TOKEN and FILE.p12");
    if (argc - optind > 2)
        return vtoken_usage_error("import", "unexpected argument '%s'", argv[optind + 2]);
    file = argv[optind + 1];

    /* The file first: a wrong password should cost no PIN try on the token. */
    rc = tok_secret(&in, "password of the PKCS#12 file", pw_opt, false, pw, sizeof(pw));
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    ks = ks_p12_ctx_new(&kctx);
    if (ks == KS_OK)
        ks = ks_p12_open(kctx, file, pw, strlen(pw), &job.p12, &why);
    vt_wipe(pw, sizeof(pw));
    if (ks != KS_OK) {
        if (why)
            vtoken_error("import", "%s", why);
        else
            vtoken_error("import", "%s: %s", file, ks_strerror(ks));
        rc = ks == KS_ERR_BAD_PASSWORD ? VTOKEN_EXIT_PIN_INCORRECT : VTOKEN_EXIT_FAILURE;
        goto out;
    }
    if (ks_p12_count(job.p12, KS_P12_KEY) == 0 && ks_p12_count(job.p12, KS_P12_CERT) == 0) {
        vtoken_error("import", "%s holds neither keys nor certificates", file);
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    job.cert_used = calloc(ks_p12_count(job.p12, KS_P12_CERT) + 1, sizeof(bool));
    if (!job.cert_used) {
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }

    rc = tok_begin(&t, "import", home_opt, module_opt);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, argv[optind]);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_open_session(&t, true);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_secret(&in, "user PIN of the token", pin_opt, false, pin, sizeof(pin));
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_login(&t, CKU_USER, pin);
    vt_wipe(pin, sizeof(pin));
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    job.t = &t;
    for (size_t i = 0; i < ks_p12_count(job.p12, KS_P12_KEY) && rc == VTOKEN_EXIT_OK; i++)
        rc = import_key(&job, i);
    for (size_t j = 0; j < ks_p12_count(job.p12, KS_P12_CERT) && rc == VTOKEN_EXIT_OK; j++)
        if (!job.cert_used[j])
            rc = import_lone_cert(&job, j);
    /* What was written stays written (each pair is all or nothing): say what it is, in
     * the form asked for, also when a later object failed. */
    if (job.nitems > 0)
        report(&job, file, json, rc == VTOKEN_EXIT_OK);
out:
    for (size_t i = 0; i < job.nitems; i++) {
        free(job.items[i].label);
        free(job.items[i].ncalayer);
    }
    free(job.items);
    free(job.cert_used);
    free(why);
    ks_p12_close(job.p12);
    ks_p12_ctx_free(kctx);
    tok_input_close(&in);
    tok_end(&t);
    return rc;
}
