/*
 * test_deliver_quiet: quiet hours in delivery (deliver.h,
 * deliver_quiet_gate) and the digest they make (message.h,
 * message_build_digest), on a temporary state database with the stdout
 * sink, driven through time by explicit now_ms values: messages made in
 * the window are held until its end (across midnight, Korea time) and go
 * out as one digest in the place of the first, never reordered or
 * dropped; a watch's own window beats the top level's; restarts and clock
 * steps; a DST zone. The digests are checked against Kakao's template
 * rules (docs/kakao.md §5): 2 or 3 contents, titles within 80 and the
 * header within 200 UTF-16 units, absolute links.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kakaowatch/config.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/message.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

#include "deliver_fixture.h"

static void
load(struct deliver_fixture *f, const char *top, const char *more)
{
	deliver_fixture_config(f,
	    "state_dir: %s\n"
	    "kakao: {sink: stdout}\n"
	    "%s\n"
	    "watches:\n"
	    "  - {name: deals, url: 'http://127.0.0.1:9/deals', xpath: //a}\n"
	    "  - {name: news, url: 'http://127.0.0.1:9/news', xpath: //a}\n"
	    "%s",
	    f->state_dir, top, more);
}

static int
setup(void **state)
{
	struct deliver_fixture *f = deliver_fixture_new("quiet");

	load(f, "quiet_hours: 23:00-07:00", "");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	deliver_fixture_free(*state);
	return 0;
}

/* for load's `more`: a watch whose messages are never held */
#define LOUD_WATCH                                                   \
	"  - {name: loud, url: 'http://127.0.0.1:9/l', xpath: //a, " \
	"quiet_hours: 'off'}\n"

/* a night with LOUD_WATCH: deals n1 at 23:30, loud l1 at 00:30 and deals
 * n2 at 01:30 are queued, nothing is delivered yet */
static void
loud_night(struct deliver_fixture *f)
{
	load(f, "quiet_hours: 23:00-07:00", LOUD_WATCH);
	deliver_fixture_queue(f, "deals", "deals: 1 new\nn1", KST(23, 30));
	deliver_fixture_queue(f, "loud", "loud: 1 new\nl1", KST(24, 30));
	deliver_fixture_queue(f, "deals", "deals: 1 new\nn2", KST(25, 30));
}

/* queue a watch's list message of n items "<prefix> 1".."<prefix> n" */
static void
queue_list(struct deliver_fixture *f, const char *watch, const char *prefix,
    size_t n, int64_t at)
{
	struct item_list items;
	struct kw_err err = { 0 };
	char **v = NULL, t[64], l[64];
	size_t nv = 0, i;

	item_list_init(&items);
	for (i = 0; i < n; i++) {
		snprintf(t, sizeof(t), "%s %zu", prefix, i + 1);
		snprintf(l, sizeof(l), "http://127.0.0.1:9/%s/%zu", watch,
		    i + 1);
		assert_int_equal(item_list_add(&items, t, l), 0);
	}
	assert_int_equal(message_build_format(NULL, watch,
			     "http://127.0.0.1:9/p", MESSAGE_ADDED, &items, 1,
			     &v, &nv, &err),
	    0);
	assert_int_equal(nv, 1);
	assert_int_equal(store_outbox_add(f->st, watch, v[0], at, &err), 0);
	message_list_free(v, nv);
	item_list_release(&items);
}

/* deliver to the stdout sink at `at`; the number of messages sent */
static size_t
deliver(struct deliver_fixture *f, int64_t at, struct deliver_report *rep)
{
	deliver_fixture_run(f, DELIVER_STDOUT, at, rep);
	return rep->sent;
}

/* Kakao's rules, as the strict fake checks them */
static size_t
units(const char *s)
{
	return message_count_chars(s);
}

static void
assert_kakao_valid(json_t *t)
{
	const char *type = json_string_value(json_object_get(t, "object_type"));
	json_t *c, *v;
	size_t i;

	assert_non_null(type);
	if (strcmp(type, "text") == 0) {
		assert_true(units(json_string_value(
				json_object_get(t, "text"))) <= 200);
		return;
	}
	assert_string_equal(type, "list");
	assert_true(units(json_string_value(json_object_get(t,
			"header_title"))) <= MESSAGE_HEADER_MAX);
	assert_true(message_url_ok(json_string_value(
	    json_object_get(json_object_get(t, "header_link"), "web_url"))));
	v = json_object_get(t, "contents");
	assert_true(json_array_size(v) >= 2 && json_array_size(v) <= 3);
	json_array_foreach(v, i, c) {
		const char *title =
		    json_string_value(json_object_get(c, "title"));

		assert_non_null(title);
		assert_true(title[0] != '\0');
		assert_true(units(title) <= MESSAGE_TITLE_MAX);
		assert_true(message_url_ok(json_string_value(
		    json_object_get(json_object_get(c, "link"), "web_url"))));
	}
}

static const char *
text_of(json_t *a, size_t i)
{
	return json_string_value(json_object_get(json_array_get(a, i), "text"));
}

static const char *
header_of(json_t *a, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(a, i), "header_title"));
}

static const char *
content_title(json_t *a, size_t i, size_t k)
{
	return json_string_value(json_object_get(
	    json_array_get(json_object_get(json_array_get(a, i), "contents"),
		k),
	    "title"));
}

/* ---- the gate ---- */

static void
test_night_messages_wait_and_go_as_one_digest_at_0700(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	int64_t next = 0;
	json_t *a;

	deliver_fixture_queue(f, "deals", "deals: 1 new\nnight deal 1",
	    KST(23, 30));
	assert_int_equal(deliver(f, KST(23, 30), &rep), 0);
	assert_int_equal(rep.quiet_held, 1);
	assert_int_equal(rep.quiet_until_ms, KST(31, 0));
	/* the daemon's deadline: the window's end */
	assert_int_equal(store_outbox_next_at(f->st, &next, &err), 0);
	assert_int_equal(next, KST(31, 0));
	queue_list(f, "deals", "deal", 2, KST(26, 0));
	assert_int_equal(deliver(f, KST(26, 0), &rep), 0);
	assert_int_equal(deliver(f, KST(30, 59) + 59999, &rep), 0);
	assert_int_equal(deliver_fixture_pending(f), 2);
	/* 07:00:00 KST: one message stands for both */
	assert_int_equal(deliver(f, KST(31, 0), &rep), 1);
	assert_int_equal(deliver_fixture_pending(f), 0);
	a = deliver_fixture_printed(f);
	assert_int_equal(json_array_size(a), 1);
	assert_kakao_valid(json_array_get(a, 0));
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 3 items from deals");
	assert_string_equal(content_title(a, 0, 0), "night deal 1");
	assert_string_equal(content_title(a, 0, 1), "deal 1");
	assert_string_equal(content_title(a, 0, 2), "deal 2");
	json_decref(a);
}

static void
test_digest_keeps_its_place_in_the_queue(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	/* made before the window, not sent yet (e.g. a Kakao outage) */
	deliver_fixture_queue(f, "news", "news: 1 new\nevening", KST(22, 50));
	deliver_fixture_queue(f, "deals", "deals: 1 new\nnight 1", KST(23, 10));
	deliver_fixture_queue(f, "news", "news: 1 new\nnight 2", KST(27, 0));
	assert_int_equal(deliver(f, KST(27, 0), &rep), 0);
	assert_int_equal(rep.quiet_held, 3); /* held: nothing at night */
	/* made after the window, before the first send of the morning */
	deliver_fixture_queue(f, "deals", "deals: 1 new\nmorning",
	    KST(31, 0) + 500);
	assert_int_equal(deliver(f, KST(31, 1), &rep), 3);
	a = deliver_fixture_printed(f);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(text_of(a, 0), "news: 1 new\nevening");
	assert_string_equal(header_of(a, 1),
	    "Quiet hours 23:00-07:00: 2 items from 2 sources");
	assert_string_equal(content_title(a, 1, 0), "deals: night 1");
	assert_string_equal(content_title(a, 1, 1), "news: night 2");
	assert_string_equal(text_of(a, 2), "deals: 1 new\nmorning");
	json_decref(a);
}

static void
test_a_loud_watch_delivers_at_night_the_rest_is_one_digest(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	loud_night(f);
	deliver_fixture_queue(f, "deals", "deals: 1 new\nn3", KST(26, 30));
	/* at night the loud watch's message goes, the others wait */
	assert_int_equal(deliver(f, KST(26, 31), &rep), 1);
	assert_int_equal(rep.quiet_held, 3);
	/* n1, n2 and n3 are consecutive among what may go: one digest */
	assert_int_equal(deliver(f, KST(31, 0), &rep), 1);
	a = deliver_fixture_printed(f);
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(text_of(a, 0), "loud: 1 new\nl1");
	assert_string_equal(header_of(a, 1),
	    "Quiet hours 23:00-07:00: 3 items from deals");
	json_decref(a);
}

static void
test_an_unsent_message_between_night_ones_is_not_overtaken(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	loud_night(f);
	/* not delivered at night (the daemon was down): in the morning the
	 * loud message stays between them, so no digest reorders them */
	assert_int_equal(deliver(f, KST(31, 5), &rep), 3);
	a = deliver_fixture_printed(f);
	assert_string_equal(text_of(a, 0), "deals: 1 new\nn1");
	assert_string_equal(text_of(a, 1), "loud: 1 new\nl1");
	assert_string_equal(text_of(a, 2), "deals: 1 new\nn2");
	json_decref(a);
}

static void
test_a_watch_window_beats_the_top_level_one(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	load(f, "quiet_hours: 23:00-07:00",
	    "  - {name: early, url: 'http://127.0.0.1:9/e', xpath: //a, "
	    "quiet_hours: '22:00-23:00'}\n");
	deliver_fixture_queue(f, "early", "early: 1 new\ne1", KST(22, 10));
	deliver_fixture_queue(f, "deals", "deals: 1 new\nd1", KST(22, 10));
	assert_int_equal(deliver(f, KST(22, 10), &rep), 1); /* deals */
	assert_int_equal(rep.quiet_held, 1);
	assert_int_equal(rep.quiet_until_ms, KST(23, 0));
	assert_int_equal(deliver_quiet_until(f->cfg, "early", KST(22, 30)),
	    KST(23, 0));
	assert_int_equal(deliver_quiet_until(f->cfg, "early", KST(23, 30)), 0);
	assert_int_equal(deliver_quiet_until(f->cfg, "deals", KST(23, 30)),
	    KST(31, 0));
	/* at 23:00 its window is over (the top level's is on, not its) */
	assert_int_equal(deliver(f, KST(23, 0), &rep), 1);
	a = deliver_fixture_printed(f);
	assert_string_equal(text_of(a, 0), "deals: 1 new\nd1");
	assert_string_equal(text_of(a, 1), "early: 1 new\ne1");
	json_decref(a);
}

static void
test_held_messages_survive_a_restart(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	deliver_fixture_queue(f, "deals", "deals: 1 new\nn1", KST(23, 30));
	deliver_fixture_queue(f, "news", "news: 1 new\nn2", KST(23, 40));
	assert_int_equal(deliver(f, KST(23, 45), &rep), 0);
	deliver_fixture_restart(f);
	load(f, "quiet_hours: 23:00-07:00", "");
	assert_int_equal(deliver(f, KST(26, 0), &rep), 0);
	assert_int_equal(deliver(f, KST(31, 30), &rep), 1);
	a = deliver_fixture_printed(f);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 2 items from 2 sources");
	json_decref(a);
	/* the digest is a message like any other: not folded again */
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_after_a_clock_step_back_nothing_waits_for_a_window(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	/* made while the clock read 23:30 and 01:00; it is 20:00 in truth */
	deliver_fixture_queue(f, "deals", "deals: 1 new\nahead 1", KST(23, 30));
	deliver_fixture_queue(f, "deals", "deals: 1 new\nahead 2", KST(25, 0));
	assert_int_equal(deliver(f, KST(20, 0), &rep), 1);
	assert_int_equal(rep.quiet_held, 0);
	assert_int_equal(deliver_fixture_pending(f), 0);
	a = deliver_fixture_printed(f);
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 2 items from deals");
	json_decref(a);
}

static void
test_turning_quiet_hours_off_releases_what_they_hold(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;

	load(f, "quiet_hours: 23:00-07:00",
	    "  - {name: own, url: 'http://127.0.0.1:9/o', xpath: //a, "
	    "quiet_hours: '22:00-06:00'}\n");
	deliver_fixture_queue(f, "deals", "deals: 1 new\nd1", KST(23, 30));
	deliver_fixture_queue(f, "own", "own: 1 new\no1", KST(23, 30));
	assert_int_equal(deliver(f, KST(23, 30), &rep), 0);
	assert_int_equal(rep.quiet_held, 2);
	/* one watch's turned off: its message goes at once */
	load(f, "quiet_hours: 23:00-07:00",
	    "  - {name: own, url: 'http://127.0.0.1:9/o', xpath: //a, "
	    "quiet_hours: 'off'}\n");
	assert_int_equal(deliver(f, KST(24, 0), &rep), 1);
	assert_int_equal(rep.quiet_held, 1);
	/* all turned off: the rest goes at once */
	load(f, "quiet_hours: 'off'", "");
	assert_int_equal(deliver(f, KST(24, 30), &rep), 1);
	assert_int_equal(deliver_fixture_pending(f), 0);
}

static void
test_one_night_message_goes_as_it_is(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	json_t *a;

	deliver_fixture_queue(f, "deals", "deals: 1 new\nonly", KST(23, 30));
	assert_int_equal(deliver(f, KST(24, 0), &rep), 0);
	assert_int_equal(deliver(f, KST(31, 0), &rep), 1);
	a = deliver_fixture_printed(f);
	assert_string_equal(text_of(a, 0), "deals: 1 new\nonly");
	json_decref(a);
}

static void
test_quiet_hours_follow_dst_in_the_configured_zone(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	/* 2026-03-29 01:30 UTC = 03:30 CEST; the window ends 07:00 CEST =
	 * 05:00 UTC (the clocks went forward at 01:00 UTC) */
	int64_t t = 1774747800000LL, end = 1774760400000LL;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	load(f, "quiet_hours: 23:00-07:00\ntimezone: Europe/Berlin", "");
	deliver_fixture_queue(f, "deals", "deals: 1 new\nn1", t);
	assert_int_equal(deliver(f, t, &rep), 0);
	assert_int_equal(rep.quiet_until_ms, end);
	assert_int_equal(deliver(f, end - 1, &rep), 0);
	assert_int_equal(deliver(f, end, &rep), 1);
}

static void
test_notices_are_held_by_the_top_level_window(void **state)
{
	struct deliver_fixture *f = *state;
	struct deliver_report rep;
	struct kw_err err = { 0 };
	json_t *a;

	load(f, "quiet_hours: 23:00-07:00\nnotice_window: 0", LOUD_WATCH);
	assert_int_equal(deliver_notice_add(f->st, f->cfg, true, "loud", 5,
			     "http://127.0.0.1:9/l", "HTTP 503", KST(24, 0),
			     &err),
	    0);
	deliver_fixture_queue(f, "deals", "deals: 1 new\nn1", KST(24, 10));
	assert_int_equal(deliver(f, KST(24, 10), &rep), 0);
	assert_int_equal(rep.quiet_held, 2);
	assert_int_equal(deliver(f, KST(31, 0), &rep), 1);
	a = deliver_fixture_printed(f);
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 2 items from 2 sources");
	assert_non_null(
	    strstr(content_title(a, 0, 0), "loud: watch is failing"));
	assert_string_equal(content_title(a, 0, 1), "deals: n1");
	json_decref(a);
}

/* ---- the digest ---- */

static json_t *
digest(const struct message_digest_part *v, size_t n)
{
	struct kw_err err = { 0 };
	char *s = message_build_digest("23:00-07:00", v, n, &err);
	json_t *t;

	if (s == NULL)
		fail_msg("digest: %s", err.msg);
	t = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(t);
	assert_kakao_valid(t);
	return t;
}

static char *
text_tmpl(const char *text, const char *link)
{
	struct kw_err err = { 0 };
	char *s = message_build_text(text, link, "열기", &err);

	assert_non_null(s);
	return s;
}

/* the digest of n text messages, message i made by watches[i] for one new
 * item titles[i]; as a one-element array for header_of and content_title
 * (caller decrefs) */
static json_t *
digest_of_texts(const char *const *watches, const char *const *titles, size_t n)
{
	struct message_digest_part p[8];
	char *t[8], buf[128];
	json_t *a = json_array();
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s: 1 new\n%s", watches[i],
		    titles[i]);
		t[i] = text_tmpl(buf, "https://x.example/i");
		p[i] = (struct message_digest_part){ watches[i],
			"https://x.example/", false, t[i] };
	}
	json_array_append_new(a, digest(p, n));
	for (i = 0; i < n; i++)
		free(t[i]);
	return a;
}

static void
test_digest_of_one_source_names_two_and_counts_the_rest(void **state)
{
	static const char *const watches[] = { "deals", "deals", "deals",
		"deals", "deals" };
	static const char *const titles[] = { "특가 1", "특가 2", "특가 3",
		"특가 4", "특가 5" };
	json_t *a = digest_of_texts(watches, titles, 5);

	(void)state;
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 5 items from deals");
	assert_string_equal(content_title(a, 0, 0), "특가 1");
	assert_string_equal(content_title(a, 0, 1), "특가 2");
	assert_string_equal(content_title(a, 0, 2),
	    "+3 more: 특가 3 · 특가 4 · 특가 5");
	json_decref(a);
}

static void
test_digest_of_many_sources_counts_every_one(void **state)
{
	static const char *const watches[] = { "a", "b", "c", "d", "b" };
	static const char *const titles[] = { "item 0", "item 1", "item 2",
		"item 3", "item 4" };
	json_t *a = digest_of_texts(watches, titles, 5);

	(void)state;
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 5 items from 4 sources");
	assert_string_equal(content_title(a, 0, 0), "a (1): item 0");
	assert_string_equal(content_title(a, 0, 1), "b (2): item 1 · item 4");
	assert_string_equal(content_title(a, 0, 2),
	    "+2 more sources: c (1), d (1)");
	json_decref(a);
}

static void
test_digest_keeps_the_description_lines(void **state)
{
	/* a feed (one item with a picture: "HEADER\nDESCRIPTION") and a
	 * list whose second content has no description */
	static const char *feed =
	    "{\"object_type\":\"feed\",\"content\":{\"title\":\"SD카드\","
	    "\"description\":\"hot: 1 new\\n15,900원 · SSG\","
	    "\"image_url\":\"https://img.example/7.jpg\","
	    "\"link\":{\"web_url\":\"https://deal.example/7\"}}}";
	static const char *list =
	    "{\"object_type\":\"list\",\"header_title\":\"hot: 2 new\","
	    "\"contents\":[{\"title\":\"충전기\",\"description\":"
	    "\"2.5만원 · 네이버\",\"link\":{\"web_url\":"
	    "\"https://deal.example/9\"}},{\"title\":\"멀티탭\",\"link\":"
	    "{\"web_url\":\"https://deal.example/11\"}}]}";
	struct message_digest_part p[2] = {
		{ "hot", "https://deal.example/", false, feed },
		{ "hot", "https://deal.example/", false, list },
	};
	json_t *d = digest(p, 2), *c;

	(void)state;
	c = json_object_get(d, "contents");
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(c, 0), "description")),
	    "15,900원 · SSG");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(c, 0), "image_url")),
	    "https://img.example/7.jpg");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(c, 1), "description")),
	    "2.5만원 · 네이버");
	assert_null(json_object_get(json_array_get(c, 2), "description"));
	json_decref(d);
}

static void
test_digest_cuts_hangul_titles_on_a_syllable(void **state)
{
	struct message_digest_part p[2];
	char long_title[1200], *t[2];
	json_t *d, *a;
	const char *title;
	size_t i;

	(void)state;
	snprintf(long_title, sizeof(long_title), "deals: 1 new\n");
	for (i = 0; i < 100; i++)
		strcat(long_title, "가격");
	t[0] = text_tmpl(long_title, "https://x.example/1");
	t[1] = strdup("not json {");
	assert_non_null(t[1]);
	p[0] = (struct message_digest_part){ "deals", NULL, false, t[0] };
	p[1] = (struct message_digest_part){ "deals", NULL, false, t[1] };
	d = digest(p, 2);
	a = json_array();
	json_array_append(a, d);
	title = content_title(a, 0, 0);
	assert_int_equal(message_count_chars(title), MESSAGE_TITLE_MAX);
	assert_non_null(strstr(title, "…"));
	/* every 3-byte syllable whole: the byte length is 3 per character */
	assert_int_equal(strlen(title), 3 * MESSAGE_TITLE_MAX);
	/* what cannot be read is still counted, never dropped */
	assert_string_equal(header_of(a, 0),
	    "Quiet hours 23:00-07:00: 2 items from deals");
	assert_string_equal(content_title(a, 0, 1), "(텍스트 없음)");
	json_decref(a);
	json_decref(d);
	free(t[0]);
	free(t[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_night_messages_wait_and_go_as_one_digest_at_0700,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_digest_keeps_its_place_in_the_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_loud_watch_delivers_at_night_the_rest_is_one_digest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_an_unsent_message_between_night_ones_is_not_overtaken,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_watch_window_beats_the_top_level_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_held_messages_survive_a_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_after_a_clock_step_back_nothing_waits_for_a_window,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_turning_quiet_hours_off_releases_what_they_hold, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_night_message_goes_as_it_is, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_quiet_hours_follow_dst_in_the_configured_zone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_notices_are_held_by_the_top_level_window, setup,
		    teardown),
		cmocka_unit_test(
		    test_digest_of_one_source_names_two_and_counts_the_rest),
		cmocka_unit_test(test_digest_of_many_sources_counts_every_one),
		cmocka_unit_test(test_digest_keeps_the_description_lines),
		cmocka_unit_test(test_digest_cuts_hangul_titles_on_a_syllable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
