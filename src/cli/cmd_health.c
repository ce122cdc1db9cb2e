/*
 * cmd_health.c — `engram health`: runs the checks of SPEC §10 (monitor/health.c) and prints one
 * line per check and a summary, or the report as JSON. The exit code is the summary status:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
#include "cli/cli.h"

#include "engram/health.h"
#include "util/timeutil.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The report, one line per check and a summary; quiet (-q: "print only errors") prints only the
 * lines of the checks that are not OK, so an all-OK run prints nothing. */
static void print_text(const eg_health_report *r, bool quiet)
{
    char at[40], value[48];
    int n[4] = {0};
    eg_time_format(r->at, at);
    if (!quiet)
        printf("health of %s at %s\n", r->target, at);
    for (int i = 0; i < EG_HEALTH_NCHECKS; i++) {
        const eg_health_check *c = &r->checks[i];
        n[c->status]++;
        if (quiet && c->status == EG_HEALTH_OK)
            continue;
        if (c->has_value)
            snprintf(value, sizeof value, "%.*f %s",
                     fabs(c->value) < 100 && strcmp(c->unit, "rows") && strcmp(c->unit, "columns")
                         ? 1
                         : 0,
                     c->value, c->unit);
        else
            snprintf(value, sizeof value, "- %s", c->unit);
        printf("%-8s %-12s %s (%s)  %s\n", eg_health_status_name(c->status), c->name, value,
               c->threshold, c->message);
    }
    if (quiet)
        return;
    printf("%-8s summary      %d ok, %d warning, %d critical, %d unknown; %s\n",
           eg_health_status_name(r->status), n[EG_HEALTH_OK], n[EG_HEALTH_WARNING],
           n[EG_HEALTH_CRITICAL], n[EG_HEALTH_UNKNOWN], r->note);
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS, {0}};
    eg_config cfg;
    eg_health_report *rep = NULL;
    int c, code;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_health, stdout), 0;
        if (c == 'J')
            cli->json = true;
        else
            return eg_cli_bad_option("health", argc, argv, "h", false);
    }
    if (optind < argc)
        return eg_cli_usage("health", "unexpected argument \"%s\"", argv[optind]);
    if ((code = eg_cli_config(cli, &cfg)))
        return code;
    if (!(rep = calloc(1, sizeof *rep))) {
        code = eg_cli_fail(eg_error_set(EG_ENOMEM, "out of memory"));
        goto done;
    }
    int rc = eg_health_run(&cfg, cli->now, rep);
    if (rc) {
        code = eg_cli_fail(rc);
        goto done;
    }
    if (cli->json)
        code = eg_cli_json(eg_health_report_json(rep));
    else
        print_text(rep, cli->quiet);
    code = code ? code : (int)rep->status;
done:
    free(rep);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_health = {
    "health",
    run,
    "check the source and the pipeline; exit 0 ok, 1 warning, 2 critical, 3 unknown",
    " [--json]\n\n"
    "Runs eight measured checks with thresholds from the config (health.*): connection,\n"
    "freshness, volume (also against its own history), quality, performance, schema,\n"
    "transformation readiness and pipeline stages, then a summary = the worst status\n"
    "(CRITICAL > WARNING > UNKNOWN > OK). The results are appended to the store's health\n"
    "history when the store exists; a missing store is reported, never created.\n"
    "With --quiet only the checks that are not OK are printed (nothing when all are).\n"
    "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See docs/RUNBOOK.md.\n",
};
