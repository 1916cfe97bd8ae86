/*
 * jq_cost: what one check of a `jq:` watch costs (jq.h runs the program in
 * a forked child with limits). Prints, per call, the median of RUNS calls:
 *   fork+wait   a bare fork() of this process + waitpid (the sandbox's floor)
 *   jq_check    compiling a new program in-process (libjq's builtins
 *               included); done once per program and config load (cached)
 *   jq_items    the whole bounded run of a compiled program: fork, parse,
 *               run, records back, items built
 * on a generated JSON list of N articles (default 1000, ~120 KB), for a
 * typical program. Usage: bench_jq [N] [RUNS]. Build: the `bench_jq` target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/jq.h"

static const char program[] =
    ".message.result.articleList[] | {title: .subject, link: .url, key: "
    ".articleId}";

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int runs = argc > 2 ? atoi(argv[2]) : 50, i, st;
	struct kw_err err = { 0 };
	struct item_list l;
	struct buf b;
	double *t, t0;
	char msg[256], prog[sizeof(program) + 64];
	pid_t pid;

	if (n < 1 || runs < 1)
		return 2;
	t = calloc((size_t)runs, sizeof(*t));
	extract_global_init();
	buf_init(&b, 0);
	buf_puts(&b, "{\"message\":{\"result\":{\"articleList\":[");
	for (i = 0; i < n; i++)
		buf_printf(&b,
		    "%s{\"articleId\":%d,\"subject\":\"중고 자전거 "
		    "팝니다 %d\",\"url\":\"/articles/%d\","
		    "\"writer\":{\"nick\":\"사용자%d\"}}",
		    i ? "," : "", i, i, i, i);
	buf_puts(&b, "]}}}");
	for (i = 0; i < runs; i++) {
		t0 = now_ms();
		pid = fork();
		if (pid == 0)
			_exit(0);
		waitpid(pid, &st, 0);
		t[i] = now_ms() - t0;
	}
	printf("fork+wait  %8.3f ms\n", median(t, runs));
	for (i = 0; i < runs; i++) {
		/* a program not seen before: compiled, not from the cache */
		snprintf(prog, sizeof(prog), "(%s) | select(true or %d)",
		    program, i);
		t0 = now_ms();
		if (jq_check(prog, msg, sizeof(msg), NULL) != 0)
			return 1;
		t[i] = now_ms() - t0;
	}
	printf("jq_check   %8.3f ms  (compiling a new program, once per "
	       "config load)\n",
	    median(t, runs));
	for (i = 0; i < runs; i++) {
		item_list_init(&l);
		t0 = now_ms();
		if (jq_items(program, b.data, b.len, "https://cafe.example/",
			NULL, &l, &err) != 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		t[i] = now_ms() - t0;
		if (l.n != (size_t)n)
			return 1;
		item_list_release(&l);
	}
	printf("jq_items   %8.3f ms  (%d items, %zu bytes of JSON)\n",
	    median(t, runs), n, b.len);
	buf_release(&b);
	free(t);
	return 0;
}
