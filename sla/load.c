/* load.c: reads calendar files from disk (or the copies built into the binary) and parses them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sla/sla_int.h"

#define FILE_MAX (1024 * 1024) /* largest calendar file read */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
set_err(char *err, size_t errsize, const char *path, const char *what)
{
	if (err != NULL && errsize > 0)
		snprintf(err, errsize, "%s: %s", path, what);
}

/* Reads a whole file into a new NUL-terminated buffer. Returns 0, or -1 with err written. */
static int
read_text(const char *path, char **out, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL, *nul;
	size_t len;
	int rc = -1;

	if (fp == NULL) {
		set_err(err, errsize, path, strerror(errno));
		goto out;
	}
	buf = malloc(FILE_MAX + 1);
	if (buf == NULL) {
		set_err(err, errsize, path, "out of memory");
		goto out;
	}
	len = fread(buf, 1, FILE_MAX + 1, fp);
	if (ferror(fp)) {
		set_err(err, errsize, path, strerror(errno));
		goto out;
	}
	if (len > FILE_MAX) {
		set_err(err, errsize, path, "larger than 1 MiB");
		goto out;
	}
	nul = memchr(buf, '\0', len);
	if (nul != NULL) {
		int line = 1;

		for (char *c = buf; c < nul; c++)
			line += *c == '\n';
		if (err != NULL && errsize > 0)
			snprintf(err, errsize, "%s:%d: NUL byte", path, line);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return rc;
}

int
sla_calendar_load_files(const char *const *paths, size_t n, struct sla_calendar **out, char *err,
                        size_t errsize)
{
	char **texts = calloc(n ? n : 1, sizeof(*texts));
	size_t i;
	int rc = -1;

	if (texts == NULL) {
		set_err(err, errsize, "calendar", "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (read_text(paths[i], &texts[i], err, errsize) != 0)
			goto out;
	rc = sla_calendar_parse(paths, (const char *const *)texts, n, out, err, errsize);
out:
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	return rc;
}

static int
is_calendar_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 4 && strcmp(name + len - 4, ".txt") == 0;
}

/* The paths of dir's calendar files (*.txt, dot files skipped), sorted by name: 0 with *out
 * (each path and the array freed by the caller) and *n >= 1, or -1 with err. */
static int
list_dir(const char *dir, char ***out, size_t *nout, char *err, size_t errsize)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **paths = NULL;
	size_t n = 0, cap = 0, i;

	if (d == NULL) {
		set_err(err, errsize, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t size;

		if (!is_calendar_name(e->d_name))
			continue;
		if (n == cap) {
			char **p = realloc(paths, (cap ? 2 * cap : 8) * sizeof(*p));

			if (p == NULL)
				goto oom;
			paths = p;
			cap = cap ? 2 * cap : 8;
		}
		size = strlen(dir) + strlen(e->d_name) + 2;
		paths[n] = malloc(size);
		if (paths[n] == NULL)
			goto oom;
		snprintf(paths[n], size, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n == 0) {
		free(paths);
		set_err(err, errsize, dir, "no calendar files (*.txt)");
		return -1;
	}
	qsort(paths, n, sizeof(*paths), cmp_str);
	*out = paths;
	*nout = n;
	return 0;
oom:
	set_err(err, errsize, dir, "out of memory");
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	closedir(d);
	return -1;
}

int
sla_calendar_load_dir(const char *dir, struct sla_calendar **out, char *err, size_t errsize)
{
	char **paths = NULL;
	size_t n = 0, i;
	int rc;

	if (list_dir(dir, &paths, &n, err, errsize) != 0)
		return -1;
	rc = sla_calendar_load_files((const char *const *)paths, n, out, err, errsize);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}

void
sla_files_free(struct sla_file *f, size_t n)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].text);
	}
	free(f);
}

int
sla_files_read(const char *dir, struct sla_file **out, size_t *nout, char *err, size_t errsize)
{
	struct sla_file *f = NULL;
	char **paths = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (dir == NULL || dir[0] == '\0') {
		for (n = 0; sla_builtin_files[n].name != NULL; n++)
			;
	} else if (list_dir(dir, &paths, &n, err, errsize) != 0) {
		return -1;
	}
	f = calloc(n ? n : 1, sizeof(*f));
	if (f == NULL) {
		set_err(err, errsize, "calendar", "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (paths == NULL) {
			f[i].name = strdup(sla_builtin_files[i].name);
			f[i].text = strdup(sla_builtin_files[i].data);
			if (f[i].name == NULL || f[i].text == NULL) {
				set_err(err, errsize, "calendar", "out of memory");
				goto out;
			}
			continue;
		}
		f[i].name = strdup(paths[i]);
		if (f[i].name == NULL) {
			set_err(err, errsize, "calendar", "out of memory");
			goto out;
		}
		if (read_text(paths[i], &f[i].text, err, errsize) != 0)
			goto out;
	}
	*out = f;
	*nout = n;
	f = NULL;
	rc = 0;
out:
	sla_files_free(f, n);
	for (i = 0; paths != NULL && i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}

int
sla_files_read_paths(const char *const *paths, size_t n, struct sla_file **out, char *err,
                     size_t errsize)
{
	struct sla_file *f = calloc(n ? n : 1, sizeof(*f));
	size_t i;

	if (f == NULL) {
		set_err(err, errsize, "calendar", "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		f[i].name = strdup(paths[i]);
		if (f[i].name == NULL) {
			set_err(err, errsize, paths[i], "out of memory");
			goto fail;
		}
		if (read_text(paths[i], &f[i].text, err, errsize) != 0)
			goto fail;
	}
	*out = f;
	return 0;
fail:
	sla_files_free(f, n);
	return -1;
}

int
sla_file_year(const char *name, const char *text, int *year, char *err, size_t errsize)
{
	struct sla_calendar *cal = NULL;
	sla_day first, last;
	int y, m, d;

	if (sla_calendar_parse(&name, &text, 1, &cal, err, errsize) != 0)
		return -1;
	sla_calendar_range(cal, &first, &last);
	sla_calendar_unref(cal);
	sla_split(last, &y, &m, &d);
	*year = y;
	return 0;
}

int
sla_calendar_builtin(struct sla_calendar **out, char *err, size_t errsize)
{
	const char *names[64], *texts[64];
	size_t n;

	for (n = 0; sla_builtin_files[n].name != NULL; n++) {
		if (n == sizeof(names) / sizeof(names[0])) {
			set_err(err, errsize, "built-in calendar", "too many files");
			return -1;
		}
		names[n] = sla_builtin_files[n].name;
		texts[n] = sla_builtin_files[n].data;
	}
	return sla_calendar_parse(names, texts, n, out, err, errsize);
}
