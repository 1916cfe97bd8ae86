/* test_store: the state database (docs/design.md §2.5) on a temporary
 * state_dir. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "kakaowatch/item.h"
#include "kakaowatch/log.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

struct fixture {
	char root[256];      /* mkdtemp directory */
	char state_dir[300]; /* root/state, not created yet */
	char path[400];      /* scratch for file names */
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/kw-store-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static const char *
in_state(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->state_dir, name);
	return f->path;
}

/* A history row as the test reads it from the database itself: the product
 * writes and trims history but reads none of it back. */
struct history_entry {
	int64_t at;
	bool removed;
	bool edited;
	char *text;
	char *link; /* NULL when the row has none */
};

static char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d;

	if (t == NULL)
		return NULL;
	d = strdup((const char *)t);
	assert_non_null(d);
	return d;
}

static sqlite3 *
db_open(struct fixture *f)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(in_state(f, "kakaowatch.db"), &db,
		SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("open %s: %s", f->path, sqlite3_errmsg(db));
	return db;
}

/* history_read returns watch `name`'s history rows, newest first. */
static void
history_read(struct fixture *f, const char *name, struct history_entry **out,
    size_t *n)
{
	sqlite3 *db = db_open(f);
	sqlite3_stmt *s = NULL;
	struct history_entry *v = NULL;
	size_t count = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT at, removed, edited, text, link"
			     " FROM history WHERE watch = ?1"
			     " ORDER BY at DESC, id DESC",
			     -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		v = realloc(v, (count + 1) * sizeof(*v));
		assert_non_null(v);
		v[count].at = sqlite3_column_int64(s, 0);
		v[count].removed = sqlite3_column_int(s, 1) != 0;
		v[count].edited = sqlite3_column_int(s, 2) != 0;
		v[count].text = col_text(s, 3);
		v[count].link = col_text(s, 4);
		assert_non_null(v[count].text);
		count++;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	*out = v;
	*n = count;
}

static void
history_free(struct history_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].text);
		free(v[i].link);
	}
	free(v);
}

/* watch_rows returns the names of the watches with a row, sorted, joined
 * by spaces, in f->path. */
static const char *
watch_rows(struct fixture *f)
{
	sqlite3 *db = db_open(f);
	sqlite3_stmt *s = NULL;
	size_t len = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT name FROM watch ORDER BY name", -1, &s,
			     NULL),
	    SQLITE_OK);
	f->path[0] = '\0';
	while (sqlite3_step(s) == SQLITE_ROW) {
		len += (size_t)snprintf(f->path + len, sizeof(f->path) - len,
		    "%s%s", len > 0 ? " " : "", sqlite3_column_text(s, 0));
		assert_true(len < sizeof(f->path));
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return f->path;
}

static struct store *
open_ok(struct fixture *f)
{
	struct kw_err err = { 0 };
	struct store *st;

	st = store_open(f->state_dir, &err);
	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static void
add(struct item_list *l, const char *text, const char *link)
{
	assert_int_equal(item_list_add(l, text, link), 0);
}

static void
record_ok(struct store *st, const struct store_check *c)
{
	struct kw_err err = { 0 };

	if (store_record_check(st, c, &err) != 0)
		fail_msg("store_record_check: %s", err.msg);
}

static void
state_get(struct store *st, const char *name, struct watch_state *ws)
{
	struct kw_err err = { 0 };

	if (store_watch_state_get(st, name, ws, &err) != 0)
		fail_msg("store_watch_state_get: %s", err.msg);
}

static void
snapshot_get(struct store *st, const char *name, struct item_list *l)
{
	struct kw_err err = { 0 };

	if (store_snapshot_get(st, name, l, &err) != 0)
		fail_msg("store_snapshot_get: %s", err.msg);
}

static int64_t
outbox_count(struct store *st)
{
	struct kw_err err = { 0 };
	int64_t n = -1;

	assert_int_equal(store_outbox_stats(st, &n, NULL, &err), 0);
	return n;
}

/* baseline records a first successful check of "news": a, b; etag v1 */
static void
baseline(struct store *st)
{
	struct item_list items;
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.at = 1000,
		.etag = "\"v1\"",
		.last_modified = "Mon, 23 Nov 2026 00:00:00 GMT",
		.items = &items,
		.next_check_at = 61000,
	};

	item_list_init(&items);
	add(&items, "Article A", "https://news.example/a");
	add(&items, "Article B", NULL);
	c.items = &items;
	record_ok(st, &c);
	item_list_release(&items);
}

static void
assert_baseline_snapshot(struct store *st)
{
	struct item_list snap;

	snapshot_get(st, "news", &snap);
	assert_int_equal(snap.n, 2);
	assert_string_equal(snap.v[0].text, "Article A");
	assert_string_equal(snap.v[0].link, "https://news.example/a");
	assert_string_equal(snap.v[1].text, "Article B");
	assert_null(snap.v[1].link);
	item_list_release(&snap);
}

static void
test_store_creates_private_files(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct stat sb;
	struct store *st;
	mode_t old;
	size_t i;
	const char *names[] = { "kakaowatch.db", "kakaowatch.db-wal",
		"kakaowatch.db-shm", "kakaowatch.lock" };

	old = umask(022);
	st = open_ok(f);
	assert_int_equal(store_outbox_add(st, NULL, "{}", 1, &err), 0);

	assert_int_equal(stat(f->state_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (stat(in_state(f, names[i]), &sb) != 0)
			fail_msg("%s: %s", f->path, strerror(errno));
		if ((sb.st_mode & 0777) != 0600)
			fail_msg("%s has mode %o", f->path,
			    (unsigned)(sb.st_mode & 0777));
	}
	store_close(st);
	umask(old);
}

static void
test_store_tightens_an_open_database_mode(void **state)
{
	struct fixture *f = *state;
	struct stat sb;
	struct store *st;
	int fd;

	assert_int_equal(mkdir(f->state_dir, 0700), 0);
	fd = open(in_state(f, "kakaowatch.db"), O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);

	st = open_ok(f);
	assert_int_equal(stat(in_state(f, "kakaowatch.db"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(st);
}

static void
test_store_unknown_watch_has_no_state(void **state)
{
	struct fixture *f = *state;
	struct watch_state ws;
	struct item_list snap;
	struct store *st = open_ok(f);

	state_get(st, "nope", &ws);
	assert_false(ws.known);
	assert_false(ws.baselined);
	assert_null(ws.etag);
	assert_int_equal(ws.failures, 0);
	watch_state_release(&ws);
	snapshot_get(st, "nope", &snap);
	assert_int_equal(snap.n, 0);
	store_close(st);
}

static void
test_store_records_baseline_then_change(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct item_list items, added, removed, snap;
	struct history_entry *h;
	struct outbox_msg *m;
	struct watch_state ws;
	const char *msgs[] = { "{\"object_type\":\"list\"}" };
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.at = 2000,
		.etag = "\"v2\"",
		.items = &items,
		.added = &added,
		.removed = &removed,
		.messages = msgs,
		.nmessages = 1,
	};
	struct store *st = open_ok(f);
	size_t n;

	baseline(st);
	state_get(st, "news", &ws);
	assert_true(ws.known);
	assert_true(ws.baselined);
	assert_int_equal(ws.item_count, 2);
	assert_int_equal(ws.last_check_at, 1000);
	assert_int_equal(ws.last_success_at, 1000);
	assert_int_equal(ws.last_change_at, 0); /* a baseline is no change */
	assert_int_equal(ws.next_check_at, 61000);
	assert_string_equal(ws.etag, "\"v1\"");
	assert_string_equal(ws.last_modified, "Mon, 23 Nov 2026 00:00:00 GMT");
	assert_string_equal(ws.url, "https://news.example/");
	assert_string_equal(ws.xpath, "//h2/a");
	watch_state_release(&ws);
	assert_baseline_snapshot(st);
	assert_int_equal(outbox_count(st), 0);

	/* B and C now; A gone */
	item_list_init(&items);
	item_list_init(&added);
	item_list_init(&removed);
	add(&items, "Article C", "https://news.example/c");
	add(&items, "Article B", NULL);
	add(&added, "Article C", "https://news.example/c");
	add(&removed, "Article A", "https://news.example/a");
	record_ok(st, &c);

	state_get(st, "news", &ws);
	assert_int_equal(ws.item_count, 2);
	assert_int_equal(ws.last_change_at, 2000);
	assert_string_equal(ws.etag, "\"v2\"");
	assert_null(ws.last_modified); /* NULL clears */
	watch_state_release(&ws);

	snapshot_get(st, "news", &snap);
	assert_int_equal(snap.n, 2);
	assert_string_equal(snap.v[0].text, "Article C");
	assert_string_equal(snap.v[1].text, "Article B");
	item_list_release(&snap);

	history_read(f, "news", &h, &n);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].at, 2000);
	assert_true((h[0].removed && strcmp(h[0].text, "Article A") == 0) ||
		    (h[1].removed && strcmp(h[1].text, "Article A") == 0));
	assert_true((!h[0].removed && strcmp(h[0].text, "Article C") == 0) ||
		    (!h[1].removed && strcmp(h[1].text, "Article C") == 0));
	history_free(h, n);

	assert_int_equal(store_outbox_due(st, 2000, 0, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].watch, "news");
	assert_string_equal(m[0].template_json, msgs[0]);
	assert_int_equal(m[0].created_at, 2000);
	assert_int_equal(m[0].attempts, 0);
	outbox_msgs_free(m, n);

	item_list_release(&items);
	item_list_release(&added);
	item_list_release(&removed);
	store_close(st);
}

/*
 * After the wall clock stepped back, the times of a check recorded ahead
 * of it (and the waits of messages deferred ahead of it) count from now:
 * nothing waits longer than its own Retry-After, interval or backoff.
 */
static void
test_store_clamp_brings_times_set_ahead_of_the_clock_back(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct item_list empty;
	struct watch_state ws;
	struct outbox_msg *m = NULL;
	size_t n = 0;
	int changed = -1;
	const int64_t now = 1000000, ahead = now + 4 * 3600 * 1000LL;
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.at = ahead,
		.items = &empty,
		.failed = true,
		.error = "HTTP 429",
		.retry_after_until = ahead + 120000,
		.next_check_at = ahead + 60000,
	};
	struct store *st = open_ok(f);

	item_list_init(&empty);
	baseline(st);
	record_ok(st, &c);
	/* a check recorded in the past is left alone */
	assert_int_equal(store_watch_clamp(st, ahead + 1, &changed, &err), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(store_watch_clamp(st, now, &changed, &err), 0);
	assert_int_equal(changed, 1);
	state_get(st, "news", &ws);
	assert_int_equal(ws.last_check_at, now);
	assert_int_equal(ws.retry_after_until, now + 120000);
	assert_int_equal(ws.next_check_at, now + 60000);
	watch_state_release(&ws);
	/* once is enough: no wait creeps on */
	assert_int_equal(store_watch_clamp(st, now + 5000, &changed, &err), 0);
	assert_int_equal(changed, 0);

	/* the outbox: a message deferred 5 s ahead of the clock, one held
	 * until a midnight 10 h ahead, one never tried made ahead */
	assert_int_equal(
	    store_outbox_add(st, "news", "{\"text\":\"a\"}", ahead, &err), 0);
	assert_int_equal(
	    store_outbox_add(st, "news", "{\"text\":\"b\"}", ahead, &err), 0);
	assert_int_equal(store_outbox_due(st, INT64_MAX, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_outbox_defer(st, m[0].id, ahead, ahead + 5000,
			     "HTTP 500", &err),
	    0);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_defer_all(st, ahead + 10 * 3600 * 1000LL,
			     "quota", &err),
	    0);
	/* a hold until a time of day within `latest` stays as it is */
	assert_int_equal(store_outbox_clamp(st, INT64_MAX, now, &err), 0);
	assert_int_equal(store_outbox_due(st, INT64_MAX, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].next_attempt_at, ahead + 10 * 3600 * 1000LL);
	assert_int_equal(m[1].next_attempt_at, ahead + 10 * 3600 * 1000LL);
	outbox_msgs_free(m, n);
	/* a hold beyond `latest` ends now */
	assert_int_equal(store_outbox_clamp(st, now + 3600 * 1000LL, now, &err),
	    0);
	assert_int_equal(store_outbox_due(st, now, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	outbox_msgs_free(m, n);
	/* a backoff set ahead of the clock ends its length after now */
	assert_int_equal(store_outbox_due(st, INT64_MAX, 0, &m, &n, &err), 0);
	assert_int_equal(store_outbox_defer(st, m[0].id, ahead, ahead + 5000,
			     "HTTP 500", &err),
	    0);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_clamp(st, INT64_MAX, now, &err), 0);
	assert_int_equal(store_outbox_due(st, INT64_MAX, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].next_attempt_at, now + 5000);
	assert_int_equal(m[0].attempts, 2);
	outbox_msgs_free(m, n);
	/* without a step nothing moves */
	assert_int_equal(store_outbox_clamp(st, INT64_MAX, now + 1000, &err),
	    0);
	assert_int_equal(store_outbox_due(st, INT64_MAX, 0, &m, &n, &err), 0);
	assert_int_equal(m[0].next_attempt_at, now + 5000);
	outbox_msgs_free(m, n);
	store_close(st);
}

static void
test_store_failed_check_keeps_snapshot_and_validators(void **state)
{
	struct fixture *f = *state;
	struct item_list empty;
	struct watch_state ws;
	const char *msgs[] = { "{\"text\":\"news is failing\"}" };
	struct store_check c = {
		.name = "news",
		.url = "https://other.example/",
		.xpath = "//changed",
		.at = 3000,
		.etag = "\"v9\"",
		.items = &empty, /* ignored on failure */
		.failed = true,
		.error = "HTTP 503",
		.retry_after_until = 120000,
		.next_check_at = 120000,
	};
	struct store *st = open_ok(f);

	item_list_init(&empty);
	baseline(st);
	record_ok(st, &c);
	state_get(st, "news", &ws);
	assert_int_equal(ws.failures, 1);
	assert_string_equal(ws.last_error, "HTTP 503");
	assert_int_equal(ws.last_check_at, 3000);
	assert_int_equal(ws.last_success_at, 1000);
	assert_int_equal(ws.retry_after_until, 120000);
	assert_int_equal(ws.next_check_at, 120000);
	assert_string_equal(ws.etag, "\"v1\"");
	assert_string_equal(ws.url, "https://news.example/");
	assert_string_equal(ws.xpath, "//h2/a");
	assert_int_equal(ws.item_count, 2);
	assert_false(ws.failing_notified);
	watch_state_release(&ws);
	assert_baseline_snapshot(st);

	/* second failure queues the notice and sets the flag */
	c.at = 4000;
	c.error = "timeout";
	c.failing_notified = true;
	c.messages = msgs;
	c.nmessages = 1;
	record_ok(st, &c);
	state_get(st, "news", &ws);
	assert_int_equal(ws.failures, 2);
	assert_string_equal(ws.last_error, "timeout");
	assert_true(ws.failing_notified);
	watch_state_release(&ws);
	assert_baseline_snapshot(st);
	assert_int_equal(outbox_count(st), 1);

	/* a success (304: snapshot unchanged) resets the run */
	memset(&c, 0, sizeof(c));
	c.name = "news";
	c.url = "https://news.example/";
	c.xpath = "//h2/a";
	c.at = 5000;
	c.etag = "\"v1\"";
	record_ok(st, &c);
	state_get(st, "news", &ws);
	assert_int_equal(ws.failures, 0);
	assert_null(ws.last_error);
	assert_false(ws.failing_notified);
	assert_int_equal(ws.last_success_at, 5000);
	assert_int_equal(ws.retry_after_until, 0);
	watch_state_release(&ws);
	assert_baseline_snapshot(st);
	store_close(st);
}

static void
test_store_not_modified_keeps_snapshot(void **state)
{
	struct fixture *f = *state;
	struct watch_state ws;
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.at = 7000,
		.etag = "\"v1b\"",
		.items = NULL, /* HTTP 304 */
	};
	struct store *st = open_ok(f);

	baseline(st);
	record_ok(st, &c);
	state_get(st, "news", &ws);
	assert_true(ws.baselined);
	assert_int_equal(ws.item_count, 2);
	assert_int_equal(ws.last_success_at, 7000);
	assert_int_equal(ws.last_change_at, 0);
	assert_string_equal(ws.etag, "\"v1b\"");
	watch_state_release(&ws);
	assert_baseline_snapshot(st);
	store_close(st);
}

/*
 * The store writes only the rows that differ: whatever the old and new
 * lists (grown, shrunk, reordered, a link added, duplicates, emptied), the
 * snapshot read back is exactly the last list, with its item_count. The
 * checks carry empty added/removed lists, as a rebaseline does.
 */
static void
test_store_snapshot_follows_every_new_item_list(void **state)
{
	static const char *const lists[][6][2] = {
		{ { "A", "/a" }, { "B", NULL }, { "C", "/c" } },
		{ { "A", "/a" }, { "B", NULL }, { "C", "/c" } },
		{ { "A", "/a" }, { "B", "/b" }, { "C", "/c" } },
		{ { "A", "/a" } },
		{ { "X", NULL }, { "A", "/a" }, { "B", "/b" }, { "C", "/c" },
		    { "D", "/d" } },
		{ { NULL, NULL } },
		{ { "C", "/c" }, { "A", "/a" } },
		{ { "A", "/a" }, { "C", "/c" } },
		{ { "A", "/a" }, { "C", "/c" }, { "C", "/c" } },
		{ { "A", "/a" }, { "C", "/c" } },
		{ { "A", "/a" }, { "C", "/c2" } },
	};
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	struct item_list items, none, snap;
	struct watch_state ws;
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.added = &none,
		.removed = &none,
	};
	size_t k, i, n;

	item_list_init(&none);
	for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		item_list_init(&items);
		for (n = 0; n < 6 && lists[k][n][0] != NULL; n++)
			add(&items, lists[k][n][0], lists[k][n][1]);
		c.at = 1000 + (int64_t)k;
		c.items = &items;
		record_ok(st, &c);

		snapshot_get(st, "news", &snap);
		assert_int_equal(snap.n, n);
		for (i = 0; i < n; i++) {
			assert_string_equal(snap.v[i].text, lists[k][i][0]);
			if (lists[k][i][1] == NULL)
				assert_null(snap.v[i].link);
			else
				assert_string_equal(snap.v[i].link,
				    lists[k][i][1]);
		}
		item_list_release(&snap);
		state_get(st, "news", &ws);
		assert_true(ws.baselined);
		assert_int_equal(ws.item_count, (int64_t)n);
		assert_int_equal(ws.last_success_at, c.at);
		watch_state_release(&ws);
		item_list_release(&items);
	}
	store_close(st);

	/* and so it is after reopening */
	st = open_ok(f);
	snapshot_get(st, "news", &snap);
	assert_int_equal(snap.n, 2);
	assert_string_equal(snap.v[1].link, "/c2");
	item_list_release(&snap);
	store_close(st);
}

static void
test_store_empty_snapshot_is_a_baseline(void **state)
{
	struct fixture *f = *state;
	struct item_list empty;
	struct watch_state ws;
	struct store_check c = {
		.name = "quiet",
		.at = 1,
		.items = &empty,
	};
	struct store *st = open_ok(f);

	item_list_init(&empty);
	record_ok(st, &c);
	state_get(st, "quiet", &ws);
	assert_true(ws.baselined);
	assert_int_equal(ws.item_count, 0);
	watch_state_release(&ws);
	store_close(st);
}

static void
check_is_atomic_with(struct fixture *f, const char *bad_message)
{
	struct kw_err err = { 0 };
	struct item_list items, added;
	struct watch_state ws;
	struct history_entry *h;
	const char *msgs[] = { "{\"object_type\":\"text\"}", bad_message };
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
		.at = 9000,
		.etag = "\"v3\"",
		.items = &items,
		.added = &added,
		.messages = msgs,
		.nmessages = 2,
	};
	struct store *st = open_ok(f);
	size_t n;

	baseline(st);
	item_list_init(&items);
	item_list_init(&added);
	add(&items, "Article Z", "https://news.example/z");
	add(&added, "Article Z", "https://news.example/z");

	assert_int_equal(store_record_check(st, &c, &err), -1);
	assert_true(err.set);
	/* the message names the database and SQLite's reason */
	assert_non_null(strstr(err.msg, in_state(f, "kakaowatch.db")));
	assert_non_null(strstr(err.msg, "news"));
	assert_non_null(strstr(err.msg, "constraint failed"));

	/* nothing of the check happened */
	assert_baseline_snapshot(st);
	state_get(st, "news", &ws);
	assert_int_equal(ws.last_check_at, 1000);
	assert_int_equal(ws.last_change_at, 0);
	assert_string_equal(ws.etag, "\"v1\"");
	watch_state_release(&ws);
	assert_int_equal(outbox_count(st), 0);
	history_read(f, "news", &h, &n);
	assert_int_equal(n, 0);
	history_free(h, n);

	/* and the handle still works: the same check with good messages */
	c.nmessages = 1;
	record_ok(st, &c);
	assert_int_equal(outbox_count(st), 1);
	state_get(st, "news", &ws);
	assert_int_equal(ws.item_count, 1);
	watch_state_release(&ws);

	item_list_release(&items);
	item_list_release(&added);
	store_close(st);
}

static void
test_store_check_is_atomic_when_a_message_is_empty(void **state)
{
	check_is_atomic_with(*state, "");
}

static void
test_store_check_is_atomic_when_a_message_is_null(void **state)
{
	check_is_atomic_with(*state, NULL);
}

static void
test_store_outbox_is_fifo_with_defer_and_delete(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct outbox_msg *m;
	struct store *st = open_ok(f);
	int64_t count, oldest, next, ids[3];
	size_t n, i;

	assert_int_equal(store_outbox_next_at(st, &next, &err), 0);
	assert_int_equal(next, -1);
	assert_int_equal(store_outbox_add(st, "w", "{\"n\":1}", 100, &err), 0);
	assert_int_equal(store_outbox_add(st, NULL, "{\"n\":2}", 200, &err), 0);
	assert_int_equal(store_outbox_add(st, "w", "{\"n\":3}", 300, &err), 0);

	/* due by time, in FIFO order, limited */
	assert_int_equal(store_outbox_due(st, 250, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].template_json, "{\"n\":1}");
	assert_string_equal(m[1].template_json, "{\"n\":2}");
	assert_null(m[1].watch);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_due(st, 1000, 2, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_due(st, 1000, 0, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		ids[i] = m[i].id;
	assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
	outbox_msgs_free(m, n);

	/* the first fails: it waits, the others go on */
	assert_int_equal(
	    store_outbox_defer(st, ids[0], 1000, 5000, "HTTP 502", &err), 0);
	assert_int_equal(store_outbox_due(st, 1000, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].id, ids[1]);
	assert_int_equal(m[1].id, ids[2]);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_due(st, 5000, 1, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].id, ids[0]);
	assert_int_equal(m[0].attempts, 1);
	assert_int_equal(m[0].next_attempt_at, 5000);
	assert_string_equal(m[0].last_error, "HTTP 502");
	outbox_msgs_free(m, n);

	/* sent: gone; deleting again is fine */
	assert_int_equal(store_outbox_delete(st, ids[1], &err), 0);
	assert_int_equal(store_outbox_delete(st, ids[1], &err), 0);
	assert_int_equal(store_outbox_stats(st, &count, &oldest, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(oldest, 100);
	assert_int_equal(store_outbox_next_at(st, &next, &err), 0);
	assert_int_equal(next, 300);

	/* quota: hold everything until tomorrow, without counting attempts */
	assert_int_equal(store_outbox_defer_all(st, 86400000, "quota", &err),
	    0);
	assert_int_equal(store_outbox_due(st, 86399999, 0, &m, &n, &err), 0);
	assert_int_equal(n, 0);
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_due(st, 86400000, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].id, ids[0]);
	assert_int_equal(m[0].attempts, 1);
	assert_string_equal(m[0].last_error, "quota");
	assert_int_equal(m[1].attempts, 0);
	outbox_msgs_free(m, n);

	/* a later hold is not shortened by an earlier defer_all */
	assert_int_equal(
	    store_outbox_defer(st, ids[2], 1000, 99000000, NULL, &err), 0);
	assert_int_equal(store_outbox_defer_all(st, 90000000, "quota", &err),
	    0);
	assert_int_equal(store_outbox_due(st, 95000000, 0, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].id, ids[0]);
	outbox_msgs_free(m, n);

	/* an empty template is refused */
	assert_int_equal(store_outbox_add(st, "w", "", 1, &err), -1);
	assert_non_null(strstr(err.msg, "kakaowatch.db"));
	store_close(st);
}

static void
test_store_outbox_ids_are_not_reused(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct outbox_msg *m;
	struct store *st = open_ok(f);
	int64_t first;
	size_t n;

	assert_int_equal(store_outbox_add(st, "w", "{\"n\":1}", 1, &err), 0);
	assert_int_equal(store_outbox_due(st, 1, 0, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	first = m[0].id;
	outbox_msgs_free(m, n);
	assert_int_equal(store_outbox_delete(st, first, &err), 0);
	assert_int_equal(store_outbox_add(st, "w", "{\"n\":2}", 2, &err), 0);
	assert_int_equal(store_outbox_due(st, 2, 0, &m, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(m[0].id > first);
	outbox_msgs_free(m, n);
	store_close(st);
}

static void
test_store_counts_sent_messages_per_day(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct outbox_msg *m;
	struct store *st = open_ok(f);
	int64_t count;
	size_t n, i;

	for (i = 0; i < 3; i++)
		assert_int_equal(store_outbox_add(st, "w", "{}", 1, &err), 0);
	assert_int_equal(store_outbox_due(st, 1, 0, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(
	    store_outbox_delete_sent(st, m[0].id, "2026-11-23", &err), 0);
	assert_int_equal(
	    store_outbox_delete_sent(st, m[1].id, "2026-11-23", &err), 0);
	assert_int_equal(
	    store_outbox_delete_sent(st, m[2].id, "2026-11-24", &err), 0);
	outbox_msgs_free(m, n);

	assert_int_equal(outbox_count(st), 0);
	assert_int_equal(store_sent_count(st, "2026-11-23", &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_sent_count(st, "2026-11-24", &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_sent_count(st, "2026-11-25", &count, &err), 0);
	assert_int_equal(count, 0);
	store_close(st);
}

static void
test_store_trims_old_history(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct item_list items, added;
	struct history_entry *h;
	struct store_check c = { .name = "news",
		.items = &items,
		.added = &added };
	struct store *st = open_ok(f);
	char day[16];
	int64_t count;
	size_t n;
	int i;

	item_list_init(&items);
	item_list_init(&added);
	add(&items, "old", NULL);
	add(&added, "old", NULL);
	c.at = 1000;
	record_ok(st, &c);
	item_list_release(&items);
	item_list_release(&added);
	add(&items, "new", NULL);
	add(&added, "new", NULL);
	c.at = 5000;
	record_ok(st, &c);

	/* 70 days of counters: only the newest 62 survive a trim */
	for (i = 1; i <= 70; i++) {
		snprintf(day, sizeof(day), "2026-%02d-%02d", 1 + (i - 1) / 28,
		    1 + (i - 1) % 28);
		/* counted even when the message row is gone already */
		assert_int_equal(
		    store_outbox_delete_sent(st, 1000 + i, day, &err), 0);
	}

	assert_int_equal(store_history_trim(st, 3000, &err), 0);
	history_read(f, "news", &h, &n);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].text, "new");
	assert_false(h[0].removed);
	history_free(h, n);

	assert_int_equal(store_sent_count(st, "2026-01-01", &count, &err), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_sent_count(st, "2026-01-08", &count, &err), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_sent_count(st, "2026-01-09", &count, &err), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_sent_count(st, "2026-03-14", &count, &err), 0);
	assert_int_equal(count, 1);

	item_list_release(&items);
	item_list_release(&added);
	store_close(st);
}

static void
test_store_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct item_list items, snap;
	struct watch_state ws;
	struct store_check c = { .name = "big",
		.at = 42,
		.items = &items,
		.etag = "e" };
	struct store *st = open_ok(f);
	char text[64];
	int64_t hb;
	size_t i;

	item_list_init(&items);
	for (i = 0; i < 10000; i++) {
		snprintf(text, sizeof(text), "item %zu", i);
		add(&items, text, i % 2 ? "https://x/" : NULL);
	}
	/* bytes that are not UTF-8 are kept as they are */
	add(&items, "bad \xff\xfe utf-8 \xc3", "https://x/\xe2\x82");
	record_ok(st, &c);
	baseline(st);
	assert_int_equal(store_outbox_add(st, "big", "{\"a\":1}", 42, &err), 0);
	assert_int_equal(store_heartbeat(st, 123456, &err), 0);
	store_close(st);

	st = open_ok(f);
	state_get(st, "big", &ws);
	assert_true(ws.known);
	assert_int_equal(ws.item_count, 10001);
	assert_string_equal(ws.etag, "e");
	watch_state_release(&ws);
	snapshot_get(st, "big", &snap);
	assert_int_equal(snap.n, items.n);
	for (i = 0; i < snap.n; i++)
		assert_true(item_equal(&snap.v[i], &items.v[i]));
	item_list_release(&snap);
	assert_baseline_snapshot(st);
	assert_int_equal(outbox_count(st), 1);
	assert_int_equal(store_heartbeat_get(st, &hb, &err), 0);
	assert_int_equal(hb, 123456);
	store_close(st);
	item_list_release(&items);
}

static void
test_store_keeps_meta_values(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct store *st = open_ok(f);
	char *v;
	int64_t hb;

	assert_int_equal(store_meta_get(st, "token.last_refresh", &v, &err), 0);
	assert_null(v);
	assert_int_equal(store_heartbeat_get(st, &hb, &err), 0);
	assert_int_equal(hb, 0);
	assert_int_equal(store_meta_set(st, "token.last_refresh", "17", &err),
	    0);
	assert_int_equal(store_meta_set(st, "token.last_refresh", "18", &err),
	    0);
	assert_int_equal(store_meta_get(st, "token.last_refresh", &v, &err), 0);
	assert_string_equal(v, "18");
	free(v);
	assert_int_equal(store_meta_set(st, "token.last_refresh", NULL, &err),
	    0);
	assert_int_equal(store_meta_get(st, "token.last_refresh", &v, &err), 0);
	assert_null(v);
	store_close(st);
}

static void
test_store_forgets_watches_gone_from_the_config(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct item_list items, added, snap;
	struct history_entry *h;
	struct watch_state ws;
	struct store_check c = { .name = "news",
		.at = 1,
		.items = &items,
		.added = &added };
	const char *keep[] = { "alpha", "never" };
	struct store *st = open_ok(f);
	size_t n, forgot = 9;

	item_list_init(&items);
	item_list_init(&added);
	add(&items, "x", NULL);
	add(&added, "x", NULL);
	record_ok(st, &c);
	assert_int_equal(store_watch_set_next_check(st, "alpha", 777, &err), 0);
	assert_int_equal(store_outbox_add(st, "news", "{}", 1, &err), 0);

	assert_string_equal(watch_rows(f), "alpha news");
	state_get(st, "alpha", &ws);
	assert_true(ws.known);
	assert_false(ws.baselined);
	assert_int_equal(ws.next_check_at, 777);
	watch_state_release(&ws);

	/* "alpha" is configured (never checked), "never" has no row */
	assert_int_equal(store_forget_gone(st, keep, 2, 1000, &forgot, &err),
	    0);
	assert_int_equal(forgot, 1);
	assert_string_equal(watch_rows(f), "alpha");
	state_get(st, "news", &ws);
	assert_false(ws.known);
	watch_state_release(&ws);
	snapshot_get(st, "news", &snap);
	assert_int_equal(snap.n, 0);
	history_read(f, "news", &h, &n);
	assert_int_equal(n, 0);
	history_free(h, n);
	/* its unsent message is still delivered */
	assert_int_equal(outbox_count(st), 1);

	item_list_release(&items);
	item_list_release(&added);
	store_close(st);
}

static void
test_store_refuses_a_second_process_and_survives_kill(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct watch_state ws;
	struct store *st, *ro;
	char expect[512], c;
	int ready[2], hold[2], status;
	pid_t pid;

	/* hold: never written; the child leaves when it reads EOF, so it
	 * cannot outlive this test program even if an assertion fails */
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the "daemon": commit, report, then wait to be killed */
		close(ready[0]);
		close(hold[1]);
		st = store_open(f->state_dir, NULL);
		if (st == NULL)
			_exit(2);
		baseline(st);
		if (store_outbox_add(st, "news", "{\"k\":1}", 5, NULL) != 0)
			_exit(3);
		if (write(ready[1], "r", 1) != 1)
			_exit(4);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			continue;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);

	st = store_open(f->state_dir, &err);
	assert_null(st);
	snprintf(expect, sizeof(expect),
	    "another kakaowatch (pid %ld) is using %s; stop it first",
	    (long)pid, f->state_dir);
	assert_string_equal(err.msg, expect);

	/* status still reads while the daemon runs */
	kw_err_clear(&err);
	ro = store_open_readonly(f->state_dir, &err);
	if (ro == NULL)
		fail_msg("store_open_readonly: %s", err.msg);
	state_get(ro, "news", &ws);
	assert_true(ws.baselined);
	watch_state_release(&ws);
	assert_int_equal(outbox_count(ro), 1);
	/* and cannot write */
	assert_int_equal(store_outbox_add(ro, NULL, "{}", 1, &err), -1);
	assert_non_null(strstr(err.msg, "readonly"));
	store_close(ro);

	/* kill -9: the lock dies with the process, committed data stays */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(hold[1]);
	st = open_ok(f);
	assert_baseline_snapshot(st);
	assert_int_equal(outbox_count(st), 1);
	store_close(st);
}

static void
test_store_readonly_open_fails_clearly_without_database(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };

	assert_null(store_open_readonly(f->state_dir, &err));
	assert_non_null(strstr(err.msg, "no state database at"));
	assert_non_null(strstr(err.msg, f->state_dir));
	/* and it created nothing */
	assert_int_equal(access(f->state_dir, F_OK), -1);
}

static void
test_store_readonly_open_works_after_a_clean_close(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct store *st = open_ok(f);
	struct watch_state ws;

	baseline(st);
	store_close(st);
	st = store_open_readonly(f->state_dir, &err);
	if (st == NULL)
		fail_msg("store_open_readonly: %s", err.msg);
	state_get(st, "news", &ws);
	assert_int_equal(ws.item_count, 2);
	watch_state_release(&ws);
	store_close(st);
}

static void
test_store_refuses_a_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	struct store *st = open_ok(f);
	sqlite3 *db;

	store_close(st);
	assert_int_equal(sqlite3_open(in_state(f, "kakaowatch.db"), &db),
	    SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_null(store_open(f->state_dir, &err));
	assert_non_null(strstr(err.msg, "schema version 99"));
	assert_non_null(strstr(err.msg, "upgrade kakaowatch"));
	kw_err_clear(&err);
	assert_null(store_open_readonly(f->state_dir, &err));
	assert_non_null(strstr(err.msg, "schema version 99"));
}

/* a keyed item list: key i is "k:" + texts' index */
static void
add_keyed(struct item_list *l, const char *text, const char *link,
    const char *key)
{
	add(l, text, link);
	l->v[l->n - 1].key = strdup(key);
	assert_non_null(l->v[l->n - 1].key);
}

static void
test_store_remembers_seen_keys_with_the_snapshot(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	struct store_check c = { 0 };
	struct item_list items, edited, got, snap, empty;
	struct seen_entry *v;
	struct watch_state ws;
	struct kw_err err = { 0 };
	int64_t n;
	size_t nv;

	item_list_init(&empty);
	item_list_init(&items);
	add_keyed(&items, "특가 [3]", "https://b.example/?no=1", "link:1");
	add_keyed(&items, "공지", NULL, "text+link:공지\x1f");
	c.name = "board";
	c.url = "https://b.example/";
	c.xpath = "//a";
	c.at = 1000;
	c.items = &items;
	c.seen = &items;
	c.key_spec = "link";
	record_ok(st, &c);
	state_get(st, "board", &ws);
	assert_string_equal(ws.key_spec, "link");
	watch_state_release(&ws);
	/* the snapshot keeps the keys */
	snapshot_get(st, "board", &snap);
	assert_int_equal(snap.n, 2);
	assert_string_equal(snap.v[0].key, "link:1");
	item_list_release(&snap);

	/* an edit: last text and last_seen move, first_seen stays; the
	 * changed item goes to history as an edit */
	free(items.v[0].text);
	items.v[0].text = strdup("특가 (마감) [4]");
	item_list_init(&edited);
	add_keyed(&edited, "특가 (마감) [4]", "https://b.example/?no=1",
	    "link:1");
	c.at = 2000 + 3600 * 1000;
	c.changed = &edited;
	c.key_spec = NULL; /* leaves it */
	record_ok(st, &c);
	assert_int_equal(store_seen_lookup(st, "board", &items, &got, &err), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.v[0].key, "link:1");
	assert_string_equal(got.v[0].text, "특가 (마감) [4]");
	assert_null(got.v[1].link);
	item_list_release(&got);
	assert_int_equal(store_seen_all(st, "board", 0, &v, &nv, &err), 0);
	assert_int_equal(nv, 2);
	assert_int_equal(v[0].first_seen, 1000);
	assert_int_equal(v[0].last_seen, 2000 + 3600 * 1000);
	seen_entries_free(v, nv);
	state_get(st, "board", &ws);
	assert_string_equal(ws.key_spec, "link");
	assert_true(ws.last_change_at == c.at);
	watch_state_release(&ws);
	{
		struct history_entry *h;
		size_t nh;

		history_read(f, "board", &h, &nh);
		assert_int_equal(nh, 1);
		assert_true(h[0].edited);
		assert_false(h[0].removed);
		assert_string_equal(h[0].text, "특가 (마감) [4]");
		history_free(h, nh);
	}

	/* unknown keys are not found; items without a key are skipped */
	item_list_release(&items);
	item_list_init(&items);
	add_keyed(&items, "new", "https://b.example/?no=9", "link:9");
	add(&items, "unkeyed", NULL);
	assert_int_equal(store_seen_lookup(st, "board", &items, &got, &err), 0);
	assert_int_equal(got.n, 0);
	item_list_release(&got);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 2);

	/* trimmed with the history: keys last seen before the cut go,
	 * except those on the page now (the snapshot) */
	assert_int_equal(store_history_trim(st, 2000 + 3600 * 1000, &err), 0);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_history_trim(st, 2001 + 3600 * 1000, &err), 0);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 2);
	c.items = &empty;
	c.seen = NULL;
	c.at = 3000 + 3600 * 1000;
	record_ok(st, &c); /* the page is empty now */
	assert_int_equal(store_history_trim(st, 2001 + 3600 * 1000, &err), 0);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 0);
	c.items = &items;
	c.seen = &items;
	/* and forgotten with the watch */
	c.changed = NULL;
	c.at = 5000 + 3600 * 1000;
	record_ok(st, &c);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_forget_gone(st, NULL, 0, INT64_MAX, NULL, &err),
	    0);
	assert_int_equal(store_seen_count(st, "board", &n, &err), 0);
	assert_int_equal(n, 0);
	item_list_release(&items);
	item_list_release(&edited);
	store_close(st);
}

static void
test_store_rekey_merges_and_the_cap_keeps_the_newest(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	struct store_check c = { 0 };
	struct item_list items, got;
	struct seen_entry re[3];
	struct kw_err err = { 0 };
	char key[32], text[32];
	int64_t n;
	size_t i;

	/* two old keys of one post ("[3]" and "[4]" under text+link) become
	 * one key: earliest first_seen, latest last_seen and its text */
	memset(re, 0, sizeof(re));
	re[0] = (struct seen_entry){ .key = "link:1",
		.text = "a [3]",
		.link = "https://b/1",
		.first_seen = 10,
		.last_seen = 20 };
	re[1] = (struct seen_entry){ .key = "link:1",
		.text = "a [4]",
		.link = "https://b/1",
		.first_seen = 15,
		.last_seen = 30 };
	re[2] = (struct seen_entry){ .key = "link:2",
		.text = "b",
		.link = "https://b/2",
		.first_seen = 5,
		.last_seen = 6 };
	item_list_init(&items);
	c.name = "w";
	c.at = 100;
	c.items = &items;
	c.rekey = re;
	c.nrekey = 3;
	c.rekeyed = true;
	c.key_spec = "link";
	record_ok(st, &c);
	assert_int_equal(store_seen_count(st, "w", &n, &err), 0);
	assert_int_equal(n, 2);
	add_keyed(&items, "x", NULL, "link:1");
	assert_int_equal(store_seen_lookup(st, "w", &items, &got, &err), 0);
	assert_string_equal(got.v[0].text, "a [4]");
	item_list_release(&got);
	item_list_release(&items);

	/* the cap: STORE_SEEN_MAX_PER_WATCH + 5 keys, the 5 least recently
	 * seen go */
	c.rekeyed = false;
	c.rekey = NULL;
	c.nrekey = 0;
	item_list_init(&items);
	for (i = 0; i < STORE_SEEN_MAX_PER_WATCH + 3; i++) {
		snprintf(key, sizeof(key), "k:%zu", i);
		snprintf(text, sizeof(text), "t%zu", i);
		add_keyed(&items, text, NULL, key);
	}
	c.at = 200;
	c.items = &items;
	c.seen = &items;
	record_ok(st, &c);
	assert_int_equal(store_seen_count(st, "w", &n, &err), 0);
	assert_int_equal(n, STORE_SEEN_MAX_PER_WATCH);
	item_list_release(&items);
	item_list_init(&items);
	add_keyed(&items, "x", NULL, "link:1");
	add_keyed(&items, "y", NULL, "link:2");
	add_keyed(&items, "z", NULL, "k:7");
	assert_int_equal(store_seen_lookup(st, "w", &items, &got, &err), 0);
	assert_int_equal(got.n, 1); /* link:1 and link:2 were oldest */
	assert_string_equal(got.v[0].key, "k:7");
	item_list_release(&got);
	item_list_release(&items);
	store_close(st);
}

static void
test_store_rejects_a_file_that_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	struct kw_err err = { 0 };
	int fd;

	assert_int_equal(mkdir(f->state_dir, 0700), 0);
	fd = open(in_state(f, "kakaowatch.db"), O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_true(write(fd,
			"this is not sqlite, just some text ......."
			"...............................................",
			90) == 90);
	close(fd);
	assert_null(store_open(f->state_dir, &err));
	assert_non_null(strstr(err.msg, "kakaowatch.db"));
	assert_non_null(strstr(err.msg, "not a database"));
}

/*
 * History is bounded: an item's text is kept to its first 200 bytes (cut
 * between UTF-8 characters) with a hash of the whole item, and a watch
 * keeps its newest STORE_HISTORY_PER_WATCH rows however many changes it
 * sees; watches gone from the configuration go after history_days.
 */
static void
test_store_history_is_bounded_per_watch(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f);
	struct history_entry *h = NULL;
	struct item_list added;
	struct kw_err err = { 0 };
	char text[1200];
	size_t n = 0, i, forgot = 0;
	const char *keep[] = { "news" };
	struct store_check c = {
		.name = "news",
		.url = "https://news.example/",
		.xpath = "//h2/a",
	};

	/* 600 changes of one item of 1000 bytes ("한" is 3 bytes) */
	for (i = 0; i < 600; i++) {
		snprintf(text, sizeof(text), "%zu ", i);
		while (strlen(text) + 3 < 1000)
			strcat(text, "\xed\x95\x9c");
		item_list_init(&added);
		add(&added, text, "https://news.example/x");
		c.at = 1000 + (int64_t)i;
		c.added = &added;
		record_ok(st, &c);
		item_list_release(&added);
	}
	history_read(f, "news", &h, &n);
	assert_int_equal(n, STORE_HISTORY_PER_WATCH);
	assert_true(strncmp(h[0].text, "599 ", 4) == 0);
	for (i = 0; i < n; i++) {
		assert_true(strlen(h[i].text) <= 200);
		/* whole characters only */
		assert_int_equal((strlen(h[i].text) - strlen("599 ")) % 3, 0);
	}
	history_free(h, n);

	/* another watch, last checked at 1000, gone from the config */
	c.name = "old";
	c.at = 1000;
	c.added = NULL;
	record_ok(st, &c);
	assert_int_equal(store_forget_gone(st, keep, 1, 500, &forgot, &err), 0);
	assert_int_equal(forgot, 0); /* not gone long enough */
	assert_int_equal(store_forget_gone(st, keep, 1, 5000, &forgot, &err),
	    0);
	assert_int_equal(forgot, 1);
	history_read(f, "news", &h, &n);
	assert_int_equal(n, STORE_HISTORY_PER_WATCH); /* kept: configured */
	history_free(h, n);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_store_history_is_bounded_per_watch),
		T(test_store_creates_private_files),
		T(test_store_tightens_an_open_database_mode),
		T(test_store_unknown_watch_has_no_state),
		T(test_store_records_baseline_then_change),
		T(test_store_clamp_brings_times_set_ahead_of_the_clock_back),
		T(test_store_failed_check_keeps_snapshot_and_validators),
		T(test_store_not_modified_keeps_snapshot),
		T(test_store_snapshot_follows_every_new_item_list),
		T(test_store_empty_snapshot_is_a_baseline),
		T(test_store_check_is_atomic_when_a_message_is_empty),
		T(test_store_check_is_atomic_when_a_message_is_null),
		T(test_store_outbox_is_fifo_with_defer_and_delete),
		T(test_store_outbox_ids_are_not_reused),
		T(test_store_counts_sent_messages_per_day),
		T(test_store_trims_old_history),
		T(test_store_reopen_keeps_everything),
		T(test_store_keeps_meta_values),
		T(test_store_forgets_watches_gone_from_the_config),
		T(test_store_refuses_a_second_process_and_survives_kill),
		T(test_store_readonly_open_fails_clearly_without_database),
		T(test_store_readonly_open_works_after_a_clean_close),
		T(test_store_refuses_a_newer_schema),
		T(test_store_rejects_a_file_that_is_not_a_database),
		T(test_store_remembers_seen_keys_with_the_snapshot),
		T(test_store_rekey_merges_and_the_cap_keeps_the_newest),
#undef T
	};

	log_init(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
