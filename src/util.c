/* util: errors, strict parsing, clocks, atomic files (see util.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/log.h"
#include "kakaowatch/util.h"

int
kw_err_set(struct kw_err *err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (err == NULL || err->set)
		return -1;
	/* redact before cutting: a secret at the cut must not leak a prefix */
	va_start(ap, fmt);
	msg = log_vformat_redacted(fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%s", msg ? msg : "out of memory");
	free(msg);
	err->set = true;
	return -1;
}

void
kw_err_clear(struct kw_err *err)
{
	err->set = false;
	err->msg[0] = '\0';
}

int
util_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_duration(const char *s, int64_t *out_ms, struct kw_err *err)
{
	const char *p = s;
	int64_t total = 0, unit;
	long long v;
	char *end;
	int parts = 0;

	if (s == NULL || *s == '\0')
		goto bad;
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || end == p)
			goto bad;
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			unit = 1;
			p += 2;
		} else if (*p == 's') {
			unit = 1000;
			p++;
		} else if (*p == 'm') {
			unit = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			unit = 3600 * 1000;
			p++;
		} else if (*p == 'd') {
			unit = 86400 * 1000;
			p++;
		} else {
			goto bad;
		}
		if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
			goto bad;
		total += v * unit;
		parts++;
	}
	if (parts == 0)
		goto bad;
	*out_ms = total;
	return 0;
bad:
	return kw_err_set(err,
	    "bad duration '%s': use a number with ms, s, m, h or d, e.g. 90s",
	    s ? s : "");
}

int
util_parse_size(const char *s, int64_t *out_bytes, struct kw_err *err)
{
	static const struct {
		const char *suffix;
		int64_t mult;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "KB", 1000 },
		{ "KiB", 1024 },
		{ "MB", 1000 * 1000 },
		{ "MiB", 1024 * 1024 },
		{ "GB", 1000 * 1000 * 1000 },
		{ "GiB", 1024 * 1024 * 1024 },
	};
	char *end;
	long long v;
	size_t i;

	if (s == NULL || !isdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		goto bad;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > INT64_MAX / units[i].mult)
				goto bad;
			*out_bytes = v * units[i].mult;
			return 0;
		}
	}
bad:
	return kw_err_set(err,
	    "bad size '%s': use a number with B, KB, KiB, MB, MiB, GB or GiB, "
	    "e.g. 5MiB",
	    s ? s : "");
}

int
util_parse_percent(const char *s, double *out, struct kw_err *err)
{
	char *end;
	double v;

	if (s == NULL || !isdigit((unsigned char)*s))
		goto bad;
	/* digits, at most one '.', digits, '%': no hex, exponent or sign */
	for (end = (char *)s; isdigit((unsigned char)*end); end++)
		;
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			goto bad;
		for (end++; isdigit((unsigned char)*end); end++)
			;
	}
	if (end[0] != '%' || end[1] != '\0')
		goto bad;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end[0] != '%' || end[1] != '\0' || !isfinite(v) ||
	    v < 0 || v > 100)
		goto bad;
	*out = v;
	return 0;
bad:
	return kw_err_set(err,
	    "bad percentage '%s': use a number from 0 to 100 with %%, e.g. 10%%",
	    s ? s : "");
}

int
util_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
util_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

char *
util_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int
fsync_dir_of(const char *path)
{
	char *dir;
	int fd, result;

	dir = util_dirname(path);
	if (dir == NULL)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	result = fsync(fd);
	close(fd);
	return result;
}

int
util_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, bool keep_bak, struct kw_err *err)
{
	char tmp[PATH_MAX], bak[PATH_MAX];
	const char *p = data;
	size_t off = 0;
	ssize_t n;
	int fd = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
		(int)sizeof(tmp) ||
	    snprintf(bak, sizeof(bak), "%s.bak", path) >= (int)sizeof(bak))
		return kw_err_set(err, "'%s': path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		kw_err_set(err, "cannot create '%s': %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0)
		goto fail_errno;
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail_errno;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail_errno;
	if (close(fd) != 0) {
		fd = -1;
		goto fail_errno;
	}
	fd = -1;
	if (keep_bak) {
		/* keep the previous version: hard link it as PATH.bak */
		if (unlink(bak) != 0 && errno != ENOENT)
			goto fail_errno;
		if (link(path, bak) != 0 && errno != ENOENT)
			goto fail_errno;
	}
	if (rename(tmp, path) != 0)
		goto fail_errno;
	fsync_dir_of(path);
	return 0;
fail_errno:
	kw_err_set(err, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

char *
util_read_file(const char *path, size_t max, size_t *len_out,
    struct kw_err *err)
{
	struct buf b;
	char chunk[8192];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		kw_err_set(err, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b, max);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			kw_err_set(err, "cannot read '%s': %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) != 0) {
			kw_err_set(err, "'%s' is larger than %zu bytes", path,
			    max);
			goto fail;
		}
	}
	close(fd);
	return buf_detach(&b, len_out);
fail:
	close(fd);
	buf_release(&b);
	return NULL;
}

int
util_mkdir_p(const char *path, mode_t mode, struct kw_err *err)
{
	char tmp[PATH_MAX];
	char *p;
	struct stat st;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return kw_err_set(err, "'%s': path too long", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST)
		goto fail;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		return kw_err_set(err, "'%s' is not a directory", path);
	}
	return 0;
fail:
	return kw_err_set(err, "cannot create directory '%s': %s", tmp,
	    strerror(errno));
}

char *
util_path_join(const char *dir, const char *name)
{
	size_t dl;
	char *p;

	if (name[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(name);
	dl = strlen(dir);
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	p = malloc(dl + 1 + strlen(name) + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	strcpy(p + dl + 1, name);
	return p;
}

bool
util_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
util_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

void
util_wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *
util_strdup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

double
util_random_unit(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)util_mono_ms() * 6364136223846793005ULL +
		    1442695040888963407ULL; /* getrandom cannot fail here */
	return (double)(v >> 11) / 9007199254740992.0; /* 2^53 */
}

int
util_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	size_t i;

	if (nbytes > sizeof(raw))
		return -1;
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		return -1;
	for (i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	out[2 * nbytes] = '\0';
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
util_url_decode(const char *s)
{
	char *out, *o;
	int hi, lo;

	out = malloc(strlen(s) + 1);
	if (out == NULL)
		return NULL;
	for (o = out; *s != '\0'; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%') {
			hi = hexval((unsigned char)s[1]);
			lo = hi < 0 ? -1 : hexval((unsigned char)s[2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}
