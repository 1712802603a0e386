#!/usr/bin/env bash
# bench/soak.sh [BUILD_DIR]: memory and descriptors of coachqd under
# sustained ingest, for a bounded time.
#
# Makes the same organisation as bench/run.sh in a fresh LMDB, starts a
# coachqd on a free loopback port, and runs bench_submit against it again
# and again (SOAK_CONNECTIONS connections, new records every round) until
# SOAK_SECONDS have passed; then it stops both by their process ids and
# removes its temporary directory. Every SOAK_INTERVAL seconds it samples
# the server's RssAnon (anonymous memory: the heap and stacks, not LMDB's
# mapped file, which RSS counts), its open descriptors and the store size.
#
# It prints the samples, then the least-squares slope of RssAnon after the
# warm-up (SOAK_WARMUP seconds, default a fifth of the run) in MiB/hour, and
# the descriptor counts. The target is under 1 MiB/hour over two hours.
#
#   SOAK_SECONDS=600 SOAK_INTERVAL=10 SOAK_CONNECTIONS=16 bench/soak.sh
#   SOAK_SAMPLES=FILE   also write the samples there (CSV)
#   SOAK_SERVER_ARGS="--map-size 1073741824"   more options for coachqd
#   SOAK_WRAP="valgrind --tool=massif --massif-out-file=/tmp/massif.out"
#                       runs coachqd under a tool (with SOAK_KEEP=1 to read
#                       the results; BUILD_DIR=build-asan for LeakSanitizer)
#   SOAK_KEEP=1         keep the temporary directory (the server's log, e.g.
#                       LeakSanitizer's report from a build-asan coachqd)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
COACHQD=$BUILD/server/coachqd
BENCH=$BUILD/bench/bench_submit
SECONDS_TOTAL=${SOAK_SECONDS:-600}
INTERVAL=${SOAK_INTERVAL:-10}
WARMUP=${SOAK_WARMUP:-$((SECONDS_TOTAL / 5))}
CONNECTIONS=${SOAK_CONNECTIONS:-16}
TMP=$(mktemp -d)
PID=
LOAD=
cleanup() {
    if [ -n "$LOAD" ]; then
        kill -TERM "$LOAD" 2>/dev/null || true
        wait "$LOAD" 2>/dev/null || true
    fi
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    if [ "${SOAK_KEEP:-0}" = 1 ]; then
        echo "bench/soak.sh: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/org.sh
. "$ROOT/bench/org.sh"
bench_org bench/soak.sh

# shellcheck disable=SC2086 # SOAK_WRAP and SOAK_SERVER_ARGS are lists of words
${SOAK_WRAP:-} "$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" \
    --dashboard off --cert "$TMP/certs/server.crt" --key "$TMP/certs/server.key" \
    --ca "$TMP/certs/ca.crt" --stats-interval 0 ${SOAK_SERVER_ARGS:-} 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 1200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
if [ ! -s "$TMP/port" ]; then
    echo "bench/soak.sh: coachqd did not start:" >&2
    cat "$TMP/server.log" >&2
    exit 1
fi
PORT=$(cat "$TMP/port")

# The load: rounds of bench_submit until the end; it is stopped with the run.
(
    trap 'exit 0' TERM
    while :; do
        "$BENCH" --port "$PORT" --ca "$TMP/certs/ca.crt" \
            --cert "$TMP/certs/users/alice.crt" --key "$TMP/certs/users/alice.key" \
            --stats-cert "$TMP/certs/users/lead.bench.crt" \
            --stats-key "$TMP/certs/users/lead.bench.key" \
            --connections "$CONNECTIONS" --records 500 --window 16 --baseline 1 \
            >>"$TMP/bench.log" 2>&1 || sleep 1
    done
) &
LOAD=$!

kib() {
    sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$PID/status"
}

echo "seconds,rss_anon_kib,rss_file_kib,fds,store_mib" >"$TMP/samples.csv"
printf '%8s %12s %12s %5s %10s\n' seconds RssAnon_KiB RssFile_KiB fds store_MiB
START=$(date +%s)
while :; do
    NOW=$(($(date +%s) - START))
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "bench/soak.sh: coachqd exited:" >&2
        tail -20 "$TMP/server.log" >&2
        PID=
        exit 1
    fi
    ANON=$(kib RssAnon)
    FILE=$(kib RssFile)
    FDS=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    STORE=$(($(stat -c %s "$TMP/data/data.mdb") / 1048576))
    echo "$NOW,$ANON,$FILE,$FDS,$STORE" >>"$TMP/samples.csv"
    printf '%8s %12s %12s %5s %10s\n' "$NOW" "$ANON" "$FILE" "$FDS" "$STORE"
    [ "$NOW" -ge "$SECONDS_TOTAL" ] && break
    sleep "$INTERVAL"
done
[ -n "${SOAK_SAMPLES:-}" ] && cp "$TMP/samples.csv" "$SOAK_SAMPLES"

# Least squares over the samples after the warm-up: KiB/s to MiB/hour.
awk -F, -v warm="$WARMUP" 'NR > 1 && $1 >= warm {
        n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2
        if (n == 1) { first = $2 } last = $2
        if (fmin == "" || $4 < fmin) fmin = $4
        if ($4 > fmax) fmax = $4
    }
    END {
        if (n < 3 || n * sxx - sx * sx == 0) {
            print "bench/soak.sh: too few samples after the warm-up for a slope"
            exit 1
        }
        slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        printf "RssAnon after %d s of warm-up: %.1f MiB -> %.1f MiB over %d samples\n",
            warm, first / 1024, last / 1024, n
        printf "slope: %.2f MiB/hour (least squares; target under 1 MiB/hour)\n",
            slope * 3600 / 1024
        printf "descriptors: %d to %d\n", fmin, fmax
    }' "$TMP/samples.csv"
grep -h '^concurrent' "$TMP/bench.log" | awk '{ n += $9 } END { printf "records stored: about %d\n", n }'
