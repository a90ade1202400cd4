/* vtoken.conf: a small INI dialect.
 *
 *   # comment            ; comment
 *   [section]            [section name]     (a typed section with an optional name)
 *   key = value          values run to end of line, surrounding blanks trimmed
 *
 * Parsing is strict: a malformed line is an error naming the file and line. Keys outside
 * any section belong to the unnamed top section (type ""). Order is preserved. */
#ifndef KS_CONFIG_H
#define KS_CONFIG_H

#include "ks.h"

typedef struct ks_config ks_config;

/* Parse a file. KS_ERR_NOT_FOUND when absent; KS_ERR_CORRUPT with a message such as
 * "vtoken.conf:12: expected key = value" in *err (caller frees). */
ks_status ks_config_load(const char *path, ks_config **out, char **err);
ks_status ks_config_parse(const char *text, size_t len, const char *name, ks_config **out,
                          char **err);
ks_config *ks_config_new(void);
void ks_config_free(ks_config *c);

size_t ks_config_section_count(const ks_config *c);
const char *ks_config_section_type(const ks_config *c, size_t i); /* "token" */
const char *ks_config_section_name(const ks_config *c, size_t i); /* "kaztoken" or "" */
/* Value of key in section i, or NULL. */
const char *ks_config_get(const ks_config *c, size_t i, const char *key);
/* First section of a type (and name, when non-NULL), or (size_t)-1. */
size_t ks_config_find(const ks_config *c, const char *type, const char *name);

/* Editing, for tools that add tokens or change settings. */
size_t ks_config_add_section(ks_config *c, const char *type, const char *name);
ks_status ks_config_set(ks_config *c, size_t i, const char *key, const char *value);
/* Serialise and replace the file atomically (comments are not preserved). */
ks_status ks_config_save(const ks_config *c, const char *path);

#endif
