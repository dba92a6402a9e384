/* analyzer.c - the pipeline: decode, find the conversation, analyse, report to sinks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/analyzer.h"
#include "segscope/err.h"
#include "segscope/flow.h"
#include "segscope/tcp.h"
#include "ipfrag.h"

/* What the analyzer keeps per conversation, in the flow's ext area. */
typedef struct conn {
    ss_conv_info_t info;
    bool acked_first_fin_now;   /* this packet acknowledges the first FIN */
    bool first_fin_acked_before; /* the first FIN had been acknowledged by an earlier packet */
    int client_keydir; /* flow-key direction that goes client -> server */
    ss_tcp_conn_t tcp;
    ss_conv_tcp_t sum; /* TCP: what the conversation showed so far */
} conn_t;

struct ss_analyzer {
    ss_config_t cfg;
    ss_sink_t *const *sinks;
    size_t nsinks;
    ss_flow_table_t *flows;
    ss_ipfrag_t *frags;
    uint64_t frames;
    bool have_t0;
    int64_t t0_sec;
    uint32_t t0_nsec;
    bool finishing; /* at the end, conversations are reported in index order first */
    uint64_t cur_frame;
    uint64_t cap_evictions;
    int sink_err;   /* first error a sink returned from a release callback */
};

void ss_config_init(ss_config_t *c)
{
    memset(c, 0, sizeof(*c));
    ss_limits_init(&c->limits);
}

static int emit(ss_analyzer_t *a, const ss_event_t *ev)
{
    int rc = 0;
    for (size_t i = 0; i < a->nsinks; i++) {
        int r = a->sinks[i]->ops->event(a->sinks[i], ev);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

static conn_t *flow_conn(ss_flow_t *f) { return (conn_t *)(void *)f->ext; }

static void on_release(void *ctx, ss_flow_t *f, int reason)
{
    ss_analyzer_t *a = ctx;
    conn_t *c = flow_conn(f);
    (void)reason;
    if (a->finishing) {
        ss_tcp_conn_fini(&c->tcp);
        return; /* already reported in order */
    }
    if (reason == SS_FLOW_RELEASE_CAP && a->cap_evictions++ == 0) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "flow limit reached at frame %" PRIu64 " (--max-flows %" PRIu32 "): the least recently "
                 "seen conversations are closed early from here on; a later packet of one starts a new "
                 "conversation",
                 a->cur_frame, a->cfg.limits.max_flows);
        ss_event_t nev = {.type = SS_EV_NOTICE};
        nev.u.notice = msg;
        int r = emit(a, &nev);
        if (r < 0 && a->sink_err == 0)
            a->sink_err = r;
    }
    ss_event_t ev = {.type = SS_EV_CONVERSATION};
    ev.u.conv = &flow_conn(f)->info;
    int rc = emit(a, &ev);
    if (rc < 0 && a->sink_err == 0)
        a->sink_err = rc;
    ss_tcp_conn_fini(&c->tcp);
}

ss_analyzer_t *ss_analyzer_create(const ss_config_t *cfg, ss_sink_t *const *sinks, size_t nsinks)
{
    ss_analyzer_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->sinks = sinks;
    a->nsinks = nsinks;
    a->flows = ss_flow_table_create(&a->cfg.limits, sizeof(conn_t), on_release, a);
    a->frags = ss_ipfrag_create(a->cfg.limits.max_fragments);
    if (!a->flows || !a->frags) {
        ss_flow_table_destroy(a->flows);
        ss_ipfrag_destroy(a->frags);
        free(a);
        return NULL;
    }
    return a;
}

int ss_analyzer_begin(ss_analyzer_t *a, const ss_run_info_t *info)
{
    for (size_t i = 0; i < a->nsinks; i++) {
        int r = a->sinks[i]->ops->begin(a->sinks[i], info);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * Which side is the client: the sender of a SYN, the receiver of a SYN-ACK,
 * or else whoever sent the first packet we saw.
 */
static int client_keydir_for(const ss_packet_t *pkt, int keydir)
{
    if (pkt->l4 == SS_L4_TCP &&
        (pkt->tcp.flags & (SS_TCP_SYN | SS_TCP_ACK)) == (SS_TCP_SYN | SS_TCP_ACK))
        return !keydir;
    return keydir;
}

static void conn_init(conn_t *c, const ss_flow_t *f, const ss_packet_t *pkt, int keydir,
                      uint32_t limits_max_unacked)
{
    c->client_keydir = client_keydir_for(pkt, keydir);
    c->info.proto = f->key.proto;
    c->info.index = f->index;
    bool sender_is_client = c->client_keydir == keydir;
    uint16_t sp = pkt->l4 == SS_L4_TCP ? pkt->tcp.sport : pkt->udp.sport;
    uint16_t dp = pkt->l4 == SS_L4_TCP ? pkt->tcp.dport : pkt->udp.dport;
    c->info.addr[0] = sender_is_client ? pkt->src : pkt->dst;
    c->info.addr[1] = sender_is_client ? pkt->dst : pkt->src;
    c->info.port[0] = sender_is_client ? sp : dp;
    c->info.port[1] = sender_is_client ? dp : sp;
    c->info.first_sec = f->first_sec;
    c->info.first_nsec = f->first_nsec;
    ss_tcp_conn_init(&c->tcp, limits_max_unacked);
    c->tcp.orig = c->client_keydir;
    if (f->key.proto == 6) {
        c->info.tcp = &c->sum;
        c->sum.first_fin = c->sum.first_rst = -1;
        c->sum.wscale[0] = c->sum.wscale[1] = -1;
        c->sum.history = c->tcp.history;
    }
}

/* Folds one analysed TCP packet (sent in client direction `dir`) into the conversation summary. */
static void conv_tcp_update(conn_t *c, int dir, const ss_packet_t *pkt, const ss_tcp_result_t *r,
                            ss_tcp_state_t sender_state_before)
{
    ss_conv_tcp_t *t = &c->sum;
    const ss_tcp_hdr_t *th = &pkt->tcp;
    uint16_t f = th->flags;
    if (!r->analyzed)
        return;
    if (f & SS_TCP_SYN) {
        bool synack = (f & SS_TCP_ACK) != 0;
        /* The same kind of SYN (plain or SYN-ACK) sent again with the same ISN is a retransmission. */
        if (t->isn_known[dir] && t->isn[dir] == th->seq && t->last_syn_ack[dir] == synack)
            t->syn_retrans[dir]++;
        t->last_syn_ack[dir] = synack;
        if (!synack && t->syn && dir == SS_DIR_S2C)
            t->simultaneous_open = true;
        if (synack)
            t->synack = true;
        else if (dir == SS_DIR_C2S || !t->syn)
            t->syn = true;
        t->isn_known[dir] = true;
        t->isn[dir] = th->seq;
        const ss_tcp_opts_t *o = &th->opts;
        t->mss[dir] = (o->present & SS_TCPOPT_MSS) ? o->mss : 0;
        t->wscale[dir] = (o->present & SS_TCPOPT_WSCALE) ? (int8_t)(o->wscale > 14 ? 14 : o->wscale) : -1;
        t->sack_perm[dir] = (o->present & SS_TCPOPT_SACKOK) != 0;
        t->timestamps[dir] = (o->present & SS_TCPOPT_TS) != 0;
        if (!synack && (f & SS_TCP_ECE) && (f & SS_TCP_CWR))
            t->ecn_requested = true;
        if (synack && t->ecn_requested && (f & SS_TCP_ECE) && !(f & SS_TCP_CWR))
            t->ecn_setup = true;
    } else if ((f & SS_TCP_ACK) && t->synack && !t->hs_ack && dir == SS_DIR_C2S &&
               t->isn_known[SS_DIR_S2C] && th->ack == t->isn[SS_DIR_S2C] + 1) {
        t->hs_ack = true;
    }
    if (pkt->payload_len > 0 && t->fin[!dir] && !(f & SS_TCP_SYN))
        t->half_close = true;
    if ((f & SS_TCP_FIN) && !t->fin[dir]) {
        if (t->first_fin >= 0 && t->first_fin != dir) {
            /* The second FIN: did it acknowledge the first, and had that been acknowledged already? */
            bool acks_first = (f & SS_TCP_ACK) && c->acked_first_fin_now;
            t->fin_style = !acks_first ? SS_FIN_SIMULTANEOUS
                           : c->first_fin_acked_before ? SS_FIN_FOUR_WAY : SS_FIN_THREE_WAY;
        }
        t->fin[dir] = true;
        if (t->first_fin < 0)
            t->first_fin = dir;
    }
    if ((f & SS_TCP_RST) && !t->rst[dir]) {
        t->rst[dir] = true;
        if (t->first_rst < 0) {
            t->first_rst = dir;
            t->rst_state = sender_state_before;
        }
    }
    for (int b = 0; b < SS_TA_COUNT; b++)
        if (r->flags & (1u << b))
            t->counts[b]++;
    if (r->has_ack_rtt) {
        if (t->rtt_samples == 0 || r->ack_rtt_ns < t->rtt_min_ns)
            t->rtt_min_ns = r->ack_rtt_ns;
        if (t->rtt_samples == 0 || r->ack_rtt_ns > t->rtt_max_ns)
            t->rtt_max_ns = r->ack_rtt_ns;
        t->rtt_sum_ns += r->ack_rtt_ns;
        t->rtt_samples++;
    }
    if (r->has_bif && r->bytes_in_flight > t->max_bif)
        t->max_bif = r->bytes_in_flight;
    t->has_irtt = r->has_irtt;
    t->irtt_ns = r->irtt_ns;
    t->completeness = c->tcp.completeness;
}

int ss_analyzer_feed(ss_analyzer_t *a, const ss_frame_t *frame)
{
    ss_packet_t pkt;
    ss_csum_result_t csum;
    ss_tcp_result_t tres;
    ss_pkt_event_t pe;

    a->frames++;
    a->cur_frame = frame->number;
    ss_decode(frame, &pkt);
    memset(&pe, 0, sizeof(pe));
    pe.pkt = &pkt;
    if (!a->have_t0) {
        a->have_t0 = true;
        a->t0_sec = frame->ts_sec;
        a->t0_nsec = frame->ts_nsec;
    }
    pe.rel_ns = (frame->ts_sec - a->t0_sec) * 1000000000LL + ((int64_t)frame->ts_nsec - a->t0_nsec);
    if (a->cfg.verify_checksums) {
        ss_checksum_verify(&pkt, &csum);
        pe.csum = &csum;
    }

    int64_t t_ns = frame->ts_sec * 1000000000LL + frame->ts_nsec;
    if ((pkt.flags & SS_PKT_FRAGMENT) && !(pkt.flags & SS_PKT_INVALID))
        ss_ipfrag_add(a->frags, &pkt, t_ns);
    /* A UDP header cut by the capture does not open a conversation (nor does it in tshark). */
    bool udp_ok = pkt.l4 == SS_L4_UDP && (pkt.payload_off || (pkt.flags & SS_PKT_REASSEMBLED));
    if ((pkt.l4 == SS_L4_TCP || udp_ok) && pkt.ports_valid && !(pkt.flags & SS_PKT_FRAGMENT)) {
        ss_flow_key_t key;
        int keydir;
        ss_flow_key_from_packet(&pkt, &key, &keydir);
        ss_flow_t *f = ss_flow_lookup(a->flows, &key, frame->ts_sec, frame->ts_nsec);
        bool tcp_ok = pkt.l4 == SS_L4_TCP && ss_tcp_analyzable(&pkt);
        bool reused = false, reuse_candidate = false;
        if (f && tcp_ok && ss_tcp_is_port_reuse(&flow_conn(f)->tcp, keydir, &pkt)) {
            f = NULL; /* a new SYN on these ports: a new conversation */
            reuse_candidate = true;
        }
        if (!f) {
            f = ss_flow_create(a->flows, &key, frame->ts_sec, frame->ts_nsec, frame->number);
            if (!f)
                return SS_ERR_NOMEM;
            conn_init(flow_conn(f), f, &pkt, keydir, a->cfg.limits.max_unacked);
            flow_conn(f)->info.run_t0_ns = a->t0_sec * 1000000000LL + a->t0_nsec;
            reused = reuse_candidate;
        }
        if (a->sink_err)
            return a->sink_err;
        conn_t *c = flow_conn(f);
        int dir = keydir == c->client_keydir ? SS_DIR_C2S : SS_DIR_S2C;
        c->info.frames[dir]++;
        c->info.bytes[dir] += frame->wirelen;
        c->info.payload[dir] += pkt.payload_len;
        c->info.last_sec = frame->ts_sec;
        c->info.last_nsec = frame->ts_nsec;
        pe.conv = &c->info;
        pe.dir = dir;
        if (pkt.l4 == SS_L4_TCP) {
            ss_tcp_state_t before = c->tcp.state[keydir];
            bool acked_before = c->tcp.half[keydir].acked_peer_fin;
            ss_tcp_process(&c->tcp, keydir, &pkt, t_ns, frame->number, &tres);
            c->first_fin_acked_before = acked_before;
            c->acked_first_fin_now = c->tcp.half[keydir].acked_peer_fin;
            if (reused)
                tres.flags |= SS_TA(REUSED_PORTS);
            conv_tcp_update(c, dir, &pkt, &tres, before);
            c->sum.state[SS_DIR_C2S] = c->tcp.state[c->client_keydir];
            c->sum.state[SS_DIR_S2C] = c->tcp.state[!c->client_keydir];
            for (int i = 0; i < tres.ntrans; i++) /* report ends as client/server */
                tres.trans[i].end = tres.trans[i].end == c->client_keydir ? SS_DIR_C2S : SS_DIR_S2C;
            pe.tcp = &tres;
            pe.conv_tcp = &c->sum;
        }
    }
    if (pkt.quoted.valid) {
        ss_flow_key_t key;
        int keydir;
        ss_flow_key_make(&key, &keydir, pkt.quoted.proto, &pkt.quoted.src, pkt.quoted.sport,
                         &pkt.quoted.dst, pkt.quoted.dport);
        ss_flow_t *f = ss_flow_find(a->flows, &key);
        if (f)
            pe.quoted_conv = &flow_conn(f)->info;
    }
    ss_event_t ev = {.type = SS_EV_PACKET};
    ev.u.packet = &pe;
    return emit(a, &ev);
}

typedef struct collect {
    ss_flow_t **v;
    size_t n;
} collect_t;

static void collect_flow(void *ctx, ss_flow_t *f)
{
    collect_t *c = ctx;
    c->v[c->n++] = f;
}

static int by_first_frame(const void *x, const void *y)
{
    const ss_flow_t *a = *(ss_flow_t *const *)x, *b = *(ss_flow_t *const *)y;
    if (a->first_frame != b->first_frame)
        return a->first_frame < b->first_frame ? -1 : 1;
    return a->key.proto - b->key.proto;
}

int ss_analyzer_finish(ss_analyzer_t *a, ss_run_end_t *end)
{
    int rc = a->sink_err;
    size_t n = ss_flow_table_count(a->flows);
    collect_t c = {calloc(n ? n : 1, sizeof(ss_flow_t *)), 0};
    if (!c.v)
        return SS_ERR_NOMEM;
    ss_flow_table_foreach(a->flows, collect_flow, &c);
    qsort(c.v, c.n, sizeof(*c.v), by_first_frame);
    for (size_t i = 0; i < c.n; i++) {
        ss_event_t ev = {.type = SS_EV_CONVERSATION};
        ev.u.conv = &flow_conn(c.v[i])->info;
        int r = emit(a, &ev);
        if (r < 0 && rc == 0)
            rc = r;
    }
    free(c.v);
    a->finishing = true;
    end->frames = a->frames;
    for (size_t i = 0; i < a->nsinks; i++) {
        int r = a->sinks[i]->ops->end(a->sinks[i], end);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

void ss_analyzer_destroy(ss_analyzer_t *a)
{
    if (!a)
        return;
    a->finishing = true;
    ss_flow_table_destroy(a->flows);
    ss_ipfrag_destroy(a->frags);
    free(a);
}
