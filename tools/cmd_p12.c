/* `vtoken p12 new FILE`: a new, empty PKCS#12 token (NCA's "Personal computer" storage):
 * a password-protected file with no keys, in NCA's algorithms or OpenSSL 3's, the
 * password checked against the same rule the module applies to PKCS#12 PINs.
 * `vtoken p12 info FILE`: what such a file holds and which algorithms protect it. */
#include <getopt.h>
#include <limits.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certview.h"
#include "config.h"
#include "json.h"
#include "p12.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

static const char p12_help[] =
    "Usage: vtoken p12 new FILE [--password PASSWORD] [--style nca|modern] [--rule SPEC]\n"
    "                  [--pin-file FILE] [--home DIR] [--json]\n"
    "       vtoken p12 info FILE [--password PASSWORD] [--pin-file FILE] [--json]\n"
    "\n"
    "'new' creates an empty password-protected PKCS#12 file (mode 0600), a token of NCA's\n"
    "\"Personal computer\" storage: the module shows each .p12 file of its PKCS#12\n"
    "directories as a slot labelled with the file's name, whose PIN is the password.\n"
    "Keys can then be generated on it or imported ('vtoken import'). An existing FILE is\n"
    "never replaced.\n"
    "\n"
    "  --style nca      NCA's algorithms (default): 3DES key bags, RC2-40 certificate safe,\n"
    "                   SHA-1 MAC, 1024 iterations; what NCALayer and KalkanCrypt read\n"
    "  --style modern   OpenSSL 3's: PBES2 with AES-256-CBC, SHA-256 MAC, 2048 iterations\n"
    "  --rule SPEC      password rule, e.g. \"min=6,max=32,upper,lower,digit\" (NCA's) or\n"
    "                   \"none\"; default $VTOKEN_P12_RULE, else [pkcs12] password_rule= in\n"
    "                   vtoken.conf, else NCA's: 6-32 characters with a Latin upper-case\n"
    "                   letter, a lower-case letter and a digit\n"
    "\n"
    "'info' opens a file with its password and prints its keys and certificates (with\n"
    "their aliases and NCALayer key entries) and the algorithms that protect it.\n"
    "\n"
    "The password not given with --password is read from the first line of --pin-file\n"
    "('-': standard input), or asked for on the terminal without echo (twice for 'new').\n"
    "\n"
    "Options:\n"
    "  --password PASSWORD  the file's password (visible to other users: prefer --pin-file)\n"
    "  --pin-file FILE      read the password from FILE\n"
    "  --home DIR           the vtoken home whose vtoken.conf gives the rule and the\n"
    "                       PKCS#12 directories (default $VTOKEN_HOME, else ...)\n"
    "  --json               machine-readable output (one JSON object)\n"
    "  -h, --help           this text\n"
    "\n"
    "A rule violation exits with 1, a wrong password ('info') with 6.\n"
    "\n" VTOKEN_EXIT_HELP;

typedef struct p12_args {
    const char *action, *file, *password, *style, *rule, *home;
    bool json;
} p12_args;

static int get_rule(const p12_args *a, ks_pwrule *rule)
{
    char conf[256], why[256];
    const char *spec = a->rule;

    if (!spec)
        spec = getenv("VTOKEN_P12_RULE");
    if (!spec) {
        tok_conf_pkcs12(a->home, "password_rule", conf, sizeof(conf));
        spec = conf[0] ? conf : NULL;
    }
    if (!spec) {
        *rule = KS_PWRULE_NCA;
        return VTOKEN_EXIT_OK;
    }
    if (ks_pwrule_parse(spec, rule, why, sizeof(why)) != KS_OK) {
        if (a->rule)
            return vtoken_usage_error("p12", "bad --rule '%s': %s", spec, why);
        vtoken_error("p12", "bad password rule '%s': %s", spec, why);
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

static int p12_new(const p12_args *a, tok_input *in)
{
    ks_p12_style style = KS_P12_STYLE_NCA;
    ks_p12_ctx *ctx = NULL;
    ks_p12 *p = NULL;
    ks_pwrule rule;
    char pw[256], *why = NULL, dir[PATH_MAX], rulestr[128];
    ks_status st;
    int rc;

    if (a->style && strcmp(a->style, "modern") == 0)
        style = KS_P12_STYLE_MODERN;
    else if (a->style && strcmp(a->style, "nca") != 0)
        return vtoken_usage_error("p12", "unknown --style '%s' (nca or modern)", a->style);
    rc = get_rule(a, &rule);
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rc = tok_secret(in, "password of the new file", a->password, true, pw, sizeof(pw));
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    st = ks_p12_ctx_new(&ctx);
    if (st == KS_OK)
        st = ks_p12_create(ctx, a->file, pw, strlen(pw), style, &rule, &p, &why);
    vt_wipe(pw, sizeof(pw));
    if (st != KS_OK) {
        if (st == KS_ERR_POLICY)
            vtoken_error("p12", "password refused: %s", why ? why : ks_strerror(st));
        else if (why)
            vtoken_error("p12", "%s", why);
        else
            vtoken_error("p12", "%s: %s", a->file, ks_strerror(st));
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    /* The directory the file is in, for the hint. */
    snprintf(dir, sizeof(dir), "%s", a->file);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    bool served = tok_p12_dir_served(a->home, dir);
    ks_pwrule_format(&rule, rulestr, sizeof(rulestr));
    if (a->json) {
        printf("{\"file\":");
        vtoken_json_string(stdout, a->file);
        printf(",\"style\":\"%s\",\"rule\":", style == KS_P12_STYLE_NCA ? "nca" : "modern");
        vtoken_json_string(stdout, rulestr);
        printf(",\"served\":%s}\n", served ? "true" : "false");
    } else {
        printf("created %s (%s style, empty)\n", a->file,
               style == KS_P12_STYLE_NCA ? "NCA" : "modern");
        if (!served)
            printf("To use it as a token, give the module its directory: "
                   "VTOKEN_P12_PATH=%s, or 'path = %s' under [pkcs12] in vtoken.conf.\n",
                   dir, dir);
    }
out:
    free(why);
    ks_p12_close(p);
    ks_p12_ctx_free(ctx);
    return rc;
}

static const char *nid_name(int nid)
{
    return nid == NID_undef ? "none" : OBJ_nid2sn(nid);
}

static void info_pbe(const char *what, const ks_p12_pbe_info *i, bool json)
{
    if (json) {
        printf(",\"%s\":{\"pbe\":\"%s\",\"cipher\":\"%s\",\"iterations\":%d}", what,
               nid_name(i->pbe_nid), nid_name(i->cipher_nid), i->iter);
        return;
    }
    printf("  %-12s %s", what, nid_name(i->pbe_nid));
    if (i->cipher_nid != NID_undef)
        printf(" (%s)", nid_name(i->cipher_nid));
    if (i->pbe_nid != NID_undef)
        printf(", %d iterations", i->iter);
    printf("\n");
}

static int p12_info(const p12_args *a, tok_input *in)
{
    ks_p12_ctx *ctx = NULL;
    ks_p12 *p = NULL;
    ks_p12_info info;
    char pw[256], *why = NULL;
    ks_status st;
    int rc;

    rc = tok_secret(in, "password of the file", a->password, false, pw, sizeof(pw));
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    st = ks_p12_ctx_new(&ctx);
    if (st == KS_OK)
        st = ks_p12_open(ctx, a->file, pw, strlen(pw), &p, &why);
    vt_wipe(pw, sizeof(pw));
    if (st != KS_OK) {
        if (why)
            vtoken_error("p12", "%s", why);
        else
            vtoken_error("p12", "%s: %s", a->file, ks_strerror(st));
        rc = st == KS_ERR_BAD_PASSWORD ? VTOKEN_EXIT_PIN_INCORRECT : VTOKEN_EXIT_FAILURE;
        goto out;
    }
    ks_p12_get_info(p, &info);
    size_t nkeys = ks_p12_count(p, KS_P12_KEY), ncerts = ks_p12_count(p, KS_P12_CERT);
    if (a->json) {
        printf("{\"file\":");
        vtoken_json_string(stdout, a->file);
        printf(",\"keys\":%zu,\"certificates\":[", nkeys);
    } else {
        printf("%s: %zu key%s, %zu certificate%s\n", a->file, nkeys, nkeys == 1 ? "" : "s", ncerts,
               ncerts == 1 ? "" : "s");
    }
    for (size_t i = 0; i < ncerts; i++) {
        size_t len = 0;
        const uint8_t *der = ks_p12_cert_der(p, i, &len);
        const char *fn = ks_p12_friendly_name(p, KS_P12_CERT, i);
        cert_view cv;
        bool ok = der && cert_view_parse(der, len, &cv);
        char *entry = ok ? cert_view_entry(&cv, fn ? fn : "") : NULL;
        if (a->json) {
            printf("%s{\"alias\":", i ? "," : "");
            vtoken_json_string(stdout, fn ? fn : "");
            printf(",\"ncalayer\":");
            if (entry)
                vtoken_json_string(stdout, entry);
            else
                printf("null");
            printf("}");
        } else {
            printf("  certificate  alias %s\n", fn ? fn : "(none)");
            if (ok)
                printf("    NCALayer:  %s\n    valid:     %s .. %s\n", entry ? entry : "?",
                       cv.not_before, cv.not_after);
        }
        free(entry);
        if (ok)
            cert_view_free(&cv);
    }
    if (a->json) {
        printf("]");
        info_pbe("key_bags", &info.key, true);
        info_pbe("cert_safe", &info.cert, true);
        printf(",\"mac\":{\"digest\":\"%s\",\"iterations\":%d}}\n", nid_name(info.mac_md_nid),
               info.mac_iter);
    } else {
        info_pbe("key bags:", &info.key, false);
        info_pbe("cert safe:", &info.cert, false);
        printf("  %-12s %s, %d iterations\n", "MAC:", nid_name(info.mac_md_nid), info.mac_iter);
    }
out:
    free(why);
    ks_p12_close(p);
    ks_p12_ctx_free(ctx);
    return rc;
}

int cmd_p12(int argc, char **argv)
{
    static const struct option opts[] = {
        {"password", required_argument, NULL, 'w'}, {"style", required_argument, NULL, 's'},
        {"rule", required_argument, NULL, 'r'},     {"pin-file", required_argument, NULL, 'P'},
        {"home", required_argument, NULL, 'H'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    tok_input in = {.cmd = "p12"};
    p12_args a = {0};
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'w':
            a.password = optarg;
            break;
        case 's':
            a.style = optarg;
            break;
        case 'r':
            a.rule = optarg;
            break;
        case 'P':
            in.file = optarg;
            break;
        case 'H':
            a.home = optarg;
            break;
        case 'j':
            a.json = true;
            break;
        case 'h':
            fputs(p12_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("p12", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("p12", "missing action (new or info)");
    a.action = argv[optind++];
    if (strcmp(a.action, "new") != 0 && strcmp(a.action, "info") != 0)
        return vtoken_usage_error("p12", "unknown action '%s' (new or info)", a.action);
    if (optind >= argc)
        return vtoken_usage_error("p12", "missing FILE");
    a.file = argv[optind++];
    if (optind < argc)
        return vtoken_usage_error("p12", "unexpected argument '%s'", argv[optind]);
    if (strcmp(a.action, "info") == 0 && (a.style || a.rule))
        return vtoken_usage_error("p12", "--style and --rule are for 'new'");
    if (a.password && in.file)
        return vtoken_usage_error("p12", "--password and --pin-file exclude each other");
    rc = strcmp(a.action, "new") == 0 ? p12_new(&a, &in) : p12_info(&a, &in);
    tok_input_close(&in);
    return rc;
}
