/*
 * core_int.h: what the files of service/core share beyond core.h.
 */
#ifndef CORE_INT_H
#define CORE_INT_H

#include "core.h"

/* Frees the submissions' memory app keeps (intake.c), once no submission is in flight. */
void intake_spares_free(struct app *app);

/* The group-commit writer's batch hook (intake.c, cls app->submit_batch): between begin and end
 * of an unguarded batch, the statistics' changes (stats_batch) and the submissions' events for
 * the notifiers' on_batch are gathered, and end writes them. New (NULL when out of memory) for
 * app, with its statistics' gathering; free (NULL is fine). */
struct intake_batch *intake_batch_new(struct app *app, struct stats_batch *stats);
void intake_batch_free(struct intake_batch *b);
void intake_batch_begin(void *cls, int guarded);
int intake_batch_end(void *cls, struct db_conn *c);

/* The CJK unified ideographs U+4E00..U+9FFF of one script only (lang_hanzi.c, written by
 * tools/gen_hanzi.py): bit (cp - 0x4E00) set when GB 2312 has it and Big5 not (hans), or Big5
 * and not GB 2312 (hant). */
/* The password policy's refusals (passwords.c, pwcheck.c), one text each, which
 * auth_password_rule names. */
#define PW_TOO_LONG "the password must be at most 256 bytes long"
#define PW_CONTROL "the password must not contain control characters"
#define PW_SHORT "the password must be at least 8 characters long"
#define PW_CLASSES                                                                            \
	"the password must use at least 3 of: lower-case letters, upper-case letters, digits, "   \
	"symbols"
#define PW_USERNAME "the password must not contain the account name"
#define PW_COMMON                                                                             \
	"the password is a common password or a variant of one (on the list of common passwords " \
	"civicdesk refuses)"
#define PW_DISPLAY_NAME "the password must not contain the account's display name"
#define PW_EMAIL "the password must not contain the account's e-mail address"
#define PW_PHONE "the password must not contain the account's phone number"

#define LANG_HANZI_FIRST 0x4E00
#define LANG_HANZI_BYTES ((0x9FFF - LANG_HANZI_FIRST + 1 + 7) / 8)
extern const unsigned char lang_hans_bits[LANG_HANZI_BYTES];
extern const unsigned char lang_hant_bits[LANG_HANZI_BYTES];

/* The session writer (session_writer.c): each queues a change of a session for app's writer,
 * merged with a queued one of the same session (the later activity wins), and returns 1; or
 * returns 0 when app has no writer (the caller writes it). A change that finds the queue full is
 * dropped (1): the session's next check finds it due again. */
int session_touch_later(struct app *app, const unsigned char hash[DB_TOKEN_HASH], int64_t at);
int session_end_later(struct app *app, const unsigned char hash[DB_TOKEN_HASH]);
int session_end_account_later(struct app *app, int64_t account_id);
/* The latest activity of session hash that the writer has queued or is writing, 0 when none.
 * Asked before the session's row is read: a batch committed after the question is in the
 * snapshot the row is then read from. */
int64_t session_seen(struct app *app, const unsigned char hash[DB_TOKEN_HASH]);

/* Replaces an owned string field with a copy of s (NULL clears it). 0 or -1. */
int core_set_str(char **field, const char *s);

/* An item loaded for change inside a write transaction (txn.c): the skeleton that every change
 * to an item shares, so that the item row, its history, audit and outbox rows commit as one. */
struct core_txn {
	struct app *app;
	struct db_conn *c;
	struct db_item item; /* valid once txn_begin returned 0 */
	int began;           /* 1 while the transaction is open */
	int have_item;
};

/* Opens BEGIN IMMEDIATE on c and loads item `tracking`. 0, or -1 with err (CORE_NOT_FOUND,
 * CORE_BUSY, CORE_ERROR); txn_end must be called either way. */
int txn_begin(struct core_txn *t, struct app *app, struct db_conn *c, const char *tracking,
              struct core_error *err);
/* Stores t->item (and its statistics' facts, stats_record), the history row h (its item), an audit row for who (action h->action, the
 * detail), calls the notification hook with ev (NULL: none) and commits. 0, or -1 with err
 * (CORE_BUSY, CORE_ERROR) and the transaction rolled back. */
int txn_commit(struct core_txn *t, const struct actor *who, const struct db_history *h,
               const char *detail, const struct core_event *ev, struct core_error *err);
/* Fills h with the history row of action by the staff member of session s at now, on the
 * item of t, leaving its state as it is (a flag cleared, an order, the public version); note
 * may be NULL. */
void txn_history_same_state(struct db_history *h, const struct core_txn *t,
                            const struct session *s, const char *action, const char *note,
                            int64_t now);
/* The same with nh history rows (0 or more, e.g. one per moved due time) and the audit and
 * statistics' action named apart, at `at`. */
int txn_commit_rows(struct core_txn *t, const struct actor *who, const char *action, int64_t at,
                    const struct db_history *h, size_t nh, const char *detail,
                    const struct core_event *ev, struct core_error *err);
/* For a batch: loads item `tracking` into t inside the transaction the caller holds open on c
 * (txn_end then frees the item and leaves the transaction alone). 0, or -1 with err. */
int txn_load(struct core_txn *t, struct app *app, struct db_conn *c, const char *tracking,
             struct core_error *err);
/* Writes what txn_commit_rows writes, without committing: the caller commits the batch, or
 * rolls it back on -1 (err). */
int txn_write_rows(struct core_txn *t, const struct actor *who, const char *action, int64_t at,
                   const struct db_history *h, size_t nh, const char *detail,
                   const struct core_event *ev, struct core_error *err);
/* Rolls back what is still open and frees the item. */
void txn_end(struct core_txn *t);

/* Applies the clock effects of transition t to item at now under policy p (actions.c). */
void core_apply_clocks(const struct wf_transition *t, struct db_item *item, const struct policy *p,
                       const struct sla_calendar *cal, int64_t now);

/* The length of the valid UTF-8 sequence (no overlong form, surrogate or code point beyond
 * U+10FFFF) at p, before end, with its code point in *cp; 0 if there is none (validate.c). */
size_t core_utf8_seq(const unsigned char *p, const unsigned char *end, unsigned *cp);

/* A data file built into the binary (generated by tools/embed). */
struct core_blob {
	const char *name; /* base name */
	const char *data; /* contents, NUL-terminated */
	size_t len;
};

/* The common-password blocklist, one lower-case password a line (pwcheck.c). */
extern const struct core_blob core_password_blocklist[];

#endif
