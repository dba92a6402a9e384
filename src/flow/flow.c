/* flow.c - hash table of conversations with a least-recently-seen list and a cap. */
#include <stdlib.h>
#include <string.h>

#include "segscope/flow.h"
#include "segscope/pool.h"

/*
 * The table: an open-addressing index of (hash, id) pairs, and per flow id
 * the flow and its links in the table's two lists. A lookup reads the index
 * (no flow whose hash differs is touched) and the one flow it finds; moving
 * a flow to the tail of a list writes to its neighbours' links, which are in
 * small dense arrays rather than in the neighbouring flows' records.
 */
enum { LIST_ALL = 0, LIST_ENDED = 1 }; /* every flow, the ended ones */

#define NIL UINT32_MAX

/* Records of removed flows kept for the next ones (a conversation ends about as often as one starts). */
enum { RECS_KEPT = 256 };

typedef struct slot {
    uint32_t hash;
    uint32_t id1; /* flow id + 1; 0 = empty */
} slot_t;

typedef struct links {
    uint32_t prev, next;
} links_t;

typedef struct flow_list {
    uint32_t head, tail; /* head = least recently seen */
    size_t n;
} flow_list_t;

struct ss_flow_table {
    slot_t *slots;
    size_t nslots; /* power of two, at least twice the flows */
    ss_flow_t **flow; /* by id */
    links_t *link[2]; /* by list, then id */
    uint32_t *free_ids;
    size_t nfree;
    uint32_t nids; /* ids handed out so far (the arrays' length in use) */
    uint32_t capids;
    size_t ext_size;
    ss_limits_t limits;
    flow_list_t list[2];
    uint64_t closed_released;
    uint64_t next_index[2]; /* TCP, UDP */
    uint64_t evicted;
    uint64_t removed; /* flows removed (their records given back) so far */
    ss_pool_t recs;   /* records of removed flows, handed out again */
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

uint32_t ss_flow_key_hash(const ss_flow_key_t *k)
{
    /*
     * Eight bytes at a time (the unused address bytes of IPv4 are zero),
     * each word mixed in with a multiply, then murmur3's finaliser so that
     * the low bits the index uses depend on every bit of the key.
     */
    _Static_assert(sizeof(ss_flow_key_t) == 38, "the key is read as words at offsets 0, 8, 16, 24 and 30");
    const uint8_t *p = (const uint8_t *)k;
    uint64_t h = 0;
    for (size_t off = 0; off < 32; off += 8) {
        uint64_t w;
        memcpy(&w, p + off, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
    }
    uint64_t w;
    memcpy(&w, p + 30, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
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
    t->nslots = 1024;
    t->slots = calloc(t->nslots, sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->limits = *limits;
    if (t->limits.max_flows == 0)
        t->limits.max_flows = 1;
    t->ext_size = ext_size;
    ss_pool_init(&t->recs, sizeof(ss_flow_t) + ext_size, RECS_KEPT);
    t->release = release;
    t->ctx = ctx;
    for (int l = 0; l < 2; l++)
        t->list[l].head = t->list[l].tail = NIL;
    return t;
}

static void list_unlink(ss_flow_table_t *t, int l, uint32_t id)
{
    flow_list_t *L = &t->list[l];
    links_t *k = t->link[l];
    uint32_t prev = k[id].prev, next = k[id].next;
    if (prev != NIL)
        k[prev].next = next;
    else
        L->head = next;
    if (next != NIL)
        k[next].prev = prev;
    else
        L->tail = prev;
    k[id].prev = k[id].next = NIL;
    L->n--;
}

static void list_push_tail(ss_flow_table_t *t, int l, uint32_t id)
{
    flow_list_t *L = &t->list[l];
    links_t *k = t->link[l];
    k[id].prev = L->tail;
    k[id].next = NIL;
    if (L->tail != NIL)
        k[L->tail].next = id;
    else
        L->head = id;
    L->tail = id;
    L->n++;
}

/* Flow `id` was just seen: it moves to the tail of list l. */
static void list_touch(ss_flow_table_t *t, int l, uint32_t id)
{
    if (t->list[l].tail != id) {
        list_unlink(t, l, id);
        list_push_tail(t, l, id);
    }
}

void ss_flow_set_closed(ss_flow_table_t *t, ss_flow_t *f)
{
    if (f->closed)
        return;
    f->closed = true;
    list_push_tail(t, LIST_ENDED, f->id);
}

/* Takes slot i out of the index, moving later entries of its probe run back (no tombstones). */
static void slot_delete(ss_flow_table_t *t, size_t i)
{
    size_t mask = t->nslots - 1;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        if (t->slots[j].id1 == 0)
            break;
        size_t home = t->slots[j].hash & mask;
        /* Entry j may move to i when its home is not in the (cyclic) range (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].id1 = 0;
    t->slots[i].hash = 0;
}

static void remove_flow(ss_flow_table_t *t, ss_flow_t *f, int reason)
{
    size_t mask = t->nslots - 1;
    for (size_t i = f->hash & mask;; i = (i + 1) & mask) {
        if (t->slots[i].id1 == f->id + 1) {
            slot_delete(t, i);
            break;
        }
        if (t->slots[i].id1 == 0)
            break; /* not indexed: cannot happen */
    }
    list_unlink(t, LIST_ALL, f->id);
    if (f->closed)
        list_unlink(t, LIST_ENDED, f->id);
    if (reason == SS_FLOW_RELEASE_CLOSED)
        t->closed_released++;
    if (reason == SS_FLOW_RELEASE_CAP || reason == SS_FLOW_RELEASE_IDLE)
        t->evicted++;
    t->flow[f->id] = NULL;
    t->free_ids[t->nfree++] = f->id;
    t->removed++;
    if (t->release)
        t->release(t->ctx, f, reason);
    ss_pool_put(&t->recs, f);
}

void ss_flow_table_destroy(ss_flow_table_t *t)
{
    if (!t)
        return;
    while (t->list[LIST_ALL].head != NIL)
        remove_flow(t, t->flow[t->list[LIST_ALL].head], SS_FLOW_RELEASE_END);
    free(t->slots);
    free(t->flow);
    free(t->link[0]);
    free(t->link[1]);
    free(t->free_ids);
    ss_pool_drain(&t->recs);
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
    uint32_t id;
    while ((id = t->list[LIST_ALL].head) != NIL &&
           is_idle(t, t->flow[id]->last_sec, t->flow[id]->last_nsec, sec, nsec))
        remove_flow(t, t->flow[id], SS_FLOW_RELEASE_IDLE);
}

void ss_flow_prefetch(const ss_flow_table_t *t, uint32_t hash)
{
    __builtin_prefetch(&t->slots[hash & (t->nslots - 1)]);
}

ss_flow_t *ss_flow_hint(const ss_flow_table_t *t, uint32_t hash)
{
    size_t mask = t->nslots - 1;
    for (size_t i = hash & mask; t->slots[i].id1; i = (i + 1) & mask) {
        if (t->slots[i].hash != hash)
            continue;
        uint32_t id = t->slots[i].id1 - 1;
        __builtin_prefetch(&t->link[LIST_ALL][id], 1);
        return t->flow[id];
    }
    return NULL;
}

static ss_flow_t *find_hashed(ss_flow_table_t *t, const ss_flow_key_t *key, uint32_t h)
{
    size_t mask = t->nslots - 1;
    for (size_t i = h & mask; t->slots[i].id1; i = (i + 1) & mask) {
        if (t->slots[i].hash != h)
            continue;
        ss_flow_t *f = t->flow[t->slots[i].id1 - 1];
        if (key_eq(&f->key, key))
            return f;
    }
    return NULL;
}

ss_flow_t *ss_flow_find(ss_flow_table_t *t, const ss_flow_key_t *key)
{
    return find_hashed(t, key, ss_flow_key_hash(key));
}

ss_flow_t *ss_flow_lookup_hashed(ss_flow_table_t *t, const ss_flow_key_t *key, uint32_t hash, int64_t sec,
                                 uint32_t nsec)
{
    ss_flow_t *f = find_hashed(t, key, hash);
    if (!f)
        return NULL;
    if (is_idle(t, f->last_sec, f->last_nsec, sec, nsec)) {
        /* Idle past the timeout: that conversation is over; a new one starts. */
        remove_flow(t, f, SS_FLOW_RELEASE_IDLE);
        return NULL;
    }
    f->last_sec = sec;
    f->last_nsec = nsec;
    list_touch(t, LIST_ALL, f->id);
    if (f->closed)
        list_touch(t, LIST_ENDED, f->id);
    return f;
}

ss_flow_t *ss_flow_lookup(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec, uint32_t nsec)
{
    return ss_flow_lookup_hashed(t, key, ss_flow_key_hash(key), sec, nsec);
}

/* Doubles the index; false (keeping the old one, which still works) when out of memory. */
static bool grow_slots(ss_flow_table_t *t)
{
    size_t n = t->nslots * 2, mask = n - 1;
    slot_t *ns = calloc(n, sizeof(*ns));
    if (!ns)
        return false;
    for (size_t i = 0; i < t->nslots; i++) {
        if (!t->slots[i].id1)
            continue;
        size_t j = t->slots[i].hash & mask;
        while (ns[j].id1)
            j = (j + 1) & mask;
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->nslots = n;
    return true;
}

/* A free flow id, growing the per-id arrays when every id is in use; NIL when out of memory. */
static uint32_t take_id(ss_flow_table_t *t)
{
    if (t->nfree)
        return t->free_ids[--t->nfree];
    if (t->nids == t->capids) {
        if (t->capids >= NIL / 2)
            return NIL;
        uint32_t nc = t->capids ? t->capids * 2 : 256;
        ss_flow_t **nf = realloc(t->flow, (size_t)nc * sizeof(*nf));
        if (!nf)
            return NIL;
        t->flow = nf;
        for (int l = 0; l < 2; l++) {
            links_t *nl = realloc(t->link[l], (size_t)nc * sizeof(*nl));
            if (!nl)
                return NIL;
            t->link[l] = nl;
        }
        uint32_t *fi = realloc(t->free_ids, (size_t)nc * sizeof(*fi));
        if (!fi)
            return NIL;
        t->free_ids = fi;
        t->capids = nc;
    }
    return t->nids++;
}

ss_flow_t *ss_flow_create(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec,
                          uint32_t nsec, uint64_t frame)
{
    ss_flow_t *old = ss_flow_find(t, key);
    if (old)
        remove_flow(t, old, SS_FLOW_RELEASE_REPLACED);
    while (t->list[LIST_ENDED].n > t->limits.max_closed)
        remove_flow(t, t->flow[t->list[LIST_ENDED].head], SS_FLOW_RELEASE_CLOSED);
    expire_idle(t, sec, nsec);
    while (t->list[LIST_ALL].n >= t->limits.max_flows)
        remove_flow(t, t->flow[t->list[LIST_ALL].head], SS_FLOW_RELEASE_CAP);
    if ((t->list[LIST_ALL].n + 1) * 2 > t->nslots && !grow_slots(t) && t->list[LIST_ALL].n + 1 >= t->nslots)
        return NULL; /* the index must keep one empty slot */
    ss_flow_t *f = ss_pool_get(&t->recs); /* t->recs.size bytes: the flow and its ext area */
    if (!f)
        return NULL;
    uint32_t id = take_id(t);
    if (id == NIL) {
        ss_pool_put(&t->recs, f);
        return NULL;
    }
    memset(f, 0, t->recs.size);
    f->key = *key;
    f->hash = ss_flow_key_hash(key);
    f->id = id;
    int pi = key->proto == 6 ? 0 : 1;
    f->index = t->next_index[pi]++;
    f->first_sec = f->last_sec = sec;
    f->first_nsec = f->last_nsec = nsec;
    f->first_frame = frame;
    size_t mask = t->nslots - 1, i = f->hash & mask;
    while (t->slots[i].id1)
        i = (i + 1) & mask;
    t->slots[i].hash = f->hash;
    t->slots[i].id1 = id + 1;
    t->flow[id] = f;
    list_push_tail(t, LIST_ALL, id);
    return f;
}

size_t ss_flow_table_count(const ss_flow_table_t *t) { return t->list[LIST_ALL].n; }
uint64_t ss_flow_table_evicted(const ss_flow_table_t *t) { return t->evicted; }
uint64_t ss_flow_table_removed(const ss_flow_table_t *t) { return t->removed; }
uint64_t ss_flow_table_closed_released(const ss_flow_table_t *t) { return t->closed_released; }

void ss_flow_table_foreach(ss_flow_table_t *t, void (*fn)(void *ctx, ss_flow_t *f), void *ctx)
{
    for (uint32_t id = t->list[LIST_ALL].head; id != NIL; id = t->link[LIST_ALL][id].next)
        fn(ctx, t->flow[id]);
}
