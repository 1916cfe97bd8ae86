/*
 * render: pages built by scripts, loaded in a headless browser child
 * process (Debian's chromium-headless-shell, or any Chromium given by the
 * global `browser:` setting), and the DOM after the scripts ran handed back
 * as text.
 *
 * Chosen: the DevTools protocol over --remote-debugging-pipe (the browser
 * reads NUL-terminated JSON commands on its fd 3 and writes replies and
 * events on its fd 4; https://chromedevtools.github.io/devtools-protocol/),
 * not --dump-dom, because --dump-dom can neither take cookies nor wait for
 * an element. One render:
 *   Target.createTarget about:blank, Target.attachToTarget (flat session)
 *   Network.enable              the page's HTTP status, from
 *                               Network.responseReceived of its document
 *   Storage.setCookies          the watch's cookies, when it has any
 *   Page.navigate URL           a network error (errorText) fails here
 *   then either
 *     Emulation.setVirtualTimePolicy pauseIfNetworkFetchesPending with a
 *       budget (what --virtual-time-budget does): the page's timers run
 *       as fast as they can while no fetch is pending, until the budget of
 *       virtual time is used up (Emulation.virtualTimeBudgetExpired);
 *   or, with wait_for (an XPath 1.0 expression),
 *     Runtime.evaluate of document.evaluate(wait_for) every
 *       RENDER_POLL_MS of real time until it selects a node;
 *   Runtime.evaluate "<!DOCTYPE ..>" + document.documentElement.outerHTML
 *   Storage.getCookies          written to the kept jar, when it has one
 *   Browser.close               kept profiles only (so it is flushed)
 *
 * The child runs in its own process group, with a fresh profile directory
 * under work_dir (removed afterwards) or the kept one given; when the
 * deadline passes the whole group is killed with SIGKILL, and so it is
 * when the browser's process ends or closes its pipe early (a crash). The
 * child has PR_SET_PDEATHSIG SIGKILL and the browser ends when its pipe
 * closes, so nothing outlives a killed kakaowatch for long.
 *
 * Browsers run in a pool of at most `max` at once; more wait in a queue,
 * first in first out, and their timeout starts when they start. The pool
 * never blocks: the caller's loop polls render_fds() among its own
 * descriptors, no longer than render_timeout_ms(), and calls render_step()
 * after each wait (sched.c, cmd_once.c). render_dom is the blocking form
 * for one page (`kakaowatch test`).
 *
 * Cookie values are never logged nor put in an error message; buffers that
 * held them are wiped.
 */
#ifndef KAKAOWATCH_RENDER_H
#define KAKAOWATCH_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/util.h"

/* the browser looked up on PATH when `browser:` is not set */
#define RENDER_DEFAULT_BROWSER "chromium-headless-shell"
/* virtual time the page's scripts get (ms), at most; less when the
 * watch's timeout is shorter (half of it) */
#define RENDER_VIRTUAL_TIME_MS 5000L
/* how often wait_for is tried (ms, real time) */
#define RENDER_POLL_MS 250
/* browsers at once, at most (config's browser_max is 1..8) */
#define RENDER_MAX_BROWSERS 8
/* descriptors render_fds gives at most */
#define RENDER_MAX_FDS (2 * RENDER_MAX_BROWSERS)
/* a kept profile's browser gets this long to close by itself (ms) */
#define RENDER_CLOSE_MS 5000

/* one render; every pointer is borrowed (render_submit copies them) */
struct render_request {
	const char *browser;     /* path or name found on PATH; NULL: default */
	const char *url;         /* http(s) URL to load; required */
	const char *work_dir;    /* existing directory for a fresh profile
	                         (state_dir); required */
	const char *name;        /* the watch's name: the fresh profile is
	                         work_dir/browser-NAME-XXXXXX; NULL: none */
	const char *profile_dir; /* a kept profile (made 0700 when missing,
	                            never removed), or NULL: fresh */
	const char *proxy;       /* --proxy-server, or NULL */
	const char *user_agent;  /* --user-agent, or NULL: the browser's */
	/* a Netscape cookies.txt (curl's format, "#HttpOnly_" lines too)
	 * given to the browser before the page loads, or NULL */
	const char *cookie_file;
	/* the kept jar, or NULL: read after cookie_file when it is not older
	 * than it (as http.h does), and replaced (0600, temp + rename) by
	 * every cookie the browser holds after the page loaded */
	const char *cookie_jar;
	/* XPath 1.0 the page's DOM must select a node with before it is
	 * read (evaluated by the browser), or NULL: the virtual time budget */
	const char *wait_for;
	long timeout_ms;  /* whole render, spawn to exit; > 0 */
	size_t max_bytes; /* cap on the DOM in bytes; > 0 */
};

/* what a render gave; passed to render_done_fn */
struct render_result {
	int status;     /* 0: dom is set; -1: error says why */
	bool timed_out; /* the deadline passed (status -1) */
	char *dom;      /* UTF-8, NUL-terminated, owned; may be taken (set it
	                   to NULL) */
	size_t len;
	long http_status;       /* the page's HTTP status as the browser got it
	                     (after redirects), or 0: not seen */
	char error[KW_ERR_MAX]; /* status -1: why */
	char cookie_error[512]; /* why cookie_jar was not written, or "" */
};

/*
 * render_done_fn is called once per submitted render, from render_step
 * (or render_cancel_all), when it has ended. `res` is valid only during
 * the call. The callback may call render_submit, not render_pool_free.
 */
typedef void (*render_done_fn)(void *user, struct render_result *res);

struct render_pool;

/*
 * render_find_browser resolves `browser` (NULL: RENDER_DEFAULT_BROWSER): a
 * name with a '/' is taken as a path, else each PATH entry is tried. Sets
 * *path to an executable's path (heap string the caller frees). Returns 0,
 * or -1 with `err` ("browser 'X' not found on PATH: install
 * chromium-headless-shell or set browser:").
 */
int render_find_browser(const char *browser, char **path, struct kw_err *err);

/* the file in a fresh profile naming the kakaowatch that made it */
#define RENDER_OWNER_FILE "kakaowatch.pid"

/*
 * render_sweep removes the fresh profiles ("browser-*" directories) in
 * `work_dir` that a kakaowatch killed before it could remove them left
 * behind: those whose RENDER_OWNER_FILE names a process that no longer
 * exists, and those without one last changed over an hour ago. Kept
 * profiles (work_dir/browser/NAME) are never touched. Errors are ignored.
 */
void render_sweep(const char *work_dir);

/*
 * render_pool_new makes a pool running at most `max` browsers at once
 * (clamped to 1..RENDER_MAX_BROWSERS). Returns it (free with
 * render_pool_free) or NULL with `err` (out of memory).
 */
struct render_pool *render_pool_new(int max, struct kw_err *err);

/*
 * render_pool_set_max changes the limit (clamped as above); running
 * browsers go on, the queue starts new ones as the limit allows.
 */
void render_pool_set_max(struct render_pool *p, int max);

/*
 * render_pool_free kills every running browser's process group, reaps it,
 * removes fresh profiles, drops the queue WITHOUT calling callbacks, and
 * frees `p`. NULL does nothing.
 */
void render_pool_free(struct render_pool *p);

/*
 * render_cancel_all kills every running browser and ends every render,
 * running or queued, through its callback with status -1 ("aborted").
 * Callbacks must not submit from here.
 */
void render_cancel_all(struct render_pool *p);

/*
 * render_submit queues `req` (copied); `done(user, res)` is called from a
 * later render_step when it has ended, whatever the outcome. It starts at
 * the next render_step when fewer than `max` browsers run. Returns 0, or
 * -1 with `err` (no url or work_dir, out of memory): `done` is then never
 * called.
 */
int render_submit(struct render_pool *p, const struct render_request *req,
    render_done_fn done, void *user, struct kw_err *err);

/* render_pending: renders submitted whose callback has not run yet */
size_t render_pending(const struct render_pool *p);

/* render_running: browsers running now (<= max) */
size_t render_running(const struct render_pool *p);

/*
 * render_fds writes the descriptors the caller's wait should watch for
 * readability (each running browser's pipe and, where the kernel has
 * them, its pidfd) into fds[0..max) and returns how many. Valid until the
 * next render_step.
 */
size_t render_fds(const struct render_pool *p, int *fds, size_t max);

/*
 * render_timeout_ms: how long (ms, >= 0) the caller may wait before the
 * next render_step is needed (a deadline, a wait_for poll, a queued render
 * that can start), or -1 when nothing is pending.
 */
long render_timeout_ms(const struct render_pool *p);

/*
 * render_step does the pool's work without blocking: starts queued
 * renders, reads what the browsers wrote, moves each render along, kills
 * the ones past their deadline and calls the callbacks of those that
 * ended. Call it after every wait (readiness flags are not needed: every
 * descriptor is read without blocking).
 */
void render_step(struct render_pool *p);

/*
 * render_dom loads req->url as above and sets *dom to the serialised
 * DOM (UTF-8, NUL-terminated heap string the caller frees) and *len to its
 * length. Blocks up to req->timeout_ms. Returns 0, or -1 with `err`: the
 * browser missing or not starting, timing out (its process group killed),
 * exiting or crashing, a DevTools error, a DOM over max_bytes, or the
 * page's HTTP status 400 or more ("HTTP 404").
 */
int render_dom(const struct render_request *req, char **dom, size_t *len,
    struct kw_err *err);

#endif
