/* The three personalities as data. Values marked "public" are facts from the sources in
 * shared/research/tokens.md; the rest are our defaults, listed in docs/dialects/. */
#include "profile.h"

#include <string.h>

static const sim_profile profiles[] = {
    {
        .name = "kaztoken",
        .label = "KAZTOKEN",
        .reader_name = "DigiFlow LLP. KAZTOKEN", /* public */
        .nca_store = "AKKaztokenStore",          /* public */
        .dialect = "kaztoken",                   /* Rutoken ECP command set */
        /* public: T=1, historical bytes "KAZTOKEN" */
        .atr = {0x3B, 0x88, 0x01, 0x4B, 0x41, 0x5A, 0x54, 0x4F, 0x4B, 0x45, 0x4E, 0x82},
        .atr_len = 12,
        /* user PIN 12345678 is public (NCA); SO 87654321 is the Rutoken default */
        .user = {.ref = 2, .default_pin = "12345678", .tries = 10, .min_len = 6, .max_len = 32},
        .so = {.ref = 1, .default_pin = "87654321", .tries = 10, .min_len = 6, .max_len = 32},
        .capacity = 65536,
        .serial_len = 4,
        .vpcd_port = 35963,
    },
    {
        .name = "etoken",
        .label = "eToken",
        .reader_name = "SafeNet Token JC", /* public */
        .nca_store = "AKEToken72KStore",   /* public */
        .dialect = "etoken",               /* the PRO applet: docs/dialects/etoken.md */
        /* public */
        .atr = {0x3B, 0xD5, 0x18, 0x00, 0x81, 0x31, 0xFE, 0x7D, 0x80, 0x73, 0xC8, 0x21, 0x10, 0xF4},
        .atr_len = 14,
        /* user PIN 1234567890 is public (NCA); SO PIN and the references are our defaults */
        .user =
            {.ref = 0x01, .default_pin = "1234567890", .tries = 15, .min_len = 6, .max_len = 16},
        .so = {.ref = 0x02, .default_pin = "0987654321", .tries = 15, .min_len = 6, .max_len = 16},
        .capacity = 73728, /* 72 KiB; the applet keeps 25 KiB, 47 KiB stay free (ours) */
        .serial_len = 4,
        .vpcd_port = 35965,
    },
    {
        .name = "jacarta",
        .label = "JaCarta",
        .reader_name = "ARDS JaCarta", /* public */
        .nca_store = "AKJaCartaStore", /* public */
        .dialect = "jacarta",          /* the Laser PKI applet: docs/dialects/jacarta.md */
        /* public */
        .atr = {0x3B, 0xDC, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x73,
                0xC8, 0x21, 0x13, 0x66, 0x01, 0x06, 0x11, 0x59, 0x00, 0x01, 0x28},
        .atr_len = 22,
        /* references, tries and lengths public (Laser applet); user 1234567890 public
         * (NCA); SO 00000000 the public vendor default */
        .user =
            {.ref = 0x20, .default_pin = "1234567890", .tries = 10, .min_len = 4, .max_len = 16},
        .so = {.ref = 0x10, .default_pin = "00000000", .tries = 10, .min_len = 4, .max_len = 16},
        .capacity = 73728, /* 72 KiB */
        .serial_len = 8,
        .vpcd_port = 35967,
    },
};

const sim_profile *sim_profile_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < VT_ARRAY_LEN(profiles); i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

size_t sim_profile_count(void)
{
    return VT_ARRAY_LEN(profiles);
}

const sim_profile *sim_profile_at(size_t i)
{
    return i < VT_ARRAY_LEN(profiles) ? &profiles[i] : NULL;
}

const char *sim_profile_name(const sim_profile *p)
{
    return p != NULL ? p->name : NULL;
}

const char *sim_profile_reader_name(const sim_profile *p)
{
    return p != NULL ? p->reader_name : NULL;
}

const uint8_t *sim_profile_atr(const sim_profile *p, size_t *len)
{
    if (p == NULL)
        return NULL;
    if (len != NULL)
        *len = p->atr_len;
    return p->atr;
}
