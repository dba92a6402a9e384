/* fmt.c - shared formatting for the sinks. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const int marker_order[SS_TA_MARKER_SLOTS] = {
    SS_TA_BIT_ZERO_WINDOW_PROBE_ACK, SS_TA_BIT_ZERO_WINDOW, SS_TA_BIT_ZERO_WINDOW_PROBE,
    SS_TA_BIT_DUPLICATE_ACK, SS_TA_BIT_KEEP_ALIVE_ACK, SS_TA_BIT_KEEP_ALIVE, SS_TA_BIT_WINDOW_FULL,
    SS_TA_BIT_WINDOW_UPDATE, SS_TA_BIT_ACK_LOST_SEGMENT, SS_TA_BIT_LOST_SEGMENT,
    SS_TA_BIT_RETRANSMISSION, /* stands for the whole retransmission family */
    SS_TA_BIT_REUSED_PORTS,
};

int ss_ta_marker_bit(size_t slot, uint32_t flags)
{
    if (slot >= SS_TA_MARKER_SLOTS)
        return -1;
    int bit = marker_order[slot];
    if (bit == SS_TA_BIT_RETRANSMISSION) {
        if (flags & SS_TA(FAST_RETRANSMISSION))
            return SS_TA_BIT_FAST_RETRANSMISSION;
        if (flags & SS_TA(SPURIOUS_RETRANSMISSION))
            return SS_TA_BIT_SPURIOUS_RETRANSMISSION;
        if (flags & SS_TA(OUT_OF_ORDER))
            return SS_TA_BIT_OUT_OF_ORDER;
    }
    return flags & (1u << bit) ? bit : -1;
}

const char *const ss_tcp_flag_names[9] = {"FIN", "SYN", "RST", "PSH", "ACK",
                                           "URG", "ECE", "CWR", "AE"};

char *ss_put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

void ss_put_cut(char *buf, size_t n, const char *s, size_t len)
{
    if (n == 0)
        return;
    if (len > n - 1)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

const char *ss_fmt_endpoint(const ss_addr_t *a, uint16_t port, char *buf, size_t n)
{
    /* Written piece by piece: the summary formats two per row, twice. */
    char t[80], *p = t;
    if (a->family == 6)
        *p++ = '[';
    ss_addr_str(a, p, 64);
    p += strlen(p);
    if (a->family == 6)
        *p++ = ']';
    *p++ = ':';
    p = ss_put_u64(p, port);
    ss_put_cut(buf, n, t, (size_t)(p - t));
    return buf;
}

const char *ss_fmt_tcp_flags(uint16_t f, char *buf, size_t n)
{
    size_t i = 0;
    /* Same letters and order as tcpdump, plus A for the AE bit. */
    static const struct {
        uint16_t bit;
        char c;
    } map[] = {{SS_TCP_SYN, 'S'}, {SS_TCP_FIN, 'F'}, {SS_TCP_PSH, 'P'}, {SS_TCP_RST, 'R'},
               {SS_TCP_URG, 'U'}, {SS_TCP_ECE, 'E'}, {SS_TCP_CWR, 'W'}, {SS_TCP_AE, 'A'},
               {SS_TCP_ACK, '.'}};
    for (size_t k = 0; k < sizeof(map) / sizeof(map[0]) && i + 1 < n; k++)
        if (f & map[k].bit)
            buf[i++] = map[k].c;
    buf[i] = '\0';
    if (i == 0)
        snprintf(buf, n, "none");
    return buf;
}

/* Appends printf-style text at *len, never past n (clang checks the callers' formats with the attribute). */
__attribute__((format(printf, 4, 5))) static void app(char *buf, size_t n, size_t *len, const char *fmt, ...)
{
    if (*len >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, n - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len += (size_t)w < n - *len ? (size_t)w : n - *len - 1;
}

const char *ss_fmt_tcp_options(const ss_tcp_opts_t *o, char *buf, size_t n)
{
    size_t len = 0;
    unsigned unknown = 0;
    buf[0] = '\0';
    /* In wire order, as tcpdump prints them. */
    for (unsigned i = 0; i < o->norder; i++) {
        app(buf, n, &len, "%s", i ? "," : "");
        switch (o->order[i]) {
        case 0: app(buf, n, &len, "eol"); break;
        case 1: app(buf, n, &len, "nop"); break;
        case 2: app(buf, n, &len, "mss %u", o->mss); break;
        case 3: app(buf, n, &len, "wscale %u", o->wscale); break;
        case 4: app(buf, n, &len, "sackOK"); break;
        case 5:
            app(buf, n, &len, "sack %u", o->nsack);
            for (unsigned k = 0; k < o->nsack; k++)
                app(buf, n, &len, " {%u:%u}", o->sack[k][0], o->sack[k][1]);
            break;
        case 8: app(buf, n, &len, "TS val %u ecr %u", o->ts_val, o->ts_ecr); break;
        case 34:
            if (o->tfo_cookie_len)
                app(buf, n, &len, "tfo cookie %u bytes", o->tfo_cookie_len);
            else
                app(buf, n, &len, "tfo cookiereq");
            break;
        default:
            if (unknown < o->nunknown) {
                app(buf, n, &len, "opt-%u len %u", o->unknown[unknown].kind, o->unknown[unknown].len);
                unknown++;
            } else {
                app(buf, n, &len, "opt-%u", o->order[i]);
            }
            break;
        }
    }
    if (o->malformed)
        app(buf, n, &len, "%smalformed", o->norder ? "," : "");
    return buf;
}

const char *ss_fmt_secs(int64_t ns, int decimals, char *buf, size_t n)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t div = 1;
    for (int i = decimals; i < 9; i++)
        div *= 10;
    uint64_t frac = (a % 1000000000u) / div;
    if (decimals < 1 || decimals > 9) {
        snprintf(buf, n, "%s%" PRIu64 ".%0*" PRIu64, ns < 0 ? "-" : "", a / 1000000000u, decimals, frac);
        return buf;
    }
    /* The same text as that snprintf, without it (the summary writes two per row, twice). */
    char t[40], *p = t;
    if (ns < 0)
        *p++ = '-';
    p = ss_put_u64(p, a / 1000000000u);
    *p++ = '.';
    for (int i = decimals - 1; i >= 0; i--, frac /= 10)
        p[i] = (char)('0' + frac % 10);
    p += decimals;
    ss_put_cut(buf, n, t, (size_t)(p - t));
    return buf;
}

/*
 * Milliseconds as printf("%.1f") from 10 ms up, else "%.3f", of the double
 * ns / 1e6. Written with integers where that gives the same text: for
 * 0 <= ns < 2^53 the double is the exact quotient rounded once, which is
 * nearer to it than any rounding boundary of the printed digits except an
 * exact tie; ties and negative times go through printf.
 */
void ss_fmt_ms(char *buf, size_t n, int64_t ns)
{
    double ms = (double)ns / 1e6;
    int dec = ms >= 10 ? 1 : 3;
    uint64_t unit = dec == 1 ? 100000 : 1000, q = (uint64_t)ns / unit, r = (uint64_t)ns % unit;
    if (ns < 0 || ns >= (INT64_C(1) << 53) || 2 * r == unit || n < 32) {
        snprintf(buf, n, dec == 1 ? "%.1f" : "%.3f", ms);
        return;
    }
    if (2 * r > unit)
        q++;
    uint64_t scale = dec == 1 ? 10 : 1000;
    char *p = ss_put_u64(buf, q / scale);
    *p++ = '.';
    for (int i = dec - 1, f = (int)(q % scale); i >= 0; i--, f /= 10)
        p[i] = (char)('0' + f % 10);
    p[dec] = '\0';
}

/*
 * snprintf(buf, n, fmt, ...) for formats made of text, "%s" and "%" PRIu64
 * only, written here (the summary formats a few per row, twice); any other
 * directive (a translation may number its arguments) goes to vsnprintf.
 */
void ss_fmt_text(char *buf, size_t n, const char *fmt, ...)
{
    static const char u64[] = "%" PRIu64;
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = strchr(fmt, '%'); f; f = strchr(f, '%')) {
        if (f[1] == 's') {
            f += 2;
        } else if (strncmp(f, u64, sizeof(u64) - 1) == 0) {
            f += sizeof(u64) - 1;
        } else {
            vsnprintf(buf, n, fmt, ap);
            va_end(ap);
            return;
        }
    }
    if (n == 0) {
        va_end(ap);
        return;
    }
    char *p = buf, *end = buf + n - 1;
    while (*fmt && p < end) {
        if (*fmt != '%') {
            *p++ = *fmt++;
            continue;
        }
        char num[20];
        const char *arg;
        size_t k;
        if (fmt[1] == 's') {
            arg = va_arg(ap, const char *);
            k = strlen(arg);
            fmt += 2;
        } else {
            arg = num;
            k = (size_t)(ss_put_u64(num, va_arg(ap, uint64_t)) - num);
            fmt += sizeof(u64) - 1;
        }
        if (k > (size_t)(end - p))
            k = (size_t)(end - p);
        memcpy(p, arg, k);
        p += k;
    }
    *p = '\0';
    va_end(ap);
}

void ss_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void ss_sink_noop_destroy(ss_sink_t *s) { free(s); }

void ss_sink_destroy(ss_sink_t *s)
{
    if (s)
        s->ops->destroy(s);
}
