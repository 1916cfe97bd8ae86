/*
 * fuzz_feed: XML documents and feeds -> items (extract_document,
 * extract.h): the safe XML parse, the charset order, feed entries, the
 * per-item title/link expressions and the parser auto-detection.
 *
 * Input layout: byte 0 picks the parser (auto, html, xml, feed) and the
 * Content-Type, byte 1 the xpath (or none), byte 2 the title/link
 * expressions and byte 3 the page URL, each from a table below (index
 * modulo the table size); the rest is the document as fetched.
 *
 * Checked: a success gives items whose text is non-empty valid UTF-8
 * without control bytes, whose link, key, date and summary are valid
 * UTF-8, links never javascript:/data:, summaries at most
 * ITEM_SUMMARY_MAX bytes; a failure leaves the list empty with a message;
 * extract_detect_parser never says AUTO.
 */
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

static const char *const content_types[] = {
	NULL,
	"text/xml",
	"application/rss+xml; charset=utf-8",
	"application/atom+xml",
	"text/xml; charset=euc-kr",
	"text/html; charset=utf-8",
	"application/json",
	"application/xml; charset=utf-16",
};

static const char *const xpaths[] = {
	NULL,
	"//item",
	"//atom:entry",
	"//item/title[contains(., 'a')]",
	"//*",
	"/",
	"//@*",
	"count(//item)",
	"//n:x",
	"//text()",
};

static const struct {
	const char *title, *link;
} fields[] = {
	{ NULL, NULL },
	{ "title", "link" },
	{ "concat(title, '-', guid)", "string(@href)" },
	{ "*[1]", "*[contains(local-name(), 'Url')]" },
	{ "string(.)", "." },
	{ "count(*)", "1 div 0" },
};

/* fields: for every input: text, an attribute, a number, an image URL */
static const char *const item_fields[] = {
	"price",
	".//*[contains(local-name(), 'price')]",
	"at",
	"string(@*[1])",
	"n",
	"count(.//*)",
	"image",
	"(.//*[@src] | .//*[@href] | .//enclosure)[1]",
	"summary",
	"string(*[last()])",
};

static const char *const page_urls[] = {
	NULL,
	"https://rss.blog.naver.com/x.xml",
	"http://127.0.0.1:8080/a/b?c",
	"relative/x.xml",
};

static const char *const ns[] = { "n", "urn:x" };

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
		if (xpaths[i] == NULL)
			continue;
		compiled[i] = extract_xpath_compile_ns(xpaths[i], ns, 1, &err);
		FUZZ_CHECK(compiled[i] != NULL, "table xpath '%s': %s",
		    xpaths[i], err.msg);
	}
	return 0;
}

static void
check_str(const char *s, const char *what)
{
	if (s == NULL)
		return;
	FUZZ_CHECK(fuzz_utf8_valid(s, strlen(s)), "%s is not UTF-8", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_opts opts = { 0 };
	struct item_list items;
	struct kw_err err = { 0 };
	enum extract_parser used;
	const char *ct, *body, *url;
	const unsigned char *u;
	size_t len, i, f;
	int r;

	if (size < 4)
		return 0;
	opts.parser = (enum extract_parser)(data[0] % 4);
	ct = content_types[(data[0] / 4) % N(content_types)];
	f = data[2] % N(fields);
	opts.title = fields[f].title;
	opts.link = fields[f].link;
	opts.namespaces = ns;
	opts.nnamespaces = 1;
	opts.fields = item_fields;
	opts.nfields = (data[2] / 8) % (N(item_fields) / 2 + 1);
	url = page_urls[data[3] % N(page_urls)];
	body = (const char *)data + 4;
	len = size - 4;
	FUZZ_CHECK(extract_detect_parser(body, len, ct) != EXTRACT_PARSER_AUTO,
	    "detection said auto");
	item_list_init(&items);
	r = extract_document(body, len, ct, NULL, url,
	    compiled[data[1] % N(xpaths)], &opts, &items, &used, &err);
	if (r == 0) {
		for (i = 0; i < items.n; i++) {
			const struct item *it = &items.v[i];

			FUZZ_CHECK(it->text != NULL && it->text[0] != '\0',
			    "empty item text");
			check_str(it->text, "text");
			for (u = (const unsigned char *)it->text; *u; u++)
				FUZZ_CHECK(*u >= 0x20 && *u != 0x7F,
				    "control byte 0x%02x in text", *u);
			check_str(it->link, "link");
			check_str(it->key, "key");
			for (size_t fi = 0; fi < it->nfields; fi++) {
				check_str(it->fields[fi].name, "field name");
				check_str(it->fields[fi].value, "field");
				FUZZ_CHECK(it->fields[fi].value[0] != '\0' &&
					       strlen(it->fields[fi].value) <=
						   ITEM_FIELD_MAX,
				    "field value empty or too long");
			}
			if (item_field(it, "summary") != NULL)
				FUZZ_CHECK(strlen(item_field(it, "summary")) <=
					       ITEM_SUMMARY_MAX,
				    "summary too long");
			if (it->link != NULL)
				FUZZ_CHECK(
				    strncasecmp(it->link, "javascript:", 11) !=
					    0 &&
					strncasecmp(it->link, "data:", 5) != 0,
				    "script link '%s'", it->link);
		}
	} else {
		FUZZ_CHECK(r == -1 && err.set && items.n == 0,
		    "failure without a message or with items");
	}
	item_list_release(&items);
	return 0;
}
