/*
 * cond: `when:` conditions on an item's fields (ours; pure: no I/O, no
 * global state). Grammar (whitespace between tokens is free):
 *
 *   expr    := and ( "or" and )*
 *   and     := unary ( "and" unary )*
 *   unary   := "not" unary | primary
 *   primary := "(" expr ")" | FIELD OP VALUE
 *   OP      := "<" | "<=" | ">" | ">=" | "==" | "!=" | "~" | "!~"
 *   FIELD   := [A-Za-z_][A-Za-z0-9_.]*   (not "and", "or", "not"): `title`,
 *              `link` or a field of the item (item.h; cond_check_fields
 *              tells which names a watch may use)
 *   VALUE   := NUMBER | "\"" string "\""  (\" and \\ are the only escapes)
 *
 * Precedence: not > and > or; and/or associate left. `~` / `!~` take a
 * string and match (does not match) it as a regular expression anywhere in
 * the field (regex.h: PCRE2, UTF-8; `(?i)` for case-insensitive).
 * `<` `<=` `>` `>=` compare numbers: the field's text and the literal are
 * read with cond_parse_number. `==` / `!=` compare numbers when the value
 * is a number and the strings byte for byte when it is a quoted string.
 * Nesting (parentheses and `not`) is limited to COND_DEPTH_MAX levels and
 * an expression to COND_EXPR_MAX bytes.
 *
 * Evaluation: a comparison whose field is missing, or whose field text is
 * not a number for a numeric operator, is false (also under `!=` and
 * `!~`), and the first such comparison met gives the reason reported by
 * cond_eval (for `kakaowatch test`). `not` inverts the comparison's false.
 */
#ifndef KAKAOWATCH_COND_H
#define KAKAOWATCH_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "kakaowatch/util.h"

#define COND_DEPTH_MAX 32
#define COND_EXPR_MAX 4096
#define COND_REASON_MAX 256

/* flags for cond_parse and cond_parse_number */
enum {
	COND_FREE_IS_ZERO =
	    1, /* the text "무료" (free) reads as the number 0 */
};

struct cond;

/*
 * cond_parse_number reads a price or count the way Korean shop pages write
 * them, into *out: optional surrounding whitespace, an optional currency
 * sign `₩` (U+20A9) or `￦` (U+FFE6) or `\`, an optional `-`, then one or
 * more groups of a decimal number (digits with optional `,` thousands
 * separators and an optional `.` fraction) optionally followed by a unit
 * 억 (10^8), 만 (10^4) or 천 (10^3), units strictly decreasing
 * (`1억 2,000만`, `1만2000`), then an optional `원`, then an optional
 * `KRW` or `(KRW)`. Examples: `12,900원`, `₩12,900`, `￦ 2,046,670 (KRW)`,
 * `1.2만원` = 12000, `3천원` = 3000. With COND_FREE_IS_ZERO
 * the text `무료` alone is 0. Returns 0, or -1 when the text is anything
 * else (empty, other words, more than 18 significant digits).
 */
int cond_parse_number(const char *s, unsigned flags, double *out);

/*
 * cond_parse compiles expression `expr` (NUL-terminated UTF-8, borrowed)
 * with COND_* `flags` (which apply to every number read at evaluation).
 * Returns the condition (free with cond_free), or NULL with a message in
 * `err` and, when `where` is not NULL, the 0-based character (code point)
 * offset in `expr` of the offending token in *where (for FILE:LINE:COL:
 * add it to the column of the expression's first character). A regex that
 * does not compile is reported at its character inside the string literal.
 */
struct cond *cond_parse(const char *expr, unsigned flags, size_t *where,
    struct kw_err *err);

/* cond_known_fn: is `name` a field the items being tested may have? */
typedef bool (*cond_known_fn)(void *ctx, const char *name);

/*
 * cond_check_fields asks `known(ctx, name)` about every field name `c`
 * compares, in source order. Returns 0 when it knows them all, else -1
 * with "unknown field 'NAME'" in `err` and, when `where` is not NULL, the
 * 0-based code point offset of the first unknown name in the expression
 * (as cond_parse's *where). For `check`: a typo in a field name is a
 * config error, not a condition that never holds.
 */
int cond_check_fields(const struct cond *c, cond_known_fn known, void *ctx,
    size_t *where, struct kw_err *err);

/* cond_free frees a condition. NULL is a no-op. */
void cond_free(struct cond *c);

/*
 * cond_lookup_fn returns the text of field `name` of the item being
 * tested (borrowed; must stay valid during cond_eval), or NULL when the
 * item has no such field.
 */
typedef const char *(*cond_lookup_fn)(void *ctx, const char *name);

/*
 * cond_eval evaluates `c` against the fields given by `lookup(ctx, ...)`
 * into *result. When `reason` is not NULL (COND_REASON_MAX bytes) it
 * receives "" or why a comparison was false for lack of data, e.g.
 * "field 'price' is missing" or "price '문의' is not a number". Returns 0,
 * or -1 with a message in `err` when a regex match was stopped (regex.h
 * limits); *result is then false.
 */
int cond_eval(struct cond *c, cond_lookup_fn lookup, void *ctx, bool *result,
    char *reason, struct kw_err *err);

#endif
