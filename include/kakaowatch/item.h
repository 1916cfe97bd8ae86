/*
 * item: one XPath match of a watched page (docs/design.md §2.3) with its
 * fields, and lists of them. Shared by extract (makes items), diff (compares them), store (keeps
 * them) and message (sends them).
 */
#ifndef KAKAOWATCH_ITEM_H
#define KAKAOWATCH_ITEM_H

#include <stdbool.h>
#include <stddef.h>

/*
 * struct item_field: one named value of an item besides its text and link
 * (docs/configuration.md §Fields). `name` follows the field-name rule
 * (item_field_name_valid) and `value` is UTF-8 text of 1 to
 * ITEM_FIELD_MAX bytes: a field whose value came out empty is not set
 * (absent and empty read the same, "missing", to `when:` and templates).
 * Both strings are owned by the item and never NULL.
 */
struct item_field {
	char *name;
	char *value;
};

/*
 * struct item: one extracted item. Every string is owned by the item (and
 * so by the item_list holding it); item_release frees them all.
 * The fields are what a watch's `fields:` extracted for it plus, for feed
 * entries, the built-in `date`, `summary`, `author` and `image` the entry
 * has: `fields[0..nfields)`, distinct names, in the order they were set
 * (the order of `fields:` after the built-ins), NULL when nfields is 0.
 * Set them with item_field_set_take, read them with item_get / item_field.
 * A field named `image` holds an absolute URL (resolved like `link`).
 */
struct item {
	char *text; /* normalised UTF-8 text, never NULL; owned */
	char *link; /* absolute URL, or NULL when the match has none; owned */
	/* identity: the source's own (a feed's guid/id, a jq key) as
	   extracted, then the key key_assign makes (key.h); NULL = none
	   yet (derive from text and link); owned */
	char *key;
	struct item_field *fields; /* owned, see above */
	size_t nfields;
};

/* bytes of a field value kept in an item (longer ones are cut at a UTF-8
 * character boundary; a longer `image` URL is dropped, not cut) */
#define ITEM_FIELD_MAX 1024
/* bytes of a field name */
#define ITEM_FIELD_NAME_MAX 32
/* fields one item holds at most (a watch's `fields:` plus the feed
 * built-ins) */
#define ITEM_FIELDS_MAX 40

/* bytes of a feed entry's `summary` field (cut at a UTF-8 boundary) */
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
 * string (text required; link and key may be NULL), with no fields (add
 * them to the new last item, l->v[l->n - 1], with item_field_set_take); all
 * are freed on failure too. Returns 0 or -1 (out of memory, text NULL).
 */
int item_list_add_full(struct item_list *l, char *text, char *link, char *key);

/*
 * item_list_add_copy appends a deep copy of `it` (text, link, key and
 * every field). Returns 0 or -1 on out-of-memory (the list is unchanged).
 */
int item_list_add_copy(struct item_list *l, const struct item *it);

/*
 * item_list_truncate releases the items l->v[n..l->n) and keeps the first
 * `n` (n >= l->n: no-op). For a reader that fails half-way.
 */
void item_list_truncate(struct item_list *l, size_t n);

/* item_release frees every string and field of `it` (not `it` itself) and
 * leaves it zeroed. */
void item_release(struct item *it);

/*
 * item_field_set_take sets field `name` of `it` to heap string `value`,
 * taking ownership of it (freed in every case when not kept): an existing
 * field of that name is replaced, an empty `value` (or NULL) removes it.
 * The value is cut to ITEM_FIELD_MAX bytes at a UTF-8 boundary, except
 * that an `image` value longer than that is not set (a cut URL is no
 * URL). `name` is copied and must pass item_field_name_valid. Returns 0,
 * or -1 on out-of-memory, a bad name, or when the item already has
 * ITEM_FIELDS_MAX other fields; the item is then unchanged.
 */
int item_field_set_take(struct item *it, const char *name, char *value);

/*
 * item_field_name_valid: `name` is a field name: an ASCII letter or `_`,
 * then letters, digits and `_`, 1 to ITEM_FIELD_NAME_MAX bytes, and not
 * `title` or `link` (an item's text and link) nor a word of the `when:`
 * grammar (`and`, `or`, `not`). Which names a watch may declare is the
 * config's rule on top of this (config.c: `name`, `count` and `key` are
 * reserved there too). Returns true when valid.
 */
bool item_field_name_valid(const char *name);

/* item_field: the value of field `name` of `it` (borrowed), or NULL when
 * the item has no such field. `title` and `link` are not fields here. */
const char *item_field(const struct item *it, const char *name);

/*
 * item_get: what a condition or template calls `name` on `it`: "title"
 * is the item's text, "link" its link (NULL when none), any other name
 * item_field. Borrowed, or NULL when missing.
 */
const char *item_get(const struct item *it, const char *name);

/* item_list_release frees every item and the array; the list is empty. */
void item_list_release(struct item_list *l);

/*
 * item_equal: text and link both equal (NULL link equals NULL link only);
 * neither the key nor the fields are compared (a price that moves is not
 * a new item). Returns 1 when equal, else 0.
 */
int item_equal(const struct item *a, const struct item *b);

/*
 * item_same: the identity of items: their keys when both have one (key.h),
 * else item_equal. Returns 1 when the same item, else 0.
 */
int item_same(const struct item *a, const struct item *b);

#endif
