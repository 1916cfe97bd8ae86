/*
 * extract_html5: the WHATWG HTML5 tree of a page (gumbo) as a libxml2
 * document. Internal to the extract module (src/extract*.c): nothing else
 * includes it, and gumbo is used nowhere else.
 *
 * The tree is the one the HTML Standard's tree builder (section 13.2.6,
 * https://html.spec.whatwg.org/multipage/parsing.html#tree-construction)
 * gives, which is what browsers and html5lib build: <html>, <head>, <body>
 * and <tbody> inserted, misnested tags and formatting elements fixed up by
 * the adoption agency, table content foster-parented, the self-closing
 * flag ignored on non-void elements, junk between attributes read as
 * attribute names.
 *
 * How it is represented in libxml2 (the design of Nokogiri's HTML5 mode,
 * except for foreign elements):
 * - an HTML document (XML_HTML_DOCUMENT_NODE) with a dictionary; the
 *   doctype, if any, as its internal subset (name, public and system id);
 * - every element in no namespace, named in lower case as the tree builder
 *   names it, so `//div`, `//tbody/tr` work without prefixes. SVG and
 *   MathML elements too: `//svg/path`, with SVG's case-adjusted names
 *   (`foreignObject`, `linearGradient`). Which namespace an element was in
 *   is not kept (kakaowatch's XPaths define no prefixes);
 * - attributes in no namespace; the namespaced attributes of foreign
 *   elements keep their qualified name as the plain name ("xlink:href",
 *   "xml:lang", "xmlns:xlink"; select them as @*[name()='xlink:href']);
 *   names are as the tokenizer gives them (lower case; any character but
 *   whitespace, "/", ">" and "="), values with references decoded;
 * - text (also CDATA sections in foreign content) as text nodes, adjacent
 *   runs merged into one as in the DOM; comments as comment nodes;
 *   <template> contents as the element's children.
 */
#ifndef KAKAOWATCH_EXTRACT_HTML5_H
#define KAKAOWATCH_EXTRACT_HTML5_H

#include <stddef.h>

#include <libxml/tree.h>

#include "kakaowatch/util.h"

/* how many <meta> elements extract_html5_parse remembers */
#define HTML5_METAS_MAX 16

struct html5_doc {
	xmlDocPtr doc;
	/*
	 * The first HTML <meta> elements with a charset or an http-equiv
	 * attribute, in tree order (for the HTML Standard's "change the
	 * encoding"); borrowed from doc.
	 */
	xmlNodePtr metas[HTML5_METAS_MAX];
	size_t nmetas;
};

/*
 * extract_html5_parse builds the tree of text[0..len), which must be UTF-8
 * (it need not be NUL-terminated; NUL bytes are handled as the tokenizer
 * says). `url` (may be NULL) becomes the document URL. Fills `out`;
 * free out->doc with xmlFreeDoc. Returns 0, or -1 with a message in `err`
 * (out of memory, a page over 4 GiB).
 */
int extract_html5_parse(const char *text, size_t len, const char *url,
    struct html5_doc *out, struct kw_err *err);

#endif
