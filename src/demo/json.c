/* json.c - a bounded reader for one flat JSON object, and a JSON string writer. */
#include <string.h>

#include "segscope/err.h"

#include "internal.h"

/*
 * The file header comes from the network, so this reader trusts nothing:
 * every read is checked against the end, nesting is capped, strings are
 * copied into caller-sized buffers, and numbers must fit in 64 bits. It is a
 * small recursive-descent parser for RFC 8259, enough for a header dict.
 */

#define JSON_MAX_DEPTH 16

typedef struct {
    const char *p, *end;
    char *err;
    size_t errlen;
    bool too_long; /* the last string did not fit its buffer (it was still read to its end) */
} jr_t;

static int fail(jr_t *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s", what);
    return -1;
}

static void skip_ws(jr_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hex4(jr_t *r, uint32_t *out)
{
    if (r->end - r->p < 4)
        return fail(r, _("truncated \\u escape"));
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *r->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return fail(r, _("bad \\u escape"));
    }
    *out = v;
    return 0;
}

/* Appends one byte to dst (if dst is not NULL); past its end, only notes that it was too long. */
static int put(jr_t *r, char *dst, size_t cap, size_t *n, char c)
{
    if (!dst)
        return 0;
    if (*n + 1 >= cap) {
        r->too_long = true;
        return 0;
    }
    dst[(*n)++] = c;
    return 0;
}

static int put_utf8(jr_t *r, char *dst, size_t cap, size_t *n, uint32_t cp)
{
    char b[4];
    int k;
    if (cp < 0x80) { b[0] = (char)cp; k = 1; }
    else if (cp < 0x800) { b[0] = (char)(0xC0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3F)); k = 2; }
    else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | cp >> 12); b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)); k = 3;
    } else {
        b[0] = (char)(0xF0 | cp >> 18); b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (char)(0x80 | (cp & 0x3F)); k = 4;
    }
    for (int i = 0; i < k; i++)
        if (put(r, dst, cap, n, b[i]) < 0)
            return -1;
    return 0;
}

/* Reads a string (the opening quote is next); copies it to dst when dst is not NULL. */
static int read_string(jr_t *r, char *dst, size_t cap, size_t *outlen)
{
    size_t n = 0;
    r->too_long = false;
    r->p++; /* '"' */
    for (;;) {
        if (r->p >= r->end)
            return fail(r, _("unterminated string"));
        unsigned char c = (unsigned char)*r->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(r, _("control character in a string"));
        if (c != '\\') {
            if (put(r, dst, cap, &n, (char)c) < 0)
                return -1;
            continue;
        }
        if (r->p >= r->end)
            return fail(r, _("unterminated string"));
        char e = *r->p++;
        char lit;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (hex4(r, &cp) < 0)
                return -1;
            if (cp >= 0xD800 && cp < 0xDC00) {
                /* A high surrogate must be followed by an escaped low one. */
                uint32_t lo;
                if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                    return fail(r, _("lone surrogate in \\u escape"));
                r->p += 2;
                if (hex4(r, &lo) < 0)
                    return -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(r, _("lone surrogate in \\u escape"));
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(r, _("lone surrogate in \\u escape"));
            }
            if (cp == 0)
                return fail(r, _("NUL character in a string"));
            if (put_utf8(r, dst, cap, &n, cp) < 0)
                return -1;
            continue;
        }
        default: return fail(r, _("bad escape in a string"));
        }
        if (put(r, dst, cap, &n, lit) < 0)
            return -1;
    }
    if (dst)
        dst[n] = '\0';
    if (outlen)
        *outlen = n;
    return 0;
}

/* Reads a number; *is_uint says whether it was a plain non-negative integer that fits. */
static int read_number(jr_t *r, uint64_t *out, bool *is_uint)
{
    bool neg = false, frac = false, overflow = false;
    uint64_t v = 0;
    if (r->p < r->end && *r->p == '-') {
        neg = true;
        r->p++;
    }
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return fail(r, _("bad number"));
    if (*r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9')
        return fail(r, _("bad number (leading zero)"));
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        unsigned d = (unsigned)(*r->p++ - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (r->p < r->end && *r->p == '.') {
        frac = true;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return fail(r, _("bad number"));
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        frac = true;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return fail(r, _("bad number"));
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    *is_uint = !neg && !frac && !overflow;
    *out = v;
    return 0;
}

static int skip_value(jr_t *r, int depth);

static int literal(jr_t *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail(r, _("not JSON"));
    r->p += n;
    return 0;
}

/* Skips an array or object (the bracket is next). */
static int skip_container(jr_t *r, int depth)
{
    if (depth >= JSON_MAX_DEPTH)
        return fail(r, _("nested too deeply"));
    char close = *r->p == '[' ? ']' : '}';
    bool object = close == '}';
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    for (;;) {
        skip_ws(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"')
                return fail(r, _("expected a member name"));
            if (read_string(r, NULL, 0, NULL) < 0)
                return -1;
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':')
                return fail(r, _("expected ':'"));
            r->p++;
        }
        if (skip_value(r, depth + 1) < 0)
            return -1;
        skip_ws(r);
        if (r->p >= r->end)
            return fail(r, _("truncated"));
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        if (*r->p == close) {
            r->p++;
            return 0;
        }
        return fail(r, _("expected ',' or a closing bracket"));
    }
}

static int skip_value(jr_t *r, int depth)
{
    skip_ws(r);
    if (r->p >= r->end)
        return fail(r, _("truncated"));
    switch (*r->p) {
    case '"': return read_string(r, NULL, 0, NULL);
    case '{':
    case '[': return skip_container(r, depth);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    default: {
        uint64_t v;
        bool u;
        return read_number(r, &v, &u);
    }
    }
}

int ss_demo_json_read(const char *p, size_t n, ss_demo_json_field_t *fields, size_t nfields,
                      char *err, size_t errlen)
{
    jr_t r = {.p = p, .end = p + n, .err = err, .errlen = errlen};
    for (size_t i = 0; i < nfields; i++)
        fields[i].found = false;
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return fail(&r, _("not a JSON object"));
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
    } else {
        for (;;) {
            skip_ws(&r);
            if (r.p >= r.end || *r.p != '"')
                return fail(&r, _("not a JSON object (expected a member name)"));
            char key[64];
            size_t klen;
            if (read_string(&r, key, sizeof key, &klen) < 0)
                return -1;
            if (r.too_long)
                klen = 0; /* longer than any key we look for */
            skip_ws(&r);
            if (r.p >= r.end || *r.p != ':')
                return fail(&r, _("not a JSON object (expected ':')"));
            r.p++;
            skip_ws(&r);
            ss_demo_json_field_t *f = NULL;
            for (size_t i = 0; i < nfields && klen; i++)
                if (strlen(fields[i].key) == klen && memcmp(fields[i].key, key, klen) == 0)
                    f = &fields[i];
            if (!f) {
                if (skip_value(&r, 1) < 0)
                    return -1;
            } else if (f->type == SS_DEMO_JSON_STRING) {
                if (r.p >= r.end || *r.p != '"') {
                    snprintf(err, errlen, _("\"%s\" is not a string"), f->key);
                    return -1;
                }
                size_t slen;
                if (read_string(&r, f->str, f->str_cap, &slen) < 0)
                    return -1;
                if (r.too_long) {
                    snprintf(err, errlen, _("\"%s\" is too long"), f->key);
                    return -1;
                }
                if (strlen(f->str) != slen) {
                    snprintf(err, errlen, _("\"%s\" contains a NUL character"), f->key);
                    return -1;
                }
                f->found = true;
            } else {
                bool is_uint = false;
                if (r.p >= r.end || !(*r.p == '-' || (*r.p >= '0' && *r.p <= '9')) ||
                    read_number(&r, &f->num, &is_uint) < 0 || !is_uint) {
                    snprintf(err, errlen, _("\"%s\" is not a non-negative integer"), f->key);
                    return -1;
                }
                f->found = true;
            }
            skip_ws(&r);
            if (r.p >= r.end)
                return fail(&r, _("truncated JSON object"));
            if (*r.p == ',') {
                r.p++;
                continue;
            }
            if (*r.p == '}') {
                r.p++;
                break;
            }
            return fail(&r, _("bad JSON object (expected ',' or '}')"));
        }
    }
    skip_ws(&r);
    if (r.p != r.end)
        return fail(&r, _("bytes after the JSON object"));
    return 0;
}

int ss_demo_json_put_string(ss_demo_buf_t *out, const char *s)
{
    int rc = ss_demo_buf_append(out, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; rc == 0 && *c; c++) {
        char esc[8];
        const char *w = esc;
        size_t n;
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            n = 2;
        } else if (*c < 0x20 || *c == 0x7f) {
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *c);
        } else {
            w = (const char *)c;
            n = 1;
        }
        rc = ss_demo_buf_append(out, w, n);
    }
    if (rc == 0)
        rc = ss_demo_buf_append(out, "\"", 1);
    return rc;
}
