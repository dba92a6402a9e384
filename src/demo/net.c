/* net.c - addresses, name resolution and the socket options the modes need. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void ss_demo_fmt_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN + 16];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            /* An IPv4 client of a dual-stack socket: written as it appears on the wire. */
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
            snprintf(out, outlen, "%s:%u", host, ntohs(in6->sin6_port));
            return;
        }
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        /* Brackets, as in a URL, so the port's colon is not read as part of the address. */
        snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else if (outlen) {
        out[0] = '\0';
    }
}

int ss_demo_resolve(const char *host, uint16_t port, int family, struct sockaddr_storage *out,
                    socklen_t *outlen, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, _("cannot resolve '%s' as an %s address: %s"), host,
                 family == AF_INET6 ? "IPv6" : "IPv4", rc ? gai_strerror(rc) : _("no address"));
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *outlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int ss_demo_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int set_int(int fd, int level, int name, int v, const char *what, char *err, size_t errlen)
{
    if (setsockopt(fd, level, name, &v, sizeof v) != 0) {
        snprintf(err, errlen, _("cannot set %s to %d: %s"), what, v, strerror(errno));
        return -1;
    }
    return 0;
}

int ss_demo_apply_sockopts(int fd, int type, const ss_demo_opts_t *o, char *err, size_t errlen)
{
    /* Buffers and the MSS must be set before connect()/listen(): they shape the SYN's options. */
    if (o->rcvbuf && set_int(fd, SOL_SOCKET, SO_RCVBUF, (int)o->rcvbuf, "SO_RCVBUF", err, errlen) < 0)
        return -1;
    if (o->sndbuf && set_int(fd, SOL_SOCKET, SO_SNDBUF, (int)o->sndbuf, "SO_SNDBUF", err, errlen) < 0)
        return -1;
    if (type == SOCK_STREAM) {
        if (o->mss && set_int(fd, IPPROTO_TCP, TCP_MAXSEG, (int)o->mss, "TCP_MAXSEG", err, errlen) < 0)
            return -1;
        if (o->nodelay && set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", err, errlen) < 0)
            return -1;
    }
    if (o->loss > 0 && ss_demo_attach_loss(fd, o->loss) != 0) {
        snprintf(err, errlen, _("cannot attach the --loss socket filter: %s"), strerror(errno));
        return -1;
    }
    return 0;
}

int ss_demo_set_keepalive(int fd, int idle_s, int intvl_s, int cnt, char *err, size_t errlen)
{
    /*
     * After idle_s seconds without traffic the kernel sends a probe: a
     * segment carrying no new data whose sequence number is one below the
     * next one (snd_nxt - 1), so the peer must answer with an ACK. That is
     * why a keep-alive looks like a retransmission of one old byte.
     */
    if (set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE", err, errlen) < 0 ||
        set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s, "TCP_KEEPIDLE", err, errlen) < 0 ||
        set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s, "TCP_KEEPINTVL", err, errlen) < 0 ||
        set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt, "TCP_KEEPCNT", err, errlen) < 0)
        return -1;
    return 0;
}

bool ss_demo_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s[0] || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K') shift = 10;
    else if (*end == 'm' || *end == 'M') shift = 20;
    else if (*end == 'g' || *end == 'G') shift = 30;
    if (shift)
        end++;
    if (*end)
        return false;
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}
