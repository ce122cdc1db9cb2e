/*
 * cmd_import.c — `engram import FILE...`: memories from JSONL or CSV files into the store's own
 * memories table (the embedded source). Bad lines are reported and quarantined.
 */
#include "cli/cli.h"

#include "engram/error.h"
#include "store/store.h"

#include <getopt.h>
#include <string.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {"format", 1, NULL, 'f'}, {0}};
    const char *format = NULL;
    eg_config cfg;
    eg_store *st = NULL;
    int c, code = 0, rc;
    int64_t bad = 0, ok = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hf:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            eg_cli_help(&eg_cmd_import, stdout);
            return 0;
        case 'J':
            cli->json = true;
            break;
        case 'f':
            format = optarg;
            break;
        default:
            return eg_cli_bad_option("import", argc, argv, "hf:", false);
        }
    }
    if (optind >= argc)
        return eg_cli_usage("import", "name at least one FILE (.jsonl or .csv, or - for stdin)");
    if ((code = eg_cli_open(cli, &cfg, &st, EG_STORE_CREATE)))
        return code;
    json_t *all = json_array();
    for (int i = optind; i < argc; i++) {
        eg_import_report rep;
        if ((rc = eg_import_file(st, argv[i], format, cli->now, stderr, &rep))) {
            /* the files before this one stay committed; --json still lists them, and this one
             * with its error */
            if (cli->json)
                json_array_append_new(
                    all, json_pack("{s:o,s:o}", "file", eg_cli_json_str(argv[i]), "error",
                                   eg_cli_json_str(eg_error_last()->code ? eg_error_last()->message
                                                                         : eg_strerror(rc))));
            code = eg_cli_fail(rc);
            break;
        }
        bad += rep.quarantined;
        ok += rep.lines_ok;
        if (cli->json)
            json_array_append_new(
                all,
                json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "file", eg_cli_json_str(argv[i]),
                          "rows", (json_int_t)rep.lines_ok, "inserted", (json_int_t)rep.inserted,
                          "updated", (json_int_t)rep.updated, "unchanged",
                          (json_int_t)rep.unchanged, "quarantined", (json_int_t)rep.quarantined,
                          "blank", (json_int_t)rep.blank, "repeated", (json_int_t)rep.repeated));
        else if (!cli->quiet) {
            char repeated[80] = "";
            if (rep.repeated) /* of the updated or unchanged: the rows add up without it */
                snprintf(repeated, sizeof repeated, "; %lld repeated an earlier row's id",
                         (long long)rep.repeated);
            printf("%s: %lld rows (%lld new, %lld updated, %lld unchanged), %lld quarantined, "
                   "%lld blank skipped%s\n",
                   argv[i], (long long)rep.lines_ok, (long long)rep.inserted,
                   (long long)rep.updated, (long long)rep.unchanged, (long long)rep.quarantined,
                   (long long)rep.blank, repeated);
        }
    }
    if (cli->json) {
        int jc = eg_cli_json(all);
        code = code ? code : jc;
    } else
        json_decref(all);
    /* some rows bad: a warning (1); nothing usable at all: bad input (65) */
    if (!code && bad)
        code = ok ? 1 : 65;
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_import = {
    "import",
    run,
    "import memories from JSONL or CSV files into the embedded source",
    " [--format jsonl|csv] [--json] FILE...\n\n"
    "Reads each FILE (- is standard input, JSONL) into the store's own memories table, in one\n"
    "transaction per file (a missing store is created, as by `engram init`). JSONL lines are\n"
    "objects {\"id\", \"content\", \"created_at\", \"updated_at\", \"metadata\"}; CSV files have a "
    "header\n"
    "naming those columns (an empty field is NULL, \"\" is the empty string). A bad line is\n"
    "reported as FILE:LINE with the reason, kept in the quarantine table, and the rest of the\n"
    "file is imported. Importing the same rows again changes nothing. Exit code 1 if some rows\n"
    "were quarantined, 65 if none could be imported or a FILE is unusable (missing, a\n"
    "directory, empty, or UTF-16/UTF-32 rather than UTF-8: the error gives the iconv command):\n"
    "the files before it stay imported, the rest are not read, and --json lists the files read,\n"
    "that one with its error.\n"
    "  -f, --format F  jsonl or csv for every FILE; without it the name decides (.jsonl,\n"
    "                  .ndjson, .json: JSONL; .csv: CSV)\n",
};
