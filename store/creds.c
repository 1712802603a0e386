#include "creds.h"

#include <errno.h>
#include <string.h>

#include "store_int.h"

int creds_put_txn(struct store_txn *t, const char *user, const char *hash, size_t hlen)
{
    size_t ulen = strlen(user);

    if (ulen == 0 || ulen > 64 || hlen == 0) {
        return -EINVAL;
    }
    return store_txn_put_raw(t, t->s->dbi_creds, (const uint8_t *)user, ulen, hash, hlen, NULL);
}

int creds_get_txn(struct store_txn *t, const char *user, char *out, size_t outlen)
{
    size_t ulen = strlen(user);
    MDB_val v;
    int rc;

    if (ulen == 0 || ulen > 64) {
        return -ENOENT;
    }
    rc = store_txn_get_raw(t, t->s->dbi_creds, (const uint8_t *)user, ulen, &v);
    if (rc < 0) {
        return rc;
    }
    if (v.mv_size >= outlen) {
        return -ENOBUFS;
    }
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    return (int)v.mv_size;
}

int creds_link_put_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN], const void *val,
                       size_t vlen)
{
    return store_txn_put_raw(t, t->s->dbi_links, key, CREDS_LINK_KEY_LEN, val, vlen, NULL);
}

int creds_link_take_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN], void *out,
                        size_t outlen)
{
    MDB_val v;
    size_t n;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    rc = store_txn_get_raw(t, t->s->dbi_links, key, CREDS_LINK_KEY_LEN, &v);
    if (rc < 0) {
        return rc;
    }
    n = v.mv_size;
    if (n > outlen) {
        /* Not ours to keep either: a value this long is not a link. */
        rc = store_txn_del(t, t->s->dbi_links, key, CREDS_LINK_KEY_LEN);
        return rc < 0 ? rc : -ENOBUFS;
    }
    memcpy(out, v.mv_data, n);
    rc = store_txn_del(t, t->s->dbi_links, key, CREDS_LINK_KEY_LEN);
    return rc < 0 ? rc : (int)n;
}

int creds_link_exists_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN])
{
    MDB_val v;

    return store_txn_get_raw(t, t->s->dbi_links, key, CREDS_LINK_KEY_LEN, &v);
}
