/* reader.h - batches of frames from a source, read and decoded ahead of the analysis. */
#ifndef SEGSCOPE_READER_H
#define SEGSCOPE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segscope/analyzer.h"
#include "segscope/source.h"

typedef struct ss_reader ss_reader_t;

typedef struct ss_reader_opts {
    /*
     * Read and decode on a thread of the reader's own, a few batches ahead
     * of the analysis, which then only analyses. Saved captures only: a
     * live source is always read on the caller's thread (it must answer
     * ss_source_break and its read timeouts there).
     */
    bool thread;
    uint64_t limit; /* at most this many frames; 0 for all */
} ss_reader_opts_t;

/* A batch of frames, valid until the next ss_reader_next or ss_reader_close. */
typedef struct ss_batch {
    const ss_frame_t *frames;
    ss_prepared_t *prep; /* prep[i] decoded from frames[i], or NULL when not decoded yet */
    size_t n;
} ss_batch_t;

/*
 * Reads `src` (which stays the caller's, but must not be used until
 * ss_reader_close). Returns 0, or SS_ERR_NOMEM. When the thread cannot be
 * started, the reader reads on the caller's thread instead.
 */
int ss_reader_open(ss_reader_t **out, ss_source_t *src, const ss_reader_opts_t *opts);

/* Whether the reader reads on a thread of its own. */
bool ss_reader_threaded(const ss_reader_t *r);

/*
 * The next batch. Returns what ss_source_next_batch returns, in the same
 * order (SS_SOURCE_FRAME with b->n >= 1; else SS_SOURCE_TIMEOUT, or the end:
 * SS_SOURCE_EOF or an error, with errbuf, of SS_SOURCE_ERRBUF bytes, saying
 * why). SS_SOURCE_EOF once `limit` frames were given. After the end, every
 * call returns the end again.
 */
int ss_reader_next(ss_reader_t *r, ss_batch_t *b, char *errbuf);

/* Analyses a batch: ss_analyzer_feed_prepared or ss_analyzer_feed_batch. */
int ss_reader_feed(ss_analyzer_t *a, ss_batch_t *b);

/* Bytes of the file read up to the last batch given, and its size (0 when unknown). */
void ss_reader_progress(const ss_reader_t *r, uint64_t *done, uint64_t *total);

/* Stops reading (a thread reading ahead is joined) and frees the reader; NULL is allowed. */
void ss_reader_close(ss_reader_t *r);

#endif
