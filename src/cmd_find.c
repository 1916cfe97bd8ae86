/*
 * cmd_find: from texts the user can see on a page to ranked candidate
 * watches (XPath and CSS, item count, preview), and `--add NAME` to append
 * the chosen one to the configuration.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/check.h"
#include "kakaowatch/cmd.h"
#include "kakaowatch/config.h"
#include "kakaowatch/diff.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/item.h"
#include "kakaowatch/select.h"
#include "kakaowatch/util.h"

#define FIND_MAX 5

static const char find_usage[] =
    "usage: kakaowatch find [-c FILE] [options] URL TEXT...\n"
    "       kakaowatch find [-c FILE] [options] --file PATH [--url URL] "
    "TEXT...\n"
    "\n"
    "Fetches URL as a check would (or reads PATH), finds the elements\n"
    "whose text contains each TEXT (case-insensitive, as keywords match),\n"
    "finds the repeated structure (the list) they belong to and prints\n"
    "ranked candidate watches: a CSS selector and an XPath each, the\n"
    "number of items and the first few items.\n"
    "\n"
    "  --file PATH    read a saved page instead of fetching URL\n"
    "  --url URL      with --file: the page's URL (links, and --add)\n"
    "  --encoding CS  decode the page as CS (e.g. euc-kr)\n"
    "  --add NAME     append candidate 1 (or --pick N) as watch NAME to\n"
    "                 the configuration file, keeping every other byte,\n"
    "                 then check it; `run` picks it up by itself\n"
    "  --pick N       the candidate --add takes (default 1)\n";

/*
 * find_not_html: a feed needs no XPath (its entries are the items: show
 * them and the YAML), JSON needs a jq: program and XML an XPath with its
 * element names in their case; find's list search is for HTML pages.
 */
static int
find_not_html(enum extract_parser kind, const char *body, size_t len,
    const char *content_type, const char *encoding, const char *page_url,
    const char *url)
{
	struct extract_opts opts = { .parser = EXTRACT_PARSER_FEED };
	struct kw_err err = { 0 };
	struct item_list items;
	size_t i;
	int status = KW_EXIT_FAILURE;

	if (kind == EXTRACT_PARSER_JSON) {
		printf("the response is JSON: a watch reads it with a jq "
		       "program, e.g.\n  - name: NAME\n    url: %s\n"
		       "    jq: '.items[] | {title: .title, link: .url}'\n"
		       "(try it: kakaowatch test --file SAVED.json --jq "
		       "PROGRAM)\n",
		    url ? url : "URL");
		return KW_EXIT_OK;
	}
	if (kind == EXTRACT_PARSER_XML) {
		printf("the response is XML: element names keep their case; "
		       "try kakaowatch test --parser xml --xpath //item "
		       "--title NAME\n");
		return KW_EXIT_OK;
	}
	item_list_init(&items);
	if (extract_document(body, len, content_type, encoding, page_url, NULL,
		&opts, &items, NULL, &err) != 0) {
		fprintf(stderr, "kakaowatch: %s\n", err.msg);
		goto out;
	}
	printf("a feed of %zu entries: no xpath needed\n", items.n);
	for (i = 0; i < items.n && i < 3; i++)
		printf("  %zu. %s\n", i + 1, items.v[i].text);
	printf("add it as:\n  - name: NAME\n    url: %s\n    parser: feed\n",
	    url ? url : "URL");
	status = KW_EXIT_OK;
out:
	item_list_release(&items);
	return status;
}

/* the matcher of `keywords:` */
static bool
find_match(const char *text, const char *needle)
{
	return diff_text_matches(text, &needle, 1);
}

/* do the items of `css` equal those of the candidate's xpath? */
static bool
css_agrees(const struct extract_doc *d, const struct extract_candidate *c)
{
	struct kw_err err = { 0 };
	struct extract_xpath *a = NULL, *b = NULL;
	struct item_list ia, ib;
	char *x;
	size_t i;
	bool same = false;

	item_list_init(&ia);
	item_list_init(&ib);
	x = select_css_to_xpath(c->css, NULL, &err);
	if (x == NULL)
		return false;
	a = extract_xpath_compile(c->xpath, &err);
	b = extract_xpath_compile(x, &err);
	if (a == NULL || b == NULL || extract_doc_items(d, a, &ia, &err) != 0 ||
	    extract_doc_items(d, b, &ib, &err) != 0)
		goto out;
	same = ia.n == ib.n;
	for (i = 0; same && i < ia.n; i++)
		same = item_equal(&ia.v[i], &ib.v[i]) != 0;
out:
	item_list_release(&ia);
	item_list_release(&ib);
	extract_xpath_free(a);
	extract_xpath_free(b);
	free(x);
	return same;
}

static void
print_candidates(const struct extract_doc *d, struct extract_candidate *c,
    size_t n, char **texts, size_t ntexts)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		printf("%zu. %zu items", i + 1, c[i].nitems);
		if (ntexts > 1)
			printf(", %zu of the %zu texts among them", c[i].ntexts,
			    ntexts);
		printf("\n");
		if (css_agrees(d, &c[i])) {
			printf("   css:   %s\n", c[i].css);
		} else {
			/* never expected: say so rather than mislead */
			free(c[i].css);
			c[i].css = NULL;
		}
		printf("   xpath: %s\n", c[i].xpath);
		for (k = 0; k < c[i].preview.n; k++) {
			printf("     - %s\n", c[i].preview.v[k].text);
			if (c[i].preview.v[k].link != NULL)
				printf("       %s\n", c[i].preview.v[k].link);
		}
		if (c[i].nitems > c[i].preview.n)
			printf("     (%zu more)\n",
			    c[i].nitems - c[i].preview.n);
	}
	(void)texts;
}

static int
add_watch(struct cmd_ctx *ctx, const char *name, const char *url,
    const char *encoding, const struct extract_candidate *c)
{
	struct config_errors errs = { 0 };
	const char *keys[4], *values[4];
	size_t n = 0, i;
	int status;

	keys[n] = "name";
	values[n++] = name;
	keys[n] = "url";
	values[n++] = url;
	/* the CSS selector reads better; it selects the same (css_agrees) */
	keys[n] = c->css != NULL ? "css" : "xpath";
	values[n++] = c->css != NULL ? c->css : c->xpath;
	if (encoding != NULL) {
		keys[n] = "encoding";
		values[n++] = encoding;
	}
	if (config_append_watch(ctx->config_path, keys, values, n,
		extract_xpath_check, &errs) != 0) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.v[i]);
		config_errors_release(&errs);
		fprintf(stderr, "kakaowatch: %s was left as it was\n",
		    ctx->config_path);
		return KW_EXIT_USAGE;
	}
	printf("added watch '%s' to %s\n", name, ctx->config_path);
	fflush(stdout);
	{
		char *argv[] = { "check", NULL };

		optind = 0;
		status = cmd_check(1, argv, ctx);
	}
	return status;
}

int
cmd_find(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "url", required_argument, NULL, 'u' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "add", required_argument, NULL, 'a' },
		{ "pick", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *url = NULL, *encoding = NULL, *add = NULL;
	const char *content_type = NULL, *page_url;
	struct http_response resp = { 0 };
	struct watch_config wc;
	struct extract_doc *d = NULL;
	struct extract_candidate *cand = NULL;
	struct kw_err err = { 0 };
	char *body = NULL, abs[PATH_MAX], file_url[PATH_MAX + 8];
	char **texts;
	size_t len = 0, ncand = 0, ntexts;
	int64_t pick = 1;
	int c, status = KW_EXIT_USAGE;
	enum extract_parser kind;

	while (
	    (c = cmd_getopt(argc, argv, "", longopts, find_usage, ctx)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'e':
			encoding = optarg;
			break;
		case 'a':
			add = optarg;
			break;
		case 'p':
			if (util_parse_int(optarg, 1, FIND_MAX, &pick) != 0) {
				fprintf(stderr,
				    "kakaowatch: --pick takes 1.."
				    "%d\n",
				    FIND_MAX);
				return KW_EXIT_USAGE;
			}
			break;
		default:
			return KW_EXIT_USAGE;
		}
	}
	if (file == NULL && optind < argc && url == NULL)
		url = argv[optind++];
	if (optind >= argc || (url == NULL && file == NULL)) {
		fputs(find_usage, stderr);
		return KW_EXIT_USAGE;
	}
	texts = argv + optind;
	ntexts = (size_t)(argc - optind);
	if (add != NULL && (url == NULL || strncmp(url, "file:", 5) == 0)) {
		fprintf(stderr, "kakaowatch: --add needs the page's http(s) "
				"URL (with --file, give --url)\n");
		return KW_EXIT_USAGE;
	}
	status = KW_EXIT_FAILURE;
	if (file != NULL) {
		body = util_read_file(file, 64 * 1024 * 1024, &len, &err);
		if (body == NULL)
			goto fail;
		page_url = url;
		if (page_url == NULL) {
			if (realpath(file, abs) == NULL)
				snprintf(abs, sizeof(abs), "%s", file);
			snprintf(file_url, sizeof(file_url), "file://%s", abs);
			page_url = file_url;
		}
	} else {
		/* the request a check makes, with the built-in defaults */
		memset(&wc, 0, sizeof(wc));
		wc.name = "find";
		wc.url = (char *)url;
		wc.method = "GET";
		wc.user_agent = "kakaowatch/" KW_VERSION;
		wc.timeout_ms = 30 * 1000;
		wc.max_bytes = 5 * 1024 * 1024;
		wc.ssl_verify = true;
		if (cmd_fetch(&wc, &resp, &err) != 0)
			goto fail;
		body = resp.body;
		len = resp.len;
		resp.body = NULL;
		content_type = resp.content_type;
		page_url = resp.final_url ? resp.final_url : url;
	}
	kind = extract_detect_parser(body, len, content_type);
	printf("parser: %s\n", extract_parser_name(kind));
	if (kind != EXTRACT_PARSER_HTML) {
		status = find_not_html(kind, body, len, content_type, encoding,
		    page_url, url);
		goto out;
	}
	d = extract_doc_parse(body, len, content_type, encoding, page_url,
	    &err);
	if (d == NULL)
		goto fail;
	if (extract_find(d, (const char *const *)texts, ntexts, find_match,
		FIND_MAX, &cand, &ncand, &err) != 0)
		goto fail;
	if (ncand == 0) {
		fprintf(stderr,
		    "kakaowatch: found '%s', but no list around it (no "
		    "siblings of the same shape); try a text of another "
		    "item, or two of them\n",
		    texts[0]);
		goto out;
	}
	print_candidates(d, cand, ncand, texts, ntexts);
	if (add == NULL) {
		printf("\nadd one: kakaowatch find%s%s URL TEXT... --add NAME "
		       "[--pick N]\n",
		    ctx->config_path ? " -c " : "",
		    ctx->config_path ? ctx->config_path : "");
		status = KW_EXIT_OK;
		goto out;
	}
	if ((size_t)pick > ncand) {
		fprintf(stderr,
		    "kakaowatch: --pick %d: there are only %zu "
		    "candidates\n",
		    (int)pick, ncand);
		status = KW_EXIT_USAGE;
		goto out;
	}
	printf("\n");
	status = add_watch(ctx, add, url, encoding, &cand[pick - 1]);
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	extract_candidates_free(cand, ncand);
	extract_doc_free(d);
	http_response_release(&resp);
	free(body);
	return status;
}
