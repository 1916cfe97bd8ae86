/* cmd_token: `token status` (expiry times, never tokens), `token refresh`. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/token.h"

static const char token_usage[] =
    "usage: kakaowatch token [-c FILE] status\n"
    "       kakaowatch token [-c FILE] refresh\n"
    "\n"
    "status   when the stored access and refresh tokens expire (the tokens\n"
    "         themselves are never shown)\n"
    "refresh  get a new access token from the refresh token now\n";

static void
print_expiry(const char *what, int64_t at, int64_t now)
{
	char when[64];
	time_t t = (time_t)at;
	struct tm tm;
	int64_t left = at - now;

	if (at <= 0) {
		printf("%-14s unknown (refreshed before the next send)\n",
		    what);
		return;
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	if (left <= 0)
		printf("%-14s expired at %s\n", what, when);
	else if (left >= 86400)
		printf("%-14s expires %s (in %" PRId64 "d %" PRId64 "h)\n",
		    what, when, left / 86400, left % 86400 / 3600);
	else
		printf("%-14s expires %s (in %" PRId64 "h %" PRId64 "m)\n",
		    what, when, left / 3600, left % 3600 / 60);
}

static void
print_status(const char *path, const struct token *tok)
{
	int64_t now = time(NULL);

	printf("%-14s %s\n", "token file", path);
	print_expiry("access token", tok->access_token_expires_at, now);
	print_expiry("refresh token", tok->refresh_token_expires_at, now);
	printf("%-14s %s\n", "scope", tok->scope ? tok->scope : "(not given)");
}

int
cmd_token(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct config *cfg;
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err err = { 0 };
	const char *verb;
	int status = KW_EXIT_FAILURE;

	if (cmd_getopt(argc, argv, "", NULL, token_usage, ctx) != -1)
		return KW_EXIT_USAGE;
	if (optind != argc - 1) {
		fputs(token_usage, stderr);
		return KW_EXIT_USAGE;
	}
	verb = argv[optind];
	if (strcmp(verb, "status") != 0 && strcmp(verb, "refresh") != 0) {
		fputs(token_usage, stderr);
		return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	if (strcmp(verb, "status") == 0) {
		if (token_load(cfg->kakao.token_file, &tok, &err) != 0)
			goto fail;
	} else {
		deliver_kakao_client(cfg, &kc);
		if (kakao_session_refresh(&kc, &tok, time(NULL), &err) !=
		    KAKAO_OK)
			goto fail;
		printf("refreshed\n");
	}
	print_status(cfg->kakao.token_file, &tok);
	status = KW_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	token_release(&tok);
	config_free(cfg);
	return status;
}
