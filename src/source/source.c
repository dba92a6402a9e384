/* source.c - libpcap behind the ss_source_t interface, with a block reader for plain pcap records. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segscope/err.h"
#include "segscope/source.h"

struct ss_source {
    pcap_t *pcap;
    pcap_dumper_t *dumper;
    FILE *file; /* the saved file (NULL when live); pcap closes it */
    uint64_t file_size;
    bool live;
    bool nsec;
    int linktype;
    uint64_t count;
    bool has_filter;          /* files: the filter is applied here, so frame numbers stay file positions */
    struct bpf_program filter;
    /*
     * A classic pcap file in this machine's byte order is read here, in
     * large blocks (libpcap reads each record through stdio into a buffer of
     * its own: two copies and two calls per record). Records are taken as
     * long as they are plain (whole, and no longer than the snapshot length
     * libpcap settled on, the only ones it passes on unchanged); at the first
     * one that is not, or at the end, the file is handed back to libpcap at
     * that record, so every unusual case is read, and reported, by libpcap.
     */
    uint8_t *blk;
    size_t blk_cap, blk_pos, blk_len; /* the block, the next record in it, the bytes in it */
    uint64_t blk_off;                  /* file offset of the block's first byte */
    bool blk_nsec;                     /* the file's timestamps are nanoseconds */
    uint32_t blk_snap;
    struct pcap_pkthdr blk_hdr;
};

void ss_live_opts_init(ss_live_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->snaplen = 262144;
    o->timeout_ms = 100;
}

/*
 * libpcap reports DLT_ values, which equal the LINKTYPE_ values of the
 * file formats except for a few historical ones; the decoder speaks LINKTYPE_.
 */
static int dlt_to_linktype(int dlt)
{
#ifdef DLT_RAW
    if (dlt == DLT_RAW)
        return 101; /* LINKTYPE_RAW */
#endif
    if (dlt == 12 || dlt == 14)
        return 101;
    return dlt;
}

static ss_source_t *source_new(void)
{
    return calloc(1, sizeof(ss_source_t));
}

int ss_source_open_stream(ss_source_t **out, FILE *fp, char *errbuf)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    *out = NULL;
    ss_source_t *s = source_new();
    if (!s) {
        if (fp != stdin)
            fclose(fp);
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", ss_strerror(SS_ERR_NOMEM));
        return SS_ERR_NOMEM;
    }
    s->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!s->pcap) {
        if (fp != stdin)
            fclose(fp);
        free(s);
        /* libpcap says "unknown file format" for anything that is not a capture. */
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", perr[0] ? perr : "not a capture file");
        return SS_ERR_FORMAT;
    }
    s->file = fp;
    s->nsec = true;
    s->linktype = dlt_to_linktype(pcap_datalink(s->pcap));
    *out = s;
    return 0;
}

#define BLOCK_BYTES SS_SOURCE_BLOCK_BYTES

/* Reads the file in blocks when it is a classic pcap file libpcap passes records of unchanged; else libpcap reads it. */
static void block_open(ss_source_t *s)
{
    uint32_t magic;
    if (pcap_major_version(s->pcap) != 2 || pcap_minor_version(s->pcap) != 4 || pcap_is_swapped(s->pcap) ||
        pcap_datalink(s->pcap) == 220 /* USB: libpcap fixes lengths up */ ||
        pread(fileno(s->file), &magic, 4, 0) != 4 || (magic != 0xa1b2c3d4u && magic != 0xa1b23c4du))
        return; /* pcapng, or a variant libpcap changes records of */
    s->blk = malloc(BLOCK_BYTES);
    if (!s->blk)
        return;
    s->blk_cap = BLOCK_BYTES;
    s->blk_off = 24; /* after the file header */
    s->blk_nsec = magic == 0xa1b23c4du;
    s->blk_snap = (uint32_t)pcap_snapshot(s->pcap);
}

/* Back to libpcap from the next record on. */
static void block_close(ss_source_t *s)
{
    uint64_t at = s->blk_off + s->blk_pos;
    free(s->blk);
    s->blk = NULL;
    if (fseeko(s->file, (off_t)at, SEEK_SET) != 0)
        fseeko(s->file, 0, SEEK_END); /* cannot happen for a regular file; libpcap then sees the end */
}

/*
 * True when the block holds `n` bytes from the next record on, reading more
 * of the file if needed and `refill` allows (reading moves the records
 * returned before).
 */
static bool block_have(ss_source_t *s, size_t n, bool refill)
{
    if (s->blk_len - s->blk_pos >= n)
        return true;
    if (!refill || n > s->blk_cap)
        return false;
    size_t keep = s->blk_len - s->blk_pos;
    memmove(s->blk, s->blk + s->blk_pos, keep);
    s->blk_off += s->blk_pos;
    s->blk_pos = 0;
    s->blk_len = keep;
    while (s->blk_len < n) {
        ssize_t r = pread(fileno(s->file), s->blk + s->blk_len, s->blk_cap - s->blk_len,
                          (off_t)(s->blk_off + s->blk_len));
        if (r <= 0)
            return false; /* the end, or an error: libpcap reads (and reports) what is left */
        s->blk_len += (size_t)r;
    }
    return true;
}

/*
 * The next plain record, as libpcap would have read it; NULL to hand over to
 * libpcap. With `refill` false, NULL also when the record is not wholly in
 * the block already (reading more would move the records returned before).
 */
static const u_char *block_next(ss_source_t *s, struct pcap_pkthdr **hp, bool refill)
{
    if (!block_have(s, 16, refill))
        return NULL;
    const uint8_t *r = s->blk + s->blk_pos;
    int32_t sec, sub;
    uint32_t caplen, len;
    memcpy(&sec, r, 4);
    memcpy(&sub, r + 4, 4);
    memcpy(&caplen, r + 8, 4);
    memcpy(&len, r + 12, 4);
    if (caplen > s->blk_snap || !block_have(s, 16 + (size_t)caplen, refill))
        return NULL;
    r = s->blk + s->blk_pos; /* the block may have moved */
    struct pcap_pkthdr *h = &s->blk_hdr;
    h->ts.tv_sec = (time_t)sec;
    /* libpcap was asked for nanoseconds: it scales microseconds up, in its signed field. */
    h->ts.tv_usec = s->blk_nsec ? (suseconds_t)sub : (suseconds_t)((int64_t)sub * 1000);
    h->caplen = caplen;
    h->len = len;
    s->blk_pos += 16 + (size_t)caplen;
    *hp = h;
    return r + 16;
}

void *ss_source_swap_block(ss_source_t *s, void *fresh)
{
    if (!s->blk || !fresh)
        return NULL;
    uint8_t *old = s->blk;
    size_t keep = s->blk_len - s->blk_pos; /* the start of a record not returned yet */
    memcpy(fresh, old + s->blk_pos, keep);
    s->blk = fresh;
    s->blk_off += s->blk_pos;
    s->blk_pos = 0;
    s->blk_len = keep;
    return old;
}

int ss_source_open_file(ss_source_t **out, const char *path, char *errbuf)
{
    FILE *fp;
    uint64_t size = 0;
    *out = NULL;
    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else {
        struct stat st;
        fp = fopen(path, "rb");
        if (!fp) {
            snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", strerror(errno));
            return SS_ERR_IO;
        }
        if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
            fclose(fp);
            snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", strerror(EISDIR));
            return SS_ERR_IO;
        }
        if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode))
            size = (uint64_t)st.st_size; /* for ss_source_progress */
    }
    int rc = ss_source_open_stream(out, fp, errbuf);
    if (rc == 0) {
        (*out)->file_size = size;
        if (fp != stdin && size > 24)
            block_open(*out);
    }
    return rc;
}

int ss_source_open_live(ss_source_t **out, const char *iface, const ss_live_opts_t *opts,
                        char *errbuf)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    *out = NULL;
    ss_source_t *s = source_new();
    if (!s) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", ss_strerror(SS_ERR_NOMEM));
        return SS_ERR_NOMEM;
    }
    s->live = true;
    s->pcap = pcap_create(iface, perr);
    if (!s->pcap) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", perr);
        free(s);
        return SS_ERR_IO;
    }
    pcap_set_snaplen(s->pcap, opts->snaplen > 0 ? opts->snaplen : 262144);
    pcap_set_promisc(s->pcap, opts->promisc ? 1 : 0);
    pcap_set_timeout(s->pcap, opts->timeout_ms > 0 ? opts->timeout_ms : 100);
    pcap_set_immediate_mode(s->pcap, 1);
    pcap_set_buffer_size(s->pcap, (opts->buffer_kib > 0 ? opts->buffer_kib : SS_LIVE_DEFAULT_BUFFER_KIB) * 1024);
    s->nsec = pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO) == 0;
    int rc = pcap_activate(s->pcap);
    if (rc < 0) {
        int err = SS_ERR_IO;
        if (rc == PCAP_ERROR_PERM_DENIED)
            err = SS_ERR_PERM;
        else if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
            err = SS_ERR_NODEV;
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s",
                 pcap_geterr(s->pcap)[0] ? pcap_geterr(s->pcap) : pcap_statustostr(rc));
        pcap_close(s->pcap);
        free(s);
        return err;
    }
    if (s->nsec)
        s->nsec = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO;
    s->linktype = dlt_to_linktype(pcap_datalink(s->pcap));
    *out = s;
    return 0;
}

int ss_source_set_filter(ss_source_t *s, const char *expr, char *errbuf)
{
    struct bpf_program prog;
    if (pcap_compile(s->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", pcap_geterr(s->pcap));
        return SS_ERR_FILTER;
    }
    if (!s->live) {
        /*
         * For a file, every record is read and the filter applied here, so
         * that frame numbers remain positions in the file (as Wireshark
         * numbers them) even when most frames are filtered out.
         */
        if (s->has_filter)
            pcap_freecode(&s->filter);
        s->filter = prog;
        s->has_filter = true;
        return 0;
    }
    int rc = pcap_setfilter(s->pcap, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", pcap_geterr(s->pcap));
        return SS_ERR_FILTER;
    }
    return 0;
}

/*
 * A pcap record holds 32 bits of seconds, but a pcapng one 64 bits of units
 * its interface chooses, so a damaged file can claim any time at all. Later
 * stages count time in 64-bit nanoseconds: seconds beyond what a 32-bit
 * field can hold either way (about 136 years from 1970) are clamped to it,
 * so that no timestamp, nor any difference of two, overflows there.
 */
static int64_t clamp_seconds(int64_t sec)
{
    const int64_t lim = (int64_t)UINT32_MAX;
    return sec > lim ? lim : sec < -lim ? -lim : sec;
}

/* Sorts libpcap's read errors into the cases the user is told about differently. */
static int classify_read_error(const char *msg)
{
    if (strstr(msg, "truncated"))
        return SS_ERR_TRUNCATED;
    if (strstr(msg, "different from the") && strstr(msg, "interface"))
        return SS_ERR_LINKTYPES;
    if (strstr(msg, "invalid packet capture length") || strstr(msg, "bigger than") ||
        strstr(msg, "block") || strstr(msg, "invalid"))
        return SS_ERR_FORMAT;
    return SS_ERR_IO;
}

/* Fills `frame` from a record libpcap (or the block reader) returned, and copies it to the dump file. */
static void take_frame(ss_source_t *s, ss_frame_t *frame, struct pcap_pkthdr *h, const u_char *d)
{
    frame->data = d;
    frame->caplen = h->caplen;
    frame->wirelen = h->len;
    frame->ts_sec = clamp_seconds((int64_t)h->ts.tv_sec);
    /* tv_usec holds nanoseconds when nanosecond precision was granted. */
    long sub = (long)h->ts.tv_usec;
    if (sub < 0)
        sub = 0;
    frame->ts_nsec = s->nsec ? (uint32_t)(sub % 1000000000L) : (uint32_t)(sub % 1000000L) * 1000u;
    frame->linktype = s->linktype;
    frame->number = s->count;
    if (s->dumper)
        pcap_dump((u_char *)s->dumper, h, d);
}

int ss_source_next(ss_source_t *s, ss_frame_t *frame, char *errbuf)
{
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    for (;;) {
        if (s->blk && (d = block_next(s, &h, true)) != NULL) {
            rc = 1;
        } else {
            if (s->blk)
                block_close(s);
            rc = pcap_next_ex(s->pcap, &h, &d);
        }
        if (rc != 1)
            break;
        s->count++;
        if (!s->has_filter || pcap_offline_filter(&s->filter, h, d))
            break;
    }
    if (rc == 1) {
        take_frame(s, frame, h, d);
        return SS_SOURCE_FRAME;
    }
    if (rc == 0)
        return SS_SOURCE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return SS_SOURCE_EOF;
    const char *msg = pcap_geterr(s->pcap);
    snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", msg);
    return classify_read_error(msg);
}

int ss_source_next_batch(ss_source_t *s, ss_frame_t *frames, size_t max, size_t *n, char *errbuf)
{
    *n = 0;
    int rc = ss_source_next(s, &frames[0], errbuf);
    if (rc != SS_SOURCE_FRAME)
        return rc;
    *n = 1;
    /* More only from the block in hand: its records stay where they are until it is read again. */
    while (s->blk && *n < max) {
        struct pcap_pkthdr *h;
        const u_char *d = block_next(s, &h, false);
        if (!d)
            break;
        s->count++;
        if (s->has_filter && !pcap_offline_filter(&s->filter, h, d))
            continue;
        take_frame(s, &frames[(*n)++], h, d);
    }
    return SS_SOURCE_FRAME;
}

int ss_source_linktype(const ss_source_t *s) { return s->linktype; }
bool ss_source_is_live(const ss_source_t *s) { return s->live; }

void ss_source_progress(const ss_source_t *s, uint64_t *done, uint64_t *total)
{
    *done = 0;
    *total = s->file_size;
    if (s->blk) {
        *done = s->blk_off + s->blk_pos;
    } else if (s->file && s->file_size) {
        long pos = ftell(s->file);
        if (pos > 0)
            *done = (uint64_t)pos;
    }
}

int ss_source_dump_open(ss_source_t *s, const char *path, char *errbuf)
{
    s->dumper = pcap_dump_open(s->pcap, path);
    if (!s->dumper) {
        snprintf(errbuf, SS_SOURCE_ERRBUF, "%s", pcap_geterr(s->pcap));
        return SS_ERR_IO;
    }
    return 0;
}

int ss_source_dump_flush(ss_source_t *s)
{
    if (s->dumper && pcap_dump_flush(s->dumper) != 0)
        return SS_ERR_IO;
    return 0;
}

void ss_source_stats(ss_source_t *s, ss_source_stats_t *st)
{
    struct pcap_stat ps;
    memset(st, 0, sizeof(*st));
    if (!s->live || pcap_stats(s->pcap, &ps) != 0)
        return;
    st->received = ps.ps_recv;
    st->dropped = ps.ps_drop;
    st->if_dropped = ps.ps_ifdrop;
    st->valid = true;
}

void ss_source_break(ss_source_t *s)
{
    if (s && s->pcap)
        pcap_breakloop(s->pcap);
}

void ss_source_close(ss_source_t *s)
{
    if (!s)
        return;
    if (s->dumper) {
        pcap_dump_flush(s->dumper);
        pcap_dump_close(s->dumper);
    }
    if (s->has_filter)
        pcap_freecode(&s->filter);
    free(s->blk);
    if (s->pcap)
        pcap_close(s->pcap); /* also closes the FILE it was opened on */
    free(s);
}
