/*
 * check.h: the unit-test harness. Each test is a function taking a struct t; CHECK records a
 * failure with file and line and goes on. main() runs tests with RUN() and returns t_done(),
 * which prints one TAP line per test ("ok N - name" / "not ok N - name"); tests/run counts them.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

struct t {
	int number;   /* tests run so far */
	int failed;   /* tests that failed */
	int failures; /* failed checks in the current test */
};

#define CHECK(t, cond)                                                                     \
	do {                                                                               \
		if (!(cond)) {                                                             \
			(t)->failures++;                                                   \
			fprintf(stdout, "# %s:%d: check failed: %s\n", __FILE__, __LINE__, \
			        #cond);                                                    \
		}                                                                          \
	} while (0)

#define CHECK_INT(t, got, want)                                                               \
	do {                                                                                  \
		long long got_ = (long long)(got), want_ = (long long)(want);                 \
		if (got_ != want_) {                                                          \
			(t)->failures++;                                                      \
			fprintf(stdout, "# %s:%d: %s is %lld, expected %lld\n", __FILE__,     \
			        __LINE__, #got, got_, want_);                                 \
		}                                                                             \
	} while (0)

#define CHECK_STR(t, got, want)                                                               \
	do {                                                                                  \
		const char *got_ = (got), *want_ = (want);                                    \
		if (got_ == NULL || want_ == NULL ? got_ != want_ : strcmp(got_, want_) != 0) { \
			(t)->failures++;                                                      \
			fprintf(stdout, "# %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
			        __LINE__, #got, got_ ? got_ : "(null)",                       \
			        want_ ? want_ : "(null)");                                    \
		}                                                                             \
	} while (0)

#define RUN(t, fn)                                                                        \
	do {                                                                              \
		(t)->failures = 0;                                                        \
		fn(t);                                                                    \
		(t)->number++;                                                            \
		if ((t)->failures) {                                                      \
			(t)->failed++;                                                    \
			printf("not ok %d - %s\n", (t)->number, #fn);                     \
		} else {                                                                  \
			printf("ok %d - %s\n", (t)->number, #fn);                         \
		}                                                                         \
		fflush(stdout);                                                           \
	} while (0)

static inline int
t_done(struct t *t)
{
	printf("1..%d\n", t->number);
	return t->failed ? 1 : 0;
}

#endif
