/*
 * cmd_recall.c — `engram recall QUERY`: the memories that come to mind for QUERY at --at, ranked
 * by lexical match, spreading activation and base-level activation (SPEC §8), as text, as JSON,
 * or, with --queries FILE, one JSON line per query of a file (for evaluation and benchmarks).
 * Parsing and printing only; the ranking is eg_recall (pipeline/recall.c).
 */
#include "cli/cli.h"

#include "engram/recall.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_CHARS 160 /* content shown per result in text output (code points) */

static void print_text(const eg_cli *cli, const eg_config *cfg, const char *query,
                       const eg_recall_result *res, bool explain)
{
    char ts[EG_TIME_BUFSZ];
    if (!cli->quiet) {
        /* the query as typed, its quotes and backslashes escaped, on one line */
        fputs("recall \"", stdout);
        eg_cli_put_text(stdout, query, 0, true);
        printf("\" at %s: %zu result%s of %zu candidate%s\n", eg_time_format(res->at, ts), res->n,
               res->n == 1 ? "" : "s", res->candidates, res->candidates == 1 ? "" : "s");
    }
    if (explain)
        printf("  query: full text %s; %d concept%s, %d in the store; candidates %zu lexical, "
               "%zu by concept, %zu by association\n"
               "  A = %g·lexical + %g·spread + %g·B;  P(recall) = 1/(1+exp(-(A - (%g))/%g))\n",
               res->fts_query && *res->fts_query ? res->fts_query : "(none)", res->query_concepts,
               res->query_concepts == 1 ? "" : "s", res->known_concepts, res->lexical_candidates,
               res->concept_candidates, res->assoc_candidates, cfg->recall_alpha, cfg->recall_beta,
               cfg->recall_gamma, cfg->recall_tau, cfg->recall_noise);
    for (size_t k = 0; k < res->n; k++) {
        const eg_recall_hit *h = &res->hits[k];
        printf("%3zu. %7.3f  ", k + 1, h->score);
        eg_cli_put_text(stdout, h->memory_id, 0, false);
        printf("  [%s, %s]\n     ", h->status, eg_time_format(h->created_at, ts));
        eg_cli_put_text(stdout, h->content, SHOW_CHARS, false);
        putchar('\n');
        if (!explain)
            continue;
        printf("     lexical %.3f  spread %.3f (concepts %.3f, hebbian %.3f, associations %.3f)  "
               "B %.3f from %d presentation%s  ->  A %.3f, P(recall) %.3f\n",
               h->lexical, h->spread, h->spread_concepts, h->spread_hebbian, h->spread_assoc,
               h->base_level, h->presentations, h->presentations == 1 ? "" : "s", h->score,
               h->p_recall);
    }
    if (!res->n && !cli->quiet)
        printf("  no memory comes to mind\n");
}

/* --queries FILE: one {"id","query"} per line in, one {"id","results"} per line out. Returns the
 * exit code. */
static int run_queries(eg_recaller *rc, const char *path, const eg_recall_opts *base, int k)
{
    FILE *in = strcmp(path, "-") ? fopen(path, "r") : stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0, bad = 0;
    int code = 0, err;
    if (!in) {
        err = eg_error_set(EG_EIO, "cannot read --queries file \"%s\": %s", path, strerror(errno));
        return eg_cli_fail(err);
    }
    eg_recall_opts o = *base;
    o.k = k;
    o.rehearse = false;
    while ((len = getline(&line, &cap, in)) != -1) {
        json_error_t je;
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t at = strspn(line, " \t");
        if ((size_t)len - at >= 3 && !memcmp(line + at, "\xEF\xBB\xBF", 3))
            at += 3; /* a byte order mark, skipped as `import` skips it */
        if (at == (size_t)len || strspn(line + at, " \t") == (size_t)len - at)
            continue;
        /* as import reads a line: a key named twice is an error (which id would the answer
         * carry?), and a NUL is said in words, not in jansson's (JSON_ALLOW_NUL) */
        json_t *q =
            json_loadb(line + at, (size_t)len - at, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        json_t *id = json_object_get(q, "id");
        json_t *jtext = json_object_get(q, "query");
        const char *text = json_string_value(jtext);
        char jwhy[JSON_ERROR_TEXT_LENGTH + 64];
        if (!q)
            snprintf(jwhy, sizeof jwhy, "not JSON: %s (column %d)", je.text, je.column);
        const char *why = !q                   ? jwhy
                          : !json_is_object(q) ? "not a JSON object"
                          : !id                ? "no \"id\""
                          : !text              ? "no \"query\" string"
                          : strlen(text) != json_string_length(jtext)
                              ? "the query contains a NUL character (\\u0000)"
                          : !text[strspn(text, " \t\r\n")] ? "the query is empty"
                                                           : NULL;
        if (why) {
            fprintf(stderr, "%s:%ld: %s\n", path, lineno, why);
            bad++;
            json_decref(q);
            continue;
        }
        eg_recall_result res;
        if ((err = eg_recall(rc, text, &o, &res))) {
            json_decref(q);
            code = eg_cli_fail(err);
            goto done;
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < res.n; i++) {
            char score[32];
            snprintf(score, sizeof score, "%.6g", res.hits[i].score);
            json_array_append_new(arr, json_pack("{s:s, s:f}", "memory_id", res.hits[i].memory_id,
                                                 "score", strtod(score, NULL)));
        }
        eg_recall_result_free(&res);
        json_t *outl = json_pack("{s:O, s:o}", "id", id, "results", arr);
        char *s = json_dumps(outl, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (s)
            puts(s);
        free(s);
        json_decref(outl);
        json_decref(q);
    }
    if (ferror(in)) {
        err = eg_error_set(EG_EIO, "cannot read --queries file \"%s\": %s", path, strerror(errno));
        code = eg_cli_fail(err);
    } else if (bad) {
        fprintf(stderr, "engram recall: %ld bad line%s in \"%s\" (answered the others)\n", bad,
                bad == 1 ? "" : "s", path);
        code = 65;
    }
done:
    free(line);
    if (in != stdin)
        fclose(in);
    return code;
}

static int run(eg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {EG_CLI_COMMON_OPTS,
                                         {"k", 1, NULL, 'k'},
                                         {"at", 1, NULL, 'a'},
                                         {"explain", 0, NULL, 'e'},
                                         {"no-rehearse", 0, NULL, 'n'},
                                         {"queries", 1, NULL, 'Q'},
                                         {0}};
    const char *queries = NULL;
    bool explain = false;
    eg_recall_opts o = {.at = cli->now, .k = 10, .rehearse = true};
    eg_config cfg;
    eg_store *st = NULL;
    eg_recaller *rc = NULL;
    eg_buf query;
    int c, code, err;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hk:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'h':
            eg_cli_help(&eg_cmd_recall, stdout);
            return 0;
        case 'J':
            cli->json = true;
            break;
        case 'k': {
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1 || v > 1000)
                return eg_cli_usage("recall",
                                    "--k must be a whole number from 1 to 1000, not "
                                    "\"%s\"",
                                    optarg);
            o.k = (int)v;
            break;
        }
        case 'a':
            if (eg_time_parse(optarg, (size_t)-1, &o.at))
                return eg_cli_usage("recall",
                                    "--at \"%s\" is not an ISO 8601 time (e.g. "
                                    "2026-05-01T12:00:00Z)",
                                    optarg);
            break;
        case 'e':
            explain = true;
            break;
        case 'n':
            o.rehearse = false;
            break;
        case 'Q':
            queries = optarg;
            break;
        default:
            return eg_cli_bad_option("recall", argc, argv, "hk:", true);
        }
    }
    if (queries && optind < argc)
        return eg_cli_usage("recall", "give either a QUERY or --queries FILE, not both");
    if (queries && explain) /* (it was ignored) */
        return eg_cli_usage("recall", "--explain is for one QUERY: --queries prints ids and "
                                      "scores only");
    if (o.rehearse && !queries &&
        o.at > cli->now) { /* the store's history would hold a future recall */
        char at[EG_TIME_BUFSZ], now[EG_TIME_BUFSZ];
        return eg_cli_usage("recall",
                            "--at %s is later than now (%s): a recall is recorded at --at as a "
                            "rehearsal, and none can be recorded in the future; add "
                            "--no-rehearse to rank the memories as they would stand then",
                            eg_time_format(o.at, at), eg_time_format(cli->now, now));
    }
    eg_buf_init(&query, 1 << 20);
    for (int i = optind; i < argc; i++)
        if ((i > optind && eg_buf_putc(&query, ' ')) || eg_buf_puts(&query, argv[i])) {
            eg_buf_free(&query);
            return eg_cli_usage("recall", "the query is too long");
        }
    if (!queries && (!query.len || !query.data[strspn(query.data, " \t\r\n")])) {
        eg_buf_free(&query);
        return eg_cli_usage("recall", "give a non-empty QUERY (the words to recall)");
    }
    if ((code = eg_cli_open(cli, &cfg, &st, 0))) {
        eg_buf_free(&query);
        return code;
    }
    if ((err = eg_recaller_open(&rc, st, &cfg))) {
        code = eg_cli_fail(err);
        goto done;
    }
    if (queries) {
        code = run_queries(rc, queries, &o, o.k);
        goto done;
    }
    eg_recall_result res;
    if ((err = eg_recall(rc, query.data, &o, &res))) {
        code = eg_cli_fail(err);
        goto done;
    }
    if (cli->json) {
        char *j = eg_recall_result_json(&res, query.data);
        if (j)
            puts(j);
        else
            code = eg_cli_fail(eg_error_set(EG_ENOMEM, "out of memory printing the results"));
        free(j);
    } else {
        print_text(cli, &cfg, query.data, &res, explain);
    }
    eg_recall_result_free(&res);
done:
    eg_recaller_close(rc);
    eg_store_close(st);
    eg_config_free(&cfg);
    eg_buf_free(&query);
    return code;
}

const eg_command eg_cmd_recall = {
    "recall",
    run,
    "what comes to mind for a query, with an explanation",
    " [--k N] [--at T] [--explain] [--json] [--no-rehearse] QUERY\n"
    "       engram recall --queries FILE [--k N] [--at T]\n\n"
    "Ranks the staged memories created at or before T (--at, default --now) by\n"
    "  A = alpha*lexical + beta*spread + gamma*B\n"
    "lexical: the FTS5 BM25 score of QUERY's words, divided by the best match's; spread:\n"
    "spreading activation from QUERY's concepts (S - ln fan per shared concept, plus\n"
    "Hebbian-weighted spread from neighbouring concepts) and from the memories the query\n"
    "activates most along their learned associations; B: ACT-R base-level activation\n"
    "ln sum (T - t_j)^-d over the memory's presentations (creation, updates, replays,\n"
    "recalls). Prints the best N (-k, --k N: 1 to 1000, default 10); ties go to the\n"
    "smaller memory id.\n"
    "Memories skipped at staging or deleted at the source are never returned; forgotten\n"
    "ones are (docs/stages/recall.md). --explain prints every term and\n"
    "P(recall) = 1/(1 + exp(-(A - tau)/s)). alpha, beta, gamma, S, tau, s and d are the\n"
    "config keys recall.alpha, recall.beta, recall.gamma, recall.S, recall.tau, recall.s\n"
    "and activation.decay.\n\n"
    "A recall is a presentation: each result is recorded as recalled at T (the next\n"
    "`engram run` rehearses it) unless --no-rehearse is given; T is then not later than\n"
    "--now (a later T only ranks, with --no-rehearse).\n\n"
    "--queries FILE (\"-\" for stdin) answers one query per line, {\"id\": ..., \"query\":\n"
    "\"...\"}, with one line {\"id\": ..., \"results\": [{\"memory_id\", \"score\"}]} each;\n"
    "it never rehearses, and takes no --explain. Bad lines are reported as FILE:LINE and the\n"
    "exit code is then 65.\n",
};
