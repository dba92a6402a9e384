/* fuzz_stream.c - fuzz harness: stream reassembly fed segments, ACKs and flushes the input chooses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/stream.h"

#define FUZZ_NAME "fuzz_stream"
#include "fuzz_common.h"

/*
 * Input: two bytes of caps (per-direction out-of-order segments and bytes,
 * and the budget both directions share), then operations until the input
 * runs out. Each operation is a byte: bit 0 picks the direction, bits 1-2
 * the kind, the rest its details:
 *
 *   0  segment near the next expected byte: int16 offset from it, uint16 length
 *   1  segment anywhere: uint32 stream offset, uint16 length
 *      (lengths are taken modulo 4096, to keep many segments per input)
 *   2  acknowledgment of everything below a uint32 stream offset
 *   3  end of the stream (flush)
 *
 * A segment's bytes are a pattern of its stream offset (so a resend at the
 * same offset carries the same bytes), or with bit 5 taken from the input;
 * bit 4 cuts its captured part in half (a snaplen-cut packet).
 * All numbers are big-endian. No jump ahead reaches 2^32 bytes, as none
 * can behind the 32-bit sequence-number unwrap that feeds a stream.
 *
 * Checked beyond surviving: chunks arrive in stream order with no hole
 * between them, buffered bytes respect the caps, the shared budget counts
 * exactly the bytes buffered, and after ss_stream_fini it is back to 0.
 */


typedef struct consumer {
    uint64_t expect; /* stream offset the next chunk must start at */
    uint32_t sum;    /* reads each chunk's first and last byte, so ASan sees a stale pointer */
} consumer_t;

static void on_chunk(void *ctx, const ss_stream_chunk_t *c)
{
    consumer_t *k = ctx;
    CHECK(c->off == k->expect);
    CHECK(c->len > 0);
    CHECK(c->gap == (c->data == NULL));
    if (!c->gap)
        k->sum += c->data[0] + c->data[c->len - 1];
    k->expect = c->off + c->len;
}

static void check_caps(const ss_stream_t *s, const ss_stream_budget_t *b)
{
    CHECK(s[0].ooo_count <= s[0].max_ooo_segs && s[1].ooo_count <= s[1].max_ooo_segs);
    CHECK(s[0].ooo_bytes <= s[0].max_ooo_bytes && s[1].ooo_bytes <= s[1].max_ooo_bytes);
    CHECK(b->used == s[0].ooo_bytes + s[1].ooo_bytes);
    CHECK(b->max == 0 || b->used <= b->max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader_t r = {data, size};
    uint8_t c0 = (uint8_t)take(&r, 1), c1 = (uint8_t)take(&r, 1);
    uint32_t max_segs = (c0 & 0x80) ? 1024 : (uint32_t)(c0 & 0x0F);
    uint64_t max_bytes = (c0 & 0x40) ? 4u << 20 : (uint64_t)((c0 >> 4) & 3) * 700;
    ss_stream_budget_t budget = {0, (uint64_t)c1 * 64, 0};
    ss_stream_t s[2];
    consumer_t k[2] = {{0, 0}, {0, 0}};
    for (int d = 0; d < 2; d++)
        ss_stream_init(&s[d], max_segs, max_bytes, &budget, on_chunk, &k[d]);

    while (r.n) {
        uint8_t op = (uint8_t)take(&r, 1);
        int d = op & 1;
        int kind = (op >> 1) & 3;
        ss_stream_t *st = &s[d];
        if (kind == 0 || kind == 1) {
            uint64_t off;
            if (kind == 0) {
                int64_t delta = (int16_t)take(&r, 2);
                off = delta < 0 && (uint64_t)-delta > st->next ? 0 : (uint64_t)((int64_t)st->next + delta);
            } else {
                off = take(&r, 4);
            }
            uint32_t len = take(&r, 2) & 0x0FFF;
            uint32_t caplen = (op & 0x10) ? len / 2 : len;
            /* Its own exactly-sized copy: the stream must copy what it keeps, not hold the pointer. */
            uint8_t *payload = malloc(caplen ? caplen : 1);
            if (!payload)
                break;
            if (op & 0x20) {
                for (uint32_t i = 0; i < caplen; i++)
                    payload[i] = (uint8_t)take(&r, 1);
            } else {
                for (uint32_t i = 0; i < caplen; i += 8) /* quicker than byte by byte */
                    memcpy(payload + i, &off, caplen - i < 8 ? caplen - i : 8);
            }
            ss_stream_result_t res;
            uint64_t before = st->next;
            ss_stream_segment(st, off, payload, caplen, len, 1, &res);
            free(payload);
            CHECK(st->next >= before);
            CHECK((uint64_t)res.new_bytes + res.overlap <= len);
        } else if (kind == 2) {
            uint64_t before = st->next;
            uint64_t ack = take(&r, 4);
            ss_stream_acked(st, ack);
            CHECK(st->next >= before && st->next >= ack);
        } else {
            ss_stream_flush(st);
            CHECK(st->ooo == NULL && st->ooo_count == 0 && st->ooo_bytes == 0);
        }
        CHECK(k[d].expect == st->next);
        check_caps(s, &budget);
    }
    for (int d = 0; d < 2; d++)
        ss_stream_fini(&s[d]);
    CHECK(budget.used == 0);
    return 0;
}
