/* deliver: outbox -> stdout or KakaoTalk (see deliver.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"

#define KST_OFFSET_MS (9LL * 3600 * 1000)
#define DAY_MS (86400LL * 1000)
#define BACKOFF_FIRST_MS (5LL * 1000)
#define BACKOFF_MAX_MS (3600LL * 1000)
/* the longest a message may be deferred past now (or past a quota hold):
 * the longest backoff with its jitter */
#define DELIVER_MAX_DEFER_MS (BACKOFF_MAX_MS * 6 / 5 + 1000)
#define DEFAULT_LIMIT 1000
/* the reminder's link: where the Kakao app and its login settings live */
#define REMIND_LINK "https://developers.kakao.com/console/app"

static volatile sig_atomic_t *deliver_abort;

void
deliver_set_abort_flag(volatile sig_atomic_t *flag)
{
	deliver_abort = flag;
}

static bool
aborted(void)
{
	return deliver_abort != NULL && *deliver_abort != 0;
}

enum deliver_sink
deliver_resolve_sink(const struct config *cfg, struct store *st)
{
	static bool told;
	struct kw_err err = { 0 };
	char *used = NULL;
	bool kakao;

	switch (cfg->kakao.sink) {
	case CONFIG_SINK_STDOUT:
		return DELIVER_STDOUT;
	case CONFIG_SINK_KAKAO:
		return DELIVER_KAKAO;
	case CONFIG_SINK_AUTO:
		break;
	}
	/* a token file, even one that cannot be read, means KakaoTalk */
	if (access(cfg->kakao.token_file, F_OK) == 0 || errno != ENOENT) {
		if (st != NULL &&
		    store_meta_get(st, DELIVER_META_KAKAO_USED, &used, &err) ==
			0 &&
		    used == NULL)
			(void)store_meta_set(st, DELIVER_META_KAKAO_USED, "1",
			    &err);
		free(used);
		return DELIVER_KAKAO;
	}
	/* a state dir that went through KakaoTalk once stays with it: a
	 * token file moved aside is a hold, never print-and-delete */
	kakao = true; /* a store error: do not risk printing */
	if (st == NULL)
		kakao = false;
	else if (store_meta_get(st, DELIVER_META_KAKAO_USED, &used, &err) == 0)
		kakao = used != NULL;
	free(used);
	if (kakao)
		return DELIVER_KAKAO;
	if (!told) {
		log_info("kakao: KakaoTalk is not connected yet, printing "
			 "messages on stdout; run `kakaowatch auth` to "
			 "connect it");
		told = true;
	}
	return DELIVER_STDOUT;
}

const char *
deliver_default_link(const struct config *cfg)
{
	if (cfg->kakao.default_link != NULL)
		return cfg->kakao.default_link;
	return MESSAGE_FALLBACK_LINK;
}

void
deliver_kakao_client(const struct config *cfg, struct kakao_client *c)
{
	memset(c, 0, sizeof(*c));
	c->auth_base_url = cfg->kakao.auth_base_url;
	c->api_base_url = cfg->kakao.api_base_url;
	c->rest_api_key = cfg->kakao.rest_api_key;
	c->client_secret = cfg->kakao.client_secret;
	c->redirect_uri = cfg->kakao.redirect_uri;
	c->token_path = cfg->kakao.token_file;
	c->min_refresh_interval_s = cfg->kakao.min_refresh_interval_ms / 1000;
}

int64_t
deliver_backoff_ms(int attempts, double jitter)
{
	int64_t d = BACKOFF_FIRST_MS;
	int i;

	for (i = 1; i < attempts && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	if (!(jitter >= 0))
		jitter = 0;
	if (jitter >= 1)
		jitter = 0.999;
	d += (int64_t)((double)d * 0.2 * jitter);
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

/* floor division: days before 1970 must not round towards zero */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

void
deliver_kst_day(int64_t now_ms, char *out, size_t size)
{
	time_t t = (time_t)floor_div(now_ms + KST_OFFSET_MS, 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d", &tm) == 0) {
		if (size > 0)
			out[0] = '\0';
	}
}

int64_t
deliver_kst_day_start_ms(int64_t now_ms)
{
	return floor_div(now_ms + KST_OFFSET_MS, DAY_MS) * DAY_MS -
	       KST_OFFSET_MS;
}

int64_t
deliver_next_kst_midnight_ms(int64_t now_ms)
{
	return deliver_kst_day_start_ms(now_ms) + DAY_MS;
}

/* meta_int reads a decimal meta value; absent or unparsable is 0 */
static int
meta_int(struct store *st, const char *key, int64_t *out, struct kw_err *err)
{
	char *text = NULL;

	*out = 0;
	if (store_meta_get(st, key, &text, err) != 0)
		return -1;
	if (text != NULL &&
	    util_parse_int(text, INT64_MIN, INT64_MAX, out) != 0)
		*out = 0;
	free(text);
	return 0;
}

static int
meta_set_int(struct store *st, const char *key, int64_t v, struct kw_err *err)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRId64, v);
	return store_meta_set(st, key, text, err);
}

/* remove_sent: message `m` went out; grouped notices (DELIVER_NOTICE) do
 * not count in max_messages_per_day, everything else does */
static int
remove_sent(struct store *st, const struct outbox_msg *m, const char *day,
    struct kw_err *err)
{
	if (m->watch != NULL && strcmp(m->watch, DELIVER_NOTICE) == 0)
		return store_outbox_delete(st, m->id, err);
	return store_outbox_delete_sent(st, m->id, day, err);
}

/*
 * remind_if_expiring queues one reminder per refresh token when `tok`'s
 * refresh token has under DELIVER_REMIND_S left (docs/design.md §4). The
 * message is queued before it is remembered: a crash in between sends it twice
 * rather than never.
 */
static int
remind_if_expiring(struct store *st, const struct token *tok, int64_t now_ms,
    bool *queued, struct kw_err *err)
{
	char want[32], day[16], when[32], text[300];
	char *have = NULL, *tmpl = NULL;
	int64_t left;
	long long days;
	int result = -1;

	if (tok->refresh_token_expires_at <= 0)
		return 0;
	left = tok->refresh_token_expires_at - now_ms / 1000;
	if (left <= 0 || left >= DELIVER_REMIND_S)
		return 0;
	snprintf(want, sizeof(want), "%" PRId64, tok->refresh_token_expires_at);
	if (store_meta_get(st, DELIVER_META_REMINDED, &have, err) != 0)
		return -1;
	days = (long long)(left / 86400);
	if (have != NULL && strcmp(have, want) == 0) {
		log_debug("kakao: the refresh token expires in %lld day%s; "
			  "reminded already",
		    days, days == 1 ? "" : "s");
		result = 0;
		goto out;
	}
	if (days > 1)
		snprintf(when, sizeof(when), "in %lld days", days);
	else
		snprintf(when, sizeof(when), "within %s",
		    days == 1 ? "two days" : "a day");
	deliver_kst_day(tok->refresh_token_expires_at * 1000, day, sizeof(day));
	log_warnx("kakao: the refresh token expires %s (%s Korea time) and "
		  "Kakao has not replaced it; run `kakaowatch auth` before "
		  "then (one reminder is sent on KakaoTalk)",
	    when, day);
	snprintf(text, sizeof(text),
	    "kakaowatch: the KakaoTalk connection ends %s (%s). Run "
	    "`kakaowatch auth` to renew it, or messages will wait.",
	    when, day);
	tmpl = message_build_text(text, REMIND_LINK, "열기", err);
	if (tmpl == NULL)
		goto out;
	if (store_outbox_add(st, DELIVER_SELF, tmpl, now_ms, err) != 0 ||
	    store_meta_set(st, DELIVER_META_REMINDED, want, err) != 0)
		goto out;
	if (queued != NULL)
		*queued = true;
	result = 0;
out:
	free(tmpl);
	free(have);
	return result;
}

static int
deliver_stdout(struct store *st, struct outbox_msg *v, size_t n, FILE *out,
    const char *day, struct deliver_report *rep, struct kw_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fprintf(out, "%s\n", v[i].template_json) < 0 ||
		    fflush(out) != 0)
			return kw_err_set(err, "cannot write to stdout");
		if (remove_sent(st, &v[i], day, err) != 0)
			return -1;
		rep->sent++;
	}
	return 0;
}

/* log_held writes the one error line of a hold that needs the user */
static void
log_held(enum kakao_status s, const char *why)
{
	if (s == KAKAO_REAUTH || s == KAKAO_CONSENT)
		log_errorx("kakao: %s; every message is kept and sending "
			   "resumes when a new token file appears (checks go "
			   "on)",
		    why);
	else
		log_errorx("kakao: %s; every message is kept until this is "
			   "fixed (checks go on)",
		    why);
}

/*
 * stop_sending records why a Kakao batch stopped at message `head`:
 * transient -> the head's attempt is counted and the whole queue waits the
 * backoff (FIFO order kept); quota -> everything waits for 00:00 KST;
 * anything else -> one error line, the messages stay as they are (the
 * daemon holds sending until the token file or the config changes).
 */
static int
stop_sending(struct store *st, enum kakao_status s,
    const struct outbox_msg *head, int64_t now_ms, const char *why,
    struct deliver_report *rep, struct kw_err *err)
{
	int64_t next;

	int64_t attempts = 0;

	switch (s) {
	case KAKAO_RETRY:
	case KAKAO_RATE_LIMITED:
		/* the hold is the queue's: new messages wait behind the head */
		if (meta_int(st, DELIVER_META_RETRY_ATTEMPTS, &attempts, err) !=
		    0)
			return -1;
		if (attempts < head->attempts)
			attempts = head->attempts;
		attempts++;
		rep->retry_in_ms = deliver_backoff_ms(
		    (int)(attempts < 64 ? attempts : 64), util_random_unit());
		next = now_ms + rep->retry_in_ms;
		if (store_outbox_defer(st, head->id, now_ms, next, why, err) !=
			0 ||
		    meta_set_int(st, DELIVER_META_RETRY_AT, next, err) != 0 ||
		    meta_set_int(st, DELIVER_META_RETRY_WAIT, rep->retry_in_ms,
			err) != 0 ||
		    meta_set_int(st, DELIVER_META_RETRY_ATTEMPTS, attempts,
			err) != 0)
			return -1;
		log_warnx("kakao: sending failed (attempt %" PRId64 "): %s; "
			  "retrying in %" PRId64 "s (the messages behind it "
			  "wait, in order)",
		    attempts, why, (rep->retry_in_ms + 999) / 1000);
		return 0;
	case KAKAO_QUOTA:
		next = deliver_next_kst_midnight_ms(now_ms);
		if (meta_set_int(st, DELIVER_META_QUOTA_HOLD, next, err) != 0 ||
		    store_outbox_defer_all(st, next, why, err) != 0)
			return -1;
		log_warnx("kakao: %s; messages are held until 00:00 Korea "
			  "time, checks go on",
		    why);
		return 0;
	default:
		log_held(s, why);
		return 0;
	}
}

/* ---- dead letters (meta "deadletter.<20-digit id>") ---- */

static void
dead_key(int64_t id, char *out, size_t size)
{
	snprintf(out, size, "%s%020" PRId64, DELIVER_META_DEAD_PREFIX, id);
}

/* one line of text: no CR/LF (the format is line based) */
static void
one_line(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		buf_append(b, *s == '\n' || *s == '\r' ? " " : s, 1);
	buf_puts(b, "\n");
}

/*
 * dead_letter_add moves outbox message `m` to the dead letters: value
 * "1\n<created_at>\n<dead_at>\n<watch>\n<error>\n<template JSON>",
 * written before the outbox row is deleted (a crash keeps both).
 */
static int
dead_letter_add(struct store *st, const struct outbox_msg *m, const char *why,
    int64_t now_ms, struct kw_err *err)
{
	char key[64];
	struct buf b;
	int result = -1;

	buf_init(&b, 0);
	buf_printf(&b, "1\n%" PRId64 "\n%" PRId64 "\n", m->created_at, now_ms);
	one_line(&b, m->watch ? m->watch : "");
	one_line(&b, why ? why : "");
	buf_puts(&b, m->template_json);
	if (b.data == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	dead_key(m->id, key, sizeof(key));
	if (store_meta_set(st, key, b.data, err) != 0 ||
	    store_outbox_delete(st, m->id, err) != 0)
		goto out;
	result = 0;
out:
	buf_release(&b);
	return result;
}

/* next_line: copy up to '\n' into *out (heap), advance *p */
static int
next_line(const char **p, char **out)
{
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);

	*out = malloc(n + 1);
	if (*out == NULL)
		return -1;
	memcpy(*out, *p, n);
	(*out)[n] = '\0';
	*p += n + (nl ? 1 : 0);
	return 0;
}

static int
dead_parse(const struct meta_entry *e, struct dead_letter *d)
{
	const char *p = e->value;
	char *ver = NULL, *a = NULL, *b = NULL;
	int64_t id;
	int result = -1;

	memset(d, 0, sizeof(*d));
	if (util_parse_int(e->key + strlen(DELIVER_META_DEAD_PREFIX), 1,
		INT64_MAX, &id) != 0)
		return -1;
	d->id = id;
	if (next_line(&p, &ver) != 0 || strcmp(ver, "1") != 0 ||
	    next_line(&p, &a) != 0 || next_line(&p, &b) != 0 ||
	    util_parse_int(a, INT64_MIN, INT64_MAX, &d->created_at) != 0 ||
	    util_parse_int(b, INT64_MIN, INT64_MAX, &d->dead_at) != 0 ||
	    next_line(&p, &d->watch) != 0 || next_line(&p, &d->error) != 0 ||
	    (d->template_json = strdup(p)) == NULL)
		goto out;
	result = 0;
out:
	free(ver);
	free(a);
	free(b);
	if (result != 0) {
		free(d->watch);
		free(d->error);
		free(d->template_json);
		memset(d, 0, sizeof(*d));
	}
	return result;
}

int
deliver_dead_list(struct store *st, struct dead_letter **out, size_t *n,
    struct kw_err *err)
{
	struct meta_entry *v = NULL;
	struct dead_letter *d;
	size_t nv = 0, i, k = 0;

	*out = NULL;
	*n = 0;
	if (store_meta_list(st, DELIVER_META_DEAD_PREFIX, &v, &nv, err) != 0)
		return -1;
	d = calloc(nv ? nv : 1, sizeof(*d));
	if (d == NULL) {
		meta_entries_free(v, nv);
		return kw_err_set(err, "out of memory");
	}
	for (i = 0; i < nv; i++)
		if (dead_parse(&v[i], &d[k]) == 0)
			k++;
	meta_entries_free(v, nv);
	*out = d;
	*n = k;
	return 0;
}

static void
dead_letter_release(struct dead_letter *d)
{
	free(d->watch);
	free(d->error);
	free(d->template_json);
	memset(d, 0, sizeof(*d));
}

void
dead_letters_free(struct dead_letter *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		dead_letter_release(&v[i]);
	free(v);
}

/* dead_find: loads dead letter `id` into *d; 1 when there is none */
static int
dead_find(struct store *st, int64_t id, struct dead_letter *d,
    struct kw_err *err)
{
	struct meta_entry e;
	char key[64];
	char *value = NULL;
	int r;

	dead_key(id, key, sizeof(key));
	if (store_meta_get(st, key, &value, err) != 0)
		return -1;
	if (value == NULL)
		return 1;
	e.key = key;
	e.value = value;
	r = dead_parse(&e, d);
	free(value);
	if (r != 0)
		return kw_err_set(err,
		    "dead letter %" PRId64 " is unreadable; "
		    "drop it",
		    id);
	return 0;
}

int
deliver_dead_retry(struct store *st, int64_t id, int64_t now_ms,
    struct kw_err *err)
{
	struct dead_letter d;
	char key[64];
	int r;

	r = dead_find(st, id, &d, err);
	if (r != 0)
		return r;
	dead_key(id, key, sizeof(key));
	r = -1;
	if (store_outbox_add(st, d.watch[0] ? d.watch : NULL, d.template_json,
		now_ms, err) == 0 &&
	    store_meta_set(st, key, NULL, err) == 0 &&
	    store_meta_set(st, DELIVER_META_DEAD_STREAK, NULL, err) == 0)
		r = 0;
	dead_letter_release(&d);
	return r;
}

int
deliver_dead_drop(struct store *st, int64_t id, struct kw_err *err)
{
	char key[64], *value = NULL;

	dead_key(id, key, sizeof(key));
	if (store_meta_get(st, key, &value, err) != 0)
		return -1;
	if (value == NULL)
		return 1;
	free(value);
	return store_meta_set(st, key, NULL, err);
}

/*
 * retry_minimal: Kakao answered -2 for `m`: one more try as a plain text
 * message (message_build_minimal). Returns the status of that try; on
 * KAKAO_BAD_TEMPLATE `why` says why the original was refused.
 */
static enum kakao_status
retry_minimal(const struct config *cfg, const struct kakao_client *kc,
    struct token *tok, const struct outbox_msg *m, int64_t now_s,
    struct kw_err *kerr)
{
	struct kw_err merr = { 0 };
	enum kakao_status s;
	char *min;

	log_warnx("kakao: message %" PRId64 " of '%s' was refused as invalid "
		  "(%s); trying it once more as plain text; refused: %s",
	    m->id, m->watch ? m->watch : DELIVER_SELF, kerr->msg,
	    m->template_json);
	min = message_build_minimal(m->template_json, deliver_default_link(cfg),
	    &merr);
	if (min == NULL)
		return KAKAO_BAD_TEMPLATE;
	s = kakao_session_send(kc, tok, min, now_s, &merr);
	if (s == KAKAO_OK)
		log_info("kakao: message %" PRId64 " of '%s' sent as plain "
			 "text",
		    m->id, m->watch ? m->watch : DELIVER_SELF);
	else if (s != KAKAO_BAD_TEMPLATE) {
		kw_err_clear(kerr);
		kw_err_set(kerr, "%s", merr.msg);
	}
	free(min);
	return s;
}

static int
deliver_kakao(struct store *st, const struct config *cfg, struct outbox_msg *v,
    size_t n, int64_t now_ms, const char *day, struct deliver_report *rep,
    struct kw_err *err)
{
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err kerr = { 0 };
	enum kakao_status s;
	int64_t now_s = now_ms / 1000, streak = 0;
	size_t i = 0;
	int result = -1;
	bool answered = false;

	deliver_kakao_client(cfg, &kc);
	if (meta_int(st, DELIVER_META_DEAD_STREAK, &streak, err) != 0)
		goto out;
	s = kakao_session_begin(&kc, &tok, now_s, &kerr);
	if (s != KAKAO_OK)
		goto stop;
	if (remind_if_expiring(st, &tok, now_ms, NULL, err) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (aborted()) {
			s = KAKAO_RETRY;
			goto stop;
		}
		kw_err_clear(&kerr);
		s = kakao_session_send(&kc, &tok, v[i].template_json, now_s,
		    &kerr);
		if (s == KAKAO_OK) {
			if (remove_sent(st, &v[i], day, err) != 0)
				goto out;
			rep->sent++;
			continue;
		}
		if (s == KAKAO_BAD_TEMPLATE)
			s = retry_minimal(cfg, &kc, &tok, &v[i], now_s, &kerr);
		if (s == KAKAO_OK) {
			if (remove_sent(st, &v[i], day, err) != 0)
				goto out;
			rep->sent++;
			if (!answered &&
			    (store_meta_set(st, DELIVER_META_RETRY_AT, NULL,
				 err) != 0 ||
				store_meta_set(st, DELIVER_META_RETRY_ATTEMPTS,
				    NULL, err) != 0))
				goto out;
			answered = true;
			if (streak > 0 &&
			    meta_set_int(st, DELIVER_META_DEAD_STREAK, 0,
				err) != 0)
				goto out;
			streak = 0;
			continue;
		}
		if (s != KAKAO_BAD_TEMPLATE)
			goto stop;
		if (streak > 0) {
			/* -2 after -2: something is wrong with all of them;
			 * hold instead of emptying the outbox */
			kw_err_clear(&kerr);
			kw_err_set(&kerr,
			    "Kakao refused %" PRId64 " messages "
			    "in a row as invalid (-2), also as plain text; "
			    "the next one stays queued (see `kakaowatch outbox "
			    "list`)",
			    streak + 1);
			goto stop;
		}
		log_errorx("kakao: message %" PRId64 " of '%s' was refused "
			   "as invalid, also as plain text; moved to the dead "
			   "letters (`kakaowatch outbox list`, `outbox retry "
			   "%" PRId64 "`)",
		    v[i].id, v[i].watch ? v[i].watch : DELIVER_SELF, v[i].id);
		if (dead_letter_add(st, &v[i], kerr.msg, now_ms, err) != 0 ||
		    meta_set_int(st, DELIVER_META_DEAD_STREAK, ++streak, err) !=
			0)
			goto out;
		rep->dropped++;
	}
	result = 0;
	goto out;
stop:
	rep->status = s;
	result = 1;
	/* shutting down: the failure is ours, not the message's */
	if (aborted())
		goto out;
	if (stop_sending(st, s, &v[i < n ? i : 0], now_ms, kerr.msg, rep,
		err) != 0)
		result = -1;
out:
	token_release(&tok);
	return result;
}

int
deliver_outbox(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, bool all, size_t limit, FILE *out,
    struct deliver_report *rep, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	size_t n = 0;
	char day[16];
	int64_t hold = 0, queued = 0;
	int result;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (limit == 0 || limit > DEFAULT_LIMIT)
		limit = DEFAULT_LIMIT;
	if (sink == DELIVER_KAKAO && !all) {
		/* a transient failure holds the whole queue, new messages too */
		if (meta_int(st, DELIVER_META_RETRY_AT, &hold, err) != 0 ||
		    (hold > now_ms &&
			store_outbox_stats(st, &queued, NULL, err) != 0))
			return -1;
		if (hold > now_ms && queued > 0) {
			rep->status = KAKAO_RETRY;
			rep->retry_in_ms = hold - now_ms;
			rep->left = (size_t)queued;
			return 1;
		}
	}
	if (store_outbox_due(st, all ? INT64_MAX : now_ms, limit, &v, &n,
		err) != 0)
		return -1;
	if (n == 0)
		return 0;
	if (sink == DELIVER_STDOUT)
		result = deliver_stdout(st, v, n, out, day, rep, err);
	else
		result = deliver_kakao(st, cfg, v, n, now_ms, day, rep, err);
	rep->left = n - rep->sent - rep->dropped;
	outbox_msgs_free(v, n);
	if (result == 0 && rep->left > 0)
		result = 1;
	return result;
}

/* a page to link the digest to: a held watch's, else the first watch's */
static const char *
digest_link(const struct config *cfg, const struct outbox_msg *v,
    const size_t *held, size_t n)
{
	const struct watch_config *wc;
	size_t i;

	for (i = 0; i < n; i++) {
		wc = v[held[i]].watch ?
			 config_find_watch(cfg, v[held[i]].watch) :
			 NULL;
		if (wc != NULL)
			return wc->url;
	}
	return cfg->nwatches > 0 ? cfg->watches[0].url : NULL;
}

/*
 * make_digest replaces the messages created before today's 00:00 KST (those
 * held on `held_day` by the daily budget) by one text message counting
 * them per watch, when there are two or more.
 */
static int
make_digest(struct store *st, const struct config *cfg, int64_t now_ms,
    const char *held_day, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	struct buf text;
	int64_t *ids = NULL, day_start = deliver_kst_day_start_ms(now_ms);
	size_t *held = NULL, n = 0, nheld = 0, i, j, k, count, kinds = 0;
	const char *wi, *wj;
	char *tmpl = NULL;
	int result = -1;

	buf_init(&text, 0);
	if (store_outbox_due(st, INT64_MAX, 0, &v, &n, err) != 0)
		return -1;
	held = calloc(n ? n : 1, sizeof(*held));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (held == NULL || ids == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (v[i].created_at < day_start) {
			ids[nheld] = v[i].id;
			held[nheld++] = i;
		}
	}
	if (nheld < 2) {
		result = 0;
		goto out;
	}
	buf_printf(&text,
	    "kakaowatch: %zu messages were held on %s by the daily limit "
	    "(max_messages_per_day: %d):",
	    nheld, held_day, cfg->max_messages_per_day);
	for (i = 0; i < nheld; i++) {
		wi = v[held[i]].watch ? v[held[i]].watch : DELIVER_SELF;
		for (j = 0; j < i; j++) {
			wj = v[held[j]].watch ? v[held[j]].watch : DELIVER_SELF;
			if (strcmp(wi, wj) == 0)
				break;
		}
		if (j < i)
			continue;
		count = 0;
		for (k = i; k < nheld; k++) {
			wj = v[held[k]].watch ? v[held[k]].watch : DELIVER_SELF;
			if (strcmp(wi, wj) == 0)
				count++;
		}
		buf_printf(&text, "%s %s %zu", kinds ? "," : "", wi, count);
		kinds++;
	}
	if (text.data == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	tmpl = message_build_text(text.data, digest_link(cfg, v, held, nheld),
	    "열기", err);
	if (tmpl == NULL)
		goto out;
	if (store_outbox_replace(st, ids, nheld, DELIVER_SELF, tmpl, now_ms,
		err) != 0)
		goto out;
	log_info("outbox: %zu messages held by the daily limit on %s "
		 "replaced by one digest",
	    nheld, held_day);
	result = 0;
out:
	buf_release(&text);
	free(tmpl);
	free(ids);
	free(held);
	outbox_msgs_free(v, n);
	return result;
}

/*
 * budget_used_up: max_messages_per_day is reached; anything still due
 * waits for tomorrow's digest (one warning per day). 1 when something
 * waits (rep->status KAKAO_QUOTA), 0 when nothing was due, -1 on error.
 */
static int
budget_used_up(struct store *st, const struct config *cfg, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	char day[16], *held = NULL;
	size_t n = 0;
	int result = -1;

	if (store_outbox_due(st, now_ms, 1, &v, &n, err) != 0)
		return -1;
	outbox_msgs_free(v, n);
	if (n == 0)
		return 0;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (store_meta_get(st, DELIVER_META_BUDGET_DAY, &held, err) != 0)
		return -1;
	if (store_outbox_defer_all(st, deliver_next_kst_midnight_ms(now_ms),
		"held: max_messages_per_day reached; sent as one digest "
		"after 00:00 Korea time",
		err) != 0 ||
	    store_meta_set(st, DELIVER_META_BUDGET_DAY, day, err) != 0)
		goto out;
	if (held == NULL || strcmp(held, day) != 0)
		log_warnx("outbox: max_messages_per_day (%d) reached; further "
			  "messages are held and sent as one digest after "
			  "00:00 Korea time",
		    cfg->max_messages_per_day);
	rep->status = KAKAO_QUOTA;
	result = 1;
out:
	free(held);
	return result;
}

/*
 * clamp_deadlines checks the stored deadlines against the clock: no
 * message waits longer than its own backoff or hold from now (each is
 * stored with its length), nor past the next 00:00 KST (quota hold, daily
 * budget) or the end of quiet hours open now (deliver_quiet_gate) plus a
 * backoff; the queue's backoff ends within its own length
 * from now (DELIVER_MAX_DEFER_MS when that is unknown), whatever the clock
 * read when they were set. After a step back (the clock was ahead) old
 * messages would otherwise wait behind new ones, or for a year. The quota
 * hold is checked by daily_gate. 0 or -1 with `err`.
 */
static int
clamp_deadlines(struct store *st, const struct config *cfg, int64_t now_ms,
    struct kw_err *err)
{
	int64_t retry_at = 0, wait = 0;
	int64_t latest = deliver_next_kst_midnight_ms(now_ms);

	/* quiet hours may end after the next midnight (07:00) */
	if (deliver_quiet_latest(cfg, now_ms) > latest)
		latest = deliver_quiet_latest(cfg, now_ms);
	if (store_outbox_clamp(st, latest + DELIVER_MAX_DEFER_MS, now_ms,
		err) != 0)
		return -1;
	if (meta_int(st, DELIVER_META_RETRY_AT, &retry_at, err) != 0 ||
	    meta_int(st, DELIVER_META_RETRY_WAIT, &wait, err) != 0)
		return -1;
	if (wait <= 0 || wait > DELIVER_MAX_DEFER_MS)
		wait = DELIVER_MAX_DEFER_MS;
	if (retry_at > now_ms + wait) {
		log_warnx("kakao: the retry wait ended further ahead than its "
			  "%" PRId64
			  "s (the clock moved back): it ends %" PRId64
			  "s from now",
		    (wait + 999) / 1000, (wait + 999) / 1000);
		return meta_set_int(st, DELIVER_META_RETRY_AT, now_ms + wait,
		    err);
	}
	return 0;
}

/*
 * daily_gate: the holds in front of a KakaoTalk send: Kakao's quota hold,
 * the digest of yesterday's held messages, today's budget. Returns 1 when
 * held (rep->status says why), 0 with *budget > 0 when messages may go,
 * 0 with *budget 0 when nothing is due, -1 on a store error.
 */
static int
daily_gate(struct store *st, const struct config *cfg, int64_t now_ms,
    struct deliver_report *rep, int64_t *budget, struct kw_err *err)
{
	char day[16];
	char *held = NULL;
	int64_t sent = 0, hold = 0;
	int result = -1;

	*budget = 0;
	/* Kakao said its quota is used up: wait without asking again, but
	 * never past the next 00:00 KST as the clock reads now (it may have
	 * been ahead when the hold was set) */
	if (meta_int(st, DELIVER_META_QUOTA_HOLD, &hold, err) != 0)
		return -1;
	if (hold > deliver_next_kst_midnight_ms(now_ms)) {
		log_warnx(
		    "kakao: the quota hold ended in the future (the clock "
		    "moved back): dropped");
		hold = 1; /* cleared below */
	}
	if (hold > now_ms) {
		if (store_outbox_defer_all(st, hold,
			"held: the Kakao message quota is used up until "
			"00:00 Korea time",
			err) != 0)
			return -1;
		rep->status = KAKAO_QUOTA;
		return 1;
	}
	if (hold != 0 &&
	    store_meta_set(st, DELIVER_META_QUOTA_HOLD, NULL, err) != 0)
		return -1;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (store_meta_get(st, DELIVER_META_BUDGET_DAY, &held, err) != 0)
		return -1;
	if (held != NULL && held[0] != '\0' && strcmp(held, day) != 0) {
		struct deliver_quiet q;

		/* the daily-limit digest is a new message, due now: inside
		 * quiet hours it waits like any (deliver_quiet_gate) */
		if (make_digest(st, cfg, now_ms, held, err) != 0 ||
		    store_meta_set(st, DELIVER_META_BUDGET_DAY, NULL, err) !=
			0 ||
		    deliver_quiet_gate(st, cfg, now_ms, &q, err) != 0)
			goto out;
		rep->quiet_held = q.held;
		rep->quiet_until_ms = q.until_ms;
	}
	if (store_sent_count(st, day, &sent, err) != 0)
		goto out;
	if (cfg->max_messages_per_day - sent > 0) {
		*budget = cfg->max_messages_per_day - sent;
		result = 0;
		goto out;
	}
	result = budget_used_up(st, cfg, now_ms, rep, err);
out:
	free(held);
	return result;
}

int
deliver_daily(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, size_t limit, FILE *out,
    struct deliver_report *rep, struct kw_err *err)
{
	int64_t budget = 0, sent = 0;
	struct deliver_quiet quiet;
	char day[16];
	int result;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	if (limit == 0 || limit > DEFAULT_LIMIT)
		limit = DEFAULT_LIMIT;
	if (clamp_deadlines(st, cfg, now_ms, err) != 0 ||
	    deliver_quiet_gate(st, cfg, now_ms, &quiet, err) != 0)
		return -1;
	rep->quiet_held = quiet.held;
	rep->quiet_until_ms = quiet.until_ms;
	if (sink != DELIVER_KAKAO) {
		result = deliver_outbox(st, cfg, sink, now_ms, false, limit,
		    out, rep, err);
		rep->quiet_held = quiet.held;
		rep->quiet_until_ms = quiet.until_ms;
		return result;
	}
	result = daily_gate(st, cfg, now_ms, rep, &budget, err);
	if (result != 0 || budget == 0)
		return result;
	quiet.held = rep->quiet_held; /* daily_gate may have held more */
	quiet.until_ms = rep->quiet_until_ms;
	result = deliver_outbox(st, cfg, sink, now_ms, false,
	    (size_t)budget < limit ? (size_t)budget : limit, out, rep, err);
	rep->quiet_held = quiet.held;
	rep->quiet_until_ms = quiet.until_ms;
	if (result != 0)
		return result;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (store_sent_count(st, day, &sent, err) != 0)
		return -1;
	if (sent < cfg->max_messages_per_day)
		return 0;
	/* used up: what is still due waits for tomorrow (1), else 0 */
	return budget_used_up(st, cfg, now_ms, rep, err);
}

enum kakao_status
deliver_token_upkeep(struct store *st, const struct config *cfg, int64_t now_ms,
    bool *queued, struct kw_err *err)
{
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err kerr = { 0 };
	enum kakao_status s = KAKAO_OK;
	int64_t now_s = now_ms / 1000, last = 0;

	if (queued != NULL)
		*queued = false;
	if (token_load(cfg->kakao.token_file, &tok, &kerr) != 0)
		return KAKAO_OK; /* no usable file: the next send says why */
	if (tok.refresh_token_expires_at <= 0)
		goto out;
	if (tok.expires_in > 0 && tok.access_token_expires_at > 0)
		last = tok.access_token_expires_at - tok.expires_in;
	if (tok.refresh_token_expires_at - now_s < DELIVER_ROTATE_WINDOW_S &&
	    now_s - last >= 86400) {
		deliver_kakao_client(cfg, &kc);
		token_release(&tok);
		s = kakao_session_refresh(&kc, &tok, now_s, &kerr);
		switch (s) {
		case KAKAO_OK:
			log_info("kakao: tokens refreshed to keep the "
				 "KakaoTalk connection alive");
			break;
		case KAKAO_RETRY:
		case KAKAO_RATE_LIMITED:
			if (!aborted())
				log_warnx("kakao: keeping the KakaoTalk "
					  "connection alive failed, will try "
					  "again later: %s",
				    kerr.msg);
			break;
		default:
			if (!aborted())
				log_held(s, kerr.msg);
			goto out;
		}
	}
	if (remind_if_expiring(st, &tok, now_ms, queued, err) != 0)
		s = KAKAO_FATAL;
out:
	token_release(&tok);
	return s;
}

/* ---- the courier: one message in flight on the loop's multi handle ---- */

enum courier_state {
	COURIER_IDLE,
	COURIER_REFRESH, /* a token refresh in flight */
	COURIER_SEND     /* the head message in flight */
};

struct deliver_courier {
	enum courier_state state;
	struct http *http;
	struct store *st;
	/* copies, so a reload may free the config meanwhile */
	struct kakao_client kc;
	char *strs[7];
	char *default_link;
	struct token tok;
	struct kakao_refresh_job job;
	struct outbox_msg msg; /* the head, copied; id 0: none (upkeep) */
	bool have_msg;
	bool tried_401, minimal;
	bool upkeep; /* a refresh of deliver_token_upkeep's */
	int64_t streak;
	int64_t started_ms; /* Unix ms the step began */
	bool in_step;       /* inside deliver_courier_step: no callback */
	bool ended_in_step; /* the step ended before it returned */
	deliver_courier_done_fn done;
	void *user;
	struct deliver_report rep;
};

struct deliver_courier *
deliver_courier_new(deliver_courier_done_fn done, void *user)
{
	struct deliver_courier *co = calloc(1, sizeof(*co));

	if (co == NULL)
		return NULL;
	co->done = done;
	co->user = user;
	co->job.lock_fd = -1;
	return co;
}

static void
courier_clear_msg(struct deliver_courier *co)
{
	if (co->have_msg) {
		free(co->msg.watch);
		free(co->msg.template_json);
		free(co->msg.last_error);
	}
	memset(&co->msg, 0, sizeof(co->msg));
	co->have_msg = false;
}

static void
courier_clear_client(struct deliver_courier *co)
{
	size_t i;

	for (i = 0; i < sizeof(co->strs) / sizeof(co->strs[0]); i++) {
		free(co->strs[i]);
		co->strs[i] = NULL;
	}
	free(co->default_link);
	co->default_link = NULL;
	memset(&co->kc, 0, sizeof(co->kc));
}

void
deliver_courier_free(struct deliver_courier *co)
{
	if (co == NULL)
		return;
	kakao_refresh_abandon(&co->job);
	token_release(&co->tok);
	courier_clear_msg(co);
	courier_clear_client(co);
	free(co);
}

bool
deliver_courier_busy(const struct deliver_courier *co)
{
	return co != NULL && co->state != COURIER_IDLE;
}

/* courier_set_client copies the kakao settings of `cfg` */
static int
courier_set_client(struct deliver_courier *co, const struct config *cfg,
    struct kw_err *err)
{
	struct kakao_client c;
	const char *src[7];
	size_t i;

	courier_clear_client(co);
	deliver_kakao_client(cfg, &c);
	src[0] = c.auth_base_url;
	src[1] = c.api_base_url;
	src[2] = c.rest_api_key;
	src[3] = c.client_secret;
	src[4] = c.redirect_uri;
	src[5] = c.token_path;
	src[6] = NULL;
	for (i = 0; i < 6; i++) {
		if (src[i] != NULL && (co->strs[i] = strdup(src[i])) == NULL)
			goto oom;
	}
	co->default_link = strdup(deliver_default_link(cfg));
	if (co->default_link == NULL)
		goto oom;
	co->kc = c;
	co->kc.auth_base_url = co->strs[0];
	co->kc.api_base_url = co->strs[1];
	co->kc.rest_api_key = co->strs[2];
	co->kc.client_secret = co->strs[3];
	co->kc.redirect_uri = co->strs[4];
	co->kc.token_path = co->strs[5];
	return 0;
oom:
	courier_clear_client(co);
	return kw_err_set(err, "out of memory");
}

/* courier_finish ends the step: back to idle, tell the loop */
static void
courier_finish(struct deliver_courier *co)
{
	struct deliver_report rep = co->rep;

	kakao_refresh_abandon(&co->job);
	token_release(&co->tok);
	courier_clear_msg(co);
	co->state = COURIER_IDLE;
	co->upkeep = false;
	if (co->in_step) {
		/* ended before anything was submitted: the step returns it */
		co->ended_in_step = true;
		return;
	}
	if (co->done != NULL)
		co->done(co->user, &rep);
}

/* step_result: what a step returns once it started a request (or not) */
static int
step_result(struct deliver_courier *co, struct deliver_report *rep)
{
	co->in_step = false;
	if (!co->ended_in_step)
		return 2;
	co->ended_in_step = false;
	*rep = co->rep;
	return rep->status == KAKAO_OK ? 0 : 1;
}

/* courier_stop: sending stopped at the head for `s` (logged, recorded) */
static void
courier_stop(struct deliver_courier *co, enum kakao_status s, const char *why)
{
	struct kw_err err = { 0 };
	struct outbox_msg none = { 0 };

	co->rep.status = s;
	co->rep.left = 1;
	if (aborted())
		return;
	if (stop_sending(co->st, s, co->have_msg ? &co->msg : &none,
		util_now_ms(), why, &co->rep, &err) != 0)
		log_errorx("outbox: %s", err.msg);
}

static void courier_sent(void *user, struct http_response *resp);
static void courier_refreshed(void *user, struct http_response *resp);

/* courier_submit hands a prepared Kakao request to the loop */
static int
courier_submit(struct deliver_courier *co, struct kakao_call *call,
    struct http_request *req, http_done_fn done, struct kw_err *err)
{
	int r;

	/* a clean stop waits for it (bounded) instead of cutting it off */
	req->no_abort = true;
	r = http_submit(co->http, req, done, co, err);
	kakao_call_release(call);
	return r;
}

/* courier_send submits the head (or its plain-text form) */
static void
courier_send(struct deliver_courier *co)
{
	struct kakao_call call;
	struct http_request req;
	struct kw_err kerr = { 0 }, merr = { 0 };
	enum kakao_status s;
	char *min = NULL;
	const char *tmpl = co->msg.template_json;

	if (co->minimal) {
		min = message_build_minimal(co->msg.template_json,
		    co->default_link, &merr);
		if (min == NULL) {
			courier_stop(co, KAKAO_FATAL, merr.msg);
			courier_finish(co);
			return;
		}
		tmpl = min;
	}
	s = kakao_memo_request(&co->kc, co->tok.access_token, tmpl, &call, &req,
	    &kerr);
	if (s == KAKAO_OK &&
	    courier_submit(co, &call, &req, courier_sent, &kerr) != 0)
		s = KAKAO_FATAL;
	free(min);
	if (s != KAKAO_OK) {
		courier_stop(co, s, kerr.msg);
		courier_finish(co);
		return;
	}
	co->state = COURIER_SEND;
}

/* courier_refresh starts a refresh; then sends (or ends an upkeep) */
static void
courier_refresh(struct deliver_courier *co, bool force)
{
	struct kakao_call call;
	struct http_request req;
	struct kw_err kerr = { 0 };
	enum kakao_status s;
	bool need = false;

	s = kakao_refresh_begin(&co->kc, &co->tok, util_now_ms() / 1000, force,
	    &co->job, &call, &req, &need, &kerr);
	if (s == KAKAO_OK && !need) {
		/* another kakaowatch refreshed: its token is in co->tok */
		if (co->have_msg)
			courier_send(co);
		else
			courier_finish(co);
		return;
	}
	if (s == KAKAO_OK &&
	    courier_submit(co, &call, &req, courier_refreshed, &kerr) != 0) {
		kakao_refresh_abandon(&co->job);
		s = KAKAO_FATAL;
	}
	if (s == KAKAO_OK) {
		co->state = COURIER_REFRESH;
		return;
	}
	if (s == KAKAO_RATE_LIMITED) {
		/* another process holds the lock: in a second */
		co->rep.status = KAKAO_RETRY;
		co->rep.retry_in_ms = 1000;
		co->rep.left = co->have_msg;
		courier_finish(co);
		return;
	}
	/* a failed refresh with a still valid access token: send anyway */
	if ((s == KAKAO_RETRY || s == KAKAO_RATE_LIMITED) && co->have_msg &&
	    co->tok.access_token != NULL && !force &&
	    co->tok.access_token_expires_at - util_now_ms() / 1000 > 60) {
		log_warnx("kakao: token refresh failed, using the current "
			  "access token: %s",
		    kerr.msg);
		courier_send(co);
		return;
	}
	if (co->upkeep) {
		log_warnx("kakao: keeping the KakaoTalk connection alive "
			  "failed, will try again later: %s",
		    kerr.msg);
		co->rep.status = s;
	} else {
		courier_stop(co, s, kerr.msg);
	}
	courier_finish(co);
}

static void
courier_refreshed(void *user, struct http_response *resp)
{
	struct deliver_courier *co = user;
	struct kakao_call call;
	struct http_request req;
	struct kw_err kerr = { 0 }, err = { 0 };
	enum kakao_status s;
	bool again = false, queued = false;

	co->state = COURIER_IDLE;
	if (resp->error == HTTP_ERR_ABORTED) {
		co->rep.status = KAKAO_RETRY;
		courier_finish(co);
		return;
	}
	s = kakao_refresh_end(&co->kc, &co->tok, &co->job, resp,
	    util_now_ms() / 1000, &call, &req, &again, &kerr);
	if (s == KAKAO_OK && again) {
		if (courier_submit(co, &call, &req, courier_refreshed, &kerr) ==
		    0) {
			co->state = COURIER_REFRESH;
			return;
		}
		kakao_refresh_abandon(&co->job);
		s = KAKAO_FATAL;
	}
	if (s != KAKAO_OK) {
		if (co->upkeep &&
		    (s == KAKAO_RETRY || s == KAKAO_RATE_LIMITED)) {
			log_warnx("kakao: keeping the KakaoTalk connection "
				  "alive failed, will try again later: %s",
			    kerr.msg);
			co->rep.status = s;
		} else if (co->upkeep) {
			log_held(s, kerr.msg);
			co->rep.status = s;
		} else if ((s == KAKAO_RETRY || s == KAKAO_RATE_LIMITED) &&
			   co->tok.access_token != NULL &&
			   co->tok.access_token_expires_at -
				   util_now_ms() / 1000 >
			       60) {
			log_warnx("kakao: token refresh failed, using the "
				  "current access token: %s",
			    kerr.msg);
			courier_send(co);
			return;
		} else {
			courier_stop(co, s, kerr.msg);
		}
		courier_finish(co);
		return;
	}
	if (co->upkeep) {
		log_info("kakao: tokens refreshed to keep the KakaoTalk "
			 "connection alive");
		if (remind_if_expiring(co->st, &co->tok, util_now_ms(), &queued,
			&err) != 0)
			log_errorx("outbox: %s", err.msg);
		co->rep.queued = queued;
		courier_finish(co);
		return;
	}
	courier_send(co);
}

static void
courier_sent(void *user, struct http_response *resp)
{
	struct deliver_courier *co = user;
	struct kw_err kerr = { 0 }, err = { 0 }, lerr = { 0 };
	struct token f = { 0 };
	enum kakao_status s;
	int64_t now_ms = util_now_ms();
	char day[16];

	co->state = COURIER_IDLE;
	if (resp->error == HTTP_ERR_ABORTED) {
		/* cancelled at the stop: unknown, the message stays as it
		 * was (sent again after the restart) */
		co->rep.status = KAKAO_RETRY;
		co->rep.left = 1;
		courier_finish(co);
		return;
	}
	s = kakao_memo_result(resp, &kerr);
	if (s == KAKAO_OK) {
		deliver_kst_day(now_ms, day, sizeof(day));
		if (remove_sent(co->st, &co->msg, day, &err) != 0 ||
		    store_meta_set(co->st, DELIVER_META_RETRY_AT, NULL, &err) !=
			0 ||
		    store_meta_set(co->st, DELIVER_META_RETRY_ATTEMPTS, NULL,
			&err) != 0 ||
		    (co->streak > 0 &&
			meta_set_int(co->st, DELIVER_META_DEAD_STREAK, 0,
			    &err) != 0))
			log_errorx("outbox: %s", err.msg);
		if (co->minimal)
			log_info("kakao: message %" PRId64 " of '%s' sent as "
				 "plain text",
			    co->msg.id,
			    co->msg.watch ? co->msg.watch : DELIVER_SELF);
		co->rep.sent = 1;
		courier_finish(co);
		return;
	}
	if (s == KAKAO_UNAUTHORIZED && !co->tried_401) {
		co->tried_401 = true;
		log_info("kakao: access token rejected (-401); refreshing and "
			 "retrying once");
		/* another kakaowatch may have refreshed already */
		if (token_load(co->kc.token_path, &f, &lerr) == 0 &&
		    f.access_token != NULL &&
		    !util_str_eq(f.access_token, co->tok.access_token)) {
			token_release(&co->tok);
			co->tok = f;
			courier_send(co);
			return;
		}
		token_release(&f);
		courier_refresh(co, true);
		return;
	}
	if (s == KAKAO_UNAUTHORIZED) {
		kw_err_clear(&kerr);
		kw_err_set(&kerr,
		    "Kakao rejected a freshly refreshed access "
		    "token (-401): check that the app key is active and the "
		    "app's allowed IP addresses (Kakao Developers > [앱] > "
		    "[플랫폼 키] > [REST API 키] > [허용 IP 주소]); run "
		    "`kakaowatch auth` if this repeats");
	}
	if (s == KAKAO_BAD_TEMPLATE && !co->minimal) {
		log_warnx("kakao: message %" PRId64 " of '%s' was refused as "
			  "invalid (%s); trying it once more as plain text; "
			  "refused: %s",
		    co->msg.id, co->msg.watch ? co->msg.watch : DELIVER_SELF,
		    kerr.msg, co->msg.template_json);
		co->minimal = true;
		courier_send(co);
		return;
	}
	if (s == KAKAO_BAD_TEMPLATE && co->streak == 0) {
		log_errorx("kakao: message %" PRId64 " of '%s' was refused as "
			   "invalid, also as plain text; moved to the dead "
			   "letters (`kakaowatch outbox list`, `outbox retry "
			   "%" PRId64 "`)",
		    co->msg.id, co->msg.watch ? co->msg.watch : DELIVER_SELF,
		    co->msg.id);
		if (dead_letter_add(co->st, &co->msg, kerr.msg, now_ms, &err) !=
			0 ||
		    meta_set_int(co->st, DELIVER_META_DEAD_STREAK, 1, &err) !=
			0)
			log_errorx("outbox: %s", err.msg);
		co->rep.dropped = 1;
		courier_finish(co);
		return;
	}
	if (s == KAKAO_BAD_TEMPLATE) {
		kw_err_clear(&kerr);
		kw_err_set(&kerr,
		    "Kakao refused %" PRId64 " messages in a row "
		    "as invalid (-2), also as plain text; the next one stays "
		    "queued (see `kakaowatch outbox list`)",
		    co->streak + 1);
	}
	courier_stop(co, s, kerr.msg);
	courier_finish(co);
}

/* courier_begin: token loaded, then refresh or send */
static int
courier_begin(struct deliver_courier *co, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err)
{
	struct kw_err kerr = { 0 };
	enum kakao_status s;

	s = kakao_session_load(&co->kc, &co->tok, &kerr);
	if (s != KAKAO_OK) {
		courier_stop(co, s, kerr.msg);
		*rep = co->rep;
		token_release(&co->tok);
		courier_clear_msg(co);
		return 1;
	}
	if (remind_if_expiring(co->st, &co->tok, now_ms, &rep->queued, err) !=
	    0) {
		token_release(&co->tok);
		courier_clear_msg(co);
		return -1;
	}
	co->rep.queued = rep->queued;
	/* from here on the step ends in the done callback */
	co->state = COURIER_SEND;
	co->in_step = true;
	co->ended_in_step = false;
	if (token_refresh_due(&co->tok, now_ms / 1000,
		co->kc.min_refresh_interval_s))
		courier_refresh(co, false);
	else
		courier_send(co);
	return step_result(co, rep);
}

int
deliver_courier_step(struct deliver_courier *co, struct store *st,
    const struct config *cfg, struct http *http, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	int64_t budget = 0, hold = 0, queued = 0;
	struct deliver_quiet quiet;
	size_t n = 0;
	int r;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	if (co->state != COURIER_IDLE)
		return 2;
	memset(&co->rep, 0, sizeof(co->rep));
	co->rep.status = KAKAO_OK;
	co->tried_401 = co->minimal = co->upkeep = false;
	co->st = st;
	co->http = http;
	co->started_ms = now_ms;
	if (clamp_deadlines(st, cfg, now_ms, err) != 0 ||
	    deliver_quiet_gate(st, cfg, now_ms, &quiet, err) != 0)
		return -1;
	rep->quiet_held = quiet.held;
	rep->quiet_until_ms = quiet.until_ms;
	r = daily_gate(st, cfg, now_ms, rep, &budget, err);
	if (r != 0 || budget == 0)
		return r;
	if (meta_int(st, DELIVER_META_RETRY_AT, &hold, err) != 0 ||
	    (hold > now_ms && store_outbox_stats(st, &queued, NULL, err) != 0))
		return -1;
	if (hold > now_ms && queued > 0) {
		rep->status = KAKAO_RETRY;
		rep->retry_in_ms = hold - now_ms;
		rep->left = (size_t)queued;
		return 1;
	}
	if (store_outbox_due(st, now_ms, 1, &v, &n, err) != 0)
		return -1;
	if (n == 0)
		return 0;
	co->msg = v[0];
	co->have_msg = true;
	free(v); /* the strings moved to co->msg */
	if (meta_int(st, DELIVER_META_DEAD_STREAK, &co->streak, err) != 0 ||
	    courier_set_client(co, cfg, err) != 0) {
		courier_clear_msg(co);
		return -1;
	}
	return courier_begin(co, now_ms, rep, err);
}

int
deliver_courier_upkeep(struct deliver_courier *co, struct store *st,
    const struct config *cfg, struct http *http, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err)
{
	struct kw_err kerr = { 0 };
	int64_t now_s = now_ms / 1000, last = 0;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	if (co->state != COURIER_IDLE)
		return 2;
	memset(&co->rep, 0, sizeof(co->rep));
	co->rep.status = KAKAO_OK;
	co->tried_401 = co->minimal = false;
	co->st = st;
	co->http = http;
	if (courier_set_client(co, cfg, err) != 0)
		return -1;
	if (kakao_session_load(&co->kc, &co->tok, &kerr) != KAKAO_OK)
		return 0; /* no usable file: the next send says why */
	if (co->tok.expires_in > 0 && co->tok.access_token_expires_at > 0)
		last = co->tok.access_token_expires_at - co->tok.expires_in;
	if (co->tok.refresh_token_expires_at <= 0 ||
	    co->tok.refresh_token_expires_at - now_s >=
		DELIVER_ROTATE_WINDOW_S ||
	    now_s - last < 86400) {
		if (remind_if_expiring(st, &co->tok, now_ms, &rep->queued,
			err) != 0) {
			token_release(&co->tok);
			return -1;
		}
		token_release(&co->tok);
		return 0;
	}
	co->upkeep = true;
	co->state = COURIER_REFRESH;
	co->in_step = true;
	co->ended_in_step = false;
	courier_refresh(co, true);
	return step_result(co, rep);
}

/* ---- grouped failure / recovery notices ---- */

/*
 * The open group lives in meta DELIVER_META_NOTICE as "ID START\n" and
 * one entry a line: "KIND\tNAME\tCOUNT\tURL\tWHY" (KIND f = failing,
 * r = recovered; tabs and line breaks in NAME/WHY/URL replaced by
 * spaces). Its outbox row ID (watch DELIVER_NOTICE) is due at
 * START + notice_window, so later notices can join it until then.
 */

struct notice_ent {
	char kind;
	char *name, *url, *why;
	int count;
};

static void
notice_clean(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		buf_printf(b, "%c",
		    *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* split the entry lines of `s` (modified in place) into `v` (max n) */
static size_t
notice_parse(char *s, struct notice_ent *v, size_t max)
{
	size_t n = 0;
	char *line, *f[5];
	int k;

	while (s != NULL && *s != '\0' && n < max) {
		line = s;
		s = strchr(s, '\n');
		if (s != NULL)
			*s++ = '\0';
		for (k = 0; k < 5; k++) {
			f[k] = line;
			line = line != NULL ? strchr(line, '\t') : NULL;
			if (line != NULL)
				*line++ = '\0';
			else if (k < 4)
				break;
		}
		if (k < 4 || (f[0][0] != 'f' && f[0][0] != 'r'))
			continue;
		v[n].kind = f[0][0];
		v[n].name = f[1];
		v[n].count = atoi(f[2]);
		v[n].url = f[3];
		v[n].why = f[4];
		n++;
	}
	return n;
}

/* the text of a group: the single notice as before, or one summary */
static char *
notice_text(const struct notice_ent *v, size_t n, struct kw_err *err)
{
	struct buf b;
	size_t i, nf = 0, nr = 0, k;

	buf_init(&b, 0);
	if (n == 1 && v[0].kind == 'f')
		buf_printf(&b, "%s: watch is failing (%d checks in a row)\n%s",
		    v[0].name, v[0].count, v[0].why);
	else if (n == 1)
		buf_printf(&b, "%s: recovered after %d failed checks",
		    v[0].name, v[0].count);
	else {
		for (i = 0; i < n; i++)
			v[i].kind == 'f' ? nf++ : nr++;
		if (nf > 0) {
			buf_printf(&b, "%zu %s failing:", nf,
			    nf == 1 ? "watch is" : "watches are");
			for (i = 0, k = 0; i < n; i++)
				if (v[i].kind == 'f')
					buf_printf(&b, "%s %s", k++ ? "," : "",
					    v[i].name);
		}
		if (nr > 0) {
			buf_printf(&b, "%s%zu recovered:", nf ? "\n" : "", nr);
			for (i = 0, k = 0; i < n; i++)
				if (v[i].kind == 'r')
					buf_printf(&b, "%s %s", k++ ? "," : "",
					    v[i].name);
		}
		for (i = 0; i < n; i++)
			if (v[i].kind == 'f')
				buf_printf(&b, "\n- %s: %.60s", v[i].name,
				    v[i].why);
	}
	if (b.data == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* is outbox row `id` still queued and not yet due? */
static int
notice_row_open(struct store *st, int64_t id, int64_t now_ms, bool *open,
    struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	size_t n = 0, i;

	*open = false;
	if (store_outbox_due(st, INT64_MAX, 0, &v, &n, err) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (v[i].id == id && v[i].next_attempt_at > now_ms &&
		    v[i].watch != NULL &&
		    strcmp(v[i].watch, DELIVER_NOTICE) == 0)
			*open = true;
	outbox_msgs_free(v, n);
	return 0;
}

int
deliver_notice_add(struct store *st, const struct config *cfg, bool failing,
    const char *name, int count, const char *url, const char *why,
    int64_t now_ms, struct kw_err *err)
{
	struct buf meta;
	struct notice_ent *ents = NULL;
	char *old = NULL, *copy = NULL, *text = NULL, *tmpl = NULL, *nl;
	int64_t id = 0, start = now_ms, new_id = 0;
	int64_t window = (int64_t)cfg->notice_window * 1000;
	size_t n, max;
	bool open = false;
	int result = -1;

	buf_init(&meta, 0);
	if (store_meta_get(st, DELIVER_META_NOTICE, &old, err) != 0)
		return -1;
	if (old != NULL && window > 0 &&
	    sscanf(old, "%" SCNd64 " %" SCNd64, &id, &start) == 2 &&
	    now_ms >= start && now_ms < start + window) {
		if (notice_row_open(st, id, now_ms, &open, err) != 0)
			goto out;
	}
	if (!open) {
		id = 0;
		start = now_ms;
	}
	buf_printf(&meta, "%" PRId64 " %" PRId64 "\n", (int64_t)0, start);
	nl = open ? strchr(old, '\n') : NULL;
	if (nl != NULL)
		buf_puts(&meta, nl + 1);
	buf_printf(&meta, "%c\t", failing ? 'f' : 'r');
	notice_clean(&meta, name);
	buf_printf(&meta, "\t%d\t", count);
	notice_clean(&meta, url);
	buf_puts(&meta, "\t");
	notice_clean(&meta, why);
	buf_puts(&meta, "\n");
	if (meta.data == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	copy = strdup(strchr(meta.data, '\n') + 1);
	max = (size_t)cfg->nwatches * 2 + 2;
	ents = calloc(max, sizeof(*ents));
	if (copy == NULL || ents == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	n = notice_parse(copy, ents, max);
	if (n == 0) {
		kw_err_set(err, "notice: nothing to queue");
		goto out;
	}
	text = notice_text(ents, n, err);
	if (text == NULL)
		goto out;
	tmpl = message_build_text(text, ents[0].url, "열기", err);
	if (tmpl == NULL)
		goto out;
	if (store_outbox_put(st, id, DELIVER_NOTICE, tmpl, start,
		start + window, &new_id, err) != 0)
		goto out;
	/* the row is queued: a crash before the meta update only starts a
	 * new group next time (nothing lost, nothing sent twice) */
	buf_release(&meta);
	buf_printf(&meta, "%" PRId64 " %" PRId64 "\n", new_id, start);
	for (max = 0; max < n; max++)
		buf_printf(&meta, "%c\t%s\t%d\t%s\t%s\n", ents[max].kind,
		    ents[max].name, ents[max].count, ents[max].url,
		    ents[max].why);
	if (meta.data == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	if (store_meta_set(st, DELIVER_META_NOTICE,
		window > 0 ? meta.data : NULL, err) != 0)
		goto out;
	result = 0;
out:
	buf_release(&meta);
	free(old);
	free(copy);
	free(text);
	free(tmpl);
	free(ents);
	return result;
}

int
deliver_notice_flush(struct store *st, int64_t now_ms, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	char *old = NULL;
	size_t n = 0, i;
	int64_t id = 0, start = 0, nid = 0;
	int result = -1;

	if (store_meta_get(st, DELIVER_META_NOTICE, &old, err) != 0)
		return -1;
	if (old == NULL)
		return 0;
	if (sscanf(old, "%" SCNd64 " %" SCNd64, &id, &start) != 2)
		goto clear;
	if (store_outbox_due(st, INT64_MAX, 0, &v, &n, err) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (v[i].id == id && v[i].next_attempt_at > now_ms &&
		    store_outbox_put(st, id, v[i].watch, v[i].template_json,
			v[i].created_at, now_ms, &nid, err) != 0)
			goto out;
clear:
	result = store_meta_set(st, DELIVER_META_NOTICE, NULL, err);
out:
	outbox_msgs_free(v, n);
	free(old);
	return result;
}
