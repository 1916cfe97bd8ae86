/* http: transfers over one curl multi handle (see http.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/log.h"
#include "kakaowatch/util.h"

#ifndef KW_VERSION
#define KW_VERSION "0"
#endif

#define HTTP_PROTOCOLS "http,https"
#define HTTP_POLL_STACK_FDS 8

/*
 * one transfer: its easy handle and everything the callbacks fill in. A
 * transfer waiting in the queue of a struct http has no easy handle yet,
 * only the copy of its request (url .. ssl_verify) that transfer_setup
 * turns into one when it starts.
 */
struct http_transfer {
	struct http *http; /* NULL for http_request_sync */
	CURL *easy;        /* NULL until transfer_setup */
	struct curl_slist *headers;
	http_done_fn done;
	void *user;
	/* running: the doubly linked list h->running; queued: `next` only */
	struct http_transfer *prev, *next;

	/* the request, kept until the easy handle is set up */
	char *url;
	char *user_agent;   /* NULL: kakaowatch/VERSION */
	char *bearer_token; /* freed once handed to curl */
	char *post_body;    /* POST body (CURLOPT_POSTFIELDS), or NULL */
	size_t post_len;
	bool post;
	bool ssl_verify;
	bool no_abort; /* the abort flag does not end it (req->no_abort) */
	long timeout_ms;
	long connect_timeout_ms;

	size_t max_bytes;
	struct buf body; /* the one growing copy of the decoded body */
	char errbuf[CURL_ERROR_SIZE];
	bool too_big;
	bool oom;

	/* request validators, for not_modified and 304 without validators */
	char *req_etag;
	char *req_last_modified;

};

/*
 * At most `max_running` transfers are in the multi handle at once (0: no
 * limit); the others wait in a FIFO queue without an easy handle, so their
 * timeout has not started and they cost no curl memory.
 */
struct http {
	CURLM *multi;
	struct http_transfer *running; /* in the multi handle */
	struct http_transfer *queue_head, *queue_tail; /* not yet started */
	size_t nrunning;
	size_t max_running;
	size_t pending; /* running + queued */
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
	    CURLHE_OK || h == NULL)
		return NULL;
	if (h->amount > 1 &&
	    curl_easy_header(easy, name, h->amount - 1, CURLH_HEADER, -1,
		&h) != CURLHE_OK)
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
 * body is capped. 3xx bodies are skipped by curl (redirect) or absent (304).
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

/*
 * transfer_header is CURLOPT_HEADERFUNCTION: one raw header line per call,
 * status lines included, for every response of a redirect chain (and 1xx
 * and proxy CONNECT responses). A status line starts a new response.
 */
static size_t
transfer_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t len = size * nitems;

	if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		buf_reset(&t->body); /* a new response of the chain */
		return len;
	}
	if (len > 0 && len <= 2 && (ptr[0] == '\r' || ptr[0] == '\n') &&
	    body_too_big(t)) {
		t->too_big = true;
		return 0;
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

static void
transfer_free(struct http_transfer *t)
{
	if (t == NULL)
		return;
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	buf_release(&t->body);
	free(t->url);
	free(t->user_agent);
	util_wipe_free(t->bearer_token);
	util_wipe_free(t->post_body); /* a token request's form: secrets */
	free(t->req_etag);
	free(t->req_last_modified);
	free(t);
}

static bool
has_crlf(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* user_has_header: does the request's header list name `name`? */
static bool
user_has_header(const struct http_request *req, const char *name)
{
	size_t i, nlen = strlen(name);

	for (i = 0; i < req->nheaders; i++) {
		const char *h = req->headers[i];

		if (h != NULL && strncasecmp(h, name, nlen) == 0 &&
		    (h[nlen] == ':' || h[nlen] == ';'))
			return true;
	}
	return false;
}

/* add_header appends "name: value" unless the caller sent its own */
static int
add_header(struct http_transfer *t, const struct http_request *req,
    const char *name, const char *value)
{
	struct buf line;
	struct curl_slist *l;

	if (user_has_header(req, name))
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

#define SETOPT(opt, val)                                                   \
	do {                                                               \
		if (rc == CURLE_OK)                                        \
			rc = curl_easy_setopt(t->easy, opt, val);          \
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
 * yet started: transfer_setup makes its easy handle. Returns it, or NULL
 * with a message in `err`.
 */
static struct http_transfer *
transfer_new(const struct http_request *req, struct kw_err *err)
{
	struct http_transfer *t = NULL;
	struct curl_slist *l;
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
		kw_err_set(err, "http: unsupported method '%s': use GET or "
		    "POST", req->method);
		goto fail;
	}
	if (req->body != NULL && !post) {
		kw_err_set(err, "http: a request body needs method POST");
		goto fail;
	}
	if (has_crlf(req->url) || has_crlf(req->content_type) ||
	    has_crlf(req->user_agent) || has_crlf(req->bearer_token) ||
	    has_crlf(req->etag) || has_crlf(req->last_modified)) {
		kw_err_set(err, "http: line break in a request field");
		goto fail;
	}
	for (i = 0; i < req->nheaders; i++) {
		const char *h = req->headers[i];

		if (h == NULL || has_crlf(h) || strpbrk(h, ":;") == NULL ||
		    h[0] == ':' || h[0] == ';') {
			/* name only: the value may be a secret */
			kw_err_set(err, "http: bad request header '%.*s': "
			    "use 'Name: value' on one line",
			    h != NULL ? (int)strcspn(h, ":;\r\n") : 6,
			    h != NULL ? h : "(null)");
			goto fail;
		}
	}

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto oom;
	t->max_bytes = req->max_bytes > 0 ? req->max_bytes :
	    HTTP_DEFAULT_MAX_BYTES;
	buf_init(&t->body, t->max_bytes);
	if (req->etag != NULL) {
		t->req_etag = strdup(req->etag);
		if (t->req_etag == NULL)
			goto oom;
	}
	if (req->last_modified != NULL) {
		t->req_last_modified = strdup(req->last_modified);
		if (t->req_last_modified == NULL)
			goto oom;
	}
	if (dup_opt(&t->url, req->url) != 0 ||
	    dup_opt(&t->user_agent, req->user_agent) != 0 ||
	    dup_opt(&t->bearer_token, req->bearer_token) != 0)
		goto oom;
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
	t->ssl_verify = req->ssl_verify;
	t->no_abort = req->no_abort;
	t->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms :
	    HTTP_DEFAULT_TIMEOUT_MS;
	t->connect_timeout_ms = req->connect_timeout_ms > 0 ?
	    req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS;

	/* request headers: ours first, then the caller's */
	if (post && add_header(t, req, "Expect", NULL) != 0)
		goto oom;
	if (req->content_type != NULL &&
	    add_header(t, req, "Content-Type", req->content_type) != 0)
		goto oom;
	if (req->etag != NULL &&
	    add_header(t, req, "If-None-Match", req->etag) != 0)
		goto oom;
	if (req->last_modified != NULL &&
	    add_header(t, req, "If-Modified-Since", req->last_modified) != 0)
		goto oom;
	for (i = 0; i < req->nheaders; i++) {
		l = curl_slist_append(t->headers, req->headers[i]);
		if (l == NULL)
			goto oom;
		t->headers = l;
	}
	return t;
oom:
	kw_err_set(err, "http: out of memory");
fail:
	transfer_free(t);
	return NULL;
}

/*
 * transfer_setup makes the easy handle of `t` from its copy of the
 * request, and drops the copy of the bearer token (curl keeps its own).
 * Returns 0, or -1 with a message in `err` (`t` is then unchanged but for
 * a half-set-up handle that transfer_free frees).
 */
static int
transfer_setup(struct http_transfer *t, struct kw_err *err)
{
	CURLcode rc = CURLE_OK;

	t->easy = curl_easy_init();
	if (t->easy == NULL)
		return kw_err_set(err, "http: out of memory");
	SETOPT(CURLOPT_URL, t->url);
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
	SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, HTTP_PROTOCOLS);
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_ACCEPT_ENCODING, "");
	/* both count from here: the transfer starts now */
	SETOPT(CURLOPT_TIMEOUT_MS, t->timeout_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
	SETOPT(CURLOPT_SSL_VERIFYPEER, t->ssl_verify ? 1L : 0L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, t->ssl_verify ? 2L : 0L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_USERAGENT, t->user_agent != NULL ? t->user_agent :
	    "kakaowatch/" KW_VERSION);
	if (t->bearer_token != NULL) {
		/* curl sends it to the first host only when redirected */
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SETOPT(CURLOPT_XOAUTH2_BEARER, t->bearer_token);
	}
	if (t->post) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->post_len);
		/* not copied: t->post_body lives as long as the handle */
		SETOPT(CURLOPT_POSTFIELDS,
		    t->post_body != NULL ? t->post_body : "");
	}
	if (t->headers != NULL)
		SETOPT(CURLOPT_HTTPHEADER, t->headers);
	if (rc != CURLE_OK)
		return kw_err_set(err, "http: cannot set up the request: %s",
		    curl_easy_strerror(rc));
	/* curl copied it (CURLOPT_XOAUTH2_BEARER): one copy less around */
	util_wipe_free(t->bearer_token);
	t->bearer_token = NULL;
	return 0;
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
static void
errmsg_set(struct http_response *resp, const char *fmt, ...)
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
 * transfer_finish fills `resp` from the finished transfer `t` whose result
 * is `rc`. The body moves from the transfer into the response.
 */
static void
transfer_finish(struct http_transfer *t, CURLcode rc,
    struct http_response *resp)
{
	long redirects = 0;
	double total = 0;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_s = -1;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &total) ==
	    CURLE_OK)
		resp->total_time_s = total;
	resp->final_url = dup_info_string(t->easy, CURLINFO_EFFECTIVE_URL);
	resp->content_type = dup_info_string(t->easy, CURLINFO_CONTENT_TYPE);

	if (t->too_big) {
		resp->error = HTTP_ERR_TOO_BIG;
		errmsg_set(resp, "body larger than %zu bytes", t->max_bytes);
	} else if (t->oom) {
		resp->error = HTTP_ERR_OTHER;
		errmsg_set(resp, "out of memory");
	} else if (rc != CURLE_OK) {
		resp->error = error_from_curl(rc);
		curl_easy_getinfo(t->easy, CURLINFO_REDIRECT_COUNT, &redirects);
		if (rc == CURLE_UNSUPPORTED_PROTOCOL && redirects > 0) {
			resp->error = HTTP_ERR_REDIRECTS;
			errmsg_set(resp, "redirect to a non-http(s) URL "
			    "refused: %s", t->errbuf[0] != '\0' ? t->errbuf :
			    curl_easy_strerror(rc));
		} else {
			/* OpenSSL's text ("wrong version number") does not
			 * say that it is about TLS */
			errmsg_set(resp, "%s%s",
			    resp->error == HTTP_ERR_TLS ? "TLS failed: " : "",
			    t->errbuf[0] != '\0' ? t->errbuf :
			    curl_easy_strerror(rc));
		}
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
	resp->not_modified = resp->status == 304 &&
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
	if (t != NULL && transfer_setup(t, &err) != 0) {
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
	rc = curl_easy_perform(t->easy);
	transfer_finish(t, rc, resp);
	transfer_free(t);
	return resp->error == HTTP_OK ? 0 : -1;
}

struct http *
http_new(int max_connections, int max_connections_per_host,
    struct kw_err *err)
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
		mc = curl_multi_setopt(h->multi,
		    CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_connections);
		/* the idle connection cache: room for every connection */
		if (mc == CURLM_OK)
			mc = curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
			    (long)max_connections);
	}
	if (mc == CURLM_OK && max_connections_per_host > 0)
		mc = curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
		    (long)max_connections_per_host);
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
	return h;
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
}

/* http_enqueue puts `t` behind every queued transfer */
static void
http_enqueue(struct http *h, struct http_transfer *t)
{
	t->prev = t->next = NULL;
	if (h->queue_tail != NULL)
		h->queue_tail->next = t;
	else
		h->queue_head = t;
	h->queue_tail = t;
	h->pending++;
}

/* http_dequeue takes the oldest queued transfer out (NULL: none) */
static struct http_transfer *
http_dequeue(struct http *h)
{
	struct http_transfer *t = h->queue_head;

	if (t == NULL)
		return NULL;
	h->queue_head = t->next;
	if (h->queue_head == NULL)
		h->queue_tail = NULL;
	t->next = NULL;
	h->pending--;
	return t;
}

/*
 * http_start makes the easy handle of `t` and adds it to the multi handle:
 * its timeouts start now. Returns 0, or -1 with `err` (`t` is then not
 * linked anywhere; the caller frees it).
 */
static int
http_start(struct http *h, struct http_transfer *t, struct kw_err *err)
{
	CURLMcode mc;

	if (transfer_setup(t, err) != 0)
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
	return 0;
}

/*
 * transfer_abandon ends `t`, which is in no list, without a response:
 * calls its callback with `error` and `msg`, then frees it.
 */
static void
transfer_abandon(struct http_transfer *t, enum http_error error,
    const char *msg)
{
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.error = error;
	resp.retry_after_s = -1;
	errmsg_set(&resp, "%s", msg);
	t->done(t->user, &resp);
	http_response_release(&resp);
	transfer_free(t);
}

static bool
http_has_room(const struct http *h)
{
	return h->max_running == 0 || h->nrunning < h->max_running;
}

/*
 * http_start_queued starts queued transfers, oldest first, while fewer than
 * max_running run. One that cannot start has its callback called with the
 * error (HTTP_ERR_ABORTED while the abort flag is set). Looks at most at
 * the transfers queued on entry, so a callback that submits again cannot
 * keep it going.
 */
static void
http_start_queued(struct http *h)
{
	struct kw_err err = { 0 };
	struct http_transfer *t;
	size_t budget = h->pending - h->nrunning;

	while (budget > 0 && h->queue_head != NULL && http_has_room(h)) {
		budget--;
		t = http_dequeue(h);
		if (http_abort_flag != NULL && *http_abort_flag != 0 &&
		    !t->no_abort) {
			transfer_abandon(t, HTTP_ERR_ABORTED, "aborted");
			continue;
		}
		if (http_start(h, t, &err) != 0)
			transfer_abandon(t, HTTP_ERR_OTHER, err.msg);
	}
}

void
http_free(struct http *h)
{
	struct http_transfer *t;

	if (h == NULL)
		return;
	while (h->running != NULL) {
		t = h->running;
		curl_multi_remove_handle(h->multi, t->easy);
		http_unlink(h, t);
		transfer_free(t);
	}
	for (;;) {
		t = http_dequeue(h);
		if (t == NULL)
			break;
		transfer_free(t);
	}
	curl_multi_cleanup(h->multi);
	free(h);
}

int
http_submit(struct http *h, const struct http_request *req,
    http_done_fn done, void *user, struct kw_err *err)
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
	/* FIFO: never ahead of a transfer queued earlier */
	if (h->queue_head != NULL || !http_has_room(h)) {
		http_enqueue(h, t);
		return 0;
	}
	if (http_start(h, t, err) != 0) {
		transfer_free(t);
		return -1;
	}
	return 0;
}

void
http_cancel_all(struct http *h)
{
	struct http_transfer *t;

	if (h == NULL)
		return;
	/* oldest first: the running ones were queued before the others */
	while (h->running != NULL) {
		t = h->running;
		curl_multi_remove_handle(h->multi, t->easy);
		http_unlink(h, t);
		transfer_abandon(t, HTTP_ERR_ABORTED, "aborted");
	}
	for (;;) {
		t = http_dequeue(h);
		if (t == NULL)
			break;
		transfer_abandon(t, HTTP_ERR_ABORTED, "aborted");
	}
}

/* http_drain calls the callbacks of every finished transfer */
static void
http_drain(struct http *h)
{
	struct http_response resp;
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
		transfer_finish(t, rc, &resp);
		t->done(t->user, &resp);
		http_response_release(&resp);
		transfer_free(t);
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
		return url_why(why, whysize, "%s", "cannot be checked: out of "
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
