/* Card images: the persistent memory of one virtual card, as versioned DER
 * (schema: keystore/image.asn, read with libtasn1), stored in one file that is
 * replaced atomically and locked with flock per card transaction.
 *
 * The keystore does not interpret nodes: applet-sim decides what a path, a type,
 * the attribute bytes and the body mean. Bodies of secret nodes (PINs, private
 * keys) are wiped when the image is freed. */
#ifndef KS_IMAGE_H
#define KS_IMAGE_H

#include "ks.h"

#define KS_IMAGE_VERSION 1
#define KS_IMAGE_MAX_SIZE ((size_t)4 * 1024 * 1024) /* refuse to load anything larger */

typedef struct ks_node {
    uint8_t path[16];    /* file identifiers from the MF, 2 bytes each: 3F00 5000 5031 */
    size_t path_len;
    uint32_t type;       /* applet-sim's node type (DF, EF, PIN, key, ...) */
    bool secret;         /* body holds a PIN or key: wipe on free, never printed */
    uint8_t *attrs;      /* dialect attributes as stored (FCP, ACL, proprietary) */
    size_t attrs_len;
    int32_t counter;     /* e.g. tries left; -1 when unused */
    int32_t counter_max; /* e.g. tries allowed; -1 when unused */
    uint8_t *body;
    size_t body_len;
} ks_node;

typedef struct ks_image {
    uint32_t version;        /* KS_IMAGE_VERSION when encoded by us */
    char profile[32];        /* personality: "kaztoken", "etoken", "jacarta" */
    uint8_t serial[16];
    size_t serial_len;
    char label[64];
    uint64_t generation;     /* incremented by every save */
    uint32_t lifecycle;      /* applet-sim's card life cycle state */
    ks_node *nodes;
    size_t nnodes;
} ks_image;

void ks_image_init(ks_image *img);
void ks_image_free(ks_image *img); /* wipes secret bodies */
/* Append a copy of node (attrs/body duplicated). */
ks_status ks_image_add(ks_image *img, const ks_node *node);
/* Deep copy. */
ks_status ks_image_copy(ks_image *dst, const ks_image *src);

/* Append the DER of img to der. Always writes format version KS_IMAGE_VERSION.
 * KS_ERR_ARGS when a field is out of range (unterminated profile/label, path_len or
 * serial_len too long, counter < -1, more than KS_IMAGE_MAX_SIZE in total). */
ks_status ks_image_encode(const ks_image *img, vt_buf *der);
/* Strict: unknown versions, trailing bytes, out-of-range fields are KS_ERR_CORRUPT
 * or KS_ERR_VERSION. On error *img is left empty. *img is overwritten without being
 * freed first: pass an empty (initialised or freed) image. The bytes must be the
 * canonical DER our encoder writes; version 1 refuses the extension fields. */
ks_status ks_image_decode(const uint8_t *der, size_t len, ks_image *img);

/* An image file with its lock. The lock is a separate "<path>.lock" file so that
 * atomic renames of the image do not drop it. A handle is used by one thread at a
 * time; separate handles (even in one process) exclude each other through the lock.
 * Opening touches nothing on disk; the lock file is created on the first lock. */
typedef struct ks_image_file ks_image_file;

ks_status ks_image_file_open(const char *path, ks_image_file **out);
void ks_image_file_close(ks_image_file *f);
const char *ks_image_file_path(const ks_image_file *f);

/* Take/release the per-card-transaction lock (flock on the lock file). lock blocks;
 * trylock returns KS_ERR_LOCKED at once when another handle holds a conflicting lock.
 * Locking again with the other mode converts the lock (not atomically, as flock). */
ks_status ks_image_file_lock(ks_image_file *f, bool exclusive);
ks_status ks_image_file_trylock(ks_image_file *f, bool exclusive);
ks_status ks_image_file_unlock(ks_image_file *f);

/* Has the image on disk changed since this handle last loaded or saved it?
 * (inode, size, mtime with nanoseconds.) Cheap: one stat(). True before the first
 * load; after a load that found no file, true once a file appears. */
bool ks_image_file_changed(ks_image_file *f);

/* Load and decode into img (overwritten without being freed; left empty on error).
 * KS_ERR_NOT_FOUND when the file does not exist; KS_ERR_CORRUPT (or KS_ERR_VERSION
 * for a newer format) with a message in ks_image_file_error() when it exists but
 * cannot be read as an image, in which case the file is never overwritten by
 * ks_image_file_save() unless force is set. */
ks_status ks_image_file_load(ks_image_file *f, ks_image *img);
/* Encode (bumping img->generation) and replace the file atomically with mode 0600.
 * The caller holds the exclusive lock (then temp files left by a crashed writer,
 * "<path>.tmp.*", are removed after the save). After a refused load, returns that load's
 * status (KS_ERR_CORRUPT/KS_ERR_VERSION) without writing unless force is set. On
 * failure img->generation is restored and the file is unchanged. */
ks_status ks_image_file_save(ks_image_file *f, ks_image *img, bool force);
/* The last error message ("" when the last load/save succeeded). */
const char *ks_image_file_error(const ks_image_file *f);

#endif
