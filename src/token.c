/* token: the Kakao token file and the refresh policy (see token.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/log.h"
#include "kakaowatch/token.h"

static int path_with(char *out, size_t size, const char *path,
    const char *suffix);
static void fsync_dir(const char *path);

/* the fields struct token holds itself; everything else goes to `extra` */
static const char *const known_fields[] = {
	"access_token",
	"refresh_token",
	"token_type",
	"scope",
	"expires_in",
	"refresh_token_expires_in",
	"access_token_expires_at",
	"refresh_token_expires_at",
};

static bool
is_known_field(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++)
		if (strcmp(key, known_fields[i]) == 0)
			return true;
	return false;
}

/* a token goes into an HTTP header: printable ASCII, no spaces */
static bool
token_chars_ok(const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/*
 * get_string: *out = copy of the string member `key` (NULL when absent or
 * null). Returns -1 when present with another type or on out-of-memory.
 */
static int
get_string(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = strdup(json_string_value(v));
	return *out == NULL ? -1 : 0;
}

/*
 * The largest lifetime or expiry time (seconds) taken from a token file or
 * response: 9999-12-31T23:59:59Z. Far beyond any real token, and small
 * enough that now + expires_in cannot overflow (a hostile or corrupt
 * answer such as "expires_in": 9223372036854775807 is refused).
 */
#define TOKEN_TIME_MAX 253402300799LL

/*
 * get_int: *out = integer member `key` (0..TOKEN_TIME_MAX), 0 when absent;
 * -1 on a bad type or range
 */
static int
get_int(json_t *obj, const char *key, int64_t *out, bool *present)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (present != NULL)
		*present = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TOKEN_TIME_MAX)
		return -1;
	*out = json_integer_value(v);
	if (present != NULL)
		*present = true;
	return 0;
}

/* collect the members of `obj` that struct token does not hold */
static json_t *
collect_extra(json_t *obj)
{
	json_t *extra, *v;
	const char *key;

	extra = json_object();
	if (extra == NULL)
		return NULL;
	json_object_foreach(obj, key, v) {
		if (is_known_field(key))
			continue;
		if (json_object_set(extra, key, v) != 0) {
			json_decref(extra);
			return NULL;
		}
	}
	return extra;
}

static void
register_secrets(const struct token *t)
{
	json_t *id;

	log_redact_add(t->access_token);
	log_redact_add(t->refresh_token);
	id = t->extra ? json_object_get(t->extra, "id_token") : NULL;
	if (json_is_string(id))
		log_redact_add(json_string_value(id));
}

/*
 * read_private_file reads `path` (never through a symbolic link:
 * O_NOFOLLOW) after checking, on the open descriptor, that it is a regular
 * file nobody but the owner can read.
 */
static char *
read_private_file(const char *path, time_t *mtime, struct kw_err *err)
{
	struct stat st;
	struct buf b;
	char chunk[4096];
	ssize_t n;
	int fd, saved;

	buf_init(&b, TOKEN_FILE_MAX_BYTES);
	/* never through a link: the token file is ours, replaced by rename
	 * (a link there could make us read, and later show, someone else's
	 * file or a file the link's maker chose) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		saved = errno;
		if (saved == ELOOP)
			kw_err_set(err,
			    "token file '%s' is a symbolic link: "
			    "kakaowatch does not follow links to its token "
			    "file; replace it with the file itself",
			    path);
		else
			kw_err_set(err, "cannot open token file '%s': %s", path,
			    strerror(saved));
		errno = saved;
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		kw_err_set(err, "cannot stat '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		kw_err_set(err, "token file '%s' is not a regular file", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		kw_err_set(err,
		    "'%s' is readable by group or others; run: chmod 600 '%s'",
		    path, path);
		goto fail;
	}
	*mtime = st.st_mtime;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kw_err_set(err, "cannot read '%s': %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			kw_err_set(err,
			    "token file '%s' is larger than %d bytes", path,
			    TOKEN_FILE_MAX_BYTES);
			goto fail;
		}
	}
	close(fd);
	return buf_detach(&b, NULL);
fail:
	close(fd);
	buf_release(&b);
	errno = EINVAL;
	return NULL;
}

static int token_load_file(const char *path, struct token *out,
    struct kw_err *err);

/*
 * recover_next: a save that wrote and synced PATH.new but did not rename it
 * (the process died, or rename failed) left the newest token there; it is
 * moved into place. A reserve that was never written is not valid JSON and
 * is left alone (the next save replaces it).
 */
static void
recover_next(const char *path)
{
	char next[PATH_MAX];
	struct token t = { 0 };
	struct kw_err err = { 0 };
	struct stat st;

	if (path_with(next, sizeof(next), path, TOKEN_NEXT_SUFFIX) != 0 ||
	    lstat(next, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if (token_load_file(next, &t, &err) == 0) {
		if (rename(next, path) == 0) {
			fsync_dir(path);
			log_info("token: finished an interrupted save of '%s'",
			    path);
		}
	}
	token_release(&t);
}

int
token_load(const char *path, struct token *out, struct kw_err *err)
{
	recover_next(path);
	return token_load_file(path, out, err);
}

static int
token_load_file(const char *path, struct token *out, struct kw_err *err)
{
	struct token t = { 0 };
	json_t *root = NULL;
	json_error_t jerr;
	char *text;
	time_t mtime = 0;
	bool have_at = false, have_rat = false;
	int result = -1;

	memset(out, 0, sizeof(*out));
	text = read_private_file(path, &mtime, err);
	if (text == NULL)
		return -1;
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* not jerr.text: it may quote a piece of a token */
		kw_err_set(err, "%s:%d:%d: bad token file: not valid JSON",
		    path, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		kw_err_set(err, "'%s': a token file is a JSON object", path);
		goto out;
	}
	if (get_string(root, "access_token", &t.access_token) != 0 ||
	    get_string(root, "refresh_token", &t.refresh_token) != 0 ||
	    get_string(root, "token_type", &t.token_type) != 0 ||
	    get_string(root, "scope", &t.scope) != 0) {
		kw_err_set(err,
		    "'%s': access_token, refresh_token, token_type "
		    "and scope must be strings",
		    path);
		goto out;
	}
	if (get_int(root, "expires_in", &t.expires_in, NULL) != 0 ||
	    get_int(root, "refresh_token_expires_in",
		&t.refresh_token_expires_in, NULL) != 0 ||
	    get_int(root, "access_token_expires_at", &t.access_token_expires_at,
		&have_at) != 0 ||
	    get_int(root, "refresh_token_expires_at",
		&t.refresh_token_expires_at, &have_rat) != 0) {
		kw_err_set(err,
		    "'%s': expires_in, refresh_token_expires_in "
		    "and *_expires_at must be whole numbers of seconds (at "
		    "most %lld)",
		    path, (long long)TOKEN_TIME_MAX);
		goto out;
	}
	if (t.refresh_token == NULL || !token_chars_ok(t.refresh_token)) {
		kw_err_set(err,
		    "'%s' has no usable refresh_token; run "
		    "`kakaowatch auth`",
		    path);
		goto out;
	}
	if (t.access_token != NULL && !token_chars_ok(t.access_token)) {
		kw_err_set(err,
		    "'%s': access_token has characters a token "
		    "cannot have",
		    path);
		goto out;
	}
	/* seed-tutorial file: the token response saved as it came */
	if (!have_at && t.expires_in > 0)
		t.access_token_expires_at = (int64_t)mtime + t.expires_in;
	if (!have_rat && t.refresh_token_expires_in > 0)
		t.refresh_token_expires_at =
		    (int64_t)mtime + t.refresh_token_expires_in;
	t.extra = collect_extra(root);
	if (t.extra == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	register_secrets(&t);
	*out = t;
	memset(&t, 0, sizeof(t));
	result = 0;
out:
	token_release(&t);
	json_decref(root);
	free(text);
	if (result != 0)
		errno = EINVAL;
	return result;
}

static int
set_string(json_t *obj, const char *key, const char *value)
{
	if (value == NULL)
		return 0;
	return json_object_set_new(obj, key, json_string(value));
}

static int
set_int(json_t *obj, const char *key, int64_t value)
{
	if (value <= 0)
		return 0;
	return json_object_set_new(obj, key, json_integer(value));
}

/* token_serialize: the token file's JSON text (heap; wipe and free) */
static char *
token_serialize(const struct token *t)
{
	json_t *obj;
	char *text = NULL;

	obj = json_object();
	if (obj == NULL || set_string(obj, "token_type", t->token_type) != 0 ||
	    set_string(obj, "access_token", t->access_token) != 0 ||
	    set_int(obj, "expires_in", t->expires_in) != 0 ||
	    set_string(obj, "refresh_token", t->refresh_token) != 0 ||
	    set_int(obj, "refresh_token_expires_in",
		t->refresh_token_expires_in) != 0 ||
	    set_string(obj, "scope", t->scope) != 0 ||
	    set_int(obj, "access_token_expires_at",
		t->access_token_expires_at) != 0 ||
	    set_int(obj, "refresh_token_expires_at",
		t->refresh_token_expires_at) != 0 ||
	    (t->extra != NULL && json_object_update_missing(obj, t->extra)))
		goto out;
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(obj);
	return text;
}

static void
wipe_free(char *text)
{
	if (text == NULL)
		return;
	/* the buffer held tokens: do not leave them in freed memory */
	util_wipe_free(text);
}

/* path_with: "PATH" + suffix into out; -1 when too long */
static int
path_with(char *out, size_t size, const char *path, const char *suffix)
{
	return snprintf(out, size, "%s%s", path, suffix) >= (int)size ? -1 : 0;
}

static void
fsync_dir(const char *path)
{
	char *dir = util_dirname(path);
	int fd;

	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd >= 0) {
		if (fsync(fd) != 0) {
			/* the rename is done; a lost dir sync is not ours */
		}
		close(fd);
	}
}

int
token_save_prepare(const char *path, struct token_reserve *r,
    struct kw_err *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (path_with(r->path, sizeof(r->path), path, "") != 0 ||
	    path_with(r->next, sizeof(r->next), path, TOKEN_NEXT_SUFFIX) != 0)
		return kw_err_set(err, "'%s': path too long", path);
	/* a leftover from a failed or interrupted save: replaced (it was
	 * either never completed, or token_load already took it over) */
	if (unlink(r->next) != 0 && errno != ENOENT && errno != EISDIR &&
	    errno != EPERM)
		return kw_err_set(err, "cannot remove '%s': %s", r->next,
		    strerror(errno));
	r->fd = open(r->next,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (r->fd < 0)
		return kw_err_set(err, "cannot create '%s': %s", r->next,
		    strerror(errno));
	if (fchmod(r->fd, 0600) != 0) {
		kw_err_set(err, "cannot chmod '%s': %s", r->next,
		    strerror(errno));
		goto fail;
	}
	/* the blocks the new token will need, taken now (posix_fallocate
	 * writes them itself where the file system cannot reserve) */
	rc = posix_fallocate(r->fd, 0, TOKEN_RESERVE_BYTES);
	if (rc != 0) {
		kw_err_set(err, "cannot reserve %d bytes for '%s': %s",
		    TOKEN_RESERVE_BYTES, r->next, strerror(rc));
		goto fail;
	}
	if (fsync(r->fd) != 0) {
		kw_err_set(err, "cannot sync '%s': %s", r->next,
		    strerror(errno));
		goto fail;
	}
	return 0;
fail:
	token_save_abort(r);
	return -1;
}

void
token_save_abort(struct token_reserve *r)
{
	if (r == NULL || r->fd < 0)
		return;
	close(r->fd);
	r->fd = -1;
	unlink(r->next);
}

int
token_save_commit(struct token_reserve *r, const struct token *t,
    struct kw_err *err)
{
	char bak[PATH_MAX + 8];
	char *text;
	size_t len, off = 0;
	ssize_t n;
	int result = -1;

	if (r->fd < 0)
		return kw_err_set(err, "'%s': the save was not prepared",
		    r->path);
	text = token_serialize(t);
	if (text == NULL)
		return kw_err_set(err, "cannot save '%s': out of memory",
		    r->path);
	len = strlen(text);
	while (off < len) {
		n = pwrite(r->fd, text + off, len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kw_err_set(err, "cannot write '%s': %s", r->next,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (ftruncate(r->fd, (off_t)len) != 0 || fsync(r->fd) != 0) {
		kw_err_set(err, "cannot write '%s': %s", r->next,
		    strerror(errno));
		goto out;
	}
	/* from here on the new token is on disk: token_load finds it in
	 * PATH.new should the rename below not happen */
	close(r->fd);
	r->fd = -1;
	if (path_with(bak, sizeof(bak), r->path, ".bak") == 0 &&
	    (unlink(bak) == 0 || errno == ENOENT) && link(r->path, bak) != 0 &&
	    errno != ENOENT)
		log_warn("token: cannot keep '%s'", bak);
	if (rename(r->next, r->path) != 0) {
		kw_err_set(err, "cannot rename '%s' to '%s': %s", r->next,
		    r->path, strerror(errno));
		goto out;
	}
	fsync_dir(r->path);
	log_debug("token: saved '%s'", r->path);
	result = 0;
out:
	if (r->fd >= 0 && result != 0) {
		close(r->fd);
		r->fd = -1;
		unlink(r->next);
	}
	wipe_free(text);
	return result;
}

int
token_save(const char *path, const struct token *t, struct kw_err *err)
{
	struct token_reserve r;

	if (token_save_prepare(path, &r, err) != 0)
		return -1;
	return token_save_commit(&r, t, err);
}

int
token_lock(const char *path, long timeout_ms, struct kw_err *err)
{
	char lock[PATH_MAX];
	int64_t deadline = util_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int fd;

	if (path_with(lock, sizeof(lock), path, TOKEN_LOCK_SUFFIX) != 0)
		return kw_err_set(err, "'%s': path too long", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return kw_err_set(err, "cannot open the token lock '%s': %s",
		    lock, strerror(errno));
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			kw_err_set(err, "cannot lock '%s': %s", lock,
			    strerror(errno));
			break;
		}
		if (util_mono_ms() >= deadline) {
			kw_err_set(err,
			    "another kakaowatch is refreshing the "
			    "Kakao token (lock '%s' held)",
			    lock);
			errno = EWOULDBLOCK;
			break;
		}
		usleep(20 * 1000);
	}
	close(fd);
	return -1;
}

void
token_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

void
token_release(struct token *t)
{
	if (t == NULL)
		return;
	util_wipe_free(t->access_token);
	util_wipe_free(t->refresh_token);
	free(t->token_type);
	free(t->scope);
	json_decref(t->extra);
	memset(t, 0, sizeof(*t));
}

int
token_apply_response(struct token *t, const char *json, int64_t now_s,
    struct kw_err *err)
{
	struct token n = { 0 };
	json_t *root = NULL, *extra = NULL, *v;
	json_error_t jerr;
	const char *key;
	bool have_rexp = false;
	int result = -1;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		kw_err_set(err, "Kakao token response is not a JSON object");
		goto out;
	}
	if (get_string(root, "access_token", &n.access_token) != 0 ||
	    get_string(root, "refresh_token", &n.refresh_token) != 0 ||
	    get_string(root, "token_type", &n.token_type) != 0 ||
	    get_string(root, "scope", &n.scope) != 0 ||
	    get_int(root, "expires_in", &n.expires_in, NULL) != 0 ||
	    get_int(root, "refresh_token_expires_in",
		&n.refresh_token_expires_in, &have_rexp) != 0) {
		kw_err_set(err, "Kakao token response has a field of the "
				"wrong type or out of range");
		goto out;
	}
	if (n.access_token == NULL || !token_chars_ok(n.access_token) ||
	    n.expires_in <= 0) {
		kw_err_set(err, "Kakao token response has no usable "
				"access_token and expires_in");
		goto out;
	}
	if (n.refresh_token != NULL && !token_chars_ok(n.refresh_token)) {
		kw_err_set(err, "Kakao token response has a malformed "
				"refresh_token");
		goto out;
	}
	/* merge unknown fields (id_token, ...) over the kept ones */
	extra = t->extra ? json_deep_copy(t->extra) : json_object();
	if (extra == NULL)
		goto fail;
	json_object_foreach(root, key, v) {
		if (is_known_field(key))
			continue;
		if (json_object_set(extra, key, v) != 0)
			goto fail;
	}
	/* a new refresh token replaces the old one (rotation, §2.2) */
	if (n.refresh_token == NULL) {
		n.refresh_token = util_strdup_or_null(t->refresh_token);
		if (t->refresh_token != NULL && n.refresh_token == NULL)
			goto fail;
		n.refresh_token_expires_in = t->refresh_token_expires_in;
		n.refresh_token_expires_at = t->refresh_token_expires_at;
	} else if (have_rexp && n.refresh_token_expires_in > 0) {
		n.refresh_token_expires_at = now_s + n.refresh_token_expires_in;
	}
	if (n.scope == NULL) {
		n.scope = util_strdup_or_null(t->scope);
		if (t->scope != NULL && n.scope == NULL)
			goto fail;
	}
	if (n.token_type == NULL) {
		n.token_type = util_strdup_or_null(t->token_type);
		if (t->token_type != NULL && n.token_type == NULL)
			goto fail;
	}
	n.access_token_expires_at = now_s + n.expires_in;
	n.extra = extra;
	extra = NULL;
	register_secrets(&n);
	token_release(t);
	*t = n;
	memset(&n, 0, sizeof(n));
	result = 0;
	goto out;
fail:
	kw_err_set(err, "out of memory");
out:
	json_decref(extra);
	json_decref(root);
	token_release(&n);
	return result;
}

bool
token_refresh_due(const struct token *t, int64_t now_s, int64_t min_interval_s)
{
	int64_t last_refresh;

	if (t->access_token == NULL || t->access_token[0] == '\0' ||
	    t->access_token_expires_at <= 0)
		return true;
	if (t->access_token_expires_at - now_s <= TOKEN_REFRESH_MARGIN_S)
		return true;
	if (t->expires_in <= 0)
		return true;
	last_refresh = t->access_token_expires_at - t->expires_in;
	return now_s - last_refresh >= min_interval_s;
}
