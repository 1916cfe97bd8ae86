/*
 * cond.c: `when:` condition expressions (see cond.h for the grammar and
 * the number formats). A recursive-descent parser builds a small tree;
 * evaluation walks it with the caller's field lookup.
 */
#include "kakaowatch/cond.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/regex.h"

enum op { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_MATCH, OP_NOMATCH };

enum kind { N_OR, N_AND, N_NOT, N_CMP };

struct node {
	enum kind kind;
	struct node *a, *b; /* operands of or/and; a for not */
	enum op op;
	char *field;
	size_t field_at; /* code point offset of the field name */
	bool is_num;     /* value is a number (else a string) */
	double num;
	char *str;
	struct regex *re; /* for ~ and !~ */
};

struct cond {
	struct node *root;
	unsigned flags;
};

static const char *op_names[] = { "<", "<=", ">", ">=", "==", "!=", "~", "!~" };

/* ---- numbers ---- */

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * one decimal number at *pp: digits, `,` + exactly three digits, optional
 * `.` + digits. Mantissa and fraction digit count out; false on bad syntax
 * or more than 18 significant digits.
 */
static bool
read_decimal(const char **pp, int64_t *mant, int *frac)
{
	const char *p = *pp;
	int digits = 0;

	*mant = 0;
	*frac = 0;
	if (!is_digit(*p))
		return false;
	for (;;) {
		if (is_digit(*p)) {
			if (*mant != 0 || *p != '0')
				digits++;
			if (digits > 18)
				return false;
			*mant = *mant * 10 + (*p - '0');
			p++;
		} else if (*p == ',' && is_digit(p[1]) && is_digit(p[2]) &&
			   is_digit(p[3]) && !is_digit(p[4])) {
			p++;
		} else {
			break;
		}
	}
	if (*p == '.' && is_digit(p[1])) {
		p++;
		while (is_digit(*p)) {
			if (*mant != 0 || *p != '0')
				digits++;
			if (digits > 18)
				return false;
			*mant = *mant * 10 + (*p - '0');
			(*frac)++;
			p++;
		}
	}
	*pp = p;
	return true;
}

int
cond_parse_number(const char *s, unsigned flags, double *out)
{
	const char *p = skip_ws(s);
	double value = 0, prev_unit = 1e300;
	bool neg = false;

	if (starts(p, "₩") || starts(p, "￦"))
		p = skip_ws(p + 3);
	else if (*p == '\\')
		p = skip_ws(p + 1);
	if ((flags & COND_FREE_IS_ZERO) && starts(p, "무료") &&
	    *skip_ws(p + strlen("무료")) == '\0') {
		*out = 0;
		return 0;
	}
	if (*p == '-') {
		neg = true;
		p++;
	}
	for (;;) {
		int64_t mant;
		int frac;
		double unit = 1, div = 1;

		if (!read_decimal(&p, &mant, &frac))
			return -1;
		if (starts(p, "억"))
			unit = 1e8;
		else if (starts(p, "만"))
			unit = 1e4;
		else if (starts(p, "천"))
			unit = 1e3;
		if (unit >= prev_unit)
			return -1;
		if (unit > 1)
			p += 3;
		for (int i = 0; i < frac; i++)
			div *= 10;
		value += (double)mant * unit / div;
		prev_unit = unit;
		if (unit == 1)
			break;
		if (!is_digit(*skip_ws(p)))
			break;
		p = skip_ws(p);
	}
	p = skip_ws(p);
	if (starts(p, "원"))
		p += 3;
	/* "￦ 2,046,670 (KRW)" (quasarzone), "12,900 KRW" */
	p = skip_ws(p);
	if (starts(p, "KRW"))
		p += 3;
	else if (starts(p, "(KRW)"))
		p += 5;
	if (*skip_ws(p) != '\0')
		return -1;
	*out = neg ? -value : value;
	return 0;
}

/* ---- lexer ---- */

enum tok { T_EOF, T_LP, T_RP, T_IDENT, T_AND, T_OR, T_NOT, T_OP, T_NUM, T_STR };

struct parser {
	const char *s;
	size_t pos; /* byte offset of the next unread character */
	unsigned flags;
	int depth;
	/* current token */
	enum tok tok;
	size_t start, end; /* bytes */
	enum op op;
	double num;
	char *str; /* T_STR (owned until taken), T_IDENT */
	size_t *where;
	struct kw_err *err;
	bool failed;
};

static size_t
code_points(const char *s, size_t bytes)
{
	size_t n = 0;

	for (size_t i = 0; i < bytes && s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

__attribute__((format(printf, 3, 4))) static void
fail_at(struct parser *ps, size_t byte, const char *fmt, ...)
{
	va_list ap;
	char msg[KW_ERR_MAX];

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kw_err_set(ps->err, "%s", msg);
	if (ps->where != NULL)
		*ps->where = code_points(ps->s, byte);
}

static bool
is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_ident(char c)
{
	return is_ident_start(c) || is_digit(c) || c == '.';
}

/* bytes that may continue a number literal: digits , . and 억만천원 */
static size_t
number_byte_len(const char *p)
{
	if (is_digit(*p) || *p == ',' || *p == '.')
		return 1;
	if (starts(p, "억") || starts(p, "만") || starts(p, "천") ||
	    starts(p, "원"))
		return 3;
	return 0;
}

static void
next(struct parser *ps)
{
	const char *s = ps->s;
	size_t i;

	free(ps->str);
	ps->str = NULL;
	if (ps->failed) {
		ps->tok = T_EOF;
		return;
	}
	i = (size_t)(skip_ws(s + ps->pos) - s);
	ps->start = i;
	if (s[i] == '\0') {
		ps->tok = T_EOF;
		ps->end = i;
		return;
	}
	if (s[i] == '(' || s[i] == ')') {
		ps->tok = s[i] == '(' ? T_LP : T_RP;
		ps->pos = ps->end = i + 1;
		return;
	}
	if (strchr("<>=!~", s[i]) != NULL) {
		size_t n = 1;

		if (s[i] == '<')
			ps->op = s[i + 1] == '=' ? (n = 2, OP_LE) : OP_LT;
		else if (s[i] == '>')
			ps->op = s[i + 1] == '=' ? (n = 2, OP_GE) : OP_GT;
		else if (s[i] == '~')
			ps->op = OP_MATCH;
		else if (s[i] == '=' && s[i + 1] == '=')
			ps->op = (n = 2, OP_EQ);
		else if (s[i] == '!' && s[i + 1] == '=')
			ps->op = (n = 2, OP_NE);
		else if (s[i] == '!' && s[i + 1] == '~')
			ps->op = (n = 2, OP_NOMATCH);
		else {
			fail_at(ps, i,
			    "unknown operator '%c' (use ==, !=, "
			    "<, <=, >, >=, ~ or !~)",
			    s[i]);
			ps->tok = T_EOF;
			return;
		}
		ps->tok = T_OP;
		ps->pos = ps->end = i + n;
		return;
	}
	if (s[i] == '"') {
		size_t j = i + 1, k = 0;
		char *out = malloc(strlen(s + j) + 1);

		if (out == NULL) {
			fail_at(ps, i, "out of memory");
			ps->tok = T_EOF;
			return;
		}
		while (s[j] != '"') {
			if (s[j] == '\0') {
				free(out);
				fail_at(ps, i, "unterminated string");
				ps->tok = T_EOF;
				return;
			}
			if (s[j] == '\\' &&
			    (s[j + 1] == '"' || s[j + 1] == '\\'))
				j++;
			out[k++] = s[j++];
		}
		out[k] = '\0';
		ps->str = out;
		ps->tok = T_STR;
		ps->pos = ps->end = j + 1;
		return;
	}
	if (is_digit(s[i]) || (s[i] == '-' && is_digit(s[i + 1])) ||
	    starts(s + i, "₩") || starts(s + i, "￦")) {
		size_t j = i, n;
		char lit[128];

		if (s[j] == '-')
			j++;
		else if (!is_digit(s[j]))
			j += 3;
		while ((n = number_byte_len(s + j)) > 0)
			j += n;
		if (j - i >= sizeof(lit) ||
		    (memcpy(lit, s + i, j - i), lit[j - i] = '\0',
			cond_parse_number(lit, 0, &ps->num) != 0)) {
			fail_at(ps, i, "bad number '%.*s'",
			    (int)(j - i > 40 ? 40 : j - i), s + i);
			ps->tok = T_EOF;
			return;
		}
		ps->tok = T_NUM;
		ps->pos = ps->end = j;
		return;
	}
	if (is_ident_start(s[i])) {
		size_t j = i;

		while (is_ident(s[j]))
			j++;
		ps->pos = ps->end = j;
		if (j - i == 3 && strncmp(s + i, "and", 3) == 0)
			ps->tok = T_AND;
		else if (j - i == 2 && strncmp(s + i, "or", 2) == 0)
			ps->tok = T_OR;
		else if (j - i == 3 && strncmp(s + i, "not", 3) == 0)
			ps->tok = T_NOT;
		else {
			ps->str = strndup(s + i, j - i);
			if (ps->str == NULL) {
				fail_at(ps, i, "out of memory");
				ps->tok = T_EOF;
				return;
			}
			ps->tok = T_IDENT;
		}
		return;
	}
	fail_at(ps, i, "unexpected character '%.*s'",
	    (int)(((unsigned char)s[i] >= 0xC0) ?
		      ((unsigned char)s[i] >= 0xF0    ? 4 :
			  (unsigned char)s[i] >= 0xE0 ? 3 :
							2) :
		      1),
	    s + i);
	ps->tok = T_EOF;
}

/* ---- tree ---- */

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->field);
	free(n->str);
	regex_free(n->re);
	free(n);
}

static struct node *
node_new(struct parser *ps, enum kind kind)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		fail_at(ps, ps->start, "out of memory");
	else
		n->kind = kind;
	return n;
}

static const char *
tok_desc(const struct parser *ps)
{
	switch (ps->tok) {
	case T_EOF:
		return "the end";
	case T_LP:
		return "'('";
	case T_RP:
		return "')'";
	case T_AND:
		return "'and'";
	case T_OR:
		return "'or'";
	case T_NOT:
		return "'not'";
	case T_OP:
		return "an operator";
	case T_NUM:
		return "a number";
	case T_STR:
		return "a string";
	case T_IDENT:
		return "a field name";
	}
	return "?";
}

/*
 * byte offset in the source of byte `off` of the unescaped string literal
 * starting (at its quote) at `quote`
 */
static size_t
literal_source_byte(const char *s, size_t quote, size_t off)
{
	size_t j = quote + 1;

	for (size_t k = 0; k < off && s[j] != '"' && s[j] != '\0'; k++) {
		if (s[j] == '\\' && (s[j + 1] == '"' || s[j + 1] == '\\'))
			j++;
		j++;
	}
	return j;
}

static struct node *parse_or(struct parser *ps);

static struct node *
parse_cmp(struct parser *ps)
{
	struct node *n;

	if (ps->tok != T_IDENT) {
		fail_at(ps, ps->start,
		    "expected a field name, '(' or 'not', "
		    "found %s",
		    tok_desc(ps));
		return NULL;
	}
	if ((n = node_new(ps, N_CMP)) == NULL)
		return NULL;
	n->field = ps->str;
	n->field_at = code_points(ps->s, ps->start);
	ps->str = NULL;
	next(ps);
	if (ps->tok != T_OP) {
		fail_at(ps, ps->start,
		    "expected an operator after '%s' (==, "
		    "!=, <, <=, >, >=, ~ or !~), found %s",
		    n->field, tok_desc(ps));
		node_free(n);
		return NULL;
	}
	n->op = ps->op;
	next(ps);
	if (n->op == OP_MATCH || n->op == OP_NOMATCH) {
		struct regex_error where = { 0 };
		struct kw_err rerr = { 0 };

		if (ps->tok != T_STR) {
			fail_at(ps, ps->start,
			    "'%s' needs a quoted regular "
			    "expression, found %s",
			    op_names[n->op], tok_desc(ps));
			node_free(n);
			return NULL;
		}
		n->re = regex_compile(ps->str, 0, &where, &rerr);
		if (n->re == NULL) {
			fail_at(ps,
			    literal_source_byte(ps->s, ps->start, where.offset),
			    "bad regular expression: %s", rerr.msg);
			node_free(n);
			return NULL;
		}
	} else if (ps->tok == T_NUM) {
		n->is_num = true;
		n->num = ps->num;
	} else if (ps->tok == T_STR && (n->op == OP_EQ || n->op == OP_NE)) {
		n->str = ps->str;
		ps->str = NULL;
	} else {
		fail_at(ps, ps->start, "'%s' needs a number%s, found %s",
		    op_names[n->op],
		    (n->op == OP_EQ || n->op == OP_NE) ? " or a string" : "",
		    tok_desc(ps));
		node_free(n);
		return NULL;
	}
	next(ps);
	return n;
}

static struct node *
parse_unary(struct parser *ps)
{
	struct node *n, *inner;
	size_t at = ps->start;

	if (ps->tok != T_NOT && ps->tok != T_LP)
		return parse_cmp(ps);
	if (++ps->depth > COND_DEPTH_MAX) {
		fail_at(ps, at, "nested more than %d levels deep",
		    COND_DEPTH_MAX);
		return NULL;
	}
	if (ps->tok == T_NOT) {
		next(ps);
		if ((inner = parse_unary(ps)) == NULL)
			return NULL;
		if ((n = node_new(ps, N_NOT)) == NULL) {
			node_free(inner);
			return NULL;
		}
		n->a = inner;
	} else {
		next(ps);
		if ((n = parse_or(ps)) == NULL)
			return NULL;
		if (ps->tok != T_RP) {
			fail_at(ps, ps->tok == T_EOF ? at : ps->start,
			    ps->tok == T_EOF ? "'(' is never closed" :
					       "expected ')', found %s",
			    tok_desc(ps));
			node_free(n);
			return NULL;
		}
		next(ps);
	}
	ps->depth--;
	return n;
}

static struct node *
parse_binary(struct parser *ps, enum tok t, enum kind kind,
    struct node *(*sub)(struct parser *))
{
	struct node *left = sub(ps), *right, *n;

	while (left != NULL && ps->tok == t) {
		next(ps);
		if ((right = sub(ps)) == NULL) {
			node_free(left);
			return NULL;
		}
		if ((n = node_new(ps, kind)) == NULL) {
			node_free(left);
			node_free(right);
			return NULL;
		}
		n->a = left;
		n->b = right;
		left = n;
	}
	return left;
}

static struct node *
parse_and(struct parser *ps)
{
	return parse_binary(ps, T_AND, N_AND, parse_unary);
}

static struct node *
parse_or(struct parser *ps)
{
	return parse_binary(ps, T_OR, N_OR, parse_and);
}

struct cond *
cond_parse(const char *expr, unsigned flags, size_t *where, struct kw_err *err)
{
	struct parser ps = { .s = expr,
		.flags = flags,
		.where = where,
		.err = err };
	struct node *root;
	struct cond *c;

	if (strlen(expr) > COND_EXPR_MAX) {
		kw_err_set(err, "condition longer than %d bytes",
		    COND_EXPR_MAX);
		if (where != NULL)
			*where = 0;
		return NULL;
	}
	next(&ps);
	if (ps.tok == T_EOF && !ps.failed) {
		fail_at(&ps, ps.start, "empty condition");
		return NULL;
	}
	root = parse_or(&ps);
	if (root != NULL && ps.failed) {
		/* the lexer refused the token after the last comparison */
		node_free(root);
		root = NULL;
	} else if (root != NULL && ps.tok != T_EOF) {
		fail_at(&ps, ps.start,
		    "expected 'and', 'or' or the end, "
		    "found %s",
		    tok_desc(&ps));
		node_free(root);
		root = NULL;
	}
	free(ps.str);
	if (root == NULL) {
		if (!ps.failed)
			fail_at(&ps, ps.start, "bad condition");
		return NULL;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		node_free(root);
		kw_err_set(err, "out of memory");
		if (where != NULL)
			*where = 0;
		return NULL;
	}
	c->root = root;
	c->flags = flags;
	return c;
}

void
cond_free(struct cond *c)
{
	if (c == NULL)
		return;
	node_free(c->root);
	free(c);
}

/* ---- evaluation ---- */

struct evalctx {
	cond_lookup_fn lookup;
	void *ctx;
	unsigned flags;
	char *reason;
	struct kw_err *err;
};

__attribute__((format(printf, 2, 3))) static void
because(struct evalctx *ev, const char *fmt, ...)
{
	va_list ap;

	if (ev->reason == NULL || ev->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ev->reason, COND_REASON_MAX, fmt, ap);
	va_end(ap);
}

/* 1 true, 0 false, -1 error */
static int
eval_cmp(struct evalctx *ev, struct node *n)
{
	const char *v = ev->lookup(ev->ctx, n->field);
	double x;
	int r;

	if (v == NULL) {
		because(ev, "field '%s' is missing", n->field);
		return 0;
	}
	if (n->re != NULL) {
		r = regex_match(n->re, v, strlen(v), 0, NULL, ev->err);
		if (r < 0)
			return -1;
		return n->op == OP_MATCH ? r : !r;
	}
	if (!n->is_num) {
		r = strcmp(v, n->str) == 0;
		return n->op == OP_EQ ? r : !r;
	}
	if (cond_parse_number(v, ev->flags, &x) != 0) {
		because(ev, "%s '%.80s' is not a number", n->field, v);
		return 0;
	}
	switch (n->op) {
	case OP_LT:
		return x < n->num;
	case OP_LE:
		return x <= n->num;
	case OP_GT:
		return x > n->num;
	case OP_GE:
		return x >= n->num;
	case OP_EQ:
		return x == n->num;
	case OP_NE:
		return x != n->num;
	default:
		return 0;
	}
}

static int
eval_node(struct evalctx *ev, struct node *n)
{
	int r;

	switch (n->kind) {
	case N_CMP:
		return eval_cmp(ev, n);
	case N_NOT:
		r = eval_node(ev, n->a);
		return r < 0 ? r : !r;
	case N_AND:
		r = eval_node(ev, n->a);
		return r <= 0 ? r : eval_node(ev, n->b);
	case N_OR:
		r = eval_node(ev, n->a);
		return r != 0 ? r : eval_node(ev, n->b);
	}
	return 0;
}

int
cond_eval(struct cond *c, cond_lookup_fn lookup, void *ctx, bool *result,
    char *reason, struct kw_err *err)
{
	struct evalctx ev = { lookup, ctx, c->flags, reason, err };
	int r;

	if (reason != NULL)
		reason[0] = '\0';
	r = eval_node(&ev, c->root);
	*result = r == 1;
	return r < 0 ? -1 : 0;
}

/* the first comparison, in source order, whose field `known` rejects */
static const struct node *
first_unknown(const struct node *n, cond_known_fn known, void *ctx)
{
	const struct node *a;

	if (n == NULL)
		return NULL;
	if (n->kind == N_CMP)
		return known(ctx, n->field) ? NULL : n;
	if ((a = first_unknown(n->a, known, ctx)) != NULL)
		return a;
	return first_unknown(n->b, known, ctx);
}

int
cond_check_fields(const struct cond *c, cond_known_fn known, void *ctx,
    size_t *where, struct kw_err *err)
{
	const struct node *n = first_unknown(c->root, known, ctx);

	if (n == NULL)
		return 0;
	if (where != NULL)
		*where = n->field_at;
	return kw_err_set(err, "unknown field '%s'", n->field);
}
