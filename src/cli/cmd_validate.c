/*
 * cmd_validate.c — `engram validate`: run the data validation rules (SPEC §11) on the source
 * and/or the store, print one line per rule (or JSON), and exit like `health`.
 */
#include "cli/cli.h"

#include "monitor/validate.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The source's hint for an unreachable server speaks of exit code 75, which is what run and
 * ingest exit with; validate is a monitoring command and exits 3 (docs/VALIDATION.md). */
static void fail_source(int rc)
{
    if (rc == EG_EUNAVAIL && eg_error_last()->hint[0])
        eg_error_hint("check that the server runs and accepts connections on that host and port "
                      "(source.connect_timeout, source.retries and source.retry_delay set the "
                      "patience); validate reports what it could not check as unknown (exit 3)");
    eg_cli_fail(rc);
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        EG_CLI_COMMON_OPTS, {"examples", 1, NULL, 'e'}, {"target", 1, NULL, 't'}, {0}};
    eg_config cfg;
    eg_store *st = NULL;
    eg_validate_report *r = NULL;
    eg_validate_target target = EG_VALIDATE_SOURCE;
    int c, code, rc, examples = -1, json_code = 0;
    char *end;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return eg_cli_help(&eg_cmd_validate, stdout), 0;
        if (c == 'J') {
            cli->json = true;
        } else if (c == 'e') {
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > EG_VALIDATE_MAX_EXAMPLES)
                return eg_cli_usage("validate", "--examples takes a number from 0 to %d",
                                    EG_VALIDATE_MAX_EXAMPLES);
            examples = (int)v;
        } else if (c == 't') {
            if (!strcmp(optarg, "source"))
                target = EG_VALIDATE_SOURCE;
            else if (!strcmp(optarg, "store"))
                target = EG_VALIDATE_STORE;
            else if (!strcmp(optarg, "both"))
                target = EG_VALIDATE_BOTH;
            else
                return eg_cli_usage("validate", "--target is source, store or both, not \"%s\"",
                                    optarg);
        } else {
            return eg_cli_bad_option("validate", argc, argv, "h", false);
        }
    }
    if (optind < argc)
        return eg_cli_usage("validate", "unexpected argument \"%s\"", argv[optind]);
    if ((code = eg_cli_config(cli, &cfg)))
        return code;
    /* like health: a missing store is reported, never created. Only a source outside the store
     * can still be checked without it (and nothing is recorded); otherwise nothing can be, and
     * the exit code is health's for that case (its connection check is CRITICAL: 2). */
    if ((rc = eg_store_open(&st, cfg.store, 0))) {
        if (rc != EG_ENOTFOUND || !cfg.source || (target & EG_VALIDATE_STORE)) {
            code = eg_cli_fail(rc);
            goto done;
        }
        if (!cli->quiet)
            fprintf(stderr, "engram: store %s does not exist: the results are not recorded\n",
                    cfg.store);
    }
    rc = eg_validate_run(&r, &cfg, st, target, cli->now,
                         examples >= 0 ? examples : cfg.validate_examples);
    if (rc && !r) {
        /* --json prints a report then too, as health's does: no rule, UNKNOWN, and why */
        if (cli->json) {
            eg_validate_report none = {
                .at = cli->now, .target = target, .status = EG_VALID_UNKNOWN};
            json_t *o = eg__validate_json(&none);
            if (o)
                json_object_set_new(o, "error", json_string(eg_error_last()->message));
            json_code = eg_cli_json(o);
        }
        fail_source(rc);
        code = json_code ? json_code : 3; /* unknown: nothing could be checked */
        goto done;
    }
    if (cli->json) {
        json_code = eg_cli_json(eg__validate_json(r));
    } else {
        /* -q ("print only errors"), as health -q: only the rules that are not OK, no summary */
        for (int i = 0; i < r->nrules; i++) {
            const eg_valid_rule *u = &r->rules[i];
            if (cli->quiet && u->status == EG_VALID_OK)
                continue;
            printf("%-8s %-6s %-20s %lld/%lld (%.2f%%, threshold %g%%)",
                   eg_valid_status_name(u->status), u->target, u->rule, (long long)u->count,
                   (long long)u->total, u->percent, u->threshold);
            /* ids from the data: printed without control characters, as recall prints them */
            for (int k = 0; k < u->nexamples; k++) {
                fputs(k ? ", " : " e.g. ", stdout);
                eg_cli_put_text(stdout, u->examples[k], 0, false);
            }
            if (u->detail)
                printf(" — %s", u->detail);
            printf("\n");
        }
        if (!cli->quiet)
            printf("%s\n", eg_valid_status_name(r->status));
    }
    if (rc)
        fail_source(rc);
    code = r->status == EG_VALID_OK         ? 0
           : r->status == EG_VALID_WARNING  ? 1
           : r->status == EG_VALID_CRITICAL ? 2
                                            : 3;
    if (json_code)
        code = json_code;
done:
    eg_validate_free(r);
    eg_store_close(st);
    eg_config_free(&cfg);
    return code;
}

const eg_command eg_cmd_validate = {
    "validate",
    run,
    "check the data: ids, timestamps, content, metadata, duplicates, volume",
    " [--json] [--examples N] [--target source|store|both]\n\n"
    "Runs the validation rules of SPEC §11 on the source (pushed down to PostgreSQL; without a\n"
    "source, the store's own memories table) and/or the store's staged memories, records the\n"
    "results in the store's validation table and prints one line per rule (with --quiet only\n"
    "the rules that are not OK; nothing when all are).\n"
    "  --examples N   example ids per rule (default: validate.examples)\n"
    "  --target T     source (default), store or both\n"
    "A rule is OK with no failing row, WARNING with some, CRITICAL when their share exceeds\n"
    "validate.threshold percent; the summary is the worst (CRITICAL > WARNING > UNKNOWN > OK).\n"
    "Exit: 0 all OK, 1 a warning, 2 a critical, 3 unknown (a rule or the source could not be\n"
    "read, and no rule found a problem). A missing store is reported (exit 2), never created;\n"
    "a --source outside it is still checked, without recording. See docs/VALIDATION.md.\n",
};
