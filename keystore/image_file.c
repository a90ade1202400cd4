/* Image files: load/save one card image with its "<path>.lock" flock, notice saves by
 * other processes with one stat(), and never overwrite an image we could not read
 * (unless forced), so a damaged card stays on disk for inspection. A handle inherited
 * across fork() locks through a lock file descriptor of the child's own. */
#include "ks_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef enum seen_state { SEEN_NOTHING, SEEN_ABSENT, SEEN_FILE } seen_state;

struct ks_image_file {
    char *path;
    char *lock_path;
    int lock_fd;    /* opened on first lock, kept until close */
    pid_t lock_pid; /* the process that opened lock_fd */
    bool exclusive; /* this handle holds the exclusive lock */
    seen_state seen;
    struct stat seen_st; /* identity of what we last loaded or saved */
    ks_status damage;    /* KS_OK, or why the file on disk must not be overwritten */
    char error[512];
};

ks_status ks_image_file_open(const char *path, ks_image_file **out)
{
    if (path == NULL || *path == '\0' || out == NULL)
        return KS_ERR_ARGS;
    *out = NULL;
    ks_image_file *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return KS_ERR_NOMEM;
    f->lock_fd = -1;
    f->path = strdup(path);
    if (f->path != NULL && asprintf(&f->lock_path, "%s.lock", path) < 0)
        f->lock_path = NULL;
    if (f->path == NULL || f->lock_path == NULL) {
        ks_image_file_close(f);
        return KS_ERR_NOMEM;
    }
    *out = f;
    return KS_OK;
}

void ks_image_file_close(ks_image_file *f)
{
    if (f == NULL)
        return;
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the flock */
    free(f->path);
    free(f->lock_path);
    free(f);
}

const char *ks_image_file_path(const ks_image_file *f)
{
    return f != NULL ? f->path : NULL;
}

const char *ks_image_file_error(const ks_image_file *f)
{
    return f != NULL ? f->error : "";
}

/* flock() locks belong to the open file description, which a forked child shares with
 * its parent: through the inherited descriptor the child would "take" a lock the parent
 * holds, and its unlock would release the parent's. So a child drops the inherited
 * descriptor unused (the parent's own descriptor keeps the parent's lock) and locks
 * through one it opens itself. */
static void forget_inherited_lock(ks_image_file *f)
{
    if (f->lock_fd >= 0 && f->lock_pid != getpid()) {
        close(f->lock_fd);
        f->lock_fd = -1;
        f->exclusive = false;
    }
}

static ks_status lock_op(ks_image_file *f, int op)
{
    if (f == NULL)
        return KS_ERR_ARGS;
    forget_inherited_lock(f);
    if (f->lock_fd < 0) {
        f->lock_fd = open(f->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        /* A read-only directory still allows locking an existing lock file. */
        if (f->lock_fd < 0 && (errno == EACCES || errno == EROFS))
            f->lock_fd = open(f->lock_path, O_RDONLY | O_CLOEXEC);
        if (f->lock_fd < 0) {
            ks_status rv = ks_from_errno(errno);
            snprintf(f->error, sizeof(f->error), "%s: cannot open lock file: %s", f->lock_path,
                     strerror(errno));
            return rv;
        }
        f->lock_pid = getpid();
    }
    while (flock(f->lock_fd, op) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return KS_ERR_LOCKED;
        return ks_from_errno(errno);
    }
    f->exclusive = (op & LOCK_EX) != 0;
    return KS_OK;
}

ks_status ks_image_file_lock(ks_image_file *f, bool exclusive)
{
    return lock_op(f, exclusive ? LOCK_EX : LOCK_SH);
}

ks_status ks_image_file_trylock(ks_image_file *f, bool exclusive)
{
    return lock_op(f, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
}

ks_status ks_image_file_unlock(ks_image_file *f)
{
    if (f == NULL)
        return KS_ERR_ARGS;
    forget_inherited_lock(f); /* a child never unlocks its parent's lock */
    if (f->lock_fd < 0)
        return KS_OK;
    while (flock(f->lock_fd, LOCK_UN) != 0) {
        if (errno != EINTR)
            return ks_from_errno(errno);
    }
    f->exclusive = false;
    return KS_OK;
}

bool ks_image_file_changed(ks_image_file *f)
{
    struct stat st;
    if (f == NULL)
        return true;
    bool exists = stat(f->path, &st) == 0;
    switch (f->seen) {
    case SEEN_ABSENT:
        return exists;
    case SEEN_FILE:
        return !exists || !ks_stat_same(&st, &f->seen_st);
    default:
        return true;
    }
}

ks_status ks_image_file_load(ks_image_file *f, ks_image *img)
{
    vt_buf buf = {0};
    struct stat st;
    char why[256];
    ks_status rv;

    if (img != NULL)
        ks_image_init(img);
    if (f == NULL || img == NULL)
        return KS_ERR_ARGS;
    f->error[0] = '\0';
    rv = ks_read_file_stat(f->path, KS_IMAGE_MAX_SIZE, &buf, &st);
    if (rv == KS_ERR_NOT_FOUND) {
        f->seen = SEEN_ABSENT;
        f->damage = KS_OK;
        snprintf(f->error, sizeof(f->error), "%s: no such card image", f->path);
        goto out;
    }
    if (rv == KS_ERR_CORRUPT) {
        snprintf(why, sizeof(why), "larger than the %zu-byte limit", KS_IMAGE_MAX_SIZE);
        /* The size is all we know, but it is enough to refuse overwriting it. */
        if (stat(f->path, &st) == 0) {
            f->seen = SEEN_FILE;
            f->seen_st = st;
        }
    } else if (rv != KS_OK) {
        snprintf(f->error, sizeof(f->error), "%s: cannot read: %s", f->path, strerror(errno));
        goto out;
    } else {
        f->seen = SEEN_FILE;
        f->seen_st = st;
        rv = ks_image_decode_why(buf.data, buf.len, img, why, sizeof(why));
    }
    if (rv == KS_ERR_CORRUPT || rv == KS_ERR_VERSION) {
        f->damage = rv;
        snprintf(f->error, sizeof(f->error),
                 "%s: %s card image (%s); it is left as it is and will not be overwritten", f->path,
                 rv == KS_ERR_VERSION ? "unreadable" : "damaged", why);
        goto out;
    }
    if (rv == KS_OK)
        f->damage = KS_OK;
out:
    vt_buf_free(&buf);
    return rv;
}

/* Remove "<name>.tmp.*" files that a crash left behind. Only called under the exclusive
 * lock: every writer of this image holds it while its temp file exists, so any temp file
 * seen now is an orphan. */
static void sweep_orphans(const ks_image_file *f)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(f->path, '/');
    const char *base = slash != NULL ? slash + 1 : f->path;
    size_t n = slash == NULL ? 1 : slash == f->path ? 1 : (size_t)(slash - f->path);
    if (n >= sizeof(dir))
        return;
    memcpy(dir, slash != NULL ? f->path : ".", n);
    dir[n] = '\0';
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, base, blen) != 0 || strncmp(e->d_name + blen, ".tmp.", 5) != 0)
            continue;
        (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

ks_status ks_image_file_save(ks_image_file *f, ks_image *img, bool force)
{
    vt_buf der = {0};
    struct stat st;
    ks_status rv;

    if (f == NULL || img == NULL)
        return KS_ERR_ARGS;
    if (f->damage != KS_OK && !force)
        return f->damage; /* the message from the load stays in f->error */
    uint64_t old_generation = img->generation;
    img->generation++;
    rv = ks_image_encode(img, &der);
    if (rv != KS_OK) {
        snprintf(f->error, sizeof(f->error), "%s: cannot encode image: %s", f->path,
                 ks_strerror(rv));
        goto out;
    }
    rv = ks_atomic_write_stat(f->path, der.data, der.len, 0600, &st);
    if (rv != KS_OK) {
        snprintf(f->error, sizeof(f->error), "%s: cannot save: %s", f->path,
                 rv == KS_ERR_FAULT ? "injected fault" : strerror(errno));
        goto out;
    }
    f->seen = SEEN_FILE;
    f->seen_st = st;
    f->damage = KS_OK;
    f->error[0] = '\0';
    if (f->exclusive && f->lock_pid == getpid())
        sweep_orphans(f);
out:
    if (rv != KS_OK)
        img->generation = old_generation;
    vt_buf_free(&der);
    return rv;
}
