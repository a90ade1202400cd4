/* Golden transcripts: every .apdu file in vectors/transcripts/<profile>/ is replayed
 * against a fresh factory card of that profile, command by command, and each response
 * must match. The format is in vectors/transcripts/README.md. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_test.h"

#define TRANSCRIPTS VT_VECTORS_DIR "/transcripts"

/* A pattern element: a byte, any byte, exactly n bytes, or any run. */
typedef struct pat {
    enum { P_BYTE, P_ANY, P_SKIP, P_STAR } kind;
    uint8_t byte;
    size_t n;
} pat;

static bool parse_pattern(const char *s, pat *p, size_t cap, size_t *np)
{
    size_t n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        if (n >= cap)
            return false;
        if (s[0] == '.' && s[1] == '.') {
            p[n++].kind = P_ANY;
            s += 2;
        } else if (s[0] == '*') {
            char *end;
            s++;
            if (*s >= '0' && *s <= '9') {
                p[n].kind = P_SKIP;
                p[n].n = strtoul(s, &end, 10);
                s = end;
            } else {
                p[n].kind = P_STAR;
            }
            n++;
        } else {
            uint8_t b;
            size_t rep = 1;
            char two[3] = {s[0], s[1], 0};
            if (!s[1] || vt_hex_decode(two, &b, 1) != 1)
                return false;
            s += 2;
            if (s[0] == '*' && s[1] >= '0' && s[1] <= '9') {
                char *end;
                rep = strtoul(s + 1, &end, 10);
                s = end;
            }
            for (size_t k = 0; k < rep; k++) {
                if (n >= cap)
                    return false;
                p[n].kind = P_BYTE;
                p[n++].byte = b;
            }
        }
    }
    *np = n;
    return true;
}

/* A command: hex bytes, "HH*N" for N times byte HH. */
static long parse_command(const char *s, uint8_t *out, size_t cap)
{
    pat p[1100];
    size_t np;
    if (!parse_pattern(s, p, VT_ARRAY_LEN(p), &np) || np > cap)
        return -1;
    for (size_t i = 0; i < np; i++) {
        if (p[i].kind != P_BYTE)
            return -1;
        out[i] = p[i].byte;
    }
    return (long)np;
}

static bool match(const pat *p, size_t np, const uint8_t *r, size_t rn)
{
    if (np == 0)
        return rn == 0;
    switch (p->kind) {
    case P_BYTE:
        return rn > 0 && r[0] == p->byte && match(p + 1, np - 1, r + 1, rn - 1);
    case P_ANY:
        return rn > 0 && match(p + 1, np - 1, r + 1, rn - 1);
    case P_SKIP:
        return rn >= p->n && match(p + 1, np - 1, r + p->n, rn - p->n);
    case P_STAR:
        for (size_t k = 0; k <= rn; k++)
            if (match(p + 1, np - 1, r + k, rn - k))
                return true;
        return false;
    }
    return false;
}

static int only_apdu(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 5 && strcmp(e->d_name + n - 5, ".apdu") == 0;
}

static int list_transcripts(const char *profile, struct dirent ***names)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", TRANSCRIPTS, profile);
    return scandir(dir, names, only_apdu, alphasort);
}

static void replay(const char *profile, const char *file)
{
    char path[1024], line[4096], note[4096] = "", cmdline[4096] = "";
    FILE *f;
    tcard t;
    int lineno = 0, exchanges = 0;
    bool have_cmd = false;
    static uint8_t r[APDU_MAX_RAPDU];

    snprintf(path, sizeof(path), "%s/%s/%s", TRANSCRIPTS, profile, file);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    tc_setup(&t, profile);
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t len = strlen(line);
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        ck_assert_msg(len >= 2 && line[1] == ' ', "%s:%d: expected \"<mark> <text>\"", file,
                      lineno);
        switch (line[0]) {
        case '-':
            snprintf(note, sizeof(note), "%s", line + 2);
            break;
        case '!': {
            uint8_t atr[33];
            size_t alen = sizeof(atr);
            if (strcmp(line + 2, "reset") == 0) {
                ck_assert_int_eq(sim_conn_reset(t.conn, atr, &alen), SIM_OK);
            } else if (strcmp(line + 2, "power") == 0) {
                sim_conn_power_off(t.conn);
                ck_assert_int_eq(sim_conn_power_on(t.conn, atr, &alen), SIM_OK);
            } else {
                ck_abort_msg("%s:%d: unknown directive %s", file, lineno, line + 2);
            }
            break;
        }
        case '>':
            ck_assert_msg(!have_cmd, "%s:%d: command without expected response", file, lineno);
            snprintf(cmdline, sizeof(cmdline), "%s", line + 2);
            have_cmd = true;
            break;
        case '<': {
            uint8_t c[1100];
            pat p[1100];
            size_t np = 0, rlen = sizeof(r);
            long cn = parse_command(cmdline, c, sizeof(c));
            char got[2 * sizeof(r) + 1];
            ck_assert_msg(have_cmd, "%s:%d: response without command", file, lineno);
            ck_assert_msg(cn >= 0, "%s: bad command hex: %s", file, cmdline);
            ck_assert_msg(parse_pattern(line + 2, p, VT_ARRAY_LEN(p), &np),
                          "%s:%d: bad response pattern", file, lineno);
            ck_assert_int_eq(sim_conn_process(t.conn, c, (size_t)cn, r, &rlen), SIM_OK);
            vt_hex_encode(r, rlen, got);
            ck_assert_msg(match(p, np, r, rlen), "%s:%d (%s): > %s\n  expected %s\n  got      %s",
                          file, lineno, note, cmdline, line + 2, got);
            have_cmd = false;
            note[0] = '\0';
            exchanges++;
            break;
        }
        default:
            ck_abort_msg("%s:%d: unknown line mark '%c'", file, lineno, line[0]);
        }
    }
    fclose(f);
    ck_assert_msg(!have_cmd, "%s: ends with a command and no response", file);
    ck_assert_msg(exchanges > 0, "%s: no exchanges", file);
    tc_teardown(&t);
}

/* Every personality's dialect is specified by transcripts: none may go missing. */
START_TEST(test_every_profile_has_transcripts)
{
    for (size_t p = 0; p < sim_profile_count(); p++) {
        const char *profile = sim_profile_name(sim_profile_at(p));
        struct dirent **names = NULL;
        int n = list_transcripts(profile, &names);
        for (int k = 0; k < n; k++)
            free(names[k]);
        free(names);
        ck_assert_msg(n > 0, "no transcripts for %s in %s", profile, TRANSCRIPTS);
    }
}
END_TEST

/* Test _i replays file _i of the profiles' transcripts taken in profile order. */
START_TEST(test_replay)
{
    int i = _i;
    for (size_t p = 0; p < sim_profile_count(); p++) {
        const char *profile = sim_profile_name(sim_profile_at(p));
        struct dirent **names = NULL;
        int n = list_transcripts(profile, &names);
        if (n > 0 && i < n)
            replay(profile, names[i]->d_name);
        for (int k = 0; k < n; k++)
            free(names[k]);
        free(names);
        if (n > 0 && i < n)
            return;
        i -= n > 0 ? n : 0;
    }
    ck_abort_msg("no transcript %d", _i);
}
END_TEST

START_TEST(test_matcher)
{
    pat p[16];
    size_t np;
    const uint8_t r[] = {0x62, 0x03, 0xAA, 0xBB, 0xCC, 0x90, 0x00};
    ck_assert(parse_pattern("62 03 AABBCC 9000", p, 16, &np) && match(p, np, r, sizeof(r)));
    ck_assert(parse_pattern("62 .. *3 90 00", p, 16, &np) && match(p, np, r, sizeof(r)));
    ck_assert(parse_pattern("* 90 00", p, 16, &np) && match(p, np, r, sizeof(r)));
    ck_assert(parse_pattern("62 *2 90 00", p, 16, &np) && !match(p, np, r, sizeof(r)));
    ck_assert(parse_pattern("62 03 AABBCD 9000", p, 16, &np) && !match(p, np, r, sizeof(r)));
    ck_assert(parse_pattern("* 6A 82", p, 16, &np) && !match(p, np, r, sizeof(r)));
    ck_assert(!parse_pattern("6", p, 16, &np));
    ck_assert(parse_pattern("62 00*2 *3 9000", p, 16, &np) && np == 6);
    ck_assert(parse_pattern("62 03 AA*2 CC 9000", p, 16, &np) && !match(p, np, r, sizeof(r)));
    {
        uint8_t c[8];
        ck_assert_int_eq(parse_command("00 A4 00*2 02 3F00", c, sizeof(c)), 7);
        ck_assert_mem_eq(c, "\x00\xA4\x00\x00\x02\x3F\x00", 7);
        ck_assert_int_eq(parse_command("00 ..", c, sizeof(c)), -1);
    }
}
END_TEST

Suite *transcript_suite(void)
{
    Suite *s = suite_create("transcript");
    TCase *tc = tcase_create("replay");
    int total = 0;
    for (size_t p = 0; p < sim_profile_count(); p++) {
        struct dirent **names = NULL;
        int n = list_transcripts(sim_profile_name(sim_profile_at(p)), &names);
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        total += n > 0 ? n : 0;
    }
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_matcher);
    tcase_add_test(tc, test_every_profile_has_transcripts);
    /* at least one test even when no directory is there, so that failure shows */
    tcase_add_loop_test(tc, test_replay, 0, total > 0 ? total : 1);
    suite_add_tcase(s, tc);
    return s;
}
