/* The Kaztoken card driver: the Rutoken ECP command set (as OpenSC's rutoken_ecp driver
 * speaks it) over an apdu_transport, with token objects kept in PKCS#15 in the rutoken_ecp
 * profile's layout. drv_kaztoken.c: APDUs, status words, RSA, the operations table;
 * drv_kaztoken_fs.c: files, access conditions, key objects; drv_kaztoken_pin.c: PINs and
 * token info; drv_kaztoken_init.c: C_InitToken (the card re-personalised). The token
 * objects are pkcs15_tok.c's, over the key storage in pkcs15_kz.c. */
#ifndef P11_DRV_KAZTOKEN_H
#define P11_DRV_KAZTOKEN_H

#include "pkcs15_tok.h"
#include "token.h"
#include "transport.h"

extern const p11_card_driver p11_drv_kaztoken;

#define KZ_SO_REF    1
#define KZ_USER_REF  2
#define KZ_PIN_MIN   6
#define KZ_PIN_MAX   32
#define KZ_TRIES_MAX 10

typedef struct kz_token {
    apdu_transport *t;
    p11_p15_tok obj;  /* the token objects (PKCS#15 over our file callbacks) */
    uint64_t writes;  /* our own writes, for generation() */
    CK_USER_TYPE who; /* logged-in role; (CK_USER_TYPE)-1 when none */
    bool logged_in;
    bool personalising; /* C_InitToken is writing the application: OpenSC's ACLs */
    uint8_t serial[32];
    size_t serial_len;
} kz_token;

#define KZ_NO_USER         ((CK_USER_TYPE)-1)
#define KZ_SW_LOGOUT_FIRST 0x6F86u /* VERIFY while the other PIN is verified */

/* Status words to CK_RV: the one mapping. */
CK_RV p11_kz_sw_rv(uint16_t sw);

/* One command; transport failures become CKR_DEVICE_REMOVED / CKR_DEVICE_ERROR. */
CK_RV p11_kz_cmd(kz_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                 size_t nc, size_t ne, unsigned flags, vt_buf *resp, uint16_t *sw);
/* The same, mapping any status word but 9000 through p11_kz_sw_rv(). */
CK_RV p11_kz_cmd_ok(kz_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, size_t ne, unsigned flags, vt_buf *resp);

/* Files. */
CK_RV p11_kz_select(kz_token *k, const p11_p15_path *p, bool *found, size_t *size);
/* Create an RSA key pair's two key objects for reference ref (bits 1024 or 2048). */
CK_RV p11_kz_create_key_files(kz_token *k, long ref, CK_ULONG bits);
CK_RV p11_kz_delete_key_files(kz_token *k, long ref);
/* CHANGE REFERENCE DATA on the selected key object, chunked as rtecp does. */
CK_RV p11_kz_put_key_body(kz_token *k, long ref, bool private_part, const uint8_t *body,
                          size_t len);
void p11_kz_key_path(long ref, bool private_part, p11_p15_path *out);

/* CREATE FILE (a 6F template, as rtecp_construct_fci builds it) in the current DF. */
CK_RV p11_kz_create_file(kz_token *k, uint16_t fid, const uint8_t fdb[2], size_t size,
                         const uint8_t *prop, size_t prop_len, const uint8_t sec[15]);
/* The p11_p15_fs over this card (read, write, remove, create_df). */
void p11_kz_fs_bind(kz_token *k);

/* PINs (drv_kaztoken_pin.c). */
/* PIN state from VERIFY without data: tries left (0 = blocked), or -2 when verified. */
CK_RV p11_kz_pin_tries(kz_token *k, uint8_t ref, int *tries);
/* VERIFY ref with pin (the other PIN logged out first when the card asks). */
CK_RV p11_kz_verify(kz_token *k, uint8_t ref, const uint8_t *pin, size_t len);
/* CHANGE REFERENCE DATA of PIN ref to pin. */
CK_RV p11_kz_set_pin_value(kz_token *k, uint8_t ref, const uint8_t *pin, size_t len);
void p11_kz_set_login(kz_token *k, bool logged_in, CK_USER_TYPE who);
/* The card's serial number (GET DATA 01 81), once; a new application's TokenInfo has it. */
void p11_kz_read_serial(kz_token *k);
CK_RV p11_kz_op_get_info(p11_token *t, p11_token_info *info);
CK_RV p11_kz_op_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len);
CK_RV p11_kz_op_logout(p11_token *t);
CK_RV p11_kz_op_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                        const uint8_t *new_pin, size_t new_len);
CK_RV p11_kz_op_init_pin(p11_token *t, const uint8_t *pin, size_t len);
/* C_InitToken (drv_kaztoken_init.c). */
CK_RV p11_kz_op_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label);

#endif
