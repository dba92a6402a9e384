/* srv_framed.c - server handler for len32 and line messages: parse each frame, echo it framed the same way. */
#include <string.h>

#include "segscope/err.h"

#include "server.h"

static const char *frame_name(ss_demo_frame_t f)
{
    return f == SS_DEMO_FRAME_LINE ? "line" : f == SS_DEMO_FRAME_LEN32_LE ? "len32 (le)" : "len32";
}

static int framed_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    int rc = ss_demo_buf_append(&c->in, p, n);
    if (rc == SS_ERR_LIMIT)
        return ss_demo_sconn_fail(c, _("input buffer cap or --max-memory reached"));
    if (rc < 0)
        return ss_demo_sconn_fail(c, _("out of memory"));
    char sizes[200] = "";
    size_t used = 0, complete = 0;
    for (;;) {
        const uint8_t *msg;
        size_t mlen, consumed;
        char err[200];
        ss_demo_frame_rc_t fr = ss_demo_frame_parse(s->frame, ss_demo_buf_head(&c->in), ss_demo_buf_size(&c->in),
                                                    (size_t)s->o->max_message, &c->scan, &msg, &mlen,
                                                    &consumed, err, sizeof err);
        if (fr == SS_DEMO_FRAME_BAD)
            return ss_demo_sconn_fail(c, "%s: %s", frame_name(s->frame), err);
        if (fr == SS_DEMO_FRAME_MORE)
            break;
        /* Echo: the same framing around the same bytes. */
        uint8_t hdr[4];
        size_t hl = ss_demo_frame_header(s->frame, mlen, hdr);
        if ((rc = ss_demo_sconn_queue(s, c, hdr, hl)) < 0 || (rc = ss_demo_sconn_queue(s, c, msg, mlen)) < 0 ||
            (s->frame == SS_DEMO_FRAME_LINE && (rc = ss_demo_sconn_queue(s, c, "\n", 1)) < 0))
            return rc;
        c->messages++;
        complete++;
        if (used + 24 < sizeof sizes)
            used += (size_t)snprintf(sizes + used, sizeof sizes - used, "%s%zu", complete > 1 ? ", " : "", mlen);
        else if (used + 5 < sizeof sizes && sizes[used - 1] != '.')
            used += (size_t)snprintf(sizes + used, sizeof sizes - used, ", ...");
        ss_demo_buf_consume(&c->in, consumed);
    }
    size_t partial = ss_demo_buf_size(&c->in);
    char tail[64] = "";
    if (partial)
        snprintf(tail, sizeof tail, _(", %zu bytes of the next one buffered"), partial);
    if (complete)
        ss_demo_slog_io(s, c,
                        P_("%s: %zu message complete (%s bytes)%s", "%s: %zu messages complete (%s bytes)%s", complete),
                        frame_name(s->frame), complete, sizes, tail);
    else
        ss_demo_slog_io(s, c, _("%s: no message complete yet, %zu bytes buffered"), frame_name(s->frame), partial);
    return SS_DEMO_SC_CONTINUE;
}

static int framed_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    size_t left = ss_demo_buf_size(&c->in);
    if (left == 0) {
        ss_demo_slog(s, c, _("%s: echoed %llu messages"), frame_name(s->frame), (unsigned long long)c->messages);
        return SS_DEMO_SC_DONE;
    }
    if (s->frame == SS_DEMO_FRAME_LINE)
        return ss_demo_sconn_fail(c, _("the client disconnected in the middle of a message: %zu bytes of a line "
                                       "without its newline"), left);
    const uint8_t *h = ss_demo_buf_head(&c->in);
    if (left < 4)
        return ss_demo_sconn_fail(c, _("the client disconnected in the middle of a message: %zu of the 4 bytes "
                                       "of a length prefix"), left);
    uint32_t declared = s->frame == SS_DEMO_FRAME_LEN32_BE
                            ? (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3]
                            : (uint32_t)h[3] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[1] << 8 | h[0];
    return ss_demo_sconn_fail(c, _("the client disconnected in the middle of a message: %zu of its %u bytes "
                                   "(after %llu complete messages)"), left - 4, declared,
                              (unsigned long long)c->messages);
}

const ss_demo_shandler_t ss_demo_sh_framed = {NULL, framed_data, framed_eof, NULL};
