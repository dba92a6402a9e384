/* sink.h - the interface every output format implements, and the built-in formats. */
#ifndef SEGSCOPE_SINK_H
#define SEGSCOPE_SINK_H

#include <stdbool.h>
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
} ss_sink_ops_t;

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

/* Destroys any sink; NULL is allowed. */
void ss_sink_destroy(ss_sink_t *s);

#endif
