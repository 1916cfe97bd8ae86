/*
 * quiet: quiet-hours windows in a time zone (quiet.h).
 */
#include "kakaowatch/quiet.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TZ_NAME_MAX 128
#define ZONE_DEPTH 8
#define DAY_S 86400

/* ---- parsing ---- */

/* parse_hhmm reads H:MM or HH:MM at *p; 24:00 only when allow24 */
static int
parse_hhmm(const char **p, bool allow24, int *out)
{
	const char *s = *p;
	int h = 0, m, digits = 0;

	while (isdigit((unsigned char)*s) && digits < 2) {
		h = h * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || *s != ':' || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]))
		return -1;
	m = (s[1] - '0') * 10 + (s[2] - '0');
	s += 3;
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)))
		return -1;
	*out = (h * 60 + m) % (24 * 60);
	*p = s;
	return 0;
}

int
quiet_parse(const char *text, struct quiet_window *w, char *msg, size_t msgsize)
{
	const char *p = text ? text : "";
	int start, end;

	while (*p == ' ')
		p++;
	if (strcasecmp(p, "off") == 0 || strcasecmp(p, "none") == 0)
		return 1;
	if (parse_hhmm(&p, false, &start) != 0)
		goto bad;
	while (*p == ' ')
		p++;
	if (*p != '-')
		goto bad;
	p++;
	while (*p == ' ')
		p++;
	if (parse_hhmm(&p, true, &end) != 0)
		goto bad;
	while (*p == ' ')
		p++;
	if (*p != '\0')
		goto bad;
	if (start == end) {
		snprintf(msg, msgsize,
		    "start and end are the same time: give a window such as "
		    "23:00-07:00, or off");
		return -1;
	}
	w->start = start;
	w->end = end;
	return 0;
bad:
	snprintf(msg, msgsize,
	    "must be HH:MM-HH:MM (local time, e.g. 23:00-07:00) or off");
	return -1;
}

void
quiet_format(const struct quiet_window *w, char *out, size_t size)
{
	snprintf(out, size, "%02d:%02d-%02d:%02d", w->start / 60, w->start % 60,
	    w->end / 60, w->end % 60);
}

/* ---- time zones ---- */

/* the rule used when the tz database has no file for a built-in name */
static const char *
builtin_rule(const char *name)
{
	if (strcmp(name, "Asia/Seoul") == 0 || strcmp(name, "ROK") == 0)
		return "KST-9";
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
		return "UTC0";
	return NULL;
}

static bool
name_ok(const char *name)
{
	const char *p;
	size_t len = strlen(name);

	if (len == 0 || len >= TZ_NAME_MAX || name[0] == '/' ||
	    name[0] == '.' || strstr(name, "..") != NULL)
		return false;
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '/' && *p != '_' &&
		    *p != '-' && *p != '+')
			return false;
	return true;
}

/* zone_file: does the tz database hold a TZif file for `name`? */
static bool
zone_file(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4096], magic[4];
	struct stat sb;
	int fd;
	bool ok;

	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	     read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int
quiet_tz_check(const char *name, char *msg, size_t msgsize)
{
	if (name == NULL || !name_ok(name)) {
		snprintf(msg, msgsize,
		    "must be a time zone name such as Asia/Seoul, "
		    "Europe/Berlin or UTC");
		return -1;
	}
	if (zone_file(name) || builtin_rule(name) != NULL)
		return 0;
	snprintf(msg, msgsize,
	    "unknown time zone (not in the tz database %s): use a name such "
	    "as Asia/Seoul, Europe/Berlin or UTC",
	    getenv("TZDIR") && getenv("TZDIR")[0] ? getenv("TZDIR") :
						    "/usr/share/zoneinfo");
	return -1;
}

/*
 * The zone stack: the TZ value in force before the first enter, and the
 * zone names entered. A switch happens only when the top changes.
 */
static struct {
	int depth;
	bool had_tz;
	char *saved_tz;
	char names[ZONE_DEPTH][TZ_NAME_MAX];
} zs;

static void
zone_apply(const char *name)
{
	const char *rule = NULL;

	if (!zone_file(name))
		rule = builtin_rule(name);
	setenv("TZ", rule ? rule : name, 1);
	tzset();
}

void
quiet_zone_enter(const char *tz)
{
	const char *old;

	if (tz == NULL || !name_ok(tz))
		tz = QUIET_DEFAULT_TZ;
	if (zs.depth == 0) {
		old = getenv("TZ");
		zs.had_tz = old != NULL;
		free(zs.saved_tz);
		zs.saved_tz = old ? strdup(old) : NULL;
	}
	if (zs.depth >= ZONE_DEPTH) {
		zs.depth++; /* too deep: stays in the current zone */
		return;
	}
	if (zs.depth == 0 || strcmp(zs.names[zs.depth - 1], tz) != 0)
		zone_apply(tz);
	snprintf(zs.names[zs.depth], TZ_NAME_MAX, "%s", tz);
	zs.depth++;
}

void
quiet_zone_leave(void)
{
	if (zs.depth <= 0)
		return;
	zs.depth--;
	if (zs.depth >= ZONE_DEPTH)
		return;
	if (zs.depth == 0) {
		if (zs.had_tz && zs.saved_tz != NULL)
			setenv("TZ", zs.saved_tz, 1);
		else
			unsetenv("TZ");
		tzset();
		free(zs.saved_tz);
		zs.saved_tz = NULL;
	} else if (strcmp(zs.names[zs.depth - 1], zs.names[zs.depth]) != 0) {
		zone_apply(zs.names[zs.depth - 1]);
	}
}

/* ---- window arithmetic (inside a zone) ---- */

static time_t
floor_s(int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms % 1000 != 0 && ms < 0)
		s--;
	return (time_t)s;
}

static bool
in_window(const struct quiet_window *w, time_t t)
{
	struct tm tm;
	int m;

	if (localtime_r(&t, &tm) == NULL)
		return false;
	m = tm.tm_hour * 60 + tm.tm_min;
	if (w->start < w->end)
		return m >= w->start && m < w->end;
	return m >= w->start || m < w->end;
}

bool
quiet_in(const struct quiet_window *w, const char *tz, int64_t t_ms)
{
	bool in;

	if (w == NULL || w->start == w->end)
		return false;
	quiet_zone_enter(tz);
	in = in_window(w, floor_s(t_ms));
	quiet_zone_leave();
	return in;
}

/*
 * window_end: t is inside; the local end time on t's day or one of the
 * next two (mktime picks the offset in force there), the first that lies
 * after t and outside the window, then bisected down to the first second
 * outside (a skipped end time: the jump itself).
 */
static time_t
window_end(const struct quiet_window *w, time_t t)
{
	struct tm now, tm;
	time_t c = (time_t)-1, lo, hi, mid;
	int k;

	if (localtime_r(&t, &now) == NULL)
		return t + DAY_S;
	for (k = 0; k < 3; k++) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = now.tm_year;
		tm.tm_mon = now.tm_mon;
		tm.tm_mday = now.tm_mday + k;
		tm.tm_hour = w->end / 60;
		tm.tm_min = w->end % 60;
		tm.tm_isdst = -1;
		c = mktime(&tm);
		if (c != (time_t)-1 && c > t && !in_window(w, c))
			break;
		c = (time_t)-1;
	}
	if (c == (time_t)-1)
		return t + DAY_S;
	lo = t;
	hi = c;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (in_window(w, mid))
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

int64_t
quiet_end(const struct quiet_window *w, const char *tz, int64_t t_ms)
{
	time_t t = floor_s(t_ms), e;

	if (w == NULL || w->start == w->end)
		return t_ms;
	quiet_zone_enter(tz);
	if (!in_window(w, t)) {
		quiet_zone_leave();
		return t_ms;
	}
	e = window_end(w, t);
	quiet_zone_leave();
	return (int64_t)e * 1000;
}

void
quiet_local_hhmm(const char *tz, int64_t t_ms, char *out, size_t size)
{
	time_t t = floor_s(t_ms);
	struct tm tm;

	quiet_zone_enter(tz);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%H:%M", &tm) == 0) {
		if (size > 0)
			out[0] = '\0';
	}
	quiet_zone_leave();
}
