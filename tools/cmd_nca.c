/* `vtoken nca`: NCA's personal-cabinet flows (pki.gov.kz) on virtual tokens and .p12
 * files, against the home's test CA. This file dispatches to the flows
 * (cmd_nca_*.c) and holds what they share: options, the PIN prompt, messages, --json
 * and the advice on a wrong or blocked PIN. The flows reach tokens only through the
 * PKCS#11 module (nca_token.c over p11client.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "json.h"
#include "nca_cmd.h"
#include "sim.h"
#include "vt_util.h"
#include "vtoken.h"

static const char nca_help[] =
    "Usage: vtoken nca FLOW TOKEN [OPTIONS]\n"
    "\n"
    "NCA's personal-cabinet flows (pki.gov.kz) on a virtual token or a .p12 file, through\n"
    "the PKCS#11 module, against a local test CA in $VTOKEN_HOME/ca (created on first use;\n"
    "it is NOT NCA). TOKEN is a token name (kaztoken, etoken, jacarta), slot:N,\n"
    "label:LABEL or FILE.p12 (its directory in VTOKEN_P12_PATH or vtoken.conf).\n"
    "\n"
    "Flows:\n"
    "  reissue TOKEN --iin IIN --name \"SURNAME NAME\"   new AUTH and SIGN keys and certificates\n"
    "  keys    TOKEN                                  the key sets, with CA status\n"
    "  login   TOKEN                                  sign the site's challenge with AUTH\n"
    "  revoke  TOKEN --serial S | --template AUTH|SIGN  a signed revocation request\n"
    "  passwd  TOKEN [--old P --new Q]                change the PIN / .p12 password\n"
    "  ca                                             where the test CA is, its certificate\n"
    "\n"
    "Every flow takes --pin P (else it asks on the terminal), --home DIR, --module PATH\n"
    "and --json. 'vtoken nca FLOW --help' describes one. The guide: docs/nca-flows.md.\n"
    "\n" VTOKEN_EXIT_HELP;

typedef struct nca_flow_entry {
    const char *name;
    int (*run)(int argc, char **argv);
} nca_flow_entry;

static const nca_flow_entry flows[] = {
    {"login", nca_flow_login},   {"keys", nca_flow_keys},     {"reissue", nca_flow_reissue},
    {"revoke", nca_flow_revoke}, {"passwd", nca_flow_passwd}, {"ca", nca_flow_ca},
};

int cmd_nca(int argc, char **argv)
{
    if (argc < 2) {
        fputs(nca_help, stderr);
        return VTOKEN_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(nca_help, stdout);
        return VTOKEN_EXIT_OK;
    }
    for (size_t i = 0; i < VT_ARRAY_LEN(flows); i++) {
        if (strcmp(argv[1], flows[i].name) == 0) {
            optind = 0;
            return flows[i].run(argc - 1, argv + 1);
        }
    }
    return vtoken_usage_error("nca", "unknown flow '%s' (login, keys, reissue, revoke, passwd, ca)",
                              argv[1]);
}

/* ---- a run ------------------------------------------------------------------------- */

void nca_run_init(nca_run *r, const char *flow)
{
    memset(r, 0, sizeof(*r));
    r->flow = flow;
}

bool nca_common_option(nca_run *r, int opt, char *arg)
{
    switch (opt) {
    case NCA_OPT_HOME:
        r->home_opt = arg;
        return true;
    case NCA_OPT_MODULE:
        r->module = arg;
        return true;
    case NCA_OPT_JSON:
        r->json = true;
        return true;
    case NCA_OPT_PIN:
        snprintf(r->pin, sizeof(r->pin), "%s", arg);
        r->have_pin = true;
        vt_wipe(arg, strlen(arg));
        return true;
    default:
        return false;
    }
}

void nca_run_end(nca_run *r)
{
    if (r->tok_open)
        nca_tok_close(&r->tok);
    r->tok_open = false;
    nca_ca_close(r->ca);
    r->ca = NULL;
    vt_wipe(r->pin, sizeof(r->pin));
}

static int resolve_home(nca_run *r)
{
    char dir[4096];
    sim_home *h = NULL;
    char *why = NULL;
    sim_status st = sim_home_resolve(r->home_opt, r->home, sizeof(r->home));

    if (st != SIM_OK)
        return nca_fail(r, VTOKEN_EXIT_FAILURE, CKR_OK, "cannot find the vtoken home: %s",
                        sim_strerror(st));
    /* Opening it creates a fresh home (factory tokens), as the module would. */
    snprintf(dir, sizeof(dir), "%s", r->home);
    st = sim_home_open(dir, &h, &why);
    sim_home_close(h);
    if (st != SIM_OK) {
        int rc = nca_fail(r, VTOKEN_EXIT_FAILURE, CKR_OK, "vtoken home %s: %s%s%s", r->home,
                          sim_strerror(st), why ? ": " : "", why ? why : "");
        free(why);
        return rc;
    }
    return VTOKEN_EXIT_OK;
}

int nca_open_token(nca_run *r, bool rw)
{
    int rc = resolve_home(r);

    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rc = nca_tok_open(&r->tok, r->module, r->home, r->token, rw);
    r->tok_open = true;
    if (rc != VTOKEN_EXIT_OK)
        return nca_fail(r, rc, CKR_OK, "%s", r->tok.err);
    return VTOKEN_EXIT_OK;
}

int nca_prompt_secret(const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    size_t n = 0;
    char c;
    ssize_t got;

    if (fd < 0)
        return -1;
    if (tcgetattr(fd, &old) != 0) {
        close(fd);
        return -1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    (void)!write(fd, prompt, strlen(prompt));
    (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    while ((got = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r') {
        if (n + 1 < cap)
            out[n++] = c;
    }
    vt_wipe(&c, sizeof(c));
    out[n] = '\0';
    (void)tcsetattr(fd, TCSAFLUSH, &old);
    (void)!write(fd, "\n", 1);
    close(fd);
    return got < 0 ? -1 : 0;
}

int nca_get_pin(nca_run *r, const char *what)
{
    char prompt[512], desc[256];

    if (r->have_pin)
        return VTOKEN_EXIT_OK;
    nca_token_desc(r, desc, sizeof(desc));
    snprintf(prompt, sizeof(prompt), "%s for %s: ", what, desc);
    if (nca_prompt_secret(prompt, r->pin, sizeof(r->pin)) != 0)
        return nca_fail(r, VTOKEN_EXIT_USAGE, CKR_OK,
                        "no %s: give --pin (there is no terminal to ask on)", what);
    r->have_pin = true;
    return VTOKEN_EXIT_OK;
}

int nca_login_user(nca_run *r)
{
    nca_pin_state ps;
    CK_RV rv;
    int rc = nca_get_pin(r, r->tok.media == NCA_MEDIA_FILE ? "password" : "PIN");

    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rv = nca_tok_login(&r->tok, r->pin, &ps);
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED)
        return nca_pin_fail(r, rv, &ps);
    if (rv != CKR_OK)
        return nca_fail(r, VTOKEN_EXIT_FAILURE, rv, "cannot log in to %s: %s", r->token,
                        r->tok.err);
    return VTOKEN_EXIT_OK;
}

int nca_open_ca(nca_run *r)
{
    char err[1024];
    bool created = false;

    if (nca_ca_open(r->home, &r->ca, &created, err, sizeof(err)) != 0)
        return nca_fail(r, VTOKEN_EXIT_FAILURE, CKR_OK, "test CA: %s", err);
    if (created)
        nca_step(r, "test CA created", "%s (C=KZ, CN=%s)", nca_ca_dir(r->ca), NCA_CA_NAME);
    return VTOKEN_EXIT_OK;
}

/* ---- messages -------------------------------------------------------------------------- */

void nca_token_desc(const nca_run *r, char *out, size_t cap)
{
    if (r->tok.label[0] && strcmp(r->tok.label, r->tok.model) != 0)
        snprintf(out, cap, "%s (%s, %s, serial %s)", r->token, r->tok.label, r->tok.model,
                 r->tok.serial);
    else if (r->tok.label[0])
        snprintf(out, cap, "%s (%s, serial %s)", r->token, r->tok.label, r->tok.serial);
    else
        snprintf(out, cap, "%s", r->token);
}

void nca_say(const nca_run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->json)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

void nca_step(const nca_run *r, const char *what, const char *fmt, ...)
{
    va_list ap;

    if (r->json)
        return;
    printf("  %-26s ", what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void json_fail(nca_run *r, CK_RV rv, const char *msg, const nca_pin_state *ps)
{
    nca_json j;

    nca_json_begin(&j, stdout);
    nca_json_head(&j, r, false);
    nca_json_str(&j, "error", msg);
    if (rv != CKR_OK)
        nca_json_str(&j, "ckr", vt_ckr_name(rv));
    if (ps) {
        nca_json_obj(&j, "pin");
        if (ps->tries_left >= 0)
            nca_json_int(&j, "tries_left", ps->tries_left);
        else
            nca_json_str(&j, "tries_left", NULL);
        if (ps->tries_max >= 0)
            nca_json_int(&j, "tries_max", ps->tries_max);
        nca_json_bool(&j, "exact", ps->exact);
        nca_json_bool(&j, "locked", ps->locked);
        nca_json_bool(&j, "final_try", ps->final_try);
        nca_json_close(&j, '}');
    }
    nca_json_end(&j);
}

int nca_fail(nca_run *r, int code, CK_RV rv, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "vtoken nca %s: %s\n", r->flow, msg);
    if (r->json)
        json_fail(r, rv, msg, NULL);
    return code;
}

int nca_pin_fail(nca_run *r, CK_RV rv, const nca_pin_state *ps)
{
    char msg[1024], left[128];
    const char *what = r->tok.media == NCA_MEDIA_FILE ? "password" : "PIN";

    if (rv == CKR_PIN_LOCKED || ps->locked) {
        snprintf(msg, sizeof(msg),
                 "the user PIN of %s is blocked (no tries left). Unblock it with the SO "
                 "(administrator) PIN: vtoken pin %s --unblock --so-pin SOPIN --new NEWPIN",
                 r->token, r->token);
    } else if (r->tok.media == NCA_MEDIA_FILE) {
        snprintf(msg, sizeof(msg), "wrong password for %s (a .p12 file counts no tries)", r->token);
    } else {
        if (ps->tries_left >= 0 && ps->tries_max > 0)
            snprintf(left, sizeof(left), "%d of %d tries left", ps->tries_left, ps->tries_max);
        else if (ps->tries_left >= 0)
            snprintf(left, sizeof(left), "%d tries left", ps->tries_left);
        else if (ps->count_low)
            snprintf(left, sizeof(left), "the token reports a low try count");
        else
            snprintf(left, sizeof(left), "the token does not say how many tries are left");
        snprintf(msg, sizeof(msg), "wrong %s for %s: %s%s", what, r->token, left,
                 ps->tries_left == 1 || ps->final_try ? "; one more wrong PIN blocks it" : "");
    }
    fflush(stdout);
    fprintf(stderr, "vtoken nca %s: %s\n", r->flow, msg);
    if (r->json)
        json_fail(r, rv, msg, ps);
    return rv == CKR_PIN_LOCKED || ps->locked ? VTOKEN_EXIT_PIN_LOCKED : VTOKEN_EXIT_PIN_INCORRECT;
}

/* ---- JSON --------------------------------------------------------------------------- */

static void json_sep(nca_json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    if (key) {
        vtoken_json_string(j->f, key);
        fputc(':', j->f);
    }
}

void nca_json_begin(nca_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
    fputc('{', f);
    j->first[0] = true;
}

void nca_json_end(nca_json *j)
{
    fputs("}\n", j->f);
    fflush(j->f);
}

static void json_open(nca_json *j, const char *key, char c)
{
    json_sep(j, key);
    fputc(c, j->f);
    if (j->depth + 1 < (int)VT_ARRAY_LEN(j->first))
        j->depth++;
    j->first[j->depth] = true;
}

void nca_json_obj(nca_json *j, const char *key)
{
    json_open(j, key, '{');
}

void nca_json_arr(nca_json *j, const char *key)
{
    json_open(j, key, '[');
}

void nca_json_close(nca_json *j, char c)
{
    fputc(c, j->f);
    if (j->depth > 0)
        j->depth--;
}

void nca_json_str(nca_json *j, const char *key, const char *v)
{
    json_sep(j, key);
    if (v)
        vtoken_json_string(j->f, v);
    else
        fputs("null", j->f);
}

void nca_json_int(nca_json *j, const char *key, long long v)
{
    json_sep(j, key);
    fprintf(j->f, "%lld", v);
}

void nca_json_bool(nca_json *j, const char *key, bool v)
{
    json_sep(j, key);
    fputs(v ? "true" : "false", j->f);
}

void nca_json_head(nca_json *j, const nca_run *r, bool ok)
{
    nca_json_str(j, "flow", r->flow);
    nca_json_bool(j, "ok", ok);
    if (r->token) {
        nca_json_obj(j, "token");
        nca_json_str(j, "name", r->token);
        if (r->tok.label[0]) {
            nca_json_int(j, "slot", (long long)r->tok.slot);
            nca_json_str(j, "label", r->tok.label);
            nca_json_str(j, "manufacturer", r->tok.manufacturer);
            nca_json_str(j, "model", r->tok.model);
            nca_json_str(j, "serial", r->tok.serial);
            nca_json_str(j, "media", nca_media_name(r->tok.media));
        }
        nca_json_close(j, '}');
    }
}

void nca_json_cert(nca_json *j, const char *key, nca_run *r, const nca_key *k)
{
    char buf[512];
    nca_ca_entry e;
    nca_cert_state st;

    memset(&e, 0, sizeof(e));
    nca_json_obj(j, key);
    nca_json_str(j, "template", nca_template_name(k->tmpl));
    nca_cert_serial_hex(k->cert, buf, sizeof(buf));
    nca_json_str(j, "serial", buf);
    nca_cert_cn(k->cert, buf, sizeof(buf));
    nca_json_str(j, "cn", buf);
    nca_cert_iin(k->cert, buf, sizeof(buf));
    nca_json_str(j, "iin", buf);
    nca_time_iso(X509_get0_notBefore(k->cert), buf, sizeof(buf));
    nca_json_str(j, "not_before", buf);
    nca_time_iso(X509_get0_notAfter(k->cert), buf, sizeof(buf));
    nca_json_str(j, "not_after", buf);
    vt_hex_encode(k->id, k->id_len, buf);
    nca_json_str(j, "id", buf);
    nca_json_str(j, "label", k->label);
    nca_json_bool(j, "private_key", k->priv_h != CK_INVALID_HANDLE);
    if (r->ca) {
        st = nca_ca_check(r->ca, k->cert, &e);
        nca_json_str(j, "status", nca_cert_state_name(st));
        if (st == NCA_CERT_REVOKED) {
            nca_json_str(j, "revoked_at", e.revoked_at);
            nca_json_str(j, "reason", e.reason);
        }
    }
    nca_json_close(j, '}');
}
