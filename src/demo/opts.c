/* opts.c - the modes, and the options of `segscope-demo server` and `segscope-demo client`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name, *help;
} mode_table[SS_DEMO_MODE_COUNT] = {
#define SS_DEMO_MODE_ROW(id, name, help) {name, help},
    SS_DEMO_MODE_MAP(SS_DEMO_MODE_ROW)
#undef SS_DEMO_MODE_ROW
};

const char *ss_demo_mode_name(ss_demo_mode_t m)
{
    return (unsigned)m < SS_DEMO_MODE_COUNT ? mode_table[m].name : "?";
}

bool ss_demo_mode_parse(const char *name, ss_demo_mode_t *out)
{
    for (int i = 0; i < SS_DEMO_MODE_COUNT; i++)
        if (strcmp(name, mode_table[i].name) == 0) {
            *out = (ss_demo_mode_t)i;
            return true;
        }
    return false;
}

void ss_demo_mode_help(FILE *o, int indent)
{
    for (int i = 0; i < SS_DEMO_MODE_COUNT; i++)
        fprintf(o, "%*s%-12s %s\n", indent, "", mode_table[i].name, _(mode_table[i].help));
}

void ss_demo_opts_init(ss_demo_opts_t *o, ss_demo_role_t role)
{
    memset(o, 0, sizeof *o);
    o->role = role;
    o->mode = SS_DEMO_MODE_ECHO;
    o->family = AF_INET;
    o->port = 9000;
    o->count = o->size = o->bytes = o->max_size = SS_DEMO_UNSET;
    o->rcvbuf = o->read_delay_ms = SS_DEMO_UNSET;
    o->seed = 1;
    o->max_clients = 256;
    o->max_message = 16u << 20;
    o->max_memory = 256u << 20;
    o->max_file = 1u << 30;
    o->idle_timeout_ms = 30000;
    o->conn_timeout_ms = 300000;
    o->timeout_ms = 10000;
    o->idle_ms = 3000;
    o->message = "hello";
}

void ss_demo_opts_finish(ss_demo_opts_t *o)
{
    if (!o->host)
        o->host = o->family == AF_INET6 ? "::1" : "127.0.0.1";
    if (o->count == SS_DEMO_UNSET) {
        switch (o->mode) {
        case SS_DEMO_MODE_ONCE: o->count = 1; break;
        case SS_DEMO_MODE_ECHO: o->count = 5; break;
        case SS_DEMO_MODE_LEN32:
        case SS_DEMO_MODE_LINE: o->count = 100; break;
        case SS_DEMO_MODE_UDP: o->count = 50; break;
        default: o->count = 10; break;
        }
    }
    if (o->bytes == SS_DEMO_UNSET) {
        switch (o->mode) {
        case SS_DEMO_MODE_SLOW_READER: o->bytes = 256u << 10; break;
        case SS_DEMO_MODE_ABORT: o->bytes = 1000; break;
        case SS_DEMO_MODE_HALF_CLOSE: o->bytes = 64u << 10; break;
        default: o->bytes = 1u << 20; break;
        }
    }
    if (o->size == SS_DEMO_UNSET)
        o->size = 1u << 20;
    if (o->max_size == SS_DEMO_UNSET)
        o->max_size = o->mode == SS_DEMO_MODE_UDP ? 1400 : 256u << 10;
    if (o->read_delay_ms == SS_DEMO_UNSET)
        o->read_delay_ms = o->mode == SS_DEMO_MODE_STICKY        ? 200
                           : o->mode == SS_DEMO_MODE_SLOW_READER ? 1000
                                                                 : 0;
    if (o->rcvbuf == SS_DEMO_UNSET)
        o->rcvbuf = o->mode == SS_DEMO_MODE_SLOW_READER && o->role == SS_DEMO_ROLE_SERVER ? 4096 : 0;
}

void ss_demo_opts_usage(FILE *f, ss_demo_role_t role)
{
    bool srv = role == SS_DEMO_ROLE_SERVER;
    if (srv)
        fprintf(f,
                _("Usage: segscope-demo server [--mode M] [options]\n"
                  "\n"
                  "Listens for demo clients and serves many at once, saying on standard error\n"
                  "what it does: one line per accept, recv(), send(), close or rejection.\n"));
    else
        fprintf(f,
                _("Usage: segscope-demo client [--mode M] [options]\n"
                  "\n"
                  "Connects to a segscope-demo server, runs one exchange of the mode and\n"
                  "prints what it checked on standard output (events go to standard error).\n"));
    fprintf(f, _("\nModes (give the same one to the server and the client):\n"));
    ss_demo_mode_help(f, 2);
    fprintf(f,
            _("\nAddress:\n"
              "  -m, --mode M          the exchange (default echo)\n"
              "  -p, --port N          TCP or UDP port (default 9000%s)\n"
              "  %s\n"
              "  -4, -6                IPv4 (default) or IPv6; the default address is\n"
              "                        127.0.0.1 or ::1\n"),
            srv ? _("; 0 lets the kernel choose") : "",
            srv ? _("-b, --bind ADDR       address to listen on (also --host; 0.0.0.0 or :: for all)")
                : _("-H, --host ADDR       the server's address or name\n"
                    "  -b, --bind ADDR       local address to send from"));
    fprintf(f,
            _("\nSocket options (see docs/segscope-demo.1):\n"
              "  --nodelay             TCP_NODELAY: no Nagle coalescing of small writes\n"
              "  --mss N               TCP_MAXSEG before %s (loopback's is about 65483)\n"
              "  --loss P              drop a fraction P (0..1) of the segments this side\n"
              "                        receives, in the kernel (a BPF socket filter)\n"
              "  --rcvbuf N, --sndbuf N  SO_RCVBUF, SO_SNDBUF%s\n"
              "  --trace FILE          application trace: a JSON line per send()/recv()\n"
              "                        (docs/app-trace.md)\n"),
            srv ? "listen" : "connect", srv ? _(" (slow-reader: --rcvbuf 4096)") : "");
    if (srv)
        fprintf(f,
                _("\nServer:\n"
                  "  --clients N           exit after serving N connections (UDP: N clients that\n"
                  "                        said goodbye or went idle); default: run until killed\n"
                  "  --max-clients N       connections at once; more are rejected (default 256)\n"
                  "  --max-message N       largest length prefix, line or file header (16M)\n"
                  "  --max-memory N        buffer memory for all connections together (256M)\n"
                  "  --max-file N          file: largest file accepted (1G)\n"
                  "  --idle-timeout SEC    close a connection silent this long (30; 0 = never)\n"
                  "  --conn-timeout SEC    close a connection open this long, even one that\n"
                  "                        trickles bytes to stay out of --idle-timeout\n"
                  "                        (300; 0 = never)\n"
                  "  --read-delay MS       wait after accept before the first recv()\n"
                  "                        (sticky 200, slow-reader 1000, others 0)\n"
                  "  --dir DIR             file: store received files under DIR (required)\n"
                  "  --le                  len32: little-endian prefix, struct.pack('i')\n"
                  "  --script FILE         chat: answer each line with the next line of FILE\n"));
    else
        fprintf(f,
                _("\nClient:\n"
                  "  -n, --count N         messages (echo 5, len32/line 100, sticky 10, udp 50)\n"
                  "  --max-size N          len32/line/udp: largest message (256K; udp 1400)\n"
                  "  --seed N              seed of the message sizes (default 1)\n"
                  "  --le                  len32: little-endian prefix, struct.pack('i')\n"
                  "  --bytes N             bulk/slow-reader/half-close/abort: bytes to send\n"
                  "                        (bulk 1M, slow-reader 256K, half-close 64K, abort 1000)\n"
                  "  --file PATH           file: the file to send\n"
                  "  --size N              file: without --file, send generated bytes (1M)\n"
                  "  --name NAME           file: name put in the header (default: basename)\n"
                  "  --message TEXT        echo/once/keepalive: the message (default hello)\n"
                  "  --idle SEC            keepalive: how long to stay idle (default 3)\n"
                  "  --timeout SEC         give up when nothing moves for SEC (default 10)\n"
                  "  --script FILE         chat: send the lines of FILE, one per reply\n"));
    fprintf(f,
            _("\n  -q, --quiet           no line per send()/recv() on standard error\n"
              "  --lang LANG           the language of the messages: zh_CN (Simplified Chinese)\n"
              "                        or en; by default the locale's\n"
              "  -h, --help            this help\n"
              "\nSizes take a k, M or G suffix (KiB, MiB, GiB). Exit status: 0 success, 1 a\n"
              "failed check (md5, lost echo, a timeout) or a runtime error, 2 usage error.\n"));
}

enum {
    OPT_SIZE = 1000, OPT_BYTES, OPT_MAX_SIZE, OPT_SEED, OPT_LE, OPT_NODELAY, OPT_MSS, OPT_LOSS,
    OPT_RCVBUF, OPT_SNDBUF, OPT_TRACE, OPT_CLIENTS, OPT_MAX_CLIENTS, OPT_MAX_MESSAGE,
    OPT_MAX_MEMORY, OPT_MAX_FILE, OPT_IDLE_TIMEOUT, OPT_CONN_TIMEOUT, OPT_READ_DELAY, OPT_DIR, OPT_TIMEOUT, OPT_IDLE,
    OPT_FILE, OPT_NAME, OPT_MESSAGE, OPT_SCRIPT,
};

/* Options that only make sense on one side; giving them to the other is a usage error. */
static bool server_only(int ch)
{
    return ch == OPT_CLIENTS || ch == OPT_MAX_CLIENTS || ch == OPT_MAX_MESSAGE ||
           ch == OPT_MAX_MEMORY || ch == OPT_MAX_FILE || ch == OPT_IDLE_TIMEOUT ||
           ch == OPT_CONN_TIMEOUT ||
           ch == OPT_READ_DELAY || ch == OPT_DIR;
}

static bool client_only(int ch)
{
    return ch == 'n' || ch == OPT_SIZE || ch == OPT_BYTES || ch == OPT_MAX_SIZE || ch == OPT_SEED ||
           ch == OPT_TIMEOUT || ch == OPT_IDLE || ch == OPT_FILE || ch == OPT_NAME ||
           ch == OPT_MESSAGE;
}

static bool parse_u64(const char *s, uint64_t *out, uint64_t max)
{
    uint64_t v;
    if (!ss_demo_parse_size(s, &v) || v > max)
        return false;
    *out = v;
    return true;
}

/* Seconds, possibly fractional, to milliseconds. */
static bool parse_seconds(const char *s, uint64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400.0 * 365)
        return false;
    *ms = (uint64_t)(v * 1000 + 0.5);
    return true;
}

__attribute__((format(printf, 2, 3)))
static int usage_error(const char *role, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, _("segscope-demo %s: "), role);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, _(" (see segscope-demo %s --help)\n"), role);
    return -SS_DEMO_EXIT_USAGE;
}

int ss_demo_opts_parse(ss_demo_opts_t *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"bind", required_argument, NULL, 'b'},
        {"count", required_argument, NULL, 'n'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"bytes", required_argument, NULL, OPT_BYTES},
        {"max-size", required_argument, NULL, OPT_MAX_SIZE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"le", no_argument, NULL, OPT_LE},
        {"nodelay", no_argument, NULL, OPT_NODELAY},
        {"mss", required_argument, NULL, OPT_MSS},
        {"loss", required_argument, NULL, OPT_LOSS},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"sndbuf", required_argument, NULL, OPT_SNDBUF},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"clients", required_argument, NULL, OPT_CLIENTS},
        {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"max-file", required_argument, NULL, OPT_MAX_FILE},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"conn-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
        {"read-delay", required_argument, NULL, OPT_READ_DELAY},
        {"dir", required_argument, NULL, OPT_DIR},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"idle", required_argument, NULL, OPT_IDLE},
        {"file", required_argument, NULL, OPT_FILE},
        {"name", required_argument, NULL, OPT_NAME},
        {"message", required_argument, NULL, OPT_MESSAGE},
        {"script", required_argument, NULL, OPT_SCRIPT},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool srv = o->role == SS_DEMO_ROLE_SERVER;
    const char *role = srv ? "server" : "client";
    uint64_t u;
    int ch;
    optind = 0; /* glibc: start afresh at argv[1] (argv[0] is the subcommand), even on a second parse */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":m:p:H:b:n:46qh", longopts, NULL)) != -1) {
        if ((srv && client_only(ch)) || (!srv && server_only(ch))) {
            const char *name = "?";
            for (const struct option *lo = longopts; lo->name; lo++)
                if (lo->val == ch)
                    name = lo->name;
            if (srv)
                fprintf(stderr, _("segscope-demo %s: --%s is a client option (see segscope-demo %s --help)\n"), role,
                        name, role);
            else
                fprintf(stderr, _("segscope-demo %s: --%s is a server option (see segscope-demo %s --help)\n"), role,
                        name, role);
            return -SS_DEMO_EXIT_USAGE;
        }
        switch (ch) {
        case 'm':
            if (!ss_demo_mode_parse(optarg, &o->mode))
                return usage_error(role, _("unknown mode '%s'"), optarg);
            break;
        case 'p':
            if (!parse_u64(optarg, &u, 65535) || (!srv && u == 0))
                return usage_error(role, _("--port needs a port number, not '%s'"), optarg);
            o->port = (uint16_t)u;
            break;
        case 'H': o->host = optarg; break;
        case 'b':
            if (srv)
                o->host = optarg;
            else
                o->bind_addr = optarg;
            break;
        case '4': o->family = AF_INET; break;
        case '6': o->family = AF_INET6; break;
        case 'n':
            if (!parse_u64(optarg, &o->count, 100000000) || o->count == 0)
                return usage_error(role, _("--count needs a positive number, not '%s'"), optarg);
            break;
        case OPT_SIZE:
            if (!parse_u64(optarg, &o->size, (uint64_t)1 << 40))
                return usage_error(role, _("--size needs a byte count, not '%s'"), optarg);
            break;
        case OPT_BYTES:
            if (!parse_u64(optarg, &o->bytes, (uint64_t)1 << 40))
                return usage_error(role, _("--bytes needs a byte count, not '%s'"), optarg);
            break;
        case OPT_MAX_SIZE:
            if (!parse_u64(optarg, &o->max_size, 64u << 20) || o->max_size == 0)
                return usage_error(role, _("--max-size needs a byte count from 1 to 64M, not '%s'"), optarg);
            break;
        case OPT_SEED:
            if (!parse_u64(optarg, &o->seed, UINT64_MAX - 1))
                return usage_error(role, _("--seed needs a number, not '%s'"), optarg);
            break;
        case OPT_LE: o->le = true; break;
        case OPT_NODELAY: o->nodelay = true; break;
        case OPT_MSS:
            if (!parse_u64(optarg, &o->mss, 65535) || o->mss < 88)
                return usage_error(role, _("--mss needs a segment size from 88 to 65535, not '%s'"), optarg);
            break;
        case OPT_LOSS: {
            char *end;
            errno = 0;
            double p = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(p >= 0 && p <= 1))
                return usage_error(role, _("--loss needs a fraction from 0 to 1, not '%s'"), optarg);
            o->loss = p;
            break;
        }
        case OPT_RCVBUF:
            if (!parse_u64(optarg, &o->rcvbuf, INT_MAX / 2))
                return usage_error(role, _("--rcvbuf needs a byte count, not '%s'"), optarg);
            break;
        case OPT_SNDBUF:
            if (!parse_u64(optarg, &o->sndbuf, INT_MAX / 2))
                return usage_error(role, _("--sndbuf needs a byte count, not '%s'"), optarg);
            break;
        case OPT_TRACE: o->trace_path = optarg; break;
        case OPT_CLIENTS:
            if (!parse_u64(optarg, &o->clients, UINT32_MAX))
                return usage_error(role, _("--clients needs a number, not '%s'"), optarg);
            break;
        case OPT_MAX_CLIENTS:
            if (!parse_u64(optarg, &o->max_clients, 65536) || o->max_clients == 0)
                return usage_error(role, _("--max-clients needs a number from 1 to 65536, not '%s'"), optarg);
            break;
        case OPT_MAX_MESSAGE:
            if (!parse_u64(optarg, &o->max_message, 1u << 30) || o->max_message == 0)
                return usage_error(role, _("--max-message needs a byte count from 1 to 1G, not '%s'"), optarg);
            break;
        case OPT_MAX_MEMORY:
            if (!parse_u64(optarg, &o->max_memory, (uint64_t)SIZE_MAX / 2) || o->max_memory < 65536)
                return usage_error(role, _("--max-memory needs a byte count of at least 64k, not '%s'"), optarg);
            break;
        case OPT_MAX_FILE:
            if (!parse_u64(optarg, &o->max_file, (uint64_t)1 << 40))
                return usage_error(role, _("--max-file needs a byte count, not '%s'"), optarg);
            break;
        case OPT_IDLE_TIMEOUT:
            if (!parse_seconds(optarg, &o->idle_timeout_ms))
                return usage_error(role, _("--idle-timeout needs seconds, not '%s'"), optarg);
            break;
        case OPT_CONN_TIMEOUT:
            if (!parse_seconds(optarg, &o->conn_timeout_ms))
                return usage_error(role, _("--conn-timeout needs seconds, not '%s'"), optarg);
            break;
        case OPT_READ_DELAY:
            if (!parse_u64(optarg, &o->read_delay_ms, 3600000))
                return usage_error(role, _("--read-delay needs milliseconds, not '%s'"), optarg);
            break;
        case OPT_DIR: o->dir = optarg; break;
        case OPT_TIMEOUT:
            if (!parse_seconds(optarg, &o->timeout_ms) || o->timeout_ms == 0)
                return usage_error(role, _("--timeout needs a positive number of seconds, not '%s'"), optarg);
            break;
        case OPT_IDLE:
            if (!parse_seconds(optarg, &o->idle_ms))
                return usage_error(role, _("--idle needs seconds, not '%s'"), optarg);
            break;
        case OPT_FILE: o->file = optarg; break;
        case OPT_NAME: o->name = optarg; break;
        case OPT_MESSAGE: o->message = optarg; break;
        case OPT_SCRIPT: o->script = optarg; break;
        case 'q': o->quiet = true; break;
        case 'h': ss_demo_opts_usage(stdout, o->role); return -1;
        case ':': return usage_error(role, _("%s needs a value"), argv[optind - 1]);
        default: return usage_error(role, _("unknown option '%s'"), argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error(role, _("unexpected argument '%s'"), argv[optind]);
    if (o->role == SS_DEMO_ROLE_SERVER && o->mode == SS_DEMO_MODE_FILE && !o->dir)
        return usage_error(role, "%s", "file mode needs --dir DIR, where received files are stored");
    if (o->le && o->mode != SS_DEMO_MODE_LEN32)
        return usage_error(role, "%s", "--le only applies to --mode len32");
    if (o->mode == SS_DEMO_MODE_UDP && o->max_size != SS_DEMO_UNSET && o->max_size > 65000)
        return usage_error(role, "%s", "udp datagrams carry at most 65000 bytes of payload (--max-size)");
    ss_demo_opts_finish(o);
    return 0;
}
