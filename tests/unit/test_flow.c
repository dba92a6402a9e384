/* test_flow.c - canonical flow keys and the conversation table (indices, replace, cap, idle, order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/flow.h"
#include "segscope/pool.h"

/* ---- keys --------------------------------------------------------------- */

/* Decodes a built packet and returns its key and direction. */
static void key_of(const ss_pb_pkt_t *p, ss_flow_key_t *key, int *dir)
{
    uint8_t buf[256];
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(buf, sizeof(buf), &l, p);
    assert_true(n > 0);
    ss_frame_t f = ss_pb_frame(buf, n, SS_LINK_ETHERNET, 1, 0, 0);
    ss_packet_t pkt;
    assert_int_equal(ss_decode(&f, &pkt), 0);
    *dir = -1;
    ss_flow_key_from_packet(&pkt, key, dir);
}

static void test_flow_key_both_directions_same_key(void **state)
{
    (void)state;
    ss_flow_key_t k1, k2;
    int d1, d2;
    ss_pb_pkt_t fwd = ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 1234);
    ss_pb_pkt_t rev = ss_pb_tcp4("10.0.0.1", 1234, "10.0.0.2", 80);
    key_of(&fwd, &k1, &d1);
    key_of(&rev, &k2, &d2);
    assert_memory_equal(&k1, &k2, sizeof(k1));
    /* 10.0.0.1 sorts first, so it is endpoint 0 and the packet it sends goes 0 -> 1. */
    assert_int_equal(d1, 1);
    assert_int_equal(d2, 0);
    uint8_t a0[16] = {10, 0, 0, 1}, a1[16] = {10, 0, 0, 2};
    assert_int_equal(k1.family, 4);
    assert_int_equal(k1.proto, 6);
    assert_memory_equal(k1.addr[0], a0, 16);
    assert_memory_equal(k1.addr[1], a1, 16);
    assert_int_equal(k1.port[0], 1234);
    assert_int_equal(k1.port[1], 80);
}

static void test_flow_key_address_order_wins_over_ports(void **state)
{
    (void)state;
    ss_flow_key_t k;
    int d;
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 65000, "10.0.0.2", 1);
    key_of(&p, &k, &d);
    assert_int_equal(d, 0);
    assert_int_equal(k.port[0], 65000);
    assert_int_equal(k.port[1], 1);
    /* Address bytes compare as unsigned: 10.0.0.200 after 10.0.0.3. */
    ss_pb_pkt_t q = ss_pb_tcp4("10.0.0.200", 1, "10.0.0.3", 2);
    key_of(&q, &k, &d);
    assert_int_equal(d, 1);
    assert_int_equal(k.addr[0][3], 3);
    assert_int_equal(k.port[0], 2);
}

static void test_flow_key_loopback_same_address_ordered_by_port(void **state)
{
    (void)state;
    ss_flow_key_t k1, k2;
    int d1, d2;
    ss_pb_pkt_t a = ss_pb_tcp4("127.0.0.1", 5000, "127.0.0.1", 4000);
    ss_pb_pkt_t b = ss_pb_tcp4("127.0.0.1", 4000, "127.0.0.1", 5000);
    key_of(&a, &k1, &d1);
    key_of(&b, &k2, &d2);
    assert_memory_equal(&k1, &k2, sizeof(k1));
    assert_int_equal(d1, 1);
    assert_int_equal(d2, 0);
    assert_int_equal(k1.port[0], 4000);
    assert_int_equal(k1.port[1], 5000);

    ss_pb_pkt_t c = ss_pb_tcp6("::1", 45678, "::1", 8080);
    key_of(&c, &k1, &d1);
    assert_int_equal(k1.family, 6);
    assert_int_equal(d1, 1);
    assert_int_equal(k1.port[0], 8080);
    assert_int_equal(k1.port[1], 45678);
}

static void test_flow_key_ipv6_udp_and_protocol_part_of_key(void **state)
{
    (void)state;
    ss_flow_key_t ku, kt;
    int du, dt;
    ss_pb_pkt_t u = ss_pb_udp6("2001:db8::10", 53, "2001:db8::2", 5353);
    key_of(&u, &ku, &du);
    assert_int_equal(ku.family, 6);
    assert_int_equal(ku.proto, 17);
    assert_int_equal(du, 1); /* ::2 sorts before ::10 */
    assert_int_equal(ku.addr[0][15], 0x02);
    assert_int_equal(ku.addr[1][15], 0x10);
    assert_int_equal(ku.port[0], 5353);

    ss_pb_pkt_t t = ss_pb_tcp6("2001:db8::10", 53, "2001:db8::2", 5353);
    key_of(&t, &kt, &dt);
    assert_int_equal(kt.proto, 6);
    assert_int_equal(dt, du);
    assert_memory_not_equal(&kt, &ku, sizeof(kt));
}

/* ---- the table ---------------------------------------------------------- */

/* Records every release callback. */
typedef struct rel_log {
    int n;
    uint16_t port[32];
    uint64_t index[32];
    int reason[32];
} rel_log_t;

static void on_release(void *ctx, ss_flow_t *f, int reason)
{
    rel_log_t *log = ctx;
    if (log->n < 32) {
        log->port[log->n] = f->key.port[0];
        log->index[log->n] = f->index;
        log->reason[log->n] = reason;
    }
    log->n++;
}

/* A key told apart by protocol and the first port. */
static ss_flow_key_t mk_key(uint8_t proto, uint16_t port)
{
    ss_flow_key_t k;
    memset(&k, 0, sizeof(k));
    k.family = 4;
    k.proto = proto;
    k.addr[0][0] = 10;
    k.addr[0][3] = 1;
    k.addr[1][0] = 10;
    k.addr[1][3] = 2;
    k.port[0] = port;
    k.port[1] = 80;
    return k;
}

static ss_flow_table_t *mk_table(uint32_t max_flows, uint32_t idle, rel_log_t *log)
{
    ss_limits_t lim;
    ss_limits_init(&lim);
    if (max_flows)
        lim.max_flows = max_flows;
    lim.idle_timeout_s = idle;
    memset(log, 0, sizeof(*log));
    ss_flow_table_t *t = ss_flow_table_create(&lim, 64, on_release, log);
    assert_non_null(t);
    return t;
}

static void test_flow_index_per_protocol_from_zero(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    ss_flow_key_t t1 = mk_key(6, 1), u1 = mk_key(17, 1), t2 = mk_key(6, 2), u2 = mk_key(17, 2),
                  t3 = mk_key(6, 3);
    assert_int_equal(ss_flow_create(t, &t1, 1, 0, 1)->index, 0);
    assert_int_equal(ss_flow_create(t, &u1, 2, 0, 2)->index, 0);
    assert_int_equal(ss_flow_create(t, &t2, 3, 0, 3)->index, 1);
    assert_int_equal(ss_flow_create(t, &u2, 4, 0, 4)->index, 1);
    assert_int_equal(ss_flow_create(t, &t3, 5, 0, 5)->index, 2);
    assert_int_equal(ss_flow_table_count(t), 5);
    assert_int_equal(ss_flow_table_evicted(t), 0);
    assert_int_equal(log.n, 0);
    ss_flow_table_destroy(t);
    assert_int_equal(log.n, 5);
}

static void test_flow_lookup_finds_created_and_marks_seen(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    ss_flow_key_t a = mk_key(6, 1000), b = mk_key(6, 1001), au = mk_key(17, 1000);
    ss_flow_t *fa = ss_flow_create(t, &a, 10, 500, 7);
    assert_non_null(fa);
    assert_memory_equal(&fa->key, &a, sizeof(a));
    assert_int_equal(fa->first_sec, 10);
    assert_int_equal(fa->first_nsec, 500);
    assert_int_equal(fa->last_sec, 10);
    assert_int_equal(fa->first_frame, 7);
    /* The ext area is zeroed and writable over its whole size. */
    const uint8_t *ext = (const uint8_t *)fa->ext;
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(ext[i], 0);
    memset(fa->ext, 0xA5, 64);

    assert_null(ss_flow_lookup(t, &b, 11, 0));
    assert_null(ss_flow_lookup(t, &au, 11, 0)); /* same ports, other protocol */
    ss_flow_t *again = ss_flow_lookup(t, &a, 20, 9);
    assert_ptr_equal(again, fa);
    assert_int_equal(again->last_sec, 20);
    assert_int_equal(again->last_nsec, 9);
    assert_int_equal(again->first_sec, 10);
    ss_flow_table_destroy(t);
}

static void test_flow_create_same_key_replaces_and_releases(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    ss_flow_key_t a = mk_key(6, 4000);
    ss_flow_t *old = ss_flow_create(t, &a, 1, 0, 1);
    assert_int_equal(old->index, 0);
    ss_flow_t *nw = ss_flow_create(t, &a, 2, 0, 5);
    assert_non_null(nw);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.reason[0], SS_FLOW_RELEASE_REPLACED);
    assert_int_equal(log.index[0], 0);
    assert_int_equal(log.port[0], 4000);
    assert_int_equal(nw->index, 1);
    assert_int_equal(nw->first_frame, 5);
    assert_int_equal(ss_flow_table_count(t), 1);
    /* A replacement is not an eviction. */
    assert_int_equal(ss_flow_table_evicted(t), 0);
    assert_ptr_equal(ss_flow_lookup(t, &a, 3, 0), nw);
    ss_flow_table_destroy(t);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.reason[1], SS_FLOW_RELEASE_END);
    assert_int_equal(log.index[1], 1);
}

static void test_flow_cap_evicts_least_recently_seen(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(2, 0, &log);
    ss_flow_key_t a = mk_key(6, 1), b = mk_key(6, 2), c = mk_key(6, 3);
    ss_flow_t *fa = ss_flow_create(t, &a, 1, 0, 1);
    assert_non_null(ss_flow_create(t, &b, 2, 0, 2));
    /* A is seen again, so B is now the least recently seen. */
    assert_ptr_equal(ss_flow_lookup(t, &a, 3, 0), fa);
    ss_flow_t *fc = ss_flow_create(t, &c, 4, 0, 3);
    assert_non_null(fc);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.reason[0], SS_FLOW_RELEASE_CAP);
    assert_int_equal(log.port[0], 2);
    assert_int_equal(ss_flow_table_count(t), 2);
    assert_int_equal(ss_flow_table_evicted(t), 1);
    assert_null(ss_flow_lookup(t, &b, 5, 0));
    assert_ptr_equal(ss_flow_lookup(t, &a, 5, 0), fa);
    assert_ptr_equal(ss_flow_lookup(t, &c, 5, 0), fc);
    /* Indices keep counting across evictions. */
    assert_int_equal(fc->index, 2);

    /* A was looked up before C, so A is now the least recently seen. */
    ss_flow_key_t d = mk_key(6, 4);
    assert_non_null(ss_flow_create(t, &d, 6, 0, 4));
    assert_int_equal(log.n, 2);
    assert_int_equal(log.port[1], 1);
    assert_int_equal(ss_flow_table_evicted(t), 2);
    ss_flow_table_destroy(t);
}

static void test_flow_idle_timeout_evicts_on_capture_time(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 10, &log);
    ss_flow_key_t a = mk_key(17, 1), b = mk_key(17, 2), c = mk_key(17, 3), d = mk_key(17, 4),
                  e = mk_key(17, 5);
    assert_non_null(ss_flow_create(t, &a, 100, 0, 1));
    assert_non_null(ss_flow_create(t, &b, 105, 0, 2));
    /* 11 s after A: A has been idle longer than 10 s, B only 6 s. */
    assert_non_null(ss_flow_create(t, &c, 111, 0, 3));
    assert_int_equal(log.n, 1);
    assert_int_equal(log.reason[0], SS_FLOW_RELEASE_IDLE);
    assert_int_equal(log.port[0], 1);
    assert_int_equal(ss_flow_table_evicted(t), 1);
    assert_null(ss_flow_lookup(t, &a, 111, 0));
    /* B idle exactly 10 s is not longer than the timeout. */
    assert_non_null(ss_flow_create(t, &d, 115, 0, 4));
    assert_int_equal(log.n, 1);
    /* A lookup is activity: C (created 111, seen 120) and D (115) survive at 124, B (105) does not. */
    assert_non_null(ss_flow_lookup(t, &c, 120, 0));
    assert_non_null(ss_flow_create(t, &e, 124, 0, 5));
    assert_int_equal(log.n, 2);
    assert_int_equal(log.port[1], 2);
    assert_int_equal(log.reason[1], SS_FLOW_RELEASE_IDLE);
    assert_int_equal(ss_flow_table_count(t), 3);
    ss_flow_table_destroy(t);
}

/* Ended flows beyond max_closed go, least recently seen first; open ones are never touched for it. */
static void test_flow_max_closed_releases_longest_ended(void **state)
{
    (void)state;
    rel_log_t log;
    memset(&log, 0, sizeof(log));
    ss_limits_t lim;
    ss_limits_init(&lim);
    lim.max_closed = 2;
    ss_flow_table_t *t = ss_flow_table_create(&lim, 64, on_release, &log);
    assert_non_null(t);
    ss_flow_key_t k[6];
    ss_flow_t *f[6];
    for (int i = 0; i < 4; i++) {
        k[i] = mk_key(6, (uint16_t)(10 + i));
        f[i] = ss_flow_create(t, &k[i], i, 0, (uint64_t)i + 1);
        assert_non_null(f[i]);
    }
    /* 0 stays open; 1, 2 and 3 end in that order, then 1 is seen again (a late ACK). */
    ss_flow_set_closed(t, f[1]);
    ss_flow_set_closed(t, f[2]);
    ss_flow_set_closed(t, f[3]);
    ss_flow_set_closed(t, f[3]); /* again: harmless */
    assert_ptr_equal(ss_flow_lookup(t, &k[1], 10, 0), f[1]);
    assert_int_equal(log.n, 0); /* nothing is released before a new flow needs room */
    k[4] = mk_key(6, 20);
    assert_non_null(ss_flow_create(t, &k[4], 11, 0, 5));
    /* Three ended, two kept: 2 was seen longest ago among them. */
    assert_int_equal(log.n, 1);
    assert_int_equal(log.port[0], 12);
    assert_int_equal(log.reason[0], SS_FLOW_RELEASE_CLOSED);
    assert_int_equal(ss_flow_table_closed_released(t), 1);
    assert_int_equal(ss_flow_table_evicted(t), 0); /* not an eviction */
    assert_null(ss_flow_lookup(t, &k[2], 12, 0));
    assert_ptr_equal(ss_flow_lookup(t, &k[0], 12, 0), f[0]);
    /* A replaced ended flow leaves the ended list with it. */
    ss_flow_t *r = ss_flow_create(t, &k[3], 13, 0, 6);
    assert_non_null(r);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.reason[1], SS_FLOW_RELEASE_REPLACED);
    k[5] = mk_key(6, 21);
    assert_non_null(ss_flow_create(t, &k[5], 14, 0, 7));
    assert_int_equal(log.n, 2); /* only 1 is ended now */
    assert_int_equal(ss_flow_table_count(t), 5);
    ss_flow_table_destroy(t);
    assert_int_equal(log.n, 7);
}

/* max_closed 0: an ended flow is released as soon as a new flow is created. */
static void test_flow_max_closed_zero_releases_at_next_create(void **state)
{
    (void)state;
    rel_log_t log;
    memset(&log, 0, sizeof(log));
    ss_limits_t lim;
    ss_limits_init(&lim);
    lim.max_closed = 0;
    ss_flow_table_t *t = ss_flow_table_create(&lim, 64, on_release, &log);
    assert_non_null(t);
    ss_flow_key_t a = mk_key(17, 1), b = mk_key(17, 2);
    ss_flow_t *fa = ss_flow_create(t, &a, 1, 0, 1);
    ss_flow_set_closed(t, fa);
    assert_ptr_equal(ss_flow_lookup(t, &a, 2, 0), fa);
    assert_non_null(ss_flow_create(t, &b, 3, 0, 2));
    assert_int_equal(log.n, 1);
    assert_int_equal(log.reason[0], SS_FLOW_RELEASE_CLOSED);
    assert_int_equal(ss_flow_table_count(t), 1);
    ss_flow_table_destroy(t);
}

static void test_flow_idle_timeout_zero_never_evicts(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    ss_flow_key_t a = mk_key(6, 1), b = mk_key(6, 2);
    assert_non_null(ss_flow_create(t, &a, 0, 0, 1));
    assert_non_null(ss_flow_create(t, &b, 1000000, 0, 2));
    assert_int_equal(log.n, 0);
    assert_int_equal(ss_flow_table_count(t), 2);
    ss_flow_table_destroy(t);
}

typedef struct order_log {
    int n;
    uint16_t port[3000];
} order_log_t;

static void record_order(void *ctx, ss_flow_t *f)
{
    order_log_t *o = ctx;
    assert_true(o->n < 3000);
    o->port[o->n++] = f->key.port[0];
}

static void test_flow_foreach_visits_every_flow_oldest_first(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    ss_flow_key_t a = mk_key(6, 30), b = mk_key(17, 10), c = mk_key(6, 20);
    assert_non_null(ss_flow_create(t, &a, 1, 0, 1));
    assert_non_null(ss_flow_create(t, &b, 2, 0, 2));
    assert_non_null(ss_flow_create(t, &c, 3, 0, 3));
    order_log_t o = {0};
    ss_flow_table_foreach(t, record_order, &o);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.port[0], 30);
    assert_int_equal(o.port[1], 10);
    assert_int_equal(o.port[2], 20);
    ss_flow_table_destroy(t);
    /* Destroy releases every flow once, with END. */
    assert_int_equal(log.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(log.reason[i], SS_FLOW_RELEASE_END);
}

static void test_flow_many_flows_all_found(void **state)
{
    (void)state;
    /* Enough flows to make the table grow; every one must stay reachable. */
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    for (uint16_t i = 0; i < 3000; i++) {
        ss_flow_key_t k = mk_key(6, (uint16_t)(i + 1));
        ss_flow_t *f = ss_flow_create(t, &k, i, 0, i);
        assert_non_null(f);
        assert_int_equal(f->index, i);
    }
    assert_int_equal(ss_flow_table_count(t), 3000);
    for (uint16_t i = 0; i < 3000; i++) {
        ss_flow_key_t k = mk_key(6, (uint16_t)(i + 1));
        ss_flow_t *f = ss_flow_lookup(t, &k, 5000, 0);
        assert_non_null(f);
        assert_int_equal(f->index, i);
    }
    ss_flow_table_destroy(t);
    assert_int_equal(log.n, 3000);
}

/*
 * The look-ahead calls: the hint for a key's hash is its flow (no two of
 * these 3000 keys share a 32-bit hash), nothing for keys never created,
 * and lookup with the hash given finds what lookup finds; neither hint nor
 * prefetch changes which flow is least recently seen.
 */
static void test_flow_hint_and_hashed_lookup(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(0, 0, &log);
    for (uint16_t i = 0; i < 3000; i++) {
        ss_flow_key_t k = mk_key(6, (uint16_t)(i + 1));
        assert_non_null(ss_flow_create(t, &k, i, 0, i));
    }
    for (uint16_t i = 0; i < 3000; i++) {
        ss_flow_key_t k = mk_key(6, (uint16_t)(i + 1)), absent = mk_key(17, (uint16_t)(i + 1));
        uint32_t h = ss_flow_key_hash(&k);
        ss_flow_prefetch(t, h);
        ss_flow_t *f = ss_flow_hint(t, h);
        assert_non_null(f);
        assert_int_equal(f->index, i);
        assert_int_equal(f->hash, h);
        assert_null(ss_flow_hint(t, ss_flow_key_hash(&absent)));
        assert_ptr_equal(ss_flow_lookup_hashed(t, &k, h, 3000 + i, 0), f);
        assert_null(ss_flow_lookup_hashed(t, &absent, ss_flow_key_hash(&absent), 3000 + i, 0));
    }
    /* Flows were looked up in index order; hints since then must not move any. */
    for (uint16_t i = 3000; i > 0; i--) {
        ss_flow_key_t k = mk_key(6, i);
        assert_non_null(ss_flow_hint(t, ss_flow_key_hash(&k)));
    }
    order_log_t o = {0};
    ss_flow_table_foreach(t, record_order, &o);
    assert_int_equal(o.n, 3000);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(o.port[i], i + 1);
    ss_flow_table_destroy(t);
}

/*
 * Removals in the middle of probe runs: with a small cap, a stream of new
 * and returning keys evicts flows all the time (the index closes each gap
 * by moving later entries back, and ids are reused). A plain model of the
 * least-recently-seen list says which keys must be in the table; every one
 * of them, and none other, must be found, with its own index.
 */
static void test_flow_removals_keep_index_and_lru_exact(void **state)
{
    (void)state;
    enum { CAP = 200, KEYS = 700, STEPS = 20000 };
    rel_log_t log;
    ss_flow_table_t *t = mk_table(CAP, 0, &log);
    int64_t seen[KEYS + 1];  /* model: the step a key was last seen at, -1 when not in the table */
    uint64_t index[KEYS + 1];
    for (int k = 0; k <= KEYS; k++)
        seen[k] = -1;
    uint64_t next_index = 0, rng = 12345;
    for (int64_t step = 0; step < STEPS; step++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int key = 1 + (int)((rng >> 33) % KEYS);
        ss_flow_key_t k = mk_key(6, (uint16_t)key);
        ss_flow_t *f = ss_flow_lookup(t, &k, step, 0);
        if (seen[key] >= 0) {
            assert_non_null(f);
            assert_int_equal(f->index, index[key]);
        } else {
            assert_null(f);
            int in_table = 0, oldest = -1;
            for (int j = 1; j <= KEYS; j++)
                if (seen[j] >= 0) {
                    in_table++;
                    if (oldest < 0 || seen[j] < seen[oldest])
                        oldest = j;
                }
            if (in_table >= CAP)
                seen[oldest] = -1; /* the least recently seen is evicted */
            f = ss_flow_create(t, &k, step, 0, (uint64_t)step);
            assert_non_null(f);
            assert_int_equal(f->index, next_index);
            index[key] = next_index++;
        }
        seen[key] = step;
    }
    size_t n = 0;
    for (int j = 1; j <= KEYS; j++) {
        ss_flow_key_t k = mk_key(6, (uint16_t)j);
        ss_flow_t *f = ss_flow_find(t, &k);
        if (seen[j] >= 0) {
            n++;
            assert_non_null(f);
            assert_int_equal(f->index, index[j]);
        } else {
            assert_null(f);
        }
    }
    assert_int_equal(ss_flow_table_count(t), n);
    assert_int_equal(ss_flow_table_evicted(t), next_index - n);
    ss_flow_table_destroy(t);
}

/* Every removal is counted (hints kept across packets rely on it), and a record handed out again is cleared. */
static void test_flow_removed_counted_and_reused_record_cleared(void **state)
{
    (void)state;
    rel_log_t log;
    ss_flow_table_t *t = mk_table(2, 10, &log);
    ss_flow_key_t a = mk_key(6, 1), b = mk_key(6, 2), c = mk_key(6, 3), d = mk_key(6, 4);
    ss_flow_t *fa = ss_flow_create(t, &a, 1, 0, 1);
    memset(fa->ext, 0xAA, 64);
    assert_int_equal(ss_flow_table_removed(t), 0);
    ss_flow_t *fa2 = ss_flow_create(t, &a, 2, 0, 2); /* replaced: the new one may get the old record */
    assert_non_null(fa2);
    assert_int_equal(ss_flow_table_removed(t), 1);
    const uint8_t *ext = (const uint8_t *)fa2->ext;
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(ext[i], 0); /* whichever record it got, it starts cleared */
    assert_int_equal(fa2->first_frame, 2);
    ss_flow_t *fb = ss_flow_create(t, &b, 3, 0, 3);
    assert_int_equal(ss_flow_table_removed(t), 1);
    ss_flow_set_closed(t, fb);
    assert_non_null(ss_flow_create(t, &c, 4, 0, 4)); /* the cap: the least recently seen goes */
    assert_int_equal(ss_flow_table_removed(t), 2);
    assert_non_null(ss_flow_create(t, &d, 100, 0, 5)); /* idle past 10 s: both others expire */
    assert_int_equal(ss_flow_table_removed(t), 4);
    assert_null(ss_flow_lookup(t, &a, 100, 0));
    assert_int_equal(ss_flow_table_removed(t), 4); /* a miss removes nothing */
    ss_flow_table_destroy(t);
    assert_int_equal(log.n, 5);
}

static void test_pool_hands_back_and_keeps_at_most_keep(void **state)
{
    (void)state;
    ss_pool_t p;
    ss_pool_init(&p, 1, 2);
    assert_int_equal(p.size, sizeof(void *)); /* a block holds at least the list's link */
    ss_pool_init(&p, 100, 2);
    void *x = ss_pool_get(&p), *y = ss_pool_get(&p), *z = ss_pool_get(&p);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(z);
    ss_pool_put(&p, x);
    ss_pool_put(&p, y);
    ss_pool_put(&p, z); /* over `keep`: freed */
    ss_pool_put(&p, NULL);
    assert_int_equal(p.n, 2);
    assert_ptr_equal(ss_pool_get(&p), y); /* the last one put back comes first */
    assert_ptr_equal(ss_pool_get(&p), x);
    assert_int_equal(p.n, 0);
    ss_pool_put(&p, x);
    ss_pool_put(&p, y);
    ss_pool_drain(&p);
    assert_int_equal(p.n, 0);
    assert_null(p.head);
    ss_pool_drain(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_key_both_directions_same_key),
        cmocka_unit_test(test_flow_key_address_order_wins_over_ports),
        cmocka_unit_test(test_flow_key_loopback_same_address_ordered_by_port),
        cmocka_unit_test(test_flow_key_ipv6_udp_and_protocol_part_of_key),
        cmocka_unit_test(test_flow_index_per_protocol_from_zero),
        cmocka_unit_test(test_flow_lookup_finds_created_and_marks_seen),
        cmocka_unit_test(test_flow_create_same_key_replaces_and_releases),
        cmocka_unit_test(test_flow_cap_evicts_least_recently_seen),
        cmocka_unit_test(test_flow_idle_timeout_evicts_on_capture_time),
        cmocka_unit_test(test_flow_idle_timeout_zero_never_evicts),
        cmocka_unit_test(test_flow_max_closed_releases_longest_ended),
        cmocka_unit_test(test_flow_max_closed_zero_releases_at_next_create),
        cmocka_unit_test(test_flow_foreach_visits_every_flow_oldest_first),
        cmocka_unit_test(test_flow_many_flows_all_found),
        cmocka_unit_test(test_flow_hint_and_hashed_lookup),
        cmocka_unit_test(test_flow_removals_keep_index_and_lru_exact),
        cmocka_unit_test(test_flow_removed_counted_and_reused_record_cleared),
        cmocka_unit_test(test_pool_hands_back_and_keeps_at_most_keep),
    };
    return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
