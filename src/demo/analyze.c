/* analyze.c - a scenario's capture through segscope's analyzer, and what it and the trace showed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/analyzer.h"
#include "segscope/err.h"
#include "segscope/source.h"

#include "run.h"

/*
 * A sink of our own, next to the text and summary sinks: it prints nothing
 * and counts what the scenario's check asks about. It sees exactly the
 * events the other sinks print, so a check never disagrees with the output.
 */
typedef struct {
    ss_sink_t base;
    ss_demo_observed_t *ob;
} observe_sink_t;

static int observe_begin(ss_sink_t *s, const ss_run_info_t *info)
{
    (void)s;
    (void)info;
    return 0;
}

static void observe_conv(ss_demo_observed_t *ob, const ss_conv_info_t *c)
{
    if (c->proto == 17) {
        ob->udp++;
        ob->udp_frames[SS_DIR_C2S] += c->frames[SS_DIR_C2S];
        ob->udp_frames[SS_DIR_S2C] += c->frames[SS_DIR_S2C];
        return;
    }
    if (c->proto != 6 || !c->tcp)
        return;
    const ss_conv_tcp_t *t = c->tcp;
    ob->tcp++;
    if (c->addr[0].family == 6)
        ob->ipv6++;
    if (ss_conv_handshake(t) == SS_HS_COMPLETE)
        ob->complete++;
    switch (ss_conv_close(t)) {
    case SS_CLOSE_FIN:
        ob->fin++;
        if (t->first_fin == SS_DIR_C2S)
            ob->client_closed_first++;
        ob->four_way += t->fin_style == SS_FIN_FOUR_WAY;
        ob->three_way += t->fin_style == SS_FIN_THREE_WAY;
        ob->simultaneous += t->fin_style == SS_FIN_SIMULTANEOUS;
        break;
    case SS_CLOSE_RST: ob->rst++; break;
    case SS_CLOSE_REFUSED: ob->refused++; break;
    default: break;
    }
    ob->half_close += t->half_close;
    for (int i = 0; i < SS_TA_COUNT; i++)
        ob->flags[i] += t->counts[i];
    if (c->msgs) {
        for (int d = 0; d < 2; d++) {
            ob->msgs[d] += c->msgs[d].messages;
            ob->incomplete[d] += c->msgs[d].incomplete;
            ob->coalesced[d] += c->msgs[d].coalesced_segments;
            ob->split[d] += c->msgs[d].split_messages;
        }
    }
}

static int observe_event(ss_sink_t *s, const ss_event_t *ev)
{
    ss_demo_observed_t *ob = ((observe_sink_t *)s)->ob;
    if (ev->type == SS_EV_PACKET) {
        const ss_pkt_event_t *pe = ev->u.packet;
        ob->frames++;
        if (pe->conv && pe->conv->proto == 6 && pe->dir == SS_DIR_C2S && pe->pkt->payload_len > 0)
            ob->c2s_data_segments++;
    } else if (ev->type == SS_EV_CONVERSATION) {
        observe_conv(ob, ev->u.conv);
    }
    return 0;
}

static int observe_end(ss_sink_t *s, const ss_run_end_t *end)
{
    (void)s;
    (void)end;
    return 0;
}

static void observe_destroy(ss_sink_t *s) { (void)s; /* embedded in the caller's frame */ }

static const ss_sink_ops_t observe_ops = {observe_begin, observe_event, observe_end, observe_destroy,
                                          SS_SINK_WANTS_ALL};

int ss_demo_analyze(const char *path, const ss_demo_analyze_opts_t *ao, ss_demo_observed_t *ob, char *err,
                    size_t errlen)
{
    memset(ob, 0, sizeof *ob);
    ss_config_t cfg;
    ss_config_init(&cfg);
    if (ao->framing && ss_config_set_framing(&cfg, ao->framing, err, errlen) < 0)
        return -1;
    char serr[SS_SOURCE_ERRBUF] = "";
    ss_source_t *src = NULL;
    if (ss_source_open_file(&src, path, serr) < 0) {
        snprintf(err, errlen, "%s: %s", path, serr);
        return -1;
    }
    observe_sink_t obs = {.base = {.ops = &observe_ops}, .ob = ob};
    ss_sink_t *sinks[3];
    size_t nsinks = 0;
    bool oom = false;
    if (ao->out) {
        ss_text_opts_t to = {.color = ao->color, .show_options = true, .explain = true};
        oom |= !(sinks[nsinks++] = ss_sink_text_create(ao->out, &to));
        oom |= !(sinks[nsinks++] = ss_sink_summary_create(ao->out, ao->color));
    }
    sinks[nsinks++] = &obs.base;
    ss_analyzer_t *an = oom ? NULL : ss_analyzer_create(&cfg, sinks, nsinks);
    int rc = -1;
    if (!an) {
        snprintf(err, errlen, "%s", _("out of memory"));
        goto out;
    }
    ss_run_info_t info = {.source_name = path, .live = false, .linktype = ss_source_linktype(src)};
    int r = ss_analyzer_begin(an, &info);
    ss_run_end_t end;
    memset(&end, 0, sizeof end);
    while (r == 0) {
        ss_frame_t fr;
        int n = ss_source_next(src, &fr, serr);
        if (n == SS_SOURCE_EOF)
            break;
        if (n != SS_SOURCE_FRAME) {
            snprintf(err, errlen, "%s: %s", path, n < 0 ? serr : _("unexpected end"));
            r = -1;
            break;
        }
        r = ss_analyzer_feed(an, &fr);
        if (r < 0)
            snprintf(err, errlen, "%s", ss_strerror(r));
    }
    int f = ss_analyzer_finish(an, &end);
    if (r == 0 && f < 0)
        snprintf(err, errlen, "%s", ss_strerror(f));
    rc = r == 0 && f == 0 ? 0 : -1;
out:
    ss_analyzer_destroy(an);
    for (size_t i = 0; i < nsinks; i++)
        if (sinks[i] != &obs.base)
            ss_sink_destroy(sinks[i]);
    ss_source_close(src);
    if (ao->out)
        fflush(ao->out);
    return rc;
}

/* The value of a "key":"..." member in a trace line, copied into out; false when absent or null. */
static bool trace_string(const char *line, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    if (n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Whether an "addr:port" endpoint has the given port. */
static bool has_port(const char *ep, uint16_t port)
{
    const char *c = strrchr(ep, ':');
    return c && strtoul(c + 1, NULL, 10) == port;
}

int ss_demo_analyze_trace(const char *path, uint16_t server_port, ss_demo_observed_t *ob)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    /* The writers' own format (docs/app-trace.md): flat objects, endpoints without escapes. */
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char call[8], local[SS_DEMO_ADDRSTRLEN];
        const char *len = strstr(line, "\"len\":");
        if (!trace_string(line, "call", call, sizeof call) || !len)
            continue;
        ob->trace_records++;
        bool at_server = trace_string(line, "local", local, sizeof local) && has_port(local, server_port);
        unsigned long n = strtoul(len + 6, NULL, 10);
        if (!at_server && strcmp(call, "send") == 0)
            ob->client_sends++;
        if (at_server && strcmp(call, "recv") == 0 && n > 0)
            ob->server_data_recvs++;
    }
    fclose(f);
    return 0;
}
