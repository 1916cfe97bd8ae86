/*
 * test_extract_feed: feeds (RSS 2.0, RSS 1.0, Atom), XML documents
 * (camelCase names, namespaces, hostile DTDs), parser auto-detection and
 * per-item title/link expressions (extract_document, extract.h), on the
 * fixtures in tests/data/feeds/ (see SOURCES.md there) and inline ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

struct want {
	const char *text;
	const char *link; /* NULL: no link */
	const char *key;  /* NULL: no key */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *
fixture(const char *name, size_t *len)
{
	struct kw_err err = { 0 };
	const char *dir = getenv("KW_DATA_DIR");
	char path[4096];
	char *body;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/feeds/%s", dir, name);
	body = util_read_file(path, 1 << 22, len, &err);
	if (body == NULL)
		fail_msg("%s", err.msg);
	return body;
}

/* extract_document on body; returns its result, *used the parser */
static int
run(const char *body, size_t len, const char *ct, const char *xpath,
    const struct extract_opts *opts, const char *url, struct item_list *l,
    enum extract_parser *used, struct kw_err *err)
{
	struct extract_xpath *xp = NULL;
	int rc;

	if (xpath != NULL) {
		xp = extract_xpath_compile_ns(xpath,
		    opts ? opts->namespaces : NULL,
		    opts ? opts->nnamespaces : 0, err);
		if (xp == NULL)
			fail_msg("compile '%s': %s", xpath, err->msg);
	}
	item_list_init(l);
	rc = extract_document(body, len, ct, NULL, url, xp, opts, l, used, err);
	extract_xpath_free(xp);
	return rc;
}

static void
run_fixture_ok(const char *name, const char *ct, const char *xpath,
    const struct extract_opts *opts, const char *url, struct item_list *l,
    enum extract_parser want_parser)
{
	struct kw_err err = { 0 };
	enum extract_parser used = EXTRACT_PARSER_AUTO;
	size_t len;
	char *body = fixture(name, &len);

	if (run(body, len, ct, xpath, opts, url, l, &used, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	assert_string_equal(extract_parser_name(used),
	    extract_parser_name(want_parser));
	free(body);
}

static void
assert_items(const struct item_list *l, const struct want *w, size_t n)
{
	size_t i;

	for (i = 0; i < l->n && i < n; i++) {
		assert_string_equal(l->v[i].text, w[i].text);
		if (w[i].link == NULL)
			assert_null(l->v[i].link);
		else if (l->v[i].link == NULL)
			fail_msg("item %zu '%s': no link, want %s", i,
			    w[i].text, w[i].link);
		else
			assert_string_equal(l->v[i].link, w[i].link);
		if (w[i].key == NULL)
			assert_null(l->v[i].key);
		else if (l->v[i].key == NULL)
			fail_msg("item %zu '%s': no key", i, w[i].text);
		else
			assert_string_equal(l->v[i].key, w[i].key);
	}
	assert_int_equal(l->n, n);
}

/* ---- feeds ---------------------------------------------------------- */

static void
test_feed_naver_blog_rss2_entries_with_links_keys_dates(void **state)
{
	static const struct want w[] = {
		{ "을지로 노포 냉면집 후기",
		    "https://blog.naver.com/tastytrip/"
		    "223456789012?fromRss=true&trackingCode=rss",
		    "https://blog.naver.com/tastytrip/223456789012" },
		{ "오늘의 점심",
		    "https://blog.naver.com/tastytrip/"
		    "223456700001?fromRss=true&trackingCode=rss",
		    "https://blog.naver.com/tastytrip/223456700001" },
		{ "오늘의 점심",
		    "https://blog.naver.com/tastytrip/"
		    "223456700002?fromRss=true&trackingCode=rss",
		    "https://blog.naver.com/tastytrip/223456700002" },
	};
	struct item_list l;

	(void)state;
	/* Naver serves it as text/xml;charset=utf-8: no xpath, auto */
	run_fixture_ok("naver-blog-rss2.xml", "text/xml;charset=utf-8", NULL,
	    NULL, "https://rss.blog.naver.com/tastytrip.xml", &l,
	    EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	assert_string_equal(item_field(&l.v[0], "date"),
	    "Tue, 01 Dec 2026 21:10:00 +0900");
	/* the description's HTML read as text: tags gone, &nbsp; a space */
	assert_string_equal(item_field(&l.v[0], "summary"),
	    "줄이 길었지만 육수가 일품 ...");
	assert_string_equal(item_field(&l.v[2], "summary"), "된장찌개");
	item_list_release(&l);
}

static void
test_feed_duplicate_titles_distinct_guids_stay_distinct(void **state)
{
	static const struct want w[] = {
		{ "공지합니다",
		    "http://board.example/bbs/board.php?bo_table=free",
		    "free-1001" },
		{ "공지합니다",
		    "http://board.example/bbs/board.php?bo_table=free",
		    "free-1002" },
		/* no title: the summary stands in; the permalink guid is
		 * the link and the key */
		{ "제목 없는 글의 본문이 제목 대신 쓰입니다",
		    "http://board.example/bbs/board.php?bo_table=free&wr_id=1003",
		    "http://board.example/bbs/board.php?bo_table=free&wr_id=1003" },
	};
	struct item_list l;

	(void)state;
	run_fixture_ok("gnuboard-dup-guid.xml", "text/xml", NULL, NULL,
	    "http://board.example/bbs/rss.php?bo_table=free", &l,
	    EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	item_list_release(&l);
}

static void
test_feed_euckr_declared_in_xml_declaration_only(void **state)
{
	static const struct want w[] = {
		{ "똠양꿍 맛집 추천 부탁드려요",
		    "http://old.example.co.kr/bbs/view.php?no=77",
		    "http://old.example.co.kr/bbs/view.php?no=77" },
		/* no guid: the link is the key */
		{ "햏자 모임 공지",
		    "http://old.example.co.kr/bbs/view.php?no=78",
		    "http://old.example.co.kr/bbs/view.php?no=78" },
	};
	struct item_list l;

	(void)state;
	/* no charset in the header: the declaration's EUC-KR (as CP949) */
	run_fixture_ok("euckr-rss2.xml", "text/xml", NULL, NULL,
	    "http://old.example.co.kr/rss.xml", &l, EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	item_list_release(&l);
	/* a feed mislabelled text/html; charset=utf-8 still reads right */
	run_fixture_ok("euckr-rss2.xml", "text/html; charset=utf-8", NULL, NULL,
	    "http://old.example.co.kr/rss.xml", &l, EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	item_list_release(&l);
}

static void
test_feed_rss1_rdf(void **state)
{
	static const struct want w[] = {
		{ "First story", "http://news.example/a",
		    "http://news.example/a" },
		{ "Second story", "http://news.example/b",
		    "http://news.example/b" },
	};
	struct item_list l;

	(void)state;
	run_fixture_ok("rss1.rdf", "application/rdf+xml", NULL, NULL,
	    "http://news.example/index.rdf", &l, EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	assert_string_equal(item_field(&l.v[0], "date"),
	    "2026-11-30T08:00:00+09:00");
	assert_null(item_field(&l.v[1], "date"));
	item_list_release(&l);
}

static void
test_feed_atom_alternate_links_against_xml_base(void **state)
{
	static const struct want w[] = {
		/* xml:base "https://github.com/" then "curl/curl/releases/" */
		{ "8.11.0",
		    "https://github.com/curl/curl/releases/tag/curl-8_11_0",
		    "tag:github.com,2008:Repository/569041/curl-8_11_0" },
		/* rel="self" skipped; no rel means alternate; type="html" */
		{ "8.10.1 patch",
		    "https://github.com/curl/curl/releases/tag/curl-8_10_1",
		    "tag:github.com,2008:Repository/569041/curl-8_10_1" },
		{ "8.10.0 big",
		    "https://github.com/curl/curl/releases/tag/curl-8_10_0",
		    "tag:github.com,2008:Repository/569041/curl-8_10_0" },
	};
	struct item_list l;

	(void)state;
	run_fixture_ok("github-releases.atom", "application/atom+xml", NULL,
	    NULL, "https://github.com/curl/curl/releases.atom", &l,
	    EXTRACT_PARSER_FEED);
	assert_items(&l, w, N(w));
	assert_string_equal(item_field(&l.v[0], "summary"),
	    "Changes: wcurl added");
	assert_string_equal(item_field(&l.v[1], "summary"), "Bug fixes");
	assert_string_equal(item_field(&l.v[0], "date"),
	    "2026-11-06T07:14:03Z");
	item_list_release(&l);
}

static void
test_feed_atom_relative_links_without_xml_base_use_feed_url(void **state)
{
	static const char atom[] =
	    "<feed xmlns='http://www.w3.org/2005/Atom'>"
	    "<entry><id>1</id><title>one</title>"
	    "<link href='../posts/1.html'/></entry>"
	    "<entry><id>2</id><title>two</title>"
	    "<link rel='alternate' href='?p=2'/></entry></feed>";
	static const struct want w[] = {
		{ "one", "https://example.org/posts/1.html", "1" },
		{ "two", "https://example.org/blog/atom.xml?p=2", "2" },
	};
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(run(atom, strlen(atom), NULL, NULL, NULL,
			     "https://example.org/blog/atom.xml", &l, NULL,
			     &err),
	    0);
	assert_items(&l, w, N(w));
	item_list_release(&l);
}

static void
test_feed_that_turns_into_an_html_error_page_fails(void **state)
{
	struct extract_opts feed = { .parser = EXTRACT_PARSER_FEED };
	struct kw_err err = { 0 };
	enum extract_parser used;
	struct item_list l;
	size_t len;
	char *body = fixture("error-page.html", &len);

	(void)state;
	/* parser: feed */
	assert_int_equal(run(body, len, "text/html; charset=utf-8", NULL, &feed,
			     "https://rss.blog.naver.com/x.xml", &l, &used,
			     &err),
	    -1);
	assert_int_equal(l.n, 0);
	assert_non_null(strstr(err.msg, "expected a feed, got an HTML page"));
	assert_non_null(strstr(err.msg, "text/html"));
	/* parser: auto, no xpath (as a feed watch is written) */
	kw_err_clear(&err);
	assert_int_equal(run(body, len, "text/html", NULL, NULL,
			     "https://rss.blog.naver.com/x.xml", &l, &used,
			     &err),
	    -1);
	assert_int_equal(used, EXTRACT_PARSER_HTML);
	assert_non_null(strstr(err.msg, "HTML"));
	free(body);
}

static void
test_feed_xpath_selects_among_entries(void **state)
{
	static const struct want rss_w[] = {
		{ "오늘의 점심",
		    "https://blog.naver.com/tastytrip/"
		    "223456700001?fromRss=true&trackingCode=rss",
		    "https://blog.naver.com/tastytrip/223456700001" },
		{ "오늘의 점심",
		    "https://blog.naver.com/tastytrip/"
		    "223456700002?fromRss=true&trackingCode=rss",
		    "https://blog.naver.com/tastytrip/223456700002" },
	};
	static const struct want atom_w[] = {
		{ "8.10.1 patch",
		    "https://github.com/curl/curl/releases/tag/curl-8_10_1",
		    "tag:github.com,2008:Repository/569041/curl-8_10_1" },
	};
	struct item_list l;

	(void)state;
	/* a node inside an entry selects the entry */
	run_fixture_ok("naver-blog-rss2.xml", NULL,
	    "//item/title[contains(., '점심')]", NULL, NULL, &l,
	    EXTRACT_PARSER_FEED);
	assert_items(&l, rss_w, N(rss_w));
	item_list_release(&l);
	/* Atom elements through the built-in atom: prefix */
	run_fixture_ok("github-releases.atom", NULL,
	    "//atom:entry[atom:summary]", NULL, NULL, &l, EXTRACT_PARSER_FEED);
	assert_items(&l, atom_w, N(atom_w));
	item_list_release(&l);
}

static void
test_feed_title_and_link_expressions_override(void **state)
{
	struct extract_opts o = { .title = "concat(title, ' (', author, ')')",
		.link = "guid" };
	struct item_list l;

	(void)state;
	run_fixture_ok("naver-blog-rss2.xml", NULL, NULL, &o, NULL, &l,
	    EXTRACT_PARSER_FEED);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].text, "을지로 노포 냉면집 후기 (tastytrip)");
	assert_string_equal(l.v[0].link,
	    "https://blog.naver.com/tastytrip/223456789012");
	item_list_release(&l);
}

/* ---- XML ------------------------------------------------------------ */

static void
test_xml_camelcase_names_match_and_url_children_link(void **state)
{
	static const struct want w[] = {
		{ "2027년 청사 청소용역 입찰 공고",
		    "https://www.g2b.go.kr:8081/ep/invitation/publish/"
		    "bidInfoDtl.do?bidno=20261201234&bidseq=00",
		    NULL },
		{ "도서관 전산장비 구매",
		    "https://www.g2b.go.kr:8081/ep/invitation/publish/"
		    "bidInfoDtl.do?bidno=20261201235&bidseq=00",
		    NULL },
	};
	struct extract_opts o = { .title = "bidNtceNm" };
	struct item_list l;

	(void)state;
	/* the HTML parser lower-cases names: //item/bidNtceNm found none */
	run_fixture_ok("g2b-bid-list.xml", "application/xml;charset=UTF-8",
	    "//item", &o,
	    "https://apis.data.go.kr/1230000/BidPublicInfoService", &l,
	    EXTRACT_PARSER_XML);
	assert_items(&l, w, N(w));
	item_list_release(&l);
	/* the element itself: its text, no link */
	run_fixture_ok("g2b-bid-list.xml", NULL, "//item/bidNtceNm", NULL, NULL,
	    &l, EXTRACT_PARSER_XML);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].text, "도서관 전산장비 구매");
	assert_null(l.v[1].link);
	item_list_release(&l);
}

static void
test_xml_whole_item_text_has_spaces_between_elements(void **state)
{
	struct item_list l;

	(void)state;
	run_fixture_ok("g2b-bid-list.xml", NULL, "//item[1]", NULL, NULL, &l,
	    EXTRACT_PARSER_XML);
	assert_int_equal(l.n, 1);
	assert_non_null(strstr(l.v[0].text,
	    "20261201234 2027년 청사 청소용역 입찰 공고 서울특별시 종로구"));
	item_list_release(&l);
}

static void
test_xml_namespaces_map_prefixes(void **state)
{
	static const char *const ns[] = { "n", "urn:example:notices" };
	static const struct want w[] = {
		{ "행복주택 입주자 모집",
		    "https://apply.example.kr/notice/view?id=1", NULL },
		{ "청년 매입임대 공고",
		    "https://apply.example.kr/notice/view?id=2", NULL },
	};
	struct extract_opts o = { .namespaces = ns,
		.nnamespaces = 1,
		.title = "n:subject",
		.link = "n:path" };
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	run_fixture_ok("namespaced.xml", "text/xml", "//n:notice", &o,
	    "https://apply.example.kr/api", &l, EXTRACT_PARSER_XML);
	assert_items(&l, w, N(w));
	item_list_release(&l);
	/* an undeclared prefix is an error at compile time */
	assert_null(extract_xpath_compile_ns("//x:notice", ns, 1, &err));
	assert_non_null(strstr(err.msg, "undefined namespace prefix 'x'"));
	/* the same prefix given another URI matches the other elements */
	{
		static const char *const other[] = { "n", "urn:example:other" };
		struct extract_opts o2 = { .namespaces = other,
			.nnamespaces = 1 };

		run_fixture_ok("namespaced.xml", NULL, "//n:subject", &o2, NULL,
		    &l, EXTRACT_PARSER_XML);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0].text, "다른 이름공간");
		item_list_release(&l);
	}
}

static void
test_xml_external_entities_are_never_loaded(void **state)
{
	struct item_list l;
	size_t i;

	(void)state;
	run_fixture_ok("xxe.xml", "application/xml", "//title", NULL, NULL, &l,
	    EXTRACT_PARSER_XML);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "before after");
	assert_string_equal(l.v[1].text, "net end");
	for (i = 0; i < l.n; i++)
		assert_null(strstr(l.v[i].text, "root:"));
	item_list_release(&l);
}

static void
test_xml_billion_laughs_is_not_expanded(void **state)
{
	struct item_list l;
	struct timespec t0, t1;
	double ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_fixture_ok("billion-laughs.xml", NULL, "//item", NULL, NULL, &l,
	    EXTRACT_PARSER_XML);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "a b");
	/* predefined entities still read after the hostile ones */
	assert_string_equal(l.v[1].text, "second & <ok>");
	/* 10^9 "lol"s would take minutes and gigabytes; generous bound */
	assert_true(ms < 2000.0);
	item_list_release(&l);
}

static void
test_xml_undeclared_html_entities_read_as_characters(void **state)
{
	static const char doc[] =
	    "<r><i>a&nbsp;b &copy; &bogus; &amp; c</i></r>";
	struct extract_opts o = { .parser = EXTRACT_PARSER_XML };
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(
	    run(doc, strlen(doc), NULL, "//i", &o, NULL, &l, NULL, &err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "a b \xC2\xA9 & c");
	item_list_release(&l);
}

static void
test_xml_parser_given_html_error_page_fails(void **state)
{
	struct extract_opts o = { .parser = EXTRACT_PARSER_XML };
	struct kw_err err = { 0 };
	struct item_list l;
	size_t len;
	char *body = fixture("error-page.html", &len);

	(void)state;
	assert_int_equal(
	    run(body, len, "text/html", "//item", &o, NULL, &l, NULL, &err),
	    -1);
	assert_non_null(strstr(err.msg, "expected XML, got an HTML page"));
	free(body);
}

/* ---- detection and HTML fields -------------------------------------- */

static void
test_detect_parser_from_content_type_then_content(void **state)
{
	(void)state;
	assert_int_equal(extract_detect_parser("{}", 2, "application/json"),
	    EXTRACT_PARSER_JSON);
	assert_int_equal(extract_detect_parser("[1]", 3,
			     "application/vnd.api+json; charset=utf-8"),
	    EXTRACT_PARSER_JSON);
	assert_int_equal(
	    extract_detect_parser("<x/>", 4, "application/atom+xml"),
	    EXTRACT_PARSER_FEED);
	assert_int_equal(extract_detect_parser("<response/>", 11, "text/xml"),
	    EXTRACT_PARSER_XML);
	assert_int_equal(extract_detect_parser("<?xml version='1.0'?>\n"
					       "<!-- c --><rss version='2.0'/>",
			     52, "text/xml"),
	    EXTRACT_PARSER_FEED);
	assert_int_equal(extract_detect_parser(" [ {\"a\": 1} ]", 13, NULL),
	    EXTRACT_PARSER_JSON);
	assert_int_equal(extract_detect_parser("<rdf:RDF/>", 10, "text/plain"),
	    EXTRACT_PARSER_FEED);
	assert_int_equal(
	    extract_detect_parser("<!DOCTYPE html><html>", 21, "text/html"),
	    EXTRACT_PARSER_HTML);
	/* mislabelled feed (WHATWG "sniffing a mislabeled feed") */
	assert_int_equal(
	    extract_detect_parser("\xEF\xBB\xBF<feed>", 9, "text/html"),
	    EXTRACT_PARSER_FEED);
	assert_int_equal(
	    extract_detect_parser("<html/>", 7, "application/xhtml+xml"),
	    EXTRACT_PARSER_HTML);
	assert_int_equal(extract_detect_parser(NULL, 0, NULL),
	    EXTRACT_PARSER_HTML);
}

static void
test_html_title_and_link_relative_to_each_item(void **state)
{
	static const char page[] =
	    "<html><head><base href='https://shop.example/goods/'></head>"
	    "<body><ul>"
	    "<li class='g'><span class='name'>A 세트</span>"
	    "<a href='view?id=1'>자세히</a><a href='cart?id=1'>담기</a>"
	    "<em data-url='/p/1'>x</em></li>"
	    "<li class='g'><span class='name'>B 세트</span>"
	    "<a href='view?id=2'>자세히</a><a href='cart?id=2'>담기</a>"
	    "<em data-url='/p/2'>y</em></li>"
	    "</ul></body></html>";
	static const struct want w1[] = {
		{ "A 세트", "https://shop.example/goods/cart?id=1", NULL },
		{ "B 세트", "https://shop.example/goods/cart?id=2", NULL },
	};
	static const struct want w2[] = {
		{ "A 세트", "https://shop.example/p/1", NULL },
		{ "B 세트", "https://shop.example/p/2", NULL },
	};
	struct extract_opts o = { .title = ".//span[@class='name']",
		.link = "a[2]" };
	struct kw_err err = { 0 };
	enum extract_parser used;
	struct item_list l;

	(void)state;
	assert_int_equal(run(page, strlen(page), "text/html",
			     "//li[@class='g']", &o, "https://shop.example/",
			     &l, &used, &err),
	    0);
	assert_int_equal(used, EXTRACT_PARSER_HTML);
	assert_items(&l, w1, N(w1));
	item_list_release(&l);
	o.link = "em/@data-url";
	assert_int_equal(run(page, strlen(page), "text/html",
			     "//li[@class='g']", &o, "https://shop.example/",
			     &l, &used, &err),
	    0);
	assert_items(&l, w2, N(w2));
	item_list_release(&l);
}

static void
test_parser_names_round_trip(void **state)
{
	enum extract_parser p;

	(void)state;
	assert_int_equal(extract_parser_from_name("feed", &p), 0);
	assert_int_equal(p, EXTRACT_PARSER_FEED);
	assert_string_equal(extract_parser_name(EXTRACT_PARSER_JSON), "json");
	assert_int_equal(extract_parser_from_name("rss", &p), -1);
	assert_int_equal(extract_parser_from_name("HTML", &p), -1);
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

/* the built-in fields of feed entries: author and image in their forms */
static void
test_feed_builtin_author_and_image(void **state)
{
	static const char rss[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\""
	    " xmlns:media=\"http://search.yahoo.com/mrss/\""
	    " xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\""
	    " xmlns:content=\"http://purl.org/rss/1.0/modules/content/\">"
	    "<channel><title>딜</title>"
	    "<item><title>enclosure</title><link>https://d.example/1</link>"
	    "<author>a@d.example (김철수)</author>"
	    "<enclosure url=\"https://d.example/a.mp3\" type=\"audio/mpeg\"/>"
	    "<enclosure url=\"/img/1.jpg\" type=\"image/jpeg\"/></item>"
	    "<item><title>thumbnail</title><link>https://d.example/2</link>"
	    "<dc:creator>이영희</dc:creator>"
	    "<media:group><media:content url=\"https://m.example/2.png\""
	    " medium=\"image\"/></media:group></item>"
	    "<item><title>itunes</title><link>https://d.example/3</link>"
	    "<itunes:image href=\"https://p.example/3.jpg\"/></item>"
	    "<item><title>html</title><link>https://d.example/4</link>"
	    "<description><![CDATA[<p>가격 <IMG alt=x"
	    " src='//cdn.example/4.jpg?a=1&amp;b=2'></p>]]></description>"
	    "</item>"
	    "<item><title>none</title><link>https://d.example/5</link>"
	    "<description>no picture</description></item>"
	    "</channel></rss>";
	static const char atom[] =
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\">"
	    "<title>t</title><author><name>피드 주인</name></author>"
	    "<entry><title>a</title><id>1</id>"
	    "<link href=\"https://a.example/1\"/>"
	    "<link rel=\"enclosure\" type=\"image/png\" href=\"p/1.png\"/>"
	    "</entry>"
	    "<entry><title>b</title><id>2</id><author><name>박</name></author>"
	    "<link href=\"https://a.example/2\"/></entry></feed>";
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(run(rss, strlen(rss), "application/rss+xml", NULL,
			     NULL, "https://d.example/feed", &l, NULL, &err),
	    0);
	assert_int_equal(l.n, 5);
	assert_string_equal(item_field(&l.v[0], "author"),
	    "a@d.example (김철수)");
	/* the image enclosure, not the audio one; resolved */
	assert_string_equal(item_field(&l.v[0], "image"),
	    "https://d.example/img/1.jpg");
	assert_string_equal(item_field(&l.v[1], "author"), "이영희");
	assert_string_equal(item_field(&l.v[1], "image"),
	    "https://m.example/2.png");
	assert_string_equal(item_field(&l.v[2], "image"),
	    "https://p.example/3.jpg");
	assert_string_equal(item_field(&l.v[3], "image"),
	    "https://cdn.example/4.jpg?a=1&b=2");
	assert_null(item_field(&l.v[4], "image"));
	assert_null(item_field(&l.v[4], "author"));
	item_list_release(&l);
	assert_int_equal(run(atom, strlen(atom), "application/atom+xml", NULL,
			     NULL, "https://a.example/feed.atom", &l, NULL,
			     &err),
	    0);
	assert_int_equal(l.n, 2);
	assert_string_equal(item_field(&l.v[0], "author"), "피드 주인");
	assert_string_equal(item_field(&l.v[0], "image"),
	    "https://a.example/p/1.png");
	assert_string_equal(item_field(&l.v[1], "author"), "박");
	item_list_release(&l);
}

/* fields: XPaths on HTML items (text, attribute, string(), image, lazy
 * images, missing) and on feed entries (replacing a built-in) */
static void
test_fields_on_html_and_feed_items(void **state)
{
	static const char page[] =
	    "<html><head><base href=\"https://shop.example/deals/\"></head>"
	    "<body><ul>"
	    "<li data-shop=\"G마켓\"><a href=\"1\">SSD</a>"
	    "<span class=\"price\"> 89,000\n원 </span>"
	    "<img class=\"t\" src=\"blank.gif\" data-original=\"/i/1.jpg\">"
	    "</li>"
	    "<li><a href=\"2\">HDD</a><span class=\"price\"></span>"
	    "<img class=\"t\" src=\"//cdn.example/2.png\"></li>"
	    "</ul></body></html>";
	static const char *const fields[] = {
		"price",
		".//span[@class='price']",
		"shop",
		"string(@data-shop)",
		"image",
		"descendant-or-self::img",
		"n",
		"count(.//a)",
		"href",
		"(descendant-or-self::a)/@href",
	};
	static const char *const ffields[] = {
		"summary",
		"string(title)",
		"guid",
		"guid",
	};
	struct extract_opts o = { .parser = EXTRACT_PARSER_HTML,
		.fields = fields,
		.nfields = 5 };
	struct kw_err err = { 0 };
	struct item_list l;
	char *feed;
	size_t len;

	(void)state;
	assert_int_equal(run(page, strlen(page), "text/html", "//li", &o,
			     "https://shop.example/", &l, NULL, &err),
	    0);
	assert_int_equal(l.n, 2);
	assert_string_equal(item_field(&l.v[0], "price"), "89,000 원");
	assert_string_equal(item_field(&l.v[0], "shop"), "G마켓");
	/* a lazy image: data-original before the placeholder src */
	assert_string_equal(item_field(&l.v[0], "image"),
	    "https://shop.example/i/1.jpg");
	assert_string_equal(item_field(&l.v[0], "n"), "1");
	assert_string_equal(item_field(&l.v[0], "href"), "1");
	/* empty values leave the field unset */
	assert_null(item_field(&l.v[1], "price"));
	assert_null(item_field(&l.v[1], "shop"));
	assert_string_equal(item_field(&l.v[1], "image"),
	    "https://cdn.example/2.png");
	assert_int_equal(l.v[1].nfields, 3);
	item_list_release(&l);
	/* on a feed: a declared field replaces the built-in of its name */
	feed = fixture("naver-blog-rss2.xml", &len);
	o.parser = EXTRACT_PARSER_FEED;
	o.fields = ffields;
	o.nfields = 2;
	assert_int_equal(run(feed, len, "application/rss+xml", NULL, &o,
			     "https://rss.blog.naver.com/x.xml", &l, NULL,
			     &err),
	    0);
	assert_true(l.n > 0);
	assert_string_equal(item_field(&l.v[0], "summary"), l.v[0].text);
	assert_non_null(item_field(&l.v[0], "guid"));
	assert_non_null(item_field(&l.v[0], "date"));
	item_list_release(&l);
	free(feed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_feed_naver_blog_rss2_entries_with_links_keys_dates),
		cmocka_unit_test(
		    test_feed_duplicate_titles_distinct_guids_stay_distinct),
		cmocka_unit_test(
		    test_feed_euckr_declared_in_xml_declaration_only),
		cmocka_unit_test(test_feed_rss1_rdf),
		cmocka_unit_test(
		    test_feed_atom_alternate_links_against_xml_base),
		cmocka_unit_test(
		    test_feed_atom_relative_links_without_xml_base_use_feed_url),
		cmocka_unit_test(
		    test_feed_that_turns_into_an_html_error_page_fails),
		cmocka_unit_test(test_feed_xpath_selects_among_entries),
		cmocka_unit_test(test_feed_title_and_link_expressions_override),
		cmocka_unit_test(
		    test_xml_camelcase_names_match_and_url_children_link),
		cmocka_unit_test(
		    test_xml_whole_item_text_has_spaces_between_elements),
		cmocka_unit_test(test_xml_namespaces_map_prefixes),
		cmocka_unit_test(test_xml_external_entities_are_never_loaded),
		cmocka_unit_test(test_xml_billion_laughs_is_not_expanded),
		cmocka_unit_test(
		    test_xml_undeclared_html_entities_read_as_characters),
		cmocka_unit_test(test_xml_parser_given_html_error_page_fails),
		cmocka_unit_test(
		    test_detect_parser_from_content_type_then_content),
		cmocka_unit_test(
		    test_html_title_and_link_relative_to_each_item),
		cmocka_unit_test(test_parser_names_round_trip),
		cmocka_unit_test(test_feed_builtin_author_and_image),
		cmocka_unit_test(test_fields_on_html_and_feed_items),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
