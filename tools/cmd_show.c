/* `vtoken show TOKEN`: the token's objects as the module lists them. Certificates are
 * decoded (subject, issuer, serial, validity, key) and given in NCALayer's key-entry
 * form; keys show their type, size and the flags that say where they came from. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certview.h"
#include "json.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

static const char show_help[] =
    "Usage: vtoken show TOKEN [--pin PIN | --pin-file FILE | --login] [--home DIR] [--json]\n"
    "\n"
    "Show the objects on a token: certificates (subject, issuer, serial, validity, key,\n"
    "SubjectKeyIdentifier and NCALayer's key entry alg|CN|serialHex|alias, where alias is\n"
    "the SKI in hex), private and public keys (type, size, use, sensitive, extractable,\n"
    "local = generated on the token) and data objects. Without a PIN only public objects\n"
    "are visible; with one the user logs in and private objects are listed too.\n"
    "\n"
    "TOKEN is a name from vtoken.conf (see 'vtoken list'), slot:N, label:LABEL, or a\n"
    "PKCS#12 file (FILE.p12, in a directory the module serves: $VTOKEN_P12_PATH, else\n"
    "path= under [pkcs12] in vtoken.conf). The same holds for every token command.\n"
    "\n"
    "Options:\n"
    "  --pin PIN        log in with this user PIN (visible to other users: prefer the next)\n"
    "  --pin-file FILE  read the user PIN from the first line of FILE ('-': standard input)\n"
    "  --login          log in, asking for the PIN on the terminal (or reading stdin)\n"
    "  --module PATH    the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                   else the installed one)\n"
    "  --home DIR       the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json           machine-readable output (one JSON object)\n"
    "  -h, --help       this text\n"
    "\n" VTOKEN_EXIT_HELP;

typedef struct show_opts {
    bool json;
    bool logged_in;
} show_opts;

/* Text that may hold anything: control characters are shown as '?'. */
static void print_safe(const char *s)
{
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *class_word(CK_OBJECT_CLASS c)
{
    switch (c) {
    case CKO_CERTIFICATE:
        return "certificate";
    case CKO_PRIVATE_KEY:
        return "private-key";
    case CKO_PUBLIC_KEY:
        return "public-key";
    case CKO_SECRET_KEY:
        return "secret-key";
    case CKO_DATA:
        return "data";
    default:
        return "other";
    }
}

static const char *key_type_word(CK_KEY_TYPE k)
{
    switch (k) {
    case CKK_RSA:
        return "RSA";
    case CKK_EC:
        return "EC";
    case CK_UNAVAILABLE_INFORMATION:
        return "?";
    default:
        return "vendor";
    }
}

/* Size in bits: CKA_MODULUS_BITS, else the modulus length. */
static CK_ULONG key_bits(tok_ctx *t, CK_OBJECT_HANDLE h)
{
    CK_ULONG bits = tok_attr_ulong(t, h, CKA_MODULUS_BITS, 0);
    uint8_t *mod = NULL;
    size_t len = 0;

    if (bits == 0 && tok_attr(t, h, CKA_MODULUS, &mod, &len) == CKR_OK) {
        size_t i = 0;
        while (i < len && mod[i] == 0)
            i++;
        bits = (CK_ULONG)(len - i) * 8;
    }
    free(mod);
    return bits;
}

typedef struct obj_view {
    CK_OBJECT_CLASS cls;
    char *id;    /* hex */
    char *label; /* UTF-8 as stored */
    bool private_, modifiable;
    /* keys */
    CK_KEY_TYPE kt;
    CK_ULONG bits;
    bool sign, decrypt, verify, encrypt, sensitive, extractable, local, always_auth;
    /* certificates */
    bool cert_ok;
    cert_view cert;
    char *entry;      /* NCALayer's key entry, with the CKA_ID as alias when there is no SKI */
    size_t value_len; /* certificate DER, data value */
    char *application;
} obj_view;

static void obj_view_free(obj_view *o)
{
    free(o->id);
    free(o->label);
    free(o->application);
    free(o->entry);
    cert_view_free(&o->cert);
}

static CK_RV read_obj(tok_ctx *t, CK_OBJECT_HANDLE h, obj_view *o)
{
    uint8_t *v = NULL;
    size_t len = 0;
    CK_RV rv;

    memset(o, 0, sizeof(*o));
    o->cls = tok_attr_ulong(t, h, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
    if (tok_attr(t, h, CKA_ID, &v, &len) == CKR_OK)
        o->id = tok_hex(v, len);
    free(v);
    if (tok_attr(t, h, CKA_LABEL, &v, &len) == CKR_OK)
        o->label = (char *)v; /* NUL-terminated by tok_attr */
    else
        free(v);
    v = NULL;
    if (!o->id)
        o->id = tok_hex(NULL, 0);
    if (!o->label) {
        o->label = malloc(1);
        if (o->label)
            o->label[0] = '\0';
    }
    if (!o->id || !o->label)
        return CKR_HOST_MEMORY;
    o->private_ = tok_attr_bool(t, h, CKA_PRIVATE, false);
    o->modifiable = tok_attr_bool(t, h, CKA_MODIFIABLE, true);
    switch (o->cls) {
    case CKO_PRIVATE_KEY:
    case CKO_PUBLIC_KEY:
        o->kt = tok_attr_ulong(t, h, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
        o->bits = o->kt == CKK_RSA ? key_bits(t, h) : 0;
        o->local = tok_attr_bool(t, h, CKA_LOCAL, false);
        if (o->cls == CKO_PRIVATE_KEY) {
            o->sign = tok_attr_bool(t, h, CKA_SIGN, false);
            o->decrypt = tok_attr_bool(t, h, CKA_DECRYPT, false);
            o->sensitive = tok_attr_bool(t, h, CKA_SENSITIVE, true);
            o->extractable = tok_attr_bool(t, h, CKA_EXTRACTABLE, false);
            o->always_auth = tok_attr_bool(t, h, CKA_ALWAYS_AUTHENTICATE, false);
        } else {
            o->verify = tok_attr_bool(t, h, CKA_VERIFY, false);
            o->encrypt = tok_attr_bool(t, h, CKA_ENCRYPT, false);
        }
        break;
    case CKO_CERTIFICATE:
        rv = tok_attr(t, h, CKA_VALUE, &v, &len);
        if (rv == CKR_OK) {
            o->value_len = len;
            o->cert_ok = cert_view_parse(v, len, &o->cert);
            if (o->cert_ok)
                o->entry = cert_view_entry(&o->cert, o->id);
        }
        free(v);
        break;
    case CKO_DATA:
        if (tok_attr(t, h, CKA_APPLICATION, &v, &len) == CKR_OK)
            o->application = (char *)v;
        else
            free(v);
        v = NULL;
        if (tok_attr(t, h, CKA_VALUE, &v, &len) == CKR_OK)
            o->value_len = len;
        free(v);
        break;
    default:
        break;
    }
    return CKR_OK;
}

/* NCALayer's alias is the SKI; a certificate without one is known by its CKA_ID. */
static const char *alias_of(const obj_view *o)
{
    return o->cert.ski[0] ? o->cert.ski : o->id;
}

static void print_obj_text(const obj_view *o)
{
    printf("%s", class_word(o->cls));
    printf("  id=%s  label=\"", o->id[0] ? o->id : "-");
    print_safe(o->label);
    printf("\"%s\n", o->private_ ? "  private" : "");
    switch (o->cls) {
    case CKO_PRIVATE_KEY:
        printf("  key:       %s %lu\n", key_type_word(o->kt), (unsigned long)o->bits);
        printf("  use:       %s%s%s\n", o->sign ? "sign " : "", o->decrypt ? "decrypt " : "",
               o->always_auth ? "(PIN each use)" : "");
        printf("  flags:     %s, %s, %s\n", o->sensitive ? "sensitive" : "NOT sensitive",
               o->extractable ? "extractable" : "not extractable",
               o->local ? "generated on the token" : "imported");
        break;
    case CKO_PUBLIC_KEY:
        printf("  key:       %s %lu\n", key_type_word(o->kt), (unsigned long)o->bits);
        printf("  use:       %s%s\n", o->verify ? "verify " : "", o->encrypt ? "encrypt" : "");
        break;
    case CKO_CERTIFICATE:
        if (!o->cert_ok) {
            printf("  (%zu bytes that are not an X.509 certificate)\n", o->value_len);
            break;
        }
        printf("  subject:   ");
        print_safe(o->cert.subject);
        printf("\n  issuer:    ");
        print_safe(o->cert.issuer);
        printf("\n  serial:    %s\n", o->cert.serial);
        printf("  valid:     %s .. %s%s\n", o->cert.not_before, o->cert.not_after,
               o->cert.expired         ? " (expired)"
               : o->cert.not_yet_valid ? " (not yet valid)"
                                       : "");
        printf("  key:       %s %d\n", o->cert.key_alg, o->cert.key_bits);
        printf("  SKI:       %s\n", o->cert.ski[0] ? o->cert.ski : "(none)");
        printf("  NCALayer:  ");
        print_safe(o->entry ? o->entry : "?");
        putchar('\n');
        break;
    case CKO_DATA:
        printf("  application: ");
        print_safe(o->application ? o->application : "");
        printf("\n  value:     %zu bytes\n", o->value_len);
        break;
    default:
        break;
    }
}

static void json_bool(const char *key, bool v)
{
    printf(",\"%s\":%s", key, v ? "true" : "false");
}

static void json_str(const char *key, const char *v)
{
    printf(",\"%s\":", key);
    vtoken_json_string(stdout, v);
}

static void print_obj_json(const obj_view *o, CK_OBJECT_HANDLE h)
{
    printf("{\"handle\":%lu,\"class\":\"%s\"", (unsigned long)h, class_word(o->cls));
    json_str("id", o->id);
    json_str("label", o->label);
    json_bool("private", o->private_);
    switch (o->cls) {
    case CKO_PRIVATE_KEY:
    case CKO_PUBLIC_KEY:
        printf(",\"key_type\":\"%s\",\"bits\":%lu", key_type_word(o->kt), (unsigned long)o->bits);
        json_bool("local", o->local);
        if (o->cls == CKO_PRIVATE_KEY) {
            json_bool("sign", o->sign);
            json_bool("decrypt", o->decrypt);
            json_bool("sensitive", o->sensitive);
            json_bool("extractable", o->extractable);
            json_bool("always_authenticate", o->always_auth);
        } else {
            json_bool("verify", o->verify);
            json_bool("encrypt", o->encrypt);
        }
        break;
    case CKO_CERTIFICATE:
        printf(",\"size\":%zu", o->value_len);
        if (!o->cert_ok) {
            printf(",\"certificate\":null");
            break;
        }
        printf(",\"certificate\":{\"subject\":");
        vtoken_json_string(stdout, o->cert.subject);
        json_str("issuer", o->cert.issuer);
        json_str("cn", o->cert.cn);
        json_str("serial", o->cert.serial);
        json_str("not_before", o->cert.not_before);
        json_str("not_after", o->cert.not_after);
        json_bool("expired", o->cert.expired);
        json_str("key_algorithm", o->cert.key_alg);
        printf(",\"key_bits\":%d", o->cert.key_bits);
        json_str("ski", o->cert.ski);
        json_str("alias", alias_of(o));
        json_str("ncalayer", o->entry ? o->entry : "");
        printf("}");
        break;
    case CKO_DATA:
        json_str("application", o->application ? o->application : "");
        printf(",\"size\":%zu", o->value_len);
        break;
    default:
        break;
    }
    printf("}");
}

static int show_token(tok_ctx *t, const show_opts *so)
{
    CK_OBJECT_HANDLE *hs = NULL;
    CK_TOKEN_INFO ti;
    char label[33], serial[17];
    size_t n = 0;
    CK_RV rv;
    int rc = VTOKEN_EXIT_OK;

    rv = t->p11.f->C_GetTokenInfo(t->slot, &ti);
    if (rv != CKR_OK)
        return tok_fail(t, "C_GetTokenInfo", rv, CKU_USER);
    tok_unpad(label, sizeof(label), ti.label, sizeof(ti.label));
    tok_unpad(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
    rv = tok_objects(t, NULL, 0, &hs, &n);
    if (rv != CKR_OK)
        return tok_fail(t, "C_FindObjects", rv, CKU_USER);
    if (so->json) {
        printf("{\"token\":");
        vtoken_json_string(stdout, t->name);
        printf(",\"slot\":%lu", (unsigned long)t->slot);
        json_str("label", label);
        json_str("serial", serial);
        json_bool("logged_in", so->logged_in);
        printf(",\"objects\":[");
    } else {
        printf("Token %s (slot %lu): label \"", t->name, (unsigned long)t->slot);
        print_safe(label);
        printf("\", serial %s, %zu object%s%s\n", serial, n, n == 1 ? "" : "s",
               so->logged_in ? "" : " (public only: give --pin for private objects)");
    }
    for (size_t i = 0; i < n; i++) {
        obj_view o;
        rv = read_obj(t, hs[i], &o);
        if (rv != CKR_OK) {
            obj_view_free(&o);
            rc = tok_fail(t, "C_GetAttributeValue", rv, CKU_USER);
            goto out;
        }
        if (so->json) {
            if (i)
                putchar(',');
            print_obj_json(&o, hs[i]);
        } else {
            putchar('\n');
            print_obj_text(&o);
        }
        obj_view_free(&o);
    }
    if (so->json)
        printf("]}\n");
out:
    free(hs);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pin", required_argument, NULL, 'p'},    {"pin-file", required_argument, NULL, 'P'},
        {"login", no_argument, NULL, 'l'},        {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL, *pin_opt = NULL;
    tok_input in = {.cmd = "show"};
    show_opts so = {0};
    bool login = false;
    char pin[256];
    tok_ctx t;
    int opt, rc;

    memset(&t, 0, sizeof(t));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            pin_opt = optarg;
            login = true;
            break;
        case 'P':
            in.file = optarg;
            login = true;
            break;
        case 'l':
            login = true;
            break;
        case 'M':
            module_opt = optarg;
            break;
        case 'H':
            home_opt = optarg;
            break;
        case 'j':
            so.json = true;
            break;
        case 'h':
            fputs(show_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("show", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("show", "missing TOKEN");
    if (optind + 1 < argc)
        return vtoken_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
    if (pin_opt && in.file)
        return vtoken_usage_error("show", "--pin and --pin-file exclude each other");

    rc = tok_begin(&t, "show", home_opt, module_opt);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, argv[optind]);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_open_session(&t, false);
    if (rc == VTOKEN_EXIT_OK && login) {
        rc = tok_secret(&in, "user PIN", pin_opt, false, pin, sizeof(pin));
        if (rc == VTOKEN_EXIT_OK)
            rc = tok_login(&t, CKU_USER, pin);
        vt_wipe(pin, sizeof(pin));
        so.logged_in = rc == VTOKEN_EXIT_OK;
    }
    if (rc == VTOKEN_EXIT_OK)
        rc = show_token(&t, &so);
    tok_input_close(&in);
    tok_end(&t);
    return rc;
}
