/* applet-sim: the virtual card. Public API used by the in-process transport, the vpcd
 * link (`vtoken sim`), the module (to open embedded transports) and the tools.
 *
 * A sim_card is one card's persistent state (its image file, shared by every
 * connection in this process). A sim_conn is one reader connection to it: power
 * state, current DF/EF, security status per PIN and the MSE environment. A reset or
 * power cycle clears the connection's security status. No globals: everything hangs
 * off these two structs. A sim_card may be used from several threads; each sim_conn
 * from one thread at a time. */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport.h"

typedef enum sim_status {
    SIM_OK = 0,
    SIM_ERR_ARGS,
    SIM_ERR_NOMEM,
    SIM_ERR_PROFILE,   /* unknown personality name */
    SIM_ERR_IMAGE,     /* image damaged or from a newer vtoken: see sim_card_error() */
    SIM_ERR_IO,        /* image could not be read or written */
    SIM_ERR_EXISTS,    /* refusing to overwrite an existing image */
    SIM_ERR_NOT_FOUND, /* image or token does not exist */
    SIM_ERR_POWER,     /* connection not powered */
    SIM_ERR_CONFIG,    /* vtoken.conf malformed or inconsistent: see *why */
} sim_status;

const char *sim_strerror(sim_status st);

/* ---- personalities ---------------------------------------------------------- */

typedef struct sim_profile sim_profile; /* defined in profile.h */

const sim_profile *sim_profile_by_name(const char *name); /* "kaztoken", "etoken", "jacarta" */
size_t sim_profile_count(void);
const sim_profile *sim_profile_at(size_t i);
const char *sim_profile_name(const sim_profile *p);
const char *sim_profile_reader_name(const sim_profile *p); /* "DigiFlow LLP. KAZTOKEN" */
const uint8_t *sim_profile_atr(const sim_profile *p, size_t *len);

/* ---- cards ------------------------------------------------------------------ */

typedef struct sim_card sim_card;
typedef struct sim_conn sim_conn;

/* Create a factory-fresh card image at path (default PINs, no keys, new serial).
 * SIM_ERR_EXISTS when a file is already there, unless overwrite is set. A family whose
 * dialect is not written yet gets a blank image (profile, serial, label only; every
 * instruction answers 6D00); the first sim_card_open by a build that has the dialect
 * formats it. */
sim_status sim_card_create(const char *image_path, const char *profile, bool overwrite);
/* Put the card image at path back into the factory state of profile (default PINs with
 * all their tries, no keys, the profile's label), keeping its serial number as a real
 * token keeps the one in its ROM, under the image lock. An image that cannot be read, or
 * that is of another profile, gets a new serial; *serial_kept (when non-NULL) says which.
 * Holders of the card see a new generation. */
sim_status sim_card_reset(const char *image_path, const char *profile, bool *serial_kept);

/* Open an existing image. A damaged image is reported (SIM_ERR_IMAGE with the reason
 * in *why when non-NULL, caller frees) and never overwritten. */
sim_status sim_card_open(const char *image_path, sim_card **out, char **why);
void sim_card_close(sim_card *card); /* after all its connections are closed */
const sim_profile *sim_card_profile(const sim_card *card);
const char *sim_card_path(const sim_card *card);

/* Summary for `vtoken list` and tests; reads the current image state. */
typedef struct sim_card_info {
    char profile[32];
    char serial_hex[33];
    char label[64];
    int user_tries_left, user_tries_max; /* -1 when the profile has no such PIN */
    int so_tries_left, so_tries_max;
    size_t capacity, used;               /* bytes of object memory */
    size_t nkeys, nfiles;
} sim_card_info;
sim_status sim_card_get_info(sim_card *card, sim_card_info *info);

/* ---- connections ------------------------------------------------------------ */

sim_status sim_conn_open(sim_card *card, sim_conn **out);
/* A further channel of base (not itself a channel): its own selection, security
 * environment, chaining and pending response, but base's security status, as logical
 * channels share a card's global security status: a PIN verified on one counts on all.
 * Powered when base is; close it before base. */
sim_status sim_conn_open_channel(sim_conn *base, sim_conn **out);
void sim_conn_close(sim_conn *conn);

/* Power on / warm reset answer with the ATR (up to 33 bytes): *len is the capacity on
 * entry (SIM_ERR_ARGS when the ATR does not fit) and the ATR length on return. Both
 * clear the connection's security status, environment, selection and pending data. */
sim_status sim_conn_power_on(sim_conn *conn, uint8_t *atr, size_t *len);
sim_status sim_conn_reset(sim_conn *conn, uint8_t *atr, size_t *len);
void sim_conn_power_off(sim_conn *conn);
bool sim_conn_powered(const sim_conn *conn);

/* Process one raw command APDU and write the raw response (data || SW1 SW2).
 * Always answers: malformed input gets the matching ISO status word (6700, 6E00,
 * 6D00, ...). rapdu must hold at least APDU_MAX_RAPDU bytes, or *rlen (capacity on
 * entry) bytes, in which case over-long responses are answered with 6Cxx / 61xx as
 * the dialect does. An unpowered connection returns SIM_ERR_POWER and no response. */
sim_status sim_conn_process(sim_conn *conn, const uint8_t *capdu, size_t clen, uint8_t *rapdu,
                            size_t *rlen);

/* ---- $VTOKEN_HOME ------------------------------------------------------------- */

/* The tokens a home holds, from its vtoken.conf. A fresh home gets the three factory
 * tokens: kaztoken, etoken and jacarta (tokens/<name>.img). */
typedef struct sim_token_conf {
    char name[32];      /* "kaztoken": what users type */
    char profile[32];   /* personality */
    char image[4096];   /* absolute path of the card image */
    int vpcd_port;      /* `vtoken sim` connects this card to vpcd on 127.0.0.1:port;
                         * 0 when vtoken.conf gives none */
} sim_token_conf;

typedef struct sim_home sim_home;

/* Resolve the home directory: explicit (when non-NULL), else $VTOKEN_HOME, else
 * $XDG_DATA_HOME/vtoken, else $HOME/.local/share/vtoken. */
sim_status sim_home_resolve(const char *explicit_dir, char *out, size_t cap);
/* Open a home, creating the directory, vtoken.conf and missing factory images (and
 * their directories) on first use. A malformed vtoken.conf is SIM_ERR_CONFIG (reason in
 * *why, caller frees), never rewritten. Sections other than [token NAME] are ignored;
 * image= defaults to tokens/NAME.img. */
sim_status sim_home_open(const char *dir, sim_home **out, char **why);
void sim_home_close(sim_home *home);
const char *sim_home_dir(const sim_home *home);
size_t sim_home_token_count(const sim_home *home);
const sim_token_conf *sim_home_token(const sim_home *home, size_t i);
const sim_token_conf *sim_home_find(const sim_home *home, const char *name);

/* ---- in-process transport ---------------------------------------------------- */

/* An apdu_transport over a powered connection; owns conn and closes it. */
sim_status sim_transport_new(sim_conn *conn, apdu_transport **out);

/* An apdu_transport over conn and n - 1 channels of it (at most SIM_POOL_MAX), for a
 * host that works on several threads: a thread's outermost begin (or begin_shared)
 * binds a free channel to it until the matching end, so operations of different
 * threads run side by side; a transmit outside any begin uses channel 0. Owns conn on
 * success. */
#define SIM_POOL_MAX 8
sim_status sim_transport_new_pool(sim_conn *conn, size_t n, apdu_transport **out);

#endif
