/*
 * mailin.h: mail-in intake. Parses one RFC 5322 message with GMime 3 into what an item needs
 * (decoded subject, sender, text body, attachments, the kind chosen by the receiving address),
 * recognises automatic mail that must make no item (auto-replies, bounces, list mail), and
 * stores a message through core/ with its raw bytes: `civicdesk ingest-mail` (one message on
 * stdin) and the IMAP poller of `civicdesk serve` both come in here.
 *
 * Charsets: every gb2312 / euc-cn / gbk label (and unknown names containing them) is decoded
 * with GB18030, Big5 labels with Big5 (Big5-HKSCS when Big5 cannot read the text whole),
 * Big5-HKSCS labels with Big5-HKSCS; raw 8-bit headers and unlabelled bodies are tried as
 * UTF-8, then GB18030, then Latin-1. Text that decodes to mojibake (锟斤拷) is kept as it is.
 */
#ifndef MAILIN_H
#define MAILIN_H

#include <stddef.h>
#include <stdint.h>

#define MAIL_RAW_MAX (32L * 1024 * 1024) /* bytes of a message at most; above: never storable */
#define MAIL_KINDS_MAX 16                /* receiving-address rules */
#define MAIL_ADDR_MAX 254                /* bytes of an address */
#define MAIL_ATT_MAX 16                  /* attachments a parsed message holds at most */
#define MAIL_REFS_MAX 32                 /* In-Reply-To and References ids kept */
#define MAIL_PARTS_MAX 256               /* MIME parts looked at */
#define MAIL_DEPTH_MAX 16                /* nesting of multiparts looked into */
#define MAIL_TRACKING_LEN 17             /* XJ-YYYYMMDD-NNNNN */
#define MAIL_KIND_LEN 16                 /* bytes of a kind name and its NUL */
#define MAIL_BOUNCE_IDS 8                /* Message-IDs a bounce is matched by at most */
#define MAIL_LEFT_LISTED 20              /* files left out that the acknowledgement names */

/* The limits of web attachments and fields, applied to mail alike (but the subject: the whole
 * decoded Subject is kept up to INTAKE_MAIL_SUBJECT_MAX). */
struct mail_limits {
	size_t max_attachments; /* files per item (at most MAIL_ATT_MAX) */
	int64_t attachment_max; /* bytes per file */
	size_t subject_max;     /* code points */
	size_t body_max;        /* code points */
	size_t filename_max;    /* bytes */
	const char *types;      /* types allowed by content (attachment_types, lent); NULL: any */
	int64_t item_max;       /* bytes of all kept attachments together; 0: no cap */
};

/* The receiving address decides the kind: "director" matches director@ any domain,
 * "director@bureau.gov.cn" that address only (case-insensitive). */
struct mail_kind_rule {
	char addr[MAIL_ADDR_MAX + 1];
	char kind[MAIL_KIND_LEN]; /* letter | complaint | consultation */
};

struct mail_config {
	struct mail_limits limits;
	struct mail_kind_rule kinds[MAIL_KINDS_MAX];
	size_t nkinds;
	char default_kind[MAIL_KIND_LEN]; /* for mail that names no configured address: letter */
};

#define MAIL_TYPES_DEFAULT "pdf,png,jpeg,gif,webp,office,doc,txt" /* as attachment_types */
#define MAIL_KINDS_DEFAULT "director=letter,complaint=complaint,ask=consultation"

/* Fills cfg with the web limits (5 files of 5 MiB, 20 MiB together, of the default types by
 * content; body 20000 code points; file names 255 bytes), a subject of up to
 * INTAKE_MAIL_SUBJECT_MAX (2000) code points, the rules of MAIL_KINDS_DEFAULT and the default
 * kind letter. */
void mail_config_default(struct mail_config *cfg);
/* Replaces the rules of cfg by spec, "ADDR=KIND" separated by commas or spaces ("" : none).
 * Returns 0, or -1 with cfg unchanged and the entry at fault named in err. */
int mail_kinds_parse(struct mail_config *cfg, const char *spec, char *err, size_t errsize);

struct mail_attachment {
	char *filename;     /* decoded UTF-8 base name, never empty */
	char *content_type; /* lower-case type/subtype */
	unsigned char *data;
	size_t size;
};

/* One parsed message. Strings are UTF-8 without control characters (body: but tab and LF),
 * owned by the struct and freed by mail_msg_free. */
struct mail_msg {
	const char *ignored;   /* static reason when the message must make no item, else NULL */
	const char *kind;      /* lent from the config: the kind its receiving address decides */
	char *subject;         /* whole decoded Subject, "(no subject)" if none (one over
	                        * subject_max cut with "…" and kept whole at the body's end) */
	char *body;            /* decoded text (plain preferred; HTML made plain), never empty */
	/* the citizen: From's mailbox, or Reply-To's when it names one other address than From
	 * and than ours (a web form's relay sends From itself, Reply-To the citizen) */
	char *from_name;       /* decoded display name, or NULL */
	char *from_addr;       /* address, or NULL */
	char *relay_addr;      /* From's address when Reply-To's was taken, else NULL */
	char *message_id;      /* Message-ID without angle brackets, or NULL */
	char *refs[MAIL_REFS_MAX]; /* In-Reply-To, then References, without brackets */
	size_t nrefs;
	char tracking[MAIL_TRACKING_LEN + 1]; /* a tracking number named in the subject, or "" */
	struct mail_attachment att[MAIL_ATT_MAX];
	size_t natt;
	size_t dropped;        /* attachments over the limits, not kept (noted in the body) */
	int big5;              /* 1: a text part was in Big5 or Big5-HKSCS, or the Subject's
	                        * encoded words were and no text part was in a GB charset: the
	                        * citizen writes traditional Chinese (the item's language) */
	int gb;                /* 1: a text part or the Subject's encoded words were in a GB
	                        * charset (gb2312, GBK, GB18030, …) */
	int wordless;          /* 1: the citizen's subject and text hold no letter of any script
	                        * (the language guessed from them would rest on nothing) */
	const char *lang;      /* static: the citizen's language (zh-Hans, zh-Hant, en): Big5
	                        * says zh-Hant, a GB charset zh-Hans on a wordless letter, else
	                        * lang_guess of the subject and their text (not our notes) */
	struct mail_left {     /* the files not kept (the first MAIL_LEFT_LISTED) and why */
		char *name;
		size_t size;
		enum mail_left_why {
			MAIL_LEFT_EMPTY, MAIL_LEFT_LARGE, MAIL_LEFT_COUNT, MAIL_LEFT_TYPE,
			MAIL_LEFT_TOTAL,
			MAIL_LEFT_TNEF, /* Outlook's winmail.dat: its files cannot be read */
			MAIL_LEFT__MAX
		} why;
		long long limit; /* the limit passed (bytes, or files for COUNT) */
	} left[MAIL_LEFT_LISTED];
	size_t nleft;          /* files not kept (left[] holds the first MAIL_LEFT_LISTED) */
	char *left_out;        /* the acknowledgement's words naming each file not kept and why
	                        * (mail_left_out, set by the storing code), or NULL */
	/* a bounce (ignored starts "bounce"): what it says about the message it returns */
	int bounce;
	char *bounce_ids[MAIL_BOUNCE_IDS]; /* Message-IDs it names: the returned message's first,
	                                    * then ids quoted in its text, then its references */
	size_t nbounce_ids;
	char *bounce_reason;   /* the failed recipient's Status and Diagnostic-Code, else the
	                        * subject and first line of its text; never NULL in a bounce */
	int bounce_delayed;    /* 1: a report of delayed recipients only: no failure */
};

enum mail_err {
	MAIL_OK,
	MAIL_INVALID, /* never storable: too large, not a message */
	MAIL_NOMEM,   /* out of memory: try again later */
};

const char *mail_strerror(enum mail_err e);

/* Initialises GMime once per process (thread-safe); mail_parse calls it. */
void mail_init(void);
/* Parses the message raw[0..len) under cfg into *out (written only on MAIL_OK; out->ignored
 * says whether it makes an item). MAIL_INVALID and MAIL_NOMEM put a sentence in err. */
enum mail_err mail_parse(const struct mail_config *cfg, const char *raw, size_t len,
                         struct mail_msg *out, char *err, size_t errsize);
void mail_msg_free(struct mail_msg *m);
/* The acknowledgement's words on the files m left out (m->left), in language lang ("zh-Hans",
 * "zh-Hant", "en"; NULL or another: Chinese and English together, as for an item without a
 * language): a GLib string, or NULL when none was left out (or out of memory). */
char *mail_left_out(const struct mail_msg *m, const char *lang);
/* Whether two messages with one Message-ID are the same letter (an MTA's retry, or the letter
 * piped and polled): their Date, From and Subject are alike (a header one of them lacks is
 * alike). 1 the same, 0 another letter reusing the Message-ID (a scanner's, a form script's),
 * -1 out of memory. */
int mail_same_letter(const char *a, size_t alen, const char *b, size_t blen);
/* The Message-ID under which a letter reusing another's id is stored: "ID#" and 12 hex digits
 * of a SHA-256 of its Date, From and Subject (so its own retries are found): a GLib string, or
 * NULL out of memory. */
char *mail_letter_key(const char *raw, size_t len, const char *id);

/* --- storing (ingest.c): through core/ only ---------------------------------------------- */

struct app;

/* Where a polled message came from; NULL for ingest-mail (an MTA's pipe). */
struct mailin_source {
	const char *mailbox;  /* the mailbox URL without credentials */
	int64_t uidvalidity;
	int64_t uid;
};

enum mailin_outcome {
	MAILIN_CREATED,   /* a new item (channel email) */
	MAILIN_ADDED,     /* added to the sender's item (their answer when it waited for them) */
	MAILIN_DUPLICATE, /* its Message-ID (or IMAP UID) was stored already: that item */
	MAILIN_IGNORED,   /* automatic mail: no item */
	MAILIN_INVALID,   /* never storable (sysexits 65) */
	MAILIN_RETRY,     /* storage busy or unavailable, out of memory: try again (75) */
};

/* The mail configuration of app (limits of web attachments, cfg.mail_kinds). 0, or -1 with the
 * rule at fault in err. */
int mailin_config(struct app *app, struct mail_config *out, char *err, size_t errsize);
/* Parses and stores the message raw[0..len) at now: a new item through core_submit, or a reply
 * added through core_citizen_mail, each in one transaction with the raw message, its
 * Message-ID and (src) its IMAP position. Writes into line what ingest-mail prints: the
 * tracking number, "ignored: REASON", or (INVALID, RETRY) why. Returns only CREATED, ADDED or
 * DUPLICATE when the message is durably stored. */
enum mailin_outcome mailin_store(struct app *app, const struct mail_config *cfg, const char *raw,
                                 size_t len, const struct mailin_source *src, int64_t now,
                                 char *line, size_t linesize);

/* One message of a batch. */
struct mailin_msg {
	const char *raw;            /* lent; not read when len is over MAIL_RAW_MAX */
	size_t len;                 /* its bytes (over MAIL_RAW_MAX: the server's size, unfetched) */
	const char *head;           /* a message over MAIL_RAW_MAX: its header, fetched alone
	                             * (lent), or NULL */
	size_t head_len;
	struct mailin_source src;   /* its IMAP position */
	enum mailin_outcome outcome; /* out: as mailin_store's */
};

/* mailin_store of msgs[0..n) at now: parsed by two threads, the new items stored together in
 * one transaction of the group commit (one fsync), the ignored and duplicate ones recorded in
 * one more; replies and bounces each in their own. Each msgs[i].outcome says what was done;
 * only CREATED, ADDED, DUPLICATE, IGNORED and INVALID are durably recorded. A message over
 * MAIL_RAW_MAX whose head names a sender who is a person (not automatic mail by the noise rules:
 * auto-replies, bounces, list mail) is recorded with the notice telling that sender, in one
 * transaction. */
void mailin_store_batch(struct app *app, const struct mail_config *cfg, struct mailin_msg *msgs,
                        size_t n, int64_t now);

/* --- the IMAP poller of serve (imap.c) ----------------------------------------------------- */

struct mailin_poller;

/* What one poll did. */
struct mailin_poll_stats {
	size_t stored;    /* new items and replies added */
	size_t duplicate; /* Message-ID stored already */
	size_t ignored;   /* automatic mail and never-storable messages (recorded) */
	size_t retry;     /* left for the next poll (storage busy) */
};

/* A poller for app's cfg.imap_url (imap[s]://user:pass@host:port/MAILBOX) every
 * cfg.imap_interval seconds, not yet started. 0, or -1 with why in err (a bad URL, bad
 * mail_kinds). */
int mailin_poller_new(struct app *app, struct mailin_poller **out, char *err, size_t errsize);
/* Starts its thread. 0 or -1. */
int mailin_poller_start(struct mailin_poller *p);
/* One poll now, in the caller's thread (the thread does the same). 0, or -1 when the server
 * could not be asked or answered (logged with libcurl's words); st says what was done. */
int mailin_poll_once(struct mailin_poller *p, struct mailin_poll_stats *st);
/* Stops the thread (the message being stored finishes) and frees p; NULL is fine. */
void mailin_poller_stop(struct mailin_poller *p);
void mailin_poller_free(struct mailin_poller *p);

/* The charset tables of Chinese mail (GB18030, Big5) kept loaded while a long-lived caller (the
 * poller) parses many messages: a new pin (NULL when out of memory), freed by
 * mail_charsets_unpin (NULL is fine). */
struct mail_pin;
struct mail_pin *mail_charsets_pin(void);
void mail_charsets_unpin(struct mail_pin *p);

/* Text helpers, public for the tests. Each returns a new string (free()) or NULL when out of
 * memory. */
/* The iconv name a charset label is decoded with (GB18030 for every gb2312/gbk/euc-cn label). */
const char *mail_charset(const char *label);
/* The text of an HTML document (UTF-8) as a reader of the rendered mail sees it, read by
 * libxml2's HTML parser: no tag, comment, head, title, script, style or hidden element
 * (display:none, visibility:hidden, the hidden attribute) survives; character references
 * decoded; layout white space folded; blocks and <br> as line ends, list items after "-" or
 * their number, quotes after ">", table cells tab apart; a link's address in <> after its text
 * when the text does not say it. The parse stops after 1 MiB of text (HTML_TEXT_MAX). */
char *mail_html_text(const char *html, size_t len);
/* text with HTML character references (&nbsp; &lt; &#20013; …) decoded, as QQ Mail writes them
 * in text/plain. */
char *mail_entities_decode(const char *text);

#endif
