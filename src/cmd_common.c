/* cmd_common: option parsing and config loading shared by the commands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/check.h"
#include "kakaowatch/cmd.h"
#include "kakaowatch/http.h"
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

static struct extract_xpath_set *xpaths;

struct extract_xpath_set *
cmd_xpaths(void)
{
	if (xpaths == NULL)
		xpaths = extract_xpath_set_new();
	return xpaths;
}

void
cmd_xpaths_free(void)
{
	extract_xpath_set_free(xpaths);
	xpaths = NULL;
}

struct config *
cmd_load_config(const struct cmd_ctx *ctx)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct kw_err err = { 0 };
	size_t i;
	int r;

	/* without a set (out of memory) the check compiles and frees */
	extract_xpath_set_checking(cmd_xpaths());
	r = config_load(ctx->config_path, extract_xpath_set_check, &cfg, &errs);
	extract_xpath_set_checking(NULL);
	if (r != 0) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		config_errors_release(&errs);
		return NULL;
	}
	config_errors_release(&errs);
	if (extract_set_default_encoding(cfg->default_encoding, &err) != 0) {
		fprintf(stderr, "%s: default_encoding: %s\n", cfg->path,
		    err.msg);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct fetch_wait {
	struct http_response *resp;
	bool done;
};

static void
fetched(void *user, struct http_response *resp)
{
	struct fetch_wait *fw = user;

	*fw->resp = *resp;
	/* take every owned field: the http module's copy is now empty */
	memset(resp, 0, sizeof(*resp));
	fw->done = true;
}

int
cmd_fetch(const struct watch_config *wc, struct http_response *resp,
    struct kw_err *err)
{
	struct fetch_wait fw = { resp, false };
	struct http_request req;
	struct http *http;
	int result = -1;

	memset(resp, 0, sizeof(*resp));
	http = http_new(1, 1, err);
	if (http == NULL)
		return -1;
	check_request_init(&req, wc);
	if (http_submit(http, &req, fetched, &fw, err) != 0 ||
	    http_run(http) != 0)
		goto out;
	if (!fw.done) {
		kw_err_set(err, "'%s': no response", wc->name);
		goto out;
	}
	if (resp->error != HTTP_OK) {
		kw_err_set(err, "'%s': %s", wc->name, resp->errmsg);
		goto out;
	}
	if (resp->status < 200 || resp->status >= 300) {
		kw_err_set(err, "'%s': HTTP %ld", wc->name, resp->status);
		goto out;
	}
	result = 0;
out:
	if (result != 0)
		http_response_release(resp);
	http_free(http);
	return result;
}
