/* event.h - what the analysis core reports to output sinks. */
#ifndef SEGSCOPE_EVENT_H
#define SEGSCOPE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "segscope/decode.h"
#include "segscope/framing.h"
#include "segscope/tcp.h"

/* Direction of a packet relative to the conversation's client. */
#define SS_DIR_C2S 0
#define SS_DIR_S2C 1

typedef enum { SS_HS_NONE = 0, SS_HS_PARTIAL, SS_HS_COMPLETE } ss_handshake_t;

/* How the two FINs were exchanged (when both were seen). */
#define SS_FIN_UNKNOWN 0
#define SS_FIN_FOUR_WAY 1     /* FIN, ACK, FIN, ACK */
#define SS_FIN_THREE_WAY 2    /* FIN, FIN+ACK (the second FIN piggybacks the ACK of the first), ACK */
#define SS_FIN_SIMULTANEOUS 3 /* the FINs crossed: neither acknowledged the other */

/* "four-way", "three-way", "simultaneous" or "" */
const char *ss_fin_style_name(uint8_t s);
typedef enum { SS_CLOSE_OPEN = 0, SS_CLOSE_FIN, SS_CLOSE_HALF, SS_CLOSE_RST, SS_CLOSE_REFUSED } ss_close_t;

/* "none"/"partial"/"complete" and "open"/"fin"/"half"/"rst"/"refused". */
const char *ss_handshake_name(ss_handshake_t h);
const char *ss_close_name(ss_close_t c);

/* What a TCP conversation showed, from the client's point of view (index SS_DIR_C2S = client). */
typedef struct ss_conv_tcp {
    bool syn, synack, hs_ack;   /* handshake pieces seen: SYN, SYN-ACK, the ACK of the SYN-ACK */
    bool simultaneous_open;
    bool has_irtt;
    int64_t irtt_ns;
    bool isn_known[2];
    uint32_t isn[2];
    uint16_t mss[2];            /* 0 = not announced */
    int8_t wscale[2];           /* -1 = not announced */
    bool sack_perm[2], timestamps[2];
    bool ecn_requested;         /* the SYN carried ECE+CWR (RFC 3168) */
    bool ecn_setup;             /* ... and the SYN-ACK answered with ECE: ECN in use */
    uint32_t syn_retrans[2];    /* SYN and SYN-ACK retransmissions */
    bool last_syn_ack[2];       /* the last SYN of each side carried ACK */
    bool fin[2], rst[2];
    int first_fin;              /* SS_DIR_* of the side that sent the first FIN, -1 none */
    int first_rst;              /* SS_DIR_* of the first RST's sender, -1 none */
    ss_tcp_state_t rst_state;   /* the RST sender's state when it sent it */
    bool half_close;            /* data flowed after the other side's FIN */
    uint8_t fin_style;          /* SS_FIN_*: how the FINs were exchanged */
    ss_tcp_state_t state[2];    /* latest state of the client and of the server */
    const char *history;        /* Zeek-style history letters */
    uint64_t counts[SS_TA_COUNT]; /* packets with each analysis flag */
    uint64_t rtt_samples;
    int64_t rtt_min_ns, rtt_max_ns, rtt_sum_ns;
    uint32_t max_bif;
    uint8_t completeness;       /* Wireshark's tcp.completeness bits */
} ss_conv_tcp_t;

/* Messages of one direction of a TCP conversation (with --framing). */
typedef struct ss_conv_msgs {
    char framing[32];          /* the framing applied */
    uint64_t messages;         /* messages seen (complete or not) */
    uint64_t incomplete;
    uint64_t coalesced_segments; /* segments whose new bytes belong to 2+ messages */
    uint64_t split_messages;   /* messages first carried by 2+ segments */
    uint64_t largest;          /* bytes of the largest message */
    uint64_t gap_bytes;        /* bytes never captured */
    uint64_t overlap_bytes;    /* retransmitted bytes trimmed */
    uint32_t overlap_differs;  /* retransmissions whose bytes differed from the first copy */
    uint64_t dropped_bytes;    /* out-of-order bytes not kept (a reassembly cap) */
    bool inferred;             /* the framing was inferred (--framing auto) */
    uint8_t confidence;        /* ss_confidence_t of that inference */
    ss_auto_verdict_t verdict; /* ... and its verdict: ss_auto_explain says why, for those who show it */
    bool traced;               /* an application trace was matched to this direction */
    uint64_t send_calls;       /* its send() calls (the messages when no framing was named) */
    uint64_t recv_calls;       /* the receiver's recv() calls that returned bytes */
    uint64_t glued_recvs;      /* ... that returned bytes of two or more messages */
    uint64_t udp_missing;      /* UDP with numbered datagrams: numbers never seen */
    uint64_t udp_late;         /* ... and datagrams that came after a higher number */
    bool broken;               /* the stream stopped fitting the framing */
    uint64_t broken_at;
    char broken_why[96];       /* in English (JSON, CSV) */
    char broken_why_local[192]; /* the same in the user's language (the summary's notes) */
} ss_conv_msgs_t;

/* Per-conversation counters, indexed by SS_DIR_*. */
typedef struct ss_conv_info {
    uint8_t proto;          /* 6 = TCP, 17 = UDP */
    uint64_t index;         /* tcp_stream or udp_stream */
    ss_addr_t addr[2];      /* client, server */
    uint16_t port[2];
    int64_t first_sec, last_sec;
    uint32_t first_nsec, last_nsec;
    int64_t run_t0_ns;      /* capture time of the run's first packet, for relative times */
    uint64_t frames[2];
    uint64_t bytes[2];      /* frame lengths on the wire */
    uint64_t payload[2];    /* transport payload bytes */
    const ss_conv_tcp_t *tcp; /* TCP conversations only */
    const ss_conv_msgs_t *msgs; /* [2], by SS_DIR_*: with --framing, TCP only; else NULL */
} ss_conv_info_t;

/* Derived from ss_conv_tcp_t: how the handshake and the close went. */
ss_handshake_t ss_conv_handshake(const ss_conv_tcp_t *t);
ss_close_t ss_conv_close(const ss_conv_tcp_t *t);

/* Which messages the new bytes of one segment belonged to (with --framing). */
typedef struct ss_seg_msgs {
    uint32_t count;       /* messages with bytes in this segment's new payload; 0 = none */
    uint64_t first, last; /* their indices */
    bool coalesced;       /* count >= 2 */
    bool cont;            /* the first of them began in an earlier segment */
    uint32_t cont_part;   /* ... and this is its part number */
    bool cont_done;       /* ... and it ends here (cont_part is then its last part) */
    bool open_end;        /* the last of them continues in a later segment */
    bool buffered;        /* the bytes arrived out of order and wait for the hole to fill */
    uint32_t overlap;     /* bytes already seen (retransmitted) */
    bool differs;         /* ... and some differed from the first copy */
    /* UDP (with --framing): every datagram is one message */
    bool udp;
    bool udp_first;       /* the conversation's first datagram in this direction */
    bool numbered;        /* the datagrams carry a 32-bit big-endian counter (as the demo's do) */
    uint32_t number;      /* ... this datagram's */
    uint32_t missing;     /* numbers skipped just before this one (lost before the capture point) */
    bool late;            /* a number lower than one already seen: reordered or duplicated */
} ss_seg_msgs_t;

/* A message, reported when it is complete (or cut off). */
typedef struct ss_msg_event {
    const ss_conv_info_t *conv;
    int dir;              /* SS_DIR_* */
    const ss_message_t *msg;
} ss_msg_event_t;

/* One recv() call of the receiving application (with an application trace). */
typedef struct ss_recv_event {
    const ss_conv_info_t *conv;
    int dir;              /* SS_DIR_* of the bytes (c2s: the server's recv) */
    uint64_t index;       /* 0-based among that side's recv() calls */
    uint64_t off, len;    /* the bytes it returned */
    int64_t ts_ns;
    uint32_t count;       /* messages with bytes among them; >= 2: glued together */
    uint64_t first, last;
    bool first_partial, last_partial; /* it returned only part of the first / last message */
} ss_recv_event_t;

/* A piece of a reassembled stream (or a gap), valid only during the callback. */
typedef struct ss_data_event {
    const ss_conv_info_t *conv;
    int dir;              /* SS_DIR_* */
    const ss_stream_chunk_t *chunk;
} ss_data_event_t;

/* One packet, decoded and analysed. */
typedef struct ss_pkt_event {
    const ss_packet_t *pkt;
    const ss_csum_result_t *csum; /* NULL unless checksums are verified */
    int64_t rel_ns;               /* time since the first packet of the capture (negative when
                                     timestamps go back: captures are not re-sorted) */
    const ss_conv_info_t *conv;   /* NULL for packets outside TCP/UDP conversations */
    int dir;                      /* SS_DIR_C2S / SS_DIR_S2C when conv is set */
    const ss_tcp_result_t *tcp;   /* TCP analysis; NULL for other packets */
    const ss_conv_tcp_t *conv_tcp; /* the TCP conversation so far (states after this packet) */
    const ss_conv_info_t *quoted_conv; /* ICMP errors: the conversation they refer to, if known */
    const ss_seg_msgs_t *msgs;    /* with --framing: the messages in this segment's new bytes */
} ss_pkt_event_t;

typedef enum {
    SS_EV_PACKET = 1,
    SS_EV_CONVERSATION, /* a conversation ended (or the capture did) */
    SS_EV_NOTICE,       /* a limit was reached, or similar news about the run */
    SS_EV_MESSAGE,      /* with --framing: a message is complete (or cut off) */
    SS_EV_DATA,         /* with ss_config.emit_data: reassembled stream bytes, in stream order */
    SS_EV_RECV          /* with an application trace: a recv() call and the messages it returned */
} ss_event_type_t;

typedef struct ss_event {
    ss_event_type_t type;
    union {
        const ss_pkt_event_t *packet;
        const ss_conv_info_t *conv;
        const char *notice;
        const ss_msg_event_t *message;
        const ss_data_event_t *data;
        const ss_recv_event_t *recv;
    } u;
    /*
     * SS_EV_NOTICE: the notice in the user's language (ss_i18n_setup), for
     * outputs people read; u.notice stays English for the ones tools read.
     * NULL when the producer gave only u.notice.
     */
    const char *notice_local;
} ss_event_t;

/* What the sinks learn at the start and at the end of a run. */
typedef struct ss_run_info {
    const char *source_name; /* file name, "-" or interface */
    bool live;
    int linktype;
} ss_run_info_t;

typedef struct ss_run_end {
    uint64_t frames;
    const char *warning;     /* e.g. "file cut off in the middle of a record", or NULL */
    bool stats_valid;        /* live capture: libpcap's counters below are set */
    uint64_t pcap_received, pcap_dropped, pcap_if_dropped;
} ss_run_end_t;

#endif
