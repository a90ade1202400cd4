/* What the `vtoken nca` flows share (cmd_nca*.c): their common options, the PIN prompt,
 * messages for people and --json output, and the PIN error advice. */
#ifndef VTOKEN_NCA_CMD_H
#define VTOKEN_NCA_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nca_ca.h"
#include "nca_token.h"

#define NCA_PIN_MAX 256

/* One run of a flow. */
typedef struct nca_run {
    const char *flow;   /* "login", "reissue", ... */
    const char *token;  /* as typed */
    const char *module; /* --module, else NULL */
    const char *home_opt;
    char home[4096]; /* resolved */
    bool json;
    char pin[NCA_PIN_MAX];
    bool have_pin;
    nca_tok tok;
    bool tok_open;
    nca_ca *ca;
} nca_run;

/* Common options, in each flow's getopt table with these values. */
#define NCA_OPT_HOME   0x100
#define NCA_OPT_MODULE 0x101
#define NCA_OPT_JSON   0x102
#define NCA_OPT_PIN    0x103
#define NCA_COMMON_OPTIONS                                                                         \
    {"home", required_argument, NULL, NCA_OPT_HOME},                                               \
        {"module", required_argument, NULL, NCA_OPT_MODULE},                                       \
        {"json", no_argument, NULL, NCA_OPT_JSON},                                                 \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }
#define NCA_COMMON_HELP                                                                            \
    "  --home DIR      the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"       \
    "  --module PATH   the PKCS#11 module to go through (default: $VTOKEN_MODULE, else the\n"      \
    "                  build tree's or the installed libvtoken-pkcs11.so)\n"                       \
    "  --json          one JSON object on stdout instead of the text\n"                            \
    "  -h, --help      this text\n"

void nca_run_init(nca_run *r, const char *flow);
/* Handle a common option (returns true) or not (false). Copies and wipes a PIN given on
 * the command line, so `ps` does not show it for long. */
bool nca_common_option(nca_run *r, int opt, char *arg);
/* Wipe and release everything. */
void nca_run_end(nca_run *r);

/* Resolve the home, load the module and open the token, R/W for flows that write
 * (exit code). */
int nca_open_token(nca_run *r, bool rw);
/* The PIN from --pin or, on a terminal, asked for without echo. */
int nca_get_pin(nca_run *r, const char *what);
/* nca_get_pin + C_Login, with the advice on a wrong or blocked PIN (exit code). */
int nca_login_user(nca_run *r);
/* Open (create on first use) the CA of the home. Says so when it was created. */
int nca_open_ca(nca_run *r);

/* Read a secret from the terminal without echo into out (wiped by the caller). */
int nca_prompt_secret(const char *prompt, char *out, size_t cap);

/* Messages. Text goes to stdout unless --json; errors always to stderr (and into the
 * JSON object). */
void nca_say(const nca_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nca_step(const nca_run *r, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error: stderr, and with --json an {"ok":false,...} object on stdout. rv may be
 * CKR_OK when no PKCS#11 call failed. Returns code. */
int nca_fail(nca_run *r, int code, CK_RV rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A wrong / blocked PIN, with tries left and how to unblock (VTOKEN_EXIT_PIN_INCORRECT
 * or VTOKEN_EXIT_PIN_LOCKED). */
int nca_pin_fail(nca_run *r, CK_RV rv, const nca_pin_state *ps);

/* A token's one-line description: "kaztoken (KAZTOKEN, serial 3314C84E)". */
void nca_token_desc(const nca_run *r, char *out, size_t cap);

/* --json writer: objects and arrays with commas placed for us. */
typedef struct nca_json {
    FILE *f;
    int depth;
    bool first[16];
} nca_json;
void nca_json_begin(nca_json *j, FILE *f);       /* "{" */
void nca_json_end(nca_json *j);                  /* "}\n" */
void nca_json_obj(nca_json *j, const char *key); /* key NULL inside arrays */
void nca_json_arr(nca_json *j, const char *key);
void nca_json_close(nca_json *j, char c);                       /* '}' or ']' */
void nca_json_str(nca_json *j, const char *key, const char *v); /* v NULL: null */
void nca_json_int(nca_json *j, const char *key, long long v);
void nca_json_bool(nca_json *j, const char *key, bool v);
/* The common head: "flow", "token", "ok", and the token's description. */
void nca_json_head(nca_json *j, const nca_run *r, bool ok);

/* A certificate as the flows show it (text line or JSON object), with the CA's view. */
void nca_json_cert(nca_json *j, const char *key, nca_run *r, const nca_key *k);

/* The flows. */
int nca_flow_login(int argc, char **argv);
int nca_flow_keys(int argc, char **argv);
int nca_flow_reissue(int argc, char **argv);
int nca_flow_revoke(int argc, char **argv);
int nca_flow_passwd(int argc, char **argv);
int nca_flow_ca(int argc, char **argv);

#endif
