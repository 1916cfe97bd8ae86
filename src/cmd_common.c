/* cmd_common: option parsing and config loading shared by the commands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/log.h"

int
cmd_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts, const char *usage, struct cmd_ctx *ctx)
{
	static const struct option common[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option all[32];
	char opts[64];
	size_t n = 0, i;
	int c;

	for (i = 0; longopts != NULL && longopts[i].name != NULL &&
	     n < sizeof(all) / sizeof(all[0]) - 5;
	     i++)
		all[n++] = longopts[i];
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		all[n++] = common[i];
	memset(&all[n], 0, sizeof(all[n]));
	snprintf(opts, sizeof(opts), "c:vqh%s", shortopts ? shortopts : "");
	for (;;) {
		c = getopt_long(argc, argv, opts, all, NULL);
		switch (c) {
		case 'c':
			ctx->config_path = optarg;
			continue;
		case 'v':
			ctx->verbose++;
			cmd_apply_verbosity(ctx);
			continue;
		case 'q':
			ctx->quiet = true;
			cmd_apply_verbosity(ctx);
			continue;
		case 'h':
			fputs(usage, stdout);
			exit(KW_EXIT_OK);
		case '?':
			fputs(usage, stderr);
			return '?';
		default:
			return c;
		}
	}
}

void
cmd_apply_verbosity(const struct cmd_ctx *ctx)
{
	int level = LOG_LEVEL_INFO + ctx->verbose;

	if (ctx->quiet)
		level = LOG_LEVEL_WARN;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_init((enum log_level)level);
}

struct config *
cmd_load_config(const struct cmd_ctx *ctx)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	size_t i;

	if (config_load(ctx->config_path, extract_xpath_check, &cfg, &errs) !=
	    0) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		config_errors_release(&errs);
		return NULL;
	}
	config_errors_release(&errs);
	return cfg;
}
