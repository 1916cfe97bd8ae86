/*
 * fields_cost: what `fields:` adds to a check's extraction, on the saved
 * hot-deal boards of ../shared/testdata/realpages. For each board the same
 * page goes through extract_document (decode, HTML5 tree, XPath, items)
 * with the watch's xpath and title only, and with its fields as
 * tests/integration/test_fields_realpages.py declares them (CSS fields
 * written as their XPath translation), interleaved, best of RUNS each (CPU time of the process).
 * Not a test; it prints figures:
 *   build/tests/bench_fields [PAGES_DIR] [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/select.h"
#include "kakaowatch/util.h"

struct board {
	const char *page, *url, *xpath, *title;
	const char *fields[12]; /* name, XPath (or "css:" SELECTOR) pairs */
	size_t nfields;
};

static const struct board boards[] = {
	{ "ko-fmkorea-hotdeal-2026a.html", "https://www.fmkorea.com/hotdeal",
	    "//li[contains(@class, 'li_best2_pop0')]",
	    ".//h3[@class='title']/a",
	    { "shop", ".//div[@class='hotdeal_info']/span[1]/a", "price",
		"css:div.hotdeal_info > span:nth-of-type(2) > a", "shipping",
		".//div[@class='hotdeal_info']/span[3]/a", "comments",
		"translate(.//span[@class='comment_count'], '[]', '')", "image",
		"css:img.thumb" },
	    5 },
	{ "ko-quasarzone-saleinfo-2026a.html",
	    "https://quasarzone.com/bbs/qb_saleinfo",
	    "//div[@class='market-info-list']",
	    ".//span[@class='ellipsis-with-reply-cnt']",
	    { "price", ".//span[@class='text-orange']", "category",
		"css:span.category", "image", "css:img.maxImg" },
	    3 },
	{ "ko-arca-hotdeal-2026.html", "https://arca.live/b/hotdeal",
	    "//div[contains(@class, 'vrow') and contains(@class, 'hybrid')]",
	    ".//a[contains(@class, 'hybrid-title')]",
	    { "price", "css:span.deal-price", "shipping",
		"css:span.deal-delivery", "shop", "css:span.deal-store",
		"image", "css:.vrow-preview img" },
	    4 },
	{ "ko-ppomppu-zboard-2026.euckr.html",
	    "https://www.ppomppu.co.kr/zboard/zboard.php?id=ppomppu",
	    "//tr[contains(@class, 'baseList')][.//a[@class='baseList-title']]",
	    ".//a[@class='baseList-title']",
	    { "shop", ".//em[contains(@class, 'subject_preface')]", "comments",
		"css:span.baseList-c", "category", "css:small.baseList-small",
		"image", "css:a.baseList-thumb > img" },
	    4 },
	{ "ko-ruliweb-1020-2026a.html",
	    "https://bbs.ruliweb.com/market/board/1020",
	    "//tr[contains(@class, 'table_body')]"
	    "[not(contains(@class, 'notice'))]",
	    ".//a[contains(@class, 'subject_link')]",
	    { "comments", "translate(.//a[@class='num_reply'], ' ()', '')",
		"views", "css:td.hit" },
	    2 },
};

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* one extraction; its time in ms, *n the items */
static double
once(const char *body, size_t len, const struct board *b,
    const struct extract_xpath *xp, const struct extract_opts *o, size_t *n)
{
	struct item_list l;
	struct kw_err err = { 0 };
	double t0 = now_ms(), t;

	item_list_init(&l);
	if (extract_document(body, len, "text/html", NULL, b->url, xp, o, &l,
		NULL, &err) != 0) {
		fprintf(stderr, "%s: %s\n", b->page, err.msg);
		exit(1);
	}
	t = now_ms() - t0;
	*n = l.n;
	item_list_release(&l);
	return t;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "../shared/testdata/realpages";
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	double sum_plain = 0, sum_fields = 0;
	size_t i, j;

	extract_global_init();
	printf("extract_document per page, best of %d (CPU ms): title only vs "
	       "title + fields\n",
	    runs);
	for (i = 0; i < sizeof(boards) / sizeof(boards[0]); i++) {
		const struct board *b = &boards[i];
		const char *fx[12];
		char path[4096], *body, *tr[6] = { 0 };
		struct extract_opts plain = { .parser = EXTRACT_PARSER_HTML,
			.title = b->title };
		struct extract_opts full;
		struct extract_xpath *xp;
		struct kw_err err = { 0 };
		double best_p = 1e9, best_f = 1e9, t;
		size_t len, n = 0, nf = 0;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, b->page);
		body = util_read_file(path, 1 << 24, &len, &err);
		if (body == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		for (j = 0; j < b->nfields; j++) {
			fx[2 * j] = b->fields[2 * j];
			fx[2 * j + 1] = b->fields[2 * j + 1];
			if (strncmp(fx[2 * j + 1], "css:", 4) == 0) {
				tr[j] = select_css_to_xpath(fx[2 * j + 1] + 4,
				    NULL, &err);
				fx[2 * j + 1] = tr[j];
			}
		}
		full = plain;
		full.fields = fx;
		full.nfields = b->nfields;
		xp = extract_xpath_compile(b->xpath, &err);
		for (r = 0; r < runs; r++) {
			t = once(body, len, b, xp, r % 2 ? &full : &plain,
			    r % 2 ? &nf : &n);
			if (r % 2 && t < best_f)
				best_f = t;
			if (!(r % 2) && t < best_p)
				best_p = t;
			t = once(body, len, b, xp, r % 2 ? &plain : &full,
			    r % 2 ? &n : &nf);
			if (r % 2 && t < best_p)
				best_p = t;
			if (!(r % 2) && t < best_f)
				best_f = t;
		}
		printf("  %-36s %3zu items %zu fields  %7.3f  %7.3f  +%5.3f ms "
		       "(+%.0f%%)\n",
		    b->page, n, b->nfields, best_p, best_f, best_f - best_p,
		    100 * (best_f - best_p) / best_p);
		sum_plain += best_p;
		sum_fields += best_f;
		extract_xpath_free(xp);
		for (j = 0; j < b->nfields; j++)
			free(tr[j]);
		free(body);
	}
	printf("  all                                                    "
	       "%7.3f  %7.3f  +%5.3f ms (+%.0f%%)\n",
	    sum_plain, sum_fields, sum_fields - sum_plain,
	    100 * (sum_fields - sum_plain) / sum_plain);
	extract_global_cleanup();
	return 0;
}
