# bench/org.sh: sourced by bench/run.sh and bench/soak.sh. bench_org NAME
# makes throw-away certificates in $TMP/certs and an organisation in a
# fresh LMDB in $TMP/data with the real administration verbs (coachqd init,
# import people, cert grant): the front-line managers and reps that
# bench_submit's records name (bench_submit --org-csv), the observer alice
# certified for coaching-conversation, and the enablement lead lead.bench,
# who may read the server's counters. Needs ROOT, TMP, BENCH and COACHQD;
# NAME is the calling script's, for its error message. Exits 1 on failure.
bench_org() {
    "$ROOT/certs/coachq-certs" --dir "$TMP/certs" dev >/dev/null 2>&1
    "$ROOT/certs/coachq-certs" --dir "$TMP/certs" user lead.bench >/dev/null 2>&1
    {
        "$BENCH" --org-csv
        echo "alice,Alice Bench,,observer,,"
        echo "lead.bench,Lead Bench,,enablement_lead,,"
    } >"$TMP/org.csv"
    if ! {
        "$COACHQD" init --data "$TMP/data" &&
            "$COACHQD" import people --data "$TMP/data" "$TMP/org.csv" &&
            "$COACHQD" cert grant --data "$TMP/data" alice coaching-conversation \
                --from 2024-01-01 --days 3650
    } >"$TMP/admin.log" 2>&1; then
        echo "$1: could not make the organisation:" >&2
        cat "$TMP/admin.log" >&2
        exit 1
    fi
}
