/* grow.h - room for one more element in an array that doubles when full. */
#ifndef SEGSCOPE_GROW_H
#define SEGSCOPE_GROW_H

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

#endif
