/* flow.h - the conversation table: one entry per bidirectional 5-tuple. */
#ifndef SEGSCOPE_FLOW_H
#define SEGSCOPE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segscope/decode.h"
#include "segscope/limits.h"

/*
 * A canonical key: the two endpoints ordered as Wireshark orders them
 * (by address, then by port when the addresses are equal, as on loopback),
 * so both directions of a conversation find the same entry. The VLAN id
 * is not part of the key, as in tshark.
 */
typedef struct ss_flow_key {
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* 6 = TCP, 17 = UDP */
    uint16_t port[2];
    uint8_t addr[2][16];
} ss_flow_key_t;

/*
 * Builds the canonical key of a decoded TCP or UDP packet. `*dir_out` is 0
 * when the packet goes from endpoint 0 to endpoint 1 of the key, else 1.
 */
void ss_flow_key_from_packet(const ss_packet_t *pkt, ss_flow_key_t *key, int *dir_out);

/* The same from explicit endpoints (e.g. the datagram an ICMP error quotes). */
void ss_flow_key_make(ss_flow_key_t *key, int *dir_out, uint8_t proto, const ss_addr_t *src,
                      uint16_t sport, const ss_addr_t *dst, uint16_t dport);

typedef struct ss_flow ss_flow_t;
/*
 * The fields a lookup reads and writes (hash, last seen, key) come first and
 * fill 60 bytes, so finding a conversation touches one or two cache lines of
 * its record; the table's index and list links live in arrays of their own.
 */
struct ss_flow {
    uint32_t hash;   /* internal: the key's hash */
    uint32_t id;     /* internal: the flow's slot in the table's arrays */
    int64_t last_sec; /* capture time of the latest packet */
    uint32_t last_nsec;
    bool closed;     /* on the list of ended flows (ss_flow_set_closed) */
    ss_flow_key_t key;
    uint64_t index;       /* conversation number within its protocol, from 0 */
    int64_t first_sec;    /* capture time of the first packet */
    uint32_t first_nsec;
    uint64_t first_frame;
    /* per-protocol state, `ext_size` bytes given at table creation, zeroed */
    max_align_t ext[];
};

typedef struct ss_flow_table ss_flow_table_t;

/*
 * Called for a flow about to be removed from the table (evicted for the cap
 * or for idleness, replaced, or at ss_flow_table_destroy), so the owner can
 * report it and release what its ext area holds.
 */
typedef void (*ss_flow_release_fn)(void *ctx, ss_flow_t *flow, int reason);
#define SS_FLOW_RELEASE_END 0      /* end of the capture */
#define SS_FLOW_RELEASE_CAP 1      /* max_flows reached: least recently seen evicted */
#define SS_FLOW_RELEASE_IDLE 2     /* idle longer than the timeout */
#define SS_FLOW_RELEASE_REPLACED 3 /* a new conversation took its key (port reuse) */
#define SS_FLOW_RELEASE_CLOSED 4   /* ended, and more than max_closed ended flows were kept */

/* Creates a table; returns NULL on allocation failure. */
ss_flow_table_t *ss_flow_table_create(const ss_limits_t *limits, size_t ext_size,
                                      ss_flow_release_fn release, void *ctx);

/* Releases every flow (calling `release` with SS_FLOW_RELEASE_END) and frees the table. */
void ss_flow_table_destroy(ss_flow_table_t *t);

/* Finds the current flow for `key`, or NULL. Marks it as just seen at (sec, nsec). */
ss_flow_t *ss_flow_lookup(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec, uint32_t nsec);

/* The hash the table files `key` under (for the *_hashed and look-ahead calls below). */
uint32_t ss_flow_key_hash(const ss_flow_key_t *key);

/* ss_flow_lookup with the key's hash already computed. */
ss_flow_t *ss_flow_lookup_hashed(ss_flow_table_t *t, const ss_flow_key_t *key, uint32_t hash, int64_t sec,
                                 uint32_t nsec);

/*
 * Looking ahead, for a caller that knows which keys come next: asks the
 * processor to load the index entry for `hash` (ss_flow_prefetch), and later,
 * once it is loaded, returns the flow filed under that hash so that its
 * record can be loaded too (ss_flow_hint). A hint only: the flow may belong
 * to another key with the same hash, and the table may change before the
 * lookup. Neither call changes the table.
 */
void ss_flow_prefetch(const ss_flow_table_t *t, uint32_t hash);
ss_flow_t *ss_flow_hint(const ss_flow_table_t *t, uint32_t hash);
/*
 * Flows removed from the table so far. A flow pointer stays valid (the
 * record is not freed) for as long as this count has not changed, so a
 * caller may keep a hint across a few packets instead of asking again.
 */
uint64_t ss_flow_table_removed(const ss_flow_table_t *t);

/* Finds the current flow for `key` without marking it as seen, or NULL. */
ss_flow_t *ss_flow_find(ss_flow_table_t *t, const ss_flow_key_t *key);

/*
 * Creates a new flow for `key` (replacing and releasing a current one with
 * the same key), numbered with the next index of its protocol. Releases the
 * least recently seen ended flows beyond max_closed, any flows idle past the
 * timeout, and then, when the table is still full, the least recently seen
 * flow. Returns NULL only on allocation failure.
 */
ss_flow_t *ss_flow_create(ss_flow_table_t *t, const ss_flow_key_t *key, int64_t sec,
                          uint32_t nsec, uint64_t frame);

/*
 * Marks a flow as ended (a TCP conversation after its FINs or a RST): it
 * stays in the table for late packets, but once more than max_closed ended
 * flows are kept, the least recently seen of them is released to make room
 * for a new flow. Marking again is harmless.
 */
void ss_flow_set_closed(ss_flow_table_t *t, ss_flow_t *f);

/* Number of flows currently in the table, and ever created. */
size_t ss_flow_table_count(const ss_flow_table_t *t);
uint64_t ss_flow_table_evicted(const ss_flow_table_t *t);
/* Ended flows released to stay within max_closed. */
uint64_t ss_flow_table_closed_released(const ss_flow_table_t *t);

/* Calls fn for every flow still in the table, oldest first. */
void ss_flow_table_foreach(ss_flow_table_t *t, void (*fn)(void *ctx, ss_flow_t *f), void *ctx);

#endif
