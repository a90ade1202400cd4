/* The test CA: created once per home, then issues NCA-profile certificates for
 * PKCS#10 requests and answers "valid or revoked?" for the flows (revocations and the
 * CRL: nca_ca_revoke.c). Layout and guarantees: nca_ca.h. */
#include "nca_ca.h"
#include "nca_ca_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ks.h"
#include "nca_req.h"

#define CA_KEY_BITS   2048
#define CA_VALID_DAYS (10 * 365)
#define SERIAL_BYTES  20
#define PEM_MAX       (1u << 20)

static const char ca_readme[] =
    "This is the local TEST certification authority of `vtoken nca` (vtoken's virtual NCA\n"
    "tokens). It imitates the profile of NCA's \"ҰКО 3.0 (RSA TEST)\" but is NOT NCA: its\n"
    "key (ca.key) is unprotected and its certificates mean nothing outside tests.\n"
    "Files: ca.crt (trust anchor for tests), index (issued certificates and their status),\n"
    "serial (next serial), crl.pem, certs/ (issued certificates), requests/ (accepted\n"
    "revocation requests).\n";

const char *nca_cert_state_name(nca_cert_state s)
{
    switch (s) {
    case NCA_CERT_VALID:
        return "valid";
    case NCA_CERT_REVOKED:
        return "revoked";
    case NCA_CERT_EXPIRED:
        return "expired";
    case NCA_CERT_FOREIGN:
        return "not issued by this CA";
    case NCA_CERT_UNKNOWN:
        return "unknown to this CA";
    }
    return "?";
}

const char *nca_ca_dir(const nca_ca *ca)
{
    return ca->dir;
}

X509 *nca_ca_cert(const nca_ca *ca)
{
    return ca->cert;
}

/* ---- small helpers ------------------------------------------------------------------ */

void nca_ca_path(const nca_ca *ca, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", ca->dir, name);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void nca_iso_of(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool nca_time_of_iso(const char *s, time_t *out)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end != '\0')
        return false;
    *out = timegm(&tm);
    return true;
}

/* The PEM text of an object, from a BIO that wipes itself (keys pass through it). */
int nca_bio_to_buf(BIO *bio, vt_buf *out)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);

    if (len <= 0 || !vt_buf_append(out, data, (size_t)len))
        return -1;
    return 0;
}

int nca_write_pem(const char *path, vt_buf *pem, unsigned mode, bool create, char *err,
                  size_t errcap)
{
    ks_status st = create ? ks_atomic_create(path, pem->data, pem->len, mode)
                          : ks_atomic_write(path, pem->data, pem->len, mode);
    if (st != KS_OK) {
        snprintf(err, errcap, "cannot write %s: %s", path, ks_strerror(st));
        return -1;
    }
    return 0;
}

X509 *nca_read_cert(const char *path, char *err, size_t errcap)
{
    vt_buf buf = {0};
    BIO *bio = NULL;
    X509 *x = NULL;
    ks_status st = ks_read_file(path, PEM_MAX, &buf);

    if (st != KS_OK) {
        snprintf(err, errcap, "cannot read %s: %s", path, ks_strerror(st));
        goto out;
    }
    bio = BIO_new_mem_buf(buf.data, (int)buf.len);
    x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    if (!x)
        snprintf(err, errcap, "%s is not a PEM certificate", path);
out:
    BIO_free(bio);
    vt_buf_free(&buf);
    return x;
}

static EVP_PKEY *read_key(const char *path, char *err, size_t errcap)
{
    vt_buf buf = {0};
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    ks_status st = ks_read_file(path, PEM_MAX, &buf);

    if (st != KS_OK) {
        snprintf(err, errcap, "cannot read %s: %s", path, ks_strerror(st));
        goto out;
    }
    bio = BIO_new_mem_buf(buf.data, (int)buf.len);
    k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    if (!k)
        snprintf(err, errcap, "%s is not a PEM private key", path);
out:
    BIO_free(bio);
    vt_buf_free(&buf); /* wipes */
    return k;
}

static int cert_pem(X509 *x, vt_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = bio && PEM_write_bio_X509(bio, x) == 1 ? nca_bio_to_buf(bio, out) : -1;
    BIO_free(bio);
    return rc;
}

ASN1_INTEGER *nca_serial_of_hex(const char *hex)
{
    BIGNUM *bn = NULL;
    ASN1_INTEGER *i = NULL;

    if (BN_hex2bn(&bn, hex) > 0)
        i = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    return i;
}

/* A fresh 20-byte positive serial with a non-zero first byte, as NCA's look. */
static void random_serial_hex(char *out, size_t cap)
{
    uint8_t b[SERIAL_BYTES];

    if (RAND_bytes(b, sizeof(b)) != 1)
        memset(b, 0x5a, sizeof(b));
    b[0] = (uint8_t)((b[0] & 0x3f) | 0x10);
    if (cap >= 2 * sizeof(b) + 1)
        vt_hex_encode(b, sizeof(b), out);
}

/* ---- creation ----------------------------------------------------------------------- */

static int create_key(nca_ca *ca, char *err, size_t errcap)
{
    char path[4200];
    vt_buf pem = {0};
    BIO *bio = NULL;
    int rc = -1;

    nca_ca_path(ca, "ca.key", path, sizeof(path));
    ca->key = EVP_RSA_gen(CA_KEY_BITS);
    bio = BIO_new(BIO_s_secmem());
    if (!ca->key || !bio ||
        PEM_write_bio_PrivateKey(bio, ca->key, NULL, NULL, 0, NULL, NULL) != 1 ||
        nca_bio_to_buf(bio, &pem) != 0) {
        snprintf(err, errcap, "cannot make the CA key (OpenSSL)");
        goto out;
    }
    rc = nca_write_pem(path, &pem, 0600, true, err, errcap);
out:
    BIO_free(bio);
    vt_buf_free(&pem);
    return rc;
}

static X509_NAME *ca_name(void)
{
    X509_NAME *n = X509_NAME_new();

    /* NCA's order and types: C (PrintableString), then CN (UTF8String). */
    if (n &&
        X509_NAME_add_entry_by_NID(n, NID_countryName, V_ASN1_PRINTABLESTRING,
                                   (const unsigned char *)"KZ", 2, -1, 0) == 1 &&
        X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING,
                                   (const unsigned char *)NCA_CA_NAME, (int)strlen(NCA_CA_NAME), -1,
                                   0) == 1)
        return n;
    X509_NAME_free(n);
    return NULL;
}

static bool add_ext_conf(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    bool ok;

    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static int create_cert(nca_ca *ca, char *err, size_t errcap)
{
    char path[4200], serial[2 * SERIAL_BYTES + 1];
    X509 *x = X509_new();
    X509_NAME *name = ca_name();
    ASN1_INTEGER *sn = NULL;
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    uint8_t id[NCA_SKI_LEN];
    vt_buf pem = {0};
    int rc = -1;

    random_serial_hex(serial, sizeof(serial));
    sn = nca_serial_of_hex(serial);
    if (!x || !name || !sn || !ski || !nca_ski(ca->key, id) ||
        ASN1_OCTET_STRING_set(ski, id, NCA_SKI_LEN) != 1 || X509_set_version(x, 2) != 1 ||
        X509_set_serialNumber(x, sn) != 1 || X509_set_issuer_name(x, name) != 1 ||
        X509_set_subject_name(x, name) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), CA_VALID_DAYS, 0, NULL) ||
        X509_set_pubkey(x, ca->key) != 1 ||
        !add_ext_conf(x, NID_basic_constraints, "critical,CA:TRUE") ||
        !add_ext_conf(x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) != 1 ||
        X509_sign(x, ca->key, EVP_sha256()) <= 0 || cert_pem(x, &pem) != 0) {
        snprintf(err, errcap, "cannot make the CA certificate (OpenSSL)");
        goto out;
    }
    nca_ca_path(ca, "ca.crt", path, sizeof(path));
    rc = nca_write_pem(path, &pem, 0644, true, err, errcap);
    if (rc == 0) {
        ca->cert = x;
        x = NULL;
    }
out:
    X509_free(x);
    X509_NAME_free(name);
    ASN1_INTEGER_free(sn);
    ASN1_OCTET_STRING_free(ski);
    vt_buf_free(&pem);
    return rc;
}

/* Files a CA may lack after a crash or from an older vtoken: made, never replaced. */
static int complete(nca_ca *ca, char *err, size_t errcap)
{
    char path[4200], hex[2 * SERIAL_BYTES + 1], serial[2 * SERIAL_BYTES + 2];
    ks_status st;

    nca_ca_path(ca, "serial", path, sizeof(path));
    if (!exists(path)) {
        random_serial_hex(hex, sizeof(hex));
        snprintf(serial, sizeof(serial), "%s\n", hex);
        st = ks_atomic_create(path, (const uint8_t *)serial, strlen(serial), 0644);
        if (st != KS_OK && st != KS_ERR_EXISTS) {
            snprintf(err, errcap, "cannot write %s: %s", path, ks_strerror(st));
            return -1;
        }
    }
    nca_ca_path(ca, "README", path, sizeof(path));
    if (!exists(path))
        (void)ks_atomic_create(path, (const uint8_t *)ca_readme, strlen(ca_readme), 0644);
    nca_ca_path(ca, "crl.pem", path, sizeof(path));
    if (!exists(path))
        return nca_ca_write_crl(ca, err, errcap);
    return 0;
}

int nca_ca_open(const char *home_dir, nca_ca **out, bool *created, char *err, size_t errcap)
{
    char path[4200];
    nca_ca *ca = calloc(1, sizeof(*ca));
    int lock = -1, rc = -1;

    *out = NULL;
    *created = false;
    if (!ca) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    if (snprintf(ca->dir, sizeof(ca->dir), "%s/%s", home_dir, NCA_CA_DIR) >= (int)sizeof(ca->dir)) {
        snprintf(err, errcap, "home path too long: %s", home_dir);
        goto out;
    }
    const char *subdirs[] = {"", "/certs", "/requests"};
    for (size_t i = 0; i < VT_ARRAY_LEN(subdirs); i++) {
        snprintf(path, sizeof(path), "%s%s", ca->dir, subdirs[i]);
        if (ks_mkdirs(path, 0700) != KS_OK) {
            snprintf(err, errcap, "cannot create %s: %s", path, strerror(errno));
            goto out;
        }
    }
    lock = nca_ca_lock(ca->dir, err, errcap);
    if (lock < 0)
        goto out;
    nca_ca_path(ca, "ca.crt", path, sizeof(path));
    if (exists(path)) {
        ca->cert = nca_read_cert(path, err, errcap);
        if (!ca->cert)
            goto out;
        nca_ca_path(ca, "ca.key", path, sizeof(path));
        ca->key = read_key(path, err, errcap);
        if (!ca->key)
            goto out;
        if (X509_check_private_key(ca->cert, ca->key) != 1) {
            snprintf(err, errcap, "%s/ca.key does not belong to %s/ca.crt: the CA is damaged",
                     ca->dir, ca->dir);
            goto out;
        }
    } else {
        nca_ca_path(ca, "ca.key", path, sizeof(path));
        /* A key without its certificate: a creation that stopped half-way. */
        if (exists(path))
            ca->key = read_key(path, err, errcap);
        else if (create_key(ca, err, errcap) != 0)
            goto out;
        if (!ca->key || create_cert(ca, err, errcap) != 0)
            goto out;
        *created = true;
    }
    if (!nca_ski(X509_get0_pubkey(ca->cert), ca->ski)) {
        snprintf(err, errcap, "cannot read the CA's public key");
        goto out;
    }
    if (complete(ca, err, errcap) != 0)
        goto out;
    *out = ca;
    ca = NULL;
    rc = 0;
out:
    nca_ca_unlock(lock);
    nca_ca_close(ca);
    return rc;
}

void nca_ca_close(nca_ca *ca)
{
    if (!ca)
        return;
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    free(ca);
}

/* ---- issuing ------------------------------------------------------------------------ */

/* Take the next serial and store the one after it (before the certificate exists, so
 * a serial is never given twice even if we stop half-way). Under the lock. */
static int next_serial(nca_ca *ca, char *out, size_t cap, char *err, size_t errcap)
{
    char path[4200], line[2 * NCA_SERIAL_HEX_MAX];
    vt_buf buf = {0};
    BIGNUM *bn = NULL;
    char *hex = NULL;
    ks_status st;
    int rc = -1;

    nca_ca_path(ca, "serial", path, sizeof(path));
    st = ks_read_file(path, 256, &buf);
    if (st != KS_OK || buf.len == 0 || buf.len >= sizeof(line)) {
        snprintf(err, errcap, "cannot read %s: %s", path, ks_strerror(st));
        goto out;
    }
    memcpy(line, buf.data, buf.len);
    line[buf.len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (!nca_serial_canon(line, out, cap) || BN_hex2bn(&bn, out) <= 0 || !BN_add_word(bn, 1) ||
        !(hex = BN_bn2hex(bn))) {
        snprintf(err, errcap, "%s does not hold a hex serial", path);
        goto out;
    }
    snprintf(line, sizeof(line), "%s\n", hex);
    st = ks_atomic_write(path, (const uint8_t *)line, strlen(line), 0644);
    if (st != KS_OK) {
        snprintf(err, errcap, "cannot write %s: %s", path, ks_strerror(st));
        goto out;
    }
    rc = 0;
out:
    OPENSSL_free(hex);
    BN_free(bn);
    vt_buf_free(&buf);
    return rc;
}

static bool subject_has_iin(const X509_NAME *n)
{
    int i = X509_NAME_get_index_by_NID(n, NID_serialNumber, -1);
    const ASN1_STRING *s;
    const unsigned char *d;

    if (i < 0 || X509_NAME_get_index_by_NID(n, NID_commonName, -1) < 0)
        return false;
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    d = ASN1_STRING_get0_data(s);
    if (ASN1_STRING_length(s) != 3 + NCA_IIN_LEN || memcmp(d, "IIN", 3) != 0)
        return false;
    for (int k = 3; k < 3 + NCA_IIN_LEN; k++)
        if (d[k] < '0' || d[k] > '9')
            return false;
    return true;
}

static void subject_line(const X509_NAME *n, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;

    out[0] = '\0';
    if (!bio)
        return;
    /* One line in the order of the encoding ("CN=..., SN=..., serialNumber=IIN..."),
     * UTF-8 kept as is (no \XX escapes for non-ASCII). */
    if (X509_NAME_print_ex(bio, n, 0,
                           (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB & ~XN_FLAG_SPC_EQ) |
                               ASN1_STRFLGS_UTF8_CONVERT) >= 0) {
        len = BIO_get_mem_data(bio, &data);
        snprintf(out, cap, "%.*s", (int)len, data);
        for (char *c = out; *c; c++)
            if (*c == '\t' || *c == '\n' || *c == '\r')
                *c = ' ';
    }
    BIO_free(bio);
}

static int check_request(X509_REQ *req, char *err, size_t errcap)
{
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);

    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pub) < 2048) {
        snprintf(err, errcap, "the request's key is not RSA of 2048 bits or more");
        return -1;
    }
    if (X509_REQ_verify(req, pub) != 1) {
        snprintf(err, errcap,
                 "the request's signature does not verify: its sender does not hold the key");
        return -1;
    }
    if (!subject_has_iin(X509_REQ_get_subject_name(req))) {
        snprintf(err, errcap, "the request's subject has no CN or no SERIALNUMBER=IIN<12 digits>");
        return -1;
    }
    return 0;
}

int nca_ca_issue(nca_ca *ca, X509_REQ *req, nca_template t, nca_media m, X509 **out, char *err,
                 size_t errcap)
{
    char serial[NCA_SERIAL_HEX_MAX + 1], path[4200];
    nca_index idx = {0};
    nca_ca_entry e;
    ASN1_INTEGER *sn = NULL;
    X509 *x = NULL;
    vt_buf pem = {0};
    uint8_t ski[NCA_SKI_LEN];
    int lock, rc = -1;

    *out = NULL;
    if (check_request(req, err, errcap) != 0)
        return -1;
    lock = nca_ca_lock(ca->dir, err, errcap);
    if (lock < 0)
        return -1;
    if (next_serial(ca, serial, sizeof(serial), err, errcap) != 0)
        goto out;
    x = X509_new();
    sn = nca_serial_of_hex(serial);
    if (!x || !sn || X509_set_version(x, 2) != 1 || X509_set_serialNumber(x, sn) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
        X509_set_subject_name(x, X509_REQ_get_subject_name(req)) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), nca_media_validity_days(m), 0, NULL) ||
        X509_set_pubkey(x, X509_REQ_get0_pubkey(req)) != 1 ||
        !nca_profile_add_extensions(x, t, ca->ski) || X509_sign(x, ca->key, EVP_sha256()) <= 0 ||
        !nca_ski(X509_get0_pubkey(x), ski) || cert_pem(x, &pem) != 0) {
        snprintf(err, errcap, "cannot make the certificate (OpenSSL)");
        goto out;
    }
    snprintf(path, sizeof(path), "%s/certs/%s.pem", ca->dir, serial);
    if (nca_write_pem(path, &pem, 0644, true, err, errcap) != 0)
        goto out;

    memset(&e, 0, sizeof(e));
    snprintf(e.serial, sizeof(e.serial), "%s", serial);
    nca_time_iso(X509_get0_notBefore(x), e.issued, sizeof(e.issued));
    nca_time_iso(X509_get0_notAfter(x), e.not_after, sizeof(e.not_after));
    e.tmpl = t;
    vt_hex_encode(ski, sizeof(ski), e.ski);
    subject_line(X509_get_subject_name(x), e.subject, sizeof(e.subject));
    if (nca_index_load(ca->dir, &idx, err, errcap) != 0)
        goto out;
    if (nca_index_append(&idx, &e) != 0) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    if (nca_index_save(ca->dir, &idx, err, errcap) != 0)
        goto out;
    *out = x;
    x = NULL;
    rc = 0;
out:
    nca_ca_unlock(lock);
    nca_index_free(&idx);
    vt_buf_free(&pem);
    ASN1_INTEGER_free(sn);
    X509_free(x);
    return rc;
}

/* ---- status --------------------------------------------------------------------------- */

bool nca_ca_lookup(nca_ca *ca, const char *serial, nca_ca_entry *out)
{
    char err[256];
    nca_index idx;
    nca_ca_entry *e;
    bool found = false;

    /* The index is replaced by rename(), so an unlocked read sees one version of it. */
    if (nca_index_load(ca->dir, &idx, err, sizeof(err)) != 0)
        return false;
    e = nca_index_find(&idx, serial);
    if (e) {
        *out = *e;
        found = true;
    }
    nca_index_free(&idx);
    return found;
}

nca_cert_state nca_ca_check(nca_ca *ca, X509 *cert, nca_ca_entry *entry)
{
    char serial[NCA_SERIAL_HEX_MAX + 1];
    nca_ca_entry e;

    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca->cert)) != 0 ||
        X509_verify(cert, X509_get0_pubkey(ca->cert)) != 1)
        return NCA_CERT_FOREIGN;
    nca_cert_serial_hex(cert, serial, sizeof(serial));
    if (!nca_ca_lookup(ca, serial, &e))
        return NCA_CERT_UNKNOWN;
    if (entry)
        *entry = e;
    if (e.revoked)
        return NCA_CERT_REVOKED;
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0 ||
        X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        return NCA_CERT_EXPIRED;
    return NCA_CERT_VALID;
}
