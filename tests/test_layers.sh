#!/usr/bin/env bash
# tests/test_layers.sh ROOT: the layering check passes on the tree, and
# fails, naming the edge, on trees that break each kind of rule.
set -euo pipefail
ROOT=$1
CHECK=$ROOT/tests/check-layers.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$CHECK" "$ROOT"

# A tree with one header per folder and one source that includes $2 from
# folder $1: the check must refuse it and name the edge in its message.
refuse() {
    local from=$1 hdr=$2 want=$3 t
    t=$TMP/$from-${hdr%.h}
    mkdir -p "$t"
    for f in common proto store query web admin server client; do
        mkdir -p "$t/$f"
        echo "/* $f */" >"$t/$f/$f.h"
    done
    echo "/* JSON */" >"$t/proto/obs_json.h"
    printf '#include "%s"\n' "$hdr" >"$t/$from/bad.c"
    if "$CHECK" "$t" 2>"$t/err"; then
        echo "test_layers: $from/ including $hdr was allowed" >&2
        exit 1
    fi
    if ! grep -q -- "$want" "$t/err"; then
        echo "test_layers: $from/ including $hdr: expected \"$want\", got:" >&2
        cat "$t/err" >&2
        exit 1
    fi
}
refuse common proto.h "common/ may use only: common"
refuse store query.h "store/ may use only"
refuse store obs_json.h "proto/obs_json.h, a format"
refuse client store.h "client/ may use only: client proto common"
refuse query web.h "query/ may use only"
refuse admin web.h "admin/ may use only"
refuse web admin.h "web/ may use only"
refuse proto nosuch.h "which no folder has"
# The session model may not draw.
t=$TMP/session-curses
mkdir -p "$t/client"
printf '#include <curses.h>\n' >"$t/client/session.c"
if "$CHECK" "$t" 2>"$t/err" || ! grep -q "session model must not draw" "$t/err"; then
    echo "test_layers: curses in the session model was allowed" >&2
    exit 1
fi
echo "test_layers: every forbidden edge is refused" >&2
