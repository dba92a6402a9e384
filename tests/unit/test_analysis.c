/* test_analysis.c - Wireshark's tcp.analysis flags, their precedence, and derived fields (RTT, BiF, SACK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/analyzer.h"
#include "segscope/sink.h"
#include "segscope/tcp.h"

/*
 * Each test builds one short connection segment by segment and runs it
 * through ss_tcp_process, with explicit capture times: the rules depend on
 * 20 ms (fast retransmission), the iRTT or 3 ms (out-of-order) and exact
 * sequence positions. The expected values follow the spec
 * (docs/tcp-analysis.md, sections 2-4: Wireshark 4.0.17).
 *
 * The client is 10.0.0.1:40000 and sends in flow-key direction 0; the
 * server 10.0.0.2:80 sends in direction 1. Client ISN 1000 (first data byte
 * 1001 = relative 1), server ISN 5000.
 */
#define C 0
#define S 1

#define SYN SS_TCP_SYN
#define ACK SS_TCP_ACK
#define RST SS_TCP_RST
#define SYNACK (SS_TCP_SYN | SS_TCP_ACK)
#define PSHACK (SS_TCP_PSH | SS_TCP_ACK)
#define FINACK (SS_TCP_FIN | SS_TCP_ACK)
#define RSTACK (SS_TCP_RST | SS_TCP_ACK)

#define WIN 8192
#define NO_WS (-1)
#define NS_PER_MS 1000000LL
#define NS_PER_US 1000LL

static const uint8_t zeros[400];

typedef struct conn {
    ss_tcp_conn_t c;
    uint64_t frame;
} conn_t;

/*
 * Each test gets a connection from the setup; the teardown releases it even
 * when the test fails. conn_reset() starts over within a test.
 */
static int conn_setup(void **state)
{
    conn_t *k = calloc(1, sizeof(*k));
    if (!k)
        return -1;
    ss_tcp_conn_init(&k->c, 1000);
    *state = k;
    return 0;
}

static int conn_teardown(void **state)
{
    conn_t *k = *state;
    ss_tcp_conn_fini(&k->c);
    free(k);
    return 0;
}

static void conn_reset(conn_t *k)
{
    ss_tcp_conn_fini(&k->c);
    memset(k, 0, sizeof(*k));
    ss_tcp_conn_init(&k->c, 1000);
}

/*
 * Builds, decodes and analyses one segment sent by `from` at `t_us`
 * microseconds of capture time; the frame number counts up from 1.
 */
static void feed_opts(conn_t *k, ss_tcp_result_t *r, int64_t t_us, int from, uint16_t flags, uint32_t seq,
                      uint32_t ack, uint16_t win, size_t len, const uint8_t *opts, size_t olen)
{
    uint8_t buf[600];
    ss_pb_pkt_t p = from == C ? ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80)
                              : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.win = win;
    assert_true(len <= sizeof(zeros));
    p.tcp.payload = len ? zeros : NULL;
    p.tcp.payload_len = len;
    p.tcp.opts = opts;
    p.tcp.opts_len = olen;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(buf, sizeof(buf), &l, &p);
    assert_true(n > 0);
    k->frame++;
    ss_frame_t fr =
        ss_pb_frame(buf, n, SS_LINK_ETHERNET, k->frame, t_us / 1000000, (uint32_t)(t_us % 1000000) * 1000u);
    ss_packet_t pkt;
    ss_decode(&fr, &pkt);
    assert_int_equal(pkt.l4, SS_L4_TCP);
    assert_int_equal(pkt.payload_len, len);
    ss_tcp_process(&k->c, from, &pkt, t_us * NS_PER_US, k->frame, r);
    assert_true(r->analyzed);
}

static void feed(conn_t *k, ss_tcp_result_t *r, int64_t t_us, int from, uint16_t flags, uint32_t seq,
                 uint32_t ack, uint16_t win, size_t len)
{
    feed_opts(k, r, t_us, from, flags, seq, ack, win, len, NULL, 0);
}

/* Window scale option `ws` as NOP + WS (4 bytes). */
static size_t ws_option(uint8_t out[4], int ws)
{
    out[0] = 1;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)ws;
    return 4;
}

/* NOP NOP SACK with `n` blocks of raw edges. */
static size_t sack_option(uint8_t *out, int n, const uint32_t (*blocks)[2])
{
    size_t o = 0;
    out[o++] = 1;
    out[o++] = 1;
    out[o++] = 5;
    out[o++] = (uint8_t)(2 + 8 * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2; j++) {
            uint32_t v = blocks[i][j];
            out[o++] = (uint8_t)(v >> 24);
            out[o++] = (uint8_t)(v >> 16);
            out[o++] = (uint8_t)(v >> 8);
            out[o++] = (uint8_t)v;
        }
    return o;
}

static void feed_sack(conn_t *k, ss_tcp_result_t *r, int64_t t_us, int from, uint32_t seq, uint32_t ack,
                      int n, const uint32_t (*blocks)[2])
{
    uint8_t opts[40];
    size_t olen = sack_option(opts, n, blocks);
    feed_opts(k, r, t_us, from, ACK, seq, ack, WIN, 0, opts, olen);
}

/*
 * Frames 1-3 at t0, t0 + irtt/2 and t0 + irtt: SYN (ISN 1000), SYN-ACK
 * (ISN 5000), ACK. Windows WIN throughout; window scale options `ws_c` /
 * `ws_s` unless negative. The iRTT is then `irtt_us`.
 */
static void handshake_ws(conn_t *k, int64_t t0_us, int64_t irtt_us, int ws_c, int ws_s)
{
    ss_tcp_result_t r;
    uint8_t o[4];
    size_t ol = ws_c >= 0 ? ws_option(o, ws_c) : 0;
    feed_opts(k, &r, t0_us, C, SYN, 1000, 0, WIN, 0, ol ? o : NULL, ol);
    assert_int_equal(r.flags, 0);
    ol = ws_s >= 0 ? ws_option(o, ws_s) : 0;
    feed_opts(k, &r, t0_us + irtt_us / 2, S, SYNACK, 5000, 1001, WIN, 0, ol ? o : NULL, ol);
    assert_int_equal(r.flags, 0);
    feed(k, &r, t0_us + irtt_us, C, ACK, 1001, 5001, WIN, 0);
    assert_int_equal(r.flags, 0);
}

/* A handshake at t = 1 s with an iRTT of 20 ms and no window scaling. */
static void handshake(conn_t *k) { handshake_ws(k, 1000000, 20000, NO_WS, NO_WS); }

#define MS(x) ((int64_t)(x) * 1000) /* milliseconds as microseconds */

/* The flags must be exactly `want`. */
static void expect_flags_(const ss_tcp_result_t *r, uint32_t want, uint64_t frame, int line)
{
    if (r->flags == want)
        return;
    char got[400] = "", exp[400] = "";
    for (int b = 0; b < SS_TA_COUNT; b++) {
        if (r->flags & (1u << b))
            snprintf(got + strlen(got), sizeof(got) - strlen(got), " %s", ss_tcp_analysis_name(b));
        if (want & (1u << b))
            snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), " %s", ss_tcp_analysis_name(b));
    }
    fail_msg("line %d, frame %llu: flags%s; expected%s", line, (unsigned long long)frame,
             got[0] ? got : " none", exp[0] ? exp : " none");
}
#define EXPECT_FLAGS(r, want) expect_flags_(&(r), (want), k->frame, __LINE__)

#define RETRANS SS_TA(RETRANSMISSION)
#define FAST (SS_TA(FAST_RETRANSMISSION) | SS_TA(RETRANSMISSION))
#define SPURIOUS (SS_TA(SPURIOUS_RETRANSMISSION) | SS_TA(RETRANSMISSION))
#define OOO SS_TA(OUT_OF_ORDER)
#define LOST SS_TA(LOST_SEGMENT)
#define ACK_LOST SS_TA(ACK_LOST_SEGMENT)
#define DUP SS_TA(DUPLICATE_ACK)
#define ZW SS_TA(ZERO_WINDOW)
#define ZWP SS_TA(ZERO_WINDOW_PROBE)
#define ZWP_ACK SS_TA(ZERO_WINDOW_PROBE_ACK)
#define WFULL SS_TA(WINDOW_FULL)
#define WUPD SS_TA(WINDOW_UPDATE)
#define KA SS_TA(KEEP_ALIVE)
#define KA_ACK SS_TA(KEEP_ALIVE_ACK)

/* ---- 3.1 retransmission ------------------------------------------------- */

static void test_analysis_retransmission_after_irtt_rto_from_oldest_unacked(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4: [1,101) */
    EXPECT_FLAGS(r, 0);
    assert_false(r.has_rto);
    feed(k, &r, MS(1040), C, PSHACK, 1101, 5001, WIN, 100); /* 5: [101,201) */
    EXPECT_FLAGS(r, 0);
    /* 6: frame 5 again 460 ms later, far beyond the 20 ms iRTT. */
    feed(k, &r, MS(1500), C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, RETRANS);
    assert_int_equal(r.rel_seq, 101);
    assert_int_equal(r.expected_rel, 201);
    /* The RTO counts from the oldest unacknowledged segment (frame 4)... */
    assert_true(r.has_rto);
    assert_int_equal(r.rto_ns, 470 * NS_PER_MS);
    assert_int_equal(r.rto_frame, 4);
    /* ...while the first copy of these bytes was frame 5. */
    assert_int_equal(r.first_sent_frame, 5);
    assert_int_equal(r.since_first_ns, 460 * NS_PER_MS);
}

static void test_analysis_resend_of_latest_segment_within_irtt_is_retransmission(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    /* 5 ms later, inside the iRTT, but it ends exactly at next_seq: not out-of-order (3.4). */
    feed(k, &r, MS(1035), C, PSHACK, 1001, 5001, WIN, 100);
    EXPECT_FLAGS(r, RETRANS);
    assert_true(r.has_rto);
    assert_int_equal(r.rto_ns, 5 * NS_PER_MS);
    assert_int_equal(r.rto_frame, 4);
    assert_int_equal(r.first_sent_frame, 4);
}

/* ---- 3.2 fast retransmission -------------------------------------------- */

/*
 * Frames 4-8: data [1,101) and [201,301) (the capture misses [101,201)),
 * the server's ACK of 101 and `ndup` duplicates of it, 1 ms apart from
 * t = 1.050 s. Returns the time of the server's last packet.
 */
static int64_t hole_and_dup_acks(conn_t *k, int ndup, int64_t gap_t_us)
{
    ss_tcp_result_t r;
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    assert_int_equal(r.flags, 0);
    feed(k, &r, gap_t_us, C, PSHACK, 1201, 5001, WIN, 100); /* 5: after a hole */
    assert_int_equal(r.flags, LOST);
    int64_t t = MS(1050);
    feed(k, &r, t, S, ACK, 5001, 1101, WIN, 0); /* 6 */
    assert_int_equal(r.flags, 0);
    for (int i = 1; i <= ndup; i++) {
        t += 1000;
        feed(k, &r, t, S, ACK, 5001, 1101, WIN, 0);
        assert_int_equal(r.flags, DUP);
        assert_int_equal(r.dup_ack_num, i);
        assert_int_equal(r.dup_ack_of, 6);
    }
    return t;
}

static void test_analysis_fast_retransmission_after_two_dup_acks_within_20ms(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    int64_t last = hole_and_dup_acks(k, 2, MS(1031));
    /* The missing segment 8 ms after the second dup ACK, 29 ms after the highest segment (> iRTT). */
    feed(k, &r, last + MS(8), C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, FAST);
    assert_false(r.has_rto);
    assert_int_equal(r.rel_seq, 101);
}

static void test_analysis_fast_retransmission_needs_two_dup_acks(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    int64_t last = hole_and_dup_acks(k, 1, MS(1031));
    feed(k, &r, last + MS(8), C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, RETRANS);
    assert_true(r.has_rto);
}

static void test_analysis_fast_retransmission_only_under_20ms_after_last_dup_ack(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    int64_t last;

    /* 19.999 ms after the last duplicate ACK: fast. */
    handshake(k);
    last = hole_and_dup_acks(k, 2, MS(1031));
    feed(k, &r, last + 19999, C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, FAST);

    /* Exactly 20 ms: an ordinary retransmission. */
    conn_reset(k);
    handshake(k);
    last = hole_and_dup_acks(k, 2, MS(1031));
    feed(k, &r, last + 20000, C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, RETRANS);

    /* A resend of other bytes than the duplicate ACKs ask for is no fast retransmission either. */
    conn_reset(k);
    handshake(k);
    last = hole_and_dup_acks(k, 3, MS(1031));
    feed(k, &r, last + MS(1), C, PSHACK, 1001, 5001, WIN, 100);
    EXPECT_FLAGS(r, SPURIOUS); /* [1,101) was acknowledged: spurious */
}

/* ---- 3.3 spurious retransmission ---------------------------------------- */

static void test_analysis_spurious_retransmission_only_when_fully_acked(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;

    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, WIN, 0);      /* 5: everything acknowledged */
    feed(k, &r, MS(1300), C, PSHACK, 1001, 5001, WIN, 100); /* 6 */
    EXPECT_FLAGS(r, SPURIOUS);
    assert_false(r.has_rto);

    /* Half of it acknowledged: an ordinary retransmission, RTO from the first copy. */
    conn_reset(k);
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1051, WIN, 0);      /* 5 */
    feed(k, &r, MS(1300), C, PSHACK, 1001, 5001, WIN, 100); /* 6 */
    EXPECT_FLAGS(r, RETRANS);
    assert_true(r.has_rto);
    assert_int_equal(r.rto_ns, 270 * NS_PER_MS);
    assert_int_equal(r.rto_frame, 4);
}

/* ---- 3.4 out-of-order --------------------------------------------------- */

/* Data [1,101), then [201,301) at 1.031 s, then the missing [101,201) at `t_us`. */
static void fill_hole_at(conn_t *k, ss_tcp_result_t *r, int64_t t_us)
{
    feed(k, r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, r, MS(1031), C, PSHACK, 1201, 5001, WIN, 100); /* 5 */
    assert_int_equal(r->flags, LOST);
    feed(k, r, t_us, C, PSHACK, 1101, 5001, WIN, 100); /* 6 */
}

static void test_analysis_out_of_order_within_irtt_retransmission_after(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;

    handshake(k);
    fill_hole_at(k, &r, MS(1036)); /* 5 ms after the highest segment */
    EXPECT_FLAGS(r, OOO);
    assert_false(r.has_rto);
    assert_true(r.has_irtt);
    assert_int_equal(r.irtt_ns, 20 * NS_PER_MS);

    conn_reset(k);
    handshake(k);
    fill_hole_at(k, &r, MS(1031) + 19999); /* just inside the iRTT */
    EXPECT_FLAGS(r, OOO);

    conn_reset(k);
    handshake(k);
    fill_hole_at(k, &r, MS(1031) + 20000); /* exactly the iRTT: too late */
    EXPECT_FLAGS(r, RETRANS);
    assert_true(r.has_rto);
    assert_int_equal(r.rto_ns, 21 * NS_PER_MS); /* from frame 4, the oldest unacknowledged */
    assert_int_equal(r.rto_frame, 4);
    assert_int_equal(r.first_sent_frame, 0); /* these bytes were never seen before */
}

static void test_analysis_out_of_order_threshold_3ms_without_irtt(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;

    /* Picked up mid-stream: no SYN, so no iRTT, and the threshold is 3 ms. */
    feed(k, &r, MS(2000), C, PSHACK, 1001, 5001, WIN, 100);
    feed(k, &r, MS(2001), C, PSHACK, 1201, 5001, WIN, 100);
    EXPECT_FLAGS(r, LOST);
    feed(k, &r, MS(2003) + 999, C, PSHACK, 1101, 5001, WIN, 100); /* 2.999 ms */
    EXPECT_FLAGS(r, OOO);
    assert_false(r.has_irtt);

    conn_reset(k);
    feed(k, &r, MS(2000), C, PSHACK, 1001, 5001, WIN, 100);
    feed(k, &r, MS(2001), C, PSHACK, 1201, 5001, WIN, 100);
    feed(k, &r, MS(2004), C, PSHACK, 1101, 5001, WIN, 100); /* 3 ms */
    EXPECT_FLAGS(r, RETRANS);
}

/* ---- 3.5 lost segment --------------------------------------------------- */

static void test_analysis_lost_segment_suspends_bytes_in_flight_until_peer_ack(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    EXPECT_FLAGS(r, 0);
    assert_true(r.has_bif);
    assert_int_equal(r.bytes_in_flight, 100);
    feed(k, &r, MS(1031), C, PSHACK, 1201, 5001, WIN, 100); /* 5: [101,201) never captured */
    EXPECT_FLAGS(r, LOST);
    assert_int_equal(r.rel_seq, 201);
    assert_int_equal(r.expected_rel, 101);
    assert_false(r.has_bif);
    feed(k, &r, MS(1032), C, PSHACK, 1301, 5001, WIN, 100); /* 6: contiguous again, BiF still off */
    EXPECT_FLAGS(r, 0);
    assert_false(r.has_bif);
    feed(k, &r, MS(1050), S, ACK, 5001, 1101, WIN, 0); /* 7: the peer's ACK turns it back on */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1060), C, PSHACK, 1401, 5001, WIN, 100); /* 8 */
    EXPECT_FLAGS(r, 0);
    assert_true(r.has_bif);
    /* Remembered: [201,301), [301,401), [401,501). */
    assert_int_equal(r.bytes_in_flight, 300);
    /* A RST beyond next_seq is no gap. */
    feed(k, &r, MS(1070), C, RST, 3000, 0, 0, 0);
    EXPECT_FLAGS(r, 0);
}

/* ---- 3.6 ACKed unseen segment ------------------------------------------- */

static void test_analysis_ack_lost_segment_each_ack_past_a_hole(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1031), C, PSHACK, 1201, 5001, WIN, 100); /* 5: after a hole */
    EXPECT_FLAGS(r, LOST);
    /* 6: acknowledges [101,201), which the capture never showed. */
    feed(k, &r, MS(1040), S, ACK, 5001, 1301, WIN, 0);
    EXPECT_FLAGS(r, ACK_LOST);
    assert_int_equal(r.rel_ack, 301);
    assert_true(r.has_ack_rtt); /* it still ends exactly at frame 5 */
    assert_int_equal(r.acks_frame, 5);
    assert_int_equal(r.ack_rtt_ns, 9 * NS_PER_MS);
    feed(k, &r, MS(1045), C, PSHACK, 1401, 5001, WIN, 100); /* 7: another hole */
    EXPECT_FLAGS(r, LOST);
    /* 8: past the next hole: flagged again (4.0.17 flags every ACK beyond the contiguous data). */
    feed(k, &r, MS(1055), S, ACK, 5001, 1501, WIN, 0);
    EXPECT_FLAGS(r, ACK_LOST);
    /* 9: a further ACK inside what was seen is fine again. */
    feed(k, &r, MS(1056), C, PSHACK, 1501, 5001, WIN, 100);
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1066), S, ACK, 5001, 1601, WIN, 0);
    EXPECT_FLAGS(r, 0);
}

static void test_analysis_ack_lost_segment_ahead_of_all_data_repeat_suppressed(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4: [1,101) */
    /* 5: acknowledges up to 201, beyond anything the client was seen to send. */
    feed(k, &r, MS(1040), S, ACK, 5001, 1201, WIN, 0);
    EXPECT_FLAGS(r, ACK_LOST);
    assert_false(r.has_ack_rtt); /* no segment ends at 201 */
    /* 6, 7: the same ACK again: duplicate ACKs, and the same hole is not reported twice. */
    feed(k, &r, MS(1041), S, ACK, 5001, 1201, WIN, 0);
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 1);
    assert_int_equal(r.dup_ack_of, 5);
    feed(k, &r, MS(1042), S, ACK, 5001, 1201, WIN, 0);
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 2);
}

/* ---- 3.7 duplicate ACK -------------------------------------------------- */

static void test_analysis_duplicate_ack_counts_from_frame_first_carrying_ack(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1031), C, PSHACK, 1101, 5001, WIN, 100); /* 5 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, WIN, 0);      /* 6: first carries ACK 101 */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1041), S, ACK, 5001, 1101, WIN, 0); /* 7 */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 1);
    assert_int_equal(r.dup_ack_of, 6);
    feed(k, &r, MS(1042), C, PSHACK, 1201, 5001, WIN, 100); /* 8: the other side does not interrupt */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1043), S, ACK, 5001, 1101, WIN, 0); /* 9 */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 2);
    assert_int_equal(r.dup_ack_of, 6);
    feed(k, &r, MS(1044), S, ACK, 5001, 1101, WIN, 0); /* 10 */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 3);
    assert_int_equal(r.dup_ack_of, 6);
    /* 11: data from the same side with the same ACK neither counts nor resets. */
    feed(k, &r, MS(1045), S, PSHACK, 5001, 1101, WIN, 10);
    EXPECT_FLAGS(r, 0);
    assert_int_equal(r.dup_ack_num, 0);
    feed(k, &r, MS(1046), S, ACK, 5011, 1101, WIN, 0); /* 12 */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 4);
    assert_int_equal(r.dup_ack_of, 6);
    /* 13: a new ACK number restarts the count. */
    feed(k, &r, MS(1050), S, ACK, 5011, 1301, WIN, 0);
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1051), S, ACK, 5011, 1301, WIN, 0); /* 14 */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 1);
    assert_int_equal(r.dup_ack_of, 13);
    /* 15: only the window changed: a window update, not a duplicate ACK. */
    feed(k, &r, MS(1052), S, ACK, 5011, 1301, 4096, 0);
    EXPECT_FLAGS(r, WUPD);
    assert_int_equal(r.dup_ack_num, 0);
    feed(k, &r, MS(1053), S, ACK, 5011, 1301, 4096, 0); /* 16: the count went on */
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 2);
    assert_int_equal(r.dup_ack_of, 13);
}

/* ---- 3.9-3.11 zero window, probe, probe ACK ----------------------------- */

static void test_analysis_zero_window_flagged_but_not_on_rst_or_fin(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, 0, 0);        /* 5 */
    EXPECT_FLAGS(r, ZW);
    assert_int_equal(r.win, 0);
    feed(k, &r, MS(1050), S, FINACK, 5001, 1101, 0, 0); /* 6 */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1060), S, RSTACK, 5002, 1101, 0, 0); /* 7 */
    EXPECT_FLAGS(r, 0);
}

static void test_analysis_zero_window_probe_does_not_advance_next_seq(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, 0, 0);        /* 5: the receiver is full */
    EXPECT_FLAGS(r, ZW);
    /* 6: one byte at next_seq while the peer's window is 0. */
    feed(k, &r, MS(1240), C, PSHACK, 1101, 5001, WIN, 1);
    EXPECT_FLAGS(r, ZWP);
    assert_int_equal(r.rel_seq, 101);
    /* 7: the answer: still zero, the probe byte not taken. */
    feed(k, &r, MS(1250), S, ACK, 5001, 1101, 0, 0);
    EXPECT_FLAGS(r, ZWP_ACK | ZW);
    /*
     * 8: a second probe, same byte: the first did not move next_seq, so it is
     * a probe again. A probe skips the other checks: its own zero window is
     * not flagged.
     */
    feed(k, &r, MS(1650), C, PSHACK, 1101, 5001, 0, 1);
    EXPECT_FLAGS(r, ZWP);
    feed(k, &r, MS(1660), S, ACK, 5001, 1101, WIN, 0); /* 9: the window opens */
    EXPECT_FLAGS(r, WUPD);
    /* 10: the real data at the probe's position is new data, not a retransmission. */
    feed(k, &r, MS(1670), C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, 0);
    assert_int_equal(r.expected_rel, 101);
    assert_int_equal(r.next_seq_rel, 201);
}

/* ---- 3.13 window full --------------------------------------------------- */

static void test_analysis_window_full_exact_equality_with_scaling(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    /* Client shift 2, server shift 3. */
    handshake_ws(k, 1000000, 20000, 2, 3);
    /* 4: the server offers 40 << 3 = 320 bytes from ack 1. */
    feed(k, &r, MS(1030), S, ACK, 5001, 1001, 40, 0);
    EXPECT_FLAGS(r, WUPD);
    assert_int_equal(r.win, 320);
    feed(k, &r, MS(1040), C, PSHACK, 1001, 5001, WIN, 319); /* 5: one byte short */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1041), C, PSHACK, 1320, 5001, WIN, 1); /* 6: now exactly at the edge */
    EXPECT_FLAGS(r, WFULL);
    assert_int_equal(r.peer_win, 320);
    feed(k, &r, MS(1060), S, ACK, 5001, 1321, 40, 0); /* 7: 320 more */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1070), C, PSHACK, 1321, 5001, WIN, 321); /* 8: one byte beyond: not flagged */
    EXPECT_FLAGS(r, 0);
}

static void test_analysis_window_full_synack_window_unscaled(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    uint8_t o[4];
    feed_opts(k, &r, MS(1000), C, SYN, 1000, 0, WIN, 0, o, ws_option(o, 2));
    /* The SYN-ACK's window of 200 is not scaled, though the server's shift is 3. */
    feed_opts(k, &r, MS(1010), S, SYNACK, 5000, 1001, 200, 0, o, ws_option(o, 3));
    assert_int_equal(r.win, 200);
    /* 3: 200 bytes fill it exactly while the server has sent nothing but its SYN-ACK. */
    feed(k, &r, MS(1020), C, PSHACK, 1001, 5001, WIN, 200);
    EXPECT_FLAGS(r, WFULL);
}

static void test_analysis_window_full_never_when_scale_unknown(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;

    /* Handshake not captured: the scale is unknown. */
    feed(k, &r, MS(2000), C, PSHACK, 1001, 5001, WIN, 10);
    feed(k, &r, MS(2010), S, ACK, 5001, 1011, 100, 0);
    assert_int_equal(r.win_scale, SS_WSCALE_UNKNOWN);
    assert_int_equal(r.win, 100); /* shown raw */
    feed(k, &r, MS(2020), C, PSHACK, 1011, 5001, WIN, 100); /* exactly ack + window */
    EXPECT_FLAGS(r, 0);

    /* The same with a handshake without scaling: flagged. */
    conn_reset(k);
    handshake(k);
    feed(k, &r, MS(2000), C, PSHACK, 1001, 5001, WIN, 10);
    feed(k, &r, MS(2010), S, ACK, 5001, 1011, 100, 0);
    assert_int_equal(r.win_scale, SS_WSCALE_NONE);
    feed(k, &r, MS(2020), C, PSHACK, 1011, 5001, WIN, 100);
    EXPECT_FLAGS(r, WFULL);
}

/* ---- 3.14 window update ------------------------------------------------- */

static void test_analysis_window_update_only_when_nothing_but_window_changes(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), S, ACK, 5001, 1001, 16384, 0); /* 4: same ACK, bigger window */
    EXPECT_FLAGS(r, WUPD);
    assert_int_equal(r.prev_win, WIN);
    feed(k, &r, MS(1040), C, PSHACK, 1001, 5001, WIN, 100);  /* 5 */
    feed(k, &r, MS(1050), S, ACK, 5001, 1101, 32768, 0);     /* 6: new ACK and new window */
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(1060), S, ACK, 5001, 1101, 0, 0); /* 7: a zero window is no update */
    EXPECT_FLAGS(r, ZW);
    feed(k, &r, MS(1070), S, ACK, 5001, 1101, 100, 0); /* 8: reopened */
    EXPECT_FLAGS(r, WUPD);
    feed(k, &r, MS(1080), S, PSHACK, 5001, 1101, 200, 10); /* 9: data with a new window */
    EXPECT_FLAGS(r, 0);
}

/* ---- 3.12 keep-alive ---------------------------------------------------- */

static void test_analysis_keep_alive_zero_and_one_byte_and_their_acks(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, WIN, 0);      /* 5 */
    /* 6: no data at next_seq - 1. */
    feed(k, &r, MS(3040), C, ACK, 1100, 5001, WIN, 0);
    EXPECT_FLAGS(r, KA);
    assert_int_equal(r.rel_seq, 100);
    /* 7: the answer repeats the ACK: a keep-alive ACK, not a duplicate ACK. */
    feed(k, &r, MS(3050), S, ACK, 5001, 1101, WIN, 0);
    EXPECT_FLAGS(r, KA_ACK);
    assert_int_equal(r.dup_ack_num, 0);
    assert_false(r.has_ack_rtt); /* a keep-alive without data is not remembered */
    /*
     * 8: one garbage byte at next_seq - 1: below next_seq and already
     * acknowledged, yet a keep-alive and no (spurious) retransmission.
     */
    feed(k, &r, MS(5050), C, ACK, 1100, 5001, WIN, 1);
    EXPECT_FLAGS(r, KA);
    feed(k, &r, MS(5051), S, ACK, 5001, 1101, WIN, 0); /* 9 */
    EXPECT_FLAGS(r, KA_ACK);
    assert_true(r.has_ack_rtt); /* the 1-byte keep-alive was remembered */
    assert_int_equal(r.acks_frame, 8);
    assert_int_equal(r.ack_rtt_ns, 1 * NS_PER_MS);
    /* 10: the rule looks at the client's latest packet, still the keep-alive. */
    feed(k, &r, MS(5052), S, ACK, 5001, 1101, WIN, 0);
    EXPECT_FLAGS(r, KA_ACK);
    /* 11, 12: once the client has sent something else, the same ACK is a duplicate again. */
    feed(k, &r, MS(5060), C, PSHACK, 1101, 5001, WIN, 10);
    EXPECT_FLAGS(r, 0);
    feed(k, &r, MS(5070), S, ACK, 5001, 1101, WIN, 0);
    EXPECT_FLAGS(r, DUP);
    assert_int_equal(r.dup_ack_num, 1);
    assert_int_equal(r.dup_ack_of, 5);
}

/* ---- 3.15 reused ports, through the analyzer ---------------------------- */

typedef struct flag_sink {
    ss_sink_t base;
    int n;
    uint32_t flags[16];
    uint64_t index[16];
} flag_sink_t;

static int fs_begin(ss_sink_t *s, const ss_run_info_t *i)
{
    (void)s;
    (void)i;
    return 0;
}
static int fs_event(ss_sink_t *s, const ss_event_t *ev)
{
    flag_sink_t *f = (flag_sink_t *)s;
    if (ev->type != SS_EV_PACKET || !ev->u.packet->tcp)
        return 0;
    assert_true(f->n < 16);
    f->flags[f->n] = ev->u.packet->tcp->flags;
    f->index[f->n] = ev->u.packet->conv->index;
    f->n++;
    return 0;
}
static int fs_end(ss_sink_t *s, const ss_run_end_t *e)
{
    (void)s;
    (void)e;
    return 0;
}
static void fs_destroy(ss_sink_t *s) { (void)s; }
static const ss_sink_ops_t fs_ops = {fs_begin, fs_event, fs_end, fs_destroy, SS_SINK_WANTS_ALL};

static void trace_add(ss_pb_trace_t *t, int from, uint16_t flags, uint32_t seq, uint32_t ack)
{
    ss_pb_pkt_t p = from == C ? ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80)
                              : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.win = WIN;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(t, &l, &p));
    ss_pb_trace_advance(t, 10000);
}

static void test_analysis_reused_ports_new_isn_syn_flagged_in_new_stream(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1, 0);
    trace_add(&t, C, SYN, 1000, 0);       /* 1 */
    trace_add(&t, S, SYNACK, 5000, 1001); /* 2 */
    trace_add(&t, C, ACK, 1001, 5001);    /* 3 */
    trace_add(&t, C, FINACK, 1001, 5001); /* 4 */
    trace_add(&t, S, FINACK, 5001, 1002); /* 5 */
    trace_add(&t, C, ACK, 1002, 5002);    /* 6 */
    trace_add(&t, C, SYN, 1000, 0);       /* 7: the old ISN: a retransmission, no reuse */
    trace_add(&t, C, SYN, 3000, 0);       /* 8: a new ISN */
    trace_add(&t, S, SYNACK, 7000, 3001); /* 9 */
    flag_sink_t f;
    memset(&f, 0, sizeof(f));
    f.base.ops = &fs_ops;
    int rc = ss_pb_run(&f.base, NULL, &t);
    ss_pb_trace_fini(&t);
    assert_int_equal(rc, 0);
    assert_int_equal(f.n, 9);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(f.flags[i], 0);
        assert_int_equal(f.index[i], 0);
    }
    assert_int_equal(f.index[6], 0);
    assert_int_equal(f.flags[6], RETRANS);
    assert_int_equal(f.index[7], 1);
    assert_int_equal(f.flags[7], SS_TA(REUSED_PORTS));
    assert_int_equal(f.index[8], 1);
    assert_int_equal(f.flags[8], 0);
}

/* Step 0: a SYN-ACK with a new ISN where the server already had one rebases it and is flagged. */
static void test_analysis_reused_ports_synack_with_new_isn(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), S, SYNACK, 9000, 1001, WIN, 0);
    /* tshark 4.0.17 also calls the jump from 5001 to 9000 a gap. */
    EXPECT_FLAGS(r, SS_TA(REUSED_PORTS) | LOST);
    assert_int_equal(r.rel_seq, 0);
    assert_int_equal(r.rel_ack, 1);
}

/* ---- precedence (3.17) -------------------------------------------------- */

static void test_analysis_precedence_spurious_beats_out_of_order(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake_ws(k, 1000000, 100000, NO_WS, NO_WS); /* iRTT 100 ms */
    feed(k, &r, MS(1110), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1111), C, PSHACK, 1101, 5001, WIN, 100); /* 5 */
    feed(k, &r, MS(1115), S, ACK, 5001, 1201, WIN, 0);      /* 6 */
    /* 7: 9 ms after the highest segment (within the iRTT), below it, and fully acknowledged. */
    feed(k, &r, MS(1120), C, PSHACK, 1001, 5001, WIN, 100);
    EXPECT_FLAGS(r, SPURIOUS);
}

static void test_analysis_precedence_fast_beats_out_of_order(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    /* A hole before the highest segment (1.040 s), two dup ACKs (1.046, 1.047 s). */
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), C, PSHACK, 1201, 5001, WIN, 100); /* 5: highest segment */
    feed(k, &r, MS(1045), S, ACK, 5001, 1101, WIN, 0);      /* 6 */
    feed(k, &r, MS(1046), S, ACK, 5001, 1101, WIN, 0);      /* 7: dup 1 */
    feed(k, &r, MS(1047), S, ACK, 5001, 1101, WIN, 0);      /* 8: dup 2 */
    /* 9: 12 ms after the highest segment (< iRTT 20 ms) and 3 ms after the last dup ACK. */
    feed(k, &r, MS(1052), C, PSHACK, 1101, 5001, WIN, 100);
    EXPECT_FLAGS(r, FAST);
}

/* ---- derived fields: ACK RTT, iRTT, bytes in flight --------------------- */

static void test_analysis_ack_rtt_only_on_exact_segment_end(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    feed(k, &r, MS(1000), C, SYN, 1000, 0, WIN, 0);
    assert_false(r.has_ack_rtt);
    /* The SYN occupies one sequence number, so the SYN-ACK (ack 1) times the SYN. */
    feed(k, &r, MS(1010), S, SYNACK, 5000, 1001, WIN, 0);
    assert_true(r.has_ack_rtt);
    assert_int_equal(r.ack_rtt_ns, 10 * NS_PER_MS);
    assert_int_equal(r.acks_frame, 1);
    feed(k, &r, MS(1025), C, ACK, 1001, 5001, WIN, 0); /* 3 */
    assert_true(r.has_ack_rtt);
    assert_int_equal(r.ack_rtt_ns, 15 * NS_PER_MS);
    assert_int_equal(r.acks_frame, 2);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4: [1,101) */
    assert_false(r.has_ack_rtt);                             /* no new ACK */
    feed(k, &r, MS(1031), C, PSHACK, 1101, 5001, WIN, 100); /* 5: [101,201) */
    /* 6: in the middle of frame 5: no sample (frame 4, wholly covered, is dropped silently). */
    feed(k, &r, MS(1040), S, ACK, 5001, 1151, WIN, 0);
    assert_false(r.has_ack_rtt);
    /* 7: the end of frame 5: timed from frame 5. */
    feed(k, &r, MS(1050), S, ACK, 5001, 1201, WIN, 0);
    assert_true(r.has_ack_rtt);
    assert_int_equal(r.acks_frame, 5);
    assert_int_equal(r.ack_rtt_ns, 19 * NS_PER_MS);
    /* 8: the same ACK again times nothing. */
    feed(k, &r, MS(1060), S, ACK, 5001, 1201, WIN, 0);
    assert_false(r.has_ack_rtt);
}

static void test_analysis_ack_rtt_of_resent_segment_from_first_copy(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* 4 */
    feed(k, &r, MS(1040), C, PSHACK, 1101, 5001, WIN, 100); /* 5 */
    feed(k, &r, MS(1500), C, PSHACK, 1101, 5001, WIN, 100); /* 6: resent */
    EXPECT_FLAGS(r, RETRANS);
    /* 7: the ACK ends both copies; no Karn rule: timed from frame 5. */
    feed(k, &r, MS(1510), S, ACK, 5001, 1201, WIN, 0);
    assert_true(r.has_ack_rtt);
    assert_int_equal(r.acks_frame, 5);
    assert_int_equal(r.ack_rtt_ns, 470 * NS_PER_MS);
}

static void test_analysis_irtt_from_most_recent_syn(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    feed(k, &r, MS(1000), C, SYN, 1000, 0, WIN, 0);
    assert_false(r.has_irtt);
    feed(k, &r, MS(2000), C, SYN, 1000, 0, WIN, 0); /* 2: resent after 1 s */
    EXPECT_FLAGS(r, RETRANS);
    feed(k, &r, MS(2010), S, SYNACK, 5000, 1001, WIN, 0); /* 3 */
    assert_false(r.has_irtt);                              /* a SYN-ACK does not end it */
    assert_int_equal(r.acks_frame, 1);                     /* RTT from the first SYN */
    assert_int_equal(r.ack_rtt_ns, 1010 * NS_PER_MS);
    feed(k, &r, MS(2020), C, ACK, 1001, 5001, WIN, 0); /* 4 */
    assert_true(r.has_irtt);
    assert_int_equal(r.irtt_ns, 20 * NS_PER_MS); /* not 1.02 s */
    feed(k, &r, MS(3000), S, PSHACK, 5001, 1001, WIN, 10); /* later packets keep it */
    assert_true(r.has_irtt);
    assert_int_equal(r.irtt_ns, 20 * NS_PER_MS);
}

static void test_analysis_bytes_in_flight_span_of_unacked_minus_fin(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100);
    assert_true(r.has_bif);
    assert_int_equal(r.bytes_in_flight, 100);
    feed(k, &r, MS(1031), C, PSHACK, 1101, 5001, WIN, 100);
    assert_int_equal(r.bytes_in_flight, 200);
    feed(k, &r, MS(1040), S, ACK, 5001, 1101, WIN, 0);
    assert_false(r.has_bif); /* only segments with data carry it */
    feed(k, &r, MS(1041), C, PSHACK, 1201, 5001, WIN, 50);
    assert_int_equal(r.bytes_in_flight, 150);
    /* Data with FIN: [101,262) remembered, the FIN's sequence number not counted. */
    feed(k, &r, MS(1042), C, FINACK, 1251, 5001, WIN, 10);
    assert_true(r.has_bif);
    assert_int_equal(r.bytes_in_flight, 160);
}

/* ---- SACK --------------------------------------------------------------- */

static void test_analysis_sack_blocks_relative_and_subtracted_from_bif(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* [1,101) */
    feed(k, &r, MS(1031), C, PSHACK, 1101, 5001, WIN, 100); /* [101,201) */
    feed(k, &r, MS(1032), C, PSHACK, 1201, 5001, WIN, 100); /* [201,301) */
    /* The server got [101,201) but not [1,101). */
    static const uint32_t b1[1][2] = {{1101, 1201}};
    feed_sack(k, &r, MS(1040), S, 5001, 1001, 1, b1);
    assert_int_equal(r.nsack, 1);
    assert_int_equal(r.sack[0][0], 101); /* relative to the client's ISN */
    assert_int_equal(r.sack[0][1], 201);
    assert_false(r.dsack);
    /* Next data: [1,401) outstanding, 100 of it SACKed. */
    feed(k, &r, MS(1041), C, PSHACK, 1301, 5001, WIN, 100);
    assert_true(r.has_bif);
    assert_int_equal(r.bytes_in_flight, 300);
}

static void test_analysis_dsack_first_block_below_ack_or_inside_second(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    handshake(k);
    feed(k, &r, MS(1030), C, PSHACK, 1001, 5001, WIN, 100); /* [1,101) */
    feed(k, &r, MS(1031), C, PSHACK, 1101, 5001, WIN, 100); /* [101,201) */
    feed(k, &r, MS(1032), C, PSHACK, 1201, 5001, WIN, 100); /* [201,301) */
    feed(k, &r, MS(1033), C, PSHACK, 1301, 5001, WIN, 100); /* [301,401) */
    /* RFC 2883 section 4.1.1: the first block lies below the cumulative ACK. */
    static const uint32_t below[1][2] = {{1001, 1101}};
    feed_sack(k, &r, MS(1040), S, 5001, 1201, 1, below);
    assert_true(r.dsack);
    assert_int_equal(r.nsack, 1);
    assert_int_equal(r.sack[0][0], 1);
    assert_int_equal(r.sack[0][1], 101);
    /* Section 4.1.2: above the ACK, but inside the second block. */
    static const uint32_t inside[2][2] = {{1301, 1351}, {1301, 1401}};
    feed_sack(k, &r, MS(1041), S, 5001, 1201, 2, inside);
    assert_true(r.dsack);
    assert_int_equal(r.nsack, 2);
    assert_int_equal(r.sack[0][0], 301);
    assert_int_equal(r.sack[0][1], 351);
    assert_int_equal(r.sack[1][0], 301);
    assert_int_equal(r.sack[1][1], 401);
    /* Ordinary SACK: one block above the ACK, or two disjoint ones. */
    static const uint32_t one[1][2] = {{1301, 1401}};
    feed_sack(k, &r, MS(1042), S, 5001, 1201, 1, one);
    assert_false(r.dsack);
    static const uint32_t two[2][2] = {{1251, 1301}, {1351, 1401}};
    feed_sack(k, &r, MS(1043), S, 5001, 1201, 2, two);
    assert_false(r.dsack);
}

/* ---- window scaling ----------------------------------------------------- */

static void test_analysis_window_scaling_applied_after_syn_raw_when_unknown(void **state)
{
    conn_t *k = *state;
    ss_tcp_result_t r;
    uint8_t o[4];
    feed_opts(k, &r, MS(1000), C, SYN, 1000, 0, 1000, 0, o, ws_option(o, 7));
    assert_int_equal(r.win, 1000);
    feed_opts(k, &r, MS(1010), S, SYNACK, 5000, 1001, 2000, 0, o, ws_option(o, 4));
    assert_int_equal(r.win, 2000); /* SYN-ACK windows are never scaled */
    feed(k, &r, MS(1020), C, ACK, 1001, 5001, 100, 0);
    assert_int_equal(r.win_scale, 7);
    assert_int_equal(r.win, 100u << 7);
    feed(k, &r, MS(1030), S, ACK, 5001, 1001, 100, 0);
    assert_int_equal(r.win_scale, 4);
    assert_int_equal(r.win, 100u << 4);
    assert_int_equal(r.prev_win, 2000); /* the server's stored window was its unscaled SYN-ACK's */
    /* Analysis compares raw windows: 100 again from the server is a duplicate ACK. */
    feed(k, &r, MS(1040), S, ACK, 5001, 1001, 100, 0);
    EXPECT_FLAGS(r, DUP);

    conn_reset(k);
    feed(k, &r, MS(1000), C, ACK, 1001, 5001, 100, 0);
    assert_int_equal(r.win_scale, SS_WSCALE_UNKNOWN);
    assert_int_equal(r.win, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_analysis_retransmission_after_irtt_rto_from_oldest_unacked, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_resend_of_latest_segment_within_irtt_is_retransmission, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_fast_retransmission_after_two_dup_acks_within_20ms, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_fast_retransmission_needs_two_dup_acks, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_fast_retransmission_only_under_20ms_after_last_dup_ack, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_spurious_retransmission_only_when_fully_acked, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_out_of_order_within_irtt_retransmission_after, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_out_of_order_threshold_3ms_without_irtt, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_lost_segment_suspends_bytes_in_flight_until_peer_ack, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_ack_lost_segment_each_ack_past_a_hole, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_ack_lost_segment_ahead_of_all_data_repeat_suppressed, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_duplicate_ack_counts_from_frame_first_carrying_ack, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_zero_window_flagged_but_not_on_rst_or_fin, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_zero_window_probe_does_not_advance_next_seq, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_window_full_exact_equality_with_scaling, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_window_full_synack_window_unscaled, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_window_full_never_when_scale_unknown, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_window_update_only_when_nothing_but_window_changes, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_keep_alive_zero_and_one_byte_and_their_acks, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_reused_ports_new_isn_syn_flagged_in_new_stream, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_reused_ports_synack_with_new_isn, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_precedence_spurious_beats_out_of_order, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_precedence_fast_beats_out_of_order, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_ack_rtt_only_on_exact_segment_end, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_ack_rtt_of_resent_segment_from_first_copy, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_irtt_from_most_recent_syn, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_bytes_in_flight_span_of_unacked_minus_fin, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_sack_blocks_relative_and_subtracted_from_bif, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_dsack_first_block_below_ack_or_inside_second, conn_setup, conn_teardown),
        cmocka_unit_test_setup_teardown(test_analysis_window_scaling_applied_after_syn_raw_when_unknown, conn_setup, conn_teardown),
    };
    return cmocka_run_group_tests_name("analysis", tests, NULL, NULL);
}
