/* Shared by the PKCS#11 misuse suites (test_misuse*.c): the real module over a throwaway
 * $VTOKEN_HOME with its three embedded cards and one PKCS#12 file (NCA's test file), a
 * key pair on each, and the "precise answer" assertion. */
#ifndef P11_TEST_MISUSE_H
#define P11_TEST_MISUSE_H

#include "p11_test.h"
#include "vt_util.h"

/* One token of the fixture: slot, PINs, and after mz_keys() a key pair on it. */
typedef struct mz_token {
    const char *name; /* "kaztoken", "etoken", "jacarta", "pkcs12" */
    CK_SLOT_ID slot;
    const char *user_pin;
    const char *so_pin; /* NULL: the token has no SO (PKCS#12) */
    CK_OBJECT_HANDLE priv, pub;
} mz_token;

#define MZ_NTOKENS 4
extern mz_token mz_tokens[MZ_NTOKENS];

/* Checked fixture (per test, in the forked child): a fresh home and PKCS#12 directory,
 * C_Initialize'd; teardown finalises and removes them. */
void mz_setup(void);
void mz_teardown(void);
/* Only the directories (for tests that start uninitialised). */
void mz_setup_dirs(void);
/* The fixture's $VTOKEN_HOME. */
const char *mz_home(void);
/* C_Initialize with the fixture's options. */
CK_RV mz_initialize(void);

CK_SESSION_HANDLE mz_open(const mz_token *t, bool rw);
void mz_login(const mz_token *t, CK_SESSION_HANDLE h);
/* A private/public key pair on the token (generated on cards, the file's own key on
 * PKCS#12), logged in on a R/W session returned in *h. */
void mz_keys(mz_token *t, CK_SESSION_HANDLE *h);

/* Suites */
Suite *misuse_suite(void);      /* test_misuse.c: initialisation, handles, call order */
Suite *misuse_args_suite(void); /* test_misuse_args.c: NULLs, huge lengths, short buffers */

#endif
