/*
 * tests for kakao: the OAuth + memo client against tests/fakes/fake_kakao.py
 * (a strict loopback fake of kauth + kapi), and the pure error classifiers.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kakaowatch/http.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"
#include "kakaowatch/token.h"
#include "kakaowatch/util.h"

#include "fake_server.h"

#define CLIENT_ID "testRestApiKey0123"
#define CLIENT_SECRET "testClientSecret4567"
#define REDIRECT_URI "http://localhost:5000/oauth"
#define OTHER_REDIRECT_URI "http://localhost:5000/oauth/"

/* every secret a test has seen; no error message may contain one */
static char *secrets_seen[512];
static size_t nsecrets_seen;

static void
remember_secret(const char *s)
{
	size_t i;

	if (s == NULL || nsecrets_seen == 512)
		return;
	for (i = 0; i < nsecrets_seen; i++)
		if (strcmp(secrets_seen[i], s) == 0)
			return;
	secrets_seen[nsecrets_seen] = strdup(s);
	assert_non_null(secrets_seen[nsecrets_seen]);
	nsecrets_seen++;
}

/* the message holds no secret (and, when set, is non-empty) */
static void
assert_clean(const struct kw_err *err)
{
	size_t i;

	if (!err->set)
		return;
	assert_true(err->msg[0] != '\0');
	for (i = 0; i < nsecrets_seen; i++)
		if (strstr(err->msg, secrets_seen[i]) != NULL)
			fail_msg("error message leaks a secret: '%s'",
			    err->msg);
}

static void
remember_token(const struct token *t)
{
	remember_secret(t->access_token);
	remember_secret(t->refresh_token);
}

#define assert_contains(hay, needle)                                  \
	do {                                                          \
		if (strstr((hay), (needle)) == NULL)                  \
			fail_msg("'%s' lacks '%s'", (hay), (needle)); \
	} while (0)

/* ---- the fake server ---- */

struct fixture {
	struct fake_server fake;
	int port;
	char base[64];
	char dir[64];
	char token_path[128];
	char bak_path[160];
	int64_t offset; /* seconds the fake's clock was advanced */
	struct kakao_client client;
};

/* start fake_kakao.py with extra arguments (NULL-terminated) */
static void
fake_start(struct fixture *f, const char *const *extra)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = "--client-id";
	argv[n++] = CLIENT_ID;
	argv[n++] = "--redirect-uri";
	argv[n++] = REDIRECT_URI;
	argv[n++] = "--redirect-uri";
	argv[n++] = OTHER_REDIRECT_URI;
	while (extra != NULL && *extra != NULL && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	if (fake_server_start(&f->fake, "fake_kakao.py", argv) != 0)
		fail_msg("fake_kakao.py did not start");
	f->port = f->fake.port;
	snprintf(f->base, sizeof(f->base), "%s", f->fake.base);
}

static void
fixture_init(struct fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/kw-kakao-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->token_path, sizeof(f->token_path), "%s/token.json", f->dir);
	snprintf(f->bak_path, sizeof(f->bak_path), "%s.bak", f->token_path);
	f->client.auth_base_url = f->base;
	f->client.api_base_url = f->base;
	f->client.rest_api_key = CLIENT_ID;
	f->client.client_secret = CLIENT_SECRET;
	f->client.redirect_uri = REDIRECT_URI;
	f->client.token_path = f->token_path;
	f->client.min_refresh_interval_s = 300;
	remember_secret(CLIENT_SECRET);
}

static int
setup_with(void **state, const char *const *extra)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_start(f, extra);
	fixture_init(f);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	static const char *const extra[] = { "--client-secret", CLIENT_SECRET,
		NULL };

	return setup_with(state, extra);
}

static int
setup_no_secret(void **state)
{
	return setup_with(state, NULL);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	fake_server_stop(&f->fake);
	unlink(f->token_path);
	unlink(f->bak_path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t
now_s(const struct fixture *f)
{
	return (int64_t)time(NULL) + f->offset;
}

/* a control request to the fake; returns the parsed JSON answer */
static json_t *
control(struct fixture *f, const char *method, const char *what,
    const char *body)
{
	struct http_request req;
	struct http_response resp;
	char url[256];
	json_t *out;

	snprintf(url, sizeof(url), "%s/_control/%s", f->base, what);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.method = method;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = "application/json";
	req.timeout_ms = 10000;
	assert_int_equal(http_request_sync(&req, &resp), 0);
	if (resp.status != 200)
		fail_msg("control %s %s: HTTP %ld: %s", method, what,
		    resp.status, resp.body);
	out = json_loads(resp.body, 0, NULL);
	assert_non_null(out);
	http_response_release(&resp);
	return out;
}

static void
control_void(struct fixture *f, const char *method, const char *what,
    const char *body)
{
	json_decref(control(f, method, what, body));
}

static void
advance_clock(struct fixture *f, int64_t seconds)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"advance\": %lld}", (long long)seconds);
	control_void(f, "POST", "clock", body);
	f->offset += seconds;
}

static int64_t
fake_count(struct fixture *f, const char *what)
{
	json_t *j = control(f, "GET", "tokens", NULL);
	int64_t v = json_integer_value(json_object_get(j, what));

	json_decref(j);
	return v;
}

/* mint an authorization code (as the browser redirect would carry) */
static char *
issue_code(struct fixture *f, const char *redirect_uri)
{
	char body[256];
	json_t *j;
	char *code;

	snprintf(body, sizeof(body), "{\"redirect_uri\": \"%s\"}",
	    redirect_uri);
	j = control(f, "POST", "issue-code", body);
	code = strdup(json_string_value(json_object_get(j, "code")));
	json_decref(j);
	assert_non_null(code);
	remember_secret(code);
	return code;
}

/* authorize and save the token file, as `kakaowatch auth` does */
static void
authorize(struct fixture *f, struct token *t)
{
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);

	assert_int_equal(
	    kakao_exchange_code(&f->client, code, t, now_s(f), &err), KAKAO_OK);
	assert_false(err.set);
	remember_token(t);
	assert_int_equal(token_save(f->token_path, t, &err), 0);
	free(code);
}

static json_t *
messages(struct fixture *f)
{
	json_t *j = control(f, "GET", "messages", NULL);
	json_t *m = json_incref(json_object_get(j, "messages"));

	json_decref(j);
	assert_true(json_is_array(m));
	return m;
}

static const char *text_template =
    "{\"object_type\":\"text\",\"text\":\"rust-blog: 1 new\\n"
    "Announcing Rust 1.99 & more = 100% \xea\xb0\x80\","
    "\"link\":{\"web_url\":\"https://blog.rust-lang.org/\","
    "\"mobile_web_url\":\"https://blog.rust-lang.org/\"},"
    "\"button_title\":\"\xec\x97\xb4\xea\xb8\xb0\"}";

static const char *list_template =
    "{\"object_type\":\"list\",\"header_title\":\"rust-blog: 2 new\","
    "\"header_link\":{\"web_url\":\"https://blog.rust-lang.org/\"},"
    "\"contents\":[{\"title\":\"Rust 1.99\",\"link\":{\"web_url\":"
    "\"https://blog.rust-lang.org/a?x=1&y=2\"}},{\"title\":\"Rust "
    "2026+\",\"link\":{\"web_url\":\"https://blog.rust-lang.org/b\"}}],"
    "\"buttons\":[{\"title\":\"open\",\"link\":{\"web_url\":"
    "\"https://blog.rust-lang.org/\"}}]}";

/* ---- authorize URL ---- */

static void
test_kakao_authorize_url_encodes_every_value(void **state)
{
	struct kakao_client c = { 0 };
	char *url;

	(void)state;
	c.auth_base_url = "https://kauth.kakao.com/";
	c.rest_api_key = "abc123";
	c.redirect_uri = "http://localhost:5000/oauth?x=1&y=2";
	url = kakao_authorize_url(&c, "st ate/1");
	assert_non_null(url);
	assert_string_equal(url,
	    "https://kauth.kakao.com/oauth/authorize?"
	    "client_id=abc123&redirect_uri=http%3A%2F%2Flocalhost%3A5000%2F"
	    "oauth%3Fx%3D1%26y%3D2&response_type=code&scope=talk_message&"
	    "state=st%20ate%2F1");
	free(url);
	url = kakao_authorize_url(&c, NULL);
	assert_null(strstr(url, "state="));
	free(url);
}

/* the authorize URL is accepted by the fake, which redirects with a code */
static void
test_kakao_authorize_url_is_accepted_by_kakao(void **state)
{
	struct fixture *f = *state;
	struct http_request req;
	struct http_response resp;
	char *url;

	url = kakao_authorize_url(&f->client, "xyz");
	/* stop at the 302: the redirect target is not listening */
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.timeout_ms = 5000;
	(void)http_request_sync(&req, &resp);
	/* whatever curl did with the redirect, the fake issued one code */
	http_response_release(&resp);
	assert_int_equal(fake_count(f, "codes_issued"), 1);
	free(url);

	/* an unregistered redirect URI gets Kakao's error page */
	f->client.redirect_uri = "http://localhost:5000/unregistered";
	url = kakao_authorize_url(&f->client, "xyz");
	req.url = url;
	assert_int_equal(http_request_sync(&req, &resp), 0);
	assert_int_equal(resp.status, 400);
	assert_contains(resp.body, "KOE006");
	http_response_release(&resp);
	assert_int_equal(fake_count(f, "codes_issued"), 1);
	free(url);
}

/* ---- authorization code ---- */

static void
test_kakao_exchange_code_gets_tokens(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);
	int64_t now = now_s(f);

	assert_int_equal(kakao_exchange_code(&f->client, code, &t, now, &err),
	    KAKAO_OK);
	assert_non_null(t.access_token);
	assert_non_null(t.refresh_token);
	assert_string_equal(t.token_type, "bearer");
	assert_non_null(strstr(t.scope, "talk_message"));
	assert_int_equal(t.expires_in, 21599);
	assert_int_equal(t.access_token_expires_at, now + 21599);
	assert_int_equal(t.refresh_token_expires_at, now + 5183999);
	remember_token(&t);
	token_release(&t);
	free(code);
}

static void
test_kakao_exchange_code_reused_needs_reauth(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);

	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&t);
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &u, now_s(f), &err),
	    KAKAO_REAUTH);
	assert_contains(err.msg, "KOE320");
	assert_contains(err.msg,
	    "the authorization code was already used or "
	    "expired; run `kakaowatch auth` again and paste a fresh code");
	assert_clean(&err);
	assert_null(u.access_token);
	token_release(&t);
	free(code);
}

static void
test_kakao_exchange_code_with_other_redirect_uri_is_config(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);

	/* one trailing slash of difference (docs/kakao.md §8.1) */
	f->client.redirect_uri = OTHER_REDIRECT_URI;
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_CONFIG);
	assert_contains(err.msg, "KOE303");
	/* the macro inside the message (clang-format 14 runs it past 80 columns) */
	/* clang-format off */
	assert_contains(err.msg, "the redirect URI must be registered in "
	    "Kakao Developers > [앱] > [플랫폼 키] > [REST API 키] > "
	    "리다이렉트 URI and be byte-identical to kakao.redirect_uri: '"
	    OTHER_REDIRECT_URI "'");
	/* clang-format on */
	assert_clean(&err);
	/* the code was not spent: the right URI still works */
	f->client.redirect_uri = REDIRECT_URI;
	kw_err_clear(&err);
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&t);
	token_release(&t);
	free(code);
}

static void
test_kakao_exchange_code_without_client_secret_is_config(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);

	f->client.client_secret = NULL;
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_CONFIG);
	assert_contains(err.msg, "KOE010");
	assert_contains(err.msg,
	    "client secret missing or wrong: set "
	    "KAKAO_CLIENT_SECRET to the secret from Kakao Developers > [앱] > "
	    "[플랫폼 키] > [REST API 키] > 클라이언트 시크릿, or turn the "
	    "client secret off there");
	assert_clean(&err);
	/* a wrong one is as bad */
	f->client.client_secret = "wrongSecret999";
	remember_secret("wrongSecret999");
	kw_err_clear(&err);
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_CONFIG);
	assert_contains(err.msg, "KOE010");
	assert_clean(&err);
	free(code);
}

/* an app with the client secret turned off: no secret is needed */
static void
test_kakao_exchange_code_without_secret_when_app_has_none(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);

	f->client.client_secret = NULL;
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&t);
	token_release(&t);
	free(code);
}

static void
test_kakao_unknown_kauth_error_redacts_the_code(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	char *code = issue_code(f, REDIRECT_URI);
	char body[512];

	snprintf(body, sizeof(body),
	    "{\"endpoint\":\"token\",\"status\":400,"
	    "\"body\":{\"error\":\"weird\",\"error_code\":\"KOE999\","
	    "\"error_description\":\"no good code=%s\"}}",
	    code);
	control_void(f, "POST", "fail", body);
	assert_int_equal(
	    kakao_exchange_code(&f->client, code, &t, now_s(f), &err),
	    KAKAO_FATAL);
	assert_contains(err.msg, "KOE999");
	assert_contains(err.msg, "code=[redacted]");
	assert_clean(&err);
	free(code);
}

/* ---- refresh ---- */

static void
test_kakao_session_begin_without_token_file_needs_auth(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };

	assert_int_equal(kakao_session_begin(&f->client, &t, now_s(f), &err),
	    KAKAO_REAUTH);
	assert_contains(err.msg, "run `kakaowatch auth`");
	assert_contains(err.msg, f->token_path);
	token_release(&t);
}

static void
test_kakao_session_begin_skips_refresh_when_recent(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };

	authorize(f, &t);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	assert_string_equal(u.access_token, t.access_token);
	assert_int_equal(fake_count(f, "refreshes"), 0);
	token_release(&u);

	/* 6 minutes later the policy refreshes (min interval 5 min) */
	advance_clock(f, 360);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&u);
	assert_string_not_equal(u.access_token, t.access_token);
	/* not rotated: two months left */
	assert_string_equal(u.refresh_token, t.refresh_token);
	assert_int_equal(fake_count(f, "refreshes"), 1);
	token_release(&u);
	/* and the file has the new access token */
	assert_int_equal(token_load(f->token_path, &u, &err), 0);
	assert_string_not_equal(u.access_token, t.access_token);
	token_release(&u);
	token_release(&t);
}

static void
test_kakao_refresh_rotation_after_31_days_is_persisted(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 }, stale = { 0 };
	struct kw_err err = { 0 };
	int64_t now;

	authorize(f, &t);
	advance_clock(f, 31 * 86400);
	now = now_s(f);
	assert_int_equal(kakao_session_begin(&f->client, &u, now, &err),
	    KAKAO_OK);
	remember_token(&u);
	assert_string_not_equal(u.refresh_token, t.refresh_token);
	assert_int_equal(u.refresh_token_expires_at, now + 5183999);
	assert_int_equal(fake_count(f, "rotations"), 1);
	token_release(&u);

	/* persisted at once; the previous file is the .bak */
	assert_int_equal(token_load(f->token_path, &u, &err), 0);
	assert_string_not_equal(u.refresh_token, t.refresh_token);
	assert_int_equal(u.refresh_token_expires_at, now + 5183999);
	assert_int_equal(token_load(f->bak_path, &stale, &err), 0);
	assert_string_equal(stale.refresh_token, t.refresh_token);

	/* the old refresh token is dead from then on */
	assert_int_equal(kakao_refresh(&f->client, &stale, now, &err),
	    KAKAO_REAUTH);
	assert_contains(err.msg, "KOE322");
	assert_contains(err.msg, "run `kakaowatch auth`");
	assert_clean(&err);
	/* the new one works */
	kw_err_clear(&err);
	assert_int_equal(kakao_refresh(&f->client, &u, now, &err), KAKAO_OK);
	remember_token(&u);
	token_release(&u);
	token_release(&stale);
	token_release(&t);
}

static void
test_kakao_refresh_is_rate_limited_after_30_per_hour(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };
	int i;

	authorize(f, &t);
	/* 100 s apart: under the 20 access tokens per 10 min, but 31 in
	 * 51 min is over 30 refreshes per hour (docs/kakao.md §2.3) */
	for (i = 0; i < 30; i++) {
		advance_clock(f, 100);
		assert_int_equal(kakao_refresh(&f->client, &t, now_s(f), &err),
		    KAKAO_OK);
		remember_token(&t);
	}
	advance_clock(f, 100);
	assert_int_equal(kakao_refresh(&f->client, &t, now_s(f), &err),
	    KAKAO_RATE_LIMITED);
	assert_contains(err.msg, "KOE237");
	assert_clean(&err);

	/* a batch still goes out with the current access token */
	assert_int_equal(token_save(f->token_path, &t, &err), 0);
	f->client.min_refresh_interval_s = 0;
	kw_err_clear(&err);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	assert_string_equal(u.access_token, t.access_token);
	assert_int_equal(
	    kakao_session_send(&f->client, &u, text_template, now_s(f), &err),
	    KAKAO_OK);
	token_release(&u);
	token_release(&t);
}

static void
test_kakao_dead_refresh_token_needs_auth(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };

	authorize(f, &t);
	control_void(f, "POST", "revoke", "{\"access\": true}");
	advance_clock(f, 3600);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_REAUTH);
	assert_contains(err.msg, "KOE322");
	assert_contains(err.msg, "run `kakaowatch auth`");
	assert_clean(&err);
	token_release(&u);
	/* the file is untouched */
	assert_int_equal(token_load(f->token_path, &u, &err), 0);
	assert_string_equal(u.refresh_token, t.refresh_token);
	token_release(&u);
	token_release(&t);
}

static void
test_kakao_injected_refresh_errors_are_classified(void **state)
{
	static const struct {
		const char *fail;
		enum kakao_status want;
	} cases[] = {
		{ "{\"endpoint\":\"token\",\"error_code\":\"KOE322\"}",
		    KAKAO_REAUTH },
		{ "{\"endpoint\":\"token\",\"error_code\":\"KOE237\"}",
		    KAKAO_RATE_LIMITED },
		{ "{\"endpoint\":\"token\",\"status\":500}", KAKAO_RETRY },
		{ "{\"endpoint\":\"token\",\"status\":502,\"raw_body\":"
		  "\"<html>bad gateway</html>\"}",
		    KAKAO_RETRY },
		{ "{\"endpoint\":\"token\",\"malformed\":true}", KAKAO_RETRY },
		{ "{\"endpoint\":\"token\",\"error_code\":\"KOE003\"}",
		    KAKAO_RETRY },
	};
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err;
	size_t i;

	authorize(f, &t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kw_err_clear(&err);
		control_void(f, "POST", "fail", cases[i].fail);
		if (kakao_refresh(&f->client, &t, now_s(f), &err) !=
		    cases[i].want)
			fail_msg("%s: got '%s'", cases[i].fail, err.msg);
		assert_clean(&err);
	}
	/* and nothing was refreshed */
	assert_int_equal(fake_count(f, "refreshes"), 0);
	token_release(&t);
}

/* ---- sending ---- */

static void
test_kakao_send_text_and_list_are_delivered_verbatim(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };
	json_t *m;

	authorize(f, &t);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	assert_int_equal(
	    kakao_session_send(&f->client, &u, text_template, now_s(f), &err),
	    KAKAO_OK);
	assert_int_equal(
	    kakao_session_send(&f->client, &u, list_template, now_s(f), &err),
	    KAKAO_OK);
	assert_false(err.set);
	m = messages(f);
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(m, 0), "raw")),
	    text_template);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(m, 1), "raw")),
	    list_template);
	json_decref(m);
	token_release(&u);
	token_release(&t);
}

static void
test_kakao_send_retries_once_after_401(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 }, saved = { 0 };
	struct kw_err err = { 0 };
	json_t *m;

	authorize(f, &t);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\","
	    "\"code\":-401}");
	assert_int_equal(
	    kakao_session_send(&f->client, &u, text_template, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&u);
	assert_false(err.set);
	assert_int_equal(fake_count(f, "refreshes"), 1);
	m = messages(f);
	assert_int_equal(json_array_size(m), 1);
	json_decref(m);
	/* the refreshed token was saved */
	assert_int_equal(token_load(f->token_path, &saved, &err), 0);
	assert_string_equal(saved.access_token, u.access_token);
	assert_string_not_equal(saved.access_token, t.access_token);
	token_release(&saved);

	/* two -401 in a row: one refresh, one retry, then give up */
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\","
	    "\"code\":-401,\"count\":2}");
	assert_int_equal(
	    kakao_session_send(&f->client, &u, text_template, now_s(f), &err),
	    KAKAO_UNAUTHORIZED);
	remember_token(&u);
	assert_contains(err.msg, "-401");
	assert_clean(&err);
	assert_int_equal(fake_count(f, "refreshes"), 2);
	token_release(&u);
	token_release(&t);
}

/* an expired access token is refreshed by the batch helper before use */
static void
test_kakao_session_refreshes_expired_access_token(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 }, u = { 0 };
	struct kw_err err = { 0 };

	authorize(f, &t);
	advance_clock(f, 21599 + 10);
	/* the old access token is dead at Kakao */
	assert_int_equal(
	    kakao_send_memo(&f->client, t.access_token, text_template, &err),
	    KAKAO_UNAUTHORIZED);
	assert_clean(&err);
	kw_err_clear(&err);
	assert_int_equal(kakao_session_begin(&f->client, &u, now_s(f), &err),
	    KAKAO_OK);
	remember_token(&u);
	assert_int_equal(
	    kakao_session_send(&f->client, &u, text_template, now_s(f), &err),
	    KAKAO_OK);
	assert_int_equal(fake_count(f, "refreshes"), 1);
	token_release(&u);
	token_release(&t);
}

static void
test_kakao_send_failures_are_classified(void **state)
{
	static const struct {
		const char *fail;
		enum kakao_status want;
		const char *says;
	} cases[] = {
		{ "{\"status\":500}", KAKAO_RETRY, "HTTP 500" },
		{ "{\"code\":-10}", KAKAO_QUOTA, "quota" },
		{ "{\"code\":-532}", KAKAO_QUOTA, "quota" },
		{ "{\"code\":-402}", KAKAO_CONSENT, "동의항목" },
		{ "{\"code\":-3}", KAKAO_CONSENT,
		    "run `kakaowatch auth` again" },
		{ "{\"code\":-9798}", KAKAO_RETRY, "maintenance" },
		{ "{\"code\":-1}", KAKAO_RETRY, "retry" },
		{ "{\"malformed\":true}", KAKAO_RETRY, "result_code" },
		{ "{\"status\":200,\"body\":{\"result_code\":1}}", KAKAO_RETRY,
		    "result_code" },
	};
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err;
	char body[256];
	size_t i;
	json_t *m;

	authorize(f, &t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kw_err_clear(&err);
		snprintf(body, sizeof(body), "{\"endpoint\":\"send\",%s",
		    cases[i].fail + 1);
		control_void(f, "POST", "fail", body);
		if (kakao_send_memo(&f->client, t.access_token, text_template,
			&err) != cases[i].want)
			fail_msg("%s: got '%s'", cases[i].fail, err.msg);
		assert_contains(err.msg, cases[i].says);
		assert_clean(&err);
	}
	m = messages(f);
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	token_release(&t);
}

static void
test_kakao_send_timeout_is_retry(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };

	authorize(f, &t);
	f->client.timeout_ms = 500;
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\","
	    "\"hang\":3}");
	assert_int_equal(
	    kakao_send_memo(&f->client, t.access_token, text_template, &err),
	    KAKAO_RETRY);
	assert_contains(err.msg, "cannot reach Kakao");
	assert_clean(&err);
	token_release(&t);
}

static void
test_kakao_send_bad_template_is_rejected(void **state)
{
	static const char *const bad[] = {
		/* a list needs 2 to 3 contents */
		"{\"object_type\":\"list\",\"header_title\":\"x\","
		"\"header_link\":{\"web_url\":\"https://e.com/\"},"
		"\"contents\":[{\"title\":\"a\",\"link\":{\"web_url\":"
		"\"https://e.com/a\"}}]}",
		/* relative link */
		"{\"object_type\":\"text\",\"text\":\"x\",\"link\":"
		"{\"web_url\":\"/relative\"}}",
		/* no link */
		"{\"object_type\":\"text\",\"text\":\"x\"}",
	};
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err;
	size_t i;

	authorize(f, &t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kw_err_clear(&err);
		assert_int_equal(
		    kakao_send_memo(&f->client, t.access_token, bad[i], &err),
		    KAKAO_BAD_TEMPLATE);
		assert_contains(err.msg, "-2");
	}
	/* not JSON at all: refused before sending */
	kw_err_clear(&err);
	assert_int_equal(kakao_send_memo(&f->client, t.access_token,
			     "{\"object_type\":", &err),
	    KAKAO_BAD_TEMPLATE);
	assert_int_equal(fake_count(f, "rejected_sends"), 3);
	token_release(&t);
}

static void
test_kakao_send_without_talk_message_consent(void **state)
{
	struct fixture *f = *state;
	struct token t = { 0 };
	struct kw_err err = { 0 };

	control_void(f, "POST", "consent", "{\"talk_message\": false}");
	authorize(f, &t);
	assert_int_equal(
	    kakao_send_memo(&f->client, t.access_token, text_template, &err),
	    KAKAO_CONSENT);
	assert_contains(err.msg, "-402");
	assert_contains(err.msg,
	    "enable 카카오톡 메시지 전송 (talk_message) "
	    "in Kakao Developers > [카카오 로그인] > [동의항목], then run "
	    "`kakaowatch auth` again and tick it");
	assert_clean(&err);
	token_release(&t);
}

/* ---- pure classifiers ---- */

static void
test_kakao_refresh_result_classifies_auth_errors_by_code(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum kakao_status want;
		const char *says;
	} cases[] = {
		{ 400,
		    "{\"error\":\"invalid_grant\",\"error_description\":"
		    "\"authorization code not found for code=abcd\","
		    "\"error_code\":\"KOE320\"}",
		    KAKAO_REAUTH,
		    "paste a fresh "
		    "code" },
		{ 400,
		    "{\"error\":\"invalid_grant\",\"error_code\":"
		    "\"KOE322\"}",
		    KAKAO_REAUTH, "run `kakaowatch auth`" },
		{ 400,
		    "{\"error\":\"invalid_grant\",\"error_code\":"
		    "\"KOE319\"}",
		    KAKAO_REAUTH, "run `kakaowatch auth`" },
		{ 400,
		    "{\"error\":\"invalid_grant\",\"error_code\":"
		    "\"KOE303\"}",
		    KAKAO_CONFIG,
		    "byte-identical to "
		    "kakao.redirect_uri" },
		{ 400, "{\"error_code\":\"KOE205\"}", KAKAO_CONSENT,
		    "[동의항목]" },
		{ 400,
		    "{\"error\":\"invalid_request\",\"error_code\":"
		    "\"KOE237\"}",
		    KAKAO_RATE_LIMITED, "20 access tokens per 10 minutes" },
		{ 400, "{\"error_code\":\"KOE006\"}", KAKAO_CONFIG,
		    "리다이렉트 URI" },
		{ 401,
		    "{\"error\":\"invalid_client\",\"error_code\":"
		    "\"KOE010\"}",
		    KAKAO_CONFIG, "KAKAO_CLIENT_SECRET" },
		{ 401,
		    "{\"error\":\"invalid_client\",\"error_code\":"
		    "\"KOE101\"}",
		    KAKAO_CONFIG, "kakao.rest_api_key" },
		{ 400,
		    "{\"error\":\"misconfigured\",\"error_code\":"
		    "\"KOE004\"}",
		    KAKAO_CONFIG, "카카오 로그인" },
		{ 400,
		    "{\"error\":\"invalid_request\",\"error_code\":"
		    "\"KOE237\"}",
		    KAKAO_RATE_LIMITED, "min_refresh_interval" },
		{ 500, "{\"error_code\":\"KOE003\"}", KAKAO_RETRY, "retry" },
		/* the description is never what decides */
		{ 400,
		    "{\"error\":\"invalid_request\",\"error_description\":"
		    "\"expired_or_invalid_refresh_token\",\"error_code\":"
		    "\"KOE237\"}",
		    KAKAO_RATE_LIMITED, "KOE237" },
		/* no error_code: the status, then the OAuth class */
		{ 503, "<html>down</html>", KAKAO_RETRY, "HTTP 503" },
		{ 400, "{\"error\":\"invalid_grant\"}", KAKAO_REAUTH,
		    "run `kakaowatch auth`" },
		{ 401, "{\"error\":\"invalid_client\"}", KAKAO_CONFIG,
		    "KAKAO_CLIENT_SECRET" },
		{ 400, "{\"error\":\"odd\",\"error_code\":\"KOE888\"}",
		    KAKAO_FATAL, "KOE888" },
		{ 400, "", KAKAO_FATAL, "HTTP 400" },
	};
	/* kauth answers as the token endpoint gives them to a refresh (and
	 * to the code exchange: the same classification) */
	const struct kakao_client c = { 0 };
	struct http_response resp;
	struct token t;
	struct kw_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&resp, 0, sizeof(resp));
		resp.error = HTTP_OK;
		resp.status = cases[i].status;
		resp.body = (char *)cases[i].body;
		resp.len = strlen(cases[i].body);
		memset(&t, 0, sizeof(t));
		kw_err_clear(&err);
		if (kakao_refresh_result(&c, &t, &resp, 1700000000, &err) !=
		    cases[i].want)
			fail_msg("case %zu: got '%s'", i, err.msg);
		assert_contains(err.msg, cases[i].says);
		/* an error answer leaves the tokens alone */
		assert_null(t.access_token);
		assert_null(t.refresh_token);
	}
}

static void
test_kakao_classify_api_error_by_code(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum kakao_status want;
	} cases[] = {
		{ 401, "{\"code\":-401,\"msg\":\"InvalidTokenException\"}",
		    KAKAO_UNAUTHORIZED },
		{ 403,
		    "{\"msg\":\"insufficient scopes.\",\"code\":-402,"
		    "\"required_scopes\":[\"talk_message\"]}",
		    KAKAO_CONSENT },
		{ 403, "{\"code\":-3}", KAKAO_CONSENT },
		/* issue 14: each with its advice */
		{ 400, "{\"code\":-101}", KAKAO_REAUTH },
		{ 400, "{\"code\":-103}", KAKAO_FATAL },
		{ 400, "{\"code\":-405}", KAKAO_FATAL },
		{ 400,
		    "{\"code\":-10,\"msg\":\"API limit has been "
		    "exceeded.\"}",
		    KAKAO_QUOTA },
		{ 400, "{\"code\":-11}", KAKAO_QUOTA },
		{ 400, "{\"code\":-531}", KAKAO_QUOTA },
		{ 400, "{\"code\":-532}", KAKAO_QUOTA },
		{ 400, "{\"code\":-536}", KAKAO_QUOTA },
		{ 400, "{\"code\":-2}", KAKAO_BAD_TEMPLATE },
		{ 400, "{\"code\":-1}", KAKAO_RETRY },
		{ 400, "{\"code\":-7}", KAKAO_RETRY },
		{ 503, "{\"code\":-9798}", KAKAO_RETRY },
		{ 400, "{\"code\":-903}", KAKAO_CONFIG },
		{ 400, "{\"code\":-501}", KAKAO_FATAL },
		{ 400, "{\"code\":-12345}", KAKAO_FATAL },
		{ 502, "{\"code\":-12345}", KAKAO_RETRY },
		/* the msg never decides */
		{ 400,
		    "{\"code\":-10,\"msg\":\"this access token does not "
		    "exist\"}",
		    KAKAO_QUOTA },
		{ 500, "Internal Server Error", KAKAO_RETRY },
		{ 401, "", KAKAO_UNAUTHORIZED },
		{ 404, "<html></html>", KAKAO_FATAL },
	};
	struct kw_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kw_err_clear(&err);
		if (kakao_classify_api_error(cases[i].status, cases[i].body,
			&err) != cases[i].want)
			fail_msg("case %zu: got '%s'", i, err.msg);
		assert_true(err.set);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kakao_authorize_url_encodes_every_value),
		cmocka_unit_test_setup_teardown(
		    test_kakao_authorize_url_is_accepted_by_kakao, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_exchange_code_gets_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_exchange_code_reused_needs_reauth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_exchange_code_with_other_redirect_uri_is_config,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_exchange_code_without_client_secret_is_config,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_exchange_code_without_secret_when_app_has_none,
		    setup_no_secret, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_unknown_kauth_error_redacts_the_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_session_begin_without_token_file_needs_auth,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_session_begin_skips_refresh_when_recent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_refresh_rotation_after_31_days_is_persisted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_refresh_is_rate_limited_after_30_per_hour, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_dead_refresh_token_needs_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_injected_refresh_errors_are_classified, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_text_and_list_are_delivered_verbatim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_retries_once_after_401, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_session_refreshes_expired_access_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_failures_are_classified, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_timeout_is_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_bad_template_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kakao_send_without_talk_message_consent, setup,
		    teardown),
		cmocka_unit_test(
		    test_kakao_refresh_result_classifies_auth_errors_by_code),
		cmocka_unit_test(test_kakao_classify_api_error_by_code),
	};
	int result;
	size_t i;

	http_global_init();
	result = cmocka_run_group_tests(tests, NULL, NULL);
	for (i = 0; i < nsecrets_seen; i++)
		free(secrets_seen[i]);
	http_global_cleanup();
	return result;
}
