/* Module options: key=value pairs from CK_C_INITIALIZE_ARGS.pReserved (NSS's
 * parameters=, SunPKCS11's nssArgs, p11-kit's x-init-reserved), from $VTOKEN_OPTIONS for
 * clients that cannot pass pReserved (pkcs11-tool, most applications), and from the
 * [module] section of $VTOKEN_HOME/vtoken.conf.
 *
 *   home=DIR        $VTOKEN_HOME for the embedded tokens
 *   trace=FILE      call/APDU trace (else $VTOKEN_TRACE)
 *   vendor=NAME     show only that vendor's tokens and strings (kaztoken, etoken,
 *                   jacarta); "all" disables the filter chosen by the file name
 *   embedded=0|1    embedded virtual tokens (default 1)
 *   pcsc=0|1        PC/SC readers (default 1)
 *   pkcs12=0|1      PKCS#12 files as tokens (default 1)
 *   p12_path=DIRS   colon-separated directories of .p12/.pfx files (else
 *                   $VTOKEN_P12_PATH, else [pkcs12] path= in vtoken.conf)
 *   p12_rule=SPEC   password rule for new PKCS#12 passwords (else $VTOKEN_P12_RULE,
 *                   else [pkcs12] password_rule=, else NCA's)
 *
 * Pairs are separated by blanks or semicolons; a value may be quoted with ' or ".
 * Unknown keys are ignored and listed for the trace. In vtoken.conf they are lines of a
 * [module] section: "vendor = jacarta".
 *
 * Precedence, key by key, highest first: pReserved; $VTOKEN_OPTIONS; a key's own
 * variable ($VTOKEN_TRACE, $VTOKEN_P12_PATH, $VTOKEN_P12_RULE, whose readers apply them
 * when the key is unset); the [module] section; the defaults. The vtoken.conf read is
 * the one of the home that pReserved or $VTOKEN_OPTIONS name with home=, else
 * $VTOKEN_HOME's; home= in the file itself is ignored. */
#ifndef P11_OPTIONS_H
#define P11_OPTIONS_H

#include <stdbool.h>

#include "p11.h"

typedef struct p11_options {
    char home[4096];
    char trace[4096];
    char vendor[32];
    bool embedded;
    bool pcsc;
    bool pkcs12;
    bool p12_path_set; /* p12_path= given (possibly empty: no directories) */
    char p12_path[4096];
    bool p12_rule_set;
    char p12_rule[256];
    char unknown[256]; /* "foo,bar": ignored keys, for the trace */
    char bad[256];     /* malformed fragments, for the trace */
} p11_options;

void p11_options_defaults(p11_options *o);
/* Parse at most max_len bytes of s (a NUL ends it earlier). Never fails: bad
 * fragments are skipped and noted in o->bad. */
void p11_options_parse(p11_options *o, const char *s, size_t max_len);
/* Defaults, then every source above in order; preserved is pReserved (may be NULL).
 * Never fails: a vtoken.conf that cannot be read is noted in o->bad. */
void p11_options_load(p11_options *o, const char *preserved);

#endif
