/* Personality profiles: the identity and policy of each token family as data (ATR,
 * reader name, PIN references, defaults, tries, lengths, capacity, dialect name).
 * The command set lives in the dialect the profile names (dialect.h). */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atr.h"
#include "sim.h"

typedef struct sim_pin_profile {
    uint8_t ref;             /* PIN reference (P2 of VERIFY); 0: the profile has no such PIN */
    const char *default_pin; /* factory value */
    int tries;               /* retry counter of a factory card */
    size_t min_len, max_len; /* length policy of a factory card */
} sim_pin_profile;

struct sim_profile {
    const char *name;        /* "kaztoken": what the image and vtoken.conf say */
    const char *label;       /* label of a factory image ("KAZTOKEN") */
    const char *reader_name; /* PC/SC reader name of the real token */
    const char *nca_store;   /* NCALayer storage name ("AKKaztokenStore") */
    const char *dialect;     /* command set (sim_dialect_by_name) */
    uint8_t atr[APDU_ATR_MAX_LEN];
    size_t atr_len;
    sim_pin_profile user, so;
    size_t capacity;   /* bytes of object memory */
    size_t serial_len; /* bytes returned as the card serial number */
    int vpcd_port;     /* default port of a fresh $VTOKEN_HOME */
};

#endif
