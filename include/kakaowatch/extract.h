/*
 * extract: a fetched HTML page -> items (docs/design.md §2.3). The only module
 * that uses libxml2.
 *
 * The page is decoded to UTF-8 here (iconv, with U+FFFD for bytes that do
 * not decode, as browsers do), then parsed once into the tree a browser
 * builds: the WHATWG HTML5 tree builder (gumbo), turned into a libxml2
 * document (src/extract_html5.h says how: every element, SVG and MathML
 * too, in no namespace, so `//div` and Chrome's "Copy XPath" paths with
 * their inserted `tbody` work), and a compiled XPath 1.0 expression is
 * evaluated against it.
 *
 * Charset order, as a browser does it (HTML Standard 13.2.3 "Determining
 * the character encoding"; docs/design.md §2.2):
 *  1. the watch's `encoding:` override;
 *  2. the HTTP Content-Type charset (a UTF-16 BOM picks the byte order);
 *  3. a byte order mark (UTF-8, UTF-16LE/BE);
 *  4. a <meta charset> / <meta http-equiv=Content-Type content="...;
 *     charset=..."> found by the "prescan" of the first 1024 bytes
 *     (comments and attribute values skipped);
 *  5. nothing declared: UTF-8 when the bytes are well-formed UTF-8, else
 *     the global `default_encoding:` (extract_set_default_encoding), CP949
 *     unless set, which is what a browser in a Korean locale uses.
 * In cases 4 and 5 the choice is tentative: when the tree, once built,
 * has a <meta> declaring another charset (the first <meta> that declares
 * a known one, e.g. one after the first 1024 bytes), the page is decoded
 * again with that one and parsed again, once (13.2.3.4 "Changing the
 * encoding while parsing"; a <meta> saying UTF-16 means UTF-8).
 * Labels are matched as in the WHATWG Encoding Standard
 * (https://encoding.spec.whatwg.org/#names-and-labels): unknown labels are
 * skipped, "euc-kr", "ks_c_5601-1987", "windows-949" and friends decode as
 * CP949 (its superset: pages labelled euc-kr use CP949's extra syllables such
 * as "똠", "햏", "뷁", which strict EUC-KR rejects), "iso-8859-1" and
 * "us-ascii" as windows-1252.
 *
 * Items (docs/design.md §2.3): one per XPath match, in document order.
 * - text: the node's text with every run of whitespace (ASCII, NBSP U+00A0,
 *   U+3000 and the other Unicode White_Space characters, control
 *   characters) collapsed to one space, trimmed, entities decoded. For an
 *   element it is its XPath string value, except that the contents of
 *   descendant <script>, <style>, <noscript> and <template> are left out and
 *   <br> and block boundaries (<p>, <div>, <li>, <td>, ...) count as
 *   whitespace, so "<td>a</td><td>b</td>" reads "a b", as on screen.
 *   Numeric references to C1 controls (&#150;) read as windows-1252 does
 *   (HTML spec "numeric character reference end state"). Matches whose text
 *   is empty are skipped.
 * - link: for an element, the href of the element itself if it is an <a
 *   href>, else of the first <a href> inside it, else of the nearest <a href>
 *   around it; resolved (RFC 3986, xmlBuildURI) against the document base:
 *   the first <base href> (itself resolved against page_url) or page_url.
 *   Characters a URI may not hold (spaces, non-ASCII as UTF-8, "<>{}|\^`")
 *   are percent-encoded. javascript:, vbscript: and data: links give NULL.
 *   A match on an attribute, text, comment or processing-instruction node,
 *   or an expression returning a string, number or boolean (one item), gives
 *   text only (link NULL).
 */
#ifndef KAKAOWATCH_EXTRACT_H
#define KAKAOWATCH_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

/* A compiled XPath 1.0 expression (opaque; libxml2 stays in extract.c). */
struct extract_xpath;

/*
 * extract_xpath_compile compiles `expr` once (per watch per config load).
 * Besides syntax it rejects what would fail on every page: calls of
 * functions XPath 1.0 does not define ("contain(...)"), variables ($x) and
 * namespace prefixes (x:div), none of which kakaowatch defines. Returns a
 * heap object (free with extract_xpath_free), or NULL with a message in
 * `err`, e.g. "xpath '//a[': invalid predicate at character 5" or
 * "xpath '//a[contain(., \"x\")]': unknown function 'contain()'". Prints
 * nothing.
 */
struct extract_xpath *extract_xpath_compile(const char *expr,
    struct kw_err *err);

/* extract_xpath_free frees `xp`; NULL is a no-op. */
void extract_xpath_free(struct extract_xpath *xp);

/*
 * extract_xpath_check is the hook for config_load: returns 0 when `xpath`
 * compiles (as extract_xpath_compile), else -1 with the message in `msg`
 * (NUL-terminated, cut to `msgsize` bytes, which must be > 0).
 */
int extract_xpath_check(const char *xpath, char *msg, size_t msgsize);

/*
 * A set of compiled XPaths keyed by the expression (and the namespace
 * prefixes it may use): each distinct key is compiled once and shared by
 * every watch using it, so 10,000 watches with 3 XPaths compile 3 times.
 * once, run (one set per configuration generation), test and check take
 * their compiled XPaths from one; CSS selectors, which compile to XPath,
 * share the XPath's entry. A compiled XPath only reads the expression, so
 * sharing one between watches and documents is safe (one thread).
 */
struct extract_xpath_set;

/* extract_xpath_set_new: an empty set, or NULL on out-of-memory */
struct extract_xpath_set *extract_xpath_set_new(void);

/* extract_xpath_set_free frees the set and every XPath in it; NULL: no-op */
void extract_xpath_set_free(struct extract_xpath_set *set);

/*
 * extract_xpath_set_get returns the compiled `expr` with namespace
 * prefixes ns[0], ns[2], ... ns[2*(nns-1)] allowed (as
 * extract_xpath_compile_ns), compiling it on the first call with that key.
 * The pointer is borrowed from the set and lives as long as it does.
 * Returns NULL with extract_xpath_compile_ns's message in `err` (a failure
 * is not remembered).
 */
const struct extract_xpath *extract_xpath_set_get(struct extract_xpath_set *set,
    const char *expr, const char *const *ns, size_t nns, struct kw_err *err);

/* extract_xpath_set_count: how many distinct XPaths the set holds (only
 * tests call it: the one sign that extract_xpath_set_check compiled into
 * the set and that a failure was not kept) */
size_t extract_xpath_set_count(const struct extract_xpath_set *set);

/*
 * extract_xpath_set_check is config_load's XPath hook (as
 * extract_xpath_check: same returns and messages) compiling into the set
 * given to extract_xpath_set_checking, where it stays for the caller's
 * later extract_xpath_set_get: `check` validates, and once, run and test
 * reuse what it compiled. Without a set it is extract_xpath_check.
 * extract_xpath_set_checking(NULL) ends it; the set is borrowed.
 */
int extract_xpath_set_check(const char *xpath, char *msg, size_t msgsize);
void extract_xpath_set_checking(struct extract_xpath_set *set);

/*
 * extract_encoding_check is the hook for a watch's `encoding:` value:
 * returns 0 when `label` is a WHATWG encoding label or a charset name iconv
 * knows ("euc-kr", "cp949", "shift_jis", "KOI8-U"), else -1 with a message
 * in `msg` (cut to `msgsize` bytes, which must be > 0).
 */
int extract_encoding_check(const char *label, char *msg, size_t msgsize);

/*
 * extract_items parses one HTML page and appends an item (see above) for
 * every match of `xp` to `out`.
 *   body, len     the raw bytes as fetched, in any charset; need not be
 *                 NUL-terminated; may hold NUL bytes and invalid sequences
 *                 (they become U+FFFD or are dropped: never a crash, never
 *                 invalid UTF-8 in an item). Borrowed.
 *   content_type  the HTTP Content-Type header value, or NULL.
 *   encoding      the watch's `encoding:` override, or NULL.
 *   page_url      the final URL after redirects (base for links), or NULL:
 *                 then a link that is not absolute (and no absolute <base
 *                 href> applies) is kept as written.
 * Item strings are owned by `out` (item_list_release frees them).
 * Returns 0, also when nothing matches (the caller decides what zero
 * matches means), or -1 with a message in `err` when the page cannot be
 * parsed at all (e.g. it is empty), the XPath evaluation fails (e.g.
 * "count(1)": invalid type) or memory runs out; `out` is then as it was.
 */
int extract_items(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, const struct extract_xpath *xp,
    struct item_list *out, struct kw_err *err);

/* A parsed page (opaque), for running several expressions on one parse. */
struct extract_doc;

/*
 * extract_doc_parse decodes and parses one page exactly as extract_items
 * does (same arguments, same charset rules and tree). Returns a heap
 * document (free with extract_doc_free), or NULL with a message in `err`
 * ("page is empty", out of memory). `page_url` is copied.
 */
struct extract_doc *extract_doc_parse(const char *body, size_t len,
    const char *content_type, const char *encoding, const char *page_url,
    struct kw_err *err);

/*
 * extract_doc_items appends the items of `xp` on `d` to `out`, as
 * extract_items does (extract_items is extract_doc_parse +
 * extract_doc_items + extract_doc_free). Returns 0 or -1 with `err`.
 */
int extract_doc_items(const struct extract_doc *d,
    const struct extract_xpath *xp, struct item_list *out, struct kw_err *err);

/* extract_doc_free frees `d`; NULL is a no-op. */
void extract_doc_free(struct extract_doc *d);

/*
 * extract_match_fn: does `text` (an element's item text) contain `needle`
 * (a user's TEXT)? The caller's matcher (kakaowatch find passes the keyword
 * matcher, so matching is as for `keywords:`).
 */
typedef bool (*extract_match_fn)(const char *text, const char *needle);

#define EXTRACT_PREVIEW_MAX 5

/* One proposed watch for a page: a list the given texts belong to. */
struct extract_candidate {
	char *xpath;   /* owned: XPath 1.0 of the items */
	char *css;     /* owned: the same elements as a CSS selector */
	size_t nitems; /* items the xpath gives on the page */
	size_t nrows;  /* rows of the repeated structure that hold one */
	size_t ntexts; /* how many of the texts are among the items */
	struct item_list preview; /* the first EXTRACT_PREVIEW_MAX items */
};

/*
 * extract_find proposes watches for `d`: it finds the deepest elements
 * whose item text contains texts[0] (and each other text), walks up from
 * each to the ancestors whose siblings share its shape (same element name,
 * a class in common once trailing digits are dropped: "list0" and "list1"
 * are one shape) and hold the same path down to the match, and for each
 * such repeated structure writes the path with the row index dropped:
 * from the nearest ancestor with a stable id (not a number, not base64,
 * not a long mix of cases and digits), else from <body>, else from at
 * most 5 steps up; each step the element name and up to 2 of the classes
 * all rows share, a position (td[3], td:nth-of-type(3)) only where name
 * and classes do not tell the step's element from its siblings; the short
 * form (anchor, then any depth) when it selects as many. Candidates are
 * ranked by texts covered, then rows, then nearness to the match;
 * duplicates are dropped; at most `max` are kept. Returns 0 with *out
 * (heap array, free with extract_candidates_free) and *nout (0 when no
 * list holds the texts), or -1 with `err` when no element contains
 * texts[0] ("no element's text contains 'x'") or memory runs out. ntexts
 * must be >= 1.
 */
int extract_find(const struct extract_doc *d, const char *const *texts,
    size_t ntexts, extract_match_fn match, size_t max,
    struct extract_candidate **out, size_t *nout, struct kw_err *err);

/* extract_candidates_free frees `n` candidates and the array. */
void extract_candidates_free(struct extract_candidate *c, size_t n);

/*
 * extract_detect_charset is the charset decision of extract_items before
 * the page is parsed (steps 1-4 above; exposed for tests). Returns the
 * iconv name the page is first decoded with: "UTF-8", "CP949" (for
 * euc-kr), "CP1252" (for iso-8859-1), "UTF-16LE", ...: a static string, or
 * `encoding` itself (borrowed) when it is a name iconv knows that is no
 * WHATWG label. Returns NULL when nothing declares a charset in the first
 * 1024 bytes (step 5 and a late <meta> decide then). An unknown `encoding`
 * is ignored (use extract_encoding_check at config load). Arguments as for
 * extract_items; body may be NULL.
 */
const char *extract_detect_charset(const char *body, size_t len,
    const char *content_type, const char *encoding);

/*
 * extract_page_charset is the whole charset decision of extract_items
 * (steps 1-5 and a late <meta>, so the page is parsed): returns the iconv
 * name the page's items are decoded with (a static string, or `encoding`
 * itself), and sets *declared (may be NULL) to false when nothing declared
 * it (step 5: UTF-8 or the default), else true. Arguments as for
 * extract_items. Returns NULL with a message in `err` when the page cannot
 * be parsed (it is empty, out of memory). Only tests call it (the
 * html5lib sniffing suite: its mostly ASCII pages show the charset in no
 * item text); production decodes through extract_items / extract_doc_parse.
 */
const char *extract_page_charset(const char *body, size_t len,
    const char *content_type, const char *encoding, bool *declared,
    struct kw_err *err);

/*
 * extract_set_default_encoding sets the charset of pages that declare none
 * and are not UTF-8 (step 5 above) for the whole process: `label` is a
 * WHATWG label or an iconv name (as for `encoding:`), NULL or "" restores
 * CP949. The config's top-level `default_encoding:`; set it after each
 * successful config load. Returns 0, or -1 with a message in `err` (an
 * unknown label; the setting is then unchanged). Not thread-safe.
 */
int extract_set_default_encoding(const char *label, struct kw_err *err);

/*
 * extract_tree_dump writes the document tree extract_items builds for a
 * page (same arguments; decoded and parsed the same way) to `out` in the
 * html5lib test-suite tree format, one node a line, children indented by
 * two spaces: `| <!DOCTYPE name>` (or `| <!DOCTYPE name "public"
 * "system">`), `| <tag>` followed by its attributes sorted by name as
 * `|   name="value"`, `| "text"`, `| <!-- comment -->`. Text is written as
 * it is (newlines included). For `kakaowatch test --tree` and the tests
 * that compare kakaowatch's tree with html5lib's. Returns 0 or -1 with a
 * message in `err`.
 */
int extract_tree_dump(const char *body, size_t len, const char *content_type,
    const char *encoding, struct buf *out, struct kw_err *err);

/*
 * extract_global_init initialises libxml2 once per process (xmlInitParser)
 * and routes its generic and structured error output to a silent handler.
 * Call it before any other extract_* function; extract_global_cleanup
 * (xmlCleanupParser) at exit, after the last one.
 */
void extract_global_init(void);
void extract_global_cleanup(void);

/* ---- source kinds: HTML, XML, feeds (JSON is the jq module's) --------- */

/*
 * A watch's `parser:`. AUTO decides per response (extract_detect_parser);
 * JSON documents are read by the jq module (jq.h), not here.
 */
enum extract_parser {
	EXTRACT_PARSER_AUTO,
	EXTRACT_PARSER_HTML,
	EXTRACT_PARSER_XML,
	EXTRACT_PARSER_FEED,
	EXTRACT_PARSER_JSON
};

/* "auto", "html", "xml", "feed", "json" (static strings) */
const char *extract_parser_name(enum extract_parser p);

/* extract_parser_from_name: 0 and *p for one of those names, else -1 */
int extract_parser_from_name(const char *name, enum extract_parser *p);

/*
 * extract_detect_parser is `parser: auto`'s decision for one response:
 *   1. Content-Type (media type, case-insensitive): application/json,
 *      text/json or any "+json" type -> JSON; application/rss+xml,
 *      application/atom+xml, application/rdf+xml -> FEED; text/xml,
 *      application/xml or any other "+xml" type -> XML, or FEED when the
 *      root element says so (below).
 *   2. Otherwise the content (after a BOM and whitespace): "{" or "[" ->
 *      JSON; an XML declaration, or a first element named rss, feed or
 *      rdf:RDF -> FEED when that element is rss, feed or rdf:RDF, else
 *      XML; anything else -> HTML. This sniff also runs for text/html, as
 *      the WHATWG MIME Sniffing standard's "sniffing a mislabeled feed"
 *      does, so a feed served as text/html still reads as a feed, while an
 *      HTML error page stays HTML.
 * body may be NULL (len 0). Never AUTO.
 */
enum extract_parser extract_detect_parser(const char *body, size_t len,
    const char *content_type);

/*
 * How one watch reads a document beyond its `xpath:` (all borrowed).
 *   parser      AUTO or what the watch says.
 *   namespaces  prefix, URI pairs: namespaces[2*i] is a prefix usable in
 *               `xpath`, `title` and `link`, namespaces[2*i+1] its URI;
 *               nnamespaces pairs (0: none). XML and feed documents also
 *               know the feed prefixes atom, rdf, rss (RSS 1.0), dc and
 *               content unless redefined here.
 *   title       an XPath evaluated with each matched item (or feed entry)
 *               as the context node: its string value (a node-set: the
 *               item text of its first node) is the item's text; NULL:
 *               the default text rule (HTML above, XML below, feeds'
 *               title). An item whose title is empty is skipped.
 *   link        likewise for the link: a node-set's first node gives its
 *               href attribute, else for HTML the link rule above, for XML
 *               its text; a string gives itself. Resolved against the
 *               document base (HTML <base>, XML xml:base, the page URL).
 *               NULL: the default link rule. Empty: no link.
 *   fields      name, XPath pairs: fields[2*i] is a field name (item.h),
 *               fields[2*i+1] an XPath evaluated like title with the item
 *               (or feed entry) as context; nfields pairs. The value (at
 *               most ITEM_FIELD_MAX bytes, item.h) is a node-set's first
 *               node's item text (an attribute's or text node's value,
 *               whitespace collapsed), or a string/number/boolean result
 *               as XPath's string(); empty: the field is not set. A field
 *               named `image` is a URL instead: an element's
 *               data-original, data-src or data-lazy-src (what a lazy-
 *               loading page swaps in), else src, href, url, else its
 *               text; resolved like a link. Feeds also get the built-in fields date,
 *               summary, author and image (below), which a declared field
 *               of the same name replaces.
 */
struct extract_opts {
	enum extract_parser parser;
	const char *const *namespaces;
	size_t nnamespaces;
	const char *title;
	const char *link;
	const char *const *fields;
	size_t nfields;
};

/*
 * extract_xpath_compile_ns is extract_xpath_compile accepting the
 * namespace prefixes ns[0], ns[2], ... ns[2*(nns-1)] (the prefix halves of
 * extract_opts.namespaces) and the feed prefixes (atom, rdf, rss, dc,
 * content) besides "xml". Same returns.
 */
struct extract_xpath *extract_xpath_compile_ns(const char *expr,
    const char *const *ns, size_t nns, struct kw_err *err);

/*
 * extract_document reads one fetched document as `opts` say and appends
 * its items to `out`:
 *   HTML  as extract_items (xp required), with opts->title/link applied.
 *   XML   libxml2's XML parser (element names keep their case), no
 *         network, no DTD loading, entity declarations ignored so nothing
 *         is ever expanded or loaded (XXE, "billion laughs"); charset
 *         order: `encoding`, BOM, an XML Content-Type's charset (RFC 7303
 *         §3), the XML declaration's encoding="...", another Content-Type's
 *         charset, UTF-8. xp required. Item text: the node's text with each
 *         element boundary read as a space, whitespace collapsed. Link: the
 *         element's href attribute, else a child element named link (an
 *         href, else its text), else the first child element whose name
 *         ends in "url" (any case) holding an http(s) URL; resolved against
 *         xml:base and page_url.
 *   FEED  RSS 0.9x/2.0 (rss/channel/item), RSS 1.0 and 0.90 (rdf:RDF/item)
 *         and Atom 1.0 (feed/entry): one item per entry, in document order,
 *         no xpath needed. text: the title (HTML in Atom type="html" and in
 *         RSS read as text), else the summary cut to 100 characters, else
 *         the link; link: RSS <link>, else a permalink <guid>; Atom
 *         <link rel="alternate" href> (no rel counts as alternate),
 *         resolved against xml:base and page_url; key: <guid>, rdf:about
 *         or Atom <id>, else the link; fields (item.h): date: pubDate,
 *         dc:date, updated or published as written; summary:
 *         description, Atom summary or content, as plain text; author:
 *         RSS author, dc:creator, Atom author/name (the entry's, else the
 *         feed's); image: an enclosure with an image/ type,
 *         media:thumbnail, media:content (medium="image" or an image/
 *         type), itunes:image, else the first <img src> in the entry's
 *         HTML content, resolved like the link. With xp: only the entries
 *         that are in its result or hold a node of it.
 *   AUTO  extract_detect_parser first; an XML document whose root is a
 *         feed reads as FEED.
 * A document that is not what an explicit parser expects fails: FEED and
 * XML given an HTML page ("expected a feed, got an HTML page (Content-Type
 * text/html)"), so a feed that turns into an error page is a failed check,
 * not every entry removed. JSON (explicit or detected) fails here with
 * "JSON needs a jq: program" (the caller routes JSON to jq.h).
 * *used (may be NULL) is set to the parser that read the document, also on
 * failure once it is known. Returns 0 (also when nothing matches) or -1
 * with err; `out` is then as it was.
 */
int extract_document(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, const struct extract_xpath *xp,
    const struct extract_opts *opts, struct item_list *out,
    enum extract_parser *used, struct kw_err *err);

/*
 * extract_field_check is the config hook for a `title:` or `link:`
 * expression: as extract_xpath_check, with the watch's namespace pairs.
 */
int extract_field_check(const char *expr, const char *const *ns, size_t nns,
    char *msg, size_t msgsize);

/*
 * extract_text_normalize: s[0..n) as item text (whitespace collapsed and
 * trimmed, invalid UTF-8 as U+FFFD, as above) in a heap string (caller
 * frees; "" when nothing is left), NULL on out-of-memory. For other
 * modules making items (jq).
 */
char *extract_text_normalize(const char *s, size_t n);

/*
 * extract_url_resolve resolves `href` against `base` (NULL: none) into a
 * heap string in *out the way item links are (RFC 3986, cleaned,
 * percent-encoded; javascript:/vbscript:/data: give NULL). Returns 0 or -1
 * on out-of-memory. For other modules making items (jq).
 */
int extract_url_resolve(const char *href, const char *base, char **out);

#endif
