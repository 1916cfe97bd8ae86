/* extract: a set of compiled XPaths keyed by expression (see extract.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"

struct xpath_entry {
	char *key; /* expr, then "\x1f" + each allowed prefix; NULL: free */
	uint64_t hash;
	struct extract_xpath *xp;
};

/* open addressing, linear probing; cap is a power of two, <= 70% used */
struct extract_xpath_set {
	struct xpath_entry *v;
	size_t cap, n;
};

static struct extract_xpath_set *checking;

/* FNV-1a, 64 bit */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct extract_xpath_set *
extract_xpath_set_new(void)
{
	struct extract_xpath_set *set = calloc(1, sizeof(*set));

	if (set == NULL)
		return NULL;
	set->cap = 16;
	set->v = calloc(set->cap, sizeof(*set->v));
	if (set->v == NULL) {
		free(set);
		return NULL;
	}
	return set;
}

void
extract_xpath_set_free(struct extract_xpath_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	if (checking == set)
		checking = NULL;
	for (i = 0; i < set->cap; i++) {
		free(set->v[i].key);
		extract_xpath_free(set->v[i].xp);
	}
	free(set->v);
	free(set);
}

size_t
extract_xpath_set_count(const struct extract_xpath_set *set)
{
	return set != NULL ? set->n : 0;
}

/* the slot of `key`: its entry, or the free slot where it would go */
static struct xpath_entry *
slot(const struct extract_xpath_set *set, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (set->cap - 1);

	while (set->v[i].key != NULL &&
	       (set->v[i].hash != h || strcmp(set->v[i].key, key) != 0))
		i = (i + 1) & (set->cap - 1);
	return &set->v[i];
}

static int
grow(struct extract_xpath_set *set)
{
	struct extract_xpath_set bigger = { 0 };
	struct xpath_entry *e;
	size_t i;

	bigger.cap = set->cap * 2;
	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (bigger.v == NULL)
		return -1;
	for (i = 0; i < set->cap; i++) {
		if (set->v[i].key == NULL)
			continue;
		e = slot(&bigger, set->v[i].key, set->v[i].hash);
		*e = set->v[i];
	}
	free(set->v);
	set->v = bigger.v;
	set->cap = bigger.cap;
	return 0;
}

const struct extract_xpath *
extract_xpath_set_get(struct extract_xpath_set *set, const char *expr,
    const char *const *ns, size_t nns, struct kw_err *err)
{
	struct xpath_entry *e;
	struct extract_xpath *xp;
	struct buf key;
	uint64_t h;
	size_t i;

	if (expr == NULL || expr[0] == '\0') {
		kw_err_set(err, "xpath is empty");
		return NULL;
	}
	buf_init(&key, 0);
	if (buf_append(&key, expr, strlen(expr)) != 0)
		goto oom;
	for (i = 0; i < nns; i++)
		if (buf_printf(&key, "\x1f%s", ns[2 * i]) != 0)
			goto oom;
	h = hash_str(key.data);
	e = slot(set, key.data, h);
	if (e->key != NULL) {
		buf_release(&key);
		return e->xp;
	}
	xp = extract_xpath_compile_ns(expr, ns, nns, err);
	if (xp == NULL) {
		buf_release(&key);
		return NULL;
	}
	if ((set->n + 1) * 10 > set->cap * 7) {
		if (grow(set) != 0) {
			extract_xpath_free(xp);
			goto oom;
		}
		e = slot(set, key.data, h);
	}
	e->hash = h;
	e->xp = xp;
	e->key = buf_detach(&key, NULL);
	set->n++;
	return xp;
oom:
	buf_release(&key);
	kw_err_set(err, "out of memory compiling xpath");
	return NULL;
}

void
extract_xpath_set_checking(struct extract_xpath_set *set)
{
	checking = set;
}

int
extract_xpath_set_check(const char *xpath, char *msg, size_t msgsize)
{
	struct kw_err err = { 0 };

	if (checking == NULL ||
	    extract_xpath_set_get(checking, xpath, NULL, 0, &err) == NULL)
		return extract_xpath_check(xpath, msg, msgsize);
	if (msgsize > 0)
		msg[0] = '\0';
	return 0;
}
