/*
 * test_render: the browser pool (render.h) against tests/fakes/
 * fake_browser.py, a stand-in that speaks the DevTools pipe as Chromium
 * does, so that these run where Chromium is not installed
 * (tests/integration/test_render.py drives the real one): the DOM is read;
 * at most `max` browsers run at once and the rest wait; a browser that
 * never answers is killed at the timeout, one that crashes fails alone;
 * cookies go in and the browser's come out to the jar (0600); an error
 * status fails render_dom; fresh profiles are removed.
 */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kakaowatch/render.h"
#include "kakaowatch/util.h"

static char dir[64];
static char browser[4096];
static char logpath[128];

static int
setup(void **state)
{
	const char *fakes = getenv("KW_FAKES_DIR");

	(void)state;
	if (fakes == NULL)
		return -1;
	snprintf(browser, sizeof(browser), "%s/fake_browser.py", fakes);
	snprintf(dir, sizeof(dir), "/tmp/kw-render-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/browser.log", dir);
	setenv("FAKE_BROWSER_LOG", logpath, 1);
	unlink(logpath);
	return 0;
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
request(struct render_request *rr, const char *url, long timeout_ms)
{
	memset(rr, 0, sizeof(*rr));
	rr->browser = browser;
	rr->url = url;
	rr->work_dir = dir;
	rr->name = "w";
	rr->timeout_ms = timeout_ms;
	rr->max_bytes = 1 << 20;
}

/* the number of browser-* directories left in dir */
static int
fresh_profiles(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "browser-", 8) == 0)
			n++;
	closedir(d);
	return n;
}

static char *
read_log(void)
{
	struct kw_err err = { 0 };
	char *s = util_read_file(logpath, 1 << 20, NULL, &err);

	assert_non_null(s);
	return s;
}

static void
test_render_dom_reads_the_page(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	char *dom = NULL, *log;
	size_t len = 0;

	(void)state;
	request(&rr, "http://127.0.0.1:9/list?items=3", 20000);
	rr.proxy = "http://127.0.0.1:3128";
	rr.user_agent = "kakaowatch-test/1";
	assert_int_equal(render_dom(&rr, &dom, &len, &err), 0);
	assert_string_equal(dom,
	    "<html><body><ul><li>fake 0</li>"
	    "<li>fake 1</li><li>fake 2</li></ul></body></html>");
	assert_int_equal(len, strlen(dom));
	free(dom);
	log = read_log();
	assert_non_null(strstr(log, "argv --remote-debugging-pipe\n"));
	assert_non_null(strstr(log, "argv --proxy-server=http://127.0.0.1:3128"
				    "\n"));
	assert_non_null(strstr(log, "argv --user-agent=kakaowatch-test/1\n"));
	assert_non_null(strstr(log, "\nPage.navigate\n"));
	/* no wait_for: virtual time, then the DOM */
	assert_non_null(strstr(log, "Emulation.setVirtualTimePolicy\n"
				    "Runtime.evaluate\n"));
	/* no cookies: none set, none read */
	assert_null(strstr(log, "Storage."));
	free(log);
	assert_int_equal(fresh_profiles(), 0);
}

struct tally {
	int done, failed, timed_out, most;
	char error[4][KW_ERR_MAX];
	char *dom[4];
	struct render_pool *p;
};

static void
on_done(void *user, struct render_result *res)
{
	struct tally *t = user;

	if (res->status != 0) {
		t->failed++;
		if (t->done < 4)
			snprintf(t->error[t->done], KW_ERR_MAX, "%s",
			    res->error);
	} else if (t->done < 4) {
		t->dom[t->done] = res->dom;
		res->dom = NULL;
	}
	if (res->timed_out)
		t->timed_out++;
	t->done++;
}

/* run: the caller's loop, until `n` renders ended; most = the most
 * browsers seen running at once */
static void
run(struct tally *t, int n)
{
	struct pollfd pfd[RENDER_MAX_FDS];
	int fds[RENDER_MAX_FDS];
	size_t nfds, i;
	long wait;
	int64_t give_up = util_mono_ms() + 60000;

	while (t->done < n) {
		assert_true(util_mono_ms() < give_up);
		render_step(t->p);
		if ((int)render_running(t->p) > t->most)
			t->most = (int)render_running(t->p);
		nfds = render_fds(t->p, fds, RENDER_MAX_FDS);
		for (i = 0; i < nfds; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		wait = render_timeout_ms(t->p);
		poll(pfd, nfds, wait < 0 || wait > 1000 ? 1000 : (int)wait);
	}
}

static void
run_hanging(int max, int n, struct tally *t)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	int i;

	memset(t, 0, sizeof(*t));
	t->p = render_pool_new(max, &err);
	assert_non_null(t->p);
	request(&rr, "http://127.0.0.1:9/hang", 700);
	for (i = 0; i < n; i++)
		assert_int_equal(render_submit(t->p, &rr, on_done, t, &err), 0);
	assert_int_equal(render_pending(t->p), (size_t)n);
	run(t, n);
	assert_int_equal(render_pending(t->p), 0);
	render_pool_free(t->p);
}

static void
test_render_pool_runs_at_most_max_browsers(void **state)
{
	struct tally t;

	(void)state;
	/* every one times out: each had its browser for its whole timeout,
	 * and never more than one ran */
	run_hanging(1, 3, &t);
	assert_int_equal(t.done, 3);
	assert_int_equal(t.timed_out, 3);
	assert_int_equal(t.most, 1);
	assert_non_null(strstr(t.error[0], "did not finish within 1s "
					   "(timeout): killed"));
	/* the limit is the setting: three may run together */
	run_hanging(3, 3, &t);
	assert_int_equal(t.timed_out, 3);
	assert_int_equal(t.most, 3);
	assert_int_equal(fresh_profiles(), 0);
}

static void
test_render_crash_fails_that_render_only(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	struct tally t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.p = render_pool_new(2, &err);
	assert_non_null(t.p);
	request(&rr, "http://127.0.0.1:9/crash", 20000);
	assert_int_equal(render_submit(t.p, &rr, on_done, &t, &err), 0);
	request(&rr, "http://127.0.0.1:9/ok?items=1", 20000);
	assert_int_equal(render_submit(t.p, &rr, on_done, &t, &err), 0);
	run(&t, 2);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.timed_out, 0);
	/* the fake is a script: the signal may come from it or through a
	 * shell's exit status */
	assert_true(
	    strstr(t.error[0], "the browser crashed (signal 11)") != NULL ||
	    strstr(t.error[1], "the browser crashed (signal 11)") != NULL);
	assert_true((t.dom[0] != NULL && strstr(t.dom[0], "fake 0")) ||
		    (t.dom[1] != NULL && strstr(t.dom[1], "fake 0")));
	free(t.dom[0]);
	free(t.dom[1]);
	render_pool_free(t.p);
	assert_int_equal(fresh_profiles(), 0);
}

static void
test_render_cookies_go_in_and_the_jar_comes_out(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	static const char text[] =
	    "# Netscape HTTP Cookie File\n"
	    "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\texported\n"
	    ".example.kr\tTRUE\t/\tTRUE\t2000000000\ttheme\tdark\r\n"
	    "not a cookie line\n";
	char file[128], jar[128], *dom = NULL, *log, *kept;
	struct stat st;
	size_t len;

	(void)state;
	snprintf(file, sizeof(file), "%s/cookies.txt", dir);
	snprintf(jar, sizeof(jar), "%s/jar.txt", dir);
	assert_int_equal(
	    util_write_file_atomic(file, text, strlen(text), 0600, false, &err),
	    0);
	request(&rr, "http://127.0.0.1:9/board", 20000);
	rr.cookie_file = file;
	rr.cookie_jar = jar;
	assert_int_equal(render_dom(&rr, &dom, &len, &err), 0);
	free(dom);
	log = read_log();
	/* host-only by its URL, a domain cookie by its domain */
	assert_non_null(strstr(log, "cookie sid http://127.0.0.1/\n"));
	assert_non_null(strstr(log, "cookie theme .example.kr\n"));
	assert_non_null(strstr(log, "Storage.getCookies\n"));
	free(log);
	assert_int_equal(stat(jar, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	kept = util_read_file(jar, 4096, NULL, &err);
	assert_non_null(kept);
	assert_non_null(strstr(kept, "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\t"
				     "sid\trotated\n"));
	free(kept);
}

static void
test_render_dom_fails_on_an_error_status(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	char *dom = NULL;
	size_t len;

	(void)state;
	request(&rr, "http://127.0.0.1:9/gone?status=404", 20000);
	assert_int_equal(render_dom(&rr, &dom, &len, &err), -1);
	assert_null(dom);
	assert_string_equal(err.msg, "HTTP 404");
}

static void
test_render_wait_for_tries_until_it_matches(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	char *dom = NULL, *log, *p;
	size_t len;
	int tries = 0;

	(void)state;
	request(&rr, "http://127.0.0.1:9/late", 20000);
	rr.wait_for = "//li";
	assert_int_equal(render_dom(&rr, &dom, &len, &err), 0);
	free(dom);
	log = read_log();
	/* three tries of wait_for, then the DOM; no virtual time */
	for (p = log; (p = strstr(p, "Runtime.evaluate\n")) != NULL; p++)
		tries++;
	assert_int_equal(tries, 4);
	assert_null(strstr(log, "Emulation."));
	free(log);
}

static void
test_render_missing_browser_is_an_error(void **state)
{
	struct render_request rr;
	struct kw_err err = { 0 };
	char *dom = NULL;
	size_t len;

	(void)state;
	request(&rr, "http://127.0.0.1:9/", 20000);
	rr.browser = "no-such-chromium-here";
	assert_int_equal(render_dom(&rr, &dom, &len, &err), -1);
	assert_non_null(strstr(err.msg, "browser 'no-such-chromium-here' not "
					"found on PATH"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_render_dom_reads_the_page,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_pool_runs_at_most_max_browsers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_crash_fails_that_render_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_cookies_go_in_and_the_jar_comes_out, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_dom_fails_on_an_error_status, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_wait_for_tries_until_it_matches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_render_missing_browser_is_an_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
