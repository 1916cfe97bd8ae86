/* select: CSS selectors -> XPath 1.0 (see select.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/select.h"
#include "kakaowatch/utf8.h"

#define MAX_NUMBER 1000000000L

struct parser {
	const char *s;
	size_t len;
	size_t i;    /* byte offset of the next character */
	size_t fail; /* byte offset of the error */
	int depth;   /* nesting of :not/:is/:has */
	bool failed; /* the first error is kept */
	struct kw_err *err;
};

/* one compound selector, translated */
struct compound {
	char *name;      /* element name, lower-case, or NULL for any */
	struct buf cond; /* conditions joined with " and " */
	struct buf tail; /* a pseudo-element: "/text()", "/@x" */
};

enum list_kind {
	LIST_TOP,      /* the selector itself: complex selectors */
	LIST_COMPOUND, /* :not(), :is(), of S: compound selectors */
	LIST_RELATIVE  /* :has(): relative complex selectors */
};

static int parse_list(struct parser *p, enum list_kind kind,
    const char *outer_name, struct buf *out);

static int
fail_at(struct parser *p, size_t at, const char *fmt, const char *arg)
{
	char msg[320];

	if (p->failed)
		return -1;
	p->failed = true;
	snprintf(msg, sizeof(msg), fmt, arg != NULL ? arg : "");
	p->fail = at;
	return kw_err_set(p->err, "%s", msg);
}

static int
oom(struct parser *p)
{
	return fail_at(p, p->i, "out of memory", NULL);
}

static int
peek(const struct parser *p, size_t ahead)
{
	return p->i + ahead < p->len ? (unsigned char)p->s[p->i + ahead] : -1;
}

static bool
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static bool
is_name_char(int c)
{
	return is_name_start(c) || is_digit(c) || c == '-';
}

/* does a valid escape start at offset `ahead`? (CSS Syntax §4.3.8) */
static bool
escape_at(const struct parser *p, size_t ahead)
{
	int c = peek(p, ahead + 1);

	return peek(p, ahead) == '\\' && c != -1 && c != '\n' && c != '\r' &&
	       c != '\f';
}

/* does an identifier start here? (CSS Syntax §4.3.9) */
static bool
ident_start(const struct parser *p)
{
	int c = peek(p, 0);

	if (c == '-') {
		c = peek(p, 1);
		return is_name_start(c) || c == '-' || escape_at(p, 1);
	}
	return is_name_start(c) || escape_at(p, 0);
}

static int
skip_ws(struct parser *p)
{
	size_t start = p->i;

	while (is_ws(peek(p, 0)))
		p->i++;
	return p->i > start;
}

/* the length of the UTF-8 sequence at s (valid input: checked up front) */
static size_t
char_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xE0)
		return 2;
	if (c < 0xF0)
		return 3;
	return 4;
}

/* quote the character at p->i for a message */
static const char *
show_char(const struct parser *p, char *tmp, size_t size)
{
	size_t n;

	if (p->i >= p->len)
		return "end of selector";
	n = char_len((unsigned char)p->s[p->i]);
	if ((unsigned char)p->s[p->i] < 0x20) {
		snprintf(tmp, size, "control character 0x%02x",
		    (unsigned char)p->s[p->i]);
		return tmp;
	}
	snprintf(tmp, size, "'%.*s'", (int)n, p->s + p->i);
	return tmp;
}

static int
unexpected(struct parser *p, const char *what)
{
	char tmp[32], msg[160];

	snprintf(msg, sizeof(msg), "unexpected %s%s%s",
	    show_char(p, tmp, sizeof(tmp)), what ? ", expected " : "",
	    what ? what : "");
	return fail_at(p, p->i, "%s", msg);
}

static int
put_utf8(struct buf *b, uint32_t cp)
{
	char u[UTF8_MAX_BYTES];

	return buf_append(b, u, utf8_encode(cp, u));
}

/* consume an escape (p->i at the backslash) into out */
static int
parse_escape(struct parser *p, struct buf *out)
{
	uint32_t cp = 0;
	int n = 0, c;
	size_t len;

	p->i++; /* the backslash */
	while (n < 6 && is_hex(peek(p, 0))) {
		c = peek(p, 0);
		cp = cp * 16 +
		     (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
		p->i++;
		n++;
	}
	if (n > 0) {
		if (peek(p, 0) == '\r' && peek(p, 1) == '\n')
			p->i += 2;
		else if (is_ws(peek(p, 0)))
			p->i++;
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			cp = 0xFFFD;
		return put_utf8(out, cp) != 0 ? oom(p) : 0;
	}
	len = char_len((unsigned char)p->s[p->i]);
	if (buf_append(out, p->s + p->i, len) != 0)
		return oom(p);
	p->i += len;
	return 0;
}

/* an identifier (or, with `name`, a run of name characters) into out */
static int
parse_ident(struct parser *p, struct buf *out, bool name, const char *what)
{
	size_t start = p->i, len;
	int c;

	if (!(name ? (is_name_char(peek(p, 0)) || escape_at(p, 0)) :
		     ident_start(p)))
		return unexpected(p, what);
	for (;;) {
		c = peek(p, 0);
		if (escape_at(p, 0)) {
			if (parse_escape(p, out) != 0)
				return -1;
		} else if (is_name_char(c)) {
			len = char_len((unsigned char)c);
			if (buf_append(out, p->s + p->i, len) != 0)
				return oom(p);
			p->i += len;
		} else {
			break;
		}
	}
	return p->i > start ? 0 : unexpected(p, what);
}

/* a quoted string (p->i at the quote) into out */
static int
parse_string(struct parser *p, struct buf *out)
{
	size_t start = p->i;
	int q = peek(p, 0), c;

	p->i++;
	for (;;) {
		c = peek(p, 0);
		if (c == -1) {
			return fail_at(p, start, "unterminated string", NULL);
		} else if (c == q) {
			p->i++;
			break;
		} else if (c == '\n' || c == '\r' || c == '\f') {
			return fail_at(p, p->i,
			    "line break inside a string (escape it as \\a)",
			    NULL);
		} else if (c == '\\') {
			c = peek(p, 1);
			if (c == -1) {
				p->i++;
			} else if (c == '\n' || c == '\f') {
				p->i += 2;
			} else if (c == '\r') {
				p->i += peek(p, 2) == '\n' ? 3 : 2;
			} else if (parse_escape(p, out) != 0) {
				return -1;
			}
		} else {
			if (buf_append(out, p->s + p->i, 1) != 0)
				return oom(p);
			p->i++;
		}
	}
	/* an empty buffer still needs its NUL */
	return buf_append(out, "", 0) != 0 ? oom(p) : 0;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* is `s` a name XPath 1.0 takes as a name test (conservatively ASCII)? */
static bool
xpath_name_ok(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
		s[0] == '_'))
		return false;
	for (i = 1; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') || is_digit(s[i]) ||
			s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/*
 * put_literal appends `s` as an XPath string literal: '...' or "..." or
 * concat() when it holds both quotes. Characters XML does not allow (the
 * C0 controls but tab, CR and LF; U+FFFE, U+FFFF) become U+FFFD, so that
 * libxml2 always accepts the literal.
 */
static int
put_literal(struct buf *b, const char *s)
{
	struct buf clean;
	const unsigned char *u;
	bool sq = false, dq = false;
	int r = -1;
	const char *q, *start;

	buf_init(&clean, 0);
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if ((*u < 0x20 && *u != '\t' && *u != '\n' && *u != '\r') ||
		    (u[0] == 0xEF && u[1] == 0xBF &&
			(u[2] == 0xBE || u[2] == 0xBF))) {
			if (buf_puts(&clean, "\xEF\xBF\xBD") != 0)
				goto out;
			if (*u >= 0x20)
				u += 2;
			continue;
		}
		if (buf_append(&clean, u, 1) != 0)
			goto out;
		if (*u == '\'')
			sq = true;
		if (*u == '"')
			dq = true;
	}
	s = clean.data != NULL ? clean.data : "";
	if (!sq) {
		r = buf_printf(b, "'%s'", s);
	} else if (!dq) {
		r = buf_printf(b, "\"%s\"", s);
	} else {
		r = buf_puts(b, "concat(");
		start = s;
		while (r == 0 && (q = strchr(start, '\'')) != NULL) {
			if (q > start)
				r = buf_printf(b, "'%.*s', ", (int)(q - start),
				    start);
			if (r == 0)
				r = buf_puts(b, "\"'\", ");
			start = q + 1;
		}
		if (r == 0)
			r = buf_printf(b, "'%s')", start);
	}
out:
	buf_release(&clean);
	return r;
}

/* "name" or "*[name() = 'x']" as a step after an axis */
static int
put_name_step(struct buf *b, const char *name)
{
	if (name == NULL)
		return buf_puts(b, "*");
	if (xpath_name_ok(name))
		return buf_puts(b, name);
	if (buf_puts(b, "*[name() = ") != 0 || put_literal(b, name) != 0)
		return -1;
	return buf_puts(b, "]");
}

static int
cond_and(struct compound *c)
{
	return c->cond.len > 0 ? buf_puts(&c->cond, " and ") : 0;
}

static void
compound_release(struct compound *c)
{
	free(c->name);
	buf_release(&c->cond);
	buf_release(&c->tail);
}

/* the attribute as an XPath expression: @a or @*[name() = 'a'] */
static int
put_attr(struct buf *b, const char *name, bool ci)
{
	if (ci && buf_puts(b, "translate(") != 0)
		return -1;
	if (xpath_name_ok(name)) {
		if (buf_printf(b, "@%s", name) != 0)
			return -1;
	} else if (buf_puts(b, "@*[name() = ") != 0 ||
		   put_literal(b, name) != 0 || buf_puts(b, "]") != 0) {
		return -1;
	}
	if (ci && buf_puts(b, ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
			      "'abcdefghijklmnopqrstuvwxyz')") != 0)
		return -1;
	return 0;
}

static bool
has_ws(const char *s)
{
	for (; *s != '\0'; s++)
		if (is_ws((unsigned char)*s))
			return true;
	return false;
}

static size_t
utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* a token-of-whitespace-list test: ~= and .class */
static int
put_token_test(struct buf *b, const char *attr, const char *v, bool ci)
{
	if (*v == '\0' || has_ws(v))
		return buf_puts(b, "false()");
	if (put_attr(b, attr, false) != 0 ||
	    buf_puts(b, " and contains(concat(' ', normalize-space(") != 0 ||
	    put_attr(b, attr, ci) != 0 || buf_puts(b, "), ' '), ") != 0)
		return -1;
	{
		struct buf t;
		int r;

		buf_init(&t, 0);
		r = buf_printf(&t, " %s ", v);
		if (r == 0)
			r = put_literal(b, t.data);
		buf_release(&t);
		if (r != 0)
			return -1;
	}
	return buf_puts(b, ")");
}

/* [attr op value flags] (p->i after the '[') */
static int
parse_attrib(struct parser *p, struct compound *c)
{
	struct buf name, value;
	struct buf *b = &c->cond;
	char op = 0;
	bool ci = false;
	int r = -1, ch;
	size_t vlen;

	buf_init(&name, 0);
	buf_init(&value, 0);
	skip_ws(p);
	if (peek(p, 0) == '|' || (peek(p, 0) == '*' && peek(p, 1) == '|')) {
		fail_at(p, p->i, "namespace prefixes are not supported", NULL);
		goto out;
	}
	if (parse_ident(p, &name, false, "an attribute name") != 0)
		goto out;
	if (peek(p, 0) == '|' && peek(p, 1) != '=') {
		fail_at(p, p->i, "namespace prefixes are not supported", NULL);
		goto out;
	}
	ascii_lower(name.data);
	skip_ws(p);
	ch = peek(p, 0);
	if (ch == '=') {
		op = '=';
		p->i++;
	} else if ((ch == '~' || ch == '|' || ch == '^' || ch == '$' ||
		       ch == '*') &&
		   peek(p, 1) == '=') {
		op = (char)ch;
		p->i += 2;
	} else if (ch != ']') {
		unexpected(p, "']' or an operator (=, ~=, |=, ^=, $=, *=)");
		goto out;
	}
	if (op != 0) {
		skip_ws(p);
		ch = peek(p, 0);
		if (ch == '"' || ch == '\'') {
			if (parse_string(p, &value) != 0)
				goto out;
		} else if (parse_ident(p, &value, true,
			       "a value (an identifier or a quoted string)") !=
			   0) {
			goto out;
		}
		skip_ws(p);
		ch = peek(p, 0);
		if ((ch == 'i' || ch == 'I' || ch == 's' || ch == 'S') &&
		    !is_name_char(peek(p, 1)) && !escape_at(p, 1)) {
			ci = ch == 'i' || ch == 'I';
			p->i++;
			skip_ws(p);
		}
	}
	if (peek(p, 0) != ']') {
		unexpected(p, "']'");
		goto out;
	}
	p->i++;
	if (ci)
		ascii_lower(value.data);
	if (cond_and(c) != 0)
		goto nomem;
	vlen = value.data ? utf8_count(value.data) : 0;
	switch (op) {
	case 0:
		r = put_attr(b, name.data, false);
		break;
	case '=':
		r = put_attr(b, name.data, ci);
		if (r == 0)
			r = buf_puts(b, " = ");
		if (r == 0)
			r = put_literal(b, value.data);
		break;
	case '~':
		r = put_token_test(b, name.data, value.data, ci);
		break;
	case '|':
		r = buf_puts(b, "(");
		if (r == 0)
			r = put_attr(b, name.data, ci);
		if (r == 0)
			r = buf_puts(b, " = ");
		if (r == 0)
			r = put_literal(b, value.data);
		if (r == 0)
			r = buf_puts(b, " or starts-with(");
		if (r == 0)
			r = put_attr(b, name.data, ci);
		if (r == 0)
			r = buf_puts(b, ", ");
		if (r == 0 && buf_puts(&value, "-") != 0)
			r = -1;
		if (r == 0)
			r = put_literal(b, value.data);
		if (r == 0)
			r = buf_puts(b, "))");
		break;
	case '^':
	case '*':
		if (vlen == 0) {
			r = buf_puts(b, "false()");
			break;
		}
		r = buf_puts(b, op == '^' ? "starts-with(" : "contains(");
		if (r == 0)
			r = put_attr(b, name.data, ci);
		if (r == 0)
			r = buf_puts(b, ", ");
		if (r == 0)
			r = put_literal(b, value.data);
		if (r == 0)
			r = buf_puts(b, ")");
		break;
	case '$':
		if (vlen == 0) {
			r = buf_puts(b, "false()");
			break;
		}
		r = buf_puts(b, "substring(");
		if (r == 0)
			r = put_attr(b, name.data, ci);
		if (r == 0)
			r = buf_puts(b, ", string-length(");
		if (r == 0)
			r = put_attr(b, name.data, false);
		if (r == 0)
			r = buf_printf(b, ") - %zu) = ", vlen - 1);
		if (r == 0)
			r = put_literal(b, value.data);
		break;
	}
	if (r != 0)
		goto nomem;
	goto out;
nomem:
	r = oom(p);
out:
	buf_release(&name);
	buf_release(&value);
	return r;
}

/* a number of an+b, at most MAX_NUMBER */
static int
parse_number(struct parser *p, long *out)
{
	long v = 0;
	size_t start = p->i;

	if (!is_digit(peek(p, 0)))
		return unexpected(p, "a number");
	while (is_digit(peek(p, 0))) {
		v = v * 10 + (peek(p, 0) - '0');
		if (v > MAX_NUMBER)
			return fail_at(p, start, "number too large", NULL);
		p->i++;
	}
	*out = v;
	return 0;
}

static bool
keyword_at(const struct parser *p, const char *kw)
{
	size_t n = strlen(kw), k;

	if (p->i + n > p->len)
		return false;
	for (k = 0; k < n; k++)
		if ((p->s[p->i + k] | 0x20) != kw[k])
			return false;
	return !is_name_char(peek(p, n)) && !escape_at(p, n);
}

/* an+b, odd, even (CSS Syntax §6), whitespace around it skipped */
static int
parse_anb(struct parser *p, long *a, long *b)
{
	long sign = 1, n = 0, s2;
	bool digits = false;

	skip_ws(p);
	if (keyword_at(p, "odd")) {
		p->i += 3;
		*a = 2;
		*b = 1;
		goto done;
	}
	if (keyword_at(p, "even")) {
		p->i += 4;
		*a = 2;
		*b = 0;
		goto done;
	}
	if (peek(p, 0) == '+' || peek(p, 0) == '-') {
		sign = peek(p, 0) == '-' ? -1 : 1;
		p->i++;
	}
	if (is_digit(peek(p, 0))) {
		if (parse_number(p, &n) != 0)
			return -1;
		digits = true;
	}
	if (peek(p, 0) == 'n' || peek(p, 0) == 'N') {
		p->i++;
		*a = sign * (digits ? n : 1);
		*b = 0;
		skip_ws(p);
		if (peek(p, 0) == '+' || peek(p, 0) == '-') {
			s2 = peek(p, 0) == '-' ? -1 : 1;
			p->i++;
			skip_ws(p);
			if (parse_number(p, &n) != 0)
				return -1;
			*b = s2 * n;
		}
	} else if (digits) {
		*a = 0;
		*b = sign * n;
	} else {
		return unexpected(p, "an+b, odd or even");
	}
done:
	skip_ws(p);
	return 0;
}

/*
 * put_nth appends the test "the element is the an+b-th", given `count`,
 * an XPath number expression for how many matching siblings precede it
 */
static int
put_nth(struct buf *b, const char *count, long a, long bb)
{
	if (a == 0)
		return bb < 1 ? buf_puts(b, "false()") :
				buf_printf(b, "%s = %ld", count, bb - 1);
	if (a > 0) {
		if (bb > 1 && buf_printf(b, "%s >= %ld", count, bb - 1) != 0)
			return -1;
		if (a == 1)
			return bb > 1 ? 0 : buf_puts(b, "true()");
		if (bb > 1 && buf_puts(b, " and ") != 0)
			return -1;
		if (bb == 1)
			return buf_printf(b, "%s mod %ld = 0", count, a);
		return buf_printf(b, "(%s %c %ld) mod %ld = 0", count,
		    bb > 1 ? '-' : '+', bb > 1 ? bb - 1 : 1 - bb, a);
	}
	if (bb < 1)
		return buf_puts(b, "false()");
	if (buf_printf(b, "%s <= %ld", count, bb - 1) != 0)
		return -1;
	if (a == -1)
		return 0;
	return buf_printf(b, " and (%ld - %s) mod %ld = 0", bb - 1, count, -a);
}

/* the name test of the *-of-type pseudo-classes */
static int
need_name(struct parser *p, const char *name, size_t at, const char *pseudo)
{
	char msg[256];

	if (name != NULL)
		return 0;
	snprintf(msg, sizeof(msg),
	    "%s needs an element name before it, e.g. li%s (XPath 1.0 "
	    "cannot compare names)",
	    pseudo, pseudo);
	return fail_at(p, at, "%s", msg);
}

static int
parse_pseudo(struct parser *p, struct compound *c, const char *outer_name)
{
	struct buf name, arg, count;
	const char *elem = c->name != NULL ? c->name : outer_name;
	const char *axis;
	size_t at = p->i;
	bool fn, last, oftype;
	long a = 0, b = 0;
	int r = -1;
	char shown[80];

	buf_init(&name, 0);
	buf_init(&arg, 0);
	buf_init(&count, 0);
	p->i++; /* ':' */
	if (parse_ident(p, &name, false, "a pseudo-class name") != 0)
		goto out;
	ascii_lower(name.data);
	fn = peek(p, 0) == '(';
	if (fn)
		p->i++;
	snprintf(shown, sizeof(shown), ":%s%s", name.data, fn ? "()" : "");
	if (cond_and(c) != 0)
		goto nomem;
	if (!fn) {
		const char *n = name.data;

		if (strcmp(n, "first-child") == 0)
			r = buf_puts(&c->cond, "not(preceding-sibling::*)");
		else if (strcmp(n, "last-child") == 0)
			r = buf_puts(&c->cond, "not(following-sibling::*)");
		else if (strcmp(n, "only-child") == 0)
			r = buf_puts(&c->cond, "not(preceding-sibling::*) and "
					       "not(following-sibling::*)");
		else if (strcmp(n, "empty") == 0)
			r = buf_puts(&c->cond, "not(*) and not(text())");
		else if (strcmp(n, "root") == 0)
			r = buf_puts(&c->cond, "not(parent::*)");
		else if (strcmp(n, "link") == 0 || strcmp(n, "any-link") == 0)
			r = buf_puts(&c->cond,
			    "(self::a or self::area) and @href");
		else if (strcmp(n, "first-of-type") == 0 ||
			 strcmp(n, "last-of-type") == 0 ||
			 strcmp(n, "only-of-type") == 0) {
			if (need_name(p, elem, at, shown) != 0)
				goto out;
			r = 0;
			/* first- and only-: no earlier sibling of the type */
			if (n[0] != 'l')
				r = buf_puts(&c->cond,
				    "not(preceding-sibling::");
			if (r == 0 && n[0] != 'l')
				r = put_name_step(&c->cond, elem);
			if (r == 0 && n[0] != 'l')
				r = buf_puts(&c->cond, ")");
			if (r == 0 && n[0] == 'o')
				r = buf_puts(&c->cond, " and ");
			/* last- and only-: no later one */
			if (r == 0 && n[0] != 'f')
				r = buf_puts(&c->cond,
				    "not(following-sibling::");
			if (r == 0 && n[0] != 'f')
				r = put_name_step(&c->cond, elem);
			if (r == 0 && n[0] != 'f')
				r = buf_puts(&c->cond, ")");
		} else {
			fail_at(p, at,
			    "unknown pseudo-class '%s' (or one that means "
			    "nothing in a fetched page)",
			    shown);
			goto out;
		}
		if (r != 0)
			goto nomem;
		goto out;
	}
	/* functional pseudo-classes */
	last = strncmp(name.data, "nth-last-", 9) == 0;
	oftype = strcmp(name.data, "nth-of-type") == 0 ||
		 strcmp(name.data, "nth-last-of-type") == 0;
	if (strcmp(name.data, "nth-child") == 0 ||
	    strcmp(name.data, "nth-last-child") == 0 || oftype) {
		axis = last ? "following-sibling::" : "preceding-sibling::";
		if (oftype && need_name(p, elem, at, shown) != 0)
			goto out;
		if (parse_anb(p, &a, &b) != 0)
			goto out;
		if (!oftype && keyword_at(p, "of")) {
			p->i += 2;
			if (!skip_ws(p)) {
				unexpected(p, "whitespace after 'of'");
				goto out;
			}
			if (parse_list(p, LIST_COMPOUND, elem, &arg) != 0)
				goto out;
			r = buf_printf(&count, "count(%s*[%s])", axis,
			    arg.data);
			if (r == 0)
				r = buf_printf(&c->cond, "(%s) and ", arg.data);
		} else {
			r = buf_printf(&count, "count(%s", axis);
			if (r == 0)
				r = oftype ? put_name_step(&count, elem) :
					     buf_puts(&count, "*");
			if (r == 0)
				r = buf_puts(&count, ")");
		}
		if (r == 0)
			r = put_nth(&c->cond, count.data, a, b);
		if (r != 0)
			goto nomem;
	} else if (strcmp(name.data, "not") == 0 ||
		   strcmp(name.data, "is") == 0 ||
		   strcmp(name.data, "where") == 0 ||
		   strcmp(name.data, "matches") == 0 ||
		   strcmp(name.data, "any") == 0) {
		skip_ws(p);
		if (parse_list(p, LIST_COMPOUND, elem, &arg) != 0)
			goto out;
		r = buf_printf(&c->cond, "%s(%s)",
		    name.data[0] == 'n' ? "not" : "", arg.data);
		if (r != 0)
			goto nomem;
	} else if (strcmp(name.data, "has") == 0) {
		skip_ws(p);
		if (parse_list(p, LIST_RELATIVE, elem, &arg) != 0)
			goto out;
		r = buf_printf(&c->cond, "(%s)", arg.data);
		if (r != 0)
			goto nomem;
	} else if (strcmp(name.data, "contains") == 0) {
		skip_ws(p);
		if (peek(p, 0) == '"' || peek(p, 0) == '\'') {
			if (parse_string(p, &arg) != 0)
				goto out;
		} else if (parse_ident(p, &arg, false, "a quoted string") !=
			   0) {
			goto out;
		}
		skip_ws(p);
		r = buf_puts(&c->cond, "contains(., ");
		if (r == 0)
			r = put_literal(&c->cond, arg.data);
		if (r == 0)
			r = buf_puts(&c->cond, ")");
		if (r != 0)
			goto nomem;
	} else {
		fail_at(p, at,
		    "unknown pseudo-class '%s' (or one that means nothing in "
		    "a fetched page)",
		    shown);
		goto out;
	}
	if (peek(p, 0) != ')') {
		unexpected(p, "')'");
		r = -1;
		goto out;
	}
	p->i++;
	r = 0;
	goto out;
nomem:
	r = oom(p);
out:
	buf_release(&name);
	buf_release(&arg);
	buf_release(&count);
	return r;
}

/* ::text, ::attr(name) (parsel); p->i at the first ':' */
static int
parse_pseudo_element(struct parser *p, struct compound *c)
{
	struct buf name, attr;
	size_t at = p->i;
	int r = -1;

	buf_init(&name, 0);
	buf_init(&attr, 0);
	p->i += 2;
	if (parse_ident(p, &name, false, "a pseudo-element name") != 0)
		goto out;
	ascii_lower(name.data);
	if (strcmp(name.data, "text") == 0 && peek(p, 0) != '(') {
		r = buf_puts(&c->tail, "/text()");
	} else if (strcmp(name.data, "attr") == 0 && peek(p, 0) == '(') {
		p->i++;
		skip_ws(p);
		if (parse_ident(p, &attr, false, "an attribute name") != 0)
			goto out;
		skip_ws(p);
		if (peek(p, 0) != ')') {
			unexpected(p, "')'");
			goto out;
		}
		p->i++;
		ascii_lower(attr.data);
		r = buf_puts(&c->tail, "/");
		if (r == 0)
			r = put_attr(&c->tail, attr.data, false);
	} else {
		fail_at(p, at,
		    "pseudo-element '::%s' selects no element (only ::text "
		    "and ::attr(name) are supported)",
		    name.data);
		goto out;
	}
	if (r != 0)
		r = oom(p);
out:
	buf_release(&name);
	buf_release(&attr);
	return r;
}

static bool
compound_start(const struct parser *p)
{
	int c = peek(p, 0);

	return c == '*' || c == '#' || c == '.' || c == '[' || c == ':' ||
	       c == '|' || ident_start(p);
}

/*
 * parse_compound: type/universal then #id .class [attr] :pseudo, and at
 * the end of a top-level selector one pseudo-element
 */
static int
parse_compound(struct parser *p, struct compound *c, const char *outer_name,
    bool allow_pseudo_element)
{
	struct buf tmp;
	size_t start = p->i;
	int ch, r = 0;

	buf_init(&tmp, 0);
	if (!compound_start(p))
		return unexpected(p, "a selector");
	if (peek(p, 0) == '|' || (peek(p, 0) == '*' && peek(p, 1) == '|'))
		return fail_at(p, p->i, "namespace prefixes are not supported",
		    NULL);
	if (peek(p, 0) == '*') {
		p->i++;
	} else if (ident_start(p)) {
		if (parse_ident(p, &tmp, false, "an element name") != 0)
			goto fail;
		ascii_lower(tmp.data);
		c->name = buf_detach(&tmp, NULL);
		if (c->name == NULL)
			goto nomem;
		if (peek(p, 0) == '|' && peek(p, 1) != '=') {
			fail_at(p, p->i, "namespace prefixes are not supported",
			    NULL);
			goto fail;
		}
	}
	for (;;) {
		ch = peek(p, 0);
		if (c->tail.len > 0 &&
		    (ch == '#' || ch == '.' || ch == '[' || ch == ':')) {
			fail_at(p, p->i,
			    "a pseudo-element must end the selector", NULL);
			goto fail;
		}
		if (ch == '#') {
			p->i++;
			buf_reset(&tmp);
			if (parse_ident(p, &tmp, true, "an id") != 0)
				goto fail;
			if (cond_and(c) != 0 || buf_puts(&c->cond, "@id = ") ||
			    put_literal(&c->cond, tmp.data) != 0)
				goto nomem;
		} else if (ch == '.') {
			p->i++;
			buf_reset(&tmp);
			if (parse_ident(p, &tmp, false, "a class name") != 0)
				goto fail;
			if (cond_and(c) != 0 ||
			    put_token_test(&c->cond, "class", tmp.data,
				false) != 0)
				goto nomem;
		} else if (ch == '[') {
			p->i++;
			if (parse_attrib(p, c) != 0)
				goto fail;
		} else if (ch == ':' && peek(p, 1) == ':') {
			if (!allow_pseudo_element) {
				fail_at(p, p->i,
				    "a pseudo-element cannot be used here",
				    NULL);
				goto fail;
			}
			if (parse_pseudo_element(p, c) != 0)
				goto fail;
		} else if (ch == ':') {
			if (parse_pseudo(p, c, outer_name) != 0)
				goto fail;
		} else {
			break;
		}
	}
	if (p->i == start)
		return unexpected(p, "a selector");
	goto out;
nomem:
	r = oom(p);
	goto out;
fail:
	r = -1;
out:
	buf_release(&tmp);
	return r;
}

/* the compound as a step: name[cond] */
static int
put_step(struct buf *b, const struct compound *c)
{
	bool odd = c->name != NULL && !xpath_name_ok(c->name);

	if (buf_puts(b, odd || c->name == NULL ? "*" : c->name) != 0)
		return -1;
	if (!odd && c->cond.len == 0)
		return 0;
	if (buf_puts(b, "[") != 0)
		return -1;
	if (odd &&
	    (buf_puts(b, "name() = ") != 0 || put_literal(b, c->name) != 0 ||
		(c->cond.len > 0 && buf_puts(b, " and ") != 0)))
		return -1;
	if (c->cond.len > 0 && buf_puts(b, c->cond.data) != 0)
		return -1;
	return buf_puts(b, "]");
}

/* the compound as a test of the context node: self::name and cond */
static int
put_self_test(struct buf *b, const struct compound *c)
{
	if (c->name != NULL) {
		if (xpath_name_ok(c->name)) {
			if (buf_printf(b, "self::%s", c->name) != 0)
				return -1;
		} else if (buf_puts(b, "name() = ") != 0 ||
			   put_literal(b, c->name) != 0) {
			return -1;
		}
		if (c->cond.len > 0 && buf_puts(b, " and ") != 0)
			return -1;
	} else if (c->cond.len == 0) {
		return buf_puts(b, "true()");
	}
	return c->cond.len > 0 ? buf_puts(b, c->cond.data) : 0;
}

enum combinator { COMB_NONE, COMB_DESC, COMB_CHILD, COMB_NEXT, COMB_LATER };

/* skip whitespace and read a combinator, COMB_NONE at the end */
static enum combinator
parse_combinator(struct parser *p)
{
	bool ws = skip_ws(p) != 0;
	int c = peek(p, 0);

	if (c == '>' || c == '+' || c == '~') {
		p->i++;
		skip_ws(p);
		return c == '>' ? COMB_CHILD :
		       c == '+' ? COMB_NEXT :
				  COMB_LATER;
	}
	if (ws && c != -1 && c != ',' && c != ')')
		return COMB_DESC;
	return COMB_NONE;
}

static int
put_axis(struct buf *b, enum combinator comb, bool first)
{
	switch (comb) {
	case COMB_DESC:
		return buf_puts(b, first ? "descendant::" : "//");
	case COMB_CHILD:
		return buf_puts(b, first ? "" : "/");
	case COMB_NEXT:
		return buf_puts(b, first ? "following-sibling::*[1]/self::" :
					   "/following-sibling::*[1]/self::");
	case COMB_LATER:
		return buf_puts(b,
		    first ? "following-sibling::" : "/following-sibling::");
	case COMB_NONE:
		break;
	}
	return 0;
}

/* one complex selector (or a relative one in :has) into out */
static int
parse_complex(struct parser *p, enum list_kind kind, struct buf *out)
{
	struct compound c;
	enum combinator comb = COMB_NONE;
	bool first = true;
	int r = -1;

	memset(&c, 0, sizeof(c));
	buf_init(&c.cond, 0);
	buf_init(&c.tail, 0);
	if (kind == LIST_TOP) {
		if (buf_puts(out, "descendant-or-self::") != 0)
			return oom(p);
	} else {
		int ch = peek(p, 0);

		comb = COMB_DESC;
		if (ch == '>' || ch == '+' || ch == '~')
			comb = parse_combinator(p);
	}
	for (;;) {
		if (parse_compound(p, &c, NULL, kind == LIST_TOP) != 0)
			goto out;
		if (put_axis(out, comb, first) != 0 || put_step(out, &c) != 0 ||
		    buf_puts(out, c.tail.data ? c.tail.data : "") != 0) {
			r = oom(p);
			goto out;
		}
		first = false;
		comb = parse_combinator(p);
		if (comb == COMB_NONE)
			break;
		if (c.tail.len > 0) {
			fail_at(p, p->i,
			    "a pseudo-element must end the selector", NULL);
			goto out;
		}
		compound_release(&c);
		memset(&c, 0, sizeof(c));
	}
	r = 0;
out:
	compound_release(&c);
	return r;
}

/*
 * parse_list: a comma-separated list, up to the end (LIST_TOP) or to the
 * ')' (left for the caller). LIST_TOP gives "A | B", LIST_COMPOUND
 * "(self-test) or (self-test)", LIST_RELATIVE "path or path".
 */
static int
parse_list(struct parser *p, enum list_kind kind, const char *outer_name,
    struct buf *out)
{
	struct compound c;
	struct buf one;
	bool first = true;
	int r = -1;

	if (++p->depth > SELECT_MAX_DEPTH + 1) {
		fail_at(p, p->i, "selector nested too deeply", NULL);
		goto done;
	}
	buf_init(&one, 0);
	for (;;) {
		skip_ws(p);
		buf_reset(&one);
		if (kind == LIST_COMPOUND) {
			memset(&c, 0, sizeof(c));
			r = parse_compound(p, &c, outer_name, false);
			if (r == 0 && put_self_test(&one, &c) != 0)
				r = oom(p);
			compound_release(&c);
			if (r != 0)
				goto out;
			skip_ws(p);
		} else if (parse_complex(p, kind, &one) != 0) {
			goto out;
		}
		if (!first &&
		    buf_puts(out, kind == LIST_TOP ? " | " : " or ") != 0)
			goto nomem;
		if ((kind == LIST_COMPOUND &&
			buf_printf(out, "(%s)", one.data) != 0) ||
		    (kind != LIST_COMPOUND && buf_puts(out, one.data) != 0))
			goto nomem;
		first = false;
		if (peek(p, 0) != ',')
			break;
		p->i++;
	}
	if (kind == LIST_TOP && p->i < p->len) {
		unexpected(p, peek(p, 0) == ')' ? NULL : "',' or a combinator");
		goto out;
	}
	if (kind != LIST_TOP && peek(p, 0) != ')') {
		int ch = peek(p, 0);

		if (kind == LIST_COMPOUND &&
		    (ch == '>' || ch == '+' || ch == '~' || compound_start(p)))
			fail_at(p, p->i,
			    "only compound selectors (no combinators) are "
			    "allowed here",
			    NULL);
		else
			unexpected(p, "')'");
		goto out;
	}
	r = 0;
	goto out;
nomem:
	r = oom(p);
out:
	buf_release(&one);
done:
	p->depth--;
	return r;
}

/* the first byte of invalid UTF-8 (overlong, surrogate, > U+10FFFF) */
static const char *
utf8_invalid(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;
	int n;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n < 0)
			return s + i;
		i += (size_t)n;
	}
	return NULL;
}

char *
select_css_to_xpath(const char *css, size_t *err_at, struct kw_err *err)
{
	struct parser p = { 0 };
	struct buf out;
	const char *bad;
	size_t k, chars;
	char *x = NULL;

	p.s = css;
	p.len = strlen(css);
	p.err = err;
	buf_init(&out, 0);
	bad = utf8_invalid(css, p.len);
	if (bad != NULL) {
		fail_at(&p, (size_t)(bad - css), "invalid UTF-8", NULL);
	} else if (p.len > SELECT_MAX_LEN) {
		fail_at(&p, SELECT_MAX_LEN,
		    "selector too long (more than "
		    "8192"
		    " bytes)",
		    NULL);
	} else {
		skip_ws(&p);
		if (p.i == p.len)
			fail_at(&p, p.i, "empty selector", NULL);
		else if (parse_list(&p, LIST_TOP, NULL, &out) == 0)
			x = buf_detach(&out, NULL);
		if (x == NULL)
			oom(&p);
	}
	if (x == NULL && err_at != NULL) {
		chars = 0;
		for (k = 0; k < p.fail && k < p.len; k++)
			if (((unsigned char)css[k] & 0xC0) != 0x80)
				chars++;
		*err_at = chars;
	}
	buf_release(&out);
	return x;
}
