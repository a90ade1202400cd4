/* `vtoken export-cert TOKEN ID`: a certificate object's CKA_VALUE, written out exactly as
 * the token holds it (DER), or wrapped in PEM. ID is the object's CKA_ID in hex (what
 * `vtoken show` prints); a label is accepted too. */
#include <getopt.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks.h"
#include "tokcmd.h"
#include "vt_util.h"
#include "vtoken.h"

static const char export_help[] =
    "Usage: vtoken export-cert TOKEN ID [--out FILE] [--pem | --der]\n"
    "                          [--pin PIN | --pin-file FILE] [--home DIR]\n"
    "\n"
    "Write a certificate from a token: the bytes of its CKA_VALUE (--der), or those bytes\n"
    "in PEM (--pem, the default). ID is the certificate's CKA_ID in hex as 'vtoken show'\n"
    "prints it (for NCA keys: the SubjectKeyIdentifier, i.e. the alias); when no\n"
    "certificate has that ID, a certificate with that CKA_LABEL is taken. Certificates are\n"
    "public objects; a PIN is needed only for one stored as private.\n"
    "\n"
    "TOKEN: a name from vtoken.conf, slot:N, label:LABEL or FILE.p12 (see 'vtoken show\n"
    "--help').\n"
    "\n"
    "Options:\n"
    "  --out FILE       write to FILE (replaced atomically) instead of standard output\n"
    "  --pem            PEM (default)\n"
    "  --der            DER, byte for byte as stored on the token\n"
    "  --pin PIN        log in first with this user PIN\n"
    "  --pin-file FILE  read the user PIN from the first line of FILE ('-': standard input)\n"
    "  --module PATH    the PKCS#11 module (default $VTOKEN_MODULE, else this build's,\n"
    "                   else the installed one)\n"
    "  --home DIR       the vtoken home (default $VTOKEN_HOME, else $XDG_DATA_HOME/vtoken)\n"
    "  -h, --help       this text\n"
    "\n" VTOKEN_EXIT_HELP;

/* The certificates matching one attribute value. */
static CK_RV find_certs(tok_ctx *t, CK_ATTRIBUTE_TYPE type, const void *v, size_t len,
                        CK_OBJECT_HANDLE **hs, size_t *n)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE q[] = {{CKA_CLASS, &cls, sizeof(cls)}, {type, (void *)v, len}};
    return tok_objects(t, q, 2, hs, n);
}

static int write_out(const char *cmd, const char *path, const uint8_t *data, size_t len)
{
    if (!path) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            vtoken_error(cmd, "cannot write to standard output");
            return VTOKEN_EXIT_FAILURE;
        }
        return VTOKEN_EXIT_OK;
    }
    ks_status st = ks_atomic_write(path, data, len, 0644);
    if (st != KS_OK) {
        vtoken_error(cmd, "cannot write %s: %s", path, ks_strerror(st));
        return VTOKEN_EXIT_FAILURE;
    }
    return VTOKEN_EXIT_OK;
}

static int export_one(tok_ctx *t, const char *id, const char *out, bool pem)
{
    uint8_t idb[256], *der = NULL;
    CK_OBJECT_HANDLE *hs = NULL;
    size_t n = 0, der_len = 0;
    long idl = vt_hex_decode(id, idb, sizeof(idb));
    BIO *b = NULL;
    CK_RV rv = CKR_OK;
    int rc = VTOKEN_EXIT_OK;

    if (idl > 0)
        rv = find_certs(t, CKA_ID, idb, (size_t)idl, &hs, &n);
    if (rv == CKR_OK && n == 0) {
        free(hs);
        hs = NULL;
        rv = find_certs(t, CKA_LABEL, id, strlen(id), &hs, &n);
    }
    if (rv != CKR_OK) {
        rc = tok_fail(t, "C_FindObjects", rv, CKU_USER);
        goto out;
    }
    if (n == 0) {
        vtoken_error(t->cmd, "no certificate with id or label '%s' on %s (see 'vtoken show %s')",
                     id, t->name, t->name);
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    if (n > 1) {
        vtoken_error(t->cmd, "%zu certificates match '%s'", n, id);
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    rv = tok_attr(t, hs[0], CKA_VALUE, &der, &der_len);
    if (rv != CKR_OK) {
        rc = tok_fail(t, "C_GetAttributeValue (CKA_VALUE)", rv, CKU_USER);
        goto out;
    }
    if (!pem) {
        rc = write_out(t->cmd, out, der, der_len);
        goto out;
    }
    /* PEM of the stored bytes, not of a re-encoding: what is exported is what is held. */
    b = BIO_new(BIO_s_mem());
    char *data;
    long len;
    if (!b || PEM_write_bio(b, PEM_STRING_X509, "", der, (long)der_len) <= 0 ||
        (len = BIO_get_mem_data(b, &data)) <= 0) {
        vtoken_error(t->cmd, "cannot encode PEM");
        rc = VTOKEN_EXIT_FAILURE;
        goto out;
    }
    rc = write_out(t->cmd, out, (const uint8_t *)data, (size_t)len);
out:
    BIO_free(b);
    free(der);
    free(hs);
    return rc;
}

int cmd_export_cert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"pem", no_argument, NULL, 'm'},
        {"der", no_argument, NULL, 'd'},
        {"pin", required_argument, NULL, 'p'},
        {"pin-file", required_argument, NULL, 'P'},
        {"home", required_argument, NULL, 'H'},
        {"module", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *home_opt = NULL, *module_opt = NULL, *out = NULL, *pin_opt = NULL;
    tok_input in = {.cmd = "export-cert"};
    int pem = -1; /* -1: not chosen */
    bool login = false;
    char pin[256];
    tok_ctx t;
    int opt, rc;

    memset(&t, 0, sizeof(t));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'm':
        case 'd':
            if (pem != -1 && pem != (opt == 'm'))
                return vtoken_usage_error("export-cert", "--pem and --der exclude each other");
            pem = opt == 'm';
            break;
        case 'p':
            pin_opt = optarg;
            login = true;
            break;
        case 'P':
            in.file = optarg;
            login = true;
            break;
        case 'M':
            module_opt = optarg;
            break;
        case 'H':
            home_opt = optarg;
            break;
        case 'h':
            fputs(export_help, stdout);
            return VTOKEN_EXIT_OK;
        default:
            return vtoken_bad_option("export-cert", argv, opt);
        }
    }
    if (argc - optind < 2)
        return vtoken_usage_error("export-cert", "need TOKEN and ID");
    if (argc - optind > 2)
        return vtoken_usage_error("export-cert", "unexpected argument '%s'", argv[optind + 2]);
    if (pin_opt && in.file)
        return vtoken_usage_error("export-cert", "--pin and --pin-file exclude each other");

    rc = tok_begin(&t, "export-cert", home_opt, module_opt);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_find(&t, argv[optind]);
    if (rc == VTOKEN_EXIT_OK)
        rc = tok_open_session(&t, false);
    if (rc == VTOKEN_EXIT_OK && login) {
        rc = tok_secret(&in, "user PIN", pin_opt, false, pin, sizeof(pin));
        if (rc == VTOKEN_EXIT_OK)
            rc = tok_login(&t, CKU_USER, pin);
        vt_wipe(pin, sizeof(pin));
    }
    if (rc == VTOKEN_EXIT_OK)
        rc = export_one(&t, argv[optind + 1], out, pem != 0);
    tok_input_close(&in);
    tok_end(&t);
    return rc;
}
