/*
 * cmd_export.c — `engram export --what staging`: the store's rows with SPEC §13's column names,
 * ordered by memory_id, as CSV or JSONL on standard output (or --output FILE).
 */
#include "cli/cli.h"

#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS,
                                         {"what", 1, NULL, 'w'},
                                         {"format", 1, NULL, 'f'},
                                         {"output", 1, NULL, 'o'},
                                         {0}};
    const char *what = "staging", *format = NULL, *output = NULL;
    eg_export_format fmt = EG_EXPORT_CSV;
    eg_config cfg;
    eg_store *st = NULL;
    FILE *out = stdout;
    int c, code, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            eg_cli_help(&eg_cmd_export, stdout);
            return 0;
        case 'J':
            cli->json = true;
            break;
        case 'w':
            what = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        default:
            return eg_cli_bad_option("export", argc, argv, "ho:", false);
        }
    }
    if (optind < argc)
        return eg_cli_usage("export", "unexpected argument \"%s\"", argv[optind]);
    if (strcmp(what, "staging"))
        return eg_cli_usage("export",
                            "--what %s is not available yet; this version exports: staging", what);
    if (format && !strcmp(format, "jsonl"))
        fmt = EG_EXPORT_JSONL;
    else if (format && strcmp(format, "csv"))
        return eg_cli_usage("export", "--format must be csv or jsonl");
    else if (!format && cli->json)
        fmt = EG_EXPORT_JSONL;
    if ((code = eg_cli_open(cli, &cfg, &st, 0)))
        return code;
    if (output && !(out = fopen(output, "w"))) {
        eg_error_set(EG_EIO, "could not write \"%s\": %s", output, strerror(errno));
        code = eg_cli_fail(EG_EIO);
        goto done;
    }
    if ((rc = eg_store_export_staging(st, fmt, out)))
        code = eg_cli_fail(rc);
    if (fflush(out) != 0 && !code) {
        eg_error_set(EG_EIO, "could not write the export: %s", strerror(errno));
        code = eg_cli_fail(EG_EIO);
    }
done:
    if (out && out != stdout)
        fclose(out);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_export = {
    "export",
    run,
    "write the store's staged memories as CSV or JSONL",
    " [--what staging] [--format csv|jsonl] [--output FILE]\n\n"
    "Writes one row per memory (except those gone from the source), ordered by memory_id,\n"
    "with the columns memory_id, content,\n"
    "created_at, last_accessed_at, access_count, activation_strength, importance_score,\n"
    "memory_type, concepts, status, source_system, processed_at, raw_metadata. Skipped rows\n"
    "have status skipped and empty staging columns. activation_strength and importance_score\n"
    "are as of the store's staging clock (the now of the last run, ingest, import or remember\n"
    "that staged rows), shown as processed_at; the store's view `staging` has the same rows.\n"
    "Times are ISO 8601 UTC; floats print with 17 significant digits. --json is --format\n"
    "jsonl.\n",
};
