/*
 * regex: PCRE2 behind a small API (see regex.h). The only file that
 * includes pcre2.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "kakaowatch/regex.h"

#define REGEX_JIT_STACK_MIN (32 * 1024)
#define REGEX_JIT_STACK_MAX (512 * 1024)

struct regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack; /* NULL when the JIT is not used */
	char *pattern;
	unsigned ncaptures;
};

/* utf8_columns counts the characters in the first `off` bytes of `s` */
static size_t
utf8_columns(const char *s, size_t off)
{
	size_t i, n = 0;

	for (i = 0; i < off && s[i] != '\0'; i++) {
		/* count every byte that does not continue a sequence */
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	}
	return n;
}

struct regex *
regex_compile(const char *pattern, unsigned flags, struct regex_error *where,
    struct kw_err *err)
{
	struct regex *re = NULL;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	uint32_t opts;
	int code = 0;

	if (where != NULL)
		memset(where, 0, sizeof(*where));
	if (pattern == NULL) {
		kw_err_set(err, "no regular expression given");
		return NULL;
	}
	re = calloc(1, sizeof(*re));
	if (re == NULL)
		goto oom;
	re->pattern = strdup(pattern);
	if (re->pattern == NULL)
		goto oom;
	opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
	if (flags & REGEX_CASELESS)
		opts |= PCRE2_CASELESS;
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    opts, &code, &off, NULL);
	if (re->code == NULL) {
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown PCRE2 error");
		kw_err_set(err, "%s", (const char *)msg);
		if (where != NULL) {
			where->offset = off;
			where->column = utf8_columns(pattern, off);
		}
		goto fail;
	}
	if (pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT,
		&re->ncaptures) != 0)
		re->ncaptures = 0;
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (re->md == NULL || re->mctx == NULL)
		goto oom;
	pcre2_set_match_limit(re->mctx, REGEX_MATCH_LIMIT);
	pcre2_set_heap_limit(re->mctx, REGEX_HEAP_LIMIT_KIB);
	/* the JIT is an optimisation: without it (not built, no executable
	 * memory) the interpreter gives the same results */
	if (pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0) {
		re->jit_stack = pcre2_jit_stack_create(REGEX_JIT_STACK_MIN,
		    REGEX_JIT_STACK_MAX, NULL);
		if (re->jit_stack == NULL)
			goto oom;
		pcre2_jit_stack_assign(re->mctx, NULL, re->jit_stack);
	}
	return re;
oom:
	kw_err_set(err, "out of memory");
fail:
	regex_free(re);
	return NULL;
}

void
regex_free(struct regex *re)
{
	if (re == NULL)
		return;
	pcre2_jit_stack_free(re->jit_stack);
	pcre2_match_context_free(re->mctx);
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
}

unsigned
regex_capture_count(const struct regex *re)
{
	return re->ncaptures;
}

const char *
regex_pattern(const struct regex *re)
{
	return re->pattern;
}

int
regex_match(struct regex *re, const char *subject, size_t len, size_t start,
    struct regex_groups *groups, struct kw_err *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE *ov;
	size_t i, n;
	int rc;

	if (groups != NULL)
		groups->n = 0;
	if (start > len)
		return kw_err_set(err,
		    "regular expression '%s': start %zu is "
		    "beyond the text (%zu bytes)",
		    re->pattern, start, len);
	/* PCRE2 wants a non-NULL subject even when it is empty */
	rc = pcre2_match(re->code, (PCRE2_SPTR)(subject != NULL ? subject : ""),
	    len, start, 0, re->md, re->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
	    rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		return kw_err_set(err,
		    "regular expression '%s' is too complex "
		    "for this text: %s exceeded",
		    re->pattern,
		    rc == PCRE2_ERROR_MATCHLIMIT     ? "match limit" :
		    rc == PCRE2_ERROR_JIT_STACKLIMIT ? "stack limit" :
						       "memory limit");
	if (rc < 0) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown PCRE2 error");
		return kw_err_set(err, "regular expression '%s': %s",
		    re->pattern, (const char *)msg);
	}
	if (groups == NULL)
		return 1;
	ov = pcre2_get_ovector_pointer(re->md);
	n = (size_t)re->ncaptures + 1;
	if (n > REGEX_GROUPS_MAX)
		n = REGEX_GROUPS_MAX;
	for (i = 0; i < n; i++) {
		/* groups beyond rc did not take part; so does an unset one */
		if (i >= (size_t)rc || ov[2 * i] == PCRE2_UNSET ||
		    ov[2 * i + 1] < ov[2 * i]) {
			groups->v[i].set = false;
			groups->v[i].start = groups->v[i].end = 0;
			continue;
		}
		groups->v[i].set = true;
		groups->v[i].start = ov[2 * i];
		groups->v[i].end = ov[2 * i + 1];
	}
	groups->n = n;
	return 1;
}

char *
regex_group_dup(const struct regex_groups *groups, const char *subject,
    size_t i, bool *oom)
{
	size_t len;
	char *s;

	if (oom != NULL)
		*oom = false;
	if (groups == NULL || i >= groups->n || !groups->v[i].set)
		return NULL;
	len = groups->v[i].end - groups->v[i].start;
	s = malloc(len + 1);
	if (s == NULL) {
		if (oom != NULL)
			*oom = true;
		return NULL;
	}
	memcpy(s, subject + groups->v[i].start, len);
	s[len] = '\0';
	return s;
}
