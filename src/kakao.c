/* kakao: Kakao OAuth + memo API client (see kakao.h, docs/kakao.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"

/* docs/kakao.md §2, §4: both endpoints take a form body in UTF-8 */
#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded;charset=utf-8"
#define TOKEN_PATH "/oauth/token"
#define AUTHORIZE_PATH "/oauth/authorize"
#define MEMO_DEFAULT_PATH "/v2/api/talk/memo/default/send"
#define BODY_MAX (1024 * 1024)
/* a failed refresh is tolerated while the access token has this left */
#define STILL_VALID_S 60

#define REAUTH_HINT "run `kakaowatch auth`"
#define CONSENT_HINT                                                     \
	"enable 카카오톡 메시지 전송 (talk_message) in Kakao "  \
	"Developers > [카카오 로그인] > [동의항목], then run " \
	"`kakaowatch auth` again and tick it"
#define REST_KEY_HINT                                              \
	"set kakao.rest_api_key to the app's REST API key (Kakao " \
	"Developers > 앱 > 플랫폼 키 > REST API 키)"

const char *
kakao_status_name(enum kakao_status s)
{
	switch (s) {
	case KAKAO_OK:
		return "ok";
	case KAKAO_RETRY:
		return "retry";
	case KAKAO_UNAUTHORIZED:
		return "unauthorized";
	case KAKAO_REAUTH:
		return "reauth";
	case KAKAO_CONSENT:
		return "consent";
	case KAKAO_QUOTA:
		return "quota";
	case KAKAO_RATE_LIMITED:
		return "rate limited";
	case KAKAO_BAD_TEMPLATE:
		return "bad template";
	case KAKAO_CONFIG:
		return "config";
	case KAKAO_FATAL:
		return "fatal";
	}
	return "unknown";
}

/* "{base}{path}" with the base's trailing slashes dropped; NULL on OOM */
static char *
join_url(const char *base, const char *path)
{
	struct buf b;
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_init(&b, 0);
	if (buf_append(&b, base, n) != 0 || buf_puts(&b, path) != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* form_add appends "&name=percent-encoded(value)" (no & when first) */
static int
form_add(struct buf *b, const char *name, const char *value)
{
	char *enc;
	int result;

	enc = http_url_escape(value);
	if (enc == NULL)
		return -1;
	result = buf_printf(b, "%s%s=%s", b->len > 0 ? "&" : "", name, enc);
	util_wipe_free(enc);
	return result;
}

/* wipe a buffer that held secrets before freeing it */
static void
buf_wipe_release(struct buf *b)
{
	if (b->data != NULL)
		util_wipe(b->data, b->len);
	buf_release(b);
}

char *
kakao_authorize_url(const struct kakao_client *c, const char *state)
{
	struct buf q;
	char *base = NULL, *url = NULL;

	buf_init(&q, 0);
	if (form_add(&q, "client_id", c->rest_api_key) != 0 ||
	    form_add(&q, "redirect_uri", c->redirect_uri) != 0 ||
	    form_add(&q, "response_type", "code") != 0 ||
	    form_add(&q, "scope", "talk_message") != 0 ||
	    (state != NULL && form_add(&q, "state", state) != 0))
		goto out;
	base = join_url(c->auth_base_url, AUTHORIZE_PATH "?");
	if (base == NULL)
		goto out;
	url = malloc(strlen(base) + q.len + 1);
	if (url == NULL)
		goto out;
	strcpy(url, base);
	strcat(url, q.data);
out:
	free(base);
	buf_release(&q);
	return url;
}

/*
 * kakao_post sends a form POST. Returns 0 when a response arrived (any
 * status), or -1 with a message in `err` (transport failure).
 */
static int
kakao_post(const struct kakao_client *c, const char *url,
    const struct buf *form, const char *bearer, struct http_response *resp,
    struct kw_err *err)
{
	struct http_request req;
	long timeout = c->timeout_ms > 0 ? c->timeout_ms : KAKAO_TIMEOUT_MS;

	memset(&req, 0, sizeof(req));
	req.url = url;
	req.method = "POST";
	req.body = form->data ? form->data : "";
	req.body_len = form->len;
	req.content_type = FORM_CONTENT_TYPE;
	req.bearer_token = bearer;
	req.timeout_ms = timeout;
	req.connect_timeout_ms = timeout < KAKAO_CONNECT_TIMEOUT_MS ?
				     timeout :
				     KAKAO_CONNECT_TIMEOUT_MS;
	req.max_bytes = KAKAO_MAX_RESPONSE_BYTES;
	req.ssl_verify = true;
	if (http_request_sync(&req, resp) != 0) {
		return kw_err_set(err, "cannot reach Kakao at '%s': %s", url,
		    resp->errmsg[0] ? resp->errmsg : "transport error");
	}
	log_debug("kakao: POST '%s': HTTP %ld in %.2fs", url, resp->status,
	    resp->total_time_s);
	return 0;
}

static void call_request(const struct kakao_client *c, struct kakao_call *call,
    const char *bearer, struct http_request *req);

/* ---- error classification (docs/kakao.md §6) ---- */

struct auth_error {
	const char *error_code;
	enum kakao_status status;
	const char *what; /* NULL: the redirect URI message */
};

/* docs/kakao.md §6.3; the messages say what to do */
static const struct auth_error auth_errors[] = {
	{ "KOE001", KAKAO_FATAL,
	    "Kakao rejected the request as malformed; this is a kakaowatch "
	    "bug, please report it" },
	{ "KOE002", KAKAO_CONFIG,
	    "wrong Kakao login URL: check kakao.auth_base_url (normally "
	    "https://kauth.kakao.com)" },
	{ "KOE003", KAKAO_RETRY,
	    "temporary Kakao login server error; will retry later" },
	{ "KOE004", KAKAO_CONFIG,
	    "Kakao Login is turned off for this app: turn it on in Kakao "
	    "Developers > 카카오 로그인 (활성화 설정 ON)" },
	{ "KOE005", KAKAO_CONFIG,
	    "the app is in test mode and this Kakao account is not a member "
	    "of it: add the account as a team member in Kakao Developers" },
	{ "KOE006", KAKAO_CONFIG, NULL },
	{ "KOE008", KAKAO_CONFIG, "wrong type of app key: " REST_KEY_HINT },
	{ "KOE009", KAKAO_CONFIG,
	    "token requested from a platform the app does not have: "
	    "register the Web platform for this app in Kakao Developers" },
	{ "KOE010", KAKAO_CONFIG,
	    "client secret missing or wrong: set KAKAO_CLIENT_SECRET to the "
	    "secret from Kakao Developers > [앱] > [플랫폼 키] > [REST API 키] "
	    "> 클라이언트 시크릿, or turn the client secret off there" },
	{ "KOE101", KAKAO_CONFIG, "wrong app key: " REST_KEY_HINT },
	{ "KOE102", KAKAO_CONFIG,
	    "the app is not linked to a Kakao Talk Channel" },
	{ "KOE201", KAKAO_FATAL,
	    "Kakao rejected response_type; this is a kakaowatch bug" },
	{ "KOE202", KAKAO_FATAL,
	    "Kakao rejected response_type; this is a kakaowatch bug" },
	{ "KOE205", KAKAO_CONSENT,
	    "Kakao refused the requested consent item (scope): " CONSENT_HINT },
	{ "KOE237", KAKAO_RATE_LIMITED,
	    "token rate limit hit (Kakao issues a user at most 20 access "
	    "tokens per 10 minutes and 30 refreshes per hour); will try again "
	    "later; raise kakao.min_refresh_interval if this repeats" },
	{ "KOE303", KAKAO_CONFIG, NULL },
	{ "KOE319", KAKAO_REAUTH,
	    "the token file has no refresh token; " REAUTH_HINT },
	{ "KOE320", KAKAO_REAUTH,
	    "the authorization code was already used or expired; run "
	    "`kakaowatch auth` again and paste a fresh code" },
	{ "KOE322", KAKAO_REAUTH,
	    "the refresh token expired or was revoked; " REAUTH_HINT
	    " to authorize kakaowatch again" },
};

static const struct {
	const char *error;
	enum kakao_status status;
	const char *what;
} auth_classes[] = {
	{ "invalid_grant", KAKAO_REAUTH,
	    "Kakao rejected the grant (invalid_grant); " REAUTH_HINT },
	{ "invalid_client", KAKAO_CONFIG,
	    "Kakao rejected the app credentials (invalid_client): check "
	    "kakao.rest_api_key and KAKAO_CLIENT_SECRET" },
	{ "misconfigured", KAKAO_CONFIG,
	    "the Kakao app is misconfigured (misconfigured): check the "
	    "platform and Kakao Login settings in Kakao Developers" },
	{ "invalid_scope", KAKAO_CONSENT,
	    "Kakao rejected the scope (invalid_scope): " CONSENT_HINT },
	{ "access_denied", KAKAO_REAUTH,
	    "the authorization was declined (access_denied); run "
	    "`kakaowatch auth` again and agree" },
	{ "unauthorized", KAKAO_CONFIG,
	    "the app may not use this (unauthorized): check the app's "
	    "settings in Kakao Developers" },
	{ "server_error", KAKAO_RETRY,
	    "Kakao login server error; will retry later" },
};

/* parse_object: `body` as a JSON object (caller decrefs), or NULL */
static json_t *
parse_object(const char *body)
{
	json_t *root;

	if (body == NULL)
		return NULL;
	root = json_loads(body, 0, NULL);
	if (root != NULL && !json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

static const char *
member_string(json_t *root, const char *key)
{
	json_t *v = root ? json_object_get(root, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * classify_auth maps a kauth error response (HTTP status and body
 * {"error":..,"error_code":"KOExxx"}; docs/kakao.md §6.1, §6.3) to a status
 * with an actionable message in `err` (see kakao_refresh_result in
 * kakao.h); `redirect_uri` (may be NULL) is quoted for KOE006/KOE303. Pure.
 */
static enum kakao_status
classify_auth(long http_status, const char *body, const char *redirect_uri,
    struct kw_err *err)
{
	json_t *root = parse_object(body);
	const char *code = member_string(root, "error_code");
	const char *error = member_string(root, "error");
	const char *desc = member_string(root, "error_description");
	enum kakao_status st = KAKAO_FATAL;
	size_t i;

	if (code != NULL) {
		for (i = 0; i < sizeof(auth_errors) / sizeof(auth_errors[0]);
		     i++) {
			const struct auth_error *e = &auth_errors[i];

			if (strcmp(code, e->error_code) != 0)
				continue;
			st = e->status;
			if (e->what != NULL) {
				kw_err_set(err, "Kakao %s: %s", code, e->what);
			} else if (redirect_uri != NULL) {
				kw_err_set(err,
				    "Kakao %s: redirect URI "
				    "mismatch: the redirect URI must be "
				    "registered in Kakao Developers > [앱] > "
				    "[플랫폼 키] > [REST API 키] > 리다이렉트 "
				    "URI and be byte-identical to "
				    "kakao.redirect_uri: '%s'",
				    code, redirect_uri);
			} else {
				kw_err_set(err,
				    "Kakao %s: redirect URI "
				    "mismatch: the redirect URI must be "
				    "registered in Kakao Developers > [앱] > "
				    "[플랫폼 키] > [REST API 키] > 리다이렉트 "
				    "URI and be byte-identical to "
				    "kakao.redirect_uri in the config",
				    code);
			}
			goto out;
		}
	}
	if (http_status >= 500) {
		st = KAKAO_RETRY;
		kw_err_set(err,
		    "Kakao login server error (HTTP %ld%s%s); will "
		    "retry later",
		    http_status, code ? ", " : "", code ? code : "");
		goto out;
	}
	if (error != NULL) {
		for (i = 0; i < sizeof(auth_classes) / sizeof(auth_classes[0]);
		     i++) {
			if (strcmp(error, auth_classes[i].error) != 0)
				continue;
			st = auth_classes[i].status;
			kw_err_set(err, "Kakao %s: %s", code ? code : error,
			    auth_classes[i].what);
			goto out;
		}
	}
	if (http_status == 429) {
		st = KAKAO_RATE_LIMITED;
		kw_err_set(err, "Kakao login is rate limiting (HTTP 429); "
				"will try again later");
		goto out;
	}
	/* unknown: say what Kakao said (secrets are redacted) */
	kw_err_set(err, "Kakao login error (HTTP %ld, %s%s%s): %.160s",
	    http_status, code ? code : "no error_code", error ? ", " : "",
	    error ? error : "", desc ? desc : "no description");
out:
	json_decref(root);
	return st;
}

struct api_error {
	long code;
	enum kakao_status status;
	const char *what;
};

/* docs/kakao.md §6.1, §6.2 */
static const struct api_error api_errors[] = {
	{ -1, KAKAO_RETRY, "Kakao API internal error; will retry later" },
	{ -2, KAKAO_BAD_TEMPLATE,
	    "Kakao rejected the template object or a parameter (this is a "
	    "kakaowatch bug; the template is logged)" },
	{ -3, KAKAO_CONSENT,
	    "the app has 카카오톡 메시지 전송 (talk_message) turned "
	    "off: " CONSENT_HINT },
	{ -4, KAKAO_FATAL,
	    "the Kakao account is restricted and may not do this" },
	{ -5, KAKAO_CONFIG,
	    "the app has no permission for this API: check the app in "
	    "Kakao Developers" },
	{ -6, KAKAO_FATAL, "Kakao does not allow this action" },
	{ -7, KAKAO_RETRY,
	    "Kakao service maintenance or internal problem; will retry "
	    "later" },
	{ -8, KAKAO_FATAL,
	    "Kakao rejected a request header; this is a kakaowatch bug" },
	{ -9, KAKAO_FATAL, "the Kakao API was discontinued" },
	{ -10, KAKAO_QUOTA,
	    "Kakao API quota used up; sends are held until it resets "
	    "(next day)" },
	{ -11, KAKAO_QUOTA,
	    "the paid API spend limit was reached; sends are held until it "
	    "resets or the limit is raised in Kakao Developers" },
	{ -12, KAKAO_CONFIG,
	    "the app or the developer account is suspended: check Kakao "
	    "Developers" },
	{ -101, KAKAO_REAUTH,
	    "the Kakao account is not linked to this app any more (it was "
	    "unlinked, or the app changed): run `kakaowatch auth` again" },
	{ -103, KAKAO_FATAL,
	    "the Kakao account is dormant (휴면) or does not exist: log in "
	    "to Kakao once to wake it, then run `kakaowatch auth`" },
	{ -401, KAKAO_UNAUTHORIZED,
	    "Kakao rejected the access token (invalid or expired)" },
	{ -402, KAKAO_CONSENT,
	    "the Kakao user has not consented to 카카오톡 메시지 전송 "
	    "(talk_message): " CONSENT_HINT },
	{ -405, KAKAO_FATAL,
	    "Kakao refused this request for this account (-405; its exact "
	    "meaning is not documented, see docs/kakao.md); check the "
	    "account in KakaoTalk and run `kakaowatch auth` again" },
	{ -406, KAKAO_FATAL,
	    "the Kakao account belongs to a user under 14, which the app "
	    "does not allow" },
	{ -501, KAKAO_FATAL,
	    "the Kakao account is not a KakaoTalk user (or is suspended)" },
	{ -531, KAKAO_QUOTA,
	    "Kakao monthly message quota used up; sends are held" },
	{ -532, KAKAO_QUOTA,
	    "Kakao daily message quota used up; sends are held until the "
	    "next day" },
	{ -533, KAKAO_QUOTA,
	    "Kakao daily message quota of the recipient used up; sends are "
	    "held until the next day" },
	{ -536, KAKAO_QUOTA,
	    "Kakao daily message quota (sender to recipient) used up; sends "
	    "are held until the next day" },
	{ -603, KAKAO_RETRY, "Kakao internal timeout; will retry later" },
	{ -903, KAKAO_CONFIG,
	    "the app key belongs to an unregistered developer: check Kakao "
	    "Developers" },
	{ -9798, KAKAO_RETRY,
	    "Kakao service under maintenance; will retry later" },
};

enum kakao_status
kakao_classify_api_error(long http_status, const char *body, struct kw_err *err)
{
	json_t *root = parse_object(body);
	json_t *code = root ? json_object_get(root, "code") : NULL;
	const char *msg = member_string(root, "msg");
	enum kakao_status st = KAKAO_FATAL;
	long c;
	size_t i;

	if (json_is_integer(code)) {
		c = (long)json_integer_value(code);
		for (i = 0; i < sizeof(api_errors) / sizeof(api_errors[0]);
		     i++) {
			if (api_errors[i].code != c)
				continue;
			st = api_errors[i].status;
			kw_err_set(err, "Kakao API error %ld: %s", c,
			    api_errors[i].what);
			goto out;
		}
		if (http_status >= 500) {
			st = KAKAO_RETRY;
			kw_err_set(err,
			    "Kakao API error %ld (HTTP %ld); will "
			    "retry later",
			    c, http_status);
		} else {
			kw_err_set(err,
			    "Kakao API error %ld (HTTP %ld): %.160s", c,
			    http_status, msg ? msg : "no message");
		}
		goto out;
	}
	if (http_status >= 500) {
		st = KAKAO_RETRY;
		kw_err_set(err,
		    "Kakao API server error (HTTP %ld); will retry "
		    "later",
		    http_status);
	} else if (http_status == 401) {
		st = KAKAO_UNAUTHORIZED;
		kw_err_set(err, "Kakao rejected the access token (HTTP 401)");
	} else if (http_status == 429) {
		st = KAKAO_RETRY;
		kw_err_set(err, "Kakao API is rate limiting (HTTP 429); will "
				"retry later");
	} else {
		kw_err_set(err,
		    "unexpected Kakao API answer (HTTP %ld, no "
		    "error code)",
		    http_status);
	}
out:
	json_decref(root);
	return st;
}

/* ---- token endpoint ---- */

/*
 * token_post sends `form` to {auth}/oauth/token. On a 200 *body_out is the
 * response body (caller frees) and KAKAO_OK is returned.
 */
static enum kakao_status
token_post(const struct kakao_client *c, const struct buf *form,
    char **body_out, struct kw_err *err)
{
	struct http_response resp;
	enum kakao_status st;
	char *url;

	*body_out = NULL;
	memset(&resp, 0, sizeof(resp));
	url = join_url(c->auth_base_url, TOKEN_PATH);
	if (url == NULL) {
		kw_err_set(err, "out of memory");
		return KAKAO_FATAL;
	}
	if (kakao_post(c, url, form, NULL, &resp, err) != 0) {
		st = KAKAO_RETRY;
		goto out;
	}
	if (resp.status != 200) {
		st =
		    classify_auth(resp.status, resp.body, c->redirect_uri, err);
		goto out;
	}
	*body_out = resp.body;
	resp.body = NULL;
	st = KAKAO_OK;
out:
	util_wipe(resp.body, resp.len);
	http_response_release(&resp);
	free(url);
	return st;
}

static void
free_secret(char *s)
{
	util_wipe_free(s);
}

/* the common form fields of both grants */
static int
form_client(struct buf *form, const struct kakao_client *c,
    const char *grant_type)
{
	if (form_add(form, "grant_type", grant_type) != 0 ||
	    form_add(form, "client_id", c->rest_api_key) != 0)
		return -1;
	if (c->client_secret != NULL && c->client_secret[0] != '\0' &&
	    form_add(form, "client_secret", c->client_secret) != 0)
		return -1;
	return 0;
}

enum kakao_status
kakao_exchange_code(const struct kakao_client *c, const char *code,
    struct token *t, int64_t now_s, struct kw_err *err)
{
	struct token n = { 0 };
	struct buf form;
	enum kakao_status st;
	char *body = NULL;

	log_redact_add(code);
	log_redact_add(c->client_secret);
	buf_init(&form, BODY_MAX);
	if (code == NULL || code[0] == '\0') {
		kw_err_set(err,
		    "no authorization code given; run `kakaowatch "
		    "auth` and paste the code or the redirected URL");
		st = KAKAO_REAUTH;
		goto out;
	}
	if (form_client(&form, c, "authorization_code") != 0 ||
	    form_add(&form, "redirect_uri", c->redirect_uri) != 0 ||
	    form_add(&form, "code", code) != 0) {
		kw_err_set(err, "out of memory");
		st = KAKAO_FATAL;
		goto out;
	}
	st = token_post(c, &form, &body, err);
	if (st != KAKAO_OK)
		goto out;
	/* the code is spent now: a bad answer cannot be retried */
	if (token_apply_response(&n, body, now_s, err) != 0) {
		st = KAKAO_FATAL;
		goto out;
	}
	if (n.refresh_token == NULL) {
		kw_err_set(err, "Kakao's token response has no refresh_token");
		st = KAKAO_FATAL;
		goto out;
	}
	token_release(t);
	*t = n;
	memset(&n, 0, sizeof(n));
	log_info("kakao: authorized; access token valid for %lld min, "
		 "refresh token for %lld days",
	    (long long)(t->expires_in + 30) / 60,
	    (long long)(t->refresh_token_expires_in + 43200) / 86400);
out:
	token_release(&n);
	free_secret(body);
	buf_wipe_release(&form);
	return st;
}

enum kakao_status
kakao_refresh_request(const struct kakao_client *c, const struct token *t,
    struct kakao_call *call, struct http_request *req, struct kw_err *err)
{
	memset(call, 0, sizeof(*call));
	buf_init(&call->form, BODY_MAX);
	log_redact_add(c->client_secret);
	if (t->refresh_token == NULL || t->refresh_token[0] == '\0') {
		kw_err_set(err,
		    "there is no Kakao refresh token; " REAUTH_HINT);
		return KAKAO_REAUTH;
	}
	log_redact_add(t->refresh_token);
	call->url = join_url(c->auth_base_url, TOKEN_PATH);
	if (call->url == NULL ||
	    form_client(&call->form, c, "refresh_token") != 0 ||
	    form_add(&call->form, "refresh_token", t->refresh_token) != 0) {
		kakao_call_release(call);
		kw_err_set(err, "out of memory");
		return KAKAO_FATAL;
	}
	call_request(c, call, NULL, req);
	return KAKAO_OK;
}

enum kakao_status
kakao_refresh_result(const struct kakao_client *c, struct token *t,
    const struct http_response *resp, int64_t now_s, struct kw_err *err)
{
	if (resp->error != HTTP_OK) {
		kw_err_set(err, "cannot reach Kakao's token endpoint: %s",
		    resp->errmsg[0] ? resp->errmsg : "transport error");
		return KAKAO_RETRY;
	}
	if (resp->status != 200)
		return classify_auth(resp->status, resp->body, c->redirect_uri,
		    err);
	if (token_apply_response(t, resp->body, now_s, err) != 0)
		return KAKAO_RETRY;
	return KAKAO_OK;
}

enum kakao_status
kakao_refresh(const struct kakao_client *c, struct token *t, int64_t now_s,
    struct kw_err *err)
{
	struct kakao_call call;
	struct http_request req;
	struct http_response resp;
	enum kakao_status st;

	memset(&resp, 0, sizeof(resp));
	st = kakao_refresh_request(c, t, &call, &req, err);
	if (st != KAKAO_OK)
		return st;
	if (http_request_sync(&req, &resp) != 0) {
		kw_err_set(err, "cannot reach Kakao at '%s': %s", call.url,
		    resp.errmsg[0] ? resp.errmsg : "transport error");
		st = KAKAO_RETRY;
	} else {
		st = kakao_refresh_result(c, t, &resp, now_s, err);
	}
	util_wipe(resp.body, resp.len);
	http_response_release(&resp);
	kakao_call_release(&call);
	return st;
}

/* ---- memo API ---- */

void
kakao_call_release(struct kakao_call *call)
{
	if (call == NULL)
		return;
	buf_wipe_release(&call->form);
	free(call->url);
	call->url = NULL;
}

/* call_request points `req` at `call` (a form POST, Kakao's timeouts) */
static void
call_request(const struct kakao_client *c, struct kakao_call *call,
    const char *bearer, struct http_request *req)
{
	long timeout = c->timeout_ms > 0 ? c->timeout_ms : KAKAO_TIMEOUT_MS;

	memset(req, 0, sizeof(*req));
	req->url = call->url;
	req->method = "POST";
	req->body = call->form.data ? call->form.data : "";
	req->body_len = call->form.len;
	req->content_type = FORM_CONTENT_TYPE;
	req->bearer_token = bearer;
	req->timeout_ms = timeout;
	req->connect_timeout_ms = timeout < KAKAO_CONNECT_TIMEOUT_MS ?
				      timeout :
				      KAKAO_CONNECT_TIMEOUT_MS;
	req->max_bytes = KAKAO_MAX_RESPONSE_BYTES;
	req->ssl_verify = true;
}

enum kakao_status
kakao_memo_request(const struct kakao_client *c, const char *access_token,
    const char *template_json, struct kakao_call *call,
    struct http_request *req, struct kw_err *err)
{
	json_t *tpl;
	enum kakao_status st = KAKAO_OK;

	memset(call, 0, sizeof(*call));
	buf_init(&call->form, BODY_MAX);
	log_redact_add(access_token);
	tpl = template_json ? json_loads(template_json, 0, NULL) : NULL;
	if (!json_is_object(tpl)) {
		kw_err_set(err, "the template object is not a JSON object "
				"(this is a kakaowatch bug)");
		st = KAKAO_BAD_TEMPLATE;
		goto out;
	}
	if (access_token == NULL || access_token[0] == '\0') {
		kw_err_set(err, "there is no Kakao access token; " REAUTH_HINT);
		st = KAKAO_UNAUTHORIZED;
		goto out;
	}
	call->url = join_url(c->api_base_url, MEMO_DEFAULT_PATH);
	if (call->url == NULL ||
	    form_add(&call->form, "template_object", template_json) != 0) {
		kw_err_set(err, "out of memory (or template over %d bytes)",
		    BODY_MAX);
		st = KAKAO_FATAL;
		goto out;
	}
	call_request(c, call, access_token, req);
out:
	json_decref(tpl);
	if (st != KAKAO_OK)
		kakao_call_release(call);
	return st;
}

enum kakao_status
kakao_memo_result(const struct http_response *resp, struct kw_err *err)
{
	json_t *root = NULL, *rc;
	enum kakao_status st;

	if (resp->error != HTTP_OK) {
		kw_err_set(err, "cannot reach Kakao's memo API: %s",
		    resp->errmsg[0] ? resp->errmsg : "transport error");
		return KAKAO_RETRY;
	}
	log_debug("kakao: memo send: HTTP %ld in %.2fs", resp->status,
	    resp->total_time_s);
	if (resp->status != 200) {
		log_debug("kakao: memo send: HTTP %ld: %.300s", resp->status,
		    resp->body);
		return kakao_classify_api_error(resp->status, resp->body, err);
	}
	root = parse_object(resp->body);
	rc = root ? json_object_get(root, "result_code") : NULL;
	if (json_is_integer(rc) && json_integer_value(rc) == 0) {
		st = KAKAO_OK;
		goto out;
	}
	if (root != NULL && json_is_integer(json_object_get(root, "code"))) {
		st = kakao_classify_api_error(resp->status, resp->body, err);
		goto out;
	}
	/* delivery unknown: retrying may duplicate, which at-least-once
	 * delivery accepts (SPEC §6) */
	kw_err_set(err, "unexpected answer from the Kakao memo API (HTTP 200 "
			"without result_code 0); will retry");
	st = KAKAO_RETRY;
out:
	json_decref(root);
	return st;
}

enum kakao_status
kakao_send_memo(const struct kakao_client *c, const char *access_token,
    const char *template_json, struct kw_err *err)
{
	struct kakao_call call;
	struct http_request req;
	struct http_response resp;
	enum kakao_status st;

	memset(&resp, 0, sizeof(resp));
	st = kakao_memo_request(c, access_token, template_json, &call, &req,
	    err);
	if (st != KAKAO_OK)
		return st;
	if (http_request_sync(&req, &resp) != 0) {
		kw_err_set(err, "cannot reach Kakao at '%s': %s", call.url,
		    resp.errmsg[0] ? resp.errmsg : "transport error");
		st = KAKAO_RETRY;
	} else {
		st = kakao_memo_result(&resp, err);
	}
	http_response_release(&resp);
	kakao_call_release(&call);
	return st;
}

/* ---- session helpers ---- */

static enum kakao_status
session_load(const struct kakao_client *c, struct token *t, struct kw_err *err)
{
	struct kw_err lerr = { 0 };

	if (token_load(c->token_path, t, &lerr) == 0)
		return KAKAO_OK;
	if (errno == ENOENT) {
		kw_err_set(err,
		    "no Kakao token file '%s' yet: run `kakaowatch "
		    "auth` to authorize kakaowatch",
		    c->token_path);
		return KAKAO_REAUTH;
	}
	kw_err_set(err, "%s", lerr.msg);
	return KAKAO_CONFIG;
}

/*
 * A refreshed token whose save failed after Kakao issued it: kept here
 * (the only copy of a rotated refresh token) and saved again before every
 * later use of the token file in this process.
 */
static struct token pending;
static char *pending_path;

static void
pending_clear(void)
{
	token_release(&pending);
	free(pending_path);
	pending_path = NULL;
}

/* token_copy: a deep copy through the file format (jansson keeps extra) */
static int
token_copy(struct token *dst, const struct token *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->access_token = util_strdup_or_null(src->access_token);
	dst->refresh_token = util_strdup_or_null(src->refresh_token);
	dst->token_type = util_strdup_or_null(src->token_type);
	dst->scope = util_strdup_or_null(src->scope);
	dst->expires_in = src->expires_in;
	dst->refresh_token_expires_in = src->refresh_token_expires_in;
	dst->access_token_expires_at = src->access_token_expires_at;
	dst->refresh_token_expires_at = src->refresh_token_expires_at;
	dst->extra = src->extra ? json_deep_copy(src->extra) : NULL;
	if ((src->access_token && !dst->access_token) ||
	    (src->refresh_token && !dst->refresh_token) ||
	    (src->token_type && !dst->token_type) ||
	    (src->scope && !dst->scope) || (src->extra && !dst->extra)) {
		token_release(dst);
		return -1;
	}
	return 0;
}

static void
pending_keep(const char *path, const struct token *t)
{
	pending_clear();
	pending_path = strdup(path);
	if (pending_path == NULL || token_copy(&pending, t) != 0) {
		pending_clear();
		log_errorx("kakao: out of memory keeping the refreshed token");
	}
}

/*
 * pending_flush saves a kept token (under the token lock `fd`); true
 * when one is still unsaved afterwards.
 */
static bool
pending_flush(const char *path)
{
	struct kw_err err = { 0 };

	if (pending_path == NULL || strcmp(pending_path, path) != 0)
		return false;
	if (token_save(path, &pending, &err) != 0) {
		log_errorx(
		    "kakao: the refreshed Kakao token is still not "
		    "saved: %s; kept in memory, trying again before the next "
		    "send",
		    err.msg);
		return true;
	}
	log_info("kakao: the refreshed Kakao token is saved now");
	pending_clear();
	return false;
}

static bool
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* adopt: replace `t` by `f` (moved; f is emptied) */
static void
adopt(struct token *t, struct token *f)
{
	token_release(t);
	*t = *f;
	memset(f, 0, sizeof(*f));
}

/*
 * refresh_locked runs one refresh while holding the token lock: prepares
 * the new token file first (no refresh when it cannot be written), then
 * refreshes, then commits. A KOE322 re-reads the file once: another
 * process may have rotated the refresh token.
 */
static enum kakao_status
refresh_locked(const struct kakao_client *c, struct token *t, int64_t now_s,
    struct kw_err *err)
{
	struct token_reserve r;
	struct kw_err serr = { 0 }, rerr = { 0 }, lerr = { 0 };
	struct token f = { 0 };
	enum kakao_status st;
	char *old = NULL;
	int tries;

	if (t->refresh_token != NULL) {
		old = strdup(t->refresh_token);
		if (old == NULL) {
			kw_err_set(err, "out of memory");
			return KAKAO_FATAL;
		}
	}
	for (tries = 0;; tries++) {
		if (token_save_prepare(c->token_path, &r, &serr) != 0) {
			kw_err_set(err,
			    "%s; not refreshing the Kakao token "
			    "until the new token file can be written (a "
			    "rotated refresh token must never be lost)",
			    serr.msg);
			st = KAKAO_RETRY;
			goto out;
		}
		kw_err_clear(&rerr);
		st = kakao_refresh(c, t, now_s, &rerr);
		if (st == KAKAO_OK)
			break;
		token_save_abort(&r);
		if (st != KAKAO_REAUTH || tries > 0 ||
		    token_load(c->token_path, &f, &lerr) != 0 ||
		    same_str(f.refresh_token, t->refresh_token)) {
			kw_err_set(err, "%s", rerr.msg);
			goto out;
		}
		/* rotated by another process meanwhile: use that one */
		log_info("kakao: the token file has a newer refresh token; "
			 "refreshing with it");
		adopt(t, &f);
	}
	if (token_save_commit(&r, t, &serr) != 0) {
		log_errorx(
		    "kakao: cannot save the refreshed Kakao token: %s; "
		    "kept in memory, saving again before the next send (run "
		    "`kakaowatch auth` only if Kakao later reports KOE322)",
		    serr.msg);
		pending_keep(c->token_path, t);
	}
	if (old == NULL || strcmp(old, t->refresh_token) != 0)
		log_info("kakao: refresh token rotated; the new one is valid "
			 "for %lld days",
		    (long long)(t->refresh_token_expires_in + 43200) / 86400);
	log_debug("kakao: access token refreshed, valid for %lld min",
	    (long long)(t->expires_in + 30) / 60);
out:
	token_release(&f);
	free_secret(old);
	return st;
}

/*
 * refresh_and_save: under the token lock, re-reads the token file (another
 * kakaowatch may have refreshed meanwhile: then that token is used, and
 * unless `force` no new refresh is made when it is fresh), then
 * refresh_locked.
 */
static enum kakao_status
refresh_and_save(const struct kakao_client *c, struct token *t, int64_t now_s,
    bool force, struct kw_err *err)
{
	struct kw_err lerr = { 0 };
	struct token f = { 0 };
	enum kakao_status st;
	int fd;

	fd = token_lock(c->token_path, KAKAO_LOCK_TIMEOUT_MS, &lerr);
	if (fd < 0) {
		kw_err_set(err, "%s", lerr.msg);
		return KAKAO_RETRY;
	}
	if (pending_flush(c->token_path)) {
		/* still unsaved: the kept token is the newest */
		token_release(t);
		if (token_copy(t, &pending) != 0) {
			kw_err_set(err, "out of memory");
			st = KAKAO_FATAL;
			goto out;
		}
	} else if (token_load(c->token_path, &f, &lerr) == 0 &&
		   (!same_str(f.refresh_token, t->refresh_token) ||
		       !same_str(f.access_token, t->access_token))) {
		adopt(t, &f);
		if (!force && !token_refresh_due(t, now_s, 0) &&
		    t->access_token != NULL) {
			log_debug("kakao: another kakaowatch refreshed the "
				  "token; using it");
			st = KAKAO_OK;
			goto out;
		}
	}
	st = refresh_locked(c, t, now_s, err);
out:
	token_release(&f);
	token_unlock(fd);
	return st;
}

static enum kakao_status
session_load_kept(const struct kakao_client *c, struct token *t,
    struct kw_err *err)
{
	int fd;
	struct kw_err lerr = { 0 };

	if (pending_path != NULL && strcmp(pending_path, c->token_path) == 0) {
		fd = token_lock(c->token_path, KAKAO_LOCK_TIMEOUT_MS, &lerr);
		if (fd >= 0) {
			(void)pending_flush(c->token_path);
			token_unlock(fd);
		}
		if (pending_path != NULL) {
			memset(t, 0, sizeof(*t));
			if (token_copy(t, &pending) != 0) {
				kw_err_set(err, "out of memory");
				return KAKAO_FATAL;
			}
			return KAKAO_OK;
		}
	}
	return session_load(c, t, err);
}

enum kakao_status
kakao_session_begin(const struct kakao_client *c, struct token *t,
    int64_t now_s, struct kw_err *err)
{
	struct kw_err rerr = { 0 };
	enum kakao_status st;

	st = session_load_kept(c, t, err);
	if (st != KAKAO_OK)
		return st;
	if (!token_refresh_due(t, now_s, c->min_refresh_interval_s))
		return KAKAO_OK;
	st = refresh_and_save(c, t, now_s, false, &rerr);
	if (st == KAKAO_OK)
		return KAKAO_OK;
	if ((st == KAKAO_RETRY || st == KAKAO_RATE_LIMITED) &&
	    t->access_token != NULL &&
	    t->access_token_expires_at - now_s > STILL_VALID_S) {
		log_warnx("kakao: token refresh failed, using the current "
			  "access token (valid for %lld more min): %s",
		    (long long)(t->access_token_expires_at - now_s) / 60,
		    rerr.msg);
		return KAKAO_OK;
	}
	kw_err_set(err, "%s", rerr.msg);
	return st;
}

enum kakao_status
kakao_session_refresh(const struct kakao_client *c, struct token *t,
    int64_t now_s, struct kw_err *err)
{
	enum kakao_status st;

	st = session_load_kept(c, t, err);
	if (st != KAKAO_OK)
		return st;
	return refresh_and_save(c, t, now_s, true, err);
}

enum kakao_status
kakao_session_send(const struct kakao_client *c, struct token *t,
    const char *template_json, int64_t now_s, struct kw_err *err)
{
	struct kw_err first = { 0 }, lerr = { 0 };
	struct token f = { 0 };
	enum kakao_status st;

	st = kakao_send_memo(c, t->access_token, template_json, &first);
	if (st != KAKAO_UNAUTHORIZED) {
		if (first.set)
			kw_err_set(err, "%s", first.msg);
		return st;
	}
	log_info("kakao: access token rejected (-401); refreshing and "
		 "retrying once");
	/* another kakaowatch may have refreshed already (SDK policy, §2.4) */
	if (token_load(c->token_path, &f, &lerr) == 0 &&
	    f.access_token != NULL && t->access_token != NULL &&
	    strcmp(f.access_token, t->access_token) != 0) {
		token_release(t);
		*t = f;
		memset(&f, 0, sizeof(f));
	} else {
		token_release(&f);
		st = refresh_and_save(c, t, now_s, false, err);
		if (st != KAKAO_OK)
			return st;
	}
	kw_err_clear(&first);
	st = kakao_send_memo(c, t->access_token, template_json, &first);
	if (st == KAKAO_UNAUTHORIZED) {
		kw_err_set(err,
		    "Kakao rejected a freshly refreshed access "
		    "token (-401): check that the app key is active and the "
		    "app's allowed IP addresses (Kakao Developers > 보안); "
		    "run `kakaowatch auth` if this repeats");
	} else if (first.set && st != KAKAO_OK) {
		kw_err_set(err, "%s", first.msg);
	}
	return st;
}

/* ---- the same session, step by step, for the loop ---- */

enum kakao_status
kakao_session_load(const struct kakao_client *c, struct token *t,
    struct kw_err *err)
{
	return session_load_kept(c, t, err);
}

void
kakao_refresh_abandon(struct kakao_refresh_job *job)
{
	if (job == NULL || job->lock_fd < 0)
		return;
	token_save_abort(&job->reserve);
	token_unlock(job->lock_fd);
	job->lock_fd = -1;
	free_secret(job->old_refresh);
	job->old_refresh = NULL;
}

enum kakao_status
kakao_refresh_begin(const struct kakao_client *c, struct token *t,
    int64_t now_s, bool force, struct kakao_refresh_job *job,
    struct kakao_call *call, struct http_request *req, bool *need,
    struct kw_err *err)
{
	struct kw_err lerr = { 0 }, serr = { 0 };
	struct token f = { 0 };
	enum kakao_status st;

	memset(job, 0, sizeof(*job));
	job->lock_fd = -1;
	job->reserve.fd = -1;
	*need = false;
	/* never wait: another process refreshing means "in a moment" */
	job->lock_fd = token_lock(c->token_path, 0, &lerr);
	if (job->lock_fd < 0) {
		kw_err_set(err, "%s", lerr.msg);
		return errno == EWOULDBLOCK ? KAKAO_RATE_LIMITED : KAKAO_RETRY;
	}
	if (pending_flush(c->token_path)) {
		token_release(t);
		if (token_copy(t, &pending) != 0) {
			st = KAKAO_FATAL;
			kw_err_set(err, "out of memory");
			goto fail;
		}
	} else if (token_load(c->token_path, &f, &lerr) == 0 &&
		   (!same_str(f.refresh_token, t->refresh_token) ||
		       !same_str(f.access_token, t->access_token))) {
		adopt(t, &f);
		if (!force && t->access_token != NULL &&
		    !token_refresh_due(t, now_s, 0)) {
			kakao_refresh_abandon(job);
			return KAKAO_OK;
		}
	}
	if (token_save_prepare(c->token_path, &job->reserve, &serr) != 0) {
		kw_err_set(err,
		    "%s; not refreshing the Kakao token until the "
		    "new token file can be written (a rotated refresh token "
		    "must never be lost)",
		    serr.msg);
		st = KAKAO_RETRY;
		goto fail;
	}
	if (t->refresh_token != NULL &&
	    (job->old_refresh = strdup(t->refresh_token)) == NULL) {
		kw_err_set(err, "out of memory");
		st = KAKAO_FATAL;
		goto fail;
	}
	st = kakao_refresh_request(c, t, call, req, err);
	if (st != KAKAO_OK)
		goto fail;
	*need = true;
	token_release(&f);
	return KAKAO_OK;
fail:
	token_release(&f);
	kakao_refresh_abandon(job);
	return st;
}

enum kakao_status
kakao_refresh_end(const struct kakao_client *c, struct token *t,
    struct kakao_refresh_job *job, const struct http_response *resp,
    int64_t now_s, struct kakao_call *call, struct http_request *req,
    bool *again, struct kw_err *err)
{
	struct kw_err rerr = { 0 }, serr = { 0 }, lerr = { 0 };
	struct token f = { 0 };
	enum kakao_status st;

	*again = false;
	st = kakao_refresh_result(c, t, resp, now_s, &rerr);
	if (st == KAKAO_REAUTH && !job->retried &&
	    token_load(c->token_path, &f, &lerr) == 0 &&
	    !same_str(f.refresh_token, t->refresh_token)) {
		/* rotated by another process meanwhile: use that one */
		log_info("kakao: the token file has a newer refresh token; "
			 "refreshing with it");
		adopt(t, &f);
		job->retried = true;
		st = kakao_refresh_request(c, t, call, req, err);
		if (st == KAKAO_OK) {
			*again = true;
			return KAKAO_OK;
		}
		kakao_refresh_abandon(job);
		return st;
	}
	token_release(&f);
	if (st != KAKAO_OK) {
		kw_err_set(err, "%s", rerr.msg);
		kakao_refresh_abandon(job);
		return st;
	}
	if (token_save_commit(&job->reserve, t, &serr) != 0) {
		log_errorx(
		    "kakao: cannot save the refreshed Kakao token: %s; "
		    "kept in memory, saving again before the next send (run "
		    "`kakaowatch auth` only if Kakao later reports KOE322)",
		    serr.msg);
		pending_keep(c->token_path, t);
	}
	if (job->old_refresh == NULL ||
	    strcmp(job->old_refresh, t->refresh_token) != 0)
		log_info("kakao: refresh token rotated; the new one is valid "
			 "for %lld days",
		    (long long)(t->refresh_token_expires_in + 43200) / 86400);
	log_debug("kakao: access token refreshed, valid for %lld min",
	    (long long)(t->expires_in + 30) / 60);
	kakao_refresh_abandon(job); /* the reserve is spent: unlocks */
	return KAKAO_OK;
}

enum kakao_status
kakao_session_adopt(const struct kakao_client *c, struct token *t,
    int64_t now_s, struct kw_err *err)
{
	struct kw_err lerr = { 0 };
	enum kakao_status st;
	int fd;

	fd = token_lock(c->token_path, KAKAO_LOCK_TIMEOUT_MS, &lerr);
	if (fd < 0) {
		kw_err_set(err, "%s", lerr.msg);
		return KAKAO_RETRY;
	}
	st = refresh_locked(c, t, now_s, err);
	token_unlock(fd);
	return st;
}
