/* cl_simple.c - client exchanges of one message at a time: echo, once, keepalive, abort. */
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"

/* Sends msg and reads the same number of bytes back; returns 1 when they match, 0 when not, -1 on error. */
static int round_trip(ss_demo_client_t *cl, const char *msg, size_t len)
{
    char *back = malloc(len ? len : 1);
    if (!back)
        return -1;
    int rc = -1;
    if (ss_demo_cl_send_all(cl, msg, len) == 0 && ss_demo_cl_recv_exact(cl, back, len) == 0)
        rc = memcmp(back, msg, len) == 0;
    if (rc == 0)
        ss_demo_cl_log(cl, _("the echo of \"%s\" differs from what was sent"), msg);
    free(back);
    return rc;
}

int ss_demo_cl_echo(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    uint64_t verified = 0, echoed = 0, sent = 0;
    for (uint64_t i = 0; i < o->count; i++) {
        char msg[1100];
        int len = snprintf(msg, sizeof msg, "%.1000s #%llu\n", o->message, (unsigned long long)i + 1);
        sent++;
        int r = round_trip(cl, msg, (size_t)len);
        if (r < 0)
            break;
        echoed++;
        verified += (uint64_t)r;
    }
    printf(_("echo: %llu messages sent, %llu echoed, %llu verified (%llu bytes each way)\n"), (unsigned long long)sent,
           (unsigned long long)echoed, (unsigned long long)verified, (unsigned long long)cl->sock.sent);
    return verified == o->count ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
}

int ss_demo_cl_once(ss_demo_client_t *cl)
{
    const char *msg = cl->o->message;
    size_t len = strlen(msg);
    int r = round_trip(cl, msg, len);
    printf(_("once: sent %zu bytes, received %llu bytes%s\n"), len, (unsigned long long)cl->sock.received,
           r == 1 ? _(": the same") : r == 0 ? _(": different") : "");
    return r == 1 ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
}

int ss_demo_cl_keepalive(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    const char *msg = o->message;
    size_t len = strlen(msg);
    int r1 = round_trip(cl, msg, len);
    if (r1 != 1) {
        printf(_("keepalive: the first echo failed\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    /*
     * Idle, with SO_KEEPALIVE, TCP_KEEPIDLE 1, TCP_KEEPINTVL 1, TCP_KEEPCNT 3
     * (set before connect): after 1 s of silence the kernel probes every
     * second, and the server's kernel answers each probe with an ACK. Neither
     * program sees any of it; only a capture does.
     */
    ss_demo_cl_log(cl, _("idle for %.1f s; keep-alive probes after 1 s of silence, then every 1 s (3 unanswered "
                         "probes would end the connection)"), (double)o->idle_ms / 1000);
    uint64_t start = ss_demo_now_ms();
    int w = ss_demo_cl_wait(cl, cl->sock.fd, POLLIN, o->idle_ms);
    uint64_t idle = ss_demo_now_ms() - start;
    if (w != 0) {
        ss_demo_cl_log(cl, "%s", w < 0 ? _("interrupted") : _("the connection did not stay idle: something arrived"));
        printf(_("keepalive: the connection did not stay idle\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    int r2 = round_trip(cl, msg, len);
    printf(_("keepalive: idle %.1f s with keep-alive probes; connection still alive after it: %s\n"), (double)idle / 1000,
           r2 == 1 ? _("echo verified") : _("echo failed"));
    return r2 == 1 ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
}

int ss_demo_cl_abort(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    uint8_t buf[4096];
    uint64_t off = 0;
    while (off < o->bytes) {
        size_t n = o->bytes - off < sizeof buf ? (size_t)(o->bytes - off) : sizeof buf;
        ss_demo_stream_fill(buf, off, n);
        if (ss_demo_cl_send_all(cl, buf, n) < 0) {
            printf(_("abort: sending failed after %llu bytes\n"), (unsigned long long)off);
            return SS_DEMO_EXIT_FAIL;
        }
        off += n;
    }
    /* Wait until the server's kernel has acknowledged every byte, so the RST destroys nothing in flight. */
    uint64_t start = ss_demo_now_ms();
    for (;;) {
        int queued = 0;
        if (ioctl(cl->sock.fd, TIOCOUTQ, &queued) != 0 || queued == 0)
            break;
        if (ss_demo_now_ms() - start > o->timeout_ms || (o->stop && *o->stop))
            break;
        ss_demo_sleep_ms(5, o->stop);
    }
    /*
     * SO_LINGER with l_onoff 1 and l_linger 0: close() then throws away
     * anything unsent and sends an RST instead of a FIN. The connection
     * skips FIN-WAIT and TIME-WAIT; the server's next recv() fails with
     * ECONNRESET.
     */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(cl->sock.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) {
        ss_demo_cl_log(cl, _("cannot set SO_LINGER: %s"), strerror(errno));
        return SS_DEMO_EXIT_FAIL;
    }
    ss_demo_cl_log(cl, _("close() with SO_LINGER {1, 0}: an RST instead of a FIN; sent %llu bytes in %llu send() calls"),
                   (unsigned long long)cl->sock.sent, (unsigned long long)cl->sock.send_calls);
    ss_demo_sock_close(&cl->sock);
    printf(_("abort: sent %llu bytes, then reset the connection (SO_LINGER 0)\n"), (unsigned long long)off);
    return SS_DEMO_EXIT_OK;
}
