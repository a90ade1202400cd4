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
    KS_ERR_IO,          /* read/write/fsync/rename failed; errno is preserved in ks_errno */
    KS_ERR_NOT_FOUND,   /* file does not exist */
    KS_ERR_ACCESS,      /* permission denied / read-only file or directory */
    KS_ERR_LOCKED,      /* lock not available (non-blocking attempt) */
    KS_ERR_CORRUPT,     /* bytes are not a valid image / PKCS#12 (the file is left alone) */
    KS_ERR_VERSION,     /* image written by a newer vtoken */
    KS_ERR_BAD_PASSWORD,/* PKCS#12 MAC or decryption failed under this password */
    KS_ERR_POLICY,      /* new password breaks the password rule */
    KS_ERR_UNSUPPORTED, /* algorithm or structure we do not handle */
    KS_ERR_FAULT,       /* an injected fault fired (tests, `vtoken fault`) */
} ks_status;

const char *ks_strerror(ks_status st);

/* Replace path with data atomically: write "<path>.tmp.<pid>.<n>" in the same
 * directory with the given mode, fsync it, rename over path, fsync the directory.
 * On any failure the old file is untouched and the temp file removed. */
ks_status ks_atomic_write(const char *path, const uint8_t *data, size_t len, unsigned mode);

/* Read a whole file (at most max bytes) into out. */
ks_status ks_read_file(const char *path, size_t max, vt_buf *out);

/* Create a directory and its parents with the given mode (like mkdir -p). */
ks_status ks_mkdirs(const char *path, unsigned mode);

/* Fault hook for crash-consistency tests: when set, ks_atomic_write() calls it at
 * each step ("write", "fsync", "rename", "dirsync") and fails with KS_ERR_FAULT
 * (leaving what a crash at that point would leave) when it returns true. */
typedef bool (*ks_fault_fn)(void *arg, const char *step);
void ks_set_fault_hook(ks_fault_fn fn, void *arg);

#endif
