/*
 * store: the SQLite state database (see store.h). All SQL of kakaowatch
 * lives in this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kakaowatch/log.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

#define STORE_DB_NAME "kakaowatch.db"
#define STORE_LOCK_NAME "kakaowatch.lock"
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_SENT_DAYS_KEPT 62
#define STORE_META_HEARTBEAT "kw.heartbeat_at"
/* the seen set's last_seen is refreshed at most this often (no write per
 * check for a page that stays the same) */
#define STORE_SEEN_TOUCH_MS (3600LL * 1000)
/* history keeps this much of an item's text (bytes, cut between UTF-8
 * characters) and links up to STORE_HISTORY_LINK_MAX bytes; the hash of
 * the whole item tells items apart */
#define STORE_HISTORY_TEXT_MAX 200
#define STORE_HISTORY_LINK_MAX 1024

/*
 * Schema migrations: migrations[i] takes a database from user_version i to
 * i + 1. Append, never edit a released step; bump STORE_SCHEMA_VERSION.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema */
	"CREATE TABLE watch ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" url TEXT,"
	" xpath TEXT,"
	" etag TEXT,"
	" last_modified TEXT,"
	" last_error TEXT,"
	" last_check_at INTEGER NOT NULL DEFAULT 0,"
	" last_success_at INTEGER NOT NULL DEFAULT 0,"
	" last_change_at INTEGER NOT NULL DEFAULT 0,"
	" retry_after_until INTEGER NOT NULL DEFAULT 0,"
	" next_check_at INTEGER NOT NULL DEFAULT 0,"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" failing_notified INTEGER NOT NULL DEFAULT 0,"
	" baselined INTEGER NOT NULL DEFAULT 0,"
	" item_count INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE snapshot_item ("
	" watch TEXT NOT NULL REFERENCES watch(name) ON DELETE CASCADE,"
	" pos INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" link TEXT,"
	" PRIMARY KEY (watch, pos)"
	") WITHOUT ROWID;"
	"CREATE TABLE history ("
	" id INTEGER PRIMARY KEY,"
	" watch TEXT NOT NULL REFERENCES watch(name) ON DELETE CASCADE,"
	" at INTEGER NOT NULL,"
	" removed INTEGER NOT NULL CHECK (removed IN (0, 1)),"
	" text TEXT NOT NULL,"
	" link TEXT"
	");"
	"CREATE INDEX history_watch_at ON history(watch, at);"
	"CREATE INDEX history_at ON history(at);"
	"CREATE TABLE outbox ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" watch TEXT,"
	" template_json TEXT NOT NULL CHECK (length(template_json) > 0),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL,"
	" next_attempt_at INTEGER NOT NULL,"
	" last_error TEXT"
	");"
	"CREATE INDEX outbox_next_attempt ON outbox(next_attempt_at);"
	"CREATE TABLE sent_day ("
	" day TEXT PRIMARY KEY NOT NULL,"
	" n INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE meta ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL"
	") WITHOUT ROWID;",
	/* 1 -> 2: the URL a Retry-After was asked of (a new url clears it);
	 * history keeps a hash of each item and a short text */
	"ALTER TABLE watch ADD COLUMN retry_after_url TEXT;"
	"ALTER TABLE history ADD COLUMN hash TEXT;"
	"UPDATE history SET text = substr(text, 1, 200)"
	" WHERE length(text) > 200;"
	"UPDATE history SET link = NULL WHERE length(link) > 1024;",
	/*
	 * 2 -> 3: item keys and the memory of seen items (store.h). The seen
	 * set is seeded from the snapshots and the history, keyed the way
	 * 0.1 told items apart (text + link) under a "legacy:" prefix, and
	 * key_spec NULL says so: each watch's first check re-keys them with
	 * its key settings (check.c), so nothing 0.1 already reported is new.
	 */
	"CREATE TABLE seen ("
	" watch TEXT NOT NULL REFERENCES watch(name) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" link TEXT,"
	" PRIMARY KEY (watch, key)"
	") WITHOUT ROWID;"
	"CREATE INDEX seen_watch_last ON seen(watch, last_seen);"
	"CREATE INDEX seen_last ON seen(last_seen);"
	"ALTER TABLE watch ADD COLUMN key_spec TEXT;"
	"ALTER TABLE snapshot_item ADD COLUMN key TEXT;"
	"CREATE INDEX snapshot_item_key ON snapshot_item(watch, key);"
	"ALTER TABLE history ADD COLUMN edited INTEGER NOT NULL DEFAULT 0"
	" CHECK (edited IN (0, 1));"
	"INSERT OR IGNORE INTO seen(watch, key, first_seen, last_seen, text,"
	" link)"
	" SELECT watch, 'legacy:' || text || char(31) || coalesce(link, ''),"
	" min(at), max(at), text, link FROM ("
	"  SELECT watch, text, link, at FROM history"
	"  UNION ALL"
	"  SELECT s.watch, s.text, s.link, w.last_success_at"
	"  FROM snapshot_item s JOIN watch w ON w.name = s.watch"
	" ) GROUP BY watch, text, link;",
	/*
	 * 3 -> 4: how long each message's wait was when it was set (ms), so
	 * that after the wall clock stepped back no message waits longer
	 * than that from now (store_outbox_clamp). A message never tried
	 * nor deferred waited 0; any other row's wait is unknown (NULL) and
	 * only the coarse bound of store_outbox_clamp applies to it.
	 */
	"ALTER TABLE outbox ADD COLUMN wait_ms INTEGER;"
	"UPDATE outbox SET wait_ms = 0"
	" WHERE attempts = 0 AND next_attempt_at <= created_at;",
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION,
    "one migration per schema version");

/* statements prepared once per handle (SQLITE_PREPARE_PERSISTENT) */
enum stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_WATCH_GET,
	STMT_WATCH_ENSURE,
	STMT_WATCH_SUCCESS,
	STMT_WATCH_FAILURE,
	STMT_WATCH_SNAPSHOT,
	STMT_WATCH_NEXT,
	STMT_WATCH_NAMES,
	STMT_SNAPSHOT_GET,
	STMT_SNAPSHOT_CLEAR,
	STMT_SNAPSHOT_ADD,
	STMT_HISTORY_ADD,
	STMT_HISTORY_TRIM,
	STMT_HISTORY_CAP,
	STMT_WATCH_FORGET_GONE,
	STMT_SENT_TRIM,
	STMT_SENT_INC,
	STMT_SENT_GET,
	STMT_OUTBOX_ADD,
	STMT_OUTBOX_ADD_AT,
	STMT_WATCH_CLAMP,
	STMT_OUTBOX_DUE,
	STMT_OUTBOX_DELETE,
	STMT_OUTBOX_DEFER,
	STMT_OUTBOX_DEFER_ALL,
	STMT_OUTBOX_CLAMP,
	STMT_OUTBOX_STATS,
	STMT_OUTBOX_HOLD,
	STMT_OUTBOX_RELEASE,
	STMT_OUTBOX_RELEASE_WHY,
	STMT_OUTBOX_FOLD,
	STMT_META_GET,
	STMT_META_SET,
	STMT_META_DEL,
	STMT_WATCH_KEY_SPEC,
	STMT_SEEN_GET,
	STMT_SEEN_ALL,
	STMT_SEEN_CLEAR,
	STMT_SEEN_PUT,
	STMT_SEEN_RESTORE,
	STMT_SEEN_COUNT,
	STMT_SEEN_CAP,
	STMT_SEEN_TRIM,
	STMT_META_LIST,
	STMT_COUNT
};

/*
 * The SQL of each statement, one [STMT_X] = line and its text below it.
 * clang-format 14 would pull the text up beside the '=' wherever its first
 * piece fits there and line the rest up under it, so the table is laid out
 * by hand.
 */
/* clang-format off */
static const char *const stmt_sql[STMT_COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_WATCH_GET] =
	    "SELECT url, xpath, etag, last_modified, last_error,"
	    " last_check_at, last_success_at, last_change_at,"
	    " retry_after_until, next_check_at, failures, failing_notified,"
	    " baselined, item_count, retry_after_url, key_spec FROM watch"
	    " WHERE name = ?1",
	[STMT_WATCH_ENSURE] =
	    "INSERT INTO watch(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
	[STMT_WATCH_SUCCESS] =
	    "UPDATE watch SET url = ?2, xpath = ?3, etag = ?4,"
	    " last_modified = ?5, last_check_at = ?6, last_success_at = ?6,"
	    " last_change_at = CASE WHEN ?7 THEN ?6 ELSE last_change_at END,"
	    " failures = 0, last_error = NULL, retry_after_until = ?8,"
	    " next_check_at = ?9, failing_notified = ?10,"
	    " retry_after_url = CASE WHEN ?8 > 0 THEN ?2 END WHERE name = ?1",
	[STMT_WATCH_FAILURE] =
	    "UPDATE watch SET last_check_at = ?2, failures = failures + 1,"
	    " last_error = ?3, retry_after_until = ?4, next_check_at = ?5,"
	    " failing_notified = ?6,"
	    " retry_after_url = CASE WHEN ?4 > 0 THEN ?7 END WHERE name = ?1",
	[STMT_WATCH_SNAPSHOT] =
	    "UPDATE watch SET baselined = 1, item_count = ?2 WHERE name = ?1",
	[STMT_WATCH_NEXT] =
	    "UPDATE watch SET next_check_at = ?2 WHERE name = ?1",
	[STMT_WATCH_NAMES] = "SELECT name FROM watch ORDER BY name",
	[STMT_SNAPSHOT_GET] =
	    "SELECT text, link, key FROM snapshot_item WHERE watch = ?1"
	    " ORDER BY pos",
	[STMT_SNAPSHOT_CLEAR] =
	    "DELETE FROM snapshot_item WHERE watch = ?1 AND pos >= ?2",
	[STMT_SNAPSHOT_ADD] =
	    "INSERT INTO snapshot_item(watch, pos, text, link, key)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(watch, pos) DO UPDATE"
	    " SET text = excluded.text, link = excluded.link,"
	    " key = excluded.key",
	[STMT_HISTORY_ADD] =
	    "INSERT INTO history(watch, at, removed, text, link, hash,"
	    " edited) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_HISTORY_CAP] =
	    "DELETE FROM history WHERE watch = ?1 AND id <= (SELECT id FROM"
	    " history WHERE watch = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
	[STMT_WATCH_FORGET_GONE] =
	    "DELETE FROM watch WHERE name = ?1 AND last_check_at < ?2",
	[STMT_HISTORY_TRIM] = "DELETE FROM history WHERE at < ?1",
	[STMT_SENT_TRIM] =
	    "DELETE FROM sent_day WHERE day NOT IN"
	    " (SELECT day FROM sent_day ORDER BY day DESC LIMIT ?1)",
	[STMT_SENT_INC] =
	    "INSERT INTO sent_day(day, n) VALUES (?1, 1)"
	    " ON CONFLICT(day) DO UPDATE SET n = n + 1",
	[STMT_SENT_GET] = "SELECT n FROM sent_day WHERE day = ?1",
	[STMT_OUTBOX_ADD] =
	    "INSERT INTO outbox(watch, template_json, created_at,"
	    " next_attempt_at, wait_ms) VALUES (?1, ?2, ?3, ?3, 0)",
	[STMT_OUTBOX_ADD_AT] =
	    "INSERT INTO outbox(watch, template_json, created_at,"
	    " next_attempt_at, wait_ms) VALUES (?1, ?2, ?3, ?4,"
	    " max(?4 - ?3, 0))",
	[STMT_OUTBOX_DUE] =
	    "SELECT id, watch, template_json, attempts, created_at,"
	    " next_attempt_at, last_error FROM outbox"
	    " WHERE next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
	[STMT_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
	[STMT_OUTBOX_DEFER] =
	    "UPDATE outbox SET attempts = attempts + 1,"
	    " next_attempt_at = ?2, last_error = ?3, wait_ms = max(?2 - ?4, 0)"
	    " WHERE id = ?1",
	/* every SET reads the row as it was. A hold until a time of day
	 * has no length: only the `latest` bound of STMT_OUTBOX_CLAMP (the
	 * next 00:00 KST from now) applies to the rows it moves */
	[STMT_OUTBOX_DEFER_ALL] =
	    "UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?1),"
	    " wait_ms = CASE WHEN ?1 >= next_attempt_at THEN NULL"
	    " ELSE wait_ms END, last_error = ?2",
	/*
	 * ?1 latest, ?2 now: due no later than now + its own wait, and a
	 * time beyond `latest` (a wait the clock made up) is now. v is
	 * min(next_attempt_at, ?2 + wait_ms) (next_attempt_at when the wait
	 * is unknown).
	 */
	[STMT_OUTBOX_CLAMP] =
	    "UPDATE outbox SET next_attempt_at = CASE"
	    " WHEN min(next_attempt_at, ?2 + coalesce(wait_ms,"
	    "  next_attempt_at - ?2)) > ?1 THEN ?2"
	    " ELSE min(next_attempt_at, ?2 + coalesce(wait_ms,"
	    "  next_attempt_at - ?2)) END"
	    " WHERE next_attempt_at > ?1"
	    " OR (wait_ms IS NOT NULL AND next_attempt_at > ?2 + wait_ms)",
	/* a check recorded "in the future" (the clock stepped back since):
	 * its Retry-After and next check move back with it, keeping their
	 * length from the check */
	[STMT_WATCH_CLAMP] =
	    "UPDATE watch SET"
	    " retry_after_until = CASE WHEN retry_after_until > 0"
	    "  THEN max(retry_after_until - (last_check_at - ?1), 1) ELSE 0 END,"
	    " next_check_at = CASE WHEN next_check_at > 0"
	    "  THEN max(next_check_at - (last_check_at - ?1), 1) ELSE 0 END,"
	    " last_check_at = ?1"
	    " WHERE last_check_at > ?1",
	[STMT_OUTBOX_STATS] =
	    "SELECT count(*), coalesce(min(created_at), 0),"
	    " coalesce(min(next_attempt_at), -1) FROM outbox",
	[STMT_OUTBOX_HOLD] =
	    "UPDATE outbox SET next_attempt_at = max(next_attempt_at, ?2),"
	    " wait_ms = CASE WHEN ?2 >= next_attempt_at THEN NULL"
	    " ELSE wait_ms END, last_error = ?3 WHERE id = ?1",
	[STMT_OUTBOX_RELEASE] =
	    "UPDATE outbox SET next_attempt_at = ?2, last_error = NULL"
	    " WHERE id = ?1 AND next_attempt_at > ?2",
	[STMT_OUTBOX_RELEASE_WHY] =
	    "UPDATE outbox SET next_attempt_at = ?1, last_error = NULL"
	    " WHERE next_attempt_at > ?1 AND substr(last_error, 1,"
	    " length(?2)) = ?2",
	[STMT_OUTBOX_FOLD] =
	    "UPDATE outbox SET watch = ?2, template_json = ?3,"
	    " last_error = NULL WHERE id = ?1",
	[STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[STMT_META_SET] =
	    "INSERT INTO meta(key, value) VALUES (?1, ?2)"
	    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[STMT_META_DEL] = "DELETE FROM meta WHERE key = ?1",
	[STMT_WATCH_KEY_SPEC] =
	    "UPDATE watch SET key_spec = ?2 WHERE name = ?1",
	[STMT_SEEN_GET] =
	    "SELECT text, link FROM seen WHERE watch = ?1 AND key = ?2",
	[STMT_SEEN_ALL] =
	    "SELECT key, first_seen, last_seen, text, link FROM seen"
	    " WHERE watch = ?1 ORDER BY last_seen DESC, first_seen DESC"
	    " LIMIT ?2",
	[STMT_SEEN_CLEAR] = "DELETE FROM seen WHERE watch = ?1",
	/* new keys are inserted; a known one is rewritten only when its text
	 * or link changed or last_seen is over STORE_SEEN_TOUCH_MS old */
	[STMT_SEEN_PUT] =
	    "INSERT INTO seen(watch, key, first_seen, last_seen, text, link)"
	    " VALUES (?1, ?2, ?3, ?3, ?4, ?5) ON CONFLICT(watch, key)"
	    " DO UPDATE SET last_seen = excluded.last_seen,"
	    " text = excluded.text, link = excluded.link"
	    " WHERE seen.last_seen < excluded.last_seen - ?6"
	    " OR seen.text IS NOT excluded.text"
	    " OR seen.link IS NOT excluded.link",
	[STMT_SEEN_RESTORE] =
	    "INSERT INTO seen(watch, key, first_seen, last_seen, text, link)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(watch, key)"
	    " DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),"
	    " last_seen = max(last_seen, excluded.last_seen),"
	    " text = CASE WHEN excluded.last_seen >= seen.last_seen"
	    " THEN excluded.text ELSE seen.text END,"
	    " link = CASE WHEN excluded.last_seen >= seen.last_seen"
	    " THEN excluded.link ELSE seen.link END",
	[STMT_SEEN_COUNT] = "SELECT count(*) FROM seen WHERE watch = ?1",
	/* keeps the newest STORE_SEEN_MAX_PER_WATCH (by last_seen) */
	[STMT_SEEN_CAP] =
	    "DELETE FROM seen WHERE watch = ?1 AND key IN (SELECT key FROM"
	    " seen WHERE watch = ?1 ORDER BY last_seen DESC, first_seen DESC,"
	    " key DESC LIMIT -1 OFFSET ?2)",
	/* what is on a page now is never forgotten, whatever the clock says */
	[STMT_SEEN_TRIM] =
	    "DELETE FROM seen WHERE last_seen < ?1 AND NOT EXISTS (SELECT 1"
	    " FROM snapshot_item s WHERE s.watch = seen.watch"
	    " AND s.key = seen.key)",
	[STMT_META_LIST] =
	    "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1"
	    " ORDER BY key",
};
/* clang-format on */

struct store {
	sqlite3 *db;
	char *path;  /* STATE_DIR/kakaowatch.db */
	int lock_fd; /* flock'd STATE_DIR/kakaowatch.lock, -1 if readonly */
	bool readonly;
	sqlite3_stmt *stmts[STMT_COUNT];
};

/* store_fail sets "state database 'PATH': cannot WHAT: SQLITE MESSAGE" */
static int
store_fail(struct store *st, struct kw_err *err, const char *what)
{
	return kw_err_set(err, "state database '%s': cannot %s: %s", st->path,
	    what, st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
}

/*
 * stmt_get returns the prepared statement `id`, reset and with no
 * bindings, preparing it on first use. NULL with `err` on failure.
 */
static sqlite3_stmt *
stmt_get(struct store *st, enum stmt_id id, struct kw_err *err)
{
	sqlite3_stmt *s = st->stmts[id];

	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		store_fail(st, err, "prepare a statement");
		sqlite3_finalize(s);
		return NULL;
	}
	st->stmts[id] = s;
	return s;
}

/*
 * stmt_done ends a use of a statement: reset (so no read transaction stays
 * open) and forget the bindings, which point into the caller's memory.
 */
static void
stmt_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/*
 * stmt_vbind binds parameters ?1, ?2, ... by `types`: 't' const char *
 * (NULL binds NULL; borrowed until stmt_done), 'l' int64_t, 'i' int (bool
 * promotes to int). Returns an SQLite result code.
 */
static int
stmt_vbind(sqlite3_stmt *s, const char *types, va_list ap)
{
	const char *t;
	int i, rc = SQLITE_OK;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 't':
			t = va_arg(ap, const char *);
			if (t == NULL)
				rc = sqlite3_bind_null(s, i + 1);
			else
				rc = sqlite3_bind_text(s, i + 1, t, -1,
				    SQLITE_STATIC);
			break;
		case 'l':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'i':
			rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	return rc;
}

/* stmt_query gets statement `id` and binds its parameters; see stmt_vbind */
static sqlite3_stmt *
stmt_query(struct store *st, enum stmt_id id, struct kw_err *err,
    const char *what, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	s = stmt_get(st, id, err);
	if (s == NULL)
		return NULL;
	va_start(ap, types);
	rc = stmt_vbind(s, types, ap);
	va_end(ap);
	if (rc != SQLITE_OK) {
		store_fail(st, err, what);
		stmt_done(s);
		return NULL;
	}
	return s;
}

/* stmt_end ends statement `s` whose last step returned `rc`: 0 when
 * that was SQLITE_DONE, else -1 with `err` naming `what` */
static int
stmt_end(struct store *st, sqlite3_stmt *s, int rc, const char *what,
    struct kw_err *err)
{
	if (rc != SQLITE_DONE)
		store_fail(st, err, what);
	stmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* stmt_run runs a statement that returns no rows; see stmt_vbind */
static int
stmt_run(struct store *st, enum stmt_id id, struct kw_err *err,
    const char *what, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc;

	s = stmt_get(st, id, err);
	if (s == NULL)
		return -1;
	va_start(ap, types);
	rc = stmt_vbind(s, types, ap);
	va_end(ap);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	return stmt_end(st, s, rc, what, err);
}

static int
tx_begin(struct store *st, struct kw_err *err)
{
	return stmt_run(st, STMT_BEGIN, err, "begin a transaction", "");
}

/* tx_rollback undoes the open transaction, if any; errors are ignored */
static void
tx_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db))
		return; /* SQLite already rolled it back */
	if (stmt_run(st, STMT_ROLLBACK, NULL, "roll back", "") != 0)
		log_warnx("store: '%s': rollback failed: %s", st->path,
		    sqlite3_errmsg(st->db));
}

static int
tx_commit(struct store *st, struct kw_err *err)
{
	if (stmt_run(st, STMT_COMMIT, err, "commit", "") != 0) {
		tx_rollback(st);
		return -1;
	}
	return 0;
}

/* col_dup returns a heap copy of text column `col` (NULL for SQL NULL) */
static int
col_dup(sqlite3_stmt *s, int col, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	t = sqlite3_column_text(s, col);
	if (t == NULL)
		return -1;
	*out = strdup((const char *)t);
	return *out == NULL ? -1 : 0;
}

/*
 * read_rows steps query `s` (NULL: stmt_query failed, `err` is set) to its
 * end into a heap array of elements of `size` bytes: each row gets a
 * zeroed element that `row` fills (0, or -1 when out of memory). *out and
 * *n are what was read, also on failure (the caller frees them with its
 * type's free function). Returns 0 or -1 with `err` (`what` names the
 * read).
 */
static int
read_rows(struct store *st, sqlite3_stmt *s, const char *what, size_t size,
    int (*row)(sqlite3_stmt *s, void *elem), void **out, size_t *n,
    struct kw_err *err)
{
	unsigned char *v = NULL, *nv;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > SIZE_MAX / size)
				goto oom;
			nv = realloc(v, cap * size);
			if (nv == NULL)
				goto oom;
			*out = v = nv;
		}
		memset(v + *n * size, 0, size);
		(*n)++;
		if (row(s, v + (*n - 1) * size) != 0)
			goto oom;
	}
	return stmt_end(st, s, rc, what, err);
oom:
	kw_err_set(err, "out of memory");
	stmt_done(s);
	return -1;
}

/* sql_limit maps a size_t limit (0 = none) to SQLite's LIMIT (-1 = none) */
static int64_t
sql_limit(size_t limit)
{
	if (limit == 0 || limit > (uint64_t)INT64_MAX)
		return -1;
	return (int64_t)limit;
}

/* ---- opening ---- */

/*
 * nofollow_error explains a failed open(O_NOFOLLOW) of `path` (a `what`):
 * ELOOP means it is a symbolic link, which nothing in a state directory
 * may be (someone could point it at a file of yours)
 */
static int
nofollow_error(const char *path, const char *what, struct kw_err *err)
{
	if (errno == ELOOP)
		return kw_err_set(err,
		    "%s '%s' is a symbolic link: kakaowatch "
		    "does not follow links in its state directory; remove it",
		    what, path);
	return kw_err_set(err, "cannot open %s '%s': %s", what, path,
	    strerror(errno));
}

/* own_regular_file: `fd` (opened from `path`) is our own regular file */
static int
own_regular_file(int fd, const char *path, struct kw_err *err)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return kw_err_set(err, "cannot stat '%s': %s", path,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return kw_err_set(err, "'%s' is not a regular file: remove it",
		    path);
	if (sb.st_uid != geteuid())
		return kw_err_set(err,
		    "'%s' belongs to uid %ld, not to you "
		    "(uid %ld): remove it, or run kakaowatch as its owner",
		    path, (long)sb.st_uid, (long)geteuid());
	return 0;
}

/*
 * state_dir_check: the state directory must be ours and writable by
 * nobody else, or whoever can write it could replace our files with
 * links to any file we may write. Applies to root too: a root daemon must
 * not be steered by another user's directory.
 */
static int
state_dir_check(const char *state_dir, struct kw_err *err)
{
	struct stat sb;
	int fd, result = 0;

	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return kw_err_set(err, "cannot open state directory '%s': %s",
		    state_dir, strerror(errno));
	if (fstat(fd, &sb) != 0)
		result = kw_err_set(err, "cannot stat state directory '%s': %s",
		    state_dir, strerror(errno));
	else if (sb.st_uid != geteuid())
		result = kw_err_set(err,
		    "state directory '%s' belongs to uid "
		    "%ld, not to you (uid %ld): use a directory of your own "
		    "(set state_dir, or run: chown %ld '%s')",
		    state_dir, (long)sb.st_uid, (long)geteuid(),
		    (long)geteuid(), state_dir);
	else if ((sb.st_mode & 022) != 0)
		result = kw_err_set(err,
		    "state directory '%s' is writable by "
		    "%s (mode %04o): run: chmod 700 '%s'",
		    state_dir, (sb.st_mode & 002) ? "others" : "its group",
		    (unsigned)(sb.st_mode & 07777), state_dir);
	close(fd);
	return result;
}

/*
 * lock_take opens and flocks STATE_DIR/kakaowatch.lock and writes our pid
 * into it. The lock dies with the descriptor, so a crashed daemon leaves no
 * stale lock.
 */
static int
lock_take(struct store *st, const char *state_dir, struct kw_err *err)
{
	char *path;
	char text[32];
	int64_t pid = 0;
	ssize_t n;
	int fd, len, result = -1;

	path = util_path_join(state_dir, STORE_LOCK_NAME);
	if (path == NULL)
		return kw_err_set(err, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		nofollow_error(path, "lock file", err);
		goto out;
	}
	if (own_regular_file(fd, path, err) != 0)
		goto out;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			kw_err_set(err, "cannot lock '%s': %s", path,
			    strerror(errno));
			goto out;
		}
		n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		if (util_parse_int(text, 1, INT32_MAX, &pid) == 0)
			kw_err_set(err,
			    "another kakaowatch (pid %" PRId64 ") is using %s; "
			    "stop it first",
			    pid, state_dir);
		else
			kw_err_set(err,
			    "another kakaowatch is using %s; stop it first",
			    state_dir);
		goto out;
	}
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len) {
		kw_err_set(err, "cannot write lock file '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	st->lock_fd = fd;
	fd = -1;
	result = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return result;
}

/*
 * tighten_mode makes an existing file `path` 0600 when group or others may
 * read it. create: create it (0600) when missing. ENOENT is fine otherwise.
 */
static int
tighten_mode(const char *path, bool create, struct kw_err *err)
{
	struct stat sb;
	int fd;

	/* never through a link: fchmod on what we opened, not chmod(path) */
	fd = open(path,
	    O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd < 0) {
		if (!create && errno == ENOENT)
			return 0;
		return nofollow_error(path, "state database", err);
	}
	if (own_regular_file(fd, path, err) != 0) {
		close(fd);
		return -1;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0) {
		if (fchmod(fd, 0600) != 0) {
			kw_err_set(err,
			    "'%s' is readable by others and "
			    "cannot be made private: %s",
			    path, strerror(errno));
			close(fd);
			return -1;
		}
		log_warnx("store: '%s' was readable by others; mode set to "
			  "0600",
		    path);
	}
	close(fd);
	return 0;
}

static int
db_files_prepare(const char *path, struct kw_err *err)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char side[4096];
	size_t i;

	if (tighten_mode(path, true, err) != 0)
		return -1;
	/* SQLite creates these with the db file's mode; old ones may differ */
	for (i = 0; i < 2; i++) {
		if (snprintf(side, sizeof(side), "%s%s", path, suffixes[i]) >=
		    (int)sizeof(side))
			return kw_err_set(err, "'%s': path too long", path);
		if (tighten_mode(side, false, err) != 0)
			return -1;
	}
	return 0;
}

static int
exec_sql(struct store *st, const char *sql, const char *what,
    struct kw_err *err)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		kw_err_set(err, "state database '%s': cannot %s: %s", st->path,
		    what, msg != NULL ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* pragma_text runs a one-row pragma and copies its first column */
static int
pragma_text(struct store *st, const char *sql, char *out, size_t size,
    struct kw_err *err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		goto fail;
	t = sqlite3_column_text(s, 0);
	snprintf(out, size, "%s", t != NULL ? (const char *)t : "");
	sqlite3_finalize(s);
	return 0;
fail:
	store_fail(st, err, "read its settings");
	sqlite3_finalize(s);
	return -1;
}

static int
schema_version(struct store *st, int64_t *version, struct kw_err *err)
{
	char text[32];

	if (pragma_text(st, "PRAGMA user_version", text, sizeof(text), err) !=
	    0)
		return -1;
	if (util_parse_int(text, 0, INT32_MAX, version) != 0)
		return kw_err_set(err,
		    "state database '%s': bad user_version '%s'", st->path,
		    text);
	return 0;
}

static int
newer_fail(struct store *st, int64_t v, struct kw_err *err)
{
	return kw_err_set(err,
	    "state database '%s' was written by a newer kakaowatch (schema "
	    "version %" PRId64 ", this one knows up to %d): upgrade "
	    "kakaowatch; the database was left as it is",
	    st->path, v, STORE_SCHEMA_VERSION);
}

/*
 * check_not_newer refuses a database from a newer kakaowatch before
 * anything is written to it (not even the WAL switch in its header)
 */
static int
check_not_newer(struct store *st, struct kw_err *err)
{
	int64_t v;

	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (schema_version(st, &v, err) != 0)
		return -1;
	if (v > STORE_SCHEMA_VERSION)
		return newer_fail(st, v, err);
	return 0;
}

/* migrate brings the schema to STORE_SCHEMA_VERSION in one transaction */
static int
migrate(struct store *st, struct kw_err *err)
{
	char sql[64];
	int64_t v, from;

	if (exec_sql(st, "BEGIN IMMEDIATE", "begin a transaction", err) != 0)
		return -1;
	if (schema_version(st, &v, err) != 0)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		newer_fail(st, v, err);
		goto fail;
	}
	from = v;
	for (; v < STORE_SCHEMA_VERSION; v++) {
		if (exec_sql(st, migrations[v], "create its tables", err) != 0)
			goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    STORE_SCHEMA_VERSION);
	if (from != v && exec_sql(st, sql, "set its version", err) != 0)
		goto fail;
	if (exec_sql(st, "COMMIT", "commit", err) != 0)
		goto fail;
	if (from == 0)
		log_info("store: created state database '%s'", st->path);
	else if (from != v)
		log_info(
		    "store: upgraded state database '%s' from schema %" PRId64
		    " to %d",
		    st->path, from, STORE_SCHEMA_VERSION);
	return 0;
fail:
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
db_configure(struct store *st, struct kw_err *err)
{
	char mode[32];

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (st->readonly)
		return 0;
	if (pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode),
		err) != 0)
		return -1;
	if (strcmp(mode, "wal") != 0)
		log_warnx("store: '%s': WAL not available here, using journal "
			  "mode %s (status may wait while the daemon writes)",
		    st->path, mode);
	/* see store.h for why NORMAL with WAL; without WAL, NORMAL could
	 * corrupt the database on power loss, so FULL there */
	return exec_sql(st,
	    strcmp(mode, "wal") == 0 ?
		"PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;" :
		"PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
	    "configure it", err);
}

static struct store *
store_new(const char *state_dir, struct kw_err *err)
{
	struct store *st;

	if (state_dir == NULL || state_dir[0] == '\0') {
		kw_err_set(err, "no state_dir given");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	st->lock_fd = -1;
	st->path = util_path_join(state_dir, STORE_DB_NAME);
	if (st->path == NULL) {
		kw_err_set(err, "out of memory");
		free(st);
		return NULL;
	}
	return st;
}

struct store *
store_open(const char *state_dir, struct kw_err *err)
{
	struct store *st;

	st = store_new(state_dir, err);
	if (st == NULL)
		return NULL;
	if (util_mkdir_p(state_dir, 0700, err) != 0)
		goto fail;
	if (state_dir_check(state_dir, err) != 0)
		goto fail;
	if (lock_take(st, state_dir, err) != 0)
		goto fail;
	if (db_files_prepare(st->path, err) != 0)
		goto fail;
	if (sqlite3_open_v2(st->path, &st->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
		NULL) != SQLITE_OK) {
		store_fail(st, err, "open it");
		goto fail;
	}
	if (check_not_newer(st, err) != 0 || db_configure(st, err) != 0 ||
	    migrate(st, err) != 0)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

struct store *
store_open_readonly(const char *state_dir, struct kw_err *err)
{
	struct store *st;
	struct stat sb;
	int64_t v;

	st = store_new(state_dir, err);
	if (st == NULL)
		return NULL;
	st->readonly = true;
	if (lstat(st->path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		kw_err_set(err,
		    "state database '%s' is a symbolic link: kakaowatch "
		    "does not follow links in its state directory; remove it",
		    st->path);
		goto fail;
	}
	if (stat(st->path, &sb) != 0) {
		if (errno == ENOENT)
			kw_err_set(err,
			    "no state database at '%s': kakaowatch has not "
			    "run with this state_dir yet",
			    st->path);
		else
			kw_err_set(err, "cannot open state database '%s': %s",
			    st->path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(st->path, &st->db,
		SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW,
		NULL) != SQLITE_OK) {
		store_fail(st, err, "open it");
		goto fail;
	}
	if (db_configure(st, err) != 0 || schema_version(st, &v, err) != 0)
		goto fail;
	if (v == 0) {
		kw_err_set(err,
		    "state database '%s' is empty: kakaowatch has not run "
		    "with this state_dir yet",
		    st->path);
		goto fail;
	}
	if (v != STORE_SCHEMA_VERSION) {
		kw_err_set(err,
		    "state database '%s' has schema version %" PRId64
		    ", this kakaowatch reads version %d%s",
		    st->path, v, STORE_SCHEMA_VERSION,
		    v < STORE_SCHEMA_VERSION ?
			": run the daemon once to upgrade it" :
			": upgrade kakaowatch");
		goto fail;
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	if (st->db != NULL) {
		if (!st->readonly)
			sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL,
			    NULL);
		if (sqlite3_close(st->db) != SQLITE_OK)
			log_warnx("store: '%s': close: %s", st->path,
			    sqlite3_errmsg(st->db));
	}
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st->path);
	free(st);
}

/* ---- watches ---- */

void
watch_state_release(struct watch_state *ws)
{
	if (ws == NULL)
		return;
	free(ws->url);
	free(ws->xpath);
	free(ws->etag);
	free(ws->last_modified);
	free(ws->last_error);
	free(ws->retry_after_url);
	free(ws->key_spec);
	memset(ws, 0, sizeof(*ws));
}

int
store_watch_state_get(struct store *st, const char *name,
    struct watch_state *out, struct kw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof(*out));
	s = stmt_query(st, STMT_WATCH_GET, err, "read watch state", "t", name);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		stmt_done(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		store_fail(st, err, "read watch state");
		goto fail;
	}
	if (col_dup(s, 0, &out->url) != 0 || col_dup(s, 1, &out->xpath) != 0 ||
	    col_dup(s, 2, &out->etag) != 0 ||
	    col_dup(s, 3, &out->last_modified) != 0 ||
	    col_dup(s, 4, &out->last_error) != 0 ||
	    col_dup(s, 14, &out->retry_after_url) != 0 ||
	    col_dup(s, 15, &out->key_spec) != 0) {
		kw_err_set(err, "out of memory");
		goto fail;
	}
	out->known = true;
	out->last_check_at = sqlite3_column_int64(s, 5);
	out->last_success_at = sqlite3_column_int64(s, 6);
	out->last_change_at = sqlite3_column_int64(s, 7);
	out->retry_after_until = sqlite3_column_int64(s, 8);
	out->next_check_at = sqlite3_column_int64(s, 9);
	out->failures = sqlite3_column_int(s, 10);
	out->failing_notified = sqlite3_column_int(s, 11) != 0;
	out->baselined = sqlite3_column_int(s, 12) != 0;
	out->item_count = sqlite3_column_int64(s, 13);
	stmt_done(s);
	return 0;
fail:
	stmt_done(s);
	watch_state_release(out);
	return -1;
}

int
store_snapshot_get(struct store *st, const char *name, struct item_list *out,
    struct kw_err *err)
{
	sqlite3_stmt *s;
	const unsigned char *text, *link;
	int rc;

	item_list_init(out);
	s = stmt_query(st, STMT_SNAPSHOT_GET, err, "read snapshot", "t", name);
	if (s == NULL)
		return -1;
	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			store_fail(st, err, "read snapshot");
			goto fail;
		}
		text = sqlite3_column_text(s, 0);
		link = sqlite3_column_text(s, 1);
		if (text == NULL ||
		    (link == NULL &&
			sqlite3_column_type(s, 1) != SQLITE_NULL) ||
		    item_list_add(out, (const char *)text,
			(const char *)link) != 0 ||
		    col_dup(s, 2, &out->v[out->n - 1].key) != 0) {
			kw_err_set(err, "out of memory");
			goto fail;
		}
	}
	stmt_done(s);
	return 0;
fail:
	stmt_done(s);
	item_list_release(out);
	return -1;
}

static bool
same_text(const unsigned char *stored, const char *s)
{
	if (stored == NULL || s == NULL)
		return stored == NULL && s == NULL;
	return strcmp((const char *)stored, s) == 0;
}

/*
 * snapshot_compare reads the stored snapshot of `name` in page order:
 * *nstored = its rows, *nsame = how many leading rows equal (text and link)
 * the first items of `items`. Inside a transaction. 0 or -1 with `err`.
 */
static int
snapshot_compare(struct store *st, const char *name,
    const struct item_list *items, size_t *nstored, size_t *nsame,
    const char *what, struct kw_err *err)
{
	const unsigned char *link;
	sqlite3_stmt *s;
	bool same = true;
	size_t i = 0;
	int rc;

	s = stmt_query(st, STMT_SNAPSHOT_GET, err, what, "t", name);
	if (s == NULL)
		return -1;
	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			store_fail(st, err, what);
			stmt_done(s);
			return -1;
		}
		if (same && i >= items->n) {
			same = false; /* rows beyond the new list */
			*nsame = i;
		}
		if (!same) {
			i++;
			continue;
		}
		/* a NULL from an out-of-memory read compares unequal */
		link = sqlite3_column_text(s, 1);
		if (!same_text(sqlite3_column_text(s, 0), items->v[i].text) ||
		    !same_text(link, items->v[i].link) ||
		    !same_text(sqlite3_column_text(s, 2), items->v[i].key) ||
		    (link == NULL &&
			sqlite3_column_type(s, 1) != SQLITE_NULL)) {
			same = false;
			*nsame = i;
		}
		i++;
	}
	stmt_done(s);
	*nstored = i;
	if (same)
		*nsame = i;
	return 0;
}

/*
 * snapshot_replace makes the stored snapshot of `name` equal to `items`,
 * writing only what differs: rows from the first differing position on
 * are overwritten or added, surplus rows at the end deleted. An unchanged
 * snapshot (the usual 200 of a page without validators) writes no row; a
 * first snapshot deletes nothing. item_count is always set. Inside a
 * transaction.
 */
static int
snapshot_replace(struct store *st, const char *name,
    const struct item_list *items, const char *what, struct kw_err *err)
{
	size_t i, nstored = 0, nsame = 0;

	if (snapshot_compare(st, name, items, &nstored, &nsame, what, err) != 0)
		return -1;
	for (i = nsame; i < items->n; i++) {
		if (stmt_run(st, STMT_SNAPSHOT_ADD, err, what, "tlttt", name,
			(int64_t)i, items->v[i].text, items->v[i].link,
			items->v[i].key) != 0)
			return -1;
	}
	if (nstored > items->n && stmt_run(st, STMT_SNAPSHOT_CLEAR, err, what,
				      "tl", name, (int64_t)items->n) != 0)
		return -1;
	return stmt_run(st, STMT_WATCH_SNAPSHOT, err, what, "tl", name,
	    (int64_t)items->n);
}

/* item_hash: FNV-1a (64 bit) of text, NUL, link, as 16 hex digits */
static void
item_hash(const char *text, const char *link, char out[17])
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	h *= 1099511628211ULL; /* the NUL between them */
	for (p = (const unsigned char *)(link != NULL ? link : ""); *p != '\0';
	     p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

/*
 * history_add: inside a transaction. Each row keeps the hash of the whole
 * item and at most STORE_HISTORY_TEXT_MAX bytes of its text, and a watch
 * keeps its newest STORE_HISTORY_PER_WATCH rows: one change of 50 long
 * items must not cost megabytes.
 */
static int
history_add(struct store *st, const char *name, int64_t at,
    const struct item_list *items, bool removed, bool edited, const char *what,
    struct kw_err *err)
{
	char text[STORE_HISTORY_TEXT_MAX + 1], hash[17];
	const unsigned char *t;
	const char *link;
	size_t i, len;

	for (i = 0; items != NULL && i < items->n; i++) {
		item_hash(items->v[i].text, items->v[i].link, hash);
		len = strlen(items->v[i].text);
		if (len > STORE_HISTORY_TEXT_MAX) {
			len = STORE_HISTORY_TEXT_MAX;
			/* never inside a UTF-8 character */
			t = (const unsigned char *)items->v[i].text;
			while (len > 0 && (t[len] & 0xC0) == 0x80)
				len--;
		}
		memcpy(text, items->v[i].text, len);
		text[len] = '\0';
		link = items->v[i].link;
		if (link != NULL && strlen(link) > STORE_HISTORY_LINK_MAX)
			link = NULL;
		if (stmt_run(st, STMT_HISTORY_ADD, err, what, "tlittti", name,
			at, (int)removed, text, link, hash, (int)edited) != 0)
			return -1;
	}
	if (items != NULL && items->n > 0 &&
	    stmt_run(st, STMT_HISTORY_CAP, err, what, "tl", name,
		(int64_t)STORE_HISTORY_PER_WATCH) != 0)
		return -1;
	return 0;
}

/*
 * seen_update: the memory part of a successful check (see store_check).
 * Inside a transaction.
 */
static int
seen_update(struct store *st, const struct store_check *c, const char *what,
    struct kw_err *err)
{
	const struct seen_entry *e;
	const struct item *it;
	bool grew = c->rekeyed;
	int64_t before = 0, after = 0;
	size_t i;

	if (c->rekeyed) {
		if (stmt_run(st, STMT_SEEN_CLEAR, err, what, "t", c->name) != 0)
			return -1;
		for (i = 0; i < c->nrekey; i++) {
			e = &c->rekey[i];
			if (stmt_run(st, STMT_SEEN_RESTORE, err, what, "ttlltt",
				c->name, e->key, e->first_seen, e->last_seen,
				e->text, e->link) != 0)
				return -1;
		}
	}
	if (c->seen != NULL && c->seen->n > 0 && !grew) {
		before = sqlite3_total_changes64(st->db);
	}
	for (i = 0; c->seen != NULL && i < c->seen->n; i++) {
		it = &c->seen->v[i];
		if (it->key == NULL)
			continue;
		if (stmt_run(st, STMT_SEEN_PUT, err, what, "ttlttl", c->name,
			it->key, c->at, it->text, it->link,
			(int64_t)STORE_SEEN_TOUCH_MS) != 0)
			return -1;
	}
	if (c->seen != NULL && c->seen->n > 0 && !grew) {
		after = sqlite3_total_changes64(st->db);
		grew = after != before;
	}
	/* the cap: only worth a look when rows were written */
	if (grew && stmt_run(st, STMT_SEEN_CAP, err, what, "tl", c->name,
			(int64_t)STORE_SEEN_MAX_PER_WATCH) != 0)
		return -1;
	if (c->key_spec != NULL && stmt_run(st, STMT_WATCH_KEY_SPEC, err, what,
				       "tt", c->name, c->key_spec) != 0)
		return -1;
	return 0;
}

int
store_record_check(struct store *st, const struct store_check *c,
    struct kw_err *err)
{
	char what[200];
	bool changed;
	size_t i;

	if (c == NULL || c->name == NULL)
		return kw_err_set(err,
		    "state database '%s': a check without a watch name",
		    st->path);
	if (c->nmessages > 0 && c->messages == NULL)
		return kw_err_set(err,
		    "state database '%s': watch '%s': messages missing",
		    st->path, c->name);
	snprintf(what, sizeof(what), "record the check of watch '%s'", c->name);
	if (tx_begin(st, err) != 0)
		return -1;
	if (stmt_run(st, STMT_WATCH_ENSURE, err, what, "t", c->name) != 0)
		goto fail;
	if (c->failed) {
		if (stmt_run(st, STMT_WATCH_FAILURE, err, what, "tltllit",
			c->name, c->at, c->error, c->retry_after_until,
			c->next_check_at, (int)c->failing_notified,
			c->url) != 0)
			goto fail;
	} else {
		changed = (c->added != NULL && c->added->n > 0) ||
			  (c->removed != NULL && c->removed->n > 0) ||
			  (c->changed != NULL && c->changed->n > 0);
		if (stmt_run(st, STMT_WATCH_SUCCESS, err, what, "tttttlilli",
			c->name, c->url, c->xpath, c->etag, c->last_modified,
			c->at, (int)changed, c->retry_after_until,
			c->next_check_at, (int)c->failing_notified) != 0)
			goto fail;
		if (c->items != NULL &&
		    snapshot_replace(st, c->name, c->items, what, err) != 0)
			goto fail;
		if (history_add(st, c->name, c->at, c->added, false, false,
			what, err) != 0 ||
		    history_add(st, c->name, c->at, c->changed, false, true,
			what, err) != 0 ||
		    history_add(st, c->name, c->at, c->removed, true, false,
			what, err) != 0)
			goto fail;
		if (seen_update(st, c, what, err) != 0)
			goto fail;
	}
	for (i = 0; i < c->nmessages; i++) {
		if (stmt_run(st, STMT_OUTBOX_ADD, err, what, "ttl", c->name,
			c->messages[i], c->at) != 0)
			goto fail;
	}
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return -1;
}

int
store_watch_set_next_check(struct store *st, const char *name,
    int64_t next_check_at, struct kw_err *err)
{
	const char *what = "store the next check time";

	if (tx_begin(st, err) != 0)
		return -1;
	if (stmt_run(st, STMT_WATCH_ENSURE, err, what, "t", name) != 0 ||
	    stmt_run(st, STMT_WATCH_NEXT, err, what, "tl", name,
		next_check_at) != 0) {
		tx_rollback(st);
		return -1;
	}
	return tx_commit(st, err);
}

/* names_free frees what watch_names returned. NULL is ok. */
static void
names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int
name_row(sqlite3_stmt *s, void *elem)
{
	char **name = elem;

	return col_dup(s, 0, name) != 0 || *name == NULL ? -1 : 0;
}

/* watch_names returns the names of every watch with a row, sorted, as a
 * heap array of heap strings (names_free). 0 or -1 (*names = NULL). */
static int
watch_names(struct store *st, char ***names, size_t *n, struct kw_err *err)
{
	void *v;
	int r;

	r = read_rows(st,
	    stmt_query(st, STMT_WATCH_NAMES, err, "list watches", ""),
	    "list watches", sizeof(**names), name_row, &v, n, err);
	*names = v;
	if (r != 0) {
		names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return r;
}

int
store_forget_gone(struct store *st, const char *const *keep, size_t nkeep,
    int64_t before_ms, size_t *forgot, struct kw_err *err)
{
	const char *what = "forget removed watches";
	char **names = NULL;
	size_t i, j, n = 0, count = 0;
	bool kept;

	if (forgot != NULL)
		*forgot = 0;
	if (watch_names(st, &names, &n, err) != 0)
		return -1;
	if (tx_begin(st, err) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		kept = false;
		for (j = 0; j < nkeep && !kept; j++)
			kept = strcmp(names[i], keep[j]) == 0;
		if (kept)
			continue;
		/* snapshot and history follow by ON DELETE CASCADE */
		if (stmt_run(st, STMT_WATCH_FORGET_GONE, err, what, "tl",
			names[i], before_ms) != 0)
			goto fail_tx;
		count += (size_t)sqlite3_changes(st->db);
	}
	if (tx_commit(st, err) != 0)
		goto fail;
	names_free(names, n);
	if (forgot != NULL)
		*forgot = count;
	return 0;
fail_tx:
	tx_rollback(st);
fail:
	names_free(names, n);
	return -1;
}

/* ---- history ---- */

int
store_history_trim(struct store *st, int64_t before_ms, struct kw_err *err)
{
	const char *what = "trim history";

	if (tx_begin(st, err) != 0)
		return -1;
	if (stmt_run(st, STMT_HISTORY_TRIM, err, what, "l", before_ms) != 0 ||
	    stmt_run(st, STMT_SEEN_TRIM, err, what, "l", before_ms) != 0 ||
	    stmt_run(st, STMT_SENT_TRIM, err, what, "l",
		(int64_t)STORE_SENT_DAYS_KEPT) != 0) {
		tx_rollback(st);
		return -1;
	}
	return tx_commit(st, err);
}

/* ---- seen keys ---- */

void
seen_entries_free(struct seen_entry *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].text);
		free(v[i].link);
	}
	free(v);
}

static int
seen_row(sqlite3_stmt *s, void *elem)
{
	struct seen_entry *e = elem;

	e->first_seen = sqlite3_column_int64(s, 1);
	e->last_seen = sqlite3_column_int64(s, 2);
	if (col_dup(s, 0, &e->key) != 0 || e->key == NULL ||
	    col_dup(s, 3, &e->text) != 0 || e->text == NULL ||
	    col_dup(s, 4, &e->link) != 0)
		return -1;
	return 0;
}

int
store_seen_all(struct store *st, const char *name, size_t limit,
    struct seen_entry **out, size_t *n, struct kw_err *err)
{
	const char *what = "read seen keys";
	void *v;
	int r;

	r = read_rows(st,
	    stmt_query(st, STMT_SEEN_ALL, err, what, "tl", name,
		sql_limit(limit)),
	    what, sizeof(**out), seen_row, &v, n, err);
	*out = v;
	if (r != 0) {
		seen_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

int
store_seen_lookup(struct store *st, const char *name,
    const struct item_list *items, struct item_list *out, struct kw_err *err)
{
	const unsigned char *text, *link;
	sqlite3_stmt *s = NULL;
	size_t i;
	int rc;

	item_list_init(out);
	for (i = 0; items != NULL && i < items->n; i++) {
		if (items->v[i].key == NULL)
			continue;
		s = stmt_query(st, STMT_SEEN_GET, err, "read seen keys", "tt",
		    name, items->v[i].key);
		if (s == NULL)
			goto fail;
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			text = sqlite3_column_text(s, 0);
			link = sqlite3_column_text(s, 1);
			if (text == NULL ||
			    (link == NULL &&
				sqlite3_column_type(s, 1) != SQLITE_NULL) ||
			    item_list_add(out, (const char *)text,
				(const char *)link) != 0) {
				kw_err_set(err, "out of memory");
				goto fail;
			}
			out->v[out->n - 1].key = strdup(items->v[i].key);
			if (out->v[out->n - 1].key == NULL) {
				kw_err_set(err, "out of memory");
				goto fail;
			}
		} else if (rc != SQLITE_DONE) {
			store_fail(st, err, "read seen keys");
			goto fail;
		}
		stmt_done(s);
		s = NULL;
	}
	return 0;
fail:
	stmt_done(s);
	item_list_release(out);
	return -1;
}

int
store_seen_count(struct store *st, const char *name, int64_t *n,
    struct kw_err *err)
{
	sqlite3_stmt *s;

	*n = 0;
	s = stmt_query(st, STMT_SEEN_COUNT, err, "count seen keys", "t", name);
	if (s == NULL)
		return -1;
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_fail(st, err, "count seen keys");
		stmt_done(s);
		return -1;
	}
	*n = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return 0;
}

/* ---- outbox ---- */

void
outbox_msgs_free(struct outbox_msg *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].watch);
		free(v[i].template_json);
		free(v[i].last_error);
	}
	free(v);
}

int
store_outbox_add(struct store *st, const char *watch, const char *template_json,
    int64_t now_ms, struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_ADD, err, "queue a message", "ttl",
	    watch, template_json, now_ms);
}

static int
outbox_row(sqlite3_stmt *s, void *elem)
{
	struct outbox_msg *m = elem;

	m->id = sqlite3_column_int64(s, 0);
	m->attempts = sqlite3_column_int(s, 3);
	m->created_at = sqlite3_column_int64(s, 4);
	m->next_attempt_at = sqlite3_column_int64(s, 5);
	if (col_dup(s, 1, &m->watch) != 0 ||
	    col_dup(s, 2, &m->template_json) != 0 || m->template_json == NULL ||
	    col_dup(s, 6, &m->last_error) != 0)
		return -1;
	return 0;
}

int
store_outbox_due(struct store *st, int64_t now_ms, size_t limit,
    struct outbox_msg **out, size_t *n, struct kw_err *err)
{
	const char *what = "read the outbox";
	void *v;
	int r;

	r = read_rows(st,
	    stmt_query(st, STMT_OUTBOX_DUE, err, what, "ll", now_ms,
		sql_limit(limit)),
	    what, sizeof(**out), outbox_row, &v, n, err);
	*out = v;
	if (r != 0) {
		outbox_msgs_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

int
store_outbox_delete(struct store *st, int64_t id, struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_DELETE, err,
	    "remove a sent message from the outbox", "l", id);
}

int
store_outbox_delete_sent(struct store *st, int64_t id, const char *day_key,
    struct kw_err *err)
{
	const char *what = "remove a sent message from the outbox";

	if (day_key == NULL)
		return kw_err_set(err, "state database '%s': no day given",
		    st->path);
	if (tx_begin(st, err) != 0)
		return -1;
	if (stmt_run(st, STMT_OUTBOX_DELETE, err, what, "l", id) != 0 ||
	    stmt_run(st, STMT_SENT_INC, err, what, "t", day_key) != 0) {
		tx_rollback(st);
		return -1;
	}
	return tx_commit(st, err);
}

int
store_sent_add(struct store *st, const char *day_key, struct kw_err *err)
{
	return stmt_run(st, STMT_SENT_INC, err, "count a sent message", "t",
	    day_key);
}

int
store_sent_count(struct store *st, const char *day_key, int64_t *n,
    struct kw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	s = stmt_query(st, STMT_SENT_GET, err, "read the daily count", "t",
	    day_key);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE) {
		store_fail(st, err, "read the daily count");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

int
store_outbox_defer(struct store *st, int64_t id, int64_t now_ms,
    int64_t next_attempt_at, const char *error, struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_DEFER, err, "postpone a message",
	    "lltl", id, next_attempt_at, error, now_ms);
}

int
store_outbox_defer_all(struct store *st, int64_t next_attempt_at,
    const char *error, struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_DEFER_ALL, err, "postpone the outbox",
	    "lt", next_attempt_at, error);
}

int
store_outbox_clamp(struct store *st, int64_t latest, int64_t to,
    struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_CLAMP, err,
	    "bring the outbox's times back", "ll", latest, to);
}

int
store_watch_clamp(struct store *st, int64_t now_ms, int *changed,
    struct kw_err *err)
{
	if (stmt_run(st, STMT_WATCH_CLAMP, err, "bring the watches' times back",
		"l", now_ms) != 0)
		return -1;
	if (changed != NULL)
		*changed = sqlite3_changes(st->db);
	return 0;
}

/* outbox_numbers reads count, oldest created_at and earliest due time */
static int
outbox_numbers(struct store *st, int64_t v[3], struct kw_err *err)
{
	sqlite3_stmt *s;

	s = stmt_query(st, STMT_OUTBOX_STATS, err, "read the outbox", "");
	if (s == NULL)
		return -1;
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_fail(st, err, "read the outbox");
		stmt_done(s);
		return -1;
	}
	v[0] = sqlite3_column_int64(s, 0);
	v[1] = sqlite3_column_int64(s, 1);
	v[2] = sqlite3_column_int64(s, 2);
	stmt_done(s);
	return 0;
}

int
store_outbox_stats(struct store *st, int64_t *count, int64_t *oldest_created_at,
    struct kw_err *err)
{
	int64_t v[3];

	if (outbox_numbers(st, v, err) != 0)
		return -1;
	if (count != NULL)
		*count = v[0];
	if (oldest_created_at != NULL)
		*oldest_created_at = v[1];
	return 0;
}

int
store_outbox_next_at(struct store *st, int64_t *next_ms, struct kw_err *err)
{
	int64_t v[3];

	if (outbox_numbers(st, v, err) != 0)
		return -1;
	*next_ms = v[2];
	return 0;
}

/* ---- meta ---- */

int
store_meta_get(struct store *st, const char *key, char **value,
    struct kw_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*value = NULL;
	s = stmt_query(st, STMT_META_GET, err, "read a setting", "t", key);
	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (col_dup(s, 0, value) != 0) {
			kw_err_set(err, "out of memory");
			stmt_done(s);
			return -1;
		}
	} else if (rc != SQLITE_DONE) {
		store_fail(st, err, "read a setting");
		stmt_done(s);
		return -1;
	}
	stmt_done(s);
	return 0;
}

int
store_meta_set(struct store *st, const char *key, const char *value,
    struct kw_err *err)
{
	if (value == NULL)
		return stmt_run(st, STMT_META_DEL, err, "delete a setting", "t",
		    key);
	return stmt_run(st, STMT_META_SET, err, "store a setting", "tt", key,
	    value);
}

static int
meta_row(sqlite3_stmt *s, void *elem)
{
	struct meta_entry *e = elem;

	if (col_dup(s, 0, &e->key) != 0 || col_dup(s, 1, &e->value) != 0)
		return -1;
	return 0;
}

int
store_meta_list(struct store *st, const char *prefix, struct meta_entry **out,
    size_t *n, struct kw_err *err)
{
	const char *what = "list settings";
	void *v;
	int r;

	r = read_rows(st,
	    stmt_query(st, STMT_META_LIST, err, what, "t", prefix), what,
	    sizeof(**out), meta_row, &v, n, err);
	*out = v;
	if (r != 0) {
		meta_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

void
meta_entries_free(struct meta_entry *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

int
store_heartbeat(struct store *st, int64_t now_ms, struct kw_err *err)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRId64, now_ms);
	return store_meta_set(st, STORE_META_HEARTBEAT, text, err);
}

int
store_heartbeat_get(struct store *st, int64_t *at_ms, struct kw_err *err)
{
	char *text = NULL;
	int result = 0;

	*at_ms = 0;
	if (store_meta_get(st, STORE_META_HEARTBEAT, &text, err) != 0)
		return -1;
	if (text != NULL && util_parse_int(text, 0, INT64_MAX, at_ms) != 0)
		result = kw_err_set(err,
		    "state database '%s': bad heartbeat '%s'", st->path, text);
	free(text);
	return result;
}

int
store_outbox_replace(struct store *st, const int64_t *ids, size_t n,
    const char *watch, const char *template_json, int64_t now_ms,
    struct kw_err *err)
{
	const char *what = "replace held messages by a digest";
	size_t i;

	if (tx_begin(st, err) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (stmt_run(st, STMT_OUTBOX_DELETE, err, what, "l", ids[i]) !=
		    0)
			goto fail;
	if (stmt_run(st, STMT_OUTBOX_ADD, err, what, "ttl", watch,
		template_json, now_ms) != 0)
		goto fail;
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return -1;
}

/*
 * outbox_each runs statement `id` once per message of `ids` (n of them), all
 * in one transaction, bound by `types` (see stmt_vbind) to: the message's
 * id, at[i] (or `at_all` when `at` is NULL), `why` (bound only when `types`
 * has a third letter). Returns 0 (also for n == 0), or -1 with `err` naming
 * `what` and nothing changed.
 */
static int
outbox_each(struct store *st, enum stmt_id id, const char *what,
    const char *types, const int64_t *ids, const int64_t *at, int64_t at_all,
    size_t n, const char *why, struct kw_err *err)
{
	size_t i;

	if (n == 0)
		return 0;
	if (tx_begin(st, err) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (stmt_run(st, id, err, what, types, ids[i],
			at != NULL ? at[i] : at_all, why) != 0)
			goto fail;
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return -1;
}

int
store_outbox_hold(struct store *st, const int64_t *ids, const int64_t *until,
    size_t n, const char *why, struct kw_err *err)
{
	return outbox_each(st, STMT_OUTBOX_HOLD,
	    "hold messages for quiet hours", "llt", ids, until, 0, n, why, err);
}

int
store_outbox_release(struct store *st, const int64_t *ids, size_t n,
    int64_t now_ms, struct kw_err *err)
{
	return outbox_each(st, STMT_OUTBOX_RELEASE,
	    "release messages held for quiet hours", "ll", ids, NULL, now_ms, n,
	    NULL, err);
}

int
store_outbox_release_why(struct store *st, const char *why, int64_t now_ms,
    struct kw_err *err)
{
	return stmt_run(st, STMT_OUTBOX_RELEASE_WHY, err,
	    "release messages held for quiet hours", "lt", now_ms, why);
}

int
store_outbox_fold(struct store *st, int64_t keep_id, const int64_t *drop,
    size_t n, const char *watch, const char *template_json, struct kw_err *err)
{
	const char *what = "fold held messages into a digest";
	size_t i;

	if (tx_begin(st, err) != 0)
		return -1;
	if (stmt_run(st, STMT_OUTBOX_FOLD, err, what, "ltt", keep_id, watch,
		template_json) != 0)
		goto fail;
	if (sqlite3_changes(st->db) != 1) {
		kw_err_set(err, "%s: message %lld is gone", what,
		    (long long)keep_id);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (stmt_run(st, STMT_OUTBOX_DELETE, err, what, "l", drop[i]) !=
		    0)
			goto fail;
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return -1;
}

int
store_outbox_put(struct store *st, int64_t replace_id, const char *watch,
    const char *template_json, int64_t created_at, int64_t due_at, int64_t *id,
    struct kw_err *err)
{
	const char *what = "queue a notice";

	if (tx_begin(st, err) != 0)
		return -1;
	if (replace_id > 0 &&
	    stmt_run(st, STMT_OUTBOX_DELETE, err, what, "l", replace_id) != 0)
		goto fail;
	if (stmt_run(st, STMT_OUTBOX_ADD_AT, err, what, "ttll", watch,
		template_json, created_at, due_at) != 0)
		goto fail;
	*id = (int64_t)sqlite3_last_insert_rowid(st->db);
	return tx_commit(st, err);
fail:
	tx_rollback(st);
	return -1;
}
