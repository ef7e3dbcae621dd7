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

struct app;
/* daily.c, run by serve at start and after each local midnight: the audit chain's head as a
 * log line (to anchor outside), and the daily backup into backup_dir with its retention. */
void daily_audit_head(struct app *app);
void daily_backup(struct app *app);
/* Archives the audit records older than audit_archive_days (core_audit_archive), logged. */
void daily_audit_archive(struct app *app);

#endif
