/* log.c: the daemon's log lines on stderr (journald adds the time stamps). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core_int.h"

/* The line "civicdesk: LEVELtext\n" into line (size at least LOG_FORMAT_SIZE), cut at 2 KiB:
 * its length, or 0. */
static size_t
vformat(char *line, size_t size, const char *level, const char *fmt, va_list ap)
{
	static const char prefix[] = "civicdesk: ";
	size_t lv = strlen(level), head = sizeof(prefix) - 1 + lv, len;
	int n;

	if (size < LOG_FORMAT_SIZE || head >= LOG_FORMAT_SIZE - 2)
		return 0;
	memcpy(line, prefix, sizeof(prefix) - 1);
	memcpy(line + sizeof(prefix) - 1, level, lv);
	n = vsnprintf(line + head, LOG_FORMAT_SIZE - head - 1, fmt, ap);
	if (n < 0)
		return 0;
	len = head + (size_t)n < LOG_FORMAT_SIZE - 2 ? head + (size_t)n : LOG_FORMAT_SIZE - 2;
	line[len++] = '\n';
	return len;
}

/* One line, formatted once and written whole by one call (stderr is unbuffered: fprintf
 * would format it a second time through a buffer of its own). */
static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char line[LOG_FORMAT_SIZE];
	size_t n = vformat(line, sizeof(line), level, fmt, ap);

	if (n > 0)
		fwrite(line, 1, n, stderr);
}

size_t
log_join(char *buf, size_t size, const char *const *parts, size_t nparts)
{
	static const char prefix[] = "civicdesk: ";
	size_t n = sizeof(prefix) - 1, i, k;

	if (size < LOG_FORMAT_SIZE)
		return 0;
	memcpy(buf, prefix, n);
	for (i = 0; i < nparts; i++) {
		k = strlen(parts[i]);
		if (k > LOG_FORMAT_SIZE - 2 - n) /* cut where vformat cuts */
			k = LOG_FORMAT_SIZE - 2 - n;
		memcpy(buf + n, parts[i], k);
		n += k;
	}
	buf[n++] = '\n';
	return n;
}

void
log_write(const char *lines, size_t len)
{
	if (len > 0)
		fwrite(lines, 1, len, stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}
