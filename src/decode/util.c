/* util.c - names, address formatting and checksum verification for decoded packets. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *ss_decode_problem_str(ss_decode_problem_t p)
{
    static const char *const text[] = {
#define SS_DP_TEXT(name, t) t,
        SS_DECODE_PROBLEMS(SS_DP_TEXT)
#undef SS_DP_TEXT
    };
    return (unsigned)p < SS_DP_COUNT_ ? text[p] : "unknown problem";
}

const char *ss_addr_str(const ss_addr_t *a, char *buf, size_t buflen)
{
    if (buflen == 0)
        return buf;
    buf[0] = '\0';
    if (a->family == 4) {
        /* inet_ntop's text, written here (the summary writes two addresses per row, twice) */
        char t[16], *p = t;
        for (int i = 0; i < 4; i++) {
            unsigned v = a->a[i];
            if (i)
                *p++ = '.';
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
        }
        size_t len = (size_t)(p - t);
        if (len < buflen) { /* as inet_ntop: nothing when it does not fit */
            memcpy(buf, t, len);
            buf[len] = '\0';
        }
    } else if (a->family == 6)
        inet_ntop(AF_INET6, a->a, buf, (socklen_t)buflen);
    return buf;
}

static const char *ip_proto_name(uint8_t p)
{
    switch (p) {
    case 2: return "igmp";
    case 4: return "ipip";
    case 41: return "ipv6-in-ip";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 89: return "ospf";
    case 103: return "pim";
    case 112: return "vrrp";
    case 132: return "sctp";
    default: return NULL;
    }
}

const char *ss_decode_proto_name(const ss_packet_t *pkt, char *buf, size_t buflen)
{
    const char *n = NULL;
    switch (pkt->l4) {
    case SS_L4_TCP: n = "tcp"; break;
    case SS_L4_UDP: n = "udp"; break;
    case SS_L4_ICMP: n = "icmp"; break;
    case SS_L4_ICMPV6: n = "icmpv6"; break;
    case SS_L4_OTHER:
        n = ip_proto_name(pkt->ip_proto);
        if (!n) {
            snprintf(buf, buflen, "ip-proto-%u", pkt->ip_proto);
            return buf;
        }
        break;
    case SS_L4_NONE:
        break;
    }
    if (n)
        return n;
    switch (pkt->l3) {
    case SS_L3_IPV4: return "ipv4";
    case SS_L3_IPV6: return "ipv6";
    case SS_L3_ARP: return "arp";
    case SS_L3_OTHER:
        if (pkt->ethertype == 0x88CC) return "lldp";
        if (pkt->ethertype == 0x8863) return "pppoed";
        if (pkt->ethertype == 0x8847 || pkt->ethertype == 0x8848) return "mpls";
        if (pkt->ethertype) {
            snprintf(buf, buflen, "ethertype-0x%04x", pkt->ethertype);
            return buf;
        }
        return pkt->frame && pkt->frame->linktype == SS_LINK_ETHERNET ? "llc" : "other";
    case SS_L3_NONE:
        break;
    }
    return "unknown";
}

/* Ones' complement sum of big-endian 16-bit words, not yet folded. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)((p[i] << 8) | p[i + 1]);
    if (i < n)
        acc += (uint32_t)(p[i] << 8);
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint16_t)acc;
}

const char *ss_csum_status_str(ss_csum_status_t s)
{
    switch (s) {
    case SS_CSUM_GOOD: return "good";
    case SS_CSUM_BAD: return "bad";
    case SS_CSUM_OFFLOAD: return "unverified (offload)";
    case SS_CSUM_UNVERIFIABLE: return "unverifiable (not fully captured)";
    case SS_CSUM_NOT_CHECKED: break;
    }
    return "not checked";
}

void ss_checksum_verify(const ss_packet_t *pkt, ss_csum_result_t *out)
{
    const ss_frame_t *f = pkt->frame;
    memset(out, 0, sizeof(*out));
    if (pkt->l3 == SS_L3_IPV4 && pkt->ip_hdr_len >= 20) {
        if ((uint32_t)pkt->l3_off + pkt->ip_hdr_len <= f->caplen)
            out->ip = fold(sum16(f->data + pkt->l3_off, pkt->ip_hdr_len, 0)) == 0xFFFF
                          ? SS_CSUM_GOOD
                          : SS_CSUM_BAD;
        else
            out->ip = SS_CSUM_UNVERIFIABLE;
    }
    if ((pkt->l4 != SS_L4_TCP && pkt->l4 != SS_L4_UDP) || (pkt->flags & SS_PKT_FRAGMENT) ||
        pkt->payload_off == 0)
        return;
    if (pkt->l4 == SS_L4_UDP && pkt->udp.csum == 0 && pkt->l3 == SS_L3_IPV4)
        return; /* UDP over IPv4 may omit its checksum */
    uint32_t l4len = pkt->l4 == SS_L4_UDP ? pkt->payload_len + 8 : pkt->l4_len;
    if ((uint64_t)pkt->l4_off + l4len > f->caplen) {
        out->l4 = SS_CSUM_UNVERIFIABLE;
        return;
    }
    /* RFC 793 / RFC 8200 pseudo-header: addresses, protocol, transport length. */
    uint32_t pseudo = 0;
    size_t alen = pkt->src.family == 4 ? 4 : 16;
    pseudo = sum16(pkt->src.a, alen, pseudo);
    pseudo = sum16(pkt->dst.a, alen, pseudo);
    pseudo += pkt->l4 == SS_L4_TCP ? 6u : 17u;
    pseudo += (l4len >> 16) + (l4len & 0xFFFF);
    uint32_t all = sum16(f->data + pkt->l4_off, l4len, pseudo);
    uint16_t field = pkt->l4 == SS_L4_TCP ? pkt->tcp.csum : pkt->udp.csum;
    if (fold(all) == 0xFFFF) {
        out->l4 = SS_CSUM_GOOD;
        return;
    }
    /* The value the field should hold: the complement of the sum without it. */
    uint16_t expected = (uint16_t)~fold(all + (uint16_t)~field);
    if (pkt->l4 == SS_L4_UDP && expected == 0)
        expected = 0xFFFF;
    out->l4_expected = expected;
    /*
     * With checksum offload (and always on Linux loopback) the kernel stores
     * only the pseudo-header sum and leaves the rest to the hardware, so the
     * captured packet carries that partial value.
     */
    out->l4 = field == fold(pseudo) ? SS_CSUM_OFFLOAD : SS_CSUM_BAD;
}
