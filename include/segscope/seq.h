/* seq.h - wrap-safe TCP sequence number arithmetic (RFC 9293 section 3.4). */
#ifndef SEGSCOPE_SEQ_H
#define SEGSCOPE_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Sequence numbers live on a circle of 2^32 values: after 0xFFFFFFFF comes 0.
 * "a is before b" therefore means that going forward from a reaches b in
 * less than half the circle, which is the sign of the 32-bit difference.
 * No other file compares raw sequence numbers with < or >.
 * Exactly half a circle apart (2^31) the order is undefined: each number
 * then counts as before the other, as in the kernel's before()/after().
 */
static inline int32_t ss_seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline bool ss_seq_lt(uint32_t a, uint32_t b) { return ss_seq_diff(a, b) < 0; }
static inline bool ss_seq_le(uint32_t a, uint32_t b) { return ss_seq_diff(a, b) <= 0; }
static inline bool ss_seq_gt(uint32_t a, uint32_t b) { return ss_seq_diff(a, b) > 0; }
static inline bool ss_seq_ge(uint32_t a, uint32_t b) { return ss_seq_diff(a, b) >= 0; }
/* lo <= x < hi on the circle (an empty range when lo == hi). */
static inline bool ss_seq_between(uint32_t x, uint32_t lo, uint32_t hi)
{
    return (uint32_t)(x - lo) < (uint32_t)(hi - lo);
}
static inline uint32_t ss_seq_max(uint32_t a, uint32_t b) { return ss_seq_gt(a, b) ? a : b; }

#endif
