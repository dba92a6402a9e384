/* decode.h - pure, allocation-free decoding of one captured frame. */
#ifndef SEGSCOPE_DECODE_H
#define SEGSCOPE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link-layer header types (the LINKTYPE_* values of pcap and pcapng). */
#define SS_LINK_NULL 0
#define SS_LINK_ETHERNET 1
#define SS_LINK_RAW 101
#define SS_LINK_LOOP 108
#define SS_LINK_LINUX_SLL 113
#define SS_LINK_IPV4 228
#define SS_LINK_IPV6 229
#define SS_LINK_NFLOG 239
#define SS_LINK_LINUX_SLL2 276

/*
 * One captured frame as the capture source hands it over. `data` is
 * borrowed: it stays valid only until the source reads the next frame.
 */
typedef struct ss_frame {
    const uint8_t *data;
    uint32_t caplen;  /* bytes present in data */
    uint32_t wirelen; /* bytes the frame had on the wire */
    int64_t ts_sec;   /* capture time, seconds since the epoch */
    uint32_t ts_nsec; /* and nanoseconds */
    int linktype;     /* SS_LINK_* or any other LINKTYPE_ value */
    uint64_t number;  /* 1-based position in the capture */
} ss_frame_t;

typedef enum {
    SS_L3_NONE = 0, /* the link layer could not be decoded */
    SS_L3_IPV4,
    SS_L3_IPV6,
    SS_L3_ARP,
    SS_L3_OTHER /* another ethertype: see ss_packet_t.ethertype */
} ss_l3_t;

typedef enum {
    SS_L4_NONE = 0, /* no transport header decoded (fragment, truncated, ...) */
    SS_L4_TCP,
    SS_L4_UDP,
    SS_L4_ICMP,
    SS_L4_ICMPV6,
    SS_L4_OTHER /* another IP protocol: see ss_packet_t.ip_proto */
} ss_l4_t;

/* Why a packet could not be decoded completely. */
#define SS_DECODE_PROBLEMS(X)                                                        \
    X(NONE, "")                                                                      \
    X(LINK_UNSUPPORTED, "link-layer type not supported")                             \
    X(LINK_HEADER, "malformed link-layer header")                                   \
    X(IP_VERSION, "IP version field does not match the link layer's protocol")      \
    X(IPV4_IHL, "IPv4 header length below 20 bytes")                                \
    X(IPV4_TOTLEN, "IPv4 total length smaller than its header")                     \
    X(IPV6_EXTHDR, "malformed IPv6 extension header")                               \
    X(IPV6_JUMBO, "malformed IPv6 jumbo payload")                                   \
    X(TCP_DOFF, "TCP data offset below 5 (header shorter than 20 bytes)")          \
    X(TCP_SHORT, "IP payload shorter than the TCP header")                          \
    X(TCP_OPTIONS, "malformed TCP option")                                          \
    X(UDP_LEN, "UDP length field inconsistent with the IP payload")                 \
    X(PPPOE, "malformed PPPoE header")

typedef enum {
#define SS_DP_ENUM(name, text) SS_DP_##name,
    SS_DECODE_PROBLEMS(SS_DP_ENUM)
#undef SS_DP_ENUM
    SS_DP_COUNT_
} ss_decode_problem_t;

/* Returns the English text for a decode problem. */
const char *ss_decode_problem_str(ss_decode_problem_t p);

/* TCP header flag bits, as in the 16-bit word at offset 12 (low 9 bits). */
#define SS_TCP_FIN 0x001
#define SS_TCP_SYN 0x002
#define SS_TCP_RST 0x004
#define SS_TCP_PSH 0x008
#define SS_TCP_ACK 0x010
#define SS_TCP_URG 0x020
#define SS_TCP_ECE 0x040
#define SS_TCP_CWR 0x080
#define SS_TCP_AE 0x100 /* accurate ECN (RFC 9768); formerly NS */

/* Which TCP options a packet carried. */
#define SS_TCPOPT_MSS 0x01
#define SS_TCPOPT_WSCALE 0x02
#define SS_TCPOPT_SACKOK 0x04
#define SS_TCPOPT_SACK 0x08
#define SS_TCPOPT_TS 0x10
#define SS_TCPOPT_TFO 0x20
#define SS_TCPOPT_EOL 0x40

#define SS_TCP_MAX_SACK 4
#define SS_TCP_MAX_UNKNOWN_OPTS 8

typedef struct ss_tcp_opts {
    uint32_t present; /* SS_TCPOPT_* bits */
    uint16_t mss;
    uint8_t wscale;   /* shift as sent (may exceed 14: the receiver clamps) */
    uint8_t nsack;    /* SACK blocks kept (at most SS_TCP_MAX_SACK) */
    uint32_t sack[SS_TCP_MAX_SACK][2]; /* raw left, right edges */
    uint32_t ts_val, ts_ecr;
    uint8_t tfo_cookie_len; /* 0 = cookie request */
    uint8_t nop_count;
    uint8_t nunknown;
    struct {
        uint8_t kind, len;
    } unknown[SS_TCP_MAX_UNKNOWN_OPTS];
    bool malformed; /* an option's length was impossible; parsing stopped there */
    uint8_t norder;    /* option kinds in wire order (NOP and EOL included) */
    uint8_t order[40];
} ss_tcp_opts_t;

typedef struct ss_tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t doff;   /* header length in 32-bit words */
    uint16_t flags; /* SS_TCP_* */
    uint16_t win;   /* raw, unscaled */
    uint16_t csum;
    uint16_t urp;
    ss_tcp_opts_t opts;
} ss_tcp_hdr_t;

typedef struct ss_udp_hdr {
    uint16_t sport, dport;
    uint16_t len; /* the UDP length field */
    uint16_t csum;
} ss_udp_hdr_t;

typedef struct ss_addr {
    uint8_t family; /* 4 or 6; 0 = none */
    uint8_t a[16];  /* IPv4 uses the first 4 bytes */
} ss_addr_t;

/*
 * The start of the datagram an ICMP error quotes (RFC 792: its IP header
 * and at least 8 bytes, enough for the ports and the TCP sequence number).
 */
typedef struct ss_quoted {
    bool valid;        /* an IP header and the transport ports were read */
    ss_addr_t src, dst;
    uint8_t proto;     /* 6 = TCP, 17 = UDP, other */
    uint16_t sport, dport;
    bool has_seq;      /* TCP: sequence number captured */
    uint32_t seq;
    bool has_ack;      /* TCP: acknowledgment number and flags captured */
    uint32_t ack;
    uint16_t flags;
} ss_quoted_t;

/* Flags in ss_packet_t.flags. */
#define SS_PKT_TRUNCATED 0x01  /* the capture ended inside a header */
#define SS_PKT_SHORT_DATA 0x02 /* headers complete, payload partly captured */
#define SS_PKT_INVALID 0x04    /* a field contradicts itself; see problem */
#define SS_PKT_FRAGMENT 0x08   /* an IP fragment (offset != 0 or more fragments) */
#define SS_PKT_TSO 0x10        /* IPv4 total length 0 or IPv6 jumbogram: length taken from the capture */
#define SS_PKT_IP_OPTIONS 0x20 /* IPv4 options present */
#define SS_PKT_REASSEMBLED 0x40 /* the last fragment of a datagram: its transport header came from the first */

typedef struct ss_packet {
    const ss_frame_t *frame;
    uint32_t flags; /* SS_PKT_* */
    ss_decode_problem_t problem;
    const char *truncated_in; /* layer name where the capture ended, or NULL */

    /* link layer */
    uint16_t ethertype; /* 0 when the link type carries no ethertype */
    uint8_t vlan_count;
    uint16_t vlan_id[2];
    bool pppoe;
    uint32_t link_end;  /* when non-zero: the link layer's own length ends the packet here */

    /* network layer */
    ss_l3_t l3;
    ss_addr_t src, dst;
    uint32_t l3_off;      /* offset of the IP header in the frame */
    uint16_t ip_hdr_len;  /* IPv4 IHL*4, or IPv6 40 + extension headers */
    uint32_t ip_len;      /* datagram length the IP header declares */
    uint8_t ip_proto;     /* transport protocol (after IPv6 extension headers) */
    uint8_t ttl;          /* or hop limit */
    uint16_t ip_id;       /* IPv4 identification (IPv6: low 16 bits of a fragment id) */
    uint16_t ip_csum;
    uint8_t tos;          /* IPv4 TOS / IPv6 traffic class */
    uint16_t frag_offset; /* in bytes */
    bool frag_more;

    /* transport layer */
    ss_l4_t l4;
    bool ports_valid;       /* TCP/UDP source and destination ports were captured */
    uint32_t l4_off;        /* offset of the transport header in the frame */
    uint32_t l4_len;        /* transport header + payload, from the IP length */
    ss_tcp_hdr_t tcp;
    ss_udp_hdr_t udp;
    uint8_t icmp_type, icmp_code;
    ss_quoted_t quoted;     /* ICMP errors: the datagram they refer to */
    uint32_t payload_off;   /* offset of the payload in the frame */
    uint32_t payload_len;   /* payload bytes per the IP length (never padding) */
    uint32_t payload_caplen; /* of which captured */
} ss_packet_t;

/*
 * Decodes `frame` into `pkt`. Never allocates; reads only frame->data[0,
 * caplen). Always fills what it could: the return value is 0 when every
 * header was decoded, or the SS_PKT_TRUNCATED / SS_PKT_INVALID bit that
 * stopped it (also set in pkt->flags).
 */
int ss_decode(const ss_frame_t *frame, ss_packet_t *pkt);

/*
 * Parses the TCP options area (`len` bytes after the fixed header) into
 * `out`. Returns 0, or SS_PKT_INVALID when an option's length is
 * impossible (what was parsed before it is kept, out->malformed is set).
 */
int ss_decode_tcp_options(const uint8_t *opts, size_t len, ss_tcp_opts_t *out);

/*
 * For the last fragment of a reassembled datagram: decodes the transport
 * header from `hdr` (the first fragment's transport bytes, `hdrlen` of
 * them) for a datagram whose transport part is `l4_len` bytes, into `pkt`
 * (whose network layer is already decoded). The payload is not in the
 * frame: payload_caplen is 0.
 */
void ss_decode_reassembled(ss_packet_t *pkt, const uint8_t *hdr, size_t hdrlen, uint32_t l4_len);

/* A short name for the packet's protocol: "tcp", "udp", "icmp", "arp", ... */
const char *ss_decode_proto_name(const ss_packet_t *pkt, char *buf, size_t buflen);

/* Formats an address (IPv6 in RFC 5952 form, without brackets). */
const char *ss_addr_str(const ss_addr_t *a, char *buf, size_t buflen);

/* Checksum verification (see decode/checksum.c). */
typedef enum {
    SS_CSUM_NOT_CHECKED = 0,
    SS_CSUM_GOOD,
    SS_CSUM_BAD,
    SS_CSUM_OFFLOAD,    /* field holds only the pseudo-header sum: offload left it */
    SS_CSUM_UNVERIFIABLE /* not all covered bytes were captured */
} ss_csum_status_t;

typedef struct ss_csum_result {
    ss_csum_status_t ip;  /* IPv4 header checksum (IPv6 has none: NOT_CHECKED) */
    ss_csum_status_t l4;  /* TCP or UDP checksum */
    uint16_t l4_expected; /* the correct value when l4 is BAD or OFFLOAD */
} ss_csum_result_t;

/* Verifies the IPv4, TCP and UDP checksums of a decoded packet. */
void ss_checksum_verify(const ss_packet_t *pkt, ss_csum_result_t *out);

/* Name of a checksum status ("good", "bad", "unverified (offload)", ...). */
const char *ss_csum_status_str(ss_csum_status_t s);

#endif
