/* Fault plans as files: the text format (strict parse, canonical format), where a card's
 * plan lives, and read-modify-write under the card's image lock so that `vtoken fault`
 * and every engine serving the card see one consistent plan. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_int.h"
#include "vt_util.h"

#define PLAN_MAGIC   "vtoken-faults"
#define LINE_MAX_LEN 256u
#define MAX_WORDS    12u

const char *sim_fault_kind_name(sim_fault_kind k)
{
    switch (k) {
    case SIM_FAULT_SW:
        return "sw";
    case SIM_FAULT_TEAR:
        return "tear";
    case SIM_FAULT_LATENCY:
        return "latency";
    case SIM_FAULT_REMOVE:
        return "remove";
    }
    return "?";
}

const char *sim_fault_step_name(sim_fault_step s)
{
    switch (s) {
    case SIM_TEAR_WRITE:
        return "write";
    case SIM_TEAR_FSYNC:
        return "fsync";
    case SIM_TEAR_RENAME:
        return "rename";
    }
    return "?";
}

bool sim_fault_step_parse(const char *s, sim_fault_step *out)
{
    static const sim_fault_step steps[] = {SIM_TEAR_WRITE, SIM_TEAR_FSYNC, SIM_TEAR_RENAME};
    for (size_t i = 0; i < VT_ARRAY_LEN(steps); i++) {
        if (strcmp(s, sim_fault_step_name(steps[i])) == 0) {
            *out = steps[i];
            return true;
        }
    }
    return false;
}

bool sim_fault_active(const sim_fault *f)
{
    switch (f->kind) {
    case SIM_FAULT_SW:
        return f->repeat || f->fired == 0;
    case SIM_FAULT_TEAR:
        return f->fired == 0;
    case SIM_FAULT_LATENCY:
    case SIM_FAULT_REMOVE:
        return true; /* a fired REMOVE keeps the card out */
    }
    return false;
}

/* SW1 of a status word a card may send: 61..6F or 90..9F (60 is a procedure byte). */
static bool sw_sendable(uint16_t sw)
{
    uint8_t sw1 = (uint8_t)(sw >> 8);
    return (sw1 >= 0x61 && sw1 <= 0x6F) || (sw1 >= 0x90 && sw1 <= 0x9F);
}

bool sim_fault_valid(const sim_fault *f, char *why, size_t cap)
{
    const char *bad = NULL;
    if (f->ins < SIM_FAULT_ANY_INS || f->ins > 0xFF)
        bad = "INS must be one byte";
    else if (f->seen >= SIM_FAULT_MAX_COUNT || f->fired >= SIM_FAULT_MAX_COUNT)
        bad = "counter out of range";
    switch (f->kind) {
    case SIM_FAULT_SW:
        if (!sw_sendable(f->sw))
            bad = "status word must be 61xx-6Fxx or 90xx-9Fxx";
        else if (f->nth == 0 || f->nth >= SIM_FAULT_MAX_COUNT)
            bad = "nth must be 1 or more";
        break;
    case SIM_FAULT_TEAR:
        if (f->nth == 0 || f->nth >= SIM_FAULT_MAX_COUNT)
            bad = "nth must be 1 or more";
        else if (f->step != SIM_TEAR_WRITE && f->step != SIM_TEAR_FSYNC &&
                 f->step != SIM_TEAR_RENAME)
            bad = "unknown tear step";
        break;
    case SIM_FAULT_LATENCY:
        if (f->ms == 0 || f->ms > SIM_FAULT_MAX_LATENCY_MS)
            bad = "latency must be 1 ms to 600000 ms";
        break;
    case SIM_FAULT_REMOVE:
        if (f->nth >= SIM_FAULT_MAX_COUNT)
            bad = "APDU count out of range";
        else if (f->ins != SIM_FAULT_ANY_INS)
            bad = "a removal counts every APDU (no INS)";
        break;
    default:
        bad = "unknown fault kind";
    }
    if (bad != NULL && why != NULL)
        snprintf(why, cap, "%s", bad);
    return bad == NULL;
}

/* ---- path ---------------------------------------------------------------------------- */

sim_status sim_fault_plan_path(const char *image_path, char *out, size_t cap)
{
    size_t n;
    int w;
    if (image_path == NULL || *image_path == '\0' || out == NULL)
        return SIM_ERR_ARGS;
    n = strlen(image_path);
    if (n > 4 && strcmp(image_path + n - 4, ".img") == 0)
        n -= 4;
    w = snprintf(out, cap, "%.*s.faults", (int)n, image_path);
    return w > 0 && (size_t)w < cap ? SIM_OK : SIM_ERR_ARGS;
}

/* ---- parse ----------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static sim_status
parse_error(char *why, size_t cap, unsigned line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (why != NULL)
        snprintf(why, cap, "line %u: %s", line, msg);
    return SIM_ERR_CONFIG;
}

static bool parse_hex(const char *s, size_t digits, unsigned *out)
{
    unsigned v = 0;
    if (strlen(s) != digits)
        return false;
    for (size_t i = 0; i < digits; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

static bool parse_ins(const char *s, int *out)
{
    unsigned v;
    if (strcmp(s, "any") == 0) {
        *out = SIM_FAULT_ANY_INS;
        return true;
    }
    if (!parse_hex(s, 2, &v))
        return false;
    *out = (int)v;
    return true;
}

/* Split line (modified in place) at blanks. */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

/* The positional argument of a fault line: what each kind is about. */
static sim_status parse_positional(sim_fault *f, const char *arg, unsigned line, char *why,
                                   size_t cap)
{
    unsigned v;
    switch (f->kind) {
    case SIM_FAULT_SW:
        if (!parse_hex(arg, 4, &v))
            return parse_error(why, cap, line, "status word '%s' is not 4 hex digits", arg);
        f->sw = (uint16_t)v;
        return SIM_OK;
    case SIM_FAULT_TEAR:
        if (!sim_fault_step_parse(arg, &f->step))
            return parse_error(why, cap, line, "tear step '%s' is not write, fsync or rename", arg);
        return SIM_OK;
    case SIM_FAULT_LATENCY:
        if (!vt_parse_u32(arg, SIM_FAULT_MAX_LATENCY_MS, &f->ms))
            return parse_error(why, cap, line, "latency '%s' is not 1-600000 (ms)", arg);
        return SIM_OK;
    case SIM_FAULT_REMOVE:
        if (!vt_parse_u32(arg, SIM_FAULT_MAX_COUNT - 1, &f->nth))
            return parse_error(why, cap, line, "APDU count '%s' is not a number", arg);
        return SIM_OK;
    }
    return parse_error(why, cap, line, "unknown fault kind");
}

static sim_status parse_key(sim_fault *f, const char *word, unsigned *seen_keys, unsigned line,
                            char *why, size_t cap)
{
    static const char *const keys[] = {"nth", "ins", "repeat", "seen", "fired"};
    const char *eq = strchr(word, '=');
    const char *val;
    size_t klen, k;

    if (eq == NULL)
        return parse_error(why, cap, line, "'%s' is not key=value", word);
    klen = (size_t)(eq - word);
    val = eq + 1;
    for (k = 0; k < VT_ARRAY_LEN(keys); k++)
        if (strlen(keys[k]) == klen && strncmp(word, keys[k], klen) == 0)
            break;
    if (k == VT_ARRAY_LEN(keys))
        return parse_error(why, cap, line, "unknown key '%.*s'", (int)klen, word);
    if (*seen_keys & (1u << k))
        return parse_error(why, cap, line, "key '%s' given twice", keys[k]);
    *seen_keys |= 1u << k;
    /* Keys that mean nothing for a kind are refused, so a typo cannot pass silently. */
    if ((k == 0 && f->kind != SIM_FAULT_SW && f->kind != SIM_FAULT_TEAR) ||
        (k == 1 && f->kind == SIM_FAULT_REMOVE) || (k == 2 && f->kind != SIM_FAULT_SW) ||
        (k == 3 && f->kind == SIM_FAULT_LATENCY))
        return parse_error(why, cap, line, "key '%s' does not apply to a %s fault", keys[k],
                           sim_fault_kind_name(f->kind));
    switch (k) {
    case 0:
        if (!vt_parse_u32(val, SIM_FAULT_MAX_COUNT - 1, &f->nth) || f->nth == 0)
            return parse_error(why, cap, line, "nth '%s' is not a number from 1", val);
        break;
    case 1:
        if (!parse_ins(val, &f->ins))
            return parse_error(why, cap, line, "ins '%s' is not 2 hex digits or 'any'", val);
        break;
    case 2:
        if (strcmp(val, "yes") != 0 && strcmp(val, "no") != 0)
            return parse_error(why, cap, line, "repeat '%s' is not yes or no", val);
        f->repeat = strcmp(val, "yes") == 0;
        break;
    case 3:
        if (!vt_parse_u32(val, SIM_FAULT_MAX_COUNT - 1, &f->seen))
            return parse_error(why, cap, line, "seen '%s' is not a number", val);
        break;
    default:
        if (!vt_parse_u32(val, SIM_FAULT_MAX_COUNT - 1, &f->fired))
            return parse_error(why, cap, line, "fired '%s' is not a number", val);
        break;
    }
    return SIM_OK;
}

static sim_status parse_fault(char **words, size_t n, sim_fault *f, unsigned line, char *why,
                              size_t cap)
{
    static const sim_fault_kind kinds[] = {SIM_FAULT_SW, SIM_FAULT_TEAR, SIM_FAULT_LATENCY,
                                           SIM_FAULT_REMOVE};
    unsigned seen_keys = 0;
    char detail[160];
    sim_status rv;
    size_t k;

    memset(f, 0, sizeof(*f));
    f->ins = SIM_FAULT_ANY_INS;
    f->nth = 1;
    f->step = SIM_TEAR_RENAME;
    for (k = 0; k < VT_ARRAY_LEN(kinds); k++)
        if (strcmp(words[0], sim_fault_kind_name(kinds[k])) == 0)
            break;
    if (k == VT_ARRAY_LEN(kinds))
        return parse_error(why, cap, line, "unknown fault '%s' (sw, tear, latency, remove)",
                           words[0]);
    f->kind = kinds[k];
    if (n < 2)
        return parse_error(why, cap, line, "%s needs an argument", words[0]);
    rv = parse_positional(f, words[1], line, why, cap);
    for (size_t i = 2; rv == SIM_OK && i < n; i++)
        rv = parse_key(f, words[i], &seen_keys, line, why, cap);
    if (rv != SIM_OK)
        return rv;
    if (!sim_fault_valid(f, detail, sizeof(detail)))
        return parse_error(why, cap, line, "%s", detail);
    return SIM_OK;
}

sim_status sim_fault_plan_parse(const char *text, size_t len, sim_fault_plan *plan, char *why,
                                size_t cap)
{
    char buf[LINE_MAX_LEN + 1];
    char *words[MAX_WORDS];
    bool have_header = false;
    unsigned line = 0;
    size_t pos = 0;

    if (plan == NULL || (text == NULL && len > 0))
        return SIM_ERR_ARGS;
    memset(plan, 0, sizeof(*plan));
    if (len > SIM_FAULT_PLAN_MAX_SIZE)
        return parse_error(why, cap, 0, "plan larger than %u bytes", SIM_FAULT_PLAN_MAX_SIZE);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        size_t n;
        line++;
        if (l > LINE_MAX_LEN)
            return parse_error(why, cap, line, "line longer than %u bytes", LINE_MAX_LEN);
        memcpy(buf, text + pos, l);
        buf[l] = '\0';
        pos += l + (nl != NULL ? 1 : 0);
        if (memchr(buf, '\0', l) != NULL)
            return parse_error(why, cap, line, "NUL byte");
        if (l > 0 && buf[l - 1] == '\r')
            buf[--l] = '\0';
        n = split_words(buf, words, MAX_WORDS);
        if (n == 0 || words[0][0] == '#')
            continue;
        if (n > MAX_WORDS)
            return parse_error(why, cap, line, "too many words");
        if (!have_header) {
            uint32_t version;
            if (strcmp(words[0], PLAN_MAGIC) != 0 || n != 2 ||
                !vt_parse_u32(words[1], UINT32_MAX - 1, &version))
                return parse_error(why, cap, line, "not a fault plan (no '%s 1' line)", PLAN_MAGIC);
            if (version != SIM_FAULT_PLAN_VERSION)
                return parse_error(why, cap, line, "plan version %u is from a newer vtoken",
                                   version);
            have_header = true;
            continue;
        }
        if (plan->n == SIM_FAULT_MAX)
            return parse_error(why, cap, line, "more than %d faults", SIM_FAULT_MAX);
        sim_status rv = parse_fault(words, n, &plan->f[plan->n], line, why, cap);
        if (rv != SIM_OK) {
            memset(plan, 0, sizeof(*plan));
            return rv;
        }
        plan->n++;
    }
    if (!have_header)
        return parse_error(why, cap, line, "not a fault plan (no '%s 1' line)", PLAN_MAGIC);
    return SIM_OK;
}

/* ---- format ---------------------------------------------------------------------------- */

sim_status sim_fault_plan_format(const sim_fault_plan *plan, vt_buf *out)
{
    static const char head[] =
        "# vtoken fault plan: `vtoken fault TOKEN` writes it, the card engine advances the\n"
        "# counters. `vtoken fault TOKEN --clear` (or deleting this file) disarms it.\n" PLAN_MAGIC
        " 1\n";
    char line[LINE_MAX_LEN];
    char ins[8];

    if (plan == NULL || out == NULL || plan->n > SIM_FAULT_MAX)
        return SIM_ERR_ARGS;
    vt_buf_append(out, head, sizeof(head) - 1);
    for (size_t i = 0; i < plan->n; i++) {
        const sim_fault *f = &plan->f[i];
        int w = 0;
        if (f->ins == SIM_FAULT_ANY_INS)
            snprintf(ins, sizeof(ins), "any");
        else
            snprintf(ins, sizeof(ins), "%02X", (unsigned)f->ins & 0xFFu);
        switch (f->kind) {
        case SIM_FAULT_SW:
            w = snprintf(line, sizeof(line), "sw %04X nth=%u ins=%s repeat=%s seen=%u fired=%u\n",
                         (unsigned)f->sw, f->nth, ins, f->repeat ? "yes" : "no", f->seen, f->fired);
            break;
        case SIM_FAULT_TEAR:
            w = snprintf(line, sizeof(line), "tear %s nth=%u ins=%s seen=%u fired=%u\n",
                         sim_fault_step_name(f->step), f->nth, ins, f->seen, f->fired);
            break;
        case SIM_FAULT_LATENCY:
            w = snprintf(line, sizeof(line), "latency %u ins=%s fired=%u\n", f->ms, ins, f->fired);
            break;
        case SIM_FAULT_REMOVE:
            w = snprintf(line, sizeof(line), "remove %u seen=%u fired=%u\n", f->nth, f->seen,
                         f->fired);
            break;
        }
        if (w <= 0 || (size_t)w >= sizeof(line))
            return SIM_ERR_ARGS;
        vt_buf_append(out, line, (size_t)w);
    }
    return out->oom ? SIM_ERR_NOMEM : SIM_OK;
}

sim_status sim_fault_plan_add(sim_fault_plan *plan, const sim_fault *f, char *why, size_t cap)
{
    sim_fault nf;
    if (plan == NULL || f == NULL)
        return SIM_ERR_ARGS;
    nf = *f;
    nf.seen = 0;
    nf.fired = 0;
    if (!sim_fault_valid(&nf, why, cap))
        return SIM_ERR_ARGS;
    if (nf.kind == SIM_FAULT_LATENCY) {
        for (size_t i = 0; i < plan->n; i++) {
            if (plan->f[i].kind == SIM_FAULT_LATENCY && plan->f[i].ins == nf.ins) {
                plan->f[i] = nf;
                return SIM_OK;
            }
        }
    }
    if (plan->n == SIM_FAULT_MAX) {
        if (why != NULL)
            snprintf(why, cap, "the plan already holds %d faults", SIM_FAULT_MAX);
        return SIM_ERR_ARGS;
    }
    plan->f[plan->n++] = nf;
    return SIM_OK;
}

/* ---- files under the image lock --------------------------------------------------------- */

sim_status sim_fault_plan_load(const char *path, sim_fault_plan *plan, char *why, size_t cap)
{
    vt_buf buf = {0};
    ks_status st;
    sim_status rv;

    memset(plan, 0, sizeof(*plan));
    st = ks_read_file(path, SIM_FAULT_PLAN_MAX_SIZE, &buf);
    if (st == KS_ERR_NOT_FOUND) {
        rv = SIM_OK;
        goto out;
    }
    if (st != KS_OK) {
        if (why != NULL)
            snprintf(why, cap, "%s: %s", path, ks_strerror(st));
        rv = st == KS_ERR_CORRUPT ? SIM_ERR_CONFIG : SIM_ERR_IO;
        goto out;
    }
    rv = sim_fault_plan_parse((const char *)buf.data, buf.len, plan, why, cap);
out:
    vt_buf_free(&buf);
    return rv;
}

sim_status sim_fault_plan_store(const char *path, const sim_fault_plan *plan)
{
    vt_buf text = {0};
    sim_status rv;
    if (plan->n == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            return SIM_ERR_IO;
        return SIM_OK;
    }
    rv = sim_fault_plan_format(plan, &text);
    if (rv == SIM_OK)
        rv = sim_from_ks(ks_atomic_write(path, text.data, text.len, 0600));
    vt_buf_free(&text);
    return rv;
}

/* Lock the image of image_path, run fn on its plan (when fn is NULL, just read it). */
static sim_status with_plan(const char *image_path, bool exclusive, sim_fault_edit_fn fn, void *arg,
                            sim_fault_plan *plan, char *why, size_t cap)
{
    char path[PATH_MAX];
    ks_image_file *f = NULL;
    bool locked = false;
    sim_status rv;

    memset(plan, 0, sizeof(*plan));
    if (why != NULL && cap > 0)
        why[0] = '\0';
    rv = sim_fault_plan_path(image_path, path, sizeof(path));
    if (rv != SIM_OK)
        return rv;
    rv = sim_from_ks(ks_image_file_open(image_path, &f));
    if (rv != SIM_OK)
        goto out;
    rv = sim_from_ks(ks_image_file_lock(f, exclusive));
    if (rv != SIM_OK) {
        if (why != NULL)
            snprintf(why, cap, "%s", ks_image_file_error(f));
        goto out;
    }
    locked = true;
    rv = sim_fault_plan_load(path, plan, why, cap);
    if (rv != SIM_OK || fn == NULL)
        goto out;
    rv = fn(plan, arg);
    if (rv != SIM_OK)
        goto out;
    rv = sim_fault_plan_store(path, plan);
    if (rv != SIM_OK && why != NULL)
        snprintf(why, cap, "%s: cannot write: %s", path, strerror(errno));
out:
    if (locked)
        ks_image_file_unlock(f);
    ks_image_file_close(f);
    return rv;
}

sim_status sim_fault_plan_edit(const char *image_path, sim_fault_edit_fn fn, void *arg, char *why,
                               size_t cap)
{
    sim_fault_plan plan;
    if (image_path == NULL || fn == NULL)
        return SIM_ERR_ARGS;
    return with_plan(image_path, true, fn, arg, &plan, why, cap);
}

sim_status sim_fault_plan_read(const char *image_path, sim_fault_plan *plan, char *why, size_t cap)
{
    if (image_path == NULL || plan == NULL)
        return SIM_ERR_ARGS;
    return with_plan(image_path, false, NULL, NULL, plan, why, cap);
}
