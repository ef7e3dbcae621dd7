/*
 * service.h: the daemon and command line of civicdesk — what the files of service/ share.
 */
#ifndef SERVICE_H
#define SERVICE_H

/* civicdesk calendar check|due|is-workday|between|explain … (cmd_calendar.c).
 * argv[0] is "calendar". Returns the process exit status. */
int cmd_calendar(int argc, char **argv);

#endif
