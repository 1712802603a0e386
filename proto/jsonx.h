/*
 * jsonx: the helpers that the JSON formats of coachq share (observations
 * and calibration references in obs_json, rubrics in rubric_json), so that
 * both read JSON by the same rules and report errors the same way.
 *
 * A parse writes at most one message, "path: reason", where the path is the
 * JSON path a person would look for ("ratings[2].score"), and returns
 * -EINVAL (or -ENOMEM). An object key the format does not know is an error
 * that lists the known keys, and null counts as absent. struct jsonx_ctx
 * carries the caller's message buffer through a parse. Thread-safe: nothing
 * here has state of its own.
 */
#ifndef COACHQ_JSONX_H
#define COACHQ_JSONX_H

#include <stddef.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Where a parse writes its error message. Caller-owned, usually on the
 * stack; set up with jsonx_ctx_init(). Nothing to free. */
struct jsonx_ctx {
    char *err;       /* borrowed: the caller's buffer, may be NULL */
    size_t errlen;   /* its size in bytes */
    const char *top; /* borrowed: how messages name the empty path */
};

/*
 * Sets up x to write messages into err (errlen bytes; err may be NULL for
 * no message) and empties err. top (not NULL) names the whole document
 * where the path is empty, e.g. "(file)". err and top are borrowed until
 * the parse ends.
 */
void jsonx_ctx_init(struct jsonx_ctx *x, char *err, size_t errlen, const char *top);

/* Writes "path: " and the printf-style reason into x's buffer (cut short
 * if it does not fit) and returns -EINVAL. */
int jsonx_fail(struct jsonx_ctx *x, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the path of a member, "prefix.key" ("key" when prefix is empty),
 * or of an element, "prefix[i]", into out (outlen bytes). Paths that do
 * not fit are cut short: they only go into messages. */
void jsonx_join_path(char *out, size_t outlen, const char *prefix, const char *key);
void jsonx_index_path(char *out, size_t outlen, const char *prefix, size_t i);

/* Refuses the first key of obj (at prefix) that is not in known (a
 * NULL-terminated list), naming the known keys so that a typo is easy to
 * spot. Returns 0 or -EINVAL. obj and known are borrowed for the call. */
int jsonx_check_keys(struct jsonx_ctx *x, const json_t *obj, const char *prefix,
                     const char *const *known);

/*
 * Looks up obj[key], whose path path names it in messages. Sets *v to the
 * value, or to NULL when the key is absent or null. Returns 0, or -EINVAL
 * ("missing; it is required") when the key is required and absent. *v is
 * borrowed from obj.
 */
int jsonx_member(struct jsonx_ctx *x, const json_t *obj, const char *key, const char *path,
                 int required, json_t **v);

/* Fills a message from a JSON value: returns 0, -EINVAL (after writing
 * the message with jsonx_fail()) or -ENOMEM. */
typedef int (*jsonx_parse_cb)(struct jsonx_ctx *x, const json_t *j, void *msg);
/* Frees a message that a jsonx_parse_cb filled, also a partly filled one. */
typedef void (*jsonx_free_cb)(void *msg);

/*
 * Allocates and initialises a message of type d and fills it from j with
 * parse. On success returns 0 and sets *out (caller owns, free with
 * free_msg). On failure frees the partial message with free_msg, sets *out
 * to NULL and returns parse's error or -ENOMEM; when parse runs out of
 * memory, the message is "<top>: out of memory". j and d are borrowed for
 * the call.
 */
int jsonx_parse_message(struct jsonx_ctx *x, const json_t *j, const ProtobufCMessageDescriptor *d,
                        jsonx_parse_cb parse, jsonx_free_cb free_msg, void **out);

/* Sets obj[key] to v, taking ownership of v. Returns 0, or -1 when v is
 * NULL (a failed allocation) or the set failed. */
int jsonx_put(json_t *obj, const char *key, json_t *v);

#endif
