/*
 * dashboard.c — renders the dashboard page of `engram serve` (SPEC §12) from the store.
 *
 * Every number on the page comes from one read transaction, so a page never mixes two runs; the
 * page depends only on the store and `now` (no wall clock), which keeps it testable. Charts are
 * inline SVG with their numbers as text; all text from the store is HTML-escaped here.
 * Not for: HTTP (monitor/http.c) or anything that writes.
 */
#include "monitor/dashboard.h"

#include "engram/error.h"
#include "store/migrations.h"
#include "store/store.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WEEK_US (7 * EG_USEC_PER_DAY)
#define MAX_WEEKS 53  /* the forgetting curve's last bucket holds everything older */
#define FRESH_DAYS 30 /* freshness looks back this many days before now */
#define HIST_BUCKETS 10
#define RUNS_SHOWN 10

/* Chart geometry (SVG user units; the SVG scales to its column). */
#define CW 560
#define CH 270
#define ML 58 /* left margin: y tick labels and the y axis title */
#define MR 16
#define MT 22
#define MB 52 /* bottom margin: x tick labels and the x axis title */

typedef struct dash {
    eg_store *st;
    sqlite3 *db;
    eg_buf *out;
    int64_t now;
    int brc; /* first failed append to out */
} dash;

static void emit_rc(dash *d, int rc)
{
    if (rc && !d->brc)
        d->brc = rc;
}

#define P(...) emit_rc(d, eg_buf_printf(d->out, __VA_ARGS__))
#define S(s) emit_rc(d, eg_buf_puts(d->out, (s)))

static int q_error(dash *d, const char *what)
{
    return eg_error_set(EG_ESTORE, "store \"%s\": dashboard: %s: %s", eg_store_path(d->st), what,
                        sqlite3_errmsg(d->db));
}

static int prep(dash *d, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(d->db, sql, -1, s, NULL) != SQLITE_OK)
        return q_error(d, "could not prepare a query");
    if (sqlite3_bind_parameter_count(*s) >= 1)
        sqlite3_bind_int64(*s, 1, d->now);
    return 0;
}

/* Runs a one-value query (?1 is now); NULL reads as 0. */
static int scalar(dash *d, const char *sql, int64_t *v)
{
    sqlite3_stmt *s = NULL;
    int rc = prep(d, sql, &s);
    if (rc)
        return rc;
    *v = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    else if (sqlite3_errcode(d->db) != SQLITE_DONE)
        rc = q_error(d, "could not read a count");
    sqlite3_finalize(s);
    return rc;
}

/* True for the bytes esc() copies as they are: printable ASCII other than the five it escapes,
 * tab and line breaks. */
static bool plain(unsigned char c)
{
    return (c >= 0x20 && c < 0x7f && !strchr("&<>\"'", c)) || c == '\t' || c == '\n' || c == '\r';
}

/* Appends s with &, <, >, " and ' escaped, and with U+FFFD in place of what a page declared
 * UTF-8 must not hold: bytes that are not UTF-8 (each maximal invalid subpart, eg_utf8_seq's
 * rule: a source path or an error message in Latin-1 reaches runs.error) and control characters
 * other than tab and line breaks (C0, DEL, C1: parse errors in HTML). NULL appends nothing. */
static void esc(dash *d, const char *s)
{
    static const char fffd[] = "\xef\xbf\xbd";
    if (!s)
        return;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && plain((unsigned char)s[run]))
            run++;
        if (run > i) {
            emit_rc(d, eg_buf_append(d->out, s + i, run - i));
            i = run;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        size_t skip = 1, len = 1;
        switch (c) {
        case '&':
            S("&amp;");
            break;
        case '<':
            S("&lt;");
            break;
        case '>':
            S("&gt;");
            break;
        case '"':
            S("&quot;");
            break;
        case '\'':
            S("&#39;");
            break;
        default:
            len = c < 0x80 ? 0 : eg_utf8_seq(s + i, n - i, &skip);
            if (len == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0)
                len = 0, skip = 2; /* a C1 control */
            if (len)
                emit_rc(d, eg_buf_append(d->out, s + i, len));
            else
                S(fffd);
        }
        i += len ? len : skip;
    }
}

/* "2026-11-20 00:00:00Z" (seconds are enough on a dashboard). */
static const char *fmt_time(int64_t us, char *buf)
{
    eg_time_format(us, buf);
    char *dot = strchr(buf, '.');
    if (dot) {
        dot[0] = 'Z';
        dot[1] = '\0';
    }
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
    return buf;
}

static void esc_time_col(dash *d, sqlite3_stmt *s, int col)
{
    char buf[EG_TIME_BUFSZ];
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        S("—");
    else
        esc(d, fmt_time(sqlite3_column_int64(s, col), buf));
}

/* A y-axis maximum for values up to v: four ticks of a round step (one significant digit). */
static double nice_max(double v)
{
    if (v <= 4)
        return 4;
    double q = v / 4, p = pow(10, floor(log10(q)));
    return 4 * ceil(q / p) * p;
}

static void fmt_tick(char *buf, size_t n, double v)
{
    if (v == floor(v))
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.2g", v);
}

/* Opens a chart: the <svg> with its id, accessible title, grid lines, y ticks up to ymax and
 * the two axis titles. */
static void chart_open(dash *d, const char *id, const char *title, const char *xlabel,
                       const char *ylabel, double ymax)
{
    P("<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
      "aria-labelledby=\"%s-t\" xmlns=\"http://www.w3.org/2000/svg\">\n",
      id, CW, CH, id);
    P("<title id=\"%s-t\">%s</title>\n", id, title);
    for (int i = 0; i <= 4; i++) {
        double y = MT + (CH - MT - MB) * (1 - i / 4.0);
        char tick[32];
        fmt_tick(tick, sizeof tick, ymax * i / 4.0);
        P("<line class=\"%s\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
          "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
          i ? "gl" : "axis", ML, CW - MR, y, y, ML - 6, y + 4, tick);
    }
    P("<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", ML, ML, MT, CH - MB);
    P("<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
      ML + (CW - ML - MR) / 2, CH - 10, xlabel);
    P("<text class=\"axis-title\" transform=\"translate(14 %d) rotate(-90)\" "
      "text-anchor=\"middle\">%s</text>\n",
      MT + (CH - MT - MB) / 2, ylabel);
}

/* Vertical bars with the value above each bar and a label under every `every`-th bar. */
static void vbars(dash *d, int n, const char *const *labels, const int64_t *v, int every,
                  const char *cls)
{
    int64_t max = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    double ymax = nice_max((double)max), pw = CW - ML - MR, ph = CH - MT - MB;
    double slot = pw / n, bw = slot * 0.78;
    for (int i = 0; i < n; i++) {
        double h = ph * (double)v[i] / ymax;
        double x = ML + slot * i + (slot - bw) / 2, y = MT + ph - h;
        P("<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
          "<title>%s: %lld</title></rect>\n",
          cls, x, y, bw, h, labels[i], (long long)v[i]);
        if (v[i] || n <= 12)
            P("<text class=\"val\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>\n",
              x + bw / 2, y - 4, (long long)v[i]);
        if (i % every == 0)
            P("<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
              x + bw / 2, CH - MB + 16, labels[i]);
    }
}

/* ---- the sections ---- */

static int header(dash *d)
{
    sqlite3_stmt *s = NULL;
    int64_t total, staged, skipped, ltm, episodes, concepts, quarantined, cp;
    char t[EG_TIME_BUFSZ];
    int rc;
    if ((rc = scalar(d, "SELECT count(*) FROM memory", &total)) ||
        (rc = scalar(d, "SELECT count(*) FROM memory WHERE status = 'staged'", &staged)) ||
        (rc = scalar(d, "SELECT count(*) FROM memory WHERE status = 'skipped'", &skipped)) ||
        (rc = scalar(d, "SELECT count(*) FROM ltm_record", &ltm)) ||
        (rc = scalar(d, "SELECT count(*) FROM episode", &episodes)) ||
        (rc = scalar(d, "SELECT count(*) FROM concept", &concepts)) ||
        (rc = scalar(d, "SELECT count(*) FROM quarantine", &quarantined)) ||
        (rc = scalar(d,
                     "SELECT coalesce((SELECT value FROM sim_state WHERE key = 'checkpoint'), -1)",
                     &cp)))
        return rc;
    S("<header>\n<h1>engram</h1>\n<dl class=\"facts\">\n<dt>store</dt><dd><code>");
    esc(d, eg_store_path(d->st));
    P("</code></dd>\n<dt>now</dt><dd>%s</dd>\n", fmt_time(d->now, t));
    P("<dt>checkpoint</dt><dd id=\"checkpoint\">%s</dd>\n", cp < 0 ? "none" : fmt_time(cp, t));
    if ((rc = prep(d,
                   "SELECT run_id, command, finished_at, started_at, outcome FROM runs "
                   "ORDER BY run_id DESC LIMIT 1",
                   &s)))
        return rc;
    S("<dt>last run</dt><dd id=\"last-run\">");
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *outcome = (const char *)sqlite3_column_text(s, 4);
        P("#%lld ", (long long)sqlite3_column_int64(s, 0));
        esc(d, (const char *)sqlite3_column_text(s, 1));
        S(" · ");
        esc_time_col(d, s, sqlite3_column_type(s, 2) == SQLITE_NULL ? 3 : 2);
        S(" · <span class=\"badge ");
        S(!outcome                      ? "bad"
          : !strcmp(outcome, "ok")      ? "ok"
          : !strcmp(outcome, "running") ? "run"
                                        : "bad");
        S("\">");
        esc(d, outcome);
        S("</span>");
    } else {
        S("none yet");
    }
    sqlite3_finalize(s);
    S("</dd>\n</dl>\n</header>\n<section class=\"totals\">\n");
    const struct {
        const char *name;
        int64_t v;
    } cards[] = {{"memories", total},         {"staged", staged},     {"skipped", skipped},
                 {"long-term", ltm},          {"episodes", episodes}, {"concepts", concepts},
                 {"quarantined", quarantined}};
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++)
        P("<div class=\"card\"><div class=\"num\">%lld</div><div class=\"lbl\">%s</div></div>\n",
          (long long)cards[i].v, cards[i].name);
    S("</section>\n");
    return 0;
}

static int funnel(dash *d)
{
    int64_t staged, wm, stm, cons, forgotten, unattended, in_wm, in_stm, skipped;
    int rc;
    if ((rc = scalar(d, "SELECT count(*) FROM memory WHERE status = 'staged'", &staged)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE wm_ticks > 0", &wm)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE encoded_at IS NOT NULL", &stm)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE status = 'consolidated'", &cons)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE status = 'forgotten'", &forgotten)) ||
        (rc =
             scalar(d, "SELECT count(*) FROM pipeline WHERE status = 'unattended'", &unattended)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE status = 'in_wm'", &in_wm)) ||
        (rc = scalar(d, "SELECT count(*) FROM pipeline WHERE status = 'in_stm'", &in_stm)) ||
        (rc = scalar(d, "SELECT count(*) FROM memory WHERE status = 'skipped'", &skipped)))
        return rc;
    const struct {
        const char *name;
        int64_t v;
    } main_[] = {{"staged", staged},
                 {"working memory", wm},
                 {"short-term", stm},
                 {"consolidated", cons}},
      side[] = {{"forgotten", forgotten},
                {"unattended", unattended},
                {"still in WM", in_wm},
                {"in short-term", in_stm},
                {"skipped", skipped}};
    const int x0 = 124, x1 = 310, sx = 414, rowh = 46, top = MT + 6;
    double max = staged > 0 ? (double)staged : 1;
    for (int i = 0; i < 4; i++)
        if ((double)main_[i].v > max)
            max = (double)main_[i].v;
    S("<div class=\"panel\">\n<h2>Stage funnel</h2>\n"
      "<p class=\"sub\">memories reaching each stage of the pipeline (SPEC §7); share of "
      "staged</p>\n");
    P("<svg id=\"funnel\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
      "aria-labelledby=\"funnel-t\" xmlns=\"http://www.w3.org/2000/svg\">\n"
      "<title id=\"funnel-t\">Stage funnel</title>\n",
      CW, CH);
    for (int i = 0; i < 4; i++) {
        double w = (x1 - x0) * (double)main_[i].v / max, y = top + i * rowh;
        double pct = staged > 0 ? 100.0 * (double)main_[i].v / (double)staged : 0;
        P("<text class=\"lbl\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0 - 8, y + 19,
          main_[i].name);
        P("<rect class=\"bar s%d\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"28\" rx=\"3\">"
          "<title>%s: %lld</title></rect>\n",
          i, x0, y, w < 1 && main_[i].v ? 1 : w, main_[i].name, (long long)main_[i].v);
        P("<text class=\"val\" x=\"%.1f\" y=\"%.1f\">%lld <tspan class=\"pct\">(%.1f%%)</tspan>"
          "</text>\n",
          x0 + w + 6, y + 19, (long long)main_[i].v, pct);
    }
    /* the memories that left the funnel, beside it */
    P("<text class=\"lbl side-h\" x=\"%d\" y=\"%d\">left the funnel</text>\n", sx, top + 10);
    for (int i = 0; i < 5; i++) {
        int y = top + 22 + i * 30;
        P("<rect class=\"side s%d\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" rx=\"2\"/>"
          "<text class=\"lbl\" x=\"%d\" y=\"%d\">%s</text>"
          "<text class=\"val\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%lld</text>\n",
          i, sx, y, sx + 16, y + 10, side[i].name, CW - MR, y + 10, (long long)side[i].v);
    }
    P("<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>\n", x0, x0, top - 4,
      top + 4 * rowh - 8);
    P("<text class=\"axis-title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">memories "
      "(bar length relative to staged)</text>\n",
      (x0 + x1) / 2, CH - 10);
    P("<text class=\"axis-title\" transform=\"translate(14 %d) rotate(-90)\" "
      "text-anchor=\"middle\">stage</text>\n",
      top + 2 * rowh);
    S("</svg>\n</div>\n");
    return 0;
}

static int activation(dash *d)
{
    sqlite3_stmt *s = NULL;
    int64_t v[HIST_BUCKETS] = {0}, n = 0;
    char lab[HIST_BUCKETS][16];
    const char *labels[HIST_BUCKETS];
    double sum = 0;
    int rc = prep(d,
                  "SELECT min(max(CAST(activation_strength * 10 AS INTEGER), 0), 9), count(*), "
                  "sum(activation_strength) FROM staging WHERE status = 'staged' AND "
                  "activation_strength IS NOT NULL GROUP BY 1 ORDER BY 1",
                  &s);
    if (rc)
        return rc;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int b = sqlite3_column_int(s, 0);
        v[b] += sqlite3_column_int64(s, 1);
        n += sqlite3_column_int64(s, 1);
        sum += sqlite3_column_double(s, 2);
    }
    if (sqlite3_errcode(d->db) != SQLITE_DONE && sqlite3_errcode(d->db) != SQLITE_ROW)
        rc = q_error(d, "could not read activations");
    sqlite3_finalize(s);
    if (rc)
        return rc;
    int64_t max = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        snprintf(lab[i], sizeof lab[i], "%.1f–%.1f", i / 10.0, (i + 1) / 10.0);
        labels[i] = lab[i];
        if (v[i] > max)
            max = v[i];
    }
    S("<div class=\"panel\">\n<h2>Activation distribution</h2>\n");
    P("<p class=\"sub\">activation strength of the %lld staged memories; mean %.3f</p>\n",
      (long long)n, n ? sum / (double)n : 0.0);
    chart_open(d, "activation", "Activation distribution", "activation strength", "memories",
               nice_max((double)max));
    vbars(d, HIST_BUCKETS, labels, v, 1, "bar act");
    S("</svg>\n</div>\n");
    return 0;
}

/* Retention by age: the share of encoded memories consolidated (and forgotten) by weeks since
 * they were created, and the mean long-term retrieval strength by weeks since consolidation. */
static int forgetting(dash *d)
{
    sqlite3_stmt *s = NULL;
    int64_t enc[MAX_WEEKS] = {0}, cons[MAX_WEEKS] = {0}, forg[MAX_WEEKS] = {0}, ln[MAX_WEEKS] = {0};
    double lsum[MAX_WEEKS] = {0};
    int weeks = 0, rc;
    if ((rc = prep(d,
                   "SELECT (?1 - m.created_at) / 604800000000, count(*), "
                   "sum(p.status = 'consolidated'), sum(p.status = 'forgotten') "
                   "FROM pipeline p JOIN memory m ON m.rowid = p.memory_rowid "
                   "WHERE p.encoded_at IS NOT NULL AND m.created_at <= ?1 GROUP BY 1 ORDER BY 1",
                   &s)))
        return rc;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t w = sqlite3_column_int64(s, 0);
        int b = w >= MAX_WEEKS ? MAX_WEEKS - 1 : (int)w;
        enc[b] += sqlite3_column_int64(s, 1);
        cons[b] += sqlite3_column_int64(s, 2);
        forg[b] += sqlite3_column_int64(s, 3);
        if (b + 1 > weeks)
            weeks = b + 1;
    }
    sqlite3_finalize(s);
    if ((rc = prep(d,
                   /* (the strengths without the records: EG_LTM_RANKED reads one index) */
                   "SELECT (?1 - w_ca) / 604800000000, count(*), sum(" EG_LTM_RS
                   ") FROM " EG_LTM_RANKED " w WHERE w_ca <= ?1 AND " EG_LTM_NOW " IS NOT NULL "
                   "GROUP BY 1 ORDER BY 1",
                   &s)))
        return rc;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t w = sqlite3_column_int64(s, 0);
        int b = w >= MAX_WEEKS ? MAX_WEEKS - 1 : (int)w;
        ln[b] += sqlite3_column_int64(s, 1);
        lsum[b] += sqlite3_column_double(s, 2);
        if (b + 1 > weeks)
            weeks = b + 1;
    }
    sqlite3_finalize(s);
    int span = weeks < 4 ? 4 : weeks; /* x runs over 0..span-1 */
    double pw = CW - ML - MR, ph = CH - MT - MB;
#define XW(i) (ML + 8 + (pw - 16) * (double)(i) / (span - 1))
#define YV(v) (MT + ph * (1 - (v)))
    S("<div class=\"panel\">\n<h2>Forgetting curve</h2>\n"
      "<p class=\"sub\"><span class=\"key k-ret\"></span>consolidated share of encoded memories "
      "by age &nbsp; <span class=\"key k-forg\"></span>forgotten share &nbsp; "
      "<span class=\"key k-str\"></span>mean retrieval strength by weeks since "
      "consolidation</p>\n");
    chart_open(d, "forgetting", "Forgetting curve",
               weeks >= MAX_WEEKS ? "age in weeks (last point: older)" : "age in weeks",
               "share / strength (0–1)", 1);
    for (int i = 0; i < span; i++)
        if (span <= 12 || i % 4 == 0 || i == span - 1)
            P("<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", XW(i),
              CH - MB + 16, i);
    const struct {
        const char *cls, *name;
        const int64_t *num;
    } lines[] = {
        {"ret", "consolidated", cons}, {"forg", "forgotten", forg}, {"str", "strength", NULL}};
    for (size_t k = 0; k < 3; k++) {
        bool first = true;
        P("<polyline class=\"line %s\" points=\"", lines[k].cls);
        for (int i = 0; i < span; i++) {
            int64_t den = lines[k].num ? enc[i] : ln[i];
            if (!den)
                continue;
            double y = lines[k].num ? (double)lines[k].num[i] / (double)den : lsum[i] / (double)den;
            P("%s%.1f,%.1f", first ? "" : " ", XW(i), YV(y));
            first = false;
        }
        S("\"/>\n");
        for (int i = 0; i < span; i++) {
            int64_t den = lines[k].num ? enc[i] : ln[i];
            if (!den)
                continue;
            double y = lines[k].num ? (double)lines[k].num[i] / (double)den : lsum[i] / (double)den;
            P("<circle class=\"dot %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\"><title>week %d: %s "
              "%.3f (n=%lld)</title></circle>\n",
              lines[k].cls, XW(i), YV(y), i, lines[k].name, y, (long long)den);
        }
    }
#undef XW
#undef YV
    S("</svg>\n<details><summary>numbers</summary>\n<table class=\"data\" "
      "id=\"forgetting-data\">\n<tr><th>age (weeks)</th><th>encoded</th><th>consolidated</th>"
      "<th>forgotten</th><th>retention</th><th>long-term</th><th>mean retrieval "
      "strength</th></tr>\n");
    for (int i = 0; i < weeks; i++) {
        if (!enc[i] && !ln[i])
            continue;
        P("<tr><td>%d%s</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%.3f</td><td>%lld</td>"
          "<td>%.3f</td></tr>\n",
          i, i == MAX_WEEKS - 1 ? "+" : "", (long long)enc[i], (long long)cons[i],
          (long long)forg[i], enc[i] ? (double)cons[i] / (double)enc[i] : 0.0, (long long)ln[i],
          ln[i] ? lsum[i] / (double)ln[i] : 0.0);
    }
    S("</table>\n</details>\n</div>\n");
    return 0;
}

static int freshness(dash *d)
{
    sqlite3_stmt *s = NULL;
    int64_t v[FRESH_DAYS] = {0}, n = 0, latest = 0;
    char lab[FRESH_DAYS][8], t[EG_TIME_BUFSZ];
    const char *labels[FRESH_DAYS];
    int rc;
    if ((rc = prep(d,
                   "SELECT (?1 - created_at - 1) / 86400000000, count(*) FROM memory "
                   "WHERE created_at <= ?1 AND created_at > ?1 - 30 * 86400000000 "
                   "GROUP BY 1 ORDER BY 1",
                   &s)))
        return rc;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t ago = sqlite3_column_int64(s, 0);
        if (ago >= 0 && ago < FRESH_DAYS) {
            v[FRESH_DAYS - 1 - ago] += sqlite3_column_int64(s, 1);
            n += sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_finalize(s);
    if ((rc = scalar(d, "SELECT coalesce(max(created_at), 0) FROM memory WHERE created_at <= ?1",
                     &latest)))
        return rc;
    int64_t max = 0;
    for (int i = 0; i < FRESH_DAYS; i++) {
        int64_t y;
        unsigned m, dd;
        /* bar i holds the 24 hours ending (FRESH_DAYS - 1 - i) days before now */
        eg_civil_from_days((d->now - (int64_t)(FRESH_DAYS - i) * EG_USEC_PER_DAY) / EG_USEC_PER_DAY,
                           &y, &m, &dd);
        snprintf(lab[i], sizeof lab[i], "%02u-%02u", m % 100, dd % 100);
        labels[i] = lab[i];
        if (v[i] > max)
            max = v[i];
    }
    S("<div class=\"panel\">\n<h2>Freshness</h2>\n");
    P("<p class=\"sub\">memories created per day in the %d days before now: %lld; newest ",
      FRESH_DAYS, (long long)n);
    if (latest)
        P("%s (%.1f h before now)</p>\n", fmt_time(latest, t), (double)(d->now - latest) / 3600e6);
    else
        S("none</p>\n");
    chart_open(d, "freshness", "Freshness: memories created per day", "day (UTC, month-day)",
               "memories created", nice_max((double)max));
    vbars(d, FRESH_DAYS, labels, v, 5, "bar fresh");
    S("</svg>\n");
    /* the freshness health check's own history (engram health), when it has run */
    if ((rc = prep(d,
                   "SELECT at, status, value FROM health_history WHERE check_name = 'freshness' "
                   "AND at <= ?1 ORDER BY at DESC, hid DESC LIMIT 5",
                   &s)))
        return rc;
    bool any = false;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (!any)
            S("<p class=\"sub\">freshness check (engram health): ");
        else
            S(" · ");
        any = true;
        esc_time_col(d, s, 0);
        S(" <b>");
        esc(d, (const char *)sqlite3_column_text(s, 1));
        S("</b>");
        if (sqlite3_column_type(s, 2) != SQLITE_NULL)
            P(" %.1f h", sqlite3_column_double(s, 2));
    }
    sqlite3_finalize(s);
    S(any ? "</p>\n</div>\n" : "</div>\n");
    return 0;
}

static int runs(dash *d)
{
    sqlite3_stmt *s = NULL;
    int rc = prep(d,
                  "SELECT run_id, command, now, started_at, finished_at, outcome, "
                  "CASE WHEN json_valid(counts) THEN json_extract(counts, '$.ms.total') END, "
                  "error FROM runs ORDER BY run_id DESC LIMIT 10",
                  &s);
    if (rc)
        return rc;
    S("<div class=\"panel wide\">\n<h2>Recent runs</h2>\n<table id=\"runs\">\n<thead><tr>"
      "<th>run</th><th>command</th><th>now (event time)</th><th>started</th>"
      "<th class=\"num\">duration</th><th>outcome</th></tr></thead>\n<tbody>\n");
    int shown = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *outcome = (const char *)sqlite3_column_text(s, 5);
        double ms = -1;
        shown++;
        if (sqlite3_column_type(s, 6) != SQLITE_NULL)
            ms = sqlite3_column_double(s, 6);
        else if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            ms = (double)(sqlite3_column_int64(s, 4) - sqlite3_column_int64(s, 3)) / 1000.0;
        P("<tr><td>%lld</td><td>", (long long)sqlite3_column_int64(s, 0));
        esc(d, (const char *)sqlite3_column_text(s, 1));
        S("</td><td>");
        esc_time_col(d, s, 2);
        S("</td><td>");
        esc_time_col(d, s, 3);
        S("</td><td class=\"num\">");
        if (ms < 0)
            S("—");
        else if (ms >= 1000)
            P("%.2f s", ms / 1000);
        else
            P("%.1f ms", ms);
        S("</td><td><span class=\"badge ");
        S(!outcome                      ? "bad"
          : !strcmp(outcome, "ok")      ? "ok"
          : !strcmp(outcome, "running") ? "run"
                                        : "bad");
        S("\"");
        if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
            S(" title=\"");
            esc(d, (const char *)sqlite3_column_text(s, 7));
            S("\"");
        }
        S(">");
        esc(d, outcome);
        S("</span></td></tr>\n");
    }
    if (sqlite3_errcode(d->db) != SQLITE_DONE && sqlite3_errcode(d->db) != SQLITE_ROW)
        rc = q_error(d, "could not read runs");
    sqlite3_finalize(s);
    if (!shown)
        S("<tr><td colspan=\"6\" class=\"empty\">no runs yet</td></tr>\n");
    S("</tbody>\n</table>\n</div>\n");
    return rc;
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    /* an empty icon of its own: without one, every browser that loads the page also asks for
     * /favicon.ico, a 404 that shows as an error in its console */
    "<link rel=\"icon\" href=\"data:,\">\n"
    "<title>engram dashboard</title>\n<style>\n"
    ":root{--fg:#1f2933;--mut:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;"
    "--c0:#486581;--c1:#3e7cb1;--c2:#5aa0c8;--c3:#2f9e6e;--forg:#d9822b;--str:#7b5ea7}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;padding:18px 24px;background:var(--bg);color:var(--fg);"
    "font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "header{display:flex;align-items:baseline;gap:28px;flex-wrap:wrap;margin-bottom:12px}\n"
    "h1{font-size:22px;margin:0;letter-spacing:.5px}\n"
    "h2{font-size:15px;margin:0 0 2px}\n"
    ".facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0}\n"
    ".facts dt{color:var(--mut)}.facts dd{margin:0 0 0 -12px;font-weight:500}\n"
    "code{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:13px}\n"
    ".totals{display:grid;grid-template-columns:repeat(7,1fr);gap:10px;margin-bottom:14px}\n"
    ".card,.panel{background:var(--card);border:1px solid var(--line);border-radius:8px}\n"
    ".card{padding:8px 12px}.card .num{font-size:20px;font-weight:600}"
    ".card .lbl{color:var(--mut);font-size:12px}\n"
    ".grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}\n"
    ".panel{padding:12px 14px}.panel.wide{grid-column:1/-1}\n"
    ".sub{color:var(--mut);font-size:12px;margin:0 0 4px}\n"
    "svg.chart{width:100%;height:auto;display:block}\n"
    "svg text{font-family:inherit;fill:var(--fg)}\n"
    ".tick{font-size:11px;fill:var(--mut)!important}.val{font-size:11px;font-weight:600}\n"
    ".pct{fill:var(--mut);font-weight:400}.lbl{font-size:12px}\n"
    ".axis-title{font-size:12px;fill:var(--mut)!important}\n"
    ".axis{stroke:#9aa5b1;stroke-width:1}.gl{stroke:var(--line);stroke-width:1}\n"
    ".s0{fill:var(--c0)}.s1{fill:var(--c1)}.s2{fill:var(--c2)}.s3{fill:var(--c3)}\n"
    ".side.s0{fill:var(--forg)}.side.s1{fill:#bcccdc}.side.s2{fill:var(--c1)}"
    ".side.s3{fill:var(--c2)}.side.s4{fill:#e12d39}\n"
    ".side-h{font-weight:600}\n"
    ".act{fill:var(--c1)}.fresh{fill:var(--c3)}\n"
    ".line{fill:none;stroke-width:2}.line.ret{stroke:var(--c3)}.line.forg{stroke:var(--forg)}"
    ".line.str{stroke:var(--str);stroke-dasharray:5 3}\n"
    ".dot.ret{fill:var(--c3)}.dot.forg{fill:var(--forg)}.dot.str{fill:var(--str)}\n"
    ".key{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}\n"
    ".k-ret{background:var(--c3)}.k-forg{background:var(--forg)}.k-str{background:var(--str)}\n"
    "details{font-size:12px;color:var(--mut)}summary{cursor:pointer}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:4px 10px;border-bottom:1px solid var(--line);"
    "font-variant-numeric:tabular-nums}\n"
    "th{color:var(--mut);font-weight:500;font-size:12px}\n"
    "td.num,th.num{text-align:right}td.empty{color:var(--mut)}\n"
    "table.data td,table.data th{padding:2px 8px}\n"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;"
    "font-weight:600}\n"
    ".badge.ok{background:#e3f9e5;color:#207227}.badge.run{background:#e6f6ff;color:#035388}"
    ".badge.bad{background:#ffe3e3;color:#a61b1b}\n"
    "footer{color:var(--mut);font-size:11px;margin-top:10px}\n"
    "</style>\n</head>\n<body>\n";

int eg_dashboard_render(eg_store *st, const eg_config *cfg, int64_t now, eg_buf *out)
{
    dash d = {.st = st, .db = eg_store_db(st), .out = out, .now = now};
    bool own_txn = sqlite3_get_autocommit(d.db) != 0;
    char t[EG_TIME_BUFSZ];
    int rc = 0;
    (void)cfg;
    /* one read transaction: every section sees the same committed state */
    if (own_txn && sqlite3_exec(d.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return q_error(&d, "could not begin a read transaction");
    emit_rc(&d, eg_buf_puts(out, page_head));
    if ((rc = header(&d)))
        goto done;
    emit_rc(&d, eg_buf_puts(out, "<main class=\"grid\">\n"));
    if ((rc = funnel(&d)) || (rc = activation(&d)) || (rc = forgetting(&d)) ||
        (rc = freshness(&d)) || (rc = runs(&d)))
        goto done;
    emit_rc(&d, eg_buf_printf(out,
                              "</main>\n<footer>engram %s · rendered for now = %s · all numbers "
                              "from one read transaction</footer>\n</body>\n</html>\n",
                              ENGRAM_VERSION, fmt_time(now, t)));
    rc = d.brc;
done:
    if (own_txn) {
        if (rc)
            sqlite3_exec(d.db, "ROLLBACK", NULL, NULL, NULL);
        else if (sqlite3_exec(d.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = q_error(&d, "could not end the read transaction");
    }
    return rc;
}

int eg_dashboard_render_unavailable(const char *error, const char *reason, const char *hint,
                                    eg_buf *out)
{
    dash page = {.out = out}, *d = &page;
    S(page_head);
    S("<header><h1>engram</h1></header>\n<main>\n<div class=\"panel\">\n<h2>");
    esc(d, error);
    S("</h2>\n");
    if (reason && *reason) {
        S("<p>");
        esc(d, reason);
        S("</p>\n");
    }
    if (hint && *hint) {
        S("<p class=\"sub\">");
        esc(d, hint);
        S("</p>\n");
    }
    S("</div>\n</main>\n<footer>engram " ENGRAM_VERSION
      " · <a href=\"/readyz\">/readyz</a> · <a href=\"/health\">/health</a></footer>\n"
      "</body>\n</html>\n");
    return page.brc ? EG_ENOMEM : 0;
}
