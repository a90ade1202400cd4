/* PKCS#15 (ISO/IEC 7816-15) structures as cards carry them: EF(DIR), ODF, TokenInfo and
 * the AODF / PrKDF / PuKDF / CDF / DODF entries. Parsing and encoding go through
 * libtasn1 and the module in pkcs15.asn; the encodings match what OpenSC writes.
 * Pure code: no card access here (see pkcs15_app.h for the application on a card). */
#ifndef P11_PKCS15_H
#define P11_PKCS15_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vt_util.h"

typedef enum p11_p15_status {
    P11_P15_OK = 0,
    P11_P15_ERR_ARGS,        /* NULL pointer or impossible argument */
    P11_P15_ERR_NOMEM,       /* allocation failed */
    P11_P15_ERR_DER,         /* malformed DER, or a structure the schema rejects */
    P11_P15_ERR_RANGE,       /* a value does not fit our limits (path, id, label length) */
    P11_P15_ERR_UNSUPPORTED, /* valid, but a type this code does not handle */
    P11_P15_ERR_INTERNAL,    /* libtasn1 refused something we built */
} p11_p15_status;

const char *p11_p15_strerror(p11_p15_status st);

#define P11_P15_MAX_PATH 16   /* bytes of a file path (eight file identifiers) */
#define P11_P15_MAX_ID 255    /* bytes of an iD / authId */
#define P11_P15_MAX_LABEL 255 /* bytes of a UTF-8 label */
#define P11_P15_MAX_OID 64    /* dotted text of an OBJECT IDENTIFIER */
#define P11_P15_MAX_ACR 8     /* access control rules kept per object */

typedef struct p11_p15_path {
    uint8_t v[P11_P15_MAX_PATH];
    size_t len;
    long index, count; /* count < 0: no index/length (the whole file) */
} p11_p15_path;

typedef struct p11_p15_id {
    uint8_t v[P11_P15_MAX_ID];
    size_t len;
} p11_p15_id;

/* CommonObjectAttributes.flags */
#define P11_P15_CO_PRIVATE    0x01u
#define P11_P15_CO_MODIFIABLE 0x02u

/* KeyUsageFlags */
#define P11_P15_USAGE_ENCRYPT        0x001u
#define P11_P15_USAGE_DECRYPT        0x002u
#define P11_P15_USAGE_SIGN           0x004u
#define P11_P15_USAGE_SIGNRECOVER    0x008u
#define P11_P15_USAGE_WRAP           0x010u
#define P11_P15_USAGE_UNWRAP         0x020u
#define P11_P15_USAGE_VERIFY         0x040u
#define P11_P15_USAGE_VERIFYRECOVER  0x080u
#define P11_P15_USAGE_DERIVE         0x100u
#define P11_P15_USAGE_NONREPUDIATION 0x200u

/* KeyAccessFlags */
#define P11_P15_ACCESS_SENSITIVE        0x01u
#define P11_P15_ACCESS_EXTRACTABLE      0x02u
#define P11_P15_ACCESS_ALWAYSSENSITIVE  0x04u
#define P11_P15_ACCESS_NEVEREXTRACTABLE 0x08u
#define P11_P15_ACCESS_LOCAL            0x10u

/* PinFlags */
#define P11_P15_PIN_CASE_SENSITIVE   0x0001u
#define P11_P15_PIN_LOCAL            0x0002u
#define P11_P15_PIN_CHANGE_DISABLED  0x0004u
#define P11_P15_PIN_UNBLOCK_DISABLED 0x0008u
#define P11_P15_PIN_INITIALIZED      0x0010u
#define P11_P15_PIN_NEEDS_PADDING    0x0020u
#define P11_P15_PIN_UNBLOCKING_PIN   0x0040u
#define P11_P15_PIN_SO_PIN           0x0080u

/* PinType */
#define P11_P15_PIN_TYPE_BCD   0
#define P11_P15_PIN_TYPE_ASCII 1
#define P11_P15_PIN_TYPE_UTF8  2

/* TokenFlags */
#define P11_P15_TOKEN_READONLY       0x01u
#define P11_P15_TOKEN_LOGIN_REQUIRED 0x02u
#define P11_P15_TOKEN_PRN_GENERATION 0x04u
#define P11_P15_TOKEN_EID_COMPLIANT  0x08u

/* The directory files, numbered as the ODF tags them ([0] .. [8]). */
typedef enum p11_p15_df_type {
    P11_P15_PRKDF = 0,
    P11_P15_PUKDF = 1,
    P11_P15_PUKDF_TRUSTED = 2,
    P11_P15_SKDF = 3,
    P11_P15_CDF = 4,
    P11_P15_CDF_TRUSTED = 5,
    P11_P15_CDF_USEFUL = 6,
    P11_P15_DODF = 7,
    P11_P15_AODF = 8,
    P11_P15_DF_TYPES = 9
} p11_p15_df_type;

/* What an entry is. The key type table is open: GOST and EC have their own values. */
typedef enum p11_p15_obj_type {
    P11_P15_OBJ_UNKNOWN = 0, /* kept as raw bytes only */
    P11_P15_OBJ_PRKEY_RSA,
    P11_P15_OBJ_PRKEY_EC,
    P11_P15_OBJ_PRKEY_GOSTR3410,
    P11_P15_OBJ_PUBKEY_RSA,
    P11_P15_OBJ_PUBKEY_EC,
    P11_P15_OBJ_PUBKEY_GOSTR3410,
    P11_P15_OBJ_CERT_X509,
    P11_P15_OBJ_DATA,
    P11_P15_OBJ_AUTH_PIN,
} p11_p15_obj_type;

bool p11_p15_obj_is_prkey(p11_p15_obj_type t);
bool p11_p15_obj_is_pubkey(p11_p15_obj_type t);

/* CommonKeyAttributes with the key-type specifics (PrKDF and PuKDF entries). */
typedef struct p11_p15_key {
    p11_p15_id id;
    unsigned usage;        /* P11_P15_USAGE_* */
    bool native;           /* DEFAULT TRUE */
    unsigned access_flags; /* P11_P15_ACCESS_* */
    long key_reference;    /* < 0: absent */
    size_t modulus_bits;   /* RSA modulusLength; EC field size when given */
    long gost_params[3];   /* GOST R 34.10 / 34.11 / 28147 parameter sets; < 0 absent */
    vt_buf subject;        /* subjectName (Name DER), may be empty */
} p11_p15_key;

typedef struct p11_p15_cert {
    p11_p15_id id;
    bool authority;
} p11_p15_cert;

typedef struct p11_p15_data {
    char app_name[P11_P15_MAX_LABEL + 1]; /* "" when absent */
    char app_oid[P11_P15_MAX_OID];        /* dotted, "" when absent */
} p11_p15_data;

typedef struct p11_p15_pin {
    p11_p15_id auth_id;
    unsigned flags; /* P11_P15_PIN_* */
    int type;       /* P11_P15_PIN_TYPE_* */
    long min_len, stored_len, max_len; /* max_len < 0: absent */
    long reference;                    /* < 0: absent */
    bool has_pad;
    uint8_t pad_char;
} p11_p15_pin;

/* One DF entry. The value is either a path (indirect) or bytes (direct). Entries of a
 * type this code does not model keep only raw and are written back unchanged. */
typedef struct p11_p15_obj {
    p11_p15_obj_type type;
    /* CommonObjectAttributes */
    char label[P11_P15_MAX_LABEL + 1]; /* "" when absent */
    unsigned flags;                    /* P11_P15_CO_* */
    p11_p15_id auth_id;
    long user_consent; /* 0: absent */
    /* value */
    bool has_path;
    p11_p15_path path;
    vt_buf direct; /* direct value (certificate, RSAPublicKey, data) */
    union {
        p11_p15_key key;
        p11_p15_cert cert;
        p11_p15_data data;
        p11_p15_pin pin;
    } u;
    /* The DER this entry was read from. Encoding starts from it, so fields this code
     * does not model (access control rules, key identifiers...) survive a rewrite. */
    vt_buf raw;
} p11_p15_obj;

void p11_p15_obj_init(p11_p15_obj *o, p11_p15_obj_type type);
void p11_p15_obj_clear(p11_p15_obj *o); /* frees buffers, keeps nothing */
p11_p15_status p11_p15_obj_copy(p11_p15_obj *dst, const p11_p15_obj *src);
void p11_p15_objs_free(p11_p15_obj *v, size_t n);

/* The libtasn1 definitions, built once per user from the compiled pkcs15.asn table. */
typedef struct p11_p15_codec p11_p15_codec;
p11_p15_status p11_p15_codec_new(p11_p15_codec **out);
void p11_p15_codec_free(p11_p15_codec *c);

/* Directory files. Decoding stops at the first 00 or FF byte between entries (the
 * unused tail of a fixed-size EF). Entries of unknown type are kept raw. The caller
 * frees *objs with p11_p15_objs_free(). Entries that do not belong in this DF type, or
 * are malformed, fail the whole decode with P11_P15_ERR_DER. */
p11_p15_status p11_p15_decode_df(const p11_p15_codec *c, p11_p15_df_type type, const uint8_t *der,
                                 size_t len, p11_p15_obj **objs, size_t *n);
/* Encode one entry (appended to out). */
p11_p15_status p11_p15_encode_obj(const p11_p15_codec *c, const p11_p15_obj *o, vt_buf *out);
/* Encode a whole DF: the entries back to back. */
p11_p15_status p11_p15_encode_df(const p11_p15_codec *c, const p11_p15_obj *objs, size_t n,
                                 vt_buf *out);

/* ODF */
typedef struct p11_p15_odf_entry {
    p11_p15_df_type type;
    p11_p15_path path;
} p11_p15_odf_entry;

#define P11_P15_MAX_ODF 32
p11_p15_status p11_p15_decode_odf(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                  p11_p15_odf_entry *out, size_t cap, size_t *n);
p11_p15_status p11_p15_encode_odf(const p11_p15_codec *c, const p11_p15_odf_entry *e, size_t n,
                                  vt_buf *out);

/* TokenInfo: the fields we read and write. Encoding starts from raw when set, so the
 * rest (seInfo, supportedAlgorithms, ...) is kept. */
typedef struct p11_p15_tokeninfo {
    long version;
    uint8_t serial[64];
    size_t serial_len; /* 0: absent */
    char manufacturer[P11_P15_MAX_LABEL + 1];
    bool has_manufacturer;
    char label[P11_P15_MAX_LABEL + 1];
    bool has_label;
    unsigned flags; /* P11_P15_TOKEN_* */
    bool has_flags;
    char last_update[32]; /* GeneralizedTime text, "" when absent */
    vt_buf raw;
} p11_p15_tokeninfo;

void p11_p15_tokeninfo_clear(p11_p15_tokeninfo *ti);
p11_p15_status p11_p15_decode_tokeninfo(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                        p11_p15_tokeninfo *ti);
p11_p15_status p11_p15_encode_tokeninfo(const p11_p15_codec *c, const p11_p15_tokeninfo *ti,
                                        vt_buf *out);

/* EF(DIR) application templates. */
typedef struct p11_p15_dirrec {
    uint8_t aid[16];
    size_t aid_len;
    char label[P11_P15_MAX_LABEL + 1];
    bool has_label;
    uint8_t path[P11_P15_MAX_PATH];
    size_t path_len; /* 0: absent */
} p11_p15_dirrec;

#define P11_P15_MAX_DIRRECS 8
p11_p15_status p11_p15_decode_dir(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                  p11_p15_dirrec *out, size_t cap, size_t *n);
p11_p15_status p11_p15_encode_dir(const p11_p15_codec *c, const p11_p15_dirrec *apps, size_t n,
                                  vt_buf *out);

/* RSAPublicKey ::= SEQUENCE { modulus, publicExponent }: unsigned big-endian values. */
p11_p15_status p11_p15_encode_rsa_pubkey(const p11_p15_codec *c, const uint8_t *n, size_t n_len,
                                         const uint8_t *e, size_t e_len, vt_buf *out);
/* n and e point into out_buf (a copy the caller frees with vt_buf_free). */
p11_p15_status p11_p15_decode_rsa_pubkey(const p11_p15_codec *c, const uint8_t *der, size_t len,
                                         vt_buf *n, vt_buf *e);

/* Paths: "3F0050006002" style helpers. */
bool p11_p15_path_set(p11_p15_path *p, const uint8_t *v, size_t len);
bool p11_p15_path_append(p11_p15_path *p, uint16_t fid);
bool p11_p15_path_eq(const p11_p15_path *a, const p11_p15_path *b);
/* A path from a DF entry, made absolute below the application DF when it is relative
 * (does not start with 3F00). */
bool p11_p15_path_absolute(const p11_p15_path *app, const p11_p15_path *in, p11_p15_path *out);
uint16_t p11_p15_path_last_fid(const p11_p15_path *p);

#endif
