/*
 * http.c — `engram serve` (SPEC §12): libmicrohttpd with a thread per connection, each request
 * answered in one call of the handler, made when the request is complete (so that the connection
 * stays open for the next one: HTTP/1.1 keep-alive).
 *
 * Isolation: every request opens its own SQLite connection (read-only unless it must write) and
 * reads inside one BEGIN … COMMIT, so in WAL mode it sees the last committed run and never half
 * of one. Limits: 64 connections (so at most 64 threads), 32 per IP, a 10 s idle timeout; a slow
 * client, or a request that waits (for the store's lock, for a PostgreSQL source that does not
 * answer), holds its own connection's thread, never another's. Answers are JSON (or
 * text for /metrics, HTML for /); errors never carry internals — the detail goes to the log.
 * Owns: the daemon, the signal wait and the graceful stop. Not for: rendering (metrics.c,
 * dashboard.c, recall.c).
 */
#include "monitor/http.h"

#include "engram/error.h"
#include "engram/health.h"
#include "engram/recall.h"
#include "monitor/metrics.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#if defined(__has_include)
#if __has_include("monitor/dashboard.h")
#include "monitor/dashboard.h"
#define EG_HAVE_DASHBOARD 1
#endif
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* 32, not 16: a closed connection is released by its thread a moment after the client
 * sees the answer, so 16 clients that reconnect at once would race a limit of exactly 16 and be
 * refused now and then (seen as curl exit 52/56 in tests/e2e/test_serve.sh). */
enum { PER_IP_LIMIT = 32 };

/* The longest a request waits for another engram's write lock (a rehearsal, /health's history):
 * a daily run at 1M holds it about 1.4 s; a client is better answered 503 with Retry-After than
 * kept waiting the store's 10 s, holding a connection (64 in all) meanwhile. */
enum { WRITE_WAIT_MS = 2000 };

/* On SIGINT/SIGTERM the requests in progress get this long to finish and send their answers
 * (a read that waits out a first load's lock takes 10 s); under systemd's TimeoutStopSec=15 of
 * packaging/engram.service. */
enum { STOP_GRACE_S = 11 };

typedef struct server {
    const eg_config *cfg;
    const eg_http_opts *o;
    atomic_int inflight;  /* requests from their last header to the end of their answer */
    atomic_bool stopping; /* a stop signal came: answers close their connection */
} server;

/* What one request answers; route is a fixed name for metrics and the log. */
typedef struct reply {
    const char *route;
    int code;
    const char *type;
    int retry_after; /* seconds for a Retry-After header; 0: none */
    eg_buf body;
} reply;

static int64_t clock_of(const server *sv)
{
    return sv->o->now_given ? sv->o->now : eg_time_now();
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets the answer to v (consumed). v may be NULL when building it failed (out of memory, or
 * text that is not UTF-8, which jansson refuses): that is a genuine 500, logged and counted like
 * every other. */
static void set_json(reply *r, int code, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    eg_buf_reset(&r->body);
    r->type = "application/json";
    /* reals in their shortest exact form, as the CLI's --json writes them (eg_cli_json) */
    if (!text || eg_buf_json_reals(&r->body, text) || eg_buf_putc(&r->body, '\n')) {
        eg_log(EG_LOG_ERROR, "serve: %s: could not build the JSON answer (status %d)", r->route,
               code);
        eg_metrics_count_error();
        r->code = 500;
        eg_buf_reset(&r->body);
        eg_buf_puts(&r->body, "{\"error\":\"internal error\"}\n");
    } else {
        r->code = code;
    }
    free(text);
}

static void set_text_json(reply *r, int code, const char *text)
{
    eg_buf_reset(&r->body);
    r->type = "application/json";
    r->code = code;
    if (eg_buf_puts(&r->body, text) || eg_buf_putc(&r->body, '\n'))
        set_json(r, 500, NULL);
}

/* A JSON string of text a client sent (a path, an id): jansson refuses text that is not UTF-8,
 * so such text is echoed with U+FFFD in place of the bad bytes (eg_buf_json_str's rule). */
static json_t *client_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    eg_buf b;
    eg_buf_init(&b, 0);
    if (!eg_buf_json_str(&b, s, strlen(s)))
        j = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
    eg_buf_free(&b);
    return j;
}

/* A failure inside: the detail goes to the log, the client gets no internals. */
static void internal_error(reply *r, const char *what)
{
    const eg_error *e = eg_error_last();
    eg_log(EG_LOG_ERROR, "serve: %s %s: %s", r->route, what,
           e->code ? e->message : "unknown error");
    eg_metrics_count_error();
    set_json(r, 500, json_pack("{s:s}", "error", "internal error"));
}

static const char busy_hint[] = "another engram (a run, an import) is writing the store; nothing "
                                "was recorded: try again in a few seconds";

/* The store's lock was held past the busy timeout (EG_EBUSY: an `engram run` or an import is
 * writing, or a first load holds the store): a temporary state, not a failure inside. 503 with
 * Retry-After, so that a client retries rather than reporting an internal error. */
static void store_busy(reply *r)
{
    eg_log(EG_LOG_WARN, "serve: %s: store busy: %s", r->route, eg_error_last()->message);
    eg_metrics_count_error();
    set_json(r, 503, json_pack("{s:s,s:s}", "error", "store busy", "hint", busy_hint));
    r->retry_after = 5;
}

/* The store could not be opened or read: 503 with the store layer's message and hint, which
 * name the store and say what to do, as /readyz and every command say them ("store \"X\" does
 * not exist" and `engram init` to create it, a schema to migrate, a folder that must be
 * writable). A bare "store unavailable" left the client to guess which store and why (a typo in
 * --store looked like an outage); the store is a path, never a credential. */
static void store_unavailable(reply *r)
{
    const eg_error *e = eg_error_last();
    if (e->code == EG_EBUSY) {
        store_busy(r);
        return;
    }
    eg_log(EG_LOG_WARN, "serve: %s: store unavailable: %s", r->route,
           e->code ? e->message : "unknown error");
    eg_metrics_count_error();
    set_json(r, 503,
             json_pack("{s:s,s:o*,s:o*,s:o*}", "error", "store unavailable", "reason",
                       e->code ? client_text(e->message) : NULL, "detail",
                       e->code && e->detail[0] ? client_text(e->detail) : NULL, "hint",
                       e->code && e->hint[0] ? client_text(e->hint) : NULL));
}

/* Opens the store for one request; read-only unless writable. */
static int open_store(const server *sv, bool writable, eg_store **st)
{
    eg_error_clear();
    return eg_store_open(st, sv->cfg->store, writable ? 0 : EG_STORE_READONLY);
}

static int begin_read(eg_store *st)
{
    return eg_store_exec(st, "BEGIN");
}

static void end_read(eg_store *st)
{
    eg_store_exec(st, "COMMIT");
}

static void route_readyz(const server *sv, reply *r)
{
    eg_store *st = NULL;
    if (open_store(sv, false, &st)) {
        const eg_error *e = eg_error_last();
        set_json(r, 503,
                 json_pack("{s:s,s:s}", "status", "not ready", "reason",
                           e->code ? e->message : "the store could not be opened"));
        return;
    }
    int v = eg_store_schema_version(st);
    if (v <= 0)
        set_json(
            r, 503,
            json_pack("{s:s,s:s}", "status", "not ready", "reason", "the store has no schema"));
    else
        set_json(r, 200, json_pack("{s:s,s:i}", "status", "ready", "schema_version", v));
    eg_store_close(st);
}

static void route_health(const server *sv, bool head, reply *r)
{
    eg_health_report *rep = calloc(1, sizeof *rep);
    /* waits for a writer no longer than a rehearsal does (route_recall): the history is
     * appended when the store is free, and a long run must not hold a worker for 10 s; a
     * probe every few seconds records at most every health.record_interval, a HEAD never */
    if (!rep || eg_health_run_wait(sv->cfg, clock_of(sv), WRITE_WAIT_MS,
                                   head ? -1 : sv->cfg->health_record_interval, rep)) {
        free(rep);
        internal_error(r, "health");
        return;
    }
    /* OK and WARNING serve traffic; CRITICAL and UNKNOWN tell a load balancer to look */
    int code = rep->status == EG_HEALTH_OK || rep->status == EG_HEALTH_WARNING ? 200 : 503;
    set_json(r, code, eg_health_report_json(rep));
    free(rep);
}

static void route_metrics(const server *sv, reply *r)
{
    eg_store *st = NULL;
    if (open_store(sv, false, &st) || begin_read(st)) {
        eg_log(EG_LOG_WARN, "serve: /metrics: store unavailable: %s", eg_error_last()->message);
        eg_store_close(st);
        st = NULL;
        eg_metrics_count_error();
    }
    eg_buf_reset(&r->body);
    int rc = eg_metrics_render(st, clock_of(sv), &r->body);
    if (st)
        end_read(st);
    eg_store_close(st);
    if (rc) {
        internal_error(r, "metrics");
        return;
    }
    r->code = 200;
    r->type = "text/plain; version=0.0.4; charset=utf-8";
}

static void route_stats(const server *sv, reply *r)
{
    eg_store *st = NULL;
    json_t *s = NULL;
    if (open_store(sv, false, &st) || begin_read(st)) {
        store_unavailable(r);
        eg_store_close(st);
        return;
    }
    int rc = eg_store_stats(st, &s);
    end_read(st);
    eg_store_close(st);
    if (rc) {
        json_decref(s);
        internal_error(r, "stats");
        return;
    }
    set_json(r, 200, s);
}

/* rehearse=: 1/true/yes or 0/false/no (any case); -1 for anything else. */
static int parse_flag(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes"}, *const no[] = {"0", "false", "no"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(v, yes[i]))
            return 1;
        if (!strcasecmp(v, no[i]))
            return 0;
    }
    return -1;
}

/* HEAD answers as GET would but changes nothing: only a GET rehearses. */
static void route_recall(const server *sv, struct MHD_Connection *c, bool head, reply *r)
{
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    const char *ks = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
    const char *re = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "rehearse");
    eg_recall_opts o = {.at = clock_of(sv), .k = 10};
    eg_store *st = NULL;
    eg_recaller *rc = NULL;
    eg_recall_result res = {0};
    bool in_tx = false;
    double t0 = mono();
    if (!q || !q[strspn(q, " \t\r\n")]) {
        set_json(r, 400, json_pack("{s:s}", "error", "give a query: /api/recall?q=TEXT"));
        return;
    }
    if (re) {
        int f = parse_flag(re);
        if (f < 0) {
            set_json(r, 400,
                     json_pack("{s:s}", "error", "rehearse must be 1, true, yes, 0, false or no"));
            return;
        }
        o.rehearse = f == 1 && !head;
    }
    if (ks) {
        char *end = NULL;
        long k = strtol(ks, &end, 10);
        if (!*ks || *end || k < 1 || k > 1000) {
            set_json(r, 400, json_pack("{s:s}", "error", "k must be a whole number 1..1000"));
            return;
        }
        o.k = (int)k;
    }
    if (open_store(sv, o.rehearse, &st)) {
        store_unavailable(r);
        return;
    }
    /* a rehearsal waits WRITE_WAIT_MS for a writer, not the store's 10 s; the client retries
     * on the 503 */
    if (o.rehearse)
        eg_store_set_busy_timeout(st, WRITE_WAIT_MS);
    if (eg_recaller_open(&rc, st, sv->cfg)) {
        internal_error(r, "recall");
        goto done;
    }
    /* a rehearsal writes in its own transaction; a plain recall reads in one */
    if (!o.rehearse) {
        if (begin_read(st)) {
            store_unavailable(r);
            goto done;
        }
        in_tx = true;
    }
    int err = eg_recall(rc, q, &o, &res);
    if (in_tx)
        end_read(st);
    if (err == EG_EUSAGE) {
        set_json(r, 400, json_pack("{s:s}", "error", "the query is empty"));
    } else if (err == EG_EBUSY) {
        store_busy(r);
    } else if (err && eg__store_refused()) {
        /* a rehearsal the store could not record (a full disk, a store this user cannot write):
         * the store's state, named in the reason and hint, not a failure inside (500) */
        store_unavailable(r);
    } else if (err) {
        internal_error(r, "recall");
    } else {
        char *text = eg_recall_result_json(&res, q);
        if (text)
            set_text_json(r, 200, text);
        else
            internal_error(r, "recall");
        free(text);
        eg_metrics_observe_recall(mono() - t0);
    }
done:
    eg_recall_result_free(&res);
    eg_recaller_close(rc);
    eg_store_close(st);
}

static void route_trace(const server *sv, const char *id, reply *r)
{
    eg_store *st = NULL;
    char *text = NULL;
    if (!*id) {
        set_json(r, 400, json_pack("{s:s}", "error", "give a memory id: /api/trace/ID"));
        return;
    }
    if (open_store(sv, false, &st) || begin_read(st)) {
        store_unavailable(r);
        eg_store_close(st);
        return;
    }
    int err = eg_trace(st, sv->cfg, id, clock_of(sv), &text);
    end_read(st);
    eg_store_close(st);
    if (err == EG_ENOTFOUND)
        set_json(r, 404,
                 json_pack("{s:s,s:o*}", "error", "not found", "memory_id", client_text(id)));
    else if (err)
        internal_error(r, "trace");
    else
        set_text_json(r, 200, text);
    free(text);
}

static void route_index(const server *sv, reply *r)
{
#ifdef EG_HAVE_DASHBOARD
    eg_store *st = NULL;
    if (open_store(sv, false, &st)) {
        /* a browser asked for a page: the reason as a page, not as JSON */
        const eg_error *e = eg_error_last();
        bool busy = e->code == EG_EBUSY;
        store_unavailable(r);
        eg_buf_reset(&r->body);
        if (eg_dashboard_render_unavailable(busy ? "store busy" : "store unavailable",
                                            busy ? NULL : e->message, busy ? busy_hint : e->hint,
                                            &r->body)) {
            internal_error(r, "dashboard");
            return;
        }
        r->type = "text/html; charset=utf-8";
        return;
    }
    eg_buf_reset(&r->body);
    int rc = eg_dashboard_render(st, sv->cfg, clock_of(sv), &r->body);
    eg_store_close(st);
    if (rc) {
        internal_error(r, "dashboard");
        return;
    }
#else
    (void)sv;
    eg_buf_reset(&r->body);
    if (eg_buf_puts(&r->body, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                              "<title>engram</title></head><body><h1>engram</h1><ul>"
                              "<li><a href=\"/health\">/health</a></li>"
                              "<li><a href=\"/metrics\">/metrics</a></li>"
                              "<li><a href=\"/api/stats\">/api/stats</a></li>"
                              "</ul></body></html>\n")) {
        internal_error(r, "index");
        return;
    }
#endif
    r->code = 200;
    r->type = "text/html; charset=utf-8";
}

static void dispatch(const server *sv, struct MHD_Connection *c, const char *method,
                     const char *url, reply *r)
{
    if (!strcmp(url, "/healthz")) {
        r->route = "/healthz";
        set_json(r, 200, json_pack("{s:s}", "status", "ok"));
    } else if (!strcmp(url, "/readyz")) {
        r->route = "/readyz";
        route_readyz(sv, r);
    } else if (!strcmp(url, "/health")) {
        r->route = "/health";
        route_health(sv, !strcmp(method, MHD_HTTP_METHOD_HEAD), r);
    } else if (!strcmp(url, "/metrics")) {
        r->route = "/metrics";
        route_metrics(sv, r);
    } else if (!strcmp(url, "/api/stats")) {
        r->route = "/api/stats";
        route_stats(sv, r);
    } else if (!strcmp(url, "/api/recall")) {
        r->route = "/api/recall";
        route_recall(sv, c, !strcmp(method, MHD_HTTP_METHOD_HEAD), r);
    } else if (!strncmp(url, "/api/trace/", 11)) {
        r->route = "/api/trace";
        route_trace(sv, url + 11, r);
    } else if (!strcmp(url, "/")) {
        r->route = "/";
        route_index(sv, r);
    } else {
        r->route = "other";
        set_json(r, 404, json_pack("{s:s,s:o*}", "error", "not found", "path", client_text(url)));
    }
}

/* True for the valid UTF-8 character u[0..len) when it could break a log line or disguise one:
 * the C1 controls U+0080..U+009F (U+0085 ends a line for many readers, U+009B is a terminal's
 * CSI), the separators U+2028 and U+2029 (line breaks to Python's splitlines, JavaScript, many
 * viewers) and the bidirectional embeddings, overrides and isolates U+202A..U+202E and
 * U+2066..U+2069, which reorder what a terminal shows after them. */
static bool log_unsafe(const unsigned char *u, size_t len)
{
    if (len == 2)
        return u[0] == 0xc2 && u[1] < 0xa0;
    if (len == 3 && u[0] == 0xe2 && u[1] == 0x80)
        return u[2] >= 0xa8 && u[2] <= 0xae;
    if (len == 3 && u[0] == 0xe2 && u[1] == 0x81)
        return u[2] >= 0xa6 && u[2] <= 0xa9;
    return false;
}

/* Appends s for a log line: control bytes, backslashes, bytes that are not UTF-8 and the
 * characters of log_unsafe as \xHH (each byte), so that a client cannot break, forge or disguise
 * a line (a path may hold %0A, %C2%85 or %E2%80%AE) nor write raw bytes into the log. Truncated
 * at 1 KiB. */
static void log_text(eg_buf *b, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n && b->len < 1024) {
        unsigned char ch = (unsigned char)s[i];
        size_t skip = 1, len = ch < 0x80 ? 1 : eg_utf8_seq(s + i, n - i, &skip);
        if (ch >= 0x20 && ch != 0x7f && ch != '\\' && len &&
            !log_unsafe((const unsigned char *)s + i, len)) {
            eg_buf_append(b, s + i, len);
            i += len;
        } else {
            for (size_t k = 0; k < (len ? len : skip); k++)
                eg_buf_printf(b, "\\x%02x", (unsigned char)s[i + k]);
            i += len ? len : skip;
        }
    }
    if (i < n)
        eg_buf_puts(b, "...");
}

static void access_log(struct MHD_Connection *c, const char *method, const char *url,
                       const reply *r, double ms)
{
    char ip[INET6_ADDRSTRLEN] = "-";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    }
    char at[EG_TIME_BUFSZ];
    eg_buf m, u;
    eg_buf_init(&m, 4096);
    eg_buf_init(&u, 4096);
    log_text(&m, method);
    log_text(&u, url);
    /* the path only: query strings may hold what users typed, and they are not needed here */
    fprintf(stderr, "%s %s %s %s %d %zu %.1fms\n", eg_time_format(eg_time_now(), at), ip,
            m.data ? m.data : "", u.data ? u.data : "", r->code, r->body.len, ms);
    eg_buf_free(&m);
    eg_buf_free(&u);
}

/* Sent with the dashboard: it loads nothing (inline CSS and SVG, an inline empty icon) and runs
 * no script, so the policy allows nothing else. Defence in depth: every text from the store is
 * HTML-escaped (dashboard.c), and if one escape were ever missed, an injected script, handler,
 * frame or form would still be inert. */
static const char dashboard_csp[] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* libmicrohttpd hands the handler the path and the query arguments percent-decoded, as C
 * strings: a NUL encoded as %00 would end them early, so /api/trace/a%00b would answer for the
 * id "a", /healthz%00x would be /healthz and rehearse=1%00x would rehearse. No id, path or
 * argument holds a NUL (import refuses them), so such a request is refused with 400. This
 * callback sees the request line's URI before it is decoded; what it returns becomes the
 * request's *req_cls: one of the marks below, which also tell handle() whether it has seen the
 * request before. */
enum { URI_PLAIN, URI_NUL, SEEN_PLAIN, SEEN_NUL };
static const char marks[4];

static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    for (const char *p = strchr(uri, '%'); p; p = strchr(p + 1, '%'))
        if (p[1] == '0' && p[2] == '0')
            return (void *)&marks[URI_NUL];
    return (void *)&marks[URI_PLAIN];
}

/* libmicrohttpd calls this once for each request whose request line reached uri_seen, when its
 * answer has been sent or its connection closed. A request that reached handle() (its headers
 * all came) counts in inflight until then: the graceful stop waits for these, and not for a
 * client still sending its headers (a slow client would otherwise hold the stop for its whole
 * grace). */
static void request_done(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *sv = cls;
    (void)c;
    (void)toe;
    if (*req_cls == &marks[SEEN_PLAIN] || *req_cls == &marks[SEEN_NUL])
        atomic_fetch_sub(&sv->inflight, 1);
}

/* libmicrohttpd answers some requests itself, before they reach handle(): a request line over
 * its buffer (414), headers over it (431), a malformed request (400), an HTTP version other than
 * 1.0 and 1.1 (505). Its only trace of such an answer is its error log, one message
 * "Error processing request (HTTP response code is %u ..." each (every version since 0.9, before
 * it queues the answer), so the log callback counts them in engram_http_requests_total under
 * the route "other", as engram's own answers before routing (400, 405); without it they were
 * missing from the counter. libmicrohttpd's messages are written to stderr only with
 * --verbose, as before. */
static const char mhd_answer_prefix[] = "Error processing request (HTTP response code is %u";

static void mhd_log(void *cls, const char *fm, va_list ap)
{
    const server *sv = cls;
    if (!strncmp(fm, mhd_answer_prefix, sizeof mhd_answer_prefix - 1)) {
        va_list code_ap;
        va_copy(code_ap, ap);
        unsigned code = va_arg(code_ap, unsigned);
        va_end(code_ap);
        eg_metrics_count_request("other", (int)code);
    }
    if (sv->o->verbose)
        vfprintf(stderr, fm, ap);
}

/* True when the request announces a body: a Content-Length other than 0, or a
 * Transfer-Encoding (chunked). */
static bool has_body(struct MHD_Connection *c)
{
    const char *len =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return true;
    return len && len[strspn(len, " \t0")] != '\0';
}

/* The path of a request target in absolute form ("http://host:port/health", as a proxy sends
 * it; RFC 9112, 3.2.2: a server must accept it): "/health"; "/" when it has none
 * ("http://host:port"); any other target as it is. The query is not lost: libmicrohttpd splits
 * it off at the first '?' before the handler and parses it into the arguments, so url never
 * holds one (http://host:port?q=x is "/" with the argument q, RFC 9112's "/?q=x"); a '?' found
 * here is a decoded %3F. */
static const char *origin_form(const char *url)
{
    const char *p = !strncasecmp(url, "http://", 7)    ? url + 7
                    : !strncasecmp(url, "https://", 8) ? url + 8
                                                       : NULL;
    if (!p)
        return url;
    p += strcspn(p, "/?");
    return *p == '/' ? p : "/";
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    const server *sv = cls;
    reply r = {.route = "other", .code = 500, .type = "application/json"};
    double t0 = mono();
    (void)upload;
    bool allowed = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    /* libmicrohttpd calls this first when the headers are in, then for each piece of a body,
     * then once more when the request is complete. An answer queued at the first call is an
     * "early" one: libmicrohttpd then reads nothing more of the connection and closes it after
     * the answer (Connection: close), so every scraper, browser or curl with several URLs had
     * to reconnect for each request. A GET or HEAD is therefore answered at its last call, and
     * the connection stays open (HTTP/1.1 keep-alive). Another method, or a request with a
     * body (which no route reads), is answered at once: the connection then closes without
     * reading the body (libmicrohttpd refuses an answer queued while a body comes in). */
    if (*req_cls == &marks[URI_PLAIN] || *req_cls == &marks[URI_NUL]) { /* the first call */
        atomic_fetch_add(&((server *)cls)->inflight, 1);                /* until request_done */
        *req_cls = (void *)&marks[*req_cls == &marks[URI_NUL] ? SEEN_NUL : SEEN_PLAIN];
        if (allowed && !has_body(c))
            return MHD_YES;
    } else if (*upload_size) { /* not reached: a request with a body is answered first */
        *upload_size = 0;
        return MHD_YES;
    }
    eg_buf_init(&r.body, 64u << 20);
    bool nul = *req_cls == &marks[SEEN_NUL];
    if (!allowed) {
        r.route = "other";
        set_json(&r, 405,
                 json_pack("{s:s,s:s}", "error", "method not allowed", "allow", "GET, HEAD"));
    } else if (nul) {
        r.route = "other";
        set_json(&r, 400,
                 json_pack("{s:s}", "error", "the URL holds an encoded NUL character (%00)"));
    } else if (!strcmp(version, MHD_HTTP_VERSION_1_1) &&
               !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)) {
        r.route = "other"; /* RFC 9112, 3.2: a server must answer 400 */
        set_json(&r, 400, json_pack("{s:s}", "error", "an HTTP/1.1 request needs a Host header"));
    } else {
        dispatch(sv, c, method, origin_form(url), &r);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r.body.len, r.body.len ? r.body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret = MHD_NO;
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        /* JSON that echoes a client's text (a path, an id, a query) is never read as HTML */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
        if (!strncmp(r.type, "text/html", 9))
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, dashboard_csp);
        if (r.code == 405)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        /* stopping: no further request on this connection (the stop waits for answers) */
        if (atomic_load(&((server *)cls)->stopping))
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        if (r.retry_after > 0) {
            char secs[16];
            snprintf(secs, sizeof secs, "%d", r.retry_after);
            MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        }
        ret = MHD_queue_response(c, (unsigned)r.code, resp);
        MHD_destroy_response(resp);
    }
    eg_metrics_count_request(r.route, r.code);
    if (sv->o->verbose)
        access_log(c, method, url, &r, (mono() - t0) * 1e3);
    eg_buf_free(&r.body);
    return ret;
}

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (all interfaces) into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || (size_t)(colon - listen) >= sizeof host)
        return eg_error_set(EG_EUSAGE, "bad --listen \"%s\": expected ADDR:PORT", listen);
    size_t hl = (size_t)(colon - listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return eg_error_set(EG_EUSAGE, "bad --listen \"%s\": the port must be 1..65535", listen);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    int g = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (g || !ai)
        return eg_error_set(EG_EUSAGE, "bad --listen \"%s\": %s", listen, gai_strerror(g));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
}

/* Binds and listens on ss itself, so that a failure says why (the port in use, a port below 1024
 * without the privilege, an address that is not this machine's): libmicrohttpd only returns NULL.
 * The socket gets libmicrohttpd's own options: SO_REUSEADDR (a restart need not wait out the
 * old connections' TIME_WAIT), IPv6 only for an IPv6 address, non-blocking (the pool's workers
 * all accept on it). */
static int open_listener(const struct sockaddr_storage *ss, const char *where, int *out)
{
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int one = 1, fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ss->ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (!bind(fd, (const struct sockaddr *)ss, len) && !listen(fd, SOMAXCONN)) {
            *out = fd;
            return 0;
        }
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    int rc = eg_error_set(EG_EIO, "could not listen on %s: %s", where, strerror(e));
    if (e == EADDRINUSE)
        eg_error_hint("another program (another engram serve?) listens on that port: stop it, or "
                      "choose another port with --listen ADDR:PORT");
    else if (e == EACCES)
        eg_error_hint("a port below 1024 needs privileges: choose a port of 1024 or more with "
                      "--listen ADDR:PORT");
    else if (e == EADDRNOTAVAIL)
        eg_error_hint("the address is not one of this machine's: use 127.0.0.1, [::1] or the "
                      "address of a local interface");
    else
        eg_error_hint("choose another address with --listen ADDR:PORT");
    return rc;
}

/* The URL of the bound socket, with the address as numbers: "::1:8080", ":8080" and
 * "localhost:8080" are accepted by --listen but are not URLs (http://[::1]:8080/,
 * http://0.0.0.0:8080/, http://127.0.0.1:8080/ are). Falls back to the --listen text. */
static void bound_url(int fd, const char *listen, char *out, size_t n)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    char host[INET6_ADDRSTRLEN];
    bool got = getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    if (got && a.ss_family == AF_INET &&
        inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, host, sizeof host))
        snprintf(out, n, "http://%s:%u/", host, ntohs(((struct sockaddr_in *)&a)->sin_port));
    else if (got && a.ss_family == AF_INET6 &&
             inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, host, sizeof host))
        snprintf(out, n, "http://[%s]:%u/", host, ntohs(((struct sockaddr_in6 *)&a)->sin6_port));
    else
        snprintf(out, n, "http://%s/", listen);
}

int eg_http_serve(const eg_config *cfg, const eg_http_opts *o)
{
    const char *listen = o->listen ? o->listen : "127.0.0.1:8080";
    struct sockaddr_storage ss;
    bool v6 = false;
    int rc;
    int fd = -1;
    if ((rc = parse_listen(listen, &ss, &v6)) || (rc = open_listener(&ss, listen, &fd)))
        return rc;
    server sv = {.cfg = cfg, .o = o};
    atomic_init(&sv.inflight, 0);
    atomic_init(&sv.stopping, false);

    /* block the stop signals before the workers start, so that they inherit the mask and only
     * the sigwait below receives them. SIGHUP too: its default would end the server at once
     * (requests cut off, and a clean exit to systemd, so Restart=on-failure does not bring it
     * back) when a terminal closes or a log rotation sends it; there is nothing to reload (the
     * store is opened per request), so it is logged and the server goes on. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    signal(SIGPIPE, SIG_IGN);

    /* A thread per connection, not a pool of workers each serving many connections: a request
     * that waits (a read behind a first load's exclusive lock waits up to 10 s, /health for a
     * PostgreSQL source that does not answer up to its connect_timeout) held its worker, and
     * every connection that worker had accepted, /healthz too, waited with it (tests/e2e/
     * test_serve_http.sh). The connection limit bounds the threads; an idle or slow connection
     * costs a thread asleep in poll(). ITC: MHD_quiesce_daemon needs it (graceful stop below). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ITC;
    if (v6)
        flags |= MHD_USE_IPv6;
    flags |= MHD_USE_ERROR_LOG; /* to mhd_log, which prints it with --verbose only */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &sv,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)10, MHD_OPTION_URI_LOG_CALLBACK, uri_seen, &sv, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, &sv, MHD_OPTION_END);
    if (!d) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(fd);
        return eg_error_set(EG_EIO, "could not start the HTTP server on %s", listen);
    }
    char url[128];
    bound_url(fd, listen, url, sizeof url);
    fprintf(stderr, "engram: serving store %s on %s (stop with Ctrl-C or SIGTERM)\n", cfg->store,
            url);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP)
            fprintf(stderr, "engram: SIGHUP received: nothing to reload (the store is opened per "
                            "request; restart to apply a new configuration), still serving\n");
        sig = 0;
    }
    fprintf(stderr, "engram: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* Graceful: stop accepting, let the requests in progress finish and send their answers,
     * then stop. MHD_stop_daemon alone waits for the handlers but closes their connections
     * before the answers go out: a client saw an empty reply, even for a rehearsal that had
     * been recorded. */
    atomic_store(&sv.stopping, true);
    MHD_socket ls = MHD_quiesce_daemon(d);
    /* refuse new connections at once rather than leave them in the backlog until they time
     * out; the socket itself is closed only after MHD_stop_daemon (a worker may still hold it) */
    if (ls != MHD_INVALID_SOCKET)
        shutdown(ls, SHUT_RDWR);
    double deadline = mono() + STOP_GRACE_S;
    while (atomic_load(&sv.inflight) > 0 && mono() < deadline)
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    if (atomic_load(&sv.inflight) > 0)
        fprintf(stderr, "engram: %d request(s) still in progress after %d s: closing them\n",
                atomic_load(&sv.inflight), STOP_GRACE_S);
    MHD_stop_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls); /* the caller's after a quiesce, once the daemon is stopped */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
