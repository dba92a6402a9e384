/* log.c - one line per event on standard error, and the clocks the demo uses. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "internal.h"

uint64_t ss_demo_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ss_demo_sleep_ms(uint64_t ms, volatile sig_atomic_t *stop)
{
    uint64_t end = ss_demo_now_ms() + ms;
    for (;;) {
        if (stop && *stop)
            return;
        uint64_t now = ss_demo_now_ms();
        if (now >= end)
            return;
        /* Short slices, so that a signal handler's flag is seen soon. */
        uint64_t left = end - now;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(left > 100 ? 100 : left) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void ss_demo_log_init(ss_demo_log_t *l, const char *who, bool quiet)
{
    l->who = who;
    l->quiet = quiet;
    l->t0_ms = ss_demo_now_ms();
}

void ss_demo_vlog(const ss_demo_log_t *l, const char *peer, const char *fmt, va_list ap)
{
    /*
     * The line is built first and written with one call, so that the lines
     * of a server and a client sharing a terminal never interleave mid-line.
     */
    char line[1024];
    uint64_t t = ss_demo_now_ms() - l->t0_ms;
    int n = snprintf(line, sizeof line, "[%4llu.%03llu] %s%s%s%s ", (unsigned long long)(t / 1000),
                     (unsigned long long)(t % 1000), l->who, peer ? " " : "", peer ? peer : "",
                     peer ? ":" : "");
    if (n < 0)
        return;
    if ((size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void ss_demo_log(const ss_demo_log_t *l, const char *peer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(l, peer, fmt, ap);
    va_end(ap);
}

void ss_demo_log_io(const ss_demo_log_t *l, const char *peer, const char *fmt, ...)
{
    if (l->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    ss_demo_vlog(l, peer, fmt, ap);
    va_end(ap);
}
