/*
 * report.c — how the CLI prints an ingest/run report (text for people, JSON for scripts).
 */
#include "cli/cli.h"

#include "util/timeutil.h"

#include <stdlib.h>

void eg_cli_print_ingest(const eg_cli *cli, const char *what, const eg_ingest_report *r)
{
    char t[EG_TIME_BUFSZ];
    if (cli->json) {
        char *s = eg_ingest_report_json(r, cli->now);
        if (s)
            printf("%s\n", s);
        free(s);
        return;
    }
    if (cli->quiet)
        return;
    printf("%s at %s from %s\n", what, eg_time_format(cli->now, t), r->source);
    printf("  read     %lld rows%s: %lld staged, %lld skipped (null content %lld, empty content "
           "%lld, outside the window %lld, no created_at %lld)\n",
           (long long)r->read,
           r->full            ? " (full: every row of the source)"
           : r->by_change_log ? " (incremental: written since the last read)"
           : r->had_watermark ? " (incremental)"
                              : "",
           (long long)r->staged,
           (long long)(r->skipped[1] + r->skipped[2] + r->skipped[3] + r->skipped[4]),
           (long long)r->skipped[1], (long long)r->skipped[2], (long long)r->skipped[3],
           (long long)r->skipped[4]);
    printf("  store    %lld new, %lld updated, %lld unchanged; %lld quarantined; %lld indexed "
           "for search\n",
           (long long)r->inserted, (long long)r->updated, (long long)r->unchanged,
           (long long)r->rejected, (long long)r->fts_indexed);
    if (r->restaged)
        printf("  staging  %lld memories staged again (the staging window moved, or --rebuild)\n",
               (long long)r->restaged);
    if (r->metadata_invalid + r->metadata_not_object + r->blank_content + r->updated_before_created)
        printf("  quality  metadata not JSON %lld, metadata not an object %lld, blank content "
               "%lld, updated before created %lld\n",
               (long long)r->metadata_invalid, (long long)r->metadata_not_object,
               (long long)r->blank_content, (long long)r->updated_before_created);
    if (r->deleted_at_source)
        printf("  deleted  %lld %s gone from the source (e.g. %s)\n",
               (long long)r->deleted_at_source,
               r->deleted_at_source == 1 ? "memory is" : "memories are", r->deleted_examples);
    if (r->had_watermark || r->watermark_after)
        printf("  watermark %s\n", eg_time_format(r->watermark_after, t));
    printf("  took     %.3f s (read and stage %.3f, indexes %.3f, restage %.3f, full-text %.3f, "
           "commit %.3f)%s\n",
           r->ms_total / 1e3, r->ms_read / 1e3, r->ms_index / 1e3, r->ms_restage / 1e3,
           r->ms_fts / 1e3, r->ms_commit / 1e3, r->attempts > 1 ? " after retries" : "");
}
