/* transport.c - TCP (with options), UDP and ICMP headers. */
#include <string.h>

#include "internal.h"

int ss_decode_tcp_options(const uint8_t *opts, size_t len, ss_tcp_opts_t *out)
{
    ss_cursor_t c = ss_cursor(opts, len);
    ss_clear(out, sizeof(*out));
    while (ss_cur_left(&c) > 0) {
        uint8_t kind, olen;
        (void)ss_cur_u8(&c, &kind);
        if (out->norder < sizeof(out->order))
            out->order[out->norder++] = kind;
        if (kind == 0) { /* EOL: the rest is padding */
            out->present |= SS_TCPOPT_EOL;
            break;
        }
        if (kind == 1) {
            if (out->nop_count < 255)
                out->nop_count++;
            continue;
        }
        if (!ss_cur_u8(&c, &olen) || olen < 2 || ss_cur_left(&c) < (size_t)(olen - 2)) {
            out->malformed = true;
            return SS_PKT_INVALID;
        }
        ss_cursor_t o;
        (void)ss_cur_sub(&c, (size_t)(olen - 2), &o);
        switch (kind) {
        case 2:
            if (olen != 4 || !ss_cur_u16(&o, &out->mss))
                goto bad;
            out->present |= SS_TCPOPT_MSS;
            break;
        case 3:
            if (olen != 3 || !ss_cur_u8(&o, &out->wscale))
                goto bad;
            out->present |= SS_TCPOPT_WSCALE;
            break;
        case 4:
            if (olen != 2)
                goto bad;
            out->present |= SS_TCPOPT_SACKOK;
            break;
        case 5:
            if ((olen - 2) % 8 != 0)
                goto bad;
            out->present |= SS_TCPOPT_SACK;
            while (ss_cur_left(&o) >= 8) {
                uint32_t l = 0, r = 0;
                (void)ss_cur_u32(&o, &l);
                (void)ss_cur_u32(&o, &r);
                if (out->nsack < SS_TCP_MAX_SACK) {
                    out->sack[out->nsack][0] = l;
                    out->sack[out->nsack][1] = r;
                    out->nsack++;
                }
            }
            break;
        case 8:
            if (olen != 10 || !ss_cur_u32(&o, &out->ts_val) || !ss_cur_u32(&o, &out->ts_ecr))
                goto bad;
            out->present |= SS_TCPOPT_TS;
            break;
        case 34:
            out->present |= SS_TCPOPT_TFO;
            out->tfo_cookie_len = (uint8_t)(olen - 2);
            break;
        default:
            if (out->nunknown < SS_TCP_MAX_UNKNOWN_OPTS) {
                out->unknown[out->nunknown].kind = kind;
                out->unknown[out->nunknown].len = olen;
                out->nunknown++;
            }
            break;
        }
        continue;
    bad:
        out->malformed = true;
        return SS_PKT_INVALID;
    }
    return 0;
}

static int decode_tcp(ss_packet_t *pkt, ss_cursor_t *c)
{
    ss_tcp_hdr_t *t = &pkt->tcp;
    uint16_t offflags;
    pkt->l4 = SS_L4_TCP;
    if (ss_cur_left(c) >= 4)
        pkt->ports_valid = true;
    if (!ss_cur_u16(c, &t->sport) || !ss_cur_u16(c, &t->dport) || !ss_cur_u32(c, &t->seq) ||
        !ss_cur_u32(c, &t->ack) || !ss_cur_u16(c, &offflags) || !ss_cur_u16(c, &t->win) ||
        !ss_cur_u16(c, &t->csum) || !ss_cur_u16(c, &t->urp)) {
        /* A header cut by the IP length is invalid; one cut by the snaplen, truncated. */
        if (pkt->l4_len < 20)
            return ss_dec_invalid(pkt, SS_DP_TCP_SHORT);
        return ss_dec_trunc(pkt, "tcp");
    }
    t->doff = (uint8_t)(offflags >> 12);
    t->flags = offflags & 0x01FF;
    uint32_t hlen = (uint32_t)t->doff * 4;
    if (hlen < 20)
        return ss_dec_invalid(pkt, SS_DP_TCP_DOFF);
    if (hlen > pkt->l4_len)
        return ss_dec_invalid(pkt, SS_DP_TCP_SHORT);
    /* The payload is bounded by the IP length, even when the options were cut by the capture. */
    pkt->payload_off = pkt->l4_off + hlen;
    pkt->payload_len = pkt->l4_len - hlen;
    ss_cursor_t opts;
    if (!ss_cur_sub(c, hlen - 20, &opts)) {
        ss_decode_tcp_options(ss_cur_ptr(c), ss_cur_left(c), &t->opts);
        t->opts.malformed = false; /* cut short by the capture, not malformed */
        return ss_dec_trunc(pkt, "tcp options");
    }
    if (ss_decode_tcp_options(opts.p, opts.len, &t->opts) != 0)
        ss_dec_invalid(pkt, SS_DP_TCP_OPTIONS); /* the header itself is still usable */
    return 0;
}

static int decode_udp(ss_packet_t *pkt, ss_cursor_t *c)
{
    ss_udp_hdr_t *u = &pkt->udp;
    pkt->l4 = SS_L4_UDP;
    if (ss_cur_left(c) >= 4)
        pkt->ports_valid = true;
    if (!ss_cur_u16(c, &u->sport) || !ss_cur_u16(c, &u->dport) || !ss_cur_u16(c, &u->len) ||
        !ss_cur_u16(c, &u->csum)) {
        if (pkt->l4_len < 8)
            return ss_dec_invalid(pkt, SS_DP_UDP_LEN);
        return ss_dec_trunc(pkt, "udp");
    }
    pkt->payload_off = pkt->l4_off + 8;
    if (pkt->flags & SS_PKT_FRAGMENT) {
        /* A first fragment: the UDP length covers the whole datagram, not this piece. */
        pkt->payload_len = pkt->l4_len - 8;
    } else if (u->len == 0 && (pkt->flags & SS_PKT_TSO)) {
        pkt->payload_len = pkt->l4_len - 8; /* jumbogram: length from IP */
    } else if (u->len < 8 || u->len > pkt->l4_len) {
        pkt->payload_len = pkt->l4_len >= 8 ? pkt->l4_len - 8 : 0;
        return ss_dec_invalid(pkt, SS_DP_UDP_LEN);
    } else {
        pkt->payload_len = (uint32_t)u->len - 8;
    }
    return 0;
}

/* ICMP error messages quote the offending datagram; decode its addresses, ports and TCP numbers. */
static void decode_quoted(ss_packet_t *pkt, ss_cursor_t *c)
{
    ss_quoted_t *q = &pkt->quoted;
    uint8_t first;
    size_t start = c->off;
    if (!ss_cur_skip(c, 6) || !ss_cur_u8(c, &first)) /* rest of the ICMP header */
        return;
    c->off = start + 6;
    if ((first >> 4) == 4 && pkt->l4 == SS_L4_ICMP) {
        uint8_t vihl;
        if (!ss_cur_u8(c, &vihl) || !ss_cur_skip(c, 8) || !ss_cur_u8(c, &q->proto) ||
            !ss_cur_skip(c, 2))
            return;
        q->src.family = q->dst.family = 4;
        if (!ss_cur_bytes(c, q->src.a, 4) || !ss_cur_bytes(c, q->dst.a, 4))
            return;
        if ((vihl & 0x0F) < 5 || !ss_cur_skip(c, (size_t)(vihl & 0x0F) * 4 - 20))
            return;
    } else if ((first >> 4) == 6 && pkt->l4 == SS_L4_ICMPV6) {
        if (!ss_cur_skip(c, 6) || !ss_cur_u8(c, &q->proto) || !ss_cur_skip(c, 1))
            return;
        q->src.family = q->dst.family = 6;
        if (!ss_cur_bytes(c, q->src.a, 16) || !ss_cur_bytes(c, q->dst.a, 16))
            return;
    } else {
        return;
    }
    if (q->proto != 6 && q->proto != 17)
        return;
    if (!ss_cur_u16(c, &q->sport) || !ss_cur_u16(c, &q->dport))
        return;
    q->valid = true;
    if (q->proto == 6 && ss_cur_u32(c, &q->seq)) {
        uint16_t offflags;
        q->has_seq = true;
        if (ss_cur_u32(c, &q->ack) && ss_cur_u16(c, &offflags)) {
            q->has_ack = true;
            q->flags = offflags & 0x01FF;
        }
    }
}

static bool icmp_is_error(const ss_packet_t *pkt)
{
    if (pkt->l4 == SS_L4_ICMP)
        return pkt->icmp_type == 3 || pkt->icmp_type == 4 || pkt->icmp_type == 5 ||
               pkt->icmp_type == 11 || pkt->icmp_type == 12;
    return pkt->icmp_type >= 1 && pkt->icmp_type <= 4;
}

int ss_dec_transport(ss_packet_t *pkt)
{
    const ss_frame_t *f = pkt->frame;
    /* The cursor covers the transport bytes that are both declared by IP and captured. */
    uint32_t cap_end = pkt->l4_off + pkt->l4_len;
    if (cap_end > f->caplen)
        cap_end = f->caplen;
    if (pkt->l4_off > cap_end)
        cap_end = pkt->l4_off;
    ss_cursor_t c = ss_cursor(f->data + (pkt->l4_off <= f->caplen ? pkt->l4_off : f->caplen),
                              pkt->l4_off <= f->caplen ? cap_end - pkt->l4_off : 0);
    int rc;
    switch (pkt->ip_proto) {
    case 6:
        rc = decode_tcp(pkt, &c);
        break;
    case 17:
        rc = decode_udp(pkt, &c);
        break;
    case 1:
    case 58:
        pkt->l4 = pkt->ip_proto == 1 ? SS_L4_ICMP : SS_L4_ICMPV6;
        if (!ss_cur_u8(&c, &pkt->icmp_type) || !ss_cur_u8(&c, &pkt->icmp_code))
            return ss_dec_trunc(pkt, pkt->ip_proto == 1 ? "icmp" : "icmpv6");
        if (icmp_is_error(pkt))
            decode_quoted(pkt, &c);
        return 0;
    default:
        pkt->l4 = SS_L4_OTHER;
        return 0;
    }
    if (pkt->payload_off) {
        uint32_t have = f->caplen > pkt->payload_off ? f->caplen - pkt->payload_off : 0;
        pkt->payload_caplen = have < pkt->payload_len ? have : pkt->payload_len;
        if (pkt->payload_caplen < pkt->payload_len && !(pkt->flags & SS_PKT_TRUNCATED))
            pkt->flags |= SS_PKT_SHORT_DATA;
    }
    return rc;
}

void ss_decode_reassembled(ss_packet_t *pkt, const uint8_t *hdr, size_t hdrlen, uint32_t l4_len)
{
    ss_frame_t f = {.data = hdr, .caplen = (uint32_t)hdrlen, .wirelen = (uint32_t)hdrlen,
                    .linktype = pkt->frame->linktype, .number = pkt->frame->number};
    ss_packet_t tmp = *pkt;
    tmp.frame = &f;
    tmp.flags &= ~(uint32_t)(SS_PKT_FRAGMENT | SS_PKT_TRUNCATED | SS_PKT_SHORT_DATA);
    tmp.l4_off = 0;
    tmp.l4_len = l4_len;
    tmp.frag_offset = 0;
    tmp.frag_more = false;
    ss_dec_transport(&tmp);
    /* Back to the real frame: the header bytes are not in it, nor is the payload. */
    tmp.frame = pkt->frame;
    tmp.flags |= SS_PKT_REASSEMBLED;
    tmp.flags &= ~(uint32_t)SS_PKT_SHORT_DATA;
    tmp.payload_caplen = 0;
    tmp.payload_off = 0;
    tmp.l4_off = 0;
    *pkt = tmp;
}
