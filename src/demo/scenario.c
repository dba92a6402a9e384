/* scenario.c - the scenarios of `segscope-demo run`: what each runs, and what its capture must show. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "run.h"

/*
 * Every scenario is one server (or none) and one or more clients of the
 * demo, with options chosen so that one thing about TCP or UDP is plain to
 * see in the capture, and a check that it really is. The runner has already
 * set, on both sides: the mode's defaults, port SS_DEMO_RUN_PORT, an MSS of
 * 1460 (Ethernet's), --quiet and a trace file of their own.
 */

__attribute__((format(printf, 3, 4)))
static bool say(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return true;
}

__attribute__((format(printf, 3, 4)))
static bool missing(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return false;
}

#define FLAG(ob, name) ((ob)->flags[SS_TA_BIT_##name])

/* A file with the given lines, for the chat scripts; 0 or -1 with err. */
static int write_lines(const char *path, const char *const *lines, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, _("cannot write %s: %s"), path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; lines[i]; i++)
        fprintf(f, "%s\n", lines[i]);
    if (fclose(f) != 0) {
        snprintf(err, errlen, _("cannot write %s: %s"), path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A closed TCP conversation with a full handshake: what most scenarios need besides their own point. */
static bool clean_tcp(const ss_demo_observed_t *ob, uint64_t want, char *msg, size_t len)
{
    if (ob->tcp < want)
        return missing(msg, len,
                       P_("%llu TCP conversation captured, %llu expected", "%llu TCP conversations captured, %llu expected",
                          ob->tcp),
                       (unsigned long long)ob->tcp, (unsigned long long)want);
    if (ob->complete < ob->tcp)
        return missing(msg, len, _("a handshake is incomplete"));
    if (ob->fin + ob->rst < ob->tcp)
        return missing(msg, len, _("a conversation was not closed"));
    return true;
}

/* ------------------------------------------------------------------------ */

static void setup_hello(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_ONCE;
    cl->message = "hello";
}

static bool check_hello(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (ob->fin != 1 || ob->client_closed_first != 1)
        return missing(msg, len, _("the client did not close first with a FIN"));
    if (ob->four_way)
        return say(msg, len, "%s", _("a complete handshake, one message each way, a four-way FIN close started by the "
                                     "client"));
    if (ob->three_way)
        return say(msg, len, "%s", _("a complete handshake, one message each way, a three-way FIN close started by "
                                     "the client"));
    return say(msg, len, "%s", _("a complete handshake, one message each way, a simultaneous FIN close started by "
                                 "the client"));
}

static void setup_echo_many(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_ECHO;
    srv->clients = 3;
    cl->count = 3;
}

static bool check_echo_many(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 3, msg, len))
        return false;
    return say(msg, len, _("%llu TCP conversations with the same server port, each with its own client port"),
               (unsigned long long)ob->tcp);
}

static int prepare_chat(ss_demo_run_env_t *env, char *err, size_t errlen)
{
    static const char *const client[] = {"hi, server", "what does TCP promise?", "and where my messages end?",
                                         "thanks, bye", NULL};
    static const char *const server[] = {"hello, client", "every byte, in order, once",
                                         "no: it carries bytes; mark the ends yourself (a newline here)", NULL};
    snprintf(env->client_script, sizeof env->client_script, "%s/chat-client.txt", env->workdir);
    snprintf(env->server_script, sizeof env->server_script, "%s/chat-server.txt", env->workdir);
    if (write_lines(env->client_script, client, err, errlen) < 0 ||
        write_lines(env->server_script, server, err, errlen) < 0)
        return -1;
    return 0;
}

static void setup_chat(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    srv->mode = cl->mode = SS_DEMO_MODE_CHAT;
    srv->script = env->server_script;
    cl->script = env->client_script;
}

static bool check_chat(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (ob->msgs[SS_DIR_C2S] < 4 || ob->msgs[SS_DIR_S2C] < 3)
        return missing(msg, len, _("%llu lines from the client and %llu from the server; 4 and 3 expected"),
                       (unsigned long long)ob->msgs[SS_DIR_C2S], (unsigned long long)ob->msgs[SS_DIR_S2C]);
    return say(msg, len, _("%llu lines from the client and %llu from the server, one per segment"),
               (unsigned long long)ob->msgs[SS_DIR_C2S], (unsigned long long)ob->msgs[SS_DIR_S2C]);
}

static void setup_sticky_nagle(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_STICKY;
    cl->count = 50;
}

static bool check_sticky_nagle(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!ob->client_sends || ob->c2s_data_segments >= ob->client_sends)
        return missing(msg, len, _("the client's %llu writes left in %llu segments: none were coalesced"),
                       (unsigned long long)ob->client_sends, (unsigned long long)ob->c2s_data_segments);
    return say(msg, len,
               P_("the client's %llu writes left in %llu segments (Nagle coalesced them); the server read them in "
                  "%llu recv() call",
                  "the client's %llu writes left in %llu segments (Nagle coalesced them); the server read them in "
                  "%llu recv() calls",
                  ob->server_data_recvs),
               (unsigned long long)ob->client_sends, (unsigned long long)ob->c2s_data_segments,
               (unsigned long long)ob->server_data_recvs);
}

static void setup_sticky_nodelay(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    setup_sticky_nagle(srv, cl, env);
    srv->nodelay = cl->nodelay = true;
}

static bool check_sticky_nodelay(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!ob->server_data_recvs || ob->server_data_recvs >= ob->client_sends)
        return missing(msg, len, _("the server's recv() calls (%llu) returned no write glued to another (%llu writes)"),
                       (unsigned long long)ob->server_data_recvs, (unsigned long long)ob->client_sends);
    return say(msg, len,
               P_("the client's %llu writes left in %llu segments (TCP_NODELAY), yet the server read them in "
                  "%llu recv() call",
                  "the client's %llu writes left in %llu segments (TCP_NODELAY), yet the server read them in "
                  "%llu recv() calls",
                  ob->server_data_recvs),
               (unsigned long long)ob->client_sends, (unsigned long long)ob->c2s_data_segments,
               (unsigned long long)ob->server_data_recvs);
}

static void setup_len32(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_LEN32;
    cl->count = 30;
    cl->max_size = 8192;
}

static void setup_line(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    setup_len32(srv, cl, env);
    srv->mode = cl->mode = SS_DEMO_MODE_LINE;
}

static bool check_framed(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (ob->msgs[SS_DIR_C2S] < 30 || ob->msgs[SS_DIR_S2C] < 30 || ob->incomplete[0] + ob->incomplete[1])
        return missing(msg, len, _("%llu messages from the client, %llu echoed, %llu incomplete; 30 each expected"),
                       (unsigned long long)ob->msgs[SS_DIR_C2S], (unsigned long long)ob->msgs[SS_DIR_S2C],
                       (unsigned long long)(ob->incomplete[0] + ob->incomplete[1]));
    if (ob->split[0] + ob->split[1] == 0)
        return missing(msg, len, _("no message spans several segments"));
    return say(msg, len, _("%llu messages each way; %llu spread over several segments (SPLIT), %llu segments "
                           "carrying several (COALESCED)"),
               (unsigned long long)ob->msgs[SS_DIR_C2S], (unsigned long long)(ob->split[0] + ob->split[1]),
               (unsigned long long)(ob->coalesced[0] + ob->coalesced[1]));
}

static int prepare_file(ss_demo_run_env_t *env, char *err, size_t errlen)
{
    snprintf(env->received_dir, sizeof env->received_dir, "%s/received", env->workdir);
    if (mkdir(env->received_dir, 0700) != 0) {
        snprintf(err, errlen, _("cannot create %s: %s"), env->received_dir, strerror(errno));
        return -1;
    }
    return 0;
}

static void setup_file(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    srv->mode = cl->mode = SS_DEMO_MODE_FILE;
    srv->dir = env->received_dir;
    cl->size = 128u << 10;
    cl->name = "notes.bin";
}

static bool check_file(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (ob->msgs[SS_DIR_C2S] < 1 || ob->split[SS_DIR_C2S] < 1 || ob->incomplete[SS_DIR_C2S])
        return missing(msg, len, _("the file transfer is not one complete message over many segments"));
    return say(msg, len, _("the header and the file's bytes as one message over many segments, and the server's "
                           "answer"));
}

static void setup_loss(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_BULK;
    cl->bytes = 512u << 10;
    srv->loss = 0.15;
}

static bool check_loss(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!FLAG(ob, RETRANSMISSION) || !FLAG(ob, DUPLICATE_ACK))
        return missing(msg, len, _("%llu retransmissions and %llu duplicate ACKs; at least one of each expected"),
                       (unsigned long long)FLAG(ob, RETRANSMISSION), (unsigned long long)FLAG(ob, DUPLICATE_ACK));
    return say(msg, len, _("%llu retransmissions (%llu fast), %llu duplicate ACKs"),
               (unsigned long long)FLAG(ob, RETRANSMISSION), (unsigned long long)FLAG(ob, FAST_RETRANSMISSION),
               (unsigned long long)FLAG(ob, DUPLICATE_ACK));
}

static void setup_loss_small(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    /*
     * One short line at a time, each waiting for its echo: a lost segment has
     * no later segments behind it to cause duplicate ACKs, so it is the
     * sender's timer (a tail loss probe, or the retransmission timeout)
     * that resends it.
     */
    srv->mode = cl->mode = SS_DEMO_MODE_ECHO;
    cl->count = 60;
    srv->loss = 0.15;
}

static bool check_loss_small(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!FLAG(ob, RETRANSMISSION))
        return missing(msg, len, _("no retransmission"));
    if (ob->msgs[SS_DIR_C2S] < 60 || ob->msgs[SS_DIR_S2C] < 60 || ob->incomplete[0] + ob->incomplete[1])
        return missing(msg, len, _("%llu of 60 lines from the client and %llu echoes were reassembled"),
                       (unsigned long long)ob->msgs[SS_DIR_C2S], (unsigned long long)ob->msgs[SS_DIR_S2C]);
    return say(msg, len, _("%llu retransmissions of lone small segments; all %llu lines whole after reassembly"),
               (unsigned long long)FLAG(ob, RETRANSMISSION), (unsigned long long)ob->msgs[SS_DIR_C2S]);
}

static void setup_zero_window(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    /* slow-reader's defaults: SO_RCVBUF 4096 on the server, which reads after 1 s. */
    srv->mode = cl->mode = SS_DEMO_MODE_SLOW_READER;
    cl->bytes = 64u << 10;
}

static bool check_zero_window(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!FLAG(ob, ZERO_WINDOW) || !FLAG(ob, WINDOW_UPDATE))
        return missing(msg, len, _("%llu zero windows and %llu window updates; at least one of each expected"),
                       (unsigned long long)FLAG(ob, ZERO_WINDOW), (unsigned long long)FLAG(ob, WINDOW_UPDATE));
    char zero[64], update[64];
    snprintf(zero, sizeof zero, P_("%llu zero window", "%llu zero windows", FLAG(ob, ZERO_WINDOW)),
             (unsigned long long)FLAG(ob, ZERO_WINDOW));
    snprintf(update, sizeof update, P_("%llu window update", "%llu window updates", FLAG(ob, WINDOW_UPDATE)),
             (unsigned long long)FLAG(ob, WINDOW_UPDATE));
    /* TRANSLATORS: "3 zero windows and 2 window updates, 40 segments filling the window". */
    return say(msg, len, _("%s and %s, %llu segments filling the window"), zero, update,
               (unsigned long long)FLAG(ob, WINDOW_FULL));
}

static void setup_rst(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_ABORT;
}

static bool check_rst(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (ob->tcp != 1 || ob->rst != 1)
        return missing(msg, len, _("no conversation ended by an RST"));
    return say(msg, len, _("the client's data, then an RST instead of a FIN"));
}

static void setup_refused(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    (void)srv;
    cl->mode = SS_DEMO_MODE_ONCE;
    cl->timeout_ms = 3000;
}

static bool check_refused(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (ob->tcp != 1 || ob->refused != 1)
        return missing(msg, len, _("no SYN answered by an RST"));
    return say(msg, len, _("a SYN answered by an RST: nothing listens on the port"));
}

static void setup_half_close(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_HALF_CLOSE;
    cl->bytes = 16u << 10;
}

static bool check_half_close(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!ob->half_close)
        return missing(msg, len, _("no data after the client's FIN"));
    return say(msg, len, _("the client's FIN, then the server's data still flowing the other way"));
}

static void setup_keepalive(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_KEEPALIVE;
    cl->idle_ms = 3500;
}

static bool check_keepalive(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (!FLAG(ob, KEEP_ALIVE) || !FLAG(ob, KEEP_ALIVE_ACK))
        return missing(msg, len, _("%llu keep-alives and %llu keep-alive ACKs; at least one of each expected"),
                       (unsigned long long)FLAG(ob, KEEP_ALIVE), (unsigned long long)FLAG(ob, KEEP_ALIVE_ACK));
    return say(msg, len, _("%llu keep-alive probes, each answered (%llu keep-alive ACKs)"),
               (unsigned long long)FLAG(ob, KEEP_ALIVE), (unsigned long long)FLAG(ob, KEEP_ALIVE_ACK));
}

static void setup_udp(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_UDP;
    cl->count = 20;
    cl->max_size = 1000;
}

static bool check_udp(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (ob->udp < 1 || ob->udp_frames[SS_DIR_C2S] < 20 || ob->udp_frames[SS_DIR_S2C] < 20)
        return missing(msg, len, _("%llu datagrams from the client and %llu back; 20 each expected"),
                       (unsigned long long)ob->udp_frames[SS_DIR_C2S], (unsigned long long)ob->udp_frames[SS_DIR_S2C]);
    return say(msg, len, _("%llu datagrams from the client and %llu back, each its own message: no handshake, no "
                           "ACKs, no close"),
               (unsigned long long)ob->udp_frames[SS_DIR_C2S], (unsigned long long)ob->udp_frames[SS_DIR_S2C]);
}

static void setup_ipv6(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env)
{
    (void)env;
    srv->mode = cl->mode = SS_DEMO_MODE_ECHO;
    srv->family = cl->family = AF_INET6;
    cl->count = 2;
    /* IPv6's header is 20 bytes longer than IPv4's: 1440 is Ethernet's MSS over IPv6. */
    srv->mss = cl->mss = 1440;
}

static bool check_ipv6(const ss_demo_observed_t *ob, char *msg, size_t len)
{
    if (!clean_tcp(ob, 1, msg, len))
        return false;
    if (ob->ipv6 != ob->tcp)
        return missing(msg, len, _("the conversation is not over IPv6"));
    return say(msg, len, _("an echo over IPv6 (::1): the same TCP, a 40-byte network header"));
}

/* ------------------------------------------------------------------------ */

const ss_demo_scenario_t ss_demo_scenarios[] = {
    {"hello", N_("one message and its reply: handshake, data, FIN close started by the client"), NULL, false, true, 1,
     false, NULL, setup_hello, check_hello},
    {"echo-many", N_("three clients at once, each echoing three lines: one conversation per client port"), NULL,
     false, true, 3, false, NULL, setup_echo_many, check_echo_many},
    {"chat", N_("a scripted chat: lines each way, one per segment, framed by newlines"), "line", false, true, 1, false,
     prepare_chat, setup_chat, check_chat},
    {"sticky-nagle", N_("50 tiny writes with Nagle on and a late reader: writes coalesced into few segments"), NULL,
     false, true, 1, false, NULL, setup_sticky_nagle, check_sticky_nagle},
    {"sticky-nodelay", N_("the same with TCP_NODELAY: about a segment per write, still glued by one recv()"), NULL, false,
     true, 1, false, NULL, setup_sticky_nodelay, check_sticky_nodelay},
    {"len32", N_("30 messages with a 4-byte length prefix, 1 byte to 8 KiB: split and coalesced"), "len32", false,
     true, 1, false, NULL, setup_len32, check_framed},
    {"line", N_("30 newline-terminated messages, 1 byte to 8 KiB: split and coalesced"), "line", false, true, 1, false,
     NULL, setup_line, check_framed},
    {"file-transfer", N_("a 128 KiB file: length, JSON header, bytes, and the server's answer"), "filexfer", false,
     true, 1, false, prepare_file, setup_file, check_file},
    /* xgettext:no-c-format */
    {"loss", N_("512 KiB bulk with 15% of the segments dropped at the receiver: retransmissions, dup ACKs, SACK"),
     NULL, false, true, 1, false, NULL, setup_loss, check_loss},
    /* xgettext:no-c-format */
    {"loss-small", N_("60 short lines, each awaiting its echo, with 15% loss at the server: timer retransmissions"),
     "line", false, true, 1,
     false, NULL, setup_loss_small, check_loss_small},
    {"zero-window", N_("a slow reader with a tiny receive buffer: zero window, probes, window update"), NULL, false,
     true, 1, false, NULL, setup_zero_window, check_zero_window},
    {"rst", N_("the client sends, then closes with SO_LINGER 0: an RST instead of a FIN"), NULL, false, true, 1,
     false, NULL, setup_rst, check_rst},
    {"refused", N_("a connection to a port nobody listens on: a SYN answered by an RST"), NULL, false, false, 1, true,
     NULL, setup_refused, check_refused},
    {"half-close", N_("the client sends, then shutdown(SHUT_WR); the server's data follows the FIN"), NULL, false,
     true, 1, false, NULL, setup_half_close, check_half_close},
    {"keepalive", N_("an idle connection probed by keep-alives every second (takes about 5 s)"), NULL, true, true, 1,
     false, NULL, setup_keepalive, check_keepalive},
    {"udp", N_("20 numbered datagrams, each echoed: messages without a connection"), NULL, false, true, 1, false,
     NULL, setup_udp, check_udp},
    {"ipv6", N_("an echo over IPv6 loopback (::1)"), NULL, false, true, 1, false, NULL, setup_ipv6, check_ipv6},
};

const size_t ss_demo_nscenarios = sizeof ss_demo_scenarios / sizeof ss_demo_scenarios[0];

const ss_demo_scenario_t *ss_demo_scenario_find(const char *name)
{
    for (size_t i = 0; i < ss_demo_nscenarios; i++)
        if (strcmp(name, ss_demo_scenarios[i].name) == 0)
            return &ss_demo_scenarios[i];
    return NULL;
}
