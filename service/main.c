/* main.c: the civicdesk command line: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "service/service.h"

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "calendar") == 0)
		return cmd_calendar(argc - 1, argv + 1);
	fprintf(stderr, "usage: civicdesk calendar|serve|user ...\n");
	return 64;
}
