/* Whole-file helpers: atomic replacement (temp file in the same directory, fsync,
 * rename, fsync the directory), bounded reads and mkdir -p. A crash at any point
 * leaves either the old file or the new one under the final name. */
#include "ks_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ks_status ks_from_errno(int err)
{
    switch (err) {
    case ENOENT:
        return KS_ERR_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return KS_ERR_ACCESS;
    case ENOMEM:
        return KS_ERR_NOMEM;
    default:
        return KS_ERR_IO;
    }
}

bool ks_stat_same(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static ks_status write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ks_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return KS_OK;
}

/* Directory part of path ("." when there is none), in a caller-provided buffer. */
static ks_status dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n;
    if (slash == NULL) {
        n = 1;
        path = ".";
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
    }
    if (n >= cap) {
        errno = ENAMETOOLONG;
        return KS_ERR_ARGS;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return KS_OK;
}

static ks_status sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ks_from_errno(errno);
    ks_status rv = KS_OK;
    /* Some file systems cannot sync directories (EINVAL); the rename is then as
     * durable as that file system makes it, which is all we can ask for. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rv = ks_from_errno(errno);
    int saved = errno;
    close(fd);
    errno = saved;
    return rv;
}

static unsigned mode_for(const char *path, unsigned mode)
{
    struct stat st;
    if (mode != KS_MODE_KEEP)
        return mode & 07777u;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        return (unsigned)st.st_mode & 0777u;
    return 0600u;
}

static atomic_uint tmp_counter;

/* Move tmp to path; with noreplace, fail with EEXIST when path exists (atomically). */
static int publish(const char *tmp, const char *path, bool noreplace)
{
    if (!noreplace)
        return rename(tmp, path);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* File systems without RENAME_NOREPLACE: link() also refuses an existing name. */
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return 0;
}

static ks_status atomic_write(const char *path, const uint8_t *data, size_t len, unsigned mode,
                              struct stat *st, bool noreplace)
{
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    int fd = -1;
    bool have_tmp = false;
    ks_status rv;
    int saved;

    if (path == NULL || *path == '\0' || (data == NULL && len > 0))
        return KS_ERR_ARGS;
    rv = dir_of(path, dir, sizeof(dir));
    if (rv != KS_OK)
        goto out;
    mode = mode_for(path, mode);

    for (int attempt = 0; fd < 0; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        int w = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(), n);
        if (w < 0 || (size_t)w >= sizeof(tmp)) {
            errno = ENAMETOOLONG;
            rv = KS_ERR_ARGS;
            goto out;
        }
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && (errno != EEXIST || attempt >= 16)) {
            rv = ks_from_errno(errno);
            goto out;
        }
    }
    have_tmp = true;
    /* Set the mode exactly: the umask must not decide who can read a key store. */
    if (fchmod(fd, (mode_t)mode) != 0) {
        rv = ks_from_errno(errno);
        goto out;
    }

    /* The "write" fault fires half-way, so a test sees a torn temp file cleaned up. */
    size_t half = len / 2;
    rv = write_all(fd, data, half);
    if (rv != KS_OK)
        goto out;
    if (ks_fault_fires("write")) {
        rv = KS_ERR_FAULT;
        goto out;
    }
    rv = write_all(fd, data + half, len - half);
    if (rv != KS_OK)
        goto out;

    if (ks_fault_fires("fsync")) {
        rv = KS_ERR_FAULT;
        goto out;
    }
    if (fsync(fd) != 0) {
        rv = ks_from_errno(errno);
        goto out;
    }
    if (st != NULL && fstat(fd, st) != 0) {
        rv = ks_from_errno(errno);
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        rv = ks_from_errno(errno);
        goto out;
    }
    fd = -1;

    if (ks_fault_fires("rename")) {
        rv = KS_ERR_FAULT;
        goto out;
    }
    if (publish(tmp, path, noreplace) != 0) {
        rv = errno == EEXIST ? KS_ERR_EXISTS : ks_from_errno(errno);
        goto out;
    }
    have_tmp = false;

    /* From here on the new file is in place; a failure only means it may not be durable. */
    if (ks_fault_fires("dirsync")) {
        rv = KS_ERR_FAULT;
        goto out;
    }
    rv = sync_dir(dir);

out:
    saved = errno;
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        unlink(tmp);
    errno = saved;
    return rv;
}

ks_status ks_atomic_write_stat(const char *path, const uint8_t *data, size_t len, unsigned mode,
                               struct stat *st)
{
    return atomic_write(path, data, len, mode, st, false);
}

ks_status ks_atomic_write(const char *path, const uint8_t *data, size_t len, unsigned mode)
{
    return atomic_write(path, data, len, mode, NULL, false);
}

ks_status ks_atomic_create_stat(const char *path, const uint8_t *data, size_t len, unsigned mode,
                                struct stat *st)
{
    return atomic_write(path, data, len, mode, st, true);
}

ks_status ks_atomic_create(const char *path, const uint8_t *data, size_t len, unsigned mode)
{
    return atomic_write(path, data, len, mode, NULL, true);
}

ks_status ks_read_file_stat(const char *path, size_t max, vt_buf *out, struct stat *st)
{
    struct stat local;
    ks_status rv = KS_OK;
    size_t start;
    int saved;
    int fd;

    if (path == NULL || out == NULL)
        return KS_ERR_ARGS;
    if (st == NULL)
        st = &local;
    start = out->len;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ks_from_errno(errno);
    if (fstat(fd, st) != 0) {
        rv = ks_from_errno(errno);
        goto out;
    }
    if (!S_ISREG(st->st_mode)) {
        errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
        rv = KS_ERR_IO;
        goto out;
    }
    if ((uintmax_t)st->st_size > max) {
        errno = EFBIG;
        rv = KS_ERR_CORRUPT;
        goto out;
    }
    if (!vt_buf_reserve(out, (size_t)st->st_size + 1)) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    /* Read to EOF rather than trusting st_size: the file may be growing under us. */
    for (;;) {
        uint8_t chunk[4096];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rv = ks_from_errno(errno);
            break;
        }
        if (n == 0)
            break;
        if (out->len - start + (size_t)n > max) {
            vt_wipe(chunk, sizeof(chunk));
            errno = EFBIG;
            rv = KS_ERR_CORRUPT;
            break;
        }
        bool ok = vt_buf_append(out, chunk, (size_t)n);
        vt_wipe(chunk, (size_t)n);
        if (!ok) {
            rv = KS_ERR_NOMEM;
            break;
        }
    }
out:
    saved = errno;
    if (rv != KS_OK && out->len > start) {
        vt_wipe(out->data + start, out->len - start);
        out->len = start;
    }
    close(fd);
    errno = saved;
    return rv;
}

ks_status ks_read_file(const char *path, size_t max, vt_buf *out)
{
    return ks_read_file_stat(path, max, out, NULL);
}

static ks_status mkdir_one(const char *path, unsigned mode)
{
    struct stat st;
    if (mkdir(path, (mode_t)mode) == 0)
        return KS_OK;
    if (errno != EEXIST)
        return ks_from_errno(errno);
    if (stat(path, &st) != 0)
        return ks_from_errno(errno);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return KS_ERR_IO;
    }
    return KS_OK;
}

ks_status ks_mkdirs(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    size_t n;
    ks_status rv;

    if (path == NULL || *path == '\0')
        return KS_ERR_ARGS;
    n = strlen(path);
    if (n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return KS_ERR_ARGS;
    }
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        rv = mkdir_one(buf, mode);
        *p = '/';
        if (rv != KS_OK)
            return rv;
    }
    return mkdir_one(buf, mode);
}
