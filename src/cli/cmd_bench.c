/*
 * cmd_bench.c — `engram bench`: says where the benchmarks of SPEC §14 are and how to run them.
 *
 * The benchmarks need things a command of the installed program cannot assume — a PostgreSQL
 * server to compare against, generated data, /usr/bin/time, an idle machine — so they are the
 * scripts and programs of bench/ in the source tree, not code in this command. This command
 * only prints them, and whether the helper programs were built beside this engram binary.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

/* Whether the program name is an executable file in the folder of this engram binary. */
static bool beside_me(const char *name)
{
    char self[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    snprintf(path, sizeof path, "%s/%s", self, name);
    return access(path, X_OK) == 0;
}

/* The benchmark scripts, as `bench` lists them: the command line, then what it measures in the
 * two lines the text output wraps it to (the JSON output joins them with a space). */
static const struct {
    const char *command, *what, *what_more;
} benchmarks[] = {
    {"bash bench/bench_ingest.sh [SIZES...]", "ingest + staging from PostgreSQL against",
     "COPY and the reference SQL (10k 100k 1M)"},
    {"bash bench/bench_pipeline.sh [SIZES...]", "full and incremental `engram run`, recall",
     "latency, concept co-occurrence (100k 1M)"},
    {"bash bench/bench_recall.sh", "recall quality against plain full-text",
     "search, on generated facts"},
    {"bash bench/bench_vocab.sh [N] [V]", "the pipeline on a large vocabulary", NULL},
};
static const char *const helpers[] = {"engram-gen", "engram-bench-recall", "engram-bench-cooccur"};
static const char recall_latency[] =
    "engram-bench-recall --store PATH --now ISO8601 --queries FILE [--k 10]";

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* What the text says, as data: the scripts, the in-process recall timer, the helpers' state. */
static json_t *bench_json(void)
{
    json_t *list = json_array(), *built = json_array();
    for (size_t i = 0; list && i < NELEM(benchmarks); i++) {
        char what[160];
        snprintf(what, sizeof what, "%s%s%s", benchmarks[i].what,
                 benchmarks[i].what_more ? " " : "",
                 benchmarks[i].what_more ? benchmarks[i].what_more : "");
        if (json_array_append_new(
                list, json_pack("{s:s,s:s}", "command", benchmarks[i].command, "measures", what)))
            goto fail;
    }
    for (size_t i = 0; built && i < NELEM(helpers); i++)
        if (json_array_append_new(
                built, json_pack("{s:s,s:b}", "name", helpers[i], "built", beside_me(helpers[i]))))
            goto fail;
    if (!list || !built)
        goto fail;
    return json_pack("{s:o,s:s,s:o,s:s,s:s}", "benchmarks", list, "recall_latency", recall_latency,
                     "helpers", built, "readme", "bench/README.md", "results", "BENCHMARKS.md");
fail:
    json_decref(list);
    json_decref(built);
    return NULL;
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_bench, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("bench", argc, argv, "h", false);
    }
    if (optind < argc)
        return eg_cli_usage("bench", "unexpected argument \"%s\"", argv[optind]);
    if (cli->json)
        return eg_cli_json(bench_json());
    if (cli->quiet)
        return 0;
    printf("The benchmarks (SPEC §14) are the scripts and programs of bench/ in the source tree\n"
           "(bench/README.md; measured results in BENCHMARKS.md). From the top of the tree:\n");
    for (size_t i = 0; i < NELEM(benchmarks); i++) {
        printf("  %-40s %s\n", benchmarks[i].command, benchmarks[i].what);
        if (benchmarks[i].what_more)
            printf("%42s%s\n", "", benchmarks[i].what_more);
    }
    printf("They build the release binaries, generate their data and, where they compare with\n"
           "PostgreSQL, start the test server (scripts/pg-test-server.sh).\n"
           "Recall latency on an existing store, timed inside the process:\n"
           "  %s\n"
           "(FILE as for `engram recall --queries`).\n"
           "Helper programs beside this engram:\n",
           recall_latency);
    for (size_t i = 0; i < NELEM(helpers); i++)
        printf("  %-22s %s\n", helpers[i],
               beside_me(helpers[i]) ? "built" : "not built (cmake builds it with engram)");
    return 0;
}

const eg_command eg_cmd_bench = {
    "bench",
    run,
    "say where the benchmarks are and how to run them (they are not run here)",
    " [--json]\n\n"
    "Prints the benchmarks of bench/ in the source tree (ingest against PostgreSQL's COPY and\n"
    "the reference SQL, full and incremental runs, recall quality and latency, a large\n"
    "vocabulary), how to run them, and whether their helper programs (engram-gen,\n"
    "engram-bench-recall, engram-bench-cooccur) were built beside this engram. It runs no\n"
    "benchmark itself: they need a PostgreSQL server, generated data and an idle machine.\n"
    "bench/README.md describes each; BENCHMARKS.md has the results. --json prints the same as\n"
    "data: the scripts with what each measures, the recall timer's command line, and each\n"
    "helper with whether it was built.\n",
};
