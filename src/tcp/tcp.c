/* tcp.c - TCP analysis per connection: Wireshark's per-packet procedure (docs/tcp-analysis.md), RTT, and endpoint states (RFC 9293). */
#include <stdlib.h>
#include <string.h>

#include "segscope/clear.h"
#include "segscope/seq.h"
#include "segscope/tcp.h"

#define NS_PER_MS 1000000LL
#define WINDOW_UNKNOWN 0xFFFFFFFFu
#define DUPACK_AFTER_UNSEEN 0xFFFFFFFFu

static const char *const analysis_names[SS_TA_COUNT] = {
#define SS_TA_JSON(name, json, marker) json,
    SS_TCP_ANALYSIS_FLAGS(SS_TA_JSON)
#undef SS_TA_JSON
};
static const char *const analysis_markers[SS_TA_COUNT] = {
#define SS_TA_MARK(name, json, marker) marker,
    SS_TCP_ANALYSIS_FLAGS(SS_TA_MARK)
#undef SS_TA_MARK
};
static const char *const state_names[] = {
#define SS_ST_TEXT(name, text) text,
    SS_TCP_STATES(SS_ST_TEXT)
#undef SS_ST_TEXT
};

const char *ss_tcp_analysis_name(int bit) { return bit >= 0 && bit < SS_TA_COUNT ? analysis_names[bit] : "?"; }
const char *ss_tcp_analysis_marker(int bit) { return bit >= 0 && bit < SS_TA_COUNT ? analysis_markers[bit] : "?"; }
const char *ss_tcp_state_name(ss_tcp_state_t s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

void ss_tcp_conn_init(ss_tcp_conn_t *c, uint32_t max_unacked)
{
    memset(c, 0, sizeof(*c));
    c->half[0].win_scale = c->half[1].win_scale = SS_WSCALE_UNKNOWN;
    c->half[0].window = c->half[1].window = WINDOW_UNKNOWN;
    c->half[0].valid_bif = c->half[1].valid_bif = true;
    c->max_unacked = max_unacked;
    c->closer = -1;
    c->state[0] = c->state[1] = SS_TCP_ST_UNKNOWN;
}

void ss_tcp_conn_fini(ss_tcp_conn_t *c)
{
    for (int i = 0; i < 2; i++) {
        free(c->half[i].unacked);
        c->half[i].unacked = NULL;
        c->half[i].n_unacked = c->half[i].cap_unacked = 0;
    }
}

bool ss_tcp_analyzable(const ss_packet_t *pkt)
{
    if (pkt->l4 != SS_L4_TCP || (pkt->flags & SS_PKT_FRAGMENT))
        return false;
    /* A header the IP length cannot hold, or that the capture cut, is shown raw. */
    if (pkt->problem == SS_DP_TCP_DOFF || pkt->problem == SS_DP_TCP_SHORT)
        return false;
    return pkt->payload_off != 0 || ((pkt->flags & SS_PKT_REASSEMBLED) && !(pkt->flags & SS_PKT_TRUNCATED));
}

bool ss_tcp_is_port_reuse(const ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt)
{
    const ss_tcp_half_t *fwd = &c->half[dir];
    return (pkt->tcp.flags & (SS_TCP_SYN | SS_TCP_ACK)) == SS_TCP_SYN && fwd->base_set &&
           pkt->tcp.seq != fwd->base_seq;
}

/*
 * Window scaling is agreed in the handshake: each side announces in its SYN
 * the shift that applies to the windows *it* advertises, and scaling is in
 * use only when both SYNs carry the option (RFC 7323 section 2.2). SYN
 * windows are never scaled.
 */
static void negotiate_wscale(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt)
{
    ss_tcp_half_t *fwd = &c->half[dir], *rev = &c->half[!dir];
    bool synack = (pkt->tcp.flags & SS_TCP_ACK) != 0;
    if (pkt->tcp.opts.present & SS_TCPOPT_WSCALE) {
        uint8_t shift = pkt->tcp.opts.wscale;
        fwd->win_scale = (int8_t)(shift > 14 ? 14 : shift); /* RFC 7323: above 14 means 14 */
        fwd->syn_had_ws = true;
        if (synack && rev->win_scale == SS_WSCALE_NONE)
            fwd->win_scale = SS_WSCALE_NONE; /* the SYN did not offer it */
    } else {
        fwd->win_scale = SS_WSCALE_NONE;
        rev->win_scale = SS_WSCALE_NONE;
    }
}

/* Remembers a segment until it is acknowledged; bounded by max_unacked. */
static void push_unacked(ss_tcp_conn_t *c, ss_tcp_half_t *h, uint64_t frame, uint32_t seq, uint32_t end,
                         int64_t t_ns)
{
    if (h->n_unacked >= c->max_unacked) {
        h->unacked_capped = true;
        return;
    }
    if (h->n_unacked == h->cap_unacked) {
        uint32_t ncap = h->cap_unacked ? h->cap_unacked * 2 : 8;
        if (ncap > c->max_unacked)
            ncap = c->max_unacked;
        ss_tcp_seg_t *n = realloc(h->unacked, (size_t)ncap * sizeof(*n));
        if (!n)
            return; /* analysis degrades (no RTT for this segment); it does not fail */
        h->unacked = n;
        h->cap_unacked = ncap;
    }
    ss_tcp_seg_t *s = &h->unacked[h->n_unacked++];
    s->frame = frame;
    s->seq = seq;
    s->end = end;
    s->t_ns = t_ns;
}

/*
 * An ACK from `fwd` acknowledges segments of `rev` (section 8 of the spec):
 * a segment ending exactly at the ACK gives an RTT sample (the oldest such
 * one wins: no Karn rule, as in Wireshark 4.0); segments partly covered are
 * trimmed; segments wholly below it are forgotten.
 */
static void process_ack(ss_tcp_half_t *rev, uint32_t ack, int64_t t_ns, ss_tcp_result_t *res)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < rev->n_unacked; i++) {
        ss_tcp_seg_t s = rev->unacked[i];
        if (ack == s.end) {
            if (!res->has_ack_rtt) { /* oldest first: the first match is the oldest */
                res->has_ack_rtt = true;
                res->ack_rtt_ns = t_ns - s.t_ns;
                res->acks_frame = s.frame;
            }
            continue;
        }
        if (ss_seq_lt(s.seq, ack) && ss_seq_le(ack, s.end)) {
            s.seq = ack;
            rev->unacked[w++] = s;
        } else if (ss_seq_gt(s.end, ack)) {
            rev->unacked[w++] = s;
        }
        /* else wholly acknowledged: dropped */
    }
    rev->n_unacked = w;
}

static void bytes_in_flight(const ss_tcp_half_t *fwd, const ss_tcp_half_t *rev, bool synfin,
                            ss_tcp_result_t *res)
{
    if (fwd->n_unacked == 0)
        return;
    uint32_t lo = fwd->unacked[0].seq, hi = fwd->unacked[0].end;
    for (uint32_t i = 1; i < fwd->n_unacked; i++) {
        if (ss_seq_lt(fwd->unacked[i].seq, lo))
            lo = fwd->unacked[i].seq;
        if (ss_seq_gt(fwd->unacked[i].end, hi))
            hi = fwd->unacked[i].end;
    }
    int64_t v = (int64_t)(uint32_t)(hi - lo);
    for (unsigned i = 0; i < rev->nsack; i++)
        v -= (int64_t)(uint32_t)(rev->sack[i][1] - rev->sack[i][0]);
    if (synfin)
        v -= 1;
    if (v > 0 && v < 2000000000) {
        res->has_bif = true;
        res->bytes_in_flight = (uint32_t)v;
    }
}

static void set_state(ss_tcp_conn_t *c, ss_tcp_result_t *res, int end, ss_tcp_state_t to, bool inferred)
{
    ss_tcp_state_t from = c->state[end];
    c->state[end] = to;
    /* An endpoint first seen opening was CLOSED (active open) or LISTEN (passive open). */
    if (from == SS_TCP_ST_UNKNOWN && to == SS_TCP_ST_SYN_SENT)
        from = SS_TCP_ST_CLOSED;
    else if (from == SS_TCP_ST_UNKNOWN && to == SS_TCP_ST_SYN_RCVD)
        from = SS_TCP_ST_LISTEN;
    else if (from == SS_TCP_ST_UNKNOWN && to == SS_TCP_ST_CLOSED)
        return; /* nothing was open: a refusal or a stray RST */
    if (from == to)
        return;
    if (res->ntrans < SS_TCP_MAX_TRANSITIONS) {
        ss_tcp_transition_t *t = &res->trans[res->ntrans++];
        t->end = end;
        t->from = from;
        t->to = to;
        t->inferred = inferred;
    }
}

/*
 * The endpoint state machine of RFC 9293 section 3.3.2, driven by what the
 * capture shows. A segment proves its sender's state; the receiver's
 * transition is assumed when the segment is seen (it may still be lost
 * after the capture point), so it is marked inferred. Called before this
 * packet's FIN/RST is recorded in the halves.
 */
static void update_states(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, ss_tcp_result_t *res)
{
    const ss_tcp_hdr_t *th = &pkt->tcp;
    ss_tcp_half_t *fwd = &c->half[dir], *rev = &c->half[!dir];
    const int me = dir, peer = !dir;
    const uint16_t f = th->flags;
    const bool ack = (f & SS_TCP_ACK) != 0;
    ss_tcp_state_t *st = c->state;

    if (st[me] == SS_TCP_ST_UNKNOWN && st[peer] == SS_TCP_ST_UNKNOWN && !(f & (SS_TCP_SYN | SS_TCP_RST))) {
        /* Picked up mid-stream: both ends were already connected. */
        set_state(c, res, me, SS_TCP_ST_ESTABLISHED, true);
        set_state(c, res, peer, SS_TCP_ST_ESTABLISHED, true);
    }
    if (f & SS_TCP_RST) {
        /* RST aborts: its sender forgets the connection; so does the receiver, on receipt. */
        set_state(c, res, me, SS_TCP_ST_CLOSED, false);
        set_state(c, res, peer, SS_TCP_ST_CLOSED, true);
        return;
    }
    if (f & SS_TCP_SYN) {
        if (!ack) {
            if (st[me] == SS_TCP_ST_UNKNOWN || st[me] == SS_TCP_ST_CLOSED || st[me] == SS_TCP_ST_SYN_SENT)
                set_state(c, res, me, SS_TCP_ST_SYN_SENT, false);
        } else if (st[me] == SS_TCP_ST_UNKNOWN || st[me] == SS_TCP_ST_LISTEN || st[me] == SS_TCP_ST_SYN_SENT ||
                   st[me] == SS_TCP_ST_CLOSED) {
            /* A SYN-ACK: its sender received a SYN (passive open, or simultaneous open). */
            set_state(c, res, me, SS_TCP_ST_SYN_RCVD, false);
            /*
             * Simultaneous open (RFC 9293 figure 7): both sides sent SYN, then
             * SYN-ACK. Each becomes ESTABLISHED when the other's SYN-ACK,
             * which acknowledges its own SYN, arrives.
             */
            bool acks_peer_syn = rev->saw_syn && ss_seq_gt(th->ack, rev->isn);
            if (acks_peer_syn && st[peer] == SS_TCP_ST_SYN_RCVD) {
                set_state(c, res, peer, SS_TCP_ST_ESTABLISHED, true);
                if (rev->acked_peer_syn)
                    set_state(c, res, me, SS_TCP_ST_ESTABLISHED, true);
            }
        }
        if (ack && rev->saw_syn && ss_seq_gt(th->ack, rev->isn))
            fwd->acked_peer_syn = true;
        return;
    }
    /* An ACK of the peer's SYN proves this side ESTABLISHED; the peer follows on receipt. */
    if (ack && rev->saw_syn && ss_seq_gt(th->ack, rev->isn)) {
        fwd->acked_peer_syn = true;
        if (st[me] == SS_TCP_ST_SYN_SENT || st[me] == SS_TCP_ST_SYN_RCVD)
            set_state(c, res, me, SS_TCP_ST_ESTABLISHED, false);
        if (st[peer] == SS_TCP_ST_SYN_RCVD)
            set_state(c, res, peer, SS_TCP_ST_ESTABLISHED, true);
    }
    /* The peer learns that its FIN arrived. */
    const bool acks_peer_fin = ack && rev->fin_sent && ss_seq_gt(th->ack, rev->fin_seq);
    if (acks_peer_fin) {
        if (st[peer] == SS_TCP_ST_FIN_WAIT_1)
            set_state(c, res, peer, SS_TCP_ST_FIN_WAIT_2, true);
        else if (st[peer] == SS_TCP_ST_CLOSING)
            set_state(c, res, peer, SS_TCP_ST_TIME_WAIT, true);
        else if (st[peer] == SS_TCP_ST_LAST_ACK)
            set_state(c, res, peer, SS_TCP_ST_CLOSED, true);
    }
    if ((f & SS_TCP_FIN) && !fwd->fin_sent) {
        if (!rev->fin_sent) {
            /* Active close: this side closes first; the peer will be told. */
            set_state(c, res, me, SS_TCP_ST_FIN_WAIT_1, false);
            if (st[peer] == SS_TCP_ST_ESTABLISHED || st[peer] == SS_TCP_ST_SYN_RCVD ||
                st[peer] == SS_TCP_ST_UNKNOWN)
                set_state(c, res, peer, SS_TCP_ST_CLOSE_WAIT, true);
        } else if (acks_peer_fin || fwd->acked_peer_fin) {
            /* Passive close: the peer's FIN was received, now this side closes too. */
            set_state(c, res, me, SS_TCP_ST_LAST_ACK, false);
            if (st[peer] == SS_TCP_ST_FIN_WAIT_1 || st[peer] == SS_TCP_ST_FIN_WAIT_2)
                set_state(c, res, peer, SS_TCP_ST_TIME_WAIT, true);
        } else {
            /*
             * Simultaneous close: both FINs crossed; each side will get the
             * other's. This side had not received the peer's FIN when it sent
             * its own, so the CLOSE-WAIT assumed for it was premature.
             */
            if (st[me] == SS_TCP_ST_CLOSE_WAIT)
                st[me] = SS_TCP_ST_ESTABLISHED;
            set_state(c, res, me, SS_TCP_ST_FIN_WAIT_1, false);
            set_state(c, res, me, SS_TCP_ST_CLOSING, true);
            if (st[peer] == SS_TCP_ST_FIN_WAIT_1)
                set_state(c, res, peer, SS_TCP_ST_CLOSING, true);
        }
    } else if (acks_peer_fin && st[me] == SS_TCP_ST_FIN_WAIT_2) {
        /* An ACK of the peer's FIN from FIN-WAIT-2 proves TIME-WAIT. */
        set_state(c, res, me, SS_TCP_ST_TIME_WAIT, false);
    }
    if (acks_peer_fin)
        fwd->acked_peer_fin = true;
}

static void hist_add(ss_tcp_conn_t *c, int dir, char letter)
{
    if ((size_t)c->hist_len + 1 >= sizeof(c->history))
        return;
    c->history[c->hist_len++] = dir == c->orig ? letter : (char)(letter - 'A' + 'a');
    c->history[c->hist_len] = '\0';
}

/* Letters recorded on the 1st, 10th, 100th ... occurrence (Zeek's scaled history). */
static void hist_scaled(ss_tcp_conn_t *c, int dir, int which, char letter)
{
    uint32_t n = ++c->hist_count[dir][which];
    while (n % 10 == 0)
        n /= 10;
    if (n == 1)
        hist_add(c, dir, letter);
}

enum { H_SYN = 1, H_SYNACK = 2, H_FIN = 4, H_RST = 8, H_DATA = 16, H_ACK = 32, H_MULTI = 64 };

/* Zeek's history letters for one packet (docs/tcp-analysis.md section 6.2). */
static void update_history(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, bool rexmit)
{
    const ss_tcp_hdr_t *th = &pkt->tcp;
    uint16_t f = th->flags;
    int n = !!(f & SS_TCP_SYN) + !!(f & SS_TCP_FIN) + !!(f & SS_TCP_RST);
    uint8_t *once = &c->hist_once[dir];
    if (n >= 2) {
        if (!(*once & H_MULTI)) {
            *once |= H_MULTI;
            hist_add(c, dir, (f & SS_TCP_FIN) && (f & SS_TCP_RST) ? 'I' : 'Q');
        }
    } else if (f & SS_TCP_SYN) {
        int bit = (f & SS_TCP_ACK) ? H_SYNACK : H_SYN;
        if (!(*once & bit) || th->seq != c->hist_syn_seq[dir])
            hist_add(c, dir, (f & SS_TCP_ACK) ? 'H' : 'S');
        *once |= bit;
        c->hist_syn_seq[dir] = th->seq;
    } else if (f & SS_TCP_FIN) {
        uint32_t e = th->seq + pkt->payload_len;
        if (!(*once & H_FIN) || e != c->hist_fin_end[dir])
            hist_add(c, dir, 'F');
        *once |= H_FIN;
        c->hist_fin_end[dir] = e;
    } else if (f & SS_TCP_RST) {
        if (!(*once & H_RST) || th->seq != c->hist_rst_seq[dir])
            hist_add(c, dir, 'R');
        *once |= H_RST;
        c->hist_rst_seq[dir] = th->seq;
    } else if (pkt->payload_len > 0) {
        if (!(*once & H_DATA)) {
            *once |= H_DATA;
            hist_add(c, dir, 'D');
        }
    } else if ((f & SS_TCP_ACK) && !(*once & H_ACK)) {
        *once |= H_ACK;
        hist_add(c, dir, 'A');
    }
    if (rexmit && !c->half[dir].rst_sent)
        hist_scaled(c, dir, 0, 'T');
    if (th->win == 0 && !(f & SS_TCP_RST))
        hist_scaled(c, dir, 1, 'W');
}

void ss_tcp_process(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, int64_t t_ns, uint64_t frame,
                    ss_tcp_result_t *res)
{
    ss_tcp_half_t *fwd = &c->half[dir], *rev = &c->half[!dir];
    const ss_tcp_hdr_t *th = &pkt->tcp;
    const uint16_t fl = th->flags;
    const uint32_t seq = th->seq, ack = th->ack, seglen = pkt->payload_len;
    const bool syn = fl & SS_TCP_SYN, fin = fl & SS_TCP_FIN, rst = fl & SS_TCP_RST;
    const bool has_ack = fl & SS_TCP_ACK;
    const bool synfinrst = syn || fin || rst;
    uint32_t ta = 0;
    const bool first_of_conn = !fwd->seen && !rev->seen;

    ss_clear(res, offsetof(ss_tcp_result_t, sack)); /* the arrays after are read up to their counts */
    if (!ss_tcp_analyzable(pkt)) {
        res->rel_seq = seq;
        res->rel_ack = ack;
        res->win = th->win;
        res->win_scale = SS_WSCALE_UNKNOWN;
        return;
    }
    res->analyzed = true;

    /* Step 0: a SYN-ACK with a new ISN where a base exists means the ports were reused. */
    if (syn && has_ack && fwd->base_set && seq != fwd->base_seq) {
        fwd->base_seq = seq;
        ta |= SS_TA(REUSED_PORTS);
    }

    /*
     * Step 1, relative numbers: a SYN consumes one sequence number, so with
     * the SYN as 0 the first data byte is 1. Without the SYN, the first seen
     * segment counts as 1 (base = seq - 1), and the peer's first ACK gives
     * the base of the other direction.
     */
    if (!fwd->base_set) {
        fwd->base_seq = syn ? seq : seq - 1;
        fwd->base_set = true;
    }
    if (!rev->base_set && has_ack) {
        rev->base_seq = ack - 1;
        rev->base_set = true;
    }
    /* Step 2. */
    if (has_ack)
        rev->valid_bif = true;

    uint32_t end = seq + seglen + ((syn || fin) ? 1u : 0u);
    bool zwp = false;
    /* Context for explanations, taken before this packet updates the state. */
    res->expected_rel = fwd->next_seq ? fwd->next_seq - fwd->base_seq : 0;
    res->peer_ack_rel = rev->last_ack ? rev->last_ack - fwd->base_seq : 0;
    if (rev->window != WINDOW_UNKNOWN) {
        int sh = (rev->is_first_ack || rev->win_scale < 0) ? 0 : rev->win_scale;
        res->peer_win = rev->window << sh;
    }
    if (fwd->window != WINDOW_UNKNOWN) {
        int sh = (fwd->is_first_ack || fwd->win_scale < 0) ? 0 : fwd->win_scale;
        res->prev_win = fwd->window << sh;
    }

    /*
     * Step 3, zero-window probe: one byte sent exactly at the next sequence
     * number while the receiver advertises a zero window. It tests whether
     * the window has opened; the byte is not yet part of the stream.
     */
    if (seglen == 1 && seq == fwd->next_seq && rev->window == 0) {
        ta |= SS_TA(ZERO_WINDOW_PROBE);
        zwp = true;
    }
    if (!zwp) {
        /* 4a: the sender's receive buffer is full. */
        if (th->win == 0 && !synfinrst)
            ta |= SS_TA(ZERO_WINDOW);
        /* 4b: a gap before this segment: bytes the capture never saw. */
        if (fwd->next_seq && ss_seq_gt(seq, fwd->next_seq) && !rst) {
            ta |= SS_TA(LOST_SEGMENT);
            fwd->valid_bif = false;
        }
        /*
         * 4c: keep-alive: 0 or 1 byte at next_seq - 1, a position already
         * acknowledged, so the receiver must answer with an ACK.
         */
        if (seglen <= 1 && !synfinrst && seq == fwd->next_seq - 1)
            ta |= SS_TA(KEEP_ALIVE);
        bool same_pos = seq == fwd->next_seq && ack == fwd->last_ack;
        /* 4d: only the window changed. */
        if (seglen == 0 && th->win != 0 && th->win != fwd->window && same_pos && !synfinrst)
            ta |= SS_TA(WINDOW_UPDATE);
        /* 4e: this segment fills the receiver's advertised window exactly. */
        if (seglen > 0 && rev->win_scale != SS_WSCALE_UNKNOWN && !synfinrst) {
            int sh = (rev->is_first_ack || rev->win_scale == SS_WSCALE_NONE) ? 0 : rev->win_scale;
            if (seq + seglen == rev->last_ack + (rev->window << sh))
                ta |= SS_TA(WINDOW_FULL);
        }
        bool same_win = th->win == fwd->window;
        bool done = false;
        /* 4f: the answer to a keep-alive. */
        if (seglen == 0 && th->win != 0 && same_win && same_pos && (rev->last_flags & SS_TA(KEEP_ALIVE)) &&
            !synfinrst) {
            ta |= SS_TA(KEEP_ALIVE_ACK);
            done = true;
        }
        /* 4g: the answer to a zero-window probe. */
        if (!done && seglen == 0 && th->win == 0 && same_win && same_pos &&
            (rev->last_flags & SS_TA(ZERO_WINDOW_PROBE)) && !synfinrst) {
            ta |= SS_TA(ZERO_WINDOW_PROBE_ACK);
            done = true;
        }
        /* 4h: the same ACK again, nothing new: the receiver is missing something. */
        if (!done && seglen == 0 && th->win != 0 && same_win && same_pos && !synfinrst) {
            fwd->dupack_count = fwd->dupack_count == DUPACK_AFTER_UNSEEN ? 1 : fwd->dupack_count + 1;
            ta |= SS_TA(DUPLICATE_ACK);
            res->dup_ack_num = fwd->dupack_count;
            res->dup_ack_of = fwd->last_nondup_frame;
        }
    }
    /* Step 5: a new ACK number restarts the duplicate count. */
    if (ack != fwd->last_ack) {
        fwd->last_nondup_frame = frame;
        fwd->dupack_count = 0;
    }
    /*
     * Step 6: this ACK covers bytes the capture never showed contiguously.
     * When the other side has since sent beyond the hole, the mark moves up
     * to what it sent and the ACK is flagged; otherwise (the ACK is ahead of
     * everything seen) it is flagged once, and the marker left in the other
     * direction's duplicate counter (all ones) suppresses repeats. As in
     * Wireshark 4.0.17, that unsigned marker also passes the "at least two
     * duplicate ACKs" test of a fast retransmission below.
     */
    if (rev->max_seq_to_be_acked && has_ack && ss_seq_gt(ack, rev->max_seq_to_be_acked)) {
        if (ss_seq_gt(rev->next_seq, rev->max_seq_to_be_acked)) {
            rev->max_seq_to_be_acked = rev->next_seq;
            ta |= SS_TA(ACK_LOST_SEGMENT);
        } else {
            if (rev->dupack_count == 0)
                ta |= SS_TA(ACK_LOST_SEGMENT);
            rev->dupack_count = DUPACK_AFTER_UNSEEN;
        }
    }
    /* Step 7: the retransmission family (one verdict at most). */
    if ((seglen > 0 || syn || fin) && !(ta & SS_TA(KEEP_ALIVE))) {
        bool not_advanced = fwd->next_seq && ss_seq_lt(seq, fwd->next_seq);
        if (seglen > 1 && seq == fwd->next_seq - 1)
            not_advanced = false; /* a dropped probe byte resent with new data */
        int64_t ooo_thresh = c->irtt_set ? c->irtt_ns : 3 * NS_PER_MS;
        if (seglen > 0 && rev->last_ack && ss_seq_le(seq + seglen, rev->last_ack)) {
            /* Every byte was already acknowledged: the resend was not needed. */
            ta |= SS_TA(SPURIOUS_RETRANSMISSION) | SS_TA(RETRANSMISSION);
        } else if (not_advanced && rev->dupack_count >= 2 && seq == rev->last_ack &&
                   t_ns - rev->last_ack_t_ns < 20 * NS_PER_MS) {
            /* Resent right after duplicate ACKs asked for exactly this byte. */
            ta |= SS_TA(FAST_RETRANSMISSION) | SS_TA(RETRANSMISSION);
        } else if (not_advanced && t_ns - fwd->next_seq_t_ns < ooo_thresh && fwd->next_seq != end) {
            /* Below the highest seen, but too soon after it to be a resend. */
            ta |= SS_TA(OUT_OF_ORDER);
        } else if (not_advanced) {
            ta |= SS_TA(RETRANSMISSION);
            res->has_rto = true;
            if (fwd->n_unacked) {
                res->rto_ns = t_ns - fwd->unacked[0].t_ns;
                res->rto_frame = fwd->unacked[0].frame;
            } else {
                res->rto_ns = t_ns - fwd->next_seq_t_ns;
                res->rto_frame = fwd->next_seq_frame;
            }
        }
    }
    if (ta & (SS_TA(RETRANSMISSION) | SS_TA(OUT_OF_ORDER))) {
        /* For the explanation: the oldest remembered segment that carried this sequence number. */
        for (uint32_t i = 0; i < fwd->n_unacked; i++) {
            const ss_tcp_seg_t *sg = &fwd->unacked[i];
            if (ss_seq_le(sg->seq, seq) && ss_seq_lt(seq, sg->end)) {
                res->first_sent_frame = sg->frame;
                res->since_first_ns = t_ns - sg->t_ns;
                break;
            }
        }
    }
    /* Zeek counts as retransmitted any data that does not go past what this side sent before. */
    bool zeek_rexmit = seglen > 0 && fwd->next_seq && ss_seq_le(end, fwd->next_seq);
    /* Step 8: updates. */
    if (seglen > 0 || syn || fin)
        push_unacked(c, fwd, frame, seq, end, t_ns);
    if ((!fwd->next_seq || ss_seq_gt(end, fwd->next_seq)) && !zwp) {
        fwd->next_seq = end;
        fwd->next_seq_t_ns = t_ns;
        fwd->next_seq_frame = frame;
    }
    if ((!fwd->max_seq_to_be_acked || seq == fwd->max_seq_to_be_acked) && !zwp)
        fwd->max_seq_to_be_acked = fwd->next_seq;
    fwd->window = th->win;
    fwd->last_ack = ack;
    fwd->last_ack_t_ns = t_ns;
    fwd->last_flags = ta;
    fwd->seen = true;
    if (has_ack)
        process_ack(rev, ack, t_ns, res);
    if (seglen > 0 && fwd->valid_bif)
        bytes_in_flight(fwd, rev, syn || fin, res);

    /* Step 9: handshake, closing and window bookkeeping after the analysis. */
    if (syn) {
        negotiate_wscale(c, dir, pkt);
        if (!has_ack) {
            c->syn_time_set = t_ns != 0; /* Wireshark treats time 0 as "unset" */
            c->syn_t_ns = t_ns;
        }
        fwd->is_first_ack = true;
        fwd->saw_syn = true;
        fwd->isn = seq;
    }
    if (fin) {
        if (c->closer < 0)
            c->closer = dir;
        res->fin_active = c->closer == dir;
        res->fin_passive = !res->fin_active;
    }
    if (has_ack && !syn) {
        if (c->syn_time_set && !c->irtt_set) {
            c->irtt_set = true;
            c->irtt_ns = t_ns - c->syn_t_ns;
        }
        fwd->is_first_ack = false;
    }
    fwd->nsack = th->opts.nsack;
    for (unsigned i = 0; i < th->opts.nsack; i++) {
        fwd->sack[i][0] = th->opts.sack[i][0];
        fwd->sack[i][1] = th->opts.sack[i][1];
        /* SACK edges are in the peer's sequence space. */
        res->sack[i][0] = th->opts.sack[i][0] - rev->base_seq;
        res->sack[i][1] = th->opts.sack[i][1] - rev->base_seq;
    }
    res->nsack = th->opts.nsack;
    if (res->nsack && has_ack) {
        /* RFC 2883: a first block below the ACK, or inside the second block, reports duplicates. */
        uint32_t l0 = th->opts.sack[0][0], r0 = th->opts.sack[0][1];
        res->dsack = ss_seq_lt(l0, ack) ||
                     (res->nsack > 1 && ss_seq_ge(l0, th->opts.sack[1][0]) && ss_seq_le(r0, th->opts.sack[1][1]));
    }
    /* Wireshark's completeness bits. */
    if (syn && !has_ack && first_of_conn)
        c->completeness |= 1;
    if (syn && has_ack)
        c->completeness |= 2;
    if (has_ack && !syn && seglen == 0)
        c->completeness |= 4;
    if (has_ack && !syn && seglen > 0)
        c->completeness |= 8;
    if (fin && has_ack)
        c->completeness |= 16;
    if (rst)
        c->completeness |= 32;
    update_states(c, dir, pkt, res);
    update_history(c, dir, pkt, zeek_rexmit);
    if (fin && !fwd->fin_sent) {
        fwd->fin_sent = true;
        fwd->fin_seq = seq + seglen;
    }
    if (rst)
        fwd->rst_sent = true;

    res->flags = ta;
    res->rel_seq = seq - fwd->base_seq;
    res->next_seq_rel = end - fwd->base_seq;
    res->rel_ack = has_ack ? ack - rev->base_seq : ack;
    res->has_irtt = c->irtt_set;
    res->irtt_ns = c->irtt_ns;
    res->win_scale = fwd->win_scale;
    if (!syn && fwd->win_scale >= 0)
        res->win = (uint32_t)th->win << fwd->win_scale;
    else
        res->win = th->win;
}
