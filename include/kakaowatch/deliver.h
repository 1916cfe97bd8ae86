/*
 * deliver: move messages from the store's outbox to a sink (docs/design.md
 * §5).
 *
 * The outbox is the only way out: a message leaves it only after the sink
 * took it (stdout: printed; KakaoTalk: Kakao answered {"result_code":0}).
 * Delivery is at-least-once (a crash between Kakao's answer and the
 * delete sends that message again) and in order (FIFO by outbox id): a
 * transient failure of the head message holds the whole queue, so nothing
 * overtakes it.
 *
 * What is held, and where that is remembered (store meta keys):
 *   DELIVER_META_QUOTA_HOLD   Kakao said its quota is used up (-10, -11,
 *                             -531, -532, -533, -536): no send is tried
 *                             until this Unix ms (the next 00:00 KST)
 *   DELIVER_META_BUDGET_DAY   the KST day ("YYYY-MM-DD") on which our own
 *                             max_messages_per_day ran out; the next day
 *                             the held messages become one digest
 *   DELIVER_META_REMINDED     refresh_token_expires_at (Unix s, decimal) of
 *                             the refresh token a "renew the
 *                             authorization" reminder was queued for
 *   DELIVER_META_KAKAO_USED   "1" once this state dir used KakaoTalk (a
 *                             token file was seen under `sink: auto`)
 *   DELIVER_META_RETRY_AT     a transient failure (5xx, network, KOE237):
 *                             the whole queue waits until this Unix ms,
 *                             messages queued meanwhile too (FIFO)
 *   DELIVER_META_RETRY_WAIT   that wait's length (ms): after the clock
 *                             stepped back it ends no later than this
 *                             from now
 *   DELIVER_META_RETRY_ATTEMPTS  failed tries in a row behind that hold
 *                             (the backoff's exponent); cleared by the
 *                             first message Kakao takes
 *   DELIVER_META_DEAD_PREFIX  + 20-digit outbox id: a dead letter, a
 *                             message Kakao refused as invalid (-2) twice
 *                             (as it was and as plain text)
 *   DELIVER_META_DEAD_STREAK  messages moved to the dead letters since the
 *                             last one Kakao took (a second in a row holds
 *                             the queue instead)
 */
#ifndef KAKAOWATCH_DELIVER_H
#define KAKAOWATCH_DELIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kakaowatch/config.h"
#include "kakaowatch/http.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

#define DELIVER_META_QUOTA_HOLD "deliver.quota_hold_until"
#define DELIVER_META_BUDGET_DAY "deliver.budget_held_day"
#define DELIVER_META_REMINDED "deliver.reminded_refresh_expiry"
#define DELIVER_META_KAKAO_USED "deliver.kakao_used"
#define DELIVER_META_RETRY_AT "deliver.retry_at"
#define DELIVER_META_RETRY_ATTEMPTS "deliver.retry_attempts"
#define DELIVER_META_RETRY_WAIT "deliver.retry_wait_ms"
#define DELIVER_META_DEAD_PREFIX "deadletter."
#define DELIVER_META_DEAD_STREAK "deliver.dead_streak"

/* remind the user when the refresh token has less than this left
 * (docs/design.md §4) */
#define DELIVER_REMIND_S (7LL * 86400)
/* Kakao rotates a refresh token refreshed with less than a month left
 * (docs/kakao.md §2.2); deliver_token_upkeep refreshes inside that window */
#define DELIVER_ROTATE_WINDOW_S (30LL * 86400)

/* the watch name the daemon's own messages (digest, reminder) are queued as */
#define DELIVER_SELF "kakaowatch"
/* the watch name of grouped failure/recovery notices (not a valid watch
 * name: it has a space); they do not count in max_messages_per_day */
#define DELIVER_NOTICE "kakaowatch notices"
/* the watch name of a quiet-hours digest (deliver_quiet_gate): never
 * folded again; counts in max_messages_per_day like any message */
#define DELIVER_DIGEST "kakaowatch digest"
/* meta key of the open notice group (deliver_notice_add) */
#define DELIVER_META_NOTICE "deliver.notice_group"

enum deliver_sink {
	DELIVER_STDOUT, /* print each template object as one JSON line */
	DELIVER_KAKAO   /* KakaoTalk memo API ("send to me") */
};

struct deliver_report {
	size_t sent;              /* messages that left the outbox */
	size_t dropped;           /* rejected by Kakao as invalid (-2) */
	size_t left;              /* due messages still queued */
	enum kakao_status status; /* KAKAO_OK, or why sending stopped */
	int64_t retry_in_ms;      /* KAKAO_RETRY / RATE_LIMITED: the backoff */
	bool queued;              /* a reminder was queued meanwhile */
	size_t quiet_held;        /* messages held by quiet hours */
	int64_t quiet_until_ms;   /* ... until then (Unix ms), or 0 */
};

/*
 * deliver_resolve_sink maps the configured sink to the one to use now.
 * Only `sink: stdout` prints for sure; `kakao` is KakaoTalk. `auto` is
 * KakaoTalk when the token file exists (or cannot be told apart from
 * existing), and from then on for good in this state dir (remembered as
 * DELIVER_META_KAKAO_USED in `st`): a token file moved aside later makes
 * sending hold (KAKAO_REAUTH), it never prints and deletes the outbox.
 * A state dir that never saw a token file prints (logging once how to
 * connect KakaoTalk). `st` may be NULL (then nothing is remembered). Never
 * fails; a store error counts as "used KakaoTalk".
 */
enum deliver_sink deliver_resolve_sink(const struct config *cfg,
    struct store *st);

/* a message Kakao refused twice (see DELIVER_META_DEAD_PREFIX) */
struct dead_letter {
	int64_t id;          /* its outbox id */
	char *watch;         /* "" for the daemon's own and `send` */
	char *template_json; /* the template object Kakao refused */
	char *error;         /* Kakao's answer, as logged */
	int64_t created_at;  /* queued, Unix ms */
	int64_t dead_at;     /* moved here, Unix ms */
};

/*
 * deliver_dead_list returns the dead letters, oldest id first (heap array:
 * dead_letters_free(*out, *n)). Returns 0 or -1 with `err`.
 */
int deliver_dead_list(struct store *st, struct dead_letter **out, size_t *n,
    struct kw_err *err);

/* dead_letters_free frees the array and its strings. NULL is ok. */
void dead_letters_free(struct dead_letter *v, size_t n);

/*
 * deliver_dead_retry queues dead letter `id` again, at the end of the
 * outbox (as a new message, now_ms: Unix ms), and forgets the streak of
 * refused messages. Returns 0, 1 when there is no such dead letter, -1
 * with `err`.
 */
int deliver_dead_retry(struct store *st, int64_t id, int64_t now_ms,
    struct kw_err *err);

/* deliver_dead_drop deletes dead letter `id`. 0, 1 (none) or -1. */
int deliver_dead_drop(struct store *st, int64_t id, struct kw_err *err);

/*
 * deliver_default_link: the link for messages that have none of their own
 * (`send` without --link, a -2 retried as plain text): kakao.default_link
 * when set, else MESSAGE_FALLBACK_LINK. Borrowed from cfg or static.
 */
const char *deliver_default_link(const struct config *cfg);

/*
 * deliver_kakao_client fills `c` from the config (borrowed strings: valid
 * while cfg is).
 */
void deliver_kakao_client(const struct config *cfg, struct kakao_client *c);

/*
 * deliver_set_abort_flag: while *flag is non-zero (the daemon's stop flag,
 * set by a signal handler), a send batch stops before its next message and
 * a send that failed meanwhile (http aborts it) is not counted as a failed
 * attempt: the message stays due as it was. NULL turns it off.
 * Process-wide, like http_set_abort_flag.
 */
void deliver_set_abort_flag(volatile sig_atomic_t *flag);

/*
 * deliver_outbox sends the outbox's due messages (next_attempt_at <= now_ms;
 * all of them when `all` is true), at most `limit` (0: 1000), through
 * `sink`, in order. stdout: printed on `out` one per line. KakaoTalk: the
 * access token is refreshed first when the refresh policy says so
 * (docs/design.md §4), then each message is sent; on a transient failure (5xx,
 * network, timeout, KOE237) the head message's attempt is counted and the
 * whole queue waits deliver_backoff_ms, and sending stops; on a quota error
 * every message is held until the next 00:00 KST (DELIVER_META_QUOTA_HOLD); on
 * a dead refresh token, missing consent or a configuration error everything
 * is kept and one error line says how to fix it; a template Kakao rejects as
 * invalid (-2) is logged and tried once more as plain text
 * (message_build_minimal); refused again, it moves to the dead letters and
 * the others go on, but a second message in a row refused so stops
 * sending with KAKAO_BAD_TEMPLATE (the queue holds, nothing is emptied). When the refresh
 * token has under DELIVER_REMIND_S left, one reminder is queued (see
 * deliver_token_upkeep). now_ms: Unix ms.
 * Returns 0 when every due message fetched left the outbox, 1 when some are
 * still queued (rep->status says why), -1 on a store error (err).
 */
int deliver_outbox(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, bool all, size_t limit, FILE *out,
    struct deliver_report *rep, struct kw_err *err);

/*
 * deliver_daily is deliver_outbox (due messages only, at most `limit`) for
 * the daemon, with the holds:
 * - while a Kakao quota hold (DELIVER_META_QUOTA_HOLD) lasts, nothing is
 *   sent: every message is deferred to its end (KAKAO_QUOTA, no log line);
 * - the daily budget (max_messages_per_day, counted per Korea-time day,
 *   KakaoTalk only): once it is used up, the remaining messages are held
 *   until 00:00 KST with one warning per day; on the first call of a later
 *   day, the messages created before that day's start are replaced by one
 *   digest message that counts them per watch and links to a page (when
 *   there are two or more; one is simply sent). A used-up budget reports
 *   KAKAO_QUOTA.
 * now_ms: Unix ms. Returns as deliver_outbox.
 */
int deliver_daily(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, size_t limit, FILE *out,
    struct deliver_report *rep, struct kw_err *err);

/* what deliver_quiet_gate did */
struct deliver_quiet {
	size_t held;      /* messages whose quiet hours are on now */
	int64_t until_ms; /* the latest end among them (Unix ms), or 0 */
	size_t folded;    /* messages folded into digests */
};

/*
 * deliver_quiet_gate applies quiet hours to the outbox (docs/design.md
 * §2.8), before any send of deliver_daily and the courier (not of
 * deliver_outbox with `all`: `once --force`). A message's quiet hours are
 * its watch's (config_quiet_hours; notices, reminders and our own
 * messages: the top level's), read in cfg->timezone.
 * 1. Every message whose quiet hours are on at now_ms is held until they
 *    end (store_outbox_hold: next_attempt_at at least the end, so the
 *    daemon's next deadline is the window's end; last_error says why).
 * 2. Among the messages that may go now (held ones skipped), each run of
 *    two or more consecutive messages (outbox order) made inside their
 *    quiet hours (created_at), now over, becomes ONE digest
 *    (message_build_digest) in the place of the run's first message
 *    (store_outbox_fold, watch DELIVER_DIGEST): nothing is reordered and
 *    every message is counted in it. One such message alone goes as it is.
 * Stateless: what is held and folded follows from created_at, the config
 * and the clock, so it survives restarts and clock steps (a message made
 * while the clock read ahead into a window is folded at once).
 * Returns 0 (with *q filled), or -1 with `err` (a store error; nothing
 * half-done: each step is one transaction).
 */
int deliver_quiet_gate(struct store *st, const struct config *cfg,
    int64_t now_ms, struct deliver_quiet *q, struct kw_err *err);

/*
 * deliver_quiet_until: when the quiet hours of `watch`'s messages (NULL:
 * the top level's) are on at now_ms, their end (Unix ms); else 0.
 */
int64_t deliver_quiet_until(const struct config *cfg, const char *watch,
    int64_t now_ms);

/* deliver_quiet_latest: the latest deliver_quiet_until over the top level
 * and every watch, or 0 when no quiet hours are on */
int64_t deliver_quiet_latest(const struct config *cfg, int64_t now_ms);

/*
 * deliver_token_upkeep keeps the KakaoTalk connection alive when nothing
 * is sent for weeks (docs/design.md §4): when the token file's refresh token
 * has under DELIVER_ROTATE_WINDOW_S left and the last refresh was a day or
 * more ago, it refreshes now (Kakao then rotates the refresh token; the file
 * is saved at once). When the refresh token still has under DELIVER_REMIND_S
 * left afterwards (Kakao did not rotate it), it logs a warning and queues
 * ONE reminder message for that refresh token (DELIVER_META_REMINDED), in
 * the outbox like any other message. Does nothing when there is no token
 * file or its refresh expiry is unknown. now_ms: Unix ms; *queued (may be
 * NULL) tells whether a reminder was queued.
 * Returns the Kakao status of the refresh: KAKAO_OK (also when none was
 * needed); KAKAO_RETRY or KAKAO_RATE_LIMITED when it failed for now (a
 * warning was logged; try again later); KAKAO_REAUTH, KAKAO_CONSENT,
 * KAKAO_CONFIG, ... when the user must act (one error line was logged);
 * KAKAO_FATAL with `err` set on a store error.
 */
enum kakao_status deliver_token_upkeep(struct store *st,
    const struct config *cfg, int64_t now_ms, bool *queued, struct kw_err *err);

/*
 * The courier: the daemon's KakaoTalk sender, a small state machine on
 * the loop's curl multi handle (`struct http`) with at most one Kakao
 * request in flight, so checks, reloads, signals and the heartbeat never
 * wait on Kakao:
 *
 *   idle --step--> [refresh] --> send --> idle (done callback)
 *
 * A step takes the holds of deliver_daily (quota, budget and digest, the
 * queue's backoff) and then the head of the outbox: the token is loaded
 * from the file, refreshed first when due (kakao_refresh_begin: the token
 * lock is only tried, a refresh never waits for another process), then the
 * head is sent. Its answer is handled as deliver_outbox handles one
 * message (-401: one refresh and one more try; -2: once more as plain
 * text, then the dead letters, a second in a row holds; transient: the
 * queue's backoff; quota, re-auth, consent: the holds) and the step ends
 * with `done(user, report)`, called from http_poll. Kakao requests are
 * submitted with no_abort: at a clean stop the loop may wait for the one in
 * flight (bounded) so that it is not sent twice.
 */
struct deliver_courier;

/* called once per step that returned 2, from http_poll; `rep` borrowed */
typedef void (
    *deliver_courier_done_fn)(void *user, const struct deliver_report *rep);

/* deliver_courier_new: an idle courier (free with deliver_courier_free);
 * NULL on out-of-memory */
struct deliver_courier *deliver_courier_new(deliver_courier_done_fn done,
    void *user);

/*
 * deliver_courier_free abandons a step in flight without calling `done`
 * (call http_cancel_all first so no callback comes later). NULL ok.
 */
void deliver_courier_free(struct deliver_courier *co);

/* deliver_courier_busy: a step is in flight */
bool deliver_courier_busy(const struct deliver_courier *co);

/*
 * deliver_courier_step starts the next step (KakaoTalk sink): returns 2
 * when a request is in flight (the result comes through `done`; also when
 * one already was), 0 when nothing is due, 1 when sending is held with
 * `rep` telling why (as deliver_daily), -1 with `err` on a store error.
 * `cfg` is copied where needed (a reload may free it meanwhile); `st` and
 * `http` must outlive the step. now_ms: Unix ms.
 */
int deliver_courier_step(struct deliver_courier *co, struct store *st,
    const struct config *cfg, struct http *http, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err);

/*
 * deliver_courier_upkeep is deliver_token_upkeep as a courier step:
 * returns 2 when a refresh is in flight (`done` gets rep->status and
 * rep->queued), 0 when none was needed (rep->queued: a reminder was
 * queued), -1 with `err`.
 */
int deliver_courier_upkeep(struct deliver_courier *co, struct store *st,
    const struct config *cfg, struct http *http, int64_t now_ms,
    struct deliver_report *rep, struct kw_err *err);

/*
 * deliver_backoff_ms: delay before retry number `attempts` (1 = first
 * retry): 5 s doubling up to 1 h, with `jitter` in [0, 1) spreading it by
 * up to +20 %, never over the hour (5 s, 10 s, ... 2560 s, then 1 h).
 * Pure.
 */
int64_t deliver_backoff_ms(int attempts, double jitter);

/*
 * deliver_kst_day writes the Korea Standard Time (UTC+9, no DST) date of
 * now_ms (Unix ms) as "YYYY-MM-DD" into out (at least 11 bytes). Pure.
 */
void deliver_kst_day(int64_t now_ms, char *out, size_t size);

/* deliver_kst_day_start_ms: the 00:00 KST at or before now_ms, Unix ms. */
int64_t deliver_kst_day_start_ms(int64_t now_ms);

/* deliver_next_kst_midnight_ms: the next 00:00 KST after now_ms, Unix ms. */
int64_t deliver_next_kst_midnight_ms(int64_t now_ms);

/*
 * deliver_notice_add queues a "watch is failing" (failing, count = checks
 * in a row, why = the last error) or "recovered" (count = failed checks,
 * why NULL) notice for watch `name` (url: its page, the message's link).
 * Notices queued within cfg->notice_window seconds of the first one of a
 * group go out as ONE message ("3 watches are failing: a, b, c" and a
 * short reason a line, cut by message_build_text): the group is one
 * outbox row (watch DELIVER_NOTICE) due at the group's start +
 * notice_window, rewritten in one transaction as notices join; once due
 * or sent, the next notice starts a new group. notice_window 0: due at
 * once, no grouping. The row stays queued until the sink took it, like
 * any message. Returns 0, or -1 with `err` (nothing queued).
 */
int deliver_notice_add(struct store *st, const struct config *cfg, bool failing,
    const char *name, int count, const char *url, const char *why,
    int64_t now_ms, struct kw_err *err);

/*
 * deliver_notice_flush makes the open notice group due at `now_ms` and
 * closes it (`once`: every check of the run is done, so the group is
 * complete). 0, or -1 with `err`.
 */
int deliver_notice_flush(struct store *st, int64_t now_ms, struct kw_err *err);

#endif
