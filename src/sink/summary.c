/*
 * summary.c - the per-conversation tables (--summary), printed at the end of the run.
 *
 * Each conversation reported is formatted once, into its cells: their text
 * and display widths, kept in one arena (a few hundred bytes a row, where
 * the record it comes from is some 800). The end then only sorts the rows
 * and pads the cells to the widest of each column. With a thread of its
 * own, the sink formats the rows there while the analysis goes on: the
 * analysing thread only copies each record and hands it over.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"
#include "segscope/grow.h"
#include "segscope/i18n.h"
#include "segscope/thread.h"

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
    ss_put_cut(k->framing, sizeof(k->framing), g->framing, strlen(g->framing));
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

/* A conversation kept for the tables: where it goes in them, and where its cells are. */
typedef struct srow {
    int64_t start; /* its first packet, in nanoseconds since the epoch */
    uint64_t index;
    int proto;
    bool is_tcp, has_msgs;
    size_t at; /* its cells in the arena: Conversations, then TCP analysis (TCP), then two Messages rows (framed) */
} srow_t;

/*
 * Translations looked up once per call site: gettext is slow next to the
 * rest of a row. Keyed by the address of the text, which is the same at
 * every call of one site.
 */
#define MEMO_SLOTS 128

typedef struct tr_memo {
    const char *id[MEMO_SLOTS];
    const char *tr[MEMO_SLOTS];
} tr_memo_t;

enum { T_CONV, T_TCP, T_MSGS, NTABLES };
#define MAXCOLS 16
#define CELL 160 /* a cell's text is cut at CELL - 1 bytes, so its length fits in a byte */

/* The formatted rows: written by whoever formats (the sink's thread, if it has one), read at the end. */
typedef struct kept {
    srow_t *rows;
    size_t n, cap;
    uint8_t *arena; /* per cell: its length, its width, its bytes */
    size_t used, arena_cap;
    size_t w[NTABLES][MAXCOLS]; /* the widest cell of each column so far */
    tr_memo_t mc;
    bool oom;
} kept_t;

/* Rows handed to the sink's thread, and the thread's state. */
typedef struct worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t more;
    row_t *q; /* handed over, not formatted yet */
    size_t qn, qcap;
    bool waiting; /* the thread waits for rows */
    bool closing; /* the end: format what is left, then return */
    bool oom;     /* a row could not be handed over */
} worker_t;

typedef struct summary_sink {
    ss_sink_t base;
    FILE *out;
    bool color;
    size_t n;          /* conversations kept (formatted, or handed over to be) */
    size_t max_rows;   /* conversations kept; the rest are only counted */
    uint64_t unlisted; /* conversations reported after the table was full */
    kept_t k;
    bool threaded;     /* the rows are formatted on the sink's thread, `w` */
    worker_t w;
} summary_sink_t;

static int summary_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    (void)s;
    (void)info;
    return 0;
}

/* What the tables show of a conversation, copied from its record (the history and the notes are copies). */
static void copy_row(row_t *r, const ss_conv_info_t *conv)
{
    memset(r, 0, sizeof(*r));
    r->info = *conv;
    if (conv->tcp) {
        r->is_tcp = true;
        r->tcp = *conv->tcp;
        const char *h = r->tcp.history ? r->tcp.history : "";
        ss_put_cut(r->history, sizeof(r->history), h, strlen(h));
        r->tcp.history = NULL;
    }
    if (conv->msgs) {
        r->has_msgs = true;
        keep_msgs(&r->msgs[0], &conv->msgs[0]);
        keep_msgs(&r->msgs[1], &conv->msgs[1]);
    }
    r->info.tcp = NULL;
    r->info.msgs = NULL;
}

static void free_row(row_t *r)
{
    free(r->msgs[0].broken_why_local);
    free(r->msgs[1].broken_why_local);
}

static bool keep_row(kept_t *k, const row_t *r);

/* Rows handed over together: the thread is woken once per so many. */
enum { HAND_BATCH = 32 };

/* Gives a row to the sink's thread, which then owns its copies. */
static int hand_over(summary_sink_t *m, row_t *r)
{
    worker_t *w = &m->w;
    pthread_mutex_lock(&w->mu);
    row_t *nq = ss_grow(w->q, w->qn, &w->qcap, sizeof(*nq), 64);
    if (nq) {
        w->q = nq;
        w->q[w->qn++] = *r;
        if (w->waiting && w->qn >= HAND_BATCH)
            pthread_cond_signal(&w->more);
    } else {
        w->oom = true;
    }
    pthread_mutex_unlock(&w->mu);
    if (nq)
        return 0;
    free_row(r);
    return SS_ERR_NOMEM;
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
    m->n++;
    row_t r;
    copy_row(&r, ev->u.conv);
    if (m->threaded)
        return hand_over(m, &r);
    bool ok = keep_row(&m->k, &r);
    free_row(&r);
    return ok ? 0 : SS_ERR_NOMEM;
}

__attribute__((format_arg(2))) static const char *tr_memo(tr_memo_t *mc, const char *msgid)
{
    /* Open addressing from a mixed address; the few dozen texts of the tables never fill it. */
    size_t k = (size_t)(((uintptr_t)msgid * UINT64_C(0x9E3779B97F4A7C15)) >> 32) % MEMO_SLOTS;
    for (size_t i = 0; i < MEMO_SLOTS; i++, k = (k + 1) % MEMO_SLOTS) {
        if (mc->id[k] == msgid)
            return mc->tr[k];
        if (!mc->id[k]) {
            mc->id[k] = msgid;
            mc->tr[k] = ss_i18n_tr(msgid);
            return mc->tr[k];
        }
    }
    return ss_i18n_tr(msgid); /* full: not remembered */
}

/* _(text) through the memo `mc` in scope (its own keyword for xgettext). */
#define TM_(text) tr_memo(mc, text)

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

/* Messages: one table row per direction of a framed conversation. */
static void msgs_cells(tr_memo_t *mc, const row_t *r, int d, char cell[MAXCOLS][CELL])
{
    const row_msgs_t *g = &r->msgs[d];
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

/* Columns of each table. */
static const int ncols[NTABLES] = {12, 10, 11};

/* Appends a table row's cells to the arena and widens the columns they are wider than. */
static bool put_cells(kept_t *k, int t, char cell[MAXCOLS][CELL])
{
    size_t len[MAXCOLS], need = 0;
    for (int c = 0; c < ncols[t]; c++) {
        len[c] = strlen(cell[c]); /* < CELL: every cell is written cut to fit */
        need += 2 + len[c];
    }
    if (!ss_grow_bytes(&k->arena, k->used, &k->arena_cap, need, 64 * 1024))
        return false;
    uint8_t *p = k->arena + k->used;
    for (int c = 0; c < ncols[t]; c++) {
        size_t w = ss_i18n_width(cell[c]); /* <= len: a column per byte at most */
        p[0] = (uint8_t)len[c];
        p[1] = (uint8_t)w;
        memcpy(p + 2, cell[c], len[c]);
        p += 2 + len[c];
        if (w > k->w[t][c])
            k->w[t][c] = w;
    }
    k->used = (size_t)(p - k->arena);
    return true;
}

/* Formats a conversation's rows of the three tables into `k`; false (and nothing kept) when out of memory. */
static bool keep_row(kept_t *k, const row_t *r)
{
    if (k->oom)
        return false;
    srow_t *nr = ss_grow(k->rows, k->n, &k->cap, sizeof(*nr), 64);
    if (!nr) {
        k->oom = true;
        return false;
    }
    k->rows = nr;
    srow_t *sr = &k->rows[k->n];
    sr->start = r->info.first_sec * 1000000000LL + r->info.first_nsec;
    sr->index = r->info.index;
    sr->proto = r->info.proto;
    sr->is_tcp = r->is_tcp;
    sr->has_msgs = r->has_msgs;
    sr->at = k->used;
    char cell[MAXCOLS][CELL];
    conv_cells(&k->mc, r, cell);
    bool ok = put_cells(k, T_CONV, cell);
    if (ok && r->is_tcp) {
        analysis_cells(&k->mc, r, cell);
        ok = put_cells(k, T_TCP, cell);
    }
    for (int d = 0; ok && r->has_msgs && d < 2; d++) {
        msgs_cells(&k->mc, r, d, cell);
        ok = put_cells(k, T_MSGS, cell);
    }
    if (!ok) {
        k->used = sr->at;
        k->oom = true;
        return false;
    }
    k->n++;
    return true;
}

/* The sink's thread: formats the rows handed over, until the end and none are left. */
static void *work(void *arg)
{
    summary_sink_t *m = arg;
    worker_t *w = &m->w;
    row_t *mine = NULL;
    size_t mcap = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->qn == 0 && !w->closing) {
            w->waiting = true;
            pthread_cond_wait(&w->more, &w->mu);
            w->waiting = false;
        }
        if (w->qn == 0)
            break; /* the end, and everything formatted */
        /* Takes the rows handed over; the sink goes on in the array formatted last. */
        row_t *batch = w->q;
        size_t n = w->qn, cap = w->qcap;
        w->q = mine;
        w->qcap = mcap;
        w->qn = 0;
        mine = batch;
        mcap = cap;
        pthread_mutex_unlock(&w->mu);
        for (size_t i = 0; i < n; i++) {
            keep_row(&m->k, &mine[i]);
            free_row(&mine[i]);
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    free(mine);
    return NULL;
}

/* Starts the sink's thread; false (and nothing to undo) when it cannot. */
static bool start_worker(summary_sink_t *m)
{
    worker_t *w = &m->w;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        return false;
    if (pthread_cond_init(&w->more, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        return false;
    }
    if (ss_thread_start(&w->thread, work, m) == 0)
        return true;
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->mu);
    return false;
}

/* Waits for the sink's thread to format every row handed over; `k` is then this thread's. */
static void stop_worker(summary_sink_t *m)
{
    if (!m->threaded)
        return;
    worker_t *w = &m->w;
    pthread_mutex_lock(&w->mu);
    w->closing = true;
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->more);
    pthread_mutex_destroy(&w->mu);
    free(w->q); /* empty: the thread formatted (and freed the copies of) every row */
    w->q = NULL;
    m->threaded = false;
}

/* A table's rows are put together in a buffer and written in large pieces. */
typedef struct out {
    FILE *o;
    size_t at, cap, row_max; /* row_max: bytes a row takes at most */
    char *buf;
} out_t;

static void out_flush(out_t *u)
{
    fwrite(u->buf, 1, u->at, u->o);
    u->at = 0;
}

/* Room for a row. */
static char *out_room(out_t *u)
{
    if (u->cap - u->at < u->row_max)
        out_flush(u);
    return u->buf + u->at;
}

/* A table as laid out: its headings, the columns' widths and which are right-aligned. */
typedef struct table {
    int ncols;
    const char *head[MAXCOLS];
    size_t head_w[MAXCOLS]; /* the headings' display widths */
    bool right[MAXCOLS];
    size_t w[MAXCOLS];
} table_t;

/* Writes one row from its cells at `p`; returns the cells after them. */
static const uint8_t *print_row(out_t *u, const table_t *t, const uint8_t *p)
{
    char *b = out_room(u), *start = b;
    for (int c = 0; c < t->ncols; c++) {
        size_t len = p[0], pad = t->w[c] - p[1];
        if (c) {
            memcpy(b, "  ", 2);
            b += 2;
        }
        if (t->right[c]) {
            memset(b, ' ', pad);
            b += pad;
        }
        memcpy(b, p + 2, len);
        b += len;
        if (!t->right[c] && c < t->ncols - 1) {
            memset(b, ' ', pad);
            b += pad;
        }
        p += 2 + len;
    }
    *b++ = '\n';
    u->at += (size_t)(b - start);
    return p;
}

/* The cells after the `n` cells at `p`. */
static const uint8_t *skip_cells(const uint8_t *p, int n)
{
    for (int c = 0; c < n; c++)
        p += 2 + p[0];
    return p;
}

/*
 * Table `t`: its headings (translated here), then a row (two for Messages)
 * per listed conversation; false when out of memory.
 */
static bool print_table(FILE *o, const kept_t *k, int t, const char *const *head, const srow_t *const *rows,
                        size_t nrows)
{
    table_t tb = {.ncols = ncols[t]};
    for (int c = 0; c < tb.ncols; c++) {
        tb.head[c] = ss_i18n_tr(head[c]);
        tb.head_w[c] = ss_i18n_width(tb.head[c]);
        tb.w[c] = tb.head_w[c] > k->w[t][c] ? tb.head_w[c] : k->w[t][c];
        switch (t) {
        case T_CONV: tb.right[c] = c == 0 || (c >= 3 && c <= 7); break;
        case T_TCP: tb.right[c] = c != 8; break;
        default: tb.right[c] = c == 0 || (c >= 3 && c <= 9); break;
        }
    }
    /* The headings: a translation may be longer than a cell, so they go through stdio. */
    for (int c = 0; c < tb.ncols; c++) {
        if (c)
            fputs("  ", o);
        fputs(tb.head[c], o);
        for (size_t i = tb.head_w[c]; c < tb.ncols - 1 && i < tb.w[c]; i++)
            fputc(' ', o);
    }
    fputc('\n', o);
    /* A cell's bytes, its padding to the column's width and the gap before it; the newline. */
    out_t u = {.o = o, .row_max = 1};
    for (int c = 0; c < tb.ncols; c++)
        u.row_max += 2 + tb.w[c] + CELL;
    u.cap = u.row_max > 32 * 1024 ? 2 * u.row_max : 64 * 1024;
    u.buf = malloc(u.cap);
    if (!u.buf)
        return false;
    for (size_t r = 0; r < nrows; r++) {
        const srow_t *sr = rows[r];
        const uint8_t *p = k->arena + sr->at;
        if (t != T_CONV)
            p = skip_cells(p, ncols[T_CONV]);
        if (t == T_MSGS && sr->is_tcp)
            p = skip_cells(p, ncols[T_TCP]);
        p = print_row(&u, &tb, p);
        if (t == T_MSGS)
            print_row(&u, &tb, p);
    }
    out_flush(&u);
    free(u.buf);
    return true;
}

/* Order of rows by start, for qsort of row pointers. */
static int by_start(const void *x, const void *y)
{
    const srow_t *a = *(const srow_t *const *)x, *b = *(const srow_t *const *)y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->proto != b->proto)
        return a->proto - b->proto;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int summary_end(ss_sink_t *s, const ss_run_end_t *end)
{
    summary_sink_t *m = (summary_sink_t *)s;
    FILE *o = m->out;
    stop_worker(m);
    const kept_t *k = &m->k;
    /* The rows by start; the analysis and message tables show some of them: which ones. */
    const srow_t **order = malloc((k->n ? k->n : 1) * sizeof(*order));
    const srow_t **idx = malloc((k->n ? k->n : 1) * sizeof(*idx));
    if (!order || !idx) {
        free(order);
        free(idx);
        return SS_ERR_NOMEM;
    }
    for (size_t i = 0; i < k->n; i++)
        order[i] = &k->rows[i];
    if (k->n)
        qsort(order, k->n, sizeof(*order), by_start);
    fprintf(o, "%s%s%s (%" PRIu64 ")\n", m->color ? "\033[1m" : "", _("Conversations"), m->color ? "\033[0m" : "",
            (uint64_t)m->n + m->unlisted);
    static const char *const h1[] = {"#", N_("proto"), N_("client \u2192 server"), N_("start"), N_("duration"),
                                     N_("frames c\u2192s / s\u2192c"), N_("bytes c\u2192s / s\u2192c"),
                                     N_("payload c\u2192s / s\u2192c"), N_("handshake"), N_("close"),
                                     N_("final state client / server"), N_("history")};
    bool ok = print_table(o, k, T_CONV, h1, order, k->n);
    if (m->unlisted)
        fprintf(o, _("(%" PRIu64 " more conversations not listed: the tables keep the first %zu reported)\n"),
                m->unlisted, m->n);

    size_t ntcp = 0;
    for (size_t i = 0; i < k->n; i++)
        if (order[i]->is_tcp)
            idx[ntcp++] = order[i];
    if (ntcp) {
        static const char *const h2[] = {"#", N_("retransmissions"), N_("out-of-order"), N_("lost / ACKed unseen"),
                                         N_("dup ACKs"), N_("zero window / probes / full"), N_("window updates"),
                                         N_("keep-alives"), N_("RTT ms min / avg / max (samples)"),
                                         N_("max in flight")};
        fprintf(o, "\n%s%s%s\n", m->color ? "\033[1m" : "", _("TCP analysis"), m->color ? "\033[0m" : "");
        ok = ok && print_table(o, k, T_TCP, h2, idx, ntcp);
    }
    /* Messages: one row per direction of each framed conversation. */
    size_t nframed = 0;
    for (size_t i = 0; i < k->n; i++)
        if (order[i]->has_msgs)
            idx[nframed++] = order[i];
    if (nframed) {
        static const char *const h3[] = {"#", N_("dir"), N_("framing"), N_("messages"), N_("incomplete"),
                                         N_("coalesced segments"), N_("split messages"), N_("largest"),
                                         N_("gap bytes"), N_("send() / recv() calls / glued recvs"), N_("notes")};
        fprintf(o, "\n%s%s%s\n", m->color ? "\033[1m" : "", _("Messages"), m->color ? "\033[0m" : "");
        ok = ok && print_table(o, k, T_MSGS, h3, idx, nframed);
    }
    if (end->stats_valid)
        fprintf(o, _("\nlibpcap: %" PRIu64 " packets received by the filter, %" PRIu64 " dropped by the kernel\n"),
                end->pcap_received, end->pcap_dropped);
    free(order);
    free(idx);
    if (!ok || k->oom || m->w.oom)
        return SS_ERR_NOMEM; /* some rows could not be kept or printed: the tables above lack them */
    return fflush(o) == 0 && !ferror(o) ? 0 : SS_ERR_IO;
}

static void summary_destroy(ss_sink_t *s)
{
    summary_sink_t *m = (summary_sink_t *)s;
    stop_worker(m); /* when the run ended without summary_end */
    free(m->k.rows);
    free(m->k.arena);
    free(m);
}

/* It reads conversation records only: --summary --framing auto then needs one pass. */
static const ss_sink_ops_t summary_ops = {summary_begin, summary_event, summary_end, summary_destroy,
                                          SS_SINK_WANTS(SS_EV_CONVERSATION)};

ss_sink_t *ss_sink_summary_create_opts(FILE *out, const ss_summary_opts_t *o)
{
    summary_sink_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->base.ops = &summary_ops;
    m->out = out;
    m->color = o->color;
    m->max_rows = o->max_rows ? o->max_rows : SS_SUMMARY_DEFAULT_MAX_ROWS;
    m->threaded = o->thread && start_worker(m);
    return &m->base;
}

ss_sink_t *ss_sink_summary_create_capped(FILE *out, bool color, size_t max_rows)
{
    return ss_sink_summary_create_opts(out, &(ss_summary_opts_t){.color = color, .max_rows = max_rows});
}

ss_sink_t *ss_sink_summary_create(FILE *out, bool color)
{
    return ss_sink_summary_create_capped(out, color, 0);
}
