/* vtoken-bench table: what one run measures (bench_results), how it was asked for
 * (bench_conf), and its parties, each set up once and then measured in interleaved
 * rounds so that other work on the machine weighs on every figure alike:
 * bench_softhsm.c (SoftHSM2), bench_vtoken.c (vtoken's module: embedded cards, a PKCS#12
 * file, a card behind pcscd + vpcd; start-up; find). bench_table.c runs them and prints
 * the table. */
#ifndef VTOKEN_BENCH_TABLE_H
#define VTOKEN_BENCH_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "bench_p11.h"

/* Parts of a run (--only). */
#define BT_OPENSSL  0x01u
#define BT_SOFTHSM  0x02u
#define BT_EMBEDDED 0x04u
#define BT_P12      0x08u
#define BT_PCSC     0x10u
#define BT_INIT     0x20u
#define BT_FIND     0x40u
#define BT_KEYGEN   0x80u
#define BT_ALL      0xffu

#define BT_USER_PIN     "12345678"   /* Kaztoken's (and the SoftHSM2 token's we make) */
#define BT_LONG_PIN     "1234567890" /* eToken's and JaCarta's */
#define BT_P12_PASS     "Bench12345"
#define BT_P12_FILES    10
#define BT_FIND_OBJECTS 1000
#define BT_MAX_ROUNDS   64
#define BT_MAX_KEYGENS  64

typedef struct bench_conf {
    const char *module;  /* libvtoken-pkcs11.so */
    const char *softhsm; /* libsofthsm2.so */
    const char *reader;  /* PC/SC reader with a `vtoken sim` Kaztoken, or NULL */
    double seconds;      /* per rate, spread over the rounds */
    int rounds;          /* interleaved rounds per rate */
    int keygens;         /* key generations per median */
    int inits;           /* module start-ups per median */
    unsigned parts;      /* BT_* */
    char tmp[512];       /* scratch directory, removed at the end */
    EVP_PKEY *key;       /* an OpenSSL RSA-2048 key (PKCS#12 files are made with it) */
} bench_conf;

/* NaN: not measured. Rates in signatures per second, times in seconds. */
typedef struct bench_results {
    double ossl_1, ossl_2, ossl_keygen;
    double shsm_1, shsm_2, shsm_keygen;
    double emb_1, emb_2_same, emb_2_two, etoken_1, jacarta_1, emb_keygen;
    double p12_1, p12_2;
    double pcsc_1, pcsc_2;
    double init;
    size_t init_slots;
    double find_label, find_class_label;
} bench_results;

/* A loaded module and the signers set up on it (one session each, logged in). */
#define BT_MAX_SIGNERS 12
typedef struct bench_side {
    bench_p11 m;
    bench_signer s[BT_MAX_SIGNERS];
    size_t ns;
    CK_SESSION_HANDLE keygen_h; /* a logged-in R/W session for timed key generation */
} bench_side;

/* vtoken's signers, by index into bench_side.s (-1: not set up). */
typedef struct bench_vt_index {
    int kaz_a, kaz_b, kaz2, etoken, jacarta, p12_a, p12_b, pcsc_a, pcsc_b;
} bench_vt_index;

/* Set up (SoftHSM2: token, key, two signers on one token). */
bool bench_softhsm_open(const bench_conf *c, bench_side *sd);
/* Set up vtoken's module with every part asked for; ix says which signer is which. */
bool bench_vtoken_open(const bench_conf *c, bench_side *sd, bench_vt_index *ix);
void bench_side_close(bench_side *sd);

/* One timed RSA-2048 key generation through sd->keygen_h; the pair is destroyed again. */
bool bench_side_keygen(bench_side *sd, bool token, double *secs);

/* vtoken only, each in its own module instance or session. */
bool bench_vtoken_find(const bench_conf *c, bench_side *sd, bench_results *r);
bool bench_vtoken_init(const bench_conf *c, bench_results *r);

/* Shared steps. A R/W session on slot, logged in as the user (a login state another
 * session already holds is fine). */
CK_RV bench_login_session(bench_p11 *m, CK_SLOT_ID slot, const char *pin, CK_SESSION_HANDLE *h);
/* One signer on slot with key: its own logged-in session and the key's public half. */
bool bench_signer_open(bench_p11 *m, CK_SLOT_ID slot, CK_OBJECT_HANDLE key, const char *pin,
                       bench_signer *out);

#endif
