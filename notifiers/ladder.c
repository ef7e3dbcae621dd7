/* ladder.c: the reminder and escalation ladder (DESIGN.md "Escalation ladder"). For each running
 * clock of an item whose ladder mark is due:
 *   remind    from the start of the working day before the due day: e-mail to the assignee
 *             (or the section's handlers; the dispatchers when there is no section);
 *   overdue   once the due time passed: e-mail and SMS to the section heads (the dispatchers
 *             when there is no section), and to the administrators as well, saying why, when
 *             the section has no reachable head (no active head with an address); its
 *             recipients are resolved again when it is sent (notify_ladder_complete: a head
 *             appointed while it waited is told too);
 *   escalate  from the second working day after the due day, on each working day until the
 *             clock stops: e-mail and SMS to every supervisor (the step carries the day); a
 *             supervisor appointed after a day's escalations went out gets that day's too, at
 *             the next scan (notify_supervisor_ready).
 * Steps carry the due date, so that a clock restarted with a new due time is reminded afresh.
 *
 * The scan writes each notice's outbox row itself, in the transaction that takes the item's
 * ladder entry and adds its next one (2,048 items per transaction): a crash loses a scan's
 * transaction whole, entries and notices alike, and the next scan does it again. A row is the
 * notice's key (schema 022: item, clock, step, channel, account; its address and send_after),
 * once by the outbox's unique key; its text is written when it is sent (notify_ladder_render),
 * from the item as it is then. A notice that no longer holds by then is dropped, with its
 * reason, never sent: its clock stopped or paused (the item was answered, closed, waits for the
 * citizen), its due time moved (an extension, a restart), the item is gone, the account is no
 * longer active, or it is a reminder and the due time it reminds of has passed (the dispatcher,
 * the SMTP server or quiet hours held it: the overdue notice takes its place). What a sent
 * notice says is therefore true when it is sent; the row keeps what was due and when it was
 * queued. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notifiers_int.h"

#define SCAN_BATCH 2048     /* items per transaction of the scan */
#define DRAIN_BATCH 256     /* items of ladder_fanout (before 022) per transaction */
#define SCAN_CACHE (-16384) /* the scan's page cache (16 MiB as cache_size says), given back */
#define PREV_SEARCH_DAYS 60 /* longer than any holiday block */
#define TEXT_MAX 2048
#define MEMO_SLOTS 64       /* due instants a scan remembers (many clocks share a day's end) */
#define SEEN_SLOTS 65536    /* items a scan remembers having looked at (512 KiB; half of it
                             * used at most, then an item may be looked at twice) */

/* What the ladder makes of one due instant at the scan's moment. */
struct due_info {
	int64_t due;       /* the key; 0: an empty slot */
	sla_day day;       /* the due day */
	int64_t remind_at; /* from the start of the working day before it */
	int64_t esc_at;    /* from the start of the second working day after it */
	int ymd;           /* the due day as YYYYMMDD (the steps carry it) */
};

/* What one scan knows besides the item at hand. */
struct scan {
	struct db_conn *c;
	const struct sla_calendar *cal;
	int64_t now;                  /* the moment the steps are found for */
	sla_day today;
	int today_ymd;
	size_t steps;                 /* steps found */
	struct notify_staff *ns;      /* where the notices go */
	const struct db_account *acc; /* every account, read again in each batch */
	size_t nacc;
	const struct db_account *role_acc[ROLE__MAX]; /* the active accounts of each role (shallow */
	size_t role_n[ROLE__MAX];                     /* copies in by_role), for the steps */
	struct db_item item;          /* the item at hand: id, and its section and assignee once
	                               * a step needs them (owner_known) */
	int owner_known;
	struct due_info memo[MEMO_SLOTS]; /* time zone and calendar work, once per due instant */
};

static const struct {
	const char *name, *zh, *en;
} clock_names[] = {
	{"forward", "转办", "forwarding"},
	{"reply", "答复", "reply"},
	{"explain", "说明", "explanation"},
};

/* The index of clock `name` in clock_names (the keys' clock), or -1. */
static int
clock_index(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(clock_names) / sizeof(clock_names[0]); i++)
		if (strcmp(clock_names[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *
clock_word(const char *name, int en)
{
	int i = clock_index(name);

	if (i < 0)
		return name;
	return en ? clock_names[i].en : clock_names[i].zh;
}

static int
ymd_of(sla_day d)
{
	int y, m, md;

	sla_split(d, &y, &m, &md);
	return y * 10000 + m * 100 + md;
}

/* The working day before day d (the day itself when none is found). */
static sla_day
prev_working_day(const struct sla_calendar *cal, sla_day d)
{
	sla_day p;

	for (p = d - 1; p > d - PREV_SEARCH_DAYS; p--)
		if (sla_is_working_day(cal, p))
			return p;
	return d;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The ladder's instants for due instant due, from the scan's memo or computed (and
 * remembered) now. */
static const struct due_info *
due_info(struct scan *s, int64_t due)
{
	struct due_info *d = &s->memo[((uint64_t)due * 0x9E3779B97F4A7C15ull) >> 58];

	if (d->due == due)
		return d;
	d->due = due;
	d->day = sla_local_day(due);
	d->ymd = ymd_of(d->day);
	d->remind_at = sla_day_end(prev_working_day(s->cal, d->day), 0);
	d->esc_at = sla_day_end(sla_add_working_days(s->cal, d->day, 2), 0);
	return d;
}

/* When the ladder looks again at an item escalated on day today: the start of the next working
 * day (its next escalation). */
static int64_t
next_escalation(const struct sla_calendar *cal, sla_day today)
{
	return sla_day_end(sla_next_working_day(cal, today + 1), 0);
}

int
notify_supervisor_ready(struct db_conn *c, const struct sla_calendar *cal, int64_t at)
{
	sla_day today = sla_local_day(at);

	/* no escalation goes out on a rest day: the next working day's reaches every supervisor */
	if (!sla_is_working_day(cal, today))
		return 0;
	/* every item escalated today waits for the next working day's start (an item with an
	 * earlier entry is looked at today anyway, and escalated to every supervisor then) */
	return db_ladder_relook(c, next_escalation(cal, today), NULL);
}

/* The items a scan looked at (open addressing on the id; 0 marks a free slot). Two entries of
 * one item can come due in one scan (two scans wrote one at the same instant, schema 026): the
 * second finds the same steps (queued once by their keys) and the same next entry. */
struct seen {
	int64_t *id; /* SEEN_SLOTS slots, or NULL: nothing remembered */
	size_t n;
};

/* 1 when id was looked at before in this scan, 0 when not (and now remembered, while there is
 * room). */
static int
seen_before(struct seen *v, int64_t id)
{
	size_t i;

	if (v->id == NULL || id == 0)
		return 0;
	for (i = ((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 48; v->id[i] != 0;
	     i = (i + 1) & (SEEN_SLOTS - 1))
		if (v->id[i] == id)
			return 1;
	if (v->n < SEEN_SLOTS / 2) {
		v->id[i] = id;
		v->n++;
	}
	return 0;
}

/* The steps are found for moment `now` (the memo holds only that moment's work). */
static void
scan_moment(struct scan *s, int64_t now)
{
	memset(s->memo, 0, sizeof(s->memo));
	s->now = now;
	s->today = sla_local_day(now);
	s->today_ymd = ymd_of(s->today);
}

/* Reads the section and assignee of the item at hand, once. 0 or -1. */
static int
owner(struct scan *s)
{
	if (s->owner_known)
		return 0;
	if (db_ladder_owner(s->c, s->item.id, &s->item.section_id, &s->item.assignee_id) != 0)
		return -1;
	s->owner_known = 1;
	return 0;
}

/* notify_staff_role to the active accounts of role r (in section_id when not 0), from the
 * scan's accounts of that role. */
static int
staff_role(struct scan *s, enum role r, int64_t section_id)
{
	return notify_staff_role(s->ns, s->role_acc[r], s->role_n[r], r, section_id);
}

/* Sorts the active accounts of acc[0..n) by role into by_role (n shallow copies, the caller's),
 * pointing s->role_acc[r] at those of role r: a step looks only at its role's accounts, not at
 * every account (300 accounts made each step's look 8 % of the scan). */
static void
scan_roles(struct scan *s, const struct db_account *acc, size_t n, struct db_account *by_role)
{
	size_t i, at = 0;
	int r;

	for (r = 0; r < ROLE__MAX; r++) {
		s->role_acc[r] = &by_role[at];
		s->role_n[r] = 0;
		for (i = 0; i < n; i++)
			if ((int)acc[i].role == r && strcmp(acc[i].status, "active") == 0) {
				by_role[at++] = acc[i];
				s->role_n[r]++;
			}
	}
}

/* Reads the accounts again into *acc (freeing the old ones) and sorts them for s: inside each
 * batch's transaction, so that a supervisor appointed while a scan runs (whose entries
 * db_ladder_relook made due again, in the transaction that appointed them) is among the
 * accounts the batch that takes those entries tells. 0 or -1. */
static int
scan_accounts(struct scan *s, struct db_account **acc, size_t *nacc, struct db_account **by_role)
{
	struct db_account *fresh = NULL, *sorted;
	size_t n = 0;

	if (db_account_list(s->c, &fresh, &n) != 0)
		return -1;
	sorted = realloc(*by_role, (n > 0 ? n : 1) * sizeof(*sorted));
	if (sorted == NULL) {
		db_accounts_free(fresh, n);
		return -1;
	}
	*by_role = sorted;
	db_accounts_free(*acc, *nacc);
	*acc = fresh;
	*nacc = n;
	s->acc = fresh;
	s->nacc = n;
	scan_roles(s, fresh, n, sorted);
	return 0;
}

/* 1 when section_id has a reachable head among acc[0..n): an active section head of it with an
 * e-mail address or a phone. */
static int
head_reachable(const struct db_account *acc, size_t n, int64_t section_id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acc[i].role == ROLE_SECTION_HEAD && acc[i].section_id == section_id &&
		    strcmp(acc[i].status, "active") == 0 &&
		    ((acc[i].email != NULL && acc[i].email[0] != '\0') ||
		     (acc[i].phone != NULL && acc[i].phone[0] != '\0')))
			return 1;
	return 0;
}

/* Queues the overdue notice of ns (its item, clock and key set) to the accounts it goes to now:
 * the heads of the item's section among heads[0..nheads), and the administrators among
 * admins[0..nadmins) as well when none of those heads is reachable (none, or none with an
 * address: told at once instead of two working days later by the supervisors' escalation);
 * the dispatchers among disp[0..ndisp) while the item has no section. The arrays may hold
 * accounts of other roles (skipped). 0 or -1. */
static int
overdue_audience(struct notify_staff *ns, const struct db_account *heads, size_t nheads,
                 const struct db_account *admins, size_t nadmins, const struct db_account *disp,
                 size_t ndisp)
{
	int64_t section = ns->item->section_id;

	ns->text = ""; /* and by SMS */
	if (section == 0)
		return notify_staff_role(ns, disp, ndisp, ROLE_DISPATCHER, 0);
	if (notify_staff_role(ns, heads, nheads, ROLE_SECTION_HEAD, section) != 0)
		return -1;
	if (head_reachable(heads, nheads, section))
		return 0;
	return notify_staff_role(ns, admins, nadmins, ROLE_ADMIN, 0);
}

/* Queues step kind of clock k (due day d) of the item at hand to its recipients, as key rows:
 * remind to the assignee, or the section's handlers, or the dispatchers when there is no
 * section; overdue to the section's heads (and the administrators when none is reachable), or
 * the dispatchers; escalate (the day carried) to every supervisor. 0 or -1. */
static int
emit(struct scan *s, const struct db_ladder_clock *k, const struct due_info *d, int kind)
{
	struct notify_staff *ns = s->ns;
	struct db_ladder_key key;
	size_t i;

	s->steps++;
	key.kind = kind;
	key.clock = clock_index(k->name);
	key.sms = 0;
	key.due = d->ymd;
	key.day = kind == DB_STEP_ESCALATE ? s->today_ymd : 0;
	if (key.clock < 0)
		return 0;
	ns->item = &s->item;
	ns->clock = k->name;
	ns->key = &key;
	ns->step = NULL; /* named from the key when a recipient is recorded as missing */
	if (kind == DB_STEP_ESCALATE) {
		ns->text = ""; /* and by SMS */
		return staff_role(s, ROLE_SUPERVISOR, 0);
	}
	if (owner(s) != 0)
		return -1;
	if (kind == DB_STEP_OVERDUE)
		return overdue_audience(ns, s->role_acc[ROLE_SECTION_HEAD], s->role_n[ROLE_SECTION_HEAD],
		                        s->role_acc[ROLE_ADMIN], s->role_n[ROLE_ADMIN],
		                        s->role_acc[ROLE_DISPATCHER], s->role_n[ROLE_DISPATCHER]);
	ns->text = NULL; /* a reminder: e-mail only */
	if (s->item.assignee_id != 0)
		for (i = 0; i < s->nacc; i++)
			if (s->acc[i].id == s->item.assignee_id &&
			    strcmp(s->acc[i].status, "active") == 0)
				return notify_staff_account(ns, &s->acc[i], s->acc[i].role);
	if (s->item.section_id != 0)
		return staff_role(s, ROLE_HANDLER, s->item.section_id);
	return staff_role(s, ROLE_DISPATCHER, 0);
}

/* Queues the steps item's clocks k[0..n) need at s->now and writes the next instant to look at
 * it. mark is the instant of the entry taken (0: the item changed since, or is new): a mark
 * past a clock's overdue point means the scan that set it already had the overdue step (it
 * would have set a mark at or before that point otherwise), so a daily escalation does not
 * queue it again only to have the outbox's unique key turn it away. */
static int
ladder_item(struct scan *s, const struct db_ladder_clock *k, size_t n, int64_t mark,
            int64_t *next)
{
	size_t i;

	*next = INT64_MAX;
	memset(&s->item, 0, sizeof(s->item));
	s->item.resume_state = WF_NONE;
	s->item.id = n > 0 ? k[0].item_id : 0;
	s->owner_known = 0;
	for (i = 0; i < n; i++) {
		const struct due_info *d;
		int64_t over_at;

		if (!k[i].running || k[i].due <= 0 || k[i].name[0] == '\0')
			continue;
		d = due_info(s, k[i].due);
		over_at = k[i].due + 1;
		if (s->now < over_at) {
			if (s->now >= d->remind_at) {
				if (emit(s, &k[i], d, DB_STEP_REMIND) != 0)
					return -1;
			} else
				*next = min64(*next, d->remind_at);
			*next = min64(*next, over_at);
			continue;
		}
		if ((mark == 0 || mark <= over_at) && emit(s, &k[i], d, DB_STEP_OVERDUE) != 0)
			return -1;
		if (s->now < d->esc_at) {
			*next = min64(*next, d->esc_at);
			continue;
		}
		if (sla_is_working_day(s->cal, s->today) && emit(s, &k[i], d, DB_STEP_ESCALATE) != 0)
			return -1;
		*next = min64(*next, next_escalation(s->cal, s->today));
	}
	return 0;
}

/* The items a scan of schema 019-021 recorded in ladder_fanout and whose notices were never
 * queued (an upgrade between a scan and its fan-out): their steps as at the moment they were
 * found, queued now, each record deleted in the same transaction. 0 or -1. */
static int
drain_fanout(struct scan *s)
{
	struct db_ladder_fanout f[DRAIN_BATCH];
	struct db_item it;
	size_t n, i, j, nk;
	int64_t next, now = s->now;
	int r;

	for (;;) {
		if (db_begin(s->c) != 0)
			return -1;
		if (db_ladder_fanouts(s->c, f, DRAIN_BATCH, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(s->c);
			break;
		}
		for (i = 0; i < n; i++) {
			struct db_ladder_clock k[3];

			r = db_item_get_id(s->c, f[i].item_id, &it);
			if (r < 0)
				goto rollback;
			for (j = nk = 0; r > 0 && j < it.nclocks && nk < 3; j++, nk++) {
				k[nk].item_id = it.id;
				k[nk].mark = f[i].mark;
				k[nk].seq = 0;
				snprintf(k[nk].name, sizeof(k[nk].name), "%s", it.clocks[j].name);
				k[nk].due = it.clocks[j].due;
				k[nk].running = it.clocks[j].stopped_at == 0 &&
				                it.clocks[j].paused_at == 0;
			}
			if (r > 0)
				db_item_free(&it);
			scan_moment(s, f[i].at); /* the steps as at the moment they were found */
			if (nk > 0 && ladder_item(s, k, nk, f[i].mark, &next) != 0)
				goto rollback;
			if (db_ladder_fanout_done(s->c, &f[i]) != 0)
				goto rollback;
		}
		if (notify_keys_flush(s->ns) != 0)
			goto rollback;
		if (db_commit(s->c) != 0)
			return -1;
		if (n < DRAIN_BATCH)
			break;
	}
	scan_moment(s, now);
	return 0;
rollback:
	db_rollback(s->c);
	s->ns->keys->n = 0;
	scan_moment(s, now);
	return -1;
}

int
notify_scan(struct db_conn *c, const struct notify_config *cfg, const struct sla_calendar *cal,
            int64_t now, struct notify_scan_stats *stats)
{
	struct notify_staff ns;
	struct notify_keys keys;
	struct scan s;
	struct db_ladder_clock *k = NULL;
	struct db_ladder_next *nx = NULL;
	struct seen seen = {NULL, 0};
	struct db_account *acc = NULL, *by_role = NULL;
	size_t nacc = 0;
	int64_t next;
	size_t n, i, j, items, nn;
	int rc = -1, cache = 0, raised = 0;

	memset(&s, 0, sizeof(s));
	memset(&keys, 0, sizeof(keys));
	notify_staff_init(&ns, c, cfg, cal, now, NULL, NULL, NULL, NULL, NULL);
	ns.keys = &keys; /* the rows of a transaction stored together, before its entries */
	s.c = c;
	s.cal = cal;
	s.ns = &ns;
	scan_moment(&s, now);
	if (db_ladder_scanning(c, 1) != 0) /* outside a transaction, as SQLite asks */
		goto out;
	if (scan_accounts(&s, &acc, &nacc, &by_role) != 0)
		goto out;
	if (drain_fanout(&s) != 0)
		goto fail;
	for (;;) {
		if (db_begin(c) != 0)
			goto out;
		if (scan_accounts(&s, &acc, &nacc, &by_role) != 0)
			goto rollback;
		if (k == NULL) {
			/* three clocks at most per item */
			k = malloc(3 * SCAN_BATCH * sizeof(*k));
			nx = malloc(SCAN_BATCH * sizeof(*nx));
			if (k == NULL || nx == NULL)
				goto rollback;
		}
		if (db_ladder_due_clocks(c, now, SCAN_BATCH, k, 3 * SCAN_BATCH, &n) != 0)
			goto rollback;
		if (n == 0) {
			db_rollback(c);
			break;
		}
		if (!raised) { /* the first item due */
			if (db_ladder_cache(c, SCAN_CACHE, &cache) != 0)
				goto rollback;
			raised = 1;
			seen.id = calloc(SEEN_SLOTS, sizeof(*seen.id));
			if (seen.id == NULL)
				goto rollback;
		}
		/* the entries taken (up to the last one read); each item's next one lies after
		 * now, beyond them */
		for (i = 1, j = 0; i < n; i++)
			if (k[i].mark > k[j].mark ||
			    (k[i].mark == k[j].mark &&
			     (k[i].seq > k[j].seq ||
			      (k[i].seq == k[j].seq && k[i].item_id > k[j].item_id))))
				j = i;
		if (db_ladder_taken(c, k[j].mark, k[j].seq, k[j].item_id) != 0)
			goto rollback;
		for (i = 0, items = 0, nn = 0; i < n; i = j, items++) {
			for (j = i + 1; j < n && k[j].item_id == k[i].item_id && k[j].mark == k[i].mark &&
			                k[j].seq == k[i].seq;
			     j++)
				;
			/* an entry of an item this scan looked at already: only an item changed since
			 * (mark 0) is looked at again; the first look had the earliest mark, the most
			 * steps */
			if (seen_before(&seen, k[i].item_id) && k[i].mark != 0)
				continue;
			stats->items++;
			if (ladder_item(&s, &k[i], j - i, k[i].mark, &next) != 0)
				goto rollback;
			if (next <= now) /* never look again in this scan */
				next = now + 1;
			if (next != INT64_MAX) { /* no clock runs: no entry until the item changes */
				nx[nn].item_id = k[i].item_id;
				nx[nn++].next_at = next;
			}
		}
		/* the notices, then the items' next entries: one statement each */
		if (notify_keys_flush(&ns) != 0 || db_ladder_set_many(c, nx, nn, now) != 0)
			goto rollback;
		if (db_commit(c) != 0)
			goto out;
		if (items < SCAN_BATCH)
			break;
	}
	rc = 0;
	goto out;
rollback:
	notify_log("ladder scan: %s", db_errmsg(c));
	db_rollback(c);
	keys.n = 0;
	goto out;
fail:
	notify_log("ladder scan: the items of ladder_fanout could not be queued");
out:
	stats->steps += s.steps;
	stats->queued += ns.queued;
	stats->missing += ns.missing;
	if (raised)
		db_ladder_cache(c, cache, NULL);
	db_ladder_scanning(c, 0);
	free(by_role); /* shallow copies: the strings are acc's */
	db_accounts_free(acc, nacc);
	notify_keys_free(&keys);
	free(seen.id);
	free(nx);
	free(k);
	return rc;
}

/* --- the text of a ladder notice, when it is sent ------------------------------------------ */

void
notify_render_init(struct notify_render *r)
{
	memset(r, 0, sizeof(*r));
}

void
notify_render_free(struct notify_render *r)
{
	if (r == NULL)
		return;
	if (r->have_item > 0)
		db_item_free(&r->item);
	db_accounts_free(r->acc, r->nacc);
	memset(r, 0, sizeof(*r));
}

int
notify_render_item(struct db_conn *c, struct notify_render *r, int64_t id)
{
	if (r->have_item != 0 && r->item_id == id)
		return r->have_item > 0;
	if (r->have_item > 0)
		db_item_free(&r->item);
	r->item_id = id;
	r->have_item = db_item_get_id(c, id, &r->item);
	if (r->have_item < 0) {
		r->have_item = 0;
		return -1;
	}
	return r->have_item > 0 ? 1 : (r->have_item = -1, 0);
}

/* Account id among r's accounts (read once) into *out when it is active: 1, or 0 (gone or not
 * active, the reason in why) / -1. */
static int
active_account(struct db_conn *c, struct notify_render *r, int64_t id,
               const struct db_account **out, char *why, size_t whysize)
{
	const struct db_account *a = NULL;
	size_t i;

	if (r->acc == NULL && db_account_list(c, &r->acc, &r->nacc) != 0)
		return -1;
	for (i = 0; i < r->nacc; i++)
		if (r->acc[i].id == id)
			a = &r->acc[i];
	if (a == NULL || strcmp(a->status, "active") != 0) {
		snprintf(why, whysize, "the account is %s", a != NULL ? a->status : "gone");
		return 0;
	}
	*out = a;
	return 1;
}

int
notify_render_account(struct db_conn *c, struct notify_render *r, struct db_outbox *o,
                      unsigned char *moved, char *why, size_t whysize)
{
	const struct db_account *a = NULL;
	const char *now_to;
	char *to;
	int rc, sms = strcmp(o->channel, "sms") == 0;

	rc = active_account(c, r, o->account_id, &a, why, whysize);
	if (rc <= 0)
		return rc;
	now_to = sms ? a->phone : a->email;
	if (now_to == NULL || now_to[0] == '\0') {
		snprintf(why, whysize, "the account %.64s has no %s now", a->username,
		         sms ? "phone" : "e-mail address");
		return 0;
	}
	if (strcmp(now_to, o->recipient) == 0)
		return 1;
	to = strdup(now_to);
	if (to == NULL)
		return -1;
	free(o->recipient);
	o->recipient = to;
	free(o->message_id);
	o->message_id = NULL;
	*moved = 1;
	return 1;
}

static char *
dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = malloc(TEXT_MAX);

	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, TEXT_MAX, fmt, ap);
	va_end(ap);
	return s;
}

/* 1 when account a is still one that step kind of item it goes to (as emit chooses them: the
 * assignee, else the section's handlers, else the dispatchers, for a reminder; the section's
 * heads, and the administrators while none is reachable, else the dispatchers, for an overdue
 * notice; the supervisors for an escalation), 0 when the item moved on (another section or
 * assignee), a's role changed since it was queued, or (an administrator) the section has a
 * reachable head now (told instead: notify_ladder_complete). */
static int
still_for(const struct notify_render *r, const struct db_item *it, const struct db_account *a,
          int kind)
{
	size_t i;

	if (kind == DB_STEP_ESCALATE)
		return a->role == ROLE_SUPERVISOR;
	if (kind == DB_STEP_OVERDUE) {
		if (it->section_id == 0)
			return a->role == ROLE_DISPATCHER;
		if (a->role == ROLE_ADMIN) /* while the section has no reachable head */
			return !head_reachable(r->acc, r->nacc, it->section_id);
		return a->role == ROLE_SECTION_HEAD && a->section_id == it->section_id;
	}
	if (a->id == it->assignee_id)
		return 1;
	for (i = 0; it->assignee_id != 0 && i < r->nacc; i++)
		if (r->acc[i].id == it->assignee_id && strcmp(r->acc[i].status, "active") == 0)
			return 0; /* the assignee is reminded, no one else */
	return it->section_id != 0 ? a->role == ROLE_HANDLER && a->section_id == it->section_id
	                           : a->role == ROLE_DISPATCHER;
}

/* Whether the step of key row o still holds at now for its item (read into r), whoever it goes
 * to: 1 with its key into *key and its clock into *clock (lent by r), 0 with the reason in why
 * (not a ladder notice, the item gone, its clock stopped or paused, its due day moved, a
 * reminder whose due time has passed), -1 error. */
static int
step_holds(struct db_conn *c, struct notify_render *r, const struct db_outbox *o, int64_t now,
           struct db_ladder_key *key, const struct db_clock **clock, char *why, size_t whysize)
{
	const struct db_clock *k = NULL;
	const struct db_item *it;
	char due[32];
	size_t i;
	int rc;

	if (db_ladder_key_parse(o->lkey, key) != 0) {
		snprintf(why, whysize, "not a ladder notice");
		return 0;
	}
	rc = notify_render_item(c, r, o->item_id);
	if (rc <= 0) {
		snprintf(why, whysize, "the item is gone");
		return rc;
	}
	it = &r->item;
	for (i = 0; i < it->nclocks; i++)
		if (strcmp(it->clocks[i].name, o->clock) == 0)
			k = &it->clocks[i];
	if (k == NULL || k->stopped_at != 0) {
		snprintf(why, whysize, "the %s clock stopped (item %s)", o->clock, wf_state_name(it->state));
		return 0;
	}
	if (k->paused_at != 0 || k->due <= 0) {
		snprintf(why, whysize, "the %s clock is paused (item %s)", o->clock, wf_state_name(it->state));
		return 0;
	}
	notify_format_time(k->due, due, sizeof(due));
	if (ymd_of(sla_local_day(k->due)) != key->due) {
		snprintf(why, whysize, "the %s clock is now due %s", o->clock, due);
		return 0;
	}
	if (key->kind == DB_STEP_REMIND && now > k->due) { /* late: the overdue notice says it */
		snprintf(why, whysize, "a reminder after the %s clock's due time %s: the overdue "
		         "notice takes its place", o->clock, due);
		return 0;
	}
	*clock = k;
	return 1;
}

int
notify_ladder_complete(struct db_conn *c, const struct notify_config *cfg,
                       const struct sla_calendar *cal, struct notify_render *r,
                       const struct db_outbox *o, int64_t now, size_t *added)
{
	struct notify_staff ns;
	struct db_ladder_key key;
	const struct db_clock *k = NULL;
	char why[200];
	int rc;

	if (o->lkey == 0 || db_ladder_key_parse(o->lkey, &key) != 0 || key.kind != DB_STEP_OVERDUE)
		return 0;
	rc = step_holds(c, r, o, now, &key, &k, why, sizeof(why));
	if (rc <= 0)
		return rc;
	if (r->acc == NULL && db_account_list(c, &r->acc, &r->nacc) != 0)
		return -1;
	notify_staff_init(&ns, c, cfg, cal, now, &r->item, NULL, NULL, NULL, "");
	ns.clock = k->name;
	ns.key = &key;
	if (overdue_audience(&ns, r->acc, r->nacc, r->acc, r->nacc, r->acc, r->nacc) != 0)
		return -1;
	*added += ns.queued;
	return 0;
}

int
notify_ladder_render(struct db_conn *c, const struct sla_calendar *cal, struct notify_render *r,
                     struct db_outbox *o, int64_t now, char *why, size_t whysize)
{
	static const char *const words[] = {NULL, "提醒", "逾期", "督办"};
	static const char *const words_en[] = {NULL, "reminder", "overdue", "escalated"};
	struct db_ladder_key key;
	const struct db_clock *k = NULL;
	const struct db_account *a = NULL;
	const struct db_item *it;
	char due[32], zh[512], en[512], quoted[NOTIFY_SUBJECT_QUOTE + 4];
	int rc;

	rc = step_holds(c, r, o, now, &key, &k, why, whysize);
	if (rc <= 0)
		return rc;
	it = &r->item;
	notify_format_time(k->due, due, sizeof(due));
	rc = active_account(c, r, o->account_id, &a, why, whysize);
	if (rc <= 0)
		return rc;
	if (!still_for(r, it, a, key.kind)) {
		snprintf(why, whysize, "the item is now with %.100s%s%.64s: %.64s no longer gets this "
		         "notice", it->section_name != NULL ? it->section_name : "the dispatchers",
		         it->assignee_name != NULL ? ", " : "",
		         it->assignee_name != NULL ? it->assignee_name : "", a->username);
		return 0;
	}
	if (key.kind == DB_STEP_REMIND) {
		snprintf(zh, sizeof(zh), "请按时办理。");
		snprintf(en, sizeof(en), "Please handle it in time.");
	} else if (key.kind == DB_STEP_OVERDUE && a->role == ROLE_ADMIN) {
		/* told because the section has no reachable head (still_for) */
		const char *sec = it->section_name != NULL ? it->section_name : "-";

		if (key.sms)
			snprintf(zh, sizeof(zh), "已逾期。%.60s无可联系的处长，转告管理员。", sec);
		else
			snprintf(zh, sizeof(zh),
			         "已逾期。处室“%.120s”没有可联系的处长（无在职的处长账户，或其账户"
			         "没有邮箱和手机），此逾期通知因此发给管理员：请指定处长或补全其联系方式。",
			         sec);
		snprintf(en, sizeof(en),
		         "It is overdue. The section %.120s has no reachable head (no active section "
		         "head with an e-mail address or a phone), so this overdue notice goes to the "
		         "administrators: please appoint a head or complete their addresses.",
		         sec);
	} else if (key.kind == DB_STEP_OVERDUE) {
		snprintf(zh, sizeof(zh), "已逾期，请督办。");
		snprintf(en, sizeof(en), "It is overdue.");
	} else {
		/* working days overdue on the day of this escalation */
		int late = sla_working_days_between(
		    cal, sla_local_day(k->due),
		    sla_ymd(key.day / 10000, key.day / 100 % 100, key.day % 100));

		snprintf(zh, sizeof(zh), "已逾期%d个工作日。", late);
		snprintf(en, sizeof(en), "It is %d working days overdue.", late);
	}
	free(o->subject);
	free(o->body);
	o->subject = NULL;
	if (key.sms)
		o->body = dup_printf("【civicdesk】%s %s%s时限%.16s%s", words[key.kind], it->tracking,
		                     clock_word(o->clock, 0), due, zh);
	else {
		notify_quote_subject(it->subject, quoted);
		o->subject = dup_printf("【%s】%s %s时限 %s / %s: %s", words[key.kind], it->tracking,
		                        clock_word(o->clock, 0), due, words_en[key.kind], it->tracking);
		o->body = dup_printf(
		    "事项 %s（%s）的%s时限为 %s。%s\n"
		    "主题：%s\n处室：%s\n承办人：%s\n状态：%s\n\n"
		    "Item %s: the %s clock is due %s. %s\n",
		    it->tracking, kind_name(it->kind), clock_word(o->clock, 0), due, zh, quoted,
		    it->section_name != NULL ? it->section_name : "-",
		    it->assignee_name != NULL ? it->assignee_name : "-", wf_state_name(it->state),
		    it->tracking, clock_word(o->clock, 1), due, en);
		if (o->subject == NULL) {
			free(o->body);
			o->body = NULL;
		}
	}
	return o->body != NULL ? 1 : -1;
}
