/* The ISO/IEC 7816-4 file system over the card image: paths, node lookup and editing,
 * FCP attributes, capacity accounting and each connection's current DF / EF. Access
 * conditions and FCP formats are the dialect's; this file only stores and finds. */
#ifndef SIM_FS_H
#define SIM_FS_H

#include "sim_int.h"

#define SIM_FID_MF        0x3F00u
#define SIM_NODE_OVERHEAD 32u /* bytes of card memory every node costs besides its data */

/* Kinds for lookups: file namespace (selectable) and PIN namespace. */
#define SIM_KIND_FILE 0x01u /* DF, EF, key EFs */
#define SIM_KIND_PIN  0x02u

/* ---- paths ---------------------------------------------------------------------- */

void sim_path_set(sim_path *p, const uint8_t *bytes, size_t len);
void sim_path_mf(sim_path *p);
bool sim_path_eq(const sim_path *a, const sim_path *b);
/* Append a FID; false when the path is full. */
bool sim_path_append(sim_path *p, uint16_t fid);
/* Drop the last FID; false at the MF or an empty path. */
bool sim_path_up(sim_path *p);
uint16_t sim_path_last(const sim_path *p);
/* p is anc or lies below it. */
bool sim_path_within(const sim_path *p, const sim_path *anc);
void sim_path_of(const ks_node *n, sim_path *out);

/* ---- nodes ---------------------------------------------------------------------- */

bool sim_node_is_file(const ks_node *n);
/* Index of the node at p among kinds, or -1. */
long sim_img_find(const ks_image *img, const sim_path *p, unsigned kinds);
/* Append a node (copied). */
sim_status sim_img_add(ks_image *img, const ks_node *n);
/* Replace the body of node idx (copied; the old one wiped when secret). */
sim_status sim_img_set_body(ks_image *img, size_t idx, const uint8_t *body, size_t len);
/* Remove the file at p and, when it is a DF, everything below it. */
sim_status sim_img_remove_tree(ks_image *img, const sim_path *p);
/* Remove node idx alone (a PIN object, say). */
sim_status sim_img_remove(ks_image *img, size_t idx);
/* Remove every node. */
void sim_img_clear(ks_image *img);

/* Value of the FCP data object tag in a node's attrs (one level of BER-TLV). */
bool sim_attr_get(const ks_node *n, uint8_t tag, const uint8_t **v, size_t *len);
/* Declared size (FCP tag 80), or the body length when there is no tag 80. */
size_t sim_node_size(const ks_node *n);
/* Card memory in use: every node's overhead plus its declared size. */
size_t sim_img_used(const ks_image *img);
/* Card memory one more node of size bytes would take. */
size_t sim_node_cost(size_t size);

/* ---- selection ------------------------------------------------------------------ */

/* Bring a connection's current DF / EF in line with the image (another connection or
 * process may have deleted them): a vanished DF falls back to the MF, a vanished EF to
 * none. Called before every command. */
void sim_fs_revalidate(sim_conn *conn, const ks_image *img);
long sim_fs_cur_df(const sim_ctx *ctx);
/* The current EF: a file, or a PIN object where the dialect selects PINs as files. */
long sim_fs_cur_ef(const sim_ctx *ctx);
/* Make node idx current: a DF becomes the current DF, an EF the current EF (and its
 * parent the current DF). */
void sim_fs_make_current(sim_ctx *ctx, long idx);

/* ---- transparent EF contents ------------------------------------------------------ */

/* READ BINARY's answer from EF idx at off (the dialect found the EF and checked its
 * access): up to Ne bytes into ctx->resp. Fewer left than Ne asked for: warn_eof says
 * whether the card answers 6282 (end of file reached) or 9000. */
uint16_t sim_fs_read_at(sim_ctx *ctx, long idx, size_t off, bool warn_eof);
/* UPDATE BINARY: the command data written at off in EF idx, which it must fit. */
uint16_t sim_fs_update_at(sim_ctx *ctx, long idx, size_t off);

#endif
