/*
 * cmd_remember.c — `engram remember TEXT`: adds one memory to the embedded source.
 */
#include "cli/cli.h"

#include "store/store.h"

#include <getopt.h>
#include <string.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        EG_CLI_COMMON_OPTS, {"id", 1, NULL, 'i'}, {"metadata", 1, NULL, 'm'}, {0}};
    const char *id = NULL, *meta = NULL;
    char id_out[EG_REMEMBER_ID_SIZE];
    eg_config cfg;
    eg_store *st = NULL;
    int c, code, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            eg_cli_help(&eg_cmd_remember, stdout);
            return 0;
        case 'J':
            cli->json = true;
            break;
        case 'i':
            id = optarg;
            break;
        case 'm':
            meta = optarg;
            break;
        default:
            return eg_cli_bad_option("remember", argc, argv, "h", true);
        }
    }
    if (optind != argc - 1)
        return eg_cli_usage("remember", "give the memory's text as one argument");
    /* refused before the store is opened (and perhaps created) */
    if ((rc = eg_remember_check(argv[optind], id, meta)))
        return rc == EG_EUSAGE ? eg_cli_usage("remember", "%s", eg_error_last()->message)
                               : eg_cli_fail(rc);
    if ((code = eg_cli_open(cli, &cfg, &st, EG_STORE_CREATE)))
        return code;
    rc = eg_remember(st, argv[optind], id, meta, cli->now, id_out);
    if (rc)
        code = eg_cli_fail(rc);
    else if (cli->json)
        code = eg_cli_json(json_pack("{s:o}", "id", eg_cli_json_str(id_out)));
    else if (!cli->quiet)
        printf("%s\n", id_out);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_remember = {
    "remember",
    run,
    "add one memory to the embedded source",
    " [--id ID] [--metadata JSON] [--json] TEXT\n\n"
    "Adds TEXT to the store's own memories table, created at --now (default: now), and prints\n"
    "its id (not with --quiet, unless --json; a missing store is created, as by `engram init`).\n"
    "Without --id the id is made from the time and the text, so the same text at the same\n"
    "instant is one memory. It is staged (and found by recall) after the next `engram ingest`\n"
    "(milliseconds) or `engram run`; until the next run it ranks by its words and recency alone\n"
    "(no spread: its concepts enter the graph with the run).\n"
    "  --id ID          the memory's id, 1 to 36 characters (UTF-8 code points)\n"
    "  --metadata JSON  the memory's metadata, a JSON object\n"
    "  --json           print {\"id\": ID} instead of the bare id\n"
    "An empty or whitespace-only TEXT, or one that is not UTF-8, is refused (exit 65). Put --\n"
    "before a TEXT that starts with \"-\".\n",
};
