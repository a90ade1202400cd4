/* `vtoken reset TOKEN --yes`: a virtual card back to its factory state (default PINs with
 * full tries, no keys, the profile's label). Done on the card image, not through the
 * module: it must work when the SO PIN is blocked or forgotten, which is exactly when
 * people need it, and no PKCS#11 call can do that. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "profile.h"
#include "tokcmd.h"
#include "vtoken.h"

static const char reset_help[] =
    "Usage: vtoken reset TOKEN --yes [--home DIR] [--json]\n"
    "\n"
    "Put a virtual token of this home back into its factory state: every key, certificate\n"
    "and data object is erased, the PINs are the factory ones with all their tries, and\n"
    "the label is the profile's. This works also when the SO PIN is blocked. The card keeps\n"
    "its serial number, as a real token does (a damaged image gets a new one). Programs\n"
    "that have the token open see it change, as if it had been initialised elsewhere.\n"
    "Without --yes nothing is done.\n"
    "\n"
    "TOKEN is a name from vtoken.conf, or slot:N / label:LABEL of one of this home's cards.\n"
    "PKCS#12 files and cards in real readers cannot be reset.\n"
    "\n"
    "Options:\n"
    "  --yes          really erase the token\n"
    "  --module PATH  the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                 else the installed one)\n"
    "  --home DIR     the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json         machine-readable output (one JSON object)\n"
    "  -h, --help     this text\n"
    "\n" VTOKEN_EXIT_HELP;

/* The configured token TOKEN names: by name, or through the module (slot:N, label:X)
 * by the serial of the card in that slot. */
static int resolve(const char *home_opt, const char *module_opt, const char *token, sim_home *h,
                   const sim_token_conf **out)
{
    CK_TOKEN_INFO ti;
    char serial[17], name[32];
    tok_ctx t;
    int rc;

    *out = sim_home_find(h, token);
    if (*out)
        return VTOKEN_EXIT_OK;
    if (strncmp(token, "slot:", 5) != 0 && strncmp(token, "label:", 6) != 0) {
        vtoken_error("reset", "no token '%s' in %s/vtoken.conf", token, sim_home_dir(h));
        return VTOKEN_EXIT_NO_TOKEN;
    }
    rc = tok_begin(&t, "reset", home_opt, module_opt);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, token);
    if (rc == VTOKEN_EXIT_OK && t.p11.f->C_GetTokenInfo(t.slot, &ti) == CKR_OK) {
        tok_unpad(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
        if (tok_home_card(t.home, serial, name, sizeof(name), NULL))
            *out = sim_home_find(h, name);
        if (!*out) {
            vtoken_error("reset", "%s is not one of this home's virtual cards", token);
            rc = VTOKEN_EXIT_NO_TOKEN;
        }
    }
    tok_end(&t);
    return rc;
}

int cmd_reset(int argc, char **argv)
{
    static const struct option opts[] = {
        {"yes", no_argument, NULL, 'y'},          {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL;
    const sim_token_conf *tc = NULL;
    bool yes = false, json = false, kept = false;
    char dir[4096], *why = NULL;
    sim_home *h = NULL;
    sim_card *card = NULL;
    sim_card_info ci;
    sim_status st;
    int opt, rc = VTOKEN_EXIT_FAILURE;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":hy", opts, NULL)) != -1) {
        switch (opt) {
        case 'y':
            yes = true;
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
            fputs(reset_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("reset", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("reset", "missing TOKEN");
    if (optind + 1 < argc)
        return vtoken_usage_error("reset", "unexpected argument '%s'", argv[optind + 1]);
    if (!yes)
        return vtoken_usage_error("reset",
                                  "this erases every key and certificate on '%s' and "
                                  "restores the factory PINs: add --yes to do it",
                                  argv[optind]);

    if (sim_home_resolve(home_opt, dir, sizeof(dir)) != SIM_OK) {
        vtoken_error("reset", "no vtoken home: set VTOKEN_HOME or use --home");
        return VTOKEN_EXIT_FAILURE;
    }
    st = sim_home_open(dir, &h, &why);
    if (st != SIM_OK) {
        vtoken_error("reset", "%s: %s%s%s", dir, sim_strerror(st), why ? ": " : "", why ? why : "");
        goto out;
    }
    rc = resolve(home_opt, module_opt, argv[optind], h, &tc);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = VTOKEN_EXIT_FAILURE;
    st = sim_card_reset(tc->image, tc->profile, &kept);
    if (st != SIM_OK) {
        vtoken_error("reset", "%s: %s", tc->image, sim_strerror(st));
        goto out;
    }
    st = sim_card_open(tc->image, &card, &why);
    if (st == SIM_OK)
        st = sim_card_get_info(card, &ci);
    if (st != SIM_OK) {
        vtoken_error("reset", "%s: %s%s%s", tc->image, sim_strerror(st), why ? ": " : "",
                     why ? why : "");
        goto out;
    }
    const sim_profile *p = sim_profile_by_name(tc->profile);
    for (char *q = ci.serial_hex; *q; q++) /* as CK_TOKEN_INFO shows it */
        *q = (char)toupper((unsigned char)*q);
    if (json) {
        printf("{\"token\":");
        vtoken_json_string(stdout, tc->name);
        printf(",\"profile\":\"%s\",\"serial\":\"%s\",\"serial_kept\":%s,"
               "\"user_tries_left\":%d,\"so_tries_left\":%d}\n",
               tc->profile, ci.serial_hex, kept ? "true" : "false", ci.user_tries_left,
               ci.so_tries_left);
    } else {
        printf("%s reset to its factory state: serial %s%s, user PIN %s, SO PIN %s\n", tc->name,
               ci.serial_hex, kept ? "" : " (new: the image held none to keep)",
               p ? p->user.default_pin : "?", p && p->so.ref ? p->so.default_pin : "-");
    }
    rc = VTOKEN_EXIT_OK;
out:
    sim_card_close(card);
    free(why);
    sim_home_close(h);
    return rc;
}
