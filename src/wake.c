/* wake: self-pipe and inotify wake-ups (see wake.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "kakaowatch/wake.h"

#define SIG_MAX 64

/* one watched file; !used: the slot is free */
struct wake_file {
	bool used;
	int fd;          /* its own inotify instance; -1 while not armed */
	unsigned flags;  /* WAKE_* */
	char *path;      /* as given */
	char *base;      /* its base name, in its directory */
	char *real_base; /* WAKE_FOLLOW: the symlink target's, or NULL */
	char *real;      /* WAKE_FOLLOW: what the path resolved to when armed */
	bool changed;
	/* re-arm before the next wait: a watched directory went away or was
	 * moved (IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED), or (WAKE_FOLLOW)
	 * the path may resolve elsewhere now */
	bool stale;
	/* WAKE_FOLLOW: an event named the file or a ".." entry: re-arm only
	 * if the path resolves elsewhere now (an edit in place needs none) */
	bool recheck;
	bool writing; /* modified and not yet closed by its writer */
};

struct wake {
	int pipe[2];
	struct wake_file files[WAKE_MAX_FILES];
	bool caught[SIG_MAX + 1];
};

/* the handlers' view: one struct wake per process */
static volatile sig_atomic_t *wake_flags[SIG_MAX + 1];
static int wake_pipe_w = -1;
static struct wake *wake_current;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig > 0 && sig <= SIG_MAX && wake_flags[sig] != NULL)
		*wake_flags[sig] = 1;
	if (wake_pipe_w >= 0 && write(wake_pipe_w, &c, 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = saved;
}

struct wake *
wake_new(struct kw_err *err)
{
	struct wake *w;
	int i, fl;

	if (wake_current != NULL) {
		kw_err_set(err, "wake: one per process");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	for (i = 0; i < WAKE_MAX_FILES; i++)
		w->files[i].fd = -1;
	if (pipe(w->pipe) != 0) {
		kw_err_set(err, "pipe: %s", strerror(errno));
		free(w);
		return NULL;
	}
	for (i = 0; i < 2; i++) {
		fl = fcntl(w->pipe[i], F_GETFL);
		if (fl < 0 ||
		    fcntl(w->pipe[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(w->pipe[i], F_SETFD, FD_CLOEXEC) != 0) {
			kw_err_set(err, "pipe: %s", strerror(errno));
			close(w->pipe[0]);
			close(w->pipe[1]);
			free(w);
			return NULL;
		}
	}
	wake_pipe_w = w->pipe[1];
	wake_current = w;
	return w;
}

void
wake_free(struct wake *w)
{
	int i;

	if (w == NULL)
		return;
	for (i = 1; i <= SIG_MAX; i++) {
		if (!w->caught[i])
			continue;
		signal(i, SIG_DFL);
		wake_flags[i] = NULL;
	}
	for (i = 0; i < WAKE_MAX_FILES; i++)
		wake_unwatch(w, i);
	wake_pipe_w = -1;
	close(w->pipe[0]);
	close(w->pipe[1]);
	wake_current = NULL;
	free(w);
}

int
wake_catch(struct wake *w, int sig, volatile sig_atomic_t *flag,
    struct kw_err *err)
{
	struct sigaction sa;

	if (sig <= 0 || sig > SIG_MAX)
		return kw_err_set(err, "wake: signal %d out of range", sig);
	wake_flags[sig] = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(sig, &sa, NULL) != 0) {
		wake_flags[sig] = NULL;
		return kw_err_set(err, "sigaction: %s", strerror(errno));
	}
	w->caught[sig] = true;
	return 0;
}

/* dir_base sets *dir and *base to heap copies of `path`'s parts */
static int
dir_base(const char *path, char **dir, char **base)
{
	const char *slash = strrchr(path, '/');

	*dir = util_dirname(path);
	*base = strdup(slash != NULL ? slash + 1 : path);
	if (*dir == NULL || *base == NULL) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		return -1;
	}
	return 0;
}

/* add_dir adds the directory of `path` to inotify `fd`; *base its name */
static int
add_dir(int fd, const char *path, uint32_t mask, char **base)
{
	char *dir;
	int result = -1;

	if (dir_base(path, &dir, base) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (inotify_add_watch(fd, dir, mask) >= 0)
		result = 0;
	free(dir);
	if (result != 0) {
		free(*base);
		*base = NULL;
	}
	return result;
}

/* the events of a watched directory */
static uint32_t
watch_mask(unsigned flags)
{
	uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB |
			IN_DELETE_SELF | IN_MOVE_SELF;

	if ((flags & WAKE_EDITS) != 0)
		mask |= IN_CREATE | IN_DELETE | IN_MODIFY;
	return mask;
}

/* disarm closes the inotify instance of `f` and forgets its names */
static void
disarm(struct wake_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->base);
	free(f->real_base);
	free(f->real);
	f->base = f->real_base = f->real = NULL;
}

/* drain reads every pending event of `f` (defined below) */
static void drain(struct wake_file *f);

/*
 * arm (re)makes the inotify instance of `f`: its path's directory and,
 * with WAKE_FOLLOW, the directory of what the path resolves to now. The
 * new instance is armed before the old one is read for the last time and
 * closed, so no event falls between the two (a lost IN_CLOSE_WRITE would
 * leave the file "being written" and hold a reload back). Returns 0, or
 * -1 with errno (f then keeps its old instance, if it had one).
 */
static int
arm(struct wake_file *f)
{
	uint32_t mask = watch_mask(f->flags);
	char *base = NULL, *real_base = NULL, *real = NULL;
	int fd, saved;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -1;
	if (add_dir(fd, f->path, mask, &base) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if ((f->flags & WAKE_FOLLOW) != 0) {
		real = realpath(f->path, NULL);
		if (real != NULL && strcmp(real, f->path) != 0 &&
		    add_dir(fd, real, mask, &real_base) != 0)
			real_base = NULL; /* the path's directory still is */
	}
	/* what reached the old instance so far counts (its changes and
	 * writer state); what comes from now on reaches the new one too */
	if (f->fd >= 0)
		drain(f);
	disarm(f);
	f->fd = fd;
	f->base = base;
	f->real_base = real_base;
	f->real = real;
	f->stale = false;
	f->recheck = false;
	return 0;
}

int
wake_watch(struct wake *w, const char *path, unsigned flags, struct kw_err *err)
{
	struct wake_file *f = NULL;
	int id;

	for (id = 0; id < WAKE_MAX_FILES; id++) {
		if (!w->files[id].used) {
			f = &w->files[id];
			break;
		}
	}
	if (f == NULL)
		return kw_err_set(err,
		    "cannot watch '%s': %d files are "
		    "watched already",
		    path, WAKE_MAX_FILES);
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->fd = -1;
	f->flags = flags;
	f->path = strdup(path);
	if (f->path == NULL || arm(f) != 0) {
		kw_err_set(err, "cannot watch the directory of '%s': %s", path,
		    f->path == NULL ? "out of memory" : strerror(errno));
		wake_unwatch(w, id);
		return -1;
	}
	return id;
}

void
wake_unwatch(struct wake *w, int id)
{
	struct wake_file *f;

	if (id < 0 || id >= WAKE_MAX_FILES)
		return;
	f = &w->files[id];
	disarm(f);
	free(f->path);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

size_t
wake_fds(const struct wake *w, int *fds, size_t max)
{
	size_t n = 0;
	int i;

	if (n < max)
		fds[n++] = w->pipe[0];
	for (i = 0; i < WAKE_MAX_FILES && n < max; i++)
		if (w->files[i].fd >= 0)
			fds[n++] = w->files[i].fd;
	return n;
}

/* names: does event name `name` stand for file `f`? */
static bool
names(const struct wake_file *f, const char *name)
{
	if (f->base != NULL && strcmp(name, f->base) == 0)
		return true;
	if (f->real_base != NULL && strcmp(name, f->real_base) == 0)
		return true;
	return (f->flags & WAKE_FOLLOW) != 0 && strncmp(name, "..", 2) == 0;
}

/* drain reads every pending event of `f` */
static void
drain(struct wake_file *f)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(f->fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			if ((ev->mask & IN_Q_OVERFLOW) != 0)
				f->changed = true;
			/* the directory itself was removed, renamed or
			 * unmounted: its watch is dead; watch the path's
			 * directory again (a new one may be there) */
			if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
					    IN_IGNORED)) != 0) {
				f->changed = true;
				f->stale = true;
			}
			if (ev->len == 0 || !names(f, ev->name))
				continue;
			f->changed = true;
			if ((ev->mask & IN_MODIFY) != 0)
				f->writing = true;
			if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO |
					    IN_DELETE)) != 0)
				f->writing = false;
			/* a symlink on the way may point elsewhere now */
			if ((f->flags & WAKE_FOLLOW) != 0)
				f->recheck = true;
		}
	}
}

/*
 * rearm_if_stale re-arms a stale file (a directory went away: try again on
 * every turn until it is back). A path that resolves elsewhere than
 * before, or a directory that is back, counts as a change: the file may
 * have changed while nothing watched it.
 */
static void
rearm_if_stale(struct wake_file *f)
{
	char *before;
	bool was_armed;

	if (!f->used)
		return;
	if (!f->stale && f->recheck) {
		f->recheck = false;
		before = realpath(f->path, NULL);
		f->stale = before == NULL || f->real == NULL ||
			   strcmp(before, f->real) != 0;
		free(before);
	}
	if (!f->stale)
		return;
	was_armed = f->fd >= 0;
	before = f->real;
	f->real = NULL;
	if (arm(f) != 0) {
		f->stale = true;
		free(before);
		return;
	}
	if (!was_armed || before == NULL || f->real == NULL ||
	    strcmp(before, f->real) != 0)
		f->changed = true;
	free(before);
}

void
wake_after_poll(struct wake *w, const int *fds, const bool *ready, size_t n)
{
	char buf[64];
	size_t i;
	int j;

	for (i = 0; i < n; i++) {
		if (!ready[i])
			continue;
		if (fds[i] == w->pipe[0]) {
			while (read(w->pipe[0], buf, sizeof(buf)) > 0)
				;
			continue;
		}
		for (j = 0; j < WAKE_MAX_FILES; j++)
			if (w->files[j].fd >= 0 && w->files[j].fd == fds[i])
				drain(&w->files[j]);
	}
	for (j = 0; j < WAKE_MAX_FILES; j++)
		rearm_if_stale(&w->files[j]);
}

bool
wake_stale(const struct wake *w)
{
	int j;

	for (j = 0; j < WAKE_MAX_FILES; j++)
		if (w->files[j].used && w->files[j].stale)
			return true;
	return false;
}

bool
wake_writing(const struct wake *w, int id)
{
	if (id < 0 || id >= WAKE_MAX_FILES || !w->files[id].used)
		return false;
	return w->files[id].writing;
}

bool
wake_changed(struct wake *w, int id)
{
	bool c;

	if (id < 0 || id >= WAKE_MAX_FILES || !w->files[id].used)
		return false;
	c = w->files[id].changed;
	w->files[id].changed = false;
	return c;
}
