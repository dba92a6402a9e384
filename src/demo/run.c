/* run.c - `segscope-demo list`, `run` and `tour`: scenarios captured in a namespace of their own, then analysed. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "segscope/source.h"

#include "run.h"

/*
 * How a run is laid out. The command (the "parent") forks a "runner",
 * which moves into a fresh network namespace, opens a live capture on that
 * namespace's lo, saves it to DIR/SCENARIO.pcap, and forks the demo server
 * and clients (the same code as `segscope-demo server|client`, with the
 * scenario's options). When the clients are done and the server has
 * exited, the runner reads the capture a little longer, so the last ACKs
 * are in, merges the programs' traces into DIR/SCENARIO.trace.jsonl and
 * exits. The parent, which never left the host's namespace, then reads the
 * saved file with segscope's analyzer.
 *
 * Nothing can outlive its parent: every process asks the kernel for SIGKILL
 * when its parent dies (PR_SET_PDEATHSIG), the runner kills what is left
 * after WATCHDOG_MS, and the parent kills the runner if it overstays.
 */
#define WATCHDOG_MS 20000      /* a scenario's programs must be done by then */
#define PARENT_GRACE_MS 10000  /* ... and the runner exited this much later */
#define READY_MS 5000          /* for the server to listen */
#define SERVER_GRACE_MS 5000   /* for the server to exit once the clients have */
#define DRAIN_MS 300           /* capture this long after the last program exited */
#define POLL_MS 20             /* the capture's read timeout: how often the runner looks around */

/* Runner exit statuses besides SS_DEMO_EXIT_OK and SS_DEMO_EXIT_FAIL. */
#define RUNNER_NO_NAMESPACE 3 /* no namespace, or no capture inside it: said why */
#define RUNNER_INTERRUPTED 4

/*
 * Set by SIGINT and SIGTERM; the server and clients poll it through
 * ss_demo_opts_t.stop. A signal handler needs somewhere to write, so this
 * is the file's only mutable state (each process has its own copy).
 */
static volatile sig_atomic_t g_run_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    g_run_stop = 1;
}

static void install_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Dies with its parent: SIGKILL when the parent exits. Returns -1 when the parent is already gone. */
static int die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return getppid() == parent ? 0 : -1;
}

typedef struct {
    const char *out_dir;
    const char *captures_dir; /* tour: the bundled captures to show when nothing can be captured */
    bool analysis; /* print the timeline and tables */
    bool color;
    bool verbose;  /* the programs log every send() and recv() */
} run_cfg_t;

typedef struct {
    int status; /* SS_DEMO_EXIT_*, or 130 when interrupted */
    bool shown; /* the check passed */
    bool no_namespace; /* the runner could make no network namespace (it said why) */
    char msg[512];
} run_result_t;

/* Spaces that pad s to `cols` terminal columns (a CJK character is two). */
static int pad_to(const char *s, int cols)
{
    size_t w = ss_i18n_width(s);
    return w >= (size_t)cols ? 0 : cols - (int)w;
}

/* dir/name, or just name in the current directory. */
static void out_path(char *buf, size_t cap, const char *dir, const char *name, const char *ext)
{
    if (strcmp(dir, ".") == 0)
        snprintf(buf, cap, "%s%s", name, ext);
    else
        snprintf(buf, cap, "%s%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name, ext);
}

/* ------------------------------------------------------------------------ */
/* The runner: inside the namespace.                                        */

typedef struct {
    pid_t pid;
    bool server;
    bool running;
    int status; /* exit status, or 128 + signal */
} proc_t;

typedef struct {
    const ss_demo_scenario_t *sc;
    const run_cfg_t *cfg;
    const char *pcap_path, *trace_path;
    ss_demo_run_env_t env;
    char workdir[256];
    int logfd;
    proc_t procs[1 + SS_DEMO_RUN_MAX_CLIENTS];
    size_t nprocs;
} runner_t;

/*
 * The capture's reader must look around regularly (are the programs done?
 * is the watchdog due?), but with libpcap's immediate mode on Linux a read
 * on an idle interface blocks until a packet comes, whatever the read
 * timeout says. This thread wakes it every POLL_MS with ss_source_break(),
 * which libpcap allows from another thread: the read then returns
 * SS_SOURCE_EOF, and the next read captures on as before.
 */
typedef struct {
    ss_source_t *src;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool quit;
} waker_t;

static void *waker_main(void *arg)
{
    waker_t *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &until);
        if (!w->quit)
            ss_source_break(w->src);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void waker_stop(waker_t *w, pthread_t t)
{
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(t, NULL);
}

static void on_listening(void *arg, const char *addr, uint16_t port)
{
    (void)addr;
    int fd = *(int *)arg;
    ssize_t w = write(fd, &port, sizeof port);
    (void)w;
}

/* Forks one demo program with its options; its output goes to the log. Returns its pid or -1. */
static pid_t spawn(runner_t *r, ss_demo_opts_t *o, int ready_fd)
{
    fflush(stdout);
    fflush(stderr);
    pid_t runner = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (die_with_parent(runner) < 0)
        _exit(SS_DEMO_EXIT_FAIL);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0)
        dup2(devnull, STDIN_FILENO);
    dup2(r->logfd, STDOUT_FILENO);
    dup2(r->logfd, STDERR_FILENO);
    o->stop = &g_run_stop;
    int status;
    if (o->role == SS_DEMO_ROLE_SERVER) {
        o->on_listening = on_listening;
        o->on_listening_arg = &ready_fd;
        status = ss_demo_server_run(o);
    } else {
        status = ss_demo_client_run(o);
    }
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

/* Collects the programs that have exited; with `block`, waits for all of them. */
static void reap(runner_t *r, bool block)
{
    for (size_t i = 0; i < r->nprocs; i++) {
        proc_t *p = &r->procs[i];
        if (!p->running)
            continue;
        int st;
        pid_t w;
        do
            w = waitpid(p->pid, &st, block ? 0 : WNOHANG);
        while (w < 0 && errno == EINTR);
        if (w == p->pid || (w < 0 && errno == ECHILD)) {
            p->running = false;
            p->status = w < 0 ? 128 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
    }
}

static void kill_all(runner_t *r)
{
    for (size_t i = 0; i < r->nprocs; i++)
        if (r->procs[i].running)
            kill(r->procs[i].pid, SIGKILL);
    reap(r, true);
}

static size_t running(const runner_t *r, bool server)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nprocs; i++)
        n += r->procs[i].running && r->procs[i].server == server;
    return n;
}

static void participant_trace(const runner_t *r, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/trace-%zu.jsonl", r->workdir, i);
}

/* Both sides' options: the mode's defaults, the scenario's changes, the runner's fixed settings. */
static void make_opts(runner_t *r, ss_demo_opts_t *srv, ss_demo_opts_t *cl)
{
    ss_demo_opts_init(srv, SS_DEMO_ROLE_SERVER);
    ss_demo_opts_init(cl, SS_DEMO_ROLE_CLIENT);
    srv->port = cl->port = SS_DEMO_RUN_PORT;
    /* Ethernet's MSS, so segments have the sizes they would have on a real network. */
    srv->mss = cl->mss = 1460;
    srv->quiet = cl->quiet = !r->cfg->verbose;
    srv->clients = r->sc->clients;
    r->sc->setup(srv, cl, &r->env);
    ss_demo_opts_finish(srv);
    ss_demo_opts_finish(cl);
}

typedef struct {
    double ts;
    size_t order;
    char *line;
} trace_rec_t;

static int rec_cmp(const void *a, const void *b)
{
    const trace_rec_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Merges the programs' traces into one file in time order; returns the records written, or -1. */
static long merge_traces(runner_t *r)
{
    trace_rec_t *recs = NULL;
    size_t n = 0, cap = 0;
    long rc = -1;
    for (size_t i = 0; i < r->nprocs; i++) {
        char path[512];
        participant_trace(r, i, path, sizeof path);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char *line = NULL;
        size_t lcap = 0;
        ssize_t len;
        while ((len = getline(&line, &lcap, f)) > 0) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 256;
                trace_rec_t *g = realloc(recs, ncap * sizeof *g);
                if (!g) {
                    free(line);
                    fclose(f);
                    goto out;
                }
                recs = g;
                cap = ncap;
            }
            /* Every record starts with {"ts":SECONDS (docs/app-trace.md). */
            recs[n].ts = strncmp(line, "{\"ts\":", 6) == 0 ? strtod(line + 6, NULL) : 0;
            recs[n].order = n;
            recs[n].line = line;
            n++;
            line = NULL;
            lcap = 0;
        }
        free(line);
        fclose(f);
    }
    if (n)
        qsort(recs, n, sizeof *recs, rec_cmp);
    FILE *o = fopen(r->trace_path, "w");
    if (!o) {
        fprintf(stderr, _("segscope-demo: cannot write %s: %s\n"), r->trace_path, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        fputs(recs[i].line, o);
    if (fclose(o) != 0) {
        fprintf(stderr, _("segscope-demo: cannot write %s: %s\n"), r->trace_path, strerror(errno));
        goto out;
    }
    rc = (long)n;
out:
    for (size_t i = 0; i < n; i++)
        free(recs[i].line);
    free(recs);
    return rc;
}

/* Removes the entries of the directory dfd (taken, and closed), subdirectories included. */
static void rm_contents(int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0 || depth >= 8)
            continue;
        /* A directory (the file scenario's received files): empty it first. */
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            rm_contents(sub, depth + 1);
        unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

/* Removes the runner's temporary directory and everything in it. */
static void rm_workdir(const char *path)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0)
        rm_contents(dfd, 0);
    rmdir(path);
}

/* Prints what the programs wrote (their log lines and reports), indented. */
static void print_log(const runner_t *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/programs.log", r->workdir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    printf(_("What the programs said:\n"));
    while (fgets(line, sizeof line, f))
        printf("  %s%s", line, strchr(line, '\n') ? "" : "\n");
    fclose(f);
}

static void print_no_namespace(const char *why)
{
    fprintf(stderr,
            _("segscope-demo: %s.\n"
              "  Each scenario runs in a private network namespace, so that it captures its own\n"
              "  packets only and never touches the host's loopback traffic. Either run it as root\n"
              "  (sudo segscope-demo ...), or let unprivileged users create user namespaces:\n"
              "      sudo sysctl kernel.unprivileged_userns_clone=1            (Debian, older Ubuntu)\n"
              "      sudo sysctl user.max_user_namespaces=15000               (where it is 0)\n"
              "      sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0  (Ubuntu 23.10 and later)\n"),
            why);
}

/* The body of the runner process; returns its exit status. */
static int runner_main(runner_t *r, pid_t parent)
{
    if (die_with_parent(parent) < 0)
        return SS_DEMO_EXIT_FAIL;
    char err[512], why[600];
    if (ss_demo_netns_enter(err, sizeof err) < 0) {
        print_no_namespace(err);
        return RUNNER_NO_NAMESPACE;
    }
    /* Changing credentials (a user namespace) clears the death signal: ask again. */
    if (die_with_parent(parent) < 0)
        return SS_DEMO_EXIT_FAIL;
    if (ss_demo_netns_lo_up(err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo: %s\n"), err);
        return SS_DEMO_EXIT_FAIL;
    }
    bool offload_off = ss_demo_netns_lo_offload_off(err, sizeof err) == 0;
    if (!offload_off)
        printf(_("Note: %s; packets on lo may be larger than the MSS (several segments in one).\n"), err);

    /*
     * libpcap's ring has one slot of the snapshot length per packet: with
     * MSS-sized packets, a small snaplen makes room for thousands of them,
     * so even a runner slowed down (a loaded machine, sanitizers) loses none.
     */
    ss_live_opts_t lo;
    ss_live_opts_init(&lo);
    lo.timeout_ms = POLL_MS;
    lo.buffer_kib = 32768;
    if (offload_off)
        lo.snaplen = 4096;
    ss_source_t *src = NULL;
    char serr[SS_SOURCE_ERRBUF] = "";
    int rc = ss_source_open_live(&src, "lo", &lo, serr);
    if (rc < 0) {
        snprintf(why, sizeof why, _("cannot capture on lo inside the scenario's network namespace (%s)"), serr);
        print_no_namespace(why);
        return RUNNER_NO_NAMESPACE;
    }
    if (ss_source_dump_open(src, r->pcap_path, serr) < 0) {
        fprintf(stderr, _("segscope-demo: %s: %s\n"), r->pcap_path, serr);
        ss_source_close(src);
        return SS_DEMO_EXIT_USAGE;
    }

    int status = SS_DEMO_EXIT_FAIL;
    r->env.workdir = r->workdir;
    char path[512];
    snprintf(path, sizeof path, "%s/programs.log", r->workdir);
    r->logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    int ready[2] = {-1, -1};
    const char *failure = NULL;
    bool interrupted = false;
    if (r->logfd < 0 || pipe(ready) != 0) {
        fprintf(stderr, _("segscope-demo: %s\n"), strerror(errno));
        goto out;
    }
    if (r->sc->prepare && r->sc->prepare(&r->env, err, sizeof err) < 0) {
        fprintf(stderr, _("segscope-demo: %s\n"), err);
        goto out;
    }

    ss_demo_opts_t srv, cl[SS_DEMO_RUN_MAX_CLIENTS];
    char traces[1 + SS_DEMO_RUN_MAX_CLIENTS][512];
    uint64_t frames = 0;
    uint64_t start = ss_demo_now_ms();
    if (r->sc->server) {
        make_opts(r, &srv, &cl[0]);
        participant_trace(r, r->nprocs, traces[r->nprocs], sizeof traces[0]);
        srv.trace_path = traces[r->nprocs];
        pid_t pid = spawn(r, &srv, ready[1]);
        if (pid < 0) {
            failure = _("cannot start the server");
            goto stop;
        }
        r->procs[r->nprocs++] = (proc_t){.pid = pid, .server = true, .running = true};
        /* Wait for "listening" (the port comes through the pipe), or for the server's end. */
        close(ready[1]);
        ready[1] = -1;
        struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
        uint16_t port = 0;
        int pr;
        do
            pr = poll(&pfd, 1, READY_MS);
        while (pr < 0 && errno == EINTR && !g_run_stop);
        if (pr <= 0 || read(ready[0], &port, sizeof port) != (ssize_t)sizeof port) {
            failure = _("the server did not start listening");
            goto stop;
        }
    }
    for (unsigned i = 0; i < r->sc->clients && i < SS_DEMO_RUN_MAX_CLIENTS; i++) {
        make_opts(r, &srv, &cl[i]);
        participant_trace(r, r->nprocs, traces[r->nprocs], sizeof traces[0]);
        cl[i].trace_path = traces[r->nprocs];
        pid_t pid = spawn(r, &cl[i], -1);
        if (pid < 0) {
            failure = _("cannot start a client");
            goto stop;
        }
        r->procs[r->nprocs++] = (proc_t){.pid = pid, .server = false, .running = true};
    }

    /* Capture until the programs are done, then DRAIN_MS more; never past the watchdog. */
    waker_t waker = {.src = src, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    pthread_t waker_thread;
    if (pthread_create(&waker_thread, NULL, waker_main, &waker) != 0) {
        failure = _("cannot start a thread");
        goto stop;
    }
    uint64_t clients_done = 0, all_done = 0;
    for (;;) {
        uint64_t now = ss_demo_now_ms();
        if (g_run_stop) {
            failure = _("interrupted");
            interrupted = true;
            break;
        }
        if (now - start >= WATCHDOG_MS) {
            failure = _("timed out: the programs were still running after 20 s");
            break;
        }
        ss_frame_t fr;
        int n = ss_source_next(src, &fr, serr);
        if (n == SS_SOURCE_FRAME) {
            frames++;
            if (frames % 64)
                continue; /* look around between bursts, not after every packet */
        } else if (n < 0) {
            snprintf(why, sizeof why, _("the capture failed: %s"), serr);
            failure = why;
            break;
        }
        reap(r, false);
        if (running(r, false))
            continue;
        if (!clients_done)
            clients_done = now;
        if (running(r, true)) {
            if (now - clients_done >= SERVER_GRACE_MS) {
                failure = _("the server did not exit after its clients were done");
                break;
            }
            continue;
        }
        if (!all_done)
            all_done = now;
        if (now - all_done >= DRAIN_MS)
            break;
    }
    waker_stop(&waker, waker_thread);
stop:
    kill_all(r);
    if (ss_source_dump_flush(src) < 0 && !failure)
        failure = _("cannot write the capture file");
    ss_source_stats_t st;
    ss_source_stats(src, &st);
    ss_source_close(src);
    src = NULL;
    print_log(r);
    if (st.valid && st.dropped && !failure) {
        snprintf(why, sizeof why, _("the capture lost %llu packets (the kernel's buffer was full)"),
                 (unsigned long long)st.dropped);
        failure = why;
    }
    if (merge_traces(r) < 0 && !failure)
        failure = _("cannot write the trace");
    if (!failure) {
        for (size_t i = 0; i < r->nprocs && !failure; i++) {
            const proc_t *p = &r->procs[i];
            bool want_ok = p->server || !r->sc->client_fails;
            if ((p->status == SS_DEMO_EXIT_OK) != want_ok)
                failure = p->server ? _("the server failed") : want_ok ? _("a client failed") : _("the client did not fail");
        }
    }
    snprintf(path, sizeof path, "%s/failure", r->workdir);
    if (failure) {
        printf(_("Run failed: %s.\n"), failure);
        /* The parent reports it too (the tour's table): it reads the reason from the work directory. */
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(failure, f);
            fclose(f);
        }
        status = interrupted ? RUNNER_INTERRUPTED : SS_DEMO_EXIT_FAIL;
    } else {
        status = SS_DEMO_EXIT_OK;
    }
out:
    if (src)
        ss_source_close(src);
    if (ready[0] >= 0)
        close(ready[0]);
    if (ready[1] >= 0)
        close(ready[1]);
    if (r->logfd >= 0)
        close(r->logfd);
    return status;
}

/* ------------------------------------------------------------------------ */
/* The parent: start the runner, wait, analyse.                             */

static int wait_runner(pid_t pid)
{
    uint64_t deadline = ss_demo_now_ms() + WATCHDOG_MS + PARENT_GRACE_MS;
    bool told = false;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : SS_DEMO_EXIT_FAIL;
        if (w < 0 && errno != EINTR)
            return SS_DEMO_EXIT_FAIL;
        if (g_run_stop && !told) {
            kill(pid, SIGTERM); /* in case the signal came to this process alone */
            told = true;
            deadline = ss_demo_now_ms() + 3000;
        }
        if (ss_demo_now_ms() >= deadline) {
            fprintf(stderr, _("segscope-demo: the scenario's runner did not finish; killing it\n"));
            kill(pid, SIGKILL);
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return SS_DEMO_EXIT_FAIL;
        }
        ss_demo_sleep_ms(20, NULL);
    }
}

static void run_one(const ss_demo_scenario_t *sc, const run_cfg_t *cfg, run_result_t *res)
{
    char pcap[1024], trace[1024];
    out_path(pcap, sizeof pcap, cfg->out_dir, sc->name, ".pcap");
    out_path(trace, sizeof trace, cfg->out_dir, sc->name, ".trace.jsonl");
    memset(res, 0, sizeof *res);
    runner_t r;
    memset(&r, 0, sizeof r);
    r.sc = sc;
    r.cfg = cfg;
    r.pcap_path = pcap;
    r.trace_path = trace;
    r.logfd = -1;
    /* The programs' files live here; made and removed on this side, so a killed runner leaves nothing. */
    const char *tmp = getenv("TMPDIR");
    snprintf(r.workdir, sizeof r.workdir, "%.200s/segscope-demo-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(r.workdir)) {
        snprintf(res->msg, sizeof res->msg, _("cannot create a temporary directory: %s"), strerror(errno));
        res->status = SS_DEMO_EXIT_FAIL;
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(res->msg, sizeof res->msg, _("cannot fork: %s"), strerror(errno));
        res->status = SS_DEMO_EXIT_FAIL;
        rm_workdir(r.workdir);
        return;
    }
    if (pid == 0) {
        int st = runner_main(&r, parent);
        fflush(stdout);
        fflush(stderr);
        _exit(st);
    }
    int st = wait_runner(pid);
    char failure[256] = "";
    char fpath[300];
    snprintf(fpath, sizeof fpath, "%s/failure", r.workdir);
    FILE *ff = fopen(fpath, "r");
    if (ff) {
        if (!fgets(failure, sizeof failure, ff))
            failure[0] = '\0';
        fclose(ff);
    }
    rm_workdir(r.workdir);
    if (st == RUNNER_NO_NAMESPACE) {
        res->status = SS_DEMO_EXIT_USAGE;
        snprintf(res->msg, sizeof res->msg, "%s", _("no network namespace"));
        res->no_namespace = true;
        return;
    }
    if (st == RUNNER_INTERRUPTED || g_run_stop) {
        res->status = 130;
        snprintf(res->msg, sizeof res->msg, "%s", _("interrupted"));
        return;
    }
    if (access(pcap, R_OK) != 0) {
        res->status = st == SS_DEMO_EXIT_USAGE ? SS_DEMO_EXIT_USAGE : SS_DEMO_EXIT_FAIL;
        snprintf(res->msg, sizeof res->msg, "%s", _("no capture was saved"));
        return;
    }
    ss_demo_observed_t ob;
    char err[512];
    ss_demo_analyze_opts_t ao = {.framing = sc->framing, .out = cfg->analysis ? stdout : NULL, .color = cfg->color};
    if (cfg->analysis)
        printf(_("\nsegscope's analysis of %s (--explain --summary --timeline%s%s):\n\n"), pcap,
               sc->framing ? " --framing " : "", sc->framing ? sc->framing : "");
    fflush(stdout);
    if (ss_demo_analyze(pcap, &ao, &ob, err, sizeof err) < 0) {
        res->status = SS_DEMO_EXIT_FAIL;
        snprintf(res->msg, sizeof res->msg, _("cannot analyse the capture: %.400s"), err);
        return;
    }
    bool have_trace = ss_demo_analyze_trace(trace, SS_DEMO_RUN_PORT, &ob) == 0;
    printf(_("%sSaved %s (%llu packets) and %s (%llu trace records).\n"), cfg->analysis ? "\n" : "", pcap,
           (unsigned long long)ob.frames, trace, (unsigned long long)ob.trace_records);
    res->shown = sc->check(&ob, res->msg, sizeof res->msg);
    if (!have_trace && res->shown) {
        res->shown = false;
        snprintf(res->msg, sizeof res->msg, _("the trace %.400s cannot be read"), trace);
    }
    if (res->shown)
        /* TRANSLATORS: a scenario's name and what its capture showed. */
        printf(_("%s: shows %s.\n"), sc->name, res->msg);
    else
        printf(_("%s: does NOT show what it should: %s.\n"), sc->name, res->msg);
    res->status = st == SS_DEMO_EXIT_OK && res->shown ? SS_DEMO_EXIT_OK : SS_DEMO_EXIT_FAIL;
    if (st != SS_DEMO_EXIT_OK) {
        /* What went wrong with the run matters more than what its capture lacks. */
        res->shown = false;
        snprintf(res->msg, sizeof res->msg, _("the run failed: %s"), failure[0] ? failure : _("see above"));
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Arguments.                                                               */

enum { OPT_OUT = 1000, OPT_NO_ANALYSIS, OPT_NO_COLOR, OPT_QUICK, OPT_CAPTURES };

static void run_usage(FILE *f, bool tour)
{
    if (tour)
        fprintf(f,
                _("Usage: segscope-demo tour [--out DIR] [--quick] [options]\n"
                  "\n"
                  "Runs every scenario in turn (segscope-demo list), each as `segscope-demo run`\n"
                  "does, saving DIR/SCENARIO.pcap and DIR/SCENARIO.trace.jsonl for each, and\n"
                  "prints a heading and the analysis of each, then a table of what each showed.\n"));
    else
        fprintf(f,
                _("Usage: segscope-demo run SCENARIO [--out DIR] [options]\n"
                  "\n"
                  "Runs a scenario (segscope-demo list) in a network namespace of its own: a live\n"
                  "capture on its loopback interface, the demo server and client with the\n"
                  "scenario's options, then segscope's analysis of what was captured. Saves\n"
                  "DIR/SCENARIO.pcap and DIR/SCENARIO.trace.jsonl (the programs' send()/recv()\n"
                  "calls, docs/app-trace.md).\n"));
    fputs(_("\n"
            "  --out DIR        where the files go (default: the current directory)\n"),
          f);
    if (tour)
        fputs(_("  --quick          leave out the slow scenarios (keepalive)\n"
                "  --captures DIR   when no namespace can be made, analyse the captures\n"
                "                   bundled in DIR instead (default: ./captures)\n"),
              f);
    fputs(_("  --no-analysis    do not print the timeline and tables (the check still runs)\n"
            "  --no-color       no colours in the analysis\n"
            "  -v, --verbose    the programs log every send() and recv()\n"
            "  --lang LANG      the language of the messages and the analysis: zh_CN\n"
            "                   (Simplified Chinese) or en; by default the locale's\n"
            "  -h, --help       this help\n"
            "\n"),
          f);
    if (tour)
        fputs(_("Needs root, or unprivileged user namespaces (a user namespace of its own is\n"
                "made then). Exit status: 0 the scenarios ran and showed what they should, 1 one\n"
                "did not, 2 usage error or no network namespace could be made.\n"),
              f);
    else
        fputs(_("Needs root, or unprivileged user namespaces (a user namespace of its own is\n"
                "made then). Exit status: 0 the scenario ran and showed what it should, 1 it\n"
                "did not, 2 usage error or no network namespace could be made.\n"),
              f);
}

static int parse_run_args(int argc, char **argv, bool tour, run_cfg_t *cfg, bool *quick, const char **scenario)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"no-analysis", no_argument, NULL, OPT_NO_ANALYSIS},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
        {"quick", no_argument, NULL, OPT_QUICK},
        {"captures", required_argument, NULL, OPT_CAPTURES},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = tour ? "tour" : "run";
    memset(cfg, 0, sizeof *cfg);
    cfg->out_dir = ".";
    cfg->captures_dir = "captures";
    cfg->analysis = true;
    cfg->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        switch (ch) {
        case OPT_OUT: cfg->out_dir = optarg; break;
        case OPT_CAPTURES: cfg->captures_dir = optarg; break;
        case OPT_NO_ANALYSIS: cfg->analysis = false; break;
        case OPT_NO_COLOR: cfg->color = false; break;
        case OPT_QUICK:
            if (!tour) {
                fprintf(stderr, _("segscope-demo run: --quick belongs to tour (see segscope-demo run --help)\n"));
                return -SS_DEMO_EXIT_USAGE;
            }
            *quick = true;
            break;
        case 'v': cfg->verbose = true; break;
        case 'h': run_usage(stdout, tour); return -1;
        case ':':
            fprintf(stderr, _("segscope-demo %s: %s needs a value (see segscope-demo %s --help)\n"), cmd,
                    argv[optind - 1], cmd);
            return -SS_DEMO_EXIT_USAGE;
        default:
            fprintf(stderr, _("segscope-demo %s: unknown option '%s' (see segscope-demo %s --help)\n"), cmd,
                    argv[optind - 1], cmd);
            return -SS_DEMO_EXIT_USAGE;
        }
    }
    if (!tour) {
        if (optind >= argc) {
            fprintf(stderr, _("segscope-demo run: which scenario? (segscope-demo list shows them)\n"));
            return -SS_DEMO_EXIT_USAGE;
        }
        *scenario = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, _("segscope-demo %s: unexpected argument '%s' (see segscope-demo %s --help)\n"), cmd,
                argv[optind], cmd);
        return -SS_DEMO_EXIT_USAGE;
    }
    if (!cfg->out_dir[0]) {
        fprintf(stderr, _("segscope-demo %s: --out needs a directory\n"), cmd);
        return -SS_DEMO_EXIT_USAGE;
    }
    struct stat st;
    if (stat(cfg->out_dir, &st) != 0 && mkdir(cfg->out_dir, 0777) != 0) {
        fprintf(stderr, _("segscope-demo %s: cannot create --out %s: %s\n"), cmd, cfg->out_dir, strerror(errno));
        return -SS_DEMO_EXIT_USAGE;
    }
    if (stat(cfg->out_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(cfg->out_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, _("segscope-demo %s: --out %s is not a directory this user can write to\n"), cmd, cfg->out_dir);
        return -SS_DEMO_EXIT_USAGE;
    }
    return 0;
}

int ss_demo_list_main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf(_("Usage: segscope-demo list\n\nLists the scenarios of segscope-demo run and tour.\n"));
        return SS_DEMO_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, _("segscope-demo list: unexpected argument '%s'\n"), argv[1]);
        return SS_DEMO_EXIT_USAGE;
    }
    for (size_t i = 0; i < ss_demo_nscenarios; i++)
        printf("%-15s %s\n", ss_demo_scenarios[i].name, _(ss_demo_scenarios[i].summary));
    return SS_DEMO_EXIT_OK;
}

int ss_demo_run_main(int argc, char **argv)
{
    run_cfg_t cfg;
    bool quick = false;
    const char *name = NULL;
    int rc = parse_run_args(argc, argv, false, &cfg, &quick, &name);
    if (rc == -1)
        return SS_DEMO_EXIT_OK;
    if (rc < 0)
        return -rc;
    const ss_demo_scenario_t *sc = ss_demo_scenario_find(name);
    if (!sc) {
        fprintf(stderr, _("segscope-demo run: no scenario '%s'; these exist:\n"), name);
        for (size_t i = 0; i < ss_demo_nscenarios; i++)
            fprintf(stderr, "  %-15s %s\n", ss_demo_scenarios[i].name, _(ss_demo_scenarios[i].summary));
        return SS_DEMO_EXIT_USAGE;
    }
    install_stop_signals();
    printf(_("Scenario %s: %s.\n"), sc->name, _(sc->summary));
    run_result_t res;
    run_one(sc, &cfg, &res);
    if (res.status != SS_DEMO_EXIT_OK && res.status != 130 && res.msg[0] &&
        !res.no_namespace)
        fprintf(stderr, _("segscope-demo run %s: %s\n"), sc->name, res.msg);
    return res.status;
}

/*
 * Where live capture is impossible (no root, user namespaces disabled), the
 * tour still shows every phenomenon, from the captures bundled with segscope.
 */
static int tour_bundled(const run_cfg_t *cfg, bool quick)
{
    size_t shown = 0;
    printf(_("\n======== Live capture is not possible here (see above): the tour shows the captures\n"
             "======== recorded by `segscope-demo tour` and bundled in %s/ instead.\n"),
           cfg->captures_dir);
    for (size_t i = 0; i < ss_demo_nscenarios; i++) {
        const ss_demo_scenario_t *sc = &ss_demo_scenarios[i];
        if (quick && sc->slow)
            continue;
        char path[1024], err[256];
        /* hello's demo recording is hello-demo.pcap (hello.pcap is the first exercise's). */
        snprintf(path, sizeof path, "%s/%s-demo.pcap", cfg->captures_dir, sc->name);
        if (access(path, R_OK) != 0)
            snprintf(path, sizeof path, "%s/%s.pcap", cfg->captures_dir, sc->name);
        if (access(path, R_OK) != 0)
            continue;
        printf(_("\n\n======== %s: %s\n======== (bundled capture %s)\n\n"), sc->name, _(sc->summary), path);
        ss_demo_analyze_opts_t ao = {.framing = sc->framing, .out = cfg->analysis ? stdout : NULL, .color = cfg->color};
        ss_demo_observed_t ob;
        if (ss_demo_analyze(path, &ao, &ob, err, sizeof err) < 0)
            printf(_("cannot analyse %s: %s\n"), path, err);
        else
            shown++;
        fflush(stdout);
    }
    if (shown == 0) {
        fprintf(stderr, _("segscope-demo tour: no bundled captures in %s/ either (run it from the source tree, or "
                          "give --captures DIR)\n"), cfg->captures_dir);
        return SS_DEMO_EXIT_USAGE;
    }
    printf(P_("\n%zu bundled capture shown.\n", "\n%zu bundled captures shown.\n", shown), shown);
    return SS_DEMO_EXIT_OK;
}

int ss_demo_tour_main(int argc, char **argv)
{
    run_cfg_t cfg;
    bool quick = false;
    int rc = parse_run_args(argc, argv, true, &cfg, &quick, NULL);
    if (rc == -1)
        return SS_DEMO_EXIT_OK;
    if (rc < 0)
        return -rc;
    install_stop_signals();
    run_result_t *res = calloc(ss_demo_nscenarios, sizeof *res);
    if (!res) {
        fprintf(stderr, _("segscope-demo tour: out of memory\n"));
        return SS_DEMO_EXIT_FAIL;
    }
    size_t total = 0, done = 0;
    for (size_t i = 0; i < ss_demo_nscenarios; i++)
        total += !(quick && ss_demo_scenarios[i].slow);
    int status = SS_DEMO_EXIT_OK;
    size_t k = 0;
    for (size_t i = 0; i < ss_demo_nscenarios; i++) {
        const ss_demo_scenario_t *sc = &ss_demo_scenarios[i];
        if (quick && sc->slow) {
            snprintf(res[i].msg, sizeof res[i].msg, "%s", _("skipped (--quick)"));
            res[i].status = -1;
            continue;
        }
        printf("%s======== %zu/%zu  %s: %s\n\n", k ? "\n\n" : "", k + 1, total, sc->name, _(sc->summary));
        k++;
        run_one(sc, &cfg, &res[i]);
        done++;
        if (res[i].status == SS_DEMO_EXIT_USAGE && done == 1) {
            /* Nothing can be captured here: show the bundled captures instead. */
            free(res);
            return tour_bundled(&cfg, quick);
        }
        if (res[i].status == SS_DEMO_EXIT_USAGE || res[i].status == 130) {
            status = res[i].status;
            break;
        }
        if (res[i].status != SS_DEMO_EXIT_OK)
            status = SS_DEMO_EXIT_FAIL;
    }
    if (status != SS_DEMO_EXIT_USAGE && status != 130) {
        size_t good = 0;
        printf(P_("\n\n======== The tour: %zu scenario, files in %s\n\n",
                  "\n\n======== The tour: %zu scenarios, files in %s\n\n", done),
               done, cfg.out_dir);
        for (size_t i = 0; i < ss_demo_nscenarios; i++) {
            const run_result_t *x = &res[i];
            const char *verdict = x->status < 0 ? _("skipped") : x->status == SS_DEMO_EXIT_OK ? _("ok") : _("FAILED");
            good += x->status == SS_DEMO_EXIT_OK;
            /* The verdict padded to 7 terminal columns, a CJK character counting as two. */
            printf("  %-15s %s%*s %s\n", ss_demo_scenarios[i].name, verdict, pad_to(verdict, 7), "",
                   x->status < 0 ? "" : x->msg);
        }
        printf(_("\n%zu of %zu as expected.\n"), good, done);
    }
    free(res);
    return status;
}
