/* Scratch files, transcript replay and the private-key leak check shared by the card and
 * image fuzz targets (see fuzz_common.h). */
#include "fuzz_common.h"

#include <ctype.h>
#include <dirent.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "sim_int.h"

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz property failed: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static char scratch[256];

static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    struct dirent *e;
    char p[512];
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
            continue;
        snprintf(p, sizeof(p), "%s/%s", scratch, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(scratch);
}

const char *fz_scratch(void)
{
    if (scratch[0] != '\0')
        return scratch;
    /* tmpfs when there is one: every image write fsyncs, and that must not be the cost. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/vtoken-fuzz.XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(scratch) == NULL)
        fz_fail("cannot make a scratch directory under %s", base);
    atexit(remove_scratch);
    return scratch;
}

void fz_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", fz_scratch(), name);
}

void fz_write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    FZ_REQUIRE(f != NULL);
    FZ_REQUIRE(len == 0 || fwrite(data, 1, len, f) == len);
    FZ_REQUIRE(fclose(f) == 0);
}

bool fz_read_file(const char *path, vt_buf *buf)
{
    uint8_t chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    vt_buf_clear(buf);
    if (f == NULL)
        return false;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        vt_buf_append(buf, chunk, n);
    fclose(f);
    return !buf->oom;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long fz_parse_hex_line(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s != '\0') {
        if (isspace((unsigned char)*s)) {
            s++;
            continue;
        }
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0)
            return -1;
        uint8_t b = (uint8_t)(hi << 4 | lo);
        s += 2;
        unsigned long rep = 1;
        if (*s == '*') {
            char *end;
            rep = strtoul(s + 1, &end, 10);
            if (end == s + 1)
                return -1;
            s = end;
        }
        if (rep > cap - n)
            return -1;
        memset(out + n, b, rep);
        n += rep;
    }
    return (long)n;
}

void fz_replay_transcript(sim_conn *conn, const char *path)
{
    char line[8192];
    static uint8_t capdu[APDU_MAX_CAPDU], rapdu[APDU_MAX_RAPDU];
    uint8_t atr[33];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fz_fail("cannot read transcript %s", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t alen = sizeof(atr), rlen = sizeof(rapdu);
        if (strncmp(line, "! reset", 7) == 0) {
            FZ_REQUIRE(sim_conn_reset(conn, atr, &alen) == SIM_OK);
        } else if (strncmp(line, "! power", 7) == 0) {
            sim_conn_power_off(conn);
            FZ_REQUIRE(sim_conn_power_on(conn, atr, &alen) == SIM_OK);
        } else if (line[0] == '>') {
            long n = fz_parse_hex_line(line + 1, capdu, sizeof(capdu));
            if (n < 0)
                fz_fail("%s: bad command line: %s", path, line);
            FZ_REQUIRE(sim_conn_process(conn, capdu, (size_t)n, rapdu, &rlen) == SIM_OK);
        }
    }
    fclose(f);
}

/* ---- leaks --------------------------------------------------------------------- */

static void add_key(fz_secrets *s, const uint8_t *der, size_t len)
{
    static const char *const names[6] = {
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    const unsigned char *p = der;
    EVP_PKEY *pkey;
    size_t k = s->nkeys;
    uint8_t digest[32];
    if (k >= VT_ARRAY_LEN(s->part) || len == 0 || len > 4096 ||
        EVP_Digest(der, len, digest, NULL, EVP_sha256(), NULL) != 1)
        return;
    for (size_t i = 0; i < s->nseen; i++)
        if (memcmp(s->seen[i], digest, sizeof(digest)) == 0)
            return;
    if (s->nseen < VT_ARRAY_LEN(s->seen))
        memcpy(s->seen[s->nseen++], digest, sizeof(digest));
    pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    if (pkey == NULL)
        return;
    for (int j = 0; j < 6; j++) {
        BIGNUM *bn = NULL;
        size_t n = 0;
        if (EVP_PKEY_get_bn_param(pkey, names[j], &bn) == 1 &&
            (n = (size_t)BN_num_bytes(bn)) <= sizeof(s->part[k][j][0])) {
            BN_bn2bin(bn, s->part[k][j][0]);
            BN_bn2lebinpad(bn, s->part[k][j][1], (int)n);
        } else {
            n = 0;
        }
        s->len[k][j] = n;
        BN_clear_free(bn);
    }
    EVP_PKEY_free(pkey);
    /* already known? */
    for (size_t i = 0; i < k; i++)
        if (s->len[i][0] == s->len[k][0] &&
            memcmp(s->part[i][0][0], s->part[k][0][0], s->len[k][0]) == 0)
            return;
    s->nkeys++;
}

void fz_secrets_add_img(fz_secrets *s, const ks_image *img)
{
    for (size_t i = 0; i < img->nnodes; i++)
        if (img->nodes[i].type == SIM_NODE_PRIVKEY && img->nodes[i].body_len > 0)
            add_key(s, img->nodes[i].body, img->nodes[i].body_len);
}

void fz_secrets_add_image(fz_secrets *s, const uint8_t *der, size_t len)
{
    ks_image img;
    ks_image_init(&img);
    if (ks_image_decode(der, len, &img) != KS_OK)
        return;
    fz_secrets_add_img(s, &img);
    ks_image_free(&img);
}

bool fz_secrets_leak(const fz_secrets *s, const uint8_t *resp, size_t rlen, const uint8_t *input,
                     size_t ilen)
{
    for (size_t k = 0; k < s->nkeys; k++)
        for (int j = 0; j < 6; j++)
            for (int o = 0; o < 2; o++)
                for (size_t w = 0; w + 16 <= s->len[k][j]; w += 8) {
                    const uint8_t *win = s->part[k][j][o] + w;
                    if (memmem(resp, rlen, win, 16) != NULL && memmem(input, ilen, win, 16) == NULL)
                        return true;
                }
    return false;
}
