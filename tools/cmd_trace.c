/* `vtoken trace FILE`: the module's trace (VTOKEN_TRACE) for people. Each PKCS#11 call
 * with its result, and beneath it the APDUs it exchanged, named as the token's family
 * speaks them (trace_names.c), with decoded status words. The trace writes a call's line
 * after its APDUs, so APDUs wait in a group per (process, call number) until the call's
 * line arrives; calls that never finish are shown at the end. Lines that are not
 * understood are printed as they are. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sw.h"
#include "trace_names.h"
#include "trace_parse.h"
#include "vtoken.h"

static const char trace_help[] =
    "Usage: vtoken trace [--calls-only] [--json] [--since N] [--family NAME] FILE\n"
    "\n"
    "Print a trace of the vtoken PKCS#11 module (written when VTOKEN_TRACE=FILE is set)\n"
    "for people: each PKCS#11 call with its result, and beneath it the APDUs it sent,\n"
    "with the command's name as the token family speaks it (SELECT, VERIFY, PSO: COMPUTE\n"
    "DIGITAL SIGNATURE, eToken's 80 17 GET CHALLENGE, ...) and the status word decoded\n"
    "(\"6A82 file or application not found\"). PIN data stays redacted, as the trace\n"
    "wrote it. Lines it does not understand are printed as they are; a cut last line is\n"
    "marked. FILE '-' reads standard input.\n"
    "\n"
    "The family of each APDU comes from the module's driver lines, from commands only one\n"
    "family sends (its applet's SELECT, proprietary commands) and from the slot or session\n"
    "of the call; --family fixes it.\n"
    "\n"
    "Options:\n"
    "  --calls-only     only the calls, without their APDUs and messages\n"
    "  --json           one JSON object per line: calls (with \"items\": APDUs and\n"
    "                   messages), lines outside calls, and raw lines\n"
    "  --since N        start at call number N of each process (calls are numbered from\n"
    "                   1 in each process, as the trace shows them: #N)\n"
    "  --family NAME    name APDUs as NAME does: kaztoken, etoken or jacarta\n"
    "  -h, --help       this text\n"
    "\n" VTOKEN_EXIT_HELP;

#define HEX_SHOWN_CMD  24u /* bytes of a command shown before "..." */
#define HEX_SHOWN_RESP 16u
#define NAME_WIDTH     34

/* One APDU exchange or message within a call. */
typedef struct tr_item {
    bool is_msg;
    char *msg;
    uint8_t *cmd, *resp;
    size_t cmd_len, resp_len, hidden;
    bool have_cmd, have_resp, cmd_redacted, cmd_trunc, resp_redacted, resp_trunc;
    const char *family;  /* the family that speaks it, or NULL */
    const char *segment; /* the group's driver-line family when the item came */
} tr_item;

/* The lines of one call (or of the lines outside calls), until it is printed. */
typedef struct tr_group {
    long pid, tid;
    unsigned long call;
    char time[25];
    tr_item *items;
    size_t n, cap;
    const char *segment; /* the family of the last driver line: APDUs after it speak so */
} tr_group;

/* What a process's calls taught us: slot -> family, session -> slot. */
typedef struct tr_map {
    long pid;
    bool session;
    unsigned long id, slot;
    const char *family;
} tr_map;

typedef struct tr_run {
    bool json, calls_only;
    unsigned long since;
    const char *family; /* --family */
    tr_group **groups;  /* open groups, oldest first */
    size_t ngroups, capgroups;
    tr_map *maps;
    size_t nmaps, capmaps;
    bool oom;
} tr_run;

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static void *dup_mem(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

static void group_free(tr_group *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->items[i].msg);
        free(g->items[i].cmd);
        free(g->items[i].resp);
    }
    free(g->items);
    free(g);
}

/* ---- printing pieces ------------------------------------------------------------------- */

/* Text from the trace, with control bytes and bytes that are not UTF-8 escaped (\xNN), so
 * a terminal shows them harmlessly. */
static void put_text(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        size_t u = p[i] >= 0x80 ? vtoken_utf8_len(p + i, n - i) : 0;
        if (u > 0) {
            fwrite(p + i, 1, u, stdout);
            i += u - 1;
        } else if ((p[i] < 0x20 && p[i] != '\t') || p[i] >= 0x7F) {
            printf("\\x%02X", p[i]);
        } else {
            putchar(p[i]);
        }
    }
}

static void put_hex(const uint8_t *b, size_t n, size_t shown)
{
    size_t k = n > shown ? shown : n;
    for (size_t i = 0; i < k; i++)
        printf("%s%02X", i ? " " : "", b[i]);
    if (k < n)
        printf(" ... (%zu bytes)", n);
}

static void put_json_hex(const uint8_t *b, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++)
        printf("%02X", b[i]);
    putchar('"');
}

static uint16_t sw_of(const tr_item *it)
{
    return (uint16_t)(it->resp[it->resp_len - 2] << 8 | it->resp[it->resp_len - 1]);
}

static void print_item(const tr_item *it)
{
    char sw[128];
    if (it->is_msg) {
        printf("    * ");
        put_text(it->msg, strlen(it->msg));
        putchar('\n');
        return;
    }
    if (it->have_cmd) {
        const char *from = NULL;
        const char *name = vtoken_apdu_name(it->family, it->cmd, it->cmd_len, &from);
        char label[96];
        if (name == NULL)
            snprintf(label, sizeof(label), "unknown command");
        else if (from != NULL)
            snprintf(label, sizeof(label), "%s (%s)", name, from);
        else
            snprintf(label, sizeof(label), "%s", name);
        printf("    > %-*s ", NAME_WIDTH, label);
        put_hex(it->cmd, it->cmd_len, HEX_SHOWN_CMD);
        if (it->cmd_redacted)
            printf(" [data redacted]");
        if (it->cmd_trunc)
            printf(" [truncated by the trace]");
        putchar('\n');
    }
    if (it->have_resp) {
        apdu_sw_format(sw_of(it), sw, sizeof(sw));
        printf("    < %s", sw);
        if (it->resp_redacted && it->hidden > 0)
            printf("  [%zu bytes redacted]", it->hidden);
        else if (it->resp_len > 2) {
            printf("  [%zu bytes: ", it->resp_len - 2);
            put_hex(it->resp, it->resp_len - 2, HEX_SHOWN_RESP);
            printf("]");
        }
        if (it->resp_trunc)
            printf(" [truncated by the trace]");
        putchar('\n');
    }
}

static void json_item(const tr_item *it)
{
    if (it->is_msg) {
        printf("{\"type\":\"message\",\"text\":");
        vtoken_json_string(stdout, it->msg);
        printf("}");
        return;
    }
    printf("{\"type\":\"apdu\",\"family\":");
    if (it->family != NULL)
        printf("\"%s\"", it->family);
    else
        printf("null");
    if (it->have_cmd) {
        const char *from = NULL;
        const char *name = vtoken_apdu_name(it->family, it->cmd, it->cmd_len, &from);
        printf(",\"command\":");
        put_json_hex(it->cmd, it->cmd_len);
        printf(",\"name\":");
        if (name != NULL)
            vtoken_json_string(stdout, name);
        else
            printf("null");
        printf(",\"name_from\":%s%s%s", from ? "\"" : "", from ? from : "null", from ? "\"" : "");
        printf(",\"command_redacted\":%s,\"command_truncated\":%s",
               it->cmd_redacted ? "true" : "false", it->cmd_trunc ? "true" : "false");
    }
    if (it->have_resp) {
        char sw[8];
        snprintf(sw, sizeof(sw), "%04X", sw_of(it));
        printf(",\"sw\":\"%s\",\"sw_text\":", sw);
        vtoken_json_string(stdout, apdu_sw_text(sw_of(it)));
        printf(",\"response\":");
        put_json_hex(it->resp, it->resp_len - 2);
        printf(",\"response_redacted\":%zu,\"response_truncated\":%s",
               it->resp_redacted ? it->hidden : 0, it->resp_trunc ? "true" : "false");
    }
    printf("}");
}

/* The call line of a group (line is NULL for a call that never finished). */
static void print_call(const tr_run *run, const tr_group *g, const tr_line *line)
{
    if (run->json) {
        printf("{\"type\":\"call\",\"time\":\"%s\",\"pid\":%ld,\"tid\":%ld,\"call\":%lu", g->time,
               g->pid, g->tid, g->call);
        if (line != NULL) {
            printf(",\"complete\":true,\"function\":");
            vtoken_json_string_n(stdout, line->fn, line->fn_len);
            printf(",\"args\":");
            vtoken_json_string_n(stdout, line->args, line->args_len);
            printf(",\"rv\":");
            vtoken_json_string_n(stdout, line->rv, line->rv_len);
            printf(",\"out\":");
            vtoken_json_string_n(stdout, line->outs, line->outs_len);
            if (line->has_ms)
                printf(",\"ms\":%.3f", line->ms);
        } else {
            printf(",\"complete\":false");
        }
        if (!run->calls_only) {
            printf(",\"items\":[");
            for (size_t i = 0; i < g->n; i++) {
                if (i)
                    putchar(',');
                json_item(&g->items[i]);
            }
            printf("]");
        }
        printf("}\n");
        return;
    }
    printf("%s %ld #%lu ", g->time + 11, g->pid, g->call);
    if (line != NULL) {
        put_text(line->fn, line->fn_len);
        putchar('(');
        put_text(line->args, line->args_len);
        printf(") = ");
        put_text(line->rv, line->rv_len);
        if (line->outs_len > 0) {
            printf(" -> ");
            put_text(line->outs, line->outs_len);
        }
        if (line->has_ms)
            printf("  [%.3f ms]", line->ms);
        putchar('\n');
    } else {
        printf("(the call did not finish in this trace)\n");
    }
    if (!run->calls_only)
        for (size_t i = 0; i < g->n; i++)
            print_item(&g->items[i]);
}

static void print_raw(const tr_run *run, const char *s, size_t n, bool cut)
{
    if (run->json) {
        printf("{\"type\":\"raw\",\"line\":");
        vtoken_json_string_n(stdout, s, n);
        printf(",\"truncated\":%s}\n", cut ? "true" : "false");
        return;
    }
    put_text(s, n);
    if (cut)
        printf("  [last line cut short]");
    putchar('\n');
}

/* ---- what the calls teach: slot and session families ----------------------------------- */

static tr_map *map_find(tr_run *run, long pid, bool session, unsigned long id)
{
    for (size_t i = 0; i < run->nmaps; i++)
        if (run->maps[i].pid == pid && run->maps[i].session == session && run->maps[i].id == id)
            return &run->maps[i];
    return NULL;
}

static tr_map *map_put(tr_run *run, long pid, bool session, unsigned long id)
{
    tr_map *m = map_find(run, pid, session, id);
    if (m != NULL)
        return m;
    if (run->nmaps == run->capmaps) {
        size_t cap = run->capmaps ? run->capmaps * 2 : 16;
        tr_map *nm = realloc(run->maps, cap * sizeof(*nm));
        if (nm == NULL) {
            run->oom = true;
            return NULL;
        }
        run->maps = nm;
        run->capmaps = cap;
    }
    m = &run->maps[run->nmaps++];
    memset(m, 0, sizeof(*m));
    m->pid = pid;
    m->session = session;
    m->id = id;
    return m;
}

/* "key=N" in s (at a word start), as the module traces slotID= and hSession=. */
static bool find_number(const char *s, size_t n, const char *key, unsigned long *out)
{
    size_t k = strlen(key);
    for (size_t i = 0; i + k < n; i++) {
        if ((i > 0 && s[i - 1] != ' ' && s[i - 1] != '(') || memcmp(s + i, key, k) != 0)
            continue;
        unsigned long v = 0;
        size_t j = i + k;
        if (j >= n || s[j] < '0' || s[j] > '9')
            continue;
        for (; j < n && s[j] >= '0' && s[j] <= '9' && v < 1000000000ul; j++)
            v = v * 10 + (unsigned long)(s[j] - '0');
        *out = v;
        return true;
    }
    return false;
}

/* Give every item of the finished call a family, and learn from it. */
static void settle_families(tr_run *run, tr_group *g, const tr_line *line)
{
    unsigned long slot = 0, sess = 0;
    bool have_slot = false;
    const char *known = NULL, *seen = NULL;
    tr_map *m;

    if (line != NULL) {
        if (find_number(line->args, line->args_len, "slotID=", &slot))
            have_slot = true;
        else if (find_number(line->args, line->args_len, "hSession=", &sess) &&
                 (m = map_find(run, g->pid, true, sess)) != NULL) {
            slot = m->slot;
            have_slot = true;
        }
    }
    if (have_slot && (m = map_find(run, g->pid, false, slot)) != NULL)
        known = m->family;
    /* A command only one family sends names the family of the call's other APDUs. */
    for (size_t i = 0; i < g->n && seen == NULL; i++)
        if (g->items[i].have_cmd && g->items[i].segment == NULL)
            seen = vtoken_apdu_family(g->items[i].cmd, g->items[i].cmd_len);
    /* Else a driver line in the call (the token opened again) says it. */
    for (size_t i = 0; i < g->n && seen == NULL && have_slot; i++)
        seen = g->items[i].segment;
    if (seen != NULL && have_slot && (m = map_put(run, g->pid, false, slot)) != NULL)
        m->family = seen;
    for (size_t i = 0; i < g->n; i++) {
        tr_item *it = &g->items[i];
        const char *own = it->have_cmd ? vtoken_apdu_family(it->cmd, it->cmd_len) : NULL;
        it->family = run->family != NULL   ? run->family
                     : own != NULL         ? own
                     : it->segment != NULL ? it->segment
                     : seen != NULL        ? seen
                                           : known;
    }
    /* C_OpenSession(slotID=N ...) -> hSession=H: the session's APDUs speak as slot N. */
    if (line != NULL && have_slot && line->fn_len == 13 &&
        memcmp(line->fn, "C_OpenSession", 13) == 0 &&
        find_number(line->outs, line->outs_len, "hSession=", &sess) &&
        (m = map_put(run, g->pid, true, sess)) != NULL)
        m->slot = slot;
}

/* ---- groups ---------------------------------------------------------------------------- */

static tr_group *group_find(tr_run *run, long pid, unsigned long call, size_t *at)
{
    for (size_t i = 0; i < run->ngroups; i++) {
        if (run->groups[i]->pid == pid && run->groups[i]->call == call) {
            *at = i;
            return run->groups[i];
        }
    }
    return NULL;
}

static tr_group *group_get(tr_run *run, const tr_line *l)
{
    size_t at;
    tr_group *g = group_find(run, l->pid, l->call, &at);
    if (g != NULL)
        return g;
    if (run->ngroups == run->capgroups) {
        size_t cap = run->capgroups ? run->capgroups * 2 : 8;
        tr_group **ng = realloc(run->groups, cap * sizeof(tr_group *));
        if (ng == NULL)
            return NULL;
        run->groups = ng;
        run->capgroups = cap;
    }
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->pid = l->pid;
    g->tid = l->tid;
    g->call = l->call;
    memcpy(g->time, l->time, sizeof(g->time));
    run->groups[run->ngroups++] = g;
    return g;
}

static void group_remove(tr_run *run, size_t at)
{
    memmove(&run->groups[at], &run->groups[at + 1], (run->ngroups - at - 1) * sizeof(tr_group *));
    run->ngroups--;
}

static tr_item *item_new(tr_group *g)
{
    if (g->n == g->cap || g->items == NULL) {
        size_t cap = g->cap > g->n ? g->cap : g->cap ? g->cap * 2 : 8;
        tr_item *ni = realloc(g->items, cap * sizeof(*ni));
        if (ni == NULL)
            return NULL;
        g->items = ni;
        g->cap = cap;
    }
    memset(&g->items[g->n], 0, sizeof(g->items[0]));
    return &g->items[g->n++];
}

/* "embedded kaztoken: kaztoken driver", "PC/SC reader 'X': etoken card": the module has
 * opened a token of that family, and the APDUs that follow (reading its token info) are
 * that family's. (Those before it, that found the family, identify themselves.) */
static const char *driver_family(const char *s, size_t n)
{
    const char *colon = NULL, *sp;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == ':' && s[i + 1] == ' ')
            colon = s + i;
    if (colon == NULL)
        return NULL;
    colon += 2;
    sp = memchr(colon, ' ', (size_t)(s + n - colon));
    if (sp == NULL ||
        (strncmp(sp, " driver", (size_t)(s + n - sp)) != 0 &&
         strncmp(sp, " card", (size_t)(s + n - sp)) != 0) ||
        (size_t)(s + n - sp) < 5)
        return NULL;
    return vtoken_family_known(colon, (size_t)(sp - colon));
}

/* Add an APDU or message line to its group. False when out of memory. */
static bool group_add(tr_group *g, const tr_line *l)
{
    tr_item *it = g->n > 0 ? &g->items[g->n - 1] : NULL;
    if (l->kind == TR_MSG) {
        const char *fam = driver_family(l->text, l->text_len);
        if (fam != NULL)
            g->segment = fam;
        it = item_new(g);
        if (it == NULL || (it->msg = dup_n(l->text, l->text_len)) == NULL)
            return false;
        it->is_msg = true;
        return true;
    }
    if (l->kind == TR_CMD || it == NULL || it->is_msg || !it->have_cmd || it->have_resp) {
        it = item_new(g);
        if (it == NULL)
            return false;
        it->segment = g->segment;
    }
    if (l->kind == TR_CMD) {
        it->have_cmd = true;
        it->cmd_redacted = l->redacted;
        it->cmd_trunc = l->truncated;
        it->cmd_len = l->apdu_len;
        it->cmd = dup_mem(l->apdu, l->apdu_len);
        return it->cmd != NULL;
    }
    it->have_resp = true;
    it->resp_redacted = l->redacted;
    it->resp_trunc = l->truncated;
    it->hidden = l->hidden;
    it->resp_len = l->apdu_len;
    it->resp = dup_mem(l->apdu, l->apdu_len);
    return it->resp != NULL;
}

static bool shown(const tr_run *run, unsigned long call)
{
    return call >= run->since;
}

static void finish_group(tr_run *run, tr_group *g, const tr_line *line)
{
    settle_families(run, g, line);
    if (shown(run, g->call))
        print_call(run, g, line);
}

/* A process starting again at call #1 (a new process with a reused pid, or one that
 * forked): whatever it left open will not finish. */
static void flush_pid(tr_run *run, long pid)
{
    for (size_t i = 0; i < run->ngroups;) {
        tr_group *g = run->groups[i];
        if (g->pid != pid || g->call == 1) {
            i++;
            continue;
        }
        group_remove(run, i);
        finish_group(run, g, NULL);
        group_free(g);
    }
}

/* A line outside any call: shown on its own. */
static void print_loose(tr_run *run, const tr_line *l)
{
    tr_group g;
    tr_item *it;
    if (run->calls_only || run->since > 1)
        return;
    memset(&g, 0, sizeof(g));
    if (!group_add(&g, l)) {
        run->oom = true;
    } else if (g.n > 0) {
        it = &g.items[0];
        it->family = run->family != NULL ? run->family
                     : it->have_cmd      ? vtoken_apdu_family(it->cmd, it->cmd_len)
                                         : NULL;
        if (run->json) {
            printf("{\"type\":\"loose\",\"time\":\"%s\",\"pid\":%ld,\"tid\":%ld,\"item\":", l->time,
                   l->pid, l->tid);
            json_item(it);
            printf("}\n");
        } else {
            printf("%s %ld (outside a call)\n", l->time + 11, l->pid);
            print_item(it);
        }
    }
    for (size_t i = 0; i < g.n; i++) {
        free(g.items[i].msg);
        free(g.items[i].cmd);
        free(g.items[i].resp);
    }
    free(g.items);
}

static void take_line(tr_run *run, const char *s, size_t n, bool cut)
{
    tr_line l;
    tr_group *g;
    size_t at;

    if (cut) {
        print_raw(run, s, n, true);
        return;
    }
    tr_parse_line(s, n, &l);
    switch (l.kind) {
    case TR_RAW:
        print_raw(run, s, n, false);
        return;
    case TR_CALL:
        if (l.call == 1)
            flush_pid(run, l.pid);
        g = group_find(run, l.pid, l.call, &at);
        if (g != NULL) {
            group_remove(run, at);
        } else {
            g = calloc(1, sizeof(*g));
            if (g == NULL) {
                run->oom = true;
                return;
            }
            g->pid = l.pid;
            g->call = l.call;
        }
        /* The call line's time and thread are the call's. */
        g->tid = l.tid;
        memcpy(g->time, l.time, sizeof(g->time));
        finish_group(run, g, &l);
        group_free(g);
        return;
    default:
        break;
    }
    if (l.call == 0) {
        print_loose(run, &l);
        return;
    }
    g = group_get(run, &l);
    if (g == NULL || !group_add(g, &l))
        run->oom = true;
}

static int run_file(tr_run *run, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = VTOKEN_EXIT_OK;

    if (f == NULL) {
        vtoken_error("trace", "cannot open %s: %s", path, strerror(errno));
        return VTOKEN_EXIT_FAILURE;
    }
    while ((n = getline(&buf, &cap, f)) > 0 && !run->oom) {
        bool cut = buf[n - 1] != '\n';
        take_line(run, buf, (size_t)(cut ? n : n - 1), cut);
    }
    if (ferror(f)) {
        vtoken_error("trace", "cannot read %s: %s", path, strerror(errno));
        rc = VTOKEN_EXIT_FAILURE;
    }
    /* Calls still open: the process died or the trace was copied while it ran. */
    while (run->ngroups > 0) {
        tr_group *g = run->groups[0];
        group_remove(run, 0);
        finish_group(run, g, NULL);
        group_free(g);
    }
    if (run->oom) {
        vtoken_error("trace", "out of memory");
        rc = VTOKEN_EXIT_FAILURE;
    }
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

int cmd_trace(int argc, char **argv)
{
    enum { OPT_CALLS_ONLY = 0x100, OPT_JSON, OPT_SINCE, OPT_FAMILY };
    static const struct option opts[] = {
        {"calls-only", no_argument, NULL, OPT_CALLS_ONLY},
        {"json", no_argument, NULL, OPT_JSON},
        {"since", required_argument, NULL, OPT_SINCE},
        {"family", required_argument, NULL, OPT_FAMILY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tr_run run;
    char *end;
    int opt, rc;

    memset(&run, 0, sizeof(run));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_CALLS_ONLY:
            run.calls_only = true;
            break;
        case OPT_JSON:
            run.json = true;
            break;
        case OPT_SINCE:
            errno = 0;
            run.since = strtoul(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0)
                return vtoken_usage_error("trace", "--since %s: not a call number", optarg);
            break;
        case OPT_FAMILY:
            run.family = vtoken_family_known(optarg, strlen(optarg));
            if (run.family == NULL)
                return vtoken_usage_error("trace", "--family %s: kaztoken, etoken or jacarta",
                                          optarg);
            break;
        case 'h':
            fputs(trace_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("trace", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("trace", "missing trace file");
    if (optind + 1 < argc)
        return vtoken_usage_error("trace", "unexpected argument '%s'", argv[optind + 1]);
    rc = run_file(&run, argv[optind]);
    for (size_t i = 0; i < run.ngroups; i++)
        group_free(run.groups[i]);
    free(run.groups);
    free(run.maps);
    return rc;
}
