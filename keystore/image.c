/* Card images in memory and as DER (schema keystore/image.asn, compiled into a
 * libtasn1 table). Decoding is strict: the bytes must be exactly what our encoder
 * would write for the decoded image, so a damaged or foreign file never half-loads. */
#include "image.h"
#include "ks_internal.h"

#include <libtasn1.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const asn1_static_node ks_image_asn1_tab[];

/* The definitions tree is built on first use and freed when the library goes away:
 * in a module that a host dlclose()s, a static tree never freed would be lost for good
 * (LeakSanitizer in the host reports it). Users hold the read lock only while they
 * copy the element they need out of it; the copy is theirs. */
static pthread_rwlock_t defs_lock = PTHREAD_RWLOCK_INITIALIZER;
static asn1_node defs;

static ks_status new_card_image(asn1_node *root)
{
    ks_status rv = KS_ERR_NOMEM;
    pthread_rwlock_rdlock(&defs_lock);
    if (defs == NULL) {
        /* First use (or first use after a release): build it under the write lock. */
        pthread_rwlock_unlock(&defs_lock);
        pthread_rwlock_wrlock(&defs_lock);
        if (defs == NULL) {
            char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
            if (asn1_array2tree(ks_image_asn1_tab, &defs, err) != ASN1_SUCCESS)
                defs = NULL;
        }
    }
    if (defs != NULL && asn1_create_element(defs, "VTokenImage.CardImage", root) == ASN1_SUCCESS)
        rv = KS_OK;
    pthread_rwlock_unlock(&defs_lock);
    return rv;
}

void ks_image_defs_release(void)
{
    pthread_rwlock_wrlock(&defs_lock);
    if (defs != NULL)
        asn1_delete_structure(&defs);
    defs = NULL;
    pthread_rwlock_unlock(&defs_lock);
}

/* Runs at exit, and at dlclose() of a module this library is linked into. A thread
 * still encoding then has its own element already (or waits for the lock and builds
 * the tree again). */
__attribute__((destructor)) static void defs_at_unload(void)
{
    ks_image_defs_release();
}

/* ---- in memory ---------------------------------------------------------------- */

void ks_image_init(ks_image *img)
{
    memset(img, 0, sizeof(*img));
    img->version = KS_IMAGE_VERSION;
}

static void node_free(ks_node *n)
{
    if (n->secret)
        vt_wipe(n->body, n->body_len);
    free(n->body);
    free(n->attrs);
    memset(n, 0, sizeof(*n));
}

void ks_image_free(ks_image *img)
{
    if (img == NULL)
        return;
    for (size_t i = 0; i < img->nnodes; i++)
        node_free(&img->nodes[i]);
    free(img->nodes);
    ks_image_init(img);
}

static bool node_valid(const ks_node *n)
{
    return n->path_len <= sizeof(n->path) && (n->attrs != NULL || n->attrs_len == 0) &&
           (n->body != NULL || n->body_len == 0) && n->counter >= -1 && n->counter_max >= -1;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t len, bool *ok)
{
    if (len == 0)
        return NULL;
    uint8_t *d = malloc(len);
    if (d == NULL)
        *ok = false;
    else
        memcpy(d, p, len);
    return d;
}

ks_status ks_image_add(ks_image *img, const ks_node *node)
{
    if (img == NULL || node == NULL || !node_valid(node))
        return KS_ERR_ARGS;
    if (img->nnodes >= SIZE_MAX / sizeof(ks_node) - 1)
        return KS_ERR_NOMEM;
    ks_node *grown = realloc(img->nodes, (img->nnodes + 1) * sizeof(*grown));
    if (grown == NULL)
        return KS_ERR_NOMEM;
    img->nodes = grown;
    ks_node *n = &img->nodes[img->nnodes];
    bool ok = true;
    *n = *node;
    n->attrs = dup_bytes(node->attrs, node->attrs_len, &ok);
    n->body = dup_bytes(node->body, node->body_len, &ok);
    if (!ok) {
        node_free(n);
        return KS_ERR_NOMEM;
    }
    img->nnodes++;
    return KS_OK;
}

ks_status ks_image_copy(ks_image *dst, const ks_image *src)
{
    ks_status rv = KS_OK;
    if (dst == NULL || src == NULL || dst == src)
        return KS_ERR_ARGS;
    ks_image_init(dst);
    memcpy(dst, src, sizeof(*dst));
    dst->nodes = NULL;
    dst->nnodes = 0;
    for (size_t i = 0; i < src->nnodes; i++) {
        rv = ks_image_add(dst, &src->nodes[i]);
        if (rv != KS_OK)
            goto out;
    }
out:
    if (rv != KS_OK)
        ks_image_free(dst);
    return rv;
}

/* ---- DER ---------------------------------------------------------------------- */

/* Minimal big-endian two's complement, as DER wants it. */
static size_t int_bytes(int64_t sv, uint64_t uv, bool is_signed, uint8_t out[9])
{
    uint8_t be[9];
    be[0] = is_signed && sv < 0 ? 0xff : 0x00;
    uint64_t v = is_signed ? (uint64_t)sv : uv;
    for (int i = 0; i < 8; i++)
        be[8 - i] = (uint8_t)(v >> (8 * i));
    size_t start = 0;
    while (start < 8 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
                         (be[start] == 0xff && (be[start + 1] & 0x80))))
        start++;
    memcpy(out, be + start, 9 - start);
    return 9 - start;
}

static int write_uint(asn1_node root, const char *name, uint64_t v)
{
    uint8_t b[9];
    size_t n = int_bytes(0, v, false, b);
    return asn1_write_value(root, name, b, (int)n);
}

static int write_int(asn1_node root, const char *name, int64_t v)
{
    uint8_t b[9];
    size_t n = int_bytes(v, 0, true, b);
    return asn1_write_value(root, name, b, (int)n);
}

/* An empty OCTET STRING or UTF8String still needs a non-NULL pointer. */
static int write_bytes(asn1_node root, const char *name, const void *p, size_t len)
{
    static const uint8_t none;
    return asn1_write_value(root, name, len ? p : &none, (int)len);
}

static bool image_valid(const ks_image *img)
{
    if (memchr(img->profile, '\0', sizeof(img->profile)) == NULL ||
        memchr(img->label, '\0', sizeof(img->label)) == NULL ||
        img->serial_len > sizeof(img->serial) || (img->nodes == NULL && img->nnodes > 0))
        return false;
    size_t total = 0;
    for (size_t i = 0; i < img->nnodes; i++) {
        const ks_node *n = &img->nodes[i];
        if (!node_valid(n))
            return false;
        /* Bound the sum before libtasn1 sees it: its lengths are ints. */
        if (n->attrs_len > KS_IMAGE_MAX_SIZE || n->body_len > KS_IMAGE_MAX_SIZE)
            return false;
        total += n->attrs_len + n->body_len + 64;
        if (total > KS_IMAGE_MAX_SIZE)
            return false;
    }
    return true;
}

ks_status ks_image_encode(const ks_image *img, vt_buf *der)
{
    asn1_node root = NULL;
    char name[64];
    int rc = ASN1_SUCCESS, len = 0;
    ks_status rv;

    if (img == NULL || der == NULL || !image_valid(img))
        return KS_ERR_ARGS;
    rv = new_card_image(&root);
    if (rv != KS_OK)
        return rv;

    /* Version 1 writes exactly version 1, whatever the struct says: the struct field
     * reports what was read, it does not choose a format. */
    rc = write_uint(root, "version", KS_IMAGE_VERSION);
    if (rc == ASN1_SUCCESS)
        rc = write_bytes(root, "profile", img->profile, strlen(img->profile));
    if (rc == ASN1_SUCCESS)
        rc = write_bytes(root, "serial", img->serial, img->serial_len);
    if (rc == ASN1_SUCCESS)
        rc = write_bytes(root, "label", img->label, strlen(img->label));
    if (rc == ASN1_SUCCESS)
        rc = write_uint(root, "generation", img->generation);
    if (rc == ASN1_SUCCESS)
        rc = write_uint(root, "lifecycle", img->lifecycle);
    if (rc == ASN1_SUCCESS)
        rc = asn1_write_value(root, "extensions", NULL, 0);
    for (size_t i = 0; i < img->nnodes && rc == ASN1_SUCCESS; i++) {
        const ks_node *n = &img->nodes[i];
        rc = asn1_write_value(root, "nodes", "NEW", 1);
#define F(field) (snprintf(name, sizeof(name), "nodes.?LAST." field), name)
        if (rc == ASN1_SUCCESS)
            rc = write_bytes(root, F("path"), n->path, n->path_len);
        if (rc == ASN1_SUCCESS)
            rc = write_uint(root, F("type"), n->type);
        if (rc == ASN1_SUCCESS)
            rc = asn1_write_value(root, F("secret"), n->secret ? "TRUE" : "FALSE", 1);
        if (rc == ASN1_SUCCESS)
            rc = write_bytes(root, F("attrs"), n->attrs, n->attrs_len);
        if (rc == ASN1_SUCCESS)
            rc = write_int(root, F("counter"), n->counter);
        if (rc == ASN1_SUCCESS)
            rc = write_int(root, F("counterMax"), n->counter_max);
        if (rc == ASN1_SUCCESS)
            rc = write_bytes(root, F("body"), n->body, n->body_len);
        if (rc == ASN1_SUCCESS)
            rc = asn1_write_value(root, F("extensions"), NULL, 0);
#undef F
    }
    if (rc != ASN1_SUCCESS) {
        rv = rc == ASN1_MEM_ALLOC_ERROR ? KS_ERR_NOMEM : KS_ERR_ARGS;
        goto out;
    }
    rc = asn1_der_coding(root, "", NULL, &len, NULL);
    if (rc != ASN1_MEM_ERROR || len <= 0) {
        rv = KS_ERR_ARGS;
        goto out;
    }
    if ((size_t)len > KS_IMAGE_MAX_SIZE) {
        rv = KS_ERR_ARGS;
        goto out;
    }
    if (!vt_buf_reserve(der, (size_t)len)) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    rc = asn1_der_coding(root, "", der->data + der->len, &len, NULL);
    if (rc != ASN1_SUCCESS) {
        rv = KS_ERR_ARGS;
        goto out;
    }
    der->len += (size_t)len;
    rv = KS_OK;
out:
    asn1_delete_structure2(&root, ASN1_DELETE_FLAG_ZEROIZE);
    return rv;
}

/* ---- decoding ----------------------------------------------------------------- */

typedef struct dec {
    asn1_node root;
    char why[128];
} dec;

static ks_status bad(dec *dc, const char *why)
{
    if (dc->why[0] == '\0')
        snprintf(dc->why, sizeof(dc->why), "%s", why);
    return KS_ERR_CORRUPT;
}

/* Read a primitive value into buf (cap bytes); *len gets its length. */
static ks_status read_into(dec *dc, const char *name, void *buf, size_t cap, size_t *len)
{
    int n = (int)cap;
    int rc = asn1_read_value(dc->root, name, buf, &n);
    if (rc == ASN1_MEM_ERROR)
        return bad(dc, "field too long");
    if (rc != ASN1_SUCCESS || n < 0)
        return bad(dc, "missing field");
    *len = (size_t)n;
    return KS_OK;
}

/* Read a value of any size into a fresh allocation (NULL when empty). */
static ks_status read_alloc(dec *dc, const char *name, uint8_t **out, size_t *len)
{
    int n = 0;
    int rc = asn1_read_value(dc->root, name, NULL, &n);
    *out = NULL;
    *len = 0;
    if (rc == ASN1_SUCCESS && n == 0)
        return KS_OK;
    if (rc != ASN1_MEM_ERROR || n <= 0)
        return bad(dc, "missing field");
    uint8_t *p = malloc((size_t)n);
    if (p == NULL)
        return KS_ERR_NOMEM;
    rc = asn1_read_value(dc->root, name, p, &n);
    if (rc != ASN1_SUCCESS) {
        free(p);
        return bad(dc, "unreadable field");
    }
    *out = p;
    *len = (size_t)n;
    return KS_OK;
}

/* INTEGER content bytes to a value within [lo, hi]. */
static ks_status read_int(dec *dc, const char *name, int64_t lo, uint64_t hi, int64_t *sv,
                          uint64_t *uv)
{
    uint8_t b[16];
    size_t n = 0;
    ks_status rv = read_into(dc, name, b, sizeof(b), &n);
    if (rv != KS_OK)
        return rv;
    if (n == 0 || n > 9)
        return bad(dc, "integer out of range");
    bool neg = (b[0] & 0x80) != 0;
    if (neg) {
        int64_t v = -1;
        if (n > 8)
            return bad(dc, "integer out of range");
        for (size_t i = 0; i < n; i++)
            v = (int64_t)(((uint64_t)v << 8) | b[i]);
        if (v < lo)
            return bad(dc, "integer out of range");
        *sv = v;
        *uv = 0;
        return KS_OK;
    }
    if (n == 9 && b[0] != 0)
        return bad(dc, "integer out of range");
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | b[i];
    if (v > hi)
        return bad(dc, "integer out of range");
    *uv = v;
    *sv = v <= INT64_MAX ? (int64_t)v : 0;
    return KS_OK;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t extra;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n)
            return false;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

static ks_status read_string(dec *dc, const char *name, char *out, size_t cap)
{
    size_t n = 0;
    ks_status rv = read_into(dc, name, out, cap - 1, &n);
    if (rv != KS_OK)
        return rv;
    if (!utf8_valid((const uint8_t *)out, n))
        return bad(dc, "text field is not UTF-8");
    out[n] = '\0';
    return KS_OK;
}

static bool present(dec *dc, const char *name)
{
    int n = 0;
    return asn1_number_of_elements(dc->root, name, &n) == ASN1_SUCCESS;
}

static ks_status decode_node(dec *dc, size_t idx, ks_node *n)
{
    char name[64];
    char flag[8];
    size_t len = 0;
    int64_t sv;
    uint64_t uv;
    ks_status rv;

#define F(field) (snprintf(name, sizeof(name), "nodes.?%zu." field, idx + 1), name)
    rv = read_into(dc, F("path"), n->path, sizeof(n->path), &n->path_len);
    if (rv == KS_OK)
        rv = read_int(dc, F("type"), 0, UINT32_MAX, &sv, &uv);
    if (rv == KS_OK) {
        n->type = (uint32_t)uv;
        rv = read_into(dc, F("secret"), flag, sizeof(flag) - 1, &len);
    }
    if (rv == KS_OK) {
        flag[len] = '\0';
        n->secret = strcmp(flag, "TRUE") == 0;
        rv = read_int(dc, F("counter"), -1, INT32_MAX, &sv, &uv);
    }
    if (rv == KS_OK) {
        n->counter = (int32_t)sv;
        rv = read_int(dc, F("counterMax"), -1, INT32_MAX, &sv, &uv);
    }
    if (rv == KS_OK) {
        n->counter_max = (int32_t)sv;
        rv = read_alloc(dc, F("attrs"), &n->attrs, &n->attrs_len);
    }
    if (rv == KS_OK)
        rv = read_alloc(dc, F("body"), &n->body, &n->body_len);
    if (rv == KS_OK && present(dc, F("extensions")))
        rv = bad(dc, "node extensions are not allowed in version 1");
#undef F
    return rv;
}

/* Only the version is read before the schema applies: a later version may change
 * everything after it, so it must be refused as "newer", not as "damaged". */
static ks_status peek_version(const uint8_t *der, size_t len, dec *dc)
{
    size_t i = 0;
    if (len < 2 || der[i++] != 0x30)
        return bad(dc, "not a card image (no outer SEQUENCE)");
    uint8_t l = der[i++];
    if (l & 0x80) {
        size_t nl = l & 0x7f;
        if (nl == 0 || nl > 4 || i + nl > len)
            return bad(dc, "bad outer length");
        i += nl;
    }
    if (i + 2 > len || der[i] != 0x02)
        return bad(dc, "no version field");
    size_t vl = der[i + 1];
    i += 2;
    if (vl == 0 || vl > 8 || i + vl > len)
        return bad(dc, "bad version field");
    if (der[i] & 0x80)
        return bad(dc, "negative version");
    uint64_t v = 0;
    for (size_t k = 0; k < vl; k++)
        v = (v << 8) | der[i + k];
    if (v == 0)
        return bad(dc, "version 0 does not exist");
    if (v != KS_IMAGE_VERSION) {
        snprintf(dc->why, sizeof(dc->why), "image format version %llu (this vtoken reads %d)",
                 (unsigned long long)v, KS_IMAGE_VERSION);
        return KS_ERR_VERSION;
    }
    return KS_OK;
}

static ks_status decode(const uint8_t *der, size_t len, ks_image *img, dec *dc)
{
    char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];
    int64_t sv;
    uint64_t uv;
    int count = 0;
    ks_status rv;

    if (len > KS_IMAGE_MAX_SIZE)
        return bad(dc, "image larger than the 4 MiB limit");
    rv = peek_version(der, len, dc);
    if (rv != KS_OK)
        return rv;
    rv = new_card_image(&dc->root);
    if (rv != KS_OK)
        return rv;
    int used = (int)len;
    err[0] = '\0';
    if (asn1_der_decoding2(&dc->root, der, &used, ASN1_DECODE_FLAG_STRICT_DER, err) !=
        ASN1_SUCCESS) {
        /* libtasn1 deletes the structure when decoding fails. */
        return bad(dc, "not valid DER for the card image schema");
    }
    if ((size_t)used != len)
        return bad(dc, "trailing bytes after the image");

    img->version = KS_IMAGE_VERSION;
    rv = read_string(dc, "profile", img->profile, sizeof(img->profile));
    if (rv == KS_OK)
        rv = read_into(dc, "serial", img->serial, sizeof(img->serial), &img->serial_len);
    if (rv == KS_OK)
        rv = read_string(dc, "label", img->label, sizeof(img->label));
    if (rv == KS_OK)
        rv = read_int(dc, "generation", 0, UINT64_MAX, &sv, &img->generation);
    if (rv == KS_OK)
        rv = read_int(dc, "lifecycle", 0, UINT32_MAX, &sv, &uv);
    if (rv != KS_OK)
        return rv;
    img->lifecycle = (uint32_t)uv;
    if (present(dc, "extensions"))
        return bad(dc, "extensions are not allowed in version 1");
    if (asn1_number_of_elements(dc->root, "nodes", &count) != ASN1_SUCCESS)
        count = 0;
    if (count < 0)
        return bad(dc, "bad node list");
    if (count > 0) {
        img->nodes = calloc((size_t)count, sizeof(ks_node));
        if (img->nodes == NULL)
            return KS_ERR_NOMEM;
    }
    for (size_t i = 0; i < (size_t)count; i++) {
        rv = decode_node(dc, i, &img->nodes[i]);
        img->nnodes = i + 1; /* so that ks_image_free() releases a partial node */
        if (rv != KS_OK)
            return rv;
    }
    return KS_OK;
}

ks_status ks_image_decode_why(const uint8_t *der, size_t len, ks_image *img, char *why, size_t cap)
{
    dec dc = {0};
    vt_buf again = {0};
    ks_status rv;

    if (img == NULL)
        return KS_ERR_ARGS;
    ks_image_init(img);
    if (der == NULL && len > 0)
        return KS_ERR_ARGS;
    rv = decode(der, len, img, &dc);
    /* Canonical form: anything our encoder would write differently (non-minimal
     * integers, a BOOLEAN that is not FF, long-form lengths) is not our image. */
    if (rv == KS_OK) {
        rv = ks_image_encode(img, &again);
        if (rv == KS_OK && (again.len != len || memcmp(again.data, der, len) != 0))
            rv = bad(&dc, "not in canonical DER form");
        else if (rv == KS_ERR_ARGS)
            rv = bad(&dc, "fields out of range");
    }
    vt_buf_free(&again);
    asn1_delete_structure2(&dc.root, ASN1_DELETE_FLAG_ZEROIZE);
    if (rv != KS_OK)
        ks_image_free(img);
    if (why != NULL && cap > 0)
        snprintf(why, cap, "%s", rv == KS_OK ? "" : dc.why[0] ? dc.why : ks_strerror(rv));
    return rv;
}

ks_status ks_image_decode(const uint8_t *der, size_t len, ks_image *img)
{
    return ks_image_decode_why(der, len, img, NULL, 0);
}
