/* fuzz_pcap.c - fuzz harness: a whole capture file (pcap or pcapng) read by libpcap, then analysed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/analyzer.h"
#include "segscope/sink.h"
#include "segscope/source.h"

/*
 * Input: the bytes of a capture file, opened with fmemopen and read by
 * libpcap (pcap_fopen_offline, through ss_source_open_stream), every frame
 * through the analyzer with reassembly and line framing, the text timeline
 * with --explain, JSON, the summary, the HTML report and CSV written to
 * /dev/null. Inputs whose
 * length is 3 modulo 4 are read through a BPF filter too, as
 * `segscope -r FILE tcp or udp` would; the read stops at the first damaged
 * record, as the command does.
 */

#define NSINKS 5

static FILE *devnull(void)
{
    /* Opened once for the whole fuzzing process (the harness's only state). */
    static FILE *out;
    if (!out)
        out = fopen("/dev/null", "w");
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *out = devnull();
    if (!out || size == 0)
        return 0;
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp)
        return 0;
    char err[SS_SOURCE_ERRBUF];
    ss_source_t *src;
    if (ss_source_open_stream(&src, fp, err) != 0)
        return 0; /* fp is closed */
    if ((size & 3) == 3 && ss_source_set_filter(src, "tcp or udp", err) != 0) {
        ss_source_close(src);
        return 0;
    }

    ss_config_t cfg;
    ss_config_init(&cfg);
    char ferr[160];
    ss_config_set_framing(&cfg, "line", ferr, sizeof(ferr));
    cfg.verify_checksums = true;
    ss_text_opts_t to = {.color = false, .show_options = true, .line_flush = false, .explain = true};
    ss_sink_t *sinks[NSINKS] = {
        ss_sink_text_create(out, &to),  ss_sink_json_create(out, false, true), ss_sink_summary_create(out, false),
        ss_sink_html_create(out, NULL), ss_sink_csv_create(out),
    };
    bool all = true;
    for (size_t i = 0; i < NSINKS; i++)
        all &= sinks[i] != NULL;
    ss_analyzer_t *a = all ? ss_analyzer_create(&cfg, sinks, NSINKS) : NULL;
    if (a) {
        ss_run_info_t info = {.source_name = "fuzz", .live = false, .linktype = ss_source_linktype(src)};
        int rc = ss_analyzer_begin(a, &info);
        ss_run_end_t end;
        memset(&end, 0, sizeof(end));
        while (rc == 0) {
            ss_frame_t f;
            int r = ss_source_next(src, &f, err);
            if (r != SS_SOURCE_FRAME) {
                if (r < 0)
                    end.warning = err;
                break; /* a file never times out: EOF or an error */
            }
            rc = ss_analyzer_feed(a, &f);
        }
        ss_analyzer_finish(a, &end);
    }
    ss_analyzer_destroy(a);
    for (size_t i = 0; i < NSINKS; i++)
        ss_sink_destroy(sinks[i]);
    ss_source_close(src);
    return 0;
}
