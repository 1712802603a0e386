#!/usr/bin/env bash
# feed-to-postgres.sh: loads coachq's change feed into PostgreSQL with COPY
# and keeps it current (docs/operations.md, "API tokens and the change feed").
#
# Each round asks the feed for the records after the last sequence number
# the database holds (coachq_feed_state.last_seq), as CSV, at most --batch
# lines, into a temporary file; only a whole answer (curl exit 0: the
# chunked body ended properly) is loaded, with COPY, in one transaction
# that also moves last_seq and marks older versions superseded. A consumer
# killed at any point therefore loses nothing and loads nothing twice: the
# next run starts from the last committed seq (seq is the primary key, so an
# overlap would fail the transaction rather than duplicate a row).
#
# PostgreSQL is reached as psql reaches it: PGHOST, PGPORT, PGUSER,
# PGDATABASE, ~/.pgpass (libpq's environment) or --db CONNINFO.
#
# Exit status: 0 caught up (--once) or stopped by SIGINT/SIGTERM, 1 a failure
# (the feed refused, PostgreSQL failed; the message says which), 2 usage.
set -euo pipefail

PROG=${0##*/}
URL=
TOKEN_FILE=
CACERT=
DB=
BATCH=5000
WAIT=30
ONCE=0

usage() {
    cat <<EOF
Usage: $PROG --url https://HOST:PORT --token-file FILE [--cacert FILE]
                 [--db CONNINFO] [--batch N] [--wait S] [--once]
Loads coachq's change feed (/api/v1/feed/observations) into the PostgreSQL
table coachq_observations (made if missing) and keeps it current.

  --url URL         the dashboard port, e.g. https://coachq.example.com:8443
  --token-file FILE a file holding the API token ('coachqd token create')
  --cacert FILE     the CA that signed the dashboard port's certificate
                    [the system's]
  --db CONNINFO     psql's connection string [libpq's environment: PGHOST ...]
  --batch N         records per round, 1..100000 [$BATCH]
  --wait S          a caught-up round long-polls this many seconds, 0..60 [$WAIT]
  --once            stop once caught up, instead of polling for ever
  -h, --help        this text

Exit status: 0 done, 1 failure, 2 usage error.
EOF
}

die_usage() {
    echo "$PROG: $*" >&2
    echo "Try '$PROG --help'." >&2
    exit 2
}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

is_uint() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
    [ "${#1}" -le 6 ]
}

while [ $# -gt 0 ]; do
    case $1 in
    --url | --token-file | --cacert | --db | --batch | --wait)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        case $1 in
        --url) URL=$2 ;;
        --token-file) TOKEN_FILE=$2 ;;
        --cacert) CACERT=$2 ;;
        --db) DB=$2 ;;
        --batch) BATCH=$2 ;;
        --wait) WAIT=$2 ;;
        esac
        shift 2
        ;;
    --once)
        ONCE=1
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die_usage "unknown argument '$1'" ;;
    esac
done
[ -n "$URL" ] || die_usage "--url is required"
case $URL in https://*) ;; *) die_usage "--url: '$URL' is not an https:// address" ;; esac
[ -n "$TOKEN_FILE" ] || die_usage "--token-file is required"
[ -r "$TOKEN_FILE" ] || die "--token-file: cannot read '$TOKEN_FILE'"
if ! is_uint "$BATCH" || [ "$BATCH" -lt 1 ] || [ "$BATCH" -gt 100000 ]; then
    die_usage "--batch: '$BATCH' is not 1..100000"
fi
if ! is_uint "$WAIT" || [ "$WAIT" -gt 60 ]; then
    die_usage "--wait: '$WAIT' is not 0..60"
fi
for t in curl psql; do
    command -v "$t" >/dev/null || die "$t is not installed"
done

PSQL=(psql -X -q -v ON_ERROR_STOP=1)
[ -n "$DB" ] && PSQL+=("$DB")
[ "$ONCE" = 1 ] && WAIT=0
CURL=(curl -sS --fail-with-body --max-time $((WAIT + 300)))
[ -n "$CACERT" ] && CURL+=(--cacert "$CACERT")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/coachq-feed.XXXXXX")
STOP=0
trap 'rm -rf "$TMP"' EXIT
trap 'STOP=1' INT TERM

# The schema: one row per stored version, in the feed's columns
# (proto/obs_flat.h), with load_no recording the order rows arrived in.
"${PSQL[@]}" <<'SQL'
CREATE TABLE IF NOT EXISTS coachq_observations (
    seq bigint PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    root_id uuid NOT NULL,
    version integer NOT NULL,
    superseded boolean NOT NULL,
    received_at timestamptz NOT NULL,
    observer_id text NOT NULL,
    rubric_id text NOT NULL,
    rubric_version integer NOT NULL,
    coach_id text NOT NULL,
    coachee_id text NOT NULL,
    session_type text,
    focus text,
    started_at timestamptz NOT NULL,
    session_day date NOT NULL,
    duration_s integer NOT NULL,
    calibration_ref uuid,
    amends uuid,
    notes text NOT NULL,
    n_markers integer NOT NULL,
    ratings jsonb NOT NULL,
    actions jsonb NOT NULL,
    load_no bigint GENERATED ALWAYS AS IDENTITY
);
-- Added with recorded sessions; a table made before them gains it here.
ALTER TABLE coachq_observations ADD COLUMN IF NOT EXISTS recording jsonb;
CREATE INDEX IF NOT EXISTS coachq_observations_root ON coachq_observations (root_id, version);
CREATE TABLE IF NOT EXISTS coachq_feed_state (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq bigint NOT NULL
);
INSERT INTO coachq_feed_state VALUES (true, 0) ON CONFLICT DO NOTHING;
-- The latest version of each observation, and its ratings one per row.
CREATE OR REPLACE VIEW coachq_current_observations AS
    SELECT * FROM coachq_observations WHERE NOT superseded;
CREATE OR REPLACE VIEW coachq_ratings AS
    SELECT o.seq, o.root_id, o.coach_id, o.session_day, r.*
    FROM coachq_observations o,
         jsonb_to_recordset(o.ratings)
             AS r(behaviour_id text, score integer, not_applicable boolean, evidence text);
SQL

COLS="seq, id, root_id, version, superseded, received_at, observer_id, rubric_id,
 rubric_version, coach_id, coachee_id, session_type, focus, started_at, session_day,
 duration_s, calibration_ref, amends, notes, n_markers, ratings, actions, recording"
COLS=${COLS//$'\n'/}

while [ "$STOP" = 0 ]; do
    after=$("${PSQL[@]}" -At -c "SELECT last_seq FROM coachq_feed_state")
    rc=0
    "${CURL[@]}" -o "$TMP/batch.csv" -H "Accept: text/csv" \
        -H "Authorization: Bearer $(tr -d ' \r\n' <"$TOKEN_FILE")" \
        "$URL/api/v1/feed/observations?after=$after&limit=$BATCH&wait=$WAIT" || rc=$?
    if [ "$rc" != 0 ]; then
        [ "$STOP" = 1 ] && break
        [ -s "$TMP/batch.csv" ] && head -c 500 "$TMP/batch.csv" >&2 && echo >&2
        die "the feed failed (curl exit $rc); nothing of this round was loaded"
    fi
    rows=$(($(wc -l <"$TMP/batch.csv") - 1))
    if [ "$rows" -gt 0 ]; then
        # One transaction: the rows, the new last_seq, and the versions
        # they supersede.
        "${PSQL[@]}" <<SQL
BEGIN;
\\copy coachq_observations ($COLS) FROM '$TMP/batch.csv' WITH (FORMAT csv, HEADER true)
UPDATE coachq_feed_state SET last_seq = (SELECT max(seq) FROM coachq_observations);
UPDATE coachq_observations o SET superseded = true
    WHERE NOT o.superseded
      AND o.root_id IN (SELECT root_id FROM coachq_observations WHERE seq > $after)
      AND EXISTS (SELECT 1 FROM coachq_observations n
                  WHERE n.root_id = o.root_id AND n.version > o.version);
COMMIT;
SQL
        echo "$PROG: loaded $rows records after seq $after" >&2
    elif [ "$ONCE" = 1 ]; then
        break
    fi
done
exit 0
