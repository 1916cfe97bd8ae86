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

/* one watched file; fd < 0: the slot is free */
struct wake_file {
	int fd;          /* its own inotify instance */
	unsigned flags;  /* WAKE_* */
	char *path;      /* as given */
	char *base;      /* its base name, in its directory */
	char *real_base; /* WAKE_FOLLOW: the symlink target's, or NULL */
	bool changed;
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
		if (fl < 0 || fcntl(w->pipe[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
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

int
wake_watch(struct wake *w, const char *path, unsigned flags,
    struct kw_err *err)
{
	uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB;
	struct wake_file *f = NULL;
	char *real;
	int id;

	for (id = 0; id < WAKE_MAX_FILES; id++) {
		if (w->files[id].fd < 0) {
			f = &w->files[id];
			break;
		}
	}
	if (f == NULL)
		return kw_err_set(err, "cannot watch '%s': %d files are "
		    "watched already", path, WAKE_MAX_FILES);
	if ((flags & WAKE_EDITS) != 0)
		mask |= IN_CREATE | IN_DELETE | IN_MODIFY;
	memset(f, 0, sizeof(*f));
	f->flags = flags;
	f->path = strdup(path);
	f->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->path == NULL || f->fd < 0 ||
	    add_dir(f->fd, path, mask, &f->base) != 0) {
		kw_err_set(err, "cannot watch the directory of '%s': %s", path,
		    f->path == NULL ? "out of memory" : strerror(errno));
		wake_unwatch(w, id);
		return -1;
	}
	if ((flags & WAKE_FOLLOW) != 0) {
		real = realpath(path, NULL);
		if (real != NULL && strcmp(real, path) != 0 &&
		    add_dir(f->fd, real, mask, &f->real_base) != 0)
			f->real_base = NULL; /* the path's directory still is */
		free(real);
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
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->base);
	free(f->real_base);
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
			if (ev->len > 0 && names(f, ev->name))
				f->changed = true;
		}
	}
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
}

bool
wake_changed(struct wake *w, int id)
{
	bool c;

	if (id < 0 || id >= WAKE_MAX_FILES || w->files[id].fd < 0)
		return false;
	c = w->files[id].changed;
	w->files[id].changed = false;
	return c;
}
