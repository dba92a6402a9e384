/* sock.c - send() and recv() on a connected socket, counted and written to the trace. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void ss_demo_sock_init(ss_demo_sock_t *s, int fd, ss_demo_trace_t *trace)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->trace = trace;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    /* Recorded once: after an RST or a completed close the kernel no longer knows the peer. */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        ss_demo_fmt_addr((struct sockaddr *)&ss, s->local, sizeof s->local);
    len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        ss_demo_fmt_addr((struct sockaddr *)&ss, s->remote, sizeof s->remote);
}

ssize_t ss_demo_sock_send(ss_demo_sock_t *s, const void *p, size_t n)
{
    ssize_t r;
    do
        r = send(s->fd, p, n, MSG_NOSIGNAL);
    while (r < 0 && errno == EINTR);
    if (r > 0) {
        int saved = errno;
        ss_demo_trace_record(s->trace, s->fd, "send", s->local, s->remote, s->sent,
                             (uint64_t)r);
        errno = saved;
        s->sent += (uint64_t)r;
        s->send_calls++;
    }
    return r;
}

ssize_t ss_demo_sock_recv(ss_demo_sock_t *s, void *p, size_t n)
{
    ssize_t r;
    do
        r = recv(s->fd, p, n, 0);
    while (r < 0 && errno == EINTR);
    if (r >= 0) {
        /* A 0-byte read (TCP: the end of the stream) is recorded with len 0 at the final offset. */
        ss_demo_trace_record(s->trace, s->fd, "recv", s->local, s->remote, s->received,
                             (uint64_t)r);
        s->received += (uint64_t)r;
        s->recv_calls++;
    }
    return r;
}

void ss_demo_sock_close(ss_demo_sock_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}
