/*
 * obs_flat: the flat form of a stored observation version that data leaves
 * coachq in, for BI tools and warehouses: the change feed
 * (/api/v1/feed/observations, web/) and `coachq export observations`
 * (client/) write every record through these functions, so both carry the
 * same schema. docs/operations.md ("API tokens and the change feed")
 * documents it column by column.
 *
 * One version is one line: NDJSON (one JSON object and "\n") or one CSV
 * record (RFC 4180, CRLF-free: "\n" ends it; a header line first). The
 * columns, in CSV order:
 *
 *   seq, id, root_id, version, superseded, received_at, observer_id,
 *   rubric_id, rubric_version, coach_id, coachee_id, session_type, focus,
 *   started_at, session_day, duration_s, calibration_ref, amends, notes,
 *   n_markers, ratings, actions, recording
 *
 * Times are UTC ("2026-03-02T09:30:00Z", received_at with milliseconds),
 * session_day the UTC date of started_at, enums their lower-case names,
 * ids UUID text. ratings is an array of {behaviour_id, score (1..4 or
 * null), not_applicable, evidence}; actions an array of {text, owner_id,
 * due_day (YYYY-MM-DD or null)}; in CSV both are that array as compact JSON
 * text (a jsonb column in PostgreSQL). recording is null for a live
 * session, else {reference, length_ms, picked_at, rep_commented_at,
 * manager_commented_at, discussed_at (each a time or null), rep_comments
 * (how many markers the rep wrote), manager_comments, manager_markers (how
 * many markers the manager wrote)}, in CSV as JSON. n_markers counts the
 * observer's markers only, as the aggregates do.
 * In CSV an absent value (no amends, no calibration_ref, no focus) is an
 * empty unquoted field (NULL to COPY) and every text value is quoted (so
 * "" is an empty string, not NULL).
 *
 * Pure functions on caller-owned buffers; any thread. They return 0,
 * -ENOBUFS (the buffer's cap) or -ENOMEM; nothing is appended on failure.
 */
#ifndef COACHQ_OBS_FLAT_H
#define COACHQ_OBS_FLAT_H

#include "buf.h"
#include "coachq.pb-c.h"

enum obs_flat_format {
    OBS_FLAT_NDJSON,
    OBS_FLAT_CSV,
};

/* Appends the CSV header line to b (nothing for NDJSON). */
int obs_flat_header(enum obs_flat_format f, struct buf *b);

/* Appends r (borrowed for the call) as one line in format f to b, with
 * session_day (days since 1970-01-01) as its session date: the day the
 * session started in its coach's time zone, which only the store knows
 * (store/zone.h). */
int obs_flat_line(enum obs_flat_format f, const Coachq__V1__StoredObservation *r,
                  int32_t session_day, struct buf *b);

#endif
