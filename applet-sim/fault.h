/* Fault injection on virtual tokens (`vtoken fault`): a plan of faults kept next to the
 * card image (<image without .img>.faults), which every engine serving the card reads,
 * in `vtoken sim` and inside the PKCS#11 module alike. The plan is edited and its
 * counters advanced only under the image lock, so a one-shot fault fires once even when
 * several processes share the token. With no plan file, a command costs one stat().
 *
 * Plan file (text, one fault per line, written atomically):
 *   vtoken-faults 1
 *   sw 6581 nth=3 ins=2A repeat=no seen=0 fired=0   answer the 3rd APDU with INS 2A
 *   tear rename nth=1 ins=any seen=0 fired=0        tear the next image write
 *   latency 3000 ins=46 fired=0                      3000 ms before every INS 46
 *   remove 5 seen=0 fired=0                          card out after 5 more APDUs
 * Blank lines and lines starting with '#' are ignored; keys may be left out (defaults:
 * nth=1 ins=any repeat=no seen=0 fired=0). */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "sim.h"

#define SIM_FAULT_PLAN_VERSION   1
#define SIM_FAULT_MAX            16          /* faults a plan may hold */
#define SIM_FAULT_ANY_INS        (-1)        /* sim_fault.ins: every command */
#define SIM_FAULT_MAX_LATENCY_MS 600000u     /* ten minutes */
#define SIM_FAULT_MAX_COUNT      4000000000u /* nth, seen and fired stay below this */
#define SIM_FAULT_PLAN_MAX_SIZE  65536u

typedef enum sim_fault_kind {
    SIM_FAULT_SW = 1,  /* answer the nth matching APDU with a status word, unprocessed */
    SIM_FAULT_TEAR,    /* the nth matching image write stops as a crash at `step` would */
    SIM_FAULT_LATENCY, /* wait `ms` before processing each matching APDU */
    SIM_FAULT_REMOVE,  /* the card leaves after answering `nth` more APDUs */
} sim_fault_kind;

/* Steps of keystore's atomic write at which a tear stops it; each leaves the old image. */
typedef enum sim_fault_step {
    SIM_TEAR_WRITE,  /* half the temp file written */
    SIM_TEAR_FSYNC,  /* temp file written, not synced */
    SIM_TEAR_RENAME, /* temp file synced, not renamed over the image */
} sim_fault_step;

typedef struct sim_fault {
    sim_fault_kind kind;
    int ins;             /* SIM_FAULT_ANY_INS or 0..255: which commands count */
    uint32_t nth;        /* SW, TEAR: fire at the nth matching event; REMOVE: APDUs answered */
    bool repeat;         /* SW: fire at the nth matching APDU and every later one */
    uint16_t sw;         /* SW */
    sim_fault_step step; /* TEAR */
    uint32_t ms;         /* LATENCY */
    uint32_t seen;       /* matching events counted since the fault was armed */
    uint32_t fired;      /* times it fired (LATENCY: times the delay was applied) */
} sim_fault;

typedef struct sim_fault_plan {
    sim_fault f[SIM_FAULT_MAX];
    size_t n;
} sim_fault_plan;

const char *sim_fault_kind_name(sim_fault_kind k); /* "sw", "tear", "latency", "remove" */
const char *sim_fault_step_name(sim_fault_step s); /* "write", "fsync", "rename" */
bool sim_fault_step_parse(const char *s, sim_fault_step *out);
/* Can the fault still act? (One-shot faults that fired stay in the plan, inactive; a
 * fired REMOVE keeps the card out until the plan is cleared.) */
bool sim_fault_active(const sim_fault *f);
/* Range checks for one fault (the CLI and the parser share them); why says what is wrong. */
bool sim_fault_valid(const sim_fault *f, char *why, size_t cap);

/* ---- the plan file ------------------------------------------------------------------- */

/* "<dir>/kaztoken.img" -> "<dir>/kaztoken.faults" (other names get ".faults" appended). */
sim_status sim_fault_plan_path(const char *image_path, char *out, size_t cap);
/* Strict parse: SIM_ERR_CONFIG with "line N: ..." in why for anything unexpected. */
sim_status sim_fault_plan_parse(const char *text, size_t len, sim_fault_plan *plan, char *why,
                                size_t cap);
sim_status sim_fault_plan_format(const sim_fault_plan *plan, vt_buf *out);
/* Add f: a LATENCY replaces the one for the same INS; others are appended. SIM_ERR_ARGS
 * (why filled) for an invalid fault or a full plan. Counters start at zero. */
sim_status sim_fault_plan_add(sim_fault_plan *plan, const sim_fault *f, char *why, size_t cap);

/* The plan file at plan_path, for a holder of the image lock: an absent file loads as an
 * empty plan, and storing an empty plan removes the file. */
sim_status sim_fault_plan_load(const char *plan_path, sim_fault_plan *plan, char *why, size_t cap);
sim_status sim_fault_plan_store(const char *plan_path, const sim_fault_plan *plan);

/* Read-modify-write the plan of the card at image_path under its image lock (the lock
 * the engine holds per command); fn edits the plan in place (a missing file reads as an
 * empty plan) and returns SIM_OK to store it. An empty plan removes the file. A plan that
 * does not parse is SIM_ERR_CONFIG (why filled) and is not overwritten. */
typedef sim_status (*sim_fault_edit_fn)(sim_fault_plan *plan, void *arg);
sim_status sim_fault_plan_edit(const char *image_path, sim_fault_edit_fn fn, void *arg, char *why,
                               size_t cap);
/* The current plan (empty when there is none), read under the shared image lock. */
sim_status sim_fault_plan_read(const char *image_path, sim_fault_plan *plan, char *why, size_t cap);

/* ---- the engine's side (engine.c, card.c) ------------------------------------------------ */

/* Test clock: called instead of sleeping for a LATENCY fault. */
typedef void (*sim_fault_sleep_fn)(void *arg, uint32_t ms);

/* Per-card state, inside struct sim_card (sim_int.h); guarded by the card's mutex. */
typedef struct sim_fault_card {
    sim_fault_sleep_fn sleep;
    void *sleep_arg;
    bool inert_known; /* the plan file below has nothing that can act */
    uint64_t inert_dev, inert_ino, inert_size;
    int64_t inert_mtime_ns;
} sim_fault_card;

void sim_fault_set_sleep(sim_card *card, sim_fault_sleep_fn fn, void *arg);

typedef enum sim_fault_verdict {
    SIM_FAULT_PASS,    /* process the command */
    SIM_FAULT_ANSWER,  /* answer fc->sw without processing it */
    SIM_FAULT_NO_CARD, /* the card is out: the connection was powered off */
} sim_fault_verdict;

/* What the faults decided for one command; lives on sim_conn_process's stack. */
typedef struct sim_fault_cmd {
    int ins;           /* the command's INS, or -1 when it has no header */
    uint16_t sw;       /* SIM_FAULT_ANSWER */
    bool remove_after; /* power the connection off once the answer is out */
} sim_fault_cmd;

/* Around each command APDU of sim_conn_process: begin runs the plan (latency is applied
 * here, outside every lock), end completes it. Every begin must be paired with an end
 * on the same thread: between them, image writes of the command go through
 * sim_fault_save. */
sim_fault_verdict sim_fault_begin(sim_conn *conn, const uint8_t *capdu, size_t clen,
                                  sim_fault_cmd *fc);
void sim_fault_end(sim_conn *conn, sim_fault_cmd *fc);
/* Is there a plan file next to the card's image (one stat)? */
bool sim_fault_plan_exists(const sim_card *card);
/* Has a REMOVE fault taken the card out? (Power-on is refused until the plan is cleared.) */
bool sim_fault_card_out(sim_card *card);
/* ks_image_file_save for the engine's writes (caller holds the exclusive image lock):
 * tears the write when a TEAR fault of the current command fires. */
ks_status sim_fault_save(sim_card *card, ks_image *img);

#endif
