/* Test-only slot source: unit tests and the find bench plug in-memory mock tokens
 * here before C_Initialize. Compiled into vt_p11 for the tests; the shared module
 * exports only C_* symbols (exports.map), so applications never see it.
 *
 * While any test slot is registered, C_Initialize uses only the test slots (no
 * $VTOKEN_HOME, no pcscd). Registrations survive C_Finalize/C_Initialize, like a
 * card that stays in its reader. */
#ifndef P11_TESTHOOK_H
#define P11_TESTHOOK_H

#include "token.h"

/* open: return the token (CKR_TOKEN_NOT_PRESENT while the mock card is "removed");
 * the module closes it with ops->close. */
typedef CK_RV (*p11_test_open_fn)(void *arg, p11_token **out);

CK_RV p11_test_register_slot(const char *description, const char *vendor, p11_test_open_fn open,
                             void *arg);
void p11_test_clear_slots(void);

#endif
