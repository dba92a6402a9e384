/* client.c - the demo client: connect, run the mode's exchange, report; the I/O helpers the exchanges share. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segscope/err.h"

#include "client.h"

#define PUMP_OUT_LOW (256u << 10) /* ask produce() for more while less than this is queued */

void ss_demo_cl_log(ss_demo_client_t *cl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(&cl->log, cl->sock.fd >= 0 ? cl->sock.remote : NULL, fmt, ap);
    va_end(ap);
}

void ss_demo_cl_log_io(ss_demo_client_t *cl, const char *fmt, ...)
{
    if (cl->log.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(&cl->log, cl->sock.fd >= 0 ? cl->sock.remote : NULL, fmt, ap);
    va_end(ap);
}

int ss_demo_cl_wait(ss_demo_client_t *cl, int fd, short events, uint64_t timeout_ms)
{
    uint64_t end = ss_demo_now_ms() + timeout_ms;
    for (;;) {
        if (cl->o->stop && *cl->o->stop)
            return -1;
        uint64_t now = ss_demo_now_ms();
        if (now >= end)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        /* Slices of at most 200 ms, so a signal's flag is noticed soon. */
        uint64_t left = end - now;
        int rc = poll(&pfd, 1, (int)(left > 200 ? 200 : left));
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return 1; /* let the caller's next call report the error */
    }
}

int ss_demo_cl_connect(ss_demo_client_t *cl, int type)
{
    const ss_demo_opts_t *o = cl->o;
    char err[512];
    struct sockaddr_storage addr, local;
    socklen_t alen, llen;
    if (ss_demo_resolve(o->host, o->port, o->family, &addr, &alen, err, sizeof err) < 0) {
        ss_demo_cl_log(cl, "%s", err);
        return -1;
    }
    int fd = socket(o->family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ss_demo_cl_log(cl, _("socket() failed: %s"), strerror(errno));
        return -1;
    }
    if (ss_demo_apply_sockopts(fd, type, o, err, sizeof err) < 0 ||
        (o->mode == SS_DEMO_MODE_KEEPALIVE && ss_demo_set_keepalive(fd, 1, 1, 3, err, sizeof err) < 0)) {
        ss_demo_cl_log(cl, "%s", err);
        close(fd);
        return -1;
    }
    if (o->bind_addr) {
        if (ss_demo_resolve(o->bind_addr, 0, o->family, &local, &llen, err, sizeof err) < 0) {
            ss_demo_cl_log(cl, "%s", err);
            close(fd);
            return -1;
        }
        if (bind(fd, (struct sockaddr *)&local, llen) != 0) {
            ss_demo_cl_log(cl, _("cannot bind to %s: %s"), o->bind_addr, strerror(errno));
            close(fd);
            return -1;
        }
    }
    ss_demo_set_nonblock(fd);
    char where[SS_DEMO_ADDRSTRLEN];
    ss_demo_fmt_addr((struct sockaddr *)&addr, where, sizeof where);
    if (connect(fd, (struct sockaddr *)&addr, alen) != 0 && errno != EINPROGRESS) {
        ss_demo_cl_log(cl, _("cannot connect to %s: %s"), where, strerror(errno));
        close(fd);
        return -1;
    }
    if (type == SOCK_STREAM) {
        /* The handshake completes in the background; the socket is writable when it has. */
        int w = ss_demo_cl_wait(cl, fd, POLLOUT, o->timeout_ms);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (w == 1)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (w != 1 || soerr) {
            ss_demo_cl_log(cl, _("cannot connect to %s: %s"), where,
                           w == 0 ? _("timed out (--timeout)") : w < 0 ? _("interrupted") : strerror(soerr));
            close(fd);
            return -1;
        }
    }
    ss_demo_sock_init(&cl->sock, fd, &cl->trace);
    ss_demo_cl_log(cl, _("connected from %s (%s, mode %s%s%s)"), cl->sock.local, type == SOCK_STREAM ? "tcp" : "udp",
                   ss_demo_mode_name(o->mode), o->nodelay ? ", TCP_NODELAY" : "",
                   o->loss > 0 ? _(", dropping incoming segments at random (--loss)") : "");
    return 0;
}

int ss_demo_cl_send_all(ss_demo_client_t *cl, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = ss_demo_sock_send(&cl->sock, b, n);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ss_demo_cl_log(cl, _("send() failed: %s"), strerror(errno));
                return -1;
            }
            int r = ss_demo_cl_wait(cl, cl->sock.fd, POLLOUT, cl->o->timeout_ms);
            if (r <= 0) {
                ss_demo_cl_log(cl, "%s", r == 0 ? _("cannot send: no progress for --timeout") : _("interrupted"));
                return -1;
            }
            continue;
        }
        ss_demo_cl_log_io(cl, _("sent %zd bytes"), w);
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t ss_demo_cl_recv(ss_demo_client_t *cl, void *p, size_t cap)
{
    for (;;) {
        ssize_t n = ss_demo_sock_recv(&cl->sock, p, cap);
        if (n >= 0) {
            if (n)
                ss_demo_cl_log_io(cl, _("read %zd bytes"), n);
            else
                ss_demo_cl_log_io(cl, _("recv() returned 0: the server closed its side (FIN)"));
            return n;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ss_demo_cl_log(cl, _("recv() failed: %s"), strerror(errno));
            return -1;
        }
        int r = ss_demo_cl_wait(cl, cl->sock.fd, POLLIN, cl->o->timeout_ms);
        if (r <= 0) {
            ss_demo_cl_log(cl, "%s", r == 0 ? _("nothing received for --timeout: giving up") : _("interrupted"));
            return -1;
        }
    }
}

int ss_demo_cl_recv_exact(ss_demo_client_t *cl, void *p, size_t n)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = ss_demo_cl_recv(cl, b + got, n - got);
        if (r < 0)
            return -1;
        if (r == 0) {
            ss_demo_cl_log(cl, _("the server closed the connection after %zu of %zu expected bytes"), got, n);
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int ss_demo_cl_pump(ss_demo_client_t *cl, ss_demo_pump_t *pump)
{
    const ss_demo_opts_t *o = cl->o;
    ss_demo_buf_t out;
    ss_demo_buf_init(&out, SIZE_MAX, NULL);
    uint8_t *rbuf = malloc(65536);
    bool produced_all = false, shut = false, recv_done = false;
    int rc = -1;
    if (!rbuf) {
        ss_demo_cl_log(cl, _("out of memory"));
        goto out;
    }
    uint64_t last = ss_demo_now_ms();
    for (;;) {
        while (!produced_all && !pump->send_failed && ss_demo_buf_size(&out) < PUMP_OUT_LOW) {
            int r = pump->produce(pump->ctx, &out);
            if (r < 0)
                goto out;
            if (r == 1)
                produced_all = true;
        }
        bool sent_all = produced_all && ss_demo_buf_size(&out) == 0;
        if (sent_all && pump->shutdown_after_send && !shut) {
            shutdown(cl->sock.fd, SHUT_WR);
            ss_demo_cl_log_io(cl, _("shutdown(SHUT_WR): FIN sent after %llu bytes; still reading"),
                              (unsigned long long)cl->sock.sent);
            shut = true;
        }
        if (recv_done)
            break;
        struct pollfd pfd = {.fd = cl->sock.fd, .events = POLLIN};
        if (ss_demo_buf_size(&out) && !pump->send_failed)
            pfd.events |= POLLOUT;
        uint64_t now = ss_demo_now_ms();
        if (now - last >= o->timeout_ms) {
            ss_demo_cl_log(cl, _("no progress for %.1f s (--timeout): giving up after sending %llu and "
                                 "receiving %llu bytes"), (double)o->timeout_ms / 1000,
                           (unsigned long long)cl->sock.sent, (unsigned long long)cl->sock.received);
            goto out;
        }
        uint64_t left = o->timeout_ms - (now - last);
        int pr = poll(&pfd, 1, (int)(left > 200 ? 200 : left));
        if (o->stop && *o->stop) {
            ss_demo_cl_log(cl, _("interrupted"));
            goto out;
        }
        if (pr <= 0)
            continue;
        if (pfd.revents & (POLLOUT | POLLERR | POLLHUP) && ss_demo_buf_size(&out) && !pump->send_failed) {
            ssize_t w = ss_demo_sock_send(&cl->sock, ss_demo_buf_head(&out), ss_demo_buf_size(&out));
            if (w > 0) {
                ss_demo_cl_log_io(cl, _("sent %zd bytes"), w);
                ss_demo_buf_consume(&out, (size_t)w);
                last = ss_demo_now_ms();
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                /* The server may have answered and closed (a refused file): read its answer. */
                ss_demo_cl_log(cl, _("send() failed: %s; reading what the server said"), strerror(errno));
                pump->send_failed = true;
                out.off = out.len = 0;
            }
        }
        if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
            ssize_t n = ss_demo_sock_recv(&cl->sock, rbuf, 65536);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                ss_demo_cl_log(cl, _("recv() failed: %s"), strerror(errno));
                goto out;
            }
            if (n == 0) {
                ss_demo_cl_log_io(cl, _("recv() returned 0: the server closed its side (FIN)"));
                if (pump->eof(pump->ctx) < 0)
                    goto out;
                recv_done = true;
            } else if (n > 0) {
                ss_demo_cl_log_io(cl, _("read %zd bytes"), n);
                last = ss_demo_now_ms();
                int r = pump->consume(pump->ctx, rbuf, (size_t)n);
                if (r < 0)
                    goto out;
                if (r == 1)
                    recv_done = true;
            }
        }
    }
    rc = 0;
out:
    free(rbuf);
    ss_demo_buf_fini(&out);
    return rc;
}

typedef int (*cl_mode_fn)(ss_demo_client_t *);

static cl_mode_fn mode_fn(ss_demo_mode_t m)
{
    switch (m) {
    case SS_DEMO_MODE_ECHO: return ss_demo_cl_echo;
    case SS_DEMO_MODE_ONCE: return ss_demo_cl_once;
    case SS_DEMO_MODE_CHAT: return ss_demo_cl_chat;
    case SS_DEMO_MODE_STICKY: return ss_demo_cl_sticky;
    case SS_DEMO_MODE_LEN32:
    case SS_DEMO_MODE_LINE: return ss_demo_cl_framed;
    case SS_DEMO_MODE_FILE: return ss_demo_cl_file;
    case SS_DEMO_MODE_BULK:
    case SS_DEMO_MODE_SLOW_READER: return ss_demo_cl_bulk;
    case SS_DEMO_MODE_ABORT: return ss_demo_cl_abort;
    case SS_DEMO_MODE_HALF_CLOSE: return ss_demo_cl_half_close;
    case SS_DEMO_MODE_KEEPALIVE: return ss_demo_cl_keepalive;
    case SS_DEMO_MODE_UDP: return ss_demo_cl_udp;
    case SS_DEMO_MODE_COUNT: break;
    }
    return NULL;
}

int ss_demo_client_run(const ss_demo_opts_t *o)
{
    ss_demo_client_t cl;
    memset(&cl, 0, sizeof cl);
    cl.o = o;
    cl.sock.fd = -1;
    ss_demo_log_init(&cl.log, _("client"), o->quiet);
    ss_demo_trace_none(&cl.trace);
    char err[512];
    if (o->trace_path && ss_demo_trace_open(&cl.trace, o->trace_path, err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo client: %s\n"), err);
        return SS_DEMO_EXIT_USAGE;
    }
    int status = SS_DEMO_EXIT_FAIL;
    if (ss_demo_cl_connect(&cl, o->mode == SS_DEMO_MODE_UDP ? SOCK_DGRAM : SOCK_STREAM) == 0) {
        status = mode_fn(o->mode)(&cl);
        if (cl.sock.fd >= 0) {
            ss_demo_cl_log(&cl, _("closed: sent %llu bytes in %llu send() calls, received %llu bytes in %llu "
                                  "recv() calls"),
                           (unsigned long long)cl.sock.sent, (unsigned long long)cl.sock.send_calls,
                           (unsigned long long)cl.sock.received, (unsigned long long)cl.sock.recv_calls);
            ss_demo_sock_close(&cl.sock);
        }
    }
    if (ss_demo_trace_close(&cl.trace) < 0) {
        fprintf(stderr, _("segscope-demo client: could not write the whole trace %s\n"), o->trace_path);
        if (status == SS_DEMO_EXIT_OK)
            status = SS_DEMO_EXIT_FAIL;
    }
    fflush(stdout);
    return status;
}
