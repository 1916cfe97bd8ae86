/*
 * deliver: quiet hours in front of every send (deliver.h,
 * deliver_quiet_gate; docs/design.md §2.8).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/deliver.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"
#include "kakaowatch/quiet.h"

/* the start of the last_error of a message quiet hours hold */
#define QUIET_WHY "held: quiet hours"

/* what a queued message's quiet hours are */
struct qrow {
	const struct watch_config *wc; /* NULL: own message, notice */
	const char *window;            /* "HH:MM-HH:MM" or "off" */
	bool held;                     /* its window is open now */
	bool foldable;                 /* made inside a window now over */
	int64_t until;                 /* held: the window's end */
};

/* window_of: the quiet hours of `watch`'s messages; false when none */
static bool
window_of(const struct config *cfg, const char *watch,
    const struct watch_config **wc, const char **text, struct quiet_window *w)
{
	char msg[200];

	*wc = watch != NULL ? config_find_watch(cfg, watch) : NULL;
	*text = config_quiet_hours(cfg, *wc);
	return quiet_parse(*text, w, msg, sizeof(msg)) == 0;
}

int64_t
deliver_quiet_until(const struct config *cfg, const char *watch, int64_t now_ms)
{
	const struct watch_config *wc;
	struct quiet_window w;
	const char *text;
	int64_t end;

	if (!window_of(cfg, watch, &wc, &text, &w))
		return 0;
	end = quiet_end(&w, cfg->timezone, now_ms);
	return end > now_ms ? end : 0;
}

int64_t
deliver_quiet_latest(const struct config *cfg, int64_t now_ms)
{
	int64_t latest = deliver_quiet_until(cfg, NULL, now_ms), e;
	size_t i;

	quiet_zone_enter(cfg->timezone);
	for (i = 0; i < cfg->nwatches; i++) {
		e = deliver_quiet_until(cfg, cfg->watches[i].name, now_ms);
		if (e > latest)
			latest = e;
	}
	quiet_zone_leave();
	return latest;
}

/* held_by_us: waiting later than now for quiet hours (last_error) */
static bool
held_by_us(const struct outbox_msg *m, int64_t now_ms)
{
	return m->next_attempt_at > now_ms && m->last_error != NULL &&
	       strncmp(m->last_error, QUIET_WHY, strlen(QUIET_WHY)) == 0;
}

/* any_quiet: are quiet hours set anywhere (top level or a watch)? */
static bool
any_quiet(const struct config *cfg)
{
	size_t i;

	if (cfg->quiet_hours != NULL &&
	    strcmp(cfg->quiet_hours, QUIET_OFF) != 0)
		return true;
	for (i = 0; i < cfg->nwatches; i++)
		if (cfg->watches[i].quiet_hours != NULL &&
		    strcmp(cfg->watches[i].quiet_hours, QUIET_OFF) != 0)
			return true;
	return false;
}

/* fold_run makes messages v[from..to) (rows r, 2 or more) one digest */
static int
fold_run(struct store *st, const struct config *cfg, const struct outbox_msg *v,
    const struct qrow *r, const size_t *idx, size_t n, struct kw_err *err)
{
	struct message_digest_part *parts = calloc(n, sizeof(*parts));
	int64_t *drop = calloc(n, sizeof(*drop));
	const char *label = r[idx[0]].window;
	char *tmpl = NULL;
	size_t i;
	int result = -1;

	(void)cfg;
	if (parts == NULL || drop == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct outbox_msg *m = &v[idx[i]];

		parts[i].watch = m->watch;
		parts[i].page_url = r[idx[i]].wc ? r[idx[i]].wc->url : NULL;
		parts[i].own = r[idx[i]].wc == NULL;
		parts[i].template_json = m->template_json;
		if (strcmp(r[idx[i]].window, label) != 0)
			label = NULL;
		if (i > 0)
			drop[i - 1] = m->id;
	}
	tmpl = message_build_digest(label, parts, n, err);
	if (tmpl == NULL)
		goto out;
	/* the digest takes the place of the first: nothing overtakes it */
	if (store_outbox_fold(st, v[idx[0]].id, drop, n - 1, DELIVER_DIGEST,
		tmpl, err) != 0)
		goto out;
	log_info("outbox: %zu messages made in quiet hours%s%s folded into "
		 "one digest",
	    n, label ? " " : "", label ? label : "");
	result = 0;
out:
	free(tmpl);
	free(drop);
	free(parts);
	return result;
}

int
deliver_quiet_gate(struct store *st, const struct config *cfg, int64_t now_ms,
    struct deliver_quiet *q, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	struct qrow *r = NULL;
	struct quiet_window w;
	int64_t *ids = NULL, *until = NULL, *rel = NULL;
	size_t n = 0, i, nh = 0, nrel = 0, fresh = 0, *run = NULL, nrun = 0;
	char hhmm[8], why[160];
	int result = -1;

	memset(q, 0, sizeof(*q));
	/* none set: nothing to read the outbox for, but what they held
	 * before they were turned off goes now */
	if (!any_quiet(cfg))
		return store_outbox_release_why(st, QUIET_WHY, now_ms, err);
	if (store_outbox_due(st, INT64_MAX, 0, &v, &n, err) != 0)
		return -1;
	if (n == 0)
		return 0;
	r = calloc(n, sizeof(*r));
	ids = calloc(n, sizeof(*ids));
	until = calloc(n, sizeof(*until));
	run = calloc(n, sizeof(*run));
	rel = calloc(n, sizeof(*rel));
	if (r == NULL || ids == NULL || until == NULL || run == NULL ||
	    rel == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	quiet_zone_enter(cfg->timezone);
	for (i = 0; i < n; i++) {
		if (!window_of(cfg, v[i].watch, &r[i].wc, &r[i].window, &w)) {
			/* held by quiet hours since turned off: due now */
			if (held_by_us(&v[i], now_ms))
				rel[nrel++] = v[i].id;
			continue;
		}
		r[i].until = quiet_end(&w, cfg->timezone, now_ms);
		r[i].held = r[i].until > now_ms;
		r[i].foldable = !r[i].held &&
				(v[i].watch == NULL ||
				    strcmp(v[i].watch, DELIVER_DIGEST) != 0) &&
				quiet_in(&w, cfg->timezone, v[i].created_at);
		if (!r[i].held && held_by_us(&v[i], now_ms))
			rel[nrel++] = v[i].id;
		if (r[i].held) {
			ids[nh] = v[i].id;
			until[nh++] = r[i].until;
			fresh += v[i].next_attempt_at < r[i].until;
			if (r[i].until > q->until_ms)
				q->until_ms = r[i].until;
		}
	}
	q->held = nh;
	if (nh > 0) {
		quiet_local_hhmm(cfg->timezone, q->until_ms, hhmm,
		    sizeof(hhmm));
		snprintf(why, sizeof(why),
		    QUIET_WHY " until %s (%s); sent as one digest then", hhmm,
		    cfg->timezone);
	}
	quiet_zone_leave();
	if (store_outbox_release(st, rel, nrel, now_ms, err) != 0)
		goto out;
	if (nh > 0) {
		if (store_outbox_hold(st, ids, until, nh, why, err) != 0)
			goto out;
		if (fresh > 0)
			log_info("outbox: %zu message%s held for quiet hours "
				 "until %s (%s)",
			    fresh, fresh == 1 ? "" : "s", hhmm, cfg->timezone);
	}
	/*
	 * Runs of messages made inside a window that is over, consecutive
	 * among those that may go now (a message still held goes later
	 * anyway), become one digest each: never reordered, never dropped.
	 */
	for (i = 0; i <= n; i++) {
		if (i < n && r[i].held)
			continue;
		if (i < n && r[i].foldable) {
			run[nrun++] = i;
			continue;
		}
		if (nrun >= 2) {
			if (fold_run(st, cfg, v, r, run, nrun, err) != 0)
				goto out;
			q->folded += nrun;
		}
		nrun = 0;
	}
	result = 0;
out:
	free(rel);
	free(run);
	free(until);
	free(ids);
	free(r);
	outbox_msgs_free(v, n);
	return result;
}
