/*
 * tests for the key module: link normalisation, key modes, key_pattern,
 * and the saved real boards in ../shared/testdata/realpages, whose posts
 * are identified independently by tests/tools/realpages_posts.py (lxml +
 * html5lib, a site-specific post-id regex on each title's href).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "kakaowatch/diff.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/key.h"
#include "kakaowatch/util.h"

static void
assert_norm(const char *in, const char *want)
{
	char *got = key_link_normalise(in);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("normalise '%s': got '%s', want '%s'", in, got, want);
	free(got);
}

static void
test_key_normalise_drops_paging_search_sort_and_fragments(void **state)
{
	(void)state;
	/* gnuboard: page, search and sort state around wr_id */
	assert_norm("https://x.example/bbs/board.php?bo_table=free&wr_id=5"
		    "&page=3&sca=%ea%b3%b5&sfl=wr_subject&stx=abc&sst=wr_hit"
		    "&sod=desc&spt=-1",
	    "https://x.example/bbs/board.php?bo_table=free&wr_id=5");
	/* parameter order does not matter */
	assert_norm("https://x.example/bbs/board.php?wr_id=5&bo_table=free",
	    "https://x.example/bbs/board.php?bo_table=free&wr_id=5");
	/* zeroboard (ppomppu): divpage, an empty parameter */
	assert_norm("https://www.ppomppu.co.kr/zboard/view.php?id=ppomppu"
		    "&page=1&divpage=114&&no=717553",
	    "https://www.ppomppu.co.kr/zboard/view.php?id=ppomppu&no=717553");
	/* ruliweb: view and page; "?" alone goes */
	assert_norm("https://bbs.ruliweb.com/market/board/1020/read/38542"
		    "?view=thumbnail&page=1",
	    "https://bbs.ruliweb.com/market/board/1020/read/38542");
	assert_norm("https://bbs.ruliweb.com/market/board/1020/read/38542?",
	    "https://bbs.ruliweb.com/market/board/1020/read/38542");
	/* comment anchors and fragments */
	assert_norm("https://x.example/hot/4289446460#4289446460_comment",
	    "https://x.example/hot/4289446460");
	/* clien: od and po; other parameters stay */
	assert_norm("https://www.clien.net/service/board/park/19242823?od=T31"
		    "&po=0&category=0&groupCd=",
	    "https://www.clien.net/service/board/park/19242823"
	    "?category=0&groupCd=");
	/* tracking */
	assert_norm("https://a.example/p/1?utm_source=x&UTM_Medium=y&fbclid=z",
	    "https://a.example/p/1");
}

static void
test_key_normalise_scheme_host_port_and_escapes(void **state)
{
	(void)state;
	assert_norm("HTTPS://WWW.Example.COM:443/A%2fb?Q=%c3%a9",
	    "https://www.example.com/A%2Fb?Q=%C3%A9");
	assert_norm("http://example.com:80", "http://example.com/");
	assert_norm("http://example.com:8080/x", "http://example.com:8080/x");
	assert_norm("https://example.com:80/x", "https://example.com:80/x");
	assert_norm("https://user@Example.com/", "https://user@example.com/");
	/* repeated names keep their order; names sort bytewise */
	assert_norm("https://e.com/?b=2&a=2&a=1", "https://e.com/?a=2&a=1&b=2");
	/* not http(s): only the fragment goes */
	assert_norm("mailto:a@b.example#x", "mailto:a@b.example");
	assert_norm("", "");
	/* the names are matched whole, case-insensitively */
	assert_int_equal(key_param_ignored("PAGE", 4), 1);
	assert_int_equal(key_param_ignored("pages", 5), 0);
	assert_int_equal(key_param_ignored("wr_id", 5), 0);
	assert_int_equal(key_param_ignored("no", 2), 0);
	assert_int_equal(key_param_ignored("p", 1), 0); /* WordPress ?p=ID */
}

static void
list_add(struct item_list *l, const char *text, const char *link)
{
	assert_int_equal(item_list_add(l, text, link), 0);
}

static void
test_key_auto_uses_links_when_distinct(void **state)
{
	struct key_spec spec = { KEY_AUTO, NULL };
	struct item_list l;
	enum key_mode mode;
	struct kw_err err = { 0 };

	(void)state;
	item_list_init(&l);
	list_add(&l, "특가 [3]", "https://b.example/view.php?no=1&page=1");
	list_add(&l, "공지", "https://b.example/view.php?no=2&page=1");
	/* the same post twice (pinned and in the list, once with its
	 * comment count) is still distinct */
	list_add(&l, "특가 [3]", "https://b.example/view.php?no=1&page=1");
	list_add(&l, "특가", "https://b.example/view.php?no=1&page=1#c");
	assert_int_equal(
	    key_assign(&l, &spec, "https://b.example/list.php", &mode, &err),
	    0);
	assert_int_equal(mode, KEY_LINK);
	assert_string_equal(l.v[0].key, "link:https://b.example/view.php?no=1");
	assert_string_equal(l.v[1].key, "link:https://b.example/view.php?no=2");
	assert_string_equal(l.v[2].key, l.v[0].key);
	assert_string_equal(l.v[3].key, l.v[0].key);
	item_list_release(&l);
}

static void
test_key_auto_falls_back_to_text_and_link(void **state)
{
	struct key_spec spec = { KEY_AUTO, NULL };
	struct item_list l;
	enum key_mode mode;
	struct kw_err err = { 0 };

	(void)state;
	/* links all "#" (resolved to the page itself) */
	item_list_init(&l);
	list_add(&l, "one", "https://b.example/list.php?page=1#");
	list_add(&l, "two", "https://b.example/list.php#");
	assert_int_equal(key_assign(&l, &spec,
			     "https://b.example/list.php?page=1", &mode, &err),
	    0);
	assert_int_equal(mode, KEY_TEXT_LINK);
	assert_string_equal(l.v[0].key, "text+link:one" KEY_SEP);
	assert_string_equal(l.v[1].key, "text+link:two" KEY_SEP);
	item_list_release(&l);

	/* javascript: links (extract gives NULL): keyed by text alone,
	 * while an item with a link beside them is keyed by it */
	item_list_init(&l);
	list_add(&l, "one", NULL);
	list_add(&l, "two", "https://b.example/a");
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_int_equal(mode, KEY_LINK);
	assert_string_equal(l.v[0].key, "text+link:one" KEY_SEP);
	assert_string_equal(l.v[1].key, "link:https://b.example/a");
	item_list_release(&l);

	/* two different posts behind one link */
	item_list_init(&l);
	list_add(&l, "one", "https://b.example/go");
	list_add(&l, "two", "https://b.example/go?page=2");
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_int_equal(mode, KEY_TEXT_LINK);
	assert_string_not_equal(l.v[0].key, l.v[1].key);
	item_list_release(&l);
}

static void
test_key_modes_and_pattern(void **state)
{
	struct kw_err err = { 0 };
	struct regex *re;
	struct key_spec spec = { KEY_LINK, NULL };
	struct item_list l;
	enum key_mode mode;
	char *k, *s;

	(void)state;
	re = regex_compile("[?&]wr_id=(\\d+)", 0, NULL, &err);
	assert_non_null(re);
	spec.pattern = re;
	item_list_init(&l);
	list_add(&l, "a [1]",
	    "https://g.example/bbs/board.php?bo_table=f"
	    "&wr_id=77&page=2");
	list_add(&l, "no match", "https://g.example/bbs/notice.php?id=3");
	list_add(&l, "no link", NULL);
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_int_equal(mode, KEY_LINK);
	assert_string_equal(l.v[0].key, "re:77");
	assert_string_equal(l.v[1].key,
	    "link:https://g.example/bbs/notice.php?id=3");
	assert_string_equal(l.v[2].key, "text+link:no link" KEY_SEP);
	/* key_compute agrees with key_assign */
	k = key_compute("a [2]", l.v[0].link, KEY_LINK, re, NULL, &err);
	assert_string_equal(k, "re:77");
	free(k);
	s = key_spec_string(KEY_LINK, re);
	assert_string_equal(s, "link re:[?&]wr_id=(\\d+)");
	free(s);
	item_list_release(&l);
	regex_free(re);

	/* the first group that took part in the match is the key */
	re = regex_compile("document_srl=(\\d+)|/(\\d+)$", 0, NULL, &err);
	assert_non_null(re);
	k = key_compute("t", "https://www.fmkorea.com/10041875674", KEY_LINK,
	    re, NULL, &err);
	assert_string_equal(k, "re:10041875674");
	free(k);
	k = key_compute("t",
	    "https://www.fmkorea.com/index.php?mid=hotdeal"
	    "&document_srl=1200490157&listStyle=webzine",
	    KEY_LINK, re, NULL, &err);
	assert_string_equal(k, "re:1200490157");
	free(k);
	regex_free(re);

	item_list_init(&l);
	list_add(&l, "same title", "https://g.example/1");
	list_add(&l, "same title", "https://g.example/2");
	spec.pattern = NULL;
	spec.mode = KEY_TEXT;
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_string_equal(l.v[0].key, "text:same title");
	assert_string_equal(l.v[1].key, l.v[0].key);
	spec.mode = KEY_TEXT_LINK;
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_string_not_equal(l.v[1].key, l.v[0].key);
	item_list_release(&l);

	assert_int_equal(key_mode_parse("text+link", &mode), 0);
	assert_int_equal(mode, KEY_TEXT_LINK);
	assert_int_equal(key_mode_parse("Link", &mode), -1);
	assert_string_equal(key_mode_name(KEY_AUTO), "auto");
}

static void
test_key_source_keys_of_feeds_under_auto(void **state)
{
	struct key_spec spec = { KEY_AUTO, NULL };
	struct item_list l;
	enum key_mode mode;
	struct kw_err err = { 0 };
	char *k;

	(void)state;
	item_list_init(&l);
	/* two feed entries with guids and the same link, one page item */
	list_add(&l, "entry one", "https://f.example/post");
	l.v[0].key = strdup("tag:f.example,2026:1");
	list_add(&l, "entry two", "https://f.example/post");
	l.v[1].key = strdup("tag:f.example,2026:2");
	list_add(&l, "page item", "https://f.example/p/3");
	assert_int_equal(key_assign(&l, &spec, NULL, &mode, &err), 0);
	assert_string_equal(l.v[0].key, "id:tag:f.example,2026:1");
	assert_string_equal(l.v[1].key, "id:tag:f.example,2026:2");
	/* the shared link of the entries does not make auto text+link */
	assert_int_equal(mode, KEY_LINK);
	assert_string_equal(l.v[2].key, "link:https://f.example/p/3");
	/* a remembered source key stays when keys are remade under auto,
	 * and follows an explicit mode */
	k = key_recompute("entry one", "https://f.example/post", l.v[0].key,
	    &spec, KEY_LINK, NULL, &err);
	assert_string_equal(k, "id:tag:f.example,2026:1");
	free(k);
	spec.mode = KEY_TEXT;
	k = key_recompute("entry one", "https://f.example/post", l.v[0].key,
	    &spec, KEY_TEXT, NULL, &err);
	assert_string_equal(k, "text:entry one");
	free(k);
	/* 0.1's rows have no key: made from text and link */
	spec.mode = KEY_AUTO;
	k = key_recompute("page item", "https://f.example/p/3?page=2", NULL,
	    &spec, KEY_LINK, NULL, &err);
	assert_string_equal(k, "link:https://f.example/p/3");
	free(k);
	item_list_release(&l);
}

static void
test_key_display_shows_the_separator(void **state)
{
	char out[64];

	(void)state;
	key_display("text+link:a" KEY_SEP "https://e.com/", out, sizeof(out));
	assert_string_equal(out, "text+link:a @ https://e.com/");
	/* cut at a character boundary */
	key_display("text:가나다", out, 10);
	assert_string_equal(out, "text:가");
}

static void
test_key_diff_text_edited_ignores_comment_counts(void **state)
{
	(void)state;
	assert_false(diff_text_edited("특가 [3]", "특가 [4]"));
	assert_false(diff_text_edited("특가 \t[3]", "특가"));
	assert_false(diff_text_edited("글 (12)", "글 (13)"));
	assert_false(diff_text_edited("글 [+5]", "글 [+6]"));
	assert_true(diff_text_edited("오늘의 특가", "오늘의 특가 (마감)"));
	assert_true(diff_text_edited("특가 [3]", "특가2 [4]"));
	assert_true(diff_text_edited("a", NULL));
	assert_false(diff_text_edited(NULL, NULL));
}

/* ---- the saved boards ---- */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf != NULL) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* a python3 that has lxml and html5lib, or NULL */
static const char *
find_python(void)
{
	static const char *const candidates[] = { "/usr/bin/python3",
		"python3" };
	static char cmd[512];
	const char *env = getenv("KW_PYTHON");
	size_t i;

	if (env != NULL && env[0] != '\0')
		return env;
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		snprintf(cmd, sizeof(cmd),
		    "%s -c 'import lxml.html, html5lib' >/dev/null 2>&1",
		    candidates[i]);
		if (system(cmd) == 0)
			return candidates[i];
	}
	return NULL;
}

static json_t *
board_posts(const char *dir)
{
	const char *src = getenv("KW_SOURCE_DIR");
	const char *py = find_python();
	char cmd[2048];
	json_error_t jerr;
	json_t *root;
	FILE *p;

	if (py == NULL) {
		print_message("skipped: no python3 with lxml and html5lib "
			      "(apt install python3-lxml python3-html5lib)\n");
		return NULL;
	}
	snprintf(cmd, sizeof(cmd), "%s %s/tests/tools/realpages_posts.py '%s'",
	    py, src != NULL ? src : "..", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	root = json_loadf(p, 0, &jerr);
	assert_int_equal(pclose(p), 0);
	if (root == NULL)
		fail_msg("realpages_posts.py: bad JSON: %s", jerr.text);
	return root;
}

static void
test_key_real_boards_one_key_per_post_and_stable_between_moments(void **state)
{
	const char *src = getenv("KW_SOURCE_DIR");
	char dir[1024], path[1200];
	json_t *root, *boards, *b, *posts, *pi, *pj;
	struct extract_xpath *xp;
	struct key_spec spec = { KEY_AUTO, NULL };
	struct kw_err err = { 0 };
	struct stat sb;
	/* every key seen with the post id it belongs to, across files of a
	 * board (url): a post seen at two moments must get the same key */
	struct {
		const char *url, *id;
		char *key;
		const char *file;
	} *seen = NULL;
	size_t nseen = 0, cap = 0, nboards, bi, i, j, nsame_across = 0;
	enum key_mode mode;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/../shared/testdata/realpages",
	    src != NULL ? src : "..");
	if (stat(dir, &sb) != 0) {
		print_message("skipped: %s is absent\n", dir);
		skip();
	}
	root = board_posts(dir);
	if (root == NULL)
		skip();
	boards = json_object_get(root, "boards");
	nboards = json_array_size(boards);
	assert_true(nboards >= 15);
	json_array_foreach(boards, bi, b) {
		const char *file =
		    json_string_value(json_object_get(b, "file"));
		const char *url = json_string_value(json_object_get(b, "url"));
		const char *xpath =
		    json_string_value(json_object_get(b, "xpath"));
		struct item_list items;
		size_t len = 0, nposts;
		char *body;

		posts = json_object_get(b, "posts");
		nposts = json_array_size(posts);
		/* the XPath selects the same in an HTML5 tree */
		assert_int_equal(nposts,
		    json_integer_value(json_object_get(b, "html5_count")));
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		body = slurp(path, &len);
		assert_non_null(body);
		xp = extract_xpath_compile(xpath, &err);
		assert_non_null(xp);
		item_list_init(&items);
		if (extract_items(body, len, NULL, NULL, url, xp, &items,
			&err) != 0)
			fail_msg("%s: %s", file, err.msg);
		if (items.n != nposts)
			fail_msg("%s: %zu items, the reference finds %zu posts",
			    file, items.n, nposts);
		assert_int_equal(key_assign(&items, &spec, url, &mode, &err),
		    0);
		/* real boards have distinct post links: keyed by link */
		if (mode != KEY_LINK)
			fail_msg("%s: auto chose text+link", file);
		for (i = 0; i < items.n; i++) {
			pi = json_array_get(posts, i);
			for (j = i + 1; j < items.n; j++) {
				pj = json_array_get(posts, j);
				bool same_id =
				    json_equal(json_object_get(pi, "id"),
					json_object_get(pj, "id"));
				bool same_key =
				    strcmp(items.v[i].key, items.v[j].key) == 0;
				if (same_id != same_key)
					fail_msg("%s: posts %zu (%s) and %zu "
						 "(%s): keys '%s' and '%s'",
					    file, i,
					    json_string_value(
						json_object_get(pi, "id")),
					    j,
					    json_string_value(
						json_object_get(pj, "id")),
					    items.v[i].key, items.v[j].key);
			}
			/* and against the other moments of this board */
			for (j = 0; j < nseen; j++) {
				if (strcmp(seen[j].url, url) != 0 ||
				    strcmp(seen[j].file, file) == 0 ||
				    strcmp(seen[j].id,
					json_string_value(
					    json_object_get(pi, "id"))) != 0)
					continue;
				if (strcmp(seen[j].key, items.v[i].key) != 0)
					fail_msg("post %s: key '%s' in %s, "
						 "'%s' in %s",
					    seen[j].id, seen[j].key,
					    seen[j].file, items.v[i].key, file);
				nsame_across++;
			}
		}
		for (i = 0; i < items.n; i++) {
			if (nseen == cap) {
				cap = cap ? cap * 2 : 256;
				seen = realloc(seen, cap * sizeof(*seen));
				assert_non_null(seen);
			}
			seen[nseen].url = url;
			seen[nseen].file = file;
			seen[nseen].id = json_string_value(
			    json_object_get(json_array_get(posts, i), "id"));
			seen[nseen].key = strdup(items.v[i].key);
			nseen++;
		}
		item_list_release(&items);
		extract_xpath_free(xp);
		free(body);
	}
	/* ruliweb's pinned notice is on all three saved moments, with
	 * "?view=thumbnail&page=1" at one and "?" at the others */
	assert_true(nsame_across >= 3);
	print_message("%zu boards, %zu posts, %zu matches across moments\n",
	    nboards, nseen, nsame_across);
	for (i = 0; i < nseen; i++)
		free(seen[i].key);
	free(seen);
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_key_normalise_drops_paging_search_sort_and_fragments),
		cmocka_unit_test(
		    test_key_normalise_scheme_host_port_and_escapes),
		cmocka_unit_test(test_key_auto_uses_links_when_distinct),
		cmocka_unit_test(test_key_auto_falls_back_to_text_and_link),
		cmocka_unit_test(test_key_modes_and_pattern),
		cmocka_unit_test(test_key_source_keys_of_feeds_under_auto),
		cmocka_unit_test(test_key_display_shows_the_separator),
		cmocka_unit_test(
		    test_key_diff_text_edited_ignores_comment_counts),
		cmocka_unit_test(
		    test_key_real_boards_one_key_per_post_and_stable_between_moments),
	};
	int rc;

	extract_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	extract_global_cleanup();
	return rc;
}
