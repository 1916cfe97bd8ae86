/*
 * kakao: the Kakao REST client for "send to me" (docs/kakao.md): the
 * authorize URL, the token endpoint (authorization code and refresh token
 * grants), the memo send, the classification of Kakao's errors, and the
 * session helpers that tie those to the token file (docs/design.md §4).
 *
 * Every request is synchronous (http_request_sync) with a 15 s timeout by
 * default. Errors are told apart by `error_code` / `error` (kauth) and
 * `code` (kapi), never by message text (docs/kakao.md §6, S3). Error
 * messages say what to do; they never hold a token, an authorization code
 * or the client secret (each is registered with log_redact_add before it
 * is sent anywhere).
 */
#ifndef KAKAOWATCH_KAKAO_H
#define KAKAOWATCH_KAKAO_H

#include <stdint.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/token.h"
#include "kakaowatch/util.h"

#define KAKAO_TIMEOUT_MS 15000L
#define KAKAO_CONNECT_TIMEOUT_MS 10000L
#define KAKAO_MAX_RESPONSE_BYTES (256 * 1024)
/* how long a refresh waits for another process's refresh (token_lock) */
#define KAKAO_LOCK_TIMEOUT_MS 40000L

/*
 * struct kakao_client: everything borrowed (usually from struct config);
 * it must outlive the calls.
 */
struct kakao_client {
	const char *auth_base_url; /* "https://kauth.kakao.com", no slash */
	const char *api_base_url;  /* "https://kapi.kakao.com" */
	const char *rest_api_key;  /* client_id */
	const char *client_secret; /* NULL when the app has it turned off */
	const char *redirect_uri;  /* byte-identical to the registered one */
	const char *token_path;    /* the token file (session helpers) */
	int64_t min_refresh_interval_s; /* design.md §4, default 300 */
	long timeout_ms; /* per request; <= 0: KAKAO_TIMEOUT_MS */
};

/* what the caller should do next; see kakao_status_name */
enum kakao_status {
	KAKAO_OK,
	/* transient: 5xx, network, timeout, -1, -7, -603, -9798, KOE003:
	 * retry later with backoff */
	KAKAO_RETRY,
	/* -401: the access token is invalid or expired: refresh */
	KAKAO_UNAUTHORIZED,
	/* no token file, or the refresh token / code is dead (invalid_grant:
	 * KOE319, KOE320, KOE322): the user must run `kakaowatch auth` */
	KAKAO_REAUTH,
	/* -402 / -3: talk_message consent missing (user or app) */
	KAKAO_CONSENT,
	/* -10, -11, -531, -532, -533, -536: quota used up; hold until the
	 * next day, keep the outbox */
	KAKAO_QUOTA,
	/* KOE237: token issuance rate limit; try again later */
	KAKAO_RATE_LIMITED,
	/* -2: our template object (or a parameter) is wrong: a bug */
	KAKAO_BAD_TEMPLATE,
	/* the app / config is wrong: KOE004, KOE006, KOE009, KOE010, KOE101,
	 * KOE303, ..., -5, -903, an unreadable token file */
	KAKAO_CONFIG,
	/* anything else */
	KAKAO_FATAL
};

/*
 * struct kakao_call: the owned parts of one prepared Kakao request (URL,
 * form body), for a request run on the loop's multi handle (http_submit
 * copies them, so the call may be released right after it). Release with
 * kakao_call_release (wipes the body: it may hold tokens).
 */
struct kakao_call {
	char *url;
	struct buf form;
};

void kakao_call_release(struct kakao_call *call);

/* kakao_status_name: static lower-case name ("ok", "retry", ...) */
const char *kakao_status_name(enum kakao_status s);

/*
 * kakao_authorize_url returns the URL the user opens (docs/kakao.md §1):
 * {auth_base_url}/oauth/authorize?client_id=..&redirect_uri=..
 * &response_type=code&scope=talk_message&state=.. with every value
 * percent-encoded; `state` may be NULL (then omitted). Heap string, caller
 * frees; NULL on out-of-memory.
 */
char *kakao_authorize_url(const struct kakao_client *c, const char *state);

/*
 * kakao_exchange_code trades an authorization code for tokens
 * (POST {auth}/oauth/token, grant_type=authorization_code, with
 * redirect_uri and client_secret when set; docs/kakao.md §2.1). On KAKAO_OK
 * `t` is replaced by the new tokens (its old content released); it is not
 * saved (the caller saves it with token_save). On failure `t` is unchanged
 * and `err` says what to do: KOE320 -> KAKAO_REAUTH ("already used or
 * expired"), KOE303/KOE006 -> KAKAO_CONFIG (redirect URI), KOE010 ->
 * KAKAO_CONFIG (client secret), ... `now_s`: Unix seconds.
 */
enum kakao_status kakao_exchange_code(const struct kakao_client *c,
    const char *code, struct token *t, int64_t now_s, struct kw_err *err);

/*
 * kakao_refresh refreshes `t` with its refresh token (grant_type=
 * refresh_token; docs/kakao.md §2.2) and merges the answer with
 * token_apply_response (a rotated refresh token replaces the old one in
 * `t`). Does NOT save: use the kakao_session_* helpers, which persist at
 * once. On failure `t` is unchanged. KOE322 -> KAKAO_REAUTH, KOE237 ->
 * KAKAO_RATE_LIMITED, 5xx / network -> KAKAO_RETRY.
 */
enum kakao_status kakao_refresh(const struct kakao_client *c, struct token *t,
    int64_t now_s, struct kw_err *err);

/*
 * kakao_send_memo sends one default template to the user's own chat
 * (POST {api}/v2/api/talk/memo/default/send, form field template_object =
 * the percent-encoded JSON `template_json`, Authorization: Bearer;
 * docs/kakao.md §4). KAKAO_OK only on HTTP 200 with {"result_code":0}.
 * `template_json` that is not a JSON object gives KAKAO_BAD_TEMPLATE
 * without a request. Errors per kakao_classify_api_error; a 200 without
 * result_code 0 is KAKAO_RETRY (delivery unknown: at-least-once).
 */
enum kakao_status kakao_send_memo(const struct kakao_client *c,
    const char *access_token, const char *template_json, struct kw_err *err);

/*
 * kakao_memo_request prepares what kakao_send_memo sends, without sending:
 * fills `call` (owned parts) and `req` (borrowing from `call` and
 * `access_token`, valid while both are) for http_submit. KAKAO_OK, or the
 * status kakao_send_memo would give without a request (KAKAO_BAD_TEMPLATE,
 * KAKAO_UNAUTHORIZED, KAKAO_FATAL) with `err` and nothing to release.
 */
enum kakao_status kakao_memo_request(const struct kakao_client *c,
    const char *access_token, const char *template_json,
    struct kakao_call *call, struct http_request *req, struct kw_err *err);

/*
 * kakao_memo_result classifies the answer to a kakao_memo_request as
 * kakao_send_memo does (a transport error is KAKAO_RETRY).
 */
enum kakao_status kakao_memo_result(const struct http_response *resp,
    struct kw_err *err);

/*
 * kakao_refresh_request / kakao_refresh_result: kakao_refresh in two
 * halves, for the loop. The request borrows t->refresh_token (keep `t`
 * until it is submitted); the result merges a 200 into `t`
 * (token_apply_response), else classifies the error (KOE322 ->
 * KAKAO_REAUTH, ...). Neither saves nor locks: see kakao_refresh_begin.
 * A kauth error answer (any status but 200, body {"error":..,
 * "error_code":"KOExxx"}; docs/kakao.md §6.1, §6.3) is classified as
 * kakao_exchange_code and kakao_refresh classify it, with an actionable
 * message in `err` and `t` unchanged: error_code first, then the status
 * (5xx -> KAKAO_RETRY), then the OAuth `error` class; never
 * error_description.
 */
enum kakao_status kakao_refresh_request(const struct kakao_client *c,
    const struct token *t, struct kakao_call *call, struct http_request *req,
    struct kw_err *err);
enum kakao_status kakao_refresh_result(const struct kakao_client *c,
    struct token *t, const struct http_response *resp, int64_t now_s,
    struct kw_err *err);

/*
 * kakao_classify_api_error maps a kapi error response ({"code":-N,...};
 * docs/kakao.md §6.1, §6.2) to a status with an actionable message in
 * `err`. Pure. Looks at `code`, then at the HTTP status; never at `msg`.
 * A 200 answer is not an error: callers only pass failures.
 */
enum kakao_status kakao_classify_api_error(long http_status, const char *body,
    struct kw_err *err);

/*
 * kakao_session_begin prepares a send batch: loads c->token_path into `t`
 * (zeroed or released before; the caller releases it after), and when
 * token_refresh_due(t, now_s, c->min_refresh_interval_s) refreshes it and
 * saves the file at once (so a rotated refresh token is never lost).
 * Returns KAKAO_OK with a usable access token in `t`.
 * KAKAO_REAUTH when there is no token file or the refresh token is dead,
 * with a message that says to run `kakaowatch auth`; KAKAO_CONFIG when the
 * file is unreadable (mode, JSON). When a due refresh fails with
 * KAKAO_RETRY or KAKAO_RATE_LIMITED but the access token still has over a
 * minute left, the refresh is skipped (warning logged) and KAKAO_OK is
 * returned. When the refreshed token cannot be saved: KAKAO_FATAL (`t`
 * holds the new tokens, the file the old ones).
 */
enum kakao_status kakao_session_begin(const struct kakao_client *c,
    struct token *t, int64_t now_s, struct kw_err *err);

/*
 * kakao_session_send sends `template_json` with t->access_token. On -401 it
 * first re-reads the token file (another kakaowatch process may have
 * refreshed: then it just retries), else refreshes and saves, and retries
 * once (Kakao SDK policy, docs/kakao.md §2.4). Other results are returned
 * as kakao_send_memo gives them.
 */
enum kakao_status kakao_session_send(const struct kakao_client *c,
    struct token *t, const char *template_json, int64_t now_s,
    struct kw_err *err);

/*
 * kakao_session_refresh (`kakaowatch token refresh`): loads c->token_path
 * into `t` (zeroed or released before), refreshes now whatever the policy
 * says, and saves. Statuses as kakao_session_begin (no fallback).
 */
enum kakao_status kakao_session_refresh(const struct kakao_client *c,
    struct token *t, int64_t now_s, struct kw_err *err);

/*
 * kakao_session_adopt (`kakaowatch auth --import`): `t` comes from
 * elsewhere (a token file written by a tutorial); refreshes it once, which
 * proves the refresh token works, and saves the result to c->token_path
 * (prepared before the refresh, under the token lock, mode 0600). Statuses
 * as kakao_session_refresh.
 */
enum kakao_status kakao_session_adopt(const struct kakao_client *c,
    struct token *t, int64_t now_s, struct kw_err *err);

/* ---- the session step by step, for the daemon's loop ---- */

/*
 * kakao_session_load loads the token file into `t` (zeroed or released
 * before), or the refreshed token this process keeps because its save
 * failed (saving it again first). Statuses as kakao_session_begin, without
 * any refresh. Synchronous but local (a small file).
 */
enum kakao_status kakao_session_load(const struct kakao_client *c,
    struct token *t, struct kw_err *err);

/* one refresh in flight on the loop: the token lock and the prepared file */
struct kakao_refresh_job {
	int lock_fd; /* token_lock, -1 when not held */
	struct token_reserve reserve;
	char *old_refresh; /* to tell a rotation */
	bool retried;      /* the KOE322 re-read was done */
};

/*
 * kakao_refresh_begin starts a refresh of `t` the way kakao_session_begin
 * does, but never waits: takes the token lock without waiting (held by
 * another process: KAKAO_RATE_LIMITED, try again in a moment), re-reads
 * the file (a newer token there is adopted into `t`; unless `force`, when
 * it is fresh no refresh is made: KAKAO_OK with *need false), prepares the
 * new token file (token_save_prepare: on a full disk KAKAO_RETRY, no
 * refresh) and fills `call`/`req` for http_submit with *need true. On
 * anything but KAKAO_OK with *need true, `job` holds nothing.
 */
enum kakao_status kakao_refresh_begin(const struct kakao_client *c,
    struct token *t, int64_t now_s, bool force, struct kakao_refresh_job *job,
    struct kakao_call *call, struct http_request *req, bool *need,
    struct kw_err *err);

/*
 * kakao_refresh_end takes the answer to that request: merges it into `t`,
 * commits the prepared file (a failed commit keeps the token in memory,
 * see kakao_session_load) and releases the lock. A KOE322 while the file
 * has another refresh token (rotated by another process) prepares one more
 * request into `call`/`req` and sets *again (submit it and call this again
 * with its answer). Any other error releases `job` and is returned.
 */
enum kakao_status kakao_refresh_end(const struct kakao_client *c,
    struct token *t, struct kakao_refresh_job *job,
    const struct http_response *resp, int64_t now_s, struct kakao_call *call,
    struct http_request *req, bool *again, struct kw_err *err);

/* kakao_refresh_abandon drops a job (prepared file, lock). NULL ok. */
void kakao_refresh_abandon(struct kakao_refresh_job *job);

#endif
