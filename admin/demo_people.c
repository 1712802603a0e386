/*
 * demo_people: the demo organisation's people (demo_int.h): who they are,
 * their first reporting lines and the year's moves, and each front-line
 * manager's latent coaching quality, habits, usual observer and training.
 */
#include "demo_int.h"

#include <stdio.h>
#include <string.h>

struct demo_staff {
    const char *id;
    const char *first;
    const char *last;
};

static const struct demo_staff demo_leads[DEMO_LEADS] = {
    {"lead.amara", "Amara", "Okafor"},
};

static const struct demo_staff demo_observers[DEMO_OBSERVERS] = {
    {"obs.chen", "Wei", "Chen"},      {"obs.dubois", "Claire", "Dubois"},
    {"obs.mensah", "Kofi", "Mensah"}, {"obs.novak", "Petra", "Novak"},
    {"obs.silva", "Rafael", "Silva"}, {"obs.walsh", "Niamh", "Walsh"},
};

static const struct demo_staff demo_slms[DEMO_SLMS] = {
    {"slm.north", "Hannah", "Berg"},
    {"slm.south", "Diego", "Ramos"},
    {"slm.east", "Yuki", "Tanaka"},
    {"slm.west", "Liam", "O'Brien"},
};

static const struct demo_staff demo_flms[DEMO_FLMS] = {
    {"flm.garcia", "Lucia", "Garcia"},      {"flm.nakamura", "Kenji", "Nakamura"},
    {"flm.kowalski", "Marta", "Kowalski"},  {"flm.okonkwo", "Chidi", "Okonkwo"},
    {"flm.lindqvist", "Erik", "Lindqvist"}, {"flm.moreau", "Sophie", "Moreau"},
    {"flm.patel", "Priya", "Patel"},        {"flm.rossi", "Marco", "Rossi"},
    {"flm.schmidt", "Anna", "Schmidt"},     {"flm.haddad", "Karim", "Haddad"},
    {"flm.jensen", "Freja", "Jensen"},      {"flm.murphy", "Sean", "Murphy"},
    {"flm.costa", "Ines", "Costa"},         {"flm.ivanova", "Elena", "Ivanova"},
    {"flm.fischer", "Jonas", "Fischer"},    {"flm.ahmed", "Sara", "Ahmed"},
    {"flm.bianchi", "Luca", "Bianchi"},     {"flm.larsen", "Ida", "Larsen"},
    {"flm.santos", "Tiago", "Santos"},      {"flm.weber", "Lena", "Weber"},
    {"flm.kim", "Min-jun", "Kim"},          {"flm.dawson", "Grace", "Dawson"},
    {"flm.horvat", "Luka", "Horvat"},       {"flm.mendes", "Beatriz", "Mendes"},
};

static const char *const demo_first[] = {
    "Adam",   "Aisha", "Alex",  "Amir",  "Ana",   "Ben",       "Carla",   "Chloe",
    "Daniel", "Dina",  "Elif",  "Emma",  "Felix", "Fatima",    "Gabriel", "Hana",
    "Hugo",   "Isaac", "Jade",  "Jamal", "Julia", "Kai",       "Laila",   "Leo",
    "Maya",   "Mateo", "Mia",   "Nadia", "Noah",  "Olga",      "Omar",    "Paula",
    "Ravi",   "Rosa",  "Samir", "Sofia", "Tom",   "Valentina", "Yara",    "Zoe",
};

static const char *const demo_last[] = {
    "Abbott", "Baker",    "Brennan", "Castro",  "Diallo",    "Eriksen", "Ferreira", "Friedman",
    "Gomez",  "Hansen",   "Hughes",  "Ibrahim", "Jovanovic", "Keller",  "Lambert",  "Lopez",
    "Martin", "Meyer",    "Nguyen",  "Nielsen", "Novotny",   "Olsen",   "Park",     "Petrov",
    "Quinn",  "Reyes",    "Richter", "Sato",    "Schultz",   "Singh",   "Sorensen", "Stone",
    "Tran",   "Van Dijk", "Vargas",  "Wagner",  "Wong",      "Yilmaz",  "Young",    "Zhang",
};

/* Monday on or after day. 1970-01-01 was a Thursday. */
static int32_t demo_monday(int32_t day)
{
    int dow = (int)((day + 3) % 7); /* 0 = Monday */

    return dow == 0 ? day : day + (7 - dow);
}

/* The working day nearest after a weekend. */
int32_t demo_weekday(int32_t day)
{
    int dow = (int)((day + 3) % 7);

    return dow == 5 ? day + 2 : (dow == 6 ? day + 1 : day);
}

/* Writes "first.last@domain" in lower case, letters and digits only. */
static void demo_email(char *out, size_t len, const char *first, const char *last)
{
    size_t n = 0;
    const char *parts[2] = {first, last};

    for (int p = 0; p < 2; p++) {
        if (p == 1 && n + 1 < len) {
            out[n++] = '.';
        }
        for (const char *c = parts[p]; *c != '\0' && n + 1 < len; c++) {
            char ch = *c;

            if (ch >= 'A' && ch <= 'Z') {
                ch = (char)(ch - 'A' + 'a');
            }
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
                out[n++] = ch;
            }
        }
    }
    out[n] = '\0';
    snprintf(out + n, len - n, "@%s", DEMO_DOMAIN);
}

static void demo_person_set(struct demo_person *p, enum demo_kind kind, const char *id,
                            const char *first, const char *last)
{
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->name, sizeof(p->name), "%s %s", first, last);
    demo_email(p->email, sizeof(p->email), first, last);
    p->kind = kind;
    p->manager = -1;
    p->new_manager = -1;
    p->move_day = 0;
}

/* The manager (person index) of person i on day, or -1. */
int demo_manager_on(const struct demo *d, int i, int32_t day)
{
    const struct demo_person *p = &d->people[i];

    if (p->move_day != 0 && day >= p->move_day) {
        return p->new_manager;
    }
    return day >= d->org_day ? p->manager : -1;
}

static int demo_name_taken(const struct demo *d, int upto, const char *name)
{
    for (int i = 0; i < upto; i++) {
        if (strcmp(d->people[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The staff from the tables: the lead, the observers (who work in
 * enablement, for the lead) and the managers, each front-line manager
 * under a second-level one. Draws nothing. */
static void demo_plan_staff(struct demo *d)
{
    int i;

    for (i = 0; i < DEMO_LEADS; i++) {
        demo_person_set(&d->people[DEMO_P_LEAD + i], DEMO_K_LEAD, demo_leads[i].id,
                        demo_leads[i].first, demo_leads[i].last);
    }
    for (i = 0; i < DEMO_OBSERVERS; i++) {
        demo_person_set(&d->people[DEMO_P_OBS + i], DEMO_K_OBSERVER, demo_observers[i].id,
                        demo_observers[i].first, demo_observers[i].last);
        /* Observers work in enablement, for the lead. */
        d->people[DEMO_P_OBS + i].manager = DEMO_P_LEAD;
    }
    for (i = 0; i < DEMO_SLMS; i++) {
        demo_person_set(&d->people[DEMO_P_SLM + i], DEMO_K_SLM, demo_slms[i].id, demo_slms[i].first,
                        demo_slms[i].last);
    }
    for (i = 0; i < DEMO_FLMS; i++) {
        demo_person_set(&d->people[DEMO_P_FLM + i], DEMO_K_FLM, demo_flms[i].id, demo_flms[i].first,
                        demo_flms[i].last);
        d->people[DEMO_P_FLM + i].manager = DEMO_P_SLM + i / (DEMO_FLMS / DEMO_SLMS);
    }
}

/* Which front-line manager (0..DEMO_FLMS-1) each rep reports to at the
 * start, into slot. */
static void demo_plan_slots(struct demo_rng *r, int slot[DEMO_REPS])
{
    int i;

    /* Six reps per manager, and the rest one each to managers drawn at
     * random; then the slots are shuffled so that teams are not numbered
     * in blocks. */
    for (i = 0; i < DEMO_REPS; i++) {
        slot[i] = i < DEMO_FLMS * 6 ? i / 6 : -1;
    }
    for (i = DEMO_FLMS * 6; i < DEMO_REPS; i++) {
        int f = (int)demo_below(r, DEMO_FLMS);

        /* At most one extra rep per team: redraw while f has one. */
        for (int tries = 0; tries < 64; tries++) {
            int has = 0;

            for (int k = DEMO_FLMS * 6; k < i; k++) {
                has += slot[k] == f;
            }
            if (has == 0) {
                break;
            }
            f = (int)demo_below(r, DEMO_FLMS);
        }
        slot[i] = f;
    }
    for (i = DEMO_REPS - 1; i > 0; i--) {
        int j = (int)demo_below(r, (uint32_t)i + 1);
        int tmp = slot[i];

        slot[i] = slot[j];
        slot[j] = tmp;
    }
}

/* The reps, with fresh names, under the managers slot gives them. */
static void demo_plan_reps(struct demo *d, struct demo_rng *r, const int slot[DEMO_REPS])
{
    for (int i = 0; i < DEMO_REPS; i++) {
        struct demo_person *p = &d->people[DEMO_P_REP + i];
        char id[16];
        char name[64];
        const char *first = demo_first[0];
        const char *last = demo_last[0];

        /* A fresh full name: the pool holds 1600 and the demo needs 185. */
        for (int tries = 0; tries < 1000; tries++) {
            first = demo_first[demo_below(r, sizeof(demo_first) / sizeof(demo_first[0]))];
            last = demo_last[demo_below(r, sizeof(demo_last) / sizeof(demo_last[0]))];
            snprintf(name, sizeof(name), "%s %s", first, last);
            if (!demo_name_taken(d, DEMO_P_REP + i, name)) {
                break;
            }
        }
        snprintf(id, sizeof(id), "rep.%04d", i + 1);
        demo_person_set(p, DEMO_K_REP, id, first, last);
        p->manager = DEMO_P_FLM + slot[i];
    }
}

/* The year's moves: two or three reps to another team, and one front-line
 * manager to another second-level manager. */
static void demo_plan_moves(struct demo *d, struct demo_rng *r, const int slot[DEMO_REPS])
{
    int team[DEMO_FLMS];
    int i;

    /* A mover comes from a team of seven where there is one, so that no
     * team shrinks below five. */
    memset(team, 0, sizeof(team));
    for (i = 0; i < DEMO_REPS; i++) {
        team[slot[i]]++;
    }
    d->n_transfers = 2 + (int)demo_below(r, 2);
    for (int t = 0; t < d->n_transfers; t++) {
        int rep = -1;
        int to;

        for (int tries = 0; tries < 1000 && rep < 0; tries++) {
            int cand = (int)demo_below(r, DEMO_REPS);
            struct demo_person *p = &d->people[DEMO_P_REP + cand];

            if (p->move_day == 0 && team[p->manager - DEMO_P_FLM] >= (tries < 500 ? 7 : 6)) {
                rep = cand;
            }
        }
        if (rep < 0) {
            d->n_transfers = t;
            break;
        }
        do {
            to = (int)demo_below(r, DEMO_FLMS);
        } while (DEMO_P_FLM + to == d->people[DEMO_P_REP + rep].manager || team[to] > 7);
        team[d->people[DEMO_P_REP + rep].manager - DEMO_P_FLM]--;
        team[to]++;
        d->people[DEMO_P_REP + rep].new_manager = DEMO_P_FLM + to;
        d->people[DEMO_P_REP + rep].move_day =
            demo_monday(d->start_day + 100 + (int32_t)demo_below(r, 150));
    }

    /* One front-line manager moves to another second-level manager. */
    {
        int f = (int)demo_below(r, DEMO_FLMS);
        struct demo_person *p = &d->people[DEMO_P_FLM + f];
        int to = DEMO_P_SLM + (int)demo_below(r, DEMO_SLMS - 1);

        if (to >= p->manager) {
            to++;
        }
        p->new_manager = to;
        p->move_day = demo_monday(d->start_day + 150 + (int32_t)demo_below(r, 70));
    }
}

/* The people, their first lines and the planned moves, all drawn in this
 * order from the one people stream. */
void demo_plan_people(struct demo *d)
{
    struct demo_rng r;
    int slot[DEMO_REPS];

    demo_fork(&r, d->seed, DEMO_S_PEOPLE, 0);
    demo_plan_staff(d);
    demo_plan_slots(&r, slot);
    demo_plan_reps(d, &r, slot);
    demo_plan_moves(d, &r, slot);
}

/* The managers' latent quality, habits, observers and training. */
void demo_plan_managers(struct demo *d)
{
    struct demo_rng r;
    int order[DEMO_FLMS];
    int obs_perm[DEMO_OBSERVERS];
    int i;

    demo_fork(&r, d->seed, DEMO_S_OBSERVER, 0);
    for (i = 0; i < DEMO_OBSERVERS; i++) {
        /* Observers differ a little in severity (negative: harsher). */
        d->severity[i] = demo_range(&r, -0.3, 0.3);
        obs_perm[i] = i;
    }
    for (i = DEMO_OBSERVERS - 1; i > 0; i--) {
        int j = (int)demo_below(&r, (uint32_t)i + 1);
        int tmp = obs_perm[i];

        obs_perm[i] = obs_perm[j];
        obs_perm[j] = tmp;
    }

    demo_fork(&r, d->seed, DEMO_S_ORG, 0);
    for (i = 0; i < DEMO_FLMS; i++) {
        order[i] = i;
    }
    for (i = DEMO_FLMS - 1; i > 0; i--) {
        int j = (int)demo_below(&r, (uint32_t)i + 1);
        int tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
    }
    for (i = 0; i < DEMO_FLMS; i++) {
        struct demo_flm *f = &d->flm[i];
        struct demo_rng fr;

        demo_fork(&fr, d->seed, DEMO_S_FLM, (uint64_t)i);
        memset(f, 0, sizeof(*f));
        f->person = DEMO_P_FLM + i;
        f->observer = obs_perm[i % DEMO_OBSERVERS];
        f->cohort = -1;
        f->base = demo_clamp(2.45 + 0.45 * demo_gauss(&fr), 1.5, 3.5);
        f->rate = demo_range(&fr, 3.0, 4.5);
        f->call_review = demo_range(&fr, 0.08, 0.3);
        f->drift = 0.1 * demo_gauss(&fr);
        f->gain = demo_range(&fr, 0.35, 0.85);
        for (int ri = 0; ri < DEMO_RUBRICS; ri++) {
            for (int b = 0; b < DEMO_MAX_BEH; b++) {
                f->trait[ri][b] = 0.3 * demo_gauss(&fr);
            }
        }
    }
    /* Three managers, the first three of the shuffled order, log many
     * sessions at low quality. */
    for (i = 0; i < 3; i++) {
        struct demo_flm *f = &d->flm[order[i]];

        f->busy = 1;
        f->base = demo_range(&r, 1.45, 1.95);
        f->rate = demo_range(&r, 6.0, 7.5);
        f->gain *= 0.4;
    }
    /* Shuffled again (busy managers may or may not train): the first
     * twenty train in cohorts of seven, seven and six; four never do. */
    for (i = 0; i < DEMO_FLMS; i++) {
        int j = (int)demo_below(&r, (uint32_t)(DEMO_FLMS - i)) + i;
        int tmp = order[i];

        order[i] = order[j];
        order[j] = tmp;
    }
    for (int c = 0; c < DEMO_COHORTS; c++) {
        d->cohort_day[c] = demo_monday(d->start_day + 91 * (c + 1));
        {
            char ds[16];

            demo_day_str(d->cohort_day[c], ds);
            /* "cs-YYYY-MM": the cohort's month. */
            snprintf(d->cohort_id[c], sizeof(d->cohort_id[c]), "cs-%.7s", ds);
        }
    }
    for (i = 0; i < 20; i++) {
        struct demo_flm *f = &d->flm[order[i]];
        int c = i < 7 ? 0 : (i < 14 ? 1 : 2);
        int completes = demo_chance(&r, 0.85);
        int n = completes ? DEMO_MODULES : 2 + (int)demo_below(&r, 3);

        f->cohort = c;
        f->n_attended = n;
        for (int m = 0; m < n; m++) {
            f->attended[m] = d->cohort_day[c] + 7 * m + (int32_t)demo_below(&r, 2);
        }
        f->completed_day = completes ? f->attended[n - 1] : 0;
    }
}
