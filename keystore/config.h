/* vtoken.conf: a small INI dialect.
 *
 *   # comment            ; comment
 *   [section]            [section name]     (a typed section with an optional name)
 *   key = value          values run to end of line, surrounding blanks trimmed
 *
 * Parsing is strict: a malformed line is an error naming the file and line. Keys outside
 * any section belong to the unnamed top section (type ""). Order is preserved.
 *
 * Section 0 is always that top section (it exists even when empty); sections 1.. are
 * the headers in file order. Types, names and keys are words of letters, digits,
 * '_', '-' and '.'. A named section may appear once per type ("[token a]" twice is an
 * error); unnamed sections of one type may repeat. A key may appear once per section.
 * Lines end in LF or CRLF; NULs and other control characters (except tab) are errors.
 * Handles are not thread-safe. */
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

/* Keys of section i in file order: key j, with its value in *value when non-NULL.
 * NULL when out of range. */
size_t ks_config_key_count(const ks_config *c, size_t i);
const char *ks_config_key_at(const ks_config *c, size_t i, size_t j, const char **value);

/* Editing, for tools that add tokens or change settings. */
/* Append a section and return its index; (size_t)-1 when type or name is not a word,
 * a section with that type and (non-empty) name exists, or memory runs out.
 * Type "" (with no name) returns 0, the top section. */
size_t ks_config_add_section(ks_config *c, const char *type, const char *name);
/* Set (or, with value NULL, remove) a key. KS_ERR_ARGS when the key is not a word or
 * the value would not survive a round trip (line breaks, leading/trailing blanks). */
ks_status ks_config_set(ks_config *c, size_t i, const char *key, const char *value);
/* Remove section i (not the top section 0); later sections move down by one. */
ks_status ks_config_remove_section(ks_config *c, size_t i);
/* Serialise and replace the file atomically (comments are not preserved). A new file
 * gets mode 0644; an existing one keeps its mode. */
ks_status ks_config_save(const ks_config *c, const char *path);

#endif
