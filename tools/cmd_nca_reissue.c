/* `vtoken nca reissue`: NCA's "reissue keys" on a token or a .p12. For AUTH, then SIGN:
 * an RSA-2048 key pair generated on the token, a PKCS#10 request the token signs, a
 * certificate from the test CA, written back beside its keys with NCA's alias (the SKI)
 * as CKA_ID and CKA_LABEL. Only when both are in place is the previous set removed from
 * the token; its certificates stay valid at the CA, as at NCA, unless --revoke-old asks
 * the CA to revoke them (superseded). A failure half-way removes what was made and
 * keeps the old set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nca_cmd.h"
#include "nca_req.h"
#include "vt_util.h"
#include "vtoken.h"

#define NCA_RSA_BITS 2048

static const char reissue_help[] =
    "Usage: vtoken nca reissue TOKEN --iin IIN --name \"SURNAME NAME\" [--patronymic P]\n"
    "                         [--locality L] [--region R] [--pin P] [--json] ...\n"
    "\n"
    "NCA's \"reissue keys\" (Перевыпуск ЭЦП): make a new AUTH and a new SIGN RSA-2048 key\n"
    "pair on the token (C_GenerateKeyPair), have the token sign a PKCS#10 request for each\n"
    "(C_Sign; no private key ever leaves it), get the certificates from the test CA and\n"
    "write them back (C_CreateObject). Keys and certificates take NCA's alias: CKA_ID = the\n"
    "certificate's SubjectKeyIdentifier, CKA_LABEL = the same in lower-case hex.\n"
    "Certificates last 3 years on a token, 1 year in a .p12 (NCA's terms).\n"
    "Once the new set is in place, the previous one (its keys and certificates) is removed\n"
    "from the token. Its certificates stay valid at the CA, as NCA leaves them (\"old keys\n"
    "remain valid; revoke them yourself\"): revoke them with --revoke-old, or later with\n"
    "`vtoken nca revoke TOKEN --serial S`. If anything fails before the new set is in\n"
    "place, what was made is removed and the previous set stays as it was.\n"
    "\n"
    "Options:\n"
    "  --iin IIN           the 12-digit IIN (SERIALNUMBER=IIN...)\n"
    "  --name NAME         \"SURNAME NAME\", the CN (SURNAME= is its first word)\n"
    "  --patronymic P      GIVENNAME (NCA's place for the patronymic); none by default\n"
    "  --locality L        L (default АСТАНА)\n"
    "  --region R          ST (default АСТАНА)\n"
    "  --revoke-old        have the CA revoke the previous set's certificates (superseded)\n"
    "  --pin P             the token's PIN / the .p12 password (else asked on the "
    "terminal)\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

/* What one template's issue made, for the rollback and the report. */
typedef struct made {
    nca_template tmpl;
    CK_OBJECT_HANDLE pub, priv, cert;
    X509 *x;
    uint8_t ski[NCA_SKI_LEN];
    char label[2 * NCA_SKI_LEN + 1];
    char serial[NCA_SERIAL_HEX_MAX + 1];
} made;

typedef struct sign_ctx {
    nca_run *r;
    CK_OBJECT_HANDLE priv;
    CK_RV rv;
} sign_ctx;

static int token_sign(void *arg, const uint8_t *data, size_t len, uint8_t *sig, size_t *sig_len)
{
    sign_ctx *c = arg;
    c->rv = nca_tok_sign(&c->r->tok, c->priv, data, len, sig, sig_len);
    return c->rv == CKR_OK ? 0 : -1;
}

static int issue_one(nca_run *r, const nca_person *who, made *m)
{
    const char *t = nca_template_name(m->tmpl);
    char err[1024], until[32];
    EVP_PKEY *pub = NULL;
    X509_NAME *subject = NULL;
    X509_REQ *req = NULL;
    sign_ctx sc = {r, CK_INVALID_HANDLE, CKR_OK};
    bool named_by_token = false;
    CK_RV rv;
    int rc = VTOKEN_EXIT_FAILURE;

    rv = nca_tok_generate(&r->tok, m->tmpl, NCA_RSA_BITS, &m->pub, &m->priv, &pub);
    if (rv != CKR_OK) {
        nca_fail(r, rc, rv, "%s key pair: %s", t, r->tok.err);
        goto out;
    }
    if (!nca_ski(pub, m->ski)) {
        nca_fail(r, rc, CKR_OK, "%s: cannot encode the public key", t);
        goto out;
    }
    vt_hex_encode(m->ski, NCA_SKI_LEN, m->label);
    nca_step(r, "key pair generated", "%s: RSA-%d on the token (C_GenerateKeyPair), alias %s", t,
             NCA_RSA_BITS, m->label);
    /* Either order works: every driver keeps a private key's modulus whatever its CKA_ID
     * (tests/unit/p11/test_rename.c); integ_nca has run both. */
    rv = nca_tok_set_id(&r->tok, m->pub, m->ski, NCA_SKI_LEN, m->label, &named_by_token);
    if (rv == CKR_OK)
        rv = nca_tok_set_id(&r->tok, m->priv, m->ski, NCA_SKI_LEN, m->label, &named_by_token);
    if (rv != CKR_OK) {
        nca_fail(r, rc, rv, "%s: %s", t, r->tok.err);
        goto out;
    }
    subject = nca_subject_name(who);
    sc.priv = m->priv;
    req = subject ? nca_csr_build(subject, pub, token_sign, &sc, err, sizeof(err)) : NULL;
    if (!req) {
        if (sc.rv != CKR_OK)
            nca_fail(r, rc, sc.rv, "%s request: %s", t, r->tok.err);
        else
            nca_fail(r, rc, CKR_OK, "%s request: %s", t, subject ? err : "bad subject");
        goto out;
    }
    nca_step(r, "request signed", "%s: PKCS#10 signed on the token (C_Sign CKM_SHA256_RSA_PKCS)",
             t);
    if (nca_ca_issue(r->ca, req, m->tmpl, r->tok.media, &m->x, err, sizeof(err)) != 0) {
        nca_fail(r, rc, CKR_OK, "the CA refused the %s request: %s", t, err);
        goto out;
    }
    nca_cert_serial_hex(m->x, m->serial, sizeof(m->serial));
    nca_time_iso(X509_get0_notAfter(m->x), until, sizeof(until));
    nca_step(r, "certificate issued", "%s: serial %s, valid until %s (%d days, %s)", t, m->serial,
             until, nca_media_validity_days(r->tok.media), nca_media_name(r->tok.media));
    rv = nca_tok_write_cert(&r->tok, m->x, m->ski, NCA_SKI_LEN, m->label, &m->cert);
    if (rv != CKR_OK) {
        nca_fail(r, rc, rv, "%s certificate: %s", t, r->tok.err);
        goto out;
    }
    /* A token that names keys itself (a .p12: after the certificate's SKI) must have
     * paired the key with its certificate by now. */
    if (named_by_token && nca_tok_private_key(&r->tok, m->ski, NCA_SKI_LEN) != m->priv) {
        nca_fail(r, rc, CKR_OK, "%s: the token did not name the key after its certificate", t);
        goto out;
    }
    nca_step(r, "written to the token", "%s: certificate; CKA_ID = CKA_LABEL = %s%s", t, m->label,
             named_by_token ? " (named by the token from the certificate)" : "");
    rc = VTOKEN_EXIT_OK;
out:
    X509_REQ_free(req);
    X509_NAME_free(subject);
    EVP_PKEY_free(pub);
    return rc;
}

/* A failed reissue: remove what it made, revoke what the CA already issued. */
static void roll_back(nca_run *r, made *m, size_t n)
{
    char err[512];

    for (size_t i = 0; i < n; i++) {
        (void)nca_tok_destroy_set(&r->tok, m[i].cert, m[i].priv, m[i].pub);
        if (m[i].serial[0])
            (void)nca_ca_revoke(r->ca, m[i].serial, "cessationOfOperation", err, sizeof(err));
    }
    fprintf(stderr, "vtoken nca reissue: the new objects were removed; the previous key set "
                    "is unchanged\n");
}

/* One member of the previous set, as retire_old left it. */
typedef struct retired {
    nca_template tmpl;
    char serial[NCA_SERIAL_HEX_MAX + 1];
    bool revoked;
    nca_cert_state state;
} retired;

/* The previous set: removed from the token; its certificates revoked by the CA only
 * when asked (revoke). Certificates that are neither AUTH nor SIGN (and their keys)
 * are left alone. */
static int retire_old(nca_run *r, const nca_key *old, size_t n, bool revoke, retired *out,
                      size_t *n_out)
{
    char err[512];
    int rc = VTOKEN_EXIT_OK;

    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        const nca_key *k = &old[i];
        retired *o = &out[*n_out];

        if (k->tmpl == NCA_TEMPLATE_NONE)
            continue;
        (*n_out)++;
        memset(o, 0, sizeof(*o));
        o->tmpl = k->tmpl;
        nca_cert_serial_hex(k->cert, o->serial, sizeof(o->serial));
        o->state = nca_ca_check(r->ca, k->cert, NULL);
        if (revoke && (o->state == NCA_CERT_VALID || o->state == NCA_CERT_EXPIRED)) {
            if (nca_ca_revoke(r->ca, o->serial, "superseded", err, sizeof(err)) == 0)
                o->revoked = true;
            else
                rc = nca_fail(r, VTOKEN_EXIT_FAILURE, CKR_OK, "revoking %s: %s", o->serial, err);
        }
        if (nca_tok_destroy_set(&r->tok, k->cert_h, k->priv_h, k->pub_h) != CKR_OK)
            rc = nca_fail(r, VTOKEN_EXIT_FAILURE, CKR_OK, "removing old %s %s: %s",
                          nca_template_name(k->tmpl), o->serial, r->tok.err);
        nca_step(r, "previous set removed", "%s %s (keys and certificate): %s",
                 nca_template_name(k->tmpl), o->serial,
                 o->revoked                     ? "revoked by the CA (superseded)"
                 : o->state == NCA_CERT_VALID   ? "still valid at the CA (as at NCA; "
                                                  "--revoke-old or `vtoken nca revoke "
                                                  "--serial` revokes it)"
                 : o->state == NCA_CERT_REVOKED ? "was already revoked"
                 : o->state == NCA_CERT_EXPIRED ? "expired"
                                                : "not issued by this CA");
    }
    return rc;
}

static int parse(nca_run *r, nca_person *who, bool *revoke_old, int argc, char **argv)
{
    enum { O_IIN = 0x200, O_NAME, O_PATRONYMIC, O_LOCALITY, O_REGION, O_REVOKE_OLD };
    static const struct option opts[] = {
        NCA_COMMON_OPTIONS,
        {"pin", required_argument, NULL, NCA_OPT_PIN},
        {"iin", required_argument, NULL, O_IIN},
        {"name", required_argument, NULL, O_NAME},
        {"patronymic", required_argument, NULL, O_PATRONYMIC},
        {"locality", required_argument, NULL, O_LOCALITY},
        {"region", required_argument, NULL, O_REGION},
        {"revoke-old", no_argument, NULL, O_REVOKE_OLD},
        {NULL, 0, NULL, 0},
    };
    char why[256];
    int opt;

    memset(who, 0, sizeof(*who));
    snprintf(who->locality, sizeof(who->locality), "АСТАНА");
    snprintf(who->region, sizeof(who->region), "АСТАНА");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(reissue_help, stdout);
            return -1;
        case O_IIN:
            if (strlen(optarg) != NCA_IIN_LEN)
                return vtoken_usage_error("nca reissue", "an IIN has %d digits", NCA_IIN_LEN);
            snprintf(who->iin, sizeof(who->iin), "%s", optarg);
            break;
        case O_NAME:
            snprintf(who->name, sizeof(who->name), "%s", optarg);
            break;
        case O_PATRONYMIC:
            snprintf(who->patronymic, sizeof(who->patronymic), "%s", optarg);
            break;
        case O_LOCALITY:
            snprintf(who->locality, sizeof(who->locality), "%s", optarg);
            break;
        case O_REGION:
            snprintf(who->region, sizeof(who->region), "%s", optarg);
            break;
        case O_REVOKE_OLD:
            *revoke_old = true;
            break;
        default:
            if (!nca_common_option(r, opt, optarg))
                return vtoken_bad_option("nca reissue", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("nca reissue", "missing TOKEN");
    r->token = argv[optind++];
    if (optind < argc)
        return vtoken_usage_error("nca reissue", "unexpected argument '%s'", argv[optind]);
    if (!who->name[0])
        return vtoken_usage_error("nca reissue", "missing --name \"SURNAME NAME\"");
    if (!nca_person_check(who, why, sizeof(why)))
        return vtoken_usage_error("nca reissue", "%s", why);
    return VTOKEN_EXIT_OK;
}

int nca_flow_reissue(int argc, char **argv)
{
    char desc[256];
    nca_person who;
    bool revoke_old = false;
    nca_key *old = NULL;
    size_t n_old = 0, pending = 0, n_retired = 0;
    retired *retired_v = NULL;
    made m[2];
    nca_run r;
    nca_json j;
    CK_RV rv;
    int rc;

    memset(m, 0, sizeof(m));
    m[0].tmpl = NCA_TEMPLATE_AUTH;
    m[1].tmpl = NCA_TEMPLATE_SIGN;
    for (size_t i = 0; i < VT_ARRAY_LEN(m); i++)
        m[i].pub = m[i].priv = m[i].cert = CK_INVALID_HANDLE;
    nca_run_init(&r, "reissue");
    rc = parse(&r, &who, &revoke_old, argc, argv);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = nca_open_token(&r, true);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_token_desc(&r, desc, sizeof(desc));
    nca_say(&r, "NCA reissue (\"Перевыпуск ЭЦП\"): new AUTH and SIGN keys for %s, IIN%s on %s\n",
            who.name, who.iin, desc);
    rc = nca_open_ca(&r);
    if (rc == VTOKEN_EXIT_OK)
        rc = nca_login_user(&r);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_step(&r, "logged in", "C_Login(CKU_USER) OK");
    rv = nca_tok_remove_pending(&r.tok, &pending);
    if (rv != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, rv, "%s", r.tok.err);
        goto out;
    }
    if (pending)
        nca_step(&r, "leftovers removed", "%zu objects of an interrupted reissue", pending);
    if (nca_tok_keys(&r.tok, &old, &n_old) != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "%s", r.tok.err);
        goto out;
    }
    for (size_t i = 0; i < VT_ARRAY_LEN(m); i++) {
        rc = issue_one(&r, &who, &m[i]);
        if (rc != VTOKEN_EXIT_OK) {
            roll_back(&r, m, i + 1);
            goto out;
        }
    }
    retired_v = calloc(n_old ? n_old : 1, sizeof(*retired_v));
    if (!retired_v) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "out of memory");
        goto out;
    }
    rc = retire_old(&r, old, n_old, revoke_old, retired_v, &n_retired);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_arr(&j, "issued");
        for (size_t i = 0; i < VT_ARRAY_LEN(m); i++) {
            nca_key k = {.cert = m[i].x,
                         .tmpl = m[i].tmpl,
                         .id_len = NCA_SKI_LEN,
                         .cert_h = m[i].cert,
                         .priv_h = m[i].priv,
                         .pub_h = m[i].pub};
            memcpy(k.id, m[i].ski, NCA_SKI_LEN);
            snprintf(k.label, sizeof(k.label), "%s", m[i].label);
            nca_json_cert(&j, NULL, &r, &k);
        }
        nca_json_close(&j, ']');
        nca_json_arr(&j, "removed");
        for (size_t i = 0; i < n_retired; i++) {
            nca_json_obj(&j, NULL);
            nca_json_str(&j, "template", nca_template_name(retired_v[i].tmpl));
            nca_json_str(&j, "serial", retired_v[i].serial);
            nca_json_bool(&j, "revoked_by_ca", retired_v[i].revoked);
            nca_json_str(&j, "status",
                         retired_v[i].revoked ? "revoked"
                                              : nca_cert_state_name(retired_v[i].state));
            nca_json_close(&j, '}');
        }
        nca_json_close(&j, ']');
        nca_json_end(&j);
    } else {
        printf("  done: AUTH %s and SIGN %s on %s\n", m[0].serial, m[1].serial, r.token);
    }
out:
    for (size_t i = 0; i < VT_ARRAY_LEN(m); i++)
        X509_free(m[i].x);
    free(retired_v);
    nca_keys_free(old, n_old);
    nca_run_end(&r);
    return rc < 0 ? VTOKEN_EXIT_OK : rc;
}
