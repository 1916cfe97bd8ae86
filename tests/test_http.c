/*
 * test_http: fetching against the loopback fake tests/fakes/pageserver.py
 * (started once for the group on a free port, killed at the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/http.h"
#include "kakaowatch/util.h"

#include "fake_server.h"

static struct fake_server server;
static int server_port;
static char server_root[512];

/* -- the fake server ---------------------------------------------------- */

/* servers a test starts besides the shared one; server_stop stops any
 * a failed test left running */
static struct fake_server *extras[4];

/*
 * spawn_extra starts another pageserver on the same root, with `tls`
 * (NULL, or the four --tls-cert CERT --tls-key KEY arguments). Returns
 * its port, or -1.
 */
static int
spawn_extra(struct fake_server *fs, const char *const *tls)
{
	const char *args[8] = { "--root", server_root, NULL };
	size_t i;

	for (i = 0; tls != NULL && i < 4; i++)
		args[2 + i] = tls[i];
	memset(fs, 0, sizeof(*fs));
	if (fake_server_start(fs, "pageserver.py", args) != 0)
		return -1;
	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		if (extras[i] == NULL) {
			extras[i] = fs;
			break;
		}
	}
	return fs->port;
}

static void
kill_extra(struct fake_server *fs)
{
	size_t i;

	fake_server_stop(fs);
	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
		if (extras[i] == fs)
			extras[i] = NULL;
}

static int
server_start(void **state)
{
	const char *tmp = getenv("TMPDIR");
	const char *args[] = { "--root", server_root, NULL };

	(void)state;
	snprintf(server_root, sizeof(server_root), "%s/kw-http-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(server_root) == NULL)
		return -1;
	if (fake_server_start(&server, "pageserver.py", args) != 0)
		return -1;
	server_port = server.port;
	http_global_init();
	return 0;
}

static int
server_stop(void **state)
{
	DIR *d;
	struct dirent *e;
	char path[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
		if (extras[i] != NULL)
			kill_extra(extras[i]);
	fake_server_stop(&server);
	d = opendir(server_root);
	if (d != NULL) {
		for (e = readdir(d); e != NULL; e = readdir(d)) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", server_root,
			    e->d_name);
			unlink(path);
		}
		closedir(d);
		rmdir(server_root);
	}
	http_global_cleanup();
	return 0;
}

/* write_page replaces ROOT/name with `text` (temp file + rename) */
static void
write_page(const char *name, const char *text, const char *charset)
{
	char path[1024], tmp[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", server_root, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
	if (charset != NULL) {
		snprintf(path, sizeof(path), "%s/%s.charset", server_root,
		    name);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(charset, f);
		assert_int_equal(fclose(f), 0);
	}
}

/* url writes "http://127.0.0.1:PORT" + path into out */
static const char *
url(char *out, size_t size, const char *path)
{
	snprintf(out, size, "http://127.0.0.1:%d%s", server_port, path);
	return out;
}

/* -- running transfers -------------------------------------------------- */

struct result {
	int calls;
	struct http_response resp;
};

/* on_done takes the whole response into the result */
static void
on_done(void *user, struct http_response *resp)
{
	struct result *r = user;

	r->calls++;
	http_response_release(&r->resp);
	r->resp = *resp;
	resp->body = NULL;
	resp->content_type = NULL;
	resp->final_url = NULL;
	resp->etag = NULL;
	resp->last_modified = NULL;
}

static void
result_release(struct result *r)
{
	http_response_release(&r->resp);
	memset(r, 0, sizeof(*r));
}

static void
req_init(struct http_request *req, const char *u)
{
	memset(req, 0, sizeof(*req));
	req->url = u;
	req->ssl_verify = true;
}

/* fetch runs `req` alone on a fresh engine through the callback API */
static void
fetch(const struct http_request *req, struct result *r)
{
	struct kw_err err = { 0 };
	struct http *h;

	memset(r, 0, sizeof(*r));
	h = http_new(4, 2, &err);
	assert_non_null(h);
	assert_int_equal(http_submit(h, req, on_done, r, &err), 0);
	assert_int_equal(r->calls, 0); /* never called back from submit */
	assert_int_equal(http_run(h), 0);
	assert_int_equal(r->calls, 1);
	http_free(h);
}

static void
get(const char *path, struct result *r)
{
	struct http_request req;
	char u[512];

	req_init(&req, url(u, sizeof(u), path));
	fetch(&req, r);
}

/* server_json GETs a control endpoint with the blocking API */
static json_t *
server_json(const char *path)
{
	struct http_request req;
	struct http_response resp;
	json_error_t jerr;
	json_t *j;
	char u[512];

	req_init(&req, url(u, sizeof(u), path));
	assert_int_equal(http_request_sync(&req, &resp), 0);
	assert_int_equal(resp.status, 200);
	j = json_loads(resp.body, 0, &jerr);
	assert_non_null(j);
	http_response_release(&resp);
	return j;
}

static json_int_t
json_int_at(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *
header_of(json_t *echo, const char *name)
{
	return json_string_value(
	    json_object_get(json_object_get(echo, "headers"), name));
}

/* refused_port returns a bound but not listening socket's port */
static int
refused_port(int *fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

static void
count_calls(void *user, struct http_response *resp)
{
	(void)resp;
	(*(int *)user)++;
}

/* -- tests -------------------------------------------------------------- */

static void
test_http_get_returns_body_and_headers(void **state)
{
	struct result r;
	char u[512];

	(void)state;
	write_page("plain.html", "<p>hello</p>\n", "euc-kr");
	get("/plain.html", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_string_equal(r.resp.errmsg, "");
	assert_int_equal(r.resp.status, 200);
	assert_false(r.resp.not_modified);
	assert_string_equal(r.resp.body, "<p>hello</p>\n");
	assert_int_equal(r.resp.len, strlen("<p>hello</p>\n"));
	assert_string_equal(r.resp.content_type, "text/html; charset=euc-kr");
	assert_string_equal(r.resp.final_url, url(u, sizeof(u), "/plain.html"));
	assert_non_null(r.resp.etag);
	assert_non_null(r.resp.last_modified);
	assert_int_equal(r.resp.retry_after_s, -1);
	assert_true(r.resp.total_time_s >= 0);
	result_release(&r);
}

static void
test_http_etag_makes_unchanged_page_not_modified(void **state)
{
	struct http_request req;
	struct result r;
	char u[512], *etag;

	(void)state;
	write_page("etag.html", "<p>one</p>", NULL);
	get("/etag.html", &r);
	assert_int_equal(r.resp.status, 200);
	assert_non_null(r.resp.etag);
	etag = strdup(r.resp.etag);
	result_release(&r);

	req_init(&req, url(u, sizeof(u), "/etag.html"));
	req.etag = etag;
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 304);
	assert_true(r.resp.not_modified);
	assert_string_equal(r.resp.body, "");
	assert_int_equal(r.resp.len, 0);
	assert_string_equal(r.resp.etag, etag);
	result_release(&r);

	/* a changed page comes back whole, with a new ETag */
	write_page("etag.html", "<p>two</p>", NULL);
	fetch(&req, &r);
	assert_int_equal(r.resp.status, 200);
	assert_false(r.resp.not_modified);
	assert_string_equal(r.resp.body, "<p>two</p>");
	assert_non_null(r.resp.etag);
	assert_string_not_equal(r.resp.etag, etag);
	result_release(&r);
	free(etag);
}

static void
test_http_last_modified_makes_unchanged_page_not_modified(void **state)
{
	struct http_request req;
	struct result r;
	char u[512], *lm;
	json_t *j;

	(void)state;
	write_page("lm.html", "<p>dated</p>", NULL);
	get("/lm.html?noetag=1", &r);
	assert_int_equal(r.resp.status, 200);
	assert_null(r.resp.etag);
	assert_non_null(r.resp.last_modified);
	lm = strdup(r.resp.last_modified);
	result_release(&r);

	req_init(&req, url(u, sizeof(u), "/lm.html?noetag=1"));
	req.last_modified = lm;
	fetch(&req, &r);
	assert_int_equal(r.resp.status, 304);
	assert_true(r.resp.not_modified);
	assert_string_equal(r.resp.last_modified, lm);
	/* the server sent no ETag: the request's validator is kept */
	req.etag = "\"kept\"";
	result_release(&r);
	fetch(&req, &r);
	assert_int_equal(r.resp.status, 304);
	assert_string_equal(r.resp.etag, "\"kept\"");
	result_release(&r);

	j = server_json("/count?path=/lm.html");
	assert_int_equal(json_int_at(j, "not_modified"), 2);
	json_decref(j);
	free(lm);
}

static void
test_http_decodes_gzip_bodies(void **state)
{
	struct buf page;
	struct result r;
	json_t *j;
	int i;

	(void)state;
	buf_init(&page, 0);
	assert_int_equal(buf_puts(&page, "<html><body><ul>\n"), 0);
	for (i = 0; i < 500; i++)
		assert_int_equal(
		    buf_printf(&page,
			"<li><a href=\"/post/%d\">post number %d</a></li>\n", i,
			i),
		    0);
	assert_int_equal(buf_puts(&page, "</ul></body></html>\n"), 0);
	write_page("gz.html", page.data, NULL);

	get("/gz.html", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.len, page.len);
	assert_memory_equal(r.resp.body, page.data, page.len);
	result_release(&r);
	j = server_json("/count?path=/gz.html");
	assert_int_equal(json_int_at(j, "gzip"), 1);
	json_decref(j);
	buf_release(&page);
}

static void
test_http_caps_the_decoded_body_of_a_gzip_bomb(void **state)
{
	struct http_request req;
	struct result r;
	char u[512];
	size_t i;

	(void)state;
	/* ~10 KB on the wire, 10 MB decoded */
	req_init(&req, url(u, sizeof(u), "/gzip-bomb?bytes=10000000"));
	req.max_bytes = 100000;
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_ERR_TOO_BIG);
	assert_string_equal(r.resp.errmsg, "body larger than 100000 bytes");
	assert_null(r.resp.body);
	result_release(&r);

	/* under the cap, the same encoding decodes in full */
	req_init(&req, url(u, sizeof(u), "/gzip-bomb?bytes=50000"));
	req.max_bytes = 100000;
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.len, 50000);
	for (i = 0; i < r.resp.len; i++)
		if (r.resp.body[i] != 'a')
			break;
	assert_int_equal(i, 50000);
	result_release(&r);
}

static void
test_http_rejects_bodies_over_the_cap(void **state)
{
	static const struct {
		const char *path;
		enum http_error want;
	} cases[] = {
		/* Content-Length over the cap: rejected from the headers */
		{ "/big?bytes=200000", HTTP_ERR_TOO_BIG },
		/* chunked, no length: rejected while writing */
		{ "/big?bytes=200000&chunked=1", HTTP_ERR_TOO_BIG },
		{ "/big?bytes=100001&chunked=1", HTTP_ERR_TOO_BIG },
		/* exactly the cap is fine */
		{ "/big?bytes=100000", HTTP_OK },
		{ "/big?bytes=100000&chunked=1", HTTP_OK },
	};
	struct http_request req;
	struct result r;
	char u[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req_init(&req, url(u, sizeof(u), cases[i].path));
		req.max_bytes = 100000;
		fetch(&req, &r);
		assert_int_equal(r.resp.error, cases[i].want);
		if (cases[i].want == HTTP_OK) {
			assert_int_equal(r.resp.len, 100000);
			assert_int_equal(strlen(r.resp.body), 100000);
		} else {
			assert_string_equal(r.resp.errmsg,
			    "body larger than 100000 bytes");
		}
		result_release(&r);
	}
}

static void
test_http_follows_redirects_and_reports_the_final_url(void **state)
{
	struct result r;
	char u[512];

	(void)state;
	get("/redirect/3", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 200);
	assert_non_null(strstr(r.resp.body, "redirect done"));
	assert_string_equal(r.resp.final_url, url(u, sizeof(u), "/redirect/0"));
	result_release(&r);

	/* ten redirects is the most allowed */
	get("/redirect/10", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 200);
	result_release(&r);
}

static void
test_http_fails_after_too_many_redirects(void **state)
{
	struct result r;

	(void)state;
	get("/redirect/11", &r);
	assert_int_equal(r.resp.error, HTTP_ERR_REDIRECTS);
	assert_true(strlen(r.resp.errmsg) > 0);
	result_release(&r);

	get("/redirect-loop", &r);
	assert_int_equal(r.resp.error, HTTP_ERR_REDIRECTS);
	result_release(&r);
}

static void
test_http_refuses_redirects_to_other_protocols(void **state)
{
	struct result r;

	(void)state;
	get("/redirect-to?url=ftp://127.0.0.1/file", &r);
	assert_int_equal(r.resp.error, HTTP_ERR_REDIRECTS);
	assert_non_null(strstr(r.resp.errmsg, "non-http(s)"));
	result_release(&r);
}

static void
test_http_times_out_on_a_slow_server(void **state)
{
	static const char *const paths[] = {
		"/slow?delay=5",     /* no headers in time */
		"/hang",             /* never answers */
		"/trickle?bytes=30", /* body too slow */
	};
	struct http_request req;
	struct result r;
	char u[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		req_init(&req, url(u, sizeof(u), paths[i]));
		req.timeout_ms = i == 2 ? 1200 : 300;
		fetch(&req, &r);
		assert_int_equal(r.resp.error, HTTP_ERR_TIMEOUT);
		assert_non_null(strstr(r.resp.errmsg, "timed out"));
		assert_null(r.resp.body);
		result_release(&r);
	}
}

static void
test_http_reports_error_statuses_as_responses(void **state)
{
	struct result r;

	(void)state;
	get("/status/404", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 404);
	assert_non_null(strstr(r.resp.body, "status 404"));
	result_release(&r);

	get("/status/500", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 500);
	result_release(&r);

	get("/missing-page.html", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	assert_int_equal(r.resp.status, 404);
	result_release(&r);
}

static void
test_http_parses_retry_after(void **state)
{
	struct result r;

	(void)state;
	get("/retry-after?status=429&after=120", &r);
	assert_int_equal(r.resp.status, 429);
	assert_int_equal(r.resp.retry_after_s, 120);
	result_release(&r);

	/* HTTP-date form, 120 s ahead (one-second resolution) */
	get("/retry-after?status=503&after=120&date=1", &r);
	assert_int_equal(r.resp.status, 503);
	assert_in_range(r.resp.retry_after_s, 100, 121);
	result_release(&r);

	/* only 429 and 503 carry a meaningful Retry-After here */
	get("/retry-after?status=200&after=5", &r);
	assert_int_equal(r.resp.status, 200);
	assert_int_equal(r.resp.retry_after_s, -1);
	result_release(&r);

	get("/status/429", &r);
	assert_int_equal(r.resp.retry_after_s, -1);
	result_release(&r);
}

static void
test_http_reports_connection_refused(void **state)
{
	struct http_request req;
	struct result r;
	char u[128];
	int fd, port;

	(void)state;
	port = refused_port(&fd);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
	req_init(&req, u);
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_ERR_CONNECT);
	assert_int_equal(r.resp.status, 0);
	assert_true(strlen(r.resp.errmsg) > 0);
	assert_null(r.resp.body);
	result_release(&r);
	close(fd);
}

static void
test_http_reports_tls_failure_against_plain_http(void **state)
{
	struct http_request req;
	struct result r;
	char u[128];

	(void)state;
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/plain.html", server_port);
	req_init(&req, u);
	req.timeout_ms = 5000;
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_ERR_TLS);
	assert_true(strlen(r.resp.errmsg) > 0);
	result_release(&r);
}

#define NPARALLEL 20

static void
test_http_keeps_the_per_host_limit_and_isolates_failures(void **state)
{
	struct result r[NPARALLEL + 2];
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char u[NPARALLEL + 2][512];
	int fd, i;
	json_t *j;

	(void)state;
	memset(r, 0, sizeof(r));
	h = http_new(16, 2, &err);
	assert_non_null(h);
	/* tagged: the server counts only these (not the hang, which it sees
	 * end only some time after the client gave up, nor what earlier
	 * tests left running) */
	for (i = 0; i < NPARALLEL; i++) {
		snprintf(u[i], sizeof(u[i]),
		    "http://127.0.0.1:%d"
		    "/slow?delay=0.1&n=%d&tag=perhost",
		    server_port, i);
		req_init(&req, u[i]);
		assert_int_equal(http_submit(h, &req, on_done, &r[i], &err), 0);
	}
	/* one refused, one timing out: neither stops the others */
	snprintf(u[NPARALLEL], sizeof(u[0]), "http://127.0.0.1:%d/",
	    refused_port(&fd));
	req_init(&req, u[NPARALLEL]);
	assert_int_equal(http_submit(h, &req, on_done, &r[NPARALLEL], &err), 0);
	url(u[NPARALLEL + 1], sizeof(u[0]), "/hang");
	req_init(&req, u[NPARALLEL + 1]);
	req.timeout_ms = 500;
	assert_int_equal(http_submit(h, &req, on_done, &r[NPARALLEL + 1], &err),
	    0);
	for (i = 0; i < NPARALLEL + 2; i++)
		assert_int_equal(r[i].calls, 0);

	assert_int_equal(http_run(h), 0);
	for (i = 0; i < NPARALLEL; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].resp.error, HTTP_OK);
		assert_int_equal(r[i].resp.status, 200);
	}
	assert_int_equal(r[NPARALLEL].calls, 1);
	assert_int_equal(r[NPARALLEL].resp.error, HTTP_ERR_CONNECT);
	assert_int_equal(r[NPARALLEL + 1].calls, 1);
	assert_int_equal(r[NPARALLEL + 1].resp.error, HTTP_ERR_TIMEOUT);
	for (i = 0; i < NPARALLEL + 2; i++)
		result_release(&r[i]);
	http_free(h);
	close(fd);

	j = server_json("/concurrency?tag=perhost");
	assert_in_range(json_int_at(j, "max"), 1, 2);
	json_decref(j);
}

static void
test_http_runs_transfers_in_parallel_up_to_the_limit(void **state)
{
	struct result r[16];
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	json_t *j;
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	h = http_new(16, 8, &err);
	assert_non_null(h);
	req_init(&req, url(u, sizeof(u), "/slow?delay=0.3&tag=parallel"));
	for (i = 0; i < 16; i++)
		assert_int_equal(http_submit(h, &req, on_done, &r[i], &err), 0);
	assert_int_equal(http_run(h), 0);
	for (i = 0; i < 16; i++) {
		assert_int_equal(r[i].resp.status, 200);
		result_release(&r[i]);
	}
	http_free(h);
	/* the limit is what bounds the server's load, not serialisation */
	j = server_json("/concurrency?tag=parallel");
	assert_in_range(json_int_at(j, "max"), 3, 8);
	json_decref(j);
}

#define NQUEUED 200

/*
 * More transfers than connections: the ones over the limit wait in the
 * engine, not in curl, and their timeout starts only when they do. 200
 * transfers of 50 ms on 4 connections take about 2.5 s, more than the
 * 1.5 s timeout of each; none may time out, and the server never sees more
 * than 4 at once.
 */
static void
test_http_queues_over_the_limit_timed_from_start(void **state)
{
	static struct result r[NQUEUED];
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	json_t *j;
	int i;

	(void)state;
	json_decref(server_json("/concurrency?reset=1"));
	memset(r, 0, sizeof(r));
	h = http_new(4, 4, &err);
	assert_non_null(h);
	/* tagged: transfers of earlier tests the server still counts as in
	 * flight are not these */
	req_init(&req, url(u, sizeof(u), "/slow?delay=0.05&tag=queued"));
	req.timeout_ms = 1500;
	for (i = 0; i < NQUEUED; i++)
		assert_int_equal(http_submit(h, &req, on_done, &r[i], &err), 0);
	assert_int_equal(http_run(h), 0);
	for (i = 0; i < NQUEUED; i++) {
		assert_int_equal(r[i].calls, 1);
		if (r[i].resp.error != HTTP_OK)
			fail_msg("transfer %d: %s", i, r[i].resp.errmsg);
		assert_int_equal(r[i].resp.status, 200);
		result_release(&r[i]);
	}
	http_free(h);
	j = server_json("/concurrency?tag=queued");
	assert_in_range(json_int_at(j, "max"), 1, 4);
	/* queued transfers reuse the 4 connections (+1: this query) */
	assert_in_range(json_int_at(j, "connections"), 1, 5);
	json_decref(j);
}

static void
test_http_cancel_all_calls_back_running_and_queued_transfers(void **state)
{
	struct result r[3];
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	h = http_new(1, 1, &err);
	assert_non_null(h);
	req_init(&req, url(u, sizeof(u), "/slow?delay=10"));
	for (i = 0; i < 3; i++)
		assert_int_equal(http_submit(h, &req, on_done, &r[i], &err), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(http_poll(h, 20, NULL, NULL, 0), 0);
	/* one runs, two wait: none has been called back */
	for (i = 0; i < 3; i++)
		assert_int_equal(r[i].calls, 0);
	http_cancel_all(h);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].resp.error, HTTP_ERR_ABORTED);
		assert_int_equal(r[i].resp.status, 0);
		assert_null(r[i].resp.body);
		result_release(&r[i]);
	}
	http_free(h);
}

static void
test_http_reuses_connections(void **state)
{
	struct http_request req;
	struct result r;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	json_t *j;
	int i;

	(void)state;
	write_page("reuse.html", "<p>again</p>", NULL);
	json_decref(server_json("/concurrency?reset=1"));
	h = http_new(4, 2, &err);
	assert_non_null(h);
	req_init(&req, url(u, sizeof(u), "/reuse.html"));
	for (i = 0; i < 5; i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(http_submit(h, &req, on_done, &r, &err), 0);
		assert_int_equal(http_run(h), 0);
		assert_int_equal(r.resp.status, 200);
		result_release(&r);
	}
	http_free(h);
	/* one connection for the five, one for this query */
	j = server_json("/concurrency");
	assert_int_equal(json_int_at(j, "connections"), 2);
	json_decref(j);
}

static void
test_http_sends_custom_headers_user_agent_and_validators(void **state)
{
	static const char *const headers[] = {
		"X-Kw-Test: yes",
		"Accept-Language: ko-KR",
	};
	struct http_request req;
	struct result r;
	json_error_t jerr;
	char u[512];
	json_t *j;

	(void)state;
	req_init(&req, url(u, sizeof(u), "/headers"));
	req.headers = headers;
	req.nheaders = 2;
	req.user_agent = "kw-test/1.0";
	req.bearer_token = "tok-abcdef123456";
	req.etag = "\"abc\"";
	req.last_modified = "Mon, 02 Jan 2006 15:04:05 GMT";
	fetch(&req, &r);
	assert_int_equal(r.resp.status, 200);
	j = json_loads(r.resp.body, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(header_of(j, "x-kw-test"), "yes");
	assert_string_equal(header_of(j, "accept-language"), "ko-KR");
	assert_string_equal(header_of(j, "user-agent"), "kw-test/1.0");
	assert_string_equal(header_of(j, "authorization"),
	    "Bearer tok-abcdef123456");
	assert_string_equal(header_of(j, "if-none-match"), "\"abc\"");
	assert_string_equal(header_of(j, "if-modified-since"),
	    "Mon, 02 Jan 2006 15:04:05 GMT");
	json_decref(j);
	result_release(&r);
}

static void
test_http_sends_the_bearer_token_to_the_first_host_only(void **state)
{
	struct http_request req;
	struct result r;
	json_error_t jerr;
	char u[512], path[256];
	json_t *j;

	(void)state;
	/* same host: the token follows the redirect */
	req_init(&req, url(u, sizeof(u), "/redirect-to?url=/headers"));
	req.bearer_token = "tok-abcdef123456";
	fetch(&req, &r);
	j = json_loads(r.resp.body, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(header_of(j, "authorization"),
	    "Bearer tok-abcdef123456");
	json_decref(j);
	result_release(&r);

	/* "localhost" is another host name: the token stays behind */
	snprintf(path, sizeof(path),
	    "/redirect-to?url=http://localhost:%d/headers", server_port);
	req_init(&req, url(u, sizeof(u), path));
	req.bearer_token = "tok-abcdef123456";
	fetch(&req, &r);
	assert_int_equal(r.resp.status, 200);
	j = json_loads(r.resp.body, 0, &jerr);
	assert_non_null(j);
	assert_null(header_of(j, "authorization"));
	json_decref(j);
	result_release(&r);
}

static void
test_http_sends_default_user_agent_and_accept_encoding(void **state)
{
	struct result r;
	json_error_t jerr;
	json_t *j;

	(void)state;
	get("/headers", &r);
	j = json_loads(r.resp.body, 0, &jerr);
	assert_non_null(j);
	assert_non_null(header_of(j, "user-agent"));
	assert_memory_equal(header_of(j, "user-agent"), "kakaowatch/", 11);
	assert_non_null(header_of(j, "accept-encoding"));
	assert_non_null(strstr(header_of(j, "accept-encoding"), "gzip"));
	assert_null(header_of(j, "authorization"));
	assert_null(header_of(j, "if-none-match"));
	json_decref(j);
	result_release(&r);
}

static void
test_http_sync_posts_a_form_body(void **state)
{
	static const char body[] = "a=1&b=%ED%95%9C";
	struct http_request req;
	struct http_response resp;
	json_error_t jerr;
	char u[512];
	json_t *j;

	(void)state;
	req_init(&req, url(u, sizeof(u), "/headers"));
	req.method = "POST";
	req.body = body;
	req.body_len = strlen(body);
	req.content_type = "application/x-www-form-urlencoded;charset=utf-8";
	assert_int_equal(http_request_sync(&req, &resp), 0);
	assert_int_equal(resp.error, HTTP_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "application/json");
	j = json_loads(resp.body, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "method")),
	    "POST");
	assert_string_equal(json_string_value(json_object_get(j, "body")),
	    body);
	assert_string_equal(header_of(j, "content-type"),
	    "application/x-www-form-urlencoded;charset=utf-8");
	assert_null(header_of(j, "expect"));
	json_decref(j);
	http_response_release(&resp);

	/* any status is a response */
	req_init(&req, url(u, sizeof(u), "/status/503"));
	assert_int_equal(http_request_sync(&req, &resp), 0);
	assert_int_equal(resp.status, 503);
	http_response_release(&resp);
}

static void
test_http_sync_failure_message_holds_no_secrets(void **state)
{
	static const char body[] = "refresh_token=rt-SECRET-0123456789";
	struct http_request req;
	struct http_response resp;
	char u[128];
	int fd;

	(void)state;
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/oauth/token",
	    refused_port(&fd));
	req_init(&req, u);
	req.method = "POST";
	req.body = body;
	req.body_len = strlen(body);
	req.bearer_token = "at-SECRET-9876543210";
	assert_int_equal(http_request_sync(&req, &resp), -1);
	assert_int_equal(resp.error, HTTP_ERR_CONNECT);
	assert_true(strlen(resp.errmsg) > 0);
	assert_null(strstr(resp.errmsg, "SECRET"));
	assert_null(resp.body);
	http_response_release(&resp);
	close(fd);
}

static void
test_http_rejects_bad_requests(void **state)
{
	static const char *const injected[] = { "X-A: 1\r\nX-B: 2" };
	static const char *const nameless[] = { "no colon here" };
	struct http_request req;
	struct http_response resp;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	int calls = 0;

	(void)state;
	h = http_new(4, 2, &err);
	assert_non_null(h);
	req_init(&req, url(u, sizeof(u), "/plain.html"));
	req.method = "DELETE";
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), -1);
	assert_non_null(strstr(err.msg, "DELETE"));

	kw_err_clear(&err);
	req_init(&req, url(u, sizeof(u), "/plain.html"));
	req.headers = injected;
	req.nheaders = 1;
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), -1);
	assert_true(err.set);

	kw_err_clear(&err);
	req.headers = nameless;
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), -1);

	kw_err_clear(&err);
	req_init(&req, NULL);
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), -1);

	kw_err_clear(&err);
	req_init(&req, url(u, sizeof(u), "/plain.html"));
	req.body = "x=1";
	req.body_len = 3;
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), -1);

	/* nothing was queued: a run has nothing to call back */
	assert_int_equal(http_run(h), 0);
	http_free(h);
	assert_int_equal(calls, 0);

	req_init(&req, url(u, sizeof(u), "/plain.html"));
	req.method = "PATCH";
	assert_int_equal(http_request_sync(&req, &resp), -1);
	assert_int_equal(resp.error, HTTP_ERR_OTHER);
	assert_non_null(strstr(resp.errmsg, "PATCH"));
	http_response_release(&resp);
}

static void
test_http_free_aborts_pending_transfers_without_callbacks(void **state)
{
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char u[512];
	int calls = 0, i;

	(void)state;
	h = http_new(4, 2, &err);
	assert_non_null(h);
	req_init(&req, url(u, sizeof(u), "/hang"));
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), 0);
	req_init(&req, url(u, sizeof(u), "/slow?delay=10"));
	assert_int_equal(http_submit(h, &req, count_calls, &calls, &err), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(http_poll(h, 20, NULL, NULL, 0), 0);
	assert_int_equal(calls, 0); /* both still in flight */
	http_free(h);
	assert_int_equal(calls, 0);
	http_free(NULL);

	/* also those still waiting for a connection */
	h = http_new(1, 1, &err);
	assert_non_null(h);
	for (i = 0; i < 3; i++)
		assert_int_equal(
		    http_submit(h, &req, count_calls, &calls, &err), 0);
	assert_int_equal(http_poll(h, 20, NULL, NULL, 0), 0);
	assert_int_equal(calls, 0);
	http_free(h);
	assert_int_equal(calls, 0);
}

/* a callback may queue the next transfer */
struct chain {
	struct http *h;
	const char *url;
	int calls;
	long last_status;
};

static void
chain_done(void *user, struct http_response *resp)
{
	struct chain *c = user;
	struct http_request req;
	struct kw_err err = { 0 };

	c->calls++;
	c->last_status = resp->status;
	if (c->calls < 3) {
		req_init(&req, c->url);
		assert_int_equal(http_submit(c->h, &req, chain_done, c, &err),
		    0);
	}
}

static void
test_http_callbacks_may_submit_more_transfers(void **state)
{
	struct http_request req;
	struct kw_err err = { 0 };
	struct chain c = { 0 };
	char u[512];

	(void)state;
	write_page("chain.html", "<p>chain</p>", NULL);
	c.h = http_new(4, 2, &err);
	assert_non_null(c.h);
	c.url = url(u, sizeof(u), "/chain.html");
	req_init(&req, c.url);
	assert_int_equal(http_submit(c.h, &req, chain_done, &c, &err), 0);
	assert_int_equal(http_run(c.h), 0);
	assert_int_equal(c.calls, 3);
	assert_int_equal(c.last_status, 200);
	http_free(c.h);
}

static void
test_http_poll_reports_a_readable_extra_fd(void **state)
{
	struct kw_err err = { 0 };
	struct http *h;
	bool ready = true;
	int p[2];

	(void)state;
	h = http_new(4, 2, &err);
	assert_non_null(h);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(http_poll(h, 0, &p[0], &ready, 1), 0);
	assert_false(ready);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(http_poll(h, 5000, &p[0], &ready, 1), 0);
	assert_true(ready);
	close(p[0]);
	close(p[1]);
	http_free(h);
}

/* echo_of parses the /headers echo in a result's body */
static json_t *
echo_of(const struct result *r)
{
	json_error_t jerr;
	json_t *j;

	assert_int_equal(r->resp.error, HTTP_OK);
	assert_int_equal(r->resp.status, 200);
	j = json_loads(r->resp.body, 0, &jerr);
	assert_non_null(j);
	return j;
}

/*
 * A watch's own headers (an API key) and the bearer token go to the origin
 * of its URL only. Two loopback servers are two origins (another port):
 * redirected from the first to the second, the request arrives without
 * them; redirected within the first, with them; and back from the second
 * to the first, with them again.
 */
static void
test_http_sends_custom_headers_only_to_their_origin(void **state)
{
	static const char *const headers[] = { "X-Api-Key: key-0123456789" };
	struct http_request req;
	struct result r;
	char u[1024], path[768], back[512];
	struct fake_server other_srv;
	int other;
	json_t *j;

	(void)state;
	other = spawn_extra(&other_srv, NULL);
	assert_true(other > 0);

	snprintf(path, sizeof(path),
	    "/redirect-to?url=http://127.0.0.1:%d/headers", other);
	req_init(&req, url(u, sizeof(u), path));
	req.headers = headers;
	req.nheaders = 1;
	req.bearer_token = "tok-abcdef123456";
	req.user_agent = "kw-test/1.0";
	fetch(&req, &r);
	j = echo_of(&r);
	assert_null(header_of(j, "x-api-key"));
	assert_null(header_of(j, "authorization"));
	/* the request itself is the same: only the secrets stay behind */
	assert_string_equal(header_of(j, "user-agent"), "kw-test/1.0");
	assert_non_null(strstr(r.resp.final_url, "/headers"));
	json_decref(j);
	result_release(&r);

	/* same origin: they follow */
	req_init(&req, url(u, sizeof(u), "/redirect-to?url=/headers"));
	req.headers = headers;
	req.nheaders = 1;
	fetch(&req, &r);
	j = echo_of(&r);
	assert_string_equal(header_of(j, "x-api-key"), "key-0123456789");
	json_decref(j);
	result_release(&r);

	/* first -> second -> first: home again, they are sent again */
	snprintf(back, sizeof(back), "http://127.0.0.1:%d/headers",
	    server_port);
	snprintf(path, sizeof(path),
	    "/redirect-to?url=http://127.0.0.1:%d/redirect-to%%3Furl%%3D%s",
	    other, back);
	req_init(&req, url(u, sizeof(u), path));
	req.headers = headers;
	req.nheaders = 1;
	fetch(&req, &r);
	j = echo_of(&r);
	assert_string_equal(header_of(j, "x-api-key"), "key-0123456789");
	json_decref(j);
	result_release(&r);

	/* the blocking API follows the same rule */
	snprintf(path, sizeof(path),
	    "/redirect-to?url=http://127.0.0.1:%d/headers", other);
	req_init(&req, url(u, sizeof(u), path));
	req.headers = headers;
	req.nheaders = 1;
	memset(&r, 0, sizeof(r));
	assert_int_equal(http_request_sync(&req, &r.resp), 0);
	j = echo_of(&r);
	assert_null(header_of(j, "x-api-key"));
	json_decref(j);
	result_release(&r);
	kill_extra(&other_srv);
}

/* a POST redirected by 303 continues as a GET without the body */
static void
test_http_continues_a_post_as_get_after_303(void **state)
{
	struct http_request req;
	struct result r;
	char u[512];
	json_t *j;

	(void)state;
	req_init(&req,
	    url(u, sizeof(u), "/redirect-to?url=/headers&status=303"));
	req.method = "POST";
	req.body = "a=1";
	req.body_len = 3;
	req.content_type = "application/x-www-form-urlencoded";
	fetch(&req, &r);
	j = echo_of(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")),
	    "GET");
	assert_null(header_of(j, "content-type"));
	json_decref(j);
	result_release(&r);

	/* 307 keeps the method and the body */
	req_init(&req,
	    url(u, sizeof(u), "/redirect-to?url=/headers&status=307"));
	req.method = "POST";
	req.body = "a=1";
	req.body_len = 3;
	fetch(&req, &r);
	j = echo_of(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")),
	    "POST");
	assert_string_equal(json_string_value(json_object_get(j, "body")),
	    "a=1");
	json_decref(j);
	result_release(&r);
}

/*
 * An https page redirecting to http: refused unless the request allows
 * it. The https server uses a throw-away self-signed certificate (the
 * request turns verification off, as `ssl_verify: false` does).
 */
static void
test_http_refuses_https_to_http_redirects(void **state)
{
	char cert[600], key[600], cmd[1400], u[1024];
	const char *extra[4];
	struct http_request req;
	struct result r;
	struct fake_server tls_srv;
	int tls_port;
	json_t *j;

	(void)state;
	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", server_root);
	snprintf(key, sizeof(key), "%s/tls-key.pem", server_root);
	snprintf(cmd, sizeof(cmd),
	    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
	    "-subj /CN=127.0.0.1 -keyout '%s' -out '%s' >/dev/null 2>&1",
	    key, cert);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_http: no openssl to make a certificate: "
				"skipped\n");
		skip();
	}
	extra[0] = "--tls-cert";
	extra[1] = cert;
	extra[2] = "--tls-key";
	extra[3] = key;
	tls_port = spawn_extra(&tls_srv, extra);
	assert_true(tls_port > 0);

	snprintf(u, sizeof(u),
	    "https://127.0.0.1:%d/redirect-to?url="
	    "http://127.0.0.1:%d/headers",
	    tls_port, server_port);
	req_init(&req, u);
	req.ssl_verify = false;
	fetch(&req, &r);
	assert_int_equal(r.resp.error, HTTP_ERR_REDIRECTS);
	assert_non_null(strstr(r.resp.errmsg, "https to http"));
	assert_null(r.resp.body);
	result_release(&r);

	req.allow_insecure_redirect = true;
	fetch(&req, &r);
	j = echo_of(&r);
	json_decref(j);
	result_release(&r);

	/* https -> https is fine */
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/redirect-to?url=/headers",
	    tls_port);
	req_init(&req, u);
	req.ssl_verify = false;
	fetch(&req, &r);
	j = echo_of(&r);
	json_decref(j);
	result_release(&r);
	kill_extra(&tls_srv);
}

/*
 * Two hanging pages take both connection slots of the host; two quick
 * pages wait behind them. Their 2 s timeout starts when they get a slot
 * (after the hanging ones time out at 2.5 s), so they succeed; if it
 * counted the wait they would time out at 2 s, still queued. The quick
 * pages answer at once: their 2 s are all margin, for a loaded machine
 * (with 0.8 s for a 0.3 s page a loaded CI timed one out after 912 ms).
 */
static void
test_http_timeout_starts_when_the_host_slot_is_free(void **state)
{
	struct result r[4];
	struct http_request req;
	struct kw_err err = { 0 };
	struct http *h;
	char hang[512], quick[512];
	int i;

	(void)state;
	memset(r, 0, sizeof(r));
	h = http_new(16, 2, &err);
	assert_non_null(h);
	url(hang, sizeof(hang), "/hang");
	url(quick, sizeof(quick), "/slow?delay=0");
	for (i = 0; i < 4; i++) {
		req_init(&req, i < 2 ? hang : quick);
		req.timeout_ms = i < 2 ? 2500 : 2000;
		assert_int_equal(http_submit(h, &req, on_done, &r[i], &err), 0);
	}
	assert_int_equal(http_run(h), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(r[i].resp.error, HTTP_ERR_TIMEOUT);
		result_release(&r[i]);
	}
	for (i = 2; i < 4; i++) {
		if (r[i].resp.error != HTTP_OK)
			fail_msg("queued transfer %d: %s", i, r[i].resp.errmsg);
		assert_int_equal(r[i].resp.status, 200);
		result_release(&r[i]);
	}
	http_free(h);
}

/* a 200 KB response header is reported as such, not "out of memory" */
static void
test_http_reports_a_huge_response_header(void **state)
{
	struct result r;

	(void)state;
	get("/big-header?bytes=204800", &r);
	assert_int_equal(r.resp.error, HTTP_ERR_TOO_BIG);
	assert_non_null(strstr(r.resp.errmsg, "header too large"));
	assert_null(strstr(r.resp.errmsg, "memory"));
	result_release(&r);

	/* one under the cap is fine */
	get("/big-header?bytes=50000", &r);
	assert_int_equal(r.resp.error, HTTP_OK);
	result_release(&r);
}

/*
 * An internationalised host name is sent in its A-label form, whatever the
 * locale (the test runs in "C"). The loopback server acts as the HTTP
 * proxy (http_proxy), so 한국.test needs no DNS and no /etc/hosts entry:
 * the proxy sees the request line's host.
 */
static void
test_http_converts_international_host_names(void **state)
{
	struct http_request req;
	struct result r;
	char proxy[64];
	const char *path, *host;
	json_t *j;

	(void)state;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", server_port);
	setenv("http_proxy", proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	req_init(&req, "http://\xed\x95\x9c\xea\xb5\xad.test/headers?q=1");
	fetch(&req, &r);
	unsetenv("http_proxy");
	if (r.resp.error != HTTP_OK)
		fail_msg("IDN host: %s", r.resp.errmsg);
	j = echo_of(&r);
	path = json_string_value(json_object_get(j, "path"));
	host = header_of(j, "host");
	assert_non_null(path);
	assert_string_equal(path, "http://xn--3e0b707e.test/headers?q=1");
	assert_string_equal(host, "xn--3e0b707e.test");
	/* links of the page resolve against the host as written */
	assert_string_equal(r.resp.final_url,
	    "http://\xed\x95\x9c\xea\xb5\xad.test/headers?q=1");
	json_decref(j);
	result_release(&r);

	/* a redirect on the same host keeps it too */
	setenv("http_proxy", proxy, 1);
	req_init(&req, "http://\xed\x95\x9c\xea\xb5\xad.test/"
		       "redirect-to?url=/headers");
	fetch(&req, &r);
	unsetenv("http_proxy");
	j = echo_of(&r);
	assert_string_equal(r.resp.final_url,
	    "http://\xed\x95\x9c\xea\xb5\xad.test/headers");
	json_decref(j);
	result_release(&r);

	/* a host libidn2 rejects fails the request with a clear message */
	memset(&r, 0, sizeof(r));
	req_init(&req, "http://a\xe2\x80\x8b\xef\xbf\xbf.test/");
	{
		struct kw_err err = { 0 };
		struct http *h = http_new(1, 1, &err);

		assert_non_null(h);
		assert_int_equal(http_submit(h, &req, on_done, &r, &err), -1);
		assert_non_null(strstr(err.msg, "host name"));
		http_free(h);
	}
}

static void
test_http_origin_is_scheme_host_and_port(void **state)
{
	char *o = NULL;

	(void)state;
	assert_int_equal(http_origin("HTTP://Example.COM/a?b", &o, NULL), 0);
	assert_string_equal(o, "http://example.com:80");
	free(o);
	assert_int_equal(http_origin("https://example.com:8443/", &o, NULL), 0);
	assert_string_equal(o, "https://example.com:8443");
	free(o);
	assert_int_equal(http_origin("https://example.com/", &o, NULL), 0);
	assert_string_equal(o, "https://example.com:443");
	free(o);
	assert_int_equal(http_origin("not a url", &o, NULL), -1);
	assert_null(o);
}

static void
test_http_url_escape_round_trips_through_util_url_decode(void **state)
{
	static const char *const cases[] = {
		"",
		"abc",
		"a b&c=d+e%f/g?h#i",
		"한글 텍스트",
		"~._-",
		"{\"object_type\":\"text\",\"text\":\"x\\ny\"}",
		"\x01\x7f\xff",
	};
	char *enc, *dec;
	const char *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enc = http_url_escape(cases[i]);
		assert_non_null(enc);
		for (p = enc; *p != '\0'; p++)
			assert_non_null(
			    strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "abcdefghijklmnopqrstuvwxyz0123456789-._~%",
				*p));
		dec = util_url_decode(enc);
		assert_non_null(dec);
		assert_string_equal(dec, cases[i]);
		free(enc);
		free(dec);
	}
	enc = http_url_escape("a b&c");
	assert_string_equal(enc, "a%20b%26c");
	free(enc);
	dec = util_url_decode("a+b%20c%2Bd%2b");
	assert_string_equal(dec, "a b c+d+");
	free(dec);
}

/* the one URL rule (http_url_check): what `check` accepts and links use */
static void
test_http_url_check_accepts_fetchable_urls(void **state)
{
	static const char *const ok[] = {
		"http://example.com/",
		"HTTPS://EXAMPLE.com:8443/a/b?q=1&r=%20#frag",
		"http://[::1]:8080/",
		"http://127.0.0.1:1/",
		"https://example.com:65535",
		"https://한글.kr/경로?검색=뉴스",
		"http://user:pw@example.com/",
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (http_url_check(ok[i], why, sizeof(why)) != 0)
			fail_msg("refused '%s': %s", ok[i], why);
	assert_int_equal(http_url_check("http://example.com/", NULL, 0), 0);
}

static void
test_http_url_check_refuses_broken_urls_with_a_reason(void **state)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "http://[::1/", "is not a valid URL (Bad IPv6 address)" },
		{ "http://[]/", "is not a valid URL (Bad IPv6 address)" },
		{ "http://example.com:99999/",
		    "has a bad port (use 1 to 65535)" },
		{ "http://example.com:0/", "has a bad port (use 1 to 65535)" },
		{ "ftp://example.com/", "must start with http:// or https://" },
		{ "example.com", "must start with http:// or https://" },
		{ "javascript:alert(1)",
		    "must start with http:// or https://" },
		{ "http://", "has no host" },
		{ "http:///path", "has no host" },
		{ "http://:80/", "has no host" },
		{ "http://?q=1", "has no host" },
		{ "http://user@/", "has no host" },
		{ "http://exa mple.com/",
		    "must not contain spaces or control characters" },
		{ "http://example.com/a\tb",
		    "must not contain spaces or control characters" },
		{ "http://example.com/\xc2\x85",
		    "must not contain spaces or control characters" },
		{ "http://example.com/\xe2\x80\xa8",
		    "must not contain spaces or control characters" },
		{ "http://example.com\\evil.com/",
		    "must not contain '\\' (write '/' or %5C)" },
	};
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (http_url_check(bad[i].url, why, sizeof(why)) != -1)
			fail_msg("accepted '%s'", bad[i].url);
		assert_string_equal(why, bad[i].why);
	}
	assert_int_equal(http_url_check(NULL, why, sizeof(why)), -1);
	/* a short buffer is cut, never overrun */
	assert_int_equal(http_url_check("http://[::1/", why, 8), -1);
	assert_int_equal(strlen(why), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_get_returns_body_and_headers),
		cmocka_unit_test(
		    test_http_etag_makes_unchanged_page_not_modified),
		cmocka_unit_test(
		    test_http_last_modified_makes_unchanged_page_not_modified),
		cmocka_unit_test(test_http_decodes_gzip_bodies),
		cmocka_unit_test(
		    test_http_caps_the_decoded_body_of_a_gzip_bomb),
		cmocka_unit_test(test_http_rejects_bodies_over_the_cap),
		cmocka_unit_test(
		    test_http_follows_redirects_and_reports_the_final_url),
		cmocka_unit_test(test_http_fails_after_too_many_redirects),
		cmocka_unit_test(
		    test_http_refuses_redirects_to_other_protocols),
		cmocka_unit_test(test_http_times_out_on_a_slow_server),
		cmocka_unit_test(test_http_reports_error_statuses_as_responses),
		cmocka_unit_test(test_http_parses_retry_after),
		cmocka_unit_test(
		    test_http_url_escape_round_trips_through_util_url_decode),
		cmocka_unit_test(test_http_url_check_accepts_fetchable_urls),
		cmocka_unit_test(
		    test_http_url_check_refuses_broken_urls_with_a_reason),
		cmocka_unit_test(test_http_reports_connection_refused),
		cmocka_unit_test(
		    test_http_reports_tls_failure_against_plain_http),
		cmocka_unit_test(
		    test_http_keeps_the_per_host_limit_and_isolates_failures),
		cmocka_unit_test(
		    test_http_runs_transfers_in_parallel_up_to_the_limit),
		cmocka_unit_test(
		    test_http_queues_over_the_limit_timed_from_start),
		cmocka_unit_test(
		    test_http_cancel_all_calls_back_running_and_queued_transfers),
		cmocka_unit_test(test_http_reuses_connections),
		cmocka_unit_test(
		    test_http_sends_custom_headers_user_agent_and_validators),
		cmocka_unit_test(
		    test_http_sends_the_bearer_token_to_the_first_host_only),
		cmocka_unit_test(
		    test_http_sends_default_user_agent_and_accept_encoding),
		cmocka_unit_test(test_http_sync_posts_a_form_body),
		cmocka_unit_test(
		    test_http_sync_failure_message_holds_no_secrets),
		cmocka_unit_test(test_http_rejects_bad_requests),
		cmocka_unit_test(
		    test_http_free_aborts_pending_transfers_without_callbacks),
		cmocka_unit_test(test_http_callbacks_may_submit_more_transfers),
		cmocka_unit_test(test_http_poll_reports_a_readable_extra_fd),
		cmocka_unit_test(
		    test_http_sends_custom_headers_only_to_their_origin),
		cmocka_unit_test(test_http_continues_a_post_as_get_after_303),
		cmocka_unit_test(test_http_refuses_https_to_http_redirects),
		cmocka_unit_test(
		    test_http_timeout_starts_when_the_host_slot_is_free),
		cmocka_unit_test(test_http_reports_a_huge_response_header),
		cmocka_unit_test(test_http_converts_international_host_names),
		cmocka_unit_test(test_http_origin_is_scheme_host_and_port),
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
