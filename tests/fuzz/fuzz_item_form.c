/*
 * fuzz_item_form.c: libFuzzer target for a new item sent as a form (urlencoded or multipart, as
 * the HTTP layer hands over its fields): item_input_form and core_submit_check. The input is a
 * list of fields separated by the byte 0x1E, each "name 0x1F filename 0x1F content-type 0x1F
 * data" (a filename makes it a file; an empty filename field makes it a plain field).
 * Build: make fuzz; run: build/fuzz/fuzz_item_form tests/fuzz/corpus-item-form/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/api/api_int.h"

#define FIELDS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next part of [*p, end) up to sep (or end); *p moves past it. A new string. */
static char *
part(const char **p, const char *end, char sep, size_t *len)
{
	const char *q = memchr(*p, sep, (size_t)(end - *p));
	size_t n = q ? (size_t)(q - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, *p, n);
		s[n] = '\0';
	}
	*len = n;
	*p = q ? q + 1 : end;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form_field fields[FIELDS_MAX];
	struct req req;
	struct resp resp;
	struct item_input ir;
	struct core_error err;
	const char *p = (const char *)data, *end = p + size;
	size_t n = 0, i, len;

	memset(fields, 0, sizeof(fields));
	while (p < end && n < FIELDS_MAX) {
		const char *rec_end = memchr(p, 0x1E, (size_t)(end - p));
		const char *r = p, *re = rec_end ? rec_end : end;
		struct form_field *f = &fields[n++];

		f->name = part(&r, re, 0x1F, &len);
		f->filename = part(&r, re, 0x1F, &len);
		f->content_type = part(&r, re, 0x1F, &len);
		f->data = part(&r, re, 0x1E, &f->size);
		if (f->filename != NULL && f->filename[0] == '\0' && f->content_type != NULL &&
		    f->content_type[0] == '\0') {
			free(f->filename);
			free(f->content_type);
			f->filename = f->content_type = NULL;
		}
		p = rec_end ? rec_end + 1 : end;
	}
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&ir, 0, sizeof(ir));
	req.form = fields;
	req.nform = n;
	req.is_form = 1;
	ir.in.channel = CHANNEL_WEB;
	ir.in.received = 1750000000;
	if (item_input_form(&req, &resp, &ir) == 0 && core_submit_check(&ir.in, &err) == 0) {
		for (i = 0; i < ir.in.natt; i++)
			if (strchr(ir.in.att[i].filename, '/') != NULL)
				abort(); /* a stored name never carries a path */
	}
	resp_free(&resp);
	for (i = 0; i < n; i++) {
		free(fields[i].name);
		free(fields[i].filename);
		free(fields[i].content_type);
		free(fields[i].data);
	}
	return 0;
}
