/* The Kaztoken's key storage under the PKCS#15 token objects (pkcs15_tok.h): key pairs in
 * the system key DFs 3F00/1000/1000/6002 (private) and 6001 (public), written in the
 * little-endian records OpenSC's rtecp_store_key uses, or generated with 00 46. */
#ifndef P11_PKCS15_KZ_H
#define P11_PKCS15_KZ_H

#include "drv_kaztoken.h"

extern const p11_p15_keys p11_kz_keys;

#endif
