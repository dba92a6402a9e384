/* event.h - what the analysis core reports to output sinks. */
#ifndef SEGSCOPE_EVENT_H
#define SEGSCOPE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "segscope/decode.h"
#include "segscope/tcp.h"

/* Direction of a packet relative to the conversation's client. */
#define SS_DIR_C2S 0
#define SS_DIR_S2C 1

/* Per-conversation counters, indexed by SS_DIR_*. */
typedef struct ss_conv_info {
    uint8_t proto;          /* 6 = TCP, 17 = UDP */
    uint64_t index;         /* tcp_stream or udp_stream */
    ss_addr_t addr[2];      /* client, server */
    uint16_t port[2];
    int64_t first_sec, last_sec;
    uint32_t first_nsec, last_nsec;
    uint64_t frames[2];
    uint64_t bytes[2];      /* frame lengths on the wire */
    uint64_t payload[2];    /* transport payload bytes */
} ss_conv_info_t;

/* One packet, decoded and analysed. */
typedef struct ss_pkt_event {
    const ss_packet_t *pkt;
    const ss_csum_result_t *csum; /* NULL unless checksums are verified */
    int64_t rel_sec;              /* time since the first packet of the capture */
    uint32_t rel_nsec;
    const ss_conv_info_t *conv;   /* NULL for packets outside TCP/UDP conversations */
    int dir;                      /* SS_DIR_C2S / SS_DIR_S2C when conv is set */
    const ss_tcp_result_t *tcp;   /* TCP analysis; NULL for other packets */
    const ss_conv_info_t *quoted_conv; /* ICMP errors: the conversation they refer to, if known */
} ss_pkt_event_t;

typedef enum {
    SS_EV_PACKET = 1,
    SS_EV_CONVERSATION, /* a conversation ended (or the capture did) */
    SS_EV_NOTICE        /* a limit was reached, or similar news about the run */
} ss_event_type_t;

typedef struct ss_event {
    ss_event_type_t type;
    union {
        const ss_pkt_event_t *packet;
        const ss_conv_info_t *conv;
        const char *notice;
    } u;
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
