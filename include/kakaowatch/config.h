/*
 * config: the YAML configuration file (docs/configuration.md) -> struct
 * config, with all validation. The only user of libyaml.
 *
 * Loading is all-or-nothing: config_load either returns a complete, valid
 * struct config, or every error it found, each as "FILE:LINE:COL: message"
 * (LINE and COL 1-based; COL counts characters, as libyaml's marks do), in
 * file order. FILE is the path exactly as given to config_load. An error
 * that has no position (the file cannot be read) is "FILE: message".
 *
 * File layout (every key optional unless marked required):
 *
 *   state_dir: PATH          default $XDG_STATE_HOME/kakaowatch (when
 *                            XDG_STATE_HOME is absolute), else
 *                            $HOME/.local/state/kakaowatch
 *   kakao:                   mapping, see struct kakao_config
 *   defaults:                mapping of watch keys (all but `name`)
 *   watches:                 required, non-empty list of watch mappings
 *   max_connections, max_connections_per_host, max_messages_per_check,
 *   max_messages_per_day, notice_window, history_days: integers, see
 *   struct config
 *   default_encoding: CHARSET  default cp949: pages that declare no charset
 *                            and are not UTF-8 (extract.h, step 5)
 *
 * Value rules:
 * - Environment: every scalar *value* (not keys, not header names) has
 *   `${VAR}` and `${VAR:-default}` expanded from the environment before it
 *   is interpreted. `${VAR:-default}` uses the default when VAR is unset or
 *   empty (as sh does); the default may itself contain references. `${VAR}`
 *   with VAR unset is an error at that scalar naming VAR; VAR set to the
 *   empty string gives "". `$${` is a literal `${`; any other `$` is
 *   literal. Variable names are [A-Za-z_][A-Za-z0-9_]*.
 * - Paths (state_dir, kakao.token_file): a leading `~/` (or a lone `~`) is
 *   replaced by $HOME (error when HOME is unset). state_dir, when relative,
 *   is relative to the directory of the config file; token_file, when
 *   relative, to state_dir. Both come out absolute, with `.` segments and
 *   repeated slashes removed (`..` is kept as written).
 * - Null: a key with no value (`key:`, `~`, `null`) means an empty
 *   mapping/list for kakao, defaults, headers, keywords and exclude, and
 *   "not set" for the optional strings (kakao.rest_api_key,
 *   kakao.client_secret, body, encoding). For any other key it is an error
 *   ("missing value"). An empty string after expansion is "not set" for the
 *   optional strings too, and no keywords/exclude for a scalar
 *   keywords/exclude.
 * - Durations ("90s", "15m", "1h30m"), sizes ("5MiB", "512KB"), percentages
 *   ("10%") and integers parse strictly (util_parse_*); a bare number is
 *   not a duration.
 * - Booleans: true/false/yes/no/on/off (any case).
 * - Unknown keys are errors (with "did you mean" for a near miss, else the
 *   list of allowed keys); a key given twice in one mapping is an error at
 *   the second one. YAML anchors and aliases work; merge keys (`<<:`) do
 *   not (use defaults:). A scalar where a mapping or list is expected (and
 *   vice versa) is an error at the value. A second YAML document in the
 *   file is an error. YAML syntax errors are reported at libyaml's problem
 *   mark, and stop the load (only that one error is reported).
 * - An empty file, a missing `watches:` or an empty list is an error ("no
 *   watches defined"): a daemon with nothing to watch is a mistake that
 *   `kakaowatch check` must catch.
 */
#ifndef KAKAOWATCH_CONFIG_H
#define KAKAOWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cond;

/* Limits checked by config_load (inclusive). */
#define CONFIG_NAME_MAX_CHARS 64    /* watch name, in characters */
#define CONFIG_INTERVAL_MIN_MS 1000 /* interval: 1s .. 30d */
#define CONFIG_INTERVAL_MAX_MS (30LL * 86400 * 1000)
#define CONFIG_JITTER_MAX_PCT 50.0 /* jitter: 0% .. 50% */
#define CONFIG_TIMEOUT_MIN_MS 1000 /* timeout: 1s .. 10m */
#define CONFIG_TIMEOUT_MAX_MS (10LL * 60 * 1000)
#define CONFIG_MAX_RETRY_AFTER_MIN_MS (60LL * 1000)
#define CONFIG_MAX_RETRY_AFTER_MAX_MS (7LL * 86400 * 1000)
#define CONFIG_MAX_BYTES_MIN 1024LL /* max_bytes: 1KiB .. 1GiB */
#define CONFIG_MAX_BYTES_MAX (1024LL * 1024 * 1024)
#define CONFIG_MAX_FAILURES_MAX 1000          /* max_failures: 1 .. 1000 */
#define CONFIG_MAX_CONNECTIONS_MAX 1024       /* max_connections: 1 .. 1024 */
#define CONFIG_MAX_PER_HOST_MAX 64            /* per host: 1 .. 64 */
#define CONFIG_MAX_MESSAGES_PER_CHECK_MAX 100 /* 1 .. 100 */
#define CONFIG_MAX_MESSAGES_PER_DAY_MAX 10000 /* 1 .. 10000 */
#define CONFIG_FIELDS_MAX 32                  /* fields: entries a watch */
#define CONFIG_HISTORY_DAYS_MAX 3650          /* history_days: 1 .. 3650 */
#define CONFIG_MIN_REFRESH_MAX_MS (86400LL * 1000) /* 0 .. 1d */
/* the YAML file itself: 10,000 watches in block style take ~1.4 MB */
#define CONFIG_FILE_MAX_BYTES (16 * 1024 * 1024)

/* a watch's `parser:`; the same order as extract.h's enum extract_parser
   and as the words of its row in config.c */
enum config_parser {
	CONFIG_PARSER_AUTO,
	CONFIG_PARSER_HTML,
	CONFIG_PARSER_XML,
	CONFIG_PARSER_FEED,
	CONFIG_PARSER_JSON
};

enum config_sink {
	CONFIG_SINK_AUTO,  /* kakao once a token file exists, else stdout */
	CONFIG_SINK_KAKAO, /* always Kakao (needs rest_api_key) */
	CONFIG_SINK_STDOUT /* print messages instead of sending them */
};

/*
 * notify_on bits: which changes send a message. `both` (from 0.1) is
 * added + removed.
 */
enum { NOTIFY_ADDED = 1, NOTIFY_REMOVED = 2, NOTIFY_CHANGED = 4 };

/* a position in the config file; 1-based line and column (characters) */
struct config_pos {
	unsigned line, col;
};

/*
 * One watch, after `defaults:` and the built-in defaults are applied.
 * Every string is owned by the struct config (freed by config_free).
 */
struct watch_config {
	/*
	 * Required; unique in the file. 1..CONFIG_NAME_MAX_CHARS characters
	 * out of ASCII letters, digits, '.', '_', '-' and Hangul (syllables
	 * U+AC00..U+D7A3, jamo U+1100..U+11FF, compatibility jamo
	 * U+3130..U+318F); the first one is not '.', '_' or '-'. No spaces:
	 * the name is a command-line argument (`kakaowatch test NAME`), a log
	 * subject and the key of the watch's history.
	 */
	char *name;
	char *url;        /* required; http:// or https:// with a host */
	char *xpath;      /* XPath 1.0, checked by the hook; required unless
	                     parser is auto, feed or json; NULL when unset;
	                     the translation of css when that is given */
	char *css;        /* the css: selector as written, or NULL */
	char *method;     /* "GET" (default) or "POST"; input is any case */
	char *body;       /* request body, POST only; NULL when not set */
	char *user_agent; /* default "kakaowatch/" KW_VERSION; no CR/LF;
	                     "browser": HTTP_BROWSER_USER_AGENT and the
	                     browser's other headers (check_request_init) */
	int render;       /* CONFIG_RENDER_NONE (default) or _BROWSER */
	/* render: browser only: an XPath 1.0 (wait_for: as written, or the
	 * translation of a CSS selector, select.h) the rendered page must
	 * select a node with before it is read, or NULL */
	char *wait_for;
	/* render: browser only: CONFIG_PROFILE_FRESH (default: a new profile
	 * each check, removed after) or _KEEP (STATE_DIR/browser/NAME, 0700,
	 * kept between checks) */
	int browser_profile;
	char *proxy;    /* http(s)/socks5(h) URL (http_proxy_check), or
	                     NULL: the environment's */
	char *cookies;  /* absolute path of a Netscape cookies.txt, or
	                     NULL; the kept jar is
	                     STATE_DIR/cookies/NAME.txt */
	char *encoding; /* charset override the decoder knows (see
	                     config_set_encoding_check), or NULL */
	/*
	 * keywords: an item triggers a message only when its text contains
	 * one of them (case-insensitive); none = every item. exclude: drop
	 * items containing any of them. A list or a single string; entries
	 * are non-empty. A watch's list replaces the one from defaults.
	 */
	char **keywords;
	size_t nkeywords;
	char **exclude;
	size_t nexclude;
	/*
	 * when: conditions (cond.h syntax, each compiles) an item must all
	 * hold to trigger a message, tested on `title` (the item text),
	 * `link` and its fields (item.h); every name a condition uses is one
	 * the watch's items can have (its fields:, feeds' date, summary,
	 * author, image; any name with jq:), checked at load; none = every
	 * item. A watch's list replaces the one from defaults.
	 */
	char **when;
	size_t nwhen;
	/*
	 * when_cond: the nwhen conditions compiled (cond.h), once per
	 * config load (and config_watch_copy); owned, freed with the watch.
	 * NULL when nwhen is 0.
	 */
	struct cond **when_cond;
	/*
	 * fields: what each item gets besides its text and link
	 * (docs/configuration.md §Fields): nfields strings, 2 per `fields:`
	 * entry in file order, the name (item.h's rule, not `name`, `count`
	 * or `key`) then an XPath relative to the item (a css: entry's
	 * translation, with `/@ATTR` for attr:). At most CONFIG_FIELDS_MAX
	 * entries. A watch's mapping replaces the one from defaults.
	 */
	char **fields;
	size_t nfields;
	/*
	 * message: the templates of its messages (message.h), as pairs:
	 * the part ("title", "description" or "header"), then its template
	 * (checked: known placeholders only); only the parts given with a
	 * non-empty value. A watch's message: replaces the one from
	 * defaults as a whole. config_watch_message reads a part.
	 */
	char **message;
	size_t nmessage;
	/*
	 * Extra request headers, each "Name: value" in file order. Name is an
	 * RFC 9110 token, unique (case-insensitive); value has no CR, LF or
	 * NUL. A watch's headers replace the ones from defaults entirely.
	 */
	char **headers;
	size_t nheaders;
	int notify_on; /* NOTIFY_* bits, default NOTIFY_ADDED */
	/*
	 * Item identity (key.h). key: enum key_mode, default KEY_AUTO.
	 * key_pattern: a regex (regex.h) with at least one capture group,
	 * checked at load, or NULL.
	 */
	int key_mode;
	char *key_pattern;
	int64_t interval_ms; /* default 30m; CONFIG_INTERVAL_MIN/MAX_MS */
	int64_t timeout_ms;  /* whole transfer; default 30s; 1s..10m */
	int64_t max_bytes;   /* page size cap; default 5MiB; 1KiB..1GiB */
	double jitter_pct;   /* +- percent of interval; default 10; 0..50 */
	int max_failures;    /* failures before "watch is failing"; default 5 */
	/*
	 * How the response is read (issue 13): parser (CONFIG_PARSER_*, the
	 * order of extract.h's enum extract_parser; default auto);
	 * namespaces: nnamespaces strings (2 per `namespaces:` entry),
	 * prefix then URI, for XPath;
	 * title / link: XPath per item, NULL = the default rules; jq: the jq
	 * program for JSON, NULL = none. xpath may be NULL for feeds and JSON.
	 */
	int parser;
	char **namespaces;
	size_t nnamespaces;
	char *title;
	char *link;
	char *jq;
	bool ssl_verify; /* default true */
	/* follow https -> http redirects; default false (http.h) */
	bool allow_insecure_redirect;
	/* a Retry-After asking for longer is a failed check, and the next
	 * check waits only this long; default 6h, 1m..7d */
	int64_t max_retry_after_ms;
	bool enabled; /* default true; false = parsed but not run */
	/* quiet_hours of this watch ("HH:MM-HH:MM" or "off"), or NULL:
	 * the top-level one (see config_quiet_hours) */
	char *quiet_hours;
	struct config_pos pos;       /* the watch's list item (its mapping) */
	struct config_pos xpath_pos; /* the xpath (or css) value (maybe in
	                                defaults) */
	struct config_pos jq_pos;    /* the jq value (maybe in defaults) */
};

struct kakao_config {
	char *rest_api_key;    /* app's REST API key; NULL when empty/unset;
	                        required when sink is kakao */
	char *client_secret;   /* NULL when empty/unset; registered with
	                        log_redact_add by config_load */
	char *redirect_uri;    /* default "http://localhost:5000/oauth" */
	char *token_file;      /* absolute; default
	                        {state_dir}/kakao_token.json */
	char *auth_base_url;   /* default "https://kauth.kakao.com" */
	char *api_base_url;    /* default "https://kapi.kakao.com" */
			       /* URLs: http(s), trailing '/' removed */
	enum config_sink sink; /* default CONFIG_SINK_AUTO */
	int64_t min_refresh_interval_ms; /* default 5m; 0..1d (design.md §4) */
	char *default_link; /* http(s) URL or NULL: the link of messages
	                         that have none (`send`, plain-text retry) */
	char **web_domains; /* hosts registered in the Kakao app, or NULL */
	size_t nweb_domains;
};

/* render: how a watch's page is loaded (in its config.c row's order) */
enum { CONFIG_RENDER_NONE, CONFIG_RENDER_BROWSER };
/* browser_profile: what becomes of the browser's profile directory (in
   its config.c row's order) */
enum { CONFIG_PROFILE_FRESH, CONFIG_PROFILE_KEEP };

struct config {
	char *path;      /* the config file, as given to config_load */
	char *state_dir; /* absolute (see the path rules above) */
	struct kakao_config kakao;
	int max_connections;          /* default 16; 1..1024 */
	int max_connections_per_host; /* default 2; 1..64 */
	int max_messages_per_check;   /* default 3; 1..100 */
	int max_messages_per_day;     /* default 20; 1..10000 */
	int notice_window;            /* default 60 s; 0..3600: failure and
					 recovery notices queued within it
					 go out as one message (deliver.h) */
	int history_days;             /* default 90; 1..3650 */
	/* quiet hours (quiet.h): "HH:MM-HH:MM" as quiet_format writes it,
	 * or "off" (the default); a watch's own quiet_hours beats it */
	char *quiet_hours;
	char *timezone;         /* IANA name quiet_hours are read in; default
	                   "Asia/Seoul" (quiet_tz_check passed) */
	char *default_encoding; /* charset iconv knows, or NULL (CP949):
	                                 undeclared non-UTF-8 pages (extract.h) */
	char *browser;   /* the browser of render: browser (render.h), a path
	                    or a name on PATH; NULL: chromium-headless-shell */
	int browser_max; /* browsers at once; default 1; 1..8 */
	struct watch_config *watches; /* in file order */
	size_t nwatches;              /* >= 1 */
};

/* "FILE:LINE:COL: message" strings in file order; owned by the struct */
struct config_errors {
	char **v;
	size_t n;
};

/*
 * The XPath check hook: returns 0 when `xpath` compiles, else -1 with a
 * short reason in `msg` (NUL-terminated, at most `msgsize` bytes). The
 * extract module provides extract_xpath_check; config does not use libxml2.
 */
typedef int (
    *config_xpath_check_fn)(const char *xpath, char *msg, size_t msgsize);

/*
 * Checks of the per-item expressions and of jq programs, which config
 * cannot do itself (extract and jq provide them): `field` as
 * extract_field_check (an XPath with the watch's namespace pairs ns[0..2n),
 * also used for an xpath holding a prefix), `jq` as jq_check (*line: the
 * program line the error names, 0 = none). config_set_source_checks sets
 * them for every later config_load of the process (NULL: not checked).
 */
typedef int (*config_field_check_fn)(const char *expr, const char *const *ns,
    size_t nns, char *msg, size_t msgsize);
typedef int (*config_jq_check_fn)(const char *program, char *msg,
    size_t msgsize, unsigned *line);
void config_set_source_checks(config_field_check_fn field,
    config_jq_check_fn jq);

/*
 * The `encoding:` check: 0 when the page decoder knows `label`, else -1
 * (with a reason in `msg`, which config does not show: its message names
 * the key). extract_encoding_check is the one: a value passes exactly when
 * extract decodes pages with it (ks_c_5601-1987 and windows-949 as CP949,
 * as WHATWG's label table says). config_set_encoding_check sets it for
 * every later config_load of the process; NULL (the default) accepts any
 * single-line value.
 */
typedef int (
    *config_encoding_check_fn)(const char *label, char *msg, size_t msgsize);
void config_set_encoding_check(config_encoding_check_fn check);

/*
 * config_load reads and validates the YAML file `path` (borrowed; at most
 * CONFIG_FILE_MAX_BYTES). `xpath_check` is called once for each distinct
 * xpath value (in a watch or in defaults: an expression that passed is not
 * checked again, a failing one at every value); NULL skips the XPath
 * check. A bad XPath is reported at the xpath value as "watch 'x': bad
 * xpath '...': <msg>".
 *
 * Returns 0 and a new config in *out (the caller frees it with
 * config_free), or -1 with *out = NULL and every error appended to `errs`
 * (which must be zero-initialised or released; may be NULL to discard).
 * On success nothing is added to `errs`. Reads the environment (see the
 * value rules above) and registers client_secret with log_redact_add.
 */
int config_load(const char *path, config_xpath_check_fn xpath_check,
    struct config **out, struct config_errors *errs);

/*
 * config_append_watch appends one watch to the configuration file `path`
 * (borrowed; a symlink is followed and its target replaced): the `n` keys
 * and values (borrowed, e.g. name, url, xpath) become a new last item of
 * `watches:`, written as YAML double-quoted scalars, indented as the
 * existing items are. Every other byte of the file is kept, comments
 * included. Refused (nothing written) unless the file is one YAML document
 * whose top level is a block mapping, whose last key is `watches:` holding
 * a block sequence of block mappings all indented alike, without tabs, CR
 * or NUL bytes. The new file is written next to the old one with its
 * mode, loaded with config_load (`xpath_check` as there) and only then
 * renamed over it (a daemon reloading on change sees the old or the new
 * file). Returns 0, or -1 with the errors appended to `errs` as
 * "FILE: message" or config_load's "FILE:LINE:COL: message".
 */
int config_append_watch(const char *path, const char *const *keys,
    const char *const *values, size_t n, config_xpath_check_fn xpath_check,
    struct config_errors *errs);

/*
 * config_watch_message: watch `w`'s message: template for `part`
 * ("title", "description" or "header"), borrowed from `w`, or NULL when
 * not given (the part's default, message.h).
 */
const char *config_watch_message(const struct watch_config *w,
    const char *part);

/* config_free frees everything in `cfg` and `cfg`; NULL is a no-op. */
void config_free(struct config *cfg);

/* config_errors_release frees the messages; `errs` is empty afterwards. */
void config_errors_release(struct config_errors *errs);

/*
 * The keys, one table per section (config.c): every key of the file is one
 * row, which drives its parsing, its built-in default, the inheritance of
 * watch keys from defaults:, and copying, releasing and comparing watches.
 * These functions expose the rows' public part, for documentation, tests
 * and the reload's "changed?".
 */
enum config_section {
	CONFIG_SECTION_TOP,   /* the top level of the file */
	CONFIG_SECTION_KAKAO, /* kakao: */
	CONFIG_SECTION_WATCH  /* a watch (and defaults:, except name) */
};

struct config_key_info {
	const char *name;    /* the key, as written in the file */
	const char *def;     /* the built-in default as written in the file
	                        (for state_dir: in words); NULL: none */
	const char *doc;     /* one line, lower case, no full stop */
	const char *example; /* watch keys: a valid value that differs from
	                        the default (YAML, flow style); NULL for
	                        other sections */
	const char *needs;   /* watch keys: "key: value" lines the example
	                        also needs (e.g. body needs method: POST),
	                        newline-separated; NULL when none */
	bool required;       /* the key must be given */
	const char *instead; /* watch keys: the key this one stands in for
	                        (css for xpath: one of the two is given, and
	                        css sets xpath to its translation); NULL */
};

/*
 * config_key returns key `i` (0-based, table order: the order of the
 * "allowed:" list of an unknown-key error) of `section`, or NULL when i is
 * past the last. The pointer is static.
 */
const struct config_key_info *config_key(enum config_section section, size_t i);

/*
 * config_watch_key_equal: has watch key `i` (config_key(CONFIG_SECTION_WATCH,
 * i)) the same value in `a` and `b`? True for i past the last key.
 */
bool config_watch_key_equal(const struct watch_config *a,
    const struct watch_config *b, size_t i);

/*
 * config_watch_equal: are all watch keys equal in `a` and `b` (name and
 * enabled included; the positions are not compared)? The reload uses it
 * to tell "changed" from "kept".
 */
bool config_watch_equal(const struct watch_config *a,
    const struct watch_config *b);

/*
 * config_watch_copy makes `dst` (uninitialised) a deep copy of `src`; the
 * caller releases it with config_watch_release. Returns 0, or -1 on
 * out-of-memory with `dst` released.
 */
int config_watch_copy(struct watch_config *dst, const struct watch_config *src);

/*
 * config_watch_release frees the strings of `w` (made by config_watch_copy;
 * never one inside a struct config) and zeroes it.
 */
void config_watch_release(struct watch_config *w);

/*
 * config_quiet_hours: the quiet hours that apply to watch `wc` (NULL: the
 * daemon's own messages and notices): its own quiet_hours, else the
 * top-level one; "HH:MM-HH:MM" or "off". Borrowed from cfg.
 */
const char *config_quiet_hours(const struct config *cfg,
    const struct watch_config *wc);

/*
 * config_find_watch returns the watch called `name` (exact, byte-wise
 * match) or NULL. The pointer is borrowed from `cfg` and lives as long as
 * it does.
 */
const struct watch_config *config_find_watch(const struct config *cfg,
    const char *name);

#endif
