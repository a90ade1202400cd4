/* The eToken PRO (Java) card driver: the PRO applet's command set
 * (docs/dialects/etoken.md) over an apdu_transport, with token objects kept by
 * pkcs15_tok.c in a PKCS#15 application inside the applet's DF 6666.
 * drv_etoken.c: APDUs, status words, RSA, random, the operations table and the driver;
 * drv_etoken_fs.c: files and key objects for the PKCS#15 layer;
 * drv_etoken_pin.c: PINs, token info and C_InitToken. */
#ifndef P11_DRV_ETOKEN_H
#define P11_DRV_ETOKEN_H

#include "pkcs15_tok.h"
#include "token.h"
#include "transport.h"

extern const p11_card_driver p11_drv_etoken;

#define ET_USER_REF    0x01
#define ET_SO_REF      0x02
#define ET_PIN_MIN     6
#define ET_PIN_MAX     16
#define ET_TRIES_MAX   15
#define ET_KEY_REF_MAX 0x10   /* key references 01..10 */
#define ET_APP_FID     0x6666 /* the PRO applet's DF: our PKCS#15 application */
#define ET_LABEL       "eToken"

typedef struct et_token {
    apdu_transport *t;
    p11_p15_tok obj;  /* the token objects (PKCS#15 over the callbacks below) */
    uint64_t writes;  /* our own writes, for generation() */
    CK_USER_TYPE who; /* logged-in role; ET_NO_USER when none */
    bool logged_in;
    uint8_t serial[4];
    size_t serial_len;
    char label[33]; /* the label a new application gets (C_InitToken sets it) */
} et_token;

#define ET_NO_USER ((CK_USER_TYPE)-1)

/* Status words to CK_RV: the one mapping. */
CK_RV p11_et_sw_rv(uint16_t sw);
/* One command; transport failures become CKR_DEVICE_REMOVED / CKR_DEVICE_ERROR. */
CK_RV p11_et_cmd(et_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
                 size_t nc, size_t ne, unsigned flags, vt_buf *resp, uint16_t *sw);
/* The same, mapping any status word but 9000 through p11_et_sw_rv(). */
CK_RV p11_et_cmd_ok(et_token *k, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, size_t ne, unsigned flags, vt_buf *resp);

/* Files and keys (drv_etoken_fs.c). */
/* SELECT by path (from 3F00); *found false on 6A82; *size from the FCP (EFs). */
CK_RV p11_et_select(et_token *k, const p11_p15_path *p, bool *found, size_t *size);
/* The p11_p15_fs over this card. */
void p11_et_fs_bind(et_token *k);
extern const p11_p15_keys p11_et_keys;

/* PINs and info (drv_etoken_pin.c). */
void p11_et_set_login(et_token *k, bool logged_in, CK_USER_TYPE who);
/* The card serial (GET DATA 9F7F), once. */
void p11_et_read_serial(et_token *k);
CK_RV p11_et_op_get_info(p11_token *t, p11_token_info *info);
CK_RV p11_et_op_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len);
CK_RV p11_et_op_logout(p11_token *t);
CK_RV p11_et_op_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                        const uint8_t *new_pin, size_t new_len);
CK_RV p11_et_op_init_pin(p11_token *t, const uint8_t *pin, size_t len);
CK_RV p11_et_op_init_token(p11_token *t, const uint8_t *so_pin, size_t len, const char *label);

#endif
