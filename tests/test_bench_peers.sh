#!/usr/bin/env bash
# test_bench_peers ROOT BUILD: what bench/peers/ingest.sh relies on, without
# Redis:
#   - ingest.sh answers --help with exit 0 and refuses bad arguments with
#     exit 2 before it starts anything;
#   - bench_submit --phase C,W --total N against a real coachqd (the
#     organisation of bench/org.sh) stores exactly N records and prints a
#     result line with every field ingest.sh reads, the writer's CPU time
#     and commits among them;
#   - ingest_report.py turns result lines into a phase table and a summary
#     with the coachq/Redis ratio.
set -euo pipefail
ROOT=$1
BUILD=$2
COACHQD=$BUILD/server/coachqd
BENCH=$BUILD/bench/bench_submit
TMP=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "test_bench_peers: $*" >&2
    exit 1
}

# expect_exit CODE COMMAND...: runs COMMAND and checks its exit status.
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" >"$TMP/out" 2>&1 || rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat "$TMP/out")"
}

INGEST=$ROOT/bench/peers/ingest.sh
expect_exit 0 "$INGEST" --help
grep -q -- '--rounds N' "$TMP/out" || fail "ingest.sh --help does not describe --rounds"
expect_exit 2 "$INGEST" --rounds zero
expect_exit 2 "$INGEST" --rounds 0
expect_exit 2 "$INGEST" --seconds
expect_exit 2 "$INGEST" --no-such-option
grep -q "Try '" "$TMP/out" || fail "ingest.sh's usage error does not point to --help"

expect_exit 2 "$BENCH" --port 1 --ca x --cert x --key x --stats-cert x --stats-key x --phase 64
expect_exit 2 "$BENCH" --port 1 --ca x --cert x --key x --stats-cert x --stats-key x \
    --phase 4,2 --total 0

# One phase against a real server.
# shellcheck source=bench/org.sh
. "$ROOT/bench/org.sh"
bench_org test_bench_peers
C=$TMP/certs
"$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" --dashboard off \
    --cert "$C/server.crt" --key "$C/server.key" --ca "$C/ca.crt" --stats-interval 0 \
    2>"$TMP/server.log" &
PID=$!
for _ in $(seq 200); do
    [ -s "$TMP/port" ] && break
    sleep 0.05
done
[ -s "$TMP/port" ] || fail "coachqd did not start: $(cat "$TMP/server.log")"
timeout 120 "$BENCH" --port "$(cat "$TMP/port")" --ca "$C/ca.crt" \
    --cert "$C/users/alice.crt" --key "$C/users/alice.key" \
    --stats-cert "$C/users/lead.bench.crt" --stats-key "$C/users/lead.bench.key" \
    --phase 4,3 --total 40 >"$TMP/bench.out" 2>"$TMP/bench.err" ||
    fail "bench_submit --phase failed: $(cat "$TMP/bench.out" "$TMP/bench.err")"
line=$(sed -n 's/^result //p' "$TMP/bench.out")
[ -n "$line" ] || fail "no result line: $(cat "$TMP/bench.out")"
# field NAME: the value of NAME in the result line.
field() {
    tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"
}
for k in conns window sent stored refused dead wall_s rps p50_us p99_us p999_us max_us \
    client_cpu_s client_cpu_share commits server_records writer_cpu_us frame_bytes; do
    [ -n "$(field "$k")" ] || fail "the result line has no $k: $line"
done
[ "$(field conns)/$(field window)" = 4/3 ] || fail "wrong phase: $line"
[ "$(field sent)/$(field stored)" = 40/40 ] || fail "not 40 stored: $line"
[ "$(field server_records)" = 40 ] || fail "the server counted other records: $line"
[ "$(field refused)/$(field dead)" = 0/0 ] || fail "refusals: $line"
[ "$(field commits)" -ge 1 ] || fail "no commits: $line"
[ "$(field commits)" -le 40 ] || fail "more commits than records: $line"
[ "$(field writer_cpu_us)" -gt 0 ] || fail "no writer CPU time: $line"
[ "$(field p50_us)" -le "$(field p99_us)" ] || fail "p50 above p99: $line"
[ "$(field p99_us)" -le "$(field p999_us)" ] || fail "p99 above p99.9: $line"
[ "$(field p999_us)" -le "$(field max_us)" ] || fail "p99.9 above the maximum: $line"
[ "$(field frame_bytes)" -gt 500 ] || fail "records smaller than expected: $line"

# The report, from lines as ingest.sh writes them.
cat >"$TMP/results" <<EOF
sys=redis round=1 w=1 n=100 rps=2000.0 p50_ms=1.000 p99_ms=2.000 p999_ms=3.000 bytes_per_rec=1100 client_cpu=0.100 wc=110000
sys=coachq round=1 w=1 $line wb=123456 wc=40000 anon_kib=10240
sys=redis round=2 w=1 n=100 rps=4000.0 p50_ms=1.000 p99_ms=2.000 p999_ms=3.000 bytes_per_rec=1100 client_cpu=0.100 wc=110000
sys=coachq round=2 w=1 $line wb=123456 wc=40000 anon_kib=10240
EOF
python3 "$ROOT/bench/peers/ingest_report.py" --round 1 --w 1 "$TMP/results" >"$TMP/report" ||
    fail "ingest_report.py failed"
grep -q 'coachq/redis: ' "$TMP/report" || fail "no ratio in the phase report: $(cat "$TMP/report")"
python3 "$ROOT/bench/peers/ingest_report.py" --summary "$TMP/results" >"$TMP/report" ||
    fail "ingest_report.py --summary failed"
grep -q 'median over 2 rounds' "$TMP/report" || fail "no summary: $(cat "$TMP/report")"
grep -q 'writer CPU us/record' "$TMP/report" || fail "no writer CPU in the summary"
grep -q '^ *bytes written/record .*x' "$TMP/report" || fail "no bytes written ratio: $(cat "$TMP/report")"
grep -q 'server RssAnon MiB *10.0' "$TMP/report" || fail "no server memory: $(cat "$TMP/report")"
grep -q '^64x1 .*records/s .*x (.*x-.*x)' "$TMP/report" ||
    fail "no throughput ratio with its range: $(cat "$TMP/report")"
echo "test_bench_peers: ok"
