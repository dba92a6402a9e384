/* buf.c - byte buffers with a cap of their own and a memory budget shared by all connections. */
#include <stdlib.h>
#include <string.h>

#include "segscope/err.h"

#include "internal.h"

void ss_demo_buf_init(ss_demo_buf_t *b, size_t max, ss_demo_budget_t *budget)
{
    memset(b, 0, sizeof *b);
    b->max = max;
    b->budget = budget;
}

void ss_demo_buf_fini(ss_demo_buf_t *b)
{
    if (b->budget)
        b->budget->used -= b->cap;
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

int ss_demo_buf_append(ss_demo_buf_t *b, const void *p, size_t n)
{
    size_t held = b->len - b->off;
    if (n > b->max || held > b->max - n)
        return SS_ERR_LIMIT;
    if (b->cap - b->len < n) {
        /* Slide what is held to the front before growing. */
        if (b->off) {
            memmove(b->data, b->data + b->off, held);
            b->off = 0;
            b->len = held;
        }
        if (b->cap - b->len < n) {
            size_t want = b->cap ? b->cap : 4096;
            while (want < held + n)
                want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
            if (want > b->max)
                want = b->max;
            size_t extra = want - b->cap;
            if (b->budget && extra > b->budget->max - b->budget->used)
                return SS_ERR_LIMIT;
            uint8_t *d = realloc(b->data, want);
            if (!d)
                return SS_ERR_NOMEM;
            b->data = d;
            b->cap = want;
            if (b->budget)
                b->budget->used += extra;
        }
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void ss_demo_buf_consume(ss_demo_buf_t *b, size_t n)
{
    size_t held = b->len - b->off;
    if (n >= held) {
        b->off = b->len = 0;
        return;
    }
    b->off += n;
}
