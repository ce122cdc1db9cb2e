/*
 * cmd_serve.c — `engram serve [--listen ADDR:PORT]`: the HTTP server of SPEC §12 (health,
 * metrics, recall, trace, stats and the dashboard) until SIGINT or SIGTERM. The server itself is
 * eg_http_serve (monitor/http.c); this file parses options.
 */
#include "cli/cli.h"

#include "monitor/http.h"
#include "store/store.h"

#include <getopt.h>
#include <sys/stat.h>

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"listen", 1, NULL, 'l'}, EG_CLI_COMMON_OPTS, {0}};
    eg_http_opts o = {.listen = "127.0.0.1:8080"};
    eg_config cfg;
    struct stat sb;
    int c, code = 0, rc;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hl:", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_serve, stdout), 0;
        if (c == 'l')
            o.listen = optarg;
        else
            return eg_cli_bad_option("serve", argc, argv, "hl:", false);
    }
    if (optind < argc)
        return eg_cli_usage("serve", "unexpected argument \"%s\"", argv[optind]);
    o.verbose = cli->verbose > 0;
    o.now_given = cli->now_given;
    o.now = cli->now;
    if ((code = eg_cli_config(cli, &cfg)))
        return code;
    /* an existing store is migrated once here, so that requests can open it read-only */
    if (stat(cfg.store, &sb) == 0) {
        eg_store *st = NULL;
        if ((rc = eg_store_open(&st, cfg.store, 0)))
            eg_cli_fail(rc); /* served anyway: /readyz says why it is not ready */
        eg_store_close(st);
    }
    if ((rc = eg_http_serve(&cfg, &o)))
        code = eg_cli_fail(rc);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_serve = {
    "serve",
    run,
    "serve health, metrics, recall and a dashboard over HTTP",
    " [--listen ADDR:PORT]\n\n"
    "Answers HTTP until SIGINT or SIGTERM (default 127.0.0.1:8080, loopback only); SIGHUP is\n"
    "logged and ignored (nothing to reload: each request opens the store):\n"
    "  /healthz          liveness: 200 {\"status\":\"ok\"}\n"
    "  /readyz           200 when the store opens with its schema, else 503 with the reason\n"
    "  /health           the `engram health --json` report; 200 for OK and WARNING,\n"
    "                    503 for CRITICAL and UNKNOWN\n"
    "  /metrics          Prometheus text format\n"
    "  /api/recall?q=TEXT[&k=10][&rehearse=1]   as `engram recall --json` (no rehearsal\n"
    "                    unless rehearse=1)\n"
    "  /api/trace/ID     as `engram trace --json`; 404 when the id is unknown\n"
    "  /api/stats        as `engram stats --json`\n"
    "  /                 the dashboard (HTML)\n"
    "Only GET and HEAD (405 otherwise); unknown paths are 404 with a JSON body. Each request\n"
    "reads the store in its own read transaction. --verbose logs one line per request on\n"
    "stderr.\n\n"
    "Options:\n"
    "  -l, --listen ADDR:PORT  the address to listen on ([::1]:PORT for IPv6)\n",
};
