/*
 * extract_html5: gumbo's HTML5 tree turned into a libxml2 document (see
 * extract_html5.h). The only user of gumbo.
 *
 * gumbo allocates through an arena here: its output is freed in one go
 * after the conversion, so gumbo's own recursive gumbo_destroy_output
 * (which a deeply nested page would take down the stack with) never runs
 * and its many small frees cost nothing. The conversion walks the tree
 * iteratively through gumbo's parent links and builds the libxml2 nodes
 * directly: element and attribute names come from the document's
 * dictionary (looked up once per tag per page), children are linked by
 * hand (xmlAddChild's checks and text merging are not needed: the merging
 * is done here once).
 */
#include <limits.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>
#include <libxml/HTMLtree.h>
#include <libxml/dict.h>
#include <libxml/tree.h>

#include "extract_html5.h"

/* ---- arena allocator for gumbo ----------------------------------------- */

#define ARENA_CHUNK (256 * 1024)
#define ARENA_ALIGN (alignof(max_align_t))

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct arena {
	struct arena_chunk *head;
};

static void *
arena_alloc(void *userdata, size_t size)
{
	struct arena *a = userdata;
	struct arena_chunk *c = a->head;
	size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1), cap;
	void *p;

	if (need < size)
		goto fail;
	if (c == NULL || c->cap - c->used < need) {
		cap = need > ARENA_CHUNK / 4 ? need : ARENA_CHUNK;
		if (cap > SIZE_MAX - sizeof(*c))
			goto fail;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			goto fail;
		c->used = 0;
		c->cap = cap;
		if (need > ARENA_CHUNK / 4 && a->head != NULL) {
			/* a big block: keep filling the current chunk */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->data + c->used;
	c->used += need;
	return p;
fail:
	/* gumbo does not check what its allocator returns */
	abort();
}

static void
arena_free_block(void *userdata, void *ptr)
{
	(void)userdata;
	(void)ptr;
}

static void
arena_release(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ---- conversion --------------------------------------------------------- */

struct conv {
	xmlDocPtr doc;
	xmlDictPtr dict;
	/* dictionary names of HTML-namespace known tags, filled on demand */
	const xmlChar *tagname[GUMBO_TAG_LAST + 1];
	const xmlChar *id_name; /* "id" in the dictionary */
	struct html5_doc *out;
	char *scratch; /* lower-cased names */
	size_t scratch_cap;
};

static const xmlChar *
dict_name(struct conv *cv, const char *s, size_t n)
{
	return xmlDictLookup(cv->dict, (const xmlChar *)s, (int)n);
}

/* lower-case s[0..n) into the scratch buffer */
static const char *
lower(struct conv *cv, const char *s, size_t n)
{
	size_t i;
	char *p;

	if (n + 1 > cv->scratch_cap) {
		p = realloc(cv->scratch, n + 64);
		if (p == NULL)
			return NULL;
		cv->scratch = p;
		cv->scratch_cap = n + 64;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		cv->scratch[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	cv->scratch[n] = '\0';
	return cv->scratch;
}

/* the element's name as the tree builder gives it, from the dictionary */
static const xmlChar *
element_name(struct conv *cv, const GumboElement *e)
{
	GumboStringPiece tag;
	const char *name, *svg;
	size_t n;

	if (e->tag != GUMBO_TAG_UNKNOWN &&
	    e->tag_namespace != GUMBO_NAMESPACE_SVG) {
		if (cv->tagname[e->tag] == NULL) {
			name = gumbo_normalized_tagname(e->tag);
			cv->tagname[e->tag] = dict_name(cv, name, strlen(name));
		}
		return cv->tagname[e->tag];
	}
	if (e->tag != GUMBO_TAG_UNKNOWN) {
		name = gumbo_normalized_tagname(e->tag);
		n = strlen(name);
	} else {
		tag = e->original_tag;
		gumbo_tag_from_original_text(&tag);
		if (tag.data == NULL || tag.length == 0)
			return dict_name(cv, "unknown", 7);
		name = lower(cv, tag.data, tag.length);
		if (name == NULL)
			return NULL;
		n = tag.length;
	}
	if (e->tag_namespace == GUMBO_NAMESPACE_SVG) {
		tag.data = name;
		tag.length = n;
		svg = gumbo_normalize_svg_tagname(&tag);
		if (svg != NULL) {
			name = svg;
			n = strlen(svg);
		}
	}
	return dict_name(cv, name, n);
}

static const xmlChar *
attr_name(struct conv *cv, const GumboAttribute *a)
{
	static const char *const prefix[] = {
		[GUMBO_ATTR_NAMESPACE_XLINK] = "xlink:",
		[GUMBO_ATTR_NAMESPACE_XML] = "xml:",
		[GUMBO_ATTR_NAMESPACE_XMLNS] = "xmlns:",
	};
	size_t pl, nl;
	char buf[128];

	if (a->attr_namespace == GUMBO_ATTR_NAMESPACE_NONE ||
	    (a->attr_namespace == GUMBO_ATTR_NAMESPACE_XMLNS &&
		strcmp(a->name, "xmlns") == 0))
		return dict_name(cv, a->name, strlen(a->name));
	pl = strlen(prefix[a->attr_namespace]);
	nl = strlen(a->name);
	if (pl + nl >= sizeof(buf))
		return dict_name(cv, a->name, nl);
	memcpy(buf, prefix[a->attr_namespace], pl);
	memcpy(buf + pl, a->name, nl);
	return dict_name(cv, buf, pl + nl);
}

static void
link_child(xmlNodePtr parent, xmlNodePtr child)
{
	child->parent = parent;
	if (parent->last == NULL) {
		parent->children = child;
	} else {
		parent->last->next = child;
		child->prev = parent->last;
	}
	parent->last = child;
}

/* append text, merged into the previous text child as the DOM does */
static int
add_text_len(struct conv *cv, xmlNodePtr parent, const char *s, size_t n)
{
	xmlNodePtr t;

	if (n == 0)
		return 0;
	if (n > INT_MAX)
		return -1;
	t = parent->last;
	if (t != NULL && t->type == XML_TEXT_NODE)
		return xmlTextConcat(t, (const xmlChar *)s, (int)n);
	t = xmlNewDocTextLen(cv->doc, (const xmlChar *)s, (int)n);
	if (t == NULL)
		return -1;
	link_child(parent, t);
	return 0;
}

static int
add_text(struct conv *cv, xmlNodePtr parent, const char *s)
{
	return add_text_len(cv, parent, s, strlen(s));
}

/* first "</form" in s[0..n), ASCII case-insensitive, or NULL */
static const char *
find_form_end(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 6 <= n; i++) {
		if (s[i] == '<' && s[i + 1] == '/' &&
		    strncasecmp(s + i + 2, "form", 4) == 0)
			return s + i;
	}
	return NULL;
}

/* s[0..n) decodes to itself: no character reference, CR or NUL */
static bool
raw_is_text(const char *s, size_t n)
{
	return memchr(s, '&', n) == NULL && memchr(s, '\r', n) == NULL &&
	       memchr(s, '\0', n) == NULL;
}

/*
 * add_text_after_form works around a gumbo 0.10.1 bug: on </form> it takes
 * the form off the stack of open elements without first inserting the
 * characters it has buffered, so text just before </form> ends up after
 * the form ("<form>a</form>b" gives <form></form>"ab"; the HTML Standard,
 * browsers and html5lib give <form>"a"</form>"b"). The text node's source
 * span then holds the "</form" tag: the part before it goes back into the
 * form. Returns 1 when it did that, 0 when the node is not such a case (or
 * its split cannot be found: references on both sides), -1 on error.
 */
static int
add_text_after_form(struct conv *cv, xmlNodePtr form, xmlNodePtr parent,
    const GumboText *t)
{
	const char *raw = t->original_text.data, *end, *rest;
	size_t rawlen = t->original_text.length, n = strlen(t->text), pre, post;

	if (raw == NULL || form == NULL || form->type != XML_ELEMENT_NODE)
		return 0;
	end = find_form_end(raw, rawlen);
	if (end == NULL)
		return 0;
	rest = memchr(end, '>', rawlen - (size_t)(end - raw));
	if (rest == NULL)
		return 0;
	rest++;
	post = rawlen - (size_t)(rest - raw);
	if (raw_is_text(raw, (size_t)(end - raw))) {
		pre = (size_t)(end - raw);
		if (pre > n || memcmp(t->text, raw, pre) != 0)
			return 0;
	} else if (raw_is_text(rest, post) && post <= n) {
		pre = n - post;
		if (memcmp(t->text + pre, rest, post) != 0)
			return 0;
	} else {
		return 0;
	}
	if (add_text_len(cv, form, t->text, pre) != 0 ||
	    add_text_len(cv, parent, t->text + pre, n - pre) != 0)
		return -1;
	return 1;
}

static bool
is_meta_candidate(const GumboElement *e)
{
	unsigned int i;
	const GumboAttribute *a;

	if (e->tag != GUMBO_TAG_META ||
	    e->tag_namespace != GUMBO_NAMESPACE_HTML)
		return false;
	for (i = 0; i < e->attributes.length; i++) {
		a = e->attributes.data[i];
		if (strcmp(a->name, "charset") == 0 ||
		    strcmp(a->name, "http-equiv") == 0)
			return true;
	}
	return false;
}

static xmlNodePtr
add_element(struct conv *cv, xmlNodePtr parent, const GumboElement *e)
{
	const xmlChar *name;
	const GumboAttribute *a;
	xmlNodePtr node;
	xmlAttrPtr prop, last = NULL;
	xmlNodePtr text;
	unsigned int i;

	name = element_name(cv, e);
	if (name == NULL)
		return NULL;
	node = xmlNewDocNodeEatName(cv->doc, NULL, (xmlChar *)name, NULL);
	if (node == NULL)
		return NULL;
	link_child(parent, node);
	for (i = 0; i < e->attributes.length; i++) {
		a = e->attributes.data[i];
		name = attr_name(cv, a);
		if (name == NULL)
			return NULL;
		/* built by hand: xmlNewProp walks the list to append */
		prop = xmlMalloc(sizeof(*prop));
		if (prop == NULL)
			return NULL;
		memset(prop, 0, sizeof(*prop));
		prop->type = XML_ATTRIBUTE_NODE;
		prop->name = name;
		prop->parent = node;
		prop->doc = cv->doc;
		if (a->value[0] != '\0') {
			text =
			    xmlNewDocText(cv->doc, (const xmlChar *)a->value);
			if (text == NULL) {
				xmlFree(prop);
				return NULL;
			}
			text->parent = (xmlNodePtr)prop;
			prop->children = text;
			prop->last = text;
		}
		if (prop->children != NULL && name == cv->id_name &&
		    xmlAddID(NULL, cv->doc, prop->children->content, prop) !=
			NULL)
			prop->atype = XML_ATTRIBUTE_ID;
		if (last == NULL) {
			node->properties = prop;
		} else {
			last->next = prop;
			prop->prev = last;
		}
		last = prop;
	}
	if (cv->out->nmetas < HTML5_METAS_MAX && is_meta_candidate(e))
		cv->out->metas[cv->out->nmetas++] = node;
	return node;
}

static const GumboVector *
children_of(const GumboNode *n)
{
	switch (n->type) {
	case GUMBO_NODE_DOCUMENT:
		return &n->v.document.children;
	case GUMBO_NODE_ELEMENT:
	case GUMBO_NODE_TEMPLATE:
		return &n->v.element.children;
	default:
		return NULL;
	}
}

/* the node's previous sibling is an HTML <form> */
static bool
follows_form(const GumboNode *node)
{
	const GumboVector *kids = children_of(node->parent);
	const GumboNode *prev;

	if (kids == NULL || node->index_within_parent == 0)
		return false;
	prev = kids->data[node->index_within_parent - 1];
	return prev->type == GUMBO_NODE_ELEMENT &&
	       prev->v.element.tag == GUMBO_TAG_FORM &&
	       prev->v.element.tag_namespace == GUMBO_NAMESPACE_HTML;
}

/*
 * convert: the gumbo tree under `root` (the document) into cv->doc, in
 * document order, without recursion.
 */
static int
convert(struct conv *cv, const GumboNode *root)
{
	const GumboNode *node, *parent;
	const GumboVector *kids;
	xmlNodePtr xparent = (xmlNodePtr)cv->doc, x;
	size_t next;
	int r;

	kids = children_of(root);
	if (kids->length == 0)
		return 0;
	node = kids->data[0];
	for (;;) {
		x = NULL;
		switch (node->type) {
		case GUMBO_NODE_ELEMENT:
		case GUMBO_NODE_TEMPLATE:
			x = add_element(cv, xparent, &node->v.element);
			if (x == NULL)
				return -1;
			break;
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
			r = follows_form(node) ?
				add_text_after_form(cv, xparent->last, xparent,
				    &node->v.text) :
				0;
			if (r < 0)
				return -1;
			if (r == 0 &&
			    add_text(cv, xparent, node->v.text.text) != 0)
				return -1;
			break;
		case GUMBO_NODE_CDATA:
			if (add_text(cv, xparent, node->v.text.text) != 0)
				return -1;
			break;
		case GUMBO_NODE_COMMENT:
			x = xmlNewDocComment(cv->doc,
			    (const xmlChar *)node->v.text.text);
			if (x == NULL)
				return -1;
			link_child(xparent, x);
			x = NULL;
			break;
		case GUMBO_NODE_DOCUMENT:
			break;
		}
		kids = children_of(node);
		if (x != NULL && kids != NULL && kids->length > 0) {
			xparent = x;
			node = kids->data[0];
			continue;
		}
		/* next sibling, else climb until an ancestor has one */
		for (;;) {
			parent = node->parent;
			next = node->index_within_parent + 1;
			kids = children_of(parent);
			if (next < kids->length) {
				node = kids->data[next];
				break;
			}
			if (parent == root)
				return 0;
			node = parent;
			xparent = xparent->parent;
		}
	}
}

int
extract_html5_parse(const char *text, size_t len, const char *url,
    struct html5_doc *out, struct kw_err *err)
{
	GumboOptions opts = kGumboDefaultOptions;
	struct arena arena = { 0 };
	struct conv cv;
	GumboOutput *g;
	const GumboDocument *gd;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&cv, 0, sizeof(cv));
	if (len > UINT_MAX / 2) {
		kw_err_set(err, "page is too large to parse (%zu bytes)", len);
		return -1;
	}
	opts.allocator = arena_alloc;
	opts.deallocator = arena_free_block;
	opts.userdata = &arena;
	opts.max_errors =
	    0; /* parse errors are not reported: don't keep them */
	g = gumbo_parse_with_options(&opts, text, len);
	if (g == NULL)
		goto nomem;
	cv.out = out;
	cv.doc = htmlNewDocNoDtD(NULL, NULL);
	if (cv.doc == NULL)
		goto nomem;
	cv.dict = xmlDictCreate();
	if (cv.dict == NULL)
		goto nomem;
	cv.doc->dict = cv.dict;
	cv.id_name = dict_name(&cv, "id", 2);
	if (cv.id_name == NULL)
		goto nomem;
	if (url != NULL) {
		cv.doc->URL = xmlStrdup((const xmlChar *)url);
		if (cv.doc->URL == NULL)
			goto nomem;
	}
	gd = &g->document->v.document;
	if (gd->has_doctype &&
	    xmlCreateIntSubset(cv.doc, (const xmlChar *)gd->name,
		*gd->public_identifier ?
		    (const xmlChar *)gd->public_identifier :
		    NULL,
		*gd->system_identifier ?
		    (const xmlChar *)gd->system_identifier :
		    NULL) == NULL)
		goto nomem;
	if (convert(&cv, g->document) != 0)
		goto nomem;
	out->doc = cv.doc;
	cv.doc = NULL;
	rc = 0;
	goto out;
nomem:
	kw_err_set(err, "out of memory parsing page");
out:
	if (cv.doc != NULL)
		xmlFreeDoc(cv.doc);
	free(cv.scratch);
	arena_release(&arena);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
