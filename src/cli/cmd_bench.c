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

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    static const char *const helpers[] = {"engram-gen", "engram-bench-recall",
                                          "engram-bench-cooccur"};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_bench, stdout), 0;
        if (c != 'J')
            return eg_cli_bad_option("bench", argc, argv, "h", false);
    }
    if (optind < argc)
        return eg_cli_usage("bench", "unexpected argument \"%s\"", argv[optind]);
    if (cli->quiet)
        return 0;
    printf("The benchmarks (SPEC §14) are the scripts and programs of bench/ in the source tree\n"
           "(bench/README.md; measured results in BENCHMARKS.md). From the top of the tree:\n"
           "  bash bench/bench_ingest.sh [SIZES...]    ingest + staging from PostgreSQL against\n"
           "                                          COPY and the reference SQL (10k 100k 1M)\n"
           "  bash bench/bench_pipeline.sh [SIZES...]  full and incremental `engram run`, recall\n"
           "                                          latency, concept co-occurrence (100k 1M)\n"
           "  bash bench/bench_recall.sh               recall quality against plain full-text\n"
           "                                          search, on generated facts\n"
           "  bash bench/bench_vocab.sh [N] [V]        the pipeline on a large vocabulary\n"
           "They build the release binaries, generate their data and, where they compare with\n"
           "PostgreSQL, start the test server (scripts/pg-test-server.sh).\n"
           "Recall latency on an existing store, timed inside the process:\n"
           "  engram-bench-recall --store PATH --now ISO8601 --queries FILE [--k 10]\n"
           "(FILE as for `engram recall --queries`).\n"
           "Helper programs beside this engram:\n");
    for (size_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++)
        printf("  %-22s %s\n", helpers[i],
               beside_me(helpers[i]) ? "built" : "not built (cmake builds it with engram)");
    return 0;
}

const eg_command eg_cmd_bench = {
    "bench",
    run,
    "say where the benchmarks are and how to run them (they are not run here)",
    "\n\n"
    "Prints the benchmarks of bench/ in the source tree (ingest against PostgreSQL's COPY and\n"
    "the reference SQL, full and incremental runs, recall quality and latency, a large\n"
    "vocabulary), how to run them, and whether their helper programs (engram-gen,\n"
    "engram-bench-recall, engram-bench-cooccur) were built beside this engram. It runs no\n"
    "benchmark itself: they need a PostgreSQL server, generated data and an idle machine.\n"
    "bench/README.md describes each; BENCHMARKS.md has the results.\n",
};
