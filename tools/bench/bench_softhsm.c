/* vtoken-bench table, SoftHSM2's side: the software token a developer would otherwise
 * use. A throwaway token in the run's scratch directory (SOFTHSM2_CONF), initialised
 * through PKCS#11 (C_InitToken, C_InitPIN), an RSA-2048 key generated on it, two signers
 * with sessions of their own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "bench_table.h"

#define SHSM_LABEL "vtoken-bench"

static bool softhsm_conf(const bench_conf *c)
{
    char dir[640], conf[700];
    snprintf(dir, sizeof(dir), "%s/softhsm", c->tmp);
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", c->tmp);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "vtoken-bench: mkdir %s: %s\n", dir, strerror(errno));
        return false;
    }
    FILE *f = fopen(conf, "w");
    if (!f)
        return false;
    fprintf(f,
            "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n"
            "slots.removable = false\n",
            dir);
    if (fclose(f) != 0)
        return false;
    return setenv("SOFTHSM2_CONF", conf, 1) == 0;
}

/* Initialise the first free token and set its user PIN; *slot: where it is now (SoftHSM2
 * moves an initialised token to a slot ID of its own). */
static CK_RV init_token(bench_p11 *m, CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    CK_UTF8CHAR label[32];
    CK_SESSION_HANDLE h;
    CK_RV rv = m->f->C_GetSlotList(CK_TRUE, ids, &n);
    if (rv != CKR_OK || n == 0)
        return rv != CKR_OK ? rv : CKR_TOKEN_NOT_PRESENT;
    memset(label, ' ', sizeof(label));
    memcpy(label, SHSM_LABEL, strlen(SHSM_LABEL));
    rv = m->f->C_InitToken(ids[0], (CK_UTF8CHAR_PTR)BT_USER_PIN, strlen(BT_USER_PIN), label);
    if (rv == CKR_OK)
        rv = bench_p11_find_slot(m, SHSM_LABEL, true, slot);
    if (rv != CKR_OK)
        return rv;
    rv = m->f->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    if (rv != CKR_OK)
        return rv;
    rv = m->f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)BT_USER_PIN, strlen(BT_USER_PIN));
    if (rv == CKR_OK)
        rv = m->f->C_InitPIN(h, (CK_UTF8CHAR_PTR)BT_USER_PIN, strlen(BT_USER_PIN));
    m->f->C_CloseSession(h);
    return rv;
}

bool bench_softhsm_open(const bench_conf *c, bench_side *sd)
{
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE pub, key;

    memset(sd, 0, sizeof(*sd));
    if (!softhsm_conf(c) || !bench_p11_open(&sd->m, c->softhsm))
        return false;
    CK_RV rv = bench_p11_init(&sd->m, NULL);
    if (rv == CKR_OK)
        rv = init_token(&sd->m, &slot);
    if (rv == CKR_OK)
        rv = bench_login_session(&sd->m, slot, BT_USER_PIN, &sd->keygen_h);
    /* a session key: the fastest SoftHSM2 signs with */
    if (rv == CKR_OK)
        rv = bench_p11_keygen(&sd->m, sd->keygen_h, 2048, false, &pub, &key);
    if (rv != CKR_OK) {
        fprintf(stderr, "vtoken-bench: SoftHSM2 set-up: %s\n", bench_rv_name(rv));
        return false;
    }
    for (sd->ns = 0; sd->ns < 2; sd->ns++)
        if (!bench_signer_open(&sd->m, slot, key, BT_USER_PIN, &sd->s[sd->ns]))
            return false;
    return true;
}
