/* json.c - JSON Lines output (schema in docs/json.md). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"

#define SS_JSON_SCHEMA_VERSION 3

/*
 * Records are built in a buffer and written with one fwrite each. A packet
 * record has some forty fields, and formatting them with fprintf, a call
 * per field, cost several times as much as the whole analysis; appending
 * literals and digits by hand gives byte for byte the same text. A record
 * longer than the buffer is written in pieces, so nothing here allocates.
 */
#define JB_SIZE 8192

typedef struct jbuf {
    FILE *out;
    size_t n;
    char b[JB_SIZE];
} jbuf_t;

typedef struct json_sink {
    ss_sink_t base;
    FILE *out;
    bool line_flush;
    bool packets; /* packet records (off: conversation records only) */
    jbuf_t jb;    /* the record being built */
} json_sink_t;

static void jb_flush(jbuf_t *b)
{
    if (b->n)
        fwrite(b->b, 1, b->n, b->out);
    b->n = 0;
}

static void jb_mem_slow(jbuf_t *b, const char *s, size_t n)
{
    jb_flush(b);
    if (n > JB_SIZE) {
        fwrite(s, 1, n, b->out);
        return;
    }
    memcpy(b->b, s, n);
    b->n = n;
}

/* Inlined, so that the copy of a literal of known length becomes a few moves. */
static inline void jb_mem(jbuf_t *b, const char *s, size_t n)
{
    if (JB_SIZE - b->n < n) {
        jb_mem_slow(b, s, n);
        return;
    }
    memcpy(b->b + b->n, s, n);
    b->n += n;
}

/* A string literal, whose length the compiler knows. */
#define JB_LIT(b, lit) jb_mem((b), "" lit, sizeof(lit) - 1)

static inline void jb_ch(jbuf_t *b, char c)
{
    if (b->n == JB_SIZE)
        jb_flush(b);
    b->b[b->n++] = c;
}

static void jb_str(jbuf_t *b, const char *s) { jb_mem(b, s, strlen(s)); }

static void jb_bool(jbuf_t *b, bool v)
{
    if (v)
        JB_LIT(b, "true");
    else
        JB_LIT(b, "false");
}

/* Unsigned decimal of at least `width` (0..20) digits, zero-padded: "%0*" PRIu64, written in place. */
static void jb_uw(jbuf_t *b, uint64_t v, int width)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    static const uint64_t pow10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
                                       100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
                                       1000000000000ull, 10000000000000ull, 100000000000000ull,
                                       1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
                                       1000000000000000000ull, 10000000000000000000ull};
    /* digits: from the bit length (log10(2) ~ 1233/4096), corrected by one comparison */
    int bits = 64 - __builtin_clzll(v | 1);
    int nd = (bits * 1233) >> 12;
    nd += (v | 1) >= pow10[nd]; /* v | 1: zero has one digit; pow10[nd] is 1 or even */
    if (nd < width)
        nd = width;
    if (JB_SIZE - b->n < 20)
        jb_flush(b);
    char *p = b->b + b->n + nd;
    b->n += (size_t)nd;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        *--p = pairs[2 * r + 1];
        *--p = pairs[2 * r];
        nd -= 2;
    }
    if (v >= 10) {
        *--p = pairs[2 * v + 1];
        *--p = pairs[2 * v];
        nd -= 2;
    } else {
        *--p = (char)('0' + v);
        nd--;
    }
    while (nd-- > 0)
        *--p = '0';
}

static void jb_u(jbuf_t *b, uint64_t v) { jb_uw(b, v, 0); }

static void jb_i(jbuf_t *b, int64_t v)
{
    if (v < 0) {
        jb_ch(b, '-');
        jb_u(b, (uint64_t)0 - (uint64_t)v);
    } else {
        jb_u(b, (uint64_t)v);
    }
}

/* Signed nanoseconds as seconds with `decimals` (1..9) digits, as ss_fmt_secs writes them. */
static void jb_secs(jbuf_t *b, int64_t ns, int decimals)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t div = 1;
    for (int i = decimals; i < 9; i++)
        div *= 10;
    if (ns < 0)
        jb_ch(b, '-');
    jb_u(b, a / 1000000000u);
    jb_ch(b, '.');
    jb_uw(b, (a % 1000000000u) / div, decimals);
}

/* A JSON string literal, escaped exactly as ss_json_str escapes it. */
static void jb_jstr(jbuf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jb_ch(b, '"');
    const unsigned char *p = (const unsigned char *)s, *run = p;
    for (;; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        jb_mem(b, (const char *)run, (size_t)(p - run));
        run = p + 1;
        if (c == '\0')
            break;
        switch (c) {
        case '"': JB_LIT(b, "\\\""); break;
        case '\\': JB_LIT(b, "\\\\"); break;
        case '\n': JB_LIT(b, "\\n"); break;
        case '\r': JB_LIT(b, "\\r"); break;
        case '\t': JB_LIT(b, "\\t"); break;
        default: {
            const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            jb_mem(b, u, sizeof(u));
        }
        }
    }
    jb_ch(b, '"');
}

/* Dotted IPv4 text into `p`; returns the end. */
static char *fmt_ipv4(char *p, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (i)
            *p++ = '.';
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
    }
    return p;
}

/*
 * IPv6 text exactly as glibc's inet_ntop writes it, which formats each group
 * with sprintf and cost a tenth of the whole run on a capture with a quarter
 * of its packets over IPv6. RFC 5952: lower-case hex without leading zeros;
 * the longest run of two or more zero groups (the first of equal ones)
 * written "::"; and, as inet_ntop does, an IPv4-compatible (::a.b.c.d) or
 * IPv4-mapped (::ffff:a.b.c.d) address with its last 32 bits dotted.
 * Returns the end.
 */
static char *fmt_ipv6(char *p, const uint8_t *a)
{
    static const char hex[] = "0123456789abcdef";
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i <= 8; i++) {
        if (i < 8 && w[i] == 0) {
            if (cur < 0)
                cur = i, cur_len = 0;
            cur_len++;
        } else if (cur >= 0) {
            if (best < 0 || cur_len > best_len)
                best = cur, best_len = cur_len;
            cur = -1;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                *p++ = ':';
            continue;
        }
        if (i)
            *p++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return fmt_ipv4(p, a + 12);
        unsigned v = w[i];
        if (v >= 0x1000)
            *p++ = hex[v >> 12];
        if (v >= 0x100)
            *p++ = hex[v >> 8 & 15];
        if (v >= 0x10)
            *p++ = hex[v >> 4 & 15];
        *p++ = hex[v & 15];
    }
    if (best >= 0 && best + best_len == 8)
        *p++ = ':';
    return p;
}

/* An address as a JSON string (its text never needs escaping), as ss_addr_str writes it. */
static void jb_addr(jbuf_t *b, const ss_addr_t *a)
{
    char t[64];
    char *p = t;
    *p++ = '"';
    if (a->family == 4)
        p = fmt_ipv4(p, a->a);
    else if (a->family == 6)
        p = fmt_ipv6(p, a->a);
    *p++ = '"';
    jb_mem(b, t, (size_t)(p - t));
}

/* ,"key":seconds with nine decimals */
static void json_secs(jbuf_t *o, const char *key, int64_t ns)
{
    JB_LIT(o, ",\"");
    jb_str(o, key);
    JB_LIT(o, "\":");
    jb_secs(o, ns, 9);
}

/* [[left,right],...] */
static void json_blocks(jbuf_t *o, unsigned n, const uint32_t (*blk)[2])
{
    jb_ch(o, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            jb_ch(o, ',');
        jb_ch(o, '[');
        jb_u(o, blk[i][0]);
        jb_ch(o, ',');
        jb_u(o, blk[i][1]);
        jb_ch(o, ']');
    }
    jb_ch(o, ']');
}

/* ["NAME",...] for the set bits of `bits`, named by `name`. */
static void json_names(jbuf_t *o, uint32_t bits, int nbits, const char *(*name)(int))
{
    jb_ch(o, '[');
    int n = 0;
    for (int b = 0; b < nbits; b++) {
        if (!(bits & (1u << b)))
            continue;
        if (n++)
            jb_ch(o, ',');
        jb_ch(o, '"');
        jb_str(o, name(b));
        jb_ch(o, '"');
    }
    jb_ch(o, ']');
}

static const char *tcp_flag_name(int b) { return ss_tcp_flag_names[b]; }

static void json_options(jbuf_t *o, const ss_tcp_opts_t *op)
{
    bool first = true;
    jb_ch(o, '{');
#define KEY(k) (first ? (void)0 : jb_ch(o, ','), first = false, JB_LIT(o, "\"" k "\":"))
    if (op->present & SS_TCPOPT_MSS) {
        KEY("mss");
        jb_u(o, op->mss);
    }
    if (op->present & SS_TCPOPT_WSCALE) {
        KEY("wscale");
        jb_u(o, op->wscale);
    }
    if (op->present & SS_TCPOPT_SACKOK) {
        KEY("sack_perm");
        JB_LIT(o, "true");
    }
    if (op->present & SS_TCPOPT_SACK) {
        KEY("sack_raw");
        json_blocks(o, op->nsack, op->sack);
    }
    if (op->present & SS_TCPOPT_TS) {
        KEY("ts");
        JB_LIT(o, "{\"val\":");
        jb_u(o, op->ts_val);
        JB_LIT(o, ",\"ecr\":");
        jb_u(o, op->ts_ecr);
        jb_ch(o, '}');
    }
    if (op->present & SS_TCPOPT_TFO) {
        KEY("tfo");
        JB_LIT(o, "{\"cookie_len\":");
        jb_u(o, op->tfo_cookie_len);
        jb_ch(o, '}');
    }
    if (op->nop_count) {
        KEY("nop");
        jb_u(o, op->nop_count);
    }
    if (op->present & SS_TCPOPT_EOL) {
        KEY("eol");
        JB_LIT(o, "true");
    }
    if (op->nunknown) {
        KEY("unknown");
        jb_ch(o, '[');
        for (unsigned i = 0; i < op->nunknown; i++) {
            if (i)
                jb_ch(o, ',');
            JB_LIT(o, "{\"kind\":");
            jb_u(o, op->unknown[i].kind);
            JB_LIT(o, ",\"len\":");
            jb_u(o, op->unknown[i].len);
            jb_ch(o, '}');
        }
        jb_ch(o, ']');
    }
    if (op->malformed) {
        KEY("malformed");
        JB_LIT(o, "true");
    }
#undef KEY
    jb_ch(o, '}');
}

/* {"client":"STATE","server":"STATE"} */
static void json_states(jbuf_t *o, ss_tcp_state_t client, ss_tcp_state_t server)
{
    JB_LIT(o, "{\"client\":\"");
    jb_str(o, ss_tcp_state_name(client));
    JB_LIT(o, "\",\"server\":\"");
    jb_str(o, ss_tcp_state_name(server));
    JB_LIT(o, "\"}");
}

/* "client" or "server" for a direction's sender, in quotes. */
static void json_end_name(jbuf_t *o, int dir)
{
    if (dir == SS_DIR_C2S)
        JB_LIT(o, "\"client\"");
    else
        JB_LIT(o, "\"server\"");
}

/* "c2s" or "s2c", in quotes. */
static void json_dir(jbuf_t *o, int dir)
{
    if (dir == SS_DIR_C2S)
        JB_LIT(o, "\"c2s\"");
    else
        JB_LIT(o, "\"s2c\"");
}

/* Analysis flags, derived fields and endpoint states of a TCP packet. */
static void json_tcp_analysis(jbuf_t *o, const ss_pkt_event_t *pe)
{
    const ss_tcp_result_t *r = pe->tcp;
    JB_LIT(o, ",\"analysis\":");
    json_names(o, r->flags, SS_TA_COUNT, ss_tcp_analysis_name);
    if (r->flags & SS_TA(DUPLICATE_ACK)) {
        JB_LIT(o, ",\"dup_ack_num\":");
        jb_u(o, r->dup_ack_num);
        JB_LIT(o, ",\"dup_ack_of\":");
        jb_u(o, r->dup_ack_of);
    }
    if (r->has_ack_rtt) {
        json_secs(o, "ack_rtt", r->ack_rtt_ns);
        JB_LIT(o, ",\"acks_frame\":");
        jb_u(o, r->acks_frame);
    }
    if (r->has_bif) {
        JB_LIT(o, ",\"bytes_in_flight\":");
        jb_u(o, r->bytes_in_flight);
    }
    if (r->has_irtt)
        json_secs(o, "irtt", r->irtt_ns);
    if (r->has_rto) {
        json_secs(o, "rto", r->rto_ns);
        JB_LIT(o, ",\"rto_frame\":");
        jb_u(o, r->rto_frame);
    }
    if (r->nsack) {
        JB_LIT(o, ",\"sack\":");
        json_blocks(o, r->nsack, r->sack);
        JB_LIT(o, ",\"dsack\":");
        jb_bool(o, r->dsack);
    }
    if (pe->pkt->tcp.flags & SS_TCP_FIN) {
        if (r->fin_active)
            JB_LIT(o, ",\"fin\":\"active\"");
        else
            JB_LIT(o, ",\"fin\":\"passive\"");
    }
    if (pe->conv_tcp) {
        JB_LIT(o, ",\"state\":");
        json_states(o, pe->conv_tcp->state[SS_DIR_C2S], pe->conv_tcp->state[SS_DIR_S2C]);
    }
    if (r->ntrans) {
        JB_LIT(o, ",\"transitions\":[");
        for (int i = 0; i < r->ntrans; i++) {
            if (i)
                jb_ch(o, ',');
            JB_LIT(o, "{\"end\":");
            json_end_name(o, r->trans[i].end);
            JB_LIT(o, ",\"from\":\"");
            jb_str(o, ss_tcp_state_name(r->trans[i].from));
            JB_LIT(o, "\",\"to\":\"");
            jb_str(o, ss_tcp_state_name(r->trans[i].to));
            JB_LIT(o, "\",\"inferred\":");
            jb_bool(o, r->trans[i].inferred);
            jb_ch(o, '}');
        }
        jb_ch(o, ']');
    }
}

/* "tcp_stream":N or "udp_stream":N */
static void json_stream_key(jbuf_t *o, uint8_t proto, uint64_t index)
{
    if (proto == 6)
        JB_LIT(o, "\"tcp_stream\":");
    else
        JB_LIT(o, "\"udp_stream\":");
    jb_u(o, index);
}

static void json_message(jbuf_t *o, const ss_msg_event_t *me)
{
    const ss_message_t *m = me->msg;
    JB_LIT(o, "{\"type\":\"message\",");
    json_stream_key(o, me->conv->proto, me->conv->index);
    JB_LIT(o, ",\"dir\":");
    json_dir(o, me->dir);
    JB_LIT(o, ",\"index\":");
    jb_u(o, m->index);
    JB_LIT(o, ",\"offset\":");
    jb_u(o, m->off);
    JB_LIT(o, ",\"len\":");
    jb_u(o, m->len);
    JB_LIT(o, ",\"frames\":[");
    uint32_t n = m->nframes < SS_MSG_INLINE_FRAMES ? m->nframes : SS_MSG_INLINE_FRAMES;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            jb_ch(o, ',');
        jb_u(o, m->frames[i]);
    }
    JB_LIT(o, "],\"nframes\":");
    jb_u(o, m->nframes);
    JB_LIT(o, ",\"last_frame\":");
    jb_u(o, m->last_frame);
    JB_LIT(o, ",\"split\":");
    jb_bool(o, m->nframes >= 2);
    JB_LIT(o, ",\"complete\":");
    jb_bool(o, m->complete);
    if (me->conv->msgs && strncmp(me->conv->msgs[me->dir].framing, "filexfer", 8) == 0) {
        JB_LIT(o, ",\"part\":\"");
        jb_str(o, m->part == 0 ? "header_length" : m->part == 1 ? "header" : "body");
        jb_ch(o, '"');
    }
    JB_LIT(o, "}\n");
}

static void json_recv(jbuf_t *o, const ss_recv_event_t *r)
{
    JB_LIT(o, "{\"type\":\"recv\",\"tcp_stream\":");
    jb_u(o, r->conv->index);
    JB_LIT(o, ",\"dir\":");
    json_dir(o, r->dir);
    JB_LIT(o, ",\"index\":");
    jb_u(o, r->index);
    JB_LIT(o, ",\"ts\":");
    jb_secs(o, r->ts_ns, 6);
    JB_LIT(o, ",\"offset\":");
    jb_u(o, r->off);
    JB_LIT(o, ",\"len\":");
    jb_u(o, r->len);
    JB_LIT(o, ",\"messages\":[");
    for (uint32_t i = 0; i < r->count; i++) {
        if (i)
            jb_ch(o, ',');
        jb_u(o, r->first + i);
    }
    JB_LIT(o, "],\"glued\":");
    jb_bool(o, r->count >= 2);
    JB_LIT(o, ",\"first_partial\":");
    jb_bool(o, r->first_partial);
    JB_LIT(o, ",\"last_partial\":");
    jb_bool(o, r->last_partial);
    JB_LIT(o, "}\n");
}

static void json_msgsum(jbuf_t *o, const ss_conv_msgs_t *m)
{
    JB_LIT(o, "{\"framing\":");
    jb_jstr(o, m->framing);
    JB_LIT(o, ",\"messages\":");
    jb_u(o, m->messages);
    JB_LIT(o, ",\"incomplete\":");
    jb_u(o, m->incomplete);
    JB_LIT(o, ",\"coalesced_segments\":");
    jb_u(o, m->coalesced_segments);
    JB_LIT(o, ",\"split_messages\":");
    jb_u(o, m->split_messages);
    JB_LIT(o, ",\"largest\":");
    jb_u(o, m->largest);
    JB_LIT(o, ",\"gap_bytes\":");
    jb_u(o, m->gap_bytes);
    JB_LIT(o, ",\"overlap_bytes\":");
    jb_u(o, m->overlap_bytes);
    JB_LIT(o, ",\"overlap_differs\":");
    jb_u(o, m->overlap_differs);
    JB_LIT(o, ",\"dropped_bytes\":");
    jb_u(o, m->dropped_bytes);
    if (m->inferred) {
        char why[256];
        ss_auto_explain(&m->verdict, why, sizeof(why), NULL, 0);
        JB_LIT(o, ",\"inferred\":{\"confidence\":\"");
        jb_str(o, ss_confidence_name(m->confidence));
        JB_LIT(o, "\",\"why\":");
        jb_jstr(o, why);
        jb_ch(o, '}');
    }
    if (m->traced) {
        JB_LIT(o, ",\"send_calls\":");
        jb_u(o, m->send_calls);
        JB_LIT(o, ",\"recv_calls\":");
        jb_u(o, m->recv_calls);
        JB_LIT(o, ",\"glued_recvs\":");
        jb_u(o, m->glued_recvs);
    }
    if (m->udp_missing || m->udp_late) {
        JB_LIT(o, ",\"datagrams_missing\":");
        jb_u(o, m->udp_missing);
        JB_LIT(o, ",\"datagrams_late\":");
        jb_u(o, m->udp_late);
    }
    if (m->broken) {
        JB_LIT(o, ",\"broken_at\":");
        jb_u(o, m->broken_at);
        JB_LIT(o, ",\"broken_why\":");
        jb_jstr(o, m->broken_why);
    }
    jb_ch(o, '}');
}

/* null, or the number */
static void json_opt_u(jbuf_t *o, bool known, uint64_t v)
{
    if (known)
        jb_u(o, v);
    else
        JB_LIT(o, "null");
}

static void json_conversation(jbuf_t *o, const ss_conv_info_t *cv)
{
    char a[80], b[80];
    const ss_conv_tcp_t *t = cv->tcp;
    int64_t start = (cv->first_sec) * 1000000000LL + cv->first_nsec;
    int64_t last = (cv->last_sec) * 1000000000LL + cv->last_nsec;
    JB_LIT(o, "{\"type\":\"conversation\",");
    json_stream_key(o, cv->proto, cv->index);
    if (cv->proto == 6)
        JB_LIT(o, ",\"proto\":\"tcp\",\"client\":");
    else
        JB_LIT(o, ",\"proto\":\"udp\",\"client\":");
    jb_jstr(o, ss_fmt_endpoint(&cv->addr[0], cv->port[0], a, sizeof(a)));
    JB_LIT(o, ",\"server\":");
    jb_jstr(o, ss_fmt_endpoint(&cv->addr[1], cv->port[1], b, sizeof(b)));
    json_secs(o, "start", start - cv->run_t0_ns);
    json_secs(o, "duration", last - start);
    JB_LIT(o, ",\"frames_c2s\":");
    jb_u(o, cv->frames[0]);
    JB_LIT(o, ",\"bytes_c2s\":");
    jb_u(o, cv->bytes[0]);
    JB_LIT(o, ",\"frames_s2c\":");
    jb_u(o, cv->frames[1]);
    JB_LIT(o, ",\"bytes_s2c\":");
    jb_u(o, cv->bytes[1]);
    JB_LIT(o, ",\"payload_c2s\":");
    jb_u(o, cv->payload[0]);
    JB_LIT(o, ",\"payload_s2c\":");
    jb_u(o, cv->payload[1]);
    if (t) {
        ss_close_t cl = ss_conv_close(t);
        JB_LIT(o, ",\"handshake\":\"");
        jb_str(o, ss_handshake_name(ss_conv_handshake(t)));
        jb_ch(o, '"');
        if (t->has_irtt)
            json_secs(o, "irtt", t->irtt_ns);
        else
            JB_LIT(o, ",\"irtt\":null");
        JB_LIT(o, ",\"close\":\"");
        jb_str(o, ss_close_name(cl));
        jb_ch(o, '"');
        int first = t->first_fin >= 0 ? t->first_fin : t->first_rst;
        JB_LIT(o, ",\"closed_first_by\":");
        if (cl == SS_CLOSE_OPEN || first < 0)
            JB_LIT(o, "null");
        else
            json_end_name(o, first);
        if (t->first_rst >= 0) {
            JB_LIT(o, ",\"rst_by\":");
            json_end_name(o, t->first_rst);
            JB_LIT(o, ",\"rst_in_state\":\"");
            jb_str(o, ss_tcp_state_name(t->rst_state));
            jb_ch(o, '"');
        }
        JB_LIT(o, ",\"half_close\":");
        jb_bool(o, t->half_close);
        if (t->fin_style) {
            JB_LIT(o, ",\"fin_exchange\":\"");
            jb_str(o, ss_fin_style_name(t->fin_style));
            jb_ch(o, '"');
        }
        JB_LIT(o, ",\"simultaneous_open\":");
        jb_bool(o, t->simultaneous_open);
        JB_LIT(o, ",\"isn\":{\"client\":");
        json_opt_u(o, t->isn_known[0], t->isn[0]);
        JB_LIT(o, ",\"server\":");
        json_opt_u(o, t->isn_known[1], t->isn[1]);
        jb_ch(o, '}');
        JB_LIT(o, ",\"state\":");
        json_states(o, t->state[0], t->state[1]);
        JB_LIT(o, ",\"history\":");
        jb_jstr(o, t->history ? t->history : "");
        JB_LIT(o, ",\"options\":{");
        for (int d = 0; d < 2; d++) {
            if (d)
                jb_ch(o, ',');
            json_end_name(o, d);
            JB_LIT(o, ":{\"mss\":");
            json_opt_u(o, t->mss[d] != 0, t->mss[d]);
            JB_LIT(o, ",\"wscale\":");
            json_opt_u(o, t->wscale[d] >= 0, (uint64_t)(t->wscale[d] >= 0 ? t->wscale[d] : 0));
            JB_LIT(o, ",\"sack_perm\":");
            jb_bool(o, t->sack_perm[d]);
            JB_LIT(o, ",\"timestamps\":");
            jb_bool(o, t->timestamps[d]);
            jb_ch(o, '}');
        }
        JB_LIT(o, ",\"ecn\":");
        jb_bool(o, t->ecn_setup);
        jb_ch(o, '}');
        JB_LIT(o, ",\"syn_retransmissions\":");
        jb_u(o, t->syn_retrans[0]);
        JB_LIT(o, ",\"synack_retransmissions\":");
        jb_u(o, t->syn_retrans[1]);
        JB_LIT(o, ",\"analysis_counts\":{");
        int n = 0;
        for (int bit = 0; bit < SS_TA_COUNT; bit++) {
            if (!t->counts[bit])
                continue;
            if (n++)
                jb_ch(o, ',');
            jb_ch(o, '"');
            jb_str(o, ss_tcp_analysis_name(bit));
            JB_LIT(o, "\":");
            jb_u(o, t->counts[bit]);
        }
        jb_ch(o, '}');
        JB_LIT(o, ",\"rtt\":");
        if (t->rtt_samples) {
            int64_t avg = t->rtt_sum_ns / (int64_t)t->rtt_samples;
            JB_LIT(o, "{\"samples\":");
            jb_u(o, t->rtt_samples);
            json_secs(o, "min", t->rtt_min_ns);
            json_secs(o, "avg", avg);
            json_secs(o, "max", t->rtt_max_ns);
            jb_ch(o, '}');
        } else {
            JB_LIT(o, "null");
        }
        JB_LIT(o, ",\"max_bytes_in_flight\":");
        jb_u(o, t->max_bif);
        JB_LIT(o, ",\"completeness\":");
        jb_u(o, t->completeness);
    }
    if (cv->msgs) {
        JB_LIT(o, ",\"message_stats\":{\"c2s\":");
        json_msgsum(o, &cv->msgs[0]);
        JB_LIT(o, ",\"s2c\":");
        json_msgsum(o, &cv->msgs[1]);
        jb_ch(o, '}');
    }
    JB_LIT(o, "}\n");
}

/* The datagram an ICMP error refers to. */
static void json_quoted(jbuf_t *o, const ss_pkt_event_t *pe)
{
    const ss_quoted_t *q = &pe->pkt->quoted;
    if (q->proto == 6)
        JB_LIT(o, ",\"quoted\":{\"proto\":\"tcp\",\"src\":");
    else
        JB_LIT(o, ",\"quoted\":{\"proto\":\"udp\",\"src\":");
    jb_addr(o, &q->src);
    JB_LIT(o, ",\"dst\":");
    jb_addr(o, &q->dst);
    JB_LIT(o, ",\"sport\":");
    jb_u(o, q->sport);
    JB_LIT(o, ",\"dport\":");
    jb_u(o, q->dport);
    if (q->has_seq) {
        JB_LIT(o, ",\"seq_raw\":");
        jb_u(o, q->seq);
    }
    if (q->has_ack) {
        JB_LIT(o, ",\"ack_raw\":");
        jb_u(o, q->ack);
        JB_LIT(o, ",\"flags\":");
        json_names(o, q->flags, 9, tcp_flag_name);
    }
    if (pe->quoted_conv) {
        jb_ch(o, ',');
        json_stream_key(o, q->proto == 6 ? 6 : 17, pe->quoted_conv->index);
    }
    jb_ch(o, '}');
}

static void json_packet(jbuf_t *o, const ss_pkt_event_t *pe)
{
    const ss_packet_t *p = pe->pkt;
    const ss_frame_t *f = p->frame;
    char nb[40];

    JB_LIT(o, "{\"type\":\"packet\",\"frame\":");
    jb_u(o, f->number);
    JB_LIT(o, ",\"ts\":");
    jb_i(o, f->ts_sec);
    jb_ch(o, '.');
    jb_uw(o, f->ts_nsec, 9);
    JB_LIT(o, ",\"rel_ts\":");
    jb_secs(o, pe->rel_ns, 9);
    JB_LIT(o, ",\"frame_len\":");
    jb_u(o, f->wirelen);
    JB_LIT(o, ",\"caplen\":");
    jb_u(o, f->caplen);
    if (p->vlan_count) {
        JB_LIT(o, ",\"vlan\":[");
        jb_u(o, p->vlan_id[0]);
        if (p->vlan_count > 1) {
            jb_ch(o, ',');
            jb_u(o, p->vlan_id[1]);
        }
        jb_ch(o, ']');
    }
    if (p->l3 == SS_L3_IPV4 || p->l3 == SS_L3_IPV6) {
        JB_LIT(o, ",\"src\":");
        jb_addr(o, &p->src);
        JB_LIT(o, ",\"dst\":");
        jb_addr(o, &p->dst);
        if (p->l3 == SS_L3_IPV4)
            JB_LIT(o, ",\"ip_version\":4");
        else
            JB_LIT(o, ",\"ip_version\":6");
    }
    JB_LIT(o, ",\"proto\":");
    jb_jstr(o, ss_decode_proto_name(p, nb, sizeof(nb)));
    if ((p->l4 == SS_L4_TCP || p->l4 == SS_L4_UDP) && p->ports_valid) {
        JB_LIT(o, ",\"sport\":");
        jb_u(o, p->l4 == SS_L4_TCP ? p->tcp.sport : p->udp.sport);
        JB_LIT(o, ",\"dport\":");
        jb_u(o, p->l4 == SS_L4_TCP ? p->tcp.dport : p->udp.dport);
    }
    if (pe->conv) {
        jb_ch(o, ',');
        json_stream_key(o, pe->conv->proto, pe->conv->index);
        JB_LIT(o, ",\"dir\":");
        json_dir(o, pe->dir);
    }
    if (p->l4 == SS_L4_TCP && p->ports_valid && (pe->tcp || p->payload_off)) {
        const ss_tcp_hdr_t *th = &p->tcp;
        ss_tcp_result_t raw = {.rel_seq = th->seq, .rel_ack = th->ack, .win = th->win};
        const ss_tcp_result_t *r = pe->tcp ? pe->tcp : &raw;
        JB_LIT(o, ",\"flags\":");
        json_names(o, th->flags, 9, tcp_flag_name);
        JB_LIT(o, ",\"seq\":");
        jb_u(o, r->rel_seq);
        JB_LIT(o, ",\"ack\":");
        jb_u(o, r->rel_ack);
        JB_LIT(o, ",\"seq_raw\":");
        jb_u(o, th->seq);
        JB_LIT(o, ",\"ack_raw\":");
        jb_u(o, th->ack);
        JB_LIT(o, ",\"len\":");
        jb_u(o, p->payload_len);
        JB_LIT(o, ",\"win\":");
        jb_u(o, r->win);
        JB_LIT(o, ",\"win_raw\":");
        jb_u(o, th->win);
        if (r->win_scale >= 0) {
            JB_LIT(o, ",\"win_scale\":");
            jb_i(o, r->win_scale);
        } else if (r->win_scale == SS_WSCALE_NONE) {
            JB_LIT(o, ",\"win_scale\":\"none\"");
        } else {
            JB_LIT(o, ",\"win_scale\":\"unknown\"");
        }
        JB_LIT(o, ",\"hdr_len\":");
        jb_u(o, th->doff * 4u);
        JB_LIT(o, ",\"urg_ptr\":");
        jb_u(o, th->urp);
        JB_LIT(o, ",\"analyzed\":");
        jb_bool(o, pe->tcp && pe->tcp->analyzed);
        JB_LIT(o, ",\"options\":");
        json_options(o, &th->opts);
        if (pe->tcp && pe->tcp->analyzed)
            json_tcp_analysis(o, pe);
        if (pe->msgs && !pe->msgs->udp) {
            const ss_seg_msgs_t *g = pe->msgs;
            JB_LIT(o, ",\"messages\":[");
            for (uint64_t i = 0; i < g->count; i++) {
                if (i)
                    jb_ch(o, ',');
                jb_u(o, g->first + i);
            }
            JB_LIT(o, "],\"coalesced\":");
            jb_bool(o, g->coalesced);
            if (g->buffered)
                JB_LIT(o, ",\"reassembly\":\"buffered\"");
            if (g->overlap) {
                JB_LIT(o, ",\"overlap\":");
                jb_u(o, g->overlap);
                JB_LIT(o, ",\"overlap_differs\":");
                jb_bool(o, g->differs);
            }
        }
    } else if (p->l4 == SS_L4_UDP && p->ports_valid) {
        JB_LIT(o, ",\"len\":");
        jb_u(o, p->payload_len);
        JB_LIT(o, ",\"udp_len\":");
        jb_u(o, p->udp.len);
        if (pe->msgs && pe->msgs->udp) {
            JB_LIT(o, ",\"messages\":[");
            jb_u(o, pe->msgs->first);
            jb_ch(o, ']');
            if (pe->msgs->numbered) {
                JB_LIT(o, ",\"datagram_number\":");
                jb_u(o, pe->msgs->number);
                JB_LIT(o, ",\"missing_before\":");
                jb_u(o, pe->msgs->missing);
                JB_LIT(o, ",\"late\":");
                jb_bool(o, pe->msgs->late);
            }
        }
    } else if (p->l4 == SS_L4_ICMP || p->l4 == SS_L4_ICMPV6) {
        JB_LIT(o, ",\"icmp_type\":");
        jb_u(o, p->icmp_type);
        JB_LIT(o, ",\"icmp_code\":");
        jb_u(o, p->icmp_code);
        if (p->quoted.valid)
            json_quoted(o, pe);
    }
    if (p->flags & SS_PKT_FRAGMENT) {
        JB_LIT(o, ",\"fragment\":{\"offset\":");
        jb_u(o, p->frag_offset);
        JB_LIT(o, ",\"more\":");
        jb_bool(o, p->frag_more);
        jb_ch(o, '}');
    }
    if (p->flags & SS_PKT_TRUNCATED) {
        JB_LIT(o, ",\"truncated\":");
        jb_jstr(o, p->truncated_in ? p->truncated_in : "");
    } else if (p->flags & SS_PKT_SHORT_DATA) {
        JB_LIT(o, ",\"payload_captured\":");
        jb_u(o, p->payload_caplen);
    }
    if (p->flags & SS_PKT_INVALID) {
        JB_LIT(o, ",\"malformed\":");
        jb_jstr(o, ss_decode_problem_str(p->problem));
    }
    if (pe->csum) {
        JB_LIT(o, ",\"checksum\":{");
        if (pe->csum->ip != SS_CSUM_NOT_CHECKED) {
            JB_LIT(o, "\"ip\":\"");
            jb_str(o, ss_csum_status_str(pe->csum->ip));
            jb_ch(o, '"');
        }
        if (pe->csum->l4 != SS_CSUM_NOT_CHECKED) {
            if (pe->csum->ip != SS_CSUM_NOT_CHECKED)
                jb_ch(o, ',');
            if (p->l4 == SS_L4_TCP)
                JB_LIT(o, "\"tcp\":\"");
            else
                JB_LIT(o, "\"udp\":\"");
            jb_str(o, ss_csum_status_str(pe->csum->l4));
            jb_ch(o, '"');
            if (pe->csum->l4 == SS_CSUM_BAD || pe->csum->l4 == SS_CSUM_OFFLOAD) {
                JB_LIT(o, ",\"expected\":");
                jb_u(o, pe->csum->l4_expected);
            }
        }
        jb_ch(o, '}');
    }
    JB_LIT(o, "}\n");
}

static int json_event(ss_sink_t *s, const ss_event_t *ev)
{
    json_sink_t *j = (json_sink_t *)s;
    if (ev->type == SS_EV_PACKET) {
        if (!j->packets)
            return 0;
        json_packet(&j->jb, ev->u.packet);
    } else if (ev->type == SS_EV_NOTICE) {
        JB_LIT(&j->jb, "{\"type\":\"notice\",\"text\":");
        jb_jstr(&j->jb, ev->u.notice);
        JB_LIT(&j->jb, "}\n");
    } else if (ev->type == SS_EV_CONVERSATION) {
        json_conversation(&j->jb, ev->u.conv);
    } else if (ev->type == SS_EV_MESSAGE) {
        if (!j->packets)
            return 0;
        json_message(&j->jb, ev->u.message);
    } else if (ev->type == SS_EV_RECV) {
        if (!j->packets)
            return 0;
        json_recv(&j->jb, ev->u.recv);
    } else {
        return 0;
    }
    jb_flush(&j->jb);
    if (j->line_flush)
        fflush(j->out);
    return ferror(j->out) ? SS_ERR_IO : 0;
}

static int json_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    json_sink_t *j = (json_sink_t *)s;
    fprintf(j->out, "{\"type\":\"capture\",\"schema\":%d,\"source\":", SS_JSON_SCHEMA_VERSION);
    ss_json_str(j->out, info->source_name ? info->source_name : "");
    fprintf(j->out, ",\"live\":%s,\"linktype\":%d}\n", info->live ? "true" : "false", info->linktype);
    return ferror(j->out) ? SS_ERR_IO : 0;
}

static int json_end(ss_sink_t *s, const ss_run_end_t *end)
{
    json_sink_t *j = (json_sink_t *)s;
    fprintf(j->out, "{\"type\":\"end\",\"frames\":%" PRIu64, end->frames);
    if (end->warning) {
        fputs(",\"warning\":", j->out);
        ss_json_str(j->out, end->warning);
    }
    if (end->stats_valid)
        fprintf(j->out, ",\"pcap_received\":%" PRIu64 ",\"pcap_dropped\":%" PRIu64
                        ",\"pcap_if_dropped\":%" PRIu64,
                end->pcap_received, end->pcap_dropped, end->pcap_if_dropped);
    fputs("}\n", j->out);
    return fflush(j->out) == 0 && !ferror(j->out) ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t json_ops = {json_begin, json_event, json_end, ss_sink_noop_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_json_create(FILE *out, bool line_flush, bool packets)
{
    json_sink_t *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->base.ops = &json_ops;
    j->out = out;
    j->jb.out = out;
    j->line_flush = line_flush;
    j->packets = packets;
    return &j->base;
}
