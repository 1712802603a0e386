#!/usr/bin/env bash
# bench/peers/dash.sh: the dashboard peer. Times coachq's "My managers"
# (bench_dash, in process, read transactions on its LMDB store) beside the
# query a team would write in PostgreSQL 15 for the same figures, on the
# same organisation and the same observations, at each size.
#
# The figures: a second-level manager's front-line managers (those who
# report to them today), each one's quality per ISO week over the window
# (--weeks, default 52): the mean per-observation quality index (the mean of
# its scores) and n, counting only sessions held while the manager was in
# that second-level manager's line. coachq's My managers builds that and
# more (heat map, quadrant, actions, names, outcomes, training) from its
# weekly aggregates; PostgreSQL answers only the weekly figures, so the
# comparison is generous to PostgreSQL.
#
# How: bench_dash --export writes the organisation and every observation it
# loads as CSV (read back from its store) and prints its My managers timing
# ("peer:") and one manager's figures as the dashboard shows them
# ("check:"). Then a throw-away PostgreSQL cluster in the same temporary
# directory (Unix socket only, no TCP; as the postgres user when run as
# root) loads the same rows with \copy, size by size, and pgbench times
# each query variant through one connection, prepared (-M prepared), with
# per-execution client-side latencies (--log); the second-level manager
# rotates at random over the ten. Variants:
#   query       GROUP BY coach, date_trunc('week', started_at) over the
#               observations table, on an index on (line_manager_id,
#               rubric_id, started_at) INCLUDE (coach_id, quality) that
#               allows an index-only range scan; the per-observation quality
#               is a column filled as rows go in (coachq's writer does the
#               same for its aggregates).
#   rollup      a materialised weekly rollup table (line manager, rubric,
#               week, coach: n and the quality sum), kept as rows go in.
#   normalised  the quality computed at query time from the scores table
#               (observation_id, behaviour_id, score), no stored column.
# Each variant's numbers are checked against coachq's for one manager
# (slm.00's flm.000): its whole-window figure and its last 4-week rolling
# figure, printed as agree or disagree.
#
# PostgreSQL settings (fair for a read benchmark): shared_buffers 1GB (the
# tables and indexes queried fit; so does the 1M data set's observations),
# work_mem 64MB, jit off (JIT compiling costs milliseconds a short query
# never wins back), timezone UTC (ISO weeks start on Monday 00:00 UTC, as
# coachq's), autovacuum off with VACUUM ANALYZE after each load, and for
# the load only: fsync, synchronous_commit and full_page_writes off (the
# cluster is thrown away; they change nothing for reads). No foreign keys
# (they change nothing for reads either). Parallel query as shipped.
#
# Bounded: bench_dash's own bounds, then per size and variant R timed
# executions after 10 untimed ones, or --seconds of them when R would take
# longer. The 1M size takes minutes to load (bench_dash, then
# PostgreSQL); use --sizes 10000,100000 for a quick run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
SIZES=10000,100000,1000000
RUNS=300
SECONDS_MAX=30
WEEKS=52
KEEP=0
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PROG=bench/peers/dash.sh

usage() {
    cat <<EOF
usage: $PROG [--sizes N,N,...] [--runs R] [--seconds S] [--weeks W]
             [--build DIR] [--keep] [--help]
  --sizes     sizes to report, observations [$SIZES]; bench_dash measures
              10000, a tenth of the largest when that is at least 50000,
              and the largest (at most 5000000), so each size must be one
              of those
  --runs      timed executions per variant and size, 10..100000 [$RUNS]
              (bench_dash times as many builds)
  --seconds   at most this long per variant and size when R executions
              would take longer, 1..600 [$SECONDS_MAX]
  --weeks     the window in ISO weeks, 1..104 [$WEEKS]
  --build     the build directory with bench/bench_dash [$BUILD]
  --keep      leave the temporary directory (CSV files, cluster, logs)
  PG_BIN      PostgreSQL's programs [$PG_BIN]
Needs PostgreSQL 15 (Debian: the packages in bench/peers/packages, or
./dev.sh bench-setup). Exit status: 0 when every check agrees, 1 on a
failure or a disagreement, 2 on a usage error.
EOF
}

die_usage() {
    echo "$PROG: $1" >&2
    echo "Try '$PROG --help'." >&2
    exit 2
}

is_uint() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "${#1}" -le 9 ]
}

while [ $# -gt 0 ]; do
    case $1 in
    --sizes | --runs | --seconds | --weeks | --build)
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        case $1 in
        --sizes) SIZES=$2 ;;
        --runs) RUNS=$2 ;;
        --seconds) SECONDS_MAX=$2 ;;
        --weeks) WEEKS=$2 ;;
        --build) BUILD=$2 ;;
        esac
        shift 2
        ;;
    --keep)
        KEEP=1
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die_usage "unknown argument '$1'" ;;
    esac
done

# in_range V LO HI: V is a whole number from LO to HI.
in_range() {
    is_uint "$1" && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
in_range "$RUNS" 10 100000 || die_usage "--runs: '$RUNS' is not 10..100000"
in_range "$SECONDS_MAX" 1 600 || die_usage "--seconds: '$SECONDS_MAX' is not 1..600"
in_range "$WEEKS" 1 104 || die_usage "--weeks: '$WEEKS' is not 1..104"

# The sizes asked for, and the ones bench_dash will measure.
IFS=, read -r -a ASKED <<<"$SIZES"
[ "${#ASKED[@]}" -gt 0 ] || die_usage "--sizes: none given"
MAX=0
for s in "${ASKED[@]}"; do
    in_range "$s" 10000 5000000 || die_usage "--sizes: '$s' is not 10000..5000000"
    [ "$s" -gt "$MAX" ] && MAX=$s
done
STEPS=(10000)
[ $((MAX / 10)) -ge 50000 ] && STEPS+=($((MAX / 10)))
[ "$MAX" -gt 10000 ] && STEPS+=("$MAX")
asked() {
    local s
    for s in "${ASKED[@]}"; do
        [ "$s" = "$1" ] && return 0
    done
    return 1
}
for s in "${ASKED[@]}"; do
    ok=0
    for t in "${STEPS[@]}"; do
        [ "$s" = "$t" ] && ok=1
    done
    [ "$ok" = 1 ] || die_usage "--sizes: with $MAX the largest, bench_dash measures only $(
        IFS=,
        echo "${STEPS[*]}"
    ), not $s"
done

BENCH_DASH=$BUILD/bench/bench_dash
[ -x "$BENCH_DASH" ] || {
    echo "$PROG: no $BENCH_DASH (build first, or give --build)" >&2
    exit 1
}
for p in initdb postgres psql pgbench pg_isready; do
    [ -x "$PG_BIN/$p" ] || {
        echo "$PROG: no $PG_BIN/$p: install PostgreSQL 15 (./dev.sh bench-setup)" >&2
        exit 1
    }
done
# initdb and postgres refuse to run as root: they run as the postgres user.
AS=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || {
        echo "$PROG: running as root needs the postgres user (Debian's postgresql package)" >&2
        exit 1
    }
    AS=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

TMP=$(mktemp -d)
PG_PID=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$PG_PID" ]; then
        kill -INT "$PG_PID" 2>/dev/null || true
        wait "$PG_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then
        echo "$PROG: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$TMP"
mkdir -p "$TMP/export" "$TMP/log" "$TMP/sql"

# ---- coachq ----------------------------------------------------------------

echo "== coachq: bench_dash --max $MAX --runs $RUNS --weeks $WEEKS (sizes $(
    IFS=,
    echo "${STEPS[*]}"
))" >&2
if ! TMPDIR=$TMP "$BENCH_DASH" --max "$MAX" --runs "$RUNS" --weeks "$WEEKS" \
    --export "$TMP/export" >"$TMP/bench_dash.out" 2>"$TMP/bench_dash.err"; then
    echo "$PROG: bench_dash failed:" >&2
    cat "$TMP/bench_dash.err" "$TMP/bench_dash.out" >&2
    exit 1
fi

# peer_field SIZE KEY: a field of bench_dash's "peer:" line for SIZE.
peer_field() {
    awk -v size="size=$1" -v key="$2=" '
        $1 == "peer:" && $2 == size {
            for (i = 3; i <= NF; i++) if (index($i, key) == 1) print substr($i, length(key) + 1)
        }' "$TMP/bench_dash.out"
}
# check_field SIZE WHAT KEY: a field of bench_dash's "check:" line.
check_field() {
    awk -v size="size=$1" -v what="what=$2" -v key="$3=" '
        $1 == "check:" && $2 == size && $3 == what {
            for (i = 4; i <= NF; i++) if (index($i, key) == 1) print substr($i, length(key) + 1)
        }' "$TMP/bench_dash.out"
}

# ---- PostgreSQL --------------------------------------------------------------

PGDATA=$TMP/pg/data
SOCK=$TMP/pg/sock
PGPORT=5432 # Only names the socket file: there is no TCP listener.
mkdir -p "$PGDATA" "$SOCK"
[ ${#AS[@]} -gt 0 ] && chown -R postgres: "$TMP/pg"
if ! "${AS[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U coachq --auth=trust -E UTF8 --locale=C \
    >"$TMP/log/initdb.log" 2>&1; then
    echo "$PROG: initdb failed:" >&2
    cat "$TMP/log/initdb.log" >&2
    exit 1
fi
"${AS[@]}" "$PG_BIN/postgres" -D "$PGDATA" -k "$SOCK" -p "$PGPORT" -c listen_addresses= \
    -c shared_buffers=1GB -c work_mem=64MB -c maintenance_work_mem=512MB -c jit=off \
    -c timezone=UTC -c autovacuum=off -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_wal_size=8GB -c checkpoint_timeout=30min \
    >"$TMP/log/postgres.log" 2>&1 &
PG_PID=$!
for _ in $(seq 200); do
    "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$PGPORT" && break
    kill -0 "$PG_PID" 2>/dev/null || break
    sleep 0.1
done
if ! "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$PGPORT"; then
    echo "$PROG: PostgreSQL did not start:" >&2
    cat "$TMP/log/postgres.log" >&2
    exit 1
fi
PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PGPORT" -U coachq -d postgres)
PG_VERSION=$("${PSQL[@]}" -At -c 'SHOW server_version')

"${PSQL[@]}" <<'EOF'
CREATE TABLE people (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE roles (person_id text NOT NULL, role text NOT NULL, PRIMARY KEY (person_id, role));
CREATE TABLE lines (
    person_id text NOT NULL,
    manager_id text NOT NULL,
    valid_from date NOT NULL,
    valid_until date, -- exclusive; NULL while the line holds
    PRIMARY KEY (person_id, valid_from)
);
CREATE INDEX lines_by_manager ON lines (manager_id, valid_from) INCLUDE (person_id, valid_until);
CREATE TABLE observations (
    id uuid PRIMARY KEY,
    seq bigint NOT NULL UNIQUE,
    coach_id text NOT NULL,
    coachee_id text NOT NULL,
    observer_id text NOT NULL,
    rubric_id text NOT NULL,
    rubric_version integer NOT NULL,
    started_at timestamptz NOT NULL,
    duration_s integer NOT NULL,
    line_manager_id text, -- the coach's manager on the session day
    quality double precision -- the mean of its scores; NULL without one
);
CREATE INDEX observations_by_line ON observations (line_manager_id, rubric_id, started_at)
    INCLUDE (coach_id, quality);
CREATE TABLE scores (
    observation_id uuid NOT NULL,
    behaviour_id text NOT NULL,
    score smallint CHECK (score BETWEEN 1 AND 4), -- NULL: not applicable
    PRIMARY KEY (observation_id, behaviour_id)
);
CREATE TABLE weekly_rollup (
    line_manager_id text NOT NULL,
    rubric_id text NOT NULL,
    week date NOT NULL, -- Monday
    coach_id text NOT NULL,
    n bigint NOT NULL, -- observations with a quality
    quality_sum double precision NOT NULL,
    PRIMARY KEY (line_manager_id, rubric_id, week, coach_id)
);
EOF
"${PSQL[@]}" <<EOF
\\copy people FROM '$TMP/export/people.csv' (FORMAT csv, HEADER true)
\\copy roles FROM '$TMP/export/roles.csv' (FORMAT csv, HEADER true)
\\copy lines FROM '$TMP/export/lines.csv' (FORMAT csv, HEADER true)
EOF

# load_step N: loads the observations bench_dash loaded to reach N, with
# their quality and the rollup, then VACUUM ANALYZE.
load_step() {
    local obs=$TMP/export/observations-$1.csv scores=$TMP/export/scores-$1.csv
    "${PSQL[@]}" <<EOF
CREATE TEMP TABLE obs_in (LIKE observations);
CREATE TEMP TABLE scores_in (LIKE scores);
\\copy obs_in (id, seq, coach_id, coachee_id, observer_id, rubric_id, rubric_version, started_at, duration_s, line_manager_id) FROM '$obs' (FORMAT csv, HEADER true)
\\copy scores_in FROM '$scores' (FORMAT csv, HEADER true)
UPDATE obs_in o SET quality = q.quality
    FROM (SELECT observation_id, avg(score::float8) AS quality FROM scores_in
          WHERE score IS NOT NULL GROUP BY observation_id) q
    WHERE q.observation_id = o.id;
INSERT INTO observations SELECT * FROM obs_in;
INSERT INTO scores SELECT * FROM scores_in;
INSERT INTO weekly_rollup
    SELECT line_manager_id, rubric_id, date_trunc('week', started_at)::date, coach_id,
           count(quality), coalesce(sum(quality), 0)
    FROM obs_in WHERE line_manager_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (line_manager_id, rubric_id, week, coach_id) DO UPDATE
        SET n = weekly_rollup.n + excluded.n,
            quality_sum = weekly_rollup.quality_sum + excluded.quality_sum;
EOF
    "${PSQL[@]}" -c 'VACUUM ANALYZE'
}

# The window: bench_dash's own Mondays, and its "today".
FROM_MONDAY=$(check_field "${STEPS[0]}" window from)
UNTIL_MONDAY=$(check_field "${STEPS[0]}" window to)
TODAY=2026-05-28
if [ -z "$FROM_MONDAY" ] || [ -z "$UNTIL_MONDAY" ]; then
    echo "$PROG: bench_dash printed no check: lines" >&2
    exit 1
fi
RUBRIC=coaching-conversation

# variant_sql VARIANT SLM: the query of VARIANT for second-level manager
# SLM (an SQL expression); rows coach_id, week, mean, n.
variant_sql() {
    local managers="SELECT l.person_id FROM lines l
        JOIN roles ro ON ro.person_id = l.person_id AND ro.role = 'front_line_manager'
        WHERE l.manager_id = $2 AND l.valid_from <= DATE '$TODAY'
          AND (l.valid_until IS NULL OR l.valid_until > DATE '$TODAY')"
    local where="o.line_manager_id = $2 AND o.rubric_id = '$RUBRIC'
          AND o.started_at >= TIMESTAMPTZ '$FROM_MONDAY 00:00:00+00'
          AND o.started_at < TIMESTAMPTZ '$UNTIL_MONDAY 00:00:00+00' + interval '7 days'
          AND o.coach_id IN ($managers)"
    case $1 in
    query)
        echo "SELECT o.coach_id, date_trunc('week', o.started_at)::date AS week,
       avg(o.quality) AS mean, count(o.quality) AS n
FROM observations o
WHERE $where
GROUP BY 1, 2 ORDER BY 1, 2;"
        ;;
    rollup)
        echo "SELECT r.coach_id, r.week, r.quality_sum / nullif(r.n, 0) AS mean, r.n
FROM weekly_rollup r
WHERE r.line_manager_id = $2 AND r.rubric_id = '$RUBRIC'
  AND r.week BETWEEN DATE '$FROM_MONDAY' AND DATE '$UNTIL_MONDAY'
  AND r.coach_id IN ($managers)
ORDER BY 1, 2;"
        ;;
    normalised)
        echo "SELECT o.coach_id, date_trunc('week', o.started_at)::date AS week,
       avg(q.quality) AS mean, count(q.quality) AS n
FROM observations o
CROSS JOIN LATERAL (SELECT avg(s.score::float8) AS quality FROM scores s
                    WHERE s.observation_id = o.id AND s.score IS NOT NULL) q
WHERE $where
GROUP BY 1, 2 ORDER BY 1, 2;"
        ;;
    esac
}
VARIANTS=(query rollup normalised)
for v in "${VARIANTS[@]}"; do
    {
        echo "\\set slm random(0, 9)"
        variant_sql "$v" "'slm.' || lpad(:slm::text, 2, '0')" | tr '\n' ' '
        echo
    } >"$TMP/sql/$v.sql"
done

# check_variant SIZE VARIANT: compares VARIANT's figures for slm.00's
# flm.000 with bench_dash's; prints "agree" or "disagree (...)".
check_variant() {
    local rows what from to mean n verdict=agree detail=
    rows=$("${PSQL[@]}" -At -F ' ' -c "$(variant_sql "$2" "'slm.00'")")
    for what in window last-4-weeks; do
        from=$(check_field "$1" "$what" from)
        to=$(check_field "$1" "$what" to)
        mean=$(check_field "$1" "$what" mean)
        n=$(check_field "$1" "$what" n)
        if ! awk -v from="$from" -v to="$to" -v mean="$mean" -v n="$n" '
            $1 == "flm.000" && $2 >= from && $2 <= to { s += $3 * $4; m += $4 }
            END {
                if (m != n) exit 1
                if (mean == "none") exit 0
                d = (m > 0 ? s / m : 0) - mean
                exit (d < 0 ? -d : d) > 1e-9 * (mean < 0 ? -mean : mean) + 1e-12
            }' <<<"$rows"; then
            verdict=disagree
            detail+=" $what: coachq mean $mean n $n, PostgreSQL $(awk -v from="$from" -v to="$to" '
                $1 == "flm.000" && $2 >= from && $2 <= to { s += $3 * $4; m += $4 }
                END { printf "mean %.17g n %d", m > 0 ? s / m : 0, m }' <<<"$rows");"
        fi
    done
    echo "$verdict${detail:+ (${detail% })}"
}

# time_variant SIZE VARIANT: runs VARIANT with pgbench, prints "p50 p99
# mean runs" in ms (the first 10 executions untimed).
time_variant() {
    local log=$TMP/log/$2-$1 est n args
    rm -f "$log".*
    "$PG_BIN/pgbench" -n -h "$SOCK" -p "$PGPORT" -U coachq -M prepared -c 1 -j 1 \
        -f "$TMP/sql/$2.sql" -t 15 -l --log-prefix="$log.est" postgres >/dev/null 2>&1
    est=$(awk 'NR > 10 { s += $3; n++ } END { printf "%d", n ? s / n : 0 }' "$log".est.*)
    n=$((RUNS + 10))
    if [ $((est * RUNS)) -gt $((SECONDS_MAX * 1000000)) ]; then
        # --seconds of timed executions after the 10 untimed ones.
        args=(-T $((SECONDS_MAX + (10 * est + 999999) / 1000000)))
    else
        args=(-t "$n")
    fi
    if ! "$PG_BIN/pgbench" -n -h "$SOCK" -p "$PGPORT" -U coachq -M prepared -c 1 -j 1 \
        -f "$TMP/sql/$2.sql" "${args[@]}" -l --log-prefix="$log.run" postgres \
        >"$log.out" 2>&1; then
        echo "$PROG: pgbench ($2, $1 observations) failed:" >&2
        cat "$log.out" >&2
        return 1
    fi
    awk 'NR > 10 { print $3 / 1000 }' "$log".run.* | sort -g | awk '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print "0 0 0 0"; exit }
            printf "%.3f %.3f %.3f %d\n", v[int(NR / 2) + 1], v[int((NR - 1) * 0.99) + 1], s / NR, NR
        }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (b <= 0) printf "n/a"; else if (a / b < 0.1) printf "%.3fx", a / b; else printf "%.2fx", a / b
    }'
}

STATUS=0
REPORT=$TMP/report.txt
: >"$REPORT"
for step in "${STEPS[@]}"; do
    echo "== PostgreSQL: loading up to $step observations" >&2
    t0=$(date +%s.%N)
    load_step "$step"
    load_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    asked "$step" || continue
    db_mib=$("${PSQL[@]}" -At -c "SELECT pg_database_size('postgres') / 1048576")
    cq_p50=$(peer_field "$step" p50_ms)
    cq_p99=$(peer_field "$step" p99_ms)
    cq_runs=$(peer_field "$step" runs)
    {
        echo
        echo "$step observations: slm.XX's 20 front-line managers x $WEEKS ISO weeks ($FROM_MONDAY to $UNTIL_MONDAY)"
        echo "  (PostgreSQL $PG_VERSION: loaded up to $step observations in ${load_s} s, database $db_mib MiB)"
        printf '  %-36s %10s %10s %8s   %-22s %s\n' "" "p50 ms" "p99 ms" "runs" \
            "coachq/PG p50, p99" "check (slm.00/flm.000)"
        printf '  %-36s %10.3f %10.3f %8s\n' "coachq My managers (whole dashboard)" \
            "$cq_p50" "$cq_p99" "$cq_runs"
    } >>"$REPORT"
    for v in "${VARIANTS[@]}"; do
        echo "== PostgreSQL: timing $v at $step observations" >&2
        read -r p50 p99 _ runs < <(time_variant "$step" "$v") || exit 1
        verdict=$(check_variant "$step" "$v")
        [ "$verdict" = agree ] || STATUS=1
        case $v in
        query) label="PostgreSQL query on observations" ;;
        rollup) label="PostgreSQL weekly rollup table" ;;
        normalised) label="PostgreSQL normalised (scores joined)" ;;
        esac
        printf '  %-36s %10.3f %10.3f %8s   %-22s %s\n' "$label" "$p50" "$p99" "$runs" \
            "$(ratio "$cq_p50" "$p50"), $(ratio "$cq_p99" "$p99")" "$verdict" >>"$REPORT"
        echo "summary: $step obs $v: coachq p50 $cq_p50 ms p99 $cq_p99 ms; PostgreSQL p50 $p50 ms p99 $p99 ms; coachq/PostgreSQL p50 $(ratio "$cq_p50" "$p50") p99 $(ratio "$cq_p99" "$p99"); check $verdict" >>"$TMP/summary.txt"
    done
done

echo "bench/peers/dash.sh: coachq My managers against PostgreSQL $PG_VERSION, same organisation and observations"
echo "($(grep -m1 '^bench_dash:' "$TMP/bench_dash.out" | sed 's/; store in .*//'))"
echo "coachq: in process, one read transaction per build; PostgreSQL: pgbench, one connection over a Unix socket, prepared; times per execution on the client"
cat "$REPORT"
echo
cat "$TMP/summary.txt"
exit "$STATUS"
