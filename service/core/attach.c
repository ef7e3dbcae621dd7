/*
 * attach.c: what an attachment is, decided by its content (magic bytes), never by its name or
 * the type the client claims: the type civicdesk stores and serves, and whether the bureau's
 * configuration (attachment_types) allows it. Executables, HTML and the EICAR test file are none
 * of the known types and are refused.
 */
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "core_int.h"

struct magic {
	const char *name;  /* as in attachment_types */
	const char *ctype; /* stored and served */
	size_t off;
	const char *bytes;
	size_t len;
};

static const struct magic magics[] = {
    {"pdf", "application/pdf", 0, "%PDF-", 5},
    {"png", "image/png", 0, "\x89PNG\r\n\x1a\n", 8},
    {"jpeg", "image/jpeg", 0, "\xff\xd8\xff", 3},
    {"gif", "image/gif", 0, "GIF87a", 6},
    {"gif", "image/gif", 0, "GIF89a", 6},
    {"webp", "image/webp", 8, "WEBP", 4},
    {"office", "application/vnd.openxmlformats-officedocument", 0, "PK\x03\x04", 4},
    {"doc", "application/msword", 0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8},
};

/* The main part of each kind of Office Open XML package (ECMA-376 part 2), by its name in the
 * ZIP's central directory, and the media type of a file of that kind. */
static const struct {
	const char *part;
	const char *ctype;
} ooxml_parts[] = {
    {"word/document.xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt/presentation.xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
};

#define ZIP_EOCD 22           /* bytes of the end-of-central-directory record */
#define ZIP_COMMENT_MAX 65535 /* bytes of the comment that may follow it */
#define ZIP_CENTRAL 46        /* bytes of a central directory entry before its name */

/* The little-endian number of n bytes at p. */
static size_t
le(const unsigned char *p, int n)
{
	size_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

/* The media type of d[0..n) if it is a ZIP whose central directory names the main part of an
 * Office Open XML document (a .docx, .xlsx or .pptx), else NULL (another ZIP, one that cannot
 * be read, a ZIP64 one). Reads within d only. */
static const char *
ooxml_type(const unsigned char *d, size_t n)
{
	size_t eocd, at, count, i, k, len;

	if (n < ZIP_EOCD)
		return NULL;
	for (eocd = n - ZIP_EOCD; memcmp(d + eocd, "PK\x05\x06", 4) != 0; eocd--)
		if (eocd == 0 || n - eocd >= ZIP_EOCD + ZIP_COMMENT_MAX)
			return NULL;
	count = le(d + eocd + 10, 2);
	at = le(d + eocd + 16, 4);
	for (i = 0; i < count; i++) {
		if (at > eocd || eocd - at < ZIP_CENTRAL || memcmp(d + at, "PK\x01\x02", 4) != 0)
			return NULL;
		len = le(d + at + 28, 2);
		if (eocd - at - ZIP_CENTRAL < len)
			return NULL;
		for (k = 0; k < sizeof(ooxml_parts) / sizeof(ooxml_parts[0]); k++)
			if (len == strlen(ooxml_parts[k].part) &&
			    memcmp(d + at + ZIP_CENTRAL, ooxml_parts[k].part, len) == 0)
				return ooxml_parts[k].ctype;
		at += ZIP_CENTRAL + len + le(d + at + 30, 2) + le(d + at + 32, 2);
	}
	return NULL;
}

/* The stream at the top of a Compound File (MS-CFB: Office 97-2003's .doc, .xls, .ppt) that
 * holds each kind of document, and the media type of a file of that kind; the first found in
 * this order wins. */
static const struct {
	const char *stream;
	const char *ctype;
} cfb_streams[] = {
    {"WordDocument", "application/msword"},
    {"PowerPoint Document", "application/vnd.ms-powerpoint"},
    {"Workbook", "application/vnd.ms-excel"},
    {"Book", "application/vnd.ms-excel"}, /* Excel 5.0 and 95 */
};

#define CFB_HEADER 512     /* bytes of the header (the first sector of a version 3 file) */
#define CFB_ENTRY 128      /* bytes of a directory entry */
#define CFB_DIFAT_HEAD 109 /* FAT sector numbers in the header */
#define CFB_DIR_MAX 64     /* directory sectors read (a document's top entries are in the first) */
#define CFB_WALK_MAX 256   /* siblings looked at under the root */
#define CFB_STREAM 2       /* an entry's object type: a stream */

/* The offset of sector sid in d[0..n) of sectors of 1 << shift bytes, or 0 if it lies outside
 * (the header is no sector) or sid names no sector (end of chain, free). */
static size_t
cfb_sector(size_t n, unsigned shift, size_t sid)
{
	size_t off;

	if (sid >= 0xfffffffa)
		return 0;
	off = (sid + 1) << shift;
	return off + ((size_t)1 << shift) <= n ? off : 0;
}

/* The sector after sid in its chain (the FAT's entry for sid, through the header's first FAT
 * sectors only), or a number cfb_sector takes for none. */
static size_t
cfb_next(const unsigned char *d, size_t n, unsigned shift, size_t sid)
{
	size_t per = ((size_t)1 << shift) / 4, fat;

	if (sid / per >= CFB_DIFAT_HEAD)
		return 0xffffffff;
	fat = cfb_sector(n, shift, le(d + 76 + 4 * (sid / per), 4));
	return fat != 0 ? le(d + fat + 4 * (sid % per), 4) : 0xffffffff;
}

/* 1 if the directory entry at e is a stream named name (ASCII, as UTF-16LE in the entry). */
static int
cfb_named(const unsigned char *e, const char *name)
{
	size_t len = strlen(name), i;

	if (e[66] != CFB_STREAM || le(e + 64, 2) != 2 * (len + 1))
		return 0;
	for (i = 0; i < len; i++)
		if (e[2 * i] != (unsigned char)name[i] || e[2 * i + 1] != 0)
			return 0;
	return 1;
}

/* The media type of d[0..n) if it is a Compound File whose root holds one of cfb_streams, else
 * NULL (another Compound File, such as an Outlook .msg, or one that cannot be read). Reads within
 * d only; a directory whose siblings loop ends after CFB_WALK_MAX of them. */
static const char *
cfb_type(const unsigned char *d, size_t n)
{
	size_t dir[CFB_DIR_MAX], todo[CFB_WALK_MAX], ndir = 0, ntodo = 0, per, sid, id, off, k;
	const unsigned char *e;
	unsigned shift;
	int found = -1, steps;

	if (n < CFB_HEADER)
		return NULL;
	shift = (unsigned)le(d + 30, 2);
	if (shift != 9 && shift != 12)
		return NULL;
	per = ((size_t)1 << shift) / CFB_ENTRY;
	for (sid = le(d + 48, 4); ndir < CFB_DIR_MAX; sid = cfb_next(d, n, shift, sid)) {
		off = cfb_sector(n, shift, sid);
		if (off == 0)
			break;
		dir[ndir++] = off;
	}
	if (ndir == 0)
		return NULL;
	/* the root (entry 0) and its children: the tree of their left and right siblings */
	todo[ntodo++] = le(d + dir[0] + 76, 4);
	for (steps = 0; ntodo > 0 && steps < CFB_WALK_MAX; steps++) {
		id = todo[--ntodo];
		if (id / per >= ndir)
			continue;
		e = d + dir[id / per] + (id % per) * CFB_ENTRY;
		for (k = 0; k < sizeof(cfb_streams) / sizeof(cfb_streams[0]); k++)
			if ((found < 0 || k < (size_t)found) && cfb_named(e, cfb_streams[k].stream))
				found = (int)k;
		if (ntodo + 2 <= CFB_WALK_MAX) {
			todo[ntodo++] = le(e + 68, 4);
			todo[ntodo++] = le(e + 72, 4);
		}
	}
	return found >= 0 ? cfb_streams[found].ctype : NULL;
}

/* 1 if data[0..n) holds needle (case-insensitive), else 0. */
static int
holds(const unsigned char *d, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	for (i = 0; i + m <= n; i++)
		if (strncasecmp((const char *)d + i, needle, m) == 0)
			return 1;
	return 0;
}

/* 1 if d[0..n) is text in GB18030 (which holds GBK and GB2312, what Chinese editors and mail
 * clients write plain text in): iconv reads it whole, and it has no control character but tab
 * and line ends (in GB18030 a byte below 0x20 or 0x7f is always that character). Else 0. */
static int
gb18030_text(const unsigned char *d, size_t n)
{
	iconv_t cd;
	char out[4096], *in = (char *)d, *o;
	size_t left = n, room, i;
	int ok = 1;

	for (i = 0; i < n; i++)
		if ((d[i] < 0x20 && d[i] != '\t' && d[i] != '\r' && d[i] != '\n') || d[i] == 0x7f)
			return 0;
	cd = iconv_open("UTF-8", "GB18030");
	if (cd == (iconv_t)-1)
		return 0;
	while (left > 0 && ok) {
		o = out;
		room = sizeof(out);
		if (iconv(cd, &in, &left, &o, &room) == (size_t)-1 && errno != E2BIG)
			ok = 0; /* EILSEQ: not GB18030; EINVAL: cut in the middle of a character */
	}
	iconv_close(cd);
	return ok;
}

/* 1 if d[0..n) is markup (it begins with '<', or holds <script or <html) or the EICAR test
 * string: refused whatever its charset. */
static int
markup(const unsigned char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'); i++)
		;
	return (i < n && d[i] == '<') || holds(d, n, "<script") || holds(d, n, "<html") ||
	       holds(d, n, "EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
}

const char *
attach_sniff(const void *data, size_t n, const char **name)
{
	const unsigned char *d = data;
	size_t i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].off + magics[i].len &&
		    memcmp(d + magics[i].off, magics[i].bytes, magics[i].len) == 0 &&
		    (strcmp(magics[i].name, "webp") != 0 || memcmp(d, "RIFF", 4) == 0)) {
			const char *kind = strcmp(magics[i].name, "office") == 0 ? ooxml_type(d, n)
			                   : strcmp(magics[i].name, "doc") == 0  ? cfb_type(d, n)
			                                                         : NULL;

			*name = magics[i].name;
			return kind != NULL ? kind : magics[i].ctype;
		}
	/* plain text, no NUL, not markup, not the EICAR test string: valid UTF-8, or else the
	 * GB18030 a Chinese text file is often in (kept as it came, served with its charset) */
	if (n == 0 || memchr(d, '\0', n) != NULL || markup(d, n))
		return NULL;
	if (text_check((const char *)d, n, TEXT_MULTILINE) >= 0) {
		*name = "txt";
		return "text/plain";
	}
	if (gb18030_text(d, n)) {
		*name = "txt";
		return "text/plain; charset=gb18030";
	}
	return NULL;
}

int
attach_allowed(const char *list, const char *name)
{
	size_t len, n = strlen(name);
	const char *p;

	if (list == NULL)
		return 0;
	for (p = list; *p != '\0'; p += len) {
		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
	}
	return 0;
}

/* Each short name of attachment_types as people know its files: the names shown in a hint and
 * the file-name endings a browser's file picker offers. */
static const struct {
	const char *name;
	const char *shown[3];
	const char *endings;
} kinds[] = {
    {"pdf", {"PDF"}, ".pdf"},
    {"png", {"PNG"}, ".png"},
    {"jpeg", {"JPG"}, ".jpg,.jpeg"},
    {"gif", {"GIF"}, ".gif"},
    {"webp", {"WebP"}, ".webp"},
    {"office", {"DOCX", "XLSX", "PPTX"}, ".docx,.xlsx,.pptx"},
    {"doc", {"DOC", "XLS", "PPT"}, ".doc,.xls,.ppt"},
    {"txt", {"TXT"}, ".txt"},
};

/* The start of the character that holds byte at of UTF-8 s (at itself when it begins one). */
static size_t
char_start(const char *s, size_t at)
{
	while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80)
		at--;
	return at;
}

size_t
attach_name_fit(char *name, size_t max)
{
	size_t len = strlen(name), ext = 0, stem;
	const char *dot = strrchr(name, '.');

	if (len <= max)
		return len;
	/* the extension: the last dot and up to 16 bytes without a blank (".pdf", ".docx",
	 * ".jpeg"), after a stem of its own, shorter than half the room */
	if (dot != NULL && dot != name && len - (size_t)(dot - name) <= 17 &&
	    len - (size_t)(dot - name) < max / 2 && strpbrk(dot, " \t") == NULL)
		ext = len - (size_t)(dot - name);
	/* the stem: cut where a character starts, without the blanks and dots left at its end */
	stem = char_start(name, max - ext);
	while (stem > 0 && (name[stem - 1] == ' ' || name[stem - 1] == '.'))
		stem--;
	if (stem == 0) { /* nothing but blanks and dots before the cut: cut the name itself */
		stem = char_start(name, max);
		ext = 0;
	}
	memmove(name + stem, name + len - ext, ext);
	name[stem + ext] = '\0';
	return stem + ext;
}

/* Appends sep (unless *n is 0) and s to buf (size), only whole: 0, or -1 when it would not fit. */
static int
kinds_put(char *buf, size_t size, size_t *n, const char *sep, const char *s)
{
	size_t need = (*n > 0 ? strlen(sep) : 0) + strlen(s);

	if (*n + need + 1 > size)
		return -1;
	*n += (size_t)snprintf(buf + *n, size - *n, "%s%s", *n > 0 ? sep : "", s);
	return 0;
}

void
attach_kinds(const char *list, const char *sep, char *buf, size_t size, char *accept,
             size_t accept_size)
{
	size_t i, j, n = 0, an = 0;
	int full = 0;

	if (size > 0)
		buf[0] = '\0';
	if (accept != NULL && accept_size > 0)
		accept[0] = '\0';
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!attach_allowed(list, kinds[i].name))
			continue;
		for (j = 0; j < 3 && kinds[i].shown[j] != NULL && !full; j++)
			full = kinds_put(buf, size, &n, sep, kinds[i].shown[j]) != 0;
		if (accept != NULL)
			(void)kinds_put(accept, accept_size, &an, ",", kinds[i].endings);
	}
}

int
attach_check(struct app *app, struct db_attachment *att, size_t natt, int64_t stored,
             struct core_error *err)
{
	const char *ctype, *name;
	int64_t total = stored;
	size_t i;

	if (natt > INTAKE_MAX_ATTACHMENTS)
		return core_fail(err, CORE_INVALID, "attachment", "at most %d attachments",
		                 INTAKE_MAX_ATTACHMENTS);
	for (i = 0; i < natt; i++) {
		struct db_attachment *a = &att[i];

		if (a->filename == NULL || a->filename[0] == '\0' ||
		    strlen(a->filename) > INTAKE_FILENAME_MAX ||
		    text_check(a->filename, strlen(a->filename), 0) < 0)
			return core_fail(err, CORE_INVALID, "attachment",
			                 "an attachment's file name is missing, too long or not UTF-8");
		if (a->size > app->cfg.attachment_max || a->size > INTAKE_ATTACHMENT_MAX)
			return core_fail(err, CORE_TOO_LARGE, "attachment",
			                 "attachment %s is larger than %ld bytes", a->filename,
			                 app->cfg.attachment_max < INTAKE_ATTACHMENT_MAX
			                     ? app->cfg.attachment_max
			                     : INTAKE_ATTACHMENT_MAX);
		total += a->size;
		ctype = attach_sniff(a->data, (size_t)a->size, &name);
		if (ctype == NULL || !attach_allowed(app->cfg.attachment_types, name))
			return core_fail(err, CORE_INVALID, "attachment",
			                 "attachment %s is not of an allowed type (%s)", a->filename,
			                 app->cfg.attachment_types);
		a->content_type = (char *)ctype;
	}
	if (total > app->cfg.attachment_item_max)
		return core_fail(err, CORE_TOO_LARGE, "attachment",
		                 "the attachments of the item are larger than %ld bytes together",
		                 app->cfg.attachment_item_max);
	return 0;
}
