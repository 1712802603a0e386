#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR [BENCH_SUBMIT OPTIONS...]]: makes an organisation
# in a fresh LMDB with the real administration verbs (coachqd init, import
# people, cert grant), starts a coachqd on a free loopback port (and no
# dashboard port: bench_submit reads the counters over the protocol) with
# throw-away certificates, runs bench_submit against it, and stops it.
# Bounded: a fixed number of records, then it ends by itself.
#
# Then it runs bench_dash (build time of all five dashboards at 10,000 and
# 1,000,000 stored observations, in a bare store of its own under the same
# temporary directory, ending with one "summary:" line per dashboard; a few
# minutes). BENCH_DASH=0 skips it; BENCH_DASH_ARGS passes options, e.g.
# BENCH_DASH_ARGS="--max 100000 --runs 30".
#
# The organisation: the front-line managers and reps that bench_submit's
# records name (bench_submit --org-csv), the observer alice certified for
# coaching-conversation, and the enablement lead lead.bench, who may read
# the server's counters.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
COACHQD=$BUILD/server/coachqd
BENCH=$BUILD/bench/bench_submit
TMP=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
# shellcheck source=bench/org.sh
. "$ROOT/bench/org.sh"
bench_org bench/run.sh

"$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" --dashboard off \
    --cert "$TMP/certs/server.crt" --key "$TMP/certs/server.key" --ca "$TMP/certs/ca.crt" \
    --stats-interval 0 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
if [ ! -s "$TMP/port" ]; then
    echo "bench/run.sh: coachqd did not start:" >&2
    cat "$TMP/server.log" >&2
    exit 1
fi
"$BENCH" --port "$(cat "$TMP/port")" --ca "$TMP/certs/ca.crt" \
    --cert "$TMP/certs/users/alice.crt" --key "$TMP/certs/users/alice.key" \
    --stats-cert "$TMP/certs/users/lead.bench.crt" --stats-key "$TMP/certs/users/lead.bench.key" \
    "${@:2}"

if [ "${BENCH_DASH:-1}" != 0 ]; then
    kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    PID=
    # shellcheck disable=SC2086 # BENCH_DASH_ARGS is a list of options
    TMPDIR="$TMP" "$BUILD/bench/bench_dash" ${BENCH_DASH_ARGS:-}
fi
