/* conv.c - how a conversation's handshake and close are classified. */
#include "segscope/event.h"
#include "segscope/i18n.h"

/*
 * The names are English, as JSON and CSV carry them; N_() marks them for the
 * catalog, and the outputs people read translate them with ss_i18n_tr().
 */

const char *ss_handshake_name(ss_handshake_t h)
{
    switch (h) {
    case SS_HS_COMPLETE: return N_("complete");
    case SS_HS_PARTIAL: return N_("partial");
    case SS_HS_NONE: break;
    }
    return N_("none");
}

const char *ss_close_name(ss_close_t c)
{
    switch (c) {
    case SS_CLOSE_FIN: return "fin";
    case SS_CLOSE_HALF: return "half";
    case SS_CLOSE_RST: return "rst";
    case SS_CLOSE_REFUSED: return "refused";
    case SS_CLOSE_OPEN: break;
    }
    return "open";
}

/* Complete: SYN, SYN-ACK and the ACK of the SYN-ACK; partial: some of them; none: no SYN at all. */
ss_handshake_t ss_conv_handshake(const ss_conv_tcp_t *t)
{
    if (t->syn && t->synack && t->hs_ack)
        return SS_HS_COMPLETE;
    if (t->syn || t->synack)
        return SS_HS_PARTIAL;
    return SS_HS_NONE;
}

/*
 * Refused: the answer to the SYN was a RST (nothing listened). Otherwise an
 * RST anywhere makes it an abort; FINs from both sides a normal close; a FIN
 * from one side only a half-close; nothing at all: still open.
 */
ss_close_t ss_conv_close(const ss_conv_tcp_t *t)
{
    if (t->first_rst == SS_DIR_S2C && t->syn && !t->synack && t->rst_state != SS_TCP_ST_ESTABLISHED)
        return SS_CLOSE_REFUSED;
    if (t->first_rst >= 0)
        return SS_CLOSE_RST;
    if (t->fin[0] && t->fin[1])
        return SS_CLOSE_FIN;
    if (t->fin[0] || t->fin[1])
        return SS_CLOSE_HALF;
    return SS_CLOSE_OPEN;
}

const char *ss_fin_style_name(uint8_t s)
{
    switch (s) {
    case SS_FIN_FOUR_WAY: return N_("four-way");
    case SS_FIN_THREE_WAY: return N_("three-way");
    case SS_FIN_SIMULTANEOUS: return N_("simultaneous");
    default: return "";
    }
}
