/* The PKCS#12 token driver: the operations table, token info, login (the PIN is the
 * file's password), C_SetPIN (the file rewritten under the new password, keeping its
 * algorithms), presence, and a file replaced by another program while we hold it open.
 * Nothing is read from the file before login: until then the token knows only its
 * name. Objects: drv_pkcs12_obj.c; cryptography: drv_pkcs12_crypto.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "drv_pkcs12.h"
#include "hash.h"
#include "trace.h"

CK_RV p11_p12_rv(p12_token *k, ks_status st, bool writing, const char *why)
{
    if (st != KS_OK)
        p11_trace_msg("pkcs12 %s: %s%s%s", k->name, ks_strerror(st), why && *why ? ": " : "",
                      why ? why : "");
    switch (st) {
    case KS_OK:
        return CKR_OK;
    case KS_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case KS_ERR_BAD_PASSWORD:
        return CKR_PIN_INCORRECT;
    case KS_ERR_POLICY:
        return CKR_PIN_INVALID;
    case KS_ERR_NOT_FOUND:
        return CKR_DEVICE_REMOVED; /* the module then finds the token gone */
    case KS_ERR_ACCESS:
        return writing ? CKR_TOKEN_WRITE_PROTECTED : CKR_DEVICE_ERROR;
    case KS_ERR_EXISTS:
        return CKR_TEMPLATE_INCONSISTENT; /* the file already holds that key/certificate */
    case KS_ERR_STALE:
    case KS_ERR_ARGS:
        return CKR_FUNCTION_FAILED;
    case KS_ERR_UNSUPPORTED:
        return writing ? CKR_FUNCTION_FAILED : CKR_DEVICE_ERROR;
    default:
        /* damaged, truncated or foreign bytes; I/O errors; injected faults */
        return CKR_DEVICE_ERROR;
    }
}

/* ---- file state ---- */

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* No write permission bits (which root must respect too) or no write access for us. */
static bool writable(const char *path, bool dir)
{
    struct stat st;
    if (stat(path, &st) != 0 || (st.st_mode & 0222) == 0)
        return false;
    return access(path, dir ? W_OK | X_OK : W_OK) == 0;
}

/* The file the slot's name leads to: a symbolic link in a configured directory (say,
 * to a key on a USB stick) is followed, so that a rewrite replaces the key store and
 * not the link. */
static const char *target(const p12_token *k, char buf[PATH_MAX])
{
    return realpath(k->path, buf) ? buf : k->path;
}

bool p11_p12_read_only(const p12_token *k)
{
    char buf[PATH_MAX], dir[PATH_MAX];
    const char *path = target(k, buf);
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* keep the root's slash */
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return !writable(path, false) || !writable(dir, true);
}

/* The logged-in file was replaced by another program (vtoken, NCALayer, a second
 * process of ours): open the new one with the password we hold. A replacement that
 * our password does not open is remembered, so it costs one attempt only; we then
 * keep the keys we have (like a card's security state) but cannot write. */
static ks_status refresh(p12_token *k)
{
    struct stat st;
    ks_p12 *q = NULL;
    char *why = NULL;

    if (!k->file || !ks_p12_changed(k->file))
        return KS_OK;
    if (stat(k->path, &st) != 0)
        return errno == ENOENT ? KS_ERR_NOT_FOUND : KS_ERR_IO;
    if (k->refused_valid && same_file(&st, &k->refused))
        return KS_ERR_STALE;
    ks_status rv = ks_p12_reopen(k->file, &q, &why);
    if (rv == KS_OK) {
        ks_p12_close(k->file);
        k->file = q;
        k->refused_valid = false;
        k->gen++;
        p11_trace_msg("pkcs12 %s: changed on disk, read again", k->name);
    } else {
        k->refused = st;
        k->refused_valid = true;
        p11_trace_msg("pkcs12 %s: changed on disk and no longer opens with the password given "
                      "at login (%s); keys stay usable, writes fail until a new login",
                      k->name, why ? why : ks_strerror(rv));
        rv = KS_ERR_STALE;
    }
    free(why);
    return rv;
}

CK_RV p11_p12_current(p12_token *k, ks_p12 **out)
{
    *out = NULL;
    if (!k->file)
        return CKR_USER_NOT_LOGGED_IN;
    ks_status st = refresh(k);
    if (st != KS_OK)
        return p11_p12_rv(k, st, true, st == KS_ERR_STALE ? "log out and in again" : NULL);
    *out = k->file;
    return CKR_OK;
}

void p11_p12_wrote(p12_token *k, bool others_changed)
{
    k->gen++;
    k->relist_after_write = others_changed;
}

/* ---- token info ---- */

/* Copy src into dst (cap bytes with the NUL), cut at a character boundary; bytes that
 * are not UTF-8 become '?', so labels are always valid UTF-8. */
static void utf8_cut(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        bool ok = n > 0 && i + n <= len && !(n == 1 && c < 0x20);
        for (size_t j = 1; ok && j < n; j++)
            ok = ((unsigned char)src[i + j] & 0xC0) == 0x80;
        if (!ok)
            n = 1;
        if (o + n >= cap)
            break;
        if (ok)
            memcpy(dst + o, src + i, n);
        else
            dst[o] = '?';
        o += ok ? n : 1;
        i += n;
    }
    dst[o] = '\0';
}

void p11_p12_label(const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (n > 4 && (!strcasecmp(name + n - 4, ".p12") || !strcasecmp(name + n - 4, ".pfx")))
        n -= 4;
    utf8_cut(out, cap, name, n);
}

void p11_p12_description(const char *name, char *out, size_t cap)
{
    utf8_cut(out, cap, name, strlen(name));
}

/* Characters, as the rule counts them: each UTF-8 sequence once. */
static size_t utf8_chars(const uint8_t *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

static CK_RV p12_get_info(p11_token *t, p11_token_info *info)
{
    p12_token *k = t->drv;
    uint8_t h[32];

    memset(info, 0, sizeof(*info));
    p11_p12_label(k->name, info->label, sizeof(info->label));
    snprintf(info->manufacturer, sizeof(info->manufacturer), "vtoken");
    snprintf(info->model, sizeof(info->model), "PKCS#12 file");
    /* The path names the file for as long as it stays where it is: rewrites (a new
     * password, a new certificate) keep the serial. */
    p11_hash_oneshot(P11_SHA256, k->path, strlen(k->path), h);
    for (size_t i = 0; i < 8; i++)
        snprintf(info->serial + 2 * i, 3, "%02X", h[i]);
    info->flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
    if (p11_p12_read_only(k))
        info->flags |= CKF_WRITE_PROTECTED;
    /* A file has no retry counter: no COUNT_LOW / FINAL_TRY / LOCKED, ever. */
    info->user_tries_left = info->user_tries_max = -1;
    info->so_tries_left = info->so_tries_max = -1;
    info->min_pin = k->rule.min_len;
    info->max_pin = k->rule.max_len ? k->rule.max_len : 256;
    info->total_mem = info->free_mem = CK_UNAVAILABLE_INFORMATION;
    info->hw.major = info->fw.major = 1;
    return CKR_OK;
}

/* ---- login and PIN ---- */

static CK_RV p12_login(p11_token *t, CK_USER_TYPE who, const uint8_t *pin, size_t len)
{
    p12_token *k = t->drv;
    ks_p12 *p = NULL;
    char *why = NULL;

    if (who == CKU_SO) {
        p11_trace_msg("pkcs12 %s: a PKCS#12 file has no security officer", k->name);
        return CKR_USER_TYPE_INVALID;
    }
    /* A password never holds a NUL: such a PIN cannot be the right one. */
    if (len > 0 && memchr(pin, '\0', len))
        return CKR_PIN_INCORRECT;
    char buf[PATH_MAX];
    ks_status st = ks_p12_open(k->ctx, target(k, buf), (const char *)pin, len, &p, &why);
    CK_RV rv = p11_p12_rv(k, st, false, why);
    free(why);
    if (rv != CKR_OK)
        return rv;
    if (who == CKU_CONTEXT_SPECIFIC) { /* the password checked again; nothing changes */
        ks_p12_close(p);
        return CKR_OK;
    }
    ks_p12_close(k->file);
    k->file = p;
    k->refused_valid = false;
    k->gen++;
    p11_trace_msg("pkcs12 %s: opened, %zu key(s), %zu certificate(s)", k->name,
                  ks_p12_count(p, KS_P12_KEY), ks_p12_count(p, KS_P12_CERT));
    return CKR_OK;
}

static CK_RV p12_logout(p11_token *t)
{
    p12_token *k = t->drv;
    ks_p12_close(k->file); /* wipes the password and frees the keys */
    k->file = NULL;
    k->gen++;
    return CKR_OK;
}

/* The new password against the rule: CKR_PIN_LEN_RANGE for its length, CKR_PIN_INVALID
 * for anything else, with the reason in the trace (never the password). */
static CK_RV check_rule(p12_token *k, const uint8_t *pin, size_t len)
{
    char why[160];
    if (ks_pwrule_check(&k->rule, (const char *)pin, len, why, sizeof(why)) == KS_OK)
        return CKR_OK;
    size_t chars = utf8_chars(pin, len);
    bool length = (k->rule.min_len && chars < k->rule.min_len) ||
                  (k->rule.max_len && chars > k->rule.max_len);
    p11_trace_msg("pkcs12 %s: new password refused: %s", k->name, why);
    return length ? CKR_PIN_LEN_RANGE : CKR_PIN_INVALID;
}

static CK_RV p12_set_pin(p11_token *t, CK_USER_TYPE who, const uint8_t *old_pin, size_t old_len,
                         const uint8_t *new_pin, size_t new_len)
{
    p12_token *k = t->drv;
    ks_p12 *p = NULL;
    char *why = NULL;
    CK_RV rv;

    if (who != CKU_USER)
        return CKR_USER_TYPE_INVALID;
    rv = check_rule(k, new_pin, new_len);
    if (rv != CKR_OK)
        return rv;
    if (old_len > 0 && memchr(old_pin, '\0', old_len))
        return CKR_PIN_INCORRECT;
    if (p11_p12_read_only(k)) {
        p11_trace_msg("pkcs12 %s: the file or its directory is read-only", k->name);
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    /* Opening with the old password is what proves it; the rewrite then starts from
     * the file as it is now on disk. */
    char buf[PATH_MAX];
    ks_status st =
        ks_p12_open(k->ctx, target(k, buf), (const char *)old_pin, old_len, &p, &why);
    rv = p11_p12_rv(k, st, false, why);
    free(why);
    if (rv != CKR_OK)
        return rv;
    st = ks_p12_change_password(p, (const char *)new_pin, new_len, &k->rule);
    rv = p11_p12_rv(k, st, true, st != KS_OK ? ks_p12_error(p) : NULL);
    if (rv != CKR_OK) {
        ks_p12_close(p);
        return rv;
    }
    p11_trace_msg("pkcs12 %s: password changed", k->name);
    if (k->file) { /* logged in: carry on with the file under its new password */
        ks_p12_close(k->file);
        k->file = p;
        k->refused_valid = false;
    } else {
        ks_p12_close(p);
    }
    return CKR_OK;
}

/* ---- presence, generation, life ---- */

static CK_RV p12_present(p11_token *t)
{
    p12_token *k = t->drv;
    struct stat st;
    return stat(k->path, &st) == 0 && S_ISREG(st.st_mode) ? CKR_OK : CKR_TOKEN_NOT_PRESENT;
}

static uint64_t p12_generation(p11_token *t)
{
    p12_token *k = t->drv;
    (void)refresh(k); /* another program's rewrite: new objects, maybe */
    uint64_t g = k->gen;
    /* The module records the generation right after our own write and re-lists only
     * when it moves. A write that also changed other objects (a certificate renames its
     * key) asks for one more listing: the next call returns a new value. */
    if (k->relist_after_write) {
        k->relist_after_write = false;
        k->gen++;
    }
    return g;
}

static void p12_close(p11_token *t)
{
    if (!t)
        return;
    p12_token *k = t->drv;
    if (k) {
        ks_p12_close(k->file);
        free(k->path);
        vt_wipe(k, sizeof(*k));
        free(k);
    }
    free(t);
}

static CK_RV p12_unsupported_init_pin(p11_token *t, const uint8_t *pin, size_t len)
{
    (void)t;
    (void)pin;
    (void)len;
    return CKR_FUNCTION_NOT_SUPPORTED; /* no SO, so nobody to set the user's PIN */
}

static const p11_token_ops p12_ops = {
    .name = "pkcs12",
    .caps = P11_CAP_RSA_RAW | P11_CAP_KEYGEN_RSA | P11_CAP_RNG | P11_CAP_EC | P11_CAP_WRITE,
    .rsa_min_bits = 1024,
    .rsa_max_bits = 4096,
    .get_info = p12_get_info,
    .login = p12_login,
    .logout = p12_logout,
    .set_pin = p12_set_pin,
    .init_pin = p12_unsupported_init_pin,
    .init_token = NULL, /* CKR_FUNCTION_NOT_SUPPORTED: `vtoken p12 new` makes files */
    .list_objects = p11_p12_list_objects,
    .generation = p12_generation,
    .create_object = p11_p12_create_object,
    .destroy_object = p11_p12_destroy_object,
    .set_attributes = p11_p12_set_attributes,
    .generate_rsa = p11_p12_generate_rsa,
    .rsa_sign = p11_p12_rsa_sign,
    .rsa_decrypt = p11_p12_rsa_decrypt,
    .ec_sign = p11_p12_ec_sign,
    .random = p11_p12_random,
    .present = p12_present,
    .close = p12_close,
};

CK_RV p11_p12_open(ks_p12_ctx *ctx, const char *path, const ks_pwrule *rule, p11_token **out)
{
    p11_token *t = calloc(1, sizeof(*t));
    p12_token *k = calloc(1, sizeof(*k));

    *out = NULL;
    if (!ctx || !path || !rule) {
        free(k);
        free(t);
        return CKR_ARGUMENTS_BAD;
    }
    if (!t || !k || !(k->path = strdup(path))) {
        free(k);
        free(t);
        return CKR_HOST_MEMORY;
    }
    const char *slash = strrchr(k->path, '/');
    k->name = slash ? (char *)slash + 1 : k->path;
    k->ctx = ctx;
    k->rule = *rule;
    t->ops = &p12_ops;
    t->drv = k;
    *out = t;
    return CKR_OK;
}
