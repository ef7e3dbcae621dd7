/* app.c: the application value shared by handlers: clock, calendar, store; opening and closing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "core_int.h"

static const char *const demo_sections[] = { "办公室", "法规处", "稽查处", "信息中心" };

int64_t
app_now(struct app *app)
{
#ifdef CIVICDESK_TEST_HOOKS
	int64_t t;

	pthread_mutex_lock(&app->test_lock);
	t = app->test_now;
	pthread_mutex_unlock(&app->test_lock);
	if (t != 0)
		return t;
#else
	(void)app;
#endif
	return (int64_t)time(NULL);
}

struct sla_calendar *
app_calendar(struct app *app)
{
	struct sla_calendar *cal;

	pthread_mutex_lock(&app->cal_lock);
	cal = sla_calendar_ref(app->cal);
	pthread_mutex_unlock(&app->cal_lock);
	return cal;
}

void
app_calendar_swap(struct app *app, struct sla_calendar *cal)
{
	struct sla_calendar *old;

	pthread_mutex_lock(&app->cal_lock);
	old = app->cal;
	app->cal = cal;
	pthread_mutex_unlock(&app->cal_lock);
	sla_calendar_unref(old);
}

/* The policies are a small plain value: a reader copies the one it needs under the lock and
 * a change replaces the whole value, so nobody ever sees half of a change (the calendar does
 * the same with a reference-counted pointer because it is large). */
void
app_policy(struct app *app, enum kind kind, struct policy *out)
{
	pthread_mutex_lock(&app->policy_lock);
	*out = app->policies.kind[(unsigned)kind < KIND__MAX ? kind : KIND_LETTER];
	pthread_mutex_unlock(&app->policy_lock);
}

void
app_policies(struct app *app, struct policies *out)
{
	pthread_mutex_lock(&app->policy_lock);
	*out = app->policies;
	pthread_mutex_unlock(&app->policy_lock);
}

void
app_policies_swap(struct app *app, const struct policies *p)
{
	pthread_mutex_lock(&app->policy_lock);
	app->policies = *p;
	pthread_mutex_unlock(&app->policy_lock);
}

/* Loads the effective policies: the configuration's with the stored overrides on top.
 *
 * A stored value that no longer parses refuses the start, as a bad value in the configuration
 * file does. Ignoring it would quietly give new items other legal deadlines than the ones the
 * bureau's administrators set and still see in the audit log — a promise to citizens made
 * wrong without anyone being told. Such a row cannot come from the API (it checks with the same
 * parser before writing); only a hand edit of the database, or a civicdesk with narrower
 * limits, makes one, and the message names the row so that the operator can fix it. */
static int
load_policies(struct app *app)
{
	struct db_conn *c = db_acquire(app->db);
	struct policies p;
	char err[512];
	int rc = -1;

	if (c == NULL) {
		fprintf(stderr, "civicdesk: database: no connection\n");
		return -1;
	}
	if (policies_read(&app->cfg, c, &p, err, sizeof(err)) != 0) {
		fprintf(stderr,
		        "civicdesk: %s; correct that row of the table policy_overrides in %s, or "
		        "delete it to follow the configuration again\n",
		        err, app->cfg.db);
		goto out;
	}
	app->policies = p;
	rc = 0;
out:
	db_release(app->db, c);
	return rc;
}

/* Creates the folder that will hold the database file, if it is missing (one level). */
static void
make_parent(const char *path)
{
	char *dir = strdup(path), *slash;

	if (dir == NULL)
		return;
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750);
	}
	free(dir);
}

static int
seed_demo(struct app *app, FILE *out)
{
	struct db_conn *c = db_acquire(app->db);
	int64_t now = app_now(app), id;
	size_t i;
	int rc = -1;

	if (c == NULL || db_begin(c) != 0)
		goto out;
	fprintf(out, "demo sections:");
	for (i = 0; i < sizeof(demo_sections) / sizeof(demo_sections[0]); i++) {
		if (db_section_add(c, demo_sections[i], NULL, now, &id) < 0) {
			db_rollback(c);
			goto out;
		}
		fprintf(out, " %s", demo_sections[i]);
	}
	fprintf(out, "\n");
	if (auth_seed_demo(app, c, now, out) != 0) {
		db_rollback(c);
		goto out;
	}
	rc = db_commit(c);
out:
	db_release(app->db, c);
	fflush(out);
	return rc;
}

/* The parts of app_open that may fail after the locks exist; app_open closes what they opened. */
static int
open_parts(struct app *app, const char *config_path, FILE *demo_out)
{
	char err[1024];
	const char *path = config_path;
	int explicit_path = path != NULL, created = 0;

	if (path == NULL && getenv("CIVICDESK_CONFIG") != NULL) {
		path = getenv("CIVICDESK_CONFIG");
		explicit_path = 1;
	}
	if (path == NULL)
		path = "civicdesk.conf";
	if (config_load(&app->cfg, path, explicit_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: configuration: %s\n", err);
		return -1;
	}
	if (netaddr_list_check(app->cfg.trusted_proxies, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: configuration: trusted_proxies: %s\n", err);
		return -1;
	}
	if (netaddr_ranges_check(app->cfg.submit_rate_ranges, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: configuration: submit_rate_ranges: %s\n", err);
		return -1;
	}
	if (netaddr_networks_check(app->cfg.staff_networks, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: configuration: staff_networks: %s\n", err);
		return -1;
	}
	if (sla_set_zone(app->cfg.tz) != 0) {
		fprintf(stderr, "civicdesk: time zone '%s' is not known to this system\n",
		        app->cfg.tz);
		return -1;
	}
#ifdef CIVICDESK_TEST_HOOKS
	/* After the time zone: the injected time is local. */
	if (getenv("CIVICDESK_TEST_NOW") != NULL &&
	    sla_parse_local(getenv("CIVICDESK_TEST_NOW"), &app->test_now) != 0) {
		fprintf(stderr, "civicdesk: CIVICDESK_TEST_NOW: not a time\n");
		return -1;
	}
#endif
	if (app->cfg.calendar_dir[0] != '\0' ?
	        sla_calendar_load_dir(app->cfg.calendar_dir, &app->cal, err, sizeof(err)) :
	        sla_calendar_builtin(&app->cal, err, sizeof(err))) {
		fprintf(stderr, "civicdesk: calendar: %s\n", err);
		return -1;
	}
	make_parent(app->cfg.db);
	if (db_open(app->cfg.db, &app->db, &created, err, sizeof(err)) != 0) {
		fprintf(stderr, "civicdesk: database: %s\n", err);
		return -1;
	}
	db_pool_limit(app->db, (int)app->cfg.db_connections, 10000);
	/* the calendar in force: the files loaded into the database on top (calendar.c) */
	{
		struct db_conn *c = db_acquire(app->db);
		struct sla_calendar *cal = NULL;

		if (c == NULL || calendar_current(app, c, &cal, err, sizeof(err)) != 0) {
			fprintf(stderr, "civicdesk: calendar: %s\n",
			        c == NULL ? "no database connection" : err);
			db_release(app->db, c);
			return -1;
		}
		db_release(app->db, c);
		app_calendar_swap(app, cal);
	}
	if (created && app->cfg.demo && seed_demo(app, demo_out) != 0) {
		fprintf(stderr, "civicdesk: cannot create the demo data\n");
		return -1;
	}
	if (load_policies(app) != 0)
		return -1;
	if (stats_backfill(app) != 0)
		return -1;
	app->submit_limit = ratelimit_new(app->cfg.submit_rate, 60);
	app->track_limit = ratelimit_new(TRACK_FAILURES, TRACK_WINDOW);
	app->public_limit = ratelimit_new(app->cfg.public_rate, 60);
	app->track_pair_limit = ratelimit_new(TRACK_FAILURES, TRACK_WINDOW);
	app->track_item_limit = ratelimit_new(TRACK_ITEM_FAILURES, TRACK_WINDOW);
	app->track_addr_limit = ratelimit_new(TRACK_ADDR_FAILURES, TRACK_WINDOW);
	if (app->submit_limit == NULL ||
	    ratelimit_set_ranges(app->submit_limit, app->cfg.submit_rate_ranges) != 0 ||
	    app->track_limit == NULL || app->public_limit == NULL ||
	    app->track_pair_limit == NULL || app->track_item_limit == NULL ||
	    app->track_addr_limit == NULL) {
		fprintf(stderr, "civicdesk: out of memory\n");
		return -1;
	}
	if (db_submitter_start(app->db, &app->submitter) != 0) {
		fprintf(stderr, "civicdesk: cannot start the database writer\n");
		return -1;
	}
	app->submit_stats = stats_batch_new();
	if (app->submit_stats != NULL)
		app->submit_batch = intake_batch_new(app, app->submit_stats);
	if (app->submit_batch != NULL) { /* without it, each submission writes its own */
		struct db_batch_hook hook = {intake_batch_begin, intake_batch_end, app->submit_batch};

		db_submitter_set_hook(app->submitter, &hook);
	}
	return 0;
}

int
app_open(struct app *app, const char *config_path, FILE *demo_out)
{
	memset(app, 0, sizeof(*app));
	/* Once, before any thread: randomness and hashing (auth.c) need it. */
	if (sodium_init() < 0) {
		fprintf(stderr, "civicdesk: libsodium cannot be initialised\n");
		return -1;
	}
	if (oath_init() != OATH_OK) { /* TOTP (totp.c) */
		fprintf(stderr, "civicdesk: liboath cannot be initialised\n");
		return -1;
	}
	randombytes_buf(app->code_key, sizeof(app->code_key)); /* app_query_code */
	pthread_mutex_init(&app->spare_lock, NULL);
	pthread_mutex_init(&app->cal_lock, NULL);
	pthread_mutex_init(&app->policy_lock, NULL);
	pthread_mutex_init(&app->policy_write, NULL);
	sem_init(&app->pwhash_slots, 0, AUTH_PWHASH_SLOTS);
#ifdef CIVICDESK_TEST_HOOKS
	pthread_mutex_init(&app->test_lock, NULL);
#endif
	if (open_parts(app, config_path, demo_out) != 0) {
		app_close(app);
		return -1;
	}
	return 0;
}

void
app_log_writer(struct app *app)
{
	db_submitter_log(app->submitter, 1);
}

void
app_close(struct app *app)
{
	core_session_writer_stop(app); /* what it holds is written first */
	db_submitter_stop(app->submitter);
	app->submitter = NULL;
	intake_spares_free(app); /* no submission in flight now */
	intake_batch_free(app->submit_batch); /* after the writer that used them */
	app->submit_batch = NULL;
	stats_batch_free(app->submit_stats);
	app->submit_stats = NULL;
	ratelimit_free(app->submit_limit);
	ratelimit_free(app->track_limit);
	ratelimit_free(app->public_limit);
	ratelimit_free(app->track_pair_limit);
	ratelimit_free(app->track_item_limit);
	ratelimit_free(app->track_addr_limit);
	app->public_limit = app->track_pair_limit = app->track_item_limit = NULL;
	app->track_addr_limit = NULL;
	app->submit_limit = app->track_limit = NULL;
	db_close(app->db);
	app->db = NULL;
	sla_calendar_unref(app->cal);
	app->cal = NULL;
	config_free(&app->cfg);
	sodium_memzero(app->totp_seal, sizeof(app->totp_seal));
	app->totp_seal_ok = 0;
	pthread_mutex_destroy(&app->spare_lock);
	pthread_mutex_destroy(&app->cal_lock);
	pthread_mutex_destroy(&app->policy_lock);
	pthread_mutex_destroy(&app->policy_write);
	sem_destroy(&app->pwhash_slots);
#ifdef CIVICDESK_TEST_HOOKS
	pthread_mutex_destroy(&app->test_lock);
#endif
}
