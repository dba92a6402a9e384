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

const char *ss_fmt_endpoint(const ss_addr_t *a, uint16_t port, char *buf, size_t n)
{
    char ab[64];
    ss_addr_str(a, ab, sizeof(ab));
    if (a->family == 6)
        snprintf(buf, n, "[%s]:%u", ab, port);
    else
        snprintf(buf, n, "%s:%u", ab, port);
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
    snprintf(buf, n, "%s%" PRIu64 ".%0*" PRIu64, ns < 0 ? "-" : "", a / 1000000000u, decimals, frac);
    return buf;
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
