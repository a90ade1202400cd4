/* The JaCarta card driver: the Laser PKI applet's APDUs (as OpenSC's jacartapki driver, PR
 * #3423, sends them) over an apdu_transport. Token objects are kept in a PKCS#15
 * application at 3F00/5015 (pkcs15_tok.c); private keys are the applet's key objects
 * 3F00/3000/3002/00(40|ref). drv_jacarta.c: APDUs, files and key storage;
 * drv_jacarta_pin.c: PINs; drv_jacarta_ops.c: token info, C_InitToken, RSA, random, the
 * operations table and the driver. */
#ifndef P11_DRV_JACARTA_H
#define P11_DRV_JACARTA_H

#include "pkcs15_tok.h"
#include "token.h"
#include "transport.h"

extern const p11_card_driver p11_drv_jacarta;
extern const p11_p15_keys p11_jc_keys;

#define JC_SO_REF      0x10
#define JC_USER_REF    0x20
#define JC_PIN_MIN     4
#define JC_PIN_MAX     16
#define JC_TRIES_MAX   10
#define JC_KEY_REF_MAX 0x1E /* key references 01..1E, as OpenSC's profile has them */

#define JC_MANUFACTURER  "Aladdin R.D."
#define JC_MODEL         "JaCarta Laser"
#define JC_LABEL         "JaCarta"
#define JC_TOKENINFO_LEN 161

typedef struct jc_token {
    apdu_transport *t;
    p11_p15_tok obj;  /* the token objects (PKCS#15 over our file callbacks) */
    uint64_t writes;  /* our own writes, for generation() */
    CK_USER_TYPE who; /* logged-in role; (CK_USER_TYPE)-1 when none */
    bool logged_in;
    uint8_t serial[8];
    size_t serial_len;
    char label[33]; /* for a new PKCS#15 application: the applet's TokenInfo label */
    unsigned txn;   /* nesting depth of jc_txn_begin */
    bool txn_held;  /* the outermost jc_txn_begin got a transaction */
} jc_token;

/* Hold the card from a SELECT to the command that uses the selection: another process
 * on the same reader could select something else in between. Nests; best effort (a
 * transport that cannot goes on without). */
void jc_txn_begin(jc_token *k);
void jc_txn_end(jc_token *k);

/* Status words to CK_RV: the one mapping. */
CK_RV jc_sw_rv(uint16_t sw);
/* One command; transport failures become CKR_DEVICE_REMOVED / CKR_DEVICE_ERROR. */
CK_RV jc_cmd(jc_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t nc, size_t ne, unsigned flags, vt_buf *resp, uint16_t *sw);
/* The same, mapping any status word but 9000 (and 6282 at the end of a file) through
 * jc_sw_rv(). */
CK_RV jc_cmd_ok(jc_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                size_t nc, size_t ne, unsigned flags, vt_buf *resp);

/* SELECT by path from the MF (80 A4 08, 3F00 included). With want_fcp the FCP is asked
 * for and its size (tag 80) returned; *found = false when the card answers 6A82. */
CK_RV jc_select(jc_token *k, const p11_p15_path *p, bool want_fcp, bool *found, size_t *size);
/* The private key object of key reference ref. */
void jc_key_path(long ref, p11_p15_path *out);
/* Read a whole transparent EF; *found = false when it does not exist. */
CK_RV jc_read_file(jc_token *k, const p11_p15_path *p, vt_buf *out, bool *found);
/* The file callbacks of the PKCS#15 layer. */
void jc_fs_init(jc_token *k);

/* The applet's TokenInfo EF 3F00/3000/C000. */
void jc_tokeninfo_path(p11_p15_path *out);

/* PINs (drv_jacarta_pin.c). */
void jc_set_login(jc_token *k, bool logged_in, CK_USER_TYPE who);
/* PIN ref's state from VERIFY without data: tries left (0 = blocked), or -2 when this
 * connection holds it verified. */
CK_RV jc_pin_tries(jc_token *k, uint8_t ref, int *tries);
/* VERIFY of PIN ref: CKR_PIN_INCORRECT, CKR_PIN_LOCKED (also for the try that blocks it),
 * CKR_PIN_LEN_RANGE. */
CK_RV jc_verify_pin(jc_token *k, uint8_t ref, const uint8_t *pin, size_t len);
/* LOGOUT of the SO and / or user PIN. */
CK_RV jc_logout_refs(jc_token *k, bool so, bool user);
/* The p11_token_ops login, logout, set_pin and init_pin. */
CK_RV jc_pin_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len);
CK_RV jc_pin_logout(p11_token *t);
CK_RV jc_pin_change(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                    const uint8_t *new_pin, size_t new_len);
CK_RV jc_pin_init(p11_token *t, const uint8_t *pin, size_t len);

#endif
