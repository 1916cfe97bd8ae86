/* tests for the regex module (PCRE2 wrapper) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kakaowatch/regex.h"

static struct regex *
must_compile(const char *pattern, unsigned flags)
{
	struct kw_err err = { 0 };
	struct regex *re = regex_compile(pattern, flags, NULL, &err);

	if (re == NULL)
		fail_msg("'%s' did not compile: %s", pattern, err.msg);
	return re;
}

/* group i of the first match of `re` in `s`, or NULL; caller frees */
static char *
first_group(struct regex *re, const char *s, size_t i)
{
	struct regex_groups g;
	struct kw_err err = { 0 };
	int rc;

	rc = regex_match(re, s, strlen(s), 0, &g, &err);
	assert_int_not_equal(rc, -1);
	if (rc == 0)
		return NULL;
	return regex_group_dup(&g, s, i, NULL);
}

static void
test_regex_captures_first_group(void **state)
{
	struct regex *re = must_compile("[?&]wr_id=(\\d+)", 0);
	char *g;

	(void)state;
	assert_int_equal(regex_capture_count(re), 1);
	assert_string_equal(regex_pattern(re), "[?&]wr_id=(\\d+)");
	g = first_group(re,
	    "https://x.example/bbs/board.php?bo_table=free&wr_id=1234&page=2",
	    1);
	assert_non_null(g);
	assert_string_equal(g, "1234");
	free(g);
	g = first_group(re, "https://x.example/bbs/board.php?bo_table=free", 1);
	assert_null(g);
	regex_free(re);
}

static void
test_regex_reports_offsets_of_groups(void **state)
{
	struct regex *re = must_compile("(a)|(b)", 0);
	struct regex_groups g;
	struct kw_err err = { 0 };

	(void)state;
	assert_int_equal(regex_match(re, "xxb", 3, 0, &g, &err), 1);
	assert_int_equal(g.n, 3);
	assert_true(g.v[0].set);
	assert_int_equal(g.v[0].start, 2);
	assert_int_equal(g.v[0].end, 3);
	assert_false(g.v[1].set); /* the untaken side */
	assert_null(regex_group_dup(&g, "xxb", 1, NULL));
	assert_true(g.v[2].set);
	assert_int_equal(g.v[2].start, 2);
	/* a start offset skips earlier matches */
	assert_int_equal(regex_match(re, "axb", 3, 1, &g, &err), 1);
	assert_int_equal(g.v[0].start, 2);
	/* beyond the text is an error, not a crash */
	assert_int_equal(regex_match(re, "ab", 2, 3, &g, &err), -1);
	assert_true(err.set);
	regex_free(re);
}

static void
test_regex_compile_error_has_message_and_column(void **state)
{
	struct regex_error where;
	struct kw_err err = { 0 };
	struct regex *re;

	(void)state;
	re = regex_compile("wr_id=(\\d+", 0, &where, &err);
	assert_null(re);
	assert_true(err.set);
	assert_non_null(strstr(err.msg, "missing closing parenthesis"));
	assert_int_equal(where.offset, 10); /* at the end of the pattern */
	assert_int_equal(where.column, 10);

	/* the column counts characters: the error is after two Hangul
	 * syllables (6 bytes) and the '*' */
	kw_err_clear(&err);
	re = regex_compile("제목(*", 0, &where, &err);
	assert_null(re);
	assert_true(err.set);
	assert_true(where.offset > where.column);
	assert_int_equal(where.offset - where.column, 4);

	kw_err_clear(&err);
	assert_null(regex_compile("*abc", 0, &where, &err));
	assert_non_null(strstr(err.msg, "quantifier does not follow"));
	assert_int_equal(where.column, 0);

	kw_err_clear(&err);
	assert_null(regex_compile(NULL, 0, &where, &err));
	assert_true(err.set);
}

static void
test_regex_is_utf8_aware(void **state)
{
	struct regex *re;
	char *g;

	(void)state;
	/* '.' is one character, not one byte */
	re = must_compile("^(.)", 0);
	g = first_group(re, "특가 [3]", 1);
	assert_string_equal(g, "특");
	free(g);
	regex_free(re);

	/* caseless folds beyond ASCII */
	re = must_compile("straße|ÉTÉ", REGEX_CASELESS);
	assert_int_equal(
	    regex_match(re, "été 2026", strlen("été 2026"), 0, NULL, NULL), 1);
	regex_free(re);

	/* invalid UTF-8 in the subject is skipped, not an error */
	re = must_compile("no=(\\d+)", 0);
	g = first_group(re, "\xff\xfe no=42 \xc3", 1);
	assert_string_equal(g, "42");
	free(g);
	regex_free(re);
}

static void
test_regex_refuses_invalid_utf8_pattern(void **state)
{
	struct kw_err err = { 0 };

	(void)state;
	assert_null(regex_compile("ab\xff", 0, NULL, &err));
	assert_true(err.set);
	kw_err_clear(&err);
	/* \C could split a character: never allowed */
	assert_null(regex_compile("a\\Cb", 0, NULL, &err));
	assert_true(err.set);
}

static void
test_regex_matches_with_nul_and_length(void **state)
{
	struct regex *re = must_compile("b", 0);
	const char s[] = { 'a', '\0', 'b' };

	(void)state;
	assert_int_equal(regex_match(re, s, sizeof(s), 0, NULL, NULL), 1);
	/* only `len` bytes are looked at */
	assert_int_equal(regex_match(re, s, 2, 0, NULL, NULL), 0);
	assert_int_equal(regex_match(re, NULL, 0, 0, NULL, NULL), 0);
	regex_free(re);
}

static void
test_regex_hostile_pattern_stops_in_bounded_time(void **state)
{
	struct regex *re = must_compile("^(a+)+$", 0);
	struct kw_err err = { 0 };
	struct timespec t0, t1;
	char subject[4096];
	double secs;
	int rc;

	(void)state;
	/* catastrophic backtracking: 2^n paths without a limit */
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = regex_match(re, subject, strlen(subject), 0, NULL, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err.msg, "too complex"));
	assert_non_null(strstr(err.msg, "^(a+)+$"));
	/* generous: the limit is ~0.1 s; without one this is years */
	assert_true(secs < 20.0);
	/* the regex still works after a stopped match */
	assert_int_equal(regex_match(re, "aaa", 3, 0, NULL, NULL), 1);
	regex_free(re);
}

static void
test_regex_reports_at_most_groups_max(void **state)
{
	struct regex *re =
	    must_compile("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", 0);
	struct regex_groups g;
	char *s;

	(void)state;
	assert_int_equal(regex_capture_count(re), 12);
	assert_int_equal(regex_match(re, "abcdefghijkl", 12, 0, &g, NULL), 1);
	assert_int_equal(g.n, REGEX_GROUPS_MAX);
	s = regex_group_dup(&g, "abcdefghijkl", 9, NULL);
	assert_string_equal(s, "i");
	free(s);
	assert_null(regex_group_dup(&g, "abcdefghijkl", 10, NULL));
	regex_free(re);
	regex_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_captures_first_group),
		cmocka_unit_test(test_regex_reports_offsets_of_groups),
		cmocka_unit_test(
		    test_regex_compile_error_has_message_and_column),
		cmocka_unit_test(test_regex_is_utf8_aware),
		cmocka_unit_test(test_regex_refuses_invalid_utf8_pattern),
		cmocka_unit_test(test_regex_matches_with_nul_and_length),
		cmocka_unit_test(
		    test_regex_hostile_pattern_stops_in_bounded_time),
		cmocka_unit_test(test_regex_reports_at_most_groups_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
