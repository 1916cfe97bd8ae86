/*
 * token: the Kakao token file (docs/design.md §4) and the "refresh now?"
 * policy.
 *
 * The token file is the JSON object Kakao's token endpoint returns
 * (docs/kakao.md §2.1: token_type, access_token, expires_in, refresh_token,
 * refresh_token_expires_in, scope, maybe id_token), plus two fields that
 * kakaowatch adds: access_token_expires_at and refresh_token_expires_at
 * (Unix seconds). A file written by the seed tutorials (no *_expires_at) is
 * accepted. Fields kakaowatch does not know are kept and written back.
 *
 * Every token this module sees (access, refresh, id token) is registered
 * with log_redact_add, so it never reaches a log line or an error message.
 */
#ifndef KAKAOWATCH_TOKEN_H
#define KAKAOWATCH_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "kakaowatch/util.h"

/* refresh when the access token has this little left, seconds
 * (docs/design.md §4) */
#define TOKEN_REFRESH_MARGIN_S (10 * 60)
/* largest token file token_load reads, bytes */
#define TOKEN_FILE_MAX_BYTES (64 * 1024)

struct json_t; /* jansson's json_t; opaque here */

/*
 * One user's tokens. Zero-initialise (`struct token t = {0};`), fill with
 * token_load or token_apply_response, free with token_release. Every
 * string is owned by the struct; NULL means "not known".
 */
struct token {
	char *access_token;
	char *refresh_token;
	char *token_type; /* "bearer" */
	char *scope;      /* granted scopes, space-separated ("talk_message") */
	/* lifetimes as Kakao last sent them, seconds; 0 = unknown */
	int64_t expires_in;               /* of the access token */
	int64_t refresh_token_expires_in; /* of the refresh token */
	/* absolute expiry, Unix seconds; 0 = unknown */
	int64_t access_token_expires_at;
	int64_t refresh_token_expires_at;
	/* private: other fields of the file / response (e.g. id_token) */
	struct json_t *extra;
};

/*
 * token_load reads the token file at `path` into `out` (which must be
 * zeroed or released; on failure it stays empty).
 *
 * Refuses a file whose mode has any of 077 set, with the message
 * "'P' is readable by group or others; run: chmod 600 'P'", and a file
 * that is not a JSON object with a non-empty string refresh_token. Numbers
 * must be integers. In a seed-tutorial file without *_expires_at the
 * expiry is estimated as the file's mtime + expires_in (the seeds write
 * the file right after the token response); when expires_in is missing
 * too it stays 0 (unknown, so a refresh is due).
 *
 * A complete "PATH.new" left by an interrupted token_save_commit is
 * installed first (renamed over PATH).
 *
 * Returns 0, or -1 with a message in `err` (errno is ENOENT when the file
 * does not exist, so callers can tell "never authorized" apart).
 */
int token_load(const char *path, struct token *out, struct kw_err *err);

/*
 * token_save writes `t` to `path` as one JSON object (the fields above plus
 * the kept unknown ones), atomically with mode 0600, the previous version
 * kept as "PATH.bak": token_save_prepare + token_save_commit. The directory
 * must exist. Returns 0, or -1 with a message in `err`.
 */
int token_save(const char *path, const struct token *t, struct kw_err *err);

/* the file a save writes before renaming it over the token file */
#define TOKEN_NEXT_SUFFIX ".new"
/* the lock file every refresh holds (flock), next to the token file */
#define TOKEN_LOCK_SUFFIX ".lock"
/* bytes taken on disk for the new token file before a refresh */
#define TOKEN_RESERVE_BYTES (16 * 1024)

/* a prepared save (token_save_prepare); embedded, no heap */
struct token_reserve {
	int fd;              /* PATH.new, open; -1 when none */
	char path[4096];     /* the token file */
	char next[4096 + 8]; /* PATH.new */
};

/*
 * token_save_prepare makes sure the next version of the token file at
 * `path` can be written BEFORE the tokens it will hold exist (a refresh
 * that rotates the refresh token kills the old one at Kakao, docs/kakao.md
 * §2.2): it creates PATH.new (mode 0600, O_EXCL, no symlink), reserves
 * TOKEN_RESERVE_BYTES on disk for it (posix_fallocate) and fsyncs it.
 * On a full disk this fails, and the caller must not refresh. Call it
 * holding token_lock. Returns 0 with `r` ready for token_save_commit or
 * token_save_abort, or -1 with a message in `err` (nothing left behind).
 */
int token_save_prepare(const char *path, struct token_reserve *r,
    struct kw_err *err);

/*
 * token_save_commit writes `t` into the prepared PATH.new (over the
 * reserved blocks, so it needs no new space), truncates and fsyncs it,
 * keeps the previous file as PATH.bak (hard link, best effort), renames
 * PATH.new over PATH and fsyncs the directory. Once the data is synced, a
 * failed rename leaves the new token in PATH.new, where the next
 * token_load finds and installs it. Returns 0, or -1 with `err`.
 * `r` is spent either way.
 */
int token_save_commit(struct token_reserve *r, const struct token *t,
    struct kw_err *err);

/* token_save_abort drops a prepared save (removes PATH.new). NULL ok. */
void token_save_abort(struct token_reserve *r);

/*
 * token_lock serializes refreshes (and saves) of the token file at `path`
 * across processes: an exclusive flock(2) on "PATH.lock" (created 0600).
 * Waits up to `timeout_ms` (0: try once). Returns the descriptor to pass
 * to token_unlock, or -1 with a message in `err` (errno EWOULDBLOCK when
 * another process holds it past the timeout).
 */
int token_lock(const char *path, long timeout_ms, struct kw_err *err);

/* token_unlock releases a token_lock descriptor (-1 is a no-op). */
void token_unlock(int fd);

/* token_release frees every field; `t` is zeroed and reusable. NULL ok. */
void token_release(struct token *t);

/*
 * token_apply_response merges a 200 response body `json` of
 * POST /oauth/token (docs/kakao.md §2.1, §2.2) into `t`, at time `now_s`
 * (Unix seconds):
 * - access_token (required), token_type and expires_in (required, > 0)
 *   replace the old ones; access_token_expires_at = now_s + expires_in;
 * - a refresh_token replaces the old one at once, with its
 *   refresh_token_expires_in (expires_at = now_s + it, or 0 when absent):
 *   Kakao rotates it when under a month is left and the old one is dead
 *   from then on (docs/kakao.md §2.2, S1, S5);
 * - an absent refresh_token / refresh_token_expires_in / scope keeps the
 *   old values (as Kakao's SDK, S11 OAuthToken.fromResponse);
 * - id_token and unknown fields are kept in `extra`.
 * All new tokens are registered with log_redact_add. Returns 0, or -1 with
 * a message in `err` and `t` unchanged (bad JSON, missing access_token,
 * a token with characters outside printable ASCII).
 */
int token_apply_response(struct token *t, const char *json, int64_t now_s,
    struct kw_err *err);

/*
 * token_refresh_due is the pure "refresh before this send batch?" policy
 * (docs/design.md §4). True when there is no access token, its expiry is
 * unknown, or it has TOKEN_REFRESH_MARGIN_S (10 min) or less left at `now_s`.
 * Otherwise true only when the last refresh, taken as
 * access_token_expires_at - expires_in, was `min_interval_s` or more ago
 * (unknown expires_in counts as long ago). Kakao allows 30 refreshes per
 * user per hour (docs/kakao.md §2.3, KOE237); `min_interval_s` keeps us
 * far under that.
 */
bool token_refresh_due(const struct token *t, int64_t now_s,
    int64_t min_interval_s);

#endif
