/* message: changes -> Kakao template objects (see message.h). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/message.h"
#include "kakaowatch/utf8.h"

#define CP_ELLIPSIS 0x2026u

#define BUTTON_PAGE "페이지 열기"
#define BUTTON_ALL "전체 보기"
#define BUTTON_ITEM "열기"
#define NO_TEXT "(텍스트 없음)"
#define NO_NAME "kakaowatch"

enum clean_mode {
	CLEAN_KEEP, /* only repair UTF-8 */
	CLEAN_LINE, /* one line: controls and space runs -> one space, trim */
	CLEAN_MULTI /* keep LF (CR LF, CR -> LF), other controls -> space */
};

/* next_cp decodes one code point of s[0..n) (n >= 1), U+FFFD for an
 * ill-formed subpart; returns the bytes used (>= 1) */
static size_t
next_cp(const unsigned char *s, size_t n, uint32_t *cp)
{
	int len = utf8_decode((const char *)s, n, cp);

	return (size_t)(len < 0 ? -len : len);
}

/* Kakao counts like Java's String.length: UTF-16 code units. */
static size_t
cp_width(uint32_t c)
{
	return c > 0xFFFF ? 2 : 1;
}

static bool
cp_is_control(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) ||
	       c == 0x2028 || c == 0x2029;
}

static bool
cp_is_space(uint32_t c)
{
	return c == ' ' || cp_is_control(c);
}

/* decode: `s` -> heap array of code points (*n of them); NULL on OOM. */
static uint32_t *
decode(const char *s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), off = 0, k = 0;
	uint32_t *v;

	v = malloc((len + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	while (off < len)
		off += next_cp(p + off, len - off, &v[k++]);
	*n = k;
	return v;
}

/* clean rewrites v[0..*n) in place according to `mode`. */
static void
clean(uint32_t *v, size_t *n, enum clean_mode mode)
{
	size_t i, o = 0;
	bool pending = false;

	if (mode == CLEAN_KEEP)
		return;
	for (i = 0; i < *n; i++) {
		uint32_t c = v[i];

		if (mode == CLEAN_LINE) {
			if (cp_is_space(c)) {
				pending = o > 0;
				continue;
			}
			if (pending)
				v[o++] = ' ';
			pending = false;
			v[o++] = c;
			continue;
		}
		/* CLEAN_MULTI */
		if (c == '\r') {
			if (i + 1 < *n && v[i + 1] == '\n')
				continue;
			c = '\n';
		} else if (c != '\n' && cp_is_control(c)) {
			c = ' ';
		}
		if (o == 0 && (c == ' ' || c == '\n'))
			continue;
		v[o++] = c;
	}
	if (mode == CLEAN_MULTI)
		while (o > 0 && (v[o - 1] == ' ' || v[o - 1] == '\n'))
			o--;
	*n = o;
}

/*
 * cut_point returns how many code points of v[0..n) to keep so that they
 * plus "…" fit in `max` (>= 1) characters; *cut tells whether anything is
 * dropped (then "…" follows). SIZE_MAX on out-of-memory.
 */
static size_t
cut_point(const uint32_t *v, size_t n, size_t max, bool *cut)
{
	size_t total = 0, units = 0, fit, k;
	bool *brk;

	for (k = 0; k < n; k++)
		total += cp_width(v[k]);
	*cut = total > max;
	if (!*cut)
		return n;
	for (fit = 0; fit < n && units + cp_width(v[fit]) <= max - 1; fit++)
		units += cp_width(v[fit]);
	k = fit;
	/* fit < n here: v[fit] is the first code point dropped */
	brk = malloc((fit + 1) * sizeof(*brk));
	if (brk == NULL)
		return SIZE_MAX;
	utf8_grapheme_breaks(v, fit + 1, brk);
	while (k > 0 && !brk[k])
		k--;
	free(brk);
	if (k == 0) /* one cluster longer than the room: by code point */
		k = fit;
	while (k > 0 && cp_is_space(v[k - 1]))
		k--;
	return k;
}

/* clean_cut: message_cut with a cleaning mode; NULL only on OOM. */
static char *
clean_cut(const char *s, size_t max, enum clean_mode mode)
{
	uint32_t *v;
	size_t n, k, i, o = 0;
	bool cut = false;
	char *out;

	if (s == NULL)
		s = "";
	v = decode(s, &n);
	if (v == NULL)
		return NULL;
	clean(v, &n, mode);
	k = max == 0 ? 0 : cut_point(v, n, max, &cut);
	if (k == SIZE_MAX) {
		free(v);
		return NULL;
	}
	out = malloc(k * 4 + 4);
	if (out != NULL) {
		for (i = 0; i < k; i++)
			o += utf8_encode(v[i], out + o);
		if (cut)
			o += utf8_encode(CP_ELLIPSIS, out + o);
		out[o] = '\0';
	}
	free(v);
	return out;
}

char *
message_cut(const char *s, size_t max_chars)
{
	return clean_cut(s, max_chars, CLEAN_KEEP);
}

size_t
message_count_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, off = 0, count = 0;
	uint32_t c;

	if (s == NULL)
		return 0;
	len = strlen(s);
	while (off < len) {
		off += next_cp(p + off, len - off, &c);
		count += cp_width(c);
	}
	return count;
}

bool
message_url_ok(const char *url)
{
	/* the URL rule is http's; Kakao's length and JSON's UTF-8 are ours */
	return url != NULL && strlen(url) <= MESSAGE_URL_MAX &&
	       utf8_valid(url, strlen(url)) &&
	       http_url_check(url, NULL, 0) == 0;
}

/* --- templates --------------------------------------------------------- */

/* the placeholders every part knows, and those of an item */
static const char *const common_names[] = { "name", "count", "change", NULL };
static const char *const item_names[] = { "title", "link", "date", "summary",
	"author", "image", NULL };

static bool
name_in(const char *name, const char *const *v)
{
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		if (strcmp(name, v[i]) == 0)
			return true;
	return false;
}

/* cps: code points in s[0..n) */
static size_t
cps(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

/* template_known: is `name` a placeholder of `part`? */
static bool
template_known(const char *name, enum message_part part,
    const char *const *fields, size_t nfields)
{
	size_t i;

	if (name_in(name, common_names))
		return true;
	if (part == MESSAGE_PART_HEADER)
		return false;
	if (name_in(name, item_names) || nfields == MESSAGE_FIELDS_ANY)
		return true;
	for (i = 0; i < nfields; i++)
		if (fields[i] != NULL && strcmp(name, fields[i]) == 0)
			return true;
	return false;
}

/* template_err: -1 with the message, *at = code point offset of p */
static int
template_err(const char *tmpl, const char *p, size_t *at, struct kw_err *err,
    const char *fmt, const char *arg)
{
	if (at != NULL)
		*at = cps(tmpl, (size_t)(p - tmpl));
	return kw_err_set(err, fmt, arg);
}

int
message_template_check(const char *tmpl, enum message_part part,
    const char *const *fields, size_t nfields, size_t *at, struct kw_err *err)
{
	char name[MESSAGE_PLACEHOLDER_MAX + 1];
	const char *p, *q;
	size_t len;

	if (at != NULL)
		*at = 0;
	if (tmpl == NULL)
		return 0;
	for (p = tmpl; *p != '\0'; p++) {
		if (*p == '}') {
			if (p[1] == '}') {
				p++;
				continue;
			}
			return template_err(tmpl, p, at, err,
			    "'}' without its '{' (write '}}' for a brace)%s",
			    "");
		}
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		for (q = p + 1; *q != '\0' && *q != '{' && *q != '}'; q++)
			;
		if (*q != '}')
			return template_err(tmpl, p, at, err,
			    "'{' without its '}' (write '{{' for a brace)%s",
			    "");
		len = (size_t)(q - p - 1);
		if (len == 0)
			return template_err(tmpl, p, at, err,
			    "an empty placeholder '{}'%s", "");
		if (len > MESSAGE_PLACEHOLDER_MAX)
			return template_err(tmpl, p, at, err,
			    "a placeholder longer than 64 bytes%s", "");
		memcpy(name, p + 1, len);
		name[len] = '\0';
		if (!template_known(name, part, fields, nfields)) {
			if (part == MESSAGE_PART_HEADER &&
			    template_known(name, MESSAGE_PART_TITLE, fields,
				nfields))
				return template_err(tmpl, p, at, err,
				    "'{%s}' is a value of one item; the header "
				    "knows {name}, {count} and {change}",
				    name);
			return template_err(tmpl, p, at, err,
			    part == MESSAGE_PART_HEADER ?
				"unknown placeholder '{%s}' (the header knows "
				"{name}, {count} and {change})" :
				"unknown placeholder '{%s}' (known: {name}, "
				"{count}, {change}, {title}, {link}, {date}, "
				"{summary}, {author}, {image} and the names of "
				"fields:)",
			    name);
		}
		p = q;
	}
	return 0;
}

char *
message_template_expand(const char *tmpl, message_value_fn value, void *ctx)
{
	char name[MESSAGE_PLACEHOLDER_MAX + 1];
	const char *p, *q, *v;
	struct buf b;
	size_t len;
	int r = 0;

	buf_init(&b, 0);
	for (p = tmpl != NULL ? tmpl : ""; *p != '\0' && r == 0; p++) {
		if ((p[0] == '{' && p[1] == '{') ||
		    (p[0] == '}' && p[1] == '}')) {
			r = buf_append(&b, p, 1);
			p++;
			continue;
		}
		if (*p != '{') {
			r = buf_append(&b, p, 1);
			continue;
		}
		for (q = p + 1; *q != '\0' && *q != '{' && *q != '}'; q++)
			;
		len = (size_t)(q - p - 1);
		if (*q != '}' || len == 0 || len > MESSAGE_PLACEHOLDER_MAX) {
			/* not a placeholder: the brace is text */
			r = buf_append(&b, p, 1);
			continue;
		}
		memcpy(name, p + 1, len);
		name[len] = '\0';
		v = value != NULL ? value(ctx, name) : NULL;
		if (v != NULL)
			r = buf_append(&b, v, strlen(v));
		p = q;
	}
	if (r != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

const char *
message_item_value(const struct item *it, const char *name)
{
	if (it == NULL || name == NULL)
		return NULL;
	return item_get(it, name);
}

void
message_plan(size_t nitems, int max_messages, size_t *chunk_sizes,
    size_t *nchunks, size_t *more)
{
	size_t mm = max_messages < 1 ? 1 : (size_t)max_messages;
	size_t shown = nitems, k, i;

	*nchunks = 0;
	*more = 0;
	if (nitems == 0)
		return;
	if (nitems == 1) {
		chunk_sizes[0] = 1;
		*nchunks = 1;
		return;
	}
	if (mm <= SIZE_MAX / MESSAGE_LIST_MAX && shown > mm * MESSAGE_LIST_MAX)
		shown = mm * MESSAGE_LIST_MAX;
	*more = nitems - shown;
	k = (shown + MESSAGE_LIST_MAX - 1) / MESSAGE_LIST_MAX;
	for (i = 0; i < k; i++)
		chunk_sizes[i] = MESSAGE_LIST_MAX;
	if (shown % MESSAGE_LIST_MAX == 1) {
		/* 3 + 1 -> 2 + 2: a list needs two contents; shown >= 4 */
		chunk_sizes[k - 2] = 2;
		chunk_sizes[k - 1] = 2;
	} else if (shown % MESSAGE_LIST_MAX == 2) {
		chunk_sizes[k - 1] = 2;
	}
	*nchunks = k;
}

void
message_list_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * link_new: a Link object for `url` (already message_url_ok), else for
 * MESSAGE_FALLBACK_LINK: Kakao's contract needs at least one field in a
 * link object (docs/kakao.md §5.7), so it is never empty.
 */
static json_t *
link_new(const char *url)
{
	json_t *o;

	if (url == NULL)
		url = MESSAGE_FALLBACK_LINK;
	o = json_object();
	if (o == NULL)
		return o;
	if (json_object_set_new(o, "web_url", json_string(url)) != 0 ||
	    json_object_set_new(o, "mobile_web_url", json_string(url)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* set_take sets o[key] to the string `s` (heap, always freed). */
static int
set_take(json_t *o, const char *key, char *s)
{
	int result;

	if (s == NULL)
		return -1;
	result = json_object_set_new(o, key, json_string(s));
	free(s);
	return result;
}

/* item_url: the item's link when usable, else the page (may be NULL). */
static const char *
item_url(const struct item *it, const char *page)
{
	return message_url_ok(it->link) ? it->link : page;
}

/* item_image: the item's picture when it may go into image_url, or NULL */
static const char *
item_image(const struct item *it)
{
	const char *u = message_item_value(it, "image");

	return message_url_ok(u) ? u : NULL;
}

/* the header's word for a kind of change */
static const char *
kind_word(enum message_kind kind)
{
	switch (kind) {
	case MESSAGE_REMOVED:
		return "removed";
	case MESSAGE_CHANGED:
		return "edited";
	case MESSAGE_ADDED:
		break;
	}
	return "new";
}

/* what a template is filled in with: one message, maybe one item */
struct fill {
	const struct message_format *fmt;
	const char *name; /* the watch's name as it goes into the text */
	const char *page; /* the page's URL when usable, or NULL */
	enum message_kind kind;
	char count[24];        /* items of this kind in this check */
	const struct item *it; /* NULL for the header */
};

static const char *
fill_value(void *ctx, const char *name)
{
	const struct fill *f = ctx;

	if (strcmp(name, "name") == 0)
		return f->name;
	if (strcmp(name, "count") == 0)
		return f->count;
	if (strcmp(name, "change") == 0)
		return kind_word(f->kind);
	return message_item_value(f->it, name);
}

/* fill_cut: `tmpl` filled in, as one line cut to `max`; NULL on OOM */
static char *
fill_cut(struct fill *f, const char *tmpl, size_t max)
{
	char *t, *out;

	t = message_template_expand(tmpl, fill_value, f);
	if (t == NULL)
		return NULL;
	out = clean_cut(t, max, CLEAN_LINE);
	free(t);
	return out;
}

/*
 * item_title: the title template filled in for f->it as one line, else the
 * item's link, else NO_TEXT; at most `max` characters. NULL on OOM.
 */
static char *
item_title(struct fill *f, size_t max)
{
	const char *tmpl = f->fmt != NULL && f->fmt->title != NULL ?
			       f->fmt->title :
			       MESSAGE_DEFAULT_TITLE;
	char *t;

	t = fill_cut(f, tmpl, max);
	if (t == NULL || t[0] != '\0')
		return t;
	free(t);
	t = clean_cut(f->it->link, max, CLEAN_LINE);
	if (t == NULL || t[0] != '\0')
		return t;
	free(t);
	return clean_cut(NO_TEXT, max, CLEAN_LINE);
}

/*
 * item_description: the description template filled in for f->it, at
 * most `max` characters; *out = NULL when there is none (no template, or
 * empty once filled in). 0, or -1 on OOM.
 */
static int
item_description(struct fill *f, size_t max, char **out)
{
	*out = NULL;
	if (f->fmt == NULL || f->fmt->description == NULL ||
	    f->fmt->description[0] == '\0')
		return 0;
	*out = fill_cut(f, f->fmt->description, max);
	if (*out == NULL)
		return -1;
	if ((*out)[0] == '\0') {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/*
 * header_new: the header template filled in ("NAME: N new" / "N removed"
 * / "N edited" by default), plus " (+M more)" when more > 0, at most `max`
 * characters; the name is cut first, then the rest, never the suffix.
 */
static char *
header_new(struct fill *f, const char *watch_name, size_t more, size_t max)
{
	bool custom = f->fmt != NULL && f->fmt->header != NULL &&
		      f->fmt->header[0] != '\0';
	const char *tmpl = custom ? f->fmt->header : MESSAGE_DEFAULT_HEADER;
	char suffix[48], *rest, *cname, *h = NULL, *out = NULL;
	size_t slen, room;

	suffix[0] = '\0';
	if (more > 0)
		snprintf(suffix, sizeof(suffix), " (+%zu more)", more);
	slen = strlen(suffix); /* ASCII: bytes == characters */
	f->it = NULL;
	/* the room the rest of the header leaves for the name (measured
	   with a one-letter name, so spaces around it are not trimmed) */
	f->name = "x";
	rest = fill_cut(f, tmpl, SIZE_MAX);
	if (rest == NULL)
		return NULL;
	slen += message_count_chars(rest);
	if (strstr(tmpl, "{name}") != NULL)
		slen--;
	free(rest);
	room = max > slen + 1 ? max - slen : 1;
	cname = clean_cut(watch_name, room, CLEAN_LINE);
	if (cname != NULL && cname[0] == '\0') {
		free(cname);
		cname = strdup(NO_NAME);
	}
	if (cname == NULL)
		return NULL;
	f->name = cname;
	slen = strlen(suffix);
	h = fill_cut(f, tmpl, max > slen ? max - slen : 0);
	if (h != NULL && h[0] == '\0' && custom) {
		/* a header that fills in empty: the built-in one */
		free(h);
		h = fill_cut(f, MESSAGE_DEFAULT_HEADER,
		    max > slen ? max - slen : 0);
	}
	if (h != NULL && (out = malloc(strlen(h) + slen + 1)) != NULL) {
		strcpy(out, h);
		strcat(out, suffix);
	}
	free(h);
	free(cname);
	f->name = watch_name;
	return out;
}

/*
 * text_template: {"object_type":"text","text":..,"link":..,
 * "button_title":..}; `text` is clean and within limits; `url` may be NULL,
 * `button` NULL or "" (omitted). Returns JSON text or NULL on OOM.
 */
static char *
text_template(const char *text, const char *url, const char *button)
{
	json_t *root;
	char *out = NULL;

	root = json_object();
	if (root == NULL)
		return NULL;
	if (json_object_set_new(root, "object_type", json_string("text")) ||
	    json_object_set_new(root, "text", json_string(text)) ||
	    json_object_set_new(root, "link", link_new(url)))
		goto out;
	if (button != NULL && button[0] != '\0' &&
	    json_object_set_new(root, "button_title", json_string(button)))
		goto out;
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return out;
}

/* join3: "a\nb\nc" with NULL parts left out; NULL on OOM */
static char *
join3(const char *a, const char *b, const char *c)
{
	const char *v[3] = { a, b, c };
	struct buf out;
	size_t i;
	int r = 0;

	buf_init(&out, 0);
	for (i = 0; i < 3 && r == 0; i++) {
		if (v[i] == NULL)
			continue;
		if (out.len > 0)
			r = buf_puts(&out, "\n");
		if (r == 0)
			r = buf_puts(&out, v[i]);
	}
	if (r != 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

/*
 * content_new: the Content object of item f->it (docs/kakao.md §5.7):
 * title, description (when there is one; `description` given replaces
 * the template's), image_url (when the item has a usable picture) and
 * link. NULL on OOM.
 */
static json_t *
content_new(struct fill *f, char *description)
{
	const char *image = item_image(f->it);
	json_t *c = json_object();
	char *d = description;
	int r;

	if (c == NULL || (d == NULL && item_description(f,
					   MESSAGE_DESCRIPTION_MAX, &d) != 0)) {
		json_decref(c);
		free(d);
		return NULL;
	}
	r = set_take(c, "title", item_title(f, MESSAGE_TITLE_MAX));
	if (r == 0 && d != NULL)
		r = json_object_set_new(c, "description", json_string(d));
	if (r == 0 && image != NULL)
		r = json_object_set_new(c, "image_url", json_string(image));
	if (r == 0)
		r = json_object_set_new(c, "link",
		    link_new(item_url(f->it, f->page)));
	free(d);
	if (r != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* feed_template: one item with a picture: a feed (docs/kakao.md §5.2) */
static char *
feed_template(struct fill *f, const char *header)
{
	json_t *root, *content;
	char *desc = NULL, *joined, *text, *out = NULL;

	if (item_description(f, MESSAGE_TEXT_MAX, &desc) != 0)
		return NULL;
	joined = join3(header, desc, NULL);
	free(desc);
	text = joined != NULL ? message_cut(joined, MESSAGE_TEXT_MAX) : NULL;
	free(joined);
	if (text == NULL)
		return NULL;
	content = content_new(f, text); /* takes text */
	root = json_object();
	if (content == NULL || root == NULL) {
		json_decref(content);
		goto out;
	}
	if (json_object_set_new(root, "object_type", json_string("feed")) ||
	    json_object_set_new(root, "content", content) ||
	    json_object_set_new(root, "button_title", json_string(BUTTON_ITEM)))
		goto out;
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return out;
}

/*
 * single_template: one changed item `it`: a feed when it has a picture,
 * else a text template "HEADER\nTITLE[\nDESCRIPTION]".
 */
static char *
single_template(struct fill *f, const char *watch_name, const struct item *it)
{
	char *header, *title = NULL, *desc = NULL, *joined = NULL;
	char *text = NULL, *out = NULL;

	header = header_new(f, watch_name, 0, MESSAGE_TEXT_HEADER_MAX);
	if (header == NULL)
		goto out;
	f->it = it;
	if (item_image(f->it) != NULL) {
		out = feed_template(f, header);
		goto out;
	}
	title = item_title(f, MESSAGE_TEXT_MAX);
	if (title == NULL || item_description(f, MESSAGE_TEXT_MAX, &desc))
		goto out;
	joined = join3(header, title, desc);
	if (joined == NULL)
		goto out;
	text = message_cut(joined, MESSAGE_TEXT_MAX);
	if (text == NULL)
		goto out;
	out = text_template(text, item_url(f->it, f->page), BUTTON_ITEM);
out:
	free(header);
	free(title);
	free(desc);
	free(joined);
	free(text);
	return out;
}

/* list_template: items v[0..n) (2 or 3) as a list template. */
static char *
list_template(struct fill *f, const char *header, const struct item *v,
    size_t n, const char *button_title)
{
	json_t *root, *contents, *content, *buttons, *button;
	char *out = NULL;
	size_t i;

	root = json_object();
	contents = json_array();
	buttons = json_array();
	if (root == NULL || contents == NULL || buttons == NULL) {
		json_decref(contents);
		json_decref(buttons);
		goto out;
	}
	/* root owns contents and buttons from here (set_new steals) */
	if (json_object_set_new(root, "object_type", json_string("list")) ||
	    json_object_set_new(root, "header_title", json_string(header)) ||
	    json_object_set_new(root, "header_link", link_new(f->page)) ||
	    json_object_set_new(root, "contents", contents) ||
	    json_object_set_new(root, "buttons", buttons))
		goto out;
	for (i = 0; i < n; i++) {
		f->it = &v[i];
		content = content_new(f, NULL);
		if (content == NULL || json_array_append_new(contents, content))
			goto out;
	}
	button = json_object();
	if (json_array_append_new(buttons, button) ||
	    json_object_set_new(button, "title", json_string(button_title)) ||
	    json_object_set_new(button, "link", link_new(f->page)))
		goto out;
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return out;
}

int
message_build_format(const struct message_format *fmt, const char *watch_name,
    const char *page_url, enum message_kind kind, const struct item_list *items,
    int max_messages, char ***out, size_t *nout, struct kw_err *err)
{
	size_t n = items != NULL ? items->n : 0;
	size_t mm = max_messages < 1 ? 1 : (size_t)max_messages;
	size_t *sizes = NULL, nchunks = 0, more = 0, i, off = 0;
	const char *button;
	char **v = NULL, *header;
	struct fill f;
	bool last;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	memset(&f, 0, sizeof(f));
	f.fmt = fmt;
	f.name = watch_name != NULL ? watch_name : "";
	f.kind = kind;
	snprintf(f.count, sizeof(f.count), "%zu", n);
	sizes = calloc(mm < n ? mm : n, sizeof(*sizes));
	if (sizes == NULL)
		goto fail;
	message_plan(n, max_messages, sizes, &nchunks, &more);
	v = calloc(nchunks, sizeof(*v));
	if (v == NULL)
		goto fail;
	f.page = message_url_ok(page_url) ? page_url : NULL;
	for (i = 0; i < nchunks; i++) {
		last = i + 1 == nchunks;
		if (sizes[i] == 1) {
			v[i] = single_template(&f, f.name, &items->v[off]);
		} else {
			header = header_new(&f, f.name, last ? more : 0,
			    MESSAGE_HEADER_MAX);
			if (header == NULL)
				goto fail;
			button = last && more > 0 ? BUTTON_ALL : BUTTON_PAGE;
			v[i] = list_template(&f, header, &items->v[off],
			    sizes[i], button);
			free(header);
		}
		if (v[i] == NULL)
			goto fail;
		off += sizes[i];
	}
	free(sizes);
	*out = v;
	*nout = nchunks;
	return 0;
fail:
	free(sizes);
	message_list_free(v, nchunks);
	return kw_err_set(err, "message: out of memory");
}

char *
message_build_text(const char *text, const char *link_url,
    const char *button_title, struct kw_err *err)
{
	char *t, *b = NULL, *out = NULL;

	t = clean_cut(text, MESSAGE_TEXT_MAX, CLEAN_MULTI);
	if (t != NULL && t[0] == '\0') {
		kw_err_set(err, "message text is empty");
		goto out;
	}
	if (t != NULL && button_title != NULL)
		b = clean_cut(button_title, MESSAGE_BUTTON_MAX, CLEAN_LINE);
	if (t != NULL && (button_title == NULL || b != NULL))
		out = text_template(t,
		    message_url_ok(link_url) ? link_url : NULL, b);
	if (out == NULL)
		kw_err_set(err, "message: out of memory");
out:
	free(t);
	free(b);
	return out;
}

/* first_string: the first non-empty string at one of `keys` in `o` */
static const char *
first_string(json_t *o, const char *const *keys)
{
	json_t *v;
	size_t i;

	for (i = 0; keys[i] != NULL; i++) {
		v = json_object_get(o, keys[i]);
		if (json_is_string(v) && json_string_value(v)[0] != '\0')
			return json_string_value(v);
	}
	return NULL;
}

/* first_url: the first acceptable web_url anywhere in `o`, or NULL */
static const char *
first_url(json_t *o)
{
	const char *key, *u;
	json_t *v;
	size_t i;

	if (json_is_array(o)) {
		json_array_foreach(o, i, v) {
			u = first_url(v);
			if (u != NULL)
				return u;
		}
		return NULL;
	}
	if (!json_is_object(o))
		return NULL;
	v = json_object_get(o, "web_url");
	if (json_is_string(v) && message_url_ok(json_string_value(v)))
		return json_string_value(v);
	json_object_foreach(o, key, v) {
		u = first_url(v);
		if (u != NULL)
			return u;
	}
	return NULL;
}

char *
message_build_minimal(const char *template_json, const char *fallback_link,
    struct kw_err *err)
{
	static const char *const top[] = { "text", "header_title", NULL };
	static const char *const content[] = { "title", "description", NULL };
	json_t *root, *c;
	const char *what = NULL, *url;
	char *out;

	root = template_json ? json_loads(template_json, 0, NULL) : NULL;
	if (json_is_object(root)) {
		what = first_string(root, top);
		c = json_object_get(root, "content");
		if (what == NULL && json_is_object(c))
			what = first_string(c, content);
		c = json_object_get(root, "contents");
		if (what == NULL && json_is_array(c) &&
		    json_is_object(json_array_get(c, 0)))
			what = first_string(json_array_get(c, 0), content);
	}
	if (what == NULL)
		what = "kakaowatch: a message Kakao refused as invalid; run "
		       "`kakaowatch outbox list` to see it";
	url = json_is_object(root) ? first_url(root) : NULL;
	if (url == NULL)
		url = message_url_ok(fallback_link) ? fallback_link : NULL;
	out = message_build_text(what, url, NULL, err);
	json_decref(root);
	return out;
}
