/* The PKCS#15 files that describe the application rather than objects: EF(DIR)
 * application templates, the ODF, EF(TokenInfo); and RSAPublicKey, the content of
 * public-key EFs. */
#include <stdlib.h>
#include <string.h>

#include "pkcs15_int.h"

/* ODF alternatives in [0]..[8] order (p11_p15_df_type values). */
static const char *const odf_alts[P11_P15_DF_TYPES] = {
    "privateKeys",  "publicKeys",          "trustedPublicKeys",
    "secretKeys",   "certificates",        "trustedCertificates",
    "usefulCertificates", "dataObjects",   "authObjects",
};

p11_p15_status p11_p15_decode_odf(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                  p11_p15_odf_entry *out, size_t cap, size_t *n)
{
    size_t pos = 0, el, count = 0;
    p11_p15_status st = P11_P15_OK;

    if (!c || (!der && len) || !out || !n)
        return P11_P15_ERR_ARGS;
    *n = 0;
    while (pos < len && der[pos] != 0x00 && der[pos] != 0xFF) {
        asn1_node node = NULL;
        char alt[32], f[64], sub[16];
        size_t t;

        st = p11_p15_der_element(der + pos, len - pos, &el);
        if (st != P11_P15_OK)
            return st;
        st = p11_p15_node_decode(c, "PKCS15Objects", der + pos, el, &node);
        if (st != P11_P15_OK)
            return st;
        st = p11_p15_read_choice(node, "", alt, sizeof(alt));
        for (t = 0; st == P11_P15_OK && t < P11_P15_DF_TYPES; t++)
            if (strcmp(alt, odf_alts[t]) == 0)
                break;
        if (st == P11_P15_OK && t == P11_P15_DF_TYPES)
            st = P11_P15_ERR_DER;
        if (st == P11_P15_OK)
            st = p11_p15_read_choice(node, alt, sub, sizeof(sub));
        /* A DF named by URL is not on this card: skip it. */
        if (st == P11_P15_OK && strcmp(sub, "path") == 0) {
            if (count == cap) {
                st = P11_P15_ERR_RANGE;
            } else {
                out[count].type = (p11_p15_df_type)t;
                st = p11_p15_read_path(node, p11_p15_name(f, sizeof(f), alt, "path"),
                                       &out[count].path);
                if (st == P11_P15_OK)
                    count++;
            }
        }
        asn1_delete_structure(&node);
        if (st != P11_P15_OK)
            return st;
        pos += el;
    }
    *n = count;
    return P11_P15_OK;
}

p11_p15_status p11_p15_encode_odf(const p11_p15_codec *c, const p11_p15_odf_entry *e, size_t n,
                                  vt_buf *out)
{
    size_t i;
    p11_p15_status st = P11_P15_OK;

    if (!c || (!e && n) || !out)
        return P11_P15_ERR_ARGS;
    for (i = 0; i < n && st == P11_P15_OK; i++) {
        asn1_node node = NULL;
        char f[64];
        const char *alt;

        if ((unsigned)e[i].type >= P11_P15_DF_TYPES)
            return P11_P15_ERR_ARGS;
        alt = odf_alts[e[i].type];
        st = p11_p15_node_new(c, "PKCS15Objects", &node);
        if (st == P11_P15_OK)
            st = p11_p15_write_choice(node, "", alt);
        if (st == P11_P15_OK)
            st = p11_p15_write_choice(node, alt, "path");
        if (st == P11_P15_OK)
            st = p11_p15_write_path(node, p11_p15_name(f, sizeof(f), alt, "path"), &e[i].path);
        if (st == P11_P15_OK)
            st = p11_p15_node_encode(node, out);
        asn1_delete_structure(&node);
    }
    return st;
}

void p11_p15_tokeninfo_clear(p11_p15_tokeninfo *ti)
{
    if (!ti)
        return;
    vt_buf_free(&ti->raw);
    memset(ti, 0, sizeof(*ti));
}

/* GeneralizedTime text: YYYYMMDDHH, then digits, fraction, Z or an offset. libtasn1
 * takes any bytes in one, and text it took must encode back to something it takes. */
static bool gentime_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 10)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && (i < 10 || strchr(".,+-Z", s[i]) == NULL))
            return false;
    return true;
}

p11_p15_status p11_p15_decode_tokeninfo(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                        p11_p15_tokeninfo *ti)
{
    asn1_node n = NULL;
    size_t el;
    bool has;
    p11_p15_status st;

    if (!c || !der || !ti)
        return P11_P15_ERR_ARGS;
    memset(ti, 0, sizeof(*ti));
    /* The EF is usually larger than its content. */
    st = p11_p15_der_element(der, len, &el);
    if (st == P11_P15_OK && der[0] != 0x30)
        st = P11_P15_ERR_DER;
    if (st == P11_P15_OK)
        st = p11_p15_node_decode(c, "TokenInfo", der, el, &n);
    if (st == P11_P15_OK)
        st = p11_p15_read_long(n, "version", &ti->version, NULL);
    if (st == P11_P15_OK)
        st = p11_p15_read_octets(n, "serialNumber", ti->serial, sizeof(ti->serial),
                                 &ti->serial_len, &has);
    if (st == P11_P15_OK)
        st = p11_p15_read_text(n, "manufacturerID", ti->manufacturer, sizeof(ti->manufacturer),
                               &ti->has_manufacturer);
    if (st == P11_P15_OK)
        st = p11_p15_read_text(n, "label", ti->label, sizeof(ti->label), &ti->has_label);
    if (st == P11_P15_OK)
        st = p11_p15_read_bits(n, "tokenflags", &ti->flags, &ti->has_flags);
    if (st == P11_P15_OK && p11_p15_has(n, "lastUpdate")) {
        char alt[32];
        st = p11_p15_read_choice(n, "lastUpdate", alt, sizeof(alt));
        if (st == P11_P15_OK && strcmp(alt, "generalizedTime") == 0) {
            st = p11_p15_read_text(n, "lastUpdate.generalizedTime", ti->last_update,
                                   sizeof(ti->last_update), &has);
            if (st == P11_P15_OK && !gentime_ok(ti->last_update))
                st = P11_P15_ERR_DER;
        }
    }
    if (st == P11_P15_OK && !vt_buf_append(&ti->raw, der, el))
        st = P11_P15_ERR_NOMEM;
    asn1_delete_structure(&n);
    if (st != P11_P15_OK)
        p11_p15_tokeninfo_clear(ti);
    return st;
}

p11_p15_status p11_p15_encode_tokeninfo(const p11_p15_codec *c, const p11_p15_tokeninfo *ti,
                                        vt_buf *out)
{
    static const char *const kept[] = {"seInfo",   "recordInfo",        "supportedAlgorithms",
                                       "issuerId", "holderId",          "preferredLanguage",
                                       "profileIndication"};
    asn1_node n = NULL, src = NULL;
    size_t i;
    p11_p15_status st;

    if (!c || !ti || !out)
        return P11_P15_ERR_ARGS;
    if (ti->raw.len && p11_p15_node_decode(c, "TokenInfo", ti->raw.data, ti->raw.len, &src) !=
                           P11_P15_OK)
        src = NULL;
    st = p11_p15_node_new(c, "TokenInfo", &n);
    for (i = 0; i < VT_ARRAY_LEN(kept) && st == P11_P15_OK; i++)
        st = p11_p15_carry(n, src, kept[i]);
    asn1_delete_structure(&src);
    if (st != P11_P15_OK) {
        asn1_delete_structure(&n);
        return st;
    }
    st = p11_p15_write_long(n, "version", ti->version);
    if (st == P11_P15_OK && ti->serial_len)
        st = p11_p15_write_octets(n, "serialNumber", ti->serial, ti->serial_len);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, "serialNumber");
    if (st == P11_P15_OK && ti->has_manufacturer)
        st = p11_p15_write_text(n, "manufacturerID", ti->manufacturer);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, "manufacturerID");
    if (st == P11_P15_OK && ti->has_label)
        st = p11_p15_write_text(n, "label", ti->label);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, "label");
    if (st == P11_P15_OK && ti->has_flags)
        st = p11_p15_write_bits(n, "tokenflags", ti->flags);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, "tokenflags");
    if (st == P11_P15_OK && ti->last_update[0]) {
        st = p11_p15_write_choice(n, "lastUpdate", "generalizedTime");
        if (st == P11_P15_OK)
            st = p11_p15_write_text(n, "lastUpdate.generalizedTime", ti->last_update);
    } else if (st == P11_P15_OK) {
        p11_p15_write_absent(n, "lastUpdate");
    }
    if (st == P11_P15_OK)
        st = p11_p15_node_encode(n, out);
    asn1_delete_structure(&n);
    return st;
}

p11_p15_status p11_p15_decode_dir(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                  p11_p15_dirrec *out, size_t cap, size_t *n)
{
    size_t pos = 0, el, count = 0;
    p11_p15_status st = P11_P15_OK;

    if (!c || (!der && len) || !out || !n)
        return P11_P15_ERR_ARGS;
    *n = 0;
    while (pos < len && der[pos] != 0x00 && der[pos] != 0xFF) {
        asn1_node node = NULL;
        p11_p15_dirrec *a;

        st = p11_p15_der_element(der + pos, len - pos, &el);
        if (st != P11_P15_OK)
            return st;
        /* Other records (discretionary data) may share EF(DIR): skip them. */
        if (der[pos] != 0x61) {
            pos += el;
            continue;
        }
        if (count == cap)
            return P11_P15_ERR_RANGE;
        a = &out[count];
        memset(a, 0, sizeof(*a));
        st = p11_p15_node_decode(c, "ApplicationTemplate", der + pos, el, &node);
        if (st == P11_P15_OK)
            st = p11_p15_read_octets(node, "aid", a->aid, sizeof(a->aid), &a->aid_len, NULL);
        if (st == P11_P15_OK)
            st = p11_p15_read_text(node, "label", a->label, sizeof(a->label), &a->has_label);
        if (st == P11_P15_OK) {
            bool has;
            st = p11_p15_read_octets(node, "path", a->path, sizeof(a->path), &a->path_len, &has);
            if (st == P11_P15_OK && (a->path_len & 1))
                st = P11_P15_ERR_DER;
        }
        asn1_delete_structure(&node);
        if (st != P11_P15_OK)
            return st;
        count++;
        pos += el;
    }
    *n = count;
    return P11_P15_OK;
}

p11_p15_status p11_p15_encode_dir(const p11_p15_codec *c, const p11_p15_dirrec *apps, size_t n,
                                  vt_buf *out)
{
    size_t i;
    p11_p15_status st = P11_P15_OK;

    if (!c || (!apps && n) || !out)
        return P11_P15_ERR_ARGS;
    for (i = 0; i < n && st == P11_P15_OK; i++) {
        asn1_node node = NULL;

        st = p11_p15_node_new(c, "ApplicationTemplate", &node);
        if (st == P11_P15_OK)
            st = p11_p15_write_octets(node, "aid", apps[i].aid, apps[i].aid_len);
        if (st == P11_P15_OK && apps[i].has_label)
            st = p11_p15_write_text(node, "label", apps[i].label);
        else if (st == P11_P15_OK)
            p11_p15_write_absent(node, "label");
        if (st == P11_P15_OK && apps[i].path_len)
            st = p11_p15_write_octets(node, "path", apps[i].path, apps[i].path_len);
        else if (st == P11_P15_OK)
            p11_p15_write_absent(node, "path");
        p11_p15_write_absent(node, "ddo");
        if (st == P11_P15_OK)
            st = p11_p15_node_encode(node, out);
        asn1_delete_structure(&node);
    }
    return st;
}

/* INTEGER content for an unsigned big-endian value: no leading zeros, but a 00 in front
 * when the top bit is set. */
static p11_p15_status write_unsigned(asn1_node n, const char *name, const uint8_t *v, size_t len)
{
    vt_buf b = {0};
    p11_p15_status st;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    if (len == 0)
        return P11_P15_ERR_ARGS;
    if ((v[0] & 0x80) && !vt_buf_append_byte(&b, 0))
        return P11_P15_ERR_NOMEM;
    if (!vt_buf_append(&b, v, len)) {
        vt_buf_free(&b);
        return P11_P15_ERR_NOMEM;
    }
    st = p11_p15_write_octets(n, name, b.data, b.len);
    vt_buf_free(&b);
    return st;
}

p11_p15_status p11_p15_encode_rsa_pubkey(const p11_p15_codec *c, const uint8_t *n, size_t n_len,
                                         const uint8_t *e, size_t e_len, vt_buf *out)
{
    asn1_node node = NULL;
    p11_p15_status st;

    if (!c || !n || !n_len || !e || !e_len || !out)
        return P11_P15_ERR_ARGS;
    st = p11_p15_node_new(c, "RSAPublicKey", &node);
    if (st == P11_P15_OK)
        st = write_unsigned(node, "modulus", n, n_len);
    if (st == P11_P15_OK)
        st = write_unsigned(node, "publicExponent", e, e_len);
    if (st == P11_P15_OK)
        st = p11_p15_node_encode(node, out);
    asn1_delete_structure(&node);
    return st;
}

static p11_p15_status read_unsigned(asn1_node node, const char *name, vt_buf *out)
{
    p11_p15_status st = p11_p15_read_buf(node, name, out, NULL);
    size_t skip = 0;

    if (st != P11_P15_OK)
        return st;
    if (out->len == 0 || (out->data[0] & 0x80))
        return P11_P15_ERR_DER; /* empty or negative */
    while (skip + 1 < out->len && out->data[skip] == 0)
        skip++;
    if (skip) {
        memmove(out->data, out->data + skip, out->len - skip);
        out->len -= skip;
    }
    return P11_P15_OK;
}

p11_p15_status p11_p15_decode_rsa_pubkey(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                         vt_buf *n, vt_buf *e)
{
    asn1_node node = NULL;
    size_t el;
    p11_p15_status st;

    if (!c || !der || !n || !e)
        return P11_P15_ERR_ARGS;
    st = p11_p15_der_element(der, len, &el);
    if (st == P11_P15_OK)
        st = p11_p15_node_decode(c, "RSAPublicKey", der, el, &node);
    if (st == P11_P15_OK)
        st = read_unsigned(node, "modulus", n);
    if (st == P11_P15_OK)
        st = read_unsigned(node, "publicExponent", e);
    asn1_delete_structure(&node);
    return st;
}
