/* srv_chat.c - server handler for chat: lines from clients printed, answered from a script or the terminal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "segscope/err.h"

#include "server.h"

#define SCRIPT_MAX_BYTES (1u << 20)

int ss_demo_chat_load_script(ss_demo_server_t *s, char *err, size_t errlen)
{
    FILE *f = fopen(s->o->script, "r");
    if (!f) {
        snprintf(err, errlen, _("--script %s: %s"), s->o->script, strerror(errno));
        return -1;
    }
    char line[4096];
    size_t total = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        total += strlen(line) + 1;
        char **grown = realloc(s->script, (s->nscript + 1) * sizeof *grown);
        char *copy = strdup(line);
        if (!grown || !copy || total > SCRIPT_MAX_BYTES) {
            if (grown)
                s->script = grown;
            free(copy);
            fclose(f);
            snprintf(err, errlen, _("--script %s: %s"), s->o->script,
                     total > SCRIPT_MAX_BYTES ? _("larger than 1 MiB") : _("out of memory"));
            return -1;
        }
        s->script = grown;
        s->script[s->nscript++] = copy;
    }
    fclose(f);
    return 0;
}

void ss_demo_chat_free_script(ss_demo_server_t *s)
{
    for (size_t i = 0; i < s->nscript; i++)
        free(s->script[i]);
    free(s->script);
    s->script = NULL;
    s->nscript = 0;
}

static int send_line(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *line, size_t len)
{
    int r = ss_demo_sconn_queue(s, c, line, len);
    if (r == 0)
        r = ss_demo_sconn_queue(s, c, "\n", 1);
    return r;
}

void ss_demo_chat_broadcast(ss_demo_server_t *s, const char *line, size_t len)
{
    bool quit = len == 4 && memcmp(line, "quit", 4) == 0;
    for (size_t i = 0; i < s->nconns; i++) {
        ss_demo_sconn_t *c = s->conns[i];
        if (c->phase != SS_DEMO_SC_OPEN)
            continue;
        if (send_line(s, c, line, len) < 0 || quit)
            c->phase = SS_DEMO_SC_CLOSING;
    }
    if (quit) {
        ss_demo_log(&s->log, NULL, _("chat: quit typed: closing every connection and exiting"));
        s->quit = true;
    }
}

static int chat_line(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *line, size_t len)
{
    printf("[%s] %.*s\n", c->sock.remote, (int)len, line);
    fflush(stdout);
    c->messages++;
    if (len == 4 && memcmp(line, "quit", 4) == 0) {
        ss_demo_slog(s, c, _("chat: the client said quit"));
        return SS_DEMO_SC_DONE;
    }
    if (!s->script)
        return SS_DEMO_SC_CONTINUE; /* answers come from the terminal */
    /* Scripted: each client line gets the next script line; past the end, quit. */
    const char *reply = c->script_pos < s->nscript ? s->script[c->script_pos++] : "quit";
    int r = send_line(s, c, reply, strlen(reply));
    if (r < 0)
        return r;
    return strcmp(reply, "quit") == 0 ? SS_DEMO_SC_DONE : SS_DEMO_SC_CONTINUE;
}

static int chat_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    int rc = ss_demo_buf_append(&c->in, p, n);
    if (rc < 0)
        return ss_demo_sconn_fail(c, "%s", rc == SS_ERR_LIMIT ? _("a chat line is longer than --max-message") : _("out of memory"));
    for (;;) {
        const uint8_t *msg;
        size_t mlen, consumed;
        char err[200];
        ss_demo_frame_rc_t fr = ss_demo_frame_parse(SS_DEMO_FRAME_LINE, ss_demo_buf_head(&c->in),
                                                    ss_demo_buf_size(&c->in), (size_t)s->o->max_message,
                                                    &c->scan, &msg, &mlen, &consumed, err, sizeof err);
        if (fr == SS_DEMO_FRAME_BAD)
            return ss_demo_sconn_fail(c, _("chat: %s"), err);
        if (fr == SS_DEMO_FRAME_MORE)
            return SS_DEMO_SC_CONTINUE;
        if (mlen && msg[mlen - 1] == '\r')
            mlen--;
        int r = chat_line(s, c, (const char *)msg, mlen);
        ss_demo_buf_consume(&c->in, consumed);
        if (r != SS_DEMO_SC_CONTINUE)
            return r;
    }
}

static int chat_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    size_t left = ss_demo_buf_size(&c->in);
    if (left)
        chat_line(s, c, (const char *)ss_demo_buf_head(&c->in), left);
    ss_demo_slog(s, c, _("chat: the client left after %llu lines"), (unsigned long long)c->messages);
    return SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_chat = {NULL, chat_data, chat_eof, NULL};
