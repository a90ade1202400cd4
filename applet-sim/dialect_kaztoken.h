/* Shared between the two files of the Kaztoken dialect (the Rutoken ECP command set as
 * OpenSC's rutoken_ecp driver speaks it): attribute layouts, access-condition checks and
 * key-file lookups. See docs/dialects/kaztoken.md. */
#ifndef SIM_DIALECT_KAZTOKEN_H
#define SIM_DIALECT_KAZTOKEN_H

#include "dialect.h"

/* FCP tag 86 holds 15 bytes: an access-mode byte whose bit i says that byte 1 + i is an
 * access condition, then the conditions. A condition is 00 (always), FF (never) or a
 * mask of PIN references (bit 0 = PIN 1, bit 1 = PIN 2): any one of them verified. */
#define KZ_SEC_LEN          15
#define KZ_AM_READ          0 /* EF: READ BINARY / DF: create DF or EF / PIN: unblock */
#define KZ_AM_CREATE        0
#define KZ_AM_PIN_UNBLOCK   0
#define KZ_AM_UPDATE        1 /* EF: UPDATE BINARY, key body / DF: create key or PIN object */
#define KZ_AM_CREATE_OBJECT 1
#define KZ_AM_PIN_CHANGE    1
#define KZ_AM_USE           2 /* key: PSO / MF: create PIN objects ("put data") */
#define KZ_AM_PUT_DATA      2
#define KZ_AM_DELETE        6

/* File descriptor bytes (FCP tag 82, first byte). */
#define KZ_FDB_EF     0x01u
#define KZ_FDB_OBJECT 0x10u /* PIN or key object; its kind is the first byte of tag 85 */
#define KZ_FDB_DF     0x38u

/* First byte of tag 85 for objects. */
#define KZ_PROP_PIN       0x01u /* global CHV: 01 min-length flags tries(max|left) 00 00 */
#define KZ_PROP_GOST_PRIV 0x03u
#define KZ_PROP_GOST_PUB  0x13u
#define KZ_PROP_RSA_PRIV  0x23u
#define KZ_PROP_RSA_PUB   0x33u

/* System DFs of a formatted card: 3F00/1000/1000/600x. */
#define KZ_FID_SYS    0x1000u
#define KZ_FID_SYSKEY 0x1000u
#define KZ_FID_PUKEY  0x6001u
#define KZ_FID_PRKEY  0x6002u

#define KZ_MAX_PIN  32u
#define KZ_MAX_PROP 16u /* bytes of tag 85 we keep (OpenSC writes 6) */

/* attrs of a new node: 80 size, 82 descriptor, 83 FID, 85 proprietary (when given),
 * 86 security attributes. */
bool kz_build_attrs(vt_buf *a, size_t size, const uint8_t fdb[2], uint16_t fid, const uint8_t *prop,
                    size_t prop_len, const uint8_t sec[KZ_SEC_LEN]);
/* The factory state of a fresh card (dialect_kaztoken_format.c). */
sim_status kz_format_card(ks_image *img, const sim_profile *p);

/* May this connection do operation am_bit on node n? Always in the initialisation
 * phase; otherwise as the node's tag 86 says (no condition: allowed). */
bool kz_ac_allows(const sim_ctx *ctx, const ks_node *n, int am_bit);
/* FCP template (62) of node n into ctx->resp. */
uint16_t kz_put_fcp(sim_ctx *ctx, const ks_node *n);
/* The key EFs of key reference ref, or -1. */
long kz_find_key(const ks_image *img, uint16_t dir_fid, uint8_t ref);
/* Half the modulus length (L) that a private (5L+8 bytes) or public (3L bytes) key EF of
 * this declared size holds, or 0 for an unsupported size. */
size_t kz_key_half(const ks_node *n);
/* The tag 85 byte i of node n, or 0. */
uint8_t kz_prop(const ks_node *n, size_t i);

uint16_t kz_verify(sim_ctx *ctx);
uint16_t kz_change_reference_data(sim_ctx *ctx);
uint16_t kz_reset_retry_counter(sim_ctx *ctx);
uint16_t kz_logout(sim_ctx *ctx);
uint16_t kz_mse(sim_ctx *ctx);
uint16_t kz_pso(sim_ctx *ctx);
uint16_t kz_generate(sim_ctx *ctx);

#endif
