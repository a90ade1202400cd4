/* The vpcd link's control socket: a unix stream socket with a line protocol (vpcd.h)
 * through which `vtoken card` removes and inserts cards in a running `vtoken sim`. The
 * server side is served by the link's loop; the client side is one blocking request. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vpcd_int.h"

#define CTRL_BACKLOG        8
#define CTRL_CLIENT_WAIT_MS 5000

/* ---- server ------------------------------------------------------------------------ */

static bool make_unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return false;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return true;
}

sim_status sim_vpcd_control_listen(sim_vpcd *l, const char *path)
{
    struct sockaddr_un sa;
    struct stat st;
    sim_status rv = SIM_OK;
    int fd = -1, probe = -1;
    mode_t old_mask;

    if (!l || !path || l->ctrl_fd >= 0 || !make_unix_addr(path, &sa))
        return SIM_ERR_ARGS;
    /* Someone answering on the path is a running `vtoken sim`; a refused connection is a
     * socket file left by one that died. */
    probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        rv = SIM_ERR_IO;
        goto out;
    }
    if (connect(probe, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
        rv = SIM_ERR_EXISTS;
        goto out;
    }
    if (errno == ECONNREFUSED && unlink(path) != 0) {
        rv = SIM_ERR_IO;
        goto out;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rv = SIM_ERR_IO;
        goto out;
    }
    /* The socket is born 0600: no window in which others could connect. */
    old_mask = umask(0177);
    if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rv = errno == EADDRINUSE ? SIM_ERR_EXISTS : SIM_ERR_IO;
        umask(old_mask);
        goto out;
    }
    umask(old_mask);
    if (chmod(path, 0600) != 0 || stat(path, &st) != 0 || listen(fd, CTRL_BACKLOG) != 0) {
        unlink(path);
        rv = SIM_ERR_IO;
        goto out;
    }
    l->ctrl_path = strdup(path);
    if (!l->ctrl_path) {
        unlink(path);
        rv = SIM_ERR_NOMEM;
        goto out;
    }
    l->ctrl_dev = st.st_dev;
    l->ctrl_ino = st.st_ino;
    l->ctrl_fd = fd;
    fd = -1;
out:
    if (probe >= 0)
        close(probe);
    if (fd >= 0)
        close(fd);
    return rv;
}

void sim_vpcd_ctrl_accept(sim_vpcd *l)
{
    int fd = accept4(l->ctrl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return;
    for (size_t i = 0; i < VPCD_CTRL_CLIENTS; i++) {
        if (l->clients[i].fd < 0) {
            l->clients[i].fd = fd;
            l->clients[i].len = 0;
            return;
        }
    }
    static const char busy[] = "error: too many control connections\n";
    (void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

/* Replies are short: one that does not fit the socket buffer ends the client. */
static bool ctrl_send(ctrl_client *cl, const char *text)
{
    size_t len = strlen(text);
    ssize_t n = send(cl->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0 || (size_t)n != len) {
        sim_vpcd_ctrl_client_close(cl);
        return false;
    }
    return true;
}

static bool ctrl_status(sim_vpcd *l, ctrl_client *cl, const char *name)
{
    /* "ok" then " name=state" per card; names are at most VPCD_NAME_MAX bytes. */
    size_t cap = 8 + l->ncards * (VPCD_NAME_MAX + 16);
    char *reply = malloc(cap);
    size_t used;
    bool ok;

    if (!reply)
        return ctrl_send(cl, "error: out of memory\n");
    used = (size_t)snprintf(reply, cap, "ok");
    for (size_t i = 0; i < l->ncards; i++) {
        const vpcd_card *c = &l->cards[i];
        if (name && strcmp(name, c->name) != 0)
            continue;
        used += (size_t)snprintf(reply + used, cap - used, " %s=%s", c->name,
                                 sim_vpcd_state_name(c->state));
    }
    snprintf(reply + used, cap - used, "\n");
    ok = ctrl_send(cl, reply);
    free(reply);
    return ok;
}

/* One request line (newline stripped). False when the client was closed. */
static bool ctrl_line(sim_vpcd *l, ctrl_client *cl, char *line)
{
    char *save = NULL, *verb, *arg, *extra;
    sim_status st;
    size_t n = strlen(line);

    if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
    verb = strtok_r(line, " \t", &save);
    arg = verb ? strtok_r(NULL, " \t", &save) : NULL;
    extra = arg ? strtok_r(NULL, " \t", &save) : NULL;
    if (!verb)
        return ctrl_send(cl, "error: empty request\n");
    if (extra)
        return ctrl_send(cl, "error: too many arguments\n");
    if (strcmp(verb, "remove") == 0 || strcmp(verb, "insert") == 0) {
        if (!arg)
            return ctrl_send(cl, "error: missing token name\n");
        st = verb[0] == 'r' ? sim_vpcd_remove(l, arg) : sim_vpcd_insert(l, arg);
        if (st == SIM_ERR_NOT_FOUND)
            return ctrl_send(cl, "error: no such token\n");
        return ctrl_send(cl, st == SIM_OK ? "ok\n" : "error: failed\n");
    }
    if (strcmp(verb, "status") == 0) {
        sim_vpcd_state unused;
        if (arg && sim_vpcd_get_state(l, arg, &unused) != SIM_OK)
            return ctrl_send(cl, "error: no such token\n");
        return ctrl_status(l, cl, arg);
    }
    if (strcmp(verb, "stop") == 0) {
        if (arg)
            return ctrl_send(cl, "error: too many arguments\n");
        l->stopping = true;
        return ctrl_send(cl, "ok\n");
    }
    return ctrl_send(cl, "error: unknown command\n");
}

void sim_vpcd_ctrl_readable(sim_vpcd *l, ctrl_client *cl)
{
    ssize_t n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
    size_t start = 0;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        sim_vpcd_ctrl_client_close(cl);
        return;
    }
    if (n < 0)
        return;
    cl->len += (size_t)n;
    for (size_t i = 0; i < cl->len; i++) {
        if (cl->buf[i] != '\n')
            continue;
        cl->buf[i] = '\0';
        if (!ctrl_line(l, cl, cl->buf + start))
            return;
        start = i + 1;
    }
    if (start == 0 && cl->len == sizeof(cl->buf)) {
        (void)ctrl_send(cl, "error: line too long\n");
        sim_vpcd_ctrl_client_close(cl);
        return;
    }
    memmove(cl->buf, cl->buf + start, cl->len - start);
    cl->len -= start;
}

void sim_vpcd_ctrl_client_close(ctrl_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
    cl->len = 0;
}

void sim_vpcd_ctrl_shutdown(sim_vpcd *l)
{
    struct stat st;

    for (size_t i = 0; i < VPCD_CTRL_CLIENTS; i++)
        sim_vpcd_ctrl_client_close(&l->clients[i]);
    if (l->ctrl_fd >= 0) {
        /* Only remove the file if it is still the socket we bound. */
        if (l->ctrl_path && stat(l->ctrl_path, &st) == 0 && st.st_dev == l->ctrl_dev &&
            st.st_ino == l->ctrl_ino)
            unlink(l->ctrl_path);
        close(l->ctrl_fd);
        l->ctrl_fd = -1;
    }
    free(l->ctrl_path);
    l->ctrl_path = NULL;
}

/* ---- client ------------------------------------------------------------------------ */

sim_status sim_vpcd_control_request(const char *path, const char *request, char *reply, size_t cap)
{
    struct sockaddr_un sa;
    sim_status rv = SIM_OK;
    char line[SIM_VPCD_CONTROL_LINE_MAX];
    size_t len, got = 0, off = 0;
    int fd = -1;
    int64_t deadline;

    if (!path || !request || !reply || cap == 0 || strchr(request, '\n') ||
        !make_unix_addr(path, &sa))
        return SIM_ERR_ARGS;
    len = strlen(request);
    if (len + 1 > sizeof(line))
        return SIM_ERR_ARGS;
    memcpy(line, request, len);
    line[len++] = '\n';
    reply[0] = '\0';
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rv = SIM_ERR_IO;
        goto out;
    }
    if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rv = errno == ENOENT || errno == ECONNREFUSED ? SIM_ERR_NOT_FOUND : SIM_ERR_IO;
        goto out;
    }
    while (off < len) {
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rv = SIM_ERR_IO;
            goto out;
        }
        off += (size_t)n;
    }
    deadline = sim_vpcd_now_ms() + CTRL_CLIENT_WAIT_MS;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - sim_vpcd_now_ms();
        char ch;
        ssize_t n;
        int r;

        if (left <= 0) {
            rv = SIM_ERR_IO;
            goto out;
        }
        r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rv = SIM_ERR_IO;
            goto out;
        }
        /* Byte by byte: replies are one short line, and nothing after it is ours. */
        n = recv(fd, &ch, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rv = SIM_ERR_IO;
            goto out;
        }
        if (ch == '\n')
            break;
        if (got + 1 >= cap) {
            rv = SIM_ERR_ARGS;
            goto out;
        }
        reply[got++] = ch;
        reply[got] = '\0';
    }
out:
    if (fd >= 0)
        close(fd);
    return rv;
}
