/* PKCS#10 requests signed through a callback (so the private key stays on the token),
 * SHA256withRSA verification with a certificate, the login challenge and the text of
 * the revocation request. */
#include "nca_req.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#include "vt_util.h"

X509_REQ *nca_csr_build(const X509_NAME *subject, EVP_PKEY *pub, nca_sign_fn sign, void *arg,
                        char *err, size_t errcap)
{
    X509_REQ *req = X509_REQ_new();
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_BIT_STRING *bits = NULL;
    unsigned char *tbs = NULL;
    uint8_t sig[NCA_SIG_MAX];
    size_t sig_len = sizeof(sig);
    int tbs_len;

    err[0] = '\0';
    if (!req || !alg || X509_REQ_set_version(req, 0) != 1 ||
        X509_REQ_set_subject_name(req, subject) != 1 || X509_REQ_set_pubkey(req, pub) != 1 ||
        X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL, NULL) != 1 ||
        X509_REQ_set1_signature_algo(req, alg) != 1) {
        snprintf(err, errcap, "cannot build the PKCS#10 request (OpenSSL)");
        goto fail;
    }
    /* The CertificationRequestInfo, exactly as it will be encoded in the request. */
    tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
    if (tbs_len <= 0) {
        snprintf(err, errcap, "cannot encode the PKCS#10 request (OpenSSL)");
        goto fail;
    }
    if (sign(arg, tbs, (size_t)tbs_len, sig, &sig_len) != 0)
        goto fail;
    bits = ASN1_BIT_STRING_new();
    if (!bits || ASN1_BIT_STRING_set(bits, sig, (int)sig_len) != 1) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    /* No unused bits, as X509_sign marks its own signatures. */
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(req, bits);
    X509_ALGOR_free(alg);
    OPENSSL_free(tbs);
    return req;
fail:
    ASN1_BIT_STRING_free(bits);
    X509_ALGOR_free(alg);
    OPENSSL_free(tbs);
    X509_REQ_free(req);
    return NULL;
}

bool nca_verify_sha256_rsa(X509 *cert, const uint8_t *data, size_t len, const uint8_t *sig,
                           size_t sig_len)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    EVP_MD_CTX *ctx;
    bool ok = false;

    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
        return false;
    ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1)
        ok = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void utc_now(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool nca_challenge_new(char out[NCA_CHALLENGE_MAX])
{
    uint8_t nonce[32];
    char hex[2 * sizeof(nonce) + 1], when[32];

    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return false;
    vt_hex_encode(nonce, sizeof(nonce), hex);
    utc_now(when, sizeof(when));
    snprintf(out, NCA_CHALLENGE_MAX, "vtoken-nca-login nonce=%s time=%s", hex, when);
    return true;
}

/* ---- revocation requests --------------------------------------------------------- */

static const char *const reasons[] = {
    /* RFC 5280 CRLReason, by code; 7 is not used */
    "unspecified",   "keyCompromise",        "cACompromise",    "affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

int nca_reason_code(const char *name)
{
    for (size_t i = 0; i < VT_ARRAY_LEN(reasons); i++)
        if (reasons[i] && strcmp(reasons[i], name) == 0)
            return (int)i;
    return -1;
}

const char *nca_reason_list(void)
{
    return "unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation";
}

bool nca_revreq_text(const nca_revreq *r, char *out, size_t cap)
{
    int n = snprintf(out, cap, "vtoken-nca-revoke\nserial: %s\nreason: %s\ntime: %s\nsigner: %s\n",
                     r->serial, r->reason, r->time, r->signer);
    return n > 0 && (size_t)n < cap;
}

static bool all_hex(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return false;
    return true;
}

/* "<key>: <value>\n" at *p into out (cap bytes); advances *p. */
static bool field(const char **p, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key), vlen;
    const char *nl;

    if (strncmp(*p, key, klen) != 0 || (*p)[klen] != ':' || (*p)[klen + 1] != ' ')
        return false;
    *p += klen + 2;
    nl = strchr(*p, '\n');
    if (!nl)
        return false;
    vlen = (size_t)(nl - *p);
    if (vlen == 0 || vlen >= cap)
        return false;
    memcpy(out, *p, vlen);
    out[vlen] = '\0';
    *p = nl + 1;
    return true;
}

bool nca_revreq_parse(const char *text, nca_revreq *r)
{
    static const char head[] = "vtoken-nca-revoke\n";
    const char *p = text;

    memset(r, 0, sizeof(*r));
    if (strncmp(p, head, sizeof(head) - 1) != 0)
        return false;
    p += sizeof(head) - 1;
    return field(&p, "serial", r->serial, sizeof(r->serial)) && all_hex(r->serial) &&
           field(&p, "reason", r->reason, sizeof(r->reason)) && nca_reason_code(r->reason) >= 0 &&
           field(&p, "time", r->time, sizeof(r->time)) &&
           field(&p, "signer", r->signer, sizeof(r->signer)) && all_hex(r->signer) && *p == '\0';
}
