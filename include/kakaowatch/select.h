/*
 * select: CSS selectors -> XPath 1.0, as cssselect does it, with HTML
 * semantics (https://www.w3.org/TR/selectors-3/, and the parts of
 * https://www.w3.org/TR/selectors-4/ named below). Pure string work: no
 * document, no libxml2; extract compiles and evaluates the result.
 *
 * Accepted (element and attribute names are ASCII case-insensitive and
 * compared lower-case, as the HTML parser stores them; class and id values
 * are case-sensitive; a class is a whitespace-separated token of @class):
 * - type `div`, universal `*`, `#id`, `.class`;
 * - attributes `[a]` `[a=v]` `[a~=v]` `[a|=v]` `[a^=v]` `[a$=v]` `[a*=v]`,
 *   v an identifier, a number or a quoted string, with the Selectors 4
 *   flags ` i` (ASCII case-insensitive value) and ` s`;
 * - combinators: descendant (whitespace), `>`, `+`, `~`; lists with `,`
 *   (the union, in document order);
 * - :first-child :last-child :only-child :nth-child() :nth-last-child()
 *   :nth-of-type() :nth-last-of-type() :first-of-type :last-of-type
 *   :only-of-type :empty :root :link :any-link, with an+b, odd, even;
 *   :nth-child(an+b of S) and :nth-last-child(an+b of S) (Selectors 4,
 *   S a list of compound selectors); the *-of-type ones need an element
 *   name (`li:first-of-type`; XPath 1.0 cannot say "same name as me");
 * - :not(S), :is(S), :where(S) with S a list of compound selectors;
 *   :has(R) with R a list of relative selectors (`:has(> a.title)`,
 *   `:has(img)`, `:has(+ p)`);
 * - extensions: :contains("text") (the element's text contains text, case
 *   as written, as in cssselect and jQuery), and the parsel/Scrapy
 *   pseudo-elements ::text (the element's text node children) and
 *   ::attr(name) (an attribute node) at the end of a selector.
 * - CSS escapes (`#\31 23`, `.a\:b`) and strings with escapes, per CSS
 *   Syntax 3 §4.3.7 (0, surrogates and values above U+10FFFF read as
 *   U+FFFD).
 * Rejected with a message and a position: syntax errors, namespace
 * prefixes (`svg|rect`), other pseudo-classes (:hover, :checked, ...:
 * they say nothing about a fetched page) and pseudo-elements (::before),
 * more than SELECT_MAX_DEPTH nested :not/:is/:has, input longer than
 * SELECT_MAX_LEN bytes or not valid UTF-8.
 *
 * The XPath is relative to the document node: `descendant-or-self::`
 * starts it, each selector of a list is joined with `|`. It always
 * compiles as XPath 1.0 (checked by tests/fuzz/fuzz_select.c).
 */
#ifndef KAKAOWATCH_SELECT_H
#define KAKAOWATCH_SELECT_H

#include <stddef.h>

#include "kakaowatch/util.h"

#define SELECT_MAX_LEN 8192
#define SELECT_MAX_DEPTH 8

/*
 * select_css_to_xpath translates the selector list `css` (NUL-terminated
 * UTF-8, borrowed) to an XPath 1.0 expression. Returns a heap string the
 * caller frees, or NULL with a message in `err` ("expected ']'",
 * "unknown pseudo-class ':hover'", "out of memory") and, when `err_at` is
 * not NULL, the 0-based position of the offending character in *err_at,
 * counted in Unicode code points (so a caller can add it to a column);
 * strlen-in-code-points when the selector ended too early. The message
 * does not repeat the selector or the position.
 */
char *select_css_to_xpath(const char *css, size_t *err_at, struct kw_err *err);

#endif
