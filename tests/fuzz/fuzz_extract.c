/*
 * fuzz_extract: HTML page -> items (extract_items, extract.h), with the
 * charset decision, and XPath compilation.
 *
 * Input layout: byte 0 picks the HTTP Content-Type, byte 1 the watch's
 * `encoding:` override, byte 2 the XPath and byte 3 the page URL, each
 * from a table below (index modulo the table size); the rest is the page
 * body as fetched. When byte 2 is 0xFF the XPath is taken from the body up
 * to its first newline instead (compiled, and evaluated on small pages).
 *
 * Checked for every item, as extract.h promises: text is non-empty valid
 * UTF-8 with whitespace collapsed and trimmed (no control characters, no
 * NBSP/U+3000, no double space); a link is valid UTF-8, never a
 * javascript:, vbscript: or data: URL, and holds no space, control or
 * "<>{}|\^`" byte, nor non-ASCII outside the host (all percent-encoded).
 * extract_detect_charset returns NULL or a charset iconv can open.
 */
#include <ctype.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/log.h"

#include "fuzz_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CUSTOM_XPATH 0xFF
#define CUSTOM_EVAL_MAX 4096

static const char *const content_types[] = {
	NULL,
	"text/html",
	"text/html; charset=utf-8",
	"text/html; charset=euc-kr",
	"text/html;charset=\"EUC-KR\"",
	"text/html; charset=ks_c_5601-1987",
	"text/html; charset=iso-8859-1",
	"text/html; charset=utf-16le",
	"text/html; charset=utf-16",
	"text/html; charset=shift_jis",
	"text/html; charset=iso-2022-kr",
	"text/html; charset=gb18030",
	"text/html; charset=x-user-defined",
	"text/html; charset=replacement",
	"text/html; charset=bogus-charset",
	"text/html; charset=",
	"application/json",
	"text/plain; charset=windows-1252",
	"text/html; charset=UTF-32",
	"text/html; charset=big5; charset=utf-8",
};

static const char *const encodings[] = {
	NULL,
	NULL,
	NULL,
	NULL,
	"euc-kr",
	"cp949",
	"utf-8",
	"shift_jis",
	"KOI8-U",
	"utf-16be",
	"iso-8859-1",
	"ISO-2022-JP",
	"UTF-7",
	"big5",
	"UCS-4",
	"EUC-JP",
};

static const char *const xpaths[] = {
	"//a",
	"//li/a",
	"//ul[@id='news']/li/a",
	"//td[@class='subject']/a",
	"//title",
	"//a/@href",
	"string(//title)",
	"count(//a)",
	"boolean(//a)",
	"//a/text()",
	"//comment()",
	"//processing-instruction()",
	"//*[contains(., 'new')]",
	"//p | //h2 | //div",
	"/",
	"//*",
	"//body//text()",
	"//a[1]",
	"//base/@href",
	"//table//tr/td[2]",
	"//main//h2/a",
	"//li",
	"//script",
	"normalize-space(//h1)",
};

static const char *const page_urls[] = {
	NULL,
	"https://example.com/board/list.php?page=1",
	"http://127.0.0.1:8080/",
	"https://blog.rust-lang.org/",
	"https://\xec\x98\x88\xec\x8b\x9c.kr/\xea\xb2\x8c\xec\x8b\x9c\xed\x8c"
	"\x90?q=\xea\xb0\x80 \xeb\x82\x98",
	"relative/path.html",
	"http://[::1]:80/x/",
	"https://user:pw@example.com/a b/c#frag",
	"https://example.com/%zz/",
	"file:///etc/passwd",
};

static struct extract_xpath *compiled[N(xpaths)];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kw_err err = { 0 };
	size_t i;

	(void)argc;
	(void)argv;
	extract_global_init();
	log_init(LOG_LEVEL_ERROR);
	for (i = 0; i < N(xpaths); i++) {
		compiled[i] = extract_xpath_compile(xpaths[i], &err);
		FUZZ_CHECK(compiled[i] != NULL, "table xpath '%s': %s",
		    xpaths[i], err.msg);
	}
	return 0;
}

static void
check_text(const char *t)
{
	size_t n = strlen(t), i;
	const unsigned char *u = (const unsigned char *)t;

	FUZZ_CHECK(n > 0, "empty item text");
	FUZZ_CHECK(fuzz_utf8_valid(t, n), "item text is not UTF-8");
	FUZZ_CHECK(t[0] != ' ' && t[n - 1] != ' ', "text not trimmed: '%s'", t);
	FUZZ_CHECK(strstr(t, "  ") == NULL, "double space in '%s'", t);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(u[i] >= 0x20 && u[i] != 0x7F,
		    "control byte 0x%02x in text", u[i]);
	/* U+0080..U+009F, NBSP, U+3000 */
	FUZZ_CHECK(strstr(t, "\xc2\xa0") == NULL, "NBSP in text");
	FUZZ_CHECK(strstr(t, "\xe3\x80\x80") == NULL, "U+3000 in text");
	for (i = 0; i + 1 < n; i++)
		FUZZ_CHECK(
		    !(u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F),
		    "C1 control in text");
}

static void
check_link(const char *l)
{
	const unsigned char *u;
	const char *host = NULL, *host_end = NULL, *colon = strchr(l, ':');
	const char *p;

	FUZZ_CHECK(strncasecmp(l, "javascript:", 11) != 0 &&
		       strncasecmp(l, "vbscript:", 9) != 0 &&
		       strncasecmp(l, "data:", 5) != 0,
	    "script link '%s'", l);
	FUZZ_CHECK(fuzz_utf8_valid(l, strlen(l)), "link is not UTF-8");
	/* libxml2 keeps an internationalised host name as UTF-8 (an IRI
	 * host, which curl and message_url_ok take); elsewhere non-ASCII
	 * must be percent-encoded. The authority follows "scheme://" or a
	 * leading "//". */
	if (strncmp(l, "//", 2) == 0) {
		host = l + 2;
	} else if (colon != NULL && colon > l &&
		   strncmp(colon, "://", 3) == 0) {
		for (p = l; p < colon && (isalnum((unsigned char)*p) ||
					     strchr("+-.", *p) != NULL);
		     p++)
			;
		if (p == colon && isalpha((unsigned char)l[0]))
			host = colon + 3;
	}
	if (host != NULL)
		host_end = host + strcspn(host, "/?#");
	for (u = (const unsigned char *)l; *u != '\0'; u++) {
		if (*u >= 0x80 && host != NULL && (const char *)u >= host &&
		    (const char *)u < host_end)
			continue;
		FUZZ_CHECK(*u > 0x20 && *u < 0x7F &&
			       strchr("<>{}|\\^`", *u) == NULL,
		    "unescaped byte 0x%02x in link '%s'", *u, l);
	}
}

static void
check_charset(const char *cs)
{
	iconv_t cd;

	if (cs == NULL)
		return;
	cd = iconv_open("UTF-8", cs);
	FUZZ_CHECK(cd != (iconv_t)-1, "charset '%s' unknown to iconv", cs);
	iconv_close(cd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct item_list items;
	struct kw_err err = { 0 };
	struct extract_xpath *custom = NULL;
	const struct extract_xpath *xp;
	const char *ct, *enc, *url, *body;
	size_t len, i;
	char *expr = NULL;
	const uint8_t *nl;
	int r;

	if (size < 4)
		return 0;
	ct = content_types[data[0] % N(content_types)];
	enc = encodings[data[1] % N(encodings)];
	url = page_urls[data[3] % N(page_urls)];
	body = (const char *)data + 4;
	len = size - 4;
	if (data[2] == CUSTOM_XPATH) {
		nl = memchr(body, '\n', len);
		expr = fuzz_strndup((const uint8_t *)body,
		    nl ? (size_t)(nl - (const uint8_t *)body) : len);
		custom = extract_xpath_compile(expr, &err);
		FUZZ_CHECK(custom != NULL || err.set,
		    "xpath refused without a message");
		free(expr);
		if (custom == NULL || len > CUSTOM_EVAL_MAX) {
			extract_xpath_free(custom);
			return 0;
		}
		xp = custom;
	} else {
		xp = compiled[data[2] % N(xpaths)];
	}
	check_charset(extract_detect_charset(body, len, ct, enc));
	item_list_init(&items);
	kw_err_clear(&err);
	r = extract_items(body, len, ct, enc, url, xp, &items, &err);
	if (r == 0) {
		for (i = 0; i < items.n; i++) {
			FUZZ_CHECK(items.v[i].text != NULL, "NULL text");
			check_text(items.v[i].text);
			if (items.v[i].link != NULL)
				check_link(items.v[i].link);
		}
	} else {
		FUZZ_CHECK(r == -1 && err.set && items.n == 0,
		    "failure without a message or with items");
	}
	item_list_release(&items);
	extract_xpath_free(custom);
	return 0;
}
