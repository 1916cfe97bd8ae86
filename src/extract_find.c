/*
 * extract_find: from a few texts a user can see on a page to the list they
 * belong to, as XPath and CSS (see extract.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "extract_int.h"
#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"

#define MAX_MATCHES 16 /* deepest matches of one text looked at */
#define MAX_LEVELS 12  /* ancestors walked up from a match */
#define MAX_ANCHOR_STEPS 5
#define MIN_ROWS 2
#define MAX_CLASSES 2 /* classes written per step */

struct nodes {
	xmlNodePtr *v;
	size_t n, cap;
};

static int
nodes_add(struct nodes *s, xmlNodePtr n)
{
	xmlNodePtr *p;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		p = realloc(s->v, s->cap * sizeof(*p));
		if (p == NULL)
			return -1;
		s->v = p;
	}
	s->v[s->n++] = n;
	return 0;
}

static bool
is_element(xmlNodePtr n)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && n->name != NULL;
}

static bool
name_is(xmlNodePtr n, const char *name)
{
	return is_element(n) && xmlStrcasecmp(n->name, BAD_CAST name) == 0;
}

/* ---- matching ---------------------------------------------------------- */

static bool
node_matches(xmlNodePtr n, const char *needle, extract_match_fn match, int *oom)
{
	char *t = extract_node_text(n);
	bool m;

	if (t == NULL) {
		*oom = 1;
		return false;
	}
	m = t[0] != '\0' && match(t, needle);
	free(t);
	return m;
}

/* the deepest elements under matching `e` whose text contains needle */
static int
find_deepest(xmlNodePtr e, const char *needle, extract_match_fn match,
    struct nodes *out)
{
	xmlNodePtr c;
	bool child = false;
	int oom = 0;

	for (c = e->children; c != NULL && out->n < MAX_MATCHES; c = c->next) {
		if (!is_element(c) || !node_matches(c, needle, match, &oom)) {
			if (oom)
				return -1;
			continue;
		}
		child = true;
		if (find_deepest(c, needle, match, out) != 0)
			return -1;
	}
	if (!child && out->n < MAX_MATCHES)
		return nodes_add(out, e);
	return 0;
}

/* ---- classes and shapes ------------------------------------------------ */

struct classes {
	char **v;
	size_t n;
};

static void
classes_release(struct classes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static bool
classes_has(const struct classes *c, const char *s)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i], s) == 0)
			return true;
	return false;
}

/* does `s` hold a run of 4 or more digits (a post number, a date)? */
static bool
looks_generated(const char *s)
{
	int run = 0;

	for (; *s != '\0'; s++) {
		run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
		if (run >= 4)
			return true;
	}
	return false;
}

/*
 * an id that a server makes up per page view: a number in it, base64
 * ("am5GbkNMMWpj...=="), or a long mix of upper case, lower case and digits
 */
static bool
id_looks_generated(const char *s)
{
	bool up = false, low = false, dig = false;
	size_t n = strlen(s), i;

	if (looks_generated(s) || strchr(s, '=') != NULL)
		return true;
	for (i = 0; i < n; i++) {
		up |= s[i] >= 'A' && s[i] <= 'Z';
		low |= s[i] >= 'a' && s[i] <= 'z';
		dig |= s[i] >= '0' && s[i] <= '9';
	}
	return n >= 12 && up && low && dig;
}

static bool
is_html_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* the class tokens of `n`, without duplicates and generated-looking ones */
static int
classes_of(xmlNodePtr n, struct classes *out)
{
	xmlChar *v;
	const char *p, *q;
	char *tok, **nv;

	out->v = NULL;
	out->n = 0;
	v = xmlGetProp(n, BAD_CAST "class");
	if (v == NULL)
		return 0;
	for (p = (const char *)v; *p != '\0'; p = q) {
		while (is_html_ws(*p))
			p++;
		for (q = p; *q != '\0' && !is_html_ws(*q); q++)
			;
		if (q == p)
			break;
		tok = strndup(p, (size_t)(q - p));
		if (tok == NULL)
			goto fail;
		if (classes_has(out, tok) || looks_generated(tok)) {
			free(tok);
			continue;
		}
		nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
		if (nv == NULL) {
			free(tok);
			goto fail;
		}
		out->v = nv;
		out->v[out->n++] = tok;
	}
	xmlFree(v);
	return 0;
fail:
	xmlFree(v);
	classes_release(out);
	return -1;
}

/* a class without its trailing digits: "list0" and "list1" are one */
static size_t
stem_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 1 && s[n - 1] >= '0' && s[n - 1] <= '9')
		n--;
	return n;
}

static bool
stem_in(const char *s, const struct classes *c)
{
	size_t n = stem_len(s), i;

	for (i = 0; i < c->n; i++)
		if (stem_len(c->v[i]) == n && strncmp(c->v[i], s, n) == 0)
			return true;
	return false;
}

/*
 * similar: same element name and at least one class stem in common (or
 * neither has a class)
 */
static int
similar(xmlNodePtr a, xmlNodePtr b, bool *out)
{
	struct classes ca, cb;
	size_t i, both = 0;

	*out = false;
	if (xmlStrcmp(a->name, b->name) != 0)
		return 0;
	if (classes_of(a, &ca) != 0)
		return -1;
	if (classes_of(b, &cb) != 0) {
		classes_release(&ca);
		return -1;
	}
	for (i = 0; i < ca.n; i++)
		if (stem_in(ca.v[i], &cb))
			both++;
	/* rows of a board differ in their other classes (the category:
	 * "view list_tr_humordata" and "view list_tr_sisa") */
	*out = (ca.n == 0 && cb.n == 0) || both > 0;
	classes_release(&ca);
	classes_release(&cb);
	return 0;
}

/* ---- structural paths -------------------------------------------------- */

/* one step of the path from a row down to the match */
struct step {
	const xmlChar *name;
	int pos; /* 1-based among the parent's children of that name */
};

static int
position_of(xmlNodePtr n)
{
	xmlNodePtr s;
	int pos = 1;

	for (s = n->prev; s != NULL; s = s->prev)
		if (is_element(s) && xmlStrcmp(s->name, n->name) == 0)
			pos++;
	return pos;
}

static xmlNodePtr
child_at(xmlNodePtr parent, const xmlChar *name, int pos)
{
	xmlNodePtr c;

	for (c = parent->children; c != NULL; c = c->next)
		if (is_element(c) && xmlStrcmp(c->name, name) == 0 &&
		    --pos == 0)
			return c;
	return NULL;
}

/* follow steps from row: the nodes on the way into path[] (k of them) */
static bool
follow(xmlNodePtr row, const struct step *steps, size_t k, xmlNodePtr *path)
{
	xmlNodePtr cur = row;
	size_t i;

	for (i = 0; i < k; i++) {
		cur = child_at(cur, steps[i].name, steps[i].pos);
		if (cur == NULL)
			return false;
		path[i] = cur;
	}
	return true;
}

/* ---- writing XPath and CSS --------------------------------------------- */

static int
put_literal(struct buf *b, const char *s)
{
	const char *q;

	if (strchr(s, '\'') == NULL)
		return buf_printf(b, "'%s'", s);
	if (strchr(s, '"') == NULL)
		return buf_printf(b, "\"%s\"", s);
	if (buf_puts(b, "concat(") != 0)
		return -1;
	while ((q = strchr(s, '\'')) != NULL) {
		if (buf_printf(b, "'%.*s', \"'\", ", (int)(q - s), s) != 0)
			return -1;
		s = q + 1;
	}
	return buf_printf(b, "'%s')", s);
}

/* a CSS identifier for `s` (CSS Syntax "serialize an identifier") */
static int
put_css_ident(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;
	int r = 0;

	for (i = 0; u[i] != '\0' && r == 0; i++) {
		if ((u[i] >= '0' && u[i] <= '9' &&
			(i == 0 || (i == 1 && u[0] == '-'))) ||
		    u[i] < 0x20 || u[i] == 0x7F)
			r = buf_printf(b, "\\%x ", u[i]);
		else if (u[i] >= 0x80 || (u[i] >= 'a' && u[i] <= 'z') ||
			 (u[i] >= 'A' && u[i] <= 'Z') ||
			 (u[i] >= '0' && u[i] <= '9') || u[i] == '-' ||
			 u[i] == '_')
			r = buf_append(b, &u[i], 1);
		else
			r = buf_printf(b, "\\%c", u[i]);
	}
	if (r == 0 && s[0] == '-' && s[1] == '\0')
		r = buf_puts(b, "\\-");
	return r;
}

/* is `s` an XPath name test (ASCII, as the names of HTML elements)? */
static bool
plain_name(const xmlChar *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_'))
			return false;
	return true;
}

/* one step: name, optional position (of that name), the first `maxcl`
 * classes */
static int
put_step(struct buf *x, struct buf *c, const xmlChar *name, int pos,
    const struct classes *cl, size_t maxcl)
{
	size_t i;

	if (buf_puts(x, (const char *)name) != 0 ||
	    buf_puts(c, (const char *)name) != 0)
		return -1;
	if (pos > 0 && buf_printf(x, "[%d]", pos) != 0)
		return -1;
	for (i = 0; i < cl->n && i < maxcl; i++) {
		if (buf_puts(x,
			"[contains(concat(' ', normalize-space(@class), "
			"' '), ") != 0 ||
		    buf_puts(c, ".") != 0 || put_css_ident(c, cl->v[i]) != 0)
			return -1;
		{
			struct buf t;
			int r;

			buf_init(&t, 0);
			r = buf_printf(&t, " %s ", cl->v[i]);
			if (r == 0)
				r = put_literal(x, t.data);
			buf_release(&t);
			if (r != 0 || buf_puts(x, ")]") != 0)
				return -1;
		}
	}
	if (pos > 0 && buf_printf(c, ":nth-of-type(%d)", pos) != 0)
		return -1;
	return 0;
}

/* intersect `acc` with the classes of `n` (acc taken over on the first) */
static int
classes_intersect(struct classes *acc, bool *first, xmlNodePtr n)
{
	struct classes c;
	size_t i, j;

	if (classes_of(n, &c) != 0)
		return -1;
	if (*first) {
		*acc = c;
		*first = false;
		return 0;
	}
	for (i = j = 0; i < acc->n; i++) {
		if (classes_has(&c, acc->v[i]))
			acc->v[j++] = acc->v[i];
		else
			free(acc->v[i]);
	}
	acc->n = j;
	classes_release(&c);
	return 0;
}

/* among n's siblings of its name, how many also have every class of cl? */
static int
count_alike(xmlNodePtr n, const struct classes *cl, size_t *count)
{
	struct classes c;
	xmlNodePtr s;
	size_t i;
	bool all;

	*count = 0;
	for (s = n->parent ? n->parent->children : n; s != NULL; s = s->next) {
		if (!is_element(s) || xmlStrcmp(s->name, n->name) != 0)
			continue;
		if (classes_of(s, &c) != 0)
			return -1;
		all = true;
		for (i = 0; i < cl->n && all; i++)
			all = classes_has(&c, cl->v[i]);
		classes_release(&c);
		if (all)
			(*count)++;
	}
	return 0;
}

/*
 * put_anchor writes the path down to `p` (the rows' parent): from the
 * nearest ancestor with a stable id, else <body>, else MAX_ANCHOR_STEPS up
 */
static int
put_anchor(struct buf *x, struct buf *c, xmlNodePtr p, bool shortcut,
    size_t *descendant)
{
	xmlNodePtr chain[MAX_ANCHOR_STEPS];
	struct classes cl;
	xmlNodePtr a;
	xmlChar *id = NULL;
	size_t n = 0, i;
	bool has_id = false;
	int r = 0;

	for (a = p; is_element(a); a = a->parent) {
		id = xmlGetProp(a, BAD_CAST "id");
		if (id != NULL && id[0] != '\0' &&
		    !id_looks_generated((const char *)id))
			break;
		xmlFree(id);
		id = NULL;
		if (name_is(a, "body") || name_is(a, "html") ||
		    n == MAX_ANCHOR_STEPS || !plain_name(a->name))
			break;
		chain[n++] = a;
	}
	if (id != NULL) {
		r = buf_puts(x, "//*[@id = ");
		if (r == 0)
			r = put_literal(x, (const char *)id);
		if (r == 0)
			r = buf_puts(x, "]");
		if (r == 0)
			r = buf_puts(c, "#");
		if (r == 0)
			r = put_css_ident(c, (const char *)id);
		xmlFree(id);
		id = NULL;
		has_id = true;
	} else if (is_element(a) && name_is(a, "body")) {
		r = buf_puts(x, "/html/body");
		if (r == 0)
			r = buf_puts(c, "body");
	} else {
		r = buf_puts(x, "/");
	}
	if (shortcut && (has_id || (is_element(a) && name_is(a, "body")))) {
		/* anchor, then any depth down to the rows */
		*descendant = 1;
		return r == 0 ? buf_puts(x, "/") : -1;
	}
	for (i = n; i-- > 0 && r == 0;) {
		if (classes_of(chain[i], &cl) != 0)
			return -1;
		if (c->len > 0)
			r = buf_puts(c, " > ");
		if (r == 0)
			r = buf_puts(x, "/");
		if (r == 0)
			r = put_step(x, c, chain[i]->name, 0, &cl, 1);
		classes_release(&cl);
	}
	return r;
}

/* ---- candidates -------------------------------------------------------- */

struct found {
	struct extract_candidate *v;
	size_t n, cap;
	int *level; /* per candidate: ancestors walked up (ranking) */
};

static void
candidate_release(struct extract_candidate *c)
{
	free(c->xpath);
	free(c->css);
	item_list_release(&c->preview);
}

void
extract_candidates_free(struct extract_candidate *c, size_t n)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < n; i++)
		candidate_release(&c[i]);
	free(c);
}

/*
 * evaluate the xpath: items, preview, how many texts it covers; 0, 1 when
 * it does not compile (not a candidate), -1 on out-of-memory
 */
static int
evaluate(const struct extract_doc *d, struct extract_candidate *cand,
    const char *const *texts, size_t ntexts, extract_match_fn match,
    struct kw_err *err)
{
	struct kw_err cerr = { 0 };
	struct extract_xpath *xp;
	struct item_list items;
	size_t i, t;
	int r;

	xp = extract_xpath_compile(cand->xpath, &cerr);
	if (xp == NULL)
		return 1; /* an odd name or value: not a candidate */
	item_list_init(&items);
	r = extract_doc_items(d, xp, &items, err);
	extract_xpath_free(xp);
	if (r != 0)
		return -1;
	cand->nitems = items.n;
	cand->ntexts = 0;
	for (t = 0; t < ntexts; t++)
		for (i = 0; i < items.n; i++)
			if (match(items.v[i].text, texts[t])) {
				cand->ntexts++;
				break;
			}
	item_list_init(&cand->preview);
	for (i = 0; i < items.n && i < EXTRACT_PREVIEW_MAX; i++)
		if (item_list_add(&cand->preview, items.v[i].text,
			items.v[i].link) != 0) {
			item_list_release(&items);
			return kw_err_set(err, "out of memory");
		}
	item_list_release(&items);
	return 0;
}

static bool
known(const struct found *f, const char *xpath)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].xpath, xpath) == 0)
			return true;
	return false;
}

static int
found_add(struct found *f, struct extract_candidate *c, int level)
{
	struct extract_candidate *nv;
	int *nl;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		nv = realloc(f->v, f->cap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		f->v = nv;
		nl = realloc(f->level, f->cap * sizeof(*nl));
		if (nl == NULL)
			return -1;
		f->level = nl;
	}
	f->level[f->n] = level;
	f->v[f->n++] = *c;
	return 0;
}

/* trim_classes frees the classes past MAX_CLASSES; returns the new count */
static size_t
trim_classes(struct classes *cl)
{
	size_t i;

	for (i = MAX_CLASSES; i < cl->n; i++)
		free(cl->v[i]);
	return MAX_CLASSES;
}

/* the whole selector: anchor, row, path down to the match */
static int
build(struct buf *x, struct buf *c, xmlNodePtr row, const struct classes *rowcl,
    const struct step *steps, const int *pos, const struct classes *stepcl,
    size_t k, bool shortcut)
{
	size_t i, before = 0;

	if (put_anchor(x, c, row->parent, shortcut, &before) != 0)
		return -1;
	if (buf_puts(x, "/") != 0 ||
	    (c->len > 0 && buf_puts(c, before ? " " : " > ") != 0) ||
	    put_step(x, c, row->name, 0, rowcl, MAX_CLASSES) != 0)
		return -1;
	for (i = 0; i < k; i++)
		if (buf_puts(x, "/") != 0 || buf_puts(c, " > ") != 0 ||
		    put_step(x, c, steps[i].name, pos[i], &stepcl[i],
			MAX_CLASSES) != 0)
			return -1;
	return 0;
}

/*
 * candidate_at: the list whose rows are `row`'s similar siblings holding
 * the path `steps` (k of them) from a row down to the match
 */
static int
candidate_at(const struct extract_doc *d, xmlNodePtr row,
    const struct step *steps, size_t k, int level, const char *const *texts,
    size_t ntexts, extract_match_fn match, struct found *f, struct kw_err *err)
{
	struct extract_candidate cand, short_cand;
	struct classes rowcl = { 0 }, *stepcl = NULL;
	size_t short_items = 0;
	int *pos = NULL, variant;
	struct buf x, c;
	xmlNodePtr s, *path = NULL, *mine = NULL;
	bool ok, first = true, *sfirst = NULL;
	size_t nrows = 0, i, alike;
	int r = -1;

	memset(&cand, 0, sizeof(cand));
	memset(&short_cand, 0, sizeof(short_cand));
	buf_init(&x, 0);
	buf_init(&c, 0);
	pos = calloc(k + 1, sizeof(*pos));
	path = calloc(k + 1, sizeof(*path));
	mine = calloc(k + 1, sizeof(*mine));
	stepcl = calloc(k + 1, sizeof(*stepcl));
	sfirst = calloc(k + 1, sizeof(*sfirst));
	if (pos == NULL || path == NULL || mine == NULL || stepcl == NULL ||
	    sfirst == NULL)
		goto nomem;
	for (i = 0; i < k; i++) {
		sfirst[i] = true;
		if (!plain_name(steps[i].name))
			goto done;
	}
	if (!plain_name(row->name) || !follow(row, steps, k, mine))
		goto done;
	for (s = row->parent->children; s != NULL; s = s->next) {
		if (!is_element(s))
			continue;
		if (s != row) {
			if (similar(s, row, &ok) != 0)
				goto nomem;
			if (!ok)
				continue;
		}
		if (!follow(s, steps, k, path))
			continue;
		nrows++;
		if (classes_intersect(&rowcl, &first, s) != 0)
			goto nomem;
		for (i = 0; i < k; i++)
			if (classes_intersect(&stepcl[i], &sfirst[i],
				path[i]) != 0)
				goto nomem;
	}
	if (nrows < MIN_ROWS)
		goto done;
	/* at most MAX_CLASSES classes a step: the first ones, written first */
	if (rowcl.n > MAX_CLASSES)
		rowcl.n = trim_classes(&rowcl);
	for (i = 0; i < k; i++)
		if (stepcl[i].n > MAX_CLASSES)
			stepcl[i].n = trim_classes(&stepcl[i]);
	for (i = 0; i < k; i++) {
		if (count_alike(mine[i], &stepcl[i], &alike) != 0)
			goto nomem;
		pos[i] = alike > 1 ? steps[i].pos : 0;
	}
	/* the short form (anchor, then any depth) when it selects as many */
	for (variant = 0; variant < 2; variant++) {
		buf_reset(&x);
		buf_reset(&c);
		if (build(&x, &c, row, &rowcl, steps, pos, stepcl, k,
			variant == 0) != 0)
			goto nomem;
		if (known(f, x.data))
			goto done;
		candidate_release(&cand);
		memset(&cand, 0, sizeof(cand));
		cand.nrows = nrows;
		cand.xpath = buf_detach(&x, NULL);
		cand.css = buf_detach(&c, NULL);
		if (cand.xpath == NULL || cand.css == NULL)
			goto nomem;
		r = evaluate(d, &cand, texts, ntexts, match, err);
		if (r < 0)
			goto out;
		if (r > 0)
			goto done;
		if (variant == 0) {
			short_items = cand.nitems;
			short_cand = cand;
			memset(&cand, 0, sizeof(cand));
			continue;
		}
		if (short_items == cand.nitems) {
			candidate_release(&cand);
			cand = short_cand;
			memset(&short_cand, 0, sizeof(short_cand));
		}
	}
	if (cand.nitems < MIN_ROWS)
		goto done;
	if (found_add(f, &cand, level) != 0)
		goto nomem;
	memset(&cand, 0, sizeof(cand));
done:
	r = 0;
	goto out;
nomem:
	kw_err_set(err, "out of memory");
out:
	candidate_release(&cand);
	candidate_release(&short_cand);
	free(pos);
	classes_release(&rowcl);
	for (i = 0; stepcl != NULL && i < k; i++)
		classes_release(&stepcl[i]);
	free(stepcl);
	free(sfirst);
	free(path);
	free(mine);
	buf_release(&x);
	buf_release(&c);
	return r;
}

/* every list `m` belongs to, walking up at most MAX_LEVELS ancestors */
static int
lists_of(const struct extract_doc *d, xmlNodePtr m, int rank0,
    const char *const *texts, size_t ntexts, extract_match_fn match,
    struct found *f, struct kw_err *err)
{
	struct step steps[MAX_LEVELS];
	xmlNodePtr row = m;
	size_t k = 0;
	int level;

	for (level = 0; level < MAX_LEVELS; level++) {
		if (!is_element(row->parent) || name_is(row, "body") ||
		    name_is(row, "html") || name_is(row, "head"))
			break;
		if (candidate_at(d, row, steps, k, rank0 + level, texts, ntexts,
			match, f, err) != 0)
			return -1;
		memmove(steps + 1, steps, k * sizeof(*steps));
		steps[0].name = row->name;
		steps[0].pos = position_of(row);
		k++;
		row = row->parent;
	}
	return 0;
}

static xmlNodePtr
find_body(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c;

	for (c = root ? root->children : NULL; c != NULL; c = c->next)
		if (name_is(c, "body"))
			return c;
	return root;
}

/* rank: texts covered, rows, nearness to the match, first found */
static int
better(const struct found *f, size_t a, size_t b)
{
	const struct extract_candidate *x = &f->v[a], *y = &f->v[b];

	if (x->ntexts != y->ntexts)
		return x->ntexts > y->ntexts;
	if (x->nrows != y->nrows)
		return x->nrows > y->nrows;
	if (f->level[a] != f->level[b])
		return f->level[a] < f->level[b];
	return a < b;
}

int
extract_find(const struct extract_doc *d, const char *const *texts,
    size_t ntexts, extract_match_fn match, size_t max,
    struct extract_candidate **out, size_t *nout, struct kw_err *err)
{
	struct found f = { 0 };
	struct nodes m = { 0 };
	struct extract_candidate tmp;
	xmlNodePtr body, a;
	size_t i, j, best;
	int oom = 0, lv, r = -1;

	*out = NULL;
	*nout = 0;
	body = find_body(d->doc);
	if (body == NULL || ntexts == 0)
		return kw_err_set(err, "the page has no elements");
	if (!node_matches(body, texts[0], match, &oom)) {
		if (oom)
			goto nomem;
		kw_err_set(err, "no element's text contains '%s'", texts[0]);
		goto out;
	}
	if (find_deepest(body, texts[0], match, &m) != 0)
		goto nomem;
	for (i = 0; i < m.n; i++) {
		if (lists_of(d, m.v[i], 0, texts, ntexts, match, &f, err) != 0)
			goto out;
		/* and the link around the text, when it is close */
		for (a = m.v[i]->parent, lv = 0; is_element(a) && lv < 3;
		     a = a->parent, lv++) {
			if (name_is(a, "a")) {
				/* ranked after the text's own element */
				if (lists_of(d, a, MAX_LEVELS, texts, ntexts,
					match, &f, err) != 0)
					goto out;
				break;
			}
		}
	}
	/* selection sort by rank: few candidates */
	for (i = 0; i < f.n; i++) {
		best = i;
		for (j = i + 1; j < f.n; j++)
			if (better(&f, j, best))
				best = j;
		if (best != i) {
			tmp = f.v[i];
			f.v[i] = f.v[best];
			f.v[best] = tmp;
			lv = f.level[i];
			f.level[i] = f.level[best];
			f.level[best] = lv;
		}
	}
	while (f.n > max)
		candidate_release(&f.v[--f.n]);
	*out = f.v;
	*nout = f.n;
	f.v = NULL;
	f.n = 0;
	r = 0;
	goto out;
nomem:
	kw_err_set(err, "out of memory");
out:
	extract_candidates_free(f.v, f.n);
	free(f.level);
	free(m.v);
	return r;
}
