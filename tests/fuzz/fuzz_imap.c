/*
 * fuzz_imap.c: libFuzzer target for the IMAP response reader of the poller (imapc.c: lines,
 * literals {N} taken as N bytes, tagged answers, answers of commands sent ahead; imap.c: its
 * readers of SELECT, SEARCH and FETCH answers). The input after its first byte is what the
 * server says, handed to the reader in pieces of the size the first byte chooses; the poller's
 * conversation runs over it (imap_exercise) with a small literal cap, and what it fetched must
 * hold within that cap. Build: make fuzz; run: build/fuzz/fuzz_imap -close_fd_mask=2
 * tests/fuzz/corpus-imap/ (the reader logs each broken answer on stderr).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/mailin/mailin_int.h"

#define LIT_MAX 4096 /* bytes of a literal kept: longer ones are read and cut */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct server {
	const uint8_t *p;
	size_t left, piece;
};

static int
fz_recv(void *cls, char *buf, size_t cap, size_t *got)
{
	struct server *s = cls;
	size_t n = s->piece < s->left ? s->piece : s->left;

	if (n == 0)
		return -1; /* the server closed the connection */
	if (n > cap)
		n = cap;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	*got = n;
	return 0;
}

static int
fz_send(void *cls, const char *buf, size_t len)
{
	(void)cls;
	/* a tag, a command, CRLF: nothing of the server's bytes is ever echoed */
	if (len < 5 || buf[0] != 'c' || memcmp(buf + len - 2, "\r\n", 2) != 0 ||
	    memchr(buf, '\n', len - 1) != NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server s;
	struct imapc_io io;
	struct imapc *c;
	size_t fetched = 0, bytes = 0;

	if (size < 1)
		return 0;
	s.piece = (size_t)data[0] * 61 + 1; /* 1 byte to 15 KB at a time */
	s.p = data + 1;
	s.left = size - 1;
	io.recv = fz_recv;
	io.send = fz_send;
	io.cls = &s;
	if (imapc_new(&io, "fuzz", LIT_MAX, &c) != 0)
		return 0;
	if (imap_exercise(c, &fetched, &bytes) == 0 && (fetched > 64 || bytes > fetched * LIT_MAX))
		abort();
	imapc_free(c);
	return 0;
}
