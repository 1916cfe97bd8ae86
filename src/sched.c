/* sched: the daemon loop (see sched.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kakaowatch/check.h"
#include "kakaowatch/config.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/log.h"
#include "kakaowatch/render.h"
#include "kakaowatch/sched.h"
#include "kakaowatch/store.h"
#include "kakaowatch/wake.h"

#define TRIM_MS (6LL * 3600 * 1000)
#define UPKEEP_FIRST_MS (2 * 1000)
#define UPKEEP_MS (12LL * 3600 * 1000)
#define UPKEEP_RETRY_MS (3600LL * 1000)
#define RELOAD_SETTLE_MS 300
/* a writer keeping the config open (or changing it) longer than this
 * does not hold the reload back any more */
#define RELOAD_MAX_WAIT_MS (10 * 1000)
#define STORE_RETRY_MS (5 * 1000)
/* while held without inotify on the token file: stat it this often */
#define HOLD_POLL_MS (60 * 1000)
/* holds that may pass by themselves (config, fatal) are retried after */
#define HOLD_RETRY_MS (3600LL * 1000)
#define MAX_WAIT_MS (60 * 1000)
/* the longest a message may wait: a quota hold (to 00:00 KST) plus a
 * backoff; a later deadline was stored by a clock that was ahead */
#define SCHED_OUTBOX_MAX_AHEAD_MS (26LL * 3600 * 1000)
/* messages per send batch: the loop turns between batches */
#define DELIVER_BATCH 10
/* due messages wait this long for checks in flight, then go anyway */
/* the token upkeep waits this long while a send is in flight */
#define UPKEEP_BUSY_MS (60 * 1000)
/* a clean stop waits this long for the Kakao request in flight (docker
 * stop allows 10 s), so the message is not sent again after the restart */
#define STOP_WAIT_MS 5000
/* a wall clock that fell this much behind the monotonic one stepped back */
#define CLOCK_STEP_MS 2000

static volatile sig_atomic_t sig_stop, sig_reload, sig_status;

/* one loaded configuration with its compiled XPaths */
struct sched_gen {
	struct config *cfg;
	struct extract_xpath_set *xpaths; /* each distinct XPath once */
	const struct extract_xpath **xp;  /* per cfg->watches[i], in xpaths;
	                                    NULL: disabled or none */
	size_t checks;          /* checks in flight started under it */
	uint64_t hash;          /* of the file's bytes */
	struct sched_gen *next; /* in sched.retired */
};

struct sched_watch {
	char *name; /* owned copy: survives reloads */
	struct sched *s;
	const struct watch_config *wc;  /* in s->gen */
	const struct extract_xpath *xp; /* in s->gen */
	struct sched_gen *flight;       /* the check in flight runs on it */
	int64_t next_at;                /* monotonic ms */
	int failures;
	bool removed; /* gone from the config; freed when its check ends */
};

struct sched {
	const char *config_path;
	struct sched_gen *gen;     /* in force */
	struct sched_gen *retired; /* older ones with checks in flight */
	struct store *store;
	struct http *http;
	/* the browsers of render: browser checks, at most browser_max */
	struct render_pool *render;
	bool http_rebuild; /* connection limits changed: new engine when idle */
	/* KakaoTalk sending on `http`, one message in flight */
	struct deliver_courier *courier;
	bool courier_upkeep; /* the courier's step is the token upkeep */
	struct sched_watch **w;
	size_t nw;
	size_t in_flight;
	bool stopping;
	int64_t reload_at;    /* monotonic ms, 0 = none */
	int64_t reload_first; /* when the pending edit was first seen */
	uint64_t settle_hash; /* the file's bytes at the last look */
	bool settle_hash_set;
	uint64_t bad_hash; /* the last invalid file, not logged twice */
	bool bad_hash_set;
	int64_t outbox_at; /* monotonic ms, 0 = nothing to send */
	int64_t heartbeat_at, trim_at, upkeep_at;
	/* sending held until the token file changes (or a reload) */
	bool held;
	enum kakao_status held_status;
	struct stat held_token; /* the token file as it was when held */
	bool held_token_exists;
	int64_t hold_retry_at;    /* 0 = only by a new token file */
	int64_t hold_poll_at;     /* 0 = inotify tells us */
	int64_t wall_offset;      /* wall - monotonic at the last turn */
	struct wake *wake;        /* signals and file changes */
	int cfg_watch, tok_watch; /* wake ids, -1 = none */
	size_t checks;
	size_t abandoned; /* checks aborted by the stop signal */
};

int64_t
sched_next_check_ms(int64_t now_ms, int64_t interval_ms, double jitter_pct,
    double r)
{
	double spread = (double)interval_ms * jitter_pct / 100.0;
	int64_t next;

	if (!(r >= 0))
		r = 0;
	if (r >= 1)
		r = 0.999999;
	next = now_ms + interval_ms + (int64_t)(spread * (2.0 * r - 1.0));
	if (next < now_ms + 1000)
		next = now_ms + 1000;
	return next;
}

int64_t
sched_first_check_ms(int64_t now_ms, int64_t now_wall_ms,
    int64_t last_check_wall_ms, int64_t next_check_wall_ms, int64_t interval_ms,
    size_t nnew, double r)
{
	int64_t ahead, spread;

	if (!(r >= 0))
		r = 0;
	if (r >= 1)
		r = 0.999999;
	if (last_check_wall_ms <= 0) {
		spread =
		    (int64_t)(nnew > 0 ? nnew : 1) * SCHED_NEW_WATCH_STEP_MS;
		if (nnew >= SCHED_NEW_WATCH_MS / SCHED_NEW_WATCH_STEP_MS)
			spread = SCHED_NEW_WATCH_MS;
		return now_ms + (int64_t)((double)spread * r);
	}
	if (next_check_wall_ms > 0)
		ahead = next_check_wall_ms - now_wall_ms;
	else
		ahead = last_check_wall_ms + interval_ms - now_wall_ms;
	if (ahead > 0)
		return now_ms + (ahead < interval_ms ? ahead : interval_ms);
	spread = interval_ms < SCHED_SPREAD_MAX_MS ? interval_ms :
						     SCHED_SPREAD_MAX_MS;
	return now_ms + (int64_t)((double)spread * r);
}

/* ---- signals and files ---- */

static int
signals_setup(struct sched *s, struct kw_err *err)
{
	sig_stop = sig_reload = sig_status = 0;
	s->wake = wake_new(err);
	if (s->wake == NULL)
		return -1;
	if (wake_catch(s->wake, SIGTERM, &sig_stop, err) != 0 ||
	    wake_catch(s->wake, SIGINT, &sig_stop, err) != 0 ||
	    wake_catch(s->wake, SIGHUP, &sig_reload, err) != 0 ||
	    wake_catch(s->wake, SIGUSR1, &sig_status, err) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	http_set_abort_flag(&sig_stop);
	deliver_set_abort_flag(&sig_stop);
	return 0;
}

static void
signals_teardown(struct sched *s)
{
	http_set_abort_flag(NULL);
	deliver_set_abort_flag(NULL);
	wake_free(s->wake);
	s->wake = NULL;
}

/*
 * The config's directory: editors replace the file by rename, and
 * Kubernetes swaps a "..data" symlink; every step of an edit counts (the
 * reload waits for RELOAD_SETTLE_MS of quiet).
 */
static void
watch_config(struct sched *s)
{
	struct kw_err err = { 0 };

	s->cfg_watch =
	    wake_watch(s->wake, s->config_path, WAKE_EDITS | WAKE_FOLLOW, &err);
	if (s->cfg_watch < 0)
		log_warnx("reload: %s (SIGHUP still reloads)", err.msg);
}

static void
token_watch_stop(struct sched *s)
{
	wake_unwatch(s->wake, s->tok_watch);
	s->tok_watch = -1;
}

/* the token file's directory, while sending is held */
static void
token_watch_start(struct sched *s)
{
	struct kw_err err = { 0 };

	token_watch_stop(s);
	s->tok_watch =
	    wake_watch(s->wake, s->gen->cfg->kakao.token_file, 0, &err);
}

/* ---- configurations ---- */

/* FNV-1a, 64 bit: tells an edited file from a touched one */
static uint64_t
hash_bytes(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static bool
file_hash(const char *path, uint64_t *h)
{
	struct kw_err err = { 0 };
	size_t len = 0;
	char *data;

	data = util_read_file(path, CONFIG_FILE_MAX_BYTES, &len, &err);
	if (data == NULL)
		return false;
	*h = hash_bytes(data, len);
	free(data);
	return true;
}

static void
gen_free(struct sched_gen *g)
{
	if (g == NULL)
		return;
	free(g->xp);
	extract_xpath_set_free(g->xpaths);
	config_free(g->cfg);
	free(g);
}

/*
 * gen_load loads the config and compiles the XPaths of its enabled
 * watches, each distinct one once (the check during the load compiles into
 * the generation's set, so nothing is compiled twice). On failure every error is printed (initial: on stderr as
 * `check` does; else logged) and NULL is returned.
 */
static struct sched_gen *
gen_load(const char *path, bool initial)
{
	struct config_errors errs = { 0 };
	struct kw_err err = { 0 };
	struct sched_gen *g;
	size_t i;
	int r;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		log_errorx("out of memory");
		return NULL;
	}
	if (!file_hash(path, &g->hash))
		g->hash = 0;
	g->xpaths = extract_xpath_set_new();
	if (g->xpaths == NULL) {
		log_errorx("out of memory");
		free(g);
		return NULL;
	}
	extract_xpath_set_checking(g->xpaths);
	r = config_load(path, extract_xpath_set_check, &g->cfg, &errs);
	extract_xpath_set_checking(NULL);
	if (r != 0) {
		for (i = 0; i < errs.n; i++) {
			if (initial)
				fprintf(stderr, "%s\n", errs.v[i]);
			else
				log_errorx("reload: %s", errs.v[i]);
		}
		config_errors_release(&errs);
		extract_xpath_set_free(g->xpaths);
		free(g);
		return NULL;
	}
	if (initial &&
	    extract_set_default_encoding(g->cfg->default_encoding, &err) != 0) {
		fprintf(stderr, "%s: default_encoding: %s\n", path, err.msg);
		goto fail;
	}
	g->xp = calloc(g->cfg->nwatches, sizeof(*g->xp));
	if (g->xp == NULL) {
		log_errorx("out of memory");
		goto fail;
	}
	for (i = 0; i < g->cfg->nwatches; i++) {
		if (!g->cfg->watches[i].enabled ||
		    g->cfg->watches[i].xpath == NULL)
			continue; /* disabled, or a feed / jq watch */
		g->xp[i] =
		    extract_xpath_set_get(g->xpaths, g->cfg->watches[i].xpath,
			(const char *const *)g->cfg->watches[i].namespaces,
			g->cfg->watches[i].nnamespaces / 2, &err);
		if (g->xp[i] == NULL) {
			log_errorx("%swatch '%s': %s",
			    initial ? "" : "reload: ", g->cfg->watches[i].name,
			    err.msg);
			goto fail;
		}
	}
	return g;
fail:
	gen_free(g);
	return NULL;
}

/* gen_retire drops a configuration that is no longer in force: freed now,
 * or when its last check in flight ends (reap) */
static void
gen_retire(struct sched *s, struct sched_gen *g)
{
	if (g->checks == 0) {
		gen_free(g);
		return;
	}
	g->next = s->retired;
	s->retired = g;
}

/* ---- watches ---- */

static void
watch_free(struct sched_watch *w)
{
	if (w == NULL)
		return;
	free(w->name);
	free(w);
}

/* next_wall converts a monotonic deadline to Unix ms for the store */
static int64_t
next_wall(int64_t next_at, int64_t now, int64_t wall)
{
	return wall + (next_at - now);
}

static void
store_next(struct sched *s, const struct sched_watch *w, int64_t now,
    int64_t wall)
{
	struct kw_err err = { 0 };

	if (store_watch_set_next_check(s->store, w->name,
		next_wall(w->next_at, now, wall), &err) != 0)
		log_warnx("store: %s", err.msg);
}

/* watch_new plans a watch that is not scheduled yet from its stored state */
static struct sched_watch *
watch_new(struct sched *s, const struct watch_config *wc,
    const struct extract_xpath *xp, int64_t now, int64_t wall, size_t nnew,
    struct kw_err *err)
{
	struct sched_watch *w;
	struct watch_state ws;
	int64_t retry;

	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->name = strdup(wc->name)) == NULL) {
		free(w);
		kw_err_set(err, "out of memory");
		return NULL;
	}
	w->s = s;
	w->wc = wc;
	w->xp = xp;
	if (store_watch_state_get(s->store, wc->name, &ws, err) != 0) {
		watch_free(w);
		return NULL;
	}
	w->failures = ws.failures;
	w->next_at = sched_first_check_ms(now, wall, ws.last_check_at,
	    ws.next_check_at, wc->interval_ms, nnew, util_random_unit());
	retry = check_retry_after_until(wc, &ws, wall);
	if (retry > 0 && w->next_at < now + (retry - wall))
		w->next_at = now + (retry - wall);
	watch_state_release(&ws);
	return w;
}

/*
 * count_new counts the watches of `cfg` a reload adds (match[i].old is
 * SCHED_NONE; all of them at start-up: match NULL) that were never
 * checked: their first checks are spread by their number
 */
static int
count_new(struct sched *s, const struct config *cfg,
    const struct sched_match *match, size_t *nnew, struct kw_err *err)
{
	struct watch_state ws;
	size_t i;

	*nnew = 0;
	for (i = 0; i < cfg->nwatches; i++) {
		if (!cfg->watches[i].enabled ||
		    (match != NULL && match[i].old != SCHED_NONE))
			continue;
		if (store_watch_state_get(s->store, cfg->watches[i].name, &ws,
			err) != 0)
			return -1;
		if (ws.last_check_at <= 0)
			(*nnew)++;
		watch_state_release(&ws);
	}
	return 0;
}

/* ---- sending hold ---- */

static void
meta_hold(struct sched *s, const char *value)
{
	struct kw_err err = { 0 };

	if (store_meta_set(s->store, SCHED_META_HOLD, value, &err) != 0)
		log_warnx("store: %s", err.msg);
}

static bool
token_stat(const struct sched *s, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	return stat(s->gen->cfg->kakao.token_file, st) == 0;
}

static bool
token_file_changed(const struct sched *s)
{
	struct stat st;

	if (!token_stat(s, &st))
		return false;
	if (!s->held_token_exists)
		return true;
	return st.st_ino != s->held_token.st_ino ||
	       st.st_dev != s->held_token.st_dev ||
	       st.st_size != s->held_token.st_size ||
	       st.st_mode != s->held_token.st_mode ||
	       st.st_mtim.tv_sec != s->held_token.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != s->held_token.st_mtim.tv_nsec ||
	       st.st_ctim.tv_sec != s->held_token.st_ctim.tv_sec ||
	       st.st_ctim.tv_nsec != s->held_token.st_ctim.tv_nsec;
}

static void
hold(struct sched *s, enum kakao_status why)
{
	int64_t now = util_mono_ms();

	s->held = true;
	s->held_status = why;
	s->held_token_exists = token_stat(s, &s->held_token);
	s->hold_retry_at = why == KAKAO_REAUTH || why == KAKAO_CONSENT ?
			       0 :
			       now + HOLD_RETRY_MS;
	token_watch_start(s);
	s->hold_poll_at = s->tok_watch < 0 ? now + HOLD_POLL_MS : 0;
	s->outbox_at = 0;
	meta_hold(s, kakao_status_name(why));
	/* deliver already wrote the one error line saying what to do */
}

static void
unhold(struct sched *s, const char *why)
{
	if (!s->held)
		return;
	s->held = false;
	s->hold_retry_at = s->hold_poll_at = 0;
	token_watch_stop(s);
	meta_hold(s, NULL);
	log_info("outbox: %s, sending again", why);
	s->outbox_at = util_mono_ms();
}

/* ---- reload ---- */

/* kakao_settings_changed: did an edit touch what talks to Kakao */
static bool
kakao_settings_changed(const struct kakao_config *a,
    const struct kakao_config *b)
{
	return !util_str_eq(a->rest_api_key, b->rest_api_key) ||
	       !util_str_eq(a->client_secret, b->client_secret) ||
	       !util_str_eq(a->redirect_uri, b->redirect_uri) ||
	       !util_str_eq(a->token_file, b->token_file) ||
	       !util_str_eq(a->auth_base_url, b->auth_base_url) ||
	       !util_str_eq(a->api_base_url, b->api_base_url) ||
	       !util_str_eq(a->default_link, b->default_link) ||
	       a->sink != b->sink;
}

static void
reload(struct sched *s, bool forced)
{
	struct sched_gen *g, *old = s->gen;
	struct sched_watch **v = NULL, *w;
	const struct watch_config **oldwc = NULL;
	struct sched_match *match = NULL;
	struct kw_err err = { 0 };
	int64_t now = util_mono_ms(), wall = util_now_ms();
	uint64_t h = 0;
	bool have_hash, *kept = NULL, *okept = NULL, kakao_changed;
	size_t i, j, n = 0, k, nnew = 0, nold = 0, *oidx = NULL;

	s->reload_at = 0;
	have_hash = file_hash(s->config_path, &h);
	/* SIGHUP too: an unchanged file is not loaded again (and releases
	 * no hold: 30 SIGHUPs must not mean 30 token requests); a touch
	 * or a save of the same bytes is not a reload */
	if (have_hash && h == old->hash) {
		if (forced)
			log_info("reload: '%s' is unchanged; nothing to do",
			    s->config_path);
		else
			log_debug("reload: '%s' is unchanged; nothing to do",
			    s->config_path);
		s->settle_hash_set = false;
		return;
	}
	if (have_hash && s->bad_hash_set && h == s->bad_hash) {
		if (forced)
			log_info("reload: '%s' still has the errors logged "
				 "before; the previous configuration stays in "
				 "force",
			    s->config_path);
		s->settle_hash_set = false;
		return;
	}
	if (!forced && now - s->reload_first < RELOAD_MAX_WAIT_MS) {
		/* a writer still has it open, or it changed since the last
		 * look: a half-written file is not loaded */
		if (wake_writing(s->wake, s->cfg_watch) || !have_hash ||
		    !s->settle_hash_set || s->settle_hash != h) {
			s->settle_hash = h;
			s->settle_hash_set = have_hash;
			s->reload_at = now + RELOAD_SETTLE_MS;
			return;
		}
	}
	s->settle_hash_set = false;
	g = gen_load(s->config_path, false);
	if (g == NULL) {
		log_errorx("reload: '%s' has errors; the previous "
			   "configuration stays in force",
		    s->config_path);
		s->bad_hash = h;
		s->bad_hash_set = have_hash;
		return;
	}
	s->bad_hash_set = false;
	kakao_changed =
	    kakao_settings_changed(&old->cfg->kakao, &g->cfg->kakao);
	v = calloc(g->cfg->nwatches + s->nw, sizeof(*v));
	kept = calloc(s->nw ? s->nw : 1, sizeof(*kept));
	okept = calloc(s->nw ? s->nw : 1, sizeof(*okept));
	oidx = calloc(s->nw ? s->nw : 1, sizeof(*oidx));
	oldwc = calloc(s->nw ? s->nw : 1, sizeof(*oldwc));
	match = calloc(g->cfg->nwatches, sizeof(*match));
	if (v == NULL || kept == NULL || okept == NULL || oidx == NULL ||
	    oldwc == NULL || match == NULL)
		goto oom;
	/* the scheduled watches (not the removed ones still in flight) */
	for (j = 0; j < s->nw; j++) {
		if (s->w[j]->removed)
			continue;
		oidx[nold] = j;
		oldwc[nold++] = s->w[j]->wc;
	}
	if (sched_reconcile(oldwc, nold, g->cfg->watches, g->cfg->nwatches,
		match, okept) != 0)
		goto oom;
	for (j = 0; j < nold; j++)
		kept[oidx[j]] = okept[j];
	if (count_new(s, g->cfg, match, &nnew, &err) != 0)
		goto fail;
	/* first everything that can fail: the watches that are new */
	for (i = 0; i < g->cfg->nwatches; i++) {
		const struct watch_config *wc = &g->cfg->watches[i];

		if (!wc->enabled)
			continue;
		if (match[i].old != SCHED_NONE) {
			w = s->w[oidx[match[i].old]];
		} else {
			w = watch_new(s, wc, g->xp[i], now, wall, nnew, &err);
			if (w == NULL)
				goto fail;
		}
		v[n++] = w;
	}
	/* then the swap, which cannot fail */
	if (strcmp(g->cfg->state_dir, old->cfg->state_dir) != 0)
		log_warnx("reload: state_dir changed to '%s'; kakaowatch keeps "
			  "using '%s' until it is restarted",
		    g->cfg->state_dir, old->cfg->state_dir);
	for (i = 0, k = 0; i < g->cfg->nwatches; i++) {
		const struct watch_config *wc = &g->cfg->watches[i];

		if (!wc->enabled)
			continue;
		w = v[k++];
		if (match[i].old == SCHED_NONE) {
			log_info("reload: watch '%s' added", wc->name);
			store_next(s, w, now, wall);
			continue;
		}
		if (match[i].changed)
			log_info("reload: watch '%s' changed", wc->name);
		w->wc = wc;
		w->xp = g->xp[i];
		/* a shorter interval applies now, not after the old one */
		if (w->flight == NULL && w->next_at > now + wc->interval_ms) {
			w->next_at = now + wc->interval_ms;
			store_next(s, w, now, wall);
		}
	}
	for (j = 0; j < s->nw; j++) {
		w = s->w[j];
		if (kept[j])
			continue;
		if (!w->removed) {
			log_info("reload: watch '%s' removed", w->name);
			w->removed = true;
		}
		/* still in flight: freed by reap when its check ended */
		if (w->flight != NULL)
			v[n++] = w;
		else
			watch_free(w);
	}
	free(s->w);
	s->w = v;
	s->nw = n;
	if (g->cfg->max_connections != old->cfg->max_connections ||
	    g->cfg->max_connections_per_host !=
		old->cfg->max_connections_per_host)
		s->http_rebuild = true;
	s->gen = g;
	render_pool_set_max(s->render, g->cfg->browser_max);
	gen_retire(s, old);
	/* gen_load checked it */
	(void)extract_set_default_encoding(g->cfg->default_encoding, NULL);
	for (i = 0, n = 0; i < s->nw; i++)
		n += !s->w[i]->removed;
	log_info("reload: configuration from '%s' in force, %zu watches",
	    s->config_path, n);
	/* watches renamed or removed long ago go now, not in hours */
	kw_err_clear(&err);
	if (check_store_upkeep(s->store, s->gen->cfg, wall, &err) != 0)
		log_warnx("store: %s", err.msg);
	/* new kakao: settings may fix what held sending; anything else
	 * leaves a hold alone (it ends by a new token file or its timer) */
	if (kakao_changed)
		unhold(s, "the kakao: settings changed");
	if (!s->held)
		s->outbox_at = now;
	goto out;
oom:
	kw_err_set(&err, "out of memory");
fail:
	log_errorx("reload: %s; the previous configuration stays in force",
	    err.msg);
	/* the new watches made so far (the kept ones are still in s->w) */
	for (i = 0, k = 0; i < g->cfg->nwatches && k < n; i++) {
		if (!g->cfg->watches[i].enabled)
			continue;
		if (match[i].old == SCHED_NONE)
			watch_free(v[k]);
		k++;
	}
	free(v);
	gen_free(g);
out:
	free(kept);
	free(okept);
	free(oidx);
	free(oldwc);
	free(match);
}

/* reap frees removed watches and old configurations nothing uses */
static void
reap(struct sched *s)
{
	struct sched_gen **pg, *g;
	size_t i, n = 0;

	for (i = 0; i < s->nw; i++) {
		if (s->w[i]->removed && s->w[i]->flight == NULL)
			watch_free(s->w[i]);
		else
			s->w[n++] = s->w[i];
	}
	s->nw = n;
	for (pg = &s->retired; *pg != NULL;) {
		g = *pg;
		if (g->checks == 0) {
			*pg = g->next;
			gen_free(g);
		} else {
			pg = &g->next;
		}
	}
}

static void
rebuild_http(struct sched *s)
{
	struct kw_err err = { 0 };
	struct http *h;

	s->http_rebuild = false;
	h = http_new(s->gen->cfg->max_connections,
	    s->gen->cfg->max_connections_per_host, &err);
	if (h == NULL) {
		log_errorx("reload: %s; keeping the old connection limits",
		    err.msg);
		return;
	}
	http_free(s->http);
	s->http = h;
}

/* ---- checks ---- */

static void
on_checked(void *user, const struct watch_config *wc,
    const struct check_outcome *o)
{
	struct sched_watch *w = user;
	struct sched *s = w->s;
	char line[512];
	int64_t now = util_mono_ms(), wall = util_now_ms(), wait;

	w->flight->checks--;
	w->flight = NULL;
	s->in_flight--;
	if (s->stopping || sig_stop) {
		/* aborted: nothing was recorded, nothing to plan */
		s->abandoned++;
		return;
	}
	s->checks++;
	check_outcome_format(wc, o, line, sizeof(line));
	if (o->kind == CHECK_FAILED)
		log_warnx("check: %s", line);
	else if (o->kind == CHECK_CHANGED || o->kind == CHECK_BASELINE)
		log_info("check: %s", line);
	else
		log_debug("check: %s", line);
	if (o->nmessages > 0 && (s->outbox_at == 0 || s->outbox_at > now))
		s->outbox_at = now;
	if (w->removed)
		return;
	w->failures = o->failures;
	w->next_at = sched_next_check_ms(now, w->wc->interval_ms,
	    w->wc->jitter_pct, util_random_unit());
	if (o->retry_after_until > 0) {
		/* never longer than the wait asked, from now (the clock may
		 * have stepped back during the check) */
		wait = o->retry_after_until - wall;
		if (o->retry_after_ms > 0 && wait > o->retry_after_ms)
			wait = o->retry_after_ms;
		if (wait > 0 && now + wait > w->next_at)
			w->next_at = now + wait;
	}
	store_next(s, w, now, wall);
}

/*
 * name_in_flight: a watch removed and added again by reloads may still
 * have its old check in flight; two checks of one watch must not overlap
 */
static bool
name_in_flight(const struct sched *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nw; i++)
		if (s->w[i]->removed && s->w[i]->flight != NULL &&
		    strcmp(s->w[i]->name, name) == 0)
			return true;
	return false;
}

/*
 * clamp_watches brings the stored times of checks recorded "in the future"
 * (the wall clock stepped back since) back to the clock, before a check
 * reads them (store_watch_clamp): a Retry-After then ends no later than
 * its own length from now. Changes nothing without a step.
 */
static void
clamp_watches(struct sched *s, int64_t wall)
{
	struct kw_err err = { 0 };
	int n = 0;

	if (store_watch_clamp(s->store, wall, &n, &err) != 0)
		log_warnx("store: %s", err.msg);
	else if (n > 0)
		log_warnx("clock: %d watch%s last checked after now (the clock "
			  "moved back): their waits now count from now",
		    n, n == 1 ? "" : "es");
}

/*
 * clock_check notices the wall clock stepping back (wall - monotonic
 * shrank by CLOCK_STEP_MS or more): the stored deadlines are re-checked
 * against it now (the watches' here, the outbox's by the delivery step
 * it triggers). Monotonic plans in memory need nothing.
 */
static void
clock_check(struct sched *s)
{
	int64_t now = util_mono_ms(), wall = util_now_ms();
	int64_t off = wall - now;

	if (s->wall_offset != 0 && off < s->wall_offset - CLOCK_STEP_MS) {
		log_warnx("clock: the wall clock stepped back %" PRId64 "s; "
			  "stored deadlines are re-checked against it",
		    (s->wall_offset - off) / 1000);
		clamp_watches(s, wall);
		s->outbox_at = now;
	}
	s->wall_offset = off;
}

static void
start_due_checks(struct sched *s)
{
	struct check_env env = { s->store, s->http, s->gen->cfg, s->render,
		s->gen->xpaths };
	struct sched_watch *w;
	struct kw_err err;
	int64_t now = util_mono_ms(), wall = util_now_ms();
	bool clamped = false;
	size_t i;

	for (i = 0; i < s->nw && !sig_stop; i++) {
		w = s->w[i];
		if (w->removed || w->flight != NULL || w->next_at > now ||
		    name_in_flight(s, w->name))
			continue;
		/* a check that ended after a step back recorded its time
		 * ahead of the clock: clamped before the next one reads it */
		if (!clamped) {
			clamp_watches(s, wall);
			clamped = true;
		}
		memset(&err, 0, sizeof(err));
		w->flight = s->gen;
		s->gen->checks++;
		s->in_flight++;
		if (check_start(&env, w->wc, w->xp, wall, on_checked, w,
			&err) != 0) {
			w->flight = NULL;
			s->gen->checks--;
			s->in_flight--;
			log_warnx("check: '%s': %s", w->name, err.msg);
			w->next_at =
			    sched_next_check_ms(now, w->wc->interval_ms,
				w->wc->jitter_pct, util_random_unit());
			store_next(s, w, now, wall);
		}
	}
}

/* ---- delivery ---- */

/* outbox_plan sets outbox_at from the earliest queued message */
static void
outbox_plan(struct sched *s, bool progressed)
{
	struct kw_err err = { 0 };
	int64_t now = util_mono_ms(), wall = util_now_ms(), next = -1;

	if (store_outbox_next_at(s->store, &next, &err) != 0) {
		log_warnx("outbox: %s", err.msg);
		s->outbox_at = now + STORE_RETRY_MS;
	} else if (next < 0) {
		s->outbox_at = 0;
	} else if (next <= wall) {
		/* more due: go on next turn after a batch that sent, else
		 * do not spin on something that did not move */
		s->outbox_at = progressed ? now : now + 1000;
	} else if (next - wall > SCHED_OUTBOX_MAX_AHEAD_MS) {
		/* further than any hold: the clock moved back; deliver
		 * brings the times back (deliver_daily) */
		s->outbox_at = now;
	} else {
		s->outbox_at = now + (next - wall);
	}
}

/* after_delivery: what a finished send step (or batch) means for the loop */
static void
after_delivery(struct sched *s, int r, const struct deliver_report *rep,
    const struct kw_err *err)
{
	int64_t now = util_mono_ms();

	if (r < 0) {
		log_errorx("outbox: %s", err->msg);
		s->outbox_at = now + STORE_RETRY_MS;
		return;
	}
	if (rep->sent > 0)
		log_info("outbox: %zu message%s sent", rep->sent,
		    rep->sent == 1 ? "" : "s");
	if (sig_stop)
		return;
	switch (rep->status) {
	case KAKAO_REAUTH:
	case KAKAO_CONSENT:
	case KAKAO_CONFIG:
	case KAKAO_FATAL:
	case KAKAO_UNAUTHORIZED:
	case KAKAO_BAD_TEMPLATE:
		/* one error line was written: wait for a new token file */
		hold(s, rep->status);
		return;
	case KAKAO_RETRY:
	case KAKAO_RATE_LIMITED:
		/* the queue waits out its backoff, new messages too */
		if (rep->retry_in_ms > 0) {
			s->outbox_at = now + rep->retry_in_ms;
			return;
		}
		break;
	default:
		break;
	}
	/* Kakao answers again: the backlog drains at once, in order */
	outbox_plan(s, rep->sent + rep->dropped > 0 || rep->queued);
}

/* on_courier_done: a send (or upkeep) step ended, from http_poll */
static void
on_courier_done(void *user, const struct deliver_report *rep)
{
	struct sched *s = user;
	struct kw_err err = { 0 };
	bool upkeep = s->courier_upkeep;

	s->courier_upkeep = false;
	if (s->stopping || sig_stop)
		return; /* the courier recorded what Kakao said */
	if (upkeep) {
		if (rep->queued)
			s->outbox_at = util_mono_ms();
		if (rep->status == KAKAO_RETRY ||
		    rep->status == KAKAO_RATE_LIMITED)
			s->upkeep_at = util_mono_ms() + UPKEEP_RETRY_MS;
		else if (rep->status != KAKAO_OK && rep->status != KAKAO_QUOTA)
			hold(s, rep->status);
		else if (!s->held && s->outbox_at == 0)
			outbox_plan(s, false);
		return;
	}
	after_delivery(s, 0, rep, &err);
}

static void
deliver(struct sched *s)
{
	struct deliver_report rep;
	struct kw_err err = { 0 };
	enum deliver_sink sink;
	int r;

	s->outbox_at = 0;
	if (s->held || deliver_courier_busy(s->courier))
		return; /* the courier's callback plans the next step */
	sink = deliver_resolve_sink(s->gen->cfg, s->store);
	if (sink == DELIVER_KAKAO) {
		r = deliver_courier_step(s->courier, s->store, s->gen->cfg,
		    s->http, util_now_ms(), &rep, &err);
		if (r == 2)
			return;
	} else {
		r = deliver_daily(s->store, s->gen->cfg, sink, util_now_ms(),
		    DELIVER_BATCH, stdout, &rep, &err);
	}
	after_delivery(s, r, &rep, &err);
}

/* hold_timers: the hold's fallbacks when inotify cannot tell us */
static void
hold_timers(struct sched *s, int64_t now)
{
	if (!s->held)
		return;
	if (s->hold_poll_at > 0 && now >= s->hold_poll_at) {
		s->hold_poll_at = now + HOLD_POLL_MS;
		if (token_file_changed(s))
			unhold(s, "the token file changed");
	}
	if (s->held && s->hold_retry_at > 0 && now >= s->hold_retry_at)
		unhold(s, "trying again after an hour");
}

/* ---- status and housekeeping ---- */

static void
log_status(const struct sched *s)
{
	int64_t count = 0, oldest = 0, now = util_mono_ms();
	struct kw_err err = { 0 };
	const struct sched_watch *w;
	size_t i, n = 0;

	if (store_outbox_stats(s->store, &count, &oldest, &err) != 0)
		log_warnx("store: %s", err.msg);
	for (i = 0; i < s->nw; i++)
		n += !s->w[i]->removed;
	log_info("status: %zu watches, %zu checks since start, %zu in "
		 "flight, %" PRId64 " messages in the outbox%s%s",
	    n, s->checks, s->in_flight, count,
	    s->held ? ", sending held: " : "",
	    s->held ? kakao_status_name(s->held_status) : "");
	if (render_pending(s->render) > 0)
		log_info("status: %zu browser%s running, %zu waiting "
			 "(browser_max %d)",
		    render_running(s->render),
		    render_running(s->render) == 1 ? "" : "s",
		    render_pending(s->render) - render_running(s->render),
		    s->gen->cfg->browser_max);
	for (i = 0; i < s->nw; i++) {
		w = s->w[i];
		if (w->removed)
			continue;
		if (w->flight != NULL)
			log_info("status: '%s': checking now, %d failures",
			    w->name, w->failures);
		else
			log_info("status: '%s': next check in %" PRId64
				 "s, %d failures",
			    w->name,
			    w->next_at > now ? (w->next_at - now + 999) / 1000 :
					       0,
			    w->failures);
	}
}

static void
housekeeping(struct sched *s)
{
	struct kw_err err = { 0 };
	int64_t now = util_mono_ms(), wall = util_now_ms();
	struct deliver_report rep;
	int r;

	if (now >= s->heartbeat_at) {
		if (store_heartbeat(s->store, wall, &err) != 0)
			log_warnx("store: %s", err.msg);
		s->heartbeat_at = now + SCHED_HEARTBEAT_MS;
		/* the wall clock may have jumped: re-read the outbox's time */
		if (!s->held && (s->outbox_at == 0 ||
				    s->outbox_at > now + SCHED_HEARTBEAT_MS))
			outbox_plan(s, false);
	}
	if (now >= s->trim_at) {
		kw_err_clear(&err);
		if (check_store_upkeep(s->store, s->gen->cfg, wall, &err) != 0)
			log_warnx("store: %s", err.msg);
		s->trim_at = now + TRIM_MS;
	}
	if (now >= s->upkeep_at) {
		s->upkeep_at = now + UPKEEP_MS;
		if (s->held || deliver_resolve_sink(s->gen->cfg, s->store) !=
				   DELIVER_KAKAO)
			return;
		if (deliver_courier_busy(s->courier)) {
			s->upkeep_at = now + UPKEEP_BUSY_MS;
			return;
		}
		kw_err_clear(&err);
		r = deliver_courier_upkeep(s->courier, s->store, s->gen->cfg,
		    s->http, wall, &rep, &err);
		if (r < 0)
			log_warnx("store: %s", err.msg);
		else if (r == 2)
			s->courier_upkeep = true; /* on_courier_done */
		else if (rep.queued)
			s->outbox_at = util_mono_ms();
	}
}

static int64_t
next_deadline(const struct sched *s)
{
	int64_t d = s->heartbeat_at, o;
	size_t i;

	if (s->trim_at < d)
		d = s->trim_at;
	if (s->upkeep_at < d)
		d = s->upkeep_at;
	if (s->outbox_at > 0) {
		o = s->outbox_at;
		if (o < d)
			d = o;
	}
	if (s->reload_at > 0 && s->reload_at < d)
		d = s->reload_at;
	/* a watched directory is gone: look for it again every second */
	if (wake_stale(s->wake) && util_mono_ms() + 1000 < d)
		d = util_mono_ms() + 1000;
	if (s->hold_poll_at > 0 && s->hold_poll_at < d)
		d = s->hold_poll_at;
	if (s->hold_retry_at > 0 && s->hold_retry_at < d)
		d = s->hold_retry_at;
	for (i = 0; i < s->nw; i++)
		if (!s->w[i]->removed && s->w[i]->flight == NULL &&
		    s->w[i]->next_at < d)
			d = s->w[i]->next_at;
	return d;
}

/* ---- the loop ---- */

static int
sched_start(struct sched *s, struct kw_err *err)
{
	int64_t now = util_mono_ms(), wall = util_now_ms();
	size_t i, n = 0, nnew = 0;

	s->store = store_open(s->gen->cfg->state_dir, err);
	if (s->store == NULL)
		return -1;
	s->wall_offset = wall - now;
	clamp_watches(s, wall);
	if (count_new(s, s->gen->cfg, NULL, &nnew, err) != 0)
		return -1;
	s->http = http_new(s->gen->cfg->max_connections,
	    s->gen->cfg->max_connections_per_host, err);
	if (s->http == NULL)
		return -1;
	s->render = render_pool_new(s->gen->cfg->browser_max, err);
	if (s->render == NULL)
		return -1;
	/* profiles a killed kakaowatch left (the state lock is ours) */
	render_sweep(s->gen->cfg->state_dir);
	s->courier = deliver_courier_new(on_courier_done, s);
	if (s->courier == NULL)
		return kw_err_set(err, "out of memory");
	s->w = calloc(s->gen->cfg->nwatches, sizeof(*s->w));
	if (s->w == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < s->gen->cfg->nwatches; i++) {
		const struct watch_config *wc = &s->gen->cfg->watches[i];

		if (!wc->enabled)
			continue;
		s->w[n] = watch_new(s, wc, s->gen->xp[i], now, wall, nnew, err);
		if (s->w[n] == NULL)
			return -1;
		s->nw = ++n;
		store_next(s, s->w[n - 1], now, wall);
	}
	meta_hold(s, NULL);
	s->heartbeat_at = now;
	s->trim_at = now;
	s->upkeep_at = now + UPKEEP_FIRST_MS;
	s->outbox_at = now;
	return 0;
}

/*
 * stop_wait_for_kakao: a message in flight at a clean stop is waited for
 * (at most STOP_WAIT_MS): when Kakao took it, it is not sent again after
 * the restart. Checks are aborted meanwhile (the abort flag).
 */
static void
stop_wait_for_kakao(struct sched *s)
{
	int64_t deadline = util_mono_ms() + STOP_WAIT_MS, left;

	if (!deliver_courier_busy(s->courier))
		return;
	log_info("run: waiting up to %ds for the message being sent",
	    STOP_WAIT_MS / 1000);
	while (deliver_courier_busy(s->courier)) {
		left = deadline - util_mono_ms();
		if (left <= 0) {
			log_warnx("run: Kakao did not answer in time; the "
				  "message stays queued (it may arrive twice)");
			break;
		}
		if (http_poll(s->http, (int)(left < 200 ? left : 200), NULL,
			NULL, 0) != 0)
			break;
	}
}

static void
sched_stop(struct sched *s)
{
	struct sched_gen *g;
	struct kw_err err = { 0 };
	size_t i;

	s->stopping = true;
	/* the callbacks of abandoned checks record nothing; running
	 * browsers are killed, process group and all */
	http_cancel_all(s->http);
	render_cancel_all(s->render);
	render_pool_free(s->render);
	s->render = NULL;
	http_free(s->http);
	deliver_courier_free(s->courier);
	s->courier = NULL;
	for (i = 0; i < s->nw; i++)
		watch_free(s->w[i]);
	free(s->w);
	while (s->retired != NULL) {
		g = s->retired;
		s->retired = g->next;
		gen_free(g);
	}
	token_watch_stop(s);
	wake_unwatch(s->wake, s->cfg_watch);
	s->cfg_watch = -1;
	if (s->store != NULL) {
		if (store_heartbeat(s->store, 0, &err) != 0 ||
		    store_meta_set(s->store, SCHED_META_HOLD, NULL, &err) != 0)
			log_warnx("store: %s", err.msg);
	}
	store_close(s->store);
	gen_free(s->gen);
}

int
sched_run(const char *config_path, struct kw_err *err)
{
	struct sched s;
	int fds[WAKE_MAX_FDS + RENDER_MAX_FDS];
	bool ready[WAKE_MAX_FDS + RENDER_MAX_FDS];
	int64_t now, wait;
	size_t nfds, nwake;
	long rwait;
	int result = -1;

	memset(&s, 0, sizeof(s));
	s.config_path = config_path;
	s.cfg_watch = s.tok_watch = -1;
	if (signals_setup(&s, err) != 0) {
		signals_teardown(&s);
		return -1;
	}
	/* watched before it is read: an edit during start-up is not lost */
	watch_config(&s);
	s.gen = gen_load(config_path, true);
	if (s.gen == NULL) {
		signals_teardown(&s);
		return 2;
	}
	if (sched_start(&s, err) != 0)
		goto out;
	log_info("run: kakaowatch %s started, %zu watches, state in '%s'",
	    KW_VERSION, s.nw, s.gen->cfg->state_dir);
	while (!sig_stop) {
		now = util_mono_ms();
		if (sig_reload) {
			sig_reload = 0;
			log_info("reload: SIGHUP");
			reload(&s, true);
		}
		if (s.reload_at > 0 && now >= s.reload_at)
			reload(&s, false);
		if (sig_status) {
			sig_status = 0;
			log_status(&s);
		}
		reap(&s);
		if (s.http_rebuild && s.in_flight == 0 &&
		    !deliver_courier_busy(s.courier))
			rebuild_http(&s);
		hold_timers(&s, now);
		clock_check(&s);
		if (s.outbox_at > 0 && now >= s.outbox_at)
			deliver(&s);
		start_due_checks(&s);
		housekeeping(&s);
		if (sig_stop)
			break;
		wait = next_deadline(&s) - util_mono_ms();
		if (wait < 0)
			wait = 0;
		if (wait > MAX_WAIT_MS)
			wait = MAX_WAIT_MS;
		/* browsers run beside the loop: their sockets wake it */
		rwait = render_timeout_ms(s.render);
		if (rwait >= 0 && rwait < wait)
			wait = rwait;
		nwake = wake_fds(s.wake, fds, WAKE_MAX_FDS);
		nfds =
		    nwake + render_fds(s.render, fds + nwake, RENDER_MAX_FDS);
		if (http_poll(s.http, (int)wait, fds, ready, nfds) != 0) {
			kw_err_set(err, "the transfer loop failed");
			goto out;
		}
		wake_after_poll(s.wake, fds, ready, nwake);
		render_step(s.render);
		if (wake_changed(s.wake, s.cfg_watch)) {
			if (s.reload_at == 0)
				s.reload_first = util_mono_ms();
			s.reload_at = util_mono_ms() + RELOAD_SETTLE_MS;
		}
		if (wake_changed(s.wake, s.tok_watch) && token_file_changed(&s))
			unhold(&s, "the token file changed");
	}
	stop_wait_for_kakao(&s);
	log_info("run: stopping (%zu check%s in flight abandoned, state "
		 "kept)",
	    s.in_flight + s.abandoned,
	    s.in_flight + s.abandoned == 1 ? "" : "s");
	result = 0;
out:
	sched_stop(&s);
	signals_teardown(&s);
	sig_stop = 0;
	return result;
}
