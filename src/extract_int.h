/*
 * extract_int.h: what the files of the extract module share (extract.c,
 * extract_xml.c, extract_feed.c, extract_find.c). Not a public header: nothing outside
 * src/extract*.c includes it, and libxml2 types stay inside the module.
 */
#ifndef KAKAOWATCH_EXTRACT_INT_H
#define KAKAOWATCH_EXTRACT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/util.h"

/* Namespace URIs of the feed formats (and the prefixes feeds get free). */
#define XI_NS_ATOM "http://www.w3.org/2005/Atom"
#define XI_NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define XI_NS_RSS1 "http://purl.org/rss/1.0/"
#define XI_NS_RSS090 "http://my.netscape.com/rdf/simple/0.9/"
#define XI_NS_DC "http://purl.org/dc/elements/1.1/"
#define XI_NS_CONTENT "http://purl.org/rss/1.0/modules/content/"

/* ---- from extract.c ----------------------------------------------------- */

/* the compiled expression inside `xp` (borrowed) */
xmlXPathCompExprPtr xi_xpath_comp(const struct extract_xpath *xp);

/*
 * xi_xpath_eval evaluates `comp` with context node `node` in `doc`, with
 * the namespace pairs ns[0..2*nns) (prefix, URI) registered. Returns the
 * result (caller frees with xmlXPathFreeObject) or NULL with `err`
 * ("xpath evaluation failed: invalid type").
 */
xmlXPathObjectPtr xi_xpath_eval(xmlXPathCompExprPtr comp, xmlDocPtr doc,
    xmlNodePtr node, const char *const *ns, size_t nns, struct kw_err *err);

/*
 * xi_charset_label: the iconv name of a WHATWG label s[0..len), or NULL.
 * xi_charset_param: the charset= parameter of a Content-Type, or NULL.
 */
const char *xi_charset_label(const char *s, size_t len);
const char *xi_charset_param(const char *content_type);

/*
 * xi_decode turns body[0..len) into UTF-8 without NUL bytes, decoded from
 * iconv charset `cs` (NULL: UTF-8), a BOM for `cs` skipped. *text is body
 * itself or a heap copy also in *owned (caller frees). 0 or -1 with err.
 */
int xi_decode(const char *body, size_t len, const char *cs, const char **text,
    size_t *textlen, char **owned, struct kw_err *err);

/*
 * xi_normalize appends s[0..n) to `b` as item text: whitespace runs (also
 * NBSP, U+3000, controls) collapsed to one space, C1 references read as
 * windows-1252, invalid UTF-8 as U+FFFD. *space carries "whitespace
 * pending" between calls (start with false; b's text is never started or
 * ended with a space). 0 or -1 (out of memory).
 */
int xi_normalize(struct buf *b, bool *space, const char *s, size_t n);

/*
 * xi_url_resolve: RFC 3986 resolution of `href` against `base` (NULL: kept
 * as written), cleaned and percent-encoded as extract.h says for links;
 * *out is a heap string or NULL (script links, no URL). 0 or -1 (memory).
 */
int xi_url_resolve(const char *href, const char *base, char **out);

/* an HTML page's items state: the text rule, the link rule, the base URL */
struct extract_run;

/*
 * xi_html_parse decodes and parses an HTML page exactly as extract_items
 * does; returns the document (xmlFreeDoc) or NULL with err.
 */
xmlDocPtr xi_html_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, struct kw_err *err);

/* a run over `doc` (borrowed) for xi_html_text / xi_html_link; NULL: OOM */
struct extract_run *xi_html_run_new(xmlDocPtr doc, const char *page_url);
void xi_html_run_free(struct extract_run *run);

/* the HTML item text of `node` into *text (heap, "" when none): 0 / -1 */
int xi_html_text(struct extract_run *run, xmlNodePtr node, char **text);

/* the HTML item link of `node` (extract.h's rule) into *link: 0 / -1 */
int xi_html_link(struct extract_run *run, xmlNodePtr node, char **link);

/* href resolved against the page's document base URL: 0 / -1 */
int xi_html_resolve(struct extract_run *run, const char *href, char **link);

/* ---- extract_xml.c ------------------------------------------------------ */

/*
 * xi_xml_parse decodes (see extract_xml.c for the charset order) and
 * parses an XML document with libxml2's XML parser, safely: no network,
 * no DTD loading, entity declarations ignored (never expanded, never
 * loaded: XXE and "billion laughs" read as undefined entities), recovering
 * from well-formedness errors. Returns the document (xmlFreeDoc) or NULL
 * with err.
 */
xmlDocPtr xi_xml_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, struct kw_err *err);

/* the kind of document by its root element: FEED or XML */
enum extract_parser xi_xml_root_kind(xmlDocPtr doc);

/* the XML item text of `node` (element boundaries are spaces): heap/"" */
int xi_xml_text(xmlNodePtr node, char **text);

/* the text of an HTML fragment (feed titles/summaries of type html) */
int xi_html_fragment_text(const char *html, char **text);

/* a watch's `title:`, `link:` and `fields:`, compiled, with its
 * namespace pairs */
struct xi_fields {
	struct extract_xpath *title; /* NULL: the default text rule */
	struct extract_xpath *link;  /* NULL: the default link rule */
	const char *const *ns;       /* borrowed from extract_opts */
	size_t nns;
	struct extract_xpath **fx; /* nfx compiled fields: expressions */
	const char *const *fnames; /* their names: fnames[2*i] (borrowed
	                              from extract_opts.fields) */
	size_t nfx;
};

/* compile opts->title / opts->link / opts->fields (opts may be NULL): 0
 * or -1 with err */
int xi_fields_compile(struct xi_fields *f, const struct extract_opts *opts,
    struct kw_err *err);
void xi_fields_release(struct xi_fields *f);

/*
 * xi_field_text: the item text of `node` (heap, "" when empty): the title
 * expression's result with `node` as context, or the parser's text rule
 * (html: extract.h's, with `run`; else xi_xml_text). 0 or -1 with err.
 */
int xi_field_text(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, char **text, struct kw_err *err);

/*
 * xi_field_link: the item link of `node` (heap or NULL): what the link
 * expression's first result gives (an element's href attribute, else for
 * HTML its <a href> rule, for XML its text; an attribute's or text's
 * value; a string result), resolved against the document base in scope;
 * or the parser's default link rule. 0 or -1 with err.
 */
int xi_field_link(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, char **link, struct kw_err *err);

/*
 * xi_item_fields sets the fields: of `f` on item `it` made from `node`
 * (extract.h: extract_opts.fields says how a value is read); a value that
 * comes out empty leaves the field unset. 0 or -1 with err.
 */
int xi_item_fields(const struct xi_fields *f, xmlDocPtr doc, bool html,
    struct extract_run *run, xmlNodePtr node, struct item *it,
    struct kw_err *err);

/* one item per node of `nodes` with a non-empty text: 0 or -1 with err */
int xi_items_from_nodes(xmlDocPtr doc, bool html, struct extract_run *run,
    xmlNodeSetPtr nodes, const struct xi_fields *f, struct item_list *out,
    struct kw_err *err);

/* ---- extract_feed.c ----------------------------------------------------- */

/*
 * xi_feed_items appends the entries of the RSS or Atom document `doc` to
 * `out` (see extract.h); with `xp`, only the entries it selects.
 */
int xi_feed_items(xmlDocPtr doc, const struct extract_xpath *xp,
    const struct xi_fields *f, struct item_list *out, struct kw_err *err);

/* the prefix/URI pairs of xi_feed_ns plus opts->namespaces, for XPath */
extern const char *const xi_feed_ns[];
extern const size_t xi_feed_nns;

/* ---- for extract_find.c ------------------------------------------------ */

/* a parsed page (extract.h: extract_doc_parse) */
struct extract_doc {
	xmlDocPtr doc;  /* owned */
	char *page_url; /* owned, or NULL */
};

/*
 * extract_node_text: the item text of `node` as extract.h defines it
 * (whitespace collapsed, scripts left out); a heap string ("" when the node
 * has none), NULL on out-of-memory.
 */
char *extract_node_text(xmlNodePtr node);

#endif
