/*
 * dash_obs_expiry: notes on observers' certifications that end within 30
 * days; see dash_obs_expiry.h.
 */
#include "dash_obs_expiry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "grow.h"
#include "zone.h"

/* The walk over one observer's certifications, in (rubric, from) order;
 * the rule of when they end is the client's too (cert_expiry.h). */
struct expiry_walk {
    struct dash *d;
    const char *rubric_id; /* the dashboard's rubric, for the column */
    const char *cell;      /* the Certified cell's text, for that rubric */
    const char *oid;
    const char *name;
    int32_t today;           /* in the observer's zone */
    char rubric[128];        /* the rubric of the run being read */
    struct cert_span *spans; /* the rubric's certifications so far */
    size_t n, cap;
    int failed;
};

/* The note for the rubric just read, if its certification ends soon. */
static void expiry_flush(struct expiry_walk *w)
{
    char day[16];
    int64_t end = w->rubric[0] != '\0' ? cert_expiry_end(w->spans, w->n, w->today) : -1;
    int days = end >= 0 ? cert_expiry_due(end, w->today) : -1;

    w->n = 0;
    if (days < 0) {
        return;
    }
    dash_day_text((int32_t)end, day, sizeof(day));
    if (days == 0) {
        if (strcmp(w->rubric, w->rubric_id) == 0) {
            w->cell = dash_strdup(w->d, "yes, ends today (within a week)");
        }
        dash_note(w->d, "Certification ends within a week: %s (%s) for rubric %s ends today, %s.",
                  w->name, w->oid, w->rubric, day);
        return;
    }
    if (strcmp(w->rubric, w->rubric_id) == 0) {
        w->cell = dash_printf(w->d, "yes, ends in %d day%s%s", days, days == 1 ? "" : "s",
                              days <= CERT_EXPIRY_URGENT_DAYS ? " (within a week)" : "");
    }
    dash_note(w->d, "Certification %s: %s (%s) for rubric %s ends in %d day%s on %s.",
              days <= CERT_EXPIRY_URGENT_DAYS ? "ends within a week" : "ends within 30 days",
              w->name, w->oid, w->rubric, days, days == 1 ? "" : "s", day);
}

static int expiry_cb(const Coachq__V1__Certification *ce, void *arg)
{
    struct expiry_walk *w = arg;
    const char *rubric = ce->rubric_id != NULL ? ce->rubric_id : "";

    if (strcmp(rubric, w->rubric) != 0) {
        expiry_flush(w);
        snprintf(w->rubric, sizeof(w->rubric), "%s", rubric);
    }
    if (GROW_ARRAY(w->spans, w->cap, w->n + 1, 8) < 0) {
        w->failed = 1;
        return -ENOMEM;
    }
    w->spans[w->n].from = ce->valid_from_day;
    w->spans[w->n].until = ce->valid_until_day;
    w->n++;
    return 0;
}

int dash_obs_expiry(struct dash *d, const struct dash_ctx *c, const char *oid,
                    Coachq__V1__TableRow *r)
{
    struct expiry_walk w;
    int rc;

    memset(&w, 0, sizeof(w));
    w.d = d;
    w.oid = oid;
    w.rubric_id = c->rubric_id;
    w.cell = "";
    rc = zone_day_of(c->t, oid, c->now_s, &w.today);
    if (rc != 0) {
        return rc;
    }
    /* A page of a past period states certifications as of its last day:
     * today's expiry is no news of that period. */
    if (c->until_day < w.today) {
        return 0;
    }
    w.name = dash_person_name(d, c->t, oid);
    rc = certs_list(c->t, oid, expiry_cb, &w);
    if (w.failed) {
        rc = -ENOMEM;
    }
    if (rc == -ENOENT) {
        rc = 0;
    }
    if (rc == 0) {
        expiry_flush(&w);
        /* The Certified cell (the row's second) says it; its "Valid until"
         * beside it gives the day. */
        if (w.cell != NULL && w.cell[0] != '\0' && r != NULL && r->n_cells > 1 &&
            r->cells[1]->text != NULL && strcmp(r->cells[1]->text, "yes") == 0) {
            r->cells[1]->text = (char *)w.cell;
        }
    }
    free(w.spans);
    return rc;
}
