/* md5.c - MD5 message digest, written from RFC 1321 (used only to check file transfers). */
#include <string.h>

#include "internal.h"

/*
 * MD5 is broken as a defence against an adversary, but it is what the file
 * mode's header carries, and it is still a fine check against accidents: a
 * lost, repeated or reordered byte changes it.
 */

/* The per-step shift amounts of RFC 1321 section 3.4, four per round. */
static const uint8_t shifts[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

/* T[i] = floor(2^32 * abs(sin(i + 1))), the table of RFC 1321 section 3.4. */
static const uint32_t sine[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/* One 64-byte block: the four rounds of RFC 1321 section 3.4. Words are little-endian. */
static void md5_block(uint32_t st[4], const uint8_t *p)
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int k;
        switch (i / 16) {
        case 0: f = (b & c) | (~b & d); k = i; break;                /* F, message order */
        case 1: f = (b & d) | (c & ~d); k = (5 * i + 1) % 16; break; /* G */
        case 2: f = b ^ c ^ d; k = (3 * i + 5) % 16; break;          /* H */
        default: f = c ^ (b | ~d); k = (7 * i) % 16; break;          /* I */
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rotl(a + f + sine[i] + x[k], shifts[i / 16][i % 4]);
        a = t;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}

void ss_demo_md5_init(ss_demo_md5_t *m)
{
    /* RFC 1321 section 3.3: the initial buffer, words A B C D. */
    m->state[0] = 0x67452301;
    m->state[1] = 0xefcdab89;
    m->state[2] = 0x98badcfe;
    m->state[3] = 0x10325476;
    m->bytes = 0;
}

void ss_demo_md5_update(ss_demo_md5_t *m, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t have = (size_t)(m->bytes % 64);
    m->bytes += n;
    if (have) {
        size_t take = 64 - have < n ? 64 - have : n;
        memcpy(m->block + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64)
            return;
        md5_block(m->state, m->block);
    }
    for (; n >= 64; p += 64, n -= 64)
        md5_block(m->state, p);
    memcpy(m->block, p, n);
}

void ss_demo_md5_hex(ss_demo_md5_t *m, char out[33])
{
    /* RFC 1321 sections 3.1 and 3.2: a 1 bit, zeros to 56 mod 64, then the bit length (LE). */
    uint64_t bits = m->bytes * 8;
    static const uint8_t pad[64] = {0x80};
    size_t have = (size_t)(m->bytes % 64);
    ss_demo_md5_update(m, pad, have < 56 ? 56 - have : 120 - have);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (8 * i));
    ss_demo_md5_update(m, len, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        uint8_t byte = (uint8_t)(m->state[i / 4] >> (8 * (i % 4)));
        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 15];
    }
    out[32] = '\0';
}
