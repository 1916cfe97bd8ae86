/*
 * item: one XPath match of a watched page (docs/design.md §2.3), and lists of
 * them. Shared by extract (makes items), diff (compares them), store (keeps
 * them) and message (sends them).
 */
#ifndef KAKAOWATCH_ITEM_H
#define KAKAOWATCH_ITEM_H

#include <stddef.h>

struct item {
	char *text; /* normalised UTF-8 text, never NULL; owned */
	char *link; /* absolute URL, or NULL when the match has none; owned */
	/* identity: the source's own (a feed's guid/id, a jq key) as
	   extracted, then the key key_assign makes (key.h); NULL = none
	   yet (derive from text and link); owned */
	char *key;
	char *date; /* a feed entry's date as written (pubDate, dc:date,
	               updated/published), or NULL; owned; for messages */
	char *summary; /* a feed entry's summary as plain text (at most
	                  ITEM_SUMMARY_MAX bytes), or NULL; owned */
};

/* bytes of a summary kept in an item (cut at a UTF-8 boundary) */
#define ITEM_SUMMARY_MAX 400

struct item_list {
	struct item *v;
	size_t n;
	size_t cap;
};

/* item_list_init prepares an empty list (no allocation). */
void item_list_init(struct item_list *l);

/*
 * item_list_add appends copies of `text` (required) and `link` (may be
 * NULL). Returns 0, or -1 on out-of-memory (the list is unchanged).
 */
int item_list_add(struct item_list *l, const char *text, const char *link);

/*
 * item_list_add_take appends, taking ownership of heap strings `text` and
 * `link` (freed on failure too). Returns 0 or -1.
 */
int item_list_add_take(struct item_list *l, char *text, char *link);

/*
 * item_list_add_full appends one item taking ownership of every heap
 * string (text required; link, key, date, summary may be NULL); all are
 * freed on failure too. Returns 0 or -1 (out of memory, text NULL).
 */
int item_list_add_full(struct item_list *l, char *text, char *link,
    char *key, char *date, char *summary);

/*
 * item_list_add_copy appends a copy of `it` (text, link, key, date and
 * summary). Returns 0 or -1 on out-of-memory (the list is unchanged).
 */
int item_list_add_copy(struct item_list *l, const struct item *it);

/* item_list_release frees every item and the array; the list is empty. */
void item_list_release(struct item_list *l);

/*
 * item_equal: text and link both equal (NULL link equals NULL link only);
 * the key is not compared. Returns 1 when equal, else 0.
 */
int item_equal(const struct item *a, const struct item *b);

/*
 * item_same: the identity of items: their keys when both have one (key.h),
 * else item_equal. Returns 1 when the same item, else 0.
 */
int item_same(const struct item *a, const struct item *b);

#endif
