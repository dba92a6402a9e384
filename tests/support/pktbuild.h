/* pktbuild.h - builds link/IP/TCP/UDP frames in memory so unit tests need no pcap files. */
#ifndef SS_TEST_PKTBUILD_H
#define SS_TEST_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segscope/analyzer.h"
#include "segscope/decode.h"
#include "segscope/sink.h"

/*
 * How the builder fills a checksum field. The default (zero) computes the
 * correct value; VALUE writes `csum_value` as given (to make it wrong);
 * OFFLOAD writes only the folded pseudo-header sum, as Linux leaves it on
 * loopback and with checksum offload (TCP/UDP only).
 */
typedef enum {
    SS_PB_CSUM_AUTO = 0,
    SS_PB_CSUM_VALUE,
    SS_PB_CSUM_OFFLOAD
} ss_pb_csum_t;

/* IPv4 header. Every zero field takes the usual default (TTL 64, IHL from the options). */
typedef struct ss_pb_ipv4 {
    uint8_t src[4], dst[4];
    uint8_t tos;
    uint8_t ttl;          /* 0 means 64 */
    uint16_t id;
    bool df;
    bool mf;              /* more fragments */
    uint16_t frag_offset; /* in bytes: must be a multiple of 8 */
    const uint8_t *options; /* written after the fixed header */
    size_t options_len;     /* a multiple of 4, at most 40 */
    uint8_t ihl;          /* 0 = computed from options_len; else written as is (may be < 5) */
    bool totlen_set;      /* write `totlen` instead of the real total length */
    uint16_t totlen;
    ss_pb_csum_t csum_mode; /* AUTO or VALUE (OFFLOAD acts as AUTO here) */
    uint16_t csum_value;
} ss_pb_ipv4_t;

/* IPv6 extension header kinds the builder writes. */
#define SS_PB_EXT_HOPOPTS 0
#define SS_PB_EXT_ROUTING 43
#define SS_PB_EXT_FRAGMENT 44
#define SS_PB_EXT_DSTOPTS 60
#define SS_PB_MAX_EXT 6

typedef struct ss_pb_ipv6_ext {
    uint8_t type;     /* SS_PB_EXT_* */
    uint8_t len8;     /* hop-by-hop/routing/destination: the Hdr Ext Len field (size (len8+1)*8) */
    /* fragment header */
    uint16_t frag_offset; /* bytes, multiple of 8 */
    bool frag_more;
    uint32_t frag_id;
} ss_pb_ipv6_ext_t;

typedef struct ss_pb_ipv6 {
    uint8_t src[16], dst[16];
    uint8_t tclass;
    uint32_t flow_label;
    uint8_t hlim; /* 0 means 64 */
    ss_pb_ipv6_ext_t ext[SS_PB_MAX_EXT];
    int next;     /* how many of ext[] are used, in order */
    bool plen_set; /* write `plen` instead of the real payload length */
    uint16_t plen;
} ss_pb_ipv6_t;

typedef struct ss_pb_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t flags; /* SS_TCP_* bits; bits 0x0E00 land in the reserved field */
    uint16_t win;
    uint16_t urp;
    const uint8_t *opts; /* options area, a multiple of 4 bytes, at most 40 */
    size_t opts_len;
    bool doff_set;       /* write `doff` instead of (20 + opts_len) / 4 */
    uint8_t doff;
    const uint8_t *payload;
    size_t payload_len;
    ss_pb_csum_t csum_mode;
    uint16_t csum_value;
} ss_pb_tcp_t;

typedef struct ss_pb_udp {
    uint16_t sport, dport;
    const uint8_t *payload;
    size_t payload_len;
    bool len_set; /* write `len` instead of 8 + payload_len */
    uint16_t len;
    ss_pb_csum_t csum_mode;
    uint16_t csum_value;
} ss_pb_udp_t;

/*
 * One IP datagram: the IP header (version 4 or 6), then either the TCP or
 * UDP segment described by `tcp`/`udp` (per `proto`), or, when `raw` is set,
 * exactly those bytes as the IP payload (ICMP, a later fragment, ...).
 */
typedef struct ss_pb_pkt {
    int ipver;     /* 4 or 6 */
    uint8_t proto; /* IP protocol number: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ... */
    ss_pb_ipv4_t v4;
    ss_pb_ipv6_t v6;
    ss_pb_tcp_t tcp;
    ss_pb_udp_t udp;
    const uint8_t *raw;
    size_t raw_len;
} ss_pb_pkt_t;

/* Shorthands: a TCP or UDP packet between two textual addresses (inet_pton syntax). */
ss_pb_pkt_t ss_pb_tcp4(const char *src, uint16_t sport, const char *dst, uint16_t dport);
ss_pb_pkt_t ss_pb_tcp6(const char *src, uint16_t sport, const char *dst, uint16_t dport);
ss_pb_pkt_t ss_pb_udp4(const char *src, uint16_t sport, const char *dst, uint16_t dport);
ss_pb_pkt_t ss_pb_udp6(const char *src, uint16_t sport, const char *dst, uint16_t dport);

/* Parses an IPv4/IPv6 address into out (4 or 16 bytes); aborts the test on a typo. */
void ss_pb_addr4(const char *s, uint8_t out[4]);
void ss_pb_addr6(const char *s, uint8_t out[16]);

/*
 * Writes the IP datagram of `p` into buf. Returns its length, or 0 when it
 * does not fit in `cap` or the description is impossible (options not a
 * multiple of 4, ...).
 */
size_t ss_pb_ip(uint8_t *buf, size_t cap, const ss_pb_pkt_t *p);

/* The link layer put around a datagram. Zero fields take defaults. */
typedef struct ss_pb_link {
    int linktype;           /* SS_LINK_ETHERNET, _LINUX_SLL(2), _NULL, _LOOP, _RAW, _IPV4, _IPV6 */
    int nvlan;              /* Ethernet: 0, 1 or 2 VLAN tags */
    uint16_t vlan[2];       /* VLAN ids, outer first */
    uint16_t vlan_tpid[2];  /* 0 = 0x8100 (with two tags the outer defaults to 0x88A8) */
    uint8_t vlan_pcp[2];    /* priority bits, to check they are not taken for the id */
    bool pppoe;             /* Ethernet: PPPoE session stage carrying PPP */
    uint16_t ethertype;     /* 0 = from the IP version (0x0800 / 0x86DD) */
    uint32_t null_family;   /* NULL/LOOP address family; 0 = 2 for IPv4, 24 for IPv6 */
    bool null_big_endian;   /* NULL: write the family big-endian (a big-endian capturing host) */
    size_t pad_to;          /* Ethernet: zero-pad the whole frame to at least this length */
} ss_pb_link_t;

/* Size of the link header `l` writes (for computing expected offsets). */
size_t ss_pb_link_hdr_len(const ss_pb_link_t *l);

/*
 * Writes the link header of `l` followed by `l3` (l3_len bytes) into buf;
 * `ethertype` says what l3 is when the link has such a field (for NULL/LOOP
 * it picks the default family: 0x86DD gives IPv6). Returns the length or 0.
 */
size_t ss_pb_wrap(uint8_t *buf, size_t cap, const ss_pb_link_t *l, uint16_t ethertype,
                  const uint8_t *l3, size_t l3_len);

/* ss_pb_ip then ss_pb_wrap: a whole frame. Returns its length or 0. */
size_t ss_pb_build(uint8_t *buf, size_t cap, const ss_pb_link_t *l, const ss_pb_pkt_t *p);

/* An ARP request (Ethernet/IPv4, 28 bytes) for ss_pb_wrap with ethertype 0x0806. */
size_t ss_pb_arp_request(uint8_t *buf, size_t cap, const char *sender_ip, const char *target_ip);

/* A link description for the common cases. */
ss_pb_link_t ss_pb_link(int linktype);

/* Fills a frame over `data` (caplen = wirelen = len). */
ss_frame_t ss_pb_frame(const uint8_t *data, size_t len, int linktype, uint64_t number,
                       int64_t ts_sec, uint32_t ts_nsec);

/*
 * The Internet checksum (RFC 1071) of `n` bytes, starting from the
 * unfolded sum `init`; the returned value is already complemented.
 */
uint16_t ss_pb_inet_csum(const void *data, size_t n, uint32_t init);

/* Reads a big-endian 16-bit value at buf[off] (to pick fields out of a built frame). */
uint16_t ss_pb_get16(const uint8_t *buf, size_t off);

/*
 * A sequence of frames that own their bytes (each in its own exactly-sized
 * heap block, so ASan sees any over-read): build a conversation, then feed
 * it to an analyzer or write it to a pcap file.
 */
typedef struct ss_pb_trace {
    ss_frame_t *frames;
    size_t n, cap;
    int linktype;
    int64_t ts_sec;   /* timestamp given to the next frame */
    uint32_t ts_nsec;
} ss_pb_trace_t;

void ss_pb_trace_init(ss_pb_trace_t *t, int linktype, int64_t ts_sec, uint32_t ts_nsec);
/* Appends a copy of bytes as the next frame (numbered from 1); returns it or NULL. */
ss_frame_t *ss_pb_trace_add_bytes(ss_pb_trace_t *t, const uint8_t *bytes, size_t len);
/* Builds `p` with `l` (its linktype must match the trace's) and appends it. */
ss_frame_t *ss_pb_trace_add(ss_pb_trace_t *t, const ss_pb_link_t *l, const ss_pb_pkt_t *p);
/* Moves the timestamp of the next frame forward by `usec` microseconds. */
void ss_pb_trace_advance(ss_pb_trace_t *t, uint32_t usec);
void ss_pb_trace_fini(ss_pb_trace_t *t);

/*
 * Copies `len` bytes into a new exactly-sized heap block, so that ASan
 * reports any read past them. Free it with free(); may be NULL when len is 0.
 */
uint8_t *ss_pb_dup(const uint8_t *bytes, size_t len);

/* What a sink wrote, captured with open_memstream. */
typedef struct ss_pb_memout {
    FILE *f;
    char *buf;
    size_t len;
} ss_pb_memout_t;

/* Opens the stream; returns 0 or -1. */
int ss_pb_memout_open(ss_pb_memout_t *m);
/* Flushes and returns everything written so far (NUL-terminated, owned by m). */
const char *ss_pb_memout_text(ss_pb_memout_t *m);
void ss_pb_memout_close(ss_pb_memout_t *m);

/*
 * Runs every frame of `t` through an analyzer with `cfg` (NULL = defaults)
 * reporting to `sink`: begin, feed each, finish, destroy. Returns the first
 * error or 0.
 */
int ss_pb_run(ss_sink_t *sink, const ss_config_t *cfg, const ss_pb_trace_t *t);

#endif
