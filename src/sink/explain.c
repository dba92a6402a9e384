/* explain.c - one sentence of why for each marker, handshake and teardown packet (--explain). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "segscope/i18n.h"

/* "204 ms", "1.5 ms", "0.035 ms", "1.01 s". */
static const char *fmt_dur(int64_t ns, char *buf, size_t n)
{
    if (ns < 0)
        ns = -ns;
    double ms = (double)ns / 1e6;
    if (ms >= 1000.0)
        snprintf(buf, n, "%.2f s", ms / 1000.0);
    else if (ms >= 10.0)
        snprintf(buf, n, "%.0f ms", ms);
    else if (ms >= 1.0)
        snprintf(buf, n, "%.1f ms", ms);
    else
        snprintf(buf, n, "%.3f ms", ms);
    return buf;
}

static const char *ordinal(uint32_t n, char *buf, size_t len)
{
    static const char *const words[] = {"", N_("first"), N_("second"), N_("third"), N_("fourth"), N_("fifth")};
    if (n < sizeof(words) / sizeof(words[0]) && n > 0)
        return _(words[n]);
    /* TRANSLATORS: an ordinal number from 6 on, as in "the 6th duplicate ACK". */
    snprintf(buf, len, _("%" PRIu32 "th"), n);
    return buf;
}

typedef struct ctx {
    FILE *o;
    bool color;
} ctx_t;

static void say(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->o, "%20s%s\u21b3 ", "", c->color ? "\033[2m" : "");
    va_start(ap, fmt);
    vfprintf(c->o, fmt, ap);
    va_end(ap);
    fprintf(c->o, "%s\n", c->color ? "\033[0m" : "");
}

/* The endpoint that sent in direction dir, inside a sentence and at its start. */
static const char *side(int dir) { return dir == SS_DIR_C2S ? _("the client") : _("the server"); }
static const char *Side(int dir) { return dir == SS_DIR_C2S ? _("The client") : _("The server"); }

static void explain_handshake(ctx_t *c, const ss_pkt_event_t *pe)
{
    const ss_tcp_result_t *rr = pe->tcp;
    for (int i = 0; i < rr->ntrans; i++)
        if (rr->trans[i].from == SS_TCP_ST_UNKNOWN && rr->trans[i].to == SS_TCP_ST_ESTABLISHED) {
            say(c,
                _("The capture starts in the middle of this connection: its handshake was not captured, so "
                "relative numbers start at 1 here, and the window scale is unknown: windows are shown as "
                "sent, unscaled."));
            break;
        }
    const ss_packet_t *p = pe->pkt;
    const ss_tcp_result_t *r = pe->tcp;
    const ss_conv_tcp_t *t = pe->conv_tcp;
    uint16_t f = p->tcp.flags;
    char b1[32];
    if ((f & SS_TCP_SYN) && !(f & SS_TCP_ACK)) {
        if (r->flags & SS_TA(RETRANSMISSION))
            return; /* the retransmission sentence covers it */
        say(c,
            _("%s opens a connection: SYN with initial sequence number %" PRIu32 " (shown as 0). A SYN "
            "consumes one sequence number, so the first data byte will be 1."),
            Side(pe->dir), p->tcp.seq);
        if (p->tcp.opts.present & (SS_TCPOPT_MSS | SS_TCPOPT_WSCALE | SS_TCPOPT_SACKOK)) {
            char opt[320] = "";
            size_t n = 0;
            /* TRANSLATORS: between the items of a list, as in "MSS, window scale, SACK". */
            const char *sep = _(", ");
            if (p->tcp.opts.present & SS_TCPOPT_MSS)
                n += (size_t)snprintf(opt + n, sizeof(opt) - n, _("segments of at most %u bytes (MSS)"),
                                      p->tcp.opts.mss);
            if ((p->tcp.opts.present & SS_TCPOPT_WSCALE) && n < sizeof(opt)) {
                n += (size_t)snprintf(opt + n, sizeof(opt) - n, "%s", n ? sep : "");
                if (n < sizeof(opt))
                    n += (size_t)snprintf(opt + n, sizeof(opt) - n, _("windows scaled by 2^%u"), p->tcp.opts.wscale);
            }
            if ((p->tcp.opts.present & SS_TCPOPT_SACKOK) && n < sizeof(opt))
                snprintf(opt + n, sizeof(opt) - n, "%s%s", n ? sep : "", _("selective ACKs (SACK)"));
            say(c, _("It offers: %s."), opt);
        }
        return;
    }
    if ((f & SS_TCP_SYN) && (f & SS_TCP_ACK)) {
        if (r->flags & SS_TA(RETRANSMISSION))
            return;
        say(c,
            _("%s accepts: its own SYN (initial sequence number %" PRIu32 ") and ACK %" PRIu32
            " = the peer's ISN + 1, because the SYN consumed one sequence number."),
            Side(pe->dir), p->tcp.seq, r->rel_ack);
        return;
    }
    if (t && t->hs_ack && pe->dir == SS_DIR_C2S && r->ntrans > 0) {
        for (int i = 0; i < r->ntrans; i++)
            if (r->trans[i].to == SS_TCP_ST_ESTABLISHED && r->trans[i].end == SS_DIR_C2S) {
                if (t->has_irtt)
                    say(c,
                        _("The client acknowledges the server's SYN (ACK 1 = its ISN + 1): the three-way "
                        "handshake is complete, %s after the SYN (the initial RTT)."),
                        fmt_dur(t->irtt_ns, b1, sizeof(b1)));
                else
                    say(c, _("The client acknowledges the server's SYN: the three-way handshake is complete."));
                return;
            }
    }
}

static void explain_close(ctx_t *c, const ss_pkt_event_t *pe)
{
    const ss_packet_t *p = pe->pkt;
    const ss_tcp_result_t *r = pe->tcp;
    uint16_t f = p->tcp.flags;
    if (f & SS_TCP_RST) {
        const ss_conv_tcp_t *t = pe->conv_tcp;
        if (t && t->syn && !t->synack && pe->dir == SS_DIR_S2C)
            say(c,
                _("The server answers the SYN with RST: nothing listens on port %u there, so the "
                "connection is refused (connect() fails with ECONNREFUSED)."),
                p->tcp.sport);
        else
            say(c,
                _("%s aborts the connection with RST: no FIN handshake and no TIME-WAIT; data not yet "
                "delivered is thrown away and the peer's next recv() fails with ECONNRESET."),
                Side(pe->dir));
        return;
    }
    if (f & SS_TCP_FIN) {
        if (r->flags & SS_TA(RETRANSMISSION))
            return;
        if (r->fin_active)
            say(c,
                _("%s closes its sending direction first (active close): the FIN takes one sequence number "
                "(%" PRIu32 "). It can still receive until the peer closes too."),
                Side(pe->dir), r->rel_seq + p->payload_len);
        else
            say(c,
                _("%s closes its direction too (passive close), after reading the peer's FIN; it now waits "
                "in LAST-ACK for the ACK of this FIN."),
                Side(pe->dir));
        return;
    }
    bool time_wait = pe->conv_tcp && pe->conv_tcp->state[pe->dir] == SS_TCP_ST_TIME_WAIT;
    for (int i = 0; i < r->ntrans; i++) {
        const ss_tcp_transition_t *tr = &r->trans[i];
        bool proves_tw = tr->to == SS_TCP_ST_TIME_WAIT && tr->end == pe->dir && !tr->inferred;
        bool closes_peer = tr->to == SS_TCP_ST_CLOSED && tr->end != pe->dir && tr->from == SS_TCP_ST_LAST_ACK;
        if (proves_tw || (closes_peer && time_wait)) {
            if (closes_peer)
                say(c,
                    _("%s acknowledges the last FIN, and the peer, in LAST-ACK, is closed when it arrives. As the "
                      "side that closed first it now waits 2\u00d7MSL in TIME-WAIT, so that a late segment of this "
                      "connection cannot be mistaken for one of a new connection on the same ports."),
                    Side(pe->dir));
            else
                say(c,
                    _("%s acknowledges the last FIN. As the side that closed first it now waits 2\u00d7MSL in "
                      "TIME-WAIT, so that a late segment of this connection cannot be mistaken for one of a new "
                      "connection on the same ports."),
                    Side(pe->dir));
            return;
        }
        if (closes_peer) {
            say(c, _("This ACK of the last FIN lets %s leave LAST-ACK: the connection is closed on its side."),
                side(tr->end));
            return;
        }
    }
}

/* Why this segment's bytes belong to several messages, or a message to several segments. */
static void explain_messages(ctx_t *c, const ss_pkt_event_t *pe)
{
    const ss_seg_msgs_t *g = pe->msgs;
    const ss_tcp_result_t *r = pe->tcp;
    const ss_conv_tcp_t *t = pe->conv_tcp;
    uint32_t len = pe->pkt->payload_len;
    if (!g || g->udp)
        return;
    uint16_t mss = t ? t->mss[!pe->dir] : 0;
    /* A full-sized segment: as large as the receiver's MSS allows (its options may take up to 40 bytes). */
    bool full = mss && len + 40 >= mss;
    if (g->coalesced) {
        /* A small segment sent while earlier data awaited its ACK: what Nagle's algorithm produces. */
        bool nagle = !full && r->peer_ack_rel && r->peer_ack_rel < r->rel_seq;
        if (nagle)
            say(c,
                _("Coalesced (粘包): this segment carries bytes of %" PRIu32 " messages (#%" PRIu64 "\u2013#%" PRIu64
                "). Bytes before it were still unacknowledged (the peer had acknowledged up to %" PRIu32
                "), so Nagle's algorithm held the small writes back and sent them together. The receiver "
                "gets one stream of bytes: only the framing tells the messages apart."),
                g->count, g->first, g->last, r->peer_ack_rel);
        else
            say(c,
                _("Coalesced (粘包): this segment carries bytes of %" PRIu32 " messages (#%" PRIu64 "\u2013#%" PRIu64
                "): they were in the sender's buffer together (written close together, or in one call), and TCP "
                "filled the segment with them. TCP carries a byte stream, not messages: only the framing tells "
                "them apart."),
                g->count, g->first, g->last);
    }
    if (g->open_end) {
        /* The last message here continues in a later segment: say why it was cut here. */
        uint64_t idx = g->last;
        if (full)
            say(c,
                _("Split (拆包): message #%" PRIu64 " continues beyond this segment, which is already as large as the "
                "receiver's MSS (%u bytes) allows: a message that does not fit must be cut into several segments."),
                idx, mss);
        else if (r->flags & SS_TA(WINDOW_FULL))
            say(c,
                _("Split (拆包): message #%" PRIu64 " continues in a later segment: this one filled the receiver's "
                "window, so the rest had to wait."),
                idx);
        else
            say(c,
                _("Split (拆包): message #%" PRIu64 " continues in a later segment: TCP sent what had been written so "
                "far, and the rest of the message followed."),
                idx);
    }
}

void ss_explain_udp(FILE *out, const ss_pkt_event_t *pe, bool color)
{
    ctx_t cx = {out, color};
    const ss_seg_msgs_t *g = pe->msgs;
    if (g->udp_first)
        say(&cx,
            _("UDP keeps message boundaries: each sendto() travels as one datagram and arrives as one "
            "recvfrom(), whole or not at all. Unlike TCP, writes never merge or split, and a lost datagram "
            "is not resent."));
    if (g->numbered && g->missing)
        say(&cx,
            P_("Datagrams are numbered and %" PRIu32 " number before #%" PRIu32 " never appeared: lost before "
               "the capture point (UDP does not retransmit), or still to come out of order.",
               "Datagrams are numbered and %" PRIu32 " numbers before #%" PRIu32 " never appeared: lost before "
               "the capture point (UDP does not retransmit), or still to come out of order.",
               g->missing),
            g->missing, g->number);
    if (g->numbered && g->late)
        say(&cx, _("Datagram #%" PRIu32 " comes after a higher number: the network reordered it (or duplicated it)."),
            g->number);
}

void ss_explain_packet(FILE *out, const ss_pkt_event_t *pe, bool color)
{
    ctx_t cx = {out, color};
    ctx_t *c = &cx;
    const ss_packet_t *p = pe->pkt;
    const ss_tcp_result_t *r = pe->tcp;
    char b1[32];
    uint32_t fl = r->flags;
    uint32_t len = p->payload_len;
    uint32_t first = r->rel_seq, last = r->rel_seq + (len ? len - 1 : 0);

    if (fl & SS_TA(REUSED_PORTS))
        say(c,
            _("A SYN with a new initial sequence number on ports already used: a new connection reusing "
            "the ports of an earlier one."));
    if (fl & SS_TA(FAST_RETRANSMISSION)) {
        say(c,
            _("Fast retransmission: duplicate ACKs asked for byte %" PRIu32 " again and again, so %s resends "
            "that segment at once instead of waiting for its retransmission timer (RFC 5681)."),
            first, side(pe->dir));
    } else if (fl & SS_TA(SPURIOUS_RETRANSMISSION)) {
        say(c,
            _("Bytes %" PRIu32 "\u2013%" PRIu32 " had all been acknowledged already (the peer's ACK was %" PRIu32
            "): this resend was not needed; the original or its ACK was only slow."),
            first, last, r->peer_ack_rel);
    } else if (fl & SS_TA(OUT_OF_ORDER)) {
        say(c,
            _("This segment lies below the highest sequence number already seen and came too soon after it "
            "to be a resend (within the initial RTT): it was most likely reordered on the way."));
    } else if (fl & SS_TA(RETRANSMISSION)) {
        if (p->tcp.flags & SS_TCP_SYN)
            say(c,
                _("The %s was sent again: no answer came within %s, so the retransmission timer expired "
                "(Linux waits 1 s, then doubles the wait)."),
                (p->tcp.flags & SS_TCP_ACK) ? "SYN-ACK" : "SYN", fmt_dur(r->rto_ns, b1, sizeof(b1)));
        else if (len == 0)
            say(c, _("The FIN was sent again: no ACK for it came within %s."), fmt_dur(r->rto_ns, b1, sizeof(b1)));
        else if (r->first_sent_frame && r->since_first_ns < 200 * 1000000LL)
            say(c,
                _("Bytes %" PRIu32 "\u2013%" PRIu32 " were first sent in frame %" PRIu64 ", %s ago, and no ACK "
                "covered them yet: %s sent them again this soon, before the 200 ms minimum retransmission "
                "timeout of Linux, which is what its tail loss probe does (RFC 8985)."),
                first, last, r->first_sent_frame, fmt_dur(r->since_first_ns, b1, sizeof(b1)), side(pe->dir));
        else if (r->first_sent_frame)
            say(c,
                _("Bytes %" PRIu32 "\u2013%" PRIu32 " were first sent in frame %" PRIu64 ", %s ago, and no ACK "
                "covered them: the retransmission timer expired and %s sent them again."),
                first, last, r->first_sent_frame, fmt_dur(r->since_first_ns, b1, sizeof(b1)), side(pe->dir));
        else
            say(c,
                _("Bytes %" PRIu32 "\u2013%" PRIu32 " were sent before (the highest sequence number seen is "
                "already past them) and no ACK covered them: %s sent them again."),
                first, last, side(pe->dir));
    }
    if (fl & SS_TA(LOST_SEGMENT))
        say(c,
            _("This segment starts at %" PRIu32 " but the previous one ended at %" PRIu32 ": %" PRIu32
            " bytes before it never appeared in this capture (lost before the capture point, or missed by "
            "the capture)."),
            first, r->expected_rel, first - r->expected_rel);
    if (fl & SS_TA(ACK_LOST_SEGMENT))
        say(c,
            _("This ACK (%" PRIu32 ") acknowledges bytes this capture never showed: the receiver got them, "
            "the capture did not."),
            r->rel_ack);
    if ((fl & SS_TA(DUPLICATE_ACK)) && r->dup_ack_num == 3)
        say(c,
            _("The %s duplicate ACK for %" PRIu32 ": the receiver got data beyond a hole and keeps asking for "
              "the segment that starts at %" PRIu32 ". Three of them trigger a fast retransmission."),
            ordinal(r->dup_ack_num, b1, sizeof(b1)), r->rel_ack, r->rel_ack);
    else if (fl & SS_TA(DUPLICATE_ACK))
        say(c,
            _("The %s duplicate ACK for %" PRIu32 ": the receiver got data beyond a hole and keeps asking for "
              "the segment that starts at %" PRIu32 "."),
            ordinal(r->dup_ack_num, b1, sizeof(b1)), r->rel_ack, r->rel_ack);
    if (fl & SS_TA(ZERO_WINDOW))
        say(c,
            _("The receive buffer of %s is full: it advertises window 0, and the peer must stop sending until "
            "the window opens again."),
            side(pe->dir));
    if (fl & SS_TA(ZERO_WINDOW_PROBE))
        say(c,
            _("The window is 0, so %s probes with a single byte to learn when it opens again (the persist "
            "timer)."),
            side(pe->dir));
    if (fl & SS_TA(ZERO_WINDOW_PROBE_ACK))
        say(c, _("The answer to the probe: the window is still 0."));
    if (fl & SS_TA(WINDOW_FULL))
        say(c,
            _("This segment fills the receiver's window exactly (ACK %" PRIu32 " + window %" PRIu32 " = %" PRIu32
            "): %s must now wait for an ACK or a window update."),
            r->peer_ack_rel, r->peer_win, r->rel_seq + len, side(pe->dir));
    if (fl & SS_TA(WINDOW_UPDATE))
        say(c,
            _("Only the window changed (%" PRIu32 " \u2192 %" PRIu32 " bytes): %s's application read data from "
            "its buffer, and the peer may send more."),
            r->prev_win, r->win, side(pe->dir));
    if (fl & SS_TA(KEEP_ALIVE))
        say(c,
            P_("A keep-alive: %u byte at an already acknowledged position after a quiet period, which the "
               "peer must answer with an ACK (it shows the connection is still alive).",
               "A keep-alive: %u bytes at an already acknowledged position after a quiet period, which the "
               "peer must answer with an ACK (it shows the connection is still alive).",
               len),
            len);
    if (fl & SS_TA(KEEP_ALIVE_ACK))
        say(c, _("The answer to the keep-alive: the peer is still there."));
    if (r->nsack && r->dsack)
        say(c,
            _("D-SACK: %s reports that it received bytes %" PRIu32 "\u2013%" PRIu32 " twice, so their "
            "retransmission was not needed (RFC 2883)."),
            side(pe->dir), r->sack[0][0], r->sack[0][1] - 1);
    else if (r->nsack > 1)
        say(c,
            _("SACK: %s already holds bytes %" PRIu32 "\u2013%" PRIu32 " (and more blocks) beyond the acknowledged "
              "%" PRIu32 ", so only the hole before them needs resending."),
            side(pe->dir), r->sack[0][0], r->sack[0][1] - 1, r->rel_ack);
    else if (r->nsack)
        say(c,
            _("SACK: %s already holds bytes %" PRIu32 "\u2013%" PRIu32 " beyond the acknowledged %" PRIu32
              ", so only the hole before them needs resending."),
            side(pe->dir), r->sack[0][0], r->sack[0][1] - 1, r->rel_ack);
    explain_messages(c, pe);
    explain_handshake(c, pe);
    explain_close(c, pe);
}
