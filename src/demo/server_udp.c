/* server_udp.c - the UDP server: echo each numbered datagram; clients are tracked by address. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/*
 * UDP has no connections, so the server keeps a small table of the
 * addresses it has heard from (at most --max-clients). A client is finished
 * when it sends the end marker (sequence number 0xFFFFFFFF) or stays silent
 * for --idle-timeout. Finished entries stay a while so that a repeated end
 * marker (the client repeats it in case one is lost) is recognised as a
 * repeat, and are recycled when the table is full.
 *
 * Datagram format, both ways: a 4-byte big-endian sequence number, then
 * payload bytes. The server echoes each datagram unchanged.
 */

#define UDP_END_MARKER 0xFFFFFFFFu
#define UDP_LINGER_MS 5000

typedef struct {
    struct sockaddr_storage addr;
    socklen_t alen;
    char name[SS_DEMO_ADDRSTRLEN];
    uint64_t last_ms, done_ms;
    uint64_t rx, tx, rx_bytes, tx_bytes;
    bool used, done;
} udp_peer_t;

static udp_peer_t *find_peer(udp_peer_t *peers, size_t n, const struct sockaddr_storage *a, socklen_t alen)
{
    for (size_t i = 0; i < n; i++)
        if (peers[i].used && peers[i].alen == alen && memcmp(&peers[i].addr, a, alen) == 0)
            return &peers[i];
    return NULL;
}

static udp_peer_t *new_peer(udp_peer_t *peers, size_t n)
{
    udp_peer_t *oldest_done = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!peers[i].used)
            return &peers[i];
        if (peers[i].done && (!oldest_done || peers[i].done_ms < oldest_done->done_ms))
            oldest_done = &peers[i];
    }
    return oldest_done;
}

static void peer_finish(ss_demo_server_t *s, udp_peer_t *p, uint64_t now, const char *why, bool failed)
{
    ss_demo_log(&s->log, p->name, _("%s: received %llu datagrams (%llu bytes), echoed %llu"), why,
                (unsigned long long)p->rx, (unsigned long long)p->rx_bytes, (unsigned long long)p->tx);
    p->done = true;
    p->done_ms = now;
    s->served++;
    if (failed)
        s->failed++;
}

int ss_demo_server_udp_loop(ss_demo_server_t *s)
{
    const ss_demo_opts_t *o = s->o;
    udp_peer_t *peers = calloc((size_t)o->max_clients, sizeof *peers);
    if (!peers) {
        ss_demo_log(&s->log, NULL, _("out of memory"));
        return SS_DEMO_EXIT_FAIL;
    }
    size_t npeers = (size_t)o->max_clients;
    uint64_t rx_off = 0, tx_off = 0;
    char local[SS_DEMO_ADDRSTRLEN] = "";
    struct sockaddr_storage ls;
    socklen_t llen = sizeof ls;
    if (getsockname(s->lfd, (struct sockaddr *)&ls, &llen) == 0)
        ss_demo_fmt_addr((struct sockaddr *)&ls, local, sizeof local);

    while (!(o->stop && *o->stop) && !(o->clients && s->served >= o->clients)) {
        uint64_t now = ss_demo_now_ms();
        /* Wake for the next idle timeout or the end of a finished entry's stay. */
        uint64_t wake = UINT64_MAX;
        for (size_t i = 0; i < npeers; i++) {
            udp_peer_t *p = &peers[i];
            if (!p->used)
                continue;
            uint64_t t = p->done ? p->done_ms + UDP_LINGER_MS
                                 : (o->idle_timeout_ms ? p->last_ms + o->idle_timeout_ms : UINT64_MAX);
            if (t <= now) {
                if (!p->done)
                    peer_finish(s, p, now, "idle for --idle-timeout: forgetting this client", true);
                else
                    p->used = false;
                continue;
            }
            if (t < wake)
                wake = t;
        }
        struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
        int timeout = wake == UINT64_MAX ? -1 : (int)(wake - now > 60000 ? 60000 : wake - now);
        int rc = poll(&pfd, 1, timeout);
        if (rc < 0 && errno != EINTR) {
            ss_demo_log(&s->log, NULL, _("poll() failed: %s"), strerror(errno));
            free(peers);
            return SS_DEMO_EXIT_FAIL;
        }
        if (rc <= 0)
            continue;
        for (;;) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t n = recvfrom(s->lfd, s->scratch, sizeof s->scratch, 0, (struct sockaddr *)&from, &flen);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    ss_demo_log(&s->log, NULL, _("recvfrom() failed: %s"), strerror(errno));
                break;
            }
            now = ss_demo_now_ms();
            udp_peer_t *p = find_peer(peers, npeers, &from, flen);
            if (!p) {
                char name[SS_DEMO_ADDRSTRLEN];
                ss_demo_fmt_addr((struct sockaddr *)&from, name, sizeof name);
                p = new_peer(peers, npeers);
                if (!p) {
                    ss_demo_log(&s->log, name, _("rejected a datagram: already tracking %zu clients (--max-clients)"),
                                npeers);
                    s->rejected++;
                    continue;
                }
                memset(p, 0, sizeof *p);
                p->used = true;
                p->addr = from;
                p->alen = flen;
                memcpy(p->name, name, sizeof name);
                ss_demo_log(&s->log, p->name, _("new client"));
            }
            /* As in segscope-trace, a UDP socket's offsets count bytes over all its datagrams. */
            ss_demo_trace_record(&s->trace, s->lfd, "recv", local, p->name, rx_off, (uint64_t)n);
            rx_off += (uint64_t)n;
            p->rx++;
            p->rx_bytes += (uint64_t)n;
            p->last_ms = now;
            if (n < 4) {
                ss_demo_log(&s->log, p->name, _("datagram of %zd bytes is too short for a sequence number: ignored"), n);
                continue;
            }
            const uint8_t *b = s->scratch;
            uint32_t seq = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            if (seq == UDP_END_MARKER)
                ss_demo_log(&s->log, p->name, _("end marker (%zd bytes)%s"), n, p->done ? _(", again") : "");
            else
                ss_demo_log_io(&s->log, p->name, _("datagram #%u, %zd bytes"), seq, n);
            ssize_t w = sendto(s->lfd, b, (size_t)n, 0, (struct sockaddr *)&from, flen);
            if (w < 0) {
                ss_demo_log(&s->log, p->name, _("sendto() failed: %s; echo of #%u dropped"), strerror(errno), seq);
            } else {
                ss_demo_trace_record(&s->trace, s->lfd, "send", local, p->name, tx_off, (uint64_t)w);
                tx_off += (uint64_t)w;
                p->tx++;
                p->tx_bytes += (uint64_t)w;
            }
            if (seq == UDP_END_MARKER && !p->done)
                peer_finish(s, p, now, "the client said goodbye", false);
            if (o->clients && s->served >= o->clients)
                break;
        }
    }
    free(peers);
    return SS_DEMO_EXIT_OK;
}
