/*
 * test_sched: the scheduler's deadline arithmetic (sched.h): when the next
 * check is due, jitter bounds, and how first checks are planned at start-up
 * (never-checked soon, a planned check kept, overdue ones spread).
 * The loop itself is exercised by tests/integration/test_daemon.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
	assert_true(sched_next_check_ms(MONO, 1 * S, 50.0, 0.99) <=
	    MONO + 1500);
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
	assert_true(sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 1,
			0.999) < MONO + SCHED_NEW_WATCH_STEP_MS);
	/* four: within a second */
	assert_int_equal(sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 4,
			     0.5),
	    MONO + 2 * SCHED_NEW_WATCH_STEP_MS);
	/* a first start with 300 watches: the whole 5 s, no more */
	assert_int_equal(sched_first_check_ms(MONO, WALL, 0, 0, 30 * MIN, 300,
			     0.5),
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
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL + DAY, 0,
			     15 * MIN, 1, 0.5),
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
	assert_int_equal(sched_first_check_ms(MONO, WALL, WALL - 2 * DAY, 0,
			     DAY, 1, 0.5),
	    MONO + SCHED_SPREAD_MAX_MS / 2);
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
		cmocka_unit_test(
		    test_overdue_watches_spread_over_the_interval),
		cmocka_unit_test(
		    test_overdue_spread_is_capped_for_long_intervals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
