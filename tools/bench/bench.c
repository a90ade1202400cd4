/* vtoken-bench: measures vtoken's paths the way applications drive them. One mode per
 * file; this file dispatches and holds the timing and reporting helpers. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

typedef struct bench_mode {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} bench_mode;

static const bench_mode modes[] = {
    {"pcsc-challenge", bench_pcsc_challenge,
     "GET CHALLENGE round trips through pcscd and vpcd to `vtoken sim`"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: vtoken-bench MODE [OPTIONS]\n"
               "\n"
               "Modes:\n");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        fprintf(f, "  %-16s %s\n", modes[i].name, modes[i].summary);
    fprintf(f, "\n'vtoken-bench MODE --help' describes a mode.\n\n" BENCH_EXIT_HELP);
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool bench_stats_init(bench_stats *s)
{
    memset(s, 0, sizeof(*s));
    s->min_ns = UINT64_MAX;
    s->buckets = calloc(BENCH_BUCKETS + 1, sizeof(*s->buckets));
    return s->buckets != NULL;
}

void bench_stats_add(bench_stats *s, uint64_t ns)
{
    uint64_t us = ns / 1000;

    s->count++;
    s->total_ns += ns;
    if (ns < s->min_ns)
        s->min_ns = ns;
    if (ns > s->max_ns)
        s->max_ns = ns;
    s->buckets[us < BENCH_BUCKETS ? us : BENCH_BUCKETS]++;
}

void bench_stats_free(bench_stats *s)
{
    free(s->buckets);
    s->buckets = NULL;
}

/* Upper edge of the bucket holding the q-quantile, in microseconds. */
static double quantile_us(const bench_stats *s, double q)
{
    uint64_t want = (uint64_t)((double)s->count * q), seen = 0;

    for (uint32_t i = 0; i <= BENCH_BUCKETS; i++) {
        seen += s->buckets[i];
        if (seen > want)
            return i == BENCH_BUCKETS ? (double)s->max_ns / 1000.0 : (double)i + 1.0;
    }
    return (double)s->max_ns / 1000.0;
}

void bench_report(const char *mode, const char *unit, const bench_stats *s)
{
    double secs = (double)s->total_ns / 1e9;

    if (s->count == 0) {
        printf("%s: no operations completed\n", mode);
        return;
    }
    printf("%s: %llu %ss in %.2f s: %.0f %s/s, mean %.1f us (min %.1f, p50 %.0f, p99 %.0f, "
           "max %.1f)\n",
           mode, (unsigned long long)s->count, unit, secs, (double)s->count / secs, unit,
           (double)s->total_ns / (double)s->count / 1000.0, (double)s->min_ns / 1000.0,
           quantile_us(s, 0.5), quantile_us(s, 0.99), (double)s->max_ns / 1000.0);
}

static void usage_message(const char *mode, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "vtoken-bench %s: %s\nTry 'vtoken-bench %s --help'.\n", mode, msg, mode);
}

int bench_usage_error(const char *mode, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    usage_message(mode, fmt, ap);
    va_end(ap);
    return BENCH_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return BENCH_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(argv[1], modes[i].name) == 0) {
            optind = 0; /* each mode parses its own options with getopt_long */
            return modes[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "vtoken-bench: unknown mode '%s'\nTry 'vtoken-bench --help'.\n", argv[1]);
    return BENCH_EXIT_USAGE;
}
