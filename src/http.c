/* http: transfers over one curl multi handle (see http.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <idn2.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/log.h"
#include "kakaowatch/util.h"

#ifndef KW_VERSION
#define KW_VERSION "0"
#endif

#define HTTP_PROTOCOLS "http,https"
#define HTTP_POLL_STACK_FDS 8

/* one host's connection slots: running transfers and its own FIFO queue */
struct http_host {
	char *key; /* origin "scheme://host:port" of the hop (http_origin) */
	size_t running;
	struct http_transfer *head, *tail; /* queued, oldest first */
	struct http_host *next;
};

/*
 * one transfer: its easy handle and everything the callbacks fill in. A
 * transfer waiting in a host queue has no easy handle yet (or keeps the
 * one of its previous hop when it was redirected), only the copy of its
 * request that transfer_hop turns into options when it starts.
 */
struct http_transfer {
	struct http *http;          /* NULL for http_request_sync */
	CURL *easy;                 /* NULL until its first hop starts */
	struct curl_slist *headers; /* of the current hop */
	http_done_fn done;
	void *user;
	/* running: the doubly linked list h->running */
	struct http_transfer *prev, *next;
	/* queued: its host's queue */
	struct http_transfer *qnext;
	struct http_host *host; /* slot owner while queued or running */
	uint64_t seq;           /* submission order, kept across hops */

	/* the request, kept for every hop */
	char *url;    /* of the current hop, as curl gets it (IDN in ASCII) */
	char *shown;  /* the same URL with its host as written (Unicode) */
	char *origin; /* origin of the request's URL: headers go only there */
	char *user_agent; /* NULL: kakaowatch/VERSION */
	bool browser_headers;
	char *proxy;        /* CURLOPT_PROXY, or NULL: the environment's */
	char *cookie_file;  /* read, or NULL */
	char *cookie_jar;   /* read when newer, written back, or NULL */
	char *bearer_token; /* zeroed and freed with the transfer */
	char *post_body;    /* POST body (CURLOPT_POSTFIELDS), or NULL */
	size_t post_len;
	char *content_type;
	char **uheaders; /* the caller's headers, "Name: value" */
	size_t nuheaders;
	bool post;
	bool ssl_verify;
	bool allow_insecure_redirect;
	bool no_abort; /* the abort flag does not end it (req->no_abort) */
	long timeout_ms;
	long connect_timeout_ms;

	/* redirects followed so far, time spent on earlier hops */
	int redirects;
	int64_t used_ms;
	int64_t hop_started_ms;    /* monotonic, when this hop got its slot */
	double total_s;            /* curl's total time of earlier hops */
	enum http_error hop_error; /* set when a redirect is refused */
	char hop_msg[200];

	size_t max_bytes;
	struct buf body; /* the one growing copy of the decoded body */
	char errbuf[CURL_ERROR_SIZE];
	bool too_big;
	bool oom;
	bool header_too_big; /* response header over HTTP_MAX_HEADER_BYTES */
	bool headers_done;   /* the current response's headers have ended */
	size_t header_bytes; /* of the current response */

	/* request validators, for not_modified and 304 without validators */
	char *req_etag;
	char *req_last_modified;

	bool skip_body; /* the current response is a redirect we follow */
};

/*
 * At most `max_running` transfers are in the multi handle at once (0: no
 * limit) and at most `per_host` per origin (0: no limit); the others wait
 * in their host's FIFO queue without running in curl, so their timeout has
 * not started. The oldest queued transfer whose host has a free slot
 * starts first.
 */
struct http {
	CURLM *multi;
	struct http_transfer *running; /* in the multi handle */
	struct http_host *hosts;       /* with a transfer running or queued */
	size_t nrunning;
	size_t max_running;
	size_t per_host;
	size_t nqueued;
	size_t pending; /* running + queued */
	uint64_t seq;
};

static bool http_inited;
static volatile sig_atomic_t *http_abort_flag;

void
http_set_abort_flag(volatile sig_atomic_t *flag)
{
	http_abort_flag = flag;
}

/* progress callback: a non-zero return makes curl stop the transfer */
static int
transfer_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct http_transfer *t = clientp;

	if (t != NULL && t->no_abort)
		return 0;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return http_abort_flag != NULL && *http_abort_flag != 0;
}

void
http_global_init(void)
{
	CURLcode rc;

	if (http_inited)
		return;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		log_errorx("http: curl_global_init failed: %s",
		    curl_easy_strerror(rc));
		return;
	}
	http_inited = true;
}

void
http_global_cleanup(void)
{
	if (!http_inited)
		return;
	curl_global_cleanup();
	http_inited = false;
}

/*
 * header_get returns the value of response header `name` of the latest
 * response (curl's header API: trimmed, folded lines joined; the last
 * instance when repeated), or NULL. The string is curl's, valid until the
 * next curl call on `easy`.
 */
static const char *
header_get(CURL *easy, const char *name)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) !=
		CURLHE_OK ||
	    h == NULL)
		return NULL;
	if (h->amount > 1 && curl_easy_header(easy, name, h->amount - 1,
				 CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return h->value;
}

/* header_dup: a heap copy of header `name`, or NULL (absent or OOM) */
static char *
header_dup(CURL *easy, const char *name)
{
	const char *v = header_get(easy, name);

	return v != NULL ? strdup(v) : NULL;
}

/*
 * body_too_big: at the end of a response's headers, does its
 * Content-Length already exceed the cap? Only when the body is not
 * encoded: Content-Length counts the encoded bytes, and only the decoded
 * body is capped. 3xx bodies are skipped (a redirect) or absent (304).
 */
static bool
body_too_big(const struct http_transfer *t)
{
	const char *enc, *cl;
	long status = 0;
	char *end;
	long long n;

	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || (status >= 300 && status < 400))
		return false;
	enc = header_get(t->easy, "Content-Encoding");
	if (enc != NULL && enc[0] != '\0' && strcasecmp(enc, "identity") != 0)
		return false;
	cl = header_get(t->easy, "Content-Length");
	if (cl == NULL || !isdigit((unsigned char)cl[0]))
		return false;
	errno = 0;
	n = strtoll(cl, &end, 10);
	return errno == 0 && *end == '\0' && n >= 0 &&
	       (uint64_t)n > t->max_bytes;
}

/* is_redirect_status: the codes a Location is followed for */
static bool
is_redirect_status(long status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

/*
 * transfer_header is CURLOPT_HEADERFUNCTION: one raw header line per call,
 * status lines included, for every response of the hop (and 1xx and proxy
 * CONNECT responses). A status line starts a new response.
 */
static size_t
transfer_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t len = size * nitems;
	long status = 0;

	if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		buf_reset(&t->body); /* a new response (1xx, CONNECT) */
		t->header_bytes = len;
		t->headers_done = false;
		t->skip_body = false;
		return len;
	}
	t->header_bytes += len;
	if (t->header_bytes > HTTP_MAX_HEADER_BYTES) {
		t->header_too_big = true;
		return 0;
	}
	if (len > 0 && len <= 2 && (ptr[0] == '\r' || ptr[0] == '\n')) {
		t->headers_done = true;
		/* a redirect we follow: its body is not the page */
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		if (is_redirect_status(status) &&
		    header_get(t->easy, "Location") != NULL)
			t->skip_body = true;
		if (body_too_big(t)) {
			t->too_big = true;
			return 0;
		}
	}
	return len;
}

/*
 * transfer_write is CURLOPT_WRITEFUNCTION: curl hands over the body already
 * decoded (CURLOPT_ACCEPT_ENCODING), so the cap applies to decoded bytes.
 */
static size_t
transfer_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t n = size * nmemb;

	if (t->skip_body)
		return n;
	if (n > t->max_bytes || t->body.len > t->max_bytes - n) {
		t->too_big = true;
		return 0;
	}
	if (buf_append(&t->body, ptr, n) != 0) {
		t->oom = true;
		return 0;
	}
	return n;
}

/* secret_free zeroes a secret's bytes before freeing them */
static void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
transfer_free(struct http_transfer *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	buf_release(&t->body);
	free(t->url);
	free(t->shown);
	free(t->origin);
	free(t->user_agent);
	secret_free(t->bearer_token);
	secret_free(t->proxy); /* may hold a password */
	free(t->cookie_file);
	free(t->cookie_jar);
	secret_free(t->post_body); /* a token request's form */
	free(t->content_type);
	for (i = 0; i < t->nuheaders; i++)
		secret_free(t->uheaders[i]);
	free(t->uheaders);
	free(t->req_etag);
	free(t->req_last_modified);
	free(t);
}

static bool
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/*
 * url_to_ascii returns a heap copy of `url` whose host is in ASCII: an
 * internationalised host name (UTF-8, or percent-encoded UTF-8) becomes
 * its A-label form with libidn2 (IDNA2008 non-transitional, UTS #46
 * mapping, as WHATWG URL's "domain to ASCII" does; transitional when that
 * fails), which does not depend on the locale. Other URLs are copied
 * unchanged. NULL with `err` for a URL curl cannot parse or a host libidn2
 * rejects.
 */
static char *
url_to_ascii(const char *url, struct kw_err *err)
{
	CURLU *u;
	char *host = NULL, *ace = NULL, *out = NULL, *full = NULL;
	const char *p;
	int rc;

	u = curl_url();
	if (u == NULL) {
		kw_err_set(err, "http: out of memory");
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		/* curl reports it with its own words when it runs */
		out = strdup(url);
		goto out;
	}
	for (p = host; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			break;
	if (*p == '\0') {
		out = strdup(url);
		goto out;
	}
	rc = idn2_lookup_u8((const uint8_t *)host, (uint8_t **)&ace,
	    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		ace = NULL;
		rc = idn2_lookup_u8((const uint8_t *)host, (uint8_t **)&ace,
		    IDN2_TRANSITIONAL | IDN2_NFC_INPUT);
	}
	if (rc != IDN2_OK) {
		kw_err_set(err, "http: bad international host name '%s': %s",
		    host, idn2_strerror(rc));
		goto fail;
	}
	if (curl_url_set(u, CURLUPART_HOST, ace, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		kw_err_set(err, "http: cannot use host name '%s'", ace);
		goto fail;
	}
	out = strdup(full);
out:
	if (out == NULL)
		kw_err_set(err, "http: out of memory");
fail:
	curl_free(full);
	curl_free(host);
	idn2_free(ace);
	curl_url_cleanup(u);
	return out;
}

/*
 * shown_url returns the URL to report for redirect target `target` (what
 * curl resolved against the ASCII URL `ascii` of the hop, shown to people
 * as `shown`): on the same host, with the host as `shown` writes it, so a
 * page at http://한국.test/ keeps its Unicode host for links; else a copy
 * of `target`. NULL on out-of-memory.
 */
static char *
shown_url(const char *target, const char *ascii, const char *shown)
{
	CURLU *t = NULL, *a = NULL, *s = NULL;
	char *th = NULL, *ah = NULL, *sh = NULL, *full = NULL, *out = NULL;

	t = curl_url();
	a = curl_url();
	s = curl_url();
	if (t == NULL || a == NULL || s == NULL ||
	    curl_url_set(t, CURLUPART_URL, target, 0) != CURLUE_OK ||
	    curl_url_set(a, CURLUPART_URL, ascii, 0) != CURLUE_OK ||
	    curl_url_set(s, CURLUPART_URL, shown, 0) != CURLUE_OK ||
	    curl_url_get(t, CURLUPART_HOST, &th, 0) != CURLUE_OK ||
	    curl_url_get(a, CURLUPART_HOST, &ah, 0) != CURLUE_OK ||
	    curl_url_get(s, CURLUPART_HOST, &sh, 0) != CURLUE_OK ||
	    strcasecmp(th, ah) != 0 || strcmp(ah, sh) == 0 ||
	    curl_url_set(t, CURLUPART_HOST, sh, 0) != CURLUE_OK ||
	    curl_url_get(t, CURLUPART_URL, &full, 0) != CURLUE_OK)
		out = strdup(target);
	else
		out = strdup(full);
	curl_free(th);
	curl_free(ah);
	curl_free(sh);
	curl_free(full);
	curl_url_cleanup(t);
	curl_url_cleanup(a);
	curl_url_cleanup(s);
	return out;
}

int
http_origin(const char *url, char **origin, struct kw_err *err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *o = NULL;
	size_t i, len;
	int result = -1;

	*origin = NULL;
	u = curl_url();
	if (u == NULL)
		return kw_err_set(err, "http: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK) {
		kw_err_set(err, "http: cannot parse URL '%s'", url);
		goto out;
	}
	len = strlen(scheme) + strlen(host) + strlen(port) + 5;
	o = malloc(len);
	if (o == NULL) {
		kw_err_set(err, "http: out of memory");
		goto out;
	}
	snprintf(o, len, "%s://%s:%s", scheme, host, port);
	for (i = 0; o[i] != '\0'; i++)
		o[i] = (char)tolower((unsigned char)o[i]);
	*origin = o;
	result = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return result;
}

/* user_has_header: do the caller's headers name `name`? */
static bool
user_has_header(const struct http_transfer *t, const char *name)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < t->nuheaders; i++) {
		const char *h = t->uheaders[i];

		if (strncasecmp(h, name, nlen) == 0 &&
		    (h[nlen] == ':' || h[nlen] == ';'))
			return true;
	}
	return false;
}

/*
 * add_header appends "name: value" (value NULL: "name:", which removes
 * curl's own) unless `own` and the caller sent their own
 */
static int
add_header(struct http_transfer *t, bool own, const char *name,
    const char *value)
{
	struct buf line;
	struct curl_slist *l;

	if (own && user_has_header(t, name))
		return 0;
	buf_init(&line, 0);
	if (value != NULL) {
		if (buf_printf(&line, "%s: %s", name, value) != 0)
			goto fail;
	} else if (buf_printf(&line, "%s:", name) != 0) {
		goto fail;
	}
	l = curl_slist_append(t->headers, line.data);
	if (l == NULL)
		goto fail;
	t->headers = l;
	buf_release(&line);
	return 0;
fail:
	buf_release(&line);
	return -1;
}

/*
 * build_headers makes the header list of the next hop: ours, then the
 * caller's when the hop goes to the request's own origin (`own`). The
 * caller's headers may hold API keys: they never go to another origin.
 */
static int
build_headers(struct http_transfer *t, bool own)
{
	struct curl_slist *l;
	size_t i;

	curl_slist_free_all(t->headers);
	t->headers = NULL;
	if (t->post && add_header(t, own, "Expect", NULL) != 0)
		return -1;
	if (t->post && t->content_type != NULL &&
	    add_header(t, own, "Content-Type", t->content_type) != 0)
		return -1;
	if (t->req_etag != NULL &&
	    add_header(t, own, "If-None-Match", t->req_etag) != 0)
		return -1;
	if (t->req_last_modified != NULL &&
	    add_header(t, own, "If-Modified-Since", t->req_last_modified) != 0)
		return -1;
	if (t->browser_headers &&
	    (add_header(t, own, "Accept", HTTP_BROWSER_ACCEPT) != 0 ||
		add_header(t, own, "Accept-Language",
		    HTTP_BROWSER_ACCEPT_LANGUAGE) != 0 ||
		add_header(t, own, "Upgrade-Insecure-Requests", "1") != 0 ||
		add_header(t, own, "Sec-Fetch-Dest", "document") != 0 ||
		add_header(t, own, "Sec-Fetch-Mode", "navigate") != 0 ||
		add_header(t, own, "Sec-Fetch-Site", "none") != 0 ||
		add_header(t, own, "Sec-Fetch-User", "?1") != 0))
		return -1;
	for (i = 0; own && i < t->nuheaders; i++) {
		l = curl_slist_append(t->headers, t->uheaders[i]);
		if (l == NULL)
			return -1;
		t->headers = l;
	}
	return 0;
}

#define SETOPT(opt, val)                                          \
	do {                                                      \
		if (rc == CURLE_OK)                               \
			rc = curl_easy_setopt(t->easy, opt, val); \
	} while (0)

/* dup_opt: *dst = copy of s (NULL stays NULL); -1 on out-of-memory */
static int
dup_opt(char **dst, const char *s)
{
	*dst = NULL;
	if (s == NULL)
		return 0;
	*dst = strdup(s);
	return *dst != NULL ? 0 : -1;
}

/*
 * transfer_new checks `req` and makes a transfer holding a copy of it, not
 * yet started: transfer_hop sets up its easy handle. Returns it, or NULL
 * with a message in `err`.
 */
static struct http_transfer *
transfer_new(const struct http_request *req, struct kw_err *err)
{
	struct http_transfer *t = NULL;
	bool post;
	size_t i;

	if (req->url == NULL || req->url[0] == '\0') {
		kw_err_set(err, "http: request without a URL");
		goto fail;
	}
	if (req->method == NULL || strcasecmp(req->method, "GET") == 0) {
		post = false;
	} else if (strcasecmp(req->method, "POST") == 0) {
		post = true;
	} else {
		kw_err_set(err,
		    "http: unsupported method '%s': use GET or "
		    "POST",
		    req->method);
		goto fail;
	}
	if (req->body != NULL && !post) {
		kw_err_set(err, "http: a request body needs method POST");
		goto fail;
	}
	if (has_crlf(req->url) || has_crlf(req->content_type) ||
	    has_crlf(req->user_agent) || has_crlf(req->bearer_token) ||
	    has_crlf(req->etag) || has_crlf(req->last_modified) ||
	    has_crlf(req->proxy)) {
		kw_err_set(err, "http: line break in a request field");
		goto fail;
	}
	for (i = 0; i < req->nheaders; i++) {
		const char *h = req->headers[i];

		if (h == NULL || has_crlf(h) || strpbrk(h, ":;") == NULL ||
		    h[0] == ':' || h[0] == ';') {
			/* name only: the value may be a secret */
			kw_err_set(err,
			    "http: bad request header '%.*s': "
			    "use 'Name: value' on one line",
			    h != NULL ? (int)strcspn(h, ":;\r\n") : 6,
			    h != NULL ? h : "(null)");
			goto fail;
		}
	}

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto oom;
	t->max_bytes =
	    req->max_bytes > 0 ? req->max_bytes : HTTP_DEFAULT_MAX_BYTES;
	buf_init(&t->body, t->max_bytes);
	t->url = url_to_ascii(req->url, err);
	if (t->url == NULL)
		goto fail;
	t->shown = strdup(req->url);
	if (t->shown == NULL)
		goto oom;
	if (http_origin(t->url, &t->origin, NULL) != 0 && t->origin == NULL) {
		/* curl says what is wrong with it when it runs */
		t->origin = strdup("");
		if (t->origin == NULL)
			goto oom;
	}
	if (dup_opt(&t->req_etag, req->etag) != 0 ||
	    dup_opt(&t->req_last_modified, req->last_modified) != 0 ||
	    dup_opt(&t->user_agent, req->user_agent) != 0 ||
	    dup_opt(&t->bearer_token, req->bearer_token) != 0 ||
	    dup_opt(&t->content_type, req->content_type) != 0 ||
	    dup_opt(&t->proxy, req->proxy) != 0 ||
	    dup_opt(&t->cookie_file, req->cookie_file) != 0 ||
	    dup_opt(&t->cookie_jar, req->cookie_jar) != 0)
		goto oom;
	t->browser_headers = req->browser_headers;
	t->post = post;
	if (post && req->body != NULL) {
		/* may hold NULs: copy body_len bytes, plus a NUL */
		t->post_body = malloc(req->body_len + 1);
		if (t->post_body == NULL)
			goto oom;
		memcpy(t->post_body, req->body, req->body_len);
		t->post_body[req->body_len] = '\0';
		t->post_len = req->body_len;
	}
	if (req->nheaders > 0) {
		t->uheaders = calloc(req->nheaders, sizeof(*t->uheaders));
		if (t->uheaders == NULL)
			goto oom;
		for (i = 0; i < req->nheaders; i++) {
			t->uheaders[i] = strdup(req->headers[i]);
			if (t->uheaders[i] == NULL)
				goto oom;
			t->nuheaders++;
		}
	}
	t->ssl_verify = req->ssl_verify;
	t->allow_insecure_redirect = req->allow_insecure_redirect;
	t->no_abort = req->no_abort;
	t->timeout_ms =
	    req->timeout_ms > 0 ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	t->connect_timeout_ms = req->connect_timeout_ms > 0 ?
				    req->connect_timeout_ms :
				    HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	return t;
oom:
	kw_err_set(err, "http: out of memory");
fail:
	transfer_free(t);
	return NULL;
}

/*
 * transfer_cookies turns on the cookie engine of t->easy when the request
 * has a cookie file or jar, and has it read them: the cookie file (which
 * must be readable), then the jar when it exists and is not older than the
 * cookie file. Returns 0, or -1 with `err` (never a cookie value).
 */
static int
transfer_cookies(struct http_transfer *t, struct kw_err *err)
{
	struct stat fst, jst;
	CURLcode rc = CURLE_OK;
	bool have_file = false;

	if (t->cookie_file == NULL && t->cookie_jar == NULL)
		return 0;
	/* "": the engine on, nothing read */
	SETOPT(CURLOPT_COOKIEFILE, "");
	if (t->cookie_file != NULL) {
		if (stat(t->cookie_file, &fst) != 0 ||
		    access(t->cookie_file, R_OK) != 0)
			return kw_err_set(err,
			    "cannot read the cookies file "
			    "'%s': %s",
			    t->cookie_file, strerror(errno));
		if (!S_ISREG(fst.st_mode))
			return kw_err_set(err,
			    "the cookies file '%s' is not "
			    "a regular file",
			    t->cookie_file);
		have_file = true;
		SETOPT(CURLOPT_COOKIEFILE, t->cookie_file);
	}
	/* later files replace cookies of the same name, domain and path;
	 * the jar (in the state directory) is never read through a link */
	if (t->cookie_jar != NULL && lstat(t->cookie_jar, &jst) == 0 &&
	    S_ISREG(jst.st_mode) &&
	    (!have_file || jst.st_mtim.tv_sec > fst.st_mtim.tv_sec ||
		(jst.st_mtim.tv_sec == fst.st_mtim.tv_sec &&
		    jst.st_mtim.tv_nsec >= fst.st_mtim.tv_nsec)))
		SETOPT(CURLOPT_COOKIEFILE, t->cookie_jar);
	if (rc != CURLE_OK)
		return kw_err_set(err, "http: cannot set up cookies: %s",
		    curl_easy_strerror(rc));
	return 0;
}

/*
 * cookies_save writes every cookie the engine of `easy` holds to `jar` in
 * the Netscape format (CURLINFO_COOKIELIST gives its lines), temp + rename,
 * mode 0600. Returns 0, or -1 with `err` (never a cookie value).
 */
static int
cookies_save(CURL *easy, const char *jar, struct kw_err *err)
{
	struct curl_slist *list = NULL, *l;
	struct buf b;
	int result = -1;

	if (curl_easy_getinfo(easy, CURLINFO_COOKIELIST, &list) != CURLE_OK)
		return kw_err_set(err, "cannot list the cookies");
	buf_init(&b, 0);
	if (buf_printf(&b,
		"# Netscape HTTP Cookie File\n"
		"# kept by kakaowatch: the cookies of one watch\n") != 0)
		goto oom;
	for (l = list; l != NULL; l = l->next)
		if (buf_printf(&b, "%s\n", l->data) != 0)
			goto oom;
	result = util_write_file_atomic(jar, b.data, b.len, 0600, false, err);
	goto out;
oom:
	kw_err_set(err, "out of memory");
out:
	/* the list and the text hold cookie values */
	for (l = list; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
	if (b.data != NULL)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	return result;
}

/* transfer_easy makes the easy handle with the options of every hop */
static int
transfer_easy(struct http_transfer *t, struct kw_err *err)
{
	CURLcode rc = CURLE_OK;

	t->easy = curl_easy_init();
	if (t->easy == NULL)
		return kw_err_set(err, "http: out of memory");
	SETOPT(CURLOPT_PRIVATE, (void *)t);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_XFERINFOFUNCTION, transfer_progress);
	SETOPT(CURLOPT_XFERINFODATA, (void *)t);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
	SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, transfer_write);
	SETOPT(CURLOPT_WRITEDATA, (void *)t);
	SETOPT(CURLOPT_HEADERFUNCTION, transfer_header);
	SETOPT(CURLOPT_HEADERDATA, (void *)t);
	/* redirects are followed hop by hop here (transfer_next_hop), so
	 * that each hop gets only the headers meant for its origin */
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(CURLOPT_SSL_VERIFYPEER, t->ssl_verify ? 1L : 0L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, t->ssl_verify ? 2L : 0L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_USERAGENT,
	    t->user_agent != NULL ? t->user_agent : "kakaowatch/" KW_VERSION);
	if (t->proxy != NULL) {
		SETOPT(CURLOPT_PROXY, t->proxy);
		/* "": no host bypasses the proxy, whatever no_proxy says */
		SETOPT(CURLOPT_NOPROXY, "");
	}
	if (rc == CURLE_OK && transfer_cookies(t, err) != 0)
		return -1;
	if (t->post) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->post_len);
		/* not copied: t->post_body lives as long as the handle */
		SETOPT(CURLOPT_POSTFIELDS,
		    t->post_body != NULL ? t->post_body : "");
	}
	if (rc != CURLE_OK)
		return kw_err_set(err, "http: cannot set up the request: %s",
		    curl_easy_strerror(rc));
	return 0;
}

/*
 * transfer_hop sets up the next hop of `t` (its first one, or the target
 * of a redirect in t->url): URL, the headers and bearer token its origin
 * may get, and what is left of the timeout, counted from now (the hop has
 * its connection slot). Returns 0, or -1 with a message in `err`.
 */
static int
transfer_hop(struct http_transfer *t, struct kw_err *err)
{
	CURLcode rc = CURLE_OK;
	char *origin = NULL;
	bool own;
	long left;

	if (t->easy == NULL && transfer_easy(t, err) != 0)
		return -1;
	own = http_origin(t->url, &origin, NULL) == 0 &&
	      strcmp(origin, t->origin) == 0;
	free(origin);
	if (build_headers(t, own) != 0)
		return kw_err_set(err, "http: out of memory");
	left = t->timeout_ms - (long)t->used_ms;
	if (left < 1)
		left = 1;
	t->errbuf[0] = '\0';
	t->hop_started_ms = util_mono_ms();
	SETOPT(CURLOPT_URL, t->url);
	SETOPT(CURLOPT_HTTPHEADER, t->headers);
	SETOPT(CURLOPT_TIMEOUT_MS, left);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
	    t->connect_timeout_ms < left ? t->connect_timeout_ms : left);
	if (t->bearer_token != NULL && own) {
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SETOPT(CURLOPT_XOAUTH2_BEARER, t->bearer_token);
	} else if (t->bearer_token != NULL) {
		SETOPT(CURLOPT_XOAUTH2_BEARER, (char *)NULL);
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	}
	if (rc != CURLE_OK)
		return kw_err_set(err, "http: cannot set up the request: %s",
		    curl_easy_strerror(rc));
	return 0;
}

/* hop_refuse ends the redirect chain of `t` with `e` and a message */
static int hop_refuse(struct http_transfer *t, enum http_error e,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
hop_refuse(struct http_transfer *t, enum http_error e, const char *fmt, ...)
{
	va_list ap;

	t->hop_error = e;
	va_start(ap, fmt);
	vsnprintf(t->hop_msg, sizeof(t->hop_msg), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * transfer_next_hop decides, when a hop of `t` has ended with `rc`,
 * whether a redirect is to be followed (RFC 9110 §15.4): 1 when t->url
 * now holds the next hop's URL (the method is GET after a 303, and after
 * a 301 or 302 to a POST, as browsers do), 0 when this response is the
 * answer, -1 when the redirect is refused (t->hop_error, t->hop_msg):
 * more than HTTP_MAX_REDIRECTS, a scheme other than http(s), https to
 * http without allow_insecure_redirect, or no time left.
 */
static int
transfer_next_hop(struct http_transfer *t, CURLcode rc)
{
	CURLcode crc = CURLE_OK;
	char *target = NULL, *next = NULL, *scheme = NULL, *was = NULL;
	char *shown;
	struct kw_err err = { 0 };
	double total = 0;
	CURLU *u = NULL;
	long status = 0;
	int result = -1;

	t->used_ms += util_mono_ms() - t->hop_started_ms;
	if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total) == CURLE_OK)
		t->total_s += total;
	if (rc != CURLE_OK || t->too_big || t->oom || t->header_too_big)
		return 0;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!is_redirect_status(status) ||
	    header_get(t->easy, "Location") == NULL)
		return 0;
	if (curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_URL, &target) !=
		CURLE_OK ||
	    target == NULL)
		return 0;
	if (t->redirects >= HTTP_MAX_REDIRECTS)
		return hop_refuse(t, HTTP_ERR_REDIRECTS,
		    "more than %d redirects", HTTP_MAX_REDIRECTS);
	u = curl_url();
	if (u == NULL)
		return hop_refuse(t, HTTP_ERR_OTHER, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, target, CURLU_NON_SUPPORT_SCHEME) !=
		CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		hop_refuse(t, HTTP_ERR_REDIRECTS,
		    "redirect to a bad URL refused");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		hop_refuse(t, HTTP_ERR_REDIRECTS,
		    "redirect to a non-http(s) URL refused: %s:", scheme);
		goto out;
	}
	crc = curl_easy_getinfo(t->easy, CURLINFO_SCHEME, &was);
	if (crc == CURLE_OK && was != NULL && strcasecmp(was, "https") == 0 &&
	    strcmp(scheme, "http") == 0 && !t->allow_insecure_redirect) {
		hop_refuse(t, HTTP_ERR_REDIRECTS,
		    "redirect from https to http refused (the watch key "
		    "allow_insecure_redirect allows it)");
		goto out;
	}
	if (t->used_ms >= t->timeout_ms) {
		hop_refuse(t, HTTP_ERR_TIMEOUT,
		    "timed out after %" PRId64 " ms, %d redirects", t->used_ms,
		    t->redirects);
		goto out;
	}
	next = url_to_ascii(target, &err);
	if (next == NULL) {
		hop_refuse(t, HTTP_ERR_REDIRECTS, "redirect refused: %s",
		    err.msg);
		goto out;
	}
	shown = shown_url(target, t->url, t->shown);
	if (shown == NULL) {
		free(next);
		hop_refuse(t, HTTP_ERR_OTHER, "out of memory");
		goto out;
	}
	free(t->url);
	t->url = next;
	free(t->shown);
	t->shown = shown;
	t->redirects++;
	if (t->post && (status == 303 || status == 301 || status == 302)) {
		t->post = false;
		crc = curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
		if (crc != CURLE_OK) {
			hop_refuse(t, HTTP_ERR_OTHER, "%s",
			    curl_easy_strerror(crc));
			goto out;
		}
	}
	result = 1;
out:
	curl_free(scheme);
	curl_url_cleanup(u);
	return result;
}

#undef SETOPT

static enum http_error
error_from_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_COULDNT_CONNECT:
	case CURLE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return HTTP_ERR_CONNECT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_ERR_DNS;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
		return HTTP_ERR_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_BIG;
	case CURLE_TOO_MANY_REDIRECTS:
		return HTTP_ERR_REDIRECTS;
	case CURLE_ABORTED_BY_CALLBACK:
		return HTTP_ERR_ABORTED;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* errmsg_set writes one log line: lower-case start, secrets redacted */
static void errmsg_set(struct http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
errmsg_set(struct http_response *resp, const char *fmt, ...)
{
	va_list ap;
	char *m = resp->errmsg;
	const char *p;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(resp->errmsg), fmt, ap);
	va_end(ap);
	len = strlen(m);
	while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == '\r' ||
			      m[len - 1] == ' ' || m[len - 1] == '.'))
		m[--len] = '\0';
	/* "Failed to connect" -> "failed to connect"; keep "SSL", "OpenSSL" */
	if (isupper((unsigned char)m[0]) && islower((unsigned char)m[1])) {
		for (p = m + 1; isalpha((unsigned char)*p); p++)
			if (isupper((unsigned char)*p))
				break;
		if (!isalpha((unsigned char)*p))
			m[0] = (char)tolower((unsigned char)m[0]);
	}
	log_redact(m, sizeof(resp->errmsg));
}

/*
 * retry_after: the Retry-After of the latest response (RFC 9110 §10.2.3:
 * delta-seconds or HTTP-date) in seconds from now, as libcurl parses it
 * (CURLINFO_RETRY_AFTER; a past date is 0, more than INT32_MAX is
 * INT32_MAX); -1 when absent or unparsable.
 */
static int64_t
retry_after(CURL *easy)
{
	curl_off_t ra = 0;
	const char *v = header_get(easy, "Retry-After"), *p;

	if (v == NULL ||
	    curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
		return -1;
	if (ra > INT32_MAX)
		return INT32_MAX;
	if (ra < 0)
		return 0; /* a date in the past */
	if (ra > 0)
		return (int64_t)ra;
	/* curl says 0 for "0", for now, and for what it cannot read */
	for (p = v; *p != '\0' && isdigit((unsigned char)*p); p++)
		;
	return v[0] != '\0' && *p == '\0' ? 0 : -1;
}

static char *
dup_info_string(CURL *easy, CURLINFO info)
{
	char *s = NULL;

	if (curl_easy_getinfo(easy, info, &s) != CURLE_OK || s == NULL)
		return NULL;
	return strdup(s);
}

/*
 * transfer_finish fills `resp` from the finished transfer `t` whose last
 * hop ended with `rc`. The body moves from the transfer into the response.
 */
static void
transfer_finish(struct http_transfer *t, CURLcode rc,
    struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	resp->total_time_s = t->total_s;
	/* the host as the request (or the redirect) wrote it, not its
	 * A-label form: links resolved against it keep it */
	resp->final_url = strcmp(t->shown, t->url) != 0 ?
			      strdup(t->shown) :
			      dup_info_string(t->easy, CURLINFO_EFFECTIVE_URL);
	resp->content_type = dup_info_string(t->easy, CURLINFO_CONTENT_TYPE);

	if (t->hop_error != HTTP_OK) {
		resp->error = t->hop_error;
		errmsg_set(resp, "%s", t->hop_msg);
	} else if (t->too_big) {
		resp->error = HTTP_ERR_TOO_BIG;
		errmsg_set(resp, "body larger than %zu bytes", t->max_bytes);
	} else if (t->header_too_big ||
		   (rc == CURLE_OUT_OF_MEMORY && !t->headers_done)) {
		/* curl answers a header line over its own 100 KB limit with
		 * CURLE_OUT_OF_MEMORY ("Out of memory"): it was the header */
		resp->error = HTTP_ERR_TOO_BIG;
		errmsg_set(resp, "response header too large (over %d KB)",
		    HTTP_MAX_HEADER_BYTES / 1024);
	} else if (t->oom) {
		resp->error = HTTP_ERR_OTHER;
		errmsg_set(resp, "out of memory");
	} else if (rc != CURLE_OK) {
		long proxy_verify = 0;

		resp->error = error_from_curl(rc);
		/* OpenSSL's text ("wrong version number") does not say that
		 * it is about TLS, nor whose certificate was refused: an
		 * https:// proxy's own shows in CURLINFO_PROXY_SSL_VERIFYRESULT
		 * (https://curl.se/libcurl/c/CURLINFO_PROXY_SSL_VERIFYRESULT.html) */
		if (resp->error == HTTP_ERR_TLS &&
		    curl_easy_getinfo(t->easy, CURLINFO_PROXY_SSL_VERIFYRESULT,
			&proxy_verify) != CURLE_OK)
			proxy_verify = 0;
		errmsg_set(resp, "%s%s",
		    resp->error != HTTP_ERR_TLS ? "" :
		    proxy_verify != 0           ? "TLS to the proxy failed: " :
						  "TLS failed: ",
		    t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc));
	}
	if (resp->error != HTTP_OK) {
		buf_release(&t->body);
		return;
	}

	resp->body = buf_detach(&t->body, &resp->len);
	if (resp->body == NULL) {
		resp->error = HTTP_ERR_OTHER;
		errmsg_set(resp, "out of memory");
		return;
	}
	resp->not_modified =
	    resp->status == 304 &&
	    (t->req_etag != NULL || t->req_last_modified != NULL);
	resp->etag = header_dup(t->easy, "ETag");
	resp->last_modified = header_dup(t->easy, "Last-Modified");
	if (resp->status == 304) {
		if (resp->etag == NULL && t->req_etag != NULL) {
			resp->etag = t->req_etag;
			t->req_etag = NULL;
		}
		if (resp->last_modified == NULL &&
		    t->req_last_modified != NULL) {
			resp->last_modified = t->req_last_modified;
			t->req_last_modified = NULL;
		}
	}
	if (resp->status == 429 || resp->status == 503)
		resp->retry_after_s = retry_after(t->easy);
	if (t->cookie_jar != NULL) {
		struct kw_err cerr = { 0 };

		if (cookies_save(t->easy, t->cookie_jar, &cerr) != 0)
			snprintf(resp->cookie_error, sizeof(resp->cookie_error),
			    "%.500s", cerr.msg);
	}
}

void
http_response_release(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	free(resp->content_type);
	free(resp->final_url);
	free(resp->etag);
	free(resp->last_modified);
	resp->body = NULL;
	resp->len = 0;
	resp->content_type = NULL;
	resp->final_url = NULL;
	resp->etag = NULL;
	resp->last_modified = NULL;
}

int
http_request_sync(const struct http_request *req, struct http_response *resp)
{
	struct kw_err err = { 0 };
	struct http_transfer *t;
	CURLcode rc;

	t = transfer_new(req, &err);
	if (t != NULL && transfer_hop(t, &err) != 0) {
		transfer_free(t);
		t = NULL;
	}
	if (t == NULL) {
		memset(resp, 0, sizeof(*resp));
		resp->retry_after_s = -1;
		resp->error = HTTP_ERR_OTHER;
		errmsg_set(resp, "%s", err.msg);
		return -1;
	}
	for (;;) {
		rc = curl_easy_perform(t->easy);
		if (transfer_next_hop(t, rc) != 1)
			break;
		if (transfer_hop(t, &err) != 0) {
			hop_refuse(t, HTTP_ERR_OTHER, "%s", err.msg);
			break;
		}
	}
	transfer_finish(t, rc, resp);
	transfer_free(t);
	return resp->error == HTTP_OK ? 0 : -1;
}

struct http *
http_new(int max_connections, int max_connections_per_host, struct kw_err *err)
{
	struct http *h;
	CURLMcode mc = CURLM_OK;

	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		kw_err_set(err, "http: out of memory");
		return NULL;
	}
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		kw_err_set(err, "http: cannot make a curl multi handle");
		free(h);
		return NULL;
	}
	if (max_connections > 0) {
		mc = curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		    (long)max_connections);
		/* the idle connection cache: room for every connection */
		if (mc == CURLM_OK)
			mc = curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
			    (long)max_connections);
	}
	/* the per-host limit is kept here, not by curl: a transfer waiting
	 * in curl's own queue would have its timeout running */
	/* one request per connection: the per-host limit is a request
	 * limit too, even over HTTP/2 */
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(h->multi, CURLMOPT_PIPELINING,
		    (long)CURLPIPE_NOTHING);
	if (mc != CURLM_OK) {
		kw_err_set(err, "http: cannot set connection limits: %s",
		    curl_multi_strerror(mc));
		curl_multi_cleanup(h->multi);
		free(h);
		return NULL;
	}
	h->max_running = max_connections > 0 ? (size_t)max_connections : 0;
	h->per_host =
	    max_connections_per_host > 0 ? (size_t)max_connections_per_host : 0;
	return h;
}

/* ---- connection slots: hosts and their queues ---- */

/* host_get finds or makes the slot owner of origin `key`; NULL on OOM */
static struct http_host *
host_get(struct http *h, const char *key)
{
	struct http_host *o;

	for (o = h->hosts; o != NULL; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->key = strdup(key);
	if (o->key == NULL) {
		free(o);
		return NULL;
	}
	o->next = h->hosts;
	h->hosts = o;
	return o;
}

/* host_put frees `o` when nothing runs or waits for it */
static void
host_put(struct http *h, struct http_host *o)
{
	struct http_host **p;

	if (o == NULL || o->running > 0 || o->head != NULL)
		return;
	for (p = &h->hosts; *p != NULL; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			free(o->key);
			free(o);
			return;
		}
	}
}

/* transfer_host points t->host at the owner of its hop's origin */
static int
transfer_host(struct http *h, struct http_transfer *t)
{
	char *key = NULL;

	if (http_origin(t->url, &key, NULL) != 0)
		key = strdup(t->url); /* curl will say what is wrong */
	if (key == NULL)
		return -1;
	t->host = host_get(h, key);
	free(key);
	return t->host != NULL ? 0 : -1;
}

/* http_unlink takes the running transfer `t` out of h->running */
static void
http_unlink(struct http *h, struct http_transfer *t)
{
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		h->running = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	h->nrunning--;
	h->pending--;
	t->host->running--;
}

/* http_enqueue puts `t` into its host's queue in submission order */
static void
http_enqueue(struct http *h, struct http_transfer *t)
{
	struct http_host *o = t->host;
	struct http_transfer **p;

	t->prev = t->next = NULL;
	if (o->tail == NULL || o->tail->seq < t->seq) {
		t->qnext = NULL;
		if (o->tail != NULL)
			o->tail->qnext = t;
		else
			o->head = t;
		o->tail = t;
	} else {
		/* a redirected transfer keeps its place in the line */
		for (p = &o->head; (*p)->seq < t->seq; p = &(*p)->qnext)
			;
		t->qnext = *p;
		*p = t;
	}
	h->nqueued++;
	h->pending++;
}

static bool
http_has_room(const struct http *h)
{
	return h->max_running == 0 || h->nrunning < h->max_running;
}

static bool
host_has_room(const struct http *h, const struct http_host *o)
{
	return h->per_host == 0 || o->running < h->per_host;
}

/* http_queued_startable: may a queued transfer start now (it goes first) */
static bool
http_queued_startable(const struct http *h)
{
	const struct http_host *o;

	if (h->nqueued == 0)
		return false;
	for (o = h->hosts; o != NULL; o = o->next)
		if (o->head != NULL && host_has_room(h, o))
			return true;
	return false;
}

/*
 * http_dequeue takes out the oldest queued transfer whose host has a free
 * slot (any host: `any`), or NULL
 */
static struct http_transfer *
http_dequeue(struct http *h, bool any)
{
	struct http_host *o, *best = NULL;
	struct http_transfer *t;

	for (o = h->hosts; o != NULL; o = o->next)
		if (o->head != NULL && (any || host_has_room(h, o)) &&
		    (best == NULL || o->head->seq < best->head->seq))
			best = o;
	if (best == NULL)
		return NULL;
	t = best->head;
	best->head = t->qnext;
	if (best->head == NULL)
		best->tail = NULL;
	t->qnext = NULL;
	h->nqueued--;
	h->pending--;
	return t;
}

/*
 * http_start sets up the next hop of `t` and adds it to the multi handle:
 * it has its slot, so its time starts now. Returns 0, or -1 with `err`
 * (`t` is then not linked anywhere; the caller frees it).
 */
static int
http_start(struct http *h, struct http_transfer *t, struct kw_err *err)
{
	CURLMcode mc;

	if (transfer_hop(t, err) != 0)
		return -1;
	mc = curl_multi_add_handle(h->multi, t->easy);
	if (mc != CURLM_OK)
		return kw_err_set(err, "http: cannot start the transfer: %s",
		    curl_multi_strerror(mc));
	t->prev = NULL;
	t->next = h->running;
	if (t->next != NULL)
		t->next->prev = t;
	h->running = t;
	h->nrunning++;
	h->pending++;
	t->host->running++;
	return 0;
}

/*
 * transfer_abandon ends `t`, which is in no list, without a response:
 * calls its callback with `error` and `msg`, then frees it.
 */
static void
transfer_abandon(struct http *h, struct http_transfer *t, enum http_error error,
    const char *msg)
{
	struct http_response resp;
	struct http_host *o = t->host;

	memset(&resp, 0, sizeof(resp));
	resp.error = error;
	resp.retry_after_s = -1;
	errmsg_set(&resp, "%s", msg);
	t->done(t->user, &resp);
	http_response_release(&resp);
	transfer_free(t);
	host_put(h, o);
}

/*
 * http_start_queued starts queued transfers, oldest first among those
 * whose host has a free slot, while fewer than max_running run. One that
 * cannot start has its callback called with the error (HTTP_ERR_ABORTED
 * while the abort flag is set). Looks at most at the transfers queued on
 * entry, so a callback that submits again cannot keep it going.
 */
static void
http_start_queued(struct http *h)
{
	struct kw_err err = { 0 };
	struct http_transfer *t;
	size_t budget = h->nqueued;

	while (budget > 0 && http_has_room(h)) {
		budget--;
		t = http_dequeue(h, false);
		if (t == NULL)
			break;
		if (http_abort_flag != NULL && *http_abort_flag != 0 &&
		    !t->no_abort) {
			transfer_abandon(h, t, HTTP_ERR_ABORTED, "aborted");
			continue;
		}
		kw_err_clear(&err);
		if (http_start(h, t, &err) != 0)
			transfer_abandon(h, t, HTTP_ERR_OTHER, err.msg);
	}
}

void
http_free(struct http *h)
{
	struct http_transfer *t;
	struct http_host *o;

	if (h == NULL)
		return;
	while (h->running != NULL) {
		t = h->running;
		curl_multi_remove_handle(h->multi, t->easy);
		http_unlink(h, t);
		transfer_free(t);
	}
	for (;;) {
		t = http_dequeue(h, true);
		if (t == NULL)
			break;
		transfer_free(t);
	}
	while (h->hosts != NULL) {
		o = h->hosts;
		h->hosts = o->next;
		free(o->key);
		free(o);
	}
	curl_multi_cleanup(h->multi);
	free(h);
}

int
http_submit(struct http *h, const struct http_request *req, http_done_fn done,
    void *user, struct kw_err *err)
{
	struct http_transfer *t;

	if (done == NULL)
		return kw_err_set(err, "http: submit without a callback");
	t = transfer_new(req, err);
	if (t == NULL)
		return -1;
	t->http = h;
	t->done = done;
	t->user = user;
	t->seq = ++h->seq;
	if (transfer_host(h, t) != 0) {
		transfer_free(t);
		return kw_err_set(err, "http: out of memory");
	}
	/* FIFO per host: never ahead of a transfer queued earlier for it,
	 * nor ahead of any while all slots are taken */
	if (t->host->head != NULL || !http_has_room(h) ||
	    !host_has_room(h, t->host) || http_queued_startable(h)) {
		http_enqueue(h, t);
		return 0;
	}
	if (http_start(h, t, err) != 0) {
		struct http_host *o = t->host;

		transfer_free(t);
		host_put(h, o);
		return -1;
	}
	return 0;
}

void
http_cancel_all(struct http *h)
{
	struct http_transfer *t;
	struct http_host *o;

	if (h == NULL)
		return;
	/* oldest first: the running ones were queued before the others */
	while (h->running != NULL) {
		t = h->running;
		curl_multi_remove_handle(h->multi, t->easy);
		http_unlink(h, t);
		o = t->host;
		t->host = NULL;
		transfer_abandon(h, t, HTTP_ERR_ABORTED, "aborted");
		host_put(h, o);
	}
	for (;;) {
		t = http_dequeue(h, true);
		if (t == NULL)
			break;
		transfer_abandon(h, t, HTTP_ERR_ABORTED, "aborted");
	}
}

/*
 * transfer_hop_done handles the end of a running hop of `t` (already out
 * of the multi handle and its slot): a followed redirect puts it back in
 * line for the next hop's host; anything else calls its callback.
 */
static void
transfer_hop_done(struct http *h, struct http_transfer *t, CURLcode rc)
{
	struct http_response resp;
	struct http_host *was = t->host;

	if (transfer_next_hop(t, rc) == 1) {
		if (transfer_host(h, t) == 0) {
			http_enqueue(h, t);
			host_put(h, was);
			return;
		}
		t->host = was;
		hop_refuse(t, HTTP_ERR_OTHER, "out of memory");
	}
	transfer_finish(t, rc, &resp);
	t->done(t->user, &resp);
	http_response_release(&resp);
	transfer_free(t);
	host_put(h, was);
}

/* http_drain calls the callbacks of every finished transfer */
static void
http_drain(struct http *h)
{
	struct http_transfer *t;
	CURLMsg *msg;
	CURL *easy;
	CURLcode rc;
	char *priv;
	int left;

	for (;;) {
		msg = curl_multi_info_read(h->multi, &left);
		if (msg == NULL)
			break;
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		t = (struct http_transfer *)(void *)priv;
		curl_multi_remove_handle(h->multi, easy);
		if (t == NULL)
			continue;
		http_unlink(h, t);
		transfer_hop_done(h, t, rc);
	}
	/* the finished ones made room */
	http_start_queued(h);
}

int
http_poll(struct http *h, int timeout_ms, const int *fds, bool *ready,
    size_t nfds)
{
	struct curl_waitfd stack[HTTP_POLL_STACK_FDS];
	struct curl_waitfd *w = stack;
	CURLMcode mc;
	int running, numfds;
	int result = -1;
	size_t i;

	if (nfds > UINT_MAX) {
		log_errorx("http: too many descriptors to poll");
		return -1;
	}
	if (nfds > HTTP_POLL_STACK_FDS) {
		w = calloc(nfds, sizeof(*w));
		if (w == NULL) {
			log_errorx("http: out of memory");
			return -1;
		}
	}
	for (i = 0; i < nfds; i++) {
		w[i].fd = fds[i];
		w[i].events = CURL_WAIT_POLLIN;
		w[i].revents = 0;
		ready[i] = false;
	}
	if (timeout_ms < 0)
		timeout_ms = 0;
	/* room left by transfers that could not start (see the budget) */
	http_start_queued(h);
	/* the wait is cut short by curl's own timers (new transfers: 0) */
	mc = curl_multi_poll(h->multi, nfds > 0 ? w : NULL, (unsigned)nfds,
	    timeout_ms, &numfds);
	if (mc != CURLM_OK) {
		log_errorx("http: curl_multi_poll: %s",
		    curl_multi_strerror(mc));
		goto out;
	}
	for (i = 0; i < nfds; i++)
		ready[i] = (w[i].revents & CURL_WAIT_POLLIN) != 0;
	mc = curl_multi_perform(h->multi, &running);
	if (mc != CURLM_OK) {
		log_errorx("http: curl_multi_perform: %s",
		    curl_multi_strerror(mc));
		goto out;
	}
	http_drain(h);
	result = 0;
out:
	if (w != stack)
		free(w);
	return result;
}

size_t
http_pending(const struct http *h)
{
	return h->pending;
}

int
http_run(struct http *h)
{
	while (h->pending > 0)
		if (http_poll(h, 1000, NULL, NULL, 0) != 0)
			return -1;
	return 0;
}

/* --- URLs -------------------------------------------------------------- */

static int
url_why(char *why, size_t whysize, const char *fmt, const char *arg)
{
	if (why != NULL && whysize > 0)
		snprintf(why, whysize, fmt, arg);
	return -1;
}

int
http_url_check(const char *url, char *why, size_t whysize)
{
	const unsigned char *p;
	CURLUcode uc;
	char *host = NULL, *port = NULL, *end;
	CURLU *u;
	long n;
	int result = -1;

	if (url == NULL || (strncasecmp(url, "http://", 7) != 0 &&
			       strncasecmp(url, "https://", 8) != 0))
		return url_why(why, whysize, "%s",
		    "must start with http:// or https://");
	for (p = (const unsigned char *)url; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
		    (p[0] == 0xe2 && p[1] == 0x80 &&
			(p[2] == 0xa8 || p[2] == 0xa9)))
			return url_why(why, whysize, "%s",
			    "must not contain spaces or control characters");
		if (*p == '\\')
			return url_why(why, whysize, "%s",
			    "must not contain '\\' (write '/' or %5C)");
	}
	/* curl reads "http:///x" as host x; an empty authority is an error */
	p = (const unsigned char *)url + (url[4] == ':' ? 7 : 8);
	if (*p == '\0' || strchr("/?#:@", *p) != NULL)
		return url_why(why, whysize, "%s", "has no host");
	u = curl_url();
	if (u == NULL)
		return url_why(why, whysize, "%s",
		    "cannot be checked: out of "
		    "memory");
	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc == CURLUE_BAD_PORT_NUMBER) {
		url_why(why, whysize, "%s", "has a bad port (use 1 to 65535)");
		goto out;
	}
	if (uc == CURLUE_NO_HOST) {
		url_why(why, whysize, "%s", "has no host");
		goto out;
	}
	if (uc != CURLUE_OK) {
		url_why(why, whysize, "is not a valid URL (%s)",
		    curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host == NULL || host[0] == '\0' || strcmp(host, "[]") == 0) {
		url_why(why, whysize, "%s", "has no host");
		goto out;
	}
	uc = curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (uc == CURLUE_OK && port != NULL) {
		errno = 0;
		n = strtol(port, &end, 10);
		if (errno != 0 || *end != '\0' || n < 1 || n > 65535) {
			url_why(why, whysize, "%s",
			    "has a bad port (use 1 to 65535)");
			goto out;
		}
	}
	result = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return result;
}

int
http_proxy_check(const char *url, char *why, size_t whysize)
{
	static const char *const schemes[] = { "http://", "https://",
		"socks5://", "socks5h://" };
	const unsigned char *p;
	char *host = NULL;
	CURLU *u;
	size_t i, slen = 0;
	int result = -1;

	for (i = 0; url != NULL && i < sizeof(schemes) / sizeof(*schemes); i++)
		if (strncasecmp(url, schemes[i], strlen(schemes[i])) == 0)
			slen = strlen(schemes[i]);
	if (slen == 0)
		return url_why(why, whysize, "%s",
		    "must start with http://, "
		    "https://, socks5:// or socks5h://");
	for (p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '\\')
			return url_why(why, whysize, "%s",
			    "must not contain "
			    "spaces, '\\' or control characters");
	if (url[slen] == '\0' || strchr("/?#:", url[slen]) != NULL)
		return url_why(why, whysize, "%s", "has no host");
	u = curl_url();
	if (u == NULL)
		return url_why(why, whysize, "%s",
		    "cannot be checked: out of "
		    "memory");
	/* the message never quotes the URL: it may hold a password */
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK) {
		url_why(why, whysize, "%s", "is not a valid URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host == NULL || host[0] == '\0') {
		url_why(why, whysize, "%s", "has no host");
		goto out;
	}
	result = 0;
out:
	curl_free(host);
	curl_url_cleanup(u);
	return result;
}

char *
http_url_escape(const char *s)
{
	char *e, *r;

	e = curl_easy_escape(NULL, s, 0);
	if (e == NULL)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}
