/* vtoken.conf: a strict INI parser that reports "file:line: reason", keeps sections
 * and keys in file order, and saves atomically. Section 0 is always the unnamed top
 * section (type ""), which holds keys that come before the first header. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KS_CONFIG_MAX_SIZE ((size_t)1024 * 1024)

typedef struct ks_config_kv {
    char *key;
    char *value;
} ks_config_kv;

typedef struct ks_config_section {
    char *type;
    char *name;
    ks_config_kv *kv;
    size_t nkv;
} ks_config_section;

struct ks_config {
    ks_config_section *sec;
    size_t nsec;
};

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static bool is_word(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_word_char(s[i]))
            return false;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A value survives a save/load round trip only without line breaks, NULs or
 * surrounding blanks (the parser trims them). */
static bool is_value(const char *v)
{
    size_t n = strlen(v);
    if (n > 0 && (is_blank(v[0]) || is_blank(v[n - 1])))
        return false;
    return strpbrk(v, "\r\n") == NULL;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void section_free(ks_config_section *s)
{
    for (size_t j = 0; j < s->nkv; j++) {
        free(s->kv[j].key);
        free(s->kv[j].value);
    }
    free(s->kv);
    free(s->type);
    free(s->name);
}

void ks_config_free(ks_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nsec; i++)
        section_free(&c->sec[i]);
    free(c->sec);
    free(c);
}

static size_t push_section(ks_config *c, const char *type, size_t tlen, const char *name,
                           size_t nlen)
{
    ks_config_section *grown = realloc(c->sec, (c->nsec + 1) * sizeof(*grown));
    if (grown == NULL)
        return (size_t)-1;
    c->sec = grown;
    ks_config_section *s = &c->sec[c->nsec];
    memset(s, 0, sizeof(*s));
    s->type = dup_n(type, tlen);
    s->name = dup_n(name, nlen);
    if (s->type == NULL || s->name == NULL) {
        section_free(s);
        return (size_t)-1;
    }
    return c->nsec++;
}

ks_config *ks_config_new(void)
{
    ks_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    if (push_section(c, "", 0, "", 0) != 0) {
        ks_config_free(c);
        return NULL;
    }
    return c;
}

size_t ks_config_section_count(const ks_config *c)
{
    return c != NULL ? c->nsec : 0;
}

const char *ks_config_section_type(const ks_config *c, size_t i)
{
    return c != NULL && i < c->nsec ? c->sec[i].type : NULL;
}

const char *ks_config_section_name(const ks_config *c, size_t i)
{
    return c != NULL && i < c->nsec ? c->sec[i].name : NULL;
}

static ks_config_kv *find_kv(const ks_config_section *s, const char *key)
{
    for (size_t j = 0; j < s->nkv; j++)
        if (strcmp(s->kv[j].key, key) == 0)
            return &s->kv[j];
    return NULL;
}

const char *ks_config_get(const ks_config *c, size_t i, const char *key)
{
    if (c == NULL || i >= c->nsec || key == NULL)
        return NULL;
    ks_config_kv *kv = find_kv(&c->sec[i], key);
    return kv != NULL ? kv->value : NULL;
}

size_t ks_config_key_count(const ks_config *c, size_t i)
{
    return c != NULL && i < c->nsec ? c->sec[i].nkv : 0;
}

const char *ks_config_key_at(const ks_config *c, size_t i, size_t j, const char **value)
{
    if (c == NULL || i >= c->nsec || j >= c->sec[i].nkv)
        return NULL;
    if (value != NULL)
        *value = c->sec[i].kv[j].value;
    return c->sec[i].kv[j].key;
}

size_t ks_config_find(const ks_config *c, const char *type, const char *name)
{
    if (c == NULL || type == NULL)
        return (size_t)-1;
    for (size_t i = 0; i < c->nsec; i++)
        if (strcmp(c->sec[i].type, type) == 0 &&
            (name == NULL || strcmp(c->sec[i].name, name) == 0))
            return i;
    return (size_t)-1;
}

static bool named_exists(const ks_config *c, const char *type, size_t tlen, const char *name,
                         size_t nlen)
{
    if (nlen == 0)
        return false;
    for (size_t i = 0; i < c->nsec; i++)
        if (strlen(c->sec[i].type) == tlen && memcmp(c->sec[i].type, type, tlen) == 0 &&
            strlen(c->sec[i].name) == nlen && memcmp(c->sec[i].name, name, nlen) == 0)
            return true;
    return false;
}

size_t ks_config_add_section(ks_config *c, const char *type, const char *name)
{
    if (c == NULL || type == NULL)
        return (size_t)-1;
    if (name == NULL)
        name = "";
    if (*type == '\0')
        return *name == '\0' ? 0 : (size_t)-1;
    size_t tlen = strlen(type), nlen = strlen(name);
    if (!is_word(type, tlen) || (nlen > 0 && !is_word(name, nlen)))
        return (size_t)-1;
    if (named_exists(c, type, tlen, name, nlen))
        return (size_t)-1;
    return push_section(c, type, tlen, name, nlen);
}

static ks_status set_n(ks_config_section *s, const char *key, size_t klen, const char *value,
                       size_t vlen)
{
    char *v = dup_n(value, vlen);
    if (v == NULL)
        return KS_ERR_NOMEM;
    for (size_t j = 0; j < s->nkv; j++) {
        if (strlen(s->kv[j].key) == klen && memcmp(s->kv[j].key, key, klen) == 0) {
            free(s->kv[j].value);
            s->kv[j].value = v;
            return KS_OK;
        }
    }
    ks_config_kv *grown = realloc(s->kv, (s->nkv + 1) * sizeof(*grown));
    char *k = dup_n(key, klen);
    if (grown != NULL)
        s->kv = grown;
    if (grown == NULL || k == NULL) {
        free(k);
        free(v);
        return KS_ERR_NOMEM;
    }
    s->kv[s->nkv].key = k;
    s->kv[s->nkv].value = v;
    s->nkv++;
    return KS_OK;
}

ks_status ks_config_set(ks_config *c, size_t i, const char *key, const char *value)
{
    if (c == NULL || i >= c->nsec || key == NULL || !is_word(key, strlen(key)))
        return KS_ERR_ARGS;
    ks_config_section *s = &c->sec[i];
    if (value == NULL) {
        ks_config_kv *kv = find_kv(s, key);
        if (kv == NULL)
            return KS_OK;
        size_t j = (size_t)(kv - s->kv);
        free(kv->key);
        free(kv->value);
        memmove(&s->kv[j], &s->kv[j + 1], (s->nkv - j - 1) * sizeof(*s->kv));
        s->nkv--;
        return KS_OK;
    }
    if (!is_value(value))
        return KS_ERR_ARGS;
    return set_n(s, key, strlen(key), value, strlen(value));
}

ks_status ks_config_remove_section(ks_config *c, size_t i)
{
    if (c == NULL || i == 0 || i >= c->nsec)
        return KS_ERR_ARGS;
    section_free(&c->sec[i]);
    memmove(&c->sec[i], &c->sec[i + 1], (c->nsec - i - 1) * sizeof(*c->sec));
    c->nsec--;
    return KS_OK;
}

/* ---- parsing ------------------------------------------------------------------ */

static void set_err(char **err, const char *name, size_t line, const char *why)
{
    if (err == NULL)
        return;
    free(*err);
    *err = NULL;
    int n = snprintf(NULL, 0, "%s:%zu: %s", name, line, why);
    if (n < 0)
        return;
    *err = malloc((size_t)n + 1);
    if (*err != NULL)
        snprintf(*err, (size_t)n + 1, "%s:%zu: %s", name, line, why);
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && is_blank(**b))
        (*b)++;
    while (*e > *b && is_blank((*e)[-1]))
        (*e)--;
}

/* One non-blank, non-comment line. Returns NULL on success or the reason. */
static const char *parse_line(ks_config *c, size_t *cur, const char *b, const char *e,
                              ks_status *rv)
{
    *rv = KS_ERR_CORRUPT;
    if (*b == '[') {
        if (e[-1] != ']')
            return "section header must end with ']'";
        const char *tb = b + 1, *ne = e - 1;
        trim(&tb, &ne);
        const char *te = tb;
        while (te < ne && !is_blank(*te))
            te++;
        const char *nb = te;
        trim(&nb, &ne);
        if (te == tb)
            return "empty section header";
        if (!is_word(tb, (size_t)(te - tb)))
            return "section type may hold only letters, digits, '_', '-' and '.'";
        for (const char *p = nb; p < ne; p++)
            if (is_blank(*p))
                return "section header has more than a type and a name";
        if (nb < ne && !is_word(nb, (size_t)(ne - nb)))
            return "section name may hold only letters, digits, '_', '-' and '.'";
        if (named_exists(c, tb, (size_t)(te - tb), nb, (size_t)(ne - nb)))
            return "duplicate section";
        size_t i = push_section(c, tb, (size_t)(te - tb), nb, (size_t)(ne - nb));
        if (i == (size_t)-1) {
            *rv = KS_ERR_NOMEM;
            return "out of memory";
        }
        *cur = i;
        *rv = KS_OK;
        return NULL;
    }
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (eq == NULL)
        return "expected key = value";
    const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
    trim(&kb, &ke);
    trim(&vb, &ve);
    if (kb == ke)
        return "missing key before '='";
    if (!is_word(kb, (size_t)(ke - kb)))
        return "key may hold only letters, digits, '_', '-' and '.'";
    ks_config_section *s = &c->sec[*cur];
    for (size_t j = 0; j < s->nkv; j++)
        if (strlen(s->kv[j].key) == (size_t)(ke - kb) &&
            memcmp(s->kv[j].key, kb, (size_t)(ke - kb)) == 0)
            return "duplicate key in section";
    *rv = set_n(s, kb, (size_t)(ke - kb), vb, (size_t)(ve - vb));
    return *rv == KS_OK ? NULL : "out of memory";
}

ks_status ks_config_parse(const char *text, size_t len, const char *name, ks_config **out,
                          char **err)
{
    ks_config *c = NULL;
    ks_status rv = KS_OK;
    size_t cur = 0, line = 0;
    const char *p, *end;

    if (err != NULL)
        *err = NULL;
    if ((text == NULL && len > 0) || out == NULL)
        return KS_ERR_ARGS;
    *out = NULL;
    if (name == NULL)
        name = "<config>";
    c = ks_config_new();
    if (c == NULL)
        return KS_ERR_NOMEM;
    if (len > 0 && memchr(text, '\0', len) != NULL) {
        const char *nul = memchr(text, '\0', len);
        for (const char *q = text; q < nul; q++)
            line += *q == '\n';
        set_err(err, name, line + 1, "NUL byte in configuration");
        rv = KS_ERR_CORRUPT;
        goto out;
    }
    p = text;
    end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl != NULL ? nl : end;
        p = nl != NULL ? nl + 1 : end;
        line++;
        if (e > b && e[-1] == '\r')
            e--;
        trim(&b, &e);
        if (b == e || *b == '#' || *b == ';')
            continue;
        for (const char *q = b; q < e; q++) {
            if ((unsigned char)*q < 0x20 && *q != '\t') {
                set_err(err, name, line, "control character in line");
                rv = KS_ERR_CORRUPT;
                goto out;
            }
        }
        const char *why = parse_line(c, &cur, b, e, &rv);
        if (why != NULL) {
            set_err(err, name, line, why);
            goto out;
        }
    }
out:
    if (rv != KS_OK) {
        ks_config_free(c);
        return rv;
    }
    *out = c;
    return KS_OK;
}

ks_status ks_config_load(const char *path, ks_config **out, char **err)
{
    vt_buf buf = {0};
    ks_status rv;

    if (err != NULL)
        *err = NULL;
    if (path == NULL || out == NULL)
        return KS_ERR_ARGS;
    *out = NULL;
    rv = ks_read_file(path, KS_CONFIG_MAX_SIZE, &buf);
    if (rv == KS_ERR_CORRUPT) {
        set_err(err, path, 0, "file too large for a configuration");
        goto out;
    }
    if (rv != KS_OK)
        goto out;
    rv = ks_config_parse((const char *)buf.data, buf.len, path, out, err);
out:
    vt_buf_free(&buf);
    return rv;
}

static bool append_str(vt_buf *b, const char *s)
{
    return vt_buf_append(b, s, strlen(s));
}

ks_status ks_config_save(const ks_config *c, const char *path)
{
    vt_buf b = {0};
    ks_status rv;

    if (c == NULL || path == NULL)
        return KS_ERR_ARGS;
    for (size_t i = 0; i < c->nsec; i++) {
        const ks_config_section *s = &c->sec[i];
        if (i > 0) {
            if (b.len > 0)
                append_str(&b, "\n");
            append_str(&b, "[");
            append_str(&b, s->type);
            if (*s->name != '\0') {
                append_str(&b, " ");
                append_str(&b, s->name);
            }
            append_str(&b, "]\n");
        }
        for (size_t j = 0; j < s->nkv; j++) {
            append_str(&b, s->kv[j].key);
            append_str(&b, " = ");
            append_str(&b, s->kv[j].value);
            append_str(&b, "\n");
        }
    }
    if (b.oom) {
        rv = KS_ERR_NOMEM;
        goto out;
    }
    /* A configuration holds no secrets: new files are world-readable, existing ones
     * keep whatever permissions their owner gave them. */
    struct stat st;
    unsigned mode = lstat(path, &st) == 0 && S_ISREG(st.st_mode) ? KS_MODE_KEEP : 0644u;
    rv = ks_atomic_write(path, b.data, b.len, mode);
out:
    vt_buf_free(&b);
    return rv;
}
