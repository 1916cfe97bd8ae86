/*
 * wake: what wakes a single-threaded daemon's poll besides its timers:
 * signals (a self-pipe written by the handler) and changes to files
 * (inotify on their directories). It knows nothing of what the daemon
 * does; it hands out file descriptors to poll and, after the poll, tells
 * which file changed. Signal handlers only set the caller's flag and write
 * one byte to the pipe (async-signal-safe; errno is preserved).
 *
 * A file is watched through its directory, because editors replace files
 * by rename and a watch on the file itself would follow the old inode:
 * an event in the directory that names the file's base name (or, with
 * WAKE_FOLLOW, the base name of the file a symlink path resolves to, in
 * that file's directory, and any name starting with ".." for Kubernetes'
 * ConfigMap "..data" swap) counts as a change, and so does an inotify
 * queue overflow (a change may have been lost). Each watched file has its
 * own inotify instance, so two files in one directory do not share (and
 * overwrite) one watch mask.
 *
 * Watches are re-armed by wake_after_poll: when a watched directory is
 * deleted, moved or unmounted (IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED:
 * a config directory replaced by `mv new conf`), the path's directory is
 * watched again, on every turn until it exists again; with WAKE_FOLLOW,
 * every change re-resolves the path (realpath), so a re-pointed symlink is
 * followed to its new target's directory. Either counts as a change.
 *
 * Linux only (inotify(7), pipe(2)). One struct wake per process: the
 * signal handlers reach it through a static pointer.
 */
#ifndef KAKAOWATCH_WAKE_H
#define KAKAOWATCH_WAKE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/util.h"

/* wake_watch flags */
enum {
	/*
	 * Every step of an edit counts (IN_CREATE, IN_DELETE, IN_MODIFY too),
	 * not only a finished write, rename or attribute change
	 * (IN_CLOSE_WRITE, IN_MOVED_TO, IN_ATTRIB, always watched). For a
	 * file whose changes are debounced by the caller.
	 */
	WAKE_EDITS = 1,
	/* also the directory of the file a symlink path points to, and
	 * ".."-names (see above) */
	WAKE_FOLLOW = 2
};

/* the most descriptors wake_fds returns: the pipe and WAKE_MAX_FILES */
#define WAKE_MAX_FILES 8
#define WAKE_MAX_FDS (1 + WAKE_MAX_FILES)

struct wake;

/*
 * wake_new makes the self-pipe (both ends non-blocking, close-on-exec).
 * Returns a new struct wake (free with wake_free) or NULL with `err`
 * (also when one exists already).
 */
struct wake *wake_new(struct kw_err *err);

/*
 * wake_free closes everything, restores the default disposition of every
 * signal wake_catch caught and clears the caller's flags' link to them
 * (the flags themselves keep their values). NULL is a no-op.
 */
void wake_free(struct wake *w);

/*
 * wake_catch installs a handler for `sig` (1..64; SA_RESTART) that sets
 * *flag = 1 and wakes the poll. `flag` is borrowed and must outlive `w`.
 * Returns 0 or -1 with `err`.
 */
int wake_catch(struct wake *w, int sig, volatile sig_atomic_t *flag,
    struct kw_err *err);

/*
 * wake_watch starts watching `path` (borrowed; copied) with WAKE_* flags.
 * Returns an id >= 0 for wake_changed and wake_unwatch, or -1 with `err`
 * (the directory cannot be watched, WAKE_MAX_FILES are watched already,
 * out of memory). With WAKE_FOLLOW, a symlink target's directory that
 * cannot be watched is not an error (the path's own directory is).
 */
int wake_watch(struct wake *w, const char *path, unsigned flags,
    struct kw_err *err);

/* wake_unwatch stops watch `id`; an unknown id (or -1) is a no-op */
void wake_unwatch(struct wake *w, int id);

/*
 * wake_fds writes the descriptors to poll for reading into fds[0..max)
 * and returns how many (at most WAKE_MAX_FDS). They stay valid until the
 * next wake_watch, wake_unwatch, wake_after_poll (which may re-arm) or
 * wake_free: call it before every poll.
 */
size_t wake_fds(const struct wake *w, int *fds, size_t max);

/*
 * wake_after_poll reads what is pending on the descriptors wake_fds gave
 * (fds[i] with ready[i] true; other descriptors are ignored), without
 * blocking. Afterwards wake_changed tells which files changed.
 */
void wake_after_poll(struct wake *w, const int *fds, const bool *ready,
    size_t n);

/*
 * wake_changed: did watched file `id` change since the last call for it?
 * Clears the mark.
 */
bool wake_changed(struct wake *w, int id);

/*
 * wake_stale: is a watch waiting to be re-armed (its directory is gone)?
 * The caller then polls at least once a second, so wake_after_poll can try
 * again.
 */
bool wake_stale(const struct wake *w);

/*
 * wake_writing: was watched file `id` modified (IN_MODIFY) and not yet
 * closed by its writer (IN_CLOSE_WRITE), renamed into place or deleted?
 * A reader should wait: the file may be half written. Needs WAKE_EDITS.
 */
bool wake_writing(const struct wake *w, int id);

#endif
