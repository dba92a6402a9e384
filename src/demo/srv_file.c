/* srv_file.c - server handler for file transfers: header length, JSON header, bytes; stored safely under --dir. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segscope/err.h"

#include "server.h"

/*
 * The wire format, client to server:
 *
 *     4 bytes   header length H, big-endian
 *     H bytes   a JSON object: {"filename": "...", "filesize": N, "md5": "<32 hex digits>"}
 *     N bytes   the file
 *
 * and the answer, server to client, one JSON line:
 *
 *     {"status":"ok","filename":"...","filesize":N,"md5":"..."}
 *     {"status":"error","reason":"..."}
 *
 * Everything in the header is untrusted. The header length is checked
 * against --max-message before anything is buffered, the size against
 * --max-file before anything is written, and the name against escaping the
 * directory: no absolute path, no "." or ".." component, no symbolic link
 * anywhere on the way (each component is opened with O_NOFOLLOW relative to
 * the one before, so a link planted inside --dir cannot lead outside). The
 * bytes go to a hidden temporary file that is renamed into place only when
 * the size and the md5 both match.
 */

#define NAME_MAX_LEN 1024
#define COMPONENT_MAX 200 /* leaves room in NAME_MAX for the temporary name's decorations */

typedef enum { SF_HDRLEN, SF_HEADER, SF_DATA, SF_DONE } sf_state_t;

typedef struct ss_demo_sfile {
    sf_state_t state;
    uint32_t hdr_len;
    char name[NAME_MAX_LEN + 1];
    char want_md5[33];
    uint64_t size, got;
    int parent_fd; /* directory that holds the file */
    int fd;        /* the temporary file */
    char base[COMPONENT_MAX + 1];
    char tmp[COMPONENT_MAX + 64];
} ss_demo_sfile_t;

/* Fails the connection and queues the JSON error answer. */
__attribute__((format(printf, 3, 4)))
static int file_fail(ss_demo_server_t *s, ss_demo_sconn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    ss_demo_buf_t line;
    ss_demo_buf_init(&line, 4096, NULL);
    if (ss_demo_buf_append(&line, "{\"status\":\"error\",\"reason\":", 27) == 0 &&
        ss_demo_json_put_string(&line, c->reason) == 0 && ss_demo_buf_append(&line, "}\n", 2) == 0)
        ss_demo_buf_append(&c->out, ss_demo_buf_head(&line), ss_demo_buf_size(&line));
    ss_demo_buf_fini(&line);
    (void)s;
    return SS_DEMO_SC_FAIL;
}

static int file_open(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    (void)s;
    ss_demo_sfile_t *f = calloc(1, sizeof *f);
    if (!f)
        return ss_demo_sconn_fail(c, _("out of memory"));
    f->parent_fd = f->fd = -1;
    c->file = f;
    ss_demo_md5_init(&c->md5);
    return SS_DEMO_SC_CONTINUE;
}

static void file_close(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    (void)s;
    ss_demo_sfile_t *f = c->file;
    if (!f)
        return;
    if (f->fd >= 0) {
        /* Still open: the transfer did not complete. */
        close(f->fd);
        unlinkat(f->parent_fd, f->tmp, 0);
    }
    if (f->parent_fd >= 0)
        close(f->parent_fd);
    free(f);
    c->file = NULL;
}

/*
 * Checks the name and opens its directory under --dir, one component at a
 * time. On success f->parent_fd and f->base are set; on failure returns -1
 * with a sentence in err.
 */
static int open_parent(ss_demo_server_t *s, ss_demo_sfile_t *f, char *err, size_t errlen)
{
    const char *name = f->name;
    if (!name[0]) {
        snprintf(err, errlen, _("empty filename"));
        return -1;
    }
    if (name[0] == '/') {
        snprintf(err, errlen, _("refused filename \"%.100s\": absolute paths are not allowed"), name);
        return -1;
    }
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, _("refused filename: it contains a control character"));
            return -1;
        }
    /* Every component is checked before anything is created, so a refused name leaves no trace. */
    for (const char *p = name;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || len > COMPONENT_MAX) {
            if (len)
                snprintf(err, errlen, _("refused filename \"%.100s\": too long a path component"), name);
            else
                snprintf(err, errlen, _("refused filename \"%.100s\": an empty path component"), name);
            return -1;
        }
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
            snprintf(err, errlen, _("refused filename \"%.100s\": a \"%.*s\" component could lead outside the directory"),
                     name, (int)len, p);
            return -1;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    int cur = dup(s->dirfd);
    if (cur < 0) {
        snprintf(err, errlen, _("cannot open --dir: %s"), strerror(errno));
        return -1;
    }
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char comp[COMPONENT_MAX + 1];
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (!slash) {
            /* The last component: it may exist, but not as a link or a directory. */
            struct stat st;
            if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
                if (S_ISLNK(st.st_mode))
                    snprintf(err, errlen, _("refused filename \"%.100s\": it exists and is a symbolic link"), name);
                else
                    snprintf(err, errlen, _("refused filename \"%.100s\": it exists and is not a regular file"), name);
                close(cur);
                return -1;
            }
            memcpy(f->base, comp, len + 1);
            f->parent_fd = cur;
            return 0;
        }
        if (mkdirat(cur, comp, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, _("cannot create directory \"%.100s\": %s"), comp, strerror(errno));
            close(cur);
            return -1;
        }
        int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            snprintf(err, errlen, _("refused filename \"%.100s\": \"%.100s\" is %s"), name, comp,
                     errno == ELOOP || errno == ENOTDIR ? _("a symbolic link or not a directory")
                                                        : strerror(errno));
            close(cur);
            return -1;
        }
        close(cur);
        cur = next;
        p = slash + 1;
    }
}

static bool is_md5_hex(const char *h)
{
    if (strlen(h) != 32)
        return false;
    for (int i = 0; i < 32; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f') || (h[i] >= 'A' && h[i] <= 'F')))
            return false;
    return true;
}

static int finish(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    ss_demo_sfile_t *f = c->file;
    char hex[33];
    ss_demo_md5_hex(&c->md5, hex);
    f->state = SF_DONE;
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        unlinkat(f->parent_fd, f->tmp, 0);
        return file_fail(s, c, _("cannot write \"%s\": %s"), f->name, strerror(errno));
    }
    if (strcasecmp(hex, f->want_md5) != 0) {
        unlinkat(f->parent_fd, f->tmp, 0);
        return file_fail(s, c, _("md5 mismatch: the header says %s, the %llu bytes received have %s"), f->want_md5,
                         (unsigned long long)f->got, hex);
    }
    if (renameat(f->parent_fd, f->tmp, f->parent_fd, f->base) != 0) {
        int e = errno;
        unlinkat(f->parent_fd, f->tmp, 0);
        return file_fail(s, c, _("cannot store \"%s\": %s"), f->name, strerror(e));
    }
    ss_demo_slog(s, c, _("file: stored \"%s\" (%llu bytes, md5 %s verified)"), f->name, (unsigned long long)f->got, hex);
    ss_demo_buf_t line;
    ss_demo_buf_init(&line, NAME_MAX_LEN * 6 + 256, NULL);
    char tail[128];
    snprintf(tail, sizeof tail, ",\"filesize\":%llu,\"md5\":\"%s\"}\n", (unsigned long long)f->got, hex);
    int rc = ss_demo_buf_append(&line, "{\"status\":\"ok\",\"filename\":", 26);
    if (rc == 0)
        rc = ss_demo_json_put_string(&line, f->name);
    if (rc == 0)
        rc = ss_demo_buf_append(&line, tail, strlen(tail));
    rc = rc == 0 ? ss_demo_sconn_queue(s, c, ss_demo_buf_head(&line), ss_demo_buf_size(&line))
                 : ss_demo_sconn_fail(c, _("out of memory"));
    ss_demo_buf_fini(&line);
    return rc < 0 ? rc : SS_DEMO_SC_DONE;
}

static int header_done(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    ss_demo_sfile_t *f = c->file;
    char err[400];
    ss_demo_json_field_t fields[] = {
        {.key = "filename", .type = SS_DEMO_JSON_STRING, .str = f->name, .str_cap = sizeof f->name},
        {.key = "filesize", .type = SS_DEMO_JSON_UINT},
        {.key = "md5", .type = SS_DEMO_JSON_STRING, .str = f->want_md5, .str_cap = sizeof f->want_md5},
    };
    if (ss_demo_json_read((const char *)ss_demo_buf_head(&c->in), f->hdr_len, fields, 3, err, sizeof err) < 0)
        return file_fail(s, c, _("bad header: %s"), err);
    for (int i = 0; i < 3; i++)
        if (!fields[i].found)
            return file_fail(s, c, _("bad header: no \"%s\" field"), fields[i].key);
    ss_demo_buf_consume(&c->in, f->hdr_len);
    if (!is_md5_hex(f->want_md5))
        return file_fail(s, c, _("bad header: \"md5\" is not 32 hexadecimal digits"));
    f->size = fields[1].num;
    if (f->size > s->o->max_file)
        return file_fail(s, c, _("file of %llu bytes is larger than --max-file %llu"), (unsigned long long)f->size,
                         (unsigned long long)s->o->max_file);
    if (open_parent(s, f, err, sizeof err) < 0)
        return file_fail(s, c, "%s", err);
    snprintf(f->tmp, sizeof f->tmp, ".%s.part-%ld-%llu", f->base, (long)s->trace.pid, (unsigned long long)c->id);
    f->fd = openat(f->parent_fd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f->fd < 0)
        return file_fail(s, c, _("cannot create \"%s\": %s"), f->name, strerror(errno));
    ss_demo_slog(s, c, _("file: header of %u bytes: \"%s\", %llu bytes, md5 %s"), f->hdr_len, f->name,
                 (unsigned long long)f->size, f->want_md5);
    f->state = SF_DATA;
    return f->size == 0 ? finish(s, c) : SS_DEMO_SC_CONTINUE;
}

static int file_data(ss_demo_server_t *s, ss_demo_sconn_t *c, const uint8_t *p, size_t n)
{
    ss_demo_sfile_t *f = c->file;
    while (n > 0) {
        switch (f->state) {
        case SF_HDRLEN:
        case SF_HEADER: {
            size_t need = f->state == SF_HDRLEN ? 4 : f->hdr_len;
            size_t have = ss_demo_buf_size(&c->in);
            size_t take = need - have < n ? need - have : n;
            if (ss_demo_buf_append(&c->in, p, take) < 0)
                return file_fail(s, c, _("header does not fit the buffer cap or --max-memory"));
            p += take;
            n -= take;
            if (ss_demo_buf_size(&c->in) < need)
                break;
            if (f->state == SF_HEADER) {
                int r = header_done(s, c);
                if (r != SS_DEMO_SC_CONTINUE)
                    return r;
                break;
            }
            const uint8_t *h = ss_demo_buf_head(&c->in);
            f->hdr_len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            ss_demo_buf_consume(&c->in, 4);
            /* Checked before a byte of the header is stored. */
            if (f->hdr_len == 0 || f->hdr_len > s->o->max_message)
                return f->hdr_len ? file_fail(s, c, _("declared header length %u is above --max-message"), f->hdr_len)
                                  : file_fail(s, c, "%s", _("declared header length 0"));
            f->state = SF_HEADER;
            break;
        }
        case SF_DATA: {
            size_t take = f->size - f->got < n ? (size_t)(f->size - f->got) : n;
            size_t off = 0;
            while (off < take) {
                ssize_t w = write(f->fd, p + off, take - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    return file_fail(s, c, _("cannot write \"%s\": %s"), f->name, w < 0 ? strerror(errno) : _("no space"));
                off += (size_t)w;
            }
            ss_demo_md5_update(&c->md5, p, take);
            f->got += take;
            p += take;
            n -= take;
            if (f->got == f->size)
                return finish(s, c); /* anything after the file is discarded with the rest */
            break;
        }
        case SF_DONE:
            return SS_DEMO_SC_DONE;
        }
    }
    return SS_DEMO_SC_CONTINUE;
}

static int file_eof(ss_demo_server_t *s, ss_demo_sconn_t *c)
{
    ss_demo_sfile_t *f = c->file;
    switch (f->state) {
    case SF_HDRLEN:
        return file_fail(s, c, _("the client disconnected before the header (%zu of 4 length bytes)"),
                         ss_demo_buf_size(&c->in));
    case SF_HEADER:
        return file_fail(s, c, _("the client disconnected in the middle of the header (%zu of %u bytes)"),
                         ss_demo_buf_size(&c->in), f->hdr_len);
    case SF_DATA:
        return file_fail(s, c, _("the client disconnected in the middle of the file (%llu of %llu bytes)"),
                         (unsigned long long)f->got, (unsigned long long)f->size);
    case SF_DONE: break;
    }
    return SS_DEMO_SC_DONE;
}

const ss_demo_shandler_t ss_demo_sh_file = {file_open, file_data, file_eof, file_close};
