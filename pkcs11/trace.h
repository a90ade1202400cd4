/* The call trace: VTOKEN_TRACE=FILE (or the trace= option) appends one line per
 * PKCS#11 call (arguments summary, returned values, CK_RV name, duration) and one line
 * per APDU beneath it, tagged with the call's number. PINs and the data of sensitive
 * APDUs are never written. Lines are written with one write(2) each on an O_APPEND
 * descriptor, so concurrent threads and processes never interleave within a line.
 *
 * The trace is process-wide (calls made before C_Initialize can be traced too); it is
 * part of the module's single instance, not of any library context. */
#ifndef P11_TRACE_H
#define P11_TRACE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"
#include "transport.h"

/* Open the trace file (path) or, when path is NULL or empty, $VTOKEN_TRACE. A file
 * that cannot be opened leaves tracing off (nothing else fails because of it). */
void p11_trace_open(const char *path);
void p11_trace_close(void);
/* Open $VTOKEN_TRACE once per process, at the first call into the module. */
void p11_trace_env_once(void);
bool p11_trace_on(void);

/* A free-form line, prefixed with time, pid.tid and the current call number. */
void p11_trace_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Per-call bookkeeping, used by call.c. */
unsigned long p11_trace_begin(void); /* sets the thread's current call number */
void p11_trace_end(void);
/* Append "k=v"-style output notes to the thread's current call (shown after the
 * CK_RV); a no-op when tracing is off or no call is in progress. */
void p11_trace_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Called by call.c to take the notes accumulated for the current call. */
const char *p11_trace_outs(void);

/* apdu_trace_fn: install as transport->trace with trace_arg NULL. */
void p11_trace_apdu(void *arg, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive);

/* Argument formatting helpers for the call trace; results live in thread-local
 * rotating buffers valid until a few more helper calls on the same thread. */
const char *p11_tr_mech(const CK_MECHANISM *m);
const char *p11_tr_tmpl(const CK_ATTRIBUTE *t, CK_ULONG n);
const char *p11_tr_label(const CK_UTF8CHAR *label, size_t len);
const char *p11_tr_ulptr(const CK_ULONG *p); /* "*p" or "NULL" */

#endif
