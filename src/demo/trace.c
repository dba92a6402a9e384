/* trace.c - the application trace: one JSON line per send()/recv() call (docs/app-trace.md). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int ss_demo_trace_open(ss_demo_trace_t *t, const char *path, char *err, size_t errlen)
{
    ss_demo_trace_none(t);
    /*
     * O_APPEND and one write() per record: records are never torn, even when
     * a server and a client are pointed at the same file.
     */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, _("cannot write the trace %s: %s"), path, strerror(errno));
        return -1;
    }
    t->fd = fd;
    return 0;
}

void ss_demo_trace_none(ss_demo_trace_t *t)
{
    t->fd = -1;
    t->pid = (long)getpid();
    t->failed = false;
}

static void put_endpoint(char *out, size_t cap, const char *ep)
{
    /* Endpoints come from getsockname/getpeername: digits, dots, colons and brackets, nothing to escape. */
    if (ep && ep[0])
        snprintf(out, cap, "\"%s\"", ep);
    else
        snprintf(out, cap, "null");
}

void ss_demo_trace_record(ss_demo_trace_t *t, int fd, const char *call, const char *local, const char *remote,
                          uint64_t offset, uint64_t len)
{
    if (!t || t->fd < 0)
        return;
    /* The time is taken when the call has returned, with the wall clock, like a capture's. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char lo[SS_DEMO_ADDRSTRLEN + 2], re[SS_DEMO_ADDRSTRLEN + 2], line[512];
    put_endpoint(lo, sizeof lo, local);
    put_endpoint(re, sizeof re, remote);
    /* The fields and their order are those of segscope-trace's records, so one reader serves both. */
    int n = snprintf(line, sizeof line,
                     "{\"ts\":%lld.%06ld,\"pid\":%ld,\"fd\":%d,\"call\":\"%s\",\"local\":%s,\"remote\":%s,"
                     "\"offset\":%llu,\"len\":%llu}\n",
                     (long long)ts.tv_sec, ts.tv_nsec / 1000, t->pid, fd, call, lo, re,
                     (unsigned long long)offset, (unsigned long long)len);
    if (n < 0 || (size_t)n >= sizeof line) {
        t->failed = true;
        return;
    }
    ssize_t w;
    do
        w = write(t->fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    if (w != n)
        t->failed = true;
}

int ss_demo_trace_close(ss_demo_trace_t *t)
{
    int rc = t->failed ? -1 : 0;
    if (t->fd >= 0 && close(t->fd) != 0)
        rc = -1;
    t->fd = -1;
    return rc;
}
