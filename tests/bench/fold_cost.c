/*
 * fold_cost: the cost of keyword matching (diff_filter: utf8_casefold_nfkc
 * of every item, then substring tests) on 10,000 items, best of 5 runs.
 * Not a test; it prints figures:  build/tests/bench_fold
 *   korean  board titles in Hangul, ASCII and CJK (utf8's fast path)
 *   mixed   half of them with emoji or fullwidth forms (full NFKC folding)
 */
#include <stdio.h>
#include <time.h>

#include "kakaowatch/diff.h"
#include "kakaowatch/item.h"

#define NITEMS 10000

static double
run(const char *const *texts, size_t ntexts)
{
	const char *kw[] = { "보안", "release" }, *ex[] = { "sponsored" };
	struct item_list in, out;
	struct timespec a, b;
	double best = 1e9, t;
	int i, r;

	item_list_init(&in);
	for (i = 0; i < NITEMS; i++)
		item_list_add(&in, texts[(size_t)i % ntexts], "https://x/");
	for (r = 0; r < 5; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		diff_filter(&in, kw, 2, ex, 1, &out);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (double)(b.tv_sec - a.tv_sec) * 1e3 +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		if (t < best)
			best = t;
		item_list_release(&out);
	}
	item_list_release(&in);
	return best;
}

int
main(void)
{
	static const char *const korean[] = {
		"[공지] 2026학년도 1학기 수강신청 일정 안내 (학부생)",
		"Rust 1.80 Release Notes and Security Advisory",
		"[자유] 햏님의 정모 후기 - 보안 업데이트 완료",
		"컴퓨터공학과 졸업작품 전시회 안내 2026 漢字",
	};
	static const char *const mixed[] = {
		"[공지] 2026학년도 1학기 수강신청 일정 안내 (학부생)",
		"Rust 1.80 Release Notes and Security Advisory",
		"똠방각하 햏님의 정모 후기: 보안 업데이트 🇰🇷",
		"ＲＥＬＥＡＳＥ ２０２６ Ünïcode Straße",
	};

	printf("diff_filter, %d items, 2 keywords + 1 exclude, best of 5\n",
	    NITEMS);
	printf("  korean  %7.2f ms\n", run(korean, 4));
	printf("  mixed   %7.2f ms\n", run(mixed, 4));
	return 0;
}
