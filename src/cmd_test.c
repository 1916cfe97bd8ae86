/* cmd_test: fetch (or read) one page, extract, print its items. */
#include <getopt.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/check.h"
#include "kakaowatch/cmd.h"
#include "kakaowatch/cond.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/http.h"
#include "kakaowatch/item.h"
#include "kakaowatch/key.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"
#include "kakaowatch/select.h"

static const char test_usage[] =
    "usage: kakaowatch test [-c FILE] NAME\n"
    "       kakaowatch test [-c FILE] --file PATH [NAME | --xpath EXPR |\n"
    "                       --css SELECTOR | --parser feed | --jq PROGRAM]\n"
    "       kakaowatch test [-c FILE] (NAME | --file PATH) --tree\n"
    "       kakaowatch test [-c FILE] NAME [--file PATH] --messages\n"
    "\n"
    "Fetches the page of watch NAME (or reads PATH; a watch with render:\n"
    "browser is loaded in the browser), extracts its items and prints\n"
    "them (text, link, each field as NAME: VALUE, then the key that tells\n"
    "it apart from the other items: see key: in the configuration, and\n"
    "whether the watch's when: holds, or why not), without touching the\n"
    "state or sending anything, and says which parser read it. With\n"
    "--file and --xpath, --css, --jq or --parser feed no configuration is\n"
    "read.\n"
    "\n"
    "  --file PATH    extract from a local HTML file\n"
    "  --xpath EXPR   the XPath to use (default: the watch's)\n"
    "  --css SEL      a CSS selector to use instead (translated to XPath)\n"
    "  --url URL      the page's URL, to resolve relative links of --file\n"
    "  --encoding CS  decode the page as CS (e.g. euc-kr), whatever it "
    "says\n"
    "  --parser P     auto, html, xml, feed or json (default: the watch's)\n"
    "  --jq PROGRAM   the jq program for JSON (default: the watch's)\n"
    "  --title EXPR   XPath for each item's title, relative to the item\n"
    "  --link EXPR    XPath for each item's link, relative to the item\n"
    "  --tree         print the HTML document tree XPaths run on (the tree\n"
    "                 a browser builds) instead of items\n"
    "  --messages     then print the template objects (JSON, one a line)\n"
    "                 a check would send if every item were new: keywords,\n"
    "                 exclude, when and message: applied; nothing is sent\n";

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* distinct_keys counts the different keys of `items` (0 on OOM) */
static size_t
distinct_keys(const struct item_list *items)
{
	char **v;
	size_t i, n = 0;

	v = malloc((items->n + 1) * sizeof(*v));
	if (v == NULL)
		return 0;
	for (i = 0; i < items->n; i++)
		v[i] = items->v[i].key;
	qsort(v, items->n, sizeof(*v), key_cmp);
	for (i = 0; i < items->n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			n++;
	free(v);
	return n;
}

static const char *
item_lookup(void *ctx, const char *name)
{
	return item_get(ctx, name);
}

/*
 * print_when: whether the watch's when: conditions hold for `it`, and
 * when not, why: the first condition that is false and, when that is for
 * lack of data, which field is missing or not a number
 */
static void
print_when(const struct watch_config *wc, const struct item *it)
{
	char reason[COND_REASON_MAX];
	struct kw_err err = { 0 };
	bool ok = true;
	size_t j;

	for (j = 0; j < wc->nwhen && wc->when_cond != NULL; j++) {
		reason[0] = '\0';
		if (cond_eval(wc->when_cond[j], item_lookup, (void *)it, &ok,
			reason, &err) != 0) {
			printf("   when: no (%s: %s)\n", wc->when[j], err.msg);
			return;
		}
		if (!ok) {
			if (reason[0] != '\0')
				printf("   when: no (%s: %s)\n", wc->when[j],
				    reason);
			else
				printf("   when: no (%s is false)\n",
				    wc->when[j]);
			return;
		}
	}
	printf("   when: yes\n");
}

int
cmd_test(int argc, char **argv, struct cmd_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "xpath", required_argument, NULL, 'x' },
		{ "css", required_argument, NULL, 'C' },
		{ "url", required_argument, NULL, 'u' },
		{ "encoding", required_argument, NULL, 'e' },
		{ "parser", required_argument, NULL, 'p' },
		{ "jq", required_argument, NULL, 'j' },
		{ "title", required_argument, NULL, 't' },
		{ "link", required_argument, NULL, 'l' },
		{ "tree", no_argument, NULL, 'T' },
		{ "messages", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *xpath = NULL, *url = NULL, *name = NULL;
	const char *encoding = NULL, *content_type = NULL, *page_url;
	const char *encoding_opt = NULL, *parser_opt = NULL, *jq = NULL;
	const char *title = NULL, *link = NULL, *css = NULL;
	char *css_xpath = NULL;
	size_t css_at = 0, j;
	struct watch_config tmp;
	enum extract_parser parser = EXTRACT_PARSER_AUTO, used;
	struct config *cfg = NULL;
	const struct watch_config *wc = NULL;
	const struct extract_xpath *xp = NULL;
	struct http_response resp = { 0 };
	struct item_list items;
	struct kw_err err = { 0 };
	char *body = NULL, abs[PATH_MAX], file_url[PATH_MAX + 8];
	size_t len = 0, i;
	struct key_spec spec = { KEY_AUTO, NULL };
	enum key_mode resolved = KEY_AUTO;
	char keybuf[1024];
	int c, status = KW_EXIT_USAGE;
	bool tree = false, messages = false;
	char **msgs = NULL;
	size_t nmsgs = 0;
	struct buf dump;

	item_list_init(&items);
	while (
	    (c = cmd_getopt(argc, argv, "", longopts, test_usage, ctx)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'x':
			xpath = optarg;
			break;
		case 'C':
			css = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'e':
			encoding_opt = optarg;
			break;
		case 'p':
			parser_opt = optarg;
			break;
		case 'j':
			jq = optarg;
			break;
		case 't':
			title = optarg;
			break;
		case 'l':
			link = optarg;
			break;
		case 'T':
			tree = true;
			break;
		case 'M':
			messages = true;
			break;
		default:
			return KW_EXIT_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (messages && (name == NULL || tree)) {
		fprintf(stderr, "kakaowatch: --messages needs a watch NAME "
				"(its message: and limits) and no --tree\n");
		return KW_EXIT_USAGE;
	}
	if (css != NULL && xpath != NULL) {
		fprintf(stderr,
		    "kakaowatch: give --xpath or --css, not both\n");
		return KW_EXIT_USAGE;
	}
	if (css != NULL) {
		css_xpath = select_css_to_xpath(css, &css_at, &err);
		if (css_xpath == NULL) {
			fprintf(stderr,
			    "kakaowatch: bad css '%s': %s at "
			    "character %zu\n",
			    css, err.msg, css_at + 1);
			return KW_EXIT_USAGE;
		}
		xpath = css_xpath;
	}
	if (parser_opt != NULL &&
	    extract_parser_from_name(parser_opt, &parser) != 0) {
		fprintf(stderr,
		    "kakaowatch: unknown parser '%s' (auto, html, "
		    "xml, feed or json)\n",
		    parser_opt);
		goto out;
	}
	if (optind < argc ||
	    (name == NULL &&
		(file == NULL || (xpath == NULL && jq == NULL && !tree &&
				     parser != EXTRACT_PARSER_FEED)))) {
		fputs(test_usage, stderr);
		goto out;
	}
	if (name != NULL) {
		cfg = cmd_load_config(ctx);
		if (cfg == NULL)
			goto out;
		wc = config_find_watch(cfg, name);
		if (wc == NULL) {
			fprintf(stderr,
			    "kakaowatch: no watch named '%s' in "
			    "%s\n",
			    name, cfg->path);
			goto out;
		}
		if (xpath == NULL)
			xpath = wc->xpath;
		encoding = wc->encoding;
	}
	if (encoding_opt != NULL)
		encoding = encoding_opt;
	memset(&tmp, 0, sizeof(tmp));
	if (wc != NULL)
		tmp = *wc;
	tmp.xpath = (char *)xpath;
	tmp.encoding = (char *)encoding;
	if (parser_opt != NULL)
		tmp.parser = (int)parser;
	if (jq != NULL)
		tmp.jq = (char *)jq;
	if (title != NULL)
		tmp.title = (char *)title;
	if (link != NULL)
		tmp.link = (char *)link;
	status = KW_EXIT_FAILURE;
	if (xpath != NULL && !tree) {
		xp = cmd_xpaths() == NULL ?
			 NULL :
			 extract_xpath_set_get(cmd_xpaths(), xpath,
			     (const char *const *)tmp.namespaces,
			     tmp.nnamespaces / 2, &err);
		if (xp == NULL) {
			if (!err.set)
				kw_err_set(&err, "out of memory");
			status = KW_EXIT_USAGE;
			goto fail;
		}
	}
	if (file != NULL) {
		body = util_read_file(file, 64 * 1024 * 1024, &len, &err);
		if (body == NULL)
			goto fail;
		if (url == NULL) {
			if (realpath(file, abs) == NULL)
				snprintf(abs, sizeof(abs), "%s", file);
			snprintf(file_url, sizeof(file_url), "file://%s", abs);
			url = file_url;
		}
		page_url = url;
	} else if (wc->render == CONFIG_RENDER_BROWSER) {
		struct render_request rr;
		int64_t t0 = util_mono_ms();

		/* as a check renders it, with a fresh profile and no kept
		 * cookie jar: nothing of the watch's state is written */
		check_render_request_init(&rr, cfg, wc);
		if (render_dom(&rr, &body, &len, &err) != 0)
			goto fail;
		fprintf(stderr,
		    "kakaowatch: rendered in the browser in %.1fs "
		    "(%zu bytes of DOM)\n",
		    (double)(util_mono_ms() - t0) / 1000.0, len);
		content_type = "text/html; charset=utf-8";
		page_url = wc->url;
	} else {
		if (cmd_fetch(wc, &resp, &err) != 0)
			goto fail;
		body = resp.body;
		len = resp.len;
		resp.body = NULL;
		content_type = resp.content_type;
		page_url = resp.final_url ? resp.final_url : wc->url;
	}
	if (tree) {
		buf_init(&dump, 0);
		if (extract_tree_dump(body, len, content_type, encoding, &dump,
			&err) != 0) {
			buf_release(&dump);
			goto fail;
		}
		fwrite(dump.data, 1, dump.len, stdout);
		buf_release(&dump);
		status = KW_EXIT_OK;
		goto out;
	}
	used = EXTRACT_PARSER_AUTO;
	if (check_extract(&tmp, xp, body, len, content_type, page_url, &items,
		&used, &err) != 0) {
		if (used != EXTRACT_PARSER_AUTO)
			fprintf(stderr, "kakaowatch: parser: %s\n",
			    extract_parser_name(used));
		goto fail;
	}
	printf("parser: %s\n", extract_parser_name(used));
	if (wc != NULL && wc->key_pattern != NULL) {
		spec.pattern = cmd_xpaths() == NULL ?
				   NULL :
				   extract_xpath_set_regex(cmd_xpaths(),
				       wc->key_pattern, 0, &err);
		if (spec.pattern == NULL) {
			if (!err.set)
				kw_err_set(&err, "out of memory");
			goto fail;
		}
	}
	spec.mode = wc != NULL ? (enum key_mode)wc->key_mode : KEY_AUTO;
	if (key_assign(&items, &spec, page_url, &resolved, &err) != 0)
		goto fail;
	for (i = 0; i < items.n; i++) {
		printf("%zu. %s\n", i + 1, items.v[i].text);
		if (items.v[i].link != NULL)
			printf("   %s\n", items.v[i].link);
		for (j = 0; j < items.v[i].nfields; j++)
			printf("   %s: %s\n", items.v[i].fields[j].name,
			    items.v[i].fields[j].value);
		key_display(items.v[i].key, keybuf, sizeof(keybuf));
		printf("   key: %s\n", keybuf);
		if (wc != NULL && wc->nwhen > 0)
			print_when(wc, &items.v[i]);
	}
	if (items.n == 0) {
		fprintf(stderr, "kakaowatch: %s\n",
		    used == EXTRACT_PARSER_FEED ?
			"the feed has no entries" :
		    used == EXTRACT_PARSER_JSON ?
			"the jq program gave no items" :
			"the xpath matched nothing");
		goto out;
	}
	/* how the keys were made, and what that means for this page */
	printf("keys: %s%s%s%s, %zu distinct\n", key_mode_name(resolved),
	    spec.mode == KEY_AUTO ? " (auto)" : "",
	    spec.pattern != NULL ? ", key_pattern " : "",
	    spec.pattern != NULL ? regex_pattern(spec.pattern) : "",
	    distinct_keys(&items));
	if (messages) {
		/* as a check would make them, every item being new */
		tmp.notify_on = NOTIFY_ADDED;
		if (check_messages(cfg, &tmp, &items, NULL, NULL, &msgs, &nmsgs,
			&err) != 0)
			goto fail;
		printf("messages: %zu (if every item were new; nothing is "
		       "sent)\n",
		    nmsgs);
		for (i = 0; i < nmsgs; i++)
			printf("%s\n", msgs[i]);
	}
	status = KW_EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "kakaowatch: %s\n", err.msg);
out:
	message_list_free(msgs, nmsgs);
	free(css_xpath);
	item_list_release(&items);
	http_response_release(&resp);
	free(body);
	config_free(cfg);
	return status;
}
