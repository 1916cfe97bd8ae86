/* tests for quiet: quiet-hours windows across midnight, in Korea time and
 * in zones with daylight saving time. Expected instants are written in UTC
 * from the zones' published rules, computed without the C library's zone
 * code (days_from_civil). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kakaowatch/quiet.h"

/* Unix ms of a UTC date and time (H. Hinnant's days_from_civil) */
static int64_t
utc(int y, int m, int d, int hh, int mm, int ss)
{
	int64_t era, yoe, doy, doe, days;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	return ((days * 24 + hh) * 60 + mm) * 60000LL + ss * 1000LL;
}

static struct quiet_window
win(const char *s)
{
	struct quiet_window w = { 0, 0 };
	char msg[200];

	assert_int_equal(quiet_parse(s, &w, msg, sizeof(msg)), 0);
	return w;
}

static bool
have_zone(const char *name)
{
	char msg[200], path[256];

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return access(path, R_OK) == 0 &&
	       quiet_tz_check(name, msg, sizeof(msg)) == 0;
}

static void
test_quiet_parse_forms(void **state)
{
	struct quiet_window w;
	char msg[200];

	(void)state;
	w = win("23:00-07:00");
	assert_int_equal(w.start, 23 * 60);
	assert_int_equal(w.end, 7 * 60);
	w = win(" 7:30 - 23:05 ");
	assert_int_equal(w.start, 7 * 60 + 30);
	assert_int_equal(w.end, 23 * 60 + 5);
	w = win("22:00-24:00");
	assert_int_equal(w.end, 0);
	assert_int_equal(quiet_parse("off", &w, msg, sizeof(msg)), 1);
	assert_int_equal(quiet_parse("None", &w, msg, sizeof(msg)), 1);
	w = win("23:00-07:00");
	quiet_format(&w, msg, sizeof(msg));
	assert_string_equal(msg, "23:00-07:00");
}

static void
test_quiet_parse_rejects(void **state)
{
	static const char *bad[] = { "", "23:00", "2300-0700", "25:00-07:00",
		"23:60-07:00", "24:00-07:00", "23:00-07:00x", "23:0-07:00",
		"-07:00", "23:00-7", "23:00~07:00" };
	struct quiet_window w;
	char msg[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(quiet_parse(bad[i], &w, msg, sizeof(msg)), -1);
		assert_non_null(strstr(msg, "HH:MM-HH:MM"));
	}
	/* equal ends: neither empty nor all day, a mistake */
	assert_int_equal(quiet_parse("00:00-00:00", &w, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "same time"));
	assert_int_equal(quiet_parse("23:00-23:00", &w, msg, sizeof(msg)), -1);
	assert_int_equal(quiet_parse("00:00-24:00", &w, msg, sizeof(msg)), -1);
}

static void
test_quiet_korea_across_midnight(void **state)
{
	struct quiet_window w = win("23:00-07:00");
	const char *tz = "Asia/Seoul";
	int64_t end = utc(2026, 12, 1, 22, 0, 0); /* 07:00 KST on Dec 2 */

	(void)state;
	/* 22:59:59 KST: not yet */
	assert_false(quiet_in(&w, tz, utc(2026, 12, 1, 13, 59, 59)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 13, 59, 59)),
	    utc(2026, 12, 1, 13, 59, 59));
	/* 23:00, 23:30, 00:00, 02:00, 06:59:59 KST: inside, ending 07:00 */
	assert_true(quiet_in(&w, tz, utc(2026, 12, 1, 14, 0, 0)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 14, 0, 0)), end);
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 14, 30, 0)), end);
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 15, 0, 0)), end);
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 17, 0, 0)), end);
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 21, 59, 59) + 999),
	    end);
	/* 07:00:00 KST: over */
	assert_false(quiet_in(&w, tz, end));
	assert_false(quiet_in(&w, tz, utc(2026, 12, 2, 3, 0, 0)));
	/* the default zone is Korea's */
	assert_true(quiet_in(&w, NULL, utc(2026, 12, 1, 17, 0, 0)));
	{
		char hhmm[8];

		quiet_local_hhmm(tz, end, hhmm, sizeof(hhmm));
		assert_string_equal(hhmm, "07:00");
	}
}

static void
test_quiet_same_day_window(void **state)
{
	struct quiet_window w = win("22:00-23:00");
	const char *tz = "Asia/Seoul";

	(void)state;
	assert_false(quiet_in(&w, tz, utc(2026, 12, 1, 12, 59, 59)));
	assert_true(quiet_in(&w, tz, utc(2026, 12, 1, 13, 0, 0)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 12, 1, 13, 30, 0)),
	    utc(2026, 12, 1, 14, 0, 0));
	assert_false(quiet_in(&w, tz, utc(2026, 12, 1, 14, 0, 0)));
	/* 02:00 KST is outside a same-day 22-23 window */
	assert_false(quiet_in(&w, tz, utc(2026, 12, 1, 17, 0, 0)));
}

static void
test_quiet_dst_berlin(void **state)
{
	struct quiet_window w = win("23:00-07:00");
	struct quiet_window gap = win("01:00-02:30");
	const char *tz = "Europe/Berlin";

	(void)state;
	if (!have_zone(tz))
		skip();
	/* 2026-03-29: 02:00 CET becomes 03:00 CEST. The night of the 28th:
	 * 23:00 CET = 22:00 UTC to 07:00 CEST = 05:00 UTC, 7 hours */
	assert_false(quiet_in(&w, tz, utc(2026, 3, 28, 21, 59, 59)));
	assert_true(quiet_in(&w, tz, utc(2026, 3, 28, 22, 0, 0)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 3, 28, 22, 30, 0)),
	    utc(2026, 3, 29, 5, 0, 0));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 3, 29, 1, 30, 0)),
	    utc(2026, 3, 29, 5, 0, 0));
	/* 2026-10-25: 03:00 CEST becomes 02:00 CET. 23:00 CEST = 21:00 UTC
	 * to 07:00 CET = 06:00 UTC, 9 hours */
	assert_false(quiet_in(&w, tz, utc(2026, 10, 24, 20, 59, 59)));
	assert_true(quiet_in(&w, tz, utc(2026, 10, 24, 21, 0, 0)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 10, 24, 21, 0, 0)),
	    utc(2026, 10, 25, 6, 0, 0));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 10, 25, 5, 59, 0)),
	    utc(2026, 10, 25, 6, 0, 0));
	assert_false(quiet_in(&w, tz, utc(2026, 10, 25, 6, 0, 0)));
	/* an end the clocks skip: 02:30 does not exist on 2026-03-29, the
	 * window 01:00-02:30 ends at the jump (03:00 CEST = 01:00 UTC) */
	assert_true(quiet_in(&gap, tz, utc(2026, 3, 29, 0, 30, 0)));
	assert_int_equal(quiet_end(&gap, tz, utc(2026, 3, 29, 0, 30, 0)),
	    utc(2026, 3, 29, 1, 0, 0));
	assert_false(quiet_in(&gap, tz, utc(2026, 3, 29, 1, 0, 0)));
	/* summer: 01:00-02:30 CEST = 23:00-00:30 UTC */
	assert_int_equal(quiet_end(&gap, tz, utc(2026, 7, 1, 23, 15, 0)),
	    utc(2026, 7, 2, 0, 30, 0));
}

static void
test_quiet_dst_new_york(void **state)
{
	struct quiet_window w = win("22:00-06:00");
	const char *tz = "America/New_York";

	(void)state;
	if (!have_zone(tz))
		skip();
	/* 2026-03-08 02:00 EST -> 03:00 EDT: 22:00 EST (03:00 UTC) to 06:00
	 * EDT (10:00 UTC) */
	assert_true(quiet_in(&w, tz, utc(2026, 3, 8, 3, 0, 0)));
	assert_int_equal(quiet_end(&w, tz, utc(2026, 3, 8, 3, 0, 0)),
	    utc(2026, 3, 8, 10, 0, 0));
	assert_false(quiet_in(&w, tz, utc(2026, 3, 8, 2, 59, 59)));
}

static void
test_quiet_tz_check(void **state)
{
	static const char *bad[] = { "", "/etc/localtime", "../etc/passwd",
		"Asia/../../etc/passwd", "Asia/Seol", "KST-9", "Asia Seoul",
		"Europe/Berlin\n" };
	char msg[256];
	size_t i;

	(void)state;
	assert_int_equal(quiet_tz_check("Asia/Seoul", msg, sizeof(msg)), 0);
	assert_int_equal(quiet_tz_check("UTC", msg, sizeof(msg)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(quiet_tz_check(bad[i], msg, sizeof(msg)), -1);
		assert_true(msg[0] != '\0');
	}
	assert_non_null(strstr(msg, "time zone"));
}

/* the process TZ is what it was after every computation */
static void
test_quiet_restores_tz(void **state)
{
	struct quiet_window w = win("23:00-07:00");

	(void)state;
	setenv("TZ", "America/Sao_Paulo", 1);
	assert_true(quiet_in(&w, "Asia/Seoul", utc(2026, 12, 1, 17, 0, 0)));
	assert_string_equal(getenv("TZ"), "America/Sao_Paulo");
	unsetenv("TZ");
	quiet_zone_enter("Asia/Seoul");
	quiet_zone_enter("UTC");
	/* 17:00 UTC is outside 23-07 in UTC, inside it in Korea */
	assert_false(quiet_in(&w, "UTC", utc(2026, 12, 1, 17, 0, 0)));
	quiet_zone_leave();
	assert_true(quiet_in(&w, "Asia/Seoul", utc(2026, 12, 1, 17, 0, 0)));
	assert_string_equal(getenv("TZ") ? getenv("TZ") : "", "Asia/Seoul");
	quiet_zone_leave();
	assert_null(getenv("TZ"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_parse_forms),
		cmocka_unit_test(test_quiet_parse_rejects),
		cmocka_unit_test(test_quiet_korea_across_midnight),
		cmocka_unit_test(test_quiet_same_day_window),
		cmocka_unit_test(test_quiet_dst_berlin),
		cmocka_unit_test(test_quiet_dst_new_york),
		cmocka_unit_test(test_quiet_tz_check),
		cmocka_unit_test(test_quiet_restores_tz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
