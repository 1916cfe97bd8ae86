/*
 * extract_doc: `parser:` (auto detection) and the dispatch of one document
 * to the HTML, XML or feed reader (see extract.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "kakaowatch/extract.h"

#include "extract_int.h"

/* bytes of the body the sniff looks at for the first element */
#define SNIFF_MAX 2048

static const char *const parser_names[] = {
	[EXTRACT_PARSER_AUTO] = "auto",
	[EXTRACT_PARSER_HTML] = "html",
	[EXTRACT_PARSER_XML] = "xml",
	[EXTRACT_PARSER_FEED] = "feed",
	[EXTRACT_PARSER_JSON] = "json",
};

const char *
extract_parser_name(enum extract_parser p)
{
	if ((size_t)p >= sizeof(parser_names) / sizeof(parser_names[0]))
		return "auto";
	return parser_names[p];
}

int
extract_parser_from_name(const char *name, enum extract_parser *p)
{
	size_t i;

	for (i = 0; i < sizeof(parser_names) / sizeof(parser_names[0]); i++)
		if (name != NULL && strcmp(name, parser_names[i]) == 0) {
			*p = (enum extract_parser)i;
			return 0;
		}
	return -1;
}

static bool
media_is(const char *ct, size_t n, const char *type)
{
	return strlen(type) == n && strncasecmp(ct, type, n) == 0;
}

static bool
media_ends(const char *ct, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n > l && strncasecmp(ct + n - l, suffix, l) == 0;
}

static bool
is_sp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/*
 * sniff_markup: FEED or XML when the body starts (BOM, whitespace,
 * comments, processing instructions and a doctype skipped) with an XML
 * declaration or an rss / feed / rdf:RDF element; HTML otherwise.
 */
static enum extract_parser
sniff_markup(const char *b, size_t len)
{
	size_t end = len < SNIFF_MAX ? len : SNIFF_MAX, i = 0, n;
	bool decl = false;
	const char *close;

	if (end >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (;;) {
		while (i < end && is_sp((unsigned char)b[i]))
			i++;
		if (i + 1 >= end || b[i] != '<')
			break;
		if (end - i >= 5 && memcmp(b + i, "<?xml", 5) == 0)
			decl = true;
		if (b[i + 1] == '?' || b[i + 1] == '!') {
			if (end - i >= 4 && memcmp(b + i, "<!--", 4) == 0) {
				for (i += 4; i + 3 <= end &&
					     memcmp(b + i, "-->", 3) != 0;
				     i++)
					;
				if (i + 3 > end)
					break;
				i += 3;
				continue;
			}
			close = memchr(b + i, '>', end - i);
			if (close == NULL)
				break;
			i = (size_t)(close - b) + 1;
			continue;
		}
		i++;
		n = 0;
		while (i + n < end && !is_sp((unsigned char)b[i + n]) &&
		       b[i + n] != '>' && b[i + n] != '/')
			n++;
		if ((n == 3 && memcmp(b + i, "rss", 3) == 0) ||
		    (n == 4 && memcmp(b + i, "feed", 4) == 0) ||
		    (n == 7 && memcmp(b + i, "rdf:RDF", 7) == 0))
			return EXTRACT_PARSER_FEED;
		break;
	}
	return decl ? EXTRACT_PARSER_XML : EXTRACT_PARSER_HTML;
}

static bool
looks_like_json(const char *b, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && is_sp((unsigned char)b[i]))
		i++;
	return i < len && (b[i] == '{' || b[i] == '[');
}

enum extract_parser
extract_detect_parser(const char *body, size_t len, const char *content_type)
{
	const char *ct = content_type;
	size_t n = 0;

	if (body == NULL)
		len = 0;
	if (ct != NULL) {
		while (is_sp((unsigned char)*ct))
			ct++;
		n = strcspn(ct, "; \t");
	}
	if (n > 0) {
		if (media_is(ct, n, "application/json") ||
		    media_is(ct, n, "text/json") || media_ends(ct, n, "+json"))
			return EXTRACT_PARSER_JSON;
		if (media_is(ct, n, "application/rss+xml") ||
		    media_is(ct, n, "application/atom+xml") ||
		    media_is(ct, n, "application/rdf+xml"))
			return EXTRACT_PARSER_FEED;
		if (media_is(ct, n, "text/xml") ||
		    media_is(ct, n, "application/xml") ||
		    media_ends(ct, n, "+xml")) {
			if (media_is(ct, n, "application/xhtml+xml"))
				return EXTRACT_PARSER_HTML;
			return sniff_markup(body, len) == EXTRACT_PARSER_FEED ?
				   EXTRACT_PARSER_FEED :
				   EXTRACT_PARSER_XML;
		}
		/* text/html is HTML, as a browser reads it (an XHTML page
		 * with an XML declaration too); only a feed mislabelled as
		 * text/html is recognised */
		if (media_is(ct, n, "text/html"))
			return sniff_markup(body, len) == EXTRACT_PARSER_FEED ?
				   EXTRACT_PARSER_FEED :
				   EXTRACT_PARSER_HTML;
	}
	if (body != NULL && looks_like_json(body, len))
		return EXTRACT_PARSER_JSON;
	return body != NULL ? sniff_markup(body, len) : EXTRACT_PARSER_HTML;
}

/* "Content-Type text/html" for messages, or "no Content-Type" */
static void
ct_note(const char *ct, char *buf, size_t size)
{
	size_t n;

	if (ct == NULL || *ct == '\0') {
		snprintf(buf, size, "no Content-Type");
		return;
	}
	n = strcspn(ct, ";");
	snprintf(buf, size, "Content-Type %.*s", (int)(n < 100 ? n : 100), ct);
}

/* the items of `xp`'s result on `doc` (HTML with `run`, or XML) */
static int
xpath_items(xmlDocPtr doc, bool html, struct extract_run *run,
    const struct extract_xpath *xp, const struct xi_fields *f,
    struct item_list *out, struct kw_err *err)
{
	xmlXPathObjectPtr obj;
	xmlChar *s;
	struct buf b;
	bool space = false;
	char *text;
	int rc = -1;

	obj = xi_xpath_eval(xi_xpath_comp(xp), doc, NULL, f->ns, f->nns, err);
	if (obj == NULL)
		return -1;
	switch (obj->type) {
	case XPATH_NODESET:
		rc = xi_items_from_nodes(doc, html, run, obj->nodesetval, f,
		    out, err);
		break;
	case XPATH_STRING:
	case XPATH_NUMBER:
	case XPATH_BOOLEAN:
		s = xmlXPathCastToString(obj);
		buf_init(&b, 0);
		if (s == NULL ||
		    xi_normalize(&b, &space, (const char *)s,
			strlen((const char *)s)) != 0 ||
		    buf_append(&b, "", 0) != 0) {
			buf_release(&b);
			xmlFree(s);
			kw_err_set(err, "out of memory");
			break;
		}
		xmlFree(s);
		text = buf_detach(&b, NULL);
		rc = 0;
		if (text != NULL && *text != '\0')
			rc = item_list_add_take(out, text, NULL);
		else
			free(text);
		if (rc != 0)
			kw_err_set(err, "out of memory");
		break;
	default:
		kw_err_set(err, "xpath result has an unsupported type (%d)",
		    (int)obj->type);
		break;
	}
	xmlXPathFreeObject(obj);
	return rc;
}

int
extract_document(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, const struct extract_xpath *xp,
    const struct extract_opts *opts, struct item_list *out,
    enum extract_parser *used, struct kw_err *err)
{
	static const struct extract_opts none = { 0 };
	enum extract_parser want, got;
	struct xi_fields f;
	struct extract_run *run = NULL;
	xmlDocPtr doc = NULL;
	size_t n0 = out->n;
	char note[128];
	int rc = -1;

	if (opts == NULL)
		opts = &none;
	memset(&f, 0, sizeof(f));
	want = opts->parser;
	got = want != EXTRACT_PARSER_AUTO ?
		  want :
		  extract_detect_parser(body, len, content_type);
	if (used != NULL)
		*used = got;
	if (got == EXTRACT_PARSER_JSON) {
		kw_err_set(err, "JSON needs a jq: program");
		return -1;
	}
	/* HTML without per-item fields: the one well-trodden path */
	if (got == EXTRACT_PARSER_HTML && opts->title == NULL &&
	    opts->link == NULL && opts->nnamespaces == 0 &&
	    opts->nfields == 0) {
		if (xp == NULL)
			return kw_err_set(err, "the page is HTML and the watch "
					       "has no xpath (a feed needs "
					       "none; is it still a feed?)");
		return extract_items(body, len, content_type, encoding,
		    page_url, xp, out, err);
	}
	if (xi_fields_compile(&f, opts, err) != 0)
		return -1;
	if (got == EXTRACT_PARSER_HTML) {
		if (xp == NULL) {
			kw_err_set(err, "the page is HTML and the watch has no "
					"xpath");
			goto out;
		}
		doc = xi_html_parse(body, len, content_type, encoding, page_url,
		    err);
		if (doc == NULL)
			goto out;
		run = xi_html_run_new(doc, page_url);
		if (run == NULL) {
			kw_err_set(err, "out of memory");
			goto out;
		}
		rc = xpath_items(doc, true, run, xp, &f, out, err);
		goto out;
	}
	/* XML or FEED: an HTML page here is an error page, not a document */
	doc = xi_xml_parse(body, len, content_type, encoding, page_url, err);
	if (doc == NULL || xmlStrcasecmp(xmlDocGetRootElement(doc)->name,
			       BAD_CAST "html") == 0) {
		if (doc == NULL &&
		    (want == EXTRACT_PARSER_AUTO ||
			extract_detect_parser(body, len, content_type) !=
			    EXTRACT_PARSER_HTML))
			goto out;
		ct_note(content_type, note, sizeof(note));
		kw_err_set(err, "expected %s, got an HTML page (%s)",
		    got == EXTRACT_PARSER_FEED ? "a feed" : "XML", note);
		goto out;
	}
	if (xi_xml_root_kind(doc) == EXTRACT_PARSER_FEED &&
	    want != EXTRACT_PARSER_XML)
		got = EXTRACT_PARSER_FEED;
	else if (got == EXTRACT_PARSER_FEED && want == EXTRACT_PARSER_FEED) {
		kw_err_set(err,
		    "expected a feed, got XML whose root element "
		    "is <%.64s>",
		    (const char *)xmlDocGetRootElement(doc)->name);
		goto out;
	} else {
		got = EXTRACT_PARSER_XML;
	}
	if (used != NULL)
		*used = got;
	if (got == EXTRACT_PARSER_FEED) {
		rc = xi_feed_items(doc, xp, &f, out, err);
		goto out;
	}
	if (xp == NULL) {
		kw_err_set(err,
		    "the document is XML (root <%.64s>), not a "
		    "feed: the watch needs an xpath",
		    (const char *)xmlDocGetRootElement(doc)->name);
		goto out;
	}
	rc = xpath_items(doc, false, NULL, xp, &f, out, err);
out:
	if (rc != 0) {
		item_list_truncate(out, n0);
	}
	xi_html_run_free(run);
	if (doc != NULL)
		xmlFreeDoc(doc);
	xi_fields_release(&f);
	return rc;
}
