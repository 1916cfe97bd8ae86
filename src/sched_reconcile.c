/* sched: the reconcile step of a reload (see sched.h), pure. */
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/sched.h"

struct named {
	const char *name;
	size_t index;
};

static int
named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int
sched_reconcile(const struct watch_config *const *old, size_t nold,
    const struct watch_config *nw, size_t nnew, struct sched_match *match,
    bool *kept)
{
	struct named *o, *n;
	size_t i, j, nn = 0;
	int c;

	o = malloc((nold ? nold : 1) * sizeof(*o));
	n = malloc((nnew ? nnew : 1) * sizeof(*n));
	if (o == NULL || n == NULL) {
		free(o);
		free(n);
		return -1;
	}
	for (j = 0; j < nold; j++) {
		o[j].name = old[j]->name;
		o[j].index = j;
		kept[j] = false;
	}
	for (i = 0; i < nnew; i++) {
		match[i].old = SCHED_NONE;
		match[i].changed = false;
		if (!nw[i].enabled)
			continue;
		n[nn].name = nw[i].name;
		n[nn].index = i;
		nn++;
	}
	qsort(o, nold, sizeof(*o), named_cmp);
	qsort(n, nn, sizeof(*n), named_cmp);
	for (i = 0, j = 0; i < nn && j < nold;) {
		c = strcmp(n[i].name, o[j].name);
		if (c < 0) {
			i++; /* added */
		} else if (c > 0) {
			j++; /* removed */
		} else {
			match[n[i].index].old = o[j].index;
			match[n[i].index].changed = !config_watch_equal(
			    old[o[j].index], &nw[n[i].index]);
			kept[o[j].index] = true;
			i++;
			j++;
		}
	}
	free(o);
	free(n);
	return 0;
}
