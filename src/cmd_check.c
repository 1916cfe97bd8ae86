/* cmd_check: validate the configuration, then summarise every watch. */
#include <inttypes.h>
#include <stdio.h>

#include "kakaowatch/cmd.h"

static const char check_usage[] =
    "usage: kakaowatch check [-c FILE]\n"
    "\n"
    "Parses and validates the configuration, compiles every XPath, and\n"
    "prints `configuration OK` with one line per watch, or every error as\n"
    "FILE:LINE:COL: message (exit status 2).\n";

static void
format_duration(int64_t ms, char *buf, size_t size)
{
	if (ms % 86400000 == 0)
		snprintf(buf, size, "%" PRId64 "d", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(buf, size, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, size, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, size, "%" PRId64 "ms", ms);
}

int
cmd_check(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct config *cfg;
	const struct watch_config *wc;
	char every[32];
	size_t i, k;

	if (cmd_getopt(argc, argv, "", NULL, check_usage, ctx) != -1)
		return KW_EXIT_USAGE;
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	printf("configuration OK: %s, %zu watches, state in %s\n", cfg->path,
	    cfg->nwatches, cfg->state_dir);
	for (i = 0; i < cfg->nwatches; i++) {
		wc = &cfg->watches[i];
		format_duration(wc->interval_ms, every, sizeof(every));
		/* what reads its items: an xpath (or css), a jq program, or
		 * a feed */
		if (wc->jq != NULL)
			printf("  %s: %s every %s, jq %s", wc->name, wc->url,
			    every, wc->jq);
		else if (wc->css != NULL)
			printf("  %s: %s every %s, css %s", wc->name, wc->url,
			    every, wc->css);
		else if (wc->xpath != NULL)
			printf("  %s: %s every %s, xpath %s", wc->name,
			    wc->url, every, wc->xpath);
		else
			printf("  %s: %s every %s, entries of the feed",
			    wc->name, wc->url, every);
		if (wc->nkeywords > 0) {
			printf(", keywords");
			for (k = 0; k < wc->nkeywords; k++)
				printf("%s%s", k ? ", " : " ",
				    wc->keywords[k]);
		}
		if (!wc->enabled)
			printf(" (disabled)");
		printf("\n");
	}
	config_free(cfg);
	return KW_EXIT_OK;
}
