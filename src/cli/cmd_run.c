/*
 * cmd_run.c — `engram run`: the main job. For now: ingest, then staging of every memory at --now
 * (the pipeline stages of SPEC §7 come next).
 */
#include "cli/cli.h"

static int run(eg_cli *cli, int argc, char **argv)
{
    return eg_cli_ingest(cli, argc, argv, &eg_cmd_run, true);
}

const eg_command eg_cmd_run = {
    "run",
    run,
    "the main job: ingest, then stage every memory at --now",
    " [--full] [--json]\n\n"
    "Advances the store to --now (default: the wall clock): ingests new and changed rows from\n"
    "the source like `engram ingest`, then recomputes the staging columns of every memory at\n"
    "--now, all in one transaction. Running again at the same --now changes nothing.\n",
};
