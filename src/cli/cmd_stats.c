/*
 * cmd_stats.c — `engram stats`: what the store holds, by status, skip reason and type, with the
 * quality counts, watermarks and the last run.
 */
#include "cli/cli.h"

#include "store/store.h"

#include <getopt.h>
#include <string.h>

static void print_group(const char *title, json_t *obj)
{
    const char *k;
    json_t *v;
    printf("  %-14s", title);
    if (!json_object_size(obj))
        printf(" -");
    json_object_foreach(obj, k, v) printf(" %s %lld", k, (long long)json_integer_value(v));
    printf("\n");
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    eg_config cfg;
    eg_store *st = NULL;
    json_t *s = NULL;
    int c, code, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_stats, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("stats", argc, argv, "h", false);
    }
    if (optind < argc)
        return eg_cli_usage("stats", "unexpected argument \"%s\"", argv[optind]);
    if ((code = eg_cli_open(cli, &cfg, &st, 0)))
        return code;
    if ((rc = eg_store_stats(st, &s))) {
        code = eg_cli_fail(rc);
        goto done;
    }
    if (cli->json) {
        code = eg_cli_json(s);
        s = NULL;
        goto done;
    }
    json_t *m = json_object_get(s, "memories"), *q = json_object_get(s, "quality");
    printf("store %s (schema version %lld)\n", json_string_value(json_object_get(s, "store")),
           (long long)json_integer_value(json_object_get(s, "schema_version")));
    printf("  memories       %lld (embedded source rows %lld, quarantined %lld, gone from the "
           "source %lld)\n",
           (long long)json_integer_value(json_object_get(m, "total")),
           (long long)json_integer_value(json_object_get(s, "embedded_source_rows")),
           (long long)json_integer_value(json_object_get(s, "quarantined")),
           (long long)json_integer_value(json_object_get(m, "deleted_at_source")));
    print_group("by status", json_object_get(m, "by_status"));
    print_group("skipped", json_object_get(m, "skip_reasons"));
    print_group("by type", json_object_get(m, "by_type"));
    print_group("quality", q);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(s, "watermarks"), i, w)
        printf("  watermark      %s: %s\n", json_string_value(json_object_get(w, "source")),
               json_string_value(json_object_get(w, "watermark")));
    json_t *pl = json_object_get(s, "pipeline");
    print_group("pipeline", json_object_get(pl, "by_status"));
    printf("  network        %lld episodes, %lld concepts, %lld concept edges, %lld memory "
           "associations, %lld long-term, %lld creative, %lld recalls\n",
           (long long)json_integer_value(json_object_get(pl, "episodes")),
           (long long)json_integer_value(json_object_get(pl, "concepts")),
           (long long)json_integer_value(json_object_get(pl, "concept_edges")),
           (long long)json_integer_value(json_object_get(pl, "memory_associations")),
           (long long)json_integer_value(json_object_get(pl, "long_term")),
           (long long)json_integer_value(json_object_get(pl, "creative_associations")),
           (long long)json_integer_value(json_object_get(pl, "recalls")));
    if (json_is_string(json_object_get(pl, "checkpoint")))
        printf("  checkpoint     %s\n", json_string_value(json_object_get(pl, "checkpoint")));
    json_t *snap = json_object_get(pl, "snapshot");
    if (json_is_object(snap))
        printf("  snapshot       of run #%lld, %.1f MiB%s\n",
               (long long)json_integer_value(json_object_get(snap, "run_id")),
               (double)json_integer_value(json_object_get(snap, "bytes")) / 1048576.0,
               json_is_true(json_object_get(snap, "current")) ? ": the next run can go on from it"
               : json_is_string(json_object_get(snap, "stale")) &&
                       !strcmp(json_string_value(json_object_get(snap, "stale")), "other_version")
                   ? ", but another engram version wrote the file (or it is damaged): the next "
                     "run replays the history"
                   : ", but the file is not that run's: the next run replays the history");
    else if (json_is_string(json_object_get(pl, "checkpoint")))
        /* (the last run could not write one, and said why on stderr, which -q or a scheduler
         * may have hidden; or its file was removed) */
        printf("  snapshot       none: the next run replays the history (the last run's warning "
               "says why, if it could not write one)\n");
    json_t *lr = json_object_get(s, "last_run");
    if (json_is_object(lr)) {
        json_t *rep = json_object_get(lr, "report");
        printf("  last run       #%lld %s at %s: %s",
               (long long)json_integer_value(json_object_get(lr, "run_id")),
               json_string_value(json_object_get(lr, "command")),
               json_string_value(json_object_get(lr, "now")),
               json_string_value(json_object_get(lr, "outcome")));
        json_t *ms = json_object_get(rep, "ms");
        if (json_is_object(rep) && json_object_get(rep, "read"))
            printf(", read %lld, staged %lld",
                   (long long)json_integer_value(json_object_get(rep, "read")),
                   (long long)json_integer_value(json_object_get(rep, "staged")));
        if (json_is_object(rep) && json_object_get(rep, "ticks"))
            printf(", %lld ticks, %lld replays",
                   (long long)json_integer_value(json_object_get(rep, "ticks")),
                   (long long)json_integer_value(json_object_get(rep, "replays")));
        if (json_is_object(ms)) {
            printf(", took %.3f s (", json_number_value(json_object_get(ms, "total")) / 1e3);
            const char *k;
            json_t *v;
            int first = 1;
            json_object_foreach(ms, k, v) if (strcmp(k, "total"))
            {
                printf("%s%s %.3f", first ? "" : ", ", k, json_number_value(v) / 1e3);
                first = 0;
            }
            printf(")");
        }
        printf("\n");
        if (json_object_get(lr, "error"))
            printf("                 error: %s\n", json_string_value(json_object_get(lr, "error")));
    } else {
        printf("  last run       none yet (run `engram run`)\n");
    }
    json_int_t interrupted = json_integer_value(json_object_get(s, "interrupted_runs"));
    if (interrupted > 0)
        printf("  interrupted    %lld run%s whose process died before it finished (kill -9, a "
               "crash)\n",
               (long long)interrupted, interrupted == 1 ? "" : "s");
done:
    json_decref(s);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_stats = {
    "stats",
    run,
    "show what the store holds and how the last run went",
    " [--json]\n\n"
    "Counts memories by status, skip reason and memory type, the quality issues found at\n"
    "staging, the quarantine, the watermark per source and the last run's outcome.\n",
};
