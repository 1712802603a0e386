/*
 * fuzz_obs_json: the observation JSON that `coachq submit` reads, and the
 * calibration reference JSON of `coachq reference add`. Whatever parses and
 * passes validate_observation() is written back as JSON (as `coachq get
 * --json` does) and must parse again to the same observation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "obs_json.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *packed(const Coachq__V1__Observation *o, size_t *n)
{
    uint8_t *p;

    *n = coachq__v1__observation__get_packed_size(o);
    p = malloc(*n + 1);
    if (p == NULL) {
        abort();
    }
    coachq__v1__observation__pack(o, p);
    return p;
}

static void round_trip(const Coachq__V1__Observation *o)
{
    json_t *j = obs_json_from_observation(o);
    Coachq__V1__Observation *o2 = NULL;
    char err[256];
    uint8_t *a, *b;
    size_t na, nb;
    char *text;
    json_t *j2;

    if (j == NULL) {
        abort();
    }
    /* Through the text too, as a file would carry it. */
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL) {
        abort();
    }
    j2 = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    if (j2 == NULL || obs_json_parse(j2, &o2, err, sizeof(err)) != 0) {
        abort();
    }
    json_decref(j2);
    a = packed(o, &na);
    b = packed(o2, &nb);
    if (na != nb || memcmp(a, b, na) != 0) {
        abort();
    }
    free(a);
    free(b);
    obs_json_free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Coachq__V1__Observation *o = NULL;
    Coachq__V1__CalibrationReference *r = NULL;
    struct validate_error verr;
    char err[256];
    json_t *j;

    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL) {
        return 0;
    }
    err[0] = '\0';
    if (obs_json_parse(j, &o, err, sizeof(err)) == 0) {
        memset(&verr, 0, sizeof(verr));
        if (validate_observation(o, "observation", &verr) == 0) {
            round_trip(o);
        } else if (verr.field[0] == '\0' || verr.message[0] == '\0') {
            abort();
        }
        obs_json_free(o);
    } else if (err[0] == '\0') {
        /* A refusal always says which field and why. */
        abort();
    }
    if (obs_json_parse_reference(j, &r, err, sizeof(err)) == 0) {
        obs_json_free_reference(r);
    }
    json_decref(j);
    return 0;
}
