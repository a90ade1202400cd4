/* `vtoken list`: every slot the module serves for a home, with its token's kind, label,
 * serial, PIN tries, object count and free memory. Everything comes through the module
 * except the PIN counters, which PKCS#11 has no field for (see tok_home_card). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tokcmd.h"
#include "vtoken.h"

static const char list_help[] =
    "Usage: vtoken list [--home DIR] [--json]\n"
    "\n"
    "List every slot of the vtoken PKCS#11 module for a home: the home's virtual tokens\n"
    "(run in-process), PC/SC readers, and PKCS#12 files. For each token: its name in\n"
    "vtoken.conf (what the other commands take), kind (kaztoken, etoken, jacarta, pkcs12,\n"
    "or pcsc for a card in a PC/SC reader), label, serial number, user and SO PIN tries\n"
    "left out of the maximum, the number of objects visible without login, and free\n"
    "memory. Tries come from the card image of a token of this home (PKCS#11 has no field\n"
    "for them); for other tokens only what the token flags say is shown (low, final, locked).\n"
    "\n"
    "Options:\n"
    "  --module PATH  the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                 else the installed one)\n"
    "  --home DIR     the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json         machine-readable output (one JSON object)\n"
    "  -h, --help     this text\n"
    "\n" VTOKEN_EXIT_HELP;

typedef struct pin_view {
    int left, max; /* -1: unknown */
    bool locked, final_try, low;
} pin_view;

typedef struct slot_row {
    CK_SLOT_ID id;
    char reader[65];
    bool present, hw;
    char name[32]; /* vtoken.conf name, "" when not one of the home's cards */
    const char *kind;
    const char *family;
    char label[33], serial[17], model[17], manufacturer[33];
    pin_view user, so;
    long objects;                  /* -1: unknown */
    long long mem_total, mem_free; /* -1: unknown */
    bool initialized, login_required;
} slot_row;

static pin_view pin_from(CK_FLAGS f, bool so, int left, int max)
{
    pin_view p = {left, max, false, false, false};
    p.locked = f & (so ? CKF_SO_PIN_LOCKED : CKF_USER_PIN_LOCKED);
    p.final_try = f & (so ? CKF_SO_PIN_FINAL_TRY : CKF_USER_PIN_FINAL_TRY);
    p.low = f & (so ? CKF_SO_PIN_COUNT_LOW : CKF_USER_PIN_COUNT_LOW);
    if (left == 0)
        p.locked = true;
    return p;
}

/* Objects a session sees without login (public objects). */
static long count_objects(tok_ctx *t, CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h[64];
    CK_ULONG got = 0;
    long n = 0;

    if (t->p11.f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return -1;
    if (t->p11.f->C_FindObjectsInit(s, NULL, 0) != CKR_OK) {
        n = -1;
        goto out;
    }
    do {
        if (t->p11.f->C_FindObjects(s, h, 64, &got) != CKR_OK) {
            n = -1;
            break;
        }
        n += (long)got;
    } while (got > 0);
    (void)t->p11.f->C_FindObjectsFinal(s);
out:
    (void)t->p11.f->C_CloseSession(s);
    return n;
}

static void fill_row(tok_ctx *t, CK_SLOT_ID id, slot_row *r)
{
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    sim_card_info ci;
    bool card = false;

    memset(r, 0, sizeof(*r));
    r->id = id;
    r->kind = r->family = "";
    r->user = r->so = (pin_view){-1, -1, false, false, false};
    r->objects = r->mem_total = r->mem_free = -1;
    if (t->p11.f->C_GetSlotInfo(id, &si) == CKR_OK) {
        tok_unpad(r->reader, sizeof(r->reader), si.slotDescription, sizeof(si.slotDescription));
        r->hw = si.flags & CKF_HW_SLOT;
    }
    if (t->p11.f->C_GetTokenInfo(id, &ti) != CKR_OK)
        return;
    r->present = true;
    tok_unpad(r->label, sizeof(r->label), ti.label, sizeof(ti.label));
    tok_unpad(r->serial, sizeof(r->serial), ti.serialNumber, sizeof(ti.serialNumber));
    tok_unpad(r->model, sizeof(r->model), ti.model, sizeof(ti.model));
    tok_unpad(r->manufacturer, sizeof(r->manufacturer), ti.manufacturerID,
              sizeof(ti.manufacturerID));
    card = tok_home_card(t->home, r->serial, r->name, sizeof(r->name), &ci);
    r->family = tok_family(&ti, card ? &ci : NULL);
    /* A hardware slot is a PC/SC reader, whatever card is in it (possibly one of this
     * home's, served by `vtoken sim`). */
    r->kind = r->hw ? "pcsc" : r->family;
    r->user =
        pin_from(ti.flags, false, card ? ci.user_tries_left : -1, card ? ci.user_tries_max : -1);
    r->so = pin_from(ti.flags, true, card ? ci.so_tries_left : -1, card ? ci.so_tries_max : -1);
    r->initialized = ti.flags & CKF_TOKEN_INITIALIZED;
    r->login_required = ti.flags & CKF_LOGIN_REQUIRED;
    if (ti.ulTotalPublicMemory != CK_UNAVAILABLE_INFORMATION &&
        ti.ulFreePublicMemory != CK_UNAVAILABLE_INFORMATION) {
        r->mem_total = (long long)ti.ulTotalPublicMemory;
        r->mem_free = (long long)ti.ulFreePublicMemory;
    } else if (card && ci.capacity > 0) {
        r->mem_total = (long long)ci.capacity;
        r->mem_free = ci.used < ci.capacity ? (long long)(ci.capacity - ci.used) : 0;
    }
    r->objects = count_objects(t, id);
}

static void pin_text(const pin_view *p, char *out, size_t cap)
{
    if (p->left >= 0)
        snprintf(out, cap, "%d/%d%s", p->left, p->max, p->locked ? " locked" : "");
    else if (p->locked)
        snprintf(out, cap, "locked");
    else if (p->final_try)
        snprintf(out, cap, "1 left");
    else if (p->low)
        snprintf(out, cap, "low");
    else
        snprintf(out, cap, "-");
}

static void print_text(const slot_row *rows, size_t n)
{
    printf("%-5s %-12s %-9s %-20s %-17s %-12s %-12s %-7s %s\n", "SLOT", "NAME", "KIND", "LABEL",
           "SERIAL", "USER PIN", "SO PIN", "OBJECTS", "FREE");
    for (size_t i = 0; i < n; i++) {
        const slot_row *r = &rows[i];
        char user[32], so[32], objs[24], mem[48];
        if (!r->present) {
            printf("%-5lu %-12s %-9s (no token in '%s')\n", (unsigned long)r->id, "-", "-",
                   r->reader);
            continue;
        }
        pin_text(&r->user, user, sizeof(user));
        pin_text(&r->so, so, sizeof(so));
        if (r->objects >= 0)
            snprintf(objs, sizeof(objs), "%ld", r->objects);
        else
            snprintf(objs, sizeof(objs), "-");
        if (r->mem_free >= 0)
            snprintf(mem, sizeof(mem), "%lld/%lld", r->mem_free, r->mem_total);
        else
            snprintf(mem, sizeof(mem), "-");
        printf("%-5lu %-12s %-9s %-20s %-17s %-12s %-12s %-7s %s\n", (unsigned long)r->id,
               r->name[0] ? r->name : "-", r->kind, r->label, r->serial, user, so, objs, mem);
    }
}

static void json_int_or_null(long long v)
{
    if (v >= 0)
        printf("%lld", v);
    else
        printf("null");
}

static void json_pin(const char *key, const pin_view *p)
{
    printf(",\"%s\":{\"tries_left\":", key);
    json_int_or_null(p->left);
    printf(",\"tries_max\":");
    json_int_or_null(p->max);
    printf(",\"locked\":%s,\"final_try\":%s,\"count_low\":%s}", p->locked ? "true" : "false",
           p->final_try ? "true" : "false", p->low ? "true" : "false");
}

static void print_json(const tok_ctx *t, const slot_row *rows, size_t n)
{
    printf("{\"home\":");
    vtoken_json_string(stdout, t->home);
    printf(",\"module\":");
    vtoken_json_string(stdout, t->p11.module_path);
    printf(",\"slots\":[");
    for (size_t i = 0; i < n; i++) {
        const slot_row *r = &rows[i];
        printf("%s{\"slot\":%lu,\"reader\":", i ? "," : "", (unsigned long)r->id);
        vtoken_json_string(stdout, r->reader);
        printf(",\"present\":%s", r->present ? "true" : "false");
        if (!r->present) {
            printf("}");
            continue;
        }
        printf(",\"name\":");
        if (r->name[0])
            vtoken_json_string(stdout, r->name);
        else
            printf("null");
        printf(",\"kind\":\"%s\",\"family\":\"%s\",\"label\":", r->kind, r->family);
        vtoken_json_string(stdout, r->label);
        printf(",\"serial\":");
        vtoken_json_string(stdout, r->serial);
        printf(",\"model\":");
        vtoken_json_string(stdout, r->model);
        printf(",\"manufacturer\":");
        vtoken_json_string(stdout, r->manufacturer);
        json_pin("user_pin", &r->user);
        json_pin("so_pin", &r->so);
        printf(",\"objects\":");
        json_int_or_null(r->objects);
        printf(",\"memory_total\":");
        json_int_or_null(r->mem_total);
        printf(",\"memory_free\":");
        json_int_or_null(r->mem_free);
        printf(",\"initialized\":%s,\"login_required\":%s}", r->initialized ? "true" : "false",
               r->login_required ? "true" : "false");
    }
    printf("]}\n");
}

/* The module shows no virtual token of a home it cannot read, and says so only in its
 * trace: say it here, and fail, so that an empty list is not taken for an empty home. */
static int check_home(const tok_ctx *t)
{
    sim_home *h = NULL;
    char *why = NULL;
    sim_status st = sim_home_open(t->home, &h, &why);

    sim_home_close(h);
    if (st == SIM_OK)
        return VTOKEN_EXIT_OK;
    vtoken_error("list", "the virtual tokens of %s are missing: %s%s%s", t->home, sim_strerror(st),
                 why ? ": " : "", why ? why : "");
    free(why);
    return VTOKEN_EXIT_FAILURE;
}

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL;
    bool json = false;
    tok_ctx t;
    CK_SLOT_ID_PTR ids = NULL;
    CK_ULONG n = 0;
    slot_row *rows = NULL;
    CK_RV rv;
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'M':
            module_opt = optarg;
            break;
        case 'H':
            home_opt = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            fputs(list_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("list", argv, opt);
        }
    }
    if (optind < argc)
        return vtoken_usage_error("list", "unexpected argument '%s'", argv[optind]);

    rc = tok_begin(&t, "list", home_opt, module_opt);
    if (rc != VTOKEN_EXIT_OK)
        return rc;
    rv = t.p11.f->C_GetSlotList(CK_FALSE, NULL, &n);
    if (rv == CKR_OK && n > 0) {
        ids = calloc(n, sizeof(*ids));
        rows = calloc(n, sizeof(*rows));
        if (!ids || !rows) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        rv = t.p11.f->C_GetSlotList(CK_FALSE, ids, &n);
    }
    if (rv != CKR_OK)
        goto out;
    for (CK_ULONG i = 0; i < n; i++)
        fill_row(&t, ids[i], &rows[i]);
    if (json)
        print_json(&t, rows, n);
    else
        print_text(rows, n);
    rc = check_home(&t);
out:
    if (rv != CKR_OK)
        rc = tok_fail(&t, "C_GetSlotList", rv, CKU_USER);
    free(ids);
    free(rows);
    tok_end(&t);
    return rc;
}
