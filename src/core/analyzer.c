/* analyzer.c - the pipeline: decode, find the conversation, analyse, report to sinks. */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/analyzer.h"
#include "segscope/clear.h"
#include "segscope/err.h"
#include "segscope/flow.h"
#include "segscope/grow.h"
#include "segscope/i18n.h"
#include "segscope/pool.h"
#include "segscope/stream.h"
#include "segscope/tcp.h"
#include "ipfrag.h"

struct conn;

/* Where a direction's reassembled bytes and messages go back to. */
typedef struct dctx {
    struct ss_analyzer *a;
    struct conn *c;
    int dir; /* SS_DIR_* */
} dctx_t;

/*
 * The bytes of one direction: allocated only when the direction has
 * something to reassemble (data, or an acknowledgement past its start), so
 * conversations without data (a SYN flood, port scans) cost none of it.
 */
typedef struct reasm_dir {
    ss_auto_t *autod;    /* --framing auto, first pass: the candidate framings ... */
    ss_framer_t *framer; /* ... or else the framer (either right after this struct) */
    ss_stream_t stream;  /* its fields every segment reads first, so two cache lines hold all these */
} reasm_dir_t;

/* Directions' streams kept for reuse when their conversation ends (two per conversation). */
enum { DIRS_KEPT = 512 };

/* Reassembly and framing of a conversation (allocated only with --framing). */
typedef struct reasm {
    /* Read for every packet: first, next to the TCP state that ends conn_t. */
    reasm_dir_t *io[2];    /* by SS_DIR_*; NULL until needed */
    bool base_known[2];
    uint32_t first_seq[2]; /* sequence number of stream offset 0 */
    bool infer;            /* --framing auto, first pass: infer, do not frame */
    bool cap_noticed[2];   /* the "not reassembled" notice was given for this direction */
    dctx_t ctx[2];         /* the streams' and framers' callback contexts */
    /* UDP: datagram counting per direction */
    uint64_t udp_count[2];
    bool udp_numbered[2];
    uint32_t udp_next[2];
    ss_framing_t spec[2];  /* the framing each direction's framer will use */
    bool use_calls[2];     /* ... or the sender's traced send() calls */
    ss_conv_msgs_t sum[2];
    const ss_app_dir_t *app[2]; /* the application trace of each direction, if matched */
    uint64_t (*bounds[2])[2];   /* with traced recv() calls: every message's [offset, length] */
    size_t nbounds[2], capbounds[2];
} reasm_t;

/* What the analyzer keeps per conversation, in the flow's ext area. */
typedef struct conn {
    ss_conv_info_t info;
    bool acked_first_fin_now;   /* this packet acknowledges the first FIN */
    bool first_fin_acked_before; /* the first FIN had been acknowledged by an earlier packet */
    int client_keydir; /* flow-key direction that goes client -> server */
    ss_conv_tcp_t sum; /* TCP: what the conversation showed so far */
    reasm_t *rs;       /* with --framing: right after this struct */
    bool unacked_noticed[2]; /* by flow-key direction: the --max-unacked notice was given */
    ss_tcp_conn_t tcp; /* last, next to the reassembly fields every packet reads */
} conn_t;

/* A message waiting to be reported after the packet that completed it. */
typedef struct queued_msg {
    const ss_conv_info_t *conv;
    int dir;
    ss_message_t msg;
} queued_msg_t;

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
    bool frag_noticed; /* the --max-fragments notice was given */
    uint64_t cont_idx;        /* while framing a chunk: the message it continues */
    uint32_t cont_done_part;  /* ... and its part count if it ended there */
    uint64_t mq_dropped;
    ss_stream_budget_t budget;
    ss_pool_t dirs[2]; /* the streams of ended conversations, for new ones: with a framer, with candidates */
    ss_seg_msgs_t seg;     /* the current packet's message annotation */
    int seg_dir;
    queued_msg_t *mq;
    size_t mq_n, mq_cap;
    uint32_t wants;        /* the event types some sink reads (SS_SINK_WANTS bits) */
    ss_inferred_t *inf;    /* --framing auto: the verdicts of this run */
    size_t ninf, capinf;
    int sink_err;   /* first error a sink returned from a release callback */
};

/* A zeroed slot at the end of the message queue; NULL (counted as dropped) when it cannot grow. */
static queued_msg_t *mq_push(ss_analyzer_t *a)
{
    queued_msg_t *nq = ss_grow(a->mq, a->mq_n, &a->mq_cap, sizeof(*nq), 64);
    if (!nq) {
        a->mq_dropped++;
        return NULL;
    }
    a->mq = nq;
    queued_msg_t *q = &a->mq[a->mq_n++];
    memset(q, 0, sizeof(*q));
    return q;
}

void ss_config_init(ss_config_t *c)
{
    memset(c, 0, sizeof(*c));
    ss_limits_init(&c->limits);
}

int ss_config_set_framing(ss_config_t *cfg, const char *arg, char *err, size_t errlen)
{
    char buf[512];
    if (strlen(arg) >= sizeof(buf)) {
        snprintf(err, errlen, "--framing argument too long");
        return SS_ERR_INVAL;
    }
    snprintf(buf, sizeof(buf), "%s", arg);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        ss_framing_t f;
        if (eq && eq != item && strspn(item, "0123456789") == (size_t)(eq - item)) {
            *eq = '\0';
            long port = strtol(item, NULL, 10);
            if (port < 1 || port > 65535) {
                snprintf(err, errlen, "port %s out of range", item);
                return SS_ERR_INVAL;
            }
            if (ss_framing_parse(eq + 1, &f, err, errlen) < 0)
                return SS_ERR_INVAL;
            if (cfg->nport_framing >= SS_MAX_PORT_FRAMINGS) {
                snprintf(err, errlen, "at most %d ports can have their own framing", SS_MAX_PORT_FRAMINGS);
                return SS_ERR_INVAL;
            }
            cfg->port_framing[cfg->nport_framing].port = (uint16_t)port;
            cfg->port_framing[cfg->nport_framing].framing = f;
            cfg->nport_framing++;
        } else {
            if (ss_framing_parse(item, &f, err, errlen) < 0)
                return SS_ERR_INVAL;
            cfg->framing = f;
        }
    }
    cfg->reassemble = true;
    return 0;
}

static int emit(ss_analyzer_t *a, const ss_event_t *ev)
{
    int rc = 0;
    if (!(a->wants & SS_SINK_WANTS(ev->type)))
        return 0;
    for (size_t i = 0; i < a->nsinks; i++) {
        uint32_t w = a->sinks[i]->ops->wants;
        if (w && !(w & SS_SINK_WANTS(ev->type)))
            continue;
        int r = a->sinks[i]->ops->event(a->sinks[i], ev);
        if (r < 0 && rc == 0)
            rc = r;
    }
    return rc;
}

/*
 * A notice, written twice from one format: in English for the machine-read
 * outputs (JSON) and in the user's language for the people-read ones. The
 * format is an N_() literal; words that differ by direction are chosen by
 * choosing the format, so the arguments suit both texts.
 */
__attribute__((format(printf, 2, 3))) static void notice(ss_analyzer_t *a, const char *fmt, ...)
{
    if (!(a->wants & SS_SINK_WANTS(SS_EV_NOTICE)))
        return; /* nobody reads it: not written */
    char en[400], local[600];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    vsnprintf(en, sizeof(en), fmt, ap);
    vsnprintf(local, sizeof(local), _(fmt), ap2);
    va_end(ap2);
    va_end(ap);
    ss_event_t ev = {.type = SS_EV_NOTICE, .notice_local = local};
    ev.u.notice = en;
    int r = emit(a, &ev);
    if (r < 0 && a->sink_err == 0)
        a->sink_err = r;
}

static conn_t *flow_conn(ss_flow_t *f) { return (conn_t *)(void *)f->ext; }

/* The client/server direction (SS_DIR_*) of flow-key direction `keydir`. */
static int conn_dir(const conn_t *c, int keydir) { return keydir == c->client_keydir ? SS_DIR_C2S : SS_DIR_S2C; }

static void reasm_close(ss_analyzer_t *a, conn_t *c);
static void reasm_free(ss_analyzer_t *a, conn_t *c);
static int flush_messages(ss_analyzer_t *a);

static void on_release(void *ctx, ss_flow_t *f, int reason)
{
    ss_analyzer_t *a = ctx;
    conn_t *c = flow_conn(f);
    (void)reason;
    if (a->finishing) {
        ss_tcp_conn_fini(&c->tcp);
        reasm_free(a, c);
        return; /* already reported in order */
    }
    reasm_close(a, c);
    int mr = flush_messages(a);
    if (mr < 0 && a->sink_err == 0)
        a->sink_err = mr;
    if (reason == SS_FLOW_RELEASE_CAP && a->cap_evictions++ == 0)
        notice(a,
               N_("flow limit reached at frame %" PRIu64 " (--max-flows %" PRIu32 "): the least recently "
                  "seen conversations are closed early from here on; a later packet of one starts a new "
                  "conversation"),
               a->cur_frame, a->cfg.limits.max_flows);
    if (reason == SS_FLOW_RELEASE_CLOSED && ss_flow_table_closed_released(a->flows) == 1)
        notice(a,
               N_("more than %" PRIu32 " ended conversations at frame %" PRIu64 " (--max-closed): from here on "
                  "the one that ended longest ago is reported and forgotten to make room; a late packet of one "
                  "starts a new conversation"),
               a->cfg.limits.max_closed, a->cur_frame);
    ss_event_t ev = {.type = SS_EV_CONVERSATION};
    ev.u.conv = &flow_conn(f)->info;
    int rc = emit(a, &ev);
    if (rc < 0 && a->sink_err == 0)
        a->sink_err = rc;
    ss_tcp_conn_fini(&c->tcp);
    reasm_free(a, c);
}

ss_analyzer_t *ss_analyzer_create(const ss_config_t *cfg, ss_sink_t *const *sinks, size_t nsinks)
{
    ss_analyzer_t *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *cfg;
    a->sinks = sinks;
    a->nsinks = nsinks;
    a->budget.max = a->cfg.limits.reasm_budget;
    ss_pool_init(&a->dirs[0], sizeof(reasm_dir_t) + sizeof(ss_framer_t), DIRS_KEPT);
    ss_pool_init(&a->dirs[1], sizeof(reasm_dir_t) + sizeof(ss_auto_t), DIRS_KEPT);
    for (size_t i = 0; i < nsinks; i++)
        a->wants |= sinks[i]->ops->wants ? sinks[i]->ops->wants : UINT32_MAX;
    /* With reassembly, each conversation's reasm_t follows its conn_t in the flow record. */
    a->flows = ss_flow_table_create(&a->cfg.limits, sizeof(conn_t) + (a->cfg.reassemble ? sizeof(reasm_t) : 0),
                                    on_release, a);
    a->frags = ss_ipfrag_create(a->cfg.limits.max_fragments);
    if (!a->flows || !a->frags) {
        ss_flow_table_destroy(a->flows);
        ss_ipfrag_destroy(a->frags);
        free(a);
        return NULL;
    }
    return a;
}

bool ss_config_infers(const ss_config_t *cfg)
{
    bool autof = cfg->framing.kind == SS_FRAMING_AUTO;
    for (int i = 0; i < cfg->nport_framing; i++)
        autof |= cfg->port_framing[i].framing.kind == SS_FRAMING_AUTO;
    return autof;
}

bool ss_analyzer_needs_first_pass(const ss_analyzer_t *a)
{
    const uint32_t per_packet = SS_SINK_WANTS(SS_EV_PACKET) | SS_SINK_WANTS(SS_EV_MESSAGE) |
                                SS_SINK_WANTS(SS_EV_DATA) | SS_SINK_WANTS(SS_EV_RECV);
    return ss_config_infers(&a->cfg) && !a->cfg.inference_done &&
           ((a->wants & per_packet) || a->cfg.app_trace || a->cfg.emit_data);
}

void ss_analyzer_set_inferred(ss_analyzer_t *a, const ss_inferred_t *inferred, size_t n)
{
    a->cfg.inferred = inferred;
    a->cfg.ninferred = n;
    a->cfg.inference_done = true;
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
    _Static_assert(SS_TA_COUNT < 32, "the flags are bits of a uint32_t");
    for (uint32_t m = r->flags & ((1u << SS_TA_COUNT) - 1); m; m &= m - 1) /* the flags raised: most packets none */
        t->counts[__builtin_ctz(m)]++;
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


/* --- reassembly and framing (with --framing) --- */

/* Message boundaries kept per direction to map recv() calls to messages. */
#define MAX_BOUNDS 4000000u

static const ss_framing_t *framing_for(const ss_analyzer_t *a, const conn_t *c)
{
    for (int side = 1; side >= 0; side--) /* the server's port first */
        for (int i = 0; i < a->cfg.nport_framing; i++)
            if (a->cfg.port_framing[i].port == c->info.port[side])
                return &a->cfg.port_framing[i].framing;
    return &a->cfg.framing;
}

static void on_message(void *ctx, const ss_message_t *m)
{
    dctx_t *d = ctx;
    ss_analyzer_t *a = d->a;
    ss_conv_msgs_t *sm = &d->c->rs->sum[d->dir];
    sm->messages++;
    if (!m->complete)
        sm->incomplete++;
    if (m->nframes >= 2)
        sm->split_messages++;
    if (m->len > sm->largest)
        sm->largest = m->len;
    if (d->dir == a->seg_dir && m->index == a->cont_idx)
        a->cont_done_part = m->nframes;
    reasm_t *rs = d->c->rs;
    if (rs->app[d->dir] && rs->app[d->dir]->nrecvs && rs->nbounds[d->dir] < MAX_BOUNDS) {
        uint64_t(*nb)[2] =
            ss_grow(rs->bounds[d->dir], rs->nbounds[d->dir], &rs->capbounds[d->dir], sizeof(*nb), 64);
        if (nb) {
            rs->bounds[d->dir] = nb;
            rs->bounds[d->dir][rs->nbounds[d->dir]][0] = m->off;
            rs->bounds[d->dir][rs->nbounds[d->dir]][1] = m->len;
            rs->nbounds[d->dir]++;
        }
    }
    queued_msg_t *q = mq_push(a);
    if (!q)
        return;
    q->conv = &d->c->info;
    q->dir = d->dir;
    q->msg = *m;
}

/* Direction d's stream stopped fitting its framing: the summary keeps why, and a notice says it. */
static void framing_broke(ss_analyzer_t *a, const dctx_t *d, const ss_framer_t *fr)
{
    ss_conv_msgs_t *sm = &d->c->rs->sum[d->dir];
    sm->broken = true;
    sm->broken_at = fr->broken_at;
    snprintf(sm->broken_why, sizeof(sm->broken_why), "%s", fr->broken_why);
    snprintf(sm->broken_why_local, sizeof(sm->broken_why_local), "%s", fr->broken_why_local);
    if (!(a->wants & SS_SINK_WANTS(SS_EV_NOTICE)))
        return; /* nobody reads the notice: not written */
    /* As notice() does, but the reason too has an English and a translated text. */
    char en[400], local[600];
    if (d->dir == SS_DIR_C2S) {
        snprintf(en, sizeof(en),
                 "conversation %" PRIu64 " client to server: the stream stops fitting framing %s at byte %" PRIu64
                 " (%s); from there on it is treated as unframed",
                 d->c->info.index, sm->framing, fr->broken_at, fr->broken_why);
        snprintf(local, sizeof(local),
                 _("conversation %" PRIu64 " client to server: the stream stops fitting framing %s at byte %" PRIu64
                   " (%s); from there on it is treated as unframed"),
                 d->c->info.index, sm->framing, fr->broken_at, fr->broken_why_local);
    } else {
        snprintf(en, sizeof(en),
                 "conversation %" PRIu64 " server to client: the stream stops fitting framing %s at byte %" PRIu64
                 " (%s); from there on it is treated as unframed",
                 d->c->info.index, sm->framing, fr->broken_at, fr->broken_why);
        snprintf(local, sizeof(local),
                 _("conversation %" PRIu64 " server to client: the stream stops fitting framing %s at byte %" PRIu64
                   " (%s); from there on it is treated as unframed"),
                 d->c->info.index, sm->framing, fr->broken_at, fr->broken_why_local);
    }
    ss_event_t nev = {.type = SS_EV_NOTICE, .notice_local = local};
    nev.u.notice = en;
    int nr = emit(a, &nev);
    if (nr < 0 && a->sink_err == 0)
        a->sink_err = nr;
}

static void on_chunk(void *ctx, const ss_stream_chunk_t *ch)
{
    dctx_t *d = ctx;
    ss_analyzer_t *a = d->a;
    reasm_t *rs = d->c->rs;
    reasm_dir_t *io = rs->io[d->dir]; /* a chunk comes from its stream, so it exists */
    if (a->cfg.emit_data) {
        ss_data_event_t de = {&d->c->info, d->dir, ch};
        ss_event_t ev = {.type = SS_EV_DATA};
        ev.u.data = &de;
        int r = emit(a, &ev);
        if (r < 0 && a->sink_err == 0)
            a->sink_err = r;
    }
    if (io->autod) { /* --framing auto, first pass: only the candidates read it */
        ss_auto_feed(io->autod, ch);
        return;
    }
    ss_framer_t *fr = io->framer;
    bool mine = !ch->gap && ch->frame == a->cur_frame && d->dir == a->seg_dir;
    a->cont_idx = mine && fr->in_msg ? fr->cur.index : UINT64_MAX;
    a->cont_done_part = 0;
    ss_chunk_msgs_t cm;
    ss_framer_feed(fr, ch, &cm);
    if (cm.count >= 2)
        rs->sum[d->dir].coalesced_segments++;
    if (fr->broken && !rs->sum[d->dir].broken)
        framing_broke(a, d, fr);
    if (!mine || cm.count == 0)
        return;
    ss_seg_msgs_t *g = &a->seg;
    if (g->count == 0) {
        g->first = cm.first;
        g->cont = cm.first == a->cont_idx;
        if (g->cont) {
            g->cont_done = a->cont_done_part != 0;
            g->cont_part = g->cont_done ? a->cont_done_part : fr->cur.nframes;
        }
    }
    g->last = cm.last;
    g->count = (uint32_t)(g->last - g->first + 1);
    g->coalesced = g->count >= 2;
    g->open_end = fr->in_msg && fr->cur.index == g->last;
}

static void reasm_dir_free(ss_analyzer_t *a, reasm_dir_t *io)
{
    if (!io)
        return;
    ss_stream_fini(&io->stream);
    if (io->autod) /* then it has no framer; either is part of io's allocation */
        ss_auto_fini(io->autod);
    else if (io->framer)
        ss_framer_fini(io->framer);
    ss_pool_put(&a->dirs[io->autod != NULL], io);
}

static const ss_inferred_t *find_inferred(const ss_analyzer_t *a, const conn_t *c)
{
    size_t lo = 0, hi = a->cfg.ninferred;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->cfg.inferred[mid].index < c->info.index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < a->cfg.ninferred && a->cfg.inferred[lo].index == c->info.index ? &a->cfg.inferred[lo] : NULL;
}

/* Direction d's framing is the verdict `v`: the summary's framing, confidence and why. */
static void apply_verdict(reasm_t *rs, int d, const ss_auto_verdict_t *v)
{
    rs->spec[d] = v->framing;
    ss_framing_name(&v->framing, rs->sum[d].framing, sizeof(rs->sum[d].framing));
    rs->sum[d].inferred = true;
    rs->sum[d].confidence = v->confidence;
    rs->sum[d].verdict = *v; /* put into words by the outputs that show it */
}

/* The note that says which framing was inferred for each direction of conversation c, and why. */
static void inferred_notice(ss_analyzer_t *a, const conn_t *c, const ss_auto_verdict_t v[2])
{
    if (!(a->wants & SS_SINK_WANTS(SS_EV_NOTICE)))
        return;
    char msg[640], local[800], n0[32], n1[32], w0[128], w1[128], l0[256], l1[256];
    ss_framing_name(&v[0].framing, n0, sizeof(n0));
    ss_framing_name(&v[1].framing, n1, sizeof(n1));
    ss_auto_explain(&v[0], w0, sizeof(w0), l0, sizeof(l0));
    ss_auto_explain(&v[1], w1, sizeof(w1), l1, sizeof(l1));
    /* The same sentence twice: the confidence words are translated in the second. */
    snprintf(msg, sizeof(msg),
             "conversation %" PRIu64 ": framing inferred client\u2192server %s (%s confidence: %s); "
             "server\u2192client %s (%s confidence: %s)",
             c->info.index, n0, ss_confidence_name(v[0].confidence), w0, n1, ss_confidence_name(v[1].confidence),
             w1);
    snprintf(local, sizeof(local),
             _("conversation %" PRIu64 ": framing inferred client\u2192server %s (%s confidence: %s); "
               "server\u2192client %s (%s confidence: %s)"),
             c->info.index, n0, _(ss_confidence_name(v[0].confidence)), l0, n1,
             _(ss_confidence_name(v[1].confidence)), l1);
    ss_event_t ev = {.type = SS_EV_NOTICE, .notice_local = local};
    ev.u.notice = msg;
    int r = emit(a, &ev);
    if (r < 0 && a->sink_err == 0)
        a->sink_err = r;
}

/*
 * --framing auto in one pass, at the end of a conversation: each direction's
 * verdict, with the totals of the framing that won as its message counts
 * (what a second pass framing with it would count); kept in the verdict
 * table too when this run is a first pass.
 */
static void infer_close(ss_analyzer_t *a, conn_t *c)
{
    reasm_t *rs = c->rs;
    if (!rs->infer)
        return;
    ss_auto_verdict_t v[2];
    for (int d = 0; d < 2; d++) {
        ss_auto_stats_t st;
        if (rs->io[d] && rs->io[d]->autod) {
            ss_auto_verdict(rs->io[d]->autod, &v[d], &st);
        } else { /* nothing to infer from */
            memset(&v[d], 0, sizeof(v[d]));
            memset(&st, 0, sizeof(st));
            v[d].framing.kind = SS_FRAMING_NONE;
            v[d].why = SS_AUTO_WHY_NO_DATA;
        }
        apply_verdict(rs, d, &v[d]);
        ss_conv_msgs_t *sm = &rs->sum[d];
        sm->messages = st.messages;
        sm->incomplete = st.incomplete;
        sm->coalesced_segments = st.coalesced_segments;
        sm->split_messages = st.split_messages;
        sm->largest = st.largest;
    }
    inferred_notice(a, c, v);
    if (!a->cfg.keep_inferred)
        return;
    ss_inferred_t *ni = ss_grow(a->inf, a->ninf, &a->capinf, sizeof(*ni), 16);
    if (!ni)
        return; /* the second pass then analyses this conversation unframed */
    a->inf = ni;
    ss_inferred_t *e = &a->inf[a->ninf++];
    memset(e, 0, sizeof(*e));
    e->index = c->info.index;
    e->dir[0] = v[0];
    e->dir[1] = v[1];
}

static int by_index(const void *x, const void *y)
{
    const ss_inferred_t *a = x, *b = y;
    return a->index < b->index ? -1 : a->index > b->index;
}

size_t ss_analyzer_inferred(const ss_analyzer_t *a, const ss_inferred_t **out)
{
    if (a->ninf > 1) /* none when the capture had no TCP conversation: never hand qsort a null table */
        qsort(a->inf, a->ninf, sizeof(*a->inf), by_index);
    *out = a->inf;
    return a->ninf;
}

size_t ss_analyzer_take_inferred(ss_analyzer_t *a, ss_inferred_t **out)
{
    const ss_inferred_t *tab;
    size_t n = ss_analyzer_inferred(a, &tab);
    *out = a->inf;
    a->inf = NULL;
    a->ninf = a->capinf = 0;
    return n;
}

/* Conversation c's reassembly, in its flow record right after it (zeroed with the record). */
static reasm_t *reasm_create(ss_analyzer_t *a, conn_t *c)
{
    reasm_t *rs = (reasm_t *)(void *)(c + 1);
    const ss_framing_t *fs = framing_for(a, c);
    for (int d = 0; d < 2; d++) {
        rs->ctx[d] = (dctx_t){a, c, d};
        rs->spec[d] = *fs;
        ss_framing_name(fs, rs->sum[d].framing, sizeof(rs->sum[d].framing));
        if (fs->kind == SS_FRAMING_AUTO && c->info.proto == 6 && !a->cfg.inference_done)
            rs->infer = true;
        const ss_inferred_t *inf = find_inferred(a, c);
        if (inf && c->info.proto == 6) {
            apply_verdict(rs, d, &inf->dir[d]);
            if (d == 1)
                inferred_notice(a, c, inf->dir);
        }
        if (a->cfg.app_trace && c->info.proto == 6) {
            /* The sender of direction d is the client for c2s, the server for s2c. */
            int s = d, r = !d;
            rs->app[d] = ss_apptrace_match(a->cfg.app_trace, &c->info.addr[s], c->info.port[s], &c->info.addr[r],
                                           c->info.port[r], c->info.first_sec * 1000000000LL + c->info.first_nsec);
            if (rs->app[d]) {
                rs->sum[d].traced = true;
                rs->sum[d].send_calls = rs->app[d]->nsends;
                if (fs->kind == SS_FRAMING_NONE && rs->app[d]->nsends) {
                    /* No framing named: what the sender wrote in each send() is a message. */
                    rs->use_calls[d] = true;
                    snprintf(rs->sum[d].framing, sizeof(rs->sum[d].framing), "%s", N_("send() calls"));
                }
            }
        }
    }
    return rs;
}

/* Direction `d`'s stream and framer, created at their first use; NULL when out of memory. */
static reasm_dir_t *reasm_io(ss_analyzer_t *a, reasm_t *rs, int d)
{
    if (rs->io[d])
        return rs->io[d];
    const ss_limits_t *l = &a->cfg.limits;
    /* One allocation: the candidates or the framer follow the stream. */
    reasm_dir_t *io = ss_pool_get(&a->dirs[rs->infer]);
    if (!io)
        return NULL;
    /* The init calls below clear the stream and the candidates or framer: only the pointers are left. */
    io->autod = NULL;
    io->framer = NULL;
    if (rs->infer) {
        io->autod = (ss_auto_t *)(void *)(io + 1);
        ss_auto_init(io->autod, l->max_message);
    } else {
        io->framer = (ss_framer_t *)(void *)(io + 1);
        ss_framer_init(io->framer, &rs->spec[d], l->max_message, on_message, &rs->ctx[d]);
        if (rs->use_calls[d])
            ss_framer_set_calls(io->framer, rs->app[d]->sends, rs->app[d]->nsends);
    }
    ss_stream_init(&io->stream, l->max_ooo_segs, l->max_ooo_bytes, &a->budget, on_chunk, &rs->ctx[d]);
    rs->io[d] = io;
    return io;
}

/* Stream offset of sequence number `seq` in direction `dir`. */
static uint64_t reasm_off(reasm_t *rs, int dir, uint32_t seq)
{
    return ss_stream_offset(seq, rs->first_seq[dir], rs->io[dir] ? rs->io[dir]->stream.next : 0);
}

/*
 * Everything of direction `d` below stream offset `off` has been sent (it
 * was acknowledged, or a FIN follows it). An offset of 0 leaves a direction
 * that has no stream yet without one.
 */
static int reasm_acked(ss_analyzer_t *a, reasm_t *rs, int d, uint64_t off)
{
    if (off == 0 && !rs->io[d])
        return 0;
    reasm_dir_t *io = reasm_io(a, rs, d);
    if (!io)
        return SS_ERR_NOMEM;
    ss_stream_acked(&io->stream, off);
    return 0;
}

/*
 * A segment of direction `dir` was not kept because a cap was reached: says
 * so once per direction (the bytes become a gap when acknowledged or at the
 * end). `budget` tells the run-wide budget from the per-direction caps.
 */
static void cap_notice(ss_analyzer_t *a, conn_t *c, int dir, bool budget)
{
    const ss_limits_t *l = &a->cfg.limits;
    bool c2s = dir == SS_DIR_C2S;
    if (budget)
        notice(a,
               c2s ? N_("reassembly budget reached at frame %" PRIu64 " (--reasm-budget %" PRIu64
                        " bytes for all conversations): later bytes of conversation %" PRIu64
                        " client to server not reassembled when they arrive out of order; they are reported as a gap")
                   : N_("reassembly budget reached at frame %" PRIu64 " (--reasm-budget %" PRIu64
                        " bytes for all conversations): later bytes of conversation %" PRIu64
                        " server to client not reassembled when they arrive out of order; they are reported as a gap"),
               a->cur_frame, l->reasm_budget, c->info.index);
    else
        notice(a,
               c2s ? N_("out-of-order limit reached at frame %" PRIu64 " (--max-ooo-segs %" PRIu32
                        ", --max-ooo-bytes %" PRIu64 " per direction): later bytes of conversation %" PRIu64
                        " client to server not reassembled when they arrive out of order; they are reported as a gap")
                   : N_("out-of-order limit reached at frame %" PRIu64 " (--max-ooo-segs %" PRIu32
                        ", --max-ooo-bytes %" PRIu64 " per direction): later bytes of conversation %" PRIu64
                        " server to client not reassembled when they arrive out of order; they are reported as a gap"),
               a->cur_frame, l->max_ooo_segs, l->max_ooo_bytes, c->info.index);
    c->rs->cap_noticed[dir] = true;
}

/* Feeds one analysed TCP packet (client direction `dir`) to reassembly and framing. */
static int reasm_packet(ss_analyzer_t *a, conn_t *c, int dir, int keydir, const ss_packet_t *pkt,
                        const ss_tcp_result_t *r)
{
    reasm_t *rs = c->rs;
    const ss_tcp_hdr_t *th = &pkt->tcp;
    const ss_tcp_half_t *fwd = &c->tcp.half[keydir], *rev = &c->tcp.half[!keydir];
    memset(&a->seg, 0, sizeof(a->seg));
    a->seg_dir = dir;
    for (int d = 0; d < 2; d++) {
        const ss_tcp_half_t *h = d == dir ? fwd : rev;
        if (!rs->base_known[d] && h->base_set) {
            rs->first_seq[d] = h->base_seq + 1; /* the first data byte: ISN + 1 */
            rs->base_known[d] = true;
        }
    }
    /* A keep-alive's byte is filler, not stream data. */
    if (pkt->payload_len > 0 && rs->base_known[dir] && !(r->flags & SS_TA(KEEP_ALIVE))) {
        uint32_t dseq = th->seq + ((th->flags & SS_TCP_SYN) ? 1u : 0u);
        uint64_t off = reasm_off(rs, dir, dseq);
        const uint8_t *data = pkt->payload_off ? pkt->frame->data + pkt->payload_off : NULL;
        ss_stream_result_t sr;
        uint64_t refused = a->budget.refused;
        reasm_dir_t *io = reasm_io(a, rs, dir);
        if (!io)
            return SS_ERR_NOMEM;
        ss_stream_segment(&io->stream, off, data, data ? pkt->payload_caplen : 0, pkt->payload_len,
                          pkt->frame->number, &sr);
        if (sr.dropped && !rs->cap_noticed[dir])
            cap_notice(a, c, dir, a->budget.refused != refused);
        a->seg.buffered = sr.buffered;
        a->seg.overlap = sr.overlap;
        a->seg.differs = sr.differs;
    }
    /* Everything below the ACK reached the peer: bytes never captured there are a gap. */
    if ((th->flags & SS_TCP_ACK) && rs->base_known[!dir]) {
        uint64_t ack_off = reasm_off(rs, !dir, th->ack);
        if (rev->fin_sent) { /* the FIN's sequence number is not data */
            uint64_t fin_off = reasm_off(rs, !dir, rev->fin_seq);
            if (ack_off > fin_off)
                ack_off = fin_off;
        }
        if (reasm_acked(a, rs, !dir, ack_off) < 0)
            return SS_ERR_NOMEM;
    }
    if ((th->flags & SS_TCP_FIN) && rs->base_known[dir] &&
        reasm_acked(a, rs, dir, reasm_off(rs, dir, th->seq + pkt->payload_len)) < 0)
        return SS_ERR_NOMEM;
    if ((th->flags & SS_TCP_RST) && rs->io[dir])
        ss_stream_flush(&rs->io[dir]->stream);
    return 0;
}

/*
 * UDP keeps message boundaries: each datagram is one message, whole or
 * lost. When a direction's datagrams start with a 32-bit big-endian counter
 * from 0 (as the demo's numbered datagrams do), gaps and late numbers are
 * reported too.
 */
static void udp_datagram(ss_analyzer_t *a, conn_t *c, int dir, const ss_packet_t *pkt)
{
    reasm_t *rs = c->rs;
    ss_seg_msgs_t *g = &a->seg;
    memset(g, 0, sizeof(*g));
    g->udp = true;
    g->count = 1;
    g->first = g->last = rs->udp_count[dir];
    g->udp_first = rs->udp_count[0] + rs->udp_count[1] == 0;
    const uint8_t *d = pkt->payload_off ? pkt->frame->data + pkt->payload_off : NULL;
    if (d && pkt->payload_caplen >= 4 && pkt->payload_len >= 4) {
        uint32_t n = ((uint32_t)d[0] << 24) | ((uint32_t)d[1] << 16) | ((uint32_t)d[2] << 8) | d[3];
        if (rs->udp_count[dir] == 0)
            rs->udp_numbered[dir] = n == 0;
        else if (rs->udp_numbered[dir] && n > rs->udp_next[dir] + 1000u)
            rs->udp_numbered[dir] = false; /* not a counter after all */
        if (rs->udp_numbered[dir]) {
            g->numbered = true;
            g->number = n;
            if (n > rs->udp_next[dir]) {
                g->missing = n - rs->udp_next[dir];
                rs->sum[dir].udp_missing += g->missing;
            } else if (n < rs->udp_next[dir]) {
                g->late = true;
                rs->sum[dir].udp_late++;
                if (rs->sum[dir].udp_missing)
                    rs->sum[dir].udp_missing--; /* it was not lost, only late */
            }
            if (n >= rs->udp_next[dir])
                rs->udp_next[dir] = n + 1;
        }
    } else if (rs->udp_count[dir] < 3) {
        rs->udp_numbered[dir] = false;
    }
    ss_conv_msgs_t *sm = &rs->sum[dir];
    snprintf(sm->framing, sizeof(sm->framing), "datagram");
    sm->messages++;
    if (pkt->payload_len > sm->largest)
        sm->largest = pkt->payload_len;
    rs->udp_count[dir]++;
    queued_msg_t *q = mq_push(a);
    if (!q)
        return;
    q->conv = &c->info;
    q->dir = dir;
    q->msg.index = g->first;
    q->msg.off = 0;
    q->msg.len = pkt->payload_len;
    q->msg.complete = pkt->payload_caplen == pkt->payload_len;
    q->msg.nframes = 1;
    q->msg.frames[0] = q->msg.last_frame = pkt->frame->number;
}

/* Emits the messages queued while processing a packet or closing a conversation. */
static int flush_messages(ss_analyzer_t *a)
{
    int rc = 0;
    for (size_t i = 0; i < a->mq_n; i++) {
        ss_msg_event_t me = {a->mq[i].conv, a->mq[i].dir, &a->mq[i].msg};
        ss_event_t ev = {.type = SS_EV_MESSAGE};
        ev.u.message = &me;
        int r = emit(a, &ev);
        if (r < 0 && rc == 0)
            rc = r;
    }
    a->mq_n = 0;
    return rc;
}

/* First message (index) whose bytes end after `off`. */
static size_t bound_search(uint64_t (*b)[2], size_t n, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid][0] + b[mid][1] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The receiver's recv() calls, each with the messages it returned (what the learner saw). */
static void report_recvs(ss_analyzer_t *a, conn_t *c, int d)
{
    reasm_t *rs = c->rs;
    const ss_app_dir_t *ap = rs->app[d];
    if (!ap || !ap->nrecvs)
        return;
    uint64_t(*b)[2] = rs->bounds[d];
    size_t n = rs->nbounds[d];
    for (size_t i = 0; i < ap->nrecvs; i++) {
        const ss_app_call_t *r = &ap->recvs[i];
        ss_recv_event_t re;
        memset(&re, 0, sizeof(re));
        re.conv = &c->info;
        re.dir = d;
        re.index = i;
        re.off = r->off;
        re.len = r->len;
        re.ts_ns = r->ts_ns;
        size_t k = bound_search(b, n, r->off);
        if (k < n && b[k][0] < r->off + r->len) {
            re.first = k;
            re.first_partial = b[k][0] < r->off;
            size_t j = k;
            while (j + 1 < n && b[j + 1][0] < r->off + r->len)
                j++;
            re.last = j;
            re.count = (uint32_t)(j - k + 1);
            re.last_partial = b[j][0] + b[j][1] > r->off + r->len;
        }
        rs->sum[d].recv_calls++;
        if (re.count >= 2)
            rs->sum[d].glued_recvs++;
        ss_event_t ev = {.type = SS_EV_RECV};
        ev.u.recv = &re;
        int rc = emit(a, &ev);
        if (rc < 0 && a->sink_err == 0)
            a->sink_err = rc;
    }
}

/* The end of a conversation: what is buffered is delivered behind gaps, open messages are cut off. */
static void reasm_close(ss_analyzer_t *a, conn_t *c)
{
    reasm_t *rs = c->rs;
    if (!rs)
        return;
    a->seg_dir = -1;
    for (int d = 0; d < 2; d++) {
        reasm_dir_t *io = rs->io[d];
        if (!io)
            continue; /* nothing was reassembled: the counters stay zero */
        ss_stream_flush(&io->stream);
        if (io->framer)
            ss_framer_finish(io->framer);
        ss_conv_msgs_t *sm = &rs->sum[d];
        sm->gap_bytes = io->stream.gap_bytes;
        sm->overlap_bytes = io->stream.overlap_bytes;
        sm->overlap_differs = io->stream.overlap_differs;
        sm->dropped_bytes = io->stream.dropped_cap;
    }
    infer_close(a, c);
    int mr = flush_messages(a);
    if (mr < 0 && a->sink_err == 0)
        a->sink_err = mr;
    for (int d = 0; d < 2; d++)
        report_recvs(a, c, d);
}

static void reasm_free(ss_analyzer_t *a, conn_t *c)
{
    if (!c->rs)
        return;
    for (int d = 0; d < 2; d++) {
        reasm_dir_free(a, c->rs->io[d]);
        free(c->rs->bounds[d]);
    }
    c->rs = NULL; /* its memory goes with the flow record */
    c->info.msgs = NULL;
}

/* Whether a decoded packet belongs to a TCP or UDP conversation. */
static bool has_conversation(const ss_packet_t *pkt)
{
    /* A UDP header cut by the capture does not open a conversation (nor does it in tshark). */
    bool udp_ok = pkt->l4 == SS_L4_UDP && (pkt->payload_off || (pkt->flags & SS_PKT_REASSEMBLED));
    return (pkt->l4 == SS_L4_TCP || udp_ok) && pkt->ports_valid && !(pkt->flags & SS_PKT_FRAGMENT);
}

static void prep_key(ss_prepared_t *p)
{
    ss_flow_key_from_packet(&p->pkt, &p->key, &p->keydir);
    p->hash = ss_flow_key_hash(&p->key);
    p->keyed = true;
}

void ss_analyzer_prepare(const ss_frame_t *frame, ss_prepared_t *p)
{
    ss_decode(frame, &p->pkt);
    p->keyed = false;
    if (has_conversation(&p->pkt))
        prep_key(p);
}

/*
 * A frame's conversation as the table held it when its record was asked
 * for, kept for the later stages while no flow has been removed (so the
 * pointer is still to a live record). It may be another conversation with
 * the same hash: then only the wrong lines are loaded.
 */
typedef struct hint {
    const conn_t *c;
    uint64_t removed; /* ss_flow_table_removed then; UINT64_MAX: not asked yet */
} hint_t;

/*
 * Later (the index entry has arrived): asks for the parts of the flow
 * record that every packet reads, and keeps the hint.
 */
static void prefetch_record(ss_analyzer_t *a, const ss_prepared_t *p, hint_t *h)
{
    const ss_flow_t *f = p->keyed ? ss_flow_hint(a->flows, p->hash) : NULL;
    h->c = f ? flow_conn((ss_flow_t *)f) : NULL;
    h->removed = ss_flow_table_removed(a->flows);
    if (!f)
        return;
    const char *r = (const char *)f;
    size_t hot = sizeof(ss_flow_t) + sizeof(conn_t) + (a->cfg.reassemble ? offsetof(reasm_t, udp_count) : 0);
    for (size_t o = 0; o < hot; o += 64)
        __builtin_prefetch(r + o, 1);
}

/*
 * The conversation of a frame decoded ahead: the hint while it still holds,
 * else as the table holds it now (frames analysed since may have removed
 * or replaced it).
 */
static const conn_t *hinted_conn(ss_analyzer_t *a, const ss_prepared_t *p, const hint_t *h)
{
    if (h->removed == ss_flow_table_removed(a->flows))
        return h->c;
    ss_flow_t *f = p->keyed ? ss_flow_hint(a->flows, p->hash) : NULL;
    return f ? flow_conn(f) : NULL;
}

/* Asks for the bytes [p, p + n), at most `max` cache lines of them. */
static void prefetch_range(const void *p, size_t n, size_t max)
{
    const char *b = (const char *)((uintptr_t)p & ~(uintptr_t)63), *e = (const char *)p + n;
    for (size_t i = 0; i < max && b < e; i++, b += 64)
        __builtin_prefetch(b, 1);
}

/*
 * Later still (the record has arrived): what the record points to that the
 * packet will read: the segments it may acknowledge or join, and the
 * streams of the directions it carries data or an acknowledgement for.
 */
static void prefetch_deep(ss_analyzer_t *a, const ss_prepared_t *p, const hint_t *h)
{
    const ss_packet_t *pkt = &p->pkt;
    const conn_t *c = hinted_conn(a, p, h);
    if (!c || pkt->l4 != SS_L4_TCP)
        return;
    const ss_tcp_half_t *fwd = &c->tcp.half[p->keydir], *rev = &c->tcp.half[!p->keydir];
    bool ack = pkt->tcp.flags & SS_TCP_ACK;
    if (ack && rev->n_unacked)
        prefetch_range(rev->unacked, rev->n_unacked * sizeof(*rev->unacked), 4);
    if (pkt->payload_len && fwd->unacked)
        prefetch_range(fwd->unacked + fwd->n_unacked, sizeof(*fwd->unacked), 1);
    if (!c->rs)
        return;
    int dir = conn_dir(c, p->keydir);
    const reasm_dir_t *io = c->rs->io[dir], *rio = c->rs->io[!dir];
    const size_t hot = offsetof(reasm_dir_t, stream) + offsetof(ss_stream_t, gap_bytes);
    if (io && pkt->payload_len) {
        prefetch_range(io, hot, 2);
        if (c->rs->infer) /* the candidates' header, right after */
            prefetch_range(io + 1, offsetof(ss_auto_t, cand), 1);
    }
    if (rio && ack)
        prefetch_range(rio, hot, 2);
}

/*
 * Last (the stream has arrived): where the packet's bytes will be
 * remembered, and the candidate framings that still read them.
 */
static void prefetch_io(ss_analyzer_t *a, const ss_prepared_t *p, const hint_t *h)
{
    const ss_packet_t *pkt = &p->pkt;
    const conn_t *c = pkt->l4 == SS_L4_TCP && pkt->payload_caplen ? hinted_conn(a, p, h) : NULL;
    if (!c)
        return;
    const reasm_dir_t *io = c->rs ? c->rs->io[conn_dir(c, p->keydir)] : NULL;
    if (!io)
        return;
    const ss_stream_t *st = &io->stream;
    size_t ring = sizeof(st->recent), at = (size_t)(st->next % ring), n = pkt->payload_caplen;
    if (n > ring)
        n = ring;
    prefetch_range(st->recent + at, n < ring - at ? n : ring - at, 8);
    if (n > ring - at)
        prefetch_range(st->recent, n - (ring - at), 8);
    if (io->autod)
        for (unsigned m = io->autod->alive; m; m &= m - 1)
            prefetch_range(&io->autod->cand[__builtin_ctz(m)], sizeof(ss_auto_cand_t), 2);
}

static int process(ss_analyzer_t *a, const ss_frame_t *frame, ss_prepared_t *p)
{
    ss_packet_t *pkt = &p->pkt; /* fragment reassembly may change it in place */
    ss_csum_result_t csum;
    ss_tcp_result_t tres;
    ss_pkt_event_t pe;

    a->frames++;
    a->cur_frame = frame->number;
    ss_clear(&pe, sizeof(pe));
    pe.pkt = pkt;
    if (!a->have_t0) {
        a->have_t0 = true;
        a->t0_sec = frame->ts_sec;
        a->t0_nsec = frame->ts_nsec;
    }
    pe.rel_ns = (frame->ts_sec - a->t0_sec) * 1000000000LL + ((int64_t)frame->ts_nsec - a->t0_nsec);
    if (a->cfg.verify_checksums) {
        ss_checksum_verify(pkt, &csum);
        pe.csum = &csum;
    }

    int64_t t_ns = frame->ts_sec * 1000000000LL + frame->ts_nsec;
    if ((pkt->flags & SS_PKT_FRAGMENT) && !(pkt->flags & SS_PKT_INVALID)) {
        ss_ipfrag_add(a->frags, pkt, t_ns);
        if (!a->frag_noticed && ss_ipfrag_evicted(a->frags)) {
            a->frag_noticed = true;
            notice(a,
                   N_("fragment limit reached at frame %" PRIu64 " (--max-fragments %" PRIu32
                      "): the oldest incomplete fragmented IP datagram was dropped to make room; datagrams it "
                      "leaves incomplete are not reassembled (said once)"),
                   a->cur_frame, a->cfg.limits.max_fragments);
        }
    }
    if (has_conversation(pkt)) {
        if (!p->keyed) /* the last fragment of a datagram, now whole */
            prep_key(p);
        const ss_flow_key_t *key = &p->key;
        int keydir = p->keydir;
        ss_flow_t *f = ss_flow_lookup_hashed(a->flows, key, p->hash, frame->ts_sec, frame->ts_nsec);
        bool tcp_ok = pkt->l4 == SS_L4_TCP && ss_tcp_analyzable(pkt);
        bool reused = false, reuse_candidate = false;
        if (f && tcp_ok && ss_tcp_is_port_reuse(&flow_conn(f)->tcp, keydir, pkt)) {
            f = NULL; /* a new SYN on these ports: a new conversation */
            reuse_candidate = true;
        }
        if (!f) {
            f = ss_flow_create(a->flows, key, frame->ts_sec, frame->ts_nsec, frame->number);
            if (!f)
                return SS_ERR_NOMEM;
            conn_t *nc = flow_conn(f);
            conn_init(nc, f, pkt, keydir, a->cfg.limits.max_unacked);
            nc->info.run_t0_ns = a->t0_sec * 1000000000LL + a->t0_nsec;
            if (a->cfg.reassemble) {
                nc->rs = reasm_create(a, nc);
                nc->info.msgs = nc->rs->sum;
            }
            reused = reuse_candidate;
        }
        if (a->sink_err)
            return a->sink_err;
        conn_t *c = flow_conn(f);
        int dir = conn_dir(c, keydir);
        c->info.frames[dir]++;
        c->info.bytes[dir] += frame->wirelen;
        c->info.payload[dir] += pkt->payload_len;
        c->info.last_sec = frame->ts_sec;
        c->info.last_nsec = frame->ts_nsec;
        pe.conv = &c->info;
        pe.dir = dir;
        if (pkt->l4 == SS_L4_UDP && c->rs) {
            udp_datagram(a, c, dir, pkt);
            pe.msgs = &a->seg;
        }
        if (pkt->l4 == SS_L4_TCP) {
            ss_tcp_state_t before = c->tcp.state[keydir];
            bool acked_before = c->tcp.half[keydir].acked_peer_fin;
            ss_tcp_process(&c->tcp, keydir, pkt, t_ns, frame->number, &tres);
            if (c->tcp.half[keydir].unacked_capped && !c->unacked_noticed[keydir]) {
                c->unacked_noticed[keydir] = true;
                notice(a,
                       dir == SS_DIR_C2S
                           ? N_("unacknowledged-segment limit reached at frame %" PRIu64 " (--max-unacked %" PRIu32
                                " per direction): later segments of conversation %" PRIu64
                                " client to server are not remembered, so they get no ACK RTT")
                           : N_("unacknowledged-segment limit reached at frame %" PRIu64 " (--max-unacked %" PRIu32
                                " per direction): later segments of conversation %" PRIu64
                                " server to client are not remembered, so they get no ACK RTT"),
                       a->cur_frame, a->cfg.limits.max_unacked, c->info.index);
            }
            c->first_fin_acked_before = acked_before;
            c->acked_first_fin_now = c->tcp.half[keydir].acked_peer_fin;
            if (reused)
                tres.flags |= SS_TA(REUSED_PORTS);
            conv_tcp_update(c, dir, pkt, &tres, before);
            c->sum.state[SS_DIR_C2S] = c->tcp.state[c->client_keydir];
            c->sum.state[SS_DIR_S2C] = c->tcp.state[!c->client_keydir];
            for (int i = 0; i < tres.ntrans; i++) /* report ends as client/server */
                tres.trans[i].end = conn_dir(c, tres.trans[i].end);
            pe.tcp = &tres;
            pe.conv_tcp = &c->sum;
            if (c->rs && tres.analyzed) {
                if (reasm_packet(a, c, dir, keydir, pkt, &tres) < 0)
                    return SS_ERR_NOMEM;
                if (a->seg.count || a->seg.buffered || a->seg.overlap)
                    pe.msgs = &a->seg;
            }
            /* Ended (both FINs, or a RST): kept for late packets until --max-closed makes room. */
            if ((c->sum.fin[0] && c->sum.fin[1]) || c->sum.rst[0] || c->sum.rst[1])
                ss_flow_set_closed(a->flows, f);
        }
    }
    if (pkt->quoted.valid) {
        ss_flow_key_t key;
        int keydir;
        ss_flow_key_make(&key, &keydir, pkt->quoted.proto, &pkt->quoted.src, pkt->quoted.sport,
                         &pkt->quoted.dst, pkt->quoted.dport);
        ss_flow_t *f = ss_flow_find(a->flows, &key);
        if (f)
            pe.quoted_conv = &flow_conn(f)->info;
    }
    ss_event_t ev = {.type = SS_EV_PACKET};
    ev.u.packet = &pe;
    int rc = emit(a, &ev);
    if (a->mq_n) {
        int mr = flush_messages(a);
        if (rc == 0)
            rc = mr;
    }
    return rc;
}

/*
 * Frames are decoded a few ahead of the one analysed, and the memory each
 * will need is asked for on the way (the index entry, then the flow record,
 * then the stream and unacknowledged segments it points to, then the
 * stream's ring and candidate framings), so that the
 * waits for memory of different frames overlap instead of following each
 * other. Only loads are issued ahead: the analysis itself runs frame by
 * frame in order, exactly as ss_analyzer_feed would run it.
 */
enum { AHEAD_INDEX = 10, AHEAD_RECORD = 6, AHEAD_DEEP = 3, PREP_RING = 16 };
_Static_assert((PREP_RING & (PREP_RING - 1)) == 0, "the ring is indexed with a mask");
_Static_assert(AHEAD_INDEX < PREP_RING && AHEAD_RECORD < AHEAD_INDEX && AHEAD_DEEP < AHEAD_RECORD && AHEAD_DEEP > 1,
               "each stage looks at frames decoded and not yet analysed, after the stage before it");

/*
 * The loop all three entry points share. prep[k & mask] is frame k's
 * prepared packet: a ring of PREP_RING decoded here as the loop goes
 * (`decode`), or every frame's, prepared before (mask SIZE_MAX).
 */
static int feed(ss_analyzer_t *a, const ss_frame_t *frames, ss_prepared_t *prep, size_t mask, bool decode, size_t n)
{
    size_t next = 0; /* the next frame whose index entry to ask for (decoding it first) */
    hint_t hint[PREP_RING]; /* hint[k % PREP_RING]: frame k's, from its record stage */
    for (size_t k = 0; k < AHEAD_RECORD && k < n; k++)
        hint[k].removed = UINT64_MAX; /* these frames have no record stage in this call */
    for (size_t i = 0; i < n; i++) {
        for (; next < n && next <= i + AHEAD_INDEX; next++) {
            ss_prepared_t *p = &prep[next & mask];
            if (decode)
                ss_analyzer_prepare(&frames[next], p);
            if (p->keyed)
                ss_flow_prefetch(a->flows, p->hash);
        }
        if (i + AHEAD_RECORD < n)
            prefetch_record(a, &prep[(i + AHEAD_RECORD) & mask], &hint[(i + AHEAD_RECORD) % PREP_RING]);
        if (i + AHEAD_DEEP < n)
            prefetch_deep(a, &prep[(i + AHEAD_DEEP) & mask], &hint[(i + AHEAD_DEEP) % PREP_RING]);
        if (i + 1 < n)
            prefetch_io(a, &prep[(i + 1) & mask], &hint[(i + 1) % PREP_RING]);
        int rc = process(a, &frames[i], &prep[i & mask]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ss_analyzer_feed_batch(ss_analyzer_t *a, const ss_frame_t *frames, size_t n)
{
    ss_prepared_t ring[PREP_RING];
    return feed(a, frames, ring, PREP_RING - 1, true, n);
}

/* The same look-ahead over frames decoded before (on the reader's thread): only the loads are left to ask for. */
int ss_analyzer_feed_prepared(ss_analyzer_t *a, const ss_frame_t *frames, ss_prepared_t *prep, size_t n)
{
    return feed(a, frames, prep, SIZE_MAX, false, n);
}

int ss_analyzer_feed(ss_analyzer_t *a, const ss_frame_t *frame)
{
    ss_prepared_t p;
    return feed(a, frame, &p, 0, true, 1);
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
        reasm_close(a, flow_conn(c.v[i]));
        int mr = flush_messages(a);
        if (mr < 0 && rc == 0)
            rc = mr;
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
    for (int i = 0; i < 2; i++)
        ss_pool_drain(&a->dirs[i]);
    ss_ipfrag_destroy(a->frags);
    free(a->mq);
    free(a->inf);
    free(a);
}
