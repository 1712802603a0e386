/*
 * Tests of validate: a good observation passes, and each structural rule,
 * broken one at a time from that baseline, is reported with the exact field
 * path, INVALID_ARGUMENT and a message for a person. Also validate_id()'s
 * edges.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "validate.h"

#define NRATINGS (VALIDATE_MAX_RATINGS + 1)

/* A baseline observation and everything it points into; on the heap since
 * the long-text buffer is large. */
struct fixture {
    Coachq__V1__Observation o;
    uint8_t id[17];
    char rubric[80];
    char coach[80];
    char coachee[80];
    Coachq__V1__Rating r[NRATINGS];
    Coachq__V1__Rating *rp[NRATINGS];
    char bid[NRATINGS][16];
    char evidence[32];
    Coachq__V1__Marker mk[2];
    Coachq__V1__Marker *mkp[2];
    char mknote[16];
    Coachq__V1__Action a[2];
    Coachq__V1__Action *ap[2];
    char atext[32];
    char aowner[80];
    uint8_t aid[2][16];
    char *focus[3];
    Coachq__V1__FollowUp u[2];
    Coachq__V1__FollowUp *up[2];
    uint8_t uid[2][16];
    char notes[32];
    char text[VALIDATE_MAX_NOTES + 2]; /* for the too-long and odd-text cases */
};

static void copy(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src);
}

/* Sets text to n copies of c followed by NUL, and returns it. */
static char *fill(struct fixture *x, size_t n, char c)
{
    assert_true(n < sizeof(x->text));
    memset(x->text, c, n);
    x->text[n] = '\0';
    return x->text;
}

static struct fixture *fixture_new(void)
{
    struct fixture *x = calloc(1, sizeof(*x));
    Coachq__V1__Observation *o;

    assert_non_null(x);
    o = &x->o;
    coachq__v1__observation__init(o);
    for (size_t i = 0; i < sizeof(x->id); i++) {
        x->id[i] = (uint8_t)(0xa0 + i);
    }
    o->id.data = x->id;
    o->id.len = 16;
    copy(x->rubric, sizeof(x->rubric), "coaching-conversation");
    o->rubric_id = x->rubric;
    o->rubric_version = 2;
    copy(x->coach, sizeof(x->coach), "mgr.jones");
    o->coach_id = x->coach;
    copy(x->coachee, sizeof(x->coachee), "rep.smith@example.com");
    o->coachee_id = x->coachee;
    o->session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    o->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS;
    o->started_at = 1793629800; /* 2026-11-02T14:30:00Z */
    o->duration_s = 2700;

    for (size_t i = 0; i < NRATINGS; i++) {
        coachq__v1__rating__init(&x->r[i]);
        snprintf(x->bid[i], sizeof(x->bid[i]), "b%zu", i);
        x->r[i].behaviour_id = x->bid[i];
        x->r[i].score = 1 + (uint32_t)(i % 4);
        x->rp[i] = &x->r[i];
    }
    copy(x->evidence, sizeof(x->evidence), "asked first");
    x->r[0].evidence = x->evidence;
    x->r[2].score = 0;
    x->r[2].not_applicable = 1;
    o->n_ratings = 3;
    o->ratings = x->rp;

    for (size_t i = 0; i < 2; i++) {
        coachq__v1__marker__init(&x->mk[i]);
        x->mkp[i] = &x->mk[i];
    }
    x->mk[0].kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION;
    x->mk[0].offset_ms = 135000;
    copy(x->mknote, sizeof(x->mknote), "good one");
    x->mk[0].note = x->mknote;
    /* Exactly at the session's end is still inside it. */
    x->mk[1].kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED;
    x->mk[1].offset_ms = 2700u * 1000u;
    o->n_markers = 2;
    o->markers = x->mkp;

    for (size_t i = 0; i < 2; i++) {
        coachq__v1__action__init(&x->a[i]);
        x->ap[i] = &x->a[i];
    }
    copy(x->atext, sizeof(x->atext), "Send the mutual plan");
    copy(x->aowner, sizeof(x->aowner), "rep.smith@example.com");
    x->a[0].text = x->atext;
    x->a[0].owner_id = x->aowner;
    x->a[1].text = x->atext;
    o->n_actions = 2;
    o->actions = x->ap;

    copy(x->notes, sizeof(x->notes), "Good session.");
    o->notes = x->notes;
    return x;
}

/* One rule broken (or an edge that must still pass). */
struct vcase {
    const char *name;
    void (*mutate)(struct fixture *x);
    const char *field; /* NULL: must pass */
};

/* Mutations. Each changes one thing about the baseline. */
static void m_none(struct fixture *x)
{
    (void)x;
}
static void m_id_empty(struct fixture *x)
{
    x->o.id.len = 0;
    x->o.id.data = NULL;
}
static void m_id_15(struct fixture *x)
{
    x->o.id.len = 15;
}
static void m_id_17(struct fixture *x)
{
    x->o.id.len = 17;
}
static void m_rubric_empty(struct fixture *x)
{
    x->rubric[0] = '\0';
}
static void m_rubric_null(struct fixture *x)
{
    x->o.rubric_id = NULL;
}
static void m_rubric_slash(struct fixture *x)
{
    copy(x->rubric, sizeof(x->rubric), "coaching/conversation");
}
static void m_rubric_version_0(struct fixture *x)
{
    x->o.rubric_version = 0;
}
static void m_coach_empty(struct fixture *x)
{
    x->coach[0] = '\0';
}
static void m_coach_space(struct fixture *x)
{
    copy(x->coach, sizeof(x->coach), "mgr jones");
}
static void m_coach_65(struct fixture *x)
{
    memset(x->coach, 'c', 65);
    x->coach[65] = '\0';
}
static void m_coach_64(struct fixture *x)
{
    memset(x->coach, 'c', 64);
    x->coach[64] = '\0';
}
static void m_coachee_same(struct fixture *x)
{
    copy(x->coachee, sizeof(x->coachee), x->coach);
}
static void m_coachee_chars(struct fixture *x)
{
    copy(x->coachee, sizeof(x->coachee), "rep;smith");
}
static void m_coachee_nonascii(struct fixture *x)
{
    copy(x->coachee, sizeof(x->coachee), "r\xc3\xa9p");
}
static void m_coachee_null(struct fixture *x)
{
    x->o.coachee_id = NULL;
}
static void m_session_0(struct fixture *x)
{
    x->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_UNSPECIFIED;
}
static void m_session_7(struct fixture *x)
{
    x->o.session_type = (Coachq__V1__SessionType)7;
}
static void m_session_neg(struct fixture *x)
{
    x->o.session_type = (Coachq__V1__SessionType)-1;
}
static void m_session_last(struct fixture *x)
{
    x->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN;
}
static void m_focus_0(struct fixture *x)
{
    x->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_UNSPECIFIED;
}
static void m_focus_4(struct fixture *x)
{
    x->o.focus = (Coachq__V1__CoachingFocus)4;
}
static void m_focus_human(struct fixture *x)
{
    x->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
}
static void m_started_0(struct fixture *x)
{
    x->o.started_at = 0;
}
static void m_started_ms(struct fixture *x)
{
    x->o.started_at = 1793629800LL * 1000;
}
static void m_started_negative(struct fixture *x)
{
    x->o.started_at = -1;
}
static void m_started_1999(struct fixture *x)
{
    x->o.started_at = 946684799;
}
static void m_started_2000(struct fixture *x)
{
    x->o.started_at = 946684800;
}
static void m_started_2100(struct fixture *x)
{
    x->o.started_at = 4102444800LL;
}
static void m_duration_0(struct fixture *x)
{
    x->o.duration_s = 0;
}
static void m_duration_long(struct fixture *x)
{
    x->o.duration_s = VALIDATE_MAX_DURATION_S + 1;
    x->mk[1].offset_ms = 0;
}
static void m_duration_max(struct fixture *x)
{
    x->o.duration_s = VALIDATE_MAX_DURATION_S;
}
static void m_ratings_empty(struct fixture *x)
{
    x->o.n_ratings = 0;
}
static void m_ratings_too_many(struct fixture *x)
{
    x->o.n_ratings = VALIDATE_MAX_RATINGS + 1;
}
static void m_ratings_max(struct fixture *x)
{
    x->o.n_ratings = VALIDATE_MAX_RATINGS;
}
static void m_score_0(struct fixture *x)
{
    x->r[1].score = 0;
}
static void m_score_5(struct fixture *x)
{
    x->r[1].score = 5;
}
static void m_score_huge(struct fixture *x)
{
    x->r[1].score = UINT32_MAX;
}
static void m_score_and_na(struct fixture *x)
{
    x->r[1].score = 2;
    x->r[1].not_applicable = 1;
}
static void m_score_1_and_4(struct fixture *x)
{
    x->r[0].score = 1;
    x->r[1].score = 4;
}
static void m_behaviour_dup(struct fixture *x)
{
    copy(x->bid[1], sizeof(x->bid[1]), x->bid[0]);
}
static void m_behaviour_dup_later(struct fixture *x)
{
    copy(x->bid[2], sizeof(x->bid[2]), x->bid[1]);
}
static void m_behaviour_empty(struct fixture *x)
{
    x->bid[1][0] = '\0';
}
static void m_evidence_long(struct fixture *x)
{
    x->r[0].evidence = fill(x, VALIDATE_MAX_EVIDENCE + 1, 'e');
}
static void m_evidence_max(struct fixture *x)
{
    x->r[0].evidence = fill(x, VALIDATE_MAX_EVIDENCE, 'e');
}
static void m_evidence_text(struct fixture *x, const char *s)
{
    copy(x->text, sizeof(x->text), s);
    x->r[0].evidence = x->text;
}
static void m_evidence_overlong(struct fixture *x)
{
    m_evidence_text(x, "a\xc0\xaf");
}
static void m_evidence_overlong3(struct fixture *x)
{
    m_evidence_text(x, "\xe0\x80\xaf");
}
static void m_evidence_overlong4(struct fixture *x)
{
    m_evidence_text(x, "\xf0\x8f\xbf\xbf");
}
static void m_evidence_surrogate(struct fixture *x)
{
    m_evidence_text(x, "x\xed\xa0\x80y");
}
static void m_evidence_too_high(struct fixture *x)
{
    m_evidence_text(x, "\xf4\x90\x80\x80");
}
static void m_evidence_cut(struct fixture *x)
{
    m_evidence_text(x, "euro \xe2\x82");
}
static void m_evidence_lone_cont(struct fixture *x)
{
    m_evidence_text(x, "\x80");
}
static void m_evidence_latin1(struct fixture *x)
{
    m_evidence_text(x, "caf\xe9!");
}
static void m_evidence_good_utf8(struct fixture *x)
{
    /* 2-, 3- and 4-byte forms, the last code points before the gaps. */
    m_evidence_text(x, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf");
}
static void m_evidence_second(struct fixture *x)
{
    x->r[2].evidence = fill(x, VALIDATE_MAX_EVIDENCE + 1, 'e');
}
static void m_marker_kind_0(struct fixture *x)
{
    x->mk[0].kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_UNSPECIFIED;
}
static void m_marker_kind_8(struct fixture *x)
{
    x->mk[0].kind = (Coachq__V1__MarkerKind)8;
}
static void m_marker_after_end(struct fixture *x)
{
    x->mk[0].offset_ms = x->o.duration_s * 1000u + 1;
}
static void m_marker1_after_end(struct fixture *x)
{
    x->mk[1].offset_ms = UINT32_MAX;
}
static void m_marker_note_long(struct fixture *x)
{
    x->mk[0].note = fill(x, VALIDATE_MAX_NOTE + 1, 'n');
}
static void m_markers_too_many(struct fixture *x)
{
    x->o.n_markers = VALIDATE_MAX_MARKERS + 1;
}
static void m_action_empty(struct fixture *x)
{
    x->atext[0] = '\0';
    x->a[1].text = x->aowner;
}
static void m_action_null(struct fixture *x)
{
    x->a[0].text = NULL;
}
static void m_action_long(struct fixture *x)
{
    x->a[0].text = fill(x, VALIDATE_MAX_ACTION + 1, 'a');
}
static void m_action_owner_bad(struct fixture *x)
{
    copy(x->aowner, sizeof(x->aowner), "rep smith");
}
static void m_action_second_empty(struct fixture *x)
{
    x->a[1].text = x->text;
    x->text[0] = '\0';
}
/* Actions with ids and follow-ups of two earlier actions: valid. */
static void with_ids(struct fixture *x)
{
    for (int i = 0; i < 2; i++) {
        memset(x->aid[i], 0x10 + i, 16);
        x->a[i].id.data = x->aid[i];
        x->a[i].id.len = 16;
        memset(x->uid[i], 0x20 + i, 16);
        coachq__v1__follow_up__init(&x->u[i]);
        x->u[i].action_id.data = x->uid[i];
        x->u[i].action_id.len = 16;
        x->u[i].status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
        x->up[i] = &x->u[i];
    }
    x->o.follow_ups = x->up;
    x->o.n_follow_ups = 2;
}
static void m_action_ids_ok(struct fixture *x)
{
    with_ids(x);
    x->focus[0] = (char *)"looks-for-evidence";
    x->a[0].focus_behaviours = x->focus;
    x->a[0].n_focus_behaviours = 1;
    x->a[0].focus_skill = (char *)"discovery questions";
    x->a[1].owner = COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER;
}
static void m_action_id_15(struct fixture *x)
{
    with_ids(x);
    x->a[1].id.len = 15;
}
static void m_action_id_twice(struct fixture *x)
{
    with_ids(x);
    memset(x->aid[1], 0x10, 16);
}
static void m_action_owner_kind(struct fixture *x)
{
    x->a[0].owner = (Coachq__V1__ActionOwner)3;
}
static void m_action_focus_three(struct fixture *x)
{
    x->focus[0] = (char *)"a";
    x->focus[1] = (char *)"b";
    x->a[0].focus_behaviours = x->focus;
    x->a[0].n_focus_behaviours = 2;
    x->a[0].focus_skill = (char *)"and a skill";
}
static void m_action_focus_bad_id(struct fixture *x)
{
    x->focus[0] = (char *)"two words";
    x->a[0].focus_behaviours = x->focus;
    x->a[0].n_focus_behaviours = 1;
}
static void m_follow_up_same_session(struct fixture *x)
{
    with_ids(x);
    memset(x->uid[1], 0x11, 16);
}
static void m_follow_up_twice(struct fixture *x)
{
    with_ids(x);
    memset(x->uid[1], 0x20, 16);
}
static void m_follow_up_status_0(struct fixture *x)
{
    with_ids(x);
    x->u[0].status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED;
}
static void m_follow_up_status_6(struct fixture *x)
{
    with_ids(x);
    x->u[1].status = (Coachq__V1__ActionStatus)6;
}
static void m_follow_up_id_empty(struct fixture *x)
{
    with_ids(x);
    x->u[0].action_id.len = 0;
}
static void m_follow_up_evidence_ctrl(struct fixture *x)
{
    with_ids(x);
    x->u[0].evidence = (char *)"bad\x1b[31m";
}
static void m_follow_up_at_1990(struct fixture *x)
{
    with_ids(x);
    x->u[0].at = 631152000;
}
static void m_follow_up_at_session_edges(struct fixture *x)
{
    with_ids(x);
    x->u[0].at = x->o.started_at;
    x->u[1].at = x->o.started_at + (int64_t)x->o.duration_s;
}
static void m_follow_up_at_before_session(struct fixture *x)
{
    with_ids(x);
    x->u[0].at = x->o.started_at - 1;
}
static void m_follow_up_at_after_session(struct fixture *x)
{
    with_ids(x);
    x->u[0].at = x->o.started_at + (int64_t)x->o.duration_s + 1;
}
static void m_follow_up_at_far_future(struct fixture *x)
{
    with_ids(x);
    x->u[0].at = 4102444700LL;
}
static void m_follow_ups_too_many(struct fixture *x)
{
    with_ids(x);
    x->o.n_follow_ups = VALIDATE_MAX_FOLLOW_UPS + 1;
}
static void m_actions_too_many(struct fixture *x)
{
    x->o.n_actions = VALIDATE_MAX_ACTIONS + 1;
}
static void m_notes_long(struct fixture *x)
{
    x->o.notes = fill(x, VALIDATE_MAX_NOTES + 1, 'z');
}
static void m_notes_max(struct fixture *x)
{
    x->o.notes = fill(x, VALIDATE_MAX_NOTES, 'z');
}
static void m_notes_bad_utf8(struct fixture *x)
{
    copy(x->text, sizeof(x->text), "fine \xed\xbf\xbf");
    x->o.notes = x->text;
}
static void m_notes_empty(struct fixture *x)
{
    x->o.notes = NULL;
    x->o.n_markers = 0;
    x->o.n_actions = 0;
}

static const struct vcase cases[] = {
    {"baseline", m_none, NULL},
    {"id empty", m_id_empty, "observation.id"},
    {"id 15 bytes", m_id_15, "observation.id"},
    {"id 17 bytes", m_id_17, "observation.id"},
    {"rubric empty", m_rubric_empty, "observation.rubric_id"},
    {"rubric NULL", m_rubric_null, "observation.rubric_id"},
    {"rubric slash", m_rubric_slash, "observation.rubric_id"},
    {"rubric_version 0", m_rubric_version_0, "observation.rubric_version"},
    {"coach empty", m_coach_empty, "observation.coach_id"},
    {"coach space", m_coach_space, "observation.coach_id"},
    {"coach 65 chars", m_coach_65, "observation.coach_id"},
    {"coach 64 chars", m_coach_64, NULL},
    {"coachee same as coach", m_coachee_same, "observation.coachee_id"},
    {"coachee bad chars", m_coachee_chars, "observation.coachee_id"},
    {"coachee non-ASCII", m_coachee_nonascii, "observation.coachee_id"},
    {"coachee NULL", m_coachee_null, "observation.coachee_id"},
    {"session_type unspecified", m_session_0, "observation.session_type"},
    {"session_type 7", m_session_7, "observation.session_type"},
    {"session_type -1", m_session_neg, "observation.session_type"},
    {"session_type last", m_session_last, NULL},
    {"focus unspecified", m_focus_0, "observation.focus"},
    {"focus 4", m_focus_4, "observation.focus"},
    {"focus human", m_focus_human, NULL},
    {"started_at 0", m_started_0, "observation.started_at"},
    {"started_at in ms", m_started_ms, "observation.started_at"},
    {"started_at negative", m_started_negative, "observation.started_at"},
    {"started_at 1999", m_started_1999, "observation.started_at"},
    {"started_at 2000-01-01", m_started_2000, NULL},
    {"started_at 2100-01-01", m_started_2100, "observation.started_at"},
    {"duration 0", m_duration_0, "observation.duration_s"},
    {"duration too long", m_duration_long, "observation.duration_s"},
    {"duration max", m_duration_max, NULL},
    {"ratings empty", m_ratings_empty, "observation.ratings"},
    {"ratings too many", m_ratings_too_many, "observation.ratings"},
    {"ratings max", m_ratings_max, NULL},
    {"score 0", m_score_0, "observation.ratings[1].score"},
    {"score 5", m_score_5, "observation.ratings[1].score"},
    {"score UINT32_MAX", m_score_huge, "observation.ratings[1].score"},
    {"score and not applicable", m_score_and_na, "observation.ratings[1].score"},
    {"scores 1 and 4", m_score_1_and_4, NULL},
    {"behaviour duplicate", m_behaviour_dup, "observation.ratings[1].behaviour_id"},
    {"behaviour duplicate later", m_behaviour_dup_later, "observation.ratings[2].behaviour_id"},
    {"behaviour empty", m_behaviour_empty, "observation.ratings[1].behaviour_id"},
    {"evidence too long", m_evidence_long, "observation.ratings[0].evidence"},
    {"evidence max", m_evidence_max, NULL},
    {"evidence overlong 2-byte", m_evidence_overlong, "observation.ratings[0].evidence"},
    {"evidence overlong 3-byte", m_evidence_overlong3, "observation.ratings[0].evidence"},
    {"evidence overlong 4-byte", m_evidence_overlong4, "observation.ratings[0].evidence"},
    {"evidence lone surrogate", m_evidence_surrogate, "observation.ratings[0].evidence"},
    {"evidence above U+10FFFF", m_evidence_too_high, "observation.ratings[0].evidence"},
    {"evidence cut sequence", m_evidence_cut, "observation.ratings[0].evidence"},
    {"evidence lone continuation", m_evidence_lone_cont, "observation.ratings[0].evidence"},
    {"evidence Latin-1", m_evidence_latin1, "observation.ratings[0].evidence"},
    {"evidence good UTF-8", m_evidence_good_utf8, NULL},
    {"evidence of ratings[2]", m_evidence_second, "observation.ratings[2].evidence"},
    {"marker kind unspecified", m_marker_kind_0, "observation.markers[0].kind"},
    {"marker kind 8", m_marker_kind_8, "observation.markers[0].kind"},
    {"marker after end", m_marker_after_end, "observation.markers[0].offset_ms"},
    {"marker[1] far after end", m_marker1_after_end, "observation.markers[1].offset_ms"},
    {"marker note too long", m_marker_note_long, "observation.markers[0].note"},
    {"markers too many", m_markers_too_many, "observation.markers"},
    {"action text empty", m_action_empty, "observation.actions[0].text"},
    {"action text NULL", m_action_null, "observation.actions[0].text"},
    {"action text too long", m_action_long, "observation.actions[0].text"},
    {"action owner bad", m_action_owner_bad, "observation.actions[0].owner_id"},
    {"action[1] text empty", m_action_second_empty, "observation.actions[1].text"},
    {"actions too many", m_actions_too_many, "observation.actions"},
    {"action ids, focus, owner kind, follow-ups", m_action_ids_ok, NULL},
    {"action id 15 bytes", m_action_id_15, "observation.actions[1].id"},
    {"action id twice", m_action_id_twice, "observation.actions[1].id"},
    {"action owner kind 3", m_action_owner_kind, "observation.actions[0].owner"},
    {"action three focus areas", m_action_focus_three, "observation.actions[0].focus_behaviours"},
    {"action focus not an id", m_action_focus_bad_id, "observation.actions[0].focus_behaviours[0]"},
    {"follow-up of this session's action", m_follow_up_same_session,
     "observation.follow_ups[1].action_id"},
    {"follow-up twice", m_follow_up_twice, "observation.follow_ups[1].action_id"},
    {"follow-up status unspecified", m_follow_up_status_0, "observation.follow_ups[0].status"},
    {"follow-up status 6", m_follow_up_status_6, "observation.follow_ups[1].status"},
    {"follow-up without action id", m_follow_up_id_empty, "observation.follow_ups[0].action_id"},
    {"follow-up evidence control", m_follow_up_evidence_ctrl, "observation.follow_ups[0].evidence"},
    {"follow-up at 1990", m_follow_up_at_1990, "observation.follow_ups[0].at"},
    {"follow-ups at the session's start and end", m_follow_up_at_session_edges, NULL},
    {"follow-up before the session", m_follow_up_at_before_session, "observation.follow_ups[0].at"},
    {"follow-up after the session", m_follow_up_at_after_session, "observation.follow_ups[0].at"},
    {"follow-up far in the future", m_follow_up_at_far_future, "observation.follow_ups[0].at"},
    {"follow-ups too many", m_follow_ups_too_many, "observation.follow_ups"},
    {"notes too long", m_notes_long, "observation.notes"},
    {"notes max", m_notes_max, NULL},
    {"notes bad UTF-8", m_notes_bad_utf8, "observation.notes"},
    {"notes, markers and actions absent", m_notes_empty, NULL},
};

static void test_cases(void **state)
{
    int failed = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture *x = fixture_new();
        struct validate_error err;
        int rc;

        memset(&err, 0x5a, sizeof(err));
        err.field[0] = '\0';
        err.message[0] = '\0';
        cases[i].mutate(x);
        rc = validate_observation(&x->o, "observation", &err);
        if (cases[i].field == NULL) {
            if (rc != 0) {
                print_error("%s: want valid, got %d at %s: %s\n", cases[i].name, rc, err.field,
                            err.message);
                failed++;
            }
        } else if (rc != -EINVAL) {
            print_error("%s: want -EINVAL at %s, got %d\n", cases[i].name, cases[i].field, rc);
            failed++;
        } else if (strcmp(err.field, cases[i].field) != 0) {
            print_error("%s: want field %s, got %s (%s)\n", cases[i].name, cases[i].field,
                        err.field, err.message);
            failed++;
        } else if (err.code != COACHQ__V1__CODE__INVALID_ARGUMENT) {
            print_error("%s: want code INVALID_ARGUMENT, got %d\n", cases[i].name, (int)err.code);
            failed++;
        } else if (err.message[0] == '\0' || strlen(err.message) >= sizeof(err.message)) {
            print_error("%s: empty or unterminated message\n", cases[i].name);
            failed++;
        }
        free(x);
    }
    assert_int_equal(failed, 0);
}

static void test_messages_say_what(void **state)
{
    struct fixture *x = fixture_new();
    struct validate_error err;

    (void)state;
    x->r[1].score = 5;
    assert_int_equal(validate_observation(&x->o, "observation", &err), -EINVAL);
    assert_non_null(strstr(err.message, "5"));

    free(x);
    x = fixture_new();
    copy(x->bid[1], sizeof(x->bid[1]), x->bid[0]);
    assert_int_equal(validate_observation(&x->o, "observation", &err), -EINVAL);
    assert_non_null(strstr(err.message, "b0"));
    assert_non_null(strstr(err.message, "ratings[0]"));
    free(x);
}

static void test_prefix(void **state)
{
    struct fixture *x = fixture_new();
    struct validate_error err;

    (void)state;
    x->r[1].score = 0;
    assert_int_equal(validate_observation(&x->o, "submit.observation", &err), -EINVAL);
    assert_string_equal(err.field, "submit.observation.ratings[1].score");

    /* An empty prefix gives the bare field, without a leading dot. */
    assert_int_equal(validate_observation(&x->o, "", &err), -EINVAL);
    assert_string_equal(err.field, "ratings[1].score");
    free(x);

    /* A missing observation is named by the prefix itself. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(validate_observation(NULL, "observation", &err), -EINVAL);
    assert_string_equal(err.field, "observation");
    assert_int_equal(err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_true(err.message[0] != '\0');
}

static void test_validate_id(void **state)
{
    char s[VALIDATE_MAX_ID + 2];

    (void)state;
    assert_int_equal(validate_id("a"), 0);
    assert_int_equal(validate_id("rep.smith@example.com"), 0);
    assert_int_equal(validate_id("A-Z_0.9@x"), 0);

    memset(s, 'x', VALIDATE_MAX_ID);
    s[VALIDATE_MAX_ID] = '\0';
    assert_int_equal(validate_id(s), 0);
    s[VALIDATE_MAX_ID] = 'x';
    s[VALIDATE_MAX_ID + 1] = '\0';
    assert_int_equal(validate_id(s), -EINVAL);

    assert_int_equal(validate_id(""), -EINVAL);
    assert_int_equal(validate_id(NULL), -EINVAL);
    assert_int_equal(validate_id(" "), -EINVAL);
    assert_int_equal(validate_id("a b"), -EINVAL);
    assert_int_equal(validate_id("ab "), -EINVAL);
    assert_int_equal(validate_id("a/b"), -EINVAL);
    assert_int_equal(validate_id("a\tb"), -EINVAL);
    assert_int_equal(validate_id("a+b"), -EINVAL);
    assert_int_equal(validate_id("caf\xc3\xa9"), -EINVAL);
    assert_int_equal(validate_id("\x7f"), -EINVAL);
}

/* The one text rule: what may stand in multi-line and one-line text, and
 * where the first refused character is. */
/* Bytes at and beyond the edges of printable ASCII, for test_text_rule. */
static const unsigned char edge[] = {0x00, 0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0xff};

static void test_text_rule(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int multi_ok;
        int line_ok;
        size_t bad;
    } text_cases[] = {
        {"", 0, 1, 1, 0},
        {"plain words", 11, 1, 1, 0},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 1, 1, 0},
        {"two\nlines\tand a tab", 19, 1, 0, 3},
        {"abc\0def", 7, 0, 0, 3},
        {"\0", 1, 0, 0, 0},
        {"cr\r\n", 4, 0, 0, 2},
        {"esc\x1b[2J", 7, 0, 0, 3},
        {"del\x7f", 4, 0, 0, 3},
        {"nel\xc2\x85", 5, 0, 0, 3},
        {"csi\xc2\x9b", 5, 0, 0, 3},
        {"nbsp\xc2\xa0", 6, 1, 1, 0},
        {"bad\xff", 4, 0, 0, 3},
        {"over\xc0\xaf", 6, 0, 0, 4},
        {"sur\xed\xa0\x80", 6, 0, 0, 3},
        {"cut\xe2\x82", 5, 0, 0, 3},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
        size_t bad = SIZE_MAX;
        int rc = validate_text(text_cases[i].s, text_cases[i].len, 1, &bad);

        assert_int_equal(rc, text_cases[i].multi_ok ? 0 : -EINVAL);
        if (!text_cases[i].multi_ok) {
            assert_int_equal(bad, text_cases[i].bad);
            assert_non_null(validate_text_problem(text_cases[i].s, text_cases[i].len, bad));
        }
        rc = validate_text(text_cases[i].s, text_cases[i].len, 0, NULL);
        assert_int_equal(rc, text_cases[i].line_ok ? 0 : -EINVAL);
    }
    /* Every single byte, alone and after printable text (the fast path for
     * ASCII): printable ASCII passes, tab and newline only in multi-line
     * text, every other byte below 0x80 and every lone byte above is
     * refused at its own position. */
    for (unsigned b = 0; b < 256; b++) {
        char one[8] = "text ";
        int printable = b >= 0x20 && b < 0x7f;
        int space = b == '\t' || b == '\n';
        size_t bad = SIZE_MAX;

        one[5] = (char)b;
        assert_int_equal(validate_text(one + 5, 1, 1, NULL), printable || space ? 0 : -EINVAL);
        assert_int_equal(validate_text(one + 5, 1, 0, NULL), printable ? 0 : -EINVAL);
        assert_int_equal(validate_text(one, 6, 1, &bad), printable || space ? 0 : -EINVAL);
        if (!printable && !space) {
            assert_int_equal(bad, 5);
        }
    }
    /* Every byte at every place of 24 bytes of printable text: one that is
     * not printable ASCII is refused at its own place, whatever stands
     * around it, and one that is passes. */
    for (unsigned b = 0; b < 256; b++) {
        int printable = b >= 0x20 && b < 0x7f;

        for (size_t at = 0; at < 24; at++) {
            char line[24];
            size_t bad = SIZE_MAX;

            memset(line, 'a' + (int)(at % 26), sizeof(line));
            line[at] = (char)b;
            assert_int_equal(validate_text(line, sizeof(line), 0, &bad), printable ? 0 : -EINVAL);
            if (!printable) {
                assert_int_equal(bad, at);
            }
        }
    }
    /* Every pair of places in one eight-byte word (the check of eight at a
     * time; the word is the middle one of 24 bytes) with every pair of
     * values from the edges of printable ASCII and the bytes beyond them:
     * the word passes only when both are printable, and the text is refused
     * at the first place that is not. */
    for (size_t p1 = 0; p1 < 8; p1++) {
        for (size_t p2 = 0; p2 < 8; p2++) {
            if (p1 == p2) {
                continue;
            }
            for (size_t v1 = 0; v1 < sizeof(edge); v1++) {
                for (size_t v2 = 0; v2 < sizeof(edge); v2++) {
                    int ok1 = edge[v1] >= 0x20 && edge[v1] < 0x7f;
                    int ok2 = edge[v2] >= 0x20 && edge[v2] < 0x7f;
                    size_t first = !ok1 && (ok2 || p1 < p2) ? p1 : p2;
                    char line[24];
                    size_t bad = SIZE_MAX;

                    memset(line, '~', sizeof(line));
                    line[8 + p1] = (char)edge[v1];
                    line[8 + p2] = (char)edge[v2];
                    assert_int_equal(validate_text(line, sizeof(line), 0, &bad),
                                     ok1 && ok2 ? 0 : -EINVAL);
                    if (!ok1 || !ok2) {
                        assert_int_equal(bad, 8 + first);
                    }
                    assert_int_equal(validate_text(line + 8, 8, 0, NULL) == 0, ok1 && ok2);
                }
            }
        }
    }
    assert_non_null(strstr(validate_text_problem("a\0", 2, 1), "NUL"));
    assert_non_null(strstr(validate_text_problem("a\xff", 2, 1), "UTF-8"));
    assert_non_null(strstr(validate_text_problem("a\x01", 2, 1), "control"));
}

/* Packs a Frame holding o in a submit, with the first occurrence of from
 * (len bytes) replaced by to; returns the bytes (caller frees). */
static uint8_t *pack_patched(Coachq__V1__Observation *o, const char *from, const char *to,
                             size_t len, size_t *n)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
    uint8_t *p;

    sub.observation = o;
    f.request_id = 7;
    f.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
    f.submit = &sub;
    *n = coachq__v1__frame__get_packed_size(&f);
    p = malloc(*n);
    assert_non_null(p);
    coachq__v1__frame__pack(&f, p);
    for (size_t i = 0; i + len <= *n; i++) {
        if (memcmp(p + i, from, len) == 0) {
            memcpy(p + i, to, len);
            return p;
        }
    }
    fail_msg("'%s' is not in the packed frame", from);
    return p;
}

/* Strings are checked on the wire, where a NUL is still visible, and the
 * path names the field, repeated fields with their index. */
static void test_wire_text(void **state)
{
    struct fixture *x = fixture_new();
    struct validate_error err;
    uint8_t *p;
    size_t n;

    (void)state;
    copy(x->notes, sizeof(x->notes), "abcXdef");
    p = pack_patched(&x->o, "abcXdef", "abcXdef", 7, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n, &err), 0);
    free(p);
    p = pack_patched(&x->o, "abcXdef", "abc\0def", 7, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n, &err), -EINVAL);
    assert_string_equal(err.field, "submit.observation.notes");
    assert_int_equal(err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "NUL"));
    /* protobuf-c would have made it "abc": that is what the walk prevents. */
    {
        Coachq__V1__Frame *f = coachq__v1__frame__unpack(NULL, n, p);

        assert_non_null(f);
        assert_string_equal(f->submit->observation->notes, "abc");
        coachq__v1__frame__free_unpacked(f, NULL);
    }
    free(p);

    copy(x->evidence, sizeof(x->evidence), "seenQit");
    for (size_t i = 0; i < x->o.n_ratings; i++) {
        x->r[i].evidence = NULL;
    }
    x->r[2].evidence = x->evidence;
    p = pack_patched(&x->o, "seenQit", "seen\x1bit", 7, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n, &err), -EINVAL);
    assert_string_equal(err.field, "submit.observation.ratings[2].evidence");
    free(p);
    p = pack_patched(&x->o, "seenQit", "seen\xffit", 7, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n, &err), -EINVAL);
    assert_string_equal(err.field, "submit.observation.ratings[2].evidence");
    assert_non_null(strstr(err.message, "UTF-8"));
    free(p);

    /* Truncated bytes are not a message. */
    p = pack_patched(&x->o, "seenQit", "seenQit", 7, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n - 1, &err), -EBADMSG);
    free(p);
    free(x);
}

/*
 * Found by fuzz_frame: an ack holding a field number 0 written in two bytes
 * (0x80 0x00), then a second ack merged over it. protobuf-c drops the first
 * copy's unknown field 0 when it merges, so the frame decodes and its
 * checks find nothing; the wire walk sees the field and refuses it, naming
 * the message that holds it. At the top level it is not a message at all.
 */
static void test_wire_field_zero(void **state)
{
    static const uint8_t body[] = {0x6a, 0x03, 0x80, 0x00, 0x15, 0x6a, 0x03, 0x80, 0x01, 0x10, 0x08,
                                   0x01, 0x40, 0xf3, 0x10, 0x08, 0xf5, 0xf8, 0xff, 0xff, 0x01};
    static const uint8_t top[] = {0x80, 0x00, 0x15};
    struct validate_error err;
    Coachq__V1__Frame *f;

    (void)state;
    f = coachq__v1__frame__unpack(NULL, sizeof(body), body);
    assert_non_null(f);
    assert_int_equal(f->body_case, COACHQ__V1__FRAME__BODY_ACK);
    for (size_t i = 0; i < f->ack->base.n_unknown_fields; i++) {
        assert_int_not_equal(f->ack->base.unknown_fields[i].tag, 0);
    }
    coachq__v1__frame__free_unpacked(f, NULL);
    memset(&err, 0, sizeof(err));
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, body, sizeof(body), &err),
                     -EINVAL);
    assert_string_equal(err.field, "ack");
    assert_int_equal(err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "field number 0"));
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, top, sizeof(top), &err),
                     -EBADMSG);
}

/* A due day after 9999-12-31 could not be written as YYYY-MM-DD. */
static void test_due_day(void **state)
{
    struct fixture *x = fixture_new();
    struct validate_error err;

    (void)state;
    x->a[0].due_day = VALIDATE_MAX_DAY;
    assert_int_equal(validate_observation(&x->o, "observation", &err), 0);
    x->a[0].due_day = VALIDATE_MAX_DAY + 1;
    assert_int_equal(validate_observation(&x->o, "observation", &err), -EINVAL);
    assert_string_equal(err.field, "observation.actions[0].due_day");
    x->a[0].due_day = UINT32_MAX;
    assert_int_equal(validate_observation(&x->o, "observation", &err), -EINVAL);
    assert_string_equal(err.field, "observation.actions[0].due_day");
    free(x);
}

/* A recording's reference: http(s) URLs with a host and CRM call ids pass;
 * other schemes, spaces, controls and over-long text are refused, a NUL on
 * the wire by the walk; the review's stages in order; offsets inside the
 * recording; a reference session's recording has no workflow. */
static void test_recording_rules(void **state)
{
    static const char *const good[] = {"https://calls.example.com/r/1?t=30#x", "HTTP://gong.io/c",
                                       "CRM-0042", "SF/00Q5e000001", "call_8812"};
    static const char *const bad[] = {
        "javascript:alert(1)",
        "JavaScript:x",
        "data:text/html,x",
        "file:///etc/passwd",
        "https:///no-host",
        "http:/x",
        "vbscript:x",
        "CRM 42",
        "CRM\t42",
        "a\x7f",
        "x<script>",
        "https://x/\xc2\x85",
        "",
    };
    struct fixture *x = fixture_new();
    Coachq__V1__Recording r = COACHQ__V1__RECORDING__INIT;
    struct validate_error err;
    char longref[VALIDATE_MAX_REFERENCE + 2];
    uint8_t *p;
    size_t n;

    (void)state;
    r.length_ms = 60000;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        r.reference = (char *)good[i];
        if (validate_recording(&r, 1, "recording", &err) != 0) {
            fail_msg("'%s' refused: %s", good[i], err.message);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.reference = (char *)bad[i];
        if (validate_recording(&r, 1, "recording", &err) != -EINVAL) {
            fail_msg("'%s' accepted", bad[i]);
        }
        assert_string_equal(err.field, "recording.reference");
    }
    memset(longref, 'a', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = '\0';
    r.reference = longref;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), -EINVAL);
    assert_string_equal(err.field, "recording.reference");
    longref[VALIDATE_MAX_REFERENCE] = '\0';
    assert_int_equal(validate_recording(&r, 1, "recording", &err), 0);

    /* Stages: skipped ones are fine, a later one before an earlier one is
     * refused naming the later; a reference has none. */
    r.reference = (char *)"CRM-1";
    r.picked_at = 1800000000;
    r.manager_commented_at = 1800000100;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), 0);
    assert_int_equal(validate_recording(&r, 0, "recording", &err), -EINVAL);
    assert_string_equal(err.field, "recording.picked_at");
    r.discussed_at = 1800000050;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), -EINVAL);
    assert_string_equal(err.field, "recording.discussed_at");
    r.discussed_at = 1800000100;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), 0);
    r.rep_commented_at = 1800000101;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), -EINVAL);
    assert_string_equal(err.field, "recording.manager_commented_at");
    r.rep_commented_at = 0;
    r.length_ms = 0;
    assert_int_equal(validate_recording(&r, 1, "recording", &err), -EINVAL);
    assert_string_equal(err.field, "recording.length_ms");
    r.length_ms = 60000;

    /* In an observation: offsets inside the recording, not the session. */
    x->o.recording = &r;
    x->o.duration_s = 30;
    x->o.n_follow_ups = 0;
    x->mk[0].offset_ms = 59000;
    x->mk[1].offset_ms = 60000;
    assert_int_equal(validate_observation(&x->o, "observation", &err), 0);
    x->mk[0].offset_ms = 60001;
    assert_int_equal(validate_observation(&x->o, "observation", &err), -EINVAL);
    assert_string_equal(err.field, "observation.markers[0].offset_ms");
    x->mk[0].offset_ms = 1000;

    /* A NUL in the reference is seen on the wire, where protobuf-c would
     * have cut the string short. */
    r.reference = (char *)"CRM-1Xevil";
    p = pack_patched(&x->o, "CRM-1Xevil", "CRM-1\0evil", 10, &n);
    assert_int_equal(validate_wire_text(&coachq__v1__frame__descriptor, p, n, &err), -EINVAL);
    assert_string_equal(err.field, "submit.observation.recording.reference");
    assert_non_null(strstr(err.message, "NUL"));
    free(p);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),           cmocka_unit_test(test_messages_say_what),
        cmocka_unit_test(test_prefix),          cmocka_unit_test(test_validate_id),
        cmocka_unit_test(test_text_rule),       cmocka_unit_test(test_wire_text),
        cmocka_unit_test(test_wire_field_zero), cmocka_unit_test(test_due_day),
        cmocka_unit_test(test_recording_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
