/* clear.h - clearing the few structs every packet fills in. */
#ifndef SEGSCOPE_CLEAR_H
#define SEGSCOPE_CLEAR_H

#include <stddef.h>
#include <string.h>

/*
 * Sets `n` bytes at `p` to zero, sixteen at a time. For the structs of one
 * to a few hundred bytes cleared once or more per packet: GCC clears a
 * memset() of a known size over 64 bytes with `rep stos`, whose start-up
 * costs more than the stores themselves. The empty asm statement keeps the
 * loop from being turned back into that memset().
 */
static inline void ss_clear(void *p, size_t n)
{
    typedef unsigned char ss_v16 __attribute__((vector_size(16), may_alias, aligned(1)));
    unsigned char *b = (unsigned char *)p;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        *(ss_v16 *)(void *)(b + i) = (ss_v16){0};
        __asm__("" : : "r"(b + i));
    }
    memset(b + i, 0, n - i);
}

#endif
