/*
 * fuzz_rubric_json: rubric files (`coachqd rubric add`, the shipped
 * rubrics). A rubric that parses is dumped and must parse back to the same
 * rubric, field for field (rubric_json_dump()'s promise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rubric_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *packed(const Coachq__V1__Rubric *r, size_t *n)
{
    uint8_t *p;

    *n = coachq__v1__rubric__get_packed_size(r);
    p = malloc(*n + 1);
    if (p == NULL) {
        abort();
    }
    coachq__v1__rubric__pack(r, p);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Coachq__V1__Rubric *r = NULL, *r2 = NULL;
    char err[256];
    uint8_t *a, *b;
    size_t na, nb;
    char *text;

    err[0] = '\0';
    if (rubric_json_parse((const char *)data, size, &r, err, sizeof(err)) != 0) {
        if (r != NULL || err[0] == '\0') {
            abort();
        }
        return 0;
    }
    text = rubric_json_dump(r);
    if (text == NULL || rubric_json_parse(text, strlen(text), &r2, err, sizeof(err)) != 0) {
        abort();
    }
    a = packed(r, &na);
    b = packed(r2, &nb);
    if (na != nb || memcmp(a, b, na) != 0) {
        abort();
    }
    free(a);
    free(b);
    free(text);
    coachq__v1__rubric__free_unpacked(r, NULL);
    coachq__v1__rubric__free_unpacked(r2, NULL);
    return 0;
}
