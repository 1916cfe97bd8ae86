/*
 * jq: JSON through a jq program, in a bounded child process (see jq.h).
 * The only user of libjq.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jq.h>
#include <jv.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/jq.h"

#if defined(__SANITIZE_ADDRESS__)
#define JQ_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JQ_UNDER_ASAN 1
#endif
#endif

/* records the child writes: a type byte, then u32-length strings */
enum { REC_ITEM = 'I', REC_ERROR = 'E', REC_DONE = 'D' };
#define NO_STRING UINT32_MAX
/* bytes of a jq message kept */
#define JQ_MSG_MAX 400

void
jq_limits_default(struct jq_limits *l)
{
	l->max_items = JQ_DEFAULT_MAX_ITEMS;
	l->max_output_bytes = JQ_DEFAULT_MAX_OUTPUT_BYTES;
	l->timeout_ms = JQ_DEFAULT_TIMEOUT_MS;
	l->max_memory_bytes = JQ_DEFAULT_MAX_MEMORY_BYTES;
}

/* ---- compile ----------------------------------------------------------- */

extern char **environ;
/* an empty environment, not a NULL one: libjq's $ENV walks it */
static char *empty_env[] = { NULL };

struct jq_errbuf {
	char msg[JQ_MSG_MAX];
	bool set;
};

/* libjq's error callback: keep the first message (we own `m`) */
static void
capture_error(void *data, jv m)
{
	struct jq_errbuf *e = data;
	const char *s;
	size_t n;

	if (!e->set) {
		if (jv_get_kind(m) == JV_KIND_STRING) {
			s = jv_string_value(m);
		} else {
			m = jq_format_error(m);
			s = jv_get_kind(m) == JV_KIND_STRING ?
				jv_string_value(m) :
				"error";
		}
		if (strncmp(s, "jq: error: ", 11) == 0)
			s += 11;
		/* keep the first line: libjq appends the program text */
		n = strcspn(s, "\n");
		while (n > 0 && (s[n - 1] == ':' || s[n - 1] == ' '))
			n--;
		snprintf(e->msg, sizeof(e->msg), "%.*s", (int)n, s);
		e->set = true;
	}
	jv_free(m);
}

/* "... at <top-level>, line 3" -> 3 */
static unsigned
message_line(const char *msg)
{
	const char *p = strstr(msg, ", line ");
	unsigned long v;
	char *end;

	if (p == NULL)
		return 0;
	errno = 0;
	v = strtoul(p + 7, &end, 10);
	if (errno != 0 || end == p + 7 || v > UINT_MAX)
		return 0;
	return (unsigned)v;
}

static jq_state *
compile(const char *program, struct jq_errbuf *e)
{
	jq_state *jq = jq_init();
	char **saved = environ;
	int ok;

	if (jq == NULL) {
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		e->set = true;
		return NULL;
	}
	jq_set_error_cb(jq, capture_error, e);
	/* no module search path: `import` and `include` find nothing */
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	/* $ENV is bound when the program is compiled: to nothing (the
	 * daemon's environment holds secrets; one thread, no reader) */
	environ = empty_env;
	ok = jq_compile(jq, program);
	environ = saved;
	if (!ok) {
		if (!e->set)
			snprintf(e->msg, sizeof(e->msg), "does not compile");
		e->set = true;
		jq_teardown(&jq);
		return NULL;
	}
	return jq;
}

/*
 * Compiled programs, kept for the process's life (bounded, round robin):
 * libjq 1.6 takes 25-35 ms to compile a program with its builtins, a check
 * runs it in a forked child that inherits the compiled state (copy on
 * write), and this process never starts one, so each stays as compiled.
 */
#define JQ_CACHE_MAX 32

static struct {
	char *program;
	jq_state *jq;
} cache[JQ_CACHE_MAX];
static size_t cache_next;

/* the compiled `program`, from the cache or compiled now (NULL: error) */
static jq_state *
compiled(const char *program, struct jq_errbuf *e)
{
	jq_state *jq;
	char *copy;
	size_t i;

	for (i = 0; i < JQ_CACHE_MAX; i++)
		if (cache[i].program != NULL &&
		    strcmp(cache[i].program, program) == 0)
			return cache[i].jq;
	jq = compile(program, e);
	if (jq == NULL)
		return NULL;
	copy = strdup(program);
	if (copy == NULL) {
		jq_teardown(&jq);
		snprintf(e->msg, sizeof(e->msg), "out of memory");
		e->set = true;
		return NULL;
	}
	i = cache_next;
	cache_next = (cache_next + 1) % JQ_CACHE_MAX;
	if (cache[i].jq != NULL)
		jq_teardown(&cache[i].jq);
	free(cache[i].program);
	cache[i].program = copy;
	cache[i].jq = jq;
	return jq;
}

int
jq_check(const char *program, char *msg, size_t msgsize, unsigned *line)
{
	struct jq_errbuf e = { .set = false };
	jq_state *jq;

	if (line != NULL)
		*line = 0;
	if (program == NULL || program[strspn(program, " \t\r\n")] == '\0') {
		snprintf(msg, msgsize, "the jq program is empty");
		return -1;
	}
	jq = compiled(program, &e);
	if (jq == NULL) {
		snprintf(msg, msgsize, "%s", e.msg);
		if (line != NULL)
			*line = message_line(e.msg);
		return -1;
	}
	if (msgsize > 0)
		msg[0] = '\0';
	return 0;
}

/* ---- the child ---------------------------------------------------------- */

struct wbuf {
	int fd;
	char data[16384];
	size_t n;
	bool broken;
};

static void
w_flush(struct wbuf *w)
{
	size_t off = 0;
	ssize_t r;

	while (off < w->n && !w->broken) {
		r = write(w->fd, w->data + off, w->n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->broken = true;
			break;
		}
		off += (size_t)r;
	}
	w->n = 0;
}

static void
w_bytes(struct wbuf *w, const void *p, size_t n)
{
	const char *s = p;
	size_t k;

	while (n > 0 && !w->broken) {
		if (w->n == sizeof(w->data))
			w_flush(w);
		k = sizeof(w->data) - w->n;
		if (k > n)
			k = n;
		memcpy(w->data + w->n, s, k);
		w->n += k;
		s += k;
		n -= k;
	}
}

static void
w_u32(struct wbuf *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24),
		(unsigned char)(v >> 16), (unsigned char)(v >> 8),
		(unsigned char)v };

	w_bytes(w, b, 4);
}

static void
w_str(struct wbuf *w, const char *s, size_t n)
{
	if (s == NULL) {
		w_u32(w, NO_STRING);
		return;
	}
	if (n >= NO_STRING)
		n = NO_STRING - 1;
	w_u32(w, (uint32_t)n);
	w_bytes(w, s, n);
}

static void w_error(struct wbuf *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
w_error(struct wbuf *w, const char *fmt, ...)
{
	char msg[JQ_MSG_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w_bytes(w, "E", 1);
	w_str(w, msg, strlen(msg));
}

static const char *
kind_name(jv_kind k)
{
	switch (k) {
	case JV_KIND_NULL:
		return "null";
	case JV_KIND_FALSE:
	case JV_KIND_TRUE:
		return "a boolean";
	case JV_KIND_NUMBER:
		return "a number";
	case JV_KIND_STRING:
		return "a string";
	case JV_KIND_ARRAY:
		return "an array";
	case JV_KIND_OBJECT:
		return "an object";
	default:
		return "invalid";
	}
}

/*
 * string_field: a string (or number, written as jq's tostring) field of
 * object `o` as a jv string, jv_null() when absent or null, or jv_invalid()
 * when it has another type. Consumes nothing (copies `o`).
 */
static jv
string_field(jv o, const char *name)
{
	jv v = jv_object_get(jv_copy(o), jv_string(name));
	jv_kind k = jv_get_kind(v);

	if (k == JV_KIND_STRING)
		return v;
	if (k == JV_KIND_NUMBER)
		return jv_dump_string(v, 0);
	if (k == JV_KIND_NULL || k == JV_KIND_INVALID) {
		jv_free(v);
		return jv_null();
	}
	jv_free(v);
	return jv_invalid();
}

/*
 * emit_fields writes the fields of object `o` (borrowed): a count, then
 * name, value pairs for each key other than title, link and key that is a
 * field name (item.h) with a string, number or boolean value, at most
 * ITEM_FIELDS_MAX of them, in the object's key order
 */
static void
emit_fields(struct wbuf *w, jv o)
{
	const char *names[ITEM_FIELDS_MAX];
	jv vals[ITEM_FIELDS_MAX];
	uint32_t n = 0, i;
	jv v;
	jv_kind k;
	int it;

	for (it = jv_object_iter(o);
	     jv_object_iter_valid(o, it) && n < ITEM_FIELDS_MAX;
	     it = jv_object_iter_next(o, it)) {
		jv key = jv_object_iter_key(o, it);
		const char *name = jv_string_value(key);

		v = jv_object_iter_value(o, it);
		k = jv_get_kind(v);
		if (strcmp(name, "key") == 0 || !item_field_name_valid(name) ||
		    (k != JV_KIND_STRING && k != JV_KIND_NUMBER &&
			k != JV_KIND_TRUE && k != JV_KIND_FALSE)) {
			jv_free(v);
			jv_free(key);
			continue;
		}
		/* the string lives in `o`, which outlives this call */
		names[n] = name;
		jv_free(key);
		vals[n++] = k == JV_KIND_STRING ? v : jv_dump_string(v, 0);
	}
	w_u32(w, n);
	for (i = 0; i < n; i++) {
		w_str(w, names[i], strlen(names[i]));
		w_str(w, jv_string_value(vals[i]),
		    (size_t)jv_string_length_bytes(jv_copy(vals[i])));
		jv_free(vals[i]);
	}
}

/* one output -> an item record; 1 written, 0 skipped, -1 error written */
static int
emit_output(struct wbuf *w, jv out, size_t index)
{
	jv title, link, key;
	jv_kind k = jv_get_kind(out);
	int rc = -1;

	if (k == JV_KIND_NULL) {
		jv_free(out);
		return 0;
	}
	if (k == JV_KIND_STRING) {
		w_bytes(w, "I", 1);
		w_str(w, jv_string_value(out),
		    (size_t)jv_string_length_bytes(jv_copy(out)));
		w_str(w, NULL, 0);
		w_str(w, NULL, 0);
		w_u32(w, 0);
		jv_free(out);
		return 1;
	}
	if (k != JV_KIND_OBJECT) {
		w_error(w,
		    "jq output %zu is %s: each output must be a string or an "
		    "object with a \"title\"",
		    index, kind_name(k));
		jv_free(out);
		return -1;
	}
	title = string_field(out, "title");
	link = string_field(out, "link");
	key = string_field(out, "key");
	if (jv_get_kind(title) != JV_KIND_STRING) {
		w_error(w,
		    "jq output %zu is an object without a string "
		    "\"title\"",
		    index);
	} else if (!jv_is_valid(link)) {
		w_error(w, "jq output %zu: \"link\" is not a string", index);
	} else if (!jv_is_valid(key)) {
		w_error(w, "jq output %zu: \"key\" is not a string or number",
		    index);
	} else {
		w_bytes(w, "I", 1);
		w_str(w, jv_string_value(title),
		    (size_t)jv_string_length_bytes(jv_copy(title)));
		if (jv_get_kind(link) == JV_KIND_STRING)
			w_str(w, jv_string_value(link),
			    (size_t)jv_string_length_bytes(jv_copy(link)));
		else
			w_str(w, NULL, 0);
		if (jv_get_kind(key) == JV_KIND_STRING)
			w_str(w, jv_string_value(key),
			    (size_t)jv_string_length_bytes(jv_copy(key)));
		else
			w_str(w, NULL, 0);
		emit_fields(w, out);
		rc = 1;
	}
	jv_free(title);
	jv_free(link);
	jv_free(key);
	jv_free(out);
	return rc;
}

static void
child_limits(const struct jq_limits *lim)
{
	struct rlimit rl;
	rlim_t secs = (rlim_t)((lim->timeout_ms + 999) / 1000);

	rl.rlim_cur = secs;
	rl.rlim_max = secs + 1;
	setrlimit(RLIMIT_CPU, &rl);
#ifndef JQ_UNDER_ASAN
	if (lim->max_memory_bytes > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)lim->max_memory_bytes;
		setrlimit(RLIMIT_AS, &rl);
	}
#endif
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
}

/* the child: never returns */
static void
child_run(int fd, jq_state *jq, const char *json, size_t len,
    const struct jq_limits *lim)
{
	static struct wbuf w;
	struct jq_errbuf e = { .set = false };
	jv input, out, msg;
	size_t index = 0, items = 0;
	int devnull, r;

	devnull = open("/dev/null", O_RDWR);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	if (fd != 3) {
		dup2(fd, 3);
		fd = 3;
	}
	closefrom(4);
	environ = empty_env; /* the `env` builtin reads it at run time */
	signal(SIGPIPE, SIG_DFL);
	child_limits(lim);
	w.fd = fd;
	/* messages libjq reports itself go to this child's buffer */
	jq_set_error_cb(jq, capture_error, &e);
	if (len > INT_MAX) {
		w_error(&w, "not JSON: the document is too large");
		goto done;
	}
	input = jv_parse_sized(json, (int)len);
	if (!jv_is_valid(input)) {
		msg = jv_invalid_get_msg(input);
		w_error(&w, "not JSON: %s",
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) :
							 "parse error");
		jv_free(msg);
		goto done;
	}
	jq_start(jq, input, 0);
	for (;;) {
		out = jq_next(jq);
		if (!jv_is_valid(out)) {
			if (jv_invalid_has_msg(jv_copy(out))) {
				msg = jv_invalid_get_msg(out);
				if (jv_get_kind(msg) != JV_KIND_STRING)
					msg = jv_dump_string(msg, 0);
				w_error(&w, "jq: error (at output %zu): %.*s",
				    index + 1, JQ_MSG_MAX,
				    jv_string_value(msg));
				jv_free(msg);
				goto done;
			}
			jv_free(out);
			break;
		}
		index++;
		r = emit_output(&w, out, index);
		if (r < 0)
			goto done;
		if (r > 0 && ++items > lim->max_items) {
			w_error(&w, "jq program produced more than %zu items",
			    lim->max_items);
			goto done;
		}
		if (w.broken)
			_exit(1);
	}
	w_bytes(&w, "D", 1);
done:
	w_flush(&w);
	_exit(0);
}

/* ---- the parent ---------------------------------------------------------- */

static int
read_u32(const unsigned char **p, const unsigned char *end, uint32_t *v)
{
	if (end - *p < 4)
		return -1;
	*v = ((uint32_t)(*p)[0] << 24) | ((uint32_t)(*p)[1] << 16) |
	     ((uint32_t)(*p)[2] << 8) | (*p)[3];
	*p += 4;
	return 0;
}

/* a string of a record: *s points into the buffer (n bytes) or is NULL */
static int
read_str(const unsigned char **p, const unsigned char *end, const char **s,
    size_t *n)
{
	uint32_t l;

	if (read_u32(p, end, &l) != 0)
		return -1;
	if (l == NO_STRING) {
		*s = NULL;
		*n = 0;
		return 0;
	}
	if ((size_t)(end - *p) < l)
		return -1;
	*s = (const char *)*p;
	*n = l;
	*p += l;
	return 0;
}

static int
add_record(const char *t, size_t tn, const char *l, size_t ln, const char *k,
    size_t kn, const char *page_url, struct item_list *out, bool *added)
{
	char *text, *link = NULL, *key = NULL, *href;

	text = extract_text_normalize(t, tn);
	if (text == NULL)
		return -1;
	if (*text == '\0') {
		free(text);
		return 0;
	}
	if (l != NULL && ln > 0) {
		href = strndup(l, ln);
		if (href == NULL ||
		    extract_url_resolve(href, page_url, &link) != 0) {
			free(href);
			free(text);
			return -1;
		}
		free(href);
	}
	if (k != NULL) {
		key = strndup(k, kn);
		if (key == NULL) {
			free(text);
			free(link);
			return -1;
		}
	}
	*added = true;
	return item_list_add_full(out, text, link, key);
}

/*
 * read_fields reads a record's fields and sets them on `it` (NULL: the
 * record made no item; they are skipped): 0, -1 truncated, -2 memory
 */
static int
read_fields(const unsigned char **p, const unsigned char *end,
    const char *page_url, struct item *it)
{
	const char *nm, *v;
	size_t nn, vn;
	uint32_t n, i;
	char name[ITEM_FIELD_NAME_MAX + 1], *value, *href;

	if (read_u32(p, end, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (read_str(p, end, &nm, &nn) != 0 ||
		    read_str(p, end, &v, &vn) != 0 || nm == NULL || v == NULL)
			return -1;
		if (it == NULL || nn > ITEM_FIELD_NAME_MAX)
			continue;
		memcpy(name, nm, nn);
		name[nn] = '\0';
		if (strcmp(name, "image") == 0) {
			href = strndup(v, vn);
			value = NULL;
			if (href == NULL ||
			    extract_url_resolve(href, page_url, &value) != 0) {
				free(href);
				return -2;
			}
			free(href);
		} else if ((value = extract_text_normalize(v, vn)) == NULL) {
			return -2;
		}
		if (item_field_set_take(it, name, value) != 0)
			return -2;
	}
	return 0;
}

static void
drop_from(struct item_list *out, size_t n0)
{
	item_list_truncate(out, n0);
}

/* the records in data[0..n) -> items; 0, or -1 with err */
static int
parse_records(const unsigned char *data, size_t n, const char *page_url,
    struct item_list *out, struct kw_err *err)
{
	const unsigned char *p = data, *end = data + n;
	const char *t, *l, *k;
	size_t tn, ln, kn;
	bool added;
	int r;

	while (p < end) {
		switch (*p++) {
		case REC_ITEM:
			if (read_str(&p, end, &t, &tn) != 0 ||
			    read_str(&p, end, &l, &ln) != 0 ||
			    read_str(&p, end, &k, &kn) != 0)
				goto truncated;
			added = false;
			if (add_record(t, tn, l, ln, k, kn, page_url, out,
				&added) != 0)
				return kw_err_set(err, "out of memory");
			r = read_fields(&p, end, page_url,
			    added ? &out->v[out->n - 1] : NULL);
			if (r == -1)
				goto truncated;
			if (r != 0)
				return kw_err_set(err, "out of memory");
			break;
		case REC_ERROR:
			if (read_str(&p, end, &t, &tn) != 0 || t == NULL)
				goto truncated;
			return kw_err_set(err, "%.*s", (int)tn, t);
		case REC_DONE:
			return 0;
		default:
			goto truncated;
		}
	}
truncated:
	return kw_err_set(err, "jq program stopped before its end");
}

int
jq_items(const char *program, const char *json, size_t len,
    const char *page_url, const struct jq_limits *lim, struct item_list *out,
    struct kw_err *err)
{
	struct jq_limits def;
	struct buf got;
	struct pollfd pfd;
	char chunk[16384];
	int fds[2] = { -1, -1 }, status = 0, rc = -1, left;
	int64_t deadline, now;
	size_t n0 = out->n;
	bool killed_time = false, killed_size = false, failed = false;
	ssize_t r;
	pid_t pid;

	struct jq_errbuf e = { .set = false };
	jq_state *jq;

	if (lim == NULL) {
		jq_limits_default(&def);
		lim = &def;
	}
	if (program == NULL || program[strspn(program, " \t\r\n")] == '\0')
		return kw_err_set(err, "the jq program is empty");
	/* compiling always terminates: done here, once per program */
	jq = compiled(program, &e);
	if (jq == NULL)
		return kw_err_set(err, "jq program does not compile: %s",
		    e.msg);
	buf_init(&got, 0);
	if (json == NULL)
		len = 0;
	if (pipe(fds) != 0)
		return kw_err_set(err, "jq: pipe: %s", strerror(errno));
	/* another fork in this process must not keep the pipe open */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		kw_err_set(err, "jq: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child_run(fds[1], jq, json != NULL ? json : "", len, lim);
	}
	close(fds[1]);
	deadline = util_mono_ms() + lim->timeout_ms;
	pfd.fd = fds[0];
	for (;;) {
		now = util_mono_ms();
		if (now >= deadline) {
			killed_time = true;
			break;
		}
		left =
		    deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			kw_err_set(err, "jq: poll: %s", strerror(errno));
			failed = true;
			break;
		}
		if (r == 0)
			continue;
		r = read(fds[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got.len + (size_t)r > lim->max_output_bytes) {
			killed_size = true;
			break;
		}
		if (buf_append(&got, chunk, (size_t)r) != 0) {
			kw_err_set(err, "out of memory reading jq output");
			failed = true;
			break;
		}
	}
	close(fds[0]);
	if (killed_time || killed_size || failed)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (killed_time) {
		kw_err_set(err, "jq program ran longer than %lld ms (stopped)",
		    (long long)lim->timeout_ms);
		goto out;
	}
	if (killed_size) {
		kw_err_set(err, "jq output exceeds %zu bytes (stopped)",
		    lim->max_output_bytes);
		goto out;
	}
	if (failed)
		goto out;
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL)
			kw_err_set(err,
			    "jq program used more than %lld s of "
			    "CPU time (stopped)",
			    (long long)((lim->timeout_ms + 999) / 1000));
		else
			kw_err_set(err,
			    "jq program died of signal %d (out of "
			    "memory? the limit is %zu MiB)",
			    WTERMSIG(status),
			    lim->max_memory_bytes / (1024 * 1024));
		goto out;
	}
	if (parse_records((const unsigned char *)got.data, got.len, page_url,
		out, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		drop_from(out, n0);
	buf_release(&got);
	return rc;
}
