/*
 * db_vfs.c: a VFS over SQLite's own ("unix") that hands the frames of a WAL transaction to the
 * kernel in one write. SQLite writes each frame as two pwrite calls (its 24-byte header, then
 * the page): a group commit of 25 pages made 50 system calls, each dirtying the page cache on
 * its own, and the writer thread spent a fifth of its time there (issue 20). Here a WAL file
 * keeps the frames SQLite writes one after the other in a buffer and passes them on, as one
 * write at the offset SQLite gave, when the commit frame's page has been written (the frame
 * whose header bytes 4-7, the database size after the commit, are not zero), and before
 * anything else touches that file or the wal-index: a read, sync, truncate, size, lock or file
 * control on the WAL; a lock, barrier or unmap of the wal-index on its database file (SQLite
 * publishes new frames to readers through the wal-index, after a barrier). So the file holds,
 * byte for byte and in the same order, what SQLite wrote, by the time any reader, checkpointer,
 * sync or recovery could look at it; SQLite's syncs are passed on unchanged (durability is
 * SQLite's: synchronous=FULL syncs the WAL in each COMMIT after the frames are written).
 * Every other file, and every other call, goes straight to the VFS below.
 *
 * The wal-index locks of every connection of the process go through one lock of this VFS first,
 * on which a thread spins for a few microseconds before it sleeps, and its memory barrier is a
 * fence alone: below, SQLite's unix VFS guards the wal-index locks of a database with one mutex
 * for all the process's connections and holds it across an fcntl, its barrier takes and releases
 * its process-wide mutex, and a thread that finds either taken sleeps on a futex. Each read
 * transaction passes both, so the I/O threads' reads met there: some 1 in 100 reads slept, and
 * on a busy machine then waited for a CPU, 1 ms at the median and up to 35, with the other
 * connections of its thread (issue 20, bench/mixed.sh, bench/RESULTS.md). Serialised here, the
 * mutex below is not contended, and a thread that waits here does not give up its CPU for the
 * length of one fcntl.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_int.h"

#define WAL_BUF_MAX (256 * 1024) /* bytes of frames held at most; more are passed on in parts */
/* bytes per write passed on: unix's xWrite writes at most 0x1ffff bytes a call (it masks the
 * size), and answers SQLITE_FULL for what it could not write */
#define WRITE_MAX 0x1f000
#define WAL_FRAME_HDR 24 /* a WAL frame's header: page number, commit size, salt, sums */
#define SHM_SPIN_NS 60000 /* how long a wal-index call spins for the lock before it sleeps */

/* The VFS, registered once per process (db_vfs_register): SQLite's structure first, so that
 * SQLite's pointer to it is a pointer to this. */
struct vfs_ctx {
	sqlite3_vfs vfs;      /* pAppData: the VFS below */
	pthread_mutex_t shm;  /* taken around every wal-index lock (shm_enter) */
};

/* An open file: ours, then the file of the VFS below (real()) in the same allocation. */
struct vfs_file {
	sqlite3_file base;    /* pMethods: vfs_io */
	struct vfs_ctx *ctx;  /* the VFS it was opened through */
	struct vfs_file *wal; /* a database file: its open WAL, NULL when none */
	struct vfs_file *db;  /* a WAL: its database file, NULL when that closed first */
	unsigned char *buf;   /* a WAL: frames not yet passed on (allocated at its first write) */
	size_t len;           /* bytes in buf */
	sqlite3_int64 off;    /* where buf[0] belongs in the file */
	int is_wal;           /* opened with SQLITE_OPEN_WAL */
	int commit; /* the last write was a commit frame's header: pass on after its page */
};

static sqlite3_file *
real(sqlite3_file *f)
{
	return (sqlite3_file *)((struct vfs_file *)f + 1);
}

static sqlite3_vfs *
below(sqlite3_vfs *vfs)
{
	return vfs->pAppData;
}

/* Passes the held frames on: SQLite's result for them. They are dropped even when the write
 * fails (SQLite sees the error; held bytes written later could overwrite another connection's
 * frames). */
static int
flush(struct vfs_file *f)
{
	sqlite3_file *r;
	size_t done = 0, n;
	int rc = SQLITE_OK;

	if (f == NULL || f->len == 0)
		return SQLITE_OK;
	r = real(&f->base);
	while (done < f->len && rc == SQLITE_OK) {
		n = f->len - done < WRITE_MAX ? f->len - done : WRITE_MAX;
		rc = r->pMethods->xWrite(r, f->buf + done, (int)n, f->off + (sqlite3_int64)done);
		done += n;
	}
	f->len = 0;
	return rc;
}

static int
vfs_close(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;
	sqlite3_file *r = real(file);
	int rc = flush(f), rc2;

	if (f->is_wal && f->db != NULL)
		f->db->wal = NULL;
	if (!f->is_wal && f->wal != NULL)
		f->wal->db = NULL;
	free(f->buf);
	f->buf = NULL;
	rc2 = r->pMethods->xClose(r);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
vfs_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xRead(r, p, amt, off);
}

/* 1 if p (amt bytes) is a WAL frame header that ends a transaction, else 0. */
static int
commit_header(const void *p, int amt)
{
	const unsigned char *h = p;

	return amt == WAL_FRAME_HDR && (h[4] | h[5] | h[6] | h[7]) != 0;
}

static int
vfs_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	struct vfs_file *f = (struct vfs_file *)file;
	sqlite3_file *r = real(file);
	int rc, page;

	if (!f->is_wal)
		return r->pMethods->xWrite(r, p, amt, off);
	/* held bytes go out first unless this write continues them, and fits */
	if (f->len > 0 &&
	    (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)amt > WAL_BUF_MAX)) {
		rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (f->buf == NULL && amt <= WRITE_MAX)
		f->buf = malloc(WAL_BUF_MAX);
	if (f->buf == NULL || amt > WRITE_MAX) /* out of memory, or too large: as SQLite wrote */
		return r->pMethods->xWrite(r, p, amt, off);
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += (size_t)amt;
	page = f->commit;
	f->commit = commit_header(p, amt);
	return page ? flush(f)
	            : SQLITE_OK; /* the commit frame is whole: the transaction goes out */
}

static int
vfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xTruncate(r, size);
}

static int
vfs_sync(sqlite3_file *file, int flags)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xSync(r, flags);
}

static int
vfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xFileSize(r, size);
}

static int
vfs_lock(sqlite3_file *file, int level)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xLock(r, level);
}

static int
vfs_unlock(sqlite3_file *file, int level)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xUnlock(r, level);
}

static int
vfs_check_reserved(sqlite3_file *file, int *out)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xCheckReservedLock(r, out);
}

static int
vfs_file_control(sqlite3_file *file, int op, void *arg)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	return rc != SQLITE_OK ? rc : r->pMethods->xFileControl(r, op, arg);
}

static int
vfs_sector_size(sqlite3_file *file)
{
	sqlite3_file *r = real(file);

	return r->pMethods->xSectorSize(r);
}

static int
vfs_device_characteristics(sqlite3_file *file)
{
	sqlite3_file *r = real(file);

	return r->pMethods->xDeviceCharacteristics(r);
}

/* Takes ctx's wal-index lock: tries it for SHM_SPIN_NS (its holder is inside one fcntl), then
 * sleeps for it. */
static void
shm_enter(struct vfs_ctx *ctx)
{
	struct timespec t0, t;
	int i;

	if (pthread_mutex_trylock(&ctx->shm) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (i = 0; i < 16; i++) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			if (pthread_mutex_trylock(&ctx->shm) == 0)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > SHM_SPIN_NS)
			break;
	}
	pthread_mutex_lock(&ctx->shm);
}

/* The wal-index (on the database file): the WAL's held frames go out before any of its locks
 * change and before a barrier, the points where SQLite makes frames visible to others. */
static int
vfs_shm_map(sqlite3_file *file, int page, int size, int extend, void volatile **p)
{
	sqlite3_file *r = real(file);

	if (r->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return r->pMethods->xShmMap(r, page, size, extend, p);
}

static int
vfs_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	struct vfs_file *f = (struct vfs_file *)file;
	sqlite3_file *r = real(file);
	int rc = flush(f->wal);

	if (r->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMLOCK;
	if (rc != SQLITE_OK)
		return rc;
	shm_enter(f->ctx);
	rc = r->pMethods->xShmLock(r, offset, n, flags);
	pthread_mutex_unlock(&f->ctx->shm);
	return rc;
}

static void
vfs_shm_barrier(sqlite3_file *file)
{
	struct vfs_file *f = (struct vfs_file *)file;

	flush(f->wal); /* empty here: the commit frame's page passed the frames on */
	/* A full memory barrier, which is what SQLite asks of it; the unix VFS's also takes and
	 * releases its process-wide mutex ("for redundancy", its comment says), which every read
	 * transaction's look at the wal-index header met there (it calls this between its two
	 * reads of the header copies). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int
vfs_shm_unmap(sqlite3_file *file, int del)
{
	struct vfs_file *f = (struct vfs_file *)file;
	sqlite3_file *r = real(file);

	flush(f->wal);
	if (r->pMethods->iVersion < 2)
		return SQLITE_OK;
	return r->pMethods->xShmUnmap(r, del);
}

static int
vfs_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	sqlite3_file *r = real(file);
	int rc = flush((struct vfs_file *)file);

	*pp = NULL;
	if (rc != SQLITE_OK || r->pMethods->iVersion < 3)
		return rc;
	return r->pMethods->xFetch(r, off, amt, pp);
}

static int
vfs_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	sqlite3_file *r = real(file);

	if (r->pMethods->iVersion < 3)
		return SQLITE_OK;
	return r->pMethods->xUnfetch(r, off, p);
}

static const sqlite3_io_methods vfs_io = {
    .iVersion = 3,
    .xClose = vfs_close,
    .xRead = vfs_read,
    .xWrite = vfs_write,
    .xTruncate = vfs_truncate,
    .xSync = vfs_sync,
    .xFileSize = vfs_file_size,
    .xLock = vfs_lock,
    .xUnlock = vfs_unlock,
    .xCheckReservedLock = vfs_check_reserved,
    .xFileControl = vfs_file_control,
    .xSectorSize = vfs_sector_size,
    .xDeviceCharacteristics = vfs_device_characteristics,
    .xShmMap = vfs_shm_map,
    .xShmLock = vfs_shm_lock,
    .xShmBarrier = vfs_shm_barrier,
    .xShmUnmap = vfs_shm_unmap,
    .xFetch = vfs_fetch,
    .xUnfetch = vfs_unfetch,
};

static int
vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
	struct vfs_file *f = (struct vfs_file *)file, *db;
	sqlite3_file *r = real(file), *main;
	int rc;

	memset(f, 0, sizeof(*f));
	f->ctx = (struct vfs_ctx *)vfs;
	rc = below(vfs)->xOpen(below(vfs), name, r, flags, out_flags);
	if (rc != SQLITE_OK || r->pMethods == NULL) {
		if (r->pMethods != NULL)
			r->pMethods->xClose(r);
		f->base.pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	f->base.pMethods = &vfs_io;
	if ((flags & SQLITE_OPEN_WAL) != 0 && name != NULL) {
		f->is_wal = 1;
		/* its database file, opened through this VFS before it (SQLite's pager has both) */
		main = sqlite3_database_file_object(name);
		if (main != NULL && main->pMethods == &vfs_io) {
			db = (struct vfs_file *)main;
			db->wal = f;
			f->db = db;
		}
	}
	return SQLITE_OK;
}

static int
vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return below(vfs)->xDelete(below(vfs), name, sync_dir);
}

static int
vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return below(vfs)->xAccess(below(vfs), name, flags, out);
}

static int
vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return below(vfs)->xFullPathname(below(vfs), name, n, out);
}

static void *
vfs_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return below(vfs)->xDlOpen(below(vfs), name);
}

static void
vfs_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	below(vfs)->xDlError(below(vfs), n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return below(vfs)->xDlSym(below(vfs), h, sym);
}

static void
vfs_dlclose(sqlite3_vfs *vfs, void *h)
{
	below(vfs)->xDlClose(below(vfs), h);
}

static int
vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return below(vfs)->xRandomness(below(vfs), n, out);
}

static int
vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return below(vfs)->xSleep(below(vfs), us);
}

static int
vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return below(vfs)->xCurrentTime(below(vfs), out);
}

static int
vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return below(vfs)->xGetLastError != NULL ? below(vfs)->xGetLastError(below(vfs), n, out)
	                                         : 0;
}

static int
vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return below(vfs)->xCurrentTimeInt64(below(vfs), out);
}

const char *
db_vfs_register(void)
{
	sqlite3_vfs *under = sqlite3_vfs_find(NULL), *vfs;
	struct vfs_ctx *ctx;

	if (under == NULL || under->iVersion < 2 || under->xCurrentTimeInt64 == NULL)
		return NULL;
	/* allocated once per process and handed to SQLite's registry, which keeps it */
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return NULL;
	if (pthread_mutex_init(&ctx->shm, NULL) != 0) {
		free(ctx);
		return NULL;
	}
	vfs = &ctx->vfs;
	vfs->iVersion = 2;
	vfs->szOsFile = (int)sizeof(struct vfs_file) + under->szOsFile;
	vfs->mxPathname = under->mxPathname;
	vfs->zName = DB_VFS_NAME;
	vfs->pAppData = under;
	vfs->xOpen = vfs_open;
	vfs->xDelete = vfs_delete;
	vfs->xAccess = vfs_access;
	vfs->xFullPathname = vfs_full_pathname;
	vfs->xDlOpen = vfs_dlopen;
	vfs->xDlError = vfs_dlerror;
	vfs->xDlSym = vfs_dlsym;
	vfs->xDlClose = vfs_dlclose;
	vfs->xRandomness = vfs_randomness;
	vfs->xSleep = vfs_sleep;
	vfs->xCurrentTime = vfs_current_time;
	vfs->xGetLastError = vfs_last_error;
	vfs->xCurrentTimeInt64 = vfs_current_time64;
	if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK) {
		pthread_mutex_destroy(&ctx->shm);
		free(ctx);
		return NULL;
	}
	return DB_VFS_NAME;
}
