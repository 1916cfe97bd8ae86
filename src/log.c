/* log: one line per event on stderr, secrets redacted (see log.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kakaowatch/log.h"

#define LOG_LINE_MAX 2048
#define REDACTED "[redacted]"

static enum log_level log_threshold = LOG_LEVEL_INFO;
static char **secrets;
static size_t nsecrets;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_level_get(void)
{
	return log_threshold;
}

void
log_redact_add(const char *secret)
{
	char **v;
	size_t i;

	if (secret == NULL || strlen(secret) < 4)
		return;
	for (i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	v = realloc(secrets, (nsecrets + 1) * sizeof(*v));
	if (v == NULL)
		return;
	secrets = v;
	secrets[nsecrets] = strdup(secret);
	if (secrets[nsecrets] != NULL)
		nsecrets++;
}

void
log_redact_clear(void)
{
	size_t i;

	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

void
log_redact(char *s, size_t size)
{
	char out[LOG_LINE_MAX * 2];
	size_t i, o, slen;
	const char *p;
	int hit;

	if (s == NULL || size == 0 || nsecrets == 0)
		return;
	o = 0;
	hit = 0;
	for (p = s; *p != '\0' && o < sizeof(out) - 1;) {
		for (i = 0; i < nsecrets; i++) {
			slen = strlen(secrets[i]);
			if (strncmp(p, secrets[i], slen) == 0)
				break;
		}
		if (i < nsecrets) {
			size_t rlen = strlen(REDACTED);
			if (o + rlen >= sizeof(out) - 1)
				break;
			memcpy(out + o, REDACTED, rlen);
			o += rlen;
			p += strlen(secrets[i]);
			hit = 1;
		} else {
			out[o++] = *p++;
		}
	}
	if (!hit)
		return;
	out[o] = '\0';
	if (o >= size)
		o = size - 1;
	memcpy(s, out, o);
	s[o] = '\0';
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char stamp[32];
	struct tm tm;
	time_t now;
	int saved = errno;
	size_t len;

	if (level > log_threshold)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(saved));
	}
	log_redact(line, sizeof(line));
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s\n", stamp, level_names[level], line);
	fflush(stderr);
	errno = saved;
}

#define DEFINE_LOGGER(name, level, with_errno)                            \
	void name(const char *fmt, ...)                                   \
	{                                                                 \
		va_list ap;                                               \
		va_start(ap, fmt);                                        \
		vlog(level, with_errno, fmt, ap);                         \
		va_end(ap);                                               \
	}

DEFINE_LOGGER(log_errorx, LOG_LEVEL_ERROR, 0)
DEFINE_LOGGER(log_warn, LOG_LEVEL_WARN, 1)
DEFINE_LOGGER(log_warnx, LOG_LEVEL_WARN, 0)
DEFINE_LOGGER(log_info, LOG_LEVEL_INFO, 0)
DEFINE_LOGGER(log_debug, LOG_LEVEL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
