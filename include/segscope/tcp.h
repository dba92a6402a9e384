/* tcp.h - per-connection TCP analysis: relative numbers, window scaling, Wireshark's analysis flags, RTT, endpoint states. */
#ifndef SEGSCOPE_TCP_H
#define SEGSCOPE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segscope/decode.h"

/* Window scale states besides a shift of 0..14 (RFC 7323 section 2.3). */
#define SS_WSCALE_UNKNOWN (-1) /* handshake not captured */
#define SS_WSCALE_NONE (-2)    /* the handshake shows scaling is not in use */

/*
 * Analysis flags, as Wireshark names them (tcp.analysis.*). The bit order
 * is the order in which Wireshark prints its markers (see tcp_analysis_
 * marker_order in the text sink); the spec is docs/tcp-analysis.md.
 */
#define SS_TCP_ANALYSIS_FLAGS(X)                                           \
    X(RETRANSMISSION, "retransmission", "TCP Retransmission")              \
    X(FAST_RETRANSMISSION, "fast_retransmission", "TCP Fast Retransmission") \
    X(SPURIOUS_RETRANSMISSION, "spurious_retransmission", "TCP Spurious Retransmission") \
    X(OUT_OF_ORDER, "out_of_order", "TCP Out-Of-Order")                    \
    X(LOST_SEGMENT, "lost_segment", "TCP Previous segment not captured")   \
    X(ACK_LOST_SEGMENT, "ack_lost_segment", "TCP ACKed unseen segment")    \
    X(DUPLICATE_ACK, "duplicate_ack", "TCP Dup ACK")                       \
    X(ZERO_WINDOW, "zero_window", "TCP ZeroWindow")                        \
    X(ZERO_WINDOW_PROBE, "zero_window_probe", "TCP ZeroWindowProbe")       \
    X(ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack", "TCP ZeroWindowProbeAck") \
    X(WINDOW_FULL, "window_full", "TCP Window Full")                       \
    X(WINDOW_UPDATE, "window_update", "TCP Window Update")                 \
    X(KEEP_ALIVE, "keep_alive", "TCP Keep-Alive")                          \
    X(KEEP_ALIVE_ACK, "keep_alive_ack", "TCP Keep-Alive ACK")              \
    X(REUSED_PORTS, "reused_ports", "TCP Port numbers reused")

enum {
#define SS_TA_BITNO(name, json, marker) SS_TA_BIT_##name,
    SS_TCP_ANALYSIS_FLAGS(SS_TA_BITNO)
#undef SS_TA_BITNO
    SS_TA_COUNT
};
#define SS_TA(name) (1u << SS_TA_BIT_##name)

/* JSON name ("retransmission") and Wireshark marker text of analysis flag bit `bit`. */
const char *ss_tcp_analysis_name(int bit);
const char *ss_tcp_analysis_marker(int bit);

/* RFC 9293 connection states of one endpoint, as inferred at the capture point. */
#define SS_TCP_STATES(X)          \
    X(UNKNOWN, "UNKNOWN")         \
    X(CLOSED, "CLOSED")           \
    X(LISTEN, "LISTEN")           \
    X(SYN_SENT, "SYN-SENT")       \
    X(SYN_RCVD, "SYN-RCVD")       \
    X(ESTABLISHED, "ESTABLISHED") \
    X(FIN_WAIT_1, "FIN-WAIT-1")   \
    X(FIN_WAIT_2, "FIN-WAIT-2")   \
    X(CLOSE_WAIT, "CLOSE-WAIT")   \
    X(CLOSING, "CLOSING")         \
    X(LAST_ACK, "LAST-ACK")       \
    X(TIME_WAIT, "TIME-WAIT")

typedef enum {
#define SS_ST_ENUM(name, text) SS_TCP_ST_##name,
    SS_TCP_STATES(SS_ST_ENUM)
#undef SS_ST_ENUM
} ss_tcp_state_t;

/* "SYN-SENT", "ESTABLISHED", ... */
const char *ss_tcp_state_name(ss_tcp_state_t s);

/* A segment remembered until acknowledged (for RTT and retransmission timing). */
typedef struct ss_tcp_seg {
    uint64_t frame;
    uint32_t seq, end; /* end = seq + len (+1 for SYN or FIN) */
    int64_t t_ns;
} ss_tcp_seg_t;

/*
 * One direction of a connection ("half"): what the capture has shown of the
 * sender's sequence space, its acknowledgments and its advertised window.
 * Field names follow docs/tcp-analysis.md section 1.2.
 */
typedef struct ss_tcp_half {
    bool base_set;     /* base_seq is known */
    uint32_t base_seq; /* relative numbers count from here: the ISN, or first seq - 1 */
    bool saw_syn;      /* a SYN (or SYN-ACK) from this side was seen */
    bool syn_had_ws;   /* that SYN carried the window scale option */
    int8_t win_scale;  /* SS_WSCALE_UNKNOWN, SS_WSCALE_NONE or a shift 0..14 */
    bool is_first_ack; /* between this side's SYN and its first non-SYN ACK */

    /*
     * Wireshark 4.0 keeps 0 as "not seen yet" for next_seq, max_seq_to_be_
     * acked and last_ack, and 0xFFFFFFFF for an unknown window; segscope
     * does the same so that its verdicts match packet for packet (a real
     * sequence number of 0 is then taken as unset, exactly as there).
     */
    bool seen;              /* a packet from this side was analysed */
    uint32_t next_seq;      /* highest seq + len (+1 for SYN/FIN) seen from this side; 0 = none */
    int64_t next_seq_t_ns;
    uint64_t next_seq_frame;
    uint32_t max_seq_to_be_acked; /* end of the contiguously seen data; 0 = none */
    uint32_t last_ack;      /* ack field of this side's latest packet; 0 = none */
    int64_t last_ack_t_ns;
    uint32_t window;        /* raw window of this side's latest packet; 0xFFFFFFFF = none */
    uint32_t dupack_count;  /* duplicate ACKs in a row; 0xFFFFFFFF after an ACKed-unseen (see tcp.c) */
    uint64_t last_nondup_frame;
    uint32_t last_flags;    /* analysis flags of this side's latest packet */
    bool valid_bif;         /* bytes in flight may be computed */
    uint8_t nsack;          /* SACK blocks of this side's latest packet (raw) */
    uint32_t sack[SS_TCP_MAX_SACK][2];
    bool fin_sent;
    uint32_t fin_seq;       /* sequence number the FIN occupies */
    bool acked_peer_fin;    /* this side acknowledged the peer's FIN */
    bool acked_peer_syn;    /* this side acknowledged the peer's SYN */
    bool rst_sent;
    uint32_t isn;           /* the SYN's sequence number when saw_syn */

    ss_tcp_seg_t *unacked;  /* oldest first */
    uint32_t n_unacked, cap_unacked;
    bool unacked_capped;    /* a segment was not remembered: max_unacked reached */
} ss_tcp_half_t;

/* The TCP state of one conversation: two halves indexed by flow-key direction. */
typedef struct ss_tcp_conn {
    ss_tcp_half_t half[2];
    uint32_t max_unacked;   /* cap on remembered segments per direction */
    bool syn_time_set;
    int64_t syn_t_ns;       /* time of the most recent SYN without ACK */
    bool irtt_set;
    int64_t irtt_ns;        /* initial RTT: SYN -> first ACK without SYN */
    int closer;             /* flow-key direction that sent the first FIN, -1 none */
    ss_tcp_state_t state[2]; /* endpoint states, indexed by flow-key direction of the endpoint as sender */
    uint8_t completeness;   /* Wireshark's tcp.completeness bits */
    int orig;               /* flow-key direction of the originator (client) */
    /* Zeek's history string: upper case from the originator, lower from the responder. */
    char history[48];
    uint8_t hist_len;
    uint8_t hist_once[2];   /* letters recorded once per direction (bits) */
    uint32_t hist_count[2][2]; /* retransmissions, zero windows: letters at 1, 10, 100... */
    uint32_t hist_syn_seq[2], hist_fin_end[2], hist_rst_seq[2];
} ss_tcp_conn_t;

/* One state change of one endpoint. */
typedef struct ss_tcp_transition {
    int end;                /* flow-key direction of the endpoint (its sending direction) */
    ss_tcp_state_t from, to;
    bool inferred;          /* assumed on receipt, not proven by a segment the endpoint sent */
} ss_tcp_transition_t;

#define SS_TCP_MAX_TRANSITIONS 4

/* What the analysis says about one packet. */
typedef struct ss_tcp_result {
    bool analyzed;     /* false for headers too damaged to analyse (raw numbers only) */
    uint32_t rel_seq;  /* seq - base of the sender's half */
    uint32_t rel_ack;  /* ack - base of the receiver's half; the raw field without ACK */
    uint32_t next_seq_rel; /* rel_seq + len (+1 for SYN or FIN) */
    uint32_t win;      /* window after scaling, when the scale is known */
    int8_t win_scale;  /* the scale applied (SS_WSCALE_* or shift) */
    uint32_t flags;    /* SS_TA(...) bits */
    uint32_t dup_ack_num;    /* with DUPLICATE_ACK */
    uint64_t dup_ack_of;     /* frame whose ACK this duplicates */
    bool has_ack_rtt;
    int64_t ack_rtt_ns;      /* time since the segment this ACK acknowledges exactly */
    uint64_t acks_frame;
    bool has_irtt;
    int64_t irtt_ns;
    bool has_bif;
    uint32_t bytes_in_flight;
    bool has_rto;
    int64_t rto_ns;          /* plain retransmission: time since the first send */
    uint64_t rto_frame;
    uint64_t first_sent_frame; /* retransmissions: the frame that first carried this sequence number */
    int64_t since_first_ns;    /* ... and how long before this packet */
    uint32_t expected_rel;   /* relative next_seq of the sender before this packet (0 = none) */
    uint32_t peer_ack_rel;   /* the receiver's latest ACK, relative to this sender (0 = none) */
    uint32_t peer_win;       /* the receiver's latest window, scaled when known */
    uint32_t prev_win;       /* this sender's previous window, scaled when known (window updates) */
    bool dsack;              /* the first block of sack[] reports duplicate data (RFC 2883) */
    bool fin_active;         /* FIN from the side that closed first */
    bool fin_passive;
    uint8_t nsack;           /* sack[0 .. nsack): SACK blocks, relative to the receiver's base */
    int ntrans;              /* trans[0 .. ntrans) */
    /* Last, and not cleared for each packet: only their first nsack and ntrans entries are written. */
    uint32_t sack[SS_TCP_MAX_SACK][2];
    ss_tcp_transition_t trans[SS_TCP_MAX_TRANSITIONS];
} ss_tcp_result_t;

/* Prepares a connection's state before its first packet. */
void ss_tcp_conn_init(ss_tcp_conn_t *c, uint32_t max_unacked);

/* Releases what the connection holds (its unacknowledged-segment lists). */
void ss_tcp_conn_fini(ss_tcp_conn_t *c);

/* Whether the header is well formed enough for sequence analysis. */
bool ss_tcp_analyzable(const ss_packet_t *pkt);

/*
 * Whether this packet, sent in direction `dir` on an existing conversation,
 * starts a new one on the same ports: a SYN without ACK whose ISN differs
 * from the one this side already used (Wireshark's "port numbers reused").
 */
bool ss_tcp_is_port_reuse(const ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt);

/*
 * Analyses one packet of the connection, in capture order; `t_ns` is its
 * capture time in nanoseconds, `frame` its number.
 */
void ss_tcp_process(ss_tcp_conn_t *c, int dir, const ss_packet_t *pkt, int64_t t_ns, uint64_t frame,
                    ss_tcp_result_t *res);

#endif
