/* server.h - the server's connections and the interface of its per-mode handlers (internal). */
#ifndef SEGSCOPE_DEMO_SERVER_H
#define SEGSCOPE_DEMO_SERVER_H

#include "internal.h"

/*
 * A connection's life: OPEN (the mode's handler sees every byte), then
 * CLOSING (the handler is done or failed: send what is queued), then
 * DRAIN (our FIN is sent: read and discard until the client's FIN or a
 * deadline, so that closing with unread input does not turn into an RST
 * that could destroy the answer we just sent).
 */
typedef enum { SS_DEMO_SC_OPEN, SS_DEMO_SC_CLOSING, SS_DEMO_SC_DRAIN, SS_DEMO_SC_CLOSED } ss_demo_sc_phase_t;

/* What a handler returns. */
#define SS_DEMO_SC_CONTINUE 0
#define SS_DEMO_SC_DONE 1  /* the exchange is complete: send what is queued, then close */
#define SS_DEMO_SC_FAIL -1 /* c->reason says why: send what is queued, then close */

#define SS_DEMO_STICKY_SIZES 64 /* recv() sizes kept for the sticky report */

typedef struct ss_demo_sconn {
    ss_demo_sock_t sock;
    uint64_t id;
    ss_demo_sc_phase_t phase;
    ss_demo_buf_t in;  /* input the handler keeps (a partial frame, a header) */
    ss_demo_buf_t out; /* bytes queued to send */
    uint64_t accepted_ms, last_ms, read_at_ms, drain_until_ms;
    bool peer_eof;
    bool failed;
    bool reset_expected; /* abort mode: the client's RST is the planned ending */
    char reason[256];    /* why the connection failed */

    /* Mode state. */
    ss_demo_md5_t md5;
    uint64_t messages;
    size_t scan;
    uint32_t sizes[SS_DEMO_STICKY_SIZES];
    size_t nsizes;
    size_t script_pos;
    struct ss_demo_sfile *file; /* file mode only */
} ss_demo_sconn_t;

typedef struct ss_demo_server {
    const ss_demo_opts_t *o;
    ss_demo_log_t log;
    ss_demo_trace_t trace;
    ss_demo_budget_t budget;
    ss_demo_frame_t frame;
    const struct ss_demo_shandler *handler;
    int lfd;
    int dirfd; /* file mode: --dir */
    ss_demo_sconn_t **conns;
    size_t nconns;
    uint64_t next_id, served, failed, rejected;
    uint64_t accept_pause_until;
    /* Chat. */
    char **script;
    size_t nscript;
    ss_demo_buf_t stdin_buf;
    bool stdin_open;
    bool quit; /* the server's operator typed quit: close everything and exit */
    uint8_t scratch[65536];
} ss_demo_server_t;

typedef struct ss_demo_shandler {
    /* After accept (may be NULL). */
    int (*open)(ss_demo_server_t *s, ss_demo_sconn_t *c);
    /* n > 0 bytes just read. */
    int (*data)(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n);
    /* The client's FIN (recv() returned 0). */
    int (*eof)(ss_demo_server_t *s, ss_demo_sconn_t *c);
    /* Before the connection is freed (may be NULL). */
    void (*close)(ss_demo_server_t *s, ss_demo_sconn_t *c);
} ss_demo_shandler_t;

extern const ss_demo_shandler_t ss_demo_sh_echo, ss_demo_sh_sticky, ss_demo_sh_count,
    ss_demo_sh_half_close, ss_demo_sh_framed, ss_demo_sh_file, ss_demo_sh_chat;

/* Queues bytes to send; on a cap returns FAIL with the reason set. */
int ss_demo_sconn_queue(ss_demo_server_t *s, ss_demo_sconn_t *c, const void *p, size_t n);
/* Sets c->reason and returns SS_DEMO_SC_FAIL. */
int ss_demo_sconn_fail(ss_demo_sconn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs an event line about c. */
void ss_demo_slog(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, dropped with --quiet. */
void ss_demo_slog_io(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Chat: loads --script; sends a line from the server's terminal to every client. */
int ss_demo_chat_load_script(ss_demo_server_t *s, char *err, size_t errlen);
void ss_demo_chat_free_script(ss_demo_server_t *s);
void ss_demo_chat_broadcast(ss_demo_server_t *s, const char *line, size_t len);

/* The UDP server's loop (server_udp.c); returns an exit status. */
int ss_demo_server_udp_loop(ss_demo_server_t *s);

#endif
