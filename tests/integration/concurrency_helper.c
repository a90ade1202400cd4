/* concurrency_helper: one side of tests/integration/test-concurrency.sh, two processes on
 * one embedded token. Each loads the module with dlopen, as applications do.
 *
 *   concurrency_helper MODULE OPTIONS setup                 log in, make the key "main"
 *   concurrency_helper MODULE OPTIONS sign STOPFILE         sign with "main" until STOPFILE
 *                                                           exists; every signature is
 *                                                           verified; prints the count
 *   concurrency_helper MODULE OPTIONS write ROUNDS LIST TAG create and destroy certificates
 *                                                           and data objects labelled with
 *                                                           TAG; LIST gets the ones left
 *                                                           (label and value hash)
 *   concurrency_helper MODULE OPTIONS check LIST...         the token holds exactly those
 *                                                           objects with those values, and
 *                                                           "main" still signs
 * OPTIONS is the C_Initialize option string (home=DIR pcsc=0 pkcs12=0). Exit 0 when all is
 * as it should be; 1 with a message otherwise. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#define PIN        "12345678"
#define MAX_LEFT   64
#define CERT_BYTES 2048

static CK_FUNCTION_LIST_PTR f;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "concurrency_helper[%ld]: ", (long)getpid());
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void ck(CK_RV rv, const char *what)
{
    if (rv != CKR_OK)
        die("%s: 0x%lx", what, rv);
}

static CK_SESSION_HANDLE open_user(void)
{
    CK_SLOT_ID slot;
    CK_ULONG n = 1;
    CK_SESSION_HANDLE h;
    ck(f->C_GetSlotList(CK_TRUE, &slot, &n), "C_GetSlotList");
    if (n != 1)
        die("want exactly one token, the module shows %lu", n);
    ck(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h),
       "C_OpenSession");
    ck(f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), "C_Login");
    return h;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label)
{
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_LABEL, (void *)label, (CK_ULONG)strlen(label)}};
    CK_OBJECT_HANDLE o[2];
    CK_ULONG n = 0;
    ck(f->C_FindObjectsInit(h, q, 2), "C_FindObjectsInit");
    ck(f->C_FindObjects(h, o, 2, &n), "C_FindObjects");
    ck(f->C_FindObjectsFinal(h), "C_FindObjectsFinal");
    if (n != 1)
        die("%lu objects labelled '%s'", n, label);
    return o[0];
}

static EVP_PKEY *public_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    CK_BYTE nb[512], eb[16];
    CK_ATTRIBUTE a[] = {{CKA_MODULUS, nb, sizeof(nb)}, {CKA_PUBLIC_EXPONENT, eb, sizeof(eb)}};
    EVP_PKEY *pk = NULL;
    ck(f->C_GetAttributeValue(h, key, a, 2), "C_GetAttributeValue(modulus)");
    BIGNUM *n = BN_bin2bn(nb, (int)a[0].ulValueLen, NULL);
    BIGNUM *e = BN_bin2bn(eb, (int)a[1].ulValueLen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *p = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(p = OSSL_PARAM_BLD_to_param(bld)) || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) <= 0)
        die("cannot build the public key");
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return pk;
}

/* One signature with "main", checked against its public key. */
static void sign_verify(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, EVP_PKEY *pub, unsigned long i)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_BYTE msg[32], sig[512];
    CK_ULONG sl = sizeof(sig);
    snprintf((char *)msg, sizeof(msg), "pid %ld signature %lu", (long)getpid(), i);
    ck(f->C_SignInit(h, &m, key), "C_SignInit");
    ck(f->C_Sign(h, msg, sizeof(msg), sig, &sl), "C_Sign");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
              EVP_DigestVerify(md, sig, sl, msg, sizeof(msg)) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        die("signature %lu does not verify", i);
}

static int cmd_setup(void)
{
    CK_SESSION_HANDLE h = open_user();
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_BYTE id[] = {'m', 'a', 'i', 'n'};
    CK_ATTRIBUTE pt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                         {CKA_TOKEN, &yes, sizeof(yes)},
                         {CKA_LABEL, "main", 4},
                         {CKA_ID, id, sizeof(id)}};
    CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &yes, sizeof(yes)},
                         {CKA_PRIVATE, &yes, sizeof(yes)},
                         {CKA_SIGN, &yes, sizeof(yes)},
                         {CKA_LABEL, "main", 4},
                         {CKA_ID, id, sizeof(id)}};
    CK_OBJECT_HANDLE pub, priv;
    ck(f->C_GenerateKeyPair(h, &m, pt, 4, kt, 5, &pub, &priv), "C_GenerateKeyPair");
    return 0;
}

static int cmd_sign(const char *stopfile)
{
    CK_SESSION_HANDLE h = open_user();
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY, "main");
    EVP_PKEY *pub = public_key(h, key);
    unsigned long n = 0;
    /* at least a few, however fast the writer is */
    while (n < 20 || access(stopfile, F_OK) != 0)
        sign_verify(h, key, pub, n++);
    EVP_PKEY_free(pub);
    printf("%lu signatures verified\n", n);
    return 0;
}

/* A self-signed certificate for "cert r", DER. */
static int make_cert(EVP_PKEY *key, int r, unsigned char *der, size_t cap)
{
    X509 *x = X509_new();
    char cn[32];
    snprintf(cn, sizeof(cn), "concurrency cert %d", r);
    if (!x || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 1000 + r) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 86400) || !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_issuer_name(x, X509_get_subject_name(x)) || !X509_sign(x, key, EVP_sha256()))
        die("cannot make a certificate");
    int len = i2d_X509(x, NULL);
    unsigned char *p = der;
    if (len <= 0 || (size_t)len > cap || i2d_X509(x, &p) != len)
        die("certificate too large");
    X509_free(x);
    return len;
}

/* FNV-1a of a value: enough to tell a changed or truncated object. */
static unsigned long long hash(const unsigned char *v, size_t len)
{
    unsigned long long h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ v[i]) * 1099511628211ull;
    return h;
}

static int cmd_write(int rounds, const char *list, const char *tag)
{
    CK_SESSION_HANDLE h = open_user();
    CK_OBJECT_CLASS data = CKO_DATA, cert = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    EVP_PKEY *key = EVP_RSA_gen(1024);
    FILE *out = fopen(list, "w");
    if (!key || !out)
        die("set-up of the writer");
    for (int r = 0; r < rounds; r++) {
        char dlabel[32], clabel[32], value[64];
        unsigned char der[CERT_BYTES];
        CK_OBJECT_HANDLE d, c;
        snprintf(dlabel, sizeof(dlabel), "data %s%d", tag, r);
        snprintf(clabel, sizeof(clabel), "cert %s%d", tag, r);
        snprintf(value, sizeof(value), "the value of data object %s%d", tag, r);
        int dl = make_cert(key, r, der, sizeof(der));
        CK_BYTE id[3] = {'c', (CK_BYTE)tag[0], (CK_BYTE)r};
        CK_ATTRIBUTE dt[] = {{CKA_CLASS, &data, sizeof(data)},
                             {CKA_TOKEN, &yes, sizeof(yes)},
                             {CKA_LABEL, dlabel, (CK_ULONG)strlen(dlabel)},
                             {CKA_VALUE, value, (CK_ULONG)strlen(value)}};
        CK_ATTRIBUTE ct[] = {
            {CKA_CLASS, &cert, sizeof(cert)}, {CKA_CERTIFICATE_TYPE, &x509, sizeof(x509)},
            {CKA_TOKEN, &yes, sizeof(yes)},   {CKA_LABEL, clabel, (CK_ULONG)strlen(clabel)},
            {CKA_ID, id, sizeof(id)},         {CKA_VALUE, der, (CK_ULONG)dl}};
        ck(f->C_CreateObject(h, dt, 4, &d), "C_CreateObject(data)");
        ck(f->C_CreateObject(h, ct, 6, &c), "C_CreateObject(certificate)");
        /* every third round keeps its objects; the others go again */
        if (r % 3 == 0) {
            fprintf(out, "%s %016llx\n", dlabel, hash((unsigned char *)value, strlen(value)));
            fprintf(out, "%s %016llx\n", clabel, hash(der, (size_t)dl));
        } else {
            ck(f->C_DestroyObject(h, c), "C_DestroyObject(certificate)");
            ck(f->C_DestroyObject(h, d), "C_DestroyObject(data)");
        }
    }
    EVP_PKEY_free(key);
    if (fclose(out) != 0)
        die("cannot write %s", list);
    return 0;
}

static int cmd_check(char **lists, int nlists)
{
    CK_SESSION_HANDLE h = open_user();
    char want[MAX_LEFT][64], line[128];
    size_t nwant = 0, nfound = 0;
    for (int l = 0; l < nlists; l++) {
        FILE *in = fopen(lists[l], "r");
        if (!in)
            die("cannot read %s", lists[l]);
        while (nwant < MAX_LEFT && fgets(line, sizeof(line), in))
            snprintf(want[nwant++], sizeof(want[0]), "%.*s", (int)strcspn(line, "\n"), line);
        fclose(in);
    }
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE q = {CKA_TOKEN, &yes, sizeof(yes)};
    CK_OBJECT_HANDLE o[128];
    CK_ULONG n = 0;
    ck(f->C_FindObjectsInit(h, &q, 1), "C_FindObjectsInit");
    ck(f->C_FindObjects(h, o, 128, &n), "C_FindObjects");
    ck(f->C_FindObjectsFinal(h), "C_FindObjectsFinal");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_OBJECT_CLASS cls;
        char label[64] = {0};
        static unsigned char value[8192];
        CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, label, sizeof(label) - 1}};
        ck(f->C_GetAttributeValue(h, o[i], a, 2), "C_GetAttributeValue");
        label[a[1].ulValueLen] = '\0';
        if (cls != CKO_DATA && cls != CKO_CERTIFICATE) {
            if (strcmp(label, "main") != 0)
                die("unexpected key '%s'", label);
            continue;
        }
        CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
        ck(f->C_GetAttributeValue(h, o[i], &v, 1), "C_GetAttributeValue(value)");
        char got[64];
        snprintf(got, sizeof(got), "%s %016llx", label, hash(value, v.ulValueLen));
        size_t j;
        for (j = 0; j < nwant; j++)
            if (strcmp(want[j], got) == 0)
                break;
        if (j == nwant)
            die("object '%s' is not what the writer left (or changed): %s", label, got);
        nfound++;
    }
    if (nfound != nwant)
        die("the writer left %zu objects, the token holds %zu of them", nwant, nfound);
    CK_OBJECT_HANDLE key = find_one(h, CKO_PRIVATE_KEY, "main");
    EVP_PKEY *pub = public_key(h, key);
    sign_verify(h, key, pub, 0);
    EVP_PKEY_free(pub);
    printf("%zu objects intact\n", nfound);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: concurrency_helper MODULE OPTIONS setup|sign|write|check ...");
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        die("dlopen %s: %s", argv[1], dlerror());
    CK_C_GetFunctionList get;
    *(void **)&get = dlsym(lib, "C_GetFunctionList");
    if (!get)
        die("no C_GetFunctionList");
    ck(get(&f), "C_GetFunctionList");
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = argv[2]};
    ck(f->C_Initialize(&a), "C_Initialize");
    int rc;
    if (strcmp(argv[3], "setup") == 0)
        rc = cmd_setup();
    else if (strcmp(argv[3], "sign") == 0 && argc == 5)
        rc = cmd_sign(argv[4]);
    else if (strcmp(argv[3], "write") == 0 && argc == 7)
        rc = cmd_write(atoi(argv[4]), argv[5], argv[6]);
    else if (strcmp(argv[3], "check") == 0 && argc >= 5)
        rc = cmd_check(argv + 4, argc - 4);
    else
        die("unknown command or arguments");
    ck(f->C_Finalize(NULL), "C_Finalize");
    dlclose(lib);
    return rc;
}
