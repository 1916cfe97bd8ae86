/*
 * test_extract: charset decision, HTML parsing and XPath items (docs/design.md
 * §2.3) on fixtures in tests/data/html/ (see SOURCES.md there) and small pages
 * written inline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

struct want {
	const char *text;
	const char *link; /* NULL: the item has no link */
};

#define NWANT(w) (sizeof(w) / sizeof((w)[0]))

static char *
fixture(const char *name, size_t *len)
{
	struct kw_err err = { 0 };
	const char *dir = getenv("KW_DATA_DIR");
	char path[4096];
	char *body;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/html/%s", dir, name);
	body = util_read_file(path, 1 << 20, len, &err);
	if (body == NULL)
		fail_msg("%s", err.msg);
	return body;
}

/* utf8_valid: an independent well-formedness check of the output */
static int
utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	int n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xE0) == 0xC0) {
			n = 1;
			cp = *s & 0x1F;
		} else if ((*s & 0xF0) == 0xE0) {
			n = 2;
			cp = *s & 0x0F;
		} else if ((*s & 0xF8) == 0xF0) {
			n = 3;
			cp = *s & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n + 1;
	}
	return 1;
}

/* run extract_items on `len` bytes; the call must succeed */
static void
extract_ok(const char *body, size_t len, const char *xpath,
    const char *page_url, const char *content_type, const char *encoding,
    struct item_list *l)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	size_t i;

	xp = extract_xpath_compile(xpath, &err);
	if (xp == NULL)
		fail_msg("compile '%s': %s", xpath, err.msg);
	item_list_init(l);
	if (extract_items(body, len, content_type, encoding, page_url, xp, l,
		&err) != 0)
		fail_msg("extract '%s': %s", xpath, err.msg);
	extract_xpath_free(xp);
	for (i = 0; i < l->n; i++) {
		assert_true(utf8_valid(l->v[i].text));
		assert_true(l->v[i].text[0] != '\0');
		if (l->v[i].link != NULL)
			assert_true(utf8_valid(l->v[i].link));
	}
}

static void
extract_str(const char *html, const char *xpath, const char *page_url,
    struct item_list *l)
{
	extract_ok(html, strlen(html), xpath, page_url, NULL, NULL, l);
}

static void
extract_fixture(const char *name, const char *xpath, const char *page_url,
    const char *content_type, const char *encoding, struct item_list *l)
{
	size_t len;
	char *body = fixture(name, &len);

	extract_ok(body, len, xpath, page_url, content_type, encoding, l);
	free(body);
}

static void
assert_items(struct item_list *l, const struct want *w, size_t n)
{
	size_t i;

	for (i = 0; i < l->n && i < n; i++) {
		assert_string_equal(l->v[i].text, w[i].text);
		if (w[i].link == NULL) {
			if (l->v[i].link != NULL)
				fail_msg("item %zu '%s': link '%s', want none",
				    i, l->v[i].text, l->v[i].link);
		} else {
			if (l->v[i].link == NULL)
				fail_msg("item %zu '%s': no link, want '%s'", i,
				    l->v[i].text, w[i].link);
			assert_string_equal(l->v[i].link, w[i].link);
		}
	}
	assert_int_equal(l->n, n);
	item_list_release(l);
}

/* ---- real pages ---------------------------------------------------------- */

static void
test_extract_urlwatch_headings_get_their_permalink(void **state)
{
	static const struct want w[] = {
		{ "Quick Start¶",
		    "https://urlwatch.example/docs/introduction.html"
		    "#quick-start" },
		{ "How it works¶",
		    "https://urlwatch.example/docs/introduction.html"
		    "#how-it-works" },
		{ "Jobs and Filters¶",
		    "https://urlwatch.example/docs/introduction.html"
		    "#jobs-and-filters" },
		{ "Reporters¶",
		    "https://urlwatch.example/docs/introduction.html"
		    "#reporters" },
	};
	struct item_list l;

	(void)state;
	extract_fixture("urlwatch-introduction.html",
	    "//div[@class='body']//h2",
	    "https://urlwatch.example/docs/introduction.html", NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_text_node_match_has_no_link(void **state)
{
	static const struct want w[] = {
		{ "Quick Start", NULL },
		{ "How it works", NULL },
		{ "Jobs and Filters", NULL },
		{ "Reporters", NULL },
	};
	struct item_list l;

	(void)state;
	extract_fixture("urlwatch-introduction.html", "//h2/text()",
	    "https://urlwatch.example/docs/introduction.html", NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_libffi_toc_links_and_entities(void **state)
{
	static const struct want w[] = {
		{ "What is libffi?",
		    "file:///usr/share/doc/libffi8/html/Introduction.html" },
		{ "Using libffi",
		    "file:///usr/share/doc/libffi8/html/Using-libffi.html" },
		{ "Memory Usage",
		    "file:///usr/share/doc/libffi8/html/Memory-Usage.html" },
		{ "Missing Features",
		    "file:///usr/share/doc/libffi8/html/Missing-Features.html" },
		{ "Index", "file:///usr/share/doc/libffi8/html/Index.html" },
	};
	static const struct want header[] = {
		/* "&nbsp; [" collapses to one space; first <a> inside */
		{ "Next: What is libffi? [Index]",
		    "file:///usr/share/doc/libffi8/html/Introduction.html" },
	};
	static const struct want copyright[] = {
		{ "Copyright © 2008–2019, 2021, 2022 Anthony Green and Red "
		  "Hat, Inc.",
		    NULL },
	};
	const char *url = "file:///usr/share/doc/libffi8/html/index.html";
	struct item_list l;

	(void)state;
	extract_fixture("libffi-index.html", "//ul[@class='section-toc']/li/a",
	    url, NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
	extract_fixture("libffi-index.html", "(//div[@class='header'])[1]/p",
	    url, NULL, NULL, &l);
	assert_items(&l, header, NWANT(header));
	extract_fixture("libffi-index.html", "//p[starts-with(., 'Copyright')]",
	    url, NULL, NULL, &l);
	assert_items(&l, copyright, NWANT(copyright));
}

static void
test_extract_libxslt_xhtml_page(void **state)
{
	static const struct want nav[] = {
		{ "imports",
		    "https://xmlsoft.example/XSLT/html/libxslt-imports.html" },
		{ "API documentation",
		    "https://xmlsoft.example/XSLT/html/index.html" },
		{ "Home", "https://xmlsoft.example/XSLT/index.html" },
		{ "namespaces", "https://xmlsoft.example/XSLT/html/"
				"libxslt-namespaces.html" },
	};
	/* <h3><a name=... id=...></a>...: an <a> without href is no link */
	static const struct want h3[] = {
		{ "Macro: NODE_IS_KEYED", NULL },
		{ "Function: xsltAddKey", NULL },
		{ "Function: xsltFreeDocumentKeys", NULL },
		{ "Function: xsltFreeKeys", NULL },
		{ "Function: xsltGetKey", NULL },
		{ "Function: xsltInitCtxtKeys", NULL },
	};
	const char *url = "https://xmlsoft.example/XSLT/html/libxslt-keys.html";
	size_t len;
	char *body = fixture("libxslt-keys.html", &len);
	struct item_list l;

	(void)state;
	/* <?xml encoding="ISO-8859-1"?> and the <meta>: windows-1252 */
	assert_string_equal(extract_detect_charset(body, len, NULL, NULL),
	    "CP1252");
	extract_ok(body, len, "//th/a", url, NULL, NULL, &l);
	assert_items(&l, nav, NWANT(nav));
	extract_ok(body, len, "//h3", url, NULL, NULL, &l);
	assert_items(&l, h3, NWANT(h3));
	free(body);
}

/* ---- Korean pages ------------------------------------------------------- */

static void
test_extract_euckr_page_declared_by_meta_only(void **state)
{
	static const struct want w[] = {
		{ "2024학년도 2학기 수강신청 일정 안내",
		    "http://cs.hanbit.example/board/"
		    "view.php?bo_table=notice&wr_id=412" },
		{ "졸업논문 제출 안내 (8월 졸업 대상자) [3]",
		    "http://cs.hanbit.example/board/"
		    "view.php?bo_table=notice&wr_id=411" },
		{ "<캡스톤디자인> 최종 발표회 결과 공지",
		    "http://cs.hanbit.example/board/"
		    "view.php?bo_table=notice&wr_id=410" },
		{ "하계 방학 중 학과사무실 운영 시간 변경 (09:00~16:00)",
		    "http://cs.hanbit.example/board/"
		    "view.php?bo_table=notice&wr_id=409" },
		/* href="javascript:alert(...)": dropped */
		{ "장학금 신청 서류 문의", NULL },
	};
	static const struct want footer[] = {
		{ "Copyright © 한빛대학교 컴퓨터공학과. All rights reserved.",
		    NULL },
	};
	const char *url =
	    "http://cs.hanbit.example/board/list.php?bo_table=notice";
	size_t len;
	char *body = fixture("euckr-notice.html", &len);
	struct item_list l;

	(void)state;
	assert_string_equal(extract_detect_charset(body, len, NULL, NULL),
	    "CP949");
	extract_ok(body, len, "//td[@class='subject']", url, NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
	extract_ok(body, len, "//div[@id='footer']/p", url, NULL, NULL, &l);
	assert_items(&l, footer, NWANT(footer));
	/* the same with an agreeing HTTP header */
	extract_ok(body, len, "//td[@class='subject']", url,
	    "text/html; charset=EUC-KR", NULL, &l);
	assert_items(&l, w, NWANT(w));
	free(body);
}

static const struct want cp949_board[] = {
	{ "똠양꿍 맛집 추천 부탁드려요",
	    "http://hyeng.example/bbs/read.php?id=free&no=1027&page=1" },
	{ "햏자들 정모 후기 (사진 많음)",
	    "http://hyeng.example/bbs/read.php?id=free&no=1026&page=1" },
	{ "뷁! 오늘 시험 완전 망했음",
	    "http://hyeng.example/bbs/read.php?id=free&no=1025&page=1" },
	{ "쀍쀍 이 글자 보이시나요? 똠방각하 햏햏 뷁",
	    "http://hyeng.example/bbs/read.php?id=free&no=1024&page=1" },
};

static void
test_extract_cp949_page_declared_by_http_header_only(void **state)
{
	static const char *const labels[] = {
		"text/html; charset=euc-kr",
		"text/html;charset=\"ks_c_5601-1987\"",
		"text/html; charset=x-windows-949",
		"text/html; charset=windows-949",
		"text/html; charset=KS_C_5601",
		"text/html; charset=cp949",
	};
	const char *url = "http://hyeng.example/bbs/list.php?id=free";
	struct kw_err err = { 0 };
	size_t len, i;
	char *body = fixture("cp949-board.html", &len);
	struct item_list l;

	(void)state;
	/* the page declares nothing itself */
	assert_null(extract_detect_charset(body, len, NULL, NULL));
	/* CP949 extension syllables under every euc-kr label */
	for (i = 0; i < NWANT(labels); i++) {
		assert_string_equal(
		    extract_detect_charset(body, len, labels[i], NULL),
		    "CP949");
		extract_ok(body, len, "//td[@class='subject']/a", url,
		    labels[i], NULL, &l);
		assert_items(&l, cp949_board, NWANT(cp949_board));
	}
	/* without the header it is not UTF-8: read as CP949, as a browser in
	 * a Korean locale does (it used to give replacement characters) */
	extract_ok(body, len, "//td[@class='subject']/a", url, NULL, NULL, &l);
	assert_items(&l, cp949_board, NWANT(cp949_board));
	/* unless default_encoding: says otherwise */
	assert_int_equal(extract_set_default_encoding("windows-1252", &err), 0);
	extract_ok(body, len, "//td[@class='subject']/a", url, NULL, NULL, &l);
	assert_int_equal(l.n, 4);
	assert_string_not_equal(l.v[0].text, cp949_board[0].text);
	item_list_release(&l);
	assert_int_equal(extract_set_default_encoding(NULL, &err), 0);
	assert_int_equal(extract_set_default_encoding("klingon", &err), -1);
	assert_non_null(strstr(err.msg, "klingon"));
	/* a UTF-8 page stays UTF-8 whatever the default */
	assert_int_equal(extract_set_default_encoding("euc-kr", &err), 0);
	extract_str("<p>\xEA\xB0\x80\xEB\x82\x98</p>", "//p", NULL, &l);
	assert_string_equal(l.v[0].text, "가나");
	assert_int_equal(extract_set_default_encoding(NULL, &err), 0);
	item_list_release(&l);
	free(body);
}

static void
test_extract_lying_meta_needs_encoding_override(void **state)
{
	static const struct want w[] = {
		{ "똠방 마을 여름 축제 일정 안내",
		    "http://ddom.example/news/view?idx=301" },
		{ "햏복한 어르신 건강강좌 참가자 모집",
		    "http://ddom.example/news/view?idx=300" },
		{ "주민자치회 정기회의 결과 (7월)",
		    "http://ddom.example/news/view?idx=299" },
	};
	const char *url = "http://ddom.example/news/";
	const char *xpath = "//span[@class='tit']";
	size_t len;
	char *body = fixture("cp949-liar.html", &len);
	struct item_list l;

	(void)state;
	/* <meta charset="utf-8"> lies: the bytes are CP949 */
	assert_string_equal(extract_detect_charset(body, len, NULL, NULL),
	    "UTF-8");
	extract_ok(body, len, xpath, url, NULL, NULL, &l);
	assert_int_equal(l.n, 3);
	assert_string_not_equal(l.v[0].text, w[0].text);
	item_list_release(&l);
	/* encoding: euc-kr fixes it */
	assert_string_equal(extract_detect_charset(body, len, NULL, "euc-kr"),
	    "CP949");
	extract_ok(body, len, xpath, url, NULL, "euc-kr", &l);
	assert_items(&l, w, NWANT(w));
	/* an HTTP charset wins over the contradicting <meta> */
	extract_ok(body, len, xpath, url, "text/html; charset=euc-kr", NULL,
	    &l);
	assert_items(&l, w, NWANT(w));
	/* encoding: wins over a wrong HTTP charset too */
	assert_string_equal(extract_detect_charset(body, len,
				"text/html; charset=iso-8859-1", "CP949"),
	    "CP949");
	extract_ok(body, len, xpath, url, "text/html; charset=iso-8859-1",
	    "CP949", &l);
	assert_items(&l, w, NWANT(w));
	free(body);
}

static void
test_extract_bad_byte_in_euckr_keeps_rest_of_page(void **state)
{
	/* 가 + a lone lead byte (a title cut mid-character), then 나 */
	static const char page[] =
	    "<p>\xB0\xA1\xB0</p><p>\xB3\xAA \xFF\xB0</p><p>\xB4\xD9</p>";
	static const struct want w[] = {
		{ "가\xEF\xBF\xBD", NULL },
		{ "나 \xEF\xBF\xBD\xEF\xBF\xBD", NULL },
		{ "다", NULL },
	};
	struct item_list l;

	(void)state;
	extract_ok(page, sizeof(page) - 1, "//p", NULL,
	    "text/html; charset=euc-kr", NULL, &l);
	assert_items(&l, w, NWANT(w));
}

/* ---- BOMs --------------------------------------------------------------- */

static void
test_extract_utf8_bom_page(void **state)
{
	static const struct want w[] = {
		{ "UTF-8 with a byte order mark", NULL },
		{ "첫째 항목 — first", NULL },
		{ "둘째 항목 (ideographic space)", NULL },
		{ "Ünïcödé ✓", NULL },
	};
	size_t len;
	char *body = fixture("utf8-bom.html", &len);
	struct item_list l;

	(void)state;
	assert_string_equal(extract_detect_charset(body, len, NULL, NULL),
	    "UTF-8");
	extract_ok(body, len, "//h1 | //li", NULL, NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
	/* no U+FEFF left anywhere */
	extract_ok(body, len, "/", NULL, NULL, NULL, &l);
	assert_int_equal(l.n, 1);
	assert_null(strstr(l.v[0].text, "\xEF\xBB\xBF"));
	assert_int_equal(strncmp(l.v[0].text, "BOM 페이지", 13), 0);
	item_list_release(&l);
	free(body);
}

static void
test_extract_utf16le_bom_page(void **state)
{
	static const struct want w[] = {
		{ "UTF-16 페이지", NULL },
		{ "하나 one", "http://x.example/dir/one.html" },
		{ "둘 two 𝄞", "http://x.example/dir/two.html" },
	};
	size_t len;
	char *body = fixture("utf16le-bom.html", &len);
	struct item_list l;

	(void)state;
	assert_string_equal(extract_detect_charset(body, len, NULL, NULL),
	    "UTF-16LE");
	extract_ok(body, len, "//title | //li", "http://x.example/dir/", NULL,
	    NULL, &l);
	assert_items(&l, w, NWANT(w));
	/* an odd trailing byte is one replacement character, not a failure */
	extract_ok(body, len - 1, "//li[2]", NULL, NULL, NULL, &l);
	assert_int_equal(l.n, 1);
	item_list_release(&l);
	free(body);
}

/* ---- charset decision --------------------------------------------------- */

static const char *
detect(const char *body, const char *ct, const char *enc)
{
	return extract_detect_charset(body, strlen(body), ct, enc);
}

static void
test_extract_charset_order(void **state)
{
	static const char meta_kr[] =
	    "<html><head><meta charset=\"euc-kr\"></head></html>";
	static const char bom_meta_kr[] =
	    "\xEF\xBB\xBF<meta charset=euc-kr><p>x</p>";

	(void)state;
	/* nothing declared: NULL (UTF-8) */
	assert_null(detect("<p>plain</p>", NULL, NULL));
	assert_null(detect("<p>plain</p>", "text/html", NULL));
	/* meta */
	assert_string_equal(detect(meta_kr, NULL, NULL), "CP949");
	/* HTTP header over meta */
	assert_string_equal(detect(meta_kr, "text/html; charset=utf-8", NULL),
	    "UTF-8");
	/* HTTP header over BOM and meta (docs/design.md §2.2 order) */
	assert_string_equal(
	    detect(bom_meta_kr, "text/html; charset=iso-8859-1", NULL),
	    "CP1252");
	/* BOM over meta */
	assert_string_equal(detect(bom_meta_kr, NULL, NULL), "UTF-8");
	assert_string_equal(detect(bom_meta_kr, "text/html", NULL), "UTF-8");
	/* an unknown HTTP label is skipped */
	assert_string_equal(detect(meta_kr, "text/html; charset=klingon", NULL),
	    "CP949");
	/* encoding: over everything */
	assert_string_equal(
	    detect(bom_meta_kr, "text/html; charset=utf-8", "ks_c_5601-1987"),
	    "CP949");
	/* an iconv name that is no WHATWG label is passed through */
	assert_string_equal(detect(meta_kr, NULL, "EBCDIC-US"), "EBCDIC-US");
	/* an unknown override is ignored (config rejects it) */
	assert_string_equal(detect(meta_kr, NULL, "klingon"), "CP949");
}

static void
test_extract_meta_prescan_rules(void **state)
{
	char big[6000];

	(void)state;
	assert_string_equal(detect("<META HTTP-EQUIV=\"Content-Type\" "
				   "CONTENT=\"text/html; charset=EUC-KR\">",
				NULL, NULL),
	    "CP949");
	assert_string_equal(
	    detect("<meta content='text/html;charset=shift_jis' "
		   "http-equiv='content-type'>",
		NULL, NULL),
	    "CP932");
	/* content= without http-equiv=content-type does not count */
	assert_null(
	    detect("<meta name=x content=\"charset=euc-kr\">", NULL, NULL));
	/* inside a comment or an attribute value it does not count */
	assert_null(
	    detect("<!-- <meta charset=euc-kr> --><p>x</p>", NULL, NULL));
	assert_null(detect("<div title='<meta charset=euc-kr>'>", NULL, NULL));
	/* the first one wins; an unknown label is skipped */
	assert_string_equal(detect("<meta charset=bogus><meta charset=gbk>"
				   "<meta charset=euc-kr>",
				NULL, NULL),
	    "GBK");
	/* a meta claiming UTF-16 means UTF-8 (the prescan read it as ASCII) */
	assert_string_equal(detect("<meta charset=utf-16le>", NULL, NULL),
	    "UTF-8");
	/* only the first 1024 bytes are looked at (WHATWG prescan; a later
	 * <meta> changes the encoding after parsing, see
	 * test_extract_late_meta_redecodes_once) */
	memset(big, ' ', sizeof(big));
	memcpy(big + 1010, "<meta charset=euc-kr>", 21);
	big[sizeof(big) - 1] = '\0';
	assert_null(detect(big, NULL, NULL));
	memcpy(big + 1000, "<meta charset=euc-kr>", 21);
	assert_string_equal(detect(big, NULL, NULL), "CP949");
}

static void
test_extract_undeclared_non_utf8_page_is_cp949(void **state)
{
	/* no header, no BOM, no <meta>, and not UTF-8: CP949 */
	static const char page[] = "<p>\xB0\xA1\xB3\xAA \x8C\x63</p>";
	static const struct want w[] = { { "가나 똠", NULL } };
	struct item_list l;

	(void)state;
	assert_null(extract_detect_charset(page, sizeof(page) - 1, NULL, NULL));
	extract_ok(page, sizeof(page) - 1, "//p", NULL, NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
	/* a declared charset is obeyed: an HTTP utf-8 gives U+FFFD */
	extract_ok(page, sizeof(page) - 1, "//p", NULL,
	    "text/html; charset=utf-8", NULL, &l);
	assert_non_null(strstr(l.v[0].text, "\xEF\xBF\xBD"));
	item_list_release(&l);
}

/* a page whose <meta charset> comes after the prescan's 1024 bytes */
static char *
late_meta_page(const char *meta, const char *text, size_t *len)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "<html><head><title>t</title>"), 0);
	assert_int_equal(buf_puts(&b, "<!-- "), 0);
	for (i = 0; i < 1100; i++)
		assert_int_equal(buf_puts(&b, "-"), 0);
	assert_int_equal(buf_puts(&b, " -->"), 0);
	assert_int_equal(buf_puts(&b, meta), 0);
	assert_int_equal(buf_printf(&b, "</head><body><p>%s</p>", text), 0);
	assert_int_equal(buf_puts(&b, "<meta charset=iso-8859-5></body>"), 0);
	return buf_detach(&b, len);
}

static void
test_extract_late_meta_redecodes_once(void **state)
{
	/* 가나 in CP949 */
	static const struct want kr[] = { { "가나", NULL } };
	/* é in UTF-8 */
	static const struct want fr[] = { { "caf\xC3\xA9", NULL } };
	struct item_list l;
	size_t len;
	char *page;

	(void)state;
	/* the prescan misses it, the tree builder finds it: decoded again
	 * as euc-kr (CP949); the later iso-8859-5 <meta> is ignored, the
	 * encoding changes once */
	page = late_meta_page("<meta charset=\"euc-kr\">", "\xB0\xA1\xB3\xAA",
	    &len);
	assert_null(extract_detect_charset(page, len, NULL, NULL));
	extract_ok(page, len, "//p", NULL, NULL, NULL, &l);
	assert_items(&l, kr, NWANT(kr));
	/* the http-equiv form counts too */
	free(page);
	page = late_meta_page("<meta http-equiv=content-type "
			      "content='text/html; charset=ks_c_5601-1987'>",
	    "\xB0\xA1\xB3\xAA", &len);
	extract_ok(page, len, "//p", NULL, NULL, NULL, &l);
	assert_items(&l, kr, NWANT(kr));
	/* a certain charset (HTTP, encoding:) is not changed by a <meta> */
	extract_ok(page, len, "//p", NULL, "text/html; charset=utf-8", NULL,
	    &l);
	assert_string_equal(l.v[0].text, "\xEF\xBF\xBD\xEF\xBF\xBD"
					 "\xEF\xBF\xBD\xEF\xBF\xBD");
	item_list_release(&l);
	free(page);
	/* a valid UTF-8 page whose late <meta> says utf-8: kept */
	page = late_meta_page("<meta charset=utf-8>", "caf\xC3\xA9", &len);
	extract_ok(page, len, "//p", NULL, NULL, NULL, &l);
	assert_items(&l, fr, NWANT(fr));
	free(page);
	/* a late <meta> saying UTF-16 means UTF-8 */
	page = late_meta_page("<meta charset=utf-16le>", "caf\xC3\xA9", &len);
	extract_ok(page, len, "//p", NULL, NULL, NULL, &l);
	assert_items(&l, fr, NWANT(fr));
	free(page);
	/* in a comment, a script or an attribute value it does not count:
	 * the first real one is the iso-8859-5 <meta> at the end */
	page = late_meta_page("<!-- <meta charset=euc-kr> -->"
			      "<script>w('<meta charset=euc-kr>')</script>"
			      "<link title='<meta charset=euc-kr>'>",
	    "caf\xC3\xA9", &len);
	extract_ok(page, len, "//p", NULL, NULL, NULL, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "caf\xD0\xA3\xD0\x89"); /* cafУЉ */
	item_list_release(&l);
	free(page);
}

/*
 * The encoding-sniffing tests of html5lib-tests (../shared/testdata/
 * html5lib-encoding, see its SOURCE): for each #data document the charset
 * decision must give the #encoding of that block. The prescan of the first
 * 1024 bytes decides most; a <meta> after a 2048-character comment (which
 * browsers find) is found by the tree builder's late <meta> rule, so the
 * whole decision (extract_page_charset) is what is compared. The suite
 * assumes windows-1252 for a document that declares nothing; kakaowatch's
 * default is different (UTF-8 if the bytes are UTF-8, else
 * default_encoding:), so there "nothing declared" is the expected answer.
 */
static void
check_sniffing_file(const char *path, size_t *ntests)
{
	struct kw_err err = { 0 };
	char *body, *p, *data, *enc, *end, *want;
	const char *got;
	size_t len, dlen;
	bool declared;

	body = util_read_file(path, 1 << 20, &len, &err);
	if (body == NULL)
		fail_msg("%s", err.msg);
	p = body;
	while ((data = strstr(p, "#data\n")) != NULL) {
		data += 6;
		enc = strstr(data, "\n#encoding\n");
		assert_non_null(enc);
		dlen = (size_t)(enc - data);
		enc += 11;
		end = strchr(enc, '\n');
		if (end == NULL)
			end = enc + strlen(enc);
		want = strndup(enc, (size_t)(end - enc));
		assert_non_null(want);
		got = extract_page_charset(data, dlen, NULL, NULL, &declared,
		    &err);
		if (got == NULL)
			fail_msg("%s: test %zu: %s", path, *ntests + 1,
			    err.msg);
		if (!declared) {
			if (strcasecmp(want, "windows-1252") != 0)
				fail_msg("%s: test %zu: nothing found, want %s",
				    path, *ntests + 1, want);
		} else {
			/* the iconv name the expected label decodes with */
			const char *w =
			    extract_detect_charset("", 0, NULL, want);

			if (w == NULL || strcmp(got, w) != 0)
				fail_msg("%s: test %zu: got %s, want %s (%s)",
				    path, *ntests + 1, got, want, w ? w : "?");
		}
		free(want);
		(*ntests)++;
		p = end;
	}
	free(body);
}

static void
test_extract_prescan_passes_html5lib_sniffing_suite(void **state)
{
	static const char *const files[] = { "tests1.dat", "tests2.dat",
		"test-yahoo-jp.dat" };
	const char *src = getenv("KW_SOURCE_DIR");
	char path[4096];
	size_t i, n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/../shared/testdata/html5lib-encoding",
	    src ? src : ".");
	if (access(path, R_OK) != 0) {
		print_message("skipped: no html5lib encoding tests at %s\n",
		    path);
		skip();
	}
	for (i = 0; i < NWANT(files); i++) {
		snprintf(path, sizeof(path),
		    "%s/../shared/testdata/html5lib-encoding/%s",
		    src ? src : ".", files[i]);
		check_sniffing_file(path, &n);
	}
	assert_int_equal(n, 82);
}

/* ---- the HTML5 tree ----------------------------------------------------- */

static void
test_extract_html5_tree_as_browsers_build_it(void **state)
{
	struct item_list l;

	(void)state;
	/* <tbody> is inserted: Chrome's "Copy XPath" paths work */
	extract_str("<table id=t><tr><td>1</td><td><a href=/a>A</a></td></tr>"
		    "<tr><td>2</td><td><a href=/b>B</a></td></tr></table>",
	    "//*[@id=\"t\"]/tbody/tr/td[2]/a", "http://x.example/", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].text, "B");
	assert_string_equal(l.v[1].link, "http://x.example/b");
	item_list_release(&l);
	/* a self-closed <a .../> is a start tag: it holds what follows */
	extract_str("<div><a href=/login class=push />Login</a></div>",
	    "//a[@class='push']", "http://x.example/", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "Login");
	item_list_release(&l);
	/* junk after an attribute value is more attributes, not text */
	extract_str("<p><a href=\"/hot?page=2\"||cond=\"$x->page != 2\">2</a>"
		    "</p>",
	    "//p", NULL, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "2");
	item_list_release(&l);
	/* a nested <a> closes the open one: siblings, not nested */
	extract_str("<table><tr><td><a class=t href=/1><strong>Title</strong> "
		    "<a class=n href=/1#c>[3]</a></td></tr></table>",
	    "//td/a[1]", NULL, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "Title");
	item_list_release(&l);
	extract_str("<div><a class=t href=/1>Title <a class=n href=/1#c>[3]</a>"
		    "</div>",
	    "count(//a//a)", NULL, &l);
	assert_string_equal(l.v[0].text, "0");
	item_list_release(&l);
	/* text before </form> stays in the form (gumbo 0.10.1 moved it) */
	extract_str("<div><form>in</form>out</div>", "//form | //div/text()",
	    NULL, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "in");
	assert_string_equal(l.v[1].text, "out");
	item_list_release(&l);
	/* an XHTML page served as text/html is HTML (PostgreSQL's docs) */
	assert_int_equal(
	    extract_detect_parser("<?xml version=\"1.0\"?>\n<html xmlns="
				  "\"http://www.w3.org/1999/xhtml\"><p>x",
		69, "text/html; charset=utf-8"),
	    EXTRACT_PARSER_HTML);
	/* SVG elements have no namespace: no prefix needed */
	extract_str("<p><svg viewBox='0 0 1 1'><foreignObject><b>x</b>"
		    "</foreignObject><text>t</text></svg></p>",
	    "//svg/foreignObject | //svg/text | //svg/@viewBox", NULL, &l);
	assert_int_equal(l.n, 3);
	item_list_release(&l);
}

static void
test_extract_declared_charset_is_not_redetected(void **state)
{
	/* UTF-8 bytes; the <meta> says latin-1, HTTP says utf-8 */
	static const char page[] = "<html><head><meta charset=\"iso-8859-1\">"
				   "</head><body><p>caf\xC3\xA9</p></body>"
				   "</html>";
	static const struct want w[] = { { "café", NULL } };
	struct item_list l;

	(void)state;
	extract_ok(page, sizeof(page) - 1, "//p", NULL,
	    "text/html; charset=utf-8", NULL, &l);
	assert_items(&l, w, NWANT(w));
	/* and the other way: the latin-1 <meta> is obeyed by itself */
	extract_ok(page, sizeof(page) - 1, "//p", NULL, NULL, NULL, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "cafÃ©");
	item_list_release(&l);
}

static void
test_extract_encoding_check(void **state)
{
	char msg[200];

	(void)state;
	assert_int_equal(extract_encoding_check("euc-kr", msg, sizeof(msg)), 0);
	assert_int_equal(extract_encoding_check(" CP949 ", msg, sizeof(msg)),
	    0);
	assert_int_equal(
	    extract_encoding_check("ISO-2022-JP-3", msg, sizeof(msg)), 0);
	assert_int_equal(extract_encoding_check("klingon", msg, sizeof(msg)),
	    -1);
	assert_non_null(strstr(msg, "unknown encoding 'klingon'"));
	assert_int_equal(extract_encoding_check("", msg, sizeof(msg)), -1);
}

/* ---- markup and text ------------------------------------------------------ */

static void
test_extract_broken_markup(void **state)
{
	static const struct want w[] = {
		{ "Version 1.4 fixes crash on start",
		    "http://rel.example/releases/1.4" },
		{ "Version 1.3, unquoted href",
		    "http://rel.example/releases/1.3" },
		/* unknown entity kept as written, as browsers do */
		{ "Version 1.2 & more © 가 가 &nosuchentity; <tag>",
		    "http://rel.example/releases/1.2" },
		{ "Version 1.1 after stray closers",
		    "http://rel.example/releases/1.1" },
		{ "Version 1.0 without a link", NULL },
		{ "Beta 0.9", "http://rel.example/releases/0.9" },
		{ "Alpha 0.1", NULL },
		{ "Unclosed at the end", "http://rel.example/releases/0.0" },
	};
	struct item_list l;

	(void)state;
	extract_fixture("broken.html", "//*[@class='item']",
	    "http://rel.example/dir/page", NULL, NULL, &l);
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_whitespace_is_collapsed(void **state)
{
	static const char page[] =
	    "<div id=a>  one\t\n two&nbsp;&nbsp;three\xE3\x80\x80"
	    "four\xE2\x80\x83"
	    "five\xC2\xA0</div>"
	    "<ul id=b><li>x</li><li>y</li></ul>"
	    "<p id=c>line<br>break<b>bold</b>inline</p>"
	    "<p id=d>a<script>var s = 1;</script>b<style>p{}</style>c</p>"
	    "<p id=e>&#150;&#128;&#x99;</p>"
	    "<p id=f> </p><p id=f>&nbsp;\xE3\x80\x80</p>"
	    "<div id=g>before<p>para</p>after</div>"
	    "<p id=h>zero\xEF\xBB\xBFwidth</p>";
	static const struct want w[] = {
		{ "one two three four five", NULL },
		{ "x y", NULL },
		{ "line breakboldinline", NULL },
		{ "abc", NULL },
		{ "–€™", NULL },
		{ "before para after", NULL },
		/* a stray U+FEFF (zero width no-break space) is dropped */
		{ "zerowidth", NULL },
	};
	struct item_list l;

	(void)state;
	extract_str(page, "//*[@id]", NULL, &l);
	/* <p id=f>s are whitespace only: skipped */
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_invalid_utf8_and_nul_bytes(void **state)
{
	static const char page[] = "<p>ok \xFF bad</p>"
				   "<p>caf\xC3\xA9 \xE2\x82 cut</p>"
				   "<p>nul\0byte</p>"
				   "<p>overlong \xC0\xAF</p>"
				   "<p>surrogate \xED\xA0\x80</p>"
				   "<p cl\0ass=x\xFE>after \xC3\xA9</p>"
				   "<p>end \xF0\x9F\x98";
	static const struct want w[] = {
		{ "ok \xEF\xBF\xBD bad", NULL },
		{ "café \xEF\xBF\xBD cut", NULL },
		{ "nulbyte", NULL },
		{ "overlong \xEF\xBF\xBD\xEF\xBF\xBD", NULL },
		{ "surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", NULL },
		/* one bad byte does not turn the rest into latin-1 */
		{ "after é", NULL },
		{ "end \xEF\xBF\xBD", NULL },
	};
	struct item_list l;

	(void)state;
	/* a page that says it is UTF-8 (undeclared, it would read as CP949:
	 * test_extract_undeclared_non_utf8_page_is_cp949) */
	extract_ok(page, sizeof(page) - 1, "//p", NULL,
	    "text/html; charset=utf-8", NULL, &l);
	assert_items(&l, w, NWANT(w));
	/* NUL bytes and garbage in a CP949 page and in attributes */
	extract_ok(page, sizeof(page) - 1, "//p/@*", NULL,
	    "text/html; charset=cp949", NULL, &l);
	item_list_release(&l);
}

/* ---- links -------------------------------------------------------------- */

static void
test_extract_links_resolve_against_base_href(void **state)
{
	static const struct want w[] = {
		{ "Relative file",
		    "https://news.example.com/news/2024/article.html?id=1" },
		{ "Parent directory",
		    "https://news.example.com/news/2023/archive.html" },
		{ "Above the root", "https://news.example.com/top.html" },
		{ "Query only", "https://news.example.com/news/2024/?page=2" },
		{ "Network path", "https://cdn.example.net/files/report.pdf" },
		{ "Fragment only",
		    "https://news.example.com/news/2024/#comments" },
		{ "Root relative", "https://news.example.com/about" },
		{ "Absolute", "https://other.example.org/x?a=1&b=2" },
		{ "Mail", "mailto:editor@example.org" },
		{ "Script link", NULL },
		{ "Script link, spaces and capitals", NULL },
		{ "Whitespace around",
		    "https://news.example.com/news/2024/data.html" },
		{ "Space inside",
		    "https://news.example.com/news/2024/my%20report.html" },
		{ "Hangul", "https://news.example.com/news/2024/"
			    "%EA%B2%80%EC%83%89.html?q=%ED%95%9C%EA%B8%80" },
		{ "Empty href", "https://news.example.com/news/2024/" },
		{ "No href", NULL },
	};
	struct item_list l;

	(void)state;
	extract_fixture("base-href.html", "//ul[@id='links']/li",
	    "https://news.example.com/section/index.html?lang=en", NULL, NULL,
	    &l);
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_links_without_page_url_stay_as_written(void **state)
{
	static const char page[] = "<a href='a/b.html'>rel</a>"
				   "<a href=' http://h.example/x '>abs</a>"
				   "<a href='javascript:go()'>js</a>"
				   "<a href='DATA:text/html,x'>data</a>";
	static const struct want w[] = {
		{ "rel", "a/b.html" },
		{ "abs", "http://h.example/x" },
		{ "js", NULL },
		{ "data", NULL },
	};
	struct item_list l;

	(void)state;
	extract_str(page, "//a", NULL, &l);
	assert_items(&l, w, NWANT(w));
}

static void
test_extract_link_rules_self_descendant_ancestor(void **state)
{
	static const struct want w[] = {
		/* the ancestor <a> of the <h3> */
		{ "Card title", "https://news.example.com/news/2024/cards/7" },
		/* no <a href> inside or around */
		{ "Post title", NULL },
		{ "No link at all", NULL },
	};
	/* the first <a href> inside, not the <a name> before it */
	static const struct want post[] = {
		{ "Post title Text with a named anchor, a first link and a "
		  "second",
		    "https://news.example.com/news/2024/first.html" },
	};
	const char *url = "https://news.example.com/section/index.html";
	struct item_list l;

	(void)state;
	extract_fixture("base-href.html", "//h3[@class='t']", url, NULL, NULL,
	    &l);
	assert_items(&l, w, NWANT(w));
	extract_fixture("base-href.html", "//div[@class='post']", url, NULL,
	    NULL, &l);
	assert_items(&l, post, NWANT(post));
}

/* ---- XPath results ------------------------------------------------------ */

static void
test_extract_attribute_match_gives_text_only(void **state)
{
	struct item_list l;
	size_t i;

	(void)state;
	extract_fixture("base-href.html", "//ul[@id='links']/li/a/@href",
	    "https://news.example.com/", NULL, NULL, &l);
	/* 16 <a>: one without href, one with href="" (empty text) */
	assert_int_equal(l.n, 14);
	assert_string_equal(l.v[0].text, "article.html?id=1");
	assert_string_equal(l.v[11].text, "data.html");
	assert_string_equal(l.v[13].text, "검색.html?q=한글");
	for (i = 0; i < l.n; i++)
		assert_null(l.v[i].link);
	item_list_release(&l);
}

static void
test_extract_string_number_boolean_results(void **state)
{
	static const struct want title[] = {
		{ "Module keys from libxslt", NULL },
	};
	static const struct want count[] = { { "6", NULL } };
	static const struct want yes[] = { { "true", NULL } };
	struct item_list l;

	(void)state;
	extract_fixture("libxslt-keys.html", "string(//title)", NULL, NULL,
	    NULL, &l);
	assert_items(&l, title, NWANT(title));
	extract_fixture("libxslt-keys.html", "count(//h3)", NULL, NULL, NULL,
	    &l);
	assert_items(&l, count, NWANT(count));
	extract_fixture("libxslt-keys.html", "count(//h3) > 2", NULL, NULL,
	    NULL, &l);
	assert_items(&l, yes, NWANT(yes));
	/* an empty string is no item */
	extract_fixture("libxslt-keys.html", "string(//nothing)", NULL, NULL,
	    NULL, &l);
	assert_items(&l, NULL, 0);
}

static void
test_extract_no_match_is_zero_items_not_an_error(void **state)
{
	struct item_list l;

	(void)state;
	extract_fixture("euckr-notice.html", "//div[@class='no-such-class']",
	    "http://cs.hanbit.example/", NULL, NULL, &l);
	assert_items(&l, NULL, 0);
}

static void
test_extract_appends_and_leaves_list_alone_on_failure(void **state)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	struct item_list l;

	(void)state;
	item_list_init(&l);
	assert_int_equal(item_list_add(&l, "earlier", NULL), 0);
	xp = extract_xpath_compile("//p", &err);
	assert_non_null(xp);
	assert_int_equal(
	    extract_items("<p>new</p>", 10, NULL, NULL, NULL, xp, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "earlier");
	assert_string_equal(l.v[1].text, "new");
	/* an empty page cannot be parsed */
	assert_int_equal(extract_items("", 0, NULL, NULL, NULL, xp, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "empty"));
	kw_err_clear(&err);
	/* nor can a page that is only a byte order mark */
	assert_int_equal(
	    extract_items("\xEF\xBB\xBF", 3, NULL, NULL, NULL, xp, &l, &err),
	    -1);
	kw_err_clear(&err);
	extract_xpath_free(xp);
	/* a runtime XPath error leaves the list as it was */
	xp = extract_xpath_compile("//p | count(//p)", &err);
	assert_non_null(xp);
	assert_int_equal(extract_items("<p>a</p><p>b</p>", 16, NULL, NULL, NULL,
			     xp, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "xpath evaluation failed"));
	assert_non_null(strstr(err.msg, "invalid type"));
	assert_int_equal(l.n, 2);
	extract_xpath_free(xp);
	item_list_release(&l);
}

/* ---- XPath compilation -------------------------------------------------- */

static FILE *stderr_capture;
static int stderr_saved = -1;

static void
stderr_begin(void)
{
	fflush(stderr);
	stderr_capture = tmpfile();
	assert_non_null(stderr_capture);
	stderr_saved = dup(2);
	assert_true(stderr_saved >= 0);
	assert_true(dup2(fileno(stderr_capture), 2) >= 0);
}

/* returns the bytes written to stderr since stderr_begin */
static long
stderr_end(void)
{
	long n;

	fflush(stderr);
	assert_true(dup2(stderr_saved, 2) >= 0);
	close(stderr_saved);
	fseek(stderr_capture, 0, SEEK_END);
	n = ftell(stderr_capture);
	fclose(stderr_capture);
	return n;
}

static void
assert_compile_error(const char *expr, const char *want)
{
	struct kw_err err = { 0 };
	char msg[300];

	assert_null(extract_xpath_compile(expr, &err));
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", expr, err.msg, want);
	assert_int_equal(extract_xpath_check(expr, msg, sizeof(msg)), -1);
	/* the hook gives the reason only: config quotes the expression */
	assert_non_null(strstr(err.msg, msg));
	assert_null(strstr(msg, "xpath '"));
	assert_true(strlen(msg) > 0);
}

static void
test_extract_bad_xpath_is_reported_quietly(void **state)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	struct item_list l;
	char tiny[12];

	(void)state;
	stderr_begin();
	assert_compile_error("//a[", "xpath '//a[': invalid expression at the "
				     "end");
	assert_compile_error("//p[1", "invalid predicate at the end");
	assert_compile_error("//a]", "invalid expression at character 4");
	assert_compile_error("'abc", "unfinished string");
	assert_compile_error("", "xpath is empty");
	assert_compile_error("   ", "xpath is empty");
	/* these compile in libxml2 but would fail on every page */
	assert_compile_error("//a[contain(., 'x')]",
	    "unknown function 'contain()'");
	assert_compile_error("//td[@class = $cls]",
	    "undefined variable '$cls'");
	assert_compile_error("//x:div", "undefined namespace prefix 'x'");
	/* evaluation errors and broken pages print nothing either */
	xp = extract_xpath_compile("count(1)", &err);
	assert_non_null(xp);
	item_list_init(&l);
	assert_int_equal(
	    extract_items("<p>x", 4, NULL, NULL, NULL, xp, &l, &err), -1);
	extract_xpath_free(xp);
	assert_int_equal(stderr_end(), 0);
	/* the check hook cuts its message to the buffer */
	assert_int_equal(extract_xpath_check("//a[", tiny, sizeof(tiny)), -1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static bool
plain_contains(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

/*
 * extract_find on a board as boards are written: rows of alternating
 * classes (list0/list1), a notice row of another shape, title cells that
 * only their position tells apart from the author cell, a comment-count
 * link next to the title, and the same title again in a sidebar
 */
static void
test_extract_find_proposes_the_list_a_title_belongs_to(void **state)
{
	struct buf page;
	struct kw_err err = { 0 };
	struct extract_doc *d;
	struct extract_candidate *c = NULL;
	struct extract_xpath *xp;
	struct item_list items;
	const char *texts[2];
	size_t n = 0, i;
	char title[64];

	(void)state;
	buf_init(&page, 0);
	assert_int_equal(
	    buf_puts(&page,
		"<html><body><div id=board><table>"
		"<tr class=notice><td colspan=3><a href=/n>rules</a></td></tr>"),
	    0);
	for (i = 1; i <= 12; i++)
		assert_int_equal(
		    buf_printf(&page,
			"<tr class='row list%zu'><td>%zu</td><td><a href=/p/%zu>"
			"post number %zu</a> <a class=cmt href=/p/%zu#c>[%zu]</a>"
			"</td><td><a href=/u/%zu>user%zu</a></td></tr>",
			i % 2, i, i, i, i, i, i, i),
		    0);
	assert_int_equal(
	    buf_puts(&page, "</table></div><div class=side><ul>"
			    "<li><a href=/p/7>post number 7</a></li>"
			    "<li><a href=/p/3>post number 3</a></li></ul></div>"
			    "</body></html>"),
	    0);
	d = extract_doc_parse(page.data, page.len, NULL, NULL,
	    "http://board.example/list", &err);
	assert_non_null(d);
	texts[0] = "post number 5";
	texts[1] = "post number 11";
	assert_int_equal(
	    extract_find(d, texts, 2, plain_contains, 5, &c, &n, &err), 0);
	assert_true(n >= 1);
	/* the first proposal: the 12 posts, both texts among them */
	assert_int_equal(c[0].nitems, 12);
	assert_int_equal(c[0].nrows, 12);
	assert_int_equal(c[0].ntexts, 2);
	assert_non_null(strstr(c[0].css, "#board"));
	assert_non_null(strstr(c[0].css, "td:nth-of-type(2) > a"));
	assert_int_equal(c[0].preview.n, EXTRACT_PREVIEW_MAX);
	assert_string_equal(c[0].preview.v[0].text, "post number 1");
	assert_string_equal(c[0].preview.v[0].link, "http://board.example/p/1");
	/* its xpath, as a watch would use it */
	xp = extract_xpath_compile(c[0].xpath, &err);
	assert_non_null(xp);
	item_list_init(&items);
	assert_int_equal(extract_doc_items(d, xp, &items, &err), 0);
	assert_int_equal(items.n, 12);
	for (i = 0; i < items.n; i++) {
		snprintf(title, sizeof(title), "post number %zu", i + 1);
		assert_string_equal(items.v[i].text, title);
	}
	item_list_release(&items);
	extract_xpath_free(xp);
	/* ranked lower: lists that hold only one of the texts (the side) */
	for (i = 1; i < n; i++)
		assert_true(c[i].ntexts <= c[0].ntexts);
	extract_candidates_free(c, n);
	/* a text nowhere on the page */
	texts[0] = "no such post";
	assert_int_equal(
	    extract_find(d, texts, 1, plain_contains, 5, &c, &n, &err), -1);
	assert_non_null(strstr(err.msg, "no element's text contains"));
	extract_doc_free(d);
	buf_release(&page);
}

static void
test_extract_valid_xpaths_compile(void **state)
{
	static const char *const ok[] = {
		"//div[@class='a' and contains(., 'b')]",
		"//a[text()='x' or @href]",
		"count(//a) div 2",
		"//a[@href and (position() mod 2 = 0)]",
		"//*[local-name()='a']",
		"//div/* | //span/*",
		"2*3",
		"//p[normalize-space(.) != '']",
		"//processing-instruction('x') | //comment() | //node()",
		"child::node()/descendant-or-self::text()",
		"//a[not(@class)][last()]",
		"id('main')//li[starts-with(@id, 'post-')]",
		"//div[@data-x]/ancestor-or-self::*",
		"//tr[td[2][contains(translate(., 'ABC', 'abc'), 'x')]]",
		"//a[string-length(substring-before(@href, '?')) > 0]",
		"//li[. = \"div\" or . = 'mod']",
		"//div[@class = 'and']/or",
		"sum(//td[@class='hit']) * 1.5",
		"//td[.//a[contains(@href, 'wr_id')]]",
		"//*[@xml:lang='ko']",
	};
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	char msg[300];
	size_t i;

	(void)state;
	for (i = 0; i < NWANT(ok); i++) {
		xp = extract_xpath_compile(ok[i], &err);
		if (xp == NULL)
			fail_msg("'%s': %s", ok[i], err.msg);
		extract_xpath_free(xp);
		assert_int_equal(extract_xpath_check(ok[i], msg, sizeof(msg)),
		    0);
	}
	extract_xpath_free(NULL);
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
		    test_extract_urlwatch_headings_get_their_permalink),
		cmocka_unit_test(test_extract_text_node_match_has_no_link),
		cmocka_unit_test(test_extract_libffi_toc_links_and_entities),
		cmocka_unit_test(test_extract_libxslt_xhtml_page),
		cmocka_unit_test(test_extract_euckr_page_declared_by_meta_only),
		cmocka_unit_test(
		    test_extract_cp949_page_declared_by_http_header_only),
		cmocka_unit_test(
		    test_extract_lying_meta_needs_encoding_override),
		cmocka_unit_test(
		    test_extract_undeclared_non_utf8_page_is_cp949),
		cmocka_unit_test(test_extract_late_meta_redecodes_once),
		cmocka_unit_test(
		    test_extract_prescan_passes_html5lib_sniffing_suite),
		cmocka_unit_test(test_extract_html5_tree_as_browsers_build_it),
		cmocka_unit_test(
		    test_extract_bad_byte_in_euckr_keeps_rest_of_page),
		cmocka_unit_test(test_extract_utf8_bom_page),
		cmocka_unit_test(test_extract_utf16le_bom_page),
		cmocka_unit_test(test_extract_charset_order),
		cmocka_unit_test(test_extract_meta_prescan_rules),
		cmocka_unit_test(
		    test_extract_declared_charset_is_not_redetected),
		cmocka_unit_test(test_extract_encoding_check),
		cmocka_unit_test(test_extract_broken_markup),
		cmocka_unit_test(test_extract_whitespace_is_collapsed),
		cmocka_unit_test(test_extract_invalid_utf8_and_nul_bytes),
		cmocka_unit_test(test_extract_links_resolve_against_base_href),
		cmocka_unit_test(
		    test_extract_links_without_page_url_stay_as_written),
		cmocka_unit_test(
		    test_extract_link_rules_self_descendant_ancestor),
		cmocka_unit_test(test_extract_attribute_match_gives_text_only),
		cmocka_unit_test(test_extract_string_number_boolean_results),
		cmocka_unit_test(
		    test_extract_no_match_is_zero_items_not_an_error),
		cmocka_unit_test(
		    test_extract_appends_and_leaves_list_alone_on_failure),
		cmocka_unit_test(test_extract_bad_xpath_is_reported_quietly),
		cmocka_unit_test(test_extract_valid_xpaths_compile),
		cmocka_unit_test(
		    test_extract_find_proposes_the_list_a_title_belongs_to),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
