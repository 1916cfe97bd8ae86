/* utf8: UTF-8 decoding and Unicode text rules on utf8proc (see utf8.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "kakaowatch/utf8.h"

int
utf8_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* Unicode 15 Table 3-7 */
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*cp = UTF8_REPLACEMENT;
		return -1;
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*cp = UTF8_REPLACEMENT;
			return -(int)i;
		}
		v = (v << 6) | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = v;
	return (int)need + 1;
}

size_t
utf8_encode(uint32_t c, char *o)
{
	if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		c = UTF8_REPLACEMENT;
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xE0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		o[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

bool
utf8_valid(const char *s, size_t n)
{
	size_t off = 0;
	uint32_t cp;
	int len;

	while (off < n) {
		if ((unsigned char)s[off] < 0x80) {
			off++;
			continue;
		}
		len = utf8_decode(s + off, n - off, &cp);
		if (len < 0)
			return false;
		off += (size_t)len;
	}
	return true;
}

char *
utf8_repair(const char *s, size_t n, size_t *outlen)
{
	size_t off = 0, o = 0;
	uint32_t cp;
	char *out;
	int len;

	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1); /* a bad byte grows to 3 */
	if (out == NULL)
		return NULL;
	while (off < n) {
		if (s[off] == '\0') {
			off++; /* a C string cannot hold it */
			continue;
		}
		len = utf8_decode(s + off, n - off, &cp);
		if (len > 0) {
			memcpy(out + o, s + off, (size_t)len);
			o += (size_t)len;
			off += (size_t)len;
		} else {
			o += utf8_encode(UTF8_REPLACEMENT, out + o);
			off += (size_t)-len;
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

/* the one change to utf8proc's case folding: İ -> i (see utf8.h) */
static utf8proc_int32_t
fold_dotted_i(utf8proc_int32_t cp, void *data)
{
	(void)data;
	return cp == 0x130 ? 0x69 : cp;
}

/*
 * fold_stable: is s[0..n) made only of code points that NFKC with case
 * folding leaves alone, except ASCII upper case: ASCII, precomposed Hangul
 * syllables (U+AC00..U+D7A3) and CJK unified ideographs (U+4E00..U+9FFF)?
 * None of them decomposes, folds (but A-Z) or composes with another of
 * them, so the matching form is the text with A-Z lowered: the fast path
 * for Korean and English pages. Anything else (a Hangul compatibility jamo,
 * a conjoining jamo, a combining mark, fullwidth forms) goes to utf8proc.
 */
static bool
fold_stable(const char *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;
	int len;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		len = utf8_decode(s + i, n - i, &cp);
		if (len < 0)
			return false;
		if (!(cp >= 0xAC00 && cp <= 0xD7A3) &&
		    !(cp >= 0x4E00 && cp <= 0x9FFF))
			return false;
		i += (size_t)len;
	}
	return true;
}

char *
utf8_casefold_nfkc(const char *s)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t r;
	size_t n, i;
	char *tmp, *out;
	bool valid;

	if (s == NULL)
		s = "";
	n = strlen(s);
	if (fold_stable(s, n)) {
		/* NFKC is the identity here and folding is ASCII tolower */
		out = malloc(n + 1);
		if (out == NULL)
			return NULL;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		out[n] = '\0';
		return out;
	}
	valid = utf8_valid(s, n);
	tmp = valid ? NULL : utf8_repair(s, n, NULL);
	if (!valid && tmp == NULL)
		return NULL;
	r = utf8proc_map_custom((const utf8proc_uint8_t *)(tmp ? tmp : s), 0,
	    &dst,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
		UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE,
	    fold_dotted_i, NULL);
	free(tmp);
	if (r < 0) {
		/* only UTF8PROC_ERROR_NOMEM is possible on valid input */
		free(dst);
		return NULL;
	}
	return (char *)dst;
}

bool
utf8_contains_folded(const char *folded_text, const char *folded_needle)
{
	if (folded_text == NULL || folded_needle == NULL ||
	    folded_needle[0] == '\0')
		return false;
	return strstr(folded_text, folded_needle) != NULL;
}

static utf8proc_int32_t
as_cp(uint32_t c)
{
	return c > 0x10FFFF ? (utf8proc_int32_t)UTF8_REPLACEMENT :
			      (utf8proc_int32_t)c;
}

void
utf8_grapheme_breaks(const uint32_t *cps, size_t n, bool *brk)
{
	utf8proc_int32_t state = 0;
	size_t k;

	if (n == 0)
		return;
	brk[0] = true;
	for (k = 1; k < n; k++)
		brk[k] = utf8proc_grapheme_break_stateful(as_cp(cps[k - 1]),
		    as_cp(cps[k]), &state);
}

/* decode one code point, invalid bytes as U+FFFD; returns bytes used */
static size_t
next_cp(const char *s, size_t n, uint32_t *cp)
{
	int len = utf8_decode(s, n, cp);

	return (size_t)(len < 0 ? -len : len);
}

size_t
utf8_grapheme_len(const char *s, size_t n)
{
	utf8proc_int32_t state = 0;
	uint32_t prev, cp;
	size_t off;

	if (n == 0)
		return 0;
	off = next_cp(s, n, &prev);
	while (off < n) {
		size_t used = next_cp(s + off, n - off, &cp);

		if (utf8proc_grapheme_break_stateful(as_cp(prev), as_cp(cp),
			&state))
			break;
		off += used;
		prev = cp;
	}
	return off;
}

size_t
utf8_display_width(const char *s)
{
	size_t n, off = 0, cols = 0;

	if (s == NULL)
		return 0;
	n = strlen(s);
	while (off < n) {
		size_t g = utf8_grapheme_len(s + off, n - off), o = 0;
		int widest = 0, w;
		uint32_t cp;

		while (o < g) {
			o += next_cp(s + off + o, g - o, &cp);
			w = utf8proc_charwidth(as_cp(cp));
			if (w > widest)
				widest = w;
		}
		cols += (size_t)widest;
		off += g;
	}
	return cols;
}
