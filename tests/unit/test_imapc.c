/*
 * test_imapc.c: the IMAP poller's conversation (imapc.c, imap.c's readers) over a scripted
 * server: the commands it sends, literals read as their byte counts say whatever they hold (a
 * line of a letter that looks like the tagged end, "* BYE" inside a letter), answers handed
 * over in pieces of any size, a literal cut at the cap, the answer of a STORE sent ahead read
 * with the next command's, a NO to it, and a server that goes away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/mailin/mailin_int.h"
#include "tests/check.h"

#define MSG1 "From: a@example.cn\r\nSubject: =?gbk?b?wLTQxQ==?=\r\n\r\nhello\r\n"
#define MSG2 "From: b@example.cn\r\n\r\nc4 OK a line that looks like the end\r\n* BYE inside\r\n"

/* What the server says to the poller's six commands (c1 … c6). */
static const char script[] =
    "* OK [CAPABILITY IMAP4rev1] ready\r\n"
    "* 3 EXISTS\r\n* OK [UIDVALIDITY 1795981638] UIDs valid\r\nc1 OK [READ-WRITE] done\r\n"
    "* SEARCH 3 1 2 1\r\nc2 OK done\r\n"
    "* 1 FETCH (UID 1 RFC822.SIZE 58)\r\n* 2 FETCH (UID 2 RFC822.SIZE 74)\r\n"
    "* 3 FETCH (UID 3 RFC822.SIZE 10)\r\nc3 OK done\r\n"
    "* 1 FETCH (UID 1 BODY[] {58}\r\n" MSG1 ")\r\n"
    "* 2 FETCH (BODY[] {74}\r\n" MSG2 " UID 2)\r\n"
    "* 3 FETCH (UID 3 BODY[] NIL)\r\n* 2 FETCH (FLAGS (\\Seen))\r\nc4 OK done\r\n"
    "%s\r\nc6 OK done\r\n";

struct server {
	char *in;    /* what it says */
	size_t left, piece;
	char sent[1024]; /* what it was sent */
	size_t nsent;
};

static int
s_recv(void *cls, char *buf, size_t cap, size_t *got)
{
	struct server *s = cls;
	size_t n = s->piece < s->left ? s->piece : s->left;

	if (n == 0)
		return -1;
	if (n > cap)
		n = cap;
	memcpy(buf, s->in, n);
	s->in += n;
	s->left -= n;
	*got = n;
	return 0;
}

static int
s_send(void *cls, const char *buf, size_t len)
{
	struct server *s = cls;

	if (s->nsent + len >= sizeof(s->sent))
		return -1;
	memcpy(s->sent + s->nsent, buf, len);
	s->nsent += len;
	s->sent[s->nsent] = '\0';
	return 0;
}

/* Runs the conversation over text (cut to cut bytes when cut > 0) in pieces of piece bytes. */
static int
run(const char *text, size_t cut, size_t piece, size_t lit_max, struct server *s, size_t *fetched,
    size_t *bytes)
{
	struct imapc_io io = {s_recv, s_send, s};
	struct imapc *c;
	char *copy = strdup(text);
	int rc;

	memset(s, 0, sizeof(*s));
	s->in = copy;
	s->left = cut > 0 ? cut : strlen(text);
	s->piece = piece;
	if (copy == NULL || imapc_new(&io, "test", lit_max, &c) != 0) {
		free(copy);
		return -2;
	}
	rc = imap_exercise(c, fetched, bytes);
	imapc_free(c);
	free(copy);
	return rc;
}

static void
test_conversation(struct t *t)
{
	static const size_t pieces[] = {1, 2, 7, 61, 4096, 1 << 20};
	char text[2048];
	struct server s;
	size_t i, fetched, bytes;

	CHECK_INT(t, strlen(MSG1), 58);
	CHECK_INT(t, strlen(MSG2), 74);
	snprintf(text, sizeof(text), script, "c5 OK done");
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		CHECK_INT(t, run(text, 0, pieces[i], 4096, &s, &fetched, &bytes), 0);
		CHECK_INT(t, fetched, 2);
		CHECK_INT(t, bytes, 58 + 74);
		/* the UIDs sorted and once each; the STORE sent before the NOOP that reads its
		 * answer; nothing but commands */
		CHECK_STR(t, s.sent,
		          "c1 SELECT \"INBOX\"\r\nc2 UID SEARCH UNSEEN\r\n"
		          "c3 UID FETCH 1:3 (UID RFC822.SIZE)\r\nc4 UID FETCH 1:3 (UID BODY.PEEK[])\r\n"
		          "c5 UID STORE 1:3 +FLAGS.SILENT (\\Seen)\r\nc6 NOOP\r\n");
	}
}

static void
test_literal_cut_at_cap(struct t *t)
{
	char text[2048];
	struct server s;
	size_t fetched, bytes;

	snprintf(text, sizeof(text), script, "c5 OK done");
	CHECK_INT(t, run(text, 0, 13, 16, &s, &fetched, &bytes), 0);
	CHECK_INT(t, fetched, 2);
	CHECK_INT(t, bytes, 16 + 16); /* read whole, kept up to the cap */
}

static void
test_store_refused_is_not_fatal(struct t *t)
{
	char text[2048];
	struct server s;
	size_t fetched, bytes;

	/* a NO to the STORE sent ahead is logged; the messages are marked at the next poll */
	snprintf(text, sizeof(text), script, "c5 NO [CANNOT] read-only");
	CHECK_INT(t, run(text, 0, 100, 4096, &s, &fetched, &bytes), 0);
	CHECK_INT(t, fetched, 2);
}

static void
test_server_goes_away(struct t *t)
{
	char text[2048];
	struct server s;
	size_t fetched, bytes, cut;

	snprintf(text, sizeof(text), script, "c5 OK done");
	/* cut in the middle of the second literal, then just before the FETCH's tagged answer */
	cut = (size_t)(strstr(text, "c4 OK a line") - text) + 5;
	CHECK_INT(t, run(text, cut, 50, 4096, &s, &fetched, &bytes), -1);
	cut = (size_t)(strstr(text, "c4 OK done") - text);
	CHECK_INT(t, run(text, cut, 50, 4096, &s, &fetched, &bytes), -1);
	/* BYE ends the command */
	CHECK_INT(t, run("* BYE going away\r\n", 0, 50, 4096, &s, &fetched, &bytes), -1);
	/* a SELECT refused (NO) goes on to the next command, which finds the server gone */
	CHECK_INT(t, run("c1 NO [NONEXISTENT] no such mailbox\r\n", 0, 50, 4096, &s, &fetched,
	                 &bytes),
	          -1);
}

int
main(void)
{
	struct t t = {0, 0, 0};

	RUN(&t, test_conversation);
	RUN(&t, test_literal_cut_at_cap);
	RUN(&t, test_store_refused_is_not_fatal);
	RUN(&t, test_server_goes_away);
	return t_done(&t);
}
