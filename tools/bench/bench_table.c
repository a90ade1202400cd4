/* vtoken-bench table: one run that measures OpenSSL, SoftHSM2 and vtoken side by side on
 * this machine and prints absolute figures, ratios against the OpenSSL baseline of the
 * same run, and the targets of docs/PERFORMANCE.md. */
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bench.h"
#include "bench_ossl.h"
#include "bench_table.h"

#define MODE "table"

static const char help[] =
    "Usage: vtoken-bench table [--seconds S] [--reader NAME] [--only PARTS]\n"
    "                          [--module PATH] [--softhsm PATH] [--keygens N] [--inits N]\n"
    "\n"
    "Measure, in one run and side by side: RSA-2048 signatures per second (PKCS#1 v1.5\n"
    "with SHA-256) with OpenSSL's EVP_PKEY_sign, SoftHSM2's C_Sign and vtoken's C_Sign on\n"
    "embedded cards, on a PKCS#12 file and (with --reader) on a card behind pcscd + vpcd,\n"
    "on one and two threads; RSA-2048 key generation; the module's start-up with three\n"
    "cards and ten PKCS#12 files; one find among 1,000 session objects. Ratios are\n"
    "against the OpenSSL figures of the same run. Everything runs in a scratch directory\n"
    "that is removed at the end. Every 8th signature is verified with OpenSSL.\n"
    "\n"
    "Options:\n"
    "  -s, --seconds S    seconds per rate, 0.05 to 600 (default 5), spread over the rounds\n"
    "  -R, --rounds N     interleaved rounds per rate, 1 to 64 (default 5)\n"
    "  -r, --reader NAME  a PC/SC reader (part of its name) holding a `vtoken sim`\n"
    "                     Kaztoken with the default user PIN (scripts/bench.sh starts one)\n"
    "  -o, --only PARTS   comma-separated: openssl, softhsm, embedded, p12, pcsc, init,\n"
    "                     find, keygen (default: all)\n"
    "  -m, --module PATH  vtoken's module (default: this build tree's)\n"
    "      --softhsm PATH SoftHSM2's module (default /usr/lib/softhsm/libsofthsm2.so)\n"
    "  -k, --keygens N    key generations per median, 1 to 64 (default 5)\n"
    "  -i, --inits N      module start-ups per median, 1 to 256 (default 25)\n"
    "  -h, --help         this text\n"
    "\n" BENCH_EXIT_HELP;

static const struct {
    const char *name;
    unsigned bit;
} part_names[] = {
    {"openssl", BT_OPENSSL}, {"softhsm", BT_SOFTHSM}, {"embedded", BT_EMBEDDED},
    {"p12", BT_P12},         {"pcsc", BT_PCSC},       {"init", BT_INIT},
    {"find", BT_FIND},       {"keygen", BT_KEYGEN},
};

static bool parse_parts(const char *arg, unsigned *out)
{
    char buf[256];
    char *save = NULL;
    *out = 0;
    if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
        return false;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < sizeof(part_names) / sizeof(part_names[0]); i++)
            if (strcmp(p, part_names[i].name) == 0)
                break;
        if (i == sizeof(part_names) / sizeof(part_names[0]))
            return false;
        *out |= part_names[i].bit;
    }
    return *out != 0;
}

/* <dir of this executable>/../../pkcs11/libvtoken-pkcs11.so */
static bool default_module(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    return snprintf(out, cap, "%s/../../pkcs11/libvtoken-pkcs11.so", exe) < (int)cap &&
           access(out, R_OK) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static double load_average(void)
{
    double l = NAN;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = NAN;
        fclose(f);
    }
    return l;
}

/* CPU time the hypervisor gave to others while this VM wanted it ("steal", the 8th
 * field of /proc/stat's cpu line), and all CPU time, in clock ticks; 0 and 0 when
 * unreadable. Wake-ups through pcscd suffer from it far more than plain computing. */
static void cpu_ticks(unsigned long long *steal, unsigned long long *total)
{
    unsigned long long v[8] = {0};
    *steal = *total = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7]) == 8) {
        *steal = v[7];
        for (int i = 0; i < 8; i++)
            *total += v[i];
    }
    fclose(f);
}

/* ---- the rows ---------------------------------------------------------------------- */

/* A signing rate measured in rounds; the ratio and scaling columns are medians of the
 * per-round ratios, so that load from elsewhere that comes and goes cancels out. */
typedef struct rate_row {
    const char *name;
    double *out;    /* the bench_results field for the median rate */
    bench_side *sd; /* NULL: OpenSSL */
    int idx[2];     /* signers in sd */
    size_t n;       /* threads */
    int one;        /* row with the same party on one thread (scaling), or -1 */
    const char *target;
    int kind; /* 0: none, 1: ratio to OpenSSL, 2: scaling, 3: absolute rate */
    double want;
    double rate[BT_MAX_ROUNDS];
    double ratio, scaling;
    unsigned long long steal, ticks; /* over the row's rounds (cpu_ticks) */
    bool active, failed;
} rate_row;

enum {
    R_OSSL1,
    R_OSSL2,
    R_SHSM1,
    R_SHSM2,
    R_EMB1,
    R_EMB2S,
    R_EMB2T,
    R_ETOK,
    R_JAC,
    R_P12_1,
    R_P12_2,
    R_PCSC1,
    R_PCSC2,
    R_COUNT
};

static bool measure(const bench_conf *c, rate_row *row, double seconds, double *rate)
{
    if (!row->sd)
        return bench_ossl_sign_rate(c->key, row->n, seconds, rate);
    bench_signer s[2];
    for (size_t i = 0; i < row->n; i++)
        s[i] = row->sd->s[row->idx[i]];
    return bench_p11_sign_run(s, row->n, seconds, rate);
}

static double median_of(const double *v, size_t n)
{
    double tmp[BT_MAX_ROUNDS];
    memcpy(tmp, v, n * sizeof(*v));
    return bench_median(tmp, n);
}

static void run_rates(const bench_conf *c, rate_row *rows)
{
    double slice = c->seconds / c->rounds, tmp;
    /* one short warm-up each: first signatures load keys and caches */
    for (int i = 0; i < R_COUNT; i++)
        if (rows[i].active && !measure(c, &rows[i], 0.05, &tmp))
            rows[i].failed = true;
    for (int r = 0; r < c->rounds; r++)
        for (int i = 0; i < R_COUNT; i++) {
            unsigned long long s0, t0, s1, t1;
            if (!rows[i].active || rows[i].failed)
                continue;
            cpu_ticks(&s0, &t0);
            if (!measure(c, &rows[i], slice, &rows[i].rate[r]))
                rows[i].failed = true;
            cpu_ticks(&s1, &t1);
            rows[i].steal += s1 - s0;
            rows[i].ticks += t1 - t0;
        }
    for (int i = 0; i < R_COUNT; i++) {
        rate_row *row = &rows[i];
        double ratio[BT_MAX_ROUNDS], scale[BT_MAX_ROUNDS];
        row->ratio = row->scaling = NAN;
        if (!row->active || row->failed)
            continue;
        *row->out = median_of(row->rate, (size_t)c->rounds);
        for (int r = 0; r < c->rounds; r++) {
            ratio[r] = row->rate[r] / rows[R_OSSL1].rate[r];
            if (row->one >= 0)
                scale[r] = row->rate[r] / rows[row->one].rate[r];
        }
        if (rows[R_OSSL1].active && !rows[R_OSSL1].failed)
            row->ratio = bench_median(ratio, (size_t)c->rounds);
        if (row->one >= 0 && rows[row->one].active && !rows[row->one].failed)
            row->scaling = bench_median(scale, (size_t)c->rounds);
    }
}

/* ---- printing --------------------------------------------------------------------- */

static const char *verdict(int v)
{
    return v < 0 ? "" : v ? "met" : "MISSED";
}

static void print_rate(const bench_conf *c, const rate_row *row)
{
    char ratio[16] = "", scale[16] = "", spread[16] = "", steal[16] = "?";
    int v = -1;
    if (!row->active || row->failed) {
        printf("  %-44s %9s\n", row->name, row->failed ? "failed" : "-");
        return;
    }
    double med = *row->out, lo = row->rate[0], hi = row->rate[0];
    for (int r = 1; r < c->rounds; r++) {
        lo = row->rate[r] < lo ? row->rate[r] : lo;
        hi = row->rate[r] > hi ? row->rate[r] : hi;
    }
    snprintf(spread, sizeof(spread), "%.0f%%", med > 0 ? (hi - lo) / med * 100 : 0);
    if (row->ticks > 0)
        snprintf(steal, sizeof(steal), "%.0f%%", 100.0 * (double)row->steal / (double)row->ticks);
    if (!isnan(row->ratio))
        snprintf(ratio, sizeof(ratio), "%.2f", row->ratio);
    if (!isnan(row->scaling))
        snprintf(scale, sizeof(scale), "%.2fx", row->scaling);
    if (row->kind == 1 && !isnan(row->ratio))
        v = row->ratio >= row->want;
    else if (row->kind == 2 && !isnan(row->scaling))
        v = row->scaling >= row->want;
    else if (row->kind == 3)
        v = med >= row->want;
    printf("  %-44s %9.0f %7s %6s %9s %8s   %-20s %s\n", row->name, med, spread, steal, ratio,
           scale, row->target ? row->target : "", verdict(v));
}

static void print_time(const char *what, double secs, double base, const char *target, int v)
{
    char ratio[16] = "";
    if (isnan(secs)) {
        printf("  %-44s %9s\n", what, "-");
        return;
    }
    if (!isnan(base) && base > 0)
        snprintf(ratio, sizeof(ratio), "%.2f", secs / base);
    double ms = secs * 1e3;
    printf("  %-44s %9.*f %7s %6s %9s %8s   %-20s %s\n", what,
           ms < 0.1  ? 4
           : ms < 10 ? 2
                     : 1,
           ms, "", "", ratio, "", target ? target : "", verdict(v));
}

static int at_most(double v, double want)
{
    return isnan(v) ? -1 : v <= want;
}

static void print_table(const bench_conf *c, const rate_row *rows, const bench_results *r,
                        double load0, double load1)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("\nvtoken-bench table: RSA-2048, PKCS#1 v1.5 with SHA-256 (CKM_SHA256_RSA_PKCS)\n");
    printf("machine: %ld CPUs, load average %.2f before, %.2f after; %s\n", cpus, load0, load1,
           OpenSSL_version(OPENSSL_VERSION));
    printf("rates: medians of %d interleaved rounds of %.2f s; spread = (max - min) / median;\n"
           "steal = CPU time the hypervisor gave to other guests during the row's rounds;\n"
           "xOpenSSL and scaling are medians of the ratios within each round\n",
           c->rounds, c->seconds / c->rounds);
    printf("module: %s\n\n", c->module);
    printf("  %-44s %9s %7s %6s %9s %8s   %-20s\n", "signatures per second", "sig/s", "spread",
           "steal", "xOpenSSL", "scaling", "target");
    for (int i = 0; i < R_COUNT; i++)
        print_rate(c, &rows[i]);
    printf("\n  %-44s %9s %7s %6s %9s %8s   %-20s\n", "latency (median)", "ms", "", "", "xOpenSSL",
           "", "target");
    print_time("RSA-2048 key generation, OpenSSL", r->ossl_keygen, r->ossl_keygen, "(baseline)",
               -1);
    print_time("RSA-2048 key generation, SoftHSM2", r->shsm_keygen, r->ossl_keygen, NULL, -1);
    print_time("RSA-2048 key generation, vtoken embedded", r->emb_keygen, r->ossl_keygen, NULL, -1);
    char what[80];
    snprintf(what, sizeof(what), "C_Initialize..C_GetTokenInfo, 3 cards+%d .p12", BT_P12_FILES);
    print_time(what, r->init, NAN, "<= 5 ms", at_most(r->init, 5e-3));
    print_time("find 1 of 1,000 session objects, by label", r->find_label, NAN, "<= 0.05 ms",
               at_most(r->find_label, 5e-5));
    print_time("find 1 of 1,000 session objects, class+label", r->find_class_label, NAN,
               "<= 0.05 ms", at_most(r->find_class_label, 5e-5));
    printf("\n");
}

static void unmeasured(bench_results *r)
{
    r->ossl_1 = r->ossl_2 = r->ossl_keygen = NAN;
    r->shsm_1 = r->shsm_2 = r->shsm_keygen = NAN;
    r->emb_1 = r->emb_2_same = r->emb_2_two = r->etoken_1 = r->jacarta_1 = r->emb_keygen = NAN;
    r->p12_1 = r->p12_2 = r->pcsc_1 = r->pcsc_2 = NAN;
    r->init = r->find_label = r->find_class_label = NAN;
    r->init_slots = 0;
}

/* ---- the run ---------------------------------------------------------------------- */

static void row(rate_row *rows, int i, const char *name, double *out, bench_side *sd, int a, int b,
                int one)
{
    rate_row *x = &rows[i];
    x->name = name;
    x->out = out;
    x->sd = sd;
    x->idx[0] = a;
    x->idx[1] = b;
    x->n = one >= 0 ? 2 : 1;
    x->one = one;
    /* OpenSSL's rows always run; a module's when its signers were set up */
    x->active = i <= R_OSSL2 || (sd && a >= 0 && (b >= 0 || one < 0));
}

static void target(rate_row *rows, int i, int kind, double want, const char *text)
{
    rows[i].kind = kind;
    rows[i].want = want;
    rows[i].target = text;
}

/* Key generations, interleaved like the rates. */
static bool run_keygens(bench_conf *c, bench_side *shsm, bench_side *vt, bench_results *r)
{
    double o[BT_MAX_KEYGENS], s[BT_MAX_KEYGENS], v[BT_MAX_KEYGENS];
    bool ok = true;
    for (int i = 0; i < c->keygens && ok; i++) {
        EVP_PKEY *k = bench_ossl_keygen(2048, &o[i]);
        ok = k != NULL;
        EVP_PKEY_free(k);
        if (ok && shsm)
            ok = bench_side_keygen(shsm, false, &s[i]);
        if (ok && vt)
            ok = bench_side_keygen(vt, true, &v[i]);
    }
    if (!ok)
        return false;
    r->ossl_keygen = bench_median(o, (size_t)c->keygens);
    if (shsm)
        r->shsm_keygen = bench_median(s, (size_t)c->keygens);
    if (vt)
        r->emb_keygen = bench_median(v, (size_t)c->keygens);
    return true;
}

static bool run(bench_conf *c, bench_results *r, rate_row *rows)
{
    bench_side shsm, vt;
    bench_vt_index ix;
    bool have_shsm = false, have_vt = false, ok = true;
    double secs;

    memset(rows, 0, R_COUNT * sizeof(*rows));
    for (int i = 0; i < R_COUNT; i++)
        rows[i].one = -1;
    fprintf(stderr, "vtoken-bench: setting up\n");
    c->key = bench_ossl_keygen(2048, &secs);
    if (!c->key)
        return false;
    if (c->parts & BT_SOFTHSM) {
        if (access(c->softhsm, R_OK) != 0)
            fprintf(stderr, "vtoken-bench: %s not found (Debian package softhsm2)\n", c->softhsm);
        else
            have_shsm = bench_softhsm_open(c, &shsm);
        ok = have_shsm;
    }
    if (c->parts & (BT_EMBEDDED | BT_P12 | BT_PCSC | BT_FIND | BT_KEYGEN)) {
        have_vt = bench_vtoken_open(c, &vt, &ix);
        ok = have_vt && ok;
    }
    row(rows, R_OSSL1, "OpenSSL EVP_PKEY_sign, 1 thread", &r->ossl_1, NULL, -1, -1, -1);
    row(rows, R_OSSL2, "OpenSSL EVP_PKEY_sign, 2 threads", &r->ossl_2, NULL, -1, -1, R_OSSL1);
    target(rows, R_OSSL1, 0, 0, "(baseline)");
    if (have_shsm) {
        row(rows, R_SHSM1, "SoftHSM2 C_Sign, 1 thread", &r->shsm_1, &shsm, 0, -1, -1);
        row(rows, R_SHSM2, "SoftHSM2 C_Sign, 2 threads", &r->shsm_2, &shsm, 0, 1, R_SHSM1);
    } else {
        rows[R_SHSM1].name = "SoftHSM2 C_Sign, 1 thread";
        rows[R_SHSM2].name = "SoftHSM2 C_Sign, 2 threads";
    }
    bench_side *v = have_vt ? &vt : NULL;
    int none = -1;
    row(rows, R_EMB1, "vtoken embedded Kaztoken, 1 thread", &r->emb_1, v, v ? ix.kaz_a : none, -1,
        -1);
    row(rows, R_EMB2S, "vtoken embedded, 2 threads, one token", &r->emb_2_same, v,
        v ? ix.kaz_a : none, v ? ix.kaz_b : none, R_EMB1);
    row(rows, R_EMB2T, "vtoken embedded, 2 threads, two tokens", &r->emb_2_two, v,
        v ? ix.kaz_a : none, v ? ix.kaz2 : none, R_EMB1);
    row(rows, R_ETOK, "vtoken embedded eToken, 1 thread", &r->etoken_1, v, v ? ix.etoken : none, -1,
        -1);
    row(rows, R_JAC, "vtoken embedded JaCarta, 1 thread", &r->jacarta_1, v, v ? ix.jacarta : none,
        -1, -1);
    row(rows, R_P12_1, "vtoken .p12 file, 1 thread", &r->p12_1, v, v ? ix.p12_a : none, -1, -1);
    row(rows, R_P12_2, "vtoken .p12 file, 2 threads", &r->p12_2, v, v ? ix.p12_a : none,
        v ? ix.p12_b : none, R_P12_1);
    row(rows, R_PCSC1, "vtoken pcscd+vpcd Kaztoken, 1 thread", &r->pcsc_1, v, v ? ix.pcsc_a : none,
        -1, -1);
    row(rows, R_PCSC2, "vtoken pcscd+vpcd Kaztoken, 2 threads", &r->pcsc_2, v, v ? ix.pcsc_a : none,
        v ? ix.pcsc_b : none, R_PCSC1);
    target(rows, R_EMB1, 1, 0.9, ">= 0.90 x OpenSSL");
    target(rows, R_EMB2S, 2, 1.8, ">= 1.80x scaling");
    target(rows, R_EMB2T, 2, 1.8, ">= 1.80x scaling");
    target(rows, R_PCSC1, 3, 500, ">= 500 sig/s");
    if (!(c->parts & BT_OPENSSL))
        rows[R_OSSL2].active = false; /* the 1-thread baseline stays: ratios need it */
    if (!(c->parts & BT_EMBEDDED))
        for (int i = R_EMB1; i <= R_JAC; i++)
            rows[i].active = false;

    fprintf(stderr, "vtoken-bench: signing, %d rounds\n", c->rounds);
    run_rates(c, rows);
    for (int i = 0; i < R_COUNT; i++)
        ok = ok && !rows[i].failed;
    if (c->parts & BT_KEYGEN) {
        fprintf(stderr, "vtoken-bench: key generation\n");
        ok = run_keygens(c, have_shsm ? &shsm : NULL, v, r) && ok;
    }
    if (have_vt && (c->parts & BT_FIND)) {
        fprintf(stderr, "vtoken-bench: find\n");
        ok = bench_vtoken_find(c, &vt, r) && ok;
    }
    if (have_shsm)
        bench_side_close(&shsm);
    if (have_vt)
        bench_side_close(&vt);
    if (c->parts & BT_INIT) {
        fprintf(stderr, "vtoken-bench: start-up\n");
        ok = bench_vtoken_init(c, r) && ok;
    }
    return ok;
}

int bench_table(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 's'}, {"reader", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, 'o'},    {"module", required_argument, NULL, 'm'},
        {"softhsm", required_argument, NULL, 'S'}, {"keygens", required_argument, NULL, 'k'},
        {"inits", required_argument, NULL, 'i'},   {"rounds", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    static char module[PATH_MAX];
    bench_conf c = {
        .softhsm = "/usr/lib/softhsm/libsofthsm2.so",
        .seconds = 5,
        .rounds = 5,
        .keygens = 5,
        .inits = 25,
        .parts = BT_ALL,
    };
    bench_results r;
    char *end;
    long v;
    int opt, rc = BENCH_EXIT_FAILURE;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":s:r:o:m:k:i:R:h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            c.seconds = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(c.seconds >= 0.05 && c.seconds <= 600))
                return bench_usage_error(MODE, "--seconds wants 0.05 to 600, not '%s'", optarg);
            break;
        case 'r':
            c.reader = optarg;
            break;
        case 'o':
            if (!parse_parts(optarg, &c.parts))
                return bench_usage_error(MODE, "--only: unknown part in '%s'", optarg);
            break;
        case 'm':
            c.module = optarg;
            break;
        case 'S':
            c.softhsm = optarg;
            break;
        case 'k':
        case 'i':
        case 'R':
            v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < 1 ||
                v > (opt == 'k'   ? BT_MAX_KEYGENS
                     : opt == 'R' ? BT_MAX_ROUNDS
                                  : 256))
                return bench_usage_error(MODE, "--%s: out of range: '%s'",
                                         opt == 'k'   ? "keygens"
                                         : opt == 'R' ? "rounds"
                                                      : "inits",
                                         optarg);
            *(opt == 'k' ? &c.keygens : opt == 'R' ? &c.rounds : &c.inits) = (int)v;
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
    if (!c.module) {
        const char *env = getenv("VTOKEN_MODULE");
        if (env && *env)
            c.module = env;
        else if (default_module(module, sizeof(module)))
            c.module = module;
        else
            return bench_usage_error(MODE, "no module found next to vtoken-bench: give --module");
    }
    unmeasured(&r);
    snprintf(c.tmp, sizeof(c.tmp), "%s/vtoken-bench.XXXXXX",
             getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(c.tmp)) {
        perror("vtoken-bench: mkdtemp");
        return BENCH_EXIT_FAILURE;
    }
    double load0 = load_average();
    rate_row rows[R_COUNT];
    bool ok = run(&c, &r, rows);
    print_table(&c, rows, &r, load0, load_average());
    if (ok)
        rc = BENCH_EXIT_OK;
    else
        fprintf(stderr, "vtoken-bench: some measurements failed (see above)\n");
    EVP_PKEY_free(c.key);
    nftw(c.tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
