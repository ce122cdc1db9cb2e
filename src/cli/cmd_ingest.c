/*
 * cmd_ingest.c — `engram ingest [--full]`: reads the source into the store and stages new and
 * changed rows at --now.
 */
#include "cli/cli.h"

#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files of a store: the database, SQLite's journals and the pipeline's snapshot. */
static const char *const store_suffixes[] = {"",         "-wal",      "-shm",
                                             "-journal", "-snapshot", "-snapshot-2"};
#define NSUFFIXES (sizeof store_suffixes / sizeof *store_suffixes)

/* Which of the store's files exist (bit i: store_suffixes[i]). */
static unsigned store_files(const char *store)
{
    unsigned bits = 0;
    char path[4096];
    struct stat sb;
    for (size_t i = 0; i < NSUFFIXES; i++) {
        int n = snprintf(path, sizeof path, "%s%s", store, store_suffixes[i]);
        if (n > 0 && (size_t)n < sizeof path && stat(path, &sb) == 0)
            bits |= 1u << i;
    }
    return bits;
}

/* Removes the store's files that did not exist before (bits: store_files before the command). */
static void remove_new_store(const char *store, unsigned before)
{
    char path[4096];
    for (size_t i = 0; i < NSUFFIXES; i++) {
        int n = snprintf(path, sizeof path, "%s%s", store, store_suffixes[i]);
        if (!(before & (1u << i)) && n > 0 && (size_t)n < sizeof path)
            unlink(path);
    }
}

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
    if ((code = eg_cli_config(cli, &cfg)))
        return code;
    /* With the store's own memories table as the source, a missing store has nothing to read:
     * it is a mistyped --store, not a store to create. An external source fills a new store. */
    /* a store this command creates is removed again when the read fails and leaves it empty:
     * a failed first run against an unreachable or mistyped source leaves no empty store */
    unsigned before = cfg.store ? store_files(cfg.store) : 1u;
    if ((rc = eg_store_open(&st, cfg.store, cfg.source ? EG_STORE_CREATE : 0))) {
        if (rc == EG_ENOTFOUND)
            eg_error_detail("the source is the store's own memories table (no --source given): "
                            "there is nothing to read without the store");
        code = eg_cli_fail(rc);
        eg_config_free(&cfg);
        return code;
    }
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
    /* rows quarantined by this read: a warning, as for `import` */
    if (!rc && rep.rejected > 0)
        code = 1;
    bool empty = false;
    bool remove = rc && !(before & 1u) && !eg_store_is_empty(st, &empty) && empty;
    eg_store_close(st);
    if (remove)
        remove_new_store(cfg.store, before);
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
    "are committed in one transaction: a failure keeps nothing of the read. With an external\n"
    "--source a missing store is created; with the store's own table (the default) a missing\n"
    "store is an error (exit 2): create it with `engram init`.\n"
    "If the source goes away mid-read, the read is retried (source.retries, backoff with\n"
    "jitter); exit code 75 if it stays unreachable. Exit code 1 if this read quarantined\n"
    "rows (the report counts them; `engram stats` and the quarantine table keep them).\n",
};
