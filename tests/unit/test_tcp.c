/* test_tcp.c - per-connection TCP analysis: relative numbers, window scaling, port reuse, wraparound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/tcp.h"

/*
 * The client is 10.0.0.1:40000 and sends in direction 0 (it sorts first in
 * the flow key); the server 10.0.0.2:80 sends in direction 1.
 */
#define C2S 0
#define S2C 1

/* A decoded segment with the bytes it points into. */
typedef struct seg {
    uint8_t buf[256];
    ss_frame_t frame;
    ss_packet_t pkt;
} seg_t;

static const uint8_t payload[200] = {0};

/* Window scale `ws` (or none when ws < 0) after MSS 1460: 8 bytes of options. */
static size_t syn_options(uint8_t out[8], int ws)
{
    static const uint8_t mss[4] = {2, 4, 0x05, 0xB4};
    memcpy(out, mss, 4);
    if (ws < 0) {
        out[4] = out[5] = out[6] = out[7] = 1; /* NOPs */
    } else {
        out[4] = 1;
        out[5] = 3;
        out[6] = 3;
        out[7] = (uint8_t)ws;
    }
    return 8;
}

static void mkseg(seg_t *s, int dir, uint16_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                  size_t len, const uint8_t *opts, size_t opts_len)
{
    ss_pb_pkt_t p = dir == C2S ? ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80)
                               : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.win = win;
    p.tcp.payload = payload;
    p.tcp.payload_len = len;
    p.tcp.opts = opts;
    p.tcp.opts_len = opts_len;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(s->buf, sizeof(s->buf), &l, &p);
    assert_true(n > 0);
    s->frame = ss_pb_frame(s->buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    assert_int_equal(ss_decode(&s->frame, &s->pkt), 0);
}

/* A connection under test and a running frame number / clock. */
typedef struct conn {
    ss_tcp_conn_t c;
    uint64_t frame;
    int64_t t_ns;
} conn_t;

static void conn_init(conn_t *k)
{
    memset(k, 0, sizeof(*k));
    ss_tcp_conn_init(&k->c, 100);
}

/* Builds, decodes and processes one segment; returns its analysis in *res. */
static void feed(conn_t *k, ss_tcp_result_t *res, int dir, uint16_t flags, uint32_t seq, uint32_t ack,
                 uint16_t win, size_t len, int ws)
{
    seg_t s;
    uint8_t opts[8];
    size_t olen = 0;
    if (flags & SS_TCP_SYN)
        olen = syn_options(opts, ws);
    mkseg(&s, dir, flags, seq, ack, win, len, olen ? opts : NULL, olen);
    k->frame++;
    k->t_ns += 1000000;
    ss_tcp_process(&k->c, dir, &s.pkt, k->t_ns, k->frame, res);
}

#define SYN SS_TCP_SYN
#define ACK SS_TCP_ACK
#define SYNACK (SS_TCP_SYN | SS_TCP_ACK)
#define PSHACK (SS_TCP_PSH | SS_TCP_ACK)
#define FINACK (SS_TCP_FIN | SS_TCP_ACK)
#define NO_WS (-1)

/* ---- relative numbers --------------------------------------------------- */

static void test_tcp_relative_numbers_with_syn_seen(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);

    feed(&k, &r, C2S, SYN, 1000, 0, 64240, 0, 7);
    assert_true(r.analyzed);
    assert_int_equal(r.rel_seq, 0);
    assert_int_equal(r.rel_ack, 0);
    assert_int_equal(r.next_seq_rel, 1); /* the SYN occupies one sequence number */

    feed(&k, &r, S2C, SYNACK, 5000, 1001, 65160, 0, 7);
    assert_int_equal(r.rel_seq, 0);
    assert_int_equal(r.rel_ack, 1);
    assert_int_equal(r.next_seq_rel, 1);

    feed(&k, &r, C2S, ACK, 1001, 5001, 502, 0, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 1);
    assert_int_equal(r.next_seq_rel, 1);

    feed(&k, &r, C2S, PSHACK, 1001, 5001, 502, 100, NO_WS);
    assert_int_equal(r.rel_seq, 1); /* the first data byte is 1 */
    assert_int_equal(r.next_seq_rel, 101);

    feed(&k, &r, S2C, PSHACK, 5001, 1101, 509, 50, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 101);
    assert_int_equal(r.next_seq_rel, 51);

    feed(&k, &r, C2S, FINACK, 1101, 5051, 502, 0, NO_WS);
    assert_int_equal(r.rel_seq, 101);
    assert_int_equal(r.rel_ack, 51);
    assert_int_equal(r.next_seq_rel, 102); /* so does the FIN */

    feed(&k, &r, S2C, FINACK, 5051, 1102, 509, 0, NO_WS);
    assert_int_equal(r.rel_seq, 51);
    assert_int_equal(r.rel_ack, 102);

    feed(&k, &r, C2S, ACK, 1102, 5052, 502, 0, NO_WS);
    assert_int_equal(r.rel_seq, 102);
    assert_int_equal(r.rel_ack, 52);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_relative_numbers_without_syn_start_at_one(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);

    /* Picked up mid-stream: the first segment seen counts as byte 1 of each side. */
    feed(&k, &r, C2S, PSHACK, 2000, 7000, 1000, 10, NO_WS);
    assert_true(r.analyzed);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 1);
    assert_int_equal(r.next_seq_rel, 11);

    feed(&k, &r, S2C, PSHACK, 7000, 2010, 1000, 30, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 11);

    feed(&k, &r, C2S, ACK, 2010, 7030, 1000, 0, NO_WS);
    assert_int_equal(r.rel_seq, 11);
    assert_int_equal(r.rel_ack, 31);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_relative_numbers_wrap_through_ffffffff_continue(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);

    feed(&k, &r, C2S, SYN, 0xFFFFFFF0u, 0, 1000, 0, NO_WS);
    assert_int_equal(r.rel_seq, 0);
    feed(&k, &r, S2C, SYNACK, 0xFFFFFFFFu, 0xFFFFFFF1u, 1000, 0, NO_WS);
    assert_int_equal(r.rel_seq, 0);
    assert_int_equal(r.rel_ack, 1);
    feed(&k, &r, C2S, ACK, 0xFFFFFFF1u, 0, 1000, 0, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 1); /* the server's SYN took 0xFFFFFFFF, so byte 1 is 0 */

    /* 100 bytes from 0xFFFFFFF1 end at 0x55 after the wrap. */
    feed(&k, &r, C2S, PSHACK, 0xFFFFFFF1u, 0, 1000, 100, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.next_seq_rel, 101);
    feed(&k, &r, C2S, PSHACK, 0x55, 0, 1000, 20, NO_WS);
    assert_int_equal(r.rel_seq, 101);
    assert_int_equal(r.next_seq_rel, 121);
    feed(&k, &r, S2C, ACK, 0, 0x69, 1000, 0, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 121);
    feed(&k, &r, S2C, PSHACK, 0, 0x69, 1000, 5, NO_WS);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.next_seq_rel, 6);
    ss_tcp_conn_fini(&k.c);
}

/* ---- window scaling ----------------------------------------------------- */

static void test_tcp_window_scale_both_syns_applies_shift(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);
    feed(&k, &r, C2S, SYN, 1000, 0, 64240, 0, 7);
    assert_int_equal(r.win, 64240); /* SYN windows are never scaled */
    feed(&k, &r, S2C, SYNACK, 5000, 1001, 65160, 0, 8);
    assert_int_equal(r.win, 65160);
    feed(&k, &r, C2S, ACK, 1001, 5001, 502, 0, NO_WS);
    assert_int_equal(r.win_scale, 7);
    assert_int_equal(r.win, 502u << 7);
    feed(&k, &r, S2C, ACK, 5001, 1001, 509, 0, NO_WS);
    assert_int_equal(r.win_scale, 8);
    assert_int_equal(r.win, 509u << 8);
    /* A large raw window still fits after scaling. */
    feed(&k, &r, S2C, ACK, 5001, 1001, 0xFFFF, 0, NO_WS);
    assert_int_equal(r.win, 0xFFFFu << 8);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_window_scale_syn_without_option_none_both_ways(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);
    feed(&k, &r, C2S, SYN, 1000, 0, 29200, 0, NO_WS);
    /* The SYN-ACK offers a shift, but the SYN did not: scaling is off for both. */
    feed(&k, &r, S2C, SYNACK, 5000, 1001, 29200, 0, 8);
    feed(&k, &r, C2S, ACK, 1001, 5001, 1000, 0, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_NONE);
    assert_int_equal(r.win, 1000);
    feed(&k, &r, S2C, ACK, 5001, 1001, 1000, 0, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_NONE);
    assert_int_equal(r.win, 1000);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_window_scale_synack_without_option_none_both_ways(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);
    feed(&k, &r, C2S, SYN, 1000, 0, 29200, 0, 7);
    feed(&k, &r, S2C, SYNACK, 5000, 1001, 29200, 0, NO_WS);
    feed(&k, &r, C2S, ACK, 1001, 5001, 1000, 0, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_NONE);
    assert_int_equal(r.win, 1000);
    feed(&k, &r, S2C, ACK, 5001, 1001, 1000, 0, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_NONE);
    assert_int_equal(r.win, 1000);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_window_scale_shift_above_14_clamped(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);
    feed(&k, &r, C2S, SYN, 1000, 0, 1000, 0, 15);
    feed(&k, &r, S2C, SYNACK, 5000, 1001, 1000, 0, 200);
    feed(&k, &r, C2S, ACK, 1001, 5001, 1, 0, NO_WS);
    assert_int_equal(r.win_scale, 14);
    assert_int_equal(r.win, 1u << 14);
    feed(&k, &r, S2C, ACK, 5001, 1001, 3, 0, NO_WS);
    assert_int_equal(r.win_scale, 14);
    assert_int_equal(r.win, 3u << 14);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_window_scale_handshake_missed_unknown_raw(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);
    feed(&k, &r, C2S, ACK, 1001, 5001, 1234, 0, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_UNKNOWN);
    assert_int_equal(r.win, 1234);
    feed(&k, &r, S2C, PSHACK, 5001, 1001, 4321, 10, NO_WS);
    assert_int_equal(r.win_scale, SS_WSCALE_UNKNOWN);
    assert_int_equal(r.win, 4321);
    ss_tcp_conn_fini(&k.c);
}

/* ---- port reuse --------------------------------------------------------- */

static void test_tcp_port_reuse_only_syn_with_new_isn(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    seg_t s;
    conn_init(&k);

    /* Before anything was seen from that side, a SYN is no reuse. */
    mkseg(&s, C2S, SYN, 1000, 0, 1000, 0, NULL, 0);
    assert_false(ss_tcp_is_port_reuse(&k.c, C2S, &s.pkt));

    feed(&k, &r, C2S, SYN, 1000, 0, 1000, 0, NO_WS);
    feed(&k, &r, S2C, SYNACK, 5000, 1001, 1000, 0, NO_WS);
    feed(&k, &r, C2S, ACK, 1001, 5001, 1000, 0, NO_WS);

    mkseg(&s, C2S, SYN, 9000, 0, 1000, 0, NULL, 0);
    assert_true(ss_tcp_is_port_reuse(&k.c, C2S, &s.pkt));
    /* The same ISN again is a retransmitted SYN, not a new connection. */
    mkseg(&s, C2S, SYN, 1000, 0, 1000, 0, NULL, 0);
    assert_false(ss_tcp_is_port_reuse(&k.c, C2S, &s.pkt));
    /* A SYN-ACK never starts a conversation. */
    mkseg(&s, C2S, SYNACK, 9000, 5001, 1000, 0, NULL, 0);
    assert_false(ss_tcp_is_port_reuse(&k.c, C2S, &s.pkt));
    mkseg(&s, S2C, SYNACK, 7777, 1001, 1000, 0, NULL, 0);
    assert_false(ss_tcp_is_port_reuse(&k.c, S2C, &s.pkt));
    /* Nor does a plain segment with another sequence number. */
    mkseg(&s, C2S, ACK, 9000, 5001, 1000, 0, NULL, 0);
    assert_false(ss_tcp_is_port_reuse(&k.c, C2S, &s.pkt));
    /* The other side opening with a new ISN is a new connection too. */
    mkseg(&s, S2C, SYN, 7777, 0, 1000, 0, NULL, 0);
    assert_true(ss_tcp_is_port_reuse(&k.c, S2C, &s.pkt));
    ss_tcp_conn_fini(&k.c);
}

/* ---- headers that cannot be analysed ------------------------------------ */

static void test_tcp_bad_data_offset_not_analyzed_raw_numbers(void **state)
{
    (void)state;
    conn_t k;
    ss_tcp_result_t r;
    conn_init(&k);

    seg_t s;
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    p.tcp.flags = ACK;
    p.tcp.seq = 123456;
    p.tcp.ack = 654321;
    p.tcp.win = 999;
    p.tcp.doff_set = true;
    p.tcp.doff = 4;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(s.buf, sizeof(s.buf), &l, &p);
    s.frame = ss_pb_frame(s.buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    assert_int_equal(ss_decode(&s.frame, &s.pkt), SS_PKT_INVALID);
    assert_false(ss_tcp_analyzable(&s.pkt));

    ss_tcp_process(&k.c, C2S, &s.pkt, 1000, 1, &r);
    assert_false(r.analyzed);
    assert_int_equal(r.rel_seq, 123456);
    assert_int_equal(r.rel_ack, 654321);
    assert_int_equal(r.win, 999);

    /* It left no trace: the first good segment still sets the bases. */
    feed(&k, &r, C2S, ACK, 2000, 3000, 100, 0, NO_WS);
    assert_true(r.analyzed);
    assert_int_equal(r.rel_seq, 1);
    assert_int_equal(r.rel_ack, 1);
    ss_tcp_conn_fini(&k.c);
}

static void test_tcp_analyzable_false_for_fragment_and_udp(void **state)
{
    (void)state;
    seg_t s;
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    p.v4.mf = true;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(s.buf, sizeof(s.buf), &l, &p);
    s.frame = ss_pb_frame(s.buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    ss_decode(&s.frame, &s.pkt);
    assert_int_equal(s.pkt.l4, SS_L4_TCP);
    assert_false(ss_tcp_analyzable(&s.pkt));

    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 40000, "10.0.0.2", 80);
    n = ss_pb_build(s.buf, sizeof(s.buf), &l, &u);
    s.frame = ss_pb_frame(s.buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    ss_decode(&s.frame, &s.pkt);
    assert_false(ss_tcp_analyzable(&s.pkt));

    ss_pb_pkt_t ok = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    n = ss_pb_build(s.buf, sizeof(s.buf), &l, &ok);
    s.frame = ss_pb_frame(s.buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    ss_decode(&s.frame, &s.pkt);
    assert_true(ss_tcp_analyzable(&s.pkt));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_relative_numbers_with_syn_seen),
        cmocka_unit_test(test_tcp_relative_numbers_without_syn_start_at_one),
        cmocka_unit_test(test_tcp_relative_numbers_wrap_through_ffffffff_continue),
        cmocka_unit_test(test_tcp_window_scale_both_syns_applies_shift),
        cmocka_unit_test(test_tcp_window_scale_syn_without_option_none_both_ways),
        cmocka_unit_test(test_tcp_window_scale_synack_without_option_none_both_ways),
        cmocka_unit_test(test_tcp_window_scale_shift_above_14_clamped),
        cmocka_unit_test(test_tcp_window_scale_handshake_missed_unknown_raw),
        cmocka_unit_test(test_tcp_port_reuse_only_syn_with_new_isn),
        cmocka_unit_test(test_tcp_bad_data_offset_not_analyzed_raw_numbers),
        cmocka_unit_test(test_tcp_analyzable_false_for_fragment_and_udp),
    };
    return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
