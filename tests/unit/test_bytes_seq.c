/* test_bytes_seq.c - the bounds-checked cursor (bytes.h) and wrap-safe sequence arithmetic (seq.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/bytes.h"
#include "segscope/seq.h"

/* The bytes under test live in exactly-sized heap blocks so that ASan reports any over-read. */
static const uint8_t sample[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

/* ---- cursor ------------------------------------------------------------- */

static void test_bytes_zero_length_every_getter_fails(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 0);
    ss_cursor_t c = ss_cursor(buf, 0);
    uint8_t v8 = 0xAA;
    uint16_t v16 = 0xAAAA;
    uint32_t v32 = 0xAAAAAAAA;
    uint8_t out[1] = {0xAA};
    ss_cursor_t sub;

    assert_int_equal(ss_cur_left(&c), 0);
    assert_false(ss_cur_u8(&c, &v8));
    assert_false(ss_cur_u16(&c, &v16));
    assert_false(ss_cur_u16_le(&c, &v16));
    assert_false(ss_cur_u32(&c, &v32));
    assert_false(ss_cur_u32_le(&c, &v32));
    assert_false(ss_cur_bytes(&c, out, 1));
    assert_false(ss_cur_skip(&c, 1));
    assert_false(ss_cur_sub(&c, 1, &sub));
    assert_int_equal(out[0], 0xAA);
    assert_int_equal(c.off, 0);
    /* Zero-sized requests succeed on an empty window. */
    assert_true(ss_cur_skip(&c, 0));
    assert_true(ss_cur_bytes(&c, out, 0));
    assert_true(ss_cur_sub(&c, 0, &sub));
    assert_int_equal(sub.len, 0);
    assert_int_equal(c.off, 0);
    free(buf);
}

static void test_bytes_u8_exact_length_then_fails(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 1);
    ss_cursor_t c = ss_cursor(buf, 1);
    uint8_t v = 0;
    assert_true(ss_cur_u8(&c, &v));
    assert_int_equal(v, 0x01);
    assert_int_equal(c.off, 1);
    assert_int_equal(ss_cur_left(&c), 0);
    assert_false(ss_cur_u8(&c, &v));
    assert_int_equal(c.off, 1);
    free(buf);
}

static void test_bytes_u16_exact_ok_one_short_fails(void **state)
{
    (void)state;
    uint8_t *two = ss_pb_dup(sample, 2);
    ss_cursor_t c = ss_cursor(two, 2);
    uint16_t v = 0;
    assert_true(ss_cur_u16(&c, &v));
    assert_int_equal(v, 0x0102);
    assert_int_equal(c.off, 2);
    free(two);

    uint8_t *one = ss_pb_dup(sample, 1);
    c = ss_cursor(one, 1);
    assert_false(ss_cur_u16(&c, &v));
    assert_false(ss_cur_u16_le(&c, &v));
    assert_int_equal(c.off, 0);
    /* The byte is still there for a 1-byte read. */
    uint8_t b = 0;
    assert_true(ss_cur_u8(&c, &b));
    assert_int_equal(b, 0x01);
    free(one);
}

static void test_bytes_u16_le_reads_little_endian(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 2);
    ss_cursor_t c = ss_cursor(buf, 2);
    uint16_t v = 0;
    assert_true(ss_cur_u16_le(&c, &v));
    assert_int_equal(v, 0x0201);
    assert_int_equal(ss_cur_left(&c), 0);
    free(buf);
}

static void test_bytes_u32_exact_ok_one_short_fails(void **state)
{
    (void)state;
    uint8_t *four = ss_pb_dup(sample, 4);
    ss_cursor_t c = ss_cursor(four, 4);
    uint32_t v = 0;
    assert_true(ss_cur_u32(&c, &v));
    assert_int_equal(v, 0x01020304u);
    assert_int_equal(ss_cur_left(&c), 0);
    c = ss_cursor(four, 4);
    assert_true(ss_cur_u32_le(&c, &v));
    assert_int_equal(v, 0x04030201u);
    free(four);

    uint8_t *three = ss_pb_dup(sample, 3);
    c = ss_cursor(three, 3);
    assert_false(ss_cur_u32(&c, &v));
    assert_false(ss_cur_u32_le(&c, &v));
    assert_int_equal(c.off, 0);
    free(three);
}

static void test_bytes_u32_high_bit_not_sign_extended(void **state)
{
    (void)state;
    static const uint8_t hi[4] = {0xFF, 0xFE, 0x80, 0x81};
    uint8_t *buf = ss_pb_dup(hi, 4);
    ss_cursor_t c = ss_cursor(buf, 4);
    uint32_t v = 0;
    assert_true(ss_cur_u32(&c, &v));
    assert_int_equal(v, 0xFFFE8081u);
    c = ss_cursor(buf, 4);
    uint16_t w = 0;
    assert_true(ss_cur_u16(&c, &w));
    assert_int_equal(w, 0xFFFE);
    assert_true(ss_cur_u16_le(&c, &w));
    assert_int_equal(w, 0x8180);
    free(buf);
}

static void test_bytes_getter_near_end_fails_without_moving(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 8);
    ss_cursor_t c = ss_cursor(buf, 8);
    assert_true(ss_cur_skip(&c, 5)); /* 3 left */
    uint32_t v32 = 0;
    assert_false(ss_cur_u32(&c, &v32));
    assert_int_equal(c.off, 5);
    uint16_t v16 = 0;
    assert_true(ss_cur_u16(&c, &v16));
    assert_int_equal(v16, 0x0607);
    assert_false(ss_cur_u16(&c, &v16));
    assert_int_equal(c.off, 7);
    assert_ptr_equal(ss_cur_ptr(&c), buf + 7);
    free(buf);
}

static void test_bytes_skip_exact_ok_one_past_fails(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 8);
    ss_cursor_t c = ss_cursor(buf, 8);
    assert_false(ss_cur_skip(&c, 9));
    assert_int_equal(c.off, 0);
    assert_true(ss_cur_skip(&c, 8));
    assert_int_equal(ss_cur_left(&c), 0);
    assert_false(ss_cur_skip(&c, 1));
    assert_int_equal(c.off, 8);
    /* A huge count must not wrap around the length check. */
    c = ss_cursor(buf, 8);
    assert_true(ss_cur_skip(&c, 1));
    assert_false(ss_cur_skip(&c, SIZE_MAX));
    assert_int_equal(c.off, 1);
    free(buf);
}

static void test_bytes_copy_exact_and_one_short_copies_nothing(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 8);
    ss_cursor_t c = ss_cursor(buf, 8);
    uint8_t out[9];
    memset(out, 0xEE, sizeof(out));
    assert_true(ss_cur_skip(&c, 2));
    assert_false(ss_cur_bytes(&c, out, 7));
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0xEE);
    assert_int_equal(c.off, 2);
    assert_true(ss_cur_bytes(&c, out, 6));
    assert_memory_equal(out, sample + 2, 6);
    assert_int_equal(out[6], 0xEE);
    assert_int_equal(ss_cur_left(&c), 0);
    free(buf);
}

static void test_bytes_sub_slice_bounds_reads_inside_it(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 8);
    ss_cursor_t c = ss_cursor(buf, 8);
    ss_cursor_t sub;
    assert_true(ss_cur_skip(&c, 1));
    assert_true(ss_cur_sub(&c, 3, &sub));
    /* The parent moved past the slice; the slice covers bytes 1..3. */
    assert_int_equal(c.off, 4);
    assert_ptr_equal(sub.p, buf + 1);
    assert_int_equal(sub.len, 3);
    assert_int_equal(sub.off, 0);
    /* Inside the slice, a 4-byte read fails even though the parent buffer has more. */
    uint32_t v32 = 0;
    assert_false(ss_cur_u32(&sub, &v32));
    uint16_t v16 = 0;
    assert_true(ss_cur_u16(&sub, &v16));
    assert_int_equal(v16, 0x0203);
    uint8_t v8 = 0;
    assert_true(ss_cur_u8(&sub, &v8));
    assert_int_equal(v8, 0x04);
    assert_false(ss_cur_u8(&sub, &v8));
    /* The parent continues after the slice. */
    assert_true(ss_cur_u8(&c, &v8));
    assert_int_equal(v8, 0x05);
    free(buf);
}

static void test_bytes_sub_slice_exact_ok_one_short_fails(void **state)
{
    (void)state;
    uint8_t *buf = ss_pb_dup(sample, 4);
    ss_cursor_t c = ss_cursor(buf, 4);
    ss_cursor_t sub = ss_cursor(NULL, 0);
    assert_false(ss_cur_sub(&c, 5, &sub));
    assert_int_equal(c.off, 0);
    assert_ptr_equal(sub.p, NULL);
    assert_true(ss_cur_sub(&c, 4, &sub));
    assert_int_equal(sub.len, 4);
    assert_int_equal(ss_cur_left(&c), 0);
    /* A slice of a slice. */
    ss_cursor_t inner;
    assert_true(ss_cur_skip(&sub, 3));
    assert_false(ss_cur_sub(&sub, 2, &inner));
    assert_true(ss_cur_sub(&sub, 1, &inner));
    uint8_t v = 0;
    assert_true(ss_cur_u8(&inner, &v));
    assert_int_equal(v, 0x04);
    free(buf);
}

/* ---- sequence numbers --------------------------------------------------- */

static void test_seq_wrap_ffffffff_to_zero_is_forward(void **state)
{
    (void)state;
    assert_true(ss_seq_lt(0xFFFFFFFFu, 0));
    assert_true(ss_seq_le(0xFFFFFFFFu, 0));
    assert_false(ss_seq_gt(0xFFFFFFFFu, 0));
    assert_false(ss_seq_ge(0xFFFFFFFFu, 0));
    assert_true(ss_seq_gt(0, 0xFFFFFFFFu));
    assert_true(ss_seq_ge(0, 0xFFFFFFFFu));
    assert_int_equal(ss_seq_diff(0, 0xFFFFFFFFu), 1);
    assert_int_equal(ss_seq_diff(0xFFFFFFFFu, 0), -1);
    assert_int_equal(ss_seq_diff(0x10, 0xFFFFFFF0u), 0x20);
    assert_true(ss_seq_lt(0xFFFFFFF0u, 0x10));
    assert_int_equal(ss_seq_max(0xFFFFFFF0u, 0x10), 0x10);
    assert_int_equal(ss_seq_max(0x10, 0xFFFFFFF0u), 0x10);
}

static void test_seq_equal_values_le_ge_not_lt_gt(void **state)
{
    (void)state;
    static const uint32_t v[] = {0, 1, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_false(ss_seq_lt(v[i], v[i]));
        assert_false(ss_seq_gt(v[i], v[i]));
        assert_true(ss_seq_le(v[i], v[i]));
        assert_true(ss_seq_ge(v[i], v[i]));
        assert_int_equal(ss_seq_diff(v[i], v[i]), 0);
        assert_int_equal(ss_seq_max(v[i], v[i]), v[i]);
    }
}

static void test_seq_half_space_edge_flips_order(void **state)
{
    (void)state;
    static const uint32_t bases[] = {0, 1000, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        uint32_t a = bases[i];
        /* 2^31 - 1 ahead: still after a. */
        uint32_t near = a + 0x7FFFFFFFu;
        assert_true(ss_seq_lt(a, near));
        assert_true(ss_seq_gt(near, a));
        assert_int_equal(ss_seq_diff(near, a), INT32_MAX);
        /* 2^31 + 1 ahead: the shorter way round is backwards, so it is before a. */
        uint32_t far = a + 0x80000001u;
        assert_true(ss_seq_gt(a, far));
        assert_true(ss_seq_lt(far, a));
        assert_int_equal(ss_seq_diff(far, a), -INT32_MAX);
        /*
         * Exactly 2^31 apart the difference is INT32_MIN. Which way that
         * orders is a convention; what must hold is that each pair of
         * complementary predicates stays complementary.
         */
        uint32_t half = a + 0x80000000u;
        assert_int_equal(ss_seq_diff(half, a), INT32_MIN);
        assert_int_equal(ss_seq_diff(a, half), INT32_MIN);
        assert_true(ss_seq_lt(a, half) != ss_seq_ge(a, half));
        assert_true(ss_seq_gt(a, half) != ss_seq_le(a, half));
    }
}

static void test_seq_between_plain_range_is_half_open(void **state)
{
    (void)state;
    assert_true(ss_seq_between(100, 100, 200));
    assert_true(ss_seq_between(199, 100, 200));
    assert_false(ss_seq_between(200, 100, 200));
    assert_false(ss_seq_between(99, 100, 200));
    assert_false(ss_seq_between(0xFFFFFFFFu, 100, 200));
}

static void test_seq_between_range_across_wrap_contains_wrapped_values(void **state)
{
    (void)state;
    uint32_t lo = 0xFFFFFFF0u, hi = 0x10;
    assert_true(ss_seq_between(0xFFFFFFF0u, lo, hi));
    assert_true(ss_seq_between(0xFFFFFFFFu, lo, hi));
    assert_true(ss_seq_between(0, lo, hi));
    assert_true(ss_seq_between(0x0F, lo, hi));
    assert_false(ss_seq_between(0x10, lo, hi));
    assert_false(ss_seq_between(0xFFFFFFEFu, lo, hi));
    assert_false(ss_seq_between(0x80000000u, lo, hi));
}

static void test_seq_between_empty_range_empty_largest_range_all_but_one(void **state)
{
    (void)state;
    assert_false(ss_seq_between(5, 5, 5));
    assert_false(ss_seq_between(0, 5, 5));
    assert_false(ss_seq_between(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu));
    /* lo..hi covering all but one value. */
    assert_true(ss_seq_between(0xFFFFFFFEu, 0, 0xFFFFFFFFu));
    assert_true(ss_seq_between(0x80000000u, 0, 0xFFFFFFFFu));
    assert_false(ss_seq_between(0xFFFFFFFFu, 0, 0xFFFFFFFFu));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_zero_length_every_getter_fails),
        cmocka_unit_test(test_bytes_u8_exact_length_then_fails),
        cmocka_unit_test(test_bytes_u16_exact_ok_one_short_fails),
        cmocka_unit_test(test_bytes_u16_le_reads_little_endian),
        cmocka_unit_test(test_bytes_u32_exact_ok_one_short_fails),
        cmocka_unit_test(test_bytes_u32_high_bit_not_sign_extended),
        cmocka_unit_test(test_bytes_getter_near_end_fails_without_moving),
        cmocka_unit_test(test_bytes_skip_exact_ok_one_past_fails),
        cmocka_unit_test(test_bytes_copy_exact_and_one_short_copies_nothing),
        cmocka_unit_test(test_bytes_sub_slice_bounds_reads_inside_it),
        cmocka_unit_test(test_bytes_sub_slice_exact_ok_one_short_fails),
        cmocka_unit_test(test_seq_wrap_ffffffff_to_zero_is_forward),
        cmocka_unit_test(test_seq_equal_values_le_ge_not_lt_gt),
        cmocka_unit_test(test_seq_half_space_edge_flips_order),
        cmocka_unit_test(test_seq_between_plain_range_is_half_open),
        cmocka_unit_test(test_seq_between_range_across_wrap_contains_wrapped_values),
        cmocka_unit_test(test_seq_between_empty_range_empty_largest_range_all_but_one),
    };
    return cmocka_run_group_tests_name("bytes_seq", tests, NULL, NULL);
}
