/*
 * test_wake: the daemon's wake-ups (wake.h): a caught signal sets its flag
 * and makes the pipe readable; a file replaced by rename, edited in place,
 * or behind a symlink is reported once; other files in its directory are
 * not; two files in one directory keep their own event masks; an edit in
 * place is never lost, nor its writer's close (a reload waits for it).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kakaowatch/wake.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kw-wake-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* poll the wake descriptors (up to `ms`), then hand them to wake */
static int
turn(struct wake *w, int ms)
{
	int fds[WAKE_MAX_FDS];
	bool ready[WAKE_MAX_FDS];
	struct pollfd p[WAKE_MAX_FDS];
	size_t n, i;
	int r;

	n = wake_fds(w, fds, WAKE_MAX_FDS);
	for (i = 0; i < n; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	r = poll(p, n, ms);
	assert_true(r >= 0);
	for (i = 0; i < n; i++)
		ready[i] = (p[i].revents & POLLIN) != 0;
	wake_after_poll(w, fds, ready, n);
	return r;
}

static void
test_wake_signal_sets_flag_and_wakes_the_poll(void **state)
{
	static volatile sig_atomic_t flag;
	struct kw_err err = { 0 };
	struct wake *w;

	(void)state;
	w = wake_new(&err);
	assert_non_null(w);
	assert_null(wake_new(&err)); /* one per process */
	flag = 0;
	assert_int_equal(wake_catch(w, SIGUSR1, &flag, &err), 0);
	assert_int_equal(turn(w, 0), 0); /* nothing pending */
	raise(SIGUSR1);
	assert_int_equal(flag, 1);
	assert_int_equal(turn(w, 1000), 1);
	assert_int_equal(turn(w, 0), 0); /* the pipe was drained */
	wake_free(w);
	/* the default disposition is back; a new one can be made */
	w = wake_new(&err);
	assert_non_null(w);
	wake_free(w);
}

static void
test_wake_reports_a_file_replaced_by_rename_once(void **state)
{
	struct kw_err err = { 0 };
	char path[128], tmp[128], other[128];
	struct wake *w;
	int id;

	(void)state;
	path_of(path, sizeof(path), "config.yaml");
	path_of(tmp, sizeof(tmp), ".config.yaml.swp");
	path_of(other, sizeof(other), "unrelated.txt");
	write_file(path, "a: 1\n");
	w = wake_new(&err);
	assert_non_null(w);
	id = wake_watch(w, path, 0, &err);
	assert_true(id >= 0);

	write_file(other, "x"); /* another file in the directory */
	turn(w, 200);
	assert_false(wake_changed(w, id));

	write_file(tmp, "a: 2\n"); /* an editor's save */
	assert_int_equal(rename(tmp, path), 0);
	turn(w, 1000);
	assert_true(wake_changed(w, id));
	assert_false(wake_changed(w, id)); /* reported once */

	write_file(path, "a: 3\n"); /* written in place */
	turn(w, 1000);
	assert_true(wake_changed(w, id));

	wake_unwatch(w, id);
	assert_false(wake_changed(w, id));
	wake_unwatch(w, id); /* twice: a no-op */
	wake_unwatch(w, -1);
	wake_free(w);
}

static void
test_wake_two_files_in_one_directory_keep_their_masks(void **state)
{
	struct kw_err err = { 0 };
	char a[128], b[128];
	struct wake *w;
	int ida, idb;

	(void)state;
	path_of(a, sizeof(a), "a.yaml");
	path_of(b, sizeof(b), "token.json");
	write_file(a, "1");
	write_file(b, "1");
	w = wake_new(&err);
	assert_non_null(w);
	ida = wake_watch(w, a, WAKE_EDITS, &err);
	idb = wake_watch(w, b, 0, &err);
	assert_true(ida >= 0 && idb >= 0 && ida != idb);
	/* a deletion is an edit step: it counts for a, not for b */
	assert_int_equal(unlink(a), 0);
	assert_int_equal(unlink(b), 0);
	turn(w, 1000);
	turn(w, 100);
	assert_true(wake_changed(w, ida));
	assert_false(wake_changed(w, idb));
	write_file(b, "2"); /* a finished write counts for both kinds */
	turn(w, 1000);
	assert_true(wake_changed(w, idb));
	wake_free(w);
}

static void
test_wake_follows_a_symlink_to_another_directory(void **state)
{
	struct kw_err err = { 0 };
	char sub[128], target[128], link[128], tmp[128];
	struct wake *w;
	int id;

	(void)state;
	path_of(sub, sizeof(sub), "real");
	assert_int_equal(mkdir(sub, 0700), 0);
	path_of(target, sizeof(target), "real/config.yaml");
	path_of(tmp, sizeof(tmp), "real/new.yaml");
	path_of(link, sizeof(link), "config-link.yaml");
	write_file(target, "1");
	assert_int_equal(symlink(target, link), 0);
	w = wake_new(&err);
	assert_non_null(w);
	id = wake_watch(w, link, WAKE_FOLLOW, &err);
	assert_true(id >= 0);
	write_file(tmp, "2");
	turn(w, 200);
	assert_false(wake_changed(w, id));
	assert_int_equal(rename(tmp, target), 0); /* the target replaced */
	turn(w, 1000);
	assert_true(wake_changed(w, id));
	wake_free(w);
}

static void
test_wake_watch_of_a_missing_directory_fails(void **state)
{
	struct kw_err err = { 0 };
	struct wake *w;

	(void)state;
	w = wake_new(&err);
	assert_non_null(w);
	assert_int_equal(wake_watch(w, "/nonexistent-kw/dir/file", 0, &err),
	    -1);
	assert_non_null(strstr(err.msg, "/nonexistent-kw/dir/file"));
	assert_int_equal(wake_fds(w, (int[WAKE_MAX_FDS]){ 0 }, WAKE_MAX_FDS),
	    1); /* only the pipe */
	wake_free(w);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * A writer edits a followed file in place 300 times, each time waiting
 * until wake has reported the change and seen the close: an event lost
 * while a watch is re-armed (the close above all, which would hold a
 * reload back as "still being written") fails it.
 */
static void
test_wake_never_loses_an_edit_in_place_or_its_close(void **state)
{
	struct kw_err err = { 0 };
	char path[128], c = 0;
	int up[2], down[2], id, cycles = 0;
	bool pending = false, seen = false;
	long since = 0;
	struct wake *w;
	pid_t pid;

	(void)state;
	path_of(path, sizeof(path), "config.yaml");
	write_file(path, "a: 0\n");
	w = wake_new(&err);
	assert_non_null(w);
	id = wake_watch(w, path, WAKE_EDITS | WAKE_FOLLOW, &err);
	assert_true(id >= 0);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int i, fd;

		for (i = 0; i < 300; i++) {
			fd = open(path, O_WRONLY | O_TRUNC);
			if (fd < 0 || write(fd, "a: ", 3) != 3 ||
			    write(fd, "12\n", 3) != 3 || close(fd) != 0 ||
			    write(up[1], "c", 1) != 1 ||
			    read(down[0], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(fcntl(up[0], F_SETFL, O_NONBLOCK), 0);
	while (cycles < 300) {
		turn(w, 2);
		if (wake_changed(w, id))
			seen = true;
		if (!pending && read(up[0], &c, 1) == 1) {
			pending = true;
			since = now_ms();
		}
		if (pending && seen && !wake_writing(w, id)) {
			pending = seen = false;
			cycles++;
			assert_int_equal(write(down[1], "a", 1), 1);
		} else if (pending && now_ms() - since > 5000) {
			kill(pid, SIGKILL);
			fail_msg("edit %d: %s after the writer closed the file",
			    cycles + 1,
			    seen ? "still 'being written'" :
				   "no change reported");
		}
	}
	close(up[0]);
	close(down[1]);
	assert_true(waitpid(pid, NULL, 0) == pid);
	wake_unwatch(w, id);
	wake_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wake_signal_sets_flag_and_wakes_the_poll),
		cmocka_unit_test_setup_teardown(
		    test_wake_reports_a_file_replaced_by_rename_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_wake_two_files_in_one_directory_keep_their_masks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wake_follows_a_symlink_to_another_directory, setup,
		    teardown),
		cmocka_unit_test(test_wake_watch_of_a_missing_directory_fails),
		cmocka_unit_test_setup_teardown(
		    test_wake_never_loses_an_edit_in_place_or_its_close, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
