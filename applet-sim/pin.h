/* PIN objects: a salted hash in the image (never the PIN), a retry counter that is
 * decremented and saved before the compare, a constant-time compare, and which PIN
 * references a connection holds verified. */
#ifndef SIM_PIN_H
#define SIM_PIN_H

#include "sim_int.h"

typedef enum sim_pin_result {
    SIM_PIN_OK,       /* matched; counter back at its maximum; the connection is verified */
    SIM_PIN_WRONG,    /* no match; one try used */
    SIM_PIN_BLOCKED,  /* no tries left; nothing compared */
    SIM_PIN_NO_VALUE, /* the PIN object has no value yet; nothing compared */
    SIM_PIN_IO,       /* the try could not be saved; nothing compared */
} sim_pin_result;

/* Index of the PIN object with this reference, or -1. */
long sim_pin_find(const ks_image *img, uint8_t ref);
/* Create a PIN object without a value. attrs are the dialect's (copied). */
sim_status sim_pin_create(ks_image *img, uint8_t ref, const uint8_t *attrs, size_t attrs_len,
                          int tries);
/* Give PIN idx a new value: fresh salt, counter back at its maximum. */
sim_status sim_pin_set_value(ks_image *img, long idx, const uint8_t *pin, size_t len);
bool sim_pin_has_value(const ks_node *n);
/* Tries left (0 = blocked). */
int sim_pin_tries(const ks_node *n);
/* Restore the counter to its maximum (RESET RETRY COUNTER). */
void sim_pin_unblock(ks_node *n);

/* Verify ref: decrement and save the counter, then compare in constant time. */
sim_pin_result sim_pin_verify(sim_ctx *ctx, uint8_t ref, const uint8_t *pin, size_t len);

/* Has this connection verified ref, and is it still the same PIN value? */
bool sim_pin_verified(const sim_ctx *ctx, uint8_t ref);
/* Is any PIN other than ref verified? */
bool sim_pin_other_verified(const sim_ctx *ctx, uint8_t ref);
/* Record ref (node idx) as verified by this connection, with the current salt. */
void sim_pin_remember(sim_ctx *ctx, uint8_t ref, long idx);
void sim_pin_forget(sim_conn *conn, uint8_t ref);
void sim_pin_forget_all(sim_conn *conn);

#endif
