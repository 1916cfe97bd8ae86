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
                  const char *encoding, const char *page_url,
                  const struct extract_xpath *xp, struct item_list *out,
                  struct kw_err *err);

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
                                   const char *content_type,
                                   const char *encoding);

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
                      const char *encoding, struct buf *out,
                      struct kw_err *err);

/*
 * extract_global_init initialises libxml2 once per process (xmlInitParser)
 * and routes its generic and structured error output to a silent handler.
 * Call it before any other extract_* function; extract_global_cleanup
 * (xmlCleanupParser) at exit, after the last one.
 */
void extract_global_init(void);
void extract_global_cleanup(void);

#endif
