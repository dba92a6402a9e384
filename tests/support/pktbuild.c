/* pktbuild.c - in-memory frame builder and output capture for the unit tests. */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* Largest frame the builder handles (an IPv4 datagram plus link headers). */
#define PB_MAX_FRAME 70000u

/* ---- small writers ------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
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

static void put32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint16_t ss_pb_get16(const uint8_t *buf, size_t off)
{
    return (uint16_t)((buf[off] << 8) | buf[off + 1]);
}

/* ---- checksums ---------------------------------------------------------- */

/* Unfolded ones' complement sum of big-endian words; an odd last byte is padded with zero. */
static uint32_t sum_words(const uint8_t *p, size_t n, uint32_t acc)
{
    while (n >= 2) {
        acc += (uint32_t)p[0] << 8 | p[1];
        p += 2;
        n -= 2;
    }
    if (n)
        acc += (uint32_t)p[0] << 8;
    return acc;
}

static uint16_t fold16(uint32_t acc)
{
    while (acc > 0xFFFFu)
        acc = (acc & 0xFFFFu) + (acc >> 16);
    return (uint16_t)acc;
}

uint16_t ss_pb_inet_csum(const void *data, size_t n, uint32_t init)
{
    return (uint16_t)~fold16(sum_words(data, n, init));
}

/* The TCP/UDP pseudo-header (RFC 9293 section 3.1, RFC 8200 section 8.1), unfolded. */
static uint32_t pseudo_sum(const ss_pb_pkt_t *p, size_t l4_len)
{
    uint32_t acc = 0;
    if (p->ipver == 4) {
        acc = sum_words(p->v4.src, 4, acc);
        acc = sum_words(p->v4.dst, 4, acc);
    } else {
        acc = sum_words(p->v6.src, 16, acc);
        acc = sum_words(p->v6.dst, 16, acc);
    }
    acc += p->proto;
    acc += (uint32_t)(l4_len >> 16) + (uint32_t)(l4_len & 0xFFFFu);
    return acc;
}

/* ---- addresses ---------------------------------------------------------- */

void ss_pb_addr4(const char *s, uint8_t out[4])
{
    if (inet_pton(AF_INET, s, out) != 1) {
        fprintf(stderr, "pktbuild: bad IPv4 address '%s'\n", s);
        abort();
    }
}

void ss_pb_addr6(const char *s, uint8_t out[16])
{
    if (inet_pton(AF_INET6, s, out) != 1) {
        fprintf(stderr, "pktbuild: bad IPv6 address '%s'\n", s);
        abort();
    }
}

static ss_pb_pkt_t make(int ipver, uint8_t proto, const char *src, uint16_t sport, const char *dst,
                        uint16_t dport)
{
    ss_pb_pkt_t p;
    memset(&p, 0, sizeof(p));
    p.ipver = ipver;
    p.proto = proto;
    if (ipver == 4) {
        ss_pb_addr4(src, p.v4.src);
        ss_pb_addr4(dst, p.v4.dst);
    } else {
        ss_pb_addr6(src, p.v6.src);
        ss_pb_addr6(dst, p.v6.dst);
    }
    p.tcp.sport = p.udp.sport = sport;
    p.tcp.dport = p.udp.dport = dport;
    p.tcp.win = 65535;
    return p;
}

ss_pb_pkt_t ss_pb_tcp4(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    return make(4, 6, src, sport, dst, dport);
}

ss_pb_pkt_t ss_pb_tcp6(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    return make(6, 6, src, sport, dst, dport);
}

ss_pb_pkt_t ss_pb_udp4(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    return make(4, 17, src, sport, dst, dport);
}

ss_pb_pkt_t ss_pb_udp6(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    return make(6, 17, src, sport, dst, dport);
}

/* ---- transport ---------------------------------------------------------- */

static size_t l4_size(const ss_pb_pkt_t *p)
{
    if (p->raw)
        return p->raw_len;
    if (p->proto == 6)
        return 20 + p->tcp.opts_len + p->tcp.payload_len;
    if (p->proto == 17)
        return 8 + p->udp.payload_len;
    return 0;
}

static uint16_t l4_csum(const ss_pb_pkt_t *p, const uint8_t *seg, size_t len, ss_pb_csum_t mode,
                        uint16_t value)
{
    uint32_t pseudo = pseudo_sum(p, len);
    if (mode == SS_PB_CSUM_VALUE)
        return value;
    if (mode == SS_PB_CSUM_OFFLOAD)
        return fold16(pseudo);
    uint16_t c = ss_pb_inet_csum(seg, len, pseudo);
    if (p->proto == 17 && c == 0)
        c = 0xFFFF; /* UDP sends a computed zero as all ones (RFC 768) */
    return c;
}

/* Writes the transport part at seg (l4_size(p) bytes, already bounds-checked). */
static bool write_l4(uint8_t *seg, const ss_pb_pkt_t *p)
{
    size_t len = l4_size(p);
    if (p->raw) {
        memcpy(seg, p->raw, p->raw_len);
        return true;
    }
    if (p->proto == 6) {
        const ss_pb_tcp_t *t = &p->tcp;
        if (t->opts_len % 4 != 0 || t->opts_len > 40)
            return false;
        uint8_t doff = t->doff_set ? t->doff : (uint8_t)((20 + t->opts_len) / 4);
        put16(seg, t->sport);
        put16(seg + 2, t->dport);
        put32(seg + 4, t->seq);
        put32(seg + 8, t->ack);
        put16(seg + 12, (uint16_t)(((unsigned)doff & 0xF) << 12 | (t->flags & 0x0FFF)));
        put16(seg + 14, t->win);
        put16(seg + 16, 0);
        put16(seg + 18, t->urp);
        if (t->opts_len)
            memcpy(seg + 20, t->opts, t->opts_len);
        if (t->payload_len)
            memcpy(seg + 20 + t->opts_len, t->payload, t->payload_len);
        put16(seg + 16, l4_csum(p, seg, len, t->csum_mode, t->csum_value));
        return true;
    }
    if (p->proto == 17) {
        const ss_pb_udp_t *u = &p->udp;
        put16(seg, u->sport);
        put16(seg + 2, u->dport);
        put16(seg + 4, u->len_set ? u->len : (uint16_t)len);
        put16(seg + 6, 0);
        if (u->payload_len)
            memcpy(seg + 8, u->payload, u->payload_len);
        put16(seg + 6, l4_csum(p, seg, len, u->csum_mode, u->csum_value));
        return true;
    }
    return len == 0;
}

/* ---- IP ----------------------------------------------------------------- */

static size_t build_ipv4(uint8_t *buf, size_t cap, const ss_pb_pkt_t *p)
{
    const ss_pb_ipv4_t *v = &p->v4;
    if (v->options_len % 4 != 0 || v->options_len > 40 || v->frag_offset % 8 != 0)
        return 0;
    size_t hlen = 20 + v->options_len;
    size_t total = hlen + l4_size(p);
    if (total > cap || total > 0xFFFF)
        return 0;
    uint8_t ihl = v->ihl ? v->ihl : (uint8_t)(hlen / 4);
    buf[0] = (uint8_t)(0x40 | (ihl & 0x0F));
    buf[1] = v->tos;
    put16(buf + 2, v->totlen_set ? v->totlen : (uint16_t)total);
    put16(buf + 4, v->id);
    put16(buf + 6, (uint16_t)((v->df ? 0x4000 : 0) | (v->mf ? 0x2000 : 0) | (v->frag_offset / 8)));
    buf[8] = v->ttl ? v->ttl : 64;
    buf[9] = p->proto;
    put16(buf + 10, 0);
    memcpy(buf + 12, v->src, 4);
    memcpy(buf + 16, v->dst, 4);
    if (v->options_len)
        memcpy(buf + 20, v->options, v->options_len);
    put16(buf + 10, v->csum_mode == SS_PB_CSUM_VALUE ? v->csum_value : ss_pb_inet_csum(buf, hlen, 0));
    if (!write_l4(buf + hlen, p))
        return 0;
    return total;
}

static size_t ext_size(const ss_pb_ipv6_ext_t *e)
{
    return e->type == SS_PB_EXT_FRAGMENT ? 8 : ((size_t)e->len8 + 1) * 8;
}

static size_t build_ipv6(uint8_t *buf, size_t cap, const ss_pb_pkt_t *p)
{
    const ss_pb_ipv6_t *v = &p->v6;
    if (v->next < 0 || v->next > SS_PB_MAX_EXT)
        return 0;
    size_t exts = 0;
    for (int i = 0; i < v->next; i++)
        exts += ext_size(&v->ext[i]);
    size_t plen = exts + l4_size(p);
    size_t total = 40 + plen;
    if (total > cap || plen > 0xFFFF)
        return 0;
    put32(buf, 0x60000000u | (uint32_t)v->tclass << 20 | (v->flow_label & 0xFFFFFu));
    put16(buf + 4, v->plen_set ? v->plen : (uint16_t)plen);
    buf[6] = v->next ? v->ext[0].type : p->proto;
    buf[7] = v->hlim ? v->hlim : 64;
    memcpy(buf + 8, v->src, 16);
    memcpy(buf + 24, v->dst, 16);
    uint8_t *q = buf + 40;
    for (int i = 0; i < v->next; i++) {
        const ss_pb_ipv6_ext_t *e = &v->ext[i];
        size_t sz = ext_size(e);
        memset(q, 0, sz);
        q[0] = i + 1 < v->next ? v->ext[i + 1].type : p->proto;
        if (e->type == SS_PB_EXT_FRAGMENT) {
            put16(q + 2, (uint16_t)((e->frag_offset & 0xFFF8u) | (e->frag_more ? 1u : 0u)));
            put32(q + 4, e->frag_id);
        } else if (e->type == SS_PB_EXT_ROUTING) {
            q[1] = e->len8;
            q[2] = 4; /* routing type 4 (segment routing) with segments left 0: nothing to do */
            q[3] = 0;
        } else {
            /* Hop-by-hop and destination options: one PadN option fills the header. */
            q[1] = e->len8;
            q[2] = 1;
            q[3] = (uint8_t)(sz - 4);
        }
        q += sz;
    }
    if (!write_l4(q, p))
        return 0;
    return total;
}

size_t ss_pb_ip(uint8_t *buf, size_t cap, const ss_pb_pkt_t *p)
{
    if (p->ipver == 4)
        return build_ipv4(buf, cap, p);
    if (p->ipver == 6)
        return build_ipv6(buf, cap, p);
    return 0;
}

/* ---- link layer --------------------------------------------------------- */

ss_pb_link_t ss_pb_link(int linktype)
{
    ss_pb_link_t l;
    memset(&l, 0, sizeof(l));
    l.linktype = linktype;
    return l;
}

size_t ss_pb_link_hdr_len(const ss_pb_link_t *l)
{
    switch (l->linktype) {
    case SS_LINK_ETHERNET:
        return 14 + 4 * (size_t)l->nvlan + (l->pppoe ? 8 : 0);
    case SS_LINK_LINUX_SLL:
        return 16;
    case SS_LINK_LINUX_SLL2:
        return 20;
    case SS_LINK_NULL:
    case SS_LINK_LOOP:
        return 4;
    default:
        return 0;
    }
}

size_t ss_pb_wrap(uint8_t *buf, size_t cap, const ss_pb_link_t *l, uint16_t ethertype,
                  const uint8_t *l3, size_t l3_len)
{
    static const uint8_t mac_dst[6] = {0x02, 0, 0, 0, 0, 0x02};
    static const uint8_t mac_src[6] = {0x02, 0, 0, 0, 0, 0x01};
    size_t hl = ss_pb_link_hdr_len(l);
    size_t total = hl + l3_len;
    if (l->linktype == SS_LINK_ETHERNET && (l->nvlan < 0 || l->nvlan > 2))
        return 0;
    size_t padded = l->linktype == SS_LINK_ETHERNET && l->pad_to > total ? l->pad_to : total;
    if (padded > cap)
        return 0;
    uint8_t *q = buf;
    switch (l->linktype) {
    case SS_LINK_ETHERNET:
        memcpy(q, mac_dst, 6);
        memcpy(q + 6, mac_src, 6);
        q += 12;
        for (int i = 0; i < l->nvlan; i++) {
            uint16_t tpid = l->vlan_tpid[i];
            if (!tpid)
                tpid = (l->nvlan == 2 && i == 0) ? 0x88A8 : 0x8100;
            put16(q, tpid);
            put16(q + 2, (uint16_t)((l->vlan_pcp[i] & 7u) << 13 | (l->vlan[i] & 0x0FFFu)));
            q += 4;
        }
        if (l->pppoe) {
            put16(q, 0x8864);
            q[2] = 0x11; /* version 1, type 1 */
            q[3] = 0x00; /* code: session data */
            put16(q + 4, 0x1234);
            put16(q + 6, (uint16_t)(l3_len + 2));
            put16(q + 8, ethertype == 0x86DD ? 0x0057 : 0x0021);
            q += 10;
        } else {
            put16(q, ethertype);
            q += 2;
        }
        break;
    case SS_LINK_LINUX_SLL:
        put16(q, 0);      /* sent to us */
        put16(q + 2, 1);  /* ARPHRD_ETHER */
        put16(q + 4, 6);  /* address length */
        memcpy(q + 6, mac_src, 6);
        q[12] = q[13] = 0;
        put16(q + 14, ethertype);
        q += 16;
        break;
    case SS_LINK_LINUX_SLL2:
        put16(q, ethertype);
        put16(q + 2, 0);  /* reserved */
        put32(q + 4, 1);  /* interface index */
        put16(q + 8, 1);  /* ARPHRD_ETHER */
        q[10] = 0;        /* sent to us */
        q[11] = 6;        /* address length */
        memcpy(q + 12, mac_src, 6);
        q[18] = q[19] = 0;
        q += 20;
        break;
    case SS_LINK_NULL:
    case SS_LINK_LOOP: {
        uint32_t fam = l->null_family ? l->null_family : (ethertype == 0x86DD ? 24u : 2u);
        if (l->linktype == SS_LINK_LOOP || l->null_big_endian)
            put32(q, fam);
        else
            put32_le(q, fam);
        q += 4;
        break;
    }
    case SS_LINK_RAW:
    case SS_LINK_IPV4:
    case SS_LINK_IPV6:
        break;
    default:
        return 0;
    }
    if (l3_len)
        memcpy(q, l3, l3_len);
    if (padded > total)
        memset(buf + total, 0, padded - total);
    return padded;
}

size_t ss_pb_build(uint8_t *buf, size_t cap, const ss_pb_link_t *l, const ss_pb_pkt_t *p)
{
    uint8_t *ip = malloc(PB_MAX_FRAME);
    if (!ip)
        return 0;
    size_t n = ss_pb_ip(ip, PB_MAX_FRAME, p);
    size_t r = 0;
    if (n) {
        uint16_t et = l->ethertype ? l->ethertype : (p->ipver == 6 ? 0x86DD : 0x0800);
        r = ss_pb_wrap(buf, cap, l, et, ip, n);
    }
    free(ip);
    return r;
}

size_t ss_pb_arp_request(uint8_t *buf, size_t cap, const char *sender_ip, const char *target_ip)
{
    if (cap < 28)
        return 0;
    put16(buf, 1);          /* hardware: Ethernet */
    put16(buf + 2, 0x0800); /* protocol: IPv4 */
    buf[4] = 6;
    buf[5] = 4;
    put16(buf + 6, 1);      /* request */
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    memcpy(buf + 8, mac, 6);
    ss_pb_addr4(sender_ip, buf + 14);
    memset(buf + 18, 0, 6);
    ss_pb_addr4(target_ip, buf + 24);
    return 28;
}

ss_frame_t ss_pb_frame(const uint8_t *data, size_t len, int linktype, uint64_t number,
                       int64_t ts_sec, uint32_t ts_nsec)
{
    ss_frame_t f;
    memset(&f, 0, sizeof(f));
    f.data = data;
    f.caplen = f.wirelen = (uint32_t)len;
    f.linktype = linktype;
    f.number = number;
    f.ts_sec = ts_sec;
    f.ts_nsec = ts_nsec;
    return f;
}

uint8_t *ss_pb_dup(const uint8_t *bytes, size_t len)
{
    /* malloc(0) gives a zero-sized block (or NULL): ASan flags any read of it. */
    uint8_t *d = malloc(len);
    if (d && len)
        memcpy(d, bytes, len);
    return d;
}

/* ---- traces ------------------------------------------------------------- */

void ss_pb_trace_init(ss_pb_trace_t *t, int linktype, int64_t ts_sec, uint32_t ts_nsec)
{
    memset(t, 0, sizeof(*t));
    t->linktype = linktype;
    t->ts_sec = ts_sec;
    t->ts_nsec = ts_nsec;
}

ss_frame_t *ss_pb_trace_add_bytes(ss_pb_trace_t *t, const uint8_t *bytes, size_t len)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        ss_frame_t *nf = realloc(t->frames, nc * sizeof(*nf));
        if (!nf)
            return NULL;
        t->frames = nf;
        t->cap = nc;
    }
    uint8_t *d = ss_pb_dup(bytes, len);
    if (!d && len)
        return NULL;
    ss_frame_t *f = &t->frames[t->n];
    *f = ss_pb_frame(d, len, t->linktype, t->n + 1, t->ts_sec, t->ts_nsec);
    t->n++;
    return f;
}

ss_frame_t *ss_pb_trace_add(ss_pb_trace_t *t, const ss_pb_link_t *l, const ss_pb_pkt_t *p)
{
    if (l->linktype != t->linktype)
        return NULL;
    uint8_t *buf = malloc(PB_MAX_FRAME);
    if (!buf)
        return NULL;
    size_t n = ss_pb_build(buf, PB_MAX_FRAME, l, p);
    ss_frame_t *f = n ? ss_pb_trace_add_bytes(t, buf, n) : NULL;
    free(buf);
    return f;
}

void ss_pb_trace_advance(ss_pb_trace_t *t, uint32_t usec)
{
    uint64_t ns = (uint64_t)t->ts_nsec + (uint64_t)usec * 1000u;
    t->ts_sec += (int64_t)(ns / 1000000000u);
    t->ts_nsec = (uint32_t)(ns % 1000000000u);
}

void ss_pb_trace_fini(ss_pb_trace_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free((void *)t->frames[i].data);
    free(t->frames);
    memset(t, 0, sizeof(*t));
}

/* ---- output capture ----------------------------------------------------- */

int ss_pb_memout_open(ss_pb_memout_t *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f ? 0 : -1;
}

const char *ss_pb_memout_text(ss_pb_memout_t *m)
{
    fflush(m->f);
    return m->buf ? m->buf : "";
}

void ss_pb_memout_close(ss_pb_memout_t *m)
{
    if (m->f)
        fclose(m->f);
    free(m->buf);
    m->f = NULL;
    m->buf = NULL;
    m->len = 0;
}

int ss_pb_run(ss_sink_t *sink, const ss_config_t *cfg, const ss_pb_trace_t *t)
{
    ss_config_t def;
    if (!cfg) {
        ss_config_init(&def);
        cfg = &def;
    }
    ss_sink_t *sinks[1] = {sink};
    ss_analyzer_t *a = ss_analyzer_create(cfg, sinks, 1);
    if (!a)
        return -1;
    ss_run_info_t info = {.source_name = "pktbuild", .live = false, .linktype = t->linktype};
    int rc = ss_analyzer_begin(a, &info);
    for (size_t i = 0; rc == 0 && i < t->n; i++)
        rc = ss_analyzer_feed(a, &t->frames[i]);
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    int r2 = ss_analyzer_finish(a, &end);
    if (rc == 0)
        rc = r2;
    ss_analyzer_destroy(a);
    return rc;
}
