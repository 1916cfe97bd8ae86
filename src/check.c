/* check: fetch, extract, diff, record one watch (see check.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/check.h"
#include "kakaowatch/cond.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/diff.h"
#include "kakaowatch/item.h"
#include "kakaowatch/jq.h"
#include "kakaowatch/key.h"
#include "kakaowatch/log.h"
#include "kakaowatch/message.h"
#include "kakaowatch/render.h"
#include "kakaowatch/util.h"

struct check_job {
	struct check_env env;
	const struct watch_config *wc;
	const struct extract_xpath *xp;
	char *spec; /* extraction_spec(wc): what the snapshot is of */
	struct watch_state st;
	struct regex *key_re; /* wc->key_pattern compiled (borrowed from
				 env.compiled), or NULL */
	int64_t started_at;
	check_done_fn done;
	void *user;
};

/* messages: growable list of template objects queued by one check */
struct msgs {
	char **v;
	size_t n;
};

static int
msgs_take(struct msgs *m, char **v, size_t n)
{
	char **p;
	size_t i;

	if (n == 0) {
		free(v);
		return 0;
	}
	p = realloc(m->v, (m->n + n) * sizeof(*p));
	if (p == NULL) {
		message_list_free(v, n);
		return -1;
	}
	m->v = p;
	for (i = 0; i < n; i++)
		m->v[m->n++] = v[i];
	free(v);
	return 0;
}

static void
msgs_release(struct msgs *m)
{
	message_list_free(m->v, m->n);
	m->v = NULL;
	m->n = 0;
}

/* cond_lookup_fn over one item: item_get (title, link, its fields) */
static const char *
item_lookup(void *ctx, const char *name)
{
	return item_get(ctx, name);
}

/*
 * keeps in `l` only the items for which every `when:` condition holds.
 * A condition stopped by the regex limits drops the item with a warning.
 * The conditions are the watch's, compiled at config load (when_cond).
 * Returns 0, or -1 with a message in `err` (out of memory).
 */
static int
when_filter(const struct watch_config *wc, struct item_list *l,
    struct kw_err *err)
{
	struct cond *const *conds = wc->when_cond;
	struct item_list kept;
	size_t i, j;
	int result = -1;

	if (wc->nwhen == 0)
		return 0;
	if (conds == NULL)
		return kw_err_set(err, "when: not compiled");
	item_list_init(&kept);
	for (i = 0; i < l->n; i++) {
		bool all = true;

		for (j = 0; j < wc->nwhen && all; j++) {
			struct kw_err merr = { 0 };

			if (cond_eval(conds[j], item_lookup, &l->v[i], &all,
				NULL, &merr) != 0)
				log_warnx("%s: when: %s", wc->name, merr.msg);
		}
		if (all && item_list_add_copy(&kept, &l->v[i]) != 0) {
			kw_err_set(err, "out of memory");
			goto out;
		}
	}
	item_list_release(l);
	*l = kept;
	item_list_init(&kept);
	result = 0;
out:
	item_list_release(&kept);
	return result;
}

/* the changes the user asked to hear about, as messages */
static int
build_change_messages(const struct config *cfg, const struct watch_config *wc,
    const struct item_list *added, const struct item_list *changed,
    const struct item_list *removed, struct msgs *m, struct kw_err *err)
{
	int max = cfg->max_messages_per_check;
	struct message_format fmt = {
		config_watch_message(wc, "title"),
		config_watch_message(wc, "description"),
		config_watch_message(wc, "header"),
	};
	struct item_list shown;
	char **v = NULL;
	size_t n = 0;
	int result = -1;
	const int bits[3] = { NOTIFY_ADDED, NOTIFY_CHANGED, NOTIFY_REMOVED };
	const enum message_kind kinds[3] = { MESSAGE_ADDED, MESSAGE_CHANGED,
		MESSAGE_REMOVED };
	const struct item_list *lists[3] = { added, changed, removed };
	size_t k;

	for (k = 0; k < 3; k++) {
		if (!(wc->notify_on & bits[k]) || lists[k]->n == 0)
			continue;
		/* keywords and exclude see the text as it is now */
		item_list_init(&shown);
		if (diff_filter(lists[k], (const char *const *)wc->keywords,
			wc->nkeywords, (const char *const *)wc->exclude,
			wc->nexclude, &shown) != 0) {
			kw_err_set(err, "out of memory");
			goto out;
		}
		/* and so do the when: conditions */
		if (when_filter(wc, &shown, err) != 0) {
			item_list_release(&shown);
			goto out;
		}
		if (shown.n > 0) {
			if (message_build_format(&fmt, wc->name, wc->url,
				kinds[k], &shown,
				max - (int)m->n > 0 ? max - (int)m->n : 1, &v,
				&n, err) != 0 ||
			    msgs_take(m, v, n) != 0) {
				item_list_release(&shown);
				kw_err_set(err, "out of memory");
				goto out;
			}
		}
		item_list_release(&shown);
	}
	result = 0;
out:
	return result;
}

int
check_messages(const struct config *cfg, const struct watch_config *wc,
    const struct item_list *added, const struct item_list *changed,
    const struct item_list *removed, char ***out, size_t *nout,
    struct kw_err *err)
{
	struct item_list none;
	struct msgs m = { NULL, 0 };

	item_list_init(&none);
	*out = NULL;
	*nout = 0;
	if (build_change_messages(cfg, wc, added ? added : &none,
		changed ? changed : &none, removed ? removed : &none, &m,
		err) != 0) {
		msgs_release(&m);
		return -1;
	}
	*out = m.v;
	*nout = m.n;
	return 0;
}

/*
 * rekey_snapshot gives the items of a stored snapshot the keys of this
 * check: the stored ones, unless the key settings changed (`rekeyed`) or
 * a row has none (written by 0.1). 0 or -1 with `err`.
 */
static int
rekey_snapshot(struct item_list *old, bool rekeyed, const struct key_spec *spec,
    enum key_mode resolved, const char *page, struct kw_err *err)
{
	struct item *it;
	size_t i;
	char *key;

	for (i = 0; i < old->n; i++) {
		it = &old->v[i];
		if (!rekeyed && it->key != NULL)
			continue;
		key = key_recompute(it->text, it->link, it->key, spec, resolved,
		    page, err);
		if (key == NULL)
			return -1;
		free(it->key);
		it->key = key;
	}
	return 0;
}

/*
 * rekey_seen remakes the keys of the watch's seen set with the current key
 * settings (after an upgrade from 0.1, a new key:/key_pattern:, or auto
 * deciding otherwise for this page): *out gets the entries with new keys
 * (the store merges equal ones) and `seen` the same as items for
 * diff_changes. 0 or -1 with `err`.
 */
static int
rekey_seen(struct check_job *job, const struct key_spec *spec,
    enum key_mode resolved, const char *page, struct seen_entry **out,
    size_t *nout, struct item_list *seen, struct kw_err *err)
{
	struct seen_entry *v = NULL;
	size_t n = 0, i;
	char *key;

	item_list_init(seen);
	/* newest first, so the first of equal new keys has the latest text;
	 * beyond the cap they would be dropped anyway */
	if (store_seen_all(job->env.store, job->wc->name,
		STORE_SEEN_MAX_PER_WATCH, &v, &n, err) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		key = key_recompute(v[i].text, v[i].link, v[i].key, spec,
		    resolved, page, err);
		if (key == NULL)
			goto fail;
		free(v[i].key);
		v[i].key = key;
		if (item_list_add(seen, v[i].text, v[i].link) != 0)
			goto oom;
		seen->v[seen->n - 1].key = strdup(key);
		if (seen->v[seen->n - 1].key == NULL)
			goto oom;
	}
	*out = v;
	*nout = n;
	return 0;
oom:
	kw_err_set(err, "out of memory");
fail:
	seen_entries_free(v, n);
	item_list_release(seen);
	return -1;
}

/*
 * next_check: the next check as far as this module knows (one interval
 * after this one, or the server's Retry-After); the daemon stores its own
 * jittered plan right after the commit
 */
static int64_t
next_check(const struct check_job *job, int64_t retry_until)
{
	int64_t next = job->started_at + job->wc->interval_ms;

	return retry_until > next ? retry_until : next;
}

static void
finish(struct check_job *job, struct check_outcome *o)
{
	job->done(job->user, job->wc, o);
	watch_state_release(&job->st);
	free(job->spec);
	free(job);
}

/*
 * extraction_spec: what decides which items a page gives, stored with the
 * snapshot (the state's xpath column) so that a change of it re-baselines
 * silently instead of reporting every item new: the xpath, then, only when
 * set, parser, namespaces, title, link and jq (so a watch without them
 * stores its bare xpath, as before they existed). Heap string, NULL for
 * a watch with none of them (a feed) or on out-of-memory.
 */
static char *
extraction_spec(const struct watch_config *wc)
{
	static const char *const parsers[] = { "auto", "html", "xml", "feed",
		"json" };
	struct buf b;
	size_t i;
	int r = 0;

	if (wc->parser == CONFIG_PARSER_AUTO && wc->nnamespaces == 0 &&
	    wc->title == NULL && wc->link == NULL && wc->jq == NULL)
		return wc->xpath != NULL ? strdup(wc->xpath) : NULL;
	buf_init(&b, 0);
	r |= buf_puts(&b, wc->xpath != NULL ? wc->xpath : "");
	if (wc->parser > 0 && wc->parser < 5)
		r |= buf_printf(&b, "\x1fparser=%s", parsers[wc->parser]);
	for (i = 0; i + 1 < wc->nnamespaces; i += 2)
		r |= buf_printf(&b, "\x1fxmlns:%s=%s", wc->namespaces[i],
		    wc->namespaces[i + 1]);
	if (wc->title != NULL)
		r |= buf_printf(&b, "\x1ftitle=%s", wc->title);
	if (wc->link != NULL)
		r |= buf_printf(&b, "\x1flink=%s", wc->link);
	if (wc->jq != NULL)
		r |= buf_printf(&b, "\x1fjq=%s", wc->jq);
	if (r != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void
record_failure(struct check_job *job, const char *why, int64_t retry_until,
    struct check_outcome *o)
{
	const struct watch_config *wc = job->wc;
	struct store_check rec = { 0 };
	struct msgs m = { 0 };
	struct kw_err err = { 0 };
	bool notify;

	o->kind = CHECK_FAILED;
	snprintf(o->error, sizeof(o->error), "%s", why);
	o->failures = job->st.failures + 1;
	o->retry_after_until = retry_until;
	o->retry_after_ms = retry_until > 0 ? retry_until - job->started_at : 0;
	notify = o->failures >= wc->max_failures && !job->st.failing_notified;
	/* queued first (grouped with other notices, deliver.h): a crash
	 * before the check is recorded repeats it later, never loses it */
	if (notify &&
	    deliver_notice_add(job->env.store, job->env.cfg, true, wc->name,
		o->failures, wc->url, why, util_now_ms(), &err) != 0) {
		log_warnx("outbox: '%s': %s", wc->name, err.msg);
		kw_err_clear(&err);
		notify = false;
	}
	rec.name = wc->name;
	rec.url = wc->url;
	rec.xpath = job->spec;
	rec.at = job->started_at;
	rec.failed = true;
	rec.error = why;
	rec.retry_after_until = retry_until;
	rec.messages = (const char *const *)m.v;
	rec.nmessages = m.n;
	rec.failing_notified = job->st.failing_notified || notify;
	rec.next_check_at = next_check(job, retry_until);
	if (store_record_check(job->env.store, &rec, &err) != 0) {
		log_warnx("store: '%s': %s", wc->name, err.msg);
		o->not_recorded = true;
		o->failures = job->st.failures;
	} else {
		o->nmessages = m.n + (notify ? 1 : 0); /* wakes the sender */
	}
	msgs_release(&m);
}

static void
record_success(struct check_job *job, const struct http_response *resp,
    struct item_list *items, struct check_outcome *o)
{
	const struct watch_config *wc = job->wc;
	struct store_check rec = { 0 };
	struct item_list old, snap, seen, added, changed, removed;
	struct key_spec spec = { (enum key_mode)wc->key_mode, job->key_re };
	struct seen_entry *rekey = NULL;
	size_t nrekey = 0;
	struct item_list *cur;
	struct msgs m = { 0 };
	struct kw_err err = { 0 };
	const char *page = resp->final_url ? resp->final_url : wc->url;
	char *spec_str = NULL;
	enum key_mode resolved;
	bool rebaseline, rekeyed;

	item_list_init(&old);
	item_list_init(&snap);
	item_list_init(&seen);
	item_list_init(&added);
	item_list_init(&changed);
	item_list_init(&removed);
	/* a new XPath (docs/design.md §2.4) or a new URL describes other
	 * items: their first snapshot is a silent baseline, not a flood of
	 * "new" */
	rebaseline = !job->st.baselined ||
		     !util_str_eq(job->st.xpath, job->spec) ||
		     !util_str_eq(job->st.url, wc->url);
	/* the items seen now: the page, or on a 304 the snapshot it still is
	 * (with the keys it was stored with: only their last_seen moves;
	 * a snapshot of 0.1 has none and is keyed like a page) */
	rekeyed = false;
	if (items == NULL) {
		if (store_snapshot_get(job->env.store, wc->name, &snap, &err) !=
		    0)
			goto fail;
		cur = &snap;
	}
	if (items != NULL || job->st.key_spec == NULL) {
		if (items != NULL)
			cur = items;
		if (key_assign(cur, &spec, page, &resolved, &err) != 0)
			goto fail;
		spec_str = key_spec_string(resolved, job->key_re);
		if (spec_str == NULL) {
			kw_err_set(&err, "out of memory");
			goto fail;
		}
		/* keys made otherwise before (or by 0.1) are remade first */
		rekeyed =
		    job->st.known && !util_str_eq(job->st.key_spec, spec_str);
		if (rekeyed && rekey_seen(job, &spec, resolved, page, &rekey,
				   &nrekey, &seen, &err) != 0)
			goto fail;
	}
	if (items == NULL) {
		/* 304: the page is as it was */
		o->kind = CHECK_UNCHANGED;
		o->not_modified = true;
		o->nitems = (size_t)job->st.item_count;
	} else if (rebaseline) {
		o->kind = CHECK_BASELINE;
		o->nitems = items->n;
	} else {
		/* the previous snapshot, keyed as this page is */
		if (store_snapshot_get(job->env.store, wc->name, &old, &err) !=
			0 ||
		    rekey_snapshot(&old, rekeyed, &spec, resolved, page,
			&err) != 0)
			goto fail;
		if (!rekeyed && store_seen_lookup(job->env.store, wc->name,
				    items, &seen, &err) != 0)
			goto fail;
		if (diff_changes(&old, items, &seen, &added, &changed,
			&removed) != 0) {
			kw_err_set(&err, "out of memory");
			goto fail;
		}
		o->nitems = items->n;
		o->nadded = added.n;
		o->nchanged = changed.n;
		o->nremoved = removed.n;
		o->kind = added.n + changed.n + removed.n > 0 ? CHECK_CHANGED :
								CHECK_UNCHANGED;
		if (build_change_messages(job->env.cfg, wc, &added, &changed,
			&removed, &m, &err) != 0)
			goto fail;
	}
	if (job->st.failing_notified &&
	    deliver_notice_add(job->env.store, job->env.cfg, false, wc->name,
		job->st.failures, wc->url, NULL, util_now_ms(), &err) != 0)
		goto fail;
	rec.name = wc->name;
	rec.url = wc->url;
	rec.xpath = job->spec;
	rec.at = job->started_at;
	rec.etag = resp->etag;
	rec.last_modified = resp->last_modified;
	if (items == NULL) {
		/* keep the validators the 304 confirmed */
		rec.etag = resp->etag ? resp->etag : job->st.etag;
		rec.last_modified = resp->last_modified ? resp->last_modified :
							  job->st.last_modified;
	}
	/* a 304 keeps the snapshot, unless its 0.1 rows just got keys */
	rec.items = items != NULL ? items : spec_str != NULL ? &snap : NULL;
	rec.added = &added;
	rec.changed = &changed;
	rec.removed = &removed;
	rec.rekeyed = rekeyed;
	rec.rekey = rekey;
	rec.nrekey = nrekey;
	rec.seen = cur;
	rec.key_spec = spec_str;
	rec.messages = (const char *const *)m.v;
	rec.nmessages = m.n;
	rec.failing_notified = false;
	rec.next_check_at = next_check(job, 0);
	if (store_record_check(job->env.store, &rec, &err) != 0)
		goto fail;
	o->nmessages = m.n + (job->st.failing_notified ? 1 : 0);
	goto out;
fail:
	o->kind = CHECK_FAILED;
	o->not_recorded = true;
	o->failures = job->st.failures;
	snprintf(o->error, sizeof(o->error), "%s", err.msg);
	log_warnx("store: '%s': %s", wc->name, err.msg);
out:
	msgs_release(&m);
	free(spec_str);
	seen_entries_free(rekey, nrekey);
	item_list_release(&old);
	item_list_release(&snap);
	item_list_release(&seen);
	item_list_release(&added);
	item_list_release(&changed);
	item_list_release(&removed);
}

static void
on_fetched(void *user, struct http_response *resp)
{
	struct check_job *job = user;
	const struct watch_config *wc = job->wc;
	struct check_outcome o = { 0 };
	struct item_list items;
	struct kw_err err = { 0 };
	char why[256];
	int64_t retry_until = 0;
	enum extract_parser used = EXTRACT_PARSER_HTML;

	item_list_init(&items);
	if (resp->error == HTTP_ERR_ABORTED) {
		/* shutdown: nothing happened, nothing is recorded */
		o.kind = CHECK_SKIPPED;
		o.failures = job->st.failures;
		snprintf(o.error, sizeof(o.error), "aborted");
		goto out;
	}
	if (resp->error != HTTP_OK) {
		record_failure(job, resp->errmsg, 0, &o);
		goto out;
	}
	if (resp->cookie_error[0] != '\0')
		log_warnx("cookies: '%s': %s", wc->name, resp->cookie_error);
	if (resp->not_modified) {
		record_success(job, resp, NULL, &o);
		goto out;
	}
	if (resp->status < 200 || resp->status >= 300) {
		if (resp->retry_after_s >= 0 &&
		    resp->retry_after_s > wc->max_retry_after_ms / 1000) {
			/* one answer must not silence a watch for decades:
			 * a failure, and the next check after the cap */
			retry_until = job->started_at + wc->max_retry_after_ms;
			snprintf(why, sizeof(why),
			    "HTTP %ld, server asks to retry after %" PRId64
			    "s, more than max_retry_after (%" PRId64 "s): "
			    "trying again in %" PRId64 "s",
			    resp->status, resp->retry_after_s,
			    wc->max_retry_after_ms / 1000,
			    wc->max_retry_after_ms / 1000);
		} else if (resp->retry_after_s >= 0) {
			retry_until =
			    job->started_at + resp->retry_after_s * 1000;
			snprintf(why, sizeof(why),
			    "HTTP %ld, server asks to retry after %" PRId64 "s",
			    resp->status, resp->retry_after_s);
		} else {
			snprintf(why, sizeof(why), "HTTP %ld", resp->status);
		}
		record_failure(job, why, retry_until, &o);
		goto out;
	}
	if (check_extract(wc, job->xp, resp->body, resp->len,
		resp->content_type, resp->final_url ? resp->final_url : wc->url,
		&items, &used, &err) != 0) {
		record_failure(job, err.msg, 0, &o);
		goto out;
	}
	if (items.n == 0 && wc->cookies != NULL) {
		/* a login page or "please log in" instead of the list */
		snprintf(why, sizeof(why),
		    "%s: the session may have expired "
		    "(log in with a browser and export its cookies to '%s' "
		    "again)",
		    used == EXTRACT_PARSER_FEED ?
			"the feed has no entries" :
		    used == EXTRACT_PARSER_JSON ?
			"the jq program gave no items" :
			"the xpath matched nothing",
		    wc->cookies);
		record_failure(job, why, 0, &o);
		goto out;
	}
	if (items.n == 0) {
		record_failure(job,
		    used == EXTRACT_PARSER_FEED ?
			"the feed has no entries" :
		    used == EXTRACT_PARSER_JSON ?
			"the jq program gave no items" :
			"the xpath matched nothing",
		    0, &o);
		goto out;
	}
	record_success(job, resp, &items, &o);
out:
	item_list_release(&items);
	finish(job, &o);
}

int
check_extract(const struct watch_config *wc, const struct extract_xpath *xp,
    const char *body, size_t len, const char *content_type,
    const char *page_url, struct item_list *items, enum extract_parser *used,
    struct kw_err *err)
{
	struct extract_opts opts = { 0 };
	enum extract_parser p;

	opts.parser = (enum extract_parser)wc->parser;
	opts.namespaces = (const char *const *)wc->namespaces;
	opts.nnamespaces = wc->nnamespaces / 2;
	opts.title = wc->title;
	opts.link = wc->link;
	opts.fields = (const char *const *)wc->fields;
	opts.nfields = wc->nfields / 2;
	p = opts.parser != EXTRACT_PARSER_AUTO ?
		opts.parser :
		extract_detect_parser(body, len, content_type);
	if (used != NULL)
		*used = p;
	if (p == EXTRACT_PARSER_JSON) {
		if (wc->jq == NULL)
			return kw_err_set(err, "the response is JSON and the "
					       "watch has no jq: program");
		return jq_items(wc->jq, body, len, page_url, NULL, items, err);
	}
	if (wc->jq != NULL && wc->xpath == NULL) {
		/* a JSON API that answers with an error page: a failure */
		return kw_err_set(err,
		    "expected JSON for the jq program, got "
		    "%s (Content-Type %.100s)",
		    p == EXTRACT_PARSER_HTML ? "an HTML page" :
		    p == EXTRACT_PARSER_FEED ? "a feed" :
					       "XML",
		    content_type != NULL ? content_type : "none");
	}
	return extract_document(body, len, content_type, wc->encoding, page_url,
	    xp, &opts, items, used, err);
}

int64_t
check_retry_after_until(const struct watch_config *wc,
    const struct watch_state *st, int64_t now_ms)
{
	if (st->retry_after_until <= now_ms)
		return 0;
	/* asked of another URL: the new one has not asked anything */
	if (st->retry_after_url != NULL &&
	    !util_str_eq(st->retry_after_url, wc->url))
		return 0;
	/* further than any server may ask: the clock was ahead when it was
	 * stored, or an older kakaowatch stored it unclamped */
	if (st->retry_after_until - now_ms > wc->max_retry_after_ms)
		return 0;
	/* asked at a check "in the future": the clock stepped back since;
	 * the wait keeps its length, from now */
	if (st->last_check_at > now_ms) {
		if (st->retry_after_until <= st->last_check_at)
			return 0;
		return now_ms + (st->retry_after_until - st->last_check_at);
	}
	return st->retry_after_until;
}

int
check_store_upkeep(struct store *st, const struct config *cfg, int64_t now_ms,
    struct kw_err *err)
{
	const char **keep;
	int64_t before = now_ms - (int64_t)cfg->history_days * 86400000;
	size_t i, forgot = 0;
	int r;

	if (store_history_trim(st, before, err) != 0)
		return -1;
	keep = calloc(cfg->nwatches ? cfg->nwatches : 1, sizeof(*keep));
	if (keep == NULL)
		return kw_err_set(err, "out of memory");
	for (i = 0; i < cfg->nwatches; i++)
		keep[i] = cfg->watches[i].name;
	r = store_forget_gone(st, keep, cfg->nwatches, before, &forgot, err);
	free(keep);
	if (r == 0 && forgot > 0)
		log_info("store: forgot %zu watch%s gone from the "
			 "configuration for over %d days",
		    forgot, forgot == 1 ? "" : "es", cfg->history_days);
	return r;
}

void
check_request_init(struct http_request *req, const struct watch_config *wc)
{
	memset(req, 0, sizeof(*req));
	req->url = wc->url;
	req->method = wc->method;
	req->body = wc->body;
	req->body_len = wc->body ? strlen(wc->body) : 0;
	req->content_type =
	    wc->body ? "application/x-www-form-urlencoded" : NULL;
	req->headers = (const char *const *)wc->headers;
	req->nheaders = wc->nheaders;
	if (util_str_eq(wc->user_agent, "browser")) {
		req->user_agent = HTTP_BROWSER_USER_AGENT;
		req->browser_headers = true;
	} else {
		req->user_agent = wc->user_agent;
	}
	req->proxy = wc->proxy;
	req->cookie_file = wc->cookies;
	req->timeout_ms = (long)wc->timeout_ms;
	req->max_bytes = (size_t)wc->max_bytes;
	req->ssl_verify = wc->ssl_verify;
	req->allow_insecure_redirect = wc->allow_insecure_redirect;
}

char *
check_cookie_jar(const struct config *cfg, const struct watch_config *wc,
    struct kw_err *err)
{
	char *dir, *name, *jar;
	struct stat sb;

	if (cfg == NULL || cfg->state_dir == NULL) {
		kw_err_set(err, "no state_dir for the cookie jar");
		return NULL;
	}
	dir = util_path_join(cfg->state_dir, "cookies");
	name = malloc(strlen(wc->name) + 5);
	if (dir == NULL || name == NULL) {
		free(dir);
		free(name);
		kw_err_set(err, "out of memory");
		return NULL;
	}
	/* names are [A-Za-z0-9._-] and Hangul, never '/' (config.h) */
	sprintf(name, "%s.txt", wc->name);
	jar = NULL;
	if (util_mkdir_p(dir, 0700, err) != 0) {
		/* err says why */
	} else if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		/* a link to a directory elsewhere: never written through */
		kw_err_set(err,
		    "'%s' is a symbolic link or not a directory: "
		    "kakaowatch does not follow links in its state directory; "
		    "remove it",
		    dir);
	} else {
		jar = util_path_join(dir, name);
		if (jar == NULL)
			kw_err_set(err, "out of memory");
	}
	free(dir);
	free(name);
	return jar;
}

void
check_render_request_init(struct render_request *rr, const struct config *cfg,
    const struct watch_config *wc)
{
	memset(rr, 0, sizeof(*rr));
	rr->browser = cfg != NULL ? cfg->browser : NULL;
	rr->url = wc->url;
	rr->work_dir = cfg != NULL ? cfg->state_dir : NULL;
	rr->name = wc->name;
	rr->proxy = wc->proxy;
	rr->user_agent = util_str_eq(wc->user_agent, "browser") ?
			     HTTP_BROWSER_USER_AGENT :
			     wc->user_agent;
	rr->cookie_file = wc->cookies;
	rr->wait_for = wc->wait_for;
	rr->timeout_ms = (long)wc->timeout_ms;
	rr->max_bytes = (size_t)wc->max_bytes;
}

char *
check_browser_profile(const struct config *cfg, const struct watch_config *wc,
    struct kw_err *err)
{
	char *dir, *path = NULL;

	if (cfg == NULL || cfg->state_dir == NULL) {
		kw_err_set(err, "no state_dir for the browser profile");
		return NULL;
	}
	dir = util_path_join(cfg->state_dir, "browser");
	if (dir == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	/* names are [A-Za-z0-9._-] and Hangul, never '/' (config.h) */
	if (util_mkdir_p(dir, 0700, err) == 0) {
		path = util_path_join(dir, wc->name);
		if (path == NULL)
			kw_err_set(err, "out of memory");
	}
	free(dir);
	return path;
}

/*
 * on_rendered hands the DOM to on_fetched as if it had been fetched: a
 * text/html UTF-8 page of status 200 at the watch's URL
 */
static void
on_rendered(void *user, struct render_result *res)
{
	struct check_job *job = user;
	struct http_response resp;

	memset(&resp, 0, sizeof(resp));
	resp.retry_after_s = -1;
	if (res->status != 0) {
		resp.error = res->timed_out ? HTTP_ERR_TIMEOUT :
			     strcmp(res->error, "aborted") == 0 ?
					      HTTP_ERR_ABORTED :
					      HTTP_ERR_OTHER;
		snprintf(resp.errmsg, sizeof(resp.errmsg), "%.250s",
		    res->error);
	} else {
		/* an error page the browser showed fails as a fetch's would */
		resp.status = res->http_status > 0 ? res->http_status : 200;
		resp.body = res->dom;
		resp.len = res->len;
		res->dom = NULL;
		resp.content_type = strdup("text/html; charset=utf-8");
		resp.final_url = strdup(job->wc->url);
		snprintf(resp.cookie_error, sizeof(resp.cookie_error), "%s",
		    res->cookie_error);
		if (resp.content_type == NULL || resp.final_url == NULL) {
			http_response_release(&resp);
			resp.error = HTTP_ERR_OTHER;
			snprintf(resp.errmsg, sizeof(resp.errmsg),
			    "out of memory");
		}
	}
	on_fetched(job, &resp);
	http_response_release(&resp);
}

/* check_render submits the render of job's watch; -1 with err */
static int
check_render(struct check_job *job, struct kw_err *err)
{
	const struct watch_config *wc = job->wc;
	const struct config *cfg = job->env.cfg;
	struct render_request rr;
	char *jar = NULL, *profile = NULL;
	int r = -1;

	if (job->env.render == NULL)
		return kw_err_set(err, "no browser pool for render: browser");
	check_render_request_init(&rr, cfg, wc);
	if (rr.work_dir == NULL)
		return kw_err_set(err, "no state_dir for the browser profile");
	if (wc->cookies != NULL) {
		jar = check_cookie_jar(cfg, wc, err);
		if (jar == NULL)
			goto out;
		rr.cookie_jar = jar;
	}
	if (wc->browser_profile == CONFIG_PROFILE_KEEP) {
		profile = check_browser_profile(cfg, wc, err);
		if (profile == NULL)
			goto out;
		rr.profile_dir = profile;
	}
	r = render_submit(job->env.render, &rr, on_rendered, job, err);
out:
	free(jar);
	free(profile);
	return r;
}

int
check_start(const struct check_env *env, const struct watch_config *wc,
    const struct extract_xpath *xp, int64_t now_ms, check_done_fn done,
    void *user, struct kw_err *err)
{
	struct http_request req = { 0 };
	struct check_job *job;
	struct check_outcome o = { 0 };
	char *jar = NULL;
	int64_t until;
	bool same;

	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return kw_err_set(err, "out of memory");
	job->env = *env;
	job->wc = wc;
	job->xp = xp;
	job->spec = extraction_spec(wc);
	job->started_at = now_ms;
	job->done = done;
	job->user = user;
	if (store_watch_state_get(env->store, wc->name, &job->st, err) != 0)
		goto fail;
	/* compiled once per configuration load, into the generation's set
	 * (checked at config load: only out-of-memory fails here) */
	if (wc->key_pattern != NULL) {
		if (env->compiled == NULL) {
			kw_err_set(err, "key_pattern: no compiled set");
			goto fail;
		}
		job->key_re = extract_xpath_set_regex(env->compiled,
		    wc->key_pattern, 0, err);
		if (job->key_re == NULL)
			goto fail;
	}
	if ((until = check_retry_after_until(wc, &job->st, now_ms)) > 0) {
		o.kind = CHECK_SKIPPED;
		o.failures = job->st.failures;
		o.nitems = (size_t)job->st.item_count;
		o.retry_after_until = until;
		o.retry_after_ms = until - now_ms;
		snprintf(o.error, sizeof(o.error),
		    "the server asked to wait %" PRId64 "s more",
		    (until - now_ms + 999) / 1000);
		finish(job, &o);
		return 0;
	}
	if (wc->render == CONFIG_RENDER_BROWSER) {
		if (check_render(job, err) != 0)
			goto fail;
		return 0;
	}
	/* validators only describe the page we extracted with this xpath */
	same = job->st.baselined && util_str_eq(job->st.url, wc->url) &&
	       util_str_eq(job->st.xpath, job->spec);
	check_request_init(&req, wc);
	req.etag = same ? job->st.etag : NULL;
	req.last_modified = same ? job->st.last_modified : NULL;
	if (wc->cookies != NULL) {
		jar = check_cookie_jar(env->cfg, wc, err);
		if (jar == NULL)
			goto fail;
		req.cookie_jar = jar;
	}
	if (http_submit(env->http, &req, on_fetched, job, err) != 0)
		goto fail;
	free(jar);
	return 0;
fail:
	free(jar);
	watch_state_release(&job->st);
	free(job->spec);
	free(job);
	return -1;
}

void
check_outcome_format(const struct watch_config *wc,
    const struct check_outcome *o, char *buf, size_t size)
{
	switch (o->kind) {
	case CHECK_BASELINE:
		snprintf(buf, size, "%s: baseline stored (%zu items)", wc->name,
		    o->nitems);
		break;
	case CHECK_CHANGED:
		if (o->nchanged > 0)
			snprintf(buf, size,
			    "%s: %zu new, %zu removed, %zu edited (%zu items, "
			    "%zu messages)",
			    wc->name, o->nadded, o->nremoved, o->nchanged,
			    o->nitems, o->nmessages);
		else
			snprintf(buf, size,
			    "%s: %zu new, %zu removed (%zu items, %zu "
			    "messages)",
			    wc->name, o->nadded, o->nremoved, o->nitems,
			    o->nmessages);
		break;
	case CHECK_UNCHANGED:
		snprintf(buf, size, "%s: unchanged%s (%zu items)", wc->name,
		    o->not_modified ? ", not modified" : "", o->nitems);
		break;
	case CHECK_FAILED:
		if (o->not_recorded)
			snprintf(buf, size,
			    "%s: failed: %s (not recorded: the "
			    "state database failed; tried again next time)",
			    wc->name, o->error);
		else
			snprintf(buf, size, "%s: failed: %s (%d in a row)",
			    wc->name, o->error, o->failures);
		break;
	case CHECK_SKIPPED:
		snprintf(buf, size, "%s: skipped: %s", wc->name, o->error);
		break;
	}
}
