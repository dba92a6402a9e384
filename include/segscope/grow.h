/* grow.h - room in arrays and byte buffers that double when full. */
#ifndef SEGSCOPE_GROW_H
#define SEGSCOPE_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * `v` holds `n` elements of `elem` bytes in room for `*cap`. Returns `v`
 * when there is room for one more, else a reallocated copy with twice the
 * room (`first` when there was none) and updates `*cap`; NULL when out of
 * memory, and then `v` and `*cap` are unchanged.
 */
static inline void *ss_grow(void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : first;
    if (nc < *cap || nc > SIZE_MAX / elem)
        return NULL;
    void *nv = realloc(v, nc * elem);
    if (nv)
        *cap = nc;
    return nv;
}

/*
 * A byte buffer `*buf` with `used` of `*cap` bytes in use: makes room for
 * `add` more, doubling its size (from `first` when there was none) until
 * they fit. Returns false when out of memory, and then `*buf` and `*cap`
 * are unchanged.
 */
static inline bool ss_grow_bytes(uint8_t **buf, size_t used, size_t *cap, size_t add, size_t first)
{
    if (*cap - used >= add)
        return true;
    size_t nc = *cap ? *cap : first;
    while (nc - used < add) {
        if (nc > SIZE_MAX / 2)
            return false;
        nc *= 2;
    }
    uint8_t *nb = realloc(*buf, nc);
    if (!nb)
        return false;
    *buf = nb;
    *cap = nc;
    return true;
}

#endif
