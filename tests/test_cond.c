/*
 * test_cond: `when:` condition expressions (cond.h). Expressions are
 * evaluated against small field tables; expected truth values follow from
 * the documented precedence (not > and > or) worked out by hand. Numbers
 * are the forms Korean shop pages print. Bad expressions must fail with a
 * message and the character offset of the offending token.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/cond.h"
#include "kakaowatch/util.h"

/* NULL-terminated name, value pairs */
static const char *
lookup(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static bool
eval(const char *expr, unsigned flags, const char *const *fields, char *reason)
{
	struct kw_err err = { 0 };
	size_t at = 0;
	struct cond *c = cond_parse(expr, flags, &at, &err);
	bool r = false;
	char why[COND_REASON_MAX];

	if (c == NULL)
		fail_msg("'%s' did not parse: %s (at %zu)", expr, err.msg, at);
	if (cond_eval(c, lookup, (void *)fields, &r, reason ? reason : why,
		&err) != 0)
		fail_msg("'%s' failed: %s", expr, err.msg);
	cond_free(c);
	return r;
}

static void
test_numbers(void **state)
{
	static const struct {
		const char *s;
		double v;
	} ok[] = {
		{ "12900", 12900 },
		{ "12,900원", 12900 },
		{ "₩12,900", 12900 },
		{ "￦ 12,900", 12900 },
		{ "\\1,234,567", 1234567 },
		{ "1.2만원", 12000 },
		{ "3천원", 3000 },
		{ "1만", 10000 },
		{ "  300,000 원 ", 300000 },
		{ "1억 2,000만원", 120000000 },
		{ "1만2000원", 12000 },
		{ "2만 5천원", 25000 },
		{ "12.5", 12.5 },
		{ "-3,000원", -3000 },
		{ "0원", 0 },
		{ "12900 KRW", 12900 },
		{ "￦ 2,046,670 (KRW)", 2046670 },
	};
	static const char *bad[] = {
		"",
		"원",
		"무료",
		"문의",
		"12,90원",
		"1,2",
		"12900 KRWX",
		"1천2만",
		"1만 1만",
		"1..2",
		"12,900원 (품절)",
		"₩",
		"-",
		"1234567890123456789",
	};
	double v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (cond_parse_number(ok[i].s, 0, &v) != 0)
			fail_msg("'%s' refused", ok[i].s);
		if (v != ok[i].v)
			fail_msg("'%s' read as %f, want %f", ok[i].s, v,
			    ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cond_parse_number(bad[i], 0, &v) == 0)
			fail_msg("'%s' accepted as %f", bad[i], v);
	assert_int_equal(cond_parse_number("무료", COND_FREE_IS_ZERO, &v), 0);
	assert_true(v == 0);
	assert_int_equal(cond_parse_number(" 무료 ", COND_FREE_IS_ZERO, &v), 0);
	assert_int_equal(cond_parse_number("무료배송", COND_FREE_IS_ZERO, &v),
	    -1);
}

static void
test_comparisons(void **state)
{
	const char *f[] = { "price", "12,900원", "title", "삼성 SSD 1TB 특가",
		"ship", "무료", NULL };

	(void)state;
	assert_true(eval("price <= 12900", 0, f, NULL));
	assert_true(eval("price < 12901", 0, f, NULL));
	assert_false(eval("price < 12900", 0, f, NULL));
	assert_true(eval("price >= 1.2만", 0, f, NULL));
	assert_false(eval("price > 1.3만원", 0, f, NULL));
	assert_true(eval("price == 12,900", 0, f, NULL));
	assert_true(eval("price != 12,901", 0, f, NULL));
	assert_true(eval("price<=₩13,000", 0, f, NULL));
	assert_true(eval("title ~ \"(SSD|NVMe)\"", 0, f, NULL));
	assert_false(eval("title ~ \"nvme\"", 0, f, NULL));
	assert_true(eval("title ~ \"(?i)ssd\"", 0, f, NULL));
	assert_true(eval("title !~ \"HDD\"", 0, f, NULL));
	/* UTF-8 mode: `.` is one character, not one byte */
	assert_true(eval("title ~ \"^.{2} SSD\"", 0, f, NULL));
	assert_false(eval("title ~ \"^.{6} SSD\"", 0, f, NULL));
	assert_true(eval("title == \"삼성 SSD 1TB 특가\"", 0, f, NULL));
	assert_false(eval("title != \"삼성 SSD 1TB 특가\"", 0, f, NULL));
	assert_true(eval("title ~ \"a\\\"b\" or price < 20000", 0, f, NULL));
	/* 무료 only reads as 0 when the caller allows it */
	assert_false(eval("ship == 0", 0, f, NULL));
	assert_true(eval("ship == 0", COND_FREE_IS_ZERO, f, NULL));
}

static void
test_precedence(void **state)
{
	const char *t[] = { "a", "1", "b", "0", NULL }; /* a true-ish */

	(void)state;
	/* a==1 is T, b==1 is F */
	/* or binds looser than and: T or (F and F) = T */
	assert_true(eval("a == 1 or b == 1 and b == 1", 0, t, NULL));
	/* (T or F) and F = F */
	assert_false(eval("(a == 1 or b == 1) and b == 1", 0, t, NULL));
	/* not binds tighter than and: (not F) and T = T */
	assert_true(eval("not b == 1 and a == 1", 0, t, NULL));
	/* not (F and T) = T; not F and F = F */
	assert_true(eval("not (b == 1 and a == 1)", 0, t, NULL));
	assert_false(eval("not b == 1 and b == 1", 0, t, NULL));
	/* F and T or T = (F and T) or T = T; if and were looser: F */
	assert_true(eval("b == 1 and a == 1 or a == 1", 0, t, NULL));
	assert_true(eval("not not a == 1", 0, t, NULL));
	assert_false(eval("((not (a == 1)))", 0, t, NULL));
	/* left associative chains */
	assert_true(eval("b == 1 or b == 1 or a == 1", 0, t, NULL));
	assert_false(eval("a == 1 and a == 1 and b == 1", 0, t, NULL));
}

static void
test_missing(void **state)
{
	const char *f[] = { "price", "품절", "title", "x", NULL };
	char why[COND_REASON_MAX];

	(void)state;
	assert_false(eval("price < 100", 0, f, why));
	assert_string_equal(why, "price '품절' is not a number");
	assert_false(eval("price != 100", 0, f, why));
	assert_false(eval("stock > 0", 0, f, why));
	assert_string_equal(why, "field 'stock' is missing");
	assert_false(eval("stock !~ \"x\"", 0, f, why));
	assert_string_equal(why, "field 'stock' is missing");
	assert_true(eval("title ~ \"x\"", 0, f, why));
	assert_string_equal(why, "");
	/* the first failing comparison gives the reason */
	assert_true(eval("stock > 0 or price < 5 or title ~ \"x\"", 0, f, why));
	assert_string_equal(why, "field 'stock' is missing");
}

static void
expect_error(const char *expr, size_t want_at, const char *want_msg)
{
	struct kw_err err = { 0 };
	size_t at = 999;
	struct cond *c = cond_parse(expr, 0, &at, &err);

	if (c != NULL)
		fail_msg("'%s' was accepted", expr);
	if (!err.set || strstr(err.msg, want_msg) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", expr, err.msg,
		    want_msg);
	if (at != want_at)
		fail_msg("'%s': error at %zu, want %zu (%s)", expr, at, want_at,
		    err.msg);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("", 0, "empty");
	expect_error("   ", 3, "empty");
	expect_error("price <", 7, "needs a number");
	expect_error("price 300", 6, "expected an operator");
	expect_error("price = 300", 6, "unknown operator");
	expect_error("price <= 300 and", 16, "expected a field name");
	expect_error("price <= 300 price", 13, "expected 'and'");
	expect_error("(price <= 300", 0, "never closed");
	expect_error("price <= 300)", 12, "expected 'and'");
	expect_error("price <= 3,00", 9, "bad number");
	expect_error("title ~ 300", 8, "quoted regular expression");
	expect_error("title < \"x\"", 8, "needs a number");
	expect_error("title ~ \"abc", 8, "unterminated");
	/* character offsets: Korean text counts one per character */
	expect_error("제목 ~ \"x\"", 0, "unexpected character '제'");
	/* PCRE2 notices a missing ) at the pattern's end */
	expect_error("title ~ \"가나(\"", 12, "bad regular expression");
	expect_error("title ~ \"가(?<\" ", 13, "bad regular expression");
	expect_error("title ~ \"x\" and 가격 < 1", 16, "unexpected");
	/* an escaped quote before the error counts as two source chars */
	expect_error("title ~ \"\\\"x{2,1}y\"", 16, "bad regular");
	/* found by fuzz_cond: a bad character right after a comparison */
	expect_error("price <= 300*00", 12, "unexpected character '*'");
	expect_error("a == 1 @", 7, "unexpected character '@'");
	expect_error("and", 0, "expected a field name");
	expect_error("not", 3, "expected a field name");
}

/* a watch knows price and shop (cond_known_fn) */
static bool
known(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "title") == 0 || strcmp(name, "link") == 0 ||
	       strcmp(name, "price") == 0 || strcmp(name, "shop") == 0;
}

/* the first unknown field, in source order, at its character */
static void
expect_unknown(const char *expr, size_t want_at, const char *want_name)
{
	struct kw_err err = { 0 };
	size_t at = 999;
	struct cond *c = cond_parse(expr, 0, &at, &err);
	char want[64];

	if (c == NULL)
		fail_msg("'%s' did not parse: %s", expr, err.msg);
	snprintf(want, sizeof(want), "unknown field '%s'", want_name);
	if (cond_check_fields(c, known, NULL, &at, &err) == 0)
		fail_msg("'%s': every field passed", expr);
	if (strcmp(err.msg, want) != 0)
		fail_msg("'%s': message '%s', want '%s'", expr, err.msg, want);
	if (at != want_at)
		fail_msg("'%s': at %zu, want %zu", expr, at, want_at);
	cond_free(c);
}

static void
test_unknown_fields(void **state)
{
	struct kw_err err = { 0 };
	struct cond *c;
	size_t at = 7;

	(void)state;
	c = cond_parse("price <= 100000 and (shop == \"G마켓\" or "
		       "not title ~ \"중고\") and link ~ \"^https\"",
	    0, NULL, &err);
	assert_non_null(c);
	assert_int_equal(cond_check_fields(c, known, NULL, &at, &err), 0);
	assert_int_equal(at, 7); /* untouched */
	cond_free(c);
	expect_unknown("prise <= 100000", 0, "prise");
	expect_unknown("price <= 100000 and ship == 0", 20, "ship");
	/* the first in the text, also under not and parentheses */
	expect_unknown("(title ~ \"x\" or not (cmts > 3)) and zz < 1", 21,
	    "cmts");
	/* offsets are in characters: the Korean literal counts 3 */
	expect_unknown("shop == \"지마켓\" and ship < 1", 18, "ship");
}

static void
test_limits(void **state)
{
	char deep[4 * COND_DEPTH_MAX + 64];
	char *longx;
	struct kw_err err = { 0 };
	size_t at = 0, n = 0;
	struct cond *c;

	(void)state;
	for (int i = 0; i < COND_DEPTH_MAX; i++)
		deep[n++] = '(';
	n += (size_t)sprintf(deep + n, "a == 1");
	for (int i = 0; i < COND_DEPTH_MAX; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	c = cond_parse(deep, 0, &at, &err);
	assert_non_null(c);
	cond_free(c);
	memmove(deep + 1, deep, n + 1);
	deep[0] = '(';
	strcat(deep, ")");
	assert_null(cond_parse(deep, 0, &at, &err));
	assert_int_equal(at, COND_DEPTH_MAX);
	assert_non_null(strstr(err.msg, "nested"));

	longx = malloc(COND_EXPR_MAX + 2);
	assert_non_null(longx);
	memset(longx, ' ', COND_EXPR_MAX + 1);
	memcpy(longx, "a==1", 4);
	longx[COND_EXPR_MAX + 1] = '\0';
	kw_err_clear(&err);
	assert_null(cond_parse(longx, 0, &at, &err));
	assert_non_null(strstr(err.msg, "longer"));
	free(longx);
}

static void
test_regex_limit(void **state)
{
	static char subject[40000];
	const char *f[] = { "title", subject, NULL };
	struct kw_err err = { 0 };
	struct cond *c = cond_parse("title ~ \"(a+)+$\"", 0, NULL, &err);
	bool r = true;

	(void)state;
	assert_non_null(c);
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	assert_int_equal(cond_eval(c, lookup, (void *)f, &r, NULL, &err), -1);
	assert_false(r);
	assert_non_null(strstr(err.msg, "too complex"));
	cond_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_regex_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
