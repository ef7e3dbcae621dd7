/*
 * workflow.c: the state machine of an item as one table — which action leads from which states
 * to which state, for which roles, what the request must carry, whether the citizen sees it and
 * what it does to the clocks. Pure: no I/O, no SQL; the handler (h_actions.c) applies it.
 *
 *   received -assign-> assigned -accept-> in_progress <-ask_citizen/citizen_answer->
 * waiting_citizen in_progress -request_extension-> extension_requested -approve/refuse_extension->
 * in_progress in_progress|returned -draft-> drafted -submit_review-> in_review -approve-> approved
 *   in_review|approved -return-> returned;  approved -send_reply-> replied -close-> closed
 *   assigned|in_progress|forwarded -forward-> forwarded -accept (there)-> in_progress
 *   received|assigned|in_progress|forwarded -reject-> rejected, -merge-> merged
 *   assigned|in_progress|forwarded -send_back-> received (back to the dispatchers, no section)
 *
 * Approval is a state (approved): the section head approves, then the reply is sent (by the
 * handler or the head) as a separate action, so both are rows of the history.
 */
#include <string.h>

#include "core_int.h"

#define B(s) WF_BIT(WF_##s)
#define R(r) ROLE_BIT(ROLE_##r)

/* The states in which an interim explanation may be sent (the explain clock may run). */
#define EXPLAINABLE                                                                                \
	(B(IN_PROGRESS) | B(WAITING_CITIZEN) | B(EXTENSION_REQUESTED) | B(DRAFTED) |               \
	 B(IN_REVIEW) | B(RETURNED) | B(APPROVED))

/* Every state in which the item is still being handled (no reply sent): reject, merge (#14
 * point 13), and from waiting_citizen close too, so that no item is stuck (point 6). */
#define OPEN                                                                                       \
	(B(RECEIVED) | B(ASSIGNED) | B(IN_PROGRESS) | B(WAITING_CITIZEN) | B(EXTENSION_REQUESTED) | \
	 B(DRAFTED) | B(IN_REVIEW) | B(RETURNED) | B(APPROVED) | B(FORWARDED))

static const struct wf_transition table[WF_ACTION__MAX] = {
    /* action, name, from, to, roles, scoped, input, citizen, effects */
    /* section heads assign (and reassign) within their own section (point 12; actions.c) */
    [WF_ASSIGN] = {WF_ASSIGN, "assign",
                   B(RECEIVED) | B(ASSIGNED) | B(FORWARDED) | B(IN_PROGRESS) | B(RETURNED),
                   WF_ASSIGNED, R(DISPATCHER) | R(SUPERVISOR) | R(SECTION_HEAD), 0, WF_IN_SECTION,
                   1, 0},
    [WF_ACCEPT] = {WF_ACCEPT, "accept", B(ASSIGNED) | B(FORWARDED), WF_IN_PROGRESS,
                   R(HANDLER) | R(SECTION_HEAD), 1, 0, 1, WF_FX_STOP_FORWARD},
    [WF_FORWARD] = {WF_FORWARD, "forward", B(ASSIGNED) | B(IN_PROGRESS) | B(FORWARDED),
                    WF_FORWARDED, R(HANDLER) | R(SECTION_HEAD) | R(DISPATCHER), 1,
                    WF_IN_SECTION | WF_IN_NOTE, 1, WF_FX_RESUME_FORWARD | WF_FX_FORWARDED},
    [WF_ASK_CITIZEN] = {WF_ASK_CITIZEN, "ask_citizen", B(IN_PROGRESS), WF_WAITING_CITIZEN,
                        R(HANDLER) | R(SECTION_HEAD), 1, WF_IN_NOTE, 1, WF_FX_PAUSE},
    [WF_CITIZEN_ANSWER] = {WF_CITIZEN_ANSWER, "citizen_answer", B(WAITING_CITIZEN), WF_TO_RESUME,
                           R(HANDLER) | R(SECTION_HEAD) | R(DISPATCHER), 1, WF_IN_NOTE, 1,
                           WF_FX_RESUME},
    [WF_REQUEST_EXTENSION] = {WF_REQUEST_EXTENSION, "request_extension", B(IN_PROGRESS),
                              WF_EXTENSION_REQUESTED, R(HANDLER) | R(SECTION_HEAD), 1, WF_IN_NOTE,
                              1, WF_FX_OPEN_EXPLAIN},
    [WF_APPROVE_EXTENSION] = {WF_APPROVE_EXTENSION, "approve_extension", B(EXTENSION_REQUESTED),
                              WF_IN_PROGRESS, R(SUPERVISOR), 0, 0, 1, WF_FX_EXTEND_REPLY},
    [WF_REFUSE_EXTENSION] = {WF_REFUSE_EXTENSION, "refuse_extension", B(EXTENSION_REQUESTED),
                             WF_IN_PROGRESS, R(SUPERVISOR), 0, 0, 0, WF_FX_STOP_EXPLAIN},
    [WF_SEND_EXPLANATION] = {WF_SEND_EXPLANATION, "send_explanation", EXPLAINABLE, WF_TO_SAME,
                             R(HANDLER) | R(SECTION_HEAD), 1, WF_IN_TEXT, 1, WF_FX_STOP_EXPLAIN},
    [WF_DRAFT] = {WF_DRAFT, "draft", B(IN_PROGRESS) | B(RETURNED) | B(DRAFTED), WF_DRAFTED,
                  R(HANDLER) | R(SECTION_HEAD), 1, WF_IN_TEXT, 0, 0},
    [WF_SUBMIT_REVIEW] = {WF_SUBMIT_REVIEW, "submit_review", B(DRAFTED), WF_IN_REVIEW,
                          R(HANDLER) | R(SECTION_HEAD), 1, 0, 0, 0},
    [WF_APPROVE] = {WF_APPROVE, "approve", B(IN_REVIEW), WF_APPROVED, R(SECTION_HEAD), 1, 0, 0, 0},
    [WF_RETURN] = {WF_RETURN, "return", B(IN_REVIEW) | B(APPROVED), WF_RETURNED, R(SECTION_HEAD), 1,
                   WF_IN_NOTE, 0, 0},
    [WF_SEND_REPLY] = {WF_SEND_REPLY, "send_reply", B(APPROVED), WF_REPLIED,
                       R(HANDLER) | R(SECTION_HEAD), 1, 0, 1, WF_FX_STOP_ALL},
    [WF_CLOSE] = {WF_CLOSE, "close", B(REPLIED) | B(WAITING_CITIZEN), WF_CLOSED,
                  R(HANDLER) | R(SECTION_HEAD) | R(DISPATCHER) | R(SUPERVISOR), 1, 0, 1,
                  WF_FX_STOP_ALL | WF_FX_FREEZE},
    [WF_REJECT] = {WF_REJECT, "reject", OPEN, WF_REJECTED, R(HANDLER) | R(SECTION_HEAD) | R(DISPATCHER), 1, WF_IN_NOTE, 1,
                   WF_FX_STOP_ALL | WF_FX_FREEZE},
    /* no freeze: a merged item's clocks take the target's results when its reply is sent */
    [WF_MERGE] = {WF_MERGE, "merge", OPEN, WF_MERGED, R(HANDLER) | R(SECTION_HEAD) | R(DISPATCHER), 1, WF_IN_TARGET, 1,
                  WF_FX_STOP_ALL},
    /* 申请退回 (point 12): the section it was assigned or forwarded to returns it to the
     * dispatchers' triage with a reason, before work on the reply began; it leaves the section
     * and its handler (actions.c), and a stopped forward clock runs again with its original
     * due time until a section accepts it */
    [WF_SEND_BACK] = {WF_SEND_BACK, "send_back", B(ASSIGNED) | B(IN_PROGRESS) | B(FORWARDED),
                      WF_RECEIVED, R(HANDLER) | R(SECTION_HEAD), 1, WF_IN_NOTE, 0,
                      WF_FX_RESUME_FORWARD},
};

int
wf_action_parse(const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < WF_ACTION__MAX; i++)
		if (strcmp(table[i].name, s) == 0)
			return i;
	return -1;
}

const struct wf_transition *
wf_transition(enum wf_action a)
{
	return (unsigned)a < WF_ACTION__MAX ? &table[a] : NULL;
}

enum wf_verdict
wf_check(enum wf_action a, enum wf_state state, enum role role, int64_t item_section,
         int64_t user_section)
{
	const struct wf_transition *t = wf_transition(a);

	if (t == NULL || (unsigned)role >= ROLE__MAX || !(t->roles & ROLE_BIT(role)))
		return WF_ERR_ROLE;
	if (t->scoped && (role == ROLE_HANDLER || role == ROLE_SECTION_HEAD) &&
	    (item_section == 0 || item_section != user_section))
		return WF_ERR_SECTION;
	if ((unsigned)state >= WF_STATE__MAX || !(t->from & WF_BIT(state)))
		return WF_ERR_STATE;
	return WF_OK;
}

size_t
wf_allowed(enum wf_state state, enum role role, enum wf_action *out, size_t max)
{
	size_t n = 0;
	int i;

	if ((unsigned)state >= WF_STATE__MAX || (unsigned)role >= ROLE__MAX)
		return 0;
	for (i = 0; i < WF_ACTION__MAX; i++) {
		if (!(table[i].from & WF_BIT(state)) || !(table[i].roles & ROLE_BIT(role)))
			continue;
		if (n < max)
			out[n] = (enum wf_action)i;
		n++;
	}
	return n;
}

int
wf_next_state(enum wf_action a, enum wf_state state, int resume_state)
{
	const struct wf_transition *t = wf_transition(a);

	if (t == NULL)
		return -1;
	if (t->to == WF_TO_SAME)
		return (int)state;
	if (t->to == WF_TO_RESUME)
		return resume_state >= 0 && resume_state < WF_STATE__MAX ? resume_state : -1;
	return t->to;
}
