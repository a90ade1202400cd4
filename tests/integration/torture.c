/* torture: crash consistency of a token under SIGKILL, through the module.
 *
 *   torture MODULE FAMILY HOME ITERATIONS SEED [P12DIR]
 *
 * FAMILY is kaztoken, etoken, jacarta (the embedded card of HOME) or pkcs12 (the one
 * .p12 file in P12DIR). Each iteration starts a worker (this program again, exec'd) that
 * dlopens the module and loops over key-pair generation, certificate writes, object
 * removal, PIN changes and wrong-PIN logins, logging each step's start and end to a file
 * with write(2) (a killed process loses nothing it wrote). Once the worker is in its
 * loop it is killed with SIGKILL at a random moment, and the checker, this process:
 *   - opens the card image with the card engine (sim_card_open, sim_card_get_info): it
 *     always loads;
 *   - finds which PIN opens the token, on a copy of the token (so its own guesses cost
 *     the real token nothing): the old one or the new one of a PIN change in flight,
 *     the new one after a change that returned;
 *   - checks the user PIN's tries left against the log: never more than before, except
 *     through a correct PIN verified; exactly what the finished wrong attempts spent,
 *     give or take the one in flight;
 *   - logs in on the copy and checks every object: every private key signs and the
 *     signature verifies with its public key, every certificate parses; every object of
 *     the last check is still there unless its removal was started, every finished
 *     generation or write is there, every finished removal is gone, and nothing appears
 *     that no step of this iteration started.
 * Prints a summary; exit 0 when every iteration held. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <p11-kit/pkcs11.h>

#include "sim.h"

#define MAX_OBJS 64
#define ID_LEN   8

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "torture: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

typedef struct family {
    const char *name;
    const char *pin_a, *pin_b; /* the PIN changes go back and forth between these */
    const char *wrong;
    bool card;
} family;

static const family families[] = {
    {"kaztoken", "12345678", "24681357", "99999999", true},
    {"etoken", "1234567890", "1357924680", "9999999999", true},
    {"jacarta", "1234567890", "1357924680", "9999999999", true},
    {"pkcs12", "Qwerty12", "Alma2024ty", "Wrong2024x", false},
};

/* ---- the module ---------------------------------------------------------------- */

static CK_FUNCTION_LIST_PTR load_module(const char *path, void **lib)
{
    CK_FUNCTION_LIST_PTR f = NULL;
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (*lib == NULL)
        die("dlopen %s: %s", path, dlerror());
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(*lib, "C_GetFunctionList");
    if (get == NULL || get(&f) != CKR_OK)
        die("C_GetFunctionList");
    return f;
}

static void options(char *out, size_t cap, const family *fam, const char *home, const char *p12)
{
    if (fam->card)
        snprintf(out, cap, "home=%s pcsc=0 pkcs12=0 vendor=%s", home, fam->name);
    else
        snprintf(out, cap, "home=%s pcsc=0 embedded=0 vendor=all p12_path=%s", home, p12);
}

static CK_RV open_session(CK_FUNCTION_LIST_PTR f, const char *opts, CK_SESSION_HANDLE *h)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = (void *)opts};
    CK_SLOT_ID slots[4];
    CK_ULONG n = 4;
    CK_RV rv = f->C_Initialize(&a);
    if (rv != CKR_OK)
        return rv;
    rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK)
        return rv;
    if (n != 1)
        die("%lu slots with a token, want 1", n);
    return f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, h);
}

/* ---- the worker ------------------------------------------------------------------ */

static int log_fd = -1;

static void wlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void wlog(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof(line) - 2)
        die("log line too long");
    line[n++] = '\n';
    if (write(log_fd, line, (size_t)n) != n)
        die("log write: %s", strerror(errno));
}

static void hex(const CK_BYTE *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    out[2 * n] = '\0';
}

/* A fresh self-signed certificate (software EC key): every write is a new one. Its
 * SubjectKeyIdentifier is id, which a PKCS#12 token takes as the CKA_ID (a card takes
 * the CKA_ID given). */
static unsigned char *make_cert(const CK_BYTE *id, int *len)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    unsigned char *der = NULL;
    if (k == NULL || x == NULL)
        die("cannot make a certificate key");
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x),
                            (uint64_t)random() << 16 ^ (uint64_t)random());
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"vtoken torture", -1,
                               -1, 0);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, k);
    ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
    if (ski == NULL || !ASN1_OCTET_STRING_set(ski, id, ID_LEN) ||
        X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) != 1)
        die("cannot add the key identifier");
    ASN1_OCTET_STRING_free(ski);
    if (X509_sign(x, k, EVP_sha256()) <= 0)
        die("cannot sign a certificate");
    *len = i2d_X509(x, &der);
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

typedef struct wstate {
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE h;
    const family *fam;
    const char *pin; /* the current user PIN */
    bool logged_in;
} wstate;

static CK_RV w_login(wstate *w)
{
    wlog("L+");
    CK_RV rv = w->f->C_Login(w->h, CKU_USER, (CK_UTF8CHAR_PTR)w->pin, strlen(w->pin));
    wlog("L- %lu", rv);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        w->logged_in = true;
    return rv;
}

static void w_keygen(wstate *w)
{
    CK_BYTE id[ID_LEN];
    char idh[2 * ID_LEN + 1];
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_ULONG bits = 1024;
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_HANDLE pub, priv;
    RAND_bytes(id, sizeof(id));
    hex(id, sizeof(id), idh);
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_VERIFY, &yes, sizeof(yes)},
                           {CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_ID, id, sizeof(id)},
                           {CKA_LABEL, idh, 2 * ID_LEN}};
    CK_ATTRIBUTE privt[] = {{CKA_SIGN, &yes, sizeof(yes)},
                            {CKA_TOKEN, &yes, sizeof(yes)},
                            {CKA_ID, id, sizeof(id)},
                            {CKA_LABEL, idh, 2 * ID_LEN}};
    wlog("K+ %s", idh);
    CK_RV rv = w->f->C_GenerateKeyPair(w->h, &gen, pubt, 5, privt, 4, &pub, &priv);
    wlog("K- %s %lu", idh, rv);
}

static void w_cert(wstate *w)
{
    CK_BYTE id[ID_LEN];
    char idh[2 * ID_LEN + 1];
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_OBJECT_HANDLE o;
    int len;
    RAND_bytes(id, sizeof(id));
    hex(id, sizeof(id), idh);
    unsigned char *der = make_cert(id, &len);
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)},
                        {CKA_TOKEN, &yes, sizeof(yes)}, {CKA_ID, id, sizeof(id)},
                        {CKA_LABEL, idh, 2 * ID_LEN},   {CKA_VALUE, der, (CK_ULONG)len}};
    wlog("C+ %s", idh);
    CK_RV rv = w->f->C_CreateObject(w->h, t, 6, &o);
    wlog("C- %s %lu", idh, rv);
    OPENSSL_free(der);
}

/* Remove one object (of the ones this session sees), logged by CKA_ID and class. */
static void w_destroy(wstate *w, bool only_if_many)
{
    CK_OBJECT_HANDLE objs[MAX_OBJS];
    CK_ULONG n = 0;
    if (w->f->C_FindObjectsInit(w->h, NULL, 0) != CKR_OK)
        return;
    w->f->C_FindObjects(w->h, objs, MAX_OBJS, &n);
    w->f->C_FindObjectsFinal(w->h);
    if (n == 0 || (only_if_many && n < 12))
        return;
    CK_OBJECT_HANDLE o = objs[random() % n];
    CK_BYTE id[64];
    CK_OBJECT_CLASS cls;
    CK_ATTRIBUTE a[] = {{CKA_ID, id, sizeof(id)}, {CKA_CLASS, &cls, sizeof(cls)}};
    if (w->f->C_GetAttributeValue(w->h, o, a, 2) != CKR_OK || a[0].ulValueLen != ID_LEN)
        return; /* not one of ours */
    if (!w->fam->card && cls == CKO_PUBLIC_KEY)
        return; /* a file's public key is its private key's: it goes with that one */
    char idh[2 * ID_LEN + 1];
    hex(id, ID_LEN, idh);
    wlog("D+ %s %lu", idh, cls);
    CK_RV rv = w->f->C_DestroyObject(w->h, o);
    wlog("D- %s %lu %lu", idh, cls, rv);
}

static void w_setpin(wstate *w)
{
    const char *next = strcmp(w->pin, w->fam->pin_a) == 0 ? w->fam->pin_b : w->fam->pin_a;
    wlog("P+ %s %s", w->pin, next);
    CK_RV rv = w->f->C_SetPIN(w->h, (CK_UTF8CHAR_PTR)w->pin, strlen(w->pin), (CK_UTF8CHAR_PTR)next,
                              strlen(next));
    wlog("P- %lu", rv);
    if (rv == CKR_OK)
        w->pin = next;
}

static void w_wrong(wstate *w)
{
    if (w->logged_in) {
        wlog("X+");
        CK_RV rv = w->f->C_Logout(w->h);
        wlog("X- %lu", rv);
        w->logged_in = false;
    }
    wlog("W+");
    CK_RV rv = w->f->C_Login(w->h, CKU_USER, (CK_UTF8CHAR_PTR)w->fam->wrong, strlen(w->fam->wrong));
    wlog("W- %lu", rv);
    if (rv != CKR_PIN_INCORRECT)
        die("wrong PIN answered %lu", rv);
    w_login(w); /* back to full tries before the next wrong one */
}

static int worker(int argc, char **argv)
{
    /* worker MODULE FAMILY HOME P12DIR PIN LOGFILE READYFD SEED */
    if (argc != 10)
        die("worker: bad arguments");
    const family *fam = NULL;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (strcmp(families[i].name, argv[3]) == 0)
            fam = &families[i];
    if (fam == NULL)
        die("unknown family %s", argv[3]);
    log_fd = open(argv[7], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (log_fd < 0)
        die("log %s: %s", argv[7], strerror(errno));
    int ready = atoi(argv[8]);
    srandom((unsigned)strtoul(argv[9], NULL, 10));
    void *lib;
    char opts[1024];
    wstate w = {.f = load_module(argv[2], &lib), .fam = fam, .pin = argv[6]};
    options(opts, sizeof(opts), fam, argv[4], argv[5]);
    CK_RV rv = open_session(w.f, opts, &w.h);
    if (rv != CKR_OK)
        die("worker: open session: %lu", rv);
    if (w_login(&w) != CKR_OK)
        die("worker: login with %s failed", w.pin);
    if (write(ready, "R", 1) != 1)
        die("ready pipe");
    close(ready);
    for (;;) {
        long r = random() % 100;
        if (!w.logged_in && w_login(&w) != CKR_OK)
            die("worker: login failed");
        if (r < 25)
            w_keygen(&w);
        else if (r < 45)
            w_cert(&w);
        else if (r < 60)
            w_setpin(&w);
        else if (r < 80)
            w_wrong(&w);
        else
            w_destroy(&w, false);
        w_destroy(&w, true); /* keep the token from filling up */
    }
}

/* ---- the checker ------------------------------------------------------------------ */

typedef struct obj {
    char id[2 * ID_LEN + 1];
    CK_OBJECT_CLASS cls;
} obj;

typedef struct objset {
    obj v[MAX_OBJS];
    size_t n;
} objset;

static bool has(const objset *s, const char *id, CK_OBJECT_CLASS cls)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].cls == cls && strcmp(s->v[i].id, id) == 0)
            return true;
    return false;
}

/* What the log of one iteration says. */
typedef struct event {
    char kind; /* K C D P W L X */
    bool begin;
    char id[2 * ID_LEN + 1];
    CK_OBJECT_CLASS cls;
    CK_RV rv;
    char pin_old[40], pin_new[40];
} event;

typedef struct tally {
    unsigned iterations, keygens, certs, destroys, pin_changes, wrong, in_flight;
    unsigned pin_changed_in_flight_old, pin_changed_in_flight_new;
    unsigned tries_spent_in_flight;
} tally;

static size_t read_log(const char *path, event *ev, size_t cap)
{
    char line[256];
    size_t n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (n < cap && fgets(line, sizeof(line), f) != NULL) {
        event *e = &ev[n];
        memset(e, 0, sizeof(*e));
        if (line[0] == '\0' || strchr("KCDPWLX", line[0]) == NULL ||
            (line[1] != '+' && line[1] != '-'))
            continue;
        e->kind = line[0];
        e->begin = line[1] == '+';
        switch (e->kind) {
        case 'K':
        case 'C':
            if (e->begin)
                sscanf(line + 3, "%16s", e->id);
            else
                sscanf(line + 3, "%16s %lu", e->id, &e->rv);
            break;
        case 'D':
            if (e->begin)
                sscanf(line + 3, "%16s %lu", e->id, &e->cls);
            else
                sscanf(line + 3, "%16s %lu %lu", e->id, &e->cls, &e->rv);
            break;
        case 'P':
            if (e->begin)
                sscanf(line + 3, "%39s %39s", e->pin_old, e->pin_new);
            else
                sscanf(line + 3, "%lu", &e->rv);
            break;
        default:
            if (!e->begin)
                sscanf(line + 3, "%lu", &e->rv);
        }
        n++;
    }
    fclose(f);
    return n;
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    if (system(cmd) != 0)
        die("cannot copy %s", from);
}

/* Log in on a copy of the token: does pin open it? The copy is left for the object check. */
static CK_RV try_pin(CK_FUNCTION_LIST_PTR f, const family *fam, const char *home, const char *p12,
                     const char *scratch, const char *pin, CK_SESSION_HANDLE *h)
{
    char opts[8192], home2[1024], p122[1024];
    snprintf(home2, sizeof(home2), "%s/home", scratch);
    snprintf(p122, sizeof(p122), "%s/p12", scratch);
    copy_tree(home, home2);
    if (!fam->card)
        copy_tree(p12, p122);
    options(opts, sizeof(opts), fam, home2, p122);
    CK_RV rv = open_session(f, opts, h);
    if (rv != CKR_OK)
        die("checker: the module cannot open a session on the token: %lu", rv);
    rv = f->C_Login(*h, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    if (rv != CKR_OK)
        f->C_Finalize(NULL);
    return rv;
}

static CK_RV attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                  CK_ATTRIBUTE_TYPE t, void *buf, CK_ULONG *len)
{
    CK_ATTRIBUTE a = {t, buf, *len};
    CK_RV rv = f->C_GetAttributeValue(h, o, &a, 1);
    *len = a.ulValueLen;
    return rv;
}

/* Every object complete: keys sign and verify, certificates parse. Fills out. */
static void check_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE h, objset *out, unsigned it)
{
    CK_OBJECT_HANDLE objs[MAX_OBJS];
    CK_ULONG n = 0;
    if (f->C_FindObjectsInit(h, NULL, 0) != CKR_OK ||
        f->C_FindObjects(h, objs, MAX_OBJS, &n) != CKR_OK || f->C_FindObjectsFinal(h) != CKR_OK)
        die("iteration %u: cannot list the objects", it);
    out->n = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_BYTE id[64], buf[4096];
        CK_OBJECT_CLASS cls;
        CK_ULONG l = sizeof(cls);
        if (attr(f, h, objs[i], CKA_CLASS, &cls, &l) != CKR_OK)
            die("iteration %u: object without a class", it);
        l = sizeof(id);
        if (attr(f, h, objs[i], CKA_ID, id, &l) != CKR_OK || l != ID_LEN)
            continue; /* not one of ours (the file's own key and certificate) */
        obj *o = &out->v[out->n++];
        hex(id, ID_LEN, o->id);
        o->cls = cls;
        if (cls == CKO_CERTIFICATE) {
            l = sizeof(buf);
            if (attr(f, h, objs[i], CKA_VALUE, buf, &l) != CKR_OK)
                die("iteration %u: certificate %s has no value", it, o->id);
            const unsigned char *p = buf;
            X509 *x = d2i_X509(NULL, &p, (long)l);
            if (x == NULL || p != buf + l)
                die("iteration %u: certificate %s does not parse", it, o->id);
            X509_free(x);
        } else if (cls == CKO_PUBLIC_KEY) {
            l = sizeof(buf);
            if (attr(f, h, objs[i], CKA_MODULUS, buf, &l) != CKR_OK || l < 128)
                die("iteration %u: public key %s has no modulus", it, o->id);
        } else if (cls == CKO_PRIVATE_KEY) {
            CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
            CK_BYTE msg[] = "torture", sig[512];
            CK_ULONG sl = sizeof(sig);
            CK_RV rv;
            if ((rv = f->C_SignInit(h, &m, objs[i])) != CKR_OK ||
                (rv = f->C_Sign(h, msg, sizeof(msg), sig, &sl)) != CKR_OK)
                die("iteration %u: private key %s does not sign: %lu", it, o->id, rv);
            /* and its public half (when there) agrees */
            CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
            CK_ATTRIBUTE q[] = {{CKA_CLASS, &pc, sizeof(pc)}, {CKA_ID, id, ID_LEN}};
            CK_OBJECT_HANDLE pub;
            CK_ULONG np = 0;
            if (f->C_FindObjectsInit(h, q, 2) == CKR_OK &&
                f->C_FindObjects(h, &pub, 1, &np) == CKR_OK)
                f->C_FindObjectsFinal(h);
            if (np == 1 && ((rv = f->C_VerifyInit(h, &m, pub)) != CKR_OK ||
                            (rv = f->C_Verify(h, msg, sizeof(msg), sig, sl)) != CKR_OK))
                die("iteration %u: key pair %s does not verify: %lu", it, o->id, rv);
        }
    }
}

/* Objects: what was there stays unless its removal started; what finished is there or
 * gone; nothing comes from nowhere. */
static void check_accounting(const family *fam, const objset *before, const objset *after,
                             const event *ev, size_t nev, unsigned it, tally *t)
{
    for (size_t i = 0; i < before->n; i++) {
        const obj *o = &before->v[i];
        bool removing = false, removed = false;
        /* a PKCS#12 file's public key is a view of its private key */
        CK_OBJECT_CLASS also = !fam->card && o->cls == CKO_PUBLIC_KEY ? CKO_PRIVATE_KEY : o->cls;
        for (size_t k = 0; k < nev; k++)
            if (ev[k].kind == 'D' && strcmp(ev[k].id, o->id) == 0 &&
                (ev[k].cls == o->cls || ev[k].cls == also)) {
                removing = true;
                if (!ev[k].begin && ev[k].rv == CKR_OK)
                    removed = true;
            }
        if (!removing && !has(after, o->id, o->cls))
            die("iteration %u: object %s (class %lu) vanished", it, o->id, o->cls);
        if (removed && has(after, o->id, o->cls))
            die("iteration %u: object %s (class %lu) came back after its removal", it, o->id,
                o->cls);
    }
    for (size_t k = 0; k < nev; k++) {
        const event *e = &ev[k];
        if (e->begin || e->rv != CKR_OK)
            continue;
        bool later_removal = false;
        for (size_t j = k + 1; j < nev; j++)
            if (ev[j].kind == 'D' && strcmp(ev[j].id, e->id) == 0)
                later_removal = true;
        if (later_removal)
            continue;
        if (e->kind == 'K' &&
            (!has(after, e->id, CKO_PRIVATE_KEY) || !has(after, e->id, CKO_PUBLIC_KEY)))
            die("iteration %u: generated key pair %s is missing", it, e->id);
        if (e->kind == 'C' && !has(after, e->id, CKO_CERTIFICATE))
            die("iteration %u: written certificate %s is missing", it, e->id);
    }
    for (size_t i = 0; i < after->n; i++) {
        const obj *o = &after->v[i];
        if (has(before, o->id, o->cls))
            continue;
        bool started = false;
        for (size_t k = 0; k < nev; k++)
            if (ev[k].begin && strcmp(ev[k].id, o->id) == 0 &&
                ((ev[k].kind == 'K' && o->cls != CKO_CERTIFICATE) ||
                 (ev[k].kind == 'C' && o->cls == CKO_CERTIFICATE)))
                started = true;
        if (!started)
            die("iteration %u: object %s (class %lu) appeared from nowhere", it, o->id, o->cls);
        /* an object of a step that did not finish: the kill landed inside it */
        bool finished = false;
        for (size_t k = 0; k < nev; k++)
            if (!ev[k].begin && strcmp(ev[k].id, o->id) == 0 && ev[k].kind != 'D')
                finished = true;
        if (!finished)
            t->in_flight++;
    }
}

/* The user PIN's tries left after the kill, against the log. */
static void check_tries(int before, int after, int max, const event *ev, size_t nev, unsigned it,
                        tally *t)
{
    /* the base: the last correct verification that surely happened resets to max */
    int base = before;
    size_t from = 0;
    for (size_t k = 0; k < nev; k++)
        if (!ev[k].begin && ((ev[k].kind == 'L' && ev[k].rv == CKR_OK) ||
                             (ev[k].kind == 'P' && ev[k].rv == CKR_OK))) {
            base = max;
            from = k + 1;
        }
    int spent = 0, maybe = 0;
    bool correct_in_flight = false;
    for (size_t k = from; k < nev; k++) {
        if (ev[k].kind == 'W' && !ev[k].begin)
            spent++;
        if (ev[k].kind == 'W' && ev[k].begin && (k + 1 == nev || ev[k + 1].kind != 'W'))
            maybe = 1; /* the kill landed in a wrong attempt */
        if ((ev[k].kind == 'L' || ev[k].kind == 'P') && ev[k].begin && k + 1 == nev)
            correct_in_flight = true;
    }
    if (after > before && base != max && !correct_in_flight)
        die("iteration %u: a PIN try was given back (%d tries before, %d after, no correct PIN)",
            it, before, after);
    bool ok = after == base - spent || (maybe && after == base - spent - 1);
    /* a correct verification in flight: done (max), or killed after its try was saved */
    if (correct_in_flight)
        ok = ok || after == max || after == base - spent - 1;
    if (!ok)
        die("iteration %u: %d tries left, want %d (base %d, %d wrong PINs finished%s%s)", it, after,
            base - spent, base, spent, maybe ? ", one in flight" : "",
            correct_in_flight ? ", a correct one in flight" : "");
    if (after < base - spent)
        t->tries_spent_in_flight++;
}

static int card_tries(const char *image, int *max)
{
    sim_card *card = NULL;
    sim_card_info info;
    char *why = NULL;
    sim_status st = sim_card_open(image, &card, &why);
    if (st != SIM_OK)
        die("the card image %s does not load: %s: %s", image, sim_strerror(st), why ? why : "");
    if (sim_card_get_info(card, &info) != SIM_OK)
        die("no summary of %s", image);
    sim_card_close(card);
    *max = info.user_tries_max;
    return info.user_tries_left;
}

static int checker(int argc, char **argv)
{
    /* torture MODULE FAMILY HOME ITERATIONS SEED [P12DIR] */
    if (argc != 6 && argc != 7)
        die("usage: torture MODULE FAMILY HOME ITERATIONS SEED [P12DIR]");
    const char *module = argv[1], *home = argv[3], *p12 = argc == 7 ? argv[6] : "";
    unsigned iterations = (unsigned)strtoul(argv[4], NULL, 10);
    unsigned seed = (unsigned)strtoul(argv[5], NULL, 10);
    const family *fam = NULL;
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (strcmp(families[i].name, argv[2]) == 0)
            fam = &families[i];
    if (fam == NULL || (!fam->card && argc != 7))
        die("unknown family %s (pkcs12 needs P12DIR)", argv[2]);
    srandom(seed);

    char image[1024], logpath[1024], scratch[1024], self[1024];
    snprintf(image, sizeof(image), "%s/tokens/%s.img", home, fam->name);
    snprintf(logpath, sizeof(logpath), "%s.torture.log", home);
    snprintf(scratch, sizeof(scratch), "%s.scratch", home);
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl <= 0)
        die("cannot find myself");
    self[sl] = '\0';
    mkdir(scratch, 0700);

    void *lib;
    CK_FUNCTION_LIST_PTR f = load_module(module, &lib);
    const char *pin = fam->pin_a;
    objset known = {0}, now;
    int max = 0, tries = fam->card ? card_tries(image, &max) : 0;
    tally t = {0};
    static event ev[100000];

    for (unsigned it = 1; it <= iterations; it++) {
        int pipefd[2];
        char rfd[16], sd[16];
        if (pipe(pipefd) != 0)
            die("pipe");
        unlink(logpath);
        snprintf(rfd, sizeof(rfd), "%d", pipefd[1]);
        snprintf(sd, sizeof(sd), "%u", seed + it);
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            close(pipefd[0]);
            execl(self, self, "worker", module, fam->name, home, p12, pin, logpath, rfd, sd,
                  (char *)NULL);
            _exit(127);
        }
        close(pipefd[1]);
        char c;
        if (read(pipefd[0], &c, 1) != 1) {
            int st;
            waitpid(pid, &st, 0);
            die("iteration %u: the worker did not start (status %d)", it, st);
        }
        close(pipefd[0]);
        /* somewhere in the loop: a key generation takes some ms, a PIN change a few */
        struct timespec d = {0, (long)(random() % 120000 + 500) * 1000};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st))
            die("iteration %u: the worker ended on its own (status %d): see its stderr", it, st);

        size_t nev = read_log(logpath, ev, sizeof(ev) / sizeof(ev[0]));
        /* which PIN may open the token now */
        const char *expect_a = pin, *expect_b = NULL;
        for (size_t k = 0; k < nev; k++) {
            if (ev[k].kind != 'P')
                continue;
            if (ev[k].begin) {
                expect_a = strcmp(ev[k].pin_old, fam->pin_a) == 0 ? fam->pin_a : fam->pin_b;
                expect_b = strcmp(ev[k].pin_new, fam->pin_a) == 0 ? fam->pin_a : fam->pin_b;
            } else if (ev[k].rv == CKR_OK) {
                expect_a = expect_b;
                expect_b = NULL;
            } else {
                expect_b = NULL;
            }
        }
        int after = 0;
        if (fam->card)
            after = card_tries(image, &max);
        CK_SESSION_HANDLE h;
        CK_RV rv = try_pin(f, fam, home, p12, scratch, expect_a, &h);
        const char *opened = expect_a;
        if (rv != CKR_OK && expect_b != NULL) {
            rv = try_pin(f, fam, home, p12, scratch, expect_b, &h);
            opened = expect_b;
        }
        if (rv != CKR_OK)
            die("iteration %u: neither %s nor %s opens the token (%lu)", it, expect_a,
                expect_b ? expect_b : "-", rv);
        if (expect_b != NULL)
            strcmp(opened, expect_a) == 0 ? t.pin_changed_in_flight_old++
                                          : t.pin_changed_in_flight_new++;
        pin = opened;
        if (fam->card)
            check_tries(tries, after, max, ev, nev, it, &t);
        tries = after;
        check_objects(f, h, &now, it);
        check_accounting(fam, &known, &now, ev, nev, it, &t);
        f->C_Finalize(NULL);
        known = now;
        for (size_t k = 0; k < nev; k++) {
            if (ev[k].begin)
                continue;
            /* every step that returned did what it should, or found the token full */
            CK_RV want = ev[k].kind == 'W' ? CKR_PIN_INCORRECT : CKR_OK;
            if (ev[k].rv != want && !(ev[k].rv == CKR_DEVICE_MEMORY && strchr("KC", ev[k].kind)))
                die("iteration %u: step %c answered 0x%lx", it, ev[k].kind, ev[k].rv);
            t.keygens += ev[k].kind == 'K' && ev[k].rv == CKR_OK;
            t.certs += ev[k].kind == 'C' && ev[k].rv == CKR_OK;
            t.destroys += ev[k].kind == 'D' && ev[k].rv == CKR_OK;
            t.pin_changes += ev[k].kind == 'P' && ev[k].rv == CKR_OK;
            t.wrong += ev[k].kind == 'W';
        }
        t.iterations++;
    }
    printf("%s: %u iterations: %u key pairs, %u certificates, %u removals, %u PIN changes, %u "
           "wrong PINs finished; kills inside a step that left its object: %u; inside a PIN "
           "change: %u old, %u new; inside a wrong PIN that had spent its try: %u; %zu objects "
           "at the end\n",
           fam->name, t.iterations, t.keygens, t.certs, t.destroys, t.pin_changes, t.wrong,
           t.in_flight, t.pin_changed_in_flight_old, t.pin_changed_in_flight_new,
           t.tries_spent_in_flight, known.n);
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        die("cannot remove %s", scratch);
    unlink(logpath);
    dlclose(lib);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "worker") == 0)
        return worker(argc, argv);
    return checker(argc, argv);
}
