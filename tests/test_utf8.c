/*
 * test_utf8: the one UTF-8 decoder, NFKC case folding, grapheme clusters and
 * display width. Expected forms and cluster boundaries were computed
 * independently with Python (unicodedata.normalize("NFKC", s.casefold())
 * and the `regex` module's \X), not from this module's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kakaowatch/utf8.h"

#define FFFD "\xef\xbf\xbd"

/*
 * In "\xff" "abc" the split ends the \x escape (else it is \xffabc) or
 * shows where a byte sequence ends; clang-format 14 puts each piece of a
 * concatenation on a line of its own, so the few statements with them are
 * in clang-format off blocks.
 */

static void
check_decode(const char *s, size_t n, int want_len, uint32_t want_cp)
{
	uint32_t cp = 0;
	int len = utf8_decode(s, n, &cp);

	assert_int_equal(len, want_len);
	assert_int_equal(cp, want_cp);
}

static void
test_utf8_decode_follows_table_3_7(void **state)
{
	(void)state;
	check_decode("A", 1, 1, 'A');
	check_decode("\0", 1, 1, 0);
	check_decode("\xc3\xa9", 2, 2, 0xE9);
	check_decode("\xea\xb0\x80", 3, 3, 0xAC00);      /* 가 */
	check_decode("\xf0\x9f\x98\x80", 4, 4, 0x1F600); /* 😀 */
	check_decode("\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF);
	/* ill-formed: minus the maximal subpart, U+FFFD */
	check_decode("\xff", 1, -1, UTF8_REPLACEMENT);
	check_decode("\x80", 1, -1, UTF8_REPLACEMENT);
	check_decode("\xc0\xaf", 2, -1, UTF8_REPLACEMENT); /* overlong */
	check_decode("\xc1\xbf", 2, -1, UTF8_REPLACEMENT);
	check_decode("\xe0\x80\x80", 3, -1, UTF8_REPLACEMENT);
	check_decode("\xed\xa0\x80", 3, -1, UTF8_REPLACEMENT); /* surrogate */
	check_decode("\xf4\x90\x80\x80", 4, -1, UTF8_REPLACEMENT);
	check_decode("\xe2\x82x", 3, -2, UTF8_REPLACEMENT); /* truncated */
	check_decode("\xf0\x9f\x98x", 4, -3, UTF8_REPLACEMENT);
	/* never reads past n */
	check_decode("\xf0\x9f\x98\x80", 2, -2, UTF8_REPLACEMENT);
	check_decode("\xea\xb0\x80", 1, -1, UTF8_REPLACEMENT);
}

static void
test_utf8_encode_round_trips_and_refuses_surrogates(void **state)
{
	static const uint32_t cps[] = { 0, 0x41, 0x7F, 0x80, 0x7FF, 0x800,
		0xAC00, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF };
	char buf[UTF8_MAX_BYTES];
	uint32_t cp;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		n = utf8_encode(cps[i], buf);
		assert_int_equal(utf8_decode(buf, n, &cp), (int)n);
		assert_int_equal(cp, cps[i]);
	}
	assert_int_equal(utf8_encode(0xD800, buf), 3);
	assert_memory_equal(buf, FFFD, 3);
	assert_int_equal(utf8_encode(0x110000, buf), 3);
	assert_memory_equal(buf, FFFD, 3);
}

static void
test_utf8_valid_and_repair_agree(void **state)
{
	char *r;
	size_t len;

	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("보안 update \xf0\x9f\x98\x80", 18));
	assert_false(utf8_valid("보안 update \xf0\x9f\x98\x80", 17));
	assert_true(utf8_valid("a\0b", 3));
	assert_false(utf8_valid("abc\xc3", 4));
	assert_false(utf8_valid("\xed\xa0\x80", 3));

	/* clang-format off */
	r = utf8_repair("\xff\xfe" "abc\xe2\x82", 7, &len);
	assert_string_equal(r, FFFD FFFD "abc" FFFD);
	assert_int_equal(len, 12);
	free(r);
	r = utf8_repair("\xed\xa0\x80", 3, NULL);
	assert_string_equal(r, FFFD FFFD FFFD);
	free(r);
	r = utf8_repair("\xf0\x9f\x98" "x", 4, NULL);
	/* clang-format on */
	assert_string_equal(r, FFFD "x");
	free(r);
	r = utf8_repair(NULL, 0, &len);
	assert_string_equal(r, "");
	assert_int_equal(len, 0);
	free(r);
	r = utf8_repair("카카오 " FFFD, strlen("카카오 " FFFD), NULL);
	assert_string_equal(r, "카카오 " FFFD);
	free(r);
	/* only the n bytes given; NUL bytes are dropped, a cut sequence at
	 * the end is one U+FFFD */
	/* clang-format off */
	r = utf8_repair("a\0b\0\xe2\x82" "cd", 6, &len);
	/* clang-format on */
	assert_string_equal(r, "ab" FFFD);
	assert_int_equal(len, 5);
	free(r);
}

static void
check_fold(const char *s, const char *want)
{
	char *got = utf8_casefold_nfkc(s);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void
test_utf8_casefold_nfkc_forms(void **state)
{
	(void)state;
	check_fold("Release NOTES 1.80", "release notes 1.80");
	check_fold("", "");
	check_fold(NULL, "");
	check_fold("Café", "caf\xc3\xa9");
	check_fold("CAFE\xcc\x81", "caf\xc3\xa9"); /* E + U+0301 composes */
	check_fold("ＲＥＬＥＡＳＥ　２０２６", "release 2026");
	check_fold("Die Straße", "die strasse");
	check_fold("ﬁle", "file");
	check_fold("ΛΌΓΟΣ λόγος", "λόγοσ λόγοσ");
	check_fold("①②", "12");
	check_fold("İstanbul", "istanbul");
	/* clang-format off */
	check_fold("re\xc2\xad" "lease", "release"); /* soft hyphen ignored */
	/* "보안" as conjoining jamo (NFD) composes into syllables */
	check_fold("\xe1\x84\x87\xe1\x85\xa9\xe1\x84\x8b\xe1\x85\xa1"
		   "\xe1\x86\xab", "보안");
	check_fold("보안 업데이트", "보안 업데이트");
	/* invalid bytes become U+FFFD, the rest still folds */
	check_fold("\xff" "ABC \xc3", FFFD "abc " FFFD);
	/* clang-format on */
}

static void
test_utf8_casefold_fast_path_agrees_with_full_folding(void **state)
{
	/*
	 * ASCII, Hangul syllables and CJK ideographs take a fast path (only
	 * A-Z change). Each one followed by "①" takes the full utf8proc
	 * path; both must leave it as it is (Python: NFKC(casefold(c)) == c
	 * for all of them).
	 */
	static const uint32_t ranges[][2] = { { 0x20, 0x7E },
		{ 0xAC00, 0xD7A3 }, { 0x4E00, 0x9FFF } };
	char in[16], want[16];
	size_t r, n;
	uint32_t c;
	char *got;

	(void)state;
	check_fold("[공지] 2026학년도 ABC 漢字", "[공지] 2026학년도 abc 漢字");
	for (r = 0; r < 3; r++) {
		for (c = ranges[r][0]; c <= ranges[r][1]; c++) {
			n = utf8_encode(c, in);
			memcpy(want, in, n);
			if (c >= 'A' && c <= 'Z')
				want[0] = (char)(c + 32);
			memcpy(in + n, "\xe2\x91\xa0", 4); /* ① */
			memcpy(want + n, "1", 2);
			got = utf8_casefold_nfkc(in);
			assert_non_null(got);
			if (strcmp(got, want) != 0)
				fail_msg("U+%04X folds to '%s'", (unsigned)c,
				    got);
			free(got);
		}
	}
}

/*
 * contains: does `text` contain `needle` the way keywords match (diff.c):
 * both in utf8_casefold_nfkc form, then utf8_contains_folded
 */
static bool
contains(const char *text, const char *needle)
{
	char *ft = utf8_casefold_nfkc(text), *fn = utf8_casefold_nfkc(needle);
	bool r;

	assert_non_null(ft);
	assert_non_null(fn);
	r = utf8_contains_folded(ft, fn);
	free(ft);
	free(fn);
	return r;
}

static void
test_utf8_contains_matches_nfd_keywords(void **state)
{
	(void)state;
	/* the text decomposed, the keyword precomposed, and the other way */
	assert_true(contains("Le cafe\xcc\x81 du coin", "café"));
	assert_true(contains("Le CAFÉ du coin", "cafe\xcc\x81"));
	assert_true(contains(
	    "[공지] \xe1\x84\x87\xe1\x85\xa9\xe1\x84\x8b\xe1\x85\xa1\xe1\x86\xab"
	    " 업데이트",
	    "보안"));
	assert_true(contains("ＲＥＬＥＡＳＥ notes", "release"));
	/* folding is not accent stripping, and a syllable is not its prefix */
	assert_false(contains("résumé", "resume"));
	assert_false(contains("café", "cafe "));
	assert_false(contains("복지", "보"));
	/* empty and NULL never match */
	assert_false(contains("text", ""));
	assert_false(utf8_contains_folded("text", NULL));
	assert_false(utf8_contains_folded(NULL, "t"));
	assert_false(utf8_contains_folded("abc", ""));
	assert_true(utf8_contains_folded("abc", "bc"));
}

/*
 * check_clusters: `s` splits into grapheme clusters of these byte lengths
 * (0-terminated list), by utf8_grapheme_len and by utf8_grapheme_breaks.
 */
static void
check_clusters(const char *s, const size_t *want)
{
	size_t n = strlen(s), off = 0, k = 0, ncp = 0, i, o;
	uint32_t cps[64];
	bool brk[64];
	size_t cp_off[64];

	for (i = 0; want[i] != 0; i++) {
		size_t g = utf8_grapheme_len(s + off, n - off);

		if (g != want[i])
			fail_msg("'%s' cluster %zu: %zu bytes, want %zu", s, i,
			    g, want[i]);
		off += g;
	}
	assert_int_equal(off, n);
	assert_int_equal(utf8_grapheme_len(s, 0), 0);

	/* the same boundaries from the code point API */
	for (o = 0; o < n; ncp++) {
		int len = utf8_decode(s + o, n - o, &cps[ncp]);

		cp_off[ncp] = o;
		o += (size_t)(len < 0 ? -len : len);
	}
	utf8_grapheme_breaks(cps, ncp, brk);
	off = 0;
	for (i = 0; i < ncp; i++) {
		bool at = cp_off[i] == off;

		if (at) {
			off += want[k++];
		}
		if (brk[i] != at)
			fail_msg("'%s' code point %zu: break %d, want %d", s, i,
			    brk[i], at);
	}
}

static void
test_utf8_grapheme_clusters_of_thai_bengali_tamil_hangul(void **state)
{
	/* Thai: SARA AM is a SpacingMark, tone marks and vowels Extend */
	static const size_t thai_water[] = { 9, 0 };          /* น้ำ */
	static const size_t thai_hello[] = { 3, 6, 3, 6, 0 }; /* สวัสดี */
	static const size_t thai_am[] = { 6, 0 };             /* กำ */
	/* Bengali vowel signs and anusvara; a virama stays with its letter */
	static const size_t bangla[] = { 9, 6, 0 }; /* বাংলা */
	static const size_t bhasha[] = { 6, 6, 0 }; /* ভাষা */
	static const size_t ko_virama[] = { 6, 0 }; /* ক্ */
	/* Tamil: vowel signs and pulli (virama) */
	static const size_t tamil[] = { 3, 6, 6, 0 }; /* தமிழ் */
	static const size_t tamil_ko[] = { 6, 0 };    /* கொ */
	/* Hangul: syllables, and L V T jamo as one cluster */
	static const size_t hangul[] = { 3, 3, 3, 0 }; /* 한국어 */
	static const size_t jamo[] = { 9, 6, 0 };      /* 한 하 (NFD) */
	/* emoji: ZWJ family, skin tone, flag pair; e + acute */
	static const size_t family[] = { 18, 0 };
	static const size_t flags[] = { 8, 8, 0 };
	static const size_t crlf[] = { 2, 1, 0 };

	(void)state;
	check_clusters("น้ำ", thai_water);
	check_clusters("สวัสดี", thai_hello);
	check_clusters("กำ", thai_am);
	check_clusters("বাংলা", bangla);
	check_clusters("ভাষা", bhasha);
	check_clusters("ক্", ko_virama);
	check_clusters("தமிழ்", tamil);
	check_clusters("கொ", tamil_ko);
	check_clusters("한국어", hangul);
	check_clusters("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"
		       "\xe1\x84\x92\xe1\x85\xa1",
	    jamo);
	check_clusters("👨\xe2\x80\x8d👩\xe2\x80\x8d👧", family);
	check_clusters("\xf0\x9f\x87\xb0\xf0\x9f\x87\xb7"
		       "\xf0\x9f\x87\xaf\xf0\x9f\x87\xb5",
	    flags);
	check_clusters("\r\nx", crlf);
}

static void
test_utf8_display_width_counts_hangul_as_two(void **state)
{
	(void)state;
	assert_int_equal(utf8_display_width("rust-blog"), 9);
	assert_int_equal(utf8_display_width("학과공지"), 8);
	assert_int_equal(utf8_display_width("공지-notice"), 11);
	assert_int_equal(utf8_display_width("ＡＢ"), 4);      /* fullwidth */
	assert_int_equal(utf8_display_width("e\xcc\x81"), 1); /* e + acute */
	assert_int_equal(utf8_display_width("😀"), 2);
	/* clang-format off */
	assert_int_equal(utf8_display_width("\xe1\x84\x92\xe1\x85\xa1"
					    "\xe1\x86\xab"), 2); /* 한, NFD */
	assert_int_equal(utf8_display_width("\xff" "a"), 2);
	/* clang-format on */
	assert_int_equal(utf8_display_width(""), 0);
	assert_int_equal(utf8_display_width(NULL), 0);
}

static void
test_utf8_survives_every_short_byte_string(void **state)
{
	unsigned char s[4];
	unsigned a, b;
	char *f;

	(void)state;
	/* every 2-byte string behind a lead byte of each length */
	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			s[0] = (unsigned char)a;
			s[1] = (unsigned char)b;
			s[2] = 0x80;
			s[3] = '\0';
			f = utf8_casefold_nfkc((const char *)s);
			assert_non_null(f);
			assert_true(utf8_valid(f, strlen(f)));
			free(f);
			(void)utf8_display_width((const char *)s);
			(void)utf8_grapheme_len((const char *)s, 3);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_decode_follows_table_3_7),
		cmocka_unit_test(
		    test_utf8_encode_round_trips_and_refuses_surrogates),
		cmocka_unit_test(test_utf8_valid_and_repair_agree),
		cmocka_unit_test(test_utf8_casefold_nfkc_forms),
		cmocka_unit_test(
		    test_utf8_casefold_fast_path_agrees_with_full_folding),
		cmocka_unit_test(test_utf8_contains_matches_nfd_keywords),
		cmocka_unit_test(
		    test_utf8_grapheme_clusters_of_thai_bengali_tamil_hangul),
		cmocka_unit_test(test_utf8_display_width_counts_hangul_as_two),
		cmocka_unit_test(test_utf8_survives_every_short_byte_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
