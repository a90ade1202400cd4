/* Channels and the pool transport (issue 9): channels of one connection share its
 * security status but keep their own selection and security environment; the pool
 * gives each thread's transaction a channel of its own, so two signatures compute at
 * once; a shared transaction holds the image lock (shared) from its begin until the card
 * starts computing, an exclusive one until its end; a key replaced on the card is never
 * signed with from the card's cache of decoded keys. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "sim_test.h"

/* A PKCS#1 v1.5 SHA-256 block of k bytes for msg. */
static void block_for(const char *msg, uint8_t *out, size_t k)
{
    static const uint8_t prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    size_t t = sizeof(prefix) + 32;
    out[0] = 0x00;
    out[1] = 0x01;
    memset(out + 2, 0xFF, k - t - 3);
    out[k - t - 1] = 0x00;
    memcpy(out + k - t, prefix, sizeof(prefix));
    SHA256((const unsigned char *)msg, strlen(msg), out + k - 32);
}

/* The user's key 1 (1024 bits) on a fresh Kaztoken; its modulus in mod. */
static void key_setup(tcard *t, vt_buf *mod)
{
    tc_setup(t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t->conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_create_key_files(t->conn, 1, 1024, 2), 0x9000);
    ck_assert_uint_eq(kz_generate_key(t->conn, 1, mod), 0x9000);
}

static void check_signature(const vt_buf *mod, const uint8_t *block, const vt_buf *sig)
{
    uint8_t back[128];
    ck_assert_uint_eq(sig->len, 128);
    rsa_public_op(mod->data, 128, sig->data, sig->len, back);
    ck_assert_mem_eq(back, block, 128);
}

START_TEST(test_channels_share_the_security_status)
{
    tcard t;
    vt_buf mod = {0}, sig = {0};
    sim_conn *ch = NULL, *other = NULL;
    uint8_t block[128];

    key_setup(&t, &mod);
    ck_assert_int_eq(sim_conn_open_channel(t.conn, &ch), SIM_OK);
    ck_assert_int_eq(sim_conn_open_channel(ch, &other), SIM_ERR_ARGS); /* not of a channel */
    /* the PIN verified on the base counts on the channel */
    ck_assert_uint_eq(tx(ch, "00200002", NULL), 0x9000);
    block_for("channel", block, sizeof(block));
    ck_assert_uint_eq(kz_private_op(ch, 1, true, block, sizeof(block), &sig), 0x9000);
    check_signature(&mod, block, &sig);
    /* its own security environment: MSE SET on the channel is not the base's */
    ck_assert_uint_eq(txd(ch, "002241B6", "840101", -1, NULL), 0x9000);
    uint8_t rev[128];
    for (size_t i = 0; i < sizeof(rev); i++)
        rev[i] = block[sizeof(block) - 1 - i];
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000); /* logout on the base... */
    /* ...ends the status on the channel too */
    ck_assert_uint_eq(tx(ch, "00200002", NULL), 0x63CA);
    ck_assert_uint_eq(txc(ch, 0x00, 0x2A, 0x9E, 0x9A, rev, sizeof(rev), 256, NULL), 0x6982);
    /* a PIN verified on the channel counts on the base */
    ck_assert_uint_eq(kz_verify_pin(ch, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    /* the base never had an environment set: conditions not satisfied */
    ck_assert_uint_eq(txc(t.conn, 0x00, 0x2A, 0x9E, 0x9A, rev, sizeof(rev), 256, NULL), 0x6985);
    /* a separate connection has a status of its own */
    sim_conn *sep = tc_conn(&t);
    ck_assert_uint_eq(tx(sep, "00200002", NULL), 0x63CA);
    sim_conn_close(sep);
    sim_conn_close(ch);
    vt_buf_free(&sig);
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

/* ---- the pool: two threads sign at once on channels of their own --------------------- */

typedef struct meet {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int inside;
    bool timed_out;
} meet;

/* Both computations must run at the same moment. The deadline only keeps a broken
 * engine from hanging the test; it asserts no speed. */
static void both_inside(void *arg)
{
    meet *mt = arg;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&mt->m);
    mt->inside++;
    pthread_cond_broadcast(&mt->cv);
    while (mt->inside < 2 && !mt->timed_out)
        if (pthread_cond_timedwait(&mt->cv, &mt->m, &dl) == ETIMEDOUT)
            mt->timed_out = true;
    pthread_mutex_unlock(&mt->m);
}

typedef struct pool_signer {
    apdu_transport *t;
    uint8_t block[128];
    vt_buf sig;
    uint16_t sw;
    apdu_status st;
} pool_signer;

/* MSE SET + PSO through the transport, as the Kaztoken driver sends them. */
static void *pool_sign(void *arg)
{
    pool_signer *s = arg;
    uint8_t mse[] = {0x84, 0x01, 0x01}, rev[128];
    for (size_t i = 0; i < sizeof(rev); i++)
        rev[i] = s->block[sizeof(rev) - 1 - i];
    s->st = apdu_begin_shared(s->t);
    if (s->st != APDU_OK)
        return NULL;
    apdu_cmd c = apdu_make(0x00, 0x22, 0x41, 0xB6, mse, sizeof(mse), 0);
    s->st = apdu_exchange(s->t, &c, 0, NULL, &s->sw);
    if (s->st == APDU_OK && s->sw == 0x9000) {
        c = apdu_make(0x00, 0x2A, 0x9E, 0x9A, rev, sizeof(rev), 128);
        s->st = apdu_exchange(s->t, &c, 0, &s->sig, &s->sw);
    }
    apdu_end(s->t);
    for (size_t i = 0; i < s->sig.len / 2; i++) {
        uint8_t x = s->sig.data[i];
        s->sig.data[i] = s->sig.data[s->sig.len - 1 - i];
        s->sig.data[s->sig.len - 1 - i] = x;
    }
    return NULL;
}

START_TEST(test_pool_runs_two_signatures_at_once)
{
    tcard t;
    vt_buf mod = {0};
    apdu_transport *tr = NULL;
    meet mt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    pool_signer s[2];
    pthread_t th[2];

    key_setup(&t, &mod);
    ck_assert_int_eq(sim_transport_new_pool(t.conn, 3, &tr), SIM_OK);
    t.conn = NULL; /* the pool owns it now */
    memset(s, 0, sizeof(s));
    for (int i = 0; i < 2; i++) {
        s[i].t = tr;
        block_for(i ? "second" : "first", s[i].block, sizeof(s[i].block));
    }
    sim_card_set_compute_hook(t.card, both_inside, &mt);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, pool_sign, &s[i]), 0);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    sim_card_set_compute_hook(t.card, NULL, NULL);
    ck_assert_msg(!mt.timed_out, "the two signatures did not compute at the same time");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(s[i].st, APDU_OK);
        ck_assert_uint_eq(s[i].sw, 0x9000);
        check_signature(&mod, s[i].block, &s[i].sig);
        vt_buf_free(&s[i].sig);
    }
    apdu_close(tr);
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

/* ---- transactions and the image lock ------------------------------------------------- */

typedef struct probe {
    ks_image_file *f;
    ks_status shared, exclusive; /* what another process could take */
} probe;

/* Another process's view of the image lock, taken while the card computes. */
static void probe_lock(void *arg)
{
    probe *p = arg;
    p->exclusive = ks_image_file_trylock(p->f, true);
    if (p->exclusive == KS_OK)
        ks_image_file_unlock(p->f);
    p->shared = ks_image_file_trylock(p->f, false);
    if (p->shared == KS_OK)
        ks_image_file_unlock(p->f);
}

START_TEST(test_shared_transaction_ends_at_the_computation)
{
    tcard t;
    vt_buf mod = {0}, sig = {0};
    probe p = {NULL, -1, -1};
    uint8_t block[128];

    key_setup(&t, &mod);
    ck_assert_int_eq(ks_image_file_open(t.path, &p.f), KS_OK);
    ck_assert_int_eq(sim_conn_begin_shared(t.conn), SIM_OK);
    /* between the APDUs of a shared transaction: readers yes, writers no */
    ck_assert_uint_eq(txd(t.conn, "002241B6", "840101", -1, NULL), 0x9000);
    ck_assert_int_eq(ks_image_file_trylock(p.f, true), KS_ERR_LOCKED);
    ck_assert_int_eq(ks_image_file_trylock(p.f, false), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(p.f), KS_OK);
    /* while the card computes, the image is free */
    sim_card_set_compute_hook(t.card, probe_lock, &p);
    block_for("shared", block, sizeof(block));
    ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, sizeof(block), &sig), 0x9000);
    sim_card_set_compute_hook(t.card, NULL, NULL);
    ck_assert_int_eq(p.exclusive, KS_OK);
    ck_assert_int_eq(p.shared, KS_OK);
    check_signature(&mod, block, &sig);
    /* after it, the transaction holds nothing any more, until its end */
    ck_assert_int_eq(ks_image_file_trylock(p.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(p.f), KS_OK);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    /* an exclusive transaction holds the image through the computation */
    vt_buf_clear(&sig);
    p.exclusive = p.shared = -1;
    ck_assert_int_eq(sim_conn_begin(t.conn), SIM_OK);
    sim_card_set_compute_hook(t.card, probe_lock, &p);
    ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, sizeof(block), &sig), 0x9000);
    sim_card_set_compute_hook(t.card, NULL, NULL);
    ck_assert_int_eq(p.exclusive, KS_ERR_LOCKED);
    ck_assert_int_eq(p.shared, KS_ERR_LOCKED);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    ck_assert_int_eq(ks_image_file_trylock(p.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(p.f), KS_OK);
    /* a write inside a shared transaction takes the image exclusively and keeps it free
     * afterwards (the transaction ended there) */
    ck_assert_int_eq(sim_conn_begin_shared(t.conn), SIM_OK);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_int_eq(ks_image_file_trylock(p.f, true), KS_OK);
    ck_assert_int_eq(ks_image_file_unlock(p.f), KS_OK);
    ck_assert_int_eq(sim_conn_end(t.conn), SIM_OK);
    ks_image_file_close(p.f);
    vt_buf_free(&sig);
    vt_buf_free(&mod);
    tc_teardown(&t);
}
END_TEST

/* The card decodes each key once; a key generated anew under the same reference (here
 * by another process, through the image) is the one that signs next. */
START_TEST(test_replaced_key_is_not_signed_with_from_the_cache)
{
    tcard t, other;
    vt_buf mod = {0}, mod2 = {0}, sig = {0};
    uint8_t block[128];

    key_setup(&t, &mod);
    block_for("before", block, sizeof(block));
    ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, sizeof(block), &sig), 0x9000);
    check_signature(&mod, block, &sig);
    /* another process: its own sim_card on the same image */
    memset(&other, 0, sizeof(other));
    ck_assert_int_eq(sim_card_open(t.path, &other.card, NULL), SIM_OK);
    sim_conn *c2 = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);
    ck_assert_int_eq(sim_conn_open(other.card, &c2), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(c2, atr, &alen), SIM_OK);
    ck_assert_uint_eq(kz_verify_pin(c2, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(kz_generate_key(c2, 1, &mod2), 0x9000);
    ck_assert_mem_ne(mod.data, mod2.data, 16);
    sim_conn_close(c2);
    sim_card_close(other.card);
    /* the first process signs with the new key */
    vt_buf_clear(&sig);
    block_for("after", block, sizeof(block));
    ck_assert_uint_eq(kz_private_op(t.conn, 1, true, block, sizeof(block), &sig), 0x9000);
    check_signature(&mod2, block, &sig);
    vt_buf_free(&sig);
    vt_buf_free(&mod);
    vt_buf_free(&mod2);
    tc_teardown(&t);
}
END_TEST

Suite *pool_suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_channels_share_the_security_status);
    tcase_add_test(tc, test_pool_runs_two_signatures_at_once);
    tcase_add_test(tc, test_shared_transaction_ends_at_the_computation);
    tcase_add_test(tc, test_replaced_key_is_not_signed_with_from_the_cache);
    suite_add_tcase(s, tc);
    return s;
}
