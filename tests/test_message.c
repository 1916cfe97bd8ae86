/* tests for message: Kakao template objects within Kakao's limits */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/item.h"
#include "kakaowatch/message.h"
#include "kakaowatch/util.h"

#define PAGE "https://blog.rust-lang.org/"
#define ELLIPSIS "\xe2\x80\xa6"
#define GA "\xea\xb0\x80" /* 가 */

/*
 * In "\xff" "abc" the split ends the \x escape (else it is \xffabc) or
 * shows where a byte sequence ends; clang-format 14 puts each piece of a
 * concatenation on a line of its own, so the few statements with them are
 * in clang-format off blocks (as is random_bytes' table of pieces, one
 * group a row).
 */

/* ---- helpers, independent of message.c ---- */

/* utf16_units counts UTF-16 code units of valid UTF-8 `s`. */
static size_t
utf16_units(const char *s)
{
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p & 0xC0) != 0x80)
			n++;
		if (*p >= 0xF0)
			n++;
	}
	return n;
}

/* assert_valid_utf8: jansson refuses invalid UTF-8 in json_string. */
static void
assert_valid_utf8(const char *s)
{
	json_t *j = json_string(s);

	assert_non_null(j);
	json_decref(j);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static char *
repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit), i;
	char *s = malloc(len * n + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL)
		fail_msg("bad JSON (%s): %s", jerr.text, text);
	assert_true(json_is_object(root));
	return root;
}

static const char *
str_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("'%s' is not a string", key);
	return json_string_value(v);
}

/*
 * assert_link: o[key] is {web_url: url, mobile_web_url: url}; NULL = the
 * fallback link (a link object is never empty: Kakao needs one field)
 */
static void
assert_link(json_t *o, const char *key, const char *url)
{
	json_t *link = json_object_get(o, key);

	assert_true(json_is_object(link));
	if (url == NULL)
		url = MESSAGE_FALLBACK_LINK;
	assert_int_equal(json_object_size(link), 2);
	assert_string_equal(str_at(link, "web_url"), url);
	assert_string_equal(str_at(link, "mobile_web_url"), url);
}

static void
items_numbered(struct item_list *l, size_t n)
{
	char text[64], link[128];
	size_t i;

	item_list_init(l);
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "item %zu", i);
		snprintf(link, sizeof(link), "https://blog.rust-lang.org/%zu",
		    i);
		assert_int_equal(item_list_add(l, text, link), 0);
	}
}

static void
build(const char *name, const char *page, enum message_kind kind,
    const struct item_list *items, int max, char ***out, size_t *nout)
{
	struct kw_err err = { 0 };

	assert_int_equal(message_build_format(NULL, name, page, kind, items,
			     max, out, nout, &err),
	    0);
	assert_false(err.set);
}

/* check_list: a list template with these content titles (item numbers) */
static json_t *
check_list(const char *json, const char *header, size_t first, size_t n,
    const char *button)
{
	json_t *root = parse(json), *contents, *c, *b;
	char title[64], link[128];
	size_t i;

	assert_string_equal(str_at(root, "object_type"), "list");
	assert_string_equal(str_at(root, "header_title"), header);
	assert_link(root, "header_link", PAGE);
	contents = json_object_get(root, "contents");
	assert_true(json_is_array(contents));
	assert_int_equal(json_array_size(contents), n);
	for (i = 0; i < n; i++) {
		c = json_array_get(contents, i);
		snprintf(title, sizeof(title), "item %zu", first + i);
		snprintf(link, sizeof(link), "https://blog.rust-lang.org/%zu",
		    first + i);
		assert_string_equal(str_at(c, "title"), title);
		assert_link(c, "link", link);
	}
	b = json_object_get(root, "buttons");
	assert_true(json_is_array(b));
	assert_int_equal(json_array_size(b), 1);
	assert_string_equal(str_at(json_array_get(b, 0), "title"), button);
	assert_link(json_array_get(b, 0), "link", PAGE);
	return root;
}

/* ---- templates (message:) ---- */

struct check_case {
	const char *tmpl;
	enum message_part part;
	int ok;
	size_t at; /* code points, when refused */
};

static void
test_message_template_check_table(void **state)
{
	static const char *const fields[] = { "price", "shop", "image" };
	static const struct check_case cases[] = {
		{ "{title} · {price}", MESSAGE_PART_TITLE, 1, 0 },
		{ "{name}: {count} {change}", MESSAGE_PART_HEADER, 1, 0 },
		{ "{{literal}} }} {{", MESSAGE_PART_DESCRIPTION, 1, 0 },
		{ "", MESSAGE_PART_TITLE, 1, 0 },
		{ "{shop} {date} {summary} {link}", MESSAGE_PART_DESCRIPTION, 1,
		    0 },
		{ "가격 {prise}", MESSAGE_PART_TITLE, 0, 3 },
		{ "{title}", MESSAGE_PART_HEADER, 0, 0 },
		{ "핫딜 {count}개 {price}", MESSAGE_PART_HEADER, 0, 12 },
		{ "{title", MESSAGE_PART_TITLE, 0, 0 },
		{ "a } b", MESSAGE_PART_TITLE, 0, 2 },
		{ "{}", MESSAGE_PART_TITLE, 0, 0 },
		{ "한글 {ti{tle}", MESSAGE_PART_TITLE, 0, 3 },
		{ "{ title }", MESSAGE_PART_TITLE, 0, 0 },
	};
	struct kw_err err;
	size_t i, at;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		at = 999;
		r = message_template_check(cases[i].tmpl, cases[i].part, fields,
		    3, &at, &err);
		if (cases[i].ok) {
			if (r != 0)
				fail_msg("'%s' refused: %s", cases[i].tmpl,
				    err.msg);
			continue;
		}
		if (r == 0)
			fail_msg("'%s' accepted", cases[i].tmpl);
		assert_true(err.set);
		if (at != cases[i].at)
			fail_msg("'%s': at %zu, want %zu (%s)", cases[i].tmpl,
			    at, cases[i].at, err.msg);
	}
	/* without fields: only the item's own values are known */
	memset(&err, 0, sizeof(err));
	assert_int_equal(message_template_check("{price}", MESSAGE_PART_TITLE,
			     NULL, 0, &at, &err),
	    -1);
	assert_non_null(strstr(err.msg, "unknown placeholder '{price}'"));
	/* a jq watch: any name may be a field; the header still knows its
	   own three only, and braces must still pair */
	assert_int_equal(message_template_check("{price} {x_1}",
			     MESSAGE_PART_TITLE, NULL, MESSAGE_FIELDS_ANY, &at,
			     NULL),
	    0);
	assert_int_equal(message_template_check("{price}", MESSAGE_PART_HEADER,
			     NULL, MESSAGE_FIELDS_ANY, &at, NULL),
	    -1);
	assert_int_equal(message_template_check("{price", MESSAGE_PART_TITLE,
			     NULL, MESSAGE_FIELDS_ANY, &at, NULL),
	    -1);
}

struct vals {
	const char *const *kv; /* name, value, ..., NULL */
};

static const char *
vals_get(void *ctx, const char *name)
{
	const struct vals *v = ctx;
	size_t i;

	for (i = 0; v->kv[i] != NULL; i += 2)
		if (strcmp(v->kv[i], name) == 0)
			return v->kv[i + 1];
	return NULL;
}

static void
test_message_template_expand_fills_and_escapes(void **state)
{
	static const char *const kv[] = { "title", "SSD", "price", "12,900원",
		NULL };
	struct vals v = { kv };
	char *s;

	(void)state;
	s = message_template_expand("{title} · {price}", vals_get, &v);
	assert_string_equal(s, "SSD · 12,900원");
	free(s);
	/* a value the item lacks is empty; {{ }} are braces */
	s = message_template_expand("{{{title}}} [{shop}]", vals_get, &v);
	assert_string_equal(s, "{SSD} []");
	free(s);
	/* a refused template is still filled in, braces kept */
	s = message_template_expand("a } {title {}", vals_get, &v);
	assert_string_equal(s, "a } {title {}");
	free(s);
	s = message_template_expand(NULL, vals_get, &v);
	assert_string_equal(s, "");
	free(s);
}

/*
 * add_item appends an item with fields given as name, value pairs ending
 * with a NULL name (a NULL value: the field is not set)
 */
static void
add_item(struct item_list *l, const char *text, const char *link, ...)
{
	const char *name, *value;
	va_list ap;

	assert_int_equal(item_list_add(l, text, link), 0);
	va_start(ap, link);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		assert_int_equal(item_field_set_take(&l->v[l->n - 1], name,
				     value != NULL ? strdup(value) : NULL),
		    0);
	}
	va_end(ap);
}

/* build_fmt: message_build_format that must succeed */
static void
build_fmt(const struct message_format *fmt, const char *name,
    enum message_kind kind, const struct item_list *items, int max, char ***out,
    size_t *nout)
{
	struct kw_err err = { 0 };

	assert_int_equal(message_build_format(fmt, name, PAGE, kind, items, max,
			     out, nout, &err),
	    0);
	assert_false(err.set);
}

static void
test_message_default_templates_give_todays_messages(void **state)
{
	static const struct message_format written = { "{title}", "",
		"{name}: {count} {change}" };
	static const enum message_kind kinds[] = { MESSAGE_ADDED,
		MESSAGE_REMOVED, MESSAGE_CHANGED };
	static const char *const words[] = { "new", "removed", "edited" };
	static const size_t sizes[] = { 1, 2, 3, 5, 50 };
	char **a, **b, **c, *longname, want[64];
	size_t na, nb, nc, k, i, j;
	struct item_list l;
	json_t *root;

	(void)state;
	longname = repeat("한", 300);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			items_numbered(&l, sizes[i]);
			build("rust-blog", PAGE, kinds[k], &l, 3, &a, &na);
			build_fmt(NULL, "rust-blog", kinds[k], &l, 3, &b, &nb);
			build_fmt(&written, "rust-blog", kinds[k], &l, 3, &c,
			    &nc);
			assert_int_equal(na, nb);
			assert_int_equal(na, nc);
			for (j = 0; j < na; j++) {
				assert_string_equal(a[j], b[j]);
				assert_string_equal(a[j], c[j]);
			}
			/* today's wording, "NAME: N new/removed/edited" */
			root = parse(a[0]);
			snprintf(want, sizeof(want), "rust-blog: %zu %s",
			    sizes[i], words[k]);
			if (sizes[i] == 1)
				assert_true(strncmp(str_at(root, "text"), want,
						strlen(want)) == 0);
			else
				assert_string_equal(
				    str_at(root, "header_title"), want);
			json_decref(root);
			message_list_free(a, na);
			message_list_free(b, nb);
			message_list_free(c, nc);
			/* a name too long: cut the same way */
			build(longname, PAGE, kinds[k], &l, 3, &a, &na);
			build_fmt(&written, longname, kinds[k], &l, 3, &c, &nc);
			for (j = 0; j < na; j++)
				assert_string_equal(a[j], c[j]);
			message_list_free(a, na);
			message_list_free(c, nc);
			item_list_release(&l);
		}
	}
	free(longname);
}

static void
test_message_templates_fill_list_contents(void **state)
{
	static const struct message_format fmt = { "{title} · {date}",
		"{summary}", "[{name}] {count}개 {change}" };
	struct item_list l;
	json_t *root, *contents, *c;
	char **out;
	size_t n;

	(void)state;
	item_list_init(&l);
	add_item(&l, "삼성 990 PRO", "https://deal.example/1", "date", "12/01",
	    "summary", "11번가  \n 무료배송", NULL);
	/* no date, no summary: filled in empty, no description */
	add_item(&l, "WD SN850X", "https://deal.example/2", NULL);
	build_fmt(&fmt, "핫딜", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "list");
	assert_string_equal(str_at(root, "header_title"), "[핫딜] 2개 new");
	contents = json_object_get(root, "contents");
	assert_int_equal(json_array_size(contents), 2);
	c = json_array_get(contents, 0);
	assert_string_equal(str_at(c, "title"), "삼성 990 PRO · 12/01");
	/* one line: the line break and the space run are one space */
	assert_string_equal(str_at(c, "description"), "11번가 무료배송");
	assert_link(c, "link", "https://deal.example/1");
	c = json_array_get(contents, 1);
	assert_string_equal(str_at(c, "title"), "WD SN850X ·");
	assert_null(json_object_get(c, "description"));
	assert_null(json_object_get(c, "image_url"));
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_template_one_item_text_has_description(void **state)
{
	static const struct message_format fmt = { "{title}", "{summary}",
		"{name} 새 글" };
	static const struct message_format empty_title = { "{date}", NULL,
		NULL };
	struct item_list l;
	json_t *root;
	char **out;
	size_t n;

	(void)state;
	item_list_init(&l);
	add_item(&l, "공지", "https://deal.example/9", "summary", "요약입니다",
	    NULL);
	build_fmt(&fmt, "board", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "text");
	assert_string_equal(str_at(root, "text"),
	    "board 새 글\n공지\n요약입니다");
	assert_link(root, "link", "https://deal.example/9");
	json_decref(root);
	message_list_free(out, n);
	/* a title that fills in empty shows the link, as before */
	build_fmt(&empty_title, "board", MESSAGE_ADDED, &l, 3, &out, &n);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "text"),
	    "board: 1 new\nhttps://deal.example/9");
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

/* a list of two items titled t0, t1 with template `fmt`: content titles */
static void
two_titles(const struct message_format *fmt, const char *t0,
    const char *summary, char **c0, char **d0)
{
	struct item_list l;
	json_t *root, *c;
	char **out;
	size_t n;

	item_list_init(&l);
	add_item(&l, t0, "https://deal.example/1", "summary", summary, NULL);
	assert_int_equal(item_list_add(&l, "second", NULL), 0);
	build_fmt(fmt, "w", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	c = json_array_get(json_object_get(root, "contents"), 0);
	*c0 = strdup(str_at(c, "title"));
	*d0 = json_object_get(c, "description") ?
		  strdup(str_at(c, "description")) :
		  NULL;
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_templates_cut_hangul_at_the_limit(void **state)
{
	static const struct message_format fmt = { "{title}·{summary}",
		"{summary}{summary}", NULL };
	char *t, *title, *desc, *want, *summary;

	(void)state;
	/* 78 syllables + "·" + "나" = 80: exactly the limit, not cut */
	t = repeat(GA, 78);
	two_titles(&fmt, t, "나", &title, &desc);
	assert_int_equal(utf16_units(title), MESSAGE_TITLE_MAX);
	assert_true(ends_with(title, GA "·나"));
	free(title);
	free(desc);
	/* one more: 81, cut to 80 with "…" after whole syllables */
	two_titles(&fmt, t, "나다", &title, &desc);
	assert_int_equal(utf16_units(title), MESSAGE_TITLE_MAX);
	want = malloc(strlen(t) + 16);
	assert_non_null(want);
	sprintf(want, "%s·" ELLIPSIS, t);
	assert_string_equal(title, want);
	free(want);
	free(title);
	free(desc);
	free(t);
	/* a syllable of conjoining jamo (ᄒ ᅡ ᆫ) across the cut is kept
	   whole or dropped whole, never split */
	t = repeat(GA, 77);
	two_titles(&fmt, t, "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", &title,
	    &desc);
	/* 77 + · + 3 code points = 81: the jamo syllable goes */
	want = malloc(strlen(t) + 16);
	assert_non_null(want);
	sprintf(want, "%s·" ELLIPSIS, t);
	assert_string_equal(title, want);
	assert_true(utf16_units(title) <= MESSAGE_TITLE_MAX);
	free(want);
	free(title);
	/* the description: two summaries of 50 syllables, cut to 80 */
	free(desc);
	free(t);
	summary = repeat("한", 50);
	t = strdup("x");
	two_titles(&fmt, t, summary, &title, &desc);
	assert_non_null(desc);
	assert_int_equal(utf16_units(desc), MESSAGE_DESCRIPTION_MAX);
	assert_true(ends_with(desc, "한" ELLIPSIS));
	assert_valid_utf8(desc);
	free(title);
	free(desc);
	free(t);
	free(summary);
}

static void
test_message_template_header_cuts_the_name_first(void **state)
{
	static const struct message_format fmt = { NULL, NULL,
		"{name} 새 글 {count}개" };
	struct item_list l;
	char **out, *name;
	const char *h;
	json_t *root;
	size_t n;

	(void)state;
	name = repeat("핫", 300);
	items_numbered(&l, 20);
	build_fmt(&fmt, name, MESSAGE_ADDED, &l, 2, &out, &n);
	assert_int_equal(n, 2);
	root = parse(out[1]);
	h = str_at(root, "header_title");
	assert_int_equal(utf16_units(h), MESSAGE_HEADER_MAX);
	if (!ends_with(h, "핫" ELLIPSIS " 새 글 20개 (+14 more)"))
		fail_msg("header: %s", h);
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
	free(name);
}

static void
test_message_items_with_pictures_show_them(void **state)
{
	struct item_list l;
	json_t *root, *contents, *c;
	char **out;
	size_t n;

	(void)state;
	item_list_init(&l);
	add_item(&l, "SSD 1TB", "https://deal.example/1", "image",
	    "https://img.example/1.jpg", NULL);
	add_item(&l, "SSD 2TB", "https://deal.example/2", NULL);
	/* not a web URL: no picture rather than a refused message */
	add_item(&l, "SSD 4TB", "https://deal.example/4", "image",
	    "javascript:alert(1)", NULL);
	build_fmt(NULL, "deals", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "list");
	assert_string_equal(str_at(root, "header_title"), "deals: 3 new");
	contents = json_object_get(root, "contents");
	assert_int_equal(json_array_size(contents), 3);
	c = json_array_get(contents, 0);
	assert_string_equal(str_at(c, "title"), "SSD 1TB");
	assert_string_equal(str_at(c, "image_url"),
	    "https://img.example/1.jpg");
	assert_link(c, "link", "https://deal.example/1");
	assert_null(json_object_get(json_array_get(contents, 1), "image_url"));
	assert_null(json_object_get(json_array_get(contents, 2), "image_url"));
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_one_item_with_a_picture_is_a_feed(void **state)
{
	static const struct message_format fmt = { "{title} · {price}",
		"{shop}", "{name} 핫딜" };
	struct item_list l;
	json_t *root, *c;
	char **out;
	size_t n;

	(void)state;
	item_list_init(&l);
	add_item(&l, "삼성 990 PRO 2TB", "https://deal.example/7", "image",
	    "http://img.example/7.png", "price", "199,000원", "shop", "11번가",
	    NULL);
	build_fmt(&fmt, "hotdeal", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "feed");
	assert_int_equal(json_object_size(root), 3);
	assert_string_equal(str_at(root, "button_title"), "열기");
	c = json_object_get(root, "content");
	assert_string_equal(str_at(c, "title"), "삼성 990 PRO 2TB · 199,000원");
	assert_string_equal(str_at(c, "description"), "hotdeal 핫딜\n11번가");
	assert_string_equal(str_at(c, "image_url"), "http://img.example/7.png");
	assert_link(c, "link", "https://deal.example/7");
	json_decref(root);
	message_list_free(out, n);
	/* the default templates: the header alone as the description */
	build_fmt(NULL, "hotdeal", MESSAGE_REMOVED, &l, 3, &out, &n);
	root = parse(out[0]);
	c = json_object_get(root, "content");
	assert_string_equal(str_at(c, "title"), "삼성 990 PRO 2TB");
	assert_string_equal(str_at(c, "description"), "hotdeal: 1 removed");
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
	/* without a usable picture: the text template of before */
	item_list_init(&l);
	add_item(&l, "x", "https://deal.example/8", "image", "/rel.png", NULL);
	build_fmt(NULL, "hotdeal", MESSAGE_ADDED, &l, 3, &out, &n);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "text");
	assert_string_equal(str_at(root, "text"), "hotdeal: 1 new\nx");
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_minimal_retry_of_a_feed_keeps_its_title_and_link(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;
	json_t *root;
	char **out, *min;
	size_t n;

	(void)state;
	/* the plain-text retry after -2 of a one-item feed */
	item_list_init(&l);
	add_item(&l, "RAM 32GB", "https://deal.example/5", "image",
	    "https://img.example/5.jpg", NULL);
	build_fmt(NULL, "hot", MESSAGE_ADDED, &l, 3, &out, &n);
	min = message_build_minimal(out[0], "https://fallback.example/", &err);
	assert_non_null(min);
	root = parse(min);
	assert_string_equal(str_at(root, "object_type"), "text");
	assert_string_equal(str_at(root, "text"), "RAM 32GB");
	assert_link(root, "link", "https://deal.example/5");
	json_decref(root);
	free(min);
	message_list_free(out, n);
	item_list_release(&l);
	/* a list: its header; not JSON: the fixed sentence, the fallback */
	items_numbered(&l, 2);
	build_fmt(NULL, "rust-blog", MESSAGE_ADDED, &l, 3, &out, &n);
	min = message_build_minimal(out[0], NULL, &err);
	root = parse(min);
	assert_string_equal(str_at(root, "text"), "rust-blog: 2 new");
	assert_link(root, "link", PAGE);
	json_decref(root);
	free(min);
	message_list_free(out, n);
	item_list_release(&l);
	min = message_build_minimal("{\"object_type\":", "https://f.example/",
	    &err);
	root = parse(min);
	assert_non_null(strstr(str_at(root, "text"), "outbox list"));
	assert_link(root, "link", "https://f.example/");
	json_decref(root);
	free(min);
}

static void
test_message_template_header_without_name_keeps_more(void **state)
{
	static const struct message_format fmt = { NULL, NULL,
		"{{새 글}} {count}개" };
	struct item_list l;
	json_t *root;
	char **out;
	size_t n;

	(void)state;
	items_numbered(&l, 10);
	build_fmt(&fmt, "w", MESSAGE_ADDED, &l, 1, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "header_title"),
	    "{새 글} 10개 (+7 more)");
	assert_string_equal(
	    str_at(json_array_get(json_object_get(root, "buttons"), 0),
		"title"),
	    "전체 보기");
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

/* ---- message_plan ---- */

struct plan_case {
	size_t n;
	int max;
	size_t nchunks;
	size_t sizes[4];
	size_t more;
};

static void
test_message_plan_table(void **state)
{
	static const struct plan_case cases[] = {
		{ 0, 3, 0, { 0 }, 0 },
		{ 1, 1, 1, { 1 }, 0 },
		{ 1, 2, 1, { 1 }, 0 },
		{ 1, 3, 1, { 1 }, 0 },
		{ 2, 1, 1, { 2 }, 0 },
		{ 2, 2, 1, { 2 }, 0 },
		{ 2, 3, 1, { 2 }, 0 },
		{ 3, 1, 1, { 3 }, 0 },
		{ 3, 2, 1, { 3 }, 0 },
		{ 3, 3, 1, { 3 }, 0 },
		{ 4, 1, 1, { 3 }, 1 },
		{ 4, 2, 2, { 2, 2 }, 0 },
		{ 4, 3, 2, { 2, 2 }, 0 },
		{ 5, 1, 1, { 3 }, 2 },
		{ 5, 2, 2, { 3, 2 }, 0 },
		{ 5, 3, 2, { 3, 2 }, 0 },
		{ 6, 1, 1, { 3 }, 3 },
		{ 6, 2, 2, { 3, 3 }, 0 },
		{ 6, 3, 2, { 3, 3 }, 0 },
		{ 7, 1, 1, { 3 }, 4 },
		{ 7, 2, 2, { 3, 3 }, 1 },
		{ 7, 3, 3, { 3, 2, 2 }, 0 },
		{ 50, 1, 1, { 3 }, 47 },
		{ 50, 2, 2, { 3, 3 }, 44 },
		{ 50, 3, 3, { 3, 3, 3 }, 41 },
		{ 10, 4, 4, { 3, 3, 2, 2 }, 0 },
		{ 5, 0, 1, { 3 }, 2 }, /* max < 1 counts as 1 */
		{ 5, -7, 1, { 3 }, 2 },
	};
	size_t i, j, sizes[8], nchunks, more;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct plan_case *c = &cases[i];

		memset(sizes, 0, sizeof(sizes));
		message_plan(c->n, c->max, sizes, &nchunks, &more);
		if (nchunks != c->nchunks || more != c->more)
			fail_msg("n=%zu max=%d: %zu chunks, %zu more", c->n,
			    c->max, nchunks, more);
		for (j = 0; j < nchunks; j++)
			if (sizes[j] != c->sizes[j])
				fail_msg("n=%zu max=%d: chunk %zu has %zu",
				    c->n, c->max, j, sizes[j]);
	}
}

static void
test_message_plan_never_makes_a_list_of_one(void **state)
{
	size_t n, j, sizes[64], nchunks, more, sum;
	int max;

	(void)state;
	for (n = 0; n <= 120; n++) {
		for (max = 1; max <= 12; max++) {
			message_plan(n, max, sizes, &nchunks, &more);
			assert_true(nchunks <= (size_t)max);
			sum = 0;
			for (j = 0; j < nchunks; j++) {
				assert_true(sizes[j] <= 3);
				assert_true(sizes[j] >= 2 || n == 1);
				sum += sizes[j];
			}
			assert_int_equal(sum + more, n);
			/* items are only left out when every slot is full */
			if (more > 0)
				assert_int_equal(sum, 3 * (size_t)max);
		}
	}
}

/* ---- message_build_format with the default templates ---- */

static void
test_message_one_item_is_a_text_template(void **state)
{
	struct item_list l;
	char **out;
	size_t n;
	json_t *root;

	(void)state;
	item_list_init(&l);
	item_list_add(&l, "Announcing Rust 1.80.0",
	    "https://blog.rust-lang.org/2024/07/25/Rust-1.80.0.html");
	build("rust-blog", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "object_type"), "text");
	assert_string_equal(str_at(root, "text"),
	    "rust-blog: 1 new\nAnnouncing Rust 1.80.0");
	assert_link(root, "link",
	    "https://blog.rust-lang.org/2024/07/25/Rust-1.80.0.html");
	assert_string_equal(str_at(root, "button_title"), "열기");
	assert_null(json_object_get(root, "buttons"));
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_one_item_without_link_opens_the_page(void **state)
{
	struct item_list l;
	char **out;
	size_t n;
	json_t *root;

	(void)state;
	item_list_init(&l);
	item_list_add(&l, "보안 공지", NULL);
	build("kr", PAGE, MESSAGE_REMOVED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "text"), "kr: 1 removed\n보안 공지");
	assert_link(root, "link", PAGE);
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_two_or_three_items_make_one_list(void **state)
{
	struct item_list l;
	char **out;
	size_t n, count;
	json_t *root;

	(void)state;
	for (count = 2; count <= 3; count++) {
		char header[64];

		items_numbered(&l, count);
		build("rust-blog", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
		assert_int_equal(n, 1);
		snprintf(header, sizeof(header), "rust-blog: %zu new", count);
		root = check_list(out[0], header, 0, count, "페이지 열기");
		json_decref(root);
		message_list_free(out, n);
		item_list_release(&l);
	}
}

static void
test_message_four_items_make_two_lists_of_two(void **state)
{
	struct item_list l;
	char **out;
	size_t n;

	(void)state;
	items_numbered(&l, 4);
	build("rust-blog", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 2);
	json_decref(
	    check_list(out[0], "rust-blog: 4 new", 0, 2, "페이지 열기"));
	json_decref(
	    check_list(out[1], "rust-blog: 4 new", 2, 2, "페이지 열기"));
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_seven_items_make_three_two_two(void **state)
{
	struct item_list l;
	char **out;
	size_t n;

	(void)state;
	items_numbered(&l, 7);
	build("w", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 3);
	json_decref(check_list(out[0], "w: 7 new", 0, 3, "페이지 열기"));
	json_decref(check_list(out[1], "w: 7 new", 3, 2, "페이지 열기"));
	json_decref(check_list(out[2], "w: 7 new", 5, 2, "페이지 열기"));
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_fifty_items_last_message_says_how_many_more(void **state)
{
	struct item_list l;
	char **out;
	size_t n;

	(void)state;
	items_numbered(&l, 50);
	build("rust-blog", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 3);
	json_decref(
	    check_list(out[0], "rust-blog: 50 new", 0, 3, "페이지 열기"));
	json_decref(
	    check_list(out[1], "rust-blog: 50 new", 3, 3, "페이지 열기"));
	json_decref(check_list(out[2], "rust-blog: 50 new (+41 more)", 6, 3,
	    "전체 보기"));
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_max_one_message_with_four_removed_items(void **state)
{
	struct item_list l;
	char **out;
	size_t n;

	(void)state;
	items_numbered(&l, 4);
	build("w", PAGE, MESSAGE_REMOVED, &l, 1, &out, &n);
	assert_int_equal(n, 1);
	json_decref(
	    check_list(out[0], "w: 4 removed (+1 more)", 0, 3, "전체 보기"));
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_zero_items_make_no_message(void **state)
{
	struct item_list l;
	char **out = (char **)&l;
	size_t n = 99;

	(void)state;
	item_list_init(&l);
	build("w", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 0);
	assert_null(out);
	build("w", PAGE, MESSAGE_ADDED, NULL, 3, &out, &n);
	assert_int_equal(n, 0);
	assert_null(out);
}

static void
test_message_unusable_item_links_fall_back_to_the_page(void **state)
{
	static const char *const bad[] = {
		"/2024/relative.html",
		"javascript:alert(1)",
		"ftp://example.com/",
		"data:text/html,hi",
		"https://",
		"http:///path",
		"https://exa mple.com/",
		"https://example.com/\x01",
		"https://example.com/\xff",
		"mailto:a@example.com",
		"//example.com/x",
	};
	struct item_list l;
	char **out, *longurl;
	size_t n, i;
	json_t *root, *contents;

	(void)state;
	longurl = repeat("a", 2100);
	memcpy(longurl, "https://x.io/", 13);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		item_list_init(&l);
		item_list_add(&l, "first",
		    i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : longurl);
		item_list_add(&l, "second", "HTTPS://Example.com/ok?q=1#f");
		build("w", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
		assert_int_equal(n, 1);
		root = parse(out[0]);
		contents = json_object_get(root, "contents");
		assert_link(json_array_get(contents, 0), "link", PAGE);
		assert_link(json_array_get(contents, 1), "link",
		    "HTTPS://Example.com/ok?q=1#f");
		json_decref(root);
		message_list_free(out, n);
		item_list_release(&l);
	}
	free(longurl);
}

static void
test_message_unusable_page_url_leaves_links_empty(void **state)
{
	struct item_list l;
	char **out;
	size_t n;
	json_t *root, *contents, *buttons;

	(void)state;
	item_list_init(&l);
	item_list_add(&l, "a", "https://example.com/a");
	item_list_add(&l, "b", "javascript:void(0)");
	build("w", "javascript:alert(1)", MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 1);
	root = parse(out[0]);
	assert_link(root, "header_link", NULL);
	contents = json_object_get(root, "contents");
	assert_link(json_array_get(contents, 0), "link",
	    "https://example.com/a");
	assert_link(json_array_get(contents, 1), "link", NULL);
	buttons = json_object_get(root, "buttons");
	assert_link(json_array_get(buttons, 0), "link", NULL);
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_url_ok_table(void **state)
{
	static const char *const good[] = {
		"http://a",
		"https://example.com",
		"https://example.com/a?b=c#d",
		"HTTP://EXAMPLE.COM/",
		"https://한국.kr/경로",
		"https://example.com/%20x",
		"https://x/\xef\xbf\xbd",
	};
	static const char *const bad[] = {
		"", "http:", "http://", "https:///x", "http://?q", "http://#f",
		"ftp://x", "javascript:alert(1)", " https://x", "https://x y",
		"https://x\n", "https://x\\y", "https://x/\xc0\xaf",
		"httpx://x", "file:///etc/passwd",
		/* clang-format off */
		"https://x/\xf0\x9f\x98" "x", /* ill-formed, 3 bytes */
		/* clang-format on */
	};
	char *longurl;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!message_url_ok(good[i]))
			fail_msg("refused '%s'", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (message_url_ok(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(message_url_ok(NULL));
	longurl = repeat("a", MESSAGE_URL_MAX);
	memcpy(longurl, "https://x.io/", 13);
	assert_true(message_url_ok(longurl)); /* exactly the limit */
	free(longurl);
	longurl = repeat("a", MESSAGE_URL_MAX + 1);
	memcpy(longurl, "https://x.io/", 13);
	assert_false(message_url_ok(longurl));
	free(longurl);
}

static void
test_message_hangul_text_of_200_syllables_is_cut_to_200(void **state)
{
	struct item_list l;
	char **out, *text;
	const char *t;
	size_t n;
	json_t *root;

	(void)state;
	text = repeat(GA, 200);
	item_list_init(&l);
	item_list_add(&l, text, NULL);
	build("w", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	root = parse(out[0]);
	t = str_at(root, "text");
	assert_int_equal(utf16_units(t), MESSAGE_TEXT_MAX);
	assert_true(strncmp(t, "w: 1 new\n" GA GA, 15) == 0);
	assert_true(ends_with(t, GA ELLIPSIS));
	/* 9 characters of header line, 190 syllables, the ellipsis */
	assert_int_equal(strlen(t), 9 + 190 * 3 + 3);
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
	free(text);
}

static void
test_message_long_titles_and_name_are_cut_but_count_stays(void **state)
{
	struct item_list l;
	char **out, *name, *title;
	const char *h, *ct;
	size_t n, i;
	json_t *root, *contents;

	(void)state;
	name = repeat("한", 300);
	title = repeat("글", 300);
	item_list_init(&l);
	for (i = 0; i < 50; i++)
		item_list_add(&l, title, NULL);
	build(name, PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	assert_int_equal(n, 3);
	root = parse(out[2]);
	h = str_at(root, "header_title");
	assert_true(utf16_units(h) <= MESSAGE_HEADER_MAX);
	assert_true(ends_with(h, "한" ELLIPSIS ": 50 new (+41 more)"));
	assert_int_equal(utf16_units(h), MESSAGE_HEADER_MAX);
	contents = json_object_get(root, "contents");
	for (i = 0; i < json_array_size(contents); i++) {
		ct = str_at(json_array_get(contents, i), "title");
		assert_int_equal(utf16_units(ct), MESSAGE_TITLE_MAX);
		assert_true(ends_with(ct, "글" ELLIPSIS));
	}
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
	free(name);
	free(title);
}

static void
test_message_titles_are_one_line(void **state)
{
	struct item_list l;
	char **out;
	size_t n;
	json_t *root, *contents;

	(void)state;
	item_list_init(&l);
	/* clang-format off */
	item_list_add(&l, "  a\tb\r\n\n c\x01" "d \x7f", NULL);
	/* clang-format on */
	item_list_add(&l, "", "https://example.com/only-link");
	item_list_add(&l, " \n ", NULL);
	build(" my\nwatch ", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "header_title"), "my watch: 3 new");
	contents = json_object_get(root, "contents");
	assert_string_equal(str_at(json_array_get(contents, 0), "title"),
	    "a b c d");
	/* no text: show the link; no text and no link: say so */
	assert_string_equal(str_at(json_array_get(contents, 1), "title"),
	    "https://example.com/only-link");
	assert_string_equal(str_at(json_array_get(contents, 2), "title"),
	    "(텍스트 없음)");
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

static void
test_message_json_special_characters_round_trip(void **state)
{
	static const char text[] = "\"quoted\" \\ back </script> & 100% + =";
	struct item_list l;
	char **out;
	size_t n;
	json_t *root;

	(void)state;
	item_list_init(&l);
	item_list_add(&l, text, NULL);
	item_list_add(&l, "x", NULL);
	build("a\"b", PAGE, MESSAGE_ADDED, &l, 3, &out, &n);
	root = parse(out[0]);
	assert_string_equal(str_at(root, "header_title"), "a\"b: 2 new");
	assert_string_equal(
	    str_at(json_array_get(json_object_get(root, "contents"), 0),
		"title"),
	    text);
	json_decref(root);
	message_list_free(out, n);
	item_list_release(&l);
}

/* assert_links_ok: every Link in `o` is one acceptable URL twice */
static void
assert_links_ok(json_t *o)
{
	const char *key, *web;
	json_t *v;
	size_t i;

	if (json_is_array(o)) {
		json_array_foreach(o, i, v)
			assert_links_ok(v);
		return;
	}
	if (!json_is_object(o))
		return;
	json_object_foreach(o, key, v) {
		if (strcmp(key, "link") != 0 &&
		    strcmp(key, "header_link") != 0) {
			assert_links_ok(v);
			continue;
		}
		assert_true(json_is_object(v));
		assert_int_equal(json_object_size(v), 2);
		web = str_at(v, "web_url");
		assert_true(message_url_ok(web));
		assert_string_equal(str_at(v, "mobile_web_url"), web);
	}
}

static void
assert_one_line(const char *s)
{
	for (; *s != '\0'; s++)
		assert_true((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* assert_template_ok: any template we make is within Kakao's limits */
static void
assert_template_ok(const char *json)
{
	json_t *root = parse(json), *contents, *buttons;
	const char *type = str_at(root, "object_type");
	const char *s;
	size_t i;

	if (strcmp(type, "text") == 0) {
		s = str_at(root, "text");
		assert_true(s[0] != '\0');
		assert_true(utf16_units(s) <= MESSAGE_TEXT_MAX);
		assert_true(json_is_object(json_object_get(root, "link")));
		s = json_string_value(json_object_get(root, "button_title"));
		if (s != NULL) {
			assert_true(utf16_units(s) <= MESSAGE_BUTTON_MAX);
			assert_one_line(s);
		}
	} else {
		assert_string_equal(type, "list");
		s = str_at(root, "header_title");
		assert_true(utf16_units(s) <= MESSAGE_HEADER_MAX);
		assert_one_line(s);
		contents = json_object_get(root, "contents");
		assert_true(json_array_size(contents) >= 2);
		assert_true(json_array_size(contents) <= 3);
		for (i = 0; i < json_array_size(contents); i++) {
			s = str_at(json_array_get(contents, i), "title");
			assert_true(utf16_units(s) <= MESSAGE_TITLE_MAX);
			assert_true(s[0] != '\0');
			assert_one_line(s);
		}
		buttons = json_object_get(root, "buttons");
		assert_int_equal(json_array_size(buttons), 1);
		s = str_at(json_array_get(buttons, 0), "title");
		assert_true(utf16_units(s) <= MESSAGE_BUTTON_MAX);
	}
	assert_links_ok(root);
	json_decref(root);
}

static uint32_t
lcg(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* random_bytes: `len` non-NUL bytes biased towards UTF-8 pieces */
static char *
random_bytes(uint32_t *seed, size_t len)
{
	/* clang-format off */
	static const char *const pieces[] = {
		/* 가, 😀, 하 as jamo, a combining acute, ZWJ, half a flag */
		GA, "\xf0\x9f\x98\x80", "\xe1\x84\x92\xe1\x85\xa1", "\xcc\x81",
		"\xe2\x80\x8d", "\xf0\x9f\x87\xb0",
		/* what JSON escapes, and ASCII */
		"\n", "\r", "\t", " ", "\"", "\\", "https://", "a",
		/* ill-formed: a surrogate, an overlong '/', a stray byte, a
		   truncated sequence */
		"\xed\xa0\x80", "\xc0\xaf", "\xff", "\xe2\x82",
	};
	/* clang-format on */
	char *s = malloc(len * 8 + 1); /* no piece is over 8 bytes */
	size_t o = 0, i;
	const char *p;
	unsigned char c;

	assert_non_null(s);
	for (i = 0; i < len; i++) {
		if (lcg(seed) % 2 == 0) {
			p = pieces[lcg(seed) %
				   (sizeof(pieces) / sizeof(pieces[0]))];
			memcpy(s + o, p, strlen(p));
			o += strlen(p);
		} else {
			c = (unsigned char)(lcg(seed) % 255 + 1);
			s[o++] = (char)c;
		}
	}
	s[o] = '\0';
	return s;
}

static void
test_message_arbitrary_bytes_give_valid_templates(void **state)
{
	uint32_t seed = 20240725;
	struct item_list l;
	char **out, *name, *page, *text, *link, *t;
	size_t n, i, round, count;
	struct kw_err err = { 0 };

	(void)state;
	for (round = 0; round < 300; round++) {
		name = random_bytes(&seed, lcg(&seed) % 300);
		page = random_bytes(&seed, lcg(&seed) % 40);
		count = lcg(&seed) % 9;
		item_list_init(&l);
		for (i = 0; i < count; i++) {
			text = random_bytes(&seed, lcg(&seed) % 400);
			link = random_bytes(&seed, lcg(&seed) % 40);
			item_list_add(&l, text, lcg(&seed) % 3 ? link : NULL);
			free(text);
			free(link);
		}
		build(name, round % 2 ? page : PAGE, MESSAGE_ADDED, &l,
		    (int)(round % 4), &out, &n);
		for (i = 0; i < n; i++)
			assert_template_ok(out[i]);
		message_list_free(out, n);
		t = message_build_text(name, page, name, &err);
		if (t != NULL)
			assert_template_ok(t);
		free(t);
		kw_err_clear(&err);
		item_list_release(&l);
		free(name);
		free(page);
	}
}

/* ---- message_build_text ---- */

static void
test_message_build_text_makes_a_text_template(void **state)
{
	struct kw_err err = { 0 };
	char *json;
	json_t *root;

	(void)state;
	json = message_build_text("안녕하세요\r\n두 번째 줄\rthird\n",
	    "https://developers.kakao.com", "바로 확인", &err);
	assert_non_null(json);
	root = parse(json);
	assert_string_equal(str_at(root, "object_type"), "text");
	assert_string_equal(str_at(root, "text"),
	    "안녕하세요\n두 번째 줄\nthird");
	assert_link(root, "link", "https://developers.kakao.com");
	assert_string_equal(str_at(root, "button_title"), "바로 확인");
	assert_int_equal(json_object_size(root), 4);
	json_decref(root);
	free(json);
}

static void
test_message_build_text_without_link_or_button(void **state)
{
	struct kw_err err = { 0 };
	char *json;
	json_t *root;

	(void)state;
	json = message_build_text("hi", NULL, NULL, &err);
	root = parse(json);
	assert_link(root, "link", NULL);
	assert_null(json_object_get(root, "button_title"));
	json_decref(root);
	free(json);

	json = message_build_text("hi", "javascript:alert(1)", " \t", &err);
	root = parse(json);
	assert_link(root, "link", NULL);
	assert_null(json_object_get(root, "button_title"));
	json_decref(root);
	free(json);
	assert_false(err.set);
}

static void
test_message_build_text_cuts_text_and_button(void **state)
{
	struct kw_err err = { 0 };
	char *json, *text;
	const char *t, *b;
	json_t *root;

	(void)state;
	text = repeat("😀", 150); /* 300 UTF-16 units */
	json = message_build_text(text, PAGE,
	    "아주 아주 아주 긴 버튼 제목입니다 정말로", &err);
	root = parse(json);
	t = str_at(root, "text");
	/* 99 emoji (198 units) + "…": the 100th would need 201 */
	assert_int_equal(utf16_units(t), 199);
	assert_int_equal(strlen(t), 99 * 4 + 3);
	assert_true(ends_with(t, "😀" ELLIPSIS));
	b = str_at(root, "button_title");
	assert_true(utf16_units(b) <= MESSAGE_BUTTON_MAX);
	assert_true(ends_with(b, ELLIPSIS));
	assert_true(strncmp(b, "아주 아주", strlen("아주 아주")) == 0);
	json_decref(root);
	free(json);
	free(text);
}

static void
test_message_build_text_refuses_empty_text(void **state)
{
	struct kw_err err = { 0 };

	(void)state;
	assert_null(message_build_text(" \n\t ", PAGE, NULL, &err));
	assert_true(err.set);
	assert_non_null(strstr(err.msg, "empty"));
	kw_err_clear(&err);
	assert_null(message_build_text(NULL, PAGE, NULL, &err));
	assert_true(err.set);
}

/* ---- message_cut ---- */

static void
check_cut(const char *in, size_t max, const char *want)
{
	char *got = message_cut(in, max);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("cut('%s', %zu) = '%s', want '%s'", in, max, got,
		    want);
	free(got);
}

static void
test_message_cut_ascii(void **state)
{
	(void)state;
	check_cut("hello world", 20, "hello world");
	check_cut("hello world", 11, "hello world");
	check_cut("hello world", 10, "hello wor" ELLIPSIS);
	check_cut("hello world", 8, "hello w" ELLIPSIS);
	check_cut("hello world", 7, "hello" ELLIPSIS); /* no "hello …" */
	check_cut("hello world", 1, ELLIPSIS);
	check_cut("hello world", 0, "");
	check_cut("", 5, "");
	check_cut(NULL, 5, "");
	/* clang-format off */
	check_cut("a\x01" "b", 5, "a\x01" "b"); /* controls kept */
	/* clang-format on */
}

static void
test_message_cut_replaces_invalid_utf8(void **state)
{
	(void)state;
	/* clang-format off */
	check_cut("\xff\xfe" "abc\xe2\x82", 20,
	    "\xef\xbf\xbd\xef\xbf\xbd" "abc\xef\xbf\xbd");
	/* surrogate: one U+FFFD per byte (maximal subparts) */
	check_cut("\xed\xa0\x80", 20, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* overlong '/' */
	check_cut("\xc0\xaf", 20, "\xef\xbf\xbd\xef\xbf\xbd");
	/* truncated emoji then ASCII: one U+FFFD */
	check_cut("\xf0\x9f\x98" "x", 20, "\xef\xbf\xbd" "x");
	/* clang-format on */
	/* above U+10FFFF */
	check_cut("\xf4\x90\x80\x80", 20,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_cut("\xff\xff\xff\xff", 3, "\xef\xbf\xbd\xef\xbf\xbd" ELLIPSIS);
}

/*
 * check_all_cuts: every cut of `s` for max 0..limit is valid UTF-8, within
 * max, ends with "…" exactly when cut, and keeps a byte prefix of `s`;
 * kept_bytes (NULL or limit+1 entries) receives that prefix's length
 */
static void
check_all_cuts(const char *s, size_t limit, size_t *kept_bytes)
{
	size_t max, total = utf16_units(s), keep;
	char *got;

	for (max = 0; max <= limit; max++) {
		got = message_cut(s, max);
		assert_non_null(got);
		assert_valid_utf8(got);
		assert_true(utf16_units(got) <= max);
		if (total <= max) {
			assert_string_equal(got, s);
			keep = strlen(s);
		} else if (max == 0) {
			assert_string_equal(got, "");
			keep = 0;
		} else {
			assert_true(ends_with(got, ELLIPSIS));
			keep = strlen(got) - 3;
			assert_true(strncmp(got, s, keep) == 0);
		}
		if (kept_bytes != NULL)
			kept_bytes[max] = keep;
		free(got);
	}
}

static void
test_message_cut_never_splits_a_hangul_syllable(void **state)
{
	static const char mixed[] =
	    "카카오톡 알림: Rust 1.80 출시 😀 보안 업데이트 🇰🇷 완료";
	char *s;
	size_t kept[202], max;

	(void)state;
	check_all_cuts(mixed, 40, NULL);
	s = repeat(GA, 200);
	check_all_cuts(s, 201, kept);
	for (max = 1; max < 200; max++)
		assert_int_equal(kept[max], (max - 1) * 3);
	free(s);
	/* a 201-syllable text cut to 200 is exactly 200 characters */
	s = repeat(GA, 201);
	{
		char *got = message_cut(s, 200);

		assert_int_equal(utf16_units(got), 200);
		assert_true(ends_with(got, GA ELLIPSIS));
		free(got);
	}
	free(s);
}

static void
test_message_cut_keeps_conjoining_jamo_together(void **state)
{
	/* "한" as L V T jamo (NFD), and "하" as L V */
	char *s = repeat("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"
			 "\xe1\x84\x92\xe1\x85\xa1",
	    10);
	size_t kept[60], max;

	(void)state;
	check_all_cuts(s, 55, kept);
	/* from 4: a whole 3-jamo syllable and "…" fit */
	for (max = 4; max <= 55; max++) {
		/* whole syllables only: 5 code points of 3 bytes per pair */
		size_t cps = kept[max] / 3;

		assert_true(cps % 5 == 0 || cps % 5 == 3);
	}
	free(s);
}

static void
test_message_cut_keeps_emoji_sequences_whole(void **state)
{
	/* family (ZWJ), thumbs up + skin tone, flag KR, e + acute */
	static const char fam[] = "👨\xe2\x80\x8d👩\xe2\x80\x8d👧";
	static const char thumbs[] = "👍\xf0\x9f\x8f\xbd";
	static const char flag[] = "\xf0\x9f\x87\xb0\xf0\x9f\x87\xb7";
	static const char acute[] = "e\xcc\x81";
	const char *const seqs[] = { fam, thumbs, flag, acute };
	size_t kept[64], i, max, len;
	char *s;

	(void)state;
	for (i = 0; i < 4; i++) {
		s = repeat(seqs[i], 6);
		len = strlen(seqs[i]);
		check_all_cuts(s, 60, kept);
		/*
		 * from the size where one whole sequence and "…" fit; below
		 * that a lone cluster is cut by code point (message.h)
		 */
		for (max = utf16_units(seqs[i]) + 1; max <= 60; max++)
			if (kept[max] % len != 0)
				fail_msg("seq %zu, max %zu: kept %zu bytes", i,
				    max, kept[max]);
		free(s);
	}
	/* 150 emoji (300 units) cut to 200 */
	s = repeat("😀", 150);
	{
		char *got = message_cut(s, 200);

		assert_int_equal(utf16_units(got), 199);
		free(got);
	}
	free(s);
}

static void
test_message_cut_keeps_thai_and_indic_clusters_whole(void **state)
{
	/*
	 * Words and their grapheme cluster boundaries in bytes, from
	 * Python's `regex` \X (independent of message.c): Thai with SARA AM
	 * (a SpacingMark) and tone marks, Bengali vowel signs and anusvara,
	 * Tamil vowel signs and pulli.
	 */
	static const struct {
		const char *word;
		/* cumulative, 0 first, the word's length last */
		size_t bounds[6];
		size_t nbounds;
	} words[] = {
		{ "น้ำ", { 0, 9 }, 2 },
		{ "สวัสดี", { 0, 3, 9, 12, 18 }, 5 },
		{ "বাংলা", { 0, 9, 15 }, 3 },
		{ "ভাষা", { 0, 6, 12 }, 3 },
		{ "தமிழ்", { 0, 3, 9, 15 }, 4 },
		{ "கொடி", { 0, 6, 12 }, 3 },
	};
	size_t kept[64], i, j, max, len, at;
	bool ok;
	char *s;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		s = repeat(words[i].word, 5);
		len = strlen(words[i].word);
		check_all_cuts(s, 60, kept);
		/* from 4: every cluster here is at most 3 units, plus "…" */
		for (max = 4; max <= 60; max++) {
			at = kept[max] % len;
			ok = false;
			for (j = 0; j < words[i].nbounds; j++)
				ok = ok || at == words[i].bounds[j];
			if (!ok)
				fail_msg("'%s' cut to %zu: kept %zu bytes, "
					 "inside a cluster",
				    words[i].word, max, kept[max]);
		}
		free(s);
	}
}

static void
test_message_count_chars_counts_utf16_units(void **state)
{
	(void)state;
	assert_int_equal(message_count_chars("abc"), 3);
	assert_int_equal(message_count_chars("가나"), 2);
	assert_int_equal(message_count_chars("😀"), 2);
	/* clang-format off */
	assert_int_equal(message_count_chars("\xff" "a"), 2);
	/* clang-format on */
	assert_int_equal(message_count_chars(""), 0);
	assert_int_equal(message_count_chars(NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_plan_table),
		cmocka_unit_test(test_message_plan_never_makes_a_list_of_one),
		cmocka_unit_test(test_message_one_item_is_a_text_template),
		cmocka_unit_test(
		    test_message_one_item_without_link_opens_the_page),
		cmocka_unit_test(test_message_two_or_three_items_make_one_list),
		cmocka_unit_test(test_message_four_items_make_two_lists_of_two),
		cmocka_unit_test(test_message_seven_items_make_three_two_two),
		cmocka_unit_test(
		    test_message_fifty_items_last_message_says_how_many_more),
		cmocka_unit_test(
		    test_message_max_one_message_with_four_removed_items),
		cmocka_unit_test(test_message_zero_items_make_no_message),
		cmocka_unit_test(
		    test_message_unusable_item_links_fall_back_to_the_page),
		cmocka_unit_test(
		    test_message_unusable_page_url_leaves_links_empty),
		cmocka_unit_test(test_message_url_ok_table),
		cmocka_unit_test(
		    test_message_hangul_text_of_200_syllables_is_cut_to_200),
		cmocka_unit_test(
		    test_message_long_titles_and_name_are_cut_but_count_stays),
		cmocka_unit_test(test_message_titles_are_one_line),
		cmocka_unit_test(
		    test_message_json_special_characters_round_trip),
		cmocka_unit_test(
		    test_message_arbitrary_bytes_give_valid_templates),
		cmocka_unit_test(test_message_build_text_makes_a_text_template),
		cmocka_unit_test(
		    test_message_build_text_without_link_or_button),
		cmocka_unit_test(test_message_build_text_cuts_text_and_button),
		cmocka_unit_test(test_message_build_text_refuses_empty_text),
		cmocka_unit_test(test_message_cut_ascii),
		cmocka_unit_test(test_message_cut_replaces_invalid_utf8),
		cmocka_unit_test(
		    test_message_cut_never_splits_a_hangul_syllable),
		cmocka_unit_test(
		    test_message_cut_keeps_conjoining_jamo_together),
		cmocka_unit_test(test_message_cut_keeps_emoji_sequences_whole),
		cmocka_unit_test(
		    test_message_cut_keeps_thai_and_indic_clusters_whole),
		cmocka_unit_test(test_message_count_chars_counts_utf16_units),
		cmocka_unit_test(test_message_template_check_table),
		cmocka_unit_test(
		    test_message_template_expand_fills_and_escapes),
		cmocka_unit_test(
		    test_message_default_templates_give_todays_messages),
		cmocka_unit_test(test_message_templates_fill_list_contents),
		cmocka_unit_test(
		    test_message_template_one_item_text_has_description),
		cmocka_unit_test(
		    test_message_templates_cut_hangul_at_the_limit),
		cmocka_unit_test(
		    test_message_template_header_cuts_the_name_first),
		cmocka_unit_test(test_message_items_with_pictures_show_them),
		cmocka_unit_test(
		    test_message_one_item_with_a_picture_is_a_feed),
		cmocka_unit_test(
		    test_message_minimal_retry_of_a_feed_keeps_its_title_and_link),
		cmocka_unit_test(
		    test_message_template_header_without_name_keeps_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
