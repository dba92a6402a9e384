/* text.c - the timeline: one decoded line per packet. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/i18n.h"

typedef struct text_sink {
    ss_sink_t base;
    FILE *out;
    ss_text_opts_t opts;
} text_sink_t;

#define C_RESET "\033[0m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"

static const char *col(const text_sink_t *t, const char *c) { return t->opts.color ? c : ""; }

/* Wireshark's expert severity of each marker: warnings red, notes yellow, chat blue. */
static const char *marker_color(const text_sink_t *t, int bit)
{
    switch (bit) {
    case SS_TA_BIT_OUT_OF_ORDER:
    case SS_TA_BIT_LOST_SEGMENT:
    case SS_TA_BIT_ACK_LOST_SEGMENT:
    case SS_TA_BIT_ZERO_WINDOW:
    case SS_TA_BIT_WINDOW_FULL:
        return col(t, C_RED);
    case SS_TA_BIT_WINDOW_UPDATE:
        return col(t, C_BLUE);
    default:
        return col(t, C_YELLOW);
    }
}

/* "[COALESCED 3 msgs #4–#6]", "[SPLIT msg #7: 2/3]": how this segment's new bytes relate to messages. */
static void print_msg_markers(text_sink_t *t, const ss_seg_msgs_t *g)
{
    FILE *o = t->out;
    if (g->udp) {
        if (g->numbered && g->missing) {
            fputs(col(t, C_RED), o);
            if (g->missing == 1)
                fprintf(o, _("[datagram #%" PRIu32 " never seen]"), g->number - 1);
            else
                fprintf(o, _("[datagrams #%" PRIu32 "\u2013#%" PRIu32 " never seen]"), g->number - g->missing,
                        g->number - 1);
            fprintf(o, "%s ", col(t, C_RESET));
        }
        if (g->numbered && g->late) {
            fputs(col(t, C_YELLOW), o);
            fprintf(o, _("[datagram #%" PRIu32 " late: reordered or duplicated]"), g->number);
            fprintf(o, "%s ", col(t, C_RESET));
        }
        return;
    }
    if (g->coalesced) {
        fputs(col(t, C_MAGENTA), o);
        fprintf(o, _("[COALESCED %" PRIu32 " msgs #%" PRIu64 "\u2013#%" PRIu64 "]"), g->count, g->first, g->last);
        fprintf(o, "%s ", col(t, C_RESET));
    }
    if (g->cont) {
        fputs(col(t, C_MAGENTA), o);
        if (g->cont_done)
            fprintf(o, _("[SPLIT msg #%" PRIu64 ": %" PRIu32 "/%" PRIu32 "]"), g->first, g->cont_part, g->cont_part);
        else
            fprintf(o, _("[SPLIT msg #%" PRIu64 ": %" PRIu32 "/\u2026]"), g->first, g->cont_part);
        fprintf(o, "%s ", col(t, C_RESET));
    }
    if (g->open_end && !(g->cont && g->count == 1)) {
        fputs(col(t, C_MAGENTA), o);
        fprintf(o, _("[SPLIT msg #%" PRIu64 ": 1/\u2026]"), g->last);
        fprintf(o, "%s ", col(t, C_RESET));
    }
    if (g->buffered)
        fprintf(o, "%s%s%s ", col(t, C_DIM), _("[out of order: held for reassembly]"), col(t, C_RESET));
}

static void print_markers(text_sink_t *t, const ss_tcp_result_t *r)
{
    for (size_t i = 0; i < SS_TA_MARKER_SLOTS; i++) {
        int bit = ss_ta_marker_bit(i, r->flags);
        if (bit < 0)
            continue;
        if (bit == SS_TA_BIT_DUPLICATE_ACK)
            fprintf(t->out, "%s[%s %" PRIu64 "#%" PRIu32 "]%s ", marker_color(t, bit), ss_tcp_analysis_marker(bit),
                    r->dup_ack_of, r->dup_ack_num, col(t, C_RESET));
        else
            fprintf(t->out, "%s[%s]%s ", marker_color(t, bit), ss_tcp_analysis_marker(bit), col(t, C_RESET));
    }
}

static const char *icmp_name(const ss_packet_t *p)
{
    if (p->l4 == SS_L4_ICMP) {
        switch (p->icmp_type) {
        case 0: return "echo reply";
        case 3: return "destination unreachable";
        case 5: return "redirect";
        case 8: return "echo request";
        case 11: return "time exceeded";
        default: return NULL;
        }
    }
    switch (p->icmp_type) {
    case 1: return "destination unreachable";
    case 2: return "packet too big";
    case 3: return "time exceeded";
    case 128: return "echo request";
    case 129: return "echo reply";
    case 133: return "router solicitation";
    case 134: return "router advertisement";
    case 135: return "neighbor solicitation";
    case 136: return "neighbor advertisement";
    case 137: return "redirect";
    default: return NULL;
    }
}

static const char *flag_color(const text_sink_t *t, uint16_t f)
{
    if (f & SS_TCP_RST)
        return col(t, C_RED);
    if (f & SS_TCP_SYN)
        return col(t, C_GREEN);
    if (f & SS_TCP_FIN)
        return col(t, C_MAGENTA);
    return col(t, C_CYAN);
}

static void print_tcp(text_sink_t *t, const ss_pkt_event_t *pe)
{
    const ss_packet_t *p = pe->pkt;
    const ss_tcp_hdr_t *th = &p->tcp;
    FILE *o = t->out;
    char fb[16];
    ss_fmt_tcp_flags(th->flags, fb, sizeof(fb));
    fprintf(o, "TCP %s[%s]%s", flag_color(t, th->flags), fb, col(t, C_RESET));
    /* Without analysis (an IP fragment, a damaged header) the numbers are the raw ones. */
    ss_tcp_result_t raw = {.rel_seq = th->seq, .rel_ack = th->ack, .win = th->win};
    const ss_tcp_result_t *r = pe->tcp ? pe->tcp : &raw;
    fprintf(o, " seq %" PRIu32, r->rel_seq);
    if (th->flags & SS_TCP_ACK)
        fprintf(o, ", ack %" PRIu32, r->rel_ack);
    fprintf(o, ", win %" PRIu32, r->win);
    if (p->payload_off || !r->analyzed)
        fprintf(o, ", len %" PRIu32, p->payload_len);
    if (t->opts.show_options && p->tcp.doff > 5) {
        char ob[512];
        ss_fmt_tcp_options(&th->opts, ob, sizeof(ob));
        if (ob[0])
            fprintf(o, ", options [%s]", ob);
    }
    if (!r->analyzed)
        fprintf(o, " %s%s%s", col(t, C_DIM), _("(raw numbers: header not analysable)"), col(t, C_RESET));
}

static void print_problems(text_sink_t *t, const ss_pkt_event_t *pe)
{
    const ss_packet_t *p = pe->pkt;
    FILE *o = t->out;
    if (p->flags & SS_PKT_FRAGMENT) {
        fprintf(o, " %s", col(t, C_YELLOW));
        if (p->frag_more)
            fprintf(o, _("[IP fragment: offset %u, more follow]"), p->frag_offset);
        else
            fprintf(o, _("[IP fragment: offset %u, last]"), p->frag_offset);
        fputs(col(t, C_RESET), o);
    }
    if (p->flags & SS_PKT_INVALID) {
        fprintf(o, " %s", col(t, C_RED));
        fprintf(o, _("[malformed: %s]"), ss_i18n_tr(ss_decode_problem_str(p->problem)));
        fputs(col(t, C_RESET), o);
    }
    if (p->flags & SS_PKT_TRUNCATED) {
        fprintf(o, " %s", col(t, C_YELLOW));
        fprintf(o, _("[truncated: capture ends inside the %s header]"), p->truncated_in ? p->truncated_in : "?");
        fputs(col(t, C_RESET), o);
    } else if (p->flags & SS_PKT_SHORT_DATA) {
        fprintf(o, " %s", col(t, C_YELLOW));
        fprintf(o, _("[truncated: %" PRIu32 " of %" PRIu32 " payload bytes captured]"), p->payload_caplen,
                p->payload_len);
        fputs(col(t, C_RESET), o);
    }
    if (pe->csum) {
        const ss_csum_result_t *c = pe->csum;
        if (c->ip == SS_CSUM_BAD) {
            fprintf(o, " %s", col(t, C_RED));
            fprintf(o, _("[bad IPv4 header checksum 0x%04x]"), p->ip_csum);
            fputs(col(t, C_RESET), o);
        }
        const char *l4 = p->l4 == SS_L4_TCP ? "TCP" : "UDP";
        uint16_t field = p->l4 == SS_L4_TCP ? p->tcp.csum : p->udp.csum;
        if (c->l4 == SS_CSUM_BAD) {
            fprintf(o, " %s", col(t, C_RED));
            fprintf(o, _("[bad %s checksum 0x%04x, should be 0x%04x]"), l4, field, c->l4_expected);
            fputs(col(t, C_RESET), o);
        } else if (c->l4 == SS_CSUM_OFFLOAD) {
            fprintf(o, " %s", col(t, C_DIM));
            fprintf(o, _("[%s checksum unverified (offload)]"), l4);
            fputs(col(t, C_RESET), o);
        } else if (c->l4 == SS_CSUM_UNVERIFIABLE) {
            fprintf(o, " %s", col(t, C_DIM));
            fprintf(o, _("[%s checksum unverifiable: not fully captured]"), l4);
            fputs(col(t, C_RESET), o);
        }
    }
}

/* State changes under the packet line: "client SYN-SENT -> ESTABLISHED". */
static void print_transitions(text_sink_t *t, const ss_pkt_event_t *pe)
{
    const ss_tcp_result_t *r = pe->tcp;
    for (int i = 0; i < r->ntrans; i++) {
        const ss_tcp_transition_t *tr = &r->trans[i];
        /* The state names stay as RFC 9293 writes them, in every language. */
        fprintf(t->out, "%20s%s%s %s \u2192 %s%s%s\n", "", col(t, C_MAGENTA),
                tr->end == SS_DIR_C2S ? _("client") : _("server"), ss_tcp_state_name(tr->from),
                ss_tcp_state_name(tr->to), tr->inferred ? _(" (inferred)") : "", col(t, C_RESET));
    }
}

static int text_event(ss_sink_t *s, const ss_event_t *ev)
{
    text_sink_t *t = (text_sink_t *)s;
    if (ev->type == SS_EV_NOTICE) {
        fputs(col(t, C_YELLOW), t->out);
        fprintf(t->out, _("note: %s"), ev->notice_local ? ev->notice_local : ev->u.notice);
        fprintf(t->out, "%s\n", col(t, C_RESET));
        return ferror(t->out) ? SS_ERR_IO : 0;
    }
    if (ev->type == SS_EV_RECV) {
        const ss_recv_event_t *r = ev->u.recv;
        uint64_t last = r->len ? r->off + r->len - 1 : r->off;
        bool part = r->first_partial || r->last_partial;
        fputs(r->count >= 2 ? col(t, C_MAGENTA) : col(t, C_CYAN), t->out);
        /* The receiver of direction c2s is the server. */
        if (r->dir == SS_DIR_C2S)
            fprintf(t->out, _("server recv #%" PRIu64 " (conversation %" PRIu64 "): bytes %" PRIu64 "\u2013%" PRIu64
                              " (%" PRIu64 " bytes)"),
                    r->index, r->conv->index, r->off, last, r->len);
        else
            fprintf(t->out, _("client recv #%" PRIu64 " (conversation %" PRIu64 "): bytes %" PRIu64 "\u2013%" PRIu64
                              " (%" PRIu64 " bytes)"),
                    r->index, r->conv->index, r->off, last, r->len);
        if (r->count >= 2 && part)
            fprintf(t->out, _(" returned %" PRIu32 " messages glued together (#%" PRIu64 "\u2013#%" PRIu64
                              "), some only in part"),
                    r->count, r->first, r->last);
        else if (r->count >= 2)
            fprintf(t->out, _(" returned %" PRIu32 " messages glued together (#%" PRIu64 "\u2013#%" PRIu64 ")"),
                    r->count, r->first, r->last);
        else if (r->count == 1 && part)
            fprintf(t->out, _(" returned part of message #%" PRIu64), r->first);
        else if (r->count == 1)
            fprintf(t->out, _(" returned exactly message #%" PRIu64), r->first);
        fprintf(t->out, "%s\n", col(t, C_RESET));
        return ferror(t->out) ? SS_ERR_IO : 0;
    }
    if (ev->type == SS_EV_MESSAGE) {
        const ss_msg_event_t *me = ev->u.message;
        const ss_message_t *m = me->msg;
        if (me->conv->proto != 6)
            return 0; /* a datagram is its own message: its packet line says so */
        uint64_t last = m->len ? m->off + m->len - 1 : m->off;
        fprintf(t->out, "%20s%s", "", col(t, C_CYAN));
        if (me->dir == SS_DIR_C2S)
            fprintf(t->out,
                    P_("message #%" PRIu64 " client\u2192server: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64
                       " bytes), in %" PRIu32 " segment",
                       "message #%" PRIu64 " client\u2192server: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64
                       " bytes), in %" PRIu32 " segments",
                       m->nframes),
                    m->index, m->off, last, m->len, m->nframes);
        else
            fprintf(t->out,
                    P_("message #%" PRIu64 " server\u2192client: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64
                       " bytes), in %" PRIu32 " segment",
                       "message #%" PRIu64 " server\u2192client: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64
                       " bytes), in %" PRIu32 " segments",
                       m->nframes),
                    m->index, m->off, last, m->len, m->nframes);
        fprintf(t->out, "%s%s\n", m->complete ? "" : _(", incomplete"), col(t, C_RESET));
        return ferror(t->out) ? SS_ERR_IO : 0;
    }
    if (ev->type != SS_EV_PACKET)
        return 0;
    const ss_pkt_event_t *pe = ev->u.packet;
    const ss_packet_t *p = pe->pkt;
    FILE *o = t->out;
    char a[80], b[80], nb[40];

    char tb[40];
    fprintf(o, "%s%6" PRIu64 "%s %11s  ", col(t, C_DIM), p->frame->number, col(t, C_RESET),
            ss_fmt_secs(pe->rel_ns, 6, tb, sizeof(tb)));
    if (pe->tcp && pe->tcp->analyzed)
        print_markers(t, pe->tcp);
    if (pe->msgs)
        print_msg_markers(t, pe->msgs);
    if (p->l4 == SS_L4_TCP || p->l4 == SS_L4_UDP) {
        uint16_t sp = p->l4 == SS_L4_TCP ? p->tcp.sport : p->udp.sport;
        uint16_t dp = p->l4 == SS_L4_TCP ? p->tcp.dport : p->udp.dport;
        if (p->ports_valid)
            fprintf(o, "%s > %s  ", ss_fmt_endpoint(&p->src, sp, a, sizeof(a)),
                    ss_fmt_endpoint(&p->dst, dp, b, sizeof(b)));
        else
            fprintf(o, "%s > %s  ", ss_addr_str(&p->src, a, sizeof(a)), ss_addr_str(&p->dst, b, sizeof(b)));
        if (p->l4 == SS_L4_UDP) {
            fprintf(o, "UDP len %" PRIu32, p->payload_len);
            if (pe->msgs && pe->msgs->udp) {
                fprintf(o, _(", datagram #%" PRIu64), pe->msgs->first);
                if (pe->msgs->numbered)
                    fprintf(o, _(" (numbered %" PRIu32 ")"), pe->msgs->number);
            }
        }
        else if (p->ports_valid && (p->payload_off || pe->tcp))
            print_tcp(t, pe);
        else
            fprintf(o, "TCP");
    } else if (p->l3 == SS_L3_IPV4 || p->l3 == SS_L3_IPV6) {
        fprintf(o, "%s > %s  ", ss_addr_str(&p->src, a, sizeof(a)), ss_addr_str(&p->dst, b, sizeof(b)));
        const char *name = ss_decode_proto_name(p, nb, sizeof(nb));
        if (p->l4 == SS_L4_ICMP || p->l4 == SS_L4_ICMPV6) {
            const char *in = icmp_name(p);
            fprintf(o, "%s", p->l4 == SS_L4_ICMP ? "ICMP" : "ICMPv6");
            if (in)
                fprintf(o, " %s", in);
            else
                fprintf(o, " type %u code %u", p->icmp_type, p->icmp_code);
        } else if (p->flags & SS_PKT_FRAGMENT) {
            fprintf(o, _("IP proto %u, %" PRIu32 " bytes"), p->ip_proto, p->l4_len);
        } else {
            for (const char *c = name; *c; c++)
                fputc(*c >= 'a' && *c <= 'z' ? *c - 32 : *c, o);
        }
    } else if (p->l3 == SS_L3_NONE && p->problem == SS_DP_LINK_UNSUPPORTED) {
        fprintf(o, _("link-layer type %d (not decoded), %" PRIu32 " bytes"), p->frame->linktype,
                p->frame->wirelen);
    } else {
        const char *name = ss_decode_proto_name(p, nb, sizeof(nb));
        for (const char *c = name; *c; c++)
            fputc(*c >= 'a' && *c <= 'z' ? *c - 32 : *c, o);
        fprintf(o, _(", %" PRIu32 " bytes"), p->frame->wirelen);
    }
    if (!(p->l3 == SS_L3_NONE && p->problem == SS_DP_LINK_UNSUPPORTED))
        print_problems(t, pe);
    fputc('\n', o);
    if (pe->tcp && pe->tcp->analyzed) {
        print_transitions(t, pe);
        if (t->opts.explain)
            ss_explain_packet(o, pe, t->opts.color);
    } else if (pe->msgs && pe->msgs->udp && t->opts.explain) {
        ss_explain_udp(o, pe, t->opts.color);
    }
    if (t->opts.line_flush)
        fflush(o);
    return ferror(o) ? SS_ERR_IO : 0;
}

static int text_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    (void)s;
    (void)info;
    return 0;
}

static int text_end(ss_sink_t *s, const ss_run_end_t *end)
{
    text_sink_t *t = (text_sink_t *)s;
    (void)end;
    return fflush(t->out) == 0 ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t text_ops = {text_begin, text_event, text_end, ss_sink_noop_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_text_create(FILE *out, const ss_text_opts_t *opts)
{
    text_sink_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->base.ops = &text_ops;
    t->out = out;
    t->opts = *opts;
    return &t->base;
}
