/* cmd_user.c: civicdesk user … — staff accounts from the command line. (Placeholder.) */
#include <stdio.h>

#include "service.h"

int
cmd_user(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "civicdesk user: not implemented yet\n");
	return 70;
}
