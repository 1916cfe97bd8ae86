/*
 * diff: set difference of item lists and case-insensitive keyword filters
 * (see diff.h). Pure: no I/O, no clock, no global state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/diff.h"
#include "kakaowatch/utf8.h"

/*
 * fold_text: the matching form of `s` (utf8_casefold_nfkc: NFKC, case
 * folded, invalid bytes as U+FFFD); heap, NULL on out-of-memory.
 */
static char *
fold_text(const char *s)
{
	return utf8_casefold_nfkc(s);
}

/* folded words: one array of heap strings; NULL entries never match */
struct folded_words {
	char **v;
	size_t n;
};

static void
folded_words_release(struct folded_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static int
folded_words_init(struct folded_words *w, const char *const *words, size_t n)
{
	size_t i;

	w->n = 0;
	w->v = NULL;
	if (n == 0)
		return 0;
	w->v = calloc(n, sizeof(*w->v));
	if (w->v == NULL)
		return -1;
	w->n = n;
	for (i = 0; i < n; i++) {
		if (words[i] == NULL || words[i][0] == '\0')
			continue;
		w->v[i] = fold_text(words[i]);
		if (w->v[i] == NULL) {
			folded_words_release(w);
			return -1;
		}
	}
	return 0;
}

static bool
folded_match(const char *folded_text, const struct folded_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (utf8_contains_folded(folded_text, w->v[i]))
			return true;
	return false;
}

static bool
raw_match(const char *text, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (words[i] != NULL && words[i][0] != '\0' &&
		    strstr(text, words[i]) != NULL)
			return true;
	return false;
}

bool
diff_text_matches(const char *text, const char *const *words, size_t n)
{
	struct folded_words w;
	char *folded;
	bool result;

	if (text == NULL || words == NULL || n == 0)
		return false;
	if (folded_words_init(&w, words, n) != 0)
		return raw_match(text, words, n);
	folded = fold_text(text);
	if (folded == NULL)
		result = raw_match(text, words, n);
	else
		result = folded_match(folded, &w);
	free(folded);
	folded_words_release(&w);
	return result;
}

int
diff_filter(const struct item_list *in, const char *const *keywords,
    size_t nkeywords, const char *const *exclude, size_t nexclude,
    struct item_list *out)
{
	struct folded_words kw = { NULL, 0 }, ex = { NULL, 0 };
	char *folded = NULL;
	size_t i;
	int result = -1;

	item_list_init(out);
	if (keywords == NULL)
		nkeywords = 0;
	if (exclude == NULL)
		nexclude = 0;
	if (folded_words_init(&kw, keywords, nkeywords) != 0 ||
	    folded_words_init(&ex, exclude, nexclude) != 0)
		goto fail;
	for (i = 0; in != NULL && i < in->n; i++) {
		if (nkeywords > 0 || nexclude > 0) {
			free(folded);
			folded = fold_text(in->v[i].text);
			if (folded == NULL)
				goto fail;
			if (nkeywords > 0 && !folded_match(folded, &kw))
				continue;
			if (folded_match(folded, &ex))
				continue;
		}
		if (item_list_add_copy(out, &in->v[i]) != 0)
			goto fail;
	}
	result = 0;
	goto out;
fail:
	item_list_release(out);
out:
	free(folded);
	folded_words_release(&kw);
	folded_words_release(&ex);
	return result;
}

/*
 * A hash set of indexes into one item list, keyed by item identity (text +
 * link). Open addressing with linear probing; slots hold index + 1, 0 is
 * empty. Lookups return the index of the first equal item inserted.
 */
struct item_set {
	const struct item_list *list;
	size_t *slots;
	size_t mask;
};

static uint64_t
hash_bytes(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	/* FNV-1a, 64 bit */
	for (; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
hash_item(const struct item *it)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (it->key != NULL) {
		h = hash_bytes(h, it->key);
		goto mix;
	}
	h = hash_bytes(h, it->text);
	/* separators keep ("ab", NULL), ("a", "b") and ("ab", "") apart */
	h ^= it->link == NULL ? 0x1ff : 0x2ff;
	h *= 0x100000001b3ULL;
	if (it->link != NULL)
		h = hash_bytes(h, it->link);
mix:
	/* final mix (splitmix64) so the low bits used for the index vary */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static int
item_set_init(struct item_set *s, const struct item_list *list)
{
	size_t cap = 16;

	s->list = list;
	s->slots = NULL;
	s->mask = 0;
	if (list == NULL || list->n == 0)
		return 0;
	if (list->n > SIZE_MAX / 4 / sizeof(*s->slots))
		return -1;
	while (cap < list->n * 2)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (s->slots == NULL)
		return -1;
	s->mask = cap - 1;
	return 0;
}

static void
item_set_release(struct item_set *s)
{
	free(s->slots);
	s->slots = NULL;
}

/*
 * item_set_find returns the index of the first item equal to `it` that was
 * inserted, or SIZE_MAX. With `insert` set, an absent `it` (which must be
 * list->v[idx]) is inserted and idx returned.
 */
static size_t
item_set_find(const struct item_set *s, const struct item *it, bool insert,
    size_t idx)
{
	size_t pos;

	if (s->slots == NULL)
		return SIZE_MAX;
	pos = (size_t)hash_item(it) & s->mask;
	while (s->slots[pos] != 0) {
		if (item_same(&s->list->v[s->slots[pos] - 1], it))
			return s->slots[pos] - 1;
		pos = (pos + 1) & s->mask;
	}
	if (!insert)
		return SIZE_MAX;
	s->slots[pos] = idx + 1;
	return idx;
}

static void
item_set_fill(struct item_set *s)
{
	size_t i;

	for (i = 0; s->list != NULL && i < s->list->n; i++)
		item_set_find(s, &s->list->v[i], true, i);
}

/*
 * only_in appends to `out` each distinct item of a.list that is not in b
 * (first occurrences only, in order).
 */
static int
only_in(const struct item_set *a, const struct item_set *b,
    struct item_list *out)
{
	const struct item *it;
	size_t i;

	for (i = 0; a->list != NULL && i < a->list->n; i++) {
		it = &a->list->v[i];
		if (item_set_find(a, it, false, 0) != i)
			continue; /* a duplicate inside the list */
		if (item_set_find(b, it, false, 0) != SIZE_MAX)
			continue;
		if (item_list_add_copy(out, it) != 0)
			return -1;
	}
	return 0;
}

/* trailing_counter_start: where a trailing "[12]", "(12)", "[+3]" (with
 * the blanks before it) starts in s[0..n), or n when there is none */
static size_t
trailing_counter_start(const char *s, size_t n)
{
	size_t e = n, i;
	char open;

	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e < 3 || (s[e - 1] != ']' && s[e - 1] != ')'))
		return n;
	open = s[e - 1] == ']' ? '[' : '(';
	i = e - 1;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == e - 1)
		return n; /* no digits */
	if (i > 0 && s[i - 1] == '+')
		i--;
	if (i == 0 || s[i - 1] != open)
		return n;
	i--;
	while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	return i;
}

bool
diff_text_edited(const char *before, const char *after)
{
	size_t nb, na;

	if (before == NULL || after == NULL)
		return before != after;
	nb = strlen(before);
	na = strlen(after);
	nb = trailing_counter_start(before, nb);
	na = trailing_counter_start(after, na);
	return nb != na || memcmp(before, after, na) != 0;
}

int
diff_changes(const struct item_list *old, const struct item_list *cur,
    const struct item_list *seen, struct item_list *added,
    struct item_list *changed, struct item_list *removed)
{
	struct item_set sold, scur, sseen;
	const struct item *it;
	size_t i, j;
	int result = -1;

	item_list_init(added);
	item_list_init(changed);
	item_list_init(removed);
	if (item_set_init(&sold, old) != 0)
		return -1;
	if (item_set_init(&scur, cur) != 0) {
		item_set_release(&sold);
		return -1;
	}
	if (item_set_init(&sseen, seen) != 0) {
		item_set_release(&sold);
		item_set_release(&scur);
		return -1;
	}
	item_set_fill(&sold);
	item_set_fill(&scur);
	item_set_fill(&sseen);
	for (i = 0; cur != NULL && i < cur->n; i++) {
		it = &cur->v[i];
		if (item_set_find(&scur, it, false, 0) != i)
			continue; /* a duplicate inside the page */
		j = item_set_find(&sseen, it, false, 0);
		if (j == SIZE_MAX) {
			if (item_list_add_copy(added, it) != 0)
				goto fail;
		} else if (diff_text_edited(seen->v[j].text, it->text)) {
			if (item_list_add_copy(changed, it) != 0)
				goto fail;
		}
	}
	if (only_in(&sold, &scur, removed) != 0)
		goto fail;
	result = 0;
	goto out;
fail:
	item_list_release(added);
	item_list_release(changed);
	item_list_release(removed);
out:
	item_set_release(&sold);
	item_set_release(&scur);
	item_set_release(&sseen);
	return result;
}
