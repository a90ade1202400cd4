/* The token side of `vtoken nca`: everything the flows do to a token, through the
 * PKCS#11 module as an application does (p11client.h): log in, list the NCA key sets,
 * generate key pairs, sign, write certificates back, remove old objects, change the
 * PIN. Errors come back as CK_RV plus a sentence for a person in t->err. */
#ifndef VTOKEN_NCA_TOKEN_H
#define VTOKEN_NCA_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "nca_profile.h"
#include "p11client.h"

typedef struct nca_tok {
    vt_p11 m;
    char name[256]; /* as the user typed it */
    char home[4096];
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    bool have_session, logged_in;
    char label[33], manufacturer[33], model[17], serial[17];
    CK_FLAGS flags;
    CK_ULONG min_pin, max_pin;
    nca_media media; /* a .p12 is the file store, anything else a token */
    char err[1024];
} nca_tok;

/* What a wrong or blocked PIN left behind, for the message and --json. */
typedef struct nca_pin_state {
    int tries_left; /* -1: unknown (no counter, as a .p12 has none) */
    int tries_max;
    bool locked, count_low, final_try;
    bool exact; /* tries_left was read from the token's counter, not guessed */
} nca_pin_state;

/* Load the module (module_path NULL: the usual search), find the token and open a
 * session (R/W when rw, for flows that write). Returns a vtoken exit code
 * (VTOKEN_EXIT_NO_TOKEN when it is not there). */
int nca_tok_open(nca_tok *t, const char *module_path, const char *home, const char *token, bool rw);
void nca_tok_close(nca_tok *t); /* logs out, closes the session, unloads the module */

/* C_Login(CKU_USER). On CKR_PIN_INCORRECT / CKR_PIN_LOCKED, *ps says what is left. */
CK_RV nca_tok_login(nca_tok *t, const char *pin, nca_pin_state *ps);
/* The PIN counters of the token now (token flags; the exact count for a virtual card
 * of this home, read from its card image as the token reports it over VERIFY). */
void nca_tok_pin_state(nca_tok *t, nca_pin_state *ps);

/* One NCA key set member on the token: a certificate and the objects paired with it by
 * CKA_ID. */
typedef struct nca_key {
    X509 *cert;
    nca_template tmpl;
    uint8_t id[64];
    size_t id_len;
    char label[256];
    CK_OBJECT_HANDLE cert_h, priv_h, pub_h; /* CK_INVALID_HANDLE when absent */
} nca_key;

/* Every certificate on the token (NCA's or not; tmpl tells), oldest first. The caller
 * frees with nca_keys_free(). */
CK_RV nca_tok_keys(nca_tok *t, nca_key **keys, size_t *n);
void nca_keys_free(nca_key *keys, size_t n);

/* The newest certificate of a template whose private key is on the token, or NULL. */
const nca_key *nca_keys_current(const nca_key *keys, size_t n, nca_template tmpl);

/* Generate an RSA key pair on the token (private: sensitive, never extractable; AUTH
 * keys may also decrypt, SIGN keys only sign) under a temporary CKA_ID and label, and
 * return its public key. */
CK_RV nca_tok_generate(nca_tok *t, nca_template tmpl, CK_ULONG bits, CK_OBJECT_HANDLE *pub,
                       CK_OBJECT_HANDLE *priv, EVP_PKEY **pub_key);
/* Give an object NCA's CKA_ID and CKA_LABEL (C_SetAttributeValue). An object that is
 * not modifiable (CKA_MODIFIABLE false: a .p12 names keys after their certificate, as
 * NCA's files do) is left alone and *named_by_token says so. */
CK_RV nca_tok_set_id(nca_tok *t, CK_OBJECT_HANDLE h, const uint8_t *id, size_t id_len,
                     const char *label, bool *named_by_token);
/* The handle of the private key with this CKA_ID, or CK_INVALID_HANDLE. */
CK_OBJECT_HANDLE nca_tok_private_key(nca_tok *t, const uint8_t *id, size_t id_len);
/* SHA256withRSA over data with a private key on the token (C_Sign, CKM_SHA256_RSA_PKCS). */
CK_RV nca_tok_sign(nca_tok *t, CK_OBJECT_HANDLE priv, const uint8_t *data, size_t len, uint8_t *sig,
                   size_t *sig_len);
/* Write a certificate as a token object (C_CreateObject); public on a card, private
 * in a .p12 (everything in the file is encrypted). */
CK_RV nca_tok_write_cert(nca_tok *t, X509 *cert, const uint8_t *id, size_t id_len,
                         const char *label, CK_OBJECT_HANDLE *out);
CK_RV nca_tok_destroy(nca_tok *t, CK_OBJECT_HANDLE h);
/* Remove the objects of a key set: certificate, private key, then the public key unless
 * it went with its private key (a .p12 keeps it inside the key's bag). */
CK_RV nca_tok_destroy_set(nca_tok *t, CK_OBJECT_HANDLE cert, CK_OBJECT_HANDLE priv,
                          CK_OBJECT_HANDLE pub);
/* Objects a reissue left half-made (the temporary label): removed before a new one. */
CK_RV nca_tok_remove_pending(nca_tok *t, size_t *removed);

/* C_SetPIN on a session that is not logged in (the old PIN is checked by the token). */
CK_RV nca_tok_set_pin(nca_tok *t, const char *old_pin, const char *new_pin, nca_pin_state *ps);

#define NCA_PENDING_LABEL "vtoken-nca-pending"

#endif
