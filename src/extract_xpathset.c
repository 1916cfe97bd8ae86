/*
 * extract: a set of compiled XPaths keyed by expression, and the watches'
 * key_pattern: regexes beside them (see extract.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/regex.h"

/*
 * key: an XPath's "x", its expr, then "\x1f" + each allowed prefix; a
 * regex's "r", its flags in decimal, "\x1f", its pattern (the first byte
 * keeps the two kinds apart whatever the text); NULL: a free slot
 */
struct xpath_entry {
	char *key;
	uint64_t hash;
	struct extract_xpath *xp; /* or */
	struct regex *re;
};

/* open addressing, linear probing; cap is a power of two, <= 70% used */
struct extract_xpath_set {
	struct xpath_entry *v;
	size_t cap, n, nre; /* n entries, nre of them regexes */
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
		regex_free(set->v[i].re);
	}
	free(set->v);
	free(set);
}

size_t
extract_xpath_set_count(const struct extract_xpath_set *set)
{
	return set != NULL ? set->n - set->nre : 0;
}

size_t
extract_xpath_set_regex_count(const struct extract_xpath_set *set)
{
	return set != NULL ? set->nre : 0;
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

/*
 * find returns the entry under `key` (the buffer then released), or NULL
 * with the key's hash in *h for put
 */
static struct xpath_entry *
find(const struct extract_xpath_set *set, struct buf *key, uint64_t *h)
{
	struct xpath_entry *e;

	*h = hash_str(key->data);
	e = slot(set, key->data, *h);
	if (e->key == NULL)
		return NULL;
	buf_release(key);
	return e;
}

/*
 * put enters xp or re under `key` (its contents taken: the buffer is left
 * empty) with hash h, which is not in the set yet. 0, or -1 on
 * out-of-memory (nothing entered, the key kept, xp and re still the
 * caller's).
 */
static int
put(struct extract_xpath_set *set, struct buf *key, uint64_t h,
    struct extract_xpath *xp, struct regex *re)
{
	struct xpath_entry *e;
	char *k;

	if ((set->n + 1) * 10 > set->cap * 7 && grow(set) != 0)
		return -1;
	k = buf_detach(key, NULL);
	if (k == NULL)
		return -1;
	e = slot(set, k, h);
	e->key = k;
	e->hash = h;
	e->xp = xp;
	e->re = re;
	set->n++;
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
	if (buf_printf(&key, "x%s", expr) != 0)
		goto oom;
	for (i = 0; i < nns; i++)
		if (buf_printf(&key, "\x1f%s", ns[2 * i]) != 0)
			goto oom;
	e = find(set, &key, &h);
	if (e != NULL)
		return e->xp;
	xp = extract_xpath_compile_ns(expr, ns, nns, err);
	if (xp == NULL) {
		buf_release(&key);
		return NULL;
	}
	if (put(set, &key, h, xp, NULL) == 0)
		return xp;
	extract_xpath_free(xp);
oom:
	buf_release(&key);
	kw_err_set(err, "out of memory compiling xpath");
	return NULL;
}

struct regex *
extract_xpath_set_regex(struct extract_xpath_set *set, const char *pattern,
    unsigned flags, struct kw_err *err)
{
	struct xpath_entry *e;
	struct regex *re;
	struct buf key;
	uint64_t h;

	buf_init(&key, 0);
	if (buf_printf(&key, "r%u\x1f%s", flags, pattern) != 0)
		goto oom;
	e = find(set, &key, &h);
	if (e != NULL)
		return e->re;
	re = regex_compile(pattern, flags, NULL, err);
	if (re == NULL) {
		buf_release(&key);
		return NULL;
	}
	if (put(set, &key, h, NULL, re) == 0) {
		set->nre++;
		return re;
	}
	regex_free(re);
oom:
	buf_release(&key);
	kw_err_set(err, "out of memory compiling a regular expression");
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
