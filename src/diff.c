/*
 * diff: set difference of item lists and case-insensitive keyword filters
 * (see diff.h). Pure: no I/O, no clock, no global state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/diff.h"

/*
 * Simple case folding, as ranges sorted by first code point:
 *   FOLD_DELTA: c -> c + delta
 *   FOLD_EVEN:  even c -> c + 1 (upper/lower pairs), odd c unchanged
 *   FOLD_ODD:   odd c -> c + 1, even c unchanged
 * Generated from Unicode 14.0 (Python's str.casefold, single-character
 * results; where that gives several characters, str.lower when it gives
 * one), excluding ASCII and the fullwidth block (folded in code), with the
 * multi-character foldings of ß, ẞ and U+FB00..U+FB06 done in fold_cp and
 * İ (U+0130) mapped to i. Every code point from U+0080 to U+10FFFF was
 * checked against the source when the table was made.
 */
enum fold_kind { FOLD_DELTA, FOLD_EVEN, FOLD_ODD };

struct fold_range {
	uint32_t first, last;
	enum fold_kind kind;
	int32_t delta;
};

static const struct fold_range fold_table[] = {
	{ 0x000B5, 0x000B5, FOLD_DELTA, 775 },
	{ 0x000C0, 0x000D6, FOLD_DELTA, 32 },
	{ 0x000D8, 0x000DE, FOLD_DELTA, 32 },
	{ 0x00100, 0x0012F, FOLD_EVEN, 0 },
	{ 0x00130, 0x00130, FOLD_DELTA, -199 },
	{ 0x00132, 0x00137, FOLD_EVEN, 0 },
	{ 0x00139, 0x00148, FOLD_ODD, 0 },
	{ 0x0014A, 0x00177, FOLD_EVEN, 0 },
	{ 0x00178, 0x00178, FOLD_DELTA, -121 },
	{ 0x00179, 0x0017E, FOLD_ODD, 0 },
	{ 0x0017F, 0x0017F, FOLD_DELTA, -268 },
	{ 0x00181, 0x00181, FOLD_DELTA, 210 },
	{ 0x00182, 0x00185, FOLD_EVEN, 0 },
	{ 0x00186, 0x00186, FOLD_DELTA, 206 },
	{ 0x00187, 0x00187, FOLD_DELTA, 1 },
	{ 0x00189, 0x0018A, FOLD_DELTA, 205 },
	{ 0x0018B, 0x0018B, FOLD_DELTA, 1 },
	{ 0x0018E, 0x0018E, FOLD_DELTA, 79 },
	{ 0x0018F, 0x0018F, FOLD_DELTA, 202 },
	{ 0x00190, 0x00190, FOLD_DELTA, 203 },
	{ 0x00191, 0x00191, FOLD_DELTA, 1 },
	{ 0x00193, 0x00193, FOLD_DELTA, 205 },
	{ 0x00194, 0x00194, FOLD_DELTA, 207 },
	{ 0x00196, 0x00196, FOLD_DELTA, 211 },
	{ 0x00197, 0x00197, FOLD_DELTA, 209 },
	{ 0x00198, 0x00198, FOLD_DELTA, 1 },
	{ 0x0019C, 0x0019C, FOLD_DELTA, 211 },
	{ 0x0019D, 0x0019D, FOLD_DELTA, 213 },
	{ 0x0019F, 0x0019F, FOLD_DELTA, 214 },
	{ 0x001A0, 0x001A5, FOLD_EVEN, 0 },
	{ 0x001A6, 0x001A6, FOLD_DELTA, 218 },
	{ 0x001A7, 0x001A7, FOLD_DELTA, 1 },
	{ 0x001A9, 0x001A9, FOLD_DELTA, 218 },
	{ 0x001AC, 0x001AC, FOLD_DELTA, 1 },
	{ 0x001AE, 0x001AE, FOLD_DELTA, 218 },
	{ 0x001AF, 0x001AF, FOLD_DELTA, 1 },
	{ 0x001B1, 0x001B2, FOLD_DELTA, 217 },
	{ 0x001B3, 0x001B6, FOLD_ODD, 0 },
	{ 0x001B7, 0x001B7, FOLD_DELTA, 219 },
	{ 0x001B8, 0x001B8, FOLD_DELTA, 1 },
	{ 0x001BC, 0x001BC, FOLD_DELTA, 1 },
	{ 0x001C4, 0x001C4, FOLD_DELTA, 2 },
	{ 0x001C5, 0x001C5, FOLD_DELTA, 1 },
	{ 0x001C7, 0x001C7, FOLD_DELTA, 2 },
	{ 0x001C8, 0x001C8, FOLD_DELTA, 1 },
	{ 0x001CA, 0x001CA, FOLD_DELTA, 2 },
	{ 0x001CB, 0x001DC, FOLD_ODD, 0 },
	{ 0x001DE, 0x001EF, FOLD_EVEN, 0 },
	{ 0x001F1, 0x001F1, FOLD_DELTA, 2 },
	{ 0x001F2, 0x001F5, FOLD_EVEN, 0 },
	{ 0x001F6, 0x001F6, FOLD_DELTA, -97 },
	{ 0x001F7, 0x001F7, FOLD_DELTA, -56 },
	{ 0x001F8, 0x0021F, FOLD_EVEN, 0 },
	{ 0x00220, 0x00220, FOLD_DELTA, -130 },
	{ 0x00222, 0x00233, FOLD_EVEN, 0 },
	{ 0x0023A, 0x0023A, FOLD_DELTA, 10795 },
	{ 0x0023B, 0x0023B, FOLD_DELTA, 1 },
	{ 0x0023D, 0x0023D, FOLD_DELTA, -163 },
	{ 0x0023E, 0x0023E, FOLD_DELTA, 10792 },
	{ 0x00241, 0x00241, FOLD_DELTA, 1 },
	{ 0x00243, 0x00243, FOLD_DELTA, -195 },
	{ 0x00244, 0x00244, FOLD_DELTA, 69 },
	{ 0x00245, 0x00245, FOLD_DELTA, 71 },
	{ 0x00246, 0x0024F, FOLD_EVEN, 0 },
	{ 0x00345, 0x00345, FOLD_DELTA, 116 },
	{ 0x00370, 0x00373, FOLD_EVEN, 0 },
	{ 0x00376, 0x00376, FOLD_DELTA, 1 },
	{ 0x0037F, 0x0037F, FOLD_DELTA, 116 },
	{ 0x00386, 0x00386, FOLD_DELTA, 38 },
	{ 0x00388, 0x0038A, FOLD_DELTA, 37 },
	{ 0x0038C, 0x0038C, FOLD_DELTA, 64 },
	{ 0x0038E, 0x0038F, FOLD_DELTA, 63 },
	{ 0x00391, 0x003A1, FOLD_DELTA, 32 },
	{ 0x003A3, 0x003AB, FOLD_DELTA, 32 },
	{ 0x003C2, 0x003C2, FOLD_DELTA, 1 },
	{ 0x003CF, 0x003CF, FOLD_DELTA, 8 },
	{ 0x003D0, 0x003D0, FOLD_DELTA, -30 },
	{ 0x003D1, 0x003D1, FOLD_DELTA, -25 },
	{ 0x003D5, 0x003D5, FOLD_DELTA, -15 },
	{ 0x003D6, 0x003D6, FOLD_DELTA, -22 },
	{ 0x003D8, 0x003EF, FOLD_EVEN, 0 },
	{ 0x003F0, 0x003F0, FOLD_DELTA, -54 },
	{ 0x003F1, 0x003F1, FOLD_DELTA, -48 },
	{ 0x003F4, 0x003F4, FOLD_DELTA, -60 },
	{ 0x003F5, 0x003F5, FOLD_DELTA, -64 },
	{ 0x003F7, 0x003F7, FOLD_DELTA, 1 },
	{ 0x003F9, 0x003F9, FOLD_DELTA, -7 },
	{ 0x003FA, 0x003FA, FOLD_DELTA, 1 },
	{ 0x003FD, 0x003FF, FOLD_DELTA, -130 },
	{ 0x00400, 0x0040F, FOLD_DELTA, 80 },
	{ 0x00410, 0x0042F, FOLD_DELTA, 32 },
	{ 0x00460, 0x00481, FOLD_EVEN, 0 },
	{ 0x0048A, 0x004BF, FOLD_EVEN, 0 },
	{ 0x004C0, 0x004C0, FOLD_DELTA, 15 },
	{ 0x004C1, 0x004CE, FOLD_ODD, 0 },
	{ 0x004D0, 0x0052F, FOLD_EVEN, 0 },
	{ 0x00531, 0x00556, FOLD_DELTA, 48 },
	{ 0x010A0, 0x010C5, FOLD_DELTA, 7264 },
	{ 0x010C7, 0x010C7, FOLD_DELTA, 7264 },
	{ 0x010CD, 0x010CD, FOLD_DELTA, 7264 },
	{ 0x013F8, 0x013FD, FOLD_DELTA, -8 },
	{ 0x01C80, 0x01C80, FOLD_DELTA, -6222 },
	{ 0x01C81, 0x01C81, FOLD_DELTA, -6221 },
	{ 0x01C82, 0x01C82, FOLD_DELTA, -6212 },
	{ 0x01C83, 0x01C84, FOLD_DELTA, -6210 },
	{ 0x01C85, 0x01C85, FOLD_DELTA, -6211 },
	{ 0x01C86, 0x01C86, FOLD_DELTA, -6204 },
	{ 0x01C87, 0x01C87, FOLD_DELTA, -6180 },
	{ 0x01C88, 0x01C88, FOLD_DELTA, 35267 },
	{ 0x01C90, 0x01CBA, FOLD_DELTA, -3008 },
	{ 0x01CBD, 0x01CBF, FOLD_DELTA, -3008 },
	{ 0x01E00, 0x01E95, FOLD_EVEN, 0 },
	{ 0x01E9B, 0x01E9B, FOLD_DELTA, -58 },
	{ 0x01EA0, 0x01EFF, FOLD_EVEN, 0 },
	{ 0x01F08, 0x01F0F, FOLD_DELTA, -8 },
	{ 0x01F18, 0x01F1D, FOLD_DELTA, -8 },
	{ 0x01F28, 0x01F2F, FOLD_DELTA, -8 },
	{ 0x01F38, 0x01F3F, FOLD_DELTA, -8 },
	{ 0x01F48, 0x01F4D, FOLD_DELTA, -8 },
	{ 0x01F59, 0x01F59, FOLD_DELTA, -8 },
	{ 0x01F5B, 0x01F5B, FOLD_DELTA, -8 },
	{ 0x01F5D, 0x01F5D, FOLD_DELTA, -8 },
	{ 0x01F5F, 0x01F5F, FOLD_DELTA, -8 },
	{ 0x01F68, 0x01F6F, FOLD_DELTA, -8 },
	{ 0x01F88, 0x01F8F, FOLD_DELTA, -8 },
	{ 0x01F98, 0x01F9F, FOLD_DELTA, -8 },
	{ 0x01FA8, 0x01FAF, FOLD_DELTA, -8 },
	{ 0x01FB8, 0x01FB9, FOLD_DELTA, -8 },
	{ 0x01FBA, 0x01FBB, FOLD_DELTA, -74 },
	{ 0x01FBC, 0x01FBC, FOLD_DELTA, -9 },
	{ 0x01FBE, 0x01FBE, FOLD_DELTA, -7173 },
	{ 0x01FC8, 0x01FCB, FOLD_DELTA, -86 },
	{ 0x01FCC, 0x01FCC, FOLD_DELTA, -9 },
	{ 0x01FD8, 0x01FD9, FOLD_DELTA, -8 },
	{ 0x01FDA, 0x01FDB, FOLD_DELTA, -100 },
	{ 0x01FE8, 0x01FE9, FOLD_DELTA, -8 },
	{ 0x01FEA, 0x01FEB, FOLD_DELTA, -112 },
	{ 0x01FEC, 0x01FEC, FOLD_DELTA, -7 },
	{ 0x01FF8, 0x01FF9, FOLD_DELTA, -128 },
	{ 0x01FFA, 0x01FFB, FOLD_DELTA, -126 },
	{ 0x01FFC, 0x01FFC, FOLD_DELTA, -9 },
	{ 0x02126, 0x02126, FOLD_DELTA, -7517 },
	{ 0x0212A, 0x0212A, FOLD_DELTA, -8383 },
	{ 0x0212B, 0x0212B, FOLD_DELTA, -8262 },
	{ 0x02132, 0x02132, FOLD_DELTA, 28 },
	{ 0x02160, 0x0216F, FOLD_DELTA, 16 },
	{ 0x02183, 0x02183, FOLD_DELTA, 1 },
	{ 0x024B6, 0x024CF, FOLD_DELTA, 26 },
	{ 0x02C00, 0x02C2F, FOLD_DELTA, 48 },
	{ 0x02C60, 0x02C60, FOLD_DELTA, 1 },
	{ 0x02C62, 0x02C62, FOLD_DELTA, -10743 },
	{ 0x02C63, 0x02C63, FOLD_DELTA, -3814 },
	{ 0x02C64, 0x02C64, FOLD_DELTA, -10727 },
	{ 0x02C67, 0x02C6C, FOLD_ODD, 0 },
	{ 0x02C6D, 0x02C6D, FOLD_DELTA, -10780 },
	{ 0x02C6E, 0x02C6E, FOLD_DELTA, -10749 },
	{ 0x02C6F, 0x02C6F, FOLD_DELTA, -10783 },
	{ 0x02C70, 0x02C70, FOLD_DELTA, -10782 },
	{ 0x02C72, 0x02C72, FOLD_DELTA, 1 },
	{ 0x02C75, 0x02C75, FOLD_DELTA, 1 },
	{ 0x02C7E, 0x02C7F, FOLD_DELTA, -10815 },
	{ 0x02C80, 0x02CE3, FOLD_EVEN, 0 },
	{ 0x02CEB, 0x02CEE, FOLD_ODD, 0 },
	{ 0x02CF2, 0x02CF2, FOLD_DELTA, 1 },
	{ 0x0A640, 0x0A66D, FOLD_EVEN, 0 },
	{ 0x0A680, 0x0A69B, FOLD_EVEN, 0 },
	{ 0x0A722, 0x0A72F, FOLD_EVEN, 0 },
	{ 0x0A732, 0x0A76F, FOLD_EVEN, 0 },
	{ 0x0A779, 0x0A77C, FOLD_ODD, 0 },
	{ 0x0A77D, 0x0A77D, FOLD_DELTA, -35332 },
	{ 0x0A77E, 0x0A787, FOLD_EVEN, 0 },
	{ 0x0A78B, 0x0A78B, FOLD_DELTA, 1 },
	{ 0x0A78D, 0x0A78D, FOLD_DELTA, -42280 },
	{ 0x0A790, 0x0A793, FOLD_EVEN, 0 },
	{ 0x0A796, 0x0A7A9, FOLD_EVEN, 0 },
	{ 0x0A7AA, 0x0A7AA, FOLD_DELTA, -42308 },
	{ 0x0A7AB, 0x0A7AB, FOLD_DELTA, -42319 },
	{ 0x0A7AC, 0x0A7AC, FOLD_DELTA, -42315 },
	{ 0x0A7AD, 0x0A7AD, FOLD_DELTA, -42305 },
	{ 0x0A7AE, 0x0A7AE, FOLD_DELTA, -42308 },
	{ 0x0A7B0, 0x0A7B0, FOLD_DELTA, -42258 },
	{ 0x0A7B1, 0x0A7B1, FOLD_DELTA, -42282 },
	{ 0x0A7B2, 0x0A7B2, FOLD_DELTA, -42261 },
	{ 0x0A7B3, 0x0A7B3, FOLD_DELTA, 928 },
	{ 0x0A7B4, 0x0A7C3, FOLD_EVEN, 0 },
	{ 0x0A7C4, 0x0A7C4, FOLD_DELTA, -48 },
	{ 0x0A7C5, 0x0A7C5, FOLD_DELTA, -42307 },
	{ 0x0A7C6, 0x0A7C6, FOLD_DELTA, -35384 },
	{ 0x0A7C7, 0x0A7CA, FOLD_ODD, 0 },
	{ 0x0A7D0, 0x0A7D0, FOLD_DELTA, 1 },
	{ 0x0A7D6, 0x0A7D9, FOLD_EVEN, 0 },
	{ 0x0A7F5, 0x0A7F5, FOLD_DELTA, 1 },
	{ 0x0AB70, 0x0ABBF, FOLD_DELTA, -38864 },
	{ 0x10400, 0x10427, FOLD_DELTA, 40 },
	{ 0x104B0, 0x104D3, FOLD_DELTA, 40 },
	{ 0x10570, 0x1057A, FOLD_DELTA, 39 },
	{ 0x1057C, 0x1058A, FOLD_DELTA, 39 },
	{ 0x1058C, 0x10592, FOLD_DELTA, 39 },
	{ 0x10594, 0x10595, FOLD_DELTA, 39 },
	{ 0x10C80, 0x10CB2, FOLD_DELTA, 64 },
	{ 0x118A0, 0x118BF, FOLD_DELTA, 32 },
	{ 0x16E40, 0x16E5F, FOLD_DELTA, 32 },
	{ 0x1E900, 0x1E921, FOLD_DELTA, 34 },
};

#define NFOLD (sizeof(fold_table) / sizeof(fold_table[0]))

/* Hangul conjoining jamo and syllables (Unicode 14.0, §3.12) */
#define HANGUL_S_BASE 0xAC00
#define HANGUL_L_BASE 0x1100
#define HANGUL_V_BASE 0x1161
#define HANGUL_T_BASE 0x11A7
#define HANGUL_L_COUNT 19
#define HANGUL_V_COUNT 21
#define HANGUL_T_COUNT 28
#define HANGUL_S_COUNT (HANGUL_L_COUNT * HANGUL_V_COUNT * HANGUL_T_COUNT)

static uint32_t
fold_simple(uint32_t c)
{
	size_t lo = 0, hi = NFOLD, mid;
	const struct fold_range *r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = &fold_table[mid];
		if (c < r->first) {
			hi = mid;
		} else if (c > r->last) {
			lo = mid + 1;
		} else {
			if (r->kind == FOLD_DELTA)
				return (uint32_t)((int64_t)c + r->delta);
			if (r->kind == FOLD_EVEN)
				return c % 2 == 0 ? c + 1 : c;
			return c % 2 == 1 ? c + 1 : c;
		}
	}
	return c;
}

/*
 * fold_cp writes the case folding of `c` into out[] (at most 3 code points)
 * and returns how many.
 */
static size_t
fold_cp(uint32_t c, uint32_t out[3])
{
	static const char *const ligatures[] = {
		"ff", "fi", "fl", "ffi", "ffl", "st", "st"
	};
	const char *s;
	size_t n;

	if (c < 0x80) {
		out[0] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
		return 1;
	}
	if (c >= 0xFF01 && c <= 0xFF5E)
		return fold_cp(c - 0xFEE0, out); /* fullwidth ASCII */
	if (c == 0x3000) {
		out[0] = ' ';
		return 1;
	}
	if (c == 0xDF || c == 0x1E9E) {
		out[0] = 's';
		out[1] = 's';
		return 2;
	}
	if (c >= 0xFB00 && c <= 0xFB06) {
		s = ligatures[c - 0xFB00];
		for (n = 0; s[n] != '\0'; n++)
			out[n] = (unsigned char)s[n];
		return n;
	}
	out[0] = fold_simple(c);
	return 1;
}

/*
 * utf8_decode reads one well-formed UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF) from s[0..len). Returns its
 * length, or 0 when s[0] does not start one.
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

static size_t
utf8_encode(uint32_t c, char out[4])
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * hangul_compose: when `c` is a leading consonant jamo followed by a vowel
 * jamo (and perhaps a trailing consonant), or an LV syllable followed by a
 * trailing consonant, returns the composed syllable and adds the bytes used
 * to *used (Unicode §3.12 canonical composition).
 */
static uint32_t
hangul_compose(uint32_t c, const unsigned char *s, size_t len, size_t *used)
{
	uint32_t next;
	size_t n;

	if (c >= HANGUL_L_BASE && c < HANGUL_L_BASE + HANGUL_L_COUNT) {
		n = utf8_decode(s + *used, len - *used, &next);
		if (n == 0 || next < HANGUL_V_BASE ||
		    next >= HANGUL_V_BASE + HANGUL_V_COUNT)
			return c;
		c = HANGUL_S_BASE +
		    ((c - HANGUL_L_BASE) * HANGUL_V_COUNT +
			(next - HANGUL_V_BASE)) *
			HANGUL_T_COUNT;
		*used += n;
	}
	if (c >= HANGUL_S_BASE && c < HANGUL_S_BASE + HANGUL_S_COUNT &&
	    (c - HANGUL_S_BASE) % HANGUL_T_COUNT == 0) {
		n = utf8_decode(s + *used, len - *used, &next);
		if (n == 0 || next <= HANGUL_T_BASE ||
		    next >= HANGUL_T_BASE + HANGUL_T_COUNT)
			return c;
		c += next - HANGUL_T_BASE;
		*used += n;
	}
	return c;
}

/*
 * fold_text appends the case folding of `s` to `out` (which stays
 * NUL-terminated). Invalid bytes are copied as they are. Returns 0 or -1
 * (out-of-memory).
 */
static int
fold_text(const char *s, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n, k, j, m;
	uint32_t c, folded[3];
	char enc[4 * 3];

	if (buf_append(out, "", 0) != 0) /* "" input still gives a string */
		return -1;
	while (i < len) {
		n = utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			if (buf_append(out, p + i, 1) != 0)
				return -1;
			i++;
			continue;
		}
		i += n;
		if (c >= HANGUL_L_BASE && c < HANGUL_S_BASE + HANGUL_S_COUNT)
			c = hangul_compose(c, p, len, &i);
		k = fold_cp(c, folded);
		m = 0;
		for (j = 0; j < k; j++)
			m += utf8_encode(folded[j], enc + m);
		if (buf_append(out, enc, m) != 0)
			return -1;
	}
	return 0;
}

/* folded words: one array of heap strings; NULL entries never match */
struct folded_words {
	char **v;
	size_t n;
};

static void
folded_words_release(struct folded_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static int
folded_words_init(struct folded_words *w, const char *const *words, size_t n)
{
	struct buf b;
	size_t i;

	w->n = 0;
	w->v = NULL;
	if (n == 0)
		return 0;
	w->v = calloc(n, sizeof(*w->v));
	if (w->v == NULL)
		return -1;
	w->n = n;
	for (i = 0; i < n; i++) {
		if (words[i] == NULL || words[i][0] == '\0')
			continue;
		buf_init(&b, 0);
		if (fold_text(words[i], &b) != 0) {
			buf_release(&b);
			folded_words_release(w);
			return -1;
		}
		w->v[i] = b.data;
	}
	return 0;
}

static bool
folded_match(const char *folded_text, const struct folded_words *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i] != NULL && strstr(folded_text, w->v[i]) != NULL)
			return true;
	return false;
}

static bool
raw_match(const char *text, const char *const *words, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (words[i] != NULL && words[i][0] != '\0' &&
		    strstr(text, words[i]) != NULL)
			return true;
	return false;
}

bool
diff_text_matches(const char *text, const char *const *words, size_t n)
{
	struct folded_words w;
	struct buf b;
	bool result;

	if (text == NULL || words == NULL || n == 0)
		return false;
	buf_init(&b, 0);
	if (folded_words_init(&w, words, n) != 0)
		return raw_match(text, words, n);
	if (fold_text(text, &b) != 0) {
		result = raw_match(text, words, n);
		goto out;
	}
	result = folded_match(b.data, &w);
out:
	buf_release(&b);
	folded_words_release(&w);
	return result;
}

int
diff_filter(const struct item_list *in, const char *const *keywords,
    size_t nkeywords, const char *const *exclude, size_t nexclude,
    struct item_list *out)
{
	struct folded_words kw = { NULL, 0 }, ex = { NULL, 0 };
	struct buf b;
	size_t i;
	int result = -1;

	item_list_init(out);
	buf_init(&b, 0);
	if (keywords == NULL)
		nkeywords = 0;
	if (exclude == NULL)
		nexclude = 0;
	if (folded_words_init(&kw, keywords, nkeywords) != 0 ||
	    folded_words_init(&ex, exclude, nexclude) != 0)
		goto fail;
	for (i = 0; in != NULL && i < in->n; i++) {
		buf_reset(&b);
		if (fold_text(in->v[i].text, &b) != 0)
			goto fail;
		if (nkeywords > 0 && !folded_match(b.data, &kw))
			continue;
		if (folded_match(b.data, &ex))
			continue;
		if (item_list_add_copy(out, &in->v[i]) != 0)
			goto fail;
	}
	result = 0;
	goto out;
fail:
	item_list_release(out);
out:
	buf_release(&b);
	folded_words_release(&kw);
	folded_words_release(&ex);
	return result;
}

/*
 * A hash set of indexes into one item list, keyed by item identity (text +
 * link). Open addressing with linear probing; slots hold index + 1, 0 is
 * empty. Lookups return the index of the first equal item inserted.
 */
struct item_set {
	const struct item_list *list;
	size_t *slots;
	size_t mask;
};

static uint64_t
hash_bytes(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	/* FNV-1a, 64 bit */
	for (; *p != '\0'; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
hash_item(const struct item *it)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (it->key != NULL) {
		h = hash_bytes(h, it->key);
		goto mix;
	}
	h = hash_bytes(h, it->text);
	/* separators keep ("ab", NULL), ("a", "b") and ("ab", "") apart */
	h ^= it->link == NULL ? 0x1ff : 0x2ff;
	h *= 0x100000001b3ULL;
	if (it->link != NULL)
		h = hash_bytes(h, it->link);
mix:
	/* final mix (splitmix64) so the low bits used for the index vary */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static int
item_set_init(struct item_set *s, const struct item_list *list)
{
	size_t cap = 16;

	s->list = list;
	s->slots = NULL;
	s->mask = 0;
	if (list == NULL || list->n == 0)
		return 0;
	if (list->n > SIZE_MAX / 4 / sizeof(*s->slots))
		return -1;
	while (cap < list->n * 2)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (s->slots == NULL)
		return -1;
	s->mask = cap - 1;
	return 0;
}

static void
item_set_release(struct item_set *s)
{
	free(s->slots);
	s->slots = NULL;
}

/*
 * item_set_find returns the index of the first item equal to `it` that was
 * inserted, or SIZE_MAX. With `insert` set, an absent `it` (which must be
 * list->v[idx]) is inserted and idx returned.
 */
static size_t
item_set_find(const struct item_set *s, const struct item *it, bool insert,
    size_t idx)
{
	size_t pos;

	if (s->slots == NULL)
		return SIZE_MAX;
	pos = (size_t)hash_item(it) & s->mask;
	while (s->slots[pos] != 0) {
		if (item_same(&s->list->v[s->slots[pos] - 1], it))
			return s->slots[pos] - 1;
		pos = (pos + 1) & s->mask;
	}
	if (!insert)
		return SIZE_MAX;
	s->slots[pos] = idx + 1;
	return idx;
}

static void
item_set_fill(struct item_set *s)
{
	size_t i;

	for (i = 0; s->list != NULL && i < s->list->n; i++)
		item_set_find(s, &s->list->v[i], true, i);
}

/*
 * only_in appends to `out` each distinct item of a.list that is not in b
 * (first occurrences only, in order).
 */
static int
only_in(const struct item_set *a, const struct item_set *b,
    struct item_list *out)
{
	const struct item *it;
	size_t i;

	for (i = 0; a->list != NULL && i < a->list->n; i++) {
		it = &a->list->v[i];
		if (item_set_find(a, it, false, 0) != i)
			continue; /* a duplicate inside the list */
		if (item_set_find(b, it, false, 0) != SIZE_MAX)
			continue;
		if (item_list_add_copy(out, it) != 0)
			return -1;
	}
	return 0;
}

int
diff_items(const struct item_list *old, const struct item_list *cur,
    struct item_list *added, struct item_list *removed)
{
	struct item_set sold, scur;
	int result = -1;

	item_list_init(added);
	item_list_init(removed);
	if (item_set_init(&sold, old) != 0)
		return -1;
	if (item_set_init(&scur, cur) != 0) {
		item_set_release(&sold);
		return -1;
	}
	item_set_fill(&sold);
	item_set_fill(&scur);
	if (only_in(&scur, &sold, added) != 0 ||
	    only_in(&sold, &scur, removed) != 0)
		goto fail;
	result = 0;
	goto out;
fail:
	item_list_release(added);
	item_list_release(removed);
out:
	item_set_release(&sold);
	item_set_release(&scur);
	return result;
}

/* trailing_counter_start: where a trailing "[12]", "(12)", "[+3]" (with
 * the blanks before it) starts in s[0..n), or n when there is none */
static size_t
trailing_counter_start(const char *s, size_t n)
{
	size_t e = n, i;
	char open;

	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e < 3 || (s[e - 1] != ']' && s[e - 1] != ')'))
		return n;
	open = s[e - 1] == ']' ? '[' : '(';
	i = e - 1;
	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == e - 1)
		return n; /* no digits */
	if (i > 0 && s[i - 1] == '+')
		i--;
	if (i == 0 || s[i - 1] != open)
		return n;
	i--;
	while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	return i;
}

bool
diff_text_edited(const char *before, const char *after)
{
	size_t nb, na;

	if (before == NULL || after == NULL)
		return before != after;
	nb = strlen(before);
	na = strlen(after);
	nb = trailing_counter_start(before, nb);
	na = trailing_counter_start(after, na);
	return nb != na || memcmp(before, after, na) != 0;
}

int
diff_changes(const struct item_list *old, const struct item_list *cur,
    const struct item_list *seen, struct item_list *added,
    struct item_list *changed, struct item_list *removed)
{
	struct item_set sold, scur, sseen;
	const struct item *it;
	size_t i, j;
	int result = -1;

	item_list_init(added);
	item_list_init(changed);
	item_list_init(removed);
	if (item_set_init(&sold, old) != 0)
		return -1;
	if (item_set_init(&scur, cur) != 0) {
		item_set_release(&sold);
		return -1;
	}
	if (item_set_init(&sseen, seen) != 0) {
		item_set_release(&sold);
		item_set_release(&scur);
		return -1;
	}
	item_set_fill(&sold);
	item_set_fill(&scur);
	item_set_fill(&sseen);
	for (i = 0; cur != NULL && i < cur->n; i++) {
		it = &cur->v[i];
		if (item_set_find(&scur, it, false, 0) != i)
			continue; /* a duplicate inside the page */
		j = item_set_find(&sseen, it, false, 0);
		if (j == SIZE_MAX) {
			if (item_list_add_copy(added, it) != 0)
				goto fail;
		} else if (diff_text_edited(seen->v[j].text, it->text)) {
			if (item_list_add_copy(changed, it) != 0)
				goto fail;
		}
	}
	if (only_in(&sold, &scur, removed) != 0)
		goto fail;
	result = 0;
	goto out;
fail:
	item_list_release(added);
	item_list_release(changed);
	item_list_release(removed);
out:
	item_set_release(&sold);
	item_set_release(&scur);
	item_set_release(&sseen);
	return result;
}
