/* The libtasn1 side of the PKCS#15 codec: the definitions tree from pkcs15.asn, and
 * typed reads and writes of node fields that every PKCS#15 structure uses. Bit-named
 * flags follow DER (no trailing zero bits); integers are minimal two's complement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs15_int.h"

extern const asn1_static_node vt_pkcs15_asn1_tab[];

#define MODULE "VTOKEN-PKCS15."

const char *p11_p15_strerror(p11_p15_status st)
{
    switch (st) {
    case P11_P15_OK:
        return "success";
    case P11_P15_ERR_ARGS:
        return "invalid argument";
    case P11_P15_ERR_NOMEM:
        return "out of memory";
    case P11_P15_ERR_DER:
        return "malformed PKCS#15 DER";
    case P11_P15_ERR_RANGE:
        return "PKCS#15 value out of range";
    case P11_P15_ERR_UNSUPPORTED:
        return "unsupported PKCS#15 structure";
    case P11_P15_ERR_INTERNAL:
        return "internal PKCS#15 encoder error";
    }
    return "unknown PKCS#15 status";
}

p11_p15_status p11_p15_codec_new(p11_p15_codec **out)
{
    p11_p15_codec *c;
    char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE];

    if (!out)
        return P11_P15_ERR_ARGS;
    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return P11_P15_ERR_NOMEM;
    if (asn1_array2tree(vt_pkcs15_asn1_tab, &c->defs, err) != ASN1_SUCCESS) {
        free(c);
        return P11_P15_ERR_INTERNAL;
    }
    *out = c;
    return P11_P15_OK;
}

void p11_p15_codec_free(p11_p15_codec *c)
{
    if (!c)
        return;
    asn1_delete_structure(&c->defs);
    free(c);
}

p11_p15_status p11_p15_node_new(const p11_p15_codec *c, const char *type, asn1_node *out)
{
    char name[128];

    *out = NULL;
    snprintf(name, sizeof(name), MODULE "%s", type);
    switch (asn1_create_element(c->defs, name, out)) {
    case ASN1_SUCCESS:
        return P11_P15_OK;
    case ASN1_MEM_ERROR:
    case ASN1_MEM_ALLOC_ERROR:
        return P11_P15_ERR_NOMEM;
    default:
        return P11_P15_ERR_INTERNAL;
    }
}

p11_p15_status p11_p15_node_decode(const p11_p15_codec *c, const char *type, const uint8_t *der,
                                   size_t len, asn1_node *out)
{
    p11_p15_status st;
    int max, r;

    if (len > INT32_MAX)
        return P11_P15_ERR_RANGE;
    st = p11_p15_node_new(c, type, out);
    if (st != P11_P15_OK)
        return st;
    max = (int)len;
    r = asn1_der_decoding2(out, der, &max, 0, NULL);
    if (r != ASN1_SUCCESS || (size_t)max != len) {
        asn1_delete_structure(out);
        return r == ASN1_MEM_ALLOC_ERROR ? P11_P15_ERR_NOMEM : P11_P15_ERR_DER;
    }
    return P11_P15_OK;
}

p11_p15_status p11_p15_node_encode(asn1_node n, vt_buf *out)
{
    int len = 0, r;
    size_t at;

    r = asn1_der_coding(n, "", NULL, &len, NULL);
    if (r != ASN1_MEM_ERROR || len <= 0)
        return P11_P15_ERR_INTERNAL;
    at = out->len;
    if (!vt_buf_reserve(out, (size_t)len))
        return P11_P15_ERR_NOMEM;
    r = asn1_der_coding(n, "", out->data + at, &len, NULL);
    if (r != ASN1_SUCCESS)
        return P11_P15_ERR_INTERNAL;
    out->len = at + (size_t)len;
    return P11_P15_OK;
}

p11_p15_status p11_p15_der_element(const uint8_t *der, size_t len, size_t *tlv_len)
{
    unsigned char cls;
    unsigned long tag;
    int tag_len = 0, len_len = 0, in;
    long vlen;

    if (!der || len == 0)
        return P11_P15_ERR_DER;
    in = len > INT32_MAX ? INT32_MAX : (int)len;
    if (asn1_get_tag_der(der, in, &cls, &tag_len, &tag) != ASN1_SUCCESS)
        return P11_P15_ERR_DER;
    vlen = asn1_get_length_der(der + tag_len, in - tag_len, &len_len);
    /* -1: indefinite (not DER), -2: longer than the buffer or broken, -4: too large */
    if (vlen < 0)
        return P11_P15_ERR_DER;
    if ((size_t)tag_len + (size_t)len_len + (size_t)vlen > len)
        return P11_P15_ERR_DER;
    *tlv_len = (size_t)tag_len + (size_t)len_len + (size_t)vlen;
    return P11_P15_OK;
}

const char *p11_p15_name(char *buf, size_t cap, const char *prefix, const char *suffix)
{
    if (!prefix || !*prefix)
        snprintf(buf, cap, "%s", suffix);
    else if (!suffix || !*suffix)
        snprintf(buf, cap, "%s", prefix);
    else
        snprintf(buf, cap, "%s.%s", prefix, suffix);
    return buf;
}

/* ---- reads ---- */

/* Read raw value bytes; ASN1_ELEMENT_NOT_FOUND and ASN1_VALUE_NOT_FOUND mean absent. */
static p11_p15_status read_raw(asn1_node n, const char *name, void *buf, int *len, bool *present)
{
    int r = asn1_read_value(n, name, buf, len);

    if (present)
        *present = false;
    if (r == ASN1_SUCCESS) {
        if (present)
            *present = true;
        return P11_P15_OK;
    }
    if (r == ASN1_ELEMENT_NOT_FOUND || r == ASN1_VALUE_NOT_FOUND)
        return present ? P11_P15_OK : P11_P15_ERR_DER;
    if (r == ASN1_MEM_ERROR)
        return P11_P15_ERR_RANGE;
    return P11_P15_ERR_DER;
}

bool p11_p15_has(asn1_node n, const char *name)
{
    /* Decoding deletes the nodes of absent OPTIONAL fields, so a node that exists was
     * present (or has a DEFAULT). */
    return asn1_find_node(n, name) != NULL;
}

p11_p15_status p11_p15_read_long(asn1_node n, const char *name, long *v, bool *present)
{
    uint8_t b[16];
    int len = sizeof(b);
    p11_p15_status st = read_raw(n, name, b, &len, present);
    unsigned long acc;
    int i;

    if (st != P11_P15_OK)
        return st == P11_P15_ERR_RANGE ? P11_P15_ERR_RANGE : st;
    if (present && !*present)
        return P11_P15_OK;
    if (len <= 0)
        return P11_P15_ERR_DER;
    if ((size_t)len > sizeof(long))
        return P11_P15_ERR_RANGE;
    acc = (b[0] & 0x80) ? ~0ul : 0ul; /* sign extension */
    for (i = 0; i < len; i++)
        acc = (acc << 8) | b[i];
    *v = (long)acc;
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_bits(asn1_node n, const char *name, unsigned *v, bool *present)
{
    uint8_t b[64];
    int bits = sizeof(b);
    p11_p15_status st = read_raw(n, name, b, &bits, present);
    unsigned acc = 0;
    int i;

    if (st != P11_P15_OK)
        return st;
    if (present && !*present)
        return P11_P15_OK;
    /* Named bits past 31 exist in no structure we model: ignore them. */
    for (i = 0; i < bits && i < 32; i++)
        if (b[i / 8] & (0x80u >> (i % 8)))
            acc |= 1u << i;
    *v = acc;
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_bool(asn1_node n, const char *name, bool *v, bool *present)
{
    char b[8];
    int len = sizeof(b);
    p11_p15_status st = read_raw(n, name, b, &len, present);

    if (st != P11_P15_OK)
        return st;
    if (present && !*present)
        return P11_P15_OK;
    *v = len >= 4 && memcmp(b, "TRUE", 4) == 0;
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_octets(asn1_node n, const char *name, uint8_t *buf, size_t cap,
                                   size_t *len, bool *present)
{
    int l = cap > INT32_MAX ? INT32_MAX : (int)cap;
    p11_p15_status st = read_raw(n, name, buf, &l, present);

    *len = 0;
    if (st != P11_P15_OK)
        return st;
    if (present && !*present)
        return P11_P15_OK;
    *len = (size_t)l;
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_buf(asn1_node n, const char *name, vt_buf *out, bool *present)
{
    int len = 0, r;

    vt_buf_clear(out);
    if (present)
        *present = false;
    r = asn1_read_value(n, name, NULL, &len);
    if (r == ASN1_ELEMENT_NOT_FOUND || r == ASN1_VALUE_NOT_FOUND)
        return present ? P11_P15_OK : P11_P15_ERR_DER;
    if (r == ASN1_SUCCESS && len == 0) {
        if (present)
            *present = true;
        return P11_P15_OK;
    }
    if (r != ASN1_MEM_ERROR || len < 0)
        return P11_P15_ERR_DER;
    if (!vt_buf_reserve(out, (size_t)len))
        return P11_P15_ERR_NOMEM;
    r = asn1_read_value(n, name, out->data, &len);
    if (r != ASN1_SUCCESS)
        return P11_P15_ERR_DER;
    out->len = (size_t)len;
    if (present)
        *present = true;
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_text(asn1_node n, const char *name, char *buf, size_t cap,
                                 bool *present)
{
    size_t len;
    p11_p15_status st;

    if (cap == 0)
        return P11_P15_ERR_ARGS;
    buf[0] = '\0';
    st = p11_p15_read_octets(n, name, (uint8_t *)buf, cap - 1, &len, present);
    if (st != P11_P15_OK)
        return st;
    /* libtasn1 counts the NUL it puts after times and OIDs */
    if (len > 0 && buf[len - 1] == '\0')
        len--;
    if (memchr(buf, '\0', len))
        return P11_P15_ERR_DER; /* an embedded NUL would truncate the label silently */
    buf[len] = '\0';
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_choice(asn1_node n, const char *name, char *buf, size_t cap)
{
    int len = cap > INT32_MAX ? INT32_MAX : (int)cap - 1;
    p11_p15_status st = read_raw(n, name, buf, &len, NULL);

    if (st != P11_P15_OK)
        return st;
    buf[len] = '\0';
    return P11_P15_OK;
}

p11_p15_status p11_p15_read_path(asn1_node n, const char *name, p11_p15_path *p)
{
    char f[256];
    bool has_index = false, has_len = false;
    p11_p15_status st;

    memset(p, 0, sizeof(*p));
    p->count = -1;
    st = p11_p15_read_octets(n, p11_p15_name(f, sizeof(f), name, "path"), p->v, sizeof(p->v),
                             &p->len, NULL);
    if (st != P11_P15_OK)
        return st;
    if (p->len == 0 || (p->len & 1) != 0)
        return P11_P15_ERR_DER; /* paths are whole file identifiers */
    st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), name, "index"), &p->index, &has_index);
    if (st == P11_P15_OK)
        st = p11_p15_read_long(n, p11_p15_name(f, sizeof(f), name, "length"), &p->count, &has_len);
    if (st != P11_P15_OK)
        return st;
    if (!has_index || !has_len) {
        p->index = 0;
        p->count = -1;
    } else if (p->index < 0 || p->count < 0) {
        return P11_P15_ERR_DER;
    }
    return P11_P15_OK;
}

/* ---- writes ---- */

static p11_p15_status map_write(int r)
{
    if (r == ASN1_SUCCESS)
        return P11_P15_OK;
    if (r == ASN1_MEM_ALLOC_ERROR)
        return P11_P15_ERR_NOMEM;
    return P11_P15_ERR_INTERNAL;
}

p11_p15_status p11_p15_write_long(asn1_node n, const char *name, long v)
{
    uint8_t b[sizeof(long)];
    size_t i, start = 0;
    unsigned long u = (unsigned long)v;

    for (i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(u >> (8 * (sizeof(b) - 1 - i)));
    /* minimal two's complement */
    while (start + 1 < sizeof(b) && ((b[start] == 0x00 && !(b[start + 1] & 0x80)) ||
                                     (b[start] == 0xFF && (b[start + 1] & 0x80))))
        start++;
    return map_write(asn1_write_value(n, name, b + start, (int)(sizeof(b) - start)));
}

p11_p15_status p11_p15_write_bits(asn1_node n, const char *name, unsigned v)
{
    uint8_t b[4] = {0, 0, 0, 0};
    int bits = 0, i;

    for (i = 0; i < 32; i++) {
        if (v & (1u << i)) {
            b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
            bits = i + 1;
        }
    }
    return map_write(asn1_write_value(n, name, b, bits));
}

p11_p15_status p11_p15_write_bool(asn1_node n, const char *name, bool v)
{
    return map_write(asn1_write_value(n, name, v ? "TRUE" : "FALSE", 1));
}

p11_p15_status p11_p15_write_octets(asn1_node n, const char *name, const uint8_t *v, size_t len)
{
    static const uint8_t empty[1] = {0};

    if (len > INT32_MAX)
        return P11_P15_ERR_RANGE;
    /* libtasn1 treats length 0 as "NUL-terminated"; give it a real empty value. */
    return map_write(asn1_write_value(n, name, len ? v : empty, (int)len));
}

p11_p15_status p11_p15_write_text(asn1_node n, const char *name, const char *s)
{
    return p11_p15_write_octets(n, name, (const uint8_t *)s, strlen(s));
}

p11_p15_status p11_p15_write_choice(asn1_node n, const char *name, const char *alt)
{
    return map_write(asn1_write_value(n, name, alt, 1));
}

p11_p15_status p11_p15_write_path(asn1_node n, const char *name, const p11_p15_path *p)
{
    char f[256];
    p11_p15_status st;

    if (p->len == 0 || p->len > sizeof(p->v))
        return P11_P15_ERR_ARGS;
    st = p11_p15_write_octets(n, p11_p15_name(f, sizeof(f), name, "path"), p->v, p->len);
    if (st != P11_P15_OK)
        return st;
    if (p->count >= 0) {
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), name, "index"), p->index);
        if (st == P11_P15_OK)
            st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), name, "length"), p->count);
        return st;
    }
    p11_p15_write_absent(n, p11_p15_name(f, sizeof(f), name, "index"));
    p11_p15_write_absent(n, p11_p15_name(f, sizeof(f), name, "length"));
    return P11_P15_OK;
}

void p11_p15_write_absent(asn1_node n, const char *name)
{
    (void)asn1_write_value(n, name, NULL, 0);
}

p11_p15_status p11_p15_carry(asn1_node dst, asn1_node src, const char *name)
{
    char f[256], from[256];
    int count = 0, i;
    asn1_node node = src ? asn1_find_node(src, name) : NULL;
    asn1_data_node_st info;
    vt_buf raw = {0};
    p11_p15_status st;

    if (!node) {
        p11_p15_write_absent(dst, name);
        return P11_P15_OK;
    }
    if (asn1_read_node_value(node, &info) != ASN1_SUCCESS)
        return P11_P15_ERR_INTERNAL;
    switch (info.type) {
    case ASN1_ETYPE_SEQUENCE_OF:
    case ASN1_ETYPE_SET_OF:
        /* element by element: libtasn1 cannot decode a whole list into an empty one */
        if (asn1_number_of_elements(src, name, &count) != ASN1_SUCCESS)
            return P11_P15_ERR_INTERNAL;
        for (i = 1; i <= count; i++) {
            if (asn1_write_value(dst, name, "NEW", 1) != ASN1_SUCCESS)
                return P11_P15_ERR_INTERNAL;
            snprintf(from, sizeof(from), "%s.?%d", name, i);
            if (asn1_copy_node(dst, p11_p15_name(f, sizeof(f), name, "?LAST"), src, from) !=
                ASN1_SUCCESS)
                return P11_P15_ERR_INTERNAL;
        }
        return P11_P15_OK;
    case ASN1_ETYPE_SEQUENCE:
    case ASN1_ETYPE_SET:
    case ASN1_ETYPE_CHOICE:
        return asn1_copy_node(dst, name, src, name) == ASN1_SUCCESS ? P11_P15_OK
                                                                    : P11_P15_ERR_INTERNAL;
    default:
        /* primitive values and ANY: their stored form writes back as it reads */
        st = p11_p15_read_buf(src, name, &raw, NULL);
        if (st == P11_P15_OK)
            st = p11_p15_write_octets(dst, name, raw.data, raw.len);
        vt_buf_free(&raw);
        return st;
    }
}

/* ---- paths ---- */

bool p11_p15_path_set(p11_p15_path *p, const uint8_t *v, size_t len)
{
    if (len > sizeof(p->v) || (len & 1))
        return false;
    memset(p, 0, sizeof(*p));
    memcpy(p->v, v, len);
    p->len = len;
    p->count = -1;
    return true;
}

bool p11_p15_path_append(p11_p15_path *p, uint16_t fid)
{
    if (p->len + 2 > sizeof(p->v))
        return false;
    p->v[p->len++] = (uint8_t)(fid >> 8);
    p->v[p->len++] = (uint8_t)fid;
    return true;
}

bool p11_p15_path_eq(const p11_p15_path *a, const p11_p15_path *b)
{
    return a->len == b->len && memcmp(a->v, b->v, a->len) == 0;
}

bool p11_p15_path_absolute(const p11_p15_path *app, const p11_p15_path *in, p11_p15_path *out)
{
    p11_p15_path r;

    if (in->len >= 2 && in->v[0] == 0x3F && in->v[1] == 0x00) {
        *out = *in;
        return true;
    }
    if (app->len + in->len > sizeof(r.v))
        return false;
    r = *in;
    memcpy(r.v, app->v, app->len);
    memcpy(r.v + app->len, in->v, in->len);
    r.len = app->len + in->len;
    *out = r;
    return true;
}

uint16_t p11_p15_path_last_fid(const p11_p15_path *p)
{
    if (p->len < 2)
        return 0;
    return (uint16_t)((p->v[p->len - 2] << 8) | p->v[p->len - 1]);
}
