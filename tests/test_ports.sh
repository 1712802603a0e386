#!/usr/bin/env bash
# tests/test_ports.sh ROOT: the fixed-port check passes on the tree, passes
# on a tree of commands that take no fixed port, and fails, naming the file
# and line, on each way a script or test could start coachqd on one.
set -euo pipefail
ROOT=$1
CHECK=$ROOT/tests/check-ports.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$CHECK" "$ROOT"

# A tree with the file $1 holding stdin.
tree() {
    local t=$TMP/$2
    mkdir -p "$t/bench" "$t/tests" "$t/certs" "$(dirname "$t/$1")"
    cat >"$t/$1"
    echo "$t"
}

# The check must refuse tree $1 and name $2 in its message.
refuse() {
    if "$CHECK" "$1" 2>"$1.err"; then
        echo "test_ports: $(basename "$1") was allowed" >&2
        exit 1
    fi
    if ! grep -q -- "$2" "$1.err"; then
        echo "test_ports: $(basename "$1"): expected \"$2\", got:" >&2
        cat "$1.err" >&2
        exit 1
    fi
}

# Everything here opens no fixed port: the check passes.
t=$(tree bench/good.sh good <<'S'
#!/usr/bin/env bash
COACHQD=$1/server/coachqd
"$COACHQD" init --data "$TMP/data"
"$COACHQD" --help
echo "bench: coachqd did not start"
echo "bench: cannot stop coachqd"
"$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" \
    --dashboard off --cert c --key k --ca a &
"$COACHQD" serve --listen=[::1]:0 --dashboard=127.0.0.1:0 &
# check-ports: allow (a test of this very check)
"$COACHQD" --data "$TMP/data"
S
)
cat >"$t/tests/good.c" <<'S'
static const char *bin(void) { return getenv("COACHQD"); }
static const char *const ok[] = {"--data", "d", "--listen", "127.0.0.1:0", "--port-file", "p",
                                 "--dashboard", "off", NULL};
static const char *const admin[] = {"import", "people", "--data", "d", NULL};
/* {"--listen", "127.0.0.1:7443", NULL} in a comment is no command. */
S
"$CHECK" "$t"

# A script that leaves the dashboard to its default port.
t=$(tree bench/run.sh dash <<'S'
#!/usr/bin/env bash
"$COACHQD" --data "$TMP/data" --listen 127.0.0.1:0 --port-file "$TMP/port" &
S
)
refuse "$t" 'bench/run.sh:2: coachqd starts without --dashboard off'

# A fixed protocol port, through a variable that names coachqd, with "serve".
t=$(tree tests/peer.sh fixed <<'S'
#!/bin/sh
CQD="$BUILD/server/coachqd"
"$CQD" serve --listen 127.0.0.1:7443 --dashboard off &
S
)
refuse "$t" 'tests/peer.sh:3: coachqd starts without --listen on a loopback port 0 (127.0.0.1:7443)'

# A command over continuation lines, without --listen, with a dashboard on
# every interface.
t=$(tree dev.sh cont <<'S'
#!/usr/bin/env bash
run() {
    exec "$COACHQD" --data "$ROOT/data" \
        --dashboard 0.0.0.0:0
}
S
)
refuse "$t" 'dev.sh:3: coachqd starts without --listen on a loopback port 0 (default 127.0.0.1:7443)'
refuse "$t" 'dev.sh:3: coachqd starts without --dashboard off or on a loopback port 0 (0.0.0.0:0)'

# coachqd by its path, with no options at all, under an extensionless
# script in a subfolder.
t=$(tree bench/peers/run-peers plain <<'S'
#!/bin/bash
build/server/coachqd &
S
)
refuse "$t" 'bench/peers/run-peers:2: coachqd starts without --listen'

# A C test that runs coachqd with an argument list of its own.
t=$(tree tests/test_x.c clist <<'S'
static void start(void)
{
    const char *bin = getenv("COACHQD");
    const char *args[] = {"--data", d, "--listen", "127.0.0.1:0",
                          "--port-file", p, NULL};
    run(bin, args);
}
S
)
refuse "$t" 'tests/test_x.c:4: coachqd starts without --dashboard off'

# And one that builds argv word by word without --listen.
t=$(tree bench/bench_x.c cargv <<'S'
static void start(void)
{
    argv[argc++] = getenv("COACHQD");
    argv[argc++] = "--port-file";
    argv[argc++] = p;
    argv[argc++] = "--dashboard";
    argv[argc++] = "off";
    argv[argc] = NULL;
}
S
)
refuse "$t" 'bench/bench_x.c:4: coachqd starts without --listen'

# Usage errors.
if "$CHECK" "$TMP/none" 2>/dev/null; then
    echo "test_ports: a missing root was accepted" >&2
    exit 1
fi
"$CHECK" --help | grep -q 'fixed port' || {
    echo "test_ports: --help says nothing of fixed ports" >&2
    exit 1
}
echo "test_ports: ok"
