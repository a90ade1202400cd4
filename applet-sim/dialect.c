/* The registry of dialects. A family whose dialect is not written yet has none: its
 * card answers every instruction with 6D00 and its image stays blank until it lands. */
#include "dialect.h"

#include <string.h>

static const sim_dialect *const dialects[] = {
    &sim_dialect_kaztoken,
    &sim_dialect_etoken,
    &sim_dialect_jacarta,
};

const sim_dialect *sim_dialect_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < VT_ARRAY_LEN(dialects); i++)
        if (strcmp(dialects[i]->name, name) == 0)
            return dialects[i];
    return NULL;
}
