/* keystore internals shared between its own files: errno mapping and the stat-returning
 * forms of the file helpers that image files and PKCS#12 files use to notice changes.
 * Not part of the public API. */
#ifndef KS_INTERNAL_H
#define KS_INTERNAL_H

#include <sys/stat.h>

#include "image.h"
#include "ks.h"

/* ENOENT -> NOT_FOUND, EACCES/EPERM/EROFS -> ACCESS, ENOMEM -> NOMEM, else IO. */
ks_status ks_from_errno(int err);

/* ks_read_file() that also returns the fstat() of the descriptor it read from, so the
 * identity matches the bytes exactly. st may be NULL. */
ks_status ks_read_file_stat(const char *path, size_t max, vt_buf *out, struct stat *st);

/* ks_atomic_write() that also returns the fstat() of the new file (taken before the
 * rename; rename keeps inode, size and mtime). st may be NULL. */
ks_status ks_atomic_write_stat(const char *path, const uint8_t *data, size_t len, unsigned mode,
                               struct stat *st);

/* ks_atomic_create() with the stat of the new file, as above. */
ks_status ks_atomic_create_stat(const char *path, const uint8_t *data, size_t len, unsigned mode,
                                struct stat *st);

/* Same file identity (device, inode, size, mtime in nanoseconds)? */
bool ks_stat_same(const struct stat *a, const struct stat *b);

/* Returns true when the test fault hook asks step to fail. */
bool ks_fault_fires(const char *step);

/* Free the cached card-image schema (it is rebuilt on next use). Runs by itself when
 * the library is unloaded; tests call it to prove a later use still works. */
void ks_image_defs_release(void);

/* ks_image_decode() that also says why it refused the bytes (empty on success). */
ks_status ks_image_decode_why(const uint8_t *der, size_t len, ks_image *img, char *why,
                              size_t cap);

#endif
