/* flow.c - hash table of conversations with a least-recently-seen list and a cap. */
#include <stdlib.h>
#include <string.h>

#include "segscope/flow.h"

struct ss_flow_table {
    ss_flow_t **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    size_t ext_size;
    ss_limits_t limits;
    ss_flow_t *lru_head, *lru_tail; /* head = least recently seen */
    ss_flow_t *cl_head, *cl_tail;   /* ended flows, head = least recently seen */
    size_t nclosed;
    uint64_t closed_released;
    uint64_t next_index[2];         /* TCP, UDP */
    uint64_t evicted;
    ss_flow_release_fn release;
    void *ctx;
};

/* Orders two endpoints as Wireshark does: address first, then port. */
static int endpoint_cmp(const uint8_t *a1, uint16_t p1, const uint8_t *a2, uint16_t p2, size_t alen)
{
    int c = memcmp(a1, a2, alen);
    if (c != 0)
        return c;
    return (int)p1 - (int)p2;
}

void ss_flow_key_make(ss_flow_key_t *key, int *dir_out, uint8_t proto, const ss_addr_t *src,
                      uint16_t sp, const ss_addr_t *dst, uint16_t dp)
{
    memset(key, 0, sizeof(*key));
    size_t alen = src->family == 6 ? 16 : 4;
    key->family = src->family;
    key->proto = proto;
    int dir = endpoint_cmp(src->a, sp, dst->a, dp, alen) <= 0 ? 0 : 1;
    memcpy(key->addr[0], dir == 0 ? src->a : dst->a, alen);
    memcpy(key->addr[1], dir == 0 ? dst->a : src->a, alen);
    key->port[0] = dir == 0 ? sp : dp;
    key->port[1] = dir == 0 ? dp : sp;
    *dir_out = dir;
}

void ss_flow_key_from_packet(const ss_packet_t *pkt, ss_flow_key_t *key, int *dir_out)
{
    bool tcp = pkt->l4 == SS_L4_TCP;
    ss_flow_key_make(key, dir_out, tcp ? 6 : 17, &pkt->src, tcp ? pkt->tcp.sport : pkt->udp.sport,
                     &pkt->dst, tcp ? pkt->tcp.dport : pkt->udp.dport);
}

static uint32_t key_hash(const ss_flow_key_t *k)
{
    /* FNV-1a over the meaningful bytes, then a final avalanche. */
    uint32_t h = 2166136261u;
    const uint8_t *p = (const uint8_t *)k;
    size_t n = offsetof(ss_flow_key_t, addr);
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    size_t alen = k->family == 6 ? 16 : 4;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < alen; i++)
            h = (h ^ k->addr[s][i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

static bool key_eq(const ss_flow_key_t *a, const ss_flow_key_t *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

ss_flow_table_t *ss_flow_table_create(const ss_limits_t *limits, size_t ext_size,
                                      ss_flow_release_fn release, void *ctx)
{
    ss_flow_table_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nbuckets = 1024;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->limits = *limits;
    if (t->limits.max_flows == 0)
        t->limits.max_flows = 1;
    t->ext_size = ext_size;
    t->release = release;
    t->ctx = ctx;
    return t;
}

static void lru_unlink(ss_flow_table_t *t, ss_flow_t *f)
{
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        t->lru_head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        t->lru_tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void lru_push_tail(ss_flow_table_t *t, ss_flow_t *f)
{
    f->lru_prev = t->lru_tail;
    f->lru_next = NULL;
    if (t->lru_tail)
        t->lru_tail->lru_next = f;
    else
        t->lru_head = f;
    t->lru_tail = f;
}

static void cl_unlink(ss_flow_table_t *t, ss_flow_t *f)
{
    if (f->cl_prev)
        f->cl_prev->cl_next = f->cl_next;
    else
        t->cl_head = f->cl_next;
    if (f->cl_next)
        f->cl_next->cl_prev = f->cl_prev;
    else
        t->cl_tail = f->cl_prev;
    f->cl_prev = f->cl_next = NULL;
}

static void cl_push_tail(ss_flow_table_t *t, ss_flow_t *f)
{
    f->cl_prev = t->cl_tail;
    f->cl_next = NULL;
    if (t->cl_tail)
        t->cl_tail->cl_next = f;
    else
        t->cl_head = f;
    t->cl_tail = f;
}

void ss_flow_set_closed(ss_flow_table_t *t, ss_flow_t *f)
{
    if (f->closed)
        return;
    f->closed = true;
    cl_push_tail(t, f);
    t->nclosed++;
}

static void remove_flow(ss_flow_table_t *t, ss_flow_t *f, int reason)
{
    ss_flow_t **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    lru_unlink(t, f);
    if (f->closed) {
        cl_unlink(t, f);
        t->nclosed--;
    }
    t->count--;
    if (reason == SS_FLOW_RELEASE_CLOSED)
        t->closed_released++;
    if (reason == SS_FLOW_RELEASE_CAP || reason == SS_FLOW_RELEASE_IDLE)
        t->evicted++;
    if (t->release)
        t->release(t->ctx, f, reason);
    free(f);
}

void ss_flow_table_destroy(ss_flow_table_t *t)
{
    if (!t)
        return;
    while (t->lru_head)
        remove_flow(t, t->lru_head, SS_FLOW_RELEASE_END);
    free(t->buckets);
    free(t);
}

/* Whether a flow last seen at (ls, lns) is idle past the timeout at (sec, nsec). */
static bool is_idle(const ss_flow_table_t *t, int64_t ls, uint32_t lns, int64_t sec, uint32_t nsec)
{
    if (t->limits.idle_timeout_s == 0)
        return false;
    int64_t idle_ns = (sec - ls) * 1000000000LL + ((int64_t)nsec - (int64_t)lns);
    return idle_ns > (int64_t)t->limits.idle_timeout_s * 1000000000LL;
}

static void expire_idle(ss_flow_table_t *t, int64_t sec, uint32_t nsec)
{
    while (t->lru_head && is_idle(t, t->lru_head->last_sec, t->lru_head->last_nsec, sec, nsec))
        remove_flow(t, t->lru_head, SS_FLOW_RELEASE_IDLE);
}

ss_flow_t *ss_flow_find(ss_flow_table_t *t, const ss_flow_key_t *key)
{
    uint32_t h = key_hash(key);
    for (ss_flow_t *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext)
        if (f->hash == h && key_eq(&f->key, key))
            return f;
    return NULL;
}

ss_flow_t *ss_flow_lookup(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec, uint32_t nsec)
{
    uint32_t h = key_hash(key);
    for (ss_flow_t *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext) {
        if (f->hash == h && key_eq(&f->key, key)) {
            if (is_idle(t, f->last_sec, f->last_nsec, sec, nsec)) {
                /* Idle past the timeout: that conversation is over; a new one starts. */
                remove_flow(t, f, SS_FLOW_RELEASE_IDLE);
                return NULL;
            }
            f->last_sec = sec;
            f->last_nsec = nsec;
            if (t->lru_tail != f) {
                lru_unlink(t, f);
                lru_push_tail(t, f);
            }
            if (f->closed && t->cl_tail != f) {
                cl_unlink(t, f);
                cl_push_tail(t, f);
            }
            return f;
        }
    }
    return NULL;
}

static void grow(ss_flow_table_t *t)
{
    size_t n = t->nbuckets * 2;
    ss_flow_t **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return; /* keep the smaller table: lookups stay correct, only slower */
    for (size_t i = 0; i < t->nbuckets; i++) {
        ss_flow_t *f = t->buckets[i];
        while (f) {
            ss_flow_t *next = f->hnext;
            size_t b = f->hash & (n - 1);
            f->hnext = nb[b];
            nb[b] = f;
            f = next;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

ss_flow_t *ss_flow_create(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec,
                          uint32_t nsec, uint64_t frame)
{
    uint32_t h = key_hash(key);
    for (ss_flow_t *f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext) {
        if (f->hash == h && key_eq(&f->key, key)) {
            remove_flow(t, f, SS_FLOW_RELEASE_REPLACED);
            break;
        }
    }
    while (t->nclosed > t->limits.max_closed && t->cl_head)
        remove_flow(t, t->cl_head, SS_FLOW_RELEASE_CLOSED);
    expire_idle(t, sec, nsec);
    while (t->count >= t->limits.max_flows && t->lru_head)
        remove_flow(t, t->lru_head, SS_FLOW_RELEASE_CAP);
    ss_flow_t *f = calloc(1, sizeof(*f) + t->ext_size);
    if (!f)
        return NULL;
    f->key = *key;
    f->hash = h;
    int pi = key->proto == 6 ? 0 : 1;
    f->index = t->next_index[pi]++;
    f->first_sec = f->last_sec = sec;
    f->first_nsec = f->last_nsec = nsec;
    f->first_frame = frame;
    if (t->count + 1 > t->nbuckets - t->nbuckets / 4)
        grow(t);
    size_t b = h & (t->nbuckets - 1);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    lru_push_tail(t, f);
    t->count++;
    return f;
}

size_t ss_flow_table_count(const ss_flow_table_t *t) { return t->count; }
uint64_t ss_flow_table_evicted(const ss_flow_table_t *t) { return t->evicted; }
uint64_t ss_flow_table_closed_released(const ss_flow_table_t *t) { return t->closed_released; }

void ss_flow_table_foreach(ss_flow_table_t *t, void (*fn)(void *ctx, ss_flow_t *f), void *ctx)
{
    for (ss_flow_t *f = t->lru_head; f; f = f->lru_next)
        fn(ctx, f);
}
