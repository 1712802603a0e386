#!/usr/bin/env bash
# test_devsh ROOT COACHQ: the setup robustness of dev.sh and the client's
# default identity.
#   - `./dev.sh setup` with every package installed and a recent libssl3
#     runs no apt at all (apt-get here fails, as with no network or a held
#     lock) and exits 0;
#   - an old libssl3 or a missing package runs apt-get update and install of
#     just those, with a wait for the dpkg lock;
#   - a failing apt then fails setup;
#   - `./dev.sh bench-setup` installs only the missing peers, with service
#     starts refused during the install, and disables and stops their
#     services after;
#   - setup installs its own packages that bring a service (prometheus,
#     PostgreSQL) the same way;
#   - the client's default certificate is the demo observer's, which
#     `./dev.sh run` issues (alice and bob are unknown to the demo).
set -euo pipefail
ROOT=$1
COACHQ=$2
STUB=$(mktemp -d)
trap 'rm -rf "$STUB"' EXIT
export STUB_LOG=$STUB/log

cat >"$STUB/apt-get" <<'S'
#!/bin/sh
echo "apt-get $*" >>"$STUB_LOG"
[ -n "${APT_FAIL:-}" ] && exit 100
exit 0
S
cat >"$STUB/dpkg-query" <<'S'
#!/bin/sh
# dpkg-query -W -f=FORMAT PACKAGE
case "$2" in
*Status*)
    case " ${STUB_MISSING:-} " in *" $3 "*) exit 1 ;; esac
    printf 'install ok installed' ;;
*Version*) printf '%s' "$STUB_SSL" ;;
esac
S
printf '#!/bin/sh\nexec "$@"\n' >"$STUB/sudo"
printf '#!/bin/sh\nexit 1\n' >"$STUB/fuser"
chmod +x "$STUB"/*

fail() {
    echo "test_devsh: $*" >&2
    [ -f "$STUB_LOG" ] && sed 's/^/  /' "$STUB_LOG" >&2
    exit 1
}

setup() {
    rm -f "$STUB_LOG"
    PATH="$STUB:$PATH" "$ROOT/dev.sh" setup >"$STUB/out" 2>&1
}

# Everything there: no apt, even though apt would fail.
if ! STUB_SSL=9.9.9-1 APT_FAIL=1 setup; then
    fail "setup failed with everything installed: $(cat "$STUB/out")"
fi
[ ! -s "$STUB_LOG" ] || fail "setup ran apt with everything installed"

# An old OpenSSL: update, then upgrade just it, waiting for the lock.
STUB_SSL=3.0.2-0+deb12u0 setup || fail "setup failed to upgrade OpenSSL"
grep -q 'update' "$STUB_LOG" || fail "no apt-get update before the upgrade"
grep -q 'DPkg::Lock::Timeout=' "$STUB_LOG" || fail "apt-get does not wait for the lock"
grep -q 'install .*libssl3' "$STUB_LOG" || fail "libssl3 was not upgraded"
if grep -q 'install .*cmake' "$STUB_LOG"; then
    fail "setup installed a package that was there"
fi

# A missing package: only it is installed.
STUB_SSL=9.9.9-1 STUB_MISSING=cmake setup || fail "setup failed to install cmake"
grep -q 'install .*cmake' "$STUB_LOG" || fail "cmake was not installed"
if grep -q 'install .*libssl3' "$STUB_LOG"; then
    fail "setup upgraded OpenSSL that was recent"
fi

# apt failing when it is needed fails setup.
if STUB_SSL=9.9.9-1 STUB_MISSING=cmake APT_FAIL=1 setup; then
    fail "setup succeeded although apt-get failed"
fi

# bench-setup: the peers, installed with no service started (a policy-rc.d
# that refuses starts is there during the install and gone after), then
# disabled at boot and stopped.
export POLICY_RC_D=$STUB/policy-rc.d INITD=$STUB/initd
mkdir -p "$INITD"
cat >"$STUB/apt-get" <<'S'
#!/bin/sh
if [ -x "$POLICY_RC_D" ]; then
    "$POLICY_RC_D" redis-server start
    echo "apt-get $* (policy-rc.d says $?)" >>"$STUB_LOG"
else
    echo "apt-get $* (no policy-rc.d)" >>"$STUB_LOG"
fi
[ -n "${APT_FAIL:-}" ] && exit 100
exit 0
S
# shellcheck disable=SC2016 # the stubs expand their own arguments
for t in deb-systemd-helper update-rc.d systemctl; do
    printf '#!/bin/sh\necho "%s $*" >>"$STUB_LOG"\n' "$t" >"$STUB/$t"
done
# shellcheck disable=SC2016
printf '#!/bin/sh\necho "initd redis-server $1" >>"$STUB_LOG"\n' >"$INITD/redis-server"
chmod +x "$STUB"/* "$INITD"/*
bench_setup() {
    rm -f "$STUB_LOG"
    PATH="$STUB:$PATH" "$ROOT/dev.sh" bench-setup >"$STUB/out" 2>&1
}
STUB_SSL=9.9.9-1 APT_FAIL=1 bench_setup || fail "bench-setup failed with the peers installed"
[ ! -s "$STUB_LOG" ] || fail "bench-setup ran apt with the peers installed"
STUB_SSL=9.9.9-1 STUB_MISSING="redis-server redis-tools" bench_setup ||
    fail "bench-setup failed: $(cat "$STUB/out")"
grep -q 'install redis-server redis-tools (policy-rc.d says 101)' "$STUB_LOG" ||
    fail "bench-setup did not install the missing peers with service starts refused"
if grep -q 'install .*postgresql' "$STUB_LOG"; then
    fail "bench-setup installed a peer that was there"
fi
[ ! -e "$POLICY_RC_D" ] || fail "bench-setup left its policy-rc.d behind"
grep -q 'deb-systemd-helper disable redis-server.service' "$STUB_LOG" ||
    fail "bench-setup did not disable redis-server at boot"
if [ ! -d /run/systemd/system ]; then
    grep -q 'update-rc.d redis-server disable' "$STUB_LOG" ||
        fail "bench-setup did not disable redis-server's init script"
    grep -q 'initd redis-server stop' "$STUB_LOG" || fail "bench-setup did not stop redis-server"
fi
# setup installs PostgreSQL (the change feed's recipe test needs it) as
# bench-setup installs the peers: its service neither started nor enabled.
STUB_SSL=9.9.9-1 STUB_MISSING=postgresql-15 setup || fail "setup failed to install postgresql-15"
grep -q 'install postgresql-15 (policy-rc.d says 101)' "$STUB_LOG" ||
    fail "setup did not install postgresql-15 with service starts refused"
grep -q 'deb-systemd-helper disable postgresql.service' "$STUB_LOG" ||
    fail "setup did not disable postgresql at boot"
[ ! -e "$POLICY_RC_D" ] || fail "setup left its policy-rc.d behind"
# A machine's own policy-rc.d is used and kept.
printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
chmod +x "$POLICY_RC_D"
STUB_SSL=9.9.9-1 STUB_MISSING=redis-tools bench_setup || fail "bench-setup failed: $(cat "$STUB/out")"
[ -x "$POLICY_RC_D" ] || fail "bench-setup removed the machine's own policy-rc.d"
rm -f "$POLICY_RC_D"
# A failing apt fails bench-setup, and the policy-rc.d still goes.
if STUB_SSL=9.9.9-1 STUB_MISSING=redis-tools APT_FAIL=1 bench_setup; then
    fail "bench-setup succeeded although apt-get failed"
fi
[ ! -e "$POLICY_RC_D" ] || fail "bench-setup left its policy-rc.d behind after a failure"

# setup's own packages with a service (prometheus, for promtool) are
# installed the same way: no start during the install, disabled after.
STUB_SSL=9.9.9-1 STUB_MISSING=prometheus setup || fail "setup failed: $(cat "$STUB/out")"
grep -q 'install prometheus (policy-rc.d says 101)' "$STUB_LOG" ||
    fail "setup installed prometheus with its services free to start"
grep -q 'deb-systemd-helper disable prometheus.service' "$STUB_LOG" ||
    fail "setup did not disable prometheus at boot"
grep -q 'deb-systemd-helper disable prometheus-node-exporter.service' "$STUB_LOG" ||
    fail "setup did not disable prometheus-node-exporter at boot"
[ ! -e "$POLICY_RC_D" ] || fail "setup left its policy-rc.d behind"

# The client's default identity is the demo observer.
"$COACHQ" --help 2>&1 | grep -q 'default dev-certs/users/obs.chen.crt' ||
    fail "coachq --help names another default certificate"
grep -q 'for u in obs.chen ' "$ROOT/dev.sh" || fail "dev.sh run issues no certificate to obs.chen"
echo "test_devsh: ok"
