/* apptrace.c - loading an application trace and grouping its calls by connection direction.
 *
 * The file is untrusted input like a capture: lines are length-capped,
 * fields are parsed without a general JSON library (the records are flat
 * objects of strings, numbers and null), every number is range-checked,
 * and the number of records kept is capped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/apptrace.h"
#include "segscope/err.h"
#include "segscope/grow.h"

#define LINE_MAX_BYTES 4096

typedef struct trace_key {
    ss_addr_t src, dst;
    uint16_t sport, dport;
} trace_key_t;

typedef struct group {
    trace_key_t key;
    ss_app_dir_t dir;
    size_t cap_s, cap_r;
    uint64_t next_send, next_recv; /* to split connections when offsets restart */
    size_t prev;                   /* the previous group with the same key, or NO_GROUP */
} group_t;

#define NO_GROUP SIZE_MAX

/*
 * Groups live in one array; an open-addressing index maps each key to its
 * latest group, and the groups of one key are chained through `prev`, so
 * finding a call's group and matching a conversation cost one lookup, not
 * a scan of every group (a hostile trace of a million distinct endpoints
 * would otherwise take quadratic time).
 */
struct ss_apptrace {
    group_t *g;
    size_t ng, capg;
    size_t *index; /* group numbers, NO_GROUP where empty; capacity a power of two */
    size_t index_cap;
    uint64_t records, skipped, dropped;
};

/* Parses "addr:port" (IPv6 in brackets). */
static bool parse_ep(const char *s, size_t n, ss_addr_t *a, uint16_t *port)
{
    char buf[80];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *colon = strrchr(buf, ':');
    if (!colon)
        return false;
    *colon = '\0';
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || p < 0 || p > 65535 || end == colon + 1)
        return false;
    *port = (uint16_t)p;
    memset(a, 0, sizeof(*a));
    char *host = buf;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 2 || host[hl - 1] != ']')
            return false;
        host[hl - 1] = '\0';
        host++;
        a->family = 6;
        return inet_pton(AF_INET6, host, a->a) == 1;
    }
    a->family = 4;
    return inet_pton(AF_INET, host, a->a) == 1;
}

/* Finds `"key":` in a flat JSON object line and returns a pointer just after the colon. */
static const char *field(const char *line, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    return p;
}

static bool field_str(const char *line, const char *key, const char **s, size_t *n)
{
    const char *p = field(line, key);
    if (!p || *p != '"')
        return false;
    const char *q = strchr(p + 1, '"');
    if (!q)
        return false;
    *s = p + 1;
    *n = (size_t)(q - p - 1);
    return true;
}

static bool field_u64(const char *line, const char *key, uint64_t *v)
{
    const char *p = field(line, key);
    if (!p || *p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(p, &end, 10);
    if (errno)
        return false;
    *v = x;
    return true;
}

static bool field_ts(const char *line, int64_t *ns)
{
    const char *p = field(line, "ts");
    if (!p || *p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long sec = strtoull(p, &end, 10);
    if (errno || sec > 9000000000ull)
        return false;
    uint64_t frac = 0;
    int digits = 0;
    if (*end == '.') {
        for (const char *q = end + 1; *q >= '0' && *q <= '9'; q++)
            if (digits < 9) {
                frac = frac * 10 + (uint64_t)(*q - '0');
                digits++;
            }
    }
    while (digits++ < 9)
        frac *= 10;
    *ns = (int64_t)sec * 1000000000LL + (int64_t)frac;
    return true;
}

static bool key_eq(const trace_key_t *a, const trace_key_t *b)
{
    return a->sport == b->sport && a->dport == b->dport && a->src.family == b->src.family &&
           a->dst.family == b->dst.family && memcmp(a->src.a, b->src.a, 16) == 0 &&
           memcmp(a->dst.a, b->dst.a, 16) == 0;
}

/* FNV-1a over the key's fields. */
static uint64_t key_hash(const trace_key_t *k)
{
    uint64_t h = 14695981039346656037ull;
    const uint8_t *parts[2] = {k->src.a, k->dst.a};
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 16; i++)
            h = (h ^ parts[p][i]) * 1099511628211ull;
    uint8_t tail[6] = {k->src.family, k->dst.family, (uint8_t)(k->sport >> 8), (uint8_t)k->sport,
                       (uint8_t)(k->dport >> 8), (uint8_t)k->dport};
    for (int i = 0; i < 6; i++)
        h = (h ^ tail[i]) * 1099511628211ull;
    return h;
}

/* The index slot of `k`: the one holding its latest group, or the empty slot where it would go. */
static size_t index_slot(const ss_apptrace_t *t, const trace_key_t *k)
{
    size_t mask = t->index_cap - 1;
    size_t i = (size_t)key_hash(k) & mask;
    while (t->index[i] != NO_GROUP && !key_eq(&t->g[t->index[i]].key, k))
        i = (i + 1) & mask;
    return i;
}

/* Keeps the index at most half full. */
static bool index_grow(ss_apptrace_t *t)
{
    if (t->index_cap && (t->ng + 1) * 2 <= t->index_cap)
        return true;
    size_t nc = t->index_cap ? t->index_cap * 2 : 64;
    size_t *ni = malloc(nc * sizeof(*ni));
    if (!ni)
        return false;
    for (size_t i = 0; i < nc; i++)
        ni[i] = NO_GROUP;
    size_t *old = t->index, oldcap = t->index_cap;
    t->index = ni;
    t->index_cap = nc;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i] != NO_GROUP)
            t->index[index_slot(t, &t->g[old[i]].key)] = old[i];
    free(old);
    return true;
}

/* The group a call belongs to: the same endpoints, and offsets that continue (a restart at 0 is a new connection). */
static group_t *group_for(ss_apptrace_t *t, const trace_key_t *k, bool send, uint64_t off, bool *full)
{
    *full = false;
    if (!index_grow(t))
        return NULL;
    size_t slot = index_slot(t, k);
    size_t latest = t->index[slot];
    if (latest != NO_GROUP) {
        group_t *g = &t->g[latest];
        uint64_t next = send ? g->next_send : g->next_recv;
        if (!(off == 0 && next > 0))
            return g; /* else offsets restart: a new connection on the same ports */
    }
    if (t->ng >= SS_APPTRACE_MAX_GROUPS) {
        *full = true;
        return NULL;
    }
    group_t *ng = ss_grow(t->g, t->ng, &t->capg, sizeof(*ng), 16);
    if (!ng)
        return NULL;
    t->g = ng;
    group_t *g = &t->g[t->ng];
    memset(g, 0, sizeof(*g));
    g->key = *k;
    g->dir.first_ns = INT64_MAX;
    g->prev = latest;
    t->index[slot] = t->ng++;
    return g;
}

static bool push(ss_app_call_t **v, size_t *n, size_t *cap, const ss_app_call_t *c)
{
    ss_app_call_t *nv = ss_grow(*v, *n, cap, sizeof(*nv), 16);
    if (!nv)
        return false;
    *v = nv;
    (*v)[(*n)++] = *c;
    return true;
}

static int by_off(const void *x, const void *y)
{
    const ss_app_call_t *a = x, *b = y;
    return a->off < b->off ? -1 : a->off > b->off;
}

int ss_apptrace_load(ss_apptrace_t **out, const char *path, uint64_t max_records, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SS_ERR_IO;
    }
    ss_apptrace_t *t = calloc(1, sizeof(*t));
    if (!t) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return SS_ERR_NOMEM;
    }
    char line[LINE_MAX_BYTES];
    while (fgets(line, sizeof(line), f)) {
        size_t ll = strlen(line);
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n') { /* too long: skip the rest of it */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            t->skipped++;
            continue;
        }
        if (ll <= 1)
            continue;
        const char *call, *ls, *rs;
        size_t calln, lsn, rsn;
        uint64_t off, len;
        int64_t ts;
        trace_key_t k;
        uint16_t lp, rp;
        ss_addr_t la, ra;
        if (!field_str(line, "call", &call, &calln) || !field_str(line, "local", &ls, &lsn) ||
            !field_str(line, "remote", &rs, &rsn) || !field_u64(line, "offset", &off) ||
            !field_u64(line, "len", &len) || !field_ts(line, &ts) || len > 0xFFFFFFFFu ||
            off > (1ull << 62) || !parse_ep(ls, lsn, &la, &lp) || !parse_ep(rs, rsn, &ra, &rp)) {
            t->skipped++;
            continue;
        }
        bool send = calln == 4 && memcmp(call, "send", 4) == 0;
        bool recv = calln == 4 && memcmp(call, "recv", 4) == 0;
        if ((!send && !recv) || len == 0)
            continue; /* EOF records and unknown calls carry no bytes */
        if (t->records >= max_records) {
            t->dropped++;
            continue;
        }
        /* A direction is keyed by its sender: a send's local end, a recv's remote end. */
        memset(&k, 0, sizeof(k));
        if (send) {
            k.src = la, k.sport = lp, k.dst = ra, k.dport = rp;
        } else {
            k.src = ra, k.sport = rp, k.dst = la, k.dport = lp;
        }
        bool full;
        group_t *g = group_for(t, &k, send, off, &full);
        if (full) {
            t->dropped++;
            continue;
        }
        ss_app_call_t c = {off, (uint32_t)len, ts};
        bool ok = g && (send ? push(&g->dir.sends, &g->dir.nsends, &g->cap_s, &c)
                             : push(&g->dir.recvs, &g->dir.nrecvs, &g->cap_r, &c));
        if (!ok) {
            fclose(f);
            ss_apptrace_destroy(t);
            snprintf(err, errlen, "out of memory reading the trace");
            return SS_ERR_NOMEM;
        }
        if (send)
            g->next_send = off + len;
        else
            g->next_recv = off + len;
        if (ts < g->dir.first_ns)
            g->dir.first_ns = ts;
        t->records++;
    }
    fclose(f);
    for (size_t i = 0; i < t->ng; i++) {
        /* A direction may have only sends or only recvs: never hand qsort a null array. */
        if (t->g[i].dir.nsends > 1)
            qsort(t->g[i].dir.sends, t->g[i].dir.nsends, sizeof(ss_app_call_t), by_off);
        if (t->g[i].dir.nrecvs > 1)
            qsort(t->g[i].dir.recvs, t->g[i].dir.nrecvs, sizeof(ss_app_call_t), by_off);
    }
    *out = t;
    return 0;
}

void ss_apptrace_counts(const ss_apptrace_t *t, uint64_t *records, uint64_t *skipped)
{
    *records = t->records;
    *skipped = t->skipped;
}

uint64_t ss_apptrace_dropped(const ss_apptrace_t *t) { return t->dropped; }

const ss_app_dir_t *ss_apptrace_match(ss_apptrace_t *t, const ss_addr_t *src, uint16_t sport, const ss_addr_t *dst,
                                      uint16_t dport, int64_t start_ns)
{
    trace_key_t k;
    memset(&k, 0, sizeof(k));
    k.src = *src, k.sport = sport, k.dst = *dst, k.dport = dport;
    /* Normalise the unused address bytes so comparisons see only what matters. */
    if (k.src.family == 4)
        memset(k.src.a + 4, 0, 12);
    if (k.dst.family == 4)
        memset(k.dst.a + 4, 0, 12);
    if (!t->index_cap)
        return NULL;
    group_t *best = NULL;
    uint64_t best_d = UINT64_MAX;
    /* Distances in unsigned arithmetic: hostile timestamps must not overflow a subtraction. */
    for (size_t i = t->index[index_slot(t, &k)]; i != NO_GROUP; i = t->g[i].prev) {
        group_t *g = &t->g[i];
        if (g->dir.used)
            continue;
        uint64_t a = (uint64_t)g->dir.first_ns, b = (uint64_t)start_ns;
        uint64_t d = g->dir.first_ns >= start_ns ? a - b : b - a;
        if (!best || d <= best_d) { /* ties: the earlier group, as the chain runs latest first */
            best_d = d;
            best = g;
        }
    }
    if (!best)
        return NULL;
    best->dir.used = true;
    return &best->dir;
}

void ss_apptrace_destroy(ss_apptrace_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ng; i++) {
        free(t->g[i].dir.sends);
        free(t->g[i].dir.recvs);
    }
    free(t->g);
    free(t->index);
    free(t);
}
