/* outfile.c — the rules every file pt2onnx writes follows (the model, and
 * the external data and report to come), in one place:
 *
 * - a symlink is followed: the file it points to is replaced, atomically,
 *   in that file's own folder (the link stays a link);
 * - a regular file (or a new one) is written to a temporary file in the
 *   same folder and renamed into place, so a reader never sees a partial
 *   file and a failure (no space, an I/O error, a signal) leaves the old
 *   file as it was and no temporary file behind; the old file's
 *   permission bits (and, for root, its owner) carry over;
 * - a character device or a FIFO (/dev/null, /dev/stdout, a pipe) is
 *   written in place, streaming: renaming over it would replace the node
 *   itself (as root, /dev/null for every other program);
 * - a directory, a block device or a socket is refused, and so is the
 *   model being converted (the same inode through any path or link).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_LINKS 40 /* as the kernel's own limit on a path's symlinks */

/* The file a write to path lands on: path with its symlinks followed, also
 * a dangling one (whose target is then created). Returns a malloc'ed
 * string, or NULL with errno set (ELOOP for a cycle). *magic is set when
 * the chain passes through /proc (/dev/stdout, /dev/fd/N): such a link
 * names an open file, not a place in a folder, so it is written in place. */
static char *follow_links(const char *path, bool *magic)
{
	char *cur = strdup(path);
	*magic = false;
	for (int hops = 0; cur; hops++) {
		struct stat st;
		if (strncmp(cur, "/proc/", 6) == 0)
			*magic = true;
		if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
			return cur; /* a missing file is created here */
		if (hops == MAX_LINKS) {
			free(cur);
			errno = ELOOP;
			return NULL;
		}
		char link[PATH_MAX];
		ssize_t n = readlink(cur, link, sizeof link - 1);
		if (n < 0) {
			free(cur);
			return NULL;
		}
		link[n] = '\0';
		char *next;
		const char *slash = strrchr(cur, '/');
		if (link[0] == '/' || !slash) {
			next = strdup(link);
		} else {
			/* Relative to the folder holding the link. */
			int dlen = (int)(slash - cur);
			size_t len = (size_t)dlen + 1 + (size_t)n + 1;
			next = malloc(len);
			if (next)
				snprintf(next, len, "%.*s/%s", dlen, cur, link);
		}
		free(cur);
		cur = next;
	}
	return NULL;
}

/* The folder of path ("." when it has none), malloc'ed. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int say(char *err, size_t len, int code, const char *fmt,
	       const char *a, const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b);
	return code;
}

int p2o_check_output(const char *path, const char *model, char *err,
		     size_t errlen)
{
	if (strcmp(path, "-") == 0)
		return P2O_OK;
	if (!*path)
		return say(err, errlen, P2O_ERR_USAGE,
			   "the output path is empty%s%s", "", "");
	struct stat st, ms;
	bool exists = stat(path, &st) == 0;
	if (exists && model && stat(model, &ms) == 0 && st.st_dev == ms.st_dev &&
	    st.st_ino == ms.st_ino)
		return say(err, errlen, P2O_ERR_USAGE,
			   "output '%s' is the model being converted ('%s'); "
			   "choose another output path",
			   path, model);
	if (exists) {
		if (S_ISDIR(st.st_mode))
			return say(err, errlen, P2O_ERR_OUTPUT,
				   "cannot write output '%s': it is a directory%s",
				   path, "");
		if (S_ISBLK(st.st_mode))
			return say(err, errlen, P2O_ERR_OUTPUT,
				   "cannot write output '%s': it is a block "
				   "device%s", path, "");
		if (S_ISSOCK(st.st_mode))
			return say(err, errlen, P2O_ERR_OUTPUT,
				   "cannot write output '%s': it is a socket%s",
				   path, "");
		if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
			return P2O_OK; /* written in place */
	} else if (errno != ENOENT) {
		char why[256];
		snprintf(why, sizeof why, "%s", strerror(errno));
		return say(err, errlen, P2O_ERR_OUTPUT,
			   "cannot write output '%s': %s", path, why);
	}
	/* A new or regular file: its folder (after links) must take a new
	 * file. */
	bool magic;
	char *target = follow_links(path, &magic);
	if (target && magic) {
		free(target);
		return P2O_OK; /* an open file: written in place */
	}
	if (!target) {
		char why[256];
		snprintf(why, sizeof why, "%s", strerror(errno));
		return say(err, errlen, P2O_ERR_OUTPUT,
			   "cannot write output '%s': %s", path, why);
	}
	char *dir = folder_of(target);
	int rc = P2O_OK;
	struct stat ds;
	char msg[PATH_MAX + 64];
	if (!dir) {
		rc = say(err, errlen, P2O_ERR_NOMEM, "out of memory%s%s", "", "");
	} else if (stat(dir, &ds) != 0) {
		snprintf(msg, sizeof msg, "folder '%s' does not exist", dir);
		if (errno != ENOENT)
			snprintf(msg, sizeof msg, "folder '%s': %s", dir,
				 strerror(errno));
		rc = say(err, errlen, P2O_ERR_OUTPUT,
			 "cannot write output '%s': %s", path, msg);
	} else if (!S_ISDIR(ds.st_mode)) {
		snprintf(msg, sizeof msg, "'%s' is not a folder", dir);
		rc = say(err, errlen, P2O_ERR_OUTPUT,
			 "cannot write output '%s': %s", path, msg);
	} else if (access(dir, W_OK | X_OK) != 0) {
		/* EROFS too: root passes permission checks, not that one. */
		snprintf(msg, sizeof msg, "folder '%s' is not writable (%s)", dir,
			 strerror(errno));
		rc = say(err, errlen, P2O_ERR_OUTPUT,
			 "cannot write output '%s': %s", path, msg);
	}
	free(dir);
	free(target);
	return rc;
}

/* ---- writing -------------------------------------------------------------- */

static int out_fail(p2o_cx *cx, const char *path, const char *what, int err)
{
	char msg[PATH_MAX + 256];
	snprintf(msg, sizeof msg, "cannot write output '%s': %s%s%s", path, what,
		 err ? ": " : "", err ? strerror(err) : "");
	return p2o_diag_add(cx, P2O_ERR_OUTPUT, NULL, NULL, msg);
}

/* Creates the temporary file beside target with signals held off, so that
 * a SIGINT/SIGTERM handler that removes p2o_pending_path() never misses a
 * file that exists, and announces it through the progress callback (which
 * a supervising process uses to clean up after a killed worker). */
static int create_temp(p2o_cx *cx, p2o_out *o, const struct stat *old)
{
	char *dir = folder_of(o->target);
	if (!dir)
		p2o_oom(cx);
	const char *base = strrchr(o->target, '/');
	base = base ? base + 1 : o->target;
	char *tmp = p2o_fmt(cx, "%s/.%.100s.tmp.XXXXXX", dir, base);
	free(dir);
	sigset_t all, saved;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	int fd = mkstemp(tmp);
	int err = errno;
	if (fd >= 0) {
		cx->pending[o->slot] = tmp;
		p2o_progress(cx, "writing MiB", 0, 0);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (fd < 0)
		return out_fail(cx, o->path, "cannot create a file there", err);
	/* The bits the file it replaces had, or the usual ones for a new
	 * file; root also keeps the old owner. Best effort: the data is what
	 * matters. */
	if (old) {
		(void)fchmod(fd, old->st_mode & 07777);
		if (geteuid() == 0)
			(void)fchown(fd, old->st_uid, old->st_gid);
	} else {
		mode_t mask = umask(0);
		umask(mask);
		(void)fchmod(fd, 0666 & ~mask);
	}
	o->tmp = tmp;
	o->fd = fd;
	return P2O_OK;
}

int p2o_out_open(p2o_cx *cx, p2o_out *o, const char *path)
{
	return p2o_out_open_slot(cx, o, path, 0);
}

int p2o_out_open_slot(p2o_cx *cx, p2o_out *o, const char *path, int slot)
{
	assert(slot >= 0 && slot < P2O_PENDING_MAX);
	memset(o, 0, sizeof *o);
	o->slot = slot;
	o->path = path;
	o->fd = -1;
	char err[PATH_MAX + 256];
	int rc = p2o_check_output(path, cx->model_path, err, sizeof err);
	if (rc != P2O_OK)
		return p2o_diag_add(cx, rc, NULL, NULL, err);
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		o->in_place = true;
		return P2O_OK;
	}
	struct stat st;
	bool magic = false;
	char *t = NULL;
	bool device = stat(path, &st) == 0 &&
		      (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode));
	if (!device && !(t = follow_links(path, &magic)))
		return out_fail(cx, path, "cannot follow the link", errno);
	if (device || magic) {
		/* Never renamed over. A regular file behind /dev/stdout is
		 * truncated, as a shell's '>' would. */
		free(t);
		o->in_place = true;
		o->fd = open(path, O_WRONLY | O_CLOEXEC |
					   (device ? 0 : O_TRUNC | O_CREAT),
			     0666);
		if (o->fd < 0)
			return out_fail(cx, path, "cannot open", errno);
	} else {
		o->target = p2o_strdup(cx, t);
		free(t);
		bool old = stat(o->target, &st) == 0 && S_ISREG(st.st_mode);
		rc = create_temp(cx, o, old ? &st : NULL);
		if (rc != P2O_OK)
			return rc;
	}
	o->f = fdopen(o->fd, "wb");
	if (!o->f) {
		int e = errno;
		p2o_out_abort(cx, o);
		return out_fail(cx, path, "cannot open", e);
	}
	return P2O_OK;
}

void p2o_out_abort(p2o_cx *cx, p2o_out *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	else if (!o->f && o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	o->f = NULL;
	o->fd = -1;
	o->tmp = NULL;
	cx->pending[o->slot] = NULL;
}

/* Flush, fsync (a file to be renamed) and close o; the first errno met,
 * werr when it is set. o->tmp is left for the caller. */
static int finish(p2o_out *o, int werr)
{
	int err = werr;
	if (!err && fflush(o->f) != 0)
		err = errno ? errno : EIO;
	/* Durable before it replaces the old file; a device or pipe has no
	 * such thing (fsync says EINVAL there). */
	if (!err && !o->in_place && fsync(o->fd) != 0)
		err = errno;
	if (fclose(o->f) != 0 && !err)
		err = errno ? errno : EIO;
	o->f = NULL;
	o->fd = -1;
	return err;
}

int p2o_out_commit(p2o_cx *cx, p2o_out *o, int werr)
{
	int err = werr;
	if (o->f == stdout) {
		if (!err && fflush(o->f) != 0)
			err = errno ? errno : EIO;
		o->f = NULL;
		return err ? out_fail(cx, "-", "write failed", err) : P2O_OK;
	}
	err = finish(o, err);
	if (!err && o->tmp && rename(o->tmp, o->target) != 0)
		err = errno;
	if (err) {
		if (o->tmp)
			unlink(o->tmp);
		o->tmp = NULL;
		cx->pending[o->slot] = NULL;
		return out_fail(cx, o->path, "write failed", err);
	}
	o->tmp = NULL;
	cx->pending[o->slot] = NULL;
	return P2O_OK;
}

/* A hard link to the file at target under a fresh name beside it (to put
 * it back if what replaces it must be undone); NULL when target is no
 * regular file or the folder takes no hard links. */
static char *keep_old(p2o_cx *cx, const char *target)
{
	struct stat st;
	if (lstat(target, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	char *dir = folder_of(target);
	if (!dir)
		p2o_oom(cx);
	const char *base = strrchr(target, '/');
	base = base ? base + 1 : target;
	char *keep = p2o_fmt(cx, "%s/.%.100s.old.XXXXXX", dir, base);
	free(dir);
	/* mkstemp picks a free name; link() wants it free again. */
	int fd = mkstemp(keep);
	if (fd < 0)
		return NULL;
	close(fd);
	unlink(keep);
	return link(target, keep) == 0 ? keep : NULL;
}

int p2o_out_commit_pair(p2o_cx *cx, p2o_out *m, int werr_m, p2o_out *d,
			int werr_d)
{
	assert(m->tmp && d->tmp); /* the caller refuses in-place outputs */
	int err_d = finish(d, werr_d);
	int err_m = finish(m, werr_m);
	const char *failed = err_d ? d->path : m->path;
	int err = err_d ? err_d : err_m;
	/* From the first rename to the last the pair is inconsistent: no
	 * signal handler may run (and find no temporary file to remove)
	 * until both are in place or both are undone. */
	sigset_t all, saved;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	char *keep = NULL;
	if (!err) {
		keep = keep_old(cx, d->target);
		if (rename(d->tmp, d->target) != 0) {
			err = errno;
			failed = d->path;
		} else if (rename(m->tmp, m->target) != 0) {
			err = errno;
			failed = m->path;
			/* Undo the data file: the old one back, or none. */
			if (!keep || rename(keep, d->target) != 0)
				unlink(d->target);
			else
				keep = NULL; /* renamed back */
		}
	}
	if (keep)
		unlink(keep);
	if (err) {
		unlink(d->tmp);
		unlink(m->tmp);
	}
	d->tmp = m->tmp = NULL;
	cx->pending[d->slot] = NULL;
	cx->pending[m->slot] = NULL;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	return err ? out_fail(cx, failed, "write failed", err) : P2O_OK;
}
