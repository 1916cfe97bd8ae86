/* cmd_send: a text message to yourself, like the seed tutorials do. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kakaowatch/cmd.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"
#include "kakaowatch/store.h"
#include "kakaowatch/token.h"

static const char send_usage[] =
    "usage: kakaowatch send [-c FILE] [--link URL] [--button TITLE] TEXT\n"
    "\n"
    "Sends TEXT (up to 200 characters; longer text is cut with …) to your\n"
    "own KakaoTalk chat (나와의 채팅) as a text message, refreshing the\n"
    "access token first when it is due.\n"
    "\n"
    "  --link URL      where a tap on the message goes (its domain must be\n"
    "                  registered as a web domain of your Kakao app);\n"
    "                  default: kakao.default_link, else\n"
    "                  " MESSAGE_FALLBACK_LINK "\n"
    "  --button TITLE  the button's title (Kakao's default: 자세히 보기)\n";

/* count_sent: `send` messages count in max_messages_per_day too */
static void
count_sent(const struct config *cfg)
{
	struct kw_err err = { 0 };
	struct store *st;
	char day[16];

	st = store_open(cfg->state_dir, &err);
	deliver_kst_day(util_now_ms(), day, sizeof(day));
	if (st == NULL || store_sent_add(st, day, &err) != 0)
		log_warnx("store: %s; this message is not counted in "
			  "max_messages_per_day",
		    err.msg);
	store_close(st);
}

int
cmd_send(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "link", required_argument, NULL, 'l' },
		{ "button", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *link = NULL, *button = NULL;
	struct config *cfg;
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err err = { 0 };
	enum kakao_status s;
	char *tmpl = NULL;
	int c, status = KW_EXIT_FAILURE;

	while (
	    (c = cmd_getopt(argc, argv, "", longopts, send_usage, ctx)) != -1) {
		switch (c) {
		case 'l':
			link = optarg;
			break;
		case 'b':
			button = optarg;
			break;
		default:
			return KW_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || argv[optind][0] == '\0') {
		fputs(send_usage, stderr);
		return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	if (link != NULL && !message_url_ok(link)) {
		fprintf(stderr,
		    "kakaowatch: --link '%s' is not an absolute "
		    "http(s) URL\n",
		    link);
		status = KW_EXIT_USAGE;
		goto out;
	}
	tmpl = message_build_text(argv[optind],
	    link != NULL ? link : deliver_default_link(cfg), button, &err);
	if (tmpl == NULL)
		goto fail;
	deliver_kakao_client(cfg, &kc);
	s = kakao_session_begin(&kc, &tok, time(NULL), &err);
	if (s == KAKAO_OK)
		s = kakao_session_send(&kc, &tok, tmpl, time(NULL), &err);
	if (s != KAKAO_OK)
		goto fail;
	printf("sent\n");
	status = KW_EXIT_OK;
	count_sent(cfg);
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	token_release(&tok);
	free(tmpl);
	config_free(cfg);
	return status;
}
