/* pcapng.c - the capture again, as pcapng, with segscope's findings as packet comments (--pcapng-out).
 *
 * Packets and timestamps are written byte for byte as read; only comments
 * are added: an opt_comment on every annotated packet (analysis markers,
 * state changes, message markers), and a section header comment saying how
 * the file was made. Wireshark shows them as frame.comment. Format: the
 * pcapng specification (draft-ietf-opsawg-pcapng): Section Header Block,
 * one Interface Description Block (with if_tsresol = 9: nanoseconds), and
 * Enhanced Packet Blocks.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/version.h"

typedef struct pcapng_sink {
    ss_sink_t base;
    FILE *out;
    bool idb_written;
    int linktype;
    const char *source;
    bool err;
} pcapng_sink_t;

static void put32(FILE *o, uint32_t v) { fwrite(&v, 4, 1, o); } /* host order, as the SHB's magic says */
static void put16(FILE *o, uint16_t v) { fwrite(&v, 2, 1, o); }

static uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

/* An option: code, length, value, padding. */
static void put_opt(FILE *o, uint16_t code, const void *v, uint16_t len)
{
    static const uint8_t zero[4] = {0};
    put16(o, code);
    put16(o, len);
    fwrite(v, 1, len, o);
    fwrite(zero, 1, pad4(len) - len, o);
}

static uint32_t opt_size(uint16_t len) { return 4 + pad4(len); }

static void write_shb(pcapng_sink_t *p, const char *comment)
{
    FILE *o = p->out;
    uint16_t cl = (uint16_t)strnlen(comment, 4000);
    uint32_t total = 28 + opt_size(cl) + 4; /* header fields + comment + opt_endofopt */
    put32(o, 0x0A0D0D0A);
    put32(o, total);
    put32(o, 0x1A2B3C4D);
    put16(o, 1);
    put16(o, 0);
    put32(o, 0xFFFFFFFFu); /* section length: not given */
    put32(o, 0xFFFFFFFFu);
    put_opt(o, 1, comment, cl);
    put32(o, 0); /* opt_endofopt */
    put32(o, total);
}

static void write_idb(pcapng_sink_t *p, int linktype)
{
    FILE *o = p->out;
    uint8_t tsresol = 9; /* nanoseconds */
    uint32_t total = 16 + opt_size(1) + 4 + 4;
    put32(o, 0x00000001);
    put32(o, total);
    put16(o, (uint16_t)linktype);
    put16(o, 0);
    put32(o, 0); /* snaplen: no limit */
    put_opt(o, 9, &tsresol, 1);
    put32(o, 0);
    put32(o, total);
}

static void app(char *buf, size_t n, size_t *len, const char *s)
{
    size_t l = strlen(s);
    if (*len + l + 1 >= n)
        return;
    memcpy(buf + *len, s, l + 1);
    *len += l;
}

/* The comment of one packet: what the timeline shows in brackets and under the line. */
static size_t build_comment(const ss_pkt_event_t *pe, char *buf, size_t n)
{
    size_t len = 0;
    char t[200];
    buf[0] = '\0';
    const ss_tcp_result_t *r = pe->tcp;
    if (r && r->analyzed) {
        for (int b = 0; b < SS_TA_COUNT; b++) {
            if (!(r->flags & (1u << b)))
                continue;
            if (b == SS_TA_BIT_RETRANSMISSION &&
                (r->flags & (SS_TA(FAST_RETRANSMISSION) | SS_TA(SPURIOUS_RETRANSMISSION))))
                continue; /* the specific kind says it */
            if (b == SS_TA_BIT_DUPLICATE_ACK)
                snprintf(t, sizeof(t), "[%s %" PRIu64 "#%" PRIu32 "] ", ss_tcp_analysis_marker(b), r->dup_ack_of,
                         r->dup_ack_num);
            else
                snprintf(t, sizeof(t), "[%s] ", ss_tcp_analysis_marker(b));
            app(buf, n, &len, t);
        }
        for (int i = 0; i < r->ntrans; i++) {
            snprintf(t, sizeof(t), "%s %s -> %s%s; ", r->trans[i].end == SS_DIR_C2S ? "client" : "server",
                     ss_tcp_state_name(r->trans[i].from), ss_tcp_state_name(r->trans[i].to),
                     r->trans[i].inferred ? " (inferred)" : "");
            app(buf, n, &len, t);
        }
    }
    const ss_seg_msgs_t *g = pe->msgs;
    if (g && !g->udp) {
        if (g->coalesced) {
            snprintf(t, sizeof(t), "[COALESCED %" PRIu32 " msgs #%" PRIu64 "-#%" PRIu64 "] ", g->count, g->first, g->last);
            app(buf, n, &len, t);
        }
        if (g->cont) {
            snprintf(t, sizeof(t), "[SPLIT msg #%" PRIu64 ": part %" PRIu32 "%s] ", g->first, g->cont_part,
                     g->cont_done ? ", last" : "");
            app(buf, n, &len, t);
        }
        if (g->open_end && !(g->cont && g->count == 1)) {
            snprintf(t, sizeof(t), "[SPLIT msg #%" PRIu64 ": part 1] ", g->last);
            app(buf, n, &len, t);
        }
    } else if (g && g->udp && g->numbered && (g->missing || g->late)) {
        snprintf(t, sizeof(t), g->late ? "[datagram #%" PRIu32 " late] " : "[%" PRIu32 " datagram(s) never seen before this] ",
                 g->late ? g->number : g->missing);
        app(buf, n, &len, t);
    }
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == ';'))
        buf[--len] = '\0';
    return len;
}

static int pcapng_event(ss_sink_t *s, const ss_event_t *ev)
{
    pcapng_sink_t *p = (pcapng_sink_t *)s;
    if (ev->type != SS_EV_PACKET)
        return 0;
    const ss_pkt_event_t *pe = ev->u.packet;
    const ss_frame_t *f = pe->pkt->frame;
    FILE *o = p->out;
    if (!p->idb_written) {
        write_idb(p, f->linktype == 101 ? 101 : f->linktype);
        p->idb_written = true;
    }
    char comment[1024];
    size_t cl = build_comment(pe, comment, sizeof(comment));
    uint32_t cap = f->caplen;
    uint32_t total = 28 + pad4(cap) + (cl ? opt_size((uint16_t)cl) : 0) + 4 + 4;
    uint64_t ts = (uint64_t)f->ts_sec * 1000000000ull + f->ts_nsec;
    static const uint8_t zero[4] = {0};
    put32(o, 0x00000006);
    put32(o, total);
    put32(o, 0); /* interface 0 */
    put32(o, (uint32_t)(ts >> 32));
    put32(o, (uint32_t)ts);
    put32(o, cap);
    put32(o, f->wirelen);
    fwrite(f->data, 1, cap, o);
    fwrite(zero, 1, pad4(cap) - cap, o);
    if (cl)
        put_opt(o, 1, comment, (uint16_t)cl);
    put32(o, 0);
    put32(o, total);
    return ferror(o) ? SS_ERR_IO : 0;
}

static int pcapng_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    pcapng_sink_t *p = (pcapng_sink_t *)s;
    char c[600];
    snprintf(c, sizeof(c),
             "Written by segscope %s from %s: the same packets and timestamps, with segscope's findings "
             "(TCP analysis markers, endpoint state changes, message markers) as packet comments.",
             SS_VERSION, info->source_name ? info->source_name : "a capture");
    write_shb(p, c);
    p->linktype = info->linktype;
    return ferror(p->out) ? SS_ERR_IO : 0;
}

static int pcapng_end(ss_sink_t *s, const ss_run_end_t *end)
{
    pcapng_sink_t *p = (pcapng_sink_t *)s;
    (void)end;
    if (!p->idb_written) { /* no packets: still a valid file with its interface */
        write_idb(p, p->linktype);
        p->idb_written = true;
    }
    return fflush(p->out) == 0 && !ferror(p->out) ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t pcapng_ops = {pcapng_begin, pcapng_event, pcapng_end, ss_sink_noop_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_pcapng_create(FILE *out)
{
    pcapng_sink_t *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->base.ops = &pcapng_ops;
    p->out = out;
    return &p->base;
}
