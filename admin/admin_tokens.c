/*
 * admin_tokens: `coachqd token create|list|revoke`, the API tokens of the
 * dashboard port's JSON and CSV API and the change feed (store/apitok.h;
 * docs/operations.md, "API tokens and the change feed"). Creating and
 * revoking a token is audited (token.create, token.revoke), never with the
 * token itself; the token is printed once, on standard output.
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apitok.h"
#include "audit.h"
#include "error.h"
#include "store.h"

#define TOKEN_MAX_DAYS 3650

struct token_run {
    struct admin *a;
    const char *user;
    const char *name;
    const char *id;
    int64_t expires_ms;
    char token[APITOK_LEN + 1];
    char made_id[APITOK_ID_LEN + 1];
    size_t n;
};

static int token_create_txn(struct store_txn *t, void *arg)
{
    struct token_run *r = arg;
    struct admin *a = r->a;
    char detail[400];
    char exp[40];
    int rc;

    rc = apitok_create_txn(t, r->user, r->name, a->now_ms, r->expires_ms, a->actor, r->token,
                           r->made_id);
    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "no person '%s'", r->user);
    }
    if (rc == -EINVAL) {
        return admin_txn_fail(a, rc,
                              "'%s' holds no role (reps do not sign in), so a token could read "
                              "nothing",
                              r->user);
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "cannot store the token: %s", error_strerror(rc));
    }
    if (r->expires_ms != 0) {
        admin_fmt_ms(r->expires_ms, exp, sizeof(exp));
    } else {
        snprintf(exp, sizeof(exp), "never");
    }
    snprintf(detail, sizeof(detail), "token %s name \"%s\" expires %s", r->made_id, r->name, exp);
    return audit_append(t, a->now_ms, a->actor, "token.create", r->user, detail, a->origin, NULL);
}

/* --expires: a date (the token works until that day's midnight UTC) or a
 * number of days from now. */
static int parse_expires(struct admin *a, const char *v, int64_t *out)
{
    int32_t day;
    long days;

    *out = 0;
    if (v == NULL) {
        return 0;
    }
    if (strchr(v, '-') != NULL) {
        if (admin_parse_date(v, &day) < 0) {
            return admin_usage_error(a, "--expires: '%s' is not a date (YYYY-MM-DD)", v);
        }
        *out = ((int64_t)day + 1) * 86400 * 1000;
        if (*out <= a->now_ms) {
            return admin_usage_error(a, "--expires: %s is in the past", v);
        }
        return 0;
    }
    if (admin_parse_long(v, 1, TOKEN_MAX_DAYS, &days) < 0) {
        return admin_usage_error(a,
                                 "--expires: '%s' is neither a date (YYYY-MM-DD) nor a number "
                                 "of days from 1 to %d",
                                 v, TOKEN_MAX_DAYS);
    }
    *out = a->now_ms + (int64_t)days * 86400 * 1000;
    return 0;
}

int admin_run_token_create(struct admin *a)
{
    struct token_run r;
    char exp[40];
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = a;
    r.user = a->pos[0];
    r.name = admin_opt_value(a, "name");
    if (admin_arg_id(a, "user", r.user) < 0) {
        return 2;
    }
    if (r.name == NULL || r.name[0] == '\0' || strlen(r.name) > 200) {
        return admin_usage_error(a, "--name: give the token a name of 1 to 200 characters "
                                    "(what it is for, e.g. \"warehouse loader\")");
    }
    rc = parse_expires(a, admin_opt_value(a, "expires"), &r.expires_ms);
    if (rc != 0) {
        return rc;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, token_create_txn, &r);
    if (rc < 0) {
        OPENSSL_cleanse(r.token, sizeof(r.token));
        return admin_store_failure(a, rc);
    }
    printf("%s\n", r.token);
    fflush(stdout);
    OPENSSL_cleanse(r.token, sizeof(r.token));
    if (r.expires_ms != 0) {
        admin_fmt_ms(r.expires_ms, exp, sizeof(exp));
    } else {
        snprintf(exp, sizeof(exp), "never");
    }
    fprintf(stderr,
            "Token %s for %s (\"%s\"), expires %s. It is shown only now: keep it as a secret. "
            "Send it as 'Authorization: Bearer TOKEN' to /api/v1/.\n",
            r.made_id, r.user, r.name, exp);
    return 0;
}

static int token_list_cb(const Coachq__V1__ApiToken *tok, void *arg)
{
    struct token_run *r = arg;
    char created[40], expires[40], used[40], revoked[40];
    const char *state = "active";

    admin_fmt_ms(tok->created_at_ms, created, sizeof(created));
    if (tok->expires_at_ms != 0) {
        admin_fmt_ms(tok->expires_at_ms, expires, sizeof(expires));
    } else {
        snprintf(expires, sizeof(expires), "never");
    }
    if (tok->last_used_at_ms != 0) {
        admin_fmt_ms(tok->last_used_at_ms, used, sizeof(used));
    } else {
        snprintf(used, sizeof(used), "never");
    }
    if (tok->revoked_at_ms != 0) {
        admin_fmt_ms(tok->revoked_at_ms, revoked, sizeof(revoked));
        state = "revoked";
    } else if (tok->expires_at_ms != 0 && tok->expires_at_ms <= r->a->now_ms) {
        state = "expired";
    }
    printf("%s  %s  \"%s\"  created %s  expires %s  last use %s  %s", tok->id, tok->user_id,
           tok->name, created, expires, used, state);
    if (tok->revoked_at_ms != 0) {
        printf(" %s", revoked);
    }
    printf("\n");
    r->n++;
    return 0;
}

static int token_list_txn(struct store_txn *t, void *arg)
{
    struct token_run *r = arg;

    r->n = 0;
    return apitok_list_txn(t, r->user, token_list_cb, r);
}

int admin_run_token_list(struct admin *a)
{
    struct token_run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = a;
    r.user = a->npos > 0 ? a->pos[0] : NULL;
    if (r.user != NULL && admin_arg_id(a, "user", r.user) < 0) {
        return 2;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, token_list_txn, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (r.n == 0) {
        printf("(no tokens)\n");
    }
    return 0;
}

static int token_revoke_txn(struct store_txn *t, void *arg)
{
    struct token_run *r = arg;
    struct admin *a = r->a;
    Coachq__V1__ApiToken *tok = NULL;
    char detail[300];
    int rc = apitok_revoke_txn(t, r->id, a->now_ms, &tok);

    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "no token with id '%s' ('coachqd token list' shows them)",
                              r->id);
    }
    if (rc == -EALREADY) {
        return admin_txn_fail(a, rc, "token %s was revoked already", r->id);
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "cannot revoke the token: %s", error_strerror(rc));
    }
    snprintf(detail, sizeof(detail), "token %s name \"%s\"", tok->id, tok->name);
    rc =
        audit_append(t, a->now_ms, a->actor, "token.revoke", tok->user_id, detail, a->origin, NULL);
    coachq__v1__api_token__free_unpacked(tok, NULL);
    return rc;
}

int admin_run_token_revoke(struct admin *a)
{
    struct token_run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = a;
    r.id = a->pos[0];
    if (strlen(r.id) != APITOK_ID_LEN || strncmp(r.id, "t-", 2) != 0) {
        return admin_usage_error(a, "'%s' is not a token id (t- and 16 hex digits)", r.id);
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, token_revoke_txn, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("token %s revoked\n", r.id);
    return 0;
}
