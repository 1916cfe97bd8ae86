/*
 * extract: a fetched HTML page -> items (docs/design.md §2.3). The only module
 * that uses libxml2.
 *
 * The page is decoded to UTF-8 here (iconv, with U+FFFD for bytes that do
 * not decode, as browsers do), then parsed once by libxml2's lenient HTML
 * parser (HTML_PARSE_RECOVER, no network, no output on stderr), and a
 * compiled XPath 1.0 expression is evaluated against it.
 *
 * Charset order (docs/design.md §2.2): the watch's `encoding:` override, else
 * the HTTP Content-Type charset, else a byte order mark (UTF-8, UTF-16LE/BE),
 * else a <meta charset> / <meta http-equiv=Content-Type
 * content="...charset=..."> in the first 4096 bytes (the WHATWG HTML
 * "prescan", ignoring comments), else UTF-8. Labels are matched as in the
 * WHATWG Encoding Standard
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
 * extract_detect_charset is the charset decision of extract_items alone
 * (exposed for tests and `kakaowatch test`). Returns the iconv name the page
 * is decoded with: "UTF-8", "CP949" (for euc-kr), "CP1252" (for
 * iso-8859-1), "UTF-16LE", ...: a static string, or `encoding` itself
 * (borrowed) when it is a name iconv knows that is no WHATWG label. Returns
 * NULL when nothing declares a charset (the page is read as UTF-8). An
 * unknown `encoding` is ignored (use extract_encoding_check at config
 * load). Arguments as for extract_items; body may be NULL.
 */
const char *extract_detect_charset(const char *body, size_t len,
                                   const char *content_type,
                                   const char *encoding);

/*
 * extract_global_init initialises libxml2 once per process (xmlInitParser)
 * and routes its generic and structured error output to a silent handler.
 * Call it before any other extract_* function; extract_global_cleanup
 * (xmlCleanupParser) at exit, after the last one.
 */
void extract_global_init(void);
void extract_global_cleanup(void);

#endif
