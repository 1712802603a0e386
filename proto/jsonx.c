#include "jsonx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a path in messages and for the list of known keys; both only
 * ever go into a message, whose own buffer is smaller still. */
#define PATH_LEN 128
#define KEY_LIST_LEN 400

void jsonx_ctx_init(struct jsonx_ctx *x, char *err, size_t errlen, const char *top)
{
    x->err = err;
    x->errlen = errlen;
    x->top = top;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
}

int jsonx_fail(struct jsonx_ctx *x, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (x->err == NULL || x->errlen == 0) {
        return -EINVAL;
    }
    n = snprintf(x->err, x->errlen, "%s: ", path[0] != '\0' ? path : x->top);
    if (n < 0 || (size_t)n >= x->errlen) {
        return -EINVAL;
    }
    va_start(ap, fmt);
    vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Using snprintf's result tells the compiler's truncation check that a cut
 * path is expected. */
void jsonx_join_path(char *out, size_t outlen, const char *prefix, const char *key)
{
    int n;

    if (prefix[0] == '\0') {
        n = snprintf(out, outlen, "%s", key);
    } else {
        n = snprintf(out, outlen, "%s.%s", prefix, key);
    }
    (void)n;
}

void jsonx_index_path(char *out, size_t outlen, const char *prefix, size_t i)
{
    int n = snprintf(out, outlen, "%s[%zu]", prefix, i);

    (void)n;
}

int jsonx_check_keys(struct jsonx_ctx *x, const json_t *obj, const char *prefix,
                     const char *const *known)
{
    const char *key;
    json_t *v;

    json_object_foreach((json_t *)obj, key, v)
    {
        char path[PATH_LEN];
        char list[KEY_LIST_LEN];
        size_t used = 0;
        int ok = 0;

        (void)v;
        for (size_t i = 0; known[i] != NULL; i++) {
            if (strcmp(key, known[i]) == 0) {
                ok = 1;
                break;
            }
        }
        if (ok) {
            continue;
        }
        list[0] = '\0';
        for (size_t i = 0; known[i] != NULL && used < sizeof(list); i++) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "", known[i]);
            if (n < 0) {
                break;
            }
            used += (size_t)n;
        }
        jsonx_join_path(path, sizeof(path), prefix, key);
        return jsonx_fail(x, path, "unknown key (known keys: %s)", list);
    }
    return 0;
}

int jsonx_member(struct jsonx_ctx *x, const json_t *obj, const char *key, const char *path,
                 int required, json_t **v)
{
    *v = json_object_get(obj, key);
    if (*v != NULL && json_is_null(*v)) {
        *v = NULL;
    }
    if (*v == NULL && required) {
        return jsonx_fail(x, path, "missing; it is required");
    }
    return 0;
}

int jsonx_parse_message(struct jsonx_ctx *x, const json_t *j, const ProtobufCMessageDescriptor *d,
                        jsonx_parse_cb parse, jsonx_free_cb free_msg, void **out)
{
    void *msg;
    int rc;

    *out = NULL;
    msg = malloc(d->sizeof_message);
    if (msg == NULL) {
        return -ENOMEM;
    }
    protobuf_c_message_init(d, msg);
    rc = parse(x, j, msg);
    if (rc < 0) {
        if (rc == -ENOMEM) {
            jsonx_fail(x, "", "out of memory");
        }
        free_msg(msg);
        return rc;
    }
    *out = msg;
    return 0;
}

int jsonx_put(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL) {
        return -1;
    }
    return json_object_set_new(obj, key, v);
}
