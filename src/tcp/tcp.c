/* tcp.c - relative sequence numbers and window scaling per connection (RFC 9293, RFC 7323). */
#include <string.h>

#include "segscope/seq.h"
#include "segscope/tcp.h"

bool ss_tcp_analyzable(const ss_packet_t *pkt)
{
    if (pkt->l4 != SS_L4_TCP || (pkt->flags & SS_PKT_FRAGMENT))
        return false;
    /* A header the IP length cannot hold, or that the capture cut, is shown raw. */
    if (pkt->problem == SS_DP_TCP_DOFF || pkt->problem == SS_DP_TCP_SHORT)
        return false;
    return pkt->payload_off != 0;
}

void ss_tcp_conn_init(ss_tcp_conn_t *c)
{
    memset(c, 0, sizeof(*c));
    c->half[0].win_scale = c->half[1].win_scale = SS_WSCALE_UNKNOWN;
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
 * use only when both SYNs carry the option. SYN windows are never scaled.
 */
static void negotiate_wscale(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt)
{
    ss_tcp_half_t *fwd = &c->half[dir], *rev = &c->half[!dir];
    bool synack = (pkt->tcp.flags & SS_TCP_ACK) != 0;
    if (pkt->tcp.opts.present & SS_TCPOPT_WSCALE) {
        uint8_t shift = pkt->tcp.opts.wscale;
        fwd->win_scale = (int8_t)(shift > 14 ? 14 : shift);
        fwd->syn_had_ws = true;
        if (synack && rev->win_scale == SS_WSCALE_NONE)
            fwd->win_scale = SS_WSCALE_NONE; /* the SYN did not offer it */
    } else {
        fwd->win_scale = SS_WSCALE_NONE;
        rev->win_scale = SS_WSCALE_NONE;
    }
}

void ss_tcp_process(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, ss_tcp_result_t *res)
{
    ss_tcp_half_t *fwd = &c->half[dir], *rev = &c->half[!dir];
    const ss_tcp_hdr_t *th = &pkt->tcp;
    memset(res, 0, sizeof(*res));
    if (!ss_tcp_analyzable(pkt)) {
        res->rel_seq = th->seq;
        res->rel_ack = th->ack;
        res->win = th->win;
        res->win_scale = SS_WSCALE_UNKNOWN;
        return;
    }
    res->analyzed = true;

    /*
     * Relative numbers: a SYN consumes one sequence number, so with the SYN
     * as 0 the first data byte is 1. Without the SYN, the first seen segment
     * counts as 1 (base = seq - 1), and the peer's first ACK gives the base
     * of the other direction.
     */
    if (!fwd->base_set) {
        fwd->base_seq = (th->flags & SS_TCP_SYN) ? th->seq : th->seq - 1;
        fwd->base_set = true;
    }
    if (!rev->base_set && (th->flags & SS_TCP_ACK)) {
        rev->base_seq = th->ack - 1;
        rev->base_set = true;
    }
    if ((th->flags & (SS_TCP_SYN | SS_TCP_ACK)) == (SS_TCP_SYN | SS_TCP_ACK) &&
        th->seq != fwd->base_seq) {
        /*
         * A SYN-ACK with a new ISN: the ports were reused (or the earlier
         * base came from a stray packet). Its ISN is the base from now on.
         */
        fwd->base_seq = th->seq;
    }
    res->rel_seq = th->seq - fwd->base_seq;
    /* Without the ACK flag the field means nothing; it is shown as carried. */
    res->rel_ack = (th->flags & SS_TCP_ACK) ? th->ack - rev->base_seq : th->ack;

    if (th->flags & SS_TCP_SYN) {
        negotiate_wscale(c, dir, pkt);
        fwd->saw_syn = true;
        fwd->is_first_ack = true;
    } else if (th->flags & SS_TCP_ACK) {
        fwd->is_first_ack = false;
    }

    res->win_scale = fwd->win_scale;
    if (!(th->flags & SS_TCP_SYN) && fwd->win_scale >= 0)
        res->win = (uint32_t)th->win << fwd->win_scale;
    else
        res->win = th->win;
}
