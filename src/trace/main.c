/* main.c - segscope-trace: run a program with the tracing library preloaded, writing its socket calls' trace. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "segscope/bytes.h"
#include "segscope/version.h"

/* Exit statuses of our own, as timeout(1) and env(1) use them; otherwise the command's own status. */
#define EXIT_USAGE 2        /* bad options */
#define EXIT_SETUP 125      /* no library to preload, or the trace file cannot be created */
#define EXIT_CANNOT_RUN 126 /* the command exists but could not be executed */
#define EXIT_NOT_FOUND 127  /* no such command */

/* Where `make install` puts the library, as an absolute path and relative to the launcher's directory. */
#ifndef SS_TRACE_LIBDIR
#define SS_TRACE_LIBDIR "/usr/local/lib/segscope"
#endif
#ifndef SS_TRACE_REL_LIBDIR
#define SS_TRACE_REL_LIBDIR "../lib/segscope"
#endif

/* How deep #! interpreters may nest, as in the kernel (BINPRM_MAX_RECURSION). */
#define SS_TRACE_MAX_INTERP_DEPTH 4

/* A program header table larger than this is not a real one. */
#define SS_TRACE_MAX_PHDRS_BYTES 65536

static void usage(FILE *o)
{
    fprintf(o,
            "Usage: segscope-trace [-a] [-o FILE] COMMAND [ARGS...]\n"
            "\n"
            "Runs COMMAND with a preloaded library that writes one JSON line per\n"
            "send/recv call it makes on a TCP or UDP socket (send, write, sendto,\n"
            "sendmsg, writev; recv, read, recvfrom, recvmsg, readv): time, pid, fd,\n"
            "local and remote endpoints, the call's byte offset in its stream and\n"
            "its length. Programs COMMAND starts are traced into the same file.\n"
            "COMMAND must be dynamically linked.\n"
            "\n"
            "  -o, --output FILE   write the trace to FILE (default: $" SS_TRACE_ENV_FILE ",\n"
            "                      else " SS_TRACE_DEFAULT_OUTPUT " in the current directory)\n"
            "  -a, --append        append to FILE instead of starting it empty\n"
            "  -h, --help          this help\n"
            "  -V, --version       version\n"
            "\n"
            "The exit status is COMMAND's; 2 for a usage error, 125 when the library\n"
            "or the trace file is unusable, 126 when COMMAND cannot be run, 127 when\n"
            "it is not found.\n");
}

/* Joins dir and name into out; false when it does not fit. */
static bool ss_trace_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

/* The directory holding the running launcher (from /proc/self/exe, else argv[0]); false when unknown. */
static bool ss_trace_self_dir(const char *argv0, char *out, size_t cap)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
    } else if (strchr(argv0, '/') && realpath(argv0, path)) {
        /* realpath filled path */
    } else {
        return false;
    }
    char *slash = strrchr(path, '/');
    if (!slash)
        return false;
    *slash = '\0';
    int len = snprintf(out, cap, "%s", path[0] ? path : "/");
    return len > 0 && (size_t)len < cap;
}

/*
 * Finds the library: beside the launcher (the build tree), then where an
 * installation relative to the launcher puts it, then the configured
 * install directory. On success `out` is its canonical absolute path; else
 * `looked` lists the places tried.
 */
static bool ss_trace_find_lib(const char *argv0, char *out, char *looked, size_t looked_cap)
{
    char self[PATH_MAX], dir[PATH_MAX], cand[PATH_MAX];
    const char *dirs[3];
    size_t ndirs = 0;

    if (ss_trace_self_dir(argv0, self, sizeof self)) {
        dirs[ndirs++] = self;
        if (ss_trace_join(dir, sizeof dir, self, SS_TRACE_REL_LIBDIR))
            dirs[ndirs++] = dir;
    }
    dirs[ndirs++] = SS_TRACE_LIBDIR;

    looked[0] = '\0';
    for (size_t i = 0; i < ndirs; i++) {
        if (!ss_trace_join(cand, sizeof cand, dirs[i], SS_TRACE_LIB_NAME))
            continue;
        if (access(cand, R_OK) == 0 && realpath(cand, out))
            return true;
        size_t used = strlen(looked);
        snprintf(looked + used, looked_cap - used, "%s%s", used ? ", " : "", cand);
    }
    return false;
}

/* Resolves a command name through $PATH the way execvp() will; false when not found. */
static bool ss_trace_which(const char *cmd, char *out, size_t cap)
{
    if (strchr(cmd, '/')) {
        if (strlen(cmd) + 1 > cap)
            return false;
        memcpy(out, cmd, strlen(cmd) + 1);
        return access(out, F_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        /* An empty element means the current directory. */
        int n = snprintf(out, cap, "%.*s%s%s", (int)len, p, len ? "/" : "", cmd);
        struct stat st;
        if (n > 0 && (size_t)n < cap && stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return true;
        if (!end)
            return false;
        p = end + 1;
    }
}

typedef enum {
    SS_TRACE_BIN_DYNAMIC, /* has an ELF interpreter (the dynamic loader), or is the loader */
    SS_TRACE_BIN_STATIC,  /* ELF without an interpreter: LD_PRELOAD cannot reach it */
    SS_TRACE_BIN_UNKNOWN, /* not ELF, unreadable, or malformed: execvp() will tell */
} ss_trace_bin_t;

static bool ss_trace_elf_u16(ss_cursor_t *c, bool be, uint16_t *v)
{
    return be ? ss_cur_u16(c, v) : ss_cur_u16_le(c, v);
}

static bool ss_trace_elf_u32(ss_cursor_t *c, bool be, uint32_t *v)
{
    return be ? ss_cur_u32(c, v) : ss_cur_u32_le(c, v);
}

/* An address-sized field: 4 bytes in ELF32, 8 in ELF64. */
static bool ss_trace_elf_addr(ss_cursor_t *c, bool be, bool is64, uint64_t *v)
{
    uint32_t a, b;
    if (!ss_trace_elf_u32(c, be, &a))
        return false;
    if (!is64) {
        *v = a;
        return true;
    }
    if (!ss_trace_elf_u32(c, be, &b))
        return false;
    *v = be ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
    return true;
}

/*
 * Reads the ELF header at the start of `head` and the program header table
 * from the file: a program with a PT_INTERP entry is started by the dynamic
 * loader, which is what honours LD_PRELOAD; one without is static.
 */
static ss_trace_bin_t ss_trace_elf_kind(int fd, const uint8_t *head, size_t head_len, const char *path)
{
    ss_cursor_t c = ss_cursor(head, head_len);
    uint8_t cls, data;
    uint16_t type, phentsize, phnum;
    uint64_t phoff;

    if (!ss_cur_skip(&c, 4) || !ss_cur_u8(&c, &cls) || !ss_cur_u8(&c, &data))
        return SS_TRACE_BIN_UNKNOWN;
    if ((cls != 1 && cls != 2) || (data != 1 && data != 2))
        return SS_TRACE_BIN_UNKNOWN;
    bool is64 = cls == 2, be = data == 2;
    c.off = 16;
    if (!ss_trace_elf_u16(&c, be, &type))
        return SS_TRACE_BIN_UNKNOWN;
    c.off = is64 ? 32 : 28; /* e_phoff */
    if (!ss_trace_elf_addr(&c, be, is64, &phoff))
        return SS_TRACE_BIN_UNKNOWN;
    c.off = is64 ? 54 : 42; /* e_phentsize, then e_phnum */
    if (!ss_trace_elf_u16(&c, be, &phentsize) || !ss_trace_elf_u16(&c, be, &phnum))
        return SS_TRACE_BIN_UNKNOWN;
    size_t table_len = (size_t)phentsize * phnum;
    if (phentsize < 4 || phnum == 0 || table_len > SS_TRACE_MAX_PHDRS_BYTES || phoff > (uint64_t)LONG_MAX)
        return SS_TRACE_BIN_UNKNOWN;

    uint8_t *table = malloc(table_len);
    if (!table)
        return SS_TRACE_BIN_UNKNOWN;
    ss_trace_bin_t kind = SS_TRACE_BIN_UNKNOWN;
    if (pread(fd, table, table_len, (off_t)phoff) == (ssize_t)table_len) {
        kind = SS_TRACE_BIN_STATIC;
        for (uint16_t i = 0; i < phnum; i++) {
            ss_cursor_t ph = ss_cursor(table + (size_t)i * phentsize, phentsize);
            uint32_t p_type;
            if (ss_trace_elf_u32(&ph, be, &p_type) && p_type == 3 /* PT_INTERP */) {
                kind = SS_TRACE_BIN_DYNAMIC;
                break;
            }
        }
    }
    free(table);

    /*
     * The dynamic loader itself has no interpreter either, and honours
     * LD_PRELOAD when run as a command (ld-linux-x86-64.so.2 ./prog).
     */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (kind == SS_TRACE_BIN_STATIC && type == 3 /* ET_DYN */ && strncmp(base, "ld", 2) == 0 &&
        (base[2] == '-' || base[2] == '.'))
        kind = SS_TRACE_BIN_DYNAMIC;
    return kind;
}

/*
 * Whether the program at `path` can be traced. A #! script is judged by its
 * interpreter; `culprit` receives the path of the static binary found.
 */
static ss_trace_bin_t ss_trace_inspect(const char *path, int depth, char *culprit, size_t culprit_cap)
{
    uint8_t head[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SS_TRACE_BIN_UNKNOWN;
    ssize_t n = pread(fd, head, sizeof head, 0);
    ss_trace_bin_t kind = SS_TRACE_BIN_UNKNOWN;
    if (n >= 4 && memcmp(head, "\177ELF", 4) == 0) {
        kind = ss_trace_elf_kind(fd, head, (size_t)n, path);
        if (kind == SS_TRACE_BIN_STATIC)
            snprintf(culprit, culprit_cap, "%s", path);
    } else if (n > 2 && head[0] == '#' && head[1] == '!' && depth < SS_TRACE_MAX_INTERP_DEPTH) {
        char interp[sizeof head];
        size_t i = 2, j = 0;
        while (i < (size_t)n && (head[i] == ' ' || head[i] == '\t'))
            i++;
        while (i < (size_t)n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && head[i] != '\0')
            interp[j++] = (char)head[i++];
        interp[j] = '\0';
        if (j > 0)
            kind = ss_trace_inspect(interp, depth + 1, culprit, culprit_cap);
    }
    close(fd);
    return kind;
}

/* out = path made absolute against the current directory (the traced program may chdir). */
static bool ss_trace_absolute(const char *path, char *out, size_t cap)
{
    if (path[0] == '/') {
        int n = snprintf(out, cap, "%s", path);
        return n > 0 && (size_t)n < cap;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return false;
    return ss_trace_join(out, cap, strcmp(cwd, "/") == 0 ? "" : cwd, path);
}

/* Whether the colon- or space-separated list `list` already holds `item`. */
static bool ss_trace_list_has(const char *list, const char *item)
{
    size_t len = strlen(item);
    for (const char *p = list; *p;) {
        size_t span = strcspn(p, ": ");
        if (span == len && strncmp(p, item, len) == 0)
            return true;
        p += span;
        if (*p)
            p++;
    }
    return false;
}

/* LD_PRELOAD with the library appended (after what the user preloads already); false on out-of-memory. */
static bool ss_trace_set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    if (!old || !*old)
        return setenv("LD_PRELOAD", lib, 1) == 0;
    if (ss_trace_list_has(old, lib))
        return true;
    size_t len = strlen(old) + 1 + strlen(lib) + 1;
    char *value = malloc(len);
    if (!value)
        return false;
    snprintf(value, len, "%s:%s", old, lib);
    bool ok = setenv("LD_PRELOAD", value, 1) == 0;
    free(value);
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"append", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    bool append = false;
    int opt;

    /* '+': options end at COMMAND, so COMMAND's own options are left to it. */
    while ((opt = getopt_long(argc, argv, "+o:ahV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': output = optarg; break;
        case 'a': append = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("segscope-trace %s\n", SS_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "segscope-trace: no command given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!output || !*output) {
        const char *env = getenv(SS_TRACE_ENV_FILE);
        output = env && *env ? env : SS_TRACE_DEFAULT_OUTPUT;
    }
    char **cmd = argv + optind;

    char lib[PATH_MAX], looked[4 * PATH_MAX];
    if (!ss_trace_find_lib(argv[0], lib, looked, sizeof looked)) {
        fprintf(stderr,
                "segscope-trace: cannot find the tracing library %s (looked for %s); "
                "reinstall segscope or run the launcher from its build directory\n",
                SS_TRACE_LIB_NAME, looked);
        return EXIT_SETUP;
    }
    if (strpbrk(lib, ": \t")) {
        fprintf(stderr,
                "segscope-trace: the library's path %s holds a colon or a space, which LD_PRELOAD cannot express\n",
                lib);
        return EXIT_SETUP;
    }

    /* Before the trace file is touched: a mistyped command should not empty an old trace. */
    char resolved[PATH_MAX], culprit[PATH_MAX];
    if (!ss_trace_which(cmd[0], resolved, sizeof resolved)) {
        fprintf(stderr, "segscope-trace: %s: command not found\n", cmd[0]);
        return EXIT_NOT_FOUND;
    }

    char trace[PATH_MAX];
    if (!ss_trace_absolute(output, trace, sizeof trace)) {
        fprintf(stderr, "segscope-trace: %s: path too long or current directory unknown\n", output);
        return EXIT_SETUP;
    }
    int fd = open(trace, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) {
        fprintf(stderr, "segscope-trace: cannot create %s: %s\n", trace, strerror(errno));
        return EXIT_SETUP;
    }
    close(fd);

    if (ss_trace_inspect(resolved, 0, culprit, sizeof culprit) == SS_TRACE_BIN_STATIC) {
        bool interp = strcmp(culprit, resolved) != 0;
        fprintf(stderr,
                "segscope-trace: warning: %s%s%s%s is statically linked: the preloaded library cannot see its calls, "
                "so %s will hold no records from it (only from dynamically linked programs it starts)\n",
                culprit, interp ? " (the interpreter of " : "", interp ? resolved : "", interp ? ")" : "", trace);
    }

    if (setenv(SS_TRACE_ENV_FILE, trace, 1) != 0 || !ss_trace_set_preload(lib)) {
        fprintf(stderr, "segscope-trace: cannot set the environment: %s\n", strerror(errno));
        return EXIT_SETUP;
    }
    execvp(cmd[0], cmd);
    int err = errno;
    if (err == ENOENT) {
        fprintf(stderr, "segscope-trace: %s: command not found\n", cmd[0]);
        return EXIT_NOT_FOUND;
    }
    fprintf(stderr, "segscope-trace: cannot run %s: %s\n", cmd[0], strerror(err));
    return EXIT_CANNOT_RUN;
}
