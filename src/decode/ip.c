/* ip.c - IPv4 (with options and fragments) and IPv6 (with extension headers). */
#include "internal.h"

/* Bytes the frame had on the wire from `off` on (never less than captured). */
static uint32_t wire_left(const ss_frame_t *f, uint32_t off)
{
    uint32_t total = f->wirelen > f->caplen ? f->wirelen : f->caplen;
    return off <= total ? total - off : 0;
}

/*
 * The IP length fields bound everything above IP: Ethernet pads short
 * frames to 60 bytes, and those padding bytes are not payload. A length
 * larger than the frame itself is clamped to what the wire carried.
 */
static void set_l4_bounds(ss_packet_t *pkt, uint32_t l4_off, uint32_t ip_end)
{
    uint32_t wire_end = pkt->l3_off + wire_left(pkt->frame, pkt->l3_off);
    if (ip_end > wire_end)
        ip_end = wire_end;
    if (pkt->link_end && ip_end > pkt->link_end)
        ip_end = pkt->link_end;
    pkt->l4_off = l4_off;
    pkt->l4_len = ip_end > l4_off ? ip_end - l4_off : 0;
}

static int decode_ipv4(ss_packet_t *pkt, uint32_t off)
{
    const ss_frame_t *f = pkt->frame;
    ss_cursor_t c = ss_cursor(f->data, f->caplen);
    uint8_t vihl, tos, ttl, proto;
    uint16_t totlen, id, frag, csum;

    c.off = off;
    if (!ss_cur_u8(&c, &vihl))
        return ss_dec_trunc(pkt, "ipv4");
    if ((vihl >> 4) != 4)
        return ss_dec_invalid(pkt, SS_DP_IP_VERSION);
    pkt->l3 = SS_L3_IPV4;
    pkt->l3_off = off;
    if (!ss_cur_u8(&c, &tos) || !ss_cur_u16(&c, &totlen) || !ss_cur_u16(&c, &id) ||
        !ss_cur_u16(&c, &frag) || !ss_cur_u8(&c, &ttl) || !ss_cur_u8(&c, &proto) ||
        !ss_cur_u16(&c, &csum))
        return ss_dec_trunc(pkt, "ipv4");
    pkt->src.family = pkt->dst.family = 4;
    if (!ss_cur_bytes(&c, pkt->src.a, 4) || !ss_cur_bytes(&c, pkt->dst.a, 4))
        return ss_dec_trunc(pkt, "ipv4");
    pkt->tos = tos;
    pkt->ip_id = id;
    pkt->ttl = ttl;
    pkt->ip_proto = proto;
    pkt->ip_csum = csum;
    pkt->frag_offset = (uint16_t)((frag & 0x1FFF) * 8);
    pkt->frag_more = (frag & 0x2000) != 0;

    uint32_t ihl = (uint32_t)(vihl & 0x0F) * 4;
    pkt->ip_hdr_len = (uint16_t)ihl;
    if (ihl < 20)
        return ss_dec_invalid(pkt, SS_DP_IPV4_IHL);
    if (ihl > 20)
        pkt->flags |= SS_PKT_IP_OPTIONS;
    if (totlen == 0) {
        /* TSO / BIG TCP: the sender left the length to the hardware. */
        pkt->flags |= SS_PKT_TSO;
        pkt->ip_len = wire_left(f, off);
    } else {
        pkt->ip_len = totlen;
        if (totlen < ihl)
            return ss_dec_invalid(pkt, SS_DP_IPV4_TOTLEN);
    }
    if (!ss_cur_skip(&c, ihl - 20))
        return ss_dec_trunc(pkt, "ipv4 options");
    if (pkt->frag_offset != 0 || pkt->frag_more)
        pkt->flags |= SS_PKT_FRAGMENT;
    set_l4_bounds(pkt, off + ihl, off + pkt->ip_len);
    if (pkt->frag_offset != 0) {
        /* A later fragment holds the middle of a datagram: no transport header here. */
        pkt->l4 = SS_L4_NONE;
        return 0;
    }
    return ss_dec_transport(pkt);
}

static bool ipv6_is_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51 || nh == 135 || nh == 139 ||
           nh == 140;
}

static int decode_ipv6(ss_packet_t *pkt, uint32_t off)
{
    const ss_frame_t *f = pkt->frame;
    ss_cursor_t c = ss_cursor(f->data, f->caplen);
    uint32_t vtcfl;
    uint16_t plen;
    uint8_t nh, hlim;

    c.off = off;
    if (!ss_cur_u32(&c, &vtcfl)) {
        if (off < f->caplen && (f->data[off] >> 4) != 6)
            return ss_dec_invalid(pkt, SS_DP_IP_VERSION);
        return ss_dec_trunc(pkt, "ipv6");
    }
    if ((vtcfl >> 28) != 6)
        return ss_dec_invalid(pkt, SS_DP_IP_VERSION);
    pkt->l3 = SS_L3_IPV6;
    pkt->l3_off = off;
    if (!ss_cur_u16(&c, &plen) || !ss_cur_u8(&c, &nh) || !ss_cur_u8(&c, &hlim))
        return ss_dec_trunc(pkt, "ipv6");
    pkt->src.family = pkt->dst.family = 6;
    if (!ss_cur_bytes(&c, pkt->src.a, 16) || !ss_cur_bytes(&c, pkt->dst.a, 16))
        return ss_dec_trunc(pkt, "ipv6");
    pkt->tos = (uint8_t)((vtcfl >> 20) & 0xFF);
    pkt->ttl = hlim;

    uint32_t payload = plen; /* bytes after the fixed 40-byte header */
    bool jumbo = false;
    /* Walk the extension header chain; each is bounds-checked and the walk is bounded. */
    for (int n = 0; ipv6_is_ext(nh); n++) {
        uint8_t next, hlen8;
        size_t start = c.off;
        if (n >= 16)
            return ss_dec_invalid(pkt, SS_DP_IPV6_EXTHDR);
        if (!ss_cur_u8(&c, &next) || !ss_cur_u8(&c, &hlen8))
            return ss_dec_trunc(pkt, "ipv6 extension header");
        size_t len;
        if (nh == 44) {
            uint16_t fo;
            uint32_t ident;
            if (!ss_cur_u16(&c, &fo) || !ss_cur_u32(&c, &ident))
                return ss_dec_trunc(pkt, "ipv6 fragment header");
            pkt->frag_offset = (uint16_t)(fo & 0xFFF8);
            pkt->frag_more = (fo & 1) != 0;
            pkt->ip_id = (uint16_t)ident;
            len = 8;
            /* An atomic fragment (offset 0, no more fragments) is a whole datagram. */
            if (pkt->frag_offset != 0 || pkt->frag_more)
                pkt->flags |= SS_PKT_FRAGMENT;
        } else if (nh == 51) {
            len = ((size_t)hlen8 + 2) * 4; /* AH counts 4-byte words */
        } else {
            len = ((size_t)hlen8 + 1) * 8;
            if (nh == 0 && plen == 0) {
                /* Hop-by-hop options may hold a jumbo payload length (RFC 2675). */
                ss_cursor_t o = ss_cursor(f->data + start, 0);
                if (start + len <= f->caplen) {
                    o = ss_cursor(f->data + start + 2, len - 2);
                    while (ss_cur_left(&o) > 0) {
                        uint8_t ot, ol;
                        if (!ss_cur_u8(&o, &ot))
                            break;
                        if (ot == 0) /* Pad1 */
                            continue;
                        if (!ss_cur_u8(&o, &ol))
                            break;
                        uint32_t jl;
                        if (ot == 0xC2 && ol == 4 && ss_cur_u32(&o, &jl)) {
                            payload = jl;
                            jumbo = true;
                            break;
                        }
                        if (!ss_cur_skip(&o, ol))
                            break;
                    }
                }
            }
        }
        c.off = start;
        if (!ss_cur_skip(&c, len))
            return ss_dec_trunc(pkt, "ipv6 extension header");
        nh = next;
        if (pkt->frag_offset != 0)
            break; /* what follows a non-first fragment header is not a header */
    }
    if (plen == 0 && !jumbo && nh != 59) {
        /* No length at all: a GSO/BIG TCP packet whose length is the frame's. */
        pkt->flags |= SS_PKT_TSO;
        payload = wire_left(f, off) >= 40 ? wire_left(f, off) - 40 : 0;
    } else if (jumbo) {
        pkt->flags |= SS_PKT_TSO;
    }
    pkt->ip_proto = nh;
    pkt->ip_len = 40 + payload;
    uint32_t hdr = (uint32_t)(c.off - off);
    pkt->ip_hdr_len = (uint16_t)(hdr > 0xFFFF ? 0xFFFF : hdr);
    if (hdr > pkt->ip_len)
        return ss_dec_invalid(pkt, SS_DP_IPV6_EXTHDR);
    set_l4_bounds(pkt, off + hdr, off + pkt->ip_len);
    if (pkt->frag_offset != 0) {
        pkt->l4 = SS_L4_NONE;
        return 0;
    }
    return ss_dec_transport(pkt);
}

int ss_dec_ip(ss_packet_t *pkt, uint32_t off, int version)
{
    const ss_frame_t *f = pkt->frame;
    if (version == 0) {
        if (off >= f->caplen)
            return ss_dec_trunc(pkt, "ip");
        version = f->data[off] >> 4;
        if (version != 4 && version != 6) {
            pkt->l3 = SS_L3_OTHER;
            return ss_dec_invalid(pkt, SS_DP_IP_VERSION);
        }
    }
    return version == 4 ? decode_ipv4(pkt, off) : decode_ipv6(pkt, off);
}
