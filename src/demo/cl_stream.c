/* cl_stream.c - client exchanges on an unframed stream: sticky, bulk and slow-reader, half-close. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"

/* Retransmissions the kernel made on this connection (TCP_INFO), or -1. */
static long retransmissions(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -1;
    return (long)ti.tcpi_total_retrans;
}

/* Reads the server's one-line JSON report up to its end of stream into line (NUL-terminated). */
static int read_report(ss_demo_client_t *cl, char *line, size_t cap)
{
    size_t got = 0;
    for (;;) {
        if (got + 1 >= cap) {
            ss_demo_cl_log(cl, _("the server's report is longer than %zu bytes"), cap);
            return -1;
        }
        ssize_t n = ss_demo_cl_recv(cl, line + got, cap - 1 - got);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    line[got] = '\0';
    line[strcspn(line, "\n")] = '\0';
    return 0;
}

int ss_demo_cl_sticky(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    /*
     * Tiny writes back to back, no framing. With Nagle's algorithm (the
     * default) the kernel sends the first at once and holds the rest until
     * that one is acknowledged, then sends them together; with TCP_NODELAY
     * each write leaves as its own segment. Either way the server, reading
     * late, gets several writes in one recv(): TCP carries bytes, not
     * messages.
     */
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < o->count; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "msg-%llu", (unsigned long long)i);
        if (ss_demo_cl_send_all(cl, msg, (size_t)len) < 0) {
            printf(_("sticky: sending failed\n"));
            return SS_DEMO_EXIT_FAIL;
        }
        bytes += (uint64_t)len;
    }
    shutdown(cl->sock.fd, SHUT_WR);
    ss_demo_cl_log_io(cl, _("shutdown(SHUT_WR) after %llu writes; waiting for the server's report"),
                      (unsigned long long)o->count);
    char line[4096];
    if (read_report(cl, line, sizeof line) < 0) {
        printf(_("sticky: no report from the server\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    ss_demo_json_field_t f[] = {{.key = "bytes", .type = SS_DEMO_JSON_UINT},
                                {.key = "recv_calls", .type = SS_DEMO_JSON_UINT}};
    char err[200];
    if (ss_demo_json_read(line, strlen(line), f, 2, err, sizeof err) < 0 || !f[0].found || !f[1].found) {
        ss_demo_cl_log(cl, _("the server's report is not what was expected: %s"), line);
        printf(_("sticky: bad report from the server\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    /* The sizes are shown as the server wrote them: the JSON array, up to its ']'. */
    char sizes[1024] = "?";
    const char *arr = strstr(line, "\"recv_sizes\":[");
    if (arr) {
        arr += 13;
        size_t k = strcspn(arr, "]");
        snprintf(sizes, sizeof sizes, "%.*s]", (int)(k < 1000 ? k : 1000), arr);
    }
    printf(P_("sticky: %llu send() calls, %llu bytes (%s); the server's recv() returned them in %llu call: %s\n",
              "sticky: %llu send() calls, %llu bytes (%s); the server's recv() returned them in %llu calls: %s\n",
              f[1].num),
           (unsigned long long)o->count, (unsigned long long)bytes, o->nodelay ? "TCP_NODELAY" : _("Nagle on"),
           (unsigned long long)f[1].num, sizes);
    if (f[0].num != bytes) {
        printf(_("sticky: the server received %llu bytes, not %llu\n"), (unsigned long long)f[0].num,
               (unsigned long long)bytes);
        return SS_DEMO_EXIT_FAIL;
    }
    return SS_DEMO_EXIT_OK;
}

typedef struct {
    ss_demo_client_t *cl;
    uint64_t total, produced;
    ss_demo_md5_t md5;
    /* bulk: the report line; half-close: the echoed stream's position */
    char line[4096];
    size_t got;
    bool mismatch;
} stream_ctx_t;

static int stream_produce(void *ctx, ss_demo_buf_t *out)
{
    stream_ctx_t *x = ctx;
    uint8_t buf[65536];
    size_t n = x->total - x->produced < sizeof buf ? (size_t)(x->total - x->produced) : sizeof buf;
    ss_demo_stream_fill(buf, x->produced, n);
    ss_demo_md5_update(&x->md5, buf, n);
    if (n && ss_demo_buf_append(out, buf, n) < 0)
        return -1;
    x->produced += n;
    return x->produced == x->total ? 1 : 0;
}

static int report_consume(void *ctx, const uint8_t *p, size_t n)
{
    stream_ctx_t *x = ctx;
    if (n > sizeof x->line - 1 - x->got) {
        ss_demo_cl_log(x->cl, _("the server's report is longer than %zu bytes"), sizeof x->line - 1);
        return -1;
    }
    memcpy(x->line + x->got, p, n);
    x->got += n;
    return 0;
}

static int report_eof(void *ctx)
{
    stream_ctx_t *x = ctx;
    x->line[x->got] = '\0';
    x->line[strcspn(x->line, "\n")] = '\0';
    return 0;
}

int ss_demo_cl_bulk(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    const char *mode = ss_demo_mode_name(o->mode);
    stream_ctx_t *x = calloc(1, sizeof *x);
    if (!x)
        return SS_DEMO_EXIT_FAIL;
    x->cl = cl;
    x->total = o->bytes;
    ss_demo_md5_init(&x->md5);
    ss_demo_pump_t pump = {.produce = stream_produce, .consume = report_consume, .eof = report_eof, .ctx = x,
                           .shutdown_after_send = true};
    int status = SS_DEMO_EXIT_FAIL;
    uint64_t t0 = ss_demo_now_ms();
    if (ss_demo_cl_pump(cl, &pump) < 0 || pump.send_failed) {
        printf(_("%s: the transfer failed after %llu of %llu bytes\n"), mode, (unsigned long long)cl->sock.sent,
               (unsigned long long)x->total);
        goto out;
    }
    double secs = (double)(ss_demo_now_ms() - t0) / 1000;
    char hex[33], err[200], srv_md5[40] = "";
    ss_demo_md5_hex(&x->md5, hex);
    ss_demo_json_field_t f[] = {
        {.key = "bytes", .type = SS_DEMO_JSON_UINT},
        {.key = "md5", .type = SS_DEMO_JSON_STRING, .str = srv_md5, .str_cap = sizeof srv_md5},
    };
    if (ss_demo_json_read(x->line, strlen(x->line), f, 2, err, sizeof err) < 0 || !f[0].found || !f[1].found) {
        ss_demo_cl_log(cl, _("the server's report is not what was expected: \"%s\""), x->line);
        printf(_("%s: sent %llu bytes (md5 %s); no usable report from the server\n"), mode,
               (unsigned long long)x->total, hex);
        goto out;
    }
    bool ok = f[0].num == x->total && strcmp(srv_md5, hex) == 0;
    long rtx = retransmissions(cl->sock.fd);
    printf(_("%s: sent %llu bytes (md5 %s) in %.2f s; the server received %llu bytes (md5 %s): %s; %ld segments "
             "retransmitted\n"),
           mode, (unsigned long long)x->total, hex, secs, (unsigned long long)f[0].num, srv_md5,
           ok ? _("verified") : _("MISMATCH"), rtx);
    status = ok ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
out:
    free(x);
    return status;
}

static int echo_consume(void *ctx, const uint8_t *p, size_t n)
{
    stream_ctx_t *x = ctx;
    uint8_t want[4096];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < sizeof want ? n - done : sizeof want;
        ss_demo_stream_fill(want, x->got + done, k);
        if (x->got + done + k > x->total || memcmp(want, p + done, k) != 0)
            x->mismatch = true;
        done += k;
    }
    x->got += n;
    return 0;
}

static int echo_eof(void *ctx)
{
    (void)ctx;
    return 0;
}

int ss_demo_cl_half_close(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    stream_ctx_t *x = calloc(1, sizeof *x);
    if (!x)
        return SS_DEMO_EXIT_FAIL;
    x->cl = cl;
    x->total = o->bytes;
    ss_demo_md5_init(&x->md5);
    /*
     * shutdown(SHUT_WR) sends a FIN: "I will send no more". It closes one
     * direction only; the connection stays half-open and the server's bytes
     * keep coming until the server closes its side too.
     */
    ss_demo_pump_t pump = {.produce = stream_produce, .consume = echo_consume, .eof = echo_eof, .ctx = x,
                           .shutdown_after_send = true};
    int status = SS_DEMO_EXIT_FAIL;
    if (ss_demo_cl_pump(cl, &pump) < 0 || pump.send_failed) {
        printf(_("half-close: the exchange failed after sending %llu and receiving %llu bytes\n"),
               (unsigned long long)cl->sock.sent, (unsigned long long)cl->sock.received);
        goto out;
    }
    bool ok = x->got == x->total && !x->mismatch;
    printf(_("half-close: sent %llu bytes, then shutdown(SHUT_WR); received %llu bytes after that: %s\n"),
           (unsigned long long)x->total, (unsigned long long)x->got, ok ? _("verified") : _("MISMATCH"));
    status = ok ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
out:
    free(x);
    return status;
}
