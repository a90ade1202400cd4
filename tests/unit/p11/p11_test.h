/* Shared helpers for the module's unit tests: a fixture with one mock card in one slot,
 * CK_RV assertions that print names, and small object helpers. */
#ifndef P11_TEST_P11_TEST_H
#define P11_TEST_P11_TEST_H

#include <check.h>
#include <stdbool.h>

#include "mock_token.h"
#include "names.h"
#include "p11.h"
#include "testhook.h"

#define ck_assert_rv(expr, want)                                                                   \
    do {                                                                                           \
        CK_RV r_ = (expr);                                                                         \
        CK_RV w_ = (want);                                                                         \
        ck_assert_msg(r_ == w_, "%s: got %s, want %s", #expr, p11_rv_name(r_), p11_rv_name(w_));   \
    } while (0)

#define USER_PIN "12345678"
#define SO_PIN   "87654321"
#define PIN(s)   (CK_UTF8CHAR_PTR)(s), (CK_ULONG)strlen(s)

extern mock_card *fx_card; /* the card in slot 0 */
extern CK_SLOT_ID fx_slot;

/* Register one card made from cfg (NULL: defaults) and C_Initialize(NULL). */
void fx_init_with(const mock_config *cfg);
void fx_init(void);
void fx_fini(void); /* C_Finalize, unregister, free the card */

CK_SESSION_HANDLE fx_open(bool rw);
void fx_login(CK_SESSION_HANDLE h);
/* fx_init + a key pair (id "01", label "key1") + certificate; user logged in on a R/W
 * session returned in *h. */
void fx_init_keys(CK_SESSION_HANDLE *h);

/* Find exactly the objects matching class (and label when non-NULL): count returned,
 * first handle in *out. */
CK_ULONG fx_find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label,
                 CK_OBJECT_HANDLE *out);
CK_OBJECT_HANDLE fx_find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label);
CK_ULONG fx_get_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
bool fx_get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t);
/* Attribute bytes into buf (cap), returns the length. */
CK_ULONG fx_get_bytes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t, void *buf,
                      CK_ULONG cap);

Suite *attrs_suite(void);
Suite *init_suite(void);
Suite *slot_suite(void);
Suite *session_suite(void);
Suite *pin_suite(void);
Suite *object_suite(void);
Suite *create_suite(void);
Suite *crypto_suite(void);
Suite *trace_suite(void);
Suite *threads_suite(void);
Suite *threads_embedded_suite(void); /* test_threads_embedded.c */
/* The PKCS#15 and card-driver suites (their files are test_pkcs15*.c, test_drv_*.c). */
Suite *pkcs15_suite(void);
Suite *drv_kaztoken_suite(void);
Suite *drv_pkcs12_suite(void);       /* test_drv_pkcs12.c */
Suite *drv_pkcs12_write_suite(void); /* test_drv_pkcs12_write.c */
Suite *drv_pkcs12_ids_suite(void);  /* test_drv_pkcs12_ids.c: NCA key identifiers */
Suite *options_suite(void); /* test_options.c: VTOKEN_OPTIONS and [module] */
Suite *rename_suite(void);           /* test_rename.c: rename-then-sign on every driver */

#endif
