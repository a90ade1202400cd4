/* Image files: load/save round trip, generation and mode, changed() across processes,
 * the lock between processes (blocking and non-blocking) and between handles, and a
 * damaged or newer image that is never overwritten without force. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "ks_test.h"

typedef struct fixture {
    char *dir;
    char *path;
    ks_image_file *f;
} fixture;

static void setup_fx(fixture *fx)
{
    fx->dir = kt_mkdtemp();
    fx->path = kt_path(fx->dir, "card.img");
    ck_assert_int_eq(ks_image_file_open(fx->path, &fx->f), KS_OK);
}

static void teardown_fx(fixture *fx)
{
    ks_image_file_close(fx->f);
    kt_rmtree(fx->dir);
    free(fx->path);
    free(fx->dir);
}

static void small_image(ks_image *img, const char *label)
{
    ks_image_init(img);
    strcpy(img->profile, "etoken");
    snprintf(img->label, sizeof(img->label), "%s", label);
    ks_node n = {.path = {0x3f, 0x00},
                 .path_len = 2,
                 .type = 1,
                 .secret = true,
                 .counter = 15,
                 .counter_max = 15,
                 .body = (uint8_t *)"1234567890",
                 .body_len = 10};
    ck_assert_int_eq(ks_image_add(img, &n), KS_OK);
}

/* Save an image with this label from a fresh handle, as another process would. */
static void save_with_new_handle(const char *path, const char *label)
{
    ks_image_file *g = NULL;
    ks_image img;
    ck_assert_int_eq(ks_image_file_open(path, &g), KS_OK);
    ck_assert_int_eq(ks_image_file_lock(g, true), KS_OK);
    ks_status rv = ks_image_file_load(g, &img);
    ck_assert(rv == KS_OK || rv == KS_ERR_NOT_FOUND);
    ks_image_free(&img);
    small_image(&img, label);
    ck_assert_int_eq(ks_image_file_save(g, &img, false), KS_OK);
    ks_image_free(&img);
    ks_image_file_close(g);
}

START_TEST(save_load_round_trip)
{
    fixture fx;
    setup_fx(&fx);
    ks_image img, back;
    ck_assert_str_eq(ks_image_file_path(fx.f), fx.path);
    ck_assert_int_eq(ks_image_file_load(fx.f, &back), KS_ERR_NOT_FOUND);
    ck_assert_uint_eq(kt_count_entries(fx.dir), 0); /* opening and loading create nothing */
    small_image(&img, "first");
    img.generation = 41;
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_uint_eq(img.generation, 42);
    ck_assert_str_eq(ks_image_file_error(fx.f), "");
    struct stat st;
    ck_assert_int_eq(stat(fx.path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_uint_eq(kt_count_entries(fx.dir), 1);

    ck_assert_int_eq(ks_image_file_load(fx.f, &back), KS_OK);
    ck_assert_str_eq(back.label, "first");
    ck_assert_uint_eq(back.generation, 42);
    ck_assert_uint_eq(back.nnodes, 1);
    ck_assert_int_eq(back.nodes[0].secret, true);
    ck_assert_mem_eq(back.nodes[0].body, "1234567890", 10);
    ck_assert_int_eq(ks_image_file_save(fx.f, &back, false), KS_OK);
    ck_assert_uint_eq(back.generation, 43);
    ks_image_free(&back);
    ks_image_free(&img);
    teardown_fx(&fx);
}
END_TEST

START_TEST(changed_tracks_other_writers)
{
    fixture fx;
    setup_fx(&fx);
    ks_image img;
    ck_assert(ks_image_file_changed(fx.f)); /* nothing loaded yet */
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_ERR_NOT_FOUND);
    ck_assert(!ks_image_file_changed(fx.f)); /* still absent */
    save_with_new_handle(fx.path, "created elsewhere");
    ck_assert(ks_image_file_changed(fx.f));
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_OK);
    ck_assert(!ks_image_file_changed(fx.f));
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert(!ks_image_file_changed(fx.f)); /* our own save is not a change */
    ks_image_free(&img);

    /* Another process saves: we notice with one stat(). */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        save_with_new_handle(fx.path, "child");
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert(ks_image_file_changed(fx.f));
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_OK);
    ck_assert_str_eq(img.label, "child");
    ck_assert(!ks_image_file_changed(fx.f));
    ks_image_free(&img);

    ck_assert_int_eq(unlink(fx.path), 0);
    ck_assert(ks_image_file_changed(fx.f));
    teardown_fx(&fx);
}
END_TEST

static void write_byte(int fd, char c)
{
    ck_assert_int_eq(write(fd, &c, 1), 1);
}

static char read_byte(int fd)
{
    char c = 0;
    ck_assert_int_eq(read(fd, &c, 1), 1);
    return c;
}

/* The parent holds the lock across an atomic save; a child's trylock fails (the lock
 * survives the rename), its blocking lock returns only after the parent unlocks, and
 * it then sees the parent's last save. */
START_TEST(lock_between_processes)
{
    fixture fx;
    setup_fx(&fx);
    ks_image img;
    small_image(&img, "v1");
    ck_assert_int_eq(ks_image_file_lock(fx.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);

    int to_child[2], to_parent[2];
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(to_parent), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ks_image_file *g = NULL;
        ks_image got;
        int code = 0;
        if (ks_image_file_open(fx.path, &g) != KS_OK)
            _exit(10);
        if (ks_image_file_trylock(g, true) != KS_ERR_LOCKED)
            code = 11;
        else if (ks_image_file_trylock(g, false) != KS_ERR_LOCKED)
            code = 12;
        write_byte(to_parent[1], code ? 'x' : 'r');
        if (code)
            _exit(code);
        (void)read_byte(to_child[0]); /* parent has saved v2 under its lock */
        if (ks_image_file_trylock(g, true) != KS_ERR_LOCKED)
            _exit(13);
        write_byte(to_parent[1], 'b');
        if (ks_image_file_lock(g, true) != KS_OK) /* blocks until the parent unlocks */
            _exit(14);
        if (ks_image_file_load(g, &got) != KS_OK)
            _exit(15);
        code = strcmp(got.label, "v3") == 0 ? 0 : 16;
        ks_image_free(&got);
        ks_image_file_close(g);
        _exit(code);
    }
    ck_assert_int_eq(read_byte(to_parent[0]), 'r');
    strcpy(img.label, "v2");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    write_byte(to_child[1], 'g');
    ck_assert_int_eq(read_byte(to_parent[0]), 'b');
    /* The child is about to block (or is blocked); whatever the timing, it may only
     * get the lock after this save and the unlock. */
    strcpy(img.label, "v3");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(fx.f), KS_OK);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ks_image_free(&img);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
    teardown_fx(&fx);
}
END_TEST

START_TEST(shared_locks_coexist)
{
    fixture fx;
    setup_fx(&fx);
    ck_assert_int_eq(ks_image_file_lock(fx.f, false), KS_OK);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ks_image_file *g = NULL;
        int code = 0;
        if (ks_image_file_open(fx.path, &g) != KS_OK)
            _exit(10);
        if (ks_image_file_trylock(g, false) != KS_OK)
            code = 11;
        else if (ks_image_file_unlock(g) != KS_OK)
            code = 12;
        else if (ks_image_file_trylock(g, true) != KS_ERR_LOCKED)
            code = 13;
        ks_image_file_close(g);
        _exit(code);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    teardown_fx(&fx);
}
END_TEST

START_TEST(handles_in_one_process_exclude_each_other)
{
    fixture fx;
    setup_fx(&fx);
    ks_image_file *g = NULL;
    ck_assert_int_eq(ks_image_file_open(fx.path, &g), KS_OK);
    ck_assert_int_eq(ks_image_file_lock(fx.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_trylock(g, false), KS_ERR_LOCKED);
    ck_assert_int_eq(ks_image_file_unlock(fx.f), KS_OK);
    ck_assert_int_eq(ks_image_file_trylock(g, true), KS_OK);
    ck_assert_int_eq(ks_image_file_trylock(fx.f, true), KS_ERR_LOCKED);
    ks_image_file_close(g); /* closing releases */
    ck_assert_int_eq(ks_image_file_trylock(fx.f, true), KS_OK);
    teardown_fx(&fx);
}
END_TEST

/* A handle inherited across fork() (the module's fork-safe interface keeps using a card
 * in the child): parent and child must still exclude each other, and the child's
 * unlock must not release the parent's lock. */
START_TEST(inherited_handle_locks_apart_after_fork)
{
    fixture fx;
    setup_fx(&fx);
    ks_image_file *g = NULL;
    ck_assert_int_eq(ks_image_file_open(fx.path, &g), KS_OK);
    ck_assert_int_eq(ks_image_file_lock(fx.f, true), KS_OK);

    /* The parent holds the lock: the child, through the same handle, cannot take it,
     * and its unlock leaves the parent's lock in place. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int code = 0;
        if (ks_image_file_trylock(fx.f, true) != KS_ERR_LOCKED)
            code = 10;
        else if (ks_image_file_trylock(fx.f, false) != KS_ERR_LOCKED)
            code = 11;
        else if (ks_image_file_unlock(fx.f) != KS_OK)
            code = 12;
        _exit(code);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_int_eq(ks_image_file_trylock(g, false), KS_ERR_LOCKED);

    /* The other way round: the child locks through the inherited handle and the
     * parent's handle is locked out until the child is done. */
    ck_assert_int_eq(ks_image_file_unlock(fx.f), KS_OK);
    int to_child[2], to_parent[2];
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(to_parent), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int code = ks_image_file_lock(fx.f, true) == KS_OK ? 0 : 20;
        write_byte(to_parent[1], code ? 'x' : 'l');
        (void)read_byte(to_child[0]);
        if (code == 0 && ks_image_file_unlock(fx.f) != KS_OK)
            code = 21;
        write_byte(to_parent[1], 'u');
        (void)read_byte(to_child[0]);
        ks_image_file_close(fx.f);
        _exit(code);
    }
    ck_assert_int_eq(read_byte(to_parent[0]), 'l');
    ck_assert_int_eq(ks_image_file_trylock(fx.f, true), KS_ERR_LOCKED);
    ck_assert_int_eq(ks_image_file_trylock(g, false), KS_ERR_LOCKED);
    write_byte(to_child[1], 'g');
    ck_assert_int_eq(read_byte(to_parent[0]), 'u');
    ck_assert_int_eq(ks_image_file_trylock(fx.f, true), KS_OK);
    write_byte(to_child[1], 'g');
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* The child closing its handle did not release the parent's lock either. */
    ck_assert_int_eq(ks_image_file_trylock(g, false), KS_ERR_LOCKED);
    ks_image_file_close(g);
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
    teardown_fx(&fx);
}
END_TEST

static void assert_file_is(const char *path, const void *data, size_t len)
{
    vt_buf b = {0};
    ck_assert(kt_slurp(path, &b));
    ck_assert_uint_eq(b.len, len);
    ck_assert_mem_eq(b.data, data, len);
    vt_buf_free(&b);
}

START_TEST(damaged_image_not_overwritten)
{
    fixture fx;
    setup_fx(&fx);
    static const char junk[] = "this is not a card image";
    ck_assert(kt_write(fx.path, junk, sizeof(junk)));
    ks_image img;
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_ERR_CORRUPT);
    ck_assert_uint_eq(img.nnodes, 0);
    const char *msg = ks_image_file_error(fx.f);
    ck_assert_ptr_nonnull(strstr(msg, fx.path));
    ck_assert_ptr_nonnull(strstr(msg, "damaged card image"));
    ck_assert_ptr_nonnull(strstr(msg, "not be overwritten"));

    small_image(&img, "replacement");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_ERR_CORRUPT);
    ck_assert_uint_eq(img.generation, 0);
    assert_file_is(fx.path, junk, sizeof(junk));
    ck_assert_ptr_nonnull(strstr(ks_image_file_error(fx.f), "damaged"));
    /* Still refused on a second try. */
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_ERR_CORRUPT);
    assert_file_is(fx.path, junk, sizeof(junk));

    ck_assert_int_eq(ks_image_file_save(fx.f, &img, true), KS_OK);
    ks_image_free(&img);
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_OK);
    ck_assert_str_eq(img.label, "replacement");
    ks_image_free(&img);
    teardown_fx(&fx);
}
END_TEST

START_TEST(newer_image_not_overwritten)
{
    fixture fx;
    setup_fx(&fx);
    static const uint8_t v2[] = {0x30, 0x07, 0x02, 0x01, 0x02, 0xa5, 0x02, 0x01, 0x00};
    ck_assert(kt_write(fx.path, v2, sizeof(v2)));
    ks_image img;
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(ks_image_file_error(fx.f), "version 2"));
    small_image(&img, "older vtoken");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_ERR_VERSION);
    assert_file_is(fx.path, v2, sizeof(v2));
    ks_image_free(&img);
    teardown_fx(&fx);
}
END_TEST

START_TEST(truncated_file_is_damaged)
{
    fixture fx;
    setup_fx(&fx);
    ks_image img;
    small_image(&img, "whole");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ks_image_free(&img);
    ck_assert_int_eq(truncate(fx.path, 20), 0);
    ck_assert_int_eq(ks_image_file_load(fx.f, &img), KS_ERR_CORRUPT);
    small_image(&img, "over it");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_ERR_CORRUPT);
    struct stat st;
    ck_assert_int_eq(stat(fx.path, &st), 0);
    ck_assert_int_eq(st.st_size, 20);
    ks_image_free(&img);
    teardown_fx(&fx);
}
END_TEST

static bool fail_rename(void *arg, const char *step)
{
    (void)arg;
    return strcmp(step, "rename") == 0;
}

START_TEST(failed_save_keeps_generation_and_file)
{
    fixture fx;
    setup_fx(&fx);
    ks_image img;
    small_image(&img, "one");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_uint_eq(img.generation, 1);
    vt_buf before = {0};
    ck_assert(kt_slurp(fx.path, &before));
    strcpy(img.label, "two");
    ks_set_fault_hook(fail_rename, NULL);
    ks_status rv = ks_image_file_save(fx.f, &img, false);
    ks_set_fault_hook(NULL, NULL);
    ck_assert_int_eq(rv, KS_ERR_FAULT);
    ck_assert_uint_eq(img.generation, 1);
    ck_assert_ptr_nonnull(strstr(ks_image_file_error(fx.f), "cannot save"));
    assert_file_is(fx.path, before.data, before.len);
    ck_assert(!ks_image_file_changed(fx.f));
    ck_assert_uint_eq(kt_count_entries(fx.dir), 1);
    vt_buf_free(&before);
    ks_image_free(&img);
    teardown_fx(&fx);
}
END_TEST

/* A writer that crashed mid-save left a temp file; the next save under the exclusive
 * lock removes it, a save without the lock leaves it (it could belong to a writer). */
START_TEST(orphaned_temp_files_swept_under_lock)
{
    fixture fx;
    setup_fx(&fx);
    char *orphan = kt_path(fx.dir, "card.img.tmp.4242.7");
    char *other = kt_path(fx.dir, "card.imgx.tmp.1.1");
    ck_assert(kt_write(orphan, "torn", 4));
    ck_assert(kt_write(other, "not ours", 8));
    ks_image img;
    small_image(&img, "x");
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_int_eq(access(orphan, F_OK), 0);
    ck_assert_int_eq(ks_image_file_lock(fx.f, false), KS_OK);
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_int_eq(access(orphan, F_OK), 0);
    ck_assert_int_eq(ks_image_file_lock(fx.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_save(fx.f, &img, false), KS_OK);
    ck_assert_int_eq(access(orphan, F_OK), -1);
    ck_assert_int_eq(access(other, F_OK), 0);
    ck_assert_int_eq(ks_image_file_unlock(fx.f), KS_OK);
    ks_image_free(&img);
    free(other);
    free(orphan);
    teardown_fx(&fx);
}
END_TEST

START_TEST(bad_arguments)
{
    ks_image_file *f = NULL;
    ck_assert_int_eq(ks_image_file_open(NULL, &f), KS_ERR_ARGS);
    ck_assert_int_eq(ks_image_file_open("", &f), KS_ERR_ARGS);
    ck_assert_int_eq(ks_image_file_lock(NULL, true), KS_ERR_ARGS);
    ck_assert_int_eq(ks_image_file_save(NULL, NULL, false), KS_ERR_ARGS);
    ks_image_file_close(NULL);
    /* A lock in a directory that does not exist fails cleanly. */
    ck_assert_int_eq(ks_image_file_open("/nonexistent-vtoken-dir/card.img", &f), KS_OK);
    ck_assert_int_eq(ks_image_file_lock(f, true), KS_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ks_image_file_error(f), "lock file"));
    ks_image_file_close(f);
}
END_TEST

Suite *image_file_suite(void)
{
    Suite *s = suite_create("image_file");
    TCase *tc = tcase_create("image_file");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, changed_tracks_other_writers);
    tcase_add_test(tc, lock_between_processes);
    tcase_add_test(tc, shared_locks_coexist);
    tcase_add_test(tc, handles_in_one_process_exclude_each_other);
    tcase_add_test(tc, inherited_handle_locks_apart_after_fork);
    tcase_add_test(tc, damaged_image_not_overwritten);
    tcase_add_test(tc, newer_image_not_overwritten);
    tcase_add_test(tc, truncated_file_is_damaged);
    tcase_add_test(tc, failed_save_keeps_generation_and_file);
    tcase_add_test(tc, orphaned_temp_files_swept_under_lock);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
