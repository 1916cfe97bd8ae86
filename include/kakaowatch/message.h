/*
 * message: a check's changes -> KakaoTalk template objects (docs/design.md
 * §3), as JSON text built with jansson (never by pasting strings), always
 * within Kakao's limits (docs/kakao.md §5), whatever the input.
 *
 * Which template (the texts below are the default templates'; a watch's
 * message: templates change them, see "Message templates" further down):
 *   - 2 or 3 items: one list template (object_type "list", docs/kakao.md
 *     §5.3: contents needs 2 to 3 entries).
 *       header_title  "NAME: N new" / "NAME: N removed" (N = every item of
 *                     this check, not just this message's),
 *       header_link   the watched page,
 *       contents      [{title: item text, [description,] [image_url: the
 *                     item's picture,] link: item link or the page}],
 *       buttons       [{title: "페이지 열기", link: the page}].
 *   - 1 item with a picture (an `image` value message_url_ok accepts): a
 *     feed template (object_type "feed", §5.2): content {title: item
 *     text, description: "NAME: 1 new"[ + "\n" + description], image_url,
 *     link: item link or the page}, button_title "열기".
 *   - 1 item without one: a text template (object_type "text", §5.1), the
 *     simplest template, fully supported by the memo API (it is the
 *     official curl sample, §4). text = "NAME: 1 new\nITEM TEXT"[ + "\n" +
 *     description], link = item link or the page, button_title "열기".
 *   - more than 3 items: lists of 3, never a list of 1 (see message_plan),
 *     at most max_messages messages. When items are left over, the LAST
 *     message's header says so ("NAME: 50 new (+41 more)") and its button
 *     is "전체 보기", opening the page.
 *
 * Limits. Kakao's lengths are "characters"; its SDKs and servers are
 * Java/Kotlin/JS/Dart, whose string length counts UTF-16 code units, so
 * message counts characters that way (a 4-byte emoji counts 2, everything
 * else 1). That is never more than the code point count, so it is within the
 * limit under either reading.
 *   text          200  (§5.1, S7b/S12a)
 *   header_title  200  (§5.3, S12b)
 *   content title  80  Kakao shows 2 lines and ellipsises itself (§5.7,
 *                      S20); 80 is more than 2 phone lines and keeps the
 *                      template small. The same for a list content's
 *                      description (MESSAGE_DESCRIPTION_MAX); a feed's
 *                      description, header included, 200.
 *   button title   14  no documented limit (UNCONFIRMED, §5.7); a button is
 *                      one line, ours are 2 to 6 Hangul long, and a
 *                      user-given title (`send --button`) is cut to 14.
 *   text-template header line 80 (so the item still shows after a long name)
 * Every cut goes through message_cut: on a grapheme cluster boundary, never
 * inside a Hangul syllable or a Thai, Indic or emoji cluster, "…" (U+2026)
 * when cut.
 * A watch name is cut before its ": N new" suffix, so the count always shows.
 * Single-line fields (titles, names, item text) have control characters and
 * runs of white space turned into one space and are trimmed; a text
 * template's text keeps its line breaks (CR LF and CR become LF).
 * An item with empty text is shown by its link, else as "(텍스트 없음)".
 *
 * Links (§5.7 Link): only an absolute http:// or https:// URL with a host,
 * at most MESSAGE_URL_MAX bytes, valid UTF-8, without spaces or control
 * characters (message_url_ok) goes into web_url and mobile_web_url, both
 * set to the same URL. Anything else (relative, javascript:, too long) falls
 * back to the page URL; URLs are never cut or rewritten. If the page URL is
 * not acceptable either, the link is MESSAGE_FALLBACK_LINK: a link object
 * is never empty, since Kakao requires at least one of its fields
 * (docs/kakao.md §5.7, S12c) and answers -2 otherwise.
 * Remember that Kakao opens only web links whose domain is registered in
 * the app's console ([제품 링크 관리] > [웹 도메인], docs/kakao.md §0, §8.7).
 *
 * Input: any NUL-terminated bytes (invalid UTF-8 becomes U+FFFD). Output:
 * valid UTF-8 JSON, compact, keys in a fixed order.
 */
#ifndef KAKAOWATCH_MESSAGE_H
#define KAKAOWATCH_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

#define MESSAGE_TEXT_MAX 200       /* text template's text, kakao.md §5.1 */
#define MESSAGE_HEADER_MAX 200     /* list header_title, kakao.md §5.3 */
#define MESSAGE_TITLE_MAX 80       /* list content title, our choice */
#define MESSAGE_BUTTON_MAX 14      /* button title, our choice */
#define MESSAGE_TEXT_HEADER_MAX 80 /* "NAME: 1 new" line of a text template */
/* the link of last resort (no usable page URL, `send` without --link and
 * without kakao.default_link): the Kakao Developers console, where the
 * app's web domains are registered */
#define MESSAGE_FALLBACK_LINK "https://developers.kakao.com/console/app"
#define MESSAGE_URL_MAX 2000 /* bytes; longer links use the page */
#define MESSAGE_LIST_MAX 3   /* contents per list, kakao.md §5.3 */

/*
 * The header says "NAME: N new", "NAME: N removed" or, for items whose text
 * was edited (shown with the new text), "NAME: N edited".
 */
enum message_kind { MESSAGE_ADDED, MESSAGE_REMOVED, MESSAGE_CHANGED };

/*
 * message_plan splits `nitems` changed items into messages (pure; no
 * allocation). max_messages < 1 counts as 1.
 *   - 0 items: *nchunks = 0, *more = 0.
 *   - 1 item: one chunk of 1 (sent as a text template).
 *   - 2 or more: up to 3 * max_messages items are shown, in chunks of 3;
 *     when the shown count leaves a remainder of 1 the last two chunks are
 *     2 + 2 instead of 3 + 1 (a list needs 2 contents): 4 -> 2+2,
 *     5 -> 3+2, 7 -> 3+2+2, 10 -> 3+3+2+2. Items beyond 3 * max_messages
 *     are not shown; their count goes to *more (50 items, max 3 -> 3+3+3,
 *     more 41).
 * Chunks are in item order: chunk i holds the chunk_sizes[i] items after
 * those of chunks 0..i-1. `chunk_sizes` must have room for
 * min(max_messages, nitems) entries (at least 1).
 */
void message_plan(size_t nitems, int max_messages, size_t *chunk_sizes,
    size_t *nchunks, size_t *more);

/*
 * message_build_text builds a text template (docs/kakao.md §5.1) for `send`
 * and notices ("watch is failing", "recovered"): text (line breaks kept, cut
 * to MESSAGE_TEXT_MAX), link = link_url when message_url_ok, else
 * MESSAGE_FALLBACK_LINK (never an empty link object), button_title cut to
 * MESSAGE_BUTTON_MAX (NULL or
 * empty: omitted, Kakao shows its default "자세히 보기").
 * Returns the JSON text (heap, caller frees), or NULL with a message in
 * `err` when `text` is NULL or empty after cleaning, or on out-of-memory.
 */
char *message_build_text(const char *text, const char *link_url,
    const char *button_title, struct kw_err *err);

/*
 * message_build_minimal: the plainest form of `template_json` (any JSON
 * text, maybe not ours), for a second try after Kakao answered -2
 * (invalid template): a text template with the template's text, header
 * title or first content title (cut like message_build_text; a fixed
 * sentence when it has none), linking to its first acceptable web_url,
 * else `fallback_link` when message_url_ok, else MESSAGE_FALLBACK_LINK.
 * Returns heap JSON text (caller frees), or NULL with `err` on OOM.
 */
char *message_build_minimal(const char *template_json,
    const char *fallback_link, struct kw_err *err);

/* one held message for message_build_digest (all borrowed) */
struct message_digest_part {
	const char *watch;         /* the watch that queued it */
	const char *page_url;      /* that watch's page, or NULL */
	bool own;                  /* the daemon's own (notice, reminder,
	                              daily-limit digest): not a watch's */
	const char *template_json; /* the template object as queued */
};

/*
 * message_build_digest folds n >= 2 held messages (in outbox order) into
 * ONE list template, the quiet-hours digest (docs/design.md §2.8). Each
 * message is read back into items: a text template's text (without a
 * watch's "NAME: 1 new" first line), each content of a list, a feed's
 * content. Items are grouped by watch (own messages form one group,
 * "kakaowatch"), in order of first appearance.
 *   header_title  "Quiet hours LABEL: N items from NAME" (one source) or
 *                 "... from K sources" (label, e.g. "23:00-07:00", may
 *                 be NULL), cut to MESSAGE_HEADER_MAX
 *   contents      up to 3 items: one content each ("NAME: title", its
 *                 link, image_url and description: a list content's, a
 *                 feed's after its header line, cut to
 *                 MESSAGE_DESCRIPTION_MAX); one source with more: its
 *                 first two items so and "+N more: t3 · t4 · ..."; 2 or
 *                 3 sources:
 *                 one content per source "NAME (N): t1 · t2 · ..."
 *                 linking to the item (one) or the watch's page; more
 *                 sources: the first two and "+K more sources: c (2),
 *                 d (1)". Titles cut to MESSAGE_TITLE_MAX.
 *   header_link, one button "열기": the first source's page (else its
 *                 first item's link, else MESSAGE_FALLBACK_LINK).
 * Every item is counted in the header; the contents name as many as fit.
 * Returns heap JSON (caller frees), or NULL with `err` (n < 2, OOM).
 */
char *message_build_digest(const char *label,
    const struct message_digest_part *v, size_t n, struct kw_err *err);

/*
 * Message templates (a watch's `message:`, docs/configuration.md): text
 * with placeholders in braces, filled in for each message.
 *   {name}    the watch's name            {count}  the items of this kind
 *   {change}  new, removed or edited                in this check
 *   {title}   the item's text             {link}   the item's link
 *   {date}, {summary}, {author}, {image} (a feed entry's), and the names
 *   of the watch's fields: the item's value of that name
 *   (message_item_value)
 * `{{` and `}}` stand for `{` and `}`. A value the item does not have is
 * "" (never an error at send time). The filled-in text is cleaned (one
 * line) and cut to Kakao's limits like any other text here (message_cut).
 * A title that comes out empty falls back to the item's link, then to
 * "(텍스트 없음)"; an empty description is left out of the message.
 * The header is the list header and the first line of a one-item
 * message; it knows only {name}, {count} and {change}. When it is too
 * long, the name is cut first (as the built-in header always did), then
 * the rest; " (+M more)" is appended after it when items were left out,
 * never cut.
 */
#define MESSAGE_DEFAULT_TITLE "{title}"
#define MESSAGE_DEFAULT_HEADER "{name}: {count} {change}"
#define MESSAGE_DESCRIPTION_MAX 80      /* content description, our choice */
#define MESSAGE_PLACEHOLDER_MAX 64      /* bytes of a placeholder's name */
#define MESSAGE_FIELDS_ANY ((size_t)-1) /* message_template_check: any name */

/* The parts of `message:`. */
enum message_part {
	MESSAGE_PART_TITLE,
	MESSAGE_PART_DESCRIPTION,
	MESSAGE_PART_HEADER
};

/* A watch's templates; every pointer is borrowed and may be NULL. */
struct message_format {
	const char *title;       /* NULL: MESSAGE_DEFAULT_TITLE */
	const char *description; /* NULL or "": no description */
	const char *header;      /* NULL: MESSAGE_DEFAULT_HEADER */
};

/*
 * message_template_check checks template `tmpl` for part `part`: braces
 * balanced (`{{`, `}}` escaped), each placeholder 1 to
 * MESSAGE_PLACEHOLDER_MAX bytes without a brace, and a name the part
 * knows: {name}, {count}, {change} everywhere; in title and description
 * also title, link, date, summary, author, image (a feed entry's) and the
 * names fields[0..nfields) (a
 * watch's fields:; borrowed, may be NULL when nfields is 0; nfields ==
 * MESSAGE_FIELDS_ANY: any name, for a jq watch whose objects' keys are
 * its fields and cannot be known before it runs). Returns 0, or
 * -1 with a message in `err` and in *at (may be NULL) the offset, in code
 * points from the start of `tmpl`, of the character at fault.
 */
int message_template_check(const char *tmpl, enum message_part part,
    const char *const *fields, size_t nfields, size_t *at, struct kw_err *err);

/*
 * message_value_fn: the value of placeholder `name` (NUL-terminated) for
 * one message, or NULL when there is none (filled in as ""). The returned
 * string is borrowed until the next call.
 */
typedef const char *(*message_value_fn)(void *ctx, const char *name);

/*
 * message_template_expand fills in `tmpl` (NULL counts as ""), asking
 * `value` (with `ctx`) for each placeholder; `{{` and `}}` give one
 * brace. A template message_template_check refuses is filled in all the
 * same: a lone brace is kept as it is, a placeholder without its closing
 * brace is kept as text. No cleaning or cutting. Returns a heap string
 * (caller frees), or NULL on out-of-memory.
 */
char *message_template_expand(const char *tmpl, message_value_fn value,
    void *ctx);

/*
 * message_item_value: item `it`'s value named `name`, as item_get reads
 * it: "title" is its text, "link" its link, any other name its field of
 * that name (a feed's date and summary, a watch's fields:). NULL when the
 * item has none (or `it` or `name` is NULL). Borrowed from `it`.
 */
const char *message_item_value(const struct item *it, const char *name);

/*
 * message_build_format builds the messages for one check's changes with
 * the templates of `fmt` (NULL: every part its default, which gives the
 * messages the top of this file describes). A template with a
 * `{title}`-like placeholder in the header gets "" for it.
 * watch_name: the watch's name (header). page_url: the watched page
 * (header link, button, fallback for item links). kind: added, removed or
 * changed (the header's word). items: the changed items, already filtered
 * (NULL counts as empty); shown in their order. max_messages: at most this
 * many messages (< 1 counts as 1), split by message_plan.
 * On success *out is a heap array of *nout heap strings, each one
 * template_object JSON text ready to be form-encoded; the caller frees them
 * with message_list_free. Zero items: *out = NULL, *nout = 0.
 * All arguments are borrowed. Returns 0, or -1 with a message in `err` on
 * out-of-memory only (*out = NULL, *nout = 0).
 */
int message_build_format(const struct message_format *fmt,
    const char *watch_name, const char *page_url, enum message_kind kind,
    const struct item_list *items, int max_messages, char ***out, size_t *nout,
    struct kw_err *err);

/* message_list_free frees `n` strings of `v` and `v` (NULL is a no-op). */
void message_list_free(char **v, size_t n);

/*
 * message_cut returns a heap copy of `s` (caller frees; NULL only on
 * out-of-memory; NULL s counts as "") with invalid UTF-8 replaced by U+FFFD
 * (one per maximal ill-formed subpart, Unicode 15 §3.9), cut to at most
 * `max_chars` characters counted as message_count_chars does. When cut,
 * the kept part ends on a grapheme cluster boundary (utf8_grapheme_breaks,
 * UAX #29: never inside a Hangul syllable, precomposed or conjoining jamo
 * L+V+T, nor before a combining mark, a spacing mark such as Thai SARA AM
 * or a Bengali or Tamil vowel sign, a virama, a variation selector, a ZWJ
 * sequence member, a skin tone modifier or the second of a
 * regional-indicator pair), trailing spaces are dropped and "…"
 * (U+2026, 1 character) is appended, so the result has at most max_chars
 * characters. A single cluster longer than the room is cut at a code point
 * boundary instead. max_chars == 0 gives "". Control characters are kept.
 */
char *message_cut(const char *s, size_t max_chars);

/*
 * message_count_chars counts the characters of UTF-8 `s` the way Kakao's
 * limits are counted here: UTF-16 code units (U+10000 and above count 2,
 * other code points 1, each invalid byte sequence 1, as its U+FFFD).
 */
size_t message_count_chars(const char *s);

/*
 * message_url_ok returns true when `url` may go into a Link object: a URL
 * http_url_check accepts (http or https, a host, no space, control
 * character or backslash, a valid port: http.h), at most MESSAGE_URL_MAX
 * bytes, valid UTF-8. cmd_send uses it to refuse a bad --link instead of
 * sending a dead link.
 */
bool message_url_ok(const char *url);

#endif
