/* The PKCS#12 store (NCA's "Personal computer" storage): directories of .p12/.pfx
 * files, each one a token whose password is the PIN.
 *
 * - Scanning a directory only stat()s; nothing is read or decrypted before a file is
 *   opened with its password (login).
 * - All cryptography runs in a private OpenSSL library context (ks_p12_ctx) with the
 *   default and legacy providers, so the module never touches the default library
 *   context of the application that loaded it (browsers, Java).
 * - Opening never modifies a file. Every write (password change, added key or
 *   certificate, removal) replaces the file atomically and keeps the algorithms the
 *   file already used: key-bag PBE and iterations, certificate-safe encryption, MAC
 *   digest, iterations and salt length, and every bag attribute.
 * - Private keys are available as EVP_PKEY for in-process signing and decryption only;
 *   this API never exports them in an encoded form except inside the file it writes.
 *
 * A ks_p12 handle is used by one thread at a time. A ks_p12_ctx may be shared. */
#ifndef KS_P12_H
#define KS_P12_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ks.h"

/* ---- password rule ------------------------------------------------------------ */

/* Length is counted in Unicode characters of the UTF-8 password. A required class is
 * "at least one character of it"; classes are ASCII only, as in NCALayer's regex
 * ^(?=.*?[A-Z])(?=.*?[a-z])(?=.*?[0-9]).{6,32}$. */
typedef struct ks_pwrule {
    unsigned min_len; /* 0: no minimum */
    unsigned max_len; /* 0: no maximum */
    bool upper;       /* A-Z */
    bool lower;       /* a-z */
    bool digit;       /* 0-9 */
    bool special;     /* anything that is not an ASCII letter or digit */
} ks_pwrule;

/* NCA's default: 6-32 characters with an upper-case letter, a lower-case letter and a
 * digit. */
#define KS_PWRULE_NCA ((ks_pwrule){6, 32, true, true, true, false})

/* Parse "min=6,max=32,upper,lower,digit" (items in any order, blanks around items
 * allowed; "none" or "" is no rule). KS_ERR_ARGS with the reason in why on a bad item. */
ks_status ks_pwrule_parse(const char *spec, ks_pwrule *out, char *why, size_t cap);
/* Format a rule back into the same syntax. */
void ks_pwrule_format(const ks_pwrule *rule, char *out, size_t cap);
/* KS_OK, or KS_ERR_POLICY with a reason for a person in why ("must contain a digit").
 * Passwords that are not UTF-8 or contain NUL or a line break are refused too. */
ks_status ks_pwrule_check(const ks_pwrule *rule, const char *pw, size_t len, char *why,
                          size_t cap);

/* ---- the cryptographic context ------------------------------------------------ */

typedef struct ks_p12_ctx ks_p12_ctx;

/* A private OSSL_LIB_CTX with the default and legacy providers. KS_ERR_UNSUPPORTED
 * when a provider cannot be loaded (the legacy one reads NCA files). */
ks_status ks_p12_ctx_new(ks_p12_ctx **out);
void ks_p12_ctx_free(ks_p12_ctx *ctx); /* after every ks_p12 and EVP_PKEY from it */
/* For the driver's own EVP calls on keys from this store (EVP_PKEY_CTX_new_from_pkey). */
OSSL_LIB_CTX *ks_p12_ctx_libctx(const ks_p12_ctx *ctx);

/* ---- scanning ----------------------------------------------------------------- */

typedef struct ks_p12_entry {
    char *path;         /* "<dir>/<name>" */
    const char *name;   /* file name, inside path */
    char *stem;         /* file name without ".p12"/".pfx": the token label */
    uint64_t size;
    int64_t mtime_sec;  /* with mtime_nsec: to notice a file replaced since the scan */
    long mtime_nsec;
    uint64_t dev, ino;
} ks_p12_entry;

typedef struct ks_p12_list {
    ks_p12_entry *v;
    size_t n;
} ks_p12_list;

/* Regular files (after following symlinks) named *.p12 or *.pfx in any letter case,
 * not hidden, sorted by name. Only stat(); no file is opened. KS_ERR_NOT_FOUND when
 * dir does not exist. *out is empty on error. */
ks_status ks_p12_scan(const char *dir, ks_p12_list *out);
void ks_p12_list_free(ks_p12_list *list);

/* ---- files ---------------------------------------------------------------------- */

typedef struct ks_p12 ks_p12;

/* Which algorithms a new file uses. */
typedef enum ks_p12_style {
    /* As NCA issues them: pbeWithSHA1And3-KeyTripleDES-CBC key bags,
     * pbeWithSHA1And40BitRC2-CBC certificate safe, SHA-1 MAC, 1024 iterations,
     * 20-byte salts. What NCALayer and Kalkan read. */
    KS_P12_STYLE_NCA,
    /* OpenSSL 3 defaults: PBES2/PBKDF2 (hmacWithSHA256) with AES-256-CBC for keys
     * and certificates, SHA-256 MAC, 2048 iterations, 8-byte salts. */
    KS_P12_STYLE_MODERN,
} ks_p12_style;

/* Create an empty password-protected file (an empty AuthenticatedSafe with a MAC,
 * which `openssl pkcs12 -info` and Java's keytool accept), mode 0600. KS_ERR_EXISTS
 * when path exists (decided atomically); KS_ERR_POLICY (reason in *why) when rule is
 * non-NULL and the password breaks it; KS_ERR_NOT_FOUND / KS_ERR_ACCESS when the
 * directory is missing / read-only. The style of an empty file is remembered through its MAC digest: SHA-1
 * means NCA, anything else modern, with the MAC's iteration count. out and why may
 * be NULL; *why is malloc'd. */
ks_status ks_p12_create(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen,
                        ks_p12_style style, const ks_pwrule *rule, ks_p12 **out, char **why);

/* Open and decrypt a file. KS_ERR_BAD_PASSWORD when the MAC does not verify under pw
 * (or, for a file without MAC, decryption fails); KS_ERR_CORRUPT when the file is
 * empty, truncated or not PKCS#12; KS_ERR_UNSUPPORTED for public-key privacy or
 * integrity modes, unknown MAC digests and iteration counts above a million (refused
 * before deriving anything: they would hold the caller for hours); KS_ERR_NOT_FOUND / KS_ERR_ACCESS from the
 * file system. A message for a person is put in *why (malloc'd) when why is non-NULL.
 * The file is never modified. */
ks_status ks_p12_open(ks_p12_ctx *ctx, const char *path, const char *pw, size_t pwlen,
                      ks_p12 **out, char **why);
/* ks_p12_open() on bytes in memory (len up to the size a file may have). The handle has
 * no file: ks_p12_path() is NULL, ks_p12_changed() true, and every write or reopen is
 * refused (KS_ERR_UNSUPPORTED, KS_ERR_ARGS). For the fuzzer and for callers that hold
 * the bytes already. */
ks_status ks_p12_open_mem(ks_p12_ctx *ctx, const uint8_t *der, size_t len, const char *pw,
                          size_t pwlen, ks_p12 **out, char **why);
void ks_p12_close(ks_p12 *p); /* wipes the password and frees the keys */
/* Open p's file again with the password p holds (after another process replaced the
 * file, say), so that a caller keeps no copy of the password. Results as ks_p12_open;
 * p is unchanged. */
ks_status ks_p12_reopen(const ks_p12 *p, ks_p12 **out, char **why);

const char *ks_p12_path(const ks_p12 *p);
/* The message of the last failed call on p ("" after a success). */
const char *ks_p12_error(const ks_p12 *p);
/* Has the file on disk been replaced or modified since p read or wrote it? (One
 * stat(): device, inode, size, mtime in ns.) Writes on a changed file fail with
 * KS_ERR_STALE; reopen to continue. */
bool ks_p12_changed(const ks_p12 *p);

/* Objects. Keys and certificates are numbered separately, in file order; numbers
 * shift down after a removal. */
typedef enum ks_p12_kind { KS_P12_KEY, KS_P12_CERT } ks_p12_kind;

size_t ks_p12_count(const ks_p12 *p, ks_p12_kind kind);
/* The private key, borrowed from p (valid until p changes or closes). NULL when the
 * key algorithm is not available (e.g. GOST): the key is still kept in the file. */
EVP_PKEY *ks_p12_key(const ks_p12 *p, size_t i);
/* The certificate, borrowed from p; and its DER exactly as stored. */
X509 *ks_p12_cert(const ks_p12 *p, size_t i);
const uint8_t *ks_p12_cert_der(const ks_p12 *p, size_t i, size_t *len);
/* Bag attributes: friendlyName as UTF-8 and localKeyID bytes, or NULL when absent. */
const char *ks_p12_friendly_name(const ks_p12 *p, ks_p12_kind kind, size_t i);
const uint8_t *ks_p12_local_key_id(const ks_p12 *p, ks_p12_kind kind, size_t i, size_t *len);

/* The algorithms of a file, for `vtoken p12 info` and for tests. NIDs are NID_undef
 * when there is no such part (no key bag, no encrypted safe, no MAC). For PBES2 the
 * pbe NID is NID_pbes2 and cipher/prf name the parts. */
typedef struct ks_p12_pbe_info {
    int pbe_nid;
    int cipher_nid; /* PBES2 only */
    int prf_nid;    /* PBES2 only (NID_hmacWithSHA1 when the file leaves it out) */
    int iter;
    int salt_len;
} ks_p12_pbe_info;

typedef struct ks_p12_info {
    ks_p12_pbe_info key;  /* the first shrouded key bag */
    ks_p12_pbe_info cert; /* the first encrypted safe */
    int mac_md_nid;
    int mac_iter;
    int mac_salt_len;
} ks_p12_info;

void ks_p12_get_info(const ks_p12 *p, ks_p12_info *info);

/* ---- changing a file (each call writes the file atomically or changes nothing) --- */

/* Every call below: KS_ERR_STALE when the file changed on disk since p read or wrote
 * it; KS_ERR_ACCESS when the file or its directory is read-only; KS_ERR_UNSUPPORTED
 * (reason in ks_p12_error) for files vtoken can read but not rewrite (nested SafeContents
 * bags, PBE parameters such as scrypt). The file is DER afterwards even if it was BER.
 *
 * Re-encrypt everything under a new password, keeping every algorithm, iteration count,
 * salt length and attribute. KS_ERR_POLICY (reason in ks_p12_error) when rule is
 * non-NULL and refuses new_pw. KS_ERR_ACCESS when the file or its directory is
 * read-only (no write permission bits, or not writable by us). Afterwards the old
 * password no longer opens the file. */
ks_status ks_p12_change_password(ks_p12 *p, const char *new_pw, size_t new_len,
                                 const ks_pwrule *rule);

/* Add a private key (e.g. freshly generated) as a shrouded key bag, encrypted like the
 * file's other key bags (or by the file's style when it has none). KS_ERR_EXISTS when
 * the same key is already there. id/id_len become
 * the localKeyID and friendly the friendlyName; with id NULL the id is the SHA-1 of
 * the public key (what a CA puts in SubjectKeyIdentifier) and with friendly NULL the
 * name is that id in lower-case hex, as NCA does. *index gets the key's number. */
ks_status ks_p12_add_key(ks_p12 *p, EVP_PKEY *key, const uint8_t *id, size_t id_len,
                         const char *friendly, size_t *index);

/* Add a certificate (DER) to the file's encrypted certificate safe (created, with the
 * file's cipher, when there is none). Its localKeyID is its SubjectKeyIdentifier (or
 * the SHA-1 of its public key when it has none) and its friendlyName that id in
 * lower-case hex; a key in the file with the same public key gets the same two
 * attributes, so that the pair matches as in NCA's files. KS_ERR_EXISTS when the same
 * certificate is already there; KS_ERR_CORRUPT when der is not a certificate. */
ks_status ks_p12_add_cert(ks_p12 *p, const uint8_t *der, size_t len, size_t *index);

/* Remove key or certificate i. */
ks_status ks_p12_remove(ks_p12 *p, ks_p12_kind kind, size_t i);

#endif
