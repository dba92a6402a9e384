/* floor.c - the bare-libpcap floor the benchmark compares segscope with (segscope-bench-floor). */

/*
 * Two floors, both reading the file the way segscope does (libpcap,
 * pcap_next_ex, nanosecond timestamps):
 *
 *   count  reads every record and counts packets and bytes: the cost of
 *          getting the bytes out of the file, which no analyzer can avoid;
 *   hash   also parses Ethernet (and VLAN tags), IPv4 or IPv6 and the TCP or
 *          UDP ports, bounds-checked, builds the canonical 5-tuple (both
 *          directions give the same key) and counts packets per conversation
 *          in an open-addressing hash table: the least any per-conversation
 *          analysis must do.
 *
 * It prints one line of totals so the compiler cannot drop the work.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key {
    uint8_t addr[2][16];
    uint16_t port[2];
    uint8_t proto;
    uint8_t family;
    uint8_t pad[2];
} floor_key_t;

typedef struct entry {
    floor_key_t key;
    uint64_t hash; /* 0 = empty */
    uint64_t packets;
} floor_entry_t;

typedef struct table {
    floor_entry_t *e;
    size_t cap, n; /* cap a power of two */
} floor_table_t;

static uint64_t hash_key(const floor_key_t *k)
{
    /* FNV-1a, 64-bit, then a final mix; never 0 (0 marks an empty slot) */
    const uint8_t *p = (const uint8_t *)k;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static bool table_grow(floor_table_t *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 4096;
    floor_entry_t *ne = calloc(ncap, sizeof(*ne));
    if (!ne)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->e[i].hash)
            continue;
        size_t j = t->e[i].hash & (ncap - 1);
        while (ne[j].hash)
            j = (j + 1) & (ncap - 1);
        ne[j] = t->e[i];
    }
    free(t->e);
    t->e = ne;
    t->cap = ncap;
    return true;
}

static bool table_count(floor_table_t *t, const floor_key_t *k)
{
    if ((t->n + 1) * 2 > t->cap && !table_grow(t))
        return false;
    uint64_t h = hash_key(k);
    size_t j = h & (t->cap - 1);
    while (t->e[j].hash) {
        if (t->e[j].hash == h && memcmp(&t->e[j].key, k, sizeof(*k)) == 0) {
            t->e[j].packets++;
            return true;
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->e[j].key = *k;
    t->e[j].hash = h;
    t->e[j].packets = 1;
    t->n++;
    return true;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Parses one Ethernet frame into a canonical key; false when it is not TCP or UDP over IP. */
static bool parse(const uint8_t *d, uint32_t len, floor_key_t *k)
{
    uint32_t off = 12;
    if (len < 14)
        return false;
    uint16_t et = rd16(d + off);
    off += 2;
    for (int v = 0; v < 2 && (et == 0x8100 || et == 0x88A8); v++) {
        if (len < off + 4)
            return false;
        et = rd16(d + off + 2);
        off += 4;
    }
    const uint8_t *src, *dst;
    size_t alen;
    uint8_t proto;
    if (et == 0x0800) {
        if (len < off + 20 || (d[off] >> 4) != 4)
            return false;
        uint32_t ihl = (d[off] & 0xF) * 4u;
        if (ihl < 20 || len < off + ihl)
            return false;
        if (rd16(d + off + 6) & 0x3FFF)
            return false; /* a fragment: no ports */
        proto = d[off + 9];
        src = d + off + 12;
        dst = d + off + 16;
        alen = 4;
        k->family = 4;
        off += ihl;
    } else if (et == 0x86DD) {
        if (len < off + 40 || (d[off] >> 4) != 6)
            return false;
        proto = d[off + 6]; /* extension headers are not followed: the floor stays a floor */
        src = d + off + 8;
        dst = d + off + 24;
        alen = 16;
        k->family = 6;
        off += 40;
    } else {
        return false;
    }
    if ((proto != 6 && proto != 17) || len < off + 4)
        return false;
    uint16_t sp = rd16(d + off), dp = rd16(d + off + 2);
    int c = memcmp(src, dst, alen);
    bool swap = c > 0 || (c == 0 && sp > dp);
    memset(k->addr, 0, sizeof(k->addr));
    memcpy(k->addr[0], swap ? dst : src, alen);
    memcpy(k->addr[1], swap ? src : dst, alen);
    k->port[0] = swap ? dp : sp;
    k->port[1] = swap ? sp : dp;
    k->proto = proto;
    k->pad[0] = k->pad[1] = 0;
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "count") && strcmp(argv[1], "hash"))) {
        fprintf(stderr, "Usage: segscope-bench-floor count|hash FILE\n");
        return 2;
    }
    bool hash = strcmp(argv[1], "hash") == 0;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[2], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        fprintf(stderr, "segscope-bench-floor: %s: %s\n", argv[2], err);
        return 2;
    }
    if (pcap_datalink(p) != DLT_EN10MB && hash) {
        fprintf(stderr, "segscope-bench-floor: hash mode reads Ethernet captures only\n");
        pcap_close(p);
        return 2;
    }
    floor_table_t t = {NULL, 0, 0};
    uint64_t packets = 0, bytes = 0, parsed = 0, digest = 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        packets++;
        bytes += h->caplen;
        if (!hash)
            continue;
        floor_key_t k;
        if (parse(d, h->caplen, &k)) {
            parsed++;
            digest += hash_key(&k);
            if (!table_count(&t, &k)) {
                fprintf(stderr, "segscope-bench-floor: out of memory\n");
                return 1;
            }
        }
    }
    int status = 0;
    if (rc == PCAP_ERROR) { /* -2 (PCAP_ERROR_BREAK) is the end of the file */
        fprintf(stderr, "segscope-bench-floor: %s: %s\n", argv[2], pcap_geterr(p));
        status = 1;
    }
    if (hash)
        printf("packets %" PRIu64 " bytes %" PRIu64 " tcp_udp %" PRIu64 " conversations %zu digest %016" PRIx64
               "\n",
               packets, bytes, parsed, t.n, digest);
    else
        printf("packets %" PRIu64 " bytes %" PRIu64 "\n", packets, bytes);
    free(t.e);
    pcap_close(p);
    return status;
}
