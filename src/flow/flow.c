/* flow.c - hash table of conversations with a least-recently-seen list and a cap. */
#include <stdlib.h>
#include <string.h>

#include "segscope/flow.h"

/* The table's lists: every flow, and the ended ones; a flow's links in each are f->link[LIST_*]. */
enum { LIST_ALL = 0, LIST_ENDED = 1 };

typedef struct flow_list {
    ss_flow_t *head, *tail;
    size_t n;
} flow_list_t;

struct ss_flow_table {
    ss_flow_t **buckets;
    size_t nbuckets; /* power of two */
    size_t ext_size;
    ss_limits_t limits;
    flow_list_t list[2];            /* by LIST_*; head = least recently seen */
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

static void list_unlink(ss_flow_table_t *t, int l, ss_flow_t *f)
{
    flow_list_t *L = &t->list[l];
    ss_flow_t *prev = f->link[l].prev, *next = f->link[l].next;
    if (prev)
        prev->link[l].next = next;
    else
        L->head = next;
    if (next)
        next->link[l].prev = prev;
    else
        L->tail = prev;
    f->link[l].prev = f->link[l].next = NULL;
    L->n--;
}

static void list_push_tail(ss_flow_table_t *t, int l, ss_flow_t *f)
{
    flow_list_t *L = &t->list[l];
    f->link[l].prev = L->tail;
    f->link[l].next = NULL;
    if (L->tail)
        L->tail->link[l].next = f;
    else
        L->head = f;
    L->tail = f;
    L->n++;
}

/* f was just seen: it moves to the tail of list l. */
static void list_touch(ss_flow_table_t *t, int l, ss_flow_t *f)
{
    if (t->list[l].tail != f) {
        list_unlink(t, l, f);
        list_push_tail(t, l, f);
    }
}

void ss_flow_set_closed(ss_flow_table_t *t, ss_flow_t *f)
{
    if (f->closed)
        return;
    f->closed = true;
    list_push_tail(t, LIST_ENDED, f);
}

static void remove_flow(ss_flow_table_t *t, ss_flow_t *f, int reason)
{
    ss_flow_t **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    list_unlink(t, LIST_ALL, f);
    if (f->closed)
        list_unlink(t, LIST_ENDED, f);
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
    while (t->list[LIST_ALL].head)
        remove_flow(t, t->list[LIST_ALL].head, SS_FLOW_RELEASE_END);
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
    ss_flow_t *f;
    while ((f = t->list[LIST_ALL].head) && is_idle(t, f->last_sec, f->last_nsec, sec, nsec))
        remove_flow(t, f, SS_FLOW_RELEASE_IDLE);
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
            list_touch(t, LIST_ALL, f);
            if (f->closed)
                list_touch(t, LIST_ENDED, f);
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
    while (t->list[LIST_ENDED].n > t->limits.max_closed)
        remove_flow(t, t->list[LIST_ENDED].head, SS_FLOW_RELEASE_CLOSED);
    expire_idle(t, sec, nsec);
    while (t->list[LIST_ALL].n >= t->limits.max_flows)
        remove_flow(t, t->list[LIST_ALL].head, SS_FLOW_RELEASE_CAP);
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
    if (t->list[LIST_ALL].n + 1 > t->nbuckets - t->nbuckets / 4)
        grow(t);
    size_t b = h & (t->nbuckets - 1);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    list_push_tail(t, LIST_ALL, f);
    return f;
}

size_t ss_flow_table_count(const ss_flow_table_t *t) { return t->list[LIST_ALL].n; }
uint64_t ss_flow_table_evicted(const ss_flow_table_t *t) { return t->evicted; }
uint64_t ss_flow_table_closed_released(const ss_flow_table_t *t) { return t->closed_released; }

void ss_flow_table_foreach(ss_flow_table_t *t, void (*fn)(void *ctx, ss_flow_t *f), void *ctx)
{
    for (ss_flow_t *f = t->list[LIST_ALL].head; f; f = f->link[LIST_ALL].next)
        fn(ctx, f);
}
