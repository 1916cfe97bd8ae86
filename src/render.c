/* render: the headless browser child process (see render.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "kakaowatch/buf.h"
#include "kakaowatch/log.h"
#include "kakaowatch/render.h"
#include "kakaowatch/util.h"

/* a browser that closed its pipe gets this long to exit (ms) */
#define RENDER_EOF_MS 1000
/* the largest cookies file handed to the browser */
#define COOKIE_FILE_MAX (4 * 1024 * 1024)

int
render_find_browser(const char *browser, char **path, struct kw_err *err)
{
	const char *name = browser != NULL ? browser : RENDER_DEFAULT_BROWSER;
	const char *env, *p, *colon;
	char *cand;
	size_t dlen;

	*path = NULL;
	if (strchr(name, '/') != NULL) {
		if (access(name, X_OK) != 0)
			return kw_err_set(err, "browser '%s' cannot be run: %s",
			    name, strerror(errno));
		*path = strdup(name);
		return *path != NULL ? 0 : kw_err_set(err, "out of memory");
	}
	env = getenv("PATH");
	for (p = env != NULL ? env : "/usr/bin:/bin"; *p != '\0';
	     p = *colon != '\0' ? colon + 1 : colon) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		dlen = (size_t)(colon - p);
		if (dlen == 0)
			continue;
		cand = malloc(dlen + strlen(name) + 2);
		if (cand == NULL)
			return kw_err_set(err, "out of memory");
		memcpy(cand, p, dlen);
		cand[dlen] = '/';
		strcpy(cand + dlen + 1, name);
		if (access(cand, X_OK) == 0) {
			*path = cand;
			return 0;
		}
		free(cand);
	}
	return kw_err_set(err,
	    "browser '%s' not found on PATH: install "
	    "chromium-headless-shell (Debian) or set browser: to its path",
	    name);
}

/* remove_tree deletes the directory `fd`/`name` and everything in it */
static void
remove_tree(int dirfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0) {
		unlinkat(dirfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			remove_tree(fd, de->d_name);
		else
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* opt_arg: "--NAME=VALUE" as a heap string, or NULL on out-of-memory */
static char *
opt_arg(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 4;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "--%s=%s", name, value);
	return s;
}

/* proxy_arg: "--proxy-server=" for `proxy` (socks5h:// as socks5://) */
static char *
proxy_arg(const char *proxy)
{
	char *s;

	if (strncmp(proxy, "socks5h://", 10) != 0)
		return opt_arg("proxy-server", proxy);
	s = malloc(strlen(proxy) + 32);
	if (s != NULL)
		sprintf(s, "--proxy-server=socks5://%s", proxy + 10);
	return s;
}

void
render_sweep(const char *work_dir)
{
	struct dirent *de;
	struct stat st;
	char buf[32];
	int64_t pid;
	ssize_t n;
	DIR *d;
	int dfd, fd;

	d = opendir(work_dir);
	if (d == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "browser-", 8) != 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		snprintf(buf, sizeof(buf), "%s", "");
		fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			int pf = openat(fd, RENDER_OWNER_FILE, O_RDONLY);

			n = pf >= 0 ? read(pf, buf, sizeof(buf) - 1) : -1;
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			if (pf >= 0)
				close(pf);
			close(fd);
		}
		if (buf[0] != '\0' &&
		    util_parse_int(buf, 1, INT32_MAX, &pid) == 0) {
			if (kill((pid_t)pid, 0) == 0 || errno == EPERM)
				continue; /* its kakaowatch still runs */
		} else if (st.st_mtime > time(NULL) - 3600) {
			continue; /* being made, or not ours: leave it */
		}
		remove_tree(dfd, de->d_name);
	}
	closedir(d);
}

/* ---- the pool ---- */

enum job_state {
	J_QUEUED,
	J_TARGET,     /* Target.createTarget sent */
	J_ATTACH,     /* Target.attachToTarget sent */
	J_NETWORK,    /* Network.enable sent */
	J_COOKIES,    /* Storage.setCookies sent */
	J_NAVIGATE,   /* Page.navigate sent */
	J_VTIME,      /* virtual time running: waiting for its end */
	J_WAITFOR,    /* trying wait_for */
	J_DOM,        /* the DOM asked for */
	J_GETCOOKIES, /* Storage.getCookies sent */
	J_CLOSING,    /* Browser.close sent: waiting for the exit */
	J_ENDED
};

struct render_job {
	struct render_job *next;
	render_done_fn done;
	void *user;
	/* the request, copied */
	char *browser, *url, *work_dir, *name, *profile_dir, *proxy,
	    *user_agent, *cookie_file, *cookie_jar, *wait_for;
	long timeout_ms;
	size_t max_bytes;

	enum job_state state;
	pid_t pid; /* the browser (group leader), -1 = none */
	int pidfd; /* -1 = none (then waitpid every step) */
	int fd;    /* our end of the DevTools socket, -1 = none */
	bool reaped;
	int wstatus;    /* when reaped */
	bool killed;    /* we killed it */
	char *profile;  /* the profile in use */
	bool fresh;     /* profile made for this render: removed after */
	struct buf in;  /* bytes from the browser, not yet a message */
	struct buf out; /* bytes to the browser, from out_off on */
	size_t out_off;
	long next_id;
	long want_id; /* the command whose reply moves the state */
	const char *want_method;
	char *session;    /* the page's flat session id */
	char *target;     /* the page's target id (= its main frame's id) */
	int64_t started;  /* monotonic ms */
	int64_t deadline; /* monotonic ms */
	int64_t poll_at;  /* J_WAITFOR: the next try, 0 = one in flight */
	int64_t eof_at;   /* the pipe closed then (monotonic ms), or 0 */
	struct render_result res;
};

struct render_pool {
	int max;
	struct render_job *queue, *queue_tail; /* FIFO */
	struct render_job *running;
	size_t nqueued, nrunning;
	bool stepping; /* inside render_step (callbacks submit to the queue) */
};

static int
clamp_max(int max)
{
	if (max < 1)
		return 1;
	return max > RENDER_MAX_BROWSERS ? RENDER_MAX_BROWSERS : max;
}

struct render_pool *
render_pool_new(int max, struct kw_err *err)
{
	struct render_pool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	p->max = clamp_max(max);
	return p;
}

void
render_pool_set_max(struct render_pool *p, int max)
{
	p->max = clamp_max(max);
}

size_t
render_pending(const struct render_pool *p)
{
	return p != NULL ? p->nqueued + p->nrunning : 0;
}

size_t
render_running(const struct render_pool *p)
{
	return p != NULL ? p->nrunning : 0;
}

/* wipe_buf: the buffer may hold cookie values */
static void
wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		util_wipe(b->data, b->cap);
	buf_release(b);
}

/* job_reap kills the browser's whole group (its helpers too) and waits
 * for the browser itself */
static void
job_reap(struct render_job *j)
{
	int st;

	if (j->pid <= 0)
		return;
	if (!j->reaped && waitpid(j->pid, &st, WNOHANG) == j->pid) {
		j->reaped = true;
		j->wstatus = st;
	}
	/* the group outlives its leader while a helper is in it */
	kill(-j->pid, SIGKILL);
	if (!j->reaped) {
		kill(j->pid, SIGKILL);
		j->killed = true;
		while (waitpid(j->pid, &st, 0) < 0 && errno == EINTR)
			;
		j->reaped = true;
		j->wstatus = st;
	}
	j->pid = -1;
}

static void
job_free(struct render_job *j)
{
	if (j == NULL)
		return;
	job_reap(j);
	if (j->fd >= 0)
		close(j->fd);
	if (j->pidfd >= 0)
		close(j->pidfd);
	if (j->profile != NULL && j->fresh)
		remove_tree(AT_FDCWD, j->profile);
	free(j->profile);
	wipe_buf(&j->in);
	wipe_buf(&j->out);
	free(j->session);
	free(j->target);
	free(j->res.dom);
	free(j->browser);
	free(j->url);
	free(j->work_dir);
	free(j->name);
	free(j->profile_dir);
	free(j->proxy);
	free(j->user_agent);
	free(j->cookie_file);
	free(j->cookie_jar);
	free(j->wait_for);
	free(j);
}

/* job_fail records why the render failed (the first reason wins) and
 * ends it */
static void job_fail(struct render_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
job_fail(struct render_job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->state == J_ENDED)
		return;
	if (j->res.error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(j->res.error, sizeof(j->res.error), fmt, ap);
		va_end(ap);
	}
	j->res.status = -1;
	free(j->res.dom);
	j->res.dom = NULL;
	j->res.len = 0;
	j->state = J_ENDED;
}

/* job_flush writes what is queued for the browser, without blocking */
static void
job_flush(struct render_job *j)
{
	ssize_t n;

	while (j->out_off < j->out.len) {
		n = send(j->fd, j->out.data + j->out_off,
		    j->out.len - j->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* gone: the read side tells how */
			return;
		}
		j->out_off += (size_t)n;
	}
	util_wipe(j->out.data, j->out.len);
	buf_reset(&j->out);
	j->out_off = 0;
}

/*
 * job_send queues one command (`params` is stolen; NULL: none), on the
 * page's session when `on_page`; its reply moves the state
 */
static void
job_send(struct render_job *j, const char *method, json_t *params, bool on_page)
{
	json_t *m;
	char *text;

	if (j->state == J_ENDED) {
		json_decref(params);
		return;
	}
	m = json_object();
	if (m == NULL ||
	    json_object_set_new(m, "id", json_integer(++j->next_id)) != 0 ||
	    json_object_set_new(m, "method", json_string(method)) != 0 ||
	    json_object_set_new(m, "params",
		params != NULL ? params : json_object()) != 0 ||
	    (on_page && json_object_set_new(m, "sessionId",
			    json_string(j->session)) != 0)) {
		json_decref(m);
		job_fail(j, "out of memory");
		return;
	}
	text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (text == NULL || buf_append(&j->out, text, strlen(text) + 1) != 0) {
		if (text != NULL)
			util_wipe_free(text);
		job_fail(j, "out of memory");
		return;
	}
	util_wipe_free(text);
	j->want_id = j->next_id;
	j->want_method = method;
	job_flush(j);
}

/* ---- cookies ---- */

/* is_ip: a host that is an IPv4 or IPv6 literal (no domain cookies) */
static bool
is_ip(const char *h)
{
	return strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') != NULL;
}

/*
 * cookies_add_file appends the cookies of the Netscape file `path` to
 * `list` as Storage.setCookies's CookieParam objects. Lines that are not
 * cookies are skipped (as curl does). Returns 0, or -1 with `err` (never
 * a value).
 */
static int
cookies_add_file(json_t *list, const char *path, struct kw_err *err)
{
	char *text, *line, *next, *f[7], *p, *host, url[1200];
	size_t len, nf;
	bool http_only;
	json_t *c;
	int64_t exp;
	int result = 0;

	text = util_read_file(path, COOKIE_FILE_MAX, &len, err);
	if (text == NULL)
		return -1;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		http_only = strncmp(line, "#HttpOnly_", 10) == 0;
		if (http_only)
			line += 10;
		else if (line[0] == '#' || line[0] == '\0')
			continue;
		for (nf = 0, p = line; nf < 7 && p != NULL; nf++) {
			f[nf] = p;
			p = nf < 6 ? strchr(p, '\t') : NULL;
			if (p != NULL)
				*p++ = '\0';
		}
		if (nf < 7 || f[0][0] == '\0' || f[5][0] == '\0')
			continue;
		host = f[0][0] == '.' ? f[0] + 1 : f[0];
		if (util_parse_int(f[4], INT64_MIN, INT64_MAX, &exp) != 0)
			exp = 0;
		c = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", f[5],
		    "value", f[6], "path", f[2][0] != '\0' ? f[2] : "/",
		    "secure", strcmp(f[3], "TRUE") == 0, "httpOnly", http_only);
		if (c == NULL) {
			result = kw_err_set(err,
			    "the cookies file '%s' has a "
			    "cookie that is not UTF-8",
			    path);
			break;
		}
		if (strcmp(f[1], "TRUE") == 0 && !is_ip(host)) {
			snprintf(url, sizeof(url), ".%s", host);
			json_object_set_new(c, "domain", json_string(url));
		} else {
			/* host-only: the cookie's URL says the host */
			snprintf(url, sizeof(url), "%s://%s%s",
			    strcmp(f[3], "TRUE") == 0 ? "https" : "http", host,
			    f[2][0] == '/' ? f[2] : "/");
			json_object_set_new(c, "url", json_string(url));
		}
		if (exp > 0)
			json_object_set_new(c, "expires",
			    json_real((double)exp));
		json_array_append_new(list, c);
	}
	util_wipe(text, strlen(text));
	free(text);
	return result;
}

/* newer_or_same: is the file `a` at least as new as `b` (which exists)? */
static bool
usable_jar(const char *jar, const char *file)
{
	struct stat js, fs;

	if (jar == NULL || stat(jar, &js) != 0 || !S_ISREG(js.st_mode))
		return false;
	if (file == NULL || stat(file, &fs) != 0)
		return true;
	return js.st_mtim.tv_sec > fs.st_mtim.tv_sec ||
	       (js.st_mtim.tv_sec == fs.st_mtim.tv_sec &&
		   js.st_mtim.tv_nsec >= fs.st_mtim.tv_nsec);
}

/* cookies_save writes the browser's cookies (Storage.getCookies) to the
 * jar in the Netscape format, 0600 */
static int
cookies_save(const char *jar, json_t *cookies, struct kw_err *err)
{
	struct buf b;
	json_t *c;
	const char *domain, *path, *name, *value;
	size_t i;
	int result = -1;
	double exp;

	buf_init(&b, 0);
	if (buf_puts(&b,
		"# Netscape HTTP Cookie File\n"
		"# kept by kakaowatch: the cookies of one watch\n") != 0)
		goto oom;
	json_array_foreach(cookies, i, c) {
		domain = json_string_value(json_object_get(c, "domain"));
		path = json_string_value(json_object_get(c, "path"));
		name = json_string_value(json_object_get(c, "name"));
		value = json_string_value(json_object_get(c, "value"));
		if (domain == NULL || name == NULL || value == NULL ||
		    domain[0] == '\0' || strpbrk(name, "\t\r\n") != NULL ||
		    strpbrk(value, "\t\r\n") != NULL)
			continue;
		exp = json_is_true(json_object_get(c, "session")) ?
			  0 :
			  json_number_value(json_object_get(c, "expires"));
		if (buf_printf(&b, "%s%s\t%s\t%s\t%s\t%" PRId64 "\t%s\t%s\n",
			json_is_true(json_object_get(c, "httpOnly")) ?
			    "#HttpOnly_" :
			    "",
			domain, domain[0] == '.' ? "TRUE" : "FALSE",
			path != NULL && path[0] != '\0' ? path : "/",
			json_is_true(json_object_get(c, "secure")) ? "TRUE" :
								     "FALSE",
			exp > 0 ? (int64_t)exp : (int64_t)0, name, value) != 0)
			goto oom;
	}
	result = util_write_file_atomic(jar, b.data, b.len, 0600, false, err);
	goto out;
oom:
	kw_err_set(err, "out of memory");
out:
	wipe_buf(&b);
	return result;
}

/* wipe_json_strings: the cookie values in a parsed message */
static void
wipe_json_strings(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_string(v)) {
		util_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, x)
			wipe_json_strings(x);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			wipe_json_strings(x);
	}
}

/* ---- the steps of one render ---- */

static void
job_navigate(struct render_job *j)
{
	j->state = J_NAVIGATE;
	job_send(j, "Page.navigate", json_pack("{s:s}", "url", j->url), true);
}

static void
job_set_cookies(struct render_job *j)
{
	struct kw_err err = { 0 };
	json_t *list = json_array();

	if (list == NULL) {
		job_fail(j, "out of memory");
		return;
	}
	if ((j->cookie_file != NULL &&
		cookies_add_file(list, j->cookie_file, &err) != 0) ||
	    (usable_jar(j->cookie_jar, j->cookie_file) &&
		cookies_add_file(list, j->cookie_jar, &err) != 0)) {
		wipe_json_strings(list);
		json_decref(list);
		job_fail(j, "%s", err.msg);
		return;
	}
	if (json_array_size(list) == 0) {
		json_decref(list);
		job_navigate(j);
		return;
	}
	j->state = J_COOKIES;
	/* later cookies of one name, domain and path replace earlier ones */
	job_send(j, "Storage.setCookies", json_pack("{s:o}", "cookies", list),
	    false);
}

static void
job_get_dom(struct render_job *j)
{
	j->state = J_DOM;
	job_send(j, "Runtime.evaluate",
	    json_pack("{s:s, s:b}", "expression",
		"(document.doctype ? '<!DOCTYPE ' + document.doctype.name + '>' "
		": '') + (document.documentElement ? "
		"document.documentElement.outerHTML : '')",
		"returnByValue", 1),
	    true);
}

static void
job_try_wait_for(struct render_job *j)
{
	json_t *str = json_string(j->wait_for);
	char *lit, *expr;
	size_t n;

	lit = str != NULL ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
	json_decref(str);
	if (lit == NULL) {
		job_fail(j, "out of memory");
		return;
	}
	n = strlen(lit) + 256;
	expr = malloc(n);
	if (expr == NULL) {
		free(lit);
		job_fail(j, "out of memory");
		return;
	}
	snprintf(expr, n,
	    "(function () { try { return document.evaluate(%s, "
	    "document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null)"
	    ".singleNodeValue !== null; } catch (e) { return String(e); } "
	    "})()",
	    lit);
	free(lit);
	j->poll_at = 0;
	job_send(j, "Runtime.evaluate",
	    json_pack("{s:s, s:b}", "expression", expr, "returnByValue", 1),
	    true);
	free(expr);
}

/* job_done: the DOM is read (and the cookies kept): close the browser */
static void
job_done(struct render_job *j)
{
	j->res.status = 0;
	if (!j->fresh) {
		/* a kept profile is written on a clean exit only */
		j->state = J_CLOSING;
		job_send(j, "Browser.close", NULL, false);
		if (j->deadline > util_mono_ms() + RENDER_CLOSE_MS)
			j->deadline = util_mono_ms() + RENDER_CLOSE_MS;
		return;
	}
	j->state = J_ENDED;
}

static void
job_reply(struct render_job *j, json_t *result)
{
	struct kw_err err = { 0 };
	json_t *v, *exc;
	const char *s;
	size_t len;
	long vt;

	switch (j->state) {
	case J_TARGET:
		s = json_string_value(json_object_get(result, "targetId"));
		if (s == NULL) {
			job_fail(j, "the browser made no page");
			return;
		}
		j->target = strdup(s);
		if (j->target == NULL) {
			job_fail(j, "out of memory");
			return;
		}
		j->state = J_ATTACH;
		job_send(j, "Target.attachToTarget",
		    json_pack("{s:s, s:b}", "targetId", s, "flatten", 1),
		    false);
		return;
	case J_ATTACH:
		s = json_string_value(json_object_get(result, "sessionId"));
		j->session = s != NULL ? strdup(s) : NULL;
		if (j->session == NULL) {
			job_fail(j, "the browser gave no page session");
			return;
		}
		/* for the page's HTTP status (Network.responseReceived) */
		j->state = J_NETWORK;
		job_send(j, "Network.enable", NULL, true);
		return;
	case J_NETWORK:
		if (j->cookie_file != NULL || j->cookie_jar != NULL)
			job_set_cookies(j);
		else
			job_navigate(j);
		return;
	case J_COOKIES:
		job_navigate(j);
		return;
	case J_NAVIGATE:
		s = json_string_value(json_object_get(result, "errorText"));
		if (s != NULL && s[0] != '\0') {
			job_fail(j,
			    "the browser could not load the page: %.200s", s);
			return;
		}
		if (j->wait_for != NULL) {
			j->state = J_WAITFOR;
			job_try_wait_for(j);
			return;
		}
		vt = j->timeout_ms / 2 < RENDER_VIRTUAL_TIME_MS ?
			 j->timeout_ms / 2 :
			 RENDER_VIRTUAL_TIME_MS;
		j->state = J_VTIME;
		job_send(j, "Emulation.setVirtualTimePolicy",
		    json_pack("{s:s, s:I}", "policy",
			"pauseIfNetworkFetchesPending", "budget",
			(json_int_t)vt),
		    true);
		return;
	case J_VTIME:
		return; /* its end is an event */
	case J_WAITFOR:
		v = json_object_get(json_object_get(result, "result"), "value");
		if (json_is_true(v)) {
			job_get_dom(j);
		} else if (json_is_string(v)) {
			job_fail(j,
			    "wait_for: the browser cannot evaluate it: "
			    "%.200s",
			    json_string_value(v));
		} else {
			j->poll_at = util_mono_ms() + RENDER_POLL_MS;
			j->want_id = 0;
		}
		return;
	case J_DOM:
		exc = json_object_get(result, "exceptionDetails");
		v = json_object_get(json_object_get(result, "result"), "value");
		if (exc != NULL || !json_is_string(v)) {
			job_fail(j, "the browser could not serialise the page");
			return;
		}
		len = json_string_length(v);
		if (len > j->max_bytes) {
			job_fail(j,
			    "the rendered page is larger than %zu bytes",
			    j->max_bytes);
			return;
		}
		j->res.dom = malloc(len + 1);
		if (j->res.dom == NULL) {
			job_fail(j, "out of memory");
			return;
		}
		memcpy(j->res.dom, json_string_value(v), len);
		j->res.dom[len] = '\0';
		j->res.len = len;
		if (j->cookie_jar != NULL) {
			j->state = J_GETCOOKIES;
			job_send(j, "Storage.getCookies", NULL, false);
			return;
		}
		job_done(j);
		return;
	case J_GETCOOKIES:
		v = json_object_get(result, "cookies");
		if (!json_is_array(v))
			snprintf(j->res.cookie_error,
			    sizeof(j->res.cookie_error),
			    "the browser gave no cookies");
		else if (cookies_save(j->cookie_jar, v, &err) != 0)
			snprintf(j->res.cookie_error,
			    sizeof(j->res.cookie_error), "%.500s", err.msg);
		job_done(j);
		return;
	default:
		return;
	}
}

/* job_response: the HTTP status of the page itself (its main frame's
 * document; redirects are followed before it) */
static void
job_response(struct render_job *j, json_t *params)
{
	const char *type = json_string_value(json_object_get(params, "type"));
	const char *frame =
	    json_string_value(json_object_get(params, "frameId"));
	json_t *st =
	    json_object_get(json_object_get(params, "response"), "status");

	if (type == NULL || strcmp(type, "Document") != 0 || frame == NULL ||
	    j->target == NULL || strcmp(frame, j->target) != 0 ||
	    !json_is_number(st))
		return;
	j->res.http_status = (long)json_number_value(st);
}

/* job_message handles one message from the browser */
static void
job_message(struct render_job *j, const char *text, size_t len)
{
	json_t *m, *id, *e;
	json_error_t jerr;
	const char *method, *s;

	m = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
	if (m == NULL) {
		job_fail(j, "the browser sent a message that is not JSON");
		return;
	}
	method = json_string_value(json_object_get(m, "method"));
	id = json_object_get(m, "id");
	if (method != NULL) {
		if (strcmp(method, "Emulation.virtualTimeBudgetExpired") == 0 &&
		    j->state == J_VTIME)
			job_get_dom(j);
		else if (strcmp(method, "Inspector.targetCrashed") == 0 ||
			 strcmp(method, "Target.targetCrashed") == 0)
			job_fail(j, "the page crashed in the browser");
		else if (strcmp(method, "Target.detachedFromTarget") == 0 &&
			 j->state < J_CLOSING)
			job_fail(j, "the browser closed the page");
		else if (strcmp(method, "Network.responseReceived") == 0)
			job_response(j, json_object_get(m, "params"));
	} else if (json_is_integer(id) && j->want_id != 0 &&
		   json_integer_value(id) == j->want_id) {
		e = json_object_get(m, "error");
		if (e != NULL) {
			s = json_string_value(json_object_get(e, "message"));
			job_fail(j, "browser: %s: %.200s", j->want_method,
			    s != NULL ? s : "failed");
		} else {
			j->want_id = 0;
			job_reply(j, json_object_get(m, "result"));
		}
	}
	wipe_json_strings(m);
	json_decref(m);
}

/* exit_reason: why a browser that ended by itself did */
static void
job_exited(struct render_job *j)
{
	int st = j->wstatus;

	if (j->state == J_CLOSING) {
		j->state = J_ENDED;
		return;
	}
	if (!j->reaped)
		job_fail(j, "the browser closed its DevTools pipe");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		job_fail(j, "browser '%s' could not be started", j->browser);
	else if (WIFSIGNALED(st))
		job_fail(j, "the browser crashed (signal %d)", WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) > 128)
		/* a wrapper script (Debian's) passes the browser's signal on */
		job_fail(j, "the browser crashed (signal %d)",
		    WEXITSTATUS(st) - 128);
	else
		job_fail(j, "the browser gave no page (exit status %d)",
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* job_io: write, read, and handle every whole message */
static void
job_io(struct render_job *j)
{
	char chunk[65536], *z;
	ssize_t n;
	size_t used;
	bool eof = false;
	int st;

	if (j->out_off < j->out.len && j->fd >= 0)
		job_flush(j);
	while (j->state != J_ENDED && j->fd >= 0) {
		n = recv(j->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			eof = true;
			break;
		}
		if (buf_append(&j->in, chunk, (size_t)n) != 0) {
			job_fail(j,
			    "the rendered page is larger than %zu bytes",
			    j->max_bytes);
			break;
		}
		/* every whole message: NUL-terminated JSON */
		used = 0;
		while (j->state != J_ENDED && used < j->in.len &&
		       (z = memchr(j->in.data + used, '\0',
			    j->in.len - used)) != NULL) {
			job_message(j, j->in.data + used,
			    (size_t)(z - (j->in.data + used)));
			used = (size_t)(z - j->in.data) + 1;
		}
		if (used > 0) {
			util_wipe(j->in.data, used);
			memmove(j->in.data, j->in.data + used,
			    j->in.len - used);
			j->in.len -= used;
			j->in.data[j->in.len] = '\0';
		}
	}
	util_wipe(chunk, sizeof(chunk));
	if (j->state == J_ENDED)
		return;
	if (!j->reaped && waitpid(j->pid, &st, WNOHANG) == j->pid) {
		j->reaped = true;
		j->wstatus = st;
	}
	if (eof && !j->reaped) {
		/* the pipe goes first: closing, the profile is written until
		 * the process ends; else it is dying, and how it died tells
		 * more than the pipe (render_step waits RENDER_EOF_MS) */
		close(j->fd);
		j->fd = -1;
		j->eof_at = util_mono_ms();
		return;
	}
	if (eof || j->reaped)
		job_exited(j);
}

/* write_owner: RENDER_OWNER_FILE in `profile` (render_sweep); -1 with
 * errno */
static int
write_owner(const char *profile)
{
	char *path = util_path_join(profile, RENDER_OWNER_FILE), text[32];
	int fd, len, e;

	if (path == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	e = errno;
	free(path);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	if (write(fd, text, (size_t)len) != len) {
		e = errno;
		close(fd);
		errno = e != 0 ? e : EIO;
		return -1;
	}
	return close(fd);
}

/* job_spawn starts the browser of `j`; -1: the render failed (why in
 * j->res.error) */
static int
job_spawn(struct render_job *j)
{
	struct kw_err err = { 0 };
	char *exe = NULL, *args[24], *owned[4] = { 0 }, *tmpl = NULL;
	size_t nargs = 0, i;
	int sv[2] = { -1, -1 }, result = -1;
	pid_t pid;

	if (render_find_browser(j->browser, &exe, &err) != 0) {
		job_fail(j, "%s", err.msg);
		return -1;
	}
	if (j->profile_dir != NULL) {
		if (util_mkdir_p(j->profile_dir, 0700, &err) != 0) {
			job_fail(j, "cannot make the browser profile: %s",
			    err.msg);
			goto out;
		}
		chmod(j->profile_dir, 0700);
		j->profile = strdup(j->profile_dir);
		j->fresh = false;
	} else {
		char base[256];

		snprintf(base, sizeof(base), "browser-%.200s%sXXXXXX",
		    j->name != NULL ? j->name : "", j->name != NULL ? "-" : "");
		tmpl = util_path_join(j->work_dir, base);
		if (tmpl == NULL || mkdtemp(tmpl) == NULL) {
			job_fail(j, "cannot make a browser profile in '%s': %s",
			    j->work_dir,
			    tmpl == NULL ? "out of memory" : strerror(errno));
			goto out;
		}
		j->profile = tmpl;
		tmpl = NULL;
		j->fresh = true;
		if (write_owner(j->profile) != 0) {
			job_fail(j, "cannot make a browser profile in '%s': %s",
			    j->work_dir, strerror(errno));
			goto out;
		}
	}
	owned[0] = opt_arg("user-data-dir", j->profile);
	/* Chromium's socks5:// always lets the proxy resolve names (it has
	 * no socks5h:// and refuses it: ERR_NO_SUPPORTED_PROXIES); config
	 * refuses a proxy with credentials for a rendered watch, so none
	 * reach this command line */
	owned[1] = j->proxy == NULL ? NULL : proxy_arg(j->proxy);
	owned[2] =
	    j->user_agent != NULL ? opt_arg("user-agent", j->user_agent) : NULL;
	if (j->profile == NULL || owned[0] == NULL ||
	    (j->proxy != NULL && owned[1] == NULL) ||
	    (j->user_agent != NULL && owned[2] == NULL)) {
		job_fail(j, "out of memory");
		goto out;
	}
	args[nargs++] = exe;
	args[nargs++] = "--headless";
	args[nargs++] = "--disable-gpu";
	args[nargs++] = "--no-first-run";
	args[nargs++] = "--no-default-browser-check";
	args[nargs++] = "--disable-extensions";
	args[nargs++] = "--disable-dev-shm-usage";
	args[nargs++] = "--disable-background-networking";
	args[nargs++] = "--disable-component-update";
	args[nargs++] = "--disable-sync";
	args[nargs++] = "--password-store=basic";
	args[nargs++] = "--mute-audio";
	/* Chromium refuses to run as root with its sandbox (containers) */
	if (geteuid() == 0)
		args[nargs++] = "--no-sandbox";
	args[nargs++] = owned[0];
	if (owned[1] != NULL)
		args[nargs++] = owned[1];
	if (owned[2] != NULL)
		args[nargs++] = owned[2];
	args[nargs++] = "--remote-debugging-pipe";
	args[nargs++] = "about:blank";
	args[nargs] = NULL;

	/* one socket for both of the browser's pipe ends (fd 3 in, fd 4
	 * out): send() with MSG_NOSIGNAL never raises SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		job_fail(j, "browser: socketpair: %s", strerror(errno));
		goto out;
	}
	j->started = util_mono_ms();
	j->deadline = j->started + j->timeout_ms;
	pid = fork();
	if (pid < 0) {
		job_fail(j, "browser: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR), hi;
		sigset_t none;

		setpgid(0, 0);
#ifdef __linux__
		/* a killed kakaowatch takes its browser along */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		hi = fcntl(sv[1], F_DUPFD, 10);
		if (hi < 0 || dup2(hi, 3) < 0 || dup2(hi, 4) < 0)
			_exit(127);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		closefrom(5);
		execv(exe, args);
		_exit(127);
	}
	/* both sides, so the group is there before a kill */
	setpgid(pid, pid);
	close(sv[1]);
	sv[1] = -1;
	j->fd = sv[0];
	sv[0] = -1;
	j->pid = pid;
#ifdef SYS_pidfd_open
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->pidfd >= 0)
		fcntl(j->pidfd, F_SETFD, FD_CLOEXEC);
#endif
	log_debug("render: '%s': browser %ld started (%s profile)",
	    j->name != NULL ? j->name : j->url, (long)pid,
	    j->fresh ? "fresh" : "kept");
	j->state = J_TARGET;
	job_send(j, "Target.createTarget",
	    json_pack("{s:s}", "url", "about:blank"), false);
	result = 0;
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		free(owned[i]);
	free(tmpl);
	free(exe);
	return result;
}

/* dup_opt: *dst = strdup(src) or NULL; -1 on out-of-memory */
static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -1;
}

int
render_submit(struct render_pool *p, const struct render_request *req,
    render_done_fn done, void *user, struct kw_err *err)
{
	struct render_job *j;

	if (req->url == NULL || req->work_dir == NULL)
		return kw_err_set(err, "render: no URL or no state_dir");
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return kw_err_set(err, "out of memory");
	j->pid = -1;
	j->pidfd = -1;
	j->fd = -1;
	j->done = done;
	j->user = user;
	j->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;
	j->max_bytes = req->max_bytes > 0 ? req->max_bytes : 5 * 1024 * 1024;
	/* a JSON reply holds the page escaped: \uXXXX is 6 bytes for 3 */
	buf_init(&j->in, 2 * j->max_bytes + 1024 * 1024);
	buf_init(&j->out, 0);
	if (dup_opt(&j->browser, req->browser) != 0 ||
	    dup_opt(&j->url, req->url) != 0 ||
	    dup_opt(&j->work_dir, req->work_dir) != 0 ||
	    dup_opt(&j->name, req->name) != 0 ||
	    dup_opt(&j->profile_dir, req->profile_dir) != 0 ||
	    dup_opt(&j->proxy, req->proxy) != 0 ||
	    dup_opt(&j->user_agent, req->user_agent) != 0 ||
	    dup_opt(&j->cookie_file, req->cookie_file) != 0 ||
	    dup_opt(&j->cookie_jar, req->cookie_jar) != 0 ||
	    dup_opt(&j->wait_for, req->wait_for) != 0) {
		job_free(j);
		return kw_err_set(err, "out of memory");
	}
	if (j->browser == NULL &&
	    (j->browser = strdup(RENDER_DEFAULT_BROWSER)) == NULL) {
		job_free(j);
		return kw_err_set(err, "out of memory");
	}
	j->state = J_QUEUED;
	if (p->queue_tail != NULL)
		p->queue_tail->next = j;
	else
		p->queue = j;
	p->queue_tail = j;
	p->nqueued++;
	return 0;
}

size_t
render_fds(const struct render_pool *p, int *fds, size_t max)
{
	const struct render_job *j;
	size_t n = 0;

	for (j = p != NULL ? p->running : NULL; j != NULL; j = j->next) {
		if (j->fd >= 0 && n < max)
			fds[n++] = j->fd;
		if (j->pidfd >= 0 && n < max)
			fds[n++] = j->pidfd;
	}
	return n;
}

long
render_timeout_ms(const struct render_pool *p)
{
	const struct render_job *j;
	int64_t now = util_mono_ms(), t = -1, d;

	if (p == NULL)
		return -1;
	if (p->queue != NULL && p->nrunning < (size_t)p->max)
		return 0;
	for (j = p->running; j != NULL; j = j->next) {
		d = j->deadline;
		if (j->state == J_WAITFOR && j->poll_at > 0 && j->poll_at < d)
			d = j->poll_at;
		d -= now;
		/* no pidfd: look at the process now and then; a pending
		 * write: try again soon */
		if ((j->pidfd < 0 || j->fd < 0 || j->out_off < j->out.len) &&
		    d > 100)
			d = 100;
		if (d < 0)
			d = 0;
		if (t < 0 || d < t)
			t = d;
	}
	if (t < 0 && p->queue != NULL)
		t = 1000; /* waits for a running one: its fds wake us */
	return t > LONG_MAX ? LONG_MAX : (long)t;
}

/* job_end: the render is over; its callback runs */
static void
job_end(struct render_job *j)
{
	job_reap(j);
	if (j->fd >= 0) {
		close(j->fd);
		j->fd = -1;
	}
	if (j->pidfd >= 0) {
		close(j->pidfd);
		j->pidfd = -1;
	}
	if (j->profile != NULL && j->fresh) {
		remove_tree(AT_FDCWD, j->profile);
		free(j->profile);
		j->profile = NULL;
	}
	if (j->res.status != 0 && j->res.error[0] == '\0')
		snprintf(j->res.error, sizeof(j->res.error),
		    "the render "
		    "failed");
	if (j->started > 0)
		log_debug("render: '%s': %s after %.1fs",
		    j->name != NULL ? j->name : j->url,
		    j->res.status == 0 ? "page read" : j->res.error,
		    (double)(util_mono_ms() - j->started) / 1000);
	j->done(j->user, &j->res);
}

void
render_step(struct render_pool *p)
{
	struct render_job *j, **pj, *ended = NULL, **etail = &ended;
	int64_t now;

	if (p == NULL)
		return;
	for (;;) {
		now = util_mono_ms();
		for (pj = &p->running; (j = *pj) != NULL;) {
			if (j->state != J_ENDED)
				job_io(j);
			if (j->state != J_ENDED && j->state != J_CLOSING &&
			    j->eof_at > 0 && now >= j->eof_at + RENDER_EOF_MS)
				job_exited(j);
			if (j->state == J_WAITFOR && j->poll_at > 0 &&
			    now >= j->poll_at)
				job_try_wait_for(j);
			if (j->state != J_ENDED && now >= j->deadline) {
				if (j->state == J_CLOSING) {
					j->state = J_ENDED;
				} else {
					job_fail(j,
					    "the browser did not "
					    "finish within %lds (timeout%s): "
					    "killed",
					    (j->timeout_ms + 999) / 1000,
					    j->state == J_WAITFOR ?
						"; wait_for matched nothing" :
						"");
					j->res.timed_out = true;
				}
			}
			if (j->state == J_ENDED) {
				*pj = j->next;
				j->next = NULL;
				p->nrunning--;
				*etail = j;
				etail = &j->next;
			} else {
				pj = &j->next;
			}
		}
		/* start what the limit allows; a failed start ends at once */
		while (p->queue != NULL && p->nrunning < (size_t)p->max) {
			j = p->queue;
			p->queue = j->next;
			if (p->queue == NULL)
				p->queue_tail = NULL;
			p->nqueued--;
			j->next = NULL;
			if (job_spawn(j) != 0) {
				*etail = j;
				etail = &j->next;
				continue;
			}
			j->next = p->running;
			p->running = j;
			p->nrunning++;
		}
		if (ended == NULL)
			return;
		/* callbacks may submit: loop to start those */
		while ((j = ended) != NULL) {
			ended = j->next;
			j->next = NULL;
			job_end(j);
			job_free(j);
		}
		etail = &ended;
	}
}

void
render_cancel_all(struct render_pool *p)
{
	struct render_job *j;

	if (p == NULL)
		return;
	while ((j = p->running) != NULL || (j = p->queue) != NULL) {
		if (j == p->running) {
			p->running = j->next;
			p->nrunning--;
		} else {
			p->queue = j->next;
			if (p->queue == NULL)
				p->queue_tail = NULL;
			p->nqueued--;
		}
		j->next = NULL;
		job_fail(j, "aborted");
		job_end(j);
		job_free(j);
	}
}

void
render_pool_free(struct render_pool *p)
{
	struct render_job *j;

	if (p == NULL)
		return;
	while ((j = p->running) != NULL) {
		p->running = j->next;
		job_free(j);
	}
	while ((j = p->queue) != NULL) {
		p->queue = j->next;
		job_free(j);
	}
	free(p);
}

/* ---- the blocking form ---- */

struct dom_wait {
	struct render_result *res;
	bool done;
};

static void
dom_done(void *user, struct render_result *res)
{
	struct dom_wait *w = user;

	*w->res = *res;
	res->dom = NULL; /* taken */
	w->done = true;
}

int
render_dom(const struct render_request *req, char **dom, size_t *len,
    struct kw_err *err)
{
	struct render_pool *p;
	struct render_result res;
	struct dom_wait w = { &res, false };
	struct pollfd pfd[RENDER_MAX_FDS];
	int fds[RENDER_MAX_FDS];
	size_t n, i;
	long t;

	*dom = NULL;
	*len = 0;
	memset(&res, 0, sizeof(res));
	p = render_pool_new(1, err);
	if (p == NULL)
		return -1;
	if (render_submit(p, req, dom_done, &w, err) != 0) {
		render_pool_free(p);
		return -1;
	}
	while (!w.done) {
		render_step(p);
		if (w.done)
			break;
		n = render_fds(p, fds, RENDER_MAX_FDS);
		for (i = 0; i < n; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		t = render_timeout_ms(p);
		if (poll(pfd, (nfds_t)n, t < 0 || t > 1000 ? 1000 : (int)t) <
			0 &&
		    errno != EINTR)
			break;
	}
	render_pool_free(p);
	if (!w.done)
		return kw_err_set(err, "render: the wait failed");
	if (res.status != 0) {
		free(res.dom);
		return kw_err_set(err, "%s", res.error);
	}
	if (res.http_status >= 400) {
		free(res.dom);
		return kw_err_set(err, "HTTP %ld", res.http_status);
	}
	*dom = res.dom;
	*len = res.len;
	return 0;
}
