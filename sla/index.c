/* index.c: the working-day index of a calendar and the arithmetic on it, O(1) per call. */
#include <stdlib.h>

#include "sla/sla_int.h"

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static sla_day
clamp_day(int64_t d)
{
	if (d < INT32_MIN)
		return INT32_MIN;
	if (d > INT32_MAX)
		return INT32_MAX;
	return (sla_day)d;
}

/* Base week: Monday to Friday days in [SLA_ANCHOR, d) (negative before the anchor). */
static int64_t
base_count(int64_t d)
{
	int64_t x = d - SLA_ANCHOR, weeks = floor_div(x, 7), r = x - 7 * weeks;

	return 5 * weeks + (r < 5 ? r : 5);
}

/* Base week: the k-th Monday-to-Friday day, k = 0 being SLA_ANCHOR. */
static int64_t
base_nth(int64_t k)
{
	int64_t weeks = floor_div(k, 5);

	return SLA_ANCHOR + 7 * weeks + (k - 5 * weeks);
}

/* F(d): working days in [SLA_ANCHOR, d). */
static int64_t
count_before(const struct sla_calendar *cal, int64_t d)
{
	if (d <= cal->lo)
		return base_count(d);
	if (d <= (int64_t)cal->hi + 1)
		return cal->f_lo + cal->cum[d - cal->lo];
	return base_count(d) + cal->delta;
}

/* G(k): the working day d with F(d) = k. */
static int64_t
nth_working(const struct sla_calendar *cal, int64_t k)
{
	int64_t nwork = cal->cum[(int64_t)cal->hi - cal->lo + 1];

	if (k < cal->f_lo)
		return base_nth(k);
	if (k < cal->f_lo + nwork)
		return cal->work[k - cal->f_lo];
	return base_nth(k - cal->delta);
}

int
sla_index_build(struct sla_calendar *cal)
{
	int64_t len, i;
	size_t o = 0;
	int32_t n = 0;

	cal->lo = cal->first;
	if (cal->nov > 0 && cal->ov[0].day < cal->lo)
		cal->lo = cal->ov[0].day;
	cal->hi = cal->last;
	len = (int64_t)cal->hi - cal->lo + 1;
	cal->cum = malloc((size_t)(len + 1) * sizeof(*cal->cum));
	cal->work = malloc((size_t)len * sizeof(*cal->work));
	if (cal->cum == NULL || cal->work == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		sla_day d = (sla_day)(cal->lo + i);
		int working = sla_weekday(d) < 5;

		while (o < cal->nov && cal->ov[o].day < d)
			o++;
		if (o < cal->nov && cal->ov[o].day == d)
			working = cal->ov[o].kind == SLA_WORK;
		cal->cum[i] = n;
		if (working)
			cal->work[n++] = d;
	}
	cal->cum[len] = n;
	cal->f_lo = base_count(cal->lo);
	cal->delta = cal->f_lo + n - base_count((int64_t)cal->hi + 1);
	return 0;
}

struct sla_calendar *
sla_calendar_ref(struct sla_calendar *cal)
{
	if (cal != NULL)
		atomic_fetch_add_explicit(&cal->refs, 1, memory_order_relaxed);
	return cal;
}

void
sla_calendar_unref(struct sla_calendar *cal)
{
	if (cal == NULL || atomic_fetch_sub_explicit(&cal->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(cal->cum);
	free(cal->work);
	free(cal->ov);
	free(cal->names);
	free(cal);
}

void
sla_calendar_range(const struct sla_calendar *cal, sla_day *first, sla_day *last)
{
	*first = cal->first;
	*last = cal->last;
}

int
sla_calendar_covers(const struct sla_calendar *cal, sla_day a, sla_day b)
{
	if (b < a) {
		sla_day t = a;

		a = b;
		b = t;
	}
	return a >= cal->first && b <= cal->last;
}

int
sla_is_working_day(const struct sla_calendar *cal, sla_day day)
{
	if (day >= cal->lo && day <= cal->hi)
		return cal->cum[day - cal->lo + 1] != cal->cum[day - cal->lo];
	return sla_weekday(day) < 5;
}

sla_day
sla_nth_working_day(const struct sla_calendar *cal, sla_day day, int64_t n)
{
	return clamp_day(nth_working(cal, count_before(cal, (int64_t)day + 1) + n - 1));
}

sla_day
sla_add_working_days(const struct sla_calendar *cal, sla_day day, int n)
{
	if (n <= 0)
		return day;
	return sla_nth_working_day(cal, day, n);
}

int
sla_working_days_between(const struct sla_calendar *cal, sla_day a, sla_day b)
{
	return (int)(count_before(cal, (int64_t)b + 1) - count_before(cal, (int64_t)a + 1));
}

sla_day
sla_next_working_day(const struct sla_calendar *cal, sla_day day)
{
	return clamp_day(nth_working(cal, count_before(cal, day)));
}

/* Index of the first override with a day > d. */
static size_t
first_after(const struct sla_calendar *cal, int64_t d)
{
	size_t lo = 0, hi = cal->nov;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->ov[mid].day <= d)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t
sla_explain(const struct sla_calendar *cal, sla_day from, sla_day to, struct sla_override *out,
            size_t max)
{
	size_t i, begin = first_after(cal, from), end = first_after(cal, to);

	if (end <= begin)
		return 0;
	for (i = 0; i < end - begin && i < max; i++)
		out[i] = cal->ov[begin + i];
	return end - begin;
}
