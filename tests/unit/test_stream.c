/* test_stream.c - per-direction TCP stream reassembly (stream.h): order, overlaps, gaps, caps, splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "segscope/stream.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * A consumer that rebuilds the stream image: one byte and one frame number
 * per stream offset (frame 0 marks a gap byte), plus the first chunks as
 * delivered. It checks on every call that chunks arrive contiguous, which is
 * the one promise every consumer (the framers) depends on.
 */
#define COL_KEEP 64

typedef struct col {
    ss_stream_chunk_t chunk[COL_KEEP];
    size_t nchunks;      /* all chunks, including those past COL_KEEP */
    uint8_t *bytes;      /* stream image; gap bytes are 0 */
    uint64_t *frames;    /* frame per byte; 0 for a gap byte */
    size_t len, cap;
    uint64_t next;       /* offset the next chunk must start at */
    uint64_t gap_bytes;
    uint32_t ngaps;
} col_t;

static void col_deliver(void *ctx, const ss_stream_chunk_t *c)
{
    col_t *col = ctx;
    assert_int_equal(c->off, col->next);
    assert_true(c->len > 0);
    if (c->gap) {
        assert_null(c->data);
        assert_int_equal(c->frame, 0);
    } else {
        assert_non_null(c->data);
        assert_true(c->frame != 0);
    }
    if (col->nchunks < COL_KEEP)
        col->chunk[col->nchunks] = *c;
    col->nchunks++;
    if (col->len + c->len > col->cap) {
        size_t ncap = col->cap ? col->cap : 256;
        while (ncap < col->len + c->len)
            ncap *= 2;
        col->bytes = realloc(col->bytes, ncap);
        col->frames = realloc(col->frames, ncap * sizeof(uint64_t));
        assert_non_null(col->bytes);
        assert_non_null(col->frames);
        col->cap = ncap;
    }
    for (uint32_t i = 0; i < c->len; i++) {
        col->bytes[col->len + i] = c->gap ? 0 : c->data[i];
        col->frames[col->len + i] = c->gap ? 0 : c->frame;
    }
    if (c->gap) {
        col->ngaps++;
        col->gap_bytes += c->len;
    }
    col->len += c->len;
    col->next = c->off + c->len;
}

static void col_free(col_t *col)
{
    free(col->bytes);
    free(col->frames);
    memset(col, 0, sizeof(*col));
}

/* splitmix64: a small seeded generator, so every "random" case is reproducible. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi) /* inclusive */
{
    return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1));
}

static uint8_t *random_bytes(uint64_t seed, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rng_next(&seed);
    return b;
}

/* Feeds bytes [off, off+len) of `src`, from a heap copy of exactly that size so ASan sees over-reads. */
static ss_stream_result_t seg_copy(ss_stream_t *s, const uint8_t *src, uint64_t off, uint32_t len, uint64_t frame)
{
    ss_stream_result_t r;
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, src + off, len);
    ss_stream_segment(s, off, p, len, len, frame, &r);
    free(p);
    return r;
}

/* Feeds bytes straight from `src`: in-order data is delivered pointing there. */
static ss_stream_result_t seg(ss_stream_t *s, const uint8_t *src, uint64_t off, uint32_t len, uint64_t frame)
{
    ss_stream_result_t r;
    ss_stream_segment(s, off, src + off, len, len, frame, &r);
    return r;
}

static void assert_image(const col_t *col, const uint8_t *src, uint64_t from, uint64_t to)
{
    assert_true(col->len >= to);
    assert_memory_equal(col->bytes + from, src + from, (size_t)(to - from));
    for (uint64_t i = from; i < to; i++)
        assert_int_not_equal(col->frames[i], 0);
}

#define BIG_SEGS 1000000u
#define BIG_BYTES (1ull << 32)

/* ---- in order ------------------------------------------------------------ */

static void test_stream_in_order_delivered_without_copy(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(1, 100);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 4, 1000, NULL, col_deliver, &col);

    ss_stream_result_t r = seg(&s, src, 0, 40, 1);
    assert_int_equal(r.new_bytes, 40);
    assert_int_equal(r.overlap, 0);
    assert_false(r.buffered);
    assert_false(r.dropped);
    r = seg(&s, src, 40, 60, 2);
    assert_int_equal(r.new_bytes, 60);

    assert_int_equal(col.nchunks, 2);
    assert_ptr_equal(col.chunk[0].data, src);      /* the caller's buffer, not a copy */
    assert_ptr_equal(col.chunk[1].data, src + 40);
    assert_int_equal(col.chunk[0].off, 0);
    assert_int_equal(col.chunk[0].len, 40);
    assert_int_equal(col.chunk[0].frame, 1);
    assert_int_equal(col.chunk[1].off, 40);
    assert_int_equal(col.chunk[1].len, 60);
    assert_int_equal(col.chunk[1].frame, 2);
    assert_false(col.chunk[0].gap);
    assert_int_equal(s.next, 100);
    assert_int_equal(s.delivered, 100);
    assert_int_equal(s.ooo_count, 0);
    assert_int_equal(s.ngaps, 0);
    assert_image(&col, src, 0, 100);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_empty_segment_ignored(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(2, 10);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 4, 1000, NULL, col_deliver, &col);
    ss_stream_result_t r = seg(&s, src, 0, 0, 1);
    assert_int_equal(r.new_bytes, 0);
    assert_int_equal(col.nchunks, 0);
    r = seg(&s, src, 5, 0, 2); /* a bare ACK "after a hole" buffers nothing */
    assert_false(r.buffered);
    assert_int_equal(s.ooo_count, 0);
    assert_int_equal(s.next, 0);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- out of order -------------------------------------------------------- */

static void test_stream_out_of_order_buffered_until_hole_filled(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(3, 60);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);

    ss_stream_result_t r = seg_copy(&s, src, 40, 20, 1);
    assert_true(r.buffered);
    assert_int_equal(r.new_bytes, 20);
    r = seg_copy(&s, src, 20, 20, 2);
    assert_true(r.buffered);
    assert_int_equal(col.nchunks, 0);
    assert_int_equal(s.ooo_count, 2);
    assert_int_equal(s.ooo_bytes, 40);
    assert_int_equal(s.next, 0);

    r = seg(&s, src, 0, 20, 3);
    assert_false(r.buffered);
    assert_int_equal(r.new_bytes, 20);
    assert_int_equal(col.nchunks, 3);
    assert_ptr_equal(col.chunk[0].data, src);
    assert_int_equal(col.chunk[0].frame, 3);
    assert_int_equal(col.chunk[1].off, 20);
    assert_int_equal(col.chunk[1].len, 20);
    assert_int_equal(col.chunk[1].frame, 2);
    assert_int_equal(col.chunk[2].off, 40);
    assert_int_equal(col.chunk[2].len, 20);
    assert_int_equal(col.chunk[2].frame, 1);
    assert_image(&col, src, 0, 60);
    assert_int_equal(s.ooo_count, 0);
    assert_int_equal(s.ooo_bytes, 0);
    assert_int_equal(s.next, 60);
    assert_int_equal(s.ngaps, 0);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- overlaps and retransmissions ---------------------------------------- */

static void test_stream_partial_overlap_front_trimmed_rest_delivered(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(4, 50);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 30, 1);
    ss_stream_result_t r = seg(&s, src, 20, 30, 2);
    assert_int_equal(r.overlap, 10);
    assert_int_equal(r.new_bytes, 20);
    assert_false(r.differs);
    assert_int_equal(s.overlap_bytes, 10);
    assert_int_equal(s.overlap_differs, 0);
    assert_int_equal(col.nchunks, 2);
    assert_int_equal(col.chunk[1].off, 30);
    assert_int_equal(col.chunk[1].len, 20);
    assert_ptr_equal(col.chunk[1].data, src + 30); /* trimmed, still not copied */
    assert_int_equal(col.chunk[1].frame, 2);
    assert_int_equal(s.delivered, 50);
    assert_image(&col, src, 0, 50);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_total_overlap_nothing_delivered_counted(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(5, 50);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 50, 1);
    ss_stream_result_t r = seg_copy(&s, src, 10, 20, 2); /* inside what was delivered */
    assert_int_equal(r.overlap, 20);
    assert_int_equal(r.new_bytes, 0);
    assert_false(r.differs);
    assert_false(r.buffered);
    r = seg_copy(&s, src, 0, 50, 3); /* the whole thing again */
    assert_int_equal(r.overlap, 50);
    assert_int_equal(s.overlap_bytes, 70);
    assert_int_equal(s.overlap_differs, 0);
    assert_int_equal(col.nchunks, 1);
    assert_int_equal(s.delivered, 50);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_resent_different_bytes_differs_flagged(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(6, 80);
    uint8_t alt[80];
    memcpy(alt, src, sizeof(alt));
    alt[15] ^= 0x01;
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 40, 1);

    /* Wholly re-sent, one byte changed. */
    ss_stream_result_t r = seg(&s, alt, 10, 20, 2);
    assert_int_equal(r.overlap, 20);
    assert_true(r.differs);
    assert_int_equal(s.overlap_differs, 1);
    /* Wholly re-sent, identical. */
    r = seg(&s, src, 10, 20, 3);
    assert_false(r.differs);
    assert_int_equal(s.overlap_differs, 1);
    /* Partly re-sent, the changed byte in the re-sent part. */
    r = seg(&s, alt, 10, 40, 4);
    assert_int_equal(r.overlap, 30);
    assert_int_equal(r.new_bytes, 10);
    assert_true(r.differs);
    assert_int_equal(s.overlap_differs, 2);
    /* Partly re-sent, a byte changed only in the new part: that is no retransmission difference. */
    uint8_t alt2[80];
    memcpy(alt2, src, sizeof(alt2));
    alt2[60] ^= 0xFF;
    r = seg(&s, alt2, 45, 20, 5);
    assert_int_equal(r.overlap, 5);
    assert_false(r.differs);
    assert_int_equal(s.overlap_differs, 2);
    /* The first copy is what was delivered. */
    assert_int_equal(col.bytes[15], src[15]);
    assert_int_equal(col.bytes[60], alt2[60]);
    assert_int_equal(s.next, 65);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/*
 * The remembered bytes are a ring: a stream delivered in chunks of every
 * size (some longer than the ring, most not dividing it), then re-sent
 * pieces anywhere near its end, each with one byte changed or none. A
 * piece differs exactly when the changed byte is among the last
 * sizeof(recent) bytes delivered, wherever the ring's end falls in it.
 */
static void test_stream_resent_compared_across_the_ring_end(void **state)
{
    (void)state;
    ss_stream_t s;
    const uint32_t w = (uint32_t)sizeof(s.recent);
    uint64_t rng = 77;
    unsigned differing = 0, same = 0, wrapped = 0;
    for (int round = 0; round < 40; round++) {
        uint32_t total = rng_range(&rng, 1, 5 * w);
        uint8_t *src = random_bytes(round + 100, total), *alt = malloc(total);
        assert_non_null(alt);
        col_t col = {0};
        ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
        for (uint32_t off = 0, n; off < total; off += n) {
            n = rng_range(&rng, 1, w + 200);
            if (n > total - off)
                n = total - off;
            seg(&s, src, off, n, 1 + off);
        }
        assert_int_equal(s.next, total);
        uint32_t kept = total < w ? total : w;
        for (int k = 0; k < 50; k++) {
            uint32_t from = total > 2 * w ? total - 2 * w : 0;
            uint32_t off = rng_range(&rng, from, total - 1), len = rng_range(&rng, 1, total - off);
            memcpy(alt, src, total);
            bool flip = rng_next(&rng) % 4 != 0;
            uint32_t at = off + (uint32_t)(rng_next(&rng) % len);
            if (flip)
                alt[at] ^= 0x5a;
            bool expect = flip && at >= total - kept;
            ss_stream_result_t r = seg(&s, alt, off, len, 9999);
            assert_int_equal(r.overlap, len);
            assert_int_equal(r.differs, expect);
            differing += expect;
            same += !expect;
            /* The compared part crosses the ring's end (offset a multiple of its size). */
            uint32_t lo = off > total - kept ? off : total - kept;
            wrapped += lo < off + len && lo / w != (off + len - 1) / w;
        }
        ss_stream_fini(&s);
        col_free(&col);
        free(src);
        free(alt);
    }
    assert_true(differing > 200 && same > 200 && wrapped > 100);
}

/*
 * Only the last sizeof(recent) bytes delivered are remembered; after many
 * segments smaller than that window the comparison must still line up.
 */
static void test_stream_resent_compared_with_recent_history(void **state)
{
    (void)state;
    ss_stream_t s;
    const uint32_t w = (uint32_t)sizeof(s.recent);
    const uint32_t step = w / 5 + 3, total = 10 * w;
    uint8_t *src = random_bytes(21, total);
    uint8_t *alt = malloc(total);
    col_t col = {0};
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    for (uint32_t off = 0; off < total; off += step)
        seg(&s, src, off, off + step <= total ? step : total - off, 1 + off / step);
    assert_int_equal(s.next, total);
    ss_stream_result_t r = seg(&s, src, total / 2, total / 2, 1000); /* same bytes, beyond and within the window */
    assert_int_equal(r.overlap, total / 2);
    assert_false(r.differs);
    memcpy(alt, src, total);
    alt[total - w] ^= 0x20; /* the oldest byte still remembered */
    r = seg(&s, alt, total - 2 * w, 2 * w, 1001);
    assert_true(r.differs);
    memcpy(alt, src, total);
    alt[total - w / 2] ^= 0x20; /* the middle of the window */
    r = seg(&s, alt, total - w / 2 - 7, 20, 1002);
    assert_true(r.differs);
    memcpy(alt, src, total);
    alt[total - 1] ^= 0x01; /* the very last byte */
    r = seg(&s, alt, total - 10, 10, 1003);
    assert_true(r.differs);
    assert_int_equal(s.overlap_differs, 3);
    /* A segment longer than the window replaces the whole history. */
    uint8_t *more = random_bytes(22, 3 * w);
    ss_stream_segment(&s, total, more, 3 * w, 3 * w, 1004, &r);
    ss_stream_segment(&s, total + w, more + w, 2 * w, 2 * w, 1005, &r);
    assert_false(r.differs);
    more[3 * w - 1] ^= 0x40;
    ss_stream_segment(&s, total + 3 * w - 1, more + 3 * w - 1, 1, 1, 1006, &r);
    assert_true(r.differs);
    ss_stream_fini(&s);
    col_free(&col);
    free(more);
    free(alt);
    free(src);
}

/* After a gap the remembered bytes start again: nothing from before the gap is compared against later offsets. */
static void test_stream_resent_after_gap_not_compared_with_old_bytes(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(23, 200);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 100, 1);
    ss_stream_acked(&s, 150); /* 100..150 never captured */
    seg(&s, src, 150, 50, 2);
    ss_stream_result_t r = seg(&s, src, 0, 200, 3); /* the same bytes again */
    assert_int_equal(r.overlap, 200);
    assert_false(r.differs);
    r = seg(&s, src, 150, 50, 4);
    assert_false(r.differs);
    assert_int_equal(s.overlap_differs, 0);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_duplicate_segments_delivered_once(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(7, 60);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 20, 1);
    ss_stream_result_t r = seg(&s, src, 0, 20, 2); /* in-order duplicate */
    assert_int_equal(r.overlap, 20);
    assert_int_equal(r.new_bytes, 0);
    r = seg_copy(&s, src, 40, 20, 3);
    assert_true(r.buffered);
    r = seg_copy(&s, src, 40, 20, 4); /* out-of-order duplicate */
    assert_int_equal(r.overlap, 20);
    assert_int_equal(r.new_bytes, 0);
    assert_int_equal(s.ooo_count, 1);
    assert_int_equal(s.ooo_bytes, 20);
    seg(&s, src, 20, 20, 5);
    assert_int_equal(s.delivered, 60);
    assert_int_equal(col.len, 60);
    assert_image(&col, src, 0, 60);
    assert_int_equal(col.frames[40], 3);
    assert_int_equal(s.ooo_count, 0);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* Every byte a segment re-sends is an overlap, whether the first copy was delivered or is still buffered. */
static void test_stream_duplicate_out_of_order_counted_in_overlap_bytes(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(8, 60);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg_copy(&s, src, 40, 20, 1);
    ss_stream_result_t r = seg_copy(&s, src, 40, 20, 2);
    assert_int_equal(r.overlap, 20);
    assert_int_equal(s.overlap_bytes, 20); /* the per-segment result and the stream total agree */
    r = seg_copy(&s, src, 30, 20, 3);      /* half new, half re-sent */
    assert_int_equal(r.overlap, 10);
    assert_int_equal(r.new_bytes, 10);
    assert_int_equal(s.overlap_bytes, 30);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_resent_buffered_bytes_differ_flagged(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(9, 60);
    uint8_t alt[60];
    memcpy(alt, src, sizeof(alt));
    alt[45] ^= 0x80;
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg_copy(&s, src, 40, 20, 1);
    ss_stream_result_t r = seg_copy(&s, alt, 40, 20, 2);
    assert_int_equal(r.overlap, 20);
    assert_true(r.differs);
    assert_int_equal(s.overlap_differs, 1);
    seg(&s, src, 0, 40, 3);
    assert_int_equal(col.bytes[45], src[45]); /* the first copy wins */
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- frame attribution ---------------------------------------------------- */

static void test_stream_frame_is_first_carrier_after_buffered_retransmission(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(10, 30);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg_copy(&s, src, 10, 10, 1);
    seg_copy(&s, src, 10, 20, 2); /* re-sends 10..20, first to carry 20..30 */
    seg(&s, src, 0, 10, 3);
    assert_image(&col, src, 0, 30);
    for (int i = 0; i < 10; i++)
        assert_int_equal(col.frames[i], 3);
    for (int i = 10; i < 20; i++)
        assert_int_equal(col.frames[i], 1);
    for (int i = 20; i < 30; i++)
        assert_int_equal(col.frames[i], 2);
    assert_int_equal(col.nchunks, 3);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/*
 * A segment that fills the hole and also re-sends bytes already buffered:
 * the buffered bytes were first carried by the earlier frame.
 */
static void test_stream_frame_is_first_carrier_when_fill_covers_buffered(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(11, 30);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg_copy(&s, src, 10, 20, 1);
    ss_stream_result_t r = seg(&s, src, 0, 20, 2); /* new 0..10, re-sent 10..20 */
    assert_int_equal(r.new_bytes, 10);
    assert_int_equal(r.overlap, 10);
    assert_image(&col, src, 0, 30);
    for (int i = 0; i < 10; i++)
        assert_int_equal(col.frames[i], 2);
    for (int i = 10; i < 30; i++)
        assert_int_equal(col.frames[i], 1);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- gaps ------------------------------------------------------------------ */

static void test_stream_acked_past_hole_gap_then_buffered_data(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(12, 40);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 10, 1);
    seg_copy(&s, src, 20, 10, 2);
    ss_stream_acked(&s, 5); /* below next: nothing */
    ss_stream_acked(&s, 10);
    assert_int_equal(col.nchunks, 1);
    assert_int_equal(s.ngaps, 0);

    ss_stream_acked(&s, 40);
    assert_int_equal(col.nchunks, 4);
    assert_true(col.chunk[1].gap);
    assert_int_equal(col.chunk[1].off, 10);
    assert_int_equal(col.chunk[1].len, 10);
    assert_false(col.chunk[2].gap);
    assert_int_equal(col.chunk[2].off, 20);
    assert_int_equal(col.chunk[2].len, 10);
    assert_int_equal(col.chunk[2].frame, 2);
    assert_memory_equal(col.chunk[2].data, src + 20, 10);
    assert_true(col.chunk[3].gap);
    assert_int_equal(col.chunk[3].off, 30);
    assert_int_equal(col.chunk[3].len, 10);
    assert_int_equal(s.ngaps, 2);
    assert_int_equal(s.gap_bytes, 20);
    assert_int_equal(s.next, 40);
    assert_int_equal(s.ooo_count, 0);
    /* Data after the acknowledged gap is in order again. */
    ss_stream_result_t r = seg(&s, src, 30, 10, 3);
    assert_int_equal(r.overlap, 10);
    assert_int_equal(col.nchunks, 4);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_flush_delivers_buffered_behind_gaps(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(13, 45);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg(&s, src, 0, 10, 1);
    seg_copy(&s, src, 40, 5, 3);
    seg_copy(&s, src, 20, 10, 2);
    ss_stream_flush(&s);
    assert_int_equal(col.nchunks, 5);
    assert_true(col.chunk[1].gap);
    assert_int_equal(col.chunk[1].off, 10);
    assert_int_equal(col.chunk[1].len, 10);
    assert_int_equal(col.chunk[2].off, 20);
    assert_int_equal(col.chunk[2].frame, 2);
    assert_true(col.chunk[3].gap);
    assert_int_equal(col.chunk[3].off, 30);
    assert_int_equal(col.chunk[3].len, 10);
    assert_int_equal(col.chunk[4].off, 40);
    assert_int_equal(col.chunk[4].len, 5);
    assert_int_equal(col.chunk[4].frame, 3);
    assert_memory_equal(col.bytes + 20, src + 20, 10);
    assert_memory_equal(col.bytes + 40, src + 40, 5);
    assert_int_equal(s.ngaps, 2);
    assert_int_equal(s.gap_bytes, 20);
    assert_int_equal(s.next, 45); /* no gap invented after the last byte seen */
    assert_int_equal(s.ooo_count, 0);
    ss_stream_flush(&s);
    assert_int_equal(col.nchunks, 5);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_snaplen_cut_in_order_tail_is_gap(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(14, 150);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    ss_stream_result_t r;
    ss_stream_segment(&s, 0, src, 60, 100, 1, &r); /* 100 bytes on the wire, 60 captured */
    assert_int_equal(col.nchunks, 2);
    assert_false(col.chunk[0].gap);
    assert_ptr_equal(col.chunk[0].data, src);
    assert_int_equal(col.chunk[0].len, 60);
    assert_true(col.chunk[1].gap);
    assert_int_equal(col.chunk[1].off, 60);
    assert_int_equal(col.chunk[1].len, 40);
    assert_int_equal(s.next, 100);
    assert_int_equal(s.gap_bytes, 40);
    assert_int_equal(s.ngaps, 1);
    /* The next segment follows the cut one in order. */
    seg(&s, src, 100, 50, 2);
    assert_int_equal(col.nchunks, 3);
    assert_ptr_equal(col.chunk[2].data, src + 100);
    assert_int_equal(s.next, 150);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* A snaplen-cut segment must not declare a gap over bytes an earlier segment did capture (and that are buffered). */
static void test_stream_snaplen_cut_keeps_buffered_bytes_behind_it(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(24, 100);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    seg_copy(&s, src, 50, 10, 1); /* captured in full, held after the hole */
    ss_stream_result_t r;
    ss_stream_segment(&s, 0, src, 40, 100, 2, &r); /* 100 bytes on the wire, 40 captured */
    assert_int_equal(s.next, 100);
    assert_memory_equal(col.bytes, src, 40);
    assert_memory_equal(col.bytes + 50, src + 50, 10);
    for (int i = 50; i < 60; i++)
        assert_int_equal(col.frames[i], 1);
    assert_int_equal(s.gap_bytes, 10 + 40); /* 40..50 and 60..100 */
    assert_int_equal(s.ngaps, 2);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_snaplen_cut_out_of_order_tail_gap_on_ack(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(15, 80);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, col_deliver, &col);
    uint8_t *cut = malloc(10);
    memcpy(cut, src + 50, 10);
    ss_stream_result_t r;
    ss_stream_segment(&s, 50, cut, 10, 30, 1, &r); /* 30 bytes at 50, 10 captured */
    free(cut);
    assert_true(r.buffered);
    assert_int_equal(s.ooo_bytes, 10);
    seg(&s, src, 0, 50, 2);
    assert_int_equal(s.next, 60);
    assert_image(&col, src, 0, 60);
    ss_stream_flush(&s); /* nothing buffered: the tail is not invented */
    assert_int_equal(s.ngaps, 0);
    ss_stream_acked(&s, 80);
    assert_int_equal(s.ngaps, 1);
    assert_int_equal(s.gap_bytes, 20);
    assert_true(col.chunk[col.nchunks - 1].gap);
    assert_int_equal(col.chunk[col.nchunks - 1].off, 60);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- caps and the shared budget ------------------------------------------- */

static void test_stream_max_ooo_segs_drops_then_gap(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(16, 60);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 2, 1000, NULL, col_deliver, &col);
    assert_true(seg_copy(&s, src, 10, 10, 1).buffered);
    assert_true(seg_copy(&s, src, 30, 10, 2).buffered);
    ss_stream_result_t r = seg_copy(&s, src, 50, 10, 3);
    assert_true(r.dropped);
    assert_false(r.buffered);
    assert_int_equal(s.dropped_cap, 10);
    assert_int_equal(s.ooo_count, 2);
    assert_int_equal(s.ooo_bytes, 20);
    seg(&s, src, 0, 10, 4);
    seg(&s, src, 20, 10, 5);
    assert_int_equal(s.next, 40);
    assert_image(&col, src, 0, 40);
    ss_stream_acked(&s, 60); /* the dropped bytes were acknowledged: a gap */
    assert_int_equal(s.ngaps, 1);
    assert_int_equal(s.gap_bytes, 20);
    assert_true(col.chunk[col.nchunks - 1].gap);
    assert_int_equal(col.chunk[col.nchunks - 1].off, 40);
    assert_int_equal(col.chunk[col.nchunks - 1].len, 20);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_max_ooo_bytes_drops_what_does_not_fit(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(17, 70);
    col_t col = {0};
    ss_stream_t s;
    ss_stream_init(&s, 100, 25, NULL, col_deliver, &col);
    assert_true(seg_copy(&s, src, 10, 10, 1).buffered);
    ss_stream_result_t r = seg_copy(&s, src, 30, 20, 2); /* 10 + 20 > 25 */
    assert_true(r.dropped);
    assert_int_equal(r.new_bytes, 0);
    r = seg_copy(&s, src, 60, 10, 3); /* 10 + 10 fits */
    assert_true(r.buffered);
    assert_false(r.dropped);
    assert_int_equal(s.ooo_bytes, 20);
    assert_int_equal(s.ooo_count, 2);
    assert_int_equal(s.dropped_cap, 20);
    seg(&s, src, 0, 10, 4);
    assert_int_equal(s.next, 20);
    ss_stream_flush(&s);
    assert_int_equal(s.ngaps, 1);
    assert_int_equal(s.gap_bytes, 40);
    assert_memory_equal(col.bytes + 60, src + 60, 10);
    assert_int_equal(s.next, 70);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

static void test_stream_shared_budget_refuses_and_returns_to_zero(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(18, 100);
    col_t c1 = {0}, c2 = {0};
    ss_stream_budget_t budget = {.max = 30};
    ss_stream_t a, b;
    ss_stream_init(&a, 100, 1000, &budget, col_deliver, &c1);
    ss_stream_init(&b, 100, 1000, &budget, col_deliver, &c2);

    assert_true(seg_copy(&a, src, 10, 20, 1).buffered);
    assert_int_equal(budget.used, 20);
    ss_stream_result_t r = seg_copy(&b, src, 50, 15, 2); /* 20 + 15 > 30 */
    assert_true(r.dropped);
    assert_int_equal(budget.refused, 1);
    assert_int_equal(b.dropped_cap, 15);
    assert_int_equal(budget.used, 20);
    assert_true(seg_copy(&b, src, 70, 10, 3).buffered); /* 20 + 10 fits exactly */
    assert_int_equal(budget.used, 30);
    assert_true(seg_copy(&b, src, 90, 1, 4).dropped);
    assert_int_equal(budget.refused, 2);

    seg(&a, src, 0, 10, 5); /* a drains: its bytes go back to the budget */
    assert_int_equal(a.next, 30);
    assert_int_equal(budget.used, 10);
    assert_true(seg_copy(&b, src, 50, 15, 6).buffered); /* room again */
    assert_int_equal(budget.used, 25);

    /* b's dropped byte at 90 becomes a gap when acknowledged. */
    seg(&b, src, 0, 50, 7);
    assert_int_equal(b.next, 65);
    ss_stream_acked(&b, 91);
    assert_int_equal(b.next, 91);
    assert_int_equal(b.gap_bytes, 5 + 11); /* 65..70 never seen, 80..91 unseen or dropped */
    assert_memory_equal(c2.bytes + 70, src + 70, 10);
    assert_int_equal(budget.used, 0);

    seg_copy(&a, src, 50, 10, 8); /* buffered at fini */
    assert_int_equal(budget.used, 10);
    ss_stream_fini(&a);
    ss_stream_fini(&b);
    assert_int_equal(budget.used, 0);
    col_free(&c1);
    col_free(&c2);
    free(src);
}

static void test_stream_budget_used_zero_after_fini_with_buffered(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(19, 100);
    col_t col = {0};
    ss_stream_budget_t budget = {.max = 1000};
    ss_stream_t s;
    ss_stream_init(&s, 100, 1000, &budget, col_deliver, &col);
    seg_copy(&s, src, 10, 10, 1);
    seg_copy(&s, src, 30, 10, 2);
    seg_copy(&s, src, 15, 20, 3); /* fills 20..30 only */
    assert_int_equal(s.ooo_count, 3);
    assert_int_equal(budget.used, 30);
    assert_int_equal(s.ooo_bytes, 30);
    ss_stream_fini(&s);
    assert_int_equal(budget.used, 0);
    assert_int_equal(s.ooo_count, 0);
    assert_int_equal(s.ooo_bytes, 0);
    assert_null(s.ooo);
    assert_int_equal(col.nchunks, 0);
    col_free(&col);
    free(src);
}

/* `refused` counts segments refused for the shared budget, not for a per-direction cap. */
static void test_stream_direction_cap_drop_not_counted_as_budget_refusal(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(20, 60);
    col_t col = {0};
    ss_stream_budget_t budget = {.max = 100000};
    ss_stream_t s;
    ss_stream_init(&s, 1, 1000, &budget, col_deliver, &col);
    seg_copy(&s, src, 10, 10, 1);
    ss_stream_result_t r = seg_copy(&s, src, 30, 10, 2);
    assert_true(r.dropped);
    assert_int_equal(budget.used, 10);
    assert_int_equal(budget.refused, 0);
    ss_stream_fini(&s);
    col_free(&col);
    free(src);
}

/* ---- sequence unwrapping --------------------------------------------------- */

static void test_stream_offset_unwraps_across_2_32(void **state)
{
    (void)state;
    const uint32_t isn1 = 0xFFFFFF00u; /* ISN + 1 close to the 32-bit wrap */
    /* The sequence number wraps before the offset does. */
    assert_int_equal(ss_stream_offset(0x00000010u, isn1, 0), 0x110);
    assert_int_equal(ss_stream_offset(isn1, isn1, 0), 0);
    /* The offset crosses 2^32 going forwards. */
    const uint32_t first = 1000;
    assert_int_equal(ss_stream_offset(first + 0xFFFFFFF0u, first, 0xFFFFFF00u), 0xFFFFFFF0ull);
    assert_int_equal(ss_stream_offset(first + 0x10u, first, 0xFFFFFFF0ull), 0x100000010ull);
    assert_int_equal(ss_stream_offset(first + 0x10u, first, 0x100000000ull), 0x100000010ull);
    assert_int_equal(ss_stream_offset(first, first, 0xFFFFFFFFull), 0x100000000ull);
    /* ... and backwards: a retransmission from before the wrap. */
    assert_int_equal(ss_stream_offset(first + 0xFFFFFFF0u, first, 0x100000010ull), 0xFFFFFFF0ull);
    assert_int_equal(ss_stream_offset(first + 0xFFFFFFFEu, first, 0x200000005ull), 0x1FFFFFFFEull);
    assert_int_equal(ss_stream_offset(first + 5u, first, 0x1FFFFFFF0ull), 0x200000005ull);
    /* Near values stay in the same 4 GiB window. */
    assert_int_equal(ss_stream_offset(first + 0x12345670u, first, 0x312345678ull), 0x312345670ull);
    assert_int_equal(ss_stream_offset(first + 0x12345680u, first, 0x312345678ull), 0x312345680ull);
    /* The closer of two candidates wins, just inside half the space either way. */
    assert_int_equal(ss_stream_offset(first + 0x90000000u, first, 0x100000010ull), 0x090000000ull);
    assert_int_equal(ss_stream_offset(first + 0x70000000u, first, 0x100000010ull), 0x170000000ull);
    assert_int_equal(ss_stream_offset(first + 0x7FFFFFFFu, first, 0x100000000ull), 0x17FFFFFFFull);
    assert_int_equal(ss_stream_offset(first + 0x80000001u, first, 0x100000000ull), 0x080000001ull);
    /* Offsets never go below 0. */
    assert_int_equal(ss_stream_offset(first + 0xFFFFFFF0u, first, 5), 0xFFFFFFF0ull);
}

/* ---- split invariance ------------------------------------------------------- */

#define SPLIT_LEN 24000u

typedef struct piece {
    uint64_t off;
    uint32_t len;
    uint64_t frame;
} piece_t;

static void shuffle(piece_t *p, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(rng) % i);
        piece_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

/* Random cut of [0, len) into pieces of 1..maxlen bytes; frames numbered in stream order from 1. */
static size_t cut_random(piece_t *p, size_t len, uint32_t maxlen, uint64_t *rng)
{
    size_t n = 0;
    for (size_t off = 0; off < len; n++) {
        uint32_t l = rng_range(rng, 1, maxlen);
        if (off + l > len)
            l = (uint32_t)(len - off);
        p[n] = (piece_t){off, l, n + 1};
        off += l;
    }
    return n;
}

/* Feeds the pieces in the given order, each from its own exact heap copy; checks the result. */
static void run_pieces(const uint8_t *src, size_t len, const piece_t *p, size_t n, bool check_frames)
{
    col_t col = {0};
    ss_stream_budget_t budget = {.max = BIG_BYTES};
    ss_stream_t s;
    ss_stream_init(&s, BIG_SEGS, BIG_BYTES, &budget, col_deliver, &col);
    for (size_t i = 0; i < n; i++)
        seg_copy(&s, src, p[i].off, p[i].len, p[i].frame);
    ss_stream_flush(&s);
    assert_int_equal(col.len, len);
    assert_memory_equal(col.bytes, src, len);
    assert_int_equal(col.ngaps, 0);
    assert_int_equal(s.ngaps, 0);
    assert_int_equal(s.gap_bytes, 0);
    assert_int_equal(s.delivered, len);
    assert_int_equal(s.next, len);
    assert_int_equal(s.ooo_count, 0);
    assert_int_equal(s.dropped_cap, 0);
    assert_int_equal(s.overlap_differs, 0);
    if (check_frames) {
        for (size_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < p[i].len; k++)
                assert_int_equal(col.frames[p[i].off + k], p[i].frame);
    }
    ss_stream_fini(&s);
    assert_int_equal(budget.used, 0);
    assert_int_equal(budget.refused, 0);
    col_free(&col);
}

static void test_stream_split_all_at_once_identical(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(100, SPLIT_LEN);
    piece_t p = {0, SPLIT_LEN, 1};
    run_pieces(src, SPLIT_LEN, &p, 1, true);
    free(src);
}

static void test_stream_split_byte_by_byte_identical(void **state)
{
    (void)state;
    uint8_t *src = random_bytes(101, SPLIT_LEN);
    piece_t *p = calloc(SPLIT_LEN, sizeof(*p));
    for (size_t i = 0; i < SPLIT_LEN; i++)
        p[i] = (piece_t){i, 1, i + 1};
    run_pieces(src, SPLIT_LEN, p, SPLIT_LEN, true);
    free(p);
    free(src);
}

static void test_stream_split_random_sizes_identical(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t rng = seed * 7919;
        uint8_t *src = random_bytes(200 + seed, SPLIT_LEN);
        piece_t *p = calloc(SPLIT_LEN, sizeof(*p));
        size_t n = cut_random(p, SPLIT_LEN, seed % 2 ? 1460 : 97, &rng);
        run_pieces(src, SPLIT_LEN, p, n, true);
        free(p);
        free(src);
    }
}

static void test_stream_split_random_sizes_random_order_identical(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t rng = seed * 104729;
        uint8_t *src = random_bytes(300 + seed, SPLIT_LEN);
        piece_t *p = calloc(SPLIT_LEN, sizeof(*p));
        size_t n = cut_random(p, SPLIT_LEN, seed % 2 ? 1460 : 97, &rng);
        shuffle(p, n, &rng);
        for (size_t i = 0; i < n; i++)
            p[i].frame = i + 1; /* frames in arrival order */
        run_pieces(src, SPLIT_LEN, p, n, true);
        free(p);
        free(src);
    }
}

/*
 * Retransmissions: every piece is widened by a random overlap on each side,
 * some pieces are sent twice, and the lot arrives in random order. The bytes
 * are the same in every copy, so the image must be the original.
 */
static void test_stream_split_overlaps_and_duplicates_identical(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        uint64_t rng = seed * 15485863;
        uint8_t *src = random_bytes(400 + seed, SPLIT_LEN);
        piece_t *base = calloc(SPLIT_LEN, sizeof(*base));
        size_t nb = cut_random(base, SPLIT_LEN, 600, &rng);
        piece_t *p = calloc(nb * 3, sizeof(*p));
        size_t n = 0;
        for (size_t i = 0; i < nb; i++) {
            uint64_t lo = base[i].off, hi = base[i].off + base[i].len;
            uint32_t back = rng_range(&rng, 0, 3) == 0 ? rng_range(&rng, 1, 300) : 0;
            uint32_t fwd = rng_range(&rng, 0, 3) == 0 ? rng_range(&rng, 1, 300) : 0;
            lo = lo > back ? lo - back : 0;
            hi = hi + fwd < SPLIT_LEN ? hi + fwd : SPLIT_LEN;
            p[n++] = (piece_t){lo, (uint32_t)(hi - lo), 0};
            if (rng_range(&rng, 0, 4) == 0)
                p[n++] = (piece_t){lo, (uint32_t)(hi - lo), 0}; /* an exact duplicate */
            if (rng_range(&rng, 0, 6) == 0) {                    /* a re-send of an inner slice */
                uint32_t a = rng_range(&rng, 0, (uint32_t)(hi - lo - 1));
                uint32_t b = rng_range(&rng, a + 1, (uint32_t)(hi - lo));
                p[n++] = (piece_t){lo + a, b - a, 0};
            }
        }
        shuffle(p, n, &rng);
        for (size_t i = 0; i < n; i++)
            p[i].frame = i + 1;
        run_pieces(src, SPLIT_LEN, p, n, false);
        free(p);
        free(base);
        free(src);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_in_order_delivered_without_copy),
        cmocka_unit_test(test_stream_empty_segment_ignored),
        cmocka_unit_test(test_stream_out_of_order_buffered_until_hole_filled),
        cmocka_unit_test(test_stream_partial_overlap_front_trimmed_rest_delivered),
        cmocka_unit_test(test_stream_total_overlap_nothing_delivered_counted),
        cmocka_unit_test(test_stream_resent_different_bytes_differs_flagged),
        cmocka_unit_test(test_stream_resent_compared_with_recent_history),
        cmocka_unit_test(test_stream_resent_compared_across_the_ring_end),
        cmocka_unit_test(test_stream_resent_after_gap_not_compared_with_old_bytes),
        cmocka_unit_test(test_stream_duplicate_segments_delivered_once),
        cmocka_unit_test(test_stream_duplicate_out_of_order_counted_in_overlap_bytes),
        cmocka_unit_test(test_stream_resent_buffered_bytes_differ_flagged),
        cmocka_unit_test(test_stream_frame_is_first_carrier_after_buffered_retransmission),
        cmocka_unit_test(test_stream_frame_is_first_carrier_when_fill_covers_buffered),
        cmocka_unit_test(test_stream_acked_past_hole_gap_then_buffered_data),
        cmocka_unit_test(test_stream_flush_delivers_buffered_behind_gaps),
        cmocka_unit_test(test_stream_snaplen_cut_in_order_tail_is_gap),
        cmocka_unit_test(test_stream_snaplen_cut_keeps_buffered_bytes_behind_it),
        cmocka_unit_test(test_stream_snaplen_cut_out_of_order_tail_gap_on_ack),
        cmocka_unit_test(test_stream_max_ooo_segs_drops_then_gap),
        cmocka_unit_test(test_stream_max_ooo_bytes_drops_what_does_not_fit),
        cmocka_unit_test(test_stream_shared_budget_refuses_and_returns_to_zero),
        cmocka_unit_test(test_stream_budget_used_zero_after_fini_with_buffered),
        cmocka_unit_test(test_stream_direction_cap_drop_not_counted_as_budget_refusal),
        cmocka_unit_test(test_stream_offset_unwraps_across_2_32),
        cmocka_unit_test(test_stream_split_all_at_once_identical),
        cmocka_unit_test(test_stream_split_byte_by_byte_identical),
        cmocka_unit_test(test_stream_split_random_sizes_identical),
        cmocka_unit_test(test_stream_split_random_sizes_random_order_identical),
        cmocka_unit_test(test_stream_split_overlaps_and_duplicates_identical),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
