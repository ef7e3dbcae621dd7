/*
 * cli.h: the command line of civicdesk — main and one function per command. Each takes
 * argv[0] = the command's name and returns the process exit status (sysexits: 64 usage).
 */
#ifndef CLI_H
#define CLI_H

int cmd_serve(int argc, char **argv);
int cmd_calendar(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_stats(int argc, char **argv);
/* cmd_ops.c: backup, restore, audit verify */
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_ingest_mail(int argc, char **argv);

struct config;
/* cmd_ops.c: loads the configuration as every command does (--config FILE, CIVICDESK_CONFIG,
 * else ./civicdesk.conf if present; CIVICDESK_* override), for the commands that must see the
 * database path before opening it. 0, or -1 having said why on stderr as "civicdesk CMD: …"
 * (cmd NULL: saying nothing); the caller frees cfg with config_free on success. */
int cli_config(struct config *cfg, const char *path, const char *cmd);
/* cmd_ops.c: 0 when the configured database file exists; else -1, having said on stderr which
 * path was looked for and where the configuration came from. For the commands that work on the
 * service's database (only serve, and user add, create one): run in another folder without
 * --config or CIVICDESK_CONFIG they would otherwise make a new database there and report on it. */
int cli_db_exists(const char *config, const char *cmd);
/* cmd_ops.c: 1 when one of argv[1..argc-1] is --help or -h. A command asked for help prints
 * its usage on stdout and exits 0; a usage error prints it on stderr and exits 64. */
int cli_help(int argc, char **argv);

struct app;
/* daily.c, run by serve at start and after each local midnight: the audit chain's head as a
 * log line (to anchor outside), and the daily backup into backup_dir with its retention. */
void daily_audit_head(struct app *app);
void daily_backup(struct app *app);
/* Archives the audit records older than audit_archive_days (core_audit_archive), logged. */
void daily_audit_archive(struct app *app);

#endif
