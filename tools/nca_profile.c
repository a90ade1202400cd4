/* NCA's end-entity certificate profile: subject names, extensions and the SKI that the
 * test CA writes, and the reading side the flows use to tell AUTH from SIGN
 * certificates on a token. Everything was checked against NCA's own test certificates
 * (/work/shared/vectors/nca, the .cer files) with `openssl x509 -text` and `asn1parse`. */
#include "nca_profile.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "json.h"

/* Individual policies (research/tokens.md 9): .2.3 sign, .2.4 auth; role: individual. */
#define NCA_POLICY_SIGN     "1.2.398.3.3.2.3"
#define NCA_POLICY_AUTH     "1.2.398.3.3.2.4"
#define NCA_ROLE_INDIVIDUAL "1.2.398.3.3.4.1.1"
#define NCA_CPS             "http://pki.gov.kz/cps"

const char *nca_template_name(nca_template t)
{
    switch (t) {
    case NCA_TEMPLATE_AUTH:
        return "AUTH";
    case NCA_TEMPLATE_SIGN:
        return "SIGN";
    default:
        return "-";
    }
}

nca_template nca_template_parse(const char *s)
{
    if (!s)
        return NCA_TEMPLATE_NONE;
    if (strcasecmp(s, "AUTH") == 0)
        return NCA_TEMPLATE_AUTH;
    if (strcasecmp(s, "SIGN") == 0)
        return NCA_TEMPLATE_SIGN;
    return NCA_TEMPLATE_NONE;
}

int nca_media_validity_days(nca_media m)
{
    return m == NCA_MEDIA_FILE ? 365 : 3 * 365;
}

const char *nca_media_name(nca_media m)
{
    return m == NCA_MEDIA_FILE ? "file" : "token";
}

/* UTF-8 without control characters; empty allowed only when may_be_empty. */
static bool text_ok(const char *s, bool may_be_empty)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);

    if (len == 0)
        return may_be_empty;
    for (size_t i = 0; i < len;) {
        if (p[i] < 0x20 || p[i] == 0x7F)
            return false;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = vtoken_utf8_len(p + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

bool nca_person_check(const nca_person *p, char *why, size_t cap)
{
    const char *sp;

    if (strlen(p->iin) != NCA_IIN_LEN) {
        snprintf(why, cap, "an IIN has %d digits", NCA_IIN_LEN);
        return false;
    }
    for (size_t i = 0; i < NCA_IIN_LEN; i++) {
        if (!isdigit((unsigned char)p->iin[i])) {
            snprintf(why, cap, "an IIN has %d digits", NCA_IIN_LEN);
            return false;
        }
    }
    if (!text_ok(p->name, false) || !text_ok(p->patronymic, true) || !text_ok(p->locality, false) ||
        !text_ok(p->region, false)) {
        snprintf(why, cap, "names must be UTF-8 text without control characters");
        return false;
    }
    /* CN is "SURNAME NAME": the surname RDN is its first word. */
    sp = strchr(p->name, ' ');
    if (!sp || sp == p->name || sp[1] == '\0' || sp[1] == ' ') {
        snprintf(why, cap, "--name is \"SURNAME NAME\" (two words, as NCA writes the CN)");
        return false;
    }
    return true;
}

static bool add_rdn(X509_NAME *n, int nid, int type, const char *v, size_t len)
{
    return X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, (int)len, -1, 0) == 1;
}

X509_NAME *nca_subject_name(const nca_person *p)
{
    char serial[4 + NCA_IIN_LEN];
    X509_NAME *n = X509_NAME_new();
    const char *sp = strchr(p->name, ' ');
    bool ok;

    if (!n || !sp)
        goto fail;
    snprintf(serial, sizeof(serial), "IIN%s", p->iin);
    /* Explicit string types (not MBSTRING_*): NCA's certificates use exactly these,
     * whatever OpenSSL's default string mask says. */
    ok = add_rdn(n, NID_commonName, V_ASN1_UTF8STRING, p->name, strlen(p->name)) &&
         add_rdn(n, NID_surname, V_ASN1_UTF8STRING, p->name, (size_t)(sp - p->name)) &&
         add_rdn(n, NID_serialNumber, V_ASN1_PRINTABLESTRING, serial, strlen(serial)) &&
         add_rdn(n, NID_countryName, V_ASN1_PRINTABLESTRING, "KZ", 2) &&
         add_rdn(n, NID_localityName, V_ASN1_UTF8STRING, p->locality, strlen(p->locality)) &&
         add_rdn(n, NID_stateOrProvinceName, V_ASN1_UTF8STRING, p->region, strlen(p->region));
    if (ok && p->patronymic[0])
        ok = add_rdn(n, NID_givenName, V_ASN1_UTF8STRING, p->patronymic, strlen(p->patronymic));
    if (ok)
        return n;
fail:
    X509_NAME_free(n);
    return NULL;
}

bool nca_ski(const EVP_PKEY *pub, uint8_t out[NCA_SKI_LEN])
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pub, &der);

    if (len <= 0)
        return false;
    SHA1(der, (size_t)len, out);
    OPENSSL_free(der);
    return true;
}

/* ---- extensions ------------------------------------------------------------------ */

static bool add_key_usage(X509 *cert, nca_template t)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    bool ok = ku && ASN1_BIT_STRING_set_bit(ku, 0, 1) == 1 && /* digitalSignature */
              ASN1_BIT_STRING_set_bit(ku, t == NCA_TEMPLATE_AUTH ? 2 : 1, 1) == 1 &&
              X509_add1_ext_i2d(cert, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1;

    ASN1_BIT_STRING_free(ku);
    return ok;
}

static bool add_eku(X509 *cert, nca_template t)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    ASN1_OBJECT *purpose =
        OBJ_nid2obj(t == NCA_TEMPLATE_AUTH ? NID_client_auth : NID_email_protect);
    ASN1_OBJECT *role = OBJ_txt2obj(NCA_ROLE_INDIVIDUAL, 1);
    bool ok = false;

    if (!eku || !purpose || !role)
        goto out;
    if (sk_ASN1_OBJECT_push(eku, OBJ_dup(purpose)) <= 0 || sk_ASN1_OBJECT_push(eku, role) <= 0)
        goto out;
    role = NULL;
    ok = X509_add1_ext_i2d(cert, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1;
out:
    ASN1_OBJECT_free(role);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return ok;
}

static bool add_key_ids(X509 *cert, const uint8_t ca_ski[NCA_SKI_LEN])
{
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    uint8_t id[NCA_SKI_LEN];
    bool ok = false;

    if (!akid || !ski || !nca_ski(X509_get0_pubkey(cert), id))
        goto out;
    akid->keyid = ASN1_OCTET_STRING_new();
    if (!akid->keyid || ASN1_OCTET_STRING_set(akid->keyid, ca_ski, NCA_SKI_LEN) != 1 ||
        ASN1_OCTET_STRING_set(ski, id, NCA_SKI_LEN) != 1)
        goto out;
    ok = X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1 &&
         X509_add1_ext_i2d(cert, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) == 1;
out:
    AUTHORITY_KEYID_free(akid);
    ASN1_OCTET_STRING_free(ski);
    return ok;
}

/* policyIdentifier + CPS URI + userNotice explicitText (UTF8String), as NCA writes. */
static bool add_policies(X509 *cert, nca_template t)
{
    CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
    POLICYINFO *pi = POLICYINFO_new();
    POLICYQUALINFO *cps = POLICYQUALINFO_new(), *notice = POLICYQUALINFO_new();
    bool ok = false;

    if (!pols || !pi || !cps || !notice)
        goto out;
    pi->policyid = OBJ_txt2obj(t == NCA_TEMPLATE_AUTH ? NCA_POLICY_AUTH : NCA_POLICY_SIGN, 1);
    pi->qualifiers = sk_POLICYQUALINFO_new_null();
    cps->pqualid = OBJ_nid2obj(NID_id_qt_cps);
    cps->d.cpsuri = ASN1_IA5STRING_new();
    notice->pqualid = OBJ_nid2obj(NID_id_qt_unotice);
    notice->d.usernotice = USERNOTICE_new();
    if (!pi->policyid || !pi->qualifiers || !cps->d.cpsuri || !notice->d.usernotice)
        goto out;
    notice->d.usernotice->exptext = ASN1_UTF8STRING_new();
    if (!notice->d.usernotice->exptext ||
        ASN1_STRING_set(cps->d.cpsuri, NCA_CPS, (int)strlen(NCA_CPS)) != 1 ||
        ASN1_STRING_set(notice->d.usernotice->exptext, NCA_CPS, (int)strlen(NCA_CPS)) != 1)
        goto out;
    if (sk_POLICYQUALINFO_push(pi->qualifiers, cps) <= 0)
        goto out;
    cps = NULL;
    if (sk_POLICYQUALINFO_push(pi->qualifiers, notice) <= 0)
        goto out;
    notice = NULL;
    if (sk_POLICYINFO_push(pols, pi) <= 0)
        goto out;
    pi = NULL;
    ok = X509_add1_ext_i2d(cert, NID_certificate_policies, pols, 0, X509V3_ADD_DEFAULT) == 1;
out:
    POLICYQUALINFO_free(cps);
    POLICYQUALINFO_free(notice);
    POLICYINFO_free(pi);
    sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
    return ok;
}

bool nca_profile_add_extensions(X509 *cert, nca_template t, const uint8_t ca_ski[NCA_SKI_LEN])
{
    if (t != NCA_TEMPLATE_AUTH && t != NCA_TEMPLATE_SIGN)
        return false;
    return add_key_usage(cert, t) && add_eku(cert, t) && add_key_ids(cert, ca_ski) &&
           add_policies(cert, t);
}

/* ---- reading --------------------------------------------------------------------- */

nca_template nca_cert_template(X509 *cert)
{
    uint32_t xku, ku;

    if (X509_check_ca(cert) > 0)
        return NCA_TEMPLATE_NONE;
    xku = X509_get_extended_key_usage(cert);
    ku = X509_get_key_usage(cert);
    if (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) {
        if (xku & XKU_SSL_CLIENT)
            return NCA_TEMPLATE_AUTH;
        if (xku & XKU_SMIME)
            return NCA_TEMPLATE_SIGN;
        return NCA_TEMPLATE_NONE;
    }
    if (ku & KU_NON_REPUDIATION)
        return NCA_TEMPLATE_SIGN;
    if ((ku & (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)) ==
        (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT))
        return NCA_TEMPLATE_AUTH;
    return NCA_TEMPLATE_NONE;
}

static void name_entry(X509 *cert, int nid, char *out, size_t cap)
{
    const X509_NAME *n = X509_get_subject_name(cert);
    int i = n ? X509_NAME_get_index_by_NID(n, nid, -1) : -1;
    unsigned char *utf8 = NULL;
    int len;

    out[0] = '\0';
    if (i < 0)
        return;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
    if (len < 0)
        return;
    snprintf(out, cap, "%.*s", len, (const char *)utf8);
    OPENSSL_free(utf8);
}

void nca_cert_cn(X509 *cert, char *out, size_t cap)
{
    name_entry(cert, NID_commonName, out, cap);
}

void nca_cert_iin(X509 *cert, char *out, size_t cap)
{
    name_entry(cert, NID_serialNumber, out, cap);
}

void nca_cert_serial_hex(X509 *cert, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;

    out[0] = '\0';
    if (hex) {
        for (char *c = hex; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        snprintf(out, cap, "%s", hex);
    }
    OPENSSL_free(hex);
    BN_free(bn);
}

bool nca_cert_ski(X509 *cert, uint8_t out[NCA_SKI_LEN])
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);

    if (!ski || ASN1_STRING_length(ski) != NCA_SKI_LEN)
        return false;
    memcpy(out, ASN1_STRING_get0_data(ski), NCA_SKI_LEN);
    return true;
}

void nca_time_iso(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;

    out[0] = '\0';
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
