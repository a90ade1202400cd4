/* Card drivers, one per token family (pkcs11/drv_<family>.c). Adding a family adds a
 * line to each list below; nothing else in the module changes. */
#include "drivers.h"

#include "vt_util.h"

extern const p11_card_driver p11_drv_kaztoken;
extern const p11_card_driver p11_drv_etoken;
extern const p11_card_driver p11_drv_jacarta;

static const p11_card_driver *const drivers[] = {
    &p11_drv_kaztoken,
    &p11_drv_etoken,
    &p11_drv_jacarta,
    NULL, /* keeps the array non-empty */
};

size_t p11_driver_count(void)
{
    return VT_ARRAY_LEN(drivers) - 1;
}

const p11_card_driver *p11_driver_at(size_t i)
{
    return i < p11_driver_count() ? drivers[i] : NULL;
}

const p11_card_driver *p11_driver_match(const uint8_t *atr, size_t len)
{
    for (size_t i = 0; i < p11_driver_count(); i++)
        if (drivers[i]->match(atr, len))
            return drivers[i];
    return NULL;
}
