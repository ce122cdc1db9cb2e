/*
 * source.c — picks the source adapter the configuration names and forwards to it.
 *
 * "postgresql://…", "postgres://…" or a conninfo string → postgres.c; "sqlite:PATH" or no source
 * at all (the store's own `memories` table) → sqlite.c.
 */
#include "source/source.h"

#include <string.h>

int eg_source_open(eg_source **out, const eg_config *cfg)
{
    *out = NULL;
    if (!cfg->source || !strncmp(cfg->source, "sqlite:", 7))
        return eg_source_sqlite.open(out, cfg, cfg->store);
    return eg_source_postgres.open(out, cfg, cfg->store);
}

void eg_source_close(eg_source *s)
{
    if (s)
        s->ops->close(s);
}
