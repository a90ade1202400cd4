/* Dialects: one command set per token family, as a table of handlers plus the family's
 * factory format. Adding a family is adding a dialect_<family>.c and one line in
 * dialect.c; the engine never switches on a family. */
#ifndef SIM_DIALECT_H
#define SIM_DIALECT_H

#include "sim_int.h"

/* A handler runs with the card locked; it writes response data to ctx->resp and returns
 * the status word. Error status words go out without data. */
typedef uint16_t (*sim_cmd_fn)(sim_ctx *ctx);

/* sim_cmd.flags */
#define SIM_CMD_WRITES   0x01u /* may change the image: lock the card exclusively */
#define SIM_CMD_CHAINING 0x02u /* accepts command chaining (CLA bit 0x10) */

typedef struct sim_cmd {
    uint8_t cla; /* class without the chaining bit: 0x00 or 0x80 */
    uint8_t ins;
    unsigned flags;
    sim_cmd_fn fn;
    const char *name;
} sim_cmd;

struct sim_dialect {
    const char *name;
    const sim_cmd *cmds;
    size_t ncmds;
    size_t max_chain;    /* bytes a command chain may carry */
    bool extended_apdus; /* accepts extended-length commands */
    /* Write the factory state of a fresh card (file system, PINs, life cycle) into an
     * image that holds only the profile, serial and label. */
    sim_status (*format)(ks_image *img, const sim_profile *p);
};

const sim_dialect *sim_dialect_by_name(const char *name);

/* The dialects (one file each). */
extern const sim_dialect sim_dialect_kaztoken; /* dialect_kaztoken.c */
extern const sim_dialect sim_dialect_etoken;   /* dialect_etoken.c */
extern const sim_dialect sim_dialect_jacarta;  /* dialect_jacarta.c */

#endif
