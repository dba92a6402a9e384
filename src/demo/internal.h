/* internal.h - types and functions shared by the files of segscope-demo (not a public API). */
#ifndef SEGSCOPE_DEMO_INTERNAL_H
#define SEGSCOPE_DEMO_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "segscope/i18n.h"

/* Exit statuses of every segscope-demo subcommand. */
#define SS_DEMO_EXIT_OK 0
#define SS_DEMO_EXIT_FAIL 1  /* a check failed (md5, lost echo) or a runtime error */
#define SS_DEMO_EXIT_USAGE 2 /* bad arguments, or a file named on the command line is unusable */

/* "Not given on the command line": the mode's default applies. */
#define SS_DEMO_UNSET UINT64_MAX

/* ------------------------------------------------------------------------ */
/* Modes: one X-macro table gives the enum, the names and the help lines.   */

#define SS_DEMO_MODE_MAP(X)                                                                \
    X(ECHO, "echo", "reply to every message (default)")                                   \
    X(ONCE, "once", "send one message, read the reply, close")                            \
    X(CHAT, "chat", "lines typed on either side (or --script FILE); 'quit' ends")         \
    X(STICKY, "sticky", "tiny unframed writes; the server reads late and sees them glued") \
    X(LEN32, "len32", "messages with a 4-byte length prefix (big-endian; --le)")          \
    X(LINE, "line", "newline-delimited messages")                                         \
    X(FILE, "file", "file transfer: length, JSON header, bytes; md5 checked")             \
    X(BULK, "bulk", "send --bytes N; the server counts them and reports an md5")          \
    X(SLOW_READER, "slow-reader", "small receive buffer and a late reader: zero window")  \
    X(ABORT, "abort", "send a little, then close with SO_LINGER 0 (RST)")                 \
    X(HALF_CLOSE, "half-close", "send, shutdown(SHUT_WR), read what the server sends")    \
    X(KEEPALIVE, "keepalive", "keep-alive probes on an idle connection")                  \
    X(UDP, "udp", "numbered datagrams, each echoed; lost ones reported by number")

typedef enum {
#define SS_DEMO_MODE_ENUM(id, name, help) SS_DEMO_MODE_##id,
    SS_DEMO_MODE_MAP(SS_DEMO_MODE_ENUM)
#undef SS_DEMO_MODE_ENUM
    SS_DEMO_MODE_COUNT
} ss_demo_mode_t;

/* Returns the command-line name of a mode. */
const char *ss_demo_mode_name(ss_demo_mode_t m);
/* Looks a mode up by name; returns false when there is none. */
bool ss_demo_mode_parse(const char *name, ss_demo_mode_t *out);
/* Writes the list of modes, one per line, each indented by `indent` spaces. */
void ss_demo_mode_help(FILE *o, int indent);

/* ------------------------------------------------------------------------ */
/* Options of the server and the client.                                    */

typedef enum { SS_DEMO_ROLE_SERVER, SS_DEMO_ROLE_CLIENT } ss_demo_role_t;

typedef struct ss_demo_opts {
    ss_demo_role_t role;
    ss_demo_mode_t mode;
    int family;            /* AF_INET or AF_INET6 */
    const char *host;      /* server: address to listen on; client: server address */
    const char *bind_addr; /* client: local address to send from, or NULL */
    uint16_t port;         /* server: 0 lets the kernel choose (printed on stderr) */

    uint64_t count;    /* messages or datagrams */
    uint64_t size;     /* file mode: size of the generated file */
    uint64_t bytes;    /* bulk, slow-reader, abort, half-close: bytes to send */
    uint64_t max_size; /* len32, line, udp: largest generated message */
    uint64_t seed;     /* message sizes are drawn from this seed */
    bool le;           /* len32: native little-endian int instead of big-endian */
    bool nodelay;      /* TCP_NODELAY */
    uint64_t mss;      /* TCP_MAXSEG before connect/listen (0 = kernel's) */
    double loss;       /* fraction of incoming segments dropped in the kernel */
    uint64_t rcvbuf;   /* SO_RCVBUF (0 = kernel's) */
    uint64_t sndbuf;   /* SO_SNDBUF (0 = kernel's) */
    const char *trace_path;

    /* Server. */
    uint64_t clients;       /* exit after serving this many connections (0 = never) */
    uint64_t max_clients;   /* connections served at once; more are rejected */
    uint64_t max_message;   /* largest declared length, line or header accepted */
    uint64_t max_memory;    /* buffer bytes for all connections together */
    uint64_t max_file;      /* file mode: largest file accepted */
    uint64_t idle_timeout_ms; /* close a connection idle this long (0 = never) */
    uint64_t conn_timeout_ms; /* close a connection open this long, busy or not (0 = never) */
    uint64_t read_delay_ms; /* wait this long after accept before the first recv() */
    const char *dir;        /* file mode: where received files go */

    /* Client. */
    uint64_t timeout_ms; /* give up when nothing moves for this long */
    uint64_t idle_ms;    /* keepalive: how long the connection stays idle */
    const char *file;    /* file mode: file to send */
    const char *name;    /* file mode: name put in the header (default: basename) */
    const char *message; /* echo, once, keepalive: the message text */

    /* Both. */
    const char *script; /* chat: lines to send instead of the terminal */
    bool quiet;         /* no line per send()/recv() on stderr */

    /* Set by a caller that wants to stop the run early (e.g. a signal handler); may be NULL. */
    volatile sig_atomic_t *stop;
    /* Called once the server listens, with its address and port (may be NULL). */
    void (*on_listening)(void *arg, const char *addr, uint16_t port);
    void *on_listening_arg;
} ss_demo_opts_t;

/* Fills *o with the defaults of a role (mode echo, loopback, port 9000). */
void ss_demo_opts_init(ss_demo_opts_t *o, ss_demo_role_t role);
/* Replaces every SS_DEMO_UNSET value by the default of the chosen mode. */
void ss_demo_opts_finish(ss_demo_opts_t *o);
/*
 * Parses the arguments of `segscope-demo server|client` into *o (initialised
 * by the caller). Returns -1 after printing the help (exit 0), a negative
 * SS_DEMO_EXIT_USAGE after printing an error, or 0.
 */
int ss_demo_opts_parse(ss_demo_opts_t *o, int argc, char **argv);
/* Prints the help of `segscope-demo server` or `segscope-demo client`. */
void ss_demo_opts_usage(FILE *f, ss_demo_role_t role);

/* Runs the server or the client; each returns an SS_DEMO_EXIT_* status. */
int ss_demo_server_run(const ss_demo_opts_t *o);
int ss_demo_client_run(const ss_demo_opts_t *o);
/* `segscope-demo md5 [FILE...]`: prints each file's MD5 as md5sum does. */
int ss_demo_md5_main(int argc, char **argv);

/* ------------------------------------------------------------------------ */
/* Time.                                                                    */

/* Milliseconds of the monotonic clock. */
uint64_t ss_demo_now_ms(void);
/* Sleeps for ms milliseconds unless *stop becomes set (stop may be NULL). */
void ss_demo_sleep_ms(uint64_t ms, volatile sig_atomic_t *stop);

/* ------------------------------------------------------------------------ */
/* Logging: one line per event on stderr.                                   */

typedef struct ss_demo_log {
    const char *who; /* "server" or "client" */
    bool quiet;      /* drop the per-call lines (ss_demo_log_io) */
    uint64_t t0_ms;  /* lines carry seconds since this time */
} ss_demo_log_t;

void ss_demo_log_init(ss_demo_log_t *l, const char *who, bool quiet);
/* One line "[   0.123] who peer: text" (seconds since the start); peer may be NULL. */
void ss_demo_log(const ss_demo_log_t *l, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ss_demo_log with a va_list, for the server's and client's own wrappers. */
void ss_demo_vlog(const ss_demo_log_t *l, const char *peer, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* As ss_demo_log, but dropped with --quiet: for a line per send()/recv(). */
void ss_demo_log_io(const ss_demo_log_t *l, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------ */
/* Application trace (docs/app-trace.md): one JSON line per send/recv call. */

typedef struct ss_demo_trace {
    int fd; /* -1 when no trace is written */
    long pid;
    bool failed; /* a write failed; reported at close */
} ss_demo_trace_t;

/* Opens (truncates) path; on failure returns -1 with a message in err. */
int ss_demo_trace_open(ss_demo_trace_t *t, const char *path, char *err, size_t errlen);
/* A trace that records nothing. */
void ss_demo_trace_none(ss_demo_trace_t *t);
/* Appends one record; call is "send" or "recv"; an empty local or remote is written as null. */
void ss_demo_trace_record(ss_demo_trace_t *t, int fd, const char *call, const char *local, const char *remote,
                          uint64_t offset, uint64_t len);
/* Closes the trace; returns -1 when a record could not be written. */
int ss_demo_trace_close(ss_demo_trace_t *t);

/* ------------------------------------------------------------------------ */
/* A connected socket whose send()/recv() calls are counted and traced.     */

#define SS_DEMO_ADDRSTRLEN 64 /* "[ipv6%scope]:port" */

typedef struct ss_demo_sock {
    int fd;
    char local[SS_DEMO_ADDRSTRLEN];
    char remote[SS_DEMO_ADDRSTRLEN];
    uint64_t sent, received;           /* stream offsets = bytes moved so far */
    uint64_t send_calls, recv_calls;   /* calls that moved bytes (recv: or saw EOF) */
    ss_demo_trace_t *trace;
} ss_demo_sock_t;

/* Takes fd (a connected TCP socket, or a connected UDP one) and records its endpoints. */
void ss_demo_sock_init(ss_demo_sock_t *s, int fd, ss_demo_trace_t *trace);
/* send(..., MSG_NOSIGNAL): returns bytes sent or -1 with errno. */
ssize_t ss_demo_sock_send(ss_demo_sock_t *s, const void *p, size_t n);
/* recv(): returns bytes read, 0 at end of stream, -1 with errno. */
ssize_t ss_demo_sock_recv(ss_demo_sock_t *s, void *p, size_t n);
/* Closes the socket (fd becomes -1). */
void ss_demo_sock_close(ss_demo_sock_t *s);

/* ------------------------------------------------------------------------ */
/* Byte buffers with a per-buffer cap and a shared memory budget.           */

typedef struct ss_demo_budget {
    size_t used, max;
} ss_demo_budget_t;

typedef struct ss_demo_buf {
    uint8_t *data;
    size_t off; /* first unconsumed byte */
    size_t len; /* end of the bytes held (data[off..len)) */
    size_t cap;
    size_t max;                /* never hold more than this many bytes */
    ss_demo_budget_t *budget;  /* may be NULL */
} ss_demo_buf_t;

void ss_demo_buf_init(ss_demo_buf_t *b, size_t max, ss_demo_budget_t *budget);
void ss_demo_buf_fini(ss_demo_buf_t *b);
/* Bytes held. */
static inline size_t ss_demo_buf_size(const ss_demo_buf_t *b) { return b->len - b->off; }
static inline uint8_t *ss_demo_buf_head(const ss_demo_buf_t *b) { return b->data + b->off; }
/* Appends n bytes; returns 0, SS_ERR_LIMIT (cap or budget) or SS_ERR_NOMEM. */
int ss_demo_buf_append(ss_demo_buf_t *b, const void *p, size_t n);
/* Drops the first n held bytes. */
void ss_demo_buf_consume(ss_demo_buf_t *b, size_t n);

/* ------------------------------------------------------------------------ */
/* MD5 (RFC 1321).                                                          */

typedef struct ss_demo_md5 {
    uint32_t state[4];
    uint64_t bytes;
    uint8_t block[64];
} ss_demo_md5_t;

void ss_demo_md5_init(ss_demo_md5_t *m);
void ss_demo_md5_update(ss_demo_md5_t *m, const void *p, size_t n);
/* Writes the digest as 32 lowercase hex digits and a NUL. */
void ss_demo_md5_hex(ss_demo_md5_t *m, char out[33]);

/* ------------------------------------------------------------------------ */
/* A flat JSON object reader (the file header and the server's answers).    */

typedef enum { SS_DEMO_JSON_STRING, SS_DEMO_JSON_UINT } ss_demo_json_type_t;

typedef struct ss_demo_json_field {
    const char *key;
    ss_demo_json_type_t type;
    char *str;      /* STRING: destination, NUL-terminated */
    size_t str_cap; /* STRING: size of str */
    uint64_t num;   /* UINT: the value */
    bool found;
} ss_demo_json_field_t;

/*
 * Reads one JSON object from p[0..n) and fills the fields asked for; other
 * members (of any type) are skipped. Returns 0, or -1 with a reason in err:
 * not an object, bad syntax, a field of the wrong type or too long.
 */
int ss_demo_json_read(const char *p, size_t n, ss_demo_json_field_t *fields, size_t nfields,
                      char *err, size_t errlen);
/* Appends s as a JSON string (quotes included) to out; returns 0 or an ss_err. */
int ss_demo_json_put_string(ss_demo_buf_t *out, const char *s);

/* ------------------------------------------------------------------------ */
/* Deterministic payloads and message framing.                              */

typedef enum { SS_DEMO_FRAME_LEN32_BE, SS_DEMO_FRAME_LEN32_LE, SS_DEMO_FRAME_LINE } ss_demo_frame_t;

/* Size of message `index` (1..max): message 0 is 1 byte, message 1 is max, the rest spread log-uniformly. */
size_t ss_demo_msg_size(uint64_t seed, uint64_t index, size_t max);
/* Fills p with bytes off..off+n of message `index` (printable, never '\n'). */
void ss_demo_msg_fill(uint8_t *p, uint64_t index, size_t off, size_t n);
/* Fills p with bytes off..off+n of the bulk stream (16-byte numbered lines). */
void ss_demo_stream_fill(uint8_t *p, uint64_t off, size_t n);

/* Writes the frame header of a len-byte message into hdr; returns its size (4, or 0 for lines). */
size_t ss_demo_frame_header(ss_demo_frame_t kind, size_t len, uint8_t hdr[4]);
/* Bytes that follow a message of the frame kind (1 for a line's '\n'). */
size_t ss_demo_frame_trailer(ss_demo_frame_t kind);

typedef enum { SS_DEMO_FRAME_MORE = 0, SS_DEMO_FRAME_OK = 1, SS_DEMO_FRAME_BAD = -1 } ss_demo_frame_rc_t;

/*
 * The incremental framing parser: looks for one message at the start of
 * p[0..n). Returns OK with the payload slice (*msg, *msglen, pointing into p)
 * and *consumed (header + payload + trailer); MORE when the bytes end inside
 * a message (*scan remembers how far a line was searched, start it at 0 and
 * reset it after each message); BAD when a declared length is negative or
 * above max, or a line is longer than max, with a sentence in err.
 */
ss_demo_frame_rc_t ss_demo_frame_parse(ss_demo_frame_t kind, const uint8_t *p, size_t n, size_t max,
                                       size_t *scan, const uint8_t **msg, size_t *msglen,
                                       size_t *consumed, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Sockets.                                                                 */

/* Formats an address as "a.b.c.d:port" or "[v6]:port" (an IPv4-mapped IPv6 address as IPv4); "" if unknown. */
void ss_demo_fmt_addr(const struct sockaddr *sa, char *out, size_t outlen);
/* Resolves host (numeric or a name) for the family; returns 0 or -1 with err. */
int ss_demo_resolve(const char *host, uint16_t port, int family, struct sockaddr_storage *out,
                    socklen_t *outlen, char *err, size_t errlen);
/* Makes fd non-blocking; returns 0 or -1. */
int ss_demo_set_nonblock(int fd);
/*
 * Applies the socket options the options ask for (TCP_MAXSEG, TCP_NODELAY,
 * SO_RCVBUF, SO_SNDBUF, the --loss filter); returns 0 or -1 with err.
 */
int ss_demo_apply_sockopts(int fd, int type, const ss_demo_opts_t *o, char *err, size_t errlen);
/* SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT; returns 0 or -1 with err. */
int ss_demo_set_keepalive(int fd, int idle_s, int intvl_s, int cnt, char *err, size_t errlen);
/* Attaches the random-drop socket filter (loss.c); returns 0 or -1 with errno. */
int ss_demo_attach_loss(int fd, double p);

/* Parses a byte count with an optional k/M/G (KiB, MiB, GiB) suffix. */
bool ss_demo_parse_size(const char *s, uint64_t *out);

#endif
