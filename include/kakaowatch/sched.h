/*
 * sched: the daemon loop (`kakaowatch run`). One thread; every watch has its
 * own deadline on CLOCK_MONOTONIC; the only waits are curl_multi_poll (via
 * http_poll), bounded by the next deadline and woken by signals (self-pipe)
 * and by inotify (the config file's directory; the token file's directory
 * while sending is held), and the synchronous Kakao requests of a send batch
 * (kakao.h), which a stop signal aborts within about a second. Browsers of
 * render: browser watches run beside it (render.h, at most browser_max):
 * their sockets and pidfds are among the descriptors it waits on, and
 * render_step moves them along after each wait; a stop kills them.
 *
 * Each turn: reload when due -> deliver the outbox when due -> start due
 * checks -> housekeeping (heartbeat, history trim, token upkeep) -> wait.
 *
 * Reload (SIGHUP, or the config file changed and 300 ms passed without
 * another change): the file is loaded into a new configuration with its
 * XPaths compiled; only when that succeeds is it swapped in. Checks in
 * flight finish on the configuration they started with. Added watches
 * start (a never-checked one within SCHED_NEW_WATCH_MS), removed ones stop,
 * edited ones keep their schedule, failures and history and use the new
 * values from their next check (a shorter interval applies at once). An
 * unchanged file (same bytes) is not reloaded.
 *
 * Sending is held, with one error line, on a dead refresh token, missing
 * consent or a configuration error reported by Kakao; it resumes by itself
 * when the token file changes (a new `kakaowatch auth`) or the
 * configuration is reloaded, and for holds that may pass by themselves
 * after an hour. Quota holds live in deliver (until 00:00 KST).
 *
 * State for `status`: each watch's next check (store next_check_at), the
 * heartbeat (every 15 s; 0 after a clean stop) and the meta key
 * SCHED_META_HOLD (why sending is held, while it is).
 */
#ifndef KAKAOWATCH_SCHED_H
#define KAKAOWATCH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/config.h"
#include "kakaowatch/util.h"

/* a never-checked watch gets its first check within this (ms) ... */
#define SCHED_NEW_WATCH_MS 5000
/* ... spread by this much per never-checked watch starting with it (ms) */
#define SCHED_NEW_WATCH_STEP_MS 250
/* overdue watches are spread over their interval, at most this (ms) */
#define SCHED_SPREAD_MAX_MS (5 * 60 * 1000)
/* the daemon writes its heartbeat this often (ms) */
#define SCHED_HEARTBEAT_MS (15 * 1000)
/* store meta key: kakao_status_name() of the current send hold */
#define SCHED_META_HOLD "sched.send_hold"

/*
 * sched_run loads `config_path` (with XPaths checked), opens the state,
 * and runs until SIGTERM or SIGINT. SIGHUP or a change of the config file
 * reloads it (an invalid file is logged with FILE:LINE:COL and the old
 * config stays); SIGUSR1 logs a status summary. Returns 0 after a clean
 * stop, 2 when the initial config is invalid (errors already printed on
 * stderr), -1 with `err` when the state cannot be opened (e.g. another
 * kakaowatch holds its lock) or the loop fails.
 */
int sched_run(const char *config_path, struct kw_err *err);

/*
 * sched_next_check_ms: when the next check is due after one that ended at
 * now_ms: interval_ms spread by +-jitter_pct percent, r in [0, 1) choosing
 * where in that window (r = 0.5: exactly the interval). Never earlier than
 * now_ms + 1000. Pure; ms on any one clock.
 */
int64_t sched_next_check_ms(int64_t now_ms, int64_t interval_ms,
    double jitter_pct, double r);

/*
 * sched_first_check_ms: the first deadline of a watch at start-up or when
 * it is added by a reload, r in [0, 1) spreading it.
 * - Never checked (last_check_wall_ms <= 0): its baseline comes soon, at
 *   now_ms + r * min(SCHED_NEW_WATCH_MS, nnew * SCHED_NEW_WATCH_STEP_MS),
 *   where nnew counts the never-checked watches starting together (a first
 *   start with 40 watches spreads them over 5 s; one added watch starts
 *   within 250 ms).
 * - A next check still ahead (next_check_wall_ms, the one the last run
 *   planned; else last check + interval) keeps it, but never further than
 *   one interval away (the interval may have been shortened meanwhile).
 * - Overdue: spread over min(interval, SCHED_SPREAD_MAX_MS) by r, so that a
 *   restart does not fire every watch at once.
 * Pure; now_ms on the monotonic clock, the *_wall_ms on the Unix clock
 * (0 = none), the result on the monotonic clock.
 */
int64_t sched_first_check_ms(int64_t now_ms, int64_t now_wall_ms,
    int64_t last_check_wall_ms, int64_t next_check_wall_ms, int64_t interval_ms,
    size_t nnew, double r);

/* sched_match.old of a watch that is not matched */
#define SCHED_NONE ((size_t)-1)

/* what a reload does with one watch of the new configuration */
struct sched_match {
	size_t old;   /* the scheduled watch it continues (index into the
	                 `old` array), or SCHED_NONE: added (or disabled) */
	bool changed; /* continued with other values (!config_watch_equal) */
};

/*
 * sched_reconcile, the pure step of a reload: matches the watches of a new
 * configuration against the ones scheduled, by name (byte-wise; the name
 * is a watch's identity, so a renamed watch is one removed and one added).
 *
 * old[0..nold): the scheduled watches' configurations (borrowed; names
 * unique). nw[0..nnew): the new configuration's watches (borrowed; names
 * unique, as config_load guarantees); disabled ones are not scheduled and
 * get match SCHED_NONE. Outputs, caller-allocated: match[0..nnew), and
 * kept[0..nold), true when an enabled new watch continues old[j] (false:
 * removed). A watch is added when it is enabled and match.old is
 * SCHED_NONE.
 *
 * O((nold + nnew) log(nold + nnew)) name comparisons (sort and merge).
 * Returns 0, or -1 on out-of-memory (outputs unspecified).
 */
int sched_reconcile(const struct watch_config *const *old, size_t nold,
    const struct watch_config *nw, size_t nnew, struct sched_match *match,
    bool *kept);

#endif
