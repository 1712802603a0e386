#include "web.h"

#include <stddef.h>

/* Placeholder: replaced by the dashboard routes. */
int web_new(uv_loop_t *loop, struct store *s, const struct web_opts *o, struct web **out)
{
    (void)loop;
    (void)s;
    (void)o;
    *out = NULL;
    return 0;
}
void web_handle(struct http_exchange *x, void *arg)
{
    (void)x;
    (void)arg;
}
void web_free(struct web *w)
{
    (void)w;
}
