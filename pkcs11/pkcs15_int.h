/* Helpers shared by the PKCS#15 codec files: typed reads and writes of libtasn1 nodes
 * (integers, bit-named flags, strings, paths, object values) and DER header parsing.
 * Internal to pkcs15*.c. */
#ifndef P11_PKCS15_INT_H
#define P11_PKCS15_INT_H

#include <libtasn1.h>

#include "pkcs15.h"

struct p11_p15_codec {
    asn1_node defs;
};

/* "VTOKEN-PKCS15." + type */
p11_p15_status p11_p15_node_new(const p11_p15_codec *c, const char *type, asn1_node *out);
/* Decode exactly len bytes into a fresh node of type. */
p11_p15_status p11_p15_node_decode(const p11_p15_codec *c, const char *type, const uint8_t *der,
                                   size_t len, asn1_node *out);
p11_p15_status p11_p15_node_encode(asn1_node n, vt_buf *out);

/* One DER element at der: total length (header + value) in *tlv_len. */
p11_p15_status p11_p15_der_element(const uint8_t *der, size_t len, size_t *tlv_len);

/* Field access on decoded nodes. Names are libtasn1 paths ("a.b.c"); readers report
 * absent OPTIONAL fields through *present (NULL: the field is mandatory). */
bool p11_p15_has(asn1_node n, const char *name); /* present in a decoded node */
p11_p15_status p11_p15_read_long(asn1_node n, const char *name, long *v, bool *present);
p11_p15_status p11_p15_read_bits(asn1_node n, const char *name, unsigned *v, bool *present);
p11_p15_status p11_p15_read_bool(asn1_node n, const char *name, bool *v, bool *present);
/* Octets into a fixed buffer; P11_P15_ERR_RANGE when longer than cap. */
p11_p15_status p11_p15_read_octets(asn1_node n, const char *name, uint8_t *buf, size_t cap,
                                   size_t *len, bool *present);
/* Octets (or the DER of an ANY) into a vt_buf (replacing its content). */
p11_p15_status p11_p15_read_buf(asn1_node n, const char *name, vt_buf *out, bool *present);
/* UTF-8/printable text, NUL-terminated; P11_P15_ERR_RANGE when it does not fit. */
p11_p15_status p11_p15_read_text(asn1_node n, const char *name, char *buf, size_t cap,
                                 bool *present);
p11_p15_status p11_p15_read_choice(asn1_node n, const char *name, char *buf, size_t cap);
p11_p15_status p11_p15_read_path(asn1_node n, const char *name, p11_p15_path *p);

p11_p15_status p11_p15_write_long(asn1_node n, const char *name, long v);
/* Named bits 0..31 as a DER bit string without trailing zero bits. */
p11_p15_status p11_p15_write_bits(asn1_node n, const char *name, unsigned v);
p11_p15_status p11_p15_write_bool(asn1_node n, const char *name, bool v);
p11_p15_status p11_p15_write_octets(asn1_node n, const char *name, const uint8_t *v, size_t len);
p11_p15_status p11_p15_write_text(asn1_node n, const char *name, const char *s);
p11_p15_status p11_p15_write_choice(asn1_node n, const char *name, const char *alt);
p11_p15_status p11_p15_write_path(asn1_node n, const char *name, const p11_p15_path *p);
/* Remove an OPTIONAL (or restore a DEFAULT) field; absent already is fine. */
void p11_p15_write_absent(asn1_node n, const char *name);
/* Carry a field from a decoded node (src may be NULL) into a node being built: copied
 * when src has it, made absent otherwise. This is how fields the model does not cover
 * survive a rewrite: libtasn1 cannot add a field a decoded node lacked, so encoders
 * always build a fresh node and bring such fields over. */
p11_p15_status p11_p15_carry(asn1_node dst, asn1_node src, const char *name);

/* Build "prefix.suffix" into buf (prefix may be ""). */
const char *p11_p15_name(char *buf, size_t cap, const char *prefix, const char *suffix);

/* DF entries (pkcs15_obj.c, shared with the encoder in pkcs15_obj_enc.c). */
typedef struct p11_p15_entry_kind {
    p11_p15_obj_type type;
    const char *asn_type; /* CHOICE over the DF's entries */
    const char *alt;      /* the alternative */
    uint8_t tag;          /* its outer tag */
} p11_p15_entry_kind;

const p11_p15_entry_kind *p11_p15_kind_of_type(p11_p15_obj_type t);
bool p11_p15_obj_is_key(p11_p15_obj_type t); /* private or public */
/* The subject name's DER inside a key entry's subClassAttributes (empty when absent). */
p11_p15_status p11_p15_read_subject(const p11_p15_codec *c, asn1_node n, const char *alt,
                                    bool private_key, vt_buf *subject);

#endif
