/* Writing PKCS#12 stores: password changes that keep every algorithm and attribute
 * (checked by parsing the result with OpenSSL alone and with `openssl pkcs12 -info`),
 * the password rule, read-only files and directories, files changed underneath,
 * faults during the write, new empty files, and adding keys and certificates. */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_test.h"
#include "p12.h"

static ks_p12_ctx *ctx;
static char *dir;

static void setup(void)
{
    ck_assert_int_eq(ks_p12_ctx_new(&ctx), KS_OK);
    dir = kt_mkdtemp();
}

static void teardown(void)
{
    ks_p12_ctx_free(ctx);
    ctx = NULL;
    kt_rmtree(dir);
    free(dir);
    dir = NULL;
}

static ks_p12 *must_open(const char *path, const char *pw)
{
    ks_p12 *p = NULL;
    char *why = NULL;
    ks_status rv = ks_p12_open(ctx, path, pw, strlen(pw), &p, &why);
    ck_assert_msg(rv == KS_OK, "open %s: %d %s", path, rv, why ? why : "");
    return p;
}

static ks_status try_open(const char *path, const char *pw)
{
    ks_p12 *p = NULL;
    ks_status rv = ks_p12_open(ctx, path, pw, strlen(pw), &p, NULL);
    ks_p12_close(p);
    return rv;
}

static void assert_bytes(const char *path, const vt_buf *want)
{
    vt_buf now = {0};
    ck_assert(kt_slurp(path, &now));
    ck_assert_uint_eq(now.len, want->len);
    ck_assert_mem_eq(now.data, want->data, now.len);
    vt_buf_free(&now);
}

/* Change the password and check, with OpenSSL alone, that algorithms, iterations, salt
 * and IV lengths, the MAC, the layout and every attribute are what they were. */
static void change_and_compare(const char *path, const char *old_pw, const char *new_pw,
                               bool legacy)
{
    kt_p12_desc before, after;
    char info_before[4096], info_after[4096];
    bool ran;
    ck_assert(kt_p12_describe(path, old_pw, &before));
    kt_openssl_info(path, old_pw, legacy, info_before, sizeof(info_before), &ran);
    struct stat st_before, st_after;
    ck_assert_int_eq(stat(path, &st_before), 0);

    ks_p12 *p = must_open(path, old_pw);
    EVP_PKEY *key = ks_p12_key(p, 0);
    ck_assert_ptr_nonnull(key);
    EVP_PKEY_up_ref(key);
    ck_assert_int_eq(ks_p12_change_password(p, new_pw, strlen(new_pw), &KS_PWRULE_NCA), KS_OK);
    ck_assert_str_eq(ks_p12_error(p), "");
    ck_assert(!ks_p12_changed(p));
    ks_p12_close(p);

    ck_assert(kt_p12_describe(path, new_pw, &after));
    ck_assert_str_eq(after.text, before.text);
    ck_assert(after.mac_ok);
    if (ran) {
        kt_openssl_info(path, new_pw, legacy, info_after, sizeof(info_after), &ran);
        ck_assert_str_eq(info_after, info_before);
        ck_assert_ptr_nonnull(strstr(info_after, "PKCS7 Encrypted data"));
    }
    kt_p12_desc old;
    ck_assert(!kt_p12_describe(path, old_pw, &old));
    ck_assert_int_eq(try_open(path, old_pw), KS_ERR_BAD_PASSWORD);

    p = must_open(path, new_pw);
    ck_assert_int_eq(EVP_PKEY_eq(ks_p12_key(p, 0), key), 1);
    ks_p12_close(p);
    EVP_PKEY_free(key);
    ck_assert_int_eq(stat(path, &st_after), 0);
    ck_assert_uint_eq(st_after.st_mode & 07777, st_before.st_mode & 07777);
    ck_assert_uint_ne(st_after.st_ino, st_before.st_ino); /* replaced, not rewritten */
    ck_assert_uint_eq(kt_count_entries(dir), 1);          /* no temp or lock files */
}

START_TEST(nca_password_change_keeps_everything)
{
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    ck_assert_int_eq(chmod(path, 0640), 0);
    kt_p12_desc d;
    ck_assert(kt_p12_describe(path, "Qwerty12", &d));
    /* What we are keeping, spelled out once. */
    ck_assert_ptr_nonnull(strstr(d.text, "mac sha1 iter=1024 salt=20\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "alg=pbeWithSHA1And3-KeyTripleDES-CBC iter=1024 salt=20"));
    ck_assert_ptr_nonnull(
        strstr(d.text, "safe encrypted alg=pbeWithSHA1And40BitRC2-CBC iter=1024 salt=20"));
    change_and_compare(path, "Qwerty12", "NewPassw0rd", true);
    /* And back, to show the old password works again only when set again. */
    change_and_compare(path, "NewPassw0rd", "Qwerty12", true);
    free(path);
}
END_TEST

START_TEST(generated_password_change_keeps_everything)
{
    static const struct {
        const char *type;
        const kt_p12_spec *spec;
        bool legacy;
    } cases[] = {
        {"RSA", &kt_spec_nca, true}, {"EC", &kt_spec_modern, false}, {"EC", &kt_spec_nomac, true}};
    char *path = kt_path(dir, "gen.p12");
    EVP_PKEY *key = kt_genkey(cases[_i].type);
    uint8_t ski[20];
    kt_pubkey_sha1(key, ski);
    X509 *cert = kt_cert(key, ski, sizeof(ski));
    kt_make_p12(path, "Start123", key, cert, cases[_i].spec);
    kt_p12_desc d;
    ck_assert(kt_p12_describe(path, "Start123", &d));
    if (cases[_i].spec == &kt_spec_modern) {
        ck_assert_ptr_nonnull(strstr(d.text, "mac sha256 iter=2200 salt=10\n"));
        ck_assert_ptr_nonnull(strstr(d.text, "alg=PBES2 cipher=aes-256-cbc ivlen=16 "
                                             "kdf=PBKDF2 iter=3000 salt=16 keylen=-1 "
                                             "prf=hmacWithSHA512 decrypts=yes"));
        ck_assert_ptr_nonnull(strstr(d.text, "safe encrypted alg=PBES2 cipher=aes-128-cbc "
                                             "ivlen=16 kdf=PBKDF2 iter=2500 salt=12 keylen=-1 "
                                             "prf=default\n"));
        ck_assert_ptr_nonnull(strstr(d.text, "attr 1.3.6.1.4.1.55555.1.1: 0403010203 "
                                             "0c0c7365636f6e642076616c7565\n"));
        ck_assert_ptr_nonnull(strstr(d.text, "attr Microsoft CSP Name:"));
        ck_assert_ptr_nonnull(strstr(d.text, "attr 2.16.840.1.113894.746875.1.1: 0604551d2500"));
    }
    change_and_compare(path, "Start123", "Changed456", cases[_i].legacy);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

START_TEST(password_rule_enforced)
{
    char *path = kt_copy_nca(dir, KT_NCA_SIGN ".p12");
    vt_buf before = {0};
    ck_assert(kt_slurp(path, &before));
    ks_p12 *p = must_open(path, "Qwerty12");
    ck_assert_int_eq(ks_p12_change_password(p, "qwerty12", 8, &KS_PWRULE_NCA), KS_ERR_POLICY);
    ck_assert_str_eq(ks_p12_error(p), "password must contain an upper-case Latin letter (A-Z)");
    ck_assert_int_eq(ks_p12_change_password(p, "Ab1", 3, &KS_PWRULE_NCA), KS_ERR_POLICY);
    ck_assert_str_eq(ks_p12_error(p), "password must be at least 6 characters long");
    ks_pwrule loose;
    ck_assert_int_eq(ks_pwrule_parse("min=4", &loose, NULL, 0), KS_OK);
    ck_assert_int_eq(ks_p12_change_password(p, "Ab1", 3, &loose), KS_ERR_POLICY);
    assert_bytes(path, &before);
    ck_assert_int_eq(try_open(path, "Qwerty12"), KS_OK);
    /* A configured rule can allow what NCA's would not. */
    ck_assert_int_eq(ks_p12_change_password(p, "abcd", 4, &loose), KS_OK);
    ks_p12_close(p);
    ck_assert_int_eq(try_open(path, "abcd"), KS_OK);
    vt_buf_free(&before);
    free(path);
}
END_TEST

START_TEST(read_only_file_and_directory)
{
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    vt_buf before = {0};
    ck_assert(kt_slurp(path, &before));
    ks_p12 *p = must_open(path, "Qwerty12");

    ck_assert_int_eq(chmod(path, 0444), 0);
    ck_assert_int_eq(ks_p12_change_password(p, "Other123", 8, &KS_PWRULE_NCA), KS_ERR_ACCESS);
    ck_assert_ptr_nonnull(strstr(ks_p12_error(p), "read-only"));
    assert_bytes(path, &before);
    ck_assert_int_eq(chmod(path, 0600), 0);

    ck_assert_int_eq(chmod(dir, 0555), 0);
    ks_p12_close(p);
    p = must_open(path, "Qwerty12");
    ck_assert_int_eq(ks_p12_change_password(p, "Other123", 8, &KS_PWRULE_NCA), KS_ERR_ACCESS);
    ck_assert_ptr_nonnull(strstr(ks_p12_error(p), "directory"));
    EVP_PKEY *k = kt_genkey("EC");
    ck_assert_int_eq(ks_p12_add_key(p, k, NULL, 0, NULL, NULL), KS_ERR_ACCESS);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    EVP_PKEY_free(k);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    assert_bytes(path, &before);
    ck_assert_uint_eq(kt_count_entries(dir), 1);
    ck_assert_int_eq(try_open(path, "Qwerty12"), KS_OK);

    /* The same handle works once the directory is writable again. */
    ck_assert_int_eq(ks_p12_change_password(p, "Other123", 8, &KS_PWRULE_NCA), KS_OK);
    ks_p12_close(p);
    ck_assert_int_eq(try_open(path, "Other123"), KS_OK);
    vt_buf_free(&before);
    free(path);
}
END_TEST

START_TEST(changed_underneath_is_stale)
{
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    ks_p12 *a = must_open(path, "Qwerty12");
    ks_p12 *b = must_open(path, "Qwerty12");
    ck_assert_int_eq(ks_p12_change_password(a, "Alpha123", 8, &KS_PWRULE_NCA), KS_OK);
    ck_assert(ks_p12_changed(b));
    vt_buf now = {0};
    ck_assert(kt_slurp(path, &now));
    ck_assert_int_eq(ks_p12_change_password(b, "Bravo123", 8, &KS_PWRULE_NCA), KS_ERR_STALE);
    ck_assert_ptr_nonnull(strstr(ks_p12_error(b), "open it again"));
    ck_assert_int_eq(ks_p12_remove(b, KS_P12_CERT, 0), KS_ERR_STALE);
    ck_assert_uint_eq(ks_p12_count(b, KS_P12_CERT), 1);
    assert_bytes(path, &now);
    ck_assert_int_eq(try_open(path, "Alpha123"), KS_OK);
    ks_p12_close(a);
    ks_p12_close(b);
    vt_buf_free(&now);
    free(path);
}
END_TEST

/* A handle that went stale reopens the file with the password it holds: the new file
 * when the password still opens it, a clean refusal when another writer changed it. */
START_TEST(reopen_with_held_password)
{
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    ks_p12 *a = must_open(path, "Qwerty12");
    ks_p12 *b = must_open(path, "Qwerty12");
    ks_p12 *c = NULL;
    char *why = NULL;
    ck_assert_int_eq(ks_p12_remove(a, KS_P12_CERT, 0), KS_OK);
    ck_assert(ks_p12_changed(b));
    ck_assert_int_eq(ks_p12_reopen(b, &c, &why), KS_OK);
    ck_assert_ptr_null(why);
    ck_assert(!ks_p12_changed(c));
    ck_assert_uint_eq(ks_p12_count(c, KS_P12_CERT), 0);
    ck_assert_uint_eq(ks_p12_count(b, KS_P12_CERT), 1); /* b itself is unchanged */
    ck_assert_str_eq(ks_p12_path(c), path);
    ks_p12_close(c);
    c = NULL;
    ck_assert_int_eq(ks_p12_change_password(a, "Alpha123", 8, &KS_PWRULE_NCA), KS_OK);
    ck_assert_int_eq(ks_p12_reopen(b, &c, &why), KS_ERR_BAD_PASSWORD);
    ck_assert_ptr_null(c);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "wrong password"));
    free(why);
    ck_assert_int_eq(ks_p12_reopen(NULL, &c, NULL), KS_ERR_ARGS);
    ks_p12_close(a);
    ks_p12_close(b);
    free(path);
}
END_TEST

static bool fail_at(void *arg, const char *step)
{
    return strcmp((const char *)arg, step) == 0;
}

START_TEST(fault_during_write_changes_nothing)
{
    static const char *const steps[] = {"write", "fsync", "rename"};
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    vt_buf before = {0};
    ck_assert(kt_slurp(path, &before));
    ks_p12 *p = must_open(path, "Qwerty12");
    ks_set_fault_hook(fail_at, (void *)steps[_i]);
    ks_status rv = ks_p12_change_password(p, "Faulty123", 9, &KS_PWRULE_NCA);
    ks_set_fault_hook(NULL, NULL);
    ck_assert_int_eq(rv, KS_ERR_FAULT);
    assert_bytes(path, &before);
    ck_assert_uint_eq(kt_count_entries(dir), 1);
    ck_assert_int_eq(try_open(path, "Qwerty12"), KS_OK);
    /* The handle still has the old password and can try again. */
    ck_assert_int_eq(ks_p12_change_password(p, "Again1234", 9, &KS_PWRULE_NCA), KS_OK);
    ks_p12_close(p);
    ck_assert_int_eq(try_open(path, "Again1234"), KS_OK);
    vt_buf_free(&before);
    free(path);
}
END_TEST

START_TEST(create_empty_file)
{
    char *path = kt_path(dir, "new.p12");
    ks_p12 *p = NULL;
    char *why = NULL;
    ck_assert_int_eq(
        ks_p12_create(ctx, path, "short", 5, KS_P12_STYLE_NCA, &KS_PWRULE_NCA, &p, &why),
        KS_ERR_POLICY);
    ck_assert_str_eq(why, "password must be at least 6 characters long");
    free(why);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(
        ks_p12_create(ctx, path, "Qwerty12", 8, KS_P12_STYLE_NCA, &KS_PWRULE_NCA, &p, &why), KS_OK);
    ck_assert_ptr_null(why);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 0);
    ks_p12_close(p);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(ks_p12_create(ctx, path, "Qwerty12", 8, KS_P12_STYLE_NCA, NULL, NULL, &why),
                     KS_ERR_EXISTS);
    free(why);

    kt_p12_desc d;
    ck_assert(kt_p12_describe(path, "Qwerty12", &d));
    ck_assert_str_eq(d.text, "mac sha1 iter=1024 salt=20\n");
    bool ran;
    char info[1024];
    kt_openssl_info(path, "Qwerty12", true, info, sizeof(info), &ran);
    if (ran)
        ck_assert_str_eq(info, "MAC: sha1, Iteration 1024\nMAC length: 20, salt length: 20\n");
    ck_assert_int_eq(try_open(path, "Qwerty13"), KS_ERR_BAD_PASSWORD);
    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 0);
    ks_p12_close(p);

    char *nodir = kt_path(dir, "missing/new.p12");
    ck_assert_int_eq(ks_p12_create(ctx, nodir, "Qwerty12", 8, KS_P12_STYLE_NCA, NULL, NULL, &why),
                     KS_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(why, "does not exist"));
    free(why);
    free(nodir);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    char *ro = kt_path(dir, "ro.p12");
    ck_assert_int_eq(ks_p12_create(ctx, ro, "Qwerty12", 8, KS_P12_STYLE_NCA, NULL, NULL, &why),
                     KS_ERR_ACCESS);
    ck_assert_ptr_nonnull(strstr(why, "read-only"));
    free(why);
    free(ro);
    ck_assert_int_eq(chmod(dir, 0700), 0);

    char *modern = kt_path(dir, "modern.p12");
    ck_assert_int_eq(
        ks_p12_create(ctx, modern, "Qwerty12", 8, KS_P12_STYLE_MODERN, NULL, NULL, NULL), KS_OK);
    ck_assert(kt_p12_describe(modern, "Qwerty12", &d));
    ck_assert_str_eq(d.text, "mac sha256 iter=2048 salt=8\n");
    free(modern);
    free(path);
}
END_TEST

/* tmpl with each "%s" replaced by the next argument. */
static void fill(char *out, size_t cap, const char *tmpl, const char *const *args, size_t nargs)
{
    size_t n = 0, k = 0;
    for (const char *t = tmpl; *t && n + 1 < cap; t++) {
        if (t[0] == '%' && t[1] == 's' && k < nargs) {
            size_t l = strlen(args[k]);
            ck_assert_uint_lt(n + l, cap);
            memcpy(out + n, args[k++], l);
            n += l;
            t++;
        } else {
            out[n++] = *t;
        }
    }
    out[n] = '\0';
    ck_assert_uint_eq(k, nargs);
}

/* Key generation then certificate write-back, as a PKCS#11 application does it, on a
 * new file of each style; the result must look like NCA's own files. */
START_TEST(add_key_then_cert)
{
    static const struct {
        ks_p12_style style;
        const char *type;
        const char *want;
    } cases[] = {
        {KS_P12_STYLE_NCA, "RSA",
         "mac sha1 iter=1024 salt=20\n"
         "safe data\n"
         " bag pkcs8ShroudedKeyBag alg=pbeWithSHA1And3-KeyTripleDES-CBC iter=1024 salt=20 "
         "decrypts=yes\n"
         "  attr localKeyID: 0414%s\n"
         "  attr friendlyName: 1e50%s\n"
         "safe encrypted alg=pbeWithSHA1And40BitRC2-CBC iter=1024 salt=20\n"
         " bag certBag\n"
         "  attr localKeyID: 0414%s\n"
         "  attr friendlyName: 1e50%s\n"},
        {KS_P12_STYLE_MODERN, "EC",
         "mac sha256 iter=2048 salt=8\n"
         "safe data\n"
         " bag pkcs8ShroudedKeyBag alg=PBES2 cipher=aes-256-cbc ivlen=16 kdf=PBKDF2 iter=2048 "
         "salt=8 keylen=-1 prf=hmacWithSHA256 decrypts=yes\n"
         "  attr localKeyID: 0414%s\n"
         "  attr friendlyName: 1e50%s\n"
         "safe encrypted alg=PBES2 cipher=aes-256-cbc ivlen=16 kdf=PBKDF2 iter=2048 salt=8 "
         "keylen=-1 prf=hmacWithSHA256\n"
         " bag certBag\n"
         "  attr localKeyID: 0414%s\n"
         "  attr friendlyName: 1e50%s\n"},
    };
    char *path = kt_path(dir, "gen.p12");
    ck_assert_int_eq(ks_p12_create(ctx, path, "Qwerty12", 8, cases[_i].style, NULL, NULL, NULL),
                     KS_OK);
    ks_p12 *p = must_open(path, "Qwerty12");
    EVP_PKEY *key = kt_genkey(cases[_i].type);
    size_t idx = 99;
    ck_assert_int_eq(ks_p12_add_key(p, key, NULL, 0, NULL, &idx), KS_OK);
    ck_assert_uint_eq(idx, 0);
    uint8_t id[20];
    char hex[41];
    kt_pubkey_sha1(key, id);
    vt_hex_encode(id, 20, hex);
    size_t idlen = 0;
    const uint8_t *got = ks_p12_local_key_id(p, KS_P12_KEY, 0, &idlen);
    ck_assert_uint_eq(idlen, 20);
    ck_assert_mem_eq(got, id, 20);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_KEY, 0), hex);
    ck_assert_int_eq(ks_p12_add_key(p, key, NULL, 0, NULL, NULL), KS_ERR_EXISTS);

    X509 *cert = kt_cert(key, id, sizeof(id));
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    ck_assert_int_eq(ks_p12_add_cert(p, der, (size_t)n, &idx), KS_OK);
    ck_assert_uint_eq(idx, 0);
    ck_assert_int_eq(ks_p12_add_cert(p, der, (size_t)n, NULL), KS_ERR_EXISTS);
    ck_assert_int_eq(ks_p12_add_cert(p, der, (size_t)n - 1, NULL), KS_ERR_CORRUPT);
    ks_p12_close(p);

    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 1);
    ck_assert_int_eq(EVP_PKEY_eq(ks_p12_key(p, 0), key), 1);
    size_t len = 0;
    const uint8_t *cd = ks_p12_cert_der(p, 0, &len);
    ck_assert_uint_eq(len, (size_t)n);
    ck_assert_mem_eq(cd, der, len);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_CERT, 0), hex);
    ks_p12_close(p);

    /* Independently: the layout and attributes of an NCA file (friendlyName is a
     * BMPString of the hex: 00 xx per character). */
    char bmp[161];
    for (size_t i = 0; i < 40; i++)
        snprintf(bmp + 4 * i, 5, "00%02x", hex[i]);
    char want[2048];
    const char *const args[] = {hex, bmp, hex, bmp};
    fill(want, sizeof(want), cases[_i].want, args, VT_ARRAY_LEN(args));
    kt_p12_desc d;
    ck_assert(kt_p12_describe(path, "Qwerty12", &d));
    ck_assert_str_eq(d.text, want);
    bool ran;
    char info[2048];
    kt_openssl_info(path, "Qwerty12", cases[_i].style == KS_P12_STYLE_NCA, info, sizeof(info),
                    &ran);
    if (ran)
        ck_assert_ptr_nonnull(strstr(info, "Certificate bag"));

    OPENSSL_free(der);
    X509_free(cert);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

/* A CA that computes the SubjectKeyIdentifier differently: the key takes the
 * certificate's identifier so that the pair still matches. */
START_TEST(cert_renames_its_key)
{
    char *path = kt_path(dir, "k.p12");
    ck_assert_int_eq(ks_p12_create(ctx, path, "Qwerty12", 8, KS_P12_STYLE_NCA, NULL, NULL, NULL),
                     KS_OK);
    ks_p12 *p = must_open(path, "Qwerty12");
    EVP_PKEY *key = kt_genkey("RSA");
    EVP_PKEY *other = kt_genkey("EC");
    ck_assert_int_eq(ks_p12_add_key(p, other, (const uint8_t *)"\x01\x02", 2, "other", NULL),
                     KS_OK);
    ck_assert_int_eq(ks_p12_add_key(p, key, NULL, 0, "my key", NULL), KS_OK);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_KEY, 1), "my key");
    static const uint8_t ski[8] = {0xca, 0xfe, 0xba, 0xbe, 0x00, 0x11, 0x22, 0x33};
    X509 *cert = kt_cert(key, ski, sizeof(ski));
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    ck_assert_int_eq(ks_p12_add_cert(p, der, (size_t)n, NULL), KS_OK);
    ks_p12_close(p);

    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 2);
    size_t len = 0;
    const uint8_t *id = ks_p12_local_key_id(p, KS_P12_KEY, 1, &len);
    ck_assert_uint_eq(len, sizeof(ski));
    ck_assert_mem_eq(id, ski, sizeof(ski));
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_KEY, 1), "cafebabe00112233");
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_CERT, 0), "cafebabe00112233");
    /* The other key is untouched. */
    id = ks_p12_local_key_id(p, KS_P12_KEY, 0, &len);
    ck_assert_uint_eq(len, 2);
    ck_assert_mem_eq(id, "\x01\x02", 2);
    ck_assert_str_eq(ks_p12_friendly_name(p, KS_P12_KEY, 0), "other");

    /* Removal, one object at a time. */
    ck_assert_int_eq(ks_p12_remove(p, KS_P12_KEY, 0), KS_OK);
    ck_assert_int_eq(ks_p12_remove(p, KS_P12_CERT, 5), KS_ERR_ARGS);
    ks_p12_close(p);
    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 1);
    ck_assert_int_eq(EVP_PKEY_eq(ks_p12_key(p, 0), key), 1);
    ck_assert_int_eq(ks_p12_remove(p, KS_P12_CERT, 0), KS_OK);
    ks_p12_close(p);
    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_CERT), 0);
    ks_p12_close(p);

    OPENSSL_free(der);
    X509_free(cert);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

/* A new key in a real NCA file is encrypted like NCA's own key. */
START_TEST(add_key_to_nca_file)
{
    char *path = kt_copy_nca(dir, KT_NCA_AUTH ".p12");
    ks_p12 *p = must_open(path, "Qwerty12");
    EVP_PKEY *key = kt_genkey("EC");
    size_t idx = 0;
    ck_assert_int_eq(ks_p12_add_key(p, key, NULL, 0, NULL, &idx), KS_OK);
    ck_assert_uint_eq(idx, 1);
    ks_p12_close(p);
    kt_p12_desc d;
    ck_assert(kt_p12_describe(path, "Qwerty12", &d));
    const char *first = strstr(d.text, "alg=pbeWithSHA1And3-KeyTripleDES-CBC iter=1024 salt=20");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_nonnull(
        strstr(first + 1, "alg=pbeWithSHA1And3-KeyTripleDES-CBC iter=1024 salt=20"));
    p = must_open(path, "Qwerty12");
    ck_assert_uint_eq(ks_p12_count(p, KS_P12_KEY), 2);
    ck_assert(EVP_PKEY_is_a(ks_p12_key(p, 1), "EC"));
    ks_p12_close(p);
    EVP_PKEY_free(key);
    free(path);
}
END_TEST

Suite *p12_write_suite(void)
{
    Suite *s = suite_create("p12_write");
    TCase *tc = tcase_create("p12_write");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds on a busy machine */
    tcase_add_test(tc, nca_password_change_keeps_everything);
    tcase_add_loop_test(tc, generated_password_change_keeps_everything, 0, 3);
    tcase_add_test(tc, password_rule_enforced);
    tcase_add_test(tc, read_only_file_and_directory);
    tcase_add_test(tc, changed_underneath_is_stale);
    tcase_add_test(tc, reopen_with_held_password);
    tcase_add_loop_test(tc, fault_during_write_changes_nothing, 0, 3);
    tcase_add_test(tc, create_empty_file);
    tcase_add_loop_test(tc, add_key_then_cert, 0, 2);
    tcase_add_test(tc, cert_renames_its_key);
    tcase_add_test(tc, add_key_to_nca_file);
    suite_add_tcase(s, tc);
    return s;
}
