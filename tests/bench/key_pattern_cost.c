/*
 * key_pattern_cost: what a check spends on its watch's key_pattern:, the
 * way check_start did it before (regex_compile of the pattern on every
 * check, key_assign over the page's items, regex_free) and the way it does
 * now (extract_xpath_set_regex: a look-up in the generation's compiled set,
 * then key_assign), on a board page of 30 items whose links all match,
 * interleaved, best of RUNS rounds of 1000 checks each (CPU time of the
 * process).
 * Not a test; it prints figures:  build/tests/bench_key_pattern [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/key.h"
#include "kakaowatch/regex.h"

#define NITEMS 30
#define NCHECKS 1000

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* one round of NCHECKS checks; `set` NULL: compile on every check */
static double
round_ms(struct extract_xpath_set *set, const char *pattern,
    struct item_list *items)
{
	struct kw_err err = { 0 };
	struct key_spec spec = { KEY_AUTO, NULL };
	double t0 = cpu_ms();
	int i;

	for (i = 0; i < NCHECKS; i++) {
		spec.pattern =
		    set != NULL ?
			extract_xpath_set_regex(set, pattern, 0, &err) :
			regex_compile(pattern, 0, NULL, &err);
		if (spec.pattern == NULL ||
		    key_assign(items, &spec, "https://b.example/bbs/", NULL,
			&err) != 0) {
			fprintf(stderr, "bench_key_pattern: %s\n", err.msg);
			exit(1);
		}
		if (set == NULL)
			regex_free(spec.pattern);
	}
	return cpu_ms() - t0;
}

int
main(int argc, char **argv)
{
	static const char *const patterns[] = {
		"[?&]wr_id=(\\d+)",
		"/board\\.php\\?(?:.*&)?wr_id=(\\d+)",
		"(?:\\?|&)(?:no|idx|wr_id|articleid)=(\\d+)",
	};
	struct extract_xpath_set *set;
	struct item_list items;
	double before, after, t;
	char link[128], text[64];
	char *end = NULL;
	long runs = argc > 1 ? strtol(argv[1], &end, 10) : 5;
	size_t p;
	int i, r;

	if (argc > 1 &&
	    (end == argv[1] || *end != '\0' || runs < 1 || runs > 1000)) {
		fprintf(stderr, "usage: bench_key_pattern [RUNS: 1-1000]\n");
		return 2;
	}
	item_list_init(&items);
	for (i = 0; i < NITEMS; i++) {
		snprintf(link, sizeof(link),
		    "https://b.example/bbs/board.php?bo_table=hot&wr_id=%d&"
		    "page=1",
		    81230 + i);
		snprintf(text, sizeof(text), "[핫딜] 상품 %d (무료배송)", i);
		if (item_list_add(&items, text, link) != 0)
			return 1;
	}
	printf("key_pattern per check, %d items, best of %ld x %d checks\n",
	    NITEMS, runs, NCHECKS);
	for (p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		set = extract_xpath_set_new();
		if (set == NULL)
			return 1;
		before = after = 1e18;
		for (r = 0; r < runs; r++) {
			t = round_ms(NULL, patterns[p], &items);
			before = t < before ? t : before;
			t = round_ms(set, patterns[p], &items);
			after = t < after ? t : after;
		}
		printf("  %-42s compiled each check %6.1f us, from the set "
		       "%6.1f us, saved %6.1f us\n",
		    patterns[p], before * 1e3 / NCHECKS, after * 1e3 / NCHECKS,
		    (before - after) * 1e3 / NCHECKS);
		extract_xpath_set_free(set);
	}
	item_list_release(&items);
	return 0;
}
