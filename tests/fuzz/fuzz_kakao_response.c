/*
 * fuzz_kakao_response: what Kakao answers, parsed (token_apply_response,
 * kakao_refresh_result on an error status, kakao_classify_api_error;
 * token.h, kakao.h).
 *
 * Input layout: byte 0 picks the parser (modulo 3), bytes 1-2 the HTTP
 * status (big-endian, modulo 600), bytes 3-10 the clock (its low 34 bits:
 * up to the year 2514); the rest is the response body. Checked:
 *   - token_apply_response either merges a usable token (printable ASCII
 *     access token, expiry = now + expires_in > now, the old refresh
 *     token kept unless a new one came) or fails with a message and leaves
 *     the token exactly as it was;
 *   - the classifiers always return a known status with a message, 5xx
 *     without a known error code is RETRY, and no registered secret ever
 *     appears in the message (the body may quote one).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/http.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"
#include "kakaowatch/token.h"

#include "fuzz_util.h"

/* secrets a fuzzed body may quote; seeds and the dictionary hold them */
#define OLD_ACCESS "oldAccessTokenAAAA1111"
#define OLD_REFRESH "oldRefreshTokenRRRR2222"
#define SECRET "clientSecretSSSS3333"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

static void
token_fill(struct token *t)
{
	memset(t, 0, sizeof(*t));
	t->access_token = strdup(OLD_ACCESS);
	t->refresh_token = strdup(OLD_REFRESH);
	t->token_type = strdup("bearer");
	t->scope = strdup("talk_message");
	FUZZ_CHECK(t->access_token && t->refresh_token && t->token_type &&
		       t->scope,
	    "out of memory");
	t->expires_in = 21599;
	t->refresh_token_expires_in = 5183999;
	t->access_token_expires_at = 1700021599;
	t->refresh_token_expires_at = 1705183999;
}

static bool
printable_token(const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static void
check_no_secret(const char *msg)
{
	FUZZ_CHECK(strstr(msg, OLD_ACCESS) == NULL &&
		       strstr(msg, OLD_REFRESH) == NULL &&
		       strstr(msg, SECRET) == NULL,
	    "a secret in the message: '%s'", msg);
}

static void
fuzz_apply(const char *body, int64_t now_s)
{
	struct token t;
	struct kw_err err = { 0 };
	json_t *root, *rt;
	int r;

	token_fill(&t);
	r = token_apply_response(&t, body, now_s, &err);
	if (r == 0) {
		FUZZ_CHECK(printable_token(t.access_token), "access token");
		FUZZ_CHECK(printable_token(t.refresh_token), "refresh token");
		FUZZ_CHECK(t.expires_in > 0, "expires_in %lld",
		    (long long)t.expires_in);
		FUZZ_CHECK(t.access_token_expires_at > now_s,
		    "access expiry not after now");
		root = json_loads(body, 0, NULL);
		rt = json_object_get(root, "refresh_token");
		if (rt == NULL || json_is_null(rt)) {
			FUZZ_CHECK(strcmp(t.refresh_token, OLD_REFRESH) == 0 &&
				       t.refresh_token_expires_at == 1705183999,
			    "the kept refresh token or its expiry changed");
		} else {
			FUZZ_CHECK(json_is_string(rt) &&
				       strcmp(t.refresh_token,
					   json_string_value(rt)) == 0,
			    "a rotated refresh token was not taken");
		}
		json_decref(root);
		FUZZ_CHECK(t.scope != NULL && t.token_type != NULL,
		    "scope or token_type lost");
		(void)token_refresh_due(&t, now_s, 300);
	} else {
		FUZZ_CHECK(r == -1 && err.set, "failure without a message");
		FUZZ_CHECK(strcmp(t.access_token, OLD_ACCESS) == 0 &&
			       strcmp(t.refresh_token, OLD_REFRESH) == 0 &&
			       t.access_token_expires_at == 1700021599 &&
			       t.refresh_token_expires_at == 1705183999 &&
			       t.extra == NULL,
		    "a failed merge changed the token");
		check_no_secret(err.msg);
	}
	token_release(&t);
}

/* does `body` parse as an object with member `key` of type `type`? */
static bool
has_member(const char *body, const char *key, json_type type)
{
	json_t *root = json_loads(body, 0, NULL), *v;
	bool r;

	v = json_is_object(root) ? json_object_get(root, key) : NULL;
	r = v != NULL && json_typeof(v) == type;
	json_decref(root);
	return r;
}

static void
check_status(enum kakao_status s, const struct kw_err *err)
{
	FUZZ_CHECK(s >= KAKAO_OK && s <= KAKAO_FATAL, "status %d", (int)s);
	FUZZ_CHECK(s != KAKAO_OK, "an error classified as ok");
	FUZZ_CHECK(err->set && err->msg[0] != '\0', "no message");
	FUZZ_CHECK(strcmp(kakao_status_name(s), "unknown") != 0, "name");
	check_no_secret(err->msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kakao_client client = { 0 };
	struct http_response resp;
	struct kw_err err = { 0 };
	struct token t = { 0 };
	enum kakao_status s;
	int64_t now_s = 0;
	long status;
	char *body;
	size_t i;

	if (size < 11)
		return 0;
	status = (long)((data[1] << 8 | data[2]) % 600);
	for (i = 3; i < 11; i++)
		now_s = (int64_t)((uint64_t)now_s << 8 | data[i]);
	now_s &= 0x3FFFFFFFFLL; /* a clock up to the year 2514 */
	body = fuzz_strndup(data + 11, size - 11);
	memset(&resp, 0, sizeof(resp));
	resp.error = HTTP_OK;
	resp.status = status;
	resp.body = body;
	resp.len = size - 11;
	log_redact_add(OLD_ACCESS);
	log_redact_add(OLD_REFRESH);
	log_redact_add(SECRET);
	switch (data[0] % 3) {
	case 0:
		fuzz_apply(body, now_s);
		break;
	case 1:
		if (status == 200)
			break; /* a merge: case 0 */
		s = kakao_refresh_result(&client, &t, &resp, now_s, &err);
		check_status(s, &err);
		FUZZ_CHECK(t.access_token == NULL && t.refresh_token == NULL,
		    "an auth error changed the token");
		if (status >= 500 &&
		    !has_member(body, "error_code", JSON_STRING))
			FUZZ_CHECK(s == KAKAO_RETRY, "auth 5xx is %s",
			    kakao_status_name(s));
		break;
	default:
		s = kakao_classify_api_error(status, body, &err);
		check_status(s, &err);
		if (status >= 500 && !has_member(body, "code", JSON_INTEGER))
			FUZZ_CHECK(s == KAKAO_RETRY, "api 5xx is %s",
			    kakao_status_name(s));
		break;
	}
	free(body);
	log_redact_clear();
	return 0;
}
