/*
 * fuzz_import: the parse-and-check stage of `coachqd import people` and
 * `coachqd import programme` (people_csv_read(), programme_csv_read()), in
 * memory: the CSV reader, the column mapping, every field check and every
 * check across rows, as the import runs them before it opens a store
 * transaction. The merge with the store is left out: it only looks up ids
 * this stage has checked. FUZZ_IMPORT names the import ("people" or
 * "programme").
 *
 * Beyond the sanitizers it checks what the store stage relies on: every
 * kept error names the file, the errors come back in file order, and a
 * file without errors gives rows whose ids are valid, each at a line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "people_csv.h"
#include "programme_csv.h"
#include "table.h"
#include "validate.h"

/* How many errors an import keeps, as coachqd does (ADMIN_MAX_ERRORS). */
#define FUZZ_MAX_ERRORS 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The errors are in file order and each starts with the file's name. */
static void check_errs(const struct table_errs *errs)
{
    if (errs->n > errs->total || errs->n > FUZZ_MAX_ERRORS) {
        abort();
    }
    for (size_t i = 0; i < errs->n; i++) {
        if (strncmp(errs->kept[i].msg, "fuzz.csv:", 9) != 0) {
            abort();
        }
        if (i > 0 && (errs->kept[i - 1].line > errs->kept[i].line ||
                      (errs->kept[i - 1].line == errs->kept[i].line &&
                       errs->kept[i - 1].col > errs->kept[i].col))) {
            abort();
        }
    }
}

static void check_rows(const struct table *t, size_t id_col)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->rows[i].line == 0 || validate_id(t->rows[i].f[id_col]) < 0) {
            abort();
        }
    }
}

/* The errors, made once: the import keeps them in one allocation. */
static struct table_errs e;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct people_csv people;
    struct programme_csv prog;
    struct csv *c = NULL;
    int rc;

    memset(&people, 0, sizeof(people));
    memset(&prog, 0, sizeof(prog));
    if (e.kept == NULL && table_errs_init(&e, "fuzz.csv", FUZZ_MAX_ERRORS) < 0) {
        abort();
    }
    table_errs_truncate(&e, 0);
    if (csv_new((const char *)data, size, &c) < 0) {
        return 0;
    }
    if (strcmp(FUZZ_IMPORT, "people") == 0) {
        rc = people_csv_read(&people, c, &e);
        table_errs_sort(&e);
        check_errs(&e);
        if (rc == 0 && e.total == 0) {
            check_rows(&people.tab, PEOPLE_CSV_ID);
        }
    } else {
        rc = programme_csv_read(&prog, c, &e);
        table_errs_sort(&e);
        check_errs(&e);
        if (rc == 0 && e.total == 0) {
            check_rows(&prog.tab, PROGRAMME_CSV_PERSON);
        }
    }
    people_csv_clear(&people);
    programme_csv_clear(&prog);
    csv_free(c);
    return 0;
}
