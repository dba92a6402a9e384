/* link.c - link-layer decoding: Ethernet (+VLAN, PPPoE), NULL/LOOP, SLL, SLL2, raw IP, NFLOG. */
#include <string.h>

#include "internal.h"

#define ETH_IPV4 0x0800
#define ETH_ARP 0x0806
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100
#define ETH_PPPOE_SESSION 0x8864

static int dispatch_ethertype(ss_packet_t *pkt, ss_cursor_t *c, uint16_t type)
{
    pkt->ethertype = type;
    switch (type) {
    case ETH_IPV4:
        return ss_dec_ip(pkt, (uint32_t)c->off, 4);
    case ETH_IPV6:
        return ss_dec_ip(pkt, (uint32_t)c->off, 6);
    case ETH_ARP:
        pkt->l3 = SS_L3_ARP;
        return 0;
    default:
        pkt->l3 = SS_L3_OTHER;
        return 0;
    }
}

/* PPPoE session stage (RFC 2516) carrying PPP; only IPv4/IPv6 are followed. */
static int decode_pppoe(ss_packet_t *pkt, ss_cursor_t *c)
{
    uint8_t vt, code;
    uint16_t session, len, proto;
    if (!ss_cur_u8(c, &vt) || !ss_cur_u8(c, &code) || !ss_cur_u16(c, &session) ||
        !ss_cur_u16(c, &len))
        return ss_dec_trunc(pkt, "pppoe");
    (void)session;
    if (vt != 0x11 || code != 0)
        return ss_dec_invalid(pkt, SS_DP_PPPOE);
    if (!ss_cur_u16(c, &proto))
        return ss_dec_trunc(pkt, "ppp");
    pkt->pppoe = true;
    /* The PPPoE length covers the PPP protocol field and what follows it. */
    pkt->link_end = (uint32_t)(c->off - 2 + len);
    if (proto == 0x0021)
        return ss_dec_ip(pkt, (uint32_t)c->off, 4);
    if (proto == 0x0057)
        return ss_dec_ip(pkt, (uint32_t)c->off, 6);
    pkt->l3 = SS_L3_OTHER;
    return 0;
}

static int decode_ethernet(ss_packet_t *pkt, ss_cursor_t *c)
{
    uint16_t type;
    if (!ss_cur_skip(c, 12) || !ss_cur_u16(c, &type))
        return ss_dec_trunc(pkt, "ethernet");
    /* 802.1Q / 802.1ad tags, at most a few deep; the tag's TCI holds the VLAN id. */
    for (int depth = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD; depth++) {
        uint16_t tci;
        if (depth >= 4)
            return ss_dec_invalid(pkt, SS_DP_LINK_HEADER);
        if (!ss_cur_u16(c, &tci) || !ss_cur_u16(c, &type))
            return ss_dec_trunc(pkt, "vlan");
        if (pkt->vlan_count < 2)
            pkt->vlan_id[pkt->vlan_count] = tci & 0x0FFF;
        pkt->vlan_count++;
    }
    if (type <= 1500) { /* an 802.3 length field: LLC follows, not IP */
        pkt->ethertype = 0;
        pkt->l3 = SS_L3_OTHER;
        return 0;
    }
    if (type == ETH_PPPOE_SESSION) {
        pkt->ethertype = type;
        return decode_pppoe(pkt, c);
    }
    return dispatch_ethertype(pkt, c, type);
}

/* BSD loopback: a 4-byte address family in the byte order of the host that captured. */
static int decode_null(ss_packet_t *pkt, ss_cursor_t *c, bool network_order)
{
    uint32_t fam;
    if (!(network_order ? ss_cur_u32(c, &fam) : ss_cur_u32_le(c, &fam)))
        return ss_dec_trunc(pkt, "loopback");
    if (!network_order && (fam & 0xFFFF0000u) && !(fam & 0x0000FFFFu))
        fam >>= 24; /* written big-endian by the capturing host */
    switch (fam) {
    case 2:
        return ss_dec_ip(pkt, (uint32_t)c->off, 4);
    case 10: /* Linux */
    case 24: /* NetBSD, OpenBSD, BSD/OS */
    case 28: /* FreeBSD */
    case 30: /* Darwin */
        return ss_dec_ip(pkt, (uint32_t)c->off, 6);
    default:
        pkt->l3 = SS_L3_OTHER;
        return 0;
    }
}

static int decode_sll(ss_packet_t *pkt, ss_cursor_t *c)
{
    uint16_t proto;
    if (!ss_cur_skip(c, 14) || !ss_cur_u16(c, &proto))
        return ss_dec_trunc(pkt, "sll");
    return dispatch_ethertype(pkt, c, proto);
}

static int decode_sll2(ss_packet_t *pkt, ss_cursor_t *c)
{
    uint16_t proto;
    if (!ss_cur_u16(c, &proto) || !ss_cur_skip(c, 18))
        return ss_dec_trunc(pkt, "sll2");
    return dispatch_ethertype(pkt, c, proto);
}

/*
 * NFLOG: family, version, resource id, then TLVs whose length and type are
 * in the capturing host's byte order (little-endian on every host that
 * writes these files in practice). NFULA_PAYLOAD (9) holds the IP packet.
 */
static int decode_nflog(ss_packet_t *pkt, ss_cursor_t *c)
{
    uint8_t family, version;
    if (!ss_cur_u8(c, &family) || !ss_cur_u8(c, &version) || !ss_cur_skip(c, 2))
        return ss_dec_trunc(pkt, "nflog");
    for (;;) {
        uint16_t tlen, ttype;
        size_t start = c->off;
        if (!ss_cur_u16_le(c, &tlen) || !ss_cur_u16_le(c, &ttype))
            return ss_dec_trunc(pkt, "nflog");
        if (tlen < 4)
            return ss_dec_invalid(pkt, SS_DP_LINK_HEADER);
        if ((ttype & 0x7FFF) == 9) {
            if (family == 2)
                return ss_dec_ip(pkt, (uint32_t)c->off, 4);
            if (family == 10)
                return ss_dec_ip(pkt, (uint32_t)c->off, 6);
            pkt->l3 = SS_L3_OTHER;
            return 0;
        }
        size_t padded = ((size_t)tlen + 3u) & ~(size_t)3u;
        c->off = start;
        if (!ss_cur_skip(c, padded))
            return ss_dec_trunc(pkt, "nflog");
    }
}

int ss_decode(const ss_frame_t *frame, ss_packet_t *pkt)
{
    ss_clear(pkt, sizeof(*pkt));
    pkt->frame = frame;
    ss_cursor_t c = ss_cursor(frame->data, frame->caplen);
    int rc;

    switch (frame->linktype) {
    case SS_LINK_ETHERNET:
        rc = decode_ethernet(pkt, &c);
        break;
    case SS_LINK_NULL:
        rc = decode_null(pkt, &c, false);
        break;
    case SS_LINK_LOOP:
        rc = decode_null(pkt, &c, true);
        break;
    case SS_LINK_LINUX_SLL:
        rc = decode_sll(pkt, &c);
        break;
    case SS_LINK_LINUX_SLL2:
        rc = decode_sll2(pkt, &c);
        break;
    case SS_LINK_RAW:
        rc = ss_dec_ip(pkt, 0, 0);
        break;
    case SS_LINK_IPV4:
        rc = ss_dec_ip(pkt, 0, 4);
        break;
    case SS_LINK_IPV6:
        rc = ss_dec_ip(pkt, 0, 6);
        break;
    case SS_LINK_NFLOG:
        rc = decode_nflog(pkt, &c);
        break;
    default:
        rc = ss_dec_invalid(pkt, SS_DP_LINK_UNSUPPORTED);
        break;
    }
    return rc;
}
