/* tools: the `vtoken` command. What the subcommands share: exit codes (documented in
 * `vtoken --help`), their entry points, and small helpers for messages and paths.
 * One file per subcommand (cmd_<name>.c); vtoken.c dispatches. */
#ifndef VTOKEN_VTOKEN_H
#define VTOKEN_VTOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes. Scripts may rely on them: never renumber, only add. */
enum vtoken_exit {
    VTOKEN_EXIT_OK = 0,
    VTOKEN_EXIT_FAILURE = 1,       /* the operation failed; stderr says why */
    VTOKEN_EXIT_USAGE = 2,         /* bad command line */
    VTOKEN_EXIT_NO_TOKEN = 3,      /* the named token is not configured (or not served) */
    VTOKEN_EXIT_NO_SIM = 4,        /* `vtoken card`: no `vtoken sim` is running for this home */
    VTOKEN_EXIT_BUSY = 5,          /* `vtoken sim`: another one already serves this home */
    VTOKEN_EXIT_PIN_INCORRECT = 6, /* wrong PIN or password (stderr gives the tries left) */
    VTOKEN_EXIT_PIN_LOCKED = 7,    /* the PIN is blocked (stderr says how to unblock it) */
};

/* The same list for --help texts. */
#define VTOKEN_EXIT_HELP                                                                           \
    "Exit status:\n"                                                                               \
    "  0  success\n"                                                                               \
    "  1  failure (the message says why)\n"                                                        \
    "  2  usage error\n"                                                                           \
    "  3  no such token\n"                                                                         \
    "  4  no `vtoken sim` is running for this home\n"                                              \
    "  5  another `vtoken sim` already serves this home\n"                                         \
    "  6  wrong PIN or password (the message gives the tries left)\n"                              \
    "  7  PIN blocked (the message says how to unblock it)\n"

/* Subcommands: argv[0] is the subcommand's name; they return an exit code. */
int cmd_sim(int argc, char **argv);
int cmd_card(int argc, char **argv);
int cmd_fault(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_pin(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export_cert(int argc, char **argv);
int cmd_p12(int argc, char **argv);
int cmd_nca(int argc, char **argv);

/* "vtoken <cmd>: message" on stderr. */
void vtoken_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: the message, a pointer to --help, and VTOKEN_EXIT_USAGE. */
int vtoken_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message getopt_long would print for the option that made it return '?' or ':'. */
int vtoken_bad_option(const char *cmd, char **argv, int opt);

/* Where `vtoken sim` serves its control socket for a home: <home>/run/sim.sock.
 * False when the path does not fit cap or a unix socket address. */
#define VTOKEN_RUN_DIR        "run"
#define VTOKEN_CONTROL_SOCKET "sim.sock"
bool vtoken_control_path(const char *home, char *out, size_t cap);

#endif
