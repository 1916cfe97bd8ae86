/*
 * render: pages built by scripts, loaded in a headless browser child
 * process (Debian's chromium-headless-shell, or any Chromium given by the
 * global `browser:` setting) and dumped as the DOM after the scripts ran.
 *
 * Chosen: `--dump-dom --virtual-time-budget=MS` (Chromium's headless
 * switches, https://developer.chrome.com/docs/chromium/headless): one
 * process per check, no protocol to speak, the DOM on stdout. Virtual time
 * runs the page's timers and network as fast as they can go until the
 * budget is used up or nothing is pending. It cannot wait for a selector
 * (`wait_for:` would need the DevTools protocol over
 * --remote-debugging-pipe; not built).
 *
 * The child runs in its own process group with a fresh profile directory
 * (removed afterwards); when the deadline passes the whole group is killed
 * with SIGKILL. render_dom blocks the caller until the browser exits or the
 * deadline passes (the daemon's loop waits for it: see docs/design.md and
 * the README).
 */
#ifndef KAKAOWATCH_RENDER_H
#define KAKAOWATCH_RENDER_H

#include <stddef.h>

#include "kakaowatch/util.h"

/* the browser looked up on PATH when `browser:` is not set */
#define RENDER_DEFAULT_BROWSER "chromium-headless-shell"
/* virtual time the page's scripts get (ms), at most; less when the
 * watch's timeout is shorter */
#define RENDER_VIRTUAL_TIME_MS 5000L

/* one render; every pointer is borrowed */
struct render_request {
	const char *browser;  /* path or name found on PATH; NULL: default */
	const char *url;      /* http(s) URL to load; required */
	const char *work_dir; /* existing directory for the fresh profile
	                         (state_dir); required */
	const char *proxy;      /* --proxy-server, or NULL */
	const char *user_agent; /* --user-agent, or NULL: the browser's */
	long timeout_ms; /* whole render, spawn to exit; > 0 */
	size_t max_bytes; /* cap on the DOM in bytes; > 0 */
};

/*
 * render_find_browser resolves `browser` (NULL: RENDER_DEFAULT_BROWSER): a
 * name with a '/' is taken as a path, else each PATH entry is tried. Sets
 * *path to an executable's path (heap string the caller frees). Returns 0,
 * or -1 with `err` ("browser 'X' not found on PATH: install
 * chromium-headless-shell or set browser:").
 */
int render_find_browser(const char *browser, char **path,
    struct kw_err *err);

/*
 * render_dom loads req->url in the browser and sets *dom to the serialised
 * DOM (UTF-8, NUL-terminated heap string the caller frees) and *len to its
 * length. Blocks up to req->timeout_ms. Returns 0, or -1 with `err`: the
 * browser missing or not starting, timing out (its process group killed),
 * exiting with an error or on a signal, or a DOM over max_bytes.
 */
int render_dom(const struct render_request *req, char **dom, size_t *len,
    struct kw_err *err);

#endif
