/*
 * dashfmt: a Dashboard (or one of its tables) as JSON, CSV or a terminal
 * table: the API's and the client's formats, from the same message the
 * protocol carries.
 *
 * JSON: {"kind":"managers","title":..,"subject_id":..,"subject_name":..,
 * "rubric_id":..,"from":"YYYY-MM-DD","until":..,"min_n":3,"privacy_min":5,
 * "generated_at":..,"notes":[..],"tables":[{"id":..,"title":..,
 * "columns":[..],"rows":[[cell,..],..]}],"charts":[..]}, in that order, a
 * cell being {"text":..,"value":..|null,"n":..,"insufficient":bool} (jansson
 * escapes strings).
 *
 * CSV (RFC 4180, CRLF): a header of the columns, then for each figure column
 * two columns "<name>" and "<name> n"; a value is written rounded as shown
 * (the cell's text when that is a plain number, after dropping a leading
 * "+" or a trailing "%"; else %.6g), "insufficient data" kept as text. A
 * cell starting with = + - @ (or tab/CR) is prefixed with ' so spreadsheets
 * do not run it; negative numbers are written as numbers ("-0.25" is not
 * text from a record and stays), labels never are.
 *
 * Text: fixed-width columns fitting width, figures right-aligned with
 * "(n=12)".
 *
 * Ownership: the Dashboard or Table is borrowed for the call; output is
 * appended to the caller's struct buf, which keeps its own cap. Errors: a
 * writer returns 0, -ENOMEM, or the -ENOBUFS of a buf that would pass its
 * cap; on an error it takes back what it appended (out->len is as before),
 * so a caller can answer with an error instead. No state: every function
 * is safe from any thread on its own arguments.
 */
#ifndef COACHQ_DASHFMT_H
#define COACHQ_DASHFMT_H

#include <stddef.h>

#include "buf.h"
#include "coachq.pb-c.h"

/* The table of d with id (a chart's table_id, a CSV request), or NULL
 * (also for a NULL d, a NULL or empty id). The table is borrowed from d,
 * valid as long as d. */
const Coachq__V1__Table *dashfmt_find_table(const Coachq__V1__Dashboard *d, const char *id);

/*
 * Appends d as one JSON document, indented by two spaces, and a newline.
 * Text that is not valid UTF-8 has its bad bytes replaced by '?'; a figure
 * with no value, or one that is not finite, is null. Returns 0, -ENOMEM or
 * out's -ENOBUFS.
 */
int dashfmt_json(const Coachq__V1__Dashboard *d, struct buf *out);

/*
 * Appends table t as CSV: the header record, then one record per row, each
 * ending in CRLF. A row with fewer cells than columns is padded with empty
 * fields. Returns 0, -ENOMEM or out's -ENOBUFS.
 */
int dashfmt_csv(const Coachq__V1__Table *t, struct buf *out);

/*
 * Appends d for a terminal: its title, subject, period and rules, its
 * notes, then each table under its title, then each chart that has no
 * table of its own as a table of its figures. width is the terminal's width
 * in columns (0: 100; below 20: 20). Nothing is cut: a table too wide is
 * split into parts of columns, each repeating the first (the row's name),
 * or, when not even two columns fit, pivoted into one block per row of
 * "header: figure" lines; only a single cell wider than width is left
 * wider. Control characters from records are written as spaces. Returns
 * 0, -ENOMEM or out's -ENOBUFS.
 */
int dashfmt_text(const Coachq__V1__Dashboard *d, unsigned width, struct buf *out);

/* The URL names: "managers", "manager", "programme", "observers", "me", or
 * NULL for DASHBOARD_KIND_UNSPECIFIED and unknown values. Static strings. */
const char *dashfmt_kind_name(Coachq__V1__DashboardKind kind);
/* And back; DASHBOARD_KIND_UNSPECIFIED for an unknown name or NULL. name
 * is borrowed for the call. */
Coachq__V1__DashboardKind dashfmt_kind_from_name(const char *name);

#endif
