/* fuzz_apptrace.c - fuzz harness: the application-trace reader (docs/app-trace.md). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segscope/apptrace.h"

#define FUZZ_NAME "fuzz_apptrace"
#include "fuzz_common.h"

/*
 * Input: the trace file itself (JSON Lines). It is written to an anonymous
 * memory file and loaded by path, as --app-trace loads it, once with the
 * default record limit and once with a tiny one; then each loaded trace is
 * asked for the connection directions between a few endpoints (loopback
 * v4 and v6, ports 1, 2 and 9000; libFuzzer's comparison tracing steers
 * mutations towards them) at extreme start times.
 *
 * Checked beyond surviving: a direction comes back at most once, its calls
 * are in offset order, and the counts add up within the limit.
 */


static void check_dir(const ss_app_dir_t *d)
{
    for (size_t i = 1; i < d->nsends; i++)
        CHECK(d->sends[i - 1].off <= d->sends[i].off);
    for (size_t i = 1; i < d->nrecvs; i++)
        CHECK(d->recvs[i - 1].off <= d->recvs[i].off);
    CHECK(d->nsends + d->nrecvs > 0);
}

static void probe(ss_apptrace_t *t, uint64_t max_records)
{
    uint64_t records, skipped;
    ss_apptrace_counts(t, &records, &skipped);
    CHECK(records <= max_records);

    ss_addr_t v4 = {.family = 4, .a = {127, 0, 0, 1}};
    ss_addr_t v6 = {.family = 6, .a = {[15] = 1}};
    const ss_addr_t *addrs[2] = {&v4, &v6};
    static const uint16_t ports[] = {1, 2, 9000};
    static const int64_t starts[] = {INT64_MIN, -1, 0, 1700000000000000000, INT64_MAX};
    uint64_t found = 0;
    for (size_t a = 0; a < 2; a++)
        for (size_t s = 0; s < 3; s++)
            for (size_t d = 0; d < 3; d++)
                for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
                    const ss_app_dir_t *dir =
                        ss_apptrace_match(t, addrs[a], ports[s], addrs[a], ports[d], starts[k]);
                    if (dir) {
                        CHECK(dir->used);
                        check_dir(dir);
                        found++;
                    }
                }
    /* Every direction holds at least one record and is handed out once. */
    CHECK(found <= records);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_apptrace", 0);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) {
            close(fd);
            return 0;
        }
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    static const uint64_t limits[] = {SS_APPTRACE_DEFAULT_MAX_RECORDS, 3};
    for (size_t i = 0; i < 2; i++) {
        ss_apptrace_t *t = NULL;
        char err[256];
        int rc = ss_apptrace_load(&t, path, limits[i], err, sizeof(err));
        if (rc < 0) {
            CHECK(t == NULL && err[0] != '\0');
            continue;
        }
        CHECK(t != NULL);
        probe(t, limits[i]);
        ss_apptrace_destroy(t);
    }
    close(fd);
    return 0;
}
