/*
 * fuzz_cond: a `when:` condition to cond_parse (cond.h), then cond_eval.
 *
 * Input layout: the first byte picks the flags (bit 0: COND_FREE_IS_ZERO);
 * the rest up to the first NUL is the expression; the bytes after that NUL
 * are the text of every field the expression asks for (missing when there
 * is no NUL). The field text also goes to cond_parse_number.
 *
 * Checked, as cond.h promises: a refused expression has a message and a
 * position within it (0 .. its length in code points); an accepted one
 * evaluates without error or stops with a message, and the reason is a
 * NUL-terminated string within COND_REASON_MAX; a number read is finite.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/cond.h"
#include "kakaowatch/log.h"

#include "fuzz_util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

static const char *
lookup(void *ctx, const char *name)
{
	(void)name;
	return ctx;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_err err = { 0 };
	char reason[COND_REASON_MAX + 1];
	unsigned flags = 0;
	const uint8_t *nul;
	char *expr, *field = NULL;
	struct cond *c;
	size_t at = SIZE_MAX;
	bool r = false;
	double v;

	if (size > 0) {
		flags = (data[0] & 1) ? COND_FREE_IS_ZERO : 0;
		data++;
		size--;
	}
	nul = memchr(data, 0, size);
	expr = fuzz_strndup(data, nul ? (size_t)(nul - data) : size);
	if (nul != NULL) {
		field = fuzz_strndup(nul + 1, size - (size_t)(nul - data) - 1);
		if (cond_parse_number(field, flags, &v) == 0)
			FUZZ_CHECK(isfinite(v), "'%s' read as %f", field, v);
	}
	c = cond_parse(expr, flags, &at, &err);
	if (c == NULL) {
		FUZZ_CHECK(err.set && err.msg[0] != '\0',
		    "refused without a message");
		FUZZ_CHECK(at <= fuzz_code_points(expr),
		    "position %zu past the end", at);
	} else {
		FUZZ_CHECK(!err.set, "accepted with a message: %s", err.msg);
		memset(reason, 'x', sizeof(reason));
		if (cond_eval(c, lookup, field, &r, reason, &err) != 0)
			FUZZ_CHECK(err.set && !r, "stopped without a message");
		FUZZ_CHECK(memchr(reason, 0, COND_REASON_MAX) != NULL,
		    "reason not terminated");
		FUZZ_CHECK(field != NULL || !r || strstr(expr, "not") != NULL,
		    "'%s' true with every field missing", expr);
		cond_free(c);
	}
	free(field);
	free(expr);
	return 0;
}
