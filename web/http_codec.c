#include "http_codec.h"

#include <errno.h>
#include <string.h>

#include "http.h"

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

int http_pct_decode(const char *s, size_t len, int plus, char *out, size_t outlen)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            int hi, lo;
            if (len - i < 3) {
                return -EINVAL;
            }
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                return -EINVAL;
            }
            ch = hi * 16 + lo;
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (ch == 0 || n + 1 >= outlen) {
            return -EINVAL;
        }
        out[n++] = (char)ch;
    }
    if (outlen == 0) {
        return -EINVAL;
    }
    out[n] = '\0';
    return (int)n;
}

int http_form_value(const char *form, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    size_t i = 0;

    if (form == NULL) {
        return -ENOENT;
    }
    while (i < len) {
        size_t end = i;
        size_t eq;
        while (end < len && form[end] != '&') {
            end++;
        }
        eq = i;
        while (eq < end && form[eq] != '=') {
            eq++;
        }
        if (eq - i == nlen && memcmp(form + i, name, nlen) == 0) {
            size_t vstart = eq < end ? eq + 1 : end;
            return http_pct_decode(form + vstart, end - vstart, 1, out, outlen);
        }
        i = end + 1;
    }
    return -ENOENT;
}

int http_cookie(const struct http_exchange *x, const char *name, char *out, size_t outlen)
{
    const char *h = http_header(x, "Cookie");
    size_t nlen = strlen(name);

    if (h == NULL) {
        return -ENOENT;
    }
    while (*h != '\0') {
        const char *end, *eq, *v;
        size_t vlen;
        while (*h == ' ' || *h == '\t' || *h == ';') {
            h++;
        }
        end = h;
        while (*end != '\0' && *end != ';') {
            end++;
        }
        eq = memchr(h, '=', (size_t)(end - h));
        if (eq != NULL && (size_t)(eq - h) == nlen && memcmp(h, name, nlen) == 0) {
            v = eq + 1;
            vlen = (size_t)(end - v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
                vlen--;
            }
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            return http_pct_decode(v, vlen, 0, out, outlen);
        }
        h = end;
    }
    return -ENOENT;
}

int http_url_encode(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (plain) {
            if (n + 1 >= outlen) {
                return -ENOBUFS;
            }
            out[n++] = (char)ch;
        } else {
            if (n + 3 >= outlen) {
                return -ENOBUFS;
            }
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    if (outlen == 0) {
        return -ENOBUFS;
    }
    out[n] = '\0';
    return (int)n;
}
