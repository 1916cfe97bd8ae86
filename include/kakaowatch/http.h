/*
 * http: page and API fetching over libcurl (the only module that uses it).
 *
 * One `struct http` owns one curl multi handle: transfers are submitted with
 * a completion callback and run concurrently by http_poll(), the loop's only
 * wait (curl_multi_poll + curl_multi_info_read + CURLINFO_PRIVATE). The
 * multi handle keeps a connection cache, so transfers to the same host
 * reuse connections. At most `max_connections` connections are open in all
 * and at most `max_connections_per_host` per host. At most
 * `max_connections` transfers are handed to curl at once; the others wait,
 * first in first out, in a queue of the `struct http` (a copy of their
 * request, no curl handle) and start as earlier ones finish, so a queued
 * transfer's timeout has not started yet and 10,000 queued transfers cost
 * a few hundred bytes each.
 * HTTP/2 multiplexing is turned off, so "connections per host" is also the
 * number of requests a host sees at once (docs/design.md §2.1,
 * max_connections_per_host).
 *
 * Connection slots are handed out here, not by curl: a transfer waits in
 * the queue of its origin until that origin has fewer than
 * `max_connections_per_host` transfers running and fewer than
 * `max_connections` run in all, so no transfer waits inside curl with its
 * timeout running.
 *
 * Every transfer: redirects followed here hop by hop (at most
 * HTTP_MAX_REDIRECTS, http and https only, never from https to http unless
 * allow_insecure_redirect; the caller's headers and bearer token only to
 * the request's own origin; 303, and 301/302 after a POST, continue as
 * GET), host names in Unicode converted to IDNA A-labels (libidn2, no
 * locale needed), every content encoding this libcurl supports accepted and
 * decoded (gzip, deflate, br, zstd when built in), a cap on the decoded
 * body, total and connect timeouts, TLS verification on unless turned off,
 * proxies from the environment (http_proxy, https_proxy, no_proxy).
 * Errors are per transfer and never stop the others.
 *
 * Nothing here logs the request body, the bearer token or any header.
 */
#ifndef KAKAOWATCH_HTTP_H
#define KAKAOWATCH_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/util.h"

#define HTTP_DEFAULT_TIMEOUT_MS 30000L
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_MAX_BYTES ((size_t)5 * 1024 * 1024)
#define HTTP_MAX_REDIRECTS 10
/* cap on the header bytes of one response (curl's own per-line limit) */
#define HTTP_MAX_HEADER_BYTES (100 * 1024)

/*
 * The User-Agent of `user_agent: browser`: desktop Chrome on Windows in
 * the reduced form Chrome sends since version 110 (minor versions zeroed;
 * https://www.chromium.org/updates/ua-reduction/). 156 is the version of
 * Debian's chromium on the build machine (2026-12); update it with it.
 */
#define HTTP_BROWSER_USER_AGENT                                         \
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " \
	"(KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
/* Chrome's Accept for a top-level navigation */
#define HTTP_BROWSER_ACCEPT                                      \
	"text/html,application/xhtml+xml,application/xml;q=0.9," \
	"image/avif,image/webp,image/apng,*/*;q=0.8,"            \
	"application/signed-exchange;v=b3;q=0.7"
/* what Chrome sends with Korean first in its language settings */
#define HTTP_BROWSER_ACCEPT_LANGUAGE "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"

/*
 * struct http_request describes one request. Every pointer is borrowed:
 * http_submit and http_request_sync copy what they need, so the request and
 * its strings may be freed as soon as the call returns.
 */
struct http_request {
	const char *url;    /* http:// or https:// URL; required */
	const char *method; /* "GET" (default when NULL) or "POST" */
	const char *body;   /* POST body (may hold binary), or NULL */
	size_t body_len;    /* bytes of `body` */
	/* Content-Type of the body, or NULL (a POST then gets libcurl's
	 * application/x-www-form-urlencoded) */
	const char *content_type;
	/* extra request headers, "Name: value" each, no CR/LF; a header
	 * named here replaces the one kakaowatch would send. They go only
	 * to the origin of `url` (scheme, host, port: RFC 6454): a redirect
	 * to another origin is followed without them */
	const char *const *headers;
	size_t nheaders;
	const char *user_agent; /* NULL: "kakaowatch/VERSION" */
	/* also send the other headers of a browser's page load: Accept and
	 * Accept-Language (HTTP_BROWSER_*), Upgrade-Insecure-Requests and
	 * Sec-Fetch-{Dest,Mode,Site,User}; a header of `headers` with the
	 * same name wins. Pair with user_agent = HTTP_BROWSER_USER_AGENT */
	bool browser_headers;
	/* proxy URL (http://, https://, socks5://, socks5h://; see
	 * http_proxy_check) or NULL: the environment's (http_proxy, ...).
	 * A proxy given here is used for every host (no_proxy ignored) */
	const char *proxy;
	/* cookies read with libcurl's cookie engine (Netscape cookies.txt
	 * format, https://curl.se/docs/http-cookies.html), or NULL. A file
	 * that cannot be read is the transfer's failure (HTTP_ERR_OTHER),
	 * unlike curl, which ignores it */
	const char *cookie_file;
	/* the kept cookie jar, or NULL: read after cookie_file when it is
	 * at least as new as cookie_file (a freshly exported cookie_file
	 * wins over an older jar); missing = empty. After every response
	 * (error HTTP_OK) all cookies the engine holds, those the site set
	 * included, are written there (temp + rename, mode 0600); a failed
	 * write sets http_response.cookie_error. Cookie values are never
	 * put into errmsg */
	const char *cookie_jar;
	/* sends "Authorization: Bearer X" (only to the origin of `url`
	 * when redirected), or NULL; never logged nor put into errmsg */
	const char *bearer_token;
	/* whole transfer including redirects, counted from when it gets a
	 * connection slot (not while it waits behind max_connections or
	 * max_connections_per_host, nor while a redirect waits for a slot
	 * at its new host); <= 0: 30000 */
	long timeout_ms;
	long connect_timeout_ms; /* connect phase; <= 0: 10000 */
	/* cap on the DECODED body in bytes; 0: 5 MiB. Larger bodies fail
	 * with HTTP_ERR_TOO_BIG */
	size_t max_bytes;
	bool ssl_verify; /* verify peer certificate and host name */
	/* follow a redirect from https to http; false: such a redirect
	 * fails with HTTP_ERR_REDIRECTS */
	bool allow_insecure_redirect;
	/* the abort flag (http_set_abort_flag) does not end this transfer;
	 * only its timeouts and http_cancel_all do. For a Kakao send in
	 * flight at a clean stop: its answer tells whether the message left */
	bool no_abort;
	/* validators from the previous response, or NULL: sent as
	 * If-None-Match and If-Modified-Since (RFC 9110 §13.1.2, §13.1.3) */
	const char *etag;
	const char *last_modified;
};

/* transport result of a transfer; the HTTP status is separate */
enum http_error {
	HTTP_OK = 0,      /* a response arrived (any status) */
	HTTP_ERR_CONNECT, /* refused, unreachable, reset, no reply */
	HTTP_ERR_DNS,     /* host name (or proxy name) did not resolve */
	HTTP_ERR_TIMEOUT, /* timeout_ms or connect_timeout_ms passed */
	HTTP_ERR_TLS,     /* handshake or certificate verification */
	/* decoded body over max_bytes, or response header over
	 * HTTP_MAX_HEADER_BYTES */
	HTTP_ERR_TOO_BIG,
	/* over HTTP_MAX_REDIRECTS, to non-http(s), or https -> http */
	HTTP_ERR_REDIRECTS,
	HTTP_ERR_OTHER,  /* anything else: bad URL, protocol, memory */
	HTTP_ERR_ABORTED /* cancelled: http_cancel_all or the abort flag */
};

/*
 * struct http_response is filled by the library. Owned strings are freed by
 * http_response_release (a completion callback may take any of them by
 * copying the pointer and setting the field to NULL).
 */
struct http_response {
	enum http_error error; /* transport result; HTTP status is separate */
	/* one lower-case line for the log when error != HTTP_OK, else "";
	 * never holds the bearer token or the request body, and registered
	 * secrets (log_redact_add) are redacted */
	char errmsg[256];
	long status;       /* status of the last response, 0 if none */
	bool not_modified; /* 304 to a request that sent etag/last_modified */
	/* decoded body, NUL-terminated (may hold NULs: use len). Non-NULL
	 * ("" when empty, e.g. 304) when error == HTTP_OK; NULL otherwise */
	char *body;
	size_t len;         /* bytes of body, excluding the NUL */
	char *content_type; /* Content-Type of the last response, or NULL */
	char *final_url;    /* URL after redirects, or NULL */
	/* ETag and Last-Modified of the last response, or NULL. On a 304
	 * without them, copies of the request's validators, so the caller
	 * can store these fields unconditionally */
	char *etag;
	char *last_modified;
	/* Retry-After of a 429 or 503 response in seconds from now
	 * (delta-seconds or HTTP-date, RFC 9110 §10.2.3; a past date is 0);
	 * -1 when absent, unparsable or another status */
	int64_t retry_after_s;
	double total_time_s; /* whole transfer including redirects */
	/* why request.cookie_jar could not be written, or "" */
	char cookie_error[512];
};

/*
 * http_done_fn is called once per submitted transfer, from http_poll, when it
 * has finished (any status or error). `resp` is valid only during the call;
 * owned fields may be taken (set to NULL). The callback may call
 * http_submit on the same `struct http`, but not http_free.
 */
typedef void (*http_done_fn)(void *user, struct http_response *resp);

/*
 * http_global_init initialises libcurl once per process (later calls do
 * nothing). Call it at the top of main, before any thread exists; it is
 * not thread-safe. Never fails (a failure shows up as errors later).
 */
void http_global_init(void);

/* http_global_cleanup undoes http_global_init at exit (after http_free). */
void http_global_cleanup(void);

/*
 * http_new makes a transfer engine allowing `max_connections` open
 * connections (and running transfers) in all and
 * `max_connections_per_host` per host (<= 0 for either: no limit).
 * Returns it (free with http_free), or NULL with a message in `err`.
 */
struct http *http_new(int max_connections, int max_connections_per_host,
    struct kw_err *err);

/*
 * http_free aborts every pending transfer (running or queued) WITHOUT
 * calling its callback, closes all connections and frees `h`.
 * http_free(NULL) does nothing.
 */
void http_free(struct http *h);

/*
 * http_cancel_all aborts every pending transfer, running or queued, and
 * calls its callback with error HTTP_ERR_ABORTED (status 0, no body), so
 * owners can free what they attached to it. Used on shutdown. Callbacks
 * must not submit new transfers from here (they would be cancelled too
 * late).
 */
void http_cancel_all(struct http *h);

/*
 * http_set_abort_flag: while *flag is non-zero (e.g. a signal handler's
 * stop flag), running transfers, including http_request_sync, end within
 * about a second with HTTP_ERR_ABORTED, and queued ones end with it instead
 * of starting. NULL turns it off. Process-wide.
 */
void http_set_abort_flag(volatile sig_atomic_t *flag);

/*
 * http_submit queues `req`; `done(user, resp)` is called from a later
 * http_poll when it finishes, whatever the outcome. Everything needed is
 * copied from `req`. The transfer starts at once when fewer than
 * max_connections run and none is queued, else when the transfers queued
 * before it have started and one finishes (FIFO). Returns 0, or -1 with a
 * message in `err` (bad method, missing URL, CR/LF in a header, out of
 * memory): `done` is then never called. A queued transfer that cannot be
 * set up when its turn comes (out of memory) ends through `done` with
 * HTTP_ERR_OTHER.
 */
int http_submit(struct http *h, const struct http_request *req,
    http_done_fn done, void *user, struct kw_err *err);

/*
 * http_poll runs one turn of the loop: waits up to `timeout_ms`
 * (milliseconds, >= 0; less when curl has a timer due) for activity on the
 * transfers or on the extra descriptors, lets curl do its work, then calls
 * the callbacks of finished transfers. `fds[i]` is polled for readability
 * and `ready[i]` set to whether it is readable (both may be NULL when
 * `nfds` is 0). A signal (EINTR) ends the wait early; a signal handler
 * wakes it through a self-pipe among `fds` (wake.h).
 * Returns 0, or -1 when the multi handle failed (logged; should not happen).
 */
int http_poll(struct http *h, int timeout_ms, const int *fds, bool *ready,
    size_t nfds);

/*
 * http_pending returns how many transfers were submitted and have not yet
 * had their callback called, running and queued (a running callback no
 * longer counts). `once` loops on it beside its browsers (render.h).
 */
size_t http_pending(const struct http *h);

/*
 * http_run calls http_poll until nothing is pending (for `once`, `test`).
 * Returns 0, or -1 as http_poll.
 */
int http_run(struct http *h);

/*
 * http_request_sync performs `req` now, blocking, on its own easy handle
 * (with the same options as http_submit; no connection reuse between
 * calls). Fills `resp` (release it with http_response_release in every
 * case). Returns 0 when a response arrived (any HTTP status), or -1 with
 * resp->error and resp->errmsg set on a transport failure or a bad request.
 */
int http_request_sync(const struct http_request *req,
    struct http_response *resp);

/*
 * http_response_release frees the owned fields of `resp` and leaves it
 * empty (safe to call twice).
 */
void http_response_release(struct http_response *resp);

/*
 * http_origin sets *origin to the origin of `url` (RFC 6454 §4: scheme,
 * host and port, the default port made explicit, all lower case), e.g.
 * "https://example.com:443", as a heap string the caller frees. Returns 0,
 * or -1 with `err` when curl's URL parser rejects the URL.
 */
int http_origin(const char *url, char **origin, struct kw_err *err);

/*
 * http_url_check: is `url` an address kakaowatch fetches or links to? The
 * one home of that rule: config's url:, redirect_uri and base URLs, and
 * message links (message_url_ok) use it.
 * - the scheme is http:// or https:// (any case);
 * - no byte <= 0x20 or DEL, no C1 control (U+0080..U+009F) and no U+2028
 *   or U+2029 (line breaks in KakaoTalk and JavaScript), as UTF-8 bytes;
 * - no '\' (WHATWG URL reads it as '/', curl does not: the two would
 *   fetch different pages);
 * - libcurl's URL API parses it (curl_url_set(CURLUPART_URL), RFC 3986 as
 *   curl reads it; no scheme guessing): an IPv6 literal must be complete,
 *   and so on;
 * - it has a host, and a port, when given, from 1 to 65535.
 * Length limits are the caller's (Kakao's 2000 bytes: message.h).
 * Returns 0, or -1 with the reason in `why` (a phrase to follow the
 * quoted URL, "must start with http:// or https://"; NUL-terminated,
 * cut to `whysize`; `why` may be NULL). `url` is borrowed.
 */
int http_url_check(const char *url, char *why, size_t whysize);

/*
 * http_proxy_check: is `url` a proxy kakaowatch can use? http://,
 * https://, socks5:// or socks5h:// (names resolved by the proxy), a host,
 * no control characters or spaces, and libcurl's URL API parses it
 * (CURLU_NON_SUPPORT_SCHEME). Returns 0, or -1 with the reason in `why` as
 * http_url_check. `url` is borrowed; the reason never holds a password.
 */
int http_proxy_check(const char *url, char *why, size_t whysize);

/*
 * http_url_escape percent-encodes `s` for a query value or an
 * application/x-www-form-urlencoded body: every byte but the RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) as %XX (curl_easy_escape).
 * Returns a heap string the caller frees, or NULL on out-of-memory.
 */
char *http_url_escape(const char *s);

#endif
