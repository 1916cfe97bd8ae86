/*
 * cmd_auth: first-time authorization, OAuth 2.0 authorization code flow
 * (RFC 6749 §4.1; Kakao Login REST API, docs/kakao.md §1-§2).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>

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
    "       kakaowatch auth --code -        (the code on stdin)\n"
    "       KAKAO_AUTH_CODE=CODE kakaowatch auth\n"
    "       kakaowatch auth --code CODE\n"
    "       kakaowatch auth --redirect-url URL\n"
    "       kakaowatch auth --import FILE\n"
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
    "  --code -            read the authorization code (or the redirected\n"
    "                      URL) from stdin; so does $KAKAO_AUTH_CODE\n"
    "  --code CODE         exchange this code; for scripts only: every\n"
    "                      local user sees it in the process list\n"
    "  --redirect-url URL  take the code from this redirected URL (also\n"
    "                      visible in the process list)\n"
    "  --import FILE       take the tokens of a Python tutorial's\n"
    "                      kakao_code.json or kakao_token.json (the token\n"
    "                      answer as Kakao sent it), check them with one\n"
    "                      refresh and save them 0600\n";

static bool scope_has_talk_message(const char *scope);

/*
 * import_tokens (`auth --import FILE`): a token file written by the seed
 * tutorials (json.dump of the token answer, docs/kakao.md §2.1; often mode
 * 0644), whatever its mode; one refresh proves its refresh token works,
 * then it is saved as kakao.token_file.
 */
static int
import_tokens(const struct config *cfg, const char *path, struct kw_err *err)
{
	struct kakao_client kc;
	struct token tok = { 0 };
	struct kw_err lerr = { 0 };
	struct stat st;
	enum kakao_status s;
	size_t len = 0;
	char *text;
	int result = -1;

	text = util_read_file(path, TOKEN_FILE_MAX_BYTES, &len, &lerr);
	if (text == NULL)
		return kw_err_set(err, "%s", lerr.msg);
	if (stat(path, &st) != 0)
		memset(&st, 0, sizeof(st));
	/* the tutorials saved the answer when it came: its mtime is "now" */
	if (token_apply_response(&tok, text, (int64_t)st.st_mtime, &lerr) !=
	    0) {
		kw_err_set(err, "'%s' is not a Kakao token answer (%s)", path,
		    lerr.msg);
		goto out;
	}
	if (tok.refresh_token == NULL) {
		kw_err_set(err,
		    "'%s' has no refresh_token (a tutorial that "
		    "saved a refresh answer without one overwrote it); run "
		    "`kakaowatch auth` instead",
		    path);
		goto out;
	}
	if (util_mkdir_p(cfg->state_dir, 0700, err) != 0)
		goto out;
	deliver_kakao_client(cfg, &kc);
	s = kakao_session_adopt(&kc, &tok, time(NULL), err);
	if (s != KAKAO_OK)
		goto out;
	if (!scope_has_talk_message(tok.scope))
		fprintf(stderr,
		    "kakaowatch: warning: these tokens have no "
		    "talk_message consent (scope '%s'); sending "
		    "will fail with -402: run `kakaowatch auth`\n",
		    tok.scope);
	printf("imported '%s': tokens checked with one refresh and saved "
	       "to %s (mode 0600)\n",
	    path, cfg->kakao.token_file);
	if ((st.st_mode & 077) != 0)
		printf("'%s' is readable by other users and holds a refresh "
		       "token: delete it (kakaowatch does not need it any "
		       "more)\n",
		    path);
	result = 0;
out:
	if (text != NULL) {
		memset(text, 0, len);
		free(text);
	}
	token_release(&tok);
	return result;
}

/* read_code_line: one line from stdin (the code or the redirected URL) */
static int
read_code_line(char *line, size_t size, struct kw_err *err)
{
	if (fgets(line, (int)size, stdin) == NULL)
		return kw_err_set(err, "no authorization code on stdin");
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		return kw_err_set(err, "no authorization code on stdin");
	return 0;
}

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
			raw =
			    strndup(p + klen + 1, (size_t)(end - p) - klen - 1);
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
	    code,
	    code == 200 ? "OK" :
	    code == 404 ? "Not Found" :
			  "Bad Request",
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

/*
 * scope_has_talk_message: the granted scopes (space-separated, docs/
 * kakao.md §2.1) include talk_message; an answer without `scope` cannot
 * be checked and passes
 */
static bool
scope_has_talk_message(const char *scope)
{
	const char *p;
	size_t n;

	if (scope == NULL)
		return true;
	for (p = scope; *p != '\0'; p += n) {
		p += strspn(p, " ,");
		n = strcspn(p, " ,");
		if (n == strlen("talk_message") &&
		    strncmp(p, "talk_message", n) == 0)
			return true;
	}
	return false;
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
	if (!scope_has_talk_message(tok.scope)) {
		kw_err_set(err,
		    "Kakao connected kakaowatch without the "
		    "카카오톡 메시지 전송 (talk_message) consent (granted: "
		    "'%s'), so it could not send anything: tick that box on "
		    "the consent screen; if it is not offered, turn it on in "
		    "Kakao Developers > [카카오 로그인] > [동의항목] > 카카오톡 "
		    "메시지 전송 (사용 설정, 선택 동의), then run `kakaowatch "
		    "auth` again. Nothing was saved",
		    tok.scope);
		goto out;
	}
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

/* one browser connection of the listener */
struct auth_conn {
	int fd;
	size_t len;
	int64_t deadline; /* monotonic ms */
	char req[8192];
};

#define AUTH_MAX_CONNS 16
/* a connection that sends no request (a browser preconnect) is closed
 * after this; the others are served meanwhile */
#define AUTH_CONN_TIMEOUT_MS 10000

/*
 * handle_request answers one complete request head. Returns 1 when the
 * authorization ended (result in *result), 0 to go on listening.
 */
static int
handle_request(const struct config *cfg, int fd, const char *req,
    const char *path, const char *state, int *result, struct kw_err *err)
{
	char target[4096];
	char *code = NULL, *got_state = NULL, *error = NULL, *q;
	int done = 0;

	if (sscanf(req, "GET %4095s HTTP/", target) != 1) {
		respond(fd, 400, "kakaowatch", "bad request");
		return 0;
	}
	q = strchr(target, '?');
	if (strncmp(target, path, strlen(path)) != 0 ||
	    (target[strlen(path)] != '\0' && q != target + strlen(path))) {
		respond(fd, 404, "kakaowatch", "not found");
		return 0;
	}
	code = query_param(target, "code");
	got_state = query_param(target, "state");
	error = query_param(target, "error");
	if (code != NULL)
		log_redact_add(code);
	/* error first: 취소 ends the command at once (Kakao may send the
	 * error without our state); a state that is there must match */
	if (got_state != NULL && strcmp(got_state, state) != 0) {
		respond(fd, 400, "kakaowatch",
		    "state does not match this login; start again with "
		    "kakaowatch auth");
		goto out;
	}
	if (error != NULL) {
		respond(fd, 400, "KakaoTalk 연결 취소",
		    "Kakao did not authorize kakaowatch. Run `kakaowatch "
		    "auth` again.");
		kw_err_set(err,
		    "Kakao answered '%s': authorization not given; "
		    "run `kakaowatch auth` again and agree (the consent "
		    "screen's 동의하고 계속하기)",
		    error);
		*result = -1;
		done = 1;
		goto out;
	}
	if (got_state == NULL || code == NULL) {
		/* not the answer to our request: ignore it */
		respond(fd, 400, "kakaowatch",
		    "no code and state: this is not Kakao's answer to this "
		    "login");
		goto out;
	}
	*result = exchange(cfg, code, err);
	if (*result == 0)
		respond(fd, 200, "KakaoTalk 연결 완료",
		    "kakaowatch is connected to your KakaoTalk. You can close "
		    "this tab.");
	else
		respond(fd, 400, "KakaoTalk 연결 실패", err->msg);
	done = 1;
out:
	util_wipe_free(code);
	free(got_state);
	free(error);
	return done;
}

static void
conn_close(struct auth_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int
listen_for_code(const struct config *cfg, int port, const char *path,
    const char *state, struct kw_err *err)
{
	struct sockaddr_in sa = { 0 };
	struct auth_conn *conns;
	struct pollfd pfd[AUTH_MAX_CONNS + 1];
	int map[AUTH_MAX_CONNS + 1];
	int lfd, fd, one = 1, result = -1, i, n, timeout;
	int64_t deadline = util_mono_ms() + AUTH_TIMEOUT_MS, now, next;
	ssize_t got;

	conns = calloc(AUTH_MAX_CONNS, sizeof(*conns));
	if (conns == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < AUTH_MAX_CONNS; i++)
		conns[i].fd = -1;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		free(conns);
		return kw_err_set(err, "socket: %s", strerror(errno));
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, AUTH_MAX_CONNS) != 0) {
		kw_err_set(err,
		    "cannot listen on 127.0.0.1:%d (%s); use `kakaowatch "
		    "auth --no-listen` and paste the address instead",
		    port, strerror(errno));
		goto out;
	}
	fprintf(stderr,
	    "waiting for the browser on 127.0.0.1:%d%s "
	    "(5 minutes)...\n",
	    port, path);
	for (;;) {
		now = util_mono_ms();
		if (now >= deadline) {
			kw_err_set(err, "no answer from the browser within 5 "
					"minutes; run `kakaowatch auth` again");
			goto out;
		}
		/* every connection at once: a preconnect blocks nobody */
		n = 0;
		next = deadline;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (i = 0; i < AUTH_MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			if (conns[i].deadline <= now) {
				conn_close(&conns[i]);
				continue;
			}
			if (conns[i].deadline < next)
				next = conns[i].deadline;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN;
			map[n++] = i;
		}
		timeout = (int)(next - now);
		if (poll(pfd, (nfds_t)n, timeout) <= 0)
			continue;
		for (i = 1; i < n; i++) {
			struct auth_conn *c = &conns[map[i]];

			if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) ==
			    0)
				continue;
			got = read(c->fd, c->req + c->len,
			    sizeof(c->req) - 1 - c->len);
			if (got <= 0) {
				conn_close(c);
				continue;
			}
			c->len += (size_t)got;
			c->req[c->len] = '\0';
			if (strstr(c->req, "\r\n\r\n") == NULL &&
			    strstr(c->req, "\n\n") == NULL) {
				if (c->len >= sizeof(c->req) - 1) {
					respond(c->fd, 400, "kakaowatch",
					    "request too large");
					conn_close(c);
				}
				continue;
			}
			if (handle_request(cfg, c->fd, c->req, path, state,
				&result, err)) {
				conn_close(c);
				goto out;
			}
			conn_close(c);
		}
		if ((pfd[0].revents & POLLIN) != 0) {
			fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
			for (i = 0; i < AUTH_MAX_CONNS && conns[i].fd >= 0; i++)
				;
			if (i == AUTH_MAX_CONNS) {
				close(fd); /* too many at once */
				continue;
			}
			conns[i].fd = fd;
			conns[i].len = 0;
			conns[i].deadline =
			    util_mono_ms() + AUTH_CONN_TIMEOUT_MS;
		}
	}
out:
	for (i = 0; i < AUTH_MAX_CONNS; i++)
		conn_close(&conns[i]);
	free(conns);
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
		{ "import", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *given_code = NULL, *redirect_url = NULL, *import = NULL;
	struct config *cfg;
	struct kakao_client kc;
	struct kw_err err = { 0 };
	bool no_listen = false;
	char state[33], path[1024], line[4096], *url = NULL, *code = NULL;
	int c, port, status = KW_EXIT_FAILURE;

	while (
	    (c = cmd_getopt(argc, argv, "", longopts, auth_usage, ctx)) != -1) {
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
		case 'i':
			import = optarg;
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
	if (import != NULL) {
		if (import_tokens(cfg, import, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
		goto out;
	}
	if (given_code == NULL && getenv("KAKAO_AUTH_CODE") != NULL &&
	    getenv("KAKAO_AUTH_CODE")[0] != '\0') {
		given_code = getenv("KAKAO_AUTH_CODE");
		log_redact_add(given_code);
	}
	if (given_code != NULL && strcmp(given_code, "-") == 0) {
		/* not in argv: other local users cannot see it */
		if (read_code_line(line, sizeof(line), &err) != 0 ||
		    code_from_input(line, NULL, &code, &err) != 0)
			goto fail;
		log_redact_add(code);
		if (exchange(cfg, code, &err) != 0)
			goto fail;
		status = KW_EXIT_OK;
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
	if (!no_listen && parse_loopback(cfg->kakao.redirect_uri, &port, path,
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
