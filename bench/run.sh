#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR]: starts a coachqd on a free loopback port with a
# fresh LMDB and throw-away certificates, runs bench_submit against it, and
# stops it. Bounded: a fixed number of records, then it ends by itself.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
TMP=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
"$ROOT/certs/coachq-certs" --dir "$TMP/certs" dev >/dev/null 2>&1
"$BUILD/server/coachqd" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" \
    --cert "$TMP/certs/server.crt" --key "$TMP/certs/server.key" --ca "$TMP/certs/ca.crt" \
    --stats-interval 0 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
"$BUILD/bench/bench_submit" --port "$(cat "$TMP/port")" --ca "$TMP/certs/ca.crt" \
    --cert "$TMP/certs/users/alice.crt" --key "$TMP/certs/users/alice.key" "${@:2}"
