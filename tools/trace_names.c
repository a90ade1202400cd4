/* The command-name table behind `vtoken trace`: ISO/IEC 7816-4/-8/-9 inter-industry
 * commands, then each family's proprietary ones (from the families' public command sets:
 * Rutoken ECP as OpenSC's rutoken_ecp driver sends it for Kaztoken, the eToken PRO Java
 * applet, the JaCarta "Laser" applet), and the applet AIDs that identify a family. */
#include "trace_names.h"

#include <string.h>

#define ANY (-1)

typedef struct cmd_name {
    const char *family; /* NULL: inter-industry */
    uint8_t cla;        /* class byte with the channel and chaining bits masked: 00 or 80 */
    uint8_t ins;
    int p1, p2;      /* ANY matches every value */
    bool identifies; /* only this family sends it */
    const char *name;
} cmd_name;

/* More specific rows (P1/P2 given) come before the general row for the same INS. */
static const cmd_name names[] = {
    /* ---- Kaztoken: Rutoken ECP command set ---- */
    {"kaztoken", 0x80, 0x40, ANY, ANY, true, "LOGOUT (reset security state)"},
    {"kaztoken", 0x80, 0x8A, ANY, ANY, true, "ERASE CARD (format)"},
    {"kaztoken", 0x80, 0x84, 0x4E, 0x19, true, "END OF INITIALISATION"},
    {"kaztoken", 0x00, 0xCA, 0x01, 0x81, true, "GET DATA: serial number"},
    {"kaztoken", 0x00, 0x46, ANY, ANY, false, "GENERATE KEY PAIR"},
    /* ---- eToken PRO (Java) 72K applet ---- */
    {"etoken", 0x80, 0x17, ANY, ANY, true, "GET CHALLENGE"},
    {"etoken", 0x80, 0x18, ANY, ANY, true, "READ"},
    {"etoken", 0x80, 0xCA, 0x9F, 0x7F, true, "GET DATA: CPLC"},
    {"etoken", 0x80, 0xCA, ANY, ANY, true, "GET DATA"},
    /* ---- JaCarta PKI "Laser" applet ---- */
    {"jacarta", 0x80, 0xA4, 0x08, ANY, true, "SELECT (path from MF)"},
    {"jacarta", 0x80, 0xA4, ANY, ANY, true, "SELECT"},
    {"jacarta", 0x80, 0xCB, ANY, ANY, true, "GET CAPABILITY"},
    {"jacarta", 0x80, 0x28, ANY, ANY, true, "LOGOUT"},
    {"jacarta", 0x80, 0x24, ANY, ANY, true, "CHANGE REFERENCE DATA"},
    {"jacarta", 0x80, 0x2C, ANY, ANY, true, "RESET RETRY COUNTER"},
    /* ---- ISO/IEC 7816 inter-industry ---- */
    {NULL, 0x00, 0x0E, ANY, ANY, false, "ERASE BINARY"},
    {NULL, 0x00, 0x0C, ANY, ANY, false, "ERASE RECORD"},
    {NULL, 0x00, 0x20, ANY, ANY, false, "VERIFY"},
    {NULL, 0x00, 0x21, ANY, ANY, false, "VERIFY"},
    {NULL, 0x00, 0x22, 0xF3, ANY, false, "MSE: RESTORE"},
    {NULL, 0x00, 0x22, ANY, 0xB6, false, "MSE: SET DST"},
    {NULL, 0x00, 0x22, ANY, 0xB8, false, "MSE: SET CT"},
    {NULL, 0x00, 0x22, ANY, 0xA4, false, "MSE: SET AT"},
    {NULL, 0x00, 0x22, ANY, ANY, false, "MANAGE SECURITY ENVIRONMENT"},
    {NULL, 0x00, 0x24, ANY, ANY, false, "CHANGE REFERENCE DATA"},
    {NULL, 0x00, 0x25, ANY, ANY, false, "CHANGE REFERENCE DATA"},
    {NULL, 0x00, 0x26, ANY, ANY, false, "DISABLE VERIFICATION REQUIREMENT"},
    {NULL, 0x00, 0x28, ANY, ANY, false, "ENABLE VERIFICATION REQUIREMENT"},
    {NULL, 0x00, 0x2A, 0x9E, 0x9A, false, "PSO: COMPUTE DIGITAL SIGNATURE"},
    {NULL, 0x00, 0x2A, 0x80, 0x86, false, "PSO: DECIPHER"},
    {NULL, 0x00, 0x2A, 0x86, 0x80, false, "PSO: ENCIPHER"},
    {NULL, 0x00, 0x2A, 0x90, 0x80, false, "PSO: HASH"},
    {NULL, 0x00, 0x2A, 0x90, 0xA0, false, "PSO: HASH"},
    {NULL, 0x00, 0x2A, 0x00, 0xA8, false, "PSO: VERIFY DIGITAL SIGNATURE"},
    {NULL, 0x00, 0x2A, 0x00, 0xAE, false, "PSO: VERIFY CERTIFICATE"},
    {NULL, 0x00, 0x2A, 0x00, 0xBE, false, "PSO: VERIFY CERTIFICATE"},
    {NULL, 0x00, 0x2A, ANY, ANY, false, "PERFORM SECURITY OPERATION"},
    {NULL, 0x00, 0x2C, ANY, ANY, false, "RESET RETRY COUNTER"},
    {NULL, 0x00, 0x2D, ANY, ANY, false, "RESET RETRY COUNTER"},
    {NULL, 0x00, 0x44, ANY, ANY, false, "ACTIVATE FILE"},
    {NULL, 0x00, 0x46, ANY, ANY, false, "GENERATE ASYMMETRIC KEY PAIR"},
    {NULL, 0x00, 0x47, ANY, ANY, false, "GENERATE ASYMMETRIC KEY PAIR"},
    {NULL, 0x00, 0x70, ANY, ANY, false, "MANAGE CHANNEL"},
    {NULL, 0x00, 0x82, ANY, ANY, false, "EXTERNAL AUTHENTICATE"},
    {NULL, 0x00, 0x84, ANY, ANY, false, "GET CHALLENGE"},
    {NULL, 0x00, 0x86, ANY, ANY, false, "GENERAL AUTHENTICATE"},
    {NULL, 0x00, 0x87, ANY, ANY, false, "GENERAL AUTHENTICATE"},
    {NULL, 0x00, 0x88, ANY, ANY, false, "INTERNAL AUTHENTICATE"},
    {NULL, 0x00, 0xA4, 0x00, ANY, false, "SELECT (file identifier)"},
    {NULL, 0x00, 0xA4, 0x01, ANY, false, "SELECT (child DF)"},
    {NULL, 0x00, 0xA4, 0x02, ANY, false, "SELECT (EF under current DF)"},
    {NULL, 0x00, 0xA4, 0x03, ANY, false, "SELECT (parent DF)"},
    {NULL, 0x00, 0xA4, 0x04, ANY, false, "SELECT (AID)"},
    {NULL, 0x00, 0xA4, 0x08, ANY, false, "SELECT (path from MF)"},
    {NULL, 0x00, 0xA4, 0x09, ANY, false, "SELECT (path from current DF)"},
    {NULL, 0x00, 0xA4, ANY, ANY, false, "SELECT"},
    {NULL, 0x00, 0xB0, ANY, ANY, false, "READ BINARY"},
    {NULL, 0x00, 0xB1, ANY, ANY, false, "READ BINARY"},
    {NULL, 0x00, 0xB2, ANY, ANY, false, "READ RECORD"},
    {NULL, 0x00, 0xB3, ANY, ANY, false, "READ RECORD"},
    {NULL, 0x00, 0xC0, ANY, ANY, false, "GET RESPONSE"},
    {NULL, 0x00, 0xC2, ANY, ANY, false, "ENVELOPE"},
    {NULL, 0x00, 0xC3, ANY, ANY, false, "ENVELOPE"},
    {NULL, 0x00, 0xCA, ANY, ANY, false, "GET DATA"},
    {NULL, 0x00, 0xCB, ANY, ANY, false, "GET DATA"},
    {NULL, 0x00, 0xD0, ANY, ANY, false, "WRITE BINARY"},
    {NULL, 0x00, 0xD1, ANY, ANY, false, "WRITE BINARY"},
    {NULL, 0x00, 0xD2, ANY, ANY, false, "WRITE RECORD"},
    {NULL, 0x00, 0xD6, ANY, ANY, false, "UPDATE BINARY"},
    {NULL, 0x00, 0xD7, ANY, ANY, false, "UPDATE BINARY"},
    {NULL, 0x00, 0xDA, ANY, ANY, false, "PUT DATA"},
    {NULL, 0x00, 0xDB, ANY, ANY, false, "PUT DATA"},
    {NULL, 0x00, 0xDC, ANY, ANY, false, "UPDATE RECORD"},
    {NULL, 0x00, 0xDD, ANY, ANY, false, "UPDATE RECORD"},
    {NULL, 0x00, 0xE0, ANY, ANY, false, "CREATE FILE"},
    {NULL, 0x00, 0xE2, ANY, ANY, false, "APPEND RECORD"},
    {NULL, 0x00, 0xE4, ANY, ANY, false, "DELETE FILE"},
    {NULL, 0x00, 0xE6, ANY, ANY, false, "TERMINATE DF"},
    {NULL, 0x00, 0xE8, ANY, ANY, false, "TERMINATE EF"},
    {NULL, 0x00, 0xFE, ANY, ANY, false, "TERMINATE CARD USAGE"},
};

/* Applets whose SELECT by AID names the family. */
static const struct {
    const char *family;
    uint8_t aid[16];
    size_t len;
} applets[] = {
    {"etoken", {0xA0, 0x00, 0x00, 0x03, 0x12, 0x02, 0x02}, 7},
    {"jacarta", {0xA0, 0x00, 0x00, 0x01, 0x64, 0x4C, 0x41, 0x53, 0x45, 0x52, 0x00, 0x01}, 12},
};

static const char *const families[] = {"kaztoken", "etoken", "jacarta"};

const char *vtoken_family_known(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (strlen(families[i]) == len && strncmp(families[i], name, len) == 0)
            return families[i];
    return NULL;
}

static bool row_matches(const cmd_name *r, const uint8_t *apdu)
{
    return (apdu[0] & 0x80u) == r->cla && apdu[1] == r->ins && (r->p1 == ANY || apdu[2] == r->p1) &&
           (r->p2 == ANY || apdu[3] == r->p2);
}

static bool same_family(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

const char *vtoken_apdu_name(const char *family, const uint8_t *apdu, size_t len, const char **from)
{
    const cmd_name *found = NULL;
    size_t nfamilies = 0;

    *from = NULL;
    if (apdu == NULL || len < 4)
        return NULL;
    if (family != NULL) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (same_family(names[i].family, family) && row_matches(&names[i], apdu)) {
                *from = names[i].family;
                return names[i].name;
            }
        }
    } else if (apdu[0] & 0x80u) {
        /* Unknown family: a proprietary command is named when one family alone has it. */
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (names[i].family == NULL || !row_matches(&names[i], apdu))
                continue;
            if (found == NULL || !same_family(found->family, names[i].family)) {
                nfamilies++;
                if (found == NULL)
                    found = &names[i];
            }
        }
        if (nfamilies == 1) {
            *from = found->family;
            return found->name;
        }
    }
    /* Inter-industry rows; a proprietary class sending an ISO INS keeps the ISO name. */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const cmd_name *r = &names[i];
        if (r->family == NULL && apdu[1] == r->ins && (r->p1 == ANY || apdu[2] == r->p1) &&
            (r->p2 == ANY || apdu[3] == r->p2))
            return r->name;
    }
    return NULL;
}

const char *vtoken_apdu_family(const uint8_t *apdu, size_t len)
{
    const char *fam = NULL;
    if (apdu == NULL || len < 4)
        return NULL;
    if ((apdu[0] & 0x80u) == 0 && apdu[1] == 0xA4 && apdu[2] == 0x04 && len > 5) {
        size_t lc = apdu[4];
        const uint8_t *aid = apdu + 5;
        if (lc > len - 5)
            lc = len - 5;
        for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++)
            if (lc >= applets[i].len && memcmp(aid, applets[i].aid, applets[i].len) == 0)
                return applets[i].family;
        return NULL;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!names[i].identifies || !row_matches(&names[i], apdu))
            continue;
        if (fam != NULL && !same_family(fam, names[i].family))
            return NULL; /* two families send it: it says nothing */
        fam = names[i].family;
    }
    return fam;
}
