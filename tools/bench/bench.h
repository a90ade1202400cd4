/* vtoken-bench: shared parts of the benchmark modes. Each mode is one file with one entry
 * point; bench.c dispatches. A mode measures one path end to end and prints its rate and
 * latency with bench_report(), so modes line up when compared. */
#ifndef VTOKEN_BENCH_H
#define VTOKEN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bench_exit {
    BENCH_EXIT_OK = 0,
    BENCH_EXIT_FAILURE = 1, /* setup failed or the measured path returned an error */
    BENCH_EXIT_USAGE = 2,
};

#define BENCH_EXIT_HELP                                                                            \
    "Exit status: 0 measured, 1 failure (setup or a wrong answer), 2 usage error.\n"

/* Modes: argv[0] is the mode name. */
int bench_pcsc_challenge(int argc, char **argv);
int bench_table(int argc, char **argv);

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);

/* Latencies in microseconds, bucketed (1 us wide up to a cap, then one overflow
 * bucket), so a run of millions of operations needs no per-operation storage. */
typedef struct bench_stats {
    uint64_t count;
    uint64_t total_ns;
    uint64_t min_ns, max_ns;
    uint32_t *buckets; /* BENCH_BUCKETS + 1 */
} bench_stats;
#define BENCH_BUCKETS 100000u

bool bench_stats_init(bench_stats *s);
void bench_stats_add(bench_stats *s, uint64_t ns);
void bench_stats_free(bench_stats *s);
/* One summary line: "<mode>: N ops in S s: R <unit>/s, mean M us (p50 .. p99 .. max ..)". */
void bench_report(const char *mode, const char *unit, const bench_stats *s);

/* Run op(args[i]) in a loop on n threads at once (started together) until seconds have
 * passed or an op returns false. Returns the elapsed wall time in seconds. */
#define BENCH_MAX_THREADS 16
typedef bool (*bench_op_fn)(void *arg);
double bench_run_threads(size_t n, void **args, bench_op_fn op, double seconds);

/* The median of v[0..n) (sorts v). */
double bench_median(double *v, size_t n);

/* Usage errors in one format; returns BENCH_EXIT_USAGE. */
int bench_usage_error(const char *mode, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
