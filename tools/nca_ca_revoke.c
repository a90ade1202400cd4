/* The test CA's revocations: signed revocation requests checked and accepted, the
 * CA's own revocations (a reissue with --revoke-old, a failed reissue), and the CRL
 * rewritten after each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ks.h"
#include "nca_ca.h"
#include "nca_ca_int.h"
#include "nca_req.h"

#define CRL_VALID_DAYS  30
#define REQUEST_MAX_AGE 300 /* seconds a revocation request's time may differ from now */

static X509_REVOKED *revoked_of(const nca_ca_entry *e)
{
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_INTEGER *sn = nca_serial_of_hex(e->serial);
    ASN1_TIME *when = NULL;
    ASN1_ENUMERATED *reason = NULL;
    int code = nca_reason_code(e->reason);
    time_t t;
    bool ok;

    ok = r && sn && nca_time_of_iso(e->revoked_at, &t) && (when = ASN1_TIME_set(NULL, t)) &&
         X509_REVOKED_set_serialNumber(r, sn) == 1 && X509_REVOKED_set_revocationDate(r, when) == 1;
    /* RFC 5280: the reason "unspecified" is left out rather than written. */
    if (ok && code > 0) {
        reason = ASN1_ENUMERATED_new();
        ok = reason && ASN1_ENUMERATED_set(reason, code) == 1 &&
             X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0) == 1;
    }
    ASN1_ENUMERATED_free(reason);
    ASN1_TIME_free(when);
    ASN1_INTEGER_free(sn);
    if (ok)
        return r;
    X509_REVOKED_free(r);
    return NULL;
}

/* Under the lock (or at creation). */
int nca_ca_write_crl(nca_ca *ca, char *err, size_t errcap)
{
    char path[4200];
    nca_index idx = {0};
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
    ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), CRL_VALID_DAYS, 0);
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    BIO *bio = BIO_new(BIO_s_mem());
    vt_buf pem = {0};
    int rc = -1;

    if (nca_index_load(ca->dir, &idx, err, errcap) != 0)
        goto out;
    if (!crl || !now || !next || !akid || !bio || X509_CRL_set_version(crl, 1) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, now) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1)
        goto fail;
    akid->keyid = ASN1_OCTET_STRING_new();
    if (!akid->keyid || ASN1_OCTET_STRING_set(akid->keyid, ca->ski, NCA_SKI_LEN) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0) != 1)
        goto fail;
    for (size_t i = 0; i < idx.n; i++) {
        X509_REVOKED *r;
        if (!idx.v[i].revoked)
            continue;
        r = revoked_of(&idx.v[i]);
        if (!r || X509_CRL_add0_revoked(crl, r) != 1) {
            X509_REVOKED_free(r);
            goto fail;
        }
    }
    if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0 ||
        PEM_write_bio_X509_CRL(bio, crl) != 1 || nca_bio_to_buf(bio, &pem) != 0)
        goto fail;
    nca_ca_path(ca, "crl.pem", path, sizeof(path));
    rc = nca_write_pem(path, &pem, 0644, false, err, errcap);
    goto out;
fail:
    snprintf(err, errcap, "cannot make the CRL (OpenSSL)");
out:
    vt_buf_free(&pem);
    BIO_free(bio);
    AUTHORITY_KEYID_free(akid);
    ASN1_TIME_free(next);
    ASN1_TIME_free(now);
    X509_CRL_free(crl);
    nca_index_free(&idx);
    return rc;
}

static X509 *issued_cert(nca_ca *ca, const char *serial, char *err, size_t errcap)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/certs/%s.pem", ca->dir, serial);
    return nca_read_cert(path, err, errcap);
}

/* Mark e revoked now, save the index and the CRL. Under the lock. */
static int mark_revoked(nca_ca *ca, nca_index *idx, nca_ca_entry *e, const char *reason, char *err,
                        size_t errcap)
{
    e->revoked = true;
    nca_iso_of(time(NULL), e->revoked_at, sizeof(e->revoked_at));
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    if (nca_index_save(ca->dir, idx, err, errcap) != 0)
        return -1;
    return nca_ca_write_crl(ca, err, errcap);
}

static int save_request(nca_ca *ca, const nca_revreq *r, const char *text, const uint8_t *sig,
                        size_t sig_len, char *err, size_t errcap)
{
    char path[4200], stamp[32];
    vt_buf b = {0};
    unsigned char *b64 = malloc(4 * ((sig_len + 2) / 3) + 1);
    ks_status st;
    int rc = -1;

    if (!b64) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    EVP_EncodeBlock(b64, sig, (int)sig_len);
    snprintf(stamp, sizeof(stamp), "%s", r->time);
    for (char *c = stamp; *c; c++)
        if (*c == ':')
            *c = '-';
    if (snprintf(path, sizeof(path), "%s/requests/%s-%s.txt", ca->dir, r->serial, stamp) >=
        (int)sizeof(path)) {
        snprintf(err, errcap, "CA path too long");
        free(b64);
        return -1;
    }
    vt_buf_append(&b, text, strlen(text));
    vt_buf_append(&b, "signature-sha256WithRSA: ", 25);
    vt_buf_append(&b, b64, strlen((const char *)b64));
    vt_buf_append_byte(&b, '\n');
    st = b.oom ? KS_ERR_NOMEM : ks_atomic_write(path, b.data, b.len, 0644);
    if (st != KS_OK)
        snprintf(err, errcap, "cannot write %s: %s", path, ks_strerror(st));
    else
        rc = 0;
    free(b64);
    vt_buf_free(&b);
    return rc;
}

/* The CA's checks of a revocation request, before anything changes. */
static int check_revreq(nca_ca *ca, nca_index *idx, const nca_revreq *r, const char *text,
                        const uint8_t *sig, size_t sig_len, nca_ca_entry **target, char *err,
                        size_t errcap)
{
    char signer_iin[32], target_iin[32];
    nca_ca_entry *signer = nca_index_find(idx, r->signer);
    X509 *signer_cert = NULL, *target_cert = NULL;
    time_t when;
    int rc = -1;

    if (!nca_time_of_iso(r->time, &when) || labs((long)(time(NULL) - when)) > REQUEST_MAX_AGE) {
        snprintf(err, errcap, "the request's time %s is not within %d s of now (replayed?)",
                 r->time, REQUEST_MAX_AGE);
        goto out;
    }
    if (!signer || signer->tmpl != NCA_TEMPLATE_AUTH) {
        snprintf(err, errcap, "the request is not signed with an AUTH certificate of this CA");
        goto out;
    }
    signer_cert = issued_cert(ca, signer->serial, err, errcap);
    if (!signer_cert)
        goto out;
    if (nca_ca_check(ca, signer_cert, NULL) != NCA_CERT_VALID) {
        snprintf(err, errcap, "the AUTH certificate %s that signed the request is %s",
                 signer->serial, nca_cert_state_name(nca_ca_check(ca, signer_cert, NULL)));
        goto out;
    }
    if (!nca_verify_sha256_rsa(signer_cert, (const uint8_t *)text, strlen(text), sig, sig_len)) {
        snprintf(err, errcap, "the request's signature does not verify with AUTH certificate %s",
                 signer->serial);
        goto out;
    }
    *target = nca_index_find(idx, r->serial);
    if (!*target) {
        snprintf(err, errcap, "this CA issued no certificate with serial %s", r->serial);
        goto out;
    }
    if ((*target)->revoked) {
        snprintf(err, errcap, "certificate %s is already revoked (%s, %s)", r->serial,
                 (*target)->revoked_at, (*target)->reason);
        goto out;
    }
    target_cert = issued_cert(ca, (*target)->serial, err, errcap);
    if (!target_cert)
        goto out;
    nca_cert_iin(signer_cert, signer_iin, sizeof(signer_iin));
    nca_cert_iin(target_cert, target_iin, sizeof(target_iin));
    if (strcmp(signer_iin, target_iin) != 0) {
        snprintf(err, errcap, "certificate %s belongs to %s, the signer is %s", r->serial,
                 target_iin, signer_iin);
        goto out;
    }
    rc = 0;
out:
    X509_free(signer_cert);
    X509_free(target_cert);
    return rc;
}

int nca_ca_revoke_request(nca_ca *ca, const char *text, const uint8_t *sig, size_t sig_len,
                          nca_ca_entry *out, char *err, size_t errcap)
{
    nca_index idx = {0};
    nca_ca_entry *target = NULL;
    nca_revreq r;
    int lock, rc = -1;

    if (!nca_revreq_parse(text, &r)) {
        snprintf(err, errcap, "malformed revocation request");
        return -1;
    }
    lock = nca_ca_lock(ca->dir, err, errcap);
    if (lock < 0)
        return -1;
    if (nca_index_load(ca->dir, &idx, err, errcap) != 0 ||
        check_revreq(ca, &idx, &r, text, sig, sig_len, &target, err, errcap) != 0 ||
        save_request(ca, &r, text, sig, sig_len, err, errcap) != 0 ||
        mark_revoked(ca, &idx, target, r.reason, err, errcap) != 0)
        goto out;
    *out = *target;
    rc = 0;
out:
    nca_ca_unlock(lock);
    nca_index_free(&idx);
    return rc;
}

int nca_ca_revoke(nca_ca *ca, const char *serial, const char *reason, char *err, size_t errcap)
{
    nca_index idx = {0};
    nca_ca_entry *e;
    int lock, rc = -1;

    lock = nca_ca_lock(ca->dir, err, errcap);
    if (lock < 0)
        return -1;
    if (nca_index_load(ca->dir, &idx, err, errcap) != 0)
        goto out;
    e = nca_index_find(&idx, serial);
    if (!e) {
        snprintf(err, errcap, "this CA issued no certificate with serial %s", serial);
        goto out;
    }
    rc = e->revoked ? 0 : mark_revoked(ca, &idx, e, reason, err, errcap);
out:
    nca_ca_unlock(lock);
    nca_index_free(&idx);
    return rc;
}
