/* csv.c - the conversation summary as CSV (--csv): one row per conversation record. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "segscope/err.h"

/*
 * The columns carry the same values as the JSON conversation record
 * (docs/json.md), flattened: nested objects become prefixed names
 * (isn_client, state_server, rtt_min ...), the analysis counts get one
 * column per flag, and a value JSON writes as null is an empty field. Rows
 * come in the order of the JSON records (when each conversation ended), so
 * nothing is buffered and a live capture can stream them.
 */
typedef struct csv_sink {
    ss_sink_t base;
    FILE *out;
} csv_sink_t;

/* Writes one field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_field(FILE *o, const char *s, bool first)
{
    if (!first)
        fputc(',', o);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, o);
        return;
    }
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', o);
        fputc(*s, o);
    }
    fputc('"', o);
}

static void csv_u64(FILE *o, uint64_t v)
{
    fprintf(o, ",%" PRIu64, v);
}

static void csv_secs(FILE *o, int64_t ns)
{
    char b[40];
    fprintf(o, ",%s", ss_fmt_secs(ns, 9, b, sizeof(b)));
}

static const char *const msg_cols[] = {"framing",       "messages",        "incomplete",        "coalesced_segments",
                                        "split_messages", "largest",        "gap_bytes",         "overlap_bytes",
                                        "overlap_differs", "dropped_bytes", "datagrams_missing", "datagrams_late",
                                        "broken_at",     "broken_why"};
#define N_MSG_COLS (sizeof(msg_cols) / sizeof(msg_cols[0]))

static int csv_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    csv_sink_t *c = (csv_sink_t *)s;
    FILE *o = c->out;
    (void)info;
    static const char *const head[] = {
        "stream", "proto", "client", "server", "start", "duration", "frames_c2s", "bytes_c2s", "frames_s2c",
        "bytes_s2c", "payload_c2s", "payload_s2c", "handshake", "irtt", "close", "closed_first_by", "rst_by",
        "rst_in_state", "half_close", "fin_exchange", "simultaneous_open", "isn_client", "isn_server",
        "state_client", "state_server", "history", "syn_retransmissions", "synack_retransmissions"};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        csv_field(o, head[i], i == 0);
    for (int bit = 0; bit < SS_TA_COUNT; bit++)
        fprintf(o, ",%s", ss_tcp_analysis_name(bit));
    fputs(",rtt_samples,rtt_min,rtt_avg,rtt_max,max_bytes_in_flight,completeness", o);
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; i < N_MSG_COLS; i++)
            fprintf(o, ",%s_%s", msg_cols[i], d ? "s2c" : "c2s");
    fputc('\n', o);
    return ferror(o) ? SS_ERR_IO : 0;
}

static void csv_conversation(FILE *o, const ss_conv_info_t *cv)
{
    char a[80], b[80];
    const ss_conv_tcp_t *t = cv->tcp;
    int64_t start = cv->first_sec * 1000000000LL + cv->first_nsec;
    int64_t last = cv->last_sec * 1000000000LL + cv->last_nsec;
    fprintf(o, "%" PRIu64 ",%s", cv->index, cv->proto == 6 ? "tcp" : "udp");
    csv_field(o, ss_fmt_endpoint(&cv->addr[0], cv->port[0], a, sizeof(a)), false);
    csv_field(o, ss_fmt_endpoint(&cv->addr[1], cv->port[1], b, sizeof(b)), false);
    csv_secs(o, start - cv->run_t0_ns);
    csv_secs(o, last - start);
    for (int d = 0; d < 2; d++) {
        csv_u64(o, cv->frames[d]);
        csv_u64(o, cv->bytes[d]);
    }
    csv_u64(o, cv->payload[0]);
    csv_u64(o, cv->payload[1]);
    if (t) {
        ss_close_t cl = ss_conv_close(t);
        fprintf(o, ",%s", ss_handshake_name(ss_conv_handshake(t)));
        if (t->has_irtt)
            csv_secs(o, t->irtt_ns);
        else
            fputc(',', o);
        fprintf(o, ",%s", ss_close_name(cl));
        int first = t->first_fin >= 0 ? t->first_fin : t->first_rst;
        fprintf(o, ",%s", cl == SS_CLOSE_OPEN || first < 0 ? "" : first == SS_DIR_C2S ? "client" : "server");
        if (t->first_rst >= 0)
            fprintf(o, ",%s,%s", t->first_rst == SS_DIR_C2S ? "client" : "server", ss_tcp_state_name(t->rst_state));
        else
            fputs(",,", o);
        fprintf(o, ",%s,%s,%s", t->half_close ? "true" : "false", t->fin_style ? ss_fin_style_name(t->fin_style) : "",
                t->simultaneous_open ? "true" : "false");
        for (int d = 0; d < 2; d++) {
            if (t->isn_known[d])
                fprintf(o, ",%" PRIu32, t->isn[d]);
            else
                fputc(',', o);
        }
        fprintf(o, ",%s,%s", ss_tcp_state_name(t->state[0]), ss_tcp_state_name(t->state[1]));
        csv_field(o, t->history ? t->history : "", false);
        fprintf(o, ",%" PRIu32 ",%" PRIu32, t->syn_retrans[0], t->syn_retrans[1]);
        for (int bit = 0; bit < SS_TA_COUNT; bit++)
            csv_u64(o, t->counts[bit]);
        if (t->rtt_samples) {
            csv_u64(o, t->rtt_samples);
            csv_secs(o, t->rtt_min_ns);
            csv_secs(o, t->rtt_sum_ns / (int64_t)t->rtt_samples);
            csv_secs(o, t->rtt_max_ns);
        } else {
            fputs(",,,,", o);
        }
        fprintf(o, ",%" PRIu32 ",%u", t->max_bif, t->completeness);
    } else {
        /* UDP: the TCP columns stay empty. */
        for (int i = 0; i < 16 + SS_TA_COUNT + 6; i++)
            fputc(',', o);
    }
    for (int d = 0; d < 2; d++) {
        if (!cv->msgs) {
            for (size_t i = 0; i < N_MSG_COLS; i++)
                fputc(',', o);
            continue;
        }
        const ss_conv_msgs_t *m = &cv->msgs[d];
        csv_field(o, m->framing, false);
        csv_u64(o, m->messages);
        csv_u64(o, m->incomplete);
        csv_u64(o, m->coalesced_segments);
        csv_u64(o, m->split_messages);
        csv_u64(o, m->largest);
        csv_u64(o, m->gap_bytes);
        csv_u64(o, m->overlap_bytes);
        csv_u64(o, m->overlap_differs);
        csv_u64(o, m->dropped_bytes);
        csv_u64(o, m->udp_missing);
        csv_u64(o, m->udp_late);
        if (m->broken) {
            csv_u64(o, m->broken_at);
            csv_field(o, m->broken_why, false);
        } else {
            fputs(",,", o);
        }
    }
    fputc('\n', o);
}

static int csv_event(ss_sink_t *s, const ss_event_t *ev)
{
    csv_sink_t *c = (csv_sink_t *)s;
    if (ev->type != SS_EV_CONVERSATION)
        return 0;
    csv_conversation(c->out, ev->u.conv);
    return ferror(c->out) ? SS_ERR_IO : 0;
}

static int csv_end(ss_sink_t *s, const ss_run_end_t *end)
{
    csv_sink_t *c = (csv_sink_t *)s;
    (void)end;
    return fflush(c->out) == 0 && !ferror(c->out) ? 0 : SS_ERR_IO;
}

static const ss_sink_ops_t csv_ops = {csv_begin, csv_event, csv_end, ss_sink_noop_destroy, SS_SINK_WANTS_ALL};

ss_sink_t *ss_sink_csv_create(FILE *out)
{
    csv_sink_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base.ops = &csv_ops;
    c->out = out;
    return &c->base;
}
