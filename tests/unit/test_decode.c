/* test_decode.c - frame decoding: link types, IPv4/IPv6, TCP/UDP, options, truncation, checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/decode.h"

/*
 * A decode run over a private, exactly-sized heap copy of the captured
 * bytes: ASan then reports any read past caplen.
 */
typedef struct dec {
    ss_frame_t frame;
    uint8_t *data;
    ss_packet_t pkt;
    int rc;
} dec_t;

static void dec_run(dec_t *d, const uint8_t *bytes, size_t caplen, size_t wirelen, int linktype)
{
    memset(d, 0, sizeof(*d));
    d->data = ss_pb_dup(bytes, caplen);
    d->frame = ss_pb_frame(d->data, caplen, linktype, 1, 1700000000, 0);
    d->frame.wirelen = (uint32_t)wirelen;
    d->rc = ss_decode(&d->frame, &d->pkt);
}

static void dec_full(dec_t *d, const uint8_t *bytes, size_t len, int linktype)
{
    dec_run(d, bytes, len, len, linktype);
}

static void dec_free(dec_t *d)
{
    free(d->data);
    d->data = NULL;
}

/* Builds `p` over a default link of `linktype`; fails the test when the builder refuses. */
static size_t build(uint8_t *buf, size_t cap, int linktype, const ss_pb_pkt_t *p)
{
    ss_pb_link_t l = ss_pb_link(linktype);
    size_t n = ss_pb_build(buf, cap, &l, p);
    assert_true(n > 0);
    return n;
}

static void assert_addr4(const ss_addr_t *a, const char *text)
{
    uint8_t want[4];
    ss_pb_addr4(text, want);
    assert_int_equal(a->family, 4);
    assert_memory_equal(a->a, want, 4);
}

static void assert_addr6(const ss_addr_t *a, const char *text)
{
    uint8_t want[16];
    ss_pb_addr6(text, want);
    assert_int_equal(a->family, 6);
    assert_memory_equal(a->a, want, 16);
}

static const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};

/* MSS 1460, NOP, NOP, SACK permitted, NOP, window scale 7: 12 bytes. */
static const uint8_t opts12[12] = {2, 4, 0x05, 0xB4, 1, 1, 4, 2, 1, 3, 3, 7};

/* MSS 1460, SACK permitted, timestamps 0x01020304/0x0A0B0C0D, NOP, window scale 7: 20 bytes. */
static const uint8_t syn_opts[20] = {2,    4,    0x05, 0xB4, 4,    2,    8, 10, 0x01, 0x02,
                                     0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D, 1, 3,  3,    7};

/* ---- one packet, every field -------------------------------------------- */

static void test_decode_ethernet_ipv4_tcp_every_field_decoded(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    p.v4.tos = 0x10;
    p.v4.ttl = 57;
    p.v4.id = 0xBEEF;
    p.v4.df = true;
    p.tcp.seq = 0x11223344u;
    p.tcp.ack = 0x55667788u;
    p.tcp.flags = SS_TCP_PSH | SS_TCP_ACK | SS_TCP_URG;
    p.tcp.win = 0x1234;
    p.tcp.urp = 7;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    assert_int_equal(n, 14 + 20 + 20 + 5);

    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    const ss_packet_t *k = &d.pkt;
    assert_int_equal(d.rc, 0);
    assert_int_equal(k->flags, 0);
    assert_int_equal(k->problem, SS_DP_NONE);
    assert_null(k->truncated_in);
    assert_ptr_equal(k->frame, &d.frame);
    assert_int_equal(k->ethertype, 0x0800);
    assert_int_equal(k->vlan_count, 0);
    assert_false(k->pppoe);
    assert_int_equal(k->l3, SS_L3_IPV4);
    assert_addr4(&k->src, "10.0.0.1");
    assert_addr4(&k->dst, "10.0.0.2");
    assert_int_equal(k->l3_off, 14);
    assert_int_equal(k->ip_hdr_len, 20);
    assert_int_equal(k->ip_len, 45);
    assert_int_equal(k->ip_proto, 6);
    assert_int_equal(k->ttl, 57);
    assert_int_equal(k->tos, 0x10);
    assert_int_equal(k->ip_id, 0xBEEF);
    assert_int_equal(k->ip_csum, ss_pb_get16(buf, 14 + 10));
    assert_int_equal(k->frag_offset, 0);
    assert_false(k->frag_more);
    assert_int_equal(k->l4, SS_L4_TCP);
    assert_true(k->ports_valid);
    assert_int_equal(k->l4_off, 34);
    assert_int_equal(k->l4_len, 25);
    assert_int_equal(k->tcp.sport, 40000);
    assert_int_equal(k->tcp.dport, 80);
    assert_int_equal(k->tcp.seq, 0x11223344u);
    assert_int_equal(k->tcp.ack, 0x55667788u);
    assert_int_equal(k->tcp.doff, 5);
    assert_int_equal(k->tcp.flags, SS_TCP_PSH | SS_TCP_ACK | SS_TCP_URG);
    assert_int_equal(k->tcp.win, 0x1234);
    assert_int_equal(k->tcp.csum, ss_pb_get16(buf, 34 + 16));
    assert_int_equal(k->tcp.urp, 7);
    assert_int_equal(k->tcp.opts.present, 0);
    assert_int_equal(k->tcp.opts.norder, 0);
    assert_int_equal(k->payload_off, 54);
    assert_int_equal(k->payload_len, 5);
    assert_int_equal(k->payload_caplen, 5);
    assert_memory_equal(buf + k->payload_off, "hello", 5);

    char nb[32], ab[64];
    assert_string_equal(ss_decode_proto_name(k, nb, sizeof(nb)), "tcp");
    assert_string_equal(ss_addr_str(&k->src, ab, sizeof(ab)), "10.0.0.1");
    dec_free(&d);
}

static void test_decode_tcp_each_flag_bit_including_ae_decoded(void **state)
{
    (void)state;
    uint8_t buf[128];
    for (int bit = 0; bit < 9; bit++) {
        ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
        p.tcp.flags = (uint16_t)(1u << bit);
        size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
        dec_t d;
        dec_full(&d, buf, n, SS_LINK_ETHERNET);
        assert_int_equal(d.rc, 0);
        assert_int_equal(d.pkt.tcp.flags, 1u << bit);
        assert_int_equal(d.pkt.tcp.doff, 5);
        dec_free(&d);
    }
    /* All nine bits, plus the three reserved bits, which are not flags. */
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.flags = 0x0FFF;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.pkt.tcp.flags, 0x1FF);
    assert_int_equal(d.pkt.tcp.flags & SS_TCP_AE, SS_TCP_AE);
    assert_int_equal(d.pkt.tcp.doff, 5);
    dec_free(&d);
}

/* ---- TCP options -------------------------------------------------------- */

static void test_decode_tcp_syn_options_mss_sackok_ts_nop_wscale_parsed(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.flags = SS_TCP_SYN;
    p.tcp.opts = syn_opts;
    p.tcp.opts_len = sizeof(syn_opts);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    const ss_tcp_opts_t *o = &d.pkt.tcp.opts;
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.tcp.doff, 10);
    assert_int_equal(o->present, SS_TCPOPT_MSS | SS_TCPOPT_SACKOK | SS_TCPOPT_TS | SS_TCPOPT_WSCALE);
    assert_int_equal(o->mss, 1460);
    assert_int_equal(o->wscale, 7);
    assert_int_equal(o->ts_val, 0x01020304u);
    assert_int_equal(o->ts_ecr, 0x0A0B0C0Du);
    assert_int_equal(o->nop_count, 1);
    assert_int_equal(o->nsack, 0);
    assert_int_equal(o->nunknown, 0);
    assert_false(o->malformed);
    assert_int_equal(o->norder, 5);
    static const uint8_t order[5] = {2, 4, 8, 1, 3};
    assert_memory_equal(o->order, order, 5);
    assert_int_equal(d.pkt.payload_off, 14 + 20 + 40);
    assert_int_equal(d.pkt.payload_len, 0);
    dec_free(&d);
}

static void test_decode_tcp_options_sack_tfo_unknown_eol_parsed(void **state)
{
    (void)state;
    static const uint8_t opts[40] = {
        1, 1, 5, 18, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00, /* SACK 4096-8192 */
        0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x10,              /* SACK 0xFFFFFF00-0x10 */
        34, 10, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,      /* TFO, 8-byte cookie */
        99, 4, 0xAB, 0xCD,                                           /* unknown kind 99 */
        0, 0, 0, 0, 0, 0};                                           /* EOL + padding */
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.flags = SS_TCP_ACK;
    p.tcp.opts = opts;
    p.tcp.opts_len = sizeof(opts);
    p.tcp.payload = hello;
    p.tcp.payload_len = 3;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    const ss_tcp_opts_t *o = &d.pkt.tcp.opts;
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.tcp.doff, 15);
    assert_int_equal(o->present, SS_TCPOPT_SACK | SS_TCPOPT_TFO | SS_TCPOPT_EOL);
    assert_int_equal(o->nop_count, 2);
    assert_int_equal(o->nsack, 2);
    assert_int_equal(o->sack[0][0], 0x1000);
    assert_int_equal(o->sack[0][1], 0x2000);
    assert_int_equal(o->sack[1][0], 0xFFFFFF00u);
    assert_int_equal(o->sack[1][1], 0x10);
    assert_int_equal(o->tfo_cookie_len, 8);
    assert_int_equal(o->nunknown, 1);
    assert_int_equal(o->unknown[0].kind, 99);
    assert_int_equal(o->unknown[0].len, 4);
    assert_false(o->malformed);
    /* Wire order, EOL included; what follows EOL is padding, not options. */
    static const uint8_t order[6] = {1, 1, 5, 34, 99, 0};
    assert_int_equal(o->norder, 6);
    assert_memory_equal(o->order, order, 6);
    assert_int_equal(d.pkt.payload_off, 14 + 20 + 60);
    assert_int_equal(d.pkt.payload_len, 3);
    dec_free(&d);
}

static void test_decode_tcp_options_four_sack_blocks_and_tfo_request_parsed(void **state)
{
    (void)state;
    uint8_t opts[36] = {1, 1, 5, 34};
    for (int i = 0; i < 8; i++) {
        uint32_t v = 1000u * (uint32_t)(i + 1);
        opts[4 + 4 * i] = (uint8_t)(v >> 24);
        opts[5 + 4 * i] = (uint8_t)(v >> 16);
        opts[6 + 4 * i] = (uint8_t)(v >> 8);
        opts[7 + 4 * i] = (uint8_t)v;
    }
    ss_tcp_opts_t o;
    assert_int_equal(ss_decode_tcp_options(opts, sizeof(opts), &o), 0);
    assert_int_equal(o.present, SS_TCPOPT_SACK);
    assert_int_equal(o.nsack, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(o.sack[i][0], 1000u * (uint32_t)(2 * i + 1));
        assert_int_equal(o.sack[i][1], 1000u * (uint32_t)(2 * i + 2));
    }

    static const uint8_t tfo_req[4] = {34, 2, 1, 1};
    assert_int_equal(ss_decode_tcp_options(tfo_req, sizeof(tfo_req), &o), 0);
    assert_int_equal(o.present, SS_TCPOPT_TFO);
    assert_int_equal(o.tfo_cookie_len, 0);
    assert_int_equal(o.nop_count, 2);

    /* An empty options area parses to nothing. */
    assert_int_equal(ss_decode_tcp_options(opts, 0, &o), 0);
    assert_int_equal(o.present, 0);
    assert_int_equal(o.norder, 0);
    assert_false(o.malformed);
}

static void test_decode_tcp_option_bad_length_is_malformed(void **state)
{
    (void)state;
    ss_tcp_opts_t o;
    /* MSS announced with length 3. */
    static const uint8_t mss3[4] = {2, 3, 0x05, 1};
    assert_int_equal(ss_decode_tcp_options(mss3, sizeof(mss3), &o), SS_PKT_INVALID);
    assert_true(o.malformed);
    assert_int_equal(o.present & SS_TCPOPT_MSS, 0);

    /* A length below 2 can never be right. */
    static const uint8_t len1[4] = {1, 99, 1, 0};
    assert_int_equal(ss_decode_tcp_options(len1, sizeof(len1), &o), SS_PKT_INVALID);
    assert_true(o.malformed);
    assert_int_equal(o.nop_count, 1);
    assert_int_equal(o.nunknown, 0);

    /* Valid MSS, then a window scale whose length runs past the area: the MSS is kept. */
    static const uint8_t past[8] = {2, 4, 0x05, 0xB4, 3, 0xFF, 0, 0};
    assert_int_equal(ss_decode_tcp_options(past, sizeof(past), &o), SS_PKT_INVALID);
    assert_true(o.malformed);
    assert_int_equal(o.present, SS_TCPOPT_MSS);
    assert_int_equal(o.mss, 1460);
    assert_int_equal(o.present & SS_TCPOPT_WSCALE, 0);

    /* A kind with no room left for its length byte. */
    static const uint8_t nolen[4] = {1, 1, 1, 8};
    assert_int_equal(ss_decode_tcp_options(nolen, sizeof(nolen), &o), SS_PKT_INVALID);
    assert_true(o.malformed);
    assert_int_equal(o.nop_count, 3);

    /* Timestamps with length 8 instead of 10. */
    static const uint8_t ts8[8] = {8, 8, 0, 0, 0, 1, 0, 0};
    assert_int_equal(ss_decode_tcp_options(ts8, sizeof(ts8), &o), SS_PKT_INVALID);
    assert_int_equal(o.present & SS_TCPOPT_TS, 0);
}

static void test_decode_tcp_malformed_option_keeps_header_and_payload(void **state)
{
    (void)state;
    static const uint8_t opts[4] = {1, 3, 0xFF, 7}; /* NOP, window scale with length 255 */
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1111, "10.0.0.2", 2222);
    p.tcp.flags = SS_TCP_ACK;
    p.tcp.seq = 42;
    p.tcp.opts = opts;
    p.tcp.opts_len = 4;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_true(d.pkt.flags & SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_TCP_OPTIONS);
    assert_true(d.pkt.tcp.opts.malformed);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    assert_int_equal(d.pkt.tcp.seq, 42);
    assert_int_equal(d.pkt.tcp.dport, 2222);
    assert_int_equal(d.pkt.payload_off, 14 + 20 + 24);
    assert_int_equal(d.pkt.payload_len, 5);
    assert_int_equal(d.pkt.payload_caplen, 5);
    dec_free(&d);
}

/* ---- invalid headers ---------------------------------------------------- */

static void test_decode_tcp_doff_below_5_invalid(void **state)
{
    (void)state;
    static const uint8_t doffs[2] = {4, 0};
    for (size_t i = 0; i < 2; i++) {
        uint8_t buf[128];
        ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 5555, "10.0.0.2", 80);
        p.tcp.seq = 1234;
        p.tcp.flags = SS_TCP_ACK;
        p.tcp.doff_set = true;
        p.tcp.doff = doffs[i];
        p.tcp.payload = hello;
        p.tcp.payload_len = 5;
        size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
        dec_t d;
        dec_full(&d, buf, n, SS_LINK_ETHERNET);
        assert_int_equal(d.rc, SS_PKT_INVALID);
        assert_true(d.pkt.flags & SS_PKT_INVALID);
        assert_false(d.pkt.flags & SS_PKT_TRUNCATED);
        assert_int_equal(d.pkt.problem, SS_DP_TCP_DOFF);
        assert_int_equal(d.pkt.l4, SS_L4_TCP);
        assert_true(d.pkt.ports_valid);
        assert_int_equal(d.pkt.tcp.sport, 5555);
        assert_int_equal(d.pkt.tcp.doff, doffs[i]);
        assert_int_equal(d.pkt.tcp.seq, 1234);
        dec_free(&d);
    }
}

static void test_decode_tcp_doff_past_ip_length_invalid(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.doff_set = true;
    p.tcp.doff = 15; /* 60 bytes claimed, the datagram holds 20 */
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_TCP_SHORT);
    assert_false(d.pkt.flags & SS_PKT_TRUNCATED);
    dec_free(&d);
}

static void test_decode_ipv4_ihl_below_5_invalid(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.v4.ihl = 4;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_IPV4_IHL);
    assert_int_equal(d.pkt.l3, SS_L3_IPV4);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    assert_false(d.pkt.ports_valid);
    dec_free(&d);
}

static void test_decode_ipv4_total_length_below_header_invalid(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.v4.totlen_set = true;
    p.v4.totlen = 19;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_IPV4_TOTLEN);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    dec_free(&d);
}

static void test_decode_ipv4_total_length_shorter_than_frame_bounds_payload(void **state)
{
    (void)state;
    /* The IP length says 2 payload bytes although 5 follow: the other 3 are a trailer. */
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    p.v4.totlen_set = true;
    p.v4.totlen = 42;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.ip_len, 42);
    assert_int_equal(d.pkt.l4_len, 22);
    assert_int_equal(d.pkt.payload_len, 2);
    assert_int_equal(d.pkt.payload_caplen, 2);
    assert_false(d.pkt.flags & SS_PKT_SHORT_DATA);
    dec_free(&d);
}

static void test_decode_ipv4_total_length_zero_is_tso(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    p.v4.totlen_set = true;
    p.v4.totlen = 0;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_TSO);
    assert_int_equal(d.pkt.ip_len, 45);
    assert_int_equal(d.pkt.payload_len, 5);
    dec_free(&d);
}

static void test_decode_udp_length_inconsistent_invalid(void **state)
{
    (void)state;
    static const uint16_t bad[2] = {200, 4}; /* beyond the IP payload; below the header */
    for (size_t i = 0; i < 2; i++) {
        uint8_t buf[128];
        ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", 53, "10.0.0.2", 1024);
        p.udp.payload = hello;
        p.udp.payload_len = 5;
        p.udp.len_set = true;
        p.udp.len = bad[i];
        size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
        dec_t d;
        dec_full(&d, buf, n, SS_LINK_ETHERNET);
        assert_int_equal(d.rc, SS_PKT_INVALID);
        assert_int_equal(d.pkt.problem, SS_DP_UDP_LEN);
        assert_int_equal(d.pkt.l4, SS_L4_UDP);
        assert_true(d.pkt.ports_valid);
        assert_int_equal(d.pkt.udp.len, bad[i]);
        /* The payload is whatever the IP length leaves after the header, never more. */
        assert_true(d.pkt.payload_len <= 5);
        dec_free(&d);
    }
}

static void test_decode_ip_version_mismatch_invalid(void **state)
{
    (void)state;
    uint8_t buf[128];
    /* An IPv6 datagram behind ethertype 0x0800. */
    ss_pb_pkt_t p = ss_pb_tcp6("2001:db8::1", 1, "2001:db8::2", 2);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.ethertype = 0x0800;
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    assert_true(n > 0);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_IP_VERSION);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    dec_free(&d);

    /* A raw-IP frame whose version nibble is 5. */
    uint8_t raw[20] = {0x55};
    dec_full(&d, raw, sizeof(raw), SS_LINK_RAW);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_IP_VERSION);
    dec_free(&d);
}

static void test_decode_unsupported_linktype_reported(void **state)
{
    (void)state;
    uint8_t buf[128];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    size_t n = build(buf, sizeof(buf), SS_LINK_RAW, &p);
    dec_t d;
    dec_full(&d, buf, n, 147); /* LINKTYPE_USER0 */
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_true(d.pkt.flags & SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_LINK_UNSUPPORTED);
    assert_int_equal(d.pkt.l3, SS_L3_NONE);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    assert_string_equal(ss_decode_problem_str(SS_DP_LINK_UNSUPPORTED), "link-layer type not supported");
    dec_free(&d);
}

/* ---- every link type carries IPv4/IPv6, TCP/UDP --------------------------- */

typedef struct link_case {
    int linktype;
    uint32_t l3_off;
    bool has_ethertype;
    bool v4, v6; /* which IP versions the link type can carry */
} link_case_t;

static const link_case_t link_cases[] = {
    {SS_LINK_ETHERNET, 14, true, true, true}, {SS_LINK_LINUX_SLL, 16, true, true, true},
    {SS_LINK_LINUX_SLL2, 20, true, true, true}, {SS_LINK_NULL, 4, false, true, true},
    {SS_LINK_LOOP, 4, false, true, true},     {SS_LINK_RAW, 0, false, true, true},
    {SS_LINK_IPV4, 0, false, true, false},    {SS_LINK_IPV6, 0, false, false, true},
};

static void check_link_case(const link_case_t *lc, int ipver, uint8_t proto)
{
    uint8_t buf[256];
    ss_pb_pkt_t p;
    if (ipver == 4)
        p = proto == 6 ? ss_pb_tcp4("192.0.2.1", 1025, "192.0.2.200", 443)
                       : ss_pb_udp4("192.0.2.1", 1025, "192.0.2.200", 443);
    else
        p = proto == 6 ? ss_pb_tcp6("2001:db8::1", 1025, "2001:db8::c8", 443)
                       : ss_pb_udp6("2001:db8::1", 1025, "2001:db8::c8", 443);
    p.tcp.seq = 0xDEADBEEFu;
    p.tcp.ack = 0x01020304u;
    p.tcp.flags = SS_TCP_ACK | SS_TCP_PSH;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    p.udp.payload = hello;
    p.udp.payload_len = 4;
    size_t n = build(buf, sizeof(buf), lc->linktype, &p);
    uint32_t ip_hdr = ipver == 4 ? 20 : 40;
    uint32_t l4_hdr = proto == 6 ? 20 : 8;
    uint32_t pay = proto == 6 ? 5 : 4;
    assert_int_equal(n, lc->l3_off + ip_hdr + l4_hdr + pay);

    dec_t d;
    dec_full(&d, buf, n, lc->linktype);
    const ss_packet_t *k = &d.pkt;
    assert_int_equal(d.rc, 0);
    assert_int_equal(k->flags, 0);
    assert_int_equal(k->l3, ipver == 4 ? SS_L3_IPV4 : SS_L3_IPV6);
    assert_int_equal(k->ethertype, lc->has_ethertype ? (ipver == 4 ? 0x0800 : 0x86DD) : 0);
    if (ipver == 4) {
        assert_addr4(&k->src, "192.0.2.1");
        assert_addr4(&k->dst, "192.0.2.200");
    } else {
        assert_addr6(&k->src, "2001:db8::1");
        assert_addr6(&k->dst, "2001:db8::c8");
    }
    assert_int_equal(k->l3_off, lc->l3_off);
    assert_int_equal(k->ip_hdr_len, ip_hdr);
    assert_int_equal(k->ip_len, ip_hdr + l4_hdr + pay);
    assert_int_equal(k->ip_proto, proto);
    assert_int_equal(k->l4_off, lc->l3_off + ip_hdr);
    assert_int_equal(k->l4_len, l4_hdr + pay);
    assert_true(k->ports_valid);
    assert_int_equal(k->payload_off, lc->l3_off + ip_hdr + l4_hdr);
    assert_int_equal(k->payload_len, pay);
    assert_int_equal(k->payload_caplen, pay);
    if (proto == 6) {
        assert_int_equal(k->l4, SS_L4_TCP);
        assert_int_equal(k->tcp.sport, 1025);
        assert_int_equal(k->tcp.dport, 443);
        assert_int_equal(k->tcp.seq, 0xDEADBEEFu);
        assert_int_equal(k->tcp.ack, 0x01020304u);
        assert_int_equal(k->tcp.flags, SS_TCP_ACK | SS_TCP_PSH);
    } else {
        assert_int_equal(k->l4, SS_L4_UDP);
        assert_int_equal(k->udp.sport, 1025);
        assert_int_equal(k->udp.dport, 443);
        assert_int_equal(k->udp.len, 12);
        assert_int_equal(k->udp.csum, ss_pb_get16(buf, lc->l3_off + ip_hdr + 6));
    }
    dec_free(&d);
}

static void test_decode_each_link_type_ip_tcp_udp_decoded(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
        const link_case_t *lc = &link_cases[i];
        if (lc->v4) {
            check_link_case(lc, 4, 6);
            check_link_case(lc, 4, 17);
        }
        if (lc->v6) {
            check_link_case(lc, 6, 6);
            check_link_case(lc, 6, 17);
        }
    }
}

static void test_decode_null_family_variants_recognised(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p4 = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    ss_pb_pkt_t p6 = ss_pb_tcp6("::1", 1, "::1", 2);

    /* Written by a big-endian host: 00 00 00 02 in a little-endian reading. */
    ss_pb_link_t l = ss_pb_link(SS_LINK_NULL);
    l.null_big_endian = true;
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p4);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_NULL);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.l3, SS_L3_IPV4);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    dec_free(&d);

    /* The IPv6 values of Linux, FreeBSD and Darwin. */
    static const uint32_t fam6[3] = {10, 28, 30};
    for (size_t i = 0; i < 3; i++) {
        l = ss_pb_link(SS_LINK_NULL);
        l.null_family = fam6[i];
        n = ss_pb_build(buf, sizeof(buf), &l, &p6);
        dec_full(&d, buf, n, SS_LINK_NULL);
        assert_int_equal(d.rc, 0);
        assert_int_equal(d.pkt.l3, SS_L3_IPV6);
        assert_int_equal(d.pkt.l4_off, 44);
        dec_free(&d);
    }

    /* An unknown family is not IP. */
    l = ss_pb_link(SS_LINK_NULL);
    l.null_family = 99;
    n = ss_pb_build(buf, sizeof(buf), &l, &p4);
    dec_full(&d, buf, n, SS_LINK_NULL);
    assert_int_equal(d.pkt.l3, SS_L3_OTHER);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    dec_free(&d);
}

/* ---- VLAN and PPPoE ----------------------------------------------------- */

static void test_decode_vlan_single_tag_id_kept(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1000, "10.0.0.2", 2000);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.nvlan = 1;
    l.vlan[0] = 100;
    l.vlan_pcp[0] = 5; /* priority bits must not leak into the id */
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    assert_int_equal(n, 18 + 40);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.vlan_count, 1);
    assert_int_equal(d.pkt.vlan_id[0], 100);
    assert_int_equal(d.pkt.ethertype, 0x0800);
    assert_int_equal(d.pkt.l3_off, 18);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    assert_int_equal(d.pkt.tcp.dport, 2000);
    dec_free(&d);
}

static void test_decode_qinq_two_tag_ids_kept(void **state)
{
    (void)state;
    static const uint16_t outer_tpid[2] = {0x88A8, 0x9100};
    for (size_t i = 0; i < 2; i++) {
        uint8_t buf[256];
        ss_pb_pkt_t p = ss_pb_udp6("fe80::1", 546, "ff02::1:2", 547);
        ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
        l.nvlan = 2;
        l.vlan[0] = 200;
        l.vlan[1] = 4094;
        l.vlan_tpid[0] = outer_tpid[i];
        l.vlan_pcp[1] = 7;
        size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
        dec_t d;
        dec_full(&d, buf, n, SS_LINK_ETHERNET);
        assert_int_equal(d.rc, 0);
        assert_int_equal(d.pkt.vlan_count, 2);
        assert_int_equal(d.pkt.vlan_id[0], 200);
        assert_int_equal(d.pkt.vlan_id[1], 4094);
        assert_int_equal(d.pkt.ethertype, 0x86DD);
        assert_int_equal(d.pkt.l3, SS_L3_IPV6);
        assert_int_equal(d.pkt.l3_off, 22);
        assert_int_equal(d.pkt.l4, SS_L4_UDP);
        assert_int_equal(d.pkt.udp.sport, 546);
        dec_free(&d);
    }
}

static void test_decode_pppoe_session_ipv4_and_ipv6_decoded(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pppoe = true;

    ss_pb_pkt_t p = ss_pb_tcp4("100.64.0.1", 4000, "198.51.100.7", 22);
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    assert_int_equal(n, 22 + 45);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.pppoe);
    assert_int_equal(d.pkt.l3, SS_L3_IPV4);
    assert_int_equal(d.pkt.l3_off, 22);
    assert_addr4(&d.pkt.dst, "198.51.100.7");
    assert_int_equal(d.pkt.tcp.dport, 22);
    assert_int_equal(d.pkt.payload_len, 5);
    dec_free(&d);

    ss_pb_pkt_t p6 = ss_pb_tcp6("2001:db8::1", 4000, "2001:db8::2", 22);
    n = ss_pb_build(buf, sizeof(buf), &l, &p6);
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.pppoe);
    assert_int_equal(d.pkt.l3, SS_L3_IPV6);
    assert_int_equal(d.pkt.l4_off, 62);
    assert_int_equal(d.pkt.tcp.sport, 4000);
    dec_free(&d);

    /* A PPPoE header with the wrong version/type byte is malformed. */
    n = ss_pb_build(buf, sizeof(buf), &l, &p);
    buf[14] = 0x21;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, SS_PKT_INVALID);
    assert_int_equal(d.pkt.problem, SS_DP_PPPOE);
    dec_free(&d);
}

/* ---- IPv4 options and fragments ----------------------------------------- */

static void test_decode_ipv4_options_flagged_and_skipped(void **state)
{
    (void)state;
    static const uint8_t ipopts[8] = {0x94, 0x04, 0x00, 0x00, 1, 1, 1, 0}; /* router alert, NOPs, EOL */
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 7, "10.0.0.2", 9);
    p.v4.options = ipopts;
    p.v4.options_len = sizeof(ipopts);
    p.tcp.seq = 99;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_IP_OPTIONS);
    assert_int_equal(d.pkt.ip_hdr_len, 28);
    assert_int_equal(d.pkt.ip_len, 53);
    assert_int_equal(d.pkt.l4_off, 42);
    assert_int_equal(d.pkt.tcp.sport, 7);
    assert_int_equal(d.pkt.tcp.seq, 99);
    assert_int_equal(d.pkt.payload_off, 62);
    assert_int_equal(d.pkt.payload_len, 5);

    /* Without options the flag stays clear. */
    ss_pb_pkt_t q = ss_pb_tcp4("10.0.0.1", 7, "10.0.0.2", 9);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &q);
    dec_t e;
    dec_full(&e, buf, n, SS_LINK_ETHERNET);
    assert_false(e.pkt.flags & SS_PKT_IP_OPTIONS);
    dec_free(&e);
    dec_free(&d);
}

static void test_decode_ipv4_first_fragment_flagged_transport_decoded(void **state)
{
    (void)state;
    uint8_t pay[12];
    memset(pay, 'x', sizeof(pay));
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 3333, "10.0.0.2", 4444);
    p.v4.mf = true;
    p.v4.id = 0x4242;
    p.tcp.seq = 5;
    p.tcp.payload = pay;
    p.tcp.payload_len = sizeof(pay);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_FRAGMENT);
    assert_true(d.pkt.frag_more);
    assert_int_equal(d.pkt.frag_offset, 0);
    assert_int_equal(d.pkt.ip_id, 0x4242);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    assert_true(d.pkt.ports_valid);
    assert_int_equal(d.pkt.tcp.dport, 4444);
    assert_int_equal(d.pkt.tcp.seq, 5);
    assert_int_equal(d.pkt.payload_len, 12);
    dec_free(&d);
}

static void test_decode_ipv4_later_fragment_has_no_transport(void **state)
{
    (void)state;
    /* Bytes that would decode as a TCP header if the decoder wrongly looked. */
    uint8_t middle[24];
    for (size_t i = 0; i < sizeof(middle); i++)
        middle[i] = (uint8_t)(0x50 + i);
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 0, "10.0.0.2", 0);
    p.raw = middle;
    p.raw_len = sizeof(middle);
    p.v4.frag_offset = 1480;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_FRAGMENT);
    assert_int_equal(d.pkt.frag_offset, 1480);
    assert_false(d.pkt.frag_more);
    assert_int_equal(d.pkt.ip_proto, 6);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    assert_false(d.pkt.ports_valid);
    assert_int_equal(d.pkt.l4_len, 24);
    assert_int_equal(d.pkt.payload_off, 0);
    dec_free(&d);
}

/* ---- IPv6 extension headers ---------------------------------------------- */

static void test_decode_ipv6_extension_chain_reaches_tcp(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp6("2001:db8::1", 8080, "2001:db8::2", 9090);
    p.v6.ext[0].type = SS_PB_EXT_HOPOPTS;
    p.v6.ext[1].type = SS_PB_EXT_ROUTING;
    p.v6.ext[1].len8 = 1;
    p.v6.ext[2].type = SS_PB_EXT_DSTOPTS;
    p.v6.next = 3;
    p.tcp.seq = 0xCAFEBABEu;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    assert_int_equal(n, 14 + 40 + 8 + 16 + 8 + 25);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.flags, 0);
    assert_int_equal(d.pkt.l3, SS_L3_IPV6);
    assert_int_equal(d.pkt.ip_hdr_len, 72);
    assert_int_equal(d.pkt.ip_len, 40 + 32 + 25);
    assert_int_equal(d.pkt.ip_proto, 6);
    assert_int_equal(d.pkt.ttl, 64);
    assert_int_equal(d.pkt.l4_off, 14 + 72);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    assert_int_equal(d.pkt.tcp.sport, 8080);
    assert_int_equal(d.pkt.tcp.seq, 0xCAFEBABEu);
    assert_int_equal(d.pkt.payload_len, 5);
    dec_free(&d);
}

static void test_decode_ipv6_atomic_fragment_not_flagged(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp6("2001:db8::1", 1, "2001:db8::2", 2);
    p.v6.ext[0].type = SS_PB_EXT_FRAGMENT;
    p.v6.ext[0].frag_id = 0x12345678u;
    p.v6.next = 1;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_false(d.pkt.flags & SS_PKT_FRAGMENT);
    assert_int_equal(d.pkt.ip_hdr_len, 48);
    assert_int_equal(d.pkt.l4, SS_L4_TCP);
    assert_int_equal(d.pkt.tcp.dport, 2);
    dec_free(&d);
}

static void test_decode_ipv6_fragments_flagged_later_without_transport(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_udp6("2001:db8::1", 5000, "2001:db8::2", 6000);
    p.udp.payload = hello;
    p.udp.payload_len = 5;
    p.v6.ext[0].type = SS_PB_EXT_FRAGMENT;
    p.v6.ext[0].frag_more = true;
    p.v6.ext[0].frag_id = 0xAABBCCDDu;
    p.v6.next = 1;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_true(d.pkt.flags & SS_PKT_FRAGMENT);
    assert_true(d.pkt.frag_more);
    assert_int_equal(d.pkt.frag_offset, 0);
    assert_int_equal(d.pkt.ip_id, 0xCCDD);
    assert_int_equal(d.pkt.l4, SS_L4_UDP);
    assert_int_equal(d.pkt.udp.sport, 5000);
    dec_free(&d);

    uint8_t rest[16];
    memset(rest, 0x33, sizeof(rest));
    ss_pb_pkt_t q = ss_pb_udp6("2001:db8::1", 0, "2001:db8::2", 0);
    q.raw = rest;
    q.raw_len = sizeof(rest);
    q.v6.ext[0].type = SS_PB_EXT_FRAGMENT;
    q.v6.ext[0].frag_offset = 1232;
    q.v6.ext[0].frag_id = 0xAABBCCDDu;
    q.v6.next = 1;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &q);
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_FRAGMENT);
    assert_false(d.pkt.frag_more);
    assert_int_equal(d.pkt.frag_offset, 1232);
    assert_int_equal(d.pkt.ip_proto, 17);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    assert_false(d.pkt.ports_valid);
    assert_int_equal(d.pkt.l4_len, 16);
    dec_free(&d);
}

/* ---- lengths: padding and snaplen --------------------------------------- */

static void test_decode_ethernet_padding_never_payload(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;

    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.flags = SS_TCP_ACK;
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    assert_int_equal(n, 60);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.ip_len, 40);
    assert_int_equal(d.pkt.l4_len, 20);
    assert_int_equal(d.pkt.payload_len, 0);
    assert_int_equal(d.pkt.payload_caplen, 0);
    assert_false(d.pkt.flags & SS_PKT_SHORT_DATA);
    dec_free(&d);

    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 1, "10.0.0.2", 2);
    u.udp.payload = hello;
    u.udp.payload_len = 2;
    n = ss_pb_build(buf, sizeof(buf), &l, &u);
    assert_int_equal(n, 60);
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.ip_len, 30);
    assert_int_equal(d.pkt.payload_len, 2);
    assert_int_equal(d.pkt.payload_caplen, 2);
    dec_free(&d);

    /* The same over IPv6 with a VLAN tag. */
    l.nvlan = 1;
    l.vlan[0] = 7;
    l.pad_to = 100;
    ss_pb_pkt_t p6 = ss_pb_tcp6("2001:db8::1", 1, "2001:db8::2", 2);
    p6.tcp.payload = hello;
    p6.tcp.payload_len = 1;
    n = ss_pb_build(buf, sizeof(buf), &l, &p6);
    assert_int_equal(n, 100);
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.pkt.payload_len, 1);
    assert_int_equal(d.pkt.payload_caplen, 1);
    dec_free(&d);
}

static void test_decode_snaplen_cut_keeps_true_payload_len(void **state)
{
    (void)state;
    uint8_t pay[100];
    memset(pay, 'A', sizeof(pay));
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.payload = pay;
    p.tcp.payload_len = sizeof(pay);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    assert_int_equal(n, 154);
    dec_t d;
    dec_run(&d, buf, 54 + 30, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_true(d.pkt.flags & SS_PKT_SHORT_DATA);
    assert_false(d.pkt.flags & SS_PKT_TRUNCATED);
    assert_int_equal(d.pkt.ip_len, 140);
    assert_int_equal(d.pkt.payload_len, 100);
    assert_int_equal(d.pkt.payload_caplen, 30);
    dec_free(&d);
}

/* ---- ARP and ICMP ------------------------------------------------------- */

static void test_decode_arp_sets_l3_only(void **state)
{
    (void)state;
    uint8_t arp[28], buf[128];
    size_t an = ss_pb_arp_request(arp, sizeof(arp), "192.168.1.1", "192.168.1.2");
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;
    size_t n = ss_pb_wrap(buf, sizeof(buf), &l, 0x0806, arp, an);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.l3, SS_L3_ARP);
    assert_int_equal(d.pkt.ethertype, 0x0806);
    assert_int_equal(d.pkt.l4, SS_L4_NONE);
    assert_false(d.pkt.ports_valid);
    char nb[32];
    assert_string_equal(ss_decode_proto_name(&d.pkt, nb, sizeof(nb)), "arp");
    dec_free(&d);
}

static void test_decode_icmp_and_icmpv6_type_code_decoded(void **state)
{
    (void)state;
    uint8_t buf[128];
    static const uint8_t echo[8] = {8, 0, 0xF7, 0xFF, 0, 0, 0, 0};
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 0, "10.0.0.2", 0);
    p.proto = 1;
    p.raw = echo;
    p.raw_len = sizeof(echo);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.pkt.l3, SS_L3_IPV4);
    assert_int_equal(d.pkt.l4, SS_L4_ICMP);
    assert_int_equal(d.pkt.icmp_type, 8);
    assert_int_equal(d.pkt.icmp_code, 0);
    assert_false(d.pkt.ports_valid);
    dec_free(&d);

    static const uint8_t unreach[8] = {1, 4, 0, 0, 0, 0, 0, 0};
    ss_pb_pkt_t q = ss_pb_tcp6("2001:db8::1", 0, "2001:db8::2", 0);
    q.proto = 58;
    q.raw = unreach;
    q.raw_len = sizeof(unreach);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &q);
    dec_full(&d, buf, n, SS_LINK_ETHERNET);
    assert_int_equal(d.pkt.l3, SS_L3_IPV6);
    assert_int_equal(d.pkt.l4, SS_L4_ICMPV6);
    assert_int_equal(d.pkt.icmp_type, 1);
    assert_int_equal(d.pkt.icmp_code, 4);
    char nb[32];
    assert_string_equal(ss_decode_proto_name(&d.pkt, nb, sizeof(nb)), "icmpv6");
    dec_free(&d);
}

/* ---- truncation sweep --------------------------------------------------- */

/* What a full frame holds, to judge every prefix of it. */
typedef struct sweep {
    const char *name;
    int linktype;
    int ipver;
    uint8_t proto;
    uint32_t l3_off, l4_off, hdr_end; /* hdr_end: first payload byte */
    uint32_t payload_len;
    uint16_t sport, dport;
    uint32_t seq;
} sweep_t;

static void run_sweep(const sweep_t *s, const uint8_t *full, size_t n)
{
    assert_int_equal(n, s->hdr_end + s->payload_len);
    for (size_t cap = 0; cap <= n; cap++) {
        dec_t d;
        dec_run(&d, full, cap, n, s->linktype);
        const ss_packet_t *k = &d.pkt;
        uint32_t fl = k->flags;
        /* The return value is 0 or the bit that stopped decoding, and that bit is set. */
        assert_true(d.rc == 0 || d.rc == SS_PKT_TRUNCATED);
        assert_false(fl & SS_PKT_INVALID);
        assert_int_equal(k->problem, SS_DP_NONE);
        assert_int_equal(d.rc, fl & SS_PKT_TRUNCATED);
        if (cap < s->hdr_end) {
            /* The capture ended inside a header. */
            if (!(fl & SS_PKT_TRUNCATED))
                fail_msg("%s: prefix %zu of %zu not flagged truncated", s->name, cap, n);
            assert_non_null(k->truncated_in);
            assert_int_equal(k->payload_caplen, 0);
            /*
             * Once the fixed TCP header is in, the payload length is known from
             * the IP length even if the options were cut (the SHORT_DATA flag in
             * that case is checked by test_decode_tcp_options_cut_not_short_data).
             */
            if (k->payload_off) {
                assert_int_equal(s->proto, 6);
                assert_true(cap >= s->l4_off + 20);
                assert_int_equal(k->payload_off, s->hdr_end);
                assert_int_equal(k->payload_len, s->payload_len);
            } else {
                assert_false(fl & SS_PKT_SHORT_DATA);
            }
        } else {
            if (fl & SS_PKT_TRUNCATED)
                fail_msg("%s: prefix %zu of %zu flagged truncated", s->name, cap, n);
            assert_null(k->truncated_in);
            assert_int_equal(k->l4, s->proto == 6 ? SS_L4_TCP : SS_L4_UDP);
            assert_int_equal(k->payload_off, s->hdr_end);
            assert_int_equal(k->payload_len, s->payload_len);
            assert_int_equal(k->payload_caplen, cap - s->hdr_end);
            assert_int_equal((fl & SS_PKT_SHORT_DATA) != 0, cap < n);
        }
        /* Ports only once four transport bytes are in. */
        if (k->ports_valid != (cap >= s->l4_off + 4))
            fail_msg("%s: prefix %zu: ports_valid %d", s->name, cap, k->ports_valid);
        if (k->ports_valid) {
            uint16_t sp = s->proto == 6 ? k->tcp.sport : k->udp.sport;
            uint16_t dp = s->proto == 6 ? k->tcp.dport : k->udp.dport;
            assert_int_equal(sp, s->sport);
            assert_int_equal(dp, s->dport);
        }
        if (s->proto == 6 && cap >= s->l4_off + 20)
            assert_int_equal(k->tcp.seq, s->seq);
        /* The IP layer is known once its fixed header is in. */
        uint32_t ipfix = s->ipver == 4 ? 20 : 40;
        if (cap >= s->l3_off + ipfix) {
            assert_int_equal(k->l3, s->ipver == 4 ? SS_L3_IPV4 : SS_L3_IPV6);
            assert_int_equal(k->l3_off, s->l3_off);
            assert_int_equal(k->src.family, s->ipver);
        } else {
            assert_true(k->l3 == SS_L3_NONE || k->l3 == (s->ipver == 4 ? SS_L3_IPV4 : SS_L3_IPV6));
            assert_false(k->ports_valid);
        }
        dec_free(&d);
    }
}

static void test_decode_truncation_sweep_ethernet_ipv4_tcp_flagged_consistently(void **state)
{
    (void)state;
    static const uint8_t ipopts[4] = {0x94, 0x04, 0, 0};
    uint8_t pay[10];
    memset(pay, 'p', sizeof(pay));
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.1.1.1", 12345, "10.2.2.2", 443);
    p.v4.options = ipopts;
    p.v4.options_len = 4;
    p.tcp.seq = 0x10203040u;
    p.tcp.flags = SS_TCP_ACK | SS_TCP_PSH;
    p.tcp.opts = syn_opts;
    p.tcp.opts_len = sizeof(syn_opts);
    p.tcp.payload = pay;
    p.tcp.payload_len = sizeof(pay);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    sweep_t s = {"eth/ipv4+opts/tcp+opts", SS_LINK_ETHERNET, 4, 6, 14, 38, 78, 10, 12345, 443,
                 0x10203040u};
    run_sweep(&s, buf, n);
}

static void test_decode_truncation_sweep_ethernet_ipv6_tcp_flagged_consistently(void **state)
{
    (void)state;
    uint8_t pay[7];
    memset(pay, 'q', sizeof(pay));
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp6("2001:db8::1", 2000, "2001:db8::2", 3000);
    p.v6.ext[0].type = SS_PB_EXT_HOPOPTS;
    p.v6.next = 1;
    p.tcp.seq = 77;
    p.tcp.opts = opts12;
    p.tcp.opts_len = sizeof(opts12);
    p.tcp.payload = pay;
    p.tcp.payload_len = sizeof(pay);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    sweep_t s = {"eth/ipv6+hbh/tcp", SS_LINK_ETHERNET, 6, 6, 14, 62, 94, 7, 2000, 3000, 77};
    run_sweep(&s, buf, n);

    /* The plain chain, no extension header and no TCP options. */
    ss_pb_pkt_t q = ss_pb_tcp6("2001:db8::1", 2000, "2001:db8::2", 3000);
    q.tcp.seq = 78;
    q.tcp.payload = pay;
    q.tcp.payload_len = 3;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &q);
    sweep_t t = {"eth/ipv6/tcp", SS_LINK_ETHERNET, 6, 6, 14, 54, 74, 3, 2000, 3000, 78};
    run_sweep(&t, buf, n);
}

static void test_decode_truncation_sweep_sll2_ipv4_udp_flagged_consistently(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", 5353, "224.0.0.251", 5353);
    p.udp.payload = hello;
    p.udp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_LINUX_SLL2, &p);
    sweep_t s = {"sll2/ipv4/udp", SS_LINK_LINUX_SLL2, 4, 17, 20, 40, 48, 5, 5353, 5353, 0};
    run_sweep(&s, buf, n);
}

static void test_decode_truncation_sweep_null_ipv6_tcp_flagged_consistently(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp6("::1", 41000, "::1", 8080);
    p.tcp.seq = 0xFFFFFFFFu;
    p.tcp.opts = syn_opts;
    p.tcp.opts_len = sizeof(syn_opts);
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_NULL, &p);
    sweep_t s = {"null/ipv6/tcp", SS_LINK_NULL, 6, 6, 4, 44, 84, 5, 41000, 8080, 0xFFFFFFFFu};
    run_sweep(&s, buf, n);
}

static void test_decode_truncation_sweep_vlan_pppoe_ipv4_tcp_flagged_consistently(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.nvlan = 2;
    l.vlan[0] = 10;
    l.vlan[1] = 20;
    l.pppoe = true;
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.seq = 3;
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    sweep_t s = {"eth/qinq/pppoe/ipv4/tcp", SS_LINK_ETHERNET, 4, 6, 30, 50, 70, 5, 1, 2, 3};
    run_sweep(&s, buf, n);
}

/*
 * decode.h defines SS_PKT_TRUNCATED as "the capture ended inside a header"
 * and SS_PKT_SHORT_DATA as "headers complete, payload partly captured": a
 * capture that ends inside the TCP options must have the first and not the
 * second. Its payload length still comes from the IP length.
 */
static void test_decode_tcp_options_cut_not_short_data(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    p.tcp.opts = syn_opts;
    p.tcp.opts_len = sizeof(syn_opts);
    p.tcp.payload = hello;
    p.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &p);
    dec_t d;
    dec_run(&d, buf, 14 + 20 + 20 + 6, n, SS_LINK_ETHERNET); /* 6 of 20 option bytes */
    dec_free(&d); /* only the decoded fields are checked below */
    assert_int_equal(d.rc, SS_PKT_TRUNCATED);
    assert_true(d.pkt.flags & SS_PKT_TRUNCATED);
    assert_string_equal(d.pkt.truncated_in, "tcp options");
    assert_int_equal(d.pkt.payload_len, 5);
    assert_int_equal(d.pkt.payload_caplen, 0);
    assert_false(d.pkt.tcp.opts.malformed);
    assert_false(d.pkt.flags & SS_PKT_SHORT_DATA);
}

/*
 * An ICMP error quotes the start of the datagram it refers to. Every prefix
 * is decoded; the quoted fields appear only once their bytes are captured.
 */
static void sweep_icmp_error(int ipver)
{
    /* The quoted datagram: the original TCP segment, from the host the error goes to. */
    ss_pb_pkt_t q = ipver == 4 ? ss_pb_tcp4("10.0.0.1", 40000, "192.0.2.9", 443)
                               : ss_pb_tcp6("2001:db8::1", 40000, "2001:db8::9", 443);
    q.tcp.seq = 0x01020304u;
    q.tcp.ack = 0x0A0B0C0Du;
    q.tcp.flags = SS_TCP_PSH | SS_TCP_ACK;
    uint8_t inner[128], icmp[160], buf[256];
    size_t qn = ss_pb_ip(inner, sizeof(inner), &q);
    assert_int_equal(qn, ipver == 4 ? 40u : 60u);
    memset(icmp, 0, 8);
    icmp[0] = ipver == 4 ? 3 : 1; /* destination unreachable */
    icmp[1] = ipver == 4 ? 3 : 4; /* port unreachable */
    memcpy(icmp + 8, inner, qn);

    ss_pb_pkt_t outer = ipver == 4 ? ss_pb_tcp4("192.0.2.9", 0, "10.0.0.1", 0)
                                   : ss_pb_tcp6("2001:db8::9", 0, "2001:db8::1", 0);
    outer.proto = ipver == 4 ? 1 : 58;
    outer.raw = icmp;
    outer.raw_len = 8 + qn;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &outer);
    uint32_t icmp_off = ipver == 4 ? 34 : 54;
    uint32_t ports = icmp_off + 8 + (ipver == 4 ? 20 : 40);
    assert_int_equal(n, ports + 20);

    for (size_t cap = 0; cap <= n; cap++) {
        dec_t d;
        dec_run(&d, buf, cap, n, SS_LINK_ETHERNET);
        const ss_quoted_t *qt = &d.pkt.quoted;
        assert_false(d.pkt.flags & SS_PKT_INVALID);
        if (cap >= icmp_off + 2) {
            assert_int_equal(d.rc, 0);
            assert_int_equal(d.pkt.l4, ipver == 4 ? SS_L4_ICMP : SS_L4_ICMPV6);
            assert_int_equal(d.pkt.icmp_type, icmp[0]);
        } else {
            assert_int_equal(d.rc, SS_PKT_TRUNCATED);
        }
        if (qt->valid != (cap >= ports + 4))
            fail_msg("ipv%d: prefix %zu: quoted.valid %d", ipver, cap, qt->valid);
        if (qt->has_seq != (cap >= ports + 8))
            fail_msg("ipv%d: prefix %zu: quoted.has_seq %d", ipver, cap, qt->has_seq);
        if (qt->has_ack != (cap >= ports + 14))
            fail_msg("ipv%d: prefix %zu: quoted.has_ack %d", ipver, cap, qt->has_ack);
        if (qt->valid) {
            assert_int_equal(qt->proto, 6);
            assert_int_equal(qt->sport, 40000);
            assert_int_equal(qt->dport, 443);
            if (ipver == 4) {
                assert_addr4(&qt->src, "10.0.0.1");
                assert_addr4(&qt->dst, "192.0.2.9");
            } else {
                assert_addr6(&qt->src, "2001:db8::1");
                assert_addr6(&qt->dst, "2001:db8::9");
            }
        }
        if (qt->has_seq)
            assert_int_equal(qt->seq, 0x01020304u);
        if (qt->has_ack) {
            assert_int_equal(qt->ack, 0x0A0B0C0Du);
            assert_int_equal(qt->flags, SS_TCP_PSH | SS_TCP_ACK);
        }
        dec_free(&d);
    }
}

static void test_decode_truncation_sweep_icmp_error_quoted_only_when_captured(void **state)
{
    (void)state;
    sweep_icmp_error(4);
    sweep_icmp_error(6);
}

/* ---- checksums ---------------------------------------------------------- */

static void test_decode_builder_checksums_match_hand_computed(void **state)
{
    (void)state;
    /* The classic IPv4 header example: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7. */
    uint8_t filler[87] = {0};
    uint8_t buf[256];
    ss_pb_pkt_t u = ss_pb_udp4("192.168.0.1", 1, "192.168.0.199", 2);
    u.v4.df = true;
    u.udp.payload = filler;
    u.udp.payload_len = sizeof(filler);
    size_t n = ss_pb_ip(buf, sizeof(buf), &u);
    assert_int_equal(n, 0x73);
    assert_int_equal(ss_pb_get16(buf, 10), 0xB861);

    /* 10.0.0.1:1 -> 10.0.0.2:2 SYN, window 0: pseudo 0x141D + header 0x5005 = 0x6422, so ~ = 0x9BDD. */
    ss_pb_pkt_t t = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    t.tcp.flags = SS_TCP_SYN;
    t.tcp.win = 0;
    n = ss_pb_ip(buf, sizeof(buf), &t);
    assert_int_equal(ss_pb_get16(buf, 20 + 16), 0x9BDD);

    /* 10.0.0.1:53 -> 10.0.0.2:1024 "ab": 0x141E + 0x65A1 = 0x79BF, so ~ = 0x8640. */
    ss_pb_pkt_t d = ss_pb_udp4("10.0.0.1", 53, "10.0.0.2", 1024);
    d.udp.payload = (const uint8_t *)"ab";
    d.udp.payload_len = 2;
    n = ss_pb_ip(buf, sizeof(buf), &d);
    assert_int_equal(ss_pb_get16(buf, 20 + 6), 0x8640);

    /* Offload leaves the pseudo-header sum: 127.0.0.1 twice, TCP, 25 bytes -> 0xFE21. */
    ss_pb_pkt_t o = ss_pb_tcp4("127.0.0.1", 1, "127.0.0.1", 2);
    o.tcp.payload = hello;
    o.tcp.payload_len = 5;
    o.tcp.csum_mode = SS_PB_CSUM_OFFLOAD;
    n = ss_pb_ip(buf, sizeof(buf), &o);
    assert_int_equal(ss_pb_get16(buf, 20 + 16), 0xFE21);
}

static void verify(const uint8_t *buf, size_t caplen, size_t wirelen, int linktype,
                   ss_csum_result_t *r)
{
    dec_t d;
    dec_run(&d, buf, caplen, wirelen, linktype);
    ss_checksum_verify(&d.pkt, r);
    dec_free(&d);
}

static void test_decode_checksum_correct_ipv4_ipv6_tcp_udp_good(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_csum_result_t r;
    static const uint8_t ipopts[4] = {0x94, 0x04, 0, 0};

    ss_pb_pkt_t t = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    t.v4.options = ipopts;
    t.v4.options_len = 4;
    t.tcp.payload = hello; /* odd length: the last byte is padded for the sum */
    t.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_GOOD);

    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 53, "10.0.0.2", 1024);
    u.udp.payload = hello;
    u.udp.payload_len = 4;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &u);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_GOOD);

    ss_pb_pkt_t t6 = ss_pb_tcp6("2001:db8::1", 1, "2001:db8::2", 2);
    t6.tcp.payload = hello;
    t6.tcp.payload_len = 3;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t6);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_NOT_CHECKED);
    assert_int_equal(r.l4, SS_CSUM_GOOD);

    ss_pb_pkt_t u6 = ss_pb_udp6("2001:db8::1", 1, "2001:db8::2", 2);
    u6.udp.payload = hello;
    u6.udp.payload_len = 5;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &u6);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.l4, SS_CSUM_GOOD);

    /* Padding after the datagram is not summed. */
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;
    l.ethertype = 0;
    ss_pb_pkt_t a = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    n = ss_pb_build(buf, sizeof(buf), &l, &a);
    memset(buf + 54, 0xFF, 6);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.l4, SS_CSUM_GOOD);
}

static void test_decode_checksum_wrong_value_bad_with_expected(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_csum_result_t r;

    ss_pb_pkt_t t = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    t.tcp.payload = hello;
    t.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t);
    uint16_t good = ss_pb_get16(buf, 34 + 16);
    t.tcp.csum_mode = SS_PB_CSUM_VALUE;
    t.tcp.csum_value = (uint16_t)(good ^ 0x1234);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_BAD);
    assert_int_equal(r.l4_expected, good);

    /* The hand-computed UDP example, its checksum field zeroed... */
    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 53, "10.0.0.2", 1024);
    u.udp.payload = (const uint8_t *)"ab";
    u.udp.payload_len = 2;
    u.udp.csum_mode = SS_PB_CSUM_VALUE;
    u.udp.csum_value = 0x1111;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &u);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.l4, SS_CSUM_BAD);
    assert_int_equal(r.l4_expected, 0x8640);

    /* ...and over IPv6. */
    ss_pb_pkt_t t6 = ss_pb_tcp6("2001:db8::1", 1, "2001:db8::2", 2);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t6);
    good = ss_pb_get16(buf, 54 + 16);
    t6.tcp.csum_mode = SS_PB_CSUM_VALUE;
    t6.tcp.csum_value = (uint16_t)(good ^ 0x00F0);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t6);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.l4, SS_CSUM_BAD);
    assert_int_equal(r.l4_expected, good);

    /* A wrong IPv4 header checksum. */
    ss_pb_pkt_t h = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    h.v4.csum_mode = SS_PB_CSUM_VALUE;
    h.v4.csum_value = 0xABCD;
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &h);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_BAD);
    assert_int_equal(r.l4, SS_CSUM_GOOD);
}

static void test_decode_checksum_pseudo_header_only_is_offload(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_csum_result_t r;
    ss_pb_pkt_t t = ss_pb_tcp4("127.0.0.1", 40000, "127.0.0.1", 8080);
    t.tcp.payload = hello;
    t.tcp.payload_len = 5;
    size_t n = build(buf, sizeof(buf), SS_LINK_NULL, &t);
    uint16_t good = ss_pb_get16(buf, 4 + 20 + 16);
    t.tcp.csum_mode = SS_PB_CSUM_OFFLOAD;
    n = build(buf, sizeof(buf), SS_LINK_NULL, &t);
    assert_int_equal(ss_pb_get16(buf, 4 + 20 + 16), 0xFE21);
    verify(buf, n, n, SS_LINK_NULL, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_OFFLOAD);
    assert_int_equal(r.l4_expected, good);

    ss_pb_pkt_t u = ss_pb_udp6("::1", 1, "::1", 2);
    u.udp.payload = hello;
    u.udp.payload_len = 5;
    n = build(buf, sizeof(buf), SS_LINK_NULL, &u);
    good = ss_pb_get16(buf, 4 + 40 + 6);
    u.udp.csum_mode = SS_PB_CSUM_OFFLOAD;
    n = build(buf, sizeof(buf), SS_LINK_NULL, &u);
    verify(buf, n, n, SS_LINK_NULL, &r);
    assert_int_equal(r.l4, SS_CSUM_OFFLOAD);
    assert_int_equal(r.l4_expected, good);
}

static void test_decode_checksum_snaplen_cut_unverifiable(void **state)
{
    (void)state;
    uint8_t pay[40];
    memset(pay, 7, sizeof(pay));
    uint8_t buf[256];
    ss_csum_result_t r;
    ss_pb_pkt_t t = ss_pb_tcp4("10.0.0.1", 1, "10.0.0.2", 2);
    t.tcp.payload = pay;
    t.tcp.payload_len = sizeof(pay);
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &t);
    verify(buf, n - 1, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_UNVERIFIABLE);

    ss_pb_pkt_t u = ss_pb_udp6("2001:db8::1", 1, "2001:db8::2", 2);
    u.udp.payload = pay;
    u.udp.payload_len = sizeof(pay);
    n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &u);
    verify(buf, 14 + 40 + 8 + 10, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.l4, SS_CSUM_UNVERIFIABLE);
}

static void test_decode_checksum_udp_zero_over_ipv4_not_checked(void **state)
{
    (void)state;
    uint8_t buf[256];
    ss_csum_result_t r;
    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 1, "10.0.0.2", 2);
    u.udp.payload = hello;
    u.udp.payload_len = 5;
    u.udp.csum_mode = SS_PB_CSUM_VALUE;
    u.udp.csum_value = 0;
    size_t n = build(buf, sizeof(buf), SS_LINK_ETHERNET, &u);
    verify(buf, n, n, SS_LINK_ETHERNET, &r);
    assert_int_equal(r.ip, SS_CSUM_GOOD);
    assert_int_equal(r.l4, SS_CSUM_NOT_CHECKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ethernet_ipv4_tcp_every_field_decoded),
        cmocka_unit_test(test_decode_tcp_each_flag_bit_including_ae_decoded),
        cmocka_unit_test(test_decode_tcp_syn_options_mss_sackok_ts_nop_wscale_parsed),
        cmocka_unit_test(test_decode_tcp_options_sack_tfo_unknown_eol_parsed),
        cmocka_unit_test(test_decode_tcp_options_four_sack_blocks_and_tfo_request_parsed),
        cmocka_unit_test(test_decode_tcp_option_bad_length_is_malformed),
        cmocka_unit_test(test_decode_tcp_malformed_option_keeps_header_and_payload),
        cmocka_unit_test(test_decode_tcp_doff_below_5_invalid),
        cmocka_unit_test(test_decode_tcp_doff_past_ip_length_invalid),
        cmocka_unit_test(test_decode_ipv4_ihl_below_5_invalid),
        cmocka_unit_test(test_decode_ipv4_total_length_below_header_invalid),
        cmocka_unit_test(test_decode_ipv4_total_length_shorter_than_frame_bounds_payload),
        cmocka_unit_test(test_decode_ipv4_total_length_zero_is_tso),
        cmocka_unit_test(test_decode_udp_length_inconsistent_invalid),
        cmocka_unit_test(test_decode_ip_version_mismatch_invalid),
        cmocka_unit_test(test_decode_unsupported_linktype_reported),
        cmocka_unit_test(test_decode_each_link_type_ip_tcp_udp_decoded),
        cmocka_unit_test(test_decode_null_family_variants_recognised),
        cmocka_unit_test(test_decode_vlan_single_tag_id_kept),
        cmocka_unit_test(test_decode_qinq_two_tag_ids_kept),
        cmocka_unit_test(test_decode_pppoe_session_ipv4_and_ipv6_decoded),
        cmocka_unit_test(test_decode_ipv4_options_flagged_and_skipped),
        cmocka_unit_test(test_decode_ipv4_first_fragment_flagged_transport_decoded),
        cmocka_unit_test(test_decode_ipv4_later_fragment_has_no_transport),
        cmocka_unit_test(test_decode_ipv6_extension_chain_reaches_tcp),
        cmocka_unit_test(test_decode_ipv6_atomic_fragment_not_flagged),
        cmocka_unit_test(test_decode_ipv6_fragments_flagged_later_without_transport),
        cmocka_unit_test(test_decode_ethernet_padding_never_payload),
        cmocka_unit_test(test_decode_snaplen_cut_keeps_true_payload_len),
        cmocka_unit_test(test_decode_arp_sets_l3_only),
        cmocka_unit_test(test_decode_icmp_and_icmpv6_type_code_decoded),
        cmocka_unit_test(test_decode_truncation_sweep_ethernet_ipv4_tcp_flagged_consistently),
        cmocka_unit_test(test_decode_truncation_sweep_ethernet_ipv6_tcp_flagged_consistently),
        cmocka_unit_test(test_decode_truncation_sweep_sll2_ipv4_udp_flagged_consistently),
        cmocka_unit_test(test_decode_truncation_sweep_null_ipv6_tcp_flagged_consistently),
        cmocka_unit_test(test_decode_truncation_sweep_vlan_pppoe_ipv4_tcp_flagged_consistently),
        cmocka_unit_test(test_decode_truncation_sweep_icmp_error_quoted_only_when_captured),
        cmocka_unit_test(test_decode_tcp_options_cut_not_short_data),
        cmocka_unit_test(test_decode_builder_checksums_match_hand_computed),
        cmocka_unit_test(test_decode_checksum_correct_ipv4_ipv6_tcp_udp_good),
        cmocka_unit_test(test_decode_checksum_wrong_value_bad_with_expected),
        cmocka_unit_test(test_decode_checksum_pseudo_header_only_is_offload),
        cmocka_unit_test(test_decode_checksum_snaplen_cut_unverifiable),
        cmocka_unit_test(test_decode_checksum_udp_zero_over_ipv4_not_checked),
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
