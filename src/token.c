/* token: the Kakao token file and the refresh policy (see token.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/log.h"
#include "kakaowatch/token.h"

/* the fields struct token holds itself; everything else goes to `extra` */
static const char *const known_fields[] = {
	"access_token", "refresh_token", "token_type", "scope", "expires_in",
	"refresh_token_expires_in", "access_token_expires_at",
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
 * read_private_file reads `path` after checking, on the open descriptor,
 * that it is a regular file nobody but the owner can read.
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
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
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

int
token_load(const char *path, struct token *out, struct kw_err *err)
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
		kw_err_set(err, "'%s': access_token, refresh_token, token_type "
		    "and scope must be strings", path);
		goto out;
	}
	if (get_int(root, "expires_in", &t.expires_in, NULL) != 0 ||
	    get_int(root, "refresh_token_expires_in",
		&t.refresh_token_expires_in, NULL) != 0 ||
	    get_int(root, "access_token_expires_at",
		&t.access_token_expires_at, &have_at) != 0 ||
	    get_int(root, "refresh_token_expires_at",
		&t.refresh_token_expires_at, &have_rat) != 0) {
		kw_err_set(err, "'%s': expires_in, refresh_token_expires_in "
		    "and *_expires_at must be whole numbers of seconds (at "
		    "most %lld)", path, (long long)TOKEN_TIME_MAX);
		goto out;
	}
	if (t.refresh_token == NULL || !token_chars_ok(t.refresh_token)) {
		kw_err_set(err, "'%s' has no usable refresh_token; run "
		    "`kakaowatch auth`", path);
		goto out;
	}
	if (t.access_token != NULL && !token_chars_ok(t.access_token)) {
		kw_err_set(err, "'%s': access_token has characters a token "
		    "cannot have", path);
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

int
token_save(const char *path, const struct token *t, struct kw_err *err)
{
	json_t *obj;
	char *text = NULL;
	int result = -1;

	obj = json_object();
	if (obj == NULL ||
	    set_string(obj, "token_type", t->token_type) != 0 ||
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
		goto fail;
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto fail;
	result = util_write_file_atomic(path, text, strlen(text), 0600, true,
	    err);
	if (result == 0)
		log_debug("token: saved '%s'", path);
	goto out;
fail:
	kw_err_set(err, "cannot save '%s': out of memory", path);
out:
	if (text != NULL) {
		/* the buffer held tokens: do not leave them in freed memory */
		memset(text, 0, strlen(text));
		free(text);
	}
	json_decref(obj);
	return result;
}

void
token_release(struct token *t)
{
	if (t == NULL)
		return;
	free(t->access_token);
	free(t->refresh_token);
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
token_refresh_due(const struct token *t, int64_t now_s,
    int64_t min_interval_s)
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
