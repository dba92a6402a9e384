/* apptrace.h - reading application traces (docs/app-trace.md): the send()/recv() calls behind a capture. */
#ifndef SEGSCOPE_APPTRACE_H
#define SEGSCOPE_APPTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segscope/decode.h"

/* One call: `len` bytes at stream offset `off`. */
typedef struct ss_app_call {
    uint64_t off;
    uint32_t len;
    int64_t ts_ns; /* when the call returned (wall clock, like capture timestamps) */
} ss_app_call_t;

/* The calls of one direction of one connection, in offset order. */
typedef struct ss_app_dir {
    ss_app_call_t *sends;
    size_t nsends;
    ss_app_call_t *recvs;
    size_t nrecvs;
    int64_t first_ns;      /* earliest call */
    bool used;             /* matched to a conversation */
} ss_app_dir_t;

typedef struct ss_apptrace ss_apptrace_t;

/*
 * Memory bounds for an untrusted trace: the records kept by default (24
 * bytes each), and the connection directions (groups) kept whatever the
 * record limit. Records beyond either are dropped and counted.
 */
#define SS_APPTRACE_DEFAULT_MAX_RECORDS 2000000u
#define SS_APPTRACE_MAX_GROUPS 200000u

/*
 * Reads a trace file (JSON Lines). At most `max_records` records are kept;
 * malformed lines are skipped and counted. Returns 0, or SS_ERR_IO /
 * SS_ERR_NOMEM / SS_ERR_INVAL with a reason in `err`.
 */
int ss_apptrace_load(ss_apptrace_t **out, const char *path, uint64_t max_records, char *err, size_t errlen);

/* Records read, and lines skipped as malformed. */
void ss_apptrace_counts(const ss_apptrace_t *t, uint64_t *records, uint64_t *skipped);

/* Well-formed records dropped because a limit (records or groups) was reached. */
uint64_t ss_apptrace_dropped(const ss_apptrace_t *t);

/*
 * The calls of the connection direction from (src, sport) to (dst, dport)
 * whose first call is nearest to `start_ns` among those not yet matched
 * (several connections may reuse the same ports). Marks it matched. NULL
 * when the trace has nothing for these endpoints.
 */
const ss_app_dir_t *ss_apptrace_match(ss_apptrace_t *t, const ss_addr_t *src, uint16_t sport, const ss_addr_t *dst,
                                      uint16_t dport, int64_t start_ns);

void ss_apptrace_destroy(ss_apptrace_t *t);

#endif
