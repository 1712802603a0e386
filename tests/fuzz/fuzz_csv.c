/*
 * fuzz_csv: the CSV reader every import shares (common/csv.c), and the
 * header mapping. Records must keep their promises: fields NUL-terminated
 * within CSV_MAX_FIELD bytes, positions 1-based, and an error leaves the
 * reader failed with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"id", "name", "email", "role", "manager_id", "effective_date"};

static void header_err(size_t line, size_t col, const char *msg, void *arg)
{
    (void)arg;
    if (line == 0 || col == 0 || msg == NULL || msg[0] == '\0') {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct csv *c = NULL;
    struct csv_record rec;
    size_t map[CSV_MAX_FIELDS];
    size_t eline = 0, ecol = 0, i, records = 0;
    char err[256];
    int rc;

    if (csv_new((const char *)data, size, &c) != 0) {
        return 0;
    }
    for (;;) {
        err[0] = '\0';
        rc = csv_next(c, &rec, &eline, &ecol, err, sizeof(err));
        if (rc <= 0) {
            break;
        }
        if (rec.n == 0 || rec.n > CSV_MAX_FIELDS || rec.line == 0) {
            abort();
        }
        for (i = 0; i < rec.n; i++) {
            if (strlen(rec.field[i]) > CSV_MAX_FIELD || rec.col[i] == 0) {
                abort();
            }
        }
        if (records++ == 0) {
            csv_header_map(&rec, names, sizeof(names) / sizeof(names[0]), map, header_err, NULL);
        }
    }
    if (rc < 0) {
        if (err[0] == '\0' || eline == 0 || ecol == 0) {
            abort();
        }
        /* The reader stays failed. */
        if (csv_next(c, &rec, NULL, NULL, NULL, 0) != rc) {
            abort();
        }
    }
    csv_free(c);
    return 0;
}
