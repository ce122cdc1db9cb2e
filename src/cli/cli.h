/*
 * cli.h — what the engram command's files share: the parsed global options, the command table,
 * and small helpers (open the store, print an error the one way). The CLI only parses and
 * prints; the work is done by libengram.
 */
#ifndef EG_CLI_CLI_H
#define EG_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "engram/config.h"
#include "engram/engram.h"

typedef struct eg_cli {
    eg_config_args cargs;
    const char *now_text;
    int64_t now; /* --now, or the wall clock */
    bool now_given;
    bool json; /* --json (commands that print data) */
    int verbose;
    bool quiet;
} eg_cli;

typedef struct eg_command {
    const char *name;
    int (*run)(eg_cli *cli, int argc, char **argv); /* returns the process exit code */
    const char *summary;
    const char *usage; /* full --help text of the command, after the usage line */
} eg_command;

extern const eg_command eg_cmd_init, eg_cmd_import, eg_cmd_remember, eg_cmd_ingest, eg_cmd_run,
    eg_cmd_stats, eg_cmd_export, eg_cmd_config;
extern const eg_command eg_cmd_health;
extern const eg_command eg_cmd_recall, eg_cmd_trace;
extern const eg_command eg_cmd_validate;
extern const eg_command eg_cmd_serve;
extern const eg_command eg_cmd_bench;

/* Prints the last error ("engram: error: ...", detail, hint) and returns its exit code. */
int eg_cli_fail(int rc);
/* Prints a usage error about the command and returns 2. */
int eg_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage error for the option getopt_long (with opterr = 0) just refused — an unknown
 * option (the short one inside its cluster, e.g. "-x" in "-qx"), or one that lacks its value or
 * takes none — and returns 2. shortopts is the optstring given to getopt_long; free_text says
 * that the command takes a text that may start with '-', and adds the hint to put -- before it.
 * Call it from the default case of the getopt loop. */
int eg_cli_bad_option(const char *cmd, int argc, char **argv, const char *shortopts,
                      bool free_text);
/* Prints a command's --help. */
void eg_cli_help(const eg_command *cmd, FILE *out);
/* Loads the configuration (with the global options); returns 0 or an exit code after printing. */
int eg_cli_config(eg_cli *cli, eg_config *cfg);
/* Loads the configuration and opens its store (flags as eg_store_open). */
int eg_cli_open(eg_cli *cli, eg_config *cfg, eg_store **st, int flags);
/* Prints an ingest/run report (JSON with --json, nothing with --quiet). */
void eg_cli_print_ingest(const eg_cli *cli, const char *what, const eg_ingest_report *r);
/* Prints a run report: the ingest part, then the pipeline part. */
void eg_cli_print_run(const eg_cli *cli, const eg_run_report *r);
/* The shared body of `ingest` and `run`. */
int eg_cli_ingest(eg_cli *cli, int argc, char **argv, const eg_command *self, bool restage);
/* Prints v as one line of JSON on stdout and releases it; returns 0. A NULL v (a document that
 * could not be built) or a failed write is an error printed on stderr: returns exit code 2. */
int eg_cli_json(json_t *v);
/* A JSON string of s with bytes that are not UTF-8 replaced by U+FFFD (jansson refuses them);
 * json null for a NULL s. NULL only when out of memory. */
json_t *eg_cli_json_str(const char *s);
/* Writes s to out on one line for a terminal: control characters (C0 such as line breaks, tabs
 * and ESC, DEL, and C1), the line and paragraph separators U+2028 and U+2029, and the
 * bidirectional controls U+202A..U+202E and U+2066..U+2069 as spaces, so that text from the
 * store or the command line can neither break the line, nor send escape sequences, nor reorder
 * what follows it on the line; with quoted, `"` and `\` escaped by a backslash;
 * at most max code points, then "…" (0: no limit). A NULL s writes nothing. */
void eg_cli_put_text(FILE *out, const char *s, size_t max, bool quoted);
/* Parses the common per-command options: --help, --json. Other options are the command's. */
#define EG_CLI_COMMON_OPTS                                                                         \
    {"help", 0, NULL, 'h'},                                                                        \
    {                                                                                              \
        "json", 0, NULL, 'J'                                                                       \
    }

#endif
