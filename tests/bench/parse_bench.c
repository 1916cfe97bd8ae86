/*
 * parse_bench: what the HTML5 tree costs. On the same pages, in one
 * interleaved run, the CPU time of
 *   old    the parser kakaowatch used before issue 12: iconv to UTF-8 (for
 *          pages in another charset), libxml2's htmlReadMemory with the
 *          options extract.c had, the compiled XPath, each match's text
 *          and href (what tests/bench/xpath_floor.c times);
 *   gumbo  gumbo's parse alone: the same iconv, then gumbo_parse_with_options
 *          with the default options (as a user of gumbo would call it) and
 *          gumbo_destroy_output: the floor of any gumbo-based extraction;
 *   new    kakaowatch's extract_items (src/extract.c): charset decision,
 *          decoding, the HTML5 tree (gumbo into libxml2), the XPath, the
 *          items with their text and resolved links, as `once` does it.
 * Each repetition runs the three on every page, page by page, in a
 * rotating order, so machine drift hits all three alike. CPU is
 * CLOCK_PROCESS_CPUTIME_ID around each call.
 *
 * Usage: parse_bench [-m old|gumbo|new] LIST REPS
 * LIST has one page a line: PATH TAB ENCODING TAB XPATH (ENCODING "-": as
 * the page says; else the HTTP charset, for all three). With -m only that
 * one is timed (run.py's floors). Prints one JSON object: pages, bytes,
 * reps, cpu_s_per_pass of each, items per pass of old and new, and the
 * ratios new/gumbo, new/old, gumbo/old.
 *
 * Built by CMake (tests/CMakeLists.txt) as build/tests/parse_bench; not run
 * by ctest.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gumbo.h>
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"

enum { OLD, GUMBO, NEW, NKIND };
static const char *const kind_name[NKIND] = { "old", "gumbo", "new" };

struct page {
	char *path, *content_type, *encoding;
	char *data;
	size_t len;
	xmlXPathCompExprPtr comp;
	struct extract_xpath *xp;
};

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "parse_bench: %s%s%s\n", what, arg ? ": " : "",
	    arg ? arg : "");
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("out of memory", NULL);
	return p;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
file_read(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 18, n = 0, got;
	char *buf;

	if (f == NULL)
		die(strerror(errno), path);
	buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (buf == NULL)
				die("out of memory", NULL);
		}
	}
	fclose(f);
	*data = buf;
	*len = n;
}

/* to UTF-8 with iconv when the list names a charset (as xpath_floor) */
static char *
to_utf8(const struct page *p, size_t *outlen)
{
	iconv_t cd;
	char *out, *in = p->data, *op;
	size_t il = p->len, ol = p->len * 3;

	cd = iconv_open("UTF-8", p->encoding);
	if (cd == (iconv_t)-1)
		die("iconv cannot decode", p->encoding);
	out = xmalloc(p->len * 3 + 1);
	op = out;
	if (iconv(cd, &in, &il, &op, &ol) == (size_t)-1)
		die("iconv failed", p->path);
	iconv_close(cd);
	*outlen = (size_t)(op - out);
	return out;
}

static size_t
run_old(const struct page *p, size_t *sink)
{
	const int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
			 HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
			 HTML_PARSE_IGNORE_ENC | HTML_PARSE_COMPACT;
	const char *text = p->data;
	char *conv = NULL;
	size_t len = p->len, i, n = 0;
	htmlDocPtr doc;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr res;
	xmlChar *s;

	if (p->encoding != NULL)
		text = conv = to_utf8(p, &len);
	doc = htmlReadMemory(text, (int)len, p->path, NULL, opts);
	if (doc == NULL)
		die("libxml2 parse failed", p->path);
	ctx = xmlXPathNewContext(doc);
	res = xmlXPathCompiledEval(p->comp, ctx);
	if (res != NULL && res->type == XPATH_NODESET &&
	    res->nodesetval != NULL) {
		for (i = 0; i < (size_t)res->nodesetval->nodeNr; i++) {
			xmlNodePtr node = res->nodesetval->nodeTab[i];

			s = xmlNodeGetContent(node);
			if (s != NULL) {
				*sink += strlen((const char *)s);
				xmlFree(s);
			}
			s = xmlGetProp(node, (const xmlChar *)"href");
			if (s != NULL) {
				*sink += strlen((const char *)s);
				xmlFree(s);
			}
			n++;
		}
	}
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(conv);
	return n;
}

static size_t
run_gumbo(const struct page *p, size_t *sink)
{
	const char *text = p->data;
	char *conv = NULL;
	size_t len = p->len;
	GumboOutput *g;

	if (p->encoding != NULL)
		text = conv = to_utf8(p, &len);
	g = gumbo_parse_with_options(&kGumboDefaultOptions, text, len);
	if (g == NULL)
		die("gumbo parse failed", p->path);
	*sink += g->root->v.element.children.length;
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	free(conv);
	return 0;
}

static size_t
run_new(const struct page *p, size_t *sink)
{
	struct item_list items;
	struct kw_err err = { 0 };
	size_t i, n;

	item_list_init(&items);
	if (extract_items(p->data, p->len, p->content_type, NULL,
		"http://127.0.0.1/p/", p->xp, &items, &err) != 0)
		die(err.msg, p->path);
	for (i = 0; i < items.n; i++) {
		*sink += strlen(items.v[i].text);
		if (items.v[i].link != NULL)
			*sink += strlen(items.v[i].link);
	}
	n = items.n;
	item_list_release(&items);
	return n;
}

static size_t (*const runner[NKIND])(const struct page *, size_t *) = {
	run_old,
	run_gumbo,
	run_new,
};

static size_t
load(const char *listpath, struct page **out)
{
	FILE *f = fopen(listpath, "r");
	char *line = NULL, *enc, *xpath;
	size_t cap = 0, n = 0, linecap = 0;
	ssize_t got;
	struct page *v = NULL, *p;
	struct kw_err err = { 0 };

	if (f == NULL)
		die(strerror(errno), listpath);
	while ((got = getline(&line, &linecap, f)) > 0) {
		if (line[got - 1] == '\n')
			line[got - 1] = '\0';
		if (line[0] == '\0')
			continue;
		enc = strchr(line, '\t');
		xpath = enc ? strchr(enc + 1, '\t') : NULL;
		if (xpath == NULL)
			die("bad list line", line);
		*enc++ = '\0';
		*xpath++ = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (v == NULL)
				die("out of memory", NULL);
		}
		p = &v[n++];
		memset(p, 0, sizeof(*p));
		p->path = strdup(line);
		if (strcmp(enc, "-") != 0) {
			p->encoding = strdup(enc);
			p->content_type = xmalloc(strlen(enc) + 32);
			sprintf(p->content_type, "text/html; charset=%s", enc);
		}
		p->comp = xmlXPathCompile((const xmlChar *)xpath);
		p->xp = extract_xpath_compile(xpath, &err);
		if (p->comp == NULL || p->xp == NULL)
			die("bad xpath", xpath);
		file_read(p->path, &p->data, &p->len);
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

int
main(int argc, char **argv)
{
	struct page *pages;
	double cpu[NKIND] = { 0 }, t0;
	size_t items[NKIND] = { 0 }, npages, bytes = 0, reps, r, i, j, sink = 0;
	int only = -1, k, a = 1;
	char *end;

	if (argc == 5 && strcmp(argv[1], "-m") == 0) {
		for (k = 0; k < NKIND; k++)
			if (strcmp(argv[2], kind_name[k]) == 0)
				only = k;
		if (only < 0)
			die("unknown mode", argv[2]);
		a = 3;
	} else if (argc != 3) {
		die("usage: parse_bench [-m old|gumbo|new] LIST REPS", NULL);
	}
	errno = 0;
	reps = strtoul(argv[a + 1], &end, 10);
	if (errno != 0 || *end != '\0' || reps == 0)
		die("bad REPS", argv[a + 1]);
	extract_global_init();
	npages = load(argv[a], &pages);
	if (npages == 0)
		die("empty list", argv[a]);
	for (i = 0; i < npages; i++)
		bytes += pages[i].len;
	for (r = 0; r < reps; r++) {
		for (i = 0; i < npages; i++) {
			for (j = 0; j < NKIND; j++) {
				k = (int)((j + r + i) % NKIND);
				if (only >= 0 && k != only)
					continue;
				t0 = cpu_now();
				items[k] += runner[k](&pages[i], &sink);
				cpu[k] += cpu_now() - t0;
			}
		}
	}
	printf("{\"pages\": %zu, \"bytes\": %zu, \"reps\": %zu", npages, bytes,
	    reps);
	for (k = 0; k < NKIND; k++)
		if (only < 0 || k == only)
			printf(", \"%s_cpu_s_per_pass\": %.6f", kind_name[k],
			    cpu[k] / (double)reps);
	if (only < 0)
		printf(", \"old_items\": %zu, \"new_items\": %zu, "
		       "\"new_over_gumbo\": %.3f, \"new_over_old\": %.3f, "
		       "\"gumbo_over_old\": %.3f",
		    items[OLD] / reps, items[NEW] / reps, cpu[NEW] / cpu[GUMBO],
		    cpu[NEW] / cpu[OLD], cpu[GUMBO] / cpu[OLD]);
	printf(", \"sink\": %zu}\n", sink % 1000);
	for (i = 0; i < npages; i++) {
		xmlXPathFreeCompExpr(pages[i].comp);
		extract_xpath_free(pages[i].xp);
		free(pages[i].path);
		free(pages[i].encoding);
		free(pages[i].content_type);
		free(pages[i].data);
	}
	free(pages);
	extract_global_cleanup();
	return 0;
}
