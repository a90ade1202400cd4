/* Call and APDU trace: formatting, redaction and the append-only trace file. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "names.h"

static atomic_int trace_fd = -1;
static atomic_ulong trace_seq;

static _Thread_local unsigned long tls_call;
static _Thread_local char tls_outs[512];
static _Thread_local size_t tls_outs_len;

void p11_trace_open(const char *path)
{
    if (!path || !*path)
        path = getenv("VTOKEN_TRACE");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    int old = atomic_exchange(&trace_fd, fd);
    if (old >= 0)
        close(old);
}

static void trace_from_env(void)
{
    p11_trace_open(NULL);
}

void p11_trace_env_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, trace_from_env);
}

void p11_trace_close(void)
{
    int old = atomic_exchange(&trace_fd, -1);
    if (old >= 0)
        close(old);
}

bool p11_trace_on(void)
{
    return atomic_load(&trace_fd) >= 0;
}

static void trace_write(const char *line, size_t len)
{
    int fd = atomic_load(&trace_fd);
    if (fd < 0)
        return;
    while (len > 0) {
        ssize_t w = write(fd, line, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        line += w;
        len -= (size_t)w;
    }
}

/* "2026-11-21T12:00:00.123Z 1234.1240 #17 " */
static size_t trace_prefix(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %ld.%ld ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, (long)getpid(), (long)syscall(SYS_gettid));
    if (n < 0)
        return 0;
    size_t len = (size_t)n < cap ? (size_t)n : cap - 1;
    if (tls_call != 0 && len < cap) {
        n = snprintf(out + len, cap - len, "#%lu ", tls_call);
        if (n > 0)
            len += (size_t)n < cap - len ? (size_t)n : cap - len - 1;
    }
    return len;
}

/* The attribute lets clang check callers' formats (-Wformat-nonliteral under -Wformat=2). */
__attribute__((format(printf, 1, 0))) static void trace_vline(const char *fmt, va_list ap)
{
    char line[2048];
    size_t len = trace_prefix(line, sizeof(line) - 1);
    int n = vsnprintf(line + len, sizeof(line) - 1 - len, fmt, ap);
    if (n > 0)
        len += (size_t)n < sizeof(line) - 1 - len ? (size_t)n : sizeof(line) - 2 - len;
    line[len++] = '\n';
    trace_write(line, len);
}

void p11_trace_msg(const char *fmt, ...)
{
    if (!p11_trace_on())
        return;
    va_list ap;
    va_start(ap, fmt);
    trace_vline(fmt, ap);
    va_end(ap);
}

unsigned long p11_trace_begin(void)
{
    tls_outs_len = 0;
    tls_outs[0] = '\0';
    tls_call = atomic_fetch_add(&trace_seq, 1) + 1;
    return tls_call;
}

void p11_trace_end(void)
{
    tls_call = 0;
    tls_outs_len = 0;
    tls_outs[0] = '\0';
}

void p11_trace_out(const char *fmt, ...)
{
    if (!p11_trace_on() || tls_call == 0 || tls_outs_len >= sizeof(tls_outs) - 2)
        return;
    if (tls_outs_len > 0)
        tls_outs[tls_outs_len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tls_outs + tls_outs_len, sizeof(tls_outs) - tls_outs_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        tls_outs_len += (size_t)n < sizeof(tls_outs) - tls_outs_len
                            ? (size_t)n
                            : sizeof(tls_outs) - tls_outs_len - 1;
    tls_outs[tls_outs_len] = '\0';
}

const char *p11_trace_outs(void)
{
    return tls_outs;
}

void p11_trace_apdu(void *arg, apdu_dir dir, const uint8_t *buf, size_t len, bool sensitive)
{
    (void)arg;
    if (!p11_trace_on() || !buf)
        return;
    char hex[2 * 1024 + 1];
    size_t show = len;
    const char *note = "";
    if (dir == APDU_DIR_COMMAND && sensitive) {
        /* Header and Lc only: the data field holds a PIN or key material. */
        show = len < 5 ? len : 5;
        note = len > 5 ? " [data redacted]" : "";
    } else if (dir == APDU_DIR_RESPONSE && sensitive) {
        show = 0;
        if (len >= 2) {
            vt_hex_encode(buf + len - 2, 2, hex);
            p11_trace_msg("  < [%zu bytes redacted] %s", len - 2, hex);
            return;
        }
    }
    if (show > 1024) {
        show = 1024;
        note = " [truncated]";
    }
    vt_hex_encode(buf, show, hex);
    p11_trace_msg("  %s %s%s", dir == APDU_DIR_COMMAND ? ">" : "<", hex, note);
}

static char *tr_buf(void)
{
    static _Thread_local char bufs[4][768];
    static _Thread_local unsigned next;
    return bufs[next++ % 4];
}

const char *p11_tr_mech(const CK_MECHANISM *m)
{
    if (!m)
        return "NULL";
    char *b = tr_buf();
    snprintf(b, 768, "%s(param %lu bytes)", p11_mech_name(m->mechanism), m->ulParameterLen);
    return b;
}

/* Attribute types only, plus the values that identify objects (class, key type,
 * booleans, CKA_ID length). Never values of key attributes. */
const char *p11_tr_tmpl(const CK_ATTRIBUTE *t, CK_ULONG n)
{
    char *b = tr_buf();
    size_t len = 0, cap = 768;
    if (!t) {
        snprintf(b, cap, n ? "NULL[%lu]" : "{}", n);
        return b;
    }
    b[len++] = '{';
    for (CK_ULONG i = 0; i < n && len < cap - 32; i++) {
        int w;
        const char *name = p11_attr_name(t[i].type);
        if (t[i].type == CKA_CLASS && t[i].pValue && t[i].ulValueLen == sizeof(CK_ULONG))
            w = snprintf(b + len, cap - len, "%s%s=%s", i ? "," : "", name,
                         p11_class_name(*(const CK_ULONG *)t[i].pValue));
        else if (t[i].pValue && t[i].ulValueLen == sizeof(CK_BBOOL) && t[i].type != CKA_ID &&
                 t[i].type != CKA_LABEL && t[i].type != CKA_VALUE)
            w = snprintf(b + len, cap - len, "%s%s=%u", i ? "," : "", name,
                         *(const CK_BBOOL *)t[i].pValue);
        else
            w = snprintf(b + len, cap - len, "%s%s[%ld]", i ? "," : "", name,
                         (long)t[i].ulValueLen);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    if (len < cap - 1)
        b[len++] = '}';
    b[len] = '\0';
    return b;
}

const char *p11_tr_label(const CK_UTF8CHAR *label, size_t len)
{
    char *b = tr_buf();
    if (!label) {
        snprintf(b, 768, "NULL");
        return b;
    }
    size_t n = 0;
    b[n++] = '"';
    for (size_t i = 0; i < len && n < 700; i++)
        b[n++] = (label[i] >= 0x20 && label[i] < 0x7f && label[i] != '"') ? (char)label[i] : '?';
    while (n > 1 && b[n - 1] == ' ')
        n--;
    b[n++] = '"';
    b[n] = '\0';
    return b;
}

const char *p11_tr_ulptr(const CK_ULONG *p)
{
    char *b = tr_buf();
    if (!p)
        snprintf(b, 768, "NULL");
    else
        snprintf(b, 768, "%lu", *p);
    return b;
}
