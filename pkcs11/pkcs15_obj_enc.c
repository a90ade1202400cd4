/* PKCS#15 directory-file entries, encoding: an entry read from a card is re-encoded from
 * its own DER with only the modelled fields written over it, so nothing else is lost; a
 * new entry is written the way OpenSC's encoder writes it (DEFAULT and zero-valued
 * optional fields omitted). */
#include <stdlib.h>
#include <string.h>

#include "pkcs15_int.h"

static p11_p15_status write_id(asn1_node n, const char *name, const p11_p15_id *id)
{
    return p11_p15_write_octets(n, name, id->v, id->len);
}

static p11_p15_status write_common(asn1_node n, const char *alt, const p11_p15_obj *o)
{
    char f[192];
    p11_p15_status st = P11_P15_OK;

    p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.label");
    if (o->label[0])
        st = p11_p15_write_text(n, f, o->label);
    else
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.flags");
    if (st == P11_P15_OK && o->flags)
        st = p11_p15_write_bits(n, f, o->flags);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.authId");
    if (st == P11_P15_OK && o->auth_id.len)
        st = write_id(n, f, &o->auth_id);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "commonObjectAttributes.userConsent");
    if (st == P11_P15_OK && o->user_consent > 0)
        st = p11_p15_write_long(n, f, o->user_consent);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    return st;
}

static p11_p15_status write_value(asn1_node n, const char *name, const p11_p15_obj *o)
{
    char f[192];
    p11_p15_status st;

    if (o->has_path) {
        st = p11_p15_write_choice(n, name, "indirect");
        if (st == P11_P15_OK)
            st = p11_p15_write_choice(n, p11_p15_name(f, sizeof(f), name, "indirect"), "path");
        if (st == P11_P15_OK)
            st = p11_p15_write_path(n, p11_p15_name(f, sizeof(f), name, "indirect.path"), &o->path);
        return st;
    }
    if (o->direct.len == 0)
        return P11_P15_ERR_ARGS;
    st = p11_p15_write_choice(n, name, "direct");
    if (st == P11_P15_OK)
        st = p11_p15_write_octets(n, p11_p15_name(f, sizeof(f), name, "direct"), o->direct.data,
                                  o->direct.len);
    return st;
}

/* subClassAttributes: carried over as it was when the subject is unchanged, so other
 * attributes in it (key identifiers, trusted usage) stay. */
static p11_p15_status write_subject(const p11_p15_codec *c, asn1_node n, asn1_node src,
                                    const char *alt, const p11_p15_obj *o)
{
    char f[192];
    vt_buf cur = {0}, der = {0};
    asn1_node s = NULL;
    p11_p15_status st = P11_P15_OK;

    p11_p15_name(f, sizeof(f), alt, "subClassAttributes");
    if (src &&
        p11_p15_read_subject(c, src, alt, p11_p15_obj_is_prkey(o->type), &cur) == P11_P15_OK &&
        cur.len == o->u.key.subject.len &&
        (cur.len == 0 || memcmp(cur.data, o->u.key.subject.data, cur.len) == 0)) {
        st = p11_p15_carry(n, src, f);
        goto out;
    }
    if (o->u.key.subject.len == 0) {
        p11_p15_write_absent(n, f);
        goto out;
    }
    st = p11_p15_node_new(c, "KeySubjectAttributes", &s);
    if (st == P11_P15_OK)
        st = p11_p15_write_octets(s, "subjectName", o->u.key.subject.data, o->u.key.subject.len);
    if (st == P11_P15_OK)
        st = p11_p15_node_encode(s, &der);
    if (st == P11_P15_OK)
        st = p11_p15_write_octets(n, f, der.data, der.len);
out:
    asn1_delete_structure(&s);
    vt_buf_free(&cur);
    vt_buf_free(&der);
    return st;
}

/* Carry the listed fields (relative to alt) from src. */
static p11_p15_status carry_all(asn1_node n, asn1_node src, const char *alt,
                                const char *const *names, size_t count)
{
    char f[192];
    size_t i;
    p11_p15_status st = P11_P15_OK;

    for (i = 0; i < count && st == P11_P15_OK; i++)
        st = p11_p15_carry(n, src, p11_p15_name(f, sizeof(f), alt, names[i]));
    return st;
}

static p11_p15_status write_key(const p11_p15_codec *c, asn1_node n, asn1_node src, const char *alt,
                                const p11_p15_obj *o)
{
    const p11_p15_key *k = &o->u.key;
    char f[192];
    p11_p15_status st;

    st = write_id(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.iD"), &k->id);
    if (st == P11_P15_OK)
        st = p11_p15_write_bits(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.usage"),
                                k->usage);
    if (st != P11_P15_OK)
        return st;
    p11_p15_name(f, sizeof(f), alt, "classAttributes.native");
    if (k->native)
        p11_p15_write_absent(n, f); /* DEFAULT TRUE */
    else
        st = p11_p15_write_bool(n, f, false);
    p11_p15_name(f, sizeof(f), alt, "classAttributes.accessFlags");
    if (st == P11_P15_OK && k->access_flags)
        st = p11_p15_write_bits(n, f, k->access_flags);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "classAttributes.keyReference");
    if (st == P11_P15_OK && k->key_reference >= 0)
        st = p11_p15_write_long(n, f, k->key_reference);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    if (st != P11_P15_OK)
        return st;
    {
        static const char *const kept[] = {"classAttributes.startDate", "classAttributes.endDate",
                                           "classAttributes.algReference",
                                           "typeAttributes.keyInfo"};
        st = carry_all(n, src, alt, kept, VT_ARRAY_LEN(kept));
    }
    if (st == P11_P15_OK)
        st = write_subject(c, n, src, alt, o);
    if (st == P11_P15_OK)
        st = write_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.value"), o);
    if (st != P11_P15_OK)
        return st;
    switch (o->type) {
    case P11_P15_OBJ_PRKEY_RSA:
    case P11_P15_OBJ_PUBKEY_RSA:
        if (k->modulus_bits == 0)
            return P11_P15_ERR_ARGS;
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.modulusLength"),
                                (long)k->modulus_bits);
        break;
    case P11_P15_OBJ_PRKEY_EC:
    case P11_P15_OBJ_PUBKEY_EC:
        if (!(src && p11_p15_has(src, p11_p15_name(f, sizeof(f), alt, "typeAttributes.keyInfo"))) &&
            k->modulus_bits > 0 && k->modulus_bits < 0x8000) {
            uint8_t ki[4] = {0x02, 0x02, (uint8_t)(k->modulus_bits >> 8), (uint8_t)k->modulus_bits};
            st = p11_p15_write_octets(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.keyInfo"),
                                      ki, sizeof(ki));
        }
        break;
    case P11_P15_OBJ_PRKEY_GOSTR3410:
    case P11_P15_OBJ_PUBKEY_GOSTR3410:
        if (k->gost_params[0] < 0)
            return P11_P15_ERR_ARGS;
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.paramsR3410"),
                                k->gost_params[0]);
        p11_p15_name(f, sizeof(f), alt, "typeAttributes.paramsR3411");
        if (st == P11_P15_OK && k->gost_params[1] >= 0)
            st = p11_p15_write_long(n, f, k->gost_params[1]);
        else if (st == P11_P15_OK)
            p11_p15_write_absent(n, f);
        p11_p15_name(f, sizeof(f), alt, "typeAttributes.params28147");
        if (st == P11_P15_OK && k->gost_params[2] >= 0)
            st = p11_p15_write_long(n, f, k->gost_params[2]);
        else if (st == P11_P15_OK)
            p11_p15_write_absent(n, f);
        break;
    default:
        break;
    }
    return st;
}

static p11_p15_status write_cert(asn1_node n, asn1_node src, const char *alt, const p11_p15_obj *o)
{
    char f[192];
    p11_p15_status st;

    st = write_id(n, p11_p15_name(f, sizeof(f), alt, "classAttributes.iD"), &o->u.cert.id);
    p11_p15_name(f, sizeof(f), alt, "classAttributes.authority");
    if (st == P11_P15_OK && o->u.cert.authority)
        st = p11_p15_write_bool(n, f, true);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f); /* DEFAULT FALSE */
    if (st != P11_P15_OK)
        return st;
    {
        static const char *const kept[] = {
            "classAttributes.identifier",    "classAttributes.certHash",
            "classAttributes.trustedUsage",  "classAttributes.identifiers",
            "classAttributes.implicitTrust", "typeAttributes.subject",
            "typeAttributes.issuer",         "typeAttributes.serialNumber",
        };
        st = carry_all(n, src, alt, kept, VT_ARRAY_LEN(kept));
        if (st != P11_P15_OK)
            return st;
    }
    return write_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.value"), o);
}

static p11_p15_status write_data(asn1_node n, const char *alt, const p11_p15_obj *o)
{
    char f[192];
    p11_p15_status st = P11_P15_OK;

    p11_p15_name(f, sizeof(f), alt, "classAttributes.applicationName");
    if (o->u.data.app_name[0])
        st = p11_p15_write_text(n, f, o->u.data.app_name);
    else
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "classAttributes.applicationOID");
    if (st == P11_P15_OK && o->u.data.app_oid[0]) {
        if (asn1_write_value(n, f, o->u.data.app_oid, 1) != ASN1_SUCCESS)
            st = P11_P15_ERR_ARGS;
    } else if (st == P11_P15_OK) {
        p11_p15_write_absent(n, f);
    }
    if (st == P11_P15_OK)
        st = write_value(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes"), o);
    return st;
}

static p11_p15_status write_pin(asn1_node n, asn1_node src, const char *alt, const p11_p15_obj *o)
{
    const p11_p15_pin *p = &o->u.pin;
    char f[192];
    p11_p15_status st = P11_P15_OK;

    if (p->min_len < 0 || p->stored_len < 0 || p->type < 0)
        return P11_P15_ERR_ARGS;
    p11_p15_name(f, sizeof(f), alt, "classAttributes.authId");
    if (p->auth_id.len)
        st = write_id(n, f, &p->auth_id);
    else
        p11_p15_write_absent(n, f);
    {
        static const char *const kept[] = {"classAttributes.authReference",
                                           "classAttributes.seIdentifier",
                                           "typeAttributes.lastPinChange"};
        if (st == P11_P15_OK)
            st = carry_all(n, src, alt, kept, VT_ARRAY_LEN(kept));
    }
    if (st == P11_P15_OK)
        st = p11_p15_write_bits(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinFlags"),
                                p->flags);
    if (st == P11_P15_OK)
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinType"),
                                p->type);
    if (st == P11_P15_OK)
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.minLength"),
                                p->min_len);
    if (st == P11_P15_OK)
        st = p11_p15_write_long(n, p11_p15_name(f, sizeof(f), alt, "typeAttributes.storedLength"),
                                p->stored_len);
    p11_p15_name(f, sizeof(f), alt, "typeAttributes.maxLength");
    if (st == P11_P15_OK && p->max_len > 0)
        st = p11_p15_write_long(n, f, p->max_len);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "typeAttributes.pinReference");
    if (st == P11_P15_OK && p->reference >= 0)
        st = p11_p15_write_long(n, f, p->reference);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "typeAttributes.padChar");
    if (st == P11_P15_OK && p->has_pad)
        st = p11_p15_write_octets(n, f, &p->pad_char, 1);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    p11_p15_name(f, sizeof(f), alt, "typeAttributes.path");
    if (st == P11_P15_OK && o->has_path)
        st = p11_p15_write_path(n, f, &o->path);
    else if (st == P11_P15_OK)
        p11_p15_write_absent(n, f);
    return st;
}

p11_p15_status p11_p15_encode_obj(const p11_p15_codec *c, const p11_p15_obj *o, vt_buf *out)
{
    const p11_p15_entry_kind *k;
    asn1_node n = NULL, src = NULL;
    char f[192];
    p11_p15_status st;

    if (!c || !o || !out)
        return P11_P15_ERR_ARGS;
    if (o->type == P11_P15_OBJ_UNKNOWN) {
        if (o->raw.len == 0)
            return P11_P15_ERR_ARGS;
        return vt_buf_append(out, o->raw.data, o->raw.len) ? P11_P15_OK : P11_P15_ERR_NOMEM;
    }
    k = p11_p15_kind_of_type(o->type);
    if (!k)
        return P11_P15_ERR_ARGS;
    /* the entry as read, when it is one of this type: source of unmodelled fields */
    if (o->raw.len && o->raw.data[0] == k->tag &&
        p11_p15_node_decode(c, k->asn_type, o->raw.data, o->raw.len, &src) == P11_P15_OK) {
        char alt[48];
        if (p11_p15_read_choice(src, "", alt, sizeof(alt)) != P11_P15_OK || strcmp(alt, k->alt))
            asn1_delete_structure(&src);
    }
    st = p11_p15_node_new(c, k->asn_type, &n);
    if (st == P11_P15_OK)
        st = p11_p15_write_choice(n, "", k->alt);
    if (st == P11_P15_OK)
        st = p11_p15_carry(
            n, src,
            p11_p15_name(f, sizeof(f), k->alt, "commonObjectAttributes.accessControlRules"));
    if (st == P11_P15_OK)
        st = write_common(n, k->alt, o);
    if (st != P11_P15_OK)
        goto out;
    if (p11_p15_obj_is_key(o->type))
        st = write_key(c, n, src, k->alt, o);
    else if (o->type == P11_P15_OBJ_CERT_X509)
        st = write_cert(n, src, k->alt, o);
    else if (o->type == P11_P15_OBJ_DATA)
        st = write_data(n, k->alt, o);
    else
        st = write_pin(n, src, k->alt, o);
    if (st == P11_P15_OK)
        st = p11_p15_node_encode(n, out);
out:
    asn1_delete_structure(&src);
    asn1_delete_structure(&n);
    return st;
}

p11_p15_status p11_p15_encode_df(const p11_p15_codec *c, const p11_p15_obj *objs, size_t n,
                                 vt_buf *out)
{
    size_t i;
    p11_p15_status st;

    if (!c || (!objs && n) || !out)
        return P11_P15_ERR_ARGS;
    for (i = 0; i < n; i++) {
        st = p11_p15_encode_obj(c, &objs[i], out);
        if (st != P11_P15_OK)
            return st;
    }
    return P11_P15_OK;
}
