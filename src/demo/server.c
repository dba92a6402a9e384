/* server.c - the demo server: one poll() loop over a listening socket and many connections. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segscope/err.h"

#include "server.h"

/* Stop reading from a client while this much output waits for it: the client must read too. */
#define OUT_HIGH_WATER (1u << 20)
/* After our FIN, how long to wait for the client's before closing anyway. */
#define DRAIN_MS 2000
/* After accept() fails for lack of descriptors, how long to leave the listener alone. */
#define ACCEPT_PAUSE_MS 100

void ss_demo_slog(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(&s->log, c ? c->sock.remote : NULL, fmt, ap);
    va_end(ap);
}

void ss_demo_slog_io(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *fmt, ...)
{
    if (s->log.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(&s->log, c ? c->sock.remote : NULL, fmt, ap);
    va_end(ap);
}

int ss_demo_sconn_fail(ss_demo_sconn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    return SS_DEMO_SC_FAIL;
}

int ss_demo_sconn_queue(ss_demo_server_t *s, ss_demo_sconn_t *c, const void *p, size_t n)
{
    (void)s;
    int rc = ss_demo_buf_append(&c->out, p, n);
    if (rc == SS_ERR_LIMIT)
        return ss_demo_sconn_fail(c, _("output for this client would exceed the buffer cap or --max-memory"));
    if (rc < 0)
        return ss_demo_sconn_fail(c, _("out of memory"));
    return SS_DEMO_SC_CONTINUE;
}

static const ss_demo_shandler_t *handler_for(ss_demo_mode_t m)
{
    switch (m) {
    case SS_DEMO_MODE_ECHO:
    case SS_DEMO_MODE_ONCE:
    case SS_DEMO_MODE_KEEPALIVE: return &ss_demo_sh_echo;
    case SS_DEMO_MODE_STICKY: return &ss_demo_sh_sticky;
    case SS_DEMO_MODE_BULK:
    case SS_DEMO_MODE_SLOW_READER:
    case SS_DEMO_MODE_ABORT: return &ss_demo_sh_count;
    case SS_DEMO_MODE_HALF_CLOSE: return &ss_demo_sh_half_close;
    case SS_DEMO_MODE_LEN32:
    case SS_DEMO_MODE_LINE: return &ss_demo_sh_framed;
    case SS_DEMO_MODE_FILE: return &ss_demo_sh_file;
    case SS_DEMO_MODE_CHAT: return &ss_demo_sh_chat;
    case SS_DEMO_MODE_UDP:
    case SS_DEMO_MODE_COUNT: break;
    }
    return NULL;
}

/* Frees a connection whose socket is closed; counts it as served. */
static void conn_finish(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    if (s->handler->close)
        s->handler->close(s, c);
    ss_demo_slog(s, c, _("closed%s: received %llu bytes in %llu recv() calls, sent %llu bytes in %llu send() calls"),
                 c->failed ? _(" (failed)") : "", (unsigned long long)c->sock.received,
                 (unsigned long long)c->sock.recv_calls, (unsigned long long)c->sock.sent,
                 (unsigned long long)c->sock.send_calls);
    ss_demo_sock_close(&c->sock);
    ss_demo_buf_fini(&c->in);
    ss_demo_buf_fini(&c->out);
    s->served++;
    if (c->failed)
        s->failed++;
    c->phase = SS_DEMO_SC_CLOSED;
}

/* Moves a connection on once its handler has finished: FIN after the queued bytes, then drain. */
static void conn_advance(ss_demo_server_t *s, ss_demo_sconn_t *c, uint64_t now)
{
    if (c->phase == SS_DEMO_SC_OPEN && c->peer_eof)
        c->phase = SS_DEMO_SC_CLOSING; /* the handler had nothing more to say */
    if (c->phase == SS_DEMO_SC_CLOSING && ss_demo_buf_size(&c->out) == 0) {
        if (c->peer_eof) {
            conn_finish(s, c);
            return;
        }
        shutdown(c->sock.fd, SHUT_WR);
        ss_demo_slog_io(s, c, _("shutdown(SHUT_WR): FIN sent; waiting for the client's"));
        c->phase = SS_DEMO_SC_DRAIN;
        c->drain_until_ms = now + DRAIN_MS;
    }
}

static void conn_apply(ss_demo_server_t *s, ss_demo_sconn_t *c, int r)
{
    if (r == SS_DEMO_SC_FAIL) {
        c->failed = true;
        ss_demo_slog(s, c, _("error: %s; closing the connection"), c->reason);
        c->phase = SS_DEMO_SC_CLOSING;
    } else if (r == SS_DEMO_SC_DONE && c->phase == SS_DEMO_SC_OPEN) {
        c->phase = SS_DEMO_SC_CLOSING;
    }
}

static void conn_flush(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    while (ss_demo_buf_size(&c->out) > 0) {
        ssize_t n = ss_demo_sock_send(&c->sock, ss_demo_buf_head(&c->out), ss_demo_buf_size(&c->out));
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            int e = errno;
            c->failed = true;
            ss_demo_slog(s, c, _("send() failed: %s (%s); closing"), strerror(e),
                         e == ECONNRESET || e == EPIPE ? _("the client is gone") : _("error"));
            c->out.off = c->out.len = 0;
            c->peer_eof = true; /* nothing more can be exchanged */
            c->phase = SS_DEMO_SC_CLOSING;
            return;
        }
        ss_demo_slog_io(s, c, _("sent %zd bytes"), n);
        ss_demo_buf_consume(&c->out, (size_t)n);
    }
}

static void conn_read(ss_demo_server_t *s, ss_demo_sconn_t *c, uint64_t now)
{
    ssize_t n = ss_demo_sock_recv(&c->sock, s->scratch, sizeof s->scratch);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        int e = errno;
        if (e == ECONNRESET && c->reset_expected && c->phase == SS_DEMO_SC_OPEN) {
            ss_demo_slog(s, c, _("connection reset by the client (RST) after %llu bytes, as abort mode expects"),
                         (unsigned long long)c->sock.received);
        } else {
            c->failed = c->failed || c->phase == SS_DEMO_SC_OPEN || c->phase == SS_DEMO_SC_CLOSING;
            ss_demo_slog(s, c, _("recv() failed: %s%s"), strerror(e),
                         e == ECONNRESET ? _(" (the client sent an RST)") : "");
        }
        c->out.off = c->out.len = 0;
        c->peer_eof = true;
        conn_finish(s, c);
        return;
    }
    c->last_ms = now;
    if (c->phase == SS_DEMO_SC_DRAIN || c->phase == SS_DEMO_SC_CLOSING) {
        /* The handler is finished: input is discarded (its amount is bounded by time, not memory). */
        if (n == 0) {
            c->peer_eof = true;
            if (c->phase == SS_DEMO_SC_DRAIN)
                conn_finish(s, c);
        } else {
            ss_demo_slog_io(s, c, _("discarded %zd bytes read after the end of the exchange"), n);
        }
        return;
    }
    int r;
    if (n == 0) {
        ss_demo_slog_io(s, c, _("recv() returned 0: the client closed its side (FIN)"));
        c->peer_eof = true;
        r = s->handler->eof(s, c);
    } else {
        ss_demo_slog_io(s, c, _("read %zd bytes"), n);
        r = s->handler->data(s, c, s->scratch, (size_t)n);
    }
    conn_apply(s, c, r);
}

static void conn_timers(ss_demo_server_t *s, ss_demo_sconn_t *c, uint64_t now)
{
    const ss_demo_opts_t *o = s->o;
    if (c->phase == SS_DEMO_SC_DRAIN && now >= c->drain_until_ms) {
        ss_demo_slog_io(s, c, _("no FIN from the client within %u ms: closing"), DRAIN_MS);
        c->peer_eof = true;
        conn_finish(s, c);
        return;
    }
    if (o->conn_timeout_ms && c->phase != SS_DEMO_SC_DRAIN && now >= c->accepted_ms + o->conn_timeout_ms) {
        /* However busy: a client trickling a byte now and then never goes idle, and must not stay forever. */
        ss_demo_sconn_fail(c, _("open for %.1f s (--conn-timeout)"), (double)o->conn_timeout_ms / 1000);
        c->out.off = c->out.len = 0;
        c->peer_eof = true;
        conn_apply(s, c, SS_DEMO_SC_FAIL);
        return;
    }
    uint64_t from = c->last_ms > c->read_at_ms ? c->last_ms : c->read_at_ms;
    if (o->idle_timeout_ms && c->phase != SS_DEMO_SC_DRAIN && now >= from + o->idle_timeout_ms) {
        ss_demo_sconn_fail(c, _("idle for %.1f s (--idle-timeout)"), (double)o->idle_timeout_ms / 1000);
        c->out.off = c->out.len = 0;
        c->peer_eof = true; /* close at once: nothing is owed to a silent client */
        conn_apply(s, c, SS_DEMO_SC_FAIL);
    }
}

static void accept_clients(ss_demo_server_t *s, uint64_t now)
{
    const ss_demo_opts_t *o = s->o;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept(s->lfd, (struct sockaddr *)&ss, &len);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                ss_demo_log(&s->log, NULL, _("accept() failed: %s; pausing accepts for %u ms"),
                            strerror(errno), ACCEPT_PAUSE_MS);
                s->accept_pause_until = now + ACCEPT_PAUSE_MS;
            }
            return;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        char peer[SS_DEMO_ADDRSTRLEN];
        ss_demo_fmt_addr((struct sockaddr *)&ss, peer, sizeof peer);
        if (s->nconns >= o->max_clients || s->quit) {
            ss_demo_log(&s->log, peer, _("rejected: already serving %zu clients (--max-clients %llu)"),
                        s->nconns, (unsigned long long)o->max_clients);
            close(fd);
            s->rejected++;
            continue;
        }
        ss_demo_sconn_t *c = calloc(1, sizeof *c);
        if (!c || ss_demo_set_nonblock(fd) != 0) {
            ss_demo_log(&s->log, peer, _("rejected: out of memory"));
            free(c);
            close(fd);
            s->rejected++;
            continue;
        }
        ss_demo_sock_init(&c->sock, fd, &s->trace);
        if (!c->sock.remote[0]) /* already reset: the kernel no longer knows the peer, accept() did */
            memcpy(c->sock.remote, peer, sizeof peer);
        c->id = ++s->next_id;
        c->accepted_ms = c->last_ms = now;
        c->read_at_ms = now + o->read_delay_ms;
        /* Each buffer is capped on its own, and all of them together by --max-memory. */
        ss_demo_buf_init(&c->in, (size_t)o->max_message + sizeof s->scratch + 8, &s->budget);
        ss_demo_buf_init(&c->out, (size_t)o->max_message + OUT_HIGH_WATER + 8, &s->budget);
        s->conns[s->nconns++] = c;
        ss_demo_slog(s, c, _("accepted on %s (fd %d; %zu connected)"), c->sock.local, fd, s->nconns);
        if (o->read_delay_ms)
            ss_demo_slog_io(s, c, _("waiting %llu ms before the first recv()"),
                            (unsigned long long)o->read_delay_ms);
        int r = s->handler->open ? s->handler->open(s, c) : SS_DEMO_SC_CONTINUE;
        conn_apply(s, c, r);
    }
}

static bool wants_read(const ss_demo_sconn_t *c, uint64_t now)
{
    if (c->phase == SS_DEMO_SC_DRAIN)
        return true;
    return c->phase == SS_DEMO_SC_OPEN && !c->peer_eof && now >= c->read_at_ms &&
           ss_demo_buf_size(&c->out) < OUT_HIGH_WATER;
}

static void read_stdin(ss_demo_server_t *s)
{
    ssize_t n = read(STDIN_FILENO, s->scratch, sizeof s->scratch);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        s->stdin_open = false;
        return;
    }
    if (ss_demo_buf_append(&s->stdin_buf, s->scratch, (size_t)n) < 0) {
        ss_demo_log(&s->log, NULL, _("chat: a line from the terminal is too long; dropped"));
        s->stdin_buf.off = s->stdin_buf.len = 0;
        return;
    }
    for (;;) {
        uint8_t *h = ss_demo_buf_head(&s->stdin_buf);
        uint8_t *nl = memchr(h, '\n', ss_demo_buf_size(&s->stdin_buf));
        if (!nl)
            break;
        size_t len = (size_t)(nl - h);
        ss_demo_chat_broadcast(s, (const char *)h, len);
        ss_demo_buf_consume(&s->stdin_buf, len + 1);
    }
}

static int tcp_loop(ss_demo_server_t *s)
{
    const ss_demo_opts_t *o = s->o;
    size_t maxfds = (size_t)o->max_clients + 2;
    struct pollfd *pfds = calloc(maxfds, sizeof *pfds);
    if (!pfds) {
        ss_demo_log(&s->log, NULL, _("out of memory"));
        return SS_DEMO_EXIT_FAIL;
    }
    bool chat_stdin = o->mode == SS_DEMO_MODE_CHAT && !o->script;
    s->stdin_open = chat_stdin;
    while (!(o->stop && *o->stop)) {
        if (o->clients && s->served >= o->clients)
            break;
        if (s->quit && s->nconns == 0)
            break;
        uint64_t now = ss_demo_now_ms();
        uint64_t wake = UINT64_MAX;
        size_t n = 0;
        pfds[n].fd = now >= s->accept_pause_until ? s->lfd : -1;
        pfds[n++].events = POLLIN;
        if (s->accept_pause_until > now)
            wake = s->accept_pause_until;
        size_t stdin_slot = SIZE_MAX;
        if (s->stdin_open) {
            stdin_slot = n;
            pfds[n].fd = STDIN_FILENO;
            pfds[n++].events = POLLIN;
        }
        size_t base = n;
        for (size_t i = 0; i < s->nconns; i++) {
            ss_demo_sconn_t *c = s->conns[i];
            short ev = 0;
            if (wants_read(c, now))
                ev |= POLLIN;
            if (ss_demo_buf_size(&c->out) > 0)
                ev |= POLLOUT;
            /* A connection waiting for its read delay is left out of poll() altogether, or
             * an early RST (POLLERR) would make poll() return at once, over and over. */
            pfds[n].fd = ev ? c->sock.fd : -1;
            pfds[n++].events = ev;
            if (c->phase == SS_DEMO_SC_OPEN && now < c->read_at_ms && c->read_at_ms < wake)
                wake = c->read_at_ms;
            if (c->phase == SS_DEMO_SC_DRAIN && c->drain_until_ms < wake)
                wake = c->drain_until_ms;
            if (o->idle_timeout_ms && c->phase != SS_DEMO_SC_DRAIN) {
                uint64_t from = c->last_ms > c->read_at_ms ? c->last_ms : c->read_at_ms;
                if (from + o->idle_timeout_ms < wake)
                    wake = from + o->idle_timeout_ms;
            }
            if (o->conn_timeout_ms && c->phase != SS_DEMO_SC_DRAIN && c->accepted_ms + o->conn_timeout_ms < wake)
                wake = c->accepted_ms + o->conn_timeout_ms;
        }
        int timeout = -1;
        if (wake != UINT64_MAX)
            timeout = wake <= now ? 0 : (int)(wake - now > 60000 ? 60000 : wake - now);
        int rc = poll(pfds, n, timeout);
        if (rc < 0 && errno != EINTR) {
            ss_demo_log(&s->log, NULL, _("poll() failed: %s"), strerror(errno));
            free(pfds);
            return SS_DEMO_EXIT_FAIL;
        }
        now = ss_demo_now_ms();
        if (rc > 0) {
            if (stdin_slot != SIZE_MAX && pfds[stdin_slot].revents)
                read_stdin(s);
            /* Connections first: those accepted below are not in pfds yet. */
            size_t count = s->nconns;
            for (size_t i = 0; i < count; i++) {
                ss_demo_sconn_t *c = s->conns[i];
                short re = pfds[base + i].revents;
                if (!re || c->phase == SS_DEMO_SC_CLOSED)
                    continue;
                if ((re & (POLLIN | POLLHUP | POLLERR)) && wants_read(c, now))
                    conn_read(s, c, now);
                if (c->phase != SS_DEMO_SC_CLOSED && ((re & POLLOUT) || ((re & (POLLERR | POLLHUP)) &&
                                                                        ss_demo_buf_size(&c->out))))
                    conn_flush(s, c);
            }
            if (pfds[0].revents & POLLIN)
                accept_clients(s, now);
        }
        /* Timers, an immediate send of what the handlers queued, and the next step of each. */
        for (size_t i = 0; i < s->nconns; i++) {
            ss_demo_sconn_t *c = s->conns[i];
            if (c->phase != SS_DEMO_SC_CLOSED)
                conn_timers(s, c, now);
            if (c->phase != SS_DEMO_SC_CLOSED && ss_demo_buf_size(&c->out))
                conn_flush(s, c);
            if (c->phase != SS_DEMO_SC_CLOSED)
                conn_advance(s, c, now);
        }
        size_t keep = 0;
        for (size_t i = 0; i < s->nconns; i++) {
            if (s->conns[i]->phase == SS_DEMO_SC_CLOSED)
                free(s->conns[i]);
            else
                s->conns[keep++] = s->conns[i];
        }
        s->nconns = keep;
    }
    free(pfds);
    return SS_DEMO_EXIT_OK;
}

static int open_listener(ss_demo_server_t *s, char *err, size_t errlen)
{
    const ss_demo_opts_t *o = s->o;
    bool udp = o->mode == SS_DEMO_MODE_UDP;
    struct sockaddr_storage addr;
    socklen_t alen;
    if (ss_demo_resolve(o->host, o->port, o->family, &addr, &alen, err, errlen) < 0)
        return -1;
    int fd = socket(o->family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, _("socket() failed: %s"), strerror(errno));
        return -1;
    }
    int one = 1;
    /* Restarting the server must not wait for the old connections' TIME-WAIT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Accepted sockets inherit the buffer sizes, the MSS, Nagle and the --loss filter. */
    if (ss_demo_apply_sockopts(fd, udp ? SOCK_DGRAM : SOCK_STREAM, o, err, errlen) < 0 ||
        ss_demo_set_nonblock(fd) < 0) {
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&addr, alen) != 0) {
        snprintf(err, errlen, _("cannot bind %s port %u: %s"), o->host, o->port, strerror(errno));
        close(fd);
        return -1;
    }
    if (!udp && listen(fd, 128) != 0) {
        snprintf(err, errlen, _("listen() failed: %s"), strerror(errno));
        close(fd);
        return -1;
    }
    s->lfd = fd;
    return 0;
}

int ss_demo_server_run(const ss_demo_opts_t *o)
{
    ss_demo_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        fprintf(stderr, _("segscope-demo server: out of memory\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    s->o = o;
    s->lfd = s->dirfd = -1;
    ss_demo_log_init(&s->log, _("server"), o->quiet);
    ss_demo_trace_none(&s->trace);
    s->budget.max = (size_t)o->max_memory;
    s->handler = handler_for(o->mode);
    s->frame = o->mode == SS_DEMO_MODE_LINE ? SS_DEMO_FRAME_LINE
               : o->le                      ? SS_DEMO_FRAME_LEN32_LE
                                            : SS_DEMO_FRAME_LEN32_BE;
    ss_demo_buf_init(&s->stdin_buf, (size_t)o->max_message, NULL);
    int status = SS_DEMO_EXIT_OK;
    char err[512];
    if (o->trace_path && ss_demo_trace_open(&s->trace, o->trace_path, err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo server: %s\n"), err);
        status = SS_DEMO_EXIT_USAGE;
        goto out;
    }
    if (o->mode == SS_DEMO_MODE_FILE) {
        s->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
            fprintf(stderr, _("segscope-demo server: --dir %s: %s\n"), o->dir, strerror(errno));
            status = SS_DEMO_EXIT_USAGE;
            goto out;
        }
    }
    if (o->mode == SS_DEMO_MODE_CHAT && o->script && ss_demo_chat_load_script(s, err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo server: %s\n"), err);
        status = SS_DEMO_EXIT_USAGE;
        goto out;
    }
    s->conns = calloc((size_t)o->max_clients, sizeof *s->conns);
    if (!s->conns) {
        fprintf(stderr, _("segscope-demo server: out of memory\n"));
        status = SS_DEMO_EXIT_FAIL;
        goto out;
    }
    if (open_listener(s, err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo server: %s\n"), err);
        status = SS_DEMO_EXIT_FAIL;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char where[SS_DEMO_ADDRSTRLEN] = "?";
    uint16_t port = o->port;
    if (getsockname(s->lfd, (struct sockaddr *)&ss, &len) == 0) {
        ss_demo_fmt_addr((struct sockaddr *)&ss, where, sizeof where);
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                              : ((struct sockaddr_in *)&ss)->sin_port);
    }
    ss_demo_log(&s->log, NULL, _("listening on %s (%s, mode %s%s%s)"), where,
                o->mode == SS_DEMO_MODE_UDP ? "udp" : "tcp", ss_demo_mode_name(o->mode),
                o->loss > 0 ? _(", dropping incoming segments at random (--loss)") : "",
                o->clients ? "" : _("; Ctrl-C stops"));
    if (o->on_listening)
        o->on_listening(o->on_listening_arg, where, port);

    status = o->mode == SS_DEMO_MODE_UDP ? ss_demo_server_udp_loop(s) : tcp_loop(s);

    for (size_t i = 0; i < s->nconns; i++) {
        ss_demo_sconn_t *c = s->conns[i];
        if (c->phase != SS_DEMO_SC_CLOSED) {
            ss_demo_slog(s, c, _("closing: the server is stopping"));
            c->failed = c->phase == SS_DEMO_SC_OPEN;
            conn_finish(s, c);
        }
        free(c);
    }
    s->nconns = 0;
    ss_demo_log(&s->log, NULL,
                P_("served %llu connection (%llu failed, %llu rejected); exiting",
                   "served %llu connections (%llu failed, %llu rejected); exiting", s->served),
                (unsigned long long)s->served, (unsigned long long)s->failed, (unsigned long long)s->rejected);
out:
    if (ss_demo_trace_close(&s->trace) < 0) {
        fprintf(stderr, _("segscope-demo server: could not write the whole trace %s\n"), o->trace_path);
        if (status == SS_DEMO_EXIT_OK)
            status = SS_DEMO_EXIT_FAIL;
    }
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    ss_demo_chat_free_script(s);
    ss_demo_buf_fini(&s->stdin_buf);
    free(s->conns);
    free(s);
    return status;
}
