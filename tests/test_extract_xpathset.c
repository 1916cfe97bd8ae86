/*
 * test_extract_xpathset: the compiled-XPath set (extract.h) that once,
 * run, test and check share: one compile per distinct expression (and
 * namespace prefixes), pointers stable while the set grows, failures not
 * remembered, and config_load's check compiling into the caller's set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/regex.h"

static void
test_xpath_set_compiles_each_expression_once(void **state)
{
	static const char *const exprs[] = { "//h2/a", "//li[@class='post']",
		"//table//tr/td[2]/a" };
	const struct extract_xpath *first[3], *xp;
	struct extract_xpath_set *set;
	struct kw_err err = { 0 };
	size_t i;

	(void)state;
	set = extract_xpath_set_new();
	assert_non_null(set);
	assert_int_equal(extract_xpath_set_count(set), 0);
	for (i = 0; i < 3; i++) {
		first[i] = extract_xpath_set_get(set, exprs[i], NULL, 0, &err);
		assert_non_null(first[i]);
	}
	assert_ptr_not_equal(first[0], first[1]);
	/* 10,000 watches sharing 3 expressions: still 3 compiled */
	for (i = 0; i < 10000; i++) {
		xp = extract_xpath_set_get(set, exprs[i % 3], NULL, 0, &err);
		assert_ptr_equal(xp, first[i % 3]);
	}
	assert_int_equal(extract_xpath_set_count(set), 3);
	extract_xpath_set_free(set);
	extract_xpath_set_free(NULL);
}

static void
test_xpath_set_keeps_pointers_while_it_grows(void **state)
{
	const struct extract_xpath **v;
	struct extract_xpath_set *set;
	struct kw_err err = { 0 };
	char expr[64];
	size_t i;

	(void)state;
	set = extract_xpath_set_new();
	v = calloc(2000, sizeof(*v));
	assert_true(set != NULL && v != NULL);
	for (i = 0; i < 2000; i++) {
		snprintf(expr, sizeof(expr), "//div[%zu]/a", i + 1);
		v[i] = extract_xpath_set_get(set, expr, NULL, 0, &err);
		assert_non_null(v[i]);
	}
	assert_int_equal(extract_xpath_set_count(set), 2000);
	for (i = 0; i < 2000; i++) {
		snprintf(expr, sizeof(expr), "//div[%zu]/a", i + 1);
		assert_ptr_equal(
		    extract_xpath_set_get(set, expr, NULL, 0, &err), v[i]);
	}
	free(v);
	extract_xpath_set_free(set);
}

static void
test_xpath_set_keys_by_namespace_prefixes_and_forgets_failures(void **state)
{
	const char *const ns[] = { "a", "http://www.w3.org/2005/Atom" };
	struct extract_xpath_set *set;
	struct kw_err err = { 0 }, want = { 0 };
	const struct extract_xpath *with;

	(void)state;
	set = extract_xpath_set_new();
	assert_non_null(set);
	/* the prefix is valid only where the namespace is declared */
	assert_null(extract_xpath_set_get(set, "//a:entry", NULL, 0, &err));
	assert_null(extract_xpath_compile_ns("//a:entry", NULL, 0, &want));
	assert_string_equal(err.msg, want.msg);
	assert_int_equal(extract_xpath_set_count(set), 0);
	with = extract_xpath_set_get(set, "//a:entry", ns, 1, &err);
	assert_non_null(with);
	assert_int_equal(extract_xpath_set_count(set), 1);
	/* a bad expression fails each time, with the compiler's message */
	kw_err_clear(&err);
	assert_null(extract_xpath_set_get(set, "//a[", NULL, 0, &err));
	assert_non_null(strstr(err.msg, "//a["));
	kw_err_clear(&err);
	assert_null(extract_xpath_set_get(set, "//a[", NULL, 0, &err));
	assert_true(err.set);
	assert_null(extract_xpath_set_get(set, "", NULL, 0, &err));
	assert_int_equal(extract_xpath_set_count(set), 1);
	extract_xpath_set_free(set);
}

/* config_load's hook compiles into the set: nothing is compiled twice */
static void
test_xpath_set_check_hook_keeps_what_it_compiled(void **state)
{
	struct extract_xpath_set *set;
	struct kw_err err = { 0 };
	char msg[256], want[256];

	(void)state;
	set = extract_xpath_set_new();
	assert_non_null(set);
	extract_xpath_set_checking(set);
	assert_int_equal(extract_xpath_set_check("//h2/a", msg, sizeof(msg)),
	    0);
	assert_int_equal(extract_xpath_set_count(set), 1);
	assert_non_null(extract_xpath_set_get(set, "//h2/a", NULL, 0, &err));
	assert_int_equal(extract_xpath_set_count(set), 1);
	/* a failure reads as extract_xpath_check's */
	assert_int_equal(
	    extract_xpath_set_check("//a[contain(., 'x')]", msg, sizeof(msg)),
	    -1);
	assert_int_equal(
	    extract_xpath_check("//a[contain(., 'x')]", want, sizeof(want)),
	    -1);
	assert_string_equal(msg, want);
	extract_xpath_set_checking(NULL);
	/* without a set it is extract_xpath_check */
	assert_int_equal(extract_xpath_set_check("//p", msg, sizeof(msg)), 0);
	assert_int_equal(extract_xpath_set_count(set), 1);
	extract_xpath_set_free(set);
}

/*
 * key_pattern: regexes live in the set beside the XPaths: each pattern
 * (with its flags) is compiled once per set, that is once per
 * configuration load, however many watches and checks use it; a bad one
 * fails each time with PCRE2's message and is not kept
 */
static void
test_xpath_set_compiles_each_key_pattern_once(void **state)
{
	static const char *const pats[] = { "wr_id=(\\d+)", "/read/(\\d+)" };
	struct regex *first[2], *re, *caseless;
	const struct extract_xpath *xp;
	struct extract_xpath_set *set;
	static const char link[] = "/bbs?wr_id=1234&page=2";
	struct regex_groups g;
	struct kw_err err = { 0 };
	char *key;
	size_t i;

	(void)state;
	set = extract_xpath_set_new();
	assert_non_null(set);
	xp = extract_xpath_set_get(set, "//h2/a", NULL, 0, &err);
	assert_non_null(xp);
	for (i = 0; i < 2; i++) {
		first[i] = extract_xpath_set_regex(set, pats[i], 0, &err);
		assert_non_null(first[i]);
		assert_string_equal(regex_pattern(first[i]), pats[i]);
	}
	assert_ptr_not_equal(first[0], first[1]);
	/* 10,000 watches' checks over 2 patterns: still 2 compiled */
	for (i = 0; i < 10000; i++) {
		re = extract_xpath_set_regex(set, pats[i % 2], 0, &err);
		assert_ptr_equal(re, first[i % 2]);
	}
	assert_int_equal(extract_xpath_set_regex_count(set), 2);
	assert_int_equal(extract_xpath_set_count(set), 1);
	/* what a check does with it: the first group of the link */
	assert_int_equal(regex_match(first[0], link, strlen(link), 0, &g, &err),
	    1);
	key = regex_group_dup(&g, link, 1, NULL);
	assert_string_equal(key, "1234");
	free(key);
	/* other flags, or a pattern spelled like an XPath: other entries */
	caseless = extract_xpath_set_regex(set, pats[0], REGEX_CASELESS, &err);
	assert_non_null(caseless);
	assert_ptr_not_equal(caseless, first[0]);
	assert_non_null(extract_xpath_set_regex(set, "//h2/(a)", 0, &err));
	assert_ptr_equal(extract_xpath_set_get(set, "//h2/a", NULL, 0, &err),
	    xp);
	assert_int_equal(extract_xpath_set_regex_count(set), 4);
	assert_int_equal(extract_xpath_set_count(set), 1);
	/* an XPath spelled like a regex entry's key is an XPath: it fails to
	 * compile with a message, it is never handed a regex entry (NULL
	 * with no error, as when the two kinds shared their keys) */
	kw_err_clear(&err);
	assert_null(extract_xpath_set_get(set,
	    "\x1e"
	    "0\x1fwr_id=(\\d+)",
	    NULL, 0, &err));
	assert_true(err.set);
	kw_err_clear(&err);
	assert_null(
	    extract_xpath_set_get(set, "r0\x1fwr_id=(\\d+)", NULL, 0, &err));
	assert_true(err.set);
	assert_int_equal(extract_xpath_set_count(set), 1);
	/* a bad pattern: regex_compile's message, each time, nothing kept */
	kw_err_clear(&err);
	assert_null(extract_xpath_set_regex(set, "wr_id=(\\d+", 0, &err));
	assert_non_null(strstr(err.msg, "missing closing parenthesis"));
	kw_err_clear(&err);
	assert_null(extract_xpath_set_regex(set, "wr_id=(\\d+", 0, &err));
	assert_true(err.set);
	assert_int_equal(extract_xpath_set_regex_count(set), 4);
	extract_xpath_set_free(set);
	assert_int_equal(extract_xpath_set_regex_count(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xpath_set_compiles_each_expression_once),
		cmocka_unit_test(test_xpath_set_keeps_pointers_while_it_grows),
		cmocka_unit_test(
		    test_xpath_set_keys_by_namespace_prefixes_and_forgets_failures),
		cmocka_unit_test(
		    test_xpath_set_check_hook_keeps_what_it_compiled),
		cmocka_unit_test(test_xpath_set_compiles_each_key_pattern_once),
	};

	extract_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
