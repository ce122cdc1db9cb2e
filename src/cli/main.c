/*
 * main.c — the engram command: global options, the command table, dispatch.
 *
 * Global options (SPEC §13) may stand anywhere on the line: --config FILE, --profile NAME,
 * --store PATH, --source URI, --now ISO8601, plus --json, --quiet, --verbose. They are taken
 * out here; each command parses the rest with getopt_long.
 */
#include "cli/cli.h"

#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/suggest.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const eg_command *const commands[] = {
    &eg_cmd_init,   &eg_cmd_import,   &eg_cmd_remember, &eg_cmd_ingest, &eg_cmd_run,
    &eg_cmd_recall, &eg_cmd_trace,    &eg_cmd_stats,    &eg_cmd_export, &eg_cmd_config,
    &eg_cmd_health, &eg_cmd_validate, &eg_cmd_serve,    &eg_cmd_bench,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: engram [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
                 "engram turns a stream of text memories into a living memory: it reads them\n"
                 "read-only (PostgreSQL, or its own embedded SQLite store), stages them and keeps\n"
                 "the results in the store.\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out,
            "\nGlobal options (accepted by every command, anywhere on the line):\n"
            "  --config FILE     configuration file (default: $ENGRAM_CONFIG, ./engram.conf,\n"
            "                    $XDG_CONFIG_HOME/engram/engram.conf)\n"
            "  --profile NAME    profile of the configuration file (default: $ENGRAM_PROFILE)\n"
            "  --store PATH      the SQLite store file (default: engram.db)\n"
            "  --source URI      postgresql://... or a libpq conninfo string, or sqlite:PATH;\n"
            "                    default: the store's own memories table. Never put a password\n"
            "                    here: use ~/.pgpass, PGPASSFILE, PGPASSWORD or a service file\n"
            "  --now ISO8601     the clock of this command (default: the wall clock)\n"
            "  --json            print data as JSON\n"
            "  -q, --quiet       print only errors\n"
            "  -v, --verbose     log more (repeat for debug)\n"
            "  -h, --help        this help; `engram COMMAND --help` for a command\n"
            "  --version         print the version\n"
            "\nExit codes: 0 ok, 1 warning, 2 critical or usage error, 3 unknown,\n"
            "65 bad input, 75 temporary failure (source unreachable, or the store busy).\n");
}

int eg_cli_fail(int rc)
{
    const eg_error *e = eg_error_last();
    fprintf(stderr, "engram: error: %s\n", e->code ? e->message : eg_strerror(rc));
    if (e->code && e->detail[0])
        fprintf(stderr, "DETAIL: %s\n", e->detail);
    if (e->code && e->hint[0])
        fprintf(stderr, "HINT: %s\n", e->hint);
    return eg_exit_code(rc);
}

int eg_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "engram %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry `engram %s --help`.\n", cmd);
    return 2;
}

int eg_cli_bad_option(const char *cmd, int argc, char **argv, const char *shortopts, bool free_text)
{
    /* getopt_long (opterr = 0) returned '?': optopt is 0 for an unknown long option (optind
     * is past it), the option's value for a known long option that lacks its value or was
     * given one it does not take (optind past it too), and the character for a short option,
     * unknown or lacking its value; optind moves past a short option only when it ends its
     * argument, so in a cluster ("-qx", "-5 degrees") the argument is still argv[optind]. */
    const char *prev = optind > 1 && optind - 1 < argc ? argv[optind - 1] : "";
    const char *arg;
    char name[3] = {'-', (char)optopt, '\0'};
    if (!optopt || !strncmp(prev, "--", 2)) {
        int n = (int)strcspn(prev, "=");
        if (!optopt)
            return eg_cli_usage(cmd, "unknown option \"%.*s\"", n, prev);
        if (prev[n])
            return eg_cli_usage(cmd, "option \"%.*s\" takes no value", n, prev);
        return eg_cli_usage(cmd, "option \"%s\" needs a value", prev);
    }
    size_t plen = strlen(prev);
    if (prev[0] == '-' && plen > 1 && prev[plen - 1] == optopt)
        arg = prev;
    else
        arg = optind < argc ? argv[optind] : name;
    if (strchr(shortopts, optopt) && optind >= argc && arg == prev)
        return eg_cli_usage(cmd, "option \"%s\" needs a value", name);
    char hint[320] = "";
    if (free_text)
        snprintf(hint, sizeof hint,
                 "\nuse -- before a text that starts with \"-\", e.g. engram %s -- \"%.200s\"", cmd,
                 arg);
    if (!strcmp(arg, name))
        return eg_cli_usage(cmd, "unknown option \"%s\"%s", name, hint);
    return eg_cli_usage(cmd, "unknown option \"%s\" in \"%s\"%s", name, arg, hint);
}

void eg_cli_help(const eg_command *cmd, FILE *out)
{
    fprintf(out, "usage: engram %s%s\n", cmd->name, cmd->usage);
    fprintf(out, "Global options: --config FILE, --profile NAME, --store PATH, --source URI, "
                 "--now ISO8601,\n--json, --quiet, --verbose (see `engram --help`).\n");
}

int eg_cli_json(json_t *v)
{
    if (!v) {
        fprintf(stderr, "engram: error: could not build the JSON output\n");
        return 2;
    }
    /* reals in their shortest exact form (0.2, not jansson's 0.20000000000000001) */
    char *text = json_dumps(v, JSON_COMPACT);
    eg_buf out;
    eg_buf_init(&out, 0);
    int rc = !text || eg_buf_json_reals(&out, text) || eg_buf_putc(&out, '\n') ||
             fputs(out.data, stdout) == EOF;
    free(text);
    eg_buf_free(&out);
    json_decref(v);
    if (rc) {
        fprintf(stderr, "engram: error: could not write the JSON output\n");
        return 2;
    }
    return 0;
}

json_t *eg_cli_json_str(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    char *clean = eg_utf8_scrub(s, strlen(s));
    if (clean)
        j = json_string(clean);
    free(clean);
    return j;
}

void eg_cli_put_text(FILE *out, const char *s, size_t max, bool quoted)
{
    size_t cps = 0;
    const char *p = s ? s : "";
    size_t left = strlen(p);
    while (left) {
        if (max && cps++ == max) {
            fputs("…", out);
            return;
        }
        size_t skip = 1, n = eg_utf8_seq(p, left, &skip);
        const unsigned char *u = (const unsigned char *)p;
        if (!n) {
            /* bytes that are not UTF-8 (a query typed in another encoding): U+FFFD, as --json
             * writes them, not raw bytes for the terminal to make sense of */
            fputs("\xEF\xBF\xBD", out);
            p += skip;
            left -= skip;
            continue;
        }
        if (n == 1 && (*u < 0x20 || *u == 0x7F)) {
            putc(' ', out);
        } else if (n == 2 && *u == 0xC2 && u[1] <= 0x9F) { /* U+0080..U+009F */
            putc(' ', out);
        } else if (n == 3 && *u == 0xE2 &&
                   ((u[1] == 0x80 && u[2] >= 0xA8 && u[2] <= 0xAE) ||
                    (u[1] == 0x81 && u[2] >= 0xA6 && u[2] <= 0xA9))) {
            /* U+2028, U+2029 (line and paragraph separators: a line break to some terminals)
             * and the bidirectional embeddings, overrides and isolates U+202A..U+202E,
             * U+2066..U+2069: an override left open in an id or a content reordered the rest of
             * the line as displayed ("Trojan Source") */
            putc(' ', out);
        } else {
            if (quoted && n == 1 && (*u == '"' || *u == '\\'))
                putc('\\', out);
            fwrite(p, 1, n, out);
        }
        p += n;
        left -= n;
    }
}

int eg_cli_config(eg_cli *cli, eg_config *cfg)
{
    int rc = eg_config_load(cfg, &cli->cargs);
    return rc ? eg_cli_fail(rc) : 0;
}

int eg_cli_open(eg_cli *cli, eg_config *cfg, eg_store **st, int flags)
{
    int rc = eg_cli_config(cli, cfg);
    if (rc)
        return rc;
    if ((rc = eg_store_open(st, cfg->store, flags))) {
        eg_config_free(cfg);
        return eg_cli_fail(rc);
    }
    return 0;
}

/* Takes a global option at argv[*i] if it is one; returns 1 if taken, 0 if not, -1 on error. */
static int take_global(eg_cli *cli, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        int has_arg;
    } globals[] = {{"--config", 1}, {"--profile", 1}, {"--store", 1}, {"--source", 1},
                   {"--now", 1},    {"--json", 0},    {"--quiet", 0}, {"--verbose", 0}};
    const char *a = argv[*i], *val = NULL;
    if (a[0] == '-' && a[1] && strspn(a + 1, "qv") == strlen(a + 1)) { /* -q, -v, -qv, -vv */
        for (const char *p = a + 1; *p; p++)
            if (*p == 'q')
                cli->quiet = true;
            else
                cli->verbose++;
        return 1;
    }
    for (size_t g = 0; g < sizeof globals / sizeof globals[0]; g++) {
        size_t n = strlen(globals[g].name);
        if (strncmp(a, globals[g].name, n) || (a[n] != '\0' && a[n] != '='))
            continue;
        if (globals[g].has_arg) {
            if (a[n] == '=')
                val = a + n + 1;
            else if (*i + 1 < argc)
                val = argv[++*i];
            else {
                fprintf(stderr, "engram: option %s needs a value\n", globals[g].name);
                return -1;
            }
        } else if (a[n] == '=') {
            fprintf(stderr, "engram: option %s takes no value\n", globals[g].name);
            return -1;
        }
        switch (g) {
        case 0:
            cli->cargs.config_file = val;
            break;
        case 1:
            cli->cargs.profile = val;
            break;
        case 2:
            cli->cargs.store = val;
            break;
        case 3:
            cli->cargs.source = val;
            break;
        case 4:
            cli->now_text = val;
            break;
        case 5:
            cli->json = true;
            break;
        case 6:
            cli->quiet = true;
            break;
        case 7:
            cli->verbose++;
            break;
        }
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    eg_cli cli = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, code = 2;
    const eg_command *cmd = NULL;
    bool help = false;
    if (!rest)
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < argc)
                rest[nrest++] = argv[i++];
            break;
        }
        int t = take_global(&cli, argc, argv, &i);
        if (t < 0)
            goto done;
        if (t)
            continue;
        if (!cmd && argv[i][0] != '-') {
            for (size_t c = 0; c < NCOMMANDS; c++)
                if (!strcmp(argv[i], commands[c]->name))
                    cmd = commands[c];
            if (!cmd) {
                const char *names[NCOMMANDS];
                for (size_t c = 0; c < NCOMMANDS; c++)
                    names[c] = commands[c]->name;
                const char *near = eg_suggest(argv[i], names, NCOMMANDS, sizeof names[0]);
                fprintf(stderr, "engram: unknown command \"%s\"\n", argv[i]);
                if (near)
                    fprintf(stderr, "Did you mean `engram %s`?\n", near);
                fprintf(stderr, "Try `engram --help`.\n");
                goto done;
            }
            continue;
        }
        if (!cmd && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
            help = true;
            continue;
        }
        if (!strcmp(argv[i], "--version")) { /* a global option: anywhere, as --help says */
            printf("engram %s\n", ENGRAM_VERSION);
            code = 0;
            goto done;
        }
        if (!cmd) {
            fprintf(stderr, "engram: unknown option \"%s\"\nTry `engram --help`.\n", argv[i]);
            goto done;
        }
        rest[nrest++] = argv[i];
    }
    if (!cmd) {
        usage(help ? stdout : stderr);
        code = help ? 0 : 2;
        goto done;
    }
    if (help)
        rest[nrest++] = "--help";
    eg_log_set_level(cli.quiet ? EG_LOG_ERROR : EG_LOG_WARN + cli.verbose);
    if (cli.now_text) {
        if (eg_time_parse(cli.now_text, (size_t)-1, &cli.now)) {
            fprintf(stderr,
                    "engram: --now \"%s\" is not an ISO 8601 time (e.g. 2026-05-01T12:00:00Z)\n",
                    cli.now_text);
            goto done;
        }
        cli.now_given = true;
    } else {
        cli.now = eg_time_now();
    }
    /* the command sees argv[0] = its name, then its own arguments */
    memmove(rest + 1, rest, (size_t)nrest * sizeof *rest);
    rest[0] = (char *)cmd->name;
    nrest++;
    rest[nrest] = NULL;
    code = cmd->run(&cli, nrest, rest);
done:
    free(rest);
    return code;
}
