/*
 * fuzz_select: a CSS selector to select_css_to_xpath (select.h).
 *
 * Input layout: the whole input is the selector (a NUL inside ends it,
 * as it would in a config value).
 *
 * Checked, as select.h promises: either the translation fails with a
 * message and a position within the selector (0 .. its length in code
 * points), or it gives valid UTF-8 that extract_xpath_compile (libxml2's
 * XPath 1.0 compiler plus kakaowatch's own checks) accepts, and that
 * evaluates on a small page without an error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/extract.h"
#include "kakaowatch/item.h"
#include "kakaowatch/log.h"
#include "kakaowatch/select.h"

#include "fuzz_util.h"

static const char page[] =
    "<html><body><div id=a class='x y' lang=en-US><p>one</p><p>two</p>"
    "<ul><li>1</li><li class=x>2</li><li>3</li></ul></div>"
    "<table><tr><td><a href=/1>a</a></td></tr></table></body></html>";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	extract_global_init();
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	struct item_list items;
	size_t at = SIZE_MAX;
	char *css, *x;

	css = fuzz_strndup(data, size);
	x = select_css_to_xpath(css, &at, &err);
	if (x == NULL) {
		FUZZ_CHECK(err.set && err.msg[0] != '\0',
		    "refused without a message");
		FUZZ_CHECK(at <= fuzz_code_points(css),
		    "position %zu past the end", at);
		free(css);
		return 0;
	}
	FUZZ_CHECK(fuzz_utf8_valid(x, strlen(x)), "xpath is not UTF-8");
	xp = extract_xpath_compile(x, &err);
	FUZZ_CHECK(xp != NULL, "'%s' -> '%s' does not compile: %s", css, x,
	    err.msg);
	item_list_init(&items);
	FUZZ_CHECK(extract_items(page, sizeof(page) - 1, NULL, NULL, NULL, xp,
		       &items, &err) == 0,
	    "'%s' -> '%s' fails to evaluate: %s", css, x, err.msg);
	item_list_release(&items);
	extract_xpath_free(xp);
	free(x);
	free(css);
	return 0;
}
