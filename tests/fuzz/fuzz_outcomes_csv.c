/*
 * fuzz_outcomes_csv: `coachqd import outcomes` and the protocol's
 * ImportOutcomes parse the CSV with outcomes_parse_csv_pos(); every row it
 * accepts must pass outcomes_check(), the rule the store applies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcomes_csv.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_err(const char *msg, void *arg)
{
    size_t *n = arg;

    if (msg == NULL || msg[0] == '\0') {
        abort();
    }
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Coachq__V1__Outcome **rows = NULL;
    struct outcomes_pos *pos = NULL;
    size_t n = 0, n_errs = 0, seen = 0, i;
    int rc;

    rc = outcomes_parse_csv_pos("fuzz.csv", (const char *)data, size, on_err, &seen, 20, &rows, &n,
                                &n_errs, &pos);
    if (rc == 0) {
        for (i = 0; i < n; i++) {
            struct validate_error e;
            char prefix[32];
            size_t row = SIZE_MAX;

            memset(&e, 0, sizeof(e));
            if (pos == NULL || pos[i].line == 0) {
                abort();
            }
            snprintf(prefix, sizeof(prefix), "outcomes[%zu]", i);
            /* A row the store refuses must still be traced to its line. */
            if (outcomes_check(rows[i], prefix, &e) < 0 &&
                (outcomes_fault_col(e.field, &row) < -1 || row != i)) {
                abort();
            }
        }
    }
    outcomes_rows_free(rows, n);
    free(pos);
    return 0;
}
