/* internal.h - formatting helpers shared by the output sinks. */
#ifndef SS_SINK_INTERNAL_H
#define SS_SINK_INTERNAL_H

#include <stddef.h>
#include <stdio.h>

#include "segscope/decode.h"
#include "segscope/sink.h"

/* Names of the TCP flag bits, in header order from FIN up. */
extern const char *const ss_tcp_flag_names[9];

/*
 * The analysis markers in the order Wireshark shows them (it prepends each
 * to the Info column, so the last one added is shown first): slot `i` of
 * SS_TA_MARKER_SLOTS gives the bit of `flags` shown there, or -1 when the
 * packet has none. One slot stands for the whole retransmission family
 * (fast, spurious, out-of-order, plain), whose one verdict it gives.
 */
#define SS_TA_MARKER_SLOTS 12
int ss_ta_marker_bit(size_t slot, uint32_t flags);

/* Writes v in decimal at p (at most 20 bytes, not terminated); returns the end. */
char *ss_put_u64(char *p, uint64_t v);

/* `len` bytes of `s` into buf[n] as snprintf("%s") would put them: cut at n - 1, terminated. */
void ss_put_cut(char *buf, size_t n, const char *s, size_t len);

/* "addr:port", IPv6 addresses in brackets. */
const char *ss_fmt_endpoint(const ss_addr_t *a, uint16_t port, char *buf, size_t n);

/* tcpdump's flag letters: "S", "S.", "P.", "F.", "R", "none" ... */
const char *ss_fmt_tcp_flags(uint16_t flags, char *buf, size_t n);

/* tcpdump-style option list: "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7". */
const char *ss_fmt_tcp_options(const ss_tcp_opts_t *o, char *buf, size_t n);

/* Signed nanoseconds as seconds with `decimals` (1..9) digits: "-0.250000". */
const char *ss_fmt_secs(int64_t ns, int decimals, char *buf, size_t n);

/* Milliseconds as printf would write the double ns / 1e6: "%.1f" from 10 ms up, else "%.3f" (n >= 32 is fastest). */
void ss_fmt_ms(char *buf, size_t n, int64_t ns);

/* snprintf(buf, n, fmt, ...), faster for formats of text, "%s" and "%" PRIu64 only. */
__attribute__((format(printf, 3, 4))) void ss_fmt_text(char *buf, size_t n, const char *fmt, ...);

/* Writes s as a JSON string literal (with quotes). */
void ss_json_str(FILE *out, const char *s);

void ss_sink_noop_destroy(ss_sink_t *s);

#endif
