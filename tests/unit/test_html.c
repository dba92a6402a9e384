/* test_html.c - the HTML report and CSV sinks: caps on what the report keeps, the notes that say so, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/analyzer.h"
#include "segscope/sink.h"
#include "segscope/source.h"

/* The anomalies capture: 47 packets in 4 TCP conversations of 32, 5, 8 and 2 packets. */
static const char *anomalies(char *buf, size_t n)
{
    const char *dir = getenv("SS_TEST_DATA");
    snprintf(buf, n, "%s/spec/anomalies.pcap", dir ? dir : "tests/data");
    return buf;
}

/* Runs a capture file through an analyzer reporting to `sink` (destroyed here); returns what it wrote. */
static char *run_file(ss_sink_t *sink, ss_pb_memout_t *m, const char *path, const char *name)
{
    char err[SS_SOURCE_ERRBUF];
    ss_source_t *src = NULL;
    assert_int_equal(ss_source_open_file(&src, path, err), 0);
    ss_config_t cfg;
    ss_config_init(&cfg);
    ss_analyzer_t *an = ss_analyzer_create(&cfg, &sink, 1);
    assert_non_null(an);
    ss_run_info_t info = {.source_name = name, .live = false, .linktype = ss_source_linktype(src)};
    assert_int_equal(ss_analyzer_begin(an, &info), 0);
    ss_frame_t fr;
    while (ss_source_next(src, &fr, err) == SS_SOURCE_FRAME)
        assert_int_equal(ss_analyzer_feed(an, &fr), 0);
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    assert_int_equal(ss_analyzer_finish(an, &end), 0);
    ss_analyzer_destroy(an);
    ss_sink_destroy(sink);
    ss_source_close(src);
    char *text = strdup(ss_pb_memout_text(m));
    assert_non_null(text);
    ss_pb_memout_close(m);
    return text;
}

static char *report(const ss_html_opts_t *opts, const char *name)
{
    char path[1024];
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_html_create(m.f, opts);
    assert_non_null(s);
    return run_file(s, &m, anomalies(path, sizeof(path)), name);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The arrows of the ladder of one conversation section ("tcp-1"). */
static int arrows_in(const char *text, const char *id)
{
    char open[64];
    snprintf(open, sizeof(open), "<details class=\"conv\" id=\"%s\"", id);
    const char *s = strstr(text, open);
    if (!s)
        return -1;
    const char *e = strstr(s, "</details>");
    assert_non_null(e);
    int n = 0;
    for (const char *p = strstr(s, "<g class=\"pkt "); p && p < e; p = strstr(p + 1, "<g class=\"pkt "))
        n++;
    return n;
}

static void test_html_defaults_draw_every_packet(void **state)
{
    (void)state;
    char *t = report(NULL, "anomalies.pcap");
    assert_int_equal(count(t, "<g class=\"pkt "), 47);
    assert_int_equal(arrows_in(t, "tcp-0"), 32);
    assert_int_equal(arrows_in(t, "tcp-1"), 5);
    assert_int_equal(arrows_in(t, "tcp-2"), 8);
    assert_int_equal(arrows_in(t, "tcp-3"), 2);
    assert_null(strstr(t, "class=\"note\""));
    assert_non_null(strstr(t, "</html>\n"));
    free(t);
}

static void test_html_total_cap_cuts_view_and_says_so(void **state)
{
    (void)state;
    ss_html_opts_t o = {.max_elements = 10};
    char *t = report(&o, "anomalies.pcap");
    /* The first conversation takes the whole budget; the others are listed but not drawn. */
    assert_int_equal(count(t, "<g class=\"pkt "), 10);
    assert_int_equal(arrows_in(t, "tcp-0"), 10);
    assert_int_equal(arrows_in(t, "tcp-1"), -1);
    assert_non_null(strstr(t, "Only the first 10 of its 32 packets are drawn"));
    assert_non_null(strstr(t, "and that total was reached"));
    assert_non_null(strstr(t, "3 conversations started after the report's limit of 10"));
    /* The table still lists all four; only drawn ones link to their pictures. */
    assert_int_equal(count(t, "<tr><td class=\"n\""), 4);
    assert_int_equal(count(t, "<a href=\"#tcp-"), 1);
    free(t);
}

static void test_html_per_conversation_cap(void **state)
{
    (void)state;
    ss_html_opts_t o = {.max_conv_elements = 5};
    char *t = report(&o, "anomalies.pcap");
    assert_int_equal(arrows_in(t, "tcp-0"), 5);
    assert_int_equal(arrows_in(t, "tcp-1"), 5);
    assert_int_equal(arrows_in(t, "tcp-2"), 5);
    assert_int_equal(arrows_in(t, "tcp-3"), 2);
    assert_int_equal(count(t, "Only the first 5 of its"), 2);
    assert_null(strstr(t, "and that total was reached"));
    free(t);
}

static void test_html_row_cap_lists_first_rows(void **state)
{
    (void)state;
    ss_html_opts_t o = {.max_rows = 2};
    char *t = report(&o, "anomalies.pcap");
    assert_int_equal(count(t, "<tr><td class=\"n\""), 2);
    assert_non_null(strstr(t, "The table lists the first 2 conversations to end; 2 more are not listed"));
    free(t);
}

static void test_html_escapes_text(void **state)
{
    (void)state;
    char *t = report(NULL, "<b>&\"x'.pcap");
    assert_null(strstr(t, "&\"x'"));
    assert_null(strstr(t, "<b>&\""));
    assert_int_equal(count(t, "&lt;b&gt;&amp;&quot;x&#39;.pcap"), 2); /* <title> and the heading */
    free(t);
}

static void test_html_same_input_same_page(void **state)
{
    (void)state;
    char *a = report(NULL, "x"), *b = report(NULL, "x");
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/*
 * A conversation 127 years after the capture's first packet, lasting under a
 * microsecond: the time axis's tick step is below the spacing of doubles
 * there, so ticks must be counted, not reached by adding the step (that
 * loop never ended: a bit flip in a capture's timestamp hung --html).
 */
static void test_html_axis_far_from_capture_start_finishes(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_RAW, 0, 0);
    ss_pb_link_t l = ss_pb_link(SS_LINK_RAW);
    ss_pb_pkt_t u = ss_pb_udp4("10.0.0.1", 5000, "10.0.0.2", 53);
    assert_non_null(ss_pb_trace_add(&t, &l, &u));
    t.ts_sec = 0xF0000000LL;
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80);
    p.tcp.flags = SS_TCP_SYN;
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_html_create(m.f, NULL);
    assert_non_null(s);
    assert_int_equal(ss_pb_run(s, NULL, &t), 0);
    ss_sink_destroy(s);
    const char *page = ss_pb_memout_text(&m);
    assert_non_null(strstr(page, "class=\"tsg\""));
    assert_non_null(strstr(page, "</html>"));
    ss_pb_memout_close(&m);
    ss_pb_trace_fini(&t);
}

static void test_csv_header_and_one_row_per_conversation(void **state)
{
    (void)state;
    char path[1024];
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_csv_create(m.f);
    assert_non_null(s);
    char *t = run_file(s, &m, anomalies(path, sizeof(path)), "x");
    assert_int_equal(count(t, "\n"), 5);
    assert_true(strncmp(t, "stream,proto,client,server,start,duration,", 42) == 0);
    /* Every row has as many fields as the header (no field here needs quotes). */
    int fields = -1;
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        int n = 1;
        for (char *p = line; p < nl; p++)
            n += *p == ',';
        if (fields < 0)
            fields = n;
        assert_int_equal(n, fields);
        line = nl + 1;
    }
    assert_non_null(strstr(t, "\n0,tcp,10.0.0.1:40000,10.0.0.2:8080,0.000000000,5.020000000,17,"));
    /* Conversation 1: reset by the server while established. */
    assert_non_null(strstr(t, ",rst,server,server,ESTABLISHED,"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_defaults_draw_every_packet),
        cmocka_unit_test(test_html_total_cap_cuts_view_and_says_so),
        cmocka_unit_test(test_html_per_conversation_cap),
        cmocka_unit_test(test_html_row_cap_lists_first_rows),
        cmocka_unit_test(test_html_escapes_text),
        cmocka_unit_test(test_html_same_input_same_page),
        cmocka_unit_test(test_html_axis_far_from_capture_start_finishes),
        cmocka_unit_test(test_csv_header_and_one_row_per_conversation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
