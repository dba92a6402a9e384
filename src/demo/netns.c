/* netns.c - a private network namespace for a scenario: unshare, loopback up, segmentation offloads off. */
#define _GNU_SOURCE /* unshare() and the CLONE_* flags */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

/* Writes text to a /proc file in one write(); returns 0 or -1 with errno. */
static int write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

int ss_demo_netns_enter(char *err, size_t errlen)
{
    /*
     * A network namespace has its own interfaces, addresses, ports and
     * routes, and starts with nothing but a loopback interface that is down.
     * Traffic inside it never reaches the host's lo, and the host's never
     * reaches it: a capture there holds the scenario's packets and nothing
     * else, and a fixed port cannot collide with anything.
     */
    if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0)
        return 0;
    /*
     * Without CAP_SYS_ADMIN, the same is possible inside a new user
     * namespace: its creator holds every capability there, and a network
     * namespace created together with it belongs to it. Before the process
     * may act as anyone inside, its own ids must be mapped: one line "ID
     * ID 1" each, the gid only after setgroups is denied (an unprivileged
     * process may not map groups it could then drop).
     */
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
        int e = errno;
        snprintf(err, errlen, _("cannot create a network namespace of its own (unshare: %s%s)"), strerror(e),
                 e == EPERM    ? _(": unprivileged user namespaces are disabled")
                 : e == ENOSPC ? _(": the user.max_user_namespaces limit is 0 or reached")
                               : "");
        errno = e;
        return -1;
    }
    char map[64];
    if (write_proc("/proc/self/setgroups", "deny") != 0 && errno != ENOENT) {
        snprintf(err, errlen, _("cannot write /proc/self/setgroups: %s"), strerror(errno));
        return -1;
    }
    snprintf(map, sizeof map, "%lu %lu 1\n", (unsigned long)uid, (unsigned long)uid);
    if (write_proc("/proc/self/uid_map", map) != 0) {
        snprintf(err, errlen, _("cannot write /proc/self/uid_map: %s"), strerror(errno));
        return -1;
    }
    snprintf(map, sizeof map, "%lu %lu 1\n", (unsigned long)gid, (unsigned long)gid);
    if (write_proc("/proc/self/gid_map", map) != 0) {
        snprintf(err, errlen, _("cannot write /proc/self/gid_map: %s"), strerror(errno));
        return -1;
    }
    return 0;
}

int ss_demo_netns_lo_up(char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, _("socket() failed: %s"), strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        /* Up, the kernel gives lo its addresses itself: 127.0.0.1/8 and ::1. */
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (rc != 0)
        snprintf(err, errlen, _("cannot bring lo up: %s"), strerror(errno));
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* One ethtool "set" command with a value on lo; 0 or -1 with errno. */
static int ethtool_set(int fd, uint32_t cmd, uint32_t value)
{
    struct ethtool_value ev = {.cmd = cmd, .data = value};
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    ifr.ifr_data = (char *)&ev;
    return ioctl(fd, SIOCETHTOOL, &ifr);
}

int ss_demo_netns_lo_offload_off(char *err, size_t errlen)
{
    /*
     * Loopback announces TSO and GSO: TCP hands it one buffer of up to 64 KiB
     * and lets "the hardware" cut it into MSS-sized segments. On lo nothing
     * ever cuts it, so a capture shows one giant packet where a real network
     * would carry dozens. With both offloads off, TCP builds every segment
     * itself, and the capture shows them as they would be on a wire.
     */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, _("socket() failed: %s"), strerror(errno));
        return -1;
    }
    int rc = 0;
    if (ethtool_set(fd, ETHTOOL_STSO, 0) != 0) {
        snprintf(err, errlen, _("cannot turn TCP segmentation offload off on lo: %s"), strerror(errno));
        rc = -1;
    } else if (ethtool_set(fd, ETHTOOL_SGSO, 0) != 0) {
        snprintf(err, errlen, _("cannot turn generic segmentation offload off on lo: %s"), strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}
