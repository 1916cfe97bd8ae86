/*
 * deliver: move messages from the store's outbox to a sink (SPEC §4-§6).
 *
 * The outbox is the only way out: a message leaves it only after the sink
 * took it (stdout: printed; KakaoTalk: Kakao answered {"result_code":0}).
 * Delivery is at-least-once and in order (FIFO by outbox id).
 */
#ifndef KAKAOWATCH_DELIVER_H
#define KAKAOWATCH_DELIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kakaowatch/config.h"
#include "kakaowatch/kakao.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

enum deliver_sink {
	DELIVER_STDOUT, /* print each template object as one JSON line */
	DELIVER_KAKAO   /* KakaoTalk memo API ("send to me") */
};

struct deliver_report {
	size_t sent;              /* messages that left the outbox */
	size_t dropped;           /* rejected by Kakao as invalid (-2) */
	size_t left;              /* due messages still queued */
	enum kakao_status status; /* KAKAO_OK, or why sending stopped */
};

/*
 * deliver_resolve_sink maps the configured sink to the one to use now:
 * `auto` is KakaoTalk when the token file exists, else stdout (logging once
 * how to connect KakaoTalk). Never fails.
 */
enum deliver_sink deliver_resolve_sink(const struct config *cfg);

/*
 * deliver_kakao_client fills `c` from the config (borrowed strings: valid
 * while cfg is).
 */
void deliver_kakao_client(const struct config *cfg, struct kakao_client *c);

/*
 * deliver_outbox sends the outbox's due messages (next_attempt_at <= now_ms;
 * all of them when `all` is true) through `sink`, in order. stdout: printed
 * on `out` one per line. KakaoTalk: the access token is refreshed first when
 * the refresh policy says so (SPEC §5), then each message is sent; on a
 * transient failure it is deferred with exponential backoff and sending
 * stops; on a quota error every message is held until the next day (Korea
 * time); on a dead refresh token or missing consent everything is kept and
 * an error says how to fix it; a template Kakao rejects as invalid (-2) is
 * logged and dropped, the others go on. now_ms: Unix ms.
 * Returns 0 when every due message left the outbox, 1 when some are still
 * queued (rep says why), -1 on a store error (err).
 */
int deliver_outbox(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, bool all, size_t limit,
    FILE *out, struct deliver_report *rep, struct kw_err *err);

/*
 * deliver_daily is deliver_outbox for the daemon, with the daily budget
 * (max_messages_per_day, counted per Korea-time day, KakaoTalk only): once
 * it is used up, the remaining messages are held until 00:00 KST; then,
 * when more than one message was held, they are replaced by one digest
 * message that counts them per watch and links to the pages (SPEC §6,
 * issue "noise control"). Only due messages are sent. Returns as
 * deliver_outbox; a used-up budget reports KAKAO_QUOTA.
 */
int deliver_daily(struct store *st, const struct config *cfg,
    enum deliver_sink sink, int64_t now_ms, FILE *out,
    struct deliver_report *rep, struct kw_err *err);

/*
 * deliver_backoff_ms: delay before retry number `attempts` (1 = first
 * retry): 30 s doubling up to 1 h, with `jitter` in [0, 1) spreading it by
 * up to +20 %. Pure.
 */
int64_t deliver_backoff_ms(int attempts, double jitter);

/*
 * deliver_kst_day writes the Korea Standard Time (UTC+9, no DST) date of
 * now_ms as "YYYY-MM-DD" into out (at least 11 bytes). Pure.
 */
void deliver_kst_day(int64_t now_ms, char *out, size_t size);

/* deliver_next_kst_midnight_ms: the next 00:00 KST after now_ms, Unix ms. */
int64_t deliver_next_kst_midnight_ms(int64_t now_ms);

#endif
