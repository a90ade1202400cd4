/* Test helpers for the applet-sim suites: temporary cards, APDU sending, and the
 * Kaztoken object and crypto plumbing the suites share. */
#include <dirent.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_test.h"

void rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (d == NULL) {
        unlink(dir);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rmrf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

void tc_setup(tcard *t, const char *profile)
{
    uint8_t atr[33];
    size_t alen = sizeof(atr);
    char *why = NULL;

    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/vt-sim-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/card.img", t->dir);
    ck_assert_int_eq(sim_card_create(t->path, profile, false), SIM_OK);
    ck_assert_int_eq(sim_card_open(t->path, &t->card, &why), SIM_OK);
    ck_assert_int_eq(sim_conn_open(t->card, &t->conn), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(t->conn, atr, &alen), SIM_OK);
}

void tc_teardown(tcard *t)
{
    sim_conn_close(t->conn);
    sim_card_close(t->card);
    rmrf(t->dir);
    memset(t, 0, sizeof(*t));
}

sim_conn *tc_conn(tcard *t)
{
    sim_conn *c = NULL;
    uint8_t atr[33];
    size_t alen = sizeof(atr);
    ck_assert_int_eq(sim_conn_open(t->card, &c), SIM_OK);
    ck_assert_int_eq(sim_conn_power_on(c, atr, &alen), SIM_OK);
    return c;
}

void tc_load(const tcard *t, ks_image *img)
{
    ks_image_file *f = NULL;
    ck_assert_int_eq(ks_image_file_open(t->path, &f), KS_OK);
    ck_assert_int_eq(ks_image_file_load(f, img), KS_OK);
    ks_image_file_close(f);
}

uint16_t tx_raw(sim_conn *c, const uint8_t *apdu, size_t len, vt_buf *resp)
{
    uint8_t r[APDU_MAX_RAPDU];
    size_t rlen = sizeof(r);
    ck_assert_int_eq(sim_conn_process(c, apdu, len, r, &rlen), SIM_OK);
    ck_assert_uint_ge(rlen, 2);
    if (resp != NULL)
        ck_assert(vt_buf_append(resp, r, rlen - 2));
    return (uint16_t)(r[rlen - 2] << 8 | r[rlen - 1]);
}

uint16_t tx(sim_conn *c, const char *hex, vt_buf *resp)
{
    uint8_t b[1024];
    long n = vt_hex_decode(hex, b, sizeof(b));
    ck_assert_msg(n >= 0, "bad hex in test: %s", hex);
    return tx_raw(c, b, (size_t)n, resp);
}

uint16_t txc(sim_conn *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
             size_t nc, long le, vt_buf *resp)
{
    uint8_t b[4 + 1 + 255 + 1];
    size_t off = 0;
    uint16_t sw = APDU_SW_OK;
    do {
        size_t part = nc - off > 255 ? 255 : nc - off;
        bool last = off + part == nc;
        size_t n = 0;
        b[n++] = (uint8_t)(cla | (last ? 0 : 0x10));
        b[n++] = ins;
        b[n++] = p1;
        b[n++] = p2;
        if (part > 0) {
            b[n++] = (uint8_t)part;
            memcpy(b + n, data + off, part);
            n += part;
        }
        if (last && le >= 0)
            b[n++] = (uint8_t)(le >= 256 ? 0 : le);
        sw = tx_raw(c, b, n, last ? resp : NULL);
        off += part;
        if (!last && sw != APDU_SW_OK)
            return sw;
    } while (off < nc);
    return sw;
}

uint16_t txd(sim_conn *c, const char *hdr, const char *data, long le, vt_buf *resp)
{
    uint8_t h[4], d[2048];
    long dn = vt_hex_decode(data, d, sizeof(d));
    ck_assert_int_eq(vt_hex_decode(hdr, h, sizeof(h)), 4);
    ck_assert_msg(dn >= 0, "bad hex in test: %s", data);
    return txc(c, h[0], h[1], h[2], h[3], d, (size_t)dn, le, resp);
}

uint16_t kz_verify_pin(sim_conn *c, uint8_t ref, const char *pin)
{
    return txc(c, 0x00, 0x20, 0x00, ref, (const uint8_t *)pin, strlen(pin), -1, NULL);
}

uint16_t kz_select_path(sim_conn *c, const char *hexpath)
{
    uint8_t p[16];
    long n = vt_hex_decode(hexpath, p, sizeof(p));
    ck_assert(n > 0);
    return txc(c, 0x00, 0xA4, 0x08, 0x0C, p, (size_t)n, -1, NULL);
}

uint16_t kz_create_key_files(sim_conn *c, uint8_t ref, unsigned bits, uint8_t auth)
{
    size_t half = bits / 16;
    size_t psize = half * 5 + 8, usize = half * 3;
    /* FCP as rtecp_construct_fci builds it; security attributes as rtecp_create_key:
     * update, use and delete with the key's PIN (the public half: use is free) */
    uint8_t priv[] = {0x62,
                      0x25,
                      0x80,
                      0x02,
                      (uint8_t)(psize >> 8),
                      (uint8_t)psize,
                      0x82,
                      0x02,
                      0x10,
                      0x00,
                      0x83,
                      0x02,
                      0x00,
                      ref,
                      0x85,
                      0x06,
                      0x23,
                      0x00,
                      0x00,
                      0xAA,
                      0x00,
                      0x00,
                      0x86,
                      0x0F,
                      0x46,
                      0x00,
                      auth,
                      auth,
                      0,
                      0,
                      0,
                      auth,
                      0,
                      0,
                      0,
                      0,
                      0,
                      0,
                      0};
    uint8_t pub[] = {0x62,
                     0x25,
                     0x80,
                     0x02,
                     (uint8_t)(usize >> 8),
                     (uint8_t)usize,
                     0x82,
                     0x02,
                     0x10,
                     0x00,
                     0x83,
                     0x02,
                     0x00,
                     ref,
                     0x85,
                     0x06,
                     0x33,
                     0x00,
                     0x00,
                     0xAA,
                     0x00,
                     0x00,
                     0x86,
                     0x0F,
                     0x46,
                     0x00,
                     auth,
                     0,
                     0,
                     0,
                     0,
                     auth,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0,
                     0};
    uint16_t sw;
    ck_assert_uint_eq(sizeof(priv), 2 + 0x25);
    sw = txc(c, 0x00, 0xE0, 0, 0, priv, sizeof(priv), -1, NULL);
    if (sw != APDU_SW_OK)
        return sw;
    return txc(c, 0x00, 0xE0, 0, 0, pub, sizeof(pub), -1, NULL);
}

static void reverse(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

uint16_t kz_generate_key(sim_conn *c, uint8_t ref, vt_buf *mod)
{
    vt_buf r = {0};
    uint16_t sw = txc(c, 0x00, 0x46, 0x80, ref, NULL, 0, 256, &r);
    if (sw == APDU_SW_OK && mod != NULL) {
        reverse(r.data, r.len);
        ck_assert(vt_buf_append(mod, r.data, r.len));
    }
    vt_buf_free(&r);
    return sw;
}

uint16_t kz_private_op(sim_conn *c, uint8_t ref, bool sign, const uint8_t *in, size_t len,
                       vt_buf *out)
{
    uint8_t mse[] = {0x84, 0x01, ref};
    uint8_t buf[512];
    vt_buf r = {0};
    uint16_t sw = txc(c, 0x00, 0x22, 0x41, sign ? 0xB6 : 0xB8, mse, sizeof(mse), -1, NULL);
    if (sw != APDU_SW_OK)
        return sw;
    ck_assert_uint_le(len, sizeof(buf));
    memcpy(buf, in, len);
    reverse(buf, len);
    sw = txc(c, 0x00, 0x2A, sign ? 0x9E : 0x80, sign ? 0x9A : 0x86, buf, len, 256, &r);
    if (sw == APDU_SW_OK && out != NULL) {
        reverse(r.data, r.len);
        ck_assert(vt_buf_append(out, r.data, r.len));
    }
    vt_buf_free(&r);
    return sw;
}

void rsa_public_op(const uint8_t *n, size_t nlen, const uint8_t *x, size_t xlen, uint8_t *out)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *bx = BN_bin2bn(x, (int)xlen, NULL);
    BIGNUM *be = BN_new(), *r = BN_new();
    ck_assert(ctx && bn && bx && be && r);
    ck_assert(BN_set_word(be, 65537));
    ck_assert(BN_mod_exp(r, bx, be, bn, ctx));
    ck_assert_int_eq(BN_bn2binpad(r, out, (int)nlen), (int)nlen);
    BN_free(bn);
    BN_free(bx);
    BN_free(be);
    BN_free(r);
    BN_CTX_free(ctx);
}

void kz_crd_body(const uint8_t *val, size_t len, vt_buf *out)
{
    uint8_t hdr[4] = {0x80, 0x02, (uint8_t)(len >> 8), (uint8_t)len};
    ck_assert(vt_buf_append(out, hdr, sizeof(hdr)));
    while (len > 0) {
        size_t pos = out->len % 255;
        size_t v = pos + len + 2 > 255 ? 255 - pos - 2 : len;
        ck_assert(vt_buf_append_byte(out, 0xA5));
        ck_assert(vt_buf_append_byte(out, (uint8_t)v));
        ck_assert(vt_buf_append(out, val, v));
        val += v;
        len -= v;
    }
}

bool mem_contains(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
    if (nlen == 0)
        return true;
    return hlen >= nlen && memmem(hay, hlen, needle, nlen) != NULL;
}
