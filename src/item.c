/* item: lists of extracted items (see item.h). */
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
	l->v[l->n].key = NULL;
	l->n++;
	return 0;
fail:
	free(text);
	free(link);
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

int
item_list_add_copy(struct item_list *l, const struct item *it)
{
	char *key = NULL;

	if (it->key != NULL) {
		key = strdup(it->key);
		if (key == NULL)
			return -1;
	}
	if (item_list_add(l, it->text, it->link) != 0) {
		free(key);
		return -1;
	}
	l->v[l->n - 1].key = key;
	return 0;
}

void
item_list_release(struct item_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].text);
		free(l->v[i].link);
		free(l->v[i].key);
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
