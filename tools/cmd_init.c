/* `vtoken init TOKEN --profile P`: a new virtual token, or a replacement for one
 * (--force). The token is a [token NAME] section of vtoken.conf plus a factory card
 * image; a label other than the profile's is then written the way a real token gets one,
 * through the module (C_InitToken with the factory SO PIN, C_InitPIN with the factory
 * user PIN), so the card's own data says it. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config.h"
#include "json.h"
#include "profile.h"
#include "tokcmd.h"
#include "vtoken.h"

static const char init_help[] =
    "Usage: vtoken init TOKEN --profile PROFILE [--label LABEL] [--force]\n"
    "                   [--vpcd-port PORT] [--home DIR] [--json]\n"
    "\n"
    "Create a virtual token named TOKEN: a [token TOKEN] section in vtoken.conf and a\n"
    "factory-fresh card image (default PINs, no keys, a new serial number) at\n"
    "tokens/TOKEN.img. PROFILE is kaztoken, etoken or jacarta. An existing token (or an\n"
    "image left at that path) is replaced only with --force, which erases it.\n"
    "\n"
    "With --label the card is then initialised through the PKCS#11 module as a real one\n"
    "would be (C_InitToken with the factory SO PIN, C_InitPIN with the factory user PIN),\n"
    "so it keeps the factory PINs and shows LABEL (at most 32 bytes).\n"
    "\n"
    "Options:\n"
    "  --profile PROFILE  the token family: kaztoken, etoken or jacarta\n"
    "  --label LABEL      the token label (default: the profile's, e.g. KAZTOKEN)\n"
    "  --force            replace an existing token of that name, erasing it\n"
    "  --vpcd-port PORT   the vpcd port `vtoken sim` uses for it (default: 2 above the\n"
    "                     highest port in vtoken.conf)\n"
    "  --module PATH      the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                     else the installed one)\n"
    "  --home DIR         the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  --json             machine-readable output (one JSON object)\n"
    "  -h, --help         this text\n"
    "\n" VTOKEN_EXIT_HELP;

/* What vtoken.conf accepts as a section name, and what token resolution will not take
 * for something else (slot:N, label:X, FILE.p12). */
static bool good_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return !(n > 4 && (strcasecmp(s + n - 4, ".p12") == 0 || strcasecmp(s + n - 4, ".pfx") == 0));
}

/* 2 above the highest vpcd_port of the home (each vpcd reader entry takes P and P+1). */
static int next_port(const ks_config *c)
{
    long best = 0;
    for (size_t i = 1; i < ks_config_section_count(c); i++) {
        const char *p = ks_config_get(c, i, "vpcd_port");
        long v = p ? strtol(p, NULL, 10) : 0;
        if (strcmp(ks_config_section_type(c, i), "token") == 0 && v > best)
            best = v;
    }
    return best > 0 && best + 2 <= 65535 ? (int)best + 2 : 0;
}

typedef struct init_args {
    const char *name, *profile, *label, *home, *module;
    bool force, json;
    int port;
} init_args;

/* Give the new card its label through the module, keeping the factory PINs. */
static int label_card(const init_args *a, const sim_profile *p, char *serial, size_t serial_cap)
{
    CK_UTF8CHAR label[32];
    CK_TOKEN_INFO ti;
    tok_ctx t;
    CK_RV rv;
    int rc;

    memset(label, ' ', sizeof(label));
    memcpy(label, a->label, strlen(a->label));
    rc = tok_begin(&t, "init", a->home, a->module);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, a->name);
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    rv = t.p11.f->C_InitToken(t.slot, (CK_UTF8CHAR_PTR)p->so.default_pin, strlen(p->so.default_pin),
                              label);
    if (rv != CKR_OK) {
        rc = tok_fail(&t, "C_InitToken", rv, CKU_SO);
        goto out;
    }
    rc = tok_open_session(&t, true);
    if (rc == VTOKEN_EXIT_OK && t.p11.f->C_GetTokenInfo(t.slot, &ti) == CKR_OK &&
        !(ti.flags & CKF_USER_PIN_INITIALIZED)) {
        rc = tok_login(&t, CKU_SO, p->so.default_pin);
        if (rc == VTOKEN_EXIT_OK) {
            rv = t.p11.f->C_InitPIN(t.session, (CK_UTF8CHAR_PTR)p->user.default_pin,
                                    strlen(p->user.default_pin));
            if (rv != CKR_OK)
                rc = tok_fail(&t, "C_InitPIN", rv, CKU_USER);
        }
    }
    if (rc == VTOKEN_EXIT_OK && t.p11.f->C_GetTokenInfo(t.slot, &ti) == CKR_OK)
        tok_unpad(serial, serial_cap, ti.serialNumber, sizeof(ti.serialNumber));
out:
    tok_end(&t);
    return rc;
}

static int do_init(const init_args *a)
{
    const sim_profile *p = sim_profile_by_name(a->profile);
    char dir[4096], conf_path[4200], image[4200], serial[40] = "";
    char *why = NULL;
    sim_home *h = NULL;
    ks_config *c = NULL;
    bool existed;
    struct stat sb;
    sim_status st;
    ks_status ks;
    size_t s;
    int rc = VTOKEN_EXIT_FAILURE;

    if (sim_home_resolve(a->home, dir, sizeof(dir)) != SIM_OK) {
        vtoken_error("init", "no vtoken home: set VTOKEN_HOME or use --home");
        return VTOKEN_EXIT_FAILURE;
    }
    /* Opening creates a fresh home's vtoken.conf and checks the one that is there. */
    st = sim_home_open(dir, &h, &why);
    if (st != SIM_OK) {
        vtoken_error("init", "%s: %s%s%s", dir, sim_strerror(st), why ? ": " : "", why ? why : "");
        goto out;
    }
    const sim_token_conf *old = sim_home_find(h, a->name);
    existed = old != NULL;
    if (existed && !a->force) {
        vtoken_error("init",
                     "token '%s' exists (profile %s, %s): --force replaces it, erasing "
                     "its keys and certificates",
                     a->name, old->profile, old->image);
        goto out;
    }
    if (existed)
        snprintf(image, sizeof(image), "%s", old->image);
    else
        snprintf(image, sizeof(image), "%s/tokens/%s.img", dir, a->name);
    if (!existed && !a->force && stat(image, &sb) == 0) {
        vtoken_error("init",
                     "%s already exists (a card image no token names): --force "
                     "replaces it",
                     image);
        goto out;
    }

    snprintf(conf_path, sizeof(conf_path), "%s/vtoken.conf", dir);
    ks = ks_config_load(conf_path, &c, &why);
    if (ks != KS_OK) {
        vtoken_error("init", "%s: %s", conf_path, why ? why : ks_strerror(ks));
        goto out;
    }
    s = ks_config_find(c, "token", a->name);
    if (s == (size_t)-1) {
        char rel[64], port[16];
        s = ks_config_add_section(c, "token", a->name);
        snprintf(rel, sizeof(rel), "tokens/%s.img", a->name);
        int portv = a->port ? a->port : next_port(c);
        snprintf(port, sizeof(port), "%d", portv);
        if (s == (size_t)-1 || ks_config_set(c, s, "profile", p->name) != KS_OK ||
            ks_config_set(c, s, "image", rel) != KS_OK ||
            (portv && ks_config_set(c, s, "vpcd_port", port) != KS_OK)) {
            vtoken_error("init", "cannot add [token %s] to %s", a->name, conf_path);
            goto out;
        }
    } else if (a->port) {
        char port[16];
        snprintf(port, sizeof(port), "%d", a->port);
        (void)ks_config_set(c, s, "vpcd_port", port);
    }
    if (ks_config_set(c, s, "profile", p->name) != KS_OK) {
        vtoken_error("init", "cannot set the profile in %s", conf_path);
        goto out;
    }
    /* The image first: a token listed without an image would be created by the next
     * sim_home_open as a factory card anyway, but this way a failure leaves vtoken.conf
     * as it was. The checks above make the overwrite safe. */
    st = sim_card_create(image, p->name, true);
    if (st != SIM_OK) {
        vtoken_error("init", "%s: %s", image, sim_strerror(st));
        goto out;
    }
    ks = ks_config_save(c, conf_path);
    if (ks != KS_OK) {
        vtoken_error("init", "cannot write %s: %s", conf_path, ks_strerror(ks));
        goto out;
    }
    rc = VTOKEN_EXIT_OK;
    if (a->label)
        rc = label_card(a, p, serial, sizeof(serial));
    if (rc == VTOKEN_EXIT_OK && !serial[0]) {
        sim_card *card = NULL;
        sim_card_info ci;
        if (sim_card_open(image, &card, NULL) == SIM_OK && sim_card_get_info(card, &ci) == SIM_OK)
            snprintf(serial, sizeof(serial), "%s", ci.serial_hex);
        sim_card_close(card);
    }
    if (rc != VTOKEN_EXIT_OK)
        goto out;
    for (char *q = serial; *q; q++) /* as CK_TOKEN_INFO shows it */
        *q = (char)toupper((unsigned char)*q);
    if (a->json) {
        printf("{\"token\":");
        vtoken_json_string(stdout, a->name);
        printf(",\"profile\":\"%s\",\"image\":", p->name);
        vtoken_json_string(stdout, image);
        printf(",\"serial\":");
        vtoken_json_string(stdout, serial);
        printf(",\"label\":");
        vtoken_json_string(stdout, a->label ? a->label : p->label);
        printf(",\"replaced\":%s}\n", existed ? "true" : "false");
    } else {
        printf("%s token '%s' %s: serial %s, label %s, user PIN %s, SO PIN %s\n", p->name, a->name,
               existed ? "replaced" : "created", serial, a->label ? a->label : p->label,
               p->user.default_pin, p->so.ref ? p->so.default_pin : "-");
    }
out:
    free(why);
    ks_config_free(c);
    sim_home_close(h);
    return rc;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"label", required_argument, NULL, 'l'},
        {"force", no_argument, NULL, 'f'},
        {"vpcd-port", required_argument, NULL, 'P'},
        {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    init_args a = {0};
    char *end;
    long v;
    int opt;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            a.profile = optarg;
            break;
        case 'l':
            a.label = optarg;
            break;
        case 'f':
            a.force = true;
            break;
        case 'P':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > 65535)
                return vtoken_usage_error("init", "bad port '%s'", optarg);
            a.port = (int)v;
            break;
        case 'M':
            a.module = optarg;
            break;
        case 'H':
            a.home = optarg;
            break;
        case 'j':
            a.json = true;
            break;
        case 'h':
            fputs(init_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("init", argv, opt);
        }
    }
    if (optind >= argc)
        return vtoken_usage_error("init", "missing TOKEN (the new token's name)");
    if (optind + 1 < argc)
        return vtoken_usage_error("init", "unexpected argument '%s'", argv[optind + 1]);
    a.name = argv[optind];
    if (!good_name(a.name))
        return vtoken_usage_error("init",
                                  "bad token name '%s': 1-31 letters, digits, '_', '-' "
                                  "or '.', not ending in .p12/.pfx",
                                  a.name);
    if (!a.profile)
        return vtoken_usage_error("init", "missing --profile (kaztoken, etoken or jacarta)");
    if (!sim_profile_by_name(a.profile))
        return vtoken_usage_error("init", "unknown profile '%s' (kaztoken, etoken or jacarta)",
                                  a.profile);
    if (a.label && (a.label[0] == '\0' || strlen(a.label) > 32))
        return vtoken_usage_error("init", "a label has 1 to 32 bytes");
    return do_init(&a);
}
