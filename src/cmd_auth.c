/*
 * cmd_auth: first-time authorization, OAuth 2.0 authorization code flow
 * (RFC 6749 §4.1; Kakao Login REST API, docs/kakao.md §1-§2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/cmd.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/log.h"
#include "kakaowatch/token.h"
#include "kakaowatch/deliver.h"

extern const char kw_auth_page[];

#define AUTH_TIMEOUT_MS (5 * 60 * 1000)

static const char auth_usage[] =
    "usage: kakaowatch auth [-c FILE] [--no-listen]\n"
    "       kakaowatch auth --code CODE\n"
    "       kakaowatch auth --redirect-url URL\n"
    "\n"
    "Connects kakaowatch to your KakaoTalk: prints the Kakao authorize URL\n"
    "(scope talk_message); open it, log in, agree. When kakao.redirect_uri\n"
    "is http://localhost:PORT/... or http://127.0.0.1:PORT/... kakaowatch\n"
    "listens there (127.0.0.1 only, 5 minutes) and finishes by itself;\n"
    "otherwise, or with --no-listen, paste the address your browser was\n"
    "sent to (or just the code) and press Enter. The tokens are saved to\n"
    "kakao.token_file (mode 0600).\n"
    "\n"
    "  --no-listen         do not listen; read the redirected URL from stdin\n"
    "  --code CODE         exchange this authorization code\n"
    "  --redirect-url URL  take the code from this redirected URL\n";

/* the value of `key` in the query part of url (decoded, caller frees) */
static char *
query_param(const char *url, const char *key)
{
	const char *q = strchr(url, '?'), *p, *end;
	size_t klen = strlen(key);
	char *raw, *val;

	if (q == NULL)
		return NULL;
	for (p = q + 1; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "&#");
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			raw = strndup(p + klen + 1, (size_t)(end - p) - klen - 1);
			if (raw == NULL)
				return NULL;
			val = util_url_decode(raw);
			free(raw);
			return val;
		}
		if (*end == '#')
			break;
	}
	return NULL;
}

/* loopback redirect_uri: http://localhost:PORT/path or 127.0.0.1 */
static int
parse_loopback(const char *uri, int *port, char *path, size_t pathsize)
{
	const char *p, *slash;
	char *end;
	long v;

	if (strncmp(uri, "http://localhost:", 17) == 0)
		p = uri + 17;
	else if (strncmp(uri, "http://127.0.0.1:", 17) == 0)
		p = uri + 17;
	else
		return -1;
	v = strtol(p, &end, 10);
	if (end == p || v <= 0 || v > 65535 || (*end != '/' && *end != '\0'))
		return -1;
	*port = (int)v;
	slash = *end == '/' ? end : "/";
	snprintf(path, pathsize, "%.*s", (int)strcspn(slash, "?#"), slash);
	return 0;
}

static void
html_escape(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		default:
			buf_append(b, s, 1);
		}
	}
}

static void
respond(int fd, int code, const char *title, const char *message)
{
	struct buf page, head;
	const char *p = kw_auth_page, *m;
	ssize_t n;
	size_t off;

	buf_init(&page, 0);
	buf_init(&head, 0);
	while ((m = strchr(p, '@')) != NULL) {
		buf_append(&page, p, (size_t)(m - p));
		if (strncmp(m, "@TITLE@", 7) == 0) {
			html_escape(&page, title);
			p = m + 7;
		} else if (strncmp(m, "@MESSAGE@", 9) == 0) {
			html_escape(&page, message);
			p = m + 9;
		} else {
			buf_append(&page, m, 1);
			p = m + 1;
		}
	}
	buf_puts(&page, p);
	buf_printf(&head,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n",
	    code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Bad Request",
	    page.len);
	buf_append(&head, page.data, page.len);
	for (off = 0; off < head.len; off += (size_t)n) {
		n = write(fd, head.data + off, head.len - off);
		if (n <= 0)
			break;
	}
	buf_release(&page);
	buf_release(&head);
}

/* read one request head (up to 8 KiB) within the deadline */
static int
read_request(int fd, char *req, size_t size, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;
	int64_t left;

	while (len < size - 1) {
		left = deadline - util_mono_ms();
		if (left <= 0 || poll(&pfd, 1, (int)(left > 10000 ? 10000 : left)) <= 0)
			return -1;
		n = read(fd, req + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n"))
			return 0;
	}
	return -1;
}

static int
exchange(const struct config *cfg, const char *code, struct kw_err *err)
{
	struct kakao_client kc;
	struct token tok = { 0 };
	enum kakao_status s;
	char until[64], rt_until[64];
	time_t t;
	struct tm tm;
	int result = -1;

	deliver_kakao_client(cfg, &kc);
	log_redact_add(code);
	if (util_mkdir_p(cfg->state_dir, 0700, err) != 0)
		return -1;
	s = kakao_exchange_code(&kc, code, &tok, time(NULL), err);
	if (s != KAKAO_OK)
		goto out;
	if (token_save(cfg->kakao.token_file, &tok, err) != 0)
		goto out;
	t = (time_t)tok.access_token_expires_at;
	localtime_r(&t, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d %H:%M", &tm);
	t = (time_t)tok.refresh_token_expires_at;
	localtime_r(&t, &tm);
	strftime(rt_until, sizeof(rt_until), "%Y-%m-%d %H:%M", &tm);
	printf("KakaoTalk connected: tokens saved to %s\n"
	       "access token valid until %s, refresh token until %s;\n"
	       "kakaowatch refreshes them by itself from now on.\n",
	    cfg->kakao.token_file, until, rt_until);
	result = 0;
out:
	token_release(&tok);
	return result;
}

static int
listen_for_code(const struct config *cfg, int port, const char *path,
    const char *state, struct kw_err *err)
{
	struct sockaddr_in sa = { 0 };
	char req[8192], target[4096];
	char *code = NULL, *got_state = NULL, *error = NULL, *q;
	int lfd, fd, one = 1, result = -1;
	int64_t deadline = util_mono_ms() + AUTH_TIMEOUT_MS, left;
	struct pollfd pfd;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return kw_err_set(err, "socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 4) != 0) {
		kw_err_set(err,
		    "cannot listen on 127.0.0.1:%d (%s); use `kakaowatch "
		    "auth --no-listen` and paste the address instead",
		    port, strerror(errno));
		goto out;
	}
	fprintf(stderr, "waiting for the browser on 127.0.0.1:%d%s "
			"(5 minutes)...\n",
	    port, path);
	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0) {
			kw_err_set(err, "no answer from the browser within 5 "
					"minutes; run `kakaowatch auth` again");
			goto out;
		}
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (read_request(fd, req, sizeof(req), util_mono_ms() + 10000) !=
			0 ||
		    sscanf(req, "GET %4095s HTTP/", target) != 1) {
			respond(fd, 400, "kakaowatch", "bad request");
			close(fd);
			continue;
		}
		q = strchr(target, '?');
		if (strncmp(target, path, strlen(path)) != 0 ||
		    (target[strlen(path)] != '\0' && q != target + strlen(path))) {
			respond(fd, 404, "kakaowatch", "not found");
			close(fd);
			continue;
		}
		util_wipe_free(code);
		free(got_state);
		free(error);
		code = query_param(target, "code");
		got_state = query_param(target, "state");
		error = query_param(target, "error");
		if (got_state == NULL || strcmp(got_state, state) != 0) {
			/* not the answer to our request: ignore it */
			respond(fd, 400, "kakaowatch",
			    "state does not match this login; start again "
			    "with kakaowatch auth");
			close(fd);
			continue;
		}
		if (error != NULL || code == NULL) {
			respond(fd, 400, "KakaoTalk 연결 취소",
			    "Kakao did not authorize kakaowatch. Run "
			    "`kakaowatch auth` again.");
			close(fd);
			kw_err_set(err, "Kakao answered '%s': authorization "
					"not given; run `kakaowatch auth` "
					"again",
			    error ? error : "no code");
			goto out;
		}
		log_redact_add(code);
		result = exchange(cfg, code, err);
		if (result == 0)
			respond(fd, 200, "KakaoTalk 연결 완료",
			    "kakaowatch is connected to your KakaoTalk. "
			    "You can close this tab.");
		else
			respond(fd, 400, "KakaoTalk 연결 실패", err->msg);
		close(fd);
		goto out;
	}
out:
	util_wipe_free(code);
	free(got_state);
	free(error);
	close(lfd);
	return result;
}

/* a pasted line: the redirected URL (checked against state) or the code */
static int
code_from_input(const char *line, const char *state, char **code,
    struct kw_err *err)
{
	char *got_state, *error;

	*code = NULL;
	if (strstr(line, "://") == NULL && strchr(line, '?') == NULL) {
		*code = strdup(line);
		return *code ? 0 : kw_err_set(err, "out of memory");
	}
	error = query_param(line, "error");
	if (error != NULL) {
		kw_err_set(err, "Kakao answered '%s': authorization not given",
		    error);
		free(error);
		return -1;
	}
	got_state = query_param(line, "state");
	if (state != NULL && got_state != NULL &&
	    strcmp(got_state, state) != 0) {
		free(got_state);
		return kw_err_set(err, "the address is from another login "
				       "(state does not match); run "
				       "`kakaowatch auth` again");
	}
	free(got_state);
	*code = query_param(line, "code");
	if (*code == NULL)
		return kw_err_set(err, "no code= in that address");
	log_redact_add(*code);
	return 0;
}

int
cmd_auth(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "no-listen", no_argument, NULL, 'n' },
		{ "code", required_argument, NULL, 'C' },
		{ "redirect-url", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given_code = NULL, *redirect_url = NULL;
	struct config *cfg;
	struct kakao_client kc;
	struct kw_err err = { 0 };
	bool no_listen = false;
	char state[33], path[1024], line[4096], *url = NULL, *code = NULL;
	int c, port, status = KW_EXIT_FAILURE;

	while ((c = cmd_getopt(argc, argv, "", longopts, auth_usage, ctx)) !=
	    -1) {
		switch (c) {
		case 'n':
			no_listen = true;
			break;
		case 'C':
			given_code = optarg;
			log_redact_add(optarg);
			break;
		case 'r':
			redirect_url = optarg;
			break;
		default:
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fputs(auth_usage, stderr);
		return KW_EXIT_USAGE;
	}
	cfg = cmd_load_config(ctx);
	if (cfg == NULL)
		return KW_EXIT_USAGE;
	if (cfg->kakao.rest_api_key == NULL ||
	    cfg->kakao.rest_api_key[0] == '\0') {
		fprintf(stderr,
		    "kakaowatch: kakao.rest_api_key is empty: set "
		    "KAKAO_REST_API_KEY to your app's REST API key (Kakao "
		    "Developers > 앱 > 플랫폼 키)\n");
		status = KW_EXIT_USAGE;
		goto out;
	}
	if (given_code != NULL) {
		if (exchange(cfg, given_code, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
		goto out;
	}
	if (redirect_url != NULL) {
		if (code_from_input(redirect_url, NULL, &code, &err) != 0 ||
		    exchange(cfg, code, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
		goto out;
	}
	if (util_random_hex(state, 16) != 0) {
		kw_err_set(&err, "no randomness for the state parameter");
		goto fail;
	}
	deliver_kakao_client(cfg, &kc);
	url = kakao_authorize_url(&kc, state);
	if (url == NULL) {
		kw_err_set(&err, "out of memory");
		goto fail;
	}
	printf("Open this address in your browser, log in to Kakao and "
	       "agree:\n\n  %s\n\n",
	    url);
	fflush(stdout);
	if (!no_listen &&
	    parse_loopback(cfg->kakao.redirect_uri, &port, path,
		sizeof(path)) == 0) {
		if (listen_for_code(cfg, port, path, state, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
		goto out;
	}
	printf("Then paste the address your browser was sent to (it starts "
	       "with %s), or just the code, and press Enter:\n",
	    cfg->kakao.redirect_uri);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		kw_err_set(&err, "no input");
		goto fail;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (code_from_input(line, state, &code, &err) != 0 ||
	    exchange(cfg, code, &err) != 0)
		goto fail;
	status = KW_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	free(url);
	util_wipe_free(code);
	config_free(cfg);
	return status;
}
