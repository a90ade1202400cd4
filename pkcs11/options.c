/* Parser for the module option string. Tolerant by design: a client's parameter
 * string written for another module must never stop ours from loading. */
#include "options.h"

#include <stdio.h>
#include <string.h>

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
