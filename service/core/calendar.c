/*
 * calendar.c: the calendar in force — the built-in files (or calendar_dir's) with the files
 * loaded into the database on top — `civicdesk calendar load`, and, when the calendar changes,
 * the recalculation of every running clock whose due time depends on the changed days, with a
 * citizen-visible history row per moved due time (#14 point 10).
 *
 * The database keeps the files of the calendar the clocks were last computed with
 * (calendar_applied). A change recomputes each running clock from its start on the new calendar
 * and moves it only if its due time is what the old calendar gives from its start, so that a due
 * time set otherwise is never rewritten and a recalculation cut short (a crash, a busy item) is
 * finished by the next start without moving anything twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

#define CAL_FILES_MAX 256 /* files of one calendar */
#define RECALC_BATCH 256  /* items listed per query */
#define NOTE_SIZE 160     /* a recalculation's history note */

/* A calendar with the files it was made of. */
struct calset {
	struct sla_calendar *cal;
	const char *names[CAL_FILES_MAX]; /* owned copies */
	const char *texts[CAL_FILES_MAX];
	int years[CAL_FILES_MAX];
	size_t n;
	char fp[CALENDAR_FP_SIZE];
};

static void
calset_free(struct calset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free((char *)s->names[i]);
		free((char *)s->texts[i]);
	}
	sla_calendar_unref(s->cal);
	memset(s, 0, sizeof(*s));
}

int
calendar_fingerprint(const struct sla_calendar *cal, char fp[CALENDAR_FP_SIZE])
{
	crypto_generichash_state st;
	struct sla_override *ov;
	unsigned char h[32];
	char line[128], a[11], b[11];
	sla_day first, last;
	size_t n, i;

	n = sla_explain(cal, INT32_MIN, INT32_MAX, NULL, 0);
	ov = calloc(n ? n : 1, sizeof(*ov));
	if (ov == NULL)
		return -1;
	n = sla_explain(cal, INT32_MIN, INT32_MAX, ov, n);
	sla_calendar_range(cal, &first, &last);
	sla_date_format(first, a);
	sla_date_format(last, b);
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	snprintf(line, sizeof(line), "%s..%s\n", a, b);
	crypto_generichash_update(&st, (const unsigned char *)line, strlen(line));
	for (i = 0; i < n; i++) {
		sla_date_format(ov[i].day, a);
		snprintf(line, sizeof(line), "%s %s ", a, ov[i].kind == SLA_WORK ? "work" : "off");
		crypto_generichash_update(&st, (const unsigned char *)line, strlen(line));
		crypto_generichash_update(&st, (const unsigned char *)ov[i].name,
		                          strlen(ov[i].name) + 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	free(ov);
	sodium_bin2hex(fp, CALENDAR_FP_SIZE, h, sizeof(h));
	return 0;
}

/* One file that may go into a calendar: a file of a later source replaces the files of its
 * year from earlier ones. */
struct candidate {
	const char *name, *text;
	int year;
	int source; /* 0 base (built in or calendar_dir), 1 loaded (stored), 2 being loaded */
};

/* Builds the calendar of the candidates: every file of a year but those a file of a later
 * source replaces, in year order (files of one source keep their order). 0, or -1 with err. */
static int
calset_build(const struct candidate *v, size_t n, struct calset *out, char *err, size_t errsize)
{
	size_t i, j, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && !(v[j].year == v[i].year && v[j].source > v[i].source); j++)
			;
		if (j < n)
			continue; /* a file of a later source replaces this one */
		if (out->n == CAL_FILES_MAX) {
			snprintf(err, errsize, "more than %d calendar files", CAL_FILES_MAX);
			goto fail;
		}
		/* insertion in year order */
		for (k = out->n; k > 0 && out->years[k - 1] > v[i].year; k--) {
			out->names[k] = out->names[k - 1];
			out->texts[k] = out->texts[k - 1];
			out->years[k] = out->years[k - 1];
		}
		out->years[k] = v[i].year;
		out->names[k] = strdup(v[i].name);
		out->texts[k] = strdup(v[i].text);
		out->n++;
		if (out->names[k] == NULL || out->texts[k] == NULL) {
			snprintf(err, errsize, "out of memory");
			goto fail;
		}
	}
	if (sla_calendar_parse(out->names, out->texts, out->n, &out->cal, err, errsize) != 0)
		goto fail;
	if (calendar_fingerprint(out->cal, out->fp) != 0) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	return 0;
fail:
	calset_free(out);
	return -1;
}

/* The calendar in force with the extra files on top (n_extra of them, years known): base files,
 * then the stored ones, then the extra ones. 0, or -1 with err. */
static int
effective(struct app *app, struct db_conn *c, const struct candidate *extra, size_t n_extra,
          struct calset *out, char *err, size_t errsize)
{
	struct sla_file *base = NULL;
	struct db_calendar_file *stored = NULL;
	struct candidate *v = NULL;
	size_t nb = 0, ns = 0, n = 0, i;
	int rc = -1;

	if (sla_files_read(app->cfg.calendar_dir, &base, &nb, err, errsize) != 0)
		return -1;
	if (db_calendar_files(c, &stored, &ns) != 0) {
		snprintf(err, errsize, "the loaded calendar files cannot be read");
		goto out;
	}
	v = calloc(nb + ns + n_extra + 1, sizeof(*v));
	if (v == NULL) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	for (i = 0; i < nb; i++, n++) {
		v[n].name = base[i].name;
		v[n].text = base[i].text;
		v[n].source = 0;
		if (sla_file_year(base[i].name, base[i].text, &v[n].year, err, errsize) != 0)
			goto out;
	}
	for (i = 0; i < ns; i++, n++) {
		v[n].name = stored[i].name;
		v[n].text = stored[i].text;
		v[n].year = stored[i].year;
		v[n].source = 1;
	}
	for (i = 0; i < n_extra; i++) {
		v[n] = extra[i];
		v[n++].source = 2;
	}
	rc = calset_build(v, n, out, err, errsize);
out:
	free(v);
	db_calendar_files_free(stored, ns);
	sla_files_free(base, nb);
	return rc;
}

int
calendar_current(struct app *app, struct db_conn *c, struct sla_calendar **out, char *err,
                 size_t errsize)
{
	struct calset s;

	if (effective(app, c, NULL, 0, &s, err, errsize) != 0)
		return -1;
	*out = sla_calendar_ref(s.cal);
	calset_free(&s);
	return 0;
}

/* The calendar the clocks were last computed with, as recorded: 1 with *out (a new
 * reference) and fp, 0 when none is recorded, -1 on error. */
static int
applied(struct db_conn *c, struct sla_calendar **out, char fp[CALENDAR_FP_SIZE])
{
	struct db_calendar_file *f = NULL;
	const char *names[CAL_FILES_MAX], *texts[CAL_FILES_MAX];
	char err[256];
	size_t n = 0, i;
	int rc = db_calendar_applied(c, &f, &n, fp, CALENDAR_FP_SIZE);

	if (rc <= 0)
		return rc;
	rc = -1;
	if (n == 0 || n > CAL_FILES_MAX)
		goto out;
	for (i = 0; i < n; i++) {
		names[i] = f[i].name;
		texts[i] = f[i].text;
	}
	if (sla_calendar_parse(names, texts, n, out, err, sizeof(err)) != 0) {
		log_warn("calendar: the calendar recorded as applied no longer parses: %s", err);
		goto out;
	}
	rc = 1;
out:
	db_calendar_files_free(f, n);
	return rc;
}

/* Records s as the calendar the clocks are computed with. 0 or -1. */
static int
record_applied(struct db_conn *c, const struct calset *s, int64_t now)
{
	if (db_begin(c) != 0)
		return -1;
	if (db_calendar_applied_set(c, s->names, s->texts, s->n, s->fp, now) != 0 ||
	    db_commit(c) != 0) {
		db_rollback(c);
		return -1;
	}
	return 0;
}

/* Adds the counts of r to rep. */
static void
report_add(struct calendar_report *rep, const struct calendar_report *r)
{
	rep->items += r->items;
	rep->moved += r->moved;
	rep->confirmed += r->confirmed;
	rep->left += r->left;
}

/* Recomputes the clocks of item `tracking`: in a transaction of its own, or (batch 1) inside
 * the one the caller holds open on c. Adds what it did to *r. 0, or -1 (the item could not be
 * changed now; in a batch the caller rolls back). */
static int
recalc_item(struct app *app, struct db_conn *c, const struct actor *who, const char *tracking,
            const struct sla_calendar *old, const struct sla_calendar *cal, int64_t now,
            int batch, struct calendar_report *rep)
{
	struct db_history h[CLOCK__MAX];
	char notes[CLOCK__MAX][NOTE_SIZE], detail[3 * NOTE_SIZE] = "", d_new[11], d_old[11];
	struct calendar_report r;
	struct core_error err;
	struct core_txn t;
	size_t nh = 0, i, len;
	int changed = 0, ret = -1;

	memset(&r, 0, sizeof(r));
	if ((batch ? txn_load(&t, app, c, tracking, &err) : txn_begin(&t, app, c, tracking, &err)) !=
	    0) {
		if (err.code == CORE_NOT_FOUND)
			ret = 0;
		goto out;
	}
	for (i = 0; i < t.item.nclocks; i++) {
		struct db_clock *k = &t.item.clocks[i];
		int64_t before = k->due;

		switch (clock_recalc(k, old, cal, now)) {
		case CLOCK_RECALC_MOVED:
			sla_date_format(sla_local_day(k->due), d_new);
			sla_date_format(sla_local_day(before), d_old);
			snprintf(notes[nh], NOTE_SIZE,
			         "calendar changed: the %s time limit is now %s (was %s)", k->name,
			         d_new, d_old);
			memset(&h[nh], 0, sizeof(h[nh]));
			h[nh].at = now;
			h[nh].actor_id = who->id;
			h[nh].actor = (char *)who->name;
			h[nh].action = (char *)"recalculate";
			h[nh].from_state = (char *)wf_state_name(t.item.state);
			h[nh].to_state = (char *)wf_state_name(t.item.state);
			h[nh].note = notes[nh];
			h[nh].citizen = 1;
			h[nh].clock = k->name;
			h[nh].due = k->due;
			len = strlen(detail);
			snprintf(detail + len, sizeof(detail) - len, "%s%s: %s -> %s",
			         len ? "; " : "", k->name, d_old, d_new);
			nh++;
			r.moved++;
			changed = 1;
			break;
		case CLOCK_RECALC_CONFIRMED:
			r.confirmed++;
			changed = 1;
			break;
		case CLOCK_RECALC_LEFT:
			r.left++;
			log_warn(
			    "calendar: %s: the %s clock's due time was not set from its start; "
			    "left as it is",
			    t.item.tracking, k->name);
			break;
		case CLOCK_RECALC_NONE:
			break;
		}
	}
	if (!changed) {
		report_add(rep, &r);
		ret = 0;
		goto out;
	}
	if (detail[0] == '\0')
		snprintf(detail, sizeof(detail), "provisional due times confirmed");
	t.item.next_due = db_item_next_due(&t.item);
	t.item.updated = now;
	if ((batch ? txn_write_rows(&t, who, "recalculate", now, h, nh, detail, NULL, &err)
	           : txn_commit_rows(&t, who, "recalculate", now, h, nh, detail, NULL, &err)) != 0)
		goto out;
	r.items = nh > 0;
	report_add(rep, &r);
	ret = 0;
out:
	txn_end(&t);
	return ret;
}

/* Recomputes every item with a running clock: old is the calendar the clocks were computed with
 * (or NULL), cal the new one. Items are changed in batches of RECALC_BATCH, one transaction
 * each (the same rows as one transaction per item, a fraction of the commits); a batch that
 * cannot be written is done again one transaction per item. 0, or -1 when some items could not
 * be changed (rep->failed). */
static int
recalc_all(struct app *app, struct db_conn *c, const struct actor *who,
           const struct sla_calendar *old, const struct sla_calendar *cal, int64_t now,
           struct calendar_report *rep)
{
	struct calendar_report r;
	int64_t ids[RECALC_BATCH], after = 0;
	char *trackings[RECALC_BATCH];
	size_t n, i;
	int ok;

	for (;;) {
		if (db_items_running(c, after, RECALC_BATCH, ids, trackings, &n) != 0)
			return -1;
		memset(&r, 0, sizeof(r));
		ok = n > 0 && db_begin(c) == 0;
		for (i = 0; ok && i < n; i++)
			ok = recalc_item(app, c, who, trackings[i], old, cal, now, 1, &r) == 0;
		if (ok && db_commit(c) == 0) {
			report_add(rep, &r);
		} else {
			db_rollback(c);
			for (i = 0; i < n; i++)
				if (recalc_item(app, c, who, trackings[i], old, cal, now, 0, rep) != 0)
					rep->failed++;
		}
		for (i = 0; i < n; i++)
			free(trackings[i]);
		if (n < RECALC_BATCH)
			break;
		after = ids[n - 1];
	}
	return rep->failed == 0 ? 0 : -1;
}

static void
report_range(const struct sla_calendar *cal, struct calendar_report *rep)
{
	sla_day a, b;

	sla_calendar_range(cal, &a, &b);
	sla_date_format(a, rep->first);
	sla_date_format(b, rep->last);
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

int
core_calendar_load(struct app *app, const struct actor *who, const char *const *names,
                   const char *const *texts, size_t n, int64_t now, struct calendar_report *rep,
                   struct core_error *err)
{
	struct candidate extra[CAL_FILES_MAX];
	struct sla_calendar *old = NULL;
	struct db_calendar_file f;
	struct db_conn *c = NULL;
	struct calset s;
	char msg[512], fp[CALENDAR_FP_SIZE], detail[128];
	size_t i, j;
	int ret = -1, have_set = 0;

	memset(rep, 0, sizeof(*rep));
	memset(&s, 0, sizeof(s));
	if (n == 0 || n > CAL_FILES_MAX)
		return core_fail(err, CORE_INVALID, "file", "one to %d calendar files",
		                 CAL_FILES_MAX);
	/* each file alone, then the calendar they make with the one in force */
	for (i = 0; i < n; i++) {
		extra[i].name = names[i];
		extra[i].text = texts[i];
		if (sla_file_year(names[i], texts[i], &extra[i].year, msg, sizeof(msg)) != 0)
			return core_fail(err, CORE_INVALID, "file", "%s", msg);
		for (j = 0; j < i; j++)
			if (extra[j].year == extra[i].year)
				return core_fail(err, CORE_INVALID, "file",
				                 "%s: %s covers the year %d too", names[i],
				                 names[j], extra[i].year);
	}
	c = db_acquire(app->db);
	if (c == NULL)
		return core_fail(err, CORE_BUSY, NULL, "the database is busy; try again");
	if (effective(app, c, extra, n, &s, msg, sizeof(msg)) != 0) {
		core_fail(err, CORE_INVALID, "file", "%s", msg);
		goto out;
	}
	have_set = 1;
	/* what the clocks were computed with: as recorded, else the calendar in force now */
	if (applied(c, &old, fp) <= 0)
		old = app_calendar(app);
	/* the files, stored at once: a recalculation cut short is finished by the next start */
	if (db_begin(c) != 0) {
		core_fail(err, CORE_BUSY, NULL, "the database is busy; try again");
		goto out;
	}
	for (i = 0; i < n; i++) {
		memset(&f, 0, sizeof(f));
		f.year = extra[i].year;
		f.name = (char *)base_name(names[i]);
		f.text = (char *)texts[i];
		f.loaded_at = now;
		f.loaded_by = (char *)who->name;
		snprintf(detail, sizeof(detail), "year %d", f.year);
		if (db_calendar_file_put(c, &f) != 0 ||
		    audit_write(c, now, who, "calendar_load", f.name, 1, detail) != 0) {
			db_rollback(c);
			core_fail(err, CORE_ERROR, NULL, "the calendar could not be stored");
			goto out;
		}
	}
	if (db_commit(c) != 0) {
		db_rollback(c);
		core_fail(err, CORE_BUSY, NULL, "the calendar could not be stored; try again");
		goto out;
	}
	app_calendar_swap(app, sla_calendar_ref(s.cal));
	report_range(s.cal, rep);
	if (recalc_all(app, c, who, old, s.cal, now, rep) != 0) {
		core_fail(err, CORE_BUSY, NULL,
		          "the calendar is stored; %zu items could not be recalculated now (the "
		          "next start does it)",
		          rep->failed);
		goto out;
	}
	if (record_applied(c, &s, now) != 0) {
		core_fail(err, CORE_BUSY, NULL,
		          "the calendar is stored and applied but could not be recorded as such");
		goto out;
	}
	ret = 0;
out:
	sla_calendar_unref(old);
	if (have_set)
		calset_free(&s);
	db_release(app->db, c);
	return ret;
}

int
core_calendar_sync(struct app *app, const struct actor *who, int64_t now,
                   struct calendar_report *rep, int *changed)
{
	struct sla_calendar *mem = app_calendar(app), *old = NULL;
	struct db_conn *c = db_acquire(app->db);
	struct calset s;
	char err[512], fp_applied[CALENDAR_FP_SIZE], fp_mem[CALENDAR_FP_SIZE];
	int ret = -1, rc, have_set = 0;

	memset(rep, 0, sizeof(*rep));
	*changed = 0;
	if (c == NULL || calendar_fingerprint(mem, fp_mem) != 0)
		goto out;
	if (effective(app, c, NULL, 0, &s, err, sizeof(err)) != 0) {
		log_err("calendar: %s", err);
		goto out;
	}
	have_set = 1;
	report_range(s.cal, rep);
	rc = applied(c, &old, fp_applied);
	if (rc == 0) {
		/* nothing recorded (a database older than this): the clocks were computed with
		 * the calendar in force */
		if (record_applied(c, &s, now) != 0)
			goto out;
		if (strcmp(fp_mem, s.fp) != 0) {
			app_calendar_swap(app, sla_calendar_ref(s.cal));
			*changed = 1;
		}
		ret = 0;
		goto out;
	}
	if (rc < 0)
		fp_applied[0] = '\0'; /* unreadable: recorded again below */
	if (strcmp(fp_applied, s.fp) == 0 && strcmp(fp_mem, s.fp) == 0) {
		ret = 0;
		goto out;
	}
	if (rc < 0 || strcmp(fp_applied, s.fp) == 0) {
		/* recorded already (another process loaded it): this process's own clocks were
		 * computed with its own calendar */
		sla_calendar_unref(old);
		old = sla_calendar_ref(mem);
	}
	if (strcmp(fp_mem, s.fp) != 0) {
		app_calendar_swap(app, sla_calendar_ref(s.cal));
		*changed = 1;
	}
	if (recalc_all(app, c, who, old, s.cal, now, rep) != 0)
		goto out;
	/* a change that was being made with the calendar before the swap may have committed
	 * after the pass went by its item: a second pass takes it up (the others are done) */
	if (*changed && recalc_all(app, c, who, old, s.cal, now, rep) != 0)
		goto out;
	if (strcmp(fp_applied, s.fp) != 0 && record_applied(c, &s, now) != 0)
		goto out;
	ret = 0;
out:
	if (ret != 0)
		log_err("calendar: the clocks could not all be recalculated (%zu items failed)",
		        rep->failed);
	sla_calendar_unref(old);
	sla_calendar_unref(mem);
	if (have_set)
		calset_free(&s);
	db_release(app->db, c);
	return ret;
}
