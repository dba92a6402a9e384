/* cl_chat.c - client side of chat: lines from the terminal or a script, the server's lines printed. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

#define CHAT_LINE_MAX 65536

typedef struct {
    ss_demo_client_t *cl;
    ss_demo_buf_t in;
    size_t scan;
    bool quit; /* the server said quit */
} chat_ctx_t;

static bool is_quit(const char *line, size_t len) { return len == 4 && memcmp(line, "quit", 4) == 0; }

/* Prints the complete lines received so far; returns how many, or -1 when a line is too long. */
static int print_lines(chat_ctx_t *x)
{
    int lines = 0;
    for (;;) {
        const uint8_t *msg;
        size_t mlen, consumed;
        char err[200];
        ss_demo_frame_rc_t fr = ss_demo_frame_parse(SS_DEMO_FRAME_LINE, ss_demo_buf_head(&x->in),
                                                    ss_demo_buf_size(&x->in), CHAT_LINE_MAX, &x->scan, &msg,
                                                    &mlen, &consumed, err, sizeof err);
        if (fr == SS_DEMO_FRAME_BAD) {
            ss_demo_cl_log(x->cl, _("chat: %s"), err);
            return -1;
        }
        if (fr == SS_DEMO_FRAME_MORE)
            return lines;
        if (mlen && msg[mlen - 1] == '\r')
            mlen--;
        printf("[%s] %.*s\n", x->cl->sock.remote, (int)mlen, (const char *)msg);
        fflush(stdout);
        if (is_quit((const char *)msg, mlen))
            x->quit = true;
        ss_demo_buf_consume(&x->in, consumed);
        lines++;
    }
}

/* Reads from the server until `want` more lines have arrived (or the end); returns 0, or -1. */
static int read_lines(chat_ctx_t *x, int want, bool *eof)
{
    uint8_t buf[4096];
    int seen = 0;
    while (seen < want && !x->quit) {
        ssize_t n = ss_demo_cl_recv(x->cl, buf, sizeof buf);
        if (n < 0)
            return -1;
        if (n == 0) {
            *eof = true;
            return 0;
        }
        if (ss_demo_buf_append(&x->in, buf, (size_t)n) < 0)
            return -1;
        int r = print_lines(x);
        if (r < 0)
            return -1;
        seen += r;
    }
    return 0;
}

/* A line and its newline in one send(), as a chat program would write them. */
static int send_line(ss_demo_client_t *cl, const char *line, size_t len)
{
    char *b = malloc(len + 1);
    if (!b)
        return -1;
    memcpy(b, line, len);
    b[len] = '\n';
    int rc = ss_demo_cl_send_all(cl, b, len + 1);
    free(b);
    return rc;
}

/* Scripted: each line of the script is sent, then one line of answer is awaited. */
static int chat_script(chat_ctx_t *x)
{
    ss_demo_client_t *cl = x->cl;
    FILE *f = fopen(cl->o->script, "r");
    if (!f) {
        ss_demo_cl_log(cl, _("--script %s: %s"), cl->o->script, strerror(errno));
        return SS_DEMO_EXIT_USAGE;
    }
    char line[4096];
    bool eof = false, said_quit = false;
    int status = SS_DEMO_EXIT_OK;
    while (!x->quit && !eof && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t len = strlen(line);
        if (send_line(cl, line, len) < 0) {
            status = SS_DEMO_EXIT_FAIL;
            break;
        }
        if (is_quit(line, len)) {
            said_quit = true;
            break;
        }
        if (read_lines(x, 1, &eof) < 0) {
            status = SS_DEMO_EXIT_FAIL;
            break;
        }
    }
    fclose(f);
    if (status == SS_DEMO_EXIT_OK && !said_quit && !x->quit && !eof && send_line(cl, "quit", 4) < 0)
        status = SS_DEMO_EXIT_FAIL;
    ss_demo_cl_log(cl, _("chat: %s"), x->quit ? _("the server said quit") : eof ? _("the server closed the connection")
                                                                             : _("we said quit"));
    return status;
}

/* Interactive: whatever is typed is sent; whatever arrives is printed; quit or end of input ends it. */
static int chat_terminal(chat_ctx_t *x)
{
    ss_demo_client_t *cl = x->cl;
    ss_demo_buf_t typed;
    ss_demo_buf_init(&typed, CHAT_LINE_MAX, NULL);
    uint8_t buf[4096];
    int status = SS_DEMO_EXIT_OK;
    bool done = false;
    while (!done && !x->quit) {
        if (cl->o->stop && *cl->o->stop)
            break;
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = cl->sock.fd, .events = POLLIN}};
        if (poll(p, 2, 200) <= 0)
            continue;
        if (p[1].revents) {
            ssize_t n = ss_demo_sock_recv(&cl->sock, buf, sizeof buf);
            if (n < 0 && errno != EAGAIN) {
                ss_demo_cl_log(cl, _("recv() failed: %s"), strerror(errno));
                status = SS_DEMO_EXIT_FAIL;
                break;
            }
            if (n == 0) {
                ss_demo_cl_log(cl, _("chat: the server closed the connection"));
                break;
            }
            if (n > 0 && (ss_demo_buf_append(&x->in, buf, (size_t)n) < 0 || print_lines(x) < 0)) {
                status = SS_DEMO_EXIT_FAIL;
                break;
            }
        }
        if (p[0].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n <= 0) {
                /* End of input (Ctrl-D) says goodbye like quit does. */
                send_line(cl, "quit", 4);
                break;
            }
            if (ss_demo_buf_append(&typed, buf, (size_t)n) < 0) {
                ss_demo_cl_log(cl, _("chat: a typed line is too long"));
                typed.off = typed.len = 0;
                continue;
            }
            for (;;) {
                uint8_t *h = ss_demo_buf_head(&typed);
                uint8_t *nl = memchr(h, '\n', ss_demo_buf_size(&typed));
                if (!nl)
                    break;
                size_t len = (size_t)(nl - h);
                if (send_line(cl, (const char *)h, len) < 0) {
                    status = SS_DEMO_EXIT_FAIL;
                    done = true;
                    break;
                }
                bool q = is_quit((const char *)h, len);
                ss_demo_buf_consume(&typed, len + 1);
                if (q) {
                    done = true;
                    break;
                }
            }
        }
    }
    ss_demo_buf_fini(&typed);
    return status;
}

int ss_demo_cl_chat(ss_demo_client_t *cl)
{
    chat_ctx_t x = {.cl = cl};
    ss_demo_buf_init(&x.in, CHAT_LINE_MAX + 4096, NULL);
    int status = cl->o->script ? chat_script(&x) : chat_terminal(&x);
    ss_demo_buf_fini(&x.in);
    return status;
}
