/* item: items, their fields, and lists of them (see item.h). */
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
	return item_list_add_full(l, text, link, NULL);
}

int
item_list_add_full(struct item_list *l, char *text, char *link, char *key)
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
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	l->v[l->n].text = text;
	l->v[l->n].link = link;
	l->v[l->n].key = key;
	l->n++;
	return 0;
fail:
	free(text);
	free(link);
	free(key);
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

/* copies the fields of `from` into `to` (which has none): 0 or -1 */
static int
fields_copy(struct item *to, const struct item *from)
{
	size_t i;

	if (from->nfields == 0)
		return 0;
	to->fields = calloc(from->nfields, sizeof(*to->fields));
	if (to->fields == NULL)
		return -1;
	for (i = 0; i < from->nfields; i++) {
		to->fields[i].name = strdup(from->fields[i].name);
		to->fields[i].value = strdup(from->fields[i].value);
		to->nfields++;
		if (to->fields[i].name == NULL || to->fields[i].value == NULL)
			return -1;
	}
	return 0;
}

int
item_list_add_copy(struct item_list *l, const struct item *it)
{
	bool bad = false;
	char *text, *link, *key;
	struct item tmp;

	text = dup_or_null(it->text, &bad);
	link = dup_or_null(it->link, &bad);
	key = dup_or_null(it->key, &bad);
	memset(&tmp, 0, sizeof(tmp));
	if (bad || text == NULL || fields_copy(&tmp, it) != 0) {
		free(text);
		free(link);
		free(key);
		item_release(&tmp);
		return -1;
	}
	if (item_list_add_full(l, text, link, key) != 0) {
		item_release(&tmp);
		return -1;
	}
	l->v[l->n - 1].fields = tmp.fields;
	l->v[l->n - 1].nfields = tmp.nfields;
	return 0;
}

void
item_release(struct item *it)
{
	size_t i;

	free(it->text);
	free(it->link);
	free(it->key);
	for (i = 0; i < it->nfields; i++) {
		free(it->fields[i].name);
		free(it->fields[i].value);
	}
	free(it->fields);
	memset(it, 0, sizeof(*it));
}

void
item_list_truncate(struct item_list *l, size_t n)
{
	while (l->n > n)
		item_release(&l->v[--l->n]);
}

void
item_list_release(struct item_list *l)
{
	item_list_truncate(l, 0);
	free(l->v);
	item_list_init(l);
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool
item_field_name_valid(const char *name)
{
	static const char *const taken[] = { "title", "link", "and", "or",
		"not" };
	size_t i, n;

	if (name == NULL || !is_alpha(name[0]))
		return false;
	for (n = 1; name[n] != '\0'; n++)
		if (!is_alpha(name[n]) && !(name[n] >= '0' && name[n] <= '9'))
			return false;
	if (n > ITEM_FIELD_NAME_MAX)
		return false;
	for (i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		if (strcmp(name, taken[i]) == 0)
			return false;
	return true;
}

/* the index of field `name` in `it`, or it->nfields */
static size_t
field_index(const struct item *it, const char *name)
{
	size_t i;

	for (i = 0; i < it->nfields; i++)
		if (strcmp(it->fields[i].name, name) == 0)
			break;
	return i;
}

/* cut_utf8 cuts s to at most `max` bytes on a character boundary */
static void
cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
}

int
item_field_set_take(struct item *it, const char *name, char *value)
{
	struct item_field *v;
	size_t i;
	char *nm;

	if (!item_field_name_valid(name))
		goto fail;
	i = field_index(it, name);
	if (value == NULL || *value == '\0' ||
	    (strlen(value) > ITEM_FIELD_MAX && strcmp(name, "image") == 0)) {
		free(value);
		if (i < it->nfields) { /* remove it, keeping the order */
			free(it->fields[i].name);
			free(it->fields[i].value);
			memmove(&it->fields[i], &it->fields[i + 1],
			    (it->nfields - i - 1) * sizeof(*it->fields));
			if (--it->nfields == 0) {
				free(it->fields);
				it->fields = NULL;
			}
		}
		return 0;
	}
	cut_utf8(value, ITEM_FIELD_MAX);
	if (i < it->nfields) {
		free(it->fields[i].value);
		it->fields[i].value = value;
		return 0;
	}
	if (it->nfields >= ITEM_FIELDS_MAX)
		goto fail;
	if ((nm = strdup(name)) == NULL)
		goto fail;
	v = realloc(it->fields, (it->nfields + 1) * sizeof(*v));
	if (v == NULL) {
		free(nm);
		goto fail;
	}
	it->fields = v;
	v[it->nfields].name = nm;
	v[it->nfields].value = value;
	it->nfields++;
	return 0;
fail:
	free(value);
	return -1;
}

const char *
item_field(const struct item *it, const char *name)
{
	size_t i = field_index(it, name);

	return i < it->nfields ? it->fields[i].value : NULL;
}

const char *
item_get(const struct item *it, const char *name)
{
	if (strcmp(name, "title") == 0)
		return it->text;
	if (strcmp(name, "link") == 0)
		return it->link;
	return item_field(it, name);
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
