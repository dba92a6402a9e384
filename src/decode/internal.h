/* internal.h - helpers shared by the decode module's files. */
#ifndef SS_DECODE_INTERNAL_H
#define SS_DECODE_INTERNAL_H

#include "segscope/bytes.h"
#include "segscope/clear.h"
#include "segscope/decode.h"

/* Marks the packet truncated in `layer` and returns SS_PKT_TRUNCATED. */
static inline int ss_dec_trunc(ss_packet_t *pkt, const char *layer)
{
    pkt->flags |= SS_PKT_TRUNCATED;
    if (!pkt->truncated_in)
        pkt->truncated_in = layer;
    return SS_PKT_TRUNCATED;
}

/* Marks the packet invalid with `problem` and returns SS_PKT_INVALID. */
static inline int ss_dec_invalid(ss_packet_t *pkt, ss_decode_problem_t problem)
{
    pkt->flags |= SS_PKT_INVALID;
    if (pkt->problem == SS_DP_NONE)
        pkt->problem = problem;
    return SS_PKT_INVALID;
}

/*
 * Decodes an IP datagram starting at frame offset `off`. `version` is 4, 6,
 * or 0 to take it from the first nibble.
 */
int ss_dec_ip(ss_packet_t *pkt, uint32_t off, int version);

/* Decodes the transport header at pkt->l4_off (l4_len already set). */
int ss_dec_transport(ss_packet_t *pkt);

#endif
