/*
 * message: the quiet-hours digest, held template objects -> one list
 * template (message.h, message_build_digest; docs/design.md §2.8).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/message.h"

#define DIGEST_BUTTON "열기"
#define DIGEST_OWN "kakaowatch"

/* one item read back from a held message */
struct ditem {
	size_t group;
	char *title; /* one line, heap */
	char *link;  /* message_url_ok or NULL, heap */
	char *image; /* http(s) image_url or NULL, heap */
	char *desc;  /* its description line (price · shop) or NULL, heap */
};

struct dgroup {
	const char *name; /* borrowed from the parts; NULL: own messages */
	const char *page; /* borrowed; may be NULL */
	size_t count;
	size_t first; /* index of its first item */
};

struct digest {
	struct ditem *items;
	size_t n, cap;
	struct dgroup *groups;
	size_t ngroups;
};

/* one_line: a heap copy of s with controls and blank runs as one space */
static char *
one_line(const char *s)
{
	size_t len = strlen(s), i, o = 0;
	char *out = malloc(len + 1);
	bool space = true;

	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		out[o++] = (char)c;
		space = false;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return out;
}

static const char *
str_of(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *
link_of(json_t *o, const char *key)
{
	json_t *l = json_is_object(o) ? json_object_get(o, key) : NULL;
	const char *u = str_of(l, "mobile_web_url");

	if (!message_url_ok(u))
		u = str_of(l, "web_url");
	return message_url_ok(u) ? u : NULL;
}

static int
add_item(struct digest *d, size_t group, const char *title, const char *link,
    const char *image, const char *desc)
{
	struct ditem *it;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct ditem *v = realloc(d->items, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		d->items = v;
		d->cap = cap;
	}
	it = &d->items[d->n];
	memset(it, 0, sizeof(*it));
	it->group = group;
	it->title = one_line(title != NULL && title[0] != '\0' ? title :
			     link != NULL                      ? link :
					    "(텍스트 없음)");
	it->link = link != NULL ? strdup(link) : NULL;
	it->image =
	    image != NULL && message_url_ok(image) ? strdup(image) : NULL;
	it->desc = desc != NULL && desc[0] != '\0' ? one_line(desc) : NULL;
	if (it->title == NULL || (link != NULL && it->link == NULL) ||
	    (desc != NULL && desc[0] != '\0' && it->desc == NULL)) {
		free(it->title);
		free(it->link);
		free(it->image);
		free(it->desc);
		return -1;
	}
	d->n++;
	d->groups[group].count++;
	return 0;
}

/*
 * read_part adds the items of one held template object: a text
 * template's text (a watch's "NAME: 1 new" first line dropped), each
 * content of a list, a feed's content; anything else one item. A list
 * content keeps its description, a feed's content the lines of its
 * description after the header line (message.c feed_template).
 */
static int
read_part(struct digest *d, size_t group, const struct message_digest_part *p)
{
	json_t *root = json_loads(p->template_json, 0, NULL), *c, *v;
	const char *type = str_of(root, "object_type"), *text, *nl, *desc;
	size_t i, before = d->n;
	int r = 0;

	if (type != NULL && strcmp(type, "text") == 0 &&
	    (text = str_of(root, "text")) != NULL) {
		nl = strchr(text, '\n');
		if (!p->own && nl != NULL && nl[1] != '\0')
			text = nl + 1;
		r = add_item(d, group, text, link_of(root, "link"), NULL, NULL);
	} else if (type != NULL && strcmp(type, "list") == 0 &&
		   json_is_array(v = json_object_get(root, "contents"))) {
		json_array_foreach(v, i, c) {
			r = add_item(d, group, str_of(c, "title"),
			    link_of(c, "link"), str_of(c, "image_url"),
			    str_of(c, "description"));
			if (r != 0)
				break;
		}
		if (r == 0 && d->n == before)
			r = add_item(d, group, str_of(root, "header_title"),
			    link_of(root, "header_link"), NULL, NULL);
	} else if (type != NULL && strcmp(type, "feed") == 0 &&
		   json_is_object(c = json_object_get(root, "content"))) {
		/* its description: "HEADER[\nDESCRIPTION]" */
		desc = str_of(c, "title") ? str_of(c, "description") : NULL;
		if (desc != NULL && !p->own)
			desc =
			    (nl = strchr(desc, '\n')) != NULL ? nl + 1 : NULL;
		r = add_item(d, group,
		    str_of(c, "title") ? str_of(c, "title") :
					 str_of(c, "description"),
		    link_of(c, "link"), str_of(c, "image_url"), desc);
	} else {
		r = add_item(d, group, NULL, NULL, NULL, NULL);
	}
	json_decref(root);
	return r;
}

static json_t *
link_obj(const char *url)
{
	json_t *o = json_object();

	if (url == NULL || !message_url_ok(url))
		url = MESSAGE_FALLBACK_LINK;
	if (o == NULL ||
	    json_object_set_new(o, "web_url", json_string(url)) != 0 ||
	    json_object_set_new(o, "mobile_web_url", json_string(url)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* the page of group g, else its first item's link, else NULL */
static const char *
group_link(const struct digest *d, size_t g)
{
	const struct dgroup *gr = &d->groups[g];

	if (gr->page != NULL && message_url_ok(gr->page))
		return gr->page;
	return d->items[gr->first].link;
}

/*
 * add_content appends {title (cut to MESSAGE_TITLE_MAX), description (cut
 * to MESSAGE_DESCRIPTION_MAX; NULL: none), image, link}
 */
static int
add_content(json_t *contents, const char *title, const char *desc,
    const char *image, const char *link)
{
	json_t *c = json_object();
	char *cut = message_cut(title, MESSAGE_TITLE_MAX), *dcut = NULL;
	int r = -1;

	if (c == NULL || cut == NULL)
		goto out;
	if (desc != NULL &&
	    (dcut = message_cut(desc, MESSAGE_DESCRIPTION_MAX)) == NULL)
		goto out;
	if (json_object_set_new(c, "title", json_string(cut)) != 0 ||
	    (dcut != NULL && json_object_set_new(c, "description",
				 json_string(dcut)) != 0) ||
	    (image != NULL &&
		json_object_set_new(c, "image_url", json_string(image)) != 0) ||
	    json_object_set_new(c, "link", link_obj(link)) != 0)
		goto out;
	r = json_array_append(contents, c);
out:
	json_decref(c);
	free(cut);
	free(dcut);
	return r;
}

/* item_line: "NAME: title" for a watch's item, the title for our own */
static int
item_line(const struct digest *d, const struct ditem *it, struct buf *b)
{
	const char *name = d->groups[it->group].name;

	buf_reset(b);
	/* one source: the header names it */
	if (name != NULL && d->ngroups > 1)
		return buf_printf(b, "%s: %s", name, it->title);
	return buf_printf(b, "%s", it->title);
}

/* group_line: "NAME (N): t1 · t2 · ..." (cut later) */
static int
group_line(const struct digest *d, size_t g, struct buf *b)
{
	const struct dgroup *gr = &d->groups[g];
	size_t i, shown = 0;
	int r;

	buf_reset(b);
	r = buf_printf(b, "%s (%zu):", gr->name ? gr->name : DIGEST_OWN,
	    gr->count);
	for (i = gr->first; r == 0 && i < d->n && b->len < 400; i++) {
		if (d->items[i].group != g)
			continue;
		r = buf_printf(b, "%s %s", shown ? " ·" : "",
		    d->items[i].title);
		shown++;
	}
	return r;
}

static char *
build(const struct digest *d, const char *label)
{
	json_t *root = json_object(), *contents = json_array(), *buttons,
	       *button;
	const char *head_link = group_link(d, 0), *image;
	struct buf b, h;
	char *out = NULL, *cut = NULL;
	size_t i, g, slots;
	int r = 0;

	buf_init(&b, 0);
	buf_init(&h, 0);
	if (root == NULL || contents == NULL)
		goto out;
	if (buf_printf(&h, "Quiet hours%s%s: %zu item%s", label ? " " : "",
		label ? label : "", d->n, d->n == 1 ? "" : "s") != 0)
		goto out;
	if (d->ngroups == 1)
		r = buf_printf(&h, " from %s",
		    d->groups[0].name ? d->groups[0].name : DIGEST_OWN);
	else
		r = buf_printf(&h, " from %zu sources", d->ngroups);
	if (r != 0 || (cut = message_cut(h.data, MESSAGE_HEADER_MAX)) == NULL)
		goto out;
	if (d->n <= MESSAGE_LIST_MAX) {
		/* every item a content of its own, with its picture */
		for (i = 0; i < d->n; i++)
			if (item_line(d, &d->items[i], &b) != 0 ||
			    add_content(contents, b.data, d->items[i].desc,
				d->items[i].image,
				d->items[i].link ?
				    d->items[i].link :
				    group_link(d, d->items[i].group)) != 0)
				goto out;
	} else if (d->ngroups == 1) {
		/* one source: its first two items, then the rest in one line */
		for (i = 0; i < 2; i++)
			if (item_line(d, &d->items[i], &b) != 0 ||
			    add_content(contents, b.data, d->items[i].desc,
				d->items[i].image,
				d->items[i].link ? d->items[i].link :
						   head_link) != 0)
				goto out;
		buf_reset(&b);
		if (buf_printf(&b, "+%zu more:", d->n - 2) != 0)
			goto out;
		for (i = 2; i < d->n && b.len < 400; i++)
			if (buf_printf(&b, "%s %s", i > 2 ? " ·" : "",
				d->items[i].title) != 0)
				goto out;
		if (add_content(contents, b.data, NULL, NULL, head_link) != 0)
			goto out;
	} else {
		/* one content per source; past three, the rest counted */
		slots = d->ngroups <= MESSAGE_LIST_MAX ? d->ngroups :
							 MESSAGE_LIST_MAX - 1;
		for (g = 0; g < slots; g++) {
			image = d->groups[g].count == 1 ?
				    d->items[d->groups[g].first].image :
				    NULL;
			if (group_line(d, g, &b) != 0 ||
			    add_content(contents, b.data, NULL, image,
				d->groups[g].count == 1 &&
					d->items[d->groups[g].first].link ?
				    d->items[d->groups[g].first].link :
				    group_link(d, g)) != 0)
				goto out;
		}
		if (slots < d->ngroups) {
			buf_reset(&b);
			if (buf_printf(&b,
				"+%zu more sources:", d->ngroups - slots) != 0)
				goto out;
			for (g = slots; g < d->ngroups && b.len < 400; g++)
				if (buf_printf(&b, "%s %s (%zu)",
					g > slots ? "," : "",
					d->groups[g].name ? d->groups[g].name :
							    DIGEST_OWN,
					d->groups[g].count) != 0)
					goto out;
			if (add_content(contents, b.data, NULL, NULL,
				group_link(d, slots)) != 0)
				goto out;
		}
	}
	buttons = json_array();
	button = json_object();
	if (buttons == NULL || button == NULL ||
	    json_object_set_new(button, "title", json_string(DIGEST_BUTTON)) ||
	    json_object_set_new(button, "link", link_obj(head_link)) ||
	    json_array_append_new(buttons, button)) {
		json_decref(buttons);
		json_decref(button);
		goto out;
	}
	if (json_object_set_new(root, "object_type", json_string("list")) ||
	    json_object_set_new(root, "header_title", json_string(cut)) ||
	    json_object_set_new(root, "header_link", link_obj(head_link)) ||
	    json_object_set(root, "contents", contents) ||
	    json_object_set_new(root, "buttons", buttons))
		goto out;
	out = json_dumps(root, JSON_COMPACT);
out:
	buf_release(&b);
	buf_release(&h);
	free(cut);
	json_decref(contents);
	json_decref(root);
	return out;
}

char *
message_build_digest(const char *label, const struct message_digest_part *v,
    size_t n, struct kw_err *err)
{
	struct digest d = { 0 };
	char *out = NULL;
	size_t i, g;

	if (n < 2) {
		kw_err_set(err, "a digest needs two messages or more");
		return NULL;
	}
	d.groups = calloc(n, sizeof(*d.groups));
	if (d.groups == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		const char *name = v[i].own ? NULL : v[i].watch;

		for (g = 0; g < d.ngroups; g++)
			if ((name == NULL && d.groups[g].name == NULL) ||
			    (name != NULL && d.groups[g].name != NULL &&
				strcmp(name, d.groups[g].name) == 0))
				break;
		if (g == d.ngroups) {
			d.groups[g].name = name;
			d.groups[g].page = v[i].page_url;
			d.groups[g].first = d.n;
			d.ngroups++;
		}
		if (read_part(&d, g, &v[i]) != 0)
			goto oom;
	}
	out = build(&d, label);
	if (out == NULL)
		goto oom;
	goto out;
oom:
	kw_err_set(err, "out of memory");
out:
	for (i = 0; i < d.n; i++) {
		free(d.items[i].title);
		free(d.items[i].link);
		free(d.items[i].image);
		free(d.items[i].desc);
	}
	free(d.items);
	free(d.groups);
	return out;
}
