/*
 * db.h: the storage module of civicdesk. Every SQL statement of the service lives behind these
 * functions, so that another backend (PostgreSQL) can slot in without touching the handlers.
 *
 * A struct db is the store: it applies the migrations at open and hands out connections from a
 * pool (one per concurrent worker). Functions taking a struct db_conn run on that connection;
 * the caller brackets writes with db_begin()/db_commit() (BEGIN IMMEDIATE), and reads of
 * several statements with db_begin_read()/db_end_read() (one snapshot), so that no reader ever
 * sees a half-written item. Look-ups return 1 found / 0 not found / -1 error. Strings in
 * the structs filled by look-ups are owned by the struct and freed by its *_free function.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct db_conn;

#define DB_NO_DUE INT64_MAX /* items.next_due when no clock runs */

/* --- the domain's names, as the store holds them (db_names.c) ---------------------------- */

/* Roles of staff accounts. */
enum role {
	ROLE_HANDLER,
	ROLE_SECTION_HEAD,
	ROLE_DISPATCHER,
	ROLE_SUPERVISOR,
	ROLE_ADMIN,
	ROLE__MAX
};
#define ROLE_BIT(r) (1u << (r))
#define ROLES_STAFF ((1u << ROLE__MAX) - 1)

enum kind { KIND_LETTER, KIND_COMPLAINT, KIND_CONSULTATION, KIND__MAX };
enum channel { CHANNEL_WEB, CHANNEL_EMAIL, CHANNEL_POST, CHANNEL_PHONE, CHANNEL__MAX };
enum clock_name { CLOCK_FORWARD, CLOCK_REPLY, CLOCK_EXPLAIN, CLOCK__MAX };
/* The language of an item's citizen (schema 031): LANG_NONE for an item stored before it was
 * recorded, whose notices are written in Chinese and English together. */
enum lang { LANG_NONE, LANG_ZH_HANS, LANG_ZH_HANT, LANG_EN, LANG__MAX };

/* The states of an item (DESIGN.md "Items and clocks"). Approval is a state of its own: a
 * section head's approval moves a reviewed draft in_review -> approved, and sending the reply
 * is a separate action approved -> replied, so that who approved and who sent (and when) are
 * two rows of the history, and an approved reply can wait for sending without a flag. */
enum wf_state {
	WF_NONE = -1, /* resume_state when the item is not paused */
	WF_RECEIVED,
	WF_ASSIGNED,
	WF_IN_PROGRESS,
	WF_WAITING_CITIZEN,
	WF_EXTENSION_REQUESTED,
	WF_DRAFTED,
	WF_IN_REVIEW,
	WF_RETURNED,
	WF_APPROVED,
	WF_REPLIED,
	WF_CLOSED,
	WF_FORWARDED,
	WF_REJECTED,
	WF_MERGED,
	WF_STATE__MAX
};
#define WF_BIT(s) (1u << (s))

/* Names as stored and as the API spells them ("?" for a value out of range); *_parse returns
 * the enum or -1 for NULL or an unknown name. */
const char *role_name(enum role r);
int role_parse(const char *s);
const char *kind_name(enum kind k);
int kind_parse(const char *s);
const char *channel_name(enum channel c);
int channel_parse(const char *s);
const char *wf_state_name(enum wf_state s);
int wf_state_parse(const char *s);
const char *clock_label(enum clock_name c);
int clock_parse(const char *s);
/* The tag of language l ("zh-Hans", "zh-Hant", "en"): NULL for LANG_NONE (stored as NULL) and
 * out of range. lang_parse takes exactly those tags, -1 for anything else (NULL included). */
const char *lang_name(enum lang l);
int lang_parse(const char *s);

/* --- store and connections (db.c) ------------------------------------------------------ */

/* Opens (creating if needed) the database at path, in WAL mode with foreign keys on, and applies
 * the built-in migrations in one transaction each. *created is set to 1 when the database was new
 * (no migration had been applied). A database from a newer civicdesk is refused. On error returns
 * -1 with a message in err. */
int db_open(const char *path, struct db **out, int *created, char *err, size_t errsize);
/* Closes every pooled connection and frees the store; NULL is fine. */
void db_close(struct db *db);
/* Schema version of the database (PRAGMA user_version) and the newest this binary knows. */
int db_schema_version(struct db *db);
int db_schema_latest(void);

/* Bounds the pool: at most max connections (0: no bound); db_acquire waits up to wait_ms for
 * one to come free before it gives up. Set once at start, before other threads use db. */
void db_pool_limit(struct db *db, int max, int wait_ms);
/* Lends a connection for the caller's exclusive use until db_release(); NULL on error or when
 * none came free in time (answer 503). */
struct db_conn *db_acquire(struct db *db);
void db_release(struct db *db, struct db_conn *c);
/* A connection of its own for one thread's short reads (outside the pool, with a page cache of
 * cache_kib KiB that stays warm: issue 20), freed by db_reader_free before db_close; NULL on
 * error (logged). A write on it waits at most 100 ms for another writer's lock (then fails as
 * busy). db_reader_reset before and after each request that borrows it: rolls back what was
 * left open and forgets a failure (db_unavailable), as db_acquire does. */
struct db_conn *db_reader_new(struct db *db, long cache_kib);
void db_reader_reset(struct db_conn *c);
void db_reader_free(struct db_conn *c);
/* State that the one thread using connection c keeps with it (a reader's cache of encoded
 * answers: issue 20): lent, NULL until set. db_conn_set_user sets it once (-1 if already set);
 * free_fn (may be NULL) releases it when c is closed. */
void *db_conn_user(struct db_conn *c);
int db_conn_set_user(struct db_conn *c, void *p, void (*free_fn)(void *));

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -1 (logged). */
int db_begin(struct db_conn *c);
int db_commit(struct db_conn *c);
void db_rollback(struct db_conn *c);
/* A read transaction: every statement until db_end_read sees the same committed snapshot (an
 * item, its clocks and its history as one). Nothing may be written inside it. 0 or -1. */
int db_begin_read(struct db_conn *c);
void db_end_read(struct db_conn *c);
/* 1 if a statement on c failed since db_acquire because the database is full, read-only,
 * locked or unreadable (the caller answers 503 with Retry-After, not 500), else 0. */
int db_unavailable(struct db_conn *c);
/* The last error message of the connection (lent). */
const char *db_errmsg(struct db_conn *c);

/* --- sections (db_sections.c) ---------------------------------------------------------- */

struct db_section {
	int64_t id;
	char *name;
	char *email; /* may be NULL */
	int active;
	int64_t created;
};

/* Adds a section; writes its id. Returns 0, 1 if the name exists already, -1 on error. */
int db_section_add(struct db_conn *c, const char *name, const char *email, int64_t now,
                   int64_t *id);
/* Look-ups by id or by name: 1 found / 0 not found / -1. */
int db_section_get(struct db_conn *c, int64_t id, struct db_section *out);
int db_section_by_name(struct db_conn *c, const char *name, struct db_section *out);
/* All sections, ordered by id: a new array of *n elements, freed by db_sections_free. */
int db_section_list(struct db_conn *c, struct db_section **out, size_t *n);
/* Updates name, email and active of section id: 1 done / 0 not found / -1. */
int db_section_update(struct db_conn *c, const struct db_section *s);
void db_section_free(struct db_section *s);
void db_sections_free(struct db_section *s, size_t n);

/* --- clock policies set by administrators (db_policies.c) ------------------------------- */

/* One stored override of a kind's policy key (the text is checked by the service). */
struct db_policy {
	enum kind kind;
	char *key;             /* forward_days, reply_days, …, on_supplement */
	char *value;           /* as the configuration file would hold it */
	int64_t updated_at;
	int64_t updated_by;    /* account id; 0 when none */
	char *updated_by_name; /* its username, or NULL (look-ups only; ignored when written) */
};

/* Every stored override ordered by kind and key: a new array of *n elements, freed by
 * db_policies_free. 0 or -1. */
int db_policy_list(struct db_conn *c, struct db_policy **out, size_t *n);
/* Inserts or replaces the override (kind, key). 0 or -1. */
int db_policy_set(struct db_conn *c, const struct db_policy *p);
/* Removes the override (kind, key): 1 removed / 0 there was none / -1. */
int db_policy_delete(struct db_conn *c, enum kind kind, const char *key);
void db_policy_free(struct db_policy *p);
void db_policies_free(struct db_policy *p, size_t n);

/* --- items, clocks, history, attachments (db_items.c) ------------------------------------ */

/* A clock of an item (DESIGN.md "Items and clocks"). */
struct db_clock {
	char name[8];        /* forward | reply | explain */
	int64_t started;     /* when it (re)started */
	int days;            /* limit */
	char unit[16];       /* working_days | calendar_days */
	int end_minutes;     /* due time of day */
	int64_t due;         /* due instant; 0 while paused */
	int64_t paused_at;   /* 0 unless paused */
	int remaining;       /* working days left when paused */
	int64_t stopped_at;  /* 0 while running */
	int provisional;     /* 1: due date outside calendar coverage */
	char result[8];      /* "" | on_time | late (frozen at close) */
	int64_t resumed_at;  /* when it resumed with `remaining` working days (policy pause): its
	                      * due counts from then; 0 otherwise */
};

struct db_item {
	int64_t id;
	char *tracking;
	enum kind kind;
	enum channel channel;
	char *subject, *body;
	char *name, *phone, *email; /* may be NULL */
	int publish;
	unsigned char query_hash[32];
	int64_t received, created, updated;
	enum wf_state state;
	enum wf_state resume_state; /* WF_NONE unless paused (waiting or extension requested) */
	int64_t section_id, assignee_id, merged_into; /* 0 when none */
	char *extension;             /* none | requested | approved | refused */
	char *draft, *reply, *reason; /* may be NULL */
	int64_t replied_at;          /* 0 until replied */
	int64_t next_due;            /* DB_NO_DUE when no clock runs */
	char *public_subject, *public_body, *public_reply; /* may be NULL */
	int published;
	char *source_ref;            /* may be NULL */
	char *address, *lat, *lng;   /* Open311 location (personal data); may be NULL */
	int64_t waiting_since;       /* 0 unless waiting for the citizen */
	enum lang lang;              /* the citizen's language; LANG_NONE: not recorded (written
	                              * with the new row only, never changed by db_item_update) */
	int64_t citizen_mail_at;     /* 0, or the latest citizen's e-mail after the item ended
	                              * not yet acknowledged (read only: db_item_mail_mark) */
	struct db_clock clocks[3];   /* nclocks of them */
	size_t nclocks;
	char *section_name, *assignee_name; /* look-ups only (joined); ignored when written */
	int clocks_later;            /* db_item_insert: 1 = the caller writes the clocks and the
	                              * ladder's mark in the same transaction (db_items_clocks_add,
	                              * for a batch at once); 0 = written with the row */
	int insert_later;            /* db_item_insert inside a transaction, for a new item whose
	                              * clocks are later too and whose workflow columns are all
	                              * unset: 1 = gives the item its id only; db_items_flush writes
	                              * the row (with the others of the transaction, in one
	                              * statement) before anything that refers to it; 0 (or any
	                              * other item) = written at once */
};

struct db_history {
	int64_t id;
	int64_t at;
	int64_t actor_id;  /* 0: citizen or system */
	char *actor, *action, *from_state, *to_state, *note; /* from_state, note may be NULL */
	int citizen;       /* 1: shown to the citizen */
	char *clock;       /* the clock whose due time the step set or moved, or NULL */
	int64_t due;       /* its due instant after the step; 0 with clock NULL */
};

struct db_attachment {
	int64_t id;
	char *filename, *content_type;
	int64_t size;
	void *data;        /* NULL in listings; the content when fetched */
};

/* Gives the next tracking sequence number of local day yyyymmdd (inside a transaction). */
int db_tracking_next(struct db_conn *c, int yyyymmdd, int *seq);
/* Takes n (>= 1) consecutive sequence numbers of local day yyyymmdd at once (inside a
 * transaction): the first into *first. 0 or -1. */
int db_tracking_reserve(struct db_conn *c, int yyyymmdd, int n, int *first);
/* Inserts item (tracking, fields and clocks; id, created are written back); one stored
 * published (publish and published set) enters the board's index too. Attachments and history
 * are added separately. Returns 0, 1 if the tracking number exists, -1 on error (the caller
 * rolls back: part of it may be written). */
int db_item_insert(struct db_conn *c, struct db_item *item);
/* Writes the new items that db_item_insert gave an id without writing them (insert_later), in
 * one statement; each item must stay valid until then. 0 (also with none), 1 if a tracking
 * number exists already (nothing of them written), -1 on error (the caller rolls back). A
 * transaction's COMMIT fails while any is left unwritten. */
int db_items_flush(struct db_conn *c);
/* The clocks and the ladder's mark of v[0..n), new items inserted with clocks_later (their ids
 * set), in two statements (a batch of the group-commit writer). 0 or -1 (the caller rolls
 * back). */
int db_items_clocks_add(struct db_conn *c, const struct db_item *const *v, size_t n);
/* The nearest due instant of a running (neither stopped nor paused) clock, DB_NO_DUE when none
 * runs: what insert and update store in items.next_due, the queue's sort key. */
int64_t db_item_next_due(const struct db_item *item);
/* Updates every mutable field and the clocks of item (by id): 1 / 0 not found / -1. */
int db_item_update(struct db_conn *c, const struct db_item *item);
/* Look-ups: 1 found / 0 not found / -1. */
int db_item_get(struct db_conn *c, const char *tracking, struct db_item *out);
int db_item_get_id(struct db_conn *c, int64_t id, struct db_item *out);
void db_item_free(struct db_item *item);

int db_history_add(struct db_conn *c, int64_t item_id, const struct db_history *h);
/* db_history_add of h[i] to item_ids[i] for i in 0..n, in one statement (a batch of the
 * group-commit writer), in that order. 0 or -1. */
int db_history_add_many(struct db_conn *c, const int64_t *item_ids,
                        const struct db_history *const *h, size_t n);
/* The item's history, oldest first (citizen_only: only citizen-visible rows). */
int db_history_list(struct db_conn *c, int64_t item_id, int citizen_only,
                    struct db_history **out, size_t *n);
void db_history_free(struct db_history *h, size_t n);

int db_attachment_add(struct db_conn *c, int64_t item_id, const struct db_attachment *a);
/* Attachments of the item without their data, in order. */
int db_attachment_list(struct db_conn *c, int64_t item_id, struct db_attachment **out,
                       size_t *n);
void db_attachments_free(struct db_attachment *a, size_t n);
/* One attachment of item_id with its data (out->data, out->size): 1 / 0 not found / -1.
 * Freed with db_attachment_free. */
int db_attachment_get(struct db_conn *c, int64_t item_id, int64_t id, struct db_attachment *out);
void db_attachment_free(struct db_attachment *a);

/* Items whose submitter allowed publication and that are published (on the board), newest first
 * (by id), for the Open311 listing: at most limit of them with an id below `before` (INT64_MAX
 * for the first page), with their clocks. A new array freed with db_items_free. */
int db_item_list_public(struct db_conn *c, int64_t before, size_t limit, struct db_item **out,
                        size_t *n);
void db_items_free(struct db_item *items, size_t n);

/* The values of one result row, every column of the statement in order with its type, in one
 * buffer (reused from call to call; db_row_free releases it): what a cache of answers built
 * from the row compares with what it keeps, so that it serves nothing the database no longer
 * holds (issue 20). At most DB_ROW_MAX bytes. */
struct db_row {
	unsigned char *p;
	size_t len, cap;
};
#define DB_ROW_MAX (16L << 20)
void db_row_free(struct db_row *r);
/* Which of Open311's items to list: the (kind, status) lists to read and the receipt range. */
struct db_o311_query {
	int lists[KIND__MAX][2]; /* [kind][1: closed statuses]: 1 to list those items */
	int64_t from, to;        /* received from..to, both included */
	int limit;               /* at most this many rows (and at most max) */
};
/* Items whose submitter allowed publication (published or not) in the lists q names, newest
 * receipt first (then id), in one statement: each list read through items_o311 in its order
 * and merged, so that a page reads its own entries and rows only; each row (what
 * db_item_o311_view reads) into rows[0..*n) (each a db_row, reused: db_row_free them).
 * 0 or -1. */
int db_o311_list(struct db_conn *c, const struct db_o311_query *q, struct db_row *rows,
                 size_t max, size_t *n);
/* The item of a row that db_o311_list read: id, tracking, kind, state, publish, published,
 * received, updated, replied_at; for an item shown in full (published and replied) also
 * section_name, the public versions, the originals (subject, body, reply) where no public
 * version is stored and then the submitter's name (to mask them); the reply clock alone (its
 * due and stopped_at) as clocks[0]; the rest left zero (resume_state WF_NONE). Its strings are lent from row (never db_item_free it; valid while
 * row is unchanged). 0, or -1 (not such a row). */
int db_item_o311_view(const struct db_row *row, struct db_item *out);
/* The items merged into target_id, oldest first: new arrays of *n ids and tracking numbers
 * (free the ids, db_strings_free the numbers). 0 or -1. */
int db_item_merged(struct db_conn *c, int64_t target_id, int64_t **ids, char ***trackings,
                   size_t *n);
/* Keeps the public texts item holds now (before an edit replaces them) as an earlier version. */
int db_public_version_add(struct db_conn *c, const struct db_item *item, int64_t at,
                          int64_t actor_id);

/* --- group commit of new items (db_submit.c) -------------------------------------------- */

/* Several threads hand new items to one writer thread, which stores every waiting submission
 * in one transaction (one fsync for the batch: a returned 0 means durably stored). */
struct db_submitter;

struct db_submission {
	struct db_item *item;            /* in: fields and clocks; out: id, created, tracking */
	int day;                         /* in: local date of creation, YYYYMMDD (tracking) */
	const struct db_attachment *att; /* in: natt attachments with data */
	size_t natt;
	const struct db_history *history; /* in: the first history row (e.g. "submit") */
	/* in, may be NULL: called in the batch's transaction once the item (with its tracking
	 * number), attachments and history are stored, to add rows that commit with it (the
	 * outbox); a non-zero return takes the whole submission back. It may be called twice for
	 * one submission: when another submission of the batch fails, the batch is rolled back
	 * and stored again (only the rows of the second call commit), so it acts only through
	 * the connection it is given. */
	int (*after)(void *cls, struct db_conn *c, const struct db_item *item);
	void *after_cls;
	/* in, for db_submit_start: called on the writer's thread once the submission is done
	 * (result 0: committed; -1: nothing of it stored); it must not wait, and sub belongs to
	 * the caller again from then on */
	void (*on_done)(void *cls);
	void *done_cls;
	/* private to db_submit.c */
	int result;                      /* 0 stored, -1 failed */
	int done;
	struct db_waiter *waiter;        /* the waiting thread's wake-up */
	char tracking[32];               /* the number given, until the batch commits */
	int seq;                         /* its sequence number taken with the batch's (0: none) */
	struct db_submission *next;
};

/* Optional, told of each batch the writer stores (on the writer's thread), so that what every
 * submission of a batch adds to the same rows (the statistics of the day) is written once per
 * batch instead of once per submission. */
struct db_batch_hook {
	/* a batch's transaction has begun (again, after a rollback: forget what was gathered);
	 * `guarded`: each submission of this attempt has a savepoint of its own, and a failing one
	 * is taken back alone, so its `after` hook must write its rows itself, not gather them */
	void (*begin)(void *cls, int guarded);
	/* every submission is stored: write what was gathered on c before the COMMIT. 0, or -1
	 * (the batch is taken back and stored again, guarded) */
	int (*end)(void *cls, struct db_conn *c);
	void *cls;
};

/* What the writer thread did since it started, for the administrator's log and the benchmarks:
 * where a batch's time goes tells a slow disk (committing: the WAL's fdatasync) from a busy CPU
 * (off the CPU while storing or answering) from a lack of work (waiting). Microseconds. */
#define DB_WRITER_BUCKETS 96 /* commit durations: four buckets per power of two, 1 us .. 16 s */
struct db_writer_stats {
	uint64_t batches;       /* transactions (committed or not) */
	uint64_t items;         /* submissions in them */
	uint64_t wait_us;       /* waiting for a submission */
	uint64_t store_us;      /* storing the batches (their statements, before the COMMIT) */
	uint64_t commit_us;     /* COMMIT: the WAL's frames written and fdatasync'ed */
	uint64_t answer_us;     /* telling each submitter its result */
	uint64_t checkpoint_us; /* checkpoints, between batches */
	uint64_t checkpoints;
	uint64_t cpu_us;        /* the writer thread's CPU time over all of the above */
	uint64_t commits[DB_WRITER_BUCKETS]; /* COMMITs by duration (db_writer_quantile) */
};

/* Starts the writer thread on a connection of db. 0 or -1. */
int db_submitter_start(struct db *db, struct db_submitter **out);
/* Sets the batch hook (copied; NULL: none), before the first submission. */
void db_submitter_set_hook(struct db_submitter *s, const struct db_batch_hook *hook);
/* Stores the remaining queue, stops the thread (logging its figures, db_submitter_log) and
 * frees it; NULL is fine. */
void db_submitter_stop(struct db_submitter *s);
/* on: the writer logs its figures (db_writer_line) every 10 minutes in which it stored anything
 * and when it stops (serve); off (the default): never (a command storing one item). */
void db_submitter_log(struct db_submitter *s, int on);
/* A copy of the writer's figures so far (as of its last batch). */
void db_submitter_stats(struct db_submitter *s, struct db_writer_stats *out);
/* The COMMIT duration below which a share q (0..1) of st's commits took: the upper bound of its
 * bucket (within 25 %), microseconds; 0 when there was none. */
uint64_t db_writer_quantile(const struct db_writer_stats *st, double q);
/* One line of st's figures per batch ("writer: 8274 batches, 63546 submissions (7.7 a batch) in 4.0 s;
 * a batch: waiting 11 us, storing 199, committing 227 (p50 <= 215, p99 <= 861) ..."). */
void db_writer_line(const struct db_writer_stats *st, char *buf, size_t size);
/* Queues sub and waits until it is committed: 0 (item->id, item->tracking set; the tracking
 * number is XJ-YYYYMMDD-NNNNN from the per-day counter) or -1 (nothing of it was stored). */
int db_submit(struct db_submitter *s, struct db_submission *sub);
/* Queues sub (with on_done set) without waiting: sub->on_done(sub->done_cls) is called once it
 * is committed or failed; then db_submit_result tells which. 0 queued, -1 not (stopping). */
int db_submit_start(struct db_submitter *s, struct db_submission *sub);
/* After on_done: 0 stored (as db_submit), -1 not. */
int db_submit_result(const struct db_submission *sub);
/* Queues subs[0..n) together and waits until each is done: they are stored in one transaction
 * (or with the submissions queued beside them), so that a batch costs one commit. Each
 * subs[i]->result is then 0 (stored, as db_submit) or -1. Returns 0, or -1 when the writer is
 * stopping (nothing stored). */
int db_submit_many(struct db_submitter *s, struct db_submission *const *subs, size_t n);

/* --- the staff queue and the public board (db_queue.c) ---------------------------------- */

#define DB_PAGE_MAX 101 /* rows of one page: 100 shown, one more to tell there is a next page */

/* Which states a queue filter takes. */
enum db_states {
	DB_STATES_OPEN, /* every open item (all but closed, rejected, merged) */
	DB_STATES_ALL,  /* every state */
	DB_STATES_ONE,  /* the filter's state only */
};

/* Filters of the queue; zero / NULL fields filter nothing (states: open items). */
/* The words of the queue's text search (service/ splits what staff type): a row matches when
 * each word occurs in its subject or its body, compared after db_fold. */
#define DB_SEARCH_WORDS 64  /* words at most */
#define DB_SEARCH_BYTES 512 /* their bytes, each with its NUL */
struct db_search {
	size_t n;                    /* words; 0: no text filter */
	size_t len;                  /* bytes of words used */
	char words[DB_SEARCH_BYTES]; /* the n words one after another, each ended by a NUL */
};
/* Adds the word word[0..len) (UTF-8, no NUL) to s; an empty word is left out. 0, or -1 when s
 * has no room for it (s unchanged). */
int db_search_add(struct db_search *s, const char *word, size_t len);
/* Folds the UTF-8 text s[0..len) as the search compares texts: the case of Latin (accented
 * letters too), Greek, Cyrillic and Armenian letters (Unicode's simple case folding: small
 * letters), full-width Latin letters and digits to ASCII, the no-break, typographic and
 * ideographic spaces to ASCII's space. Writes the result and a NUL to out,
 * which has room for len + 1 bytes (a folded text is never longer); returns its length. Bytes
 * that are no UTF-8 are copied as they are. */
size_t db_fold(const char *s, size_t len, char *out);

struct db_queue_filter {
	int64_t section_id;  /* 0: any section */
	int64_t assignee_id; /* 0: anyone */
	enum db_states states;
	enum wf_state state; /* with DB_STATES_ONE */
	int by_kind;         /* 0: any kind; 1: kind only */
	enum kind kind;
	int64_t due_before;  /* 0: no bound; else only items with next_due < due_before
	                      * (overdue: due_before = now) */
	const struct db_search *search; /* NULL or no words: any; else every word in the subject
	                                 * or the body, each taken literally */
	int citizen_mail;    /* 1: only items marked by a citizen's e-mail after they ended */
	int64_t after_due;   /* keyset cursor: only items after (after_due, after_id) in the */
	int64_t after_id;    /* order (next_due, id); after_id 0: from the start */
	int limit;           /* 1..DB_PAGE_MAX */
};

/* A line of the queue. */
struct db_queue_row {
	int64_t id;
	char *tracking, *subject;
	enum kind kind;
	enum wf_state state;
	char *section;   /* section name, or NULL */
	char *assignee;  /* assignee's username, or NULL */
	int64_t received;
	int64_t next_due; /* DB_NO_DUE when no clock runs */
	int64_t waiting_since; /* 0 unless waiting for the citizen's supplement */
	struct db_supervision *supervision; /* the item's supervision order (督办), or NULL */
	int screened;    /* 1: the item has a screening row (db_screen_get reads it) */
	int64_t citizen_mail_at; /* 0, or the citizen's e-mail after the item ended that no one
	                          * of its section acknowledged yet (the latest) */
	struct db_row row; /* the row as read (db_row): the strings above are lent from it */
};

/* The queue in order of (next_due, id): a new array of *n rows (at most f->limit), freed by
 * db_queue_rows_free. Uses the index that leads with the most selective filter given
 * (marked by a citizen's e-mail, section, assignee, state), so a page costs O(limit) rows
 * read. The open items (DB_STATES_OPEN) include the ended ones that carry the mark. Returns 0
 * or -1. */
int db_queue_list(struct db_conn *c, const struct db_queue_filter *f, struct db_queue_row **out,
                  size_t *n);
void db_queue_rows_free(struct db_queue_row *rows, size_t n);
/* Marks item id with a citizen's e-mail after it ended, at time at (the latest kept), inside
 * the caller's transaction: 0 or -1. */
int db_item_mail_mark(struct db_conn *c, int64_t id, int64_t at);
/* Clears the mark of item id (inside the caller's transaction): 1 cleared, 0 not marked, -1
 * error. */
int db_item_mail_unmark(struct db_conn *c, int64_t id);
/* The number of marked items of section section_id (0: every section) into *n: 0 or -1. */
int db_queue_mail_count(struct db_conn *c, int64_t section_id, int64_t *n);

/* A published item as the public board shows it: masked public version only. */
struct db_public_row {
	int64_t id;
	char *tracking;
	enum kind kind;
	char *subject, *body, *reply; /* public_subject, public_body, public_reply (may be NULL) */
	int64_t received, replied_at;
	struct db_row row; /* the row as read (db_row): the strings above are lent from it */
};

/* Published items (published = 1 and consent given), newest reply first, in the order
 * (replied_at DESC, id DESC); text (NULL: any) is a literal substring of the public subject,
 * body or reply; before_replied / before_id is the keyset cursor (before_id 0: from the
 * start); limit 1..DB_PAGE_MAX. A new array of *n rows, freed by db_public_rows_free. 0 or -1. */
int db_public_list(struct db_conn *c, const char *text, int64_t before_replied,
                   int64_t before_id, int limit, struct db_public_row **out, size_t *n);
/* Which published items to list: NULL and 0 filter nothing. */
struct db_public_filter {
	const char *text;        /* a literal substring of the public subject, body or reply */
	int by_kind;             /* 1: only items of kind */
	enum kind kind;
	int64_t from, to;        /* replied from <= replied_at < to (to 0: no bound) */
	int64_t before_replied;  /* keyset cursor (replied_at DESC, id DESC); before_id 0: from */
	int64_t before_id;       /* the start */
	int limit;               /* 1..DB_PAGE_MAX */
};

/* db_public_list with every filter: the board by kind and month. 0 or -1. */
int db_public_find(struct db_conn *c, const struct db_public_filter *f, struct db_public_row **out,
                   size_t *n);

#define DB_PUBLIC_MONTHS 12 /* months one db_public_months call counts */

/* The published items (of kind when by_kind, else of any) replied in each of DB_PUBLIC_MONTHS
 * periods: from bounds[i] (included) to bounds[i + 1] (excluded), into counts[i]; one range read
 * of the board's index. 0 or -1. */
int db_public_months(struct db_conn *c, const int64_t bounds[DB_PUBLIC_MONTHS + 1], int by_kind,
                     enum kind kind, int64_t counts[DB_PUBLIC_MONTHS]);

/* One published item by tracking number: 1 found / 0 not found or not published / -1. */
int db_public_get(struct db_conn *c, const char *tracking, struct db_public_row *out);
void db_public_row_free(struct db_public_row *r);
void db_public_rows_free(struct db_public_row *rows, size_t n);

/* --- mail-in (db_mail.c) ----------------------------------------------------------------- */

/* One message that came in by e-mail (table mail_in). Strings and raw are lent. */
struct db_mail_in {
	int64_t item_id;        /* the item created or added to; 0 when ignored */
	const char *outcome;    /* created | added | duplicate | ignored */
	const char *reason;     /* ignored: why; else NULL */
	const char *message_id; /* without angle brackets, or NULL */
	const char *sender;     /* From address, or NULL */
	const void *raw;        /* the message byte for byte, or NULL when not kept */
	size_t size;            /* bytes of the message */
	int64_t received;
	const char *source;     /* pipe | imap */
	const char *mailbox;    /* imap: the mailbox URL without credentials; else NULL */
	int64_t uidvalidity, uid; /* imap; else 0 */
};

/* Stores m, its row id into *id (NULL: not wanted). Returns 0, 1 when its Message-ID (created
 * or added) or its IMAP position is stored already (nothing written), -1 on error. */
int db_mail_in_add(struct db_conn *c, const struct db_mail_in *m, int64_t *id);
/* The item that holds a message with Message-ID id (created or added): its tracking number
 * into a new string *tracking and its id into *item_id: 1 found / 0 not found / -1. */
int db_mail_item_by_message_id(struct db_conn *c, const char *id, char **tracking,
                               int64_t *item_id);
/* The raw message stored (created or added) with Message-ID id: 1 with a malloc'd copy (NUL after
 * its *len bytes), 0 none, -1 error. */
int db_mail_raw_by_message_id(struct db_conn *c, const char *id, char **raw, size_t *len);
/* The tracking number of the item outbox row id concerns: 1 / 0 / -1. */
int db_mail_item_by_outbox(struct db_conn *c, int64_t id, char **tracking);
/* One received message as administrators see it (GET /api/v1/admin/mail): never its text. */
struct db_mail_row {
	int64_t id, received, size, uid; /* uid: IMAP only, else 0 */
	char *source;                    /* pipe | imap */
	char *outcome;                   /* created | added | duplicate | ignored */
	char *reason;                    /* ignored: why ("refused: …" when core refused it); or NULL */
	char *message_id, *sender;       /* as recorded, or NULL */
	char *mailbox;                   /* imap: the polled URL without credentials; or NULL */
	char *tracking;                  /* the item it made or joined, or NULL */
};
/* How many messages of each outcome are recorded. */
struct db_mail_counts {
	int64_t created, added, duplicate, ignored;
};
/* Up to limit rows with id < before, newest first, of one outcome (NULL: every outcome), into a
 * new array *out of *n rows (free with db_mail_rows_free). 0 or -1. */
int db_mail_list(struct db_conn *c, const char *outcome, int64_t before, int limit,
                 struct db_mail_row **out, size_t *n);
void db_mail_rows_free(struct db_mail_row *v, size_t n);
int db_mail_counts(struct db_conn *c, struct db_mail_counts *out);
/* How a polled mailbox is doing (table mailbox_status): the outcome of its last poll. */
struct db_mailbox_status {
	char *mailbox;         /* the polled URL without credentials */
	int64_t last_poll;     /* when the last poll ended */
	int64_t last_ok;       /* when a poll last succeeded; 0: never */
	int64_t failing_since; /* the first of the polls failing in a row; 0: the last succeeded */
	int64_t failures;      /* polls failed in a row */
	char *error;           /* why the last poll failed; NULL when it succeeded */
};
/* Records a poll of mailbox that ended at now: error NULL when it succeeded, else why it
 * failed (no credentials in it). 0 or -1. */
int db_mailbox_status_put(struct db_conn *c, const char *mailbox, int64_t now, const char *error);
/* Every polled mailbox's status, by URL, into a new array (db_mailbox_status_free). 0 or -1. */
int db_mailbox_status_list(struct db_conn *c, struct db_mailbox_status **out, size_t *n);
void db_mailbox_status_free(struct db_mailbox_status *v, size_t n);
/* Whether the IMAP message (mailbox, uidvalidity, uid) is stored: 1 / 0 / -1. */
int db_mail_imap_seen(struct db_conn *c, const char *mailbox, int64_t uidvalidity, int64_t uid);
/* The UID stored for (mailbox, uidvalidity) that has `skip` higher ones above it (0: the
 * highest), 0 when there is none, into *uid. 0 or -1. */
int db_mail_imap_last(struct db_conn *c, const char *mailbox, int64_t uidvalidity, int64_t skip,
                      int64_t *uid);
/* The e-mail outbox row whose Message-ID is id (a bounce names it): its id, its item's id (0:
 * none) and whether it is still pending or sent (*sent 1) rather than failed already. 1 found /
 * 0 not found / -1. */
int db_mail_outbox_by_message_id(struct db_conn *c, const char *id, int64_t *outbox_id,
                                 int64_t *item_id, int *sent);
/* Marks outbox row outbox_id failed with error, whether it was pending or sent (a bounce comes
 * after the server accepted the message): 1 / 0 it was failed already / -1. */
int db_mail_outbox_bounced(struct db_conn *c, int64_t outbox_id, const char *error);
/* The acknowledgement limit of e-mail senders (table mail_ack): one moment per interval at
 * which an address's acknowledgements go. What db_mail_ack_claim found for a letter: */
struct db_mail_ack {
	int64_t at;   /* when its acknowledgement goes: now, or the moment its address's next one
	               * may go (in the future) */
	int64_t last; /* the address's moment before this letter (0: none) */
	long waiting; /* acknowledgements of the address already waiting for at (a later moment) */
	char to[256]; /* the address those go to, as the first of them was written ("" none): the
	               * letter's joins them in one message */
};
/* For a letter from sender (lower-case) at now: 1 acknowledge now (no moment within interval
 * before now; interval 0: always); 2 acknowledge at out->at, a later moment: interval after the
 * last one, or the one already set, when fewer than max wait for it; 0 none (max wait for that
 * moment already); -1 on error. Records the moment (the table's last). Call inside the
 * transaction that stores the item and its acknowledgement's outbox row. */
int db_mail_ack_claim(struct db_conn *c, const char *sender, int64_t now, int64_t interval,
                      long max, struct db_mail_ack *out);

/* --- accounts, passwords, login failures, sessions, audit (db_accounts.c) ------------------ */

#define DB_PASSWORD_HISTORY 5 /* former password hashes kept per account */

struct db_account {
	int64_t id;
	char *username;
	char *display_name;  /* may be NULL */
	enum role role;
	int64_t section_id;  /* 0 when none */
	char *email, *phone; /* may be NULL */
	char *status;        /* active | suspended | revoked */
	char *password_hash; /* argon2id string */
	int64_t password_changed;
	int must_change; /* 1: the password must be changed at the next login */
	int64_t created;
};

/* Adds an account (every field but id; password_changed and created as given); writes its id.
 * Returns 0, 1 if the username exists already, -1 on error. */
int db_account_add(struct db_conn *c, const struct db_account *a, int64_t *id);
/* Look-ups by id or by username: 1 found / 0 not found / -1. */
int db_account_get(struct db_conn *c, int64_t id, struct db_account *out);
int db_account_by_name(struct db_conn *c, const char *username, struct db_account *out);
/* All accounts ordered by username: a new array of *n elements (db_accounts_free). */
int db_account_list(struct db_conn *c, struct db_account **out, size_t *n);
/* Updates role, section_id, status, display_name, email and phone of account a->id (the
 * password fields are left alone): 1 done / 0 not found / -1. */
int db_account_update(struct db_conn *c, const struct db_account *a);
/* Sets a new password hash: the current hash goes to password_history (of which the newest
 * DB_PASSWORD_HISTORY rows are kept), password_changed becomes now and must_change as given.
 * Call inside a transaction. 1 done / 0 not found / -1. */
int db_account_set_password(struct db_conn *c, int64_t id, const char *hash, int must_change,
                            int64_t now);
/* The newest former password hashes of account id, at most max, newest first: a new array of
 * *n strings (db_strings_free). */
int db_password_history(struct db_conn *c, int64_t id, size_t max, char ***out, size_t *n);
void db_account_free(struct db_account *a);
void db_accounts_free(struct db_account *a, size_t n);
void db_strings_free(char **v, size_t n);

/* Records a failed login for username (existing or not) and forgets failures older than
 * forget_before (of every name). 0 or -1. */
int db_login_failure_add(struct db_conn *c, const char *username, int64_t at, const char *addr,
                         int64_t forget_before);
/* Number of failures of username at or after since. 0 or -1. */
int db_login_failure_count(struct db_conn *c, const char *username, int64_t since, int *n);
/* The times of the newest failures of username, at most max, newest first, written to times;
 * *n is how many. 0 or -1. */
int db_login_failure_recent(struct db_conn *c, const char *username, int64_t *times, size_t max,
                            size_t *n);
/* The times of the newest failures of username from addr, at most max, newest first, into
 * times; *n is how many (db_throttle.c). 0 or -1. */
int db_login_failure_recent_from(struct db_conn *c, const char *username, const char *addr,
                                 int64_t *times, size_t max, size_t *n);
/* How many failures (of any name) came from addr at or after since, and the newest one's time
 * (0 when none). 0 or -1. */
int db_login_failure_addr(struct db_conn *c, const char *addr, int64_t since, int64_t *count,
                          int64_t *newest);
/* Forgets the failures of username from addr (after a successful login from there: the
 * failures of an attacker elsewhere stay). 0 or -1. */
int db_login_failure_clear_from(struct db_conn *c, const char *username, const char *addr);
/* Forgets the failures of username (after a successful login). 0 or -1. */
int db_login_failure_clear(struct db_conn *c, const char *username);

#define DB_TOKEN_HASH 32 /* bytes of a session token hash (BLAKE2b-256) */

struct db_session {
	unsigned char token_hash[DB_TOKEN_HASH];
	int64_t account_id;
	char *csrf_token;
	int64_t created, last_seen;
	char *addr; /* may be NULL */
};

/* Stores a new session. 0 or -1. */
int db_session_add(struct db_conn *c, const struct db_session *s);
/* The session with that token hash: 1 found / 0 not found / -1. */
int db_session_get(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH],
                   struct db_session *out);
/* Sets last_seen of the session. 0 or -1. */
int db_session_touch(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH], int64_t now);
/* Deletes one session / every session of an account / sessions idle since before idle_before
 * or created before created_before. 0 or -1. */
int db_session_delete(struct db_conn *c, const unsigned char hash[DB_TOKEN_HASH]);
int db_session_delete_account(struct db_conn *c, int64_t account_id);
/* Ends every session of the account but the one whose token hash is keep. 0 or -1. */
int db_session_delete_others(struct db_conn *c, int64_t account_id,
                             const unsigned char keep[DB_TOKEN_HASH]);
int db_session_prune(struct db_conn *c, int64_t idle_before, int64_t created_before);
void db_session_free(struct db_session *s);
/* The mode of connection c for the session writer's batch (on = 1: its commit waits for no
 * fsync, synchronous NORMAL, and runs no automatic checkpoint) and back to the service's (0).
 * What the batch writes (activity, ends of expired sessions) may be lost to a power cut: a
 * session then ends a little early. Any later commit with synchronous FULL makes it durable
 * first, the WAL being written in order. Outside a transaction only (SQLite's rule). 0 or -1. */
int db_session_batch_mode(struct db_conn *c, int on);

/* One row of the append-only audit log. */
struct db_audit {
	int64_t id;
	int64_t at;
	int64_t actor_id;             /* 0: anonymous or system */
	char *actor;                  /* name as given */
	char *addr, *target, *detail; /* may be NULL */
	char *action;
	int ok; /* 0 for refused attempts */
};

/* Which audit rows to list: NULL strings and 0 numbers do not filter. */
struct db_audit_filter {
	const char *actor, *action, *target;
	int64_t from, to; /* from <= at < to */
	int64_t before;   /* keyset: only ids below this */
	int limit;        /* rows at most (1..1000; 0 = 100) */
	int offset;       /* rows skipped */
};

#define DB_AUDIT_HASH 32 /* bytes of an audit row's chain hash (BLAKE2b-256) */

/* Appends a row (id is ignored) to the chain: its id is the last one's plus one and its hash
 * covers its columns and the previous row's hash (db_audit.c). Runs in the caller's transaction
 * if one is open, else in its own. Writes its id if id is not NULL. 0 or -1. */
int db_audit_add(struct db_conn *c, const struct db_audit *a, int64_t *id);
/* Rows matching f, newest first: a new array of *n elements (db_audits_free). */
int db_audit_list(struct db_conn *c, const struct db_audit_filter *f, struct db_audit **out,
                  size_t *n);
void db_audits_free(struct db_audit *a, size_t n);

/* --- the outbox, the escalation ladder, accounts without an address (db_outbox.c) ------------ */

/* A notice to queue (strings lent by the caller). */
struct db_notice {
	int64_t item_id;    /* 0 when none */
	const char *clock;  /* forward | reply | explain, or NULL / "" when none */
	const char *step;   /* ladder step or message kind, e.g. "overdue/2025-10-14" */
	const char *channel; /* email | sms */
	const char *recipient; /* address or phone number */
	const char *subject;   /* NULL for SMS */
	const char *body;
	int64_t created, send_after, give_up_at;
	int64_t account_id; /* the staff recipient, 0 for citizens and sections */
	int64_t lkey;       /* a ladder notice's key (db_ladder_key; clock, step, subject and body
	                     * are then not stored), or 0: a notice with its text */
};

/* A row of the outbox as read (strings owned, freed by db_outbox_free). */
struct db_outbox {
	int64_t id;
	int64_t item_id;    /* 0 when none */
	char *clock;        /* "" when none */
	char *step, *channel, *recipient;
	char *subject;      /* may be NULL */
	char *body;
	int64_t created, send_after;
	int attempts;
	int64_t sent_at;    /* 0 until sent */
	char *last_error;   /* may be NULL */
	char *state;        /* pending | sent | failed */
	char *message_id;   /* NULL before the first attempt */
	int64_t give_up_at, last_attempt; /* 0 when none */
	int64_t account_id; /* 0 when none */
	char *tracking;     /* the item's tracking number, or NULL (joined) */
	enum lang lang;     /* the item's citizen language (joined), LANG_NONE when none */
	int64_t lkey;       /* a ladder notice's key (clock and step read back from it; body NULL
	                     * while pending: the dispatcher writes the text), or 0 */
};

/* Queues a notice unless one with the same (item, clock, step, channel, recipient) exists:
 * 0 queued (its id written to *id when id is not NULL), 1 it was there already, -1 error. Call
 * inside the transaction of the change or scan that causes it. */
int db_outbox_add(struct db_conn *c, const struct db_notice *o, int64_t *id);
/* Queues the ladder notices v[0..n) as key rows in one statement (the scan's rows of one
 * transaction: each has item_id, account_id, lkey, channel and recipient; strings lent); a
 * notice queued before (or twice in v) is left as it is. *added: the rows written. 0 or -1
 * (a row that is not a key row: nothing written). */
int db_outbox_add_keys(struct db_conn *c, const struct db_notice *v, size_t n, size_t *added);
/* Queues the notices v[0..n) that have no text yet (a citizen's acknowledgement, whose text the
 * dispatcher writes when it sends it: item_id, step, channel, recipient and the times; no clock,
 * subject, body, account or key) in one statement (a batch of the group-commit writer); a
 * notice queued before (or twice in v) is left as it is. *added: the rows written. 0 or -1 (a
 * row that is not such a notice: nothing written). */
int db_outbox_add_bare(struct db_conn *c, const struct db_notice *v, size_t n, size_t *added);
/* Pending rows of channel with send_after <= now, in the order (send_after, id), at most
 * limit: a new array of *n rows (db_outboxes_free). 0 or -1. */
int db_outbox_due(struct db_conn *c, const char *channel, int64_t now, int limit,
                  struct db_outbox **out, size_t *n);
/* The pending rows of channel that were tried as one message (message_id) and are due again
 * at send_after, by id: a new array (db_outboxes_free). 0 or -1. */
int db_outbox_group(struct db_conn *c, const char *channel, int64_t send_after,
                    const char *message_id, struct db_outbox **out, size_t *n);
/* Before an attempt: counts it, sets last_attempt = now, the Message-ID if the row has none
 * yet, and send_after = retry_at (when the next attempt is due should this one never be
 * marked). 1 done / 0 the row is not pending / -1. */
int db_outbox_claim(struct db_conn *c, int64_t id, int64_t now, const char *message_id,
                    int64_t retry_at);
/* Marks a pending row sent at now / failed for good with error / due again not before
 * send_after (the later of that and the claim's) with error: 1 / 0 not pending / -1. */
int db_outbox_sent(struct db_conn *c, int64_t id, int64_t now);
int db_outbox_failed(struct db_conn *c, int64_t id, const char *error);
int db_outbox_later(struct db_conn *c, int64_t id, int64_t send_after, const char *error);
/* Marks pending row id sent at now if its Message-ID is message_id (a line of the log of
 * accepted e-mails): 1 / 0 not such a row, or not pending / -1. */
int db_outbox_sent_logged(struct db_conn *c, int64_t id, const char *message_id, int64_t now);

/* The log of e-mails an SMTP server accepted whose rows are not marked sent yet
 * (db_outbox_log.c): the file DATABASE-sent, beside the database. The dispatcher appends each
 * e-mail as the server accepts it, marks the batch's rows in one transaction after the session,
 * then empties the log; a crash of the process or a power cut in between leaves the log, which
 * the next pass applies first. The log is synced every DB_SENT_LOG_GROUP e-mails, so a power
 * cut sends again at most that many (an fdatasync per e-mail cost 3/4 of the e-mail rate). */
struct db_sent_log;
#define DB_SENT_LOG_GROUP 8 /* e-mails appended per fdatasync of the log */
/* Opens (creating) the log of c's database: a new handle (db_sent_log_close), or NULL (an
 * in-memory database; a file that cannot be opened, logged). */
struct db_sent_log *db_sent_log_open(struct db_conn *c);
/* Appends rows ids[0..n), sent as one message with message_id (no space or newline), in one
 * write(2): once it returns, a crash of the process cannot lose them; every DB_SENT_LOG_GROUP-th
 * call syncs the log (fdatasync) before it returns, so a power cut loses at most the last
 * DB_SENT_LOG_GROUP - 1 e-mails appended (the rows are marked, and the log emptied, soon after,
 * in a commit that is synced). 0 or -1 (logged). */
int db_sent_log_add(struct db_sent_log *l, const int64_t *ids, size_t n, const char *message_id);
/* Inside the caller's transaction: marks sent at now each row of the log still pending with
 * its Message-ID (db_outbox_sent_logged); how many into *n. 0 or -1. */
int db_sent_log_apply(struct db_conn *c, struct db_sent_log *l, int64_t now, size_t *n);
/* 1 when the log holds nothing (no transaction needed to apply it), else 0. */
int db_sent_log_empty(struct db_sent_log *l);
/* Empties the log, after the commit that marked every row in it. 0 or -1 (logged). */
int db_sent_log_clear(struct db_sent_log *l);
void db_sent_log_close(struct db_sent_log *l);
/* Marks a pending row dropped (a ladder notice that no longer holds when it is due: its clock
 * stopped, its due time moved…) with the reason: 1 / 0 not pending / -1. */
int db_outbox_dropped(struct db_conn *c, int64_t id, const char *reason);
/* Gives pending row id the recipient to (its account's address now) and no Message-ID (its
 * next claim gives it a new one): 1 / 0 not pending, or the same notice to `to` is queued
 * already / -1. */
int db_outbox_readdress(struct db_conn *c, int64_t id, const char *to);
/* A failed row pending again from now, attempts from 0, giving up at give_up_at, with a new
 * Message-ID at its next attempt (an administrator's retry; it was never accepted, and its
 * message may have held other rows): 1 / 0 not failed / -1. */
int db_outbox_requeue(struct db_conn *c, int64_t id, int64_t now, int64_t give_up_at);
/* How the error of a row the dispatcher gave up on begins (notify_give_up ran out while it kept
 * failing): "gave up after N attempts: LAST ERROR". */
#define DB_GAVE_UP "gave up after "
/* db_outbox_requeue for every failed row the dispatcher gave up on (its error begins with
 * DB_GAVE_UP: not one a server refused for good, nor a bounce) of channel ("email" | "sms";
 * NULL: both), in one statement: their number into *n. 0 or -1. */
int db_outbox_requeue_given_up(struct db_conn *c, const char *channel, int64_t now,
                               int64_t give_up_at, int64_t *n);
/* Rows in state (NULL: any), newest first, with an id below before (INT64_MAX: from the
 * newest), at most limit: a new array (db_outboxes_free). 0 or -1. */
int db_outbox_list(struct db_conn *c, const char *state, int64_t before, int limit,
                   struct db_outbox **out, size_t *n);
/* One row: 1 / 0 not found / -1. */
int db_outbox_get(struct db_conn *c, int64_t id, struct db_outbox *out);
/* Number of rows in state (pending through their index, the others from the counts schema 025
 * keeps; never a read of the whole outbox). 0 or -1. */
int db_outbox_count(struct db_conn *c, const char *state, int64_t *n);
void db_outbox_free(struct db_outbox *o);
void db_outboxes_free(struct db_outbox *v, size_t n);

/* The ladder's entries (schema 019): (instant, item) pairs, ordered by instant (and, since 026,
 * by when a scan wrote them: seq). Every inserted or updated item gets an entry at 0 (due at
 * once); the scan takes the due entries from the front (db_ladder_taken) and adds each item's
 * next one (db_ladder_set_many). An item may have an older entry beside a newer one: the scan
 * reads its clocks afresh for each. */
/* Items whose entries are due by now: at most limit ids into ids, the earliest first. 0 or -1. */
int db_ladder_due(struct db_conn *c, int64_t now, size_t limit, int64_t *ids, size_t *n);
/* Adds the entry (next_at, item_id) (INT64_MAX: none, not until it changes). 0 or -1. */
int db_ladder_set(struct db_conn *c, int64_t item_id, int64_t next_at);
/* Adds an entry due at once for every item that has one at instant next_at (the scan then looks
 * at them at its next turn, as at a change), their number into *n (may be NULL). 0 or -1. */
int db_ladder_relook(struct db_conn *c, int64_t next_at, int64_t *n);
/* An item's next ladder entry, for db_ladder_set_many. */
struct db_ladder_next {
	int64_t item_id;
	int64_t next_at; /* INT64_MAX: none */
};
/* db_ladder_set for each of v[0..n) in one statement (the scan's items of one transaction),
 * written at seq (the scan's moment: after every entry of the same instant that an earlier scan
 * wrote, so that a scan's entries make one run; schema 026). 0 or -1. */
int db_ladder_set_many(struct db_conn *c, const struct db_ladder_next *v, size_t n, int64_t seq);
/* db_ladder_due writing beside each id the instant that was set (0: changed since) to marks. */
int db_ladder_due_marks(struct db_conn *c, int64_t now, size_t limit, int64_t *ids,
                        int64_t *marks, size_t *n);
/* One clock of an item due for the ladder scan (db_ladder_due_clocks). */
struct db_ladder_clock {
	int64_t item_id;
	int64_t mark;  /* the instant the last scan set (0: changed since) */
	int64_t seq;   /* when that scan wrote it (0: a change; schema 026) */
	char name[8];  /* forward | reply | explain; "" for an item without clocks */
	int64_t due;   /* its due instant (0: none) */
	int running;   /* 1: neither stopped nor paused */
};
/* Removes every entry up to (next_at, seq, item_id) in the table's order (the ones a scan
 * took). 0 or -1. */
int db_ladder_taken(struct db_conn *c, int64_t next_at, int64_t seq, int64_t item_id);
/* The clocks of the items the ladder scan must look at by now, at most `items` items (the
 * earliest marks first; in that order as SQLite's nested loop gives them, which callers must not
 * count on): at most max rows into out (max must be at least 3 * items). 0 or -1. */
int db_ladder_due_clocks(struct db_conn *c, int64_t now, size_t items, struct db_ladder_clock *out,
                         size_t max, size_t *n);

/* The section and assignee of item id (0 when none; both 0 when the item is gone), for the
 * recipients of a reminder or overdue notice. 0 or -1. */
int db_ladder_owner(struct db_conn *c, int64_t id, int64_t *section_id, int64_t *assignee_id);

/* A ladder notice's key (schema 022): which step of which clock, by which channel. */
struct db_ladder_key {
	int kind;  /* DB_STEP_REMIND, DB_STEP_OVERDUE, DB_STEP_ESCALATE */
	int clock; /* 0 forward, 1 reply, 2 explain */
	int sms;   /* 1: SMS, 0: e-mail */
	int due;   /* the due day, YYYYMMDD */
	int day;   /* the working day of an escalation, YYYYMMDD; 0 for the others */
};
enum { DB_STEP_REMIND = 1, DB_STEP_OVERDUE = 2, DB_STEP_ESCALATE = 3 };
/* The integer outbox.lkey of k (as 022 computes it: ((kind * 4 + clock) * 2 + sms) * 10^16 +
 * due * 10^8 + day). */
int64_t db_ladder_key(const struct db_ladder_key *k);
/* Reads v back into *k: 0, or -1 when v is no key. */
int db_ladder_key_parse(int64_t v, struct db_ladder_key *k);
/* The clock's name of a key (forward | reply | explain), and its step's name ("remind/DUE",
 * "overdue/DUE", "escalate/DUE/DAY", the dates YYYY-MM-DD) into buf. */
const char *db_ladder_key_clock(const struct db_ladder_key *k);
void db_ladder_key_step(const struct db_ladder_key *k, char *buf, size_t size);

/* An item a scan of schema 019-021 found with notices not yet queued (table ladder_fanout, no
 * longer written): the next scan queues them first, at their moment. */
struct db_ladder_fanout {
	int64_t at;      /* the scan's moment */
	int64_t item_id;
	int64_t mark;    /* the instant of the entry the scan took (0: changed) */
};
/* At most max of them, the oldest first: into out, *n of them. 0 or -1. */
int db_ladder_fanouts(struct db_conn *c, struct db_ladder_fanout *out, size_t max, size_t *n);
/* Removes one that was queued. 0 or -1. */
int db_ladder_fanout_done(struct db_conn *c, const struct db_ladder_fanout *f);
/* Sets the page cache of connection c to size (as PRAGMA cache_size takes it: negative for
 * KiB), writing the size it had to *old when not NULL: the ladder scan writes notices next to
 * each item's earlier ones all over the outbox's unique index, which a pool connection's small
 * cache would spill to the WAL and read back page by page. 0 or -1. */
int db_ladder_cache(struct db_conn *c, int size, int *old);
/* The ladder scan's mode of connection c (on = 1) and back to the service's (0): on, commits
 * wait for no fsync (synchronous NORMAL). A scan's transaction lost to a power cut is only done
 * again by the next scan (its entries come back with it), and any later commit with synchronous
 * FULL (every notice marked sent, every change of an item) makes it durable first, the WAL being
 * written in order. And no automatic checkpoint of the WAL in the scan's commits: the first
 * commit past its size after the scan does it (the fan-out's, on the same connection, or another
 * writer's). Outside a transaction only (SQLite's rule). 0 or -1. */
int db_ladder_scanning(struct db_conn *c, int on);

/* An account (or a role nobody holds) that a notice was meant for without an address for its
 * channel (strings lent). */
struct db_missing_new {
	int64_t item_id;     /* 0 when none */
	const char *clock;   /* NULL / "" when none */
	const char *step, *channel, *role;
	int64_t account_id;  /* 0: nobody holds the role */
	int64_t section_id;  /* 0 when none */
	int64_t at;
};

struct db_notify_missing {
	int64_t id, item_id, account_id, section_id, at; /* 0 when none */
	char *clock, *step, *channel, *role;
	char *tracking, *username, *section; /* joined; may be NULL */
};

/* Records it once: 0 recorded / 1 known already / -1. */
int db_notify_missing_add(struct db_conn *c, const struct db_missing_new *m);
/* The newest at most limit records: a new array (db_notify_missing_free). 0 or -1. */
int db_notify_missing_list(struct db_conn *c, int limit, struct db_notify_missing **out,
                           size_t *n);
void db_notify_missing_free(struct db_notify_missing *v, size_t n);

/* The period (e.g. a week's Monday, YYYY-MM-DD) a periodic notice called name was last done
 * for, into buf: 1 found / 0 never done / -1. */
int db_notify_run_get(struct db_conn *c, const char *name, char *buf, size_t size);
/* Records it (inside the transaction of the notices). 0 or -1. */
int db_notify_run_set(struct db_conn *c, const char *name, const char *last);

/* --- statistics, ratings and supervision orders (db_stats.c) ------------------------------ */

/* The facts of one item that the statistics count (schema/008_stats.sql, item_facts). Instants
 * are 0 for NULL. */
struct db_fact {
	int64_t item_id;
	int64_t section_id;   /* 0: no section yet */
	int64_t received;
	int64_t accepted;     /* first acceptance */
	int64_t first_end;    /* first time it ended (reply, reject, merge, close) */
	int64_t reopened;     /* last reopening after it ended */
	int64_t ended;        /* last end; 0 while open */
	char outcome[12];     /* "" | replied | rejected | merged | closed: how it first ended */
	int64_t replied_at;   /* first reply */
	char reply_result[8]; /* "" | on_time | late: the reply clock's result at that reply */
	int reply_wd;         /* working days from receipt to that reply; -1 when unknown */
	int64_t reply_due;    /* due instant of the reply clock; 0 while paused or none */
	int64_t supervised;   /* when a supervision order was given */
	int64_t first_due;    /* reply due instant when it first ended; 0 before, or unknown */
};

/* The facts of item_id: 1 found / 0 not found / -1. */
int db_fact_get(struct db_conn *c, int64_t item_id, struct db_fact *out);
/* Inserts or replaces the facts of f->item_id. 0 or -1. */
int db_fact_put(struct db_conn *c, const struct db_fact *f);
/* db_fact_put of v[0..n) in one statement (a batch of the group-commit writer). 0 or -1. */
int db_facts_put(struct db_conn *c, const struct db_fact *v, size_t n);
/* Changes of a section's per-day summary (stats_daily), each -1, 0 or +1 from one item. */
struct db_stats_delta {
	int open, overdue, received, accepted, replied, on_time, late, wd_sum, rejected, merged,
	    closed, supervised;
};
/* Adds d to the summary of section_id on local day `day` (sla_day). 0 or -1. */
int db_stats_daily_add(struct db_conn *c, int64_t section_id, int32_t day,
                       const struct db_stats_delta *d);
/* Adds n to the replies of section_id on `day` that took wd working days. 0 or -1. */
int db_stats_wd_add(struct db_conn *c, int64_t section_id, int32_t day, int wd, int n);
/* Adds n to the items of section_id due on due_day and first replied on replied_day (-1: not
 * replied). 0 or -1. */
int db_stats_due_add(struct db_conn *c, int64_t section_id, int32_t due_day,
                     int32_t replied_day, int n);
/* Records that section from_section forwarded item_id to to_section at `at`. 0 or -1. */
int db_stats_forward_add(struct db_conn *c, int64_t item_id, int64_t at, int64_t from_section,
                         int64_t to_section);
/* Up to max ids (ascending, above after_id) of items that have no facts yet, into ids; *n is
 * how many. 0 or -1. */
int db_fact_missing(struct db_conn *c, int64_t after_id, int64_t *ids, size_t max, size_t *n);
/* The largest item id that db_fact_missing's caller has looked at up to now (0: none) into
 * *last_item. 0 or -1. */
int db_fact_checked(struct db_conn *c, int64_t *last_item);
/* Records that every item up to the largest id at most upto has been looked at. 0 or -1. */
int db_fact_checked_set(struct db_conn *c, int64_t upto);
/* Moves the mark to the largest item id when it lies more than 10,000 items behind and the
 * write lock is free at once (no wait: a reading command must not queue behind a writer, and
 * writes nothing in the common case); otherwise leaves it. */
void db_fact_checked_advance(struct db_conn *c);

/* What one section did in a period — the local days from_day..to_day, the instants [from, to)
 * — and its state at the end of the day end_day. */
struct db_stats_row {
	int64_t section_id; /* 0: items with no section yet */
	int64_t received, accepted, forwarded, replied, on_time, late, rejected, merged, closed;
	int64_t open, overdue;       /* at the end of end_day */
	int64_t due, due_replied;    /* reply due in the period; of them replied before its end */
	int64_t rated, satisfied, basically_satisfied, unsatisfied; /* ratings given in it */
	int64_t followup_open, reopened; /* of those unsatisfied ratings: follow-up pending, reopened */
	int64_t supervised;          /* supervision orders given in it */
};

/* How many replies of a section in the period took `wd` working days. */
struct db_stats_wd {
	int64_t section_id;
	int wd;
	int64_t n;
};

/* The counts of every section with something to count (one row each, ascending section_id),
 * as a new array *rows of *nrows (free()), and the working days to reply of the period's
 * replies as a new array *wd of *nwd, ordered by section and days (free()). Run it inside
 * db_begin_read so that the figures agree. 0 or -1. */
int db_stats_period(struct db_conn *c, int64_t from, int64_t to, int32_t from_day,
                    int32_t to_day, int32_t end_day, int64_t only_section, struct db_stats_row **rows, size_t *nrows,
                    struct db_stats_wd **wd, size_t *nwd);

/* A satisfaction rating (ratings). */
struct db_rating {
	int64_t id, item_id;
	int round;            /* 0 for the first reply, +1 after each reopening */
	int64_t section_id;
	int64_t at;
	int32_t day;          /* local date of at (sla_day): where stats_daily counts it */
	char *value;          /* satisfied | basically_satisfied | unsatisfied */
	char *comment;        /* may be NULL */
	char *followup;       /* NULL | open | confirmed | reopened */
	int64_t followup_at, followup_by;
	char *followup_note;  /* may be NULL */
};

/* Adds a rating (id written back) and counts it in stats_daily. 0, 1 if the item has one for
 * that round already, -1. */
int db_rating_add(struct db_conn *c, struct db_rating *r);
/* The newest rating of item_id: 1 / 0 none / -1. Freed with db_rating_free. */
int db_rating_last(struct db_conn *c, int64_t item_id, struct db_rating *out);
/* Closes the open follow-up of rating id as followup (confirmed | reopened), and moves its
 * count in stats_daily: 1 done / 0 it was not open / -1. */
int db_rating_followup(struct db_conn *c, int64_t id, const char *followup, int64_t at,
                       int64_t by, const char *note);
/* Number of reopenings of item_id (ratings whose follow-up reopened it). 0 or -1. */
int db_rating_rounds(struct db_conn *c, int64_t item_id, int *n);
void db_rating_free(struct db_rating *r);

/* A supervision order (supervision). */
struct db_supervision {
	int64_t id, item_id, at, by_id;
	char *by_name, *note;
	int64_t due, section_id;
};

/* Adds the order of s->item_id (id written back). 0, 1 if the item has one already, -1. */
int db_supervision_add(struct db_conn *c, struct db_supervision *s);
/* The order on item_id: 1 / 0 none / -1. Freed with db_supervision_free. */
int db_supervision_get(struct db_conn *c, int64_t item_id, struct db_supervision *out);
void db_supervision_free(struct db_supervision *s);
/* The reminder of order order_id on its due date, due at remind_at (written with the order;
 * replaces an earlier one). 0 or -1 (db_orders.c). */
int db_supervision_remind_add(struct db_conn *c, int64_t order_id, int64_t remind_at);
/* The orders whose reminder is due by now, the earliest first, at most limit: a new array
 * (db_supervisions_free). 0 or -1. */
int db_supervision_remind_due(struct db_conn *c, int64_t now, int limit,
                              struct db_supervision **out, size_t *n);
/* Takes the reminder of order_id off the queue (in the transaction that queued it). 0 or -1. */
int db_supervision_remind_done(struct db_conn *c, int64_t order_id);
void db_supervisions_free(struct db_supervision *v, size_t n);

/* --- operations: backup, restore, the audit chain (db_backup.c, db_audit.c) -------------- */

/* What happened to a backup, a restore or a check of a database file. */
enum db_file_status {
	DB_FILE_OK,
	DB_FILE_MISSING,  /* the file to read does not exist or cannot be read */
	DB_FILE_NOT_OURS, /* not an SQLite database, or not a civicdesk one */
	DB_FILE_NEWER,    /* written by a newer civicdesk (schema above db_schema_latest) */
	DB_FILE_OLDER,    /* audit verify: from before the audit chain, to be upgraded by serve */
	DB_FILE_DAMAGED,  /* fails PRAGMA integrity_check */
	DB_FILE_BUSY,     /* restore: civicdesk serve holds the database */
	DB_FILE_EXISTS,   /* backup: the destination exists already */
	DB_FILE_IO,       /* cannot write the destination (space, permissions) */
	DB_FILE_ERROR,    /* anything else */
};

/* Facts about a database file, for the operator. */
struct db_file_info {
	int version;       /* schema version */
	int64_t items;     /* rows of items */
	int64_t audit;     /* rows of audit */
	int64_t bytes;     /* size of the file written */
};

/* Copies the database at path to dest as one consistent SQLite database while the service may
 * be writing (VACUUM INTO: one read transaction, so the copy holds every transaction committed
 * before it began and none half). Writes dest.tmp beside dest, checks it with PRAGMA
 * integrity_check, syncs it and renames it into place: dest never holds a partial copy. Refuses
 * an existing dest. Returns DB_FILE_OK with *info filled, else a status with err set. */
enum db_file_status db_backup(const char *path, const char *dest, struct db_file_info *info,
                              char *err, size_t errsize);
/* Puts the backup src back as the database at path. The service must be stopped (its lock,
 * db_serve_lock, is taken for the duration). src must be a civicdesk database that passes
 * PRAGMA integrity_check with a schema this civicdesk knows (older ones are migrated at the
 * next start). An existing database is first copied to path.pre-restore-UNIXTIME (named in
 * saved, "" when there was none); then src replaces its content in one transaction (the SQLite
 * backup API). Returns DB_FILE_OK with *info filled (of the restored database), else a status
 * with err set. */
enum db_file_status db_restore(const char *src, const char *path, char *saved, size_t savedsize,
                               struct db_file_info *info, char *err, size_t errsize);
/* The lock civicdesk serve holds on its database for its lifetime (an flock on path.lock):
 * 0 taken (*fd to keep open; db_serve_unlock releases), 1 another process holds it, -1 error
 * with err set. Never blocks. */
int db_serve_lock(const char *path, int *fd, char *err, size_t errsize);
void db_serve_unlock(int fd);

/* The result of checking the audit chain. */
struct db_audit_check {
	int64_t records;                   /* records verified in order */
	int64_t head_id;                   /* the last verified record (0: none) */
	unsigned char head[DB_AUDIT_HASH]; /* its hash: anchor it outside to detect a cut tail */
	int64_t broken_id;                 /* the first broken or missing record; 0 when intact */
	char reason[512];                  /* what is wrong with it */
	int64_t archived;                  /* of the records, how many in archive files ... */
	int64_t archives;                  /* ... and in how many files */
};

/* A head anchored outside earlier (serve logs "audit chain head: record N hash HEX"): the
 * chain must still reach record id, with that hash. Without it, a log whose newest records
 * were deleted verifies as intact, only shorter. */
struct db_audit_anchor {
	int64_t id;
	unsigned char hash[DB_AUDIT_HASH];
};

/* Recomputes the audit chain on c from the first record, checking it against anchor (NULL:
 * none): 0 intact, 1 broken (out names the first broken or missing record), -1 error. Call
 * inside a read transaction for a consistent view. */
int db_audit_verify(struct db_conn *c, const struct db_audit_anchor *anchor,
                    struct db_audit_check *out);
/* The newest audit record's id and hash (0 and zeros when the log is empty): what to anchor
 * outside. 0 or -1. */
int db_audit_head(struct db_conn *c, int64_t *id, unsigned char hash[DB_AUDIT_HASH]);
/* The same on the database file at path (the live one while the service runs, or a backup),
 * without changing it: 0 intact, 1 broken, -1 error (err set; *status says which: missing,
 * not ours, newer, older than the audit chain, or error). */
int db_audit_verify_file(const char *path, const struct db_audit_anchor *anchor,
                         struct db_audit_check *out, enum db_file_status *status, char *err,
                         size_t errsize);

/* --- calendars (db_calendar.c) ------------------------------------------------------------ */

/* A calendar file as stored: a loaded one (calendar_files) or one of the applied calendar. */
struct db_calendar_file {
	int year;          /* calendar_files: the year it covers; 0 for an applied one */
	char *name, *text;
	int64_t loaded_at;
	char *loaded_by;   /* NULL for an applied one */
};

/* The loaded files, by year. 0 or -1. */
int db_calendar_files(struct db_conn *c, struct db_calendar_file **out, size_t *n);
/* Stores a loaded file, replacing the one of its year. 0 or -1. */
int db_calendar_file_put(struct db_conn *c, const struct db_calendar_file *f);
/* The files of the calendar the clocks were last computed with, in order, and its fingerprint
 * (into fp, size bytes). 1 found, 0 none recorded yet, -1 error. */
int db_calendar_applied(struct db_conn *c, struct db_calendar_file **out, size_t *n, char *fp,
                        size_t size);
/* Records the applied calendar (replacing the one before): its files, fingerprint and time, in
 * the caller's transaction. 0 or -1. */
int db_calendar_applied_set(struct db_conn *c, const char *const *names,
                            const char *const *texts, size_t n, const char *fingerprint,
                            int64_t at);
/* The fingerprint of the applied calendar alone, into fp. 1 / 0 / -1 as above. */
int db_calendar_fingerprint(struct db_conn *c, char *fp, size_t size);
void db_calendar_files_free(struct db_calendar_file *f, size_t n);
/* Items with a running clock (not stopped, not paused, no result yet), id > after_id in id
 * order: at most max ids and tracking numbers (new strings the caller frees). 0 or -1. */
int db_items_running(struct db_conn *c, int64_t after_id, size_t max, int64_t *ids,
                     char **trackings, size_t *n);
/* What db_audit_archive did. */
struct db_archive_info {
	int64_t first_id, last_id; /* the records archived (0 when none) */
	int64_t records;
	char file[4096];           /* the archive written */
};

/* Moves the audit records older than `before` (a prefix of the chain: up to the first record
 * at or after it) into a new archive file in dir (audit-FIRST-LAST.db, an SQLite database with
 * the records and their hashes as they were, written, synced and named before anything leaves
 * the live log), then records the archive (its range, the hash before it and its last hash,
 * from which the live chain goes on) and deletes those records from the live log in one
 * transaction, which it leaves open for the caller to add its own audit record of the archive
 * and commit (or roll back: the file stays, unrecorded, and the next archive writes it again).
 * The records are checked against their chain first: a broken chain is not archived. 0 (with
 * out->records > 0: the transaction open; 0: nothing was old enough, no transaction), or -1
 * with err (no transaction). */
int db_audit_archive(struct db_conn *c, const char *dir, int64_t before, int64_t now,
                     struct db_archive_info *out, char *err, size_t errsize);

/* --- the staff second factor: TOTP secrets and recovery codes (db_totp.c) ---------------- */

#define DB_TOTP_SECRET 20   /* bytes of a TOTP key */
#define DB_TOTP_SEALED 68   /* bytes of a sealed TOTP key (schema 021; sealed by totp.c) */
#define DB_TOTP_CODE_HASH 32 /* bytes of a recovery code's hash */

struct db_totp {
	int64_t account_id;
	unsigned char stored[DB_TOTP_SEALED]; /* the key as stored: sealed (DB_TOTP_SEALED bytes)
	                                       * or, written before schema 021, plain */
	size_t stored_len; /* DB_TOTP_SEALED or DB_TOTP_SECRET */
	int confirmed;     /* 0: enrolment started, 1: in use */
	int64_t last_step; /* newest time step whose code was accepted */
	int64_t created;
};

/* The TOTP row of an account: 1 found / 0 none / -1. */
int db_totp_get(struct db_conn *c, int64_t account_id, struct db_totp *out);
/* Every TOTP row, by account id, into a new array (db_totp_list_free). 0 or -1. */
int db_totp_list(struct db_conn *c, struct db_totp **out, size_t *n);
void db_totp_list_free(struct db_totp *rows, size_t n);
/* Replaces the stored form of the account's key (len DB_TOTP_SEALED or DB_TOTP_SECRET).
 * 1 / 0 no row / -1. */
int db_totp_store(struct db_conn *c, int64_t account_id, const unsigned char *stored,
                  size_t len);
/* on = 1: what the connection deletes or overwrites from now on is zeroed on disk (SQLite's
 * secure_delete), for rewriting keys stored in the clear; on = 0: back to the default, then
 * the write-ahead log is checkpointed and truncated so that no old frame keeps them. Outside
 * a transaction. 0 or -1 (a busy checkpoint: -1, the data is safe, the frames stay until the
 * next checkpoint). */
int db_totp_scrub(struct db_conn *c, int on);
/* Starts an enrolment: stores the key's stored form (len as above) unconfirmed (replacing any
 * row of the account) and removes the account's recovery codes. 0 or -1. */
int db_totp_begin(struct db_conn *c, int64_t account_id, const unsigned char *stored,
                  size_t len, int64_t now);
/* Confirms the enrolment with the step of the code that proved it. 1 / 0 no row / -1. */
int db_totp_confirm(struct db_conn *c, int64_t account_id, int64_t step);
/* Records that the code of time step was used, unless a code of that step or a later one was
 * used already: 1 recorded / 0 replayed (or no row) / -1. */
int db_totp_use_step(struct db_conn *c, int64_t account_id, int64_t step);
/* Removes the account's TOTP row and recovery codes: 1 there was a row / 0 none / -1. */
int db_totp_delete(struct db_conn *c, int64_t account_id);
/* Adds one recovery code hash of the account. 0 or -1. */
int db_totp_recovery_add(struct db_conn *c, int64_t account_id,
                         const unsigned char hash[DB_TOTP_CODE_HASH]);
/* Marks the unused recovery code with that hash used at now: 1 done / 0 no such unused code /
 * -1. */
int db_totp_recovery_use(struct db_conn *c, int64_t account_id,
                         const unsigned char hash[DB_TOTP_CODE_HASH], int64_t now);
/* Unused recovery codes of the account into *n. 0 or -1. */
int db_totp_recovery_left(struct db_conn *c, int64_t account_id, int64_t *n);

/* --- attachment scans and content screening (db_scan.c) ---------------------------------- */

/* Records the scan state of an attachment ("clean", "pending", "infected") with its note. 0 or
 * -1. */
int db_scan_set(struct db_conn *c, int64_t attachment_id, const char *state, const char *note,
                int64_t at);
/* The scan state of an attachment into state: 1, 0 when it has none, -1. */
int db_scan_state(struct db_conn *c, int64_t attachment_id, char state[16]);
/* A held attachment. */
struct db_scan_held {
	int64_t attachment_id, item_id;
};
/* At most max held attachments, the least tried first. 0 or -1. */
int db_scan_pending(struct db_conn *c, struct db_scan_held *out, size_t max, size_t *n);
/* Counts one more failed scan of a held attachment. 0 or -1. */
int db_scan_try(struct db_conn *c, int64_t attachment_id);
/* Removes the content of an infected attachment (its row, name and size stay). 0 or -1. */
int db_scan_purge(struct db_conn *c, int64_t attachment_id);

/* The screening flag of an item (prohibited words or patterns found in its text). */
struct db_screen {
	int64_t item_id;
	char *matched;        /* the entries it matched, as configured */
	int64_t at;
	int64_t cleared_by;   /* account id; 0 while flagged */
	char *cleared_name;   /* its username (joined), or NULL */
	int64_t cleared_at;   /* 0 while flagged */
};

/* Flags item_id with what matched at `at` (a flag it had, even cleared, is replaced: the new
 * text needs a review of its own). 0 or -1. */
int db_screen_add(struct db_conn *c, int64_t item_id, const char *matched, int64_t at);
/* The flag of item_id: 1 / 0 none / -1; freed with db_screen_free. */
int db_screen_get(struct db_conn *c, int64_t item_id, struct db_screen *out);
/* Clears the flag of item_id by account at: 1 / 0 no open flag / -1. */
int db_screen_clear(struct db_conn *c, int64_t item_id, int64_t account_id, int64_t at);
void db_screen_free(struct db_screen *s);

#endif
