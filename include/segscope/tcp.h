/* tcp.h - per-connection TCP analysis: relative numbers, window scaling, and (growing) the analysis of spec/tcp-analysis. */
#ifndef SEGSCOPE_TCP_H
#define SEGSCOPE_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "segscope/decode.h"

/* Window scale states besides a shift of 0..14 (RFC 7323 section 2.3). */
#define SS_WSCALE_UNKNOWN (-1) /* handshake not captured */
#define SS_WSCALE_NONE (-2)    /* the handshake shows scaling is not in use */

/*
 * One direction of a connection ("half"): what the capture has shown of the
 * sender's sequence space and of its advertised window.
 */
typedef struct ss_tcp_half {
    bool base_set;     /* base_seq is known */
    uint32_t base_seq; /* relative numbers count from here: the ISN, or first seq - 1 */
    bool saw_syn;      /* a SYN (or SYN-ACK) from this side was seen */
    bool syn_had_ws;   /* that SYN carried the window scale option */
    int8_t win_scale;  /* SS_WSCALE_UNKNOWN, SS_WSCALE_NONE or a shift 0..14 */
    bool is_first_ack; /* between this side's SYN and its first non-SYN ACK */
} ss_tcp_half_t;

/* The TCP state of one conversation: two halves indexed by flow-key direction. */
typedef struct ss_tcp_conn {
    ss_tcp_half_t half[2];
} ss_tcp_conn_t;

/* What the analysis says about one packet. */
typedef struct ss_tcp_result {
    bool analyzed;     /* false for headers too damaged to analyse (raw numbers only) */
    uint32_t rel_seq;  /* seq - base of the sender's half */
    uint32_t rel_ack;  /* ack - base of the receiver's half (0 without ACK) */
    uint32_t win;      /* window after scaling, when the scale is known */
    int8_t win_scale;  /* the scale applied (SS_WSCALE_* or shift) */
} ss_tcp_result_t;

/* Prepares a connection's state before its first packet. */
void ss_tcp_conn_init(ss_tcp_conn_t *c);

/* Whether the header is well formed enough for sequence analysis. */
bool ss_tcp_analyzable(const ss_packet_t *pkt);

/*
 * Whether this packet, sent in direction `dir` on an existing conversation,
 * starts a new one on the same ports: a SYN without ACK whose ISN differs
 * from the one this side already used (Wireshark's "port numbers reused").
 */
bool ss_tcp_is_port_reuse(const ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt);

/* Analyses one packet of the connection, in capture order. */
void ss_tcp_process(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, ss_tcp_result_t *res);

#endif
