/* analyzer.h - the analysis pipeline: frames in, events out to sinks. */
#ifndef SEGSCOPE_ANALYZER_H
#define SEGSCOPE_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>

#include "segscope/apptrace.h"
#include "segscope/decode.h"
#include "segscope/flow.h"
#include "segscope/framing.h"
#include "segscope/limits.h"
#include "segscope/sink.h"

#define SS_MAX_PORT_FRAMINGS 16

typedef struct ss_config {
    ss_limits_t limits;
    bool verify_checksums; /* IPv4/TCP/UDP checksums (off by default, like Wireshark) */
    bool reassemble;       /* TCP stream reassembly and message framing */
    ss_framing_t framing;  /* for conversations no port entry names */
    struct {
        uint16_t port;
        ss_framing_t framing;
    } port_framing[SS_MAX_PORT_FRAMINGS]; /* by server port (either port matches) */
    int nport_framing;
    bool emit_data;        /* report reassembled bytes as SS_EV_DATA events (for --follow) */
    ss_apptrace_t *app_trace; /* borrowed: send()/recv() calls to line up with the capture */
    bool inference_done;   /* second pass of --framing auto: use `inferred`, infer nothing */
    bool keep_inferred;    /* first pass of --framing auto: keep every verdict for ss_analyzer_inferred */
    const struct ss_inferred *inferred; /* borrowed: framings a first pass inferred, by tcp_stream */
    size_t ninferred;
} ss_config_t;

/*
 * What --framing auto concluded for one TCP conversation (both directions,
 * by SS_DIR_*); the words come from ss_auto_explain when needed.
 */
typedef struct ss_inferred {
    uint64_t index; /* tcp_stream */
    ss_auto_verdict_t dir[2];
} ss_inferred_t;

/*
 * Parses a --framing argument into `cfg`: one framing for every
 * conversation ("len32"), or per port ("9000=len32,9001=line"), or both
 * ("line,9000=len32"). Sets cfg->reassemble. Returns 0 or SS_ERR_INVAL
 * with a reason in `err`.
 */
int ss_config_set_framing(ss_config_t *cfg, const char *arg, char *err, size_t errlen);

/* Fills `c` with the defaults. */
void ss_config_init(ss_config_t *c);

/* True when some conversations' framing is to be inferred (--framing auto, for all or a port). */
bool ss_config_infers(const ss_config_t *cfg);

typedef struct ss_analyzer ss_analyzer_t;

/*
 * Creates an analyzer that reports to `nsinks` sinks (borrowed: they must
 * outlive it). Returns NULL on allocation failure.
 */
ss_analyzer_t *ss_analyzer_create(const ss_config_t *cfg, ss_sink_t *const *sinks, size_t nsinks);

/*
 * --framing auto infers each direction's framing from its whole stream. In
 * one pass that is known when the conversation ends: its record then carries
 * the framing and the message totals, but its packets and messages were
 * reported unframed. True when some sink reads packets, messages, stream
 * bytes or recv() calls (or an application trace is lined up), so that the
 * capture should first be read by a run with keep_inferred and then by this
 * one after ss_analyzer_set_inferred.
 */
bool ss_analyzer_needs_first_pass(const ss_analyzer_t *a);

/* Before the first frame: frame with a first pass's verdicts (borrowed, sorted by tcp_stream). */
void ss_analyzer_set_inferred(ss_analyzer_t *a, const ss_inferred_t *inferred, size_t n);

/* Starts a run: calls every sink's begin. Returns 0 or a sink's error. */
int ss_analyzer_begin(ss_analyzer_t *a, const ss_run_info_t *info);

/*
 * Decodes and analyses one frame (frames must come in capture order) and
 * reports it. Returns 0, SS_ERR_NOMEM, or a sink's error.
 */
int ss_analyzer_feed(ss_analyzer_t *a, const ss_frame_t *frame);

/*
 * Analyses `n` frames in order, as n calls of ss_analyzer_feed would (same
 * events, same results), but faster: looking ahead, it asks for the memory
 * later frames will need while earlier ones are analysed. The frames must
 * all stay valid until it returns (ss_source_next_batch reads such
 * batches). Returns 0 or the first error, after which the frames that
 * follow the failing one are not analysed.
 */
int ss_analyzer_feed_batch(ss_analyzer_t *a, const ss_frame_t *frames, size_t n);

/*
 * A frame decoded ahead of its analysis, with its conversation's key and
 * hash when it has one. ss_analyzer_prepare reads nothing but the frame, so
 * another thread may prepare frames while the analyzer works (ss_reader
 * does).
 */
typedef struct ss_prepared {
    ss_packet_t pkt;
    ss_flow_key_t key;
    uint32_t hash;
    int keydir;
    bool keyed; /* key, keydir and hash hold the conversation's (before any fragment reassembly) */
} ss_prepared_t;

void ss_analyzer_prepare(const ss_frame_t *frame, ss_prepared_t *p);

/*
 * As ss_analyzer_feed_batch, for frames already prepared (prep[i] from
 * frames[i]). The prepared packets are the analyzer's while it runs (it
 * may change one in place, when a fragmented datagram completes).
 */
int ss_analyzer_feed_prepared(ss_analyzer_t *a, const ss_frame_t *frames, ss_prepared_t *prep, size_t n);

/*
 * Ends the run: reports the conversations still open, then calls every
 * sink's end with `end` (frames is filled in). Returns 0 or a sink's error.
 */
int ss_analyzer_finish(ss_analyzer_t *a, ss_run_end_t *end);

/*
 * After ss_analyzer_finish of a run with --framing auto and keep_inferred:
 * the framing inferred for each TCP conversation, sorted by tcp_stream (valid until
 * ss_analyzer_destroy). Feed it to a second run's config to analyse the
 * capture with those framings.
 */
size_t ss_analyzer_inferred(const ss_analyzer_t *a, const ss_inferred_t **out);

/*
 * The same, handed over: the caller owns the table (free it) and the
 * analyzer keeps none, so a first pass need not hold two copies.
 */
size_t ss_analyzer_take_inferred(ss_analyzer_t *a, ss_inferred_t **out);

/* Frees the analyzer (not the sinks). NULL is allowed. */
void ss_analyzer_destroy(ss_analyzer_t *a);

#endif
