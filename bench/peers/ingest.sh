#!/usr/bin/env bash
# bench/peers/ingest.sh: coachq's ingest beside Redis's, in one run.
#
# Each round runs two phases, 64 connections with 1 and with 16 requests in
# flight, and in each phase both systems, one after the other (the order
# alternates from round to round, so a drift of the shared machine does not
# favour either):
#
#   Redis  Debian's redis-server in a temp dir of its own: TLS only (port 0,
#          tls-port on a free loopback port, tls-auth-clients yes, the same
#          throw-away CA and certificates as coachqd), appendonly yes,
#          appendfsync always; loaded by redis-benchmark --tls, 64 clients,
#          SET with 1 KB values, -P 1 or -P 16.
#   coachq coachqd on a copy of a fresh store made by bench/org.sh, on
#          127.0.0.1 port 0, loaded by bench_submit --phase 64,1 or 64,16
#          (one event loop, records of about 1 KB).
#
# Both start empty for every phase, and both are stopped by PID. Every ack
# means an fsynced write on both sides.
#
# Printed per phase and round: records/s, ack latency p50/p99/p99.9 (ms),
# coachq/Redis throughput ratio, coachq's records per commit and writer CPU
# microseconds per record (the server's GetStats counters), bytes written
# per record (wchar of /proc/PID/io of the server over the phase: what it
# handed to write calls; and the kernel's write_bytes, which counts whole
# large page-cache folios and can be several times more), and
# the load client's CPU as a share of one core and in microseconds per
# request (for both clients bash's time of the whole process, so
# bench_submit's 64 TLS handshakes count as redis-benchmark's do),
# coachqd's event loop thread's CPU in microseconds per request (its
# utime+stime in /proc/PID/task/PID/stat over the phase, its 64 handshakes
# included: TLS, framing,
# decoding, checks and the acks; the writer is a thread of its own), and
# coachqd's anonymous
# memory (RssAnon) at the end of the phase. Then a summary: the median
# over rounds with min-max. Redis's p99.9 is read from redis-benchmark's
# percentile distribution: the first percentile it prints at or above 99.9%
# (an upper bound within its histogram's precision). With -P 16
# redis-benchmark sends 16 requests and waits for all 16 replies before the
# next 16, and times each from its batch's send; bench_submit keeps 16 in
# flight, sending one as each answer arrives, and times each request alone.
#
# Needs ./dev.sh bench-setup (redis-server, redis-tools) and a build
# (./dev.sh build). The default run takes about 4 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROG=bench/peers/ingest.sh
ROUNDS=3
DURATION=8
MAX_BATCH=
RECORDS=0
BUILD=$ROOT/build
CONNS=64

usage() {
    cat <<EOF
Usage: $PROG [--rounds N] [--seconds D | --records N] [--max-batch N] [--build DIR]

Runs Redis (TLS, appendfsync always) and coachqd alternately, at $CONNS
connections with 1 and 16 requests in flight, and prints throughput, ack
latency percentiles, the coachq/Redis ratio and coachq's writer figures per
phase and round, then the median over rounds (min-max).

Options:
  --rounds N    rounds (default $ROUNDS)
  --seconds D   length of each coachq phase in seconds (default $DURATION); Redis
                gets as many requests as it did in about D seconds in the
                previous round (a first guess in round 1)
  --records N   instead: exactly N records per phase for both
  --max-batch N coachqd's --max-batch (default: coachqd's own)
  --build DIR   the build directory with coachqd and bench_submit
                (default $ROOT/build)
  --help        this text

Needs: ./dev.sh bench-setup (Redis) and ./dev.sh build.
Exit status: 0 when every phase ran and stored everything, 1 on a failure,
2 on a usage error.
EOF
}

usage_error() {
    echo "$PROG: $*" >&2
    echo "Try '$PROG --help'." >&2
    exit 2
}

# number NAME VALUE MAX: checks a whole number 1..MAX.
number() {
    case $2 in
    '' | *[!0-9]*) usage_error "$1 wants a whole number, not '$2'" ;;
    esac
    if [ "$2" -lt 1 ] || [ "$2" -gt "$3" ]; then
        usage_error "$1 wants 1..$3, not $2"
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
    --rounds)
        [ $# -ge 2 ] || usage_error "--rounds needs a value"
        number --rounds "$2" 100
        ROUNDS=$2
        shift 2
        ;;
    --seconds)
        [ $# -ge 2 ] || usage_error "--seconds needs a value"
        number --seconds "$2" 3600
        DURATION=$2
        RECORDS=0
        shift 2
        ;;
    --records)
        [ $# -ge 2 ] || usage_error "--records needs a value"
        number --records "$2" 10000000
        RECORDS=$2
        shift 2
        ;;
    --max-batch)
        [ $# -ge 2 ] || usage_error "--max-batch needs a value"
        [[ $2 =~ ^[1-9][0-9]*$ ]] || usage_error "--max-batch must be a positive whole number"
        MAX_BATCH=$2
        shift 2
        ;;
    --build)
        [ $# -ge 2 ] || usage_error "--build needs a value"
        BUILD=$(cd "$2" && pwd) || usage_error "no build directory $2"
        shift 2
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage_error "unknown argument '$1'"
        ;;
    esac
done

COACHQD=$BUILD/server/coachqd
BENCH=$BUILD/bench/bench_submit
for t in redis-server redis-benchmark redis-cli; do
    command -v "$t" >/dev/null 2>&1 || {
        echo "$PROG: $t is missing: run ./dev.sh bench-setup" >&2
        exit 1
    }
done
for t in "$COACHQD" "$BENCH"; do
    [ -x "$t" ] || {
        echo "$PROG: $t is missing: run ./dev.sh build (or pass --build DIR)" >&2
        exit 1
    }
done
command -v python3 >/dev/null 2>&1 || {
    echo "$PROG: python3 is missing: run ./dev.sh setup" >&2
    exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/coachq-ingest.XXXXXX")
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_server: stops the server started last (PID), and waits for it.
stop_server() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        PID=
    fi
}

# write_bytes PID: bytes the kernel counts as sent to storage for the
# process (whole large page-cache folios: it can be several times what a
# small write changes).
write_bytes() {
    sed -n 's/^write_bytes: //p' "/proc/$1/io"
}

# wchar PID: bytes the process handed to write calls (its files, and its
# sockets' answers, which are small beside them).
wchar() {
    sed -n 's/^wchar: //p' "/proc/$1/io"
}

# loop_ticks PID: the CPU time (utime + stime, clock ticks) of the process's
# first thread, coachqd's event loop (the writer and the thread pool are
# threads of their own).
loop_ticks() {
    awk '{print $14 + $15}' "/proc/$1/task/$1/stat"
}

# free_port: a loopback TCP port that nothing listens on now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# The organisation and the certificates, made once with the real
# administration verbs; every coachq phase starts from a copy of this store.
TMP=$WORK/org
mkdir -p "$TMP"
# shellcheck source=bench/org.sh
. "$ROOT/bench/org.sh"
bench_org "$PROG"
CERTS=$TMP/certs
RESULTS=$WORK/results

# redis_phase ROUND W: one Redis phase; appends its result line.
redis_phase() {
    local round=$1 w=$2 dir=$WORK/redis-$1-$2 port n wb0 wb1 wc0 wc1 out t treal tuser tsys
    mkdir -p "$dir"
    if [ "$RECORDS" -gt 0 ]; then
        n=$RECORDS
    else
        n=$(python3 - "$RESULTS" "$w" "$DURATION" <<'EOF'
import sys
path, w, d = sys.argv[1], sys.argv[2], float(sys.argv[3])
rate = 6000.0 if w == "1" else 25000.0
try:
    for line in open(path):
        f = dict(kv.split("=", 1) for kv in line.split())
        if f["sys"] == "redis" and f["w"] == w:
            rate = float(f["rps"])
except FileNotFoundError:
    pass
print(max(1000, int(rate * d)))
EOF
        )
    fi
    port=$(free_port)
    cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
port 0
tls-port $port
tls-cert-file $CERTS/server.crt
tls-key-file $CERTS/server.key
tls-ca-cert-file $CERTS/ca.crt
tls-auth-clients yes
appendonly yes
appendfsync always
save ""
dir $dir
daemonize no
logfile $dir/redis.log
EOF
    redis-server "$dir/redis.conf" &
    PID=$!
    local tls=(--tls --cacert "$CERTS/ca.crt" --cert "$CERTS/users/alice.crt"
        --key "$CERTS/users/alice.key" -h 127.0.0.1 -p "$port")
    for _ in $(seq 100); do
        [ "$(redis-cli "${tls[@]}" ping 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    if [ "$(redis-cli "${tls[@]}" ping 2>/dev/null)" != PONG ]; then
        echo "$PROG: redis-server did not come up:" >&2
        cat "$dir/redis.log" >&2
        exit 1
    fi
    if [ "$(redis-cli "${tls[@]}" config get appendfsync | tail -1)" != always ]; then
        echo "$PROG: redis-server is not on appendfsync always" >&2
        exit 1
    fi
    wb0=$(write_bytes "$PID")
    wc0=$(wchar "$PID")
    # The load client's own CPU time comes from bash's time keyword.
    t=$( {
        TIMEFORMAT='%3R %3U %3S'
        time timeout 600 redis-benchmark "${tls[@]}" -c "$CONNS" -n "$n" -d 1024 -t set \
            -r 1000000 -P "$w" --precision 3 >"$dir/bench.out" 2>"$dir/bench.err"
    } 2>&1)
    wb1=$(write_bytes "$PID")
    wc1=$(wchar "$PID")
    stop_server
    read -r treal tuser tsys <<<"$t"
    out=$(python3 - "$dir/bench.out" "$n" "$wb1" "$wb0" "$treal" "$tuser" "$tsys" <<'EOF'
import re, sys
path, n, wb1, wb0, real, user, sys_ = sys.argv[1:8]
text = open(path).read().replace("\r", "\n")
# The percentile list comes first; the cumulative one after it is by value.
pcts = text.split("Cumulative distribution")[0]
rps = float(re.search(r"throughput summary: ([0-9.]+) requests per second", text).group(1))
m = re.search(r"latency summary \(msec\):\s*\n\s*avg.*\n\s*([0-9. ]+)\n", text)
avg, mn, p50, p95, p99, mx = (float(x) for x in m.group(1).split())
p999 = mx
for pct, ms in re.findall(r"([0-9.]+)% <= ([0-9.]+) milliseconds", pcts):
    if float(pct) >= 99.9:
        p999 = float(ms)
        break
n = int(n)
print("rps=%.1f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f bytes_per_rec=%.0f client_cpu=%.3f"
      % (rps, p50, p99, p999, (int(wb1) - int(wb0)) / n,
         (float(user) + float(sys_)) / float(real)))
EOF
    ) || {
        echo "$PROG: could not read redis-benchmark's output:" >&2
        cat "$dir/bench.out" "$dir/bench.err" >&2
        exit 1
    }
    echo "sys=redis round=$round w=$w n=$n $out wc=$((wc1 - wc0)) client_s=$(python3 -c \
        "print('%.3f' % ($tuser + $tsys))")" >>"$RESULTS"
    rm -rf "$dir"
}

# coachq_phase ROUND W: one coachqd phase; appends its result line.
coachq_phase() {
    local round=$1 w=$2 dir=$WORK/coachq-$1-$2 wb0 wb1 wc0 wc1 lt0 lt1 line load anon t treal tuser tsys
    mkdir -p "$dir"
    cp -r --sparse=always "$TMP/data" "$dir/data"
    "$COACHQD" --data "$dir/data" --listen 127.0.0.1:0 --port-file "$dir/port" \
        --dashboard off ${MAX_BATCH:+--max-batch "$MAX_BATCH"} \
        --cert "$CERTS/server.crt" --key "$CERTS/server.key" --ca "$CERTS/ca.crt" \
        --stats-interval 0 2>"$dir/server.log" &
    PID=$!
    for _ in $(seq 200); do
        [ -s "$dir/port" ] && break
        sleep 0.05
    done
    if [ ! -s "$dir/port" ]; then
        echo "$PROG: coachqd did not come up:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    if [ "$RECORDS" -gt 0 ]; then
        load=(--total "$RECORDS")
    else
        load=(--seconds "$DURATION")
    fi
    wb0=$(write_bytes "$PID")
    wc0=$(wchar "$PID")
    lt0=$(loop_ticks "$PID")
    # The load client's CPU time comes from bash's time keyword, as
    # redis-benchmark's does: the whole process, its 64 handshakes included.
    if ! t=$( {
        TIMEFORMAT='%3R %3U %3S'
        time timeout 600 "$BENCH" --port "$(cat "$dir/port")" --ca "$CERTS/ca.crt" \
            --cert "$CERTS/users/alice.crt" --key "$CERTS/users/alice.key" \
            --stats-cert "$CERTS/users/lead.bench.crt" --stats-key "$CERTS/users/lead.bench.key" \
            --phase "$CONNS,$w" "${load[@]}" >"$dir/bench.out" 2>"$dir/bench.err"
    } 2>&1); then
        echo "$PROG: bench_submit failed:" >&2
        cat "$dir/bench.out" "$dir/bench.err" >&2
        grep -E "level=(warn|error)|shutdown|store_" "$dir/server.log" | grep -v request_error | head -20 >&2
        exit 1
    fi
    wb1=$(write_bytes "$PID")
    wc1=$(wchar "$PID")
    lt1=$(loop_ticks "$PID")
    anon=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$PID/status")
    stop_server
    line=$(sed -n 's/^result //p' "$dir/bench.out")
    read -r treal tuser tsys <<<"$t"
    echo "sys=coachq round=$round w=$w $line wb=$((wb1 - wb0)) wc=$((wc1 - wc0)) anon_kib=${anon:-0} loop_ticks=$((lt1 - lt0)) clk_tck=$(getconf CLK_TCK) proc_real_s=$treal proc_cpu_s=$(python3 -c \
        "print('%.3f' % ($tuser + $tsys))")" >>"$RESULTS"
    rm -rf "$dir"
}

: >"$RESULTS"
if [ "$RECORDS" -gt 0 ]; then
    what="$RECORDS records per phase"
else
    what="coachq ${DURATION}s per phase, Redis as many requests as ~${DURATION}s"
fi
echo "ingest: $ROUNDS rounds, $CONNS connections, 1 and 16 in flight; $what"
echo "ingest: $(redis-server --version | cut -d' ' -f1-3), coachq $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?"), $(nproc) cores"
for round in $(seq "$ROUNDS"); do
    for w in 1 16; do
        if [ $((round % 2)) = 1 ]; then
            redis_phase "$round" "$w"
            coachq_phase "$round" "$w"
        else
            coachq_phase "$round" "$w"
            redis_phase "$round" "$w"
        fi
        python3 "$ROOT/bench/peers/ingest_report.py" --round "$round" --w "$w" "$RESULTS"
    done
done
python3 "$ROOT/bench/peers/ingest_report.py" --summary "$RESULTS"
