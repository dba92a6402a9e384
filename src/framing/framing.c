/* framing.c - incremental framers: length prefix, delimiter, file transfer.
 *
 * Each framer follows the incremental-parser contract: it is fed the
 * reassembled stream chunk by chunk, in any split, and keeps only what it
 * must between chunks (a few header bytes, or the JSON header of a file
 * transfer, capped). Bodies are skipped, never copied. Every declared
 * length is checked against max_message before it is trusted; a stream
 * that stops fitting its framing is marked broken at that byte and is
 * treated as unframed from there on.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/err.h"
#include "segscope/framing.h"
#include "segscope/i18n.h"

#define JSON_HEADER_MAX 65536u

int ss_framing_parse(const char *text, ss_framing_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char buf[96];
    if (strlen(text) >= sizeof(buf)) {
        snprintf(err, errlen, "framing '%.40s...' is too long", text);
        return SS_ERR_INVAL;
    }
    snprintf(buf, sizeof(buf), "%s", text);
    char *save = NULL;
    char *tok = strtok_r(buf, ":", &save);
    if (!tok) {
        snprintf(err, errlen, "empty framing");
        return SS_ERR_INVAL;
    }
    if (strcmp(tok, "none") == 0) {
        out->kind = SS_FRAMING_NONE;
    } else if (strcmp(tok, "auto") == 0 || strcmp(tok, "demo") == 0) {
        out->kind = SS_FRAMING_AUTO;
    } else if (strcmp(tok, "line") == 0) {
        out->kind = SS_FRAMING_LINE;
        out->delim[0] = '\n';
        out->delim_len = 1;
        char *opt = strtok_r(NULL, ":", &save);
        if (opt && strcmp(opt, "crlf") == 0) {
            out->delim[0] = '\r';
            out->delim[1] = '\n';
            out->delim_len = 2;
        } else if (opt && strncmp(opt, "0x", 2) == 0 && strlen(opt) == 4 && isxdigit((unsigned char)opt[2]) &&
                   isxdigit((unsigned char)opt[3])) {
            out->delim[0] = (uint8_t)strtoul(opt + 2, NULL, 16);
        } else if (opt && strcmp(opt, "lf") != 0) {
            snprintf(err, errlen, "line framing takes crlf, lf or 0xNN, not '%s'", opt);
            return SS_ERR_INVAL;
        }
    } else if (strcmp(tok, "len32") == 0 || strcmp(tok, "len32le") == 0 || strcmp(tok, "len16") == 0 ||
               strcmp(tok, "len16le") == 0) {
        out->kind = SS_FRAMING_LEN;
        out->width = tok[3] == '3' ? 4 : 2;
        out->little_endian = strcmp(tok + 5, "le") == 0; /* "len32le", "len16le" */
    } else if (strcmp(tok, "len") == 0) {
        out->kind = SS_FRAMING_LEN;
        char *w = strtok_r(NULL, ":", &save);
        if (!w || (strcmp(w, "1") && strcmp(w, "2") && strcmp(w, "4") && strcmp(w, "8"))) {
            snprintf(err, errlen, "len framing needs a width of 1, 2, 4 or 8 bytes (len:W)");
            return SS_ERR_INVAL;
        }
        out->width = (uint8_t)atoi(w);
        char *opt;
        while ((opt = strtok_r(NULL, ":", &save))) {
            if (strcmp(opt, "be") == 0) {
                out->little_endian = false;
            } else if (strcmp(opt, "le") == 0) {
                out->little_endian = true;
            } else if (strcmp(opt, "incl") == 0) {
                out->inclusive = true;
            } else if (strncmp(opt, "off=", 4) == 0) {
                char *end;
                errno = 0;
                unsigned long k = strtoul(opt + 4, &end, 10);
                if (errno || *end || end == opt + 4 || k > 8) {
                    snprintf(err, errlen, "off=K needs K from 0 to 8");
                    return SS_ERR_INVAL;
                }
                out->offset = (uint16_t)k;
            } else {
                snprintf(err, errlen, "unknown len option '%s' (be, le, incl, off=K)", opt);
                return SS_ERR_INVAL;
            }
        }
        return 0;
    } else if (strcmp(tok, "filexfer") == 0) {
        out->kind = SS_FRAMING_FILEXFER;
        char *opt = strtok_r(NULL, ":", &save);
        if (opt && strcmp(opt, "le") == 0)
            out->little_endian = true;
        else if (opt && strcmp(opt, "be") != 0) {
            snprintf(err, errlen, "filexfer takes be or le, not '%s'", opt);
            return SS_ERR_INVAL;
        }
    } else {
        snprintf(err, errlen, "unknown framing '%s' (none, line, len:W, len32, len32le, len16, filexfer, auto)",
                 tok);
        return SS_ERR_INVAL;
    }
    if (strtok_r(NULL, ":", &save)) {
        if (out->kind == SS_FRAMING_LINE || out->kind == SS_FRAMING_FILEXFER)
            snprintf(err, errlen, "framing '%s' takes at most one option", text);
        else
            snprintf(err, errlen, "framing '%s' takes no options", text);
        return SS_ERR_INVAL;
    }
    return 0;
}

/* A fixed name into buf[n], cut as snprintf would cut it (every conversation names its framing). */
static void name_copy(char *buf, size_t n, const char *s)
{
    if (n == 0)
        return;
    size_t len = strlen(s);
    if (len > n - 1)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

const char *ss_framing_name(const ss_framing_t *f, char *buf, size_t n)
{
    switch (f->kind) {
    case SS_FRAMING_NONE: name_copy(buf, n, "none"); break;
    case SS_FRAMING_AUTO: name_copy(buf, n, "auto"); break;
    case SS_FRAMING_LINE:
        if (f->delim_len == 2)
            name_copy(buf, n, "line:crlf");
        else if (f->delim[0] == '\n')
            name_copy(buf, n, "line");
        else
            snprintf(buf, n, "line:0x%02x", f->delim[0]);
        break;
    case SS_FRAMING_LEN:
        snprintf(buf, n, "len:%u:%s%s", f->width, f->little_endian ? "le" : "be", f->inclusive ? ":incl" : "");
        if (f->offset) {
            size_t l = strlen(buf);
            snprintf(buf + l, n - l, ":off=%u", f->offset);
        }
        break;
    case SS_FRAMING_FILEXFER: snprintf(buf, n, "filexfer:%s", f->little_endian ? "le" : "be"); break;
    case SS_FRAMING_CALLS: name_copy(buf, n, "send() calls"); break;
    }
    return buf;
}

void ss_framer_init(ss_framer_t *f, const ss_framing_t *spec, uint64_t max_message, ss_message_fn fn, void *ctx)
{
    memset(f, 0, sizeof(*f));
    f->spec = *spec;
    f->max_message = max_message ? max_message : 1;
    f->on_message = fn;
    f->ctx = ctx;
    f->broken_why = f->broken_why_local = "";
}

void ss_framer_set_calls(ss_framer_t *f, const ss_app_call_t *calls, size_t n)
{
    f->spec.kind = SS_FRAMING_CALLS;
    f->calls = calls;
    f->ncalls = n;
    f->call_idx = 0;
}

void ss_framer_fini(ss_framer_t *f)
{
    free(f->xfer.json);
    f->xfer.json = NULL;
    free(f->why_buf);
    f->why_buf = NULL;
    f->broken_why = f->broken_why_local = "";
}

/*
 * The stream stops fitting the framing at `at`. The reason is written twice
 * from one N_() format: in English for JSON and CSV, and in the user's
 * language for the notes and the summary.
 */
__attribute__((format(printf, 3, 4))) static void mark_broken(ss_framer_t *f, uint64_t at, const char *fmt, ...)
{
    if (f->broken)
        return;
    f->broken = true;
    f->broken_at = at;
    if (f->quiet)
        return;
    enum { EN = 96, LOCAL = 192 };
    f->why_buf = malloc(EN + LOCAL);
    if (!f->why_buf)
        return; /* the reason stays "": the break itself is still reported */
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    vsnprintf(f->why_buf, EN, fmt, ap);
    vsnprintf(f->why_buf + EN, LOCAL, _(fmt), ap2);
    va_end(ap2);
    va_end(ap);
    f->broken_why = f->why_buf;
    f->broken_why_local = f->why_buf + EN;
}

static void start_msg(ss_framer_t *f, uint64_t off, ss_chunk_msgs_t *out)
{
    memset(&f->cur, 0, sizeof(f->cur));
    f->cur.index = f->next_index++;
    f->cur.off = off;
    f->in_msg = true;
    f->len_known = false;
    f->hdr_have = 0;
    f->need = 0;
    f->damaged = f->resync_at != 0 && off == f->resync_at; /* a line whose start was not captured */
    f->resync_at = 0;
    f->cur.part = f->xfer.phase;
    if (out->count == 0)
        out->first = f->cur.index;
    out->last = f->cur.index;
    out->count = (uint32_t)(out->last - out->first + 1);
}

static void add_frame(ss_framer_t *f, uint64_t frame)
{
    if (frame == 0 || frame == f->cur.last_frame)
        return;
    if (f->cur.nframes < SS_MSG_INLINE_FRAMES)
        f->cur.frames[f->cur.nframes] = frame;
    f->cur.nframes++;
    f->cur.last_frame = frame;
}

static void end_msg(ss_framer_t *f, uint64_t end, bool complete)
{
    f->cur.len = end - f->cur.off;
    f->cur.complete = complete && !f->damaged;
    f->in_msg = false;
    if (f->on_message)
        f->on_message(f->ctx, &f->cur);
}

static uint64_t get_uint(const uint8_t *p, unsigned w, bool le)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v = le ? v | ((uint64_t)p[i] << (8 * i)) : (v << 8) | p[i];
    return v;
}

/* Reads "filesize": N from a JSON object; false when absent or not a non-negative integer. */
static bool json_filesize(const char *js, size_t n, uint64_t *out)
{
    const char *key = "\"filesize\"";
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl <= n; i++) {
        if (memcmp(js + i, key, kl) != 0)
            continue;
        size_t j = i + kl;
        while (j < n && (js[j] == ' ' || js[j] == '\t' || js[j] == '\n' || js[j] == '\r'))
            j++;
        if (j >= n || js[j] != ':')
            return false;
        j++;
        while (j < n && (js[j] == ' ' || js[j] == '\t'))
            j++;
        if (j >= n || !isdigit((unsigned char)js[j]))
            return false;
        uint64_t v = 0;
        while (j < n && isdigit((unsigned char)js[j])) {
            if (v > (UINT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (uint64_t)(js[j] - '0');
            j++;
        }
        *out = v;
        return true;
    }
    return false;
}

/* Why a file transfer stops fitting after one of its parts (XFER_OK: it goes on). */
typedef enum { XFER_OK = 0, XFER_BAD_HEADER_LEN, XFER_NOMEM, XFER_NO_FILESIZE } xfer_rc_t;

/* After a part of a file transfer ends: the next part and its length (framers and candidates alike). */
static xfer_rc_t xfer_step(ss_xfer_t *x, uint64_t max_message)
{
    if (x->phase == 0) {
        uint64_t hlen = x->body;
        if (hlen == 0 || hlen > JSON_HEADER_MAX || hlen > max_message)
            return XFER_BAD_HEADER_LEN;
        free(x->json);
        x->json = malloc(hlen);
        if (!x->json)
            return XFER_NOMEM;
        x->json_cap = (uint32_t)hlen;
        x->json_have = 0;
        x->phase = 1;
    } else if (x->phase == 1) {
        uint64_t size;
        if (!json_filesize(x->json, x->json_have, &size))
            return XFER_NO_FILESIZE;
        x->body = size;
        x->phase = size ? 2 : 0;
    } else {
        x->phase = 0;
    }
    return XFER_OK;
}

/* Keeps what fits of `n` bytes of the JSON header being read. */
static void xfer_collect(ss_xfer_t *x, const uint8_t *d, uint32_t n)
{
    uint32_t room = x->json_cap - x->json_have;
    uint32_t c = n < room ? n : room;
    memcpy(x->json + x->json_have, d, c);
    x->json_have += c;
}

/* Consumes up to `len` bytes of one LEN/FILEXFER message; returns bytes used. */
static uint32_t feed_counted(ss_framer_t *f, uint64_t off, const uint8_t *d, uint32_t len)
{
    uint32_t used = 0;
    if (!f->len_known) {
        unsigned hdr_need;
        if (f->spec.kind == SS_FRAMING_LEN)
            hdr_need = f->spec.offset + f->spec.width;
        else if (f->spec.kind == SS_FRAMING_CALLS)
            hdr_need = 0;
        else
            hdr_need = f->xfer.phase == 0 ? 4 : 0;
        while (f->hdr_have < hdr_need && used < len)
            f->hdr[f->hdr_have++] = d[used++];
        if (f->hdr_have < hdr_need)
            return used;
        uint64_t total, declared;
        if (f->spec.kind == SS_FRAMING_CALLS) {
            /* The next send() call at or after this message's start sets its length. */
            while (f->call_idx < f->ncalls &&
                   f->calls[f->call_idx].off + f->calls[f->call_idx].len <= f->cur.off)
                f->call_idx++;
            if (f->call_idx >= f->ncalls) {
                mark_broken(f, f->cur.off, N_("the trace has no send() call for these bytes"));
                return used;
            }
            const ss_app_call_t *cl = &f->calls[f->call_idx];
            if (cl->off > f->cur.off) {
                total = cl->off - f->cur.off; /* bytes no traced call wrote (e.g. sendfile) */
            } else {
                total = cl->off + cl->len - f->cur.off;
                if (cl->off < f->cur.off)
                    f->damaged = true; /* the call's first bytes were not captured */
            }
            declared = total;
        } else if (f->spec.kind == SS_FRAMING_LEN) {
            uint64_t v = get_uint(f->hdr + f->spec.offset, f->spec.width, f->spec.little_endian);
            declared = v;
            if (f->spec.inclusive) {
                if (v < hdr_need) {
                    mark_broken(f, f->cur.off, N_("length %" PRIu64 " is shorter than its own header"), v);
                    return used;
                }
                total = v;
            } else {
                total = v > UINT64_MAX - hdr_need ? UINT64_MAX : v + hdr_need;
            }
        } else if (f->xfer.phase == 0) {
            total = declared = 4;
        } else {
            total = declared = f->xfer.body; /* the JSON header's length, then the file's size */
        }
        if (total > f->max_message) {
            mark_broken(f, f->cur.off, N_("declared length %" PRIu64 " exceeds the maximum message size %" PRIu64),
                        declared, f->max_message);
            return used;
        }
        f->len_known = true;
        f->need = total - f->hdr_have;
        if (f->spec.kind == SS_FRAMING_FILEXFER && f->xfer.phase == 0)
            f->xfer.body = get_uint(f->hdr, 4, f->spec.little_endian); /* the JSON header's length */
    }
    uint32_t take = (uint32_t)((uint64_t)(len - used) < f->need ? (len - used) : f->need);
    if (f->spec.kind == SS_FRAMING_FILEXFER && f->xfer.phase == 1 && take)
        xfer_collect(&f->xfer, d + used, take);
    used += take;
    f->need -= take;
    (void)off;
    return used;
}

/* After a message of a file transfer ends: the next part, or why the stream stops fitting. */
static void xfer_next(ss_framer_t *f, uint64_t at)
{
    uint64_t hlen = f->xfer.body;
    switch (xfer_step(&f->xfer, f->max_message)) {
    case XFER_OK: break;
    case XFER_BAD_HEADER_LEN:
        mark_broken(f, at, N_("file-transfer header length %" PRIu64 " is not plausible"), hlen);
        break;
    case XFER_NOMEM: mark_broken(f, at, N_("out of memory for the file-transfer header")); break;
    case XFER_NO_FILESIZE: mark_broken(f, at, N_("the file-transfer header has no \"filesize\"")); break;
    }
}

/*
 * LINE: the bytes of `d` up to and including the first delimiter (all `n`
 * when there is none; `found` says which). `prev` is the byte before `d`
 * (a CRLF may straddle two chunks) and becomes the last byte taken.
 */
static uint32_t line_scan(const ss_framing_t *sp, const uint8_t *d, uint32_t n, uint8_t *prev, bool *found)
{
    uint32_t i = 0;
    uint8_t last = sp->delim_len == 2 ? sp->delim[1] : sp->delim[0];
    *found = false;
    while (i < n) {
        const uint8_t *q = memchr(d + i, last, n - i);
        if (!q) {
            i = n;
            break;
        }
        i = (uint32_t)(q - d) + 1;
        uint8_t before = i >= 2 ? d[i - 2] : *prev;
        if (sp->delim_len == 1 || before == sp->delim[0]) {
            *found = true;
            break;
        }
    }
    if (i)
        *prev = d[i - 1];
    return i;
}

void ss_framer_feed(ss_framer_t *f, const ss_stream_chunk_t *c, ss_chunk_msgs_t *out)
{
    memset(out, 0, sizeof(*out));
    if (f->spec.kind == SS_FRAMING_NONE || f->spec.kind == SS_FRAMING_AUTO || f->broken)
        return;
    if (c->gap) {
        if (f->spec.kind == SS_FRAMING_CALLS && (!f->in_msg || (f->len_known && c->len > f->need))) {
            /* The trace gives every boundary: end the cut message, the next one starts where data resumes. */
            if (f->in_msg) {
                out->first = out->last = f->cur.index;
                out->count = 1;
                f->damaged = true;
                end_msg(f, c->off + f->need, false);
            }
            f->pos = c->off + c->len;
            return;
        }
        if (!f->in_msg) {
            if (f->spec.kind != SS_FRAMING_LINE)
                mark_broken(f, c->off, N_("bytes missing from the capture between messages"));
            else
                f->resync_at = c->off + c->len; /* the next delimiter resynchronises */
            f->prev = 0;
            return;
        }
        out->first = out->last = f->cur.index;
        out->count = 1;
        if (f->spec.kind == SS_FRAMING_LINE) {
            /* The line continues past the gap; it ends at the next delimiter, incomplete. */
            f->damaged = true;
            f->prev = 0;
            f->pos = c->off + c->len;
            return;
        }
        if (f->len_known && c->len <= f->need) {
            f->need -= c->len; /* the hole is inside a message of known length: boundaries survive */
            f->damaged = true;
            f->pos = c->off + c->len;
            if (f->need == 0) {
                end_msg(f, c->off + c->len, false);
                if (f->spec.kind == SS_FRAMING_FILEXFER)
                    xfer_next(f, c->off + c->len);
            }
            return;
        }
        if (f->len_known) {
            /* The message's end is known, but what follows it was not captured. */
            uint64_t msg_end = c->off + f->need;
            f->damaged = true;
            end_msg(f, msg_end, false);
            mark_broken(f, msg_end, N_("bytes missing from the capture where a message length was needed"));
            return;
        }
        end_msg(f, c->off, false);
        mark_broken(f, c->off, N_("bytes missing from the capture where a message length was needed"));
        return;
    }
    uint32_t p = 0;
    if (f->in_msg)
        out->first = out->last = f->cur.index, out->count = 1;
    while (p < c->len && !f->broken) {
        uint64_t off = c->off + p;
        if (!f->in_msg)
            start_msg(f, off, out);
        add_frame(f, c->frame);
        if (f->spec.kind == SS_FRAMING_LINE) {
            bool found;
            p += line_scan(&f->spec, c->data + p, c->len - p, &f->prev, &found);
            uint64_t len_so_far = c->off + p - f->cur.off;
            f->pos = c->off + p;
            if (len_so_far > f->max_message) {
                /* Cut where a byte-by-byte reading would have noticed, whatever the split. */
                f->pos = f->cur.off + f->max_message + 1;
                mark_broken(f, f->cur.off, N_("no delimiter within the maximum message size %" PRIu64), f->max_message);
            } else if (found) {
                end_msg(f, c->off + p, true);
            }
            continue;
        }
        uint32_t used = feed_counted(f, off, c->data + p, c->len - p);
        p += used;
        f->pos = c->off + p;
        if (f->broken)
            break;
        if (f->len_known && f->need == 0) {
            end_msg(f, c->off + p, true);
            if (f->spec.kind == SS_FRAMING_FILEXFER)
                xfer_next(f, c->off + p);
        } else if (used == 0) {
            break;
        }
    }
    if (f->broken && f->in_msg)
        end_msg(f, f->pos > f->cur.off ? f->pos : f->cur.off, false); /* what it had, incomplete */
}

void ss_framer_finish(ss_framer_t *f)
{
    if (f->in_msg)
        end_msg(f, f->pos > f->cur.off ? f->pos : f->cur.off, false);
}

/* --- inference --- */

/* The candidates, most specific first: the first that fits wins. */
static const ss_framing_t auto_specs[SS_AUTO_NCAND] = {
    {.kind = SS_FRAMING_FILEXFER},                                /* filexfer:be */
    {.kind = SS_FRAMING_FILEXFER, .little_endian = true},         /* filexfer:le */
    {.kind = SS_FRAMING_LEN, .width = 4},                         /* len32 */
    {.kind = SS_FRAMING_LEN, .width = 4, .little_endian = true},  /* len32le */
    {.kind = SS_FRAMING_LEN, .width = 2},                         /* len16 */
    {.kind = SS_FRAMING_LINE, .delim = {'\r', '\n'}, .delim_len = 2}, /* line:crlf */
    {.kind = SS_FRAMING_LINE, .delim = {'\n'}, .delim_len = 1},        /* line */
};

void ss_auto_candidate(int i, ss_framing_t *out) { *out = auto_specs[i]; }

const char *ss_confidence_name(ss_confidence_t c)
{
    switch (c) {
    /* Marked for the catalog: the text outputs translate them, JSON keeps them. */
    case SS_CONF_LOW: return N_("low");
    case SS_CONF_MEDIUM: return N_("medium");
    case SS_CONF_HIGH: return N_("high");
    case SS_CONF_NONE: break;
    }
    return N_("none");
}

void ss_auto_init(ss_auto_t *a, uint64_t max_message)
{
    memset(a, 0, sizeof(*a));
    a->max_message = max_message ? max_message : 1; /* as a framer takes it */
}

_Static_assert(SS_AUTO_NCAND <= 8, "ss_auto_t.alive has a bit per candidate");

static bool cand_is_line(int i) { return i >= SS_AUTO_NCAND - 2; }

/* It no longer fits: no longer fed, and it can no longer win. */
static void cand_drop(ss_auto_cand_t *k)
{
    k->alive = false;
    free(k->xfer.json);
    k->xfer.json = NULL;
}

/* The candidates follow ss_framer_feed's rules: start_msg, add_frame and end_msg, counting instead of recording. */
static void cand_start(ss_auto_cand_t *k, uint64_t off)
{
    k->msg_off = off;
    k->in_msg = true;
    k->len_known = false;
    k->hdr_have = 0;
    k->need = 0;
    k->damaged = k->resync_at != 0 && off == k->resync_at;
    k->resync_at = 0;
    k->nframes = 0;
    k->last_frame = 0;
}

static void cand_frame(ss_auto_cand_t *k, uint64_t frame)
{
    if (frame == 0 || frame == k->last_frame)
        return;
    if (k->nframes < 2)
        k->nframes++;
    k->last_frame = frame;
}

static void cand_end(ss_auto_cand_t *k, uint64_t end, bool complete)
{
    uint64_t len = end - k->msg_off;
    k->in_msg = false;
    k->st.messages++;
    if (!complete || k->damaged)
        k->st.incomplete++;
    if (k->nframes >= 2)
        k->st.split_messages++;
    if (len > k->st.largest)
        k->st.largest = len;
}

/* As xfer_next: after a part of a file transfer, the next part and its length. */
static void cand_xfer_next(ss_auto_cand_t *k, uint64_t max_message)
{
    if (xfer_step(&k->xfer, max_message) != XFER_OK)
        cand_drop(k);
}

/* As feed_counted: up to `len` bytes of one LEN or FILEXFER message; returns bytes used. */
static uint32_t cand_counted(ss_auto_cand_t *k, const ss_framing_t *sp, uint64_t max_message, const uint8_t *d,
                             uint32_t len)
{
    uint32_t used = 0;
    if (!k->len_known) {
        unsigned hdr_need = sp->kind == SS_FRAMING_LEN ? sp->width : k->xfer.phase == 0 ? 4 : 0;
        while (k->hdr_have < hdr_need && used < len)
            k->hdr[k->hdr_have++] = d[used++];
        if (k->hdr_have < hdr_need)
            return used;
        uint64_t total;
        if (sp->kind == SS_FRAMING_LEN)
            total = get_uint(k->hdr, sp->width, sp->little_endian) + hdr_need;
        else
            total = k->xfer.phase == 0 ? 4 : k->xfer.body;
        if (total > max_message) {
            cand_drop(k);
            return used;
        }
        k->len_known = true;
        k->need = total - k->hdr_have;
        if (sp->kind == SS_FRAMING_FILEXFER && k->xfer.phase == 0)
            k->xfer.body = get_uint(k->hdr, 4, sp->little_endian);
    }
    uint32_t take = (uint32_t)((uint64_t)(len - used) < k->need ? (len - used) : k->need);
    if (sp->kind == SS_FRAMING_FILEXFER && k->xfer.phase == 1 && take)
        xfer_collect(&k->xfer, d + used, take);
    k->need -= take;
    return used + take;
}

/* As the framer's gap handling: a hole inside a message of known length keeps the boundaries. */
static void cand_gap(ss_auto_cand_t *k, const ss_framing_t *sp, uint64_t max_message, const ss_stream_chunk_t *c)
{
    bool line = sp->kind == SS_FRAMING_LINE;
    if (!k->in_msg) {
        if (!line) {
            cand_drop(k); /* bytes missing between messages */
            return;
        }
        k->resync_at = c->off + c->len; /* the next delimiter resynchronises */
        k->prev = 0;
        return;
    }
    if (line) {
        k->damaged = true;
        k->prev = 0;
        return;
    }
    if (!k->len_known || c->len > k->need) {
        cand_drop(k); /* a length was needed where bytes are missing */
        return;
    }
    k->need -= c->len;
    k->damaged = true;
    if (k->need == 0) {
        cand_end(k, c->off + c->len, false);
        if (sp->kind == SS_FRAMING_FILEXFER)
            cand_xfer_next(k, max_message);
    }
}

/* As ss_framer_feed on a chunk of data, counting the messages it ends and whether the chunk held two or more. */
static void cand_data(ss_auto_cand_t *k, const ss_framing_t *sp, uint64_t max_message, const ss_stream_chunk_t *c)
{
    uint32_t p = 0, msgs = k->in_msg ? 1 : 0; /* the messages with bytes in this chunk */
    while (p < c->len && k->alive) {
        uint64_t off = c->off + p;
        if (!k->in_msg) {
            cand_start(k, off);
            msgs++;
        }
        cand_frame(k, c->frame);
        if (sp->kind == SS_FRAMING_LINE) {
            bool found;
            p += line_scan(sp, c->data + p, c->len - p, &k->prev, &found);
            if (c->off + p - k->msg_off > max_message)
                cand_drop(k); /* no delimiter within the maximum message size */
            else if (found)
                cand_end(k, c->off + p, true);
            continue;
        }
        uint32_t used = cand_counted(k, sp, max_message, c->data + p, c->len - p);
        p += used;
        if (!k->alive)
            break;
        if (k->len_known && k->need == 0) {
            cand_end(k, c->off + p, true);
            if (sp->kind == SS_FRAMING_FILEXFER)
                cand_xfer_next(k, max_message);
        } else if (used == 0) {
            break;
        }
    }
    if (k->alive && msgs >= 2)
        k->st.coalesced_segments++;
}

/* True when a byte is one that text would not contain. */
static bool is_binary_byte(uint8_t b) { return (b < 0x20 && b != '\n' && b != '\r' && b != '\t') || b == 0x7F; }

/*
 * Sixteen bytes at a time (the compiler's vector types: SSE2 on x86-64,
 * NEON on arm64, plain code elsewhere), each lane compared at once; text
 * is scanned this way to its end, so the scan is most of what a text
 * stream costs the candidates.
 */
typedef uint8_t u8x16 __attribute__((vector_size(16)));

static bool block_has_binary(const uint8_t *d)
{
    u8x16 v;
    memcpy(&v, d, sizeof(v));
    u8x16 bad = (u8x16)((v < 0x20) & (v != '\t') & (v != '\n') & (v != '\r')) | (u8x16)(v == 0x7F);
    uint64_t w[2];
    memcpy(w, &bad, sizeof(w));
    return (w[0] | w[1]) != 0;
}

/* True when the data holds a byte that text would not contain. */
static bool has_binary_byte(const uint8_t *d, uint32_t n)
{
    uint32_t i = 0;
    for (; i + 16 <= n; i += 16)
        if (block_has_binary(d + i))
            return true;
    for (; i < n; i++)
        if (is_binary_byte(d[i]))
            return true;
    return false;
}

void ss_auto_feed(ss_auto_t *a, const ss_stream_chunk_t *c)
{
    if (!a->started) { /* at the first chunk, gap or data: a gap first counts against some candidates */
        a->started = true;
        for (int i = 0; i < SS_AUTO_NCAND; i++)
            a->cand[i].alive = true;
        a->alive = (uint8_t)((1u << SS_AUTO_NCAND) - 1);
    }
    if (c->gap) {
        a->gaps++;
    } else {
        a->bytes += c->len;
        if (!a->binary && has_binary_byte(c->data, c->len)) {
            /* A delimiter in binary data is a coincidence: the line candidates are out. */
            a->binary = true;
            for (int k = 0; k < SS_AUTO_NCAND; k++)
                if (cand_is_line(k) && (a->alive & (1u << k))) {
                    cand_drop(&a->cand[k]);
                    a->alive &= (uint8_t)~(1u << k);
                }
        }
    }
    for (unsigned m = a->alive; m; m &= m - 1) {
        int i = __builtin_ctz(m);
        ss_auto_cand_t *k = &a->cand[i];
        if (c->gap)
            cand_gap(k, &auto_specs[i], a->max_message, c);
        else
            cand_data(k, &auto_specs[i], a->max_message, c);
        if (!k->alive)
            a->alive &= (uint8_t)~(1u << i);
    }
}

void ss_auto_verdict(const ss_auto_t *a, ss_auto_verdict_t *v, ss_auto_stats_t *st)
{
    memset(v, 0, sizeof(*v));
    if (st)
        memset(st, 0, sizeof(*st));
    v->framing.kind = SS_FRAMING_NONE;
    v->bytes = a->bytes;
    if (a->bytes == 0) {
        v->why = SS_AUTO_WHY_NO_DATA;
        return;
    }
    for (int i = 0; i < SS_AUTO_NCAND; i++) {
        const ss_auto_cand_t *k = &a->cand[i];
        /* It must explain the whole stream: never stopped fitting, no message left open at the end. */
        uint64_t n = k->st.messages - k->st.incomplete; /* complete messages */
        if (!k->alive || k->in_msg || n == 0)
            continue;
        if (cand_is_line(i) && a->binary)
            continue;
        if (st)
            *st = k->st;
        v->framing = auto_specs[i];
        v->confidence = n >= 8 ? SS_CONF_HIGH : n >= 3 ? SS_CONF_MEDIUM : SS_CONF_LOW;
        v->why = SS_AUTO_WHY_FITS;
        v->messages = n;
        return;
    }
    v->why = a->binary ? SS_AUTO_WHY_NONE_BINARY : SS_AUTO_WHY_NONE_TEXT;
}

void ss_auto_explain(const ss_auto_verdict_t *v, char *why, size_t whylen, char *why_local, size_t locallen)
{
    char name[32];
    uint64_t n = v->messages;
    switch ((ss_auto_why_t)v->why) {
    case SS_AUTO_WHY_NO_DATA:
        snprintf(why, whylen, "no data");
        if (why_local)
            snprintf(why_local, locallen, "%s", _("no data"));
        return;
    case SS_AUTO_WHY_NONE_TEXT:
        snprintf(why, whylen, "no framing fits the whole stream (text without a common delimiter at the end): "
                              "treated as unframed");
        if (why_local)
            snprintf(why_local, locallen, "%s",
                     _("no framing fits the whole stream (text without a common delimiter at the end): "
                       "treated as unframed"));
        return;
    case SS_AUTO_WHY_NONE_BINARY:
        snprintf(why, whylen, "no framing fits the whole stream (binary data): treated as unframed");
        if (why_local)
            snprintf(why_local, locallen, "%s",
                     _("no framing fits the whole stream (binary data): treated as unframed"));
        return;
    case SS_AUTO_WHY_FITS: break;
    }
    ss_framing_name(&v->framing, name, sizeof(name));
    /* The same sentence in English (JSON) and in the user's language (the notes). */
    if (v->framing.kind == SS_FRAMING_LINE) {
        snprintf(why, whylen,
                 n == 1 ? "%s explains all %" PRIu64 " bytes as %" PRIu64 " message, each ended by the delimiter"
                        : "%s explains all %" PRIu64 " bytes as %" PRIu64 " messages, each ended by the delimiter",
                 name, v->bytes, n);
        if (why_local)
            snprintf(why_local, locallen,
                     P_("%s explains all %" PRIu64 " bytes as %" PRIu64 " message, each ended by the delimiter",
                        "%s explains all %" PRIu64 " bytes as %" PRIu64 " messages, each ended by the delimiter", n),
                     name, v->bytes, n);
    } else if (v->framing.kind == SS_FRAMING_FILEXFER) {
        snprintf(why, whylen,
                 n == 1 ? "%s explains all %" PRIu64 " bytes as %" PRIu64
                          " message (header length, JSON header, file body)"
                        : "%s explains all %" PRIu64 " bytes as %" PRIu64
                          " messages (header length, JSON header, file body)",
                 name, v->bytes, n);
        if (why_local)
            snprintf(why_local, locallen,
                     P_("%s explains all %" PRIu64 " bytes as %" PRIu64
                        " message (header length, JSON header, file body)",
                        "%s explains all %" PRIu64 " bytes as %" PRIu64
                        " messages (header length, JSON header, file body)", n),
                     name, v->bytes, n);
    } else {
        snprintf(why, whylen,
                 n == 1 ? "%s explains all %" PRIu64 " bytes as %" PRIu64
                          " message, each length landing exactly on the next"
                        : "%s explains all %" PRIu64 " bytes as %" PRIu64
                          " messages, each length landing exactly on the next",
                 name, v->bytes, n);
        if (why_local)
            snprintf(why_local, locallen,
                     P_("%s explains all %" PRIu64 " bytes as %" PRIu64
                        " message, each length landing exactly on the next",
                        "%s explains all %" PRIu64 " bytes as %" PRIu64
                        " messages, each length landing exactly on the next", n),
                     name, v->bytes, n);
    }
}

ss_confidence_t ss_auto_decide(ss_auto_t *a, ss_framing_t *out, char *why, size_t whylen, char *why_local,
                               size_t locallen)
{
    ss_auto_verdict_t v;
    ss_auto_verdict(a, &v, NULL);
    ss_auto_explain(&v, why, whylen, why_local, locallen);
    *out = v.framing;
    return (ss_confidence_t)v.confidence;
}

void ss_auto_fini(ss_auto_t *a)
{
    for (int i = 0; i < SS_AUTO_NCAND; i++)
        cand_drop(&a->cand[i]);
}
