/* fuzz_p12: the PKCS#12 reader (ks_p12_open_mem, the path ks_p12_open takes after reading
 * the file) on any bytes, under NCA's test password "Qwerty12". Input: a flags byte, then
 * the file. With flags bit 0 set, the input is also read a second time with its MAC
 * recomputed under the password (1 iteration), so that mutations get past the MAC to the
 * safes and bags behind it. Properties: no crash, leak or hang; a handle exactly on
 * success; every accessor answers within bounds on what opened. */
#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <stdlib.h>
#include <string.h>

#include "p12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define PW "Qwerty12"

static ks_p12_ctx *ctx;

static void read_all(const uint8_t *d, size_t n)
{
    ks_p12 *p = NULL;
    char *why = NULL;
    ks_status st = ks_p12_open_mem(ctx, d, n, PW, strlen(PW), &p, &why);
    REQUIRE((st == KS_OK) == (p != NULL));
    REQUIRE(st == KS_OK || why != NULL);
    free(why);
    if (p == NULL)
        return;
    static const ks_p12_kind kinds[] = {KS_P12_KEY, KS_P12_CERT};
    for (size_t k = 0; k < 2; k++) {
        size_t cnt = ks_p12_count(p, kinds[k]);
        for (size_t i = 0; i <= cnt; i++) {
            size_t len = 0;
            const char *fn = ks_p12_friendly_name(p, kinds[k], i);
            const uint8_t *id = ks_p12_local_key_id(p, kinds[k], i, &len);
            if (fn != NULL)
                REQUIRE(strlen(fn) < 1u << 20);
            if (id != NULL)
                REQUIRE(len > 0 && len < 1u << 20);
            if (kinds[k] == KS_P12_KEY) {
                EVP_PKEY *key = ks_p12_key(p, i);
                if (key != NULL)
                    REQUIRE(EVP_PKEY_get_bits(key) >= 0);
            } else {
                const uint8_t *der = ks_p12_cert_der(p, i, &len);
                X509 *x = ks_p12_cert(p, i);
                REQUIRE(i < cnt || (x == NULL && der == NULL));
                if (der != NULL)
                    REQUIRE(len > 0);
            }
        }
    }
    ks_p12_info info;
    ks_p12_get_info(p, &info);
    ks_p12_close(p);
}

/* The input with its MAC made again under PW, or nothing when it has none. */
static bool remac(const uint8_t *d, size_t n, unsigned char **out, int *outlen)
{
    const unsigned char *q = d;
    PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)n);
    bool ok = false;
    *out = NULL;
    if (p12 == NULL)
        return false;
    if (PKCS12_mac_present(p12) &&
        PKCS12_set_mac(p12, PW, (int)strlen(PW), NULL, 0, 1, EVP_sha1()) == 1) {
        *outlen = i2d_PKCS12(p12, out);
        ok = *outlen > 0;
    }
    PKCS12_free(p12);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ctx == NULL)
        REQUIRE(ks_p12_ctx_new(&ctx) == KS_OK);
    if (size < 1)
        return 0;
    /* an exact-size copy, so ASan sees any read past the end */
    uint8_t *d = malloc(size - 1 ? size - 1 : 1);
    REQUIRE(d != NULL);
    memcpy(d, data + 1, size - 1);
    read_all(d, size - 1);
    unsigned char *m = NULL;
    int mlen = 0;
    if ((data[0] & 1) && remac(d, size - 1, &m, &mlen))
        read_all(m, (size_t)mlen);
    OPENSSL_free(m);
    free(d);
    return 0;
}
