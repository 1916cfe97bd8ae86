/*
 * test_select: CSS selectors -> XPath 1.0 (select.h). Each selector of the
 * table is translated, compiled and evaluated by extract on a small page
 * whose elements carry a `t` attribute naming them; the test compares the
 * names of the selected elements, in document order, with what the
 * Selectors Level 3/4 definitions say (worked out by hand for these pages,
 * the way a browser's querySelectorAll answers). Bad selectors must fail
 * with a message and the position of the offending character.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/select.h"
#include "kakaowatch/util.h"

/* no whitespace between tags: every HTML parser builds the same tree */
static const char page[] =
    "<!DOCTYPE html><html t=html><head t=head><title t=title>t</title>"
    "</head><body t=body>"
    "<div t=d1 id=main class=\"box  wide\" lang=en-US "
    "data-x=\"Hello World\">"
    "<p t=p1 class=first>one</p>"
    "<p t=p2 class=\"x y\">two</p>"
    "<span t=s1></span>"
    "<p t=p3 title=\"a'b&quot;c\">three</p>"
    "<ul t=u1><li t=l1>a</li><li t=l2>b</li><li t=l3 class=hot>c</li>"
    "<li t=l4>d</li><li t=l5 class=hot>e</li><li t=l6>f</li></ul>"
    "</div>"
    "<div t=d2 lang=en class=box>"
    "<a t=a1 href=\"/x\">x</a><a t=a2>y</a><em t=e1>z</em>"
    "<ol t=o1><li t=l7 class=\"HOT\">g</li></ol>"
    "<table t=tb><tbody t=tbody><tr t=r1><td t=c11>1</td><td t=c12>"
    "<a t=a3 href=\"/1\">one</a></td></tr>"
    "<tr t=r2><td t=c21>2</td><td t=c22><a t=a4 href=\"/2\">two</a></td>"
    "</tr></tbody></table>"
    "<p t=p4 id=\"123\" class=\"a:b\">k\xea\xb0\x80</p>"
    "<x-y t=xy>custom</x-y>"
    "</div></body></html>";

/* the `t` names of the elements `css` selects on `page`, space-separated */
static char *
selected(const char *css)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	struct item_list items;
	struct buf out, expr;
	size_t at = 0, i;
	char *xpath, *s;

	xpath = select_css_to_xpath(css, &at, &err);
	if (xpath == NULL)
		fail_msg("'%s': %s at %zu", css, err.msg, at);
	buf_init(&expr, 0);
	/* the elements' t attributes, in document order */
	assert_int_equal(buf_printf(&expr, "(%s)/@t", xpath), 0);
	xp = extract_xpath_compile(expr.data, &err);
	if (xp == NULL)
		fail_msg("'%s' -> '%s': %s", css, xpath, err.msg);
	item_list_init(&items);
	assert_int_equal(extract_items(page, sizeof(page) - 1,
			     "text/html; charset=utf-8", NULL, NULL, xp, &items,
			     &err),
	    0);
	buf_init(&out, 0);
	for (i = 0; i < items.n; i++)
		assert_int_equal(
		    buf_printf(&out, "%s%s", i ? " " : "", items.v[i].text), 0);
	s = buf_detach(&out, NULL);
	item_list_release(&items);
	extract_xpath_free(xp);
	buf_release(&expr);
	free(xpath);
	return s;
}

struct sel_case {
	const char *css;
	const char *want; /* the t names, "" for nothing */
};

static const struct sel_case cases[] = {
	/* type, universal, case of names */
	{ "p", "p1 p2 p3 p4" },
	{ "P", "p1 p2 p3 p4" },
	{ "div > *", "p1 p2 s1 p3 u1 a1 a2 e1 o1 tb p4 xy" },
	{ "*", "html head title body d1 p1 p2 s1 p3 u1 l1 l2 l3 l4 l5 l6 d2 "
	       "a1 a2 e1 o1 l7 tb tbody r1 c11 c12 a3 r2 c21 c22 a4 p4 xy" },
	{ "x-y", "xy" },
	/* id and class */
	{ "#main", "d1" },
	{ "#MAIN", "" },
	{ "#\\31 23", "p4" },
	{ "#123", "p4" },
	{ "#\\6d ain", "d1" },
	{ ".box", "d1 d2" },
	{ ".wide.box", "d1" },
	{ ".bo", "" },
	{ ".hot", "l3 l5" },
	{ ".a\\:b", "p4" },
	{ "div.box > p.x", "p2" },
	/* attributes */
	{ "[lang]", "d1 d2" },
	{ "[LANG]", "d1 d2" },
	{ "[lang=en]", "d2" },
	{ "[lang|=en]", "d1 d2" },
	{ "[lang|=EN]", "" },
	{ "[lang|=EN i]", "d1 d2" },
	{ "[lang^=en-]", "d1" },
	{ "[lang^='']", "" },
	{ "[data-x$=World]", "d1" },
	{ "[data-x$=world]", "" },
	{ "[data-x$=world i]", "d1" },
	{ "[data-x$=\"WORLD\"i]", "d1" },
	{ "[data-x*='lo Wo']", "d1" },
	{ "[data-x~=Hello]", "d1" },
	{ "[data-x~='Hello World']", "" },
	{ "[class~=y]", "p2" },
	{ "[class~=box]", "d1 d2" },
	{ "[class=box]", "d2" },
	{ "[title=\"a'b\\\"c\"]", "p3" },
	{ "[title='a\\'b\"c']", "p3" },
	{ "[href]", "a1 a3 a4" },
	{ "a[href='/x']", "a1" },
	{ "[ t = p1 ]", "p1" },
	{ "[t=p1 s]", "p1" },
	{ "li[class=hot i]", "l3 l5 l7" },
	/* structural pseudo-classes */
	{ "li:first-child", "l1 l7" },
	{ "li:last-child", "l6 l7" },
	{ "li:only-child", "l7" },
	{ "li:nth-child(2n+1)", "l1 l3 l5 l7" },
	{ "li:nth-child(odd)", "l1 l3 l5 l7" },
	{ "li:nth-child(even)", "l2 l4 l6" },
	{ "li:nth-child(2n)", "l2 l4 l6" },
	{ "li:nth-child( -n + 2 )", "l1 l2 l7" },
	{ "li:nth-child(3)", "l3" },
	{ "li:nth-child(+3)", "l3" },
	{ "li:nth-child(n+5)", "l5 l6" },
	{ "li:nth-child(N+5)", "l5 l6" },
	{ "li:nth-child(3n-1)", "l2 l5" },
	{ "li:nth-child(-2n+5)", "l1 l3 l5 l7" },
	{ "li:nth-child(0n+0)", "" },
	{ "li:nth-child(-3)", "" },
	{ "li:nth-child(n)", "l1 l2 l3 l4 l5 l6 l7" },
	{ "li:nth-last-child(2)", "l5" },
	{ "li:nth-last-child(-n+2)", "l5 l6 l7" },
	{ "li:nth-child(2n+1 of .hot)", "l3" },
	{ "li:nth-child(2 of .hot)", "l5" },
	{ "li:nth-last-child(1 of .hot, :first-child)", "l5 l7" },
	{ "p:nth-child(4)", "p3" },
	{ "p:nth-of-type(2)", "p2" },
	{ "p:nth-last-of-type(1)", "p3 p4" },
	{ "p:first-of-type", "p1 p4" },
	{ "p:last-of-type", "p3 p4" },
	{ "span:only-of-type", "s1" },
	{ "p:only-of-type", "p4" },
	{ "em:only-child", "" },
	{ "div :empty", "s1" },
	{ ":root", "html" },
	{ "body:root", "" },
	/* negation, matches-any, relational */
	{ "p:not(.x)", "p1 p3 p4" },
	{ "p:not(.x, .first)", "p3 p4" },
	{ "div > :not(p):not(a)", "s1 u1 e1 o1 tb xy" },
	{ "li:not(:nth-child(n+2))", "l1 l7" },
	{ "li:not(:first-of-type)", "l2 l3 l4 l5 l6" },
	{ "li:is(.hot, :first-child)", "l1 l3 l5 l7" },
	{ "li:where(:nth-child(2))", "l2" },
	{ "div:has(> a)", "d2" },
	{ "div:has(li.hot)", "d1" },
	{ "p:has(+ span)", "p2" },
	{ "p:has(~ ul)", "p1 p2 p3" },
	{ "tr:has(a[href='/2']) > td:first-child", "c21" },
	/* other pseudo-classes and the extensions */
	{ "a:link", "a1 a3 a4" },
	{ "a:any-link", "a1 a3 a4" },
	{ "p:contains('thr')", "p3" },
	{ "p:contains(two)", "p2" },
	/* combinators and lists */
	{ "p + span", "s1" },
	{ "p+p", "p2" },
	{ "span + p", "p3" },
	{ "p ~ p", "p2 p3" },
	{ "p~*", "p2 s1 p3 u1 xy" },
	{ "ul > li.hot + li", "l4 l6" },
	{ "ul > li.hot ~ li", "l4 l5 l6" },
	{ "body > div", "d1 d2" },
	{ "body div", "d1 d2" },
	{ "html > div", "" },
	{ "body    >\tdiv\n", "d1 d2" },
	{ "div li", "l1 l2 l3 l4 l5 l6 l7" },
	{ "#main li + li + li", "l3 l4 l5 l6" },
	{ "div p, li.hot", "p1 p2 p3 l3 l5 p4" },
	{ "li.hot, p.x", "p2 l3 l5" },
	{ "p, p", "p1 p2 p3 p4" },
	/* what a browser's "Copy selector" gives, and it minus the row */
	{ "body > div:nth-child(2) > table > tbody > tr:nth-child(2) > "
	  "td:nth-child(2) > a",
	    "a4" },
	{ "body > div:nth-child(2) > table > tbody > tr > td:nth-child(2) > a",
	    "a3 a4" },
	{ "#main > ul > li:nth-child(3)", "l3" },
};

static void
test_select_table_selects_what_browsers_select(void **state)
{
	size_t i;
	int bad = 0;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = selected(cases[i].css);
		if (strcmp(got, cases[i].want) != 0) {
			print_error("'%s': selected '%s', want '%s'\n",
			    cases[i].css, got, cases[i].want);
			bad++;
		}
		free(got);
	}
	assert_int_equal(bad, 0);
}

/* pseudo-elements (parsel) give text and attribute nodes */
static void
test_select_pseudo_elements_give_text_and_attributes(void **state)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	struct item_list items;
	char *x;

	(void)state;
	item_list_init(&items);
	x = select_css_to_xpath("p.first::text, td > a::attr(href)", NULL,
	    &err);
	assert_non_null(x);
	xp = extract_xpath_compile(x, &err);
	assert_non_null(xp);
	assert_int_equal(extract_items(page, sizeof(page) - 1, NULL, NULL,
			     "http://h/", xp, &items, &err),
	    0);
	assert_int_equal(items.n, 3);
	assert_string_equal(items.v[0].text, "one");
	assert_string_equal(items.v[1].text, "/1");
	assert_string_equal(items.v[2].text, "/2");
	assert_null(items.v[1].link);
	item_list_release(&items);
	extract_xpath_free(xp);
	free(x);
}

/* the shape of the output, as cssselect writes it */
static void
test_select_output_is_plain_xpath(void **state)
{
	static const struct {
		const char *css, *xpath;
	} out[] = {
		{ "div > a", "descendant-or-self::div/a" },
		{ "div a", "descendant-or-self::div//a" },
		{ "#x", "descendant-or-self::*[@id = 'x']" },
		{ "a, b", "descendant-or-self::a | descendant-or-self::b" },
		{ "h1 + p", "descendant-or-self::h1/following-sibling::*[1]/"
			    "self::p" },
		{ "[title=\"it's\"]",
		    "descendant-or-self::*[@title = \"it's\"]" },
		{ "[title=\"it's \\\"x\\\"\"]",
		    "descendant-or-self::*[@title = concat('it', \"'\", "
		    "'s \"x\"')]" },
	};
	struct kw_err err = { 0 };
	size_t i;
	char *x;

	(void)state;
	for (i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		x = select_css_to_xpath(out[i].css, NULL, &err);
		assert_non_null(x);
		assert_string_equal(x, out[i].xpath);
		free(x);
	}
}

struct bad_case {
	const char *css;
	size_t at;       /* code points before the offending character */
	const char *msg; /* a part of the message */
};

static const struct bad_case bad[] = {
	{ "", 0, "empty selector" },
	{ "   ", 3, "empty selector" },
	{ "div[", 4, "attribute name" },
	{ "div[href", 8, "expected ']'" },
	{ "a[href=]", 7, "value" },
	{ "a[href=x y]", 9, "expected ']'" },
	{ "a[href~~x]", 6, "operator" },
	{ "a:hover", 1, "unknown pseudo-class ':hover'" },
	{ "a:nth-child", 1, "unknown pseudo-class ':nth-child'" },
	{ "a:foo(1)", 1, "unknown pseudo-class ':foo()'" },
	{ "a::before", 1, "pseudo-element '::before'" },
	{ "svg|rect", 3, "namespace" },
	{ "*|a", 0, "namespace" },
	{ "[xlink|href]", 6, "namespace" },
	{ "p > ", 4, "end of selector" },
	{ "p >> a", 3, "unexpected '>'" },
	{ "p,,a", 2, "unexpected ','" },
	{ "p,", 2, "end of selector" },
	{ ".1a", 1, "class name" },
	{ "#", 1, "an id" },
	{ "div:nth-child(2n+)", 17, "number" },
	{ "li:nth-child(2", 14, "expected ')'" },
	{ "li:nth-child(x)", 13, "an+b" },
	{ "li:nth-child(99999999999)", 13, "too large" },
	{ "li:nth-child(2 of)", 17, "whitespace after 'of'" },
	{ "\xed\x95\x9c\xea\xb8\x80:hover", 2, "':hover'" },
	{ "\xed\x95\x9c\xea\xb8\x80 > [x", 7, "expected ']'" },
	{ "a:not(b c)", 8, "only compound selectors" },
	{ "a:not(b > c)", 8, "only compound selectors" },
	{ "a:not(::text)", 6, "pseudo-element cannot" },
	{ "a[x='abc", 4, "unterminated string" },
	{ "a[x='ab\nc']", 7, "line break" },
	{ "*:first-of-type", 1, "needs an element name" },
	{ ".a:nth-of-type(2)", 2, "needs an element name" },
	{ "p::text.a", 7, "must end" },
	{ "p::text a", 8, "must end" },
	{ "p::attr(x", 9, "expected ')'" },
	{ "a)", 1, "unexpected ')'" },
	{ "a\xff", 1, "invalid UTF-8" },
	{ "a \xed\xa0\x80", 2, "invalid UTF-8" },
	{ "a\x01", 1, "control character" },
	{ "a:is(b", 6, "expected ')'" },
	{ "a:has()", 6, "a selector" },
	{ "a/**/b", 1, "unexpected '/'" },
};

static void
test_select_bad_selectors_fail_at_the_character(void **state)
{
	struct kw_err err;
	size_t i, at;
	int nbad = 0;
	char *x;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		at = 9999;
		x = select_css_to_xpath(bad[i].css, &at, &err);
		if (x != NULL)
			fail_msg("'%s' translated to '%s'", bad[i].css, x);
		assert_true(err.set);
		if (strstr(err.msg, bad[i].msg) == NULL || at != bad[i].at) {
			print_error("'%s': '%s' at %zu, want '%s' at %zu\n",
			    bad[i].css, err.msg, at, bad[i].msg, bad[i].at);
			nbad++;
		}
	}
	assert_int_equal(nbad, 0);
}

static void
test_select_limits_nesting_and_length(void **state)
{
	struct kw_err err = { 0 };
	struct buf b;
	size_t at = 0;
	char *x;
	int i;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "a"), 0);
	for (i = 0; i < SELECT_MAX_DEPTH; i++)
		assert_int_equal(buf_puts(&b, ":not(b"), 0);
	for (i = 0; i < SELECT_MAX_DEPTH; i++)
		assert_int_equal(buf_puts(&b, ")"), 0);
	x = select_css_to_xpath(b.data, &at, &err);
	assert_non_null(x);
	free(x);
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "a"), 0);
	for (i = 0; i <= SELECT_MAX_DEPTH; i++)
		assert_int_equal(buf_puts(&b, ":not(b"), 0);
	x = select_css_to_xpath(b.data, &at, &err);
	assert_null(x);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	buf_reset(&b);
	memset(&err, 0, sizeof(err));
	for (i = 0; i < SELECT_MAX_LEN / 2 + 1; i++)
		assert_int_equal(buf_puts(&b, ".a"), 0);
	x = select_css_to_xpath(b.data, &at, &err);
	assert_null(x);
	assert_non_null(strstr(err.msg, "too long"));
	buf_release(&b);
}

static int
group_setup(void **state)
{
	(void)state;
	extract_global_init();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	extract_global_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_select_table_selects_what_browsers_select),
		cmocka_unit_test(
		    test_select_pseudo_elements_give_text_and_attributes),
		cmocka_unit_test(test_select_output_is_plain_xpath),
		cmocka_unit_test(
		    test_select_bad_selectors_fail_at_the_character),
		cmocka_unit_test(test_select_limits_nesting_and_length),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
