/* Hostile commands, table-driven: every instruction of each dialect's command table (as
 * the engine dispatches it, applet-sim/dialect_*.c) is sent with hostile headers and
 * data (case 1-4 short and extended forms, Lc/data mismatches, chained parts, SM and
 * logical-channel class bits, P1-P2 sweeps with out-of-range offsets, garbage and
 * over-long BER-TLV lengths, huge Le) on a factory card and on one holding keys with the
 * user PIN verified. Every answer is a precise ISO status word (never 6F00, 6400 or
 * 6581, none of which the dialect docs give for bad input), carries no data with an
 * error, and the forms whose answer ISO fixes get exactly it. Afterwards the image still
 * loads and the card still answers. Memory errors and leaks show in the sanitized build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialect.h"
#include "sim_test.h"

Suite *hostile_suite(void); /* main.c */

typedef struct family {
    const char *profile;
    const char *keys_transcript; /* vectors/transcripts/<profile>/..., run to make state 1 */
    uint8_t alive[5];            /* GET CHALLENGE of 8 bytes: the card still answers */
} family;

static const family families[] = {
    {"kaztoken", "04-keys.apdu", {0x00, 0x84, 0x00, 0x00, 0x08}},
    {"etoken", "04-keys.apdu", {0x80, 0x17, 0x00, 0x00, 0x08}},
    {"jacarta", "05-keys.apdu", {0x00, 0x84, 0x00, 0x00, 0x08}},
};

typedef struct run {
    sim_conn *conn;
    const sim_dialect *d;
    unsigned sent;
    const char *profile;
} run;

static bool sw_has_data(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    return sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

/* An ISO status word that says what went wrong (or that nothing did). */
static bool sw_precise(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    if (sw == 0x6F00 || sw == 0x6400 || sw == 0x6581)
        return false;
    return sw == 0x9000 || (sw1 >= 0x61 && sw1 <= 0x6F);
}

static void hexdump(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02X", b[i]);
    if (n * 2 + 1 > cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

/* Send one command; checks the answer's shape. want: exact SW, or 0 for any precise one. */
static uint16_t send(run *r, const uint8_t *apdu, size_t n, uint16_t want)
{
    static uint8_t resp[APDU_MAX_RAPDU];
    size_t rlen = sizeof(resp);
    char hex[80];
    hexdump(apdu, n, hex, sizeof(hex));
    ck_assert_int_eq(sim_conn_process(r->conn, apdu, n, resp, &rlen), SIM_OK);
    ck_assert_uint_ge(rlen, 2);
    uint16_t sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
    r->sent++;
    ck_assert_msg(sw_precise(sw), "%s: %s answered %04X", r->profile, hex, sw);
    ck_assert_msg(sw_has_data(sw) || rlen == 2, "%s: %s answered %04X with %zu data bytes",
                  r->profile, hex, sw, rlen - 2);
    if (want != 0)
        ck_assert_msg(sw == want, "%s: %s answered %04X, want %04X", r->profile, hex, sw, want);
    return sw;
}

static bool in_table(const sim_dialect *d, uint8_t cls, uint8_t ins)
{
    for (size_t i = 0; i < d->ncmds; i++)
        if (d->cmds[i].cla == cls && d->cmds[i].ins == ins)
            return true;
    return false;
}

static bool ins_known(const sim_dialect *d, uint8_t ins)
{
    for (size_t i = 0; i < d->ncmds; i++)
        if (d->cmds[i].ins == ins)
            return true;
    return false;
}

/* Build header + optional Lc/data + optional Le (short form). */
static size_t build(uint8_t *b, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
                    const uint8_t *data, size_t nc, long le)
{
    size_t n = 0;
    b[n++] = cla;
    b[n++] = ins;
    b[n++] = p1;
    b[n++] = p2;
    if (nc > 0) {
        b[n++] = (uint8_t)nc;
        memcpy(b + n, data, nc);
        n += nc;
    }
    if (le >= 0)
        b[n++] = (uint8_t)le;
    return n;
}

/* Hostile data fields: garbage BER-TLV with impossible lengths, nested templates
 * running past their parent, zeros, all-ones, and plausible FIDs / key references. */
static const struct {
    const char *name;
    uint8_t b[24];
    size_t n;
} datas[] = {
    {"one zero", {0x00}, 1},
    {"fid 3F00", {0x3F, 0x00}, 2},
    {"fid FFFF", {0xFF, 0xFF}, 2},
    {"tlv len 81 FF", {0x62, 0x81, 0xFF, 0x80}, 4},
    {"tlv len 84 huge", {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}, 7},
    {"tlv len 85", {0x83, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00, 0x3F}, 8},
    {"nested overrun", {0x62, 0x06, 0xA5, 0x10, 0x80, 0x02, 0x00, 0x01}, 8},
    {"tag only", {0x5F}, 1},
    {"long tag", {0x5F, 0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x00}, 7},
    {"indefinite", {0x30, 0x80, 0x02, 0x01, 0x00, 0x00, 0x00}, 7},
    {"mse crt", {0x84, 0x01, 0xFF, 0x80, 0x01, 0xFF, 0x83, 0x00}, 8},
    {"7F49 template", {0x7F, 0x49, 0x04, 0x81, 0x02, 0x00, 0x00}, 7},
    {"ac 86 garbage", {0xAC, 0x05, 0x80, 0x01, 0xFF, 0x86, 0x7F}, 7},
    {"pin-like", {0x31, 0x32, 0x33, 0x34}, 4},
};

static const uint8_t p_values[] = {0x00, 0x01, 0x02, 0x04, 0x08, 0x0C,
                                   0x41, 0x80, 0x81, 0x9E, 0xB6, 0xFF};

static void hostile_ins(run *r, uint8_t cls, uint8_t ins, unsigned flags, bool generates)
{
    uint8_t b[4 + 3 + 600];
    static uint8_t big[512];
    const sim_dialect *d = r->d;
    size_t n;
    uint16_t w;

    memset(big, 0xFF, sizeof(big));
    /* ---- forms whose answer ISO/the engine fixes -------------------------------- */
    /* Lc says 10, three bytes follow: a malformed command */
    n = build(b, cls, ins, 0, 0, (const uint8_t *)"\x01\x02\x03", 3, -1);
    b[4] = 10;
    send(r, b, n, APDU_SW_WRONG_LENGTH);
    /* Lc 0 in short form is not a valid encoding either */
    n = build(b, cls, ins, 0, 0, NULL, 0, -1);
    b[n++] = 0x00;
    b[n++] = 0x01;
    send(r, b, n, APDU_SW_WRONG_LENGTH);
    /* secure messaging and logical channels are not offered */
    n = build(b, (uint8_t)(cls | 0x0C), ins, 0, 0, NULL, 0, -1);
    send(r, b, n, APDU_SW_SECURE_MESSAGING);
    n = build(b, (uint8_t)(cls | 0x03), ins, 0, 0, NULL, 0, -1);
    send(r, b, n, APDU_SW_LOGICAL_CHANNEL);
    /* the other class: unsupported unless the table has it too */
    n = build(b, (uint8_t)(cls ^ 0x80), ins, 0, 0, NULL, 0, -1);
    if (!in_table(d, (uint8_t)(cls ^ 0x80), ins))
        send(r, b, n, APDU_SW_CLA_UNSUPPORTED);
    n = build(b, (uint8_t)(cls | 0x20), ins, 0, 0, NULL, 0, -1);
    send(r, b, n, APDU_SW_CLA_UNSUPPORTED);
    /* extended length on a dialect without it */
    if (!d->extended_apdus) {
        uint8_t e[] = {cls, ins, 0, 0, 0x00, 0x00, 0x00};
        send(r, e, sizeof(e), APDU_SW_WRONG_LENGTH);
        uint8_t e3[4 + 3 + 2] = {cls, ins, 0, 0, 0x00, 0x00, 0x02, 0x3F, 0x00};
        send(r, e3, sizeof(e3), APDU_SW_WRONG_LENGTH);
    }
    /* a chained part of a command that does not chain */
    n = build(b, (uint8_t)(cls | 0x10), ins, 0, 0, (const uint8_t *)"\x3F\x00", 2, -1);
    if (!(flags & SIM_CMD_CHAINING))
        send(r, b, n, APDU_SW_CHAINING_UNSUPPORTED);

    /* ---- everything else: any precise answer ---------------------------------- */
    /* Key generation succeeds for many P1-P2 and costs a prime search each time: its
     * sweep is the corners only (the rest of its hostile forms still run). */
    size_t np = generates ? 3 : VT_ARRAY_LEN(p_values);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < np; j++) {
            uint8_t p1 = p_values[generates ? i * 5 : i], p2 = p_values[generates ? j * 5 : j];
            /* case 1, case 2 (Le 01 and 00 = 256), case 3 and 4 with a FID */
            send(r, b, build(b, cls, ins, p1, p2, NULL, 0, -1), 0);
            send(r, b, build(b, cls, ins, p1, p2, NULL, 0, 1), 0);
            send(r, b, build(b, cls, ins, p1, p2, NULL, 0, 0), 0);
            send(r, b, build(b, cls, ins, p1, p2, (const uint8_t *)"\x3F\x00", 2, -1), 0);
            send(r, b, build(b, cls, ins, p1, p2, (const uint8_t *)"\x00\x01", 2, 0), 0);
        }
    for (size_t k = 0; k < VT_ARRAY_LEN(datas); k++) {
        send(r, b, build(b, cls, ins, 0, 0, datas[k].b, datas[k].n, -1), 0);
        send(r, b, build(b, cls, ins, 0x41, 0xB6, datas[k].b, datas[k].n, 0), 0);
        send(r, b, build(b, cls, ins, 0x08, 0x0C, datas[k].b, datas[k].n, 0), 0);
    }
    /* 255 bytes of FF, with and without Le; out-of-range offsets */
    send(r, b, build(b, cls, ins, 0, 0, big, 255, -1), 0);
    send(r, b, build(b, cls, ins, 0x7F, 0xFF, big, 255, 0), 0);
    send(r, b, build(b, cls, ins, 0x7F, 0xFF, NULL, 0, 0), 0);
    send(r, b, build(b, cls, ins, 0x80, 0x00, NULL, 0, 0), 0);
    /* extended forms: Le 65536, Lc 300 */
    {
        uint8_t e2[] = {cls, ins, 0, 0, 0x00, 0x00, 0x00};
        send(r, e2, sizeof(e2), d->extended_apdus ? 0 : APDU_SW_WRONG_LENGTH);
        uint8_t e3[4 + 3 + 300 + 2] = {cls, ins, 0, 0, 0x00, 0x01, 0x2C};
        memset(e3 + 7, 0xA5, 300);
        send(r, e3, 7 + 300, d->extended_apdus ? 0 : APDU_SW_WRONG_LENGTH);
        e3[7 + 300] = 0xFF;
        e3[7 + 301] = 0xFF;
        send(r, e3, sizeof(e3), d->extended_apdus ? 0 : APDU_SW_WRONG_LENGTH);
    }
    /* a chain of garbage: parts, then the last part (or a mismatch that ends it) */
    if (flags & SIM_CMD_CHAINING) {
        size_t parts = d->max_chain / 255 + 2; /* more than the dialect takes */
        for (size_t p = 0; p < parts; p++) {
            w = send(r, b, build(b, (uint8_t)(cls | 0x10), ins, 0, 0, big, 255, -1), 0);
            if (w != APDU_SW_OK)
                break;
        }
        send(r, b, build(b, cls, ins, 0, 0, big, 10, 0), 0);
        send(r, b, build(b, (uint8_t)(cls | 0x10), ins, 0, 0, big, 10, -1), 0);
        /* another instruction in the middle of a chain */
        send(r, b, build(b, cls, (uint8_t)(ins ^ 0x01), 0, 0, NULL, 0, -1), 0);
    }
}

static void hostile_card(run *r, const family *fam)
{
    uint8_t b[8];
    const sim_dialect *d = r->d;
    for (size_t i = 0; i < d->ncmds; i++)
        hostile_ins(r, d->cmds[i].cla, d->cmds[i].ins, d->cmds[i].flags,
                    strstr(d->cmds[i].name, "GENERATE") != NULL);
    /* every instruction the dialect does not have */
    for (unsigned ins = 0; ins < 256; ins++) {
        static const uint8_t classes[] = {0x00, 0x80};
        if (ins == 0xC0) /* GET RESPONSE: the engine's own */
            continue;
        for (size_t c = 0; c < 2; c++) {
            size_t n = build(b, classes[c], (uint8_t)ins, 0, 0, NULL, 0, 0);
            if (!ins_known(d, (uint8_t)ins))
                send(r, b, n, APDU_SW_INS_UNSUPPORTED);
            else if (!in_table(d, classes[c], (uint8_t)ins))
                send(r, b, n, APDU_SW_CLA_UNSUPPORTED);
        }
    }
    /* GET RESPONSE with nothing pending, with P1-P2, with data */
    send(r, (const uint8_t *)"\x00\xC0\x00\x00\x08", 5, APDU_SW_CONDITIONS);
    send(r, (const uint8_t *)"\x00\xC0\x01\x00\x08", 5, APDU_SW_WRONG_P1P2);
    send(r, (const uint8_t *)"\x00\xC0\x00\x00\x01\x00", 6, APDU_SW_WRONG_LENGTH);
    send(r, (const uint8_t *)"\x01\xC0\x00\x00\x08", 5, APDU_SW_LOGICAL_CHANNEL);
    /* CLA FF is PPS, not a command */
    send(r, (const uint8_t *)"\xFF\xA4\x00\x00", 4, APDU_SW_CLA_UNSUPPORTED);
    /* too short to be a command at all */
    send(r, (const uint8_t *)"\x00\xA4\x00", 3, APDU_SW_WRONG_LENGTH);
    send(r, (const uint8_t *)"", 0, APDU_SW_WRONG_LENGTH);
    (void)fam;
}

static void alive(run *r, const family *fam, tcard *t)
{
    static uint8_t resp[APDU_MAX_RAPDU];
    size_t rlen = sizeof(resp);
    uint8_t atr[33];
    size_t alen = sizeof(atr);
    ks_image img;
    /* the card answers after a reset, and its image loads */
    ck_assert_int_eq(sim_conn_reset(r->conn, atr, &alen), SIM_OK);
    ck_assert_int_eq(sim_conn_process(r->conn, fam->alive, 5, resp, &rlen), SIM_OK);
    ck_assert_uint_eq(rlen, 10);
    ck_assert_uint_eq(resp[8] << 8 | resp[9], 0x9000);
    tc_load(t, &img);
    ck_assert_str_eq(img.profile, fam->profile);
    ks_image_free(&img);
}

static void replay(sim_conn *c, const char *path)
{
    char line[8192];
    uint8_t capdu[APDU_MAX_CAPDU];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] != '>')
            continue;
        /* the transcripts' HH*N shorthand: expand before decoding */
        char hex[16384];
        size_t o = 0;
        for (char *p = line + 1; *p && o + 3 < sizeof(hex);) {
            if (*p == ' ' || *p == '\n') {
                p++;
                continue;
            }
            char pair[3] = {p[0], p[1], 0};
            p += 2;
            long rep = 1;
            if (*p == '*')
                rep = strtol(p + 1, &p, 10);
            for (long k = 0; k < rep && o + 3 < sizeof(hex); k++) {
                hex[o++] = pair[0];
                hex[o++] = pair[1];
            }
        }
        hex[o] = '\0';
        long n = vt_hex_decode(hex, capdu, sizeof(capdu));
        ck_assert_int_ge(n, 4);
        uint8_t resp[APDU_MAX_RAPDU];
        size_t rlen = sizeof(resp);
        ck_assert_int_eq(sim_conn_process(c, capdu, (size_t)n, resp, &rlen), SIM_OK);
    }
    fclose(f);
}

/* tc_setup(), in /dev/shm when there is one: thousands of commands write the image. */
static void setup_card(tcard *t, const char *profile)
{
    uint8_t atr[33];
    size_t alen = sizeof(atr);
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "%s/vt-hostile.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/card.img", t->dir);
    ck_assert_int_eq(sim_card_create(t->path, profile, false), SIM_OK);
    ck_assert_int_eq(sim_card_open(t->path, &t->card, NULL), SIM_OK);
    ck_assert_int_eq(sim_conn_open(t->card, &t->conn), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(t->conn, atr, &alen), SIM_OK);
}

/* _i: family index * 2 + state (0: factory card; 1: keys made, user PIN verified) */
START_TEST(test_hostile_commands)
{
    const family *fam = &families[_i / 2];
    tcard t;
    run r = {0};
    setup_card(&t, fam->profile);
    if (_i % 2 == 1) {
        char path[512];
        snprintf(path, sizeof(path), "%s/transcripts/%s/%s", VT_VECTORS_DIR, fam->profile,
                 fam->keys_transcript);
        replay(t.conn, path);
    }
    r.conn = t.conn;
    r.d = sim_dialect_by_name(fam->profile);
    r.profile = fam->profile;
    ck_assert_ptr_nonnull(r.d);
    hostile_card(&r, fam);
    ck_assert_uint_gt(r.sent, 1000);
    alive(&r, fam, &t);
    tc_teardown(&t);
}
END_TEST

Suite *hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_hostile_commands, 0, (int)(2 * VT_ARRAY_LEN(families)));
    suite_add_tcase(s, tc);
    return s;
}
