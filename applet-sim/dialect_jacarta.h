/* Shared between the files of the JaCarta dialect (the Laser PKI applet as OpenSC's
 * jacartapki driver, PR #3423, speaks it): file descriptors, access-rule layouts, KO
 * properties, the FCP and the access checks. See docs/dialects/jacarta.md. */
#ifndef SIM_DIALECT_JACARTA_H
#define SIM_DIALECT_JACARTA_H

#include "dialect.h"

/* File descriptor bytes: CREATE FILE P1, FCP tags 82 and 87. */
#define JC_FDB_EF 0x01u /* transparent working EF */
#define JC_FDB_KO 0x08u /* key object (internal EF): a PIN or an RSA key */
#define JC_FDB_DF 0x38u

/* Access rules (FCP tag 86): two bytes per operation, in this order per file kind. A
 * rule is 00 00 (always), 00 FF (never), 00 rr (PIN rr verified; rr = 30: the SO or
 * the user PIN), or hh ll with hh != 0 (secure messaging: not emulated, never met). */
enum {
    JC_DF_CREATE,
    JC_DF_CREATE_DF,
    JC_DF_ADMIN,
    JC_DF_DELETE,
    JC_DF_ACTIVATE,
    JC_DF_DEACTIVATE,
    JC_DF_OPS
};
enum { JC_EF_READ, JC_EF_WRITE, JC_EF_ADMIN, JC_EF_DELETE, JC_EF_OPS };
enum {
    JC_KO_READ,
    JC_KO_UPDATE,
    JC_KO_ADMIN,
    JC_KO_DELETE,
    JC_KO_GENERATE,
    JC_KO_PIN_RESET,
    JC_KO_CRYPTO,
    JC_KO_OPS
};

#define JC_AC_ALWAYS      0x0000u
#define JC_AC_NEVER       0x00FFu
#define JC_REF_SO_OR_USER 0x30u /* the profile's logical-expression KO 0030 */

/* KO proprietary attributes (FCP tag A5): class, usage, algorithm, padding, then for a
 * PIN: tries (max << 4 | max), min length, max length, character rules... */
#define JC_KO_PROP_MIN      5u
#define JC_KO_PROP_MAX      16u
#define JC_KO_CLASS_RSA_CRT 0x05u
#define JC_KO_ALGO_PIN      0x00u
#define JC_KO_ALGO_RSA      0x20u
#define JC_PIN_MAX          16u /* the applet's PIN length limit */

/* KO content tags inside CREATE FILE and CHANGE REFERENCE DATA. */
#define JC_TAG_PIN_VALUE 0x81u
#define JC_TAG_RSA_KO    0x71u /* 90 e, 91 n (public part); empty for a private KO */
#define JC_TAG_RSA_KEY   0x62u /* 90 e, 91 n, 92 d, 93 p||q, 94 dp||dq||qinv */

/* GENERATE algorithm identifiers (the PIV numbers the driver uses). */
#define JC_ALGO_RSA1024 0x06u
#define JC_ALGO_RSA2048 0x07u
#define JC_ALGO_RSA4096 0x08u

/* Files of a factory card. */
#define JC_FID_APP       0x3000u /* Laser application DF "ASEPKCS" */
#define JC_FID_PUBLIC    0x3001u
#define JC_FID_PRIVATE   0x3002u
#define JC_FID_TOKENINFO 0xC000u
#define JC_TOKENINFO_LEN 161u /* the 160-byte record and one byte the profile adds */

extern const uint8_t jc_laser_aid[12];

/* attrs of a node: 83 FID, 80 size, 82 and 87 descriptor, [84 name], [A5 prop], 86 rules. */
bool jc_build_attrs(vt_buf *a, uint16_t fid, size_t size, uint8_t fdb, const void *name,
                    size_t name_len, const uint8_t *prop, size_t prop_len, const uint8_t *ac,
                    size_t ac_len);
/* The number of access rules nodes of this kind carry (DF, EF, KO or PIN). */
size_t jc_ops_of(const ks_node *n);
/* May this connection do operation op on node n (as its tag 86 says)? */
bool jc_ac_allows(const sim_ctx *ctx, const ks_node *n, size_t op);
/* Tag A5 byte i of node n, or 0. */
uint8_t jc_prop(const ks_node *n, size_t i);
/* The factory state of a fresh card (dialect_jacarta_format.c). */
sim_status jc_format_card(ks_image *img, const sim_profile *p);
/* The 160-byte TokenInfo record (+1) of a factory card. */
void jc_tokeninfo(const ks_image *img, const sim_profile *p, uint8_t out[JC_TOKENINFO_LEN]);

/* The PIN object P2 names (00: the selected one; else a global reference), or -1 with
 * the status word in *sw. */
long jc_pin_target(sim_ctx *ctx, uint8_t p2, uint16_t *sw);

uint16_t jc_verify(sim_ctx *ctx);
uint16_t jc_logout(sim_ctx *ctx);
uint16_t jc_change_reference_data(sim_ctx *ctx);
uint16_t jc_reset_retry_counter(sim_ctx *ctx);
uint16_t jc_generate(sim_ctx *ctx);
uint16_t jc_pso(sim_ctx *ctx);
/* A PIN object from CREATE FILE (dialect_jacarta_sec.c); the current DF is the MF. */
uint16_t jc_create_pin(sim_ctx *ctx, uint16_t fid, const uint8_t *prop, size_t prop_len,
                       const uint8_t *ac, size_t ac_len, const uint8_t *content,
                       size_t content_len);

#endif
