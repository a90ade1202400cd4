/* `vtoken pin TOKEN`: change the user PIN (C_SetPIN), the SO PIN (C_Login as SO, then
 * C_SetPIN), or unblock the user PIN with the SO PIN (C_Login as SO, C_InitPIN). PINs
 * not given as options are read without echo; a wrong one reports the tries left. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

static const char pin_help[] =
    "Usage: vtoken pin TOKEN [--old PIN] [--new PIN] [--so]        change a PIN\n"
    "       vtoken pin TOKEN --unblock [--so-pin SOPIN] [--new PIN]  unblock the user PIN\n"
    "       (both also: [--pin-file FILE] [--home DIR] [--json])\n"
    "\n"
    "Change the user PIN (or with --so the SO PIN) from --old to --new, or set a new user\n"
    "PIN with the SO PIN (--unblock), which also gives the user PIN its tries back: the\n"
    "way out of a blocked user PIN. A wrong PIN uses up a try, as on the real token; the\n"
    "message says how many are left.\n"
    "\n"
    "PINs not given as options are read, one per line, from --pin-file or standard input,\n"
    "in the order: old PIN (or SO PIN for --unblock), then new PIN. On a terminal they are\n"
    "asked for without echo, and the new PIN twice. PINs given as options are visible to\n"
    "other users of this machine (ps); prefer --pin-file for anything but test PINs.\n"
    "\n"
    "TOKEN: a name from vtoken.conf, slot:N, label:LABEL or FILE.p12 (see 'vtoken show\n"
    "--help').\n"
    "\n"
    "Options:\n"
    "  --old PIN        the current PIN (user, or SO with --so)\n"
    "  --new PIN        the new PIN\n"
    "  --so             change the SO (administrator) PIN instead of the user PIN\n"
    "  --unblock        set the user PIN with the SO PIN (C_InitPIN)\n"
    "  --so-pin SOPIN   the SO PIN, for --unblock\n"
    "  --pin-file FILE  read missing PINs from FILE, one per line ('-': standard input)\n"
    "  --module PATH    the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                   else the installed one)\n"
    "  --home DIR       the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json           machine-readable output (one JSON object)\n"
    "  -h, --help       this text\n"
    "\n" VTOKEN_EXIT_HELP;

typedef struct pin_args {
    const char *old_pin, *new_pin, *so_pin;
    bool so, unblock, json;
} pin_args;

static int change(tok_ctx *t, tok_input *in, const pin_args *a)
{
    CK_USER_TYPE who = a->so ? CKU_SO : CKU_USER;
    const char *whose = a->so ? "SO PIN" : "user PIN";
    char old_pin[256], new_pin[256], prompt[64];
    CK_RV rv;
    int rc;

    old_pin[0] = new_pin[0] = '\0';
    snprintf(prompt, sizeof(prompt), "current %s", whose);
    rc = tok_secret(in, prompt, a->old_pin, false, old_pin, sizeof(old_pin));
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    snprintf(prompt, sizeof(prompt), "new %s", whose);
    rc = tok_secret(in, prompt, a->new_pin, true, new_pin, sizeof(new_pin));
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    /* C_SetPIN changes the SO's PIN when the SO is logged in, the user's otherwise. */
    if (a->so) {
        rc = tok_login(t, CKU_SO, old_pin);
        if (rc != VTOKEN_EXIT_OK)
            goto out;
    }
    rv = t->p11.f->C_SetPIN(t->session, (CK_UTF8CHAR_PTR)old_pin, strlen(old_pin),
                            (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin));
    if (rv != CKR_OK)
        rc = tok_fail(t, "C_SetPIN", rv, who);
out:
    vt_wipe(old_pin, sizeof(old_pin));
    vt_wipe(new_pin, sizeof(new_pin));
    return rc;
}

static int unblock(tok_ctx *t, tok_input *in, const pin_args *a)
{
    char so_pin[256], new_pin[256];
    CK_RV rv;
    int rc;

    so_pin[0] = new_pin[0] = '\0';
    rc = tok_secret(in, "SO PIN", a->so_pin, false, so_pin, sizeof(so_pin));
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_secret(in, "new user PIN", a->new_pin, true, new_pin, sizeof(new_pin));
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_login(t, CKU_SO, so_pin);
    if (rc == VTOKEN_EXIT_OK) {
        rv = t->p11.f->C_InitPIN(t->session, (CK_UTF8CHAR_PTR)new_pin, strlen(new_pin));
        if (rv != CKR_OK)
            rc = tok_fail(t, "C_InitPIN", rv, CKU_USER);
    }
    vt_wipe(so_pin, sizeof(so_pin));
    vt_wipe(new_pin, sizeof(new_pin));
    return rc;
}

static void report(tok_ctx *t, const pin_args *a)
{
    const char *what = a->unblock ? "user PIN set with the SO PIN (unblocked)"
                       : a->so    ? "SO PIN changed"
                                  : "user PIN changed";
    CK_TOKEN_INFO ti;
    sim_card_info ci;
    char serial[17];
    bool card = false;

    if (t->p11.f->C_GetTokenInfo(t->slot, &ti) == CKR_OK) {
        tok_unpad(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
        card = tok_home_card(t->home, serial, NULL, 0, &ci);
    }
    if (!a->json) {
        printf("%s: %s\n", t->name, what);
        return;
    }
    printf("{\"token\":");
    vtoken_json_string(stdout, t->name);
    printf(",\"slot\":%lu,\"action\":\"%s\"", (unsigned long)t->slot,
           a->unblock ? "unblock"
           : a->so    ? "change-so"
                      : "change");
    if (card)
        printf(",\"user_tries_left\":%d,\"so_tries_left\":%d", ci.user_tries_left,
               ci.so_tries_left);
    printf("}\n");
}

int cmd_pin(int argc, char **argv)
{
    static const struct option opts[] = {
        {"old", required_argument, NULL, 'o'},
        {"new", required_argument, NULL, 'n'},
        {"so", no_argument, NULL, 's'},
        {"unblock", no_argument, NULL, 'u'},
        {"so-pin", required_argument, NULL, 'S'},
        {"pin-file", required_argument, NULL, 'P'},
        {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL;
    tok_input in = {.cmd = "pin"};
    pin_args a = {0};
    tok_ctx t;
    int opt, rc;

    memset(&t, 0, sizeof(t));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            a.old_pin = optarg;
            break;
        case 'n':
            a.new_pin = optarg;
            break;
        case 's':
            a.so = true;
            break;
        case 'u':
            a.unblock = true;
            break;
        case 'S':
            a.so_pin = optarg;
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
            a.json = true;
            break;
        case 'h':
            fputs(pin_help, stdout);
            putchar('\n');
            tok_print_factory_pins(stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("pin", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("pin", "missing TOKEN");
    if (optind + 1 < argc)
        return vtoken_usage_error("pin", "unexpected argument '%s'", argv[optind + 1]);
    if (a.unblock && (a.so || a.old_pin))
        return vtoken_usage_error("pin", "--unblock takes --so-pin and --new, not --so or --old");
    if (!a.unblock && a.so_pin)
        return vtoken_usage_error("pin", "--so-pin goes with --unblock (to change the SO PIN: "
                                         "--so --old OLD --new NEW)");

    rc = tok_begin(&t, "pin", home_opt, module_opt);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, argv[optind]);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_open_session(&t, true);
    if (rc == VTOKEN_EXIT_OK)
        rc = a.unblock ? unblock(&t, &in, &a) : change(&t, &in, &a);
    if (rc == VTOKEN_EXIT_OK)
        report(&t, &a);
    tok_input_close(&in);
    tok_end(&t);
    return rc;
}
