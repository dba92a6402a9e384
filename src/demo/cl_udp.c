/* cl_udp.c - client side of udp: numbered datagrams of varied sizes, each echoed; lost ones listed by number. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define UDP_END_MARKER 0xFFFFFFFFu
#define UDP_SETTLE_MS 500  /* after the last send, wait this long past the last echo */
#define UDP_END_TRIES 10
#define UDP_END_WAIT_MS 200

typedef struct {
    ss_demo_client_t *cl;
    uint8_t *seen; /* per sequence number: echo verified */
    uint64_t echoed, verified, bad, end_acked;
    uint8_t *buf, *expect;
    size_t max;
} udp_ctx_t;

static size_t dgram_size(const ss_demo_opts_t *o, uint64_t i)
{
    return 4 + ss_demo_msg_size(o->seed, i, (size_t)o->max_size);
}

/* A datagram: the sequence number, big-endian, then the message bytes. */
static void build(uint8_t *b, uint32_t seq, size_t len)
{
    b[0] = (uint8_t)(seq >> 24);
    b[1] = (uint8_t)(seq >> 16);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    ss_demo_msg_fill(b + 4, seq, 0, len - 4);
}

/* Reads every datagram already waiting; returns the number read, or -1 on a hard error. */
static int drain(udp_ctx_t *x)
{
    const ss_demo_opts_t *o = x->cl->o;
    int got = 0;
    for (;;) {
        ssize_t n = ss_demo_sock_recv(&x->cl->sock, x->buf, x->max);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return got;
            ss_demo_cl_log(x->cl, _("recv() failed: %s%s"), strerror(errno),
                           errno == ECONNREFUSED ? _(" (no server on that port: an ICMP port unreachable came back)") : "");
            return -1;
        }
        got++;
        if (n < 4) {
            x->bad++;
            continue;
        }
        uint32_t seq = (uint32_t)x->buf[0] << 24 | (uint32_t)x->buf[1] << 16 | (uint32_t)x->buf[2] << 8 | x->buf[3];
        if (seq == UDP_END_MARKER) {
            x->end_acked++;
            continue;
        }
        ss_demo_cl_log_io(x->cl, _("echo of datagram #%u, %zd bytes"), seq, n);
        if (seq >= o->count) {
            x->bad++;
            continue;
        }
        x->echoed++;
        size_t want = dgram_size(o, seq);
        build(x->expect, seq, want);
        if ((size_t)n == want && memcmp(x->expect, x->buf, want) == 0) {
            if (!x->seen[seq]) {
                x->seen[seq] = 1;
                x->verified++;
            }
        } else {
            x->bad++;
        }
    }
}

int ss_demo_cl_udp(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    udp_ctx_t x = {.cl = cl, .max = (size_t)o->max_size + 8};
    int status = SS_DEMO_EXIT_FAIL;
    x.seen = calloc((size_t)o->count, 1);
    x.buf = malloc(65536);
    x.expect = malloc(x.max);
    if (!x.seen || !x.buf || !x.expect) {
        ss_demo_cl_log(cl, _("out of memory"));
        goto out;
    }
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < o->count; i++) {
        size_t len = dgram_size(o, i);
        build(x.expect, (uint32_t)i, len);
        for (;;) {
            ssize_t w = ss_demo_sock_send(&cl->sock, x.expect, len);
            if (w >= 0)
                break;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
                ss_demo_cl_log(cl, _("send() failed: %s"), strerror(errno));
                goto report;
            }
            ss_demo_cl_wait(cl, cl->sock.fd, POLLOUT, 100);
        }
        ss_demo_cl_log_io(cl, _("datagram #%llu, %zu bytes"), (unsigned long long)i, len);
        bytes += len;
        if (drain(&x) < 0)
            goto report;
        /* A breath every 16 datagrams, so a burst does not overflow the server's receive buffer. */
        if (i % 16 == 15)
            ss_demo_cl_wait(cl, cl->sock.fd, POLLIN, 1);
    }
    /* The stragglers: wait until every echo is in, or nothing has come for a while. */
    uint64_t last = ss_demo_now_ms(), start = last;
    while (x.verified < o->count && ss_demo_now_ms() - last < UDP_SETTLE_MS &&
           ss_demo_now_ms() - start < o->timeout_ms) {
        int r = ss_demo_cl_wait(cl, cl->sock.fd, POLLIN, UDP_SETTLE_MS);
        if (r < 0)
            break;
        int got = drain(&x);
        if (got < 0)
            goto report;
        if (got > 0)
            last = ss_demo_now_ms();
    }
    /* Goodbye: the end marker, repeated until its echo comes back (it may be lost too). */
    uint8_t end[7] = {0xFF, 0xFF, 0xFF, 0xFF, 'e', 'n', 'd'};
    for (int t = 0; t < UDP_END_TRIES && !x.end_acked; t++) {
        if (ss_demo_sock_send(&cl->sock, end, sizeof end) < 0)
            break;
        ss_demo_cl_wait(cl, cl->sock.fd, POLLIN, UDP_END_WAIT_MS);
        if (drain(&x) < 0)
            break;
    }
    if (!x.end_acked)
        ss_demo_cl_log(cl, _("the end marker was never echoed"));
report:;
    uint64_t lost = o->count - x.verified;
    printf(_("udp: sent %llu datagrams (%llu bytes), %llu echoes received, %llu verified; lost %llu"), (unsigned long long)o->count,
           (unsigned long long)bytes, (unsigned long long)x.echoed, (unsigned long long)x.verified,
           (unsigned long long)lost);
    if (lost) {
        printf(":");
        for (uint64_t i = 0; i < o->count; i++)
            if (!x.seen[i])
                printf(" #%llu", (unsigned long long)i);
    }
    printf("\n");
    status = lost == 0 && x.bad == 0 ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
out:
    free(x.seen);
    free(x.buf);
    free(x.expect);
    return status;
}
