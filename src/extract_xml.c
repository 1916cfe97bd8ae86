/*
 * extract_xml: XML documents (libxml2's XML parser, made safe), their item
 * text and link rules, and the per-item `title:` / `link:` expressions
 * shared by every parser (see extract.h, extract_int.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/utf8.h"

#include "extract_int.h"

/* bytes of the document the XML declaration is looked for in */
#define XML_DECL_MAX 1024

#define XML_OPTIONS                                                      \
	(XML_PARSE_RECOVER | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |   \
	    XML_PARSE_NONET | XML_PARSE_IGNORE_ENC | XML_PARSE_NOCDATA | \
	    XML_PARSE_COMPACT)

/* ---- charset ------------------------------------------------------------ */

static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * xml_decl_encoding: the encoding="..." of an XML declaration at the start
 * of b[0..len) (after a UTF-8 BOM), as an iconv name, or NULL.
 */
static const char *
xml_decl_encoding(const char *b, size_t len)
{
	size_t end = len < XML_DECL_MAX ? len : XML_DECL_MAX, i;
	const char *p, *v;
	char q;

	if (end >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) {
		b += 3;
		end -= 3;
	}
	if (end < 6 || memcmp(b, "<?xml", 5) != 0 ||
	    !is_ws((unsigned char)b[5]))
		return NULL;
	for (i = 5; i + 1 < end; i++) {
		if (b[i] == '?' && b[i + 1] == '>')
			break;
	}
	if (i + 1 >= end)
		return NULL;
	end = i;
	for (p = b; (size_t)(p - b) + 8 < end; p++) {
		if (memcmp(p, "encoding", 8) != 0)
			continue;
		p += 8;
		while ((size_t)(p - b) < end && is_ws((unsigned char)*p))
			p++;
		if ((size_t)(p - b) >= end || *p != '=')
			return NULL;
		p++;
		while ((size_t)(p - b) < end && is_ws((unsigned char)*p))
			p++;
		if ((size_t)(p - b) >= end || (*p != '"' && *p != '\''))
			return NULL;
		q = *p++;
		v = p;
		while ((size_t)(p - b) < end && *p != q)
			p++;
		if ((size_t)(p - b) >= end)
			return NULL;
		return xi_charset_label(v, (size_t)(p - v));
	}
	return NULL;
}

/* an XML media type: text/xml, application/xml, anything "+xml" */
static bool
is_xml_media_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	n = strcspn(ct, "; \t");
	return (n == 8 && strncasecmp(ct, "text/xml", 8) == 0) ||
	       (n == 15 && strncasecmp(ct, "application/xml", 15) == 0) ||
	       (n > 4 && strncasecmp(ct + n - 4, "+xml", 4) == 0);
}

/*
 * xml_charset: the watch's encoding, a BOM, an XML media type's charset
 * (RFC 7303 §3: it wins over the declaration), the XML declaration,
 * another media type's charset (a feed served as text/html: the
 * declaration knows better), else UTF-8 (NULL).
 */
static const char *
xml_charset(const char *body, size_t len, const char *content_type,
    const char *encoding)
{
	const char *cs, *decl;

	if (encoding != NULL && *encoding != '\0')
		return extract_detect_charset(body, len, NULL, encoding);
	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		return "UTF-8";
	if (len >= 2 && memcmp(body, "\xFF\xFE", 2) == 0)
		return "UTF-16LE";
	if (len >= 2 && memcmp(body, "\xFE\xFF", 2) == 0)
		return "UTF-16BE";
	cs = xi_charset_param(content_type);
	if (cs != NULL && is_xml_media_type(content_type))
		return cs;
	decl = xml_decl_encoding(body, len);
	/* a declaration an ASCII reader could read is not UTF-16 */
	if (decl != NULL && strncmp(decl, "UTF-16", 6) == 0)
		decl = "UTF-8";
	if (decl != NULL)
		return decl;
	return cs;
}

/* ---- safe parse --------------------------------------------------------- */

/*
 * Entities. Every declaration is recorded as an internal entity with empty
 * content, whatever it says: nothing declared is ever expanded (no
 * "billion laughs") or loaded (no XXE, no parameter entity from a URL).
 * A reference to an undeclared entity reads as the HTML character it
 * names (&nbsp; in a careless feed), else as nothing; so the document stays
 * well-formed and libxml2 keeps substituting &amp; and friends after it
 * (it stops doing so after the first well-formedness error).
 */
static void
empty_entity_decl(void *ctx, const xmlChar *name, int type,
    const xmlChar *public_id, const xmlChar *system_id, xmlChar *content)
{
	(void)public_id;
	(void)system_id;
	(void)content;
	if (type == XML_INTERNAL_PARAMETER_ENTITY ||
	    type == XML_EXTERNAL_PARAMETER_ENTITY)
		type = XML_INTERNAL_PARAMETER_ENTITY;
	else
		type = XML_INTERNAL_GENERAL_ENTITY;
	xmlSAX2EntityDecl(ctx, name, type, NULL, NULL, BAD_CAST "");
}

static xmlParserInputPtr
refuse_resolve(void *ctx, const xmlChar *public_id, const xmlChar *system_id)
{
	(void)ctx;
	(void)public_id;
	(void)system_id;
	return NULL;
}

static void
ignore_external_subset(void *ctx, const xmlChar *name,
    const xmlChar *external_id, const xmlChar *system_id)
{
	(void)ctx;
	(void)name;
	(void)external_id;
	(void)system_id;
}

static xmlEntityPtr
get_entity(void *ctx, const xmlChar *name)
{
	xmlParserCtxtPtr ctxt = ctx;
	const htmlEntityDesc *h;
	xmlEntityPtr e;
	unsigned char u[5] = { 0 };
	unsigned cp;

	e = xmlSAX2GetEntity(ctx, name);
	if (e != NULL || ctxt->myDoc == NULL)
		return e;
	h = htmlEntityLookup(name);
	cp = h != NULL ? h->value : 0;
	if (cp > 0)
		utf8_encode(cp, (char *)u);
	if (ctxt->myDoc->intSubset == NULL &&
	    xmlCreateIntSubset(ctxt->myDoc, BAD_CAST "kakaowatch", NULL,
		NULL) == NULL)
		return NULL;
	return xmlAddDocEntity(ctxt->myDoc, name, XML_INTERNAL_GENERAL_ENTITY,
	    NULL, NULL, u);
}

xmlDocPtr
xi_xml_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, struct kw_err *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const char *text = NULL, *cs;
	char *owned = NULL;
	size_t textlen;

	if (body == NULL || len == 0) {
		kw_err_set(err, "document is empty");
		return NULL;
	}
	cs = xml_charset(body, len, content_type, encoding);
	if (xi_decode(body, len, cs, &text, &textlen, &owned, err) != 0)
		return NULL;
	if (textlen > INT32_MAX) {
		kw_err_set(err, "document is too large to parse (%zu bytes)",
		    textlen);
		goto out;
	}
	ctxt = xmlCreateMemoryParserCtxt(text, (int)textlen);
	if (ctxt == NULL || ctxt->sax == NULL) {
		kw_err_set(err, "out of memory parsing XML");
		goto out;
	}
	ctxt->sax->entityDecl = empty_entity_decl;
	ctxt->sax->unparsedEntityDecl = NULL;
	ctxt->sax->resolveEntity = refuse_resolve;
	ctxt->sax->externalSubset = ignore_external_subset;
	ctxt->sax->getEntity = get_entity;
	xmlCtxtUseOptions(ctxt, XML_OPTIONS);
	/* no DTD is loaded; entities (all internal and empty, above) are
	 * substituted, so no entity reference node outlives the parse */
	ctxt->loadsubset = 0;
	ctxt->replaceEntities = 1;
	ctxt->validate = 0;
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (doc != NULL && doc->intSubset != NULL) {
		xmlDtdPtr dtd = doc->intSubset;

		xmlUnlinkNode((xmlNodePtr)dtd);
		doc->intSubset = NULL;
		xmlFreeDtd(dtd);
	}
	if (doc == NULL || xmlDocGetRootElement(doc) == NULL) {
		kw_err_set(err, "cannot parse the document as XML");
		goto fail;
	}
	if (page_url != NULL) {
		xmlFree((xmlChar *)doc->URL);
		doc->URL = xmlStrdup(BAD_CAST page_url);
	}
	goto out;
fail:
	if (doc != NULL)
		xmlFreeDoc(doc);
	doc = NULL;
out:
	if (ctxt != NULL)
		xmlFreeParserCtxt(ctxt);
	free(owned);
	return doc;
}

enum extract_parser
xi_xml_root_kind(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	const char *name;

	if (root == NULL || root->name == NULL)
		return EXTRACT_PARSER_XML;
	name = (const char *)root->name;
	if (strcmp(name, "rss") == 0 || strcmp(name, "feed") == 0)
		return EXTRACT_PARSER_FEED;
	if (strcmp(name, "RDF") == 0 && root->ns != NULL &&
	    xmlStrcmp(root->ns->href, BAD_CAST XI_NS_RDF) == 0)
		return EXTRACT_PARSER_FEED;
	return EXTRACT_PARSER_XML;
}

/* ---- text ---------------------------------------------------------------- */

static int
add_str(struct buf *b, bool *space, const xmlChar *s)
{
	if (s == NULL)
		return 0;
	return xi_normalize(b, space, (const char *)s, strlen((const char *)s));
}

/* the text under `top`, iteratively, element boundaries as whitespace */
static int
tree_text(struct buf *b, bool *space, xmlNodePtr top)
{
	xmlNodePtr cur = top->children;

	while (cur != NULL) {
		if (cur->type == XML_TEXT_NODE ||
		    cur->type == XML_CDATA_SECTION_NODE) {
			if (add_str(b, space, cur->content) != 0)
				return -1;
		} else if (cur->type == XML_ELEMENT_NODE) {
			*space = true;
			if (cur->children != NULL) {
				cur = cur->children;
				continue;
			}
		}
		for (;;) {
			if (cur->type == XML_ELEMENT_NODE)
				*space = true;
			if (cur->next != NULL) {
				cur = cur->next;
				break;
			}
			cur = cur->parent;
			if (cur == NULL || cur == top) {
				cur = NULL;
				break;
			}
		}
	}
	return 0;
}

int
xi_xml_text(xmlNodePtr node, char **text)
{
	struct buf b;
	bool space = false;
	xmlNodePtr c;
	int rc = -1;

	*text = NULL;
	buf_init(&b, 0);
	switch (node->type) {
	case XML_ELEMENT_NODE:
	case XML_DOCUMENT_NODE:
	case XML_DOCUMENT_FRAG_NODE:
		rc = tree_text(&b, &space, node);
		break;
	case XML_ATTRIBUTE_NODE:
		rc = 0;
		for (c = node->children; c != NULL && rc == 0; c = c->next)
			rc = add_str(&b, &space, c->content);
		break;
	case XML_NAMESPACE_DECL:
		rc = add_str(&b, &space, ((xmlNsPtr)node)->href);
		break;
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
	case XML_COMMENT_NODE:
	case XML_PI_NODE:
		rc = add_str(&b, &space, node->content);
		break;
	default:
		rc = 0;
		break;
	}
	if (rc == 0)
		rc = buf_append(&b, "", 0);
	if (rc != 0) {
		buf_release(&b);
		return -1;
	}
	*text = buf_detach(&b, NULL);
	if (*text == NULL)
		*text = strdup("");
	return *text == NULL ? -1 : 0;
}

int
xi_html_fragment_text(const char *html, char **text)
{
	struct kw_err err = { 0 };
	struct extract_run *run;
	struct buf b;
	bool space = false;
	xmlDocPtr doc;
	int rc;

	*text = NULL;
	if (strpbrk(html, "<&") == NULL) {
		buf_init(&b, 0);
		if (xi_normalize(&b, &space, html, strlen(html)) != 0 ||
		    buf_append(&b, "", 0) != 0) {
			buf_release(&b);
			return -1;
		}
		*text = buf_detach(&b, NULL);
		if (*text == NULL)
			*text = strdup("");
		return *text == NULL ? -1 : 0;
	}
	if (*html == '\0') {
		*text = strdup("");
		return *text == NULL ? -1 : 0;
	}
	doc = xi_html_parse(html, strlen(html), "text/html; charset=utf-8",
	    NULL, NULL, &err);
	if (doc == NULL) {
		*text = strdup("");
		return *text == NULL ? -1 : 0;
	}
	run = xi_html_run_new(doc, NULL);
	rc = run != NULL ? xi_html_text(run, (xmlNodePtr)doc, text) : -1;
	xi_html_run_free(run);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- links --------------------------------------------------------------- */

/* trimmed copy of an element's text content (heap, maybe ""), NULL: OOM */
static char *
raw_text(xmlNodePtr n)
{
	xmlChar *s = xmlNodeGetContent(n);
	const char *p, *e;
	char *out;

	if (s == NULL)
		return strdup("");
	p = (const char *)s;
	while (*p != '\0' && (unsigned char)*p <= 0x20)
		p++;
	e = p + strlen(p);
	while (e > p && (unsigned char)e[-1] <= 0x20)
		e--;
	out = strndup(p, (size_t)(e - p));
	xmlFree(s);
	return out;
}

/* href against the base in scope at `at` (xml:base, then the doc URL) */
static int
resolve_at(xmlDocPtr doc, xmlNodePtr at, const char *href, char **link)
{
	xmlChar *base;
	int rc;

	*link = NULL;
	if (*href == '\0')
		return 0;
	base = xmlNodeGetBase(doc, at);
	rc = xi_url_resolve(href, (const char *)base, link);
	xmlFree(base);
	return rc;
}

static bool
ends_with_url(const xmlChar *name)
{
	size_t n = strlen((const char *)name);

	return n >= 3 && strcasecmp((const char *)name + n - 3, "url") == 0;
}

/* the XML default link rule (extract.h); *link NULL when none */
static int
xml_default_link(xmlDocPtr doc, xmlNodePtr node, char **link)
{
	xmlChar *href;
	xmlNodePtr c;
	char *s;
	int rc;

	*link = NULL;
	if (node->type != XML_ELEMENT_NODE)
		return 0;
	href = xmlGetNoNsProp(node, BAD_CAST "href");
	if (href != NULL) {
		rc = resolve_at(doc, node, (const char *)href, link);
		xmlFree(href);
		return rc;
	}
	for (c = node->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE ||
		    xmlStrcasecmp(c->name, BAD_CAST "link") != 0)
			continue;
		href = xmlGetNoNsProp(c, BAD_CAST "href");
		if (href != NULL) {
			rc = resolve_at(doc, c, (const char *)href, link);
			xmlFree(href);
			return rc;
		}
		s = raw_text(c);
		if (s == NULL)
			return -1;
		rc = resolve_at(doc, c, s, link);
		free(s);
		if (rc != 0 || *link != NULL)
			return rc;
	}
	for (c = node->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || !ends_with_url(c->name))
			continue;
		s = raw_text(c);
		if (s == NULL)
			return -1;
		if (strncasecmp(s, "http://", 7) == 0 ||
		    strncasecmp(s, "https://", 8) == 0) {
			rc = resolve_at(doc, c, s, link);
			free(s);
			return rc;
		}
		free(s);
	}
	return 0;
}

/* ---- per-item fields ----------------------------------------------------- */

int
xi_fields_compile(struct xi_fields *f, const struct extract_opts *opts,
    struct kw_err *err)
{
	memset(f, 0, sizeof(*f));
	if (opts == NULL)
		return 0;
	f->ns = opts->namespaces;
	f->nns = opts->nnamespaces;
	if (opts->title != NULL) {
		f->title =
		    extract_xpath_compile_ns(opts->title, f->ns, f->nns, err);
		if (f->title == NULL)
			return -1;
	}
	if (opts->link != NULL) {
		f->link =
		    extract_xpath_compile_ns(opts->link, f->ns, f->nns, err);
		if (f->link == NULL) {
			extract_xpath_free(f->title);
			f->title = NULL;
			return -1;
		}
	}
	if (opts->nfields > 0) {
		f->fx = calloc(opts->nfields, sizeof(*f->fx));
		if (f->fx == NULL) {
			xi_fields_release(f);
			return kw_err_set(err, "out of memory");
		}
		f->fnames = opts->fields;
		for (f->nfx = 0; f->nfx < opts->nfields; f->nfx++) {
			f->fx[f->nfx] = extract_xpath_compile_ns(
			    opts->fields[2 * f->nfx + 1], f->ns, f->nns, err);
			if (f->fx[f->nfx] == NULL) {
				xi_fields_release(f);
				return -1;
			}
		}
	}
	return 0;
}

void
xi_fields_release(struct xi_fields *f)
{
	size_t i;

	extract_xpath_free(f->title);
	extract_xpath_free(f->link);
	for (i = 0; i < f->nfx; i++)
		extract_xpath_free(f->fx[i]);
	free(f->fx);
	memset(f, 0, sizeof(*f));
}

/* the item text of any node by the parser's rule */
static int
node_text_by(bool html, struct extract_run *run, xmlNodePtr n, char **text)
{
	if (html)
		return xi_html_text(run, n, text);
	return xi_xml_text(n, text);
}

int
xi_field_text(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, char **text, struct kw_err *err)
{
	xmlXPathObjectPtr obj;
	xmlChar *s;
	struct buf b;
	bool space = false;
	int rc = -1;

	*text = NULL;
	if (f->title == NULL) {
		if (node_text_by(html, run, node, text) != 0)
			return kw_err_set(err, "out of memory");
		return 0;
	}
	obj = xi_xpath_eval(xi_xpath_comp(f->title), doc, node, f->ns, f->nns,
	    err);
	if (obj == NULL)
		return -1;
	if (obj->type == XPATH_NODESET) {
		if (obj->nodesetval == NULL || obj->nodesetval->nodeNr == 0)
			rc = (*text = strdup("")) != NULL ? 0 : -1;
		else
			rc = node_text_by(html, run,
			    obj->nodesetval->nodeTab[0], text);
	} else {
		s = xmlXPathCastToString(obj);
		buf_init(&b, 0);
		if (s != NULL && add_str(&b, &space, s) == 0 &&
		    buf_append(&b, "", 0) == 0) {
			*text = buf_detach(&b, NULL);
			if (*text == NULL)
				*text = strdup("");
			rc = *text != NULL ? 0 : -1;
		} else {
			buf_release(&b);
		}
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
	if (rc != 0)
		kw_err_set(err, "out of memory");
	return rc;
}

/* what a link expression's first node gives, unresolved (heap or NULL) */
static int
node_href(bool html, struct extract_run *run, xmlNodePtr n, char **href,
    bool *resolved)
{
	xmlChar *h;

	*href = NULL;
	*resolved = false;
	if (n->type == XML_ELEMENT_NODE) {
		h = xmlGetNoNsProp(n, BAD_CAST "href");
		if (h != NULL) {
			*href = strdup((const char *)h);
			xmlFree(h);
			return *href == NULL ? -1 : 0;
		}
		if (html) {
			*resolved = true;
			return xi_html_link(run, n, href);
		}
	}
	*href = raw_text(n);
	return *href == NULL ? -1 : 0;
}

int
xi_field_link(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, char **link, struct kw_err *err)
{
	xmlXPathObjectPtr obj;
	xmlChar *s;
	char *href = NULL;
	bool resolved = false;
	int rc = -1;

	*link = NULL;
	if (f->link == NULL) {
		if (html) {
			if (node->type != XML_ELEMENT_NODE)
				return 0;
			rc = xi_html_link(run, node, link);
		} else {
			rc = xml_default_link(doc, node, link);
		}
		if (rc != 0)
			kw_err_set(err, "out of memory");
		return rc;
	}
	obj = xi_xpath_eval(xi_xpath_comp(f->link), doc, node, f->ns, f->nns,
	    err);
	if (obj == NULL)
		return -1;
	if (obj->type == XPATH_NODESET) {
		rc = 0;
		if (obj->nodesetval != NULL && obj->nodesetval->nodeNr > 0)
			rc = node_href(html, run, obj->nodesetval->nodeTab[0],
			    &href, &resolved);
	} else {
		s = xmlXPathCastToString(obj);
		if (s != NULL) {
			href = strdup((const char *)s);
			rc = href != NULL ? 0 : -1;
		}
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
	if (rc == 0 && href != NULL && !resolved) {
		if (html)
			rc = xi_html_resolve(run, href, link);
		else
			rc = resolve_at(doc, node, href, link);
		free(href);
	} else {
		*link = href;
	}
	if (rc != 0)
		kw_err_set(err, "out of memory");
	return rc;
}

/* what an `image` field's node gives, unresolved (heap or NULL) */
static int
node_image(xmlNodePtr n, char **href)
{
	/* a lazy-loading page's real picture first: its src is a
	 * placeholder until scripts swap it in */
	static const char *const attrs[] = { "data-original", "data-src",
		"data-lazy-src", "src", "href", "url" };
	xmlChar *h;
	size_t i;

	*href = NULL;
	if (n->type == XML_ELEMENT_NODE)
		for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
			h = xmlGetNoNsProp(n, BAD_CAST attrs[i]);
			if (h != NULL && h[0] != '\0') {
				*href = strdup((const char *)h);
				xmlFree(h);
				return *href == NULL ? -1 : 0;
			}
			xmlFree(h);
		}
	*href = raw_text(n);
	return *href == NULL ? -1 : 0;
}

/* trims `s` (heap) in place and returns it; NULL stays NULL */
static char *
trimmed(char *s)
{
	size_t a = 0, n;

	if (s == NULL)
		return NULL;
	while (s[a] != '\0' && (unsigned char)s[a] <= 0x20)
		a++;
	n = strlen(s + a);
	while (n > 0 && (unsigned char)s[a + n - 1] <= 0x20)
		n--;
	memmove(s, s + a, n);
	s[n] = '\0';
	return s;
}

/* field `i` of `f` on `node` into *value (heap or NULL): 0 / -1 */
static int
field_value(const struct xi_fields *f, size_t i, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, char **value, struct kw_err *err)
{
	bool image = strcmp(f->fnames[2 * i], "image") == 0, space = false;
	xmlXPathObjectPtr obj;
	xmlNodePtr first;
	xmlChar *s;
	struct buf b;
	char *href = NULL;
	int rc = 0;

	*value = NULL;
	obj = xi_xpath_eval(xi_xpath_comp(f->fx[i]), doc, node, f->ns, f->nns,
	    err);
	if (obj == NULL)
		return -1;
	if (obj->type == XPATH_NODESET) {
		if (obj->nodesetval != NULL && obj->nodesetval->nodeNr > 0) {
			first = obj->nodesetval->nodeTab[0];
			if (image)
				rc = node_image(first, &href);
			else if (first->type == XML_ELEMENT_NODE)
				rc = node_text_by(html, run, first, value);
			else if ((href = raw_text(first)) == NULL)
				rc = -1;
		}
	} else {
		s = xmlXPathCastToString(obj);
		if (s == NULL || (href = strdup((const char *)s)) == NULL)
			rc = -1;
		xmlFree(s);
	}
	xmlXPathFreeObject(obj);
	if (rc == 0 && href != NULL) {
		if (image) {
			trimmed(href);
			if (html)
				rc = xi_html_resolve(run, href, value);
			else
				rc = resolve_at(doc, node, href, value);
		} else {
			buf_init(&b, 0);
			if (add_str(&b, &space, BAD_CAST href) == 0 &&
			    buf_append(&b, "", 0) == 0)
				*value = buf_detach(&b, NULL);
			else
				rc = -1;
			buf_release(&b);
		}
	}
	free(href);
	if (rc != 0)
		kw_err_set(err, "out of memory");
	return rc;
}

int
xi_item_fields(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, struct item *it,
    struct kw_err *err)
{
	char *value;
	size_t i;

	for (i = 0; i < f->nfx; i++) {
		if (field_value(f, i, doc, html, run, node, &value, err) != 0)
			return -1;
		if (item_field_set_take(it, f->fnames[2 * i], value) != 0)
			return kw_err_set(err, "out of memory");
	}
	return 0;
}

int
xi_items_from_nodes(xmlDocPtr doc, bool html, struct extract_run *run,
    xmlNodeSetPtr nodes, const struct xi_fields *f, struct item_list *out,
    struct kw_err *err)
{
	char *text, *link;
	int i, n = nodes != NULL ? nodes->nodeNr : 0;

	for (i = 0; i < n; i++) {
		if (xi_field_text(f, doc, html, run, nodes->nodeTab[i], &text,
			err) != 0)
			return -1;
		if (*text == '\0') {
			free(text);
			continue;
		}
		if (xi_field_link(f, doc, html, run, nodes->nodeTab[i], &link,
			err) != 0) {
			free(text);
			return -1;
		}
		if (item_list_add_full(out, text, link, NULL) != 0)
			return kw_err_set(err, "out of memory");
		if (xi_item_fields(f, doc, html, run, nodes->nodeTab[i],
			&out->v[out->n - 1], err) != 0)
			return -1;
	}
	return 0;
}
