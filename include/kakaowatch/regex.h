/*
 * regex: the one wrapper for every regular expression of kakaowatch (item
 * key patterns, conditions). The only user of PCRE2 (Debian libpcre2-dev,
 * the 8-bit library libpcre2-8); no other module includes pcre2.h.
 *
 * Syntax: Perl-compatible, as documented in pcre2pattern(3) of PCRE2 10.x.
 * Patterns and subjects are UTF-8 (PCRE2_UTF): `.` matches one character,
 * not one byte, and \d, \w, \s and [[:alpha:]] are ASCII-only unless the
 * pattern starts with (*UCP). A subject that is not valid UTF-8 is still
 * matched (PCRE2_MATCH_INVALID_UTF: invalid bytes never match anything, so
 * a match never contains one); a pattern that is not valid UTF-8 does not
 * compile. (*UTF) style option settings that would turn UTF mode off are
 * refused (PCRE2_NEVER_BACKSLASH_C is set too: \C could split a character).
 *
 * Hostile patterns: each match runs under a match limit (REGEX_MATCH_LIMIT
 * calls of PCRE2's internal match function, pcre2_set_match_limit) and a
 * heap limit (REGEX_HEAP_LIMIT_KIB, pcre2_set_heap_limit), so a pattern
 * like `(a+)+$` against a long run of a's fails with an error in bounded
 * time instead of stalling the daemon's one thread. With the JIT (used when
 * PCRE2 was built with it) the same limit counts differently but still
 * bounds the work; a JIT stack is 32 KiB .. 512 KiB.
 *
 * A struct regex holds its own match scratch space: one thread, and one
 * match at a time per struct regex.
 */
#ifndef KAKAOWATCH_REGEX_H
#define KAKAOWATCH_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/util.h"

/* pcre2_set_match_limit: ~0.1 s of backtracking on one core */
#define REGEX_MATCH_LIMIT 1000000u
/* pcre2_set_heap_limit, in KiB: backtracking memory of one match */
#define REGEX_HEAP_LIMIT_KIB 8192u
/* capture groups reported by regex_match: group 0 (the whole match) to 9 */
#define REGEX_GROUPS_MAX 10

/* flags for regex_compile */
enum {
	REGEX_CASELESS = 1, /* case-insensitive (Unicode simple case folding) */
};

struct regex;

/*
 * Where a pattern failed to compile. `offset` is PCRE2's error offset in
 * bytes from the start of the pattern (where it noticed the problem; it may
 * be the pattern's length for "missing )"); `column` is the same place in
 * characters (UTF-8 sequences counted once, 0-based), for FILE:LINE:COL
 * messages: the character column of the pattern's first character plus
 * `column`.
 */
struct regex_error {
	size_t offset;
	size_t column;
};

/*
 * regex_compile compiles `pattern` (NUL-terminated UTF-8, borrowed) with
 * REGEX_* `flags`. Returns the compiled regex (free with regex_free), or
 * NULL with PCRE2's message in `err` (e.g. "missing closing parenthesis",
 * "quantifier does not follow a repeatable item") and the position in
 * `*where` (may be NULL). Out of memory is also NULL with a message
 * (offset 0).
 */
struct regex *regex_compile(const char *pattern, unsigned flags,
    struct regex_error *where, struct kw_err *err);

/* regex_free frees a compiled regex. NULL is a no-op. */
void regex_free(struct regex *re);

/* regex_capture_count returns the number of capture groups ( (...) ) */
unsigned regex_capture_count(const struct regex *re);

/* regex_pattern returns the pattern as given (owned by the regex) */
const char *regex_pattern(const struct regex *re);

/*
 * The capture groups of one match: v[0] is the whole match, v[i] group i.
 * A group that did not take part in the match (e.g. the untaken side of
 * `(a)|(b)`) has set == false. Offsets are bytes into the subject;
 * end >= start. `n` is how many entries are filled: 1 + the pattern's
 * capture count, at most REGEX_GROUPS_MAX (higher groups are not reported).
 */
struct regex_groups {
	size_t n;
	struct {
		bool set;
		size_t start, end;
	} v[REGEX_GROUPS_MAX];
};

/*
 * regex_match searches `subject` (`len` bytes, borrowed; need not be
 * NUL-terminated, may contain NUL) from byte `start` for the first match.
 * Returns 1 and fills `groups` (may be NULL) on a match, 0 when there is
 * none (`groups` then has n = 0), or -1 with a message in `err` when the
 * match was stopped: the match or heap limit was reached ("regular
 * expression 'P' is too complex for this text: match limit exceeded") or
 * out of memory. start > len is -1 too.
 */
int regex_match(struct regex *re, const char *subject, size_t len, size_t start,
    struct regex_groups *groups, struct kw_err *err);

/*
 * regex_group_dup returns a heap copy (NUL-terminated; caller frees) of
 * group `i` of a match of `subject`, or NULL when that group is not set
 * or out of memory (*oom then tells which; oom may be NULL).
 */
char *regex_group_dup(const struct regex_groups *groups, const char *subject,
    size_t i, bool *oom);

#endif
