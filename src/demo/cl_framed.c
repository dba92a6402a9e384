/* cl_framed.c - client exchange of len32 or line messages: send them all, check every echo. */
#include <stdlib.h>
#include <string.h>

#include "segscope/err.h"

#include "client.h"

typedef struct {
    ss_demo_client_t *cl;
    ss_demo_frame_t kind;
    uint64_t count, seed;
    size_t max;
    uint64_t next_send, received, verified;
    uint64_t largest;
    ss_demo_buf_t in;
    size_t scan;
    uint8_t *expect; /* scratch for the expected bytes of one message */
} framed_ctx_t;

static int framed_produce(void *ctx, ss_demo_buf_t *out)
{
    framed_ctx_t *x = ctx;
    if (x->next_send == x->count)
        return 1;
    uint64_t i = x->next_send++;
    size_t len = ss_demo_msg_size(x->seed, i, x->max);
    if (len > x->largest)
        x->largest = len;
    uint8_t hdr[4];
    size_t hl = ss_demo_frame_header(x->kind, len, hdr);
    /* Header, payload and trailer go into the queue together; send() cuts it where it likes. */
    ss_demo_msg_fill(x->expect, i, 0, len);
    if (ss_demo_buf_append(out, hdr, hl) < 0 || ss_demo_buf_append(out, x->expect, len) < 0)
        return -1;
    if (x->kind == SS_DEMO_FRAME_LINE && ss_demo_buf_append(out, "\n", 1) < 0)
        return -1;
    return x->next_send == x->count ? 1 : 0;
}

static int framed_consume(void *ctx, const uint8_t *p, size_t n)
{
    framed_ctx_t *x = ctx;
    if (ss_demo_buf_append(&x->in, p, n) < 0) {
        ss_demo_cl_log(x->cl, _("the echo does not fit the input buffer"));
        return -1;
    }
    for (;;) {
        const uint8_t *msg;
        size_t mlen, consumed;
        char err[200];
        ss_demo_frame_rc_t fr = ss_demo_frame_parse(x->kind, ss_demo_buf_head(&x->in), ss_demo_buf_size(&x->in),
                                                    x->max, &x->scan, &msg, &mlen, &consumed, err, sizeof err);
        if (fr == SS_DEMO_FRAME_BAD) {
            ss_demo_cl_log(x->cl, _("bad echo after %llu messages: %s"), (unsigned long long)x->received, err);
            return -1;
        }
        if (fr == SS_DEMO_FRAME_MORE)
            return 0;
        uint64_t i = x->received++;
        size_t want = i < x->count ? ss_demo_msg_size(x->seed, i, x->max) : 0;
        bool ok = i < x->count && mlen == want;
        if (ok) {
            ss_demo_msg_fill(x->expect, i, 0, want);
            ok = memcmp(x->expect, msg, want) == 0;
        }
        if (ok)
            x->verified++;
        else
            ss_demo_cl_log(x->cl, _("echo of message %llu is wrong: %zu bytes, expected %zu"), (unsigned long long)i,
                           mlen, want);
        ss_demo_buf_consume(&x->in, consumed);
        if (x->received == x->count)
            return 1;
    }
}

static int framed_eof(void *ctx)
{
    framed_ctx_t *x = ctx;
    ss_demo_cl_log(x->cl, _("the server closed the connection after %llu of %llu echoes"),
                   (unsigned long long)x->received, (unsigned long long)x->count);
    return -1;
}

int ss_demo_cl_framed(ss_demo_client_t *cl)
{
    const ss_demo_opts_t *o = cl->o;
    framed_ctx_t x = {
        .cl = cl,
        .kind = o->mode == SS_DEMO_MODE_LINE ? SS_DEMO_FRAME_LINE
                : o->le                      ? SS_DEMO_FRAME_LEN32_LE
                                             : SS_DEMO_FRAME_LEN32_BE,
        .count = o->count,
        .seed = o->seed,
        .max = (size_t)o->max_size,
    };
    const char *name = o->mode == SS_DEMO_MODE_LINE ? "line" : o->le ? "len32 (le)" : "len32";
    ss_demo_buf_init(&x.in, x.max + 65536 + 8, NULL);
    x.expect = malloc(x.max);
    if (!x.expect) {
        ss_demo_cl_log(cl, _("out of memory"));
        return SS_DEMO_EXIT_FAIL;
    }
    ss_demo_pump_t pump = {.produce = framed_produce, .consume = framed_consume, .eof = framed_eof, .ctx = &x};
    int rc = ss_demo_cl_pump(cl, &pump);
    printf(_("%s: messages sent %llu, received %llu, verified %llu; bytes sent %llu, received %llu; sizes 1 to "
             "%llu bytes\n"),
           name, (unsigned long long)x.next_send, (unsigned long long)x.received, (unsigned long long)x.verified,
           (unsigned long long)cl->sock.sent, (unsigned long long)cl->sock.received,
           (unsigned long long)x.largest);
    free(x.expect);
    ss_demo_buf_fini(&x.in);
    return rc == 0 && x.verified == x.count ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
}
