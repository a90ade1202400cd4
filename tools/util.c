/* Helpers shared by the vtoken subcommands: error and usage messages in one format, and
 * the location of a running `vtoken sim`'s control socket. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <getopt.h>
#include <sys/un.h>

#include "vtoken.h"

/* "vtoken <cmd>: <message>" in one write, so lines from several processes do not mix. */
static void vmessage(const char *cmd, const char *fmt, va_list ap, const char *tail)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "vtoken %s: %s\n%s", cmd, msg, tail);
}

void vtoken_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage(cmd, fmt, ap, "");
    va_end(ap);
}

int vtoken_usage_error(const char *cmd, const char *fmt, ...)
{
    char tail[128];
    va_list ap;

    snprintf(tail, sizeof(tail), "Try 'vtoken %s --help'.\n", cmd);
    va_start(ap, fmt);
    vmessage(cmd, fmt, ap, tail);
    va_end(ap);
    return VTOKEN_EXIT_USAGE;
}

int vtoken_bad_option(const char *cmd, char **argv, int opt)
{
    /* getopt_long leaves the offending word just before optind; for a short option in a
     * cluster (-vx) optopt names the letter. */
    if (opt == ':')
        return vtoken_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    if (optopt > 0 && optopt < 128)
        return vtoken_usage_error(cmd, "unknown option '-%c'", optopt);
    return vtoken_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

bool vtoken_control_path(const char *home, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s/%s", home, VTOKEN_RUN_DIR, VTOKEN_CONTROL_SOCKET);

    return n > 0 && (size_t)n < cap && (size_t)n < sizeof(((struct sockaddr_un *)0)->sun_path);
}
