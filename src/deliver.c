/* deliver: outbox -> stdout or KakaoTalk (see deliver.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/deliver.h"
#include "kakaowatch/buf.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"

#define KST_OFFSET_MS (9LL * 3600 * 1000)
#define DAY_MS (86400LL * 1000)

enum deliver_sink
deliver_resolve_sink(const struct config *cfg)
{
	static bool told;

	switch (cfg->kakao.sink) {
	case CONFIG_SINK_STDOUT:
		return DELIVER_STDOUT;
	case CONFIG_SINK_KAKAO:
		return DELIVER_KAKAO;
	case CONFIG_SINK_AUTO:
		break;
	}
	if (access(cfg->kakao.token_file, F_OK) == 0)
		return DELIVER_KAKAO;
	if (!told) {
		log_info("kakao: KakaoTalk is not connected yet, printing "
			 "messages on stdout; run `kakaowatch auth` to "
			 "connect it");
		told = true;
	}
	return DELIVER_STDOUT;
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
	int64_t d = 30 * 1000;
	int i;

	for (i = 1; i < attempts && d < 3600 * 1000; i++)
		d *= 2;
	if (d > 3600 * 1000)
		d = 3600 * 1000;
	if (jitter < 0)
		jitter = 0;
	if (jitter >= 1)
		jitter = 0.999;
	return d + (int64_t)((double)d * 0.2 * jitter);
}

void
deliver_kst_day(int64_t now_ms, char *out, size_t size)
{
	time_t t = (time_t)((now_ms + KST_OFFSET_MS) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d", &tm);
}

int64_t
deliver_next_kst_midnight_ms(int64_t now_ms)
{
	int64_t local = now_ms + KST_OFFSET_MS;

	return (local / DAY_MS + 1) * DAY_MS - KST_OFFSET_MS;
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

static int
deliver_kakao(struct store *st, const struct config *cfg,
    struct outbox_msg *v, size_t n, int64_t now_ms, const char *day,
    struct deliver_report *rep, struct kw_err *err)
{
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err kerr = { 0 };
	enum kakao_status s;
	int64_t now_s = now_ms / 1000, next;
	size_t i;
	int result = -1;

	deliver_kakao_client(cfg, &kc);
	s = kakao_session_begin(&kc, &tok, now_s, &kerr);
	if (s != KAKAO_OK)
		goto stop;
	for (i = 0; i < n; i++) {
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
		if (s == KAKAO_BAD_TEMPLATE) {
			/* a bug of ours: keep the evidence, drop only it */
			log_errorx("kakao: message %" PRId64 " of '%s' was "
				   "rejected as invalid (%s); dropped: %s",
			    v[i].id, v[i].watch, kerr.msg,
			    v[i].template_json);
			if (store_outbox_delete(st, v[i].id, err) != 0)
				goto out;
			rep->dropped++;
			continue;
		}
		if (s == KAKAO_RETRY || s == KAKAO_RATE_LIMITED) {
			next = now_ms + deliver_backoff_ms(v[i].attempts + 1,
					    (double)rand() / RAND_MAX);
			if (store_outbox_defer(st, v[i].id, next, kerr.msg,
				err) != 0)
				goto out;
		}
		goto stop;
	}
	result = 0;
	goto out;
stop:
	rep->status = s;
	if (s == KAKAO_QUOTA) {
		next = deliver_next_kst_midnight_ms(now_ms);
		log_warnx("kakao: daily message quota used up (%s); holding "
			  "messages until 00:00 Korea time",
		    kerr.msg);
		if (store_outbox_defer_all(st, next, kerr.msg, err) != 0)
			goto out;
	} else if (s == KAKAO_RETRY || s == KAKAO_RATE_LIMITED) {
		log_warnx("kakao: sending failed, will retry: %s", kerr.msg);
	} else {
		log_errorx("kakao: %s; messages are kept until this is fixed",
		    kerr.msg);
	}
	result = 1;
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
	int result;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	deliver_kst_day(now_ms, day, sizeof(day));
	if (limit == 0 || limit > 1000)
		limit = 1000;
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

/* one message that stands for every message held by yesterday's budget */
static int
make_digest(struct store *st, const struct config *cfg, int64_t now_ms,
    const char *held_day, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	struct buf text;
	int64_t *ids = NULL;
	size_t n = 0, i, j, kinds = 0;
	const char *link = NULL;
	char *tmpl = NULL;
	int result = -1;

	if (store_outbox_due(st, INT64_MAX, 100000, &v, &n, err) != 0)
		return -1;
	if (n < 2) {
		result = 0;
		goto out;
	}
	ids = calloc(n, sizeof(*ids));
	if (ids == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	buf_init(&text, 0);
	buf_printf(&text,
	    "kakaowatch: %zu messages were held on %s by the daily limit "
	    "(max_messages_per_day: %d):",
	    n, held_day, cfg->max_messages_per_day);
	for (i = 0; i < n; i++) {
		ids[i] = v[i].id;
		for (j = 0; j < i; j++)
			if (strcmp(v[j].watch, v[i].watch) == 0)
				break;
		if (j < i)
			continue;
		size_t count = 0, k;
		for (k = i; k < n; k++)
			if (strcmp(v[k].watch, v[i].watch) == 0)
				count++;
		buf_printf(&text, "%s %s %zu", kinds ? "," : "", v[i].watch,
		    count);
		kinds++;
		if (link == NULL) {
			const struct watch_config *wc =
			    config_find_watch(cfg, v[i].watch);
			if (wc != NULL)
				link = wc->url;
		}
	}
	tmpl = message_build_text(text.data ? text.data : "", link, "열기",
	    err);
	buf_release(&text);
	if (tmpl == NULL)
		goto out;
	if (store_outbox_replace(st, ids, n, "kakaowatch", tmpl, now_ms,
		err) != 0)
		goto out;
	log_info("outbox: %zu messages held by yesterday's daily limit "
		 "replaced by one digest",
	    n);
	result = 0;
out:
	free(tmpl);
	free(ids);
	outbox_msgs_free(v, n);
	return result;
}

int
deliver_daily(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, FILE *out,
    struct deliver_report *rep, struct kw_err *err)
{
	char day[16];
	char *held = NULL;
	int64_t sent = 0, budget;
	int result = -1;

	memset(rep, 0, sizeof(*rep));
	rep->status = KAKAO_OK;
	if (sink != DELIVER_KAKAO)
		return deliver_outbox(st, cfg, sink, now_ms, false, 0, out, rep,
		    err);
	deliver_kst_day(now_ms, day, sizeof(day));
	if (store_meta_get(st, "budget_held_day", &held, err) != 0)
		return -1;
	if (held != NULL && strcmp(held, day) != 0) {
		if (make_digest(st, cfg, now_ms, held, err) != 0 ||
		    store_meta_set(st, "budget_held_day", "", err) != 0)
			goto out;
	}
	if (store_sent_count(st, day, &sent, err) != 0)
		goto out;
	budget = cfg->max_messages_per_day - sent;
	if (budget > 0) {
		result = deliver_outbox(st, cfg, sink, now_ms, false,
		    (size_t)budget, out, rep, err);
		if (result != 0 || sent + (int64_t)rep->sent <
					   cfg->max_messages_per_day)
			goto out;
	}
	/* the budget is used up: anything still due waits for tomorrow */
	{
		struct outbox_msg *v = NULL;
		size_t n = 0;

		if (store_outbox_due(st, now_ms, 1, &v, &n, err) != 0)
			goto out;
		outbox_msgs_free(v, n);
		if (n == 0) {
			result = 0;
			goto out;
		}
	}
	if (store_outbox_defer_all(st, deliver_next_kst_midnight_ms(now_ms),
		"daily message limit reached", err) != 0 ||
	    store_meta_set(st, "budget_held_day", day, err) != 0)
		goto out;
	if (held == NULL || strcmp(held, day) != 0)
		log_warnx("outbox: max_messages_per_day (%d) reached; further "
			  "changes are held and sent as one digest after "
			  "00:00 Korea time",
		    cfg->max_messages_per_day);
	rep->status = KAKAO_QUOTA;
	result = 1;
out:
	free(held);
	return result;
}
