/* bytes.h - a bounds-checked cursor over untrusted packet bytes. */
#ifndef SEGSCOPE_BYTES_H
#define SEGSCOPE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every read of packet memory goes through a cursor. A getter returns false,
 * and leaves the cursor where it was, when fewer bytes remain than it needs;
 * it never reads past `len`. Multi-byte getters are big-endian (network
 * order) unless their name ends in _le.
 */
typedef struct ss_cursor {
    const uint8_t *p; /* first byte of the window */
    size_t len;       /* bytes in the window */
    size_t off;       /* read position, 0 <= off <= len */
} ss_cursor_t;

static inline ss_cursor_t ss_cursor(const uint8_t *p, size_t len)
{
    ss_cursor_t c = {p, len, 0};
    return c;
}

static inline size_t ss_cur_left(const ss_cursor_t *c) { return c->len - c->off; }
static inline const uint8_t *ss_cur_ptr(const ss_cursor_t *c) { return c->p + c->off; }

static inline bool ss_cur_skip(ss_cursor_t *c, size_t n)
{
    if (ss_cur_left(c) < n)
        return false;
    c->off += n;
    return true;
}

static inline bool ss_cur_u8(ss_cursor_t *c, uint8_t *v)
{
    if (ss_cur_left(c) < 1)
        return false;
    *v = c->p[c->off++];
    return true;
}

static inline bool ss_cur_u16(ss_cursor_t *c, uint16_t *v)
{
    if (ss_cur_left(c) < 2)
        return false;
    const uint8_t *q = c->p + c->off;
    *v = (uint16_t)((q[0] << 8) | q[1]);
    c->off += 2;
    return true;
}

static inline bool ss_cur_u16_le(ss_cursor_t *c, uint16_t *v)
{
    if (ss_cur_left(c) < 2)
        return false;
    const uint8_t *q = c->p + c->off;
    *v = (uint16_t)((q[1] << 8) | q[0]);
    c->off += 2;
    return true;
}

static inline bool ss_cur_u32(ss_cursor_t *c, uint32_t *v)
{
    if (ss_cur_left(c) < 4)
        return false;
    const uint8_t *q = c->p + c->off;
    *v = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
    c->off += 4;
    return true;
}

static inline bool ss_cur_u32_le(ss_cursor_t *c, uint32_t *v)
{
    if (ss_cur_left(c) < 4)
        return false;
    const uint8_t *q = c->p + c->off;
    *v = ((uint32_t)q[3] << 24) | ((uint32_t)q[2] << 16) | ((uint32_t)q[1] << 8) | q[0];
    c->off += 4;
    return true;
}

/* Copies n bytes out; false (nothing copied) when fewer remain. */
static inline bool ss_cur_bytes(ss_cursor_t *c, void *dst, size_t n)
{
    if (ss_cur_left(c) < n)
        return false;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = c->p[c->off + i];
    c->off += n;
    return true;
}

/*
 * Narrows to the next n bytes: `sub` becomes a cursor over them and `c`
 * moves past them. False when fewer than n remain.
 */
static inline bool ss_cur_sub(ss_cursor_t *c, size_t n, ss_cursor_t *sub)
{
    if (ss_cur_left(c) < n)
        return false;
    *sub = ss_cursor(c->p + c->off, n);
    c->off += n;
    return true;
}

#endif
