/* test_workflow.c: the transition table of service/workflow.c — every allowed transition, the
 * illegal ones with their allowed lists, roles and section checks. */
#include <stdio.h>
#include <string.h>

#include "service/core/core.h"
#include "tests/check.h"

/* One expected legal transition: from state, action, role, to state. */
struct legal {
	const char *from, *action, *role, *to;
};

/* Every legal (state, action) pair, with one role that may take it, written out by hand from
 * DESIGN.md so that a change to the table shows up here. */
static const struct legal legal[] = {
    {"received", "assign", "dispatcher", "assigned"},
    {"assigned", "assign", "supervisor", "assigned"},
    {"forwarded", "assign", "dispatcher", "assigned"},
    {"assigned", "accept", "handler", "in_progress"},
    {"forwarded", "accept", "section_head", "in_progress"},
    {"assigned", "forward", "handler", "forwarded"},
    {"in_progress", "forward", "section_head", "forwarded"},
    {"forwarded", "forward", "dispatcher", "forwarded"},
    {"in_progress", "ask_citizen", "handler", "waiting_citizen"},
    {"waiting_citizen", "citizen_answer", "handler", "in_progress"},
    {"in_progress", "request_extension", "handler", "extension_requested"},
    {"extension_requested", "approve_extension", "supervisor", "in_progress"},
    {"extension_requested", "refuse_extension", "supervisor", "in_progress"},
    {"extension_requested", "send_explanation", "handler", "extension_requested"},
    {"in_progress", "send_explanation", "handler", "in_progress"},
    {"waiting_citizen", "send_explanation", "handler", "waiting_citizen"},
    {"drafted", "send_explanation", "handler", "drafted"},
    {"in_review", "send_explanation", "section_head", "in_review"},
    {"returned", "send_explanation", "handler", "returned"},
    {"approved", "send_explanation", "handler", "approved"},
    {"in_progress", "draft", "handler", "drafted"},
    {"returned", "draft", "handler", "drafted"},
    {"drafted", "draft", "handler", "drafted"},
    {"drafted", "submit_review", "handler", "in_review"},
    {"in_review", "approve", "section_head", "approved"},
    {"in_review", "return", "section_head", "returned"},
    {"approved", "return", "section_head", "returned"},
    {"approved", "send_reply", "handler", "replied"},
    {"replied", "close", "handler", "closed"},
    {"received", "reject", "dispatcher", "rejected"},
    {"assigned", "reject", "handler", "rejected"},
    {"in_progress", "reject", "handler", "rejected"},
    {"forwarded", "reject", "dispatcher", "rejected"},
    {"received", "merge", "dispatcher", "merged"},
    {"assigned", "merge", "handler", "merged"},
    {"in_progress", "merge", "section_head", "merged"},
    {"forwarded", "merge", "dispatcher", "merged"},
    /* #14: a section head assigns within the section; reject and merge from every open state
     * and close while waiting for the citizen (points 6, 12, 13) */
    {"in_progress", "assign", "section_head", "assigned"},
    {"returned", "assign", "section_head", "assigned"},
    {"waiting_citizen", "close", "handler", "closed"},
    {"waiting_citizen", "reject", "handler", "rejected"},
    {"extension_requested", "reject", "handler", "rejected"},
    {"drafted", "reject", "handler", "rejected"},
    {"in_review", "reject", "section_head", "rejected"},
    {"returned", "reject", "handler", "rejected"},
    {"approved", "reject", "dispatcher", "rejected"},
    {"waiting_citizen", "merge", "handler", "merged"},
    {"extension_requested", "merge", "handler", "merged"},
    {"drafted", "merge", "handler", "merged"},
    {"in_review", "merge", "section_head", "merged"},
    {"returned", "merge", "handler", "merged"},
    {"approved", "merge", "dispatcher", "merged"},
    /* 申请退回 (point 12) */
    {"assigned", "send_back", "handler", "received"},
    {"in_progress", "send_back", "section_head", "received"},
    {"forwarded", "send_back", "handler", "received"},
};
#define NLEGAL (sizeof(legal) / sizeof(legal[0]))

static void
test_names(struct t *t)
{
	int i;

	for (i = 0; i < WF_STATE__MAX; i++)
		CHECK_INT(t, wf_state_parse(wf_state_name((enum wf_state)i)), i);
	for (i = 0; i < WF_ACTION__MAX; i++) {
		const struct wf_transition *tr = wf_transition((enum wf_action)i);

		CHECK(t, tr != NULL);
		CHECK_INT(t, tr->action, i);
		CHECK_INT(t, wf_action_parse(tr->name), i);
		CHECK(t, tr->roles != 0);
		CHECK(t, tr->from != 0);
	}
	CHECK_INT(t, wf_state_parse("nonsense"), -1);
	CHECK_INT(t, wf_state_parse(NULL), -1);
	CHECK_INT(t, wf_action_parse("delete"), -1);
	CHECK(t, wf_transition(WF_ACTION__MAX) == NULL);
	CHECK_STR(t, wf_state_name(WF_STATE__MAX), "?");
}

/* Every legal transition listed above passes; its to-state is right. */
static void
test_every_legal(struct t *t)
{
	size_t i;

	for (i = 0; i < NLEGAL; i++) {
		int a = wf_action_parse(legal[i].action), s = wf_state_parse(legal[i].from);
		int r = role_parse(legal[i].role), to;

		CHECK(t, a >= 0 && s >= 0 && r >= 0);
		if (a < 0 || s < 0 || r < 0)
			continue;
		if (wf_check((enum wf_action)a, (enum wf_state)s, (enum role)r, 7, 7) != WF_OK)
			printf("# refused: %s --%s(%s)-->\n", legal[i].from, legal[i].action,
			       legal[i].role);
		CHECK_INT(t, wf_check((enum wf_action)a, (enum wf_state)s, (enum role)r, 7, 7),
		          WF_OK);
		to = wf_next_state((enum wf_action)a, (enum wf_state)s, WF_IN_PROGRESS);
		CHECK_STR(t, to >= 0 ? wf_state_name((enum wf_state)to) : "-", legal[i].to);
	}
}

static int
is_listed(int s, int a)
{
	size_t i;

	for (i = 0; i < NLEGAL; i++)
		if (wf_state_parse(legal[i].from) == s && wf_action_parse(legal[i].action) == a)
			return 1;
	return 0;
}

/* Every (state, action) pair not listed is illegal for every role that may take the action. */
static void
test_every_illegal(struct t *t)
{
	int s, a, r;

	for (s = 0; s < WF_STATE__MAX; s++)
		for (a = 0; a < WF_ACTION__MAX; a++) {
			const struct wf_transition *tr = wf_transition((enum wf_action)a);

			for (r = 0; r < ROLE__MAX; r++) {
				enum wf_verdict v = wf_check((enum wf_action)a, (enum wf_state)s,
				                             (enum role)r, 7, 7);

				if (!(tr->roles & ROLE_BIT(r)))
					CHECK_INT(t, v, WF_ERR_ROLE);
				else if (is_listed(s, a))
					CHECK_INT(t, v, WF_OK);
				else
					CHECK_INT(t, v, WF_ERR_STATE);
			}
		}
}

/* Terminal states allow nothing. */
static void
test_terminal(struct t *t)
{
	enum wf_action out[WF_ACTION__MAX];
	int r;

	for (r = 0; r < ROLE__MAX; r++) {
		CHECK_INT(t, wf_allowed(WF_CLOSED, (enum role)r, out, WF_ACTION__MAX), 0);
		CHECK_INT(t, wf_allowed(WF_REJECTED, (enum role)r, out, WF_ACTION__MAX), 0);
		CHECK_INT(t, wf_allowed(WF_MERGED, (enum role)r, out, WF_ACTION__MAX), 0);
	}
}

static void
allowed_str(enum wf_state s, enum role r, char *buf, size_t size)
{
	enum wf_action out[WF_ACTION__MAX];
	size_t n = wf_allowed(s, r, out, WF_ACTION__MAX), i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
		                        wf_transition(out[i])->name);
}

/* The allowed lists that a 409 answer carries. */
static void
test_allowed_lists(struct t *t)
{
	char buf[512];
	enum wf_action out[2];

	allowed_str(WF_RECEIVED, ROLE_DISPATCHER, buf, sizeof(buf));
	CHECK_STR(t, buf, "assign,reject,merge");
	allowed_str(WF_RECEIVED, ROLE_HANDLER, buf, sizeof(buf));
	CHECK_STR(t, buf, "reject,merge");
	allowed_str(WF_ASSIGNED, ROLE_HANDLER, buf, sizeof(buf));
	CHECK_STR(t, buf, "accept,forward,reject,merge,send_back");
	allowed_str(WF_IN_PROGRESS, ROLE_HANDLER, buf, sizeof(buf));
	CHECK_STR(t, buf,
	          "forward,ask_citizen,request_extension,send_explanation,draft,reject,merge,"
	          "send_back");
	allowed_str(WF_IN_REVIEW, ROLE_SECTION_HEAD, buf, sizeof(buf));
	CHECK_STR(t, buf, "send_explanation,approve,return,reject,merge");
	allowed_str(WF_IN_REVIEW, ROLE_HANDLER, buf, sizeof(buf));
	CHECK_STR(t, buf, "send_explanation,reject,merge");
	allowed_str(WF_EXTENSION_REQUESTED, ROLE_SUPERVISOR, buf, sizeof(buf));
	CHECK_STR(t, buf, "approve_extension,refuse_extension");
	allowed_str(WF_REPLIED, ROLE_SUPERVISOR, buf, sizeof(buf));
	CHECK_STR(t, buf, "close");
	allowed_str(WF_IN_PROGRESS, ROLE_ADMIN, buf, sizeof(buf));
	CHECK_STR(t, buf, "");
	/* max caps what is written, not the count */
	CHECK_INT(t, wf_allowed(WF_IN_PROGRESS, ROLE_HANDLER, out, 2), 8);
	CHECK_INT(t, out[0], WF_FORWARD);
	CHECK_INT(t, out[1], WF_ASK_CITIZEN);
	CHECK_INT(t, wf_allowed(WF_STATE__MAX, ROLE_HANDLER, out, 2), 0);
}

/* Roles and sections: role is checked before section, section before state. */
static void
test_roles_sections(struct t *t)
{
	CHECK_INT(t, wf_check(WF_APPROVE, WF_IN_REVIEW, ROLE_HANDLER, 1, 1), WF_ERR_ROLE);
	CHECK_INT(t,
	          wf_check(WF_APPROVE_EXTENSION, WF_EXTENSION_REQUESTED, ROLE_SECTION_HEAD, 1, 1),
	          WF_ERR_ROLE);
	CHECK_INT(t, wf_check(WF_ASSIGN, WF_RECEIVED, ROLE_HANDLER, 0, 1), WF_ERR_ROLE);
	CHECK_INT(t, wf_check(WF_ASSIGN, WF_RECEIVED, ROLE_ADMIN, 0, 0), WF_ERR_ROLE);
	/* another section */
	CHECK_INT(t, wf_check(WF_ACCEPT, WF_ASSIGNED, ROLE_HANDLER, 2, 1), WF_ERR_SECTION);
	CHECK_INT(t, wf_check(WF_APPROVE, WF_IN_REVIEW, ROLE_SECTION_HEAD, 2, 1), WF_ERR_SECTION);
	/* section before state */
	CHECK_INT(t, wf_check(WF_ACCEPT, WF_CLOSED, ROLE_HANDLER, 2, 1), WF_ERR_SECTION);
	/* an item of no section is nobody's section */
	CHECK_INT(t, wf_check(WF_REJECT, WF_RECEIVED, ROLE_HANDLER, 0, 0), WF_ERR_SECTION);
	/* dispatchers and supervisors are not bound to a section */
	CHECK_INT(t, wf_check(WF_FORWARD, WF_ASSIGNED, ROLE_DISPATCHER, 2, 0), WF_OK);
	CHECK_INT(t, wf_check(WF_CLOSE, WF_REPLIED, ROLE_SUPERVISOR, 2, 0), WF_OK);
	CHECK_INT(t, wf_check(WF_APPROVE_EXTENSION, WF_EXTENSION_REQUESTED, ROLE_SUPERVISOR, 3, 0),
	          WF_OK);
	/* bad values */
	CHECK_INT(t, wf_check(WF_ACTION__MAX, WF_RECEIVED, ROLE_ADMIN, 0, 0), WF_ERR_ROLE);
	CHECK_INT(t, wf_check(WF_ASSIGN, WF_RECEIVED, ROLE__MAX, 0, 0), WF_ERR_ROLE);
}

/* Table attributes the handler relies on. */
static void
test_attributes(struct t *t)
{
	CHECK(t, wf_transition(WF_FORWARD)->input & WF_IN_NOTE);
	CHECK(t, wf_transition(WF_FORWARD)->input & WF_IN_SECTION);
	CHECK(t, wf_transition(WF_ASSIGN)->input & WF_IN_SECTION);
	CHECK(t, wf_transition(WF_RETURN)->input & WF_IN_NOTE);
	CHECK(t, wf_transition(WF_REJECT)->input & WF_IN_NOTE);
	CHECK(t, wf_transition(WF_DRAFT)->input & WF_IN_TEXT);
	CHECK(t, wf_transition(WF_SEND_EXPLANATION)->input & WF_IN_TEXT);
	CHECK(t, wf_transition(WF_MERGE)->input & WF_IN_TARGET);
	CHECK_INT(t, wf_transition(WF_ACCEPT)->input, 0);
	/* citizen-visible rows */
	CHECK(t, wf_transition(WF_SEND_REPLY)->citizen);
	CHECK(t, wf_transition(WF_SEND_EXPLANATION)->citizen);
	CHECK(t, wf_transition(WF_REJECT)->citizen);
	CHECK(t, wf_transition(WF_ASK_CITIZEN)->citizen);
	CHECK(t, !wf_transition(WF_DRAFT)->citizen);
	CHECK(t, !wf_transition(WF_RETURN)->citizen);
	/* what moves the citizen's due date is shown to them (#14 point 11) */
	CHECK(t, wf_transition(WF_FORWARD)->citizen);
	CHECK(t, wf_transition(WF_REQUEST_EXTENSION)->citizen);
	CHECK(t, wf_transition(WF_APPROVE_EXTENSION)->citizen);
	/* clocks */
	CHECK(t, wf_transition(WF_ACCEPT)->effects & WF_FX_STOP_FORWARD);
	CHECK(t, wf_transition(WF_FORWARD)->effects & WF_FX_FORWARDED);
	CHECK(t, wf_transition(WF_ASK_CITIZEN)->effects & WF_FX_PAUSE);
	CHECK(t, wf_transition(WF_CITIZEN_ANSWER)->effects & WF_FX_RESUME);
	CHECK(t, wf_transition(WF_REQUEST_EXTENSION)->effects & WF_FX_OPEN_EXPLAIN);
	CHECK(t, wf_transition(WF_APPROVE_EXTENSION)->effects & WF_FX_EXTEND_REPLY);
	CHECK(t, wf_transition(WF_SEND_EXPLANATION)->effects & WF_FX_STOP_EXPLAIN);
	CHECK(t, wf_transition(WF_SEND_REPLY)->effects & WF_FX_STOP_ALL);
	CHECK(t, wf_transition(WF_CLOSE)->effects & WF_FX_FREEZE);
}

/* #14 point 13 (and 6): reject and merge from every open state, close while waiting. */
static void
test_p13_reject_merge_from_every_open_state(struct t *t)
{
	static const enum wf_state open[] = {
	    WF_RECEIVED, WF_ASSIGNED,  WF_IN_PROGRESS, WF_WAITING_CITIZEN, WF_EXTENSION_REQUESTED,
	    WF_DRAFTED,  WF_IN_REVIEW, WF_RETURNED,    WF_APPROVED,        WF_FORWARDED};
	size_t i;

	for (i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		CHECK_INT(t, wf_check(WF_REJECT, open[i], ROLE_DISPATCHER, 1, 0), WF_OK);
		CHECK_INT(t, wf_check(WF_MERGE, open[i], ROLE_HANDLER, 1, 1), WF_OK);
	}
	CHECK_INT(t, wf_check(WF_CLOSE, WF_WAITING_CITIZEN, ROLE_HANDLER, 1, 1), WF_OK);
	CHECK_INT(t, wf_check(WF_REJECT, WF_REPLIED, ROLE_DISPATCHER, 1, 0), WF_ERR_STATE);
}

/* citizen_answer returns to the remembered state; without one it has nowhere to go. */
static void
test_resume(struct t *t)
{
	CHECK_INT(t, wf_next_state(WF_CITIZEN_ANSWER, WF_WAITING_CITIZEN, WF_IN_PROGRESS),
	          WF_IN_PROGRESS);
	CHECK_INT(t, wf_next_state(WF_CITIZEN_ANSWER, WF_WAITING_CITIZEN, -1), -1);
	CHECK_INT(t, wf_next_state(WF_SEND_EXPLANATION, WF_DRAFTED, -1), WF_DRAFTED);
	CHECK_INT(t, wf_next_state(WF_ACTION__MAX, WF_DRAFTED, -1), -1);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_names);
	RUN(&t, test_every_legal);
	RUN(&t, test_every_illegal);
	RUN(&t, test_terminal);
	RUN(&t, test_allowed_lists);
	RUN(&t, test_roles_sections);
	RUN(&t, test_attributes);
	RUN(&t, test_resume);
	RUN(&t, test_p13_reject_merge_from_every_open_state);
	return t_done(&t);
}
