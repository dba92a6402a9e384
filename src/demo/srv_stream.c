/* srv_stream.c - server handlers for unframed streams: echo, sticky, bulk counting, half-close. */
#include <string.h>

#include "segscope/err.h"

#include "server.h"

/* echo, once, keepalive: every byte read is sent straight back. */
static int echo_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    return ss_demo_sconn_queue(s, c, p, n);
}

static int done_at_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    (void)s;
    (void)c;
    return SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_echo = {NULL, echo_data, done_at_eof, NULL};

/*
 * sticky: the client writes tiny unframed messages back to back. The server
 * waits (--read-delay) before its first recv(), so several writes' bytes are
 * already queued in the socket and one recv() returns them glued together:
 * TCP keeps no record of where one send() ended. The sizes recv() returned
 * are the lesson; they go to the log and back to the client.
 */
static int sticky_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    if (c->nsizes < SS_DEMO_STICKY_SIZES)
        c->sizes[c->nsizes++] = (uint32_t)n;
    char shown[64];
    size_t k = n < sizeof shown - 4 ? n : sizeof shown - 4;
    for (size_t i = 0; i < k; i++)
        shown[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\' ? (char)p[i] : '.';
    strcpy(shown + k, n > k ? "..." : "");
    ss_demo_slog(s, c, _("sticky: recv() returned %zu bytes: \"%s\""), n, shown);
    return SS_DEMO_SC_CONTINUE;
}

static int sticky_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    /* The report: {"bytes":50,"recv_calls":2,"recv_sizes":[5,45]} and a newline. */
    char line[1024];
    size_t calls = (size_t)c->sock.recv_calls - 1; /* the last recv() was the 0 of the FIN */
    int len = snprintf(line, sizeof line, "{\"bytes\":%llu,\"recv_calls\":%zu,\"recv_sizes\":[",
                       (unsigned long long)c->sock.received, calls);
    char sizes[700] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->nsizes && used + 16 < sizeof sizes; i++)
        used += (size_t)snprintf(sizes + used, sizeof sizes - used, "%s%u", i ? "," : "", c->sizes[i]);
    len += snprintf(line + len, sizeof line - (size_t)len, "%s]}\n", sizes);
    ss_demo_slog(s, c,
                 P_("sticky: %llu bytes arrived in %zu recv() call, of sizes %s",
                    "sticky: %llu bytes arrived in %zu recv() calls, of sizes %s", calls),
                 (unsigned long long)c->sock.received, calls, sizes);
    int r = ss_demo_sconn_queue(s, c, line, strlen(line));
    return r < 0 ? r : SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_sticky = {NULL, sticky_data, sticky_eof, NULL};

/* bulk, slow-reader, abort: count and digest what arrives; report both at the client's FIN. */
static int count_open(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    ss_demo_md5_init(&c->md5);
    c->reset_expected = s->o->mode == SS_DEMO_MODE_ABORT;
    return SS_DEMO_SC_CONTINUE;
}

static int count_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    (void)s;
    ss_demo_md5_update(&c->md5, p, n);
    return SS_DEMO_SC_CONTINUE;
}

static int count_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    char hex[33], line[160];
    ss_demo_md5_hex(&c->md5, hex);
    size_t calls = (size_t)c->sock.recv_calls - 1;
    ss_demo_slog(s, c, _("%s: received %llu bytes in %zu recv() calls, md5 %s"), ss_demo_mode_name(s->o->mode),
                 (unsigned long long)c->sock.received, calls, hex);
    snprintf(line, sizeof line, "{\"bytes\":%llu,\"md5\":\"%s\",\"recv_calls\":%zu}\n",
             (unsigned long long)c->sock.received, hex, calls);
    int r = ss_demo_sconn_queue(s, c, line, strlen(line));
    return r < 0 ? r : SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_count = {count_open, count_data, count_eof, NULL};

/*
 * half-close: the client sends, then shutdown(SHUT_WR). Its FIN only closes
 * the client-to-server direction; the server can still send, and does: it
 * keeps everything (up to --max-message) and sends it back after the FIN.
 */
static int half_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    int rc = ss_demo_buf_append(&c->in, p, n);
    if (rc == SS_ERR_LIMIT)
        return ss_demo_sconn_fail(c, _("more than --max-message (%llu) bytes before the client's FIN"),
                                  (unsigned long long)s->o->max_message);
    if (rc < 0)
        return ss_demo_sconn_fail(c, _("out of memory"));
    return SS_DEMO_SC_CONTINUE;
}

static int half_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    size_t n = ss_demo_buf_size(&c->in);
    ss_demo_slog(s, c, _("half-close: the client's FIN after %zu bytes; its side is closed, ours is "
                         "open: sending the %zu bytes back"), n, n);
    int r = ss_demo_sconn_queue(s, c, ss_demo_buf_head(&c->in), n);
    ss_demo_buf_consume(&c->in, n);
    return r < 0 ? r : SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_half_close = {NULL, half_data, half_eof, NULL};
