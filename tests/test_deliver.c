/*
 * test_deliver: the outbox -> KakaoTalk delivery (deliver.h) against the
 * strict loopback fake (tests/fakes/fake_kakao.py) and a temporary state
 * database, driven through time by explicit now_ms values: the daily
 * budget and its next-day digest, Kakao's quota hold until 00:00 KST,
 * backoff on transient failures in FIFO order, dead refresh tokens, the
 * expiry reminder, the keep-alive refresh; and the pure arithmetic (backoff,
 * Korea-time days).
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
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kakaowatch/config.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/http.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"
#include "kakaowatch/store.h"
#include "kakaowatch/token.h"
#include "kakaowatch/util.h"

#include "deliver_fixture.h"

#define CLIENT_ID "deliverTestKey0123"
#define REDIRECT_URI "http://localhost:5000/oauth"
#define SEC 1000LL
#define DAY_MS (86400LL * SEC)

/* 2026-01-01T00:00:00+09:00 == 2025-12-31T15:00:00Z */
#define NEW_YEAR_KST_MS 1767193200000LL

/* ---- pure arithmetic ---- */

static void
test_backoff_starts_at_5s_and_doubles_to_an_hour(void **state)
{
	(void)state;
	assert_int_equal(deliver_backoff_ms(1, 0), 5 * SEC);
	assert_int_equal(deliver_backoff_ms(2, 0), 10 * SEC);
	assert_int_equal(deliver_backoff_ms(3, 0), 20 * SEC);
	assert_int_equal(deliver_backoff_ms(10, 0), 2560 * SEC);
	assert_int_equal(deliver_backoff_ms(11, 0), 3600 * SEC);
	assert_int_equal(deliver_backoff_ms(1000, 0), 3600 * SEC);
	assert_int_equal(deliver_backoff_ms(0, 0), 5 * SEC);
	assert_int_equal(deliver_backoff_ms(-5, 0), 5 * SEC);
}

static void
test_backoff_jitter_adds_at_most_a_fifth_and_never_passes_an_hour(void **state)
{
	double j;
	int64_t d;

	(void)state;
	for (j = 0; j < 1; j += 0.01) {
		d = deliver_backoff_ms(2, j);
		assert_true(d >= 10 * SEC);
		assert_true(d < 12 * SEC);
		d = deliver_backoff_ms(10, j);
		assert_true(d >= 2560 * SEC);
		assert_true(d <= 3600 * SEC);
		assert_int_equal(deliver_backoff_ms(20, j), 3600 * SEC);
	}
	assert_int_equal(deliver_backoff_ms(1, 0.5), 5500);
	/* nonsense jitter does not shorten or explode the delay */
	assert_int_equal(deliver_backoff_ms(1, -1.0), 5 * SEC);
	assert_true(deliver_backoff_ms(1, 5.0) < 6 * SEC);
}

static void
test_kst_day_turns_at_15_utc(void **state)
{
	char day[16];
	/* 2026-11-23T14:59:59.999Z is 23:59:59.999 KST */
	const int64_t before = 1795445999999LL;

	(void)state;
	deliver_kst_day(before, day, sizeof(day));
	assert_string_equal(day, "2026-11-23");
	deliver_kst_day(before + 1, day, sizeof(day));
	assert_string_equal(day, "2026-11-24");
	/* 00:00Z is already 09:00 KST of the same date */
	deliver_kst_day(before + 1 - 15 * 3600 * SEC, day, sizeof(day));
	assert_string_equal(day, "2026-11-23");
	deliver_kst_day(before + 1 - DAY_MS, day, sizeof(day));
	assert_string_equal(day, "2026-11-23");
	deliver_kst_day(before - DAY_MS, day, sizeof(day));
	assert_string_equal(day, "2026-11-22");
}

static void
test_kst_day_crosses_the_year_before_utc_does(void **state)
{
	char day[16];

	(void)state;
	deliver_kst_day(NEW_YEAR_KST_MS - 1, day, sizeof(day));
	assert_string_equal(day, "2025-12-31");
	deliver_kst_day(NEW_YEAR_KST_MS, day, sizeof(day));
	assert_string_equal(day, "2026-01-01");
	/* UTC still says 2025-12-31 for nine more hours */
	deliver_kst_day(NEW_YEAR_KST_MS + 8 * 3600 * SEC, day, sizeof(day));
	assert_string_equal(day, "2026-01-01");
}

static void
test_next_kst_midnight_is_strictly_after_now(void **state)
{
	(void)state;
	assert_int_equal(deliver_next_kst_midnight_ms(NEW_YEAR_KST_MS - 1),
	    NEW_YEAR_KST_MS);
	assert_int_equal(deliver_next_kst_midnight_ms(NEW_YEAR_KST_MS),
	    NEW_YEAR_KST_MS + DAY_MS);
	assert_int_equal(
	    deliver_next_kst_midnight_ms(NEW_YEAR_KST_MS - DAY_MS + 1),
	    NEW_YEAR_KST_MS);
	assert_int_equal(deliver_kst_day_start_ms(NEW_YEAR_KST_MS + 5),
	    NEW_YEAR_KST_MS);
	assert_int_equal(deliver_kst_day_start_ms(NEW_YEAR_KST_MS - 5),
	    NEW_YEAR_KST_MS - DAY_MS);
	/* before 1970 the day still starts at 15:00Z, not rounded to 0 */
	assert_int_equal(deliver_kst_day_start_ms(-1), -9 * 3600 * SEC);
}

/* ---- against the fake Kakao ---- */

static json_t *
control(struct deliver_fixture *f, const char *method, const char *what,
    const char *body)
{
	struct http_request req;
	struct http_response resp;
	char url[256];
	json_t *out;

	snprintf(url, sizeof(url), "%s/_control/%s", f->kakao.base, what);
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.method = method;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.content_type = "application/json";
	req.timeout_ms = 10000;
	assert_int_equal(http_request_sync(&req, &resp), 0);
	if (resp.status != 200)
		fail_msg("control %s %s: HTTP %ld", method, what, resp.status);
	out = json_loads(resp.body, 0, NULL);
	assert_non_null(out);
	http_response_release(&resp);
	return out;
}

static void
control_void(struct deliver_fixture *f, const char *method, const char *what,
    const char *body)
{
	json_decref(control(f, method, what, body));
}

/* the template objects the fake accepted, in order (caller decrefs) */
static json_t *
received(struct deliver_fixture *f)
{
	json_t *j = control(f, "GET", "messages", NULL);
	json_t *m = json_incref(json_object_get(j, "messages"));

	json_decref(j);
	return m;
}

static size_t
nreceived(struct deliver_fixture *f)
{
	json_t *m = received(f);
	size_t n = json_array_size(m);

	json_decref(m);
	return n;
}

/* the text (text template) of received message i */
static char *
received_text(struct deliver_fixture *f, size_t i)
{
	json_t *m = received(f);
	const char *t = json_string_value(json_object_get(
	    json_object_get(json_array_get(m, i), "template_object"), "text"));
	char *out = t ? strdup(t) : NULL;

	json_decref(m);
	assert_non_null(out);
	return out;
}

/* assert_text checks the text of received message i */
static void
assert_text(struct deliver_fixture *f, size_t i, const char *want)
{
	char *text = received_text(f, i);

	assert_string_equal(text, want);
	free(text);
}

static void
write_config(struct deliver_fixture *f, int max_per_day)
{
	deliver_fixture_config(f,
	    "state_dir: %s\n"
	    "kakao:\n"
	    "  rest_api_key: %s\n"
	    "  redirect_uri: %s\n"
	    "  auth_base_url: %s\n"
	    "  api_base_url: %s\n"
	    "  token_file: %s\n"
	    "  sink: kakao\n"
	    "max_messages_per_day: %d\n"
	    "watches:\n"
	    "  - name: alpha\n"
	    "    url: http://127.0.0.1:9/alpha\n"
	    "    xpath: //a\n"
	    "  - name: beta\n"
	    "    url: http://127.0.0.1:9/beta\n"
	    "    xpath: //a\n",
	    f->state_dir, CLIENT_ID, REDIRECT_URI, f->kakao.base, f->kakao.base,
	    f->token_file, max_per_day);
}

/* authorize as `kakaowatch auth --code` does; now_s is the real time */
static void
authorize(struct deliver_fixture *f)
{
	struct kakao_client kc;
	struct token t = { 0 };
	struct kw_err err = { 0 };
	json_t *j;

	j = control(f, "POST", "issue-code", NULL);
	deliver_kakao_client(f->cfg, &kc);
	assert_int_equal(kakao_exchange_code(&kc,
			     json_string_value(json_object_get(j, "code")), &t,
			     (int64_t)time(NULL), &err),
	    KAKAO_OK);
	json_decref(j);
	assert_int_equal(token_save(f->token_file, &t, &err), 0);
	token_release(&t);
}

static int
setup(void **state)
{
	struct deliver_fixture *f = deliver_fixture_new("deliver");

	deliver_fixture_kakao(f, CLIENT_ID, REDIRECT_URI);
	write_config(f, 3);
	authorize(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	deliver_fixture_free(*state);
	return 0;
}

static int64_t
due(struct deliver_fixture *f, int64_t at)
{
	struct outbox_msg *v = NULL;
	struct kw_err err = { 0 };
	size_t n = 0;

	assert_int_equal(store_outbox_due(f->st, at, 0, &v, &n, &err), 0);
	outbox_msgs_free(v, n);
	return (int64_t)n;
}

/* daily delivers to the fake Kakao at `at` (deliver_fixture_run) */
static int
daily(struct deliver_fixture *f, int64_t at, struct deliver_report *rep)
{
	return deliver_fixture_run(f, DELIVER_KAKAO, at, rep);
}

/* drained runs deliver_daily at `at`, which must leave nothing due in the
 * outbox, having sent `sent` messages (rep says the rest) */
static void
drained(struct deliver_fixture *f, int64_t at, struct deliver_report *rep,
    int sent)
{
	assert_int_equal(daily(f, at, rep), 0);
	assert_int_equal(rep->sent, sent);
}

static void
test_budget_holds_the_rest_for_one_digest_next_day(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms(), midnight = deliver_next_kst_midnight_ms(t);
	int64_t next = 0, sent = 0;
	char day[16], want[300];

	deliver_kst_day(t, day, sizeof(day));
	deliver_fixture_queue(f, "alpha", "a1", t);
	deliver_fixture_queue(f, "beta", "b1", t);
	deliver_fixture_queue(f, "alpha", "a2", t);
	deliver_fixture_queue(f, "beta", "b2", t);
	deliver_fixture_queue(f, "beta", "b3", t);
	/* max_messages_per_day: 3 */
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.sent, 3);
	assert_int_equal(rep.status, KAKAO_QUOTA);
	assert_int_equal(nreceived(f), 3);
	assert_text(f, 2, "a2");
	/* the rest waits for 00:00 KST, and so does what comes later */
	assert_int_equal(deliver_fixture_pending(f), 2);
	assert_int_equal(due(f, midnight - 1), 0);
	assert_int_equal(store_outbox_next_at(f->st, &next, &err), 0);
	assert_int_equal(next, midnight);
	deliver_fixture_queue(f, "alpha", "a3", t + 60 * SEC);
	assert_int_equal(daily(f, t + 61 * SEC, &rep), 1);
	assert_int_equal(rep.sent, 0);
	assert_int_equal(nreceived(f), 3);
	assert_int_equal(due(f, midnight - 1), 0);
	/* the next day: one digest stands for the three held messages */
	drained(f, midnight + 1, &rep, 1);
	assert_int_equal(deliver_fixture_pending(f), 0);
	assert_int_equal(nreceived(f), 4);
	snprintf(want, sizeof(want),
	    "kakaowatch: 3 messages were held on %s by the daily limit "
	    "(max_messages_per_day: 3): beta 2, alpha 1",
	    day);
	assert_text(f, 3, want);
	deliver_kst_day(midnight + 1, day, sizeof(day));
	assert_int_equal(store_sent_count(f->st, day, &sent, &err), 0);
	assert_int_equal(sent, 1);
}

static void
test_quiet_hours_and_the_daily_budget(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	char *cfgtext = NULL, day[16];
	json_t *m, *t;
	int64_t sent = 0;
	FILE *fp;
	size_t len = 0;

	/* the fixture's file (max_messages_per_day: 3) with quiet hours */
	fp = fopen(f->path, "r");
	assert_non_null(fp);
	assert_true(getdelim(&cfgtext, &len, '\0', fp) > 0);
	fclose(fp);
	deliver_fixture_config(f, "quiet_hours: 23:00-07:00\n%s", cfgtext);
	free(cfgtext);
	/* 22:00 KST: 3 go, 2 wait for 00:00 */
	deliver_fixture_queue(f, "alpha", "alpha: 1 new\na1", KST(22, 0));
	deliver_fixture_queue(f, "alpha", "alpha: 1 new\na2", KST(22, 0));
	deliver_fixture_queue(f, "alpha", "alpha: 1 new\na3", KST(22, 0));
	deliver_fixture_queue(f, "alpha", "alpha: 1 new\na4", KST(22, 0));
	deliver_fixture_queue(f, "alpha", "alpha: 1 new\na5", KST(22, 0));
	assert_int_equal(daily(f, KST(22, 0), &rep), 1);
	assert_int_equal(nreceived(f), 3);
	/* 23:30: quiet hours hold everything, also the two */
	deliver_fixture_queue(f, "beta", "beta: 1 new\nb1", KST(23, 30));
	assert_int_equal(daily(f, KST(23, 30), &rep), 0);
	assert_int_equal(rep.quiet_held, 3);
	/* 00:05 KST, a new day and budget, inside the window: the daily
	 * digest is made, and waits with the rest */
	assert_int_equal(daily(f, KST(24, 5), &rep), 0);
	assert_int_equal(rep.sent, 0);
	assert_int_equal(rep.quiet_held, 1);
	deliver_fixture_queue(f, "beta", "beta: 1 new\nb2", KST(26, 0));
	assert_int_equal(daily(f, KST(26, 0), &rep), 0);
	assert_int_equal(nreceived(f), 3);
	/* 07:00: ONE message, counted once */
	assert_int_equal(daily(f, KST(31, 0), &rep), 0);
	assert_int_equal(rep.sent, 1);
	assert_int_equal(deliver_fixture_pending(f), 0);
	m = received(f);
	assert_int_equal(json_array_size(m), 4);
	t = json_object_get(json_array_get(m, 3), "template_object");
	assert_string_equal(
	    json_string_value(json_object_get(t, "header_title")),
	    "Quiet hours 23:00-07:00: 2 items from 2 sources");
	assert_non_null(strstr(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(t, "contents"), 0), "title")),
	    "kakaowatch: 3 messages were held on 2026-12-01"));
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(t, "contents"), 1), "title")),
	    "beta: b2");
	json_decref(m);
	deliver_kst_day(KST(31, 0), day, sizeof(day));
	assert_int_equal(store_sent_count(f->st, day, &sent, &err), 0);
	assert_int_equal(sent, 1);
}

static void
test_one_held_message_is_sent_as_it_is_the_next_day(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	int64_t t = util_now_ms(), midnight = deliver_next_kst_midnight_ms(t);

	deliver_fixture_queue(f, "alpha", "a1", t);
	deliver_fixture_queue(f, "alpha", "a2", t);
	deliver_fixture_queue(f, "alpha", "a3", t);
	deliver_fixture_queue(f, "beta", "b1", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(nreceived(f), 3);
	drained(f, midnight + 5 * SEC, &rep, 1);
	assert_text(f, 3, "b1");
	/* and a later day with nothing held makes no digest either */
	deliver_fixture_queue(f, "alpha", "a4", midnight + 60 * SEC);
	deliver_fixture_queue(f, "alpha", "a5", midnight + 60 * SEC);
	drained(f, midnight + DAY_MS + 5 * SEC, &rep, 2);
	assert_text(f, 5, "a5");
}

static void
test_notices_in_the_window_are_one_message_outside_the_budget(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms(), sent = -1;
	char day[16];

	/* notice_window: 60 (the default) */
	assert_int_equal(deliver_notice_add(f->st, f->cfg, true, "alpha", 1,
			     "http://127.0.0.1:9/alpha", "HTTP 404", t, &err),
	    0);
	assert_int_equal(deliver_notice_add(f->st, f->cfg, true, "beta", 2,
			     "http://127.0.0.1:9/beta", "timed out",
			     t + 10 * SEC, &err),
	    0);
	assert_int_equal(deliver_fixture_pending(f), 1);
	assert_int_equal(due(f, t + 59 * SEC), 0);
	assert_int_equal(daily(f, t + 59 * SEC, &rep), 0);
	assert_int_equal(nreceived(f), 0);
	drained(f, t + 61 * SEC, &rep, 1);
	assert_int_equal(nreceived(f), 1);
	assert_text(f, 0,
	    "2 watches are failing: alpha, beta\n"
	    "- alpha: HTTP 404\n- beta: timed out");
	deliver_kst_day(t + 61 * SEC, day, sizeof(day));
	assert_int_equal(store_sent_count(f->st, day, &sent, &err), 0);
	assert_int_equal(sent, 0);
	/* after the window a notice opens a new group; one alone reads as
	 * before */
	assert_int_equal(deliver_notice_add(f->st, f->cfg, false, "alpha", 3,
			     "http://127.0.0.1:9/alpha", NULL, t + 70 * SEC,
			     &err),
	    0);
	assert_int_equal(daily(f, t + 131 * SEC, &rep), 0);
	assert_int_equal(nreceived(f), 2);
	assert_text(f, 1, "alpha: recovered after 3 failed checks");
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_quota_error_holds_every_message_until_kst_midnight(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms(), midnight = deliver_next_kst_midnight_ms(t);
	char *hold = NULL, want[32];

	write_config(f, 100);
	control_void(f, "POST", "fail", "{\"endpoint\":\"send\",\"code\":-10}");
	deliver_fixture_queue(f, "alpha", "q1", t);
	deliver_fixture_queue(f, "beta", "q2", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_QUOTA);
	assert_int_equal(rep.sent, 0);
	assert_int_equal(
	    store_meta_get(f->st, DELIVER_META_QUOTA_HOLD, &hold, &err), 0);
	snprintf(want, sizeof(want), "%lld", (long long)midnight);
	assert_string_equal(hold, want);
	free(hold);
	/* checks go on and queue more; nothing is even tried until then
	 * (the fake would accept it now: no failure is queued any more) */
	deliver_fixture_queue(f, "alpha", "q3", t + 5 * SEC);
	assert_int_equal(daily(f, t + 6 * SEC, &rep), 1);
	assert_int_equal(rep.status, KAKAO_QUOTA);
	assert_int_equal(nreceived(f), 0);
	assert_int_equal(due(f, midnight - 1), 0);
	assert_int_equal(deliver_fixture_pending(f), 3);
	/* the next Korean day: all of them, in order, once */
	drained(f, midnight + 1, &rep, 3);
	assert_int_equal(nreceived(f), 3);
	hold = received_text(f, 0);
	assert_string_equal(hold, "q1");
	free(hold);
	hold = received_text(f, 2);
	assert_string_equal(hold, "q3");
	free(hold);
}

static void
test_transient_failure_backs_off_and_keeps_fifo_order(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct outbox_msg *v = NULL;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms();
	size_t n = 0;

	write_config(f, 100);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\",\"status\":500}");
	deliver_fixture_queue(f, "alpha", "m1", t);
	deliver_fixture_queue(f, "beta", "m2", t);
	deliver_fixture_queue(f, "alpha", "m3", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_RETRY);
	assert_true(rep.retry_in_ms >= 5 * SEC && rep.retry_in_ms < 6 * SEC);
	/* the head counted one attempt; nobody overtakes it */
	assert_int_equal(store_outbox_due(f->st, INT64_MAX, 0, &v, &n, &err),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].attempts, 1);
	assert_int_equal(v[1].attempts, 0);
	assert_int_equal(v[0].next_attempt_at, t + rep.retry_in_ms);
	assert_non_null(v[0].last_error);
	outbox_msgs_free(v, n);
	/* a message queued during the hold waits behind the head too */
	deliver_fixture_queue(f, "beta", "m4", t + 1 * SEC);
	assert_int_equal(daily(f, t + 2 * SEC, &rep), 1);
	assert_int_equal(rep.status, KAKAO_RETRY);
	assert_int_equal(rep.sent, 0);
	assert_true(rep.retry_in_ms > 0 && rep.retry_in_ms <= 4 * SEC);
	assert_int_equal(daily(f, t + 4 * SEC, &rep), 1);
	assert_int_equal(nreceived(f), 0);
	/* after the backoff: each exactly once, in order, at once */
	drained(f, t + 7 * SEC, &rep, 4);
	assert_int_equal(nreceived(f), 4);
	assert_text(f, 0, "m1");
	assert_text(f, 2, "m3");
	assert_text(f, 3, "m4");
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_a_message_made_before_a_step_back_is_sent_at_once(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	int64_t t = util_now_ms();

	write_config(f, 100);
	/* made while the clock read 4 h ahead, then the clock stepped back */
	deliver_fixture_queue(f, "alpha", "ahead", t + 4 * 3600 * SEC);
	drained(f, t, &rep, 1);
	assert_int_equal(nreceived(f), 1);
	assert_text(f, 0, "ahead");
	assert_int_equal(deliver_fixture_pending(f), 0);
}

/*
 * A message tried and backed off (5 s) while the clock read 4 h ahead:
 * after the clock steps back it waits its 5 s from now, not the 4 h of
 * the step, and so do the queue's hold and what queued behind it.
 */
static void
test_a_message_tried_before_a_step_back_waits_its_backoff_from_now(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct outbox_msg *v = NULL;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms(), ahead = t + 4 * 3600 * SEC, backoff;
	size_t n = 0;

	write_config(f, 100);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\",\"status\":500}");
	deliver_fixture_queue(f, "alpha", "tried", ahead);
	assert_int_equal(daily(f, ahead, &rep), 1);
	assert_int_equal(rep.status, KAKAO_RETRY);
	backoff = rep.retry_in_ms;
	assert_true(backoff >= 5 * SEC && backoff < 6 * SEC);
	/* the clock steps back 4 h: a new message queues behind the head */
	deliver_fixture_queue(f, "beta", "after", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_RETRY);
	assert_true(rep.retry_in_ms > 0 && rep.retry_in_ms <= backoff);
	assert_int_equal(store_outbox_due(f->st, INT64_MAX, 0, &v, &n, &err),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].attempts, 1);
	assert_true(v[0].next_attempt_at <= t + backoff);
	outbox_msgs_free(v, n);
	assert_int_equal(nreceived(f), 0);
	/* its backoff after the step: both go, in order */
	drained(f, t + backoff, &rep, 2);
	assert_int_equal(nreceived(f), 2);
	assert_text(f, 0, "tried");
	assert_text(f, 1, "after");
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_second_failure_doubles_the_backoff(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	int64_t t = util_now_ms();

	write_config(f, 100);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\",\"status\":503,\"count\":2}");
	deliver_fixture_queue(f, "alpha", "m1", t);
	assert_int_equal(daily(f, t, &rep), 1);
	t += rep.retry_in_ms;
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_RETRY);
	assert_true(rep.retry_in_ms >= 10 * SEC && rep.retry_in_ms < 12 * SEC);
	assert_int_equal(daily(f, t + rep.retry_in_ms, &rep), 0);
	assert_int_equal(nreceived(f), 1);
}

static void
test_dead_refresh_token_keeps_every_message_as_it_was(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct outbox_msg *v = NULL;
	struct kw_err err = { 0 };
	/* a day later the access token is old: a refresh is due */
	int64_t t = util_now_ms() + DAY_MS;
	size_t n = 0;

	write_config(f, 100);
	control_void(f, "POST", "revoke", "{\"access\":true}");
	deliver_fixture_queue(f, "alpha", "m1", t);
	deliver_fixture_queue(f, "beta", "m2", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_REAUTH);
	assert_int_equal(store_outbox_due(f->st, t, 0, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].attempts, 0);
	outbox_msgs_free(v, n);
	/* a new authorization: everything goes */
	authorize(f);
	drained(f, t + SEC, &rep, 2);
	assert_int_equal(nreceived(f), 2);
}

static void
test_invalid_template_is_sent_as_plain_text_and_the_rest_goes_on(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms();
	json_t *got, *first;

	write_config(f, 100);
	/* Kakao's contract: a text template needs a link (-2 without) */
	assert_int_equal(store_outbox_add(f->st, "alpha",
			     "{\"object_type\":\"text\",\"text\":\"no link\"}",
			     t, &err),
	    0);
	deliver_fixture_queue(f, "beta", "fine", t);
	assert_int_equal(daily(f, t, &rep), 0);
	assert_int_equal(rep.dropped, 0);
	assert_int_equal(rep.sent, 2);
	assert_int_equal(nreceived(f), 2);
	assert_text(f, 0, "no link");
	got = received(f);
	first = json_object_get(json_array_get(got, 0), "template_object");
	assert_non_null(
	    json_object_get(json_object_get(first, "link"), "web_url"));
	json_decref(got);
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_refused_twice_goes_to_the_dead_letters_and_can_be_retried(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct dead_letter *d = NULL;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms();
	size_t n = 0;

	write_config(f, 100);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\",\"code\":-2,\"count\":2}");
	deliver_fixture_queue(f, "alpha", "refused", t);
	deliver_fixture_queue(f, "beta", "fine", t);
	assert_int_equal(daily(f, t, &rep), 0);
	assert_int_equal(rep.dropped, 1);
	assert_int_equal(rep.sent, 1);
	assert_int_equal(deliver_fixture_pending(f), 0);
	assert_int_equal(deliver_dead_list(f->st, &d, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].watch, "alpha");
	assert_non_null(strstr(d[0].template_json, "refused"));
	assert_non_null(strstr(d[0].error, "-2"));
	/* retried: queued again at the end, and it goes this time */
	assert_int_equal(deliver_dead_retry(f->st, d[0].id, t, &err), 0);
	assert_int_equal(deliver_dead_retry(f->st, d[0].id, t, &err), 1);
	dead_letters_free(d, n);
	assert_int_equal(daily(f, t + SEC, &rep), 0);
	assert_int_equal(nreceived(f), 2);
	assert_text(f, 1, "refused");
	assert_int_equal(deliver_dead_list(f->st, &d, &n, &err), 0);
	assert_int_equal(n, 0);
	dead_letters_free(d, n);
}

static void
test_consecutive_refusals_hold_the_queue_instead_of_emptying_it(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct dead_letter *d = NULL;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms();
	size_t n = 0;

	write_config(f, 100);
	control_void(f, "POST", "fail",
	    "{\"endpoint\":\"send\",\"code\":-2,\"count\":6}");
	deliver_fixture_queue(f, "alpha", "m1", t);
	deliver_fixture_queue(f, "alpha", "m2", t);
	deliver_fixture_queue(f, "alpha", "m3", t);
	assert_int_equal(daily(f, t, &rep), 1);
	assert_int_equal(rep.status, KAKAO_BAD_TEMPLATE);
	assert_int_equal(rep.dropped, 1);
	assert_int_equal(deliver_fixture_pending(f), 2);
	/* and again later: the head stays, nothing more is dead */
	assert_int_equal(daily(f, t + SEC, &rep), 1);
	assert_int_equal(rep.status, KAKAO_BAD_TEMPLATE);
	assert_int_equal(deliver_fixture_pending(f), 2);
	assert_int_equal(deliver_dead_list(f->st, &d, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(deliver_dead_drop(f->st, d[0].id, &err), 0);
	assert_int_equal(deliver_dead_drop(f->st, d[0].id, &err), 1);
	dead_letters_free(d, n);
	/* Kakao takes messages again (the 6 refusals are used up): the
	 * backlog drains in order */
	drained(f, t + 2 * SEC, &rep, 2);
}

static void
test_stop_flag_ends_the_batch_without_counting_an_attempt(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct outbox_msg *v = NULL;
	struct kw_err err = { 0 };
	volatile sig_atomic_t stop = 1;
	int64_t t = util_now_ms();
	size_t n = 0;

	write_config(f, 100);
	deliver_fixture_queue(f, "alpha", "m1", t);
	deliver_set_abort_flag(&stop);
	assert_int_equal(daily(f, t, &rep), 1);
	deliver_set_abort_flag(NULL);
	assert_int_equal(nreceived(f), 0);
	assert_int_equal(store_outbox_due(f->st, t, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].attempts, 0);
	outbox_msgs_free(v, n);
	assert_int_equal(daily(f, t, &rep), 0);
	assert_int_equal(nreceived(f), 1);
}

/* set_refresh_expiry rewrites the token file's refresh token expiry */
static void
set_expiry(struct deliver_fixture *f, int64_t refresh_at, int64_t access_age_s)
{
	struct token t = { 0 };
	struct kw_err err = { 0 };

	assert_int_equal(token_load(f->token_file, &t, &err), 0);
	t.refresh_token_expires_at = refresh_at;
	t.access_token_expires_at =
	    (int64_t)time(NULL) - access_age_s + t.expires_in;
	assert_int_equal(token_save(f->token_file, &t, &err), 0);
	token_release(&t);
}

static void
test_reminder_is_queued_once_per_refresh_token(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t t = util_now_ms();
	bool queued = false;
	char *text;

	write_config(f, 100);
	set_expiry(f, t / 1000 + 3 * 86400 + 60, 0);
	assert_int_equal(deliver_token_upkeep(f->st, f->cfg, t, &queued, &err),
	    KAKAO_OK);
	assert_true(queued);
	assert_int_equal(
	    deliver_token_upkeep(f->st, f->cfg, t + 60 * SEC, &queued, &err),
	    KAKAO_OK);
	assert_false(queued);
	/* sending does not queue it again either */
	drained(f, t + 61 * SEC, &rep, 1);
	assert_int_equal(nreceived(f), 1);
	text = received_text(f, 0);
	assert_non_null(strstr(text, "kakaowatch auth"));
	assert_non_null(strstr(text, "in 3 days"));
	free(text);
	assert_int_equal(deliver_fixture_pending(f), 0);
	/* 8 days left: no reminder for a token that is not near its end */
	set_expiry(f, t / 1000 + 8 * 86400, 0);
	assert_int_equal(deliver_token_upkeep(f->st, f->cfg, t, &queued, &err),
	    KAKAO_OK);
	assert_false(queued);
	/* another refresh token near its end: one more reminder */
	set_expiry(f, t / 1000 + 2 * 86400, 0);
	assert_int_equal(deliver_token_upkeep(f->st, f->cfg, t, &queued, &err),
	    KAKAO_OK);
	assert_true(queued);
	assert_int_equal(deliver_fixture_pending(f), 1);
}

static void
test_upkeep_refreshes_inside_the_rotation_window(void **state)
{
	struct deliver_fixture *f = *state;
	struct token t = { 0 }, before = { 0 };
	struct kw_err err = { 0 };
	int64_t now = util_now_ms();
	json_t *j;
	bool queued = true;

	write_config(f, 100);
	assert_int_equal(token_load(f->token_file, &before, &err), 0);
	/* a month of silence: Kakao rotates when under 30 days are left */
	control_void(f, "POST", "clock", "{\"advance\": 2678400}");
	now += 2678400LL * SEC;
	set_expiry(f, now / 1000 + 29 * 86400, 2 * 86400);
	assert_int_equal(
	    deliver_token_upkeep(f->st, f->cfg, now, &queued, &err), KAKAO_OK);
	assert_false(queued);
	j = control(f, "GET", "tokens", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "rotations")),
	    1);
	json_decref(j);
	assert_int_equal(token_load(f->token_file, &t, &err), 0);
	assert_string_not_equal(t.refresh_token, before.refresh_token);
	assert_true(t.refresh_token_expires_at > now / 1000 + 59 * 86400);
	token_release(&t);
	token_release(&before);
	/* refreshed just now: the next upkeep leaves it alone */
	j = control(f, "GET", "tokens", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "refreshes")),
	    1);
	json_decref(j);
	assert_int_equal(
	    deliver_token_upkeep(f->st, f->cfg, now + SEC, &queued, &err),
	    KAKAO_OK);
	j = control(f, "GET", "tokens", NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "refreshes")),
	    1);
	json_decref(j);
}

static void
test_stdout_sink_has_no_daily_budget(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	int64_t t = util_now_ms();
	json_t *a;
	int i;

	for (i = 0; i < 5; i++)
		deliver_fixture_queue(f, "alpha", "s", t);
	assert_int_equal(deliver_fixture_run(f, DELIVER_STDOUT, t, &rep), 0);
	assert_int_equal(rep.sent, 5);
	/* five template objects, one a line, past max_messages_per_day: 3 */
	a = deliver_fixture_printed(f);
	assert_int_equal(json_array_size(a), 5);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(a, 4), "text")),
	    "s");
	json_decref(a);
	assert_int_equal(nreceived(f), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_backoff_starts_at_5s_and_doubles_to_an_hour),
		cmocka_unit_test(
		    test_backoff_jitter_adds_at_most_a_fifth_and_never_passes_an_hour),
		cmocka_unit_test(test_kst_day_turns_at_15_utc),
		cmocka_unit_test(test_kst_day_crosses_the_year_before_utc_does),
		cmocka_unit_test(test_next_kst_midnight_is_strictly_after_now),
		cmocka_unit_test_setup_teardown(
		    test_notices_in_the_window_are_one_message_outside_the_budget,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_budget_holds_the_rest_for_one_digest_next_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_quiet_hours_and_the_daily_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_held_message_is_sent_as_it_is_the_next_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_quota_error_holds_every_message_until_kst_midnight,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_transient_failure_backs_off_and_keeps_fifo_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_made_before_a_step_back_is_sent_at_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_message_tried_before_a_step_back_waits_its_backoff_from_now,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_failure_doubles_the_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dead_refresh_token_keeps_every_message_as_it_was,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_invalid_template_is_sent_as_plain_text_and_the_rest_goes_on,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_twice_goes_to_the_dead_letters_and_can_be_retried,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_consecutive_refusals_hold_the_queue_instead_of_emptying_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_stop_flag_ends_the_batch_without_counting_an_attempt,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reminder_is_queued_once_per_refresh_token, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_upkeep_refreshes_inside_the_rotation_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_stdout_sink_has_no_daily_budget, setup, teardown),
	};
	int r;

	http_global_init();
	log_init(LOG_LEVEL_ERROR);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	return r;
}
