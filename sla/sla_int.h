/* sla_int.h: what the files of the sla module share; not for other modules. */
#ifndef SLA_INT_H
#define SLA_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "sla.h"

/* A calendar file built into the binary (generated from sla/calendars/cn/ by tools/embed). */
struct sla_blob {
	const char *name; /* base name, e.g. "2025.txt" */
	const char *data; /* text, NUL-terminated */
	size_t len;       /* bytes, without the NUL */
};

extern const struct sla_blob sla_builtin_files[]; /* ends with { NULL, NULL, 0 } */

/*
 * The working-day index. F(d) is the number of working days before day d, counted from a
 * fixed Monday (SLA_ANCHOR); it is a closed form of the base week outside [lo, hi] and a
 * table look-up inside, so every count is a difference of two F values. Its inverse G(k),
 * the k-th working day, is a closed form outside and the array `work` inside.
 */
struct sla_calendar {
	atomic_int refs;         /* reference count */
	sla_day first, last;     /* covered: whole years of the loaded files */
	sla_day lo, hi;          /* indexed span: first (or an earlier override) .. last */
	int64_t f_lo;            /* F(lo), which equals the base-week count there */
	int64_t delta;           /* F(d) - base-week count, for every d > hi */
	int32_t *cum;            /* cum[i]: working days in [lo, lo + i), i = 0 .. hi - lo + 1 */
	sla_day *work;           /* the working days of [lo, hi], ascending (cum[hi - lo + 1]) */
	struct sla_override *ov; /* every override, ascending by day */
	size_t nov;              /* number of overrides */
	char *names;             /* the names ov[].name point into */
};

#define SLA_ANCHOR 4 /* 1970-01-05, a Monday */

/* Parses exactly len bytes as "YYYY-MM-DD" (years 1900..9999). Returns 0 and writes *day. */
int sla_date_parse_n(const char *s, size_t len, sla_day *day);

/* Builds cum and work of a calendar whose first, last, ov and nov are set. Returns 0 or -1
 * (out of memory). */
int sla_index_build(struct sla_calendar *cal);

/* The working day that add_working_days would give for any n, including n <= 0: the day d
 * with F(d) = F(day + 1) + n - 1 (for n < 0, the day whose working days up to `day` are -n). */
sla_day sla_nth_working_day(const struct sla_calendar *cal, sla_day day, int64_t n);

#endif
