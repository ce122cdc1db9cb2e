/*
 * cmd_run.c — `engram run`: the main job. Ingest and staging at --now, then the biological
 * pipeline (SPEC §7) up to --now; prints what each part did.
 */
#include "cli/cli.h"

#include <stdlib.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    return eg_cli_ingest(cli, argc, argv, &eg_cmd_run, true);
}

void eg_cli_print_run(const eg_cli *cli, const eg_run_report *r)
{
    if (cli->json) {
        char *a = eg_ingest_report_json(&r->ingest, cli->now), *b = eg_run_report_json(r);
        if (a && b)
            printf("{\"ingest\":%s,\"pipeline\":%s}\n", a, b);
        free(a);
        free(b);
        return;
    }
    eg_cli_print_ingest(cli, "run", &r->ingest);
    if (cli->quiet)
        return;
    printf("  pipeline %lld memories: %lld consolidated, %lld forgotten, %lld in short-term, "
           "%lld in working memory, %lld unattended, %lld waiting\n",
           (long long)r->memories, (long long)r->by_status[4], (long long)r->by_status[5],
           (long long)r->by_status[3], (long long)r->by_status[2], (long long)r->by_status[1],
           (long long)r->by_status[0]);
    printf("  network  %lld episodes, %lld concepts, %lld concept edges, %lld memory associations, "
           "%lld long-term records, %lld creative associations\n",
           (long long)r->episodes, (long long)r->concepts, (long long)r->concept_edges,
           (long long)r->assoc_edges, (long long)r->ltm, (long long)r->creative);
    printf(
        "  phases   %lld attention ticks, %lld replays, %lld REM nights, %lld homeostasis weeks; "
        "%.3f s (load %.3f, simulate %.3f, save %.3f)\n",
        (long long)r->ticks, (long long)r->replays, (long long)r->rem_phases,
        (long long)r->homeostasis_phases, r->ms_total / 1e3, r->ms_load / 1e3, r->ms_engine / 1e3,
        r->ms_save / 1e3);
    if (r->resumed)
        printf("  history  went on from the last run's snapshot");
    else
        printf("  history  replayed from the first memory (%s)",
               r->recomputed ? r->recomputed : "no snapshot");
    printf("; %lld of %lld output rows written\n", (long long)r->rows_written,
           (long long)r->rows_out);
}

const eg_command eg_cmd_run = {
    "run",
    run,
    "the main job: ingest, then move every memory through the pipeline up to --now",
    " [--full] [--rebuild] [--json]\n\n"
    "Advances the store to --now (default: the wall clock): ingests new and changed rows from\n"
    "the source like `engram ingest` and moves the staging to --now; then moves every\n"
    "memory through the pipeline in event time — working memory, short-term episodes,\n"
    "consolidation with Hebbian learning and forgetting, long-term memory, REM and\n"
    "homeostasis — and saves the outcome, all in one transaction. Running again at the same\n"
    "--now changes nothing. A run goes on from the last run's snapshot (a cache: the files\n"
    "STORE-snapshot and STORE-snapshot-2, written in turn) instead of replaying the history,\n"
    "unless something it depends on changed (an older memory edited, the settings); the\n"
    "report says which, and why. --full rescans the source (and reports rows gone from it);\n"
    "--rebuild also restages every memory and replays the history, as a new store would.\n"
    "A missing store is created for an external --source, and an error (exit 2) with the\n"
    "store's own table as the source (the default). Exit code 1 if the ingest quarantined\n"
    "rows (the rest of the run is done and kept).\n",
};
