/* pkcs12_helper: small tools for tests/integration/test-pkcs12*.sh.
 *
 *   pkcs12_helper create FILE PASSWORD nca|modern   an empty key store (ks_p12_create)
 *   pkcs12_helper check FILE PW...                  print the password that opens FILE
 *                                                   (exit 1: none does, 2: unreadable)
 *   pkcs12_helper churn FILE PW_A PW_B              change the password back and forth
 *                                                   until killed (kill -9 tests)
 *   pkcs12_helper host MODULE OPTIONS               load the module, initialise it with
 *                                                   OPTIONS, read every token, finalise,
 *                                                   unload (LeakSanitizer checks at exit) */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "p12.h"

static int usage(void)
{
    fprintf(stderr, "usage: pkcs12_helper create|check|churn|host ...\n");
    return 64;
}

static int cmd_create(int argc, char **argv)
{
    ks_p12_ctx *ctx = NULL;
    ks_p12 *p = NULL;
    char *why = NULL;
    if (argc != 5)
        return usage();
    ks_p12_style style = strcmp(argv[4], "modern") == 0 ? KS_P12_STYLE_MODERN : KS_P12_STYLE_NCA;
    if (ks_p12_ctx_new(&ctx) != KS_OK)
        return 3;
    ks_status st = ks_p12_create(ctx, argv[2], argv[3], strlen(argv[3]), style, NULL, &p, &why);
    if (st != KS_OK)
        fprintf(stderr, "create: %s: %s\n", ks_strerror(st), why ? why : "");
    free(why);
    ks_p12_close(p);
    ks_p12_ctx_free(ctx);
    return st == KS_OK ? 0 : 1;
}

static int cmd_check(int argc, char **argv)
{
    ks_p12_ctx *ctx = NULL;
    int rc = 1;
    if (argc < 4)
        return usage();
    if (ks_p12_ctx_new(&ctx) != KS_OK)
        return 3;
    for (int i = 3; i < argc && rc == 1; i++) {
        ks_p12 *p = NULL;
        char *why = NULL;
        ks_status st = ks_p12_open(ctx, argv[2], argv[i], strlen(argv[i]), &p, &why);
        if (st == KS_OK) {
            printf("%s\n", argv[i]);
            rc = 0;
        } else if (st != KS_ERR_BAD_PASSWORD) {
            fprintf(stderr, "check: %s: %s\n", ks_strerror(st), why ? why : "");
            rc = 2;
        }
        free(why);
        ks_p12_close(p);
    }
    ks_p12_ctx_free(ctx);
    return rc;
}

static int cmd_churn(int argc, char **argv)
{
    ks_p12_ctx *ctx = NULL;
    if (argc != 5)
        return usage();
    if (ks_p12_ctx_new(&ctx) != KS_OK)
        return 3;
    for (unsigned long n = 0;; n++) {
        ks_p12 *p = NULL;
        const char *from = argv[3], *to = argv[4];
        if (ks_p12_open(ctx, argv[2], from, strlen(from), &p, NULL) == KS_ERR_BAD_PASSWORD) {
            from = argv[4];
            to = argv[3];
            if (ks_p12_open(ctx, argv[2], from, strlen(from), &p, NULL) != KS_OK)
                return 4;
        } else if (!p) {
            return 4;
        }
        ks_status st = ks_p12_change_password(p, to, strlen(to), NULL);
        ks_p12_close(p);
        if (st != KS_OK) {
            fprintf(stderr, "churn: change %lu: %s\n", n, ks_strerror(st));
            return 5;
        }
    }
}

static int cmd_host(int argc, char **argv)
{
    if (argc != 4)
        return usage();
    void *lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "host: %s\n", dlerror());
        return 3;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    int rc = 4;
    if (!get || get(&f) != CKR_OK)
        goto out;
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = argv[3]};
    if (f->C_Initialize(&a) != CKR_OK)
        goto out;
    CK_SLOT_ID ids[32];
    CK_ULONG n = 32;
    if (f->C_GetSlotList(CK_FALSE, ids, &n) == CKR_OK) {
        for (CK_ULONG i = 0; i < n; i++) {
            CK_TOKEN_INFO ti;
            if (f->C_GetTokenInfo(ids[i], &ti) == CKR_OK)
                printf("slot %lu: %.32s\n", ids[i], (const char *)ti.label);
        }
    }
    fflush(stdout); /* before LeakSanitizer can end the process at exit */
    rc = f->C_Finalize(NULL) == CKR_OK ? 0 : 5;
out:
    dlclose(lib);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "create"))
        return cmd_create(argc, argv);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc, argv);
    if (!strcmp(argv[1], "churn"))
        return cmd_churn(argc, argv);
    if (!strcmp(argv[1], "host"))
        return cmd_host(argc, argv);
    return usage();
}
