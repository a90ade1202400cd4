/* The commands' way to tokens: load libvtoken-pkcs11.so as an application does (dlopen,
 * C_GetInterface or C_GetFunctionList, C_Initialize with an option string) and turn the
 * token names people type into slot IDs, asking only the module what it serves. */
#include "p11client.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "names.h" /* pkcs11/names.c is compiled into vtoken: the module's own names */
#include "sim.h"
#include "tokcmd.h" /* tok_p12_dir_served */
#include "vtoken.h"

#ifndef VTOKEN_MODULE_INSTALL_DIR
#define VTOKEN_MODULE_INSTALL_DIR "/usr/local/lib/pkcs11"
#endif
#define VT_MODULE_FILE "libvtoken-pkcs11.so"

const char *vt_ckr_name(CK_RV rv)
{
    return p11_rv_name(rv);
}

/* ---- loading -------------------------------------------------------------------- */

/* <dir of this executable>/../pkcs11/libvtoken-pkcs11.so, when that file exists: the
 * module of the build tree the command was built in. */
static bool build_tree_module(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n <= 0)
        return false;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = '\0';
    if (snprintf(out, cap, "%s/../pkcs11/%s", exe, VT_MODULE_FILE) >= (int)cap)
        return false;
    return access(out, R_OK) == 0;
}

static int load_from(vt_p11 *m, const char *path, char *err, size_t errcap)
{
    CK_C_GetInterface get_interface;
    CK_C_GetFunctionList get_list;
    CK_INTERFACE_PTR iface = NULL;
    CK_RV rv;

    if (snprintf(m->module_path, sizeof(m->module_path), "%s", path) >=
        (int)sizeof(m->module_path)) {
        snprintf(err, errcap, "module path too long: %s", path);
        return VTOKEN_EXIT_FAILURE;
    }
    /* RTLD_LOCAL: the module's symbols must not resolve anything of ours, or the
     * reverse, exactly as for an application that loads two modules. */
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        snprintf(err, errcap, "cannot load the PKCS#11 module %s: %s", path, dlerror());
        return VTOKEN_EXIT_FAILURE;
    }
    /* 3.0 first, as current applications do; the 3.0 list begins with the 2.40 one. */
    *(void **)&get_interface = dlsym(m->dl, "C_GetInterface");
    if (get_interface && get_interface((CK_UTF8CHAR_PTR) "PKCS 11", NULL, &iface, 0) == CKR_OK &&
        iface && iface->pFunctionList) {
        m->f = iface->pFunctionList;
    } else {
        *(void **)&get_list = dlsym(m->dl, "C_GetFunctionList");
        if (!get_list) {
            snprintf(err, errcap, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
            return VTOKEN_EXIT_FAILURE;
        }
        rv = get_list(&m->f);
        if (rv != CKR_OK || !m->f) {
            snprintf(err, errcap, "%s: C_GetFunctionList: %s", path, vt_ckr_name(rv));
            m->f = NULL;
            return VTOKEN_EXIT_FAILURE;
        }
    }
    return VTOKEN_EXIT_OK;
}

int vt_p11_load(vt_p11 *m, const char *module_path, const char *options, char *err, size_t errcap)
{
    CK_C_INITIALIZE_ARGS args;
    char candidate[4096];
    const char *env = getenv("VTOKEN_MODULE");
    int rc;
    CK_RV rv;

    memset(m, 0, sizeof(*m));
    err[0] = '\0';
    /* An explicit choice (argument, then $VTOKEN_MODULE) is final: silently loading
     * another module than the one asked for would test the wrong thing. */
    if (module_path && *module_path)
        rc = load_from(m, module_path, err, errcap);
    else if (env && *env)
        rc = load_from(m, env, err, errcap);
    else if (build_tree_module(candidate, sizeof(candidate)))
        rc = load_from(m, candidate, err, errcap);
    else {
        snprintf(candidate, sizeof(candidate), "%s/%s", VTOKEN_MODULE_INSTALL_DIR, VT_MODULE_FILE);
        rc = load_from(m, candidate, err, errcap);
        if (rc != VTOKEN_EXIT_OK) {
            size_t n = strlen(err);
            snprintf(err + n, errcap - n, " (set VTOKEN_MODULE to the module's path)");
        }
    }
    if (rc != VTOKEN_EXIT_OK)
        goto out;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.pReserved = (CK_VOID_PTR)options; /* the module only reads it */
    rv = m->f->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        /* Someone else in this process initialised it: use it, leave finalising to them. */
        rv = CKR_OK;
    } else if (rv == CKR_OK) {
        m->initialized = true;
    }
    if (rv != CKR_OK) {
        snprintf(err, errcap, "%s: C_Initialize: %s", m->module_path, vt_ckr_name(rv));
        rc = VTOKEN_EXIT_FAILURE;
    }
out:
    if (rc != VTOKEN_EXIT_OK)
        vt_p11_unload(m);
    return rc;
}

void vt_p11_unload(vt_p11 *m)
{
    if (!m)
        return;
    if (m->initialized && m->f)
        (void)m->f->C_Finalize(NULL);
    m->initialized = false;
    m->f = NULL;
    if (m->dl)
        dlclose(m->dl);
    m->dl = NULL;
}

/* ---- token resolution ------------------------------------------------------------- */

/* A fixed-width, blank-padded PKCS#11 string as a C string. */
static void unpad(char *out, size_t cap, const CK_UTF8CHAR *in, size_t width)
{
    size_t n = width;
    while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

typedef struct slot_view {
    CK_SLOT_ID id;
    bool present;
    char label[33];
    char serial[17];
    char description[65];
} slot_view;

/* Every slot the module has, with its token's label and serial when one is present. */
static int list_slots(vt_p11 *m, slot_view **out, size_t *n, char *err, size_t errcap)
{
    CK_SLOT_ID_PTR ids = NULL;
    CK_ULONG count = 0;
    slot_view *v = NULL;
    CK_RV rv;
    int rc = VTOKEN_EXIT_FAILURE;

    *out = NULL;
    *n = 0;
    rv = m->f->C_GetSlotList(CK_FALSE, NULL, &count);
    if (rv == CKR_OK && count > 0) {
        ids = calloc(count, sizeof(*ids));
        if (!ids) {
            snprintf(err, errcap, "out of memory");
            goto out;
        }
        rv = m->f->C_GetSlotList(CK_FALSE, ids, &count);
    }
    if (rv != CKR_OK) {
        snprintf(err, errcap, "C_GetSlotList: %s", vt_ckr_name(rv));
        goto out;
    }
    v = calloc(count ? count : 1, sizeof(*v));
    if (!v) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    for (CK_ULONG i = 0; i < count; i++) {
        CK_SLOT_INFO si;
        CK_TOKEN_INFO ti;
        v[i].id = ids[i];
        if (m->f->C_GetSlotInfo(ids[i], &si) == CKR_OK)
            unpad(v[i].description, sizeof(v[i].description), si.slotDescription,
                  sizeof(si.slotDescription));
        if (m->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK) {
            v[i].present = true;
            unpad(v[i].label, sizeof(v[i].label), ti.label, sizeof(ti.label));
            unpad(v[i].serial, sizeof(v[i].serial), ti.serialNumber, sizeof(ti.serialNumber));
        }
    }
    *out = v;
    *n = count;
    v = NULL;
    rc = VTOKEN_EXIT_OK;
out:
    free(ids);
    free(v);
    return rc;
}

/* "Known tokens: a, b; slots: slot:0 (KAZTOKEN), ..." after a resolution failure. */
static void append_known(char *err, size_t errcap, const sim_home *home, const slot_view *v,
                         size_t n)
{
    size_t len = strlen(err);
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (len < errcap)                                                                          \
            len += (size_t)snprintf(err + len, errcap - len, __VA_ARGS__);                         \
    } while (0)
    if (home && sim_home_token_count(home) > 0) {
        ADD("; configured tokens:");
        for (size_t i = 0; i < sim_home_token_count(home); i++)
            ADD(" %s", sim_home_token(home, i)->name);
    }
    ADD("; slots:");
    if (n == 0)
        ADD(" none");
    for (size_t i = 0; i < n; i++) {
        if (v[i].present)
            ADD(" slot:%lu (%s)", (unsigned long)v[i].id, v[i].label);
        else
            ADD(" slot:%lu (empty)", (unsigned long)v[i].id);
    }
#undef ADD
}

static bool is_p12_name(const char *s)
{
    size_t n = strlen(s);
    return n > 4 && (strcasecmp(s + n - 4, ".p12") == 0 || strcasecmp(s + n - 4, ".pfx") == 0);
}

/* The serial number of a configured token, read from its card image: the module reports
 * the same bytes as CK_TOKEN_INFO.serialNumber (upper-case hex). */
static int conf_serial(const sim_token_conf *tc, char *serial, size_t cap, char *err, size_t errcap)
{
    sim_card *card = NULL;
    sim_card_info info;
    char *why = NULL;
    sim_status st;

    st = sim_card_open(tc->image, &card, &why);
    if (st == SIM_OK)
        st = sim_card_get_info(card, &info);
    if (st != SIM_OK) {
        snprintf(err, errcap, "token '%s': %s: %s%s%s", tc->name, tc->image, sim_strerror(st),
                 why ? ": " : "", why ? why : "");
        free(why);
        sim_card_close(card);
        return VTOKEN_EXIT_FAILURE;
    }
    sim_card_close(card);
    snprintf(serial, cap, "%s", info.serial_hex);
    return VTOKEN_EXIT_OK;
}

int vt_p11_find_token(vt_p11 *m, const char *home, const char *token, CK_SLOT_ID *slot, char *err,
                      size_t errcap)
{
    char dir[4096] = "", serial[40];
    char *why = NULL, *end;
    sim_home *h = NULL;
    slot_view *v = NULL;
    size_t n = 0, hits = 0;
    sim_status st;
    int rc;

    err[0] = '\0';
    rc = list_slots(m, &v, &n, err, errcap);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    /* The home is opened for the names and for the error message's list; a home that
     * cannot be opened only matters when a name must be looked up in it. */
    st = sim_home_resolve(home, dir, sizeof(dir));
    if (st == SIM_OK)
        st = sim_home_open(dir, &h, &why);
    rc = VTOKEN_EXIT_NO_TOKEN;

    if (strncmp(token, "slot:", 5) == 0) {
        unsigned long id;
        errno = 0;
        id = strtoul(token + 5, &end, 10);
        if (token[5] == '\0' || *end != '\0' || errno != 0 || !isdigit((unsigned char)token[5])) {
            snprintf(err, errcap, "bad slot '%s' (expected slot:N)", token);
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            if (v[i].id != id)
                continue;
            if (!v[i].present) {
                snprintf(err, errcap, "slot %lu (%s) holds no token", id, v[i].description);
                goto fail;
            }
            *slot = v[i].id;
            rc = VTOKEN_EXIT_OK;
            goto out;
        }
        snprintf(err, errcap, "no slot %lu", id);
        goto fail;
    }

    if (strncmp(token, "label:", 6) == 0) {
        for (size_t i = 0; i < n; i++)
            if (v[i].present && strcmp(v[i].label, token + 6) == 0 && hits++ == 0)
                *slot = v[i].id;
        if (hits == 1) {
            rc = VTOKEN_EXIT_OK;
            goto out;
        }
        if (hits > 1)
            snprintf(err, errcap, "%zu tokens are labelled '%s': name one as slot:N", hits,
                     token + 6);
        else
            snprintf(err, errcap, "no token labelled '%s'", token + 6);
        goto fail;
    }

    if (is_p12_name(token)) {
        /* The module describes a PKCS#12 slot with the file's name and labels its token
         * with the name's stem; both are cut to their PKCS#11 field widths (64 and 32
         * bytes), so the description, which cuts NCA's long names later, is tried first. */
        char want_desc[65], want_label[33];
        const char *base = strrchr(token, '/');
        const char *file = base ? base + 1 : token;
        size_t len = strlen(file), stem = len - 4;
        if (base) {
            /* A path names that very file: it must be where the module looks. */
            char d[4096];
            snprintf(d, sizeof(d), "%.*s", base == token ? 1 : (int)(base - token), token);
            if (access(token, F_OK) != 0) {
                snprintf(err, errcap, "%s: %s", token, strerror(errno));
                goto fail;
            }
            if (!tok_p12_dir_served(home, d)) {
                snprintf(err, errcap,
                         "%s is not in a directory the module serves (add %s to "
                         "VTOKEN_P12_PATH or to path= under [pkcs12] in vtoken.conf)",
                         token, d);
                goto fail;
            }
        }
        memcpy(want_desc, file, len < 64 ? len : 64);
        want_desc[len < 64 ? len : 64] = '\0';
        memcpy(want_label, file, stem < 32 ? stem : 32);
        want_label[stem < 32 ? stem : 32] = '\0';
        for (size_t i = 0; i < n; i++)
            if (v[i].present && strcmp(v[i].description, want_desc) == 0 && hits++ == 0)
                *slot = v[i].id;
        for (size_t i = 0; i < n && hits == 0; i++)
            if (v[i].present && strcmp(v[i].label, want_label) == 0)
                *slot = v[i].id, hits = 1;
        if (hits == 1) {
            rc = VTOKEN_EXIT_OK;
            goto out;
        }
        if (hits > 1)
            snprintf(err, errcap, "%zu PKCS#12 tokens are named '%s': name one as slot:N", hits,
                     file);
        else
            snprintf(err, errcap,
                     "no PKCS#12 token '%s' (is its directory in VTOKEN_P12_PATH or "
                     "vtoken.conf [pkcs12] path=?)",
                     file);
        goto fail;
    }

    /* A name from vtoken.conf. */
    if (!h) {
        snprintf(err, errcap, "vtoken home %s: %s%s%s", dir, sim_strerror(st), why ? ": " : "",
                 why ? why : "");
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    const sim_token_conf *tc = sim_home_find(h, token);
    if (!tc) {
        snprintf(err, errcap, "no token '%s' in %s/vtoken.conf", token, dir);
        goto fail;
    }
    rc = conf_serial(tc, serial, sizeof(serial), err, errcap);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    /* Embedded slots come first, so a card that `vtoken sim` also puts into a reader
     * resolves to its in-process slot. */
    for (size_t i = 0; i < n; i++) {
        if (v[i].present && serial[0] && strcasecmp(v[i].serial, serial) == 0) {
            *slot = v[i].id;
            rc = VTOKEN_EXIT_OK;
            goto out;
        }
    }
    snprintf(err, errcap,
             "token '%s' (serial %s) is configured but the module %s serves no slot for it", token,
             serial, m->module_path);
    rc = VTOKEN_EXIT_NO_TOKEN;
fail:
    append_known(err, errcap, h, v, n);
out:
    free(why);
    sim_home_close(h);
    free(v);
    return rc;
}
