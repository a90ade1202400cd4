/* `vtoken`: the command line of the virtual NCA tokens. Parses the global options and
 * hands the rest to one subcommand (cmd_<name>.c). Adding a subcommand is adding a file
 * and a line in the table below. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vtoken.h"

#ifndef VTOKEN_VERSION
#define VTOKEN_VERSION "unknown"
#endif

typedef struct vtoken_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} vtoken_cmd;

static const vtoken_cmd commands[] = {
    {"sim", cmd_sim, "put the virtual tokens into pcscd's virtual readers (vpcd)"},
    {"card", cmd_card, "remove or insert a token served by a running `vtoken sim`"},
    {"fault", cmd_fault, "make a virtual token fail: status words, torn writes, latency"},
    {"trace", cmd_trace, "print a PKCS#11 module trace (VTOKEN_TRACE) for people"},
    {"list", cmd_list, "list the tokens: kind, label, serial, PIN tries, objects, memory"},
    {"show", cmd_show, "show a token's objects: certificates (with NCALayer's key entry), keys"},
    {"import", cmd_import, "write the keys and certificates of a .p12 file onto a token"},
    {"export-cert", cmd_export_cert, "write a certificate from a token to a file (PEM or DER)"},
    {"pin", cmd_pin, "change a PIN, or unblock the user PIN with the SO PIN"},
    {"init", cmd_init, "create (or with --force replace) a virtual token of a profile"},
    {"reset", cmd_reset, "put a virtual token back into its factory state (--yes)"},
    {"p12", cmd_p12, "create a new, empty PKCS#12 token file; show what one holds"},
    {"nca", cmd_nca, "NCA's flows on a token or .p12: reissue, keys, login, revoke, passwd"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: vtoken [--help] [--version] COMMAND [ARGS]\n"
               "\n"
               "Virtual Kaztoken, eToken PRO (Java) 72K and JaCarta tokens for development and\n"
               "testing. State lives in $VTOKEN_HOME (default $XDG_DATA_HOME/vtoken).\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "'vtoken COMMAND --help' (or 'vtoken help COMMAND') describes a command.\n"
               "\n" VTOKEN_EXIT_HELP);
}

static const vtoken_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const vtoken_cmd *cmd;
    int opt;

    opterr = 0;
    /* '+': stop at the command name; its options are its own. */
    while ((opt = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            return VTOKEN_EXIT_OK;
        case 'V':
            printf("vtoken %s\n", VTOKEN_VERSION);
            return VTOKEN_EXIT_OK;
        default:
            if (optopt > 0 && optopt < 128)
                fprintf(stderr, "vtoken: unknown option '-%c'\n", optopt);
            else
                fprintf(stderr, "vtoken: unknown option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try 'vtoken --help'.\n");
            return VTOKEN_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return VTOKEN_EXIT_USAGE;
    }
    if (strcmp(argv[optind], "help") == 0) {
        char help[] = "--help";
        char *sub[3];
        if (optind + 1 >= argc) {
            usage(stdout);
            return VTOKEN_EXIT_OK;
        }
        cmd = find_command(argv[optind + 1]);
        if (!cmd) {
            fprintf(stderr, "vtoken: unknown command '%s'\nTry 'vtoken --help'.\n",
                    argv[optind + 1]);
            return VTOKEN_EXIT_USAGE;
        }
        sub[0] = argv[optind + 1];
        sub[1] = help;
        sub[2] = NULL;
        optind = 0;
        return cmd->run(2, sub);
    }
    cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "vtoken: unknown command '%s'\nTry 'vtoken --help'.\n", argv[optind]);
        return VTOKEN_EXIT_USAGE;
    }
    argc -= optind;
    argv += optind;
    /* 0, not 1: glibc then forgets everything about the previous scan. */
    optind = 0;
    return cmd->run(argc, argv);
}
