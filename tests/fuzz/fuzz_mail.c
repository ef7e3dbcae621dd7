/*
 * fuzz_mail.c: libFuzzer target for the mail-in parser (mail_parse: GMime, charset labels,
 * encoded words, HTML to text, noise rules, bounces, attachments under limits). Each input is parsed
 * under small limits (so that the cutting paths run) and the invariants of a struct mail_msg
 * are checked: UTF-8 subject and body without control characters, never empty, within limits.
 * Build: make fuzz; run: build/fuzz/fuzz_mail tests/fuzz/corpus-mail/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "service/mailin/mailin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, int multiline)
{
	const unsigned char *p;

	if (s == NULL || !g_utf8_validate(s, -1, NULL))
		abort();
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_config cfg;
	struct mail_msg m;
	char err[256];
	size_t i;

	mail_config_default(&cfg);
	cfg.limits.max_attachments = 3;
	cfg.limits.attachment_max = 4096;
	cfg.limits.subject_max = 50;
	cfg.limits.body_max = 500;
	if (mail_parse(&cfg, (const char *)data, size, &m, err, sizeof(err)) != MAIL_OK)
		return 0;
	if (m.ignored == NULL) {
		check_text(m.subject, 0);
		check_text(m.body, 1);
		if (m.subject[0] == '\0' || m.body[0] == '\0' || m.kind == NULL ||
		    g_utf8_strlen(m.subject, -1) > 50)
			abort();
	}
	if (m.natt > 3)
		abort();
	for (i = 0; i < m.natt; i++) {
		check_text(m.att[i].filename, 0);
		if (m.att[i].filename[0] == '\0' || strchr(m.att[i].filename, '/') != NULL ||
		    m.att[i].size > 4096 || strlen(m.att[i].filename) > cfg.limits.filename_max)
			abort();
	}
	/* a bounce: its reason is text within its cap, its ids within theirs */
	if (m.bounce) {
		if (m.ignored == NULL || m.bounce_reason == NULL || m.nbounce_ids > MAIL_BOUNCE_IDS ||
		    g_utf8_strlen(m.bounce_reason, -1) > 200)
			abort();
		check_text(m.bounce_reason, 0);
		for (i = 0; i < m.nbounce_ids; i++)
			if (m.bounce_ids[i] == NULL || m.bounce_ids[i][0] == '\0' ||
			    strlen(m.bounce_ids[i]) > 255)
				abort();
	} else if (m.nbounce_ids != 0 || m.bounce_reason != NULL) {
		abort();
	}
	mail_msg_free(&m);
	return 0;
}
