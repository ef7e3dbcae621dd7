/*
 * fuzz_calendar.c: libFuzzer target for the calendar parser (sla_calendar_parse). The input is
 * split into up to four files at form feeds (a byte the parser itself rejects). When a calendar
 * parses, a few invariants of the index are checked: counting up to add_working_days(d, n)
 * gives n back, and add lands on a working day.
 * Build: make fuzz; run: build/fuzz/fuzz_calendar tests/fuzz/corpus-calendar/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sla/sla.h"

#define FILES_MAX 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_index(const struct sla_calendar *cal)
{
	sla_day first, last, d;
	int n;

	sla_calendar_range(cal, &first, &last);
	if (first > last || !sla_calendar_covers(cal, first, last))
		abort();
	for (d = first - 40; d <= last + 40; d += 17) {
		for (n = 0; n <= 12; n += 3) {
			sla_day due = sla_add_working_days(cal, d, n);

			if (sla_working_days_between(cal, d, due) != n)
				abort();
			if (n > 0 && (!sla_is_working_day(cal, due) || due <= d))
				abort();
		}
		if (!sla_is_working_day(cal, sla_next_working_day(cal, d)))
			abort();
	}
	sla_explain(cal, first - 1, last, NULL, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[FILES_MAX] = {"a.txt", "b.txt", "c.txt", "d.txt"};
	char *texts[FILES_MAX] = {NULL};
	struct sla_calendar *cal = NULL;
	size_t n = 0, start = 0, i;
	char err[256];

	for (i = 0; i <= size && n < FILES_MAX; i++) {
		if (i < size && data[i] != '\f')
			continue;
		texts[n] = malloc(i - start + 1);
		if (texts[n] == NULL)
			goto out;
		memcpy(texts[n], data + start, i - start);
		texts[n][i - start] = '\0';
		n++;
		start = i + 1;
	}
	if (sla_calendar_parse(names, (const char *const *)texts, n, &cal, err, sizeof(err)) == 0) {
		check_index(cal);
		sla_calendar_unref(cal);
	} else if (memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
out:
	for (i = 0; i < n; i++)
		free(texts[i]);
	return 0;
}
