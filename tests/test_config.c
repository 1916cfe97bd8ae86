/* tests for config: YAML -> struct config, FILE:LINE:COL errors */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "kakaowatch/config.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/key.h"
#include "kakaowatch/log.h"

static char path_buf[PATH_MAX];

/* the path of a fixture in tests/data/config */
static const char *
fixture(const char *name)
{
	const char *dir = getenv("KW_DATA_DIR");

	assert_non_null(dir);
	snprintf(path_buf, sizeof(path_buf), "%s/config/%s", dir, name);
	return path_buf;
}

/* the path of a shipped file under the source tree */
static const char *
shipped(const char *name)
{
	const char *dir = getenv("KW_SOURCE_DIR");

	assert_non_null(dir);
	snprintf(path_buf, sizeof(path_buf), "%s/config/%s", dir, name);
	return path_buf;
}

/* the fixture directory, as an absolute path */
static void
fixture_dir(char *out, size_t size)
{
	const char *dir = getenv("KW_DATA_DIR");

	assert_non_null(dir);
	snprintf(out, size, "%s/config", dir);
}

static void
xml_ignore(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

/* the real thing: compile with libxml2, as extract_xpath_check does */
static int
libxml_xpath_check(const char *xpath, char *msg, size_t msgsize)
{
	xmlXPathCompExprPtr comp;
	const xmlError *e;

	xmlResetLastError();
	comp = xmlXPathCompile((const xmlChar *)xpath);
	if (comp != NULL) {
		xmlXPathFreeCompExpr(comp);
		return 0;
	}
	e = xmlGetLastError();
	snprintf(msg, msgsize, "%s",
	    e != NULL && e->message != NULL ? e->message : "invalid");
	msg[strcspn(msg, "\n")] = '\0';
	return -1;
}

static int fake_calls;

/* a fake checker: rejects unbalanced brackets, counts its calls */
static int
fake_xpath_check(const char *xpath, char *msg, size_t msgsize)
{
	int depth = 0;

	fake_calls++;
	for (; *xpath != '\0'; xpath++) {
		if (*xpath == '[')
			depth++;
		else if (*xpath == ']')
			depth--;
	}
	if (depth != 0) {
		snprintf(msg, msgsize, "unbalanced brackets");
		return -1;
	}
	return 0;
}

static void
clean_env(void)
{
	unsetenv("KW_TEST_REST_KEY");
	unsetenv("KW_TEST_CLIENT_SECRET");
	unsetenv("KW_TEST_HEADER");
	unsetenv("KW_TEST_BASE");
	unsetenv("KW_TEST_UNSET_UA");
	unsetenv("KW_TEST_DEFINITELY_UNSET_KEY");
	unsetenv("KAKAOWATCH_STATE_DIR");
	unsetenv("KAKAO_REST_API_KEY");
	unsetenv("KAKAO_CLIENT_SECRET");
	unsetenv("BOARD_QUERY");
	setenv("HOME", "/home/kwtest", 1);
	unsetenv("XDG_STATE_HOME");
}

static struct config *
load_ok(const char *path, config_xpath_check_fn check)
{
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	size_t i;
	int r;

	r = config_load(path, check, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "unexpected: %s\n", errs.v[i]);
	assert_int_equal(r, 0);
	assert_int_equal(errs.n, 0);
	assert_non_null(cfg);
	config_errors_release(&errs);
	return cfg;
}

/*
 * load_fail loads a fixture that must fail and checks that the errors are
 * exactly `expected` ("LINE:COL: message" after "FILE:"), in order.
 */
static void
load_fail_with(const char *name, config_xpath_check_fn check, size_t n,
    const char *const *expected)
{
	struct config_errors errs = { 0 };
	struct config *cfg = (struct config *)&errs; /* must become NULL */
	const char *path = fixture(name);
	char want[PATH_MAX + 2048];
	size_t i;
	int r;

	r = config_load(path, check, &cfg, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "got: %s\n", errs.v[i]);
	assert_int_equal(r, -1);
	assert_null(cfg);
	assert_int_equal(errs.n, n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "%s:%s", path, expected[i]);
		assert_string_equal(errs.v[i], want);
	}
	config_errors_release(&errs);
	assert_int_equal(errs.n, 0);
	assert_null(errs.v);
}

static void
load_fail(const char *name, const char *expected)
{
	load_fail_with(name, NULL, 1, &expected);
}

/* --- valid files --------------------------------------------------------- */

static void
test_config_loads_every_key(void **state)
{
	const struct watch_config *w;
	struct config *cfg;
	char dir[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	clean_env();
	setenv("KW_TEST_REST_KEY", "rest-key-1234", 1);
	setenv("KW_TEST_BASE", "http://127.0.0.1:7/base", 1);
	cfg = load_ok(fixture("full.yaml"), fake_xpath_check);
	fixture_dir(dir, sizeof(dir));

	assert_string_equal(cfg->path, fixture("full.yaml"));
	snprintf(want, sizeof(want), "%s/state", dir);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/state/tokens/kakao.json", dir);
	assert_string_equal(cfg->kakao.token_file, want);
	assert_string_equal(cfg->kakao.rest_api_key, "rest-key-1234");
	assert_null(cfg->kakao.client_secret); /* ${..:-} empty = unset */
	assert_string_equal(cfg->kakao.redirect_uri,
	    "http://127.0.0.1:5123/oauth");
	assert_string_equal(cfg->kakao.auth_base_url,
	    "http://127.0.0.1:9/auth"); /* trailing slash dropped */
	assert_string_equal(cfg->kakao.api_base_url, "http://127.0.0.1:9");
	assert_int_equal(cfg->kakao.sink, CONFIG_SINK_STDOUT);
	assert_int_equal(cfg->kakao.min_refresh_interval_ms, 90000);
	assert_int_equal(cfg->max_connections, 8);
	assert_int_equal(cfg->max_connections_per_host, 1);
	assert_int_equal(cfg->max_messages_per_check, 5);
	assert_int_equal(cfg->max_messages_per_day, 50);
	assert_int_equal(cfg->history_days, 30);
	assert_int_equal(cfg->nwatches, 3);

	/* watch 1 overrides lists; the rest comes from defaults */
	w = &cfg->watches[0];
	assert_string_equal(w->name, "rust-blog");
	assert_string_equal(w->url, "https://blog.rust-lang.org/");
	assert_string_equal(w->xpath, "//main//h2/a");
	assert_int_equal(w->interval_ms, 90 * 60 * 1000);
	assert_int_equal(w->nkeywords, 2);
	assert_string_equal(w->keywords[0], "release");
	assert_string_equal(w->keywords[1], "security");
	assert_int_equal(w->nexclude, 2);
	assert_string_equal(w->exclude[1], "ad");
	assert_int_equal(w->notify_on, NOTIFY_ADDED);
	assert_int_equal(w->nheaders, 2);
	assert_string_equal(w->headers[0], "X-Test: fallback");
	assert_string_equal(w->headers[1], "Accept: text/html");
	assert_string_equal(w->encoding, "euc-kr");
	assert_false(w->enabled);
	assert_string_equal(w->method, "GET");
	assert_null(w->body);
	assert_true(w->jitter_pct == 5.0);
	assert_int_equal(w->timeout_ms, 20000);
	assert_int_equal(w->max_bytes, 2 * 1024 * 1024);
	assert_string_equal(w->user_agent, "test-agent/1.0");
	assert_int_equal(w->max_failures, 3);
	assert_false(w->ssl_verify);
	assert_int_equal(w->pos.line, 35);
	assert_int_equal(w->pos.col, 5);
	assert_int_equal(w->xpath_pos.line, 37);
	assert_int_equal(w->xpath_pos.col, 12);

	/* watch 2: POST, env in url, escapes, nested default, empty list */
	w = &cfg->watches[1];
	assert_string_equal(w->name, "공지사항");
	assert_string_equal(w->url, "http://127.0.0.1:7/base/board?page=1");
	assert_string_equal(w->xpath, "//td[@class='subject']/a");
	assert_string_equal(w->method, "POST");
	assert_string_equal(w->body, "page=1&q=${literal}");
	assert_int_equal(w->timeout_ms, 60000);
	assert_int_equal(w->max_bytes, 512 * 1024);
	assert_true(w->jitter_pct == 0.0);
	assert_int_equal(w->max_failures, 10);
	assert_true(w->ssl_verify);
	assert_string_equal(w->user_agent, "Mozilla/5.0 (rest-key-1234)");
	assert_int_equal(w->notify_on, NOTIFY_REMOVED);
	assert_int_equal(w->nkeywords, 0); /* [] replaces defaults' list */
	assert_int_equal(w->nexclude, 1);
	assert_string_equal(w->exclude[0], "sponsored");
	assert_int_equal(w->nheaders, 1);
	assert_string_equal(w->headers[0], "Accept-Language: ko-KR");
	assert_string_equal(w->encoding, "utf-8");
	assert_int_equal(w->interval_ms, 15 * 60 * 1000);
	assert_true(w->enabled);

	/* watch 3: everything from defaults */
	w = &cfg->watches[2];
	assert_string_equal(w->name, "inherits");
	assert_int_equal(w->interval_ms, 15 * 60 * 1000);
	assert_true(w->jitter_pct == 5.0);
	assert_int_equal(w->timeout_ms, 20000);
	assert_int_equal(w->max_bytes, 2 * 1024 * 1024);
	assert_string_equal(w->user_agent, "test-agent/1.0");
	assert_int_equal(w->max_failures, 3);
	assert_false(w->ssl_verify);
	assert_string_equal(w->method, "GET");
	assert_int_equal(w->notify_on, NOTIFY_ADDED | NOTIFY_REMOVED);
	assert_true(w->enabled);
	assert_int_equal(w->nkeywords, 1);
	assert_string_equal(w->keywords[0], "default-kw");
	assert_int_equal(w->nexclude, 1);
	assert_int_equal(w->nheaders, 1);
	assert_string_equal(w->encoding, "utf-8");
	config_free(cfg);
}

static void
test_config_env_value_replaces_default(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	setenv("KW_TEST_REST_KEY", "k", 1);
	setenv("KW_TEST_BASE", "https://example.com", 1);
	setenv("KW_TEST_HEADER", "from-env", 1);
	setenv("KW_TEST_UNSET_UA", "agent-from-env", 1);
	cfg = load_ok(fixture("full.yaml"), NULL);
	assert_string_equal(cfg->watches[0].headers[0], "X-Test: from-env");
	assert_string_equal(cfg->watches[1].user_agent,
	    "Mozilla/5.0 (agent-from-env)");
	config_free(cfg);
}

static void
test_config_registers_client_secret_for_redaction(void **state)
{
	struct config *cfg;
	char line[128];

	(void)state;
	clean_env();
	setenv("KW_TEST_REST_KEY", "k", 1);
	setenv("KW_TEST_BASE", "https://example.com", 1);
	setenv("KW_TEST_CLIENT_SECRET", "s3cr3t-client-value", 1);
	cfg = load_ok(fixture("full.yaml"), NULL);
	assert_string_equal(cfg->kakao.client_secret, "s3cr3t-client-value");
	snprintf(line, sizeof(line), "secret=s3cr3t-client-value;");
	log_redact(line, sizeof(line));
	assert_string_equal(line, "secret=[redacted];");
	log_redact_clear();
	config_free(cfg);
}

static void
test_config_applies_builtin_defaults(void **state)
{
	const struct watch_config *w;
	struct config *cfg;

	(void)state;
	clean_env();
	setenv("XDG_STATE_HOME", "/xdg/state/", 1);
	cfg = load_ok(fixture("minimal.yaml"), NULL);
	assert_string_equal(cfg->state_dir, "/xdg/state/kakaowatch");
	assert_string_equal(cfg->kakao.token_file,
	    "/xdg/state/kakaowatch/kakao_token.json");
	assert_null(cfg->kakao.rest_api_key);
	assert_null(cfg->kakao.client_secret);
	assert_string_equal(cfg->kakao.redirect_uri,
	    "http://localhost:5000/oauth");
	assert_string_equal(cfg->kakao.auth_base_url,
	    "https://kauth.kakao.com");
	assert_string_equal(cfg->kakao.api_base_url, "https://kapi.kakao.com");
	assert_int_equal(cfg->kakao.sink, CONFIG_SINK_AUTO);
	assert_int_equal(cfg->kakao.min_refresh_interval_ms, 5 * 60 * 1000);
	assert_int_equal(cfg->max_connections, 16);
	assert_int_equal(cfg->max_connections_per_host, 2);
	assert_int_equal(cfg->max_messages_per_check, 3);
	assert_int_equal(cfg->max_messages_per_day, 20);
	assert_int_equal(cfg->history_days, 90);
	/* the default is applied where it is used (extract: CP949) */
	if (cfg->default_encoding != NULL)
		assert_string_equal(cfg->default_encoding, "cp949");
	assert_int_equal(cfg->nwatches, 1);
	w = &cfg->watches[0];
	assert_int_equal(w->interval_ms, 30 * 60 * 1000);
	assert_true(w->jitter_pct == 10.0);
	assert_int_equal(w->timeout_ms, 30000);
	assert_int_equal(w->max_bytes, 5 * 1024 * 1024);
	assert_string_equal(w->user_agent, "kakaowatch/" KW_VERSION);
	assert_int_equal(w->max_failures, 5);
	assert_true(w->ssl_verify);
	assert_string_equal(w->method, "GET");
	assert_null(w->body);
	assert_null(w->encoding);
	assert_int_equal(w->notify_on, NOTIFY_ADDED);
	assert_true(w->enabled);
	assert_int_equal(w->nkeywords, 0);
	assert_int_equal(w->nexclude, 0);
	assert_int_equal(w->nheaders, 0);
	assert_int_equal(w->pos.line, 2);
	assert_int_equal(w->pos.col, 5);
	config_free(cfg);
}

static void
test_config_state_dir_falls_back_to_home(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	/* XDG base directories must be absolute, else they are ignored */
	setenv("XDG_STATE_HOME", "relative/ignored", 1);
	cfg = load_ok(fixture("minimal.yaml"), NULL);
	assert_string_equal(cfg->state_dir,
	    "/home/kwtest/.local/state/kakaowatch");
	config_free(cfg);
}

static void
test_config_state_dir_without_home_is_an_error(void **state)
{
	(void)state;
	clean_env();
	unsetenv("HOME");
	load_fail("minimal.yaml",
	    "1:1: state_dir is not set, and neither XDG_STATE_HOME nor HOME "
	    "is an absolute path: set state_dir");
	clean_env();
}

static void
test_config_relative_state_dir_follows_config_file(void **state)
{
	struct config *cfg;
	char cwd[PATH_MAX], here[PATH_MAX], want[PATH_MAX + 64];
	const char *data = getenv("KW_DATA_DIR");

	(void)state;
	clean_env();
	setenv("KW_TEST_REST_KEY", "k", 1);
	setenv("KW_TEST_BASE", "https://example.com", 1);
	assert_non_null(data);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(data), 0);
	assert_non_null(getcwd(here, sizeof(here)));
	cfg = load_ok("./config//full.yaml", NULL);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(cfg->path, "./config//full.yaml");
	snprintf(want, sizeof(want), "%s/config/state", here);
	assert_string_equal(cfg->state_dir, want);
	snprintf(want, sizeof(want), "%s/config/state/tokens/kakao.json", here);
	assert_string_equal(cfg->kakao.token_file, want);
	config_free(cfg);
}

static void
test_config_expands_tilde_in_paths(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	cfg = load_ok(fixture("tilde.yaml"), NULL);
	assert_string_equal(cfg->state_dir, "/home/kwtest/kw-state");
	assert_string_equal(cfg->kakao.token_file,
	    "/home/kwtest/tokens/kakao.json");
	config_free(cfg);
}

static void
test_config_defaults_can_supply_url_and_xpath(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	fake_calls = 0;
	cfg = load_ok(fixture("defaults_xpath.yaml"), fake_xpath_check);
	assert_int_equal(fake_calls, 2); /* once per xpath value */
	assert_int_equal(cfg->nwatches, 2);
	assert_string_equal(cfg->watches[0].url,
	    "https://news.ycombinator.com/");
	assert_string_equal(cfg->watches[0].xpath,
	    "//span[@class='titleline']/a");
	assert_int_equal(cfg->watches[0].xpath_pos.line, 4); /* defaults */
	assert_int_equal(cfg->watches[0].xpath_pos.col, 10);
	assert_string_equal(cfg->watches[1].xpath, "//span[@class='sitestr']");
	assert_int_equal(cfg->watches[1].xpath_pos.line, 8);
	assert_int_equal(cfg->watches[1].xpath_pos.col, 12);
	config_free(cfg);
}

static void
test_config_finds_watch_by_name(void **state)
{
	struct config *cfg;
	const struct watch_config *w;

	(void)state;
	clean_env();
	cfg = load_ok(fixture("defaults_xpath.yaml"), NULL);
	w = config_find_watch(cfg, "hn-sites");
	assert_non_null(w);
	assert_ptr_equal(w, &cfg->watches[1]);
	assert_null(config_find_watch(cfg, "HN-SITES"));
	assert_null(config_find_watch(cfg, "missing"));
	config_free(cfg);
}

static void
test_config_shipped_config_loads_cleanly(void **state)
{
	struct config *cfg;
	const struct watch_config *w;

	(void)state;
	clean_env();
	cfg = load_ok(shipped("kakaowatch.yaml"), libxml_xpath_check);
	assert_string_equal(cfg->state_dir,
	    "/home/kwtest/.local/state/kakaowatch");
	assert_null(cfg->kakao.rest_api_key);
	assert_int_equal(cfg->kakao.sink, CONFIG_SINK_AUTO);
	assert_true(cfg->nwatches >= 3);
	w = config_find_watch(cfg, "hacker-news");
	assert_non_null(w);
	assert_string_equal(w->xpath, "//span[@class='titleline']/a");
	assert_non_null(config_find_watch(cfg, "rust-blog"));
	config_free(cfg);

	/* the Docker image points state_dir at its volume */
	setenv("KAKAOWATCH_STATE_DIR", "/data", 1);
	cfg = load_ok(shipped("kakaowatch.yaml"), libxml_xpath_check);
	assert_string_equal(cfg->state_dir, "/data");
	assert_string_equal(cfg->kakao.token_file, "/data/kakao_token.json");
	config_free(cfg);
	clean_env();
}

static void
test_config_examples_load_cleanly(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	cfg = load_ok(shipped("examples/minimal.yaml"), libxml_xpath_check);
	assert_int_equal(cfg->nwatches, 1);
	config_free(cfg);
	cfg = load_ok(shipped("examples/full.yaml"), libxml_xpath_check);
	assert_int_equal(cfg->nwatches, 2);
	assert_string_equal(cfg->state_dir, "/var/lib/kakaowatch");
	assert_string_equal(cfg->watches[1].body, "q=kakao&page=1");
	config_free(cfg);
}

/* --- one broken file per rule ------------------------------------------- */

static void
test_config_rejects_unknown_key(void **state)
{
	(void)state;
	clean_env();
	load_fail("unknown_key.yaml",
	    "5:5: unknown key 'intervall' in watch 'rust-blog' (did you mean "
	    "'interval'?)");
	load_fail("unknown_key_far.yaml",
	    "5:5: unknown key 'colour' in watch 'rust-blog' (allowed: name, "
	    "url, xpath, css, method, body, user_agent, encoding, keywords, "
	    "exclude, when, fields, message, headers, notify_on, key, "
	    "key_pattern, "
	    "interval, "
	    "jitter, "
	    "timeout, max_bytes, max_failures, ssl_verify, parser, namespaces, "
	    "title, link, jq, allow_insecure_redirect, max_retry_after, "
	    "render, wait_for, browser_profile, proxy, cookies, quiet_hours, enabled)");
}

static void
test_config_rejects_bad_duration(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_duration.yaml",
	    "7:15: watch 'rust-blog': interval: bad duration '10x': use a "
	    "number with ms, s, m, h or d, e.g. 90s");
	load_fail("short_interval.yaml",
	    "5:15: watch 'rust-blog': interval: '500ms' is too short: the "
	    "minimum is 1s");
}

static void
test_config_rejects_bad_xpath(void **state)
{
	static const char *const want[] = {
		"7:12: watch 'broken': bad xpath '//div[@class='post'': "
		"unbalanced brackets",
	};
	struct config_errors errs = { 0 };
	struct config *cfg;
	char prefix[PATH_MAX + 128];

	(void)state;
	clean_env();
	load_fail_with("bad_xpath.yaml", fake_xpath_check, 1, want);

	/* with libxml2 itself: the position and libxml2's reason */
	assert_int_equal(config_load(fixture("bad_xpath.yaml"),
			     libxml_xpath_check, &cfg, &errs),
	    -1);
	assert_int_equal(errs.n, 1);
	snprintf(prefix, sizeof(prefix),
	    "%s:7:12: watch 'broken': bad xpath '//div[@class='post'': ",
	    fixture("bad_xpath.yaml"));
	assert_memory_equal(errs.v[0], prefix, strlen(prefix));
	assert_true(strlen(errs.v[0]) > strlen(prefix));
	config_errors_release(&errs);

	/* no checker: the file is fine as far as config can tell */
	cfg = load_ok(fixture("bad_xpath.yaml"), NULL);
	config_free(cfg);
}

static void
test_config_rejects_missing_url(void **state)
{
	(void)state;
	clean_env();
	load_fail("missing_url.yaml",
	    "5:5: watch 'no-url': missing required key 'url'");
}

static void
test_config_rejects_duplicate_name(void **state)
{
	char want[PATH_MAX + 128];

	(void)state;
	clean_env();
	snprintf(want, sizeof(want),
	    "8:11: duplicate watch name 'rust-blog' (first at %s:2:11)",
	    fixture("duplicate_name.yaml"));
	load_fail("duplicate_name.yaml", want);
}

/*
 * write_many writes a config of `n` watches in block style (about 150
 * bytes each, so 10,000 are over 1 MiB) to a temporary file; watch i is
 * named w<i>, or w<same_as[k]> when i == dup[k]. Returns the path
 * (static).
 */
static const char *
write_many(size_t n, const size_t *dup, const size_t *same_as, size_t ndup)
{
	static char path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	size_t i, k, name;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/kw-config-XXXXXX.yaml",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "state_dir: /tmp/kw-unused\nwatches:\n");
	for (i = 0; i < n; i++) {
		name = i;
		for (k = 0; k < ndup; k++)
			if (dup[k] == i)
				name = same_as[k];
		fprintf(f,
		    "  - name: w%zu\n"
		    "    url: https://board.example.co.kr/list.php?"
		    "category=notice&page=1&id=%zu\n"
		    "    xpath: '//table[@class=\"board-list\"]//a'\n"
		    "    interval: 30m\n",
		    name, i);
	}
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
test_config_loads_10000_watches_and_finds_duplicates(void **state)
{
	static const size_t dup[] = { 5000, 9999 }, same_as[] = { 17, 17 };
	struct config_errors errs = { 0 };
	struct config *cfg;
	const char *path;
	char want[PATH_MAX + 128];
	size_t i;

	(void)state;
	clean_env();
	path = write_many(10000, NULL, NULL, 0);
	fake_calls = 0;
	cfg = load_ok(path, fake_xpath_check);
	assert_int_equal(fake_calls, 1); /* one distinct xpath */
	assert_int_equal(cfg->nwatches, 10000);
	assert_string_equal(cfg->watches[9999].name, "w9999");
	config_free(cfg);
	unlink(path);

	/* both later copies point at the first one (line 2 + 4 * 17) */
	path = write_many(10000, dup, same_as, 2);
	assert_int_equal(config_load(path, fake_xpath_check, &cfg, &errs), -1);
	assert_null(cfg);
	assert_int_equal(errs.n, 2);
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want),
		    "%s:%zu:11: duplicate watch name "
		    "'w17' (first at %s:71:11)",
		    path, 3 + 4 * dup[i], path);
		assert_string_equal(errs.v[i], want);
	}
	config_errors_release(&errs);
	unlink(path);
}

static void
test_config_rejects_unset_env_variable(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_env.yaml",
	    "2:17: kakao: rest_api_key: environment variable "
	    "'KW_TEST_DEFINITELY_UNSET_KEY' is not set (set it, or write "
	    "${KW_TEST_DEFINITELY_UNSET_KEY:-default})");
}

static void
test_config_rejects_bad_size(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_size.yaml",
	    "5:16: watch 'rust-blog': max_bytes: bad size '5 MiB': use a "
	    "number with B, KB, KiB, MB, MiB, GB or GiB, e.g. 5MiB");
}

static void
test_config_rejects_bad_percentage(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_percent.yaml",
	    "2:11: defaults: jitter: bad percentage '10': use a number from 0 "
	    "to 100 with %, e.g. 10%");
}

static void
test_config_rejects_wrong_type(void **state)
{
	(void)state;
	clean_env();
	load_fail("wrong_type.yaml",
	    "5:14: watch 'rust-blog': headers: expected a mapping of header "
	    "names to values (e.g. { Accept-Language: ko-KR }), not a string");
	load_fail("scalar_watches.yaml",
	    "1:10: watches: expected a list of watches (- name: ...), not a "
	    "string");
}

static void
test_config_reports_yaml_syntax_error_position(void **state)
{
	(void)state;
	clean_env();
	load_fail("syntax_error.yaml",
	    "5:13: YAML syntax error: did not find expected ',' or ']' (while "
	    "parsing a flow sequence at 4:12)");
}

static void
test_config_reports_all_errors_in_file_order(void **state)
{
	static const char *const want[] = {
		"3:5: watch 'first': missing required key 'url'",
		"8:15: watch 'second': interval: bad duration '10x': use a "
		"number with ms, s, m, h or d, e.g. 90s",
		"9:1: unknown key 'histroy_days' at the top level (did you "
		"mean 'history_days'?)",
	};

	(void)state;
	clean_env();
	load_fail_with("three_errors.yaml", NULL, 3, want);
}

static void
test_config_rejects_duplicate_key(void **state)
{
	char want[PATH_MAX + 128];

	(void)state;
	clean_env();
	snprintf(want, sizeof(want),
	    "6:5: duplicate key 'interval' in watch 'rust-blog' (first at "
	    "%s:5:5)",
	    fixture("duplicate_key.yaml"));
	load_fail("duplicate_key.yaml", want);
}

static void
test_config_rejects_config_without_watches(void **state)
{
	(void)state;
	clean_env();
	load_fail("empty.yaml",
	    "1:1: no watches defined: add a 'watches:' list");
	load_fail("empty_watches.yaml",
	    "2:10: watches: no watches defined: the list is empty");
}

static void
test_config_rejects_body_without_post(void **state)
{
	(void)state;
	clean_env();
	load_fail("body_without_post.yaml",
	    "5:11: watch 'search': body: a request body needs 'method: POST'");
}

static void
test_config_rejects_bad_watch_name(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_name.yaml",
	    "2:11: watch #1: name: 'rust blog' may only contain letters, "
	    "digits, '.', '_', '-' and Hangul, not spaces");
}

static void
test_config_rejects_non_http_url(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_url.yaml",
	    "3:10: watch 'rust-blog': url: 'blog.rust-lang.org' must start "
	    "with http:// or https://");
}

static void
test_config_rejects_unknown_notify_on(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_notify.yaml",
	    "5:24: watch 'rust-blog': notify_on: must be added, changed, "
	    "removed or a list of them, not 'updated'");
}

static void
test_config_key_and_key_pattern(void **state)
{
	static const char *const want[] = {
		"5:10: watch 'deals': key: must be auto, link, text or "
		"text+link, not 'post-id'",
		/* just after the pattern's last character: its end */
		"6:29: watch 'deals': key_pattern: bad regular expression "
		"'wr_id=(\\d+': missing closing parenthesis",
		"10:18: watch 'free': key_pattern: 'wr_id=\\d+' has no capture "
		"group: put the part that names the post in parentheses, e.g. "
		"'wr_id=(\\d+)'",
		/* columns count characters (제목 is 2, not 6 bytes): PCRE2
		 * stops after the x of (*x, the pattern's 6th character */
		"14:24: watch '한글': key_pattern: bad regular expression "
		"'제목=(*x)': (*alpha_assertion) not recognized",
	};
	struct config *cfg;

	(void)state;
	clean_env();
	load_fail_with("bad_key.yaml", NULL, 4, want);
	cfg = load_ok(shipped("examples/full.yaml"), libxml_xpath_check);
	assert_int_equal(cfg->watches[0].key_mode, KEY_AUTO);
	assert_null(cfg->watches[0].key_pattern);
	assert_int_equal(cfg->watches[0].notify_on,
	    NOTIFY_ADDED | NOTIFY_REMOVED); /* both, as in 0.1 */
	assert_string_equal(cfg->watches[1].key_pattern, "[?&]wr_id=(\\d+)");
	assert_int_equal(cfg->watches[1].notify_on,
	    NOTIFY_ADDED | NOTIFY_CHANGED);
	config_free(cfg);
}

static void
test_config_when(void **state)
{
	static const char *const want[] = {
		/* PCRE2 notices the missing ) at the pattern's end */
		"5:29: watch 'ssd': when: bad regular expression: missing "
		"closing parenthesis",
		/* columns count characters: 중고 is 2, not 6 bytes */
		"11:30: watch '가격': when: expected a field name, '(' or "
		"'not', found the end",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_when.yaml", NULL, 2, want);
}

static void
test_config_quiet_hours(void **state)
{
	static const char *const want[] = {
		"1:14: quiet_hours: start and end are the same time: give a "
		"window such as 23:00-07:00, or off",
		"2:11: timezone: 'Asia/Seol': unknown time zone (not in the tz "
		"database /usr/share/zoneinfo): use a name such as Asia/Seoul, "
		"Europe/Berlin or UTC",
		"7:18: watch 'night': quiet_hours: must be HH:MM-HH:MM (local "
		"time, e.g. 23:00-07:00) or off",
	};
	const struct watch_config *w;
	struct config *cfg;

	(void)state;
	clean_env();
	unsetenv("TZDIR");
	load_fail_with("bad_quiet.yaml", NULL, 3, want);
	/* default: none, in Korea time */
	cfg = load_ok(fixture("minimal.yaml"), NULL);
	assert_string_equal(cfg->quiet_hours, "off");
	assert_string_equal(cfg->timezone, "Asia/Seoul");
	assert_string_equal(config_quiet_hours(cfg, &cfg->watches[0]), "off");
	config_free(cfg);
	/* a watch's own beats the top level; off turns it off */
	cfg = load_ok(fixture("quiet.yaml"), NULL);
	assert_string_equal(cfg->quiet_hours, "23:00-07:00");
	assert_string_equal(cfg->timezone, "Europe/Berlin");
	w = config_find_watch(cfg, "global");
	assert_string_equal(config_quiet_hours(cfg, w), "23:00-07:00");
	w = config_find_watch(cfg, "own");
	assert_string_equal(config_quiet_hours(cfg, w), "22:00-23:00");
	w = config_find_watch(cfg, "loud");
	assert_string_equal(config_quiet_hours(cfg, w), "off");
	assert_string_equal(config_quiet_hours(cfg, NULL), "23:00-07:00");
	config_free(cfg);
}

static void
test_config_rejects_second_document(void **state)
{
	(void)state;
	clean_env();
	load_fail("two_documents.yaml",
	    "6:1: a second YAML document: the config is one document (remove "
	    "the '---' line)");
}

static void
test_config_kakao_sink_needs_rest_api_key(void **state)
{
	(void)state;
	clean_env();
	load_fail("sink_kakao_no_key.yaml",
	    "2:9: kakao: sink: 'kakao' needs kakao.rest_api_key (the app's "
	    "REST API key)");
}

static void
test_config_checks_integer_limits(void **state)
{
	static const char *const want[] = {
		"1:18: max_connections: must be a whole number from 1 to 1024, "
		"not '0'",
		"2:23: max_messages_per_day: must be a whole number from 1 to "
		"10000, not 'lots'",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_int.yaml", NULL, 2, want);
}

static void
test_config_rejects_unknown_encoding(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_encoding.yaml",
	    "5:15: watch 'board': encoding: unknown character encoding "
	    "'euc-krr' (e.g. euc-kr, cp949, utf-8)");
}

static void
test_config_loads_default_encoding(void **state)
{
	struct config *cfg;

	(void)state;
	clean_env();
	cfg = load_ok(fixture("default_encoding.yaml"), NULL);
	assert_string_equal(cfg->default_encoding, "windows-1252");
	config_free(cfg);
}

static void
test_config_rejects_unknown_default_encoding(void **state)
{
	(void)state;
	clean_env();
	load_fail("bad_default_encoding.yaml",
	    "1:19: default_encoding: unknown character encoding 'klingon' "
	    "(e.g. euc-kr, cp949, utf-8)");
}

static void
test_config_reports_unreadable_file(void **state)
{
	struct config_errors errs = { 0 };
	struct config *cfg;
	const char *path = fixture("does-not-exist.yaml");
	char want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(config_load(path, NULL, &cfg, &errs), -1);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s: cannot open: No such file or directory", path);
	assert_string_equal(errs.v[0], want);
	config_errors_release(&errs);

	/* errs may be NULL: the caller only wants to know */
	assert_int_equal(config_load(path, NULL, &cfg, NULL), -1);
	assert_null(cfg);
}

/* --- the key tables ------------------------------------------------------ */

/* the values the key-table tests give the required watch keys */
static const char *
required_base(const char *key)
{
	if (strcmp(key, "name") == 0)
		return "base";
	if (strcmp(key, "url") == 0)
		return "http://example.com/";
	if (strcmp(key, "xpath") == 0)
		return "//a";
	fail_msg("required watch key '%s' has no base value in this test", key);
	return NULL;
}

/* appends `lines` (newline-separated "key: value") indented by `indent` */
static void
append_lines(char *out, size_t size, const char *indent, const char *lines)
{
	const char *p = lines, *nl;
	size_t len = strlen(out);

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		len += (size_t)snprintf(out + len, size - len, "%s%.*s\n",
		    indent, (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
		assert_true(len < size);
		p = nl ? nl + 1 : NULL;
	}
}

/*
 * watch_yaml writes a one-watch config: the required keys at their base
 * values, the `needs` of key `with`, and key `with` at its example value,
 * in the watch or (in_defaults) in defaults:. with < 0: no extra key.
 */
static void
watch_yaml(char *out, size_t size, long with, bool in_defaults)
{
	const struct config_key_info *ki, *w = NULL;
	char line[1024];
	size_t i;

	if (with >= 0)
		w = config_key(CONFIG_SECTION_WATCH, (size_t)with);
	snprintf(out, size, "state_dir: /tmp/kw-config-keys\n");
	if (w != NULL && in_defaults) {
		append_lines(out, size, "", "defaults:");
		snprintf(line, sizeof(line), "%s: %s", w->name, w->example);
		append_lines(out, size, "  ", line);
	}
	append_lines(out, size, "", "watches:");
	append_lines(out, size, "  ", "-");
	for (i = 0; (ki = config_key(CONFIG_SECTION_WATCH, i)) != NULL; i++) {
		if (!ki->required || ki == w ||
		    (w != NULL && w->instead != NULL &&
			strcmp(w->instead, ki->name) == 0))
			continue;
		snprintf(line, sizeof(line), "%s: %s", ki->name,
		    required_base(ki->name));
		append_lines(out, size, "    ", line);
	}
	if (w == NULL)
		return;
	if (w->needs != NULL)
		append_lines(out, size, "    ", w->needs);
	if (!in_defaults) {
		snprintf(line, sizeof(line), "%s: %s", w->name, w->example);
		append_lines(out, size, "    ", line);
	}
}

/* load_text loads `text` from a temporary file, which must succeed */
static struct config *
load_text(const char *text)
{
	char path[] = "/tmp/kw-config-XXXXXX";
	struct config *cfg;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	cfg = load_ok(path, libxml_xpath_check);
	unlink(path);
	return cfg;
}

/* fields: inherited from defaults: or replaced; css: translated, attr:
 * taken; when: compiled once and checked against the names */
static void
test_config_fields(void **state)
{
	struct config *cfg;
	const struct watch_config *a, *b, *c;
	struct watch_config copy;

	(void)state;
	clean_env();
	cfg =
	    load_text("kakao: { sink: stdout }\n"
		      "defaults:\n"
		      "  fields:\n"
		      "    price: { css: span.price }\n"
		      "    shop: \".//em\"\n"
		      "watches:\n"
		      "  - name: a\n"
		      "    url: https://a.example/\n"
		      "    xpath: //li\n"
		      "    when: ['price <= 30만', 'shop ~ \"쿠팡\"']\n"
		      "  - name: b\n"
		      "    url: https://b.example/\n"
		      "    xpath: //li\n"
		      "    fields: { image: { css: 'a.t', attr: data-img } }\n"
		      "    when: image ~ \"jpg$\"\n"
		      "  - name: c\n"
		      "    url: https://c.example/feed\n"
		      "    parser: feed\n"
		      "    fields: {}\n"
		      "    when: 'author == \"김\" and date ~ \"2026\"'\n");
	a = config_find_watch(cfg, "a");
	b = config_find_watch(cfg, "b");
	c = config_find_watch(cfg, "c");
	assert_non_null(a);
	assert_int_equal(a->nfields, 4);
	assert_string_equal(a->fields[0], "price");
	assert_string_equal(a->fields[1],
	    "descendant-or-self::span[@class and contains(concat(' ', "
	    "normalize-space(@class), ' '), ' price ')]");
	assert_string_equal(a->fields[2], "shop");
	assert_string_equal(a->fields[3], ".//em");
	assert_int_equal(a->nwhen, 2);
	assert_non_null(a->when_cond);
	assert_non_null(a->when_cond[0]);
	assert_non_null(a->when_cond[1]);
	/* a watch's mapping replaces the defaults' */
	assert_int_equal(b->nfields, 2);
	assert_string_equal(b->fields[0], "image");
	assert_string_equal(b->fields[1],
	    "(descendant-or-self::a[@class and contains(concat(' ', "
	    "normalize-space(@class), ' '), ' t ')])/@data-img");
	/* feeds: the built-in names; an empty mapping clears the defaults */
	assert_int_equal(c->nfields, 0);
	assert_non_null(c->when_cond);
	/* a copy compiles its own conditions */
	assert_int_equal(config_watch_copy(&copy, a), 0);
	assert_non_null(copy.when_cond);
	assert_ptr_not_equal(copy.when_cond, a->when_cond);
	assert_true(config_watch_equal(&copy, a));
	config_watch_release(&copy);
	config_free(cfg);
}

static void
test_config_fields_errors(void **state)
{
	static const char *const want[] = {
		"6:7: watch 'a': fields: 'link' is the item's own; set it with "
		"the watch's title: or link: key",
		"7:7: watch 'a': fields: 'name' is reserved (a message header's "
		"{name}, {count} and {change})",
		"8:7: watch 'a': fields: 'key' is reserved (the item's identity: "
		"the key: key)",
		"9:7: watch 'a': fields: 'price-2' is not a field name (ASCII "
		"letters, digits and _, not starting with a digit, up to 32)",
		/* the end of the selector, where the attribute name is due */
		"10:24: watch 'a': fields: shop: bad css 'em[': unexpected end of "
		"selector, expected an attribute name at character 4",
		"11:12: watch 'a': fields: pic: give either css: or xpath:",
		"12:10: watch 'a': fields: n: bad xpath './/b[': Invalid "
		"expression",
		"18:26: watch 'b': when: unknown field 'shop' (known: title, "
		"link, price, and for feeds date, summary, author, image; "
		"declare others in fields:)",
		/* parser: html has no feed fields */
		"23:11: watch 'c': when: unknown field 'date' (known: title, "
		"link; declare others in fields:)",
		"28:13: watch 'd': fields: not used with parser: json (the keys "
		"of the jq program's output objects are the item's fields)",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_fields.yaml", libxml_xpath_check,
	    sizeof(want) / sizeof(want[0]), want);
}

/*
 * headers: every error of the mapping walk, in file order; a header whose
 * value was refused still makes a later equal name (any case) a duplicate
 */
static void
test_config_headers_errors(void **state)
{
	char dup1[PATH_MAX + 128], dup2[PATH_MAX + 128];
	const char *want[] = {
		"7:7: watch 'a': headers: header names must be strings, not a "
		"list",
		"8:7: watch 'a': headers: 'a b' is not a valid header name",
		"9:7: watch 'a': headers: '' is not a valid header name",
		dup1,
		"12:15: watch 'a': headers: expected a string, not a list",
		dup2,
		"14:16: watch 'a': headers: the value of 'X-Break' must not "
		"contain line breaks or control characters",
	};

	(void)state;
	clean_env();
	snprintf(dup1, sizeof(dup1),
	    "11:7: watch 'a': headers: duplicate header 'x-dup' (first at "
	    "%s:10:7)",
	    fixture("bad_headers.yaml"));
	snprintf(dup2, sizeof(dup2),
	    "13:7: watch 'a': headers: duplicate header 'x-list' (first at "
	    "%s:12:7)",
	    fixture("bad_headers.yaml"));
	load_fail_with("bad_headers.yaml", NULL, sizeof(want) / sizeof(want[0]),
	    want);
}

/*
 * fields: a key that is not a string, a repeated name, the limit (which
 * ends the walk: the reserved 'link' after it goes unreported); a field
 * whose expression failed does not make a later equal name a duplicate
 */
static void
test_config_fields_mapping_errors(void **state)
{
	static const char *const want[] = {
		"7:7: watch 'a': fields: '' is not a field name (ASCII letters, "
		"digits and _, not starting with a digit, up to 32)",
		"9:7: watch 'a': fields: field 'price' given twice",
		"10:13: watch 'a': fields: shop: bad xpath './/b[': Invalid "
		"expression",
		"42:7: watch 'a': fields: more than 32 fields",
		"47:13: watch 'b': fields: expected a mapping of field names to "
		"XPath or { css: SELECTOR } (e.g. { price: { css: span.price } "
		"}), not a list",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_fields_map.yaml", libxml_xpath_check,
	    sizeof(want) / sizeof(want[0]), want);
}

/* namespaces: each error; the first one ends that watch's mapping */
static void
test_config_namespaces_errors(void **state)
{
	static const char *const want[] = {
		"6:31: watch 'a': namespaces: prefix 'n' given twice",
		"9:19: watch 'b': namespaces: '' is not a usable namespace "
		"prefix",
		"12:19: watch 'c': namespaces: 'xml' is not a usable namespace "
		"prefix",
		"15:22: watch 'd': namespaces: prefix 'n' needs a namespace URI",
		"18:22: watch 'e': namespaces: prefix 'n' needs a namespace URI",
		"21:17: watch 'f': namespaces: expected a mapping of prefixes to "
		"namespace URIs (e.g. { n: \"urn:example\" }), not a list",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_namespaces.yaml", NULL,
	    sizeof(want) / sizeof(want[0]), want);
}

/*
 * the key tables' mappings: keys that are not strings, an unknown key
 * given twice (two unknown-key errors, not a duplicate), a known one
 * given twice; a fields: { css:, xpath: } mapping takes the last of a
 * repeated key and stops at its first stray key
 */
static void
test_config_mapping_key_errors(void **state)
{
	char dup[PATH_MAX + 128];
	const char *want[] = {
		"1:24: keys in kakao must be strings, not a list",
		"6:5: unknown key 'intervall' in watch 'a' (did you mean "
		"'interval'?)",
		"7:5: unknown key 'intervall' in watch 'a' (did you mean "
		"'interval'?)",
		dup,
		"10:5: keys in watch 'a' must be strings, not a mapping",
		"12:14: watch 'a': fields: price: give either css: or xpath:",
		"13:15: watch 'a': fields: shop: expected css: SELECTOR, attr: "
		"NAME or xpath: XPATH (each a non-empty string)",
		"14:22: watch 'a': fields: tag: expected css: SELECTOR, attr: "
		"NAME or xpath: XPATH (each a non-empty string)",
	};

	(void)state;
	clean_env();
	snprintf(dup, sizeof(dup),
	    "9:5: duplicate key 'interval' in watch 'a' (first at %s:8:5)",
	    fixture("bad_map_keys.yaml"));
	load_fail_with("bad_map_keys.yaml", NULL,
	    sizeof(want) / sizeof(want[0]), want);
}

static void
test_config_key_tables_are_complete(void **state)
{
	const enum config_section sections[] = { CONFIG_SECTION_TOP,
		CONFIG_SECTION_KAKAO, CONFIG_SECTION_WATCH };
	const struct config_key_info *ki, *kj;
	size_t s, i, j, n;

	(void)state;
	for (s = 0; s < 3; s++) {
		for (n = 0; config_key(sections[s], n) != NULL; n++)
			;
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			ki = config_key(sections[s], i);
			assert_non_null(ki->name);
			assert_non_null(ki->doc);
			assert_true(ki->doc[0] != '\0');
			if (sections[s] == CONFIG_SECTION_WATCH)
				assert_non_null(ki->example);
			for (j = i + 1; j < n; j++) {
				kj = config_key(sections[s], j);
				assert_string_not_equal(ki->name, kj->name);
			}
		}
	}
	/* the order that "allowed:" lists, and the rows code refers to */
	assert_string_equal(config_key(CONFIG_SECTION_WATCH, 0)->name, "name");
	assert_string_equal(config_key(CONFIG_SECTION_WATCH, 1)->name, "url");
	assert_string_equal(config_key(CONFIG_SECTION_WATCH, 2)->name, "xpath");
}

/*
 * Every watch key, by iterating the table (a new row is covered without a
 * new test): its example parses, changes that key and no other, survives a
 * copy (equal after it, freed by release: ASan and valgrind see leaks and
 * double frees) and is inherited from defaults: like a value in the watch.
 */
static void
test_config_every_watch_key_parses_copies_and_compares(void **state)
{
	static char text[8192];
	const struct config_key_info *ki;
	struct config *base, *with, *inh;
	struct watch_config copy;
	size_t i, j;

	(void)state;
	clean_env();
	for (i = 0; (ki = config_key(CONFIG_SECTION_WATCH, i)) != NULL; i++) {
		/* base: the same file without the key (but with its needs) */
		watch_yaml(text, sizeof(text), (long)i, false);
		with = load_text(text);
		watch_yaml(text, sizeof(text), -1, false);
		if (ki->needs != NULL)
			append_lines(text, sizeof(text), "    ", ki->needs);
		base = load_text(text);
		assert_int_equal(with->nwatches, 1);
		if (config_watch_key_equal(&base->watches[0], &with->watches[0],
			i))
			fail_msg("key '%s': its example '%s' compares equal "
				 "to the default",
			    ki->name, ki->example);
		for (j = 0; config_key(CONFIG_SECTION_WATCH, j) != NULL; j++)
			if (j != i &&
			    !(ki->instead != NULL &&
				strcmp(ki->instead,
				    config_key(CONFIG_SECTION_WATCH, j)
					->name) == 0) &&
			    !config_watch_key_equal(&base->watches[0],
				&with->watches[0], j))
				fail_msg("setting '%s' changed '%s'", ki->name,
				    config_key(CONFIG_SECTION_WATCH, j)->name);
		assert_false(
		    config_watch_equal(&base->watches[0], &with->watches[0]));

		assert_int_equal(config_watch_copy(&copy, &with->watches[0]),
		    0);
		assert_true(config_watch_equal(&copy, &with->watches[0]));
		assert_false(config_watch_equal(&copy, &base->watches[0]));
		assert_int_equal(copy.pos.line, with->watches[0].pos.line);
		config_watch_release(&copy);
		assert_null(copy.url);
		assert_null(copy.name);

		if (strcmp(ki->name, "name") != 0) {
			watch_yaml(text, sizeof(text), (long)i, true);
			inh = load_text(text);
			if (!config_watch_equal(&inh->watches[0],
				&with->watches[0]))
				fail_msg("key '%s' from defaults: differs from "
					 "the same value in the watch",
				    ki->name);
			config_free(inh);
		}
		config_free(base);
		config_free(with);
	}
}

/* css: the selector kept as written, its XPath translation in xpath */
static void
test_config_css_is_an_alternative_to_xpath(void **state)
{
	struct config *cfg;
	const struct watch_config *w;

	(void)state;
	clean_env();
	cfg = load_text("state_dir: /tmp/kw-config-css\n"
			"defaults:\n"
			"  css: h2.title > a\n"
			"watches:\n"
			"  - name: own-css\n"
			"    url: https://example.org/a\n"
			"    css: '#list > tbody > tr > td:nth-child(3) > a'\n"
			"  - name: from-defaults\n"
			"    url: https://example.org/b\n"
			"  - name: own-xpath\n"
			"    url: https://example.org/c\n"
			"    xpath: //h1\n");
	assert_int_equal(cfg->nwatches, 3);
	w = &cfg->watches[0];
	assert_string_equal(w->css, "#list > tbody > tr > td:nth-child(3) > a");
	assert_string_equal(w->xpath,
	    "descendant-or-self::*[@id = 'list']/tbody/tr/"
	    "td[count(preceding-sibling::*) = 2]/a");
	assert_int_equal(w->xpath_pos.line, 7);
	assert_int_equal(w->xpath_pos.col, 10);
	w = &cfg->watches[1];
	assert_string_equal(w->css, "h2.title > a");
	assert_string_equal(w->xpath,
	    "descendant-or-self::h2[@class and contains(concat(' ', "
	    "normalize-space(@class), ' '), ' title ')]/a");
	assert_int_equal(w->xpath_pos.line, 3);
	/* a watch's own xpath beats the css of defaults: */
	w = &cfg->watches[2];
	assert_null(w->css);
	assert_string_equal(w->xpath, "//h1");
	config_free(cfg);
}

static void
test_config_bad_css_is_reported_at_its_character(void **state)
{
	static const char *const want[] = {
		"6:31: watch 'plain': bad css 'ul > li:nth-child(2n+) a': "
		"unexpected ')', expected a number at character 22",
		"9:18: watch 'quoted': bad css 'div.\xea\xb2\x8c\xec\x8b\x9c"
		"\xed\x8c\x90:hover': unknown pseudo-class ':hover' (or one "
		"that means nothing in a fetched page) at character 8",
		"12:26: watch 'single': bad css 'a[title='it's' ]] b': "
		"unexpected ''', expected ']' at character 14",
		"16:10: watch 'both': css: give either xpath: or css:, not both",
		"17:5: watch 'neither': missing required key 'xpath' (or "
		"'css'; parser: html reads items by XPath)",
	};

	(void)state;
	clean_env();
	load_fail_with("bad_css.yaml", NULL, sizeof(want) / sizeof(want[0]),
	    want);
}

/* the reference the user reads lists every key of every table */
static void
test_config_reference_lists_every_key(void **state)
{
	const enum config_section sections[] = { CONFIG_SECTION_TOP,
		CONFIG_SECTION_KAKAO, CONFIG_SECTION_WATCH };
	const struct config_key_info *ki;
	const char *dir = getenv("KW_SOURCE_DIR");
	char path[PATH_MAX], want[128];
	char *doc = NULL;
	size_t s, i, cap = 0, len = 0, got;
	FILE *f;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/docs/configuration.md", dir);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(path, sizeof(path), "%s/README.md", dir);
		f = fopen(path, "r");
	}
	assert_non_null(f);
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			doc = realloc(doc, cap);
			assert_non_null(doc);
		}
		got = fread(doc + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	fclose(f);
	doc[len] = '\0';
	for (s = 0; s < 3; s++) {
		for (i = 0; (ki = config_key(sections[s], i)) != NULL; i++) {
			snprintf(want, sizeof(want), "`%s`", ki->name);
			if (strstr(doc, want) == NULL)
				fail_msg("%s does not document the key '%s' "
					 "(%s)",
				    path, ki->name, ki->doc);
		}
	}
	free(doc);
}

/* the URL rule is http_url_check's: `check` refuses what curl cannot use */
static void
test_config_rejects_url_with_bad_ipv6_or_port(void **state)
{
	static const struct {
		const char *url, *why;
	} cases[] = {
		{ "http://[::1/", "is not a valid URL (Bad IPv6 address)" },
		{ "http://example.com:99999/",
		    "has a bad port (use 1 to 65535)" },
		{ "http://example.com:0/", "has a bad port (use 1 to 65535)" },
	};
	char path[] = "/tmp/kw-config-XXXXXX", want[512];
	struct config_errors errs = { 0 };
	struct config *cfg;
	size_t i;
	FILE *f;
	int fd;

	(void)state;
	clean_env();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(path, "/tmp/kw-config-XXXXXX");
		fd = mkstemp(path);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		fprintf(f,
		    "state_dir: /tmp/kw\nwatches:\n  - name: x\n"
		    "    url: \"%s\"\n    xpath: //a\n",
		    cases[i].url);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(config_load(path, NULL, &cfg, &errs), -1);
		unlink(path);
		assert_int_equal(errs.n, 1);
		snprintf(want, sizeof(want), "%s:4:10: watch 'x': url: '%s' %s",
		    path, cases[i].url, cases[i].why);
		assert_string_equal(errs.v[0], want);
		config_errors_release(&errs);
	}
}

/*
 * encoding: accepts exactly what the page decoder decodes: WHATWG labels
 * that iconv spells differently (ks_c_5601-1987, windows-949 are CP949),
 * iconv names, and nothing else
 */
static void
test_config_encoding_follows_the_decoder(void **state)
{
	static const char *const ok[] = { "ks_c_5601-1987", "windows-949",
		"EUC-KR", "cp949", "utf-8", "shift_jis", "x-sjis", "KOI8-U",
		"iso-8859-1", "latin1" };
	static const char *const bad[] = { "euc-krr", "utf-9", "korean-ish" };
	static char text[512];
	char msg[256];
	struct config *cfg;
	size_t i;

	(void)state;
	clean_env();
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		/* the decoder takes it ... */
		assert_int_equal(
		    extract_encoding_check(ok[i], msg, sizeof(msg)), 0);
		snprintf(text, sizeof(text),
		    "state_dir: /tmp/kw\nwatches:\n"
		    "  - name: x\n    url: http://example.com/\n"
		    "    xpath: //a\n    encoding: %s\n",
		    ok[i]);
		/* ... so check does */
		cfg = load_text(text);
		assert_string_equal(cfg->watches[0].encoding, ok[i]);
		config_free(cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    extract_encoding_check(bad[i], msg, sizeof(msg)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_loads_every_key),
		cmocka_unit_test(test_config_env_value_replaces_default),
		cmocka_unit_test(
		    test_config_registers_client_secret_for_redaction),
		cmocka_unit_test(test_config_applies_builtin_defaults),
		cmocka_unit_test(test_config_state_dir_falls_back_to_home),
		cmocka_unit_test(
		    test_config_state_dir_without_home_is_an_error),
		cmocka_unit_test(
		    test_config_relative_state_dir_follows_config_file),
		cmocka_unit_test(test_config_expands_tilde_in_paths),
		cmocka_unit_test(test_config_defaults_can_supply_url_and_xpath),
		cmocka_unit_test(test_config_finds_watch_by_name),
		cmocka_unit_test(test_config_shipped_config_loads_cleanly),
		cmocka_unit_test(test_config_examples_load_cleanly),
		cmocka_unit_test(test_config_rejects_unknown_key),
		cmocka_unit_test(test_config_rejects_bad_duration),
		cmocka_unit_test(test_config_rejects_bad_xpath),
		cmocka_unit_test(test_config_rejects_missing_url),
		cmocka_unit_test(test_config_rejects_duplicate_name),
		cmocka_unit_test(
		    test_config_loads_10000_watches_and_finds_duplicates),
		cmocka_unit_test(test_config_rejects_unset_env_variable),
		cmocka_unit_test(test_config_rejects_bad_size),
		cmocka_unit_test(test_config_rejects_bad_percentage),
		cmocka_unit_test(test_config_rejects_wrong_type),
		cmocka_unit_test(
		    test_config_reports_yaml_syntax_error_position),
		cmocka_unit_test(test_config_reports_all_errors_in_file_order),
		cmocka_unit_test(test_config_rejects_duplicate_key),
		cmocka_unit_test(test_config_rejects_config_without_watches),
		cmocka_unit_test(test_config_rejects_body_without_post),
		cmocka_unit_test(test_config_rejects_bad_watch_name),
		cmocka_unit_test(test_config_rejects_non_http_url),
		cmocka_unit_test(test_config_rejects_unknown_notify_on),
		cmocka_unit_test(test_config_key_and_key_pattern),
		cmocka_unit_test(test_config_when),
		cmocka_unit_test(test_config_quiet_hours),
		cmocka_unit_test(test_config_fields),
		cmocka_unit_test(test_config_fields_errors),
		cmocka_unit_test(test_config_headers_errors),
		cmocka_unit_test(test_config_fields_mapping_errors),
		cmocka_unit_test(test_config_namespaces_errors),
		cmocka_unit_test(test_config_mapping_key_errors),
		cmocka_unit_test(test_config_rejects_second_document),
		cmocka_unit_test(test_config_kakao_sink_needs_rest_api_key),
		cmocka_unit_test(test_config_checks_integer_limits),
		cmocka_unit_test(test_config_rejects_unknown_encoding),
		cmocka_unit_test(test_config_loads_default_encoding),
		cmocka_unit_test(test_config_rejects_unknown_default_encoding),
		cmocka_unit_test(test_config_reports_unreadable_file),
		cmocka_unit_test(test_config_key_tables_are_complete),
		cmocka_unit_test(
		    test_config_every_watch_key_parses_copies_and_compares),
		cmocka_unit_test(test_config_reference_lists_every_key),
		cmocka_unit_test(test_config_css_is_an_alternative_to_xpath),
		cmocka_unit_test(
		    test_config_bad_css_is_reported_at_its_character),
		cmocka_unit_test(test_config_rejects_url_with_bad_ipv6_or_port),
		cmocka_unit_test(test_config_encoding_follows_the_decoder),
	};

	/* libxml2 would print XPath compile errors on stderr */
	xmlSetGenericErrorFunc(NULL, xml_ignore);
	/* as kakaowatch's main does: encoding: by the decoder's own rule */
	config_set_encoding_check(extract_encoding_check);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
