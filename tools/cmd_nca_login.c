/* `vtoken nca login`, `keys` and `ca`: NCA's "log in with a signature" (the site's
 * challenge signed by the AUTH key on the token, checked with the AUTH certificate, its
 * chain and its status), the key list of the personal cabinet, and where the test CA is. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "nca_cmd.h"
#include "nca_req.h"
#include "sim.h"
#include "vt_util.h"
#include "vtoken.h"

static const char login_help[] =
    "Usage: vtoken nca login TOKEN [--pin P] [--home DIR] [--module PATH] [--json]\n"
    "\n"
    "NCA's \"log in with EDS\": the site sends a fresh challenge, the AUTH key on the token\n"
    "signs it (C_Sign, CKM_SHA256_RSA_PKCS) and the site checks the signature with the AUTH\n"
    "certificate, the certificate's chain to the test CA and its status (not revoked, not\n"
    "expired). Exit status 0 only when all of that holds.\n"
    "\n"
    "Options:\n"
    "  --pin P         the token's PIN / the .p12 password (else asked on the "
    "terminal)\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

static const char keys_help[] =
    "Usage: vtoken nca keys TOKEN [--pin P] [--home DIR] [--module PATH] [--json]\n"
    "\n"
    "The certificates on the token, as NCA's personal cabinet lists them: template (AUTH or\n"
    "SIGN), serial, owner, validity, whether the private key is there, and the status the\n"
    "test CA gives (valid, revoked with date and reason, expired, or not issued by it).\n"
    "\n"
    "Options:\n"
    "  --pin P         the token's PIN / the .p12 password (else asked on the "
    "terminal)\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

static const char ca_help[] =
    "Usage: vtoken nca ca [--home DIR] [--json]\n"
    "\n"
    "Where the home's test CA lives (created on first use): its certificate (the trust\n"
    "anchor for tests: openssl verify -CAfile), CRL and index.\n"
    "\n"
    "Options:\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

/* Options of the flows that take only a token and a PIN. */
static int parse_simple(nca_run *r, int argc, char **argv, const char *help, bool needs_token)
{
    static const struct option opts[] = {
        NCA_COMMON_OPTIONS,
        {"pin", required_argument, NULL, NCA_OPT_PIN},
        {NULL, 0, NULL, 0},
    };
    char cmd[32];
    int opt;

    snprintf(cmd, sizeof(cmd), "nca %s", r->flow);
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(help, stdout);
            return -1;
        }
        if (!nca_common_option(r, opt, optarg))
            return vtoken_bad_option(cmd, argv, opt);
    }
    if (needs_token) {
        if (optind >= argc)
            return vtoken_usage_error(cmd, "missing TOKEN");
        r->token = argv[optind++];
    }
    if (optind < argc)
        return vtoken_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return VTOKEN_EXIT_OK;
}

/* ---- login ------------------------------------------------------------------------------- */

int nca_flow_login(int argc, char **argv)
{
    char challenge[NCA_CHALLENGE_MAX], desc[256], cn[256], iin[64], serial[128], until[32];
    uint8_t sig[NCA_SIG_MAX];
    size_t sig_len = sizeof(sig), n = 0;
    nca_key *keys = NULL;
    const nca_key *auth;
    nca_ca_entry e;
    nca_cert_state st;
    nca_run r;
    nca_json j;
    CK_RV rv;
    int rc;

    nca_run_init(&r, "login");
    rc = parse_simple(&r, argc, argv, login_help, true);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = nca_open_token(&r, false);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_token_desc(&r, desc, sizeof(desc));
    nca_say(&r, "NCA login (\"Вход по ЭЦП\"): sign the site's challenge with the AUTH key of %s\n",
            desc);
    rc = nca_open_ca(&r);
    if (rc == VTOKEN_EXIT_OK)
        rc = nca_login_user(&r);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_step(&r, "logged in", "C_Login(CKU_USER) OK");
    if (nca_tok_keys(&r.tok, &keys, &n) != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "%s", r.tok.err);
        goto out;
    }
    auth = nca_keys_current(keys, n, NCA_TEMPLATE_AUTH);
    if (!auth) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK,
                      "no AUTH key with its certificate on %s: get one with "
                      "`vtoken nca reissue %s --iin ... --name ...`",
                      r.token, r.token);
        goto out;
    }
    if (!nca_challenge_new(challenge)) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "no random challenge (OpenSSL)");
        goto out;
    }
    nca_step(&r, "challenge from the site", "%s", challenge);
    rv = nca_tok_sign(&r.tok, auth->priv_h, (const uint8_t *)challenge, strlen(challenge), sig,
                      &sig_len);
    if (rv != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, rv, "%s", r.tok.err);
        goto out;
    }
    nca_step(&r, "signed on the token", "AUTH key %s: C_Sign CKM_SHA256_RSA_PKCS, %zu bytes",
             auth->label, sig_len);

    /* The site's side: signature, then chain and status of the certificate. */
    nca_cert_cn(auth->cert, cn, sizeof(cn));
    nca_cert_iin(auth->cert, iin, sizeof(iin));
    nca_cert_serial_hex(auth->cert, serial, sizeof(serial));
    nca_time_iso(X509_get0_notAfter(auth->cert), until, sizeof(until));
    if (!nca_verify_sha256_rsa(auth->cert, (const uint8_t *)challenge, strlen(challenge), sig,
                               sig_len)) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK,
                      "login refused: the signature does not verify with AUTH certificate %s",
                      serial);
        goto out;
    }
    nca_step(&r, "signature checked", "SHA256withRSA verifies with certificate %s", serial);
    st = nca_ca_check(r.ca, auth->cert, &e);
    if (st != NCA_CERT_VALID) {
        if (st == NCA_CERT_REVOKED)
            rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK,
                          "login refused: AUTH certificate %s is revoked (%s, %s)", serial,
                          e.revoked_at, e.reason);
        else
            rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK,
                          "login refused: AUTH certificate %s is %s", serial,
                          nca_cert_state_name(st));
        goto out;
    }
    nca_step(&r, "certificate checked", "issued by %s, valid until %s, not revoked", NCA_CA_NAME,
             until);
    nca_say(&r, "  signed challenge verified: CN=%s, %s\n", cn, iin);
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_bool(&j, "verified", true);
        nca_json_str(&j, "challenge", challenge);
        nca_json_int(&j, "signature_bytes", (long long)sig_len);
        nca_json_str(&j, "mechanism", "CKM_SHA256_RSA_PKCS");
        nca_json_cert(&j, "certificate", &r, auth);
        nca_json_end(&j);
    }
    rc = VTOKEN_EXIT_OK;
out:
    nca_keys_free(keys, n);
    nca_run_end(&r);
    return rc < 0 ? VTOKEN_EXIT_OK : rc;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static void print_key(nca_run *r, const nca_key *k)
{
    char serial[128], cn[256], iin[64], from[32], until[32], id[2 * 64 + 1];
    nca_ca_entry e;
    nca_cert_state st = nca_ca_check(r->ca, k->cert, &e);

    nca_cert_serial_hex(k->cert, serial, sizeof(serial));
    nca_cert_cn(k->cert, cn, sizeof(cn));
    nca_cert_iin(k->cert, iin, sizeof(iin));
    nca_time_iso(X509_get0_notBefore(k->cert), from, sizeof(from));
    nca_time_iso(X509_get0_notAfter(k->cert), until, sizeof(until));
    vt_hex_encode(k->id, k->id_len, id);
    printf("  %-4s  serial %s\n", nca_template_name(k->tmpl), serial);
    printf("        owner   CN=%s, %s\n", cn, iin[0] ? iin : "(no IIN)");
    printf("        valid   %s .. %s\n", from, until);
    if (st == NCA_CERT_REVOKED)
        printf("        status  REVOKED %s (%s)\n", e.revoked_at, e.reason);
    else
        printf("        status  %s\n", nca_cert_state_name(st));
    printf("        key     %s, CKA_ID %s, label \"%s\"\n",
           k->priv_h != CK_INVALID_HANDLE ? "private key on the token" : "NO private key", id,
           k->label);
}

int nca_flow_keys(int argc, char **argv)
{
    char desc[256];
    nca_key *keys = NULL;
    size_t n = 0;
    nca_run r;
    nca_json j;
    int rc;

    nca_run_init(&r, "keys");
    rc = parse_simple(&r, argc, argv, keys_help, true);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = nca_open_token(&r, false);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_token_desc(&r, desc, sizeof(desc));
    nca_say(&r, "NCA key list (\"Мои ключи\"): the certificates on %s\n", desc);
    rc = nca_open_ca(&r);
    if (rc == VTOKEN_EXIT_OK)
        rc = nca_login_user(&r);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    if (nca_tok_keys(&r.tok, &keys, &n) != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "%s", r.tok.err);
        goto out;
    }
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_arr(&j, "keys");
        for (size_t i = 0; i < n; i++)
            nca_json_cert(&j, NULL, &r, &keys[i]);
        nca_json_close(&j, ']');
        nca_json_end(&j);
    } else {
        if (n == 0)
            printf("  no certificates: get a key set with `vtoken nca reissue %s --iin ... "
                   "--name ...`\n",
                   r.token);
        for (size_t i = 0; i < n; i++)
            print_key(&r, &keys[i]);
    }
    rc = VTOKEN_EXIT_OK;
out:
    nca_keys_free(keys, n);
    nca_run_end(&r);
    return rc < 0 ? VTOKEN_EXIT_OK : rc;
}

/* ---- ca ------------------------------------------------------------------------------------ */

int nca_flow_ca(int argc, char **argv)
{
    char path[4200], until[32];
    nca_run r;
    nca_json j;
    int rc;

    nca_run_init(&r, "ca");
    rc = parse_simple(&r, argc, argv, ca_help, false);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = sim_home_resolve(r.home_opt, r.home, sizeof(r.home)) == SIM_OK
             ? VTOKEN_EXIT_OK
             : nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "cannot find the vtoken home");
    nca_say(&r, "The test CA of %s (not NCA): C=KZ, CN=%s\n", r.home, NCA_CA_NAME);
    if (rc == VTOKEN_EXIT_OK)
        rc = nca_open_ca(&r);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_time_iso(X509_get0_notAfter(nca_ca_cert(r.ca)), until, sizeof(until));
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_str(&j, "dir", nca_ca_dir(r.ca));
        snprintf(path, sizeof(path), "%s/ca.crt", nca_ca_dir(r.ca));
        nca_json_str(&j, "certificate", path);
        snprintf(path, sizeof(path), "%s/crl.pem", nca_ca_dir(r.ca));
        nca_json_str(&j, "crl", path);
        snprintf(path, sizeof(path), "%s/index", nca_ca_dir(r.ca));
        nca_json_str(&j, "index", path);
        nca_json_str(&j, "subject", "C=KZ, CN=" NCA_CA_NAME);
        nca_json_str(&j, "not_after", until);
        nca_json_end(&j);
    } else {
        printf("  valid until  %s\n", until);
        printf("  directory    %s\n", nca_ca_dir(r.ca));
        printf("  certificate  %s/ca.crt\n", nca_ca_dir(r.ca));
        printf("  CRL          %s/crl.pem\n", nca_ca_dir(r.ca));
        printf("  index        %s/index\n", nca_ca_dir(r.ca));
    }
out:
    nca_run_end(&r);
    return rc < 0 ? VTOKEN_EXIT_OK : rc;
}
