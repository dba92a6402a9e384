/* fuzz_analyzer.c - fuzz harness: the whole analyzer, every sink, fed a packet sequence from the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/analyzer.h"
#include "segscope/sink.h"

#define FUZZ_NAME "fuzz_analyzer"
#include "fuzz_common.h"

/*
 * Input:
 *   byte 0  configuration: bits 0-2 the --framing (none, len32, line,
 *           filexfer, len:2:le:incl:off=1, per-port framings, --follow
 *           without framing, auto); bit 3 --verify-checksums; bit 4 tiny
 *           limits (a few flows, fragments, segments and bytes, so that
 *           every cap is reached); bit 5 a one-second idle timeout; bits 6-7
 *           the conversation --follow shows (bit 6 also: colours and hex)
 *   byte 1  the link type, from the supported set
 *   then frames, each: a 16-bit big-endian length (top bit: the frame was
 *   longer on the wire than captured), a signed 16-bit time step in
 *   milliseconds (time may go backwards, as in a damaged capture), and the
 *   frame's bytes.
 *
 * All sinks run at once and write to /dev/null: the text timeline with
 * --explain, JSON Lines, the summary tables, --follow, the HTML report and
 * CSV. With --framing auto the frames go through twice, as the command
 * reads a file twice: a first pass infers, the second frames with what it
 * inferred.
 */

static const int link_types[] = {
    SS_LINK_ETHERNET,   SS_LINK_RAW,  SS_LINK_NULL, SS_LINK_LOOP,  SS_LINK_LINUX_SLL,
    SS_LINK_LINUX_SLL2, SS_LINK_IPV4, SS_LINK_IPV6, SS_LINK_NFLOG,
};

static const char *const framings[] = {
    NULL,
    "len32",
    "line",
    "filexfer",
    "len:2:le:incl:off=1",
    "line:crlf,9000=len32,9001=filexfer:le,53=len16",
    "", /* --follow without framing */
    "auto",
};

#define NSINKS 6

static FILE *devnull(void)
{
    /* Opened once for the whole fuzzing process (the harness's only state). */
    static FILE *out;
    if (!out)
        out = fopen("/dev/null", "w");
    return out;
}

/* One run over the frames in `r` (a copy: each pass reads them from the start). */
static void run(ss_analyzer_t *a, reader_t r, int linktype)
{
    ss_run_info_t info = {.source_name = "fuzz", .live = false, .linktype = linktype};
    int rc = ss_analyzer_begin(a, &info);
    int64_t ts_ms = 1700000000000LL; /* far from 0: 16-bit steps never make it negative */
    uint64_t number = 0;
    while (rc == 0 && r.n >= 4) {
        uint32_t len = take(&r, 2);
        int16_t step = (int16_t)take(&r, 2);
        bool cut = (len & 0x8000) != 0;
        len &= 0x7FFF;
        if (len > r.n)
            len = (uint32_t)r.n;
        /* Its own exactly-sized copy, freed after the call, as a capture source's buffer is reused. */
        uint8_t *bytes = malloc(len ? len : 1);
        if (!bytes)
            break;
        memcpy(bytes, r.p, len);
        r.p += len;
        r.n -= len;
        ts_ms += step;
        ss_frame_t f;
        memset(&f, 0, sizeof(f));
        f.data = bytes;
        f.caplen = len;
        f.wirelen = cut ? len + 1000 : len;
        f.ts_sec = ts_ms / 1000;
        f.ts_nsec = (uint32_t)(ts_ms % 1000) * 1000000u;
        f.linktype = linktype;
        f.number = ++number;
        rc = ss_analyzer_feed(a, &f);
        free(bytes);
    }
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    ss_analyzer_finish(a, &end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *out = devnull();
    if (!out || size < 2)
        return 0;
    reader_t r = {data, size};
    uint8_t conf = (uint8_t)take(&r, 1);
    int linktype = link_types[take(&r, 1) % (sizeof(link_types) / sizeof(link_types[0]))];

    ss_config_t cfg;
    ss_config_init(&cfg);
    const char *framing = framings[conf & 7];
    if (framing && framing[0]) {
        char err[160];
        if (ss_config_set_framing(&cfg, framing, err, sizeof(err)) != 0)
            abort(); /* the list above is valid */
    }
    if (framing) {
        cfg.reassemble = true;
        cfg.emit_data = true;
    }
    cfg.verify_checksums = (conf & 0x08) != 0;
    ss_html_opts_t ho = {0, 0, 0};
    if (conf & 0x10) {
        cfg.limits.max_flows = 3;
        cfg.limits.max_unacked = 4;
        cfg.limits.max_fragments = 2;
        cfg.limits.max_ooo_segs = 3;
        cfg.limits.max_ooo_bytes = 600;
        cfg.limits.reasm_budget = 1000;
        cfg.limits.max_message = 64;
        ho = (ss_html_opts_t){.max_elements = 20, .max_conv_elements = 5, .max_rows = 2};
    }
    if (conf & 0x20) {
        cfg.limits.idle_timeout_s = 1;
        cfg.limits.max_closed = 0; /* ended conversations are reported and freed at the next new one */
    }

    /* --framing auto: the first pass, without sinks, infers the framing of each conversation. */
    ss_inferred_t *inferred = NULL;
    if (cfg.framing.kind == SS_FRAMING_AUTO) {
        ss_config_t c1 = cfg;
        c1.keep_inferred = true;
        ss_analyzer_t *first = ss_analyzer_create(&c1, NULL, 0);
        if (!first)
            return 0;
        run(first, r, linktype);
        const ss_inferred_t *inf;
        size_t n = ss_analyzer_inferred(first, &inf);
        if (n && (inferred = malloc(n * sizeof(*inferred))) != NULL) {
            memcpy(inferred, inf, n * sizeof(*inferred));
            cfg.ninferred = n;
        }
        cfg.inferred = inferred;
        cfg.inference_done = true;
        ss_analyzer_destroy(first);
    }

    bool alt = (conf & 0x40) != 0;
    ss_text_opts_t to = {.color = alt, .show_options = true, .line_flush = false, .explain = true};
    ss_sink_t *sinks[NSINKS] = {
        ss_sink_text_create(out, &to),
        ss_sink_json_create(out, false, true),
        ss_sink_summary_create(out, alt),
        ss_sink_follow_create(out, conf >> 6, alt, alt),
        ss_sink_html_create(out, &ho),
        ss_sink_csv_create(out),
    };
    bool all = true;
    for (size_t i = 0; i < NSINKS; i++)
        all &= sinks[i] != NULL;
    ss_analyzer_t *a = all ? ss_analyzer_create(&cfg, sinks, NSINKS) : NULL;
    if (a)
        run(a, r, linktype);
    ss_analyzer_destroy(a);
    for (size_t i = 0; i < NSINKS; i++)
        ss_sink_destroy(sinks[i]);
    free(inferred);
    return 0;
}
