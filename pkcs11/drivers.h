/* The card drivers table (drivers.c): every p11_card_driver the module knows, tried in
 * order on a card's ATR. */
#ifndef P11_DRIVERS_H
#define P11_DRIVERS_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

const p11_card_driver *p11_driver_match(const uint8_t *atr, size_t len);
size_t p11_driver_count(void);
const p11_card_driver *p11_driver_at(size_t i);

#endif
