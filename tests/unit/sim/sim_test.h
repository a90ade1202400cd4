/* Shared by the applet-sim suites: a throwaway card in a temporary directory, APDU
 * helpers that return the status word, and the Kaztoken objects most tests need. */
#ifndef SIM_TEST_H
#define SIM_TEST_H

#include <check.h>
#include <stdint.h>

#include "sim.h"
#include "sim_int.h"

Suite *engine_suite(void);     /* test_engine.c */
Suite *fs_suite(void);         /* test_fs.c */
Suite *pin_suite(void);        /* test_pin.c */
Suite *key_suite(void);        /* test_key.c */
Suite *dialect_suite(void);    /* test_dialect.c */
Suite *transcript_suite(void); /* test_transcript.c */
Suite *home_suite(void);       /* test_home.c */
Suite *vpcd_suite(void);       /* test_vpcd.c */
Suite *jacarta_suite(void);    /* test_jacarta.c */
Suite *etoken_suite(void);     /* test_etoken.c */
Suite *fault_suite(void);      /* test_fault.c */
Suite *reset_suite(void);      /* test_reset.c */
Suite *pool_suite(void);       /* test_pool.c: channels, the pool transport, transactions */

typedef struct tcard {
    char dir[256];
    char path[512];
    sim_card *card;
    sim_conn *conn; /* powered */
} tcard;

/* A fresh factory card of profile in its own temporary directory, one powered conn. */
void tc_setup(tcard *t, const char *profile);
void tc_teardown(tcard *t);
/* Another powered connection to the same card (close with sim_conn_close). */
sim_conn *tc_conn(tcard *t);
/* The image on disk, as another process would see it. */
void tc_load(const tcard *t, ks_image *img);

/* Send a command given as hex (spaces allowed); response data (without SW) appended to
 * resp when non-NULL. Returns SW1SW2. */
uint16_t tx(sim_conn *c, const char *hex, vt_buf *resp);
/* Build and send: le < 0 means no Le, le 256 is Le 00. Data above 255 bytes goes out as
 * a chain of 255-byte parts, as OpenSC sends it. */
uint16_t txc(sim_conn *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t nc, long le, vt_buf *resp);
uint16_t tx_raw(sim_conn *c, const uint8_t *apdu, size_t len, vt_buf *resp);
/* Header (4 bytes) and data given as hex; Lc is computed, chaining as txc. */
uint16_t txd(sim_conn *c, const char *hdr, const char *data, long le, vt_buf *resp);

/* Kaztoken helpers */
uint16_t kz_verify_pin(sim_conn *c, uint8_t ref, const char *pin);
uint16_t kz_select_path(sim_conn *c, const char *hexpath); /* P1 08, path without 3F00 */
/* CREATE FILE for the key EFs of ref (as OpenSC's rtecp_create_key does). */
uint16_t kz_create_key_files(sim_conn *c, uint8_t ref, unsigned bits, uint8_t auth);
/* GENERATE; modulus (big-endian) into mod when non-NULL. */
uint16_t kz_generate_key(sim_conn *c, uint8_t ref, vt_buf *mod);
/* MSE + PSO over a big-endian block of modulus length; result big-endian. */
uint16_t kz_private_op(sim_conn *c, uint8_t ref, bool sign, const uint8_t *in, size_t len,
                       vt_buf *out);
/* x^65537 mod n, big-endian, len bytes. */
void rsa_public_op(const uint8_t *n, size_t nlen, const uint8_t *x, size_t xlen, uint8_t *out);
/* Change reference data body: 80 02 <len> A5 <chunk>..., chunks so that every 255-byte
 * part starts with A5, as rtecp_change_reference_data builds it. */
void kz_crd_body(const uint8_t *val, size_t len, vt_buf *out);

void rmrf(const char *dir);
bool mem_contains(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen);

#endif
