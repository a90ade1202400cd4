/* `vtoken nca revoke` and `passwd`: NCA's revocation of a certificate (a request signed
 * by the token's AUTH key, which the test CA verifies before it marks the certificate
 * revoked and reissues its CRL) and the password change on a token (C_SetPIN) or a .p12
 * (the module rewrites the file under NCA's password rule). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "nca_cmd.h"
#include "p12.h"
#include "nca_req.h"
#include "vt_util.h"
#include "vtoken.h"

static const char revoke_help[] =
    "Usage: vtoken nca revoke TOKEN (--serial S | --template AUTH|SIGN) [--reason R]\n"
    "                        [--pin P] [--home DIR] [--module PATH] [--json]\n"
    "\n"
    "NCA's \"revoke a certificate\": a revocation request naming the certificate is signed\n"
    "by the token's AUTH key (C_Sign, CKM_SHA256_RSA_PKCS); the test CA checks the signature\n"
    "with its copy of that AUTH certificate (valid, same IIN as the target), marks the\n"
    "target revoked in its index and writes a new CRL. Keys and certificate stay on the\n"
    "token; `vtoken nca keys` shows them revoked and `vtoken nca reissue` replaces them.\n"
    "\n"
    "Options:\n"
    "  --serial S       the certificate's serial (hex, as `vtoken nca keys` shows it)\n"
    "  --template T     the token's current AUTH or SIGN certificate\n"
    "  --reason R       unspecified (default), keyCompromise, affiliationChanged,\n"
    "                   superseded, cessationOfOperation\n"
    "  --pin P          the token's PIN / the .p12 password (else asked on the "
    "terminal)\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

static const char passwd_help[] =
    "Usage: vtoken nca passwd TOKEN [--old P --new Q] [--home DIR] [--module PATH] [--json]\n"
    "\n"
    "NCA's \"change password\": C_SetPIN on the token's user PIN, or on a .p12 file's\n"
    "password (the module rewrites the file atomically under the new password and keeps\n"
    "NCA's algorithms). The token enforces its PIN length; a .p12 takes NCA's rule: 6-32\n"
    "characters with a Latin upper-case letter, a lower-case letter and a digit (or the\n"
    "rule $VTOKEN_P12_RULE or vtoken.conf's [pkcs12] password_rule= sets). Without\n"
    "--old / --new the PINs are asked on the terminal (the new one twice).\n"
    "\n"
    "Options:\n"
    "  --old P, --pin P  the current PIN / password\n"
    "  --new Q           the new one\n" NCA_COMMON_HELP "\n" VTOKEN_EXIT_HELP;

/* ---- revoke ------------------------------------------------------------------------------ */

/* The newest AUTH key whose certificate the CA calls valid: what signs the request. */
static const nca_key *valid_auth(nca_run *r, const nca_key *keys, size_t n)
{
    for (size_t i = n; i-- > 0;)
        if (keys[i].tmpl == NCA_TEMPLATE_AUTH && keys[i].priv_h != CK_INVALID_HANDLE &&
            nca_ca_check(r->ca, keys[i].cert, NULL) == NCA_CERT_VALID)
            return &keys[i];
    return NULL;
}

/* The token's newest valid certificate of a template. */
static const nca_key *valid_of(nca_run *r, const nca_key *keys, size_t n, nca_template t)
{
    for (size_t i = n; i-- > 0;)
        if (keys[i].tmpl == t && nca_ca_check(r->ca, keys[i].cert, NULL) == NCA_CERT_VALID)
            return &keys[i];
    return NULL;
}

static void utc_now(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_revoke(nca_run *r, int argc, char **argv, const char **serial, nca_template *tmpl,
                        const char **reason)
{
    enum { O_SERIAL = 0x200, O_TEMPLATE, O_REASON };
    static const struct option opts[] = {
        NCA_COMMON_OPTIONS,
        {"pin", required_argument, NULL, NCA_OPT_PIN},
        {"serial", required_argument, NULL, O_SERIAL},
        {"template", required_argument, NULL, O_TEMPLATE},
        {"reason", required_argument, NULL, O_REASON},
        {NULL, 0, NULL, 0},
    };
    char canon[NCA_SERIAL_HEX_MAX + 1];
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(revoke_help, stdout);
            return -1;
        case O_SERIAL:
            if (!nca_serial_canon(optarg, canon, sizeof(canon)))
                return vtoken_usage_error("nca revoke", "--serial takes a hex serial");
            *serial = optarg;
            break;
        case O_TEMPLATE:
            *tmpl = nca_template_parse(optarg);
            if (*tmpl == NCA_TEMPLATE_NONE)
                return vtoken_usage_error("nca revoke", "--template is AUTH or SIGN");
            break;
        case O_REASON:
            if (nca_reason_code(optarg) < 0)
                return vtoken_usage_error("nca revoke", "unknown reason '%s' (%s)", optarg,
                                          nca_reason_list());
            *reason = optarg;
            break;
        default:
            if (!nca_common_option(r, opt, optarg))
                return vtoken_bad_option("nca revoke", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("nca revoke", "missing TOKEN");
    r->token = argv[optind++];
    if (optind < argc)
        return vtoken_usage_error("nca revoke", "unexpected argument '%s'", argv[optind]);
    if (!*serial == (*tmpl == NCA_TEMPLATE_NONE))
        return vtoken_usage_error("nca revoke", "give either --serial or --template");
    return VTOKEN_EXIT_OK;
}

int nca_flow_revoke(int argc, char **argv)
{
    char desc[256], text[1024], err[1024];
    const char *serial = NULL, *reason = "unspecified";
    nca_template tmpl = NCA_TEMPLATE_NONE;
    uint8_t sig[NCA_SIG_MAX];
    size_t sig_len = sizeof(sig), n = 0;
    nca_key *keys = NULL;
    const nca_key *signer, *target = NULL;
    nca_ca_entry done;
    nca_revreq req;
    nca_run r;
    nca_json j;
    CK_RV rv;
    int rc;

    nca_run_init(&r, "revoke");
    memset(&req, 0, sizeof(req));
    rc = parse_revoke(&r, argc, argv, &serial, &tmpl, &reason);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = nca_open_token(&r, false);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    nca_token_desc(&r, desc, sizeof(desc));
    nca_say(&r, "NCA revocation (\"Отзыв регистрационного свидетельства\") from %s\n", desc);
    rc = nca_open_ca(&r);
    if (rc == VTOKEN_EXIT_OK)
        rc = nca_login_user(&r);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    if (nca_tok_keys(&r.tok, &keys, &n) != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "%s", r.tok.err);
        goto out;
    }
    signer = valid_auth(&r, keys, n);
    if (!signer) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK,
                      "no valid AUTH key on %s to sign the request with (NCA wants one; "
                      "`vtoken nca reissue` makes a new set)",
                      r.token);
        goto out;
    }
    if (tmpl != NCA_TEMPLATE_NONE) {
        target = valid_of(&r, keys, n, tmpl);
        if (!target) {
            rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "no valid %s certificate on %s",
                          nca_template_name(tmpl), r.token);
            goto out;
        }
        nca_cert_serial_hex(target->cert, req.serial, sizeof(req.serial));
    } else {
        (void)nca_serial_canon(serial, req.serial, sizeof(req.serial));
    }
    snprintf(req.reason, sizeof(req.reason), "%s", reason);
    utc_now(req.time, sizeof(req.time));
    nca_cert_serial_hex(signer->cert, req.signer, sizeof(req.signer));
    if (!nca_revreq_text(&req, text, sizeof(text))) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "request too long");
        goto out;
    }
    nca_step(&r, "request", "revoke %s%s%s, reason %s", target ? nca_template_name(tmpl) : "",
             target ? " " : "", req.serial, req.reason);
    rv = nca_tok_sign(&r.tok, signer->priv_h, (const uint8_t *)text, strlen(text), sig, &sig_len);
    if (rv != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, rv, "%s", r.tok.err);
        goto out;
    }
    nca_step(&r, "signed on the token", "by AUTH %s (C_Sign CKM_SHA256_RSA_PKCS, %zu bytes)",
             req.signer, sig_len);
    if (nca_ca_revoke_request(r.ca, text, sig, sig_len, &done, err, sizeof(err)) != 0) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, CKR_OK, "the CA refused the request: %s", err);
        goto out;
    }
    nca_step(&r, "CA verified and revoked", "%s %s at %s (%s)", nca_template_name(done.tmpl),
             done.serial, done.revoked_at, done.reason);
    nca_step(&r, "CRL updated", "%s/crl.pem", nca_ca_dir(r.ca));
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_obj(&j, "revoked");
        nca_json_str(&j, "serial", done.serial);
        nca_json_str(&j, "template", nca_template_name(done.tmpl));
        nca_json_str(&j, "revoked_at", done.revoked_at);
        nca_json_str(&j, "reason", done.reason);
        nca_json_close(&j, '}');
        nca_json_str(&j, "signer", req.signer);
        nca_json_str(&j, "request", text);
        nca_json_end(&j);
    }
    rc = VTOKEN_EXIT_OK;
out:
    nca_keys_free(keys, n);
    nca_run_end(&r);
    return rc < 0 ? VTOKEN_EXIT_OK : rc;
}

/* ---- passwd ------------------------------------------------------------------------------- */

/* The password rule the module applies to .p12 files, as it finds it (its p12_rule=
 * option aside, which we do not pass): $VTOKEN_P12_RULE, else password_rule= in the
 * [pkcs12] section of vtoken.conf, else NCA's. For the message only: the module decides. */
static void p12_rule_text(const nca_run *r, char *out, size_t cap)
{
    const char *env = getenv("VTOKEN_P12_RULE"), *from = "NCA's rule";
    ks_pwrule rule = KS_PWRULE_NCA, parsed;
    char why[160], conf[4200];
    ks_config *c = NULL;
    size_t n;

    if (env && *env && ks_pwrule_parse(env, &parsed, why, sizeof(why)) == KS_OK) {
        rule = parsed;
        from = "the rule of $VTOKEN_P12_RULE";
    } else {
        snprintf(conf, sizeof(conf), "%s/vtoken.conf", r->home);
        if (ks_config_load(conf, &c, NULL) == KS_OK) {
            size_t sec = ks_config_find(c, "pkcs12", NULL);
            const char *spec = sec != (size_t)-1 ? ks_config_get(c, sec, "password_rule") : NULL;
            if (spec && ks_pwrule_parse(spec, &parsed, why, sizeof(why)) == KS_OK) {
                rule = parsed;
                from = "the rule of vtoken.conf";
            }
            ks_config_free(c);
        }
    }
    n = (size_t)snprintf(out, cap, "%s: ", from);
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
    if (rule.min_len && rule.max_len)
        ADD("%u to %u characters", rule.min_len, rule.max_len);
    else if (rule.min_len)
        ADD("at least %u characters", rule.min_len);
    else if (rule.max_len)
        ADD("at most %u characters", rule.max_len);
    else
        ADD("any length");
    if (rule.upper || rule.lower || rule.digit || rule.special) {
        const char *sep = " with at least one ";
        if (rule.upper) {
            ADD("%sLatin upper-case letter (A-Z)", sep);
            sep = ", one ";
        }
        if (rule.lower) {
            ADD("%slower-case letter (a-z)", sep);
            sep = ", one ";
        }
        if (rule.digit) {
            ADD("%sdigit (0-9)", sep);
            sep = ", one ";
        }
        if (rule.special)
            ADD("%scharacter that is not a Latin letter or digit", sep);
    }
#undef ADD
}

/* A refused new PIN: the rule that refused it. */
static int rule_fail(nca_run *r, CK_RV rv)
{
    char rule[512];

    if (r->tok.media == NCA_MEDIA_FILE) {
        p12_rule_text(r, rule, sizeof(rule));
        return nca_fail(r, VTOKEN_EXIT_FAILURE, rv, "the new password breaks %s", rule);
    }
    if (rv == CKR_PIN_LEN_RANGE)
        return nca_fail(r, VTOKEN_EXIT_FAILURE, rv,
                        "the new PIN's length is outside what %s accepts: %lu to %lu characters",
                        r->token, (unsigned long)r->tok.min_pin, (unsigned long)r->tok.max_pin);
    return nca_fail(r, VTOKEN_EXIT_FAILURE, rv,
                    "%s refused the new PIN (%s, %lu to %lu characters)", r->token, vt_ckr_name(rv),
                    (unsigned long)r->tok.min_pin, (unsigned long)r->tok.max_pin);
}

int nca_flow_passwd(int argc, char **argv)
{
    enum { O_OLD = 0x200, O_NEW };
    static const struct option opts[] = {
        NCA_COMMON_OPTIONS,
        {"pin", required_argument, NULL, O_OLD},
        {"old", required_argument, NULL, O_OLD},
        {"new", required_argument, NULL, O_NEW},
        {NULL, 0, NULL, 0},
    };
    char desc[256], fresh[NCA_PIN_MAX], again[NCA_PIN_MAX], prompt[512];
    const char *what;
    bool have_new = false;
    nca_pin_state ps;
    nca_run r;
    nca_json j;
    CK_RV rv;
    int opt, rc;

    nca_run_init(&r, "passwd");
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(passwd_help, stdout);
            rc = VTOKEN_EXIT_OK;
            goto out;
        case O_OLD:
            (void)nca_common_option(&r, NCA_OPT_PIN, optarg);
            break;
        case O_NEW:
            snprintf(fresh, sizeof(fresh), "%s", optarg);
            vt_wipe(optarg, strlen(optarg));
            have_new = true;
            break;
        default:
            if (!nca_common_option(&r, opt, optarg)) {
                rc = vtoken_bad_option("nca passwd", argv, opt);
                goto out;
            }
        }
    }
    if (optind >= argc) {
        rc = vtoken_usage_error("nca passwd", "missing TOKEN");
        goto out;
    }
    r.token = argv[optind++];
    if (optind < argc) {
        rc = vtoken_usage_error("nca passwd", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    rc = nca_open_token(&r, true);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    what = r.tok.media == NCA_MEDIA_FILE ? "password" : "PIN";
    nca_token_desc(&r, desc, sizeof(desc));
    nca_say(&r, "NCA password change (\"Смена пароля\") on %s\n", desc);
    snprintf(prompt, sizeof(prompt), "current %s", what);
    rc = nca_get_pin(&r, prompt);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    if (!have_new) {
        snprintf(prompt, sizeof(prompt), "new %s for %s: ", what, r.token);
        if (nca_prompt_secret(prompt, fresh, sizeof(fresh)) != 0) {
            rc = nca_fail(&r, VTOKEN_EXIT_USAGE, CKR_OK,
                          "no new %s: give --new (there is no terminal to ask on)", what);
            goto out;
        }
        snprintf(prompt, sizeof(prompt), "new %s again: ", what);
        if (nca_prompt_secret(prompt, again, sizeof(again)) != 0 || strcmp(fresh, again) != 0) {
            rc = nca_fail(&r, VTOKEN_EXIT_USAGE, CKR_OK, "the two new %ss differ", what);
            goto out;
        }
    }
    rv = nca_tok_set_pin(&r.tok, r.pin, fresh, &ps);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
        rc = nca_pin_fail(&r, rv, &ps);
        goto out;
    }
    if (rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE) {
        rc = rule_fail(&r, rv);
        goto out;
    }
    if (rv != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, rv, "%s", r.tok.err);
        goto out;
    }
    nca_step(&r, "changed", "C_SetPIN OK%s",
             r.tok.media == NCA_MEDIA_FILE ? " (the .p12 was rewritten under the new password)"
                                           : "");
    /* What a user does next: log in with the new one. */
    rv = nca_tok_login(&r.tok, fresh, NULL);
    if (rv != CKR_OK) {
        rc = nca_fail(&r, VTOKEN_EXIT_FAILURE, rv, "the new %s does not log in: %s", what,
                      r.tok.err);
        goto out;
    }
    nca_step(&r, "checked", "C_Login with the new %s OK", what);
    if (r.json) {
        nca_json_begin(&j, stdout);
        nca_json_head(&j, &r, true);
        nca_json_bool(&j, "changed", true);
        nca_json_str(&j, "what", what);
        nca_json_end(&j);
    }
    rc = VTOKEN_EXIT_OK;
out:
    vt_wipe(fresh, sizeof(fresh));
    vt_wipe(again, sizeof(again));
    nca_run_end(&r);
    return rc;
}
