/*
 * make_seeds: writes the binary seed files of the frame and journal fuzz
 * targets into DIR/fuzz_frame and DIR/fuzz_journal, from the example
 * observation (docs/examples/first-observation.json) and a shipped rubric.
 * Run it once after a protocol change and commit what changed:
 *   build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus docs/examples/first-observation.json
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "frame.h"
#include "obs_json.h"
#include "rubric_json.h"

static void put(const char *dir, const char *target, const char *name, uint8_t first,
                const uint8_t *p, size_t n, int framed)
{
    char path[512];
    FILE *f;
    uint8_t hdr[FRAME_HEADER_LEN];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputc(first, f);
    if (framed) {
        frame_put_header(hdr, (uint32_t)n);
        fwrite(hdr, 1, sizeof(hdr), f);
    }
    fwrite(p, 1, n, f);
    fclose(f);
}

static void frame(const char *dir, const char *name, Coachq__V1__Frame *fr)
{
    size_t n = coachq__v1__frame__get_packed_size(fr);
    uint8_t *p = malloc(n);

    coachq__v1__frame__pack(fr, p);
    /* Whole, then in 7-byte chunks. */
    put(dir, "fuzz_frame", name, 255, p, n, 1);
    free(p);
}

static void msg(const char *dir, const char *name, uint8_t kind, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *p = malloc(n + 1);

    protobuf_c_message_pack(m, p);
    put(dir, "fuzz_journal", name, kind, p, n, 0);
    free(p);
}

int main(int argc, char **argv)
{
    Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
    Coachq__V1__ListObservations list = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__GetDashboard gd = COACHQ__V1__GET_DASHBOARD__INIT;
    Coachq__V1__LocalSession ls = COACHQ__V1__LOCAL_SESSION__INIT;
    Coachq__V1__OutboxEntry oe = COACHQ__V1__OUTBOX_ENTRY__INIT;
    Coachq__V1__Observation *o = NULL;
    Coachq__V1__Rubric *r = NULL;
    const char *rub;
    char err[256];
    json_t *j;

    if (argc != 3) {
        fprintf(stderr, "usage: %s CORPUS_DIR OBSERVATION.json\n", argv[0]);
        return 2;
    }
    j = json_load_file(argv[2], 0, NULL);
    if (j == NULL || obs_json_parse(j, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err);
        return 1;
    }
    fr.request_id = 1;
    fr.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    hello.protocol_version = 1;
    hello.client_version = "coachq 0.1.0";
    fr.hello = &hello;
    frame(argv[1], "hello", &fr);
    fr.request_id = 2;
    fr.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
    sub.observation = o;
    fr.submit = &sub;
    frame(argv[1], "submit", &fr);
    fr.request_id = 3;
    fr.body_case = COACHQ__V1__FRAME__BODY_LIST;
    list.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    list.person_id = "flm.garcia";
    list.page_size = 50;
    fr.list = &list;
    frame(argv[1], "list", &fr);
    fr.request_id = 4;
    fr.body_case = COACHQ__V1__FRAME__BODY_GET_DASHBOARD;
    gd.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER;
    gd.subject_id = "flm.garcia";
    gd.rubric_id = "coaching-conversation";
    fr.get_dashboard = &gd;
    frame(argv[1], "dashboard", &fr);

    ls.draft = o;
    ls.clock_started_ms = 1762093800000;
    ls.elapsed_ms = 61000;
    ls.phase = 2;
    ls.cursor = 3;
    ls.server = "127.0.0.1:7443";
    msg(argv[1], "session", 0, &ls.base);
    oe.observation = o;
    oe.state = COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED;
    oe.attempts = 2;
    msg(argv[1], "outbox", 1, &oe.base);
    rub = rubric_json_builtin(0, NULL);
    if (rubric_json_parse(rub, strlen(rub), &r, err, sizeof(err)) != 0) {
        fprintf(stderr, "rubric: %s\n", err);
        return 1;
    }
    msg(argv[1], "rubric", 2, &r->base);
    coachq__v1__rubric__free_unpacked(r, NULL);
    obs_json_free(o);
    json_decref(j);
    return 0;
}
