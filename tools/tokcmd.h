/* What the token commands (list, show, init, reset, pin, import, export-cert) share:
 * a module loaded for a home, a token resolved to a slot and a session on it; PINs read
 * without echo and wiped; CK_RV failures explained (tries left, how to unblock); and the
 * PIN counters, which CK_TOKEN_INFO does not carry, read from the card image. */
#ifndef VTOKEN_TOKCMD_H
#define VTOKEN_TOKCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "p11client.h"
#include "sim.h"

/* A command's hold on one token. Zeroed, it holds nothing; tok_end() releases it all. */
typedef struct tok_ctx {
    const char *cmd;  /* "show": for messages */
    const char *name; /* the token as the user typed it */
    char home[4096];
    vt_p11 p11;
    bool loaded;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session; /* 0: none */
} tok_ctx;

/* Resolve the home (--home, else $VTOKEN_HOME, ...) and load the module for it
 * (module_opt: --module, else vt_p11_load's search). */
int tok_begin(tok_ctx *t, const char *cmd, const char *home_opt, const char *module_opt);
/* Resolve token to a slot (VTOKEN_EXIT_NO_TOKEN with a message listing what exists). */
int tok_find(tok_ctx *t, const char *token);
int tok_open_session(tok_ctx *t, bool rw);
void tok_end(tok_ctx *t); /* logout, close the session, unload */

/* "vtoken <cmd>: <what>: CKR_X" plus what a person can do about it; returns the exit
 * code for rv (VTOKEN_EXIT_PIN_INCORRECT, VTOKEN_EXIT_PIN_LOCKED or FAILURE). who says
 * which PIN a PIN error is about. */
int tok_fail(tok_ctx *t, const char *what, CK_RV rv, CK_USER_TYPE who);
/* C_Login with tok_fail's messages. */
int tok_login(tok_ctx *t, CK_USER_TYPE who, const char *pin);

/* ---- what the module does not say --------------------------------------------- */

/* The home's token whose card has this serial (CK_TOKEN_INFO.serialNumber, any case),
 * with the card's summary; false when no configured token has it (a PKCS#12 file, a
 * real card, another home's card). name may be NULL. */
bool tok_home_card(const char *home, const char *serial, char *name, size_t name_cap,
                   sim_card_info *info);

/* The token's family from what the module reports: the card's profile for a card of
 * this home, else guessed from CK_TOKEN_INFO.model ("kaztoken", "etoken", "jacarta",
 * "pkcs12"), else "unknown". */
const char *tok_family(const CK_TOKEN_INFO *ti, const sim_card_info *card);

/* "Factory PINs (user / SO): kaztoken 12345678 / 87654321; ..." from the profiles. */
void tok_print_factory_pins(FILE *f);

/* A fixed-width PKCS#11 string without its blank padding. */
void tok_unpad(char *out, size_t cap, const CK_UTF8CHAR *in, size_t width);

/* ---- objects ------------------------------------------------------------------ */

/* Every object of the session matching tmpl (n may be 0): *out malloc'd. */
CK_RV tok_objects(tok_ctx *t, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE **out,
                  size_t *count);
/* One attribute's value, malloc'd (plus a NUL, so text can be used as a string).
 * CKR_ATTRIBUTE_TYPE_INVALID / CKR_ATTRIBUTE_SENSITIVE as the module answers. */
CK_RV tok_attr(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, uint8_t **val, size_t *len);
/* A CK_ULONG or CK_BBOOL attribute; def when the object has no such attribute. */
CK_ULONG tok_attr_ulong(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, CK_ULONG def);
bool tok_attr_bool(tok_ctx *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool def);

/* ---- PKCS#12 settings ------------------------------------------------------- */

/* The value of key under [pkcs12] in the home's vtoken.conf, into out ("" when none). */
void tok_conf_pkcs12(const char *home_opt, const char *key, char *out, size_t cap);
/* Is dir one of the directories the module serves .p12 files from? The module's
 * precedence: $VTOKEN_P12_PATH, else [pkcs12] path= (colon-separated). */
bool tok_p12_dir_served(const char *home_opt, const char *dir);

/* ---- secrets ------------------------------------------------------------------ */

/* Where secrets that are not on the command line come from: --pin-file FILE ('-' for
 * standard input) gives one per line in the documented order; without it a terminal
 * is asked (echo off) and anything else on standard input is read line by line. */
typedef struct tok_input {
    const char *cmd;
    const char *file; /* --pin-file, or NULL */
    FILE *f;          /* opened on first use */
    bool close_f;
} tok_input;

/* Fill out (NUL-terminated) from given when non-NULL, else from the input. given is a
 * command-line argument (writable, as argv strings are): it is wiped once copied.
 * confirm: on a terminal, ask twice (for new PINs). Returns VTOKEN_EXIT_OK, or FAILURE /
 * USAGE with a message. out is wiped on failure. */
int tok_secret(tok_input *in, const char *prompt, const char *given, bool confirm, char *out,
               size_t cap);
void tok_input_close(tok_input *in);

/* ---- output ------------------------------------------------------------------- */

/* Lower-case hex of a byte string into a malloc'd string ("" for none); NULL on OOM. */
char *tok_hex(const uint8_t *v, size_t len);

#endif
