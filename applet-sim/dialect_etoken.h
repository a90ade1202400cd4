/* Shared between the files of the eToken PRO (Java) dialect: the PRO applet's AID, file
 * identifiers of the factory tree, FCP layouts, access-condition checks and key-object
 * lookups. The command set is documented in docs/dialects/etoken.md. */
#ifndef SIM_DIALECT_ETOKEN_H
#define SIM_DIALECT_ETOKEN_H

#include "dialect.h"

/* The PRO applet (public: a third-party tool selects it on a real eToken PRO Java). */
#define ET_AID_LEN 7
extern const uint8_t et_aid[ET_AID_LEN];

/* Factory tree: MF / 6666 (the applet's DF) / 5000, both public paths. Key objects are
 * internal EFs 6666/10kk for key references kk = 01..10 (ours: 16 keys, as the 16
 * containers CC00..CC0F a real token carries). The applet's own code and data is one
 * system EF FFFF below the MF that nothing can select (ours: FFFF is reserved by ISO). */
#define ET_FID_APPLET  0x6666u
#define ET_FID_DATA    0x5000u
#define ET_FID_SYSTEM  0xFFFFu
#define ET_KEY_FID(kk) ((uint16_t)(0x1000u | (kk)))
#define ET_KEY_MIN     0x01u
#define ET_KEY_MAX     0x10u

/* File descriptor bytes (FCP tag 82), ISO/IEC 7816-4. */
#define ET_FDB_EF  0x01u /* working EF, transparent */
#define ET_FDB_KEY 0x09u /* internal EF, transparent: a key object */
#define ET_FDB_DF  0x38u

/* Access modes, ISO/IEC 7816-4 compact format (FCP tag 8C: AM byte, then one SC byte
 * per set AM bit from b7 down to b1). */
#define ET_AM_EF_READ      0x01u
#define ET_AM_EF_UPDATE    0x02u
#define ET_AM_DF_CREATE_EF 0x02u
#define ET_AM_DF_CREATE_DF 0x04u
#define ET_AM_DELETE       0x40u /* EF or DF: DELETE FILE of the file itself */

/* SC bytes (ours): 00 always, FF never, else a mask of PIN references: 01 the user PIN,
 * 02 the SO PIN, 03 either. */
#define ET_SC_ALWAYS 0x00u
#define ET_SC_USER   0x01u
#define ET_SC_SO     0x02u
#define ET_SC_EITHER 0x03u
#define ET_SC_NEVER  0xFFu

#define ET_MAX_EF_SIZE 0x7FFFu
#define ET_MAX_PIN     16u

/* attrs of a node: [80 02 size] 82 01 fdb 83 02 fid [85 n prop] [8C n compact]. */
bool et_build_attrs(vt_buf *a, bool has_size, size_t size, uint8_t fdb, uint16_t fid,
                    const uint8_t *prop, size_t prop_len, const uint8_t *sec, size_t sec_len);
/* The factory card (dialect_etoken_format.c). */
sim_status et_format_card(ks_image *img, const sim_profile *p);

/* May this connection do access mode am on node n (tag 8C)? An AM bit the node does not
 * carry, or a node without 8C, is "never". */
bool et_ac_allows(const sim_ctx *ctx, const ks_node *n, uint8_t am);
/* Is sc a valid SC byte? */
bool et_sc_valid(uint8_t sc);
/* The node's file descriptor byte (tag 82), or 0. */
uint8_t et_fdb(const ks_node *n);
/* Path of key kk's object, and its node index (-1 when absent). */
void et_key_path(uint8_t kk, sim_path *p);
long et_find_key(const ks_image *img, uint8_t kk);
/* Modulus length in bytes of a key node with a body, or 0. */
size_t et_key_bytes(const ks_node *n);
/* Store der as key kk (creating or replacing the key object), checking memory. */
uint16_t et_put_key(sim_ctx *ctx, uint8_t kk, const vt_buf *der);
/* Card memory free for objects. */
size_t et_free_memory(const sim_ctx *ctx);

uint16_t et_verify(sim_ctx *ctx);
uint16_t et_change_reference_data(sim_ctx *ctx);
uint16_t et_reset_retry_counter(sim_ctx *ctx);
uint16_t et_mse(sim_ctx *ctx);
uint16_t et_pso(sim_ctx *ctx);
uint16_t et_generate(sim_ctx *ctx);

#endif
