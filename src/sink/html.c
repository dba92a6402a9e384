/* html.c - the self-contained HTML report (--html): conversation table, ladder diagrams, time-sequence graphs, message views. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/grow.h"
#include "segscope/i18n.h"
#include "segscope/version.h"

/*
 * The pictures are drawn here, in C, as inline SVG: the page then shows
 * everything without JavaScript (printed, or in a viewer that runs no
 * scripts), tests can count arrows without a browser, and the file grows
 * only with what is drawn. The little script at the end only sorts the
 * table, switches the tabs and shows the details of what was clicked; the
 * tooltips are SVG <title> elements, so hovering works without it too.
 *
 * The sink sees each packet once, in capture order, but the page starts
 * with the conversation table, which is known only at the end: so it keeps
 * a compact record of each packet it will draw (copying what the event
 * borrows) and writes the whole document in `end`. What it keeps is capped
 * per conversation and in total; where a cap cut a view the page says so.
 */

#define MAX_NOTICES 50
#define MSGVIEW_MAX 300    /* messages per direction in a message view */
#define LINKS_PER_SEG 16   /* message links drawn from one segment */

enum { K_TCP = 0, K_TCP_RAW, K_UDP };

/* Severity of a marker, as Wireshark's expert levels (chat, note, warning), plus message markers. */
enum { SEV_NONE = 0, SEV_CHAT, SEV_MSG, SEV_NOTE, SEV_WARN };
static const char *const sev_class[] = {"", "sev-chat", "sev-msg", "sev-note", "sev-warn"};

typedef struct htrans {
    uint8_t end, from, to;
    bool inferred;
} htrans_t;

/* One packet as drawn: copies of what the event only borrowed. */
typedef struct hpkt {
    uint64_t frame;
    int64_t t_ns;            /* since the capture's first packet */
    uint32_t seq, ack, len, win; /* relative and scaled (raw for K_TCP_RAW) */
    uint32_t ta;             /* SS_TA(...) analysis flags */
    uint32_t pflags;         /* SS_PKT_* decode flags */
    uint16_t tcpf;
    uint8_t dir, kind;
    uint8_t st[2];           /* client and server state after the packet */
    uint8_t ntrans, nsack;
    bool has_msgs;
    htrans_t tr[SS_TCP_MAX_TRANSITIONS];
    uint32_t dup_num;
    uint64_t dup_of;
    uint32_t sack[SS_TCP_MAX_SACK][2];
    ss_seg_msgs_t m;
    char *why;               /* the --explain sentences, one per line; NULL when none */
} hpkt_t;

typedef struct hmsg {
    uint64_t index, off, len, last_frame;
    uint32_t nframes;
    uint8_t dir;
    bool complete;
} hmsg_t;

/* What is kept of one conversation for its pictures. */
typedef struct hconv {
    uint8_t proto;
    uint64_t index;
    hpkt_t *pkts;
    uint32_t npkts;
    size_t cappkts;
    uint64_t seen_pkts;      /* all its packets, kept or not */
    hmsg_t *msgs;
    uint32_t nmsgs;
    size_t capmsgs;
    uint64_t seen_msgs;
    bool cut_total;          /* the total budget ran out while it was going on */
    bool drawn;
} hconv_t;

/* Where a conversation's entry is, by conversation number (kept sorted, one array per protocol). */
typedef struct hkey {
    uint64_t index;
    size_t pos;
} hkey_t;

/* A conversation record, for the table (as the summary sink keeps it). */
typedef struct hrow {
    ss_conv_info_t info;
    ss_conv_tcp_t tcp;
    char history[48];
    bool is_tcp, has_msgs;
    ss_conv_msgs_t msgs[2];
} hrow_t;

typedef struct html_sink {
    ss_sink_t base;
    FILE *out;
    ss_html_opts_t opts;
    char *source;
    bool live;
    /* conversations with pictures, in order of their first packet */
    hconv_t *convs;
    size_t nconvs, capconvs;
    hkey_t *keys[2];         /* [0] TCP, [1] UDP */
    size_t nkeys[2], capkeys[2];
    uint64_t kept;           /* packets and messages kept, over all conversations */
    uint64_t other_pkts;     /* packets outside TCP/UDP conversations (ARP, ICMP, ...) */
    hrow_t *rows;
    size_t nrows, caprows;
    uint64_t rows_dropped;
    char *notices[MAX_NOTICES];
    size_t nnotices;
    uint64_t notices_dropped;
    /* the --explain sentences are written here, then copied */
    FILE *why;
    char *whybuf;
    size_t whylen;
} html_sink_t;

/* ---- small writers -------------------------------------------------------- */

/* Writes `s` with the five characters HTML gives meaning to escaped. */
static void esc(FILE *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc(*s, o);
        }
    }
}

static void escf(FILE *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escf(FILE *o, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    esc(o, buf);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Square root by Newton's method (the library stays free of libm). */
static double sqrt_pos(double x)
{
    if (x <= 0)
        return 0;
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 60; i++)
        r = 0.5 * (r + x / r);
    return r;
}

/* 1 + floor(log2(v)) for v > 0: the bit length. */
static int bitlen(uint64_t v)
{
    int n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

/* "0.050309 s" style times and "12.5 ms" durations. */
static const char *fmt_dur(int64_t ns, char *buf, size_t n)
{
    double ms = (double)(ns < 0 ? -ns : ns) / 1e6;
    if (ms >= 1000.0)
        snprintf(buf, n, "%.3f s", ms / 1000.0);
    else if (ms >= 10.0)
        snprintf(buf, n, "%.1f ms", ms);
    else
        snprintf(buf, n, "%.3f ms", ms);
    return buf;
}

/* ---- what a packet says --------------------------------------------------- */

/* Short names for the ladder and full ones (Wireshark's) for the tooltips; translated when shown. */
static const char *const ta_short[SS_TA_COUNT] = {
    [SS_TA_BIT_RETRANSMISSION] = N_("Retransmission"),
    [SS_TA_BIT_FAST_RETRANSMISSION] = N_("Fast retransmission"),
    [SS_TA_BIT_SPURIOUS_RETRANSMISSION] = N_("Spurious retransmission"),
    [SS_TA_BIT_OUT_OF_ORDER] = N_("Out-of-order"),
    [SS_TA_BIT_LOST_SEGMENT] = N_("Previous segment not captured"),
    [SS_TA_BIT_ACK_LOST_SEGMENT] = N_("ACKed unseen segment"),
    [SS_TA_BIT_DUPLICATE_ACK] = N_("Dup ACK"),
    [SS_TA_BIT_ZERO_WINDOW] = N_("Zero window"),
    [SS_TA_BIT_ZERO_WINDOW_PROBE] = N_("Zero-window probe"),
    [SS_TA_BIT_ZERO_WINDOW_PROBE_ACK] = N_("Zero-window probe ACK"),
    [SS_TA_BIT_WINDOW_FULL] = N_("Window full"),
    [SS_TA_BIT_WINDOW_UPDATE] = N_("Window update"),
    [SS_TA_BIT_KEEP_ALIVE] = N_("Keep-alive"),
    [SS_TA_BIT_KEEP_ALIVE_ACK] = N_("Keep-alive ACK"),
    [SS_TA_BIT_REUSED_PORTS] = N_("Port numbers reused"),
};

/* CSS class of each flag: what tests and style sheets look for. */
static const char *const ta_class[SS_TA_COUNT] = {
    [SS_TA_BIT_RETRANSMISSION] = "retrans",
    [SS_TA_BIT_FAST_RETRANSMISSION] = "fastretrans",
    [SS_TA_BIT_SPURIOUS_RETRANSMISSION] = "spurious",
    [SS_TA_BIT_OUT_OF_ORDER] = "ooo",
    [SS_TA_BIT_LOST_SEGMENT] = "lost",
    [SS_TA_BIT_ACK_LOST_SEGMENT] = "ackunseen",
    [SS_TA_BIT_DUPLICATE_ACK] = "dupack",
    [SS_TA_BIT_ZERO_WINDOW] = "zerowin",
    [SS_TA_BIT_ZERO_WINDOW_PROBE] = "zwprobe",
    [SS_TA_BIT_ZERO_WINDOW_PROBE_ACK] = "zwprobeack",
    [SS_TA_BIT_WINDOW_FULL] = "winfull",
    [SS_TA_BIT_WINDOW_UPDATE] = "winupdate",
    [SS_TA_BIT_KEEP_ALIVE] = "keepalive",
    [SS_TA_BIT_KEEP_ALIVE_ACK] = "keepaliveack",
    [SS_TA_BIT_REUSED_PORTS] = "reused",
};

/* Wireshark's expert level of each flag. */
static int ta_sev(int bit)
{
    switch (bit) {
    case SS_TA_BIT_OUT_OF_ORDER:
    case SS_TA_BIT_LOST_SEGMENT:
    case SS_TA_BIT_ACK_LOST_SEGMENT:
    case SS_TA_BIT_ZERO_WINDOW:
    case SS_TA_BIT_WINDOW_FULL:
        return SEV_WARN;
    case SS_TA_BIT_WINDOW_UPDATE:
        return SEV_CHAT;
    default:
        return SEV_NOTE;
    }
}


#define TA_REXMIT (SS_TA(RETRANSMISSION) | SS_TA(FAST_RETRANSMISSION) | SS_TA(SPURIOUS_RETRANSMISSION))

typedef struct marker {
    char text[80];
    int sev;
} marker_t;

#define MAX_MARKERS 12

/* The markers of a packet, in Wireshark's order, then the message markers. */
static int pkt_markers(const hpkt_t *p, marker_t *mk)
{
    int n = 0;
    if (p->kind == K_TCP) {
        for (size_t i = 0; i < SS_TA_MARKER_SLOTS && n < MAX_MARKERS; i++) {
            int bit = ss_ta_marker_bit(i, p->ta);
            if (bit < 0)
                continue;
            if (bit == SS_TA_BIT_DUPLICATE_ACK)
                snprintf(mk[n].text, sizeof(mk[n].text), _("Dup ACK #%" PRIu32 " of frame %" PRIu64), p->dup_num,
                         p->dup_of);
            else
                snprintf(mk[n].text, sizeof(mk[n].text), "%s", _(ta_short[bit]));
            mk[n++].sev = ta_sev(bit);
        }
    }
    if (p->has_msgs) {
        const ss_seg_msgs_t *g = &p->m;
        if (g->udp) {
            if (g->numbered && g->missing && n < MAX_MARKERS) {
                snprintf(mk[n].text, sizeof(mk[n].text),
                         P_("%" PRIu32 " datagram never seen", "%" PRIu32 " datagrams never seen", g->missing),
                         g->missing);
                mk[n++].sev = SEV_WARN;
            }
            if (g->numbered && g->late && n < MAX_MARKERS) {
                snprintf(mk[n].text, sizeof(mk[n].text), "%s", _("Datagram late"));
                mk[n++].sev = SEV_NOTE;
            }
        } else {
            if (g->coalesced && n < MAX_MARKERS) {
                snprintf(mk[n].text, sizeof(mk[n].text), _("Coalesced: %" PRIu32 " msgs #%" PRIu64 "\u2013#%" PRIu64),
                         g->count, g->first, g->last);
                mk[n++].sev = SEV_MSG;
            }
            if (g->cont && n < MAX_MARKERS) {
                if (g->cont_done)
                    snprintf(mk[n].text, sizeof(mk[n].text), _("Split msg #%" PRIu64 ": %" PRIu32 "/%" PRIu32), g->first,
                             g->cont_part, g->cont_part);
                else
                    snprintf(mk[n].text, sizeof(mk[n].text), _("Split msg #%" PRIu64 ": %" PRIu32 "/\u2026"), g->first,
                             g->cont_part);
                mk[n++].sev = SEV_MSG;
            }
            if (g->open_end && !(g->cont && g->count == 1) && n < MAX_MARKERS) {
                snprintf(mk[n].text, sizeof(mk[n].text), _("Split msg #%" PRIu64 ": 1/\u2026"), g->last);
                mk[n++].sev = SEV_MSG;
            }
        }
    }
    if ((p->pflags & (SS_PKT_TRUNCATED | SS_PKT_SHORT_DATA)) && n < MAX_MARKERS) {
        snprintf(mk[n].text, sizeof(mk[n].text), "%s", _("Truncated by the capture"));
        mk[n++].sev = SEV_NOTE;
    }
    if ((p->pflags & SS_PKT_INVALID) && n < MAX_MARKERS) {
        snprintf(mk[n].text, sizeof(mk[n].text), "%s", _("Malformed"));
        mk[n++].sev = SEV_WARN;
    }
    return n;
}

/* The arrow label: tcpdump's flags, then relative seq, ack and length. */
static void pkt_label(const hpkt_t *p, char *buf, size_t n)
{
    if (p->kind == K_UDP) {
        size_t k = (size_t)snprintf(buf, n, "UDP len %" PRIu32, p->len);
        if (p->has_msgs && p->m.udp && p->m.numbered && k < n)
            snprintf(buf + k, n - k, " #%" PRIu32, p->m.number);
        return;
    }
    char fb[16];
    ss_fmt_tcp_flags(p->tcpf, fb, sizeof(fb));
    size_t k = (size_t)snprintf(buf, n, "[%s] seq %" PRIu32, fb, p->seq);
    if ((p->tcpf & SS_TCP_ACK) && k < n)
        k += (size_t)snprintf(buf + k, n - k, " ack %" PRIu32, p->ack);
    if (p->len && k < n)
        k += (size_t)snprintf(buf + k, n - k, " len %" PRIu32, p->len);
    if (p->win == 0 && !(p->tcpf & SS_TCP_RST) && k < n)
        k += (size_t)snprintf(buf + k, n - k, " win 0");
    if (p->kind == K_TCP_RAW && k < n)
        snprintf(buf + k, n - k, " (raw)");
}

/* The arrow's CSS classes: kind, direction, each flag, and the highest severity. */
static int pkt_classes(const hpkt_t *p, const marker_t *mk, int nmk, char *buf, size_t n)
{
    size_t k = 0;
    int sev = SEV_NONE;
#define ADD(s) (k += (k < n ? (size_t)snprintf(buf + k, n - k, " %s", (s)) : 0))
    ADD(p->dir == SS_DIR_C2S ? "c2s" : "s2c");
    if (p->kind == K_UDP) {
        ADD("udp");
    } else {
        if (p->tcpf & SS_TCP_SYN)
            ADD("syn");
        if (p->tcpf & SS_TCP_FIN)
            ADD("fin");
        if (p->tcpf & SS_TCP_RST)
            ADD("rst");
        if (!(p->tcpf & (SS_TCP_SYN | SS_TCP_FIN | SS_TCP_RST)))
            ADD(p->len ? "data" : "ack");
        /* The handshake's last ACK: the client's first ACK while its state became ESTABLISHED. */
        for (int i = 0; i < p->ntrans; i++)
            if (p->tr[i].end == p->dir && !p->tr[i].inferred && p->tr[i].to == SS_TCP_ST_ESTABLISHED &&
                (p->tr[i].from == SS_TCP_ST_SYN_SENT || p->tr[i].from == SS_TCP_ST_SYN_RCVD))
                ADD("hs");
        if (p->kind == K_TCP) {
            if (p->ta & TA_REXMIT)
                ADD("retrans");
            for (int bit = 0; bit < SS_TA_COUNT; bit++)
                if ((p->ta & (1u << bit)) && bit != SS_TA_BIT_RETRANSMISSION)
                    ADD(ta_class[bit]);
        }
    }
    if (p->has_msgs && !p->m.udp) {
        if (p->m.coalesced)
            ADD("coalesced");
        if (p->m.cont || (p->m.open_end && !(p->m.cont && p->m.count == 1)))
            ADD("split");
    }
    for (int i = 0; i < nmk; i++)
        if (mk[i].sev > sev)
            sev = mk[i].sev;
    if (sev)
        ADD(sev_class[sev]);
#undef ADD
    return sev;
}

/* The tooltip of a packet: everything the timeline and --explain say about it. */
static void pkt_title(FILE *o, const hconv_t *c, const hpkt_t *p, const char *label, const marker_t *mk, int nmk)
{
    char tb[40];
    fputs("<title>", o);
    escf(o, _("Frame %" PRIu64 " at %s s, %s\n%s"), p->frame, ss_fmt_secs(p->t_ns, 6, tb, sizeof(tb)),
         p->dir == SS_DIR_C2S ? _("client \u2192 server") : _("server \u2192 client"), label);
    if (p->kind == K_TCP)
        escf(o, " win %" PRIu32, p->win);
    if (p->kind == K_TCP && p->nsack) {
        fputs(" SACK", o);
        for (int i = 0; i < p->nsack; i++)
            escf(o, " %" PRIu32 "\u2013%" PRIu32, p->sack[i][0], p->sack[i][1]);
    }
    for (int i = 0; i < nmk; i++)
        escf(o, "\n[%s]", mk[i].text);
    for (int i = 0; i < p->ntrans; i++)
        escf(o, "\n%s %s \u2192 %s%s", p->tr[i].end == SS_DIR_C2S ? _("client") : _("server"),
             ss_tcp_state_name((ss_tcp_state_t)p->tr[i].from), ss_tcp_state_name((ss_tcp_state_t)p->tr[i].to),
             p->tr[i].inferred ? _(" (inferred: the capture cannot see the receiver)") : "");
    if (p->has_msgs && !p->m.udp && p->m.count > 1)
        escf(o, _("\ncarries bytes of messages #%" PRIu64 "\u2013#%" PRIu64), p->m.first, p->m.last);
    else if (p->has_msgs && !p->m.udp && p->m.count)
        escf(o, _("\ncarries bytes of message #%" PRIu64), p->m.first);
    if (p->why) {
        fputc('\n', o);
        esc(o, p->why);
    }
    (void)c;
    fputs("</title>", o);
}

/* ---- collecting ----------------------------------------------------------- */

static uint32_t conv_cap(const html_sink_t *h) { return h->opts.max_conv_elements; }

static bool budget_left(const html_sink_t *h) { return h->kept < h->opts.max_elements; }

/* The conversation's entry, made on its first packet while the budget lasts; NULL otherwise. */
static hconv_t *find_conv(html_sink_t *h, const ss_conv_info_t *ci, bool create, int *err)
{
    int pi = ci->proto == 6 ? 0 : 1;
    hkey_t *k = h->keys[pi];
    size_t lo = 0, hi = h->nkeys[pi];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k[mid].index < ci->index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->nkeys[pi] && k[lo].index == ci->index)
        return &h->convs[k[lo].pos];
    if (!create || !budget_left(h) || h->nconvs >= h->opts.max_rows)
        return NULL;
    hconv_t *nc = ss_grow(h->convs, h->nconvs, &h->capconvs, sizeof(*nc), 16);
    if (nc)
        h->convs = nc;
    hkey_t *nk = nc ? ss_grow(h->keys[pi], h->nkeys[pi], &h->capkeys[pi], sizeof(*nk), 16) : NULL;
    if (!nk) {
        *err = SS_ERR_NOMEM;
        return NULL;
    }
    h->keys[pi] = k = nk;
    /* Numbers come in order of first packet, so this is almost always an append. */
    memmove(&k[lo + 1], &k[lo], (h->nkeys[pi] - lo) * sizeof(*k));
    k[lo].index = ci->index;
    k[lo].pos = h->nconvs;
    h->nkeys[pi]++;
    hconv_t *c = &h->convs[h->nconvs++];
    memset(c, 0, sizeof(*c));
    c->proto = ci->proto;
    c->index = ci->index;
    return c;
}

/* Runs --explain's sentences for the packet into a string: lines without their indentation and arrow. */
static int capture_why(html_sink_t *h, const ss_pkt_event_t *pe, char **out)
{
    *out = NULL;
    if (!h->why) {
        h->why = open_memstream(&h->whybuf, &h->whylen);
        if (!h->why)
            return SS_ERR_NOMEM;
    }
    rewind(h->why);
    if (pe->tcp)
        ss_explain_packet(h->why, pe, false);
    else
        ss_explain_udp(h->why, pe, false);
    long end = ftell(h->why);
    fflush(h->why);
    if (end <= 0)
        return 0;
    size_t n = (size_t)end;
    char *s = malloc(n + 1);
    if (!s)
        return SS_ERR_NOMEM;
    /* Each line is "<indent>↳ sentence\n". */
    size_t k = 0;
    const char *p = h->whybuf, *stop = h->whybuf + n;
    while (p < stop) {
        const char *nl = memchr(p, '\n', (size_t)(stop - p));
        const char *e = nl ? nl : stop;
        while (p < e && *p == ' ')
            p++;
        if (e - p >= 4 && memcmp(p, "\u21b3 ", 4) == 0)
            p += 4;
        if (k)
            s[k++] = '\n';
        memcpy(s + k, p, (size_t)(e - p));
        k += (size_t)(e - p);
        p = nl ? nl + 1 : stop;
    }
    s[k] = '\0';
    if (k == 0) {
        free(s);
        return 0;
    }
    *out = s;
    return 0;
}

/*
 * Whether one more packet or message of `c` is kept: within the report's
 * budget (when it is spent, `c` is marked as cut) and `c`'s own share.
 */
static bool room_for_one_more(html_sink_t *h, hconv_t *c)
{
    if (!budget_left(h)) {
        c->cut_total = true;
        return false;
    }
    return c->npkts + c->nmsgs < conv_cap(h);
}

static int keep_packet(html_sink_t *h, const ss_pkt_event_t *pe)
{
    int err = 0;
    hconv_t *c = find_conv(h, pe->conv, true, &err);
    if (!c)
        return err;
    c->seen_pkts++;
    if (!room_for_one_more(h, c))
        return 0;
    hpkt_t *np = ss_grow(c->pkts, c->npkts, &c->cappkts, sizeof(*np), 32);
    if (!np)
        return SS_ERR_NOMEM;
    c->pkts = np;
    const ss_packet_t *pk = pe->pkt;
    hpkt_t *p = &c->pkts[c->npkts];
    memset(p, 0, sizeof(*p));
    p->frame = pk->frame->number;
    p->t_ns = pe->rel_ns;
    p->dir = (uint8_t)pe->dir;
    p->pflags = pk->flags;
    p->len = pk->payload_len;
    p->st[0] = p->st[1] = SS_TCP_ST_UNKNOWN;
    if (pk->l4 == SS_L4_TCP) {
        p->tcpf = pk->tcp.flags;
        if (pe->tcp && pe->tcp->analyzed) {
            const ss_tcp_result_t *r = pe->tcp;
            p->kind = K_TCP;
            p->seq = r->rel_seq;
            p->ack = r->rel_ack;
            p->win = r->win;
            p->ta = r->flags;
            p->dup_num = r->dup_ack_num;
            p->dup_of = r->dup_ack_of;
            p->nsack = r->nsack > SS_TCP_MAX_SACK ? SS_TCP_MAX_SACK : r->nsack;
            memcpy(p->sack, r->sack, sizeof(p->sack));
            p->ntrans = (uint8_t)(r->ntrans > SS_TCP_MAX_TRANSITIONS ? SS_TCP_MAX_TRANSITIONS : r->ntrans);
            for (int i = 0; i < p->ntrans; i++) {
                p->tr[i].end = (uint8_t)r->trans[i].end;
                p->tr[i].from = (uint8_t)r->trans[i].from;
                p->tr[i].to = (uint8_t)r->trans[i].to;
                p->tr[i].inferred = r->trans[i].inferred;
            }
        } else {
            p->kind = K_TCP_RAW;
            p->seq = pk->tcp.seq;
            p->ack = pk->tcp.ack;
            p->win = pk->tcp.win;
        }
        if (pe->conv_tcp) {
            p->st[0] = (uint8_t)pe->conv_tcp->state[SS_DIR_C2S];
            p->st[1] = (uint8_t)pe->conv_tcp->state[SS_DIR_S2C];
        }
    } else {
        p->kind = K_UDP;
    }
    if (pe->msgs) {
        p->has_msgs = true;
        p->m = *pe->msgs;
    }
    if ((p->kind == K_TCP) || (p->kind == K_UDP && pe->msgs && pe->msgs->udp)) {
        int rc = capture_why(h, pe, &p->why);
        if (rc < 0)
            return rc;
    }
    c->npkts++;
    h->kept++;
    return 0;
}

static int keep_message(html_sink_t *h, const ss_msg_event_t *me)
{
    int err = 0;
    hconv_t *c = find_conv(h, me->conv, false, &err);
    if (!c)
        return 0;
    c->seen_msgs++;
    if (!room_for_one_more(h, c))
        return 0;
    hmsg_t *nm = ss_grow(c->msgs, c->nmsgs, &c->capmsgs, sizeof(*nm), 32);
    if (!nm)
        return SS_ERR_NOMEM;
    c->msgs = nm;
    const ss_message_t *m = me->msg;
    hmsg_t *k = &c->msgs[c->nmsgs++];
    k->index = m->index;
    k->off = m->off;
    k->len = m->len;
    k->last_frame = m->last_frame;
    k->nframes = m->nframes;
    k->dir = (uint8_t)me->dir;
    k->complete = m->complete;
    h->kept++;
    return 0;
}

static int keep_row(html_sink_t *h, const ss_conv_info_t *ci)
{
    if (h->nrows >= h->opts.max_rows) {
        h->rows_dropped++;
        return 0;
    }
    hrow_t *nr = ss_grow(h->rows, h->nrows, &h->caprows, sizeof(*nr), 16);
    if (!nr)
        return SS_ERR_NOMEM;
    h->rows = nr;
    hrow_t *r = &h->rows[h->nrows++];
    memset(r, 0, sizeof(*r));
    r->info = *ci;
    if (ci->tcp) {
        r->is_tcp = true;
        r->tcp = *ci->tcp;
        snprintf(r->history, sizeof(r->history), "%s", r->tcp.history ? r->tcp.history : "");
        r->tcp.history = NULL;
    }
    if (ci->msgs) {
        r->has_msgs = true;
        r->msgs[0] = ci->msgs[0];
        r->msgs[1] = ci->msgs[1];
    }
    r->info.tcp = NULL;
    r->info.msgs = NULL;
    return 0;
}

static int html_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    html_sink_t *h = (html_sink_t *)s;
    free(h->source);
    h->source = dupstr(info->source_name ? info->source_name : "");
    h->live = info->live;
    return h->source ? 0 : SS_ERR_NOMEM;
}

static int html_event(ss_sink_t *s, const ss_event_t *ev)
{
    html_sink_t *h = (html_sink_t *)s;
    switch (ev->type) {
    case SS_EV_PACKET:
        if (!ev->u.packet->conv) {
            h->other_pkts++;
            return 0;
        }
        return keep_packet(h, ev->u.packet);
    case SS_EV_MESSAGE:
        return keep_message(h, ev->u.message);
    case SS_EV_CONVERSATION:
        return keep_row(h, ev->u.conv);
    case SS_EV_NOTICE:
        if (h->nnotices < MAX_NOTICES) {
            char *n = dupstr(ev->notice_local ? ev->notice_local : ev->u.notice);
            if (!n)
                return SS_ERR_NOMEM;
            h->notices[h->nnotices++] = n;
        } else {
            h->notices_dropped++;
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- the page ------------------------------------------------------------- */

static const char css[] =
    ":root{--warn:#d32f2f;--note:#e65100;--chat:#1565c0;--msg:#7b1fa2;--hs:#2e7d32;--fin:#00838f;"
    "--rst:#b71c1c;--data:#263238;--ack:#78909c;--ink:#1a1a1a;--mute:#5f6b73;--rule:#d7dde1}\n"
    "*{box-sizing:border-box}\n"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:var(--ink);"
    "margin:0;padding:0 24px 120px;background:#fafbfc}\n"
    "h1{font-size:26px;margin:18px 0 2px}h2{font-size:20px;margin:0 0 6px}h3{font-size:16px;margin:14px 0 6px}\n"
    ".src{color:var(--mute);margin:0 0 12px}.src b{color:var(--ink)}\n"
    "code,.mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:13px}\n"
    ".box{background:#fff;border:1px solid var(--rule);border-radius:8px;padding:14px 16px;margin:14px 0}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:14px;align-items:center}\n"
    ".legend span{display:inline-flex;align-items:center;gap:6px}\n"
    ".legend svg{flex:none}\n"
    ".note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:8px 0;font-size:14px}\n"
    ".notices li{color:#8d6e00}\n"
    "table.convs{border-collapse:collapse;font-size:14px;width:100%}\n"
    ".convs th,.convs td{padding:4px 8px;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top;"
    "white-space:nowrap}\n"
    ".convs th{background:#eef2f5;cursor:pointer;user-select:none;position:sticky;top:0}\n"
    ".convs th[aria-sort=ascending]::after{content:' \\25B2'}.convs th[aria-sort=descending]::after{content:' \\25BC'}\n"
    ".convs td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".convs tr:hover td{background:#f3f7fb}\n"
    ".bad{color:var(--warn);font-weight:600}.meh{color:var(--note);font-weight:600}\n"
    ".scroll{overflow-x:auto}\n"
    "details.conv{background:#fff;border:1px solid var(--rule);border-radius:8px;margin:18px 0;padding:0 16px 14px}\n"
    "details.conv>summary{cursor:pointer;padding:12px 0 6px;list-style-position:outside}\n"
    "details.conv>summary h2{display:inline}\n"
    ".facts{color:var(--mute);margin:2px 0 8px}\n"
    ".tabs{display:none;gap:4px;margin:8px 0}.js .tabs{display:flex}\n"
    ".tabs button{font:inherit;border:1px solid var(--rule);background:#eef2f5;border-radius:6px 6px 0 0;"
    "padding:5px 14px;cursor:pointer}\n"
    ".tabs button.on{background:#fff;border-bottom-color:#fff;font-weight:600}\n"
    ".panel h3{margin-top:10px}.js .panel h3.tabbed{display:none}\n"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "svg .mono,svg .lbl{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}\n"
    "svg.ladder,svg.tsg,svg.msgv{display:block;max-width:none}\n"
    ".ladder .head{font-size:15px;font-weight:700}.ladder .sub{font-size:12px;fill:var(--mute)}\n"
    ".ladder .fr{font-size:12px;font-weight:700;fill:var(--ink)}.ladder .tm{font-size:11px;fill:var(--mute)}\n"
    ".ladder .lbl{font-size:13px;fill:var(--ink);paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}\n"
    ".ladder .mk{font-size:13px;font-weight:600}\n"
    ".ladder .st{font-size:12px;font-weight:600}.ladder .st.inf{font-style:italic;font-weight:400;fill:var(--mute)}\n"
    ".pkt line{stroke:var(--data);stroke-width:2}.pkt .hd{fill:var(--data)}\n"
    ".pkt.ack line{stroke:var(--ack);stroke-width:1.5}.pkt.ack .hd{fill:var(--ack)}\n"
    ".pkt.syn line,.pkt.hs line{stroke:var(--hs)}.pkt.syn .hd,.pkt.hs .hd{fill:var(--hs)}\n"
    ".pkt.fin line{stroke:var(--fin)}.pkt.fin .hd{fill:var(--fin)}\n"
    ".pkt.rst line{stroke:var(--rst);stroke-width:3}.pkt.rst .hd{fill:var(--rst)}\n"
    ".pkt.udp line{stroke:#5d4037}.pkt.udp .hd{fill:#5d4037}\n"
    ".pkt.sev-msg line{stroke:var(--msg)}.pkt.sev-msg .hd{fill:var(--msg)}\n"
    ".pkt.sev-chat line{stroke:var(--chat)}.pkt.sev-chat .hd{fill:var(--chat)}\n"
    ".pkt.sev-note line{stroke:var(--note);stroke-width:2.5}.pkt.sev-note .hd{fill:var(--note)}\n"
    ".pkt.sev-warn line{stroke:var(--warn);stroke-width:2.5}.pkt.sev-warn .hd{fill:var(--warn)}\n"
    ".pkt.retrans line,.pkt.ooo line{stroke-dasharray:9 5}\n"
    ".mk.sev-warn{fill:var(--warn)}.mk.sev-note{fill:var(--note)}.mk.sev-chat{fill:var(--chat)}.mk.sev-msg{fill:var(--msg)}\n"
    ".pkt .hit{fill:transparent}.pkt:hover .hit{fill:#f1f6fb}.sel .hit,.pkt.sel:hover .hit{fill:#fff3c4}\n"
    "[data-f]{cursor:pointer}\n"
    ".tsg .ax{stroke:#90a4ae;stroke-width:1}.tsg .grid{stroke:#eceff1;stroke-width:1}\n"
    ".tsg text{font-size:12px;fill:#37474f}.tsg .axt{font-size:13px;font-weight:600}\n"
    ".tsg .seg{stroke:var(--data);stroke-width:2;fill:none}.tsg .seg.retrans{stroke:var(--note);stroke-width:3.5}\n"
    ".tsg .seg.ooo{stroke:var(--warn);stroke-width:3.5}.tsg .seg.ctl{stroke:var(--hs)}\n"
    ".tsg .ackl{stroke:var(--hs);stroke-width:2;fill:none}.tsg .winl{stroke:#c0a000;stroke-width:2;fill:none}\n"
    ".tsg .sack{stroke:var(--msg);stroke-width:5;stroke-opacity:.55}\n"
    ".tsg .dup{fill:#fff;stroke:var(--note);stroke-width:2}.tsg .zw{fill:var(--warn)}\n"
    ".tsg .sel{stroke:#ffb300!important;stroke-width:6!important}\n"
    ".msgv text{font-size:12px}.msgv .m rect{fill:#e3f2fd;stroke:#1565c0;stroke-width:1.5}\n"
    ".msgv .m.inc rect{fill:#fff;stroke-dasharray:5 3}.msgv .m.split rect{fill:#f3e5f5;stroke:var(--msg);stroke-width:2.5}\n"
    ".msgv .s rect{fill:#eceff1;stroke:#455a64;stroke-width:1.5}.msgv .s.coalesced rect{fill:#f3e5f5;stroke:var(--msg);"
    "stroke-width:2.5}\n"
    ".msgv .s.retrans rect{fill:#ffebee;stroke:var(--warn);stroke-dasharray:5 3}\n"
    ".msgv .lk{stroke:#b0bec5;stroke-width:1.2}.msgv .lk.hot{stroke:var(--msg);stroke-width:2.2}\n"
    ".msgv .lane{font-size:13px;font-weight:600;fill:#37474f}\n"
    ".msgv .sel rect{stroke:#ffb300;stroke-width:4}\n"
    "#inspect{position:fixed;right:16px;bottom:16px;width:min(560px,calc(100vw - 32px));max-height:45vh;overflow:auto;"
    "background:#fff;border:2px solid #455a64;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.25);padding:10px 14px;"
    "z-index:10}\n"
    "#inspect pre{white-space:pre-wrap;margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',"
    "sans-serif}\n"
    "#inspect button{float:right;font-size:18px;border:0;background:none;cursor:pointer}\n"
    "footer{color:var(--mute);font-size:13px;margin-top:30px}\n"
    "@media print{#inspect,.tabs{display:none!important}.panel{display:block!important}}\n";

/*
 * The script: sortable table, tabs (all panels stay visible without it),
 * and a details box for what was clicked (the element's tooltip text, the
 * same frame highlighted in every view of its conversation). "#tcp-0/tsg"
 * in the address opens that conversation on that tab.
 */
static const char script[] =
    "(function(){'use strict';\n"
    "var d=document,insp=d.getElementById('inspect'),pre=insp.querySelector('pre');\n"
    "d.documentElement.classList.add('js');\n"
    "function clearSel(){var s=d.querySelectorAll('.sel');for(var i=0;i<s.length;i++)s[i].classList.remove('sel');}\n"
    "function select(g){var sec=g.closest('.conv')||d;clearSel();var f=g.getAttribute('data-f');\n"
    " var all=sec.querySelectorAll('[data-f=\"'+f+'\"]');for(var i=0;i<all.length;i++)all[i].classList.add('sel');\n"
    " var t=g.querySelector('title');pre.textContent=t?t.textContent:'';insp.hidden=false;}\n"
    "function showTab(sec,name){var b=sec.querySelectorAll('.tabs button');for(var i=0;i<b.length;i++)"
    "b[i].classList.toggle('on',b[i].getAttribute('data-tab')===name);\n"
    " var p=sec.querySelectorAll('.panel');for(var j=0;j<p.length;j++)p[j].hidden=p[j].getAttribute('data-panel')!==name;}\n"
    "function sortBy(th){var tb=th.closest('table').tBodies[0],k=th.cellIndex,\n"
    " dir=th.getAttribute('aria-sort')==='ascending'?-1:1,hs=th.parentNode.cells;\n"
    " for(var i=0;i<hs.length;i++)hs[i].removeAttribute('aria-sort');\n"
    " var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(a,b){var x=a.cells[k],y=b.cells[k],\n"
    " u=x.getAttribute('data-v'),v=y.getAttribute('data-v');if(u!==null&&v!==null)return dir*(parseFloat(u)-parseFloat(v));\n"
    " return dir*x.textContent.localeCompare(y.textContent);});\n"
    " for(var r=0;r<rows.length;r++)tb.appendChild(rows[r]);th.setAttribute('aria-sort',dir>0?'ascending':'descending');}\n"
    "d.addEventListener('click',function(e){var t=e.target;if(!t.closest)return;\n"
    " var th=t.closest('table.convs th');if(th){sortBy(th);return;}\n"
    " var tb=t.closest('.tabs button');if(tb){showTab(tb.closest('.conv'),tb.getAttribute('data-tab'));return;}\n"
    " if(t.closest('#inspect button')){insp.hidden=true;clearSel();return;}\n"
    " var g=t.closest('[data-f]');if(g)select(g);});\n"
    "var secs=d.querySelectorAll('.conv');for(var i=0;i<secs.length;i++)showTab(secs[i],'ladder');\n"
    "function go(){var h=decodeURIComponent(location.hash.slice(1)).split('/'),s=h[0]&&d.getElementById(h[0]);\n"
    " if(!s)return;if(s.tagName==='DETAILS')s.open=true;if(h[1])showTab(s,h[1]);s.scrollIntoView();}\n"
    "window.addEventListener('hashchange',go);go();\n"
    "})();\n";

/* An inline swatch for the legend: a short arrow, a bar or a box. */
static void swatch_line(FILE *o, const char *color, double width, bool dashed)
{
    fprintf(o,
            "<svg width=\"34\" height=\"12\" aria-hidden=\"true\"><line x1=\"1\" y1=\"6\" x2=\"26\" y2=\"6\" "
            "stroke=\"%s\" stroke-width=\"%.1f\"%s/><path d=\"M33 6 L24 1.5 L24 10.5 Z\" fill=\"%s\"/></svg>",
            color, width, dashed ? " stroke-dasharray=\"6 3\"" : "", color);
}

static void swatch_box(FILE *o, const char *fill, const char *stroke, bool dashed)
{
    fprintf(o,
            "<svg width=\"22\" height=\"14\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"12\" "
            "fill=\"%s\" stroke=\"%s\" stroke-width=\"2\"%s/></svg>",
            fill, stroke, dashed ? " stroke-dasharray=\"4 2\"" : "");
}

static void write_legend(FILE *o)
{
    fprintf(o, "<div class=\"box\"><h3 style=\"margin-top:0\">%s</h3>\n<div class=\"legend\">", _("How to read the pictures"));
    struct {
        const char *color;
        double w;
        bool dashed;
        const char *text;
    } arrows[] = {
        {"#2e7d32", 2, false, N_("handshake (SYN, SYN-ACK, its ACK)")},
        {"#263238", 2, false, N_("data")},
        {"#78909c", 1.5, false, N_("pure ACK")},
        {"#00838f", 2, false, N_("FIN (teardown)")},
        {"#b71c1c", 3, false, "RST"},
        {"#d32f2f", 2.5, false, N_("warning: lost, out-of-order, zero window, window full")},
        {"#e65100", 2.5, true, N_("note: retransmission (dashed), dup ACK, probe, keep-alive")},
        {"#1565c0", 2, false, N_("window update")},
        {"#7b1fa2", 2, false, N_("message boundaries: coalesced / split")},
    };
    for (size_t i = 0; i < sizeof(arrows) / sizeof(arrows[0]); i++) {
        fputs("<span>", o);
        swatch_line(o, arrows[i].color, arrows[i].w, arrows[i].dashed);
        esc(o, ss_i18n_tr(arrows[i].text));
        fputs("</span>", o);
    }
    fputs("</div>\n<div class=\"legend\" style=\"margin-top:8px\">", o);
    struct {
        const char *color;
        int w;
        const char *text;
    } states[] = {
        {"#9e9e9e", 2, N_("CLOSED / LISTEN / unknown")},
        {"#43a047", 4, N_("opening (SYN-SENT, SYN-RCVD)")},
        {"#1e88e5", 6, "ESTABLISHED"},
        {"#00897b", 4, N_("closing (FIN-WAIT, CLOSE-WAIT, LAST-ACK, TIME-WAIT)")},
    };
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        fprintf(o,
                "<span><svg width=\"12\" height=\"22\" aria-hidden=\"true\"><line x1=\"6\" y1=\"0\" x2=\"6\" y2=\"22\" "
                "stroke=\"%s\" stroke-width=\"%d\"/></svg>%s</span>",
                states[i].color, states[i].w, ss_i18n_tr(states[i].text));
    fputs(_("<span><i>italic state</i>: inferred (the capture cannot see whether the receiver got the segment)</span>"), o);
    fputs("</div>\n<div class=\"legend\" style=\"margin-top:8px\">", o);
    fputs("<span>", o);
    swatch_box(o, "#e3f2fd", "#1565c0", false);
    fprintf(o, "%s</span><span>", _("message"));
    swatch_box(o, "#f3e5f5", "#7b1fa2", false);
    fprintf(o, "%s</span><span>", _("split message / coalesced segment"));
    swatch_box(o, "#eceff1", "#455a64", false);
    fprintf(o, "%s</span><span>", _("segment"));
    swatch_box(o, "#ffebee", "#d32f2f", true);
    fprintf(o, "%s</span>", _("resent segment"));
    fputs("</div>\n<p style=\"margin:10px 0 0;font-size:14px\">", o);
    fputs(_("The <b>ladder</b> shows one arrow per packet from "
          "sender to receiver, in capture order (one row each; the time is on the left), with tcpdump's flags "
          "(<code>[S]</code> SYN, <code>[S.]</code> SYN-ACK, <code>[.]</code> ACK, <code>[P.]</code> data, "
          "<code>[F.]</code> FIN, <code>[R]</code> RST) and relative sequence and acknowledgment numbers. Hover over "
          "an arrow for its details; click it to keep them on screen. The <b>time-sequence graph</b> plots each "
          "segment as a bar from its first to its last sequence number over time, with the receiver's ACK and window "
          "edge as step lines. The <b>message view</b> lays the byte stream out left to right: messages above, the "
          "segments that carried them below."),
          o);
    fputs("</p></div>\n", o);
}

static int64_t row_start(const hrow_t *r)
{
    return r->info.first_sec * 1000000000LL + r->info.first_nsec - r->info.run_t0_ns;
}

static int by_start(const void *x, const void *y)
{
    const hrow_t *a = x, *b = y;
    int64_t ta = row_start(a), tb = row_start(b);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    if (a->info.proto != b->info.proto)
        return a->info.proto - b->info.proto;
    return a->info.index < b->info.index ? -1 : a->info.index > b->info.index;
}

static void conv_id(const ss_conv_info_t *i, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%" PRIu64, i->proto == 6 ? "tcp" : "udp", i->index);
}

static void close_text(const hrow_t *r, char *buf, size_t n)
{
    const ss_conv_tcp_t *t = &r->tcp;
    const char *who_fin = t->first_fin == SS_DIR_C2S ? _("client") : _("server");
    switch (ss_conv_close(t)) {
    case SS_CLOSE_FIN:
        snprintf(buf, n, _("FIN %s, %s first"), ss_i18n_tr(ss_fin_style_name(t->fin_style)), who_fin);
        if (t->half_close && strlen(buf) + strlen(_(", half-close")) < n)
            strcat(buf, _(", half-close"));
        break;
    case SS_CLOSE_HALF: snprintf(buf, n, _("half: only %s sent FIN"), who_fin); break;
    case SS_CLOSE_RST:
        snprintf(buf, n, _("RST by %s in %s"), t->first_rst == SS_DIR_C2S ? _("client") : _("server"),
                 ss_tcp_state_name(t->rst_state));
        break;
    case SS_CLOSE_REFUSED: snprintf(buf, n, "%s", _("refused (RST)")); break;
    case SS_CLOSE_OPEN: snprintf(buf, n, "%s", _("open")); break;
    }
}

static void handshake_text(const hrow_t *r, char *buf, size_t n)
{
    const ss_conv_tcp_t *t = &r->tcp;
    ss_handshake_t hs = ss_conv_handshake(t);
    char d[32];
    if (hs == SS_HS_NONE)
        snprintf(buf, n, "%s", _("not captured"));
    else if (t->has_irtt)
        snprintf(buf, n, _("%s (iRTT %s)"), ss_i18n_tr(ss_handshake_name(hs)), fmt_dur(t->irtt_ns, d, sizeof(d)));
    else
        snprintf(buf, n, "%s", ss_i18n_tr(ss_handshake_name(hs)));
    if (t->simultaneous_open && strlen(buf) + strlen(_(", simultaneous")) < n)
        strcat(buf, _(", simultaneous"));
}

static void td_num(FILE *o, uint64_t v, const char *cls)
{
    fprintf(o, "<td class=\"n%s%s\" data-v=\"%" PRIu64 "\">%" PRIu64 "</td>", cls && *cls ? " " : "", cls ? cls : "",
            v, v);
}

static void write_table(html_sink_t *h, FILE *o)
{
    fprintf(o, "<div class=\"box\" id=\"conversations\"><h2>%s</h2>\n", _("Conversations"));
    if (h->nrows == 0) {
        fprintf(o, "<p>%s</p></div>\n", _("No TCP or UDP conversation in this capture."));
        return;
    }
    fprintf(o, "<p class=\"facts\">%s</p>\n",
            _("Click a column heading to sort; click a conversation to jump to its pictures."));
    fputs("<div class=\"scroll\"><table class=\"convs\"><thead><tr>", o);
    static const char *const heads[] = {"#", N_("proto"), N_("client \u2192 server"), N_("start s"),
                                        N_("duration s"), N_("frames c\u2192s"), N_("frames s\u2192c"),
                                        N_("payload c\u2192s"), N_("payload s\u2192c"), N_("handshake"), N_("close"),
                                        N_("final states client / server"), N_("retrans&shy;missions"),
                                        N_("dup ACKs"), N_("lost / out-of-order"), N_("zero window"),
                                        N_("RTT avg ms"), N_("messages c\u2192s / s\u2192c"), N_("history")};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        fprintf(o, "<th>%s</th>", ss_i18n_tr(heads[i]));
    fputs("</tr></thead><tbody>\n", o);
    for (size_t i = 0; i < h->nrows; i++) {
        const hrow_t *r = &h->rows[i];
        const ss_conv_info_t *ci = &r->info;
        char id[40], a[80], b[80], t1[40], t2[40], buf[160];
        conv_id(ci, id, sizeof(id));
        int err = 0;
        hconv_t *c = find_conv(h, ci, false, &err);
        bool drawn = c && c->npkts;
        int64_t start = row_start(r);
        int64_t dur = (ci->last_sec - ci->first_sec) * 1000000000LL + ((int64_t)ci->last_nsec - ci->first_nsec);
        fprintf(o, "<tr><td class=\"n\" data-v=\"%" PRIu64 "\">", ci->index);
        if (drawn)
            fprintf(o, "<a href=\"#%s\">%" PRIu64 "</a>", id, ci->index);
        else
            fprintf(o, "%" PRIu64, ci->index);
        fprintf(o, "</td><td>%s</td><td class=\"mono\">", ci->proto == 6 ? "TCP" : "UDP");
        escf(o, "%s \u2192 %s", ss_fmt_endpoint(&ci->addr[0], ci->port[0], a, sizeof(a)),
             ss_fmt_endpoint(&ci->addr[1], ci->port[1], b, sizeof(b)));
        fprintf(o, "</td><td class=\"n\" data-v=\"%" PRId64 "\">%s</td><td class=\"n\" data-v=\"%" PRId64 "\">%s</td>",
                start, ss_fmt_secs(start, 6, t1, sizeof(t1)), dur, ss_fmt_secs(dur, 6, t2, sizeof(t2)));
        td_num(o, ci->frames[0], NULL);
        td_num(o, ci->frames[1], NULL);
        td_num(o, ci->payload[0], NULL);
        td_num(o, ci->payload[1], NULL);
        if (r->is_tcp) {
            const ss_conv_tcp_t *t = &r->tcp;
            const uint64_t *n = t->counts;
            handshake_text(r, buf, sizeof(buf));
            fputs("<td>", o);
            esc(o, buf);
            close_text(r, buf, sizeof(buf));
            fprintf(o, "</td><td%s>", ss_conv_close(t) == SS_CLOSE_RST || ss_conv_close(t) == SS_CLOSE_REFUSED
                                          ? " class=\"bad\""
                                          : "");
            esc(o, buf);
            fprintf(o, "</td><td>%s / %s</td>", ss_tcp_state_name(t->state[0]), ss_tcp_state_name(t->state[1]));
            uint64_t rex = n[SS_TA_BIT_RETRANSMISSION];
            td_num(o, rex, rex ? "meh" : NULL);
            td_num(o, n[SS_TA_BIT_DUPLICATE_ACK], n[SS_TA_BIT_DUPLICATE_ACK] ? "meh" : NULL);
            uint64_t lo = n[SS_TA_BIT_LOST_SEGMENT] + n[SS_TA_BIT_OUT_OF_ORDER];
            fprintf(o, "<td class=\"n%s\" data-v=\"%" PRIu64 "\">%" PRIu64 " / %" PRIu64 "</td>", lo ? " bad" : "", lo,
                    n[SS_TA_BIT_LOST_SEGMENT], n[SS_TA_BIT_OUT_OF_ORDER]);
            td_num(o, n[SS_TA_BIT_ZERO_WINDOW], n[SS_TA_BIT_ZERO_WINDOW] ? "bad" : NULL);
            if (t->rtt_samples) {
                double avg = (double)(t->rtt_sum_ns / (int64_t)t->rtt_samples) / 1e6;
                fprintf(o, "<td class=\"n\" data-v=\"%.6f\">%.3f</td>", avg, avg);
            } else {
                fputs("<td class=\"n\" data-v=\"-1\">\u2013</td>", o);
            }
        } else {
            fputs("<td>\u2013</td><td>\u2013</td><td>\u2013</td>", o);
            for (int k = 0; k < 5; k++)
                fputs("<td class=\"n\" data-v=\"-1\">\u2013</td>", o);
        }
        if (r->has_msgs)
            fprintf(o, "<td class=\"n\" data-v=\"%" PRIu64 "\">%" PRIu64 " / %" PRIu64 "</td>",
                    r->msgs[0].messages + r->msgs[1].messages, r->msgs[0].messages, r->msgs[1].messages);
        else
            fputs("<td class=\"n\" data-v=\"-1\">\u2013</td>", o);
        fputs("<td class=\"mono\">", o);
        esc(o, r->is_tcp ? r->history : "");
        fputs("</td></tr>\n", o);
    }
    fputs("</tbody></table></div>\n", o);
    if (h->rows_dropped)
        fprintf(o,
                _("<p class=\"note\">The table lists the first %zu conversations to end; %" PRIu64
                  " more are not listed (the report's limit of %" PRIu32 " rows).</p>\n"),
                h->nrows, h->rows_dropped, h->opts.max_rows);
    fputs("</div>\n", o);
}

/* ---- the ladder ----------------------------------------------------------- */

#define L_W 1250
#define L_XC 300  /* the client's line */
#define L_XS 760  /* the server's line */
#define L_MK 935  /* the marker column */
#define L_TOP 92
#define L_ROW 36
#define L_SLANT 14

static const char *state_color(int st, int *width)
{
    switch (st) {
    case SS_TCP_ST_SYN_SENT:
    case SS_TCP_ST_SYN_RCVD: *width = 4; return "#43a047";
    case SS_TCP_ST_ESTABLISHED: *width = 6; return "#1e88e5";
    case SS_TCP_ST_FIN_WAIT_1:
    case SS_TCP_ST_FIN_WAIT_2:
    case SS_TCP_ST_CLOSE_WAIT:
    case SS_TCP_ST_CLOSING:
    case SS_TCP_ST_LAST_ACK:
    case SS_TCP_ST_TIME_WAIT: *width = 4; return "#00897b";
    default: *width = 2; return "#9e9e9e";
    }
}

/* One endpoint's timeline: its line coloured by state, and the state names where they change. */
static void ladder_states(FILE *o, const hconv_t *c, int end, int y_end)
{
    int x = end == SS_DIR_C2S ? L_XC : L_XS;
    int st = SS_TCP_ST_UNKNOWN;
    /* The state before the first packet: this end's first transition's origin, else its state after the first packet. */
    bool found = false;
    for (uint32_t i = 0; i < c->npkts && !found; i++) {
        const hpkt_t *p = &c->pkts[i];
        for (int k = 0; k < p->ntrans && !found; k++)
            if (p->tr[k].end == end) {
                st = p->tr[k].from;
                found = true;
            }
    }
    if (!found && c->npkts)
        st = c->pkts[0].st[end];
    if (c->proto != 6) {
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#9e9e9e\" stroke-width=\"3\"/>\n", x,
                L_TOP - 24, x, y_end);
        return;
    }
    int y0 = L_TOP - 24;
    int w;
    const char *anchor = end == SS_DIR_C2S ? "end" : "start";
    int tx = end == SS_DIR_C2S ? x - 12 : x + 12;
    fprintf(o, "<text class=\"st\" x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>\n", tx, y0 + 4, anchor,
            ss_tcp_state_name((ss_tcp_state_t)st));
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        int yrow = L_TOP + (int)i * L_ROW;
        /* This end's transitions in this packet: proven ones at the send, inferred ones at the arrival. */
        char chain[160] = "";
        size_t k = 0;
        bool inferred = true;
        int last = -1, ychange = yrow;
        for (int t = 0; t < p->ntrans; t++) {
            if (p->tr[t].end != end)
                continue;
            if (last < 0)
                ychange = yrow + (end == p->dir ? 0 : L_SLANT);
            if (k < sizeof(chain))
                k += (size_t)snprintf(chain + k, sizeof(chain) - k, "%s%s", k ? " \u2192 " : "",
                                      ss_tcp_state_name((ss_tcp_state_t)p->tr[t].to));
            inferred &= p->tr[t].inferred;
            last = p->tr[t].to;
        }
        if (last < 0)
            continue;
        const char *col = state_color(st, &w);
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"/>\n", x, y0, x,
                ychange, col, w);
        fprintf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"#37474f\"/>", x, ychange);
        fprintf(o, "<text class=\"st%s\" x=\"%d\" y=\"%d\" text-anchor=\"%s\">", inferred ? " inf" : "", tx,
                ychange + 4, anchor);
        esc(o, chain);
        fputs("</text>\n", o);
        st = last;
        y0 = ychange;
    }
    const char *col = state_color(st, &w);
    fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"%d\"/>\n", x, y0, x, y_end,
            col, w);
}

static void write_ladder(FILE *o, const hconv_t *c, const hrow_t *r)
{
    char a[80], b[80];
    int height = L_TOP + (int)c->npkts * L_ROW + 24;
    fprintf(o,
            "<svg class=\"ladder\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
            "aria-label=\"ladder diagram\">\n",
            L_W, height, L_W, height);
    fprintf(o, "<text class=\"head\" x=\"%d\" y=\"22\" text-anchor=\"middle\">%s</text>", L_XC, _("client"));
    fprintf(o, "<text class=\"head\" x=\"%d\" y=\"22\" text-anchor=\"middle\">%s</text>\n", L_XS, _("server"));
    if (r) {
        fprintf(o, "<text class=\"sub mono\" x=\"%d\" y=\"40\" text-anchor=\"middle\">", L_XC);
        esc(o, ss_fmt_endpoint(&r->info.addr[0], r->info.port[0], a, sizeof(a)));
        fprintf(o, "</text><text class=\"sub mono\" x=\"%d\" y=\"40\" text-anchor=\"middle\">", L_XS);
        esc(o, ss_fmt_endpoint(&r->info.addr[1], r->info.port[1], b, sizeof(b)));
        fputs("</text>\n", o);
    }
    fprintf(o, "<text class=\"sub\" x=\"8\" y=\"40\">%s</text>\n", _("frame / time s"));
    /* Rows first (their hover background lies under the lines), then the endpoint lines, then the arrows. */
    ladder_states(o, c, SS_DIR_C2S, height - 12);
    ladder_states(o, c, SS_DIR_S2C, height - 12);
    double len = sqrt_pos((double)(L_XS - L_XC) * (L_XS - L_XC) + (double)L_SLANT * L_SLANT);
    double ux = (L_XS - L_XC) / len, uy = L_SLANT / len;
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        marker_t mk[MAX_MARKERS];
        int nmk = pkt_markers(p, mk);
        char label[128], cls[320], tb[40];
        pkt_label(p, label, sizeof(label));
        pkt_classes(p, mk, nmk, cls, sizeof(cls));
        int y = L_TOP + (int)i * L_ROW;
        int x1 = p->dir == SS_DIR_C2S ? L_XC : L_XS, x2 = p->dir == SS_DIR_C2S ? L_XS : L_XC;
        double sx = p->dir == SS_DIR_C2S ? ux : -ux;
        /* The arrowhead ends on the receiver's line: a 12 px long, 10 px wide triangle. */
        double tipx = x2, tipy = y + L_SLANT;
        double bx = tipx - 12 * sx, by = tipy - 12 * uy;
        fprintf(o, "<g class=\"pkt%s\" data-f=\"%" PRIu64 "\">", cls, p->frame);
        pkt_title(o, c, p, label, mk, nmk);
        fprintf(o, "<rect class=\"hit\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>", y - 14, L_W, L_ROW);
        fprintf(o, "<text class=\"fr\" x=\"8\" y=\"%d\">%" PRIu64 "</text>", y + 1, p->frame);
        fprintf(o, "<text class=\"tm mono\" x=\"8\" y=\"%d\">%s</text>", y + 14, ss_fmt_secs(p->t_ns, 6, tb, sizeof(tb)));
        fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, y, bx, by);
        fprintf(o, "<path class=\"hd\" d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/>", tipx, tipy, bx - 5 * uy, by + 5 * sx * 1,
                bx + 5 * uy, by - 5 * sx * 1);
        fprintf(o, "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (L_XC + L_XS) / 2,
                y + L_SLANT / 2 - 6);
        esc(o, label);
        fputs("</text>", o);
        if (nmk) {
            fprintf(o, "<text class=\"mk\" x=\"%d\" y=\"%d\">", L_MK, y + L_SLANT / 2 + 4);
            for (int k = 0; k < nmk; k++) {
                fprintf(o, "<tspan class=\"mk %s\">", sev_class[mk[k].sev]);
                if (k)
                    fputs(" \u00b7 ", o);
                esc(o, mk[k].text);
                fputs("</tspan>", o);
            }
            fputs("</text>", o);
        }
        fputs("</g>\n", o);
    }
    fputs("</svg>\n", o);
}

/* ---- the time-sequence graph ---------------------------------------------- */

#define G_W 1150
#define G_H 470
#define G_X0 90
#define G_X1 900
#define G_Y0 24
#define G_Y1 410

/* A round step (1, 2 or 5 times a power of ten) that cuts `range` into at most `max` pieces. */
static double nice_step(double range, int max)
{
    if (!(range > 0)) /* NaN too */
        return 1;
    if (!(range < 1e30)) /* infinity too */
        return 1e30;
    double step = 1e-9;
    static const double m[] = {1, 2, 5};
    for (int k = 0; k < 40; k++) { /* 1e-9 to 1e30 */
        for (int i = 0; i < 3; i++)
            if (range / (step * m[i]) <= max)
                return step * m[i];
        step *= 10;
    }
    return range;
}

/*
 * At most this many ticks on an axis. Ticks are counted, not stepped to by
 * adding the step to a double: far from zero (a capture dated near 2106, a
 * sub-microsecond span) the step is below the spacing of doubles there, the
 * sum never moves, and the loop would never end.
 */
#define MAX_TICKS 64

static const char *fmt_bytes_tick(double v, char *buf, size_t n)
{
    if (v >= 1e6)
        snprintf(buf, n, "%.6g M", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, n, "%.6g k", v / 1e3);
    else
        snprintf(buf, n, "%.6g", v);
    return buf;
}

typedef struct gscale {
    int64_t t0, t1;
    double ymax;
} gscale_t;

static double gx(const gscale_t *s, int64_t t)
{
    return G_X0 + (double)(t - s->t0) * (G_X1 - G_X0) / (double)(s->t1 - s->t0);
}

static double gy(const gscale_t *s, double v)
{
    if (v > s->ymax)
        v = s->ymax;
    return G_Y1 - v * (G_Y1 - G_Y0) / s->ymax;
}

/* Stevens' time-sequence graph of the bytes `dir` sent, with the peer's ACKs and window edge. */
static void write_tsg(FILE *o, const hconv_t *c, int dir)
{
    gscale_t s = {0, 0, 0};
    bool first = true;
    double top = 0, wtop = 0;
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP)
            continue;
        if (first || p->t_ns < s.t0)
            s.t0 = p->t_ns;
        if (first || p->t_ns > s.t1)
            s.t1 = p->t_ns;
        first = false;
        if (p->dir == dir) {
            double e = (double)p->seq + p->len + ((p->tcpf & (SS_TCP_SYN | SS_TCP_FIN)) ? 1 : 0);
            if (e > top)
                top = e;
        } else if (p->tcpf & SS_TCP_ACK) {
            if (p->ack > top)
                top = p->ack;
            double w = (double)p->ack + p->win;
            if (w > wtop)
                wtop = w;
        }
    }
    if (first)
        return;
    if (s.t1 - s.t0 < 1000)
        s.t1 = s.t0 + 1000;
    /* The window edge is drawn in full unless it would squash the data into the bottom two thirds. */
    bool clipped = wtop > top * 1.5 && top > 0;
    s.ymax = (clipped ? top : (wtop > top ? wtop : top)) * 1.06 + 1;
    /* Half a percent of room on either side so the first and last bars are not on the axis. */
    int64_t pad = (s.t1 - s.t0) / 100;
    s.t0 -= pad;
    s.t1 += pad;

    fprintf(o, "<svg class=\"tsg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"time-sequence graph\">\n",
            G_W, G_H, G_W, G_H);
    /* Axes, grid and ticks. */
    double span_ms = (double)(s.t1 - s.t0) / 1e6;
    bool secs = span_ms >= 2000;
    double unit = secs ? 1e9 : 1e6;
    double tstep = nice_step((double)(s.t1 - s.t0) / unit, 8);
    double tfirst = (double)((int64_t)((double)s.t0 / unit / tstep) + (s.t0 > 0 ? 1 : 0)) * tstep;
    for (int k = 0; k < MAX_TICKS; k++) {
        double tv = tfirst + k * tstep;
        if (tv * unit > (double)s.t1)
            break;
        double x = gx(&s, (int64_t)(tv * unit));
        if (x < G_X0)
            continue;
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, G_Y0, x, G_Y1);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n", x, G_Y1 + 18, tv);
    }
    double ystep = nice_step(s.ymax, 8);
    for (int k = 0; k < MAX_TICKS; k++) {
        double yv = k * ystep;
        if (yv > s.ymax)
            break;
        char tb[32];
        double y = gy(&s, yv);
        fprintf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", G_X0, y, G_X1, y);
        fprintf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", G_X0 - 6, y + 4,
                fmt_bytes_tick(yv, tb, sizeof(tb)));
    }
    fprintf(o, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", G_X0, G_Y1, G_X1, G_Y1);
    fprintf(o, "<line class=\"ax\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", G_X0, G_Y0, G_X0, G_Y1);
    fprintf(o, "<text class=\"axt\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (G_X0 + G_X1) / 2, G_Y1 + 42);
    fprintf(o, _("time since the capture's first packet (%s)"), secs ? "s" : "ms");
    fprintf(o, "</text>\n<text class=\"axt\" transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">%s"
               "</text>\n",
            (G_Y0 + G_Y1) / 2, _("relative sequence number (bytes)"));

    /* The receiver's ACK line and window edge: step lines, held until the end of the graph. */
    for (int line = 0; line < 2; line++) {
        bool any = false;
        double lasty = 0;
        for (uint32_t i = 0; i < c->npkts; i++) {
            const hpkt_t *p = &c->pkts[i];
            if (p->kind != K_TCP || p->dir == dir || !(p->tcpf & SS_TCP_ACK) || (p->tcpf & SS_TCP_RST))
                continue;
            double v = line == 0 ? (double)p->ack : (double)p->ack + p->win;
            double x = gx(&s, p->t_ns), y = gy(&s, v);
            if (!any)
                fprintf(o, "<polyline class=\"%s\" points=\"%.1f,%.1f", line == 0 ? "ackl" : "winl", x, y);
            else
                fprintf(o, " %.1f,%.1f %.1f,%.1f", x, lasty, x, y);
            lasty = y;
            any = true;
        }
        if (any)
            fprintf(o, " %d,%.1f\"/>\n", G_X1, lasty);
    }
    /* SACK blocks the receiver reported, dup ACKs and zero windows on the ACK line. */
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP || p->dir == dir)
            continue;
        double x = gx(&s, p->t_ns);
        for (int k = 0; k < p->nsack; k++)
            fprintf(o, "<line class=\"sack\" data-f=\"%" PRIu64 "\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
                       "<title>%s %" PRIu64 ": SACK %" PRIu32 "\u2013%" PRIu32 "</title></line>\n",
                    p->frame, x + 3, gy(&s, p->sack[k][0]), x + 3, gy(&s, p->sack[k][1]), _("frame"), p->frame,
                    p->sack[k][0], p->sack[k][1]);
        if (p->ta & (SS_TA(DUPLICATE_ACK) | SS_TA(ZERO_WINDOW)))
            fprintf(o, "<circle class=\"%s\" data-f=\"%" PRIu64 "\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"><title>%s %" PRIu64
                       ": %s ack %" PRIu32 "</title></circle>\n",
                    p->ta & SS_TA(ZERO_WINDOW) ? "zw" : "dup", p->frame, x, gy(&s, p->ack), _("frame"), p->frame,
                    p->ta & SS_TA(ZERO_WINDOW) ? _("zero window,") : _("dup ACK,"), p->ack);
    }
    /* The segments: a bar from the first to the last sequence number each carried, in I-beam style. */
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP || p->dir != dir)
            continue;
        uint32_t n = p->len + ((p->tcpf & (SS_TCP_SYN | SS_TCP_FIN)) ? 1 : 0);
        if (n == 0)
            continue;
        double x = gx(&s, p->t_ns), y1 = gy(&s, p->seq), y2 = gy(&s, (double)p->seq + n);
        if (y1 - y2 < 3) {
            double mid = (y1 + y2) / 2;
            y1 = mid + 1.5;
            y2 = mid - 1.5;
        }
        const char *cls = (p->ta & TA_REXMIT) ? " retrans"
                          : (p->ta & SS_TA(OUT_OF_ORDER)) ? " ooo"
                          : p->len == 0 ? " ctl"
                                        : "";
        fprintf(o, "<path class=\"seg%s\" data-f=\"%" PRIu64 "\" d=\"M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fH%.1f\">",
                cls, p->frame, x - 3, y1, x + 3, x, y1, y2, x - 3, y2, x + 3);
        char fb[16];
        fprintf(o, "<title>%s %" PRIu64 ": [%s] seq %" PRIu32 "\u2013%" PRIu32 ", len %" PRIu32 "%s</title></path>\n",
                _("frame"), p->frame, ss_fmt_tcp_flags(p->tcpf, fb, sizeof(fb)), p->seq, p->seq + n, p->len,
                (p->ta & TA_REXMIT) ? _(", retransmission") : (p->ta & SS_TA(OUT_OF_ORDER)) ? _(", out-of-order") : "");
    }
    /* The legend, right of the plot. */
    static const struct {
        const char *cls, *text;
    } leg[] = {{"seg", N_("segment (seq range)")}, {"seg retrans", N_("retransmission")},
               {"seg ooo", N_("out-of-order")}, {"ackl", N_("ACK (acknowledged up to)")},
               {"winl", N_("window edge (ACK + window)")}, {"sack", N_("SACKed range")}};
    int ly = G_Y0 + 10;
    for (size_t k = 0; k < sizeof(leg) / sizeof(leg[0]); k++, ly += 24)
        fprintf(o, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                leg[k].cls, G_X1 + 24, ly, G_X1 + 48, ly, G_X1 + 56, ly + 4, _(leg[k].text));
    fprintf(o, "<circle class=\"dup\" cx=\"%d\" cy=\"%d\" r=\"4.5\"/><text x=\"%d\" y=\"%d\">%s</text>\n", G_X1 + 36,
            ly, G_X1 + 56, ly + 4, _("dup ACK"));
    ly += 24;
    fprintf(o, "<circle class=\"zw\" cx=\"%d\" cy=\"%d\" r=\"4.5\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
            G_X1 + 36, ly, G_X1 + 56, ly + 4, _("zero window"));
    if (clipped)
        fprintf(o, "<text x=\"%d\" y=\"%d\" style=\"font-style:italic\">%s</text>\n", G_X1 + 24, ly + 30,
                _("window edge above the top"));
    fputs("</svg>\n", o);
}

/* ---- the message view ----------------------------------------------------- */

#define M_X0 70
#define M_MSG_Y 34
#define M_MSG_H 40
#define M_SEG_Y 118
#define M_SEG_H 34
#define M_RSEG_Y 166

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* x of a stream offset: boundaries are placed in order, each gap as wide as the log of its bytes. */
static double mx(const uint64_t *bd, const double *bx, size_t n, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (bd[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && bd[lo] == off)
        return bx[lo];
    if (lo == 0)
        return bx[0];
    if (lo >= n)
        return bx[n - 1];
    /* Between two boundaries (not expected: every edge is one) interpolate. */
    return bx[lo - 1] + (bx[lo] - bx[lo - 1]) * (double)(off - bd[lo - 1]) / (double)(bd[lo] - bd[lo - 1]);
}

/* Messages of one direction as blocks along the stream, the segments that carried them below. */
static int write_msgview(FILE *o, const hconv_t *c, int dir)
{
    /* The messages shown: this direction's, up to MSGVIEW_MAX, in stream order. */
    size_t nm = 0, total = 0;
    for (uint32_t i = 0; i < c->nmsgs; i++)
        if (c->msgs[i].dir == dir)
            total++;
    const hmsg_t **ms = calloc(total ? total : 1, sizeof(*ms));
    if (!ms)
        return SS_ERR_NOMEM;
    for (uint32_t i = 0; i < c->nmsgs; i++)
        if (c->msgs[i].dir == dir && nm < MSGVIEW_MAX)
            ms[nm++] = &c->msgs[i];
    if (nm == 0) {
        free(ms);
        return 0;
    }
    uint64_t lo = ms[0]->off, hi = ms[0]->off + ms[0]->len;
    for (size_t i = 0; i < nm; i++) {
        if (ms[i]->off < lo)
            lo = ms[i]->off;
        if (ms[i]->off + ms[i]->len > hi)
            hi = ms[i]->off + ms[i]->len;
    }
    /* Segments with payload that overlap the shown range; a segment's stream offset is its relative seq - 1. */
    size_t nb = 0, capb = 2 * nm + 2;
    for (uint32_t i = 0; i < c->npkts; i++)
        if (c->pkts[i].kind == K_TCP && c->pkts[i].dir == dir && c->pkts[i].len)
            capb += 2;
    uint64_t *bd = malloc(capb * sizeof(*bd));
    double *bx = malloc(capb * sizeof(*bx));
    if (!bd || !bx) {
        free(ms);
        free(bd);
        free(bx);
        return SS_ERR_NOMEM;
    }
    for (size_t i = 0; i < nm; i++) {
        bd[nb++] = ms[i]->off;
        bd[nb++] = ms[i]->off + ms[i]->len;
    }
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP || p->dir != dir || !p->len)
            continue;
        uint64_t so = p->seq ? (uint64_t)p->seq - 1 : 0, se = so + p->len;
        if (se <= lo || so >= hi)
            continue;
        bd[nb++] = so < lo ? lo : so;
        bd[nb++] = se > hi ? hi : se;
    }
    qsort(bd, nb, sizeof(*bd), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < nb; i++)
        if (u == 0 || bd[i] != bd[u - 1])
            bd[u++] = bd[i];
    nb = u;
    bx[0] = M_X0;
    for (size_t i = 1; i < nb; i++)
        bx[i] = bx[i - 1] + 8 + 10.0 * bitlen(bd[i] - bd[i - 1]);
    int width = (int)bx[nb - 1] + 40;
    if (width < 700)
        width = 700;
    int height = M_RSEG_Y + M_SEG_H + 44;
    fprintf(o, "<div class=\"scroll\"><svg class=\"msgv\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"message view\">\n",
            width, height, width, height);
    fprintf(o, "<text class=\"lane\" x=\"4\" y=\"%d\">%s</text>", M_MSG_Y - 8, _("messages"));
    fprintf(o, "<text class=\"lane\" x=\"4\" y=\"%d\">%s</text>", M_SEG_Y - 8, _("segments"));
    fprintf(o, "<text class=\"lane\" x=\"4\" y=\"%d\">%s</text>\n", M_RSEG_Y + M_SEG_H / 2 + 4, _("resent"));

    uint64_t idx0 = ms[0]->index;
    /* Links first, under the blocks: from each segment to each message it carried new bytes of. */
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP || p->dir != dir || !p->len || !p->has_msgs || p->m.udp || !p->m.count)
            continue;
        uint64_t so = p->seq ? (uint64_t)p->seq - 1 : 0, se = so + p->len;
        if (se <= lo || so >= hi)
            continue;
        double sx = (mx(bd, bx, nb, so < lo ? lo : so) + mx(bd, bx, nb, se > hi ? hi : se)) / 2;
        uint32_t drawn = 0;
        for (uint64_t k = p->m.first; k <= p->m.last && drawn < LINKS_PER_SEG; k++, drawn++) {
            if (k < idx0 || k - idx0 >= nm)
                continue;
            const hmsg_t *m = ms[k - idx0];
            if (m->index != k)
                continue;
            uint64_t ao = so > m->off ? so : m->off, ae = se < m->off + m->len ? se : m->off + m->len;
            double tx = ao < ae ? (mx(bd, bx, nb, ao) + mx(bd, bx, nb, ae)) / 2
                                : (mx(bd, bx, nb, m->off) + mx(bd, bx, nb, m->off + m->len)) / 2;
            bool hot = p->m.coalesced || m->nframes >= 2;
            fprintf(o, "<line class=\"lk%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", hot ? " hot" : "", sx,
                    M_SEG_Y, tx, M_MSG_Y + M_MSG_H);
        }
    }
    for (size_t i = 0; i < nm; i++) {
        const hmsg_t *m = ms[i];
        double x1 = mx(bd, bx, nb, m->off), x2 = mx(bd, bx, nb, m->off + m->len);
        fprintf(o, "<g class=\"m%s%s\" data-f=\"%" PRIu64 "\"><title>", m->nframes >= 2 ? " split" : "",
                m->complete ? "" : " inc", m->last_frame);
        escf(o,
             P_("message #%" PRIu64 " %s: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64 " bytes), in %" PRIu32
                " segment%s; completed by frame %" PRIu64,
                "message #%" PRIu64 " %s: bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu64 " bytes), in %" PRIu32
                " segments%s; completed by frame %" PRIu64,
                m->nframes),
             m->index, dir == SS_DIR_C2S ? _("client \u2192 server") : _("server \u2192 client"), m->off,
             m->len ? m->off + m->len - 1 : m->off, m->len, m->nframes, m->complete ? "" : _(", incomplete"),
             m->last_frame);
        fprintf(o, "</title><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\"/>", x1 + 1, M_MSG_Y,
                x2 - x1 - 2, M_MSG_H);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">#%" PRIu64 "</text>", (x1 + x2) / 2, M_MSG_Y + 16,
                m->index);
        if (x2 - x1 >= 46)
            fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%" PRIu64 " B</text>", (x1 + x2) / 2,
                    M_MSG_Y + 32, m->len);
        fputs("</g>\n", o);
    }
    for (uint32_t i = 0; i < c->npkts; i++) {
        const hpkt_t *p = &c->pkts[i];
        if (p->kind != K_TCP || p->dir != dir || !p->len)
            continue;
        uint64_t so = p->seq ? (uint64_t)p->seq - 1 : 0, se = so + p->len;
        if (se <= lo || so >= hi)
            continue;
        bool resent = (p->ta & TA_REXMIT) || (p->has_msgs && p->m.overlap >= p->len);
        double x1 = mx(bd, bx, nb, so < lo ? lo : so), x2 = mx(bd, bx, nb, se > hi ? hi : se);
        int y = resent ? M_RSEG_Y : M_SEG_Y;
        fprintf(o, "<g class=\"s%s%s\" data-f=\"%" PRIu64 "\"><title>", resent ? " retrans" : "",
                p->has_msgs && p->m.coalesced ? " coalesced" : "", p->frame);
        escf(o, _("frame %" PRIu64 ": stream bytes %" PRIu64 "\u2013%" PRIu64 " (%" PRIu32 " bytes)%s%s"), p->frame, so,
             se - 1, p->len, resent ? _(", sent again") : "",
             p->has_msgs && p->m.coalesced ? _(", carries several messages (coalesced)") : "");
        fprintf(o, "</title><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\"/>", x1 + 1, y, x2 - x1 - 2,
                M_SEG_H);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">f%" PRIu64 "</text>", (x1 + x2) / 2, y + 21,
                p->frame);
        fputs("</g>\n", o);
    }
    /* Byte offsets under the segments. */
    double lastx = -100;
    for (size_t i = 0; i < nb; i++) {
        if (bx[i] - lastx < 34)
            continue;
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" style=\"fill:#78909c\">%" PRIu64 "</text>", bx[i],
                height - 10, bd[i]);
        lastx = bx[i];
    }
    fputs("\n</svg></div>\n", o);
    if (total > nm)
        fprintf(o, "<p class=\"note\">Showing the first %zu of the %zu messages kept for this direction.</p>\n", nm,
                total);
    free(ms);
    free(bd);
    free(bx);
    return 0;
}

/* ---- one conversation ----------------------------------------------------- */

static int write_conv(html_sink_t *h, FILE *o, const hconv_t *c, const hrow_t *r, bool open)
{
    char id[40], a[80], b[80], buf[200], tb[40];
    ss_conv_info_t ci = {.proto = c->proto, .index = c->index};
    conv_id(&ci, id, sizeof(id));
    fprintf(o, "<details class=\"conv\" id=\"%s\"%s><summary><h2>", id, open ? " open" : "");
    fprintf(o, _("%s conversation %" PRIu64), c->proto == 6 ? "TCP" : "UDP", c->index);
    if (r) {
        fputs(": <span class=\"mono\" style=\"font-size:16px\">", o);
        escf(o, "%s \u2192 %s", ss_fmt_endpoint(&r->info.addr[0], r->info.port[0], a, sizeof(a)),
             ss_fmt_endpoint(&r->info.addr[1], r->info.port[1], b, sizeof(b)));
        fputs("</span>", o);
    }
    fputs("</h2></summary>\n<p class=\"facts\">", o);
    fprintf(o, _("%" PRIu64 " packets"), c->seen_pkts);
    if (r) {
        int64_t dur = (r->info.last_sec - r->info.first_sec) * 1000000000LL +
                      ((int64_t)r->info.last_nsec - r->info.first_nsec);
        fprintf(o, _(" \u00b7 %s s \u00b7 %" PRIu64 " / %" PRIu64 " payload bytes c\u2192s / s\u2192c"),
                ss_fmt_secs(dur, 6, tb, sizeof(tb)), r->info.payload[0], r->info.payload[1]);
        if (r->is_tcp) {
            handshake_text(r, buf, sizeof(buf));
            fputs(_(" \u00b7 handshake "), o);
            esc(o, buf);
            close_text(r, buf, sizeof(buf));
            fputs(_(" \u00b7 close: "), o);
            esc(o, buf);
        }
    }
    fputs("</p>\n", o);
    if (c->npkts < c->seen_pkts)
        fprintf(o,
                _("<p class=\"note\">Only the first %" PRIu32 " of its %" PRIu64 " packets are drawn: the report "
                  "keeps at most %" PRIu32 " packets and messages per conversation and %" PRIu32 " in all%s.</p>\n"),
                c->npkts, c->seen_pkts, h->opts.max_conv_elements, h->opts.max_elements,
                c->cut_total ? _(", and that total was reached") : "");
    const char *ladder = _("Ladder"), *tsg = _("Time-sequence graph"), *msgs = _("Messages");
    fprintf(o,
            "<div class=\"tabs\"><button data-tab=\"ladder\" class=\"on\">%s</button>"
            "<button data-tab=\"tsg\">%s</button><button data-tab=\"msg\">%s</button></div>\n",
            ladder, tsg, msgs);
    fprintf(o, "<div class=\"panel\" data-panel=\"ladder\"><h3 class=\"tabbed\">%s</h3><div class=\"scroll\">\n",
            ladder);
    write_ladder(o, c, r);
    fprintf(o, "</div></div>\n<div class=\"panel\" data-panel=\"tsg\"><h3 class=\"tabbed\">%s</h3>\n", tsg);
    if (c->proto != 6) {
        fprintf(o, "<p>%s</p>\n", _("UDP has no sequence numbers: each datagram stands alone."));
    } else {
        bool any = false;
        uint64_t pay[2] = {0, 0};
        for (uint32_t i = 0; i < c->npkts; i++)
            if (c->pkts[i].kind == K_TCP)
                pay[c->pkts[i].dir] += c->pkts[i].len;
        for (int d = 0; d < 2; d++) {
            if (!pay[d])
                continue;
            fprintf(o, "<h3>%s</h3>\n<div class=\"scroll\">",
                    d == SS_DIR_C2S ? _("Bytes sent by the client") : _("Bytes sent by the server"));
            write_tsg(o, c, d);
            fputs("</div>\n", o);
            any = true;
        }
        if (!any) {
            fprintf(o, "<p>%s</p>\n<div class=\"scroll\">", _("No data was sent: only the control segments below."));
            write_tsg(o, c, SS_DIR_C2S);
            fputs("</div>\n", o);
        }
    }
    fprintf(o, "</div>\n<div class=\"panel\" data-panel=\"msg\"><h3 class=\"tabbed\">%s</h3>\n", msgs);
    bool any = false;
    for (int d = 0; d < 2; d++) {
        bool has = false;
        for (uint32_t i = 0; i < c->nmsgs && !has; i++)
            has = c->msgs[i].dir == d;
        if (!has)
            continue;
        fprintf(o, "<h3>%s</h3>\n", d == SS_DIR_C2S ? _("Client \u2192 server") : _("Server \u2192 client"));
        if (r && r->has_msgs) {
            fprintf(o, "<p class=\"facts\">%s ", _("framing"));
            esc(o, strcmp(r->msgs[d].framing, "send() calls") == 0 ? _("send() calls") : r->msgs[d].framing);
            fprintf(o, _(" \u00b7 %" PRIu64 " messages \u00b7 %" PRIu64 " coalesced segments \u00b7 %" PRIu64
                         " split messages"),
                    r->msgs[d].messages, r->msgs[d].coalesced_segments, r->msgs[d].split_messages);
            if (r->msgs[d].gap_bytes)
                fprintf(o, _(" \u00b7 %" PRIu64 " bytes never captured"), r->msgs[d].gap_bytes);
            fprintf(o, "%s</p>\n",
                    _(". Block widths grow with the logarithm of their size; the numbers under them are stream "
                      "offsets."));
        }
        int rc = write_msgview(o, c, d);
        if (rc < 0)
            return rc;
        any = true;
    }
    if (!any) {
        if (c->proto != 6)
            fputs(_("<p>With <code>--framing</code>, each UDP datagram is one message; the ladder shows them.</p>\n"),
                  o);
        else if (r && r->has_msgs)
            fprintf(o, "<p>%s</p>\n", _("The framing found no message in this conversation."));
        else
            fputs(_("<p>No message framing was applied. Run segscope with <code>--framing SPEC</code> (for example "
                    "<code>--framing line</code> or <code>--framing len32</code>) to cut each byte stream into "
                    "application messages; this view then shows which segments carried which messages, and where "
                    "messages were coalesced into one segment or split over several.</p>\n"),
                  o);
    }
    fputs("</div>\n</details>\n", o);
    return 0;
}

static int html_end(ss_sink_t *s, const ss_run_end_t *end)
{
    html_sink_t *h = (html_sink_t *)s;
    FILE *o = h->out;
    if (h->nrows) /* rows is NULL when there were none, and qsort may not be given NULL */
        qsort(h->rows, h->nrows, sizeof(*h->rows), by_start);
    fprintf(o,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>segscope: ",
            ss_i18n_lang_tag());
    esc(o, h->source ? h->source : "");
    fprintf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>%s</h1>\n<p class=\"src\">", css,
            _("segscope report"));
    fputs("<b>", o);
    esc(o, h->source ? h->source : "");
    size_t nconv = h->nrows + (size_t)h->rows_dropped;
    fprintf(o, "</b>%s", h->live ? _(" (live capture)") : "");
    fprintf(o, P_(" \u00b7 %" PRIu64 " frames \u00b7 %zu conversation", " \u00b7 %" PRIu64 " frames \u00b7 %zu conversations",
                  nconv),
            end->frames, nconv);
    if (h->other_pkts)
        fprintf(o, _(" \u00b7 %" PRIu64 " packets outside TCP/UDP conversations (not drawn)"), h->other_pkts);
    fputs("</p>\n", o);
    if (end->warning) {
        fputs("<p class=\"note\">", o);
        esc(o, end->warning);
        fputs("</p>\n", o);
    }
    if (end->stats_valid)
        fprintf(o, _("<p class=\"note\">libpcap: %" PRIu64 " packets received by the filter, %" PRIu64
                     " dropped by the kernel.</p>\n"),
                end->pcap_received, end->pcap_dropped);
    if (h->nnotices) {
        fprintf(o, "<div class=\"box\"><h3 style=\"margin-top:0\">%s</h3><ul class=\"notices\">\n", _("Notices"));
        for (size_t i = 0; i < h->nnotices; i++) {
            fputs("<li>", o);
            esc(o, h->notices[i]);
            fputs("</li>\n", o);
        }
        if (h->notices_dropped)
            fprintf(o, _("<li>\u2026 and %" PRIu64 " more</li>\n"), h->notices_dropped);
        fputs("</ul></div>\n", o);
    }
    write_legend(o);
    write_table(h, o);
    uint64_t without = 0;
    for (size_t i = 0; i < h->nrows; i++) {
        int err = 0;
        hconv_t *c = find_conv(h, &h->rows[i].info, false, &err);
        without += !c || !c->npkts;
    }
    if (without && h->kept >= h->opts.max_elements)
        fprintf(o,
                P_("<p class=\"note\">%" PRIu64 " conversation started after the report's limit of %" PRIu32
                   " packets and messages was reached: it is listed in the table but not drawn.</p>\n",
                   "<p class=\"note\">%" PRIu64 " conversations started after the report's limit of %" PRIu32
                   " packets and messages was reached: they are listed in the table but not drawn.</p>\n",
                   without),
                without, h->opts.max_elements);
    /* The pictures, in the table's order; the first few open. */
    int opened = 0;
    int rc = 0;
    for (size_t i = 0; i < h->nrows && rc == 0; i++) {
        int err = 0;
        hconv_t *c = find_conv(h, &h->rows[i].info, false, &err);
        if (!c || !c->npkts)
            continue;
        rc = write_conv(h, o, c, &h->rows[i], opened++ < 6);
        c->drawn = true;
    }
    /* Conversations without a record (the run stopped early) are drawn all the same. */
    for (size_t i = 0; i < h->nconvs && rc == 0; i++)
        if (h->convs[i].npkts && !h->convs[i].drawn)
            rc = write_conv(h, o, &h->convs[i], NULL, opened++ < 6);
    fprintf(o, "<div id=\"inspect\" hidden><button title=\"%s\">\u00d7</button><pre></pre></div>\n<footer>", _("close"));
    fprintf(o, _("Made by segscope %s from the capture alone: the same capture always gives the same page."), SS_VERSION);
    fprintf(o, "</footer>\n<script>\n%s</script>\n</body>\n</html>\n", script);
    if (rc < 0)
        return rc;
    return fflush(o) == 0 && !ferror(o) ? 0 : SS_ERR_IO;
}

static void html_destroy(ss_sink_t *s)
{
    html_sink_t *h = (html_sink_t *)s;
    for (size_t i = 0; i < h->nconvs; i++) {
        hconv_t *c = &h->convs[i];
        for (uint32_t k = 0; k < c->npkts; k++)
            free(c->pkts[k].why);
        free(c->pkts);
        free(c->msgs);
    }
    free(h->convs);
    free(h->keys[0]);
    free(h->keys[1]);
    free(h->rows);
    for (size_t i = 0; i < h->nnotices; i++)
        free(h->notices[i]);
    if (h->why)
        fclose(h->why);
    free(h->whybuf);
    free(h->source);
    free(h);
}

static const ss_sink_ops_t html_ops = {html_begin, html_event, html_end, html_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_html_create(FILE *out, const ss_html_opts_t *opts)
{
    html_sink_t *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->base.ops = &html_ops;
    h->out = out;
    if (opts)
        h->opts = *opts;
    if (!h->opts.max_elements)
        h->opts.max_elements = SS_HTML_DEFAULT_MAX_ELEMENTS;
    if (!h->opts.max_conv_elements)
        h->opts.max_conv_elements = SS_HTML_DEFAULT_MAX_CONV_ELEMENTS;
    if (!h->opts.max_rows)
        h->opts.max_rows = SS_HTML_DEFAULT_MAX_ROWS;
    return &h->base;
}
