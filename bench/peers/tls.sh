#!/usr/bin/env bash
# bench/peers/tls.sh: coachqd's cost per idle mutual-TLS connection, and its
# full mTLS handshakes per second beside `openssl s_server` with the same
# certificates, in one run. Bounded: a few seconds per round; it stops
# every process it started (by process id) and removes its temporary
# directory on exit.
#
# Usage: bench/peers/tls.sh [options]
#   --build DIR        build directory with server/coachqd and bench/ [./build]
#   --idle N           idle connections held open for the memory figure [1000]
#   --connections C    handshakes in flight at once for the rate [16]
#   --seconds S        length of each rate measurement [5]
#   --rounds R         rounds of coachqd then s_server, alternately [3]
#   -h, --help         this help
#
# What it does, with throw-away certificates (a CA, the server's, the
# observer alice's, as bench/org.sh makes them) and a fresh store:
#  1. Starts coachqd on 127.0.0.1 port 0 (no dashboard port) with its
#     connection limits raised above N, reads its RSS (/proc/PID/status
#     VmRSS and RssAnon), opens N connections that complete the handshake
#     and the protocol's Hello/Welcome and then sit idle, reads the RSS
#     again and reports (after - before) / N in KiB. While they are open it
#     submits records and reads the server's counters (bench_submit) to show
#     the server still serves, then closes them and reads the RSS once more.
#  2. Starts `openssl s_server -rev` (TLS 1.3, -Verify 1, the same server
#     certificate, key and CA, ALPN coachq/1) on a loopback port picked free,
#     and runs bench_handshake against coachqd and s_server in turn, R
#     rounds: C connections in flight, each one full handshake with alice's
#     certificate and no resumption, then a close. Reports handshakes per
#     second, the servers' CPU per handshake (/proc/PID/stat), the medians
#     and the ratio coachqd / s_server.
#
# s_server serves one connection at a time; coachqd serves many at once.
# Figures are from one shared machine: compare the ratio within a run.
# Exit status: 0 done, 1 a step failed, 2 usage.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
IDLE=1000
CONNS=16
SECS=5
ROUNDS=3

usage() {
    sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'
}
die() {
    echo "bench/peers/tls.sh: $*" >&2
    exit 1
}
is_count() {
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    [ "$1" -ge 1 ] && [ "$1" -le "$2" ]
}
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    --build | --idle | --connections | --seconds | --rounds)
        if [ $# -lt 2 ]; then
            echo "bench/peers/tls.sh: $1 needs a value" >&2
            exit 2
        fi
        case "$1" in
        --build) BUILD=$2 ;;
        --idle) IDLE=$2 ;;
        --connections) CONNS=$2 ;;
        --seconds) SECS=$2 ;;
        --rounds) ROUNDS=$2 ;;
        esac
        shift 2
        ;;
    *)
        echo "bench/peers/tls.sh: unknown option '$1' (try --help)" >&2
        exit 2
        ;;
    esac
done
is_count "$IDLE" 100000 || { echo "bench/peers/tls.sh: --idle takes 1 to 100000" >&2; exit 2; }
is_count "$CONNS" 4096 || { echo "bench/peers/tls.sh: --connections takes 1 to 4096" >&2; exit 2; }
is_count "$SECS" 600 || { echo "bench/peers/tls.sh: --seconds takes 1 to 600" >&2; exit 2; }
is_count "$ROUNDS" 20 || { echo "bench/peers/tls.sh: --rounds takes 1 to 20" >&2; exit 2; }

COACHQD=$BUILD/server/coachqd
BENCH=$BUILD/bench/bench_submit
HS=$BUILD/bench/bench_handshake
for b in "$COACHQD" "$BENCH" "$HS"; do
    [ -x "$b" ] || die "$b is missing: build first (cmake --build $BUILD)"
done
command -v openssl >/dev/null 2>&1 || die "the openssl command is not installed"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed (it picks a free port)"

# The holder and the server each need a descriptor per idle connection.
NEED=$((IDLE + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$NEED" ]; then
    HARD=$(ulimit -Hn)
    if [ "$HARD" != unlimited ] && [ "$HARD" -lt "$NEED" ]; then
        die "--idle $IDLE needs $NEED open files; the hard limit is $HARD (ulimit -Hn)"
    fi
    ulimit -n "$NEED"
fi

TMP=$(mktemp -d)
PID=
HOLD=
SSL_PID=
stop() {
    if [ -n "$1" ]; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$HOLD"
    stop "$SSL_PID"
    stop "$PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/org.sh
. "$ROOT/bench/org.sh"
bench_org bench/peers/tls.sh
CA=$TMP/certs/ca.crt
TLS=(--ca "$CA" --cert "$TMP/certs/users/alice.crt" --key "$TMP/certs/users/alice.key")

LIMIT=$((IDLE + 128))
"$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" --dashboard off \
    --cert "$TMP/certs/server.crt" --key "$TMP/certs/server.key" --ca "$CA" \
    --max-connections "$LIMIT" --max-per-address "$LIMIT" --max-per-user "$LIMIT" \
    --idle-timeout 600000 --stats-interval 0 2>"$TMP/server.log" &
PID=$!
for _ in $(seq 200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
if [ ! -s "$TMP/port" ] || ! kill -0 "$PID" 2>/dev/null; then
    cat "$TMP/server.log" >&2
    die "coachqd did not start"
fi
PORT=$(cat "$TMP/port")

kib() { # kib FIELD: a field of coachqd's /proc/PID/status, in KiB
    sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$PID/status"
}
fds() {
    find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}
ticks() { # ticks PID: user + system CPU of a process, in clock ticks
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

echo "bench/peers/tls.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(openssl version)"
echo

# ---- 1. Memory per idle connection ----------------------------------------
# A few connections first, so that what every connection's first use
# allocates once (OpenSSL's tables, the user's record) is in "before".
"$HS" --port "$PORT" "${TLS[@]}" --idle 16 --hello --hold 0.2 >/dev/null ||
    die "warm-up connections to coachqd failed (see above)"
sleep 1
RSS0=$(kib VmRSS)
ANON0=$(kib RssAnon)
FDS0=$(fds)

"$HS" --port "$PORT" "${TLS[@]}" --idle "$IDLE" --hello --connections 32 >"$TMP/hold.out" &
HOLD=$!
for _ in $(seq 1200); do
    grep -q '^open' "$TMP/hold.out" 2>/dev/null && break
    kill -0 "$HOLD" 2>/dev/null || break
    sleep 0.1
done
grep -q '^open' "$TMP/hold.out" || die "could not open $IDLE idle connections (see above)"
sleep 1
RSS1=$(kib VmRSS)
ANON1=$(kib RssAnon)
FDS1=$(fds)

# The server still serves while they are open: submissions and its counters.
if ! "$BENCH" --port "$PORT" --ca "$CA" \
    --cert "$TMP/certs/users/alice.crt" --key "$TMP/certs/users/alice.key" \
    --stats-cert "$TMP/certs/users/lead.bench.crt" --stats-key "$TMP/certs/users/lead.bench.key" \
    --connections 2 --records 10 --window 4 --baseline 5 >"$TMP/serve.out" 2>&1; then
    cat "$TMP/serve.out" >&2
    die "coachqd did not serve while $IDLE connections were open"
fi
kill -0 "$HOLD" 2>/dev/null || die "the idle connections ended early"
stop "$HOLD"
HOLD_RC=0
wait "$HOLD" 2>/dev/null || HOLD_RC=$?
HOLD=
sleep 1
RSS2=$(kib VmRSS)
ANON2=$(kib RssAnon)

echo "coachqd memory per idle mTLS connection (handshake + Hello/Welcome, then idle)"
printf '  %-34s %10s %10s %6s\n' "" "VmRSS KiB" "RssAnon KiB" "fds"
printf '  %-34s %10s %10s %6s\n' "before" "$RSS0" "$ANON0" "$FDS0"
printf '  %-34s %10s %10s %6s\n' "with $IDLE idle connections" "$RSS1" "$ANON1" "$FDS1"
printf '  %-34s %10s %10s %6s\n' "after they closed" "$RSS2" "$ANON2" "$(fds)"
awk -v n="$IDLE" -v r0="$RSS0" -v r1="$RSS1" -v a0="$ANON0" -v a1="$ANON1" 'BEGIN {
    printf "  per idle connection: %.1f KiB RSS, %.1f KiB anonymous ((with - before) / %d)\n",
        (r1 - r0) / n, (a1 - a0) / n, n
}'
if [ "$HOLD_RC" -ne 0 ]; then
    echo "  note: the server closed some idle connections during the hold (see above)"
fi
echo "  still serving with them open: $(grep -h '^concurrent' "$TMP/serve.out" | sed 's/  */ /g')"
echo

# ---- 2. Handshakes per second: coachqd and openssl s_server ---------------
SSL_PORT=
for _ in 1 2 3 4 5; do
    SSL_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # -rev answers lines and never reads stdin (which would end it at EOF).
    openssl s_server -accept "127.0.0.1:$SSL_PORT" -cert "$TMP/certs/server.crt" \
        -key "$TMP/certs/server.key" -CAfile "$CA" -Verify 1 -verify_return_error \
        -verify_quiet -quiet -tls1_3 -alpn coachq/1 -rev </dev/null >"$TMP/s_server.log" 2>&1 &
    SSL_PID=$!
    sleep 0.5
    kill -0 "$SSL_PID" 2>/dev/null && break
    wait "$SSL_PID" 2>/dev/null || true
    SSL_PID=
done
if [ -z "$SSL_PID" ]; then
    cat "$TMP/s_server.log" >&2
    die "openssl s_server did not start"
fi

# rate NAME PORT PID: one measurement; appends "NAME rate cpu_ms" to rates.
rate() {
    local t0 t1 line
    t0=$(ticks "$3")
    if ! line=$("$HS" --port "$2" "${TLS[@]}" --connections "$CONNS" --seconds "$SECS" \
        --label "$1"); then
        echo "$line" >&2
        die "handshakes against $1 failed"
    fi
    t1=$(ticks "$3")
    echo "  $line"
    echo "$line" | awk -v name="$1" -v dt="$((t1 - t0))" -v hz="$HZ" '{
        n = match($0, /[0-9]+ full mTLS handshakes/) ? substr($0, RSTART, RLENGTH) + 0 : 0
        r = match($0, /[0-9.]+\/s;/) ? substr($0, RSTART, RLENGTH - 3) + 0 : 0
        printf "%s %s %s\n", name, r, (n > 0 ? dt * 1000 / hz / n : 0)
    }' >>"$TMP/rates"
}

echo "full mTLS handshakes per second: $CONNS in flight, ${SECS} s per run, TLS 1.3, no resumption"
: >"$TMP/rates"
for r in $(seq "$ROUNDS"); do
    echo " round $r"
    rate coachqd "$PORT" "$PID"
    rate s_server "$SSL_PORT" "$SSL_PID"
done
awk '
function median(v, n,    i, j, t) {
    for (i = 2; i <= n; i++) {
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ n[$1]++; rate[$1, n[$1]] = $2; cpu[$1, n[$1]] = $3 }
END {
    split("coachqd s_server", names, " ")
    for (k = 1; k <= 2; k++) {
        s = names[k]
        for (i = 1; i <= n[s]; i++) { rv[i] = rate[s, i]; cv[i] = cpu[s, i] }
        mr[s] = median(rv, n[s]); mc[s] = median(cv, n[s])
        printf "  median %-9s %8.0f handshakes/s, server CPU %.2f ms per handshake\n",
            s, mr[s], mc[s]
    }
    if (mr["s_server"] > 0 && mc["s_server"] > 0) {
        printf "  ratio coachqd / s_server: %.2fx the handshakes per second, %.2fx the CPU per handshake\n",
            mr["coachqd"] / mr["s_server"], mc["coachqd"] / mc["s_server"]
    }
}' "$TMP/rates"
