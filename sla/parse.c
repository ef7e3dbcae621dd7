/* parse.c: reads the text of calendar files into a new calendar, all or nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sla/sla_int.h"

#define NAME_MAX_BYTES 64 /* longest override name */
#define QUOTE_MAX 24      /* bytes of offending text quoted in a message */

struct rec { /* one override line */
	sla_day day;
	enum sla_kind kind;
	size_t name; /* offset of the name in the pool */
	size_t file; /* index of the file */
	int line;    /* line number, from 1 */
};

struct parser {
	const char *const *names; /* file names, for messages */
	struct rec *recs;         /* every override read so far, in reading order */
	size_t nrecs, caprecs;
	char *pool; /* names, each NUL-terminated */
	size_t poollen, poolcap;
	size_t *slots; /* hash of recs by day: index + 1, 0 when free */
	size_t nslots; /* power of two, at least twice nrecs */
	char *err;
	size_t errsize;
};

static const char *const weekdays[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};

/* Writes "name:line: reason" (or the reason alone when name is NULL) and returns -1. */
static int fail(struct parser *p, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(struct parser *p, const char *name, int line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->err == NULL || p->errsize == 0)
		return -1;
	if (name != NULL)
		n = snprintf(p->err, p->errsize, "%s:%d: ", name, line);
	if (n < 0 || (size_t)n >= p->errsize)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errsize - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static int
utf8_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Quotes about QUOTE_MAX bytes of s for a message into buf (4 * QUOTE_MAX + 8 bytes): valid
 * UTF-8 as is, other bytes as \xNN, "..." when cut. */
static const char *
quote(char *buf, const char *s, size_t len)
{
	size_t i = 0, o = 0, n;

	buf[o++] = '"';
	while (i < len && i < QUOTE_MAX) {
		unsigned char c = (unsigned char)s[i];

		n = utf8_seq((const unsigned char *)s + i, len - i);
		if (n == 1 && c >= 0x20 && c != 0x7f && c != '"' && c != '\\') {
			buf[o++] = (char)c;
		} else if (n > 1) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			o += (size_t)sprintf(buf + o, "\\x%02x", c);
			n = 1;
		}
		i += n;
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static size_t
hash_slot(const struct parser *p, sla_day day)
{
	return ((uint32_t)day * 2654435761u) & (p->nslots - 1);
}

/* The record of `day` read before, or NULL. */
static const struct rec *
find_day(const struct parser *p, sla_day day)
{
	size_t i;

	if (p->nslots == 0)
		return NULL;
	for (i = hash_slot(p, day); p->slots[i] != 0; i = (i + 1) & (p->nslots - 1))
		if (p->recs[p->slots[i] - 1].day == day)
			return &p->recs[p->slots[i] - 1];
	return NULL;
}

static void
hash_put(struct parser *p, size_t index)
{
	size_t i = hash_slot(p, p->recs[index].day);

	while (p->slots[i] != 0)
		i = (i + 1) & (p->nslots - 1);
	p->slots[i] = index + 1;
}

/* Appends a record and its name. Returns 0, or -1 when out of memory. */
static int
add_rec(struct parser *p, const struct rec *r, const char *name, size_t len)
{
	size_t i;

	if (p->nrecs == p->caprecs) {
		size_t cap = p->caprecs ? 2 * p->caprecs : 128;
		struct rec *recs = realloc(p->recs, cap * sizeof(*recs));

		if (recs == NULL)
			return -1;
		p->recs = recs;
		p->caprecs = cap;
	}
	if (p->poolcap - p->poollen < len + 1) {
		size_t cap = p->poolcap ? 2 * p->poolcap : 4096;
		char *pool;

		while (cap - p->poollen < len + 1)
			cap *= 2;
		pool = realloc(p->pool, cap);
		if (pool == NULL)
			return -1;
		p->pool = pool;
		p->poolcap = cap;
	}
	if (2 * (p->nrecs + 1) > p->nslots) {
		size_t n = p->nslots ? 2 * p->nslots : 256;
		size_t *slots = calloc(n, sizeof(*slots));

		if (slots == NULL)
			return -1;
		free(p->slots);
		p->slots = slots;
		p->nslots = n;
		for (i = 0; i < p->nrecs; i++)
			hash_put(p, i);
	}
	p->recs[p->nrecs] = *r;
	p->recs[p->nrecs].name = p->poollen;
	memcpy(p->pool + p->poollen, name, len);
	p->pool[p->poollen + len] = '\0';
	p->poollen += len + 1;
	hash_put(p, p->nrecs);
	p->nrecs++;
	return 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the token at s (up to a blank or the end, at most len). */
static size_t
token(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && !is_blank(s[n]))
		n++;
	return n;
}

static size_t
blanks(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && is_blank(s[n]))
		n++;
	return n;
}

/* Reads one line (without its newline) of file `file`. Returns 0 or -1 (err written). */
static int
parse_line(struct parser *p, size_t file, int line, const char *s, size_t len)
{
	const char *fname = p->names[file];
	char q[4 * QUOTE_MAX + 8], date[11]; /* each byte may become \xNN */
	const struct rec *prev;
	struct rec r;
	size_t i, n, name;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, fname, line, "control character 0x%02x", c);
	}
	i = blanks(s, len);
	if (i == len || s[i] == '#')
		return 0;

	n = token(s + i, len - i);
	if (sla_date_parse_n(s + i, n, &r.day) != 0)
		return fail(p, fname, line, "bad date %s", quote(q, s + i, n));
	i += n;
	i += blanks(s + i, len - i);

	n = token(s + i, len - i);
	if (n == 0 || s[i] == '#')
		return fail(p, fname, line, "missing \"off\" or \"work\" after the date");
	if (n == 3 && memcmp(s + i, "off", 3) == 0)
		r.kind = SLA_OFF;
	else if (n == 4 && memcmp(s + i, "work", 4) == 0)
		r.kind = SLA_WORK;
	else
		return fail(p, fname, line, "unknown word %s: expected \"off\" or \"work\"",
		            quote(q, s + i, n));
	i += n;
	i += blanks(s + i, len - i);

	n = token(s + i, len - i);
	if (n == 0 || s[i] == '#')
		return fail(p, fname, line, "missing name");
	if (!utf8_valid(s + i, n))
		return fail(p, fname, line, "name is not valid UTF-8");
	if (n > NAME_MAX_BYTES)
		return fail(p, fname, line, "name longer than %d bytes", NAME_MAX_BYTES);
	name = i;
	i += n;
	i += blanks(s + i, len - i);
	if (i < len && s[i] != '#')
		return fail(p, fname, line, "unexpected text after the name: %s",
		            quote(q, s + i, len - i));

	sla_date_format(r.day, date);
	if (r.kind == SLA_WORK && sla_weekday(r.day) < 5)
		return fail(p, fname, line, "%s is a %s: \"work\" is only for a Saturday or Sunday",
		            date, weekdays[sla_weekday(r.day)]);
	prev = find_day(p, r.day);
	if (prev != NULL)
		return fail(p, fname, line, "%s listed twice (first at %s:%d)", date,
		            p->names[prev->file], prev->line);
	r.file = file;
	r.line = line;
	r.name = 0;
	if (add_rec(p, &r, s + name, n) != 0)
		return fail(p, NULL, 0, "out of memory");
	return 0;
}

/* Reads one file. Its year is that of its last date; it may also reach back into the
 * December before (a New Year block). Writes the year to *year. */
static int
parse_file(struct parser *p, size_t file, const char *text, int *year)
{
	size_t first = p->nrecs, i;
	const char *s = text, *nl;
	int line = 1, y, m, d;
	sla_day earliest;

	if (strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	for (;; line++) {
		nl = strchr(s, '\n');
		if (parse_line(p, file, line, s, nl ? (size_t)(nl - s) : strlen(s)) != 0)
			return -1;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	if (p->nrecs == first)
		return fail(p, p->names[file], 1, "no dates in this file");
	*year = INT32_MIN;
	for (i = first; i < p->nrecs; i++) {
		sla_split(p->recs[i].day, &y, &m, &d);
		if (y > *year)
			*year = y;
	}
	earliest = sla_ymd(*year - 1, 12, 1);
	for (i = first; i < p->nrecs; i++) {
		if (p->recs[i].day < earliest) {
			char date[11];

			sla_date_format(p->recs[i].day, date);
			return fail(p, p->names[file], p->recs[i].line,
			            "%s is outside %d, the year of this file (only the December "
			            "before may precede it)",
			            date, *year);
		}
	}
	return 0;
}

static int
cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Years must follow each other without a gap: a missing year would pass for the base week. */
static int
check_years(struct parser *p, const int *years, size_t n, int *lo, int *hi)
{
	int *sorted = malloc(n * sizeof(*sorted));
	size_t i, f;
	int rc = -1;

	if (sorted == NULL)
		return fail(p, NULL, 0, "out of memory");
	memcpy(sorted, years, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_int);
	for (i = 1; i < n; i++) {
		if (sorted[i] <= sorted[i - 1] + 1)
			continue;
		for (f = 0; years[f] != sorted[i]; f++)
			;
		for (size_t r = 0; r < p->nrecs; r++) {
			if (p->recs[r].file == f) {
				fail(p, p->names[f], p->recs[r].line,
				     "no calendar for %d (between %d and %d)", sorted[i - 1] + 1,
				     sorted[i - 1], sorted[i]);
				break;
			}
		}
		goto out;
	}
	*lo = sorted[0];
	*hi = sorted[n - 1];
	rc = 0;
out:
	free(sorted);
	return rc;
}

/* Turns the records into a calendar. Takes the pool. */
static int
build(struct parser *p, int ylo, int yhi, struct sla_calendar **out)
{
	struct sla_calendar *cal = calloc(1, sizeof(*cal));
	size_t i;

	if (cal == NULL)
		return fail(p, NULL, 0, "out of memory");
	atomic_init(&cal->refs, 1);
	cal->first = sla_ymd(ylo, 1, 1);
	cal->last = sla_ymd(yhi, 12, 31);
	qsort(p->recs, p->nrecs, sizeof(*p->recs), cmp_rec);
	cal->ov = malloc(p->nrecs * sizeof(*cal->ov));
	if (cal->ov == NULL)
		goto oom;
	cal->names = p->pool;
	p->pool = NULL;
	cal->nov = p->nrecs;
	for (i = 0; i < p->nrecs; i++) {
		cal->ov[i].day = p->recs[i].day;
		cal->ov[i].kind = p->recs[i].kind;
		cal->ov[i].name = cal->names + p->recs[i].name;
	}
	if (sla_index_build(cal) != 0)
		goto oom;
	*out = cal;
	return 0;
oom:
	sla_calendar_unref(cal);
	return fail(p, NULL, 0, "out of memory");
}

int
sla_calendar_parse(const char *const *names, const char *const *texts, size_t n,
                   struct sla_calendar **out, char *err, size_t errsize)
{
	struct parser p;
	int *years = NULL, ylo = 0, yhi = 0, rc = -1;
	size_t f;

	memset(&p, 0, sizeof(p));
	p.names = names;
	p.err = err;
	p.errsize = errsize;
	if (n == 0) {
		fail(&p, NULL, 0, "no calendar files");
		goto out;
	}
	years = malloc(n * sizeof(*years));
	if (years == NULL) {
		fail(&p, NULL, 0, "out of memory");
		goto out;
	}
	for (f = 0; f < n; f++)
		if (parse_file(&p, f, texts[f], &years[f]) != 0)
			goto out;
	if (check_years(&p, years, n, &ylo, &yhi) != 0)
		goto out;
	rc = build(&p, ylo, yhi, out);
out:
	free(years);
	free(p.recs);
	free(p.pool);
	free(p.slots);
	return rc;
}
