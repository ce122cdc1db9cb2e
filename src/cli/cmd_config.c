/*
 * cmd_config.c — `engram config check`: loads the configuration the way every command does
 * and prints each effective setting with where it came from; secrets are masked.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

typedef struct visit_ctx {
    json_t *settings;
    bool json;
    bool failed; /* a setting could not be added: the document is not printed */
} visit_ctx;

static void visit(const char *key, const char *value, const char *origin, void *ud)
{
    visit_ctx *v = ud;
    if (v->json) {
        /* a value or an origin (a profile name) need not be UTF-8: U+FFFD, never a dropped row */
        json_t *o = json_pack("{s:o,s:o,s:o}", "key", eg_cli_json_str(key), "value",
                              value ? eg_cli_json_str(value) : json_null(), "origin",
                              eg_cli_json_str(origin));
        if (json_array_append_new(v->settings, o))
            v->failed = true;
    } else {
        /* (no source: the store's own memories table) */
        const char *shown = value                        ? value
                            : strcmp(key, "source") == 0 ? "(the store's own memories table)"
                                                         : "";
        printf("  %-28s = %-40s (%s)\n", key, shown, origin);
    }
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    eg_config cfg;
    int c, code;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_config, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("config", argc, argv, "h", false);
    }
    if (optind >= argc || strcmp(argv[optind], "check") || optind + 1 != argc)
        return eg_cli_usage("config", "the subcommand is `engram config check`");
    cli->cargs.all_profiles = true; /* a bad value in a profile not selected is reported too */
    if ((code = eg_cli_config(cli, &cfg)))
        return code;
    visit_ctx v = {.json = cli->json, .settings = json_array()};
    if (!cli->json) {
        printf("configuration file: %s\n", cfg.file ? cfg.file : "(none found; defaults)");
        printf("profile:            %s\n", cfg.profile ? cfg.profile : "(none)");
    }
    eg_config_visit(&cfg, visit, &v);
    code = 0;
    if (cli->json && v.failed)
        code = eg_cli_json(NULL), json_decref(v.settings);
    else if (cli->json)
        code = eg_cli_json(json_pack("{s:o,s:o,s:o}", "file", eg_cli_json_str(cfg.file), "profile",
                                     eg_cli_json_str(cfg.profile), "settings", v.settings));
    else
        json_decref(v.settings);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_config = {
    "config",
    run,
    "show the effective configuration (config check)",
    " check [--json]\n\n"
    "Loads the configuration like every command does (--config, ENGRAM_CONFIG, ./engram.conf,\n"
    "$XDG_CONFIG_HOME/engram/engram.conf; --profile or ENGRAM_PROFILE) and prints every\n"
    "setting with its value and origin (default, file, profile NAME, command line).\n"
    "Passwords in connection strings are shown as ****. Every profile of the file is loaded, the\n"
    "ones not selected too. Exit code 2 if the configuration is invalid, with the file, line and\n"
    "profile named.\n",
};
