/* source.h - capture sources: saved pcap/pcapng files and live interfaces, via libpcap. */
#ifndef SEGSCOPE_SOURCE_H
#define SEGSCOPE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segscope/decode.h"

typedef struct ss_source ss_source_t;

/* Size of the error buffers the functions below write into. */
#define SS_SOURCE_ERRBUF 512

/*
 * The kernel buffer when none is given: libpcap's own 2 MiB holds about 30
 * of loopback's 64 KiB segments and drops some in a bulk transfer; 16 MiB
 * kept up with the demo's 1 GB one.
 */
#define SS_LIVE_DEFAULT_BUFFER_KIB 16384

typedef struct ss_live_opts {
    int snaplen;        /* bytes kept per packet (default 262144) */
    int buffer_kib;     /* kernel buffer in KiB; 0 = SS_LIVE_DEFAULT_BUFFER_KIB */
    int timeout_ms;     /* read timeout; note that in libpcap's immediate mode (which live capture
                           uses, so lines appear as packets arrive) Linux may block until a packet
                           arrives: use ss_source_break to stop a waiting read */
    bool promisc;       /* promiscuous mode */
} ss_live_opts_t;

/* Fills `o` with the defaults. */
void ss_live_opts_init(ss_live_opts_t *o);

/*
 * Opens a saved capture ("-" reads standard input). Returns 0, or
 * SS_ERR_IO (missing or unreadable: errbuf names the reason) or
 * SS_ERR_FORMAT (not a capture file libpcap reads: errbuf says why).
 */
int ss_source_open_file(ss_source_t **out, const char *path, char *errbuf);

/*
 * Opens a saved capture from a stream open for reading (a pipe, or bytes in
 * memory through fmemopen). The source owns `fp` from then on: it is closed
 * by ss_source_close, or at once when this fails (standard input excepted).
 * Returns 0, SS_ERR_FORMAT or SS_ERR_NOMEM, with errbuf saying why.
 */
int ss_source_open_stream(ss_source_t **out, FILE *fp, char *errbuf);

/*
 * Opens a live capture on `iface`. Returns 0, SS_ERR_PERM (no permission:
 * the caller tells the user how to get it), SS_ERR_NODEV, or SS_ERR_IO.
 */
int ss_source_open_live(ss_source_t **out, const char *iface, const ss_live_opts_t *opts,
                        char *errbuf);

/*
 * Compiles and installs a BPF filter (tcpdump syntax). 0 or SS_ERR_FILTER.
 * On a file, frames keep their numbers (positions in the file) when
 * others are filtered out; live, frames are numbered as they are accepted.
 */
int ss_source_set_filter(ss_source_t *s, const char *expr, char *errbuf);

/* Results of ss_source_next besides errors. */
#define SS_SOURCE_FRAME 1   /* *frame holds the next frame */
#define SS_SOURCE_TIMEOUT 0 /* live only: nothing arrived within the timeout */
#define SS_SOURCE_EOF 2     /* end of file, or the capture was stopped */

/*
 * Reads the next frame. The frame's data stays valid until the next call.
 * Errors: SS_ERR_TRUNCATED (the file ends inside a record), SS_ERR_LINKTYPES
 * (a pcapng interface libpcap cannot combine with the first), SS_ERR_FORMAT
 * (a damaged record), SS_ERR_IO; errbuf says more.
 */
int ss_source_next(ss_source_t *s, ss_frame_t *frame, char *errbuf);

/*
 * Reads up to `max` frames (max >= 1) at once, which all stay valid until
 * the next read, so that a consumer can look ahead (ss_analyzer_feed_batch).
 * Returns SS_SOURCE_FRAME with `*n` >= 1 frames read, or else what
 * ss_source_next returns, with `*n` 0. Live captures, and files libpcap
 * reads record by record, give one frame per call.
 */
int ss_source_next_batch(ss_source_t *s, ss_frame_t *frames, size_t max, size_t *n, char *errbuf);

/*
 * Size of the blocks a saved pcap file is read in (see ss_source_swap_block):
 * 256 KiB, and room for a record header, so that a record of libpcap's
 * largest snapshot length (262144) fits in one.
 */
#define SS_SOURCE_BLOCK_BYTES (256u * 1024u + 16u)

/*
 * For a reader that keeps the frames of a batch while it reads on (as
 * ss_reader's thread does). When the source reads its file in blocks,
 * the frames returned so far lie in the block in hand: this hands that
 * block to the caller, who owns it from then on (to free(), or to give
 * back later as `fresh`), and goes on reading in `fresh`, a malloc()ed
 * block of SS_SOURCE_BLOCK_BYTES. Returns NULL, and keeps nothing, when the
 * source does not read in blocks (stdin, pcapng, live: frames then stay
 * valid only until the next read) or `fresh` is NULL.
 */
void *ss_source_swap_block(ss_source_t *s, void *fresh);

/* Link-layer type of the source (LINKTYPE_* value). */
int ss_source_linktype(const ss_source_t *s);
/* Whether the source is a live interface. */
bool ss_source_is_live(const ss_source_t *s);
/* Bytes of the file read so far and its size (0 when unknown, e.g. stdin). */
void ss_source_progress(const ss_source_t *s, uint64_t *done, uint64_t *total);

/*
 * Also writes every frame returned from now on to `path` as pcap (with the
 * source's link type and snaplen). Returns 0 or SS_ERR_IO.
 */
int ss_source_dump_open(ss_source_t *s, const char *path, char *errbuf);
/* Flushes the dump file (if any); returns 0 or SS_ERR_IO. */
int ss_source_dump_flush(ss_source_t *s);

typedef struct ss_source_stats {
    uint64_t received; /* packets the filter accepted */
    uint64_t dropped;  /* dropped by the kernel for lack of buffer space */
    uint64_t if_dropped;
    bool valid;
} ss_source_stats_t;

/* Live capture statistics (valid = false for files). */
void ss_source_stats(ss_source_t *s, ss_source_stats_t *st);

/* Asks a blocking ss_source_next to return; async-signal-safe. */
void ss_source_break(ss_source_t *s);

/* Closes the source and its dump file. NULL is allowed. */
void ss_source_close(ss_source_t *s);

#endif
