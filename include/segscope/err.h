/* err.h - error codes shared by every segscope module. */
#ifndef SEGSCOPE_ERR_H
#define SEGSCOPE_ERR_H

/*
 * Errors are for the program (I/O, memory, bad arguments); findings about a
 * packet are events, never errors. Every code is negative so that functions
 * can return "count or error" in one int.
 */
#define SS_ERRNO_MAP(X)                                                      \
    X(OK, 0, "success")                                                      \
    X(NOMEM, -1, "out of memory")                                            \
    X(INVAL, -2, "invalid argument")                                         \
    X(IO, -3, "input/output error")                                          \
    X(FORMAT, -4, "not a capture file libpcap can read")                     \
    X(TRUNCATED, -5, "capture file cut off in the middle of a record")       \
    X(LINKTYPES, -6, "pcapng interfaces have different link-layer types")    \
    X(PERM, -7, "permission denied")                                         \
    X(NODEV, -8, "no such capture device")                                   \
    X(FILTER, -9, "invalid filter expression")                               \
    X(LIMIT, -10, "configured limit reached")                                \
    X(UNSUPPORTED, -11, "unsupported")

typedef enum {
#define SS_ERR_ENUM(name, val, text) SS_ERR_##name = (val),
    SS_ERRNO_MAP(SS_ERR_ENUM)
#undef SS_ERR_ENUM
} ss_err_t;

/* Returns a static English description of an ss_err_t value. */
const char *ss_strerror(int err);

#endif
