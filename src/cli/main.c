/* main.c - the segscope command: read a capture (file or live) and print its analysis. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "segscope/analyzer.h"
#include "segscope/err.h"
#include "segscope/i18n.h"
#include "segscope/reader.h"
#include "segscope/source.h"
#include "segscope/version.h"

#define EXIT_USAGE 2

/*
 * The signal handler needs to reach the open source; this is the program's
 * only mutable file-scope state, and the library has none.
 */
static volatile sig_atomic_t g_stop;
static ss_source_t *volatile g_source;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_source)
        ss_source_break(g_source);
}

static void usage(FILE *o)
{
    fputs(_("Usage: segscope -r FILE [options] [filter expression]\n"
            "       segscope -i IFACE [options] [filter expression]\n"
            "\n"
            "Decodes and analyses TCP and UDP in a saved capture (pcap or pcapng) or\n"
            "live on an interface. The optional trailing arguments are a BPF filter\n"
            "expression, as in tcpdump (e.g. 'tcp port 9000').\n"
            "\n"
            "Input:\n"
            "  -r FILE             read a saved capture; '-' reads standard input\n"
            "  -i IFACE            capture live on IFACE (e.g. lo); needs privileges\n"
            "  -c N                stop after N packets\n"
            "  -w FILE             also save the raw packets to FILE (pcap)\n"
            "  -s SNAPLEN          live: bytes to keep per packet (default 262144)\n"
            "  -B KIB              live: kernel capture buffer size in KiB (default 16384)\n"
            "  -D                  list the interfaces that can be captured on\n"
            "  -Z USER             as root: once the capture and the output files are open,\n"
            "                      give up root and run as USER (its groups, group and\n"
            "                      user id), as tcpdump -Z does; ignored when not root\n"
            "  -q                  no progress bar (shown on standard error while a large\n"
            "                      file is read with the output going elsewhere)\n"
            "  --threads N         2 reads and decodes a saved file on a second thread\n"
            "                      while the first analyses, and formats the --summary\n"
            "                      tables on a third as conversations end (the default\n"
            "                      with two or more CPUs); 1 does all on one thread; the\n"
            "                      results are the same\n"
            "\n"
            "Output:\n"
            "  --json              JSON Lines, one record per packet (see docs/json.md)\n"
            "  --no-color          no colours (also when NO_COLOR is set)\n"
            "  --color             colours even when standard output is not a terminal\n"
            "  --no-options        do not print TCP options in the timeline\n"
            "  --explain           a sentence of why under each analysis marker and each\n"
            "                      handshake and teardown packet\n"
            "  --summary           only the per-conversation tables (with --json: only the\n"
            "                      conversation records)\n"
            "  --timeline          with --summary: the timeline too, then the tables\n"
            "  --app-trace FILE    an application trace (docs/app-trace.md): without\n"
            "                      --framing each send() is a message; each recv() is\n"
            "                      listed with the messages it returned (glued or not)\n"
            "  --follow N          only the reassembled byte stream of TCP conversation N,\n"
            "                      both directions, text as text and the rest as hex\n"
            "  --hex               with --follow: every byte as a hex dump\n"
            "  --framing SPEC      reassemble TCP streams and cut them into messages: none,\n"
            "                      line, line:crlf, line:0xNN, len:W[:be|le][:incl][:off=K],\n"
            "                      len32, len32le, len16, filexfer[:be|le], or auto: inferred\n"
            "                      per direction (with --summary alone in one pass, live\n"
            "                      too; otherwise a saved file is read twice); per port with\n"
            "                      PORT=SPEC, comma-separated (e.g. 9000=len32,9001=line);\n"
            "                      segments holding several messages are marked COALESCED,\n"
            "                      messages spread over several segments SPLIT\n"
            "  --html FILE         also write a self-contained HTML report: conversation\n"
            "                      table, ladder diagrams, time-sequence graphs, messages\n"
            "  --csv FILE          also write the conversation summary as CSV\n"
            "  --pcapng-out FILE   also write the capture as pcapng with segscope's findings\n"
            "                      as packet comments (Wireshark shows them as frame.comment)\n"
            "  --verify-checksums  check IPv4, TCP and UDP checksums\n"
            "  --lang LANG         the language of the text: zh_CN (Simplified Chinese) or\n"
            "                      en; by default the locale's (LC_ALL, LC_MESSAGES, LANG,\n"
            "                      LANGUAGE); JSON, CSV and pcapng comments stay English\n"
            "\n"),
          o);
    fprintf(o,
            _(
            "Limits (memory stays within these, whatever the capture holds):\n"
            "  --max-flows N       conversations kept at once (default %u)\n"
            "  --idle-timeout SEC  close conversations idle this long (default 0 = never)\n"
            "  --max-closed N      ended conversations kept for late packets; beyond this\n"
            "                      the one that ended longest ago is reported and\n"
            "                      forgotten (default %u)\n"
            "  --max-message N     largest message length a framing may declare (default %llu)\n"
            "  --max-unacked N     per direction: sent segments remembered for RTT and\n"
            "                      retransmission analysis (default %u)\n"
            "  --max-fragments N   IP datagrams being reassembled from fragments (default %u)\n"
            "  --max-ooo-segs N    per direction: out-of-order segments held for\n"
            "                      reassembly (default %u)\n"
            "  --max-ooo-bytes N   per direction: out-of-order bytes held (default %llu)\n"
            "  --reasm-budget N    all conversations together: out-of-order bytes held\n"
            "                      (default %llu)\n"
            "  --max-html-elements N  packets and messages drawn in the --html report\n"
            "                      (default %u; the page says where it stopped)\n"
            "\n"
            "  -h, --help          this help\n"
            "  -V, --version       version\n"
            "\n"
            "Exit status: 0 success (also when the file ends in the middle of a packet:\n"
            "a warning says so); 1 the file could not be read to its end; 2 usage error,\n"
            "unreadable file, or no permission to capture.\n"),
            SS_LIMITS_DEFAULT_MAX_FLOWS, SS_LIMITS_DEFAULT_MAX_CLOSED, (unsigned long long)SS_LIMITS_DEFAULT_MAX_MESSAGE,
            SS_LIMITS_DEFAULT_MAX_UNACKED, SS_LIMITS_DEFAULT_MAX_FRAGMENTS, SS_LIMITS_DEFAULT_MAX_OOO_SEGS,
            (unsigned long long)SS_LIMITS_DEFAULT_MAX_OOO_BYTES, (unsigned long long)SS_LIMITS_DEFAULT_REASM_BUDGET,
            SS_LIMITS_DEFAULT_MAX_HTML_ELEMENTS);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* A numeric option's value within [lo, hi]; otherwise prints `why` and returns false. */
static bool number_arg(const char *arg, uint64_t lo, uint64_t hi, const char *why, uint64_t *out)
{
    if (parse_u64(arg, out) && *out >= lo && *out <= hi)
        return true;
    fprintf(stderr, "%s", why);
    return false;
}

static int list_interfaces(void)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_if_t *all;
    if (pcap_findalldevs(&all, err) != 0) {
        fprintf(stderr, _("segscope: cannot list interfaces: %s\n"), err);
        return EXIT_USAGE;
    }
    int n = 0;
    for (pcap_if_t *d = all; d; d = d->next)
        printf("%d. %s%s%s%s\n", ++n, d->name, d->description ? " (" : "",
               d->description ? d->description : "", d->description ? ")" : "");
    pcap_freealldevs(all);
    return 0;
}

static bool linktype_supported(int lt)
{
    switch (lt) {
    case 0: case 1: case 101: case 108: case 113: case 228: case 229: case 239: case 276:
        return true;
    default:
        return false;
    }
}

/*
 * A report file is written under a temporary name in its own directory and
 * renamed when it is complete, so nobody ever opens half a report, and a
 * failed run leaves the previous one in place.
 */
typedef struct outfile {
    const char *path;
    char *tmp;
    FILE *f;
    bool direct;  /* -Z: written under its own name (the user taken on could not rename it into place) */
    bool special; /* not a regular file (/dev/null, a FIFO, a terminal): written to, never replaced or removed */
} outfile_t;

static bool outfile_open(outfile_t *of, const char *opt)
{
    struct stat st;
    if (stat(of->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        of->special = true;
        of->f = fopen(of->path, "w");
        if (!of->f) {
            fprintf(stderr, "segscope: %s %s: %s\n", opt, of->path, strerror(errno));
            return false;
        }
        return true;
    }
    if (of->direct) {
        of->f = fopen(of->path, "w");
        if (!of->f) {
            fprintf(stderr, "segscope: %s %s: %s\n", opt, of->path, strerror(errno));
            return false;
        }
        return true;
    }
    const char *slash = strrchr(of->path, '/');
    int dlen = slash ? (int)(slash - of->path + 1) : 0;
    size_t n = strlen(of->path) + 16;
    of->tmp = malloc(n);
    if (!of->tmp) {
        fprintf(stderr, "%s", _("segscope: out of memory\n"));
        return false;
    }
    snprintf(of->tmp, n, "%.*s.%s.XXXXXX", dlen, of->path, of->path + dlen);
    int fd = mkstemp(of->tmp);
    if (fd < 0) {
        fprintf(stderr, _("segscope: %s %s: cannot create a file in its directory: %s\n"), opt, of->path,
                strerror(errno));
        free(of->tmp);
        of->tmp = NULL;
        return false;
    }
    /* mkstemp makes it private; give it the permissions a newly created file would get. */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    of->f = fdopen(fd, "w");
    if (!of->f) {
        fprintf(stderr, "segscope: %s %s: %s\n", opt, of->path, strerror(errno));
        close(fd);
        unlink(of->tmp);
        free(of->tmp);
        of->tmp = NULL;
        return false;
    }
    return true;
}

/* Closes the file and, when `keep`, renames it into place. Returns false on a write error. */
static bool outfile_close(outfile_t *of, bool keep)
{
    if (of->special && of->f) {
        bool ok = fclose(of->f) == 0;
        of->f = NULL;
        if (!ok)
            fprintf(stderr, "segscope: %s: %s\n", of->path, strerror(errno));
        return ok;
    }
    if (of->direct && of->f) {
        bool ok = fclose(of->f) == 0;
        of->f = NULL;
        if (keep && !ok)
            fprintf(stderr, "segscope: %s: %s\n", of->path, strerror(errno));
        if (!keep || !ok)
            unlink(of->path); /* as far as the user taken on may */
        return keep ? ok : true;
    }
    if (!of->tmp)
        return true;
    bool ok = fclose(of->f) == 0;
    if (keep && ok && rename(of->tmp, of->path) == 0) {
        free(of->tmp);
        of->tmp = NULL;
        return true;
    }
    if (keep)
        fprintf(stderr, "segscope: %s: %s\n", of->path, strerror(errno));
    unlink(of->tmp);
    free(of->tmp);
    of->tmp = NULL;
    return !keep;
}

static const char two_pass_needs_file[] =
    N_("segscope: --framing auto with the timeline, JSON or report files reads the capture twice, so it "
       "needs a saved file; for live capture or standard input use --summary alone, or name the "
       "framing (line, len32, filexfer, ...)\n");

/*
 * --framing auto infers each direction's framing from its whole stream.
 * With --summary alone that is done in the one pass (the tables need only
 * each conversation's totals, known at its end). Outputs that report packets
 * or messages need the framing from a conversation's first byte, so a saved
 * capture is read twice: the first pass tries every candidate framing on
 * each direction of each TCP conversation and keeps the verdicts; the second
 * pass, the real one, frames with them. Returns 0, or EXIT_USAGE after
 * printing why.
 */
static int infer_framings(const char *rfile, const char *filter, ss_config_t *cfg, bool thread, ss_inferred_t **out,
                          size_t *nout)
{
    char err[SS_SOURCE_ERRBUF] = "";
    ss_source_t *src = NULL;
    ss_reader_t *rd = NULL;
    *out = NULL;
    *nout = 0;
    ss_reader_opts_t ro = {.thread = thread};
    if (ss_source_open_file(&src, rfile, err) < 0 || (filter && ss_source_set_filter(src, filter, err) < 0) ||
        ss_reader_open(&rd, src, &ro) < 0) {
        ss_source_close(src);
        return 0; /* the real pass reports the problem */
    }
    /* The first pass only infers and keeps the verdicts: the application trace is lined up in the second. */
    ss_config_t c1 = *cfg;
    c1.app_trace = NULL;
    c1.keep_inferred = true;
    ss_analyzer_t *an = ss_analyzer_create(&c1, NULL, 0);
    if (!an) {
        ss_reader_close(rd);
        ss_source_close(src);
        fprintf(stderr, "%s", _("segscope: out of memory\n"));
        return EXIT_USAGE;
    }
    ss_batch_t batch;
    while (ss_reader_next(rd, &batch, err) == SS_SOURCE_FRAME)
        if (ss_reader_feed(an, &batch) < 0)
            break;
    ss_reader_close(rd);
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    ss_analyzer_finish(an, &end);
    *nout = ss_analyzer_take_inferred(an, out);
    ss_analyzer_destroy(an);
    ss_source_close(src);
    return 0;
}

/*
 * The progress bar of a long read: on standard error, only when it is a
 * terminal and the output is not (the output would interleave otherwise).
 * Wall-clock time is used here only, never in what is analysed.
 */
typedef struct progress {
    bool on;
    struct timespec start, last;
    uint64_t packets;
} progress_t;

static double secs_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_show(progress_t *p, const ss_reader_t *rd, bool final)
{
    uint64_t done, total;
    ss_reader_progress(rd, &done, &total);
    if (!p->on || total == 0)
        return;
    if (final) {
        fprintf(stderr, "\r%79s\r", "");
        return;
    }
    if (secs_since(&p->last) < 0.2)
        return;
    clock_gettime(CLOCK_MONOTONIC, &p->last);
    double el = secs_since(&p->start), frac = (double)done / (double)total;
    if (frac > 1)
        frac = 1;
    int w = (int)(frac * 30);
    char bar[31];
    for (int i = 0; i < 30; i++)
        bar[i] = i < w ? '#' : '.';
    bar[30] = '\0';
    double rate = el > 0 ? (double)p->packets / el : 0, left = frac > 0 ? el * (1 - frac) / frac : 0;
    fputc('\r', stderr); /* the bar starts again at the left */
    fprintf(stderr, _("[%s] %3.0f%%  %.1f of %.1f MB  %.0f packets/s  %.0f s left "), bar, frac * 100,
            (double)done / 1e6, (double)total / 1e6, rate, left);
}

static void print_perm_hint(const char *iface, const char *err)
{
    fprintf(stderr,
            _("segscope: no permission to capture on %s (%s).\n"
              "  Run it as root:           sudo segscope -i %s\n"
              "  or grant it, once, the capture capabilities:\n"
              "                            sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v segscope)\"\n"),
            iface, err, iface);
}

/*
 * -Z: the user to become once everything that needs root is open. Looked up
 * before anything is opened, so that a missing user costs nothing.
 */
typedef struct drop_to {
    const char *name;
    uid_t uid;
    gid_t gid;
} drop_to_t;

/*
 * Gives up root for good, in the only order that works: the supplementary
 * groups and the group while still root, then the user. Then checks that
 * there is no way back. Returns 0, or -1 after printing why.
 */
static int drop_privileges(const drop_to_t *d)
{
    if (initgroups(d->name, d->gid) != 0) {
        fprintf(stderr, _("segscope: -Z %s: cannot set the user's groups: %s\n"), d->name, strerror(errno));
        return -1;
    }
    if (setgid(d->gid) != 0) {
        fprintf(stderr, _("segscope: -Z %s: cannot change to group %lu: %s\n"), d->name, (unsigned long)d->gid,
                strerror(errno));
        return -1;
    }
    if (setuid(d->uid) != 0) {
        fprintf(stderr, _("segscope: -Z %s: cannot change to user %lu: %s\n"), d->name, (unsigned long)d->uid,
                strerror(errno));
        return -1;
    }
    bool undone = getuid() != d->uid || geteuid() != d->uid || getgid() != d->gid || getegid() != d->gid;
    if (d->uid != 0 && !undone)
        undone = setuid(0) == 0 || seteuid(0) == 0;
    if (d->gid != 0 && d->uid != 0 && !undone)
        undone = setgid(0) == 0 || setegid(0) == 0;
    if (undone) {
        fprintf(stderr, _("segscope: -Z %s: root's privileges were not given up for good (they could be taken "
                          "back); stopping\n"),
                d->name);
        return -1;
    }
    return 0;
}

enum {
    OPT_JSON = 1000,
    OPT_NO_COLOR,
    OPT_COLOR,
    OPT_NO_OPTIONS,
    OPT_VERIFY,
    OPT_MAX_FLOWS,
    OPT_IDLE,
    OPT_MAX_CLOSED,
    OPT_MAX_UNACKED,
    OPT_MAX_FRAGMENTS,
    OPT_MAX_OOO_SEGS,
    OPT_MAX_OOO_BYTES,
    OPT_REASM_BUDGET,
    OPT_MAX_HTML_ELEMENTS,
    OPT_EXPLAIN,
    OPT_SUMMARY,
    OPT_TIMELINE,
    OPT_FRAMING,
    OPT_MAX_MESSAGE,
    OPT_FOLLOW,
    OPT_APP_TRACE,
    OPT_HEX,
    OPT_HTML,
    OPT_PCAPNG,
    OPT_CSV,
    OPT_LANG,
    OPT_THREADS,
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"color", no_argument, NULL, OPT_COLOR},
        {"no-options", no_argument, NULL, OPT_NO_OPTIONS},
        {"verify-checksums", no_argument, NULL, OPT_VERIFY},
        {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"max-closed", required_argument, NULL, OPT_MAX_CLOSED},
        {"max-unacked", required_argument, NULL, OPT_MAX_UNACKED},
        {"max-fragments", required_argument, NULL, OPT_MAX_FRAGMENTS},
        {"max-ooo-segs", required_argument, NULL, OPT_MAX_OOO_SEGS},
        {"max-ooo-bytes", required_argument, NULL, OPT_MAX_OOO_BYTES},
        {"reasm-budget", required_argument, NULL, OPT_REASM_BUDGET},
        {"max-html-elements", required_argument, NULL, OPT_MAX_HTML_ELEMENTS},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"framing", required_argument, NULL, OPT_FRAMING},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"follow", required_argument, NULL, OPT_FOLLOW},
        {"html", required_argument, NULL, OPT_HTML},
        {"csv", required_argument, NULL, OPT_CSV},
        {"pcapng-out", required_argument, NULL, OPT_PCAPNG},
        {"app-trace", required_argument, NULL, OPT_APP_TRACE},
        {"hex", no_argument, NULL, OPT_HEX},
        {"lang", required_argument, NULL, OPT_LANG},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"relinquish-privileges", required_argument, NULL, 'Z'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *rfile = NULL, *iface = NULL, *wfile = NULL, *zuser = NULL;
    uint64_t count = 0, u;
    bool json = false, show_options = true, explain = false, summary = false, timeline = false;
    bool follow = false, follow_hex = false, quiet = false;
    outfile_t html = {0}, csv = {0}, png = {0};
    const char *app_trace_path = NULL;
    uint64_t follow_stream = 0;
    int color = -1; /* -1 = when stdout is a terminal */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = ncpu > 1 ? 2 : 1;
    ss_config_t cfg;
    ss_live_opts_t lo;
    ss_config_init(&cfg);
    ss_live_opts_init(&lo);

    ss_i18n_setup(ss_i18n_lang_arg(&argc, argv, false));
    int ch;
    while ((ch = getopt_long(argc, argv, "r:i:c:w:s:B:DZ:hVq", longopts, NULL)) != -1) {
        switch (ch) {
        case 'r': rfile = optarg; break;
        case 'i': iface = optarg; break;
        case 'w': wfile = optarg; break;
        case 'c':
            if (!parse_u64(optarg, &count) || count == 0) {
                fprintf(stderr, _("segscope: -c needs a positive number, not '%s'\n"), optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (!number_arg(optarg, 1, 262144, _("segscope: -s needs a snapshot length from 1 to 262144\n"), &u))
                return EXIT_USAGE;
            lo.snaplen = (int)u;
            break;
        case 'B':
            if (!number_arg(optarg, 1, INT_MAX / 1024, _("segscope: -B needs a buffer size in KiB\n"), &u))
                return EXIT_USAGE;
            lo.buffer_kib = (int)u;
            break;
        case 'D': return list_interfaces();
        case 'Z': zuser = optarg; break;
        case 'q': quiet = true; break;
        case OPT_THREADS:
            if (!number_arg(optarg, 1, 2, _("segscope: --threads needs 1 or 2\n"), &u))
                return EXIT_USAGE;
            threads = (unsigned)u;
            break;
        case OPT_JSON: json = true; break;
        case OPT_NO_COLOR: color = 0; break;
        case OPT_COLOR: color = 1; break;
        case OPT_NO_OPTIONS: show_options = false; break;
        case OPT_VERIFY: cfg.verify_checksums = true; break;
        case OPT_EXPLAIN: explain = true; break;
        case OPT_SUMMARY: summary = true; break;
        case OPT_TIMELINE: timeline = true; break;
        case OPT_FRAMING: {
            char ferr[160];
            if (ss_config_set_framing(&cfg, optarg, ferr, sizeof(ferr)) < 0) {
                fprintf(stderr, _("segscope: --framing: %s\n"), ferr);
                return EXIT_USAGE;
            }
            break;
        }
        case OPT_HEX: follow_hex = true; break;
        case OPT_LANG: break; /* chosen before parsing: ss_i18n_lang_arg */
        case OPT_APP_TRACE:
            app_trace_path = optarg;
            cfg.reassemble = true;
            break;
        case OPT_FOLLOW:
            if (!parse_u64(optarg, &follow_stream)) {
                fprintf(stderr, "%s", _("segscope: --follow needs a conversation number (tcp_stream)\n"));
                return EXIT_USAGE;
            }
            follow = true;
            cfg.reassemble = true;
            cfg.emit_data = true;
            break;
        case OPT_HTML: html.path = optarg; break;
        case OPT_CSV: csv.path = optarg; break;
        case OPT_PCAPNG: png.path = optarg; break;
        case OPT_MAX_MESSAGE:
            if (!number_arg(optarg, 1, UINT64_MAX,
                            _("segscope: --max-message needs a positive number of bytes\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_message = u;
            break;
        case OPT_MAX_FLOWS:
            if (!number_arg(optarg, 1, UINT32_MAX, _("segscope: --max-flows needs a positive number\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_flows = (uint32_t)u;
            break;
        case OPT_IDLE:
            if (!number_arg(optarg, 0, UINT32_MAX, _("segscope: --idle-timeout needs a number of seconds\n"), &u))
                return EXIT_USAGE;
            cfg.limits.idle_timeout_s = (uint32_t)u;
            break;
        case OPT_MAX_CLOSED:
            if (!number_arg(optarg, 0, UINT32_MAX,
                            _("segscope: --max-closed needs a number of conversations\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_closed = (uint32_t)u;
            break;
        case OPT_MAX_UNACKED:
            if (!number_arg(optarg, 0, UINT32_MAX, _("segscope: --max-unacked needs a number of segments\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_unacked = (uint32_t)u;
            break;
        case OPT_MAX_HTML_ELEMENTS:
            if (!number_arg(optarg, 1, UINT32_MAX, _("segscope: --max-html-elements needs a positive number\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_html_elements = (uint32_t)u;
            break;
        case OPT_MAX_FRAGMENTS:
            if (!number_arg(optarg, 1, UINT32_MAX,
                            _("segscope: --max-fragments needs a positive number of datagrams\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_fragments = (uint32_t)u;
            break;
        case OPT_MAX_OOO_SEGS:
            if (!number_arg(optarg, 0, UINT32_MAX, _("segscope: --max-ooo-segs needs a number of segments\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_ooo_segs = (uint32_t)u;
            break;
        case OPT_MAX_OOO_BYTES:
            if (!number_arg(optarg, 0, UINT64_MAX, _("segscope: --max-ooo-bytes needs a number of bytes\n"), &u))
                return EXIT_USAGE;
            cfg.limits.max_ooo_bytes = u;
            break;
        case OPT_REASM_BUDGET:
            /* 0 would read as "no budget" below; a budget of nothing is --max-ooo-segs 0. */
            if (!number_arg(optarg, 1, UINT64_MAX,
                            _("segscope: --reasm-budget needs a positive number of bytes\n"), &u))
                return EXIT_USAGE;
            cfg.limits.reasm_budget = u;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("segscope %s (%s)\n", SS_VERSION, pcap_lib_version()); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if ((rfile == NULL) == (iface == NULL)) {
        fprintf(stderr, "%s", _("segscope: give either -r FILE or -i IFACE (see segscope --help)\n"));
        return EXIT_USAGE;
    }
    /* -Z, as tcpdump: only root has privileges to give up; anyone else keeps running as they are. */
    drop_to_t drop = {.name = NULL};
    if (zuser && getuid() != 0 && geteuid() != 0) {
        fprintf(stderr, _("segscope: warning: -Z %s ignored: segscope is not running as root, so there are no "
                          "privileges to give up\n"),
                zuser);
    } else if (zuser) {
        errno = 0;
        struct passwd *pw = getpwnam(zuser);
        if (!pw) {
            if (errno && errno != ENOENT && errno != ESRCH)
                fprintf(stderr, _("segscope: -Z %s: cannot look up the user: %s\n"), zuser, strerror(errno));
            else
                fprintf(stderr, _("segscope: -Z %s: no such user\n"), zuser);
            return EXIT_USAGE;
        }
        drop.name = zuser;
        drop.uid = pw->pw_uid;
        drop.gid = pw->pw_gid;
        html.direct = csv.direct = png.direct = true;
    }

    ss_apptrace_t *app_trace = NULL;
    if (app_trace_path) {
        char terr[256];
        if (ss_apptrace_load(&app_trace, app_trace_path, SS_APPTRACE_DEFAULT_MAX_RECORDS, terr, sizeof(terr)) <
            0) {
            fprintf(stderr, _("segscope: --app-trace: %s\n"), terr);
            return EXIT_USAGE;
        }
        uint64_t nrec, nskip;
        ss_apptrace_counts(app_trace, &nrec, &nskip);
        if (nskip)
            fprintf(stderr,
                    P_("segscope: warning: %s: %" PRIu64 " malformed line skipped\n",
                       "segscope: warning: %s: %" PRIu64 " malformed lines skipped\n", nskip),
                    app_trace_path, nskip);
        uint64_t ndrop = ss_apptrace_dropped(app_trace);
        if (ndrop)
            fprintf(stderr,
                    P_("segscope: warning: %s: %" PRIu64 " record beyond the limits (%u records, %u connection "
                       "directions) ignored\n",
                       "segscope: warning: %s: %" PRIu64 " records beyond the limits (%u records, %u connection "
                       "directions) ignored\n",
                       ndrop),
                    app_trace_path, ndrop, SS_APPTRACE_DEFAULT_MAX_RECORDS, SS_APPTRACE_MAX_GROUPS);
        cfg.app_trace = app_trace;
    }

    /* The remaining arguments form one filter expression, as with tcpdump. */
    char *filter = NULL;
    if (optind < argc) {
        size_t len = 1;
        for (int i = optind; i < argc; i++)
            len += strlen(argv[i]) + 1;
        filter = calloc(1, len);
        if (!filter) {
            fprintf(stderr, "%s", _("segscope: out of memory\n"));
            return EXIT_USAGE;
        }
        for (int i = optind; i < argc; i++) {
            if (i > optind)
                strcat(filter, " ");
            strcat(filter, argv[i]);
        }
    }

    /*
     * --framing auto with outputs that report packets or messages (everything
     * but --summary alone) reads a saved capture twice: see infer_framings.
     * The analyzer decides (ss_analyzer_needs_first_pass); this only refuses
     * early, before a live capture starts, what could not be read twice.
     */
    bool per_packet_out = follow || json || !summary || timeline || html.path || csv.path || png.path || app_trace;
    if (ss_config_infers(&cfg) && per_packet_out && (!rfile || strcmp(rfile, "-") == 0)) {
        fprintf(stderr, "%s", _(two_pass_needs_file));
        free(filter);
        return EXIT_USAGE;
    }
    ss_inferred_t *inferred = NULL;
    size_t ninferred = 0;

    char err[SS_SOURCE_ERRBUF] = "";
    ss_source_t *src = NULL;
    int rc;
    const char *name = rfile ? rfile : iface;
    if (rfile) {
        rc = ss_source_open_file(&src, rfile, err);
        if (rc < 0) {
            const char *shown = strcmp(rfile, "-") ? rfile : _("standard input");
            if (rc == SS_ERR_FORMAT)
                fprintf(stderr, _("segscope: %s: not a capture file segscope can read (libpcap: %s)\n"), shown, err);
            else
                fprintf(stderr, "segscope: %s: %s\n", shown, err);
            free(filter);
            return EXIT_USAGE;
        }
    } else {
        rc = ss_source_open_live(&src, iface, &lo, err);
        if (rc == SS_ERR_PERM) {
            print_perm_hint(iface, err);
            free(filter);
            return EXIT_USAGE;
        }
        if (rc < 0) {
            fprintf(stderr, _("segscope: cannot capture on %s: %s\n"), iface, err);
            free(filter);
            return EXIT_USAGE;
        }
    }
    if (filter && ss_source_set_filter(src, filter, err) < 0) {
        fprintf(stderr, _("segscope: bad filter expression '%s': %s\n"), filter, err);
        ss_source_close(src);
        free(filter);
        return EXIT_USAGE;
    }
    if (wfile && ss_source_dump_open(src, wfile, err) < 0) {
        fprintf(stderr, "segscope: %s: %s\n", wfile, err);
        ss_source_close(src);
        free(filter);
        return EXIT_USAGE;
    }
    /* The report files, opened only once the capture is. */
    if ((html.path && !outfile_open(&html, "--html")) || (csv.path && !outfile_open(&csv, "--csv")) ||
        (png.path && !outfile_open(&png, "--pcapng-out"))) {
        outfile_close(&html, false);
        outfile_close(&csv, false);
        ss_source_close(src);
        ss_apptrace_destroy(app_trace);
        free(inferred);
        free(filter);
        return EXIT_USAGE;
    }
    /* -Z: everything that needed root is open; give it up before the first packet is read. */
    if (drop.name && drop_privileges(&drop) < 0) {
        outfile_close(&html, false);
        outfile_close(&csv, false);
        outfile_close(&png, false);
        ss_source_close(src);
        ss_apptrace_destroy(app_trace);
        free(inferred);
        free(filter);
        return EXIT_USAGE;
    }
    /* Ctrl-C and SIGTERM stop the capture cleanly from here on. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_source = ss_source_is_live(src) ? src : NULL; /* only a live read waits; a file stops between batches */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed pipe (segscope ... | head) ends the program quietly, as it does cat or tcpdump. */
    signal(SIGPIPE, SIG_DFL);
    int lt = ss_source_linktype(src);
    if (ss_source_is_live(src)) {
        /* As tcpdump does: say when the capture is really running (scripts wait for this line, so it is
           never translated). */
        const char *ltname = pcap_datalink_val_to_name(lt == 101 ? DLT_RAW : lt);
        fprintf(stderr, "segscope: listening on %s, link-type %s (%d)%s%s\n", iface, ltname ? ltname : "?", lt,
                filter ? ", filter: " : "", filter ? filter : "");
        fflush(stderr);
    }
    if (!linktype_supported(lt))
        fprintf(stderr,
                _("segscope: warning: %s: link-layer type %d (0x%08x) is not one segscope decodes%s; "
                  "its frames are listed without decoding\n"),
                name, lt, (unsigned)lt,
                ((unsigned)lt & 0xFFFF0000u) ? _(" (reserved bits of the link-type field are set: "
                                                 "the file header is probably damaged)")
                                             : "");

    bool live = ss_source_is_live(src);
    static char obuf[1 << 16];
    if (!live)
        setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    if (color < 0)
        color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") ? 1 : 0;
    else if (color == 1 && getenv("NO_COLOR") && getenv("NO_COLOR")[0])
        color = 1; /* an explicit --color wins */

    /* The outputs: the timeline or JSON, and the summary tables; the report files. */
    ss_sink_t *sinks[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nsinks = 0;
    bool oom = false;
    if (follow) {
        oom |= !(sinks[nsinks++] = ss_sink_follow_create(stdout, follow_stream, color == 1, follow_hex));
    } else if (json) {
        oom |= !(sinks[nsinks++] = ss_sink_json_create(stdout, live, !summary || timeline));
    } else {
        if (!summary || timeline) {
            ss_text_opts_t to = {.color = color == 1, .show_options = show_options, .line_flush = live,
                                 .explain = explain};
            oom |= !(sinks[nsinks++] = ss_sink_text_create(stdout, &to));
        }
        /* Live, the tables come after Ctrl-C: the capture's summary. */
        if (summary || live)
            oom |= !(sinks[nsinks++] = ss_sink_summary_create_opts(
                         stdout, &(ss_summary_opts_t){.color = color == 1, .thread = threads > 1}));
    }
    if (html.f)
        oom |= !(sinks[nsinks++] = ss_sink_html_create(
                     html.f, &(ss_html_opts_t){.max_elements = cfg.limits.max_html_elements,
                                              .max_conv_elements = cfg.limits.max_html_elements <
                                                                           SS_HTML_DEFAULT_MAX_CONV_ELEMENTS
                                                                       ? cfg.limits.max_html_elements
                                                                       : SS_HTML_DEFAULT_MAX_CONV_ELEMENTS}));
    if (csv.f)
        oom |= !(sinks[nsinks++] = ss_sink_csv_create(csv.f));
    if (png.f)
        oom |= !(sinks[nsinks++] = ss_sink_pcapng_create(png.f));
    ss_analyzer_t *an = oom ? NULL : ss_analyzer_create(&cfg, sinks, nsinks);
    int setup_rc = 0;
    if (!an) {
        fprintf(stderr, "%s", _("segscope: out of memory\n"));
        setup_rc = EXIT_USAGE;
    } else if (ss_analyzer_needs_first_pass(an)) {
        if (live || !rfile || strcmp(rfile, "-") == 0) {
            fprintf(stderr, "%s", _(two_pass_needs_file));
            setup_rc = EXIT_USAGE;
        } else {
            setup_rc = infer_framings(rfile, filter, &cfg, threads > 1, &inferred, &ninferred);
        }
        if (setup_rc == 0)
            ss_analyzer_set_inferred(an, inferred, ninferred);
    }
    if (setup_rc) {
        ss_analyzer_destroy(an);
        for (size_t i = 0; i < nsinks; i++)
            ss_sink_destroy(sinks[i]);
        outfile_close(&html, false);
        outfile_close(&csv, false);
        outfile_close(&png, false);
        ss_source_close(src);
        ss_apptrace_destroy(app_trace);
        free(inferred);
        free(filter);
        return setup_rc;
    }
    free(filter);

    ss_run_info_t info = {.source_name = name, .live = live, .linktype = lt};
    int status = 0;
    rc = ss_analyzer_begin(an, &info);
    uint64_t n = 0, last_frame = 0;
    ss_run_end_t end;
    memset(&end, 0, sizeof(end));
    char warn[SS_SOURCE_ERRBUF + 512] = "";
    progress_t prog = {.on = !live && !quiet && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO)};
    clock_gettime(CLOCK_MONOTONIC, &prog.start);
    prog.last = prog.start;
    ss_reader_t *rd = NULL;
    ss_reader_opts_t ro = {.thread = threads > 1, .limit = count};
    if (rc == 0)
        rc = ss_reader_open(&rd, src, &ro);
    while (rc == 0 && !g_stop) {
        ss_batch_t batch;
        int r = ss_reader_next(rd, &batch, err);
        if (r == SS_SOURCE_FRAME) {
            n += batch.n;
            last_frame = batch.frames[batch.n - 1].number;
            rc = ss_reader_feed(an, &batch);
            prog.packets = n;
            if (prog.on && (n - batch.n) / 4096 != n / 4096)
                progress_show(&prog, rd, false);
        } else if (r == SS_SOURCE_TIMEOUT) {
            continue;
        } else if (r == SS_SOURCE_EOF) {
            break;
        } else {
            if (r == SS_ERR_TRUNCATED) {
                snprintf(warn, sizeof(warn),
                         _("the file is cut off in the middle of a packet record after frame %" PRIu64
                           " (%s); the frames before it were analysed"),
                         last_frame, err);
            } else if (r == SS_ERR_LINKTYPES) {
                snprintf(warn, sizeof(warn),
                         _("this pcapng file has interfaces with different link-layer types or "
                           "snapshot lengths, which libpcap cannot read in one pass (%s); frames 1-%" PRIu64
                           " were read and the rest were not. Split the file per interface first "
                           "(for example with editcap or tshark -Y frame.interface_id==N)"),
                         err, last_frame);
                status = 1;
            } else {
                snprintf(warn, sizeof(warn),
                         _("damaged packet record after frame %" PRIu64 " (%s); the rest of the file "
                           "was not read"),
                         last_frame, err);
                status = 1;
            }
            break;
        }
    }
    g_source = NULL;
    if (rd)
        progress_show(&prog, rd, true);
    ss_reader_close(rd);
    if (rc < 0) {
        fprintf(stderr, _("segscope: %s\n"), rc == SS_ERR_IO ? _("cannot write the output") : _(ss_strerror(rc)));
        status = EXIT_USAGE;
    }
    if (warn[0])
        end.warning = warn;
    if (live) {
        ss_source_stats_t st;
        ss_source_stats(src, &st);
        end.stats_valid = st.valid;
        end.pcap_received = st.received;
        end.pcap_dropped = st.dropped;
        end.pcap_if_dropped = st.if_dropped;
    }
    int frc = ss_analyzer_finish(an, &end);
    if (frc < 0 && status != EXIT_USAGE) {
        fprintf(stderr, "%s", _("segscope: cannot write the output\n"));
        status = EXIT_USAGE;
    }
    if (wfile && ss_source_dump_flush(src) < 0) {
        fprintf(stderr, _("segscope: %s: write error\n"), wfile);
        status = EXIT_USAGE;
    }
    fflush(stdout);
    /* The report files are kept when every sink wrote its output, even after a read error. */
    bool written = rc == 0 && frc == 0;
    if (!outfile_close(&html, written) || !outfile_close(&csv, written) || !outfile_close(&png, written))
        status = EXIT_USAGE;
    if (warn[0])
        fprintf(stderr, status ? _("segscope: error: %s: %s\n") : _("segscope: warning: %s: %s\n"), name, warn);
    if (live && end.stats_valid)
        fprintf(stderr,
                _("segscope: %" PRIu64 " packets captured, %" PRIu64 " received by filter, %" PRIu64
                  " dropped by kernel\n"),
                n, end.pcap_received, end.pcap_dropped);
    ss_analyzer_destroy(an);
    for (size_t i = 0; i < nsinks; i++)
        ss_sink_destroy(sinks[i]);
    ss_apptrace_destroy(app_trace);
    free(inferred);
    ss_source_close(src);
    return status;
}
