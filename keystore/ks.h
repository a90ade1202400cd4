/* keystore: persistence that knows no card and no PKCS#11.
 * - status codes shared by the keystore modules;
 * - atomic file replacement (temp file, fsync, rename, fsync directory). */
#ifndef KS_KS_H
#define KS_KS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt_util.h"

typedef enum ks_status {
    KS_OK = 0,
    KS_ERR_ARGS,        /* NULL or impossible argument */
    KS_ERR_NOMEM,
    KS_ERR_IO,          /* read/write/fsync/rename failed; errno is left as the failing call set it */
    KS_ERR_NOT_FOUND,   /* file does not exist */
    KS_ERR_ACCESS,      /* permission denied / read-only file or directory */
    KS_ERR_LOCKED,      /* lock not available (non-blocking attempt) */
    KS_ERR_CORRUPT,     /* bytes are not a valid image / PKCS#12 (the file is left alone) */
    KS_ERR_VERSION,     /* image written by a newer vtoken */
    KS_ERR_BAD_PASSWORD,/* PKCS#12 MAC or decryption failed under this password */
    KS_ERR_POLICY,      /* new password breaks the password rule */
    KS_ERR_UNSUPPORTED, /* algorithm or structure we do not handle */
    KS_ERR_FAULT,       /* an injected fault fired (tests, `vtoken fault`) */
    KS_ERR_EXISTS,      /* refusing to replace a file that already exists */
    KS_ERR_STALE,       /* the file changed on disk since this handle read it: reopen */
} ks_status;

const char *ks_strerror(ks_status st);

/* mode for ks_atomic_write(): keep the permissions of the file being replaced
 * (0600 when it does not exist yet). */
#define KS_MODE_KEEP 0xffffffffu

/* Replace path with data atomically: write "<path>.tmp.<pid>.<n>" in the same
 * directory with the given mode (set exactly, whatever the umask), fsync it, rename
 * over path, fsync the directory. On any failure the old file is untouched and the
 * temp file removed. Symbolic links at path are replaced, not followed. */
ks_status ks_atomic_write(const char *path, const uint8_t *data, size_t len, unsigned mode);

/* ks_atomic_write() for a file that must not exist yet: KS_ERR_EXISTS (and nothing
 * written) when path exists, decided atomically at the final rename. */
ks_status ks_atomic_create(const char *path, const uint8_t *data, size_t len, unsigned mode);

/* Read a whole regular file (at most max bytes) into out (appended). A larger file is
 * KS_ERR_CORRUPT (errno EFBIG); a directory or device is KS_ERR_IO. */
ks_status ks_read_file(const char *path, size_t max, vt_buf *out);

/* Create a directory and its parents with the given mode (like mkdir -p). An existing
 * directory is fine; an existing non-directory is KS_ERR_IO (errno ENOTDIR). */
ks_status ks_mkdirs(const char *path, unsigned mode);

/* Fault hook for crash-consistency tests: when set, ks_atomic_write() calls it at
 * each step ("write", "fsync", "rename", "dirsync") and fails with KS_ERR_FAULT
 * (leaving what a crash at that point would leave) when it returns true. */
typedef bool (*ks_fault_fn)(void *arg, const char *step);
void ks_set_fault_hook(ks_fault_fn fn, void *arg);

#endif
