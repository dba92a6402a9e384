/*
 * reader.c - frames in batches, read and decoded on a thread of their own.
 *
 * With a thread, the reader keeps a ring of SLOTS batches. The thread fills
 * free slots in order: it reads a batch of frames, makes sure their bytes
 * stay where they are (the source's block is swapped for the slot's spare
 * one, or else the frames are copied into the slot), decodes them, and
 * hands the slot over. The caller takes the slots in the same order and
 * gives each back on its next call. Nothing else is shared: the source is
 * the thread's alone until ss_reader_close has joined it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/err.h"
#include "segscope/grow.h"
#include "segscope/reader.h"
#include "segscope/thread.h"

enum {
    SLOTS = 4,          /* batches in the ring */
    WAKE_FREE = 2,      /* a thread that found the ring full waits for this many free slots */
    SLOT_FRAMES = 512,  /* frames in a batch at most (a block holds about 400 of 650 bytes) */
    SYNC_FRAMES = 64,   /* frames a batch read on the caller's thread holds */
};
/* Frames copied into a batch (when the source does not read in blocks) stop after this many bytes. */
#define COPY_TARGET ((size_t)1 << 20)

typedef struct slot {
    ss_frame_t frames[SLOT_FRAMES];
    ss_prepared_t prep[SLOT_FRAMES];
    size_t off[SLOT_FRAMES]; /* copied frames: where each frame's bytes start in `copy` */
    size_t n;
    int rc; /* SS_SOURCE_FRAME with n >= 1; else the end (n == 0) */
    char err[SS_SOURCE_ERRBUF];
    uint64_t done, total; /* the source's progress after this batch */
    void *blk;            /* the source block the frames lie in, or the spare one for the next swap */
    uint8_t *copy;        /* frames copied from a source that reads record by record */
    size_t copy_len, copy_cap;
} slot_t;

struct ss_reader {
    ss_source_t *src;
    uint64_t limit, given; /* frames to give at most (0: all); frames read so far (by whoever reads) */
    int end_rc;            /* the end, once given to the caller (SS_SOURCE_FRAME until then) */
    char end_err[SS_SOURCE_ERRBUF];
    uint64_t done, total; /* progress up to the last batch given */
    ss_frame_t sync[SYNC_FRAMES];

    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled, freed;
    slot_t *slots;
    size_t head;   /* the caller's slot: the one given last, or the next to give */
    size_t nfull;  /* slots handed over and not given back (the caller's included) */
    bool holding;  /* the caller holds slots[head] */
    bool stop;     /* ss_reader_close asks the thread to end */
    bool waiting;  /* the thread waits for room */
    /* the thread's own */
    int pending_rc; /* an end read after frames the slot already held: it goes in the next slot */
    char pending_err[SS_SOURCE_ERRBUF];
};

/* Room for `add` more copied bytes in `s`; false when out of memory. */
static bool copy_room(slot_t *s, size_t add)
{
    return ss_grow_bytes(&s->copy, s->copy_len, &s->copy_cap, add, COPY_TARGET);
}

/* Frames that may be read next, at most `max`: 0 once the limit is reached. */
static size_t room_under_limit(const ss_reader_t *r, size_t max)
{
    return r->limit && r->limit - r->given < max ? (size_t)(r->limit - r->given) : max;
}

static void set_end(slot_t *s, int rc, const char *err)
{
    s->rc = rc;
    snprintf(s->err, sizeof(s->err), "%s", err);
}

/* Fills a slot on the thread: frames whose bytes stay put until the slot is given back, decoded. */
static void fill(ss_reader_t *r, slot_t *s)
{
    bool copied = false;
    s->n = 0;
    s->copy_len = 0;
    s->rc = SS_SOURCE_FRAME;
    s->err[0] = '\0';
    if (r->pending_rc != SS_SOURCE_FRAME) {
        set_end(s, r->pending_rc, r->pending_err);
        return;
    }
    for (;;) {
        size_t room = room_under_limit(r, SLOT_FRAMES - s->n);
        if (room == 0) {
            if (s->n == 0)
                set_end(s, SS_SOURCE_EOF, "");
            break;
        }
        size_t got = 0;
        char err[SS_SOURCE_ERRBUF] = "";
        int rc = ss_source_next_batch(r->src, s->frames + s->n, room, &got, err);
        if (rc != SS_SOURCE_FRAME) {
            if (s->n == 0) {
                set_end(s, rc, err);
            } else {
                r->pending_rc = rc;
                snprintf(r->pending_err, sizeof(r->pending_err), "%s", err);
            }
            break;
        }
        r->given += got;
        if (!copied) { /* the first read of the slot: in a block of the file? */
            void *fresh = s->blk ? s->blk : malloc(SS_SOURCE_BLOCK_BYTES);
            void *old = ss_source_swap_block(r->src, fresh);
            if (old) {
                s->blk = old; /* the frames lie in it, and the source reads on in `fresh` */
                s->n = got;
                break;
            }
            s->blk = fresh; /* kept for a later swap (NULL if it could not be had) */
        }
        /* Record by record from libpcap, whose buffer the next read reuses: the bytes are copied. */
        copied = true;
        for (size_t i = 0; i < got; i++) {
            ss_frame_t *f = &s->frames[s->n];
            if (!copy_room(s, f->caplen)) {
                set_end(s, SS_ERR_NOMEM, ss_strerror(SS_ERR_NOMEM));
                if (s->n) { /* the frames copied so far are analysed first */
                    r->pending_rc = s->rc;
                    snprintf(r->pending_err, sizeof(r->pending_err), "%s", s->err);
                    s->rc = SS_SOURCE_FRAME;
                }
                goto out;
            }
            if (f->caplen)
                memcpy(s->copy + s->copy_len, f->data, f->caplen);
            s->off[s->n++] = s->copy_len;
            s->copy_len += f->caplen;
        }
        if (s->copy_len >= COPY_TARGET)
            break;
    }
out:
    if (copied)
        for (size_t i = 0; i < s->n; i++)
            s->frames[i].data = s->copy + s->off[i];
    for (size_t i = 0; i < s->n; i++)
        ss_analyzer_prepare(&s->frames[i], &s->prep[i]);
    ss_source_progress(r->src, &s->done, &s->total);
}

static void *run(void *arg)
{
    ss_reader_t *r = arg;
    size_t tail = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->nfull == SLOTS) { /* to be woken once per WAKE_FREE batches, not per batch */
            r->waiting = true;
            while (r->nfull > SLOTS - WAKE_FREE && !r->stop)
                pthread_cond_wait(&r->freed, &r->mu);
            r->waiting = false;
        }
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        slot_t *s = &r->slots[tail];
        fill(r, s);
        pthread_mutex_lock(&r->mu);
        r->nfull++;
        pthread_cond_signal(&r->filled);
        pthread_mutex_unlock(&r->mu);
        if (s->n == 0)
            break; /* the end is handed over */
        tail = (tail + 1) % SLOTS;
    }
    return NULL;
}

/* Starts the thread that reads ahead; false (and nothing to undo) when it cannot. */
static bool start_thread(ss_reader_t *r)
{
    r->slots = calloc(SLOTS, sizeof(slot_t));
    if (!r->slots)
        return false;
    if (pthread_mutex_init(&r->mu, NULL) != 0)
        goto no_mutex;
    if (pthread_cond_init(&r->filled, NULL) != 0)
        goto no_filled;
    if (pthread_cond_init(&r->freed, NULL) != 0)
        goto no_freed;
    if (ss_thread_start(&r->thread, run, r) == 0)
        return true;
    pthread_cond_destroy(&r->freed);
no_freed:
    pthread_cond_destroy(&r->filled);
no_filled:
    pthread_mutex_destroy(&r->mu);
no_mutex:
    free(r->slots);
    r->slots = NULL;
    return false;
}

int ss_reader_open(ss_reader_t **out, ss_source_t *src, const ss_reader_opts_t *opts)
{
    ss_reader_t *r = calloc(1, sizeof(*r));
    *out = NULL;
    if (!r)
        return SS_ERR_NOMEM;
    r->src = src;
    r->limit = opts->limit;
    r->end_rc = SS_SOURCE_FRAME;
    r->pending_rc = SS_SOURCE_FRAME;
    ss_source_progress(src, &r->done, &r->total);
    /*
     * Only a regular file (its size is known) is read ahead: a read from a
     * pipe may wait for ever, where only the caller's thread would see a
     * signal. When the thread cannot start, the caller's thread reads.
     */
    if (opts->thread && !ss_source_is_live(src) && r->total > 0)
        r->threaded = start_thread(r);
    *out = r;
    return 0;
}

bool ss_reader_threaded(const ss_reader_t *r) { return r->threaded; }

static int give_end(ss_reader_t *r, int rc, const char *err, char *errbuf)
{
    r->end_rc = rc;
    snprintf(r->end_err, sizeof(r->end_err), "%s", err);
    snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", r->end_err);
    return rc;
}

int ss_reader_next(ss_reader_t *r, ss_batch_t *b, char *errbuf)
{
    b->frames = NULL;
    b->prep = NULL;
    b->n = 0;
    if (r->end_rc != SS_SOURCE_FRAME) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", r->end_err);
        return r->end_rc;
    }
    if (!r->threaded) {
        size_t max = room_under_limit(r, SYNC_FRAMES);
        if (max == 0)
            return give_end(r, SS_SOURCE_EOF, "", errbuf);
        errbuf[0] = '\0'; /* the source writes it for errors only */
        int rc = ss_source_next_batch(r->src, r->sync, max, &b->n, errbuf);
        if (rc == SS_SOURCE_FRAME) {
            r->given += b->n;
            b->frames = r->sync;
            ss_source_progress(r->src, &r->done, &r->total);
        } else if (rc != SS_SOURCE_TIMEOUT) {
            give_end(r, rc, errbuf, errbuf);
        }
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    if (r->holding) { /* the batch given last is done with */
        r->holding = false;
        r->nfull--;
        r->head = (r->head + 1) % SLOTS;
        if (r->waiting && r->nfull <= SLOTS - WAKE_FREE)
            pthread_cond_signal(&r->freed);
    }
    while (r->nfull == 0)
        pthread_cond_wait(&r->filled, &r->mu);
    r->holding = true;
    pthread_mutex_unlock(&r->mu);
    slot_t *s = &r->slots[r->head];
    r->done = s->done;
    r->total = s->total;
    if (s->n == 0)
        return give_end(r, s->rc, s->err, errbuf);
    b->frames = s->frames;
    b->prep = s->prep;
    b->n = s->n;
    return SS_SOURCE_FRAME;
}

int ss_reader_feed(ss_analyzer_t *a, ss_batch_t *b)
{
    if (b->prep)
        return ss_analyzer_feed_prepared(a, b->frames, b->prep, b->n);
    return ss_analyzer_feed_batch(a, b->frames, b->n);
}

void ss_reader_progress(const ss_reader_t *r, uint64_t *done, uint64_t *total)
{
    *done = r->done;
    *total = r->total;
}

void ss_reader_close(ss_reader_t *r)
{
    if (!r)
        return;
    if (r->threaded) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_signal(&r->freed);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        pthread_cond_destroy(&r->freed);
        pthread_cond_destroy(&r->filled);
        pthread_mutex_destroy(&r->mu);
        for (size_t i = 0; i < SLOTS; i++) {
            free(r->slots[i].blk);
            free(r->slots[i].copy);
        }
        free(r->slots);
    }
    free(r);
}
