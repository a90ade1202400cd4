/* The test CA's index: one tab-separated line per certificate it issued, read whole and
 * replaced atomically (keystore's ks_atomic_write) under the CA's flock. A person can
 * read it; `vtoken nca keys` reads the revocation status from it. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ks.h"
#include "nca_ca.h"

#define INDEX_FILE "index"
#define INDEX_MAX  (16u << 20)
#define INDEX_HEADER                                                                               \
    "# vtoken test CA index: serial status issued not_after revoked_at reason template ski "       \
    "subject\n"
#define NFIELDS 9

bool nca_serial_canon(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    bool any = false;

    for (; *s; s++) {
        if (*s == ':')
            continue;
        if (!isxdigit((unsigned char)*s))
            return false;
        any = true;
        if (n == 0 && *s == '0')
            continue;
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)tolower((unsigned char)*s);
    }
    if (!any)
        return false;
    if (n == 0) /* the serial 0 */
        out[n++] = '0';
    out[n] = '\0';
    return true;
}

static bool copy_field(char *dst, size_t cap, const char *src, bool dash_is_empty)
{
    if (dash_is_empty && strcmp(src, "-") == 0)
        src = "";
    size_t n = strlen(src);

    if (n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* One line (NUL-terminated, no newline) into e. */
static bool parse_line(char *line, nca_ca_entry *e)
{
    char *f[NFIELDS];
    char *p = line;

    for (size_t i = 0; i < NFIELDS; i++) {
        f[i] = p;
        p = strchr(p, '\t');
        if (i + 1 < NFIELDS) {
            if (!p)
                return false;
            *p++ = '\0';
        } else if (p) {
            return false;
        }
    }
    memset(e, 0, sizeof(*e));
    if (strcmp(f[1], "V") != 0 && strcmp(f[1], "R") != 0)
        return false;
    e->revoked = f[1][0] == 'R';
    e->tmpl = nca_template_parse(f[6]);
    return nca_serial_canon(f[0], e->serial, sizeof(e->serial)) &&
           copy_field(e->issued, sizeof(e->issued), f[2], false) &&
           copy_field(e->not_after, sizeof(e->not_after), f[3], false) &&
           copy_field(e->revoked_at, sizeof(e->revoked_at), f[4], true) &&
           copy_field(e->reason, sizeof(e->reason), f[5], true) && e->tmpl != NCA_TEMPLATE_NONE &&
           copy_field(e->ski, sizeof(e->ski), f[7], false) &&
           copy_field(e->subject, sizeof(e->subject), f[8], false);
}

int nca_index_append(nca_index *idx, const nca_ca_entry *e)
{
    nca_ca_entry *v = realloc(idx->v, (idx->n + 1) * sizeof(*v));

    if (!v)
        return -1;
    idx->v = v;
    idx->v[idx->n++] = *e;
    return 0;
}

int nca_index_load(const char *ca_dir, nca_index *idx, char *err, size_t errcap)
{
    char path[4200];
    vt_buf buf = {0};
    size_t lineno = 0;
    char *p, *nl;
    ks_status st;
    int rc = -1;

    memset(idx, 0, sizeof(*idx));
    snprintf(path, sizeof(path), "%s/%s", ca_dir, INDEX_FILE);
    st = ks_read_file(path, INDEX_MAX, &buf);
    if (st == KS_ERR_NOT_FOUND)
        return 0;
    if (st != KS_OK || !vt_buf_append_byte(&buf, 0)) {
        snprintf(err, errcap, "cannot read %s: %s", path, ks_strerror(st));
        goto out;
    }
    for (p = (char *)buf.data; *p; p = nl + 1) {
        nca_ca_entry e;
        lineno++;
        nl = strchr(p, '\n');
        if (!nl) {
            snprintf(err, errcap, "%s:%zu: the last line is incomplete", path, lineno);
            goto out;
        }
        *nl = '\0';
        if (*p == '#' || *p == '\0')
            continue;
        if (!parse_line(p, &e)) {
            snprintf(err, errcap, "%s:%zu: malformed line", path, lineno);
            goto out;
        }
        if (nca_index_append(idx, &e) != 0) {
            snprintf(err, errcap, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        nca_index_free(idx);
    vt_buf_free(&buf);
    return rc;
}

static bool put(vt_buf *b, const char *s)
{
    return vt_buf_append(b, s, strlen(s));
}

int nca_index_save(const char *ca_dir, const nca_index *idx, char *err, size_t errcap)
{
    char path[4200];
    vt_buf b = {0};
    ks_status st;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/%s", ca_dir, INDEX_FILE);
    put(&b, INDEX_HEADER);
    for (size_t i = 0; i < idx->n; i++) {
        const nca_ca_entry *e = &idx->v[i];
        const char *f[NFIELDS] = {
            e->serial,
            e->revoked ? "R" : "V",
            e->issued,
            e->not_after,
            e->revoked_at[0] ? e->revoked_at : "-",
            e->reason[0] ? e->reason : "-",
            nca_template_name(e->tmpl),
            e->ski,
            e->subject,
        };
        for (size_t j = 0; j < NFIELDS; j++) {
            if (strpbrk(f[j], "\t\n")) {
                snprintf(err, errcap, "index field with a tab or line break: %s", f[j]);
                goto out;
            }
            put(&b, f[j]);
            put(&b, j + 1 < NFIELDS ? "\t" : "\n");
        }
    }
    if (b.oom) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    st = ks_atomic_write(path, b.data, b.len, 0644);
    if (st != KS_OK) {
        snprintf(err, errcap, "cannot write %s: %s", path, ks_strerror(st));
        goto out;
    }
    rc = 0;
out:
    vt_buf_free(&b);
    return rc;
}

nca_ca_entry *nca_index_find(nca_index *idx, const char *serial)
{
    char want[NCA_SERIAL_HEX_MAX + 1];

    if (!nca_serial_canon(serial, want, sizeof(want)))
        return NULL;
    for (size_t i = 0; i < idx->n; i++)
        if (strcmp(idx->v[i].serial, want) == 0)
            return &idx->v[i];
    return NULL;
}

void nca_index_free(nca_index *idx)
{
    free(idx->v);
    idx->v = NULL;
    idx->n = 0;
}

int nca_ca_lock(const char *ca_dir, char *err, size_t errcap)
{
    char path[4200];
    int fd;

    snprintf(path, sizeof(path), "%s/.lock", ca_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        snprintf(err, errcap, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void nca_ca_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
