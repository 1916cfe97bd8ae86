/* sched: the daemon loop (see sched.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kakaowatch/check.h"
#include "kakaowatch/config.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/log.h"
#include "kakaowatch/sched.h"
#include "kakaowatch/store.h"

#define HEARTBEAT_MS (15 * 1000)
#define TRIM_MS (6 * 3600 * 1000)
#define RELOAD_SETTLE_MS 300
#define HOLD_POLL_MS (5 * 1000)
#define MAX_WAIT_MS (60 * 1000)

static volatile sig_atomic_t sig_stop, sig_reload, sig_status;
static int sig_pipe[2] = { -1, -1 };

struct sched_watch {
	char *name;                    /* owned copy: survives reloads */
	const struct watch_config *wc; /* in the current config */
	struct extract_xpath *xp;      /* compiled for wc->xpath */
	int64_t next_at;               /* monotonic ms */
	bool in_flight;
	int failures;
	struct sched *s;
};

struct sched {
	const char *config_path;
	struct config *cfg;
	struct store *store;
	struct http *http;
	struct sched_watch *w;
	size_t nw;
	size_t in_flight;
	bool reload_pending;
	int64_t reload_at;      /* monotonic ms, 0 = none */
	int64_t outbox_at;      /* monotonic ms, 0 = nothing to send */
	int64_t heartbeat_at;
	int64_t trim_at;
	bool held;              /* sending held until the token file changes */
	struct stat held_token; /* the token file as it was when held */
	int ino_fd;
	char *config_dir, *config_base;
	size_t checks;
};

static double
rnd(void)
{
	return (double)rand() / ((double)RAND_MAX + 1.0);
}

int64_t
sched_next_check_ms(int64_t now_ms, int64_t interval_ms, double jitter_pct,
    double r)
{
	double spread = (double)interval_ms * jitter_pct / 100.0;
	int64_t next;

	next = now_ms + interval_ms + (int64_t)(spread * (2.0 * r - 1.0));
	if (next < now_ms + 1000)
		next = now_ms + 1000;
	return next;
}

int64_t
sched_first_check_ms(int64_t now_ms, int64_t now_wall_ms,
    int64_t last_check_wall_ms, int64_t interval_ms, double r)
{
	int64_t ahead;

	if (last_check_wall_ms <= 0)
		return now_ms + (int64_t)(5000.0 * r);
	ahead = last_check_wall_ms + interval_ms - now_wall_ms;
	if (ahead > 0)
		return now_ms + (ahead < interval_ms ? ahead : interval_ms);
	return now_ms + (int64_t)((double)interval_ms * r);
}

static void
on_signal(int sig)
{
	int saved = errno;
	char c = 0;

	if (sig == SIGTERM || sig == SIGINT)
		sig_stop = 1;
	else if (sig == SIGHUP)
		sig_reload = 1;
	else if (sig == SIGUSR1)
		sig_status = 1;
	if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a wake-up is already pending */
	}
	errno = saved;
}

static int
signals_setup(struct kw_err *err)
{
	struct sigaction sa;

	if (pipe(sig_pipe) != 0)
		return kw_err_set(err, "pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFL,
		    fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	http_set_abort_flag(&sig_stop);
	return 0;
}

static void
signals_teardown(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	http_set_abort_flag(NULL);
	if (sig_pipe[0] >= 0)
		close(sig_pipe[0]);
	if (sig_pipe[1] >= 0)
		close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
}

/* inotify on the config's directory: editors replace files by rename */
static void
watch_config_dir(struct sched *s)
{
	char *a, *b;

	a = strdup(s->config_path);
	b = strdup(s->config_path);
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return;
	}
	s->config_dir = strdup(dirname(a));
	s->config_base = strdup(basename(b));
	free(a);
	free(b);
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd < 0 || s->config_dir == NULL ||
	    inotify_add_watch(s->ino_fd, s->config_dir,
		IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
		    IN_MODIFY | IN_ATTRIB) < 0) {
		log_warn("reload: cannot watch '%s' (SIGHUP still reloads)",
		    s->config_dir ? s->config_dir : s->config_path);
		if (s->ino_fd >= 0)
			close(s->ino_fd);
		s->ino_fd = -1;
	}
}

/* true when an event names the config file */
static bool
drain_inotify(struct sched *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;
	bool hit = false;

	for (;;) {
		n = read(s->ino_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->len > 0 && strcmp(ev->name, s->config_base) == 0)
				hit = true;
		}
	}
	return hit;
}

static void
drain_pipe(void)
{
	char buf[64];

	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static void
watch_release(struct sched_watch *w)
{
	free(w->name);
	extract_xpath_free(w->xp);
	w->name = NULL;
	w->xp = NULL;
}

/*
 * Builds the watch table for `cfg`, keeping the schedule of watches that
 * exist in `old` (by name). Returns 0, or -1 with err (nothing changed).
 */
static int
build_watches(struct sched *s, const struct config *cfg,
    struct sched_watch **out, size_t *nout, struct kw_err *err)
{
	struct sched_watch *v, *o;
	struct watch_state ws;
	int64_t now = util_mono_ms(), wall = util_now_ms();
	size_t i, j, n = 0;

	v = calloc(cfg->nwatches ? cfg->nwatches : 1, sizeof(*v));
	if (v == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < cfg->nwatches; i++) {
		const struct watch_config *wc = &cfg->watches[i];

		if (!wc->enabled)
			continue;
		v[n].s = s;
		v[n].wc = wc;
		v[n].name = strdup(wc->name);
		v[n].xp = extract_xpath_compile(wc->xpath, err);
		if (v[n].name == NULL || v[n].xp == NULL) {
			n++;
			goto fail;
		}
		o = NULL;
		for (j = 0; j < s->nw; j++)
			if (strcmp(s->w[j].name, wc->name) == 0)
				o = &s->w[j];
		if (o != NULL) {
			v[n].next_at = o->next_at;
			v[n].failures = o->failures;
			/* a shorter interval applies now, not after the old */
			if (v[n].next_at > now + wc->interval_ms)
				v[n].next_at = now + wc->interval_ms;
		} else {
			memset(&ws, 0, sizeof(ws));
			if (store_watch_state_get(s->store, wc->name, &ws,
				err) != 0) {
				n++;
				goto fail;
			}
			v[n].failures = ws.failures;
			v[n].next_at = sched_first_check_ms(now, wall,
			    ws.last_check_at, wc->interval_ms, rnd());
			if (ws.retry_after_until > wall &&
			    v[n].next_at < now + (ws.retry_after_until - wall))
				v[n].next_at = now +
				    (ws.retry_after_until - wall);
			watch_state_release(&ws);
		}
		n++;
	}
	*out = v;
	*nout = n;
	return 0;
fail:
	for (i = 0; i < n; i++)
		watch_release(&v[i]);
	free(v);
	return -1;
}

static void
free_watches(struct sched_watch *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		watch_release(&v[i]);
	free(v);
}

static void
log_changes(const struct sched *s, const struct config *cfg)
{
	size_t i, j;
	bool found;

	for (i = 0; i < cfg->nwatches; i++) {
		if (!cfg->watches[i].enabled)
			continue;
		found = false;
		for (j = 0; j < s->nw; j++)
			if (strcmp(s->w[j].name, cfg->watches[i].name) == 0)
				found = true;
		if (!found)
			log_info("reload: watch '%s' added",
			    cfg->watches[i].name);
	}
	for (j = 0; j < s->nw; j++) {
		const struct watch_config *wc =
		    config_find_watch(cfg, s->w[j].name);
		if (wc == NULL || !wc->enabled)
			log_info("reload: watch '%s' removed", s->w[j].name);
	}
}

/* swap in a new config when it is valid; called with nothing in flight */
static void
reload(struct sched *s)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct sched_watch *v;
	struct http *http = NULL;
	struct kw_err err = { 0 };
	size_t n, i;

	s->reload_pending = false;
	s->reload_at = 0;
	if (config_load(s->config_path, extract_xpath_check, &cfg, &errs) !=
	    0) {
		for (i = 0; i < errs.n; i++)
			log_errorx("reload: %s", errs.v[i]);
		log_errorx("reload: '%s' has errors; the previous "
			   "configuration stays in force",
		    s->config_path);
		config_errors_release(&errs);
		return;
	}
	config_errors_release(&errs);
	if (strcmp(cfg->state_dir, s->cfg->state_dir) != 0)
		log_warnx("reload: state_dir changed to '%s'; it takes effect "
			  "after a restart",
		    cfg->state_dir);
	if (build_watches(s, cfg, &v, &n, &err) != 0) {
		log_errorx("reload: %s; the previous configuration stays in "
			   "force",
		    err.msg);
		config_free(cfg);
		return;
	}
	if (cfg->max_connections != s->cfg->max_connections ||
	    cfg->max_connections_per_host !=
		s->cfg->max_connections_per_host) {
		http = http_new(cfg->max_connections,
		    cfg->max_connections_per_host, &err);
		if (http == NULL) {
			log_errorx("reload: %s", err.msg);
		} else {
			http_free(s->http);
			s->http = http;
		}
	}
	log_changes(s, cfg);
	free_watches(s->w, s->nw);
	s->w = v;
	s->nw = n;
	/* keep state_dir: the store stays where it was opened */
	free(cfg->state_dir);
	cfg->state_dir = strdup(s->cfg->state_dir);
	config_free(s->cfg);
	s->cfg = cfg;
	if (cfg->state_dir == NULL)
		fatalx("out of memory");
	log_info("reload: configuration from '%s' in force, %zu watches",
	    s->config_path, n);
	s->outbox_at = util_mono_ms();
}

static void
on_checked(void *user, const struct watch_config *wc,
    const struct check_outcome *o)
{
	struct sched_watch *w = user;
	struct sched *s = w->s;
	char line[512];
	int64_t now = util_mono_ms(), wall, wait;

	w->in_flight = false;
	s->in_flight--;
	s->checks++;
	w->failures = o->failures;
	w->next_at = sched_next_check_ms(now, wc->interval_ms, wc->jitter_pct,
	    rnd());
	if (o->retry_after_until > 0) {
		wall = util_now_ms();
		wait = o->retry_after_until - wall;
		if (wait > 0 && now + wait > w->next_at)
			w->next_at = now + wait;
	}
	check_outcome_format(wc, o, line, sizeof(line));
	if (o->kind == CHECK_FAILED)
		log_warnx("check: %s", line);
	else if (o->kind == CHECK_CHANGED || o->kind == CHECK_BASELINE)
		log_info("check: %s", line);
	else
		log_debug("check: %s", line);
	if (o->nmessages > 0)
		s->outbox_at = now;
}

static void
start_due_checks(struct sched *s)
{
	struct check_env env = { s->store, s->http, s->cfg };
	struct kw_err err;
	int64_t now = util_mono_ms();
	size_t i;

	for (i = 0; i < s->nw; i++) {
		struct sched_watch *w = &s->w[i];

		if (w->in_flight || w->next_at > now)
			continue;
		memset(&err, 0, sizeof(err));
		w->in_flight = true;
		s->in_flight++;
		if (check_start(&env, w->wc, w->xp, util_now_ms(), on_checked,
			w, &err) != 0) {
			w->in_flight = false;
			s->in_flight--;
			log_warnx("check: '%s': %s", w->name, err.msg);
			w->next_at = sched_next_check_ms(now,
			    w->wc->interval_ms, w->wc->jitter_pct, rnd());
		}
	}
}

static bool
token_file_changed(const struct sched *s)
{
	struct stat st;

	if (stat(s->cfg->kakao.token_file, &st) != 0)
		return false;
	return st.st_ino != s->held_token.st_ino ||
	    st.st_mtim.tv_sec != s->held_token.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->held_token.st_mtim.tv_nsec ||
	    st.st_size != s->held_token.st_size;
}

static void
deliver(struct sched *s)
{
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t now = util_mono_ms(), wall = util_now_ms(), next = 0;
	int r;

	s->outbox_at = 0;
	if (s->held) {
		if (!token_file_changed(s)) {
			s->outbox_at = now + HOLD_POLL_MS;
			return;
		}
		log_info("kakao: the token file changed, sending again");
		s->held = false;
	}
	r = deliver_daily(s->store, s->cfg, deliver_resolve_sink(s->cfg),
	    wall, stdout, &rep, &err);
	if (r < 0) {
		log_errorx("outbox: %s", err.msg);
		s->outbox_at = now + HOLD_POLL_MS;
		return;
	}
	if (rep.sent > 0)
		log_info("outbox: %zu messages sent", rep.sent);
	switch (rep.status) {
	case KAKAO_REAUTH:
	case KAKAO_CONSENT:
	case KAKAO_CONFIG:
	case KAKAO_FATAL:
	case KAKAO_UNAUTHORIZED:
		/* one log line was written; wait for a new token file */
		s->held = true;
		memset(&s->held_token, 0, sizeof(s->held_token));
		stat(s->cfg->kakao.token_file, &s->held_token);
		s->outbox_at = now + HOLD_POLL_MS;
		return;
	default:
		break;
	}
	if (store_outbox_next_at(s->store, &next, &err) != 0) {
		log_errorx("outbox: %s", err.msg);
		s->outbox_at = now + HOLD_POLL_MS;
	} else if (next > 0) {
		s->outbox_at = now + (next > wall ? next - wall : 0);
		if (s->outbox_at < now + 1000)
			s->outbox_at = now + 1000;
	}
}

static void
log_status(const struct sched *s)
{
	int64_t count = 0, oldest = 0, now = util_mono_ms();
	struct kw_err err = { 0 };
	size_t i;

	store_outbox_stats(s->store, &count, &oldest, &err);
	log_info("status: %zu watches, %zu checks since start, %zu in "
		 "flight, %" PRId64 " messages in the outbox%s",
	    s->nw, s->checks, s->in_flight, count,
	    s->held ? " (held: run `kakaowatch auth`)" : "");
	for (i = 0; i < s->nw; i++)
		log_info("status: '%s': next check in %" PRId64
			 "s, %d failures",
		    s->w[i].name,
		    s->w[i].next_at > now ? (s->w[i].next_at - now) / 1000 :
					     0,
		    s->w[i].failures);
}

static int64_t
next_deadline(const struct sched *s)
{
	int64_t d = s->heartbeat_at;
	size_t i;

	if (s->trim_at < d)
		d = s->trim_at;
	if (s->outbox_at > 0 && s->outbox_at < d)
		d = s->outbox_at;
	if (s->reload_at > 0 && s->reload_at < d)
		d = s->reload_at;
	if (!s->reload_pending)
		for (i = 0; i < s->nw; i++)
			if (!s->w[i].in_flight && s->w[i].next_at < d)
				d = s->w[i].next_at;
	return d;
}

static void
housekeeping(struct sched *s)
{
	struct kw_err err = { 0 };
	int64_t now = util_mono_ms(), wall = util_now_ms();

	if (now >= s->heartbeat_at) {
		if (store_heartbeat(s->store, wall, &err) != 0)
			log_warnx("store: %s", err.msg);
		s->heartbeat_at = now + HEARTBEAT_MS;
	}
	if (now >= s->trim_at) {
		kw_err_clear(&err);
		if (store_history_trim(s->store,
			wall - (int64_t)s->cfg->history_days * 86400 * 1000,
			&err) != 0)
			log_warnx("store: %s", err.msg);
		s->trim_at = now + TRIM_MS;
	}
}

int
sched_run(const char *config_path, struct kw_err *err)
{
	struct config_errors errs = { 0 };
	struct sched s;
	int fds[2];
	bool ready[2];
	int64_t now, wait;
	size_t i, nfds;
	int result = -1;

	memset(&s, 0, sizeof(s));
	s.config_path = config_path;
	s.ino_fd = -1;
	srand((unsigned)(util_now_ms() ^ getpid()));
	if (config_load(config_path, extract_xpath_check, &s.cfg, &errs) !=
	    0) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		config_errors_release(&errs);
		return 2;
	}
	config_errors_release(&errs);
	s.store = store_open(s.cfg->state_dir, err);
	if (s.store == NULL)
		goto out;
	s.http = http_new(s.cfg->max_connections,
	    s.cfg->max_connections_per_host, err);
	if (s.http == NULL)
		goto out;
	if (build_watches(&s, s.cfg, &s.w, &s.nw, err) != 0)
		goto out;
	if (signals_setup(err) != 0)
		goto out;
	watch_config_dir(&s);
	now = util_mono_ms();
	s.heartbeat_at = now;
	s.trim_at = now;
	s.outbox_at = now;
	log_info("run: kakaowatch %s started, %zu watches, state in '%s'",
	    KW_VERSION, s.nw, s.cfg->state_dir);
	while (!sig_stop) {
		now = util_mono_ms();
		if (sig_reload) {
			sig_reload = 0;
			log_info("reload: SIGHUP");
			s.reload_pending = true;
		}
		if (s.reload_at > 0 && now >= s.reload_at)
			s.reload_pending = true;
		if (s.reload_pending && s.in_flight == 0)
			reload(&s);
		if (sig_status) {
			sig_status = 0;
			log_status(&s);
		}
		if (!s.reload_pending)
			start_due_checks(&s);
		if (s.outbox_at > 0 && now >= s.outbox_at && s.in_flight == 0)
			deliver(&s);
		housekeeping(&s);
		if (sig_stop)
			break;
		now = util_mono_ms();
		wait = next_deadline(&s) - now;
		if (s.outbox_at > 0 && s.outbox_at <= now && s.in_flight > 0)
			wait = 1000; /* deliver once the checks are in */
		if (wait < 0)
			wait = 0;
		if (wait > MAX_WAIT_MS)
			wait = MAX_WAIT_MS;
		nfds = 0;
		fds[nfds++] = sig_pipe[0];
		if (s.ino_fd >= 0)
			fds[nfds++] = s.ino_fd;
		ready[0] = ready[1] = false;
		if (http_poll(s.http, (int)wait, fds, ready, nfds) != 0) {
			kw_err_set(err, "the transfer loop failed");
			goto out;
		}
		if (ready[0])
			drain_pipe();
		if (nfds > 1 && ready[1] && drain_inotify(&s))
			s.reload_at = util_mono_ms() + RELOAD_SETTLE_MS;
	}
	log_info("run: stopping (%zu checks in flight abandoned, state kept)",
	    s.in_flight);
	result = 0;
out:
	signals_teardown();
	http_cancel_all(s.http);
	http_free(s.http);
	free_watches(s.w, s.nw);
	if (s.ino_fd >= 0)
		close(s.ino_fd);
	free(s.config_dir);
	free(s.config_base);
	if (s.store != NULL) {
		struct kw_err e2 = { 0 };
		store_heartbeat(s.store, 0, &e2);
	}
	store_close(s.store);
	config_free(s.cfg);
	sig_stop = 0;
	return result;
}
