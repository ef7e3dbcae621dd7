/*
 * sla: the working-day calendar and deadline arithmetic of civicdesk.
 *
 * A calendar is the base week (Monday to Friday work) plus dated overrides read from plain-text
 * files: "off" (a holiday on what would be a working day, or any day inside a holiday block) and
 * "work" (a make-up working day on a weekend). A loaded calendar is an immutable, reference-counted
 * value: a service swaps in a newer one while readers keep using the one they hold.
 *
 * Days are civil dates expressed as day numbers: days since 1970-01-01 (sla_day). Instants are
 * Unix seconds (UTC). Conversions between them use the process time zone (TZ, set once in main
 * before any thread starts; see sla_set_zone()).
 *
 * This module does no I/O beyond reading calendar files and knows nothing of HTTP or SQL.
 */
#ifndef SLA_H
#define SLA_H

#include <stddef.h>
#include <stdint.h>

struct sla_calendar;

/* A civil date as days since 1970-01-01 (may be negative). */
typedef int32_t sla_day;

enum sla_kind {
	SLA_OFF,  /* no work that day */
	SLA_WORK, /* make-up working day on a weekend */
};

/* One dated override, as read from a calendar file. */
struct sla_override {
	sla_day day;
	enum sla_kind kind;
	const char *name; /* lent: lives as long as the calendar */
};

/* Unit of a clock's limit (DESIGN.md policy options). */
enum sla_unit {
	SLA_WORKING_DAYS,  /* default */
	SLA_CALENDAR_DAYS, /* result rolls forward to the next working day */
};

/* How a clock's due time is computed from its start. */
struct sla_rule {
	enum sla_unit unit;
	int days;        /* the limit, >= 0 */
	int end_minutes; /* minutes after local midnight the due day ends: 1440 = 24:00 (23:59:59),
	                    1050 = 17:30; 0 (a zeroed rule) and values over 1440 also mean 24:00 */
};

/* --- dates ------------------------------------------------------------------------------- */

/* Parses "YYYY-MM-DD" (a real date, years 1900..9999). Returns 0 and writes *day, or -1. */
int sla_date_parse(const char *s, sla_day *day);
/* Writes "YYYY-MM-DD" and a NUL into buf (at least 11 bytes). */
void sla_date_format(sla_day day, char *buf);
/* Day of week, 0 = Monday .. 6 = Sunday. */
int sla_weekday(sla_day day);
sla_day sla_ymd(int year, int month, int day);
void sla_split(sla_day day, int *year, int *month, int *mday);

/* --- time zone ---------------------------------------------------------------------------- */

/* Sets the process time zone (e.g. "Asia/Shanghai") from the system tzdata. Call once in main
 * before threads start. Returns 0, or -1 (TZ unchanged) if the zone is not a zone file of the
 * system tzdata ($TZDIR or /usr/share/zoneinfo); paths and POSIX TZ strings are refused. */
int sla_set_zone(const char *zone);
/* Local civil date of an instant. */
sla_day sla_local_day(int64_t t);
/* The instant at which local day `day` reaches `minutes` after midnight (clamped to 0..1440);
 * 1440 gives 23:59:59. */
int64_t sla_day_end(sla_day day, int minutes);
/* Formats an instant as local ISO 8601 with offset, e.g. 2025-10-14T23:59:59+08:00 (26 bytes). */
void sla_format_local(int64_t t, char *buf, size_t size);
/* Parses "YYYY-MM-DD" (local midnight) or "YYYY-MM-DDTHH:MM[:SS[.S…]]" (local; a fraction of a
 * second is dropped) or with a trailing "Z" / "+HH:MM" offset. Returns 0 and writes *t, or -1. */
int sla_parse_local(const char *s, int64_t *t);

/* --- calendars ---------------------------------------------------------------------------- */

/* Parses calendar files, all or nothing. Each of the n buffers holds one file's text; names are
 * used in error messages. On error returns -1, leaves *out alone and writes "name:line: reason"
 * into err (the first fault in reading order; a reason alone when no line is at fault, e.g. out
 * of memory). On success returns 0 and *out is a new calendar with a reference count of 1.
 * A line is "YYYY-MM-DD off|work NAME [# comment]": NAME is one word (no blanks, valid UTF-8, at
 * most 64 bytes); "work" only on a Saturday or Sunday; a date at most once in all the files.
 * A file's year is that of its latest date; it may also reach into the December before (a New
 * Year block), which is then applied but not covered. The years of the files must follow each
 * other without a gap; the calendar covers them as whole years. */
int sla_calendar_parse(const char *const *names, const char *const *texts, size_t n,
                       struct sla_calendar **out, char *err, size_t errsize);
/* Loads every *.txt file of a folder (sorted by name, dot files skipped); names in messages are
 * "dir/file". Files over 1 MiB or holding a NUL byte are refused. Same contract as
 * sla_calendar_parse. */
int sla_calendar_load_dir(const char *dir, struct sla_calendar **out, char *err, size_t errsize);
/* Loads the given files. Same contract as sla_calendar_parse. */
int sla_calendar_load_files(const char *const *paths, size_t n, struct sla_calendar **out,
                            char *err, size_t errsize);
/* The calendars built into the binary (sla/calendars/cn/). */
int sla_calendar_builtin(struct sla_calendar **out, char *err, size_t errsize);

/* A calendar file's name and text, as read, for a caller that composes a calendar of files
 * from several places (sla_calendar_parse). */
struct sla_file {
	char *name; /* the path, or the base name of a built-in file */
	char *text; /* NUL-terminated */
};

/* Reads the files a calendar is made of by default: dir's *.txt files in the order of
 * sla_calendar_load_dir (same checks), or the built-in ones when dir is NULL or "". 0 with *out
 * (freed with sla_files_free) and *n, or -1 with err. */
int sla_files_read(const char *dir, struct sla_file **out, size_t *n, char *err, size_t errsize);
/* Reads the given files (at most 1 MiB each, no NUL byte), names as given. Same contract. */
int sla_files_read_paths(const char *const *paths, size_t n, struct sla_file **out, char *err,
                         size_t errsize);
void sla_files_free(struct sla_file *f, size_t n);
/* The year a file covers (that of its latest date), checking the file on its own under the
 * rules of sla_calendar_parse. 0 with *year, or -1 with err ("name:line: reason"). */
int sla_file_year(const char *name, const char *text, int *year, char *err, size_t errsize);

/* Reference counting (atomic): ref returns its argument; unref frees at zero; NULL is fine. */
struct sla_calendar *sla_calendar_ref(struct sla_calendar *cal);
void sla_calendar_unref(struct sla_calendar *cal);

/* First and last date covered by the loaded files (whole years). */
void sla_calendar_range(const struct sla_calendar *cal, sla_day *first, sla_day *last);
/* 1 if every day in [a, b] is covered, else 0 (outside: base week only, i.e. provisional). */
int sla_calendar_covers(const struct sla_calendar *cal, sla_day a, sla_day b);

/* --- arithmetic (O(1) or O(log n) per call) ----------------------------------------------- */

int sla_is_working_day(const struct sla_calendar *cal, sla_day day);
/* The n-th working day strictly after `day` (n >= 1; n <= 0 returns day itself). */
sla_day sla_add_working_days(const struct sla_calendar *cal, sla_day day, int n);
/* Number of working days d with a < d <= b; negative of (b, a] when b < a. */
int sla_working_days_between(const struct sla_calendar *cal, sla_day a, sla_day b);
/* The first working day on or after `day`. */
sla_day sla_next_working_day(const struct sla_calendar *cal, sla_day day);

/* Due instant of a clock started at instant `start` under `rule`: the end of the rule.days-th
 * working day after the local date of start (or, for calendar days, start date + days rolled
 * forward to a working day). */
int64_t sla_due(const struct sla_calendar *cal, int64_t start, const struct sla_rule *rule);
/* Working days left at `now` before `due`: the number of working days after today up to the
 * due date, or 0 on the due day itself while it has not passed. Negative when overdue: minus the
 * number of working days since the due date (at least -1 once the due instant has passed). */
int sla_days_left(const struct sla_calendar *cal, int64_t due, int64_t now);
/* Pausing keeps the working days left; resuming at `now` with `left` of them gives a new due:
 * the end (end_minutes, as in sla_rule) of the left-th working day after today; with 0 left, of
 * the first working day from today on; with left < 0 (paused while overdue), the due for which
 * sla_days_left(cal, due, now) is again `left`. */
int64_t sla_resume(const struct sla_calendar *cal, int64_t now, int left, int end_minutes);

/* Overrides that lie in (from, to], in order: writes at most max of them to out (names lent
 * from cal) and returns how many there are in all. */
size_t sla_explain(const struct sla_calendar *cal, sla_day from, sla_day to,
                   struct sla_override *out, size_t max);

#endif
