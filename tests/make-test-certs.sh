#!/usr/bin/env bash
# make-test-certs.sh SCRIPT OUTDIR: the test certificates, made with the
# operators' script (SCRIPT = certs/coachq-certs). Idempotent: what exists
# is kept, unless the CA itself had to be made again, in which case every
# certificate it signs is made again too.
#
# OUTDIR/ca.*, OUTDIR/server.* (127.0.0.1, localhost), OUTDIR/users/
# {alice,bob,carol,dave}.* and the other people of fixtures/org.csv, OUTDIR/users/expired.* (not-after in the past),
# OUTDIR/users/svc.* (EKU serverAuth only), and OUTDIR/other/ca.* with
# OUTDIR/other/users/alice.* (same CN, unrelated CA).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: ${0##*/} SCRIPT OUTDIR" >&2
    exit 2
fi
SCRIPT=$1
OUT=$2
[ -x "$SCRIPT" ] || {
    echo "${0##*/}: $SCRIPT is not executable" >&2
    exit 1
}
mkdir -p "$OUT"

# ensure_ca DIR: makes DIR's CA if missing; prints "new" if it did.
ensure_ca() {
    if [ -f "$1/ca.crt" ] && [ -f "$1/ca.key" ]; then
        return 1
    fi
    "$SCRIPT" --dir "$1" --force ca
    return 0
}

# ensure DIR FORCE FILE ARGS...: runs the script unless FILE exists.
ensure() {
    local dir=$1 force=$2 file=$3
    shift 3
    if [ "$force" = 1 ] || [ ! -f "$dir/$file" ]; then
        "$SCRIPT" --dir "$dir" --force "$@"
    fi
}

force=0
if ensure_ca "$OUT"; then
    force=1
fi
ensure "$OUT" "$force" server.crt server --ip 127.0.0.1 --name localhost
# The people of tests/fixtures/org.csv with a login, one per role.
for u in alice bob carol dave obs.ann obs.ben gone.kai flm.cara flm.dan mgr.jones slm.eve \
    slm.fay lead.gil admin.hal rep.ida; do
    ensure "$OUT" "$force" "users/$u.crt" user "$u"
done
ensure "$OUT" "$force" users/expired.crt user expired \
    --not-before 20200101000000Z --not-after 20210101000000Z
ensure "$OUT" "$force" users/svc.crt user svc --eku server

oforce=0
if ensure_ca "$OUT/other"; then
    oforce=1
fi
ensure "$OUT/other" "$oforce" users/alice.crt user alice
echo "test certificates ready in $OUT"
