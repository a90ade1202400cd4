/* `vtoken sim`: the home's virtual tokens as cards in pcscd's virtual readers. Opens each
 * card with the engine (applet-sim/sim.h), hands it to the vpcd link (applet-sim/vpcd.h)
 * and runs the link in the foreground until SIGTERM/SIGINT or a control "stop". */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apdu.h"
#include "fault.h"
#include "sim.h"
#include "vpcd.h"
#include "vtoken.h"
#include "vt_util.h"

static const char sim_help[] =
    "Usage: vtoken sim [--home DIR] [--token NAME]... [--busy-poll USEC] [-v]\n"
    "\n"
    "Put the virtual tokens into pcscd's virtual readers (vsmartcard vpcd), where every\n"
    "PC/SC program sees them as physical tokens. Each token connects to vpcd on\n"
    "127.0.0.1 at the vpcd port vtoken.conf gives it (kaztoken 35963, etoken 35965,\n"
    "jacarta 35967 in a fresh home); pcscd needs a vpcd reader entry on that port.\n"
    "Runs in the foreground and prints a line whenever a token enters or leaves its\n"
    "reader. When pcscd is not running or restarts, tokens reconnect by themselves.\n"
    "SIGTERM or SIGINT (Ctrl-C) stops it. 'vtoken card remove|insert TOKEN' takes a\n"
    "token out of its reader and puts it back.\n"
    "\n"
    "Options:\n"
    "  --home DIR        the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  -t, --token NAME  serve only this token (repeatable; default: every token with a\n"
    "                    vpcd port)\n"
    "  --busy-poll USEC  after answering an APDU, keep polling without sleeping for up\n"
    "                    to USEC microseconds (default 200, at most 100000; 0: off),\n"
    "                    yielding the CPU to anything else runnable: the next APDU of\n"
    "                    an exchange then needs no wake-up, which makes each APDU\n"
    "                    through pcscd faster on virtual machines\n"
    "  -v, --verbose     log APDUs (PIN data of VERIFY, CHANGE REFERENCE DATA and RESET\n"
    "                    RETRY COUNTER is never shown); -vv also logs power, reset,\n"
    "                    presence polls and failed connection attempts\n"
    "  -h, --help        this text\n"
    "\n" VTOKEN_EXIT_HELP;

#define TRACE_MAX_BYTES 256u /* longer APDUs are cut in the log */

/* One served token: its configuration, card and the single reader connection to it. */
typedef struct sim_slot {
    const sim_token_conf *conf;
    sim_card *card;
    sim_conn *conn;
    sim_vpcd *link;
} sim_slot;

typedef struct sim_run {
    sim_home *home;
    sim_slot *slots;
    size_t nslots;
    sim_vpcd *link;
    int verbose;
} sim_run;

/* The one global: a signal handler can reach the link only through it. */
static sim_vpcd *volatile stop_target;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_target)
        sim_vpcd_stop(stop_target);
}

/* ---- the card callbacks: the link's view of the engine --------------------------------- */

static sim_status slot_get_atr(void *arg, uint8_t *atr, size_t *len)
{
    sim_slot *s = arg;
    size_t n = 0;
    const uint8_t *p = sim_profile_atr(sim_card_profile(s->card), &n);

    if (!p || n == 0 || n > *len)
        return SIM_ERR_PROFILE;
    memcpy(atr, p, n);
    *len = n;
    return SIM_OK;
}

/* A REMOVE fault (`vtoken fault --remove-after`) took the card out: it leaves its reader
 * as `vtoken card remove` takes it, once the answer in hand is out, and stays out until
 * the fault is cleared (`vtoken fault --clear` puts it back). */
static void leave_if_fault_out(sim_slot *s)
{
    if (!sim_conn_powered(s->conn) && sim_fault_card_out(s->card))
        (void)sim_vpcd_remove_after_reply(s->link, s->conf->name);
}

static sim_status slot_power_on(void *arg)
{
    sim_slot *s = arg;
    uint8_t atr[SIM_VPCD_ATR_MAX];
    size_t n = sizeof(atr);
    sim_status st = sim_conn_power_on(s->conn, atr, &n);

    if (st == SIM_ERR_POWER)
        leave_if_fault_out(s);
    return st;
}

static void slot_power_off(void *arg)
{
    sim_conn_power_off(((sim_slot *)arg)->conn);
}

static sim_status slot_reset(void *arg)
{
    sim_slot *s = arg;
    uint8_t atr[SIM_VPCD_ATR_MAX];
    size_t n = sizeof(atr);

    return sim_conn_reset(s->conn, atr, &n);
}

static sim_status slot_process(void *arg, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                               size_t *rlen)
{
    sim_slot *s = arg;
    sim_status st = sim_conn_process(s->conn, capdu, clen, rapdu, rlen);

    /* answered, and then powered off by the fault; or refused: already out */
    if (st == SIM_OK || st == SIM_ERR_POWER)
        leave_if_fault_out(s);
    return st;
}

static const sim_vpcd_card_ops slot_ops = {
    .get_atr = slot_get_atr,
    .power_on = slot_power_on,
    .power_off = slot_power_off,
    .reset = slot_reset,
    .process = slot_process,
};

/* ---- what the user sees ------------------------------------------------------------ */

static void print_hex(const uint8_t *buf, size_t len)
{
    size_t shown = len > TRACE_MAX_BYTES ? TRACE_MAX_BYTES : len;

    for (size_t i = 0; i < shown; i++)
        printf("%s%02X", i ? " " : "", buf[i]);
    if (shown < len)
        printf(" ... (%zu bytes)", len);
}

static void on_apdu(void *arg, const char *card, sim_vpcd_dir dir, const uint8_t *buf, size_t len,
                    bool sensitive)
{
    const sim_run *run = arg;

    if (run->verbose < 1)
        return;
    printf("%s %s ", card, dir == SIM_VPCD_COMMAND ? ">" : "<");
    if (!sensitive) {
        print_hex(buf, len);
    } else if (dir == SIM_VPCD_COMMAND) {
        /* Header and Lc only (three bytes of Lc in the extended form). */
        size_t keep = len >= 7 && buf[4] == 0x00 ? 7 : len >= 5 ? 5 : len;
        print_hex(buf, keep);
        if (len > keep)
            printf(" [%zu bytes hidden]", len - keep);
    } else {
        /* The answer to a PIN command is a status word; hide anything else. */
        size_t keep = len >= 2 ? 2 : len;
        if (len > keep)
            printf("[%zu bytes hidden] ", len - keep);
        print_hex(buf + len - keep, keep);
    }
    putchar('\n');
}

static void on_event(void *arg, const char *card, sim_vpcd_event ev, const char *detail)
{
    const sim_run *run = arg;

    switch (ev) {
    case SIM_VPCD_EV_CONNECTED:
        printf("%s: in its reader (connected to vpcd at %s)\n", card, detail);
        break;
    case SIM_VPCD_EV_DISCONNECTED:
        printf("%s: out of its reader (%s); reconnecting\n", card, detail);
        break;
    case SIM_VPCD_EV_REMOVED:
        printf("%s: removed\n", card);
        break;
    case SIM_VPCD_EV_INSERTED:
        printf("%s: inserted\n", card);
        break;
    case SIM_VPCD_EV_CARD_ERROR:
        fprintf(stderr, "%s: card error: %s\n", card, detail);
        break;
    case SIM_VPCD_EV_CONNECT_FAILED:
        if (run->verbose >= 2)
            printf("%s: vpcd not reachable (%s); retrying\n", card, detail);
        break;
    case SIM_VPCD_EV_POWER_ON:
    case SIM_VPCD_EV_POWER_OFF:
    case SIM_VPCD_EV_RESET:
    case SIM_VPCD_EV_GET_ATR:
    case SIM_VPCD_EV_CONTROL_UNKNOWN:
        if (run->verbose >= 2) {
            static const char *const what[] = {
                [SIM_VPCD_EV_POWER_ON] = "power on",
                [SIM_VPCD_EV_POWER_OFF] = "power off",
                [SIM_VPCD_EV_RESET] = "reset",
                [SIM_VPCD_EV_GET_ATR] = "get ATR",
                [SIM_VPCD_EV_CONTROL_UNKNOWN] = "unknown control byte (ignored)",
            };
            printf("%s: %s\n", card, what[ev]);
        }
        break;
    }
}

/* ---- setting up -------------------------------------------------------------------- */

static bool token_wanted(const sim_token_conf *conf, char **wanted, size_t nwanted)
{
    if (nwanted == 0)
        return conf->vpcd_port > 0;
    for (size_t i = 0; i < nwanted; i++)
        if (strcmp(wanted[i], conf->name) == 0)
            return true;
    return false;
}

/* Open every card to serve and add it to the link. Returns an exit code. */
static int open_slots(sim_run *run, char **wanted, size_t nwanted)
{
    size_t ntokens = sim_home_token_count(run->home);
    sim_status st;

    for (size_t i = 0; i < nwanted; i++) {
        const sim_token_conf *conf = sim_home_find(run->home, wanted[i]);
        if (!conf) {
            vtoken_error("sim", "no token '%s' in %s/vtoken.conf", wanted[i],
                         sim_home_dir(run->home));
            return VTOKEN_EXIT_NO_TOKEN;
        }
        if (conf->vpcd_port <= 0 || conf->vpcd_port > 65535) {
            vtoken_error("sim", "token '%s' has no vpcd port in %s/vtoken.conf", wanted[i],
                         sim_home_dir(run->home));
            return VTOKEN_EXIT_FAILURE;
        }
    }
    run->slots = calloc(ntokens ? ntokens : 1, sizeof(*run->slots));
    if (!run->slots) {
        vtoken_error("sim", "out of memory");
        return VTOKEN_EXIT_FAILURE;
    }
    for (size_t i = 0; i < ntokens; i++) {
        const sim_token_conf *conf = sim_home_token(run->home, i);
        sim_slot *s = &run->slots[run->nslots];
        char *why = NULL;

        if (!conf || !token_wanted(conf, wanted, nwanted) || conf->vpcd_port > 65535)
            continue;
        s->conf = conf;
        s->link = run->link;
        st = sim_card_open(conf->image, &s->card, &why);
        if (st != SIM_OK) {
            vtoken_error("sim", "%s: cannot open %s: %s", conf->name, conf->image,
                         why ? why : sim_strerror(st));
            free(why);
            return VTOKEN_EXIT_FAILURE;
        }
        run->nslots++;
        st = sim_conn_open(s->card, &s->conn);
        if (st != SIM_OK) {
            vtoken_error("sim", "%s: %s", conf->name, sim_strerror(st));
            return VTOKEN_EXIT_FAILURE;
        }
        st = sim_vpcd_add_card(run->link, conf->name, (uint16_t)conf->vpcd_port, &slot_ops, s);
        if (st != SIM_OK) {
            const char *why_add = st == SIM_ERR_EXISTS ? "vpcd port used twice in vtoken.conf"
                                  : st == SIM_ERR_ARGS
                                      ? "token name must be 1-63 bytes without blanks"
                                      : sim_strerror(st);
            vtoken_error("sim", "%s: %s", conf->name, why_add);
            return VTOKEN_EXIT_FAILURE;
        }
        printf("%s (%s): vpcd port %d, image %s\n", conf->name,
               sim_profile_reader_name(sim_card_profile(s->card)), conf->vpcd_port, conf->image);
    }
    if (run->nslots == 0) {
        vtoken_error("sim", "no token with a vpcd port in %s/vtoken.conf", sim_home_dir(run->home));
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

static int listen_control(sim_run *run)
{
    const char *home = sim_home_dir(run->home);
    char path[4096];
    sim_status st;

    snprintf(path, sizeof(path), "%s/%s", home, VTOKEN_RUN_DIR);
    /* Private: whoever can reach the socket can pull the tokens out. */
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        vtoken_error("sim", "cannot create %s: %s", path, strerror(errno));
        return VTOKEN_EXIT_FAILURE;
    }
    if (!vtoken_control_path(home, path, sizeof(path))) {
        vtoken_error("sim", "home path too long for a control socket: %s", home);
        return VTOKEN_EXIT_FAILURE;
    }
    st = sim_vpcd_control_listen(run->link, path);
    if (st == SIM_ERR_EXISTS) {
        vtoken_error("sim", "another `vtoken sim` is already serving %s", home);
        return VTOKEN_EXIT_BUSY;
    }
    if (st != SIM_OK) {
        vtoken_error("sim", "cannot listen on %s: %s", path, sim_strerror(st));
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

static int set_signals(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    return 0;
}

static void close_run(sim_run *run)
{
    /* The link first: it powers the cards off as it closes their connections. */
    sim_vpcd_free(run->link);
    for (size_t i = 0; i < run->nslots; i++) {
        if (run->slots[i].conn)
            sim_conn_close(run->slots[i].conn);
        if (run->slots[i].card)
            sim_card_close(run->slots[i].card);
    }
    free(run->slots);
    if (run->home)
        sim_home_close(run->home);
}

int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"token", required_argument, NULL, 't'},
        {"busy-poll", required_argument, NULL, 'B'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL;
    char **wanted = NULL;
    size_t nwanted = 0;
    char home[4096];
    char *why = NULL;
    sim_run run = {0};
    sim_vpcd_observer obs;
    sim_status st;
    uint32_t busy_poll = SIM_VPCD_BUSY_POLL_DEFAULT_US;
    int rc = VTOKEN_EXIT_OK, opt;

    wanted = calloc((size_t)argc + 1, sizeof(*wanted));
    if (!wanted) {
        vtoken_error("sim", "out of memory");
        return VTOKEN_EXIT_FAILURE;
    }
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":ht:v", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            home_opt = optarg;
            break;
        case 't':
            wanted[nwanted++] = optarg;
            break;
        case 'B':
            if (!vt_parse_u32(optarg, SIM_VPCD_BUSY_POLL_MAX_US, &busy_poll)) {
                rc = vtoken_usage_error("sim", "--busy-poll takes microseconds, 0 to %u: '%s'",
                                        SIM_VPCD_BUSY_POLL_MAX_US, optarg);
                goto out;
            }
            break;
        case 'v':
            run.verbose++;
            break;
        case 'h':
            fputs(sim_help, stdout);
            goto out;
        default:
            rc = vtoken_bad_option("sim", argv, opt);
            goto out;
        }
    }
    if (optind < argc) {
        rc = vtoken_usage_error("sim", "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    /* Lines go out as they happen, also into a log file. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    st = sim_home_resolve(home_opt, home, sizeof(home));
    if (st != SIM_OK) {
        vtoken_error("sim", "no vtoken home: set VTOKEN_HOME or use --home");
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    st = sim_home_open(home, &run.home, &why);
    if (st != SIM_OK) {
        vtoken_error("sim", "cannot open the vtoken home %s: %s", home,
                     why ? why : sim_strerror(st));
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    st = sim_vpcd_new(&run.link);
    if (st != SIM_OK) {
        vtoken_error("sim", "%s", sim_strerror(st));
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    (void)sim_vpcd_set_busy_poll(run.link, busy_poll); /* in range: checked above */
    obs = (sim_vpcd_observer){on_event, on_apdu, &run};
    sim_vpcd_set_observer(run.link, &obs);
    /* A home that another `vtoken sim` serves is refused before any card is opened. */
    rc = listen_control(&run);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rc = open_slots(&run, wanted, nwanted);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    stop_target = run.link;
    if (set_signals(on_stop_signal) != 0) {
        vtoken_error("sim", "cannot install signal handlers: %s", strerror(errno));
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    printf("vtoken sim: serving %zu token%s from %s; Ctrl-C stops\n", run.nslots,
           run.nslots == 1 ? "" : "s", sim_home_dir(run.home));
    st = sim_vpcd_run(run.link);
    set_signals(SIG_DFL);
    stop_target = NULL;
    if (st != SIM_OK) {
        vtoken_error("sim", "stopped on an error: %s", sim_strerror(st));
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    if (run.verbose > 0) {
        sim_vpcd_stats stats;
        sim_vpcd_get_stats(run.link, &stats);
        printf("vtoken sim: %llu APDUs answered, %llu of them found by a busy poll\n",
               (unsigned long long)stats.apdus, (unsigned long long)stats.apdus_busy_polled);
    }
    printf("vtoken sim: stopped\n");
out:
    if (stop_target) {
        set_signals(SIG_DFL);
        stop_target = NULL;
    }
    close_run(&run);
    free(why);
    free(wanted);
    return rc;
}
