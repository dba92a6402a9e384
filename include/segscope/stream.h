/* stream.h - per-direction TCP stream reassembly: bytes in stream order, overlaps trimmed, gaps recorded. */
#ifndef SEGSCOPE_STREAM_H
#define SEGSCOPE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Positions are 64-bit stream offsets: 0 is the first payload byte of the
 * direction (ISN + 1). The caller unwraps 32-bit sequence numbers (see
 * ss_stream_offset), so nothing here ever sees wraparound.
 */

/* A piece of the reassembled stream, handed to the consumer in order. */
typedef struct ss_stream_chunk {
    uint64_t off;        /* stream offset of data[0] */
    const uint8_t *data; /* NULL for a gap */
    uint32_t len;
    uint64_t frame;      /* the frame that first carried these bytes (0 for a gap) */
    bool gap;            /* bytes never captured: the consumer must resynchronise after it */
} ss_stream_chunk_t;

typedef void (*ss_stream_deliver_fn)(void *ctx, const ss_stream_chunk_t *chunk);

/* Memory shared by every direction of a run: out-of-order bytes are charged here. */
typedef struct ss_stream_budget {
    uint64_t used, max;
    uint64_t refused; /* segments not buffered because the budget was spent */
} ss_stream_budget_t;

typedef struct ss_stream_seg ss_stream_seg_t; /* a buffered out-of-order segment */

typedef struct ss_stream {
    /* What every segment reads and writes comes first. */
    uint64_t next;        /* everything below has been delivered (or declared a gap) */
    uint64_t recent_end;  /* stream offset just past the bytes recent[] holds */
    uint32_t recent_len;  /* ... and how many it holds (up to sizeof recent) */
    uint32_t ngaps;
    uint64_t delivered;   /* bytes delivered */
    ss_stream_seg_t *ooo;     /* buffered segments, sorted by offset */
    ss_stream_deliver_fn deliver;
    void *ctx;
    uint64_t gap_bytes;   /* bytes declared never captured */
    uint64_t overlap_bytes;   /* retransmitted bytes trimmed */
    uint32_t overlap_differs; /* resent bytes that differed from the first copy */
    uint32_t ooo_count;
    uint64_t dropped_cap;     /* out-of-order bytes dropped because of a cap */
    uint64_t ooo_bytes;
    uint32_t max_ooo_segs;
    uint64_t max_ooo_bytes;
    ss_stream_budget_t *budget;
    /*
     * The last bytes delivered, to tell whether a retransmission carried the
     * same bytes: a ring in which the byte at stream offset o is recent[o %
     * sizeof recent], so each delivery writes only its own bytes.
     */
    uint8_t recent[512];
} ss_stream_t;

/* Prepares a direction; `budget` may be NULL (no global limit). */
void ss_stream_init(ss_stream_t *s, uint32_t max_ooo_segs, uint64_t max_ooo_bytes,
                    ss_stream_budget_t *budget, ss_stream_deliver_fn deliver, void *ctx);

/* Frees buffered segments (returning their bytes to the budget). */
void ss_stream_fini(ss_stream_t *s);

/* What happened to one segment. */
typedef struct ss_stream_result {
    uint32_t new_bytes;   /* bytes this segment was the first to carry (delivered now or buffered) */
    uint32_t overlap;     /* bytes already seen */
    bool differs;         /* some re-sent bytes differ from the first copy */
    bool buffered;        /* held until the bytes before it arrive */
    bool dropped;         /* not kept: a cap was reached */
} ss_stream_result_t;

/*
 * One segment: `len` payload bytes at stream offset `off`, of which the
 * first `caplen` were captured (a snaplen-cut packet: the rest becomes a
 * gap). Delivers whatever became contiguous.
 */
void ss_stream_segment(ss_stream_t *s, uint64_t off, const uint8_t *data, uint32_t caplen,
                       uint32_t len, uint64_t frame, ss_stream_result_t *res);

/*
 * The peer acknowledged everything below `off`: bytes below it that were
 * never captured are declared a gap, and buffered data after the gap is
 * delivered.
 */
void ss_stream_acked(ss_stream_t *s, uint64_t off);

/* End of the stream (FIN, RST or end of capture): buffered data after holes is delivered behind gaps. */
void ss_stream_flush(ss_stream_t *s);

/*
 * Unwraps a 32-bit sequence number into a 64-bit stream offset, given the
 * direction's ISN + 1 and a recent offset `near` (the closest candidate wins).
 */
static inline uint64_t ss_stream_offset(uint32_t seq, uint32_t first_seq, uint64_t near)
{
    uint32_t low = seq - first_seq;               /* offset modulo 2^32 */
    uint64_t cand = (near & ~(uint64_t)0xFFFFFFFFu) | low;
    if (cand > near && cand - near > 0x80000000u && cand >= 0x100000000u)
        cand -= 0x100000000u;
    else if (cand < near && near - cand > 0x80000000u)
        cand += 0x100000000u;
    return cand;
}

#endif
