/* test_framing.c - framing names and the incremental framers (framing.h): exact, truncated, hostile, gaps, splits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "segscope/err.h"
#include "segscope/framing.h"
#include "segscope/stream.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct msgs {
    ss_message_t *m;
    size_t n, cap;
} msgs_t;

static void on_msg(void *ctx, const ss_message_t *m)
{
    msgs_t *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->m = realloc(l->m, l->cap * sizeof(*l->m));
        assert_non_null(l->m);
    }
    l->m[l->n++] = *m;
}

static void msgs_free(msgs_t *l)
{
    free(l->m);
    memset(l, 0, sizeof(*l));
}

static ss_framing_t spec_of(const char *text)
{
    ss_framing_t sp;
    char err[128] = "";
    int rc = ss_framing_parse(text, &sp, err, sizeof(err));
    if (rc != 0)
        fail_msg("framing '%s' rejected: %s", text, err);
    return sp;
}

/* A framer with a message list; `max` is max_message. */
typedef struct fx {
    ss_framer_t f;
    msgs_t l;
} fx_t;

static void fx_init(fx_t *x, const char *spec, uint64_t max)
{
    memset(x, 0, sizeof(*x));
    ss_framing_t sp = spec_of(spec);
    ss_framer_init(&x->f, &sp, max, on_msg, &x->l);
}

static void fx_fini(fx_t *x)
{
    ss_framer_fini(&x->f);
    msgs_free(&x->l);
}

/* Feeds `len` bytes at stream offset `off` from an exactly-sized heap copy, so ASan sees any over-read. */
static ss_chunk_msgs_t feed(fx_t *x, uint64_t off, const void *d, uint32_t len, uint64_t frame)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, d, len);
    ss_stream_chunk_t c = {off, p, len, frame, false};
    ss_chunk_msgs_t out;
    memset(&out, 0xA5, sizeof(out));
    ss_framer_feed(&x->f, &c, &out);
    free(p);
    return out;
}

static ss_chunk_msgs_t feed_gap(fx_t *x, uint64_t off, uint32_t len)
{
    ss_stream_chunk_t c = {off, NULL, len, 0, true};
    ss_chunk_msgs_t out;
    memset(&out, 0xA5, sizeof(out));
    ss_framer_feed(&x->f, &c, &out);
    return out;
}

static void assert_msg(const ss_message_t *m, uint64_t index, uint64_t off, uint64_t len, bool complete)
{
    assert_int_equal(m->index, index);
    assert_int_equal(m->off, off);
    assert_int_equal(m->len, len);
    if (complete)
        assert_true(m->complete);
    else
        assert_false(m->complete);
}

static void assert_out(ss_chunk_msgs_t o, uint64_t first, uint64_t last, uint32_t count)
{
    assert_int_equal(o.count, count);
    if (count) {
        assert_int_equal(o.first, first);
        assert_int_equal(o.last, last);
    }
}

/* splitmix64, seeded: every "random" case is reproducible. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi) /* inclusive */
{
    return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1));
}

/* ---- building framed streams ------------------------------------------- */

typedef struct expect {
    uint64_t off, len;
    uint8_t part;
} expect_t;

typedef struct built {
    uint8_t *b;
    size_t len, cap;
    expect_t *e;
    size_t ne, ecap;
} built_t;

static void put(built_t *s, const void *d, size_t n)
{
    if (s->len + n > s->cap) {
        size_t c = s->cap ? s->cap : 1024;
        while (c < s->len + n)
            c *= 2;
        s->b = realloc(s->b, c);
        assert_non_null(s->b);
        s->cap = c;
    }
    memcpy(s->b + s->len, d, n);
    s->len += n;
}

static void put_uint(built_t *s, uint64_t v, unsigned w, bool le)
{
    uint8_t h[8];
    for (unsigned i = 0; i < w; i++)
        h[le ? i : w - 1 - i] = (uint8_t)(v >> (8 * i));
    put(s, h, w);
}

static void expect_msg(built_t *s, uint64_t off, uint8_t part)
{
    if (s->ne == s->ecap) {
        s->ecap = s->ecap ? s->ecap * 2 : 32;
        s->e = realloc(s->e, s->ecap * sizeof(*s->e));
        assert_non_null(s->e);
    }
    s->e[s->ne++] = (expect_t){off, s->len - off, part};
}

static void built_free(built_t *s)
{
    free(s->b);
    free(s->e);
    memset(s, 0, sizeof(*s));
}

static unsigned len_hdr(const ss_framing_t *sp)
{
    return sp->offset + sp->width;
}

/* Largest payload a LEN framing can declare (the value must fit in `width` bytes). */
static uint64_t len_max_payload(const ss_framing_t *sp)
{
    uint64_t vmax = sp->width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * sp->width)) - 1;
    return sp->inclusive ? vmax - len_hdr(sp) : vmax;
}

/* One LEN message: K filler bytes, the length field, then `payload` random bytes. */
static void build_len(built_t *s, const ss_framing_t *sp, uint64_t payload, uint64_t *rng)
{
    size_t start = s->len;
    for (unsigned i = 0; i < sp->offset; i++) {
        uint8_t b = (uint8_t)rng_next(rng);
        put(s, &b, 1);
    }
    uint64_t v = sp->inclusive ? payload + len_hdr(sp) : payload;
    put_uint(s, v, sp->width, sp->little_endian);
    for (uint64_t i = 0; i < payload; i++) {
        uint8_t b = (uint8_t)rng_next(rng);
        put(s, &b, 1);
    }
    expect_msg(s, start, 0);
}

/*
 * One LINE message of `total` bytes, delimiter included. The content is
 * random but never contains the delimiter; for CRLF it does contain lone
 * LFs and CRs, which must not end a line.
 */
static void build_line(built_t *s, const ss_framing_t *sp, uint64_t total, uint64_t *rng)
{
    size_t start = s->len;
    if (total < sp->delim_len)
        total = sp->delim_len;
    uint8_t prev = 0;
    for (uint64_t i = 0; i < total - sp->delim_len; i++) {
        uint8_t b = (uint8_t)rng_next(rng);
        if (sp->delim_len == 1 && b == sp->delim[0])
            b ^= 0x55;
        if (sp->delim_len == 2 && b == '\n' && prev == '\r')
            b = 'x';
        if (sp->delim_len == 2 && i % 7 == 3)
            b = (i % 2) ? '\r' : (prev == '\r' ? 'y' : '\n');
        put(s, &b, 1);
        prev = b;
    }
    put(s, sp->delim, sp->delim_len);
    expect_msg(s, start, 0);
}

/* One file transfer: header length, JSON header, body (no body message when filesize is 0). */
static void build_file(built_t *s, const ss_framing_t *sp, uint64_t filesize, unsigned n, uint64_t *rng)
{
    char json[160];
    int jl = snprintf(json, sizeof(json), "{\"filename\": \"file-%u.bin\", \"filesize\": %llu, \"md5\": \"%032x\"}\n",
                      n, (unsigned long long)filesize, n);
    size_t start = s->len;
    put_uint(s, (uint64_t)jl, 4, sp->little_endian);
    expect_msg(s, start, 0);
    start = s->len;
    put(s, json, (size_t)jl);
    expect_msg(s, start, 1);
    if (filesize) {
        start = s->len;
        for (uint64_t i = 0; i < filesize; i++) {
            uint8_t b = (uint8_t)rng_next(rng);
            put(s, &b, 1);
        }
        expect_msg(s, start, 2);
    }
}

/* Message sizes from 0 or 1 byte up to 100 KiB: mostly small, some large, the extremes always. */
static uint64_t pick_size(uint64_t *rng, unsigned i)
{
    if (i == 0)
        return 0;
    if (i == 1)
        return 1;
    if (i == 5)
        return 100 * 1024;
    uint32_t r = rng_range(rng, 0, 99);
    if (r < 70)
        return rng_range(rng, 1, 100);
    if (r < 90)
        return rng_range(rng, 101, 3000);
    return rng_range(rng, 3001, 40000);
}

static void build_stream(built_t *s, const ss_framing_t *sp, uint64_t seed)
{
    uint64_t rng = seed;
    memset(s, 0, sizeof(*s));
    unsigned count = sp->kind == SS_FRAMING_FILEXFER ? 10 : 24;
    for (unsigned i = 0; i < count; i++) {
        uint64_t size = pick_size(&rng, i);
        switch (sp->kind) {
        case SS_FRAMING_LEN:
            build_len(s, sp, size < len_max_payload(sp) ? size : len_max_payload(sp), &rng);
            break;
        case SS_FRAMING_LINE: build_line(s, sp, size, &rng); break;
        case SS_FRAMING_FILEXFER: build_file(s, sp, size, i, &rng); break;
        default: fail_msg("no builder for this framing");
        }
    }
}

/* ---- names --------------------------------------------------------------- */

typedef struct parse_case {
    const char *text;
    ss_framing_kind_t kind;
    uint8_t width;
    bool le, incl;
    uint16_t offset;
    uint8_t delim0, delim1, delim_len;
    const char *name;
} parse_case_t;

static const parse_case_t accepted[] = {
    {"none", SS_FRAMING_NONE, 0, false, false, 0, 0, 0, 0, "none"},
    {"auto", SS_FRAMING_AUTO, 0, false, false, 0, 0, 0, 0, "auto"},
    {"demo", SS_FRAMING_AUTO, 0, false, false, 0, 0, 0, 0, "auto"},
    {"line", SS_FRAMING_LINE, 0, false, false, 0, '\n', 0, 1, "line"},
    {"line:lf", SS_FRAMING_LINE, 0, false, false, 0, '\n', 0, 1, "line"},
    {"line:crlf", SS_FRAMING_LINE, 0, false, false, 0, '\r', '\n', 2, "line:crlf"},
    {"line:0x00", SS_FRAMING_LINE, 0, false, false, 0, 0x00, 0, 1, "line:0x00"},
    {"line:0x1e", SS_FRAMING_LINE, 0, false, false, 0, 0x1e, 0, 1, "line:0x1e"},
    {"line:0xFF", SS_FRAMING_LINE, 0, false, false, 0, 0xff, 0, 1, "line:0xff"},
    {"len:1", SS_FRAMING_LEN, 1, false, false, 0, 0, 0, 0, "len:1:be"},
    {"len:2", SS_FRAMING_LEN, 2, false, false, 0, 0, 0, 0, "len:2:be"},
    {"len:4", SS_FRAMING_LEN, 4, false, false, 0, 0, 0, 0, "len:4:be"},
    {"len:8", SS_FRAMING_LEN, 8, false, false, 0, 0, 0, 0, "len:8:be"},
    {"len:4:be", SS_FRAMING_LEN, 4, false, false, 0, 0, 0, 0, "len:4:be"},
    {"len:4:le", SS_FRAMING_LEN, 4, true, false, 0, 0, 0, 0, "len:4:le"},
    {"len:2:incl", SS_FRAMING_LEN, 2, false, true, 0, 0, 0, 0, "len:2:be:incl"},
    {"len:4:off=0", SS_FRAMING_LEN, 4, false, false, 0, 0, 0, 0, "len:4:be"},
    {"len:4:off=2", SS_FRAMING_LEN, 4, false, false, 2, 0, 0, 0, "len:4:be:off=2"},
    {"len:1:off=8", SS_FRAMING_LEN, 1, false, false, 8, 0, 0, 0, "len:1:be:off=8"},
    {"len:8:le:incl:off=8", SS_FRAMING_LEN, 8, true, true, 8, 0, 0, 0, "len:8:le:incl:off=8"},
    {"len:2:incl:le:off=3", SS_FRAMING_LEN, 2, true, true, 3, 0, 0, 0, "len:2:le:incl:off=3"},
    {"len32le", SS_FRAMING_LEN, 4, true, false, 0, 0, 0, 0, "len:4:le"},
    {"filexfer", SS_FRAMING_FILEXFER, 0, false, false, 0, 0, 0, 0, "filexfer:be"},
    {"filexfer:be", SS_FRAMING_FILEXFER, 0, false, false, 0, 0, 0, 0, "filexfer:be"},
    {"filexfer:le", SS_FRAMING_FILEXFER, 0, true, false, 0, 0, 0, 0, "filexfer:le"},
};

static void test_framing_parse_every_spelling_accepted(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const parse_case_t *c = &accepted[i];
        ss_framing_t f;
        memset(&f, 0x5A, sizeof(f));
        char err[128] = "untouched";
        int rc = ss_framing_parse(c->text, &f, err, sizeof(err));
        if (rc != 0)
            fail_msg("'%s' rejected: %s", c->text, err);
        assert_int_equal(f.kind, c->kind);
        if (c->kind == SS_FRAMING_LEN) {
            if (f.width != c->width || f.little_endian != c->le || f.inclusive != c->incl || f.offset != c->offset)
                bad++, print_error("'%s' parsed as width %u %s%s off=%u, expected width %u %s%s off=%u\n", c->text, f.width,
                         f.little_endian ? "le" : "be", f.inclusive ? " incl" : "", f.offset, c->width,
                         c->le ? "le" : "be", c->incl ? " incl" : "", c->offset);
        }
        if (c->kind == SS_FRAMING_LINE) {
            assert_int_equal(f.delim_len, c->delim_len);
            assert_int_equal(f.delim[0], c->delim0);
            if (c->delim_len == 2)
                assert_int_equal(f.delim[1], c->delim1);
        }
        if (c->kind == SS_FRAMING_FILEXFER)
            assert_int_equal(f.little_endian, c->le);
    }
    assert_int_equal(bad, 0);
}

static void test_framing_name_round_trip_canonical(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        const parse_case_t *c = &accepted[i];
        ss_framing_t f = spec_of(c->text);
        char name[64];
        memset(name, 'Z', sizeof(name));
        const char *r = ss_framing_name(&f, name, sizeof(name));
        assert_ptr_equal(r, name);
        if (strcmp(name, c->name) != 0)
            bad++, print_error("'%s' is named '%s', expected '%s'\n", c->text, name, c->name);
        ss_framing_t g = spec_of(name);
        assert_int_equal(g.kind, f.kind);
        assert_int_equal(g.width, f.width);
        assert_int_equal(g.little_endian, f.little_endian);
        assert_int_equal(g.inclusive, f.inclusive);
        assert_int_equal(g.offset, f.offset);
        assert_int_equal(g.delim_len, f.delim_len);
        assert_int_equal(g.delim[0], f.delim[0]);
        assert_int_equal(g.delim[1], f.delim[1]);
    }
    assert_int_equal(bad, 0);
}

/* The short names: len32 and len16 are big-endian (network order), len32le is not. */
static void test_framing_parse_len32_len16_big_endian(void **state)
{
    (void)state;
    const parse_case_t cases[] = {
        {"len32", SS_FRAMING_LEN, 4, false, false, 0, 0, 0, 0, "len:4:be"},
        {"len16", SS_FRAMING_LEN, 2, false, false, 0, 0, 0, 0, "len:2:be"},
    };
    int bad = 0;
    for (size_t i = 0; i < 2; i++) {
        ss_framing_t f = spec_of(cases[i].text);
        char name[64];
        ss_framing_name(&f, name, sizeof(name));
        assert_int_equal(f.kind, SS_FRAMING_LEN);
        assert_int_equal(f.width, cases[i].width);
        assert_false(f.inclusive);
        assert_int_equal(f.offset, 0);
        if (f.little_endian || strcmp(name, cases[i].name) != 0)
            bad++, print_error("'%s' parsed as %s-endian, named '%s'\n", cases[i].text,
                               f.little_endian ? "little" : "big", name);
    }
    assert_int_equal(bad, 0);
    /* ... and they frame as big-endian: 00 02 is a 2-byte payload, not 512 */
    fx_t x;
    fx_init(&x, "len16", 1000);
    feed(&x, 0, "\0\2ab", 4, 1);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    fx_fini(&x);
}

typedef struct reject_case {
    const char *text;
    const char *why; /* a piece the message must contain */
} reject_case_t;

static void check_rejected(const reject_case_t *c)
{
    ss_framing_t f;
    char err[128] = "";
    int rc = ss_framing_parse(c->text, &f, err, sizeof(err));
    if (rc != SS_ERR_INVAL)
        fail_msg("'%s' gave %d, not SS_ERR_INVAL", c->text, rc);
    if (!strstr(err, c->why))
        fail_msg("'%s': message '%s' does not mention '%s'", c->text, err, c->why);
}

static void test_framing_parse_rejections_explained(void **state)
{
    (void)state;
    char longname[120];
    memset(longname, 'x', sizeof(longname));
    memcpy(longname, "len:4:", 6);
    longname[sizeof(longname) - 1] = '\0';
    const reject_case_t cases[] = {
        {"len:3", "width"},
        {"len", "width"},
        {"len:16", "width"},
        {"len:4:xx", "xx"},
        {"len:4:off=9", "off=K"},
        {"len:4:off=", "off=K"},
        {"len:4:off=2x", "off=K"},
        {"len:4:off=-1", "off=K"},
        {"bogus", "bogus"},
        {"LINE", "LINE"},
        {"", "empty"},
        {longname, "too long"},
        {"line:cr", "cr"},
        {"line:0x0", "0x0"},
        {"line:0xzz", "0xzz"},
        {"line:0x001", "0x001"},
        {"line:0x0a0d", "0x0a0d"},
        {"filexfer:xx", "xx"},
        {"len32:le", "takes no options"},
        {"none:x", "takes no options"},
        {"auto:x", "takes no options"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_rejected(&cases[i]);
}

static void test_framing_parse_length_limit_95_ok_96_rejected(void **state)
{
    (void)state;
    char text[128] = "len:4";
    while (strlen(text) < 95)
        strcat(text, ":be"); /* 5 + 30 * 3 = 95 characters */
    assert_int_equal(strlen(text), 95);
    ss_framing_t f;
    char err[128] = "";
    assert_int_equal(ss_framing_parse(text, &f, err, sizeof(err)), 0);
    assert_int_equal(f.width, 4);
    strcat(text, "e");
    const reject_case_t c = {text, "too long"};
    check_rejected(&c);
}

/* An option after the one LINE or FILEXFER takes is not silently ignored. */
static void test_framing_parse_trailing_option_rejected(void **state)
{
    (void)state;
    const reject_case_t cases[] = {
        {"line:crlf:junk", "junk"},
        {"line:0x00:0x01", "0x01"},
        {"filexfer:le:junk", "junk"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ss_framing_t f;
        char err[128] = "";
        int rc = ss_framing_parse(cases[i].text, &f, err, sizeof(err));
        if (rc != SS_ERR_INVAL)
            bad++, print_error("'%s' accepted\n", cases[i].text);
    }
    assert_int_equal(bad, 0);
}

/* ---- exact input ---------------------------------------------------------- */

static void test_framing_len4_exact_offsets_lengths_one_frame(void **state)
{
    (void)state;
    const uint8_t in[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 5, 'v', 'w', 'x', 'y', 'z'};
    fx_t x;
    fx_init(&x, "len:4", 1000);
    ss_chunk_msgs_t o = feed(&x, 0, in, sizeof(in), 7);
    assert_out(o, 0, 2, 3);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[0], 0, 0, 7, true);
    assert_msg(&x.l.m[1], 1, 7, 4, true);
    assert_msg(&x.l.m[2], 2, 11, 9, true);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(x.l.m[i].nframes, 1);
        assert_int_equal(x.l.m[i].frames[0], 7);
        assert_int_equal(x.l.m[i].last_frame, 7);
    }
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 3);
    assert_false(x.f.broken);
    fx_fini(&x);
}

static void test_framing_len_variants_exact(void **state)
{
    (void)state;
    fx_t x;
    /* 2-byte little-endian length */
    const uint8_t le2[] = {3, 0, 'a', 'b', 'c', 0, 1, 'X'};
    fx_init(&x, "len:2:le", 1 << 20);
    feed(&x, 0, le2, sizeof(le2), 1);
    assert_int_equal(x.l.n, 1); /* 0x0100 = 256 bytes: the second is unfinished */
    assert_msg(&x.l.m[0], 0, 0, 5, true);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[1], 1, 5, 3, false);
    fx_fini(&x);
    /* 1-byte length */
    const uint8_t w1[] = {0, 2, 'h', 'i', 1, '!'};
    fx_init(&x, "len:1", 100);
    feed(&x, 0, w1, sizeof(w1), 1);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[0], 0, 0, 1, true);
    assert_msg(&x.l.m[1], 1, 1, 3, true);
    assert_msg(&x.l.m[2], 2, 4, 2, true);
    fx_fini(&x);
    /* 8-byte big-endian length */
    const uint8_t w8[] = {0, 0, 0, 0, 0, 0, 0, 2, 'h', 'i'};
    fx_init(&x, "len:8", 100);
    feed(&x, 0, w8, sizeof(w8), 1);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 10, true);
    fx_fini(&x);
    /* inclusive length behind a 2-byte header: the value counts everything */
    const uint8_t incl[] = {'X', 'Y', 0, 7, 'a', 'b', 'c', 'Q', 'R', 0, 4};
    fx_init(&x, "len:2:incl:off=2", 100);
    feed(&x, 0, incl, sizeof(incl), 1);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 7, true);
    assert_msg(&x.l.m[1], 1, 7, 4, true);
    fx_fini(&x);
    /* the same bytes read as exclusive: 7 payload bytes after the 4-byte header */
    fx_init(&x, "len:2:off=2", 100);
    feed(&x, 0, incl, sizeof(incl), 1);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 11, true);
    fx_fini(&x);
}

static void test_framing_line_lf_exact(void **state)
{
    (void)state;
    const char in[] = "ab\nc\n\nxyz\n";
    fx_t x;
    fx_init(&x, "line", 100);
    ss_chunk_msgs_t o = feed(&x, 0, in, (uint32_t)strlen(in), 3);
    assert_out(o, 0, 3, 4);
    assert_int_equal(x.l.n, 4);
    assert_msg(&x.l.m[0], 0, 0, 3, true);
    assert_msg(&x.l.m[1], 1, 3, 2, true);
    assert_msg(&x.l.m[2], 2, 5, 1, true);
    assert_msg(&x.l.m[3], 3, 6, 4, true);
    assert_int_equal(x.l.m[3].frames[0], 3);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 4);
    fx_fini(&x);
}

static void test_framing_line_crlf_lone_cr_lf_not_delimiters(void **state)
{
    (void)state;
    const char in[] = "ab\r\nc\rd\ne\r\n\r\n";
    fx_t x;
    fx_init(&x, "line:crlf", 100);
    feed(&x, 0, in, (uint32_t)strlen(in), 1);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    assert_msg(&x.l.m[1], 1, 4, 7, true);
    assert_msg(&x.l.m[2], 2, 11, 2, true);
    fx_fini(&x);

    /* CR and LF in different chunks still end the line; a chunk starting with LF after a non-CR does not. */
    fx_init(&x, "line:crlf", 100);
    feed(&x, 0, "ab\r", 3, 1);
    assert_int_equal(x.l.n, 0);
    feed(&x, 3, "\ncd", 3, 2);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    feed(&x, 6, "\nef\r\n", 5, 3);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[1], 1, 4, 7, true);
    fx_fini(&x);
}

static void test_framing_line_nul_delimiter_exact(void **state)
{
    (void)state;
    const uint8_t in[] = {'a', 0, 'b', '\n', 0, 0};
    fx_t x;
    fx_init(&x, "line:0x00", 100);
    feed(&x, 0, in, sizeof(in), 1);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[0], 0, 0, 2, true);
    assert_msg(&x.l.m[1], 1, 2, 3, true);
    assert_msg(&x.l.m[2], 2, 5, 1, true);
    fx_fini(&x);
}

static void test_framing_none_and_auto_report_no_messages(void **state)
{
    (void)state;
    const char *specs[] = {"none", "auto", "demo"};
    for (size_t i = 0; i < 3; i++) {
        fx_t x;
        fx_init(&x, specs[i], 100);
        ss_chunk_msgs_t o = feed(&x, 0, "\0\0\0\1a\nb\n", 8, 1);
        assert_out(o, 0, 0, 0);
        ss_framer_finish(&x.f);
        assert_int_equal(x.l.n, 0);
        fx_fini(&x);
    }
}

/* ---- truncated input ------------------------------------------------------ */

static void test_framing_truncated_last_message_incomplete_with_bytes_seen(void **state)
{
    (void)state;
    fx_t x;
    const uint8_t in[] = {0, 0, 0, 1, 'z', 0, 0, 0, 10, 1, 2, 3, 4, 5, 6};
    fx_init(&x, "len:4", 100);
    feed(&x, 0, in, sizeof(in), 1);
    assert_int_equal(x.l.n, 1);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[1], 1, 5, 10, false);
    ss_framer_finish(&x.f); /* finishing twice reports nothing more */
    assert_int_equal(x.l.n, 2);
    fx_fini(&x);

    /* cut inside the length field */
    fx_init(&x, "len:4", 100);
    feed(&x, 0, in, 7, 1);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[1], 1, 5, 2, false);
    fx_fini(&x);

    fx_init(&x, "line", 100);
    feed(&x, 0, "abc\nde", 6, 1);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    assert_msg(&x.l.m[1], 1, 4, 2, false);
    fx_fini(&x);

    /* a file transfer cut inside the JSON header */
    fx_init(&x, "filexfer", 100);
    feed(&x, 0, "\0\0\0\x14{\"files", 11, 1);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    assert_msg(&x.l.m[1], 1, 4, 7, false);
    assert_int_equal(x.l.m[1].part, 1);
    fx_fini(&x);
}

/* ---- declared lengths over the maximum, hostile input --------------------- */

/* After the framing breaks nothing is framed: only the message in progress may be reported, incomplete. */
static void assert_nothing_framed_after(const fx_t *x, size_t before)
{
    assert_true(x->f.broken);
    assert_true(x->l.n <= before + 1);
    for (size_t i = before; i < x->l.n; i++) {
        assert_false(x->l.m[i].complete);
        assert_int_equal(x->l.m[i].off, x->f.broken_at);
    }
}

static void test_framing_len_declared_over_max_breaks_then_unframed(void **state)
{
    (void)state;
    fx_t x;
    built_t s;
    memset(&s, 0, sizeof(s));
    ss_framing_t sp = spec_of("len:4");
    uint64_t rng = 1;
    build_len(&s, &sp, 96, &rng);  /* 100 bytes: exactly the maximum */
    build_len(&s, &sp, 97, &rng);  /* 101 bytes: one over */
    build_len(&s, &sp, 1, &rng);   /* would be fine, but the stream is unframed by now */
    fx_init(&x, "len:4", 100);
    feed(&x, 0, s.b, 100, 1);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 100, true);
    assert_false(x.f.broken);
    feed(&x, 100, s.b + 100, (uint32_t)(s.len - 100), 2);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 100);
    /* the declared value (97) or the message size it implies (101), and the maximum */
    assert_true(strstr(x.f.broken_why, "97") || strstr(x.f.broken_why, "101"));
    assert_non_null(strstr(x.f.broken_why, "100"));
    assert_nothing_framed_after(&x, 1);
    size_t n = x.l.n;
    ss_chunk_msgs_t o = feed(&x, s.len, s.b + 200, 5, 3);
    assert_out(o, 0, 0, 0);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, n);
    fx_fini(&x);
    built_free(&s);

    /* inclusive: the declared value is the whole message */
    const uint8_t incl[] = {0, 0, 0, 200, 1, 2, 3};
    fx_init(&x, "len:4:incl", 100);
    feed(&x, 0, incl, sizeof(incl), 1);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 0);
    assert_non_null(strstr(x.f.broken_why, "200"));
    assert_nothing_framed_after(&x, 0);
    fx_fini(&x);
}

static void test_framing_len8_all_ones_breaks(void **state)
{
    (void)state;
    const char *specs[] = {"len:8", "len:8:le", "len:8:incl", "len:8:le:incl"};
    for (size_t i = 0; i < 4; i++) {
        ss_framing_t sp = spec_of(specs[i]);
        built_t s;
        memset(&s, 0, sizeof(s));
        uint64_t rng = 5;
        build_len(&s, &sp, 1, &rng); /* a 9-byte message first */
        const uint8_t ones[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 'b', 'c'};
        put(&s, ones, sizeof(ones));
        fx_t x;
        fx_init(&x, specs[i], 1 << 20);
        feed(&x, 0, s.b, 9, 1);
        assert_int_equal(x.l.n, 1);
        assert_msg(&x.l.m[0], 0, 0, 9, true);
        feed(&x, 9, s.b + 9, (uint32_t)(s.len - 9), 2);
        assert_true(x.f.broken);
        assert_int_equal(x.f.broken_at, 9);
        if (!strstr(x.f.broken_why, "18446744073709551615"))
            fail_msg("%s: '%s' does not mention the declared length", specs[i], x.f.broken_why);
        assert_nothing_framed_after(&x, 1);
        ss_framer_finish(&x.f);
        assert_nothing_framed_after(&x, 1);
        fx_fini(&x);
        built_free(&s);
    }
}

static void test_framing_len_incl_shorter_than_header_breaks(void **state)
{
    (void)state;
    /* 4 is the smallest inclusive length (a header alone); 3 cannot be. */
    const uint8_t in[] = {0, 0, 0, 4, 0, 0, 0, 5, 'x', 0, 0, 0, 3, 'y', 'y'};
    fx_t x;
    fx_init(&x, "len:4:incl", 100);
    feed(&x, 0, in, sizeof(in), 1);
    assert_int_equal(x.l.m[0].len, 4);
    assert_true(x.l.m[0].complete);
    assert_msg(&x.l.m[1], 1, 4, 5, true);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 9);
    assert_non_null(strstr(x.f.broken_why, "3"));
    assert_non_null(strstr(x.f.broken_why, "header"));
    assert_nothing_framed_after(&x, 2);
    fx_fini(&x);

    /* behind an offset the header is offset + width: 3 < 2 + 2 */
    const uint8_t off[] = {'h', 'h', 0, 0};
    fx_init(&x, "len:2:incl:off=2", 100);
    feed(&x, 0, off, sizeof(off), 1);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 0);
    fx_fini(&x);
}

static void test_framing_filexfer_header_length_zero_or_huge_breaks(void **state)
{
    (void)state;
    struct {
        uint8_t hdr[4];
        const char *num;
        uint64_t max;
    } cases[] = {
        {{0, 0, 0, 0}, "length 0 ", 1 << 20},
        {{0x7F, 0xFF, 0xFF, 0xFF}, "2147483647", 1 << 20},
        {{0xFF, 0xFF, 0xFF, 0xFF}, "4294967295", 1 << 20},
        {{0, 0, 0, 200}, "200", 100}, /* over max_message */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fx_t x;
        fx_init(&x, "filexfer", cases[i].max);
        uint8_t in[40];
        memcpy(in, cases[i].hdr, 4);
        memset(in + 4, '{', sizeof(in) - 4);
        feed(&x, 0, in, sizeof(in), 1);
        assert_true(x.l.n >= 1);
        assert_msg(&x.l.m[0], 0, 0, 4, true);
        assert_int_equal(x.l.m[0].part, 0);
        assert_true(x.f.broken);
        assert_int_equal(x.f.broken_at, 4);
        if (!strstr(x.f.broken_why, cases[i].num))
            fail_msg("case %zu: '%s' does not mention %s", i, x.f.broken_why, cases[i].num);
        assert_nothing_framed_after(&x, 1);
        ss_framer_finish(&x.f);
        assert_nothing_framed_after(&x, 1);
        fx_fini(&x);
    }
}

static void test_framing_filexfer_json_without_filesize_breaks(void **state)
{
    (void)state;
    const char *jsons[] = {"{\"filename\": \"a.txt\", \"size\": 3}", "{\"filesize\": \"3\"}", "{\"filesize\": -3}",
                           "{\"filesize\" 3}", "{\"filesize\": 99999999999999999999999}"};
    for (size_t i = 0; i < sizeof(jsons) / sizeof(jsons[0]); i++) {
        built_t s;
        memset(&s, 0, sizeof(s));
        size_t jl = strlen(jsons[i]);
        put_uint(&s, jl, 4, false);
        put(&s, jsons[i], jl);
        put(&s, "abc\0\0\0\x05hello", 12);
        fx_t x;
        fx_init(&x, "filexfer", 1 << 20);
        feed(&x, 0, s.b, (uint32_t)s.len, 1);
        assert_int_equal(x.l.n, 2);
        assert_msg(&x.l.m[0], 0, 0, 4, true);
        assert_msg(&x.l.m[1], 1, 4, jl, true);
        assert_int_equal(x.l.m[1].part, 1);
        assert_true(x.f.broken);
        assert_int_equal(x.f.broken_at, 4 + jl);
        assert_non_null(strstr(x.f.broken_why, "filesize"));
        ss_framer_finish(&x.f);
        assert_int_equal(x.l.n, 2);
        fx_fini(&x);
        built_free(&s);
    }
}

static void test_framing_filexfer_filesize_over_max_breaks(void **state)
{
    (void)state;
    const char js[] = "{\"filesize\": 5000}";
    built_t s;
    memset(&s, 0, sizeof(s));
    put_uint(&s, sizeof(js) - 1, 4, true);
    put(&s, js, sizeof(js) - 1);
    put(&s, "body", 4);
    fx_t x;
    fx_init(&x, "filexfer:le", 1000);
    feed(&x, 0, s.b, (uint32_t)s.len, 1);
    assert_true(x.l.n >= 2);
    assert_int_equal(x.l.m[1].part, 1);
    assert_true(x.l.m[1].complete);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 4 + sizeof(js) - 1);
    assert_non_null(strstr(x.f.broken_why, "5000"));
    assert_nothing_framed_after(&x, 2);
    fx_fini(&x);
    built_free(&s);
}

static void test_framing_line_without_delimiter_past_max_breaks(void **state)
{
    (void)state;
    fx_t x;
    fx_init(&x, "line", 16);
    feed(&x, 0, "ok\n", 3, 1);
    char a[8];
    memset(a, 'a', sizeof(a));
    for (int i = 0; i < 5; i++)
        feed(&x, 3 + 8 * (uint64_t)i, a, 8, 2 + (uint64_t)i);
    feed(&x, 43, "\nnext\n", 6, 9);
    ss_framer_finish(&x.f);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 3);
    assert_non_null(strstr(x.f.broken_why, "16"));
    assert_true(x.l.m[0].complete);
    assert_nothing_framed_after(&x, 1);
    fx_fini(&x);
}

/*
 * A line longer than max_message must be refused however it is split:
 * whether the delimiter arrives in the same chunk or in a later one.
 */
static void test_framing_line_longer_than_max_same_in_any_split(void **state)
{
    (void)state;
    const char in[] = "0123456789abcdefghijklmn\nok\n"; /* a 25-byte line, then a 3-byte line */
    const uint32_t n = (uint32_t)strlen(in);
    fx_t once, bytes;
    fx_init(&once, "line", 16);
    fx_init(&bytes, "line", 16);
    feed(&once, 0, in, n, 1);
    for (uint32_t i = 0; i < n; i++)
        feed(&bytes, i, in + i, 1, 1 + i);
    ss_framer_finish(&once.f);
    ss_framer_finish(&bytes.f);
    assert_true(bytes.f.broken);
    assert_true(once.f.broken);
    assert_int_equal(once.f.broken_at, 0);
    assert_int_equal(bytes.f.broken_at, 0);
    for (size_t i = 0; i < once.l.n; i++)
        assert_false(once.l.m[i].complete && once.l.m[i].len > 16);
    assert_int_equal(once.l.n, bytes.l.n);
    for (size_t i = 0; i < once.l.n; i++) {
        assert_int_equal(once.l.m[i].off, bytes.l.m[i].off);
        assert_int_equal(once.l.m[i].len, bytes.l.m[i].len);
        assert_int_equal(once.l.m[i].complete, bytes.l.m[i].complete);
    }
    fx_fini(&once);
    fx_fini(&bytes);
}

/* ---- gaps ------------------------------------------------------------------ */

static void test_framing_len_gap_inside_known_length_keeps_boundaries(void **state)
{
    (void)state;
    built_t s;
    memset(&s, 0, sizeof(s));
    ss_framing_t sp = spec_of("len:4");
    uint64_t rng = 3;
    build_len(&s, &sp, 10, &rng); /* 0..14 */
    build_len(&s, &sp, 2, &rng);  /* 14..20 */
    fx_t x;
    fx_init(&x, "len:4", 100);
    feed(&x, 0, s.b, 7, 1);
    ss_chunk_msgs_t o = feed_gap(&x, 7, 4);
    assert_out(o, 0, 0, 1);
    assert_int_equal(x.l.n, 0);
    o = feed(&x, 11, s.b + 11, 9, 2);
    assert_out(o, 0, 1, 2);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 14, false);
    assert_int_equal(x.l.m[0].nframes, 2); /* the gap carried no frame */
    assert_int_equal(x.l.m[0].frames[0], 1);
    assert_int_equal(x.l.m[0].frames[1], 2);
    assert_msg(&x.l.m[1], 1, 14, 6, true);
    assert_false(x.f.broken);

    /* a gap ending exactly at the end of a message */
    feed(&x, 20, s.b, 7, 3);
    feed_gap(&x, 27, 7);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[2], 2, 20, 14, false);
    feed(&x, 34, s.b + 14, 6, 4);
    assert_int_equal(x.l.n, 4);
    assert_msg(&x.l.m[3], 3, 34, 6, true);
    assert_false(x.f.broken);
    fx_fini(&x);
    built_free(&s);
}

static void test_framing_len_gap_where_length_needed_breaks(void **state)
{
    (void)state;
    const uint8_t in[] = {0, 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 'c'};
    fx_t x;
    /* between messages */
    fx_init(&x, "len:4", 100);
    feed(&x, 0, in, 6, 1);
    ss_chunk_msgs_t o = feed_gap(&x, 6, 10);
    assert_out(o, 0, 0, 0);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 6);
    feed(&x, 16, in, sizeof(in), 2);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 1);
    fx_fini(&x);
    /* inside the length field */
    fx_init(&x, "len:4", 100);
    feed(&x, 0, in, 8, 1);
    o = feed_gap(&x, 8, 3);
    assert_out(o, 1, 1, 1);
    assert_true(x.f.broken);
    assert_int_equal(x.f.broken_at, 8);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[1], 1, 6, 2, false);
    feed(&x, 11, in, sizeof(in), 2);
    ss_framer_finish(&x.f);
    assert_int_equal(x.l.n, 2);
    fx_fini(&x);
}

/*
 * A gap that starts inside a message of known length and runs on past its
 * end: the message still ends where its length says, and the framing
 * breaks where the next length was needed.
 */
static void test_framing_len_gap_past_message_end_keeps_its_length(void **state)
{
    (void)state;
    const uint8_t in[] = {0, 0, 0, 10, 1, 2, 3, 4, 5, 6};
    fx_t x;
    fx_init(&x, "len:4", 100);
    feed(&x, 0, in, sizeof(in), 1);
    feed_gap(&x, 10, 10); /* 10..14 are message 0, 14..20 the next header and more */
    assert_true(x.f.broken);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 14, false);
    assert_int_equal(x.f.broken_at, 14);
    fx_fini(&x);
}

static void test_framing_filexfer_gap_in_body_next_file_framed(void **state)
{
    (void)state;
    built_t s;
    memset(&s, 0, sizeof(s));
    ss_framing_t sp = spec_of("filexfer");
    uint64_t rng = 4;
    build_file(&s, &sp, 100, 0, &rng);
    build_file(&s, &sp, 7, 1, &rng);
    assert_int_equal(s.ne, 6);
    uint64_t body = s.e[2].off;
    fx_t x;
    fx_init(&x, "filexfer", 1000);
    feed(&x, 0, s.b, (uint32_t)(body + 30), 1);
    feed_gap(&x, body + 30, 20);
    feed(&x, body + 50, s.b + body + 50, (uint32_t)(s.len - body - 50), 2);
    ss_framer_finish(&x.f);
    assert_false(x.f.broken);
    assert_int_equal(x.l.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_msg(&x.l.m[i], i, s.e[i].off, s.e[i].len, i != 2);
        assert_int_equal(x.l.m[i].part, s.e[i].part);
    }
    fx_fini(&x);
    built_free(&s);
}

static void test_framing_line_gap_inside_line_resynchronises(void **state)
{
    (void)state;
    fx_t x;
    fx_init(&x, "line", 100);
    feed(&x, 0, "abc", 3, 1);
    ss_chunk_msgs_t o = feed_gap(&x, 3, 3);
    assert_out(o, 0, 0, 1);
    feed(&x, 6, "de\nfg\n", 6, 2);
    ss_framer_finish(&x.f);
    assert_false(x.f.broken);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 9, false);
    assert_msg(&x.l.m[1], 1, 9, 3, true);
    fx_fini(&x);

    /* CRLF: the CR before the gap and an LF after it are not one delimiter */
    fx_init(&x, "line:crlf", 100);
    feed(&x, 0, "ab\r", 3, 1);
    feed_gap(&x, 3, 1);
    feed(&x, 4, "\ncd\r\nef\r\n", 9, 2);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 9, false);
    assert_msg(&x.l.m[1], 1, 9, 4, true);
    fx_fini(&x);
}

/* The gap starts on a line boundary: the bytes after it are the tail of a line whose start was lost. */
static void test_framing_line_gap_between_lines_next_line_incomplete(void **state)
{
    (void)state;
    fx_t x;
    fx_init(&x, "line", 100);
    feed(&x, 0, "abc\n", 4, 1);
    ss_chunk_msgs_t o = feed_gap(&x, 4, 3);
    assert_out(o, 0, 0, 0);
    feed(&x, 7, "de\nfg\n", 6, 2);
    ss_framer_finish(&x.f);
    assert_false(x.f.broken);
    assert_int_equal(x.l.n, 3);
    assert_msg(&x.l.m[0], 0, 0, 4, true);
    assert_int_equal(x.l.m[1].off + x.l.m[1].len, 10);
    assert_false(x.l.m[1].complete);
    assert_msg(&x.l.m[2], 2, 10, 3, true);
    fx_fini(&x);
}

/* ---- which messages each chunk carried, and which frames carried each message ---- */

static void test_framing_chunk_msgs_coalesced_first_last_count(void **state)
{
    (void)state;
    /* len:1 messages: 0..3, 3..5, 5..9, 9..14, 14..16, 16..19, 19..20 */
    const uint8_t in[] = {2, 'a', 'b', 1, 'c', 3, 'd', 'e', 'f', 4, 'g', 'h', 'i', 'j', 1, 'k', 2, 'l', 'm', 0};
    fx_t x;
    fx_init(&x, "len:1", 100);
    assert_out(feed(&x, 0, in, 11, 1), 0, 3, 4);
    assert_int_equal(x.l.n, 3);
    /* the end of message 3, all of 4 and the start of 5: coalesced */
    assert_out(feed(&x, 11, in + 11, 6, 2), 3, 5, 3);
    assert_int_equal(x.l.n, 5);
    assert_out(feed(&x, 17, in + 17, 1, 3), 5, 5, 1);
    assert_out(feed(&x, 18, in + 18, 1, 4), 5, 5, 1);
    assert_int_equal(x.l.n, 6);
    assert_out(feed(&x, 19, in + 19, 1, 5), 6, 6, 1);
    assert_int_equal(x.l.n, 7);
    assert_msg(&x.l.m[3], 3, 9, 5, true);
    assert_int_equal(x.l.m[3].nframes, 2);
    assert_int_equal(x.l.m[3].frames[0], 1);
    assert_int_equal(x.l.m[3].frames[1], 2);
    assert_int_equal(x.l.m[4].nframes, 1);
    assert_int_equal(x.l.m[4].frames[0], 2);
    assert_int_equal(x.l.m[5].nframes, 3);
    assert_int_equal(x.l.m[5].frames[2], 4);
    assert_int_equal(x.l.m[5].last_frame, 4);
    fx_fini(&x);
}

static void test_framing_message_split_over_three_frames_nframes_3(void **state)
{
    (void)state;
    uint8_t in[26];
    in[0] = 0;
    in[1] = 20;
    for (int i = 2; i < 22; i++)
        in[i] = (uint8_t)i;
    in[22] = 0;
    in[23] = 2;
    in[24] = 'x';
    in[25] = 'y';
    fx_t x;
    fx_init(&x, "len:2", 100);
    assert_out(feed(&x, 0, in, 5, 11), 0, 0, 1);
    assert_out(feed(&x, 5, in + 5, 10, 12), 0, 0, 1);
    assert_out(feed(&x, 15, in + 15, 11, 13), 0, 1, 2);
    assert_int_equal(x.l.n, 2);
    assert_msg(&x.l.m[0], 0, 0, 22, true);
    assert_int_equal(x.l.m[0].nframes, 3);
    assert_int_equal(x.l.m[0].frames[0], 11);
    assert_int_equal(x.l.m[0].frames[1], 12);
    assert_int_equal(x.l.m[0].frames[2], 13);
    assert_int_equal(x.l.m[0].last_frame, 13);
    assert_msg(&x.l.m[1], 1, 22, 4, true);
    assert_int_equal(x.l.m[1].nframes, 1);
    assert_int_equal(x.l.m[1].frames[0], 13);
    fx_fini(&x);
}

static void test_framing_more_frames_than_inline_counted_first_kept(void **state)
{
    (void)state;
    uint8_t in[12] = {0, 10};
    fx_t x;
    fx_init(&x, "len:2", 100);
    feed(&x, 0, in, 2, 100);
    feed(&x, 2, in + 2, 1, 100); /* the same segment again: one frame */
    for (uint64_t i = 3; i < 12; i++)
        feed(&x, i, in + i, 1, 100 + i);
    assert_int_equal(x.l.n, 1);
    assert_int_equal(x.l.m[0].nframes, 10);
    assert_int_equal(x.l.m[0].frames[0], 100);
    for (int i = 1; i < SS_MSG_INLINE_FRAMES; i++)
        assert_int_equal(x.l.m[0].frames[i], 102 + i);
    assert_int_equal(x.l.m[0].last_frame, 111);
    fx_fini(&x);
}

/* Through the stream: bytes carried out of order, and a later retransmission, credit the first carriers. */
typedef struct pipe {
    fx_t *x;
} pipe_t;

static void pipe_deliver(void *ctx, const ss_stream_chunk_t *c)
{
    pipe_t *p = ctx;
    ss_chunk_msgs_t o;
    ss_framer_feed(&p->x->f, c, &o);
}

static void test_framing_frames_are_first_carriers_through_stream(void **state)
{
    (void)state;
    uint8_t in[30] = {0, 0, 0, 26};
    for (int i = 4; i < 30; i++)
        in[i] = (uint8_t)(i * 7);
    fx_t x;
    fx_init(&x, "len:4", 100);
    pipe_t p = {&x};
    ss_stream_t s;
    ss_stream_init(&s, 8, 1000, NULL, pipe_deliver, &p);
    ss_stream_result_t r;
    ss_stream_segment(&s, 0, in, 10, 10, 1, &r);
    ss_stream_segment(&s, 20, in + 20, 10, 10, 2, &r);
    ss_stream_segment(&s, 20, in + 20, 10, 10, 3, &r); /* a retransmission of the buffered bytes */
    ss_stream_segment(&s, 10, in + 10, 10, 10, 4, &r);
    ss_stream_segment(&s, 0, in, 30, 30, 5, &r); /* and of everything */
    ss_stream_fini(&s);
    assert_int_equal(x.l.n, 1);
    assert_msg(&x.l.m[0], 0, 0, 30, true);
    assert_int_equal(x.l.m[0].nframes, 3);
    assert_int_equal(x.l.m[0].frames[0], 1);
    assert_int_equal(x.l.m[0].frames[1], 4);
    assert_int_equal(x.l.m[0].frames[2], 2);
    fx_fini(&x);
}

/* ---- file transfer ------------------------------------------------------- */

static void test_framing_filexfer_two_files_parts_0_1_2(void **state)
{
    (void)state;
    const char *specs[] = {"filexfer", "filexfer:le"};
    for (size_t k = 0; k < 2; k++) {
        const char j1[] = "{\"filename\": \"a.txt\", \"filesize\": 11}";
        const char j2[] = "{\"filesize\" :\t3,\"filename\":\"b\"}";
        const char j3[] = "{\"filename\": \"empty\", \"filesize\": 0}";
        bool le = k == 1;
        built_t s;
        memset(&s, 0, sizeof(s));
        put_uint(&s, sizeof(j1) - 1, 4, le);
        put(&s, j1, sizeof(j1) - 1);
        put(&s, "hello world", 11);
        put_uint(&s, sizeof(j2) - 1, 4, le);
        put(&s, j2, sizeof(j2) - 1);
        put(&s, "xyz", 3);
        put_uint(&s, sizeof(j3) - 1, 4, le);
        put(&s, j3, sizeof(j3) - 1);
        put_uint(&s, sizeof(j1) - 1, 4, le);
        const uint64_t l1 = sizeof(j1) - 1, l2 = sizeof(j2) - 1, l3 = sizeof(j3) - 1;
        const struct {
            uint64_t off, len;
            uint8_t part;
        } want[] = {
            {0, 4, 0},
            {4, l1, 1},
            {4 + l1, 11, 2},
            {15 + l1, 4, 0},
            {19 + l1, l2, 1},
            {19 + l1 + l2, 3, 2},
            {22 + l1 + l2, 4, 0},
            {26 + l1 + l2, l3, 1}, /* filesize 0: no body message */
            {26 + l1 + l2 + l3, 4, 0},
        };
        fx_t x;
        fx_init(&x, specs[k], 1000);
        feed(&x, 0, s.b, (uint32_t)s.len, 1);
        ss_framer_finish(&x.f);
        assert_false(x.f.broken);
        assert_int_equal(x.l.n, 9);
        for (size_t i = 0; i < 9; i++) {
            assert_msg(&x.l.m[i], i, want[i].off, want[i].len, true);
            assert_int_equal(x.l.m[i].part, want[i].part);
        }
        fx_fini(&x);
        built_free(&s);
    }
}

/* ---- split invariance ------------------------------------------------------- */

/* The chunking of [0, len): chunk i is [cut[i], cut[i+1]) and carries frame i + 1. */
typedef struct cuts {
    uint64_t *at;
    size_t n; /* chunks */
} cuts_t;

static cuts_t cut_once(size_t len)
{
    cuts_t c = {malloc(2 * sizeof(uint64_t)), 1};
    c.at[0] = 0;
    c.at[1] = len;
    return c;
}

static cuts_t cut_bytes(size_t len)
{
    cuts_t c = {malloc((len + 1) * sizeof(uint64_t)), len};
    for (size_t i = 0; i <= len; i++)
        c.at[i] = i;
    return c;
}

static cuts_t cut_random(size_t len, uint32_t maxlen, uint64_t seed)
{
    uint64_t rng = seed;
    cuts_t c = {malloc((len + 1) * sizeof(uint64_t)), 0};
    c.at[0] = 0;
    while (c.at[c.n] < len) {
        uint64_t l = rng_range(&rng, 1, maxlen);
        uint64_t next = c.at[c.n] + l;
        c.at[++c.n] = next < len ? next : len;
    }
    return c;
}

/* The chunk holding stream offset `off`. */
static size_t chunk_of(const cuts_t *c, uint64_t off)
{
    size_t lo = 0, hi = c->n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (c->at[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Feeds the built stream in the given chunking and checks everything
 * derivable from the input: each message's offset, length, completeness
 * and part; the frames that carried it; and, per chunk, the range of
 * messages with bytes in it.
 */
static void run_split(const char *spec, const built_t *s, const cuts_t *c)
{
    fx_t x;
    fx_init(&x, spec, 1 << 20);
    size_t k = 0; /* first message not wholly before the current chunk */
    for (size_t i = 0; i < c->n; i++) {
        uint64_t a = c->at[i], b = c->at[i + 1];
        ss_chunk_msgs_t o = feed(&x, a, s->b + a, (uint32_t)(b - a), i + 1);
        while (k < s->ne && s->e[k].off + s->e[k].len <= a)
            k++;
        size_t last = k;
        while (last + 1 < s->ne && s->e[last + 1].off < b)
            last++;
        if (o.count != last - k + 1 || o.first != k || o.last != last)
            fail_msg("%s: chunk %zu [%llu,%llu) reported messages %llu..%llu (%u), expected %zu..%zu", spec, i,
                     (unsigned long long)a, (unsigned long long)b, (unsigned long long)o.first,
                     (unsigned long long)o.last, o.count, k, last);
    }
    ss_framer_finish(&x.f);
    assert_false(x.f.broken);
    if (x.l.n != s->ne)
        fail_msg("%s: %zu messages, expected %zu", spec, x.l.n, s->ne);
    for (size_t i = 0; i < s->ne; i++) {
        const ss_message_t *m = &x.l.m[i];
        if (m->index != i || m->off != s->e[i].off || m->len != s->e[i].len || !m->complete ||
            m->part != s->e[i].part)
            fail_msg("%s: message %zu is #%llu [%llu +%llu] complete=%d part=%u, expected [%llu +%llu] part %u",
                     spec, i, (unsigned long long)m->index, (unsigned long long)m->off, (unsigned long long)m->len,
                     m->complete, m->part, (unsigned long long)s->e[i].off, (unsigned long long)s->e[i].len,
                     s->e[i].part);
        size_t c0 = chunk_of(c, m->off), c1 = chunk_of(c, m->off + m->len - 1);
        assert_int_equal(m->nframes, c1 - c0 + 1);
        for (size_t j = 0; j < m->nframes && j < SS_MSG_INLINE_FRAMES; j++)
            assert_int_equal(m->frames[j], c0 + j + 1);
        assert_int_equal(m->last_frame, c1 + 1);
    }
    fx_fini(&x);
}

static void split_invariance(const char *spec, uint64_t seed)
{
    ss_framing_t sp = spec_of(spec);
    built_t s;
    build_stream(&s, &sp, seed);
    cuts_t c = cut_once(s.len);
    run_split(spec, &s, &c);
    free(c.at);
    c = cut_bytes(s.len);
    run_split(spec, &s, &c);
    free(c.at);
    const uint32_t maxlens[] = {3, 61, 1460, 70000};
    for (size_t i = 0; i < sizeof(maxlens) / sizeof(maxlens[0]); i++) {
        c = cut_random(s.len, maxlens[i], seed * 31 + i);
        run_split(spec, &s, &c);
        free(c.at);
    }
    built_free(&s);
}

static void test_framing_split_line_identical(void **state)
{
    (void)state;
    split_invariance("line", 11);
    split_invariance("line:crlf", 12);
    split_invariance("line:0x00", 13);
}

static void test_framing_split_len_small_widths_identical(void **state)
{
    (void)state;
    split_invariance("len:1", 21);
    split_invariance("len:1:incl", 22);
    split_invariance("len:1:off=8", 23);
    split_invariance("len:2", 24);
    split_invariance("len16", 25);
    split_invariance("len:2:le:incl:off=3", 26);
}

static void test_framing_split_len_large_widths_identical(void **state)
{
    (void)state;
    split_invariance("len:4", 31);
    split_invariance("len32le", 32);
    split_invariance("len:4:incl:off=2", 33);
    split_invariance("len:8", 34);
    split_invariance("len:8:le:incl", 35);
}

static void test_framing_split_filexfer_identical(void **state)
{
    (void)state;
    split_invariance("filexfer", 41);
    split_invariance("filexfer:le", 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing_parse_every_spelling_accepted),
        cmocka_unit_test(test_framing_name_round_trip_canonical),
        cmocka_unit_test(test_framing_parse_len32_len16_big_endian),
        cmocka_unit_test(test_framing_parse_rejections_explained),
        cmocka_unit_test(test_framing_parse_length_limit_95_ok_96_rejected),
        cmocka_unit_test(test_framing_parse_trailing_option_rejected),
        cmocka_unit_test(test_framing_len4_exact_offsets_lengths_one_frame),
        cmocka_unit_test(test_framing_len_variants_exact),
        cmocka_unit_test(test_framing_line_lf_exact),
        cmocka_unit_test(test_framing_line_crlf_lone_cr_lf_not_delimiters),
        cmocka_unit_test(test_framing_line_nul_delimiter_exact),
        cmocka_unit_test(test_framing_none_and_auto_report_no_messages),
        cmocka_unit_test(test_framing_truncated_last_message_incomplete_with_bytes_seen),
        cmocka_unit_test(test_framing_len_declared_over_max_breaks_then_unframed),
        cmocka_unit_test(test_framing_len8_all_ones_breaks),
        cmocka_unit_test(test_framing_len_incl_shorter_than_header_breaks),
        cmocka_unit_test(test_framing_filexfer_header_length_zero_or_huge_breaks),
        cmocka_unit_test(test_framing_filexfer_json_without_filesize_breaks),
        cmocka_unit_test(test_framing_filexfer_filesize_over_max_breaks),
        cmocka_unit_test(test_framing_line_without_delimiter_past_max_breaks),
        cmocka_unit_test(test_framing_line_longer_than_max_same_in_any_split),
        cmocka_unit_test(test_framing_len_gap_inside_known_length_keeps_boundaries),
        cmocka_unit_test(test_framing_len_gap_where_length_needed_breaks),
        cmocka_unit_test(test_framing_len_gap_past_message_end_keeps_its_length),
        cmocka_unit_test(test_framing_filexfer_gap_in_body_next_file_framed),
        cmocka_unit_test(test_framing_line_gap_inside_line_resynchronises),
        cmocka_unit_test(test_framing_line_gap_between_lines_next_line_incomplete),
        cmocka_unit_test(test_framing_chunk_msgs_coalesced_first_last_count),
        cmocka_unit_test(test_framing_message_split_over_three_frames_nframes_3),
        cmocka_unit_test(test_framing_more_frames_than_inline_counted_first_kept),
        cmocka_unit_test(test_framing_frames_are_first_carriers_through_stream),
        cmocka_unit_test(test_framing_filexfer_two_files_parts_0_1_2),
        cmocka_unit_test(test_framing_split_line_identical),
        cmocka_unit_test(test_framing_split_len_small_widths_identical),
        cmocka_unit_test(test_framing_split_len_large_widths_identical),
        cmocka_unit_test(test_framing_split_filexfer_identical),
    };
    return cmocka_run_group_tests_name("framing", tests, NULL, NULL);
}
