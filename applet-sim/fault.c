/* Fault injection in the card engine: runs a card's fault plan around each command APDU
 * (status word answers, latency, removal) and around the image writes the command makes
 * (tears, through keystore's fault hook). Counters advance under the exclusive image
 * lock, so one-shot faults fire once across every process serving the card. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fault.h"
#include "sim_int.h"

/* The command this thread is processing (sim_conn_process runs a command start to end
 * on one thread), so an image write deep inside a dialect handler can be matched to a
 * TEAR fault's INS without passing the command through every handler. NULL between
 * commands: writes made outside a command (formatting, creation) are never torn. */
static _Thread_local sim_fault_cmd *tls_cmd;
/* The keystore step at which this thread's image write must stop, while one is torn. */
static _Thread_local const char *tls_tear_step;

/* keystore's fault hook is process-wide; it is installed while any thread tears a write
 * and answers only for the thread that asked (tls_tear_step). */
static pthread_mutex_t tear_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned tear_users;

void sim_fault_set_sleep(sim_card *card, sim_fault_sleep_fn fn, void *arg)
{
    pthread_mutex_lock(&card->mu);
    card->fault.sleep = fn;
    card->fault.sleep_arg = arg;
    pthread_mutex_unlock(&card->mu);
}

static bool ins_matches(const sim_fault *f, int ins)
{
    return f->ins == SIM_FAULT_ANY_INS || f->ins == ins;
}

static void bump(uint32_t *counter)
{
    if (*counter < SIM_FAULT_MAX_COUNT - 1)
        (*counter)++;
}

/* ---- the inert-plan shortcut ------------------------------------------------------------ */

/* A plan whose faults have all fired stays on disk for `vtoken fault --list`; remembering
 * that this very file (same identity) can do nothing spares every command the lock. */
static bool plan_inert(const sim_fault_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        if (sim_fault_active(&plan->f[i]))
            return false;
    return true;
}

static bool same_file(const sim_fault_card *fs, const struct stat *st)
{
    return fs->inert_known && fs->inert_dev == (uint64_t)st->st_dev &&
           fs->inert_ino == (uint64_t)st->st_ino && fs->inert_size == (uint64_t)st->st_size &&
           fs->inert_mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Caller holds card->mu. */
static void remember(sim_card *card, const char *path, const sim_fault_plan *plan)
{
    sim_fault_card *fs = &card->fault;
    struct stat st;
    fs->inert_known = false;
    if (!plan_inert(plan) || stat(path, &st) != 0)
        return;
    fs->inert_known = true;
    fs->inert_dev = (uint64_t)st.st_dev;
    fs->inert_ino = (uint64_t)st.st_ino;
    fs->inert_size = (uint64_t)st.st_size;
    fs->inert_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* ---- one command ------------------------------------------------------------------------- */

/* Advance the plan for one command. Returns the verdict; *delay is the latency to apply. */
static sim_fault_verdict run_plan(sim_fault_plan *plan, sim_fault_cmd *fc, uint32_t *delay,
                                  bool *changed)
{
    sim_fault_verdict v = SIM_FAULT_PASS;
    sim_fault *lat_any = NULL, *lat_ins = NULL;

    for (size_t i = 0; i < plan->n; i++)
        if (plan->f[i].kind == SIM_FAULT_REMOVE && plan->f[i].fired > 0)
            return SIM_FAULT_NO_CARD;
    for (size_t i = 0; i < plan->n; i++) {
        sim_fault *f = &plan->f[i];
        switch (f->kind) {
        case SIM_FAULT_SW:
            /* An APDU one fault answered never reaches the card: later faults skip it. */
            if (v == SIM_FAULT_ANSWER || !sim_fault_active(f) || !ins_matches(f, fc->ins))
                break;
            bump(&f->seen);
            *changed = true;
            if (f->seen >= f->nth) {
                bump(&f->fired);
                fc->sw = f->sw;
                v = SIM_FAULT_ANSWER;
            }
            break;
        case SIM_FAULT_REMOVE:
            *changed = true;
            if (f->seen >= f->nth) {
                f->fired = 1;
                return SIM_FAULT_NO_CARD; /* "remove 0": out before this APDU */
            }
            bump(&f->seen);
            if (f->seen >= f->nth) {
                f->fired = 1;
                fc->remove_after = true;
            }
            break;
        case SIM_FAULT_LATENCY:
            if (f->ins == SIM_FAULT_ANY_INS)
                lat_any = f;
            else if (f->ins == fc->ins)
                lat_ins = f;
            break;
        case SIM_FAULT_TEAR:
            break; /* counted when the command writes: sim_fault_save */
        }
    }
    /* A latency for this INS wins over the one for every command. */
    if (lat_ins == NULL)
        lat_ins = lat_any;
    if (lat_ins != NULL) {
        *delay = lat_ins->ms;
        bump(&lat_ins->fired);
        *changed = true;
    }
    return v;
}

static void apply_delay(sim_card *card, uint32_t ms)
{
    sim_fault_sleep_fn fn;
    void *arg;
    struct timespec ts;

    pthread_mutex_lock(&card->mu);
    fn = card->fault.sleep;
    arg = card->fault.sleep_arg;
    pthread_mutex_unlock(&card->mu);
    if (fn != NULL) {
        fn(arg, ms);
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

sim_fault_verdict sim_fault_begin(sim_conn *conn, const uint8_t *capdu, size_t clen,
                                  sim_fault_cmd *fc)
{
    sim_card *card = conn->card;
    char path[PATH_MAX];
    sim_fault_plan plan;
    sim_fault_verdict v = SIM_FAULT_PASS;
    struct stat st;
    uint32_t delay = 0;
    bool changed = false, inert;

    memset(fc, 0, sizeof(*fc));
    fc->ins = clen >= 4 ? capdu[1] : -1;
    tls_cmd = fc;
    /* The hot path: no plan file, one stat(). */
    if (sim_fault_plan_path(card->path, path, sizeof(path)) != SIM_OK || stat(path, &st) != 0)
        return SIM_FAULT_PASS;
    pthread_mutex_lock(&card->mu);
    inert = same_file(&card->fault, &st);
    pthread_mutex_unlock(&card->mu);
    if (inert)
        return SIM_FAULT_PASS;

    /* The command itself meets a lock failure again and answers for it. */
    if (sim_card_enter(card, conn, true) != SIM_OK)
        return SIM_FAULT_PASS;
    /* A plan that does not parse never breaks the card: `vtoken fault --list` says why. */
    if (sim_fault_plan_load(path, &plan, NULL, 0) == SIM_OK) {
        v = run_plan(&plan, fc, &delay, &changed);
        /* A counter that cannot be recorded must not fire: one-shot means once. */
        if (changed && sim_fault_plan_store(path, &plan) != SIM_OK) {
            v = SIM_FAULT_PASS;
            delay = 0;
            fc->remove_after = false;
        }
        remember(card, path, &plan);
    }
    sim_card_leave(card, conn, false);

    if (v == SIM_FAULT_NO_CARD) {
        tls_cmd = NULL;
        sim_conn_power_off(conn);
        return v;
    }
    if (delay > 0)
        apply_delay(card, delay);
    return v;
}

void sim_fault_end(sim_conn *conn, sim_fault_cmd *fc)
{
    tls_cmd = NULL;
    if (fc->remove_after)
        sim_conn_power_off(conn);
}

bool sim_fault_plan_exists(const sim_card *card)
{
    char path[PATH_MAX];
    struct stat st;
    return sim_fault_plan_path(card->path, path, sizeof(path)) == SIM_OK && stat(path, &st) == 0;
}

bool sim_fault_card_out(sim_card *card)
{
    char path[PATH_MAX];
    sim_fault_plan plan;
    struct stat st;

    if (sim_fault_plan_path(card->path, path, sizeof(path)) != SIM_OK || stat(path, &st) != 0)
        return false;
    /* Plans are replaced by rename: a read without the lock sees a whole one. */
    if (sim_fault_plan_load(path, &plan, NULL, 0) != SIM_OK)
        return false;
    for (size_t i = 0; i < plan.n; i++)
        if (plan.f[i].kind == SIM_FAULT_REMOVE && plan.f[i].fired > 0)
            return true;
    return false;
}

/* ---- image writes ------------------------------------------------------------------------ */

static bool tear_hook(void *arg, const char *step)
{
    (void)arg;
    return tls_tear_step != NULL && strcmp(step, tls_tear_step) == 0;
}

static ks_status torn_save(sim_card *card, ks_image *img, sim_fault_step step)
{
    ks_status st;

    pthread_mutex_lock(&tear_mu);
    if (tear_users++ == 0)
        ks_set_fault_hook(tear_hook, NULL);
    pthread_mutex_unlock(&tear_mu);
    tls_tear_step = sim_fault_step_name(step);
    st = ks_image_file_save(card->file, img, false);
    tls_tear_step = NULL;
    pthread_mutex_lock(&tear_mu);
    if (--tear_users == 0)
        ks_set_fault_hook(NULL, NULL);
    pthread_mutex_unlock(&tear_mu);
    return st;
}

ks_status sim_fault_save(sim_card *card, ks_image *img)
{
    const sim_fault_cmd *fc = tls_cmd;
    char path[PATH_MAX];
    sim_fault_plan plan;
    struct stat st;
    bool tear = false, changed = false;
    sim_fault_step step = SIM_TEAR_RENAME;

    if (fc == NULL || sim_fault_plan_path(card->path, path, sizeof(path)) != SIM_OK ||
        stat(path, &st) != 0 || same_file(&card->fault, &st) ||
        sim_fault_plan_load(path, &plan, NULL, 0) != SIM_OK)
        return ks_image_file_save(card->file, img, false);
    for (size_t i = 0; i < plan.n && !tear; i++) {
        sim_fault *f = &plan.f[i];
        if (f->kind != SIM_FAULT_TEAR || !sim_fault_active(f) || !ins_matches(f, fc->ins))
            continue;
        bump(&f->seen);
        changed = true;
        if (f->seen >= f->nth) {
            f->fired = 1;
            step = f->step;
            tear = true;
        }
    }
    /* Recorded before the write it tears, as the crash it stands for would leave it. */
    if (changed && sim_fault_plan_store(path, &plan) != SIM_OK)
        tear = false;
    remember(card, path, &plan);
    return tear ? torn_save(card, img, step) : ks_image_file_save(card->file, img, false);
}
