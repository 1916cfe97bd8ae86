/* cmd_check: validate the configuration, then summarise every watch. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <inttypes.h>
#include <stdio.h>

#include "kakaowatch/render.h"
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

/*
 * Kakao's console limit of web domains per app is not documented where we
 * looked (docs/kakao.md §0: UNCONFIRMED); 10 is the older console's limit
 * of site domains
 */
#define WEB_DOMAINS_MAX 10

/* url_host: the lower-case host of an http(s) URL into out ("" if none) */
static void
url_host(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n, i;

	out[0] = '\0';
	if (p == NULL || size == 0)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL)
		p = at + 1;
	if (*p == '[') {
		n = strcspn(p, "]");
		n = p[n] == ']' ? n + 1 : n;
	} else {
		n = strcspn(p, ":/?#");
	}
	if (n > (size_t)(end - p))
		n = (size_t)(end - p);
	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
}

static bool
domain_listed(const struct config *cfg, const char *host)
{
	size_t i;

	for (i = 0; i < cfg->kakao.nweb_domains; i++)
		if (strcasecmp(cfg->kakao.web_domains[i], host) == 0)
			return true;
	return false;
}

/*
 * print_web_domains: the hosts the messages link to (each watch's page;
 * items on other hosts need theirs too), to register in the Kakao app
 */
static void
print_web_domains(const struct config *cfg)
{
	/* clang-format 14 would write char(*hosts)[256] */
	/* clang-format off */
	char (*hosts)[256];
	/* clang-format on */
	size_t n = 0, i, j, missing = 0;

	hosts = calloc(cfg->nwatches ? cfg->nwatches : 1, sizeof(*hosts));
	if (hosts == NULL)
		return;
	for (i = 0; i < cfg->nwatches; i++) {
		url_host(cfg->watches[i].url, hosts[n], sizeof(hosts[n]));
		if (hosts[n][0] == '\0')
			continue;
		for (j = 0; j < n && strcmp(hosts[j], hosts[n]) != 0; j++)
			;
		if (j == n)
			n++;
	}
	printf("web domains the messages link to (register each in the Kakao "
	       "app: [앱] > [제품 링크 관리] > [웹 도메인]; a tap on a link "
	       "to another domain does nothing):");
	for (i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", hosts[i]);
	printf("\n");
	if (n > WEB_DOMAINS_MAX)
		printf("warning: %zu web domains; the Kakao console may allow "
		       "only %d (UNCONFIRMED, see docs/kakao.md): links to the "
		       "others will not open\n",
		    n, WEB_DOMAINS_MAX);
	if (cfg->kakao.nweb_domains > 0) {
		for (i = 0; i < n; i++) {
			if (domain_listed(cfg, hosts[i]))
				continue;
			if (missing == 0)
				printf("warning: not in kakao.web_domains "
				       "(register them):");
			printf("%s%s", missing ? ", " : " ", hosts[i]);
			missing++;
		}
		if (missing > 0)
			printf("\n");
		else
			printf("all of them are in kakao.web_domains\n");
	} else {
		printf("(list the registered ones in kakao.web_domains and "
		       "`check` names the missing ones)\n");
	}
	free(hosts);
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
	for (i = 0; i < cfg->nwatches; i++) {
		struct kw_err err = { 0 };
		char *path = NULL;

		if (cfg->watches[i].render != CONFIG_RENDER_BROWSER ||
		    !cfg->watches[i].enabled)
			continue;
		if (render_find_browser(cfg->browser, &path, &err) != 0) {
			fprintf(stderr,
			    "%s: watch '%s' has render: browser: %s\n",
			    cfg->path, cfg->watches[i].name, err.msg);
			config_free(cfg);
			return KW_EXIT_USAGE;
		}
		free(path);
		break;
	}
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
			printf("  %s: %s every %s, xpath %s", wc->name, wc->url,
			    every, wc->xpath);
		else
			printf("  %s: %s every %s, entries of the feed",
			    wc->name, wc->url, every);
		if (wc->nkeywords > 0) {
			printf(", keywords");
			for (k = 0; k < wc->nkeywords; k++)
				printf("%s%s", k ? ", " : " ", wc->keywords[k]);
		}
		if (!wc->enabled)
			printf(" (disabled)");
		printf("\n");
	}
	print_web_domains(cfg);
	config_free(cfg);
	return KW_EXIT_OK;
}
