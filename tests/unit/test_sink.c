/* test_sink.c - the JSON Lines, text, follow and summary sinks, fed hand-built packets through an analyzer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include <cmocka.h>

#include "pktbuild.h"
#include "segscope/analyzer.h"
#include "segscope/sink.h"
#include "segscope/i18n.h"
#include "../../src/sink/internal.h"

/* ---- a small JSON checker ----------------------------------------------- */

/*
 * Enough of RFC 8259 to check that every line is one well-formed value and to
 * pick out members: strings (with escapes, no raw control characters),
 * numbers, literals, arrays, objects.
 */
static void js_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static bool js_value(const char **p);

static bool js_string(const char **p)
{
    const char *s = *p;
    if (*s++ != '"')
        return false;
    for (;;) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\0' || ch < 0x20)
            return false;
        s++;
        if (ch == '"')
            break;
        if (ch == '\\') {
            char e = *s++;
            if (e == 'u') {
                for (int i = 0; i < 4; i++, s++) {
                    char h = *s;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return false;
                }
            } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                return false;
            }
        }
    }
    *p = s;
    return true;
}

static bool js_digits(const char **p)
{
    if (**p < '0' || **p > '9')
        return false;
    while (**p >= '0' && **p <= '9')
        (*p)++;
    return true;
}

static bool js_number(const char **p)
{
    const char *s = *p;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (!js_digits(&s))
        return false;
    if (*s == '.') {
        s++;
        if (!js_digits(&s))
            return false;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!js_digits(&s))
            return false;
    }
    *p = s;
    return true;
}

static bool js_container(const char **p, char open, char close, bool keys)
{
    if (**p != open)
        return false;
    (*p)++;
    js_ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        js_ws(p);
        if (keys) {
            if (!js_string(p))
                return false;
            js_ws(p);
            if (**p != ':')
                return false;
            (*p)++;
        }
        if (!js_value(p))
            return false;
        js_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p != close)
            return false;
        (*p)++;
        return true;
    }
}

static bool js_value(const char **p)
{
    js_ws(p);
    switch (**p) {
    case '{': return js_container(p, '{', '}', true);
    case '[': return js_container(p, '[', ']', false);
    case '"': return js_string(p);
    case 't': return strncmp(*p, "true", 4) == 0 ? (*p += 4, true) : false;
    case 'f': return strncmp(*p, "false", 5) == 0 ? (*p += 5, true) : false;
    case 'n': return strncmp(*p, "null", 4) == 0 ? (*p += 4, true) : false;
    default: return js_number(p);
    }
}

/* Whether `line` is exactly one JSON object. */
static bool js_valid_object(const char *line)
{
    const char *p = line;
    js_ws(&p);
    if (*p != '{' || !js_value(&p))
        return false;
    js_ws(&p);
    return *p == '\0';
}

/*
 * Copies the raw text of member `key` of the object `obj` (top level only)
 * into out; false when absent.
 */
static bool js_get(const char *obj, const char *key, char *out, size_t n)
{
    const char *p = obj;
    js_ws(&p);
    if (*p++ != '{')
        return false;
    for (;;) {
        js_ws(&p);
        if (*p == '}')
            return false;
        const char *ks = p;
        if (!js_string(&p))
            return false;
        size_t klen = (size_t)(p - ks) - 2;
        js_ws(&p);
        if (*p++ != ':')
            return false;
        js_ws(&p);
        const char *vs = p;
        if (!js_value(&p))
            return false;
        if (klen == strlen(key) && strncmp(ks + 1, key, klen) == 0) {
            size_t vlen = (size_t)(p - vs);
            if (vlen + 1 > n)
                return false;
            memcpy(out, vs, vlen);
            out[vlen] = '\0';
            return true;
        }
        js_ws(&p);
        if (*p == ',')
            p++;
    }
}

static void test_sink_json_checker_rejects_bad_json(void **state)
{
    (void)state;
    /* The checker itself must be able to say no, or the tests below prove nothing. */
    assert_true(js_valid_object("{\"a\":[1,-2.5e3,true,null,{\"b\":\"\\u00e9\\n\"}]}"));
    assert_false(js_valid_object("{\"a\":1,}"));
    assert_false(js_valid_object("{\"a\":01}"));
    assert_false(js_valid_object("{\"a\":\"x\ty\"}"));
    assert_false(js_valid_object("{\"a\":\"\\x\"}"));
    assert_false(js_valid_object("{\"a\":1} x"));
    assert_false(js_valid_object("{\"a\" 1}"));
    assert_false(js_valid_object("{\"a\":[1 2]}"));
    char v[64];
    assert_true(js_get("{\"x\":{\"y\":1},\"y\":[2]}", "y", v, sizeof(v)));
    assert_string_equal(v, "[2]");
    assert_false(js_get("{\"x\":{\"y\":1}}", "y", v, sizeof(v)));
}

/* ---- a conversation to print -------------------------------------------- */

/* MSS 1460, SACK permitted, TS val 1 ecr 0, NOP, window scale `ws`. */
static void syn_opts(uint8_t o[20], uint32_t tsval, uint32_t tsecr, uint8_t ws)
{
    static const uint8_t base[20] = {2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 0};
    memcpy(o, base, 20);
    o[8] = (uint8_t)(tsval >> 24);
    o[9] = (uint8_t)(tsval >> 16);
    o[10] = (uint8_t)(tsval >> 8);
    o[11] = (uint8_t)tsval;
    o[12] = (uint8_t)(tsecr >> 24);
    o[13] = (uint8_t)(tsecr >> 16);
    o[14] = (uint8_t)(tsecr >> 8);
    o[15] = (uint8_t)tsecr;
    o[19] = ws;
}

static void add_tcp(ss_pb_trace_t *t, bool c2s, uint16_t flags, uint32_t seq, uint32_t ack,
                    uint16_t win, const char *data, const uint8_t *opts, size_t olen)
{
    ss_pb_pkt_t p = c2s ? ss_pb_tcp4("10.0.0.1", 40000, "10.0.0.2", 80)
                        : ss_pb_tcp4("10.0.0.2", 80, "10.0.0.1", 40000);
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.win = win;
    p.tcp.opts = opts;
    p.tcp.opts_len = olen;
    if (data) {
        p.tcp.payload = (const uint8_t *)data;
        p.tcp.payload_len = strlen(data);
    }
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    assert_non_null(ss_pb_trace_add(t, &l, &p));
    ss_pb_trace_advance(t, 1000);
}

/* Handshake with window scaling (7 and 8), 5 bytes of data, FIN close. */
static void conversation(ss_pb_trace_t *t)
{
    uint8_t o1[20], o2[20];
    syn_opts(o1, 1, 0, 7);
    syn_opts(o2, 2, 1, 8);
    ss_pb_trace_init(t, SS_LINK_ETHERNET, 1700000000, 123456789);
    add_tcp(t, true, SS_TCP_SYN, 1000, 0, 64240, NULL, o1, 20);
    add_tcp(t, false, SS_TCP_SYN | SS_TCP_ACK, 5000, 1001, 65160, NULL, o2, 20);
    add_tcp(t, true, SS_TCP_ACK, 1001, 5001, 502, NULL, NULL, 0);
    add_tcp(t, true, SS_TCP_PSH | SS_TCP_ACK, 1001, 5001, 502, "hello", NULL, 0);
    add_tcp(t, false, SS_TCP_ACK, 5001, 1006, 509, NULL, NULL, 0);
    add_tcp(t, true, SS_TCP_FIN | SS_TCP_ACK, 1006, 5001, 502, NULL, NULL, 0);
    add_tcp(t, false, SS_TCP_FIN | SS_TCP_ACK, 5001, 1007, 509, NULL, NULL, 0);
    add_tcp(t, true, SS_TCP_ACK, 1007, 5002, 502, NULL, NULL, 0);
}

/* Splits text into at most `max` lines (the copy is owned by the caller through *store). */
static int split_lines(const char *text, char **lines, int max, char **store)
{
    *store = strdup(text);
    assert_non_null(*store);
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(*store, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    return n;
}

static void assert_member(const char *obj, const char *key, const char *want)
{
    char v[512];
    if (!js_get(obj, key, v, sizeof(v)))
        fail_msg("member \"%s\" missing in %s", key, obj);
    if (strcmp(v, want) != 0)
        fail_msg("member \"%s\" is %s, expected %s", key, v, want);
}

/* Runs `t` through a JSON sink; returns the lines (free *store). */
static int run_json(const ss_pb_trace_t *t, char **lines, int max, char **store)
{
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_json_create(m.f, false, true);
    assert_non_null(s);
    assert_int_equal(ss_pb_run(s, NULL, t), 0);
    ss_sink_destroy(s);
    int n = split_lines(ss_pb_memout_text(&m), lines, max, store);
    ss_pb_memout_close(&m);
    /* Keep the packet lines: state changes and explanations are indented continuation lines. */
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(lines[i], "                    ", 20) != 0)
            lines[k++] = lines[i];
    return k;
}

/* The packet record of frame `frame` among the lines, or fails. */
static const char *packet_line(char **lines, int n, int frame)
{
    char want[32], v[32];
    snprintf(want, sizeof(want), "%d", frame);
    for (int i = 0; i < n; i++) {
        if (js_get(lines[i], "type", v, sizeof(v)) && strcmp(v, "\"packet\"") == 0 &&
            js_get(lines[i], "frame", v, sizeof(v)) && strcmp(v, want) == 0)
            return lines[i];
    }
    fail_msg("no packet record for frame %d", frame);
    return NULL;
}

/* ---- JSON --------------------------------------------------------------- */

static void test_sink_json_every_line_valid_capture_packets_end(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    conversation(&t);
    char *lines[64], *store;
    int n = run_json(&t, lines, 64, &store);
    assert_true(n >= 10);
    for (int i = 0; i < n; i++)
        if (!js_valid_object(lines[i]))
            fail_msg("line %d is not a JSON object: %s", i + 1, lines[i]);
    assert_member(lines[0], "type", "\"capture\"");
    assert_member(lines[0], "schema", "3");
    assert_member(lines[0], "source", "\"pktbuild\"");
    assert_member(lines[0], "live", "false");
    assert_member(lines[0], "linktype", "1");
    assert_member(lines[n - 1], "type", "\"end\"");
    assert_member(lines[n - 1], "frames", "8");
    int packets = 0;
    char v[32];
    for (int i = 0; i < n; i++)
        if (js_get(lines[i], "type", v, sizeof(v)) && strcmp(v, "\"packet\"") == 0)
            packets++;
    assert_int_equal(packets, 8);
    /* Packet records come in frame order, right after the capture record. */
    for (int f = 1; f <= 8; f++) {
        snprintf(v, sizeof(v), "%d", f);
        assert_member(lines[f], "frame", v);
    }
    free(store);
    ss_pb_trace_fini(&t);
}

static void test_sink_json_syn_record_has_every_field(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    conversation(&t);
    char *lines[64], *store;
    int n = run_json(&t, lines, 64, &store);
    const char *syn = packet_line(lines, n, 1);
    assert_member(syn, "ts", "1700000000.123456789");
    assert_member(syn, "rel_ts", "0.000000000");
    assert_member(syn, "frame_len", "74");
    assert_member(syn, "caplen", "74");
    assert_member(syn, "src", "\"10.0.0.1\"");
    assert_member(syn, "dst", "\"10.0.0.2\"");
    assert_member(syn, "ip_version", "4");
    assert_member(syn, "sport", "40000");
    assert_member(syn, "dport", "80");
    assert_member(syn, "proto", "\"tcp\"");
    assert_member(syn, "tcp_stream", "0");
    assert_member(syn, "dir", "\"c2s\"");
    assert_member(syn, "flags", "[\"SYN\"]");
    assert_member(syn, "seq", "0");
    assert_member(syn, "ack", "0");
    assert_member(syn, "seq_raw", "1000");
    assert_member(syn, "ack_raw", "0");
    assert_member(syn, "len", "0");
    assert_member(syn, "win", "64240");
    assert_member(syn, "win_raw", "64240");
    assert_member(syn, "hdr_len", "40");
    assert_member(syn, "analyzed", "true");

    char opts[256];
    assert_true(js_get(syn, "options", opts, sizeof(opts)));
    assert_member(opts, "mss", "1460");
    assert_member(opts, "wscale", "7");
    assert_member(opts, "sack_perm", "true");
    assert_member(opts, "ts", "{\"val\":1,\"ecr\":0}");
    assert_member(opts, "nop", "1");
    char v[16];
    assert_false(js_get(opts, "eol", v, sizeof(v)));
    assert_false(js_get(opts, "malformed", v, sizeof(v)));
    free(store);
    ss_pb_trace_fini(&t);
}

static void test_sink_json_data_and_reply_records_relative_and_scaled(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    conversation(&t);
    char *lines[64], *store;
    int n = run_json(&t, lines, 64, &store);

    const char *synack = packet_line(lines, n, 2);
    assert_member(synack, "flags", "[\"SYN\",\"ACK\"]");
    assert_member(synack, "dir", "\"s2c\"");
    assert_member(synack, "seq", "0");
    assert_member(synack, "ack", "1");
    assert_member(synack, "rel_ts", "0.001000000");
    assert_member(synack, "ts", "1700000000.124456789");

    const char *data = packet_line(lines, n, 4);
    assert_member(data, "flags", "[\"PSH\",\"ACK\"]");
    assert_member(data, "seq", "1");
    assert_member(data, "ack", "1");
    assert_member(data, "seq_raw", "1001");
    assert_member(data, "ack_raw", "5001");
    assert_member(data, "len", "5");
    assert_member(data, "win_raw", "502");
    assert_member(data, "win", "64256"); /* 502 << 7 */
    assert_member(data, "win_scale", "7");
    assert_member(data, "options", "{}");
    assert_member(data, "hdr_len", "20");

    const char *reply = packet_line(lines, n, 5);
    assert_member(reply, "dir", "\"s2c\"");
    assert_member(reply, "src", "\"10.0.0.2\"");
    assert_member(reply, "sport", "80");
    assert_member(reply, "ack", "6");
    assert_member(reply, "win", "130304"); /* 509 << 8 */

    const char *fin = packet_line(lines, n, 6);
    assert_member(fin, "flags", "[\"FIN\",\"ACK\"]");
    assert_member(fin, "seq", "6");
    free(store);
    ss_pb_trace_fini(&t);
}

static void test_sink_json_flag_names_udp_and_arp_records_right(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 10, 0);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    ss_pb_pkt_t p = ss_pb_tcp4("192.0.2.1", 1, "192.0.2.2", 2);
    p.tcp.flags = 0x1FF;
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    ss_pb_pkt_t u = ss_pb_udp6("2001:db8::1", 53, "2001:db8::2", 5353);
    u.udp.payload = (const uint8_t *)"abc";
    u.udp.payload_len = 3;
    assert_non_null(ss_pb_trace_add(&t, &l, &u));
    uint8_t arp[28], fr[64];
    size_t an = ss_pb_arp_request(arp, sizeof(arp), "192.0.2.1", "192.0.2.9");
    size_t fn = ss_pb_wrap(fr, sizeof(fr), &l, 0x0806, arp, an);
    assert_non_null(ss_pb_trace_add_bytes(&t, fr, fn));

    char *lines[16], *store;
    int n = run_json(&t, lines, 16, &store);
    for (int i = 0; i < n; i++)
        assert_true(js_valid_object(lines[i]));
    const char *all = packet_line(lines, n, 1);
    assert_member(all, "flags",
                  "[\"FIN\",\"SYN\",\"RST\",\"PSH\",\"ACK\",\"URG\",\"ECE\",\"CWR\",\"AE\"]");

    const char *udp = packet_line(lines, n, 2);
    assert_member(udp, "proto", "\"udp\"");
    assert_member(udp, "src", "\"2001:db8::1\"");
    assert_member(udp, "ip_version", "6");
    assert_member(udp, "udp_stream", "0");
    assert_member(udp, "len", "3");
    assert_member(udp, "udp_len", "11");
    char v[32];
    assert_false(js_get(udp, "flags", v, sizeof(v)));

    const char *a = packet_line(lines, n, 3);
    assert_member(a, "proto", "\"arp\"");
    assert_false(js_get(a, "sport", v, sizeof(v)));
    assert_false(js_get(a, "src", v, sizeof(v)));
    assert_false(js_get(a, "tcp_stream", v, sizeof(v)));
    free(store);
    ss_pb_trace_fini(&t);
}

/*
 * Decodes the JSON string literal `lit` (with its quotes) into out; \u
 * escapes are only accepted below 0x80, which is all the sinks need.
 */
static bool js_unescape(const char *lit, char *out, size_t n)
{
    const char *p = lit;
    size_t k = 0;
    if (*p++ != '"')
        return false;
    while (*p != '"') {
        char ch = *p++;
        if (ch == '\0')
            return false;
        if (ch == '\\') {
            char e = *p++;
            switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                char hex[5] = {0};
                memcpy(hex, p, 4);
                p += 4;
                long v = strtol(hex, NULL, 16);
                if (v <= 0 || v >= 0x80)
                    return false;
                ch = (char)v;
                break;
            }
            default: return false;
            }
        }
        if (k + 1 >= n)
            return false;
        out[k++] = ch;
    }
    out[k] = '\0';
    return p[1] == '\0';
}

static void test_sink_json_string_escapes_control_characters(void **state)
{
    (void)state;
    static const char source[] = "a\"b\\c\nd\te\x01" "f\x1f/\xc3\xa9\r\b";
    static const char notice[] = "cap\rreached\b\f";
    static const char warning[] = "cut\x7f" "off\x02";
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_json_create(m.f, true, true);
    assert_non_null(s);
    ss_run_info_t info = {.source_name = source, .live = true, .linktype = 276};
    assert_int_equal(s->ops->begin(s, &info), 0);
    ss_event_t ev = {.type = SS_EV_NOTICE};
    ev.u.notice = notice;
    assert_int_equal(s->ops->event(s, &ev), 0);
    ss_run_end_t end = {.frames = 0, .warning = warning};
    assert_int_equal(s->ops->end(s, &end), 0);
    ss_sink_destroy(s);

    char *lines[8], *store;
    int n = split_lines(ss_pb_memout_text(&m), lines, 8, &store);
    ss_pb_memout_close(&m);
    assert_int_equal(n, 3);
    /* No raw control character survives: each line is valid JSON... */
    for (int i = 0; i < n; i++)
        if (!js_valid_object(lines[i]))
            fail_msg("not valid JSON: %s", lines[i]);
    /* ...and each string decodes back to exactly what was given. */
    char lit[128], back[128];
    assert_true(js_get(lines[0], "source", lit, sizeof(lit)));
    assert_true(js_unescape(lit, back, sizeof(back)));
    assert_string_equal(back, source);
    assert_member(lines[0], "live", "true");
    assert_member(lines[0], "linktype", "276");
    assert_member(lines[1], "type", "\"notice\"");
    assert_true(js_get(lines[1], "text", lit, sizeof(lit)));
    assert_true(js_unescape(lit, back, sizeof(back)));
    assert_string_equal(back, notice);
    assert_member(lines[2], "type", "\"end\"");
    assert_true(js_get(lines[2], "warning", lit, sizeof(lit)));
    assert_true(js_unescape(lit, back, sizeof(back)));
    assert_string_equal(back, warning);
    free(store);
}

static void test_sink_json_rel_ts_negative_when_time_goes_back(void **state)
{
    (void)state;
    /* Captures are not re-sorted: a frame may be stamped before the first one. */
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 100, 500000000);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", 1, "10.0.0.2", 2);
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    t.ts_sec = 100;
    t.ts_nsec = 250000000;
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    char *lines[8], *store;
    int n = run_json(&t, lines, 8, &store);
    const char *second = packet_line(lines, n, 2);
    char v[64] = "";
    bool found = js_get(second, "rel_ts", v, sizeof(v));
    free(store);
    ss_pb_trace_fini(&t);
    assert_true(found);
    /* 100.25 - 100.5 = -0.25 s */
    double rel = strtod(v, NULL);
    if (!(rel > -0.2500001 && rel < -0.2499999))
        fail_msg("rel_ts is %s, expected -0.250000000", v);
}

/* ---- text --------------------------------------------------------------- */

static int run_text(const ss_pb_trace_t *t, bool color, char **lines, int max, char **store)
{
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_text_opts_t o = {.color = color, .show_options = true, .line_flush = false};
    ss_sink_t *s = ss_sink_text_create(m.f, &o);
    assert_non_null(s);
    assert_int_equal(ss_pb_run(s, NULL, t), 0);
    ss_sink_destroy(s);
    int n = split_lines(ss_pb_memout_text(&m), lines, max, store);
    ss_pb_memout_close(&m);
    /* Keep the packet lines: state changes and explanations are indented continuation lines. */
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(lines[i], "                    ", 20) != 0)
            lines[k++] = lines[i];
    return k;
}

/* SYN, SYN-ACK, FIN-ACK, RST. */
static void flag_trace(ss_pb_trace_t *t)
{
    ss_pb_trace_init(t, SS_LINK_ETHERNET, 1700000000, 0);
    add_tcp(t, true, SS_TCP_SYN, 1000, 0, 64240, NULL, NULL, 0);
    add_tcp(t, false, SS_TCP_SYN | SS_TCP_ACK, 5000, 1001, 65160, NULL, NULL, 0);
    add_tcp(t, true, SS_TCP_FIN | SS_TCP_ACK, 1001, 5001, 502, NULL, NULL, 0);
    add_tcp(t, false, SS_TCP_RST, 5001, 0, 0, NULL, NULL, 0);
}

static void test_sink_text_tcpdump_flag_letters_relative_seq(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    flag_trace(&t);
    char *lines[16], *store;
    int n = run_text(&t, false, lines, 16, &store);
    assert_int_equal(n, 4);
    assert_non_null(strstr(lines[0], "[S]"));
    assert_non_null(strstr(lines[0], "seq 0"));
    assert_non_null(strstr(lines[0], "10.0.0.1:40000 > 10.0.0.2:80"));
    assert_non_null(strstr(lines[1], "[S.]"));
    assert_non_null(strstr(lines[1], "ack 1"));
    assert_non_null(strstr(lines[2], "[F.]"));
    assert_non_null(strstr(lines[2], "seq 1"));
    assert_non_null(strstr(lines[3], "[R]"));
    assert_null(strstr(lines[3], "[R.]"));
    assert_non_null(strstr(lines[3], "10.0.0.2:80 > 10.0.0.1:40000"));
    for (int i = 0; i < n; i++)
        if (strchr(lines[i], '\033'))
            fail_msg("escape sequence without colour: %s", lines[i]);
    free(store);
    ss_pb_trace_fini(&t);
}

static void test_sink_text_color_adds_ansi_escapes(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    flag_trace(&t);
    char *lines[16], *store;
    int n = run_text(&t, true, lines, 16, &store);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        if (!strstr(lines[i], "\033["))
            fail_msg("no escape sequence with colour: %s", lines[i]);
    /* The flags are still there between the escapes. */
    assert_non_null(strstr(lines[0], "[S]"));
    assert_non_null(strstr(lines[3], "[R]"));
    free(store);
    ss_pb_trace_fini(&t);
}

static void test_sink_text_rel_time_negative_when_time_goes_back(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 100, 500000000);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", 1, "10.0.0.2", 2);
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    t.ts_nsec = 250000000; /* 100.25: a quarter second before the first frame */
    assert_non_null(ss_pb_trace_add(&t, &l, &p));
    char *lines[8], *store;
    int n = run_text(&t, false, lines, 8, &store);
    bool first_ok = n == 2 && strstr(lines[0], " 0.000000 ") != NULL;
    bool second_ok = n == 2 && strstr(lines[1], " -0.250000 ") != NULL;
    char second[256] = "";
    if (n == 2)
        snprintf(second, sizeof(second), "%s", lines[1]);
    free(store);
    ss_pb_trace_fini(&t);
    assert_true(first_ok);
    if (!second_ok)
        fail_msg("expected -0.250000 in: %s", second);
}

/* ---- follow ------------------------------------------------------------- */

static void test_sink_follow_terminal_controls_shown_as_hex_utf8_as_text(void **state)
{
    (void)state;
    static const char *const payload[] = {
        "hello \xe4\xbd\xa0\xe5\xa5\xbd\n", /* UTF-8: shown as text */
        "\x1b]0;pwned\x07",                 /* ESC: a terminal would set its title */
        "ab\xc2\x9b",                       /* U+009B, CSI to some terminals */
        "cd\x9b",                            /* a lone 0x9B: CSI to an 8-bit terminal */
    };
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_ETHERNET, 1700000000, 0);
    add_tcp(&t, true, SS_TCP_SYN, 1000, 0, 64240, NULL, NULL, 0);
    add_tcp(&t, false, SS_TCP_SYN | SS_TCP_ACK, 5000, 1001, 65160, NULL, NULL, 0);
    uint32_t seq = 1001;
    for (size_t i = 0; i < sizeof(payload) / sizeof(payload[0]); i++) {
        add_tcp(&t, true, SS_TCP_PSH | SS_TCP_ACK, seq, 5001, 502, payload[i], NULL, 0);
        seq += (uint32_t)strlen(payload[i]);
    }
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_follow_create(m.f, 0, false, false);
    assert_non_null(s);
    ss_config_t cfg;
    ss_config_init(&cfg);
    cfg.reassemble = true;
    cfg.emit_data = true;
    assert_int_equal(ss_pb_run(s, &cfg, &t), 0);
    ss_sink_destroy(s);
    const char *out = ss_pb_memout_text(&m);
    assert_non_null(strstr(out, "hello \xe4\xbd\xa0\xe5\xa5\xbd\n"));
    assert_non_null(strstr(out, "1b 5d 30 3b"));
    assert_non_null(strstr(out, "61 62 c2 9b"));
    assert_non_null(strstr(out, "63 64 9b"));
    assert_null(strchr(out, 0x1b));
    assert_null(strchr(out, (char)0x9b));
    ss_pb_memout_close(&m);
    ss_pb_trace_fini(&t);
}

/* ---- formatting helpers: the same text as the printf calls they replace ---- */

static uint64_t fmt_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A random value of random magnitude, either sign. */
static int64_t fmt_rand_i64(uint64_t *x)
{
    uint64_t v = fmt_rand(x) >> (fmt_rand(x) % 64);
    return fmt_rand(x) % 4 == 0 ? (int64_t)(0 - v) : (int64_t)v;
}

static void test_sink_fmt_helpers_write_what_printf_writes(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15u;
    char got[200], want[200];

    /* milliseconds: "%.1f" from 10 ms up, else "%.3f", of ns / 1e6 (ties and huge values included) */
    const int64_t ms_edges[] = {0, 1, 499, 500, 501, 1500, 2500, 999499, 999500, 999999, 9999499, 9999500,
                                9999999, 10000000, 10049999, 10050000, 10050001, 10150000, 123456789,
                                (INT64_C(1) << 53) - 1, INT64_C(1) << 53, INT64_MAX, -1, -500, -10050000,
                                INT64_MIN};
    for (size_t i = 0; i < 300000 + sizeof(ms_edges) / sizeof(ms_edges[0]); i++) {
        int64_t ns = i < sizeof(ms_edges) / sizeof(ms_edges[0]) ? ms_edges[i] : fmt_rand_i64(&x);
        if (i % 7 == 0 && ns > 0) /* exact ties of the printed digits */
            ns = ns / 1000 * 1000 + 500;
        double ms = (double)ns / 1e6;
        snprintf(want, 32, ms >= 10 ? "%.1f" : "%.3f", ms);
        ss_fmt_ms(got, 32, ns);
        if (strcmp(got, want) != 0)
            fail_msg("ms of %" PRId64 " ns: got %s, printf %s", ns, got, want);
    }

    /* seconds with 1..9 decimals, cut to small buffers as snprintf cuts */
    for (int i = 0; i < 200000; i++) {
        int64_t ns = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : fmt_rand_i64(&x);
        int dec = 1 + (int)(fmt_rand(&x) % 9);
        size_t n = i % 5 == 0 ? fmt_rand(&x) % 24 : 40;
        uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns, div = 1;
        for (int k = dec; k < 9; k++)
            div *= 10;
        memset(want, 'x', 41);
        memset(got, 'x', 41);
        snprintf(want, n, "%s%" PRIu64 ".%0*" PRIu64, ns < 0 ? "-" : "", a / 1000000000u, dec,
                 (a % 1000000000u) / div);
        ss_fmt_secs(ns, dec, got, n);
        if (memcmp(got, want, 41) != 0)
            fail_msg("secs of %" PRId64 " ns, %d decimals, %zu bytes: got %.40s, printf %.40s", ns, dec, n, got,
                     want);
    }

    /* endpoints: dotted quads, RFC 5952 IPv6 in brackets, cut to small buffers */
    for (int i = 0; i < 100000; i++) {
        ss_addr_t ad;
        memset(&ad, 0, sizeof(ad));
        ad.family = i % 3 == 0 ? 6 : i % 3 == 1 ? 4 : 0;
        for (int k = 0; k < 16; k++) /* runs of zero groups, so that "::" appears in places */
            ad.a[k] = fmt_rand(&x) % 3 == 0 ? 0 : (uint8_t)fmt_rand(&x);
        uint16_t port = (uint16_t)fmt_rand(&x);
        size_t n = i % 4 == 0 ? fmt_rand(&x) % 60 : 80;
        char ab[64] = "";
        if (ad.family == 4)
            inet_ntop(AF_INET, ad.a, ab, sizeof(ab));
        else if (ad.family == 6)
            inet_ntop(AF_INET6, ad.a, ab, sizeof(ab));
        memset(want, 'x', 81);
        memset(got, 'x', 81);
        snprintf(want, n, ad.family == 6 ? "[%s]:%u" : "%s:%u", ab, port);
        ss_fmt_endpoint(&ad, port, got, n);
        if (memcmp(got, want, 81) != 0)
            fail_msg("endpoint %s port %u in %zu bytes: got %.80s, printf %.80s", ab, port, n, got, want);
        /* the address alone, as inet_ntop writes it: nothing when it does not fit */
        size_t an = i % 2 ? fmt_rand(&x) % 48 : 64;
        memset(want, 'x', 81);
        memset(got, 'x', 81);
        if (an) {
            want[0] = '\0';
            if (ad.family == 4 || ad.family == 6)
                inet_ntop(ad.family == 4 ? AF_INET : AF_INET6, ad.a, want, (socklen_t)an);
        }
        ss_addr_str(&ad, got, an);
        if (memcmp(got, want, 81) != 0)
            fail_msg("address %s in %zu bytes: got %.80s, inet_ntop %.80s", ab, an, got, want);
    }

    /* text of %s and %PRIu64 written directly; other formats through vsnprintf; cut at n - 1 bytes */
    for (int i = 0; i < 20000; i++) {
        char s1[120], s2[120];
        size_t l1 = fmt_rand(&x) % sizeof(s1), l2 = fmt_rand(&x) % sizeof(s2);
        for (size_t k = 0; k < l1; k++)
            s1[k] = (char)(0x20 + fmt_rand(&x) % 0x5f);
        for (size_t k = 0; k < l2; k++)
            s2[k] = (char)(0x80 + fmt_rand(&x) % 0x40); /* bytes of UTF-8 sequences: cut as bytes, like printf */
        s1[l1] = s2[l2] = '\0';
        uint64_t u = fmt_rand(&x) >> (fmt_rand(&x) % 64), v = fmt_rand(&x), w = i % 9;
        volatile size_t vn = i % 3 == 0 ? fmt_rand(&x) % 170 : 160; /* cut on purpose */
        size_t n = vn;
        memset(want, 'x', 200);
        memset(got, 'x', 200);
        switch (i % 6) {
        case 0:
            snprintf(want, n, "%s (iRTT %s ms)", s1, s2);
            ss_fmt_text(got, n, "%s (iRTT %s ms)", s1, s2);
            break;
        case 1:
            snprintf(want, n, "%" PRIu64 " (%" PRIu64 " fast, %" PRIu64 " spurious)", u, v, w);
            ss_fmt_text(got, n, "%" PRIu64 " (%" PRIu64 " fast, %" PRIu64 " spurious)", u, v, w);
            break;
        case 2:
            snprintf(want, n, "framing lost at byte %" PRIu64 ": %s", u, s1);
            ss_fmt_text(got, n, "framing lost at byte %" PRIu64 ": %s", u, s1);
            break;
        case 3: /* 100%% is not one of the fast directives */
            snprintf(want, n, "%s: 100%% of %" PRIu64, s2, v);
            ss_fmt_text(got, n, "%s: 100%% of %" PRIu64, s2, v);
            break;
        case 4: /* nor is %u */
            snprintf(want, n, "%u resends of %s", (unsigned)w, s1);
            ss_fmt_text(got, n, "%u resends of %s", (unsigned)w, s1);
            break;
        default:
            snprintf(want, n, "%s%s", s1, s2);
            ss_fmt_text(got, n, "%s%s", s1, s2);
            break;
        }
        if (memcmp(got, want, 200) != 0)
            fail_msg("case %d, %zu bytes: got %.199s, printf %.199s", i % 6, n, got, want);
    }
    /* numbered arguments (a translation may reorder) take the vsnprintf path */
    ss_fmt_text(got, sizeof(got), "%2$s (auto, %1$s)", "high", "len32");
    assert_string_equal(got, "len32 (auto, high)");

    for (int i = 0; i < 1000; i++) {
        uint64_t v = i < 3 ? (uint64_t[]){0, 9, UINT64_MAX}[i] : fmt_rand(&x) >> (fmt_rand(&x) % 64);
        char *e = ss_put_u64(got, v);
        *e = '\0';
        snprintf(want, sizeof(want), "%" PRIu64, v);
        assert_string_equal(got, want);
    }
}

static void test_sink_width_counts_wide_characters_twice(void **state)
{
    (void)state;
    assert_int_equal(ss_i18n_width(""), 0);
    assert_int_equal(ss_i18n_width("abc"), 3);
    assert_int_equal(ss_i18n_width("c\u2192s"), 3);             /* an arrow is one column */
    assert_int_equal(ss_i18n_width("\u4e2d\u6587"), 4);         /* two Han characters: two columns each */
    assert_int_equal(ss_i18n_width("TCP \u91cd\u4f20 3"), 10); /* ASCII around wide characters */
    assert_int_equal(ss_i18n_width("\xef\xbc\x8c"), 2);        /* fullwidth comma */
}

/* ---- summary ------------------------------------------------------------ */

static void test_sink_summary_many_conversations_keeps_first_and_counts_rest(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    ss_pb_trace_init(&t, SS_LINK_RAW, 1700000000, 0);
    ss_pb_link_t l = ss_pb_link(SS_LINK_RAW);
    static const uint8_t q[] = "query";
    for (int i = 0; i < 5; i++) { /* five conversations: five client ports */
        ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", (uint16_t)(40000 + i), "10.0.0.2", 53);
        p.udp.payload = q;
        p.udp.payload_len = sizeof(q) - 1;
        assert_non_null(ss_pb_trace_add(&t, &l, &p));
        ss_pb_trace_advance(&t, 1000);
    }
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_summary_create_capped(m.f, false, 2);
    assert_non_null(s);
    assert_int_equal(ss_pb_run(s, NULL, &t), 0);
    ss_sink_destroy(s);
    const char *out = ss_pb_memout_text(&m);
    assert_non_null(strstr(out, "Conversations (5)"));
    assert_non_null(strstr(out, "10.0.0.1:40000"));
    assert_non_null(strstr(out, "10.0.0.1:40001"));
    assert_null(strstr(out, "10.0.0.1:40002")); /* past the cap: counted, not listed */
    assert_non_null(strstr(out, "(3 more conversations not listed: the tables keep the first 2 reported)"));
    ss_pb_memout_close(&m);
    ss_pb_trace_fini(&t);
}

/* Conversations of every kind the tables show: TCP with line-framed data (closed by FIN or RST), and UDP. */
static void many_conversations(ss_pb_trace_t *t, int n)
{
    ss_pb_trace_init(t, SS_LINK_ETHERNET, 1700000000, 0);
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    static const char *const lines[] = {"hello\n", "a\nb\n", "\x01\x02binary", "no end"};
    for (int i = 0; i < n; i++) {
        uint16_t cport = (uint16_t)(20000 + i);
        if (i % 7 == 3) {
            ss_pb_pkt_t p = ss_pb_udp4("10.0.1.1", cport, "10.0.1.2", 53);
            p.udp.payload = (const uint8_t *)"query";
            p.udp.payload_len = 5;
            assert_non_null(ss_pb_trace_add(t, &l, &p));
            ss_pb_trace_advance(t, 10);
            continue;
        }
        const char *data = lines[i % 4];
        uint32_t cs = 1000u * (uint32_t)i, ss = 7000000u + 1000u * (uint32_t)i, len = (uint32_t)strlen(data);
        struct { bool c2s; uint16_t flags; uint32_t seq, ack; const char *d; } seg[] = {
            {true, SS_TCP_SYN, cs, 0, NULL},
            {false, SS_TCP_SYN | SS_TCP_ACK, ss, cs + 1, NULL},
            {true, SS_TCP_ACK, cs + 1, ss + 1, NULL},
            {true, SS_TCP_ACK | SS_TCP_PSH, cs + 1, ss + 1, data},
            {false, SS_TCP_ACK | SS_TCP_PSH, ss + 1, cs + 1 + len, data},
            {true, i % 5 == 0 ? SS_TCP_RST : SS_TCP_FIN | SS_TCP_ACK, cs + 1 + len, ss + 1 + len, NULL},
        };
        for (size_t k = 0; k < sizeof(seg) / sizeof(seg[0]); k++) {
            ss_pb_pkt_t p = seg[k].c2s ? ss_pb_tcp4("10.0.0.1", cport, "10.0.0.2", 9001)
                                       : ss_pb_tcp4("10.0.0.2", 9001, "10.0.0.1", cport);
            p.tcp.flags = seg[k].flags;
            p.tcp.seq = seg[k].seq;
            p.tcp.ack = seg[k].ack;
            p.tcp.win = 65535;
            if (seg[k].d) {
                p.tcp.payload = (const uint8_t *)seg[k].d;
                p.tcp.payload_len = strlen(seg[k].d);
            }
            assert_non_null(ss_pb_trace_add(t, &l, &p));
            ss_pb_trace_advance(t, 10);
        }
    }
}

/* The tables of `t` with --framing auto, keeping `max_rows`, formatted on the sink's thread or not. */
static char *summary_of(const ss_pb_trace_t *t, size_t max_rows, bool thread)
{
    ss_config_t cfg;
    ss_config_init(&cfg);
    char err[128];
    assert_int_equal(ss_config_set_framing(&cfg, "auto", err, sizeof(err)), 0);
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_summary_create_opts(m.f, &(ss_summary_opts_t){.max_rows = max_rows, .thread = thread});
    assert_non_null(s);
    assert_int_equal(ss_pb_run(s, &cfg, t), 0);
    ss_sink_destroy(s);
    char *out = strdup(ss_pb_memout_text(&m));
    assert_non_null(out);
    ss_pb_memout_close(&m);
    return out;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_sink_summary_thread_writes_the_same_tables(void **state)
{
    (void)state;
    ss_pb_trace_t t;
    many_conversations(&t, 300); /* many batches handed over, of TCP, UDP, framed and not */
    char *one = summary_of(&t, 0, false), *two = summary_of(&t, 0, true);
    assert_string_equal(one, two);
    assert_non_null(strstr(one, "Conversations (300)\n"));
    assert_non_null(strstr(one, "10.0.0.1:20299"));
    assert_non_null(strstr(one, "10.0.1.1:20003"));
    assert_non_null(strstr(one, "RST by client"));
    assert_non_null(strstr(one, "line (auto, low)"));
    /*
     * Titles, headings and blank lines: 2 + 3 + 3; then a row per
     * conversation, one per TCP conversation, and two per framed one
     * (every one here: UDP datagrams are messages).
     */
    size_t ntcp = 300 - 43;
    assert_int_equal(count_lines(one), 8 + 300 + ntcp + 2 * 300);
    free(one);
    free(two);
    /* Capped: the same rows kept either way. */
    one = summary_of(&t, 100, false);
    two = summary_of(&t, 100, true);
    assert_string_equal(one, two);
    assert_non_null(strstr(one, "(200 more conversations not listed: the tables keep the first 100 reported)"));
    free(one);
    free(two);
    ss_pb_trace_fini(&t);
}

/* A sink whose run never reached its end stops its thread when destroyed. */
static void test_sink_summary_thread_stopped_without_end(void **state)
{
    (void)state;
    ss_pb_memout_t m;
    assert_int_equal(ss_pb_memout_open(&m), 0);
    ss_sink_t *s = ss_sink_summary_create_opts(m.f, &(ss_summary_opts_t){.thread = true});
    assert_non_null(s);
    ss_conv_info_t conv = {.index = 1, .proto = 17};
    ss_event_t ev = {.type = SS_EV_CONVERSATION};
    ev.u.conv = &conv;
    for (int i = 0; i < 100; i++)
        assert_int_equal(s->ops->event(s, &ev), 0);
    ss_sink_destroy(s);
    assert_int_equal(strlen(ss_pb_memout_text(&m)), 0); /* nothing printed: the run did not end */
    ss_pb_memout_close(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_json_checker_rejects_bad_json),
        cmocka_unit_test(test_sink_json_every_line_valid_capture_packets_end),
        cmocka_unit_test(test_sink_json_syn_record_has_every_field),
        cmocka_unit_test(test_sink_json_data_and_reply_records_relative_and_scaled),
        cmocka_unit_test(test_sink_json_flag_names_udp_and_arp_records_right),
        cmocka_unit_test(test_sink_json_string_escapes_control_characters),
        cmocka_unit_test(test_sink_json_rel_ts_negative_when_time_goes_back),
        cmocka_unit_test(test_sink_text_tcpdump_flag_letters_relative_seq),
        cmocka_unit_test(test_sink_text_color_adds_ansi_escapes),
        cmocka_unit_test(test_sink_text_rel_time_negative_when_time_goes_back),
        cmocka_unit_test(test_sink_follow_terminal_controls_shown_as_hex_utf8_as_text),
        cmocka_unit_test(test_sink_summary_many_conversations_keeps_first_and_counts_rest),
        cmocka_unit_test(test_sink_summary_thread_writes_the_same_tables),
        cmocka_unit_test(test_sink_summary_thread_stopped_without_end),
        cmocka_unit_test(test_sink_fmt_helpers_write_what_printf_writes),
        cmocka_unit_test(test_sink_width_counts_wide_characters_twice),
    };
    return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
