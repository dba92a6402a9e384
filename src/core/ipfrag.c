/* ipfrag.c - IP fragment tracking: which bytes of a datagram arrived, and its transport header.
 *
 * A fragmented datagram is reported once, at the fragment that completes it
 * (as Wireshark does), with the transport header taken from the first
 * fragment. Only the header is kept, not the payload: memory per datagram
 * is fixed, the number of datagrams tracked is capped, and a datagram not
 * completed within 30 s of capture time is dropped (RFC 791's reassembly
 * timer is of that order).
 */
#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"

#define HDR_KEEP 64          /* transport header bytes kept from the first fragment */
#define MAX_PIECES 64        /* fragments remembered per datagram */
#define TIMEOUT_NS (30LL * 1000000000LL)

typedef struct dgram {
    bool used;
    uint8_t family, proto;
    uint8_t src[16], dst[16];
    uint32_t id;
    int64_t first_ns;
    uint32_t total;          /* transport bytes of the whole datagram, 0 until the last fragment */
    uint32_t npieces;
    uint32_t piece[MAX_PIECES][2]; /* [start, end) in transport bytes */
    uint8_t hdr[HDR_KEEP];
    uint32_t hdrlen;
    bool have_first;
} dgram_t;

struct ss_ipfrag {
    dgram_t *d;
    uint32_t n;
    uint64_t evicted; /* incomplete datagrams dropped to make room */
};

uint64_t ss_ipfrag_evicted(const ss_ipfrag_t *f) { return f->evicted; }

ss_ipfrag_t *ss_ipfrag_create(uint32_t max_datagrams)
{
    ss_ipfrag_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->n = max_datagrams ? max_datagrams : 1;
    f->d = calloc(f->n, sizeof(dgram_t));
    if (!f->d) {
        free(f);
        return NULL;
    }
    return f;
}

void ss_ipfrag_destroy(ss_ipfrag_t *f)
{
    if (!f)
        return;
    free(f->d);
    free(f);
}

static bool same(const dgram_t *d, const ss_packet_t *p)
{
    size_t alen = p->src.family == 6 ? 16 : 4;
    return d->used && d->family == p->src.family && d->proto == p->ip_proto && d->id == p->ip_id &&
           memcmp(d->src, p->src.a, alen) == 0 && memcmp(d->dst, p->dst.a, alen) == 0;
}

/* Whether the pieces cover [0, total) without a hole. */
static bool complete(const dgram_t *d)
{
    if (!d->total || !d->have_first)
        return false;
    uint32_t reach = 0;
    bool progress = true;
    while (progress && reach < d->total) {
        progress = false;
        for (uint32_t i = 0; i < d->npieces; i++)
            if (d->piece[i][0] <= reach && d->piece[i][1] > reach) {
                reach = d->piece[i][1];
                progress = true;
            }
    }
    return reach >= d->total;
}

bool ss_ipfrag_add(ss_ipfrag_t *f, ss_packet_t *pkt, int64_t t_ns)
{
    dgram_t *d = NULL, *free_slot = NULL, *oldest = NULL;
    for (uint32_t i = 0; i < f->n; i++) {
        dgram_t *x = &f->d[i];
        if (x->used && t_ns - x->first_ns > TIMEOUT_NS)
            x->used = false;
        if (same(x, pkt)) {
            d = x;
            break;
        }
        if (!x->used && !free_slot)
            free_slot = x;
        if (x->used && (!oldest || x->first_ns < oldest->first_ns))
            oldest = x;
    }
    if (!d) {
        d = free_slot ? free_slot : oldest; /* full: the oldest incomplete datagram gives way */
        if (!free_slot)
            f->evicted++;
        memset(d, 0, sizeof(*d));
        d->used = true;
        d->family = pkt->src.family;
        d->proto = pkt->ip_proto;
        memcpy(d->src, pkt->src.a, 16);
        memcpy(d->dst, pkt->dst.a, 16);
        d->id = pkt->ip_id;
        d->first_ns = t_ns;
    }
    uint32_t start = pkt->frag_offset, end = start + pkt->l4_len;
    if (d->npieces < MAX_PIECES) {
        d->piece[d->npieces][0] = start;
        d->piece[d->npieces][1] = end;
        d->npieces++;
    }
    if (!pkt->frag_more)
        d->total = end;
    if (start == 0 && !d->have_first) {
        const ss_frame_t *fr = pkt->frame;
        uint32_t have = fr->caplen > pkt->l4_off ? fr->caplen - pkt->l4_off : 0;
        if (have > pkt->l4_len)
            have = pkt->l4_len;
        d->hdrlen = have < HDR_KEEP ? have : HDR_KEEP;
        memcpy(d->hdr, fr->data + pkt->l4_off, d->hdrlen);
        d->have_first = true;
    }
    if (!complete(d))
        return false;
    uint8_t hdr[HDR_KEEP];
    uint32_t hl = d->hdrlen, total = d->total;
    memcpy(hdr, d->hdr, hl);
    d->used = false;
    ss_decode_reassembled(pkt, hdr, hl, total);
    return true;
}
