/* sink.h - the interface every output format implements, and the built-in formats. */
#ifndef SEGSCOPE_SINK_H
#define SEGSCOPE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segscope/event.h"

typedef struct ss_sink ss_sink_t;

/*
 * A sink receives begin, then events in capture order, then end. Each
 * callback returns 0 or a negative ss_err_t (an output error stops the run).
 */
typedef struct ss_sink_ops {
    int (*begin)(ss_sink_t *s, const ss_run_info_t *info);
    int (*event)(ss_sink_t *s, const ss_event_t *ev);
    int (*end)(ss_sink_t *s, const ss_run_end_t *end);
    void (*destroy)(ss_sink_t *s);
    /*
     * The event types it reads, as SS_SINK_WANTS(type) bits; 0 means all.
     * The analyzer sends a sink only those, and does in one pass what only
     * per-packet or per-message readers need a second pass for (--framing auto).
     */
    uint32_t wants;
} ss_sink_ops_t;

#define SS_SINK_WANTS(type) (1u << (type))
#define SS_SINK_WANTS_ALL 0u

/* Implementations embed this as their first member. */
struct ss_sink {
    const ss_sink_ops_t *ops;
};

typedef struct ss_text_opts {
    bool color;        /* ANSI colours */
    bool show_options; /* print TCP options */
    bool line_flush;   /* flush after every line (live capture) */
    bool explain;      /* a sentence of why under each marker, handshake and teardown packet */
} ss_text_opts_t;

/* The one-line-per-packet timeline, written to `out` (not closed). NULL on ENOMEM. */
ss_sink_t *ss_sink_text_create(FILE *out, const ss_text_opts_t *opts);

/* Writes the --explain sentences for one TCP packet (indented lines). */
void ss_explain_packet(FILE *out, const ss_pkt_event_t *pe, bool color);

/* The same for a UDP datagram seen with --framing. */
void ss_explain_udp(FILE *out, const ss_pkt_event_t *pe, bool color);

/*
 * The per-conversation summary tables, printed at the end of the run to
 * `out` (not closed). NULL on ENOMEM.
 */
ss_sink_t *ss_sink_summary_create(FILE *out, bool color);

/* Conversations the summary tables keep by default (a capture can hold millions). */
#define SS_SUMMARY_DEFAULT_MAX_ROWS 20000u

/*
 * The same, keeping at most `max_rows` conversations for the tables (0 =
 * SS_SUMMARY_DEFAULT_MAX_ROWS): the first ones reported. Later ones are only
 * counted, and the tables say how many they left out. NULL on ENOMEM.
 */
ss_sink_t *ss_sink_summary_create_capped(FILE *out, bool color, size_t max_rows);

typedef struct ss_summary_opts {
    bool color;
    size_t max_rows; /* as for ss_sink_summary_create_capped */
    /*
     * Format each conversation's rows on a thread of the sink's own, while
     * the analysis goes on (the tables are the same either way). When the
     * thread cannot be started, they are formatted on the caller's.
     */
    bool thread;
} ss_summary_opts_t;

/* The same, with options. NULL on ENOMEM. */
ss_sink_t *ss_sink_summary_create_opts(FILE *out, const ss_summary_opts_t *o);

/*
 * JSON Lines (docs/json.md), written to `out` (not closed); `packets` false
 * leaves out the packet records (conversations only). NULL on ENOMEM.
 */
ss_sink_t *ss_sink_json_create(FILE *out, bool line_flush, bool packets);

/*
 * --follow: the reassembled byte stream of TCP conversation `stream`, both
 * directions in the order the bytes were delivered, text as text and the
 * rest as hex (everything as hex with `hex`), gaps and message ends
 * marked. NULL on ENOMEM.
 */
ss_sink_t *ss_sink_follow_create(FILE *out, uint64_t stream, bool color, bool hex);

/*
 * --html: one self-contained HTML report (inline CSS, SVG and a little
 * JavaScript; nothing is fetched from elsewhere), written to `out` (not
 * closed) at the end of the run: the conversation table (sortable), and per
 * conversation a ladder diagram, a time-sequence graph and a message view.
 * The sink keeps what it draws in memory, bounded by the caps below; a note
 * in the page says where a cap cut the view.
 */
typedef struct ss_html_opts {
    uint32_t max_elements;      /* packets and messages kept over all conversations; 0 = 20000 */
    uint32_t max_conv_elements; /* ... and per conversation; 0 = 2000 */
    uint32_t max_rows;          /* conversations listed in the table; 0 = 5000 */
} ss_html_opts_t;

#define SS_HTML_DEFAULT_MAX_ELEMENTS 20000u
#define SS_HTML_DEFAULT_MAX_CONV_ELEMENTS 2000u
#define SS_HTML_DEFAULT_MAX_ROWS 5000u

/* The HTML report sink; `opts` may be NULL (defaults). NULL on ENOMEM. */
ss_sink_t *ss_sink_html_create(FILE *out, const ss_html_opts_t *opts);

/*
 * --csv: the conversation summary as CSV (RFC 4180 quoting, LF line ends):
 * a header row, then one row per conversation with the fields of the JSON
 * conversation record, in the same order as those records. NULL on ENOMEM.
 */
ss_sink_t *ss_sink_csv_create(FILE *out);

/*
 * --pcapng-out: the capture again as pcapng, packets and timestamps byte for
 * byte, with segscope's findings as packet comments (frame.comment in
 * Wireshark) and a section comment saying how it was made. NULL on ENOMEM.
 */
ss_sink_t *ss_sink_pcapng_create(FILE *out);

/* Destroys any sink; NULL is allowed. */
void ss_sink_destroy(ss_sink_t *s);

#endif
