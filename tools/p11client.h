/* How vtoken's commands reach tokens: through libvtoken-pkcs11.so, exactly as any
 * application does (dlopen, C_GetInterface, C_Initialize with an option string), never
 * around it. Token names given on the command line are resolved to slots here. */
#ifndef VTOKEN_P11CLIENT_H
#define VTOKEN_P11CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "p11.h" /* pkcs11/p11.h: PKCS#11 2.40 types + 3.0 additions */

typedef struct vt_p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;  /* the 2.40 list (every function we call is in it) */
    char module_path[4096];
    bool initialized;
} vt_p11;

/* Load and initialise the module. module_path NULL: $VTOKEN_MODULE, else the module of
 * this build tree (next to the executable: ../pkcs11/libvtoken-pkcs11.so), else the
 * installed one (<libdir>/pkcs11/libvtoken-pkcs11.so). options is the C_Initialize
 * pReserved string ("home=DIR embedded=yes pcsc=no ..."), may be NULL. On failure err
 * says what went wrong (path tried, dlerror, CKR name). */
int vt_p11_load(vt_p11 *m, const char *module_path, const char *options, char *err,
                size_t errcap);
void vt_p11_unload(vt_p11 *m); /* C_Finalize + dlclose; safe on a failed load */

/* Resolve a token as users name it:
 *   "kaztoken"      a token name from $VTOKEN_HOME/vtoken.conf (matched by serial);
 *   "slot:3"        a slot ID;
 *   "label:KAZTOKEN" a token label;
 *   "FILE.p12"      a PKCS#12 file (its slot: described by the file name, labelled with
 *                   its stem; a name with a directory must be that file, in a served
 *                   directory).
 * Returns 0 and *slot, or VTOKEN_EXIT_NO_TOKEN with err filled (listing what exists);
 * VTOKEN_EXIT_FAILURE when the module, the home or the token's card image cannot be read. */
int vt_p11_find_token(vt_p11 *m, const char *home, const char *token, CK_SLOT_ID *slot,
                      char *err, size_t errcap);

/* "CKR_PIN_INCORRECT". */
const char *vt_ckr_name(CK_RV rv);

#endif
