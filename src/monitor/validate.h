/*
 * validate.h — the validation module's private side (SPEC §11). The public API is
 * engram/validate.h; this header only adds the JSON form the CLI prints.
 *
 * Owns nothing beyond the report it builds; it reads the source through its open connection and
 * writes only the store's validation table.
 */
#ifndef EG_MONITOR_VALIDATE_H
#define EG_MONITOR_VALIDATE_H

#include <jansson.h>

#include "engram/validate.h"

/* The report as a new JSON object {"at","target","status","rules":[...]}; caller decrefs. */
json_t *eg__validate_json(const eg_validate_report *r);

#endif
