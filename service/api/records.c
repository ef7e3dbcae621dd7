/*
 * records.c: the answers of Open311's list, the board and the staff queue assembled from records
 * that jansson encoded (issue 20), and a bounded cache of those encoded records, one per I/O
 * thread (kept with the thread's read connection). Each record is kept with the database row it
 * was built from, every column's type and bytes (and, for the queue, the values it computes from
 * the time): it is served again only when what this answer read is byte for byte the same, so a
 * change committed to an item, its consent, publication, public version, state, clocks or its
 * section's name is never answered from an older record. The cache saves building, encoding
 * and freeing the record (jansson walks every character), not the read.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define SLOT_BYTES 512        /* one slot per this many bytes of the budget */
#define RECORD_MAX (64 << 10) /* a row and its record larger than this are not kept */
#define SCRATCH_KEEP 4096 /* a row buffer kept from one answer to the next: at most this */
#define JOUT_FIRST 32768 /* a default page of any list (17-34 KiB) without a realloc */
#define JOUT_MAX (64L << 20) /* an answer larger than this is an error */

struct entry {
	int64_t id;
	int kind;           /* enum rcache_kind; -1: empty */
	unsigned char *row; /* what it was built from (rowlen bytes: the row, and for the
	                     * queue the values computed from the time), then the record
	                     * (textlen bytes) */
	size_t rowlen, textlen;
};

struct rcache {
	struct entry *slots;
	size_t nslots; /* 2^bits */
	unsigned bits;
	size_t bytes; /* of every entry's row and record */
	size_t budget;
	size_t hand; /* the next slot emptied when the budget is spent */
	struct db_row *scratch; /* rows lent to one answer at a time (rcache_rows) */
	size_t nscratch;
};

void
rcache_free(void *p)
{
	struct rcache *rc = p;
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nslots; i++)
		free(rc->slots[i].row);
	for (i = 0; i < rc->nscratch; i++)
		db_row_free(&rc->scratch[i]);
	free(rc->scratch);
	free(rc->slots);
	free(rc);
}

struct rcache *
rcache_new(size_t budget)
{
	struct rcache *rc = calloc(1, sizeof(*rc));
	size_t n = 64, i;
	unsigned bits = 6;

	if (rc == NULL)
		return NULL;
	while (n < budget / SLOT_BYTES && bits < 24) {
		n *= 2;
		bits++;
	}
	rc->slots = calloc(n, sizeof(*rc->slots));
	if (rc->slots == NULL) {
		free(rc);
		return NULL;
	}
	for (i = 0; i < n; i++)
		rc->slots[i].kind = -1;
	rc->nslots = n;
	rc->bits = bits;
	rc->budget = budget;
	return rc;
}

struct rcache *
rcache_of(struct req *req)
{
	struct rcache *rc;

	/* only the I/O threads' own connections: the pool's are shared by the workers */
	if (!req->io_thread || req->app->cfg.read_cache <= 0 || req->db == NULL)
		return NULL;
	rc = db_conn_user(req->db);
	if (rc != NULL)
		return rc;
	rc = rcache_new((size_t)req->app->cfg.read_cache * 1024);
	if (rc == NULL || db_conn_set_user(req->db, rc, rcache_free) != 0) {
		rcache_free(rc);
		return NULL;
	}
	return rc;
}

/* Fibonacci hashing of (id, kind): the top bits of the product, so that an item's records of
 * different kinds (Open311's, the board's) land in different slots. */
static struct entry *
slot_of(struct rcache *rc, enum rcache_kind kind, int64_t id)
{
	uint64_t h = ((uint64_t)id * RCACHE__MAX + (uint64_t)kind) * 0x9e3779b97f4a7c15ULL;

	return &rc->slots[h >> (64 - rc->bits)];
}

int
rcache_find(struct rcache *rc, enum rcache_kind kind, int64_t id, const void *src, size_t srclen,
            const char **text, size_t *len)
{
	struct entry *e;

	if (rc == NULL)
		return 0;
	e = slot_of(rc, kind, id);
	if (e->kind != (int)kind || e->id != id || e->rowlen != srclen ||
	    memcmp(e->row, src, srclen) != 0)
		return 0;
	*text = (const char *)e->row + e->rowlen;
	*len = e->textlen;
	return 1;
}

static void
entry_clear(struct rcache *rc, struct entry *e)
{
	if (e->row == NULL)
		return;
	rc->bytes -= e->rowlen + e->textlen;
	free(e->row);
	e->row = NULL;
	e->kind = -1;
}

struct db_row *
rcache_rows(struct rcache *rc, size_t n)
{
	struct db_row *v;
	size_t i;

	if (rc == NULL)
		return NULL;
	/* a buffer grown by an unusually large row is not kept for the next answer */
	for (i = 0; i < rc->nscratch; i++)
		if (rc->scratch[i].cap > SCRATCH_KEEP)
			db_row_free(&rc->scratch[i]);
	if (n <= rc->nscratch)
		return rc->scratch;
	v = realloc(rc->scratch, n * sizeof(*v));
	if (v == NULL)
		return NULL;
	memset(v + rc->nscratch, 0, (n - rc->nscratch) * sizeof(*v));
	rc->scratch = v;
	rc->nscratch = n;
	return v;
}

size_t
rcache_bytes(const struct rcache *rc)
{
	return rc != NULL ? rc->bytes : 0;
}

void
rcache_keep(struct rcache *rc, enum rcache_kind kind, int64_t id, const void *src, size_t srclen,
            const char *text, size_t len)
{
	struct entry *e;
	size_t size = srclen + len;

	if (rc == NULL)
		return;
	e = slot_of(rc, kind, id);
	/* the slot's record is another item's, or this item's built from an older row: gone */
	entry_clear(rc, e);
	if (size > RECORD_MAX || size > rc->budget)
		return;
	/* the budget spent: empty slots in turn (records of items no longer read, or read from
	 * other rows, would otherwise keep it spent for good) */
	while (rc->bytes + size > rc->budget) {
		entry_clear(rc, &rc->slots[rc->hand]);
		rc->hand = (rc->hand + 1) & (rc->nslots - 1);
	}
	e->row = malloc(size > 0 ? size : 1);
	if (e->row == NULL)
		return;
	memcpy(e->row, src, srclen);
	memcpy(e->row + srclen, text, len);
	e->rowlen = srclen;
	e->textlen = len;
	e->id = id;
	e->kind = (int)kind;
	rc->bytes += size;
}

/* --- answers assembled from encoded records -------------------------------------------- */

static int
jout_room(struct jout *o, size_t n)
{
	size_t cap = o->cap ? o->cap : JOUT_FIRST;
	char *p;

	if (o->len + n < o->cap)
		return 0;
	if (o->len + n + 1 > (size_t)JOUT_MAX)
		return -1;
	while (cap < o->len + n + 1)
		cap *= 2;
	p = realloc(o->p, cap);
	if (p == NULL)
		return -1;
	o->p = p;
	o->cap = cap;
	return 0;
}

void
jout_raw(struct jout *o, const char *s, size_t n)
{
	if (o->failed || jout_room(o, n) != 0) {
		o->failed = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static int
jout_append(const char *s, size_t n, void *data)
{
	struct jout *o = data;

	/* called for every token jansson writes (a page: some 8,000), most of a few bytes */
	if (o->len + n < o->cap) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
		return 0;
	}
	if (jout_room(o, n) != 0)
		return -1;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

int
jout_dump(struct jout *o, json_t *j)
{
	size_t start = o->len;

	/* the flags of resp_json's dump, so that a record reads as it would in one tree (and any
	 * value, for a member such as next_cursor) */
	if (o->failed || j == NULL ||
	    json_dump_callback(j, jout_append, o, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
		o->failed = 1;
		o->len = start;
		return -1;
	}
	return 0;
}

void
jout_send(struct jout *o, struct resp *resp, int status)
{
	if (o->failed || o->p == NULL)
		resp_text(resp, 500, "text/plain; charset=utf-8", "internal error\n", 15);
	else
		resp_text(resp, status, "application/json; charset=utf-8", o->p, o->len);
	jout_free(o);
}

void
jout_free(struct jout *o)
{
	free(o->p);
	o->p = NULL;
	o->len = o->cap = 0;
}

/* --- one object reused for every record of an answer ------------------------------------- */

/* 1 when jansson's dump of the text s (len bytes) is s between quotes: printable ASCII, none
 * of the characters it escapes ('"', '\\'; not '/', which jout_dump's flags leave). */
static int
as_it_stands(const char *s, size_t len)
{
	size_t k;

	for (k = 0; k < len; k++)
		if ((unsigned char)(s[k] - 0x20) > 0x5e || s[k] == '"' || s[k] == '\\')
			return 0;
	return 1;
}

/* The constant v (a singleton, or a static text's json_string) of key: its entry, its encoding
 * made by jansson at its first use in r; NULL when r keeps no more (v is then dumped as any
 * other value) or out of memory. Takes no reference: a new entry holds its own. */
static const struct jrec_const *
const_of(struct jrec *r, const void *key, json_t *v)
{
	struct jrec_const *c;
	size_t k;

	for (k = 0; k < r->nconsts; k++)
		if (r->consts[k].key == key)
			return &r->consts[k];
	if (r->nconsts == sizeof(r->consts) / sizeof(r->consts[0]))
		return NULL;
	c = &r->consts[r->nconsts];
	c->enc = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); /* jout_dump's flags */
	if (c->enc == NULL)
		return NULL;
	c->len = strlen(c->enc);
	c->key = key;
	c->v = json_incref(v);
	r->nconsts++;
	return c;
}

int
jrec_init(struct jrec *r, const char *const *keys, size_t n)
{
	struct jout k = {NULL, 0, 0, 0};
	json_t *key;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->obj = json_object();
	r->iters = calloc(n ? n : 1, sizeof(*r->iters));
	r->own = calloc(n ? n : 1, sizeof(*r->own));
	r->pieces = calloc(n ? n : 1, sizeof(*r->pieces));
	r->koff = calloc(n + 1, sizeof(*r->koff));
	if (r->obj == NULL || r->iters == NULL || r->own == NULL || r->pieces == NULL ||
	    r->koff == NULL)
		goto fail;
	r->n = n;
	/* every member made now, in order: a record only replaces values, so the order stays
	 * and no member moves (the iterators stay valid) */
	for (i = 0; i < n; i++)
		if (json_object_set_new_nocheck(r->obj, keys[i], json_null()) != 0)
			goto fail;
	for (i = 0; i < n; i++) {
		r->iters[i] = json_object_iter_at(r->obj, keys[i]);
		if (r->iters[i] == NULL)
			goto fail;
		if (jrec_set(r, i, json_null()) != 0)
			goto fail;
	}
	/* each key as jansson's dump of the object writes it: the key's string (a literal of
	 * ours: as it stands between quotes when it may be, else jansson's dump), its ':'
	 * (compact), after the object's '{' or the member's ',' */
	for (i = 0; i < n; i++) {
		jout_raw(&k, i == 0 ? "{" : ",", 1);
		if (as_it_stands(keys[i], strlen(keys[i]))) {
			jout_raw(&k, "\"", 1);
			jout_raw(&k, keys[i], strlen(keys[i]));
			jout_raw(&k, "\":", 2);
		} else {
			key = json_string_nocheck(keys[i]);
			jout_dump(&k, key);
			json_decref(key);
			jout_raw(&k, ":", 1);
		}
		r->koff[i + 1] = k.len;
	}
	if (k.failed)
		goto fail;
	r->keys = k.p;
	return 0;
fail:
	jout_free(&k);
	jrec_free(r);
	return -1;
}

void
jrec_free(struct jrec *r)
{
	size_t i;

	if (r == NULL)
		return;
	json_decref(r->obj);
	for (i = 0; r->own != NULL && i < r->n; i++)
		json_decref(r->own[i]);
	for (i = 0; i < r->nconsts; i++) {
		json_decref(r->consts[i].v);
		free(r->consts[i].enc);
	}
	free(r->own);
	free(r->iters);
	free(r->pieces);
	free(r->keys);
	free(r->koff);
	memset(r, 0, sizeof(*r));
}

json_t *
jrec_take(struct jrec *r)
{
	json_t *o = json_incref(r->obj);

	/* the object keeps its own references to the values it shows */
	jrec_free(r);
	return o;
}

/* Member i shows v (a reference taken), written by jrec_dump as enc (len bytes; NULL: dumped
 * by jansson). */
static int
member_set(struct jrec *r, size_t i, json_t *v, const char *enc, size_t len)
{
	r->pieces[i].enc = enc;
	r->pieces[i].len = len;
	if (json_object_iter_value(r->iters[i]) == v) {
		json_decref(v); /* the object's reference stays */
		return 0;
	}
	return json_object_iter_set_new(r->obj, r->iters[i], v);
}

int
jrec_set(struct jrec *r, size_t i, json_t *v)
{
	const struct jrec_const *c = NULL;

	if (i >= r->n || v == NULL) {
		json_decref(v);
		return -1;
	}
	if (json_is_null(v) || json_is_boolean(v)) /* jansson's singletons */
		c = const_of(r, v, v);
	return member_set(r, i, v, c != NULL ? c->enc : NULL, c != NULL ? c->len : 0);
}

/* Member i's own value of type type (JSON_STRING, JSON_INTEGER): made at its first use. */
static json_t *
own_value(struct jrec *r, size_t i, json_type type)
{
	json_t *v = r->own[i];

	if (v != NULL && json_typeof(v) == type)
		return v;
	json_decref(v);
	v = type == JSON_STRING ? json_string_nocheck("") : json_integer(0);
	r->own[i] = v;
	return v;
}

/* Member i: the text s (len bytes) in its own string; checked as json_string checks it
 * (check), or not. */
static int
own_text(struct jrec *r, size_t i, const char *s, size_t len, int check)
{
	json_t *v;

	if (i >= r->n)
		return -1;
	if (s == NULL)
		return jrec_set(r, i, json_null());
	v = own_value(r, i, JSON_STRING);
	if (v == NULL ||
	    (check ? json_string_setn(v, s, len) : json_string_setn_nocheck(v, s, len)) != 0)
		return -1;
	return member_set(r, i, json_incref(v), NULL, 0);
}

/* Member i: the text of ours in piece i's txt + 1 (len bytes): written by jrec_dump as it
 * stands when it may be, else dumped by jansson (not checked, as json_string_nocheck). */
static int
our_text(struct jrec *r, size_t i, size_t len)
{
	struct jrec_piece *p = &r->pieces[i];

	if (!as_it_stands(p->txt + 1, len))
		return own_text(r, i, p->txt + 1, len, 0);
	/* the object is the record too (jrec_take) unless each record is dumped as it is set */
	if (!r->dumped && own_text(r, i, p->txt + 1, len, 0) != 0)
		return -1;
	p->txt[0] = '"';
	p->txt[len + 1] = '"';
	p->enc = p->txt;
	p->len = len + 2;
	return 0;
}

int
jrec_text(struct jrec *r, size_t i, const char *s)
{
	return own_text(r, i, s, s != NULL ? strlen(s) : 0, !r->dumped);
}

int
jrec_ascii(struct jrec *r, size_t i, const char *s)
{
	size_t len;

	if (i >= r->n || s == NULL)
		return own_text(r, i, s, 0, 0);
	len = strlen(s);
	if (len + 2 > sizeof(r->pieces[i].txt))
		return own_text(r, i, s, len, 0);
	memcpy(r->pieces[i].txt + 1, s, len);
	return our_text(r, i, len);
}

int
jrec_static(struct jrec *r, size_t i, const char *s)
{
	const struct jrec_const *c;
	json_t *v;
	size_t k;

	if (s == NULL)
		return jrec_set(r, i, json_null());
	for (k = 0; k < r->nconsts; k++)
		if (r->consts[k].key == s)
			return member_set(r, i, json_incref(r->consts[k].v), r->consts[k].enc,
			                  r->consts[k].len);
	v = json_string_nocheck(s);
	if (v == NULL)
		return -1;
	c = const_of(r, s, v);
	json_decref(v);
	if (c == NULL) /* more constants than kept: as any other text */
		return own_text(r, i, s, strlen(s), 0);
	return member_set(r, i, json_incref(c->v), c->enc, c->len);
}

int
jrec_time(struct jrec *r, size_t i, int64_t t)
{
	char *txt;

	if (i >= r->n || t == 0)
		return jrec_set(r, i, json_null());
	/* ASCII of ours, as in json_time (and as long: its buffer's 40 bytes) */
	txt = r->pieces[i].txt;
	sla_format_local(t, txt + 1, 40);
	return our_text(r, i, strlen(txt + 1));
}

int
jrec_int(struct jrec *r, size_t i, json_int_t v)
{
	struct jrec_piece *p;
	char digits[24];
	unsigned long long u;
	size_t n = 0;
	json_t *o;

	if (i >= r->n)
		return -1;
	/* the object is the record too (jrec_take) unless each record is dumped as it is set */
	if (!r->dumped) {
		o = own_value(r, i, JSON_INTEGER);
		if (o == NULL || json_integer_set(o, v) != 0 ||
		    member_set(r, i, json_incref(o), NULL, 0) != 0)
			return -1;
	}
	/* the digits jansson's dump writes ("%lld"), by hand: its snprintf was 700 instructions
	 * of the queue's 22,000 a record */
	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		digits[n++] = '-';
	p = &r->pieces[i];
	for (p->len = 0; n > 0; p->len++)
		p->txt[p->len] = digits[--n];
	p->enc = p->txt;
	return 0;
}

/* Appends n bytes (jout_raw, without its call while there is room). */
static inline void
put(struct jout *o, const char *s, size_t n)
{
	if (o->len + n < o->cap && !o->failed) {
		memcpy(o->p + o->len, s, n);
		o->len += n;
	} else
		jout_raw(o, s, n);
}

int
jrec_dump(struct jrec *r, struct jout *o)
{
	const struct jrec_piece *p;
	size_t start = o->len, i;

	if (o->failed || r->obj == NULL)
		return -1;
	if (r->n == 0)
		put(o, "{", 1);
	for (i = 0; i < r->n && !o->failed; i++) {
		p = &r->pieces[i];
		put(o, r->keys + r->koff[i], r->koff[i + 1] - r->koff[i]);
		if (p->enc != NULL)
			put(o, p->enc, p->len);
		else if (jout_dump(o, json_object_iter_value(r->iters[i])) != 0)
			break;
	}
	put(o, "}", 1);
	if (o->failed) {
		o->len = start;
		return -1;
	}
	return 0;
}
