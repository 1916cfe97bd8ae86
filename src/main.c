/* kakaowatch: global options and the subcommand table (git style). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/jq.h"
#include "kakaowatch/log.h"

struct command {
	const char *name;
	int (*fn)(int, char **, struct cmd_ctx *);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "the daemon: check every watch on its schedule" },
	{ "once", cmd_once, "check every enabled watch (or NAMEs) once" },
	{ "check", cmd_check, "validate the configuration" },
	{ "test", cmd_test, "fetch one watch and print its items" },
	{ "find", cmd_find, "propose watches for a page from texts on it" },
	{ "auth", cmd_auth, "connect KakaoTalk (authorization code flow)" },
	{ "send", cmd_send, "send a text message to yourself" },
	{ "token", cmd_token, "token status | token refresh" },
	{ "status", cmd_status, "per-watch state, outbox and token expiry" },
	{ "outbox", cmd_outbox, "outbox list | outbox retry ID | drop ID" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: kakaowatch [-c FILE] [-v|-q] COMMAND [ARGS]\n"
	    "       kakaowatch --version\n\n"
	    "Watches web pages and tells you on KakaoTalk when something you\n"
	    "care about appears.\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f,
	    "\noptions (any command):\n"
	    "  -c, --config FILE  configuration (default: $KAKAOWATCH_CONFIG,\n"
	    "                     else config/kakaowatch.yaml)\n"
	    "  -v, --verbose      more log lines (repeatable)\n"
	    "  -q, --quiet        warnings and errors only\n"
	    "  -h, --help         this help; `kakaowatch COMMAND -h` for a "
	    "command\n\n"
	    "exit status: 0 ok, 1 a watch or a send failed, "
	    "2 usage or configuration error\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_ctx ctx = { 0 };
	const char *env;
	size_t i;
	int c, status;

	env = getenv("KAKAOWATCH_CONFIG");
	ctx.config_path =
	    env != NULL && env[0] != '\0' ? env : "config/kakaowatch.yaml";
	/* global options stop at the first non-option: the command */
	while ((c = getopt_long(argc, argv, "+c:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx.config_path = optarg;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 'q':
			ctx.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return KW_EXIT_OK;
		case 'V':
			printf("kakaowatch %s\n", KW_VERSION);
			return KW_EXIT_OK;
		default:
			usage(stderr);
			return KW_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return KW_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "kakaowatch: '%s' is not a command\n\n",
		    argv[0]);
		usage(stderr);
		return KW_EXIT_USAGE;
	}
	optind = 0; /* reset getopt for the command (GNU: full re-init) */
	cmd_apply_verbosity(&ctx);
	http_global_init();
	extract_global_init();
	config_set_source_checks(extract_field_check, jq_check);
	config_set_encoding_check(extract_encoding_check);
	status = commands[i].fn(argc, argv, &ctx);
	cmd_xpaths_free();
	extract_global_cleanup();
	http_global_cleanup();
	log_redact_clear();
	return status;
}
