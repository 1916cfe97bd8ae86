/*
 * fuzz_config: the YAML configuration loader (config_load, config.h).
 *
 * The input is written to a scratch file and loaded with the real XPath
 * hook. Checked for every input, besides the sanitizers:
 *   - success: a complete config within every documented limit (absolute,
 *     normalised paths, watches with unique valid names, http(s) URLs
 *     that can be the link of a KakaoTalk message (message_url_ok),
 *     compiling XPaths, ranges of every duration, size and count, headers
 *     as "Name: value" on one line, GET/POST, body only with POST);
 *   - failure: at least one error, each "FILE:LINE:COL: message" (or
 *     "FILE: message") on one line, in file order.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kakaowatch/config.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/key.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"

#include "fuzz_util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	extract_global_init();
	/* the hooks main.c sets (jq programs are not compiled here) */
	config_set_source_checks(extract_field_check, NULL);
	config_set_encoding_check(extract_encoding_check);
	log_init(LOG_LEVEL_ERROR);
	/* a fixed environment for ${VAR}, ~ and the state_dir default */
	setenv("HOME", "/home/kwfuzz", 1);
	setenv("XDG_STATE_HOME", "/var/lib/kwfuzz", 1);
	setenv("KAKAO_REST_API_KEY", "fuzz-rest-api-key", 1);
	setenv("KAKAO_CLIENT_SECRET", "fuzz-client-secret-0123", 1);
	setenv("KW_FUZZ_EMPTY", "", 1);
	setenv("KW_FUZZ_URL", "https://example.com/a", 1);
	setenv("KW_FUZZ_NESTED", "${KW_FUZZ_URL}", 1);
	return 0;
}

static bool
path_is_normal(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/')
		return false;
	if (strstr(p, "//") != NULL || strstr(p, "/./") != NULL)
		return false;
	if (n >= 2 && strcmp(p + n - 2, "/.") == 0)
		return false;
	return n == 1 || p[n - 1] != '/';
}

static bool
single_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
http_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	       strncasecmp(s, "https://", 8) == 0;
}

static void
check_watch(const struct config *cfg, const struct watch_config *w)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	size_t i, chars = 0;
	const char *p;

	FUZZ_CHECK(w->name != NULL && w->name[0] != '\0', "empty name");
	FUZZ_CHECK(fuzz_utf8_valid(w->name, strlen(w->name)), "name utf-8");
	for (p = w->name; *p != '\0'; p++)
		if (((unsigned char)*p & 0xC0) != 0x80)
			chars++;
	FUZZ_CHECK(chars <= CONFIG_NAME_MAX_CHARS, "name '%s' too long",
	    w->name);
	FUZZ_CHECK(strchr(w->name, ' ') == NULL, "space in name '%s'", w->name);
	FUZZ_CHECK(w->name[0] != '.' && w->name[0] != '_' && w->name[0] != '-',
	    "name '%s' starts badly", w->name);
	FUZZ_CHECK(config_find_watch(cfg, w->name) == w, "name '%s' unique",
	    w->name);
	FUZZ_CHECK(w->url != NULL && http_url(w->url) && single_line(w->url),
	    "url '%s'", w->url ? w->url : "(null)");
	FUZZ_CHECK(strchr(w->url, ' ') == NULL, "space in url");
	/* the page is the link of the watch's KakaoTalk messages */
	FUZZ_CHECK(message_url_ok(w->url), "url '%s' cannot be a message link",
	    w->url);
	/* feeds and jq watches need no xpath; HTML and XML ones do */
	FUZZ_CHECK(w->xpath != NULL || (w->parser != CONFIG_PARSER_HTML &&
					   w->parser != CONFIG_PARSER_XML),
	    "no xpath");
	if (w->xpath != NULL) {
		xp = extract_xpath_compile_ns(w->xpath,
		    (const char *const *)w->namespaces, w->nnamespaces / 2,
		    &err);
		FUZZ_CHECK(xp != NULL, "xpath '%s' passed the hook but: %s",
		    w->xpath, err.msg);
		extract_xpath_free(xp);
	}
	FUZZ_CHECK(w->method != NULL && (strcmp(w->method, "GET") == 0 ||
					    strcmp(w->method, "POST") == 0),
	    "method '%s'", w->method ? w->method : "(null)");
	FUZZ_CHECK(w->body == NULL || strcmp(w->method, "POST") == 0,
	    "body without POST");
	FUZZ_CHECK(w->user_agent != NULL && single_line(w->user_agent),
	    "user_agent");
	FUZZ_CHECK(w->interval_ms >= CONFIG_INTERVAL_MIN_MS &&
		       w->interval_ms <= CONFIG_INTERVAL_MAX_MS,
	    "interval %lld", (long long)w->interval_ms);
	FUZZ_CHECK(w->timeout_ms >= CONFIG_TIMEOUT_MIN_MS &&
		       w->timeout_ms <= CONFIG_TIMEOUT_MAX_MS,
	    "timeout %lld", (long long)w->timeout_ms);
	FUZZ_CHECK(w->max_bytes >= CONFIG_MAX_BYTES_MIN &&
		       w->max_bytes <= CONFIG_MAX_BYTES_MAX,
	    "max_bytes %lld", (long long)w->max_bytes);
	FUZZ_CHECK(w->jitter_pct >= 0 && w->jitter_pct <= CONFIG_JITTER_MAX_PCT,
	    "jitter %f", w->jitter_pct);
	FUZZ_CHECK(w->max_failures >= 1 &&
		       w->max_failures <= CONFIG_MAX_FAILURES_MAX,
	    "max_failures %d", w->max_failures);
	FUZZ_CHECK(w->notify_on >= 1 &&
		       w->notify_on <=
			   (NOTIFY_ADDED | NOTIFY_REMOVED | NOTIFY_CHANGED),
	    "notify_on %d", w->notify_on);
	FUZZ_CHECK(w->key_mode >= KEY_AUTO && w->key_mode <= KEY_TEXT_LINK,
	    "key %d", w->key_mode);
	for (i = 0; i < w->nkeywords; i++)
		FUZZ_CHECK(w->keywords[i] != NULL && w->keywords[i][0] != '\0',
		    "empty keyword");
	for (i = 0; i < w->nexclude; i++)
		FUZZ_CHECK(w->exclude[i] != NULL && w->exclude[i][0] != '\0',
		    "empty exclude");
	for (i = 0; i < w->nheaders; i++) {
		const char *h = w->headers[i], *colon = strchr(h, ':');

		FUZZ_CHECK(colon != NULL && colon > h && colon[1] == ' ',
		    "header '%s'", h);
		FUZZ_CHECK(single_line(h), "header '%s' on one line", h);
	}
	FUZZ_CHECK(w->pos.line >= 1 && w->pos.col >= 1, "watch position");
}

static void
check_config(const struct config *cfg, const char *path)
{
	size_t i;

	FUZZ_CHECK(cfg != NULL, "no config");
	FUZZ_CHECK(strcmp(cfg->path, path) == 0, "path");
	FUZZ_CHECK(cfg->state_dir != NULL && path_is_normal(cfg->state_dir),
	    "state_dir '%s'", cfg->state_dir ? cfg->state_dir : "(null)");
	FUZZ_CHECK(cfg->kakao.token_file != NULL &&
		       path_is_normal(cfg->kakao.token_file),
	    "token_file '%s'",
	    cfg->kakao.token_file ? cfg->kakao.token_file : "(null)");
	FUZZ_CHECK(cfg->kakao.redirect_uri != NULL, "redirect_uri");
	FUZZ_CHECK(cfg->kakao.auth_base_url != NULL &&
		       http_url(cfg->kakao.auth_base_url),
	    "auth_base_url");
	FUZZ_CHECK(cfg->kakao.api_base_url != NULL &&
		       http_url(cfg->kakao.api_base_url),
	    "api_base_url");
	FUZZ_CHECK(cfg->kakao.rest_api_key == NULL ||
		       cfg->kakao.rest_api_key[0] != '\0',
	    "empty rest_api_key");
	FUZZ_CHECK(cfg->kakao.client_secret == NULL ||
		       cfg->kakao.client_secret[0] != '\0',
	    "empty client_secret");
	FUZZ_CHECK(cfg->kakao.sink != CONFIG_SINK_KAKAO ||
		       cfg->kakao.rest_api_key != NULL,
	    "sink kakao without a key");
	FUZZ_CHECK(cfg->kakao.min_refresh_interval_ms >= 0 &&
		       cfg->kakao.min_refresh_interval_ms <=
			   CONFIG_MIN_REFRESH_MAX_MS,
	    "min_refresh_interval");
	FUZZ_CHECK(cfg->max_connections >= 1 &&
		       cfg->max_connections <= CONFIG_MAX_CONNECTIONS_MAX,
	    "max_conn");
	FUZZ_CHECK(cfg->max_connections_per_host >= 1 &&
		       cfg->max_connections_per_host <= CONFIG_MAX_PER_HOST_MAX,
	    "per host");
	FUZZ_CHECK(cfg->max_messages_per_check >= 1 &&
		       cfg->max_messages_per_check <=
			   CONFIG_MAX_MESSAGES_PER_CHECK_MAX,
	    "per check");
	FUZZ_CHECK(cfg->max_messages_per_day >= 1 &&
		       cfg->max_messages_per_day <=
			   CONFIG_MAX_MESSAGES_PER_DAY_MAX,
	    "per day");
	FUZZ_CHECK(cfg->history_days >= 1 &&
		       cfg->history_days <= CONFIG_HISTORY_DAYS_MAX,
	    "history_days");
	FUZZ_CHECK(cfg->nwatches >= 1 && cfg->watches != NULL, "no watches");
	for (i = 0; i < cfg->nwatches; i++)
		check_watch(cfg, &cfg->watches[i]);
}

/* "PATH:LINE:COL: msg" -> line/col; "PATH: msg" -> 0/0 */
static void
check_errors(const struct config_errors *errs, const char *path)
{
	size_t plen = strlen(path), i;
	unsigned long line, col, pline = 0, pcol = 0;
	const char *e, *p;
	char *end;

	FUZZ_CHECK(errs->n >= 1, "config_load failed without an error");
	for (i = 0; i < errs->n; i++) {
		e = errs->v[i];
		FUZZ_CHECK(strncmp(e, path, plen) == 0 && e[plen] == ':',
		    "error without FILE: '%s'", e);
		p = e + plen + 1;
		if (*p == ' ') {
			FUZZ_CHECK(p[1] != '\0', "empty message");
			continue;
		}
		line = strtoul(p, &end, 10);
		FUZZ_CHECK(end > p && *end == ':' && line >= 1,
		    "error without LINE: '%s'", e);
		p = end + 1;
		col = strtoul(p, &end, 10);
		FUZZ_CHECK(end > p && end[0] == ':' && end[1] == ' ' &&
			       end[2] != '\0' && col >= 1,
		    "error without COL: '%s'", e);
		FUZZ_CHECK(line > pline || (line == pline && col >= pcol),
		    "errors out of file order at '%s'", e);
		pline = line;
		pcol = col;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	const char *path = fuzz_temp_path(0, "config.yaml");
	int r;

	if (size > CONFIG_FILE_MAX_BYTES + 16)
		return 0;
	fuzz_write_file(path, data, size, 0600);
	r = config_load(path, extract_xpath_check, &cfg, &errs);
	if (r == 0) {
		FUZZ_CHECK(errs.n == 0, "errors on success");
		check_config(cfg, path);
	} else {
		FUZZ_CHECK(r == -1 && cfg == NULL, "failure with a config");
		check_errors(&errs, path);
	}
	config_free(cfg);
	config_errors_release(&errs);
	log_redact_clear();
	unlink(path);
	return 0;
}
