/* Reading PKCS#12 stores: NCA's real test files (password Qwerty12), generated RSA/EC
 * and MAC-less files, wrong passwords, damaged and foreign files (always left
 * byte-identical), the private library context, and the stat-only directory scan. */
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_test.h"
#include "p12.h"

static ks_p12_ctx *ctx;

static void setup(void)
{
    ck_assert_int_eq(ks_p12_ctx_new(&ctx), KS_OK);
}

static void teardown(void)
{
    ks_p12_ctx_free(ctx);
    ctx = NULL;
}

static ks_status open_pw(const char *path, const char *pw, ks_p12 **p, char **why)
{
    return ks_p12_open(ctx, path, pw, strlen(pw), p, why);
}

/* The file must be exactly as before: bytes, inode and mtime. */
typedef struct snapshot {
    vt_buf bytes;
    struct stat st;
} snapshot;

static void snap(const char *path, snapshot *s)
{
    memset(s, 0, sizeof(*s));
    ck_assert(kt_slurp(path, &s->bytes));
    ck_assert_int_eq(stat(path, &s->st), 0);
}

static void assert_unchanged(const char *path, snapshot *s)
{
    vt_buf now = {0};
    struct stat st;
    ck_assert(kt_slurp(path, &now));
    ck_assert_uint_eq(now.len, s->bytes.len);
    if (now.len > 0)
        ck_assert_mem_eq(now.data, s->bytes.data, now.len);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_ino, s->st.st_ino);
    ck_assert_int_eq(st.st_mtim.tv_sec, s->st.st_mtim.tv_sec);
    ck_assert_int_eq(st.st_mtim.tv_nsec, s->st.st_mtim.tv_nsec);
    vt_buf_free(&now);
    vt_buf_free(&s->bytes);
}

static X509 *read_cer(const char *name)
{
    char file[256];
    snprintf(file, sizeof(file), "%s.cer", name);
    char *path = kt_path(kt_nca_dir(), file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    free(path);
    ck_assert_ptr_nonnull(x);
    return x;
}

static const char *const nca_files[] = {KT_NCA_AUTH, KT_NCA_SIGN};

/* Everything NCA's files promise: one RSA key and its certificate, paired by
 * localKeyID = SubjectKeyIdentifier, friendlyName = its lower-case hex = the file
 * name's suffix, and the NCA algorithms. */
START_TEST(nca_files_open)
{
    const char *name = nca_files[_i];
    char file[256];
    snprintf(file, sizeof(file), "%s.p12", name);
    char *path = kt_path(kt_nca_dir(), file);
    snapshot before;
    snap(path, &before);
    ks_p12 *p = NULL;
    char *why = NULL;
    ck_assert_int_eq(open_pw(path, "Qwerty12", &p, &why), KS_OK);
    ck_assert_ptr_null(why);
    ck_assert_str_eq(ks_p12_path(p), path);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 1);

    X509 *expect = read_cer(name);
    unsigned char *der = NULL;
    int n = i2d_X509(expect, &der);
    size_t len = 0;
    const uint8_t *got = ks_p12_cert_der(p, 0, &len);
    ck_assert_uint_eq(len, (size_t)n);
    ck_assert_mem_eq(got, der, len);
    ck_assert_int_eq(X509_cmp(ks_p12_cert(p, 0), expect), 0);

    EVP_PKEY *key = ks_p12_key(p, 0);
    ck_assert_ptr_nonnull(key);
    ck_assert(EVP_PKEY_is_a(key, "RSA"));
    ck_assert_int_eq(EVP_PKEY_get_bits(key), 2048);
    ck_assert_int_eq(EVP_PKEY_eq(key, X509_get0_pubkey(expect)), 1);

    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(expect);
    ck_assert_ptr_nonnull(ski);
    /* NCA's SKI is the SHA-1 of the whole SubjectPublicKeyInfo, as the keystore names a
     * new key (kt_pubkey_sha1) */
    uint8_t spki_sha1[20];
    kt_pubkey_sha1(key, spki_sha1);
    ck_assert_int_eq(ASN1_STRING_length(ski), 20);
    ck_assert_mem_eq(ASN1_STRING_get0_data(ski), spki_sha1, 20);
    const char *hex = strrchr(name, '_') + 1; /* the file name ends in the SKI */
    for (int kind = KS_P12_KEY; kind <= KS_P12_CERT; kind++) {
        size_t idlen = 0;
        const uint8_t *id = ks_p12_local_key_id(p, (ks_p12_kind)kind, 0, &idlen);
        ck_assert_uint_eq(idlen, (size_t)ASN1_STRING_length(ski));
        ck_assert_mem_eq(id, ASN1_STRING_get0_data(ski), idlen);
        ck_assert_str_eq(ks_p12_friendly_name(p, (ks_p12_kind)kind, 0), hex);
    }

    ks_p12_info info;
    ks_p12_get_info(p, &info);
    ck_assert_int_eq(info.key.pbe_nid, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
    ck_assert_int_eq(info.key.iter, 1024);
    ck_assert_int_eq(info.key.salt_len, 20);
    ck_assert_int_eq(info.cert.pbe_nid, NID_pbe_WithSHA1And40BitRC2_CBC);
    ck_assert_int_eq(info.cert.iter, 1024);
    ck_assert_int_eq(info.mac_md_nid, NID_sha1);
    ck_assert_int_eq(info.mac_iter, 1024);
    ck_assert_int_eq(info.mac_salt_len, 20);
    ck_assert(!ks_p12_changed(p));

    ks_p12_close(p);
    OPENSSL_free(der);
    X509_free(expect);
    assert_unchanged(path, &before);
    free(path);
}
END_TEST

START_TEST(nca_wrong_password)
{
    char *path = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    snapshot before;
    snap(path, &before);
    static const char *const wrong[] = {"qwerty12", "Qwerty1", "Qwerty123", "", "Qwerty12 "};
    for (size_t i = 0; i < VT_ARRAY_LEN(wrong); i++) {
        ks_p12 *p = (ks_p12 *)1;
        char *why = NULL;
        ck_assert_int_eq(open_pw(path, wrong[i], &p, &why), KS_ERR_BAD_PASSWORD);
        ck_assert_ptr_null(p);
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_nonnull(strstr(why, "wrong password"));
        ck_assert_ptr_nonnull(strstr(why, KT_NCA_AUTH));
        free(why);
    }
    /* The PIN arrives from PKCS#11 as bytes with a length, not a C string. */
    ks_p12 *p = NULL;
    ck_assert_int_eq(ks_p12_open(ctx, path, "Qwerty12XYZ", 8, &p, NULL), KS_OK);
    ks_p12_close(p);
    ck_assert_int_eq(ks_p12_open(ctx, path, "Qwer\0ty12", 9, &p, NULL), KS_ERR_ARGS);
    assert_unchanged(path, &before);
    free(path);
}
END_TEST

/* The key is usable in-process: sign with it in the store's context, verify with the
 * certificate. */
START_TEST(nca_key_signs)
{
    char *path = kt_path(kt_nca_dir(), KT_NCA_SIGN ".p12");
    ks_p12 *p = NULL;
    ck_assert_int_eq(open_pw(path, "Qwerty12", &p, NULL), KS_OK);
    EVP_PKEY *key = ks_p12_key(p, 0);
    static const unsigned char msg[] = "vtoken";
    unsigned char sig[512];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    ck_assert(EVP_DigestSignInit_ex(mc, NULL, "SHA256", ks_p12_ctx_libctx(ctx), NULL, key, NULL));
    ck_assert(EVP_DigestSign(mc, sig, &siglen, msg, sizeof(msg)));
    EVP_MD_CTX_free(mc);
    mc = EVP_MD_CTX_new();
    ck_assert(EVP_DigestVerifyInit_ex(mc, NULL, "SHA256", kt_libctx(), NULL,
                                      X509_get0_pubkey(ks_p12_cert(p, 0)), NULL));
    ck_assert_int_eq(EVP_DigestVerify(mc, sig, siglen, msg, sizeof(msg)), 1);
    EVP_MD_CTX_free(mc);
    ks_p12_close(p);
    free(path);
}
END_TEST

/* Reading NCA's RC2-40 safe needs the legacy provider; it must come from our private
 * context, never be loaded into the application's default one. */
START_TEST(default_context_untouched)
{
    int legacy_before = OSSL_PROVIDER_available(NULL, "legacy");
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL);
    bool rc2_before = c != NULL;
    EVP_CIPHER_free(c);

    char *path = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    ks_p12 *p = NULL;
    ck_assert_int_eq(open_pw(path, "Qwerty12", &p, NULL), KS_OK);
    ks_p12_close(p);
    free(path);

    ck_assert_int_eq(OSSL_PROVIDER_available(NULL, "legacy"), legacy_before);
    c = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL);
    ck_assert_int_eq(c != NULL, rc2_before);
    EVP_CIPHER_free(c);
    /* Debian's default configuration has no legacy provider, which makes the check
     * above meaningful there: the file was read without it. */
    if (!legacy_before)
        ck_assert(!rc2_before);
}
END_TEST

static void check_open_generated(const char *type, const kt_p12_spec *spec, bool with_ski)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "gen.p12");
    EVP_PKEY *key = kt_genkey(type);
    uint8_t ski[20] = {0x5a, 0x01, 0x02};
    X509 *cert = kt_cert(key, with_ski ? ski : NULL, sizeof(ski));
    kt_make_p12(path, "Passw0rd", key, cert, spec);

    ks_p12 *p = NULL;
    char *why = NULL;
    ck_assert_int_eq(open_pw(path, "Passw0rd", &p, &why), KS_OK);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 1);
    ck_assert(EVP_PKEY_is_a(ks_p12_key(p, 0), type));
    ck_assert_int_eq(EVP_PKEY_eq(ks_p12_key(p, 0), key), 1);
    ck_assert_int_eq(X509_cmp(ks_p12_cert(p, 0), cert), 0);
    uint8_t expect[20];
    if (with_ski)
        memcpy(expect, ski, 20);
    else
        kt_pubkey_sha1(key, expect);
    size_t idlen = 0;
    const uint8_t *id = ks_p12_local_key_id(p, KS_P12_KEY, 0, &idlen);
    ck_assert_uint_eq(idlen, 20);
    ck_assert_mem_eq(id, expect, 20);
    char hex[41];
    vt_hex_encode(expect, 20, hex);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_CERT, 0), hex);
    ks_p12_close(p);

    ck_assert_int_eq(open_pw(path, "passw0rd", &p, &why), KS_ERR_BAD_PASSWORD);
    ck_assert_ptr_nonnull(why);
    free(why);

    X509_free(cert);
    EVP_PKEY_free(key);
    kt_rmtree(dir);
    free(path);
    free(dir);
}

START_TEST(generated_rsa_nca_style)
{
    check_open_generated("RSA", &kt_spec_nca, true);
}
END_TEST

START_TEST(generated_ec_modern)
{
    check_open_generated("EC", &kt_spec_modern, false);
}
END_TEST

/* Without a MAC the only evidence of a wrong password is a failed decryption. */
START_TEST(generated_without_mac)
{
    check_open_generated("EC", &kt_spec_nomac, true);
}
END_TEST

static void expect_corrupt(const char *path, const char *what)
{
    snapshot before;
    snap(path, &before);
    ks_p12 *p = (ks_p12 *)1;
    char *why = NULL;
    ks_status rv = open_pw(path, "Qwerty12", &p, &why);
    ck_assert_msg(rv == KS_ERR_CORRUPT, "%s gave %d (%s)", what, rv, why ? why : "");
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, path));
    free(why);
    assert_unchanged(path, &before);
}

START_TEST(damaged_and_foreign_files)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "bad.p12");
    char *nca = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    vt_buf good = {0};
    ck_assert(kt_slurp(nca, &good));

    ck_assert(kt_write(path, "", 0));
    expect_corrupt(path, "empty file");
    static const char text[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    ck_assert(kt_write(path, text, sizeof(text) - 1));
    expect_corrupt(path, "PEM text");
    /* Valid DER, but a certificate rather than a PKCS#12 file. */
    X509 *cer = read_cer(KT_NCA_AUTH);
    unsigned char *der = NULL;
    int n = i2d_X509(cer, &der);
    ck_assert(kt_write(path, der, (size_t)n));
    expect_corrupt(path, "a certificate");
    OPENSSL_free(der);
    X509_free(cer);
    /* Random bytes. */
    uint8_t junk[1024];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rand_r(&seed);
    ck_assert(kt_write(path, junk, sizeof(junk)));
    expect_corrupt(path, "random bytes");
    /* Every truncation of a real file, at a stride that still hits every region. */
    for (size_t len = 1; len < good.len; len += len < 64 ? 1 : 37) {
        ck_assert(kt_write(path, good.data, len));
        expect_corrupt(path, "truncated NCA file");
    }
    ck_assert(kt_write(path, good.data, good.len - 1));
    expect_corrupt(path, "NCA file less its last byte");
    vt_buf_free(&good);
    kt_rmtree(dir);
    free(nca);
    free(path);
    free(dir);
}
END_TEST

/* Bit flips: whatever the result, no crash and no leak (the sanitizer build checks),
 * and a refused file is left as it was. Flips under the MAC look like a wrong
 * password, which no reader can tell apart. */
START_TEST(bit_flips)
{
    char *dir = kt_mkdtemp();
    char *path = kt_path(dir, "flip.p12");
    char *nca = kt_path(kt_nca_dir(), KT_NCA_AUTH ".p12");
    vt_buf good = {0};
    ck_assert(kt_slurp(nca, &good));
    unsigned seed = 99;
    size_t refused = 0;
    for (int round = 0; round < 300; round++) {
        uint8_t *b = malloc(good.len);
        memcpy(b, good.data, good.len);
        size_t pos = (size_t)rand_r(&seed) % good.len;
        b[pos] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
        ck_assert(kt_write(path, b, good.len));
        ks_p12 *p = NULL;
        char *why = NULL;
        ks_status rv = open_pw(path, "Qwerty12", &p, &why);
        ck_assert_msg(rv == KS_OK || rv == KS_ERR_CORRUPT || rv == KS_ERR_BAD_PASSWORD ||
                          rv == KS_ERR_UNSUPPORTED,
                      "flip at %zu gave %d", pos, rv);
        if (rv != KS_OK) {
            ck_assert_ptr_nonnull(why);
            refused++;
        }
        vt_buf now = {0};
        ck_assert(kt_slurp(path, &now));
        ck_assert_mem_eq(now.data, b, good.len);
        vt_buf_free(&now);
        free(why);
        ks_p12_close(p);
        free(b);
    }
    ck_assert_uint_gt(refused, 200);
    vt_buf_free(&good);
    kt_rmtree(dir);
    free(nca);
    free(path);
    free(dir);
}
END_TEST

START_TEST(open_errors)
{
    ks_p12 *p = NULL;
    char *why = NULL;
    ck_assert_int_eq(open_pw("/nonexistent-vtoken/x.p12", "Qwerty12", &p, &why), KS_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(why, "/nonexistent-vtoken/x.p12"));
    free(why);
    ck_assert_int_eq(ks_p12_open(NULL, "x", "", 0, &p, NULL), KS_ERR_ARGS);
    ck_assert_int_eq(ks_p12_open(ctx, "x", NULL, 3, &p, NULL), KS_ERR_ARGS);
    char *dir = kt_mkdtemp();
    ck_assert_int_eq(open_pw(dir, "Qwerty12", &p, NULL), KS_ERR_IO); /* a directory */
    kt_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(scan_directory)
{
    char *dir = kt_mkdtemp();
    static const char *const files[] = {"a.p12", "B.PFX",         "c.txt",      ".hidden.p12",
                                        "p12",   "x.p12.tmp.1.2", "garbage.pfx"};
    for (size_t i = 0; i < VT_ARRAY_LEN(files); i++) {
        char *f = kt_path(dir, files[i]);
        ck_assert(kt_write(f, "not read", 8));
        free(f);
    }
    char *sub = kt_path(dir, "dir.p12");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    char *link = kt_path(dir, "l.p12");
    ck_assert_int_eq(symlink("a.p12", link), 0);
    char *dangling = kt_path(dir, "d.p12");
    ck_assert_int_eq(symlink("missing.p12", dangling), 0);

    ks_p12_list l;
    ck_assert_int_eq(ks_p12_scan(dir, &l), KS_OK);
    ck_assert_uint_eq(l.n, 4);
    ck_assert_str_eq(l.v[0].name, "B.PFX");
    ck_assert_str_eq(l.v[0].stem, "B");
    ck_assert_str_eq(l.v[1].name, "a.p12");
    ck_assert_str_eq(l.v[1].stem, "a");
    ck_assert_str_eq(l.v[2].name, "garbage.pfx");
    ck_assert_str_eq(l.v[3].name, "l.p12");
    ck_assert_uint_eq(l.v[1].size, 8);
    ck_assert_uint_eq(l.v[1].ino, l.v[3].ino); /* the link's target */
    char *a = kt_path(dir, "a.p12");
    ck_assert_str_eq(l.v[1].path, a);
    struct stat st;
    ck_assert_int_eq(stat(a, &st), 0);
    ck_assert_int_eq(l.v[1].mtime_sec, st.st_mtim.tv_sec);
    ck_assert_int_eq(l.v[1].mtime_nsec, st.st_mtim.tv_nsec);
    ks_p12_list_free(&l);
    ck_assert_uint_eq(l.n, 0);

    char *missing = kt_path(dir, "nope");
    ck_assert_int_eq(ks_p12_scan(missing, &l), KS_ERR_NOT_FOUND);
    ck_assert_uint_eq(l.n, 0);
    free(missing);
    free(a);
    free(dangling);
    free(link);
    free(sub);
    kt_rmtree(dir);
    free(dir);
}
END_TEST

Suite *p12_suite(void)
{
    Suite *s = suite_create("p12");
    TCase *tc = tcase_create("p12");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_loop_test(tc, nca_files_open, 0, (int)VT_ARRAY_LEN(nca_files));
    tcase_add_test(tc, nca_wrong_password);
    tcase_add_test(tc, nca_key_signs);
    tcase_add_test(tc, default_context_untouched);
    tcase_add_test(tc, generated_rsa_nca_style);
    tcase_add_test(tc, generated_ec_modern);
    tcase_add_test(tc, generated_without_mac);
    tcase_add_test(tc, damaged_and_foreign_files);
    tcase_add_test(tc, bit_flips);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, scan_directory);
    suite_add_tcase(s, tc);
    return s;
}
