#!/usr/bin/env bash
# tests/check-layers.sh [ROOT]: fails on an #include across a forbidden edge
# of the layering in docs/architecture.md ("Layers").
#
# Every folder is one static library and may include the headers of the
# folders it may use, and no others:
#
#   common  -
#   proto   common
#   store   common, proto's schema and rules (PROTO_CORE), not its formats
#   query   store, proto, common
#   web     query, store, proto, common
#   admin   store, proto, common
#   server  admin, web, query, store, proto, common
#   client  proto, common
#
# The link lines (each folder's CMakeLists.txt) already make most forbidden
# includes fail to compile: a folder sees only the include directories of
# the libraries it links. This script is the check that names the edge, and
# it also holds two finer rules that no include path can: the store reads
# proto's wire schema and its checks, never JSON or table formats; and the
# client's session model (client/session*) includes no curses.
#
# A header is found by its name in the folders; the generated coachq.pb-c.h
# belongs to proto. Exit 0 clean, 1 with one line per forbidden include.
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"

FOLDERS=(common proto store query web admin server client)
declare -A MAY=(
    [common]="common"
    [proto]="proto common"
    [store]="store common proto"
    [query]="query store proto common"
    [web]="web query store proto common"
    [admin]="admin store proto common"
    [server]="server admin web query store proto common"
    [client]="client proto common"
)
# The part of proto/ the store may use: the schema, framing-free wire
# helpers and the rules of each record; not obs_json, rubric_json, jsonx,
# dashfmt or outcomes_csv.
PROTO_CORE="coachq.pb-c.h validate.h pbmem.h pbwire.h uuid.h frame.h outcomes_rules.h"

declare -A OWNER=()
for f in "${FOLDERS[@]}"; do
    for h in "$f"/*.h; do
        [ -e "$h" ] || continue
        OWNER[$(basename "$h")]=$f
    done
done
OWNER[coachq.pb-c.h]=proto

bad=0
for f in "${FOLDERS[@]}"; do
    for src in "$f"/*.c "$f"/*.h; do
        [ -e "$src" ] || continue
        while IFS= read -r line; do
            hdr=${line#*\"}
            hdr=${hdr%%\"*}
            owner=${OWNER[$hdr]:-}
            if [ -z "$owner" ]; then
                echo "$src: includes \"$hdr\", which no folder has" >&2
                bad=1
                continue
            fi
            case " ${MAY[$f]} " in
            *" $owner "*) ;;
            *)
                echo "$src: includes $owner/$hdr, but $f/ may use only: ${MAY[$f]}" >&2
                bad=1
                continue
                ;;
            esac
            if [ "$f" = store ] && [ "$owner" = proto ]; then
                case " $PROTO_CORE " in
                *" $hdr "*) ;;
                *)
                    echo "$src: includes proto/$hdr, a format; store/ may use only: $PROTO_CORE" >&2
                    bad=1
                    ;;
                esac
            fi
        done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$src" || true)
    done
done
# The observer's session model is tested without a terminal: no curses in it.
for src in client/session*.c client/session*.h; do
    [ -e "$src" ] || continue
    if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*<n?curses' "$src"; then
        echo "$src: includes curses, but the session model must not draw" >&2
        bad=1
    fi
done
if [ "$bad" -ne 0 ]; then
    echo "check-layers: forbidden includes (docs/architecture.md, \"Layers\")" >&2
    exit 1
fi
echo "check-layers: every include follows the layers" >&2
