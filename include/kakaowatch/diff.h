/*
 * diff: pure functions over item lists (docs/design.md §2.4). No I/O, no
 * clock, no global state; safe on any input, including invalid UTF-8.
 *
 * Identity of an item is its key (item_same in item.h: struct item's key,
 * see key.h; text + link for items without one; the lists compared must be
 * keyed alike): order changes are not changes, and an item that appears
 * twice in one list counts once (its first occurrence).
 *
 * Keyword matching is a case-insensitive substring test on UTF-8 text:
 * both sides are put in utf8_casefold_nfkc form (utf8.h: Unicode NFKC with
 * full case folding, default ignorables removed, invalid bytes as U+FFFD)
 * and compared with utf8_contains_folded. So "RELEASE" matches "release",
 * fullwidth "ＲＥＬＥＡＳＥ" and "STRASSE" match "release" and "Straße",
 * "café" matches "cafe" + U+0301 (and the other way), and "보안" written
 * with conjoining jamo (NFD) matches precomposed "보안". Accents are not
 * removed ("resume" does not match "résumé"), and a Hangul syllable does
 * not match inside a longer one ("보" is not in "복").
 */
#ifndef KAKAOWATCH_DIFF_H
#define KAKAOWATCH_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/item.h"

/*
 * diff_changes compares a check's items `cur` with what the watch has seen
 * (the memory, see store.h): `seen` holds, for the keys of `cur` that were
 * seen before, one item each with that key and the text last seen (other
 * entries are ignored), and `old` is the previous snapshot. Every list
 * may be NULL (empty); all are keyed (key_assign).
 *   added:   items of `cur` whose key is not in `seen`, in `cur` order;
 *   changed: items of `cur` whose key is in `seen` with a text that
 *            diff_text_edited calls an edit (the new text is given);
 *   removed: items of `old` whose key is not in `cur`, in `old` order.
 * Each key at most once per list (its first occurrence). O(n) expected
 * time with hash sets (10,000 items are fine). The three lists are
 * initialised here (pass fresh or released lists; old contents are not
 * freed) and released by the caller with item_list_release. Returns 0, or
 * -1 on out-of-memory (all empty).
 */
int diff_changes(const struct item_list *old, const struct item_list *cur,
    const struct item_list *seen, struct item_list *added,
    struct item_list *changed, struct item_list *removed);

/*
 * diff_text_edited tells whether an item's text `after` is an edit of
 * `before`: they differ other than in a trailing counter of digits in
 * brackets or parentheses (the comment count that boards put into the
 * title link: "특가 [3]" -> "특가 [4]", "(12)" -> "(13)", "[+5]", with the
 * blanks before it) or a counter added or removed there. Bytewise
 * otherwise. NULL equals NULL only.
 */
bool diff_text_edited(const char *before, const char *after);

/*
 * diff_text_matches returns true when `text` contains any of the `n` words
 * `words`, case-insensitively as described above. Empty and NULL words
 * never match; a NULL text or n == 0 gives false. On out-of-memory it
 * falls back to an exact (case-sensitive) byte comparison.
 */
bool diff_text_matches(const char *text, const char *const *words, size_t n);

/*
 * diff_filter copies into `out` the items of `in` (NULL = empty) whose text
 * matches at least one of `keywords` (every item when nkeywords == 0) and
 * none of `exclude`, in order. Only the text is matched, not the link.
 * `out` is initialised here (pass a fresh or released list); the caller
 * releases it. Returns 0, or -1 on out-of-memory (`out` is then empty).
 */
int diff_filter(const struct item_list *in, const char *const *keywords,
    size_t nkeywords, const char *const *exclude, size_t nexclude,
    struct item_list *out);

#endif
