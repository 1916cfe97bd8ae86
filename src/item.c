/* item: lists of extracted items (see item.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/item.h"

void
item_list_init(struct item_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

int
item_list_add_take(struct item_list *l, char *text, char *link)
{
	return item_list_add_full(l, text, link, NULL, NULL, NULL);
}

int
item_list_add_full(struct item_list *l, char *text, char *link, char *key,
    char *date, char *summary)
{
	struct item *v;
	size_t cap;

	if (text == NULL)
		goto fail;
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			goto fail;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].text = text;
	l->v[l->n].link = link;
	l->v[l->n].key = key;
	l->v[l->n].date = date;
	l->v[l->n].summary = summary;
	l->n++;
	return 0;
fail:
	free(text);
	free(link);
	free(key);
	free(date);
	free(summary);
	return -1;
}

int
item_list_add(struct item_list *l, const char *text, const char *link)
{
	char *t, *k = NULL;

	t = strdup(text);
	if (t == NULL)
		return -1;
	if (link != NULL) {
		k = strdup(link);
		if (k == NULL) {
			free(t);
			return -1;
		}
	}
	return item_list_add_take(l, t, k);
}

/* dup_or_null: a heap copy of s (NULL stays NULL); *bad on OOM */
static char *
dup_or_null(const char *s, bool *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*bad = true;
	return d;
}

int
item_list_add_copy(struct item_list *l, const struct item *it)
{
	bool bad = false;
	char *text, *link, *key, *date, *summary;

	text = dup_or_null(it->text, &bad);
	link = dup_or_null(it->link, &bad);
	key = dup_or_null(it->key, &bad);
	date = dup_or_null(it->date, &bad);
	summary = dup_or_null(it->summary, &bad);
	if (bad || text == NULL) {
		free(text);
		free(link);
		free(key);
		free(date);
		free(summary);
		return -1;
	}
	return item_list_add_full(l, text, link, key, date, summary);
}

void
item_list_release(struct item_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].text);
		free(l->v[i].link);
		free(l->v[i].key);
		free(l->v[i].date);
		free(l->v[i].summary);
	}
	free(l->v);
	item_list_init(l);
}

int
item_equal(const struct item *a, const struct item *b)
{
	if (strcmp(a->text, b->text) != 0)
		return 0;
	if (a->link == NULL || b->link == NULL)
		return a->link == b->link;
	return strcmp(a->link, b->link) == 0;
}

int
item_same(const struct item *a, const struct item *b)
{
	if (a->key != NULL && b->key != NULL)
		return strcmp(a->key, b->key) == 0;
	return item_equal(a, b);
}
