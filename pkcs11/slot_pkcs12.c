/* PKCS#12 slots (NCA's "Personal computer" storage): one slot per .p12/.pfx file of
 * the configured directories, after the embedded and PC/SC slots. Directories come from
 * the option p12_path=, else $VTOKEN_P12_PATH, else "path =" in the [pkcs12] section of
 * $VTOKEN_HOME/vtoken.conf; the password rule likewise from p12_rule=,
 * $VTOKEN_P12_RULE, "password_rule =", else NCA's. Discovery only stat()s. Files that
 * appear later get new slots on a rescan (the sizing C_GetSlotList call,
 * C_WaitForSlotEvent); a file that goes away leaves its slot without a token. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "drv_pkcs12.h"
#include "sim.h"
#include "slot.h"
#include "trace.h"
#include "vendor.h"

typedef struct p12_dir {
    char *path;
    bool seen; /* st is the directory as last scanned */
    struct stat st;
} p12_dir;

struct p11_pkcs12 {
    pthread_mutex_t ctx_mu; /* slots open their files under their own locks */
    ks_p12_ctx *ctx;        /* made when the first file is opened */
    bool ctx_failed;
    ks_pwrule rule;
    p12_dir *dirs;
    size_t ndirs;
    char **known; /* files that have a slot (or were hidden by the vendor filter) */
    size_t nknown, known_cap;
};

/* Private-key operations of one PKCS#12 token that may run at once, once its driver
 * declares P11_CAP_PARALLEL: it does not yet, as each operation may read a rewritten
 * file again (drv_pkcs12.c refresh()), so for now they take turns. */
#define P12_PARALLEL 16

typedef struct p12_slot {
    char path[PATH_MAX];
} p12_slot;

/* ---- the slot source ---- */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static CK_RV p12_src_open(p11_slot *s, p11_token **out)
{
    p12_slot *e = s->src_ctx;
    p11_pkcs12 *pk = s->m->pkcs12;

    if (!pk || !is_file(e->path))
        return CKR_TOKEN_NOT_PRESENT;
    pthread_mutex_lock(&pk->ctx_mu);
    if (!pk->ctx && !pk->ctx_failed) {
        ks_status st = ks_p12_ctx_new(&pk->ctx);
        if (st != KS_OK) {
            /* Traced once: the legacy provider (which reads NCA's files) is missing. */
            p11_trace_msg("PKCS#12: no OpenSSL library context with the default and legacy "
                          "providers: %s",
                          ks_strerror(st));
            pk->ctx_failed = true;
        }
    }
    ks_p12_ctx *ctx = pk->ctx;
    pthread_mutex_unlock(&pk->ctx_mu);
    if (!ctx)
        return CKR_DEVICE_ERROR;
    CK_RV rv = p11_p12_open(ctx, e->path, &pk->rule, out);
    if (rv == CKR_OK)
        (*out)->parallel = P12_PARALLEL; /* OpenSSL signs with one key on many threads */
    return rv;
}

static bool p12_src_may_be_present(p11_slot *s)
{
    return is_file(((p12_slot *)s->src_ctx)->path);
}

static void p12_src_release(p11_slot *s, bool after_fork)
{
    (void)after_fork; /* nothing is shared with the parent but memory */
    free(s->src_ctx);
    s->src_ctx = NULL;
}

static const p11_slot_src_ops p12_src = {
    .kind = "pkcs12",
    .fork_safe = true,
    .open = p12_src_open,
    .may_be_present = p12_src_may_be_present,
    .release = p12_src_release,
};

/* ---- configuration ---- */

/* dir without trailing slashes, "~/" expanded, relative names taken from base (the
 * home for vtoken.conf, the working directory otherwise), canonical when it exists. */
static char *dir_path(const char *dir, size_t len, const char *base)
{
    char buf[PATH_MAX], canon[PATH_MAX];
    const char *home = getenv("HOME");
    int n;

    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len >= 2 && dir[0] == '~' && dir[1] == '/' && home && *home)
        n = snprintf(buf, sizeof(buf), "%s/%.*s", home, (int)(len - 2), dir + 2);
    else if (dir[0] != '/' && base)
        n = snprintf(buf, sizeof(buf), "%s/%.*s", base, (int)len, dir);
    else
        n = snprintf(buf, sizeof(buf), "%.*s", (int)len, dir);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    return strdup(realpath(buf, canon) ? canon : buf);
}

static CK_RV add_dirs(p11_pkcs12 *pk, const char *list, const char *base)
{
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            char *d = dir_path(p, len, base);
            bool dup = false;
            for (size_t i = 0; d && i < pk->ndirs && !dup; i++)
                dup = !strcmp(pk->dirs[i].path, d);
            if (!d) {
                p11_trace_msg("PKCS#12: directory name too long: %.*s", (int)len, p);
            } else if (dup) {
                free(d);
            } else {
                p12_dir *v = realloc(pk->dirs, (pk->ndirs + 1) * sizeof(*v));
                if (!v) {
                    free(d);
                    return CKR_HOST_MEMORY;
                }
                pk->dirs = v;
                memset(&v[pk->ndirs], 0, sizeof(*v));
                v[pk->ndirs++].path = d;
            }
        }
        p = end ? end + 1 : p + len;
    }
    return CKR_OK;
}

static void set_rule(p11_pkcs12 *pk, const char *spec, const char *from)
{
    char why[160];
    ks_pwrule r;
    if (ks_pwrule_parse(spec, &r, why, sizeof(why)) == KS_OK) {
        pk->rule = r;
        return;
    }
    p11_trace_msg("PKCS#12: password rule from %s not understood (%s); NCA's rule applies", from,
                  why);
}

/* The [pkcs12] section of vtoken.conf (absent: nothing). */
static CK_RV read_config(p11_module *m, p11_pkcs12 *pk, bool want_path, bool want_rule)
{
    char home[4096], conf[4200];
    ks_config *c = NULL;
    char *err = NULL;
    CK_RV rv = CKR_OK;

    if (sim_home_resolve(m->opts.home[0] ? m->opts.home : NULL, home, sizeof(home)) != SIM_OK)
        return CKR_OK;
    snprintf(conf, sizeof(conf), "%s/vtoken.conf", home);
    ks_status st = ks_config_load(conf, &c, &err);
    if (st != KS_OK) {
        if (st != KS_ERR_NOT_FOUND)
            p11_trace_msg("PKCS#12: %s", err ? err : ks_strerror(st));
        free(err);
        return CKR_OK;
    }
    size_t sec = ks_config_find(c, "pkcs12", NULL);
    if (sec != (size_t)-1) {
        const char *path = ks_config_get(c, sec, "path");
        const char *rule = ks_config_get(c, sec, "password_rule");
        if (want_path && path)
            rv = add_dirs(pk, path, home);
        if (want_rule && rule)
            set_rule(pk, rule, conf);
    }
    ks_config_free(c);
    return rv;
}

/* ---- slots ---- */

static bool known(const p11_pkcs12 *pk, const char *path)
{
    for (size_t i = 0; i < pk->nknown; i++)
        if (!strcmp(pk->known[i], path))
            return true;
    return false;
}

static CK_RV remember(p11_pkcs12 *pk, const char *path)
{
    if (pk->nknown == pk->known_cap) {
        size_t cap = pk->known_cap ? 2 * pk->known_cap : 16;
        char **v = realloc(pk->known, cap * sizeof(*v));
        if (!v)
            return CKR_HOST_MEMORY;
        pk->known = v;
        pk->known_cap = cap;
    }
    pk->known[pk->nknown] = strdup(path);
    if (!pk->known[pk->nknown])
        return CKR_HOST_MEMORY;
    pk->nknown++;
    return CKR_OK;
}

/* Slots for the files of d that have none yet, in name order. After discovery each new
 * slot is a slot event (a token inserted). */
static CK_RV scan_dir(p11_module *m, p12_dir *d, bool as_event)
{
    p11_pkcs12 *pk = m->pkcs12;
    ks_p12_list list = {0};
    struct stat st;
    CK_RV rv = CKR_OK;

    if (stat(d->path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (!d->seen)
            return CKR_OK; /* still missing: it may appear later */
        d->seen = false;
        return CKR_OK;
    }
    if (d->seen && st.st_ino == d->st.st_ino && st.st_dev == d->st.st_dev &&
        st.st_mtim.tv_sec == d->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == d->st.st_mtim.tv_nsec)
        return CKR_OK; /* no entry added, removed or renamed since */
    ks_status kst = ks_p12_scan(d->path, &list);
    if (kst != KS_OK) {
        p11_trace_msg("PKCS#12: cannot list %s: %s", d->path, ks_strerror(kst));
        return kst == KS_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_OK;
    }
    d->seen = true;
    d->st = st;
    /* File times are coarse (a kernel tick): a file made within the same tick as the
     * change we just saw would leave the directory's time unchanged. While the time is
     * that recent, the next rescan lists the directory anyway. */
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0 || now.tv_sec - st.st_mtim.tv_sec < 2)
        d->st.st_mtim.tv_nsec = -1;
    for (size_t i = 0; i < list.n && rv == CKR_OK; i++) {
        const ks_p12_entry *en = &list.v[i];
        char desc[65];
        if (known(pk, en->path))
            continue;
        if (strlen(en->path) >= sizeof(((p12_slot *)0)->path)) {
            p11_trace_msg("PKCS#12: path too long, skipped: %s", en->path);
            continue;
        }
        rv = remember(pk, en->path);
        if (rv != CKR_OK)
            break;
        p12_slot *e = calloc(1, sizeof(*e));
        if (!e) {
            rv = CKR_HOST_MEMORY;
            break;
        }
        snprintf(e->path, sizeof(e->path), "%s", en->path);
        /* The description has room for an NCA file name in full (the label does not). */
        p11_p12_description(en->name, desc, sizeof(desc));
        p11_slot *s = NULL;
        rv = p11_slot_add(m, &p12_src, e, desc, P11_MANUFACTURER, "pkcs12", &s);
        if (rv == CKR_OK && s) {
            p11_trace_msg("PKCS#12: slot %lu for %s", s->id, en->path);
            if (as_event)
                s->event = true;
        }
    }
    ks_p12_list_free(&list);
    return rv;
}

CK_RV p11_pkcs12_discover(p11_module *m)
{
    p11_pkcs12 *pk = calloc(1, sizeof(*pk));
    const char *env_path = getenv("VTOKEN_P12_PATH");
    const char *env_rule = getenv("VTOKEN_P12_RULE");
    CK_RV rv = CKR_OK;

    if (!pk)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(&pk->ctx_mu, NULL);
    m->pkcs12 = pk;
    pk->rule = KS_PWRULE_NCA;
    bool path_given = m->opts.p12_path_set || (env_path && *env_path);
    bool rule_given = m->opts.p12_rule_set || (env_rule && *env_rule);
    if (!path_given || !rule_given)
        rv = read_config(m, pk, !path_given, !rule_given);
    if (rv == CKR_OK && m->opts.p12_path_set)
        rv = add_dirs(pk, m->opts.p12_path, NULL);
    else if (rv == CKR_OK && path_given)
        rv = add_dirs(pk, env_path, NULL);
    if (m->opts.p12_rule_set)
        set_rule(pk, m->opts.p12_rule, "the option p12_rule");
    else if (rule_given)
        set_rule(pk, env_rule, "VTOKEN_P12_RULE");
    for (size_t i = 0; rv == CKR_OK && i < pk->ndirs; i++) {
        rv = scan_dir(m, &pk->dirs[i], false);
        if (!pk->dirs[i].seen)
            p11_trace_msg("PKCS#12: directory %s does not exist (yet)", pk->dirs[i].path);
    }
    return rv;
}

void p11_pkcs12_rescan(p11_module *m)
{
    p11_pkcs12 *pk = m->pkcs12;
    for (size_t i = 0; pk && i < pk->ndirs; i++)
        if (scan_dir(m, &pk->dirs[i], true) != CKR_OK)
            break;
}

void p11_pkcs12_free(p11_module *m, bool after_fork)
{
    p11_pkcs12 *pk = m->pkcs12;
    /* memory only: the child's copy is its own (its mutex may be a parent thread's) */
    if (!pk)
        return;
    ks_p12_ctx_free(pk->ctx);
    for (size_t i = 0; i < pk->ndirs; i++)
        free(pk->dirs[i].path);
    free(pk->dirs);
    for (size_t i = 0; i < pk->nknown; i++)
        free(pk->known[i]);
    free(pk->known);
    if (!after_fork)
        pthread_mutex_destroy(&pk->ctx_mu);
    free(pk);
    m->pkcs12 = NULL;
}
