/*
 * log: one line per event on stderr, with redaction of registered secrets.
 *
 * Line format (STYLE.md):
 *   2026-01-02T03:04:05Z warn fetch: 'rust-blog': HTTP 503, retrying in 60s
 * Lower case, no full stop. No colour. Timestamps are UTC (RFC 3339).
 */
#ifndef KAKAOWATCH_LOG_H
#define KAKAOWATCH_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3
};

/*
 * log_init sets the threshold: lines above `level` are dropped.
 * Default before any call: LOG_LEVEL_INFO. `-q` maps to WARN, each `-v`
 * adds one level. Never fails.
 */
void log_init(enum log_level level);

/*
 * log_redact_add registers a secret (access token, refresh token,
 * authorization code, client secret): from now on every occurrence of it in
 * any logged line, and in strings passed through log_redact(), is replaced by
 * "[redacted]". The string is copied; strings shorter than 4 bytes and NULL
 * are ignored. At most 512 secrets are remembered: past that the oldest is
 * forgotten, except the first 8 registered (the client secret and the
 * tokens read at start-up), so months of refreshes stay bounded. Never
 * fails, and fails closed: when a secret cannot be recorded (out of
 * memory), no line can be proven free of it, so from then on every log
 * line is dropped (one fixed notice says so) and log_redact empties its
 * string, until log_redact_clear. Forgotten secrets are wiped.
 * The first secret also calls log_no_core_dumps(): every place that loads a
 * secret registers it here, so from then on no core file can hold it.
 */
void log_redact_add(const char *secret);

/*
 * log_no_core_dumps makes the process write no core file and refuse
 * ptrace attachment by other processes of its user: RLIMIT_CORE 0 (hard
 * limit too) and prctl(PR_SET_DUMPABLE, 0) (proc(5), prctl(2)). Called once
 * a secret is in memory; later calls do nothing. A failure is logged, not
 * returned.
 */
void log_no_core_dumps(void);

/* log_redact_clear forgets every registered secret (tests, reload). */
void log_redact_clear(void);

/*
 * log_redact rewrites `s` (NUL-terminated, at most `size` bytes including
 * the NUL) in place, replacing registered secrets. Output is truncated to
 * fit. Used for every error message that may reach the user.
 */
void log_redact(char *s, size_t size);

/*
 * log_vformat_redacted formats fmt/ap in full, then replaces registered
 * secrets. Returns a heap string (caller frees) or NULL on out-of-memory.
 */
char *log_vformat_redacted(const char *fmt, va_list ap);

/* printf-style loggers; the format never ends with "\n". */
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_warn appends ": strerror(errno)" (the errno at the call). */

#endif
