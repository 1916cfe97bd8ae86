/*
 * extract_feed: RSS 0.9x/1.0/2.0 and Atom 1.0 entries -> items (see
 * extract.h). Formats: RSS 2.0 (https://www.rssboard.org/rss-specification),
 * RSS 1.0 (https://web.resource.org/rss/1.0/spec), Atom (RFC 4287).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "kakaowatch/extract.h"

#include "extract_int.h"

/* characters of a summary that stand in for a missing title */
#define TITLE_FROM_SUMMARY_CHARS 100

enum feed_kind { FEED_RSS, FEED_RDF, FEED_ATOM };

struct entry_list {
	xmlNodePtr *v;
	size_t n, cap;
};

static int
entries_add(struct entry_list *l, xmlNodePtr n)
{
	xmlNodePtr *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 32;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return 0;
}

static bool
is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL &&
	       strcmp((const char *)n->name, name) == 0;
}

static bool
same_ns(xmlNodePtr a, xmlNodePtr b)
{
	if (a->ns == NULL || b->ns == NULL)
		return a->ns == b->ns;
	return xmlStrcmp(a->ns->href, b->ns->href) == 0;
}

/* the first child of `entry` called `name` in `ns` (NULL: entry's own) */
static xmlNodePtr
child(xmlNodePtr entry, const char *name, const char *ns)
{
	xmlNodePtr c;

	for (c = entry->children; c != NULL; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (ns == NULL ? same_ns(c, entry) :
				 (c->ns != NULL &&
				     xmlStrcmp(c->ns->href, BAD_CAST ns) == 0))
			return c;
	}
	return NULL;
}

/* trimmed raw text content of `n` (heap), NULL for no node or OOM */
static char *
content_of(xmlNodePtr n, bool *oom)
{
	xmlChar *s;
	const char *p, *e;
	char *out;

	if (n == NULL)
		return NULL;
	s = xmlNodeGetContent(n);
	if (s == NULL)
		return NULL;
	p = (const char *)s;
	while (*p != '\0' && (unsigned char)*p <= 0x20)
		p++;
	e = p + strlen(p);
	while (e > p && (unsigned char)e[-1] <= 0x20)
		e--;
	out = e > p ? strndup(p, (size_t)(e - p)) : NULL;
	if (e > p && out == NULL)
		*oom = true;
	xmlFree(s);
	return out;
}

/*
 * text_construct: the plain text of a title/summary/description element:
 * Atom type="html" and RSS text holding markup or references are read as
 * HTML, type="xhtml" as XML, else as written. NULL: none or empty.
 */
static char *
text_construct(xmlNodePtr n, bool rss, bool *oom)
{
	xmlChar *type;
	char *raw, *text = NULL;
	bool html = rss, xhtml = false;

	if (n == NULL)
		return NULL;
	type = xmlGetNoNsProp(n, BAD_CAST "type");
	if (type != NULL) {
		html = xmlStrcasecmp(type, BAD_CAST "html") == 0 ||
		       xmlStrcasecmp(type, BAD_CAST "text/html") == 0;
		xhtml = xmlStrcasecmp(type, BAD_CAST "xhtml") == 0;
		xmlFree(type);
	}
	if (xhtml) {
		if (xi_xml_text(n, &text) != 0)
			*oom = true;
	} else {
		raw = content_of(n, oom);
		if (raw == NULL)
			return NULL;
		if (html)
			xi_html_fragment_text(raw, &text);
		else if (xi_xml_text(n, &text) != 0)
			*oom = true;
		if (text == NULL)
			*oom = true;
		free(raw);
	}
	if (text != NULL && *text == '\0') {
		free(text);
		text = NULL;
	}
	return text;
}

/* cut s (heap) to at most `max` bytes / `chars` characters, UTF-8 safe */
static void
cut_utf8(char *s, size_t max, size_t chars)
{
	size_t i = 0, n = 0;

	if (s == NULL)
		return;
	while (s[i] != '\0') {
		size_t l = 1;

		while ((((unsigned char)s[i + l]) & 0xC0) == 0x80)
			l++;
		if (i + l > max || n == chars)
			break;
		i += l;
		n++;
	}
	s[i] = '\0';
	while (i > 0 && s[i - 1] == ' ')
		s[--i] = '\0';
}

/* the Atom alternate link element of `entry`, or NULL */
static xmlNodePtr
atom_alternate(xmlNodePtr entry)
{
	xmlNodePtr c, best = NULL;
	xmlChar *rel, *href;
	bool alt;

	for (c = entry->children; c != NULL; c = c->next) {
		if (!is_elem(c, "link") || !same_ns(c, entry))
			continue;
		href = xmlGetNoNsProp(c, BAD_CAST "href");
		if (href == NULL)
			continue;
		xmlFree(href);
		rel = xmlGetNoNsProp(c, BAD_CAST "rel");
		alt = rel == NULL || xmlStrcmp(rel, BAD_CAST "alternate") == 0;
		xmlFree(rel);
		if (alt && best == NULL)
			best = c;
	}
	return best;
}

static int
resolve_in(xmlDocPtr doc, xmlNodePtr at, const char *href, char **link)
{
	xmlChar *base;
	int rc;

	*link = NULL;
	if (href == NULL || *href == '\0')
		return 0;
	base = xmlNodeGetBase(doc, at);
	rc = xi_url_resolve(href, (const char *)base, link);
	xmlFree(base);
	return rc;
}

static bool
looks_like_url(const char *s)
{
	return s != NULL && (strncasecmp(s, "http://", 7) == 0 ||
				strncasecmp(s, "https://", 8) == 0);
}

/* the default link of an entry (see extract.h) */
static int
entry_link(xmlDocPtr doc, enum feed_kind kind, xmlNodePtr entry, char **link,
    bool *oom)
{
	xmlNodePtr n;
	xmlChar *attr;
	char *s;
	int rc;

	*link = NULL;
	if (kind == FEED_ATOM) {
		n = atom_alternate(entry);
		if (n == NULL)
			return 0;
		attr = xmlGetNoNsProp(n, BAD_CAST "href");
		rc = resolve_in(doc, n, (const char *)attr, link);
		xmlFree(attr);
		return rc;
	}
	n = child(entry, "link", NULL);
	s = content_of(n, oom);
	if (s != NULL) {
		rc = resolve_in(doc, n, s, link);
		free(s);
		return rc;
	}
	if (kind == FEED_RSS) {
		n = child(entry, "guid", NULL);
		attr = n != NULL ? xmlGetNoNsProp(n, BAD_CAST "isPermaLink") :
				   NULL;
		s = content_of(n, oom);
		rc = 0;
		if ((attr == NULL ||
			xmlStrcasecmp(attr, BAD_CAST "false") != 0) &&
		    looks_like_url(s))
			rc = resolve_in(doc, n, s, link);
		xmlFree(attr);
		free(s);
		return rc;
	}
	attr = xmlGetNsProp(entry, BAD_CAST "about", BAD_CAST XI_NS_RDF);
	rc = 0;
	if (looks_like_url((const char *)attr))
		rc = resolve_in(doc, entry, (const char *)attr, link);
	xmlFree(attr);
	return rc;
}

/* guid / rdf:about / id, else the link (copied), else NULL */
static char *
entry_key(enum feed_kind kind, xmlNodePtr entry, const char *link, bool *oom)
{
	xmlChar *about;
	char *key = NULL;

	if (kind == FEED_RSS) {
		key = content_of(child(entry, "guid", NULL), oom);
	} else if (kind == FEED_ATOM) {
		key = content_of(child(entry, "id", NULL), oom);
	} else {
		about =
		    xmlGetNsProp(entry, BAD_CAST "about", BAD_CAST XI_NS_RDF);
		if (about != NULL && *about != '\0') {
			key = strdup((const char *)about);
			if (key == NULL)
				*oom = true;
		}
		xmlFree(about);
	}
	if (key == NULL && link != NULL) {
		key = strdup(link);
		if (key == NULL)
			*oom = true;
	}
	return key;
}

static char *
entry_date(enum feed_kind kind, xmlNodePtr entry, bool *oom)
{
	char *d = NULL;

	if (kind == FEED_ATOM) {
		d = content_of(child(entry, "updated", NULL), oom);
		if (d == NULL)
			d = content_of(child(entry, "published", NULL), oom);
	} else if (kind == FEED_RSS) {
		d = content_of(child(entry, "pubDate", NULL), oom);
	}
	if (d == NULL)
		d = content_of(child(entry, "date", XI_NS_DC), oom);
	if (d != NULL)
		cut_utf8(d, 64, 64);
	return d;
}

static char *
entry_summary(enum feed_kind kind, xmlNodePtr entry, bool *oom)
{
	char *s;

	if (kind == FEED_ATOM) {
		s = text_construct(child(entry, "summary", NULL), false, oom);
		if (s == NULL)
			s = text_construct(child(entry, "content", NULL), false,
			    oom);
	} else {
		s = text_construct(child(entry, "description", NULL), true,
		    oom);
		if (s == NULL)
			s = text_construct(
			    child(entry, "encoded", XI_NS_CONTENT), true, oom);
	}
	cut_utf8(s, ITEM_SUMMARY_MAX, SIZE_MAX);
	return s;
}

#define NS_MEDIA "http://search.yahoo.com/mrss/"
#define NS_ITUNES "http://www.itunes.com/dtds/podcast-1.0.dtd"

/* an Atom person construct's name, or its own text */
static char *
person_name(xmlNodePtr p, bool *oom)
{
	char *s;

	if (p == NULL)
		return NULL;
	s = content_of(child(p, "name", NULL), oom);
	return s != NULL ? s : content_of(p, oom);
}

/* the entry's author: RSS author, dc:creator, Atom author (or feed's) */
static char *
entry_author(enum feed_kind kind, xmlNodePtr entry, bool *oom)
{
	char *a = NULL;

	if (kind == FEED_ATOM) {
		a = person_name(child(entry, "author", NULL), oom);
		if (a == NULL && entry->parent != NULL &&
		    entry->parent->type == XML_ELEMENT_NODE)
			a = person_name(child(entry->parent, "author", NULL),
			    oom);
	} else if (kind == FEED_RSS) {
		a = content_of(child(entry, "author", NULL), oom);
	}
	if (a == NULL)
		a = content_of(child(entry, "creator", XI_NS_DC), oom);
	if (a != NULL)
		cut_utf8(a, 200, 100);
	return a;
}

/* attribute `name` of `n` when it is not empty (heap), else NULL */
static char *
attr_of(xmlNodePtr n, const char *name, bool *oom)
{
	xmlChar *v;
	char *s = NULL;

	if (n == NULL)
		return NULL;
	v = xmlGetNoNsProp(n, BAD_CAST name);
	if (v != NULL && v[0] != '\0' && (s = strdup((const char *)v)) == NULL)
		*oom = true;
	xmlFree(v);
	return s;
}

static bool
type_is_image(xmlNodePtr n)
{
	xmlChar *t = xmlGetNoNsProp(n, BAD_CAST "type");
	bool yes = t != NULL && xmlStrncasecmp(t, BAD_CAST "image/", 6) == 0;

	xmlFree(t);
	return yes;
}

/* the src of the first <img> in HTML text `html` (heap), or NULL */
static char *
first_img_src(const char *html, bool *oom)
{
	const char *p = html, *q, *end;
	char quote, *src, *w;

	while ((p = strchr(p, '<')) != NULL) {
		p++;
		if (strncasecmp(p, "img", 3) != 0 ||
		    (p[3] != ' ' && p[3] != '\t' && p[3] != '\n' &&
			p[3] != '\r' && p[3] != '/'))
			continue;
		end = strchr(p, '>');
		for (q = p + 3;
		     q != NULL && *q != '\0' && (end == NULL || q < end); q++) {
			if ((q[-1] != ' ' && q[-1] != '\t' && q[-1] != '\n' &&
				q[-1] != '\r') ||
			    strncasecmp(q, "src", 3) != 0)
				continue;
			q += 3;
			while (*q == ' ')
				q++;
			if (*q != '=')
				continue;
			q++;
			while (*q == ' ')
				q++;
			quote = (*q == '"' || *q == '\'') ? *q++ : '\0';
			src = strndup(q,
			    quote ? strcspn(q, quote == '"' ? "\"" : "'") :
				    strcspn(q, " \t\r\n>"));
			if (src == NULL) {
				*oom = true;
				return NULL;
			}
			/* the one reference a URL in HTML usually holds */
			for (w = src; (w = strstr(w, "&amp;")) != NULL; w++)
				memmove(w + 1, w + 5, strlen(w + 5) + 1);
			if (*src != '\0')
				return src;
			free(src);
			break;
		}
	}
	return NULL;
}

/* the entry's picture, unresolved (see extract.h) */
static char *
entry_image(enum feed_kind kind, xmlNodePtr entry, bool *oom)
{
	xmlNodePtr c, g;
	char *s = NULL, *raw;
	xmlChar *medium;
	bool img;

	for (c = entry->children; c != NULL && s == NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (kind == FEED_RSS && is_elem(c, "enclosure") &&
		    c->ns == NULL && type_is_image(c))
			s = attr_of(c, "url", oom);
		else if (kind == FEED_ATOM && is_elem(c, "link") &&
			 same_ns(c, entry) && type_is_image(c)) {
			xmlChar *rel = xmlGetNoNsProp(c, BAD_CAST "rel");

			if (rel != NULL &&
			    xmlStrcmp(rel, BAD_CAST "enclosure") == 0)
				s = attr_of(c, "href", oom);
			xmlFree(rel);
		}
	}
	/* media RSS: thumbnail, then an image content, also in a group */
	for (g = entry; g != NULL && s == NULL;
	     g = g == entry ? child(entry, "group", NS_MEDIA) : NULL) {
		s = attr_of(child(g, "thumbnail", NS_MEDIA), "url", oom);
		for (c = g->children; c != NULL && s == NULL; c = c->next) {
			if (!is_elem(c, "content") || c->ns == NULL ||
			    xmlStrcmp(c->ns->href, BAD_CAST NS_MEDIA) != 0)
				continue;
			medium = xmlGetNoNsProp(c, BAD_CAST "medium");
			img = (medium != NULL &&
				  xmlStrcmp(medium, BAD_CAST "image") == 0) ||
			      type_is_image(c);
			xmlFree(medium);
			if (img)
				s = attr_of(c, "url", oom);
		}
	}
	if (s == NULL)
		s = attr_of(child(entry, "image", NS_ITUNES), "href", oom);
	if (s != NULL)
		return s;
	/* else the first picture of the entry's HTML */
	if (kind == FEED_ATOM) {
		raw = content_of(child(entry, "content", NULL), oom);
		if (raw == NULL)
			raw = content_of(child(entry, "summary", NULL), oom);
	} else {
		raw = content_of(child(entry, "encoded", XI_NS_CONTENT), oom);
		if (raw == NULL)
			raw =
			    content_of(child(entry, "description", NULL), oom);
	}
	if (raw != NULL) {
		s = first_img_src(raw, oom);
		free(raw);
	}
	return s;
}

static int
entry_item(xmlDocPtr doc, enum feed_kind kind, xmlNodePtr entry,
    const struct xi_fields *f, struct item_list *out, struct kw_err *err)
{
	char *text = NULL, *link = NULL, *key = NULL, *date = NULL;
	char *summary = NULL, *author, *image;
	struct item *it;
	bool oom = false, bad;

	if (f->link != NULL) {
		if (xi_field_link(f, doc, false, NULL, entry, &link, err) != 0)
			goto fail;
	} else if (entry_link(doc, kind, entry, &link, &oom) != 0) {
		goto nomem;
	}
	summary = entry_summary(kind, entry, &oom);
	if (f->title != NULL) {
		if (xi_field_text(f, doc, false, NULL, entry, &text, err) != 0)
			goto fail;
		if (*text == '\0') { /* the user's title is empty: skipped */
			free(text);
			text = NULL;
			goto skip;
		}
	} else {
		text = text_construct(child(entry, "title", NULL),
		    kind != FEED_ATOM, &oom);
	}
	if (text == NULL && summary != NULL) {
		text = strdup(summary);
		cut_utf8(text, SIZE_MAX, TITLE_FROM_SUMMARY_CHARS);
		if (text == NULL)
			oom = true;
	}
	if (text == NULL && link != NULL && (text = strdup(link)) == NULL)
		oom = true;
	if (oom)
		goto nomem;
	if (text == NULL)
		goto skip;
	key = entry_key(kind, entry, link, &oom);
	date = entry_date(kind, entry, &oom);
	if (oom)
		goto nomem;
	if (item_list_add_full(out, text, link, key) != 0) {
		free(date);
		free(summary);
		return kw_err_set(err, "out of memory");
	}
	it = &out->v[out->n - 1];
	author = entry_author(kind, entry, &oom);
	image = entry_image(kind, entry, &oom);
	if (image != NULL) {
		/* resolved against xml:base in scope, then the page URL */
		char *href = image;

		if (resolve_in(doc, entry, href, &image) != 0)
			oom = true;
		free(href);
	}
	/* each call takes its value, also on failure */
	bad = item_field_set_take(it, "date", date) != 0;
	bad |= item_field_set_take(it, "summary", summary) != 0;
	bad |= item_field_set_take(it, "author", author) != 0;
	bad |= item_field_set_take(it, "image", image) != 0;
	if (bad || oom) {
		item_list_truncate(out, out->n - 1);
		return kw_err_set(err, "out of memory");
	}
	if (xi_item_fields(f, doc, false, NULL, entry, it, err) != 0) {
		item_list_truncate(out, out->n - 1);
		return -1;
	}
	return 0;
skip:
	free(link);
	free(summary);
	return 0;
nomem:
	kw_err_set(err, "out of memory reading feed entries");
fail:
	free(text);
	free(link);
	free(key);
	free(date);
	free(summary);
	return -1;
}

/* the entries of the feed in document order */
static int
find_entries(xmlNodePtr root, enum feed_kind *kind, struct entry_list *l)
{
	xmlNodePtr c, d;

	if (is_elem(root, "feed")) {
		*kind = FEED_ATOM;
		for (c = root->children; c != NULL; c = c->next)
			if (is_elem(c, "entry") && entries_add(l, c) != 0)
				return -1;
		return 0;
	}
	if (is_elem(root, "RDF")) {
		*kind = FEED_RDF;
		for (c = root->children; c != NULL; c = c->next)
			if (is_elem(c, "item") && entries_add(l, c) != 0)
				return -1;
		return 0;
	}
	*kind = FEED_RSS;
	for (c = root->children; c != NULL; c = c->next) {
		if (is_elem(c, "item") && entries_add(l, c) != 0)
			return -1;
		if (!is_elem(c, "channel"))
			continue;
		for (d = c->children; d != NULL; d = d->next)
			if (is_elem(d, "item") && entries_add(l, d) != 0)
				return -1;
	}
	return 0;
}

/* mark (in _private) the entries `xp` selects or reaches into */
static int
select_entries(xmlDocPtr doc, const struct extract_xpath *xp,
    const struct xi_fields *f, struct entry_list *l, bool *selected,
    struct kw_err *err)
{
	static char mark_entry, mark_selected;
	xmlXPathObjectPtr obj;
	xmlNodePtr n;
	size_t i;
	int k;

	for (i = 0; i < l->n; i++)
		l->v[i]->_private = &mark_entry;
	obj = xi_xpath_eval(xi_xpath_comp(xp), doc, NULL, f->ns, f->nns, err);
	if (obj == NULL)
		goto fail;
	if (obj->type != XPATH_NODESET) {
		xmlXPathFreeObject(obj);
		kw_err_set(err,
		    "a feed's xpath must select entries (or nodes "
		    "inside them), not a %s",
		    obj->type == XPATH_STRING ? "string" :
		    obj->type == XPATH_NUMBER ? "number" :
						"boolean");
		goto fail;
	}
	for (k = 0; obj->nodesetval != NULL && k < obj->nodesetval->nodeNr;
	     k++) {
		n = obj->nodesetval->nodeTab[k];
		if (n->type == XML_ATTRIBUTE_NODE)
			n = n->parent;
		else if (n->type == XML_NAMESPACE_DECL)
			continue;
		for (; n != NULL; n = n->parent) {
			if (n->type != XML_ELEMENT_NODE)
				continue;
			if (n->_private == &mark_entry ||
			    n->_private == &mark_selected) {
				n->_private = &mark_selected;
				break;
			}
		}
	}
	xmlXPathFreeObject(obj);
	for (i = 0; i < l->n; i++) {
		selected[i] = l->v[i]->_private == &mark_selected;
		l->v[i]->_private = NULL;
	}
	return 0;
fail:
	for (i = 0; i < l->n; i++)
		l->v[i]->_private = NULL;
	return -1;
}

int
xi_feed_items(xmlDocPtr doc, const struct extract_xpath *xp,
    const struct xi_fields *f, struct item_list *out, struct kw_err *err)
{
	struct entry_list l = { 0 };
	enum feed_kind kind;
	bool *selected = NULL;
	size_t i;
	int rc = -1;

	if (find_entries(xmlDocGetRootElement(doc), &kind, &l) != 0) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	if (xp != NULL && l.n > 0) {
		selected = calloc(l.n, sizeof(*selected));
		if (selected == NULL) {
			kw_err_set(err, "out of memory");
			goto out;
		}
		if (select_entries(doc, xp, f, &l, selected, err) != 0)
			goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (selected != NULL && !selected[i])
			continue;
		if (entry_item(doc, kind, l.v[i], f, out, err) != 0)
			goto out;
	}
	rc = 0;
out:
	free(selected);
	free(l.v);
	return rc;
}
