#!/usr/bin/env bash
# tests/check-ports.sh [ROOT]: fails when a script or test would start a
# coachqd on a fixed port.
#
# Benchmarks and tests must run beside a developer's `./dev.sh run` (which
# holds the defaults, 7443 and 8443) and beside each other, so every coachqd
# they start names every listener: --listen on a loopback address (or a
# *.invalid host, for start-up failures) with port 0, and --dashboard the
# same or off. A coachqd left to a default port fails as soon as another
# one runs.
#
# What it reads:
#   - the shell scripts under bench/, tests/ and certs/ (*.sh, or a shell
#     #! line) and dev.sh: every command line (backslash continuations
#     joined) that runs coachqd, by its path, as $COACHQD, or as a variable
#     set to a path ending in coachqd, with no verb or with "serve" (an
#     administration verb such as init or import opens no port; --help
#     neither). Addresses must be written out, not taken from a variable.
#   - the C sources under tests/ and bench/ that run coachqd (those that
#     read $COACHQD): every argument list (the words between braces or
#     NULLs) that names --listen or --port-file.
# A line whose previous line holds "check-ports: allow" is skipped; only
# `./dev.sh run`, the developer's server on its documented defaults, uses it.
# This script and tests/test_ports.sh (whose examples break the rule on
# purpose) are not read.
#
# Exit 0 clean, 1 with one line per coachqd that would take a fixed port,
# 2 on a usage error.
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
if [ $# -gt 1 ]; then
    echo "usage: tests/check-ports.sh [ROOT]" >&2
    exit 2
fi
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$ROOT" ]; then
    echo "check-ports: no such directory: $ROOT" >&2
    exit 2
fi
cd "$ROOT"

# An address that takes no fixed port: loopback (or a host that can never
# resolve) with port 0. The dashboard may also be off.
ADDR_RE='^(127\.0\.0\.1|localhost|\[::1\]|[A-Za-z0-9.-]*\.invalid):0$'

SCRIPTS=()
while IFS= read -r f; do
    case "$f" in
    tests/check-ports.sh | tests/test_ports.sh) ;; # this check and its bad examples
    *.sh) SCRIPTS+=("$f") ;;
    *) head -n 1 "$f" | grep -Eq '^#!.*(/|env )(ba)?sh' && SCRIPTS+=("$f") ;;
    esac
done < <(find bench tests certs -type f \( -name '*.sh' -o ! -name '*.*' \) 2>/dev/null | sort)
[ -f dev.sh ] && SCRIPTS+=(dev.sh)

CSRCS=()
while IFS= read -r f; do
    grep -q '"COACHQD"' "$f" && CSRCS+=("$f")
done < <(find tests bench -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

bad=0
if [ ${#SCRIPTS[@]} -gt 0 ]; then
    awk -v addr_re="$ADDR_RE" '
    function unquote(t) {
        gsub(/^["\047]+|["\047]+$/, "", t)
        return t
    }
    # A word runs coachqd when it is a whole word (unquoted, or quoted at
    # both ends) naming coachqd or a variable that holds its path.
    function is_coachqd(w,    t, q, v) {
        sub(/^(\$\(|\(|`)+/, "", w)
        sub(/[);`]+$/, "", w)
        q = substr(w, 1, 1)
        if ((q == "\"" || q == "\047") && substr(w, length(w), 1) != q) {
            return 0
        }
        if (q != "\"" && q != "\047" && w ~ /["\047]$/) {
            return 0
        }
        t = unquote(w)
        if (t ~ /=/) {
            return 0
        }
        if (t ~ /(^|\/)coachqd$/) {
            return 1
        }
        if (t ~ /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/) {
            v = t
            gsub(/[${}]/, "", v)
            return (v in alias)
        }
        return 0
    }
    # The value of option opt in words n+1.. of the command, or "" if it is
    # not named ("=" when its value is missing).
    function value_of(opt, n, nw, w,    i, t) {
        for (i = n + 1; i <= nw; i++) {
            t = unquote(w[i])
            if (t == opt) {
                return (i < nw) ? unquote(w[i + 1]) : "="
            }
            if (index(t, opt "=") == 1) {
                return substr(t, length(opt) + 2)
            }
        }
        return ""
    }
    function check(file, lineno, text,    nw, w, i, nxt, l, d) {
        nw = split(text, w, /[ \t]+/)
        for (i = 1; i <= nw; i++) {
            if (!is_coachqd(w[i])) {
                continue
            }
            nxt = (i < nw) ? unquote(w[i + 1]) : ""
            if (nxt != "" && nxt != "serve" && nxt !~ /^-/ && nxt !~ /^[&;|)<>]/ &&
                nxt !~ /^[0-9]?>/) {
                continue # an administration verb, or prose
            }
            if (nxt == "-h" || nxt == "--help") {
                continue
            }
            l = value_of("--listen", i, nw, w)
            d = value_of("--dashboard", i, nw, w)
            if (l !~ addr_re) {
                printf "%s:%d: coachqd starts without --listen on a loopback port 0%s\n",
                    file, lineno, (l == "" ? " (default 127.0.0.1:7443)" : " (" l ")") > "/dev/stderr"
                bad = 1
            }
            if (d != "off" && d !~ addr_re) {
                printf "%s:%d: coachqd starts without --dashboard off or on a loopback port 0%s\n",
                    file, lineno, (d == "" ? " (default 127.0.0.1:8443)" : " (" d ")") > "/dev/stderr"
                bad = 1
            }
        }
    }
    FNR == 1 {
        if (pending != "") {
            check(pfile, pline, pending)
        }
        pending = ""
        allow = 0
        prev = ""
        delete alias
        alias["COACHQD"] = 1
        # Variables set to a path ending in coachqd are names for it too.
        while ((getline l < FILENAME) > 0) {
            if (match(l, /^[ \t]*(local[ \t]+|export[ \t]+|readonly[ \t]+)?[A-Za-z_][A-Za-z0-9_]*=["\047]?[^ \t]*\/coachqd["\047]?[ \t]*$/)) {
                sub(/^[ \t]*(local[ \t]+|export[ \t]+|readonly[ \t]+)?/, "", l)
                alias[substr(l, 1, index(l, "=") - 1)] = 1
            }
        }
        close(FILENAME)
    }
    {
        line = $0
        if (pending == "") {
            if (line ~ /^[ \t]*#/) {
                prev = line
                next
            }
            pfile = FILENAME
            pline = FNR
            allow = (prev ~ /check-ports: allow/)
        }
        prev = line
        if (line ~ /\\$/) {
            pending = pending substr(line, 1, length(line) - 1) " "
            next
        }
        pending = pending line
        if (!allow) {
            check(pfile, pline, pending)
        }
        pending = ""
    }
    END {
        if (pending != "" && !allow) {
            check(pfile, pline, pending)
        }
        exit bad
    }' "${SCRIPTS[@]}" || bad=1
fi

if [ ${#CSRCS[@]} -gt 0 ]; then
    awk -v addr_re="$ADDR_RE" '
    # Tokens in order: string literals (with their line) and the words {, }
    # and NULL that end an argument list; comments are dropped. A list that
    # names --listen or --port-file starts a server.
    function flush_list(    i, l, d, server) {
        server = 0
        l = ""
        d = ""
        for (i = 1; i <= n; i++) {
            if (!server && (tok[i] ~ /^--listen(=|$)/ || tok[i] == "--port-file")) {
                server = 1
                line1 = tokline[i]
            }
            if (tok[i] == "--listen" && i < n) {
                l = tok[i + 1]
            } else if (index(tok[i], "--listen=") == 1) {
                l = substr(tok[i], 10)
            }
            if (tok[i] == "--dashboard" && i < n) {
                d = tok[i + 1]
            } else if (index(tok[i], "--dashboard=") == 1) {
                d = substr(tok[i], 13)
            }
        }
        if (server) {
            if (l !~ addr_re) {
                printf "%s:%d: coachqd starts without --listen on a loopback port 0%s\n",
                    FILENAME, line1, (l == "" ? " (default 127.0.0.1:7443)" : " (" l ")") > "/dev/stderr"
                bad = 1
            }
            if (d != "off" && d !~ addr_re) {
                printf "%s:%d: coachqd starts without --dashboard off or on a loopback port 0%s\n",
                    FILENAME, line1, (d == "" ? " (default 127.0.0.1:8443)" : " (" d ")") > "/dev/stderr"
                bad = 1
            }
        }
        n = 0
    }
    FNR == 1 {
        flush_list()
        incomment = 0
    }
    {
        s = $0
        out = ""
        while (s != "") {
            if (incomment) {
                e = index(s, "*/")
                if (e == 0) {
                    s = ""
                    break
                }
                s = substr(s, e + 2)
                incomment = 0
                continue
            }
            if (match(s, /\/\*|\/\/|"([^"\\]|\\.)*"|[{}]|NULL/) == 0) {
                break
            }
            t = substr(s, RSTART, RLENGTH)
            s = substr(s, RSTART + RLENGTH)
            if (t == "/*") {
                incomment = 1
            } else if (t == "//") {
                break
            } else if (t == "{" || t == "}" || t == "NULL") {
                flush_list()
            } else {
                tok[++n] = substr(t, 2, length(t) - 2)
                tokline[n] = FNR
            }
        }
    }
    END {
        flush_list()
        exit bad
    }' "${CSRCS[@]}" || bad=1
fi

if [ "$bad" -ne 0 ]; then
    echo "check-ports: a coachqd above would take a fixed port; give it --listen 127.0.0.1:0 and --dashboard off (or 127.0.0.1:0)" >&2
    exit 1
fi
echo "check-ports: every coachqd in the scripts and tests names loopback port 0 for each listener" >&2
