/* cmd_status: what the daemon knows, for people (table) and machines. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/quiet.h"
#include "kakaowatch/sched.h"
#include "kakaowatch/store.h"
#include "kakaowatch/token.h"
#include "kakaowatch/utf8.h"

/* the heartbeat is written every SCHED_HEARTBEAT_MS; older means dead */
#define HEALTH_MAX_AGE_MS (60 * 1000)

static const char status_usage[] =
    "usage: kakaowatch status [-c FILE] [--json | --health]\n"
    "\n"
    "Per watch: last check, next check, last change, items, the item keys\n"
    "it remembers (seen within history_days), consecutive failures and\n"
    "the last error; the outbox (waiting messages, the oldest,\n"
    "the next attempt, why sending waits); messages sent today against\n"
    "max_messages_per_day; the Kakao token expiry times (never the tokens).\n"
    "Reads the state database without locking it, so it works while the\n"
    "daemon runs.\n"
    "\n"
    "  --json    the same as one JSON object (times in Unix seconds)\n"
    "  --health  exit 0 when the daemon is alive (heartbeat under 60 s\n"
    "            old), no enabled watch has reached its max_failures and\n"
    "            delivery is not held (e.g. for `kakaowatch auth`), else 1\n"
    "            with each reason on stderr (Docker's HEALTHCHECK)\n";

/* everything status reports, gathered before printing */
struct status_watch {
	const struct watch_config *wc;
	struct watch_state ws;
	int64_t next; /* next check, Unix ms; 0 = none planned */
	int64_t keys; /* item keys the watch remembers (seen set) */
	bool failing;
};

struct status_info {
	int64_t now;
	int64_t beat;
	bool alive;
	char *hold;          /* why the daemon holds sending, or NULL */
	int64_t quota_until; /* Kakao quota hold, Unix ms, or 0 */
	char *budget_day;    /* day the daily budget ran out, or NULL */
	int64_t pending, oldest;
	struct outbox_msg *head; /* the next message, or NULL */
	size_t nhead;
	struct dead_letter *dead; /* refused by Kakao (-2), kept */
	size_t ndead;
	char day[16];
	int64_t sent_today;
	struct status_watch *w;
	size_t nw, failing;
	struct token tok;
	bool have_token;
	struct kw_err terr;
};

/* fmt_rel: "12s ago", "in 3m", "2h ago", "5d ago"; "-" for 0 */
static void
fmt_rel(int64_t at, int64_t now, char *buf, size_t size)
{
	int64_t d = at - now, a;
	const char *unit = "s";

	if (at <= 0) {
		snprintf(buf, size, "-");
		return;
	}
	a = d < 0 ? -d : d;
	a /= 1000;
	if (a >= 2 * 86400) {
		a /= 86400;
		unit = "d";
	} else if (a >= 2 * 3600) {
		a /= 3600;
		unit = "h";
	} else if (a >= 120) {
		a /= 60;
		unit = "m";
	}
	if (d < 0)
		snprintf(buf, size, "%" PRId64 "%s ago", a, unit);
	else
		snprintf(buf, size, "in %" PRId64 "%s", a, unit);
}

/* fmt_abs: local "YYYY-MM-DD HH:MM:SS" */
static void
fmt_abs(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static json_t *
jtime(int64_t ms)
{
	return ms > 0 ? json_integer(ms / 1000) : json_null();
}

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static int
meta_int(struct store *st, const char *key, int64_t *out, struct kw_err *err)
{
	char *text = NULL;

	*out = 0;
	if (store_meta_get(st, key, &text, err) != 0)
		return -1;
	if (text != NULL && util_parse_int(text, 0, INT64_MAX, out) != 0)
		*out = 0;
	free(text);
	return 0;
}

static void
info_release(struct status_info *in)
{
	size_t i;

	for (i = 0; i < in->nw; i++)
		watch_state_release(&in->w[i].ws);
	free(in->w);
	free(in->hold);
	free(in->budget_day);
	outbox_msgs_free(in->head, in->nhead);
	dead_letters_free(in->dead, in->ndead);
	token_release(&in->tok);
}

static int
gather(struct store *st, const struct config *cfg, struct status_info *in,
    struct kw_err *err)
{
	struct status_watch *sw;
	size_t i;

	in->now = util_now_ms();
	if (store_heartbeat_get(st, &in->beat, err) != 0)
		return -1;
	in->alive = in->beat > 0 && in->now - in->beat < HEALTH_MAX_AGE_MS &&
		    in->beat - in->now < HEALTH_MAX_AGE_MS;
	if (store_meta_get(st, SCHED_META_HOLD, &in->hold, err) != 0 ||
	    meta_int(st, DELIVER_META_QUOTA_HOLD, &in->quota_until, err) != 0 ||
	    store_meta_get(st, DELIVER_META_BUDGET_DAY, &in->budget_day, err) !=
		0)
		return -1;
	if (!in->alive) {
		free(in->hold);
		in->hold = NULL;
	}
	/* a hold past the next 00:00 KST was set by a clock that was ahead:
	 * the daemon drops it (deliver_daily) */
	if (in->quota_until <= in->now ||
	    in->quota_until > deliver_next_kst_midnight_ms(in->now))
		in->quota_until = 0;
	if (store_outbox_stats(st, &in->pending, &in->oldest, err) != 0 ||
	    store_outbox_due(st, INT64_MAX, 1, &in->head, &in->nhead, err) !=
		0 ||
	    deliver_dead_list(st, &in->dead, &in->ndead, err) != 0)
		return -1;
	deliver_kst_day(in->now, in->day, sizeof(in->day));
	if (store_sent_count(st, in->day, &in->sent_today, err) != 0)
		return -1;
	in->w = calloc(cfg->nwatches, sizeof(*in->w));
	if (in->w == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < cfg->nwatches; i++) {
		sw = &in->w[in->nw];
		sw->wc = &cfg->watches[i];
		if (store_watch_state_get(st, sw->wc->name, &sw->ws, err) !=
			0 ||
		    store_seen_count(st, sw->wc->name, &sw->keys, err) != 0)
			return -1;
		in->nw++;
		/* only a running daemon has a next check */
		if (sw->wc->enabled && in->alive)
			sw->next = sw->ws.next_check_at;
		sw->failing =
		    sw->wc->enabled && sw->ws.failures >= sw->wc->max_failures;
		if (sw->failing)
			in->failing++;
	}
	in->have_token =
	    token_load(cfg->kakao.token_file, &in->tok, &in->terr) == 0;
	return 0;
}

static void
print_json(const struct config *cfg, const struct status_info *in)
{
	const struct outbox_msg *h = in->nhead > 0 ? &in->head[0] : NULL;
	json_t *root, *arr, *o;
	size_t i;

	root = json_object();
	arr = json_array();
	json_object_set_new(root, "daemon_alive", json_boolean(in->alive));
	json_object_set_new(root, "heartbeat", jtime(in->beat));
	json_object_set_new(root, "healthy",
	    json_boolean(in->alive && in->failing == 0 && in->hold == NULL));
	json_object_set_new(root, "send_hold", jstr(in->hold));
	json_object_set_new(root, "watches", arr);
	for (i = 0; i < in->nw; i++) {
		const struct status_watch *sw = &in->w[i];

		o = json_object();
		json_object_set_new(o, "name", json_string(sw->wc->name));
		json_object_set_new(o, "enabled",
		    json_boolean(sw->wc->enabled));
		json_object_set_new(o, "url", json_string(sw->wc->url));
		json_object_set_new(o, "last_check",
		    jtime(sw->ws.last_check_at));
		json_object_set_new(o, "last_success",
		    jtime(sw->ws.last_success_at));
		json_object_set_new(o, "next_check", jtime(sw->next));
		json_object_set_new(o, "last_change",
		    jtime(sw->ws.last_change_at));
		json_object_set_new(o, "items",
		    json_integer(sw->ws.item_count));
		json_object_set_new(o, "keys_remembered",
		    json_integer(sw->keys));
		json_object_set_new(o, "failures",
		    json_integer(sw->ws.failures));
		json_object_set_new(o, "max_failures",
		    json_integer(sw->wc->max_failures));
		json_object_set_new(o, "failing", json_boolean(sw->failing));
		json_object_set_new(o, "last_error",
		    jstr(sw->ws.failures > 0 ? sw->ws.last_error : NULL));
		json_array_append_new(arr, o);
	}
	o = json_object();
	json_object_set_new(o, "pending", json_integer(in->pending));
	json_object_set_new(o, "oldest", jtime(in->oldest));
	json_object_set_new(o, "next_attempt",
	    h != NULL ? jtime(h->next_attempt_at) : json_null());
	json_object_set_new(o, "attempts",
	    json_integer(h != NULL ? h->attempts : 0));
	json_object_set_new(o, "last_error",
	    jstr(h != NULL ? h->last_error : NULL));
	json_object_set_new(o, "quota_hold_until", jtime(in->quota_until));
	json_object_set_new(o, "quiet_hours", json_string(cfg->quiet_hours));
	json_object_set_new(o, "timezone", json_string(cfg->timezone));
	json_object_set_new(o, "quiet_until",
	    jtime(deliver_quiet_until(cfg, NULL, in->now)));
	json_object_set_new(o, "dead_letters",
	    json_integer((json_int_t)in->ndead));
	json_object_set_new(root, "outbox", o);
	o = json_object();
	json_object_set_new(o, "day", json_string(in->day));
	json_object_set_new(o, "sent", json_integer(in->sent_today));
	json_object_set_new(o, "max", json_integer(cfg->max_messages_per_day));
	json_object_set_new(root, "today_kst", o);
	o = json_object();
	json_object_set_new(o, "file", json_string(cfg->kakao.token_file));
	json_object_set_new(o, "present", json_boolean(in->have_token));
	json_object_set_new(o, "error",
	    in->have_token ? json_null() : json_string(in->terr.msg));
	json_object_set_new(o, "access_token_expires_at",
	    in->have_token ? jtime(in->tok.access_token_expires_at * 1000) :
			     json_null());
	json_object_set_new(o, "refresh_token_expires_at",
	    in->have_token ? jtime(in->tok.refresh_token_expires_at * 1000) :
			     json_null());
	json_object_set_new(root, "token", o);
	json_dumpf(root, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(root);
}

/*
 * print_quiet: "delivery: quiet hours until 07:00 (Asia/Seoul) ..." while
 * the top-level window is open, and a line per watch whose own window is
 * open and ends at another time; "quiet hours: 23:00-07:00 (...)" when
 * one is set but not open now.
 */
static void
print_quiet(const struct config *cfg, int64_t now)
{
	int64_t all = deliver_quiet_until(cfg, NULL, now), own;
	char hhmm[8];
	size_t i;

	if (all > 0) {
		quiet_local_hhmm(cfg->timezone, all, hhmm, sizeof(hhmm));
		printf("delivery: in quiet hours until %s (%s, %s): messages "
		       "wait and go out as one digest then\n",
		    hhmm, cfg->quiet_hours, cfg->timezone);
	} else if (strcmp(cfg->quiet_hours, QUIET_OFF) != 0) {
		printf("quiet hours: %s (%s)\n", cfg->quiet_hours,
		    cfg->timezone);
	}
	for (i = 0; i < cfg->nwatches; i++) {
		if (cfg->watches[i].quiet_hours == NULL)
			continue;
		own = deliver_quiet_until(cfg, cfg->watches[i].name, now);
		if (own == 0 || own == all)
			continue;
		quiet_local_hhmm(cfg->timezone, own, hhmm, sizeof(hhmm));
		printf("delivery: '%s' in quiet hours until %s (%s)\n",
		    cfg->watches[i].name, hhmm, cfg->watches[i].quiet_hours);
	}
}

/*
 * print_padded prints `s` and pads it with spaces to `cols` terminal
 * columns (a Hangul syllable takes two); a longer `s` is printed whole.
 */
static void
print_padded(const char *s, size_t cols)
{
	size_t w = utf8_display_width(s);

	printf("%s%*s", s, w < cols ? (int)(cols - w) : 0, "");
}

static void
print_table(const struct config *cfg, const struct status_info *in)
{
	const struct outbox_msg *h = in->nhead > 0 ? &in->head[0] : NULL;
	char a[40], b[40], c[40], d[40];
	size_t i;

	fmt_rel(in->beat, in->now, a, sizeof(a));
	if (in->beat > 0)
		printf("daemon: %s (heartbeat %s)\n",
		    in->alive ? "running" : "not running", a);
	else
		printf("daemon: not running\n");
	printf("%-20s %-12s %-12s %-12s %6s %6s %5s  %s\n", "WATCH",
	    "LAST CHECK", "NEXT CHECK", "LAST CHANGE", "ITEMS", "KEYS", "FAIL",
	    "LAST ERROR");
	for (i = 0; i < in->nw; i++) {
		const struct status_watch *sw = &in->w[i];

		fmt_rel(sw->ws.last_check_at, in->now, a, sizeof(a));
		if (!sw->wc->enabled)
			snprintf(b, sizeof(b), "disabled");
		else if (sw->next > 0 && sw->next <= in->now)
			snprintf(b, sizeof(b), "due");
		else
			fmt_rel(sw->next, in->now, b, sizeof(b));
		fmt_rel(sw->ws.last_change_at, in->now, c, sizeof(c));
		snprintf(d, sizeof(d), "%d%s", sw->ws.failures,
		    sw->failing ? "!" : "");
		print_padded(sw->wc->name, 20);
		printf(" %-12s %-12s %-12s %6" PRId64 " %6" PRId64 " %5s  %s\n",
		    a, b, c, sw->ws.item_count, sw->keys, d,
		    sw->ws.failures > 0 && sw->ws.last_error ?
			sw->ws.last_error :
			"");
	}
	if (in->pending == 0) {
		printf("outbox: empty\n");
	} else {
		fmt_rel(in->oldest, in->now, a, sizeof(a));
		printf("outbox: %" PRId64 " message%s waiting, oldest queued "
		       "%s",
		    in->pending, in->pending == 1 ? "" : "s", a);
		if (h != NULL && h->next_attempt_at > in->now) {
			fmt_rel(h->next_attempt_at, in->now, b, sizeof(b));
			printf(", next attempt %s", b);
		}
		if (h != NULL && h->last_error != NULL)
			printf(" (%s)", h->last_error);
		printf("\n");
	}
	if (in->ndead > 0)
		printf("dead letters: %zu message%s Kakao refused as invalid "
		       "(-2); see `kakaowatch outbox list`\n",
		    in->ndead, in->ndead == 1 ? "" : "s");
	if (in->hold != NULL)
		printf("sending: held (%s): %s\n", in->hold,
		    strcmp(in->hold, "reauth") == 0 ||
			    strcmp(in->hold, "consent") == 0 ?
			"run `kakaowatch auth`; sending resumes by itself" :
			"see the daemon's log");
	if (in->quota_until > 0) {
		fmt_abs(in->quota_until, a, sizeof(a));
		printf("sending: held until %s (Kakao's daily quota is used "
		       "up)\n",
		    a);
	}
	print_quiet(cfg, in->now);
	printf("sent today: %" PRId64 " of %d (max_messages_per_day, %s "
	       "Korea time)%s\n",
	    in->sent_today, cfg->max_messages_per_day, in->day,
	    in->budget_day != NULL && strcmp(in->budget_day, in->day) == 0 ?
		"; the rest is held for a digest after 00:00" :
		"");
	if (in->have_token) {
		fmt_abs(in->tok.access_token_expires_at * 1000, a, sizeof(a));
		fmt_rel(in->tok.access_token_expires_at * 1000, in->now, b,
		    sizeof(b));
		fmt_abs(in->tok.refresh_token_expires_at * 1000, c, sizeof(c));
		fmt_rel(in->tok.refresh_token_expires_at * 1000, in->now, d,
		    sizeof(d));
		printf("token: access token expires %s (%s), refresh token "
		       "%s (%s)\n",
		    a, b, c, d);
	} else {
		printf("token: none (%s); run `kakaowatch auth` to connect "
		       "KakaoTalk\n",
		    in->terr.msg);
	}
}

int
cmd_status(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "health", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_info in;
	struct config *cfg;
	struct store *st = NULL;
	struct kw_err err = { 0 };
	bool as_json = false, health = false;
	int c, status = KW_EXIT_FAILURE;

	memset(&in, 0, sizeof(in));
	while ((c = cmd_getopt(argc, argv, "", longopts, status_usage, ctx)) !=
	       -1) {
		if (c == 'j')
			as_json = true;
		else if (c == 'H')
			health = true;
		else
			return KW_EXIT_USAGE;
	}
	if (optind != argc || (as_json && health)) {
		fputs(status_usage, stderr);
		return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		/* Docker reserves exit 2 of a health check: say unhealthy */
		return health ? KW_EXIT_FAILURE : KW_EXIT_USAGE;
	st = store_open_readonly(cfg->state_dir, &err);
	if (st == NULL || gather(st, cfg, &in, &err) != 0) {
		fprintf(stderr, "kakaowatch: %s\n", err.msg);
		goto out;
	}
	if (health) {
		if (!in.alive)
			fprintf(stderr, "kakaowatch: the daemon is not "
					"running\n");
		if (in.failing > 0)
			fprintf(stderr,
			    "kakaowatch: %zu watch%s reached "
			    "max_failures\n",
			    in.failing, in.failing == 1 ? "" : "es");
		if (in.hold != NULL)
			fprintf(stderr, "kakaowatch: delivery held: %s\n",
			    in.hold);
		status = in.alive && in.failing == 0 && in.hold == NULL ?
			     KW_EXIT_OK :
			     KW_EXIT_FAILURE;
		goto out;
	}
	if (as_json)
		print_json(cfg, &in);
	else
		print_table(cfg, &in);
	status = KW_EXIT_OK;
out:
	info_release(&in);
	store_close(st);
	config_free(cfg);
	return status;
}
