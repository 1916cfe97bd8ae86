/* cmd_outbox: `outbox list`, `outbox retry ID`, `outbox drop ID`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/log.h"
#include "kakaowatch/store.h"

static const char outbox_usage[] =
    "usage: kakaowatch outbox [-c FILE] list\n"
    "       kakaowatch outbox [-c FILE] retry ID\n"
    "       kakaowatch outbox [-c FILE] drop ID\n"
    "\n"
    "list   the queued messages, in the order they are sent, and the dead\n"
    "       letters: messages Kakao refused as invalid (-2), also when\n"
    "       tried again as plain text\n"
    "retry  queue dead letter ID again (at the end of the outbox)\n"
    "drop   delete dead letter ID for good\n";

static void
print_time(const char *what, int64_t ms)
{
	char when[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf(" %s %s", what, when);
}

static int
list(struct store *st, struct kw_err *err)
{
	struct outbox_msg *v = NULL;
	struct dead_letter *d = NULL;
	size_t n = 0, nd = 0, i;

	if (store_outbox_due(st, INT64_MAX, 0, &v, &n, err) != 0)
		return -1;
	if (deliver_dead_list(st, &d, &nd, err) != 0) {
		outbox_msgs_free(v, n);
		return -1;
	}
	printf("outbox: %zu message%s queued\n", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		printf("%" PRId64 " '%s'", v[i].id,
		    v[i].watch ? v[i].watch : DELIVER_SELF);
		print_time("queued", v[i].created_at);
		if (v[i].attempts > 0)
			printf(" attempts %d", v[i].attempts);
		printf("\n");
		if (v[i].last_error != NULL)
			printf("    last error: %s\n", v[i].last_error);
		printf("    %s\n", v[i].template_json);
	}
	printf("dead letters: %zu\n", nd);
	for (i = 0; i < nd; i++) {
		printf("%" PRId64 " '%s'", d[i].id,
		    d[i].watch[0] ? d[i].watch : DELIVER_SELF);
		print_time("queued", d[i].created_at);
		print_time("refused", d[i].dead_at);
		printf("\n    error: %s\n    %s\n", d[i].error,
		    d[i].template_json);
	}
	if (nd > 0)
		printf("(kakaowatch outbox retry ID | drop ID)\n");
	outbox_msgs_free(v, n);
	dead_letters_free(d, nd);
	return 0;
}

int
cmd_outbox(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct config *cfg = NULL;
	struct store *st = NULL;
	struct kw_err err = { 0 };
	const char *verb;
	int64_t id = 0;
	int c, r, status = KW_EXIT_USAGE;

	while ((c = cmd_getopt(argc, argv, "", NULL, outbox_usage, ctx)) != -1)
		return KW_EXIT_USAGE;
	if (optind >= argc)
		goto usage;
	verb = argv[optind];
	if (strcmp(verb, "list") == 0) {
		if (optind + 1 != argc)
			goto usage;
	} else if (strcmp(verb, "retry") == 0 || strcmp(verb, "drop") == 0) {
		if (optind + 2 != argc ||
		    util_parse_int(argv[optind + 1], 1, INT64_MAX, &id) != 0)
			goto usage;
	} else {
		goto usage;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	status = KW_EXIT_FAILURE;
	st = store_open(cfg->state_dir, &err);
	if (st == NULL)
		goto fail;
	if (strcmp(verb, "list") == 0) {
		if (list(st, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
		goto out;
	}
	if (strcmp(verb, "retry") == 0)
		r = deliver_dead_retry(st, id, util_now_ms(), &err);
	else
		r = deliver_dead_drop(st, id, &err);
	if (r < 0)
		goto fail;
	if (r > 0) {
		fprintf(stderr,
		    "kakaowatch: no dead letter %" PRId64
		    " (see `kakaowatch outbox list`)\n",
		    id);
		goto out;
	}
	printf("%s %" PRId64 "\n",
	    strcmp(verb, "retry") == 0 ? "queued again:" : "dropped:", id);
	status = KW_EXIT_OK;
	goto out;
usage:
	fputs(outbox_usage, stderr);
	return KW_EXIT_USAGE;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	store_close(st);
	config_free(cfg);
	return status;
}
