/* cmd_run: the daemon. */
#include <stdio.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/log.h"
#include "kakaowatch/sched.h"

static const char run_usage[] =
    "usage: kakaowatch run [-c FILE] [-v|-q]\n"
    "\n"
    "The daemon: checks every enabled watch on its own schedule, sends the\n"
    "changes, retries what failed, and reloads the configuration when the\n"
    "file changes or on SIGHUP (an invalid file is logged, the running\n"
    "configuration stays). SIGTERM or SIGINT stop it without losing state;\n"
    "SIGUSR1 logs a status summary. Logs go to stderr, one line per event.\n";

int
cmd_run(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct kw_err err = { 0 };
	int r;

	if (cmd_getopt(argc, argv, "", NULL, run_usage, ctx) != -1 ||
	    optind != argc) {
		if (optind != argc)
			fputs(run_usage, stderr);
		return KW_EXIT_USAGE;
	}
	r = sched_run(ctx->config_path, &err);
	if (r == 2)
		return KW_EXIT_USAGE;
	if (r != 0) {
		log_errorx("run: %s", err.msg);
		return KW_EXIT_FAILURE;
	}
	return KW_EXIT_OK;
}
