/*
 * check: one check of one watch (docs/design.md §2): fetch with validators,
 * extract, key the items (key.h), compare them with the snapshot and the
 * watch's memory of seen keys (diff_changes), build the messages, and
 * commit the new snapshot, history, seen keys and outbox messages in one
 * store transaction.
 * Used by `once` and by the daemon; it never sends anything itself.
 */
#ifndef KAKAOWATCH_CHECK_H
#define KAKAOWATCH_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/config.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/render.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

enum check_kind {
	CHECK_BASELINE,  /* first success, or a new XPath or URL: stored,
			    nothing sent */
	CHECK_CHANGED,   /* items were added, edited or removed */
	CHECK_UNCHANGED, /* same items, or 304 Not Modified */
	CHECK_FAILED,    /* fetch, HTTP >= 400, parse, or no match: the
			    snapshot is kept */
	CHECK_SKIPPED    /* inside a Retry-After window: not fetched */
};

struct check_outcome {
	enum check_kind kind;
	bool not_modified; /* the server answered 304 */
	size_t nitems;     /* items in the current snapshot */
	size_t nadded;     /* added items (before keywords/exclude) */
	size_t nremoved;   /* removed items */
	size_t nchanged;   /* edited items (same key, new text) */
	size_t nmessages;  /* messages queued in the outbox */
	int failures;      /* consecutive failures after this check */
	/* the state database failed: nothing of this check was recorded
	 * (failures is the stored count, unchanged), so it runs again */
	bool not_recorded;
	/* Unix ms the server asked us to wait (Retry-After), or 0; and that
	 * wait's length from the check that was told (ms, 0 = unknown): the
	 * daemon waits no longer than that from now, whatever the clock did */
	int64_t retry_after_until;
	int64_t retry_after_ms;
	char error[KW_ERR_MAX]; /* CHECK_FAILED / CHECK_SKIPPED: why */
};

/*
 * check_done_fn is called once per started check, after its result is
 * committed to the store (or the commit failed: then kind is CHECK_FAILED
 * and error says so). `o` is valid during the call only.
 */
typedef void (*check_done_fn)(void *user, const struct watch_config *wc,
    const struct check_outcome *o);

struct check_env {
	struct store *store;      /* borrowed */
	struct http *http;        /* borrowed: transfers run in its loop */
	const struct config *cfg; /* borrowed: max_messages_per_check */
	/* borrowed: the browsers of render: browser watches run in its
	 * loop (render.h); NULL: such a check fails at once */
	struct render_pool *render;
	/* borrowed: the compiled set of cfg's generation (extract.h), where
	 * check_start finds a watch's key_pattern: compiled
	 * (extract_xpath_set_regex: a look-up; the first use compiles it);
	 * NULL: a watch with a key_pattern: fails to start */
	struct extract_xpath_set *compiled;
};

/*
 * check_retry_after_until returns until when (Unix ms) the stored
 * Retry-After window of `st` still keeps `wc` from being fetched at
 * `now_ms`, or 0 when it does not: it has passed, it was asked of another
 * URL (changing `url` clears it), or it ends more than
 * wc->max_retry_after_ms from now (the clock moved back since, or an older
 * version stored it unclamped). A window recorded by a check that lies
 * after `now_ms` (the clock stepped back since) ends its own length after
 * now_ms at the latest (store_watch_clamp makes that lasting).
 * check_start skips the fetch while it is non-zero; the daemon plans the
 * first check after it.
 */
int64_t check_retry_after_until(const struct watch_config *wc,
    const struct watch_state *st, int64_t now_ms);

/*
 * check_store_upkeep keeps the state database bounded (run by the daemon
 * every few hours and after each reload, and by `once`): history older
 * than cfg->history_days days before `now_ms` (Unix ms) goes, and so does
 * every watch that is not in `cfg` and was last checked before then
 * (renamed or removed watches: state, snapshot, history). Returns 0, or -1
 * with `err`.
 */
int check_store_upkeep(struct store *st, const struct config *cfg,
    int64_t now_ms, struct kw_err *err);

/*
 * check_request_init fills `req` with the request a check of `wc` makes
 * (URL, method, form body, headers, user agent, timeout in ms, size cap in
 * bytes, TLS verification, proxy, the cookies file), without validators and
 * without the kept cookie jar (check_start adds it; `kakaowatch test` reads
 * only the cookies file and writes nothing). user_agent "browser" becomes
 * HTTP_BROWSER_USER_AGENT with browser_headers. Strings are borrowed from
 * `wc`. Used by checks and by `kakaowatch test`. Never fails.
 */
void check_request_init(struct http_request *req,
    const struct watch_config *wc);

/*
 * check_extract reads one fetched response of watch `wc` into items, as its
 * `parser:` says (extract.h's extract_document for HTML, XML and feeds,
 * jq.h's jq_items for JSON, which needs `jq:`). `xp` is the watch's
 * compiled xpath (NULL when it has none); body[0..len), content_type and
 * page_url (the final URL) as fetched. *used (may be NULL) is the parser
 * that read it. Returns 0 (maybe with no items) or -1 with err.
 */
int check_extract(const struct watch_config *wc, const struct extract_xpath *xp,
    const char *body, size_t len, const char *content_type,
    const char *page_url, struct item_list *items, enum extract_parser *used,
    struct kw_err *err);

/*
 * check_messages builds the template objects a check of `wc` queues for
 * these changes (each list may be NULL: none): for each kind the watch's
 * notify_on names, the items that pass keywords, exclude and when, made
 * into messages with the watch's message: templates (message.h), at most
 * cfg->max_messages_per_check in all (each kind gets at least one when it
 * has items). The same code runs in a check, so `kakaowatch test
 * --messages` shows what would be sent. On success *out is a heap array of
 * *nout JSON strings (message_list_free; NULL when none). All arguments
 * are borrowed. Returns 0, or -1 with `err` (out of memory).
 */
int check_messages(const struct config *cfg, const struct watch_config *wc,
    const struct item_list *added, const struct item_list *changed,
    const struct item_list *removed, char ***out, size_t *nout,
    struct kw_err *err);

/*
 * check_cookie_jar returns where the cookies of `wc` are kept between
 * checks, "STATE_DIR/cookies/NAME.txt", creating STATE_DIR/cookies (mode
 * 0700) when missing: a heap string the caller frees, or NULL with `err`
 * (also when STATE_DIR/cookies is a symbolic link: never followed).
 * check_start hands it to http as request.cookie_jar when wc->cookies is
 * set (the file is written 0600 there).
 */
char *check_cookie_jar(const struct config *cfg, const struct watch_config *wc,
    struct kw_err *err);

/*
 * check_render_request_init fills `rr` with the render a check of `wc`
 * makes (browser, URL, state_dir for a fresh profile, proxy, user agent,
 * the cookies file, wait_for, timeout, size cap), without the kept cookie
 * jar and without a kept profile (check_start adds them; `kakaowatch test`
 * writes nothing). user_agent "browser" becomes HTTP_BROWSER_USER_AGENT.
 * Strings are borrowed from `cfg` and `wc`. Never fails.
 */
void check_render_request_init(struct render_request *rr,
    const struct config *cfg, const struct watch_config *wc);

/*
 * check_browser_profile returns the kept browser profile of `wc`,
 * "STATE_DIR/browser/NAME", creating STATE_DIR/browser (0700) when
 * missing: a heap string the caller frees, or NULL with `err`.
 */
char *check_browser_profile(const struct config *cfg,
    const struct watch_config *wc, struct kw_err *err);

/*
 * check_start begins a check of `wc` with its compiled XPath `xp`: it reads
 * the watch's state, skips it when a Retry-After window is still open (then
 * `done` is called before check_start returns, with CHECK_SKIPPED), and
 * otherwise submits the fetch to env->http; `done` runs from http_poll when
 * the check has finished. A watch with render: browser is submitted to
 * env->render instead (render.h; at most browser_max browsers at once, the
 * rest queued) and `done` runs from render_step. `env` (with what it
 * points to: the compiled set too), `wc` and `xp` must stay valid until
 * then.
 * now_ms: Unix ms. Returns 0, or -1 with `err` (nothing started, `done` not
 * called).
 */
int check_start(const struct check_env *env, const struct watch_config *wc,
    const struct extract_xpath *xp, int64_t now_ms, check_done_fn done,
    void *user, struct kw_err *err);

/*
 * check_outcome_format writes a one-line summary such as
 * "rust-blog: 2 new, 0 removed (42 items)" into buf (size bytes).
 */
void check_outcome_format(const struct watch_config *wc,
    const struct check_outcome *o, char *buf, size_t size);

#endif
