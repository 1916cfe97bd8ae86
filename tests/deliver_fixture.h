/*
 * deliver_fixture: the set-up the delivery tests share (tests/test_deliver.c,
 * tests/test_deliver_quiet.c): a temporary directory with a config file and
 * a state database, the stdout sink's file, and for the Kakao sink the
 * strict loopback fake Kakao (tests/fakes/fake_kakao.py). Messages are put
 * in the outbox and delivered at explicit now_ms values.
 *
 * Every function here fails the running cmocka test (fail_msg, assert_*)
 * when a step does not work; none returns an error.
 */
#ifndef KW_TESTS_DELIVER_FIXTURE_H
#define KW_TESTS_DELIVER_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "kakaowatch/deliver.h"

#include "fake_server.h"

/* 2026-12-01 00:00 KST == 2026-11-30 15:00 UTC, in ms since the epoch */
#define DEC1_KST_MS 1796050800000LL
/* KST(h, m): Korea time h:m on 2026-12-01 in ms (h >= 24: the next day) */
#define KST(h, m) (DEC1_KST_MS + (h)*3600000LL + (m)*60000LL)

struct deliver_fixture {
	struct fake_server kakao; /* pid 0 until deliver_fixture_kakao */
	char dir[64];             /* the temporary directory */
	char path[128];           /* DIR/kw.yaml, the config file */
	char state_dir[96];       /* DIR/state, the store's */
	char token_file[128];     /* DIR/token.json (not made here) */
	struct config *cfg;       /* NULL until deliver_fixture_config */
	struct store *st;         /* open on state_dir */
	FILE *out;                /* the stdout sink's file (a tmpfile) */
};

/*
 * deliver_fixture_new makes /tmp/kw-TAG-XXXXXX with an open store in its
 * state/ and an empty stdout sink file; no config is loaded yet. The caller
 * frees the fixture with deliver_fixture_free.
 */
struct deliver_fixture *deliver_fixture_new(const char *tag);

/*
 * deliver_fixture_free resets the abort flag (deliver_set_abort_flag),
 * stops the fake Kakao, closes the store, frees the config and removes the
 * temporary directory. NULL is a no-op.
 */
void deliver_fixture_free(struct deliver_fixture *f);

/*
 * deliver_fixture_kakao starts fake_kakao.py for the REST API key
 * `client_id` and the redirect URI `redirect_uri` (both borrowed); its base
 * URL is f->kakao.base. deliver_fixture_free stops it.
 */
void deliver_fixture_kakao(struct deliver_fixture *f, const char *client_id,
    const char *redirect_uri);

/*
 * deliver_fixture_config writes the config text (printf `fmt` and its
 * arguments) to f->path and loads it into f->cfg in the place of the one
 * before; a config error fails the test with its first message.
 */
void deliver_fixture_config(struct deliver_fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* deliver_fixture_restart closes the store and opens it again, as a
 * restarted daemon would */
void deliver_fixture_restart(struct deliver_fixture *f);

/* deliver_fixture_queue puts a text template (`text`, a link to
 * http://127.0.0.1:9/item) for `watch` in the outbox, made at `at` ms */
void deliver_fixture_queue(struct deliver_fixture *f, const char *watch,
    const char *text, int64_t at);

/* deliver_fixture_pending is the number of messages in the outbox */
int64_t deliver_fixture_pending(struct deliver_fixture *f);

/*
 * deliver_fixture_run is deliver_daily to `sink` (into f->out for the
 * stdout sink) at `at` ms, at most 100 messages, the report in `rep`.
 * Returns deliver_daily's 0 (nothing due is left) or 1 (something waits);
 * an error (-1) fails the test.
 */
int deliver_fixture_run(struct deliver_fixture *f, enum deliver_sink sink,
    int64_t at, struct deliver_report *rep);

/*
 * deliver_fixture_printed is what the stdout sink printed into f->out so
 * far, one template object a line, as a JSON array (the caller decrefs); a
 * line that is not JSON fails the test.
 */
json_t *deliver_fixture_printed(struct deliver_fixture *f);

#endif
