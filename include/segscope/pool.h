/*
 * pool.h - a free list of same-size blocks, for records a run allocates
 * and frees at the rate conversations start and end.
 *
 * The malloc of a block of a few kilobytes (too big for glibc's per-thread
 * cache) sorts and merges free chunks on every call; a block put back here
 * is handed out again as it is. At most `keep` blocks wait in the list, so
 * what a burst of conversations leaves behind goes back to malloc.
 */
#ifndef SEGSCOPE_POOL_H
#define SEGSCOPE_POOL_H

#include <stddef.h>
#include <stdlib.h>

typedef struct ss_pool {
    void *head;  /* free blocks, each holding the next one's address */
    size_t n;    /* ... how many */
    size_t keep; /* at most this many are kept */
    size_t size; /* bytes of a block (at least a pointer's) */
} ss_pool_t;

static inline void ss_pool_init(ss_pool_t *p, size_t size, size_t keep)
{
    p->head = NULL;
    p->n = 0;
    p->keep = keep;
    p->size = size < sizeof(void *) ? sizeof(void *) : size;
}

/* A block of p->size bytes, not cleared; NULL when out of memory. */
static inline void *ss_pool_get(ss_pool_t *p)
{
    void *b = p->head;
    if (!b)
        return malloc(p->size);
    p->head = *(void **)b;
    p->n--;
    return b;
}

static inline void ss_pool_put(ss_pool_t *p, void *b)
{
    if (!b)
        return;
    if (p->n >= p->keep) {
        free(b);
        return;
    }
    *(void **)b = p->head;
    p->head = b;
    p->n++;
}

/* Frees the blocks waiting in the list. */
static inline void ss_pool_drain(ss_pool_t *p)
{
    while (p->head) {
        void *b = p->head;
        p->head = *(void **)b;
        free(b);
    }
    p->n = 0;
}

#endif
