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

static double
rnd(void)
{
	return (double)rand() / ((double)RAND_MAX + 1.0);
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
		if (st != NULL && store_meta_get(st, DELIVER_META_KAKAO_USED,
				      &used, &err) == 0 &&
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
	if (text != NULL && util_parse_int(text, INT64_MIN, INT64_MAX, out) !=
	    0)
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
	snprintf(want, sizeof(want), "%" PRId64,
	    tok->refresh_token_expires_at);
	if (store_meta_get(st, DELIVER_META_REMINDED, &have, err) != 0)
		return -1;
	if (have != NULL && strcmp(have, want) == 0) {
		result = 0;
		goto out;
	}
	days = (long long)(left / 86400);
	if (days > 1)
		snprintf(when, sizeof(when), "in %lld days", days);
	else
		snprintf(when, sizeof(when), "within %s",
		    days == 1 ? "two days" : "a day");
	deliver_kst_day(tok->refresh_token_expires_at * 1000, day,
	    sizeof(day));
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
		if (store_outbox_delete_sent(st, v[i].id, day, err) != 0)
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
		rep->retry_in_ms = deliver_backoff_ms((int)(attempts < 64 ?
							  attempts :
							  64),
		    rnd());
		next = now_ms + rep->retry_in_ms;
		if (store_outbox_defer(st, head->id, next, why, err) != 0 ||
		    meta_set_int(st, DELIVER_META_RETRY_AT, next, err) != 0 ||
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
dead_letter_add(struct store *st, const struct outbox_msg *m,
    const char *why, int64_t now_ms, struct kw_err *err)
{
	char key[64];
	struct buf b;
	int result = -1;

	buf_init(&b, 0);
	buf_printf(&b, "1\n%" PRId64 "\n%" PRId64 "\n", m->created_at,
	    now_ms);
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
		return kw_err_set(err, "dead letter %" PRId64 " is unreadable; "
		    "drop it", id);
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
deliver_kakao(struct store *st, const struct config *cfg,
    struct outbox_msg *v, size_t n, int64_t now_ms, const char *day,
    struct deliver_report *rep, struct kw_err *err)
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
			if (store_outbox_delete_sent(st, v[i].id, day, err) !=
			    0)
				goto out;
			rep->sent++;
			continue;
		}
		if (s == KAKAO_BAD_TEMPLATE)
			s = retry_minimal(cfg, &kc, &tok, &v[i], now_s, &kerr);
		if (s == KAKAO_OK) {
			if (store_outbox_delete_sent(st, v[i].id, day, err) !=
			    0)
				goto out;
			rep->sent++;
			if (!answered && (store_meta_set(st,
					      DELIVER_META_RETRY_AT, NULL,
					      err) != 0 ||
					     store_meta_set(st,
						 DELIVER_META_RETRY_ATTEMPTS,
						 NULL, err) != 0))
				goto out;
			answered = true;
			if (streak > 0 && meta_set_int(st,
					      DELIVER_META_DEAD_STREAK, 0,
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
			kw_err_set(&kerr, "Kakao refused %" PRId64 " messages "
			    "in a row as invalid (-2), also as plain text; "
			    "the next one stays queued (see `kakaowatch outbox "
			    "list`)", streak + 1);
			goto stop;
		}
		log_errorx("kakao: message %" PRId64 " of '%s' was refused "
			   "as invalid, also as plain text; moved to the dead "
			   "letters (`kakaowatch outbox list`, `outbox retry "
			   "%" PRId64 "`)",
		    v[i].id, v[i].watch ? v[i].watch : DELIVER_SELF, v[i].id);
		if (dead_letter_add(st, &v[i], kerr.msg, now_ms, err) != 0 ||
		    meta_set_int(st, DELIVER_META_DEAD_STREAK, ++streak,
			err) != 0)
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
    enum deliver_sink sink, int64_t now_ms, bool all, size_t limit,
    FILE *out, struct deliver_report *rep, struct kw_err *err)
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
		wc = v[held[i]].watch ? config_find_watch(cfg,
					    v[held[i]].watch) :
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

int
deliver_daily(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, size_t limit, FILE *out,
    struct deliver_report *rep, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	char day[16];
	char *held = NULL;
	int64_t sent = 0, budget, hold = 0;
	size_t n = 0;
	int result = -1;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	if (limit == 0 || limit > DEFAULT_LIMIT)
		limit = DEFAULT_LIMIT;
	if (sink != DELIVER_KAKAO)
		return deliver_outbox(st, cfg, sink, now_ms, false, limit, out,
		    rep, err);
	/* Kakao said its quota is used up: wait without asking again */
	if (meta_int(st, DELIVER_META_QUOTA_HOLD, &hold, err) != 0)
		return -1;
	if (hold > now_ms) {
		if (store_outbox_defer_all(st, hold,
			"held: the Kakao message quota is used up until "
			"00:00 Korea time",
			err) != 0)
			return -1;
		rep->status = KAKAO_QUOTA;
		return 1;
	}
	if (hold != 0 && store_meta_set(st, DELIVER_META_QUOTA_HOLD, NULL,
			     err) != 0)
		return -1;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (store_meta_get(st, DELIVER_META_BUDGET_DAY, &held, err) != 0)
		return -1;
	if (held != NULL && held[0] != '\0' && strcmp(held, day) != 0) {
		if (make_digest(st, cfg, now_ms, held, err) != 0 ||
		    store_meta_set(st, DELIVER_META_BUDGET_DAY, NULL, err) != 0)
			goto out;
		free(held);
		held = NULL;
	}
	if (store_sent_count(st, day, &sent, err) != 0)
		goto out;
	budget = cfg->max_messages_per_day - sent;
	if (budget > 0) {
		result = deliver_outbox(st, cfg, sink, now_ms, false,
		    (size_t)budget < limit ? (size_t)budget : limit, out, rep,
		    err);
		if (result != 0 ||
		    sent + (int64_t)rep->sent < cfg->max_messages_per_day)
			goto out;
		result = -1;
	}
	/* the budget is used up: anything still due waits for tomorrow */
	if (store_outbox_due(st, now_ms, 1, &v, &n, err) != 0)
		goto out;
	outbox_msgs_free(v, n);
	if (n == 0) {
		result = 0;
		goto out;
	}
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

enum kakao_status
deliver_token_upkeep(struct store *st, const struct config *cfg,
    int64_t now_ms, bool *queued, struct kw_err *err)
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
