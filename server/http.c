#include "http.h"

#include <errno.h>
#include <stdio.h>

/* Placeholder: replaced by the dashboard port's implementation. */
int http_server_new(uv_loop_t *loop, const struct config *cfg, http_handler handler, void *arg,
                    struct http_server **out, char *err, size_t errlen)
{
    (void)loop;
    (void)cfg;
    (void)handler;
    (void)arg;
    (void)err;
    (void)errlen;
    *out = NULL;
    return 0;
}
int http_server_port(const struct http_server *h)
{
    (void)h;
    return 0;
}
void http_server_stop(struct http_server *h, void (*done)(void *arg), void *arg)
{
    (void)h;
    if (done != NULL) {
        done(arg);
    }
}
