/* internal.h - names the segscope-trace launcher and its preloaded library agree on. */
#ifndef SEGSCOPE_TRACE_INTERNAL_H
#define SEGSCOPE_TRACE_INTERNAL_H

/*
 * The launcher puts the absolute path of the trace file here; the library
 * reads it once, when it is loaded, and records nothing when it is unset or
 * empty. A program started by a traced program inherits it, so its records
 * land in the same file.
 */
#define SS_TRACE_ENV_FILE "SEGSCOPE_TRACE_FILE"

/* The preloaded library's file name, next to the launcher or in <libdir>/segscope. */
#define SS_TRACE_LIB_NAME "libsegscope-trace.so"

/* The trace file when neither -o nor SEGSCOPE_TRACE_FILE names one. */
#define SS_TRACE_DEFAULT_OUTPUT "segscope-trace.jsonl"

#endif
