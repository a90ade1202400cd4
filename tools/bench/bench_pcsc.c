/* vtoken-bench pcsc-challenge: GET CHALLENGE (00 84 00 00 08) round trips through
 * pcsc-lite, pcscd, the vpcd driver and `vtoken sim`, i.e. the whole virtual-reader path
 * that any PC/SC application takes. Measures APDUs per second and latency. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pcsc.h"

#define MODE            "pcsc-challenge"
#define WARMUP_APDUS    50
#define DEFAULT_SECONDS 5

static const char help[] =
    "Usage: vtoken-bench pcsc-challenge [--reader NAME] [--seconds N]\n"
    "\n"
    "Send GET CHALLENGE (00 84 00 00 08) to a card over PC/SC for N seconds and report\n"
    "round trips per second and latency. Every answer must be 8 bytes and 90 00.\n"
    "\n"
    "Options:\n"
    "  -r, --reader NAME  the reader: its full name, or a part of exactly one reader's\n"
    "                     name (default: the first reader with a card)\n"
    "  -s, --seconds N    how long to measure, 1 to 3600 (default 5)\n"
    "  -h, --help         this text\n"
    "\n" BENCH_EXIT_HELP;

/* The reader named (exactly, or as a part of one name only), or NULL with a message. */
static const char *pick_named(char **readers, const char *want)
{
    const char *found = NULL;
    size_t hits = 0;

    for (size_t i = 0; readers[i]; i++)
        if (strcmp(readers[i], want) == 0)
            return readers[i];
    for (size_t i = 0; readers[i]; i++) {
        if (strstr(readers[i], want)) {
            found = readers[i];
            hits++;
        }
    }
    if (hits == 1)
        return found;
    fprintf(stderr, "vtoken-bench %s: %s reader matches '%s'; readers:\n", MODE,
            hits ? "more than one" : "no", want);
    for (size_t i = 0; readers[i]; i++)
        fprintf(stderr, "  %s\n", readers[i]);
    return NULL;
}

/* Connect to the named reader, or to the first one holding a card. */
static apdu_status connect_reader(apdu_pcsc *ctx, const char *want, apdu_transport **t,
                                  char **chosen)
{
    char **readers = NULL;
    const char *name = NULL;
    apdu_status st;

    st = apdu_pcsc_list_readers(ctx, &readers);
    if (st != APDU_OK)
        goto out;
    if (!readers[0]) {
        st = APDU_ERR_NO_READER;
        goto out;
    }
    if (want) {
        name = pick_named(readers, want);
        st = name ? apdu_pcsc_connect(ctx, name, t) : APDU_ERR_NO_READER;
    } else {
        st = APDU_ERR_NO_CARD;
        for (size_t i = 0; readers[i] && st != APDU_OK; i++) {
            name = readers[i];
            st = apdu_pcsc_connect(ctx, name, t);
        }
    }
    if (st == APDU_OK) {
        *chosen = strdup(name);
        if (!*chosen) {
            apdu_close(*t);
            *t = NULL;
            st = APDU_ERR_NOMEM;
        }
    }
out:
    apdu_pcsc_free_list(readers);
    return st;
}

/* One GET CHALLENGE; APDU_ERR_PROTOCOL (with the answer printed) when it is not 8 bytes
 * and 90 00. */
static apdu_status challenge(apdu_transport *t)
{
    static const uint8_t cmd[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    uint8_t resp[258];
    size_t rlen = sizeof(resp);
    apdu_status st = apdu_transmit(t, cmd, sizeof(cmd), resp, &rlen);

    if (st != APDU_OK)
        return st;
    if (rlen != 10 || resp[8] != 0x90 || resp[9] != 0x00) {
        fprintf(stderr, "vtoken-bench %s: GET CHALLENGE answered %zu bytes", MODE, rlen);
        if (rlen >= 2)
            fprintf(stderr, ", SW %02X%02X", resp[rlen - 2], resp[rlen - 1]);
        fputc('\n', stderr);
        return APDU_ERR_PROTOCOL;
    }
    return APDU_OK;
}

int bench_pcsc_challenge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reader", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reader = NULL;
    char *chosen = NULL, *end;
    long seconds = DEFAULT_SECONDS;
    apdu_pcsc *ctx = NULL;
    apdu_transport *t = NULL;
    bench_stats stats;
    apdu_status st;
    uint64_t stop_at;
    int rc = BENCH_EXIT_FAILURE, opt;

    memset(&stats, 0, sizeof(stats));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":r:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            reader = optarg;
            break;
        case 's':
            seconds = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || seconds < 1 || seconds > 3600)
                return bench_usage_error(MODE, "--seconds wants 1 to 3600, not '%s'", optarg);
            break;
        case 'h':
            fputs(help, stdout);
            return BENCH_EXIT_OK;
        case ':':
            return bench_usage_error(MODE, "option '%s' needs a value", argv[optind - 1]);
        default:
            return bench_usage_error(MODE, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bench_usage_error(MODE, "unexpected argument '%s'", argv[optind]);
    if (!bench_stats_init(&stats)) {
        fprintf(stderr, "vtoken-bench %s: out of memory\n", MODE);
        goto out;
    }
    st = apdu_pcsc_open_context(&ctx);
    if (st != APDU_OK) {
        fprintf(stderr, "vtoken-bench %s: cannot reach pcscd: %s\n", MODE, apdu_strerror(st));
        goto out;
    }
    st = connect_reader(ctx, reader, &t, &chosen);
    if (st != APDU_OK) {
        fprintf(stderr, "vtoken-bench %s: no card to measure: %s\n", MODE, apdu_strerror(st));
        goto out;
    }
    printf("%s: reader '%s', %ld s\n", MODE, chosen, seconds);
    for (int i = 0; i < WARMUP_APDUS; i++) {
        st = challenge(t);
        if (st != APDU_OK)
            goto failed;
    }
    stop_at = bench_now_ns() + (uint64_t)seconds * 1000000000u;
    for (;;) {
        uint64_t t0 = bench_now_ns(), t1;
        st = challenge(t);
        if (st != APDU_OK)
            goto failed;
        t1 = bench_now_ns();
        bench_stats_add(&stats, t1 - t0);
        if (t1 >= stop_at)
            break;
    }
    bench_report(MODE, "APDU", &stats);
    rc = BENCH_EXIT_OK;
    goto out;
failed:
    fprintf(stderr, "vtoken-bench %s: GET CHALLENGE failed after %llu round trips: %s\n", MODE,
            (unsigned long long)stats.count, apdu_strerror(st));
out:
    apdu_close(t);
    if (ctx)
        apdu_pcsc_close_context(ctx);
    free(chosen);
    bench_stats_free(&stats);
    return rc;
}
