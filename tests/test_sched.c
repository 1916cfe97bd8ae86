/*
 * test_sched: the scheduler's deadline arithmetic (sched.h): when the next
 * check is due, jitter bounds, and how first checks are planned at start-up
 * (never-checked soon, a planned check kept, overdue ones spread).
 * The reconcile step of a reload (old watches + new config -> kept,
 * changed, added, removed). The loop itself is exercised by
 * tests/integration/test_daemon.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/sched.h"

#define S 1000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* an arbitrary monotonic "now" and the wall clock at the same instant */
#define MONO 5000000LL
#define WALL 1795400000000LL

static void
test_next_check_without_jitter_is_exactly_the_interval(void **state)
{
	double r;

	(void)state;
	for (r = 0; r < 1; r += 0.125)
		assert_int_equal(sched_next_check_ms(MONO, 30 * MIN, 0, r),
		    MONO + 30 * MIN);
}

static void
test_next_check_jitter_stays_within_plus_minus_percent(void **state)
{
	const int64_t interval = 10 * MIN, spread = interval / 10;
	int64_t lo = INT64_MAX, hi = INT64_MIN, t;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		t = sched_next_check_ms(MONO, interval, 10.0, i / 1000.0);
		assert_true(t >= MONO + interval - spread);
		assert_true(t < MONO + interval + spread);
		if (t < lo)
			lo = t;
		if (t > hi)
			hi = t;
	}
	/* the whole window is used, not just one side of it */
	assert_int_equal(lo, MONO + interval - spread);
	assert_true(hi >= MONO + interval + spread - S);
	assert_int_equal(sched_next_check_ms(MONO, interval, 10.0, 0.5),
	    MONO + interval);
}

static void
test_next_check_is_never_sooner_than_a_second(void **state)
{
	(void)state;
	/* 1 s with 50 % jitter could come out at 0.5 s */
	assert_int_equal(sched_next_check_ms(MONO, 1 * S, 50.0, 0.0),
	    MONO + 1 * S);
	assert_true(
	    sched_next_check_ms(MONO, 1 * S, 50.0, 0.99) <= MONO + 1500);
}

static void
test_next_check_ignores_a_random_number_out_of_range(void **state)
{
	int64_t t;

	(void)state;
	t = sched_next_check_ms(MONO, 10 * MIN, 10.0, 7.0);
	assert_true(t < MONO + 11 * MIN);
	t = sched_next_check_ms(MONO, 10 * MIN, 10.0, -3.0);
	assert_int_equal(t, MONO + 9 * MIN);
}

static void
test_never_checked_watch_is_checked_within_seconds(void **state)
{
	int64_t t;
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		/* even with a one-day interval and a stale plan */
		t = sched_first_check_ms(MONO, WALL, 0, WALL + 5 * HOUR, DAY,
		    100, i / 100.0);
		assert_true(t >= MONO);
		assert_true(t < MONO + SCHED_NEW_WATCH_MS);
	}
	assert_int_equal(sched_first_check_ms(MONO, WALL, 0, 0, DAY, 1, 0.0),
	    MONO);
}

static void
test_many_new_watches_spread_over_five_seconds(void **state)
{
	(void)state;
	/* one watch added to the config: at once, not up to 5 s later */
	assert_true(sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 1, 0.999) <
		    MONO + SCHED_NEW_WATCH_STEP_MS);
	/* four: within a second */
	assert_int_equal(
	    sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 4, 0.5),
	    MONO + 2 * SCHED_NEW_WATCH_STEP_MS);
	/* a first start with 300 watches: the whole 5 s, no more */
	assert_int_equal(
	    sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 300, 0.5),
	    MONO + SCHED_NEW_WATCH_MS / 2);
	assert_true(sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 300,
			0.999) < MONO + SCHED_NEW_WATCH_MS);
}

static void
test_first_check_keeps_the_planned_check_still_ahead(void **state)
{
	(void)state;
	/* planned 20 s from now by the previous run: kept, whatever r is */
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL - 10 * MIN,
			     WALL + 20 * S, 30 * MIN, 1, 0.9),
	    MONO + 20 * S);
	/* no plan stored: last check + interval */
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL - 10 * MIN, 0,
			     30 * MIN, 1, 0.9),
	    MONO + 20 * MIN);
}

static void
test_first_check_is_never_more_than_one_interval_away(void **state)
{
	(void)state;
	/* the interval was shortened from 1 h to 1 m while stopped */
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL - 1 * MIN,
			     WALL + 59 * MIN, 1 * MIN, 1, 0.5),
	    MONO + 1 * MIN);
	/* the wall clock went back a day: still one interval at most */
	assert_int_equal(
	    sched_first_check_ms(MONO, WALL, WALL + DAY, 0, 15 * MIN, 1, 0.5),
	    MONO + 15 * MIN);
}

static void
test_overdue_watches_spread_over_the_interval(void **state)
{
	int64_t t, prev = -1;
	int i;

	(void)state;
	/* ten watches overdue since a restart: ten different deadlines,
	 * all inside the first interval */
	for (i = 0; i < 10; i++) {
		t = sched_first_check_ms(MONO, WALL, WALL - 2 * HOUR,
		    WALL - 1 * HOUR, 2 * MIN, 1, i / 10.0);
		assert_true(t >= MONO);
		assert_true(t < MONO + 2 * MIN);
		assert_true(t > prev);
		prev = t;
	}
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL - 2 * HOUR, 0,
			     2 * MIN, 1, 0.5),
	    MONO + 1 * MIN);
}

static void
test_overdue_spread_is_capped_for_long_intervals(void **state)
{
	int64_t t;

	(void)state;
	/* a daily watch overdue since yesterday does not wait another day */
	t = sched_first_check_ms(MONO, WALL, WALL - 2 * DAY, 0, DAY, 1, 0.999);
	assert_true(t < MONO + SCHED_SPREAD_MAX_MS);
	assert_int_equal(
	    sched_first_check_ms(MONO, WALL, WALL - 2 * DAY, 0, DAY, 1, 0.5),
	    MONO + SCHED_SPREAD_MAX_MS / 2);
}

/* --- reconcile ----------------------------------------------------------- */

/* a watch as config_load would leave it, with just a name and a URL */
static void
watch_init(struct watch_config *w, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->name = strdup(name);
	w->url = strdup("http://example.com/");
	assert_non_null(w->name);
	assert_non_null(w->url);
	w->interval_ms = 30 * MIN;
	w->enabled = true;
}

static void
watches_free(struct watch_config *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		config_watch_release(&v[i]);
	free(v);
}

static void
test_reconcile_matches_by_name_kept_changed_added_removed(void **state)
{
	struct watch_config oldv[3], nw[3];
	const struct watch_config *old[3] = { &oldv[0], &oldv[1], &oldv[2] };
	struct sched_match m[3];
	bool kept[3];

	(void)state;
	watch_init(&oldv[0], "a");
	watch_init(&oldv[1], "b");
	watch_init(&oldv[2], "c");
	watch_init(&nw[0], "c");
	nw[0].interval_ms = 5 * MIN; /* edited */
	watch_init(&nw[1], "d");     /* new */
	watch_init(&nw[2], "a");     /* as it was, moved in the file */
	assert_int_equal(sched_reconcile(old, 3, nw, 3, m, kept), 0);
	assert_int_equal(m[0].old, 2);
	assert_true(m[0].changed);
	assert_int_equal(m[1].old, SCHED_NONE);
	assert_int_equal(m[2].old, 0);
	assert_false(m[2].changed);
	assert_true(kept[0]);
	assert_false(kept[1]); /* b removed */
	assert_true(kept[2]);
	for (int i = 0; i < 3; i++) {
		config_watch_release(&oldv[i]);
		config_watch_release(&nw[i]);
	}
}

static void
test_reconcile_rename_is_one_removed_and_one_added(void **state)
{
	struct watch_config oldv, nw;
	const struct watch_config *old[1] = { &oldv };
	struct sched_match m;
	bool kept;

	(void)state;
	watch_init(&oldv, "rust-blog");
	watch_init(&nw, "rust-news"); /* the same page under a new name */
	assert_int_equal(sched_reconcile(old, 1, &nw, 1, &m, &kept), 0);
	assert_int_equal(m.old, SCHED_NONE);
	assert_false(kept);
	config_watch_release(&oldv);
	config_watch_release(&nw);
}

static void
test_reconcile_disabled_watch_is_removed_not_matched(void **state)
{
	struct watch_config oldv, nw[2];
	const struct watch_config *old[1] = { &oldv };
	struct sched_match m[2];
	bool kept;

	(void)state;
	watch_init(&oldv, "a");
	watch_init(&nw[0], "a");
	nw[0].enabled = false;
	watch_init(&nw[1], "b");
	nw[1].enabled = false;
	assert_int_equal(sched_reconcile(old, 1, nw, 2, m, &kept), 0);
	assert_int_equal(m[0].old, SCHED_NONE);
	assert_int_equal(m[1].old, SCHED_NONE);
	assert_false(kept);
	/* and nothing scheduled yet: every enabled watch is added */
	nw[1].enabled = true;
	assert_int_equal(sched_reconcile(NULL, 0, nw, 2, m, NULL), 0);
	assert_int_equal(m[1].old, SCHED_NONE);
	config_watch_release(&oldv);
	config_watch_release(&nw[0]);
	config_watch_release(&nw[1]);
}

#define RN 10000

/*
 * 10,000 watches, scheduled in shuffled order; the new file renames every
 * 10th, edits every 7th, drops every 13th and adds 500: every fate right.
 */
static void
test_reconcile_10000_watches(void **state)
{
	struct watch_config *oldv, *nw;
	const struct watch_config **old;
	struct sched_match *m;
	size_t *perm, i, j, t, nn = 0, added = 0, removed = 0;
	bool *kept;
	char name[32];

	(void)state;
	oldv = calloc(RN, sizeof(*oldv));
	old = calloc(RN, sizeof(*old));
	nw = calloc(RN + 500, sizeof(*nw));
	m = calloc(RN + 500, sizeof(*m));
	kept = calloc(RN, sizeof(*kept));
	perm = calloc(RN, sizeof(*perm));
	assert_true(oldv && old && nw && m && kept && perm);
	srand(42);
	for (i = 0; i < RN; i++)
		perm[i] = i;
	for (i = RN - 1; i > 0; i--) {
		j = (size_t)rand() % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	/* old[k] is watch w<perm[k]> */
	for (i = 0; i < RN; i++) {
		snprintf(name, sizeof(name), "w%05zu", perm[i]);
		watch_init(&oldv[i], name);
		old[i] = &oldv[i];
	}
	for (i = 0; i < RN; i++) {
		if (i % 13 == 0)
			continue; /* dropped */
		snprintf(name, sizeof(name), "%c%05zu", i % 10 == 0 ? 'r' : 'w',
		    i);
		watch_init(&nw[nn], name);
		if (i % 7 == 0)
			nw[nn].interval_ms = 10 * MIN;
		nn++;
	}
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "new%03zu", i);
		watch_init(&nw[nn++], name);
	}
	assert_int_equal(sched_reconcile(old, RN, nw, nn, m, kept), 0);
	for (i = 0; i < nn; i++) {
		if (nw[i].name[0] != 'w') {
			assert_int_equal(m[i].old, SCHED_NONE);
			added++;
			continue;
		}
		assert_int_not_equal(m[i].old, SCHED_NONE);
		assert_string_equal(old[m[i].old]->name, nw[i].name);
		j = (size_t)strtoul(nw[i].name + 1, NULL, 10);
		assert_int_equal(m[i].changed, j % 7 == 0);
	}
	for (i = 0; i < RN; i++) {
		j = perm[i];
		assert_int_equal(kept[i], j % 13 != 0 && j % 10 != 0);
		removed += !kept[i];
	}
	/* renamed: multiples of 10 not of 13; dropped: multiples of 13 */
	assert_int_equal(added, 500 + (RN / 10 - RN / 130 - 1));
	assert_int_equal(removed, (RN / 13 + 1) + (RN / 10 - RN / 130 - 1));
	watches_free(oldv, RN);
	watches_free(nw, nn);
	free(old);
	free(m);
	free(kept);
	free(perm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_next_check_without_jitter_is_exactly_the_interval),
		cmocka_unit_test(
		    test_next_check_jitter_stays_within_plus_minus_percent),
		cmocka_unit_test(test_next_check_is_never_sooner_than_a_second),
		cmocka_unit_test(
		    test_next_check_ignores_a_random_number_out_of_range),
		cmocka_unit_test(
		    test_never_checked_watch_is_checked_within_seconds),
		cmocka_unit_test(
		    test_many_new_watches_spread_over_five_seconds),
		cmocka_unit_test(
		    test_first_check_keeps_the_planned_check_still_ahead),
		cmocka_unit_test(
		    test_first_check_is_never_more_than_one_interval_away),
		cmocka_unit_test(test_overdue_watches_spread_over_the_interval),
		cmocka_unit_test(
		    test_overdue_spread_is_capped_for_long_intervals),
		cmocka_unit_test(
		    test_reconcile_matches_by_name_kept_changed_added_removed),
		cmocka_unit_test(
		    test_reconcile_rename_is_one_removed_and_one_added),
		cmocka_unit_test(
		    test_reconcile_disabled_watch_is_removed_not_matched),
		cmocka_unit_test(test_reconcile_10000_watches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
