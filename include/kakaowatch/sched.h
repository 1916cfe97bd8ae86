/*
 * sched: the daemon loop (`kakaowatch run`). One thread; every watch has its
 * own deadline on CLOCK_MONOTONIC; the only wait is curl_multi_poll (via
 * http_poll), bounded by the next deadline and woken by signals (self-pipe)
 * and by inotify on the config file's directory.
 */
#ifndef KAKAOWATCH_SCHED_H
#define KAKAOWATCH_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "kakaowatch/util.h"

/*
 * sched_run loads `config_path` (with XPaths checked), opens the state,
 * and runs until SIGTERM or SIGINT. SIGHUP or a change of the config file
 * reloads it (an invalid file is logged and the old config stays); SIGUSR1
 * logs a status summary. Returns 0 after a clean stop, 2 when the initial
 * config is invalid (errors already printed), -1 with `err` when the state
 * cannot be opened.
 */
int sched_run(const char *config_path, struct kw_err *err);

/*
 * sched_next_check_ms: when the next check is due after one that ended at
 * now_ms: interval_ms spread by +-jitter_pct percent, r in [0, 1) choosing
 * where in that window (r = 0.5: exactly the interval). Never earlier than
 * now_ms + 1000. Pure.
 */
int64_t sched_next_check_ms(int64_t now_ms, int64_t interval_ms,
    double jitter_pct, double r);

/*
 * sched_first_check_ms: the first deadline of a watch at start-up or when
 * it is added. A never-checked watch (last_check_wall_ms == 0) gets its
 * baseline soon: within the first 5 s (spread by r). A watch whose next check
 * is still ahead keeps it (converted from wall time to now_ms's clock); an
 * overdue one is spread over its first interval by r in [0, 1), so that a
 * restart does not fire everything at once. Pure; times in ms, now_ms on
 * the monotonic clock, the *_wall_ms on the Unix clock.
 */
int64_t sched_first_check_ms(int64_t now_ms, int64_t now_wall_ms,
    int64_t last_check_wall_ms, int64_t interval_ms, double r);

#endif
