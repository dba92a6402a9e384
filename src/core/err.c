/* err.c - text for ss_err_t codes. */
#include "segscope/err.h"

const char *ss_strerror(int err)
{
    switch (err) {
#define SS_ERR_CASE(name, val, text)                                                       \
    case val:                                                                              \
        return text;
        SS_ERRNO_MAP(SS_ERR_CASE)
#undef SS_ERR_CASE
    }
    return "unknown error";
}
