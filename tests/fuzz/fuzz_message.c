/*
 * fuzz_message: changed items -> KakaoTalk template objects
 * (message_build_format, message_build_text, message_cut; message.h).
 *
 * Input layout: byte 0: bits 0-2 max_messages - 1 (1..8), bit 3 removed
 * instead of added, bit 4 the page URL comes from the input (else a fixed
 * valid one), bits 5-7 a cut length for message_cut. The rest is split at
 * NUL bytes: the watch name, [the page URL,] then pairs of item text and
 * item link (an empty link field is "no link"), at most 64 items.
 *
 * Every template is checked with jansson, independently of message.c:
 * valid UTF-8 JSON; a list has a header_title of 1..200 characters
 * (UTF-16 units, as Kakao counts) ending in ": N new"/": N removed" with
 * N = every item, 2 or 3 contents with titles of 1..80 characters, one
 * button of 1..14 characters; a text template has text of 1..200
 * characters; no unknown fields. Each Link object holds web_url ==
 * mobile_web_url, an absolute http(s) URL: the item's link when it is
 * acceptable, else the page; it may be {} only when neither is. Items are
 * shown in order, at most 3 * max_messages of them, in at most
 * max_messages messages, and the overflow count is announced.
 *
 * Templates (message: of a watch): the watch name is also used as the
 * title and header template and the last field as the description
 * template (message_build_format). message_template_check must not
 * crash, and a refusal points inside the template; message_template_
 * expand of a template without braces is the template itself. The
 * messages built with them obey the same rules, with descriptions of
 * 1..80 characters, a feed for one item with a picture (an `image` value
 * that is an acceptable URL, as image_url), and a header that is the
 * template's when it fills in non-empty ("NAME: N new" otherwise) and
 * ends with " (+M more)" on the last message when items are left out.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kakaowatch/item.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"

#include "fuzz_util.h"

#define MAX_ITEMS 64
#define VALID_PAGE "https://example.com/board?id=1"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

/*
 * url_acceptable: may `u` go into a Link (docs/kakao.md §5.7): absolute
 * http(s) with a host, at most MESSAGE_URL_MAX bytes, valid UTF-8, no
 * space, control character (C0, DEL, C1, U+2028/9) or backslash, and
 * libcurl's URL parser reads it with a host (http.h's http_url_check
 * rule, asked of curl directly: "https://;;x/" is no URL to curl).
 */
/* curl_reads: libcurl's URL API parses `u` and finds a host in it */
static bool
curl_reads(const char *u)
{
	CURLU *h = curl_url();
	char *host = NULL;
	bool ok;

	if (h == NULL)
		abort();
	ok = curl_url_set(h, CURLUPART_URL, u, 0) == CURLUE_OK &&
	     curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	     host != NULL && host[0] != '\0';
	curl_free(host);
	curl_url_cleanup(h);
	return ok;
}

static bool
url_acceptable(const char *u)
{
	const unsigned char *p;
	size_t off, n;

	if (u == NULL)
		return false;
	if (strncasecmp(u, "http://", 7) == 0)
		off = 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		off = 8;
	else
		return false;
	n = strlen(u);
	if (n > MESSAGE_URL_MAX || strchr("/?#:@", u[off]) != NULL)
		return false;
	if (!fuzz_utf8_valid(u, n))
		return false;
	for (p = (const unsigned char *)u; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7F || *p == '\\')
			return false;
		if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			return false;
		if (p[0] == 0xE2 && p[1] == 0x80 &&
		    (p[2] == 0xA8 || p[2] == 0xA9))
			return false;
	}
	return curl_reads(u);
}

/* only the keys in `allowed` (NULL-terminated) */
static void
check_keys(json_t *o, const char *const *allowed, const char *where)
{
	const char *key;
	json_t *v;
	size_t i;

	FUZZ_CHECK(json_is_object(o), "%s is no object", where);
	json_object_foreach(o, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		FUZZ_CHECK(allowed[i] != NULL, "%s: unknown field '%s'", where,
		    key);
	}
}

/* a string member of 1..max characters */
static const char *
check_str(json_t *o, const char *key, size_t max, const char *where)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	FUZZ_CHECK(json_is_string(v), "%s.%s missing", where, key);
	s = json_string_value(v);
	FUZZ_CHECK(s[0] != '\0', "%s.%s is empty", where, key);
	FUZZ_CHECK(fuzz_utf16_units(s) <= max, "%s.%s has %zu > %zu chars",
	    where, key, fuzz_utf16_units(s), max);
	FUZZ_CHECK(strlen(s) == json_string_length(v), "%s.%s holds a NUL",
	    where, key);
	return s;
}

/* the Link object `l` should point at `want` (NULL: the fallback link;
 * a link object is never empty, Kakao requires one field) */
static void
check_link(json_t *l, const char *want, const char *where)
{
	static const char *const keys[] = { "web_url", "mobile_web_url", NULL };
	json_t *w, *m;

	check_keys(l, keys, where);
	w = json_object_get(l, "web_url");
	m = json_object_get(l, "mobile_web_url");
	if (want == NULL)
		want = MESSAGE_FALLBACK_LINK;
	FUZZ_CHECK(json_is_string(w) && json_is_string(m), "%s: no url", where);
	FUZZ_CHECK(strcmp(json_string_value(w), want) == 0 &&
		       strcmp(json_string_value(m), want) == 0,
	    "%s: '%s' instead of '%s'", where, json_string_value(w), want);
	FUZZ_CHECK(url_acceptable(json_string_value(w)), "%s: bad url '%s'",
	    where, json_string_value(w));
}

static const char *
expected_link(const struct item *it, const char *page)
{
	if (url_acceptable(it->link))
		return it->link;
	return url_acceptable(page) ? page : NULL;
}

struct expect {
	const char *page;
	const struct item_list *items;
	size_t shown; /* items consumed by earlier messages */
	size_t total; /* every item */
	size_t cap;   /* items that may be shown: 3 * max_messages */
	enum message_kind kind;
	const struct message_format *fmt; /* NULL: the defaults */
};

static void
check_header(const char *h, const struct expect *e, bool last)
{
	char suffix[96];
	size_t more = e->total > e->cap ? e->total - e->cap : 0;

	snprintf(suffix, sizeof(suffix), ": %zu %s", e->total,
	    e->kind == MESSAGE_REMOVED ? "removed" : "new");
	FUZZ_CHECK(e->fmt != NULL || strstr(h, suffix) != NULL,
	    "header '%s' lacks '%s'", h, suffix);
	if (last && more > 0) {
		snprintf(suffix, sizeof(suffix), " (+%zu more)", more);
		FUZZ_CHECK(strlen(h) >= strlen(suffix) &&
			       strcmp(h + strlen(h) - strlen(suffix), suffix) ==
				   0,
		    "last header '%s' does not end in '%s'", h, suffix);
	}
}

/* the picture of `it` that must show, or NULL */
static const char *
expected_image(const struct item *it)
{
	const char *u = message_item_value(it, "image");

	return url_acceptable(u) ? u : NULL;
}

/* a Content object of item `it` (title, description, image_url) */
static void
check_content(json_t *c, const struct item *it, const struct expect *e)
{
	static const char *const ckeys[] = { "title", "description",
		"image_url", "link", NULL };
	const char *img = expected_image(it);
	json_t *u = json_object_get(c, "image_url");

	check_keys(c, ckeys, "content");
	check_str(c, "title", MESSAGE_TITLE_MAX, "content");
	if (json_object_get(c, "description") != NULL) {
		FUZZ_CHECK(e->fmt != NULL, "a description without template");
		check_str(c, "description", MESSAGE_DESCRIPTION_MAX, "content");
	}
	FUZZ_CHECK((img == NULL) == (u == NULL), "image_url %s, want %s",
	    u ? json_string_value(u) : "none", img ? img : "none");
	if (img != NULL)
		FUZZ_CHECK(json_is_string(u) &&
			       strcmp(json_string_value(u), img) == 0,
		    "image_url");
}

/* a feed: one item with a picture */
static void
check_feed(json_t *root, const struct item *it, const struct expect *e)
{
	static const char *const keys[] = { "object_type", "content",
		"button_title", NULL };
	static const char *const ckeys[] = { "title", "description",
		"image_url", "link", NULL };
	json_t *c = json_object_get(root, "content");

	check_keys(root, keys, "feed");
	FUZZ_CHECK(expected_image(it) != NULL, "a feed without a picture");
	check_keys(c, ckeys, "feed.content");
	check_str(c, "title", MESSAGE_TITLE_MAX, "feed.content");
	/* the header always, so the description is never empty */
	check_str(c, "description", MESSAGE_TEXT_MAX, "feed.content");
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(c, "image_url")),
		       expected_image(it)) == 0,
	    "feed image_url");
	check_link(json_object_get(c, "link"), expected_link(it, e->page),
	    "feed.content.link");
	check_str(root, "button_title", MESSAGE_BUTTON_MAX, "feed");
}

static void
check_list(json_t *root, struct expect *e, bool last)
{
	static const char *const keys[] = { "object_type", "header_title",
		"header_link", "contents", "buttons", NULL };
	static const char *const bkeys[] = { "title", "link", NULL };
	json_t *contents, *buttons, *c;
	const char *page = url_acceptable(e->page) ? e->page : NULL;
	size_t i, n;

	check_keys(root, keys, "list");
	check_header(
	    check_str(root, "header_title", MESSAGE_HEADER_MAX, "list"), e,
	    last);
	check_link(json_object_get(root, "header_link"), page,
	    "list.header_link");
	contents = json_object_get(root, "contents");
	FUZZ_CHECK(json_is_array(contents), "contents");
	n = json_array_size(contents);
	FUZZ_CHECK(n >= 2 && n <= 3, "a list of %zu contents", n);
	FUZZ_CHECK(e->shown + n <= e->items->n, "more contents than items");
	for (i = 0; i < n; i++) {
		c = json_array_get(contents, i);
		check_content(c, &e->items->v[e->shown + i], e);
		check_link(json_object_get(c, "link"),
		    expected_link(&e->items->v[e->shown + i], e->page),
		    "content.link");
	}
	e->shown += n;
	buttons = json_object_get(root, "buttons");
	FUZZ_CHECK(json_is_array(buttons) && json_array_size(buttons) >= 1 &&
		       json_array_size(buttons) <= 2,
	    "buttons");
	for (i = 0; i < json_array_size(buttons); i++) {
		c = json_array_get(buttons, i);
		check_keys(c, bkeys, "button");
		check_str(c, "title", MESSAGE_BUTTON_MAX, "button");
		check_link(json_object_get(c, "link"), page, "button.link");
	}
}

static void
check_text(json_t *root, const char *want_link, const char *where)
{
	static const char *const keys[] = { "object_type", "text", "link",
		"button_title", NULL };

	check_keys(root, keys, where);
	check_str(root, "text", MESSAGE_TEXT_MAX, where);
	check_link(json_object_get(root, "link"), want_link, where);
	if (json_object_get(root, "button_title") != NULL)
		check_str(root, "button_title", MESSAGE_BUTTON_MAX, where);
}

static json_t *
parse_template(const char *json)
{
	json_error_t jerr;
	json_t *root;

	FUZZ_CHECK(fuzz_utf8_valid(json, strlen(json)), "not UTF-8: %s", json);
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(json_is_object(root), "not a JSON object (%s): %s",
	    jerr.text, json);
	return root;
}

static void
check_changes(const struct message_format *fmt, const char *name,
    const char *page, enum message_kind kind, const struct item_list *items,
    int max_messages)
{
	struct kw_err err = { 0 };
	struct expect e = { 0 };
	char **v = NULL;
	size_t n = 0, i;
	const char *type;
	json_t *root;

	FUZZ_CHECK(message_build_format(fmt, name, page, kind, items,
		       max_messages, &v, &n, &err) == 0,
	    "message_build_format: %s", err.msg);
	e.fmt = fmt;
	e.page = page;
	e.items = items;
	e.total = items->n;
	e.cap = (size_t)max_messages * MESSAGE_LIST_MAX;
	e.kind = kind;
	FUZZ_CHECK(n <= (size_t)max_messages, "%zu messages > %d", n,
	    max_messages);
	FUZZ_CHECK((items->n == 0) == (n == 0), "%zu messages for %zu items", n,
	    items->n);
	for (i = 0; i < n; i++) {
		root = parse_template(v[i]);
		type = json_string_value(json_object_get(root, "object_type"));
		FUZZ_CHECK(type != NULL, "no object_type");
		if (strcmp(type, "list") == 0) {
			check_list(root, &e, i + 1 == n);
		} else if (strcmp(type, "feed") == 0) {
			FUZZ_CHECK(items->n == 1 && n == 1,
			    "a feed template for %zu items", items->n);
			check_feed(root, &items->v[0], &e);
			e.shown++;
		} else {
			FUZZ_CHECK(strcmp(type, "text") == 0, "type '%s'",
			    type);
			FUZZ_CHECK(items->n == 1 && n == 1,
			    "a text template for %zu items", items->n);
			check_text(root, expected_link(&items->v[0], page),
			    "text");
			e.shown++;
		}
		json_decref(root);
	}
	if (items->n > 0)
		FUZZ_CHECK(e.shown == (items->n < e.cap ? items->n : e.cap),
		    "%zu of %zu items shown (cap %zu)", e.shown, items->n,
		    e.cap);
	message_list_free(v, n);
}

static void
check_text_message(const char *text, const char *link, const char *button)
{
	struct kw_err err = { 0 };
	json_t *root;
	char *out;

	out = message_build_text(text, link, button, &err);
	if (out == NULL) {
		FUZZ_CHECK(err.set, "message_build_text failed silently");
		return;
	}
	root = parse_template(out);
	check_text(root, url_acceptable(link) ? link : NULL, "send");
	json_decref(root);
	free(out);
}

/* message_template_check and _expand on any bytes */
static const char *
fill_any(void *ctx, const char *name)
{
	(void)ctx;
	return name[0] == 'x' ? NULL : name;
}

static void
check_template(const char *t, const struct item_list *items)
{
	static const enum message_part parts[] = { MESSAGE_PART_TITLE,
		MESSAGE_PART_DESCRIPTION, MESSAGE_PART_HEADER };
	const char *fields[] = { "price", "image" };
	struct kw_err err = { 0 };
	size_t i, at, cps = 0;
	const char *p;
	char *x;

	for (p = t; *p != '\0'; p++)
		cps += ((unsigned char)*p & 0xC0) != 0x80;
	for (i = 0; i < 3; i++) {
		memset(&err, 0, sizeof(err));
		if (message_template_check(t, parts[i], fields, 2, &at, &err) !=
		    0) {
			FUZZ_CHECK(err.set, "refused without a message");
			FUZZ_CHECK(at < cps, "refused at %zu of %zu", at, cps);
		}
	}
	x = message_template_expand(t, fill_any, NULL);
	FUZZ_CHECK(x != NULL, "message_template_expand: out of memory");
	if (strchr(t, '{') == NULL && strchr(t, '}') == NULL)
		FUZZ_CHECK(strcmp(x, t) == 0, "'%s' filled in as '%s'", t, x);
	free(x);
	if (items->n > 0)
		(void)message_item_value(&items->v[0], t);
}

static void
check_cut(const char *s, size_t max)
{
	char *c = message_cut(s, max);

	FUZZ_CHECK(c != NULL, "message_cut: out of memory");
	FUZZ_CHECK(fuzz_utf8_valid(c, strlen(c)), "cut is not UTF-8");
	FUZZ_CHECK(message_count_chars(c) <= max && fuzz_utf16_units(c) <= max,
	    "cut to %zu has %zu chars", max, fuzz_utf16_units(c));
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct item_list items;
	const char *fields[2 + 2 * MAX_ITEMS + 2], *name, *page;
	char *copy;
	size_t nf = 0, off, i, k;
	int max_messages;
	enum message_kind kind;

	if (size < 1)
		return 0;
	max_messages = 1 + (data[0] & 7);
	kind = data[0] & 8 ? MESSAGE_REMOVED : MESSAGE_ADDED;
	copy = fuzz_strndup(data + 1, size - 1);
	for (off = 0; off <= size - 1 && nf < sizeof(fields) / sizeof(*fields);
	     off += strlen(copy + off) + 1)
		fields[nf++] = copy + off;
	k = 0;
	name = k < nf ? fields[k++] : "";
	page = VALID_PAGE;
	if (data[0] & 0x10)
		page = k < nf ? fields[k++] : "";
	item_list_init(&items);
	for (i = k; i < nf && items.n < MAX_ITEMS; i += 2) {
		const char *link = i + 1 < nf && fields[i + 1][0] != '\0' ?
				       fields[i + 1] :
				       NULL;

		if (item_list_add(&items, fields[i], link) != 0)
			abort();
	}
	check_changes(NULL, name, page, kind, &items, max_messages);
	{
		struct message_format fmt = { name,
			k < nf ? fields[nf - 1] : NULL, name };

		check_template(name, &items);
		check_changes(&fmt, name, page, kind, &items, max_messages);
	}
	check_text_message(name, page, k < nf ? fields[nf - 1] : NULL);
	check_cut(name, (size_t)(data[0] >> 5) * 7);
	if (items.n > 0)
		check_cut(items.v[0].text, MESSAGE_TITLE_MAX);
	item_list_release(&items);
	free(copy);
	return 0;
}
