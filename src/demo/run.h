/* run.h - the scenario runner: `segscope-demo list`, `run` and `tour` (internal). */
#ifndef SEGSCOPE_DEMO_RUN_H
#define SEGSCOPE_DEMO_RUN_H

#include "segscope/event.h"

#include "internal.h"

/* The port every scenario's server listens on (its network namespace is its own). */
#define SS_DEMO_RUN_PORT 9000
/* Client processes a scenario may start. */
#define SS_DEMO_RUN_MAX_CLIENTS 8

/* ------------------------------------------------------------------------ */
/* What the analysis of a scenario's capture (and its trace) showed.        */

typedef struct ss_demo_observed {
    uint64_t frames;
    /* TCP conversations, and how many of them had each property. */
    uint64_t tcp, complete, fin, rst, refused, half_close, ipv6;
    uint64_t client_closed_first; /* of those closed with FINs */
    uint64_t four_way, three_way, simultaneous;
    uint64_t flags[SS_TA_COUNT]; /* packets with each analysis flag, all conversations */
    uint64_t c2s_data_segments;  /* TCP segments from a client carrying payload */
    /* UDP conversations and their datagrams, by SS_DIR_*. */
    uint64_t udp, udp_frames[2];
    /* With a framing: messages per direction, and segments/messages marked. */
    uint64_t msgs[2], incomplete[2], coalesced[2], split[2];
    /* From the application trace. */
    uint64_t trace_records;
    uint64_t client_sends;      /* send() calls of the clients that moved bytes */
    uint64_t server_data_recvs; /* recv() calls of the server that returned bytes */
} ss_demo_observed_t;

/* ------------------------------------------------------------------------ */
/* The scenarios.                                                           */

/* Where a scenario's programs keep their files while it runs. */
typedef struct ss_demo_run_env {
    const char *workdir; /* private temporary directory, removed afterwards */
    char server_script[512], client_script[512], received_dir[512];
} ss_demo_run_env_t;

typedef struct ss_demo_scenario {
    const char *name;
    const char *summary;  /* one line, for `list` (marked with N_(), translated when printed) */
    const char *framing;  /* --framing for the analysis, or NULL */
    bool slow;            /* left out by `tour --quick` */
    bool server;          /* false: nothing listens (the client is refused) */
    unsigned clients;     /* client processes started together */
    bool client_fails;    /* the client is expected to fail (refused) */
    /* Writes the files the programs need into env (scripts, directories); 0 or -1 with err. */
    int (*prepare)(ss_demo_run_env_t *env, char *err, size_t errlen);
    /* Sets the scenario's options on top of the defaults of a server and a client. */
    void (*setup)(ss_demo_opts_t *srv, ss_demo_opts_t *cl, const ss_demo_run_env_t *env);
    /*
     * Whether the capture shows what the scenario is about. Writes a sentence
     * saying what it showed (or what is missing) into msg.
     */
    bool (*check)(const ss_demo_observed_t *ob, char *msg, size_t msglen);
} ss_demo_scenario_t;

/* The table, in tour order, and its length. */
extern const ss_demo_scenario_t ss_demo_scenarios[];
extern const size_t ss_demo_nscenarios;
/* Looks a scenario up by name; NULL when there is none. */
const ss_demo_scenario_t *ss_demo_scenario_find(const char *name);

/* ------------------------------------------------------------------------ */
/* A private network namespace (netns.c).                                   */

/*
 * Moves the calling process into a new network namespace of its own: as
 * root with unshare(CLONE_NEWNET); otherwise (or when that is refused)
 * inside a new user namespace too, mapping the caller's own user and group.
 * Returns 0, or -1 with a sentence in err.
 */
int ss_demo_netns_enter(char *err, size_t errlen);
/* Brings the namespace's loopback interface up; 0 or -1 with err. */
int ss_demo_netns_lo_up(char *err, size_t errlen);
/*
 * Turns TCP segmentation offload and generic segmentation offload off on lo
 * (SIOCETHTOOL), so each segment is captured at the size TCP cut it; 0 or
 * -1 with err.
 */
int ss_demo_netns_lo_offload_off(char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* The analysis of a saved capture (analyze.c).                             */

typedef struct ss_demo_analyze_opts {
    const char *framing; /* or NULL */
    FILE *out;           /* where the timeline and tables go; NULL prints nothing */
    bool color;
} ss_demo_analyze_opts_t;

/*
 * Reads the capture at path through segscope's analyzer: with out, prints
 * the timeline with explanations and the summary tables; always fills *ob.
 * Returns 0, or -1 with a sentence in err.
 */
int ss_demo_analyze(const char *path, const ss_demo_analyze_opts_t *ao, ss_demo_observed_t *ob, char *err,
                    size_t errlen);
/* Adds what the application trace at path shows to *ob; 0, or -1 when it cannot be read. */
int ss_demo_analyze_trace(const char *path, uint16_t server_port, ss_demo_observed_t *ob);

/* ------------------------------------------------------------------------ */
/* The subcommands (run.c).                                                 */

int ss_demo_list_main(int argc, char **argv);
int ss_demo_run_main(int argc, char **argv);
int ss_demo_tour_main(int argc, char **argv);

#endif
