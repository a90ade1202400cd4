/* Names of command APDUs for people (`vtoken trace`): one table holding the ISO/IEC 7816
 * inter-industry commands (refined by P1-P2 where one INS does several jobs: SELECT,
 * MSE, PSO) and each token family's proprietary commands (CLA 80) keyed by family.
 *
 * Why here, in tools/: naming is presentation. apdu/ must not know cards, so it cannot
 * hold the vendor names; applet-sim's dialect tables name only what the emulated card
 * implements, while a trace also shows what a host sent to a physical token over PC/SC.
 * One table in the one program that prints names keeps ISO and vendor names together. */
#ifndef VTOKEN_TRACE_NAMES_H
#define VTOKEN_TRACE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name of the command apdu (at least 4 bytes) as family speaks it ("kaztoken",
 * "etoken", "jacarta", or NULL when unknown). With an unknown family a proprietary
 * command still gets the name of the one family that has it. *from is set to the family
 * whose table gave the name, or NULL for an ISO name. NULL when nothing matches. */
const char *vtoken_apdu_name(const char *family, const uint8_t *apdu, size_t len,
                             const char **from);

/* The family a command identifies (a SELECT of its applet, a command only it has), or
 * NULL when the command could come from any. */
const char *vtoken_apdu_family(const uint8_t *apdu, size_t len);

/* Is name one of the families the table knows? Returns the table's spelling or NULL. */
const char *vtoken_family_known(const char *name, size_t len);

#endif
