/*
 * dashfmt: a Dashboard (or one of its tables) as JSON, CSV or a terminal
 * table: the API's and the client's formats, from the same message the
 * protocol carries.
 *
 * JSON: {"kind":"managers","title":..,"subject_id":..,"from":"YYYY-MM-DD",
 * "until":..,"min_n":3,"privacy_min":5,"notes":[..],"tables":[{"id":..,
 * "title":..,"columns":[..],"rows":[[cell,..],..]}],"charts":[..]}, a cell
 * being {"text":..,"value":..|null,"n":..,"insufficient":bool} (jansson
 * escapes strings).
 *
 * CSV (RFC 4180, CRLF): a header of the columns, then for each figure column
 * two columns "<name>" and "<name> n"; values unformatted (%.17g-free:
 * rounded as shown), "insufficient data" kept as text. A cell starting with
 * = + - @ (or tab/CR) is prefixed with ' so spreadsheets do not run it;
 * negative numbers are written as numbers ("-0.25" is not text from a
 * record and stays), labels never are.
 *
 * Text: fixed-width columns fitting width, figures right-aligned with
 * "(n=12)".
 */
#ifndef COACHQ_DASHFMT_H
#define COACHQ_DASHFMT_H

#include <stddef.h>

#include "buf.h"
#include "coachq.pb-c.h"

/* The table of d with id (a chart's table_id, a CSV request), or NULL. */
const Coachq__V1__Table *dashfmt_find_table(const Coachq__V1__Dashboard *d, const char *id);

int dashfmt_json(const Coachq__V1__Dashboard *d, struct buf *out);
int dashfmt_csv(const Coachq__V1__Table *t, struct buf *out);
int dashfmt_text(const Coachq__V1__Dashboard *d, unsigned width, struct buf *out);
/* The URL names: "managers", "manager", "programme", "observers", "me". */
const char *dashfmt_kind_name(Coachq__V1__DashboardKind kind);
/* And back; DASHBOARD_KIND_UNSPECIFIED for an unknown name. */
Coachq__V1__DashboardKind dashfmt_kind_from_name(const char *name);

#endif
