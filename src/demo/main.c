/* main.c - the segscope-demo command: a table of subcommands (server, client, md5). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "segscope/version.h"

#include "internal.h"
#include "run.h"

/*
 * The signal handlers need somewhere to write; this flag is the program's
 * only mutable file-scope state. The server and client poll it through
 * ss_demo_opts_t.stop, so they keep none of their own.
 */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() and sleeps return early, and the loops see the flag. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A peer that closes while we send must give EPIPE, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
}

static int run_role(ss_demo_role_t role, int argc, char **argv)
{
    ss_demo_opts_t o;
    ss_demo_opts_init(&o, role);
    int rc = ss_demo_opts_parse(&o, argc, argv);
    if (rc == -1)
        return SS_DEMO_EXIT_OK; /* --help */
    if (rc < 0)
        return -rc;
    install_signals();
    o.stop = &g_stop;
    return role == SS_DEMO_ROLE_SERVER ? ss_demo_server_run(&o) : ss_demo_client_run(&o);
}

static int cmd_server(int argc, char **argv) { return run_role(SS_DEMO_ROLE_SERVER, argc, argv); }
static int cmd_client(int argc, char **argv) { return run_role(SS_DEMO_ROLE_CLIENT, argc, argv); }
static int cmd_md5(int argc, char **argv) { return ss_demo_md5_main(argc, argv); }

/*
 * The subcommands. Each gets argv starting at its own name and returns the
 * exit status; a new one (a scenario runner, say) is one more row.
 */
typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary; /* N_(): translated when printed */
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"server", cmd_server, N_("listen and serve demo clients, many at once")},
    {"client", cmd_client, N_("connect to a server and run one exchange of a mode")},
    {"md5", cmd_md5, N_("print the MD5 of files (or standard input), as md5sum does")},
    {"list", ss_demo_list_main, N_("list the scenarios of run and tour")},
    {"run", ss_demo_run_main, N_("run a scenario in a network namespace of its own, capture it, analyse it")},
    {"tour", ss_demo_tour_main, N_("run every scenario in turn")},
};

static void usage(FILE *o)
{
    fprintf(o,
            _("Usage: segscope-demo COMMAND [options]\n"
              "\n"
              "Traffic for segscope to look at: a server and a client that exchange\n"
              "messages the way real programs do (echo, framed messages, file transfer,\n"
              "bulk data, aborts, half-closes, keep-alives, UDP), with switches for\n"
              "Nagle, the MSS, buffer sizes, packet loss and an application trace.\n"
              "\n"
              "Commands:\n"));
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(o, "  %-8s %s\n", subcommands[i].name, _(subcommands[i].summary));
    fprintf(o,
            _("\n"
              "Modes of server and client (--mode M, the same on both sides):\n"));
    ss_demo_mode_help(o, 2);
    fprintf(o,
            _("\n"
              "Example, in two terminals:\n"
              "  segscope-demo server --mode len32 --port 9000\n"
              "  segscope-demo client --mode len32 --port 9000 --count 50\n"
              "\n"
              "Or, captured and analysed in one go (as root, or with user namespaces):\n"
              "  segscope-demo run loss\n"
              "\n"
              "'segscope-demo COMMAND --help' lists the options of a command.\n"
              "  --lang LANG    the language of the messages, the help and the analysis:\n"
              "                 zh_CN (Simplified Chinese) or en; by default the locale's\n"
              "                 (LC_ALL, LC_MESSAGES, LANG, LANGUAGE); it may be given to any\n"
              "                 command; the trace files stay English\n"
              "  -h, --help     this help\n"
              "  -V, --version  version\n"));
}

int main(int argc, char **argv)
{
    /* --lang belongs to every command: chosen, and taken out of argv, before anything is parsed. */
    ss_i18n_setup(ss_i18n_lang_arg(&argc, argv, true));
    if (argc < 2) {
        usage(stderr);
        return SS_DEMO_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return SS_DEMO_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("segscope-demo %s\n", SS_VERSION);
        return SS_DEMO_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(cmd, subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, _("segscope-demo: unknown command '%s' (see segscope-demo --help)\n"), cmd);
    return SS_DEMO_EXIT_USAGE;
}
