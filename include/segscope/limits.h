/* limits.h - runtime caps on memory and work, with their defaults. */
#ifndef SEGSCOPE_LIMITS_H
#define SEGSCOPE_LIMITS_H

#include <stdint.h>

/*
 * Every structure that input can grow is capped here, at run time, so
 * tests can set tiny caps and really exercise them. Hitting a cap emits
 * an event and processing carries on.
 */
typedef struct ss_limits {
    uint32_t max_flows;         /* concurrent conversations kept (oldest idle evicted) */
    uint32_t idle_timeout_s;    /* a conversation idle this long (capture time) is closed; 0 = never */
    uint32_t max_closed;        /* ended conversations kept for late packets (the longest-ended reported first) */
    uint32_t max_unacked;       /* per direction: segments remembered for RTT/retransmission analysis */
    uint32_t max_fragments;     /* incomplete fragmented IP datagrams tracked at once */
    uint32_t max_ooo_segs;      /* per direction: out-of-order segments buffered for reassembly */
    uint64_t max_ooo_bytes;     /* per direction: out-of-order bytes buffered */
    uint64_t reasm_budget;      /* all directions together: out-of-order bytes buffered */
    uint64_t max_message;       /* largest message a framing may declare */
    uint32_t max_html_elements; /* packets and messages the HTML report keeps and draws */
} ss_limits_t;

#define SS_LIMITS_DEFAULT_MAX_FLOWS 1000000u
#define SS_LIMITS_DEFAULT_IDLE_TIMEOUT_S 0u
#define SS_LIMITS_DEFAULT_MAX_CLOSED 2000u
#define SS_LIMITS_DEFAULT_MAX_UNACKED 10000u
#define SS_LIMITS_DEFAULT_MAX_FRAGMENTS 4096u
#define SS_LIMITS_DEFAULT_MAX_OOO_SEGS 1024u
#define SS_LIMITS_DEFAULT_MAX_OOO_BYTES (4u * 1024 * 1024)
#define SS_LIMITS_DEFAULT_REASM_BUDGET (256ull * 1024 * 1024)
#define SS_LIMITS_DEFAULT_MAX_MESSAGE (64ull * 1024 * 1024)
#define SS_LIMITS_DEFAULT_MAX_HTML_ELEMENTS 20000u

static inline void ss_limits_init(ss_limits_t *l)
{
    l->max_flows = SS_LIMITS_DEFAULT_MAX_FLOWS;
    l->idle_timeout_s = SS_LIMITS_DEFAULT_IDLE_TIMEOUT_S;
    l->max_closed = SS_LIMITS_DEFAULT_MAX_CLOSED;
    l->max_unacked = SS_LIMITS_DEFAULT_MAX_UNACKED;
    l->max_fragments = SS_LIMITS_DEFAULT_MAX_FRAGMENTS;
    l->max_ooo_segs = SS_LIMITS_DEFAULT_MAX_OOO_SEGS;
    l->max_ooo_bytes = SS_LIMITS_DEFAULT_MAX_OOO_BYTES;
    l->reasm_budget = SS_LIMITS_DEFAULT_REASM_BUDGET;
    l->max_message = SS_LIMITS_DEFAULT_MAX_MESSAGE;
    l->max_html_elements = SS_LIMITS_DEFAULT_MAX_HTML_ELEMENTS;
}

#endif
