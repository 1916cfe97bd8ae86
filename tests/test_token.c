/* tests for token: the token file and the refresh policy */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "kakaowatch/log.h"
#include "kakaowatch/token.h"
#include "kakaowatch/util.h"

/* a scratch directory per test */
struct scratch {
	char dir[64];
	char path[PATH_MAX]; /* dir/token.json */
	char bak[PATH_MAX];  /* dir/token.json.bak */
};

static int
setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snprintf(s->dir, sizeof(s->dir), "/tmp/kw-token-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/token.json", s->dir);
	snprintf(s->bak, sizeof(s->bak), "%s/token.json.bak", s->dir);
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct scratch *s = *state;

	unlink(s->path);
	unlink(s->bak);
	rmdir(s->dir);
	free(s);
	return 0;
}

/* copy fixture tests/data/token/NAME to `dest` with `mode` */
static void
copy_fixture(const char *name, const char *dest, mode_t mode)
{
	char src[PATH_MAX];
	const char *dir = getenv("KW_DATA_DIR");
	struct kw_err err = { 0 };
	size_t len;
	char *data;

	assert_non_null(dir);
	snprintf(src, sizeof(src), "%s/token/%s", dir, name);
	data = util_read_file(src, 1 << 20, &len, &err);
	assert_non_null(data);
	assert_int_equal(
	    util_write_file_atomic(dest, data, len, mode, false, &err), 0);
	free(data);
}

static void
set_mtime(const char *path, int64_t t)
{
	struct timeval tv[2] = { { (time_t)t, 0 }, { (time_t)t, 0 } };

	assert_int_equal(utimes(path, tv), 0);
}

static const char *response_full =
    "{\"token_type\":\"bearer\",\"access_token\":\"respAccess0001\","
    "\"expires_in\":21599,\"refresh_token\":\"respRefresh0001\","
    "\"refresh_token_expires_in\":5183999,\"scope\":\"talk_message\","
    "\"id_token\":\"respIdToken0001\"}";

static void
test_token_save_then_load_gives_the_same_token(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };
	struct stat st;
	char *text;

	assert_int_equal(token_apply_response(&t, response_full, 1000000, &err),
	    0);
	assert_int_equal(token_save(s->path, &t, &err), 0);
	assert_int_equal(stat(s->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(token_load(s->path, &u, &err), 0);
	assert_string_equal(u.access_token, "respAccess0001");
	assert_string_equal(u.refresh_token, "respRefresh0001");
	assert_string_equal(u.token_type, "bearer");
	assert_string_equal(u.scope, "talk_message");
	assert_int_equal(u.expires_in, 21599);
	assert_int_equal(u.refresh_token_expires_in, 5183999);
	assert_int_equal(u.access_token_expires_at, 1000000 + 21599);
	assert_int_equal(u.refresh_token_expires_at, 1000000 + 5183999);

	/* the seed format is kept: the file is the token response plus the
	 * two *_expires_at fields, and unknown fields survive */
	text = util_read_file(s->path, 1 << 16, NULL, &err);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"id_token\": \"respIdToken0001\""));
	assert_non_null(strstr(text, "\"access_token_expires_at\": 1021599"));
	free(text);
	token_release(&t);
	token_release(&u);
}

static void
test_token_save_keeps_the_previous_file_as_bak(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 }, old = { 0 };
	struct kw_err err = { 0 };
	struct stat st;

	assert_int_equal(token_apply_response(&t, response_full, 1000, &err),
	    0);
	assert_int_equal(token_save(s->path, &t, &err), 0);
	assert_int_equal(
	    token_apply_response(&t,
		"{\"access_token\":\"respAccess0002\",\"token_type\":\"bearer\","
		"\"expires_in\":21599}",
		2000, &err),
	    0);
	assert_int_equal(token_save(s->path, &t, &err), 0);

	assert_int_equal(stat(s->bak, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(token_load(s->bak, &old, &err), 0);
	assert_string_equal(old.access_token, "respAccess0001");
	token_release(&old);
	assert_int_equal(token_load(s->path, &old, &err), 0);
	assert_string_equal(old.access_token, "respAccess0002");
	token_release(&old);
	token_release(&t);
}

static void
test_token_load_refuses_file_readable_by_others(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char want[3 * PATH_MAX];

	copy_fixture("full_token.json", s->path, 0644);
	assert_int_equal(token_load(s->path, &t, &err), -1);
	snprintf(want, sizeof(want),
	    "'%s' is readable by group or others; run: chmod 600 '%s'", s->path,
	    s->path);
	assert_string_equal(err.msg, want);
	assert_null(t.access_token);

	/* group-readable only is refused too; 0600 and 0400 are fine */
	kw_err_clear(&err);
	assert_int_equal(chmod(s->path, 0640), 0);
	assert_int_equal(token_load(s->path, &t, &err), -1);
	assert_int_equal(chmod(s->path, 0400), 0);
	assert_int_equal(token_load(s->path, &t, &err), 0);
	token_release(&t);
}

/* a token file that is a symbolic link (someone pointed it at a file of
 * theirs, or of yours) is neither read nor written through */
static void
test_token_load_refuses_a_symlinked_token_file(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char victim[PATH_MAX], want[3 * PATH_MAX], *before, *after;
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/elsewhere.json", s->dir);
	copy_fixture("full_token.json", victim, 0600);
	assert_int_equal(symlink(victim, s->path), 0);
	errno = 0;
	assert_int_equal(token_load(s->path, &t, &err), -1);
	assert_int_equal(errno, ELOOP);
	snprintf(want, sizeof(want), "token file '%s' is a symbolic link",
	    s->path);
	assert_non_null(strstr(err.msg, want));
	assert_null(t.access_token);
	assert_null(t.refresh_token);

	/* a save replaces the link; the file it pointed at stays as it was */
	before = util_read_file(victim, 1 << 16, NULL, &err);
	assert_non_null(before);
	assert_int_equal(token_apply_response(&t, response_full, 1000, &err),
	    0);
	assert_int_equal(token_save(s->path, &t, &err), 0);
	assert_int_equal(lstat(s->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	after = util_read_file(victim, 1 << 16, NULL, &err);
	assert_non_null(after);
	assert_string_equal(before, after);
	free(before);
	free(after);
	token_release(&t);
	assert_int_equal(token_load(s->path, &t, &err), 0);
	assert_string_equal(t.access_token, "respAccess0001");
	token_release(&t);
	unlink(victim);
}

static void
test_token_load_accepts_seed_tutorial_file(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	const int64_t written = 1700000000;

	copy_fixture("seed_token.json", s->path, 0600);
	set_mtime(s->path, written);
	assert_int_equal(token_load(s->path, &t, &err), 0);
	assert_string_equal(t.access_token, "seedAccessTokenAAAA1111");
	assert_string_equal(t.refresh_token, "seedRefreshTokenRRRR2222");
	assert_string_equal(t.scope, "talk_message");
	/* no *_expires_at: estimated from the file's mtime */
	assert_int_equal(t.access_token_expires_at, written + 21599);
	assert_int_equal(t.refresh_token_expires_at, written + 5183999);
	/* written a minute ago: no refresh yet; an hour ago: refresh */
	assert_false(token_refresh_due(&t, written + 60, 300));
	assert_true(token_refresh_due(&t, written + 3600, 300));
	token_release(&t);
}

static void
test_token_load_keeps_stored_expiry_and_unknown_fields(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *text;

	copy_fixture("full_token.json", s->path, 0600);
	set_mtime(s->path, 1000);
	assert_int_equal(token_load(s->path, &t, &err), 0);
	assert_int_equal(t.access_token_expires_at, 1800021599);
	assert_int_equal(t.refresh_token_expires_at, 1805183999);
	assert_string_equal(t.scope, "talk_message profile_nickname");
	assert_int_equal(token_save(s->path, &t, &err), 0);
	text = util_read_file(s->path, 1 << 16, NULL, &err);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"id_token\": \"fullIdTokenIIII5555\""));
	assert_non_null(strstr(text, "\"kept\": true"));
	free(text);
	token_release(&t);
}

static void
test_token_load_missing_file_says_enoent(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };

	assert_int_equal(token_load(s->path, &t, &err), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err.msg, s->path));
}

static void
test_token_load_rejects_broken_files(void **state)
{
	static const struct {
		const char *fixture;
		const char *says;
	} cases[] = {
		{ "no_refresh_token.json", "no usable refresh_token; run "
					   "`kakaowatch auth`" },
		{ "bad_types.json", "must be whole numbers of seconds" },
		{ "not_json.json", "bad token file" },
	};
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kw_err_clear(&err);
		copy_fixture(cases[i].fixture, s->path, 0600);
		assert_int_equal(token_load(s->path, &t, &err), -1);
		assert_int_not_equal(errno, ENOENT);
		if (strstr(err.msg, cases[i].says) == NULL)
			fail_msg("%s: '%s' lacks '%s'", cases[i].fixture,
			    err.msg, cases[i].says);
		assert_null(t.refresh_token);
		/* a broken file's content is never quoted back */
		assert_null(strstr(err.msg, "refresh_token=def"));
	}
}

static void
test_token_apply_response_rotates_refresh_token(void **state)
{
	struct token t = { 0 };
	struct kw_err err = { 0 };

	(void)state;
	assert_int_equal(token_apply_response(&t, response_full, 1000, &err),
	    0);
	/* under a month left: Kakao sends a new refresh token */
	assert_int_equal(
	    token_apply_response(&t,
		"{\"access_token\":\"respAccess0003\",\"token_type\":\"bearer\","
		"\"expires_in\":43199,\"refresh_token\":\"respRefresh0003\","
		"\"refresh_token_expires_in\":5184000}",
		5000, &err),
	    0);
	assert_string_equal(t.access_token, "respAccess0003");
	assert_string_equal(t.refresh_token, "respRefresh0003");
	assert_int_equal(t.expires_in, 43199);
	assert_int_equal(t.access_token_expires_at, 5000 + 43199);
	assert_int_equal(t.refresh_token_expires_in, 5184000);
	assert_int_equal(t.refresh_token_expires_at, 5000 + 5184000);
	/* scope was not in the refresh response: kept */
	assert_string_equal(t.scope, "talk_message");
	token_release(&t);
}

static void
test_token_apply_response_keeps_old_refresh_token_when_absent(void **state)
{
	struct token t = { 0 };
	struct kw_err err = { 0 };

	(void)state;
	assert_int_equal(token_apply_response(&t, response_full, 1000, &err),
	    0);
	assert_int_equal(
	    token_apply_response(&t,
		"{\"access_token\":\"respAccess0004\",\"token_type\":\"bearer\","
		"\"expires_in\":21599}",
		7000, &err),
	    0);
	assert_string_equal(t.access_token, "respAccess0004");
	assert_int_equal(t.access_token_expires_at, 7000 + 21599);
	assert_string_equal(t.refresh_token, "respRefresh0001");
	assert_int_equal(t.refresh_token_expires_at, 1000 + 5183999);
	assert_int_equal(t.refresh_token_expires_in, 5183999);
	assert_string_equal(t.scope, "talk_message");
	token_release(&t);
}

static void
test_token_apply_response_rejects_bad_response_unchanged(void **state)
{
	static const char *const bad[] = {
		"{\"token_type\":\"bearer\",\"expires_in\":21599}",
		"{\"access_token\":\"x y z w\",\"expires_in\":21599}",
		"{\"access_token\":\"respAccess0005\"}",
		"{\"access_token\":\"respAccess0005\",\"expires_in\":\"1\"}",
		"[1,2]",
		"{\"error\":\"invalid_grant\",\"error_code\":\"KOE322\"}",
		"not json",
	};
	struct token t = { 0 };
	struct kw_err err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(token_apply_response(&t, response_full, 1000, &err),
	    0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kw_err_clear(&err);
		assert_int_equal(token_apply_response(&t, bad[i], 9000, &err),
		    -1);
		assert_true(err.set);
		assert_string_equal(t.access_token, "respAccess0001");
		assert_string_equal(t.refresh_token, "respRefresh0001");
		assert_int_equal(t.access_token_expires_at, 1000 + 21599);
	}
	token_release(&t);
}

static void
test_token_secrets_never_reach_error_messages(void **state)
{
	struct scratch *s = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };

	copy_fixture("full_token.json", s->path, 0600);
	assert_int_equal(token_load(s->path, &t, &err), 0);
	kw_err_set(&err, "a=%s r=%s", t.access_token, t.refresh_token);
	assert_string_equal(err.msg, "a=[redacted] r=[redacted]");
	kw_err_clear(&err);
	kw_err_set(&err, "id=%s", "fullIdTokenIIII5555");
	assert_string_equal(err.msg, "id=[redacted]");
	token_release(&t);
}

static void
test_token_refresh_due_policy(void **state)
{
	const int64_t now = 1000000;
	static const struct {
		const char *what;
		bool has_access;
		int64_t expires_at_rel; /* relative to now; 0: unknown */
		int64_t expires_in;
		int64_t min_interval;
		bool due;
	} cases[] = {
		{ "no access token", false, 21599, 21599, 300, true },
		{ "expiry unknown", true, 0, 21599, 300, true },
		{ "expired", true, -1, 21599, 300, true },
		{ "9 min left", true, 9 * 60, 21599, 300, true },
		{ "exactly 10 min left", true, 10 * 60, 21599, 300, true },
		{ "11 min left, refreshed hours ago", true, 11 * 60, 21599, 300,
		    true },
		{ "fresh, last refresh 1 min ago", true, 21599 - 60, 21599, 300,
		    false },
		{ "fresh, last refresh 4:59 ago", true, 21599 - 299, 21599, 300,
		    false },
		{ "fresh, last refresh exactly 5 min ago", true, 21599 - 300,
		    21599, 300, true },
		{ "fresh, last refresh 6 min ago", true, 21599 - 360, 21599,
		    300, true },
		{ "fresh, lifetime unknown", true, 21599 - 60, 0, 300, true },
		{ "fresh, no minimum interval", true, 21599, 21599, 0, true },
		{ "fresh, 1 h interval, refreshed 30 min ago", true,
		    21599 - 1800, 21599, 3600, false },
	};
	struct token t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&t, 0, sizeof(t));
		t.access_token = cases[i].has_access ? "tok" : NULL;
		t.access_token_expires_at = cases[i].expires_at_rel == 0 ?
						0 :
						now + cases[i].expires_at_rel;
		t.expires_in = cases[i].expires_in;
		t.refresh_token = "refresh";
		if (token_refresh_due(&t, now, cases[i].min_interval) !=
		    cases[i].due)
			fail_msg("%s: expected due=%d", cases[i].what,
			    cases[i].due);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_token_save_then_load_gives_the_same_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_save_keeps_the_previous_file_as_bak, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_refuses_file_readable_by_others, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_refuses_a_symlinked_token_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_accepts_seed_tutorial_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_keeps_stored_expiry_and_unknown_fields,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_missing_file_says_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_token_load_rejects_broken_files, setup, teardown),
		cmocka_unit_test(
		    test_token_apply_response_rotates_refresh_token),
		cmocka_unit_test(
		    test_token_apply_response_keeps_old_refresh_token_when_absent),
		cmocka_unit_test(
		    test_token_apply_response_rejects_bad_response_unchanged),
		cmocka_unit_test_setup_teardown(
		    test_token_secrets_never_reach_error_messages, setup,
		    teardown),
		cmocka_unit_test(test_token_refresh_due_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
