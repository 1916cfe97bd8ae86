/* tests for the base modules: util, buf, log, item */
#include <errno.h>
#include <fcntl.h>
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

#include "kakaowatch/buf.h"
#include "kakaowatch/item.h"
#include "kakaowatch/log.h"
#include "kakaowatch/util.h"

/* a fresh directory per test, removed afterwards */
struct tmp {
	char dir[256];
};

static int
tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/kw-test-util-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static char *
tmp_path(void **state, const char *name)
{
	struct tmp *t = *state;
	char *p = util_path_join(t->dir, name);

	assert_non_null(p);
	return p;
}

static char *
slurp(const char *path)
{
	struct kw_err err = { 0 };
	char *s = util_read_file(path, 1 << 20, NULL, &err);

	if (s == NULL)
		fail_msg("%s", err.msg);
	return s;
}

/* ---- parsing ---- */

static void
test_util_parse_int_accepts_and_rejects(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} good[] = {
		{ "0", 0 },
		{ "42", 42 },
		{ "-7", -7 },
		{ "+5", 5 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
	};
	static const char *const bad[] = {
		"",
		" 1",
		"1 ",
		"1x",
		"0x10",
		"1.5",
		"--1",
		"+",
		"-",
		"9223372036854775808",
		"-9223372036854775809",
		"1e3",
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (util_parse_int(good[i].s, INT64_MIN, INT64_MAX, &v) != 0)
			fail_msg("refused '%s'", good[i].s);
		assert_int_equal(v, good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (util_parse_int(bad[i], INT64_MIN, INT64_MAX, &v) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(v, 12345); /* untouched */
	}
	assert_int_equal(util_parse_int(NULL, 0, 10, &v), -1);
	assert_int_equal(util_parse_int("10", 1, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(util_parse_int("11", 1, 10, &v), -1);
	assert_int_equal(util_parse_int("0", 1, 10, &v), -1);
}

static void
test_util_parse_duration_accepts_and_rejects(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} good[] = {
		{ "500ms", 500 },
		{ "90s", 90000 },
		{ "15m", 900000 },
		{ "2h", 7200000 },
		{ "1d", 86400000 },
		{ "0s", 0 },
		{ "1h30m", 5400000 },
		{ "1m30s500ms", 90500 },
	};
	static const char *const bad[] = {
		"",
		"90",
		"1x",
		"-5s",
		"+5s",
		"1.5h",
		"h",
		"1h ",
		" 1h",
		"1H",
		"5 m",
		"1h-",
		"99999999999999999999s",
		"9999999999999999d",
		"ms",
	};
	struct kw_err err = { 0 };
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (util_parse_duration(good[i].s, &ms, &err) != 0)
			fail_msg("refused '%s': %s", good[i].s, err.msg);
		assert_int_equal(ms, good[i].ms);
	}
	assert_false(err.set);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kw_err_clear(&err);
		if (util_parse_duration(bad[i], &ms, &err) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err.set);
	}
	kw_err_clear(&err);
	util_parse_duration("90", &ms, &err);
	assert_string_equal(err.msg, "bad duration '90': use a number with ms, "
				     "s, m, h or d, e.g. 90s");
}

static void
test_util_parse_size_accepts_and_rejects(void **state)
{
	static const struct {
		const char *s;
		int64_t bytes;
	} good[] = {
		{ "0", 0 },
		{ "512", 512 },
		{ "512B", 512 },
		{ "64KB", 64000 },
		{ "64KiB", 65536 },
		{ "5MB", 5000000 },
		{ "5MiB", 5242880 },
		{ "1GB", 1000000000 },
		{ "1GiB", 1073741824 },
	};
	static const char *const bad[] = {
		"",
		"-1",
		"+1",
		"5 MiB",
		"1.5MiB",
		"MiB",
		"5XB",
		"5MiBs",
		" 5",
		"9223372036854775807KB",
		"99999999999999999999",
		"0x10",
	};
	struct kw_err err = { 0 };
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (util_parse_size(good[i].s, &v, &err) != 0)
			fail_msg("refused '%s': %s", good[i].s, err.msg);
		assert_int_equal(v, good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kw_err_clear(&err);
		if (util_parse_size(bad[i], &v, &err) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(strstr(err.msg, "bad size"));
	}
}

static void
test_util_parse_percent_accepts_and_rejects(void **state)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {
		{ "10%", 10.0 },
		{ "2.5%", 2.5 },
		{ "0%", 0.0 },
		{ "100%", 100.0 },
		{ "100.0%", 100.0 },
	};
	static const char *const bad[] = {
		"",
		"10",
		"101%",
		"100.5%",
		"-1%",
		"%",
		"10%%",
		" 10%",
		"10 %",
		"abc",
		"nan%",
		"inf%",
		"1e999%",
	};
	struct kw_err err = { 0 };
	double v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (util_parse_percent(good[i].s, &v, &err) != 0)
			fail_msg("refused '%s': %s", good[i].s, err.msg);
		assert_true(v == good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kw_err_clear(&err);
		if (util_parse_percent(bad[i], &v, &err) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(strstr(err.msg, "bad percentage"));
	}
}

/*
 * KNOWN BUG (src/util.c, util_parse_percent uses strtod): hexadecimal
 * floats and exponents pass: "0x10%" is 16%, "1e1%" is 10%. The spec wants
 * strict parsing ("a number from 0 to 100 with %").
 */
static void
test_util_parse_percent_rejects_hex_and_exponent(void **state)
{
	static const char *const bad[] = { "0x10%", "0x1p3%", "1e1%" };
	struct kw_err err = { 0 };
	double v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (util_parse_percent(bad[i], &v, &err) == 0)
			fail_msg("accepted '%s' as %g%%", bad[i], v);
}

static void
test_util_parse_bool_accepts_yaml_spellings(void **state)
{
	static const char *const yes[] = { "true", "True", "YES", "on" };
	static const char *const no[] = { "false", "FALSE", "no", "Off" };
	static const char *const bad[] = { "", "1", "0", "y", "n", "tru" };
	bool b;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		b = false;
		assert_int_equal(util_parse_bool(yes[i], &b), 0);
		assert_true(b);
		assert_int_equal(util_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(util_parse_bool(bad[i], &b), -1);
	assert_int_equal(util_parse_bool(NULL, &b), -1);
}

static void
test_util_err_first_message_wins(void **state)
{
	struct kw_err err = { 0 };

	(void)state;
	assert_int_equal(kw_err_set(&err, "first %d", 1), -1);
	assert_int_equal(kw_err_set(&err, "second"), -1);
	assert_string_equal(err.msg, "first 1");
	kw_err_clear(&err);
	assert_false(err.set);
	kw_err_set(&err, "third");
	assert_string_equal(err.msg, "third");
	assert_int_equal(kw_err_set(NULL, "nowhere"), -1);
}

/* ---- files ---- */

static void
test_util_write_file_atomic_writes_content_with_mode_0600(void **state)
{
	struct kw_err err = { 0 };
	struct stat st;
	char *path = tmp_path(state, "token.json"), *s;
	mode_t old;
	size_t i;
	static const mode_t masks[] = { 0, 022, 077, 0777 };

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		old = umask(masks[i]);
		assert_int_equal(util_write_file_atomic(path, "{\"a\":1}", 7,
				     0600, false, &err),
		    0);
		umask(old);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		s = slurp(path);
		assert_string_equal(s, "{\"a\":1}");
		free(s);
	}
	assert_false(err.set);
	free(path);
}

static void
test_util_write_file_atomic_keeps_previous_as_bak(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "t.json");
	char *bak = tmp_path(state, "t.json.bak");
	char *s;

	/* no previous file: no .bak */
	assert_int_equal(
	    util_write_file_atomic(path, "one", 3, 0600, true, &err), 0);
	assert_int_equal(access(bak, F_OK), -1);
	assert_int_equal(
	    util_write_file_atomic(path, "two", 3, 0600, true, &err), 0);
	s = slurp(path);
	assert_string_equal(s, "two");
	free(s);
	s = slurp(bak);
	assert_string_equal(s, "one");
	free(s);
	assert_int_equal(
	    util_write_file_atomic(path, "three", 5, 0600, true, &err), 0);
	s = slurp(bak);
	assert_string_equal(s, "two");
	free(s);
	/* keep_bak false leaves the old .bak alone */
	assert_int_equal(
	    util_write_file_atomic(path, "four", 4, 0600, false, &err), 0);
	s = slurp(bak);
	assert_string_equal(s, "two");
	free(s);
	s = slurp(path);
	assert_string_equal(s, "four");
	free(s);
	assert_false(err.set);
	free(path);
	free(bak);
}

static void
test_util_write_file_atomic_fails_cleanly_without_dir(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "missing/t.json");

	assert_int_equal(util_write_file_atomic(path, "x", 1, 0600, true, &err),
	    -1);
	assert_true(err.set);
	assert_non_null(strstr(err.msg, "missing/t.json"));
	assert_int_equal(access(path, F_OK), -1);
	free(path);
}

static void
test_util_write_file_atomic_leaves_no_temp_file(void **state)
{
	struct tmp *t = *state;
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "f"), cmd[400];

	assert_int_equal(util_write_file_atomic(path, "x", 1, 0600, true, &err),
	    0);
	assert_int_equal(util_write_file_atomic(path, "y", 1, 0600, true, &err),
	    0);
	/* only f and f.bak */
	snprintf(cmd, sizeof(cmd),
	    "test \"$(ls -A '%s' | tr '\\n' ' ')\" "
	    "= 'f f.bak '",
	    t->dir);
	assert_int_equal(system(cmd), 0);
	free(path);
}

static void
test_util_read_file_respects_cap(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "ten"), *s;
	size_t len = 0;

	assert_int_equal(
	    util_write_file_atomic(path, "0123456789", 10, 0644, false, &err),
	    0);
	s = util_read_file(path, 10, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, 10);
	assert_string_equal(s, "0123456789");
	free(s);
	s = util_read_file(path, 9, &len, &err);
	assert_null(s);
	assert_true(err.set);
	assert_non_null(strstr(err.msg, "larger than 9 bytes"));
	free(path);
}

static void
test_util_read_file_reads_large_and_empty_files(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "big"), *data, *s;
	size_t len = 0, i, n = 100000;

	data = malloc(n);
	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(
	    util_write_file_atomic(path, data, n, 0600, false, &err), 0);
	s = util_read_file(path, n, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, n);
	assert_memory_equal(s, data, n);
	assert_int_equal(s[n], '\0');
	free(s);
	assert_int_equal(util_write_file_atomic(path, "", 0, 0600, false, &err),
	    0);
	s = util_read_file(path, 10, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
	free(data);
	free(path);
}

static void
test_util_read_file_missing_file_names_it(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "nope.yaml");

	assert_null(util_read_file(path, 100, NULL, &err));
	assert_non_null(strstr(err.msg, "nope.yaml"));
	assert_non_null(strstr(err.msg, "No such file"));
	free(path);
}

static void
test_util_mkdir_p_creates_parents(void **state)
{
	struct kw_err err = { 0 };
	char *path = tmp_path(state, "a/b/c"), *file;
	struct stat st;

	assert_int_equal(util_mkdir_p(path, 0700, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(util_mkdir_p(path, 0700, &err), 0); /* exists */
	file = tmp_path(state, "a/file");
	assert_int_equal(
	    util_write_file_atomic(file, "x", 1, 0600, false, &err), 0);
	assert_int_equal(util_mkdir_p(file, 0700, &err), -1);
	assert_true(err.set);
	free(file);
	free(path);
}

static void
test_util_path_join_handles_slashes_and_absolute(void **state)
{
	static const struct {
		const char *dir, *name, *want;
	} cases[] = {
		{ "a", "b", "a/b" },
		{ "a/", "b", "a/b" },
		{ "a//", "b", "a/b" },
		{ "/x", "/abs/p", "/abs/p" },
		{ NULL, "n", "n" },
		{ "", "n", "n" },
		{ "/var/lib", "kakao_token.json", "/var/lib/kakao_token.json" },
	};
	size_t i;
	char *p;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = util_path_join(cases[i].dir, cases[i].name);
		assert_string_equal(p, cases[i].want);
		free(p);
	}
}

/* ---- misc ---- */

static void
test_util_url_decode_rejects_bad_escapes(void **state)
{
	static const char *const bad[] = { "%", "%2", "a%zz", "%g0", "x%" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (util_url_decode(bad[i]) != NULL)
			fail_msg("accepted '%s'", bad[i]);
}

static void
test_util_random_hex_gives_distinct_hex(void **state)
{
	char a[33], b[33], big[200];
	size_t i;

	(void)state;
	assert_int_equal(util_random_hex(a, 16), 0);
	assert_int_equal(util_random_hex(b, 16), 0);
	assert_int_equal(strlen(a), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(util_random_hex(big, 65), -1);
}

static void
test_util_clocks_move_forward(void **state)
{
	int64_t m1, m2, now;

	(void)state;
	m1 = util_mono_ms();
	m2 = util_mono_ms();
	assert_true(m2 >= m1);
	now = util_now_ms();
	assert_true(now > INT64_C(1700000000000)); /* after Nov 2023 */
}

/* ---- log ---- */

/* capture stderr of fn() into a heap string */
static char *
capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/kw-test-log-XXXXXX";
	int fd, saved;
	char *s;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fd, 2) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	close(fd);
	s = slurp(path);
	unlink(path);
	return s;
}

#define SECRET "ya29.a0AfH6SMBx-access-token-value-1234567890"

/*
 * strdup, failing on demand: this definition in the test program wins over
 * libc's for the library objects linked into it, so log_redact_add's copy
 * of a secret can fail as it would when memory runs out
 */
static int strdup_fails;

char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (strdup_fails) {
		errno = ENOMEM;
		return NULL;
	}
	p = malloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

#define LOST "refresh-token-that-could-not-be-recorded-42"

static void
log_after_a_lost_secret(void)
{
	log_warnx("token: %s refused", LOST);
	log_warnx("an ordinary line");
}

/* log.h: a secret that cannot be recorded drops the lines (fail closed) */
static void
test_log_fails_closed_when_a_secret_cannot_be_recorded(void **state)
{
	char line[128], *out;

	(void)state;
	log_redact_clear();
	log_redact_add(SECRET);
	strdup_fails = 1;
	log_redact_add(LOST);
	strdup_fails = 0;
	out = capture_stderr(log_after_a_lost_secret);
	assert_null(strstr(out, LOST));
	assert_null(strstr(out, "refresh-token"));
	assert_null(strstr(out, "an ordinary line"));
	/* one fixed notice, holding no secret */
	assert_string_equal(out,
	    "log: a secret could not be recorded for "
	    "redaction (out of memory): log lines are dropped from now on\n");
	free(out);
	snprintf(line, sizeof(line), "code=%s", LOST);
	log_redact(line, sizeof(line));
	assert_string_equal(line, "");
	/* a fresh start (log_redact_clear) logs again */
	log_redact_clear();
	out = capture_stderr(log_after_a_lost_secret);
	assert_non_null(strstr(out, "an ordinary line"));
	free(out);
	log_redact_clear();
}

static void
log_some_lines(void)
{
	log_init(LOG_LEVEL_WARN);
	log_info("info line must not appear");
	log_warnx("token: 'Bearer %s' refused", SECRET);
	errno = ENOENT;
	log_warn("cannot open 'x'");
	log_init(LOG_LEVEL_INFO);
}

static void
test_log_lines_are_redacted_and_filtered_by_level(void **state)
{
	char *out;

	(void)state;
	log_redact_add(SECRET);
	out = capture_stderr(log_some_lines);
	log_redact_clear();
	assert_null(strstr(out, "info line"));
	assert_null(strstr(out, SECRET));
	assert_null(strstr(out, "access-token"));
	assert_non_null(strstr(out, " warn token: 'Bearer [redacted]' "
				    "refused\n"));
	assert_non_null(strstr(out, " warn cannot open 'x': No such file or "
				    "directory\n"));
	/* 2026-01-02T03:04:05Z warn ... */
	assert_true(strlen(out) > 21);
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[19], 'Z');
	assert_int_equal(out[20], ' ');
	free(out);
}

static void
test_log_redact_replaces_secret_inside_longer_line(void **state)
{
	char line[256];

	(void)state;
	log_redact_add(SECRET);
	snprintf(line, sizeof(line), "POST body refresh_token=%s&x=%s!", SECRET,
	    SECRET);
	log_redact(line, sizeof(line));
	assert_string_equal(line,
	    "POST body refresh_token=[redacted]&x=[redacted]!");
	/* short secrets are ignored, clear forgets */
	log_redact_add("abc");
	snprintf(line, sizeof(line), "abc");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "abc");
	log_redact_clear();
	snprintf(line, sizeof(line), "x %s", SECRET);
	log_redact(line, sizeof(line));
	assert_string_equal(line, "x " SECRET);
}

static void
test_log_redact_truncates_to_buffer(void **state)
{
	char line[16];

	(void)state;
	log_redact_add("abcd");
	snprintf(line, sizeof(line), "abcd abcd abcd");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "[redacted] [red");
	log_redact_clear();
}

static void
test_kw_err_set_redacts_secrets(void **state)
{
	struct kw_err err = { 0 };

	(void)state;
	log_redact_add(SECRET);
	kw_err_set(&err, "token endpoint said: {\"access_token\":\"%s\"}",
	    SECRET);
	log_redact_clear();
	assert_null(strstr(err.msg, "access-token"));
	assert_non_null(strstr(err.msg, "[redacted]"));
}

/*
 * KNOWN BUG (src/util.c kw_err_set, and likewise src/log.c vlog): the
 * message is truncated to its buffer BEFORE redaction, so a secret that
 * straddles the end is no longer matched and its first part is kept.
 */
static void
test_kw_err_truncation_does_not_leak_secret_prefix(void **state)
{
	struct kw_err err = { 0 };
	char pad[KW_ERR_MAX];

	(void)state;
	memset(pad, 'x', sizeof(pad));
	pad[KW_ERR_MAX - 30] = '\0';
	log_redact_add(SECRET);
	kw_err_set(&err, "%s %s", pad, SECRET);
	log_redact_clear();
	if (strstr(err.msg, "ya29.a0AfH6") != NULL)
		fail_msg("secret prefix leaked: ...%s",
		    err.msg + strlen(err.msg) - 40);
}

/*
 * KNOWN BUG (src/log.c log_redact): secrets are tried in registration
 * order, so a shorter secret that is a prefix of a longer one hides only
 * that prefix and the rest of the longer secret is printed.
 */
static void
test_log_redact_stays_bounded_but_keeps_the_first_secrets(void **state)
{
	char name[32], line[128];
	int i;

	(void)state;
	log_redact_clear();
	log_redact_add("client-secret-first");
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "access-token-%04d", i);
		log_redact_add(name);
	}
	snprintf(line, sizeof(line), "a client-secret-first b");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "a [redacted] b");
	/* the newest tokens are still hidden */
	snprintf(line, sizeof(line), "x access-token-1999 y");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "x [redacted] y");
	/* a long-dead token from the middle was forgotten: the list is bounded */
	snprintf(line, sizeof(line), "x access-token-0500 y");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "x access-token-0500 y");
	log_redact_clear();
}

static void
test_log_redact_hides_longer_secret_sharing_a_prefix(void **state)
{
	char line[128];

	(void)state;
	log_redact_add("abcd1234");
	log_redact_add("abcd1234EXTRA5678");
	snprintf(line, sizeof(line), "token=abcd1234EXTRA5678 end");
	log_redact(line, sizeof(line));
	log_redact_clear();
	if (strstr(line, "EXTRA5678") != NULL)
		fail_msg("leaked: %s", line);
}

/* ---- buf ---- */

static void
test_buf_cap_refuses_overflow_and_keeps_content(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, "wxyz", 4), -1);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "hello");
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_string_equal(b.data, "helloabc");
	assert_int_equal(buf_puts(&b, "!"), -1);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 8);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_append(&b, (const char *)-1, SIZE_MAX), -1);
	buf_release(&b);
	assert_null(b.data);
}

static void
test_buf_grows_without_cap_and_detaches(void **state)
{
	struct buf b;
	char *s;
	size_t len, i;

	(void)state;
	buf_init(&b, 0);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_printf(&b, "%04zu", i), 0);
	assert_int_equal(b.len, 4000);
	assert_int_equal(strncmp(b.data + 3996, "0999", 4), 0);
	assert_int_equal(buf_printf(&b, "%0600d", 7), 0); /* > 256 bytes */
	assert_int_equal(b.len, 4600);
	assert_int_equal(b.data[4599], '7');
	assert_int_equal(b.data[4600], '\0');
	s = buf_detach(&b, &len);
	assert_int_equal(len, 4600);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
	/* the buffer is reusable after detach */
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	buf_release(&b);
}

/* ---- item ---- */

static void
test_item_list_copies_and_grows(void **state)
{
	struct item_list l;
	char text[32];
	size_t i;

	(void)state;
	item_list_init(&l);
	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "t%zu", i);
		assert_int_equal(
		    item_list_add(&l, text, i % 2 ? "https://x/" : NULL), 0);
	}
	strcpy(text, "changed");
	assert_int_equal(l.n, 100);
	assert_string_equal(l.v[99].text, "t99");
	assert_string_equal(l.v[99].link, "https://x/");
	assert_null(l.v[98].link);
	assert_int_equal(item_list_add_take(&l, NULL, strdup("x")), -1);
	assert_int_equal(l.n, 100);
	assert_int_equal(item_list_add_take(&l, strdup("taken"), NULL), 0);
	assert_string_equal(l.v[100].text, "taken");
	item_list_release(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
}

/* field_set: item_field_set_take with a heap copy of `value` (NULL: none) */
static int
field_set(struct item *it, const char *name, const char *value)
{
	char *v = NULL;

	if (value != NULL) {
		v = strdup(value);
		assert_non_null(v);
	}
	return item_field_set_take(it, name, v);
}

/* same_fields: the same field names with byte-equal values, in any order */
static bool
same_fields(const struct item *a, const struct item *b)
{
	const char *v;
	size_t i;

	if (a->nfields != b->nfields)
		return false;
	for (i = 0; i < a->nfields; i++) {
		v = item_field(b, a->fields[i].name);
		if (v == NULL || strcmp(v, a->fields[i].value) != 0)
			return false;
	}
	return true;
}

/* fields: set, replace, remove, cut, copy, compare, release */
static void
test_item_fields(void **state)
{
	struct item_list l, c;
	struct item *it;
	char big[ITEM_FIELD_MAX + 10];
	size_t i;

	(void)state;
	item_list_init(&l);
	item_list_init(&c);
	assert_int_equal(item_list_add(&l, "특가 SSD", "https://x/1"), 0);
	it = &l.v[0];
	assert_int_equal(it->nfields, 0);
	assert_null(item_field(it, "price"));
	assert_int_equal(field_set(it, "price", "12,900원"), 0);
	assert_int_equal(field_set(it, "shop", "G마켓"), 0);
	assert_string_equal(item_field(it, "price"), "12,900원");
	assert_string_equal(item_get(it, "title"), "특가 SSD");
	assert_string_equal(item_get(it, "link"), "https://x/1");
	assert_string_equal(item_get(it, "shop"), "G마켓");
	/* replace keeps the order; empty removes */
	assert_int_equal(field_set(it, "price", "9,900원"), 0);
	assert_int_equal(it->nfields, 2);
	assert_string_equal(it->fields[0].name, "price");
	assert_string_equal(it->fields[0].value, "9,900원");
	assert_int_equal(field_set(it, "price", ""), 0);
	assert_int_equal(it->nfields, 1);
	assert_string_equal(it->fields[0].name, "shop");
	assert_int_equal(field_set(it, "price", "9,900원"), 0);
	/* names: the rule, and title/link/and/or/not are not fields */
	assert_int_equal(field_set(it, "title", "x"), -1);
	assert_int_equal(field_set(it, "link", "x"), -1);
	assert_int_equal(field_set(it, "or", "x"), -1);
	assert_int_equal(field_set(it, "9lives", "x"), -1);
	assert_int_equal(field_set(it, "a-b", "x"), -1);
	assert_int_equal(field_set(it, "", "x"), -1);
	assert_true(item_field_name_valid("_comments2"));
	assert_false(item_field_name_valid(
	    "a23456789012345678901234567890123")); /* 33 bytes */
	assert_int_equal(it->nfields, 2);
	/* a long value is cut on a character boundary (3-byte Hangul) */
	for (i = 0; i + 3 <= sizeof(big) - 1; i += 3)
		memcpy(big + i, "가", 3);
	big[i] = '\0';
	assert_int_equal(field_set(it, "note", big), 0);
	assert_int_equal(strlen(item_field(it, "note")),
	    ITEM_FIELD_MAX / 3 * 3);
	/* a URL too long for the limit is not cut but dropped */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(field_set(it, "image", big), 0);
	assert_null(item_field(it, "image"));
	assert_int_equal(field_set(it, "image", "https://x/i.jpg"), 0);
	/* deep copy, equal in any order */
	assert_int_equal(item_list_add_copy(&c, it), 0);
	assert_int_equal(c.v[0].nfields, 4);
	assert_ptr_not_equal(c.v[0].fields[0].value, it->fields[0].value);
	assert_true(same_fields(&c.v[0], it));
	assert_int_equal(field_set(&c.v[0], "shop", ""), 0);
	assert_int_equal(field_set(&c.v[0], "shop", "G마켓"), 0);
	assert_string_equal(c.v[0].fields[3].name, "shop");
	assert_true(same_fields(&c.v[0], it));
	assert_int_equal(field_set(&c.v[0], "shop", "11번가"), 0);
	assert_false(same_fields(&c.v[0], it));
	assert_true(item_equal(&c.v[0], it)); /* fields are not identity */
	/* the cap on fields per item */
	for (i = 4; i < ITEM_FIELDS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%zu", i);
		assert_int_equal(field_set(&c.v[0], name, "v"), 0);
	}
	assert_int_equal(field_set(&c.v[0], "one_more", "v"), -1);
	assert_int_equal(c.v[0].nfields, ITEM_FIELDS_MAX);
	assert_int_equal(field_set(&c.v[0], "shop", "v"), 0);
	item_list_truncate(&c, 0);
	assert_int_equal(c.n, 0);
	item_list_release(&c);
	item_list_release(&l);
}

static void
test_item_equal_is_text_and_link(void **state)
{
	struct item a = { .text = "t", .link = "https://a" };
	struct item b = { .text = "t", .link = "https://a" };
	struct item c = { .text = "t", .link = NULL };
	struct item d = { .text = "t", .link = NULL };
	struct item e = { .text = "u", .link = "https://a" };
	struct item f = { .text = "t", .link = "https://b" };

	(void)state;
	assert_int_equal(item_equal(&a, &b), 1);
	assert_int_equal(item_equal(&c, &d), 1);
	assert_int_equal(item_equal(&a, &c), 0);
	assert_int_equal(item_equal(&c, &a), 0);
	assert_int_equal(item_equal(&a, &e), 0);
	assert_int_equal(item_equal(&a, &f), 0);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)

static void
test_util_dirname_is_the_part_before_the_last_slash(void **state)
{
	static const char *const cases[][2] = {
		{ "/etc/kakaowatch.yaml", "/etc" },
		{ "/x", "/" },
		{ "kakaowatch.yaml", "." },
		{ "a/b/c", "a/b" },
		{ "./c.yaml", "." },
		{ "/state/kakao_token.json", "/state" },
	};
	char *d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = util_dirname(cases[i][0]);
		assert_non_null(d);
		assert_string_equal(d, cases[i][1]);
		free(d);
	}
}

static void
test_util_random_unit_is_in_range_and_spread(void **state)
{
	double v, sum = 0, lo = 1, hi = 0;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		v = util_random_unit();
		assert_true(v >= 0 && v < 1);
		sum += v;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	/* the mean of 10,000 uniform draws is 0.5 +- 0.003 (1 sigma) */
	assert_true(sum / 10000 > 0.48 && sum / 10000 < 0.52);
	assert_true(lo < 0.01 && hi > 0.99);
}

static void
test_util_wipe_free_zeroes_and_frees(void **state)
{
	char buf[8] = "secret!";

	(void)state;
	util_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, "\0\0\0\0\0\0\0\0", 8);
	util_wipe(NULL, 4);
	util_wipe_free(NULL);
	util_wipe_free(strdup("refresh-token")); /* ASan: freed once */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_parse_int_accepts_and_rejects),
		cmocka_unit_test(test_util_parse_duration_accepts_and_rejects),
		cmocka_unit_test(test_util_parse_size_accepts_and_rejects),
		cmocka_unit_test(test_util_parse_percent_accepts_and_rejects),
		cmocka_unit_test(
		    test_util_parse_percent_rejects_hex_and_exponent),
		cmocka_unit_test(test_util_parse_bool_accepts_yaml_spellings),
		cmocka_unit_test(test_util_err_first_message_wins),
		TMP_TEST(
		    test_util_write_file_atomic_writes_content_with_mode_0600),
		TMP_TEST(test_util_write_file_atomic_keeps_previous_as_bak),
		TMP_TEST(test_util_write_file_atomic_fails_cleanly_without_dir),
		TMP_TEST(test_util_write_file_atomic_leaves_no_temp_file),
		TMP_TEST(test_util_read_file_respects_cap),
		TMP_TEST(test_util_read_file_reads_large_and_empty_files),
		TMP_TEST(test_util_read_file_missing_file_names_it),
		TMP_TEST(test_util_mkdir_p_creates_parents),
		cmocka_unit_test(
		    test_util_path_join_handles_slashes_and_absolute),
		cmocka_unit_test(test_util_url_decode_rejects_bad_escapes),
		cmocka_unit_test(test_util_random_hex_gives_distinct_hex),
		cmocka_unit_test(test_util_clocks_move_forward),
		cmocka_unit_test(
		    test_log_lines_are_redacted_and_filtered_by_level),
		cmocka_unit_test(
		    test_log_fails_closed_when_a_secret_cannot_be_recorded),
		cmocka_unit_test(
		    test_util_dirname_is_the_part_before_the_last_slash),
		cmocka_unit_test(test_util_random_unit_is_in_range_and_spread),
		cmocka_unit_test(test_util_wipe_free_zeroes_and_frees),
		cmocka_unit_test(
		    test_log_redact_replaces_secret_inside_longer_line),
		cmocka_unit_test(test_log_redact_truncates_to_buffer),
		cmocka_unit_test(
		    test_log_redact_stays_bounded_but_keeps_the_first_secrets),
		cmocka_unit_test(test_kw_err_set_redacts_secrets),
		cmocka_unit_test(
		    test_kw_err_truncation_does_not_leak_secret_prefix),
		cmocka_unit_test(
		    test_log_redact_hides_longer_secret_sharing_a_prefix),
		cmocka_unit_test(
		    test_buf_cap_refuses_overflow_and_keeps_content),
		cmocka_unit_test(test_buf_grows_without_cap_and_detaches),
		cmocka_unit_test(test_item_list_copies_and_grows),
		cmocka_unit_test(test_item_equal_is_text_and_link),
		cmocka_unit_test(test_item_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
