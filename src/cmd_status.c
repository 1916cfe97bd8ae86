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
#include "kakaowatch/store.h"
#include "kakaowatch/token.h"

#define HEALTH_MAX_AGE_MS (60 * 1000)

static const char status_usage[] =
    "usage: kakaowatch status [-c FILE] [--json | --health]\n"
    "\n"
    "Per watch: last check, next check, last change, items, consecutive\n"
    "failures and the last error; the outbox; token expiry times.\n"
    "\n"
    "  --json    the same as one JSON object\n"
    "  --health  exit 0 when the daemon is alive (heartbeat under 60 s old)\n"
    "            and no watch has reached max_failures, else 1 (for\n"
    "            Docker's HEALTHCHECK)\n";

static void
fmt_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, size, "%m-%d %H:%M:%S", &tm);
}

static json_t *
jtime(int64_t ms)
{
	return ms > 0 ? json_integer(ms / 1000) : json_null();
}

int
cmd_status(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "health", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct config *cfg;
	struct store *st = NULL;
	struct watch_state ws;
	struct token tok = { 0 };
	struct kw_err err = { 0 }, terr = { 0 };
	bool as_json = false, health = false, have_token, alive;
	int64_t count = 0, oldest = 0, beat = 0, now = util_now_ms(), next;
	char a[32], b[32], c2[32];
	json_t *root = NULL, *arr = NULL, *o;
	size_t i, failing = 0;
	int c, status = KW_EXIT_FAILURE;

	while ((c = cmd_getopt(argc, argv, "", longopts, status_usage, ctx)) !=
	    -1) {
		if (c == 'j')
			as_json = true;
		else if (c == 'H')
			health = true;
		else
			return KW_EXIT_USAGE;
	}
	if (optind != argc) {
		fputs(status_usage, stderr);
		return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	st = store_open_readonly(cfg->state_dir, &err);
	if (st == NULL) {
		if (health)
			goto out;
		goto fail;
	}
	if (store_heartbeat_get(st, &beat, &err) != 0)
		goto fail;
	alive = beat > 0 && now - beat < HEALTH_MAX_AGE_MS;
	if (store_outbox_stats(st, &count, &oldest, &err) != 0)
		goto fail;
	have_token = token_load(cfg->kakao.token_file, &tok, &terr) == 0;
	if (as_json) {
		root = json_object();
		arr = json_array();
		json_object_set_new(root, "daemon_alive", json_boolean(alive));
		json_object_set_new(root, "heartbeat", jtime(beat));
		json_object_set_new(root, "watches", arr);
	} else if (!health) {
		fmt_time(beat, a, sizeof(a));
		printf("daemon: %s (heartbeat %s)\n",
		    alive ? "running" : "not running", a);
		printf("%-20s %-14s %-14s %-14s %6s %4s  %s\n", "WATCH",
		    "LAST CHECK", "NEXT CHECK", "LAST CHANGE", "ITEMS", "FAIL",
		    "LAST ERROR");
	}
	for (i = 0; i < cfg->nwatches; i++) {
		const struct watch_config *wc = &cfg->watches[i];

		memset(&ws, 0, sizeof(ws));
		if (store_watch_state_get(st, wc->name, &ws, &err) != 0)
			goto fail;
		next = ws.next_check_at > 0 ? ws.next_check_at :
		    ws.last_check_at > 0	? ws.last_check_at + wc->interval_ms :
						  0;
		if (!wc->enabled)
			next = 0;
		if (wc->enabled && ws.failures >= wc->max_failures)
			failing++;
		if (as_json) {
			o = json_object();
			json_object_set_new(o, "name", json_string(wc->name));
			json_object_set_new(o, "enabled",
			    json_boolean(wc->enabled));
			json_object_set_new(o, "last_check",
			    jtime(ws.last_check_at));
			json_object_set_new(o, "next_check", jtime(next));
			json_object_set_new(o, "last_change",
			    jtime(ws.last_change_at));
			json_object_set_new(o, "items",
			    json_integer(ws.item_count));
			json_object_set_new(o, "failures",
			    json_integer(ws.failures));
			json_object_set_new(o, "last_error",
			    ws.last_error ? json_string(ws.last_error) :
					    json_null());
			json_array_append_new(arr, o);
		} else if (!health) {
			fmt_time(ws.last_check_at, a, sizeof(a));
			fmt_time(next, b, sizeof(b));
			fmt_time(ws.last_change_at, c2, sizeof(c2));
			printf("%-20s %-14s %-14s %-14s %6" PRId64 " %4d  %s\n",
			    wc->name, a, wc->enabled ? b : "disabled", c2,
			    ws.item_count, ws.failures,
			    ws.failures > 0 && ws.last_error ? ws.last_error :
							       "");
		}
		watch_state_release(&ws);
	}
	if (as_json) {
		o = json_object();
		json_object_set_new(o, "pending", json_integer(count));
		json_object_set_new(o, "oldest", jtime(oldest));
		json_object_set_new(root, "outbox", o);
		o = json_object();
		json_object_set_new(o, "file",
		    json_string(cfg->kakao.token_file));
		json_object_set_new(o, "present", json_boolean(have_token));
		json_object_set_new(o, "access_token_expires_at",
		    have_token && tok.access_token_expires_at > 0 ?
			json_integer(tok.access_token_expires_at) :
			json_null());
		json_object_set_new(o, "refresh_token_expires_at",
		    have_token && tok.refresh_token_expires_at > 0 ?
			json_integer(tok.refresh_token_expires_at) :
			json_null());
		json_object_set_new(root, "token", o);
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII * 0);
		printf("\n");
	} else if (!health) {
		fmt_time(oldest, a, sizeof(a));
		printf("outbox: %" PRId64 " messages waiting%s%s\n", count,
		    count > 0 ? ", oldest from " : "", count > 0 ? a : "");
		if (have_token) {
			fmt_time(tok.access_token_expires_at * 1000, a,
			    sizeof(a));
			fmt_time(tok.refresh_token_expires_at * 1000, b,
			    sizeof(b));
			printf("token: access token until %s, refresh token "
			       "until %s\n",
			    a, b);
		} else {
			printf("token: none (%s); run `kakaowatch auth`\n",
			    terr.msg);
		}
	}
	if (health)
		status = alive && failing == 0 ? KW_EXIT_OK : KW_EXIT_FAILURE;
	else
		status = KW_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	json_decref(root);
	token_release(&tok);
	store_close(st);
	config_free(cfg);
	return status;
}
