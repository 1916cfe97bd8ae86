/* config: YAML -> struct config, with all validation (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/config.h"
#include "kakaowatch/http.h"
#include "kakaowatch/item.h"
#include "kakaowatch/key.h"
#include "kakaowatch/log.h"
#include "kakaowatch/quiet.h"
#include "kakaowatch/message.h"
#include "kakaowatch/cond.h"
#include "kakaowatch/regex.h"
#include "kakaowatch/select.h"
#include "kakaowatch/utf8.h"
#include "kakaowatch/util.h"

#define MSG_MAX 1024            /* one error message, before FILE:L:C */
#define VALUE_MAX (1024 * 1024) /* a scalar after ${VAR} expansion */
#define EXPAND_DEPTH_MAX 8      /* nested ${A:-${B:-...}} */
#define VAR_NAME_MAX 128
#define SHOW_MAX 80 /* bytes of a value quoted in a message */
#define LABEL_MAX (CONFIG_NAME_MAX_CHARS * 4 + 16)

#define DEFAULT_USER_AGENT "kakaowatch/" KW_VERSION
#define DEFAULT_REDIRECT_URI "http://localhost:5000/oauth"
#define DEFAULT_AUTH_BASE_URL "https://kauth.kakao.com"
#define DEFAULT_API_BASE_URL "https://kapi.kakao.com"

/* one collected error; sorted by position before it is handed out */
struct load_error {
	unsigned line, col; /* 0:0 for errors without a position */
	size_t seq;         /* discovery order, for a stable sort */
	char *text;         /* "FILE:L:C: message" */
};

#define XPATH_OK_CACHE 16

struct loader {
	const char *path;
	char *text; /* the file */
	size_t textlen;
	yaml_document_t doc;
	bool have_doc;
	config_xpath_check_fn xpath_check;
	/* xpaths that passed xpath_check, so that 10,000 watches sharing a
	 * few are checked a few times (round robin when full) */
	char *xpath_ok[XPATH_OK_CACHE];
	size_t nxpath_ok, xpath_ok_next;
	struct load_error *errs;
	size_t nerrs, errcap;
	bool oom;
};

/*
 * The keys. Each configuration key is one row of a table (nginx's
 * ngx_command_t): its name, how its field is held, the field's offset,
 * the parse function with its bounds, the built-in default as it would be
 * written in the file, and one line of documentation. Parsing, defaults,
 * inheritance from defaults:, copying, releasing and comparing are loops
 * over the tables (top_keys, kakao_keys, watch_keys below).
 */
struct key;

/*
 * A parse function reads node `n` into the field of `conf` that `k`
 * describes; 0 when the value is valid, else -1 with the error recorded
 * as "LABEL: KEY: ..." (label may be NULL). The field is zero (or NULL)
 * before the call.
 */
typedef int (*key_parse_fn)(struct loader *ld, yaml_node_t *n,
    const char *label, const struct key *k, void *conf);

/* how a key's field is held: drives copy, release and compare */
enum key_store {
	KS_NONE, /* nothing generic (held by code of its own) */
	KS_STR,  /* char *, NULL when not set */
	KS_STRV, /* char ** with a size_t count at count_off */
	KS_INT,  /* int (also bit sets) */
	KS_I64,  /* int64_t (durations in ms, sizes in bytes) */
	KS_DBL,  /* double */
	KS_BOOL  /* bool */
};

struct key {
	struct config_key_info info; /* name, default, doc, example */
	enum key_store store;
	size_t off;         /* the field in its struct */
	size_t count_off;   /* KS_STRV: the field's count */
	key_parse_fn parse; /* NULL: parsed by code of its own */
	int64_t min, max;   /* bounds, for the parse functions using them */
	const char *range;  /* the bounds in words, where a message needs it */
	/* key_word: the words the key takes (any case), NULL-terminated; the
	   int field holds the index of the one given */
	const char *const *words;
};

#define KEY_FIELD(conf, k) ((void *)((char *)(conf) + (k)->off))
#define KEY_CFIELD(conf, k) ((const void *)((const char *)(conf) + (k)->off))

/*
 * Keys that code refers to by index: the first rows of their tables, in
 * this order (the tables use designated initializers for them).
 */
enum { TK_STATE_DIR, TK_KAKAO, TK_DEFAULTS, TK_WATCHES };
enum { KK_REST_API_KEY, KK_CLIENT_SECRET, KK_REDIRECT_URI, KK_TOKEN_FILE };
enum { WK_NAME, WK_URL, WK_XPATH, WK_CSS, WK_METHOD, WK_BODY };

/* --- errors ------------------------------------------------------------ */

static void
errors_push(struct loader *ld, unsigned line, unsigned col, const char *msg)
{
	struct load_error *v;
	struct buf b;
	int r;

	buf_init(&b, 0);
	if (line > 0)
		r = buf_printf(&b, "%s:%u:%u: %s", ld->path, line, col, msg);
	else
		r = buf_printf(&b, "%s: %s", ld->path, msg);
	if (r != 0)
		goto oom;
	if (ld->nerrs == ld->errcap) {
		size_t cap = ld->errcap ? ld->errcap * 2 : 16;

		v = realloc(ld->errs, cap * sizeof(*v));
		if (v == NULL)
			goto oom;
		ld->errs = v;
		ld->errcap = cap;
	}
	ld->errs[ld->nerrs].line = line;
	ld->errs[ld->nerrs].col = col;
	ld->errs[ld->nerrs].seq = ld->nerrs;
	ld->errs[ld->nerrs].text = buf_detach(&b, NULL);
	if (ld->errs[ld->nerrs].text == NULL)
		goto oom;
	ld->nerrs++;
	return;
oom:
	buf_release(&b);
	ld->oom = true;
}

static void
errorv(struct loader *ld, yaml_mark_t mark, const char *label, const char *key,
    const char *fmt, va_list ap)
{
	char msg[MSG_MAX];
	size_t off = 0;
	int n;

	msg[0] = '\0';
	n = snprintf(msg, sizeof(msg), "%s%s%s%s", label ? label : "",
	    label ? ": " : "", key ? key : "", key ? ": " : "");
	if (n > 0)
		off = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
	log_redact(msg, sizeof(msg));
	errors_push(ld, (unsigned)mark.line + 1, (unsigned)mark.column + 1,
	    msg);
}

/* an error at `mark`: "message" */
static void errorf(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errorf(struct loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errorv(ld, mark, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* an error about a key's value: "LABEL: KEY: message" (either may be NULL) */
static void key_errorf(struct loader *ld, yaml_mark_t mark, const char *label,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
key_errorf(struct loader *ld, yaml_mark_t mark, const char *label,
    const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errorv(ld, mark, label, key, fmt, ap);
	va_end(ap);
}

static int
error_cmp(const void *a, const void *b)
{
	const struct load_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/*
 * show copies `s` into `tmp` for quoting in a message: at most SHOW_MAX
 * bytes, cut on a UTF-8 character boundary, with "..." when cut.
 */
static const char *
show(const char *s, char *tmp, size_t tmpsize)
{
	size_t n = strlen(s);

	if (n <= SHOW_MAX && n < tmpsize)
		return s;
	n = SHOW_MAX < tmpsize - 4 ? SHOW_MAX : tmpsize - 4;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(tmp, s, n);
	memcpy(tmp + n, "...", 4);
	return tmp;
}

/* --- small helpers ----------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
strv_push(char ***v, size_t *n, char *s)
{
	char **nv;

	if (s == NULL)
		return -1;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(s);
		return -1;
	}
	nv[*n] = s;
	*v = nv;
	(*n)++;
	return 0;
}

static int
strv_dup(char **v, size_t n, char ***out, size_t *nout)
{
	size_t i;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n; i++) {
		if (strv_push(out, nout, strdup(v[i])) != 0) {
			strv_free(*out, *nout);
			*out = NULL;
			*nout = 0;
			return -1;
		}
	}
	return 0;
}

/* replace *dst with a copy of src (which may be NULL) */
static int
str_set(char **dst, const char *src)
{
	char *c = NULL;

	if (src != NULL) {
		c = strdup(src);
		if (c == NULL)
			return -1;
	}
	free(*dst);
	*dst = c;
	return 0;
}

/* formats a duration for a message: the largest unit that divides it */
static void
fmt_duration(int64_t ms, char *out, size_t size)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {
		{ 86400000, "d" },
		{ 3600000, "h" },
		{ 60000, "m" },
		{ 1000, "s" },
		{ 1, "ms" },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(out, size, "%lld%s",
			    (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	}
	snprintf(out, size, "0s");
}

/* Levenshtein distance, case-insensitive, for "did you mean" */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev, tmp, best;
	size_t row[64];

	if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (tolower((unsigned char)a[i - 1]) !=
					  tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* --- ${VAR} expansion -------------------------------------------------- */

static int
is_var_start(int c)
{
	return isalpha(c) || c == '_';
}

static int
is_var_char(int c)
{
	return isalnum(c) || c == '_';
}

static int
expand_into(struct buf *out, const char *s, size_t len, int depth,
    struct kw_err *err)
{
	const char *p = s, *end = s + len, *dollar, *name, *q, *d;
	char vname[VAR_NAME_MAX];
	const char *val;
	size_t namelen;
	int nest;

	if (depth > EXPAND_DEPTH_MAX)
		return kw_err_set(err, "'${...}' nested too deeply");
	while (p < end) {
		dollar = memchr(p, '$', (size_t)(end - p));
		if (dollar == NULL) {
			if (buf_append(out, p, (size_t)(end - p)) != 0)
				goto too_long;
			break;
		}
		if (buf_append(out, p, (size_t)(dollar - p)) != 0)
			goto too_long;
		p = dollar;
		if (end - p >= 3 && p[1] == '$' && p[2] == '{') {
			/* "$${" is a literal "${" */
			if (buf_append(out, "${", 2) != 0)
				goto too_long;
			p += 3;
			continue;
		}
		if (end - p < 2 || p[1] != '{') {
			if (buf_append(out, "$", 1) != 0)
				goto too_long;
			p++;
			continue;
		}
		name = p + 2;
		q = name;
		if (q < end && is_var_start((unsigned char)*q)) {
			q++;
			while (q < end && is_var_char((unsigned char)*q))
				q++;
		}
		namelen = (size_t)(q - name);
		if (namelen == 0)
			return kw_err_set(err,
			    "bad variable reference '%.*s': '${' must be "
			    "followed by a name (write '$${' for a literal "
			    "'${')",
			    (int)((end - p) > 12 ? 12 : (end - p)), p);
		if (namelen >= sizeof(vname))
			return kw_err_set(err,
			    "variable name too long in '${'");
		memcpy(vname, name, namelen);
		vname[namelen] = '\0';
		val = getenv(vname);
		if (q < end && *q == '}') {
			if (val == NULL)
				return kw_err_set(err,
				    "environment variable '%s' is not set "
				    "(set it, or write ${%s:-default})",
				    vname, vname);
			if (buf_puts(out, val) != 0)
				goto too_long;
			p = q + 1;
			continue;
		}
		if (end - q < 2 || q[0] != ':' || q[1] != '-') {
			if (q == end)
				return kw_err_set(err,
				    "unterminated '${%s' (write '$${' for a "
				    "literal '${')",
				    vname);
			return kw_err_set(err,
			    "bad variable reference '${%s%c...': use ${%s} or "
			    "${%s:-default}",
			    vname, *q, vname, vname);
		}
		/* ${VAR:-default}: find the matching '}' */
		nest = 0;
		for (d = q + 2; d < end; d++) {
			if (d[0] == '$' && end - d >= 3 && d[1] == '$' &&
			    d[2] == '{') {
				d += 2;
			} else if (d[0] == '$' && end - d >= 2 && d[1] == '{') {
				nest++;
				d++;
			} else if (d[0] == '}') {
				if (nest == 0)
					break;
				nest--;
			}
		}
		if (d == end)
			return kw_err_set(err,
			    "unterminated '${%s:-' (write '$${' for a literal "
			    "'${')",
			    vname);
		if (val != NULL && val[0] != '\0') {
			if (buf_puts(out, val) != 0)
				goto too_long;
		} else if (expand_into(out, q + 2, (size_t)(d - (q + 2)),
			       depth + 1, err) != 0) {
			return -1;
		}
		p = d + 1;
	}
	return 0;
too_long:
	return kw_err_set(err, "value longer than %d bytes after expansion",
	    VALUE_MAX);
}

/*
 * env_expand returns `s` with ${VAR} and ${VAR:-default} expanded (heap,
 * caller frees), or NULL with a message in `err` (out-of-memory included).
 */
static char *
env_expand(const char *s, struct kw_err *err)
{
	struct buf b;
	char *r, *fit;
	size_t len;

	buf_init(&b, VALUE_MAX);
	if (expand_into(&b, s, strlen(s), 0, err) != 0) {
		buf_release(&b);
		return NULL;
	}
	r = buf_detach(&b, &len);
	if (r == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	/* the config keeps it for the whole run: not in a 256-byte buffer
	 * (10,000 watches have 30,000 of these) */
	fit = realloc(r, len + 1);
	return fit != NULL ? fit : r;
}

/* --- nodes ------------------------------------------------------------- */

static yaml_node_t *
node_get(struct loader *ld, int index)
{
	return yaml_document_get_node(&ld->doc, index);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a string";
	default:
		return "nothing";
	}
}

static const char *
node_str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* YAML null: a plain empty scalar, ~, null */
static bool
node_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = node_str(n);
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static size_t
seq_len(const yaml_node_t *n)
{
	const yaml_node_item_t *start = n->data.sequence.items.start;

	return (size_t)(n->data.sequence.items.top - start);
}

static int
key_index(const struct key *keys, size_t nkeys, const char *name)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (strcmp(keys[i].info.name, name) == 0)
			return (int)i;
	return -1;
}

static void
unknown_key(struct loader *ld, const yaml_node_t *k, const char *where,
    const struct key *keys, size_t nkeys)
{
	const char *name = node_str(k);
	size_t i, d, best = SIZE_MAX, len = strlen(name);
	size_t limit = len <= 4 ? 1 : 2;
	const char *guess = NULL;
	char tmp[SHOW_MAX + 4];
	struct buf b;

	if (strcmp(name, "<<") == 0) {
		errorf(ld, k->start_mark,
		    "YAML merge keys ('<<') are not supported %s: put shared "
		    "watch settings in defaults:",
		    where);
		return;
	}
	for (i = 0; i < nkeys; i++) {
		d = edit_distance(name, keys[i].info.name);
		if (d < best) {
			best = d;
			guess = keys[i].info.name;
		}
	}
	if (best > limit) {
		/* "notify" -> "notify_on": a unique prefix is a near miss */
		guess = NULL;
		for (i = 0; len >= 4 && i < nkeys; i++) {
			if (strncasecmp(keys[i].info.name, name, len) != 0)
				continue;
			if (guess != NULL) {
				guess = NULL;
				break;
			}
			guess = keys[i].info.name;
		}
	}
	if (guess != NULL) {
		errorf(ld, k->start_mark,
		    "unknown key '%s' %s (did you mean '%s'?)",
		    show(name, tmp, sizeof(tmp)), where, guess);
		return;
	}
	buf_init(&b, 0);
	for (i = 0; i < nkeys; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", keys[i].info.name);
	errorf(ld, k->start_mark, "unknown key '%s' %s (allowed: %s)",
	    show(name, tmp, sizeof(tmp)), where, b.data ? b.data : "");
	buf_release(&b);
}

/*
 * What a map_walk callback made of one pair: taken (a later equal key is
 * a repeat); refused, with an error written (its key still counts, so a
 * later equal key is a repeat too); dropped, with an error written (as if
 * the pair were not there); stop, with an error written or ld->oom set
 * (the walk ends there).
 */
enum map_next { MAP_TAKE, MAP_REFUSE, MAP_DROP, MAP_STOP };

/* one walk over a mapping: the wording of its errors, its rules */
struct map_walk {
	/* its errors start "LABEL: KEY: " (NULL: leave out) */
	const char *label, *key;
	/* "a mapping of ... (e.g. ...)": a YAML null is an empty mapping,
	   anything else not a mapping the error "expected EXPECTED, not
	   KIND"; NULL: the caller checked */
	const char *expected;
	/* "header names": a key that is not a string is the error
	   "KEYS[ WHERE] must be strings, not KIND"; NULL: `pair` gets it,
	   named "" */
	const char *keys;
	/* "header": a repeated key is the error "duplicate NOUN 'K'[ WHERE]
	   (first at FILE:LINE:COL)"; NULL: repeats go to `pair` */
	const char *noun;
	const char *where; /* "in watch 'a'" for those two, or NULL */
	bool twice;        /* say "NOUN 'K' given twice" instead */
	bool anycase;      /* keys equal in any ASCII case repeat */
	bool stop;         /* the walk's own first error ends it */
	/* one pair, in file order; k and v place its errors, which start
	   with the walk's label and key */
	enum map_next (*pair)(struct loader *ld, const struct map_walk *w,
	    const char *name, yaml_node_t *k, yaml_node_t *v);
	void *arg; /* what the pairs go into */
};

/*
 * map_walk hands each key: value pair of the mapping `map` to w->pair in
 * file order, once its key passed the walk's own checks (a string key, not
 * a repeat of one taken or refused before). 0 when every pair was taken
 * (or `map` is null where w->expected allows it), -1 when an error was
 * written, by the walk or by w->pair, or memory ran out (ld->oom).
 */
static int
map_walk(struct loader *ld, yaml_node_t *map, const struct map_walk *w)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k, *v, **seen, *first;
	char tmp[SHOW_MAX + 4];
	const char *name;
	size_t npairs, nseen = 0, i;
	enum map_next next;
	int result = 0;

	if (w->expected != NULL && node_is_null(map))
		return 0;
	if (w->expected != NULL && map->type != YAML_MAPPING_NODE) {
		key_errorf(ld, map->start_mark, w->label, w->key,
		    "expected %s, not %s", w->expected, node_kind(map));
		return -1;
	}
	/* the keys taken or refused so far: what a repeat is a repeat of */
	npairs = (size_t)(map->data.mapping.pairs.top -
			  map->data.mapping.pairs.start);
	seen = calloc(npairs + 1, sizeof(*seen));
	if (seen == NULL) {
		ld->oom = true;
		return -1;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = node_get(ld, pair->key);
		v = node_get(ld, pair->value);
		if (k == NULL || v == NULL)
			continue;
		name = k->type == YAML_SCALAR_NODE ? node_str(k) : NULL;
		if (name == NULL && w->keys != NULL) {
			key_errorf(ld, k->start_mark, w->label, w->key,
			    "%s%s%s must be strings, not %s", w->keys,
			    w->where != NULL ? " " : "",
			    w->where != NULL ? w->where : "", node_kind(k));
			result = -1;
			if (w->stop)
				break;
			continue;
		}
		first = NULL;
		for (i = 0; name != NULL && w->noun != NULL && i < nseen; i++)
			if (w->anycase ?
				strcasecmp(node_str(seen[i]), name) == 0 :
				strcmp(node_str(seen[i]), name) == 0) {
				first = seen[i];
				break;
			}
		if (first != NULL && w->twice) {
			key_errorf(ld, k->start_mark, w->label, w->key,
			    "%s '%s' given twice", w->noun,
			    show(name, tmp, sizeof(tmp)));
		} else if (first != NULL) {
			key_errorf(ld, k->start_mark, w->label, w->key,
			    "duplicate %s '%s'%s%s (first at %s:%u:%u)",
			    w->noun, show(name, tmp, sizeof(tmp)),
			    w->where != NULL ? " " : "",
			    w->where != NULL ? w->where : "", ld->path,
			    (unsigned)first->start_mark.line + 1,
			    (unsigned)first->start_mark.column + 1);
		}
		if (first != NULL) {
			result = -1;
			if (w->stop)
				break;
			continue;
		}
		next = w->pair(ld, w, name != NULL ? name : "", k, v);
		if (next != MAP_TAKE)
			result = -1;
		if (name != NULL && (next == MAP_TAKE || next == MAP_REFUSE))
			seen[nseen++] = k;
		if (next == MAP_STOP)
			break;
	}
	free(seen);
	return result;
}

/*
 * map_find returns the value node of the first pair of `map` whose key is
 * the string `name`, or NULL (none, or `map` is NULL or not a mapping)
 */
static yaml_node_t *
map_find(struct loader *ld, yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = node_get(ld, pair->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp(node_str(k), name) == 0)
			return node_get(ld, pair->value);
	}
	return NULL;
}

/* what map_collect's pairs go into */
struct collect {
	const struct key *keys;
	size_t nkeys;
	const char *where;
	yaml_node_t **vals;
	yaml_mark_t *keymarks;
};

static enum map_next
collect_pair(struct loader *ld, const struct map_walk *w, const char *name,
    yaml_node_t *k, yaml_node_t *v)
{
	struct collect *c = w->arg;
	int idx = key_index(c->keys, c->nkeys, name);

	if (idx < 0) {
		unknown_key(ld, k, c->where, c->keys, c->nkeys);
		return MAP_DROP;
	}
	c->vals[idx] = v;
	c->keymarks[idx] = k->start_mark;
	return MAP_TAKE;
}

/*
 * map_collect walks a mapping node: vals[i] = value node of keys[i] (or
 * NULL), keymarks[i] its key's position. Non-string keys, unknown keys and
 * repeated keys are errors; the first occurrence of a key wins.
 */
static void
map_collect(struct loader *ld, yaml_node_t *map, const char *where,
    const struct key *keys, size_t nkeys, yaml_node_t **vals,
    yaml_mark_t *keymarks)
{
	struct collect c = { keys, nkeys, where, vals, keymarks };
	const struct map_walk w = {
		.keys = "keys",
		.noun = "key",
		.where = where,
		.pair = collect_pair,
		.arg = &c,
	};
	size_t i;

	for (i = 0; i < nkeys; i++)
		vals[i] = NULL;
	(void)map_walk(ld, map, &w);
}

/* what the pairs of headers:, fields: and namespaces: go into */
struct map_out {
	char **v;
	size_t nv;
};

/*
 * map_walk_strv walks `n` with `w`, whose arg is a struct map_out, and
 * hands its strings over in *out, *nout (NULL, 0 for a null or on an
 * error). 0, or -1 with the errors written.
 */
static int
map_walk_strv(struct loader *ld, yaml_node_t *n, const struct map_walk *w,
    char ***out, size_t *nout)
{
	struct map_out *o = w->arg;

	*out = NULL;
	*nout = 0;
	if (map_walk(ld, n, w) != 0) {
		strv_free(o->v, o->nv);
		o->v = NULL;
		o->nv = 0;
		return -1;
	}
	*out = o->v;
	*nout = o->nv;
	return 0;
}

/*
 * map_out_pair appends `name` (copied) and `value` (heap, taken: freed on
 * failure) to o; 0, or -1 with ld->oom set
 */
static int
map_out_pair(struct loader *ld, struct map_out *o, const char *name,
    char *value)
{
	char **nv = realloc(o->v, (o->nv + 2) * sizeof(*o->v));

	if (nv != NULL) {
		o->v = nv;
		nv[o->nv] = strdup(name);
	}
	if (nv == NULL || nv[o->nv] == NULL) {
		free(value);
		ld->oom = true;
		return -1;
	}
	nv[o->nv + 1] = value;
	o->nv += 2;
	return 0;
}

/* --- scalar values ----------------------------------------------------- */

/*
 * scalar_get returns the expanded value of a scalar node (heap), or NULL
 * with an error recorded. *was_null tells a YAML null apart.
 */
static char *
scalar_get(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, bool *was_null)
{
	struct kw_err err = { 0 };
	char *s;

	*was_null = false;
	if (n->type != YAML_SCALAR_NODE) {
		key_errorf(ld, n->start_mark, label, key,
		    "expected a string, not %s", node_kind(n));
		return NULL;
	}
	if (strlen(node_str(n)) != n->data.scalar.length) {
		key_errorf(ld, n->start_mark, label, key,
		    "contains a NUL character");
		return NULL;
	}
	if (node_is_null(n)) {
		*was_null = true;
		s = strdup("");
		if (s == NULL)
			ld->oom = true;
		return s;
	}
	s = env_expand(node_str(n), &err);
	if (s == NULL)
		key_errorf(ld, n->start_mark, label, key, "%s", err.msg);
	return s;
}

/*
 * parse_str: a string value. Optional: null or "" gives *out = NULL.
 * Required: null or "" is an error.
 */
static int
parse_str(struct loader *ld, yaml_node_t *n, const char *label, const char *key,
    bool optional, char **out)
{
	bool was_null;
	char *s;

	*out = NULL;
	s = scalar_get(ld, n, label, key, &was_null);
	if (s == NULL)
		return -1;
	if (s[0] == '\0') {
		free(s);
		if (optional)
			return 0;
		key_errorf(ld, n->start_mark, label, key,
		    was_null ? "missing value" : "must not be empty");
		return -1;
	}
	*out = s;
	return 0;
}

static int
parse_duration(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct kw_err err = { 0 };
	char lim[32], tmp[SHOW_MAX + 4];
	int64_t v;
	char *s;
	int result = -1;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	if (util_parse_duration(s, &v, &err) != 0) {
		key_errorf(ld, n->start_mark, label, key, "%s", err.msg);
	} else if (v < min) {
		fmt_duration(min, lim, sizeof(lim));
		key_errorf(ld, n->start_mark, label, key,
		    "'%s' is too short: the minimum is %s",
		    show(s, tmp, sizeof(tmp)), lim);
	} else if (v > max) {
		fmt_duration(max, lim, sizeof(lim));
		key_errorf(ld, n->start_mark, label, key,
		    "'%s' is too long: the maximum is %s",
		    show(s, tmp, sizeof(tmp)), lim);
	} else {
		*out = v;
		result = 0;
	}
	free(s);
	return result;
}

static int
parse_size(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, int64_t min, int64_t max, const char *range, int64_t *out)
{
	struct kw_err err = { 0 };
	char tmp[SHOW_MAX + 4];
	int64_t v;
	char *s;
	int result = -1;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	if (util_parse_size(s, &v, &err) != 0) {
		key_errorf(ld, n->start_mark, label, key, "%s", err.msg);
	} else if (v < min || v > max) {
		key_errorf(ld, n->start_mark, label, key,
		    "'%s' is out of range: use %s", show(s, tmp, sizeof(tmp)),
		    range);
	} else {
		*out = v;
		result = 0;
	}
	free(s);
	return result;
}

static int
parse_percent(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, double max, double *out)
{
	struct kw_err err = { 0 };
	char tmp[SHOW_MAX + 4];
	double v;
	char *s;
	int result = -1;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	if (util_parse_percent(s, &v, &err) != 0) {
		key_errorf(ld, n->start_mark, label, key, "%s", err.msg);
	} else if (v > max) {
		key_errorf(ld, n->start_mark, label, key,
		    "'%s' is too large: the maximum is %g%%",
		    show(s, tmp, sizeof(tmp)), max);
	} else {
		*out = v;
		result = 0;
	}
	free(s);
	return result;
}

static int
parse_int(struct loader *ld, yaml_node_t *n, const char *label, const char *key,
    int min, int max, int *out)
{
	char tmp[SHOW_MAX + 4];
	int64_t v;
	char *s;
	int result = -1;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	if (util_parse_int(s, min, max, &v) != 0) {
		key_errorf(ld, n->start_mark, label, key,
		    "must be a whole number from %d to %d, not '%s'", min, max,
		    show(s, tmp, sizeof(tmp)));
	} else {
		*out = (int)v;
		result = 0;
	}
	free(s);
	return result;
}

static int
parse_bool(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, bool *out)
{
	char tmp[SHOW_MAX + 4];
	char *s;
	int result = -1;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	if (util_parse_bool(s, out) != 0)
		key_errorf(ld, n->start_mark, label, key,
		    "must be true or false, not '%s'",
		    show(s, tmp, sizeof(tmp)));
	else
		result = 0;
	free(s);
	return result;
}

/*
 * The longest URL a KakaoTalk message links to (message.h MESSAGE_URL_MAX):
 * a watch's page is the link of its messages, so a longer one would leave
 * them without a link, which Kakao refuses.
 */
#define URL_MAX_BYTES 2000

static int
parse_url(struct loader *ld, yaml_node_t *n, const char *label, const char *key,
    char **out)
{
	char tmp[SHOW_MAX + 4], why[160];
	char *s;

	if (parse_str(ld, n, label, key, false, &s) != 0)
		return -1;
	why[0] = '\0';
	if (http_url_check(s, why, sizeof(why)) == 0 &&
	    strlen(s) > URL_MAX_BYTES)
		snprintf(why, sizeof(why),
		    "is longer than %d bytes (the limit "
		    "of a KakaoTalk link)",
		    URL_MAX_BYTES);
	if (why[0] != '\0') {
		key_errorf(ld, n->start_mark, label, key, "'%s' %s",
		    show(s, tmp, sizeof(tmp)), why);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* a base URL: as parse_url, without trailing slashes */
static int
parse_base_url(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, char **out)
{
	size_t len;

	if (parse_url(ld, n, label, key, out) != 0)
		return -1;
	len = strlen(*out);
	while (len > 0 && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
	return 0;
}

/* a printable single-line string: no CR, LF or other control bytes */
static bool
is_single_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
is_hangul(unsigned long cp)
{
	return (cp >= 0xAC00 && cp <= 0xD7A3) ||
	       (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F);
}

/* why `s` is not a valid watch name (see config.h), or NULL */
static const char *
name_problem(const char *s, char *why, size_t whysize)
{
	static const char allowed[] =
	    "may only contain letters, digits, '.', '_', '-' and Hangul";
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	uint32_t u;
	size_t len, chars = 0;
	int ilen;

	if (*p == '.' || *p == '_' || *p == '-')
		return "must start with a letter, a digit or Hangul";
	while (*p != '\0') {
		ilen =
		    utf8_decode((const char *)p, strlen((const char *)p), &u);
		if (ilen < 0)
			return "is not valid UTF-8";
		len = (size_t)ilen;
		cp = u;
		if (!(cp < 0x80 && (isalnum((int)cp) || cp == '.' ||
				       cp == '_' || cp == '-')) &&
		    !is_hangul(cp)) {
			if (cp == ' ')
				snprintf(why, whysize, "%s, not spaces",
				    allowed);
			else if (cp > 0x20 && cp < 0x7f)
				snprintf(why, whysize, "%s, not '%c'", allowed,
				    (int)cp);
			else
				snprintf(why, whysize, "%s, not U+%04lX",
				    allowed, cp);
			return why;
		}
		p += len;
		chars++;
	}
	if (chars > CONFIG_NAME_MAX_CHARS) {
		snprintf(why, whysize, "is longer than %d characters",
		    CONFIG_NAME_MAX_CHARS);
		return why;
	}
	return NULL;
}

/* a list of non-empty strings, or a single string (empty: no entries) */
static int
parse_strlist(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, char ***out, size_t *nout)
{
	yaml_node_item_t *it;
	yaml_node_t *item;
	char *s;
	int result = 0;

	*out = NULL;
	*nout = 0;
	if (node_is_null(n))
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		if (parse_str(ld, n, label, key, true, &s) != 0)
			return -1;
		if (s != NULL && strv_push(out, nout, s) != 0) {
			ld->oom = true;
			return -1;
		}
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		key_errorf(ld, n->start_mark, label, key,
		    "expected a list of strings or one string, not %s",
		    node_kind(n));
		return -1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		item = node_get(ld, *it);
		if (item == NULL)
			continue;
		if (item->type != YAML_SCALAR_NODE) {
			key_errorf(ld, item->start_mark, label, key,
			    "each entry must be a string, not %s",
			    node_kind(item));
			result = -1;
			continue;
		}
		if (parse_str(ld, item, label, key, false, &s) != 0) {
			result = -1;
			continue;
		}
		if (strv_push(out, nout, s) != 0) {
			ld->oom = true;
			result = -1;
		}
	}
	if (result != 0) {
		strv_free(*out, *nout);
		*out = NULL;
		*nout = 0;
	}
	return result;
}

static bool
is_tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* one headers: pair -> "Name: value" */
static enum map_next
header_pair(struct loader *ld, const struct map_walk *w, const char *name,
    yaml_node_t *k, yaml_node_t *v)
{
	struct map_out *o = w->arg;
	char tmp[SHOW_MAX + 4];
	const char *p;
	struct buf b;
	char *value;
	bool bad;

	bad = name[0] == '\0';
	for (p = name; *p != '\0'; p++)
		if (!is_tchar((unsigned char)*p))
			bad = true;
	if (bad) {
		key_errorf(ld, k->start_mark, w->label, w->key,
		    "'%s' is not a valid header name",
		    show(name, tmp, sizeof(tmp)));
		return MAP_DROP;
	}
	if (parse_str(ld, v, w->label, w->key, false, &value) != 0)
		return MAP_REFUSE;
	if (!is_single_line(value)) {
		key_errorf(ld, v->start_mark, w->label, w->key,
		    "the value of '%s' must not contain line breaks "
		    "or control characters",
		    show(name, tmp, sizeof(tmp)));
		free(value);
		return MAP_REFUSE;
	}
	buf_init(&b, 0);
	if (buf_printf(&b, "%s: %s", name, value) != 0 ||
	    strv_push(&o->v, &o->nv, buf_detach(&b, NULL)) != 0) {
		buf_release(&b);
		ld->oom = true;
		free(value);
		return MAP_REFUSE;
	}
	free(value);
	return MAP_TAKE;
}

/*
 * headers: mapping of RFC 9110 token -> single-line string; a name given
 * twice (in any case) is an error
 */
static int
parse_headers(struct loader *ld, yaml_node_t *n, const char *label, char ***out,
    size_t *nout)
{
	struct map_out o = { NULL, 0 };
	const struct map_walk w = {
		.label = label,
		.key = "headers",
		.expected = "a mapping of header names to values "
			    "(e.g. { Accept-Language: ko-KR })",
		.keys = "header names",
		.noun = "header",
		.anycase = true,
		.pair = header_pair,
		.arg = &o,
	};

	return map_walk_strv(ld, n, &w, out, nout);
}

static int
notify_word(struct loader *ld, yaml_node_t *n, const char *label, int *bits)
{
	char tmp[SHOW_MAX + 4];
	char *s;
	int result = 0;

	if (parse_str(ld, n, label, "notify_on", false, &s) != 0)
		return -1;
	if (strcasecmp(s, "added") == 0) {
		*bits |= NOTIFY_ADDED;
	} else if (strcasecmp(s, "removed") == 0) {
		*bits |= NOTIFY_REMOVED;
	} else if (strcasecmp(s, "changed") == 0) {
		*bits |= NOTIFY_CHANGED;
	} else if (strcasecmp(s, "both") == 0) {
		/* kept from 0.1: both = added + removed */
		*bits |= NOTIFY_ADDED | NOTIFY_REMOVED;
	} else {
		key_errorf(ld, n->start_mark, label, "notify_on",
		    "must be added, changed, removed or a list of them, not "
		    "'%s'",
		    show(s, tmp, sizeof(tmp)));
		result = -1;
	}
	free(s);
	return result;
}

/* notify_on: added | changed | removed | both, or a list of them */
static int
parse_notify(struct loader *ld, yaml_node_t *n, const char *label, int *out)
{
	yaml_node_item_t *it;
	yaml_node_t *item;
	int bits = 0, result = 0;

	if (n->type == YAML_SCALAR_NODE) {
		if (notify_word(ld, n, label, &bits) != 0)
			return -1;
		*out = bits;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		key_errorf(ld, n->start_mark, label, "notify_on",
		    "expected added, changed, removed or a list of them, not "
		    "%s",
		    node_kind(n));
		return -1;
	}
	if (seq_len(n) == 0) {
		key_errorf(ld, n->start_mark, label, "notify_on",
		    "empty list: use added, changed or removed");
		return -1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		item = node_get(ld, *it);
		if (item == NULL)
			continue;
		if (notify_word(ld, item, label, &bits) != 0)
			result = -1;
	}
	if (result == 0)
		*out = bits;
	return result;
}

static config_encoding_check_fn encoding_check_fn;

void
config_set_encoding_check(config_encoding_check_fn check)
{
	encoding_check_fn = check;
}

/*
 * encoding: a label the decoder knows (the hook: extract's rule, WHATWG
 * labels then iconv names); any single-line value when no hook is set
 */
static int
parse_encoding(struct loader *ld, yaml_node_t *n, const char *label,
    const char *key, char **out)
{
	char tmp[SHOW_MAX + 4], msg[MSG_MAX];
	char *s;

	if (parse_str(ld, n, label, key, true, &s) != 0)
		return -1;
	if (s == NULL) {
		*out = NULL;
		return 0;
	}
	if (!is_single_line(s) ||
	    (encoding_check_fn != NULL &&
		encoding_check_fn(s, msg, sizeof(msg)) != 0)) {
		key_errorf(ld, n->start_mark, label, key,
		    "unknown character encoding '%s' (e.g. euc-kr, cp949, "
		    "utf-8)",
		    show(s, tmp, sizeof(tmp)));
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* --- key parse functions (key_parse_fn) -------------------------------- */

static int
key_str(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_str(ld, n, label, k->info.name, false, KEY_FIELD(conf, k));
}

/* an optional string: null or "" leaves it NULL */
static int
key_opt_str(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_str(ld, n, label, k->info.name, true, KEY_FIELD(conf, k));
}

/* an optional secret: registered with log_redact_add as soon as it is read */
static int
key_secret(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);

	if (key_opt_str(ld, n, label, k, conf) != 0)
		return -1;
	if (*out != NULL)
		log_redact_add(*out);
	return 0;
}

static int
key_url(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_url(ld, n, label, k->info.name, KEY_FIELD(conf, k));
}

/*
 * proxy_userinfo: the user[:password] of proxy URL `s` (what stands before
 * an '@' in its authority): *at its start and *len its length in bytes;
 * false when it names none
 */
static bool
proxy_userinfo(const char *s, const char **at, size_t *len)
{
	const char *auth = strstr(s, "://"), *end;

	if (auth == NULL)
		return false;
	auth += 3;
	end = memchr(auth, '@', strcspn(auth, "/?#"));
	if (end == NULL)
		return false;
	*at = auth;
	*len = (size_t)(end - auth);
	return true;
}

/* proxy: http_proxy_check; a password in it is registered as a secret */
static int
key_proxy(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);
	const char *ui, *colon;
	char why[160], *s;
	size_t uilen;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	if (proxy_userinfo(s, &ui, &uilen) &&
	    (colon = memchr(ui, ':', uilen)) != NULL) {
		char *pw = strndup(colon + 1, (size_t)(ui + uilen - colon - 1));

		if (pw == NULL) {
			free(s);
			ld->oom = true;
			return -1;
		}
		log_redact_add(pw);
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	if (http_proxy_check(s, why, sizeof(why)) != 0) {
		/* not quoted: it may hold a password */
		key_errorf(ld, n->start_mark, label, k->info.name, "%s", why);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static char *path_resolve(const char *s, const char *base, struct kw_err *err);
static char *config_dir(const char *path);

/* a file path, resolved against the config file's directory */
static int
key_path(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	struct kw_err err = { 0 };
	char **out = KEY_FIELD(conf, k);
	char *s, *dir;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	dir = config_dir(ld->path);
	if (dir == NULL) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "cannot find the config file's directory: %s",
		    strerror(errno));
		free(s);
		return -1;
	}
	*out = path_resolve(s, dir, &err);
	if (*out == NULL)
		key_errorf(ld, n->start_mark, label, k->info.name, "%s",
		    err.msg);
	free(dir);
	free(s);
	return *out != NULL ? 0 : -1;
}

static int
key_base_url(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_base_url(ld, n, label, k->info.name, KEY_FIELD(conf, k));
}

static int
key_duration(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_duration(ld, n, label, k->info.name, k->min, k->max,
	    KEY_FIELD(conf, k));
}

static int
key_size(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_size(ld, n, label, k->info.name, k->min, k->max, k->range,
	    KEY_FIELD(conf, k));
}

static int
key_percent(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_percent(ld, n, label, k->info.name, (double)k->max,
	    KEY_FIELD(conf, k));
}

static int
key_int(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_int(ld, n, label, k->info.name, (int)k->min, (int)k->max,
	    KEY_FIELD(conf, k));
}

static int
key_bool(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_bool(ld, n, label, k->info.name, KEY_FIELD(conf, k));
}

static int
key_strlist(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_strlist(ld, n, label, k->info.name, KEY_FIELD(conf, k),
	    (size_t *)((char *)conf + k->count_off));
}

static int
key_headers(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_headers(ld, n, label, KEY_FIELD(conf, k),
	    (size_t *)((char *)conf + k->count_off));
}

static int
key_notify(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_notify(ld, n, label, KEY_FIELD(conf, k));
}

static int
key_encoding(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	return parse_encoding(ld, n, label, k->info.name, KEY_FIELD(conf, k));
}

/* key: auto | link | text | text+link (key.h) */
static int
key_keymode(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	int *out = KEY_FIELD(conf, k);
	char tmp[SHOW_MAX + 4];
	enum key_mode mode;
	int result = 0;
	char *s;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	if (key_mode_parse(s, &mode) == 0) {
		*out = (int)mode;
	} else {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "must be auto, link, text or text+link, not '%s'",
		    show(s, tmp, sizeof(tmp)));
		result = -1;
	}
	free(s);
	return result;
}

/*
 * key_pattern: a regular expression (regex.h) with a capture group; a
 * syntax error is reported at its character in the file (exact for plain
 * and quoted scalars without escapes or ${VAR}s)
 */
static int
key_key_pattern(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);
	char tmp[SHOW_MAX + 4];
	struct regex_error where;
	struct kw_err err = { 0 };
	struct regex *re;
	yaml_mark_t mark;

	if (key_opt_str(ld, n, label, k, conf) != 0)
		return -1;
	if (*out == NULL)
		return 0;
	re = regex_compile(*out, 0, &where, &err);
	if (re == NULL) {
		mark = n->start_mark;
		if (n->type == YAML_SCALAR_NODE &&
		    (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
			n->data.scalar.style ==
			    YAML_DOUBLE_QUOTED_SCALAR_STYLE))
			mark.column++;
		mark.column += where.column;
		key_errorf(ld, mark, label, k->info.name,
		    "bad regular expression '%s': %s",
		    show(*out, tmp, sizeof(tmp)), err.msg);
		goto fail;
	}
	if (regex_capture_count(re) == 0) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "'%s' has no capture group: put the part that names the "
		    "post in parentheses, e.g. 'wr_id=(\\d+)'",
		    show(*out, tmp, sizeof(tmp)));
		regex_free(re);
		goto fail;
	}
	regex_free(re);
	return 0;
fail:
	free(*out);
	*out = NULL;
	return -1;
}

/* the column of the first character of scalar `n`'s value */
static yaml_mark_t
scalar_value_mark(const yaml_node_t *n)
{
	yaml_mark_t mark = n->start_mark;

	if (n->type == YAML_SCALAR_NODE &&
	    (n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
		mark.column++;
	return mark;
}

/*
 * when: a string or a list of conditions (cond.h); a syntax error is
 * reported at its character in the file (exact for plain and quoted
 * scalars without escapes or ${VAR}s)
 */
static int
key_when(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char ***out = KEY_FIELD(conf, k);
	size_t *nout = (size_t *)((char *)conf + k->count_off);
	yaml_node_item_t *it;
	yaml_node_t *item;
	size_t j = 0, at;
	int result = 0;

	if (key_strlist(ld, n, label, k, conf) != 0)
		return -1;
	for (it = n->type == YAML_SEQUENCE_NODE ? n->data.sequence.items.start :
						  NULL;
	     j < *nout; it = it != NULL ? it + 1 : NULL) {
		struct kw_err err = { 0 };
		struct cond *c;
		yaml_mark_t mark;

		item = it != NULL ? node_get(ld, *it) : n;
		if (item == NULL)
			continue;
		c = cond_parse((*out)[j], COND_FREE_IS_ZERO, &at, &err);
		if (c == NULL) {
			mark = scalar_value_mark(item);
			mark.column += at;
			key_errorf(ld, mark, label, k->info.name, "%s",
			    err.msg);
			result = -1;
		}
		cond_free(c);
		j++;
	}
	return result;
}

/*
 * the parts of message:, in the order of enum message_part. The key tables
 * are laid out by hand, a row a key: clang-format would put one field a
 * line and push the .doc strings past 80 columns.
 */
/* clang-format off */
static const struct key message_keys[] = {
	{ .info = { .name = "title",
	    .doc = "each item's title (default '" MESSAGE_DEFAULT_TITLE
	    "')" } },
	{ .info = { .name = "description",
	    .doc = "each item's description (default none)" } },
	{ .info = { .name = "header",
	    .doc = "the list's header (default '" MESSAGE_DEFAULT_HEADER
	    "')" } },
};
/* clang-format on */
#define MK_COUNT (sizeof(message_keys) / sizeof(message_keys[0]))

/*
 * message: { title: T, description: D, header: H } -> part, template,
 * ... for the parts given non-empty; the placeholders are checked by
 * watch_check_message, which knows the watch's fields
 */
static int
key_message(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char ***out = KEY_FIELD(conf, k);
	size_t *nout = (size_t *)((char *)conf + k->count_off);
	yaml_node_t *vals[MK_COUNT];
	yaml_mark_t keymarks[MK_COUNT];
	char where[LABEL_MAX + 16], key[32], *s, **v;
	size_t i;
	int result = 0;

	*out = NULL;
	*nout = 0;
	if (node_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "expected a mapping of templates (e.g. { title: "
		    "'{title} · {price}' }), not %s",
		    node_kind(n));
		return -1;
	}
	snprintf(where, sizeof(where), "in message: of %s",
	    label != NULL ? label : "defaults");
	map_collect(ld, n, where, message_keys, MK_COUNT, vals, keymarks);
	for (i = 0; i < MK_COUNT; i++) {
		if (vals[i] == NULL)
			continue;
		snprintf(key, sizeof(key), "message.%s",
		    message_keys[i].info.name);
		if (parse_str(ld, vals[i], label, key, true, &s) != 0) {
			result = -1;
			continue;
		}
		if (s == NULL)
			continue;
		v = realloc(*out, (*nout + 2) * sizeof(*v));
		if (v != NULL) {
			*out = v;
			v[*nout] = strdup(message_keys[i].info.name);
		}
		if (v == NULL || v[*nout] == NULL) {
			free(s);
			ld->oom = true;
			return -1;
		}
		v[*nout + 1] = s;
		*nout += 2;
	}
	return result;
}

/* method: GET or POST, any case, stored in upper case */
static int
key_method(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char tmp[SHOW_MAX + 4];
	char **out = KEY_FIELD(conf, k);
	char *s, *p;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	if (strcasecmp(s, "GET") != 0 && strcasecmp(s, "POST") != 0) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "must be GET or POST, not '%s'", show(s, tmp, sizeof(tmp)));
		free(s);
		return -1;
	}
	for (p = s; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	*out = s;
	return 0;
}

/* a non-empty single-line string (no CR, LF or control characters) */
static int
key_line(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);

	if (key_str(ld, n, label, k, conf) != 0)
		return -1;
	if (!is_single_line(*out)) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "must not contain line breaks or control characters");
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* xpath_checked: did `xpath` pass xpath_check already? */
static bool
xpath_checked(const struct loader *ld, const char *xpath)
{
	size_t i;

	for (i = 0; i < ld->nxpath_ok; i++)
		if (strcmp(ld->xpath_ok[i], xpath) == 0)
			return true;
	return false;
}

/* xpath_passed remembers that `xpath` passed xpath_check */
static void
xpath_passed(struct loader *ld, const char *xpath)
{
	char *s = strdup(xpath);

	if (s == NULL)
		return; /* only a cache: it is checked again */
	if (ld->nxpath_ok < XPATH_OK_CACHE) {
		ld->xpath_ok[ld->nxpath_ok++] = s;
	} else {
		free(ld->xpath_ok[ld->xpath_ok_next]);
		ld->xpath_ok[ld->xpath_ok_next] = s;
		ld->xpath_ok_next = (ld->xpath_ok_next + 1) % XPATH_OK_CACHE;
	}
}

/*
 * xpath_ok runs the caller's XPath hook on `xpath` once per distinct text:
 * 0 when it passes (remembered), was seen to pass before, or there is no
 * hook; -1 when the hook refused it, with its message in msg[0..msgsize)
 * (NUL-terminated, "" when the hook gave none)
 */
static int
xpath_ok(struct loader *ld, const char *xpath, char *msg, size_t msgsize)
{
	msg[0] = '\0';
	if (ld->xpath_check == NULL || xpath_checked(ld, xpath))
		return 0;
	if (ld->xpath_check(xpath, msg, msgsize) != 0) {
		msg[msgsize - 1] = '\0';
		return -1;
	}
	xpath_passed(ld, xpath);
	return 0;
}

/*
 * has_prefix: does the expression hold a "p:name" (not "::") outside its
 * string literals ('...' or "...", XPath 1.0 §3.7)?
 */
static bool
has_prefix(const char *x)
{
	const char *c;
	char quote = '\0';

	for (c = x; *c != '\0'; c++) {
		if (quote != '\0') {
			if (*c == quote)
				quote = '\0';
		} else if (*c == '\'' || *c == '"') {
			quote = *c;
		} else if (*c == ':') {
			if (c[1] == ':') {
				c++;
				continue;
			}
			if (c > x && c[-1] != ':')
				return true;
		}
	}
	return false;
}

static config_field_check_fn field_check_fn;
static config_jq_check_fn jq_check_fn;

void
config_set_source_checks(config_field_check_fn field, config_jq_check_fn jq)
{
	field_check_fn = field;
	jq_check_fn = jq;
}

/* an XPath expression, checked by the caller's hook */
static int
key_xpath(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char tmp[SHOW_MAX + 4], msg[MSG_MAX];
	char **out = KEY_FIELD(conf, k);

	if (key_str(ld, n, label, k, conf) != 0)
		return -1;
	if (has_prefix(*out))
		return 0; /* a prefix: checked with the watch's namespaces */
	if (xpath_ok(ld, *out, msg, sizeof(msg)) != 0) {
		key_errorf(ld, n->start_mark, label, NULL, "bad xpath '%s': %s",
		    show(*out, tmp, sizeof(tmp)),
		    msg[0] ? msg : "does not compile");
		return -1;
	}
	return 0;
}

/*
 * css_mark: the position of the character `at` (code points into the
 * value) of scalar `n`, when the file holds the value on one line as
 * written (plain, or quoted without escapes before it); else the value's
 */
static yaml_mark_t
css_mark(const struct loader *ld, const yaml_node_t *n, size_t at)
{
	yaml_mark_t m = n->start_mark;
	yaml_scalar_style_t style = n->data.scalar.style;
	const char *p, *end;
	size_t i;

	if (ld->text == NULL || (style != YAML_PLAIN_SCALAR_STYLE &&
				    style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
				    style != YAML_DOUBLE_QUOTED_SCALAR_STYLE))
		return n->start_mark;
	/* libyaml counts index in characters: find the byte from line, col */
	p = ld->text;
	end = ld->text + ld->textlen;
	for (i = 0; i < m.line && p < end; p++)
		if (*p == '\n')
			i++;
	for (i = 0; i < m.column && p < end; i++)
		do {
			p++;
		} while (p < end && ((unsigned char)*p & 0xC0) == 0x80);
	if (p >= end)
		return n->start_mark;
	if (style != YAML_PLAIN_SCALAR_STYLE) {
		p++;
		m.column++;
	}
	for (i = 0; i < at && p < end; i++) {
		if (*p == '\n' || *p == '\r' ||
		    (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && *p == '\\'))
			return n->start_mark;
		if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && p[0] == '\'' &&
		    p + 1 < end && p[1] == '\'') {
			p += 2;
			m.column += 2;
			continue;
		}
		do {
			p++;
		} while (p < end && ((unsigned char)*p & 0xC0) == 0x80);
		m.column++;
	}
	return m;
}

/*
 * a CSS selector: translated to XPath 1.0 (select.h) into the watch's
 * xpath field, which the watch's own xpath: would otherwise hold (both
 * given is an error of watch_build)
 */
static int
key_css(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	struct watch_config *w = conf;
	struct kw_err err = { 0 };
	char tmp[SHOW_MAX + 4], msg[MSG_MAX];
	size_t at = 0;
	char *x;

	if (key_str(ld, n, label, k, conf) != 0)
		return -1;
	x = select_css_to_xpath(w->css, &at, &err);
	if (x == NULL) {
		key_errorf(ld, css_mark(ld, n, at), label, NULL,
		    "bad css '%s': %s at character %zu",
		    show(w->css, tmp, sizeof(tmp)), err.msg, at + 1);
		return -1;
	}
	if (w->xpath != NULL) {
		free(x);
		return 0;
	}
	w->xpath = x;
	/* what the translation promises, checked as any xpath is */
	if (xpath_ok(ld, x, msg, sizeof(msg)) != 0) {
		key_errorf(ld, n->start_mark, label, NULL,
		    "css '%s' gives an xpath that does not compile: %s",
		    show(w->css, tmp, sizeof(tmp)), msg);
		return -1;
	}
	return 0;
}

/*
 * field_name_problem: why `name` cannot be a field of a watch, or NULL
 * (item.h's rule, plus the names templates and the item's identity use)
 */
static const char *
field_name_problem(const char *name)
{
	if (strcmp(name, "title") == 0 || strcmp(name, "link") == 0)
		return "is the item's own; set it with the watch's title: or "
		       "link: key";
	if (strcmp(name, "name") == 0 || strcmp(name, "count") == 0 ||
	    strcmp(name, "change") == 0)
		return "is reserved (a message header's {name}, {count} and "
		       "{change})";
	if (strcmp(name, "key") == 0)
		return "is reserved (the item's identity: the key: key)";
	if (strcmp(name, "and") == 0 || strcmp(name, "or") == 0 ||
	    strcmp(name, "not") == 0)
		return "is a word of when: conditions";
	if (!item_field_name_valid(name))
		return "is not a field name (ASCII letters, digits and _, not "
		       "starting with a digit, up to 32)";
	return NULL;
}

/* an XML attribute name as attr: takes it (ASCII, no prefix) */
static bool
attr_name_ok(const char *a)
{
	const char *p;

	if (!isalpha((unsigned char)a[0]) && a[0] != '_')
		return false;
	for (p = a; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return false;
	return true;
}

/* the parts of a fields: { css:, attr:, xpath: } value, the last of each */
struct field_parts {
	yaml_node_t *css, *xpath, *attr;
};

static enum map_next
field_expr_part(struct loader *ld, const struct map_walk *w, const char *name,
    yaml_node_t *k, yaml_node_t *v)
{
	struct field_parts *fp = w->arg;

	if (v->type == YAML_SCALAR_NODE && node_str(v)[0] != '\0') {
		if (strcmp(name, "css") == 0)
			fp->css = v;
		else if (strcmp(name, "xpath") == 0)
			fp->xpath = v;
		else if (strcmp(name, "attr") == 0)
			fp->attr = v;
		else
			goto bad;
		return MAP_TAKE;
	}
bad:
	key_errorf(ld, k->start_mark, w->label, w->key,
	    "expected css: SELECTOR, attr: NAME or xpath: XPATH (each a "
	    "non-empty string)");
	return MAP_STOP;
}

/*
 * one fields: value -> its XPath (heap) in *xp: a string is an XPath; a
 * mapping { css: SELECTOR [, attr: NAME] } or { xpath: XPATH }. 0, or -1
 * with the error recorded.
 */
static int
field_expr(struct loader *ld, yaml_node_t *v, const char *label,
    const char *name, char **xp)
{
	char tmp[SHOW_MAX + 4], key[64], msg[MSG_MAX];
	struct field_parts fp = { NULL, NULL, NULL };
	const struct map_walk w = {
		.label = label,
		.key = key,
		.pair = field_expr_part,
		.arg = &fp,
	};
	yaml_node_t *css, *xpath = NULL, *attr;
	struct kw_err err = { 0 };
	size_t at = 0;
	char *x, *y;

	*xp = NULL;
	snprintf(key, sizeof(key), "fields: %s", name);
	if (v->type == YAML_SCALAR_NODE) {
		if (node_str(v)[0] == '\0') {
			key_errorf(ld, v->start_mark, label, key,
			    "needs an XPath or { css: SELECTOR }");
			return -1;
		}
		xpath = v;
		css = attr = NULL;
	} else if (v->type == YAML_MAPPING_NODE) {
		if (map_walk(ld, v, &w) != 0)
			return -1;
		css = fp.css;
		xpath = fp.xpath;
		attr = fp.attr;
		if ((css == NULL) == (xpath == NULL)) {
			key_errorf(ld, v->start_mark, label, key,
			    "give either css: or xpath:");
			return -1;
		}
		if (attr != NULL && css == NULL) {
			key_errorf(ld, attr->start_mark, label, key,
			    "attr: goes with css: (an XPath names the "
			    "attribute itself: .../@%s)",
			    show(node_str(attr), tmp, sizeof(tmp)));
			return -1;
		}
		if (attr != NULL && !attr_name_ok(node_str(attr))) {
			key_errorf(ld, attr->start_mark, label, key,
			    "'%s' is not an attribute name",
			    show(node_str(attr), tmp, sizeof(tmp)));
			return -1;
		}
	} else {
		key_errorf(ld, v->start_mark, label, key,
		    "expected an XPath or { css: SELECTOR }, not %s",
		    node_kind(v));
		return -1;
	}
	if (xpath != NULL) {
		x = strdup(node_str(xpath));
	} else {
		x = select_css_to_xpath(node_str(css), &at, &err);
		if (x == NULL) {
			key_errorf(ld, css_mark(ld, css, at), label, key,
			    "bad css '%s': %s at character %zu",
			    show(node_str(css), tmp, sizeof(tmp)), err.msg,
			    at + 1);
			return -1;
		}
		if (attr != NULL) {
			y = malloc(strlen(x) + strlen(node_str(attr)) + 6);
			if (y != NULL)
				sprintf(y, "(%s)/@%s", x, node_str(attr));
			free(x);
			x = y;
		}
	}
	if (x == NULL) {
		ld->oom = true;
		return -1;
	}
	/* namespace prefixes are checked with the watch's namespaces */
	if (!has_prefix(x) && xpath_ok(ld, x, msg, sizeof(msg)) != 0) {
		key_errorf(ld, (xpath != NULL ? xpath : css)->start_mark, label,
		    key, "bad %s '%s': %s", xpath != NULL ? "xpath" : "css",
		    show(node_str(xpath != NULL ? xpath : css), tmp,
			sizeof(tmp)),
		    msg[0] ? msg : "does not compile");
		free(x);
		return -1;
	}
	*xp = x;
	return 0;
}

/* one fields: pair -> name, XPath */
static enum map_next
field_pair(struct loader *ld, const struct map_walk *w, const char *name,
    yaml_node_t *k, yaml_node_t *v)
{
	struct map_out *o = w->arg;
	char tmp[SHOW_MAX + 4], *x;
	const char *why;

	why = field_name_problem(name);
	if (why != NULL) {
		key_errorf(ld, k->start_mark, w->label, w->key, "'%s' %s",
		    show(name, tmp, sizeof(tmp)), why);
		return MAP_DROP;
	}
	if (o->nv / 2 >= CONFIG_FIELDS_MAX) {
		key_errorf(ld, k->start_mark, w->label, w->key,
		    "more than %d fields", CONFIG_FIELDS_MAX);
		return MAP_STOP;
	}
	/* a field whose expression failed is not there for a later repeat */
	if (field_expr(ld, v, w->label, name, &x) != 0)
		return MAP_DROP;
	return map_out_pair(ld, o, name, x) == 0 ? MAP_TAKE : MAP_STOP;
}

/*
 * fields: a mapping of field names to XPath (or { css: ... }) expressions
 * relative to the item; stored as name, xpath pairs
 */
static int
key_fields(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char ***out = KEY_FIELD(conf, k);
	size_t *nout = (size_t *)((char *)conf + k->count_off);
	struct map_out o = { NULL, 0 };
	const struct map_walk w = {
		.label = label,
		.key = k->info.name,
		.expected = "a mapping of field names to XPath or "
			    "{ css: SELECTOR } (e.g. { price: { css: "
			    "span.price } })",
		.noun = "field",
		.twice = true,
		.pair = field_pair,
		.arg = &o,
	};

	return map_walk_strv(ld, n, &w, out, nout);
}

/*
 * key_word: one of the row's `words` (any case); its index goes into the
 * int field (the rows list them in their enum's order)
 */
static int
key_word(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char tmp[SHOW_MAX + 4], list[256];
	int *out = KEY_FIELD(conf, k);
	size_t i, off = 0;
	char *s;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	for (i = 0; k->words[i] != NULL; i++)
		if (strcasecmp(s, k->words[i]) == 0) {
			*out = (int)i;
			free(s);
			return 0;
		}
	list[0] = '\0';
	for (i = 0; k->words[i] != NULL && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i == 0                  ? "" :
		    k->words[i + 1] == NULL ? " or " :
					      ", ",
		    k->words[i]);
	key_errorf(ld, n->start_mark, label, k->info.name,
	    "must be %s, not '%s'", list, show(s, tmp, sizeof(tmp)));
	free(s);
	return -1;
}

/*
 * wait_for: an XPath (it starts with '/' or '(') checked by the hook as
 * xpath: is, or else a CSS selector translated to XPath (select.h) in
 * place: the browser evaluates XPath 1.0 either way
 */
static int
key_wait_for(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	struct kw_err err = { 0 };
	char tmp[SHOW_MAX + 4], msg[MSG_MAX];
	char **out = KEY_FIELD(conf, k);
	size_t at = 0;
	char *x;

	if (key_str(ld, n, label, k, conf) != 0)
		return -1;
	if ((*out)[0] != '/' && (*out)[0] != '(') {
		x = select_css_to_xpath(*out, &at, &err);
		if (x == NULL) {
			key_errorf(ld, css_mark(ld, n, at), label, k->info.name,
			    "bad css '%s': %s at character %zu",
			    show(*out, tmp, sizeof(tmp)), err.msg, at + 1);
			return -1;
		}
		free(*out);
		*out = x;
	}
	if (xpath_ok(ld, *out, msg, sizeof(msg)) != 0) {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "bad xpath '%s': %s", show(*out, tmp, sizeof(tmp)),
		    msg[0] ? msg : "does not compile");
		return -1;
	}
	return 0;
}

/* one namespaces: pair -> prefix, URI */
static enum map_next
namespace_pair(struct loader *ld, const struct map_walk *w, const char *name,
    yaml_node_t *k, yaml_node_t *v)
{
	struct map_out *o = w->arg;
	char tmp[SHOW_MAX + 4], *uri;
	const char *p;
	bool bad;

	/* an XML NCName, ASCII: letters, digits, - _ . */
	bad = !isalpha((unsigned char)name[0]) && name[0] != '_';
	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			bad = true;
	if (bad || strcmp(name, "xml") == 0 || strcmp(name, "xmlns") == 0) {
		key_errorf(ld, k->start_mark, w->label, w->key,
		    "'%s' is not a usable namespace prefix",
		    show(name, tmp, sizeof(tmp)));
		return MAP_STOP;
	}
	if (v->type != YAML_SCALAR_NODE || node_str(v)[0] == '\0') {
		key_errorf(ld, v->start_mark, w->label, w->key,
		    "prefix '%s' needs a namespace URI",
		    show(name, tmp, sizeof(tmp)));
		return MAP_STOP;
	}
	uri = strdup(node_str(v));
	if (uri == NULL) {
		ld->oom = true;
		return MAP_STOP;
	}
	return map_out_pair(ld, o, name, uri) == 0 ? MAP_TAKE : MAP_STOP;
}

/*
 * namespaces: { prefix: URI, ... } -> prefix, URI, prefix, URI ...; the
 * first error ends the mapping
 */
static int
key_namespaces(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char ***out = KEY_FIELD(conf, k);
	size_t *nout = (size_t *)((char *)conf + k->count_off);
	struct map_out o = { NULL, 0 };
	const struct map_walk w = {
		.label = label,
		.key = k->info.name,
		.expected = "a mapping of prefixes to namespace URIs "
			    "(e.g. { n: \"urn:example\" })",
		.noun = "prefix",
		.twice = true,
		.stop = true,
		.pair = namespace_pair,
		.arg = &o,
	};

	return map_walk_strv(ld, n, &w, out, nout);
}

/* sink: auto | kakao | stdout */
static int
key_sink(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	enum config_sink *out = KEY_FIELD(conf, k);
	char tmp[SHOW_MAX + 4];
	int result = 0;
	char *s;

	if (parse_str(ld, n, label, k->info.name, false, &s) != 0)
		return -1;
	if (strcasecmp(s, "auto") == 0) {
		*out = CONFIG_SINK_AUTO;
	} else if (strcasecmp(s, "kakao") == 0) {
		*out = CONFIG_SINK_KAKAO;
	} else if (strcasecmp(s, "stdout") == 0) {
		*out = CONFIG_SINK_STDOUT;
	} else {
		key_errorf(ld, n->start_mark, label, k->info.name,
		    "must be auto, kakao or stdout, not '%s'",
		    show(s, tmp, sizeof(tmp)));
		result = -1;
	}
	free(s);
	return result;
}

/* quiet_hours: "HH:MM-HH:MM" (quiet.h), kept as written by quiet_format,
 * or "off" */
static int
key_quiet(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);
	struct quiet_window w;
	char msg[200], norm[16];
	int r;

	if (parse_str(ld, n, label, k->info.name, false, out) != 0)
		return -1;
	r = quiet_parse(*out, &w, msg, sizeof(msg));
	if (r < 0) {
		key_errorf(ld, n->start_mark, label, k->info.name, "%s", msg);
		free(*out);
		*out = NULL;
		return -1;
	}
	if (r == 1)
		snprintf(norm, sizeof(norm), "%s", QUIET_OFF);
	else
		quiet_format(&w, norm, sizeof(norm));
	return str_set(out, norm) == 0 ? 0 : (ld->oom = true, -1);
}

/* timezone: an IANA name the system's tz database knows (quiet.h) */
static int
key_timezone(struct loader *ld, yaml_node_t *n, const char *label,
    const struct key *k, void *conf)
{
	char **out = KEY_FIELD(conf, k);
	char msg[300], tmp[SHOW_MAX + 4];

	if (parse_str(ld, n, label, k->info.name, false, out) != 0)
		return -1;
	if (quiet_tz_check(*out, msg, sizeof(msg)) != 0) {
		key_errorf(ld, n->start_mark, label, k->info.name, "'%s': %s",
		    show(*out, tmp, sizeof(tmp)), msg);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* --- the key tables ---------------------------------------------------- */

/* (laid out by hand in clang-format off blocks: see message_keys) */

#define TOFF(f) offsetof(struct config, f)
#define KOFF(f) offsetof(struct kakao_config, f)
#define WOFF(f) offsetof(struct watch_config, f)

/* the top level of the file */
/* clang-format off */
static const struct key top_keys[] = {
	[TK_STATE_DIR] = { .info = { .name = "state_dir",
	    .def = "$XDG_STATE_HOME/kakaowatch, else "
	    "~/.local/state/kakaowatch",
	    .doc = "SQLite database and token file; relative to the config "
	    "file's directory" },
	    .store = KS_STR, .off = TOFF(state_dir) },
	[TK_KAKAO] = { .info = { .name = "kakao",
	    .doc = "KakaoTalk settings (a mapping)" } },
	[TK_DEFAULTS] = { .info = { .name = "defaults",
	    .doc = "watch keys (except name) every watch inherits" } },
	[TK_WATCHES] = { .info = { .name = "watches", .required = true,
	    .doc = "the list of watches, at least one" } },
	{ .info = { .name = "max_connections", .def = "16",
	    .doc = "pages fetched at once" },
	    .store = KS_INT, .off = TOFF(max_connections), .parse = key_int,
	    .min = 1, .max = CONFIG_MAX_CONNECTIONS_MAX },
	{ .info = { .name = "max_connections_per_host", .def = "2",
	    .doc = "pages fetched at once from one host" },
	    .store = KS_INT, .off = TOFF(max_connections_per_host),
	    .parse = key_int, .min = 1, .max = CONFIG_MAX_PER_HOST_MAX },
	{ .info = { .name = "max_messages_per_check", .def = "3",
	    .doc = "messages one check may send" },
	    .store = KS_INT, .off = TOFF(max_messages_per_check),
	    .parse = key_int, .min = 1,
	    .max = CONFIG_MAX_MESSAGES_PER_CHECK_MAX },
	{ .info = { .name = "max_messages_per_day", .def = "20",
	    .doc = "KakaoTalk messages a day (Korea time) from run" },
	    .store = KS_INT, .off = TOFF(max_messages_per_day),
	    .parse = key_int, .min = 1, .max = CONFIG_MAX_MESSAGES_PER_DAY_MAX },
	{ .info = { .name = "notice_window", .def = "60",
	    .doc = "seconds within which watch failure and recovery notices "
	    "are grouped into one message (0: each sent at once)" },
	    .store = KS_INT, .off = TOFF(notice_window), .parse = key_int,
	    .min = 0, .max = 3600 },
	{ .info = { .name = "quiet_hours", .def = "off",
	    .doc = "HH:MM-HH:MM local time (e.g. 23:00-07:00): messages made "
	    "inside wait and go out as one digest when it ends; off: none" },
	    .store = KS_STR, .off = TOFF(quiet_hours), .parse = key_quiet },
	{ .info = { .name = "timezone", .def = QUIET_DEFAULT_TZ,
	    .doc = "the IANA time zone quiet_hours are read in" },
	    .store = KS_STR, .off = TOFF(timezone), .parse = key_timezone },
	{ .info = { .name = "history_days", .def = "90",
	    .doc = "days of change history kept" },
	    .store = KS_INT, .off = TOFF(history_days), .parse = key_int,
	    .min = 1, .max = CONFIG_HISTORY_DAYS_MAX },
	{ .info = { .name = "default_encoding", .def = "cp949",
	    .example = "windows-1252",
	    .doc = "charset of pages that declare none and are not UTF-8 "
	    "(what a browser in a Korean locale uses)" },
	    .store = KS_STR, .off = TOFF(default_encoding),
	    .parse = key_encoding },
	{ .info = { .name = "browser",
	    .def = "chromium-headless-shell",
	    .doc = "the headless Chromium of render: browser; a path, or a "
	    "name looked up on PATH" },
	    .store = KS_STR, .off = TOFF(browser), .parse = key_line },
	{ .info = { .name = "browser_max", .def = "1",
	    .doc = "browsers running at once" },
	    .store = KS_INT, .off = TOFF(browser_max), .parse = key_int,
	    .min = 1, .max = 8 },
};
/* clang-format on */
#define TK_COUNT (sizeof(top_keys) / sizeof(top_keys[0]))

/* kakao: */
/* clang-format off */
static const struct key kakao_keys[] = {
	[KK_REST_API_KEY] = { .info = { .name = "rest_api_key",
	    .doc = "the app's REST API key (client_id); needed to send" },
	    .store = KS_STR, .off = KOFF(rest_api_key), .parse = key_opt_str },
	[KK_CLIENT_SECRET] = { .info = { .name = "client_secret",
	    .doc = "the app's client secret, when it is on" },
	    .store = KS_STR, .off = KOFF(client_secret), .parse = key_secret },
	[KK_REDIRECT_URI] = { .info = { .name = "redirect_uri",
	    .def = DEFAULT_REDIRECT_URI,
	    .doc = "the redirect URI registered in the app" },
	    .store = KS_STR, .off = KOFF(redirect_uri), .parse = key_url },
	[KK_TOKEN_FILE] = { .info = { .name = "token_file",
	    .def = "kakao_token.json",
	    .doc = "the token file; relative to state_dir" },
	    .store = KS_STR, .off = KOFF(token_file) },
	{ .info = { .name = "auth_base_url", .def = DEFAULT_AUTH_BASE_URL,
	    .doc = "Kakao's OAuth server, for tests and proxies" },
	    .store = KS_STR, .off = KOFF(auth_base_url),
	    .parse = key_base_url },
	{ .info = { .name = "api_base_url", .def = DEFAULT_API_BASE_URL,
	    .doc = "Kakao's API server, for tests and proxies" },
	    .store = KS_STR, .off = KOFF(api_base_url), .parse = key_base_url },
	{ .info = { .name = "sink", .def = "auto",
	    .doc = "auto (KakaoTalk once a token file exists), kakao or "
	    "stdout" },
	    .off = KOFF(sink), .parse = key_sink },
	{ .info = { .name = "min_refresh_interval", .def = "5m",
	    .doc = "never refresh the access token more often than this" },
	    .store = KS_I64, .off = KOFF(min_refresh_interval_ms),
	    .parse = key_duration, .min = 0, .max = CONFIG_MIN_REFRESH_MAX_MS },
	{ .info = { .name = "default_link",
	    .doc = "where messages without a link of their own go (`send` "
	    "without --link, a message retried as plain text)" },
	    .store = KS_STR, .off = KOFF(default_link), .parse = key_url },
	{ .info = { .name = "web_domains",
	    .doc = "the hosts registered in the Kakao app ([앱] > [제품 링크 "
	    "관리] > [웹 도메인]); `check` tells which links need one" },
	    .store = KS_STRV, .off = KOFF(web_domains),
	    .count_off = KOFF(nweb_domains), .parse = key_strlist },
};
/* clang-format on */
#define KK_COUNT (sizeof(kakao_keys) / sizeof(kakao_keys[0]))

/*
 * A watch (and defaults:, except name). A new key is one row here plus a
 * field in struct watch_config and its use. info.example is a valid value
 * that differs from the default (tests load every row with it; needs:
 * other "key: value" lines the example requires).
 */
/* clang-format off */
static const struct key watch_keys[] = {
	[WK_NAME] = { .info = { .name = "name", .required = true,
	    .example = "other-name",
	    .doc = "unique; letters, digits, '.', '_', '-' and Hangul, up "
	    "to 64 characters" },
	    .store = KS_STR, .off = WOFF(name) }, /* watch_parse_name */
	[WK_URL] = { .info = { .name = "url", .required = true,
	    .example = "https://example.org/other",
	    .doc = "the page: http:// or https://" },
	    .store = KS_STR, .off = WOFF(url), .parse = key_url },
	[WK_XPATH] = { .info = { .name = "xpath",
	    .example = "//li/a",
	    .doc = "XPath 1.0; every match is one item (feeds need none)" },
	    .store = KS_STR, .off = WOFF(xpath), .parse = key_xpath },
	[WK_CSS] = { .info = { .name = "css", .example = "ul.list > li > a",
	    .instead = "xpath",
	    .doc = "a CSS selector instead of xpath (one of the two); every "
	    "match is one item" },
	    .store = KS_STR, .off = WOFF(css), .parse = key_css },
	[WK_METHOD] = { .info = { .name = "method", .def = "GET",
	    .example = "POST", .doc = "GET or POST" },
	    .store = KS_STR, .off = WOFF(method), .parse = key_method },
	[WK_BODY] = { .info = { .name = "body", .example = "q=rust",
	    .needs = "method: POST", .doc = "the request body (POST only)" },
	    .store = KS_STR, .off = WOFF(body), .parse = key_opt_str },
	{ .info = { .name = "user_agent", .def = DEFAULT_USER_AGENT,
	    .example = "browser",
	    .doc = "the User-Agent header; `browser`: a desktop Chrome's, "
	    "with the Accept and Accept-Language (ko-KR first) it sends" },
	    .store = KS_STR, .off = WOFF(user_agent), .parse = key_line },
	{ .info = { .name = "encoding", .example = "euc-kr",
	    .doc = "force a charset when a page lies" },
	    .store = KS_STR, .off = WOFF(encoding), .parse = key_encoding },
	{ .info = { .name = "keywords", .example = "[rust, \"한글\"]",
	    .doc = "only items containing one of these send a message" },
	    .store = KS_STRV, .off = WOFF(keywords),
	    .count_off = WOFF(nkeywords), .parse = key_strlist },
	{ .info = { .name = "exclude", .example = "[draft]",
	    .doc = "items containing any of these never send a message" },
	    .store = KS_STRV, .off = WOFF(exclude),
	    .count_off = WOFF(nexclude), .parse = key_strlist },
	{ .info = { .name = "when", .example = "'title ~ \"(SSD|NVMe)\"'",
	    .doc = "conditions (a string or a list; all must hold) on an "
	    "item's title, link and fields, e.g. `price <= 100000 and not "
	    "title ~ \"중고\"`" },
	    .store = KS_STRV, .off = WOFF(when), .count_off = WOFF(nwhen),
	    .parse = key_when },
	{ .info = { .name = "fields",
	    .example = "{ price: { css: span.price }, shop: \"string(@data-shop)\" }",
	    .doc = "named values of each item for when: and messages: an "
	    "XPath relative to the item, or { css: SELECTOR, attr: NAME }" },
	    .store = KS_STRV, .off = WOFF(fields),
	    .count_off = WOFF(nfields), .parse = key_fields },
	{ .info = { .name = "message",
	    .example = "{ title: '{title} · {date}', header: '{name}: "
	    "{count}' }",
	    .doc = "templates of the messages: title: and description: of "
	    "each item, header: of the list; placeholders {name}, {count}, "
	    "{change}, {title}, {link}, {date}, {summary} and the fields" },
	    .store = KS_STRV, .off = WOFF(message),
	    .count_off = WOFF(nmessage), .parse = key_message },
	{ .info = { .name = "headers",
	    .example = "{ Accept-Language: ko-KR }",
	    .doc = "extra request headers, a mapping" },
	    .store = KS_STRV, .off = WOFF(headers),
	    .count_off = WOFF(nheaders), .parse = key_headers },
	{ .info = { .name = "notify_on", .def = "added",
	    .example = "[added, changed]",
	    .doc = "added, changed, removed or a list of them (both = added "
	    "and removed)" },
	    .store = KS_INT, .off = WOFF(notify_on), .parse = key_notify },
	{ .info = { .name = "key", .def = "auto", .example = "text+link",
	    .doc = "what tells items apart: auto, link, text or text+link" },
	    .store = KS_INT, .off = WOFF(key_mode), .parse = key_keymode },
	{ .info = { .name = "key_pattern", .example = "'wr_id=(\\d+)'",
	    .doc = "a regular expression; its first group, matched on the "
	    "item's link, is the item's key" },
	    .store = KS_STR, .off = WOFF(key_pattern),
	    .parse = key_key_pattern },
	{ .info = { .name = "interval", .def = "30m", .example = "1h",
	    .doc = "time between checks" },
	    .store = KS_I64, .off = WOFF(interval_ms), .parse = key_duration,
	    .min = CONFIG_INTERVAL_MIN_MS, .max = CONFIG_INTERVAL_MAX_MS },
	{ .info = { .name = "jitter", .def = "10%", .example = "25%",
	    .doc = "each interval moves by up to +- this much, at random" },
	    .store = KS_DBL, .off = WOFF(jitter_pct), .parse = key_percent,
	    .max = (int64_t)CONFIG_JITTER_MAX_PCT },
	{ .info = { .name = "timeout", .def = "30s", .example = "10s",
	    .doc = "the whole transfer" },
	    .store = KS_I64, .off = WOFF(timeout_ms), .parse = key_duration,
	    .min = CONFIG_TIMEOUT_MIN_MS, .max = CONFIG_TIMEOUT_MAX_MS },
	{ .info = { .name = "max_bytes", .def = "5MiB", .example = "1MiB",
	    .doc = "cap on the decoded page" },
	    .store = KS_I64, .off = WOFF(max_bytes), .parse = key_size,
	    .min = CONFIG_MAX_BYTES_MIN, .max = CONFIG_MAX_BYTES_MAX,
	    .range = "1KiB to 1GiB" },
	{ .info = { .name = "max_failures", .def = "5", .example = "2",
	    .doc = "failed checks in a row before one \"failing\" message" },
	    .store = KS_INT, .off = WOFF(max_failures), .parse = key_int,
	    .min = 1, .max = CONFIG_MAX_FAILURES_MAX },
	{ .info = { .name = "ssl_verify", .def = "true", .example = "false",
	    .doc = "verify TLS certificates" },
	    .store = KS_BOOL, .off = WOFF(ssl_verify), .parse = key_bool },
	{ .info = { .name = "parser", .def = "auto", .example = "feed",
	    .doc = "auto, html, xml, feed or json: how the response is "
	    "read" },
	    .store = KS_INT, .off = WOFF(parser), .parse = key_word,
	    .words = (const char *const[]){ "auto", "html", "xml", "feed",
		"json", NULL } },
	{ .info = { .name = "namespaces",
	    .example = "{ a: \"http://www.w3.org/2005/Atom\" }",
	    .doc = "XML namespace prefixes for xpath, title and link" },
	    .store = KS_STRV, .off = WOFF(namespaces),
	    .count_off = WOFF(nnamespaces), .parse = key_namespaces },
	{ .info = { .name = "title", .example = "bidNtceNm",
	    .doc = "XPath, relative to each item, for its title" },
	    .store = KS_STR, .off = WOFF(title), .parse = key_opt_str },
	{ .info = { .name = "link", .example = "\"@href\"",
	    .doc = "XPath, relative to each item, for its link" },
	    .store = KS_STR, .off = WOFF(link), .parse = key_opt_str },
	{ .info = { .name = "jq", .example = "'.items[] | .name'",
	    .doc = "a jq program for JSON: each output is an item" },
	    .store = KS_STR, .off = WOFF(jq), .parse = key_opt_str },
	{ .info = { .name = "allow_insecure_redirect", .def = "false",
	    .example = "true",
	    .doc = "follow a redirect from https to http" },
	    .store = KS_BOOL, .off = WOFF(allow_insecure_redirect),
	    .parse = key_bool },
	{ .info = { .name = "max_retry_after", .def = "6h", .example = "1h",
	    .doc = "a longer Retry-After counts as a failed check" },
	    .store = KS_I64, .off = WOFF(max_retry_after_ms),
	    .parse = key_duration, .min = CONFIG_MAX_RETRY_AFTER_MIN_MS,
	    .max = CONFIG_MAX_RETRY_AFTER_MAX_MS },
	{ .info = { .name = "render", .def = "none", .example = "browser",
	    .doc = "none, or browser: load the page in headless Chromium and "
	    "extract from the DOM after its scripts ran" },
	    .store = KS_INT, .off = WOFF(render), .parse = key_word,
	    .words = (const char *const[]){ "none", "browser", NULL } },
	{ .info = { .name = "wait_for", .example = "ul#list > li",
	    .needs = "render: browser",
	    .doc = "render: browser only: a CSS selector or an XPath (starting "
	    "with / or '('); the page is read once it matches, at most until "
	    "the timeout (unset: after the scripts settle)" },
	    .store = KS_STR, .off = WOFF(wait_for), .parse = key_wait_for },
	{ .info = { .name = "browser_profile", .def = "fresh",
	    .example = "keep", .needs = "render: browser",
	    .doc = "render: browser only: fresh (a new browser profile each "
	    "check) or keep (state_dir/browser/NAME, kept: stays logged in)" },
	    .store = KS_INT, .off = WOFF(browser_profile), .parse = key_word,
	    .words = (const char *const[]){ "fresh", "keep", NULL } },
	{ .info = { .name = "proxy", .example = "socks5h://127.0.0.1:9050",
	    .doc = "the proxy for this watch: http://, https://, socks5:// "
	    "or socks5h://; unset: http_proxy and friends" },
	    .store = KS_STR, .off = WOFF(proxy), .parse = key_proxy },
	{ .info = { .name = "cookies", .example = "cookies.txt",
	    .doc = "a Netscape cookies.txt exported from a browser (relative "
	    "to the config file); cookies the site sets are kept in "
	    "state_dir" },
	    .store = KS_STR, .off = WOFF(cookies), .parse = key_path },
	{ .info = { .name = "quiet_hours", .example = "'22:00-06:00'",
	    .doc = "this watch's quiet hours (beats the top-level "
	    "quiet_hours); off: none for this watch" },
	    .store = KS_STR, .off = WOFF(quiet_hours), .parse = key_quiet },
	{ .info = { .name = "enabled", .def = "true", .example = "false",
	    .doc = "false keeps the watch and its history but does not run "
	    "it" },
	    .store = KS_BOOL, .off = WOFF(enabled), .parse = key_bool },
};
/* clang-format on */
#define WK_COUNT (sizeof(watch_keys) / sizeof(watch_keys[0]))

/* --- generic key operations -------------------------------------------- */

/* key_release frees the field of `k` in `conf` and zeroes it */
static void
key_release(const struct key *k, void *conf)
{
	char **sp;
	size_t *np;

	switch (k->store) {
	case KS_STR:
		sp = KEY_FIELD(conf, k);
		if (k->parse == key_secret)
			util_wipe_free(*sp);
		else
			free(*sp);
		*sp = NULL;
		break;
	case KS_STRV:
		np = (size_t *)((char *)conf + k->count_off);
		strv_free(*(char ***)KEY_FIELD(conf, k), *np);
		*(char ***)KEY_FIELD(conf, k) = NULL;
		*np = 0;
		break;
	default:
		break;
	}
}

/* key_copy replaces the field of `k` in `to` with a copy of `from`'s */
static int
key_copy(const struct key *k, void *to, const void *from)
{
	const size_t *nfrom =
	    (const size_t *)((const char *)from + k->count_off);

	switch (k->store) {
	case KS_STR:
		return str_set(KEY_FIELD(to, k),
		    *(char *const *)KEY_CFIELD(from, k));
	case KS_STRV:
		key_release(k, to);
		return strv_dup(*(char **const *)KEY_CFIELD(from, k), *nfrom,
		    KEY_FIELD(to, k), (size_t *)((char *)to + k->count_off));
	case KS_INT:
		memcpy(KEY_FIELD(to, k), KEY_CFIELD(from, k), sizeof(int));
		return 0;
	case KS_I64:
		memcpy(KEY_FIELD(to, k), KEY_CFIELD(from, k), sizeof(int64_t));
		return 0;
	case KS_DBL:
		memcpy(KEY_FIELD(to, k), KEY_CFIELD(from, k), sizeof(double));
		return 0;
	case KS_BOOL:
		memcpy(KEY_FIELD(to, k), KEY_CFIELD(from, k), sizeof(bool));
		return 0;
	default:
		return 0;
	}
}

/* key_equal: has the field of `k` the same value in `a` and `b` */
static bool
key_equal(const struct key *k, const void *a, const void *b)
{
	char *const *va, *const *vb;
	size_t na, nb, i;

	switch (k->store) {
	case KS_STR:
		return util_str_eq(*(char *const *)KEY_CFIELD(a, k),
		    *(char *const *)KEY_CFIELD(b, k));
	case KS_STRV:
		va = *(char **const *)KEY_CFIELD(a, k);
		vb = *(char **const *)KEY_CFIELD(b, k);
		na = *(const size_t *)((const char *)a + k->count_off);
		nb = *(const size_t *)((const char *)b + k->count_off);
		if (na != nb)
			return false;
		for (i = 0; i < na; i++)
			if (strcmp(va[i], vb[i]) != 0)
				return false;
		return true;
	case KS_INT:
		return *(const int *)KEY_CFIELD(a, k) ==
		       *(const int *)KEY_CFIELD(b, k);
	case KS_I64:
		return *(const int64_t *)KEY_CFIELD(a, k) ==
		       *(const int64_t *)KEY_CFIELD(b, k);
	case KS_DBL:
		return *(const double *)KEY_CFIELD(a, k) ==
		       *(const double *)KEY_CFIELD(b, k);
	case KS_BOOL:
		return *(const bool *)KEY_CFIELD(a, k) ==
		       *(const bool *)KEY_CFIELD(b, k);
	default:
		return true;
	}
}

/*
 * key_parse parses node `n` into the field of `k` in `conf`, replacing
 * what was there (a default); 0 when the value is valid.
 */
static int
key_parse(struct loader *ld, const struct key *k, yaml_node_t *n,
    const char *label, void *conf)
{
	key_release(k, conf);
	return k->parse(ld, n, label, k, conf);
}

/*
 * keys_defaults sets every key of `table` that has a parse function and a
 * default to that default, parsed as if it were written in the file: a
 * default is written once, in the file's syntax, and obeys the key's
 * rules. An error here is a bug in a table row.
 */
static void
keys_defaults(struct loader *ld, const struct key *table, size_t n,
    const char *label, void *conf, bool *set)
{
	yaml_node_t node;
	size_t i;

	for (i = 0; i < n; i++) {
		if (table[i].parse == NULL || table[i].info.def == NULL)
			continue;
		memset(&node, 0, sizeof(node));
		node.type = YAML_SCALAR_NODE;
		node.data.scalar.value =
		    (yaml_char_t *)(uintptr_t)table[i].info.def;
		node.data.scalar.length = strlen(table[i].info.def);
		node.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
		if (key_parse(ld, &table[i], &node, label, conf) == 0 &&
		    set != NULL)
			set[i] = true;
	}
}

/* keys_release frees every field of `table` in `conf` */
static void
keys_release(const struct key *table, size_t n, void *conf)
{
	size_t i;

	for (i = 0; i < n; i++)
		key_release(&table[i], conf);
}

/* --- watches ----------------------------------------------------------- */

/* a watch (or defaults:) as written, before inheritance */
struct watch_src {
	char label[LABEL_MAX];       /* "watch 'x'", "watch #3", "defaults" */
	yaml_mark_t pos;             /* the mapping */
	bool present[WK_COUNT];      /* key given, valid or not */
	bool set[WK_COUNT];          /* key given with a valid value */
	yaml_mark_t mark[WK_COUNT];  /* each given key's value */
	yaml_node_t *node[WK_COUNT]; /* and its node (the document lives
	                                until the load ends) */
	struct watch_config w;       /* the values of the set keys */
};

/* the name of watch #index, checked; sets src->label */
static void
watch_parse_name(struct loader *ld, yaml_node_t *map, size_t index,
    struct watch_src *src)
{
	char why[128], tmp[SHOW_MAX + 4];
	const char *problem;
	yaml_node_t *v;
	char *s;

	snprintf(src->label, sizeof(src->label), "watch #%zu", index);
	v = map_find(ld, map, "name");
	if (v == NULL)
		return;
	src->present[WK_NAME] = true;
	src->mark[WK_NAME] = v->start_mark;
	if (parse_str(ld, v, src->label, "name", false, &s) != 0)
		return;
	problem = name_problem(s, why, sizeof(why));
	if (problem != NULL) {
		key_errorf(ld, v->start_mark, src->label, "name", "'%s' %s",
		    show(s, tmp, sizeof(tmp)), problem);
		free(s);
		return;
	}
	src->w.name = s;
	src->set[WK_NAME] = true;
	snprintf(src->label, sizeof(src->label), "watch '%s'", s);
}

/*
 * watch_src_parse reads one watch mapping (index >= 1) or the defaults
 * mapping (index 0) into `src`.
 */
static void
watch_src_parse(struct loader *ld, yaml_node_t *map, size_t index,
    struct watch_src *src)
{
	yaml_node_t *vals[WK_COUNT];
	yaml_mark_t keymarks[WK_COUNT];
	char where[LABEL_MAX + 4];
	size_t k;

	src->pos = map->start_mark;
	if (index == 0)
		snprintf(src->label, sizeof(src->label), "defaults");
	else
		watch_parse_name(ld, map, index, src);
	snprintf(where, sizeof(where), "in %s", src->label);
	map_collect(ld, map, where, watch_keys, WK_COUNT, vals, keymarks);
	if (index == 0 && vals[WK_NAME] != NULL)
		errorf(ld, keymarks[WK_NAME],
		    "defaults: 'name' cannot be set here: each watch needs "
		    "its own");
	for (k = 0; k < WK_COUNT; k++) {
		if (vals[k] == NULL || watch_keys[k].parse == NULL)
			continue;
		src->present[k] = true;
		src->mark[k] = vals[k]->start_mark;
		src->node[k] = vals[k];
		if (key_parse(ld, &watch_keys[k], vals[k], src->label,
			&src->w) == 0)
			src->set[k] = true;
	}
}

/* the source that decides key `k` of a watch: the watch, defaults or none */
static const struct watch_src *
watch_source(const struct watch_src *defs, const struct watch_src *src,
    size_t k)
{
	if (src->present[k])
		return src;
	if (defs->present[k])
		return defs;
	return NULL;
}

/* the row index of watch key `name` */
static size_t
wk(const char *name)
{
	size_t k;

	for (k = 0; k < WK_COUNT; k++)
		if (strcmp(watch_keys[k].info.name, name) == 0)
			break;
	return k;
}

/* the mark of key `name`'s value, or the watch's own */
static yaml_mark_t
wmark(const struct watch_src *defs, const struct watch_src *src,
    const char *name)
{
	const struct watch_src *from = watch_source(defs, src, wk(name));

	return from != NULL ? from->mark[wk(name)] : src->pos;
}

/* check one XPath-valued key with the watch's namespaces */
static int
check_field(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, const struct watch_config *w, const char *key,
    const char *expr)
{
	char tmp[SHOW_MAX + 4], msg[MSG_MAX];

	if (expr == NULL || field_check_fn == NULL)
		return 0;
	msg[0] = '\0';
	if (field_check_fn(expr, (const char *const *)w->namespaces,
		w->nnamespaces / 2, msg, sizeof(msg)) == 0)
		return 0;
	msg[sizeof(msg) - 1] = '\0';
	key_errorf(ld, wmark(defs, src, key), src->label, NULL,
	    "bad %s '%s': %s", key, show(expr, tmp, sizeof(tmp)),
	    msg[0] ? msg : "does not compile");
	return -1;
}

/*
 * watch_field_names: the names of watch `w`'s fields: entries, which
 * message templates may use as placeholders, into out[0..max) (borrowed
 * from `w`; message.h knows the feed built-ins itself). Returns how many.
 */
static size_t
watch_field_names(const struct watch_config *w, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i + 1 < w->nfields && n < max; i += 2)
		out[n++] = w->fields[i];
	return n;
}

/*
 * watch_check_message: the placeholders of each message: template of `w`
 * are ones it knows (message_template_check); an error is at its
 * character in the file, as css_mark finds it. Returns 0 or -1.
 */
static int
watch_check_message(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, const struct watch_config *w)
{
	const struct watch_src *from = watch_source(defs, src, wk("message"));
	const char *fields[CONFIG_FIELDS_MAX];
	yaml_node_t *map, *pv;
	size_t nfields, i, at;
	int result = 0;

	if (from == NULL || w->nmessage == 0)
		return 0;
	map = from->node[wk("message")];
	nfields =
	    watch_field_names(w, fields, sizeof(fields) / sizeof(fields[0]));
	if (w->jq != NULL) /* a jq program's object keys are its fields */
		nfields = MESSAGE_FIELDS_ANY;
	for (i = 0; i + 1 < w->nmessage; i += 2) {
		struct kw_err err = { 0 };
		enum message_part part;
		char key[32];

		part = strcmp(w->message[i], "title") == 0 ?
			   MESSAGE_PART_TITLE :
		       strcmp(w->message[i], "description") == 0 ?
			   MESSAGE_PART_DESCRIPTION :
			   MESSAGE_PART_HEADER;
		if (message_template_check(w->message[i + 1], part, fields,
			nfields, &at, &err) == 0)
			continue;
		pv = map_find(ld, map, w->message[i]);
		snprintf(key, sizeof(key), "message.%s", w->message[i]);
		key_errorf(ld,
		    pv != NULL ? css_mark(ld, pv, at) :
				 from->mark[wk("message")],
		    src->label, key, "%s", err.msg);
		result = -1;
	}
	return result;
}

/*
 * program_line_mark: where line `line` (1-based; 0 = unknown) of a program
 * written at `m` is in the file: for a block scalar (`jq: |`) line k is
 * the k-th line after the indicator, at its first non-blank character;
 * otherwise the program starts at `m`, and line k > 1 is k - 1 lines on.
 */
static yaml_mark_t
program_line_mark(const struct loader *ld, yaml_mark_t m, unsigned line)
{
	size_t i = m.index, k;
	bool block;

	if (line == 0 || i >= ld->textlen)
		return m;
	block = ld->text[i] == '|' || ld->text[i] == '>';
	k = block ? line : line - 1;
	if (k == 0)
		return m;
	while (k > 0 && i < ld->textlen) {
		if (ld->text[i] == '\n') {
			k--;
			m.line++;
			m.column = 0;
		}
		i++;
	}
	if (k > 0)
		return m;
	while (i < ld->textlen && ld->text[i] == ' ') {
		i++;
		m.column++;
	}
	m.index = i;
	return m;
}

/*
 * watch_check_source: the rules of parser, xpath, jq, title, link and
 * namespaces together (issue 13).
 */
static int
watch_check_source(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, struct watch_config *w)
{
	const struct watch_src *from;
	char msg[MSG_MAX];
	yaml_mark_t m;
	unsigned line = 0;
	int result = 0;

	if (w->xpath == NULL && (w->parser == CONFIG_PARSER_HTML ||
				    w->parser == CONFIG_PARSER_XML)) {
		errorf(ld, src->pos,
		    "%s: missing required key 'xpath' (or "
		    "'css'; parser: %s reads items by XPath)",
		    src->label,
		    w->parser == CONFIG_PARSER_HTML ? "html" : "xml");
		result = -1;
	}
	if (w->jq == NULL && w->parser == CONFIG_PARSER_JSON) {
		errorf(ld, src->pos,
		    "%s: missing required key 'jq' (parser: "
		    "json reads items with a jq program)",
		    src->label);
		result = -1;
	}
	if (w->xpath != NULL && w->parser == CONFIG_PARSER_JSON) {
		key_errorf(ld, wmark(defs, src, "xpath"), src->label, "xpath",
		    "not used with parser: json (its jq: program makes the "
		    "items)");
		result = -1;
	}
	if (w->jq != NULL && w->parser != CONFIG_PARSER_JSON &&
	    w->parser != CONFIG_PARSER_AUTO) {
		key_errorf(ld, wmark(defs, src, "jq"), src->label, "jq",
		    "only read with parser: json or auto");
		result = -1;
	}
	/* with a bad namespaces: (reported) the prefixes mean nothing yet */
	from = watch_source(defs, src, wk("namespaces"));
	if (from != NULL && !from->set[wk("namespaces")]) {
		result = -1;
	} else {
		if (w->xpath != NULL && has_prefix(w->xpath) &&
		    check_field(ld, defs, src, w, "xpath", w->xpath) != 0)
			result = -1;
		if (check_field(ld, defs, src, w, "title", w->title) != 0 ||
		    check_field(ld, defs, src, w, "link", w->link) != 0)
			result = -1;
		for (size_t i = 0; i + 1 < w->nfields; i += 2)
			if (has_prefix(w->fields[i + 1]) &&
			    check_field(ld, defs, src, w, "fields",
				w->fields[i + 1]) != 0)
				result = -1;
	}
	if (w->nfields > 0 && w->parser == CONFIG_PARSER_JSON) {
		key_errorf(ld, wmark(defs, src, "fields"), src->label, "fields",
		    "not used with parser: json (the keys of the jq "
		    "program's output objects are the item's fields)");
		result = -1;
	}
	if (w->jq != NULL && jq_check_fn != NULL &&
	    jq_check_fn(w->jq, msg, sizeof(msg), &line) != 0) {
		m = program_line_mark(ld, wmark(defs, src, "jq"), line);
		msg[sizeof(msg) - 1] = '\0';
		key_errorf(ld, m, src->label, "jq", "%s", msg);
		result = -1;
	}
	return result;
}

/*
 * select_source: a watch selects with xpath: or css:, exactly one, from
 * the watch when it gives either, else from defaults. `out` holds the
 * keys as inherited one by one; this makes xpath the chosen source's
 * (for css: its translation) and css NULL unless css: was chosen. Both in
 * one mapping is an error (result = -1). Returns -1 on out-of-memory.
 */
static int
select_source(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, struct watch_config *out, int *result)
{
	const struct watch_src *from;

	from = src->present[WK_XPATH] || src->present[WK_CSS] ? src : defs;
	if (from->present[WK_XPATH] && from->present[WK_CSS]) {
		key_errorf(ld, from->mark[WK_CSS], from->label, "css",
		    "give either xpath: or css:, not both");
		*result = -1;
	}
	if (!from->present[WK_CSS]) {
		free(out->css);
		out->css = NULL;
		return 0;
	}
	if (from->present[WK_XPATH] || !from->set[WK_CSS])
		return 0;
	/* css: chosen; its xpath field holds the translation */
	if (str_set(&out->css, from->w.css) != 0 ||
	    str_set(&out->xpath, from->w.xpath) != 0)
		return -1;
	return 0;
}

/* what `when:` of watch `w` may name (cond_known_fn) */
static bool
when_field_known(void *ctx, const char *name)
{
	const struct watch_config *w = ctx;
	static const char *const feed[] = { "date", "summary", "author",
		"image" };
	size_t i;

	if (strcmp(name, "title") == 0 || strcmp(name, "link") == 0)
		return true;
	for (i = 0; i + 1 < w->nfields; i += 2)
		if (strcmp(w->fields[i], name) == 0)
			return true;
	/* a JSON item's fields are the keys its jq program writes */
	if (w->jq != NULL && w->parser != CONFIG_PARSER_HTML &&
	    w->parser != CONFIG_PARSER_XML && item_field_name_valid(name))
		return true;
	if (w->parser == CONFIG_PARSER_AUTO || w->parser == CONFIG_PARSER_FEED)
		for (i = 0; i < sizeof(feed) / sizeof(feed[0]); i++)
			if (strcmp(feed[i], name) == 0)
				return true;
	return false;
}

/* the names when_field_known accepts, for a message: "title, link, ..." */
static void
known_fields(const struct watch_config *w, char *buf, size_t size)
{
	size_t i, n;

	n = (size_t)snprintf(buf, size, "title, link");
	for (i = 0; i + 1 < w->nfields && n < size; i += 2)
		n += (size_t)snprintf(buf + n, size - n, ", %s", w->fields[i]);
	if (n < size && (w->parser == CONFIG_PARSER_AUTO ||
			    w->parser == CONFIG_PARSER_FEED))
		snprintf(buf + n, size - n,
		    ", and for feeds date, summary, "
		    "author, image");
}

/* free the compiled when: conditions of `w` */
static void
when_cond_free(struct watch_config *w)
{
	size_t j;

	if (w->when_cond != NULL)
		for (j = 0; j < w->nwhen; j++)
			cond_free(w->when_cond[j]);
	free(w->when_cond);
	w->when_cond = NULL;
}

/* compile the when: conditions of `w` into w->when_cond: 0 or -1 */
static int
when_cond_compile(struct watch_config *w)
{
	struct kw_err err = { 0 };
	size_t j;

	when_cond_free(w);
	if (w->nwhen == 0)
		return 0;
	if ((w->when_cond = calloc(w->nwhen, sizeof(*w->when_cond))) == NULL)
		return -1;
	for (j = 0; j < w->nwhen; j++)
		if ((w->when_cond[j] = cond_parse(w->when[j], COND_FREE_IS_ZERO,
			 NULL, &err)) == NULL) {
			when_cond_free(w);
			return -1;
		}
	return 0;
}

/*
 * watch_check_when: every field a when: condition names is one the
 * watch's items can have (when_field_known), reported at the name; then
 * the conditions are compiled into w->when_cond. 0, or -1 (reported, or
 * out of memory).
 */
static int
watch_check_when(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, struct watch_config *w)
{
	const struct watch_src *from = watch_source(defs, src, wk("when"));
	const struct watch_src *ffrom;
	yaml_node_t *n, *item;
	yaml_node_item_t *it = NULL;
	char names[MSG_MAX / 2];
	size_t j, at = 0;
	int result = 0;

	if (w->nwhen == 0)
		return 0;
	/* with a bad fields: (reported) the names mean nothing yet */
	ffrom = watch_source(defs, src, wk("fields"));
	if (ffrom != NULL && !ffrom->set[wk("fields")])
		return -1;
	n = from != NULL ? from->node[wk("when")] : NULL;
	if (n != NULL && n->type == YAML_SEQUENCE_NODE)
		it = n->data.sequence.items.start;
	for (j = 0; j < w->nwhen; j++) {
		struct kw_err err = { 0 };
		struct cond *c;

		item = n;
		if (it != NULL && it + j < n->data.sequence.items.top)
			item = node_get(ld, it[j]);
		c = cond_parse(w->when[j], COND_FREE_IS_ZERO, NULL, &err);
		if (c == NULL) {
			result = -1; /* reported where it was parsed */
			continue;
		}
		if (cond_check_fields(c, when_field_known, w, &at, &err) != 0) {
			known_fields(w, names, sizeof(names));
			key_errorf(ld,
			    item != NULL && item->type == YAML_SCALAR_NODE ?
				css_mark(ld, item, at) :
				wmark(defs, src, "when"),
			    src->label, "when",
			    "%s (known: %s; declare others in fields:)",
			    err.msg, names);
			result = -1;
		}
		cond_free(c);
	}
	if (result == 0 && when_cond_compile(w) != 0) {
		ld->oom = true;
		result = -1;
	}
	return result;
}

/* browser_only: `name` (given) needs render: browser */
static void
browser_only(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, const char *name, int *result)
{
	const struct watch_src *from;
	size_t k;

	for (k = 0; k < WK_COUNT; k++)
		if (strcmp(watch_keys[k].info.name, name) == 0)
			break;
	from = k < WK_COUNT ? watch_source(defs, src, k) : NULL;
	/* from defaults: it applies to the watches that render */
	if (from != src || !from->set[k])
		return;
	key_errorf(ld, from->mark[k], src->label, name,
	    "needs 'render: browser'");
	*result = -1;
}

/*
 * browser_proxy_refused: a rendered watch's proxy names a user: Chromium
 * takes no proxy credentials on its command line (it ignores them there)
 * and the command line is readable by every local user
 */
static void
browser_proxy_refused(struct loader *ld, const struct watch_src *defs,
    const struct watch_src *src, int *result)
{
	key_errorf(ld, wmark(defs, src, "proxy"), src->label, "proxy",
	    "'render: browser' cannot use a proxy with a user name or "
	    "password (the browser takes none on its command line, which "
	    "every local user can read); use one that needs none, such as "
	    "a local forwarder");
	*result = -1;
}

/*
 * watch_build applies the built-in defaults (`builtin`), then `defs`, then
 * `src` into `out`, and checks the rules that span keys. Returns 0 when
 * the watch is valid.
 */
static int
watch_build(struct loader *ld, const struct watch_src *builtin,
    const struct watch_src *defs, const struct watch_src *src,
    struct watch_config *out)
{
	const struct watch_src *from, *mfrom;
	const char *ui;
	size_t k, sel, uilen;
	int result = 0;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < WK_COUNT; k++) {
		from = watch_source(defs, src, k);
		if (from == NULL && builtin->set[k])
			from = builtin;
		if (from == NULL)
			continue;
		if (!from->set[k]) {
			result = -1; /* already reported */
			continue;
		}
		if (key_copy(&watch_keys[k], out, &from->w) != 0)
			goto oom;
	}
	out->pos.line = (unsigned)src->pos.line + 1;
	out->pos.col = (unsigned)src->pos.column + 1;
	if (select_source(ld, defs, src, out, &result) != 0)
		goto oom;
	from = watch_source(defs, src, out->css ? WK_CSS : WK_XPATH);
	if (from != NULL) {
		sel = out->css ? WK_CSS : WK_XPATH;
		out->xpath_pos.line = (unsigned)from->mark[sel].line + 1;
		out->xpath_pos.col = (unsigned)from->mark[sel].column + 1;
	}
	for (k = 0; k < WK_COUNT; k++) {
		if (!watch_keys[k].info.required)
			continue;
		if (k == WK_XPATH && watch_source(defs, src, WK_CSS) != NULL)
			continue;
		if (k == WK_NAME ? src->present[k] :
				   watch_source(defs, src, k) != NULL)
			continue;
		errorf(ld, src->pos, "%s: missing required key '%s'%s",
		    src->label, watch_keys[k].info.name,
		    k == WK_XPATH ? " (or 'css')" : "");
		result = -1;
	}
	if (watch_check_source(ld, defs, src, out) != 0)
		result = -1;
	if (watch_check_when(ld, defs, src, out) != 0)
		result = -1;
	if (watch_check_message(ld, defs, src, out) != 0)
		result = -1;
	from = watch_source(defs, src, WK_BODY);
	mfrom = watch_source(defs, src, WK_METHOD);
	if (from != NULL && from->set[WK_BODY] && out->body != NULL &&
	    (mfrom == NULL || mfrom->set[WK_METHOD]) &&
	    strcmp(out->method, "POST") != 0) {
		key_errorf(ld, from->mark[WK_BODY], src->label, "body",
		    "a request body needs 'method: POST'");
		result = -1;
	}
	if (out->render == CONFIG_RENDER_BROWSER && out->proxy != NULL &&
	    proxy_userinfo(out->proxy, &ui, &uilen))
		browser_proxy_refused(ld, defs, src, &result);
	if (out->render != CONFIG_RENDER_BROWSER &&
	    (out->wait_for != NULL ||
		out->browser_profile != CONFIG_PROFILE_FRESH))
		browser_only(ld, defs, src,
		    out->wait_for != NULL ? "wait_for" : "browser_profile",
		    &result);
	return result;
oom:
	ld->oom = true;
	return -1;
}

/* --- kakao ------------------------------------------------------------- */

/* kakao: values; token_file is resolved later, against state_dir */
static void
kakao_parse(struct loader *ld, yaml_node_t *n, struct kakao_config *kc,
    char **token_file, yaml_mark_t *token_mark)
{
	yaml_node_t *vals[KK_COUNT];
	yaml_mark_t keymarks[KK_COUNT];
	bool ok[KK_COUNT];
	size_t i, sink = KK_COUNT;
	char *s;

	if (node_is_null(n))
		return;
	if (n->type != YAML_MAPPING_NODE) {
		key_errorf(ld, n->start_mark, NULL, "kakao",
		    "expected a mapping (rest_api_key:, sink:, ...), not %s",
		    node_kind(n));
		return;
	}
	map_collect(ld, n, "in kakao", kakao_keys, KK_COUNT, vals, keymarks);
	for (i = 0; i < KK_COUNT; i++) {
		ok[i] = false;
		if (kakao_keys[i].parse == key_sink)
			sink = i;
		if (vals[i] != NULL && kakao_keys[i].parse != NULL)
			ok[i] = key_parse(ld, &kakao_keys[i], vals[i], "kakao",
				    kc) == 0;
	}
	if (vals[KK_TOKEN_FILE] != NULL &&
	    parse_str(ld, vals[KK_TOKEN_FILE], "kakao", "token_file", false,
		&s) == 0) {
		free(*token_file);
		*token_file = s;
		*token_mark = vals[KK_TOKEN_FILE]->start_mark;
	}
	if (sink < KK_COUNT && ok[sink] && kc->sink == CONFIG_SINK_KAKAO &&
	    (vals[KK_REST_API_KEY] == NULL || ok[KK_REST_API_KEY]) &&
	    kc->rest_api_key == NULL)
		key_errorf(ld, vals[sink]->start_mark, "kakao", "sink",
		    "'kakao' needs kakao.rest_api_key (the app's REST API "
		    "key)");
}

/* --- paths ------------------------------------------------------------- */

/*
 * path_normalize rewrites an absolute path in place: no repeated '/', no
 * "." segments, no trailing '/' (except for "/").
 */
static void
path_normalize(char *p)
{
	char *r = p, *w = p, *seg;
	size_t len;

	while (*r != '\0') {
		while (*r == '/')
			r++;
		if (*r == '\0')
			break;
		seg = r;
		while (*r != '\0' && *r != '/')
			r++;
		len = (size_t)(r - seg);
		if (len == 1 && seg[0] == '.')
			continue;
		*w++ = '/';
		memmove(w, seg, len);
		w += len;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/*
 * path_resolve returns `s` with a leading "~/" replaced by $HOME and, when
 * relative, joined to `base` (absolute), normalised; heap string or NULL
 * with a message in `err`.
 */
static char *
path_resolve(const char *s, const char *base, struct kw_err *err)
{
	const char *home;
	char *tilde = NULL, *r;

	if (s[0] == '~') {
		if (s[1] != '\0' && s[1] != '/') {
			kw_err_set(err, "'~user' paths are not supported; "
					"use '~/' or an absolute path");
			return NULL;
		}
		home = getenv("HOME");
		if (home == NULL || home[0] != '/') {
			kw_err_set(err, "'~' needs HOME set to an absolute "
					"path");
			return NULL;
		}
		tilde = malloc(strlen(home) + strlen(s) + 1);
		if (tilde == NULL)
			goto oom;
		strcpy(tilde, home);
		strcat(tilde, s + 1);
		s = tilde;
	}
	r = util_path_join(base, s);
	free(tilde);
	if (r == NULL)
		goto oom;
	path_normalize(r);
	return r;
oom:
	kw_err_set(err, "out of memory");
	return NULL;
}

/* the absolute directory of the config file */
static char *
config_dir(const char *path)
{
	char cwd[PATH_MAX], *dir, *r;

	dir = util_dirname(path);
	if (dir == NULL)
		return NULL;
	if (dir[0] == '/') {
		path_normalize(dir);
		return dir;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		free(dir);
		return NULL;
	}
	r = util_path_join(cwd, dir);
	free(dir);
	if (r != NULL)
		path_normalize(r);
	return r;
}

/* --- the document ------------------------------------------------------ */

/* the built-in defaults of the top level and kakao: */
static void
config_defaults(struct loader *ld, struct config *cfg)
{
	keys_defaults(ld, top_keys, TK_COUNT, NULL, cfg, NULL);
	keys_defaults(ld, kakao_keys, KK_COUNT, "kakao", &cfg->kakao, NULL);
}

/* state_dir: given (resolved against the config dir) or the XDG default */
static void
state_dir_resolve(struct loader *ld, struct config *cfg, yaml_node_t *n)
{
	struct kw_err err = { 0 };
	yaml_mark_t start = { 0, 0, 0 };
	const char *xdg, *home;
	char *dir, *s;
	struct buf b;

	if (n != NULL) {
		if (parse_str(ld, n, NULL, "state_dir", false, &s) != 0)
			return;
		dir = config_dir(ld->path);
		if (dir == NULL) {
			key_errorf(ld, n->start_mark, NULL, "state_dir",
			    "cannot find the config file's directory: %s",
			    strerror(errno));
			free(s);
			return;
		}
		cfg->state_dir = path_resolve(s, dir, &err);
		if (cfg->state_dir == NULL)
			key_errorf(ld, n->start_mark, NULL, "state_dir", "%s",
			    err.msg);
		free(dir);
		free(s);
		return;
	}
	xdg = getenv("XDG_STATE_HOME");
	home = getenv("HOME");
	buf_init(&b, 0);
	if (xdg != NULL && xdg[0] == '/') {
		if (buf_printf(&b, "%s/kakaowatch", xdg) != 0)
			ld->oom = true;
	} else if (home != NULL && home[0] == '/') {
		if (buf_printf(&b, "%s/.local/state/kakaowatch", home) != 0)
			ld->oom = true;
	} else {
		errorf(ld, start,
		    "state_dir is not set, and neither XDG_STATE_HOME nor "
		    "HOME is an absolute path: set state_dir");
		return;
	}
	cfg->state_dir = buf_detach(&b, NULL);
	if (cfg->state_dir == NULL)
		ld->oom = true;
	else
		path_normalize(cfg->state_dir);
}

/* by name, then by position in the list (same array: address order) */
static int
src_name_cmp(const void *a, const void *b)
{
	const struct watch_src *x = *(const struct watch_src *const *)a;
	const struct watch_src *y = *(const struct watch_src *const *)b;
	int c = strcmp(x->w.name, y->w.name);

	if (c != 0)
		return c;
	return x < y ? -1 : x > y;
}

/*
 * names_check reports every watch whose name an earlier watch has, at its
 * name, with the position of the first: sorted, so 10,000 watches cost
 * O(n log n) compares, not 50 million.
 */
static void
names_check(struct loader *ld, const struct watch_src *srcs, size_t nsrcs)
{
	const struct watch_src **v;
	size_t i, first = 0, n = 0;

	v = calloc(nsrcs > 0 ? nsrcs : 1, sizeof(*v));
	if (v == NULL) {
		ld->oom = true;
		return;
	}
	for (i = 0; i < nsrcs; i++)
		if (srcs[i].set[WK_NAME])
			v[n++] = &srcs[i];
	qsort(v, n, sizeof(*v), src_name_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(v[i]->w.name, v[first]->w.name) != 0) {
			first = i; /* v[first]: the earliest of equal names */
			continue;
		}
		errorf(ld, v[i]->mark[WK_NAME],
		    "duplicate watch name '%s' (first at %s:%u:%u)",
		    v[i]->w.name, ld->path,
		    (unsigned)v[first]->mark[WK_NAME].line + 1,
		    (unsigned)v[first]->mark[WK_NAME].column + 1);
	}
	free(v);
}

static void
config_build(struct loader *ld, struct config *cfg)
{
	yaml_node_t *vals[TK_COUNT], *root, *n, *item;
	yaml_mark_t keymarks[TK_COUNT], token_mark, start = { 0, 0, 0 };
	struct watch_src builtin, defs, *srcs = NULL;
	struct kw_err err = { 0 };
	yaml_node_item_t *it;
	char *token_file = NULL;
	size_t i, nsrcs = 0;

	memset(&builtin, 0, sizeof(builtin));
	memset(&defs, 0, sizeof(defs));
	root = yaml_document_get_root_node(&ld->doc);
	if (root == NULL || node_is_null(root)) {
		errorf(ld, start, "no watches defined: add a 'watches:' list");
		return;
	}
	if (root->type != YAML_MAPPING_NODE) {
		errorf(ld, root->start_mark,
		    "the top level must be a mapping of settings (state_dir:, "
		    "kakao:, defaults:, watches:, ...), not %s",
		    node_kind(root));
		return;
	}
	map_collect(ld, root, "at the top level", top_keys, TK_COUNT, vals,
	    keymarks);
	for (i = 0; i < TK_COUNT; i++)
		if (vals[i] != NULL && top_keys[i].parse != NULL)
			key_parse(ld, &top_keys[i], vals[i], NULL, cfg);

	/* state_dir, then kakao (token_file is relative to state_dir) */
	state_dir_resolve(ld, cfg, vals[TK_STATE_DIR]);
	token_file = strdup(kakao_keys[KK_TOKEN_FILE].info.def);
	if (token_file == NULL) {
		ld->oom = true;
		return;
	}
	token_mark = start;
	if (vals[TK_KAKAO] != NULL)
		kakao_parse(ld, vals[TK_KAKAO], &cfg->kakao, &token_file,
		    &token_mark);
	if (cfg->state_dir != NULL) {
		cfg->kakao.token_file =
		    path_resolve(token_file, cfg->state_dir, &err);
		if (cfg->kakao.token_file == NULL)
			key_errorf(ld, token_mark, "kakao", "token_file", "%s",
			    err.msg);
	}
	free(token_file);

	/* from here on every path releases builtin and defs at out: */
	snprintf(builtin.label, sizeof(builtin.label), "built-in defaults");
	keys_defaults(ld, watch_keys, WK_COUNT, builtin.label, &builtin.w,
	    builtin.set);
	n = vals[TK_DEFAULTS];
	if (n != NULL && !node_is_null(n)) {
		if (n->type != YAML_MAPPING_NODE)
			key_errorf(ld, n->start_mark, NULL, "defaults",
			    "expected a mapping of watch settings "
			    "(interval:, timeout:, ...), not %s",
			    node_kind(n));
		else
			watch_src_parse(ld, n, 0, &defs);
	}

	n = vals[TK_WATCHES];
	if (n == NULL) {
		errorf(ld, root->start_mark,
		    "no watches defined: add a 'watches:' list");
		goto out;
	}
	if (node_is_null(n) ||
	    (n->type == YAML_SEQUENCE_NODE && seq_len(n) == 0)) {
		key_errorf(ld, n->start_mark, NULL, "watches",
		    "no watches defined: the list is empty");
		goto out;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		key_errorf(ld, n->start_mark, NULL, "watches",
		    "expected a list of watches (- name: ...), not %s",
		    node_kind(n));
		goto out;
	}
	srcs = calloc(seq_len(n), sizeof(*srcs));
	cfg->watches = calloc(seq_len(n), sizeof(*cfg->watches));
	if (srcs == NULL || cfg->watches == NULL) {
		ld->oom = true;
		goto out;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		item = node_get(ld, *it);
		if (item == NULL)
			continue;
		i = (size_t)(it - n->data.sequence.items.start);
		if (item->type != YAML_MAPPING_NODE) {
			errorf(ld, item->start_mark,
			    "watch #%zu: expected a mapping (name:, url:, "
			    "xpath:, ...), not %s",
			    i + 1, node_kind(item));
			continue;
		}
		watch_src_parse(ld, item, i + 1, &srcs[nsrcs]);
		/* errors are recorded; the watch is kept for config_free */
		watch_build(ld, &builtin, &defs, &srcs[nsrcs],
		    &cfg->watches[nsrcs]);
		nsrcs++;
		cfg->nwatches = nsrcs;
	}
	names_check(ld, srcs, nsrcs);
out:
	for (i = 0; i < nsrcs; i++)
		config_watch_release(&srcs[i].w);
	free(srcs);
	config_watch_release(&defs.w);
	config_watch_release(&builtin.w);
}

/* --- reading and parsing ----------------------------------------------- */

static int
file_read(struct loader *ld)
{
	char msg[MSG_MAX];
	FILE *f;
	struct buf b;
	char chunk[8192];
	size_t n;

	f = fopen(ld->path, "rb");
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
		errors_push(ld, 0, 0, msg);
		return -1;
	}
	buf_init(&b, CONFIG_FILE_MAX_BYTES);
	for (;;) {
		n = fread(chunk, 1, sizeof(chunk), f);
		if (n > 0 && buf_append(&b, chunk, n) != 0) {
			snprintf(msg, sizeof(msg),
			    "larger than %d bytes: not a config file",
			    CONFIG_FILE_MAX_BYTES);
			goto fail;
		}
		if (n < sizeof(chunk)) {
			if (ferror(f)) {
				snprintf(msg, sizeof(msg), "cannot read: %s",
				    strerror(errno));
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	ld->text = buf_detach(&b, &ld->textlen);
	if (ld->text == NULL) {
		ld->oom = true;
		return -1;
	}
	return 0;
fail:
	fclose(f);
	buf_release(&b);
	errors_push(ld, 0, 0, msg);
	return -1;
}

/* a libyaml failure as an error at its problem mark */
static void
yaml_failure(struct loader *ld, const yaml_parser_t *p)
{
	yaml_mark_t mark = p->problem_mark;
	size_t i;

	if (p->error == YAML_MEMORY_ERROR) {
		ld->oom = true;
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		/* a byte offset only: count lines and characters up to it */
		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < p->problem_offset && i < ld->textlen; i++) {
			if (ld->text[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if (((unsigned char)ld->text[i] & 0xC0) !=
				   0x80) {
				mark.column++;
			}
		}
		errorf(ld, mark, "not a valid YAML text: %s",
		    p->problem ? p->problem : "bad input");
		return;
	}
	if (p->context != NULL)
		errorf(ld, mark, "YAML syntax error: %s (%s at %u:%u)",
		    p->problem ? p->problem : "unknown problem", p->context,
		    (unsigned)p->context_mark.line + 1,
		    (unsigned)p->context_mark.column + 1);
	else
		errorf(ld, mark, "YAML syntax error: %s",
		    p->problem ? p->problem : "unknown problem");
}

static int
yaml_read(struct loader *ld)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int result = -1;

	if (!yaml_parser_initialize(&parser)) {
		ld->oom = true;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)ld->text,
	    ld->textlen);
	if (!yaml_parser_load(&parser, &ld->doc)) {
		yaml_failure(ld, &parser);
		goto out;
	}
	ld->have_doc = true;
	/* a second document is a mistake (a stray "---") */
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_failure(ld, &parser);
		goto out;
	}
	/* reported, but the first document is still checked */
	root = yaml_document_get_root_node(&extra);
	if (root != NULL)
		errorf(ld, root->start_mark,
		    "a second YAML document: the config is one document "
		    "(remove the '---' line)");
	yaml_document_delete(&extra);
	result = 0;
out:
	yaml_parser_delete(&parser);
	return result;
}

/* --- public ------------------------------------------------------------ */

int
config_load(const char *path, config_xpath_check_fn xpath_check,
    struct config **out, struct config_errors *errs)
{
	struct loader ld;
	struct config *cfg;
	char **v;
	size_t i;
	int result = -1;

	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.xpath_check = xpath_check;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		ld.oom = true;
		goto out;
	}
	cfg->path = strdup(path);
	if (cfg->path == NULL) {
		ld.oom = true;
		goto out;
	}
	config_defaults(&ld, cfg);
	if (ld.nerrs > 0 || ld.oom)
		goto out;
	if (file_read(&ld) != 0 || yaml_read(&ld) != 0)
		goto out;
	config_build(&ld, cfg);
	if (ld.nerrs == 0 && !ld.oom) {
		*out = cfg;
		cfg = NULL;
		result = 0;
	}
out:
	if (ld.oom)
		errors_push(&ld, 0, 0, "out of memory");
	if (ld.nerrs > 1)
		qsort(ld.errs, ld.nerrs, sizeof(*ld.errs), error_cmp);
	for (i = 0; i < ld.nerrs; i++) {
		if (errs == NULL) {
			free(ld.errs[i].text);
			continue;
		}
		v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
		if (v == NULL) {
			free(ld.errs[i].text);
			continue;
		}
		errs->v = v;
		errs->v[errs->n++] = ld.errs[i].text;
	}
	free(ld.errs);
	for (i = 0; i < ld.nxpath_ok; i++)
		free(ld.xpath_ok[i]);
	if (ld.have_doc)
		yaml_document_delete(&ld.doc);
	free(ld.text);
	config_free(cfg);
	return result;
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	keys_release(top_keys, TK_COUNT, cfg);
	keys_release(kakao_keys, KK_COUNT, &cfg->kakao);
	for (i = 0; i < cfg->nwatches; i++)
		config_watch_release(&cfg->watches[i]);
	free(cfg->watches);
	free(cfg);
}

void
config_errors_release(struct config_errors *errs)
{
	strv_free(errs->v, errs->n);
	errs->v = NULL;
	errs->n = 0;
}

const char *
config_quiet_hours(const struct config *cfg, const struct watch_config *wc)
{
	if (wc != NULL && wc->quiet_hours != NULL)
		return wc->quiet_hours;
	return cfg->quiet_hours != NULL ? cfg->quiet_hours : QUIET_OFF;
}

const char *
config_watch_message(const struct watch_config *w, const char *part)
{
	size_t i;

	for (i = 0; w != NULL && i + 1 < w->nmessage; i += 2)
		if (strcmp(w->message[i], part) == 0)
			return w->message[i + 1];
	return NULL;
}

const struct watch_config *
config_find_watch(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nwatches; i++)
		if (strcmp(cfg->watches[i].name, name) == 0)
			return &cfg->watches[i];
	return NULL;
}

/* --- the key tables, public -------------------------------------------- */

static const struct key *
section_keys(enum config_section section, size_t *n)
{
	switch (section) {
	case CONFIG_SECTION_TOP:
		*n = TK_COUNT;
		return top_keys;
	case CONFIG_SECTION_KAKAO:
		*n = KK_COUNT;
		return kakao_keys;
	case CONFIG_SECTION_WATCH:
		*n = WK_COUNT;
		return watch_keys;
	}
	*n = 0;
	return NULL;
}

const struct config_key_info *
config_key(enum config_section section, size_t i)
{
	const struct key *table;
	size_t n;

	table = section_keys(section, &n);
	return i < n ? &table[i].info : NULL;
}

bool
config_watch_key_equal(const struct watch_config *a,
    const struct watch_config *b, size_t i)
{
	return i >= WK_COUNT || key_equal(&watch_keys[i], a, b);
}

bool
config_watch_equal(const struct watch_config *a, const struct watch_config *b)
{
	size_t i;

	for (i = 0; i < WK_COUNT; i++)
		if (!key_equal(&watch_keys[i], a, b))
			return false;
	return true;
}

int
config_watch_copy(struct watch_config *dst, const struct watch_config *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < WK_COUNT; i++) {
		if (key_copy(&watch_keys[i], dst, src) != 0) {
			config_watch_release(dst);
			return -1;
		}
	}
	dst->pos = src->pos;
	dst->xpath_pos = src->xpath_pos;
	if (src->when_cond != NULL && when_cond_compile(dst) != 0) {
		config_watch_release(dst);
		return -1;
	}
	return 0;
}

void
config_watch_release(struct watch_config *w)
{
	when_cond_free(w);
	keys_release(watch_keys, WK_COUNT, w);
	memset(w, 0, sizeof(*w));
}
