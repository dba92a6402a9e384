/* fuzz_framing.c - fuzz harness: each message framer fed a stream cut into chunks, with gaps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/framing.h"
#include "segscope/stream.h"

#define FUZZ_NAME "fuzz_framing"
#include "fuzz_common.h"

/*
 * Input: byte 0 picks the framing, byte 1 the largest message it may
 * declare; then chunks until the input runs out, each introduced by a
 * control byte:
 *
 *   0xxxxxxx  data: the next x+1 bytes of the input (x = 127: a 16-bit length follows)
 *   1xxxxxxx  gap: x+1 bytes never captured (x = 127: a 32-bit length follows)
 *
 * Data chunks come from their own exactly-sized heap copies, freed after
 * the call, so a framer that kept a pointer into a chunk is caught.
 * Checked beyond surviving: messages are numbered 0, 1, 2, ... in stream
 * order and never start before the previous one, and each chunk's message
 * range is consistent.
 */


static const char *const specs[] = {
    "line",     "line:crlf",  "line:0x00", "len:1",  "len16",          "len32",
    "len32le",  "len:8:le",   "len:2:le:incl:off=1", "len:4:be:incl:off=3", "len:1:incl",
    "filexfer", "filexfer:le",
};

static const uint64_t max_messages[] = {1, 2, 7, 100, 4096, 1u << 20, 64ull << 20, UINT64_MAX / 2};

typedef struct seen {
    uint64_t count;
    uint64_t last_off;
} seen_t;

static void on_message(void *ctx, const ss_message_t *m)
{
    seen_t *s = ctx;
    CHECK(m->index == s->count);
    CHECK(s->count == 0 || m->off >= s->last_off);
    s->count++;
    s->last_off = m->off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader_t r = {data, size};
    uint8_t b0 = (uint8_t)take(&r, 1), b1 = (uint8_t)take(&r, 1);
    ss_framing_t spec;
    char err[128];
    const char *name = specs[b0 % (sizeof(specs) / sizeof(specs[0]))];
    CHECK(ss_framing_parse(name, &spec, err, sizeof(err)) == 0);
    char nbuf[64];
    CHECK(ss_framing_name(&spec, nbuf, sizeof(nbuf)) != NULL);
    seen_t seen = {0, 0};
    ss_framer_t f;
    ss_framer_init(&f, &spec, max_messages[b1 % (sizeof(max_messages) / sizeof(max_messages[0]))], on_message,
                   &seen);

    uint64_t off = 0, frame = 1;
    while (r.n) {
        uint8_t c = (uint8_t)take(&r, 1);
        uint32_t len = (c & 0x7F) + 1u;
        ss_stream_chunk_t ch;
        memset(&ch, 0, sizeof(ch));
        ch.off = off;
        uint8_t *copy = NULL;
        if (c & 0x80) {
            if (len == 128)
                len = take(&r, 4) | 1u;
            ch.gap = true;
            ch.len = len;
        } else {
            if (len == 128)
                len = take(&r, 2) + 1u;
            if (len > r.n)
                len = (uint32_t)r.n;
            if (len == 0)
                break;
            copy = malloc(len);
            if (!copy)
                break;
            memcpy(copy, r.p, len);
            r.p += len;
            r.n -= len;
            ch.data = copy;
            ch.len = len;
            ch.frame = frame;
            frame += c & 1; /* sometimes two chunks of one segment */
        }
        ss_chunk_msgs_t out;
        memset(&out, 0x5A, sizeof(out));
        ss_framer_feed(&f, &ch, &out);
        free(copy);
        if (out.count)
            CHECK(out.first <= out.last && out.count == out.last - out.first + 1);
        off += ch.len;
    }
    ss_framer_finish(&f);
    ss_framer_fini(&f);
    return 0;
}
