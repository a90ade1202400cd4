/* vtoken-bench: measures vtoken's paths the way applications drive them. One mode per
 * file; this file dispatches and holds the timing and reporting helpers. */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
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
    {"table", bench_table,
     "RSA-2048 signing, key generation, find and start-up: OpenSSL, SoftHSM2 and vtoken"},
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

/* ---- threads ------------------------------------------------------------------ */

typedef struct run_shared {
    pthread_barrier_t start;
    atomic_bool stop;
    bench_op_fn op;
} run_shared;

typedef struct run_arg {
    run_shared *sh;
    void *arg;
} run_arg;

static void *run_worker(void *p)
{
    run_arg *a = p;
    pthread_barrier_wait(&a->sh->start);
    while (!atomic_load_explicit(&a->sh->stop, memory_order_relaxed))
        if (!a->sh->op(a->arg))
            break;
    return NULL;
}

double bench_run_threads(size_t n, void **args, bench_op_fn op, double seconds)
{
    run_shared sh;
    run_arg ra[BENCH_MAX_THREADS];
    pthread_t th[BENCH_MAX_THREADS];
    size_t started = 0;

    if (n == 0 || n > BENCH_MAX_THREADS)
        return 0;
    sh.op = op;
    atomic_init(&sh.stop, false);
    pthread_barrier_init(&sh.start, NULL, (unsigned)n + 1);
    for (; started < n; started++) {
        ra[started] = (run_arg){&sh, args[started]};
        if (pthread_create(&th[started], NULL, run_worker, &ra[started]) != 0)
            break;
    }
    if (started < n) {
        /* cannot happen short of resource exhaustion; fail loudly rather than hang */
        fprintf(stderr, "vtoken-bench: cannot start %zu threads\n", n);
        exit(BENCH_EXIT_FAILURE);
    }
    pthread_barrier_wait(&sh.start);
    uint64_t t0 = bench_now_ns();
    uint64_t stop_at = t0 + (uint64_t)(seconds * 1e9);
    for (;;) {
        uint64_t now = bench_now_ns();
        if (now >= stop_at)
            break;
        uint64_t left = stop_at - now;
        struct timespec ts = {0, (long)(left < 10000000u ? left : 10000000u)};
        nanosleep(&ts, NULL);
    }
    atomic_store(&sh.stop, true);
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    uint64_t t1 = bench_now_ns();
    pthread_barrier_destroy(&sh.start);
    return (double)(t1 - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
