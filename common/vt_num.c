/* Decimal numbers from the command line and from vtoken's own text files. */
#include <errno.h>
#include <stdlib.h>

#include "vt_util.h"

bool vt_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    unsigned long v;

    /* strtoul alone would take blanks, a sign and "-1" (as ULONG_MAX). */
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}
