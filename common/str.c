#include "str.h"

#include <errno.h>
#include <string.h>

int str_copy(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    int rc = 0;

    if (l >= n) {
        l = n - 1;
        rc = -ENAMETOOLONG;
    }
    memcpy(dst, src, l);
    dst[l] = '\0';
    return rc;
}

const char *str_plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
