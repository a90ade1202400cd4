/* The module's token operations table. A card driver per dialect (over an
 * apdu_transport) and the PKCS#12 driver (over keystore) implement it; the PKCS#11
 * layer (slots, sessions, objects, mechanisms) calls only these.
 *
 * Division of work: the PKCS#11 layer checks sessions, login state, handles and
 * templates; hashes, builds DigestInfo, applies PKCS#1 v1.5 / PSS padding and OAEP
 * decoding in software when the driver only offers raw RSA; verifies and encrypts with
 * public keys in software; caches objects. Drivers talk to the token and answer with
 * CK_RV codes (mapped once, in the driver, from status words or ks_status).
 *
 * What the PKCS#11 layer relies on:
 * - ref identifies an object uniquely on its token and stays the same across listings
 *   (handles are kept by ref when the objects are listed again);
 * - key objects carry what only the card knows: CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
 *   CKA_NEVER_EXTRACTABLE, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_AUTHENTICATE. The module
 *   fills every other attribute of the class with its default, derives CKA_MODULUS_BITS,
 *   CKA_PUBLIC_KEY_INFO, certificate fields and CKA_CHECK_VALUE, and gives a private key
 *   without CKA_MODULUS / CKA_PUBLIC_EXPONENT those of the public key or certificate
 *   with the same CKA_ID;
 * - CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT from any operation means the card is
 *   gone: the module then asks present() and, if absent, ends every session. */
#ifndef P11_TOKEN_H
#define P11_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "p11.h"

typedef struct p11_token p11_token;

/* What C_GetTokenInfo shows, filled by the driver from the token itself. Strings are
 * NUL-terminated here; the PKCS#11 layer blank-pads them. */
typedef struct p11_token_info {
    char label[33];
    char manufacturer[33];
    char model[17];
    char serial[17];
    CK_FLAGS flags; /* CKF_RNG, CKF_LOGIN_REQUIRED, CKF_USER_PIN_INITIALIZED,
                       CKF_TOKEN_INITIALIZED, CKF_WRITE_PROTECTED, and the
                       CKF_{USER,SO}_PIN_{COUNT_LOW,FINAL_TRY,LOCKED} flags from the
                       token's real counters */
    CK_ULONG min_pin, max_pin;
    CK_ULONG total_mem, free_mem; /* bytes; CK_UNAVAILABLE_INFORMATION if unknown */
    CK_VERSION hw, fw;
    int user_tries_left, user_tries_max; /* -1: the token has no counter (.p12) */
    int so_tries_left, so_tries_max;
} p11_token_info;

/* A token object as the driver reports it: every attribute the object has (CKA_CLASS,
 * CKA_TOKEN = TRUE, CKA_PRIVATE, CKA_ID, CKA_LABEL, ...). Sensitive values (private
 * exponent, primes) are never present. ref locates the object for the driver (a key
 * reference, a file path); the PKCS#11 layer treats it as opaque. */
typedef struct p11_tobj {
    p11_attrs attrs;
    uint8_t ref[32];
    size_t ref_len;
} p11_tobj;

void p11_tobj_free(p11_tobj *o);
void p11_tobjs_free(p11_tobj *v, size_t n); /* frees each and the array */

/* RSA operations a driver performs with a private key. */
typedef enum p11_rsa_op {
    P11_RSA_RAW,        /* modexp on exactly modulus-length input (CKM_RSA_X_509) */
    P11_RSA_PKCS1,      /* token adds/removes PKCS#1 v1.5 padding (type 1 sign, type 2 decrypt) */
} p11_rsa_op;

/* Driver capabilities. */
#define P11_CAP_RSA_RAW     0x0001u /* P11_RSA_RAW sign and decrypt: the module can do
                                        PKCS#1, PSS and OAEP itself */
#define P11_CAP_RSA_PKCS1   0x0002u /* P11_RSA_PKCS1 */
#define P11_CAP_KEYGEN_RSA  0x0004u
#define P11_CAP_RNG         0x0008u
#define P11_CAP_EC          0x0010u
#define P11_CAP_WRITE       0x0020u /* objects can be created and destroyed */
#define P11_CAP_PARALLEL    0x0040u /* rsa_sign, rsa_decrypt, ec_sign and random may run on
                                        several threads at once (each on a channel of its
                                        own when the transport has several) and next to
                                        present() and generation(): none of these changes
                                        driver state another of them reads */

typedef struct p11_token_ops {
    const char *name; /* "kaztoken", "etoken", "jacarta", "pkcs12" */
    unsigned caps;
    CK_ULONG rsa_min_bits, rsa_max_bits;

    CK_RV (*get_info)(p11_token *t, p11_token_info *info);
    /* who: CKU_USER, CKU_SO or CKU_CONTEXT_SPECIFIC (verify the user PIN again, right
     * before a use of a CKA_ALWAYS_AUTHENTICATE key). CKR_PIN_INCORRECT, CKR_PIN_LOCKED,
     * CKR_PIN_LEN_RANGE as the token answers; get_info() reports the counters after. */
    CK_RV (*login)(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len);
    CK_RV (*logout)(p11_token *t);
    CK_RV (*set_pin)(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                     const uint8_t *new_pin, size_t new_len);
    CK_RV (*init_pin)(p11_token *t, const uint8_t *pin, size_t len); /* SO logged in */
    CK_RV (*init_token)(p11_token *t, const uint8_t *so_pin, size_t len, const char *label);

    /* All token objects visible in the current login state (private objects only when
     * the user is logged in). The caller frees with p11_tobjs_free(). */
    CK_RV (*list_objects)(p11_token *t, p11_tobj **objs, size_t *n);
    /* A counter that changes whenever the objects may have changed (our writes, other
     * processes, removal). The PKCS#11 layer re-lists only when it moves. */
    uint64_t (*generation)(p11_token *t);

    /* Templates arrive complete and checked for class-level consistency; the driver
     * rejects what the token cannot hold (CKR_TEMPLATE_INCONSISTENT,
     * CKR_DEVICE_MEMORY, CKR_TOKEN_WRITE_PROTECTED). */
    CK_RV (*create_object)(p11_token *t, const p11_attrs *tmpl, p11_tobj *out);
    CK_RV (*destroy_object)(p11_token *t, const p11_tobj *obj);
    CK_RV (*set_attributes)(p11_token *t, const p11_tobj *obj, const p11_attrs *changes,
                            p11_tobj *updated);
    /* pub_tmpl with CKA_TOKEN = FALSE: the public key is not stored on the card; *pub
     * then carries its attributes (CKA_MODULUS, CKA_PUBLIC_EXPONENT...) with ref_len 0. */
    CK_RV (*generate_rsa)(p11_token *t, CK_ULONG bits, const uint8_t *pub_exp, size_t exp_len,
                          const p11_attrs *pub_tmpl, const p11_attrs *priv_tmpl, p11_tobj *pub,
                          p11_tobj *priv);

    CK_RV (*rsa_sign)(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t *out_len);
    CK_RV (*rsa_decrypt)(p11_token *t, const p11_tobj *key, p11_rsa_op op, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len);
    CK_RV (*ec_sign)(p11_token *t, const p11_tobj *key, const uint8_t *hash, size_t hash_len,
                     uint8_t *out, size_t *out_len); /* optional: P11_CAP_EC */
    CK_RV (*random)(p11_token *t, uint8_t *out, size_t len);

    /* CKR_OK when present, CKR_TOKEN_NOT_PRESENT when not. Cheap. */
    CK_RV (*present)(p11_token *t);
    void (*close)(p11_token *t);
} p11_token_ops;

struct apdu_transport;
struct p11_token {
    const p11_token_ops *ops;
    void *drv; /* driver state */
    /* Set by the slot source that opened a card driver: the PKCS#11 layer brackets every
     * driver call with a transaction on it (apdu_begin / apdu_begin_shared ... apdu_end),
     * so the APDUs of one operation never interleave with another process's. NULL for
     * tokens without APDUs (PKCS#12, mocks). */
    struct apdu_transport *io;
    /* How many private-key operations may run at once (P11_CAP_PARALLEL drivers): the
     * transport's channels, or any number for a software token. 0 counts as 1. */
    unsigned parallel;
    /* Set by the PC/SC slot source: asking the token whether it changed costs a round
     * trip through pcscd, and its only changes are a reset or a removal, which the
     * begin of every transaction reports by itself (SCardBeginTransaction). A
     * private-key operation's init then need not ask: its operation's transaction will
     * (p11_op_key). */
    bool changes_seen_at_txn;
};

/* A card driver: recognises its cards and opens a token over a transport. The module
 * keeps one table of these (pkcs11/drivers.c); adding a token family adds an entry. */
typedef struct p11_card_driver {
    const char *name;   /* "kaztoken" */
    const char *vendor; /* vendor family for vendor-name filtering: "kaztoken", "etoken",
                           "jacarta" */
    /* Cheap: decide from the ATR alone (may also be called for PC/SC readers). */
    bool (*match)(const uint8_t *atr, size_t atr_len);
    /* Open a token over t; the token owns t and closes it in ops->close. */
    CK_RV (*open)(struct apdu_transport *t, p11_token **out);
} p11_card_driver;

#endif
