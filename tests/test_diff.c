/* test_diff: snapshot differences and keyword filters (design.md §2.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/diff.h"
#include "kakaowatch/item.h"

static void
add(struct item_list *l, const char *text, const char *link)
{
	assert_int_equal(item_list_add(l, text, link), 0);
}

/* has returns true when `l` holds (text, link) */
static bool
has(const struct item_list *l, const char *text, const char *link)
{
	struct item want = { .text = (char *)text, .link = (char *)link };
	size_t i;

	for (i = 0; i < l->n; i++)
		if (item_equal(&l->v[i], &want))
			return true;
	return false;
}

/*
 * changes: diff_changes of `cur` against the snapshot `old` when the
 * watch's memory is that snapshot (seen = old); the items carry no key, so
 * identity is text + link and no item can be an edit
 */
static void
changes(const struct item_list *old, const struct item_list *cur,
    struct item_list *added, struct item_list *removed)
{
	struct item_list changed;

	assert_int_equal(diff_changes(old, cur, old, added, &changed, removed),
	    0);
	assert_int_equal(changed.n, 0);
	item_list_release(&changed);
}

static bool
match1(const char *text, const char *word)
{
	const char *words[1] = { word };

	return diff_text_matches(text, words, 1);
}

static void
test_diff_reports_added_and_removed_items(void **state)
{
	struct item_list old, cur, added, removed;

	(void)state;
	item_list_init(&old);
	item_list_init(&cur);
	add(&old, "Rust 1.80", "https://blog/1.80");
	add(&old, "Rust 1.79", "https://blog/1.79");
	add(&cur, "Rust 1.81", "https://blog/1.81");
	add(&cur, "Rust 1.80", "https://blog/1.80");
	add(&cur, "Rust 1.82", "https://blog/1.82");

	changes(&old, &cur, &added, &removed);
	assert_int_equal(added.n, 2);
	/* in page order */
	assert_string_equal(added.v[0].text, "Rust 1.81");
	assert_string_equal(added.v[1].text, "Rust 1.82");
	assert_string_equal(added.v[1].link, "https://blog/1.82");
	assert_int_equal(removed.n, 1);
	assert_string_equal(removed.v[0].text, "Rust 1.79");

	item_list_release(&added);
	item_list_release(&removed);
	item_list_release(&old);
	item_list_release(&cur);
}

static void
test_diff_ignores_reordering(void **state)
{
	struct item_list old, cur, added, removed;

	(void)state;
	item_list_init(&old);
	item_list_init(&cur);
	add(&old, "a", "https://x/a");
	add(&old, "b", "https://x/b");
	add(&old, "c", NULL);
	add(&cur, "c", NULL);
	add(&cur, "a", "https://x/a");
	add(&cur, "b", "https://x/b");

	changes(&old, &cur, &added, &removed);
	assert_int_equal(added.n, 0);
	assert_int_equal(removed.n, 0);

	item_list_release(&old);
	item_list_release(&cur);
}

static void
test_diff_counts_duplicates_once(void **state)
{
	struct item_list old, cur, added, removed;

	(void)state;
	item_list_init(&old);
	item_list_init(&cur);
	add(&old, "gone", NULL);
	add(&old, "gone", NULL);
	add(&old, "stay", NULL);
	add(&cur, "stay", NULL);
	add(&cur, "new", "https://x/n");
	add(&cur, "stay", NULL);
	add(&cur, "new", "https://x/n");

	changes(&old, &cur, &added, &removed);
	assert_int_equal(added.n, 1);
	assert_string_equal(added.v[0].text, "new");
	assert_int_equal(removed.n, 1);
	assert_string_equal(removed.v[0].text, "gone");

	item_list_release(&added);
	item_list_release(&removed);
	item_list_release(&old);
	item_list_release(&cur);
}

static void
test_diff_tells_links_apart_including_null(void **state)
{
	struct item_list old, cur, added, removed;

	(void)state;
	item_list_init(&old);
	item_list_init(&cur);
	add(&old, "same text", NULL);
	add(&old, "moved", "https://x/old");
	add(&cur, "same text", "");
	add(&cur, "moved", "https://x/new");

	changes(&old, &cur, &added, &removed);
	assert_int_equal(added.n, 2);
	assert_true(has(&added, "same text", ""));
	assert_true(has(&added, "moved", "https://x/new"));
	assert_int_equal(removed.n, 2);
	assert_true(has(&removed, "same text", NULL));
	assert_true(has(&removed, "moved", "https://x/old"));
	assert_null(removed.v[0].link);

	item_list_release(&added);
	item_list_release(&removed);
	item_list_release(&old);
	item_list_release(&cur);
}

static void
test_diff_treats_null_and_empty_lists_as_empty(void **state)
{
	struct item_list cur, empty, added, removed;

	(void)state;
	item_list_init(&cur);
	item_list_init(&empty);
	add(&cur, "first", NULL);

	changes(NULL, &cur, &added, &removed);
	assert_int_equal(added.n, 1);
	assert_int_equal(removed.n, 0);
	item_list_release(&added);

	changes(&cur, &empty, &added, &removed);
	assert_int_equal(added.n, 0);
	assert_int_equal(removed.n, 1);
	item_list_release(&removed);

	changes(NULL, NULL, &added, &removed);
	assert_int_equal(added.n + removed.n, 0);

	item_list_release(&cur);
}

static void
test_diff_handles_ten_thousand_items(void **state)
{
	struct item_list old, cur, added, removed;
	char text[64], link[64];
	size_t i;

	(void)state;
	item_list_init(&old);
	item_list_init(&cur);
	/* old: items 0..9999; cur: items 500..10499 in reverse order */
	for (i = 0; i < 10000; i++) {
		snprintf(text, sizeof(text), "article %zu", i);
		snprintf(link, sizeof(link), "https://news.example/%zu", i);
		add(&old, text, link);
	}
	for (i = 10500; i-- > 500;) {
		snprintf(text, sizeof(text), "article %zu", i);
		snprintf(link, sizeof(link), "https://news.example/%zu", i);
		add(&cur, text, link);
	}

	changes(&old, &cur, &added, &removed);
	assert_int_equal(added.n, 500);
	assert_int_equal(removed.n, 500);
	/* added in cur order (descending), removed in old order */
	assert_string_equal(added.v[0].text, "article 10499");
	assert_string_equal(added.v[499].text, "article 10000");
	assert_string_equal(removed.v[0].text, "article 0");
	assert_string_equal(removed.v[499].text, "article 499");
	for (i = 0; i < added.n; i++) {
		assert_string_not_equal(added.v[i].text, "article 9999");
		assert_true(strtoll(added.v[i].text + 8, NULL, 10) >= 10000);
	}
	for (i = 0; i < removed.n; i++)
		assert_true(strtoll(removed.v[i].text + 8, NULL, 10) < 500);

	item_list_release(&added);
	item_list_release(&removed);
	item_list_release(&old);
	item_list_release(&cur);
}

static void
test_diff_matches_ascii_case_insensitively(void **state)
{
	(void)state;
	assert_true(match1("Rust 1.80 RELEASE notes", "release"));
	assert_true(match1("security advisory", "SECURITY"));
	assert_true(match1("Rust 1.80 release notes", "RELEASE"));
	assert_false(match1("Rust 1.80 relase notes", "release"));
	assert_false(match1("anything", ""));
	assert_false(match1(NULL, "x"));
	assert_false(diff_text_matches("anything", NULL, 0));
}

static void
test_diff_matches_any_of_several_words(void **state)
{
	const char *words[] = { "security", NULL, "release" };

	(void)state;
	assert_true(diff_text_matches("New Release", words, 3));
	assert_true(diff_text_matches("SECURITY fix", words, 3));
	assert_false(diff_text_matches("Blog post", words, 3));
	assert_false(diff_text_matches("New Release", words, 0));
}

static void
test_diff_folds_accented_latin_greek_and_cyrillic(void **state)
{
	(void)state;
	assert_true(match1("Ünïcode support", "üNÏCODE"));
	assert_true(match1("üNÏCODE", "Ünïcode"));
	assert_true(match1("Crème BRÛLÉE", "brûlée"));
	assert_true(match1("ĐIỆN THOẠI mới", "điện thoại")); /* Vietnamese */
	assert_true(match1("ΑΣΦΑΛΕΙΑ", "ασφαλεια"));
	assert_true(match1("λόγος", "ΛΌΓΟΣ")); /* final sigma */
	assert_true(match1("ОБНОВЛЕНИЕ безопасности", "обновление"));
	assert_true(match1("ЁЖ", "ёж"));
	assert_true(match1("Die Straße", "STRASSE"));
	assert_true(match1("ﬁle system", "FILE"));
	/* folding is not accent stripping */
	assert_false(match1("résumé", "resume"));
	assert_false(match1("Ünïcode", "unicode"));
}

static void
test_diff_matches_decomposed_text_and_keywords(void **state)
{
	(void)state;
	/* NFD text from a page, NFC keyword from the YAML, and back */
	assert_true(match1("Nouveau cafe\xcc\x81 ouvert", "café"));
	assert_true(match1("Nouveau CAFÉ ouvert", "cafe\xcc\x81"));
	assert_true(match1("Ångström", "a\xcc\x8angstro\xcc\x88m"));
	/* compatibility forms: circled digits, ligatures, soft hyphens */
	assert_true(match1("version ②", "version 2"));
	/* the split shows the soft hyphen's bytes (clang-format 14 puts each
	   piece of a concatenation on a line of its own) */
	/* clang-format off */
	assert_true(match1("re\xc2\xad" "lease notes", "release"));
	/* clang-format on */
	assert_false(match1("cafe", "café"));
}

static void
test_diff_folds_fullwidth_ascii(void **state)
{
	(void)state;
	assert_true(match1("ＲＥＬＥＡＳＥ ２０２６", "release 2026"));
	assert_true(match1("release", "ｒｅｌｅａｓｅ"));
	assert_true(match1("ver　２", "VER 2")); /* U+3000 ideographic space */
}

static void
test_diff_matches_hangul_and_cjk_as_is(void **state)
{
	/* "보안" written with conjoining jamo (NFD) */
	const char *nfd = "\xe1\x84\x87\xe1\x85\xa9\xe1\x84\x8b\xe1\x85\xa1"
			  "\xe1\x86\xab";

	(void)state;
	assert_true(match1("[공지] 보안 업데이트 안내", "보안"));
	assert_false(match1("[공지] 보험 안내", "보안"));
	assert_true(match1("セキュリティ更新", "更新"));
	assert_true(match1(nfd, "보안"));
	assert_true(match1("긴급 보안 패치", nfd));
	/* a syllable is not its prefix: 복 (with final) does not match 보 */
	assert_false(match1("복지", "보"));
}

static void
test_diff_survives_invalid_utf8(void **state)
{
	const char *bad =
	    "\xff\xfe RELEASE \xc3 \xe2\x82 \xed\xa0\x80 \xc0\xaf";

	(void)state;
	assert_true(match1(bad, "release"));
	assert_true(match1(bad, "\xff\xfe"));
	assert_true(match1("abc\xc3", "ABC\xc3"));
	assert_false(match1(bad, "missing"));
	/* a truncated sequence at the end must not read past the NUL */
	assert_false(match1("\xf0\x9f", "x"));
	assert_true(match1("x\xf0\x9f", "X"));
}

static void
test_diff_filter_keeps_keyword_matches_and_drops_excluded(void **state)
{
	const char *keywords[] = { "release", "보안" };
	const char *exclude[] = { "SPONSORED" };
	struct item_list in, out;

	(void)state;
	item_list_init(&in);
	add(&in, "Rust 1.80 Release", "https://x/1");
	add(&in, "Sponsored: release your potential", "https://ad");
	add(&in, "긴급 보안 공지", NULL);
	add(&in, "Cooking tips", "https://x/2");

	assert_int_equal(diff_filter(&in, keywords, 2, exclude, 1, &out), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].text, "Rust 1.80 Release");
	assert_string_equal(out.v[0].link, "https://x/1");
	assert_string_equal(out.v[1].text, "긴급 보안 공지");
	assert_null(out.v[1].link);
	item_list_release(&out);

	/* no keywords: everything not excluded */
	assert_int_equal(diff_filter(&in, NULL, 0, exclude, 1, &out), 0);
	assert_int_equal(out.n, 3);
	assert_false(
	    has(&out, "Sponsored: release your potential", "https://ad"));
	item_list_release(&out);

	/* neither: a copy */
	assert_int_equal(diff_filter(&in, NULL, 0, NULL, 0, &out), 0);
	assert_int_equal(out.n, 4);
	item_list_release(&out);

	item_list_release(&in);
}

static void
test_diff_filter_matches_text_not_link(void **state)
{
	const char *keywords[] = { "security" };
	struct item_list in, out;

	(void)state;
	item_list_init(&in);
	add(&in, "Weekly digest", "https://x/security/weekly");

	assert_int_equal(diff_filter(&in, keywords, 1, NULL, 0, &out), 0);
	assert_int_equal(out.n, 0);
	item_list_release(&out);
	item_list_release(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_reports_added_and_removed_items),
		cmocka_unit_test(test_diff_ignores_reordering),
		cmocka_unit_test(test_diff_counts_duplicates_once),
		cmocka_unit_test(test_diff_tells_links_apart_including_null),
		cmocka_unit_test(
		    test_diff_treats_null_and_empty_lists_as_empty),
		cmocka_unit_test(test_diff_handles_ten_thousand_items),
		cmocka_unit_test(test_diff_matches_ascii_case_insensitively),
		cmocka_unit_test(test_diff_matches_any_of_several_words),
		cmocka_unit_test(
		    test_diff_folds_accented_latin_greek_and_cyrillic),
		cmocka_unit_test(
		    test_diff_matches_decomposed_text_and_keywords),
		cmocka_unit_test(test_diff_folds_fullwidth_ascii),
		cmocka_unit_test(test_diff_matches_hangul_and_cjk_as_is),
		cmocka_unit_test(test_diff_survives_invalid_utf8),
		cmocka_unit_test(
		    test_diff_filter_keeps_keyword_matches_and_drops_excluded),
		cmocka_unit_test(test_diff_filter_matches_text_not_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
