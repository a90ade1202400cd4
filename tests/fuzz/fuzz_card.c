/* fuzz_card_<family>: one dialect's card engine (FUZZ_PROFILE) driven by a session.
 * Input: a flags byte (bit 0: start from a card holding the keys of the family's keys
 * transcript, else a factory card), then records of a 2-byte big-endian length and that
 * many bytes of command APDU; lengths from FFF0 up are events:
 *   FFFF warm reset   FFFE power off and on   FFFD switch to the other connection
 *   FFFC power off    FFFB <c> response buffer of 2+c bytes (c = FF: full size)
 *   FFFA close and reopen the card (a new process)   FFF9 / FFF8 begin / end transaction
 * Properties: every command on a powered connection is answered with a well-formed
 * ISO status word, never the catch-all 6F00 and never data with an error; an unpowered
 * connection answers nothing; no response holds 16 bytes of a private key the host did
 * not send itself; and the image on disk always loads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "image.h"
#include "sim_int.h"

#ifndef FUZZ_PROFILE
#error "FUZZ_PROFILE (kaztoken, etoken, jacarta) must be defined"
#endif

static vt_buf tmpl[2];
static char card_path[512];
static fz_secrets secrets, tmpl_secrets;

static void make_template(int which, vt_buf *out)
{
    char path[512], name[64], tdir[512];
    sim_card *card = NULL;
    sim_conn *conn = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    snprintf(name, sizeof(name), "template%d.img", which);
    fz_path(path, sizeof(path), name);
    FZ_REQUIRE(sim_card_create(path, FUZZ_PROFILE, true) == SIM_OK);
    if (which == 1) {
        FZ_REQUIRE(sim_card_open(path, &card, NULL) == SIM_OK);
        FZ_REQUIRE(sim_conn_open(card, &conn) == SIM_OK);
        FZ_REQUIRE(sim_conn_power_on(conn, atr, &alen) == SIM_OK);
        /* the family's keys transcript: an imported test key and one made on the card */
        snprintf(tdir, sizeof(tdir), "%s/transcripts/%s", VT_VECTORS_DIR, FUZZ_PROFILE);
        const char *keys = strcmp(FUZZ_PROFILE, "jacarta") == 0 ? "05-keys.apdu" : "04-keys.apdu";
        char tpath[768];
        snprintf(tpath, sizeof(tpath), "%s/%s", tdir, keys);
        fz_replay_transcript(conn, tpath);
        sim_conn_close(conn);
        sim_card_close(card);
    }
    FZ_REQUIRE(fz_read_file(path, out));
}

static void init(void)
{
    make_template(0, &tmpl[0]);
    make_template(1, &tmpl[1]);
    fz_secrets_add_image(&tmpl_secrets, tmpl[1].data, tmpl[1].len);
    FZ_REQUIRE(tmpl_secrets.nkeys >= 1);
    fz_path(card_path, sizeof(card_path), "card.img");
    /* tests/fuzz/make_seeds.py takes the two starting images as fuzz_image seeds */
    const char *save = getenv("FUZZ_SAVE_TEMPLATES");
    if (save != NULL) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s-factory.img", save, FUZZ_PROFILE);
        fz_write_file(path, tmpl[0].data, tmpl[0].len);
        snprintf(path, sizeof(path), "%s/%s-keys.img", save, FUZZ_PROFILE);
        fz_write_file(path, tmpl[1].data, tmpl[1].len);
    }
}

static bool sw_has_data(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    return sw1 == 0x90 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63;
}

static bool sw_valid(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    return sw == 0x9000 || (sw1 >= 0x61 && sw1 <= 0x6F && sw1 != 0x60);
}

typedef struct session {
    sim_card *card;
    sim_conn *conn[2];
    int cur;
    size_t cap;
    uint64_t gen;
    vt_buf file;
} session;

static void open_card(session *s)
{
    uint8_t atr[33];
    char *why = NULL;
    sim_status st = sim_card_open(card_path, &s->card, &why);
    if (st != SIM_OK)
        fz_fail("the card image does not load: %s: %s", sim_strerror(st), why ? why : "");
    for (int i = 0; i < 2; i++) {
        size_t alen = sizeof(atr);
        FZ_REQUIRE(sim_conn_open(s->card, &s->conn[i]) == SIM_OK);
        FZ_REQUIRE(sim_conn_power_on(s->conn[i], atr, &alen) == SIM_OK);
    }
    s->gen = sim_card_generation(s->card);
}

static void close_card(session *s)
{
    for (int i = 0; i < 2; i++)
        sim_conn_close(s->conn[i]);
    sim_card_close(s->card);
    s->card = NULL;
}

/* After each command: learn the keys the card holds now, in memory (a transaction's
 * writes reach the file when it ends) and on disk. */
static void track_keys(session *s)
{
    fz_secrets_add_img(&secrets, &s->card->img);
    uint64_t gen = sim_card_generation(s->card);
    if (gen == s->gen)
        return;
    s->gen = gen;
    FZ_REQUIRE(fz_read_file(card_path, &s->file));
    fz_secrets_add_image(&secrets, s->file.data, s->file.len);
}

static void command(session *s, const uint8_t *apdu, size_t n, const uint8_t *input, size_t ilen)
{
    static uint8_t r[APDU_MAX_RAPDU];
    sim_conn *c = s->conn[s->cur];
    size_t rlen = s->cap;
    bool powered = sim_conn_powered(c);
    sim_status st = sim_conn_process(c, apdu, n, r, &rlen);
    if (!powered) {
        FZ_REQUIRE(st == SIM_ERR_POWER);
        return;
    }
    FZ_REQUIRE(st == SIM_OK);
    FZ_REQUIRE(rlen >= 2 && rlen <= s->cap);
    uint16_t sw = (uint16_t)(r[rlen - 2] << 8 | r[rlen - 1]);
    if (!sw_valid(sw))
        fz_fail("status word %04X is not an ISO one", sw);
    if (sw == 0x6F00)
        fz_fail("6F00 (no precise diagnosis) for INS %02X", n >= 2 ? apdu[1] : 0);
    if (!sw_has_data(sw) && rlen != 2)
        fz_fail("status word %04X came with %zu data bytes", sw, rlen - 2);
    track_keys(s);
    if (fz_secrets_leak(&secrets, r, rlen - 2, input, ilen))
        fz_fail("INS %02X answered (SW %04X) private key bytes", n >= 2 ? apdu[1] : 0, sw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    session s = {0};
    uint8_t atr[33];
    size_t alen;

    if (!ready) {
        init();
        ready = true;
    }
    if (size < 1)
        return 0;
    const vt_buf *t = &tmpl[data[0] & 1];
    fz_write_file(card_path, t->data, t->len);
    secrets = tmpl_secrets;
    s.cap = APDU_MAX_RAPDU;
    open_card(&s);

    size_t off = 1;
    while (off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        sim_conn *c = s.conn[s.cur];
        alen = sizeof(atr);
        switch (len) {
        case 0xFFFF:
            if (sim_conn_powered(c))
                FZ_REQUIRE(sim_conn_reset(c, atr, &alen) == SIM_OK);
            continue;
        case 0xFFFE:
            sim_conn_power_off(c);
            FZ_REQUIRE(sim_conn_power_on(c, atr, &alen) == SIM_OK);
            continue;
        case 0xFFFD:
            /* One thread drives both connections: the other one would wait for this
             * one's transaction forever, so switching ends it. */
            FZ_REQUIRE(sim_conn_end(c) == SIM_OK);
            s.cur ^= 1;
            continue;
        case 0xFFFC:
            sim_conn_power_off(c);
            continue;
        case 0xFFFB:
            if (off < size) {
                s.cap = data[off] == 0xFF ? APDU_MAX_RAPDU : 2 + (size_t)data[off];
                off++;
            }
            continue;
        case 0xFFFA:
            close_card(&s);
            open_card(&s);
            continue;
        case 0xFFF9:
            if (sim_conn_powered(c))
                FZ_REQUIRE(sim_conn_begin(c) == SIM_OK);
            continue;
        case 0xFFF8:
            if (sim_conn_powered(c))
                FZ_REQUIRE(sim_conn_end(c) == SIM_OK);
            continue;
        default:
            break;
        }
        if (len >= 0xFFF0)
            continue;
        if (len > size - off)
            len = size - off;
        command(&s, data + off, len, data, size);
        off += len;
    }
    close_card(&s);
    /* whatever the session did, the image on disk is whole */
    ks_image img;
    ks_image_init(&img);
    FZ_REQUIRE(fz_read_file(card_path, &s.file));
    FZ_REQUIRE(ks_image_decode(s.file.data, s.file.len, &img) == KS_OK);
    ks_image_free(&img);
    vt_buf_free(&s.file);
    return 0;
}
