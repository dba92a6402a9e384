/* fuzz_decode.c - fuzz harness: one captured frame through the decoder and the checksum verifier. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/decode.h"

#define FUZZ_NAME "fuzz_decode"
#include "fuzz_common.h"

/*
 * Input: byte 0 picks the link type (low nibble, from the supported set and
 * one unsupported type) and how many bytes the frame had on the wire beyond
 * those captured (high nibble: a snaplen-cut frame); the rest is the frame.
 *
 * Besides surviving, the decoder must keep its own promises: the captured
 * part of a payload lies inside the captured bytes and is never longer than
 * the payload, the fixed-size arrays are not overrun, every code has a name.
 * A broken promise aborts, so the fuzzer reports it like a crash.
 */

static const int link_types[] = {
    SS_LINK_NULL, SS_LINK_ETHERNET, SS_LINK_RAW,   SS_LINK_LOOP, SS_LINK_LINUX_SLL,
    SS_LINK_IPV4, SS_LINK_IPV6,     SS_LINK_NFLOG, SS_LINK_LINUX_SLL2,
    147, /* LINKTYPE_USER0: not decoded, must be listed as such */
};


static void check_packet(const ss_packet_t *p, const ss_frame_t *f)
{
    char buf[64];
    /*
     * Offsets may point past the captured bytes (a header the capture cut
     * still says where the payload would start), but what is said to be
     * captured must be.
     */
    CHECK(p->payload_caplen <= p->payload_len);
    if (p->payload_caplen) {
        CHECK(p->payload_off != 0 && p->payload_off <= f->caplen);
        CHECK(p->payload_caplen <= f->caplen - p->payload_off);
    }
    CHECK(p->tcp.opts.nsack <= SS_TCP_MAX_SACK);
    CHECK(p->tcp.opts.nunknown <= SS_TCP_MAX_UNKNOWN_OPTS);
    CHECK(p->tcp.opts.norder <= sizeof(p->tcp.opts.order));
    CHECK((unsigned)p->problem < SS_DP_COUNT_);
    CHECK(p->vlan_count <= 4); /* counted up to 4 deep; the first 2 ids kept */
    /* Everything printable is printable. */
    CHECK(ss_decode_proto_name(p, buf, sizeof(buf)) != NULL);
    ss_addr_str(&p->src, buf, sizeof(buf));
    ss_addr_str(&p->dst, buf, sizeof(buf));
    if (p->quoted.valid) {
        ss_addr_str(&p->quoted.src, buf, sizeof(buf));
        ss_addr_str(&p->quoted.dst, buf, sizeof(buf));
    }
    CHECK(ss_decode_problem_str(p->problem) != NULL);
}

static void check_csum(const ss_packet_t *p)
{
    ss_csum_result_t cs;
    memset(&cs, 0xA5, sizeof(cs));
    ss_checksum_verify(p, &cs);
    CHECK((unsigned)cs.ip <= SS_CSUM_UNVERIFIABLE);
    CHECK((unsigned)cs.l4 <= SS_CSUM_UNVERIFIABLE);
    CHECK(ss_csum_status_str(cs.ip) != NULL);
    CHECK(ss_csum_status_str(cs.l4) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 0x7FFFFFFF)
        return 0;
    size_t nlt = sizeof(link_types) / sizeof(link_types[0]);
    ss_frame_t f;
    memset(&f, 0, sizeof(f));
    f.data = data + 1;
    f.caplen = (uint32_t)(size - 1);
    f.wirelen = f.caplen + (uint32_t)(data[0] >> 4) * 97u;
    f.linktype = link_types[(data[0] & 0x0F) % nlt];
    f.number = 1;
    f.ts_sec = 1700000000;

    ss_packet_t p;
    int rc = ss_decode(&f, &p);
    CHECK(rc == 0 || rc == SS_PKT_TRUNCATED || rc == SS_PKT_INVALID);
    CHECK(rc == 0 || (p.flags & (uint32_t)rc));
    CHECK(p.frame == &f);
    check_packet(&p, &f);
    check_csum(&p);

    /*
     * The last fragment of a datagram is decoded with its transport header
     * taken from the first fragment: hand it the frame's own bytes as that
     * header, for any datagram length.
     */
    if (p.l3 == SS_L3_IPV4 || p.l3 == SS_L3_IPV6) {
        ss_packet_t r = p;
        size_t hdrlen = f.caplen < 60 ? f.caplen : 60;
        uint32_t l4_len = size >= 3 ? ((uint32_t)data[1] << 8 | data[2]) : 0;
        ss_decode_reassembled(&r, f.data, hdrlen, l4_len);
        CHECK(r.payload_caplen == 0);
        check_packet(&r, &f);
        check_csum(&r);
    }

    /* The option parser on its own, over up to the 40 bytes an options area can hold. */
    ss_tcp_opts_t o;
    size_t olen = f.caplen < 40 ? f.caplen : 40;
    int orc = ss_decode_tcp_options(f.data, olen, &o);
    CHECK(orc == 0 || orc == SS_PKT_INVALID);
    CHECK(o.nsack <= SS_TCP_MAX_SACK && o.norder <= sizeof(o.order));
    return 0;
}
