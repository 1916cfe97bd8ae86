/*
 * util: error carrier, strict number/duration/size parsing, clocks, atomic
 * file replacement. Knows nothing of the rest of kakaowatch.
 */
#ifndef KAKAOWATCH_UTIL_H
#define KAKAOWATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KW_ERR_MAX 512

/*
 * struct kw_err carries one human-readable error message from where it is
 * found up to the command that prints it. The first, most specific message
 * wins: later kw_err_set calls on a set error are ignored. Embed it on the
 * stack; zero-initialise (`struct kw_err err = {0};`).
 */
struct kw_err {
	bool set;
	char msg[KW_ERR_MAX];
};

/*
 * kw_err_set formats a message into `err` unless it is already set or `err`
 * is NULL. Registered secrets (log_redact_add) are redacted. Always returns
 * -1 so callers can write `return kw_err_set(err, "...")`.
 */
int kw_err_set(struct kw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* kw_err_clear resets `err` to unset. */
void kw_err_clear(struct kw_err *err);

/*
 * util_parse_int parses a whole decimal integer string (optional sign, no
 * spaces, no trailing text) within [min, max] into *out. Returns 0, or -1 on
 * any syntax or range error (*out untouched).
 */
int util_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * util_parse_duration parses "500ms", "90s", "15m", "2h", "1d" or a
 * combination without spaces ("1h30m") into milliseconds. A bare number is
 * rejected (the unit is required). Returns 0, or -1 with a message in `err`
 * ("bad duration '1x': use a number with ms, s, m, h or d, e.g. 90s").
 */
int util_parse_duration(const char *s, int64_t *out_ms, struct kw_err *err);

/*
 * util_parse_size parses "512", "512B", "64KB", "64KiB", "5MB", "5MiB",
 * "1GB", "1GiB" (KB = 1000, KiB = 1024) into bytes. Returns 0, or -1 with a
 * message in `err`.
 */
int util_parse_size(const char *s, int64_t *out_bytes, struct kw_err *err);

/*
 * util_parse_percent parses "10%" (the % is required, 0..100, decimals
 * allowed: "2.5%") into *out (10.0). Returns 0, or -1 with a message.
 */
int util_parse_percent(const char *s, double *out, struct kw_err *err);

/*
 * util_parse_bool accepts true/false/yes/no/on/off (YAML 1.1 spelling,
 * case-insensitive). Returns 0, or -1 (no message: the caller knows the key).
 */
int util_parse_bool(const char *s, bool *out);

/* util_now_ms: wall clock, milliseconds since the Unix epoch. */
int64_t util_now_ms(void);

/* util_mono_ms: CLOCK_MONOTONIC in milliseconds, for deadlines. */
int64_t util_mono_ms(void);

/*
 * util_write_file_atomic replaces `path` with `len` bytes of `data`: writes
 * "PATH.tmp.PID" with `mode` (e.g. 0600), fsyncs it, optionally links the
 * previous file to "PATH.bak" (keep_bak), renames over `path` and fsyncs the
 * directory. A reader sees the old or the new file, never half of one.
 * Returns 0, or -1 with a message in `err` (the temp file is removed).
 */
int util_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, bool keep_bak, struct kw_err *err);

/*
 * util_read_file reads the whole of `path` (at most `max` bytes; more is an
 * error) into a NUL-terminated heap buffer. Returns it (caller frees) and
 * its length in *len_out (may be NULL), or NULL with a message in `err`.
 */
char *util_read_file(const char *path, size_t max, size_t *len_out,
    struct kw_err *err);

/*
 * util_mkdir_p creates `path` and its parents with `mode` (e.g. 0700).
 * Existing directories are left as they are. Returns 0 or -1 with `err`.
 */
int util_mkdir_p(const char *path, mode_t mode, struct kw_err *err);

/*
 * util_dirname returns the directory part of `path` as a heap string the
 * caller frees: everything before the last '/', "/" for "/x", "." when
 * there is no '/' (as dirname(3), without touching `path` and without
 * its trailing-slash rules). NULL on out-of-memory.
 */
char *util_dirname(const char *path);

/*
 * util_path_join returns "dir/name" (or a copy of `name` when it is
 * absolute) as a heap string the caller frees; NULL on out-of-memory.
 */
char *util_path_join(const char *dir, const char *name);

/*
 * util_str_eq: are `a` and `b` the same string? Either may be NULL (not
 * set): two NULLs are equal, NULL and a string are not.
 */
bool util_str_eq(const char *a, const char *b);

/*
 * util_wipe zeroes `n` bytes at `p` in a way the compiler keeps
 * (explicit_bzero: a memset before free is removed at -O2).
 * util_wipe_free wipes the NUL-terminated secret `s` and frees it; NULL
 * is a no-op. For tokens, codes, client secrets and what held them.
 */
void util_wipe(void *p, size_t n);
void util_wipe_free(char *s);

/* util_strdup_or_null: strdup that passes NULL through. */
char *util_strdup_or_null(const char *s);

/*
 * util_random_unit returns a uniformly random number in [0, 1) (53 bits
 * from getrandom(2); never seeded, so two processes differ). For jitter
 * and spreading, not for secrets.
 */
double util_random_unit(void);

/*
 * util_random_hex fills `out` with `nbytes` random bytes from getrandom(2)
 * as 2*nbytes lowercase hex digits plus NUL (`out` must hold 2*nbytes+1).
 * Returns 0 or -1.
 */
int util_random_hex(char *out, size_t nbytes);

/*
 * util_url_decode decodes %XX and '+' (as space) of a query value. Returns a
 * heap string (caller frees) or NULL on a bad escape / out-of-memory.
 */
char *util_url_decode(const char *s);

#endif
