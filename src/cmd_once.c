/* cmd_once: one pass over the watches, then deliver the outbox. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/check.h"
#include "kakaowatch/cmd.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/log.h"
#include "kakaowatch/quiet.h"

static const char once_usage[] =
    "usage: kakaowatch once [--due] [--force] [-c FILE] [-v|-q] [NAME...]\n"
    "\n"
    "Checks every enabled watch (or the NAMEs given, enabled or not) once:\n"
    "fetch, extract, compare with the last snapshot, queue the changes,\n"
    "deliver the outbox through the sink, print one line per watch.\n"
    "Delivery follows the daemon's rules: a Kakao quota hold, the backoff\n"
    "after a failure, max_messages_per_day and the token upkeep.\n"
    "\n"
    "  --due    only watches whose interval has passed since their last\n"
    "           check (for cron)\n"
    "  --force  send the whole outbox now, regardless of holds, backoff,\n"
    "           the daily budget and quiet hours (messages go as they are,\n"
    "           not as a digest)\n";

/* why_kept: what the user reads when messages stay in the outbox */
static void
log_kept(struct store *st, const struct deliver_report *rep)
{
	struct kw_err err = { 0 };
	int64_t pending = 0;

	if (store_outbox_stats(st, &pending, NULL, &err) != 0 || pending == 0)
		return;
	switch (rep->status) {
	case KAKAO_QUOTA:
		log_warnx("outbox: %" PRId64
			  " message%s kept for the next run: "
			  "the Kakao quota "
			  "or max_messages_per_day is used up until 00:00 "
			  "Korea time (`once --force` sends anyway)",
		    pending, pending == 1 ? "" : "s");
		break;
	case KAKAO_RETRY:
	case KAKAO_RATE_LIMITED:
		log_warnx("outbox: %" PRId64
			  " message%s kept for the next run: "
			  "Kakao failed "
			  "before; the next try is in %" PRId64 "s (`once "
			  "--force` tries now)",
		    pending, pending == 1 ? "" : "s",
		    (rep->retry_in_ms + 999) / 1000);
		break;
	default:
		log_warnx("outbox: %" PRId64 " message%s kept for the next "
			  "run",
		    pending, pending == 1 ? "" : "s");
		break;
	}
}

struct once_state {
	size_t failed;
	size_t done;
};

static void
once_done(void *user, const struct watch_config *wc,
    const struct check_outcome *o)
{
	struct once_state *os = user;
	char line[512];

	check_outcome_format(wc, o, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	if (o->kind == CHECK_FAILED) {
		os->failed++;
		log_warnx("check: '%s': %s", wc->name, o->error);
	}
	os->done++;
}

/*
 * compile_xpaths sets xps[i] to the compiled XPath of every watch i with
 * run[i], from the command's set (cmd_xpaths: what the load's check
 * compiled, each distinct expression once). Returns 0, or -1 with `err`.
 */
static int
compile_xpaths(const struct config *cfg, const bool *run,
    const struct extract_xpath **xps, struct kw_err *err)
{
	struct extract_xpath_set *set = cmd_xpaths();
	size_t i;

	if (set == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < cfg->nwatches; i++) {
		if (!run[i] || cfg->watches[i].xpath == NULL)
			continue; /* a feed or a jq program needs none */
		/* the namespaces only decide which prefixes are valid */
		xps[i] = extract_xpath_set_get(set, cfg->watches[i].xpath,
		    (const char *const *)cfg->watches[i].namespaces,
		    cfg->watches[i].nnamespaces / 2, err);
		if (xps[i] == NULL)
			return -1;
	}
	return 0;
}

static bool
is_due(struct store *st, const struct watch_config *wc, int64_t now_ms)
{
	struct watch_state ws = { 0 };
	struct kw_err err = { 0 };
	bool due = true;

	if (store_watch_state_get(st, wc->name, &ws, &err) == 0 &&
	    ws.last_check_at > 0)
		due = now_ms - ws.last_check_at >= wc->interval_ms;
	watch_state_release(&ws);
	return due;
}

int
cmd_once(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "due", no_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct http *http = NULL;
	struct render_pool *render = NULL;
	const struct extract_xpath **xps = NULL;
	struct check_env env;
	struct once_state os = { 0 };
	struct deliver_report rep;
	struct kw_err err = { 0 };
	bool due_only = false, force = false, *selected = NULL;
	enum deliver_sink sink;
	enum kakao_status ks;
	bool queued = false;
	int r;
	int64_t now;
	size_t i;
	int c, j, status = KW_EXIT_USAGE;

	while (
	    (c = cmd_getopt(argc, argv, "", longopts, once_usage, ctx)) != -1) {
		if (c == 'd')
			due_only = true;
		else if (c == 'f')
			force = true;
		else
			return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	selected = calloc(cfg->nwatches, sizeof(*selected));
	xps = calloc(cfg->nwatches, sizeof(*xps));
	if ((selected == NULL || xps == NULL) && cfg->nwatches > 0) {
		log_errorx("out of memory");
		status = KW_EXIT_FAILURE;
		goto out;
	}
	for (j = optind; j < argc; j++) {
		for (i = 0; i < cfg->nwatches; i++)
			if (strcmp(cfg->watches[i].name, argv[j]) == 0)
				break;
		if (i == cfg->nwatches) {
			fprintf(stderr,
			    "kakaowatch: no watch named '%s' in "
			    "%s\n",
			    argv[j], cfg->path);
			goto out;
		}
		selected[i] = true;
	}
	if (optind == argc)
		for (i = 0; i < cfg->nwatches; i++)
			selected[i] = cfg->watches[i].enabled;

	status = KW_EXIT_FAILURE;
	st = store_open(cfg->state_dir, &err);
	if (st == NULL)
		goto fail;
	http =
	    http_new(cfg->max_connections, cfg->max_connections_per_host, &err);
	if (http == NULL)
		goto fail;
	render = render_pool_new(cfg->browser_max, &err);
	if (render == NULL)
		goto fail;
	/* profiles a killed kakaowatch left (the state lock is ours) */
	render_sweep(cfg->state_dir);
	env.store = st;
	env.http = http;
	env.cfg = cfg;
	env.render = render;
	env.compiled = cmd_xpaths();
	now = util_now_ms();
	/* checks recorded after now (the clock stepped back since): their
	 * Retry-After and next check count from now (store.h) */
	if (store_watch_clamp(st, now, NULL, &err) != 0)
		goto fail;
	/* from here on selected[i]: the watch is checked in this run */
	for (i = 0; i < cfg->nwatches; i++)
		if (selected[i] && due_only &&
		    !is_due(st, &cfg->watches[i], now))
			selected[i] = false;
	if (compile_xpaths(cfg, selected, xps, &err) != 0)
		goto fail;
	for (i = 0; i < cfg->nwatches; i++) {
		if (!selected[i])
			continue;
		if (check_start(&env, &cfg->watches[i], xps[i], now, once_done,
			&os, &err) != 0)
			goto fail;
	}
	/* fetches and browsers (at most browser_max) run together */
	while (http_pending(http) > 0 || render_pending(render) > 0) {
		int fds[RENDER_MAX_FDS];
		bool ready[RENDER_MAX_FDS];
		size_t nfds;
		long t;

		render_step(render);
		t = render_timeout_ms(render);
		if (t < 0 || t > 1000)
			t = 1000;
		nfds = render_fds(render, fds, RENDER_MAX_FDS);
		if (http_poll(http, (int)t, fds, ready, nfds) != 0) {
			kw_err_set(&err, "the transfer loop failed");
			goto fail;
		}
		render_step(render);
	}
	/* bounded state: old history and long-gone watches go (a failure
	 * here must not keep the outbox from being delivered) */
	{
		struct kw_err uerr = { 0 };

		if (check_store_upkeep(st, cfg, util_now_ms(), &uerr) != 0)
			log_warnx("store: %s", uerr.msg);
	}

	sink = deliver_resolve_sink(cfg, st);
	now = util_now_ms();
	/* every check of this run is done: its notices are one group */
	if (deliver_notice_flush(st, now, &err) != 0)
		goto fail;
	if (force) {
		log_warnx("once --force: sending the whole outbox now, "
			  "regardless of holds, backoff, the daily budget and "
			  "quiet hours");
		r = deliver_outbox(st, cfg, sink, now, true, 0, stdout, &rep,
		    &err);
	} else {
		if (sink == DELIVER_KAKAO) {
			/* the daemon's upkeep, for cron users */
			ks = deliver_token_upkeep(st, cfg, now, &queued, &err);
			if (ks == KAKAO_FATAL && err.set)
				goto fail;
			kw_err_clear(&err);
		}
		r = deliver_daily(st, cfg, sink, now, 0, stdout, &rep, &err);
	}
	if (!force && r >= 0 && rep.quiet_held > 0) {
		char hhmm[8];

		quiet_local_hhmm(cfg->timezone, rep.quiet_until_ms, hhmm,
		    sizeof(hhmm));
		log_info("outbox: %zu message%s held: quiet hours until %s "
			 "(%s), then sent as one digest (`once --force` "
			 "sends now)",
		    rep.quiet_held, rep.quiet_held == 1 ? "" : "s", hhmm,
		    cfg->timezone);
	}
	switch (r) {
	case 0:
		break;
	case 1:
		os.failed++;
		log_kept(st, &rep);
		break;
	default:
		goto fail;
	}
	status = os.failed > 0 ? KW_EXIT_FAILURE : KW_EXIT_OK;
	goto out;
fail:
	log_errorx("%s", err.msg);
	status = KW_EXIT_FAILURE;
out:
	render_pool_free(render);
	http_free(http);
	free(xps);
	free(selected);
	store_close(st);
	config_free(cfg);
	return status;
}
