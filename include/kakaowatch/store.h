/*
 * store: the SQLite database in state_dir (docs/design.md §2.5). All SQL lives
 * here: watches' fetch state, current snapshots, change history, the outbox of
 * messages to send, a daily sent-message counter and a small key/value
 * table. The SQLite handle never leaves this module.
 *
 * Files (all created 0600 in a state_dir created 0700):
 *   STATE_DIR/kakaowatch.db        the database, WAL journal mode
 *   STATE_DIR/kakaowatch.db-wal    write-ahead log  } SQLite gives them the
 *   STATE_DIR/kakaowatch.db-shm    shared index     } db file's permissions
 *   STATE_DIR/kakaowatch.lock      flock(2) lock holding the owner's pid
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. A commit has
 * written the transaction into the WAL file (the kernel's page cache) when
 * it returns, so nothing committed is lost when the process crashes or is
 * killed (kill -9, OOM killer, container stop): docs/design.md §2.5's promise.
 * The WAL is fsynced at each checkpoint, not at each commit, so a power loss
 * or a kernel crash can lose the transactions since the last checkpoint (never
 * corrupt the database). A check's snapshot and its messages are lost
 * together, so the next check finds those changes again; a lost "sent"
 * means a message sent twice (delivery is at-least-once anyway). FULL (one
 * fsync per commit) cost most of a warm `once`'s wall time and 39% of its
 * CPU in the benchmark: one fsync per check. Where WAL is not available
 * the store falls back to synchronous=FULL (NORMAL with a rollback journal
 * could corrupt the database on power loss). The token file is another
 * matter: it is fsynced on every write (util_write_file_atomic).
 *
 * The seen set (table seen): per watch, every item key seen within
 * history_days (store_history_trim) and at most STORE_SEEN_MAX_PER_WATCH,
 * with when it was first and last seen and its last text and link. It is
 * what makes an item "added" only when it was never seen (diff.h), and is
 * written in the same transaction as the snapshot and the outbox.
 *
 * Every operation that changes several rows runs in one transaction
 * (BEGIN IMMEDIATE): all of it happens or none. Statements for the hot paths
 * are prepared once per handle and reused.
 *
 * Times are Unix milliseconds (int64_t); 0 means "never"/"none". Strings are
 * UTF-8 (invalid bytes are stored as they are). Errors name the database
 * path and carry SQLite's message; the store stores no secrets.
 *
 * One thread: a struct store must not be used from two threads at once.
 */
#ifndef KAKAOWATCH_STORE_H
#define KAKAOWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

/*
 * The schema version this build writes (PRAGMA user_version). 1: kakaowatch
 * 0.1 (commit 0dc9784); 2: the URL a Retry-After was asked of; 3: item
 * keys and the seen set; 4: each outbox message's wait length (wait_ms).
 * store_open upgrades an older database in place,
 * all steps in one transaction (a crash or kill -9 in the middle leaves
 * it as it was); a newer one is refused untouched.
 */
#define STORE_SCHEMA_VERSION 4

/*
 * The memory of seen items keeps at most this many keys per watch: the
 * ones seen most recently (a key on the page is seen at every check, so
 * only keys gone from the page for the longest time are dropped). 20,000 is
 * 200 days of a board with 100 new posts a day; about 3 MB per watch.
 */
#define STORE_SEEN_MAX_PER_WATCH 20000

struct store;

/*
 * store_open opens the database for reading and writing: creates
 * `state_dir` (0700, with parents) when missing, takes an exclusive lock on
 * STATE_DIR/kakaowatch.lock (flock LOCK_EX|LOCK_NB; the file then holds our
 * pid), creates or opens STATE_DIR/kakaowatch.db (0600; a more open mode is
 * tightened), sets WAL, synchronous=NORMAL, a 5 s busy timeout and foreign
 * keys, and creates or upgrades the schema (migrations keyed on
 * user_version; a database from a newer kakaowatch is refused).
 *
 * When another process holds the lock, fails with "another kakaowatch
 * (pid N) is using STATE_DIR; stop it first". The lock is held until
 * store_close (or process exit). Returns the handle (free with store_close)
 * or NULL with a message in `err`.
 */
struct store *store_open(const char *state_dir, struct kw_err *err);

/*
 * store_open_readonly opens STATE_DIR/kakaowatch.db read-only, without the
 * lock, for `status` while the daemon runs (WAL lets it read while the
 * daemon writes). Fails clearly when the database does not exist ("no state
 * database at PATH: kakaowatch has not run with this state_dir yet") or has
 * a schema version other than STORE_SCHEMA_VERSION. Every write on the
 * returned handle fails. Returns the handle or NULL with `err`.
 */
struct store *store_open_readonly(const char *state_dir, struct kw_err *err);

/* store_close finalizes, closes and releases the lock. NULL is a no-op. */
void store_close(struct store *st);

/* ---- watches' fetch state and snapshots ---- */

struct watch_state {
	bool known;            /* a row exists for this watch */
	char *url;             /* url of the last successful check, or NULL */
	char *xpath;           /* xpath of the last successful check, or NULL */
	char *etag;            /* validator for If-None-Match, or NULL */
	char *last_modified;   /* validator for If-Modified-Since, or NULL */
	char *last_error;      /* error of the current failure run, or NULL */
	int64_t last_check_at; /* last check, success or failure */
	int64_t last_success_at;
	int64_t last_change_at;    /* last check that added or removed items */
	int64_t retry_after_until; /* server asked us to wait until then */
	/* the url that asked it (store_check's url), or NULL */
	char *retry_after_url;
	int64_t next_check_at; /* as last given in store_check */
	int failures;          /* consecutive failed checks */
	bool failing_notified; /* a "watch is failing" message was queued */
	bool baselined;        /* a snapshot (possibly empty) exists */
	int64_t item_count;    /* items in the snapshot */
	/* how the seen keys were made (key_spec_string in key.h), or NULL:
	 * not yet, e.g. just upgraded from 0.1 (keys "legacy:...") */
	char *key_spec;
};

/*
 * store_watch_state_get fills `out` for watch `name` (out->known = false
 * and everything zero/NULL when the store has no row for it). The strings
 * are owned by `out`: free with watch_state_release (also after -1, which
 * leaves `out` zeroed). Returns 0 or -1 with `err`.
 */
int store_watch_state_get(struct store *st, const char *name,
    struct watch_state *out, struct kw_err *err);

/* watch_state_release frees the strings of `ws` and zeroes it. */
void watch_state_release(struct watch_state *ws);

/*
 * store_snapshot_get initialises `out` with the current snapshot of watch
 * `name`, in page order (empty when none). The caller releases it with
 * item_list_release (also after -1, which leaves it empty). Returns 0 or -1.
 */
int store_snapshot_get(struct store *st, const char *name,
    struct item_list *out, struct kw_err *err);

/* one remembered item key (table seen) */
struct seen_entry {
	char *key;  /* owned */
	char *text; /* the text last seen, owned */
	char *link; /* the link last seen, owned, may be NULL */
	int64_t first_seen, last_seen; /* Unix ms */
};

/* seen_entries_free frees the array and its strings. NULL is ok. */
void seen_entries_free(struct seen_entry *v, size_t n);

/*
 * store_seen_all returns the seen entries of watch `name`, most recently
 * seen first, at most `limit` (0 = all), as a heap array: free with
 * seen_entries_free(*out, *n). Returns 0 or -1 (*out = NULL, *n = 0).
 */
int store_seen_all(struct store *st, const char *name, size_t limit,
    struct seen_entry **out, size_t *n, struct kw_err *err);

/*
 * store_seen_lookup initialises `out` with one item for each item of
 * `items` (keyed; items without a key are skipped) whose key watch `name`
 * has seen: its key, and the text and link last seen, in `items` order (a
 * key repeated in `items` repeats). Release `out` with item_list_release
 * (also after -1, which leaves it empty). Returns 0 or -1.
 */
int store_seen_lookup(struct store *st, const char *name,
    const struct item_list *items, struct item_list *out, struct kw_err *err);

/* store_seen_count sets *n to the keys watch `name` remembers. 0 or -1. */
int store_seen_count(struct store *st, const char *name, int64_t *n,
    struct kw_err *err);

/*
 * One finished check of a watch, committed by store_record_check in ONE
 * transaction. All pointers are borrowed for the duration of the call.
 */
struct store_check {
	const char *name;  /* watch name, required */
	const char *url;   /* stored on success (describe the snapshot) */
	const char *xpath; /* stored on success */
	int64_t at;        /* when the check finished, Unix ms */
	const char *etag;  /* new validators on success; NULL clears */
	const char *last_modified;
	int64_t retry_after_until; /* 0 = none; stored in both cases */
	/* the new snapshot on success; NULL = unchanged (HTTP 304): kept */
	const struct item_list *items;
	/* changes recorded in history on success (NULL = none); changed
	 * items are recorded as edits with their new text */
	const struct item_list *added, *removed, *changed;
	/*
	 * The memory, on success only. `rekey` (when `rekeyed`): the watch's
	 * whole seen set is replaced by these nrekey entries first (keys
	 * remade after a change of key settings; entries with equal keys are
	 * merged: earliest first_seen, latest last_seen and its text). Then
	 * every item of `seen` (keyed; NULL = none) is remembered as seen at
	 * `at` with its text and link (a new key gets first_seen = at). The
	 * set is then cut to STORE_SEEN_MAX_PER_WATCH. key_spec: stored with
	 * the watch (NULL leaves it).
	 */
	const struct seen_entry *rekey;
	size_t nrekey;
	bool rekeyed;
	const struct item_list *seen;
	const char *key_spec;
	/* template objects (JSON text, non-empty) to queue in the outbox,
	 * in order, due at `at`; queued in both cases */
	const char *const *messages;
	size_t nmessages;
	bool failed;           /* the check failed (see store_record_check) */
	const char *error;     /* what failed, when failed */
	bool failing_notified; /* new value of the flag, stored in both cases */
	int64_t next_check_at; /* next planned check; 0 = unknown */
};

/*
 * store_record_check commits one check atomically: the watch row (created
 * when new), and
 *   - on success (failed == false): url, xpath, etag, last_modified,
 *     last_check_at = last_success_at = at, failures = 0, last_error = NULL;
 *     when `items` is given the snapshot becomes `items` (baselined, with
 *     item_count = items->n): the store compares them with the stored
 *     rows itself and writes only from the first differing position, so
 *     an unchanged page costs no snapshot write (`added`/`removed` are not
 *     used for this: a rebaseline has both empty and a new snapshot);
 *     `added`/`removed`/`changed` go to history, and when any is
 *     non-empty last_change_at = at; the seen set as described above;
 *   - on failure: last_check_at = at, failures + 1, last_error = error;
 *     the snapshot, url, xpath, validators and history are untouched
 *     (items, added, removed, etag and last_modified are ignored);
 *   - in both cases: retry_after_until, next_check_at, failing_notified,
 *     and the `messages` appended to the outbox.
 * If any step fails (including a NULL or empty message), nothing changes.
 * Returns 0 or -1 with `err`.
 */
int store_record_check(struct store *st, const struct store_check *check,
    struct kw_err *err);

/*
 * store_watch_clamp re-checks the watches' stored times against the clock
 * `now_ms` (Unix ms): a watch whose last check is recorded after `now_ms`
 * (the wall clock stepped back since) has its Retry-After end and next
 * check moved back by the same amount, keeping their length from that
 * check, and its last check set to now_ms; so nothing waits longer than
 * its own Retry-After or interval from now. *changed (may be NULL): the
 * watches moved. Returns 0, or -1 with `err`.
 */
int store_watch_clamp(struct store *st, int64_t now_ms, int *changed,
    struct kw_err *err);

/*
 * store_watch_set_next_check stores when watch `name` will be checked next
 * (e.g. after a reload moved it), creating its row if needed. 0 or -1.
 */
int store_watch_set_next_check(struct store *st, const char *name,
    int64_t next_check_at, struct kw_err *err);

/*
 * store_forget_gone deletes, in one transaction, every watch that is not
 * named in keep[0..nkeep) (the configured watches, enabled or not) and
 * was last checked before `before_ms` (Unix ms; now minus history_days):
 * its state, snapshot, history and seen keys (its queued outbox messages
 * stay and are still sent). Renamed and removed watches so do not keep
 * rows forever. *forgot (may be NULL) is how many went. Returns 0 or -1
 * with `err`.
 */
int store_forget_gone(struct store *st, const char *const *keep, size_t nkeep,
    int64_t before_ms, size_t *forgot, struct kw_err *err);

/* ---- history ---- */

/* newest history rows a watch keeps (store_record_check trims to it) */
#define STORE_HISTORY_PER_WATCH 500

/*
 * store_history_trim deletes history entries seen before `before_ms` (for
 * history_days), seen keys last seen before it (except those in a
 * watch's current snapshot: a clock that jumped ahead must not make the
 * page new again), and daily sent counters
 * beyond the newest 62 days, in one transaction. Returns 0 or -1.
 */
int store_history_trim(struct store *st, int64_t before_ms, struct kw_err *err);

/* ---- outbox (docs/design.md §2.6: at-least-once delivery) ---- */

struct outbox_msg {
	int64_t id;          /* increasing: FIFO order, never reused */
	char *watch;         /* watch that queued it, NULL for `send`/notices */
	char *template_json; /* the Kakao template object (JSON text) */
	int attempts;        /* failed send attempts so far */
	int64_t created_at;
	int64_t next_attempt_at;
	char *last_error; /* why the last attempt failed, or NULL */
};

/*
 * store_outbox_add queues a template object (non-empty JSON text) for
 * `watch` (may be NULL), due now. Returns 0 or -1.
 */
int store_outbox_add(struct store *st, const char *watch,
    const char *template_json, int64_t now_ms, struct kw_err *err);

/*
 * store_outbox_put queues `template_json` for `watch` (may be NULL) with
 * created_at and next_attempt_at given (Unix ms), first removing message
 * `replace_id` (0: none; one already gone is not an error), in one
 * transaction; the new row's id goes to *id. Grouped notices
 * (deliver_notice_add) use it. Returns 0 or -1.
 */
int store_outbox_put(struct store *st, int64_t replace_id, const char *watch,
    const char *template_json, int64_t created_at, int64_t due_at, int64_t *id,
    struct kw_err *err);

/*
 * store_outbox_due returns up to `limit` (0 = all) messages with
 * next_attempt_at <= now_ms, in id (FIFO) order, as a heap array: free
 * with outbox_msgs_free(*out, *n). Returns 0 or -1 (*out = NULL, *n = 0).
 */
int store_outbox_due(struct store *st, int64_t now_ms, size_t limit,
    struct outbox_msg **out, size_t *n, struct kw_err *err);

/* outbox_msgs_free frees the array and its strings. NULL is ok. */
void outbox_msgs_free(struct outbox_msg *v, size_t n);

/*
 * store_outbox_delete removes message `id` (Kakao answered result_code 0).
 * An id that is gone already is not an error. Returns 0 or -1.
 */
int store_outbox_delete(struct store *st, int64_t id, struct kw_err *err);

/*
 * store_outbox_delete_sent removes message `id` and adds one to the sent
 * counter of `day_key` (a caller-computed day such as "2026-11-23", Korea
 * time, for max_messages_per_day), in one transaction. Returns 0 or -1.
 */
int store_outbox_delete_sent(struct store *st, int64_t id, const char *day_key,
    struct kw_err *err);

/*
 * store_sent_add adds one to the sent counter of `day_key` for a message
 * that went out without the outbox (`kakaowatch send`). Returns 0 or -1.
 */
int store_sent_add(struct store *st, const char *day_key, struct kw_err *err);

/*
 * store_sent_count sets *n to the messages counted for `day_key` (0 when
 * none). Returns 0 or -1.
 */
int store_sent_count(struct store *st, const char *day_key, int64_t *n,
    struct kw_err *err);

/*
 * store_outbox_defer records a failed attempt of message `id`: attempts + 1,
 * next_attempt_at, last_error = error (may be NULL), and the wait's length
 * next_attempt_at - now_ms (Unix ms both) for store_outbox_clamp. Returns
 * 0 or -1.
 */
int store_outbox_defer(struct store *st, int64_t id, int64_t now_ms,
    int64_t next_attempt_at, const char *error, struct kw_err *err);

/*
 * store_outbox_defer_all holds every queued message until at least
 * `next_attempt_at` (messages already due later keep their time and wait)
 * and sets last_error; attempts are not counted (e.g. Kakao quota used up
 * until tomorrow: not the messages' fault). Such a hold, until a time of
 * day, has no length: store_outbox_clamp's `latest` bounds it. Returns 0
 * or -1.
 */
int store_outbox_defer_all(struct store *st, int64_t next_attempt_at,
    const char *error, struct kw_err *err);

/*
 * store_outbox_clamp re-checks every message's due time against the clock
 * `to` (Unix ms, "now"): a message is due no later than `to` plus the wait
 * it was given (its backoff, stored with it; 0 for a message never
 * deferred), and one due later than `latest` (for a hold until 00:00 KST,
 * the only bound) is due at `to`. After
 * the wall clock stepped back, a time stored before the step lies further
 * ahead than its wait, and would keep old messages behind new ones (a
 * message deferred 5 s just before a step back of hours would wait those
 * hours). Without a step it changes nothing. Returns 0, or -1 with `err`.
 */
int store_outbox_clamp(struct store *st, int64_t latest, int64_t to,
    struct kw_err *err);

/*
 * store_outbox_hold holds messages ids[0..n) until until[i] (Unix ms; a
 * message already due later keeps its time) and sets their last_error to
 * `why` (may be NULL), in one transaction; attempts are not counted (quiet
 * hours: not the messages' fault). Like store_outbox_defer_all's, such a
 * hold, until a time of day, has no length: store_outbox_clamp's `latest`
 * bounds it. Returns 0 or -1.
 */
int store_outbox_hold(struct store *st, const int64_t *ids,
    const int64_t *until, size_t n, const char *why, struct kw_err *err);

/*
 * store_outbox_release makes messages ids[0..n) due at now_ms (those due
 * later; their last_error is cleared), in one transaction: quiet hours
 * that held them were turned off. Returns 0 or -1.
 */
int store_outbox_release(struct store *st, const int64_t *ids, size_t n,
    int64_t now_ms, struct kw_err *err);

/*
 * store_outbox_release_why does so for every message due after now_ms
 * whose last_error starts with `why` (non-empty). Returns 0 or -1.
 */
int store_outbox_release_why(struct store *st, const char *why, int64_t now_ms,
    struct kw_err *err);

/*
 * store_outbox_fold turns message `keep_id` into `template_json` queued
 * as `watch` (its id, so its place in the FIFO, its times and attempts
 * stay; last_error is cleared) and deletes the messages drop[0..n), in one
 * transaction (the quiet-hours digest). Returns 0, or -1 with err
 * (nothing changed; also when keep_id is gone).
 */
int store_outbox_fold(struct store *st, int64_t keep_id, const int64_t *drop,
    size_t n, const char *watch, const char *template_json, struct kw_err *err);

/*
 * store_outbox_stats sets *count to the queued messages and
 * *oldest_created_at to the created_at of the oldest (0 when empty); either
 * pointer may be NULL. Returns 0 or -1.
 */
int store_outbox_stats(struct store *st, int64_t *count,
    int64_t *oldest_created_at, struct kw_err *err);

/*
 * store_outbox_next_at sets *next_ms to the earliest next_attempt_at of
 * any queued message, or -1 when the outbox is empty (scheduler deadline).
 * Returns 0 or -1.
 */
int store_outbox_next_at(struct store *st, int64_t *next_ms,
    struct kw_err *err);

/* ---- key/value meta ---- */

/*
 * store_meta_get sets *value to a heap copy of the value of `key` (caller
 * frees), or NULL when absent. Returns 0 or -1. Keys starting with "kw."
 * are used by the store itself.
 */
int store_meta_get(struct store *st, const char *key, char **value,
    struct kw_err *err);

/* store_meta_set stores `value` under `key`; NULL deletes. 0 or -1. */
int store_meta_set(struct store *st, const char *key, const char *value,
    struct kw_err *err);

struct meta_entry {
	char *key;
	char *value;
};

/*
 * store_meta_list returns every meta entry whose key starts with `prefix`,
 * ordered by key, as a heap array (free with meta_entries_free(*out, *n)).
 * Used for lists kept in meta, such as the dead letters. Returns 0 or -1.
 */
int store_meta_list(struct store *st, const char *prefix,
    struct meta_entry **out, size_t *n, struct kw_err *err);

/* meta_entries_free frees the array and its strings. NULL is ok. */
void meta_entries_free(struct meta_entry *v, size_t n);

/*
 * store_heartbeat records that the daemon's loop ran at `now_ms` (meta key
 * "kw.heartbeat_at"), for `status --health`. Returns 0 or -1.
 */
int store_heartbeat(struct store *st, int64_t now_ms, struct kw_err *err);

/*
 * store_heartbeat_get sets *at_ms to the last heartbeat (0 = never).
 * Returns 0 or -1.
 */
int store_heartbeat_get(struct store *st, int64_t *at_ms, struct kw_err *err);

/*
 * store_outbox_replace deletes the outbox messages `ids` (n of them) and
 * queues `template_json` for `watch` in their place, in one transaction
 * (used for the daily-limit digest). now_ms: Unix ms. Returns 0, or -1
 * with err (nothing changed).
 */
int store_outbox_replace(struct store *st, const int64_t *ids, size_t n,
    const char *watch, const char *template_json, int64_t now_ms,
    struct kw_err *err);

#endif
