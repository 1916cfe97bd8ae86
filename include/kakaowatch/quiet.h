/*
 * quiet: quiet hours, a daily window of local wall-clock time in which
 * nothing is delivered (docs/design.md §2.8), and the time zone it is read
 * in. Pure arithmetic over the C library's time zone support (POSIX TZ,
 * tzset, localtime_r, mktime on the system tz database, usually
 * /usr/share/zoneinfo or $TZDIR); no other library.
 *
 * A window is "HH:MM-HH:MM", start inclusive, end exclusive, both local
 * wall-clock times of the zone: "23:00-07:00" crosses midnight (an instant
 * whose local time is 23:00..23:59 or 00:00..06:59 is inside),
 * "22:00-23:00" lies within one day. Equal ends are rejected (an empty or a
 * 24-hour window is a mistake: give `off`). Which instants are inside is
 * decided by the local wall clock alone, so daylight saving time is
 * followed: in Europe/Berlin "23:00-07:00" lasts 7 hours on the night the
 * clocks go forward and 9 on the night they go back; a window end that the
 * clocks skip (02:30 when 02:00 becomes 03:00) ends the window at the jump.
 *
 * Time zones are IANA names (Asia/Seoul, Europe/Berlin, UTC). The process
 * TZ variable is switched to the zone for each computation and restored
 * afterwards (the daemon is one thread). When the tz database is not
 * installed, Asia/Seoul (Korea has had no DST since 1988) and UTC still
 * work, as the POSIX rules "KST-9" and "UTC0".
 */
#ifndef KAKAOWATCH_QUIET_H
#define KAKAOWATCH_QUIET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUIET_DEFAULT_TZ "Asia/Seoul"
#define QUIET_OFF "off"

/* minutes after local midnight, 0..1439; start != end */
struct quiet_window {
	int start;
	int end;
};

/*
 * quiet_parse reads "HH:MM-HH:MM" (H:MM allowed, blanks around '-', the
 * end may be 24:00 for midnight) into *w. Returns 0, 1 for "off" / "none"
 * (no window; *w untouched), or -1 with a reason in `msg` (at most
 * msgsize bytes, NUL-terminated). `text` is borrowed.
 */
int quiet_parse(const char *text, struct quiet_window *w, char *msg,
    size_t msgsize);

/* quiet_format writes "HH:MM-HH:MM" (at least 12 bytes). */
void quiet_format(const struct quiet_window *w, char *out, size_t size);

/*
 * quiet_tz_check: 0 when `name` is a time zone this machine knows: an IANA
 * name whose file in the tz database ($TZDIR, else /usr/share/zoneinfo) is
 * a TZif file, or Asia/Seoul / UTC (built in); -1 with a reason in `msg`
 * otherwise (absolute paths, "..", POSIX rule strings are refused).
 */
int quiet_tz_check(const char *name, char *msg, size_t msgsize);

/*
 * quiet_in: is the instant t_ms (Unix ms) inside window `w` in zone `tz`
 * (NULL: QUIET_DEFAULT_TZ)? `w` NULL: false.
 */
bool quiet_in(const struct quiet_window *w, const char *tz, int64_t t_ms);

/*
 * quiet_end: when t_ms is inside the window, the first instant after it
 * that is not (Unix ms, a whole second: the local end time, or the clock
 * jump that skips it); otherwise t_ms itself.
 */
int64_t quiet_end(const struct quiet_window *w, const char *tz, int64_t t_ms);

/*
 * quiet_local_hhmm writes the local time of t_ms in `tz` as "HH:MM" (at
 * least 6 bytes), for messages such as "quiet hours until 07:00".
 */
void quiet_local_hhmm(const char *tz, int64_t t_ms, char *out, size_t size);

/*
 * quiet_zone_enter / quiet_zone_leave bracket many calls for one zone so
 * that the TZ switch (a tz database read) happens once: between them,
 * calls for the same `tz` do not switch again. Nesting counts; each enter
 * needs one leave.
 */
void quiet_zone_enter(const char *tz);
void quiet_zone_leave(void);

#endif
