#!/usr/bin/env bash
# dev.sh: set up, build, run and test coachq on Debian 12.
#
#   ./dev.sh run         install what is missing, build, make development
#                        certificates if absent, and run coachqd on its defaults
#   ./dev.sh test        install, build and run every test
#   ./dev.sh test-asan   the whole suite again under AddressSanitizer + UBSan
#   ./dev.sh setup       only install the packages
#   ./dev.sh bench-setup install the peers the benchmarks compare with (Redis 7,
#                        PostgreSQL 15; bench/peers/), without starting or
#                        enabling their system services
#   ./dev.sh build       install what is missing and build (into ./build)
#   ./dev.sh format      check the C sources with clang-format
#   ./dev.sh package     build the Debian packages coachqd and coachq into
#                        build/packages
#   ./dev.sh fuzz [SECONDS]  build the libFuzzer targets (clang, ASan+UBSan,
#                        into ./build-fuzz) and run each for SECONDS (600)
#   ./dev.sh fuzz-ci     each fuzz target briefly on its seed corpus (CI)
#
# Every command is idempotent: a second run reuses what is there.
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

PACKAGES=(build-essential cmake pkg-config clang-format openssl
          libuv1-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler
          liblmdb-dev lmdb-utils libcmocka-dev node-llhttp libjansson-dev
          libncurses-dev tmux chromium fonts-dejavu-core clang libclang-rt-14-dev
          python3 python3-numpy python3-scipy python3-sklearn python3-statsmodels
          python3-mpmath tzdata
          prometheus dpkg-dev systemd
          # The change feed's tests: curl, and PostgreSQL 15 for its recipe
          # (installed with its service neither started nor enabled).
          curl postgresql-15
          groff-base man-db)
# The Debian 12 security release of OpenSSL that coachq was last checked
# with; an older libssl3 is upgraded from Debian's security archive.
MIN_LIBSSL=3.0.22-1~deb12u2
# How long apt waits for another apt or dpkg to let go of its lock.
APT_LOCK_WAIT=${APT_LOCK_WAIT:-300}
# The peers of bench/peers/, only for benchmarks: the Debian packages listed
# in bench/peers/packages (Redis with TLS, PostgreSQL 15). Each package with
# the system service it brings.
mapfile -t BENCH_PACKAGES < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' \
    "$(dirname "$0")/bench/peers/packages")
# Each package that brings system services, with those services (its
# recommended packages' too): apt_install installs it without starting them
# and disables them. prometheus is in PACKAGES for promtool (the /metrics
# test), not to run a Prometheus server.
declare -A BENCH_SERVICE=([redis-server]=redis-server [postgresql-15]=postgresql
                          [prometheus]="prometheus prometheus-node-exporter")
# Where invoke-rc.d and deb-systemd-invoke look for the local policy, and
# where sysvinit scripts are (tests point both elsewhere).
POLICY_RC_D=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
INITD=${INITD:-/etc/init.d}

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "dev.sh: need root to run: $*" >&2
        exit 1
    fi
}

# Installs only what is missing, and upgrades OpenSSL only when it is older
# than MIN_LIBSSL: with everything in place apt is not run at all, so this
# works offline and while another apt holds the lock.
setup() {
    local missing=() have
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    have=$(dpkg-query -W -f='${Version}' libssl3 2>/dev/null || true)
    if [ -n "$have" ] && ! dpkg --compare-versions "$have" ge "$MIN_LIBSSL"; then
        missing+=(libssl3 libssl-dev openssl)
    fi
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_WAIT" -y -qq)
    if command -v fuser >/dev/null 2>&1 &&
        fuser /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >/dev/null 2>&1; then
        echo "dev.sh: another apt or dpkg is running; waiting up to ${APT_LOCK_WAIT}s for its lock" >&2
    fi
    local p
    for p in "${missing[@]}"; do
        if [ -n "${BENCH_SERVICE[$p]:-}" ]; then
            apt_install "${missing[@]}"
            return
        fi
    done
    echo "dev.sh: updating package lists" >&2
    as_root "${apt[@]}" update
    echo "dev.sh: installing ${missing[*]}" >&2
    as_root "${apt[@]}" install "${missing[@]}" >/dev/null
}

# Installs the missing benchmark peers. The benchmarks start their own
# servers in temporary directories, so the packages' own services must not
# run: while apt installs, a policy-rc.d that refuses every start is put in
# place (unless the machine has one already, as Debian's container images
# do) and removed after; then the new services are disabled at boot
# (systemd and sysvinit) and stopped if something started them anyway.
# Packages already installed are left as they are, with their services.
bench_setup() {
    local missing=() p
    for p in "${BENCH_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "dev.sh: the benchmark peers are installed" >&2
        return 0
    fi
    apt_install "${missing[@]}"
}

# apt_install PKG...: updates the package lists and installs PKG... with no
# system service started while apt runs (see bench_setup), then disables at
# boot and stops the services (BENCH_SERVICE) of those packages.
apt_install() {
    local missing=("$@") p svc rc=0 made_policy=0
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_WAIT" -y -qq)
    if [ ! -e "$POLICY_RC_D" ]; then
        # shellcheck disable=SC2016 # $1 is the inner shell's argument
        as_root sh -c 'printf "#!/bin/sh\n# dev.sh: no service starts while it installs.\nexit 101\n" >"$1" && chmod 755 "$1"' sh "$POLICY_RC_D"
        made_policy=1
        trap 'as_root rm -f "$POLICY_RC_D"' EXIT
    fi
    echo "dev.sh: updating package lists" >&2
    as_root "${apt[@]}" update || rc=$?
    if [ $rc -eq 0 ]; then
        echo "dev.sh: installing ${missing[*]} (their services are not started)" >&2
        as_root "${apt[@]}" install "${missing[@]}" >/dev/null || rc=$?
    fi
    if [ $made_policy = 1 ]; then
        as_root rm -f "$POLICY_RC_D"
        trap - EXIT
    fi
    [ $rc -eq 0 ] || return $rc
    for p in "${missing[@]}"; do
        for svc in ${BENCH_SERVICE[$p]:-}; do
            if command -v deb-systemd-helper >/dev/null 2>&1; then
                as_root deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 || true
            fi
            if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
                as_root systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
            elif [ -x "$INITD/$svc" ]; then
                if command -v update-rc.d >/dev/null 2>&1; then
                    as_root update-rc.d "$svc" disable >/dev/null 2>&1 || true
                fi
                if "$INITD/$svc" status >/dev/null 2>&1; then
                    as_root "$INITD/$svc" stop >/dev/null 2>&1 || true
                fi
            fi
        done
    done
    echo "dev.sh: installed ${missing[*]}; their system services are disabled and not running" >&2
}

# build DIR [cmake options...]
build() {
    local dir=$1
    shift
    local werror=OFF
    [ "${CI:-}" = "true" ] && werror=ON
    cmake -S "$ROOT" -B "$dir" -DCOACHQ_WERROR="$werror" "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}

# The libFuzzer build: its own tree, clang, every library instrumented.
build_fuzz() {
    local werror=OFF
    [ "${CI:-}" = "true" ] && werror=ON
    CC=clang cmake -S "$ROOT" -B "$ROOT/build-fuzz" -DCOACHQ_FUZZ=ON -DCOACHQ_TESTS=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOACHQ_WERROR="$werror" >/dev/null
    cmake --build "$ROOT/build-fuzz" -j"$(nproc)"
}

# fuzz SECONDS: runs every target for SECONDS on its corpus (the seeds in
# tests/fuzz/corpus, plus what earlier runs found, kept in build-fuzz/corpus)
# and prints the executions and findings of each. Crashes are written to
# build-fuzz/findings/TARGET/. Exit 1 if any target found something.
fuzz() {
    local secs=$1 failed=0 t log runs found
    local dir="$ROOT/build-fuzz"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    printf '%-24s %14s %9s  %s\n' target executions findings result
    for t in $(cat "$dir/tests/fuzz/targets.txt"); do
        mkdir -p "$dir/corpus/$t" "$dir/findings/$t"
        log="$dir/findings/$t.log"
        # One job per target, bounded by time; libFuzzer stops at the
        # first finding, which is written to findings/TARGET/.
        if "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$dir/findings/$t/" \
            "$dir/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" >"$log" 2>&1; then
            found=0
        else
            found=1
            failed=1
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        printf '%-24s %14s %9s  %s\n' "$t" "${runs:-?}" "$found" \
            "$([ "$found" = 0 ] && echo ok || echo "FAILED: see $log")"
    done
    return $failed
}

run_tests() {
    local dir=$1
    (cd "$dir" && ctest --output-on-failure -j2)
}

case "${1:-}" in
run)
    setup
    build "$ROOT/build"
    "$ROOT/certs/coachq-certs" --dir "$ROOT/dev-certs" dev >&2
    COACHQD="$ROOT/build/server/coachqd"
    if [ ! -e "$ROOT/data/data.mdb" ]; then
        echo "dev.sh: seeding the demo organisation into $ROOT/data" >&2
        "$COACHQD" demo --data "$ROOT/data" >&2
    elif ! "$COACHQD" user show lead.amara --data "$ROOT/data" >/dev/null 2>&1; then
        echo "dev.sh: $ROOT/data holds no demo organisation; move it away to get one" >&2
    fi
    # One pinned certificate per demo role, for the client.
    for u in obs.chen flm.garcia slm.north lead.amara; do
        if [ ! -f "$ROOT/dev-certs/users/$u.crt" ] &&
            "$COACHQD" user show "$u" --data "$ROOT/data" >/dev/null 2>&1; then
            "$COACHQD" cert issue "$u" --data "$ROOT/data" --ca-cert "$ROOT/dev-certs/ca.crt" \
                --ca-key "$ROOT/dev-certs/ca.key" --out "$ROOT/dev-certs/users" >/dev/null
        fi
    done
    # One-time browser sign-in links for the dashboards (an hour each).
    LINKS=""
    for u in lead.amara slm.north flm.garcia; do
        if link=$("$COACHQD" user link "$u" --data "$ROOT/data" --url https://127.0.0.1:8443 \
            --minutes 60 2>/dev/null); then
            LINKS="$LINKS
    $(printf '%-11s' "$u") $link"
        fi
    done
    cat >&2 <<MSG

coachqd starts on 127.0.0.1:7443 (protocol, mutual TLS) and serves the
dashboards on https://127.0.0.1:8443, data in $ROOT/data,
with a demo organisation: 185 people, a training programme and a year of
observations. From another terminal, in $ROOT, as the observer obs.chen
(the client's default certificate, dev-certs/users/obs.chen.crt; the
certificates alice and bob in dev-certs/users belong to nobody in the demo
organisation):

    export COACHQ_CERT=dev-certs/users/obs.chen.crt COACHQ_KEY=dev-certs/users/obs.chen.key
    build/client/coachq whoami
    build/client/coachq rubrics
    build/client/coachq submit docs/examples/first-observation.json
    build/client/coachq list --coach flm.garcia

Certificates for flm.garcia (front-line manager), slm.north (second-level
manager) and lead.amara (enablement lead) are in dev-certs/users too.

Dashboards: open one of these one-time sign-in links in a browser (each works
once, for an hour; the certificate is the development CA's, so the browser
asks you to accept it). More with: build/server/coachqd user link USER.
$LINKS

Stop the server with Ctrl-C.

MSG
    # check-ports: allow (the developer's server, on the documented defaults)
    exec "$COACHQD" --data "$ROOT/data"
    ;;
test)
    setup
    build "$ROOT/build"
    run_tests "$ROOT/build"
    ;;
test-asan)
    setup
    build "$ROOT/build-asan" -DCOACHQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run_tests "$ROOT/build-asan"
    ;;
setup)
    setup
    ;;
bench-setup)
    bench_setup
    ;;
build)
    setup
    build "$ROOT/build"
    ;;
fuzz)
    setup
    build_fuzz
    fuzz "${2:-600}"
    ;;
fuzz-ci)
    setup
    build_fuzz
    fuzz "${FUZZ_CI_SECONDS:-20}"
    ;;
package)
    setup
    build "$ROOT/build"
    (cd "$ROOT/build" && cpack -G DEB)
    echo "dev.sh: packages in $ROOT/build/packages:" >&2
    ls "$ROOT/build/packages"/*.deb >&2
    ;;
format)
    git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
    echo "dev.sh: formatting is clean" >&2
    ;;
-h|--help|help)
    usage
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
