/*
 * cmd_init.c — `engram init`: creates the store (or migrates an existing one) and says so.
 */
#include "cli/cli.h"

#include "store/store.h"

#include <getopt.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    eg_config cfg;
    eg_store *st = NULL;
    int c, code;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_init, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("init", argc, argv, "h", false);
    }
    if (optind < argc)
        return eg_cli_usage("init", "unexpected argument \"%s\"", argv[optind]);
    if ((code = eg_cli_open(cli, &cfg, &st, EG_STORE_CREATE)))
        return code;
    if (cli->json)
        code = eg_cli_json(json_pack("{s:o,s:i}", "store", eg_cli_json_str(eg_store_path(st)),
                                     "schema_version", eg_store_schema_version(st)));
    else if (!cli->quiet)
        printf("store %s ready (schema version %d)\n", eg_store_path(st),
               eg_store_schema_version(st));
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_init = {
    "init",
    run,
    "create the store (or bring an existing one to the current schema)",
    " [--json]\n\n"
    "Creates the SQLite store named by --store (or the configuration; default engram.db) with\n"
    "the current schema, or migrates an existing store. Safe to run again.\n",
};
