/* `vtoken card remove|insert|status`: act on the cards of a running `vtoken sim` through
 * its control socket ($VTOKEN_HOME/run/sim.sock; protocol in applet-sim/vpcd.h). Removing
 * closes the card's vpcd connection, so PC/SC programs see the reader empty. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "vpcd.h"
#include "vtoken.h"

static const char card_help[] =
    "Usage: vtoken card remove TOKEN [--home DIR]\n"
    "       vtoken card insert TOKEN [--home DIR]\n"
    "       vtoken card status [TOKEN] [--home DIR]\n"
    "\n"
    "Take a virtual token out of its virtual reader or put it back, as if the USB token\n"
    "were unplugged and plugged in again. Acts on the `vtoken sim` serving the home;\n"
    "PC/SC programs see the reader empty after 'remove' and the card back after 'insert'.\n"
    "'status' prints each token's state: connected, connecting, waiting (for pcscd)\n"
    "or removed.\n"
    "\n"
    "Options:\n"
    "  --home DIR   the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  -h, --help   this text\n"
    "\n" VTOKEN_EXIT_HELP;

/* "ok a=connected b=removed" -> one "a connected" line per token. */
static void print_status(const char *reply)
{
    char copy[1024];
    char *save = NULL, *word;

    snprintf(copy, sizeof(copy), "%s", reply);
    (void)strtok_r(copy, " ", &save); /* "ok" */
    while ((word = strtok_r(NULL, " ", &save)) != NULL) {
        char *eq = strchr(word, '=');
        if (!eq)
            continue;
        *eq = '\0';
        printf("%s %s\n", word, eq + 1);
    }
}

int cmd_card(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *action, *token = NULL;
    char home[4096], sock[4096], request[SIM_VPCD_CONTROL_LINE_MAX], reply[1024];
    sim_status st;
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            home_opt = optarg;
            break;
        case 'h':
            fputs(card_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("card", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("card", "missing action (remove, insert or status)");
    action = argv[optind++];
    if (optind < argc)
        token = argv[optind++];
    if (optind < argc)
        return vtoken_usage_error("card", "unexpected argument '%s'", argv[optind]);
    if (strcmp(action, "remove") != 0 && strcmp(action, "insert") != 0 &&
        strcmp(action, "status") != 0)
        return vtoken_usage_error("card", "unknown action '%s'", action);
    if (strcmp(action, "status") != 0 && !token)
        return vtoken_usage_error("card", "%s needs a token name", action);
    /* Names with blanks cannot be configured; refuse them before they split the request. */
    if (token && (token[0] == '\0' || strpbrk(token, " \t\r\n")))
        return vtoken_usage_error("card", "bad token name '%s'", token);

    st = sim_home_resolve(home_opt, home, sizeof(home));
    if (st != SIM_OK) {
        vtoken_error("card", "no vtoken home: set VTOKEN_HOME or use --home");
        return VTOKEN_EXIT_FAILURE;
    }
    if (!vtoken_control_path(home, sock, sizeof(sock))) {
        vtoken_error("card", "home path too long for a control socket: %s", home);
        return VTOKEN_EXIT_FAILURE;
    }
    snprintf(request, sizeof(request), "%s%s%s", action, token ? " " : "", token ? token : "");
    st = sim_vpcd_control_request(sock, request, reply, sizeof(reply));
    if (st == SIM_ERR_NOT_FOUND) {
        vtoken_error("card", "no `vtoken sim` is running for %s", home);
        return VTOKEN_EXIT_NO_SIM;
    }
    if (st != SIM_OK) {
        vtoken_error("card", "`vtoken sim` did not answer on %s: %s", sock, sim_strerror(st));
        return VTOKEN_EXIT_FAILURE;
    }
    if (strcmp(reply, "error: no such token") == 0) {
        vtoken_error("card", "no token '%s' in the running `vtoken sim`", token ? token : "");
        return VTOKEN_EXIT_NO_TOKEN;
    }
    if (strncmp(reply, "ok", 2) != 0) {
        vtoken_error("card", "%s", reply);
        return VTOKEN_EXIT_FAILURE;
    }
    if (strcmp(action, "status") == 0)
        print_status(reply);
    else
        printf("%s %s\n", token, strcmp(action, "remove") == 0 ? "removed" : "inserted");
    return VTOKEN_EXIT_OK;
}
