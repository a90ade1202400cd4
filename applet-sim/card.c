/* sim_card: one card image shared by the connections of this process. Creating factory
 * images, opening and closing, the summary for tools, and the card lock: an in-process
 * mutex plus the image flock, with a reload whenever another process changed the file. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "fs.h"
#include "key.h"
#include "pin.h"
#include "sim_int.h"

const char *sim_strerror(sim_status st)
{
    switch (st) {
    case SIM_OK:
        return "success";
    case SIM_ERR_ARGS:
        return "invalid argument";
    case SIM_ERR_NOMEM:
        return "out of memory";
    case SIM_ERR_PROFILE:
        return "unknown token profile";
    case SIM_ERR_IMAGE:
        return "card image damaged or written by a newer vtoken";
    case SIM_ERR_IO:
        return "card image could not be read or written";
    case SIM_ERR_EXISTS:
        return "card image already exists";
    case SIM_ERR_NOT_FOUND:
        return "card image or token not found";
    case SIM_ERR_POWER:
        return "card not powered";
    case SIM_ERR_CONFIG:
        return "vtoken.conf is malformed";
    }
    return "unknown error";
}

sim_status sim_from_ks(ks_status st)
{
    switch (st) {
    case KS_OK:
        return SIM_OK;
    case KS_ERR_ARGS:
        return SIM_ERR_ARGS;
    case KS_ERR_NOMEM:
        return SIM_ERR_NOMEM;
    case KS_ERR_NOT_FOUND:
        return SIM_ERR_NOT_FOUND;
    case KS_ERR_CORRUPT:
    case KS_ERR_VERSION:
    case KS_ERR_UNSUPPORTED:
        return SIM_ERR_IMAGE;
    case KS_ERR_EXISTS:
        return SIM_ERR_EXISTS;
    default:
        return SIM_ERR_IO;
    }
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- creation ------------------------------------------------------------------- */

/* serial: the card's serial number (profile length), NULL for a new random one. The
 * dialect's format may copy it into files (the JaCarta's TokenInfo). */
static sim_status factory_image(const sim_profile *p, const uint8_t *serial, ks_image *img)
{
    const sim_dialect *d = sim_dialect_by_name(p->dialect);
    ks_image_init(img);
    snprintf(img->profile, sizeof(img->profile), "%s", p->name);
    snprintf(img->label, sizeof(img->label), "%s", p->label);
    img->serial_len = p->serial_len;
    if (serial != NULL)
        memcpy(img->serial, serial, p->serial_len);
    else if (RAND_bytes(img->serial, (int)p->serial_len) != 1)
        return SIM_ERR_NOMEM;
    img->lifecycle = SIM_LC_BLANK;
    if (d == NULL)
        return SIM_OK;
    return d->format(img, p);
}

sim_status sim_card_create(const char *image_path, const char *profile, bool overwrite)
{
    const sim_profile *p = sim_profile_by_name(profile);
    ks_image_file *f = NULL;
    ks_image img, probe;
    bool locked = false;
    sim_status rv;

    ks_image_init(&img);
    ks_image_init(&probe);
    if (image_path == NULL || *image_path == '\0')
        return SIM_ERR_ARGS;
    if (p == NULL)
        return SIM_ERR_PROFILE;
    rv = factory_image(p, NULL, &img);
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_open(image_path, &f));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(f, true));
    if (rv != SIM_OK)
        goto out;
    locked = true;
    if (!overwrite) {
        /* Anything already there, even a damaged image, is someone's card. */
        ks_status st = ks_image_file_load(f, &probe);
        if (st != KS_ERR_NOT_FOUND) {
            rv = st == KS_OK || st == KS_ERR_CORRUPT || st == KS_ERR_VERSION ? SIM_ERR_EXISTS
                                                                             : sim_from_ks(st);
            goto out;
        }
    }
    rv = sim_from_ks(ks_image_file_save(f, &img, true));
out:
    if (locked)
        ks_image_file_unlock(f);
    ks_image_file_close(f);
    ks_image_free(&probe);
    ks_image_free(&img);
    return rv;
}

sim_status sim_card_reset(const char *image_path, const char *profile, bool *serial_kept)
{
    const sim_profile *p = sim_profile_by_name(profile);
    ks_image_file *f = NULL;
    ks_image img, old;
    bool locked = false, keep = false;
    ks_status st;
    sim_status rv;

    ks_image_init(&img);
    ks_image_init(&old);
    if (serial_kept != NULL)
        *serial_kept = false;
    if (image_path == NULL || *image_path == '\0')
        return SIM_ERR_ARGS;
    if (p == NULL)
        return SIM_ERR_PROFILE;
    rv = sim_from_ks(ks_image_file_open(image_path, &f));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(f, true));
    if (rv != SIM_OK)
        goto out;
    locked = true;
    /* A damaged image or none at all has no serial to give: the card gets a new one. */
    st = ks_image_file_load(f, &old);
    if (st != KS_OK && st != KS_ERR_NOT_FOUND && st != KS_ERR_CORRUPT && st != KS_ERR_VERSION) {
        rv = sim_from_ks(st);
        goto out;
    }
    keep = st == KS_OK && strcmp(old.profile, p->name) == 0 && old.serial_len == p->serial_len;
    rv = factory_image(p, keep ? old.serial : NULL, &img);
    if (rv != SIM_OK)
        goto out;
    if (st == KS_OK)
        img.generation = old.generation; /* the save moves it on */
    rv = sim_from_ks(ks_image_file_save(f, &img, true));
    if (rv == SIM_OK && serial_kept != NULL)
        *serial_kept = keep;
out:
    if (locked)
        ks_image_file_unlock(f);
    ks_image_file_close(f);
    ks_image_free(&old);
    ks_image_free(&img);
    return rv;
}

/* ---- fork --------------------------------------------------------------------- */

/* After fork() a child keeps using its copy of the card: whatever the parent's other
 * threads held (transactions, the lock file) is not the child's. */
static atomic_uint sim_fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&sim_fork_gen, 1);
}

static void fork_hook(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static void fork_watch(void)
{
    pthread_once(&fork_once, fork_hook);
}

static void key_slot_drop(sim_key_slot *k);

/* ---- open / close --------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void set_why(char **why, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    if (why == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *why = dup_str(buf);
}

/* A blank image (made before its family had a dialect) gets the factory format the
 * first time a build with the dialect opens it. */
static sim_status format_if_blank(sim_card *card)
{
    sim_status rv = SIM_OK;
    ks_image tmp;
    ks_image_init(&tmp);
    if (card->dialect == NULL || card->img.lifecycle != SIM_LC_BLANK)
        return SIM_OK;
    rv = sim_from_ks(ks_image_file_lock(card->file, true));
    if (rv != SIM_OK)
        return rv;
    rv = sim_from_ks(ks_image_file_load(card->file, &tmp));
    if (rv != SIM_OK)
        goto out;
    if (tmp.lifecycle == SIM_LC_BLANK && tmp.nnodes == 0) {
        rv = card->dialect->format(&tmp, card->profile);
        if (rv == SIM_OK)
            rv = sim_from_ks(ks_image_file_save(card->file, &tmp, false));
        if (rv != SIM_OK)
            goto out;
    }
    ks_image_free(&card->img);
    card->img = tmp;
    ks_image_init(&tmp);
out:
    ks_image_file_unlock(card->file);
    ks_image_free(&tmp);
    return rv;
}

sim_status sim_card_open(const char *image_path, sim_card **out, char **why)
{
    sim_card *card = NULL;
    sim_status rv = SIM_ERR_ARGS;
    ks_status st;

    if (why != NULL)
        *why = NULL;
    if (image_path == NULL || out == NULL)
        goto out;
    *out = NULL;
    rv = SIM_ERR_NOMEM;
    card = calloc(1, sizeof(*card));
    if (card == NULL)
        goto out;
    ks_image_init(&card->img);
    pthread_mutex_init(&card->mu, NULL);
    pthread_cond_init(&card->cv, NULL);
    fork_watch();
    card->fork_gen = atomic_load(&sim_fork_gen);
    card->path = dup_str(image_path);
    if (card->path == NULL)
        goto out;
    rv = sim_from_ks(ks_image_file_open(image_path, &card->file));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(card->file, false));
    if (rv != SIM_OK)
        goto out;
    st = ks_image_file_load(card->file, &card->img);
    ks_image_file_unlock(card->file);
    rv = sim_from_ks(st);
    if (rv == SIM_ERR_IMAGE)
        set_why(why, "%s: %s", image_path,
                ks_image_file_error(card->file) ? ks_image_file_error(card->file)
                                                : ks_strerror(st));
    if (rv != SIM_OK)
        goto out;
    card->profile = sim_profile_by_name(card->img.profile);
    if (card->profile == NULL) {
        rv = SIM_ERR_IMAGE;
        set_why(why, "%s: unknown token profile \"%s\"", image_path, card->img.profile);
        goto out;
    }
    card->dialect = sim_dialect_by_name(card->profile->dialect);
    rv = format_if_blank(card);
    if (rv != SIM_OK)
        goto out;
    *out = card;
    card = NULL;
out:
    sim_card_close(card);
    return rv;
}

void sim_card_close(sim_card *card)
{
    if (card == NULL)
        return;
    for (size_t i = 0; i < SIM_KEY_CACHE; i++)
        key_slot_drop(&card->keys[i]);
    ks_image_free(&card->img);
    ks_image_file_close(card->file);
    pthread_cond_destroy(&card->cv);
    pthread_mutex_destroy(&card->mu);
    free(card->path);
    free(card);
}

const sim_profile *sim_card_profile(const sim_card *card)
{
    return card != NULL ? card->profile : NULL;
}

const char *sim_card_path(const sim_card *card)
{
    return card != NULL ? card->path : NULL;
}

void sim_card_set_compute_hook(sim_card *card, sim_compute_hook fn, void *arg)
{
    pthread_mutex_lock(&card->mu);
    card->hook = fn;
    card->hook_arg = arg;
    pthread_mutex_unlock(&card->mu);
}

/* ---- decoded keys ------------------------------------------------------------- */

static void key_slot_drop(sim_key_slot *k)
{
    vt_buf_free(&k->der);
    sim_key_rsa_unload(&k->key);
    k->used = 0;
}

/* Keys no longer in the image leave the cache (after a reload or a save). */
static void keys_purge(sim_card *card)
{
    for (size_t i = 0; i < SIM_KEY_CACHE; i++) {
        sim_key_slot *k = &card->keys[i];
        bool found = false;
        if (k->key.pkey == NULL)
            continue;
        for (size_t j = 0; j < card->img.nnodes && !found; j++) {
            const ks_node *n = &card->img.nodes[j];
            found = n->type == SIM_NODE_PRIVKEY && n->body_len == k->der.len &&
                    memcmp(n->body, k->der.data, n->body_len) == 0;
        }
        if (!found)
            key_slot_drop(k);
    }
}

sim_status sim_card_key(sim_card *card, const uint8_t *der, size_t len, sim_rsa_key *out)
{
    sim_key_slot *k = NULL, *victim = &card->keys[0];
    sim_status rv;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < SIM_KEY_CACHE && k == NULL; i++) {
        sim_key_slot *c = &card->keys[i];
        if (c->key.pkey != NULL && c->der.len == len && memcmp(c->der.data, der, len) == 0)
            k = c;
        else if (c->used < victim->used)
            victim = c; /* never used (0) or the least recently used */
    }
    if (k == NULL) {
        key_slot_drop(victim);
        rv = sim_key_rsa_load(der, len, &victim->key);
        if (rv != SIM_OK)
            return rv;
        if (!vt_buf_append(&victim->der, der, len)) {
            key_slot_drop(victim);
            return SIM_ERR_NOMEM;
        }
        k = victim;
    }
    k->used = ++card->key_clock;
    if (EVP_PKEY_up_ref(k->key.pkey) != 1)
        return SIM_ERR_NOMEM;
    *out = k->key;
    return SIM_OK;
}

/* ---- locking -------------------------------------------------------------------- */

/* [mu held] */
static void fork_check(sim_card *card)
{
    unsigned gen = atomic_load(&sim_fork_gen);
    if (card->fork_gen == gen)
        return;
    card->fork_gen = gen;
    card->txn_owner = NULL;
    card->shared_holds = 0;
    card->excl_waiting = 0;
    card->flock_mode = SIM_HOLD_NONE; /* keystore reopens its lock file in the child */
    card->fresh = false;
    card->stale = true;      /* memory may be half-way through a parent thread's command */
    card->txn_dirty = false; /* the parent's transaction: the parent saves it */
}

/* [mu held] A connection's transaction from before a fork() is not the child's. */
static void conn_fork_check(sim_conn *conn)
{
    if (conn->fork_gen != conn->card->fork_gen) {
        conn->fork_gen = conn->card->fork_gen;
        conn->txn_depth = 0;
        conn->hold = SIM_HOLD_NONE;
    }
}

static void reload(sim_card *card)
{
    ks_image tmp;
    ks_image_init(&tmp);
    if (ks_image_file_load(card->file, &tmp) != KS_OK) {
        /* Keep serving nothing rather than a state that is no longer on disk. */
        card->broken = true;
        ks_image_free(&tmp);
        return;
    }
    ks_image_free(&card->img);
    card->img = tmp;
    card->stale = false;
    card->broken = false;
    card->txn_dirty = false;
    keys_purge(card);
}

/* [mu held] Hold the lock file at least in mode m. Another process may have written the
 * image while we did not hold it: look (one stat) unless the lock never lapsed. */
static sim_status lock_file(sim_card *card, sim_hold m)
{
    if (card->flock_mode < m) {
        sim_status rv = sim_from_ks(ks_image_file_lock(card->file, m == SIM_HOLD_EXCL));
        if (rv != SIM_OK)
            return rv;
        /* flock converts a shared lock by dropping it first: look again either way */
        card->fresh = false;
        card->flock_mode = m;
    }
    if (!card->fresh || card->stale || card->broken) {
        if (card->stale || card->broken || ks_image_file_changed(card->file))
            reload(card);
        card->fresh = true;
    }
    return SIM_OK;
}

/* [mu held] Give the lock file up when no transaction of this process needs it. */
static void unlock_file_if_idle(sim_card *card)
{
    if (card->txn_owner != NULL || card->shared_holds > 0 || card->flock_mode == SIM_HOLD_NONE)
        return;
    ks_image_file_unlock(card->file);
    card->flock_mode = SIM_HOLD_NONE;
    card->fresh = false;
}

void sim_conn_drop_shared(sim_conn *conn)
{
    sim_card *card = conn->card;
    if (conn->hold != SIM_HOLD_SHARED)
        return;
    conn->hold = SIM_HOLD_NONE;
    card->shared_holds--;
    unlock_file_if_idle(card);
    pthread_cond_broadcast(&card->cv);
}

/* [mu held] Wait until conn may hold the card exclusively. */
static void wait_exclusive(sim_card *card, sim_conn *conn)
{
    card->excl_waiting++;
    while ((card->txn_owner != NULL && card->txn_owner != conn) || card->shared_holds > 0)
        pthread_cond_wait(&card->cv, &card->mu);
    card->excl_waiting--;
}

sim_status sim_card_enter(sim_card *card, sim_conn *conn, bool exclusive)
{
    sim_status rv = SIM_OK;
    pthread_mutex_lock(&card->mu);
    fork_check(card);
    if (conn != NULL) {
        conn_fork_check(conn);
        /* A write cannot ride on a shared transaction: it ends there. */
        if (conn->hold == SIM_HOLD_SHARED && exclusive)
            sim_conn_drop_shared(conn);
    }
    if (conn != NULL && conn->hold != SIM_HOLD_NONE) {
        /* inside its own transaction: the lock file is held as needed */
        rv = lock_file(card, card->flock_mode);
        goto out;
    }
    if (exclusive) {
        wait_exclusive(card, conn);
        rv = lock_file(card, SIM_HOLD_EXCL);
    } else {
        while (card->txn_owner != NULL && card->txn_owner != conn)
            pthread_cond_wait(&card->cv, &card->mu);
        rv = lock_file(card, SIM_HOLD_SHARED);
    }
out:
    if (rv != SIM_OK) {
        unlock_file_if_idle(card);
        pthread_mutex_unlock(&card->mu);
    }
    return rv;
}

/* [mu held] Write the image; on failure the disk decides (reload at the next lock). */
static sim_status save_now(sim_card *card)
{
    sim_status rv = sim_from_ks(sim_fault_save(card, &card->img));
    if (rv != SIM_OK)
        card->stale = true;
    else
        card->txn_dirty = false;
    return rv;
}

sim_status sim_card_leave(sim_card *card, sim_conn *conn, bool save)
{
    sim_status rv = SIM_OK;
    if (save && conn != NULL && conn->hold == SIM_HOLD_EXCL && !sim_fault_plan_exists(card))
        card->txn_dirty = true; /* sim_conn_end writes it */
    else if (save)
        rv = save_now(card);
    if (save)
        keys_purge(card); /* a key deleted or replaced by this command */
    unlock_file_if_idle(card);
    pthread_mutex_unlock(&card->mu);
    return rv;
}

bool sim_card_checkpoint(sim_card *card, ks_image *snap)
{
    ks_image_init(snap);
    if (!card->txn_dirty)
        return false; /* the disk is the checkpoint */
    if (ks_image_copy(snap, &card->img) != KS_OK) {
        ks_image_free(snap);
        return false; /* then the transaction's writes are lost with the failure */
    }
    return true;
}

void sim_card_rollback(sim_card *card, ks_image *snap)
{
    ks_image_free(&card->img);
    card->img = *snap;
    ks_image_init(snap);
    keys_purge(card);
}

/* [mu held] Inside a transaction with unsaved writes, a PIN try must reach the disk
 * without them: the PIN counters of memory go onto the image as the disk has it. A PIN
 * made by this very transaction has no counter there to keep. */
static sim_status save_counters(sim_card *card)
{
    ks_image disk;
    ks_image_init(&disk);
    sim_status rv = sim_from_ks(ks_image_file_load(card->file, &disk));
    for (size_t i = 0; rv == SIM_OK && i < card->img.nnodes; i++) {
        const ks_node *m = &card->img.nodes[i];
        for (size_t j = 0; m->type == SIM_NODE_PIN && j < disk.nnodes; j++) {
            ks_node *d = &disk.nodes[j];
            if (d->type == m->type && d->path_len == m->path_len &&
                memcmp(d->path, m->path, m->path_len) == 0 && d->attrs_len == m->attrs_len &&
                (m->attrs_len == 0 || memcmp(d->attrs, m->attrs, m->attrs_len) == 0))
                d->counter = m->counter;
        }
    }
    if (rv == SIM_OK)
        rv = sim_from_ks(sim_fault_save(card, &disk));
    if (rv == SIM_OK)
        card->img.generation = disk.generation; /* the commit comes after this save */
    ks_image_free(&disk);
    return rv;
}

sim_status sim_ctx_save(sim_ctx *ctx)
{
    sim_status rv;
    if (!ctx->exclusive)
        return SIM_ERR_ARGS;
    if (ctx->card->txn_dirty) {
        rv = save_counters(ctx->card);
        if (rv != SIM_OK) {
            ctx->card->stale = true; /* the disk decides, as below */
            ctx->dirty = false;
            return rv;
        }
        /* The command's own change (this try) is on disk; the transaction's wait. */
        ctx->dirty = false;
        return SIM_OK;
    }
    rv = sim_from_ks(sim_fault_save(ctx->card, ctx->img));
    if (rv != SIM_OK) {
        /* Whatever the command did in memory is dropped: the disk decides. */
        ctx->card->stale = true;
        ctx->dirty = false;
        return rv;
    }
    ctx->dirty = false;
    ctx->card->txn_dirty = false; /* the transaction's earlier writes went along */
    return SIM_OK;
}

sim_status sim_conn_begin(sim_conn *conn)
{
    sim_card *card;
    sim_status rv = SIM_OK;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    card = conn->card;
    pthread_mutex_lock(&card->mu);
    fork_check(card);
    conn_fork_check(conn);
    if (conn->hold == SIM_HOLD_EXCL) {
        conn->txn_depth++; /* already ours */
        goto out;
    }
    /* Inside a shared transaction (or one that ended early) this becomes exclusive. */
    sim_conn_drop_shared(conn);
    wait_exclusive(card, conn);
    card->txn_owner = conn;
    rv = lock_file(card, SIM_HOLD_EXCL);
    if (rv != SIM_OK) {
        card->txn_owner = NULL;
        unlock_file_if_idle(card);
        pthread_cond_broadcast(&card->cv);
        goto out;
    }
    conn->hold = SIM_HOLD_EXCL;
    conn->txn_depth++;
out:
    pthread_mutex_unlock(&card->mu);
    return rv;
}

sim_status sim_conn_begin_shared(sim_conn *conn)
{
    sim_card *card;
    sim_status rv = SIM_OK;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    card = conn->card;
    pthread_mutex_lock(&card->mu);
    fork_check(card);
    conn_fork_check(conn);
    if (conn->txn_depth > 0) {
        conn->txn_depth++; /* nested: whatever the outer transaction holds */
        goto out;
    }
    /* Behind exclusive transactions, also those only waiting: a stream of readers must
     * not starve a writer of this process. */
    while ((card->txn_owner != NULL && card->txn_owner != conn) || card->excl_waiting > 0)
        pthread_cond_wait(&card->cv, &card->mu);
    card->shared_holds++;
    rv = lock_file(card, SIM_HOLD_SHARED);
    if (rv != SIM_OK) {
        card->shared_holds--;
        unlock_file_if_idle(card);
        pthread_cond_broadcast(&card->cv);
        goto out;
    }
    conn->hold = SIM_HOLD_SHARED;
    conn->txn_depth = 1;
out:
    pthread_mutex_unlock(&card->mu);
    return rv;
}

sim_status sim_conn_end(sim_conn *conn)
{
    sim_card *card;
    sim_status rv = SIM_OK;
    if (conn == NULL)
        return SIM_ERR_ARGS;
    card = conn->card;
    pthread_mutex_lock(&card->mu);
    fork_check(card);
    conn_fork_check(conn);
    if (conn->txn_depth == 0 || --conn->txn_depth > 0)
        goto out;
    if (conn->hold == SIM_HOLD_EXCL) {
        /* The transaction's writes, at once (the image lock is still ours). */
        if (card->txn_dirty)
            rv = save_now(card);
        conn->hold = SIM_HOLD_NONE;
        card->txn_owner = NULL;
        unlock_file_if_idle(card);
        pthread_cond_broadcast(&card->cv);
    } else {
        sim_conn_drop_shared(conn);
    }
out:
    pthread_mutex_unlock(&card->mu);
    return rv;
}

uint64_t sim_card_generation(sim_card *card)
{
    uint64_t gen;
    pthread_mutex_lock(&card->mu);
    fork_check(card);
    /* Images are replaced by rename, so a read without the flock sees a whole file; a
     * lock held without a break since the last look means nobody else wrote. */
    if (card->stale || card->broken ||
        (!(card->fresh && card->flock_mode != SIM_HOLD_NONE) && ks_image_file_changed(card->file)))
        reload(card);
    gen = card->img.generation;
    pthread_mutex_unlock(&card->mu);
    return gen;
}

/* ---- summary -------------------------------------------------------------------- */

static void pin_info(const ks_image *img, const sim_pin_profile *pp, int *left, int *max)
{
    long idx = pp->ref != 0 ? sim_pin_find(img, pp->ref) : -1;
    *left = -1;
    *max = -1;
    if (idx < 0)
        return;
    *left = sim_pin_tries(&img->nodes[idx]);
    *max = img->nodes[idx].counter_max;
}

sim_status sim_card_get_info(sim_card *card, sim_card_info *info)
{
    sim_status rv;
    if (card == NULL || info == NULL)
        return SIM_ERR_ARGS;
    memset(info, 0, sizeof(*info));
    rv = sim_card_enter(card, NULL, false);
    if (rv != SIM_OK)
        return rv;
    if (card->broken) {
        rv = SIM_ERR_IMAGE;
        goto out;
    }
    const ks_image *img = &card->img;
    snprintf(info->profile, sizeof(info->profile), "%s", img->profile);
    vt_hex_encode(img->serial, img->serial_len, info->serial_hex);
    snprintf(info->label, sizeof(info->label), "%s", img->label);
    pin_info(img, &card->profile->user, &info->user_tries_left, &info->user_tries_max);
    pin_info(img, &card->profile->so, &info->so_tries_left, &info->so_tries_max);
    info->capacity = card->profile->capacity;
    info->used = sim_img_used(img);
    for (size_t i = 0; i < img->nnodes; i++) {
        const ks_node *n = &img->nodes[i];
        if (n->type == SIM_NODE_PRIVKEY && n->body_len > 0)
            info->nkeys++;
        else if (n->type == SIM_NODE_EF)
            info->nfiles++;
    }
out:
    sim_card_leave(card, NULL, false);
    return rv;
}
