/*
 * cmd_ops.c: the operator's commands on the database file: civicdesk backup FILE (while serve
 * runs), civicdesk restore FILE (serve stopped) and civicdesk audit verify [--head H] [FILE].
 * Exit codes from sysexits: 0 done (audit: chain intact), 1 audit chain broken, 64 usage, 65
 * the file is not a civicdesk database, from a newer civicdesk or damaged, 66 the file to read
 * is missing, 70 internal error, 73 the backup file exists already, 74 cannot write, 75 serve
 * is running (restore: stop it and try again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <sodium.h>

#include "service/core/core.h"
#include "cli.h"

#define EX_OK 0
#define EX_BROKEN 1
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_NOINPUT 66
#define EX_SOFTWARE 70
#define EX_CANTCREAT 73
#define EX_IOERR 74
#define EX_TEMPFAIL 75

/* The exit status of each enum db_file_status. */
static const int file_exit[] = {
    [DB_FILE_OK] = EX_OK,
    [DB_FILE_MISSING] = EX_NOINPUT,
    [DB_FILE_NOT_OURS] = EX_DATAERR,
    [DB_FILE_NEWER] = EX_DATAERR,
    [DB_FILE_OLDER] = EX_DATAERR,
    [DB_FILE_DAMAGED] = EX_DATAERR,
    [DB_FILE_BUSY] = EX_TEMPFAIL,
    [DB_FILE_EXISTS] = EX_CANTCREAT,
    [DB_FILE_IO] = EX_IOERR,
    [DB_FILE_ERROR] = EX_SOFTWARE,
};

/* Reads the configuration as every command does (--config FILE, CIVICDESK_CONFIG, else
 * ./civicdesk.conf if present; CIVICDESK_DB overrides) for the database path. 0 or -1 having
 * said why on stderr. */
int
cli_config(struct config *cfg, const char *path, const char *cmd)
{
	char err[1024];
	int explicit_path = path != NULL;

	if (path == NULL && getenv("CIVICDESK_CONFIG") != NULL) {
		path = getenv("CIVICDESK_CONFIG");
		explicit_path = 1;
	}
	if (path == NULL)
		path = "civicdesk.conf";
	if (config_load(cfg, path, explicit_path, err, sizeof(err)) != 0) {
		if (cmd != NULL)
			fprintf(stderr, "civicdesk %s: configuration: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int
cli_db_exists(const char *config, const char *cmd)
{
	struct config cfg;
	const char *from = config != NULL ? config : getenv("CIVICDESK_CONFIG");
	char how[512];

	if (cli_config(&cfg, config, cmd) != 0)
		return -1;
	if (access(cfg.db, F_OK) == 0) {
		config_free(&cfg);
		return 0;
	}
	if (from == NULL && access("civicdesk.conf", F_OK) == 0)
		from = "civicdesk.conf";
	if (getenv("CIVICDESK_DB") != NULL)
		snprintf(how, sizeof(how), "from CIVICDESK_DB");
	else if (from != NULL)
		snprintf(how, sizeof(how), "from %s", from);
	else
		snprintf(how, sizeof(how), "the default: no civicdesk.conf in this folder, no "
		                           "--config, no CIVICDESK_CONFIG");
	fprintf(stderr,
	        "civicdesk %s: no database at %s (%s); give the configuration civicdesk serve "
	        "uses (--config FILE or CIVICDESK_CONFIG=FILE; installed: "
	        "/etc/civicdesk/civicdesk.conf)\n",
	        cmd, cfg.db, how);
	config_free(&cfg);
	return -1;
}

int
cli_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Splits [--config FILE] ARG: 0 with *config and *arg set (arg NULL when optional and absent),
 * or -1 on a usage error. */
static int
ops_args(int argc, char **argv, int first, int arg_required, const char **config,
         const char **arg)
{
	int i;

	*config = NULL;
	*arg = NULL;
	for (i = first; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*config = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return -1;
		else if (*arg == NULL)
			*arg = argv[i];
		else
			return -1;
	}
	return *arg == NULL && arg_required ? -1 : 0;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
backup_usage(FILE *out)
{
	fprintf(out, "usage: civicdesk backup [--config FILE] BACKUP-FILE\n"
	             "  copies the database (also while serve runs) into BACKUP-FILE, a new file\n");
}

int
cmd_backup(int argc, char **argv)
{
	struct config cfg;
	struct db_file_info info;
	struct timespec t0;
	const char *config, *dest;
	char err[1024];
	enum db_file_status st;

	if (cli_help(argc, argv)) {
		backup_usage(stdout);
		return EX_OK;
	}
	if (ops_args(argc, argv, 1, 1, &config, &dest) != 0) {
		backup_usage(stderr);
		return EX_USAGE;
	}
	if (cli_config(&cfg, config, "backup") != 0)
		return EX_DATAERR;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&info, 0, sizeof(info));
	st = db_backup(cfg.db, dest, &info, err, sizeof(err));
	if (st != DB_FILE_OK) {
		fprintf(stderr, "civicdesk backup: %s\n", err);
	} else {
		char key[4096];

		printf("backup of %s written to %s: schema %d, %lld items, %lld audit records, %lld "
		       "bytes, %.2f s\n",
		       cfg.db, dest, info.version, (long long)info.items, (long long)info.audit,
		       (long long)info.bytes, seconds_since(&t0));
		/* deliberately not copied beside it: a stolen backup gives no TOTP key away */
		totp_key_path(&cfg, key, sizeof(key));
		if (access(key, F_OK) == 0)
			printf("the second factors' keys in it are sealed with the key file %s, which "
			       "is not in the backup: keep a copy of that file, apart from the "
			       "backups\n",
			       key);
	}
	config_free(&cfg);
	return file_exit[st];
}

static void
restore_usage(FILE *out)
{
	fprintf(out, "usage: civicdesk restore [--config FILE] BACKUP-FILE\n"
	             "  puts BACKUP-FILE back as the database; civicdesk serve must be stopped\n");
}

int
cmd_restore(int argc, char **argv)
{
	struct config cfg;
	struct db_file_info info;
	const char *config, *src;
	char err[1024], saved[4096];
	enum db_file_status st;

	if (cli_help(argc, argv)) {
		restore_usage(stdout);
		return EX_OK;
	}
	if (ops_args(argc, argv, 1, 1, &config, &src) != 0) {
		restore_usage(stderr);
		return EX_USAGE;
	}
	if (cli_config(&cfg, config, "restore") != 0)
		return EX_DATAERR;
	memset(&info, 0, sizeof(info));
	st = db_restore(src, cfg.db, saved, sizeof(saved), &info, err, sizeof(err));
	if (st != DB_FILE_OK) {
		fprintf(stderr, "civicdesk restore: %s; the database was not changed\n", err);
		/* the database could not be written where it was looked for: say where that came
		 * from (a file that is no backup is said in one line) */
		if (st == DB_FILE_IO && access(cfg.db, F_OK) != 0)
			cli_db_exists(config, "restore");
	} else {
		printf("restored %s into %s: schema %d, %lld items, %lld audit records\n", src, cfg.db,
		       info.version, (long long)info.items, (long long)info.audit);
		if (saved[0] != '\0')
			printf("the database it replaced is kept as %s\n", saved);
		if (info.version < db_schema_latest())
			printf("its schema is upgraded from %d to %d when civicdesk serve starts\n",
			       info.version, db_schema_latest());
	}
	config_free(&cfg);
	return file_exit[st];
}

static void
audit_usage(FILE *out)
{
	fprintf(out,
	        "usage: civicdesk audit verify [--head 'record N hash HEX'] [--config FILE] "
	        "[DATABASE-FILE]\n"
	        "       civicdesk audit archive [--config FILE]\n"
	        "  verify   checks the audit chain of the database (default: the configured one;\n"
	        "           a backup file may be given) with its archive files: exit 0 intact,\n"
	        "           1 broken; --head: a head serve logged earlier, which must still be in\n"
	        "           the chain\n"
	        "  archive  moves the records older than audit_archive_days to an archive file\n"
	        "           now (serve does it daily)\n");
}

/* civicdesk audit archive [--config FILE]: 0 done (or nothing old enough), 70 on error. */
static int
audit_archive(int argc, char **argv)
{
	struct db_archive_info info;
	const char *config = NULL;
	struct app app;
	char err[1024];
	int rc = EX_SOFTWARE;

	if (argc == 4 && strcmp(argv[2], "--config") == 0)
		config = argv[3];
	else if (argc != 2) {
		audit_usage(stderr);
		return EX_USAGE;
	}
	if (cli_db_exists(config, "audit") != 0)
		return EX_NOINPUT;
	if (app_open(&app, config, stderr) != 0)
		return EX_SOFTWARE;
	if (core_audit_archive(&app, app_now(&app), &info, err, sizeof(err)) != 0)
		fprintf(stderr, "civicdesk audit: %s\n", err);
	else {
		if (info.records > 0)
			printf("archived records %lld to %lld (%lld records) to %s\n",
			       (long long)info.first_id, (long long)info.last_id,
			       (long long)info.records, info.file);
		else
			printf("no audit records older than %ld days\n", app.cfg.audit_archive_days);
		rc = EX_OK;
	}
	app_close(&app);
	return rc;
}

/* Reads an anchored head as the administrator copied it: "N:HEX", "record N hash HEX" or the
 * whole line serve logs ("audit chain head: record N hash HEX"). 0, or -1 when it is none of
 * these. */
static int
parse_anchor(const char *s, struct db_audit_anchor *a)
{
	const char *p = strstr(s, "record");
	char *end;
	size_t hexlen;

	p = p != NULL ? p + strlen("record") : s;
	p += strspn(p, " \t");
	if (*p < '0' || *p > '9')
		return -1;
	a->id = strtoll(p, &end, 10);
	if (a->id <= 0)
		return -1;
	p = end + strspn(end, " \t");
	if (*p == ':')
		p++;
	else if (strncmp(p, "hash", 4) == 0)
		p += 4;
	else
		return -1;
	p += strspn(p, " \t");
	hexlen = strspn(p, "0123456789abcdefABCDEF");
	if (hexlen != DB_AUDIT_HASH * 2 || p[hexlen + strspn(p + hexlen, " \t\r\n")] != '\0')
		return -1;
	return sodium_hex2bin(a->hash, sizeof(a->hash), p, hexlen, NULL, NULL, NULL) == 0 ? 0 : -1;
}

/* Takes --head VALUE (or --head=VALUE) out of argv, in place. 1 taken, 0 absent, -1 given but
 * unreadable or twice (said on stderr). */
static int
take_anchor(int *argc, char **argv, struct db_audit_anchor *a)
{
	const char *value;
	int i, j, found = 0;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--head") == 0 && i + 1 < *argc) {
			value = argv[i + 1];
			j = 2;
		} else if (strncmp(argv[i], "--head=", 7) == 0) {
			value = argv[i] + 7;
			j = 1;
		} else {
			continue;
		}
		if (found++ || parse_anchor(value, a) != 0) {
			fprintf(stderr, "civicdesk audit: --head wants the line serve logged, e.g. "
			                "\"record 42 hash\" and its 64 hex digits (or 42:HEX), once\n");
			return -1;
		}
		memmove(argv + i, argv + i + j, (size_t)(*argc - i - j + 1) * sizeof(*argv));
		*argc -= j;
		i--;
	}
	return found;
}

int
cmd_audit(int argc, char **argv)
{
	struct config cfg;
	struct db_audit_check chk;
	struct db_audit_anchor anchor;
	enum db_file_status st = DB_FILE_ERROR;
	const char *config, *file;
	char err[1024], hex[DB_AUDIT_HASH * 2 + 1];
	int rc, anchored = 0;

	if (cli_help(argc, argv)) {
		audit_usage(stdout);
		return EX_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "archive") == 0)
		return audit_archive(argc, argv);
	memset(&anchor, 0, sizeof(anchor));
	if (argc >= 2 && strcmp(argv[1], "verify") == 0 &&
	    (anchored = take_anchor(&argc, argv, &anchor)) < 0)
		return EX_USAGE;
	if (argc < 2 || strcmp(argv[1], "verify") != 0 ||
	    ops_args(argc, argv, 2, 0, &config, &file) != 0) {
		audit_usage(stderr);
		return EX_USAGE;
	}
	if (cli_config(&cfg, config, "audit") != 0)
		return EX_DATAERR;
	rc = db_audit_verify_file(file ? file : cfg.db, anchored ? &anchor : NULL, &chk, &st, err,
	                          sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "civicdesk audit: %s\n", err);
		config_free(&cfg);
		return st == DB_FILE_OK ? EX_SOFTWARE : file_exit[st];
	}
	sodium_bin2hex(hex, sizeof(hex), chk.head, sizeof(chk.head));
	if (rc == 0 && chk.archives > 0)
		printf("audit chain intact: %lld records (%lld of them in %lld archive files); head "
		       "record %lld hash %s\n",
		       (long long)chk.records, (long long)chk.archived, (long long)chk.archives,
		       (long long)chk.head_id, hex);
	else if (rc == 0)
		printf("audit chain intact: %lld records; head record %lld hash %s\n",
		       (long long)chk.records, (long long)chk.head_id, hex);
	else
		printf("audit chain broken at record %lld: %s (%lld records before it are intact)\n",
		       (long long)chk.broken_id, chk.reason, (long long)chk.records);
	if (rc == 0 && anchored)
		printf("anchored head record %lld is in the chain with its hash\n",
		       (long long)anchor.id);
	config_free(&cfg);
	return rc == 0 ? EX_OK : EX_BROKEN;
}
