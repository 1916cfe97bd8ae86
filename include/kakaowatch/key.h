/*
 * key: the identity of an item (struct item's `key`), so that an item is
 * the same item when its position, its comment count or the page's paging
 * parameters change. Pure: no I/O, no clock, no global state.
 *
 * A watch says how its items are keyed (config `key:` and `key_pattern:`):
 *   link       the item's link, normalised (key_link_normalise)
 *   text       the item's text as extracted
 *   text+link  both (the identity of kakaowatch 0.1)
 *   auto       (the default) `link` when the page's items have distinct
 *              links, else `text+link`; decided on each page (key_assign),
 *              so a page whose links are all `javascript:` or `#` keys by
 *              text+link
 * A link is usable for identity when the item has one (script links have
 * none, see extract.h) and it is not the page itself (`#`, `#top`,
 * `?page=1` back to the list); in link mode an item without a usable link
 * is keyed by text+link. Distinct: no two items whose texts differ share a
 * normalised usable link; texts that differ only in a trailing comment
 * count (diff_text_edited) are the same post shown twice, as boards do
 * with a post that is pinned and in the list, or in a list and a
 * thumbnail view.
 *
 * key_pattern (a regex, see regex.h) is tried first on the item's link as
 * extracted (absolute, before normalisation): the first of its capture
 * groups that took part in the match is the key ("re:" + group), e.g.
 * `[?&]wr_id=(\d+)`, `/read/(\d+)` or `document_srl=(\d+)|/(\d+)$`. An item
 * whose link does not match (or has no link) is keyed by the mode, with
 * `link` falling back to `text+link` for an item without a usable link.
 *
 * Items that come with their own identity (a feed entry's guid or id, a
 * jq program's key: item.key as extracted) are keyed by it under `auto`
 * ("id:" + that key), after key_pattern and before the link; an explicit
 * `key:` mode ignores it.
 *
 * Keys are printable: "link:URL", "text:TEXT", "text+link:TEXT" + KEY_SEP
 * + URL (empty without a link), "re:GROUP", "id:SOURCE-KEY". KEY_SEP
 * (U+001F) never occurs in extracted text (controls are removed).
 */
#ifndef KAKAOWATCH_KEY_H
#define KAKAOWATCH_KEY_H

#include <stddef.h>

#include "kakaowatch/item.h"
#include "kakaowatch/regex.h"
#include "kakaowatch/util.h"

#define KEY_SEP "\x1f"
#define KEY_SOURCE_PREFIX "id:"

enum key_mode { KEY_AUTO, KEY_LINK, KEY_TEXT, KEY_TEXT_LINK };

/*
 * key_mode_parse maps "auto", "link", "text", "text+link" (exact, lower
 * case) to *out. Returns 0, or -1 for anything else.
 */
int key_mode_parse(const char *s, enum key_mode *out);

/* key_mode_name returns the config spelling of `mode` (static string) */
const char *key_mode_name(enum key_mode mode);

/*
 * key_link_normalise returns the identity form of URL `link` (heap; caller
 * frees), or NULL on out-of-memory. For http(s) URLs: scheme and host in
 * lower case, the default port removed, an empty path is "/", percent
 * escapes in upper case, the fragment dropped, and in the query the
 * parameters that describe the list view rather than the post are removed
 * (key_param_ignored) and the rest sorted by name (stable: repeated names
 * keep their order); "?" alone is dropped. Other URLs lose their fragment
 * only. Never fails on odd input: what it cannot parse it keeps as it is.
 */
char *key_link_normalise(const char *link);

/*
 * key_param_ignored: 1 when the query parameter `name` (`len` bytes, not
 * NUL-terminated; compared case-insensitively) is one key_link_normalise
 * removes, else 0. The list, from the paging, sorting, search and view
 * parameters of real Korean boards (gnuboard, XE/Rhymix, zeroboard, and
 * the saved boards in tests) and common tracking parameters:
 *   paging  page divpage pg po cpage
 *   sort    sst sod sop sort sort_index order_type orderby order od srt
 *   search  sca sfl stx spt s_cate s_key s_select keyword search_keyword
 *           search_target search_type search_key search_select
 *           search_input select query subselect subquery stype
 *   view    view listStyle
 *   track   utm_* fbclid gclid
 * A board that pages or sorts with another name (or whose post id is in
 * one of these) needs key_pattern.
 */
int key_param_ignored(const char *name, size_t len);

/*
 * The key settings of a watch. `pattern` is borrowed (compiled by the
 * caller, NULL = none); its first capture group is the key.
 */
struct key_spec {
	enum key_mode mode;
	struct regex *pattern;
};

/*
 * key_assign sets the key of every item of `items` per `spec`, replacing
 * the key each had (taken as the source's identity, see above); `page_url` (borrowed, may be NULL) is the page the items come
 * from, to tell a link to the page itself. For KEY_AUTO it decides link or
 * text+link for this page and sets *resolved (may be NULL) to KEY_LINK or
 * KEY_TEXT_LINK; for other modes *resolved = spec->mode. Returns 0, or -1
 * with `err` (out of memory, or the pattern's match limit: see regex.h).
 * Items keep their other fields.
 */
int key_assign(struct item_list *items, const struct key_spec *spec,
    const char *page_url, enum key_mode *resolved, struct kw_err *err);

/*
 * key_compute returns the key (heap; caller frees) of one item with text
 * `text` and link `link` (may be NULL), keyed by `resolved` (not KEY_AUTO:
 * it is taken as KEY_LINK) and `pattern` (may be NULL). NULL with `err` on
 * failure. The same item gives the same key as key_assign with that mode.
 */
char *key_compute(const char *text, const char *link, enum key_mode resolved,
    struct regex *pattern, const char *page_url, struct kw_err *err);

/*
 * key_recompute remakes the key of a remembered item (a snapshot row or a
 * seen entry: text, link and the key it was stored with, NULL for 0.1's)
 * after the key settings changed: a source key ("id:...") stays under
 * `auto`, anything else is key_compute(text, link, resolved, pattern).
 * Returns the key (heap; caller frees) or NULL with `err`.
 */
char *key_recompute(const char *text, const char *link, const char *stored,
    const struct key_spec *spec, enum key_mode resolved, const char *page_url,
    struct kw_err *err);

/*
 * key_spec_string returns a description of how keys are made (heap; caller
 * frees; NULL on out-of-memory), stored with the seen keys so that a
 * change of key settings re-keys them: "link", "text", "text+link", plus
 * " re:" + pattern when there is one.
 */
char *key_spec_string(enum key_mode resolved, const struct regex *pattern);

/*
 * key_display writes `key` into `out` (`size` bytes, always terminated;
 * cut when longer) with KEY_SEP shown as " @ ", for `kakaowatch test`.
 */
void key_display(const char *key, char *out, size_t size);

#endif
