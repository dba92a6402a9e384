/* md5sum.c - `segscope-demo md5 [FILE...]`: the MD5 of files, in md5sum's format. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int md5_fd(int fd, char hex[33])
{
    ss_demo_md5_t m;
    ss_demo_md5_init(&m);
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        ss_demo_md5_update(&m, buf, (size_t)n);
    }
    ss_demo_md5_hex(&m, hex);
    return 0;
}

int ss_demo_md5_main(int argc, char **argv)
{
    char hex[33];
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf(_("Usage: segscope-demo md5 [FILE...]\n"
                 "\n"
                 "Prints the MD5 (RFC 1321) of each FILE, or of standard input, in md5sum's\n"
                 "format: the digest the file mode puts in its header and checks.\n"));
        return SS_DEMO_EXIT_OK;
    }
    if (argc < 2) {
        if (md5_fd(STDIN_FILENO, hex) < 0) {
            fprintf(stderr, _("segscope-demo md5: standard input: %s\n"), strerror(errno));
            return SS_DEMO_EXIT_FAIL;
        }
        printf("%s  -\n", hex);
        return SS_DEMO_EXIT_OK;
    }
    int rc = SS_DEMO_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || md5_fd(fd, hex) < 0) {
            fprintf(stderr, _("segscope-demo md5: %s: %s\n"), argv[i], strerror(errno));
            rc = SS_DEMO_EXIT_FAIL;
        } else {
            printf("%s  %s\n", hex, argv[i]);
        }
        if (fd >= 0)
            close(fd);
    }
    return rc;
}
