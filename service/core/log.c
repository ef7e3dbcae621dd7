/* log.c: the daemon's log lines on stderr (journald adds the time stamps). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core_int.h"

/* One line, formatted once and written whole by one call (stderr is unbuffered: fprintf
 * would format it a second time through a buffer of its own); cut at 2 KiB. */
static void
vlog(const char *level, const char *fmt, va_list ap)
{
	static const char prefix[] = "civicdesk: ";
	char line[2048 + 64];
	size_t lv = strlen(level);
	int head = (int)(sizeof(prefix) - 1 + lv), n;

	if ((size_t)head >= sizeof(line) - 2)
		return;
	memcpy(line, prefix, sizeof(prefix) - 1);
	memcpy(line + sizeof(prefix) - 1, level, lv);
	n = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
	if (n < 0)
		return;
	n = head + n < (int)sizeof(line) - 2 ? head + n : (int)sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
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
