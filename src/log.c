/* log: one line per event on stderr, secrets redacted (see log.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "kakaowatch/log.h"

#define LOG_LINE_MAX 2048
#define REDACTED "[redacted]"
#define REDACT_MAX 512 /* secrets remembered at most */
#define REDACT_KEEP 8  /* the first ones are never forgotten */

static enum log_level log_threshold = LOG_LEVEL_INFO;
static char **secrets;
static size_t nsecrets;
/* a secret could not be recorded: no line can be proven clean any more */
static bool secret_lost, lost_told;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(enum log_level level)
{
	log_threshold = level;
}

/* forget frees a recorded secret, wiped (a plain memset would be elided) */
static void
forget(char *s)
{
	explicit_bzero(s, strlen(s));
	free(s);
}

void
log_no_core_dumps(void)
{
	static const struct rlimit zero = { 0, 0 };
	static bool done;

	if (done)
		return;
	done = true;
	/* a core file would hold every secret in memory: none is written,
	 * and other processes of the same user cannot ptrace us either */
	if (setrlimit(RLIMIT_CORE, &zero) != 0)
		log_warn("cannot turn core dumps off (setrlimit)");
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		log_warn("cannot turn core dumps off (prctl)");
}

void
log_redact_add(const char *secret)
{
	char **v;
	size_t i;

	if (secret == NULL || strlen(secret) < 4)
		return;
	log_no_core_dumps();
	for (i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	if (nsecrets >= REDACT_MAX) {
		/* a daemon refreshes its access token for months: forget the
		 * oldest tokens (long dead), never the first few secrets (the
		 * client secret and the tokens read at start) */
		forget(secrets[REDACT_KEEP]);
		memmove(&secrets[REDACT_KEEP], &secrets[REDACT_KEEP + 1],
		    (nsecrets - REDACT_KEEP - 1) * sizeof(*secrets));
		nsecrets--;
	}
	v = realloc(secrets, (nsecrets + 1) * sizeof(*v));
	if (v == NULL) {
		secret_lost = true; /* fail closed: see vlog */
		return;
	}
	secrets = v;
	secrets[nsecrets] = strdup(secret);
	if (secrets[nsecrets] == NULL)
		secret_lost = true;
	else
		nsecrets++;
}

void
log_redact_clear(void)
{
	size_t i;

	for (i = 0; i < nsecrets; i++)
		forget(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
	secret_lost = lost_told = false;
}

/*
 * log_redact_alloc returns a heap copy of s with every registered secret
 * replaced (the longest secret that matches at a position wins), or NULL on
 * out-of-memory; *hit says whether anything was replaced.
 */
static char *
log_redact_alloc(const char *s, int *hit)
{
	size_t i, slen, best, rlen = strlen(REDACTED), o = 0, cap;
	const char *p;
	char *out;

	*hit = 0;
	cap = strlen(s) * (rlen + 1) + 1;
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (p = s; *p != '\0';) {
		best = 0;
		for (i = 0; i < nsecrets; i++) {
			slen = strlen(secrets[i]);
			if (slen > best && strncmp(p, secrets[i], slen) == 0)
				best = slen;
		}
		if (best > 0) {
			memcpy(out + o, REDACTED, rlen);
			o += rlen;
			p += best;
			*hit = 1;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

void
log_redact(char *s, size_t size)
{
	char *out;
	size_t o;
	int hit;

	if (s == NULL || size == 0)
		return;
	if (secret_lost) {
		s[0] = '\0'; /* a secret we could not record may be in it */
		return;
	}
	if (nsecrets == 0)
		return;
	out = log_redact_alloc(s, &hit);
	if (out == NULL) {
		/* cannot prove the line is clean: drop it */
		s[0] = '\0';
		return;
	}
	if (hit) {
		o = strlen(out);
		if (o >= size)
			o = size - 1;
		memcpy(s, out, o);
		s[o] = '\0';
	}
	free(out);
}

char *
log_vformat_redacted(const char *fmt, va_list ap)
{
	va_list ap2;
	char *full, *red;
	int n, hit;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	if (secret_lost)
		return NULL;
	full = malloc((size_t)n + 1);
	if (full == NULL)
		return NULL;
	vsnprintf(full, (size_t)n + 1, fmt, ap);
	if (nsecrets == 0)
		return full;
	red = log_redact_alloc(full, &hit);
	explicit_bzero(full, (size_t)n);
	free(full);
	return red;
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char stamp[32];
	struct tm tm;
	time_t now;
	int saved = errno;
	char *line;

	if (level > log_threshold)
		return;
	/* redact the whole line before any cut, so no prefix of a secret
	 * can survive truncation */
	line = log_vformat_redacted(fmt, ap);
	if (line == NULL) {
		/* out of memory, or a secret could not be recorded: the line
		 * is dropped; say so once, in words that hold no secret */
		if (secret_lost && !lost_told) {
			lost_told = true;
			fprintf(stderr,
			    "log: a secret could not be recorded "
			    "for redaction (out of memory): log lines are "
			    "dropped from now on\n");
			fflush(stderr);
		}
		errno = saved;
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (with_errno)
		fprintf(stderr, "%s %s %.*s: %s\n", stamp, level_names[level],
		    LOG_LINE_MAX, line, strerror(saved));
	else
		fprintf(stderr, "%s %s %.*s\n", stamp, level_names[level],
		    LOG_LINE_MAX, line);
	fflush(stderr);
	free(line);
	errno = saved;
}

#define DEFINE_LOGGER(name, level, with_errno)    \
	void name(const char *fmt, ...)           \
	{                                         \
		va_list ap;                       \
		va_start(ap, fmt);                \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                       \
	}

DEFINE_LOGGER(log_errorx, LOG_LEVEL_ERROR, 0)
DEFINE_LOGGER(log_warn, LOG_LEVEL_WARN, 1)
DEFINE_LOGGER(log_warnx, LOG_LEVEL_WARN, 0)
DEFINE_LOGGER(log_info, LOG_LEVEL_INFO, 0)
DEFINE_LOGGER(log_debug, LOG_LEVEL_DEBUG, 0)
