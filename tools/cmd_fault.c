/* `vtoken fault TOKEN ...`: arm, list and clear faults on a virtual token. The plan lives
 * next to the card image (applet-sim/fault.h), so it acts wherever the token runs: in
 * `vtoken sim` and inside the PKCS#11 module of any process. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "sim.h"
#include "sw.h"
#include "vpcd.h"
#include "vtoken.h"
#include "vt_util.h"

static const char fault_help[] =
    "Usage: vtoken fault TOKEN --sw SW [--nth N] [--ins INS] [--repeat]\n"
    "       vtoken fault TOKEN --tear-next-write [--step write|fsync|rename] [--nth N]\n"
    "                          [--ins INS]\n"
    "       vtoken fault TOKEN --latency [INS=]DURATION [--latency ...]\n"
    "       vtoken fault TOKEN --remove-after N\n"
    "       vtoken fault TOKEN --list [--json]\n"
    "       vtoken fault TOKEN --clear\n"
    "\n"
    "Make a virtual token misbehave the way real tokens do, to test how an application\n"
    "copes. Faults act wherever the token runs: in `vtoken sim` and inside the PKCS#11\n"
    "module loaded by any program. They are kept in <image>.faults next to the token's\n"
    "card image until cleared; counting starts when a fault is armed. Arming adds to\n"
    "the faults already armed.\n"
    "\n"
    "Faults:\n"
    "  --sw SW             answer the Nth APDU (default the next one) with the status\n"
    "                      word SW (4 hex digits, 61xx-6Fxx or 90xx-9Fxx) instead of\n"
    "                      processing it; once, or with --repeat that APDU and every\n"
    "                      later matching one\n"
    "  --tear-next-write   the Nth image write (default the next) stops as a crash at\n"
    "                      --step would stop it (default rename): the command answers\n"
    "                      6581 and the card keeps the state it had before that write;\n"
    "                      a PIN try counted by an earlier write stays counted\n"
    "  --latency [INS=]DURATION\n"
    "                      wait DURATION (e.g. 3000ms, 3s; a bare number is ms) before\n"
    "                      each command with that INS (every command without INS=);\n"
    "                      repeatable; an INS-specific latency wins over the general\n"
    "                      one. E.g. --latency 46=3000ms makes a Kaztoken key generation\n"
    "                      take seconds, as on the real token\n"
    "  --remove-after N    the card leaves its reader after answering N more APDUs\n"
    "                      (0: at once); it stays out until --clear. The PKCS#11 module\n"
    "                      then reports the token removed; under `vtoken sim` the card\n"
    "                      leaves its vpcd reader as with `vtoken card remove`\n"
    "\n"
    "Options:\n"
    "  --nth N             with --sw: the Nth matching APDU; with --tear-next-write: the\n"
    "                      Nth matching image write (VERIFY writes twice: the try, then\n"
    "                      its reset)\n"
    "  --ins INS           count only commands with this INS (2 hex digits)\n"
    "  --repeat            with --sw: keep answering every matching APDU from the Nth on\n"
    "  --step STEP         with --tear-next-write: write (half the new image written),\n"
    "                      fsync (written, not synced) or rename (synced, not in place)\n"
    "  --list              what is armed and what already fired\n"
    "  --json              with --list: one JSON object\n"
    "  --clear             disarm every fault (a removed card comes back, also into\n"
    "                      the reader of a running `vtoken sim`)\n"
    "  --home DIR          the vtoken home (default $VTOKEN_HOME, else\n"
    "                      $XDG_DATA_HOME/vtoken)\n"
    "  -h, --help          this text\n"
    "\n"
    "Examples:\n"
    "  vtoken fault kaztoken --sw 6581 --nth 1 --ins 84   next GET CHALLENGE fails\n"
    "  vtoken fault kaztoken --tear-next-write --ins 24   the next PIN change is lost\n"
    "  vtoken fault etoken --latency 47=3000ms --latency 2A=50ms\n"
    "\n" VTOKEN_EXIT_HELP;

enum {
    OPT_HOME = 0x100,
    OPT_SW,
    OPT_NTH,
    OPT_INS,
    OPT_REPEAT,
    OPT_TEAR,
    OPT_STEP,
    OPT_LATENCY,
    OPT_REMOVE,
    OPT_LIST,
    OPT_JSON,
    OPT_CLEAR,
};

/* What the command line asked for. */
typedef struct fault_args {
    const char *home;
    const char *token;
    sim_fault_plan add; /* faults to arm */
    const char *sw, *nth, *ins, *step, *remove;
    bool repeat, tear, list, json, clear;
} fault_args;

/* ---- parsing values --------------------------------------------------------------------- */

static bool parse_hex_exact(const char *s, size_t digits, unsigned *out)
{
    uint8_t b[2];
    if (strlen(s) != digits || strspn(s, "0123456789abcdefABCDEF") != digits)
        return false;
    if (vt_hex_decode(s, b, sizeof(b)) != (long)(digits / 2))
        return false;
    *out = digits == 2 ? b[0] : (unsigned)(b[0] << 8 | b[1]);
    return true;
}

/* "3000ms", "3s", "3000" (ms). */
static bool parse_duration(const char *s, uint32_t *ms)
{
    char num[16];
    size_t n = strspn(s, "0123456789");
    uint32_t v, mult = 1;
    if (n == 0 || n >= sizeof(num))
        return false;
    if (strcmp(s + n, "s") == 0)
        mult = 1000;
    else if (s[n] != '\0' && strcmp(s + n, "ms") != 0)
        return false;
    memcpy(num, s, n);
    num[n] = '\0';
    if (!vt_parse_u32(num, SIM_FAULT_MAX_LATENCY_MS, &v) || v > SIM_FAULT_MAX_LATENCY_MS / mult)
        return false;
    *ms = v * mult;
    return *ms > 0;
}

static int add_fault(fault_args *a, const sim_fault *f)
{
    char why[160];
    if (sim_fault_plan_add(&a->add, f, why, sizeof(why)) != SIM_OK)
        return vtoken_usage_error("fault", "%s", why);
    return VTOKEN_EXIT_OK;
}

static int add_latency(fault_args *a, const char *arg)
{
    sim_fault f = {.kind = SIM_FAULT_LATENCY, .ins = SIM_FAULT_ANY_INS};
    const char *eq = strchr(arg, '=');
    const char *dur = arg;
    if (eq != NULL) {
        char ins[8];
        unsigned v;
        size_t n = (size_t)(eq - arg);
        if (n >= sizeof(ins))
            return vtoken_usage_error("fault", "--latency %s: INS must be 2 hex digits", arg);
        memcpy(ins, arg, n);
        ins[n] = '\0';
        if (strcmp(ins, "any") != 0) {
            if (!parse_hex_exact(ins, 2, &v))
                return vtoken_usage_error("fault", "--latency %s: INS must be 2 hex digits", arg);
            f.ins = (int)v;
        }
        dur = eq + 1;
    }
    if (!parse_duration(dur, &f.ms))
        return vtoken_usage_error(
            "fault", "--latency %s: duration must be 1ms to 600s (e.g. 3000ms, 3s)", arg);
    return add_fault(a, &f);
}

/* Turn --sw / --tear-next-write / --remove-after and their modifiers into faults. */
static int build_faults(fault_args *a)
{
    sim_fault f = {.ins = SIM_FAULT_ANY_INS, .nth = 1, .step = SIM_TEAR_RENAME};
    unsigned v;
    int kinds = (a->sw != NULL) + a->tear + (a->remove != NULL);

    if (kinds > 1)
        return vtoken_usage_error("fault",
                                  "--sw, --tear-next-write and --remove-after go one at a time");
    if ((a->nth != NULL || a->ins != NULL) && a->sw == NULL && !a->tear)
        return vtoken_usage_error("fault", "--nth and --ins go with --sw or --tear-next-write");
    if (a->repeat && a->sw == NULL)
        return vtoken_usage_error("fault", "--repeat goes with --sw");
    if (a->step != NULL && !a->tear)
        return vtoken_usage_error("fault", "--step goes with --tear-next-write");
    if (a->nth != NULL && !vt_parse_u32(a->nth, SIM_FAULT_MAX_COUNT - 1, &f.nth))
        return vtoken_usage_error("fault", "--nth %s: not a number", a->nth);
    if (a->nth != NULL && f.nth == 0)
        return vtoken_usage_error("fault", "--nth counts from 1");
    if (a->ins != NULL) {
        if (!parse_hex_exact(a->ins, 2, &v))
            return vtoken_usage_error("fault", "--ins %s: INS must be 2 hex digits", a->ins);
        f.ins = (int)v;
    }
    if (a->sw != NULL) {
        f.kind = SIM_FAULT_SW;
        f.repeat = a->repeat;
        if (!parse_hex_exact(a->sw, 4, &v))
            return vtoken_usage_error("fault", "--sw %s: status word must be 4 hex digits", a->sw);
        f.sw = (uint16_t)v;
        return add_fault(a, &f);
    }
    if (a->tear) {
        f.kind = SIM_FAULT_TEAR;
        if (a->step != NULL && !sim_fault_step_parse(a->step, &f.step))
            return vtoken_usage_error("fault", "--step %s: write, fsync or rename", a->step);
        return add_fault(a, &f);
    }
    if (a->remove != NULL) {
        f.kind = SIM_FAULT_REMOVE;
        if (!vt_parse_u32(a->remove, SIM_FAULT_MAX_COUNT - 1, &f.nth))
            return vtoken_usage_error("fault", "--remove-after %s: not a number", a->remove);
        return add_fault(a, &f);
    }
    return VTOKEN_EXIT_OK;
}

/* ---- describing faults -------------------------------------------------------------------- */

static const char *ordinal(uint32_t n, char *buf, size_t cap)
{
    const char *suffix = "th";
    if (n % 100 < 11 || n % 100 > 13)
        suffix = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
    snprintf(buf, cap, "%u%s", n, suffix);
    return buf;
}

static void describe(const sim_fault *f, char *out, size_t cap)
{
    char nth[16], ins[32], sw[96];
    if (f->ins == SIM_FAULT_ANY_INS)
        snprintf(ins, sizeof(ins), "any INS");
    else
        snprintf(ins, sizeof(ins), "INS %02X", (unsigned)f->ins);
    switch (f->kind) {
    case SIM_FAULT_SW:
        apdu_sw_format(f->sw, sw, sizeof(sw));
        snprintf(out, cap, "answer the %s APDU (%s) with %s%s", ordinal(f->nth, nth, sizeof(nth)),
                 ins, sw, f->repeat ? ", and every later one" : ", once");
        break;
    case SIM_FAULT_TEAR:
        snprintf(out, cap, "tear the %s image write (%s) at %s", ordinal(f->nth, nth, sizeof(nth)),
                 ins, sim_fault_step_name(f->step));
        break;
    case SIM_FAULT_LATENCY:
        snprintf(out, cap, "wait %u ms before each command (%s)", f->ms, ins);
        break;
    case SIM_FAULT_REMOVE:
        snprintf(out, cap, "remove the card after %u APDU%s", f->nth, f->nth == 1 ? "" : "s");
        break;
    }
}

static void status_of(const sim_fault *f, char *out, size_t cap)
{
    switch (f->kind) {
    case SIM_FAULT_SW:
    case SIM_FAULT_TEAR:
        if (f->fired == 0)
            snprintf(out, cap, "armed, %u of %u seen", f->seen, f->nth);
        else if (sim_fault_active(f))
            snprintf(out, cap, "fired %u time%s, still armed", f->fired, f->fired == 1 ? "" : "s");
        else
            snprintf(out, cap, "fired");
        break;
    case SIM_FAULT_LATENCY:
        snprintf(out, cap, "applied %u time%s", f->fired, f->fired == 1 ? "" : "s");
        break;
    case SIM_FAULT_REMOVE:
        if (f->fired)
            snprintf(out, cap, "fired: the card is out until --clear");
        else
            snprintf(out, cap, "armed, %u of %u APDUs answered", f->seen, f->nth);
        break;
    }
}

static void print_list(const char *token, const char *plan_path, const sim_fault_plan *plan)
{
    char what[256], state[96];
    if (plan->n == 0) {
        printf("%s: no faults armed\n", token);
        return;
    }
    printf("%s: %zu fault%s (%s)\n", token, plan->n, plan->n == 1 ? "" : "s", plan_path);
    for (size_t i = 0; i < plan->n; i++) {
        describe(&plan->f[i], what, sizeof(what));
        status_of(&plan->f[i], state, sizeof(state));
        printf("  %zu. %-7s %s: %s\n", i + 1, sim_fault_kind_name(plan->f[i].kind), what, state);
    }
}

static void print_json(const char *token, const char *plan_path, const sim_fault_plan *plan)
{
    char what[256];
    printf("{\"token\":");
    vtoken_json_string(stdout, token);
    printf(",\"plan\":");
    vtoken_json_string(stdout, plan_path);
    printf(",\"faults\":[");
    for (size_t i = 0; i < plan->n; i++) {
        const sim_fault *f = &plan->f[i];
        printf("%s{\"kind\":\"%s\",\"ins\":", i ? "," : "", sim_fault_kind_name(f->kind));
        if (f->ins == SIM_FAULT_ANY_INS)
            printf("null");
        else
            printf("\"%02X\"", (unsigned)f->ins);
        switch (f->kind) {
        case SIM_FAULT_SW:
            printf(",\"sw\":\"%04X\",\"sw_text\":", (unsigned)f->sw);
            vtoken_json_string(stdout, apdu_sw_text(f->sw));
            printf(",\"nth\":%u,\"repeat\":%s", f->nth, f->repeat ? "true" : "false");
            break;
        case SIM_FAULT_TEAR:
            printf(",\"step\":\"%s\",\"nth\":%u", sim_fault_step_name(f->step), f->nth);
            break;
        case SIM_FAULT_LATENCY:
            printf(",\"ms\":%u", f->ms);
            break;
        case SIM_FAULT_REMOVE:
            printf(",\"after\":%u", f->nth);
            break;
        }
        if (f->kind != SIM_FAULT_LATENCY)
            printf(",\"seen\":%u", f->seen);
        describe(f, what, sizeof(what));
        printf(",\"fired\":%u,\"active\":%s,\"description\":", f->fired,
               sim_fault_active(f) ? "true" : "false");
        vtoken_json_string(stdout, what);
        printf("}");
    }
    printf("]}\n");
}

/* ---- acting on the plan ------------------------------------------------------------------- */

static sim_status edit_add(sim_fault_plan *plan, void *arg)
{
    const sim_fault_plan *add = arg;
    for (size_t i = 0; i < add->n; i++)
        if (sim_fault_plan_add(plan, &add->f[i], NULL, 0) != SIM_OK)
            return SIM_ERR_ARGS;
    return SIM_OK;
}

/* arg: bool, set when a REMOVE fault had taken the card out. */
static sim_status edit_clear(sim_fault_plan *plan, void *arg)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->f[i].kind == SIM_FAULT_REMOVE && plan->f[i].fired > 0)
            *(bool *)arg = true;
    plan->n = 0;
    return SIM_OK;
}

/* A running `vtoken sim` took the card out of its reader when the removal fired: put it
 * back, as the card now comes back everywhere else. Nothing to do when no sim runs. */
static void sim_insert(const char *home, const char *token)
{
    char sock[4096], request[128], reply[128];

    if (!vtoken_control_path(home, sock, sizeof(sock)) ||
        (size_t)snprintf(request, sizeof(request), "insert %s", token) >= sizeof(request))
        return;
    if (sim_vpcd_control_request(sock, request, reply, sizeof(reply)) == SIM_OK &&
        strcmp(reply, "ok") == 0)
        printf("%s: back in its vpcd reader\n", token);
}

/* Resolve TOKEN to its card image (and the home's directory). Returns an exit code. */
static int find_image(const fault_args *a, char *image, size_t cap, char *home, size_t home_cap)
{
    sim_home *h = NULL;
    char *why = NULL;
    const sim_token_conf *conf;
    sim_status st;
    int rc = VTOKEN_EXIT_OK;

    st = sim_home_resolve(a->home, home, home_cap);
    if (st != SIM_OK) {
        vtoken_error("fault", "no vtoken home: set VTOKEN_HOME or use --home");
        return VTOKEN_EXIT_FAILURE;
    }
    st = sim_home_open(home, &h, &why);
    if (st != SIM_OK) {
        vtoken_error("fault", "cannot open the vtoken home %s: %s", home,
                     why ? why : sim_strerror(st));
        free(why);
        return VTOKEN_EXIT_FAILURE;
    }
    conf = sim_home_find(h, a->token);
    if (conf == NULL) {
        vtoken_error("fault", "no token '%s' in %s/vtoken.conf", a->token, home);
        rc = VTOKEN_EXIT_NO_TOKEN;
    } else if ((size_t)snprintf(image, cap, "%s", conf->image) >= cap) {
        vtoken_error("fault", "image path too long");
        rc = VTOKEN_EXIT_FAILURE;
    }
    sim_home_close(h);
    return rc;
}

static int run(const fault_args *a)
{
    char image[4096], home[4096], plan_path[PATH_MAX], why[512] = "", what[256];
    sim_fault_plan plan;
    sim_status st;
    bool was_out = false;
    int rc = find_image(a, image, sizeof(image), home, sizeof(home));

    memset(&plan, 0, sizeof(plan));

    if (rc != VTOKEN_EXIT_OK)
        return rc;
    if (sim_fault_plan_path(image, plan_path, sizeof(plan_path)) != SIM_OK) {
        vtoken_error("fault", "image path too long: %s", image);
        return VTOKEN_EXIT_FAILURE;
    }
    if (a->list) {
        st = sim_fault_plan_read(image, &plan, why, sizeof(why));
    } else if (a->clear) {
        st = sim_fault_plan_edit(image, edit_clear, &was_out, why, sizeof(why));
        /* A plan that does not parse is still ours to remove. */
        if (st == SIM_ERR_CONFIG && remove(plan_path) == 0)
            st = SIM_OK;
    } else {
        st = sim_fault_plan_edit(image, edit_add, (void *)&a->add, why, sizeof(why));
        if (st == SIM_ERR_ARGS)
            snprintf(why, sizeof(why), "the plan already holds %d faults; --clear first",
                     SIM_FAULT_MAX);
    }
    if (st != SIM_OK) {
        vtoken_error("fault", "%s: %s", a->token, why[0] ? why : sim_strerror(st));
        return VTOKEN_EXIT_FAILURE;
    }
    if (a->list) {
        if (a->json)
            print_json(a->token, plan_path, &plan);
        else
            print_list(a->token, plan_path, &plan);
    } else if (a->clear) {
        printf("%s: faults cleared\n", a->token);
        if (was_out)
            sim_insert(home, a->token);
    } else {
        for (size_t i = 0; i < a->add.n; i++) {
            describe(&a->add.f[i], what, sizeof(what));
            printf("%s: armed: %s\n", a->token, what);
        }
    }
    return VTOKEN_EXIT_OK;
}

int cmd_fault(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, OPT_HOME},
        {"sw", required_argument, NULL, OPT_SW},
        {"nth", required_argument, NULL, OPT_NTH},
        {"ins", required_argument, NULL, OPT_INS},
        {"repeat", no_argument, NULL, OPT_REPEAT},
        {"tear-next-write", no_argument, NULL, OPT_TEAR},
        {"step", required_argument, NULL, OPT_STEP},
        {"latency", required_argument, NULL, OPT_LATENCY},
        {"remove-after", required_argument, NULL, OPT_REMOVE},
        {"list", no_argument, NULL, OPT_LIST},
        {"json", no_argument, NULL, OPT_JSON},
        {"clear", no_argument, NULL, OPT_CLEAR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fault_args a;
    int opt, rc;

    memset(&a, 0, sizeof(a));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_HOME:
            a.home = optarg;
            break;
        case OPT_SW:
            a.sw = optarg;
            break;
        case OPT_NTH:
            a.nth = optarg;
            break;
        case OPT_INS:
            a.ins = optarg;
            break;
        case OPT_REPEAT:
            a.repeat = true;
            break;
        case OPT_TEAR:
            a.tear = true;
            break;
        case OPT_STEP:
            a.step = optarg;
            break;
        case OPT_LATENCY:
            rc = add_latency(&a, optarg);
            if (rc != VTOKEN_EXIT_OK)
                return rc;
            break;
        case OPT_REMOVE:
            a.remove = optarg;
            break;
        case OPT_LIST:
            a.list = true;
            break;
        case OPT_JSON:
            a.json = true;
            break;
        case OPT_CLEAR:
            a.clear = true;
            break;
        case 'h':
            fputs(fault_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("fault", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("fault", "missing token name");
    a.token = argv[optind++];
    if (optind < argc)
        return vtoken_usage_error("fault", "unexpected argument '%s'", argv[optind]);
    rc = build_faults(&a);
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    if (a.list + a.clear + (a.add.n > 0) != 1)
        return vtoken_usage_error("fault",
                                  "say what to do: a fault to arm, --list or --clear (one)");
    if (a.json && !a.list)
        return vtoken_usage_error("fault", "--json goes with --list");
    return run(&a);
}
