/* Shared by the token commands: the module loaded for a home, a token and a session,
 * PIN input without echo, CK_RV failures told with what to do next, and the PIN
 * counters from the card image (see tok_home_card for why from there). */
#include "tokcmd.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "profile.h" /* applet-sim: factory PINs for help texts and `init` */
#include "vt_util.h"
#include "vtoken.h"

void tok_unpad(char *out, size_t cap, const CK_UTF8CHAR *in, size_t width)
{
    size_t n = width;
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

char *tok_hex(const uint8_t *v, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (!s)
        return NULL;
    if (len)
        vt_hex_encode(v, len, s);
    else
        s[0] = '\0';
    return s;
}

/* ---- module, token, session ------------------------------------------------------ */

/* "home=DIR" with DIR quoted when it holds blanks or ';' (the module's option syntax). */
static bool home_option(const char *home, char *out, size_t cap)
{
    char q = '\0';
    if (strpbrk(home, " \t\n;'\""))
        q = strchr(home, '"') ? '\'' : '"';
    if (q && strchr(home, q))
        return false; /* both quote characters: not expressible */
    if (q)
        return snprintf(out, cap, "home=%c%s%c", q, home, q) < (int)cap;
    return snprintf(out, cap, "home=%s", home) < (int)cap;
}

int tok_begin(tok_ctx *t, const char *cmd, const char *home_opt, const char *module_opt)
{
    char opts[4200], err[1024];
    int rc;

    memset(t, 0, sizeof(*t));
    t->cmd = cmd;
    if (sim_home_resolve(home_opt, t->home, sizeof(t->home)) != SIM_OK) {
        vtoken_error(cmd, "no vtoken home: set VTOKEN_HOME or use --home");
        return VTOKEN_EXIT_FAILURE;
    }
    if (!home_option(t->home, opts, sizeof(opts))) {
        vtoken_error(cmd, "home path cannot be passed to the module: %s", t->home);
        return VTOKEN_EXIT_FAILURE;
    }
    rc = vt_p11_load(&t->p11, module_opt, opts, err, sizeof(err));
    if (rc != VTOKEN_EXIT_OK) {
        vtoken_error(cmd, "%s", err);
        return rc;
    }
    t->loaded = true;
    return VTOKEN_EXIT_OK;
}

int tok_find(tok_ctx *t, const char *token)
{
    char err[2048];
    int rc = vt_p11_find_token(&t->p11, t->home, token, &t->slot, err, sizeof(err));
    if (rc != VTOKEN_EXIT_OK)
        vtoken_error(t->cmd, "%s", err);
    t->name = token;
    return rc;
}

int tok_open_session(tok_ctx *t, bool rw)
{
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv = t->p11.f->C_OpenSession(t->slot, flags, NULL, NULL, &t->session);
    if (rv != CKR_OK) {
        t->session = 0;
        return tok_fail(t, "C_OpenSession", rv, CKU_USER);
    }
    return VTOKEN_EXIT_OK;
}

void tok_end(tok_ctx *t)
{
    if (t->session) {
        (void)t->p11.f->C_Logout(t->session);
        (void)t->p11.f->C_CloseSession(t->session);
        t->session = 0;
    }
    if (t->loaded)
        vt_p11_unload(&t->p11);
    t->loaded = false;
}

/* ---- the card behind a slot --------------------------------------------------------- */

/* PIN counters are not part of CK_TOKEN_INFO (only the COUNT_LOW / FINAL_TRY / LOCKED
 * flags are). They are read here from the card image, the state the card itself keeps:
 * reading it costs no PIN try and needs no vendor extension of the module, and for a
 * card served by `vtoken sim` to a reader it is the very same file. */
bool tok_home_card(const char *home, const char *serial, char *name, size_t name_cap,
                   sim_card_info *info)
{
    sim_home *h = NULL;
    char *why = NULL;
    bool found = false;

    if (!serial || !*serial || sim_home_open(home, &h, &why) != SIM_OK) {
        free(why);
        return false;
    }
    for (size_t i = 0; i < sim_home_token_count(h) && !found; i++) {
        const sim_token_conf *tc = sim_home_token(h, i);
        sim_card *card = NULL;
        sim_card_info ci;
        if (sim_card_open(tc->image, &card, NULL) != SIM_OK)
            continue;
        if (sim_card_get_info(card, &ci) == SIM_OK && strcasecmp(ci.serial_hex, serial) == 0) {
            found = true;
            if (info)
                *info = ci;
            if (name)
                snprintf(name, name_cap, "%s", tc->name);
        }
        sim_card_close(card);
    }
    sim_home_close(h);
    return found;
}

const char *tok_family(const CK_TOKEN_INFO *ti, const sim_card_info *card)
{
    char model[17];

    if (card && sim_profile_by_name(card->profile))
        return sim_profile_name(sim_profile_by_name(card->profile));
    tok_unpad(model, sizeof(model), ti->model, sizeof(ti->model));
    if (strcasestr(model, "kaztoken"))
        return "kaztoken";
    if (strcasestr(model, "etoken"))
        return "etoken";
    if (strcasestr(model, "jacarta"))
        return "jacarta";
    if (strcasestr(model, "pkcs") || strcasestr(model, "p12"))
        return "pkcs12";
    return "unknown";
}

/* The family of the token in the command's slot. */
static const char *tok_family_of_slot(tok_ctx *t)
{
    CK_TOKEN_INFO ti;
    sim_card_info ci;
    char serial[17];

    if (t->p11.f->C_GetTokenInfo(t->slot, &ti) != CKR_OK)
        return "unknown";
    tok_unpad(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
    return tok_family(&ti, tok_home_card(t->home, serial, NULL, 0, &ci) ? &ci : NULL);
}

void tok_print_factory_pins(FILE *f)
{
    fprintf(f, "Factory PINs (user / SO):");
    for (size_t i = 0; i < sim_profile_count(); i++) {
        const sim_profile *p = sim_profile_at(i);
        fprintf(f, "%s %s %s / %s", i ? ";" : "", p->name,
                p->user.default_pin ? p->user.default_pin : "-",
                p->so.ref && p->so.default_pin ? p->so.default_pin : "-");
    }
    fprintf(f, ".\n");
}

/* ---- PKCS#12 settings ------------------------------------------------------------- */

/* The [pkcs12] key of the home's vtoken.conf, into out ("" when none). */
void tok_conf_pkcs12(const char *home_opt, const char *key, char *out, size_t cap)
{
    char dir[4096], path[4200];
    ks_config *c = NULL;
    char *why = NULL;
    size_t s;

    out[0] = '\0';
    if (sim_home_resolve(home_opt, dir, sizeof(dir)) != SIM_OK)
        return;
    snprintf(path, sizeof(path), "%s/vtoken.conf", dir);
    if (ks_config_load(path, &c, &why) == KS_OK &&
        (s = ks_config_find(c, "pkcs12", NULL)) != (size_t)-1 && ks_config_get(c, s, key))
        snprintf(out, cap, "%s", ks_config_get(c, s, key));
    free(why);
    ks_config_free(c);
}

/* The same reading of a directory as the module's: "~/" is $HOME, a relative name is
 * taken from base (the home for vtoken.conf, the working directory for the environment). */
static bool served_dir_is(const char *item, const char *base, const char *real_dir)
{
    char path[PATH_MAX], real_item[PATH_MAX];
    const char *home = getenv("HOME");
    int n;

    if (item[0] == '~' && item[1] == '/' && home && *home)
        n = snprintf(path, sizeof(path), "%s/%s", home, item + 2);
    else if (item[0] != '/' && base)
        n = snprintf(path, sizeof(path), "%s/%s", base, item);
    else
        n = snprintf(path, sizeof(path), "%s", item);
    return n > 0 && (size_t)n < sizeof(path) && realpath(path, real_item) &&
           strcmp(real_item, real_dir) == 0;
}

bool tok_p12_dir_served(const char *home_opt, const char *dir)
{
    char conf[4096], home[4096], real_dir[PATH_MAX];
    const char *env = getenv("VTOKEN_P12_PATH");
    char *list, *save = NULL, *item;
    bool found = false;

    if (!realpath(dir, real_dir))
        return false;
    if (env && *env) {
        list = strdup(env);
        home[0] = '\0';
    } else {
        tok_conf_pkcs12(home_opt, "path", conf, sizeof(conf));
        if (sim_home_resolve(home_opt, home, sizeof(home)) != SIM_OK)
            home[0] = '\0';
        list = strdup(conf);
    }
    if (!list)
        return false;
    for (item = strtok_r(list, ":", &save); item && !found; item = strtok_r(NULL, ":", &save))
        found = served_dir_is(item, home[0] ? home : NULL, real_dir);
    free(list);
    return found;
}

/* ---- errors ------------------------------------------------------------------------- */

/* Tries left of who's PIN now: from the card image when this home holds the card, else
 * from the token flags (which only know "low", "final try" and "locked"). */
static void tries_text(tok_ctx *t, CK_USER_TYPE who, char *out, size_t cap)
{
    CK_TOKEN_INFO ti;
    sim_card_info ci;
    char serial[17];

    out[0] = '\0';
    if (t->p11.f->C_GetTokenInfo(t->slot, &ti) != CKR_OK)
        return;
    tok_unpad(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
    if (tok_home_card(t->home, serial, NULL, 0, &ci)) {
        int left = who == CKU_SO ? ci.so_tries_left : ci.user_tries_left;
        int max = who == CKU_SO ? ci.so_tries_max : ci.user_tries_max;
        if (left >= 0)
            snprintf(out, cap, "%d of %d tries left", left, max);
        return;
    }
    CK_FLAGS fin = who == CKU_SO ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY;
    CK_FLAGS low = who == CKU_SO ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW;
    if (ti.flags & fin)
        snprintf(out, cap, "1 try left");
    else if (ti.flags & low)
        snprintf(out, cap, "tries left: fewer than the maximum");
}

int tok_fail(tok_ctx *t, const char *what, CK_RV rv, CK_USER_TYPE who)
{
    char tries[64];
    const char *pin = who == CKU_SO ? "SO PIN" : "user PIN";

    switch (rv) {
    case CKR_PIN_INCORRECT:
        tries_text(t, who, tries, sizeof(tries));
        vtoken_error(t->cmd, "%s: %s: wrong %s%s%s", what, vt_ckr_name(rv), pin,
                     tries[0] ? ", " : "", tries);
        return VTOKEN_EXIT_PIN_INCORRECT;
    case CKR_PIN_LOCKED:
        if (who == CKU_SO)
            vtoken_error(t->cmd,
                         "%s: %s: the SO PIN is blocked; only a factory reset helps: "
                         "'vtoken reset %s --yes' (erases the token)",
                         what, vt_ckr_name(rv), t->name ? t->name : "TOKEN");
        else
            vtoken_error(t->cmd,
                         "%s: %s: the user PIN is blocked; unblock it with the SO PIN: "
                         "'vtoken pin %s --unblock --so-pin SOPIN --new NEWPIN'",
                         what, vt_ckr_name(rv), t->name ? t->name : "TOKEN");
        return VTOKEN_EXIT_PIN_LOCKED;
    case CKR_PIN_LEN_RANGE: {
        CK_TOKEN_INFO ti;
        if (t->p11.f->C_GetTokenInfo(t->slot, &ti) == CKR_OK)
            vtoken_error(t->cmd, "%s: %s: this token takes PINs of %lu to %lu characters", what,
                         vt_ckr_name(rv), (unsigned long)ti.ulMinPinLen,
                         (unsigned long)ti.ulMaxPinLen);
        else
            vtoken_error(t->cmd, "%s: %s: PIN too short or too long", what, vt_ckr_name(rv));
        return VTOKEN_EXIT_FAILURE;
    }
    case CKR_PIN_INVALID:
        vtoken_error(t->cmd, "%s: %s: the new PIN breaks the token's PIN rule%s", what,
                     vt_ckr_name(rv),
                     strcmp(tok_family_of_slot(t), "pkcs12") == 0
                         ? " (PKCS#12: 6-32 characters with a Latin upper-case letter, a "
                           "lower-case letter and a digit, unless configured otherwise)"
                         : "");
        return VTOKEN_EXIT_FAILURE;
    case CKR_USER_PIN_NOT_INITIALIZED:
        vtoken_error(t->cmd,
                     "%s: %s: the token has no user PIN yet; set one with the SO PIN: "
                     "'vtoken pin %s --unblock'",
                     what, vt_ckr_name(rv), t->name ? t->name : "TOKEN");
        return VTOKEN_EXIT_FAILURE;
    case CKR_DEVICE_MEMORY:
        vtoken_error(t->cmd,
                     "%s: %s: the token's memory is full ('vtoken list' shows what "
                     "is free)",
                     what, vt_ckr_name(rv));
        return VTOKEN_EXIT_FAILURE;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
        vtoken_error(t->cmd, "%s: %s: the token is not in its slot", what, vt_ckr_name(rv));
        return VTOKEN_EXIT_FAILURE;
    default:
        vtoken_error(t->cmd, "%s: %s", what, vt_ckr_name(rv));
        return VTOKEN_EXIT_FAILURE;
    }
}

int tok_login(tok_ctx *t, CK_USER_TYPE who, const char *pin)
{
    CK_RV rv = t->p11.f->C_Login(t->session, who, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv != CKR_OK)
        return tok_fail(t, "C_Login", rv, who);
    return VTOKEN_EXIT_OK;
}

/* ---- objects ------------------------------------------------------------------------- */

CK_RV tok_objects(tok_ctx *t, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE **out, size_t *count)
{
    CK_OBJECT_HANDLE *v = NULL, *nv;
    size_t len = 0, cap = 0;
    CK_ULONG got = 0;
    CK_RV rv;

    *out = NULL;
    *count = 0;
    rv = t->p11.f->C_FindObjectsInit(t->session, tmpl, n);
    if (rv != CKR_OK)
        return rv;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 32;
            nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                rv = CKR_HOST_MEMORY;
                break;
            }
            v = nv;
        }
        rv = t->p11.f->C_FindObjects(t->session, v + len, (CK_ULONG)(cap - len), &got);
        if (rv != CKR_OK || got == 0)
            break;
        len += got;
    }
    (void)t->p11.f->C_FindObjectsFinal(t->session);
    if (rv != CKR_OK) {
        free(v);
        return rv;
    }
    *out = v;
    *count = len;
    return CKR_OK;
}

CK_RV tok_attr(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv;

    *val = NULL;
    *len = 0;
    rv = t->p11.f->C_GetAttributeValue(t->session, h, &a, 1);
    if (rv != CKR_OK)
        return rv;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    a.pValue = malloc(a.ulValueLen + 1);
    if (!a.pValue)
        return CKR_HOST_MEMORY;
    rv = t->p11.f->C_GetAttributeValue(t->session, h, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return rv;
    }
    ((uint8_t *)a.pValue)[a.ulValueLen] = 0;
    *val = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

CK_ULONG tok_attr_ulong(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, CK_ULONG def)
{
    CK_ULONG v = def;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};
    if (t->p11.f->C_GetAttributeValue(t->session, h, &a, 1) != CKR_OK)
        return def;
    return v;
}

bool tok_attr_bool(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool def)
{
    CK_BBOOL v = def ? CK_TRUE : CK_FALSE;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};
    if (t->p11.f->C_GetAttributeValue(t->session, h, &a, 1) != CKR_OK)
        return def;
    return v != CK_FALSE;
}

/* ---- secrets ------------------------------------------------------------------------- */

/* One line of f into out, without its line end. False at EOF or when it does not fit
 * (the rest of an over-long line is consumed and wiped). */
static bool read_line(FILE *f, char *out, size_t cap, bool *too_long)
{
    size_t n = 0;
    bool got = false;
    int c;

    *too_long = false;
    while ((c = getc(f)) != EOF) {
        got = true;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            out[n++] = (char)c;
        else
            *too_long = true;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return got && !*too_long;
}

static int input_open(tok_input *in)
{
    if (in->f)
        return VTOKEN_EXIT_OK;
    if (!in->file || strcmp(in->file, "-") == 0) {
        in->f = stdin;
        in->close_f = false;
        return VTOKEN_EXIT_OK;
    }
    in->f = fopen(in->file, "re");
    if (!in->f) {
        vtoken_error(in->cmd, "cannot read %s: %s", in->file, strerror(errno));
        return VTOKEN_EXIT_FAILURE;
    }
    in->close_f = true;
    return VTOKEN_EXIT_OK;
}

/* Ask on the terminal with echo off. */
static int ask_tty(tok_input *in, const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    FILE *tty = fopen("/dev/tty", "r+e");
    bool too_long = false, ok;

    if (!tty) {
        vtoken_error(in->cmd,
                     "no terminal to ask for the %s: give it as an option or in --pin-file",
                     prompt);
        return VTOKEN_EXIT_USAGE;
    }
    fprintf(tty, "%s: ", prompt);
    fflush(tty);
    bool echo_off = tcgetattr(fileno(tty), &old) == 0;
    if (echo_off) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        (void)tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    ok = read_line(tty, out, cap, &too_long);
    if (echo_off)
        (void)tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    if (!ok) {
        vt_wipe(out, cap);
        vtoken_error(in->cmd, "%s: %s", prompt, too_long ? "too long" : "nothing entered");
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

int tok_secret(tok_input *in, const char *prompt, const char *given, bool confirm, char *out,
               size_t cap)
{
    bool too_long = false;
    int rc;

    if (given) {
        size_t n = strlen(given);
        if (n >= cap) {
            vtoken_error(in->cmd, "%s too long", prompt);
            return VTOKEN_EXIT_USAGE;
        }
        memcpy(out, given, n + 1);
        /* given is a command-line argument: blank it, so that the process list (ps,
         * /proc/PID/cmdline) shows it only until now. */
        vt_wipe((char *)given, n);
        return VTOKEN_EXIT_OK;
    }
    if (!in->file && isatty(STDIN_FILENO)) {
        char again[256];
        rc = ask_tty(in, prompt, out, cap);
        if (rc != VTOKEN_EXIT_OK || !confirm)
            return rc;
        char p2[128];
        snprintf(p2, sizeof(p2), "%s (again)", prompt);
        rc = ask_tty(in, p2, again, sizeof(again));
        if (rc == VTOKEN_EXIT_OK && strcmp(out, again) != 0) {
            vtoken_error(in->cmd, "the two entries differ");
            rc = VTOKEN_EXIT_FAILURE;
        }
        vt_wipe(again, sizeof(again));
        if (rc != VTOKEN_EXIT_OK)
            vt_wipe(out, cap);
        return rc;
    }
    rc = input_open(in);
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    if (!read_line(in->f, out, cap, &too_long)) {
        vt_wipe(out, cap);
        vtoken_error(in->cmd, "%s: %s in %s", prompt, too_long ? "line too long" : "no line left",
                     in->file && strcmp(in->file, "-") ? in->file : "standard input");
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

void tok_input_close(tok_input *in)
{
    if (in->f && in->close_f)
        fclose(in->f);
    in->f = NULL;
}
