/* key: item identity and link normalisation (see key.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/diff.h"
#include "kakaowatch/key.h"

static const struct {
	const char *name;
	enum key_mode mode;
} key_modes[] = {
	{ "auto", KEY_AUTO },
	{ "link", KEY_LINK },
	{ "text", KEY_TEXT },
	{ "text+link", KEY_TEXT_LINK },
};

int
key_mode_parse(const char *s, enum key_mode *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof(key_modes) / sizeof(key_modes[0]);
	     i++) {
		if (strcmp(s, key_modes[i].name) == 0) {
			*out = key_modes[i].mode;
			return 0;
		}
	}
	return -1;
}

const char *
key_mode_name(enum key_mode mode)
{
	size_t i;

	for (i = 0; i < sizeof(key_modes) / sizeof(key_modes[0]); i++)
		if (key_modes[i].mode == mode)
			return key_modes[i].name;
	return "auto";
}

/* ---- link normalisation ---- */

/* see key.h for where these come from; one kind of parameter a row
 * (clang-format would put one name a line) */
/* clang-format off */
static const char *const ignored_params[] = {
	/* paging */
	"page", "divpage", "pg", "po", "cpage",
	/* sorting */
	"sst", "sod", "sop", "sort", "sort_index", "order_type", "orderby",
	"order", "od", "srt",
	/* search and filters */
	"sca", "sfl", "stx", "spt", "s_cate", "s_key", "s_select", "keyword",
	"search_keyword", "search_target", "search_type", "search_key",
	"search_select", "search_input", "select", "query", "subselect",
	"subquery", "stype",
	/* view */
	"view", "liststyle",
	/* tracking */
	"fbclid", "gclid",
};
/* clang-format on */

int
key_param_ignored(const char *name, size_t len)
{
	size_t i, l;

	if (len >= 4 && strncasecmp(name, "utm_", 4) == 0)
		return 1;
	for (i = 0; i < sizeof(ignored_params) / sizeof(ignored_params[0]);
	     i++) {
		l = strlen(ignored_params[i]);
		if (l == len && strncasecmp(name, ignored_params[i], len) == 0)
			return 1;
	}
	return 0;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* append s[0..n) with percent escapes in upper case */
static int
append_escaped_upper(struct buf *b, const char *s, size_t n)
{
	char c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%' && i + 2 < n && is_hex(s[i + 1]) &&
		    is_hex(s[i + 2])) {
			char e[3] = { '%', s[i + 1], s[i + 2] };

			e[1] = e[1] >= 'a' ? (char)(e[1] - 'a' + 'A') : e[1];
			e[2] = e[2] >= 'a' ? (char)(e[2] - 'a' + 'A') : e[2];
			if (buf_append(b, e, 3) != 0)
				return -1;
			i += 2;
			continue;
		}
		if (buf_append(b, &c, 1) != 0)
			return -1;
	}
	return 0;
}

struct param {
	const char *s; /* "name=value" or "name" */
	size_t len;    /* whole parameter */
	size_t nlen;   /* name */
};

static int
param_cmp(const void *pa, const void *pb)
{
	const struct param *a = pa, *b = pb;
	size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
	int c = memcmp(a->s, b->s, n);

	if (c != 0)
		return c;
	if (a->nlen != b->nlen)
		return a->nlen < b->nlen ? -1 : 1;
	/* stable: the original order (the array is in query order) */
	return a->s < b->s ? -1 : a->s > b->s;
}

/* append the query q[0..n) without ignored parameters, sorted */
static int
append_query(struct buf *b, const char *q, size_t n)
{
	struct param *v = NULL;
	size_t count = 0, i, start, end;
	const char *eq;
	int rc = -1;

	v = calloc(n / 2 + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (start = 0; start <= n; start = end + 1) {
		end = start;
		while (end < n && q[end] != '&')
			end++;
		if (end > start) {
			eq = memchr(q + start, '=', end - start);
			v[count].s = q + start;
			v[count].len = end - start;
			v[count].nlen = eq != NULL ?
					    (size_t)(eq - (q + start)) :
					    end - start;
			if (!key_param_ignored(v[count].s, v[count].nlen))
				count++;
		}
	}
	qsort(v, count, sizeof(*v), param_cmp);
	for (i = 0; i < count; i++) {
		if (buf_append(b, i == 0 ? "?" : "&", 1) != 0 ||
		    append_escaped_upper(b, v[i].s, v[i].len) != 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

char *
key_link_normalise(const char *link)
{
	const char *p, *auth, *auth_end, *path, *path_end, *q, *q_end, *host;
	const char *port;
	size_t scheme_len, n;
	bool https;
	struct buf b;
	char c;

	if (link == NULL)
		return NULL;
	n = strcspn(link, "#");
	buf_init(&b, 0);
	https = strncasecmp(link, "https://", 8) == 0;
	if (!https && strncasecmp(link, "http://", 7) != 0) {
		/* not http(s): only the fragment goes */
		if (buf_append(&b, link, n) != 0)
			goto nomem;
		return buf_detach(&b, NULL);
	}
	scheme_len = https ? 5 : 4;
	auth = link + scheme_len + 3;
	auth_end = auth + strcspn(auth, "/?#");
	if (buf_append(&b, https ? "https://" : "http://", scheme_len + 3) != 0)
		goto nomem;
	/* userinfo as it is, host in lower case, default port dropped */
	host = auth;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			host = p + 1;
	if (host > auth && buf_append(&b, auth, (size_t)(host - auth)) != 0)
		goto nomem;
	port = NULL;
	for (p = auth_end; p > host; p--) {
		if (p[-1] == ':') {
			port = p - 1;
			break;
		}
		if (p[-1] < '0' || p[-1] > '9')
			break;
	}
	if (port != NULL &&
	    ((https && auth_end - port == 4 && strncmp(port, ":443", 4) == 0) ||
		(!https && auth_end - port == 3 &&
		    strncmp(port, ":80", 3) == 0) ||
		auth_end - port == 1))
		auth_end = port;
	for (p = host; p < auth_end; p++) {
		c = lower(*p);
		if (buf_append(&b, &c, 1) != 0)
			goto nomem;
	}
	path = auth + strcspn(auth, "/?#");
	path_end = path + strcspn(path, "?#");
	if (path == path_end) {
		if (buf_append(&b, "/", 1) != 0)
			goto nomem;
	} else if (append_escaped_upper(&b, path, (size_t)(path_end - path)) !=
		   0) {
		goto nomem;
	}
	if (*path_end == '?') {
		q = path_end + 1;
		q_end = q + strcspn(q, "#");
		if (append_query(&b, q, (size_t)(q_end - q)) != 0)
			goto nomem;
	}
	return buf_detach(&b, NULL);
nomem:
	buf_release(&b);
	return NULL;
}

/* ---- keys ---- */

static char *
concat(const char *a, const char *b, const char *c, const char *d)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0,
	       ld = d ? strlen(d) : 0;
	char *s = malloc(la + lb + lc + ld + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	if (lc)
		memcpy(s + la + lb, c, lc);
	if (ld)
		memcpy(s + la + lb + lc, d, ld);
	s[la + lb + lc + ld] = '\0';
	return s;
}

/*
 * usable_link: the normalised link of an item when it can be the item's
 * identity (heap), NULL in *out when not (no link, or the page itself).
 */
static int
usable_link(const char *link, const char *norm_page, char **out)
{
	char *n;

	*out = NULL;
	if (link == NULL)
		return 0;
	n = key_link_normalise(link);
	if (n == NULL)
		return -1;
	if (norm_page != NULL && strcmp(n, norm_page) == 0) {
		free(n);
		return 0;
	}
	*out = n;
	return 0;
}

/*
 * key_make: one item's key with a resolved mode, norm_page normalised;
 * srckey: the source's own identity (feed guid, jq key) to use before the
 * mode, or NULL
 */
static char *
key_make(const char *text, const char *link, const char *srckey,
    enum key_mode mode, struct regex *pattern, const char *norm_page,
    struct kw_err *err)
{
	struct regex_groups g;
	char *norm = NULL, *group, *key = NULL;
	bool oom;
	size_t i;
	int rc;

	if (pattern != NULL && link != NULL) {
		rc = regex_match(pattern, link, strlen(link), 0, &g, err);
		if (rc < 0)
			return NULL;
		/* the first group that took part: `a=(\d+)|/(\d+)$` */
		for (i = 1; rc > 0 && i < g.n; i++) {
			if (!g.v[i].set)
				continue;
			group = regex_group_dup(&g, link, i, &oom);
			if (group == NULL)
				goto nomem;
			key = concat("re:", group, NULL, NULL);
			free(group);
			goto out;
		}
	}
	if (srckey != NULL) {
		key = concat(KEY_SOURCE_PREFIX, srckey, NULL, NULL);
		goto out;
	}
	if (mode == KEY_TEXT) {
		key = concat("text:", text, NULL, NULL);
		goto out;
	}
	if (usable_link(link, norm_page, &norm) != 0)
		goto nomem;
	if (mode != KEY_TEXT_LINK && norm != NULL)
		key = concat("link:", norm, NULL, NULL);
	else
		key = concat("text+link:", text, KEY_SEP, norm ? norm : "");
out:
	free(norm);
	if (key == NULL)
		kw_err_set(err, "out of memory");
	return key;
nomem:
	kw_err_set(err, "out of memory");
	free(norm);
	return NULL;
}

static int
norm_page_get(const char *page_url, char **out, struct kw_err *err)
{
	*out = NULL;
	if (page_url == NULL)
		return 0;
	*out = key_link_normalise(page_url);
	return *out == NULL ? kw_err_set(err, "out of memory") : 0;
}

char *
key_compute(const char *text, const char *link, enum key_mode resolved,
    struct regex *pattern, const char *page_url, struct kw_err *err)
{
	char *norm_page, *key;

	if (norm_page_get(page_url, &norm_page, err) != 0)
		return NULL;
	key = key_make(text, link, NULL,
	    resolved == KEY_AUTO ? KEY_LINK : resolved, pattern, norm_page,
	    err);
	free(norm_page);
	return key;
}

char *
key_recompute(const char *text, const char *link, const char *stored,
    const struct key_spec *spec, enum key_mode resolved, const char *page_url,
    struct kw_err *err)
{
	char *key;

	if (spec->mode == KEY_AUTO && stored != NULL &&
	    strncmp(stored, KEY_SOURCE_PREFIX, strlen(KEY_SOURCE_PREFIX)) ==
		0) {
		key = strdup(stored);
		if (key == NULL)
			kw_err_set(err, "out of memory");
		return key;
	}
	return key_compute(text, link, resolved, spec->pattern, page_url, err);
}

/* simple open-addressing map: normalised link -> index of first text */
struct link_slot {
	const char *link; /* NULL = empty */
	size_t item;
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * links_distinct: 0 when two items whose texts differ (other than in a
 * trailing comment count, diff_text_edited) share a usable link, and when
 * no item has one; else 1; -1 on out-of-memory. Items without a usable
 * link do not count otherwise: link mode keys them by text+link too.
 */
static int
links_distinct(const struct item_list *items, const char *norm_page,
    bool use_src)
{
	struct link_slot *slots = NULL;
	char **norms = NULL;
	size_t cap, i, pos, usable = 0;
	int result = -1;

	if (items->n == 0)
		return 1;
	norms = calloc(items->n, sizeof(*norms));
	for (cap = 16; cap < items->n * 2; cap *= 2)
		;
	slots = calloc(cap, sizeof(*slots));
	if (norms == NULL || slots == NULL)
		goto out;
	result = 1;
	for (i = 0; i < items->n && result == 1; i++) {
		if (use_src && items->v[i].key != NULL)
			continue; /* keyed by the source */
		if (usable_link(items->v[i].link, norm_page, &norms[i]) != 0) {
			result = -1;
			break;
		}
		if (norms[i] == NULL)
			continue;
		usable++;
		pos = hash_str(norms[i]) & (cap - 1);
		while (slots[pos].link != NULL) {
			if (strcmp(slots[pos].link, norms[i]) == 0) {
				if (diff_text_edited(
					items->v[slots[pos].item].text,
					items->v[i].text))
					result = 0;
				break;
			}
			pos = (pos + 1) & (cap - 1);
		}
		if (slots[pos].link == NULL) {
			slots[pos].link = norms[i];
			slots[pos].item = i;
		}
	}
	if (result == 1 && usable == 0)
		result = 0; /* no links at all: text+link */
out:
	for (i = 0; norms != NULL && i < items->n; i++)
		free(norms[i]);
	free(norms);
	free(slots);
	return result;
}

int
key_assign(struct item_list *items, const struct key_spec *spec,
    const char *page_url, enum key_mode *resolved, struct kw_err *err)
{
	enum key_mode mode = spec->mode;
	char *norm_page = NULL, *key;
	size_t i;
	int d, result = -1;

	if (norm_page_get(page_url, &norm_page, err) != 0)
		return -1;
	if (mode == KEY_AUTO) {
		d = links_distinct(items, norm_page, true);
		if (d < 0) {
			kw_err_set(err, "out of memory");
			goto out;
		}
		mode = d ? KEY_LINK : KEY_TEXT_LINK;
	}
	for (i = 0; i < items->n; i++) {
		key = key_make(items->v[i].text, items->v[i].link,
		    spec->mode == KEY_AUTO ? items->v[i].key : NULL, mode,
		    spec->pattern, norm_page, err);
		if (key == NULL)
			goto out;
		free(items->v[i].key);
		items->v[i].key = key;
	}
	if (resolved != NULL)
		*resolved = mode;
	result = 0;
out:
	free(norm_page);
	return result;
}

char *
key_spec_string(enum key_mode resolved, const struct regex *pattern)
{
	const char *name =
	    key_mode_name(resolved == KEY_AUTO ? KEY_LINK : resolved);

	if (pattern == NULL)
		return strdup(name);
	return concat(name, " re:", regex_pattern(pattern), NULL);
}

void
key_display(const char *key, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; key != NULL && *key != '\0' && o + 1 < size; key++) {
		if (*key == KEY_SEP[0]) {
			if (o + 4 >= size)
				break;
			memcpy(out + o, " @ ", 3);
			o += 3;
			continue;
		}
		out[o++] = *key;
	}
	/* cut at a character boundary */
	if (key != NULL && ((unsigned char)*key & 0xC0) == 0x80) {
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
		if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
			o--;
	}
	out[o] = '\0';
}
