/*
 * fuzz_web_route: the dashboard port's route and query grammar
 * (web_route_parse()), as web_handle() calls it for /d/... and
 * /api/v1/dashboards/.... The input is PATH, a NUL, then QUERY; the first
 * byte picks the prefix. A refusal names one of the query's fields (rubric,
 * until, not_coached_weeks, assigned). What comes out must be well formed: ids valid,
 * the table only on the API prefix, the rebuilt query short and free of
 * bytes that would break a link.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[HTTP_MAX_URL + 1];
    char query[HTTP_MAX_URL + 1];
    const char *field = NULL;
    struct web_route r;
    const uint8_t *nul;
    size_t plen, qlen, i;
    int api, rc;

    if (size < 1) {
        return 0;
    }
    api = data[0] & 1;
    data++;
    size--;
    nul = memchr(data, '\0', size);
    plen = nul != NULL ? (size_t)(nul - data) : size;
    qlen = nul != NULL ? size - plen - 1 : 0;
    if (plen > HTTP_MAX_URL || qlen > HTTP_MAX_URL) {
        return 0;
    }
    memcpy(path, data, plen);
    path[plen] = '\0';
    if (qlen > 0) {
        memcpy(query, nul + 1, qlen);
    }
    query[qlen] = '\0';
    /* The query never holds a NUL (it is a C string from the URL). */
    rc = web_route_parse(path, query, api, &r, &field);
    if (rc == -EINVAL) {
        if (field == NULL ||
            (strcmp(field, "rubric") != 0 && strcmp(field, "until") != 0 &&
             strcmp(field, "not_coached_weeks") != 0 && strcmp(field, "assigned") != 0)) {
            abort();
        }
        return 0;
    }
    if (rc == -ENOENT || rc == -ENXIO) {
        return 0;
    }
    if (rc != 0) {
        abort();
    }
    if (r.subject[0] != '\0' && validate_id(r.subject) != 0) {
        abort();
    }
    if (r.rubric[0] != '\0' && validate_id(r.rubric) != 0) {
        abort();
    }
    if ((r.format == WEB_ROUTE_CSV && !api) || (r.format != WEB_ROUTE_CSV && r.table[0] != '\0')) {
        abort();
    }
    if (!api && r.format != WEB_ROUTE_HTML) {
        abort();
    }
    if (r.until_day < 0 || strlen(r.query) >= sizeof(r.query)) {
        abort();
    }
    for (i = 0; r.query[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)r.query[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '<' || ch == '>' || ch == '\'') {
            abort();
        }
    }
    return 0;
}
