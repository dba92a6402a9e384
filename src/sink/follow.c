/* follow.c - the reassembled byte stream of one conversation (--follow N). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/i18n.h"

typedef struct follow_sink {
    ss_sink_t base;
    FILE *out;
    uint64_t stream;
    bool color;
    bool seen;
    bool hex; /* every chunk as a hex dump */
    int last_dir;
} follow_sink_t;

/*
 * Text when every byte is printable ASCII, a tab or a line end, or part of
 * well-formed UTF-8 (Chinese text included); a character cut at either end
 * of the chunk (a segment boundary fell inside it) still counts. The bytes
 * were chosen by whoever sent them, so what a terminal would obey rather
 * than show is not text and is dumped as hex: the other C0 controls (ESC
 * above all), DEL, the C1 controls U+0080-U+009F (U+009B is CSI to some
 * terminals), and bytes that are not UTF-8 (a lone 0x9B is CSI to an 8-bit
 * terminal).
 */
static bool is_text(const uint8_t *d, uint32_t n)
{
    uint32_t i = 0;
    while (i < n && i < 3 && (d[i] & 0xC0) == 0x80)
        i++; /* the end of a character the previous chunk began */
    while (i < n) {
        uint8_t b = d[i];
        if (b < 0x80) {
            if ((b < 0x20 && b != '\n' && b != '\r' && b != '\t') || b == 0x7F)
                return false;
            i++;
            continue;
        }
        uint32_t need, cp, min;
        if (b >= 0xC2 && b <= 0xDF)
            need = 1, cp = b & 0x1Fu, min = 0x80;
        else if (b >= 0xE0 && b <= 0xEF)
            need = 2, cp = b & 0x0Fu, min = 0x800;
        else if (b >= 0xF0 && b <= 0xF4)
            need = 3, cp = b & 0x07u, min = 0x10000;
        else
            return false;
        uint32_t k = 1;
        for (; k <= need && i + k < n; k++) {
            if ((d[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (d[i + k] & 0x3Fu);
        }
        if (k <= need)
            return true; /* cut at the end: the next chunk continues it */
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            return false;
        i += need + 1;
    }
    return true;
}

static void hexdump(FILE *o, uint64_t off, const uint8_t *d, uint32_t n)
{
    for (uint32_t i = 0; i < n; i += 16) {
        fprintf(o, "  %08" PRIx64 "  ", off + i);
        for (uint32_t j = 0; j < 16; j++) {
            if (i + j < n)
                fprintf(o, "%02x ", d[i + j]);
            else
                fputs("   ", o);
            if (j == 7)
                fputc(' ', o);
        }
        fputs(" |", o);
        for (uint32_t j = 0; j < 16 && i + j < n; j++)
            fputc(d[i + j] >= 0x20 && d[i + j] < 0x7F ? d[i + j] : '.', o);
        fputs("|\n", o);
    }
}

static int follow_event(ss_sink_t *s, const ss_event_t *ev)
{
    follow_sink_t *f = (follow_sink_t *)s;
    FILE *o = f->out;
    const char *dim = f->color ? "\033[2m" : "", *rst = f->color ? "\033[0m" : "";
    if (ev->type == SS_EV_DATA) {
        const ss_data_event_t *de = ev->u.data;
        if (de->conv->proto != 6 || de->conv->index != f->stream)
            return 0;
        const ss_stream_chunk_t *c = de->chunk;
        const char *dc = f->color ? (de->dir == 0 ? "\033[31m" : "\033[34m") : "";
        f->seen = true;
        if (c->gap) {
            fprintf(o, _("%s== %s: %" PRIu32 " bytes never captured (offsets %" PRIu64 "\u2013%" PRIu64 ") ==%s\n"),
                    dim, de->dir == SS_DIR_C2S ? _("client\u2192server") : _("server\u2192client"), c->len, c->off,
                    c->off + c->len - 1, rst);
            return ferror(o) ? SS_ERR_IO : 0;
        }
        fprintf(o, _("%s-- %s, bytes %" PRIu64 "\u2013%" PRIu64 ", frame %" PRIu64 " --%s\n"), dim,
                de->dir == SS_DIR_C2S ? _("client\u2192server") : _("server\u2192client"), c->off,
                c->off + c->len - 1, c->frame, rst);
        if (!f->hex && is_text(c->data, c->len)) {
            fputs(dc, o);
            fwrite(c->data, 1, c->len, o);
            if (c->len && c->data[c->len - 1] != '\n')
                fputc('\n', o);
            fputs(rst, o);
        } else {
            fputs(dc, o);
            hexdump(o, c->off, c->data, c->len);
            fputs(rst, o);
        }
        f->last_dir = de->dir;
    } else if (ev->type == SS_EV_MESSAGE) {
        const ss_msg_event_t *me = ev->u.message;
        if (me->conv->index != f->stream)
            return 0;
        fprintf(o, _("%s== end of message #%" PRIu64 " (%s, bytes %" PRIu64 "\u2013%" PRIu64 ", %" PRIu64
                     " bytes%s) ==%s\n"),
                f->color ? "\033[36m" : "", me->msg->index,
                me->dir == SS_DIR_C2S ? _("client\u2192server") : _("server\u2192client"), me->msg->off,
                me->msg->len ? me->msg->off + me->msg->len - 1 : me->msg->off, me->msg->len,
                me->msg->complete ? "" : _(", incomplete"), rst);
    } else if (ev->type == SS_EV_CONVERSATION) {
        const ss_conv_info_t *cv = ev->u.conv;
        if (cv->proto != 6 || cv->index != f->stream)
            return 0;
        char a[80], b[80];
        fprintf(o, _("%s== end of conversation %" PRIu64 ": %s \u2192 %s, %" PRIu64 " bytes client\u2192server, %" PRIu64
                     " bytes server\u2192client ==%s\n"),
                dim, cv->index, ss_fmt_endpoint(&cv->addr[0], cv->port[0], a, sizeof(a)),
                ss_fmt_endpoint(&cv->addr[1], cv->port[1], b, sizeof(b)), cv->payload[0], cv->payload[1], rst);
        f->seen = true;
    }
    return ferror(o) ? SS_ERR_IO : 0;
}

static int follow_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    (void)s;
    (void)info;
    return 0;
}

static int follow_end(ss_sink_t *s, const ss_run_end_t *end)
{
    follow_sink_t *f = (follow_sink_t *)s;
    (void)end;
    if (!f->seen)
        fprintf(f->out, _("no TCP conversation %" PRIu64 " in this capture\n"), f->stream);
    return fflush(f->out) == 0 ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t follow_ops = {follow_begin, follow_event, follow_end, ss_sink_noop_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_follow_create(FILE *out, uint64_t stream, bool color, bool hex)
{
    follow_sink_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->base.ops = &follow_ops;
    f->out = out;
    f->stream = stream;
    f->color = color;
    f->hex = hex;
    f->last_dir = -1;
    return &f->base;
}
