/* fuzz_image: the card-image loader (ks_image_decode) on any bytes, and the card engine
 * serving whatever it accepts. Properties: a refused image leaves the output empty; an
 * accepted one is canonical (re-encodes to the very same bytes); a card opened on it
 * reports its summary and answers every command of its family's golden transcripts
 * (key generation left out: it is slow and reads nothing from the image) plus a SELECT
 * and READ BINARY of each node with a well-formed status word; and what the card
 * writes back loads again. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "image.h"
#include "sim_int.h"

/* The commands of one family's transcripts, back to back: 2-byte length, bytes; a
 * length of FFFF is a warm reset. */
typedef struct script {
    char profile[32];
    vt_buf cmds;
} script;

static script scripts[3];
static size_t nscripts;
static char card_path[512];

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void load_script(script *sc, const char *profile)
{
    char dir[512], path[1024], line[8192];
    static uint8_t capdu[APDU_MAX_CAPDU];
    struct dirent **names = NULL;
    snprintf(sc->profile, sizeof(sc->profile), "%s", profile);
    snprintf(dir, sizeof(dir), "%s/transcripts/%s", VT_VECTORS_DIR, profile);
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0)
        fz_fail("no transcripts in %s", dir);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t l = strlen(nm);
        FILE *f;
        if (l < 5 || strcmp(nm + l - 5, ".apdu") != 0)
            goto next;
        snprintf(path, sizeof(path), "%s/%s", dir, nm);
        f = fopen(path, "r");
        FZ_REQUIRE(f != NULL);
        while (fgets(line, sizeof(line), f) != NULL) {
            if (line[0] == '!') {
                vt_buf_append(&sc->cmds, "\xff\xff", 2);
                continue;
            }
            if (line[0] != '>')
                continue;
            long cl = fz_parse_hex_line(line + 1, capdu, sizeof(capdu));
            FZ_REQUIRE(cl >= 0);
            /* key generation: slow, and it reads nothing from the image */
            if (cl >= 2 && (capdu[1] == 0x46 || capdu[1] == 0x47) && capdu[2] != 0x81)
                continue;
            uint8_t hdr[2] = {(uint8_t)(cl >> 8), (uint8_t)cl};
            vt_buf_append(&sc->cmds, hdr, 2);
            vt_buf_append(&sc->cmds, capdu, (size_t)cl);
        }
        fclose(f);
    next:
        free(names[i]);
    }
    free(names);
    FZ_REQUIRE(!sc->cmds.oom && sc->cmds.len > 0);
}

static void init(void)
{
    static const char *const profiles[] = {"kaztoken", "etoken", "jacarta"};
    for (size_t i = 0; i < VT_ARRAY_LEN(profiles); i++)
        load_script(&scripts[nscripts++], profiles[i]);
    fz_path(card_path, sizeof(card_path), "image.img");
}

static void send(sim_conn *c, const uint8_t *apdu, size_t n)
{
    static uint8_t r[APDU_MAX_RAPDU];
    size_t rlen = sizeof(r);
    FZ_REQUIRE(sim_conn_process(c, apdu, n, r, &rlen) == SIM_OK);
    FZ_REQUIRE(rlen >= 2 && rlen <= sizeof(r));
    uint8_t sw1 = r[rlen - 2];
    FZ_REQUIRE(sw1 == 0x90 || (sw1 >= 0x61 && sw1 <= 0x6F));
}

static void serve(const ks_image *img)
{
    const script *sc = NULL;
    sim_card *card = NULL;
    sim_conn *conn = NULL;
    sim_card_info info;
    char *why = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);

    for (size_t i = 0; i < nscripts; i++)
        if (strcmp(scripts[i].profile, img->profile) == 0)
            sc = &scripts[i];
    sim_status st = sim_card_open(card_path, &card, &why);
    if (st != SIM_OK) {
        /* refused (unknown profile, say): with a reason, and the file untouched */
        FZ_REQUIRE(st == SIM_ERR_IMAGE || st == SIM_ERR_PROFILE || st == SIM_ERR_IO);
        free(why);
        return;
    }
    FZ_REQUIRE(sim_card_get_info(card, &info) == SIM_OK);
    FZ_REQUIRE(sim_conn_open(card, &conn) == SIM_OK);
    FZ_REQUIRE(sim_conn_power_on(conn, atr, &alen) == SIM_OK);
    /* every node the image claims, selected by path and read */
    for (size_t i = 0; i < img->nnodes && i < 64; i++) {
        const ks_node *nd = &img->nodes[i];
        uint8_t sel[5 + 16 + 1] = {0x00, 0xA4, 0x08, 0x00};
        size_t pl = nd->path_len >= 2 ? nd->path_len - 2 : 0;
        if (pl == 0 || pl > 14)
            continue;
        sel[4] = (uint8_t)pl;
        memcpy(sel + 5, nd->path + 2, pl);
        sel[5 + pl] = 0x00;
        send(conn, sel, 6 + pl);
        send(conn, (const uint8_t *)"\x00\xB0\x00\x00\x00", 5);
    }
    if (sc != NULL) {
        size_t off = 0;
        while (off + 2 <= sc->cmds.len) {
            size_t l = (size_t)sc->cmds.data[off] << 8 | sc->cmds.data[off + 1];
            off += 2;
            if (l == 0xFFFF) {
                alen = sizeof(atr);
                FZ_REQUIRE(sim_conn_reset(conn, atr, &alen) == SIM_OK);
                continue;
            }
            send(conn, sc->cmds.data + off, l);
            off += l;
        }
    }
    sim_conn_close(conn);
    sim_card_close(card);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    ks_image img, again;
    vt_buf der = {0};

    if (!ready) {
        init();
        ready = true;
    }
    ks_image_init(&img);
    if (ks_image_decode(data, size, &img) != KS_OK) {
        FZ_REQUIRE(img.nnodes == 0 && img.nodes == NULL);
        return 0;
    }
    /* canonical: what decodes re-encodes to the same bytes */
    FZ_REQUIRE(ks_image_encode(&img, &der) == KS_OK);
    if (der.len != size || memcmp(der.data, data, size) != 0)
        fz_fail("image decoded but re-encodes differently (%zu -> %zu bytes)", size, der.len);
    ks_image_init(&again);
    FZ_REQUIRE(ks_image_copy(&again, &img) == KS_OK);
    ks_image_free(&again);

    fz_write_file(card_path, data, size);
    serve(&img);
    /* what the card wrote back (PIN tries, say) loads */
    FZ_REQUIRE(fz_read_file(card_path, &der));
    ks_image_init(&again);
    if (ks_image_decode(der.data, der.len, &again) != KS_OK)
        fz_fail("the card wrote an image that does not load");
    ks_image_free(&again);
    ks_image_free(&img);
    vt_buf_free(&der);
    return 0;
}
