/* json.c - JSON Lines output (schema in docs/json.md). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"

#define SS_JSON_SCHEMA_VERSION 3

typedef struct json_sink {
    ss_sink_t base;
    FILE *out;
    bool line_flush;
    bool packets; /* packet records (off: conversation records only) */
} json_sink_t;

static void json_options(FILE *o, const ss_tcp_opts_t *op)
{
    const char *sep = "";
    fputs("{", o);
#define KEY(k) (fprintf(o, "%s\"" k "\":", sep), sep = ",")
    if (op->present & SS_TCPOPT_MSS) {
        KEY("mss");
        fprintf(o, "%u", op->mss);
    }
    if (op->present & SS_TCPOPT_WSCALE) {
        KEY("wscale");
        fprintf(o, "%u", op->wscale);
    }
    if (op->present & SS_TCPOPT_SACKOK) {
        KEY("sack_perm");
        fputs("true", o);
    }
    if (op->present & SS_TCPOPT_SACK) {
        KEY("sack_raw");
        fputc('[', o);
        for (unsigned i = 0; i < op->nsack; i++)
            fprintf(o, "%s[%" PRIu32 ",%" PRIu32 "]", i ? "," : "", op->sack[i][0], op->sack[i][1]);
        fputc(']', o);
    }
    if (op->present & SS_TCPOPT_TS) {
        KEY("ts");
        fprintf(o, "{\"val\":%" PRIu32 ",\"ecr\":%" PRIu32 "}", op->ts_val, op->ts_ecr);
    }
    if (op->present & SS_TCPOPT_TFO) {
        KEY("tfo");
        fprintf(o, "{\"cookie_len\":%u}", op->tfo_cookie_len);
    }
    if (op->nop_count) {
        KEY("nop");
        fprintf(o, "%u", op->nop_count);
    }
    if (op->present & SS_TCPOPT_EOL) {
        KEY("eol");
        fputs("true", o);
    }
    if (op->nunknown) {
        KEY("unknown");
        fputc('[', o);
        for (unsigned i = 0; i < op->nunknown; i++)
            fprintf(o, "%s{\"kind\":%u,\"len\":%u}", i ? "," : "", op->unknown[i].kind,
                    op->unknown[i].len);
        fputc(']', o);
    }
    if (op->malformed) {
        KEY("malformed");
        fputs("true", o);
    }
#undef KEY
    fputs("}", o);
}

static void json_secs(FILE *o, const char *key, int64_t ns)
{
    char b[40];
    fprintf(o, ",\"%s\":%s", key, ss_fmt_secs(ns, 9, b, sizeof(b)));
}

/* Analysis flags, derived fields and endpoint states of a TCP packet. */
static void json_tcp_analysis(FILE *o, const ss_pkt_event_t *pe)
{
    const ss_tcp_result_t *r = pe->tcp;
    fputs(",\"analysis\":[", o);
    int n = 0;
    for (int b = 0; b < SS_TA_COUNT; b++)
        if (r->flags & (1u << b))
            fprintf(o, "%s\"%s\"", n++ ? "," : "", ss_tcp_analysis_name(b));
    fputc(']', o);
    if (r->flags & SS_TA(DUPLICATE_ACK))
        fprintf(o, ",\"dup_ack_num\":%" PRIu32 ",\"dup_ack_of\":%" PRIu64, r->dup_ack_num, r->dup_ack_of);
    if (r->has_ack_rtt) {
        json_secs(o, "ack_rtt", r->ack_rtt_ns);
        fprintf(o, ",\"acks_frame\":%" PRIu64, r->acks_frame);
    }
    if (r->has_bif)
        fprintf(o, ",\"bytes_in_flight\":%" PRIu32, r->bytes_in_flight);
    if (r->has_irtt)
        json_secs(o, "irtt", r->irtt_ns);
    if (r->has_rto) {
        json_secs(o, "rto", r->rto_ns);
        fprintf(o, ",\"rto_frame\":%" PRIu64, r->rto_frame);
    }
    if (r->nsack) {
        fputs(",\"sack\":[", o);
        for (unsigned i = 0; i < r->nsack; i++)
            fprintf(o, "%s[%" PRIu32 ",%" PRIu32 "]", i ? "," : "", r->sack[i][0], r->sack[i][1]);
        fprintf(o, "],\"dsack\":%s", r->dsack ? "true" : "false");
    }
    if (pe->pkt->tcp.flags & SS_TCP_FIN)
        fprintf(o, ",\"fin\":\"%s\"", r->fin_active ? "active" : "passive");
    if (pe->conv_tcp)
        fprintf(o, ",\"state\":{\"client\":\"%s\",\"server\":\"%s\"}",
                ss_tcp_state_name(pe->conv_tcp->state[SS_DIR_C2S]),
                ss_tcp_state_name(pe->conv_tcp->state[SS_DIR_S2C]));
    if (r->ntrans) {
        fputs(",\"transitions\":[", o);
        for (int i = 0; i < r->ntrans; i++)
            fprintf(o, "%s{\"end\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"inferred\":%s}", i ? "," : "",
                    r->trans[i].end == SS_DIR_C2S ? "client" : "server", ss_tcp_state_name(r->trans[i].from),
                    ss_tcp_state_name(r->trans[i].to), r->trans[i].inferred ? "true" : "false");
        fputc(']', o);
    }
}

static void json_message(FILE *o, const ss_msg_event_t *me)
{
    const ss_message_t *m = me->msg;
    fprintf(o, "{\"type\":\"message\",\"%s\":%" PRIu64 ",\"dir\":\"%s\",\"index\":%" PRIu64
               ",\"offset\":%" PRIu64 ",\"len\":%" PRIu64 ",\"frames\":[",
            me->conv->proto == 6 ? "tcp_stream" : "udp_stream", me->conv->index, me->dir == SS_DIR_C2S ? "c2s" : "s2c",
            m->index, m->off, m->len);
    uint32_t n = m->nframes < SS_MSG_INLINE_FRAMES ? m->nframes : SS_MSG_INLINE_FRAMES;
    for (uint32_t i = 0; i < n; i++)
        fprintf(o, "%s%" PRIu64, i ? "," : "", m->frames[i]);
    fprintf(o, "],\"nframes\":%" PRIu32 ",\"last_frame\":%" PRIu64 ",\"split\":%s,\"complete\":%s", m->nframes,
            m->last_frame, m->nframes >= 2 ? "true" : "false", m->complete ? "true" : "false");
    if (me->conv->msgs && strncmp(me->conv->msgs[me->dir].framing, "filexfer", 8) == 0)
        fprintf(o, ",\"part\":\"%s\"", m->part == 0 ? "header_length" : m->part == 1 ? "header" : "body");
    fputs("}\n", o);
}

static void json_recv(FILE *o, const ss_recv_event_t *r)
{
    char tb[40];
    fprintf(o, "{\"type\":\"recv\",\"tcp_stream\":%" PRIu64 ",\"dir\":\"%s\",\"index\":%" PRIu64
               ",\"ts\":%s,\"offset\":%" PRIu64 ",\"len\":%" PRIu64 ",\"messages\":[",
            r->conv->index, r->dir == SS_DIR_C2S ? "c2s" : "s2c", r->index, ss_fmt_secs(r->ts_ns, 6, tb, sizeof(tb)),
            r->off, r->len);
    for (uint32_t i = 0; i < r->count; i++)
        fprintf(o, "%s%" PRIu64, i ? "," : "", r->first + i);
    fprintf(o, "],\"glued\":%s,\"first_partial\":%s,\"last_partial\":%s}\n", r->count >= 2 ? "true" : "false",
            r->first_partial ? "true" : "false", r->last_partial ? "true" : "false");
}

static void json_msgsum(FILE *o, const ss_conv_msgs_t *m)
{
    fputs("{\"framing\":", o);
    ss_json_str(o, m->framing);
    fprintf(o,
            ",\"messages\":%" PRIu64 ",\"incomplete\":%" PRIu64 ",\"coalesced_segments\":%" PRIu64
            ",\"split_messages\":%" PRIu64 ",\"largest\":%" PRIu64 ",\"gap_bytes\":%" PRIu64
            ",\"overlap_bytes\":%" PRIu64 ",\"overlap_differs\":%" PRIu32 ",\"dropped_bytes\":%" PRIu64,
            m->messages, m->incomplete, m->coalesced_segments, m->split_messages, m->largest, m->gap_bytes,
            m->overlap_bytes, m->overlap_differs, m->dropped_bytes);
    if (m->inferred) {
        fprintf(o, ",\"inferred\":{\"confidence\":\"%s\",\"why\":", ss_confidence_name(m->confidence));
        ss_json_str(o, m->inferred_why);
        fputc('}', o);
    }
    if (m->traced)
        fprintf(o, ",\"send_calls\":%" PRIu64 ",\"recv_calls\":%" PRIu64 ",\"glued_recvs\":%" PRIu64, m->send_calls,
                m->recv_calls, m->glued_recvs);
    if (m->udp_missing || m->udp_late)
        fprintf(o, ",\"datagrams_missing\":%" PRIu64 ",\"datagrams_late\":%" PRIu64, m->udp_missing, m->udp_late);
    if (m->broken) {
        fprintf(o, ",\"broken_at\":%" PRIu64 ",\"broken_why\":", m->broken_at);
        ss_json_str(o, m->broken_why);
    }
    fputc('}', o);
}

static void json_conversation(FILE *o, const ss_conv_info_t *cv)
{
    char a[80], b[80];
    const ss_conv_tcp_t *t = cv->tcp;
    int64_t start = (cv->first_sec) * 1000000000LL + cv->first_nsec;
    int64_t last = (cv->last_sec) * 1000000000LL + cv->last_nsec;
    fprintf(o, "{\"type\":\"conversation\",\"%s\":%" PRIu64 ",\"proto\":\"%s\",\"client\":",
            cv->proto == 6 ? "tcp_stream" : "udp_stream", cv->index, cv->proto == 6 ? "tcp" : "udp");
    ss_json_str(o, ss_fmt_endpoint(&cv->addr[0], cv->port[0], a, sizeof(a)));
    fputs(",\"server\":", o);
    ss_json_str(o, ss_fmt_endpoint(&cv->addr[1], cv->port[1], b, sizeof(b)));
    json_secs(o, "start", start - cv->run_t0_ns);
    json_secs(o, "duration", last - start);
    fprintf(o,
            ",\"frames_c2s\":%" PRIu64 ",\"bytes_c2s\":%" PRIu64 ",\"frames_s2c\":%" PRIu64
            ",\"bytes_s2c\":%" PRIu64 ",\"payload_c2s\":%" PRIu64 ",\"payload_s2c\":%" PRIu64,
            cv->frames[0], cv->bytes[0], cv->frames[1], cv->bytes[1], cv->payload[0], cv->payload[1]);
    if (t) {
        ss_close_t cl = ss_conv_close(t);
        fprintf(o, ",\"handshake\":\"%s\"", ss_handshake_name(ss_conv_handshake(t)));
        if (t->has_irtt)
            json_secs(o, "irtt", t->irtt_ns);
        else
            fputs(",\"irtt\":null", o);
        fprintf(o, ",\"close\":\"%s\"", ss_close_name(cl));
        int first = t->first_fin >= 0 ? t->first_fin : t->first_rst;
        if (cl == SS_CLOSE_OPEN || first < 0)
            fputs(",\"closed_first_by\":null", o);
        else
            fprintf(o, ",\"closed_first_by\":\"%s\"", first == SS_DIR_C2S ? "client" : "server");
        if (t->first_rst >= 0)
            fprintf(o, ",\"rst_by\":\"%s\",\"rst_in_state\":\"%s\"",
                    t->first_rst == SS_DIR_C2S ? "client" : "server", ss_tcp_state_name(t->rst_state));
        fprintf(o, ",\"half_close\":%s", t->half_close ? "true" : "false");
        if (t->fin_style)
            fprintf(o, ",\"fin_exchange\":\"%s\"", ss_fin_style_name(t->fin_style));
        fprintf(o, ",\"simultaneous_open\":%s", t->simultaneous_open ? "true" : "false");
        fputs(",\"isn\":{\"client\":", o);
        if (t->isn_known[0])
            fprintf(o, "%" PRIu32, t->isn[0]);
        else
            fputs("null", o);
        fputs(",\"server\":", o);
        if (t->isn_known[1])
            fprintf(o, "%" PRIu32, t->isn[1]);
        else
            fputs("null", o);
        fputc('}', o);
        fprintf(o, ",\"state\":{\"client\":\"%s\",\"server\":\"%s\"}", ss_tcp_state_name(t->state[0]),
                ss_tcp_state_name(t->state[1]));
        fputs(",\"history\":", o);
        ss_json_str(o, t->history ? t->history : "");
        fputs(",\"options\":{", o);
        for (int d = 0; d < 2; d++) {
            fprintf(o, "%s\"%s\":{\"mss\":", d ? "," : "", d ? "server" : "client");
            if (t->mss[d])
                fprintf(o, "%u", t->mss[d]);
            else
                fputs("null", o);
            fputs(",\"wscale\":", o);
            if (t->wscale[d] >= 0)
                fprintf(o, "%d", t->wscale[d]);
            else
                fputs("null", o);
            fprintf(o, ",\"sack_perm\":%s,\"timestamps\":%s}", t->sack_perm[d] ? "true" : "false",
                    t->timestamps[d] ? "true" : "false");
        }
        fprintf(o, ",\"ecn\":%s}", t->ecn_setup ? "true" : "false");
        fprintf(o, ",\"syn_retransmissions\":%" PRIu32 ",\"synack_retransmissions\":%" PRIu32,
                t->syn_retrans[0], t->syn_retrans[1]);
        fputs(",\"analysis_counts\":{", o);
        int n = 0;
        for (int bit = 0; bit < SS_TA_COUNT; bit++)
            if (t->counts[bit])
                fprintf(o, "%s\"%s\":%" PRIu64, n++ ? "," : "", ss_tcp_analysis_name(bit), t->counts[bit]);
        fputc('}', o);
        fputs(",\"rtt\":", o);
        if (t->rtt_samples) {
            int64_t avg = t->rtt_sum_ns / (int64_t)t->rtt_samples;
            fprintf(o, "{\"samples\":%" PRIu64, t->rtt_samples);
            json_secs(o, "min", t->rtt_min_ns);
            json_secs(o, "avg", avg);
            json_secs(o, "max", t->rtt_max_ns);
            fputc('}', o);
        } else {
            fputs("null", o);
        }
        fprintf(o, ",\"max_bytes_in_flight\":%" PRIu32 ",\"completeness\":%u", t->max_bif, t->completeness);
    }
    if (cv->msgs) {
        fputs(",\"message_stats\":{\"c2s\":", o);
        json_msgsum(o, &cv->msgs[0]);
        fputs(",\"s2c\":", o);
        json_msgsum(o, &cv->msgs[1]);
        fputc('}', o);
    }
    fputs("}\n", o);
}

/* The datagram an ICMP error refers to. */
static void json_quoted(FILE *o, const ss_pkt_event_t *pe)
{
    const ss_quoted_t *q = &pe->pkt->quoted;
    char ab[64];
    fprintf(o, ",\"quoted\":{\"proto\":\"%s\",\"src\":", q->proto == 6 ? "tcp" : "udp");
    ss_json_str(o, ss_addr_str(&q->src, ab, sizeof(ab)));
    fputs(",\"dst\":", o);
    ss_json_str(o, ss_addr_str(&q->dst, ab, sizeof(ab)));
    fprintf(o, ",\"sport\":%u,\"dport\":%u", q->sport, q->dport);
    if (q->has_seq)
        fprintf(o, ",\"seq_raw\":%" PRIu32, q->seq);
    if (q->has_ack) {
        fprintf(o, ",\"ack_raw\":%" PRIu32 ",\"flags\":[", q->ack);
        int n = 0;
        for (int b = 0; b < 9; b++)
            if (q->flags & (1u << b))
                fprintf(o, "%s\"%s\"", n++ ? "," : "", ss_tcp_flag_names[b]);
        fputc(']', o);
    }
    if (pe->quoted_conv)
        fprintf(o, ",\"%s\":%" PRIu64, q->proto == 6 ? "tcp_stream" : "udp_stream",
                pe->quoted_conv->index);
    fputc('}', o);
}

static void json_packet(json_sink_t *j, const ss_pkt_event_t *pe)
{
    FILE *o = j->out;
    const ss_packet_t *p = pe->pkt;
    const ss_frame_t *f = p->frame;
    char ab[64], nb[40];

    fprintf(o, "{\"type\":\"packet\",\"frame\":%" PRIu64 ",\"ts\":%" PRId64 ".%09u", f->number,
            f->ts_sec, f->ts_nsec);
    char tb[40];
    fprintf(o, ",\"rel_ts\":%s", ss_fmt_secs(pe->rel_ns, 9, tb, sizeof(tb)));
    fprintf(o, ",\"frame_len\":%" PRIu32 ",\"caplen\":%" PRIu32, f->wirelen, f->caplen);
    if (p->vlan_count) {
        fprintf(o, ",\"vlan\":[%u", p->vlan_id[0]);
        if (p->vlan_count > 1)
            fprintf(o, ",%u", p->vlan_id[1]);
        fputc(']', o);
    }
    if (p->l3 == SS_L3_IPV4 || p->l3 == SS_L3_IPV6) {
        fputs(",\"src\":", o);
        ss_json_str(o, ss_addr_str(&p->src, ab, sizeof(ab)));
        fputs(",\"dst\":", o);
        ss_json_str(o, ss_addr_str(&p->dst, ab, sizeof(ab)));
        fprintf(o, ",\"ip_version\":%d", p->l3 == SS_L3_IPV4 ? 4 : 6);
    }
    fputs(",\"proto\":", o);
    ss_json_str(o, ss_decode_proto_name(p, nb, sizeof(nb)));
    if ((p->l4 == SS_L4_TCP || p->l4 == SS_L4_UDP) && p->ports_valid) {
        uint16_t sp = p->l4 == SS_L4_TCP ? p->tcp.sport : p->udp.sport;
        uint16_t dp = p->l4 == SS_L4_TCP ? p->tcp.dport : p->udp.dport;
        fprintf(o, ",\"sport\":%u,\"dport\":%u", sp, dp);
    }
    if (pe->conv) {
        fprintf(o, ",\"%s\":%" PRIu64 ",\"dir\":\"%s\"",
                pe->conv->proto == 6 ? "tcp_stream" : "udp_stream", pe->conv->index,
                pe->dir == SS_DIR_C2S ? "c2s" : "s2c");
    }
    if (p->l4 == SS_L4_TCP && p->ports_valid && (pe->tcp || p->payload_off)) {
        const ss_tcp_hdr_t *th = &p->tcp;
        ss_tcp_result_t raw = {.rel_seq = th->seq, .rel_ack = th->ack, .win = th->win};
        const ss_tcp_result_t *r = pe->tcp ? pe->tcp : &raw;
        fputs(",\"flags\":[", o);
        int n = 0;
        for (int b = 0; b < 9; b++)
            if (th->flags & (1u << b))
                fprintf(o, "%s\"%s\"", n++ ? "," : "", ss_tcp_flag_names[b]);
        fputc(']', o);
        fprintf(o, ",\"seq\":%" PRIu32 ",\"ack\":%" PRIu32, r->rel_seq, r->rel_ack);
        fprintf(o, ",\"seq_raw\":%" PRIu32 ",\"ack_raw\":%" PRIu32, th->seq, th->ack);
        fprintf(o, ",\"len\":%" PRIu32 ",\"win\":%" PRIu32 ",\"win_raw\":%u", p->payload_len, r->win,
                th->win);
        if (r->win_scale >= 0)
            fprintf(o, ",\"win_scale\":%d", r->win_scale);
        else
            fprintf(o, ",\"win_scale\":\"%s\"", r->win_scale == SS_WSCALE_NONE ? "none" : "unknown");
        fprintf(o, ",\"hdr_len\":%u,\"urg_ptr\":%u,\"analyzed\":%s", th->doff * 4u, th->urp,
                pe->tcp && pe->tcp->analyzed ? "true" : "false");
        fputs(",\"options\":", o);
        json_options(o, &th->opts);
        if (pe->tcp && pe->tcp->analyzed)
            json_tcp_analysis(o, pe);
        if (pe->msgs && !pe->msgs->udp) {
            const ss_seg_msgs_t *g = pe->msgs;
            fputs(",\"messages\":[", o);
            for (uint64_t i = 0; i < g->count; i++)
                fprintf(o, "%s%" PRIu64, i ? "," : "", g->first + i);
            fprintf(o, "],\"coalesced\":%s", g->coalesced ? "true" : "false");
            if (g->buffered)
                fputs(",\"reassembly\":\"buffered\"", o);
            if (g->overlap)
                fprintf(o, ",\"overlap\":%" PRIu32 ",\"overlap_differs\":%s", g->overlap,
                        g->differs ? "true" : "false");
        }
    } else if (p->l4 == SS_L4_UDP && p->ports_valid) {
        fprintf(o, ",\"len\":%" PRIu32 ",\"udp_len\":%u", p->payload_len, p->udp.len);
        if (pe->msgs && pe->msgs->udp) {
            fprintf(o, ",\"messages\":[%" PRIu64 "]", pe->msgs->first);
            if (pe->msgs->numbered)
                fprintf(o, ",\"datagram_number\":%" PRIu32 ",\"missing_before\":%" PRIu32 ",\"late\":%s",
                        pe->msgs->number, pe->msgs->missing, pe->msgs->late ? "true" : "false");
        }
    } else if (p->l4 == SS_L4_ICMP || p->l4 == SS_L4_ICMPV6) {
        fprintf(o, ",\"icmp_type\":%u,\"icmp_code\":%u", p->icmp_type, p->icmp_code);
        if (p->quoted.valid)
            json_quoted(o, pe);
    }
    if (p->flags & SS_PKT_FRAGMENT)
        fprintf(o, ",\"fragment\":{\"offset\":%u,\"more\":%s}", p->frag_offset,
                p->frag_more ? "true" : "false");
    if (p->flags & SS_PKT_TRUNCATED) {
        fputs(",\"truncated\":", o);
        ss_json_str(o, p->truncated_in ? p->truncated_in : "");
    } else if (p->flags & SS_PKT_SHORT_DATA) {
        fprintf(o, ",\"payload_captured\":%" PRIu32, p->payload_caplen);
    }
    if (p->flags & SS_PKT_INVALID) {
        fputs(",\"malformed\":", o);
        ss_json_str(o, ss_decode_problem_str(p->problem));
    }
    if (pe->csum) {
        fputs(",\"checksum\":{", o);
        const char *sep = "";
        if (pe->csum->ip != SS_CSUM_NOT_CHECKED) {
            fprintf(o, "\"ip\":\"%s\"", ss_csum_status_str(pe->csum->ip));
            sep = ",";
        }
        if (pe->csum->l4 != SS_CSUM_NOT_CHECKED) {
            fprintf(o, "%s\"%s\":\"%s\"", sep, p->l4 == SS_L4_TCP ? "tcp" : "udp",
                    ss_csum_status_str(pe->csum->l4));
            if (pe->csum->l4 == SS_CSUM_BAD || pe->csum->l4 == SS_CSUM_OFFLOAD)
                fprintf(o, ",\"expected\":%u", pe->csum->l4_expected);
        }
        fputc('}', o);
    }
    fputs("}\n", o);
}

static int json_event(ss_sink_t *s, const ss_event_t *ev)
{
    json_sink_t *j = (json_sink_t *)s;
    if (ev->type == SS_EV_PACKET) {
        if (!j->packets)
            return 0;
        json_packet(j, ev->u.packet);
    }
    else if (ev->type == SS_EV_NOTICE) {
        fputs("{\"type\":\"notice\",\"text\":", j->out);
        ss_json_str(j->out, ev->u.notice);
        fputs("}\n", j->out);
    } else if (ev->type == SS_EV_CONVERSATION) {
        json_conversation(j->out, ev->u.conv);
    } else if (ev->type == SS_EV_MESSAGE) {
        if (!j->packets)
            return 0;
        json_message(j->out, ev->u.message);
    } else if (ev->type == SS_EV_RECV) {
        if (!j->packets)
            return 0;
        json_recv(j->out, ev->u.recv);
    } else {
        return 0;
    }
    if (j->line_flush)
        fflush(j->out);
    return ferror(j->out) ? SS_ERR_IO : 0;
}

static int json_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    json_sink_t *j = (json_sink_t *)s;
    fprintf(j->out, "{\"type\":\"capture\",\"schema\":%d,\"source\":", SS_JSON_SCHEMA_VERSION);
    ss_json_str(j->out, info->source_name ? info->source_name : "");
    fprintf(j->out, ",\"live\":%s,\"linktype\":%d}\n", info->live ? "true" : "false", info->linktype);
    return ferror(j->out) ? SS_ERR_IO : 0;
}

static int json_end(ss_sink_t *s, const ss_run_end_t *end)
{
    json_sink_t *j = (json_sink_t *)s;
    fprintf(j->out, "{\"type\":\"end\",\"frames\":%" PRIu64, end->frames);
    if (end->warning) {
        fputs(",\"warning\":", j->out);
        ss_json_str(j->out, end->warning);
    }
    if (end->stats_valid)
        fprintf(j->out, ",\"pcap_received\":%" PRIu64 ",\"pcap_dropped\":%" PRIu64
                        ",\"pcap_if_dropped\":%" PRIu64,
                end->pcap_received, end->pcap_dropped, end->pcap_if_dropped);
    fputs("}\n", j->out);
    return fflush(j->out) == 0 && !ferror(j->out) ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t json_ops = {json_begin, json_event, json_end, ss_sink_noop_destroy};

ss_sink_t *ss_sink_json_create(FILE *out, bool line_flush, bool packets)
{
    json_sink_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->base.ops = &json_ops;
    j->out = out;
    j->line_flush = line_flush;
    j->packets = packets;
    return &j->base;
}
