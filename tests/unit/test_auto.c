/* test_auto.c - framing inference (--framing auto) on each framing, on mixtures and on noise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "segscope/framing.h"

typedef struct buf {
    uint8_t d[65536];
    size_t n;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->d));
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void put_len(buf_t *b, unsigned width, int le, size_t body)
{
    uint8_t h[4];
    for (unsigned i = 0; i < width; i++)
        h[i] = (uint8_t)(le ? body >> (8 * i) : body >> (8 * (width - 1 - i)));
    put(b, h, width);
    for (size_t i = 0; i < body; i++) {
        uint8_t c = (uint8_t)(i * 7 + 1); /* binary body, zeros included */
        put(b, &c, 1);
    }
}

/* Feeds the stream in chunks of `step` bytes and returns the verdict. */
static ss_confidence_t infer(const buf_t *b, size_t step, ss_framing_t *out, char *why, size_t whylen)
{
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    ss_auto_init(a, 1 << 20);
    for (size_t off = 0; off < b->n; off += step) {
        size_t n = b->n - off < step ? b->n - off : step;
        ss_stream_chunk_t c = {off, b->d + off, (uint32_t)n, 1 + off / step, false};
        ss_auto_feed(a, &c);
    }
    char local[256];
    ss_confidence_t conf = ss_auto_decide(a, out, why, whylen, local, sizeof(local));
    /* No language was chosen: the translated reason is the English one. */
    assert_string_equal(local, why);
    ss_auto_fini(a);
    free(a);
    return conf;
}

static void expect(const buf_t *b, const char *name, ss_confidence_t conf)
{
    static const size_t steps[] = {1, 7, 1448, 65536};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        ss_framing_t f;
        char why[128], nm[32];
        ss_confidence_t c = infer(b, steps[i], &f, why, sizeof(why));
        ss_framing_name(&f, nm, sizeof(nm));
        if (strcmp(nm, name) != 0 || c != conf)
            fail_msg("step %zu: inferred %s (%s: %s), expected %s (%s)", steps[i], nm, ss_confidence_name(c), why,
                     name, ss_confidence_name(conf));
        assert_true(why[0] != '\0');
    }
}

static void test_auto_len32_be_high(void **state)
{
    (void)state;
    static buf_t b;
    b.n = 0;
    for (size_t i = 0; i < 10; i++)
        put_len(&b, 4, 0, 1 + i * 37);
    expect(&b, "len:4:be", SS_CONF_HIGH);
}

static void test_auto_len32_le_medium(void **state)
{
    (void)state;
    static buf_t b;
    b.n = 0;
    for (size_t i = 0; i < 4; i++)
        put_len(&b, 4, 1, 300 + i);
    expect(&b, "len:4:le", SS_CONF_MEDIUM);
}

static void test_auto_len16_low(void **state)
{
    (void)state;
    static buf_t b;
    b.n = 0;
    put_len(&b, 2, 0, 1000);
    put_len(&b, 2, 0, 20);
    expect(&b, "len:2:be", SS_CONF_LOW);
}

static void test_auto_lines_and_crlf(void **state)
{
    (void)state;
    static buf_t b;
    b.n = 0;
    for (int i = 0; i < 9; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "line %d says hello\n", i);
        put(&b, line, (size_t)n);
    }
    expect(&b, "line", SS_CONF_HIGH);
    b.n = 0;
    for (int i = 0; i < 3; i++)
        put(&b, "GET / HTTP/1.1\r\n", 16);
    expect(&b, "line:crlf", SS_CONF_MEDIUM);
    /* Chinese text is text too. */
    b.n = 0;
    put(&b, "\xe4\xbd\xa0\xe5\xa5\xbd\n\xe7\xb2\x98\xe5\x8c\x85\n", 14);
    expect(&b, "line", SS_CONF_LOW);
}

static void test_auto_filexfer(void **state)
{
    (void)state;
    static buf_t b;
    b.n = 0;
    const char *hdr = "{\"filename\":\"a.txt\",\"filesize\":5,\"md5\":\"x\"}";
    size_t hl = strlen(hdr);
    uint8_t h[4] = {0, 0, 0, (uint8_t)hl};
    put(&b, h, 4);
    put(&b, hdr, hl);
    put(&b, "hello", 5);
    expect(&b, "filexfer:be", SS_CONF_MEDIUM);
}

static void test_auto_nothing_fits_is_none(void **state)
{
    (void)state;
    static buf_t b;
    /* Unframed tiny writes, text without a final delimiter: nothing explains the whole stream. */
    b.n = 0;
    for (int i = 0; i < 10; i++) {
        char m[8];
        int n = snprintf(m, sizeof(m), "msg-%d", i);
        put(&b, m, (size_t)n);
    }
    expect(&b, "none", SS_CONF_NONE);
    /* A length chain that does not land on the end. */
    b.n = 0;
    put_len(&b, 4, 0, 10);
    put(&b, "\x00\x00\x00\x50xx", 6);
    expect(&b, "none", SS_CONF_NONE);
    /* Noise. */
    b.n = 0;
    uint32_t x = 12345;
    for (int i = 0; i < 5000; i++) {
        x = x * 1103515245u + 12345u;
        uint8_t c = (uint8_t)(x >> 16);
        put(&b, &c, 1);
    }
    ss_framing_t f;
    char why[128];
    ss_confidence_t c = infer(&b, 100, &f, why, sizeof(why));
    assert_int_equal(f.kind, SS_FRAMING_NONE);
    assert_int_equal(c, SS_CONF_NONE);
    /* Nothing at all. */
    b.n = 0;
    c = infer(&b, 1, &f, why, sizeof(why));
    assert_int_equal(c, SS_CONF_NONE);
}

static void test_auto_gap_breaks_length_chain(void **state)
{
    (void)state;
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    ss_auto_init(a, 1 << 20);
    static buf_t b;
    b.n = 0;
    put_len(&b, 4, 0, 10);
    put_len(&b, 4, 0, 10);
    ss_stream_chunk_t c1 = {0, b.d, 14, 1, false};
    ss_stream_chunk_t gap = {14, NULL, 2, 0, true}; /* a hole where the next length is */
    ss_stream_chunk_t c2 = {16, b.d + 16, 12, 2, false};
    ss_auto_feed(a, &c1);
    ss_auto_feed(a, &gap);
    ss_auto_feed(a, &c2);
    ss_framing_t f;
    char why[128], local[256];
    (void)ss_auto_decide(a, &f, why, sizeof(why), local, sizeof(local));
    assert_int_not_equal(f.kind, SS_FRAMING_LEN);
    ss_auto_fini(a);
    free(a);
}

/* Candidates start only once data came, and those that stop fitting are no longer fed. */
static void test_auto_candidates_lazy_and_dropped(void **state)
{
    (void)state;
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    ss_auto_init(a, 1 << 20);
    for (int i = 0; i < SS_AUTO_NCAND; i++)
        assert_false(a->cand[i].alive); /* nothing started before data */
    static const uint8_t text[] = "GET / HTTP/1.0\r\n";
    ss_stream_chunk_t c1 = {0, text, (uint32_t)(sizeof(text) - 1), 1, false};
    ss_auto_feed(a, &c1);
    int lines = 0, alive = 0;
    for (int i = 0; i < SS_AUTO_NCAND; i++)
        if (a->cand[i].alive) {
            ss_framing_t f;
            ss_auto_candidate(i, &f);
            alive++;
            lines += f.kind == SS_FRAMING_LINE;
        }
    assert_int_equal(lines, 2);
    /* "GET " as a 32-bit length is far past the 1 MiB maximum: both len32 candidates are gone. */
    assert_true(alive <= SS_AUTO_NCAND - 2);
    /* A control byte: text framings no longer fit, so they are freed. */
    static const uint8_t bin[] = {0x00, 0x01, 0x02, '\n'};
    ss_stream_chunk_t c2 = {c1.len, bin, sizeof(bin), 2, false};
    ss_auto_feed(a, &c2);
    for (int i = 0; i < SS_AUTO_NCAND; i++) {
        ss_framing_t f;
        ss_auto_candidate(i, &f);
        assert_true(!a->cand[i].alive || f.kind != SS_FRAMING_LINE);
    }
    ss_auto_verdict_t v;
    ss_auto_verdict(a, &v, NULL);
    assert_int_equal(v.why, SS_AUTO_WHY_NONE_BINARY);
    assert_int_equal(v.bytes, c1.len + c2.len);
    char why[256], local[256];
    ss_auto_explain(&v, why, sizeof(why), local, sizeof(local));
    assert_string_equal(why, "no framing fits the whole stream (binary data): treated as unframed");
    ss_auto_fini(a);
    free(a);
}

/* What a framer's owner counts from its callbacks and chunk results (as the analyzer does). */
typedef struct tally {
    ss_auto_stats_t st;
} tally_t;

static void tally_msg(void *ctx, const ss_message_t *m)
{
    ss_auto_stats_t *st = &((tally_t *)ctx)->st;
    st->messages++;
    st->incomplete += !m->complete;
    st->split_messages += m->nframes >= 2;
    if (m->len > st->largest)
        st->largest = m->len;
}

/*
 * One-pass inference (--summary --framing auto) reports the winner's totals
 * instead of framing the stream again: they must be what a framer of the
 * winning framing counts over the same chunks, whatever the chunking.
 */
static void test_auto_winner_totals_equal_a_framers(void **state)
{
    (void)state;
    buf_t *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    static const size_t bodies[] = {3, 0, 900, 12, 5000, 1, 64, 2, 700};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
        put_len(b, 4, 0, bodies[i]);
    static const size_t steps[] = {1, 5, 13, 1448};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        ss_auto_t *a = malloc(sizeof(*a));
        assert_non_null(a);
        ss_auto_init(a, 1 << 20);
        ss_framing_t spec;
        char err[64];
        assert_int_equal(ss_framing_parse("len32", &spec, err, sizeof(err)), 0);
        tally_t want;
        memset(&want, 0, sizeof(want));
        ss_framer_t fr;
        ss_framer_init(&fr, &spec, 1 << 20, tally_msg, &want);
        for (size_t off = 0; off < b->n; off += steps[s]) {
            size_t n = b->n - off < steps[s] ? b->n - off : steps[s];
            ss_stream_chunk_t c = {off, b->d + off, (uint32_t)n, 1 + off / steps[s], false};
            ss_auto_feed(a, &c);
            ss_chunk_msgs_t cm;
            ss_framer_feed(&fr, &c, &cm);
            want.st.coalesced_segments += cm.count >= 2;
        }
        ss_framer_finish(&fr);
        ss_auto_verdict_t v;
        ss_auto_stats_t got;
        ss_auto_verdict(a, &v, &got);
        assert_int_equal(v.framing.kind, SS_FRAMING_LEN);
        assert_int_equal(v.messages, 9);
        assert_int_equal(got.messages, want.st.messages);
        assert_int_equal(got.incomplete, want.st.incomplete);
        assert_int_equal(got.coalesced_segments, want.st.coalesced_segments);
        assert_int_equal(got.split_messages, want.st.split_messages);
        assert_int_equal(got.largest, want.st.largest);
        assert_int_equal(got.largest, 5004);
        if (steps[s] == 1448)
            assert_true(got.coalesced_segments > 0); /* the chunking made some of each */
        if (steps[s] == 1)
            assert_int_equal(got.split_messages, 9);
        ss_framer_fini(&fr);
        ss_auto_fini(a);
        free(a);
    }
    /* Nothing fits: the totals are zero, as a framer of "none" counts nothing. */
    buf_t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    put(t, "no newline at the end", 21);
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    ss_auto_init(a, 1 << 20);
    ss_stream_chunk_t c = {0, t->d, (uint32_t)t->n, 1, false};
    ss_auto_feed(a, &c);
    ss_auto_verdict_t v;
    ss_auto_stats_t got;
    ss_auto_verdict(a, &v, &got);
    assert_int_equal(v.framing.kind, SS_FRAMING_NONE);
    assert_int_equal(got.messages + got.incomplete + got.coalesced_segments + got.split_messages + got.largest, 0);
    ss_auto_fini(a);
    free(a);
    free(t);
    free(b);
}

/* A small deterministic generator for the model test below. */
static uint32_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (uint32_t)(*x >> 11);
}

/* A stream in one of the candidates' shapes, sometimes with a wrong byte or a stray tail. */
static void gen_stream(buf_t *b, uint64_t *x)
{
    b->n = 0;
    unsigned shape = rnd(x) % 6;
    while (b->n < 6000) {
        size_t body = rnd(x) % (rnd(x) % 4 == 0 ? 900 : 40);
        if (shape == 0 || shape == 1) { /* len32 be / le */
            put_len(b, 4, (int)shape, body);
        } else if (shape == 2) { /* len16 */
            put_len(b, 2, 0, body);
        } else if (shape == 3 || shape == 4) { /* lines, LF or CRLF, text */
            for (size_t i = 0; i < body; i++) {
                char c = (char)('a' + rnd(x) % 26);
                put(b, &c, 1);
            }
            put(b, shape == 3 ? "\n" : "\r\n", shape == 3 ? 1 : 2);
        } else { /* a file transfer: header length, JSON header, file bytes */
            char js[96];
            int n = snprintf(js, sizeof(js), "{\"filename\":\"f\",\"filesize\":%zu}", body);
            int le = rnd(x) % 2;
            uint8_t h[4] = {0, 0, 0, 0};
            h[le ? 0 : 3] = (uint8_t)n;
            put(b, h, 4);
            put(b, js, (size_t)n);
            for (size_t i = 0; i < body; i++) {
                uint8_t c = (uint8_t)rnd(x);
                put(b, &c, 1);
            }
        }
        if (rnd(x) % 50 == 0) /* a byte that breaks some framings */
            b->d[rnd(x) % b->n] = (uint8_t)rnd(x);
    }
    if (rnd(x) % 4 == 0)
        put(b, "tail", 1 + rnd(x) % 4);
}

/*
 * The candidates count what framers of the same framings count: fed the
 * same chunks (random sizes, repeated and missing frame numbers, gaps), each
 * one still fitting has the framer's totals and state, and it stops fitting
 * exactly when the framer breaks.
 */
static void test_auto_candidates_count_as_framers(void **state)
{
    (void)state;
    buf_t *b = calloc(1, sizeof(*b));
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(b);
    assert_non_null(a);
    uint64_t x = 0x9e3779b97f4a7c15u;
    unsigned compared = 0, dropped = 0;
    for (int trial = 0; trial < 400; trial++) {
        gen_stream(b, &x);
        uint64_t maxm = rnd(&x) % 3 == 0 ? 64 + rnd(&x) % 512 : 1 << 20;
        ss_auto_init(a, maxm);
        ss_framer_t fr[SS_AUTO_NCAND];
        tally_t want[SS_AUTO_NCAND];
        memset(want, 0, sizeof(want));
        for (int i = 0; i < SS_AUTO_NCAND; i++) {
            ss_framing_t f;
            ss_auto_candidate(i, &f);
            ss_framer_init(&fr[i], &f, maxm, tally_msg, &want[i]);
            fr[i].quiet = true;
        }
        uint64_t frame = 1;
        for (size_t off = 0; off < b->n;) {
            size_t n = 1 + rnd(&x) % (rnd(&x) % 3 == 0 ? 8 : 1500);
            if (n > b->n - off)
                n = b->n - off;
            bool gap = rnd(&x) % 40 == 0;
            ss_stream_chunk_t c = {off, gap ? NULL : b->d + off, (uint32_t)n, gap ? 0 : frame, gap};
            if (rnd(&x) % 3)
                frame++; /* sometimes the next chunk comes from the same frame */
            ss_auto_feed(a, &c);
            for (int i = 0; i < SS_AUTO_NCAND; i++) {
                if (fr[i].broken)
                    continue;
                ss_chunk_msgs_t cm;
                ss_framer_feed(&fr[i], &c, &cm);
                want[i].st.coalesced_segments += cm.count >= 2;
            }
            off += n;
        }
        for (int i = 0; i < SS_AUTO_NCAND; i++) {
            const ss_auto_cand_t *k = &a->cand[i];
            if (i >= SS_AUTO_NCAND - 2 && a->binary) { /* the line candidates leave at the first control byte */
                assert_false(k->alive);
                continue;
            }
            assert_int_equal(k->alive, !fr[i].broken);
            if (!k->alive) {
                dropped++;
                continue;
            }
            compared++;
            assert_int_equal(k->in_msg, fr[i].in_msg);
            assert_int_equal(k->st.messages, want[i].st.messages);
            assert_int_equal(k->st.incomplete, want[i].st.incomplete);
            assert_int_equal(k->st.coalesced_segments, want[i].st.coalesced_segments);
            assert_int_equal(k->st.split_messages, want[i].st.split_messages);
            assert_int_equal(k->st.largest, want[i].st.largest);
        }
        for (int i = 0; i < SS_AUTO_NCAND; i++)
            ss_framer_fini(&fr[i]);
        ss_auto_fini(a);
    }
    /* Both outcomes happened often enough to mean something. */
    assert_true(compared > 400);
    assert_true(dropped > 400);
    free(a);
    free(b);
}

/* The candidate table is what the framing names say. */
static void test_auto_candidates_are_the_named_framings(void **state)
{
    (void)state;
    static const char *const names[SS_AUTO_NCAND] = {"filexfer:be", "filexfer:le", "len32", "len32le",
                                                     "len16",       "line:crlf",   "line"};
    for (int i = 0; i < SS_AUTO_NCAND; i++) {
        ss_framing_t want, got;
        char err[64];
        assert_int_equal(ss_framing_parse(names[i], &want, err, sizeof(err)), 0);
        ss_auto_candidate(i, &got);
        assert_int_equal(got.kind, want.kind);
        assert_int_equal(got.width, want.width);
        assert_int_equal(got.little_endian, want.little_endian);
        assert_int_equal(got.inclusive, want.inclusive);
        assert_int_equal(got.offset, want.offset);
        assert_int_equal(got.delim_len, want.delim_len);
        assert_memory_equal(got.delim, want.delim, sizeof(got.delim));
    }
}

/* Every byte value at every position of a chunk (word by word and in the tail): binary exactly when text would not hold it. */
static void test_auto_binary_byte_anywhere(void **state)
{
    (void)state;
    ss_auto_t *a = malloc(sizeof(*a));
    assert_non_null(a);
    for (unsigned b = 0; b < 256; b++) {
        bool want = (b < 0x20 && b != '\n' && b != '\r' && b != '\t') || b == 0x7F;
        /* 35 bytes: every lane of two 16-byte blocks, and the 3 bytes after them. */
        for (unsigned pos = 0; pos < 35; pos++) {
            uint8_t d[35];
            memset(d, 'a', sizeof(d));
            d[3] = '\n'; /* line endings and a tab elsewhere in the same block */
            d[20] = '\r';
            d[21] = '\n';
            d[33] = '\t';
            d[pos] = (uint8_t)b;
            ss_auto_init(a, 1 << 20);
            ss_stream_chunk_t c = {0, d, sizeof(d), 1, false};
            ss_auto_feed(a, &c);
            if (a->binary != want)
                fail_msg("byte 0x%02x at %u: binary %d", b, pos, a->binary);
            ss_auto_fini(a);
        }
    }
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_len32_be_high),     cmocka_unit_test(test_auto_len32_le_medium),
        cmocka_unit_test(test_auto_len16_low),         cmocka_unit_test(test_auto_lines_and_crlf),
        cmocka_unit_test(test_auto_filexfer),          cmocka_unit_test(test_auto_nothing_fits_is_none),
        cmocka_unit_test(test_auto_gap_breaks_length_chain),
        cmocka_unit_test(test_auto_candidates_lazy_and_dropped),
        cmocka_unit_test(test_auto_winner_totals_equal_a_framers),
        cmocka_unit_test(test_auto_candidates_count_as_framers),
        cmocka_unit_test(test_auto_candidates_are_the_named_framings),
        cmocka_unit_test(test_auto_binary_byte_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
