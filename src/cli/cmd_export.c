/*
 * cmd_export.c — `engram export --what staging|features|ltm|concepts|edges`: the store's rows
 * with the spec's column names, in a stable order, as CSV or JSONL on standard output (or
 * --output FILE; "-" is standard output). The rows and their order are eg_store_export's
 * (store/report.c).
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
    if (eg_store_export_check(what))
        return eg_cli_usage("export", "%s", eg_error_last()->message);
    if (format && !strcmp(format, "jsonl"))
        fmt = EG_EXPORT_JSONL;
    else if (format && strcmp(format, "csv"))
        return eg_cli_usage("export", "--format must be csv or jsonl");
    else if (!format && cli->json)
        fmt = EG_EXPORT_JSONL;
    if ((code = eg_cli_open(cli, &cfg, &st, 0)))
        return code;
    if (output && !strcmp(output, "-")) /* standard output, as `import -` reads standard input */
        output = NULL;
    if (output && !(out = fopen(output, "w"))) {
        eg_error_set(EG_EIO, "could not write \"%s\": %s", output, strerror(errno));
        code = eg_cli_fail(EG_EIO);
        goto done;
    }
    if ((rc = eg_store_export(st, what, fmt, out)))
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
    "write the store's rows (staging, features, ltm, concepts, edges) as CSV or JSONL",
    " [--what staging|features|ltm|concepts|edges] [--format csv|jsonl]\n"
    "       [--output FILE]\n\n"
    "Writes the store's rows with the column names of the spec, CSV with a header line (the\n"
    "default) or one JSON object per line, on standard output or to -o/--output FILE\n"
    "(- is standard output).\n"
    "  staging   (the default) one row per memory, ordered by memory_id: memory_id, content,\n"
    "            created_at, last_accessed_at, access_count, activation_strength,\n"
    "            importance_score, memory_type, concepts, status, source_system,\n"
    "            processed_at, raw_metadata. Skipped rows have status skipped and empty\n"
    "            staging columns. activation_strength and importance_score are as of the\n"
    "            store's staging clock (the now of the last run, ingest, import or remember\n"
    "            that staged rows), shown as processed_at; the store's view `staging` has\n"
    "            the same rows.\n"
    "  features  the cognitive features of every memory that has them, by memory_id:\n"
    "            memory_id, importance, urgency, emotional_salience, sentiment, task_type,\n"
    "            knowledge_type, region_hint, abstraction_level, concepts (the entities\n"
    "            found are among the concepts).\n"
    "  ltm       the long-term records of the last run, by memory_id: memory_id,\n"
    "            semantic_category, knowledge_type, cortical_region, abstraction_level,\n"
    "            minicolumn_id, macrocolumn_id, column_rank, retrieval_strength, memory_age,\n"
    "            consolidation_state.\n"
    "  concepts  the concepts of the last run, by name: concept, community, memories.\n"
    "  edges     the concept graph's edges of the last run, by the two names: concept_a,\n"
    "            concept_b (concept_a < concept_b), weight, coactivations, last_at. The\n"
    "            memory-memory associations are not exported (the store's table assoc).\n"
    "Memories deleted at the source are left out. Times are ISO 8601 UTC; floats print in the\n"
    "shortest form that reads back as the same double. The same store gives the same bytes.\n"
    "--json is --format jsonl.\n",
};
