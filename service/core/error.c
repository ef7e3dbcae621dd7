/* error.c: the errors of the core, their names, and the one-line way to fill them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_int.h"

static const char *const names[CORE_ERR__MAX] = {
    [CORE_OK] = "ok",
    [CORE_INVALID] = "invalid",
    [CORE_TOO_LARGE] = "too_large",
    [CORE_FORBIDDEN] = "forbidden",
    [CORE_NOT_FOUND] = "not_found",
    [CORE_CONFLICT] = "illegal_transition",
    [CORE_BUSY] = "unavailable",
    [CORE_ERROR] = "internal",
};

const char *
core_strerror(enum core_err e)
{
	return (unsigned)e < CORE_ERR__MAX ? names[e] : "unknown";
}

int
core_fail(struct core_error *err, enum core_err code, const char *field, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->code_name = NULL;
	err->field = field;
	err->state = -1;
	err->allowed = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
core_set_str(char **field, const char *s)
{
	char *copy = NULL;

	if (s != NULL) {
		copy = strdup(s);
		if (copy == NULL)
			return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}
