/* fuzz_common.h - what the fuzz harnesses share: an abort on a broken promise, and a bounded input reader. */
#ifndef SEGSCOPE_FUZZ_COMMON_H
#define SEGSCOPE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Define FUZZ_NAME (the harness's name, a string literal) before including this. */
#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, FUZZ_NAME ": broken promise: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* The fuzzer's input, read from the front. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader_t;

/* The next `bytes` bytes as a big-endian number; missing bytes (the input ran out) read as 0. */
static inline uint32_t take(reader_t *r, unsigned bytes)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v <<= 8;
        if (r->n) {
            v |= *r->p++;
            r->n--;
        }
    }
    return v;
}

#endif
