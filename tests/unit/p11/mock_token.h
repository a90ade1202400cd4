/* A mock token for the module's unit tests: an in-memory card implementing
 * p11_token_ops with real PIN counters (a wrong PIN costs a try, the last one locks),
 * PIN policy, objects, RSA keys held in OpenSSL, on-card key generation and a
 * generation counter. The card outlives module initialisations, as a real card stays
 * in its reader; tests can pull it out and put it back. */
#ifndef P11_TEST_MOCK_TOKEN_H
#define P11_TEST_MOCK_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "token.h"

typedef struct mock_config {
    unsigned caps; /* P11_CAP_* */
    const char *label;
    const char *serial;
    const char *user_pin; /* NULL: user PIN not initialised */
    const char *so_pin;
    int user_tries_max, so_tries_max;
    CK_ULONG min_pin, max_pin;
    bool digits_only; /* PIN policy: CKR_PIN_INVALID for anything else */
    bool write_protected;
    bool changes_seen_at_txn; /* as a PC/SC card (p11_token.changes_seen_at_txn) */
} mock_config;

typedef struct mock_card mock_card;

void mock_config_default(mock_config *cfg); /* raw RSA + PKCS1 + keygen + RNG + write */
mock_card *mock_card_new(const mock_config *cfg);
void mock_card_free(mock_card *c);

/* p11_test_open_fn */
CK_RV mock_open(void *card, p11_token **out);

void mock_card_set_present(mock_card *c, bool present);
int mock_card_user_tries(const mock_card *c);
int mock_card_so_tries(const mock_card *c);
unsigned mock_card_list_calls(const mock_card *c);
unsigned mock_card_sign_calls(const mock_card *c);
size_t mock_card_object_count(const mock_card *c);
void mock_card_bump_generation(mock_card *c); /* "another process wrote the card" */

/* Pre-generated keys (made once, before the test processes fork). */
void mock_keys_init(void);
EVP_PKEY *mock_key(int i); /* 0, 1: RSA-1024; 2: RSA-2048 */

/* Put objects on the card directly (as if written earlier). id/label may be NULL.
 * with_modulus false leaves CKA_MODULUS off the private key, as some cards do. */
void mock_card_add_keypair(mock_card *c, EVP_PKEY *key, const char *id, const char *label,
                           bool always_auth, bool with_pubkey, bool with_modulus);
/* A self-signed certificate for key, DER in *der (caller frees with OPENSSL_free). */
size_t mock_make_cert(EVP_PKEY *key, const char *cn, unsigned char **der);
void mock_card_add_cert(mock_card *c, const unsigned char *der, size_t len, const char *id,
                        const char *label);
void mock_card_add_data(mock_card *c, const char *label, const char *value, bool is_private);

#endif
