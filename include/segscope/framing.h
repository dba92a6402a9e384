/* framing.h - cutting a reassembled byte stream into application messages. */
#ifndef SEGSCOPE_FRAMING_H
#define SEGSCOPE_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segscope/apptrace.h"
#include "segscope/stream.h"

typedef enum {
    SS_FRAMING_NONE = 0, /* unframed: no message boundaries */
    SS_FRAMING_LINE,     /* delimiter-terminated (LF, CRLF or another byte) */
    SS_FRAMING_LEN,      /* W-byte length prefix */
    SS_FRAMING_FILEXFER, /* 4-byte header length, JSON header, then `filesize` bytes */
    SS_FRAMING_AUTO,     /* inferred per direction */
    SS_FRAMING_CALLS     /* the send() calls of an application trace are the messages */
} ss_framing_kind_t;

typedef struct ss_framing {
    ss_framing_kind_t kind;
    uint8_t width;       /* LEN: 1, 2, 4 or 8 bytes */
    bool little_endian;  /* LEN, FILEXFER */
    bool inclusive;      /* LEN: the length counts the prefix (and what precedes it) too */
    uint16_t offset;     /* LEN: bytes of header before the length field */
    uint8_t delim[2];    /* LINE: delimiter bytes */
    uint8_t delim_len;   /* LINE: 1 or 2 (CRLF) */
} ss_framing_t;

/*
 * Parses a framing name: "none", "line", "line:crlf", "line:0xNN",
 * "len:W[:be|le][:incl][:off=K]", "len32", "len32le", "len16",
 * "filexfer[:be|le]", "auto". Returns 0, or SS_ERR_INVAL with a reason in
 * `err` (`errlen` bytes).
 */
int ss_framing_parse(const char *text, ss_framing_t *out, char *err, size_t errlen);

/* A short name for a framing ("len:4:be", "line", ...). */
const char *ss_framing_name(const ss_framing_t *f, char *buf, size_t n);

#define SS_MSG_INLINE_FRAMES 8

/* One application message. */
typedef struct ss_message {
    uint64_t index;       /* 0-based within its direction */
    uint64_t off;         /* stream offset of its first byte (its framing included) */
    uint64_t len;         /* bytes, framing included */
    bool complete;        /* all bytes seen (false: cut by a gap or the end of the stream) */
    uint32_t nframes;     /* segments that first carried its bytes */
    uint64_t frames[SS_MSG_INLINE_FRAMES]; /* the first of them */
    uint64_t last_frame;
    uint8_t part;         /* FILEXFER: 0 header length, 1 JSON header, 2 file body */
} ss_message_t;

typedef void (*ss_message_fn)(void *ctx, const ss_message_t *msg);

/* What one delivered chunk contained, for the segment that carried it. */
typedef struct ss_chunk_msgs {
    uint64_t first, last; /* message indices with bytes in the chunk (valid when count > 0) */
    uint32_t count;
} ss_chunk_msgs_t;

/* A file transfer's progress (FILEXFER): which part comes next and its length. */
typedef struct ss_xfer {
    uint64_t body;        /* the JSON header's length, then the file's size */
    char *json;           /* the JSON header being collected (bounded) */
    uint32_t json_have, json_cap;
    uint8_t phase;        /* 0 length, 1 JSON header, 2 body */
} ss_xfer_t;

/* Per-direction framing state; embed it, ss_framer_init it. */
typedef struct ss_framer {
    ss_framing_t spec;
    uint64_t max_message;
    ss_message_fn on_message;
    void *ctx;
    /* the message being assembled */
    bool in_msg;
    ss_message_t cur;
    uint64_t need;        /* LEN/FILEXFER: bytes of the current message still expected once known */
    bool len_known;
    uint8_t hdr[16];
    uint8_t hdr_have;
    uint8_t prev;         /* LINE with CRLF: the previous byte */
    ss_xfer_t xfer;       /* FILEXFER */
    bool damaged;         /* a gap fell inside the current message */
    uint64_t pos;         /* stream offset just past the last byte consumed */
    /* state */
    uint64_t next_index;
    bool broken;          /* the stream stopped fitting the framing: unframed from broken_at */
    uint64_t broken_at;
    /* Why, allocated when it broke (framers are per direction and most never break): */
    const char *broken_why;       /* in English (JSON, CSV); "" before */
    const char *broken_why_local; /* the same in the user's language (notes, summary) */
    char *why_buf;                /* what the two point into */
    bool quiet;                   /* an inference candidate: nobody reads why, so it is not written */
    uint64_t resync_at;   /* after a gap, framing resumes here (LINE) or never (LEN) */
    const ss_app_call_t *calls; /* CALLS: the sender's send() calls, in offset order */
    size_t ncalls, call_idx;
} ss_framer_t;

void ss_framer_init(ss_framer_t *f, const ss_framing_t *spec, uint64_t max_message, ss_message_fn fn,
                    void *ctx);
void ss_framer_fini(ss_framer_t *f);

/*
 * Frames one delivered chunk (or gap); reports completed messages through
 * the callback and, in `out`, which messages had bytes in this chunk.
 */
void ss_framer_feed(ss_framer_t *f, const ss_stream_chunk_t *chunk, ss_chunk_msgs_t *out);

/* Turns the framer into CALLS framing: each send() call of the trace is one message. */
void ss_framer_set_calls(ss_framer_t *f, const ss_app_call_t *calls, size_t n);

/* End of the stream: an unfinished message is reported incomplete. */
void ss_framer_finish(ss_framer_t *f);

/*
 * Inference (--framing auto): every candidate framing reads the same
 * stream; at its end, the most specific one that fits the whole of it wins
 * (a file-transfer header, a length-prefix chain landing exactly on the
 * end, newline-terminated text), with a confidence from how many messages
 * it explained. Nothing fitting means "none".
 *
 * A candidate keeps only what counting its messages takes, inside this
 * struct: it follows the framer's rules exactly (its totals are what a
 * framer of the same framing counts), without the message record or the
 * reasons a framer writes. One that stops fitting (a line framing at the
 * first control byte) is no longer fed.
 */
#define SS_AUTO_NCAND 7

/* What one candidate framing made of the stream so far (the totals a framer's owner keeps). */
typedef struct ss_auto_stats {
    uint64_t messages, incomplete; /* messages ended, and those of them cut by a gap */
    uint64_t coalesced_segments;   /* chunks with bytes of 2+ messages */
    uint64_t split_messages;       /* messages first carried by 2+ segments */
    uint64_t largest;              /* bytes of the largest message */
} ss_auto_stats_t;

typedef struct ss_auto_cand {
    ss_auto_stats_t st;
    uint64_t need;       /* LEN, FILEXFER: bytes of the current message still expected, once known */
    uint64_t msg_off;    /* stream offset of the current message's first byte */
    uint64_t last_frame; /* the last frame that carried bytes of it */
    uint64_t resync_at;  /* LINE: after a gap between lines, where the next line (cut) starts */
    ss_xfer_t xfer;      /* FILEXFER */
    uint8_t hdr[4], hdr_have;
    uint8_t nframes;     /* frames that carried the current message, counted up to 2 */
    uint8_t prev;        /* LINE: the last byte of the previous chunk */
    bool alive;          /* started, and it still fits */
    bool in_msg, len_known, damaged;
} ss_auto_cand_t;

typedef struct ss_auto {
    uint64_t max_message;
    uint64_t bytes, gaps;   /* bytes seen, and gaps */
    bool started;           /* the candidates started (at the first chunk) */
    bool binary;            /* a control byte that text would not contain was seen */
    uint8_t alive;          /* bit i: cand[i].alive (so that dead candidates are not even looked at) */
    ss_auto_cand_t cand[SS_AUTO_NCAND];
} ss_auto_t;

/* Candidate i's framing (0 <= i < SS_AUTO_NCAND), most specific first. */
void ss_auto_candidate(int i, ss_framing_t *out);

typedef enum { SS_CONF_NONE = 0, SS_CONF_LOW, SS_CONF_MEDIUM, SS_CONF_HIGH } ss_confidence_t;

/* "none", "low", "medium", "high" */
const char *ss_confidence_name(ss_confidence_t c);

/* Why a verdict is what it is; ss_auto_explain turns it into words. */
typedef enum {
    SS_AUTO_WHY_NO_DATA = 0,
    SS_AUTO_WHY_FITS,        /* `framing` explains all `bytes` as `messages` messages */
    SS_AUTO_WHY_NONE_TEXT,   /* text, but nothing fits */
    SS_AUTO_WHY_NONE_BINARY  /* binary, and nothing fits */
} ss_auto_why_t;

/* The verdict on one direction: small, so a first pass can keep one per conversation. */
typedef struct ss_auto_verdict {
    ss_framing_t framing; /* kind NONE when nothing fits */
    uint8_t confidence;   /* ss_confidence_t */
    uint8_t why;          /* ss_auto_why_t */
    uint64_t bytes, messages;
} ss_auto_verdict_t;

void ss_auto_init(ss_auto_t *a, uint64_t max_message);
void ss_auto_feed(ss_auto_t *a, const ss_stream_chunk_t *chunk);
/*
 * The verdict on what was fed so far; with `st`, also the totals of the
 * winning framing, the same a framer of that framing would have counted over
 * the same stream (all zero when nothing fits).
 */
void ss_auto_verdict(const ss_auto_t *a, ss_auto_verdict_t *v, ss_auto_stats_t *st);
/* A verdict in words: in English in `why` (JSON), in the user's language in `why_local` (unless NULL). */
void ss_auto_explain(const ss_auto_verdict_t *v, char *why, size_t whylen, char *why_local, size_t locallen);
/* Both at once: the framing in `out`, the confidence returned. */
ss_confidence_t ss_auto_decide(ss_auto_t *a, ss_framing_t *out, char *why, size_t whylen, char *why_local,
                               size_t locallen);
void ss_auto_fini(ss_auto_t *a);

#endif
