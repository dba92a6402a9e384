/* loss.c - --loss P: a classic BPF socket filter that makes the kernel drop a fraction of incoming packets. */
#include <errno.h>
#include <linux/filter.h>

#include "internal.h"

/*
 * How it works. A socket filter runs in the kernel on every packet that is
 * about to be queued to the socket, after the packet has been captured on
 * the interface (so a capture on lo still shows it). Its return value is the
 * number of bytes to keep: 0 drops the packet, anything at least as long as
 * the packet keeps all of it. For TCP the drop happens before the TCP
 * receive code sees the segment, so to TCP it is exactly a segment lost on
 * the wire: the receiver sends duplicate ACKs (with SACK blocks) for what
 * follows, and the sender retransmits, fast or after its timeout.
 *
 * The program is four instructions of classic BPF:
 *
 *     ld  [SKF_AD_OFF + SKF_AD_RANDOM]   A = a fresh 32-bit random number
 *     jge #T, accept, drop               A >= T ?
 *   drop:   ret #0                       drop the packet
 *   accept: ret #0xffffffff              keep the whole packet
 *
 * SKF_AD_RANDOM is one of Linux's "ancillary data" loads: loading at that
 * negative offset yields prandom_u32() instead of packet bytes. The random
 * number is uniform in [0, 2^32), so it is below T = P * 2^32 with
 * probability P. BPF jumps compare unsigned 32-bit values, and jmp K compares
 * with the constant in the instruction itself.
 *
 * Attaching a filter needs no privilege (SO_ATTACH_FILTER only ever
 * restricts what one's own socket receives). A filter on a listening socket
 * is copied to each socket accept() returns, so it applies to the
 * connections too, SYNs and handshake ACKs included.
 */
int ss_demo_attach_loss(int fd, double p)
{
    if (!(p >= 0 && p <= 1)) {
        errno = EINVAL;
        return -1;
    }
    double t = p * 4294967296.0 + 0.5; /* rounded to the nearest integer below */
    struct sock_filter prog[4];
    unsigned short n = 0;
    if (t >= 4294967296.0) {
        /* P = 1 drops everything; T would not fit in 32 bits. */
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
    } else {
        uint32_t threshold = (uint32_t)t;
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, threshold, 1, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
    }
    struct sock_fprog fprog = {.len = n, .filter = prog};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
}
