/* Fault injection (applet-sim/fault.c, fault_plan.c): each fault kind at the engine level
 * (status word at the Nth APDU, INS filter, repeat, torn image writes that leave the old
 * image and keep counted PIN tries, latency through an injected clock, removal), the
 * plan file's strict parser, and one-shot faults consumed exactly once by two processes
 * sharing a card. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "pin.h"
#include "sim_test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static sim_status add_all(sim_fault_plan *plan, void *arg)
{
    const sim_fault_plan *add = arg;
    for (size_t i = 0; i < add->n; i++)
        if (sim_fault_plan_add(plan, &add->f[i], NULL, 0) != SIM_OK)
            return SIM_ERR_ARGS;
    return SIM_OK;
}

/* Arm the faults given as plan lines (without the header) on t's card. */
static void arm(const tcard *t, const char *lines)
{
    char text[2048], why[256] = "";
    sim_fault_plan add;
    snprintf(text, sizeof(text), "vtoken-faults 1\n%s\n", lines);
    ck_assert_msg(sim_fault_plan_parse(text, strlen(text), &add, why, sizeof(why)) == SIM_OK, "%s",
                  why);
    ck_assert_int_eq(sim_fault_plan_edit(t->path, add_all, &add, why, sizeof(why)), SIM_OK);
}

static sim_status drop_all(sim_fault_plan *plan, void *arg)
{
    (void)arg;
    plan->n = 0;
    return SIM_OK;
}

static void clear_plan(const tcard *t)
{
    ck_assert_int_eq(sim_fault_plan_edit(t->path, drop_all, NULL, NULL, 0), SIM_OK);
}

static sim_fault_plan plan_of(const tcard *t)
{
    sim_fault_plan plan;
    char why[256] = "";
    ck_assert_msg(sim_fault_plan_read(t->path, &plan, why, sizeof(why)) == SIM_OK, "%s", why);
    return plan;
}

static void plan_file(const tcard *t, char *out, size_t cap)
{
    ck_assert_int_eq(sim_fault_plan_path(t->path, out, cap), SIM_OK);
}

static uint16_t challenge(sim_conn *c)
{
    return tx(c, "0084000008", NULL);
}

static uint64_t disk_generation(const tcard *t)
{
    ks_image img;
    uint64_t g;
    tc_load(t, &img);
    g = img.generation;
    ks_image_free(&img);
    return g;
}

/* ---- the plan file ------------------------------------------------------------------------ */

START_TEST(test_plan_path)
{
    char p[64];
    ck_assert_int_eq(sim_fault_plan_path("/h/tokens/kaztoken.img", p, sizeof(p)), SIM_OK);
    ck_assert_str_eq(p, "/h/tokens/kaztoken.faults");
    ck_assert_int_eq(sim_fault_plan_path("card", p, sizeof(p)), SIM_OK);
    ck_assert_str_eq(p, "card.faults");
    ck_assert_int_eq(sim_fault_plan_path("/a/.img", p, sizeof(p)), SIM_OK);
    ck_assert_str_eq(p, "/a/.faults");
    ck_assert_int_eq(sim_fault_plan_path("/very/long/path/x.img", p, 8), SIM_ERR_ARGS);
    ck_assert_int_eq(sim_fault_plan_path("", p, sizeof(p)), SIM_ERR_ARGS);
}
END_TEST

START_TEST(test_plan_roundtrip)
{
    static const char in[] = "# a comment\r\n"
                             "\n"
                             "vtoken-faults 1\n"
                             "sw 6a82 ins=a4 nth=2 repeat=yes seen=1 fired=0\n"
                             "  tear fsync\n"
                             "latency 3000 ins=46\n"
                             "remove 0 seen=0 fired=1"; /* no final newline */
    static const char canon[] = "sw 6A82 nth=2 ins=A4 repeat=yes seen=1 fired=0\n"
                                "tear fsync nth=1 ins=any seen=0 fired=0\n"
                                "latency 3000 ins=46 fired=0\n"
                                "remove 0 seen=0 fired=1\n";
    sim_fault_plan plan, again;
    vt_buf out = {0};
    char why[256] = "";

    ck_assert_msg(sim_fault_plan_parse(in, strlen(in), &plan, why, sizeof(why)) == SIM_OK, "%s",
                  why);
    ck_assert_uint_eq(plan.n, 4);
    ck_assert_int_eq(plan.f[0].kind, SIM_FAULT_SW);
    ck_assert_uint_eq(plan.f[0].sw, 0x6A82);
    ck_assert_int_eq(plan.f[0].ins, 0xA4);
    ck_assert(plan.f[0].repeat);
    ck_assert_int_eq(plan.f[1].kind, SIM_FAULT_TEAR);
    ck_assert_int_eq(plan.f[1].step, SIM_TEAR_FSYNC);
    ck_assert_int_eq(plan.f[1].ins, SIM_FAULT_ANY_INS);
    ck_assert_uint_eq(plan.f[1].nth, 1);
    ck_assert_uint_eq(plan.f[2].ms, 3000);
    ck_assert_int_eq(plan.f[3].kind, SIM_FAULT_REMOVE);
    ck_assert_uint_eq(plan.f[3].fired, 1);

    ck_assert_int_eq(sim_fault_plan_format(&plan, &out), SIM_OK);
    ck_assert(vt_buf_append_byte(&out, 0));
    ck_assert_ptr_nonnull(strstr((const char *)out.data, "vtoken-faults 1\n"));
    ck_assert_str_eq(strstr((const char *)out.data, "vtoken-faults 1\n") + 16, canon);
    ck_assert_int_eq(
        sim_fault_plan_parse((const char *)out.data, out.len - 1, &again, why, sizeof(why)),
        SIM_OK);
    ck_assert_mem_eq(&again, &plan, sizeof(plan));
    vt_buf_free(&out);
}
END_TEST

static const struct {
    const char *text;
    const char *why;
} bad_plans[] = {
    {"", "no 'vtoken-faults 1' line"},
    {"sw 6581\n", "line 1: not a fault plan"},
    {"vtoken-faults 2\nsw 6581\n", "newer vtoken"},
    {"vtoken-faults one\n", "not a fault plan"},
    {"vtoken-faults 1\nexplode 1\n", "line 2: unknown fault 'explode'"},
    {"vtoken-faults 1\nsw\n", "sw needs an argument"},
    {"vtoken-faults 1\nsw 65811\n", "not 4 hex digits"},
    {"vtoken-faults 1\nsw 65G1\n", "not 4 hex digits"},
    {"vtoken-faults 1\nsw 6000\n", "61xx-6Fxx or 90xx-9Fxx"},
    {"vtoken-faults 1\nsw 6581 nth=0\n", "nth '0'"},
    {"vtoken-faults 1\nsw 6581 nth=-1\n", "nth '-1'"},
    {"vtoken-faults 1\nsw 6581 nth=99999999999\n", "nth '99999999999'"},
    {"vtoken-faults 1\nsw 6581 ins=1G\n", "ins '1G'"},
    {"vtoken-faults 1\nsw 6581 ins=123\n", "ins '123'"},
    {"vtoken-faults 1\nsw 6581 color=red\n", "unknown key 'color'"},
    {"vtoken-faults 1\nsw 6581 nth\n", "'nth' is not key=value"},
    {"vtoken-faults 1\nsw 6581 nth=1 nth=2\n", "given twice"},
    {"vtoken-faults 1\nsw 6581 repeat=maybe\n", "repeat 'maybe'"},
    {"vtoken-faults 1\ntear rename repeat=yes\n", "does not apply to a tear fault"},
    {"vtoken-faults 1\ntear unlink\n", "not write, fsync or rename"},
    {"vtoken-faults 1\nlatency 0\n", "latency must be 1 ms"},
    {"vtoken-faults 1\nlatency 600001\n", "not 1-600000"},
    {"vtoken-faults 1\nlatency 10 nth=2\n", "does not apply to a latency fault"},
    {"vtoken-faults 1\nremove 3 ins=84\n", "does not apply to a remove fault"},
    {"vtoken-faults 1\nremove x\n", "APDU count 'x'"},
    {"vtoken-faults 1\nsw 6581 a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 k=11\n", "too many words"},
};

START_TEST(test_plan_errors)
{
    sim_fault_plan plan;
    char why[256] = "";
    const char *text = bad_plans[_i].text;
    ck_assert_int_eq(sim_fault_plan_parse(text, strlen(text), &plan, why, sizeof(why)),
                     SIM_ERR_CONFIG);
    ck_assert_msg(strstr(why, bad_plans[_i].why) != NULL, "'%s': got '%s', want '%s'", text, why,
                  bad_plans[_i].why);
    ck_assert_uint_eq(plan.n, 0);
}
END_TEST

START_TEST(test_plan_limits)
{
    char text[4096], line[300], why[256] = "";
    sim_fault_plan plan;
    sim_fault f = {.kind = SIM_FAULT_LATENCY, .ins = 0x46, .ms = 10};
    size_t n;

    /* a line over 256 bytes, a NUL byte, more than SIM_FAULT_MAX faults */
    memset(line, ' ', sizeof(line));
    memcpy(line + sizeof(line) - 12, "remove 1\n", 10);
    n = (size_t)snprintf(text, sizeof(text), "vtoken-faults 1\n%s", line);
    ck_assert_int_eq(sim_fault_plan_parse(text, n, &plan, why, sizeof(why)), SIM_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(why, "line 2: line longer than"));
    ck_assert_int_eq(
        sim_fault_plan_parse("vtoken-faults 1\nremove 1\0\n", 26, &plan, why, sizeof(why)),
        SIM_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(why, "NUL"));
    n = (size_t)snprintf(text, sizeof(text), "vtoken-faults 1\n");
    for (int i = 0; i <= SIM_FAULT_MAX; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "remove %d\n", i);
    ck_assert_int_eq(sim_fault_plan_parse(text, n, &plan, why, sizeof(why)), SIM_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(why, "more than 16 faults"));

    /* adding: a latency for the same INS replaces the old one, a full plan refuses */
    memset(&plan, 0, sizeof(plan));
    ck_assert_int_eq(sim_fault_plan_add(&plan, &f, why, sizeof(why)), SIM_OK);
    f.ms = 20;
    ck_assert_int_eq(sim_fault_plan_add(&plan, &f, why, sizeof(why)), SIM_OK);
    ck_assert_uint_eq(plan.n, 1);
    ck_assert_uint_eq(plan.f[0].ms, 20);
    f.ms = 0;
    ck_assert_int_eq(sim_fault_plan_add(&plan, &f, why, sizeof(why)), SIM_ERR_ARGS);
    ck_assert_ptr_nonnull(strstr(why, "latency must be"));
    f = (sim_fault){.kind = SIM_FAULT_REMOVE, .ins = SIM_FAULT_ANY_INS, .nth = 3};
    while (plan.n < SIM_FAULT_MAX)
        ck_assert_int_eq(sim_fault_plan_add(&plan, &f, why, sizeof(why)), SIM_OK);
    ck_assert_int_eq(sim_fault_plan_add(&plan, &f, why, sizeof(why)), SIM_ERR_ARGS);
    ck_assert_ptr_nonnull(strstr(why, "already holds 16"));
}
END_TEST

/* A plan that does not parse never breaks the card; reading it says why. */
START_TEST(test_bad_plan_is_ignored_by_the_card)
{
    tcard t;
    char p[600], why[256] = "";
    sim_fault_plan plan;
    static const char junk[] = "vtoken-faults 1\nsw 6581 nth=zero\n";
    tc_setup(&t, "kaztoken");
    plan_file(&t, p, sizeof(p));
    ck_assert_int_eq(ks_atomic_write(p, (const uint8_t *)junk, sizeof(junk) - 1, 0600), KS_OK);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_int_eq(sim_fault_plan_read(t.path, &plan, why, sizeof(why)), SIM_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(why, "line 2: nth 'zero'"));
    /* and editing refuses to overwrite it */
    ck_assert_int_eq(sim_fault_plan_edit(t.path, drop_all, NULL, why, sizeof(why)), SIM_ERR_CONFIG);
    tc_teardown(&t);
}
END_TEST

/* ---- status words ------------------------------------------------------------------------- */

START_TEST(test_sw_nth)
{
    tcard t;
    sim_fault_plan plan;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(challenge(t.conn), 0x9000); /* before arming: not counted */
    arm(&t, "sw 6581 nth=3");
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C022F00", NULL), 0x6A82); /* counted too (any INS) */
    ck_assert_uint_eq(challenge(t.conn), 0x6581);
    ck_assert_uint_eq(challenge(t.conn), 0x9000); /* once */
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    plan = plan_of(&t);
    ck_assert_uint_eq(plan.n, 1); /* a fired fault stays listed */
    ck_assert_uint_eq(plan.f[0].seen, 3);
    ck_assert_uint_eq(plan.f[0].fired, 1);
    ck_assert(!sim_fault_active(&plan.f[0]));
    tc_teardown(&t);
}
END_TEST

/* The answered command is not processed: a wrong PIN answered by a fault costs no try. */
START_TEST(test_sw_command_not_processed)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    arm(&t, "sw 6F00 ins=20");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6F00);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_sw_ins_filter)
{
    tcard t;
    sim_fault_plan plan;
    tc_setup(&t, "kaztoken");
    arm(&t, "sw 6A82 nth=2 ins=84");
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(challenge(t.conn), 0x6A82);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    plan = plan_of(&t);
    ck_assert_uint_eq(plan.f[0].seen, 2);
    ck_assert_uint_eq(plan.f[0].fired, 1);
    tc_teardown(&t);
}
END_TEST

START_TEST(test_sw_repeat)
{
    tcard t;
    sim_fault_plan plan;
    tc_setup(&t, "kaztoken");
    arm(&t, "sw 6985 nth=2 ins=84 repeat=yes");
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(challenge(t.conn), 0x6985);
        ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    }
    plan = plan_of(&t);
    ck_assert_uint_eq(plan.f[0].fired, 3);
    ck_assert(sim_fault_active(&plan.f[0]));
    clear_plan(&t);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    tc_teardown(&t);
}
END_TEST

/* Once every fault fired, the plan stays for --list and is no longer rewritten. */
START_TEST(test_fired_plan_is_left_alone)
{
    tcard t;
    char p[600];
    struct stat a, b;
    tc_setup(&t, "kaztoken");
    arm(&t, "sw 6581\nsw 6582 ins=A4");
    ck_assert_uint_eq(challenge(t.conn), 0x6581);
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x6582);
    plan_file(&t, p, sizeof(p));
    ck_assert_int_eq(stat(p, &a), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_int_eq(stat(p, &b), 0);
    ck_assert_uint_eq(a.st_ino, b.st_ino);
    ck_assert_int_eq(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    tc_teardown(&t);
}
END_TEST

/* ---- torn writes ---------------------------------------------------------------------------- */

static const char *const tear_steps[] = {"write", "fsync", "rename"};

/* CHANGE REFERENCE DATA torn: the old PIN stays, the image on disk is the old one. */
START_TEST(test_tear_keeps_old_image)
{
    tcard t;
    char line[64];
    sim_fault_plan plan;
    uint64_t gen;
    tc_setup(&t, "kaztoken");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    snprintf(line, sizeof(line), "tear %s ins=24", tear_steps[_i]);
    arm(&t, line);
    gen = disk_generation(&t);
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A508 3131323233333434", -1, NULL), 0x6581);
    ck_assert_uint_eq(disk_generation(&t), gen);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "11223344"), 0x6300);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    /* one write only: the next change goes through */
    ck_assert_uint_eq(txd(t.conn, "00240102", "8002 0008 A508 3131323233333434", -1, NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "11223344"), 0x9000);
    plan = plan_of(&t);
    ck_assert_uint_eq(plan.f[0].seen, 1);
    ck_assert_uint_eq(plan.f[0].fired, 1);
    tc_teardown(&t);
}
END_TEST

/* VERIFY writes twice: the try, then the counter reset. Tearing the second write leaves
 * the try counted, as power lost after the compare would on a real card. */
START_TEST(test_tear_keeps_counted_try)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    arm(&t, "tear rename nth=2 ins=20");
    ck_assert_uint_eq(challenge(t.conn), 0x9000); /* reads do not count */
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x6581);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63C9);
    {
        /* what another process sees on disk */
        ks_image img;
        long idx;
        tc_load(&t, &img);
        idx = sim_pin_find(&img, 2);
        ck_assert_int_ge(idx, 0);
        ck_assert_int_eq(img.nodes[idx].counter, 9);
        ks_image_free(&img);
    }
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "12345678"), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "80400000", NULL), 0x9000);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

/* The first write of a VERIFY torn: the try never reached the disk, nothing compared. */
START_TEST(test_tear_first_write_costs_nothing)
{
    tcard t;
    tc_setup(&t, "kaztoken");
    arm(&t, "tear write");
    ck_assert_uint_eq(kz_verify_pin(t.conn, 2, "00000000"), 0x6581);
    ck_assert_uint_eq(tx(t.conn, "00200002", NULL), 0x63CA);
    tc_teardown(&t);
}
END_TEST

/* ---- latency ------------------------------------------------------------------------------ */

typedef struct clock_log {
    uint32_t ms[16];
    size_t n;
} clock_log;

static void fake_sleep(void *arg, uint32_t ms)
{
    clock_log *log = arg;
    if (log->n < VT_ARRAY_LEN(log->ms))
        log->ms[log->n] = ms;
    log->n++;
}

START_TEST(test_latency)
{
    tcard t;
    clock_log log = {0};
    sim_fault_plan plan;
    tc_setup(&t, "kaztoken");
    sim_fault_set_sleep(t.card, fake_sleep, &log);
    arm(&t, "latency 3000 ins=84");
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(log.n, 0);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(log.n, 1);
    ck_assert_uint_eq(log.ms[0], 3000);
    /* a latency for every command; the INS-specific one still wins for 84 */
    arm(&t, "latency 50");
    ck_assert_uint_eq(tx(t.conn, "00A4000C023F00", NULL), 0x9000);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(log.n, 3);
    ck_assert_uint_eq(log.ms[1], 50);
    ck_assert_uint_eq(log.ms[2], 3000);
    /* re-arming the same INS replaces its latency */
    arm(&t, "latency 7 ins=84");
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(log.ms[3], 7);
    plan = plan_of(&t);
    ck_assert_uint_eq(plan.n, 2);
    ck_assert_uint_eq(plan.f[0].ms, 7);
    ck_assert_uint_eq(plan.f[0].fired, 1); /* counters restart when re-armed */
    ck_assert_uint_eq(plan.f[1].fired, 1);
    clear_plan(&t);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert_uint_eq(log.n, 4);
    tc_teardown(&t);
}
END_TEST

/* ---- removal ------------------------------------------------------------------------------ */

START_TEST(test_remove)
{
    tcard t;
    sim_conn *other;
    uint8_t atr[33], r[64];
    size_t alen = sizeof(atr), rlen = sizeof(r);
    const uint8_t gc[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    tc_setup(&t, "kaztoken");
    other = tc_conn(&t);
    arm(&t, "remove 2");
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    ck_assert(sim_conn_powered(t.conn));
    ck_assert_uint_eq(challenge(other), 0x9000); /* the second APDU, answered, then out */
    ck_assert(!sim_conn_powered(other));
    ck_assert_int_eq(sim_conn_process(other, gc, sizeof(gc), r, &rlen), SIM_ERR_POWER);
    /* the other connection learns it at its next command */
    rlen = sizeof(r);
    ck_assert_int_eq(sim_conn_process(t.conn, gc, sizeof(gc), r, &rlen), SIM_ERR_POWER);
    ck_assert(!sim_conn_powered(t.conn));
    ck_assert_int_eq(sim_conn_power_on(t.conn, atr, &alen), SIM_ERR_POWER);
    ck_assert_uint_eq(plan_of(&t).f[0].fired, 1);
    /* clearing the plan puts the card back */
    clear_plan(&t);
    alen = sizeof(atr);
    ck_assert_int_eq(sim_conn_power_on(t.conn, atr, &alen), SIM_OK);
    ck_assert_uint_eq(challenge(t.conn), 0x9000);
    sim_conn_close(other);
    tc_teardown(&t);
}
END_TEST

/* The in-process transport reports the card gone, also to a cold reset, until cleared. */
START_TEST(test_remove_transport)
{
    tcard t;
    apdu_transport *tr = NULL;
    uint8_t atr[33], r[64];
    size_t alen, rlen = sizeof(r);
    const uint8_t gc[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    tc_setup(&t, "kaztoken");
    ck_assert_int_eq(sim_transport_new(tc_conn(&t), &tr), SIM_OK);
    arm(&t, "remove 1");
    ck_assert_int_eq(apdu_present(tr), APDU_OK);
    ck_assert_int_eq(apdu_transmit(tr, gc, sizeof(gc), r, &rlen), APDU_OK);
    ck_assert_uint_eq(rlen, 10);
    ck_assert_int_eq(apdu_present(tr), APDU_ERR_NO_CARD);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, gc, sizeof(gc), r, &rlen), APDU_ERR_NO_CARD);
    alen = sizeof(atr);
    ck_assert_int_ne(apdu_reset(tr, true, atr, &alen), APDU_OK);
    ck_assert_int_eq(apdu_present(tr), APDU_ERR_NO_CARD);
    clear_plan(&t);
    alen = sizeof(atr);
    ck_assert_int_eq(apdu_reset(tr, true, atr, &alen), APDU_OK);
    rlen = sizeof(r);
    ck_assert_int_eq(apdu_transmit(tr, gc, sizeof(gc), r, &rlen), APDU_OK);
    ck_assert_uint_eq(rlen, 10);
    apdu_close(tr);
    tc_teardown(&t);
}
END_TEST

/* ---- two processes ------------------------------------------------------------------------ */

#define RACE_APDUS 40

/* Each child counts, per armed status word, how often it was answered with it. */
static int race_child(const char *path, int go_fd, int out_fd)
{
    sim_card *card = NULL;
    sim_conn *c = NULL;
    uint8_t atr[33], r[64], counts[5] = {0};
    size_t alen = sizeof(atr);
    const uint8_t gc[] = {0x00, 0x84, 0x00, 0x00, 0x08};
    char go;

    if (sim_card_open(path, &card, NULL) != SIM_OK || sim_conn_open(card, &c) != SIM_OK ||
        sim_conn_power_on(c, atr, &alen) != SIM_OK)
        return 2;
    if (read(go_fd, &go, 1) != 1)
        return 3;
    for (int i = 0; i < RACE_APDUS; i++) {
        size_t rlen = sizeof(r);
        uint16_t sw;
        if (sim_conn_process(c, gc, sizeof(gc), r, &rlen) != SIM_OK || rlen < 2)
            return 4;
        sw = (uint16_t)(r[rlen - 2] << 8 | r[rlen - 1]);
        if (sw >= 0x6581 && sw <= 0x6585)
            counts[sw - 0x6581]++;
        else if (sw != 0x9000)
            return 5;
    }
    if (write(out_fd, counts, sizeof(counts)) != (ssize_t)sizeof(counts))
        return 6;
    sim_conn_close(c);
    sim_card_close(card);
    return 0;
}

START_TEST(test_one_shot_across_processes)
{
    tcard t;
    int go[2], out[2];
    pid_t pids[2];
    unsigned total[5] = {0};
    sim_fault_plan plan;

    tc_setup(&t, "kaztoken");
    arm(&t, "sw 6581 nth=5\nsw 6582 nth=15\nsw 6583 nth=25\nsw 6584 nth=35\nsw 6585 nth=45");
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(out), 0);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            _exit(race_child(t.path, go[0], out[1]));
    }
    /* both start at once */
    ck_assert_int_eq(write(go[1], "gg", 2), 2);
    for (int i = 0; i < 2; i++) {
        int status = 0;
        uint8_t counts[5];
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exit %d",
                      WEXITSTATUS(status));
        ck_assert_int_eq(read(out[0], counts, sizeof(counts)), (ssize_t)sizeof(counts));
        for (int k = 0; k < 5; k++)
            total[k] += counts[k];
    }
    close(go[0]);
    close(go[1]);
    close(out[0]);
    close(out[1]);
    for (int k = 0; k < 5; k++)
        ck_assert_msg(total[k] == 1, "SW 658%d answered %u times", k + 1, total[k]);
    plan = plan_of(&t);
    for (int k = 0; k < 5; k++) {
        ck_assert_uint_eq(plan.f[k].fired, 1);
        ck_assert_uint_eq(plan.f[k].seen, 10u * (unsigned)k + 5u);
    }
    tc_teardown(&t);
}
END_TEST

Suite *fault_suite(void)
{
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create("fault");
    tcase_add_test(tc, test_plan_path);
    tcase_add_test(tc, test_plan_roundtrip);
    tcase_add_loop_test(tc, test_plan_errors, 0, (int)VT_ARRAY_LEN(bad_plans));
    tcase_add_test(tc, test_plan_limits);
    tcase_add_test(tc, test_bad_plan_is_ignored_by_the_card);
    tcase_add_test(tc, test_sw_nth);
    tcase_add_test(tc, test_sw_command_not_processed);
    tcase_add_test(tc, test_sw_ins_filter);
    tcase_add_test(tc, test_sw_repeat);
    tcase_add_test(tc, test_fired_plan_is_left_alone);
    tcase_add_loop_test(tc, test_tear_keeps_old_image, 0, (int)VT_ARRAY_LEN(tear_steps));
    tcase_add_test(tc, test_tear_keeps_counted_try);
    tcase_add_test(tc, test_tear_first_write_costs_nothing);
    tcase_add_test(tc, test_latency);
    tcase_add_test(tc, test_remove);
    tcase_add_test(tc, test_remove_transport);
    tcase_add_test(tc, test_one_shot_across_processes);
    suite_add_tcase(s, tc);
    return s;
}
