/* gen.c - deterministic synthetic capture generator for the benchmarks (segscope-bench-gen). */

/*
 * The benchmark needs a capture that looks like a busy server's traffic and
 * is the same byte for byte on every machine: a seeded simulation of F
 * concurrent "slots", each running one conversation after another.
 *
 * A slot's conversation is written one *round* at a time (a handshake, a
 * request and its response, one window of a bulk transfer, a zero-window
 * episode, a teardown). Within a round the simulation decides, with its own
 * random stream, which segments are lost and which arrive out of order,
 * plays the receiver (cumulative ACKs, delayed ACKs, SACK blocks, duplicate
 * ACKs) and the sender's recovery (fast retransmission after three duplicate
 * ACKs, a timeout retransmission otherwise), and gives every packet a
 * capture time. The capture point sits between the two hosts: a segment
 * lost "upstream" never appears, one lost "downstream" appears once and
 * again as a retransmission. A heap merges the slots' packets in time
 * order, so the file interleaves F conversations the way a real capture
 * does; when a conversation ends the slot starts the next one on a new
 * client port.
 *
 * The payload follows what the tested framings expect: port 9000 carries
 * 4-byte big-endian length-prefixed messages (len32), port 9001 newline-
 * terminated lines, port 9002 bulk transfers of unframed bytes, UDP port 53
 * DNS queries and answers, UDP port 9010 datagrams numbered from 0 (some
 * lost, some late). Bytes are a function of their stream offset, so a
 * retransmission repeats exactly what the original carried.
 *
 * Everything random comes from xoshiro256** seeded per slot from --seed:
 * the same options always write the same file.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

typedef struct gen_opts {
    uint64_t packets;
    uint32_t flows;
    uint64_t seed;
    double loss;        /* per data segment (and SYN, datagram) */
    double reorder;     /* per data segment: swapped with the next one */
    double ipv6_share;  /* of conversations */
    double udp_share;   /* of conversations */
    double zero_window; /* per bulk window: the receiver stops reading for a while */
    double rst_share;   /* of TCP conversations: ended by RST instead of FIN */
    const char *out;
} gen_opts_t;

/* ---- random numbers: splitmix64 for seeding, xoshiro256** for streams ---- */

typedef struct rng {
    uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(rng_t *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

/* Uniform in [lo, hi] (inclusive). */
static uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_next(r) % (hi - lo + 1);
}

static bool rng_chance(rng_t *r, double p) { return p > 0 && rng_unit(r) < p; }

/* Log-uniform in [lo, hi]: small values as likely per octave as large ones. */
static uint64_t rng_logu(rng_t *r, uint64_t lo, uint64_t hi)
{
    double l = (double)lo, h = (double)hi;
    double v = l * exp(rng_unit(r) * log(h / l));
    return (uint64_t)v;
}

/* ---- the simulated packets ---- */

#define NS_US 1000ull
#define NS_MS 1000000ull
#define MAX_SACK 3
#define MAX_MSGS 8
#define MAX_WINDOW 64 /* segments in one round */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/*
 * One packet waiting to be written. Sequence and acknowledgment numbers are
 * relative: 0 is the sender's ISN (the SYN), 1 its first data byte.
 */
typedef struct gpkt {
    uint64_t t;   /* capture time, ns from the start of the capture */
    uint64_t seq; /* TCP: relative sequence number; UDP: datagram number or DNS id */
    uint64_t ack; /* TCP: relative acknowledgment number (of the peer's sequence space) */
    uint32_t sack[MAX_SACK][2]; /* relative to the peer's ISN */
    uint16_t len;
    uint16_t win; /* raw window field */
    uint8_t dir;  /* 0 client to server, 1 server to client */
    uint8_t flags;
    uint8_t nsack;
    uint8_t udp;
} gpkt_t;

typedef enum {
    K_LEN32, /* request/response, 4-byte length-prefixed messages, port 9000 */
    K_LINE,  /* request/response, newline-terminated messages, port 9001 */
    K_BULK,  /* a download or an upload, port 9002 */
    K_DNS,   /* UDP queries and answers, port 53 */
    K_NUM,   /* UDP numbered datagrams, port 9010 */
} conn_kind_t;

static const uint16_t kind_port[] = {9000, 9001, 9002, 53, 9010};

typedef enum { PH_IDLE, PH_BODY, PH_CLOSE } phase_t;

/* A slot: one conversation at a time, its pending packets, its random stream. */
typedef struct slot {
    uint32_t id;
    rng_t rng;
    gpkt_t *q; /* pending packets in time order, q[qhead..qn) */
    uint32_t qhead, qn, qcap;
    uint64_t t;     /* time of the latest packet generated */
    uint64_t ready; /* when the receiver of the latest data has it (it may answer from then on) */
    phase_t phase;
    uint32_t nconn; /* conversations started in this slot (gives the client port) */

    /* the current conversation */
    conn_kind_t kind;
    bool v6, ts, sackok, ws;
    uint8_t wscale[2];
    uint16_t mss;
    uint16_t cport, sport;
    uint8_t server;          /* which of the servers */
    uint32_t isn[2];
    uint32_t ts_base[2];
    uint32_t last_tsval[2];  /* while writing: the latest TS value each side sent */
    uint16_t ipid[2];
    uint64_t nxt[2];         /* next relative sequence number of each side */
    uint64_t rcvd[2];        /* how far the peer has received (and acknowledged) each side */
    uint32_t rwnd[2];        /* receive window each side advertises, bytes */
    uint64_t rtt, ser;       /* round-trip time; one full segment's time on the wire */
    uint32_t rounds_left;
    uint64_t bulk_left;
    int bulk_dir;
    uint32_t cwnd;           /* segments per bulk window */
    uint32_t salt;           /* payload pattern offset */
    uint32_t resent;         /* segments the latest transfer had to send again */
    /* message layout of the current round, per direction */
    uint64_t mbase[2];       /* relative sequence number of the first message byte */
    uint16_t mlen[2][MAX_MSGS];
    uint8_t nmsg[2];
    /* UDP */
    uint32_t dns_id;
} slot_t;

typedef struct gen {
    gen_opts_t o;
    slot_t *slots;
    uint32_t *heap; /* slot ids, min-heap on the time of their next packet */
    uint32_t nheap;
    uint8_t pattern[65536];
    uint64_t conversations[2]; /* TCP, UDP started */
    uint64_t bytes;
    pcap_dumper_t *dumper;
    uint8_t frame[2048];
} gen_t;

/* ---- per-slot packet queue ---- */

static gpkt_t *push(slot_t *s)
{
    if (s->qn == s->qcap) {
        uint32_t ncap = s->qcap ? s->qcap * 2 : 32;
        gpkt_t *nq = realloc(s->q, (size_t)ncap * sizeof(*nq));
        if (!nq) {
            fprintf(stderr, "segscope-bench-gen: out of memory\n");
            exit(1);
        }
        s->q = nq;
        s->qcap = ncap;
    }
    gpkt_t *p = &s->q[s->qn++];
    memset(p, 0, sizeof(*p));
    return p;
}

/* Sorts the packets generated since `from` by time, keeping generation order on ties. */
static void sort_tail(slot_t *s, uint32_t from)
{
    for (uint32_t i = from + 1; i < s->qn; i++) {
        gpkt_t x = s->q[i];
        uint32_t j = i;
        while (j > from && s->q[j - 1].t > x.t) {
            s->q[j] = s->q[j - 1];
            j--;
        }
        s->q[j] = x;
    }
    if (s->qn > from)
        s->t = s->q[s->qn - 1].t;
}

/* Raw window field side `d` advertises. */
static uint16_t raw_win(const slot_t *s, int d)
{
    uint32_t w = s->rwnd[d];
    if (s->ws)
        w >>= s->wscale[d];
    return (uint16_t)(w > 65535 ? 65535 : w);
}

/* A pure ACK (or other control packet) from side `d`. */
static gpkt_t *ctl(slot_t *s, int d, uint64_t t, uint8_t flags)
{
    gpkt_t *p = push(s);
    p->t = t;
    p->dir = (uint8_t)d;
    p->flags = flags;
    p->seq = s->nxt[d];
    p->ack = s->rcvd[!d];
    p->win = raw_win(s, d);
    return p;
}

/* ---- TCP: one transfer of `len` bytes from side `d`, with loss, reordering and recovery ---- */

typedef struct seg {
    uint64_t seq;
    uint32_t len;
    bool lost, upstream;
} seg_t;

/* Receiver's out-of-order blocks, kept sorted; the most recent first for SACK. */
typedef struct rcv {
    uint64_t nxt;
    uint64_t blk[MAX_WINDOW][2];
    int nblk;
    uint64_t recent[MAX_SACK][2];
    int nrecent;
} rcv_t;

static void rcv_add(rcv_t *r, uint64_t a, uint64_t b)
{
    /* insert and merge */
    int i = 0;
    while (i < r->nblk && r->blk[i][1] < a)
        i++;
    if (i < r->nblk && r->blk[i][0] <= b) {
        if (a < r->blk[i][0])
            r->blk[i][0] = a;
        if (b > r->blk[i][1])
            r->blk[i][1] = b;
        while (i + 1 < r->nblk && r->blk[i + 1][0] <= r->blk[i][1]) {
            if (r->blk[i + 1][1] > r->blk[i][1])
                r->blk[i][1] = r->blk[i + 1][1];
            memmove(&r->blk[i + 1], &r->blk[i + 2], (size_t)(r->nblk - i - 2) * sizeof(r->blk[0]));
            r->nblk--;
        }
    } else {
        memmove(&r->blk[i + 1], &r->blk[i], (size_t)(r->nblk - i) * sizeof(r->blk[0]));
        r->blk[i][0] = a;
        r->blk[i][1] = b;
        r->nblk++;
    }
    /* advance the cumulative point over blocks that now touch it */
    while (r->nblk && r->blk[0][0] <= r->nxt) {
        if (r->blk[0][1] > r->nxt)
            r->nxt = r->blk[0][1];
        memmove(&r->blk[0], &r->blk[1], (size_t)(r->nblk - 1) * sizeof(r->blk[0]));
        r->nblk--;
    }
}

/* SACK blocks as RFC 2018 section 4 orders them: the block holding the latest segment first. */
static int rcv_sack(const rcv_t *r, uint64_t latest, uint32_t out[MAX_SACK][2])
{
    int n = 0, first = -1;
    for (int i = 0; i < r->nblk; i++)
        if (r->blk[i][0] <= latest && latest < r->blk[i][1])
            first = i;
    if (first >= 0) {
        out[n][0] = (uint32_t)r->blk[first][0];
        out[n][1] = (uint32_t)r->blk[first][1];
        n++;
    }
    for (int i = r->nblk - 1; i >= 0 && n < MAX_SACK; i--) {
        if (i == first)
            continue;
        out[n][0] = (uint32_t)r->blk[i][0];
        out[n][1] = (uint32_t)r->blk[i][1];
        n++;
    }
    return n;
}

/* The receiver's acknowledgment at time t of data direction d, just after segment sg arrived (SACK if agreed). */
static gpkt_t *push_ack(slot_t *s, int d, uint64_t t, const rcv_t *r, const seg_t *sg)
{
    gpkt_t *a = push(s);
    a->t = t;
    a->dir = (uint8_t)!d;
    a->flags = F_ACK;
    a->seq = s->nxt[!d];
    a->ack = r->nxt;
    a->win = raw_win(s, !d);
    if (s->sackok)
        a->nsack = (uint8_t)rcv_sack(r, sg->seq, a->sack);
    return a;
}

/*
 * Side `d` sends `len` bytes starting at its next sequence number, cut at
 * the MSS (and, when `cut` is between 0 and len, also there), from time t0.
 * The peer acknowledges every second segment, and at once whenever data is
 * missing or a hole closes; missing data is resent, fast after three
 * duplicate ACKs, else after a timeout. `final_ack` false leaves the last
 * acknowledgment to the peer's next data segment (piggybacked), when
 * nothing was lost. Returns the time of the last packet.
 */
static uint64_t xfer(gen_t *g, slot_t *s, int d, uint64_t len, uint64_t cut, uint64_t t0, bool final_ack)
{
    seg_t seg[MAX_WINDOW];
    int order[MAX_WINDOW];
    int n = 0;
    uint64_t base = s->nxt[d];
    for (uint64_t off = 0; off < len && n < MAX_WINDOW;) {
        uint64_t l = len - off < s->mss ? len - off : s->mss;
        if (cut > off && cut < off + l)
            l = cut - off;
        seg[n] = (seg_t){base + off, (uint32_t)l, false, false};
        if (rng_chance(&s->rng, g->o.loss)) {
            seg[n].lost = true;
            seg[n].upstream = rng_chance(&s->rng, 0.3);
        }
        order[n] = n;
        n++;
        off += l;
    }
    uint64_t end = seg[n - 1].seq + seg[n - 1].len;
    for (int i = 0; i + 1 < n; i++) {
        if (rng_chance(&s->rng, g->o.reorder)) {
            int tmp = order[i];
            order[i] = order[i + 1];
            order[i + 1] = tmp;
            i++;
        }
    }
    s->nxt[d] = end;

    rcv_t r;
    memset(&r, 0, sizeof(r));
    r.nxt = s->rcvd[d];
    uint64_t half = s->rtt / 2, t = t0, last = t0, last_data = t0;
    /* the previous acknowledgment of this stream had the value the receiver starts from */
    uint64_t prev_ack = r.nxt, dup = 0, dup3_t = 0;
    bool fast = false;
    int unacked = 0;
    bool any_loss = false;
    for (int k = 0; k < n; k++) {
        seg_t *sg = &seg[order[k]];
        if (k)
            t += s->ser * sg->len / s->mss + 100;
        last_data = t;
        if (!sg->upstream) {
            gpkt_t *p = push(s);
            p->t = t;
            p->dir = (uint8_t)d;
            p->flags = F_ACK | ((sg->seq + sg->len == end) ? F_PSH : 0);
            p->seq = sg->seq;
            p->len = (uint16_t)sg->len;
            p->ack = s->rcvd[!d];
            p->win = raw_win(s, d);
            if (last < t)
                last = t;
        }
        if (sg->lost) {
            any_loss = true;
            continue;
        }
        if (s->ready < t + half)
            s->ready = t + half;
        bool in_order = sg->seq == r.nxt;
        bool had_holes = r.nblk > 0;
        rcv_add(&r, sg->seq, sg->seq + sg->len);
        bool ack_now = !in_order || had_holes || r.nblk > 0 || ++unacked >= 2;
        bool last_seg = k == n - 1;
        if (!ack_now && !(last_seg && (final_ack || any_loss)))
            continue;
        unacked = 0;
        gpkt_t *a = push_ack(s, d, t + half, &r, sg);
        if (a->ack == prev_ack && ++dup == 3) {
            dup3_t = a->t;
            fast = true;
        }
        if (a->ack != prev_ack)
            dup = 0;
        prev_ack = a->ack;
        if (last < a->t)
            last = a->t;
    }
    /* Recovery: resend the segment at the receiver's cumulative point until all arrived. */
    bool first = true;
    s->resent = 0;
    while (r.nxt < end) {
        seg_t *sg = NULL;
        for (int i = 0; i < n; i++)
            if (seg[i].seq == r.nxt)
                sg = &seg[i];
        if (!sg)
            break; /* cannot happen: the cumulative point is always a segment start */
        uint64_t tr;
        if (first)
            tr = fast ? dup3_t + half : last_data + 200 * NS_MS + s->rtt;
        else
            tr = last + half;
        if (tr <= last)
            tr = last + 1000;
        first = false;
        s->resent++;
        gpkt_t *p = push(s);
        p->t = tr;
        p->dir = (uint8_t)d;
        p->flags = F_ACK;
        p->seq = sg->seq;
        p->len = (uint16_t)sg->len;
        p->ack = s->rcvd[!d];
        p->win = raw_win(s, d);
        rcv_add(&r, sg->seq, sg->seq + sg->len);
        if (s->ready < tr + half)
            s->ready = tr + half;
        gpkt_t *a = push_ack(s, d, tr + half, &r, sg);
        last = a->t;
    }
    s->rcvd[d] = end;
    return last;
}

/* ---- conversation scripts ---- */

static void set_msgs(slot_t *s, int d, uint64_t *total, bool line, uint32_t nmin, uint32_t nmax, uint32_t bmin,
                     uint32_t bmax)
{
    uint32_t n = (uint32_t)rng_range(&s->rng, nmin, nmax);
    s->mbase[d] = s->nxt[d];
    s->nmsg[d] = (uint8_t)n;
    *total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t body = (uint32_t)rng_logu(&s->rng, bmin, bmax);
        s->mlen[d][i] = (uint16_t)(body + (line ? 1 : 4));
        *total += s->mlen[d][i];
    }
}

static void start_conn(gen_t *g, slot_t *s)
{
    rng_t *r = &s->rng;
    uint64_t t = s->t + rng_logu(r, 100 * NS_US, 50 * NS_MS);
    s->nconn++;
    bool udp = rng_chance(r, g->o.udp_share);
    s->v6 = rng_chance(r, g->o.ipv6_share);
    s->cport = (uint16_t)(32768 + (s->id * 7919u + s->nconn) % 28000u);
    s->server = (uint8_t)rng_range(r, 0, 7);
    s->rtt = rng_logu(r, 200 * NS_US, 40 * NS_MS);
    s->ipid[0] = (uint16_t)rng_next(r);
    s->ipid[1] = (uint16_t)rng_next(r);
    s->salt = (uint32_t)rng_next(r);
    s->nmsg[0] = s->nmsg[1] = 0;
    uint32_t from = s->qn;
    if (udp) {
        g->conversations[1]++;
        s->kind = rng_chance(r, 0.5) ? K_DNS : K_NUM;
        s->sport = kind_port[s->kind];
        if (s->kind == K_DNS) {
            uint32_t n = (uint32_t)rng_range(r, 1, 3);
            for (uint32_t i = 0; i < n; i++) {
                uint16_t qid = (uint16_t)rng_next(r);
                gpkt_t *p = push(s);
                p->t = t;
                p->udp = 1;
                p->seq = qid;
                p->len = 0; /* built when written */
                if (!rng_chance(r, g->o.loss)) {
                    gpkt_t *a = push(s);
                    a->t = t + s->rtt;
                    a->udp = 1;
                    a->dir = 1;
                    a->seq = qid;
                }
                t += s->rtt + rng_range(r, 100 * NS_US, 5 * NS_MS);
            }
        } else {
            uint32_t n = (uint32_t)rng_range(r, 10, 80);
            uint16_t plen = (uint16_t)rng_range(r, 60, 1200);
            uint32_t swapped = UINT32_MAX;
            for (uint32_t i = 0; i < n; i++) {
                t += rng_range(r, 50 * NS_US, 500 * NS_US);
                if (rng_chance(r, g->o.loss))
                    continue; /* lost before the capture point: its number never appears */
                gpkt_t *p = push(s);
                p->t = t;
                p->udp = 1;
                p->seq = i;
                p->len = plen;
                if (i != swapped + 1 && s->qn - from >= 2 && rng_chance(r, g->o.reorder * 4)) {
                    /* this datagram overtook the previous one: it is captured first */
                    gpkt_t tmp = s->q[s->qn - 1];
                    s->q[s->qn - 1] = s->q[s->qn - 2];
                    s->q[s->qn - 2] = tmp;
                    uint64_t tt = s->q[s->qn - 1].t;
                    s->q[s->qn - 1].t = s->q[s->qn - 2].t;
                    s->q[s->qn - 2].t = tt;
                    swapped = i;
                }
            }
        }
        sort_tail(s, from);
        s->phase = PH_CLOSE; /* nothing to tear down: the next call starts a new one */
        return;
    }

    g->conversations[0]++;
    double k = rng_unit(r);
    s->kind = k < 0.45 ? K_LEN32 : k < 0.75 ? K_LINE : K_BULK;
    s->sport = kind_port[s->kind];
    s->ts = rng_chance(r, 0.8);
    s->sackok = rng_chance(r, 0.9);
    s->ws = rng_chance(r, 0.9);
    s->wscale[0] = (uint8_t)rng_range(r, 0, 9);
    s->wscale[1] = (uint8_t)rng_range(r, 0, 9);
    s->mss = (uint16_t)((s->v6 ? 1440 : 1460) - (s->ts ? 12 : 0));
    for (int d = 0; d < 2; d++) {
        s->isn[d] = (uint32_t)rng_next(r);
        s->ts_base[d] = (uint32_t)rng_next(r);
        s->last_tsval[d] = 0;
        uint32_t segs = 1u << rng_range(r, 3, 7); /* 8 .. 128 full segments */
        s->rwnd[d] = segs * s->mss;
        if (!s->ws && s->rwnd[d] > 65535)
            s->rwnd[d] = 65535 / s->mss * s->mss;
        s->nxt[d] = 0;
        s->rcvd[d] = 0;
    }
    s->ser = 12 * NS_US;
    s->cwnd = 10;
    if (s->kind == K_BULK) {
        s->bulk_left = rng_logu(r, 4096, 1024 * 1024);
        s->bulk_dir = rng_chance(r, 0.75) ? 1 : 0;
    } else {
        s->rounds_left = (uint32_t)rng_logu(r, 1, 40);
    }

    /* The handshake. The SYN's window is never scaled (RFC 7323 section 2.2). */
    gpkt_t *p = push(s);
    p->t = t;
    p->flags = F_SYN;
    p->win = (uint16_t)(s->rwnd[0] > 65535 ? 65535 : s->rwnd[0]);
    if (rng_chance(r, g->o.loss)) {
        /* lost after the capture point: sent again after the initial 1 s timeout (RFC 6298) */
        t += 1000 * NS_MS;
        p = push(s);
        p->t = t;
        p->flags = F_SYN;
        p->win = (uint16_t)(s->rwnd[0] > 65535 ? 65535 : s->rwnd[0]);
    }
    s->nxt[0] = 1;
    s->rcvd[0] = 1;
    p = push(s);
    p->t = t + s->rtt / 2;
    p->dir = 1;
    p->flags = F_SYN | F_ACK;
    p->ack = 1;
    p->win = (uint16_t)(s->rwnd[1] > 65535 ? 65535 : s->rwnd[1]);
    s->nxt[1] = 1;
    s->rcvd[1] = 1;
    ctl(s, 0, t + s->rtt, F_ACK);
    sort_tail(s, from);
    s->phase = PH_BODY;
}

/* One request and its response on a message conversation. */
static void round_messages(gen_t *g, slot_t *s)
{
    rng_t *r = &s->rng;
    bool line = s->kind == K_LINE;
    /* the client has the previous response (even when its ACK rides on this request), then thinks */
    uint64_t t = (s->t > s->ready ? s->t : s->ready) + rng_logu(r, 100 * NS_US, 100 * NS_MS);
    uint64_t qlen, alen;
    set_msgs(s, 0, &qlen, line, 1, line ? 4 : 3, 8, line ? 80 : 120);
    set_msgs(s, 1, &alen, line, 1, line ? 3 : 2, 16, rng_chance(r, 0.1) ? 6000 : 1200);
    /* a request is one segment, or two cut inside a message (a "split" message) */
    uint64_t cut = qlen > 4 && rng_chance(r, 0.25) ? rng_range(r, 1, qlen - 1) : 0;
    bool piggy = qlen <= s->mss && cut == 0 && rng_chance(r, 0.7);
    t = xfer(g, s, 0, qlen, cut, t, !piggy);
    t = (t > s->ready ? t : s->ready) + rng_range(r, 20 * NS_US, 300 * NS_US); /* the server answers */
    cut = alen > 8 && rng_chance(r, 0.2) ? rng_range(r, 1, alen - 1) : 0;
    bool more = s->rounds_left > 1;
    xfer(g, s, 1, alen, cut, t, !(more && rng_chance(r, 0.5)));
}

/* One window of a bulk transfer, sometimes followed by a zero-window episode. */
static void round_bulk(gen_t *g, slot_t *s)
{
    rng_t *r = &s->rng;
    int d = s->bulk_dir;
    uint64_t t = s->t + rng_range(r, 10 * NS_US, 200 * NS_US);
    uint32_t w = s->rwnd[!d] / s->mss;
    if (w > s->cwnd)
        w = s->cwnd;
    if (w > MAX_WINDOW)
        w = MAX_WINDOW;
    if (w == 0)
        w = 1;
    uint64_t len = (uint64_t)w * s->mss;
    if (len > s->bulk_left)
        len = s->bulk_left;
    uint32_t from = s->qn;
    t = xfer(g, s, d, len, 0, t, true);
    s->bulk_left -= len;
    /* a loss halves the next window, as congestion control would; otherwise it doubles */
    s->cwnd = s->resent ? (s->cwnd / 2 ? s->cwnd / 2 : 1) : (s->cwnd * 2 > 64 ? 64 : s->cwnd * 2);
    sort_tail(s, from);
    const gpkt_t *last_ack = &s->q[s->qn - 1];
    if (s->bulk_left > 0 && last_ack->dir != d && last_ack->len == 0 && rng_chance(r, g->o.zero_window)) {
        /*
         * The receiving application stops reading: the last ACK advertises a
         * zero window, the sender probes with one byte after its persist
         * timer (the byte is not accepted), and the receiver finally opens
         * the window again with a window update.
         */
        s->q[s->qn - 1].win = 0;
        uint32_t keep = s->rwnd[!d];
        s->rwnd[!d] = 0;
        uint64_t iv = 200 * NS_MS;
        uint32_t probes = (uint32_t)rng_range(r, 1, 3);
        for (uint32_t i = 0; i < probes; i++) {
            t += iv;
            iv *= 2;
            gpkt_t *p = ctl(s, d, t, F_ACK);
            p->len = 1;
            ctl(s, !d, t + s->rtt / 2, F_ACK);
            t += s->rtt / 2;
        }
        s->rwnd[!d] = keep;
        t += rng_range(r, NS_MS, 50 * NS_MS);
        ctl(s, !d, t, F_ACK);
    }
}

/* FIN exchange (four-way or three-way) or an abort with RST. */
static void teardown(gen_t *g, slot_t *s)
{
    rng_t *r = &s->rng;
    uint32_t from = s->qn;
    uint64_t t = (s->t > s->ready ? s->t : s->ready) + rng_range(r, 50 * NS_US, 2 * NS_MS);
    int c = s->kind == K_BULK && s->bulk_dir == 1 ? (rng_chance(r, 0.7) ? 1 : 0) : (rng_chance(r, 0.8) ? 0 : 1);
    if (rng_chance(r, g->o.rst_share)) {
        ctl(s, c, t, F_RST | F_ACK);
    } else {
        ctl(s, c, t, F_FIN | F_ACK);
        s->nxt[c]++;
        s->rcvd[c]++;
        t += s->rtt / 2;
        if (rng_chance(r, 0.3)) {
            ctl(s, !c, t + 30 * NS_US, F_FIN | F_ACK); /* three-way: the FIN acknowledges the FIN */
        } else {
            ctl(s, !c, t, F_ACK);
            t += rng_range(r, 100 * NS_US, 2 * NS_MS);
            ctl(s, !c, t, F_FIN | F_ACK);
        }
        s->nxt[!c]++;
        s->rcvd[!c]++;
        ctl(s, c, t + s->rtt / 2, F_ACK);
    }
    sort_tail(s, from);
}

/* Adds the next packets of slot `s` (its queue is empty). */
static void advance(gen_t *g, slot_t *s)
{
    s->qhead = s->qn = 0;
    while (s->qn == 0) {
        switch (s->phase) {
        case PH_IDLE:
            start_conn(g, s);
            break;
        case PH_BODY: {
            uint32_t from = s->qn;
            if (s->kind == K_BULK) {
                if (s->bulk_left == 0) {
                    s->phase = PH_CLOSE;
                    break;
                }
                if (s->nxt[!s->bulk_dir] == 1) {
                    /* the request that starts the transfer: "GET n" or "PUT n" */
                    s->nmsg[0] = 0;
                    uint64_t t = xfer(g, s, 0, rng_range(&s->rng, 12, 40), 0, s->t + 100 * NS_US, true);
                    if (s->bulk_dir == 0)
                        xfer(g, s, 1, rng_range(&s->rng, 8, 20), 0, t + 50 * NS_US, true);
                    sort_tail(s, from);
                }
                round_bulk(g, s);
            } else {
                round_messages(g, s);
                if (--s->rounds_left == 0)
                    s->phase = PH_CLOSE;
            }
            sort_tail(s, from);
            break;
        }
        case PH_CLOSE:
            if (s->kind == K_DNS || s->kind == K_NUM) {
                s->phase = PH_IDLE;
                break;
            }
            teardown(g, s);
            s->phase = PH_IDLE;
            break;
        }
    }
}

/* ---- the heap of slots, by the time of their next packet ---- */

static bool slot_before(const gen_t *g, uint32_t a, uint32_t b)
{
    const slot_t *x = &g->slots[a], *y = &g->slots[b];
    uint64_t tx = x->q[x->qhead].t, ty = y->q[y->qhead].t;
    return tx < ty || (tx == ty && a < b);
}

static void heap_down(gen_t *g, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < g->nheap && slot_before(g, g->heap[l], g->heap[m]))
            m = l;
        if (l + 1 < g->nheap && slot_before(g, g->heap[l + 1], g->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        uint32_t tmp = g->heap[i];
        g->heap[i] = g->heap[m];
        g->heap[m] = tmp;
        i = m;
    }
}

/* ---- writing frames ---- */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void addr_of(const slot_t *s, int host, uint8_t *a)
{
    /* host 0 = the client (one address per slot), 1 = the server */
    if (s->v6) {
        static const uint8_t c6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
        static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 2};
        memcpy(a, host ? s6 : c6, 16);
        if (host)
            a[15] = (uint8_t)(1 + s->server);
        else
            put32(a + 12, s->id + 1);
    } else if (host) {
        a[0] = 192, a[1] = 0, a[2] = 2, a[3] = (uint8_t)(1 + s->server);
    } else {
        put32(a, (10u << 24) + s->id + 1);
    }
}

/* Payload byte of side `d`'s stream at relative sequence number `seq`. */
static uint8_t stream_byte(const gen_t *g, const slot_t *s, int d, uint64_t seq)
{
    if ((s->kind == K_LEN32 || s->kind == K_LINE) && s->nmsg[d] && seq >= s->mbase[d]) {
        uint64_t o = seq - s->mbase[d];
        for (int i = 0; i < s->nmsg[d]; i++) {
            uint32_t ml = s->mlen[d][i];
            if (o < ml) {
                if (s->kind == K_LINE)
                    return o == ml - 1 ? '\n' : (uint8_t)('a' + g->pattern[(seq + s->salt) & 0xFFFF] % 26);
                if (o < 4) {
                    uint8_t h[4];
                    put32(h, ml - 4);
                    return h[o];
                }
                return (uint8_t)(' ' + g->pattern[(seq + s->salt) & 0xFFFF] % 95);
            }
            o -= ml;
        }
    }
    return g->pattern[(seq + s->salt + (uint32_t)d * 7777u) & 0xFFFF];
}

static size_t dns_payload(const slot_t *s, const gpkt_t *p, uint8_t *b)
{
    static const uint8_t qname[] = {5, 'b', 'e', 'n', 'c', 'h', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    size_t n = 0;
    put16(b, (uint32_t)p->seq);
    put16(b + 2, p->dir ? 0x8180 : 0x0100);
    put16(b + 4, 1);
    put16(b + 6, p->dir ? 1 : 0);
    put16(b + 8, 0);
    put16(b + 10, 0);
    n = 12;
    memcpy(b + n, qname, sizeof(qname));
    n += sizeof(qname);
    put16(b + n, s->v6 ? 28 : 1); /* AAAA or A */
    put16(b + n + 2, 1);
    n += 4;
    if (p->dir) {
        put16(b + n, 0xC00C); /* the name again, compressed */
        put16(b + n + 2, s->v6 ? 28 : 1);
        put16(b + n + 4, 1);
        put32(b + n + 6, 300);
        n += 10;
        uint32_t rl = s->v6 ? 16 : 4;
        put16(b + n, rl);
        n += 2;
        for (uint32_t i = 0; i < rl; i++)
            b[n++] = (uint8_t)(s->id * 31u + (uint32_t)p->seq + i);
    }
    return n;
}

static void write_packet(gen_t *g, slot_t *s, const gpkt_t *p)
{
    uint8_t *f = g->frame;
    int d = p->dir;
    /* Ethernet */
    uint8_t mac_c[6] = {0x02, 0x00, 0, 0, 0, 0}, mac_s[6] = {0x02, 0x01, 0, 0, 0, 0};
    put32(mac_c + 2, s->id);
    mac_s[5] = s->server;
    memcpy(f, d ? mac_c : mac_s, 6);
    memcpy(f + 6, d ? mac_s : mac_c, 6);
    put16(f + 12, s->v6 ? 0x86DD : 0x0800);
    size_t l3 = 14, l4 = l3 + (s->v6 ? 40 : 20);
    uint8_t src[16], dst[16];
    addr_of(s, d, src);
    addr_of(s, !d, dst);
    uint16_t sp = d ? s->sport : s->cport, dp = d ? s->cport : s->sport;
    size_t hl, plen;
    uint8_t *h = f + l4;
    if (p->udp) {
        hl = 8;
        uint8_t *pl = h + 8;
        if (s->kind == K_DNS) {
            plen = dns_payload(s, p, pl);
        } else {
            plen = p->len;
            put32(pl, (uint32_t)p->seq);
            for (size_t i = 4; i < plen; i++)
                pl[i] = g->pattern[(p->seq * 1499u + i + s->salt) & 0xFFFF];
        }
        put16(h, sp);
        put16(h + 2, dp);
        put16(h + 4, (uint32_t)(8 + plen));
        put16(h + 6, 0);
    } else {
        /* options */
        uint8_t *o = h + 20;
        size_t ol = 0;
        bool syn = (p->flags & F_SYN) != 0;
        uint32_t tsval = s->ts_base[d] + (uint32_t)(p->t / NS_MS);
        if (syn) {
            o[ol++] = 2, o[ol++] = 4;
            put16(o + ol, s->mss + (s->ts ? 12 : 0));
            ol += 2;
            if (s->sackok && s->ts) {
                o[ol++] = 4, o[ol++] = 2;
            } else if (s->ts || s->sackok) {
                o[ol++] = 1, o[ol++] = 1;
                if (!s->ts)
                    o[ol++] = 4, o[ol++] = 2;
            }
            if (s->ts) {
                o[ol++] = 8, o[ol++] = 10;
                put32(o + ol, tsval);
                put32(o + ol + 4, d ? s->last_tsval[0] : 0);
                ol += 8;
            }
            if (s->ws) {
                o[ol++] = 1, o[ol++] = 3, o[ol++] = 3, o[ol++] = s->wscale[d];
            }
        } else {
            if (s->ts) {
                o[ol++] = 1, o[ol++] = 1, o[ol++] = 8, o[ol++] = 10;
                put32(o + ol, tsval);
                put32(o + ol + 4, s->last_tsval[!d]);
                ol += 8;
            }
            if (p->nsack) {
                o[ol++] = 1, o[ol++] = 1, o[ol++] = 5, o[ol++] = (uint8_t)(2 + 8 * p->nsack);
                for (int i = 0; i < p->nsack; i++) {
                    put32(o + ol, s->isn[!d] + p->sack[i][0]);
                    put32(o + ol + 4, s->isn[!d] + p->sack[i][1]);
                    ol += 8;
                }
            }
        }
        if (s->ts)
            s->last_tsval[d] = tsval;
        hl = 20 + ol;
        put16(h, sp);
        put16(h + 2, dp);
        put32(h + 4, s->isn[d] + (uint32_t)p->seq);
        put32(h + 8, (p->flags & F_ACK) ? s->isn[!d] + (uint32_t)p->ack : 0);
        h[12] = (uint8_t)((hl / 4) << 4);
        h[13] = p->flags;
        put16(h + 14, p->win);
        put16(h + 16, 0);
        put16(h + 18, 0);
        plen = p->len;
        uint8_t *pl = h + hl;
        for (size_t i = 0; i < plen; i++)
            pl[i] = stream_byte(g, s, d, p->seq + i);
    }
    size_t l4len = hl + plen;
    /* IP header, then the transport checksum over its pseudo-header */
    uint8_t proto = p->udp ? 17 : 6;
    uint32_t sum;
    if (s->v6) {
        uint8_t *ip = f + l3;
        put32(ip, 0x60000000u | ((uint32_t)s->cport * 2654435761u & 0xFFFFF));
        put16(ip + 4, (uint32_t)l4len);
        ip[6] = proto;
        ip[7] = 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, dst, 16);
        sum = csum_add(0, src, 16);
        sum = csum_add(sum, dst, 16);
    } else {
        uint8_t *ip = f + l3;
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint32_t)(20 + l4len));
        put16(ip + 4, s->ipid[d]++);
        put16(ip + 6, 0x4000);
        ip[8] = d ? 63 : 64;
        ip[9] = proto;
        put16(ip + 10, 0);
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
        sum = csum_add(0, src, 4);
        sum = csum_add(sum, dst, 4);
    }
    sum += proto + (uint32_t)l4len;
    uint16_t c = csum_fold(csum_add(sum, h, l4len));
    if (p->udp && c == 0)
        c = 0xFFFF;
    put16(h + (p->udp ? 6 : 16), c);

    size_t total = l4 + l4len;
    uint64_t t = 1700000000ull * 1000000000ull + p->t;
    struct pcap_pkthdr ph;
    ph.ts.tv_sec = (time_t)(t / 1000000000ull);
    ph.ts.tv_usec = (suseconds_t)(t % 1000000000ull / 1000);
    ph.caplen = ph.len = (bpf_u_int32)total;
    pcap_dump((u_char *)g->dumper, &ph, f);
    g->bytes += total;
}

/* ---- main ---- */

static void usage(FILE *o)
{
    fprintf(o,
            "Usage: segscope-bench-gen -o FILE [options]\n"
            "\n"
            "Writes a deterministic synthetic capture (pcap, Ethernet): F concurrent\n"
            "conversations, one after another in each of F slots, until N packets.\n"
            "\n"
            "  -n, --packets N       packets to write (default 100000)\n"
            "  -f, --flows F         concurrent conversations (default 1000)\n"
            "  -s, --seed S          random seed (default 1)\n"
            "      --loss P          probability a data segment is lost (default 0.01)\n"
            "      --reorder P       probability a data segment overtakes the next (default 0.005)\n"
            "      --ipv6-share P    share of conversations over IPv6 (default 0.25)\n"
            "      --udp-share P     share of conversations over UDP (default 0.05)\n"
            "      --zero-window P   probability a bulk window ends in a zero window (default 0.05)\n"
            "      --rst-share P     share of TCP conversations ended by RST (default 0.1)\n"
            "  -o, --output FILE     where to write ('-' for standard output)\n"
            "\n"
            "Server ports: 9000 len32 messages, 9001 lines, 9002 bulk, UDP 53 DNS,\n"
            "UDP 9010 numbered datagrams. Frame with: --framing 9000=len32,9001=line\n");
}

static bool parse_prob(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= 0 && v <= 1))
        return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    enum { O_LOSS = 1000, O_REORDER, O_V6, O_UDP, O_ZW, O_RST };
    static const struct option longopts[] = {
        {"packets", required_argument, NULL, 'n'}, {"flows", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},    {"output", required_argument, NULL, 'o'},
        {"loss", required_argument, NULL, O_LOSS}, {"reorder", required_argument, NULL, O_REORDER},
        {"ipv6-share", required_argument, NULL, O_V6}, {"udp-share", required_argument, NULL, O_UDP},
        {"zero-window", required_argument, NULL, O_ZW}, {"rst-share", required_argument, NULL, O_RST},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    gen_t *g = calloc(1, sizeof(*g));
    if (!g) {
        fprintf(stderr, "segscope-bench-gen: out of memory\n");
        return 1;
    }
    gen_opts_t *o = &g->o;
    *o = (gen_opts_t){.packets = 100000, .flows = 1000, .seed = 1, .loss = 0.01, .reorder = 0.005,
                      .ipv6_share = 0.25, .udp_share = 0.05, .zero_window = 0.05, .rst_share = 0.1};
    uint64_t u;
    int ch;
    bool ok = true;
    while ((ch = getopt_long(argc, argv, "n:f:s:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n': ok = parse_u64(optarg, &o->packets) && o->packets > 0; break;
        case 'f':
            ok = parse_u64(optarg, &u) && u > 0 && u <= 16000000;
            o->flows = (uint32_t)u;
            break;
        case 's': ok = parse_u64(optarg, &o->seed); break;
        case 'o': o->out = optarg; break;
        case O_LOSS: ok = parse_prob(optarg, &o->loss) && o->loss < 0.5; break;
        case O_REORDER: ok = parse_prob(optarg, &o->reorder); break;
        case O_V6: ok = parse_prob(optarg, &o->ipv6_share); break;
        case O_UDP: ok = parse_prob(optarg, &o->udp_share); break;
        case O_ZW: ok = parse_prob(optarg, &o->zero_window); break;
        case O_RST: ok = parse_prob(optarg, &o->rst_share); break;
        case 'h': usage(stdout); free(g); return 0;
        default: ok = false; break;
        }
        if (!ok) {
            const char *name = "?";
            for (const struct option *lo = longopts; lo->name; lo++)
                if (lo->val == ch)
                    name = lo->name;
            if (ch != '?')
                fprintf(stderr, "segscope-bench-gen: bad value for --%s: '%s'\n", name, optarg ? optarg : "");
            usage(stderr);
            free(g);
            return 2;
        }
    }
    if (!o->out || optind < argc) {
        usage(stderr);
        free(g);
        return 2;
    }

    FILE *fp = strcmp(o->out, "-") ? fopen(o->out, "wb") : stdout;
    if (!fp) {
        fprintf(stderr, "segscope-bench-gen: %s: %s\n", o->out, strerror(errno));
        free(g);
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(fp, obuf, _IOFBF, sizeof(obuf));
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    g->dumper = dead ? pcap_dump_fopen(dead, fp) : NULL;
    if (!g->dumper) {
        fprintf(stderr, "segscope-bench-gen: cannot start the pcap file%s%s\n", dead ? ": " : "",
                dead ? pcap_geterr(dead) : "");
        return 1;
    }

    rng_t pr;
    rng_seed(&pr, o->seed, 0xFFFFFFFFull);
    for (size_t i = 0; i < sizeof(g->pattern); i++)
        g->pattern[i] = (uint8_t)rng_next(&pr);
    g->slots = calloc(o->flows, sizeof(slot_t));
    g->heap = calloc(o->flows, sizeof(uint32_t));
    if (!g->slots || !g->heap) {
        fprintf(stderr, "segscope-bench-gen: out of memory\n");
        return 1;
    }
    /* The slots start over the first 10 ms, so the capture does not open with F SYNs at once. */
    for (uint32_t i = 0; i < o->flows; i++) {
        slot_t *s = &g->slots[i];
        s->id = i;
        rng_seed(&s->rng, o->seed, i);
        s->t = rng_range(&s->rng, 0, 10 * NS_MS);
        advance(g, s);
        g->heap[i] = i;
    }
    g->nheap = o->flows;
    for (uint32_t i = o->flows / 2 + 1; i-- > 0;)
        heap_down(g, i);

    for (uint64_t n = 0; n < o->packets; n++) {
        slot_t *s = &g->slots[g->heap[0]];
        write_packet(g, s, &s->q[s->qhead++]);
        if (s->qhead == s->qn)
            advance(g, s);
        heap_down(g, 0);
    }
    pcap_dump_flush(g->dumper);
    int rc = ferror(fp) ? 1 : 0;
    pcap_dump_close(g->dumper); /* closes fp */
    pcap_close(dead);
    if (rc)
        fprintf(stderr, "segscope-bench-gen: %s: write error\n", o->out);
    else
        fprintf(stderr,
                "segscope-bench-gen: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu32
                " concurrent slots, %" PRIu64 " TCP and %" PRIu64 " UDP conversations started\n",
                o->packets, g->bytes + 24 + 16 * o->packets, o->flows, g->conversations[0],
                g->conversations[1]);
    for (uint32_t i = 0; i < o->flows; i++)
        free(g->slots[i].q);
    free(g->slots);
    free(g->heap);
    free(g);
    return rc;
}
