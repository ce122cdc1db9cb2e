/*
 * cmd_ingest.c — `engram ingest [--full]`: reads the source into the store and stages new and
 * changed rows at --now.
 */
#include "cli/cli.h"

#include "store/store.h"

#include <getopt.h>
#include <unistd.h>

/* Progress on a terminal only: scripts and logs get the summary alone. */
static void show_progress(int64_t rows, void *ud)
{
    (void)ud;
    fprintf(stderr, "\r  read %lld rows...", (long long)rows);
    fflush(stderr);
}

int eg_cli_ingest(eg_cli *cli, int argc, char **argv, const eg_command *self, bool restage)
{
    static const struct option opts[] = {
        EG_CLI_COMMON_OPTS, {"full", 0, NULL, 'F'}, {"rebuild", 0, NULL, 'R'}, {0}};
    eg_ingest_opts o = {.now = cli->now, .restage = restage, .command = self->name};
    eg_ingest_report rep;
    eg_config cfg;
    eg_store *st = NULL;
    int c, code, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            eg_cli_help(self, stdout);
            return 0;
        case 'J':
            cli->json = true;
            break;
        case 'F':
            o.full = true;
            break;
        case 'R':
            if (!restage)
                return eg_cli_usage(self->name, "--rebuild is an option of `engram run`");
            o.full = o.rebuild = true;
            break;
        default:
            return eg_cli_bad_option(self->name, argc, argv, "h", false);
        }
    }
    if (optind < argc)
        return eg_cli_usage(self->name, "unexpected argument \"%s\"", argv[optind]);
    if ((code = eg_cli_open(cli, &cfg, &st, EG_STORE_CREATE)))
        return code;
    bool tty = !cli->quiet && isatty(STDERR_FILENO);
    if (tty)
        o.progress = show_progress;
    eg_run_report run_rep;
    rc = restage ? eg_run(st, &cfg, &o, &run_rep) : eg_ingest(st, &cfg, &o, &rep);
    if (restage)
        rep = run_rep.ingest;
    if (tty && rep.read >= 50000)
        fprintf(stderr, "\r%40s\r", "");
    if (rc)
        code = eg_cli_fail(rc);
    else if (restage)
        eg_cli_print_run(cli, &run_rep);
    else
        eg_cli_print_ingest(cli, self->name, &rep);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

static int run(eg_cli *cli, int argc, char **argv)
{
    return eg_cli_ingest(cli, argc, argv, &eg_cmd_ingest, false);
}

const eg_command eg_cmd_ingest = {
    "ingest",
    run,
    "read new and changed memories from the source into the store",
    " [--full] [--json]\n\n"
    "Reads the source read-only: rows changed since the stored watermark (minus\n"
    "source.lookback; for the store's own table, the rows written since the last read), or\n"
    "every row with --full, which also reports rows that disappeared from the source. New\n"
    "and changed rows are staged at --now. The rows, their staging and the new watermark\n"
    "are committed in one transaction: a failure keeps nothing of the read.\n"
    "If the source goes away mid-read, the read is retried (source.retries, backoff with\n"
    "jitter); exit code 75 if it stays unreachable.\n",
};
