/* shim.c - a preloaded library that writes one JSON line per send/recv call a program makes on a TCP or UDP socket. */

/*
 * How it works. The dynamic loader resolves a program's calls to send(),
 * recv(), read(), close() ... to the first library that defines them; with
 * LD_PRELOAD that is this one. Each wrapper finds libc's own function with
 * dlsym(RTLD_NEXT, ...), calls it, and, when the call succeeded on an IPv4
 * or IPv6 TCP or UDP socket, appends a record to the trace file:
 *
 *   {"ts":1732190000.123456,"pid":4242,"fd":5,"call":"recv",
 *    "local":"127.0.0.1:9000","remote":"127.0.0.1:51234","offset":10,"len":21}
 *
 * `offset` is where the call's first byte sits in that direction's byte
 * stream of that descriptor (0 = the first payload byte), so a reader can
 * line the calls up against the sequence numbers on the wire: a recv() of
 * 21 bytes at offset 10 covers relative sequence numbers 11..31.
 *
 * What a student would not expect, and what this file is careful about:
 *
 * - It runs inside someone else's program, so it must not change what the
 *   program sees: every wrapper returns exactly what libc returned, errno
 *   included (our own getsockname()/write() calls would otherwise clobber
 *   it), nothing goes to stdout or stderr, and nothing is allocated.
 *
 * - A preloaded library has no context to be handed, so its state is
 *   file-scope: the resolved libc functions, the trace file's descriptor and
 *   a fixed table with one slot per descriptor number (what the descriptor
 *   is, the two stream offsets, its peer). The table is lock-free, with C11
 *   atomics, rather than guarded by a mutex, for two reasons. A signal
 *   handler that calls send() while the interrupted thread holds a mutex in
 *   here would deadlock on it, and a fork() while another thread holds it
 *   would leave the child a mutex that is never unlocked. Atomic loads,
 *   stores and fetch-adds are async-signal-safe and survive fork(), and so
 *   is everything else on the recording path: getsockopt, getsockname,
 *   getpeername, clock_gettime, fstat and write are system calls, and the
 *   line is formatted by hand, without stdio or locale.
 *
 * - Each record is a single write() to a file opened with O_APPEND, so the
 *   lines of threads, forked children and other traced programs appending
 *   to the same file never interleave inside a line.
 *
 * - The program owns the descriptor numbers. The trace file's descriptor is
 *   moved high (to three quarters of the descriptor limit, 768 at most)
 *   so the program's own sockets keep the numbers they would have had, and
 *   it is checked (device and inode) before each write, because a program
 *   may close every descriptor it does not know, or dup2() over it; then the
 *   file is opened again rather than the record written to a stranger.
 *
 * - Whether a descriptor is a TCP or UDP socket is asked once and cached
 *   (getsockopt SO_DOMAIN/SO_TYPE/SO_PROTOCOL). The cache and the offsets
 *   are reset whenever a descriptor number can change meaning through a call
 *   seen here: close, socket, accept, accept4, connect, dup, dup2, dup3. A
 *   descriptor closed inside libc (fclose) and reused by open() is caught by
 *   getsockname() failing with ENOTSOCK.
 *
 * Limits: descriptors numbered SS_TRACE_MAX_FDS or above are not traced;
 * calls that do not go through the dynamic symbol table (a statically
 * linked program, raw syscall(), io_uring) are invisible; sendfile(),
 * splice(), sendmmsg() and recvmmsg() are not wrapped; a recv with MSG_PEEK
 * moves no bytes and is not recorded. When two threads use one socket at
 * once, offsets follow the order in which the calls returned.
 */

#undef _FORTIFY_SOURCE /* the fortified inline read()/recv() would clash with the definitions below */
#define _GNU_SOURCE    /* RTLD_NEXT, accept4, dup3 */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SS_TRACE_EXPORT __attribute__((visibility("default")))

/*
 * With _GNU_SOURCE, glibc declares the address parameter of accept(),
 * recvfrom(), connect() and sendto() as a transparent union so that C
 * callers may pass any sockaddr_* pointer; the definitions below must use
 * the same type, and read the plain pointer out of it.
 */
#if defined(__GLIBC__) && defined(__USE_GNU) && !defined(__cplusplus)
#define SS_TRACE_SA(a) ((a).__sockaddr__)
#else
#define SS_TRACE_SA(a) (a)
#endif

/* One slot per descriptor number: 48 bytes each, 3 MiB of zero pages, touched only for descriptors in use. */
#define SS_TRACE_MAX_FDS 65536

/* Highest descriptor number the trace file is moved to (see ss_trace_move_high). */
#define SS_TRACE_HIGH_FD_CAP 1024

enum { SS_TRACE_DIR_SEND = 0, SS_TRACE_DIR_RECV = 1 };

enum {
    SS_TRACE_KIND_UNKNOWN = 0, /* not asked yet (zero, so the table starts in this state) */
    SS_TRACE_KIND_OTHER,       /* file, pipe, terminal, Unix socket, raw socket, SCTP ... */
    SS_TRACE_KIND_TCP,
    SS_TRACE_KIND_UDP,
};

/*
 * The peer's address as last seen by getpeername(). A TCP socket that has
 * been reset, or has finished closing (the EOF recv after both FINs), no
 * longer has a peer as far as getpeername() is concerned, yet its last
 * records must still say which connection they belong to. `meta` is written
 * last, so a reader that sees it set sees the address words too.
 */
typedef struct ss_trace_peer {
    atomic_uint_least64_t meta;    /* 0 = none, else SS_TRACE_PEER_SET | family << 16 | port (host order) */
    atomic_uint_least64_t addr[2]; /* the 4 or 16 address bytes */
} ss_trace_peer_t;

#define SS_TRACE_PEER_SET ((uint64_t)1 << 63)

typedef struct ss_trace_slot {
    atomic_uint_least64_t off[2]; /* bytes moved so far, per direction */
    ss_trace_peer_t peer;         /* last known peer, a fallback for when getpeername() fails */
    atomic_uchar kind;            /* SS_TRACE_KIND_* */
} ss_trace_slot_t;

static ss_trace_slot_t g_slots[SS_TRACE_MAX_FDS];

/* libc's functions, found once by ss_trace_init(); NULL when libc lacks one. */
static struct {
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*read_chk)(int, void *, size_t, size_t);
    ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
    ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
    int (*close)(int);
    int (*socket)(int, int, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
} g_real;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_enabled;          /* written once under g_once */
static char g_out_path[4096];   /* copy of $SEGSCOPE_TRACE_FILE: the program may change its environment */
static atomic_int g_out_fd = -1;
static atomic_ullong g_out_dev; /* identity of the file g_out_fd should refer to */
static atomic_ullong g_out_ino;
static atomic_bool g_out_failed; /* the file could not be opened: stop trying */

/* The fortified entry points glibc's headers route read()/recv() to; declared here as libc does. */
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen);

static void ss_trace_resolve(const char *name, void *slot, size_t size)
{
    void *sym = dlsym(RTLD_NEXT, name);
    /* POSIX guarantees a data pointer can hold a function pointer; copy it without a cast ISO C frowns on. */
    memcpy(slot, &sym, size);
}

#define SS_TRACE_RESOLVE(field, name) ss_trace_resolve(name, (void *)&g_real.field, sizeof g_real.field)

static void ss_trace_init_once(void)
{
    _Static_assert(sizeof g_real.send == sizeof(void *), "function and data pointers differ in size");
    SS_TRACE_RESOLVE(send, "send");
    SS_TRACE_RESOLVE(recv, "recv");
    SS_TRACE_RESOLVE(sendto, "sendto");
    SS_TRACE_RESOLVE(recvfrom, "recvfrom");
    SS_TRACE_RESOLVE(sendmsg, "sendmsg");
    SS_TRACE_RESOLVE(recvmsg, "recvmsg");
    SS_TRACE_RESOLVE(read, "read");
    SS_TRACE_RESOLVE(write, "write");
    SS_TRACE_RESOLVE(readv, "readv");
    SS_TRACE_RESOLVE(writev, "writev");
    SS_TRACE_RESOLVE(read_chk, "__read_chk");
    SS_TRACE_RESOLVE(recv_chk, "__recv_chk");
    SS_TRACE_RESOLVE(recvfrom_chk, "__recvfrom_chk");
    SS_TRACE_RESOLVE(close, "close");
    SS_TRACE_RESOLVE(socket, "socket");
    SS_TRACE_RESOLVE(connect, "connect");
    SS_TRACE_RESOLVE(accept, "accept");
    SS_TRACE_RESOLVE(accept4, "accept4");
    SS_TRACE_RESOLVE(dup, "dup");
    SS_TRACE_RESOLVE(dup2, "dup2");
    SS_TRACE_RESOLVE(dup3, "dup3");

    const char *path = getenv(SS_TRACE_ENV_FILE);
    size_t n = path ? strlen(path) : 0;
    if (n > 0 && n < sizeof g_out_path && g_real.write && g_real.close) {
        memcpy(g_out_path, path, n + 1);
        g_enabled = true;
    }
}

/*
 * Every wrapper starts here: the first call (or the constructor below,
 * which runs before main) resolves libc's functions, later calls only test
 * pthread_once's done flag.
 */
static void ss_trace_init(void)
{
    pthread_once(&g_once, ss_trace_init_once);
}

__attribute__((constructor)) static void ss_trace_load(void)
{
    int saved = errno;
    ss_trace_init();
    errno = saved;
}

/* --- the descriptor table ------------------------------------------------ */

/* The descriptor number now names something new: forget what it was and how far its streams got. */
static void ss_trace_forget(int fd)
{
    if (fd < 0 || fd >= SS_TRACE_MAX_FDS)
        return;
    ss_trace_slot_t *s = &g_slots[fd];
    atomic_store(&s->kind, (unsigned char)SS_TRACE_KIND_UNKNOWN);
    atomic_store(&s->off[SS_TRACE_DIR_SEND], 0);
    atomic_store(&s->off[SS_TRACE_DIR_RECV], 0);
    atomic_store(&s->peer.meta, 0);
}

/* Remembers a connected socket's peer (once: it does not change until the number is forgotten). */
static void ss_trace_peer_save(ss_trace_peer_t *p, const struct sockaddr_storage *ss)
{
    uint64_t words[2] = {0, 0};
    uint16_t port;
    if (atomic_load_explicit(&p->meta, memory_order_relaxed) != 0)
        return;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        memcpy(words, &sin->sin_addr, sizeof sin->sin_addr);
        port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        memcpy(words, &sin6->sin6_addr, sizeof sin6->sin6_addr);
        port = ntohs(sin6->sin6_port);
    } else {
        return;
    }
    atomic_store_explicit(&p->addr[0], words[0], memory_order_relaxed);
    atomic_store_explicit(&p->addr[1], words[1], memory_order_relaxed);
    atomic_store_explicit(&p->meta, SS_TRACE_PEER_SET | (uint64_t)ss->ss_family << 16 | port, memory_order_release);
}

/* The remembered peer as a socket address; its length, or 0 when none is remembered. */
static socklen_t ss_trace_peer_load(ss_trace_peer_t *p, struct sockaddr_storage *ss)
{
    uint64_t meta = atomic_load_explicit(&p->meta, memory_order_acquire);
    if (!(meta & SS_TRACE_PEER_SET))
        return 0;
    uint64_t words[2] = {atomic_load_explicit(&p->addr[0], memory_order_relaxed),
                         atomic_load_explicit(&p->addr[1], memory_order_relaxed)};
    sa_family_t family = (sa_family_t)(meta >> 16 & 0xffff);
    uint16_t port = htons((uint16_t)(meta & 0xffff));
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = port;
        memcpy(&sin->sin_addr, words, sizeof sin->sin_addr);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = port;
    memcpy(&sin6->sin6_addr, words, sizeof sin6->sin6_addr);
    return sizeof *sin6;
}

static unsigned char ss_trace_classify(int fd)
{
    int domain = 0, type = 0, proto = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
        return errno == EBADF ? SS_TRACE_KIND_UNKNOWN : SS_TRACE_KIND_OTHER; /* ENOTSOCK: a file, a pipe ... */
    if (domain != AF_INET && domain != AF_INET6)
        return SS_TRACE_KIND_OTHER;
    len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return SS_TRACE_KIND_OTHER;
    len = sizeof proto;
    if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0)
        return SS_TRACE_KIND_OTHER;
    if (type == SOCK_STREAM && proto == IPPROTO_TCP)
        return SS_TRACE_KIND_TCP;
    if (type == SOCK_DGRAM && proto == IPPROTO_UDP)
        return SS_TRACE_KIND_UDP;
    return SS_TRACE_KIND_OTHER;
}

/* What fd is (SS_TRACE_KIND_*), asking the kernel only the first time; errno is left as it was. */
static unsigned char ss_trace_kind(int fd)
{
    if (!g_enabled || fd < 0 || fd >= SS_TRACE_MAX_FDS)
        return SS_TRACE_KIND_OTHER;
    unsigned char kind = atomic_load_explicit(&g_slots[fd].kind, memory_order_relaxed);
    if (kind != SS_TRACE_KIND_UNKNOWN)
        return kind;
    int saved = errno;
    kind = ss_trace_classify(fd);
    errno = saved;
    if (kind != SS_TRACE_KIND_UNKNOWN) /* EBADF: nothing to remember about a closed number */
        atomic_store_explicit(&g_slots[fd].kind, kind, memory_order_relaxed);
    return kind;
}

/* --- the trace file ------------------------------------------------------ */

/*
 * Moves a fresh descriptor to a high number, so the program's next socket
 * gets the number it would have had without us. Keeps the old number when
 * the limit is small or nothing high is free.
 */
static int ss_trace_move_high(int fd)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return fd;
    rlim_t top = rl.rlim_cur;
    if (top == RLIM_INFINITY || top > SS_TRACE_HIGH_FD_CAP)
        top = SS_TRACE_HIGH_FD_CAP;
    if (top < 64)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - top / 4));
    if (high < 0)
        return fd;
    g_real.close(fd);
    return high;
}

static int ss_trace_open_out(void)
{
    int fd = open(g_out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -1;
    fd = ss_trace_move_high(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        g_real.close(fd);
        return -1;
    }
    atomic_store(&g_out_dev, (unsigned long long)st.st_dev);
    atomic_store(&g_out_ino, (unsigned long long)st.st_ino);
    return fd;
}

/* The trace file's descriptor, opened on first use and again if the program closed or replaced it; -1 if unusable. */
static int ss_trace_out_fd(void)
{
    int fd = atomic_load(&g_out_fd);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && (unsigned long long)st.st_dev == atomic_load(&g_out_dev) &&
            (unsigned long long)st.st_ino == atomic_load(&g_out_ino))
            return fd;
        /* Closed by the program, or its number now names one of the program's files: never write there. */
    }
    if (atomic_load(&g_out_failed))
        return -1;
    int fresh = ss_trace_open_out();
    if (fresh < 0) {
        atomic_store(&g_out_failed, true);
        return -1;
    }
    if (atomic_compare_exchange_strong(&g_out_fd, &fd, fresh))
        return fresh;
    g_real.close(fresh); /* another thread reopened it first; `fd` now holds its descriptor */
    return fd;
}

/* --- formatting a record, by hand (no stdio, no locale, no allocation) ----- */

typedef struct ss_trace_line {
    char buf[512]; /* the longest record, with two bracketed IPv6 endpoints, is under 300 bytes */
    size_t len;
} ss_trace_line_t;

static void ss_trace_put(ss_trace_line_t *l, const char *s)
{
    while (*s && l->len < sizeof l->buf)
        l->buf[l->len++] = *s++;
}

/* Decimal, at least `width` digits (zero-padded). */
static void ss_trace_put_u64(ss_trace_line_t *l, uint64_t v, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 || n < width);
    while (n > 0 && l->len < sizeof l->buf)
        l->buf[l->len++] = digits[--n];
}

/*
 * "addr:port" for IPv4, "[addr]:port" for IPv6, or null when the address is
 * unknown. An IPv4-mapped IPv6 address (a dual-stack socket talking to an
 * IPv4 peer) is written as the IPv4 address, the way it appears on the wire.
 */
static void ss_trace_put_endpoint(ss_trace_line_t *l, const struct sockaddr_storage *ss, socklen_t len)
{
    char text[INET6_ADDRSTRLEN];
    uint16_t port;
    bool bracket = false;

    if (ss->ss_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        if (!inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text))
            goto unknown;
        port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            struct in_addr v4;
            memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof v4);
            if (!inet_ntop(AF_INET, &v4, text, sizeof text))
                goto unknown;
        } else {
            if (!inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text))
                goto unknown;
            bracket = true;
        }
        port = ntohs(sin6->sin6_port);
    } else {
        goto unknown;
    }
    ss_trace_put(l, bracket ? "\"[" : "\"");
    ss_trace_put(l, text);
    ss_trace_put(l, bracket ? "]:" : ":");
    ss_trace_put_u64(l, port, 1);
    ss_trace_put(l, "\"");
    return;
unknown:
    ss_trace_put(l, "null");
}

/*
 * Writes the record of a call that moved `len` bytes on a TCP or UDP socket.
 * `peer` is the address the call itself named (sendto's destination,
 * recvfrom's source), used when the socket has no fixed peer.
 */
static void ss_trace_emit(int fd, int dir, uint64_t len, const struct sockaddr *peer, socklen_t peerlen,
                          const struct timespec *now)
{
    struct sockaddr_storage local, remote;
    socklen_t local_len = sizeof local, remote_len = sizeof remote;

    if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
        if (errno == ENOTSOCK || errno == EBADF) {
            ss_trace_forget(fd); /* the number was reused behind our back (closed inside libc) */
            return;
        }
        local_len = 0;
    }
    if (getpeername(fd, (struct sockaddr *)&remote, &remote_len) == 0) {
        ss_trace_peer_save(&g_slots[fd].peer, &remote);
    } else if (peer && peerlen > 0) {
        /* Unconnected UDP: the address the call itself named. */
        remote_len = peerlen < (socklen_t)sizeof remote ? peerlen : (socklen_t)sizeof remote;
        memcpy(&remote, peer, remote_len);
    } else {
        /* TCP after a reset or a completed close: the peer it had. */
        remote_len = ss_trace_peer_load(&g_slots[fd].peer, &remote);
    }
    if (local_len == 0)
        local.ss_family = AF_UNSPEC;
    if (remote_len == 0)
        remote.ss_family = AF_UNSPEC;

    uint64_t offset = atomic_fetch_add_explicit(&g_slots[fd].off[dir], len, memory_order_relaxed);

    ss_trace_line_t l;
    l.len = 0;
    ss_trace_put(&l, "{\"ts\":");
    ss_trace_put_u64(&l, (uint64_t)now->tv_sec, 1);
    ss_trace_put(&l, ".");
    ss_trace_put_u64(&l, (uint64_t)now->tv_nsec / 1000, 6);
    ss_trace_put(&l, ",\"pid\":");
    ss_trace_put_u64(&l, (uint64_t)getpid(), 1);
    ss_trace_put(&l, ",\"fd\":");
    ss_trace_put_u64(&l, (uint64_t)fd, 1);
    ss_trace_put(&l, dir == SS_TRACE_DIR_SEND ? ",\"call\":\"send\",\"local\":" : ",\"call\":\"recv\",\"local\":");
    ss_trace_put_endpoint(&l, &local, local_len);
    ss_trace_put(&l, ",\"remote\":");
    ss_trace_put_endpoint(&l, &remote, remote_len);
    ss_trace_put(&l, ",\"offset\":");
    ss_trace_put_u64(&l, offset, 1);
    ss_trace_put(&l, ",\"len\":");
    ss_trace_put_u64(&l, len, 1);
    ss_trace_put(&l, "}\n");
    if (l.len == sizeof l.buf)
        return; /* cannot happen with the fields above; a cut line would be worse than none */

    int out = ss_trace_out_fd();
    if (out < 0)
        return;
    ssize_t w;
    do
        w = g_real.write(out, l.buf, l.len);
    while (w < 0 && errno == EINTR);
}

/*
 * Called after every data call; records the successful ones. A receive of 0
 * bytes is recorded (EOF on TCP, an empty datagram on UDP), and so is an
 * empty datagram sent; a TCP send of 0 bytes moved nothing and is not.
 * Leaves errno as the call left it.
 */
static void ss_trace_record(int fd, int dir, ssize_t n, const struct sockaddr *peer, socklen_t peerlen)
{
    if (!g_enabled || n < 0)
        return;
    int saved = errno;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned char kind = ss_trace_kind(fd);
    if (kind == SS_TRACE_KIND_UDP || (kind == SS_TRACE_KIND_TCP && (n > 0 || dir == SS_TRACE_DIR_RECV)))
        ss_trace_emit(fd, dir, (uint64_t)n, peer, peerlen, &now);
    errno = saved;
}

/* --- the wrappers ---------------------------------------------------------- */

#define SS_TRACE_NEED(f)             \
    do {                             \
        ss_trace_init();             \
        if (!g_real.f) {             \
            errno = ENOSYS;          \
            return -1;               \
        }                            \
    } while (0)

/*
 * A recv on an unconnected UDP socket does not say who sent the datagram,
 * but the record should; recv(fd, b, n, f) is recvfrom(fd, b, n, f, NULL,
 * NULL) by definition, so on UDP it is made as a recvfrom with an address
 * buffer of our own, which the kernel fills and the program never sees.
 */
static ssize_t ss_trace_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
                                 socklen_t *addrlen)
{
    struct sockaddr_storage own;
    socklen_t own_len = sizeof own;
    if (!addr && ss_trace_kind(fd) == SS_TRACE_KIND_UDP) {
        addr = (struct sockaddr *)&own;
        addrlen = &own_len;
    }
    socklen_t cap = addr && addrlen ? *addrlen : 0;
    ssize_t n = g_real.recvfrom(fd, buf, len, flags, addr, addrlen);
    /* The kernel reports the address's full length even when it had to cut it to fit. */
    if (!(flags & MSG_PEEK))
        ss_trace_record(fd, SS_TRACE_DIR_RECV, n, addr, cap && *addrlen < cap ? *addrlen : cap);
    return n;
}

static ssize_t ss_trace_recv(int fd, void *buf, size_t len, int flags)
{
    if (g_real.recvfrom && ss_trace_kind(fd) == SS_TRACE_KIND_UDP)
        return ss_trace_recvfrom(fd, buf, len, flags, NULL, NULL);
    ssize_t n = g_real.recv(fd, buf, len, flags);
    if (!(flags & MSG_PEEK))
        ss_trace_record(fd, SS_TRACE_DIR_RECV, n, NULL, 0);
    return n;
}

static ssize_t ss_trace_read(int fd, void *buf, size_t len)
{
    ssize_t n = g_real.read(fd, buf, len);
    ss_trace_record(fd, SS_TRACE_DIR_RECV, n, NULL, 0);
    return n;
}

SS_TRACE_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    SS_TRACE_NEED(send);
    ssize_t n = g_real.send(fd, buf, len, flags);
    ss_trace_record(fd, SS_TRACE_DIR_SEND, n, NULL, 0);
    return n;
}

SS_TRACE_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG addr,
                               socklen_t addrlen)
{
    SS_TRACE_NEED(sendto);
    const struct sockaddr *to = SS_TRACE_SA(addr);
    ssize_t n = g_real.sendto(fd, buf, len, flags, to, addrlen);
    ss_trace_record(fd, SS_TRACE_DIR_SEND, n, to, to ? addrlen : 0);
    return n;
}

SS_TRACE_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    SS_TRACE_NEED(sendmsg);
    ssize_t n = g_real.sendmsg(fd, msg, flags);
    if (n >= 0)
        ss_trace_record(fd, SS_TRACE_DIR_SEND, n, msg->msg_name, msg->msg_name ? msg->msg_namelen : 0);
    return n;
}

SS_TRACE_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    SS_TRACE_NEED(write);
    ssize_t n = g_real.write(fd, buf, len);
    ss_trace_record(fd, SS_TRACE_DIR_SEND, n, NULL, 0);
    return n;
}

SS_TRACE_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    SS_TRACE_NEED(writev);
    ssize_t n = g_real.writev(fd, iov, iovcnt);
    ss_trace_record(fd, SS_TRACE_DIR_SEND, n, NULL, 0);
    return n;
}

SS_TRACE_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    SS_TRACE_NEED(recv);
    return ss_trace_recv(fd, buf, len, flags);
}

SS_TRACE_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG addr,
                                 socklen_t *addrlen)
{
    SS_TRACE_NEED(recvfrom);
    return ss_trace_recvfrom(fd, buf, len, flags, SS_TRACE_SA(addr), addrlen);
}

/*
 * As with recv: on UDP without a name buffer, the call is made on a copy of
 * the header that has one, and what the kernel writes back into a header
 * besides the name (control length and flags) is copied to the caller's.
 */
SS_TRACE_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    SS_TRACE_NEED(recvmsg);
    struct sockaddr_storage own;
    ssize_t n;
    const struct sockaddr *from;
    socklen_t from_len;
    if (msg && !msg->msg_name && ss_trace_kind(fd) == SS_TRACE_KIND_UDP) {
        struct msghdr copy = *msg;
        copy.msg_name = &own;
        copy.msg_namelen = sizeof own;
        n = g_real.recvmsg(fd, &copy, flags);
        if (n >= 0) {
            msg->msg_controllen = copy.msg_controllen;
            msg->msg_flags = copy.msg_flags;
        }
        from = (const struct sockaddr *)&own;
        from_len = copy.msg_namelen;
    } else {
        socklen_t cap = msg && msg->msg_name ? msg->msg_namelen : 0;
        n = g_real.recvmsg(fd, msg, flags);
        from = cap ? msg->msg_name : NULL;
        from_len = cap && msg->msg_namelen < cap ? msg->msg_namelen : cap;
    }
    if (!(flags & MSG_PEEK))
        ss_trace_record(fd, SS_TRACE_DIR_RECV, n, from, from_len);
    return n;
}

SS_TRACE_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    SS_TRACE_NEED(read);
    return ss_trace_read(fd, buf, len);
}

SS_TRACE_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    SS_TRACE_NEED(readv);
    ssize_t n = g_real.readv(fd, iov, iovcnt);
    ss_trace_record(fd, SS_TRACE_DIR_RECV, n, NULL, 0);
    return n;
}

/*
 * Programs built with _FORTIFY_SOURCE call these instead of read(), recv()
 * and recvfrom() when the buffer's size is known at compile time; inside
 * libc they call the plain functions directly, past this library. The size
 * check stays libc's: on overflow its own __*_chk aborts the program.
 */
SS_TRACE_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
    SS_TRACE_NEED(read);
    if (nbytes > buflen && g_real.read_chk)
        return g_real.read_chk(fd, buf, nbytes, buflen);
    return ss_trace_read(fd, buf, nbytes);
}

SS_TRACE_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    SS_TRACE_NEED(recv);
    if (n > buflen && g_real.recv_chk)
        return g_real.recv_chk(fd, buf, n, buflen, flags);
    return ss_trace_recv(fd, buf, n, flags);
}

SS_TRACE_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                       struct sockaddr *addr, socklen_t *addrlen)
{
    SS_TRACE_NEED(recvfrom);
    if (n > buflen && g_real.recvfrom_chk)
        return g_real.recvfrom_chk(fd, buf, n, buflen, flags, addr, addrlen);
    return ss_trace_recvfrom(fd, buf, n, flags, addr, addrlen);
}

/* --- calls that give a descriptor number a new meaning ----------------------- */

SS_TRACE_EXPORT int close(int fd)
{
    SS_TRACE_NEED(close);
    /* Before the close: once it returns, another thread may already be given this number. */
    ss_trace_forget(fd);
    return g_real.close(fd);
}

SS_TRACE_EXPORT int socket(int domain, int type, int protocol)
{
    SS_TRACE_NEED(socket);
    int fd = g_real.socket(domain, type, protocol);
    ss_trace_forget(fd);
    return fd;
}

SS_TRACE_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *addrlen)
{
    SS_TRACE_NEED(accept);
    int conn = g_real.accept(fd, SS_TRACE_SA(addr), addrlen);
    ss_trace_forget(conn);
    return conn;
}

SS_TRACE_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *addrlen, int flags)
{
    SS_TRACE_NEED(accept4);
    int conn = g_real.accept4(fd, SS_TRACE_SA(addr), addrlen, flags);
    ss_trace_forget(conn);
    return conn;
}

/*
 * A connect starts new streams (a UDP socket may be connected to one peer
 * after another). A failed one changes nothing, except a non-blocking
 * connect, which is under way when it returns EINPROGRESS.
 */
SS_TRACE_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
    SS_TRACE_NEED(connect);
    int rc = g_real.connect(fd, SS_TRACE_SA(addr), addrlen);
    if (rc == 0 || errno == EINPROGRESS)
        ss_trace_forget(fd);
    return rc;
}

SS_TRACE_EXPORT int dup(int oldfd)
{
    SS_TRACE_NEED(dup);
    int fd = g_real.dup(oldfd);
    ss_trace_forget(fd);
    return fd;
}

SS_TRACE_EXPORT int dup2(int oldfd, int newfd)
{
    SS_TRACE_NEED(dup2);
    int fd = g_real.dup2(oldfd, newfd);
    if (fd >= 0 && oldfd != newfd)
        ss_trace_forget(fd);
    return fd;
}

SS_TRACE_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    SS_TRACE_NEED(dup3);
    int fd = g_real.dup3(oldfd, newfd, flags);
    ss_trace_forget(fd);
    return fd;
}
