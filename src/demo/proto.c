/* proto.c - deterministic payloads and the len32 / line framing of the demo's messages. */
#include <string.h>

#include "internal.h"

/* SplitMix64: one step of a counter-based generator, so message i needs no state from i - 1. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

size_t ss_demo_msg_size(uint64_t seed, uint64_t index, size_t max)
{
    if (max <= 1 || index == 0)
        return 1;
    if (index == 1)
        return max;
    /*
     * Log-uniform: first a number of bits, then a value below that power of
     * two. Most messages are small (they share segments), a few are large
     * (they span many), which is what the framing views need to show.
     */
    unsigned maxbits = 0;
    while (maxbits < 63 && ((size_t)1 << (maxbits + 1)) <= max)
        maxbits++;
    uint64_t r = mix64(seed * 0x100000001B3ull ^ index);
    unsigned bits = (unsigned)(r % (maxbits + 1));
    uint64_t v = 1 + ((r >> 8) & (((uint64_t)1 << bits) - 1));
    return v > max ? max : (size_t)v;
}

/* 64 printable symbols; never '\n', so the same bytes serve line framing. */
static const char symbols[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void ss_demo_msg_fill(uint8_t *p, uint64_t index, size_t off, size_t n)
{
    /* Message i starts with a different symbol than message i + 1, so swapped messages show. */
    for (size_t j = 0; j < n; j++)
        p[j] = (uint8_t)symbols[(index * 7 + off + j) % 64];
}

void ss_demo_stream_fill(uint8_t *p, uint64_t off, size_t n)
{
    /* 16-byte lines "bulk 0123456789\n": the line number is the offset / 16, so every byte knows its place. */
    while (n) {
        char line[17];
        uint64_t ln = off / 16;
        snprintf(line, sizeof line, "bulk %010llu\n", (unsigned long long)(ln % 10000000000ull));
        size_t at = (size_t)(off % 16);
        size_t take = 16 - at < n ? 16 - at : n;
        memcpy(p, line + at, take);
        p += take;
        off += take;
        n -= take;
    }
}

size_t ss_demo_frame_header(ss_demo_frame_t kind, size_t len, uint8_t hdr[4])
{
    uint32_t v = (uint32_t)len;
    switch (kind) {
    case SS_DEMO_FRAME_LEN32_BE:
        hdr[0] = (uint8_t)(v >> 24);
        hdr[1] = (uint8_t)(v >> 16);
        hdr[2] = (uint8_t)(v >> 8);
        hdr[3] = (uint8_t)v;
        return 4;
    case SS_DEMO_FRAME_LEN32_LE:
        /* Python's struct.pack('i', n) on x86 and ARM: a native little-endian int. */
        hdr[0] = (uint8_t)v;
        hdr[1] = (uint8_t)(v >> 8);
        hdr[2] = (uint8_t)(v >> 16);
        hdr[3] = (uint8_t)(v >> 24);
        return 4;
    case SS_DEMO_FRAME_LINE:
        break;
    }
    return 0;
}

size_t ss_demo_frame_trailer(ss_demo_frame_t kind) { return kind == SS_DEMO_FRAME_LINE ? 1 : 0; }

ss_demo_frame_rc_t ss_demo_frame_parse(ss_demo_frame_t kind, const uint8_t *p, size_t n, size_t max,
                                       size_t *scan, const uint8_t **msg, size_t *msglen,
                                       size_t *consumed, char *err, size_t errlen)
{
    if (kind == SS_DEMO_FRAME_LINE) {
        /* Resume the search for '\n' where the last call stopped: no quadratic rescans. */
        size_t from = *scan < n ? *scan : n;
        const uint8_t *nl = from < n ? memchr(p + from, '\n', n - from) : NULL;
        if (!nl) {
            *scan = n;
            if (n > max) {
                snprintf(err, errlen, _("line longer than %zu bytes (--max-message) without a newline"), max);
                return SS_DEMO_FRAME_BAD;
            }
            return SS_DEMO_FRAME_MORE;
        }
        size_t len = (size_t)(nl - p);
        if (len > max) {
            snprintf(err, errlen, _("line of %zu bytes is longer than --max-message %zu"), len, max);
            return SS_DEMO_FRAME_BAD;
        }
        *msg = p;
        *msglen = len;
        *consumed = len + 1;
        *scan = 0;
        return SS_DEMO_FRAME_OK;
    }
    if (n < 4)
        return SS_DEMO_FRAME_MORE;
    uint64_t len;
    if (kind == SS_DEMO_FRAME_LEN32_BE) {
        len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    } else {
        uint32_t u = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
        if (u & 0x80000000u) {
            /* struct.pack('i') is signed: the top bit set is a negative length. */
            snprintf(err, errlen, _("negative length %lld in the 4-byte little-endian prefix"),
                     (long long)u - 4294967296ll);
            return SS_DEMO_FRAME_BAD;
        }
        len = u;
    }
    /* The declared length is checked before a single byte of the body is awaited or stored. */
    if (len > max) {
        snprintf(err, errlen, _("declared length %llu exceeds --max-message %zu"),
                 (unsigned long long)len, max);
        return SS_DEMO_FRAME_BAD;
    }
    if (n - 4 < len)
        return SS_DEMO_FRAME_MORE;
    *msg = p + 4;
    *msglen = (size_t)len;
    *consumed = 4 + (size_t)len;
    return SS_DEMO_FRAME_OK;
}
