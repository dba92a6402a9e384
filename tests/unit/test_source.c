/* test_source.c - reading saved captures through libpcap: errors, frames, truncation, filters; the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pktbuild.h"
#include "segscope/err.h"
#include "segscope/reader.h"
#include "segscope/source.h"

/* ---- a temporary directory per run -------------------------------------- */

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ss_test_source_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    return rmdir(tmpdir);
}

static void tmp_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

/* ---- frames to write ---------------------------------------------------- */

typedef struct wframe {
    uint8_t data[256];
    uint32_t caplen, len;
    int64_t sec;
    uint32_t sub; /* nanoseconds or microseconds, as the file's precision */
} wframe_t;

static void mk_tcp(wframe_t *w, uint16_t sport, uint32_t seq, int64_t sec, uint32_t sub)
{
    ss_pb_pkt_t p = ss_pb_tcp4("10.0.0.1", sport, "10.0.0.2", 80);
    p.tcp.seq = seq;
    p.tcp.flags = SS_TCP_ACK;
    p.tcp.payload = (const uint8_t *)"payload!";
    p.tcp.payload_len = 8;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    size_t n = ss_pb_build(w->data, sizeof(w->data), &l, &p);
    assert_true(n > 0);
    w->caplen = w->len = (uint32_t)n;
    w->sec = sec;
    w->sub = sub;
}

static void mk_udp(wframe_t *w, uint16_t sport, int64_t sec, uint32_t sub)
{
    ss_pb_pkt_t p = ss_pb_udp4("10.0.0.1", sport, "10.0.0.2", 53);
    p.udp.payload = (const uint8_t *)"q";
    p.udp.payload_len = 1;
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;
    size_t n = ss_pb_build(w->data, sizeof(w->data), &l, &p);
    assert_true(n > 0);
    w->caplen = w->len = (uint32_t)n;
    w->sec = sec;
    w->sub = sub;
}

static void mk_arp(wframe_t *w, int64_t sec, uint32_t sub)
{
    uint8_t arp[28];
    size_t an = ss_pb_arp_request(arp, sizeof(arp), "10.0.0.1", "10.0.0.2");
    ss_pb_link_t l = ss_pb_link(SS_LINK_ETHERNET);
    l.pad_to = 60;
    size_t n = ss_pb_wrap(w->data, sizeof(w->data), &l, 0x0806, arp, an);
    w->caplen = w->len = (uint32_t)n;
    w->sec = sec;
    w->sub = sub;
}

/* Writes frames as a pcap file with libpcap itself. */
static void write_pcap(const char *path, const wframe_t *w, size_t n, int precision)
{
    pcap_t *pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, (u_int)precision);
    assert_non_null(pd);
    pcap_dumper_t *d = pcap_dump_open(pd, path);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof(h));
        h.ts.tv_sec = (time_t)w[i].sec;
        h.ts.tv_usec = (suseconds_t)w[i].sub;
        h.caplen = w[i].caplen;
        h.len = w[i].len;
        pcap_dump((u_char *)d, &h, w[i].data);
    }
    pcap_dump_close(d);
    pcap_close(pd);
}

static long file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long)st.st_size;
}

/* ---- opening ------------------------------------------------------------ */

static void test_source_missing_file_io_error(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "does-not-exist.pcap");
    ss_source_t *s = (ss_source_t *)(uintptr_t)1;
    assert_int_equal(ss_source_open_file(&s, path, err), SS_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "No such file"));
}

static void test_source_text_file_format_error(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "notes.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("This is a text file, not a capture. It is long enough for any magic number.\n", f);
    fclose(f);
    ss_source_t *s = (ss_source_t *)(uintptr_t)1;
    assert_int_equal(ss_source_open_file(&s, path, err), SS_ERR_FORMAT);
    assert_null(s);
    assert_true(err[0] != '\0');
}

static void test_source_directory_io_error(void **state)
{
    (void)state;
    char err[SS_SOURCE_ERRBUF] = "";
    ss_source_t *s = (ss_source_t *)(uintptr_t)1;
    assert_int_equal(ss_source_open_file(&s, tmpdir, err), SS_ERR_IO);
    assert_null(s);
    assert_true(err[0] != '\0');
}

/* ---- reading ------------------------------------------------------------ */

static void test_source_reads_frames_numbers_and_nanoseconds(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "three.pcap");
    wframe_t w[3];
    mk_tcp(&w[0], 1111, 1, 1700000000, 123456789);
    mk_udp(&w[1], 2222, 1700000001, 5);
    mk_tcp(&w[2], 3333, 2, 1700000001, 999999999);
    w[2].caplen = 40; /* snaplen-cut: the wire length stays */
    write_pcap(path, w, 3, PCAP_TSTAMP_PRECISION_NANO);

    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    assert_non_null(s);
    assert_int_equal(ss_source_linktype(s), SS_LINK_ETHERNET);
    assert_false(ss_source_is_live(s));
    ss_source_stats_t st;
    ss_source_stats(s, &st);
    assert_false(st.valid);

    for (int i = 0; i < 3; i++) {
        ss_frame_t f;
        memset(&f, 0, sizeof(f));
        assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
        assert_int_equal(f.number, (uint64_t)i + 1);
        assert_int_equal(f.caplen, w[i].caplen);
        assert_int_equal(f.wirelen, w[i].len);
        assert_int_equal(f.ts_sec, w[i].sec);
        assert_int_equal(f.ts_nsec, w[i].sub);
        assert_int_equal(f.linktype, SS_LINK_ETHERNET);
        assert_memory_equal(f.data, w[i].data, f.caplen);
    }
    ss_frame_t f;
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_EOF);
    uint64_t done = 0, total = 0;
    ss_source_progress(s, &done, &total);
    assert_int_equal(total, (uint64_t)file_size(path));
    assert_int_equal(done, total);
    ss_source_close(s);
}

static void test_source_microsecond_file_gives_nanoseconds(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "micro.pcap");
    wframe_t w[2];
    mk_tcp(&w[0], 1, 1, 1600000000, 654321);
    mk_tcp(&w[1], 1, 2, 1600000002, 999999);
    write_pcap(path, w, 2, PCAP_TSTAMP_PRECISION_MICRO);
    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    ss_frame_t f;
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.ts_sec, 1600000000);
    assert_int_equal(f.ts_nsec, 654321000u);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.ts_nsec, 999999000u);
    ss_source_close(s);
}

static void test_source_file_cut_mid_record_truncated_after_whole_frames(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "cut.pcap");
    wframe_t w[3];
    mk_tcp(&w[0], 1, 10, 100, 1);
    mk_tcp(&w[1], 2, 20, 101, 2);
    mk_tcp(&w[2], 3, 30, 102, 3);
    write_pcap(path, w, 3, PCAP_TSTAMP_PRECISION_NANO);
    long size = file_size(path);
    assert_int_equal(truncate(path, size - 5), 0);

    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    ss_frame_t f;
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.number, 1);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.number, 2);
    assert_memory_equal(f.data, w[1].data, w[1].caplen);
    err[0] = '\0';
    assert_int_equal(ss_source_next(s, &f, err), SS_ERR_TRUNCATED);
    assert_true(err[0] != '\0');
    ss_source_close(s);

    /* Cut inside the third record's header: the same. */
    assert_int_equal(truncate(path, size - (long)w[2].caplen - 6), 0);
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(ss_source_next(s, &f, err), SS_ERR_TRUNCATED);
    ss_source_close(s);
}

/*
 * A classic pcap file is read in blocks, and handed back to libpcap at the
 * first record that is not plain. The oracle is libpcap itself: a file of
 * more than a block, with a record longer than the file's snapshot length in
 * the middle, a microsecond count out of range and one negative, must give
 * the same frames, byte for byte, as pcap_next_ex gives.
 */
static void put32(FILE *f, uint32_t v) { assert_int_equal(fwrite(&v, 4, 1, f), 1); }

/* A classic pcap file header: microseconds, this machine's byte order, Ethernet. */
static void put_pcap_header(FILE *f, uint32_t snaplen)
{
    put32(f, 0xa1b2c3d4u);
    put32(f, 2u | (4u << 16));
    put32(f, 0);
    put32(f, 0);
    put32(f, snaplen);
    put32(f, 1);
}

/*
 * A classic pcap file of `n` records, in this machine's byte order: record
 * `odd` (from 0) is longer than the snapshot length (libpcap reads the file
 * from there), records 5 and 6 have odd timestamps.
 */
enum { BLOCKS_N = 12000 };

static void write_blocks_file(const char *path, uint32_t n, uint32_t odd)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put_pcap_header(f, 120);
    uint8_t data[200];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t caplen = i == odd ? 180 : 40 + i % 81;
        put32(f, 1000 + i);
        put32(f, i == 5 ? 2500000u : i == 6 ? 0xFFFFFFF0u : i * 37 % 1000000);
        put32(f, caplen);
        put32(f, caplen + i % 3);
        for (uint32_t k = 0; k < caplen; k++)
            data[k] = (uint8_t)(i * 7 + k);
        assert_int_equal(fwrite(data, 1, caplen, f), caplen);
    }
    assert_int_equal(fclose(f), 0);
    assert_true(file_size(path) > (1 << 20));
}

/* The frame libpcap reads as record `number` (from 1), as ss_source_next should give it. */
static void assert_frame_is(const ss_frame_t *fr, uint64_t number, const struct pcap_pkthdr *h, const u_char *d)
{
    assert_int_equal(fr->number, number);
    assert_int_equal(fr->caplen, h->caplen);
    assert_int_equal(fr->wirelen, h->len);
    assert_int_equal(fr->ts_sec, (int64_t)h->ts.tv_sec);
    long sub = (long)h->ts.tv_usec < 0 ? 0 : (long)h->ts.tv_usec;
    assert_int_equal(fr->ts_nsec, (uint32_t)(sub % 1000000000L));
    assert_memory_equal(fr->data, d, h->caplen);
}

static void test_source_block_reader_matches_libpcap(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "", perr[PCAP_ERRBUF_SIZE];
    tmp_path(path, sizeof(path), "blocks.pcap");
    write_blocks_file(path, BLOCKS_N, 7000);

    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    assert_non_null(p);
    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    uint64_t n = 0;
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int prc = pcap_next_ex(p, &h, &d);
        ss_frame_t fr;
        int rc = ss_source_next(s, &fr, err);
        if (prc != 1) {
            assert_int_equal(prc, PCAP_ERROR_BREAK);
            assert_int_equal(rc, SS_SOURCE_EOF);
            break;
        }
        assert_int_equal(rc, SS_SOURCE_FRAME);
        assert_frame_is(&fr, ++n, h, d);
    }
    assert_int_equal(n, BLOCKS_N);
    pcap_close(p);
    ss_source_close(s);
}

/*
 * A record of libpcap's largest snapshot length (262144 bytes) fits in a
 * block: the block reader reads on past it, and keeps its blocks (a block
 * can still be swapped), where a smaller block would have handed the rest
 * of the file to libpcap.
 */
static void test_source_largest_record_stays_in_blocks(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "largest.pcap");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put_pcap_header(f, 262144);
    static uint8_t data[262144];
    static const uint32_t caplens[] = {60, 262144, 70, 262144, 80};
    for (uint32_t i = 0; i < 5; i++) {
        put32(f, 100 + i);
        put32(f, 0);
        put32(f, caplens[i]);
        put32(f, caplens[i]);
        memset(data, (int)i, caplens[i]);
        assert_int_equal(fwrite(data, 1, caplens[i], f), caplens[i]);
    }
    assert_int_equal(fclose(f), 0);

    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    for (uint32_t i = 0; i < 5; i++) {
        ss_frame_t fr;
        assert_int_equal(ss_source_next(s, &fr, err), SS_SOURCE_FRAME);
        assert_int_equal(fr.caplen, caplens[i]);
        assert_int_equal(fr.data[0], i);
        assert_int_equal(fr.data[fr.caplen - 1], i);
        void *fresh = malloc(SS_SOURCE_BLOCK_BYTES);
        assert_non_null(fresh);
        void *old = ss_source_swap_block(s, fresh);
        assert_non_null(old); /* still reading in blocks */
        free(old);
    }
    ss_frame_t fr;
    assert_int_equal(ss_source_next(s, &fr, err), SS_SOURCE_EOF);
    ss_source_close(s);
}

/*
 * Batches: every frame of a batch is still intact when the batch is
 * complete (checked only then), batches of any size give the frames
 * libpcap gives, in order, numbered by position even with a filter, across
 * the reader's blocks (the file is 3 MB), and the record libpcap has to
 * read itself (the 30000th) is read in its turn.
 */
static void test_source_batches_match_libpcap(void **state)
{
    (void)state;
    enum { N = 32000 };
    char path[256], err[SS_SOURCE_ERRBUF] = "", perr[PCAP_ERRBUF_SIZE];
    tmp_path(path, sizeof(path), "batches.pcap");
    write_blocks_file(path, N, 29999);
    static const char *const filters[] = {NULL, "len > 100"};
    static const size_t sizes[] = {1, 7, 64, 5000};
    for (size_t fi = 0; fi < 2; fi++) {
        /* What libpcap reads, with the frame numbers the filter leaves. */
        struct pcap_pkthdr *hs = calloc(N, sizeof(*hs));
        u_char(*ds)[200] = calloc(N, sizeof(*ds));
        uint64_t *nums = calloc(N, sizeof(*nums));
        assert_non_null(hs);
        assert_non_null(ds);
        assert_non_null(nums);
        pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
        assert_non_null(p);
        struct bpf_program prog;
        if (filters[fi])
            assert_int_equal(pcap_compile(p, &prog, filters[fi], 1, PCAP_NETMASK_UNKNOWN), 0);
        size_t want = 0;
        struct pcap_pkthdr *h;
        const u_char *d;
        for (uint64_t pos = 1; pcap_next_ex(p, &h, &d) == 1; pos++) {
            if (filters[fi] && !pcap_offline_filter(&prog, h, d))
                continue;
            hs[want] = *h;
            memcpy(ds[want], d, h->caplen);
            nums[want++] = pos;
        }
        if (filters[fi])
            pcap_freecode(&prog);
        pcap_close(p);
        assert_true(want > 5000 && want <= N);

        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            ss_source_t *s = NULL;
            assert_int_equal(ss_source_open_file(&s, path, err), 0);
            if (filters[fi])
                assert_int_equal(ss_source_set_filter(s, filters[fi], err), 0);
            ss_frame_t *batch = calloc(sizes[si], sizeof(*batch));
            assert_non_null(batch);
            size_t got = 0, total = 0, largest = 0;
            int rc;
            while ((rc = ss_source_next_batch(s, batch, sizes[si], &got, err)) == SS_SOURCE_FRAME) {
                assert_true(got >= 1 && got <= sizes[si]);
                assert_true(total + got <= want);
                for (size_t k = 0; k < got; k++, total++)
                    assert_frame_is(&batch[k], nums[total], &hs[total], ds[total]);
                largest = got > largest ? got : largest;
            }
            assert_int_equal(rc, SS_SOURCE_EOF);
            assert_int_equal(got, 0);
            assert_int_equal(total, want);
            /* Batches do hold several frames (up to a block's end; after record 7000 libpcap reads one at a time). */
            assert_true(largest >= (sizes[si] < 64 ? sizes[si] : 64));
            free(batch);
            ss_source_close(s);
        }
        free(hs);
        free(ds);
        free(nums);
    }
}

/* ---- filters ------------------------------------------------------------ */

static void test_source_filter_tcp_keeps_only_tcp(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "mixed.pcap");
    wframe_t w[4];
    mk_tcp(&w[0], 1001, 1, 10, 0);
    mk_udp(&w[1], 2002, 11, 0);
    mk_arp(&w[2], 12, 0);
    mk_tcp(&w[3], 1004, 4, 13, 0);
    write_pcap(path, w, 4, PCAP_TSTAMP_PRECISION_NANO);

    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    assert_int_equal(ss_source_set_filter(s, "tcp", err), 0);
    ss_frame_t f;
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.ts_sec, 10);
    assert_memory_equal(f.data, w[0].data, w[0].caplen);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.ts_sec, 13);
    assert_memory_equal(f.data, w[3].data, w[3].caplen);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_EOF);
    ss_source_close(s);

    /* A filter on a port picks the one frame. */
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    assert_int_equal(ss_source_set_filter(s, "udp and src port 2002", err), 0);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    assert_int_equal(f.ts_sec, 11);
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_EOF);
    ss_source_close(s);
}

static void test_source_invalid_filter_error(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF] = "";
    tmp_path(path, sizeof(path), "one.pcap");
    wframe_t w[1];
    mk_tcp(&w[0], 1, 1, 1, 0);
    write_pcap(path, w, 1, PCAP_TSTAMP_PRECISION_NANO);
    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    err[0] = '\0';
    assert_int_equal(ss_source_set_filter(s, "tcp and and port", err), SS_ERR_FILTER);
    assert_true(err[0] != '\0');
    assert_int_equal(ss_source_set_filter(s, "port 99999999", err), SS_ERR_FILTER);
    /* The source still reads after a rejected filter. */
    ss_frame_t f;
    assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
    ss_source_close(s);
}

/* ---- the reader: batches read ahead on a thread ------------------------- */

/* What ss_source_next gives: every frame (bytes copied) and the end. */
typedef struct expect {
    ss_frame_t *fr;
    uint8_t (*data)[200];
    size_t n;
    int end_rc;
    char end_err[SS_SOURCE_ERRBUF];
} expect_t;

static void expect_read(expect_t *e, const char *path, const char *filter, size_t cap)
{
    char err[SS_SOURCE_ERRBUF] = "";
    ss_source_t *s = NULL;
    e->fr = calloc(cap + 1, sizeof(*e->fr)); /* + 1: the read that finds the end */
    e->data = calloc(cap, sizeof(*e->data));
    assert_non_null(e->fr);
    assert_non_null(e->data);
    e->n = 0;
    assert_int_equal(ss_source_open_file(&s, path, err), 0);
    if (filter)
        assert_int_equal(ss_source_set_filter(s, filter, err), 0);
    int rc;
    while ((rc = ss_source_next(s, &e->fr[e->n], err)) == SS_SOURCE_FRAME) {
        assert_true(e->n < cap && e->fr[e->n].caplen <= sizeof(e->data[0]));
        memcpy(e->data[e->n], e->fr[e->n].data, e->fr[e->n].caplen);
        e->n++;
    }
    e->end_rc = rc;
    snprintf(e->end_err, sizeof(e->end_err), "%s", err);
    ss_source_close(s);
}

/* A batch frame is the expected one; its decoding, when given, is what ss_analyzer_prepare makes of it. */
static void assert_batch_frame(const ss_batch_t *b, size_t k, const expect_t *e, size_t i)
{
    const ss_frame_t *f = &b->frames[k], *w = &e->fr[i];
    assert_int_equal(f->number, w->number);
    assert_int_equal(f->caplen, w->caplen);
    assert_int_equal(f->wirelen, w->wirelen);
    assert_int_equal(f->ts_sec, w->ts_sec);
    assert_int_equal(f->ts_nsec, w->ts_nsec);
    assert_memory_equal(f->data, e->data[i], w->caplen);
    if (!b->prep)
        return;
    ss_prepared_t p;
    ss_analyzer_prepare(f, &p);
    const ss_prepared_t *q = &b->prep[k];
    assert_ptr_equal(q->pkt.frame, f);
    assert_int_equal(q->pkt.flags, p.pkt.flags);
    assert_int_equal(q->pkt.l4, p.pkt.l4);
    assert_int_equal(q->pkt.payload_off, p.pkt.payload_off);
    assert_int_equal(q->pkt.payload_caplen, p.pkt.payload_caplen);
    assert_int_equal(q->keyed, p.keyed);
    if (p.keyed) {
        assert_int_equal(q->hash, p.hash);
        assert_int_equal(q->keydir, p.keydir);
        assert_memory_equal(&q->key, &p.key, sizeof(p.key));
    }
}

/*
 * The reader, on a thread or not, with or without a limit and a filter,
 * gives the frames ss_source_next gives, in order, and then the same end:
 * across the source's blocks, past the record from which libpcap reads the
 * file itself (the reader then copies the frames), and up to a record cut
 * off at the end. Every few batches the caller dawdles before checking
 * the batch, while the thread reads on: the batch must stay intact.
 */
static void test_reader_gives_what_the_source_gives(void **state)
{
    (void)state;
    enum { N = 40000 };
    char path[256], cut[256], err[SS_SOURCE_ERRBUF];
    tmp_path(path, sizeof(path), "reader.pcap");
    tmp_path(cut, sizeof(cut), "reader-cut.pcap");
    write_blocks_file(path, N, 30000);
    long size = file_size(path);
    assert_true(size > 3 * (long)SS_SOURCE_BLOCK_BYTES);
    /* The same file cut 20 bytes into its last record. */
    {
        FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
        assert_non_null(in);
        assert_non_null(out);
        uint8_t *all = malloc((size_t)size);
        assert_non_null(all);
        assert_int_equal(fread(all, 1, (size_t)size, in), (size_t)size);
        uint32_t last_caplen = 40 + (N - 1) % 81;
        size_t keep = (size_t)size - last_caplen + 4;
        assert_int_equal(fwrite(all, 1, keep, out), keep);
        free(all);
        fclose(in);
        assert_int_equal(fclose(out), 0);
    }
    const char *const files[] = {path, cut};
    static const char *const filters[] = {NULL, "len > 100"};
    static const uint64_t limits[] = {0, 1, 1023, 1024, 1025, 31111, N - 1, N, N + 5};
    for (size_t fi = 0; fi < 2; fi++)
        for (size_t xi = 0; xi < 2; xi++) {
            expect_t e;
            expect_read(&e, files[fi], filters[xi], N);
            assert_int_equal(e.end_rc, fi == 0 ? SS_SOURCE_EOF : SS_ERR_TRUNCATED);
            for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++)
                for (int th = 0; th < 2; th++) {
                    ss_source_t *s = NULL;
                    ss_reader_t *r = NULL;
                    assert_int_equal(ss_source_open_file(&s, files[fi], err), 0);
                    if (filters[xi])
                        assert_int_equal(ss_source_set_filter(s, filters[xi], err), 0);
                    ss_reader_opts_t o = {.thread = th == 1, .limit = limits[li]};
                    assert_int_equal(ss_reader_open(&r, s, &o), 0);
                    assert_int_equal(ss_reader_threaded(r), th == 1);
                    size_t total = 0, batches = 0;
                    uint64_t done = 0, fsize = 0;
                    ss_batch_t b;
                    int rc;
                    while ((rc = ss_reader_next(r, &b, err)) == SS_SOURCE_FRAME) {
                        assert_true(b.n >= 1);
                        assert_true(total + b.n <= e.n);
                        assert_int_equal(b.prep != NULL, th == 1);
                        if (th == 1 && ++batches % 4 == 0)
                            usleep(300);
                        for (size_t k = 0; k < b.n; k++)
                            assert_batch_frame(&b, k, &e, total + k);
                        total += b.n;
                        uint64_t d, t;
                        ss_reader_progress(r, &d, &t);
                        assert_true(d >= done && t == (uint64_t)file_size(files[fi]));
                        done = d;
                        fsize = t;
                    }
                    size_t want = limits[li] && limits[li] < e.n ? (size_t)limits[li] : e.n;
                    assert_int_equal(total, want);
                    assert_true(fsize > 0 || total == 0);
                    bool by_limit = limits[li] && limits[li] <= e.n; /* the end is not read then */
                    if (by_limit) {
                        assert_int_equal(rc, SS_SOURCE_EOF);
                    } else {
                        assert_int_equal(rc, e.end_rc);
                        assert_string_equal(err, e.end_err);
                    }
                    /* The end again, and again. */
                    err[0] = '\0';
                    assert_int_equal(ss_reader_next(r, &b, err), rc);
                    assert_int_equal(b.n, 0);
                    if (!by_limit)
                        assert_string_equal(err, e.end_err);
                    assert_int_equal(ss_reader_next(r, &b, err), rc);
                    ss_reader_close(r);
                    ss_source_close(s);
                }
            free(e.fr);
            free(e.data);
        }
}

/* Closing a reader that reads ahead, before or in the middle of the file, stops its thread. */
static void test_reader_close_early(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF];
    tmp_path(path, sizeof(path), "reader-early.pcap");
    write_blocks_file(path, 30000, 29000);
    for (int taken = 0; taken < 3; taken++) {
        ss_source_t *s = NULL;
        ss_reader_t *r = NULL;
        assert_int_equal(ss_source_open_file(&s, path, err), 0);
        ss_reader_opts_t o = {.thread = true};
        assert_int_equal(ss_reader_open(&r, s, &o), 0);
        assert_true(ss_reader_threaded(r));
        ss_batch_t b;
        for (int i = 0; i < taken; i++)
            assert_int_equal(ss_reader_next(r, &b, err), SS_SOURCE_FRAME);
        if (taken == 2)
            usleep(20000); /* the ring is full: the thread waits for room */
        ss_reader_close(r);
        /* The source is the caller's again, where the thread left it. */
        ss_frame_t f;
        assert_int_equal(ss_source_next(s, &f, err), SS_SOURCE_FRAME);
        ss_source_close(s);
    }
    ss_reader_close(NULL);
}

/* A capture that is not a regular file (a pipe, a stream in memory) is read on the caller's thread. */
static void test_reader_stream_not_threaded(void **state)
{
    (void)state;
    char path[256], err[SS_SOURCE_ERRBUF];
    tmp_path(path, sizeof(path), "reader-stream.pcap");
    wframe_t w[2];
    mk_tcp(&w[0], 1001, 1, 10, 0);
    mk_udp(&w[1], 2002, 11, 0);
    write_pcap(path, w, 2, PCAP_TSTAMP_PRECISION_NANO);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    ss_source_t *s = NULL;
    assert_int_equal(ss_source_open_stream(&s, f, err), 0);
    ss_reader_t *r = NULL;
    ss_reader_opts_t o = {.thread = true};
    assert_int_equal(ss_reader_open(&r, s, &o), 0);
    assert_false(ss_reader_threaded(r));
    ss_batch_t b;
    size_t total = 0;
    while (ss_reader_next(r, &b, err) == SS_SOURCE_FRAME)
        total += b.n;
    assert_int_equal(total, 2);
    ss_reader_close(r);
    ss_source_close(s);
}

static void test_source_strerror_texts(void **state)
{
    (void)state;
    assert_string_equal(ss_strerror(SS_ERR_TRUNCATED), "capture file cut off in the middle of a record");
    assert_string_equal(ss_strerror(SS_ERR_FILTER), "invalid filter expression");
    assert_string_equal(ss_strerror(0), "success");
    assert_string_equal(ss_strerror(-1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_missing_file_io_error),
        cmocka_unit_test(test_source_text_file_format_error),
        cmocka_unit_test(test_source_directory_io_error),
        cmocka_unit_test(test_source_reads_frames_numbers_and_nanoseconds),
        cmocka_unit_test(test_source_microsecond_file_gives_nanoseconds),
        cmocka_unit_test(test_source_file_cut_mid_record_truncated_after_whole_frames),
        cmocka_unit_test(test_source_block_reader_matches_libpcap),
        cmocka_unit_test(test_source_batches_match_libpcap),
        cmocka_unit_test(test_source_largest_record_stays_in_blocks),
        cmocka_unit_test(test_source_filter_tcp_keeps_only_tcp),
        cmocka_unit_test(test_source_invalid_filter_error),
        cmocka_unit_test(test_source_strerror_texts),
        cmocka_unit_test(test_reader_gives_what_the_source_gives),
        cmocka_unit_test(test_reader_close_early),
        cmocka_unit_test(test_reader_stream_not_threaded),
    };
    return cmocka_run_group_tests_name("source", tests, group_setup, group_teardown);
}
