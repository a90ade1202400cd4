/* The test slot source behind testhook.h. */
#include <stdio.h>
#include <string.h>

#include "slot.h"
#include "testhook.h"
#include "vt_util.h"

#define P11_TEST_MAX_SLOTS 8

typedef struct test_reg {
    char description[65];
    char vendor[32];
    p11_test_open_fn open;
    void *arg;
} test_reg;

/* Test-only registry; touched only by single-threaded test set-up. */
static test_reg regs[P11_TEST_MAX_SLOTS];
static size_t nregs;

CK_RV p11_test_register_slot(const char *description, const char *vendor, p11_test_open_fn open,
                             void *arg)
{
    if (!open || nregs == P11_TEST_MAX_SLOTS)
        return CKR_ARGUMENTS_BAD;
    test_reg *r = &regs[nregs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->description, sizeof(r->description), "%s", description ? description : "");
    snprintf(r->vendor, sizeof(r->vendor), "%s", vendor ? vendor : "");
    r->open = open;
    r->arg = arg;
    return CKR_OK;
}

void p11_test_clear_slots(void)
{
    memset(regs, 0, sizeof(regs));
    nregs = 0;
}

static CK_RV test_open(p11_slot *s, p11_token **out)
{
    const test_reg *r = s->src_ctx;
    return r->open(r->arg, out);
}

static void test_release(p11_slot *s, bool after_fork)
{
    (void)s;
    (void)after_fork;
}

static const p11_slot_src_ops test_src = {
    .kind = "test",
    .fork_safe = true,
    .open = test_open,
    .may_be_present = NULL,
    .release = test_release,
};

CK_RV p11_test_discover(p11_module *m, bool *used)
{
    *used = nregs > 0;
    for (size_t i = 0; i < nregs; i++) {
        CK_RV rv = p11_slot_add(m, &test_src, &regs[i], regs[i].description, "vtoken test",
                                regs[i].vendor[0] ? regs[i].vendor : NULL, NULL);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}
