/* Parser for the module option string, and the sources it comes from (pReserved,
 * $VTOKEN_OPTIONS, vtoken.conf's [module]). Tolerant by design: a client's parameter
 * string written for another module must never stop ours from loading. */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sim.h"

#define OPTIONS_MAX_LEN 8192 /* bytes of one option string read */

void p11_options_defaults(p11_options *o)
{
    memset(o, 0, sizeof(*o));
    o->embedded = true;
    o->pcsc = true;
    o->pkcs12 = true;
}

static void note(char *list, size_t cap, const char *what, size_t len)
{
    size_t cur = strlen(list);
    if (cur + len + 2 >= cap)
        return;
    if (cur)
        list[cur++] = ',';
    memcpy(list + cur, what, len);
    list[cur + len] = '\0';
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "false")) {
        *out = false;
        return true;
    }
    return false;
}

static void apply(p11_options *o, const char *key, size_t klen, const char *val)
{
    char k[64];
    bool b;
    if (klen >= sizeof(k)) {
        note(o->unknown, sizeof(o->unknown), key, klen > 32 ? 32 : klen);
        return;
    }
    memcpy(k, key, klen);
    k[klen] = '\0';
    if (!strcmp(k, "home") && strlen(val) < sizeof(o->home)) {
        snprintf(o->home, sizeof(o->home), "%s", val);
    } else if (!strcmp(k, "trace") && strlen(val) < sizeof(o->trace)) {
        snprintf(o->trace, sizeof(o->trace), "%s", val);
    } else if (!strcmp(k, "vendor") && strlen(val) < sizeof(o->vendor)) {
        snprintf(o->vendor, sizeof(o->vendor), "%s", val);
    } else if (!strcmp(k, "embedded") && parse_bool(val, &b)) {
        o->embedded = b;
    } else if (!strcmp(k, "pcsc") && parse_bool(val, &b)) {
        o->pcsc = b;
    } else if (!strcmp(k, "pkcs12") && parse_bool(val, &b)) {
        o->pkcs12 = b;
    } else if (!strcmp(k, "p12_path") && strlen(val) < sizeof(o->p12_path)) {
        snprintf(o->p12_path, sizeof(o->p12_path), "%s", val);
        o->p12_path_set = true;
    } else if (!strcmp(k, "p12_rule") && strlen(val) < sizeof(o->p12_rule)) {
        snprintf(o->p12_rule, sizeof(o->p12_rule), "%s", val);
        o->p12_rule_set = true;
    } else if (!strcmp(k, "home") || !strcmp(k, "trace") || !strcmp(k, "vendor") ||
               !strcmp(k, "embedded") || !strcmp(k, "pcsc") || !strcmp(k, "pkcs12") ||
               !strcmp(k, "p12_path") || !strcmp(k, "p12_rule")) {
        note(o->bad, sizeof(o->bad), k, klen);
    } else {
        note(o->unknown, sizeof(o->unknown), k, klen);
    }
}

void p11_options_parse(p11_options *o, const char *s, size_t max_len)
{
    size_t i = 0;
    char val[4096];

    if (!s)
        return;
    while (i < max_len && s[i]) {
        while (i < max_len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == ';'))
            i++;
        if (i >= max_len || !s[i])
            break;
        size_t kstart = i;
        while (i < max_len && s[i] && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
               s[i] != ';')
            i++;
        size_t klen = i - kstart;
        if (i >= max_len || s[i] != '=') {
            note(o->bad, sizeof(o->bad), s + kstart, klen > 32 ? 32 : klen);
            continue;
        }
        i++; /* '=' */
        size_t vlen = 0;
        bool overflow = false;
        if (i < max_len && (s[i] == '\'' || s[i] == '"')) {
            char q = s[i++];
            while (i < max_len && s[i] && s[i] != q) {
                if (vlen < sizeof(val) - 1)
                    val[vlen++] = s[i];
                else
                    overflow = true;
                i++;
            }
            if (i < max_len && s[i] == q)
                i++;
        } else {
            while (i < max_len && s[i] && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
                   s[i] != ';') {
                if (vlen < sizeof(val) - 1)
                    val[vlen++] = s[i];
                else
                    overflow = true;
                i++;
            }
        }
        val[vlen] = '\0';
        if (overflow || klen == 0) {
            note(o->bad, sizeof(o->bad), s + kstart, klen > 32 ? 32 : klen);
            continue;
        }
        apply(o, s + kstart, klen, val);
    }
}

/* Keys of the [module] section a stronger source already decides: the key's own
 * environment variable, or home= (the file lives in the home). */
static bool conf_key_yields(const char *key)
{
    static const struct {
        const char *key, *env;
    } own[] = {{"trace", "VTOKEN_TRACE"},
               {"p12_path", "VTOKEN_P12_PATH"},
               {"p12_rule", "VTOKEN_P12_RULE"}};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        const char *v = getenv(own[i].env);
        if (strcmp(key, own[i].key) == 0)
            return v != NULL && *v != '\0';
    }
    return false;
}

/* The [module] section of the vtoken.conf of home_opt (NULL: $VTOKEN_HOME's). */
static void apply_conf(p11_options *o, const char *home_opt)
{
    char home[4096], path[4200];
    ks_config *c = NULL;
    char *err = NULL;

    if (sim_home_resolve(home_opt, home, sizeof(home)) != SIM_OK ||
        (size_t)snprintf(path, sizeof(path), "%s/vtoken.conf", home) >= sizeof(path))
        return;
    ks_status st = ks_config_load(path, &c, &err);
    if (st != KS_OK) {
        if (st != KS_ERR_NOT_FOUND)
            note(o->bad, sizeof(o->bad), "vtoken.conf", strlen("vtoken.conf"));
        free(err);
        return;
    }
    size_t sec = ks_config_find(c, "module", NULL);
    for (size_t j = 0; sec != (size_t)-1 && j < ks_config_key_count(c, sec); j++) {
        const char *val = NULL;
        const char *key = ks_config_key_at(c, sec, j, &val);
        if (key == NULL || val == NULL)
            continue;
        if (strcmp(key, "home") == 0)
            note(o->bad, sizeof(o->bad), key, strlen(key));
        else if (!conf_key_yields(key))
            apply(o, key, strlen(key), val);
    }
    ks_config_free(c);
}

void p11_options_load(p11_options *o, const char *preserved)
{
    const char *env = getenv("VTOKEN_OPTIONS");
    p11_options named;

    /* Which home's vtoken.conf: the one the stronger sources name. */
    p11_options_defaults(&named);
    p11_options_parse(&named, env, OPTIONS_MAX_LEN);
    p11_options_parse(&named, preserved, OPTIONS_MAX_LEN);

    p11_options_defaults(o);
    apply_conf(o, named.home[0] ? named.home : NULL);
    p11_options_parse(o, env, OPTIONS_MAX_LEN);
    p11_options_parse(o, preserved, OPTIONS_MAX_LEN);
}
