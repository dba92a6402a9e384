/* summary.c - the per-conversation tables (--summary), printed at the end of the run. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/grow.h"
#include "segscope/i18n.h"

/* What the Messages table shows of one direction (a row keeps this, not the whole ss_conv_msgs_t). */
typedef struct row_msgs {
    char framing[32];
    bool inferred, traced, broken;
    uint8_t confidence;
    uint32_t overlap_differs;
    uint64_t messages, incomplete, coalesced_segments, split_messages, largest, gap_bytes;
    uint64_t send_calls, recv_calls, glued_recvs, udp_missing, udp_late, broken_at;
    char *broken_why_local; /* allocated only when broken */
} row_msgs_t;

typedef struct row {
    ss_conv_info_t info;
    ss_conv_tcp_t tcp;
    char history[48];
    bool is_tcp;
    bool has_msgs;
    row_msgs_t msgs[2];
} row_t;

static void keep_msgs(row_msgs_t *k, const ss_conv_msgs_t *g)
{
    memset(k, 0, sizeof(*k));
    snprintf(k->framing, sizeof(k->framing), "%s", g->framing);
    k->inferred = g->inferred;
    k->traced = g->traced;
    k->broken = g->broken;
    k->confidence = g->confidence;
    k->overlap_differs = g->overlap_differs;
    k->messages = g->messages;
    k->incomplete = g->incomplete;
    k->coalesced_segments = g->coalesced_segments;
    k->split_messages = g->split_messages;
    k->largest = g->largest;
    k->gap_bytes = g->gap_bytes;
    k->send_calls = g->send_calls;
    k->recv_calls = g->recv_calls;
    k->glued_recvs = g->glued_recvs;
    k->udp_missing = g->udp_missing;
    k->udp_late = g->udp_late;
    k->broken_at = g->broken_at;
    if (g->broken)
        k->broken_why_local = strdup(g->broken_why_local); /* NULL when out of memory: shown as "" */
}

typedef struct summary_sink {
    ss_sink_t base;
    FILE *out;
    bool color;
    row_t *rows;
    size_t n, cap;
    size_t max_rows;   /* conversations kept; the rest are only counted */
    uint64_t unlisted; /* conversations reported after the table was full */
    bool oom;
} summary_sink_t;

static int summary_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    (void)s;
    (void)info;
    return 0;
}

static int summary_event(ss_sink_t *s, const ss_event_t *ev)
{
    summary_sink_t *m = (summary_sink_t *)s;
    if (ev->type != SS_EV_CONVERSATION)
        return 0;
    if (m->n >= m->max_rows) {
        /* A capture can hold millions of conversations: the tables keep the first ones. */
        m->unlisted++;
        return 0;
    }
    row_t *nr = ss_grow(m->rows, m->n, &m->cap, sizeof(*nr), 64);
    if (!nr) {
        m->oom = true;
        return SS_ERR_NOMEM;
    }
    m->rows = nr;
    row_t *r = &m->rows[m->n++];
    memset(r, 0, sizeof(*r));
    r->info = *ev->u.conv;
    if (ev->u.conv->tcp) {
        r->is_tcp = true;
        r->tcp = *ev->u.conv->tcp;
        snprintf(r->history, sizeof(r->history), "%s", r->tcp.history ? r->tcp.history : "");
        r->tcp.history = NULL;
    }
    if (ev->u.conv->msgs) {
        r->has_msgs = true;
        keep_msgs(&r->msgs[0], &ev->u.conv->msgs[0]);
        keep_msgs(&r->msgs[1], &ev->u.conv->msgs[1]);
    }
    r->info.tcp = NULL;
    r->info.msgs = NULL;
    return 0;
}

/* Order of rows by start, for qsort of row pointers (a row is some 800 bytes to move). */
static int by_start(const void *x, const void *y)
{
    const row_t *a = *(const row_t *const *)x, *b = *(const row_t *const *)y;
    int64_t ta = a->info.first_sec * 1000000000LL + a->info.first_nsec;
    int64_t tb = b->info.first_sec * 1000000000LL + b->info.first_nsec;
    if (ta != tb)
        return ta < tb ? -1 : 1;
    if (a->info.proto != b->info.proto)
        return a->info.proto - b->info.proto;
    return a->info.index < b->info.index ? -1 : a->info.index > b->info.index;
}

/*
 * Translations looked up once per call site: a table of many rows formats
 * each row twice, and gettext is slow next to the rest. Keyed by the
 * address of the text, which is the same at every call of one site.
 */
#define MEMO_SLOTS 64

typedef struct tr_memo {
    const char *id[MEMO_SLOTS];
    const char *tr[MEMO_SLOTS];
} tr_memo_t;

__attribute__((format_arg(2))) static const char *tr_memo(tr_memo_t *mc, const char *msgid)
{
    size_t k = ((uintptr_t)msgid >> 3) % MEMO_SLOTS;
    if (mc->id[k] != msgid) {
        mc->id[k] = msgid;
        mc->tr[k] = ss_i18n_tr(msgid);
    }
    return mc->tr[k];
}

/* _(text) through the memo `mc` in scope (its own keyword for xgettext). */
#define TM_(text) tr_memo(mc, text)

/*
 * A simple table printed with column widths. Each row's cells are formatted
 * twice, by `fill`, once to measure and once to print, so that a table of
 * many rows costs no more memory than one row.
 */
#define MAXCOLS 16
#define CELL 160

typedef struct table {
    int ncols;
    const char *head[MAXCOLS];
    bool right[MAXCOLS];
    void (*fill)(const struct table *t, size_t row, char cell[MAXCOLS][CELL]);
    const summary_sink_t *m;
    tr_memo_t *mc;
    const row_t *const *rows; /* the row each table row shows */
    size_t nrows;
} table_t;

/* A table row is put together in a buffer and written with one call. */
typedef struct line {
    FILE *o;
    size_t at;
    char buf[2048];
} line_t;

static void line_put(line_t *l, const char *s, size_t n)
{
    while (n) {
        if (l->at == sizeof(l->buf)) { /* only for cells and headings wider than a row can be here */
            fwrite(l->buf, 1, l->at, l->o);
            l->at = 0;
        }
        size_t k = sizeof(l->buf) - l->at < n ? sizeof(l->buf) - l->at : n;
        memcpy(l->buf + l->at, s, k);
        l->at += k;
        s += k;
        n -= k;
    }
}

/* `n` spaces. */
static void line_pad(line_t *l, size_t n)
{
    static const char sp[] = "                                                                ";
    while (n > 0) {
        size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
        line_put(l, sp, k);
        n -= k;
    }
}

static void line_end(line_t *l)
{
    line_put(l, "\n", 1);
    fwrite(l->buf, 1, l->at, l->o);
    l->at = 0;
}

static void print_table(FILE *o, const table_t *t)
{
    size_t w[MAXCOLS];
    char cells[MAXCOLS][CELL];
    for (int c = 0; c < t->ncols; c++)
        w[c] = ss_i18n_width(t->head[c]);
    for (size_t r = 0; r < t->nrows; r++) {
        t->fill(t, r, cells);
        for (int c = 0; c < t->ncols; c++) {
            size_t x = ss_i18n_width(cells[c]);
            if (x > w[c])
                w[c] = x;
        }
    }
    line_t *l = &(line_t){.o = o};
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            line_put(l, "  ", 2);
        line_put(l, t->head[c], strlen(t->head[c]));
        if (c < t->ncols - 1)
            line_pad(l, w[c] - ss_i18n_width(t->head[c]));
    }
    line_end(l);
    for (size_t r = 0; r < t->nrows; r++) {
        t->fill(t, r, cells);
        for (int c = 0; c < t->ncols; c++) {
            size_t cw = ss_i18n_width(cells[c]), len = strlen(cells[c]);
            if (c)
                line_put(l, "  ", 2);
            if (t->right[c])
                line_pad(l, w[c] - cw);
            line_put(l, cells[c], len);
            if (!t->right[c] && c < t->ncols - 1)
                line_pad(l, w[c] - cw);
        }
        line_end(l);
    }
}

/* `s` into a cell, cut at CELL - 1 bytes as snprintf would be. */
static void cell_str(char *cell, const char *s) { ss_put_cut(cell, CELL, s, strlen(s)); }

/* A cell of one number, or of two separated by " / ": written without printf. */
static void cell_u64(char *cell, uint64_t v) { *ss_put_u64(cell, v) = '\0'; }

static void cell_pair(char *cell, uint64_t a, uint64_t b)
{
    char *p = ss_put_u64(cell, a);
    memcpy(p, " / ", 3);
    *ss_put_u64(p + 3, b) = '\0';
}

static void conv_cells(tr_memo_t *mc, const row_t *r, char cell[MAXCOLS][CELL])
{
    const ss_conv_info_t *i = &r->info;
    char a[80], b[80], t1[40], t2[40];
    int64_t start = i->first_sec * 1000000000LL + i->first_nsec - i->run_t0_ns;
    int64_t dur = (i->last_sec - i->first_sec) * 1000000000LL + ((int64_t)i->last_nsec - i->first_nsec);
    cell_u64(cell[0], i->index);
    cell_str(cell[1], i->proto == 6 ? "TCP" : "UDP");
    ss_fmt_text(cell[2], CELL, "%s \u2192 %s", ss_fmt_endpoint(&i->addr[0], i->port[0], a, sizeof(a)),
                ss_fmt_endpoint(&i->addr[1], i->port[1], b, sizeof(b)));
    cell_str(cell[3], ss_fmt_secs(start, 6, t1, sizeof(t1)));
    cell_str(cell[4], ss_fmt_secs(dur, 6, t2, sizeof(t2)));
    cell_pair(cell[5], i->frames[0], i->frames[1]);
    cell_pair(cell[6], i->bytes[0], i->bytes[1]);
    cell_pair(cell[7], i->payload[0], i->payload[1]);
    if (!r->is_tcp) {
        for (int c = 8; c < 12; c++)
            cell_str(cell[c], "-");
        return;
    }
    const ss_conv_tcp_t *t = &r->tcp;
    ss_handshake_t hs = ss_conv_handshake(t);
    if (hs == SS_HS_NONE) {
        cell_str(cell[8], TM_("not captured (scale unknown)"));
    } else if (t->has_irtt) {
        char ms[32];
        ss_fmt_ms(ms, sizeof(ms), t->irtt_ns);
        ss_fmt_text(cell[8], CELL, TM_("%s (iRTT %s ms)"), tr_memo(mc, ss_handshake_name(hs)), ms);
    } else {
        cell_str(cell[8], tr_memo(mc, ss_handshake_name(hs)));
    }
    if (t->simultaneous_open)
        /* TRANSLATORS: after the handshake cell: both sides sent a SYN (simultaneous open). */
        strncat(cell[8], TM_(", simultaneous"), CELL - strlen(cell[8]) - 1);
    ss_close_t cl = ss_conv_close(t);
    const char *who_fin = t->first_fin == SS_DIR_C2S ? TM_("client") : TM_("server");
    switch (cl) {
    case SS_CLOSE_FIN:
        /* TRANSLATORS: the close cell: "FIN four-way, client first". */
        ss_fmt_text(cell[9], CELL, TM_("FIN %s, %s first"), tr_memo(mc, ss_fin_style_name(t->fin_style)), who_fin);
        if (t->half_close)
            strncat(cell[9], TM_(", half-close"), CELL - strlen(cell[9]) - 1);
        break;
    case SS_CLOSE_HALF:
        ss_fmt_text(cell[9], CELL, TM_("half: only %s sent FIN"), who_fin);
        break;
    case SS_CLOSE_RST:
        /* TRANSLATORS: the close cell: "RST by client in ESTABLISHED" (a TCP state name). */
        ss_fmt_text(cell[9], CELL, TM_("RST by %s in %s"), t->first_rst == SS_DIR_C2S ? TM_("client") : TM_("server"),
                    ss_tcp_state_name(t->rst_state));
        break;
    case SS_CLOSE_REFUSED:
        cell_str(cell[9], TM_("refused (RST)"));
        break;
    case SS_CLOSE_OPEN:
        /* TRANSLATORS: the close cell: the connection was never closed in the capture. */
        cell_str(cell[9], TM_("open"));
        break;
    }
    ss_fmt_text(cell[10], CELL, "%s / %s", ss_tcp_state_name(t->state[0]), ss_tcp_state_name(t->state[1]));
    cell_str(cell[11], r->history);
}

static void analysis_cells(tr_memo_t *mc, const row_t *r, char cell[MAXCOLS][CELL])
{
    const ss_conv_tcp_t *t = &r->tcp;
    const uint64_t *n = t->counts;
    cell_u64(cell[0], r->info.index);
    ss_fmt_text(cell[1], CELL, TM_("%" PRIu64 " (%" PRIu64 " fast, %" PRIu64 " spurious)"), n[SS_TA_BIT_RETRANSMISSION],
                n[SS_TA_BIT_FAST_RETRANSMISSION], n[SS_TA_BIT_SPURIOUS_RETRANSMISSION]);
    cell_u64(cell[2], n[SS_TA_BIT_OUT_OF_ORDER]);
    cell_pair(cell[3], n[SS_TA_BIT_LOST_SEGMENT], n[SS_TA_BIT_ACK_LOST_SEGMENT]);
    cell_u64(cell[4], n[SS_TA_BIT_DUPLICATE_ACK]);
    ss_fmt_text(cell[5], CELL, "%" PRIu64 " / %" PRIu64 " / %" PRIu64, n[SS_TA_BIT_ZERO_WINDOW],
                n[SS_TA_BIT_ZERO_WINDOW_PROBE], n[SS_TA_BIT_WINDOW_FULL]);
    cell_u64(cell[6], n[SS_TA_BIT_WINDOW_UPDATE]);
    cell_u64(cell[7], n[SS_TA_BIT_KEEP_ALIVE]);
    if (t->rtt_samples) {
        char a[32], b[32], c[32];
        ss_fmt_ms(a, sizeof(a), t->rtt_min_ns);
        ss_fmt_ms(b, sizeof(b), t->rtt_sum_ns / (int64_t)t->rtt_samples);
        ss_fmt_ms(c, sizeof(c), t->rtt_max_ns);
        ss_fmt_text(cell[8], CELL, "%s / %s / %s (%" PRIu64 ")", a, b, c, t->rtt_samples);
    } else {
        cell_str(cell[8], "-");
    }
    cell_u64(cell[9], t->max_bif);
}

static const row_t *table_row(const table_t *t, size_t r)
{
    return t->rows[r];
}

static void fill_conv(const table_t *t, size_t r, char cell[MAXCOLS][CELL])
{
    conv_cells(t->mc, table_row(t, r), cell);
}

static void fill_analysis(const table_t *t, size_t r, char cell[MAXCOLS][CELL])
{
    analysis_cells(t->mc, table_row(t, r), cell);
}

/* Messages: two table rows per framed conversation, one per direction. */
static void fill_msgs(const table_t *t, size_t k, char cell[MAXCOLS][CELL])
{
    const row_t *r = table_row(t, k / 2);
    int d = (int)(k % 2);
    const row_msgs_t *g = &r->msgs[d];
    tr_memo_t *mc = t->mc;
    cell_u64(cell[0], r->info.index);
    cell_str(cell[1], d == 0 ? TM_("c\u2192s") : TM_("s\u2192c"));
    if (g->inferred)
        /* TRANSLATORS: a framing found by --framing auto, and how sure: "len32 (auto, high)". */
        ss_fmt_text(cell[2], CELL, TM_("%s (auto, %s)"), g->framing, tr_memo(mc, ss_confidence_name(g->confidence)));
    else
        cell_str(cell[2], strcmp(g->framing, "send() calls") == 0 ? TM_("send() calls") : g->framing);
    cell_u64(cell[3], g->messages);
    cell_u64(cell[4], g->incomplete);
    cell_u64(cell[5], g->coalesced_segments);
    cell_u64(cell[6], g->split_messages);
    cell_u64(cell[7], g->largest);
    cell_u64(cell[8], g->gap_bytes);
    if (g->traced)
        ss_fmt_text(cell[9], CELL, "%" PRIu64 " / %" PRIu64 " / %" PRIu64, g->send_calls, g->recv_calls,
                    g->glued_recvs);
    else
        cell_str(cell[9], "-");
    if (g->broken)
        ss_fmt_text(cell[10], CELL, TM_("framing lost at byte %" PRIu64 ": %s"), g->broken_at,
                    g->broken_why_local ? g->broken_why_local : "");
    else if (g->overlap_differs)
        ss_fmt_text(cell[10], CELL, TM_("%" PRIu32 " resends carried different bytes"), g->overlap_differs);
    else if (g->udp_missing || g->udp_late)
        ss_fmt_text(cell[10], CELL, TM_("%" PRIu64 " datagrams never seen, %" PRIu64 " late"), g->udp_missing,
                    g->udp_late);
    else
        cell_str(cell[10], "-");
}

static int summary_end(ss_sink_t *s, const ss_run_end_t *end)
{
    summary_sink_t *m = (summary_sink_t *)s;
    FILE *o = m->out;
    /* The rows by start; the analysis and message tables show some of them: which ones. */
    const row_t **order = malloc((m->n ? m->n : 1) * sizeof(*order));
    const row_t **idx = malloc((m->n ? m->n : 1) * sizeof(*idx));
    tr_memo_t *mc = calloc(1, sizeof(*mc));
    if (!order || !idx || !mc) {
        free(order);
        free(idx);
        free(mc);
        return SS_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->n; i++)
        order[i] = &m->rows[i];
    if (m->n)
        qsort(order, m->n, sizeof(*order), by_start);
    table_t t = {0};
    t.m = m;
    t.mc = mc;
    fprintf(o, "%s%s%s (%" PRIu64 ")\n", m->color ? "\033[1m" : "", _("Conversations"), m->color ? "\033[0m" : "",
            (uint64_t)m->n + m->unlisted);
    static const char *const h1[] = {"#", N_("proto"), N_("client \u2192 server"), N_("start"), N_("duration"),
                                     N_("frames c\u2192s / s\u2192c"), N_("bytes c\u2192s / s\u2192c"),
                                     N_("payload c\u2192s / s\u2192c"), N_("handshake"), N_("close"),
                                     N_("final state client / server"), N_("history")};
    t.ncols = 12;
    for (int c = 0; c < t.ncols; c++) {
        t.head[c] = ss_i18n_tr(h1[c]);
        t.right[c] = c == 0 || (c >= 3 && c <= 7);
    }
    t.fill = fill_conv;
    t.rows = order;
    t.nrows = m->n;
    print_table(o, &t);
    if (m->unlisted)
        fprintf(o, _("(%" PRIu64 " more conversations not listed: the tables keep the first %zu reported)\n"),
                m->unlisted, m->n);

    size_t ntcp = 0;
    for (size_t i = 0; i < m->n; i++)
        if (order[i]->is_tcp)
            idx[ntcp++] = order[i];
    if (ntcp) {
        static const char *const h2[] = {"#", N_("retransmissions"), N_("out-of-order"), N_("lost / ACKed unseen"),
                                         N_("dup ACKs"), N_("zero window / probes / full"), N_("window updates"),
                                         N_("keep-alives"), N_("RTT ms min / avg / max (samples)"),
                                         N_("max in flight")};
        fprintf(o, "\n%s%s%s\n", m->color ? "\033[1m" : "", _("TCP analysis"), m->color ? "\033[0m" : "");
        t.ncols = 10;
        for (int c = 0; c < t.ncols; c++) {
            t.head[c] = ss_i18n_tr(h2[c]);
            t.right[c] = c != 8;
        }
        t.fill = fill_analysis;
        t.rows = idx;
        t.nrows = ntcp;
        print_table(o, &t);
    }
    /* Messages: one row per direction of each framed conversation. */
    size_t nframed = 0;
    for (size_t i = 0; i < m->n; i++)
        if (order[i]->has_msgs)
            idx[nframed++] = order[i];
    if (nframed) {
        static const char *const h3[] = {"#", N_("dir"), N_("framing"), N_("messages"), N_("incomplete"),
                                         N_("coalesced segments"), N_("split messages"), N_("largest"),
                                         N_("gap bytes"), N_("send() / recv() calls / glued recvs"), N_("notes")};
        t.ncols = 11;
        for (int c = 0; c < t.ncols; c++) {
            t.head[c] = ss_i18n_tr(h3[c]);
            t.right[c] = c == 0 || (c >= 3 && c <= 9);
        }
        t.fill = fill_msgs;
        t.rows = idx;
        t.nrows = 2 * nframed;
        fprintf(o, "\n%s%s%s\n", m->color ? "\033[1m" : "", _("Messages"), m->color ? "\033[0m" : "");
        print_table(o, &t);
    }
    if (end->stats_valid)
        fprintf(o, _("\nlibpcap: %" PRIu64 " packets received by the filter, %" PRIu64 " dropped by the kernel\n"),
                end->pcap_received, end->pcap_dropped);
    free(order);
    free(idx);
    free(mc);
    return fflush(o) == 0 && !ferror(o) ? 0 : SS_ERR_IO;
}

static void summary_destroy(ss_sink_t *s)
{
    summary_sink_t *m = (summary_sink_t *)s;
    for (size_t i = 0; i < m->n; i++)
        for (int d = 0; d < 2; d++)
            free(m->rows[i].msgs[d].broken_why_local);
    free(m->rows);
    free(m);
}

/* It reads conversation records only: --summary --framing auto then needs one pass. */
static const ss_sink_ops_t summary_ops = {summary_begin, summary_event, summary_end, summary_destroy,
                                          SS_SINK_WANTS(SS_EV_CONVERSATION)};

ss_sink_t *ss_sink_summary_create_capped(FILE *out, bool color, size_t max_rows)
{
    summary_sink_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->base.ops = &summary_ops;
    m->out = out;
    m->color = color;
    m->max_rows = max_rows ? max_rows : SS_SUMMARY_DEFAULT_MAX_ROWS;
    return &m->base;
}

ss_sink_t *ss_sink_summary_create(FILE *out, bool color)
{
    return ss_sink_summary_create_capped(out, color, 0);
}
