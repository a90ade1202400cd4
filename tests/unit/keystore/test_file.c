/* File helpers: atomic replacement (incl. a fault injected at every step and a real
 * crash at every step), bounded reads and mkdir -p. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ks.h"
#include "ks_test.h"

static const char *const steps[] = {"write", "fsync", "rename", "dirsync"};

static bool fire_at(void *arg, const char *step)
{
    return strcmp((const char *)arg, step) == 0;
}

static bool crash_at(void *arg, const char *step)
{
    if (strcmp((const char *)arg, step) == 0)
        _exit(0);
    return false;
}

static void assert_content(const char *path, const char *want)
{
    vt_buf b = {0};
    ck_assert_msg(kt_slurp(path, &b), "cannot read %s", path);
    ck_assert_uint_eq(b.len, strlen(want));
    if (b.len > 0)
        ck_assert_mem_eq(b.data, want, b.len);
    vt_buf_free(&b);
}

START_TEST(atomic_write_replaces_and_sets_mode)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "f");
    mode_t old = umask(0077);
    ck_assert_int_eq(ks_atomic_write(path, (const uint8_t *)"one", 3, 0644), KS_OK);
    umask(old);
    assert_content(path, "one");
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0644);

    ck_assert_int_eq(ks_atomic_write(path, (const uint8_t *)"second", 6, 0600), KS_OK);
    assert_content(path, "second");
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);

    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(ks_atomic_write(path, NULL, 0, KS_MODE_KEEP), KS_OK);
    assert_content(path, "");
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0640);
    ck_assert_uint_eq(kt_count_entries(dir), 1);

    char *fresh = kt_path(dir, "new");
    ck_assert_int_eq(ks_atomic_write(fresh, (const uint8_t *)"x", 1, KS_MODE_KEEP), KS_OK);
    ck_assert_int_eq(stat(fresh, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);

    ck_assert_int_eq(ks_atomic_write(NULL, (const uint8_t *)"x", 1, 0600), KS_ERR_ARGS);
    ck_assert_int_eq(ks_atomic_write(path, NULL, 1, 0600), KS_ERR_ARGS);
    char *nodir = kt_path(dir, "missing/f");
    ck_assert_int_eq(ks_atomic_write(nodir, (const uint8_t *)"x", 1, 0600), KS_ERR_NOT_FOUND);
    free(nodir);
    free(fresh);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

/* A fault at each step: KS_ERR_FAULT, the file is exactly old (before the rename) or
 * exactly new (after it), and no temp file is left. */
START_TEST(fault_at_each_step)
{
    const char *step = steps[_i];
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "image");
    ck_assert_int_eq(ks_atomic_write(path, (const uint8_t *)"old contents", 12, 0600), KS_OK);

    ks_set_fault_hook(fire_at, (void *)step);
    ks_status rv = ks_atomic_write(path, (const uint8_t *)"brand new contents", 18, 0600);
    ks_set_fault_hook(NULL, NULL);
    ck_assert_int_eq(rv, KS_ERR_FAULT);
    assert_content(path, strcmp(step, "dirsync") == 0 ? "brand new contents" : "old contents");
    ck_assert_uint_eq(kt_count_entries(dir), 1);

    /* Same with no previous file: nothing or the new file. */
    char *fresh = kt_path(dir, "fresh");
    ks_set_fault_hook(fire_at, (void *)step);
    rv = ks_atomic_write(fresh, (const uint8_t *)"abc", 3, 0600);
    ks_set_fault_hook(NULL, NULL);
    ck_assert_int_eq(rv, KS_ERR_FAULT);
    if (strcmp(step, "dirsync") == 0) {
        assert_content(fresh, "abc");
        ck_assert_uint_eq(kt_count_entries(dir), 2);
    } else {
        ck_assert_int_eq(access(fresh, F_OK), -1);
        ck_assert_uint_eq(kt_count_entries(dir), 1);
    }
    free(fresh);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

/* A real crash (the process dies inside the step): the final name holds exactly the
 * old or the new contents, never a mix; at most a stale temp file remains. */
START_TEST(crash_at_each_step)
{
    const char *step = steps[_i];
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "image");
    ck_assert_int_eq(ks_atomic_write(path, (const uint8_t *)"old contents", 12, 0600), KS_OK);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ks_set_fault_hook(crash_at, (void *)step);
        ks_atomic_write(path, (const uint8_t *)"brand new contents", 18, 0600);
        _exit(3); /* the hook should have ended us first */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    assert_content(path, strcmp(step, "dirsync") == 0 ? "brand new contents" : "old contents");
    size_t n = kt_count_entries(dir);
    /* Before the rename the temp file is still there; after it, it is gone. */
    bool temp_expected =
        strcmp(step, "rename") == 0 || strcmp(step, "fsync") == 0 || strcmp(step, "write") == 0;
    ck_assert_uint_eq(n, temp_expected ? 2 : 1);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(read_file_limits)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "f");
    vt_buf b = {0};
    ck_assert_int_eq(ks_read_file(path, 100, &b), KS_ERR_NOT_FOUND);
    ck_assert(kt_write(path, "0123456789", 10));
    ck_assert_int_eq(ks_read_file(path, 10, &b), KS_OK);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_mem_eq(b.data, "0123456789", 10);
    /* Appends; a failed read leaves what was there. */
    ck_assert_int_eq(ks_read_file(path, 9, &b), KS_ERR_CORRUPT);
    ck_assert_int_eq(errno, EFBIG);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_int_eq(ks_read_file(dir, 100, &b), KS_ERR_IO);
    ck_assert_uint_eq(b.len, 10);
    vt_buf_free(&b);
    kt_rmtree(dir);
    free(path);
    free(dir);
}
END_TEST

START_TEST(mkdirs_creates_parents)
{
    char *dir = kt_mkdtemp();
    char *deep = kt_path(dir, "a/b//c/");
    ck_assert_int_eq(ks_mkdirs(deep, 0700), KS_OK);
    ck_assert_int_eq(ks_mkdirs(deep, 0700), KS_OK);
    char *c = kt_path(dir, "a/b/c");
    struct stat st;
    ck_assert_int_eq(stat(c, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    char *f = kt_path(dir, "a/file");
    ck_assert(kt_write(f, "x", 1));
    char *under = kt_path(dir, "a/file/d");
    ck_assert_int_eq(ks_mkdirs(f, 0700), KS_ERR_IO);
    ck_assert_int_eq(errno, ENOTDIR);
    ck_assert_int_ne(ks_mkdirs(under, 0700), KS_OK);
    ck_assert_int_eq(ks_mkdirs("", 0700), KS_ERR_ARGS);
    free(under);
    free(f);
    free(c);
    free(deep);
    kt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(strerror_covers_all)
{
    for (int st = KS_OK; st <= KS_ERR_STALE; st++)
        ck_assert_str_ne(ks_strerror((ks_status)st), "unknown keystore error");
    ck_assert_str_eq(ks_strerror((ks_status)999), "unknown keystore error");
}
END_TEST

Suite *file_suite(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_test(tc, atomic_write_replaces_and_sets_mode);
    tcase_add_loop_test(tc, fault_at_each_step, 0, (int)VT_ARRAY_LEN(steps));
    tcase_add_loop_test(tc, crash_at_each_step, 0, (int)VT_ARRAY_LEN(steps));
    tcase_add_test(tc, read_file_limits);
    tcase_add_test(tc, mkdirs_creates_parents);
    tcase_add_test(tc, strerror_covers_all);
    suite_add_tcase(s, tc);
    return s;
}
