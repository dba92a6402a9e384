/* ipfrag.h - tracking IP fragments until a datagram is complete (internal to the core). */
#ifndef SS_CORE_IPFRAG_H
#define SS_CORE_IPFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "segscope/decode.h"

typedef struct ss_ipfrag ss_ipfrag_t;

/* At most `max_datagrams` incomplete datagrams are tracked; NULL on ENOMEM. */
ss_ipfrag_t *ss_ipfrag_create(uint32_t max_datagrams);
void ss_ipfrag_destroy(ss_ipfrag_t *f);

/*
 * Records the fragment `pkt` (flags has SS_PKT_FRAGMENT). When it completes
 * its datagram, turns `pkt` into the reassembled datagram's packet (with
 * ss_decode_reassembled) and returns true.
 */
bool ss_ipfrag_add(ss_ipfrag_t *f, ss_packet_t *pkt, int64_t t_ns);

/* Incomplete datagrams dropped so far because max_datagrams were being tracked. */
uint64_t ss_ipfrag_evicted(const ss_ipfrag_t *f);

#endif
