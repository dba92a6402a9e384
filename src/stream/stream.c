/* stream.c - TCP stream reassembly per direction (RFC 9293 section 3.10.7.4: segments are
 * processed in sequence order; data outside the receive window is trimmed).
 *
 * In-order bytes are delivered straight from the packet buffer without a
 * copy. Only out-of-order segments are copied, into a sorted list bounded by
 * a per-direction segment count and byte count and by a budget shared by
 * the whole run; a segment over a cap is dropped and counted, and its bytes
 * later become a gap. Bytes the capture never saw become a gap when the
 * peer's ACK (or the end of the stream) passes them, so a consumer can
 * resynchronise instead of waiting forever.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/stream.h"

struct ss_stream_seg {
    ss_stream_seg_t *next;
    uint64_t off;
    uint64_t frame;
    uint32_t len;
    uint8_t data[];
};

void ss_stream_init(ss_stream_t *s, uint32_t max_ooo_segs, uint64_t max_ooo_bytes,
                    ss_stream_budget_t *budget, ss_stream_deliver_fn deliver, void *ctx)
{
    memset(s, 0, offsetof(ss_stream_t, recent)); /* recent[] is read only where it was written */
    s->max_ooo_segs = max_ooo_segs;
    s->max_ooo_bytes = max_ooo_bytes;
    s->budget = budget;
    s->deliver = deliver;
    s->ctx = ctx;
}

static void free_seg(ss_stream_t *s, ss_stream_seg_t *g)
{
    s->ooo_count--;
    s->ooo_bytes -= g->len;
    if (s->budget)
        s->budget->used -= g->len;
    free(g);
}

void ss_stream_fini(ss_stream_t *s)
{
    while (s->ooo) {
        ss_stream_seg_t *g = s->ooo;
        s->ooo = g->next;
        free_seg(s, g);
    }
}

/* Remembers the bytes [off, off + len) just delivered (the ring keeps the last sizeof(recent)). */
static void remember(ss_stream_t *s, uint64_t off, const uint8_t *d, uint32_t len)
{
    const uint32_t cap = (uint32_t)sizeof(s->recent);
    if (len > cap) {
        d += len - cap;
        off += len - cap;
        len = cap;
    }
    uint32_t at = (uint32_t)(off % cap), first = cap - at < len ? cap - at : len;
    memcpy(s->recent + at, d, first);
    memcpy(s->recent, d + first, len - first);
    s->recent_len = s->recent_len + len > cap ? cap : s->recent_len + len;
}

static void emit(ss_stream_t *s, uint64_t off, const uint8_t *d, uint32_t len, uint64_t frame)
{
    if (len == 0)
        return;
    ss_stream_chunk_t c = {off, d, len, frame, false};
    s->next = off + len;
    s->delivered += len;
    if (d) {
        remember(s, off, d, len);
        s->recent_end = s->next;
    }
    if (s->deliver)
        s->deliver(s->ctx, &c);
}

static void emit_gap(ss_stream_t *s, uint64_t upto)
{
    if (upto <= s->next)
        return;
    uint64_t n = upto - s->next;
    ss_stream_chunk_t c = {s->next, NULL, (uint32_t)(n > 0xFFFFFFFFu ? 0xFFFFFFFFu : n), 0, true};
    s->gap_bytes += n;
    s->ngaps++;
    s->next = upto;
    s->recent_len = 0;
    s->recent_end = upto;
    if (s->deliver)
        s->deliver(s->ctx, &c);
}

/* Delivers buffered segments that have become contiguous. */
static void drain(ss_stream_t *s)
{
    while (s->ooo && s->ooo->off <= s->next) {
        ss_stream_seg_t *g = s->ooo;
        s->ooo = g->next;
        uint64_t end = g->off + g->len;
        if (end > s->next) {
            uint32_t skip = (uint32_t)(s->next - g->off);
            emit(s, s->next, g->data + skip, g->len - skip, g->frame);
        }
        free_seg(s, g);
    }
}

/* Compares re-sent bytes with the copy delivered before, where it is still remembered. */
static bool differs(const ss_stream_t *s, uint64_t off, const uint8_t *d, uint32_t len)
{
    uint64_t have_from = s->recent_end - s->recent_len;
    uint64_t lo = off > have_from ? off : have_from;
    uint64_t hi = off + len < s->recent_end ? off + len : s->recent_end;
    if (lo >= hi)
        return false;
    const uint32_t cap = (uint32_t)sizeof(s->recent);
    uint32_t n = (uint32_t)(hi - lo), at = (uint32_t)(lo % cap), first = cap - at < n ? cap - at : n;
    const uint8_t *p = d + (lo - off);
    return memcmp(s->recent + at, p, first) != 0 || memcmp(s->recent, p + first, n - first) != 0;
}

static void buffer(ss_stream_t *s, uint64_t off, const uint8_t *d, uint32_t len, uint64_t frame,
                   ss_stream_result_t *res)
{
    /* Keep only bytes not already buffered: walk the sorted list and insert the uncovered pieces. */
    ss_stream_seg_t **pp = &s->ooo;
    uint64_t end = off + len;
    uint64_t cur = off;
    while (cur < end) {
        while (*pp && (*pp)->off + (*pp)->len <= cur)
            pp = &(*pp)->next;
        uint64_t piece_end = end;
        if (*pp && (*pp)->off <= cur) { /* cur is inside a buffered segment: already have these bytes */
            const ss_stream_seg_t *g = *pp;
            uint64_t e = g->off + g->len;
            uint64_t stop = e < end ? e : end;
            uint32_t n = (uint32_t)(stop - cur);
            res->overlap += n;
            s->overlap_bytes += n;
            if (memcmp(g->data + (cur - g->off), d + (cur - off), n) != 0 && !res->differs) {
                res->differs = true;
                s->overlap_differs++;
            }
            cur = stop;
            continue;
        }
        if (*pp && (*pp)->off < piece_end)
            piece_end = (*pp)->off;
        uint32_t n = (uint32_t)(piece_end - cur);
        bool over_dir = s->ooo_count >= s->max_ooo_segs || s->ooo_bytes + n > s->max_ooo_bytes;
        bool over_budget = !over_dir && s->budget && s->budget->max && s->budget->used + n > s->budget->max;
        ss_stream_seg_t *g = over_dir || over_budget ? NULL : malloc(sizeof(*g) + n);
        if (!g) {
            /* Over a cap (or out of memory): not kept; these bytes will become a gap. */
            res->dropped = true;
            s->dropped_cap += n;
            if (over_budget)
                s->budget->refused++;
            cur = piece_end;
            continue;
        }
        g->off = cur;
        g->len = n;
        g->frame = frame;
        memcpy(g->data, d + (cur - off), n);
        g->next = *pp;
        *pp = g;
        pp = &g->next;
        s->ooo_count++;
        s->ooo_bytes += n;
        if (s->budget)
            s->budget->used += n;
        res->new_bytes += n;
        res->buffered = true;
        cur = piece_end;
    }
}

void ss_stream_segment(ss_stream_t *s, uint64_t off, const uint8_t *data, uint32_t caplen,
                       uint32_t len, uint64_t frame, ss_stream_result_t *res)
{
    memset(res, 0, sizeof(*res));
    if (len == 0)
        return;
    if (caplen > len)
        caplen = len;
    uint64_t end = off + len;
    if (end <= s->next) { /* wholly re-sent */
        res->overlap = len;
        res->differs = differs(s, off, data, caplen);
        s->overlap_bytes += len;
        s->overlap_differs += res->differs;
        return;
    }
    if (off < s->next) { /* partly re-sent: trim the front */
        uint32_t skip = (uint32_t)(s->next - off);
        res->overlap = skip;
        res->differs = differs(s, off, data, caplen < skip ? caplen : skip);
        s->overlap_bytes += skip;
        s->overlap_differs += res->differs;
        off += skip;
        len -= skip;
        data += skip < caplen ? skip : caplen;
        caplen = skip < caplen ? caplen - skip : 0;
    }
    if (off == s->next) {
        /*
         * In order: deliver the captured part at once, no copy. Where it
         * reaches bytes already buffered, those came first: they are
         * delivered as buffered (and the new copy compared with them).
         */
        uint64_t cap_end = off + caplen;
        uint64_t cur = off;
        while (cur < cap_end) {
            ss_stream_seg_t *g = s->ooo;
            if (g && g->off < cap_end) {
                if (g->off > cur) {
                    emit(s, cur, data + (cur - off), (uint32_t)(g->off - cur), frame);
                    res->new_bytes += (uint32_t)(g->off - cur);
                }
                uint64_t ge = g->off + g->len;
                uint64_t ov_end = ge < cap_end ? ge : cap_end;
                uint64_t ov_start = g->off > cur ? g->off : cur;
                if (ov_end > ov_start) {
                    uint32_t n = (uint32_t)(ov_end - ov_start);
                    res->overlap += n;
                    s->overlap_bytes += n;
                    if (memcmp(g->data + (ov_start - g->off), data + (ov_start - off), n) != 0 && !res->differs) {
                        res->differs = true;
                        s->overlap_differs++;
                    }
                }
                drain(s); /* delivers g and whatever follows it contiguously */
                cur = s->next > cur ? s->next : ov_end;
                continue;
            }
            emit(s, cur, data + (cur - off), (uint32_t)(cap_end - cur), frame);
            res->new_bytes += (uint32_t)(cap_end - cur);
            cur = cap_end;
        }
        /*
         * Cut by the snapshot length: the rest was on the wire but not
         * captured. It is a gap, except where a buffered copy has the bytes.
         */
        uint64_t end_all = off + len;
        while (s->next < end_all) {
            ss_stream_seg_t *g = s->ooo;
            if (g && g->off <= s->next) {
                drain(s);
                continue;
            }
            uint64_t upto = g && g->off < end_all ? g->off : end_all;
            uint64_t before = s->next;
            emit_gap(s, upto);
            if (upto > before && before >= cap_end)
                res->new_bytes += (uint32_t)(upto - before); /* first carried (uncaptured) by this segment */
            drain(s);
        }
        drain(s);
        return;
    }
    /* After a hole: keep a copy until the hole is filled, acknowledged, or the stream ends. */
    /* A snaplen-cut tail is not kept: it becomes a gap when acknowledged or at the end. */
    buffer(s, off, data, caplen, frame, res);
}

void ss_stream_acked(ss_stream_t *s, uint64_t off)
{
    /* The receiver has everything below `off`: what the capture never showed there is a gap. */
    while (s->next < off) {
        if (s->ooo && s->ooo->off <= s->next) {
            drain(s);
            continue;
        }
        uint64_t until = (s->ooo && s->ooo->off < off) ? s->ooo->off : off;
        emit_gap(s, until);
        drain(s);
    }
}

void ss_stream_flush(ss_stream_t *s)
{
    while (s->ooo) {
        emit_gap(s, s->ooo->off);
        drain(s);
    }
}
