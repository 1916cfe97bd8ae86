/*
 * xpath_floor: the CPU cost of what kakaowatch cannot avoid for a page:
 * parsing the HTML with libxml2 and evaluating the watch's XPath. It is the
 * "floor" the benchmark compares kakaowatch's CPU with (tests/bench/run.py).
 *
 * Usage: xpath_floor LIST REPS
 *        xpath_floor -c LIST
 *
 * LIST has one page a line: PATH TAB ENCODING TAB XPATH, where ENCODING is
 * "-" to let libxml2 find it (BOM, <meta>) or a name iconv knows (what the
 * HTTP Content-Type would say). Every file is read into memory first, every
 * distinct XPath is compiled once; then REPS passes each parse every page
 * with htmlReadMemory (HTML_PARSE_RECOVER | NOERROR | NOWARNING | NONET |
 * IGNORE_ENC | COMPACT: the options of kakaowatch's src/extract.c; like
 * kakaowatch, a page in another charset is converted to UTF-8 with iconv
 * first, inside the timed pass), evaluate its compiled
 * XPath, and touch every match the way an item needs it (its text content,
 * and its href). Only the passes are timed (getrusage, user + system).
 *
 * Prints one JSON object: pages, reps, bytes per pass, nodes per pass,
 * cpu_s_per_pass, and maxrss_kb. With -c it instead prints, for each page,
 * "MATCHES TAB PATH TAB FIRST-MATCH-TEXT" (run.py uses it to keep only pages whose XPath
 * matches, and to check that a changed page gained an item).
 *
 * Not part of the CMake build: run.py compiles it with
 *   cc -O2 xpath_floor.c $(pkg-config --cflags --libs libxml-2.0)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>

struct page {
	char *path;
	char *encoding; /* NULL: UTF-8 already */
	iconv_t cd;     /* encoding -> UTF-8, when encoding is set */
	char *data;
	size_t len;
	size_t expr; /* index into the compiled XPaths */
};

struct floor {
	struct page *pages;
	size_t npages, cap;
	char **xpaths;
	xmlXPathCompExprPtr *comps;
	size_t nxpaths;
};

static void
die(const char *what, const char *arg)
{
	fprintf(stderr, "xpath_floor: %s%s%s\n", what, arg ? ": " : "",
	    arg ? arg : "");
	exit(2);
}

static void *
xrealloc(void *p, size_t n)
{
	void *q;

	q = realloc(p, n);
	if (q == NULL)
		die("out of memory", NULL);
	return q;
}

static char *
xstrdup(const char *s)
{
	char *d;

	d = strdup(s);
	if (d == NULL)
		die("out of memory", NULL);
	return d;
}

static void
file_read(const char *path, char **data, size_t *len)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	f = fopen(path, "rb");
	if (f == NULL)
		die(strerror(errno), path);
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 262144;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die("read error", path);
	fclose(f);
	*data = buf;
	*len = n;
}

static size_t
floor_xpath(struct floor *fl, const char *xpath)
{
	size_t i;

	for (i = 0; i < fl->nxpaths; i++)
		if (strcmp(fl->xpaths[i], xpath) == 0)
			return i;
	fl->xpaths = xrealloc(fl->xpaths, (fl->nxpaths + 1) * sizeof(char *));
	fl->comps = xrealloc(fl->comps,
	    (fl->nxpaths + 1) * sizeof(xmlXPathCompExprPtr));
	fl->xpaths[fl->nxpaths] = xstrdup(xpath);
	fl->comps[fl->nxpaths] = xmlXPathCompile((const xmlChar *)xpath);
	if (fl->comps[fl->nxpaths] == NULL)
		die("bad xpath", xpath);
	return fl->nxpaths++;
}

static void
floor_load(struct floor *fl, const char *listpath)
{
	FILE *f;
	char *line = NULL, *enc, *xpath;
	size_t linecap = 0;
	ssize_t n;
	struct page *p;

	f = fopen(listpath, "r");
	if (f == NULL)
		die(strerror(errno), listpath);
	while ((n = getline(&line, &linecap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (line[0] == '\0')
			continue;
		enc = strchr(line, '\t');
		if (enc == NULL)
			die("bad list line", line);
		*enc++ = '\0';
		xpath = strchr(enc, '\t');
		if (xpath == NULL)
			die("bad list line", line);
		*xpath++ = '\0';
		if (fl->npages == fl->cap) {
			fl->cap = fl->cap ? fl->cap * 2 : 256;
			fl->pages =
			    xrealloc(fl->pages, fl->cap * sizeof(struct page));
		}
		p = &fl->pages[fl->npages++];
		p->path = xstrdup(line);
		p->encoding = strcmp(enc, "-") == 0 ? NULL : xstrdup(enc);
		if (p->encoding != NULL) {
			p->cd = iconv_open("UTF-8", p->encoding);
			if (p->cd == (iconv_t)-1)
				die("iconv cannot decode", p->encoding);
		}
		p->expr = floor_xpath(fl, xpath);
		file_read(p->path, &p->data, &p->len);
	}
	free(line);
	fclose(f);
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * one page: parse, evaluate, touch each match; returns the match count.
 * `first` (may be NULL) receives the first match's text (caller frees).
 */
static size_t
page_extract(const struct page *p, xmlXPathCompExprPtr comp, size_t *sink,
    char **first)
{
	const int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
			 HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
			 HTML_PARSE_IGNORE_ENC | HTML_PARSE_COMPACT;
	htmlDocPtr doc;
	const char *text = p->data;
	char *conv = NULL, *in, *outp;
	size_t textlen = p->len, inleft, outleft;
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr res;
	xmlNodePtr node;
	xmlChar *s;
	size_t i, nodes = 0;

	if (p->encoding != NULL) {
		/* one output buffer of the worst case: 3 bytes per input byte */
		conv = xrealloc(NULL, p->len * 3 + 1);
		in = p->data;
		inleft = p->len;
		outp = conv;
		outleft = p->len * 3;
		iconv(p->cd, NULL, NULL, NULL, NULL);
		if (iconv(p->cd, &in, &inleft, &outp, &outleft) == (size_t)-1)
			die("iconv failed", p->path);
		text = conv;
		textlen = (size_t)(outp - conv);
	}
	doc = htmlReadMemory(text, (int)textlen, p->path, NULL, opts);
	if (doc == NULL)
		die("parse failed", p->path);
	ctx = xmlXPathNewContext(doc);
	res = xmlXPathCompiledEval(comp, ctx);
	if (res != NULL && res->type == XPATH_NODESET &&
	    res->nodesetval != NULL) {
		for (i = 0; i < (size_t)res->nodesetval->nodeNr; i++) {
			node = res->nodesetval->nodeTab[i];
			s = xmlNodeGetContent(node);
			if (s != NULL) {
				*sink += strlen((const char *)s);
				if (first != NULL && *first == NULL)
					*first = xstrdup((const char *)s);
				xmlFree(s);
			}
			if (node->type == XML_ELEMENT_NODE) {
				s = xmlGetProp(node, (const xmlChar *)"href");
				if (s != NULL) {
					*sink += strlen((const char *)s);
					xmlFree(s);
				}
			}
			nodes++;
		}
	} else if (res != NULL && res->type == XPATH_STRING &&
		   res->stringval != NULL) {
		*sink += strlen((const char *)res->stringval);
		nodes++;
	}
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	free(conv);
	return nodes;
}

int
main(int argc, char **argv)
{
	struct floor fl = { 0 };
	struct rusage ru;
	size_t i, r, reps, nodes = 0, bytes = 0, sink = 0;
	double t0, t1;
	char *end;

	if (argc != 3)
		die("usage: xpath_floor LIST REPS | xpath_floor -c LIST", NULL);
	if (strcmp(argv[1], "-c") == 0) {
		xmlInitParser();
		floor_load(&fl, argv[2]);
		for (i = 0; i < fl.npages; i++) {
			char *first = NULL, *c;
			size_t n = page_extract(&fl.pages[i],
			    fl.comps[fl.pages[i].expr], &sink, &first);

			for (c = first; c != NULL && *c != '\0'; c++)
				if (*c == '\t' || *c == '\n' || *c == '\r')
					*c = ' ';
			printf("%zu\t%s\t%s\n", n, fl.pages[i].path,
			    first ? first : "");
			free(first);
		}
		return 0;
	}
	errno = 0;
	reps = (size_t)strtoull(argv[2], &end, 10);
	if (errno != 0 || *end != '\0' || reps == 0)
		die("bad REPS", argv[2]);
	xmlInitParser();
	floor_load(&fl, argv[1]);
	if (fl.npages == 0)
		die("empty list", argv[1]);
	for (i = 0; i < fl.npages; i++)
		bytes += fl.pages[i].len;

	t0 = cpu_seconds();
	for (r = 0; r < reps; r++) {
		for (i = 0; i < fl.npages; i++)
			nodes += page_extract(&fl.pages[i],
			    fl.comps[fl.pages[i].expr], &sink, NULL);
	}
	t1 = cpu_seconds();
	getrusage(RUSAGE_SELF, &ru);

	printf("{\"pages\": %zu, \"reps\": %zu, \"bytes\": %zu, "
	       "\"nodes\": %zu, \"text_bytes\": %zu, \"cpu_s_per_pass\": %.6f, "
	       "\"maxrss_kb\": %ld}\n",
	    fl.npages, reps, bytes, nodes / reps, sink / reps,
	    (t1 - t0) / (double)reps, ru.ru_maxrss);

	for (i = 0; i < fl.nxpaths; i++) {
		xmlXPathFreeCompExpr(fl.comps[i]);
		free(fl.xpaths[i]);
	}
	for (i = 0; i < fl.npages; i++) {
		free(fl.pages[i].path);
		if (fl.pages[i].encoding != NULL)
			iconv_close(fl.pages[i].cd);
		free(fl.pages[i].encoding);
		free(fl.pages[i].data);
	}
	free(fl.pages);
	free(fl.xpaths);
	free(fl.comps);
	xmlCleanupParser();
	return 0;
}
