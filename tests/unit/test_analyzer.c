/* test_analyzer.c - the pipeline end to end through a collecting test sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/analyzer.h"
#include "segscope/sink.h"

/* ---- a sink that keeps a copy of what it is told ------------------------ */

#define MAX_REC 64

typedef struct rec {
    ss_event_type_t type;
    /* packet events */
    uint64_t frame;
    ss_l3_t l3;
    ss_l4_t l4;
    bool has_conv;
    bool has_tcp;
    bool has_csum;
    uint8_t proto;
    uint64_t index;
    int dir;
    bool analyzed;
    uint32_t rel_seq, rel_ack;
    int64_t rel_ns;
    /* conversation events (and the conversation of a packet) */
    ss_conv_info_t conv;
} rec_t;

typedef struct test_sink {
    ss_sink_t base;
    int begins, ends;
    uint64_t end_frames;
    int n;
    rec_t r[MAX_REC];
} test_sink_t;

static int ts_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    test_sink_t *t = (test_sink_t *)s;
    (void)info;
    t->begins++;
    return 0;
}

static int ts_event(ss_sink_t *s, const ss_event_t *ev)
{
    test_sink_t *t = (test_sink_t *)s;
    if (ev->type != SS_EV_PACKET && ev->type != SS_EV_CONVERSATION)
        return 0;
    assert_true(t->n < MAX_REC);
    rec_t *r = &t->r[t->n++];
    memset(r, 0, sizeof(*r));
    r->type = ev->type;
    if (ev->type == SS_EV_CONVERSATION) {
        r->conv = *ev->u.conv;
        r->proto = ev->u.conv->proto;
        r->index = ev->u.conv->index;
        return 0;
    }
    const ss_pkt_event_t *pe = ev->u.packet;
    r->frame = pe->pkt->frame->number;
    r->l3 = pe->pkt->l3;
    r->l4 = pe->pkt->l4;
    r->rel_ns = pe->rel_ns;
    r->has_csum = pe->csum != NULL;
    if (pe->conv) {
        r->has_conv = true;
        r->conv = *pe->conv;
        r->proto = pe->conv->proto;
        r->index = pe->conv->index;
        r->dir = pe->dir;
    }
    if (pe->tcp) {
        r->has_tcp = true;
        r->analyzed = pe->tcp->analyzed;
        r->rel_seq = pe->tcp->rel_seq;
        r->rel_ack = pe->tcp->rel_ack;
    }
    return 0;
}

static int ts_end(ss_sink_t *s, const ss_run_end_t *end)
{
    test_sink_t *t = (test_sink_t *)s;
    t->ends++;
    t->end_frames = end->frames;
    return 0;
}

static void ts_destroy(ss_sink_t *s) { (void)s; }

static const ss_sink_ops_t ts_ops = {ts_begin, ts_event, ts_end, ts_destroy, SS_SINK_WANTS_ALL};

static void sink_init(test_sink_t *t)
{
    memset(t, 0, sizeof(*t));
    t->base.ops = &ts_ops;
}

/* The packet record of frame `frame`. */
static const rec_t *pkt_rec(const test_sink_t *t, uint64_t frame)
{
    for (int i = 0; i < t->n; i++)
        if (t->r[i].type == SS_EV_PACKET && t->r[i].frame == frame)
            return &t->r[i];
    fail_msg("no packet event for frame %llu", (unsigned long long)frame);
    return NULL;
}

static int count_type(const test_sink_t *t, ss_event_type_t type)
{
    int n = 0;
    for (int i = 0; i < t->n; i++)
        n += t->r[i].type == type;
    return n;
}

/* ---- traces ------------------------------------------------------------- */

static void add_tcp(ss_pb_trace_t *t, bool c2s, uint16_t flags, uint32_t seq, uint32_t ack,
                    const char *data)
{
    ss_pb_pkt_t p = c2s ? ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80)
                        : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    if (data) {
        p.tcp.payload = (const uint8_t *)data;
        p.tcp.payload_len = strlen(data);
    }
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(t, &l, &p));
    ss_pb_trace_advance(t, 1000);
}

static void add_udp(ss_pb_trace_t *t, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, const char *data)
{
    ss_pb_pkt_t p = ss_pb_udp4(src, sport, dst, dport);
    p.udp.payload = (const uint8_t *)data;
    p.udp.payload_len = strlen(data);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(t, &l, &p));
    ss_pb_trace_advance(t, 1000);
}

#define SYN SS_TCP_SYN
#define ACK SS_TCP_ACK
#define SYNACK (SS_TCP_SYN | SS_TCP_ACK)
#define PSHACK (SS_TCP_PSH | SS_TCP_ACK)
#define FINACK (SS_TCP_FIN | SS_TCP_ACK)

/*
 * Handshake, "hello" from the client, "hi!" back, FIN close from the client.
 * Client ISN 1000, server ISN 5000.
 */
static void conversation(ss_pb_trace_t *t, uint32_t isn_c)
{
    add_tcp(t, true, SYN, isn_c, 0, NULL);                   /* 1 */
    add_tcp(t, false, SYNACK, 5000, isn_c + 1, NULL);        /* 2 */
    add_tcp(t, true, ACK, isn_c + 1, 5001, NULL);            /* 3 */
    add_tcp(t, true, PSHACK, isn_c + 1, 5001, "hello");      /* 4 */
    add_tcp(t, false, PSHACK, 5001, isn_c + 6, "hi!");       /* 5 */
    add_tcp(t, true, FINACK, isn_c + 6, 5004, NULL);         /* 6 */
    add_tcp(t, false, FINACK, 5004, isn_c + 7, NULL);        /* 7 */
    add_tcp(t, true, ACK, isn_c + 7, 5005, NULL);            /* 8 */
}

static void run(test_sink_t *s, const ss_config_t *cfg, const ss_pb_trace_t *t)
{
    sink_init(s);
    assert_int_equal(ss_pb_run(&s->base, cfg, t), 0);
    assert_int_equal(s->begins, 1);
    assert_int_equal(s->ends, 1);
    assert_int_equal(s->end_frames, t->n);
}

/* ---- tests -------------------------------------------------------------- */

static void test_analyzer_conversation_one_stream_dirs_and_relative_numbers_right(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    conversation(&t, 1000);
    test_sink_t s;
    run(&s, NULL, &t);

    static const struct {
        int dir;
        uint32_t seq, ack;
    } want[8] = {
        {SS_DIR_C2S, 0, 0}, {SS_DIR_S2C, 0, 1}, {SS_DIR_C2S, 1, 1}, {SS_DIR_C2S, 1, 1},
        {SS_DIR_S2C, 1, 6}, {SS_DIR_C2S, 6, 4}, {SS_DIR_S2C, 4, 7}, {SS_DIR_C2S, 7, 5},
    };
    for (uint64_t f = 1; f <= 8; f++) {
        const rec_t *r = pkt_rec(&s, f);
        assert_true(r->has_conv);
        assert_true(r->has_tcp);
        assert_true(r->analyzed);
        assert_int_equal(r->proto, 6);
        assert_int_equal(r->index, 0);
        if (r->dir != want[f - 1].dir || r->rel_seq != want[f - 1].seq || r->rel_ack != want[f - 1].ack)
            fail_msg("frame %llu: dir %d seq %u ack %u, expected dir %d seq %u ack %u",
                     (unsigned long long)f, r->dir, r->rel_seq, r->rel_ack, want[f - 1].dir,
                     want[f - 1].seq, want[f - 1].ack);
    }
    /* Packet events come in frame order. */
    uint64_t last = 0;
    for (int i = 0; i < s.n; i++)
        if (s.r[i].type == SS_EV_PACKET) {
            assert_int_equal(s.r[i].frame, last + 1);
            last = s.r[i].frame;
        }

    /* One conversation, reported once, with the client first. */
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 1);
    const rec_t *c = NULL;
    for (int i = 0; i < s.n; i++)
        if (s.r[i].type == SS_EV_CONVERSATION)
            c = &s.r[i];
    assert_non_null(c);
    assert_int_equal(c->conv.proto, 6);
    assert_int_equal(c->conv.index, 0);
    uint8_t cli[4] = {10, 0, 0, 1}, srv[4] = {10, 0, 0, 2};
    assert_memory_equal(c->conv.addr[0].a, cli, 4);
    assert_memory_equal(c->conv.addr[1].a, srv, 4);
    assert_int_equal(c->conv.port[0], 40000);
    assert_int_equal(c->conv.port[1], 80);
    assert_int_equal(c->conv.frames[SS_DIR_C2S], 5);
    assert_int_equal(c->conv.frames[SS_DIR_S2C], 3);
    assert_int_equal(c->conv.payload[SS_DIR_C2S], 5);
    assert_int_equal(c->conv.payload[SS_DIR_S2C], 3);
    /* Frames of 54 bytes, plus 5 and 3 payload bytes. */
    assert_int_equal(c->conv.bytes[SS_DIR_C2S], 5 * 54 + 5);
    assert_int_equal(c->conv.bytes[SS_DIR_S2C], 3 * 54 + 3);
    assert_int_equal(c->conv.first_sec, 1000);
    assert_int_equal(c->conv.last_sec, 1000);
    assert_int_equal(c->conv.last_nsec, 7000000);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_port_reuse_new_isn_starts_stream_1(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    conversation(&t, 1000);
    add_tcp(&t, true, SYN, 90000, 0, NULL);            /* 9: new ISN, same ports */
    add_tcp(&t, false, SYNACK, 70000, 90001, NULL);    /* 10 */
    add_tcp(&t, true, ACK, 90001, 70001, NULL);        /* 11 */
    test_sink_t s;
    run(&s, NULL, &t);

    for (uint64_t f = 1; f <= 8; f++)
        assert_int_equal(pkt_rec(&s, f)->index, 0);
    const rec_t *r9 = pkt_rec(&s, 9), *r10 = pkt_rec(&s, 10), *r11 = pkt_rec(&s, 11);
    assert_int_equal(r9->index, 1);
    assert_int_equal(r9->dir, SS_DIR_C2S);
    assert_int_equal(r9->rel_seq, 0);
    assert_int_equal(r10->index, 1);
    assert_int_equal(r10->dir, SS_DIR_S2C);
    assert_int_equal(r10->rel_seq, 0);
    assert_int_equal(r10->rel_ack, 1);
    assert_int_equal(r11->index, 1);
    assert_int_equal(r11->rel_seq, 1);
    assert_int_equal(r11->rel_ack, 1);
    /* The new conversation counts only its own frames. */
    assert_int_equal(r11->conv.frames[SS_DIR_C2S], 2);
    assert_int_equal(r11->conv.frames[SS_DIR_S2C], 1);

    /* Both conversations are reported; the first one before the SYN that replaced it. */
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 2);
    int conv0 = -1, syn9 = -1;
    for (int i = 0; i < s.n; i++) {
        if (s.r[i].type == SS_EV_CONVERSATION && s.r[i].index == 0)
            conv0 = i;
        if (s.r[i].type == SS_EV_PACKET && s.r[i].frame == 9)
            syn9 = i;
    }
    assert_true(conv0 >= 0 && syn9 >= 0);
    assert_true(conv0 < syn9);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_repeated_syn_same_isn_same_stream(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    add_tcp(&t, true, SYN, 1000, 0, NULL);
    add_tcp(&t, true, SYN, 1000, 0, NULL);
    add_tcp(&t, false, SYNACK, 5000, 1001, NULL);
    test_sink_t s;
    run(&s, NULL, &t);
    for (uint64_t f = 1; f <= 3; f++)
        assert_int_equal(pkt_rec(&s, f)->index, 0);
    assert_int_equal(pkt_rec(&s, 2)->rel_seq, 0);
    assert_int_equal(pkt_rec(&s, 3)->rel_ack, 1);
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 1);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_udp_flows_numbered_apart_from_tcp(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 50, 0);
    add_udp(&t, "10.0.0.1", 5000, "10.0.0.53", 53, "query1");   /* 1: udp 0 */
    add_tcp(&t, true, SYN, 1, 0, NULL);                        /* 2: tcp 0 */
    add_udp(&t, "10.0.0.1", 5001, "10.0.0.53", 53, "query2");   /* 3: udp 1 */
    add_udp(&t, "10.0.0.53", 53, "10.0.0.1", 5000, "answer1");  /* 4: udp 0, reply */
    add_udp(&t, "10.0.0.53", 53, "10.0.0.1", 5001, "answer2");  /* 5: udp 1, reply */
    test_sink_t s;
    run(&s, NULL, &t);

    const rec_t *r1 = pkt_rec(&s, 1), *r2 = pkt_rec(&s, 2), *r3 = pkt_rec(&s, 3),
                *r4 = pkt_rec(&s, 4), *r5 = pkt_rec(&s, 5);
    assert_int_equal(r1->proto, 17);
    assert_int_equal(r1->index, 0);
    assert_int_equal(r1->dir, SS_DIR_C2S);
    assert_false(r1->has_tcp);
    assert_int_equal(r2->proto, 6);
    assert_int_equal(r2->index, 0);
    assert_true(r2->has_tcp);
    assert_int_equal(r3->proto, 17);
    assert_int_equal(r3->index, 1);
    assert_int_equal(r4->index, 0);
    assert_int_equal(r4->dir, SS_DIR_S2C);
    assert_int_equal(r5->index, 1);
    assert_int_equal(r5->dir, SS_DIR_S2C);
    /* The first sender is the client of a UDP conversation. */
    assert_int_equal(r5->conv.port[0], 5001);
    assert_int_equal(r5->conv.port[1], 53);
    assert_int_equal(r5->conv.payload[SS_DIR_C2S], 6);
    assert_int_equal(r5->conv.payload[SS_DIR_S2C], 7);
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 3);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_arp_packet_without_conversation(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 50, 0);
    uint8_t arp[28], fr[64];
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;
    size_t an = ss_pb_arp_request(arp, sizeof(arp), "10.0.0.1", "10.0.0.2");
    size_t fn = ss_pb_wrap(fr, sizeof(fr), &l, 0x0806, arp, an);
    assert_non_null(ss_pb_trace_add_bytes(&t, fr, fn));
    add_tcp(&t, true, SYN, 1, 0, NULL);
    test_sink_t s;
    run(&s, NULL, &t);
    const rec_t *r = pkt_rec(&s, 1);
    assert_int_equal(r->l3, SS_L3_ARP);
    assert_int_equal(r->l4, SS_L4_NONE);
    assert_false(r->has_conv);
    assert_false(r->has_tcp);
    /* The TCP packet after it still opens conversation 0. */
    assert_int_equal(pkt_rec(&s, 2)->index, 0);
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 1);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_rel_time_counts_from_first_packet(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 100, 900000000);
    add_udp(&t, "10.0.0.1", 1, "10.0.0.2", 2, "a");
    t.ts_sec = 101;
    t.ts_nsec = 100000000;
    add_udp(&t, "10.0.0.1", 1, "10.0.0.2", 2, "b");
    t.ts_sec = 103;
    t.ts_nsec = 1;
    add_udp(&t, "10.0.0.1", 1, "10.0.0.2", 2, "c");
    test_sink_t s;
    run(&s, NULL, &t);
    assert_int_equal(pkt_rec(&s, 1)->rel_ns, 0);
    assert_int_equal(pkt_rec(&s, 2)->rel_ns, 200000000);
    assert_int_equal(pkt_rec(&s, 3)->rel_ns, 2100000001);
    ss_pb_trace_fini(&t);
}

static void test_analyzer_checksums_only_when_configured(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1, 0);
    add_udp(&t, "10.0.0.1", 1, "10.0.0.2", 2, "x");
    test_sink_t s;
    run(&s, NULL, &t);
    assert_false(pkt_rec(&s, 1)->has_csum);
    ss_config_t cfg;
    ss_config_init(&cfg);
    cfg.verify_checksums = true;
    run(&s, &cfg, &t);
    assert_true(pkt_rec(&s, 1)->has_csum);
    ss_pb_trace_fini(&t);
}

/*
 * limits.h: "a conversation idle this long (capture time) is closed". The
 * same 4-tuple after the timeout is therefore a new conversation, whether or
 * not other traffic happened in between.
 */
static void test_analyzer_idle_timeout_closes_conversation(void **state)
{
    (void)state;
    ss_config_t cfg;
    ss_config_init(&cfg);
    cfg.limits.idle_timeout_s = 10;

    /* With other traffic in between: A, B at +50 s, A again at +100 s. */
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    add_udp(&t, "10.0.0.1", 5000, "10.0.0.2", 53, "a");
    t.ts_sec = 1050;
    add_udp(&t, "10.0.0.1", 6000, "10.0.0.2", 53, "b");
    t.ts_sec = 1100;
    add_udp(&t, "10.0.0.1", 5000, "10.0.0.2", 53, "a");
    test_sink_t s;
    run(&s, &cfg, &t);
    uint64_t with_other = pkt_rec(&s, 3)->index;
    ss_pb_trace_fini(&t);

    /* Without: A, then A again at +100 s. */
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    add_udp(&t, "10.0.0.1", 5000, "10.0.0.2", 53, "a");
    t.ts_sec = 1100;
    add_udp(&t, "10.0.0.1", 5000, "10.0.0.2", 53, "a");
    run(&s, &cfg, &t);
    uint64_t alone = pkt_rec(&s, 2)->index;
    int convs = count_type(&s, SS_EV_CONVERSATION);
    ss_pb_trace_fini(&t);

    /* A's first conversation is 0 and B's is 1, so the reopened A is 2. */
    assert_int_equal(with_other, 2);
    /* Alone, the reopened A is conversation 1, and two conversations are reported. */
    if (alone != 1 || convs != 2)
        fail_msg("a packet 100 s after its conversation went idle (timeout 10 s) joined "
                 "udp_stream %llu; expected a new udp_stream 1 (conversations reported: %d)",
                 (unsigned long long)alone, convs);
}

/* One FIN-closed conversation from client port `sport` (8 packets). */
static void closed_conversation(ss_pb_trace_t *t, uint16_t sport)
{
    static const struct {
        bool c2s;
        uint16_t flags;
        uint32_t seq, ack;
        const char *data;
    } seg[] = {{true, SYN, 1000, 0, NULL},          {false, SYNACK, 5000, 1001, NULL},
               {true, ACK, 1001, 5001, NULL},        {true, PSHACK, 1001, 5001, "hello"},
               {false, PSHACK, 5001, 1006, "hi!"},   {true, FINACK, 1006, 5004, NULL},
               {false, FINACK, 5004, 1007, NULL},    {true, ACK, 1007, 5005, NULL}};
    for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
        ss_pb_pkt_t p = seg[i].c2s ? ss_pb_tcp4("10.0.0.1", sport, "10.0.0.2", 80)
                                   : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", sport);
        p.tcp.flags = seg[i].flags;
        p.tcp.seq = seg[i].seq;
        p.tcp.ack = seg[i].ack;
        if (seg[i].data) {
            p.tcp.payload = (const uint8_t *)seg[i].data;
            p.tcp.payload_len = strlen(seg[i].data);
        }
        ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
        assert_non_null(ss_pb_trace_add(t, &l, &p));
        ss_pb_trace_advance(t, 1000);
    }
}

/* Index of the first record of `type` for conversation `index` (packets: its first packet), or -1. */
static int first_rec(const test_sink_t *s, ss_event_type_t type, uint64_t index)
{
    for (int i = 0; i < s->n; i++)
        if (s->r[i].type == type && s->r[i].index == index && (type != SS_EV_PACKET || s->r[i].has_conv))
            return i;
    return -1;
}

/*
 * --max-closed 1: when a third conversation starts, two have ended, so the
 * one that ended first is reported then (before that packet), not at the
 * end; a late packet of it afterwards starts a new conversation.
 */
static void test_analyzer_max_closed_reports_ended_conversation_early(void **state)
{
    (void)state;
    ss_config_t cfg;
    ss_config_init(&cfg);
    cfg.limits.max_closed = 1;
    cfg.reassemble = true;
    cfg.framing.kind = SS_FRAMING_AUTO; /* the first pass's state goes with the conversation too */
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1000, 0);
    closed_conversation(&t, 40001); /* frames 1-8, conversation 0 */
    closed_conversation(&t, 40002); /* frames 9-16, conversation 1 */
    closed_conversation(&t, 40003); /* frames 17-24, conversation 2 */
    /* A late duplicate of conversation 0's last ACK: frame 25. */
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 40001, "10.0.0.2", 80);
    p.tcp.flags = ACK;
    p.tcp.seq = 1007;
    p.tcp.ack = 5005;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    test_sink_t s;
    run(&s, &cfg, &t);
    ss_pb_trace_fini(&t);

    int rec0 = first_rec(&s, SS_EV_CONVERSATION, 0), pkt2 = first_rec(&s, SS_EV_PACKET, 2);
    assert_true(rec0 >= 0 && pkt2 >= 0);
    if (rec0 > pkt2)
        fail_msg("conversation 0's record came at event %d, after conversation 2's first packet (%d)", rec0, pkt2);
    /* Conversation 1 is still kept when conversation 2 starts; it is reported later. */
    assert_true(first_rec(&s, SS_EV_CONVERSATION, 1) > pkt2);
    /* The late ACK of the forgotten conversation 0 starts conversation 3. */
    assert_int_equal(pkt_rec(&s, 25)->index, 3);
    assert_int_equal(count_type(&s, SS_EV_CONVERSATION), 4);
    const rec_t *r0 = &s.r[rec0];
    assert_int_equal(r0->conv.frames[SS_DIR_C2S] + r0->conv.frames[SS_DIR_S2C], 8);
}

/* ---- feeding frames one at a time or in batches ----------------------- */

/* A small deterministic generator (the test must not depend on rand()). */
static uint32_t rnd(uint64_t *st)
{
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*st >> 33);
}

/* One conversation of the random mix: its endpoints and where its script stands. */
typedef struct mixconv {
    bool live, v6, udp;
    char caddr[40], saddr[40];
    uint16_t cport, sport;
    uint32_t cseq, sseq; /* the next sequence number of each side */
    int step, last_step;
    uint32_t udp_n;
    uint8_t held[48];    /* a segment held back to be sent late (reordered, or resent) */
    size_t held_len;
    uint32_t held_seq;
    bool held_c2s, has_held;
} mixconv_t;

static void mix_tcp(ss_pb_trace_t *t, const mixconv_t *c, bool c2s, uint16_t flags, uint32_t seq, uint32_t ack,
                    const uint8_t *d, size_t n)
{
    const char *src = c2s ? c->caddr : c->saddr, *dst = c2s ? c->saddr : c->caddr;
    uint16_t sp = c2s ? c->cport : c->sport, dp = c2s ? c->sport : c->cport;
    ss_pb_pkt_t p = c->v6 ? ss_pb_tcp6(src, sp, dst, dp) : ss_pb_tcp4(src, sp, dst, dp);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.win = n == 3 ? 0 : 8192; /* now and then a zero window */
    p.tcp.payload = d;
    p.tcp.payload_len = n;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(t, &l, &p));
}

/* The next packet of conversation c: handshake, length-prefixed messages both ways, then FIN or RST. */
static void mix_step(ss_pb_trace_t *t, mixconv_t *c, uint64_t *st)
{
    uint8_t d[48];
    if (c->udp) {
        bool c2s = rnd(st) % 2;
        uint32_t k = c->udp_n++ + (rnd(st) % 8 == 0); /* some numbers skipped */
        uint8_t b[8] = {(uint8_t)(k >> 24), (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k, 'u', 'd', 'p', '!'};
        const char *src = c2s ? c->caddr : c->saddr, *dst = c2s ? c->saddr : c->caddr;
        uint16_t sp = c2s ? c->cport : c->sport, dp = c2s ? c->sport : c->cport;
        ss_pb_pkt_t p = c->v6 ? ss_pb_udp6(src, sp, dst, dp) : ss_pb_udp4(src, sp, dst, dp);
        p.udp.payload = b;
        p.udp.payload_len = sizeof(b);
        ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
        assert_non_null(ss_pb_trace_add(t, &l, &p));
        c->live = ++c->step < c->last_step;
        return;
    }
    if (c->has_held && rnd(st) % 3 == 0) { /* the held segment, late */
        mix_tcp(t, c, c->held_c2s, SS_TCP_PSH | SS_TCP_ACK, c->held_seq, c->held_c2s ? c->sseq : c->cseq, c->held,
                c->held_len);
        c->has_held = false;
        return;
    }
    int s = c->step++;
    if (s == 0) {
        mix_tcp(t, c, true, SS_TCP_SYN, c->cseq++, 0, NULL, 0);
    } else if (s == 1) {
        mix_tcp(t, c, false, SS_TCP_SYN | SS_TCP_ACK, c->sseq++, c->cseq, NULL, 0);
    } else if (s == 2) {
        mix_tcp(t, c, true, SS_TCP_ACK, c->cseq, c->sseq, NULL, 0);
    } else if (s < c->last_step) {
        bool c2s = s % 2 == 1;
        /* One to three messages of a 4-byte big-endian length and a body, the last perhaps cut short. */
        size_t n = 0;
        for (uint32_t m = 1 + rnd(st) % 3; m > 0 && n + 4 < sizeof(d); m--) {
            uint32_t len = rnd(st) % 9;
            d[n++] = 0, d[n++] = 0, d[n++] = 0, d[n++] = (uint8_t)len;
            for (uint32_t k = 0; k < len && n < sizeof(d); k++)
                d[n++] = (uint8_t)('a' + rnd(st) % 26);
        }
        if (rnd(st) % 4 == 0)
            n = 1 + rnd(st) % n;
        uint32_t *seq = c2s ? &c->cseq : &c->sseq, ack = c2s ? c->sseq : c->cseq;
        uint32_t r = rnd(st) % 20;
        if (r == 0 && !c->has_held) { /* held back: sent later, after what follows it */
            memcpy(c->held, d, n);
            c->held_len = n;
            c->held_seq = *seq;
            c->held_c2s = c2s;
            c->has_held = true;
        } else {
            mix_tcp(t, c, c2s, SS_TCP_PSH | SS_TCP_ACK, *seq, ack, d, n);
            if (r == 1) /* sent twice */
                mix_tcp(t, c, c2s, SS_TCP_PSH | SS_TCP_ACK, *seq, ack, d, n);
        }
        *seq += (uint32_t)n;
        if (r == 2) /* a bare ACK from the other side, sometimes for less than everything */
            mix_tcp(t, c, !c2s, SS_TCP_ACK, c2s ? c->sseq : c->cseq, *seq - (rnd(st) % 2), NULL, 0);
    } else if (s == c->last_step && rnd(st) % 8 == 0) {
        mix_tcp(t, c, rnd(st) % 2, SS_TCP_RST | SS_TCP_ACK, c->cseq, c->sseq, NULL, 0);
        c->live = false;
    } else if (s == c->last_step) {
        mix_tcp(t, c, true, SS_TCP_FIN | SS_TCP_ACK, c->cseq++, c->sseq, NULL, 0);
    } else if (s == c->last_step + 1) {
        mix_tcp(t, c, false, SS_TCP_FIN | SS_TCP_ACK, c->sseq++, c->cseq, NULL, 0);
    } else {
        mix_tcp(t, c, true, SS_TCP_ACK, c->cseq, c->sseq, NULL, 0);
        c->live = false;
    }
}

/*
 * Many interleaved conversations, TCP and UDP, IPv4 and IPv6, on few enough
 * ports that they reuse them, with segments late, resent, lost (never sent)
 * and pauses long enough for idle timeouts.
 */
static void build_mix(ss_pb_trace_t *t, uint64_t seed, size_t frames)
{
    enum { SLOTS = 40 };
    mixconv_t conv[SLOTS];
    memset(conv, 0, sizeof(conv));
    uint64_t st = seed;
    ss_pb_trace_init(t, SS_LINK_ETHERNET, 1700000000, 0);
    while (t->n < frames) {
        mixconv_t *c = &conv[rnd(&st) % SLOTS];
        if (!c->live) {
            memset(c, 0, sizeof(*c));
            c->live = true;
            c->v6 = rnd(&st) % 4 == 0;
            c->udp = rnd(&st) % 10 == 0;
            uint32_t h = rnd(&st) % 6;
            snprintf(c->caddr, sizeof(c->caddr), c->v6 ? "fd00::%u" : "10.0.0.%u", 1 + h);
            snprintf(c->saddr, sizeof(c->saddr), c->v6 ? "fd00::ff" : "10.0.1.1");
            c->cport = (uint16_t)(40000 + rnd(&st) % 16);
            c->sport = c->udp ? 9010 : 9000;
            c->cseq = rnd(&st);
            c->sseq = rnd(&st);
            c->last_step = 3 + (int)(rnd(&st) % 14);
        }
        if (rnd(&st) % 50 == 0) { /* lost before the capture: its sequence numbers are skipped */
            if (!c->udp && c->step > 3 && c->step < c->last_step)
                c->cseq += 5;
        }
        mix_step(t, c, &st);
        ss_pb_trace_advance(t, rnd(&st) % 500 == 0 ? 2500000 : 1 + rnd(&st) % 3000);
    }
}

/* The JSON report of the whole trace, fed one frame at a time (seed 0) or in random batches. */
static char *json_report(const ss_config_t *cfg, const ss_pb_trace_t *t, uint64_t seed, size_t *nbatches)
{
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *sink = ss_sink_json_create(m.f, false, true);
    assert_non_null(sink);
    ss_sink_t *sinks[1] = {sink};
    ss_analyzer_t *a = ss_analyzer_create(cfg, sinks, 1);
    assert_non_null(a);
    ss_run_info_t info = {.source_name = "mix", .live = false, .linktype = t->linktype};
    assert_int_equal(ss_analyzer_begin(a, &info), 0);
    uint64_t st = seed;
    *nbatches = 0;
    for (size_t i = 0; i < t->n;) {
        size_t n = 1;
        if (seed) {
            n = 1 + rnd(&st) % 97;
            if (n > t->n - i)
                n = t->n - i;
            assert_int_equal(ss_analyzer_feed_batch(a, &t->frames[i], n), 0);
        } else {
            assert_int_equal(ss_analyzer_feed(a, &t->frames[i]), 0);
        }
        i += n;
        ++*nbatches;
    }
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    assert_int_equal(ss_analyzer_finish(a, &end), 0);
    ss_analyzer_destroy(a);
    ss_sink_destroy(sink);
    char *out = strdup(ss_pb_memout_text(&m));
    ss_pb_memout_close(&m);
    assert_non_null(out);
    return out;
}

/*
 * ss_analyzer_feed_batch looks ahead at the frames of a batch, and must
 * change nothing: the whole JSON report (every packet's analysis, messages,
 * conversations, notices) is the same byte for byte as one frame at a
 * time, with and without framing and inference, and with tables small
 * enough that conversations are evicted, expire and reuse ports mid-batch.
 */
static void test_analyzer_batches_report_as_single_frames(void **state)
{
    (void)state;
    static const char *const framings[] = {NULL, "len32", "auto"};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ss_pb_trace_t t;
        build_mix(&t, seed, 6000);
        for (size_t fi = 0; fi < 3; fi++) {
            ss_config_t cfg;
            ss_config_init(&cfg);
            cfg.verify_checksums = true;
            cfg.limits.max_flows = 24;
            cfg.limits.max_closed = 4;
            cfg.limits.idle_timeout_s = 2;
            char err[256];
            if (framings[fi])
                assert_int_equal(ss_config_set_framing(&cfg, framings[fi], err, sizeof(err)), 0);
            size_t singles, batches;
            char *one = json_report(&cfg, &t, 0, &singles);
            char *many = json_report(&cfg, &t, seed * 7919, &batches);
            assert_int_equal(singles, t.n);
            assert_true(batches < t.n / 20);
            assert_true(strlen(one) > t.n * 100);
            size_t at = 0;
            while (one[at] && one[at] == many[at])
                at++;
            if (one[at] != many[at])
                fail_msg("seed %u, framing %s: batches differ at byte %zu: \"%.120s\" vs \"%.120s\"", (unsigned)seed,
                         framings[fi] ? framings[fi] : "none", at, one + (at > 60 ? at - 60 : 0),
                         many + (at > 60 ? at - 60 : 0));
            /* The mix has what the look-ahead must not get wrong. */
            assert_non_null(strstr(one, "\"retransmission\""));
            assert_non_null(strstr(one, "\"out_of_order\""));
            assert_non_null(strstr(one, "\"lost_segment\""));
            assert_non_null(strstr(one, "\"reused_ports\""));
            free(one);
            free(many);
        }
        ss_pb_trace_fini(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analyzer_conversation_one_stream_dirs_and_relative_numbers_right),
        cmocka_unit_test(test_analyzer_port_reuse_new_isn_starts_stream_1),
        cmocka_unit_test(test_analyzer_repeated_syn_same_isn_same_stream),
        cmocka_unit_test(test_analyzer_udp_flows_numbered_apart_from_tcp),
        cmocka_unit_test(test_analyzer_arp_packet_without_conversation),
        cmocka_unit_test(test_analyzer_rel_time_counts_from_first_packet),
        cmocka_unit_test(test_analyzer_checksums_only_when_configured),
        cmocka_unit_test(test_analyzer_idle_timeout_closes_conversation),
        cmocka_unit_test(test_analyzer_max_closed_reports_ended_conversation_early),
        cmocka_unit_test(test_analyzer_batches_report_as_single_frames),
    };
    return cmocka_run_group_tests_name("analyzer", tests, NULL, NULL);
}
