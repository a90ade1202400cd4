/* keystore status strings and the fault hook that crash-consistency tests (and
 * `vtoken fault`) use to make an atomic write stop at a chosen step. */
#include "ks_internal.h"

#include <pthread.h>

const char *ks_strerror(ks_status st)
{
    switch (st) {
    case KS_OK:
        return "success";
    case KS_ERR_ARGS:
        return "invalid argument";
    case KS_ERR_NOMEM:
        return "out of memory";
    case KS_ERR_IO:
        return "input/output error";
    case KS_ERR_NOT_FOUND:
        return "file not found";
    case KS_ERR_ACCESS:
        return "permission denied or read-only";
    case KS_ERR_LOCKED:
        return "locked by another process";
    case KS_ERR_CORRUPT:
        return "damaged or not in the expected format";
    case KS_ERR_VERSION:
        return "written by a newer vtoken";
    case KS_ERR_BAD_PASSWORD:
        return "wrong password";
    case KS_ERR_POLICY:
        return "password does not satisfy the password rule";
    case KS_ERR_UNSUPPORTED:
        return "unsupported algorithm or structure";
    case KS_ERR_FAULT:
        return "injected fault";
    case KS_ERR_EXISTS:
        return "file already exists";
    case KS_ERR_STALE:
        return "file changed on disk since it was read";
    }
    return "unknown keystore error";
}

/* The hook is process-wide by nature (it stands in for a crash); a mutex keeps a test
 * that installs it from racing with writers in other threads. */
static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static ks_fault_fn fault_fn;
static void *fault_arg;

void ks_set_fault_hook(ks_fault_fn fn, void *arg)
{
    pthread_mutex_lock(&fault_mu);
    fault_fn = fn;
    fault_arg = arg;
    pthread_mutex_unlock(&fault_mu);
}

bool ks_fault_fires(const char *step)
{
    pthread_mutex_lock(&fault_mu);
    ks_fault_fn fn = fault_fn;
    void *arg = fault_arg;
    pthread_mutex_unlock(&fault_mu);
    return fn != NULL && fn(arg, step);
}
