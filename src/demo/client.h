/* client.h - the client's connection helpers and its per-mode exchanges (internal). */
#ifndef SEGSCOPE_DEMO_CLIENT_H
#define SEGSCOPE_DEMO_CLIENT_H

#include "internal.h"

typedef struct ss_demo_client {
    const ss_demo_opts_t *o;
    ss_demo_log_t log;
    ss_demo_trace_t trace;
    ss_demo_sock_t sock;
} ss_demo_client_t;

/* Logs an event line (with the server's address). */
void ss_demo_cl_log(ss_demo_client_t *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, dropped with --quiet: a line per send()/recv(). */
void ss_demo_cl_log_io(ss_demo_client_t *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Creates the socket of the given type with the options, and connects it (with --timeout). Returns 0 or -1 (logged). */
int ss_demo_cl_connect(ss_demo_client_t *cl, int type);
/* Waits for events on fd for at most timeout_ms; returns 1 ready, 0 timed out, -1 stopped by a signal. */
int ss_demo_cl_wait(ss_demo_client_t *cl, int fd, short events, uint64_t timeout_ms);
/* Sends all n bytes in as many send() calls as it takes; returns 0 or -1 (logged). */
int ss_demo_cl_send_all(ss_demo_client_t *cl, const void *p, size_t n);
/* One recv() once readable; returns bytes (0 at end of stream) or -1 (logged; also on timeout). */
ssize_t ss_demo_cl_recv(ss_demo_client_t *cl, void *p, size_t cap);
/* Reads exactly n bytes; returns 0, or -1 on error, timeout or an early end (logged). */
int ss_demo_cl_recv_exact(ss_demo_client_t *cl, void *p, size_t n);

/*
 * The pump: sends what produce() makes while reading what arrives and
 * handing it to consume(), both at once, so neither side can fill its
 * buffers and wait forever for the other (large echoes need that).
 */
typedef struct ss_demo_pump {
    /* Appends outgoing bytes to out; returns 0, 1 when it has nothing more to send, -1 on error. */
    int (*produce)(void *ctx, ss_demo_buf_t *out);
    /* Consumes incoming bytes; returns 0 to go on, 1 when no more are expected, -1 on a failed check. */
    int (*consume)(void *ctx, const uint8_t *p, size_t n);
    /* The server closed its side; returns 0 if that is a fine ending, -1 if not. */
    int (*eof)(void *ctx);
    void *ctx;
    bool shutdown_after_send; /* shutdown(SHUT_WR) once everything is sent */
    bool send_failed;         /* out: the server stopped taking bytes (EPIPE/ECONNRESET) */
} ss_demo_pump_t;

/* Runs the pump to its end; returns 0, or -1 (logged) on an error, a timeout or a failed check. */
int ss_demo_cl_pump(ss_demo_client_t *cl, ss_demo_pump_t *pump);

/* The exchanges; each returns an SS_DEMO_EXIT_* status and prints its report on stdout. */
int ss_demo_cl_echo(ss_demo_client_t *cl);
int ss_demo_cl_once(ss_demo_client_t *cl);
int ss_demo_cl_keepalive(ss_demo_client_t *cl);
int ss_demo_cl_abort(ss_demo_client_t *cl);
int ss_demo_cl_sticky(ss_demo_client_t *cl);
int ss_demo_cl_bulk(ss_demo_client_t *cl);
int ss_demo_cl_half_close(ss_demo_client_t *cl);
int ss_demo_cl_framed(ss_demo_client_t *cl);
int ss_demo_cl_file(ss_demo_client_t *cl);
int ss_demo_cl_chat(ss_demo_client_t *cl);
int ss_demo_cl_udp(ss_demo_client_t *cl);

#endif
