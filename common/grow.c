#include "grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int grow_array(void *arrp, size_t *cap, size_t need, size_t elem, size_t first)
{
    void *old, *p;
    size_t ncap;

    if (elem == 0) {
        return -EINVAL;
    }
    if (need <= *cap) {
        return 0;
    }
    /* Twice a capacity past SIZE_MAX / 2 wraps (unsigned, so defined) to
     * less than the capacity and so less than need: need is taken then, and
     * the byte check below or realloc() refuses it. */
    ncap = *cap == 0 ? first : *cap * 2;
    if (ncap < need) {
        ncap = need;
    }
    if (ncap > SIZE_MAX / elem) {
        return -EOVERFLOW;
    }
    /* The caller's pointer is read and written through memcpy() so that any
     * object pointer type can be passed without breaking aliasing rules. */
    memcpy(&old, arrp, sizeof(old));
    p = realloc(old, ncap * elem);
    if (p == NULL) {
        return -ENOMEM;
    }
    memcpy(arrp, &p, sizeof(p));
    *cap = ncap;
    return 0;
}
