/* applet-sim internals shared by the card, the engine, the file system, PINs, keys, the
 * dialects and the transports: the sim_card / sim_conn structs, the per-command context
 * handed to dialect handlers, node types and life cycle states. Not public (sim.h is). */
#ifndef SIM_INT_H
#define SIM_INT_H

#include <pthread.h>

#include <openssl/types.h>

#include "apdu.h"
#include "fault.h"
#include "image.h"
#include "profile.h"
#include "sim.h"
#include "sw.h"

typedef struct sim_dialect sim_dialect;

/* ks_node.type values: what a node of the card image is. */
enum {
    SIM_NODE_DF = 1,      /* dedicated file; attrs = FCP data objects */
    SIM_NODE_EF = 2,      /* transparent working EF; body = contents (declared size) */
    SIM_NODE_PIN = 3,     /* PIN; body = salt || SHA-256(salt || PIN), empty until set;
                           * counter / counter_max = tries left / allowed */
    SIM_NODE_PRIVKEY = 4, /* private key EF; body = DER RSAPrivateKey, empty until made */
    SIM_NODE_PUBKEY = 5,  /* public key EF; body = the dialect's public key layout */
};

/* ks_image.lifecycle values, numbered like ISO/IEC 7816-4 life cycle status bytes. */
enum {
    SIM_LC_BLANK = 0,       /* created from a profile whose dialect does not exist yet */
    SIM_LC_INIT = 3,        /* initialisation: access conditions are not enforced */
    SIM_LC_OPERATIONAL = 5, /* operational: access conditions are enforced */
};

#define SIM_PIN_SALT_LEN 16
#define SIM_PIN_HASH_LEN 32
#define SIM_MAX_AUTH     8  /* PIN references a connection can hold verified at once */
#define SIM_MAX_PATH     16 /* bytes of a path: MF and up to 7 levels below */

typedef struct sim_path {
    uint8_t b[SIM_MAX_PATH]; /* file identifiers from the MF, 2 bytes each */
    size_t len;              /* bytes; 0 = none */
} sim_path;

/* A security environment set by MANAGE SECURITY ENVIRONMENT, per operation. */
typedef struct sim_mse {
    bool set;
    uint8_t key_ref;
} sim_mse;

/* A PIN this connection verified, bound to the salt of the value it verified: when the
 * PIN is changed or re-created elsewhere, the salt changes and the status lapses. */
typedef struct sim_auth {
    uint8_t ref;
    uint8_t salt[SIM_PIN_SALT_LEN];
} sim_auth;

/* The security status: the PINs verified. A connection has its own; the channels opened
 * from it (sim_conn_open_channel) share it, as a card's logical channels share a global
 * security status (ISO/IEC 7816-4 5.4.1). Read and changed under the card lock. */
typedef struct sim_sec {
    sim_auth auth[SIM_MAX_AUTH];
    size_t nauth;
} sim_sec;

/* How a connection holds the card across APDUs (transactions, card.c). */
typedef enum sim_hold {
    SIM_HOLD_NONE = 0,
    SIM_HOLD_SHARED, /* image lock shared until the end or the private-key computation */
    SIM_HOLD_EXCL,   /* image lock exclusive until the end */
} sim_hold;

struct sim_conn {
    sim_card *card;
    sim_conn *base; /* the connection this one is a channel of, or NULL */
    bool powered;
    sim_path cur_df; /* len 0: no current DF (a card without MF) */
    sim_path cur_ef; /* len 0: no current EF */
    sim_sec *sec;    /* &own_sec, or the base connection's */
    sim_sec own_sec;
    sim_mse mse_sign, mse_decipher;
    /* command chaining: the data of the parts received so far */
    bool chaining;
    uint8_t chain_cla, chain_ins, chain_p1, chain_p2;
    vt_buf chain;
    /* response data not yet fetched with GET RESPONSE */
    vt_buf pending;
    size_t pending_off;
    unsigned txn_depth; /* nested begin calls */
    sim_hold hold;      /* what the transaction holds now (may end before the last end) */
    unsigned fork_gen;  /* sim_fork_gen when hold was taken */
};

/* Test hook run while a private-key operation computes outside the card lock. */
typedef void (*sim_compute_hook)(void *arg);

/* A private key decoded once (key.c): OpenSSL keeps its Montgomery contexts and blinding
 * with the EVP_PKEY, so a signature costs the exponentiation and little else. */
typedef struct sim_rsa_key {
    EVP_PKEY *pkey;
    uint8_t n[512]; /* modulus, big-endian, exactly nlen bytes */
    size_t nlen;
} sim_rsa_key;

/* The card's decoded keys, found again by their DER (card.c). */
#define SIM_KEY_CACHE 8
typedef struct sim_key_slot {
    vt_buf der; /* wiped when dropped */
    sim_rsa_key key;
    uint64_t used;
} sim_key_slot;

struct sim_card {
    const sim_profile *profile;
    const sim_dialect *dialect; /* NULL: the family has no dialect yet */
    char *path;
    ks_image_file *file;
    ks_image img;   /* decoded state, valid while the card is locked */
    bool stale;     /* memory may differ from the file: reload at the next lock */
    bool txn_dirty; /* writes of the open exclusive transaction, saved when it ends */
    bool broken;    /* the file could not be loaded: every command fails 6581 */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* The image lock as this process holds it, for all its connections: one flock,
     * counted here. */
    sim_conn *txn_owner;   /* connection in an exclusive transaction, or NULL */
    unsigned shared_holds; /* connections in shared transactions */
    unsigned excl_waiting; /* exclusive transactions waiting: new shared ones queue behind */
    sim_hold flock_mode;   /* what the lock file holds now */
    bool fresh;            /* locked without a break since the image was last checked */
    unsigned fork_gen;     /* sim_fork_gen the lock state belongs to */
    sim_key_slot keys[SIM_KEY_CACHE];
    uint64_t key_clock;
    unsigned nconns;
    sim_compute_hook hook;
    void *hook_arg;
    sim_fault_card fault; /* fault injection state (fault.c) */
};

/* A private-key computation prepared under the card lock and run after it is released,
 * so two connections can sign at once. */
typedef struct sim_job {
    bool pending;
    vt_buf key_der;  /* copy of the DER private key (the dialect fills it); wiped */
    sim_rsa_key key; /* the same key decoded (the engine fills it from the card's cache) */
    uint8_t in[512]; /* big-endian input block */
    size_t inlen;
    bool reverse_output; /* the dialect answers little-endian */
    /* The dialect's wrapping of the result (a TLV around it, padding removed), called
     * with the card unlocked; returns the status word. NULL: the result is the answer. */
    uint16_t (*finish)(const uint8_t *out, size_t len, vt_buf *resp);
} sim_job;

/* Everything a dialect handler sees for one command. */
typedef struct sim_ctx {
    sim_card *card;
    sim_conn *conn;
    ks_image *img;
    apdu_cmd cmd;   /* data covers the whole chain */
    vt_buf *resp;   /* response data (without SW) */
    bool exclusive; /* the card is locked for writing */
    bool dirty;     /* the image changed and must be saved */
    sim_job job;
} sim_ctx;

/* Save the image now (a PIN try must be on disk before the PIN is compared). On
 * failure the card is marked stale, so the next command reloads what is on disk. */
sim_status sim_ctx_save(sim_ctx *ctx);

/* Map a keystore status to ours. */
sim_status sim_from_ks(ks_status st);

/* Card locking (card.c): the in-process mutex plus the image flock, reloading when the
 * file changed. sim_card_enter returns with card->mu held. */
sim_status sim_card_enter(sim_card *card, sim_conn *conn, bool exclusive);
/* Inside an exclusive transaction a save only marks the image: sim_conn_end writes it
 * once, so that a process dying between the APDUs of one operation leaves the image as
 * it was before it (PIN tries still go to disk at once: sim_ctx_save). Not with a fault
 * plan next to the image: tears must hit the command they name. */
sim_status sim_card_leave(sim_card *card, sim_conn *conn, bool save);
/* [card lock held] Before a write command inside a transaction with unsaved writes: a
 * copy of the image to go back to when the command fails (the disk no longer holds the
 * transaction's state, so reloading would lose its earlier writes). */
bool sim_card_checkpoint(sim_card *card, ks_image *snap);
/* [card lock held] Back to the checkpoint (and snap is consumed). */
void sim_card_rollback(sim_card *card, ks_image *snap);
sim_status sim_conn_begin(sim_conn *conn);
sim_status sim_conn_begin_shared(sim_conn *conn);
sim_status sim_conn_end(sim_conn *conn);
/* [card lock held] A shared transaction ends where the card starts a private-key
 * computation: the long part never holds the image lock. */
void sim_conn_drop_shared(sim_conn *conn);
uint64_t sim_card_generation(sim_card *card);
/* [card lock held] The decoded key for a DER private key of the image, from the card's
 * cache; out holds a reference of its own (sim_key_rsa_unload). */
sim_status sim_card_key(sim_card *card, const uint8_t *der, size_t len, sim_rsa_key *out);
void sim_card_set_compute_hook(sim_card *card, sim_compute_hook fn, void *arg);

/* Reset a connection's volatile state (power cycle, warm reset). */
void sim_conn_clear(sim_conn *conn);

#endif
