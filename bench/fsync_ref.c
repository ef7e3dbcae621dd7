/*
 * fsync_ref: the disk's reference beside the submission benchmark (bench/submit.sh). Writes
 * what one group commit writes to the WAL (PAGES pages of 4 KiB, by default 15: a batch of about
 * eight submissions) into a file of DIR and waits for fdatasync, again and again for SECONDS,
 * overwriting a preallocated file as a reused WAL does; prints the median and the 99th
 * percentile of the wait. Each submission's 201 waits for one such fdatasync, so this bounds
 * what any durable group commit can do on this disk at a given concurrency.
 *
 * usage: fsync_ref DIR [SECONDS [PAGES]]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 100000
#define FILE_PAGES 1024 /* 4 MiB, the size a WAL reaches before SQLite's checkpoint resets it */

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	static double lat[MAX_SAMPLES];
	static char page[4096];
	char path[512];
	double seconds = argc > 2 ? atof(argv[2]) : 2.0, t0, a;
	int pages = argc > 3 ? atoi(argv[3]) : 15, fd, rc = 1;
	size_t n = 0, i;
	off_t off = 0;

	if (argc < 2 || pages < 1 || pages > FILE_PAGES || seconds <= 0) {
		fprintf(stderr, "usage: fsync_ref DIR [SECONDS [PAGES]]\n");
		return 64;
	}
	snprintf(path, sizeof(path), "%s/fsync_ref.%d", argv[1], (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	memset(page, 'x', sizeof(page));
	for (i = 0; i < FILE_PAGES; i++)
		if (pwrite(fd, page, sizeof(page), (off_t)(i * sizeof(page))) != (ssize_t)sizeof(page))
			goto out;
	if (fdatasync(fd) != 0)
		goto out;
	t0 = now_ms();
	while (n < MAX_SAMPLES && now_ms() - t0 < seconds * 1e3) {
		a = now_ms();
		for (i = 0; i < (size_t)pages; i++, off += (off_t)sizeof(page)) {
			if (off >= (off_t)(FILE_PAGES * sizeof(page)))
				off = 0;
			if (pwrite(fd, page, sizeof(page), off) != (ssize_t)sizeof(page))
				goto out;
		}
		if (fdatasync(fd) != 0)
			goto out;
		lat[n++] = now_ms() - a;
	}
	qsort(lat, n, sizeof(lat[0]), cmp);
	printf("fdatasync of %d pages: %zu in %.1f s, p50 %.3f ms, p99 %.3f ms\n", pages, n, seconds,
	       lat[n / 2], lat[n * 99 / 100]);
	rc = 0;
out:
	if (rc != 0)
		perror("fsync_ref");
	close(fd);
	unlink(path);
	return rc;
}
