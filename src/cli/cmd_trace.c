/*
 * cmd_trace.c — `engram trace ID`: one memory's journey through the pipeline (SPEC §9), a line
 * per step (source, staging, features, working memory, short-term, consolidation, long-term,
 * activation now) and a one-line diagnosis; or the same as JSON. The journey is assembled by
 * eg_trace (pipeline/recall.c); this file prints it.
 */
#include "cli/cli.h"

#include "engram/recall.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *step_title(const char *step)
{
    static const char *const names[][2] = {
        {"working_memory", "working memory"},
        {"short_term", "short-term"},
        {"long_term", "long-term"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(step, names[i][0]))
            return names[i][1];
    return step;
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    eg_config cfg;
    eg_store *st = NULL;
    char *text = NULL;
    json_t *t = NULL;
    int c, code, err;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_trace, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("trace", argc, argv, "h", true);
    }
    if (optind != argc - 1 || !argv[optind][0])
        return eg_cli_usage("trace", "give one memory ID");
    if ((code = eg_cli_open(cli, &cfg, &st, 0)))
        return code;
    if ((err = eg_trace(st, &cfg, argv[optind], cli->now, &text))) {
        code = eg_cli_fail(err);
        goto done;
    }
    if (cli->json) {
        puts(text);
        goto done;
    }
    t = json_loads(text, 0, NULL);
    /* the id and the lines hold text from the store: printed without control characters */
    fputs("trace of memory \"", stdout);
    eg_cli_put_text(stdout, json_string_value(json_object_get(t, "memory_id")), 0, true);
    printf("\" at %s\n", json_string_value(json_object_get(t, "at")));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(t, "steps"), i, s)
    {
        printf("  %-15s ", step_title(json_string_value(json_object_get(s, "step"))));
        eg_cli_put_text(stdout, json_string_value(json_object_get(s, "line")), 0, false);
        putchar('\n');
    }
    fputs("diagnosis: ", stdout);
    eg_cli_put_text(stdout, json_string_value(json_object_get(t, "diagnosis")), 0, false);
    putchar('\n');
done:
    json_decref(t);
    free(text);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_trace = {
    "trace",
    run,
    "follow one memory through the pipeline and say where it stopped",
    " [--json] ID\n\n"
    "Prints the journey of the memory with source id ID at --now, one line per step:\n"
    "source (found, length), staging (window or skip reason), features, working memory\n"
    "(ticks, best slot and priority, or why it was never selected), short-term (episode,\n"
    "strength, readiness), consolidation (replays, pre-strength, fate), long-term\n"
    "(category, region, retrieval strength) and its base-level activation now, then a\n"
    "diagnosis such as \"reached long-term memory\" or \"stopped at working memory:\n"
    "capacity exceeded, best rank 9 of 14\". --json prints the same steps with their facts\n"
    "and the full journey. An unknown ID is an error (exit 2).\n",
};
