/* Where the module's options come from when a client cannot pass pReserved: the
 * environment (VTOKEN_OPTIONS) and the [module] section of $VTOKEN_HOME/vtoken.conf.
 * Precedence, key by key: pReserved > VTOKEN_OPTIONS > a key's own variable
 * (VTOKEN_TRACE, VTOKEN_P12_PATH, VTOKEN_P12_RULE) > [module] > built-in defaults. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "options.h"
#include "p11_test.h"

static char home[64], other[64];

static void rmrf(const char *d)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_conf(const char *dir, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/vtoken.conf", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    static const char *const vars[] = {"VTOKEN_OPTIONS", "VTOKEN_TRACE", "VTOKEN_P12_PATH",
                                       "VTOKEN_P12_RULE"};
    p11_test_clear_slots();
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    strcpy(home, "/tmp/vt-opt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(home));
    strcpy(other, "/tmp/vt-opt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(other));
    setenv("VTOKEN_HOME", home, 1);
}

static void teardown(void)
{
    C_Finalize(NULL);
    rmrf(home);
    rmrf(other);
}

START_TEST(defaults_without_any_source)
{
    p11_options o;
    p11_options_load(&o, NULL);
    ck_assert(o.embedded && o.pcsc && o.pkcs12);
    ck_assert_str_eq(o.vendor, "");
    ck_assert_str_eq(o.home, "");
    ck_assert(!o.p12_path_set && !o.p12_rule_set);
}
END_TEST

START_TEST(precedence_key_by_key)
{
    p11_options o;
    write_conf(home, "[token x]\nprofile = kaztoken\n"
                     "[module]\nvendor = etoken\npcsc = 0\nembedded = 0\npkcs12 = off\n");
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.vendor, "etoken");
    ck_assert(!o.pcsc && !o.embedded && !o.pkcs12);

    setenv("VTOKEN_OPTIONS", "vendor=jacarta; pkcs12=yes", 1);
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.vendor, "jacarta"); /* the environment over the file */
    ck_assert(o.pkcs12);
    ck_assert(!o.pcsc && !o.embedded); /* the file, where nothing else says */

    p11_options_load(&o, "embedded=1 vendor=all");
    ck_assert_str_eq(o.vendor, "all"); /* pReserved over both */
    ck_assert(o.embedded && o.pkcs12 && !o.pcsc);
}
END_TEST

/* The [module] section read is the one of the home the options name. */
START_TEST(conf_of_the_named_home)
{
    p11_options o;
    char opt[128];
    write_conf(home, "[module]\nvendor = etoken\n");
    write_conf(other, "[module]\nvendor = jacarta\n");
    snprintf(opt, sizeof(opt), "home=%s", other);
    p11_options_load(&o, opt);
    ck_assert_str_eq(o.vendor, "jacarta");
    ck_assert_str_eq(o.home, other);
    setenv("VTOKEN_OPTIONS", opt, 1);
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.vendor, "jacarta");
    unsetenv("VTOKEN_OPTIONS");
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.vendor, "etoken");
}
END_TEST

/* The file is the weakest source: a key's own variable wins over it, home= cannot move
 * the home the file is in, and a broken file or unknown keys never stop the module. */
START_TEST(conf_is_the_weakest)
{
    p11_options o;
    write_conf(home, "[module]\ntrace = /tmp/from-conf\np12_path = /conf/p12\n"
                     "p12_rule = min=1\nhome = /elsewhere\ncolour = blue\n");
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.trace, "/tmp/from-conf");
    ck_assert(o.p12_path_set && o.p12_rule_set);
    ck_assert_str_eq(o.p12_path, "/conf/p12");
    ck_assert_str_eq(o.home, "");
    ck_assert_ptr_nonnull(strstr(o.bad, "home"));
    ck_assert_ptr_nonnull(strstr(o.unknown, "colour"));

    setenv("VTOKEN_TRACE", "/tmp/from-env", 1);
    setenv("VTOKEN_P12_PATH", "/env/p12", 1);
    setenv("VTOKEN_P12_RULE", "min=2", 1);
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.trace, "");
    ck_assert(!o.p12_path_set && !o.p12_rule_set);
    /* VTOKEN_OPTIONS stands for pReserved: it wins over the key's own variable */
    setenv("VTOKEN_OPTIONS", "trace=/tmp/from-options", 1);
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.trace, "/tmp/from-options");

    write_conf(home, "[module\nvendor = etoken\n");
    p11_options_load(&o, NULL);
    ck_assert_str_eq(o.vendor, "");
    ck_assert_ptr_nonnull(strstr(o.bad, "vtoken.conf"));
}
END_TEST

/* Through C_Initialize(NULL), as pkcs11-tool calls it. */
static CK_ULONG slots(void)
{
    CK_ULONG n = 0;
    ck_assert_rv(C_Initialize(NULL), CKR_OK);
    ck_assert_rv(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    ck_assert_rv(C_Finalize(NULL), CKR_OK);
    return n;
}

START_TEST(c_initialize_without_arguments)
{
    CK_SLOT_ID id;
    CK_ULONG n = 1;
    CK_SLOT_INFO si;

    setenv("VTOKEN_OPTIONS", "pcsc=0 pkcs12=0", 1);
    ck_assert_uint_eq(slots(), 3); /* a fresh home: three factory tokens */
    setenv("VTOKEN_OPTIONS", "embedded=no pcsc=no pkcs12=no", 1);
    ck_assert_uint_eq(slots(), 0);
    write_conf(home, "[token kaztoken]\nprofile = kaztoken\n[token etoken]\nprofile = etoken\n"
                     "[token jacarta]\nprofile = jacarta\n[module]\nvendor = jacarta\n");
    setenv("VTOKEN_OPTIONS", "pcsc=0 pkcs12=0", 1);
    ck_assert_rv(C_Initialize(NULL), CKR_OK);
    ck_assert_rv(C_GetSlotList(CK_FALSE, &id, &n), CKR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_rv(C_GetSlotInfo(id, &si), CKR_OK);
    ck_assert_mem_eq(si.slotDescription, "ARDS JaCarta", 12);
}
END_TEST

Suite *options_suite(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tcase_create("sources");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, defaults_without_any_source);
    tcase_add_test(tc, precedence_key_by_key);
    tcase_add_test(tc, conf_of_the_named_home);
    tcase_add_test(tc, conf_is_the_weakest);
    tcase_add_test(tc, c_initialize_without_arguments);
    suite_add_tcase(s, tc);
    return s;
}
