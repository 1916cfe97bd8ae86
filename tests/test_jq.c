/*
 * test_jq: JSON documents through jq programs -> items (jq.h): outputs,
 * links, keys, compile and run-time errors, non-JSON, and the limits that
 * keep a bad program from stalling the daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/jq.h"
#include "kakaowatch/util.h"

static const char cafe_list[] =
    "{\"message\": {\"status\": \"200\", \"result\": {"
    "  \"articleList\": ["
    "    {\"articleId\": 1201, \"subject\": \"아이폰 15 팝니다\","
    "     \"writer\": {\"nick\": \"사과\"}, \"url\": \"/cafe/articles/1201\"},"
    "    {\"articleId\": 1202, \"subject\": \"  갤럭시\\n탭 S9  \","
    "     \"writer\": {\"nick\": \"별\"}},"
    "    {\"articleId\": 1203, \"subject\": \"맥북 에어\","
    "     \"url\": \"https://cafe.example/x/1203\"}"
    "  ]}}}";

static int
items(const char *program, const char *json, const char *url,
    const struct jq_limits *lim, struct item_list *l, struct kw_err *err)
{
	int rc;

	item_list_init(l);
	kw_err_clear(err);
	rc = jq_items(program, json, strlen(json), url, lim, l, err);
	if (rc != 0) {
		/* "as it was": empty, though its array may have grown */
		assert_int_equal(l->n, 0);
		item_list_release(l);
	}
	return rc;
}

static void
test_jq_nested_list_objects_with_and_without_link(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(items(".message.result.articleList[] | {title: "
			       ".subject, link: .url, key: .articleId}",
			     cafe_list, "https://apis.cafe.example/v1/list?x=1",
			     NULL, &l, &err),
	    0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].text, "아이폰 15 팝니다");
	/* relative links resolve against the URL */
	assert_string_equal(l.v[0].link,
	    "https://apis.cafe.example/cafe/articles/1201");
	/* a number key is written as jq's tostring */
	assert_string_equal(l.v[0].key, "1201");
	/* whitespace normalised as every item text */
	assert_string_equal(l.v[1].text, "갤럭시 탭 S9");
	assert_null(l.v[1].link);
	assert_string_equal(l.v[2].link, "https://cafe.example/x/1203");
	item_list_release(&l);
}

static void
test_jq_strings_are_titles_and_null_is_skipped(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(items(".message.result.articleList[] | "
			       ".writer.nick",
			     cafe_list, NULL, NULL, &l, &err),
	    0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "사과");
	assert_string_equal(l.v[1].text, "별");
	assert_null(l.v[0].key);
	item_list_release(&l);
}

static void
test_jq_wrong_output_types_fail_with_position(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(items(".message.result.articleList[] | .articleId",
			     cafe_list, NULL, NULL, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "jq output 1 is a number"));
	assert_int_equal(l.n, 0);
	assert_int_equal(items(".message.result.articleList[] | {name: "
			       ".subject}",
			     cafe_list, NULL, NULL, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "without a string \"title\""));
}

static void
test_jq_runtime_error_fails_the_run(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	/* the first output is fine, the second indexes a string */
	assert_int_equal(items(".message.result.articleList[] | "
			       "if .articleId == 1202 then .subject.x "
			       "else .subject end",
			     cafe_list, NULL, NULL, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "jq: error (at output 2)"));
	assert_non_null(strstr(err.msg, "Cannot index string"));
	assert_int_equal(l.n, 0); /* nothing half-done is kept */
	assert_int_equal(
	    items("error(\"custom failure\")", "{}", NULL, NULL, &l, &err), -1);
	assert_non_null(strstr(err.msg, "custom failure"));
}

static void
test_jq_response_that_is_not_json(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(items(".[]",
			     "<html><body>502 Bad Gateway</body></html>", NULL,
			     NULL, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_int_equal(items(".[]", "", NULL, NULL, &l, &err), -1);
}

static void
test_jq_huge_array_within_limits(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;
	struct buf b;
	size_t i;
	char want[64];

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "{\"data\":["), 0);
	for (i = 0; i < 9000; i++)
		assert_int_equal(buf_printf(&b,
				     "%s{\"id\":%zu,\"name\":\"공고 %zu\","
				     "\"href\":\"/n/%zu\"}",
				     i ? "," : "", i, i, i),
		    0);
	assert_int_equal(buf_puts(&b, "]}"), 0);
	assert_int_equal(items(".data[] | {title: .name, link: .href, key: "
			       "(.id | tostring)}",
			     b.data, "https://g.example/api", NULL, &l, &err),
	    0);
	assert_int_equal(l.n, 9000);
	snprintf(want, sizeof(want), "공고 %d", 8999);
	assert_string_equal(l.v[8999].text, want);
	assert_string_equal(l.v[8999].link, "https://g.example/n/8999");
	item_list_release(&l);
	/* over max_items: a failure that says so, not a silent cut */
	{
		struct jq_limits lim;

		jq_limits_default(&lim);
		lim.max_items = 1000;
		assert_int_equal(
		    items(".data[] | .name", b.data, NULL, &lim, &l, &err), -1);
		assert_non_null(strstr(err.msg, "more than 1000 items"));
	}
	buf_release(&b);
}

static void
test_jq_endless_programs_are_stopped(void **state)
{
	static const char *const programs[] = {
		"def f: f; f",
		"repeat(1) | empty",
		"[range(1e9)] | length | tostring",
		"last(range(1e12)) | tostring",
	};
	struct jq_limits lim;
	struct kw_err err = { 0 };
	struct item_list l;
	int64_t t0, ms;
	size_t i;

	(void)state;
	jq_limits_default(&lim);
	lim.timeout_ms = 700;
	lim.max_memory_bytes = 256u * 1024 * 1024;
	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		t0 = util_mono_ms();
		assert_int_equal(items(programs[i], "{}", NULL, &lim, &l, &err),
		    -1);
		ms = util_mono_ms() - t0;
		if (strstr(err.msg, "stopped") == NULL &&
		    strstr(err.msg, "out of memory") == NULL)
			fail_msg("'%s': %s", programs[i], err.msg);
		/* the wall-clock bound holds, with room for a loaded box */
		if (ms > 3000)
			fail_msg("'%s' took %lld ms", programs[i],
			    (long long)ms);
	}
}

static void
test_jq_output_size_is_bounded(void **state)
{
	struct jq_limits lim;
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	jq_limits_default(&lim);
	lim.max_output_bytes = 64 * 1024;
	assert_int_equal(items("range(100000) | \"item number \\(.)\"", "{}",
			     NULL, &lim, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "exceeds 65536 bytes"));
}

static void
test_jq_program_sees_no_environment(void **state)
{
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	setenv("KAKAOWATCH_TEST_SECRET", "s3cr3t", 1);
	if (items("[env, $ENV] | map(keys | length) | tostring", "{}", NULL,
		NULL, &l, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].text, "[0,0]");
	item_list_release(&l);
	unsetenv("KAKAOWATCH_TEST_SECRET");
}

static void
test_jq_check_reports_compile_errors_with_line(void **state)
{
	char msg[512];
	unsigned line = 99;

	(void)state;
	assert_int_equal(
	    jq_check(".items[] | {title: .name}", msg, sizeof(msg), &line), 0);
	assert_int_equal(line, 0);
	assert_int_equal(
	    jq_check(".items[] |\n {title: .name", msg, sizeof(msg), &line),
	    -1);
	assert_non_null(strstr(msg, "syntax error"));
	assert_true(line >= 1);
	assert_null(strchr(msg, '\n'));
	assert_int_equal(jq_check(".[] | nosuchfn(1)", msg, sizeof(msg), &line),
	    -1);
	assert_non_null(strstr(msg, "nosuchfn/1 is not defined"));
	assert_int_equal(
	    jq_check("import \"x\" as x; .", msg, sizeof(msg), NULL), -1);
	assert_int_equal(jq_check("  ", msg, sizeof(msg), NULL), -1);
	assert_non_null(strstr(msg, "empty"));
}

/* an output object's other keys are the item's fields */
static void
test_jq_object_keys_are_fields(void **state)
{
	static const char json[] =
	    "[{\"title\": \"SSD\", \"link\": \"/d/1\", \"price\": 89000,"
	    "  \"shop\": \"  G마켓 \", \"free_ship\": true, \"tags\": [1],"
	    "  \"bad-name\": \"x\", \"image\": \"/i/1.jpg\", \"note\": null,"
	    "  \"key\": 7},"
	    " {\"title\": \"HDD\"}]";
	struct kw_err err = { 0 };
	struct item_list l;

	(void)state;
	assert_int_equal(
	    items(".[]", json, "https://d.example/api", NULL, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].key, "7");
	assert_string_equal(item_field(&l.v[0], "price"), "89000");
	assert_string_equal(item_field(&l.v[0], "shop"), "G마켓");
	assert_string_equal(item_field(&l.v[0], "free_ship"), "true");
	assert_string_equal(item_field(&l.v[0], "image"),
	    "https://d.example/i/1.jpg");
	/* arrays, nulls, names that are no field names, title/link/key */
	assert_null(item_field(&l.v[0], "tags"));
	assert_null(item_field(&l.v[0], "note"));
	assert_null(item_field(&l.v[0], "bad-name"));
	assert_null(item_field(&l.v[0], "key"));
	assert_int_equal(l.v[0].nfields, 4);
	assert_int_equal(l.v[1].nfields, 0);
	item_list_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_jq_nested_list_objects_with_and_without_link),
		cmocka_unit_test(
		    test_jq_strings_are_titles_and_null_is_skipped),
		cmocka_unit_test(test_jq_wrong_output_types_fail_with_position),
		cmocka_unit_test(test_jq_runtime_error_fails_the_run),
		cmocka_unit_test(test_jq_response_that_is_not_json),
		cmocka_unit_test(test_jq_huge_array_within_limits),
		cmocka_unit_test(test_jq_endless_programs_are_stopped),
		cmocka_unit_test(test_jq_output_size_is_bounded),
		cmocka_unit_test(test_jq_program_sees_no_environment),
		cmocka_unit_test(test_jq_object_keys_are_fields),
		cmocka_unit_test(
		    test_jq_check_reports_compile_errors_with_line),
	};

	extract_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
