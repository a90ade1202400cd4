/* Scratch-directory and file helpers shared by the keystore test suites. */
#include "ks_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *kt_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *t = kt_path(base != NULL && *base ? base : "/tmp", "vtoken-ks-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

void kt_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    chmod(dir, 0700);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = kt_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            kt_rmtree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *kt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

bool kt_slurp(const char *path, vt_buf *buf)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    vt_buf_clear(buf);
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vt_buf_append(buf, chunk, n);
    bool ok = !ferror(f) && !buf->oom;
    fclose(f);
    return ok;
}

bool kt_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

size_t kt_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

const char *kt_nca_dir(void)
{
    static char dir[4096];
    const char *env = getenv("VT_SHARED_VECTORS_DIR");
    snprintf(dir, sizeof(dir), "%s/nca", env != NULL && *env ? env : VT_SHARED_VECTORS_DIR);
    return dir;
}

char *kt_copy_nca(const char *dir, const char *name)
{
    char *src = kt_path(kt_nca_dir(), name);
    char *dst = kt_path(dir, name);
    vt_buf b = {0};
    ck_assert_msg(kt_slurp(src, &b), "cannot read %s", src);
    ck_assert(kt_write(dst, b.data, b.len));
    ck_assert_int_eq(chmod(dst, 0600), 0);
    vt_buf_free(&b);
    free(src);
    return dst;
}
