/*
 * filename.c: an attachment's file name brought within a byte limit, the way every channel that
 * takes files by name does it (the web form, the JSON API's and Open311's uploads).
 */
#include <string.h>

#include "core_int.h"

/* An extension longer than this (with its dot) is no extension but part of the name. */
#define EXTENSION_MAX 32

char *
intake_filename_fit(char *name, size_t max)
{
	size_t n, ext = 0, cut;
	const char *dot;

	if (name == NULL || (n = strlen(name)) <= max || max == 0)
		return name;
	dot = strrchr(name, '.');
	if (dot != NULL && dot != name && n - (size_t)(dot - name) <= EXTENSION_MAX &&
	    n - (size_t)(dot - name) < max)
		ext = n - (size_t)(dot - name);
	cut = max - ext;
	/* back to the start of the character at cut: never half a UTF-8 sequence */
	while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
		cut--;
	memmove(name + cut, name + n - ext, ext + 1);
	return name;
}
