/*
 * bench_sla.c: speed of the working-day arithmetic (issue 2). Measures add_working_days on one
 * core over random dates of the covered range, the same against a naive day-by-day loop for
 * n = 5 and n = 15, and loading the built-in calendar (3 years) with its index. Prints the
 * figures and PASS/FAIL against the targets; exits 1 on a FAIL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sla/sla.h"

#define SAMPLES (1 << 16) /* random (date, n) pairs, cycled */
#define CALLS 50000000L   /* indexed calls timed */
#define NAIVE_CALLS 5000000L
#define LOADS 2000

#define TARGET_CALLS_PER_S 20e6
#define TARGET_RATIO 10.0
#define TARGET_LOAD_US 1000.0

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* What the index replaces: walk forward one day at a time. */
static sla_day
naive_add(const struct sla_calendar *cal, sla_day day, int n)
{
	while (n > 0) {
		day++;
		if (sla_is_working_day(cal, day))
			n--;
	}
	return day;
}

static volatile int64_t sink;

/* ns per call of add_working_days (indexed or naive) over the samples, n fixed or from ns[]. */
static double
time_add(const struct sla_calendar *cal, const sla_day *days, const int *ns, int fixed_n, int naive,
         long calls)
{
	int64_t sum = 0;
	double t0 = now_s(), t1;
	long i;

	for (i = 0; i < calls; i++) {
		size_t k = (size_t)i & (SAMPLES - 1);
		int n = fixed_n >= 0 ? fixed_n : ns[k];

		sum += naive ? naive_add(cal, days[k], n) : sla_add_working_days(cal, days[k], n);
	}
	t1 = now_s();
	sink += sum;
	return (t1 - t0) * 1e9 / (double)calls;
}

static const char *
verdict(int ok, int *failed)
{
	if (!ok)
		*failed = 1;
	return ok ? "PASS" : "FAIL";
}

int
main(void)
{
	static sla_day days[SAMPLES];
	static int ns[SAMPLES];
	struct sla_calendar *cal = NULL;
	double ns_call, naive5, fast5, naive15, fast15, t0, load_us, best_us = 1e9;
	sla_day first, last;
	uint32_t seed = 2463534242u;
	char err[256];
	int failed = 0, i;

	if (sla_set_zone("Asia/Shanghai") != 0 ||
	    sla_calendar_builtin(&cal, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_sla: cannot load the built-in calendar: %s\n", err);
		return 1;
	}
	sla_calendar_range(cal, &first, &last);
	for (i = 0; i < SAMPLES; i++) {
		days[i] = first + (sla_day)(next_rand(&seed) % (uint32_t)(last - first + 1));
		ns[i] = (int)(next_rand(&seed) % 21);
	}

	time_add(cal, days, ns, -1, 0, CALLS / 10); /* warm up */
	ns_call = time_add(cal, days, ns, -1, 0, CALLS);
	printf("sla add_working_days (random dates 2024-2026, n in 0..20): %.2f ns/call, %.1f M "
	       "calls/s on one core (target >= %.0f M): %s\n",
	       ns_call, 1e3 / ns_call, TARGET_CALLS_PER_S / 1e6,
	       verdict(1e9 / ns_call >= TARGET_CALLS_PER_S, &failed));

	fast5 = time_add(cal, days, ns, 5, 0, CALLS);
	naive5 = time_add(cal, days, ns, 5, 1, NAIVE_CALLS);
	fast15 = time_add(cal, days, ns, 15, 0, CALLS);
	naive15 = time_add(cal, days, ns, 15, 1, NAIVE_CALLS);
	printf("sla n=5:  indexed %.2f ns, naive day loop %.2f ns: %.1fx\n", fast5, naive5,
	       naive5 / fast5);
	printf("sla n=15: indexed %.2f ns, naive day loop %.2f ns: %.1fx (target >= %.0fx): %s\n",
	       fast15, naive15, naive15 / fast15, TARGET_RATIO,
	       verdict(naive15 / fast15 >= TARGET_RATIO, &failed));
	sla_calendar_unref(cal);

	t0 = now_s();
	for (i = 0; i < LOADS; i++) {
		double t = now_s();

		cal = NULL;
		if (sla_calendar_builtin(&cal, err, sizeof(err)) != 0)
			return 1;
		sla_calendar_unref(cal);
		t = (now_s() - t) * 1e6;
		if (t < best_us)
			best_us = t;
	}
	load_us = (now_s() - t0) * 1e6 / LOADS;
	printf("sla calendar load + index, built-in 2024-2026: %.1f us mean, %.1f us best "
	       "(target < %.0f us): %s\n",
	       load_us, best_us, TARGET_LOAD_US, verdict(load_us < TARGET_LOAD_US, &failed));
	return failed;
}
