#!/usr/bin/env bash
# dev.sh: set up, build, run and test coachq on Debian 12.
#
#   ./dev.sh run         install what is missing, build, make development
#                        certificates if absent, and run coachqd on its defaults
#   ./dev.sh test        install, build and run every test
#   ./dev.sh test-asan   the whole suite again under AddressSanitizer + UBSan
#   ./dev.sh setup       only install the packages
#   ./dev.sh build       only build (into ./build)
#   ./dev.sh format      check the C sources with clang-format
#
# Every command is idempotent: a second run reuses what is there.
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)

PACKAGES=(build-essential cmake pkg-config clang-format openssl
          libuv1-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler
          liblmdb-dev lmdb-utils libcmocka-dev node-llhttp libjansson-dev
          libncurses-dev tmux chromium fonts-dejavu-core
          python3 python3-numpy python3-scipy python3-sklearn python3-statsmodels
          python3-mpmath)

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
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

setup() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    export DEBIAN_FRONTEND=noninteractive
    echo "dev.sh: updating package lists" >&2
    as_root apt-get update -qq
    if [ ${#missing[@]} -gt 0 ]; then
        echo "dev.sh: installing ${missing[*]}" >&2
        as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # Debian's current security release of OpenSSL, whatever the image had.
    as_root apt-get install -y -qq --only-upgrade libssl3 openssl >/dev/null
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
observations. From another terminal, in $ROOT, as the observer obs.chen:

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
build)
    build "$ROOT/build"
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
