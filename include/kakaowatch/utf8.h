/*
 * utf8: the project's one UTF-8 decoder and its Unicode text rules, on
 * utf8proc (the only user of it): NFKC + case folding for keyword matching,
 * grapheme cluster boundaries for cutting text, display width for terminal
 * tables. No state, no I/O; every function is safe on any bytes.
 *
 * Decoding follows Unicode 15 §3.9 (Table 3-7 well-formed byte sequences:
 * no overlongs, no surrogates, nothing above U+10FFFF), and an ill-formed
 * sequence stands for one U+FFFD per maximal subpart ("U+FFFD substitution
 * of maximal subparts", the practice the WHATWG Encoding Standard's UTF-8
 * decoder requires): "\xe2\x82" then "x" is U+FFFD then "x"; "\xed\xa0\x80"
 * (a surrogate) is three U+FFFD.
 *
 * Grapheme clusters are UAX #29 extended grapheme clusters as utf8proc
 * implements them (utf8proc_unicode_version(); Unicode 15.0 in Debian 12):
 * Hangul syllables and conjoining jamo, combining marks, spacing marks
 * (Thai SARA AM, Bengali and Tamil vowel signs), viramas, ZWJ emoji
 * sequences, emoji modifiers and regional-indicator pairs stay whole. The
 * Indic conjunct rule GB9c (Unicode 15.1) is not applied: a cluster may end
 * after a virama before the next consonant.
 */
#ifndef KAKAOWATCH_UTF8_H
#define KAKAOWATCH_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu /* U+FFFD REPLACEMENT CHARACTER */
#define UTF8_MAX_BYTES 4         /* longest encoded code point */

/*
 * utf8_decode reads one code point from s[0..n) (n >= 1; NUL is an
 * ordinary byte). Returns the length (1..4) of a well-formed sequence with
 * *cp its code point; or minus the length (-1..-3) of the maximal
 * ill-formed subpart there, with *cp = UTF8_REPLACEMENT. Never reads past
 * s[n - 1].
 */
int utf8_decode(const char *s, size_t n, uint32_t *cp);

/*
 * utf8_encode writes code point `cp` (<= U+10FFFF, not a surrogate; others
 * are written as U+FFFD) into out (room for UTF8_MAX_BYTES) and returns
 * the bytes written (1..4). No NUL is added.
 */
size_t utf8_encode(uint32_t cp, char *out);

/* utf8_valid: s[0..n) is well-formed UTF-8 (NUL bytes allowed). */
bool utf8_valid(const char *s, size_t n);

/*
 * utf8_repair returns a heap copy of the bytes s[0..n) (caller frees; they
 * need not be NUL-terminated; s may be NULL when n is 0) as a well-formed
 * UTF-8 C string: every maximal ill-formed subpart (Unicode 15 §3.9, as
 * utf8_decode finds it; the WHATWG decoder's rule) becomes one U+FFFD and
 * NUL bytes are dropped. *outlen (may be NULL) gets its length in bytes,
 * without the NUL. NULL only on out-of-memory.
 */
char *utf8_repair(const char *s, size_t n, size_t *outlen);

/*
 * utf8_casefold_nfkc returns the matching form of NUL-terminated `s` (heap,
 * caller frees; NULL only on out-of-memory; NULL s counts as ""): invalid
 * UTF-8 repaired as utf8_repair does, then Unicode NFKC with full case
 * folding and default ignorable code points removed (the NFKC_Casefold idea
 * of UAX #15 / UTS #46, as utf8proc_map with COMPAT, COMPOSE, CASEFOLD and
 * IGNORE computes it), with one addition: U+0130 (İ) folds to "i" rather
 * than "i" + U+0307, so "İstanbul" matches "istanbul". Effects:
 *   - letters of every cased script fold ("ΛΌΓΟΣ" = "λόγοσ", "Straße" =
 *     "strasse", "ﬁ" = "fi");
 *   - compatibility forms fold: fullwidth "ＲＥＬＥＡＳＥ" = "release",
 *     U+3000 = " ", "①" = "1";
 *   - canonical equivalents are equal: "café" precomposed or as "cafe" +
 *     U+0301, "보안" as syllables or as conjoining jamo;
 *   - accents are kept: "résumé" stays unlike "resume".
 * Pure ASCII input takes a fast path (ASCII lower case).
 */
char *utf8_casefold_nfkc(const char *s);

/*
 * utf8_contains_folded: does `folded_text` contain `folded_needle`, both
 * already in utf8_casefold_nfkc form? A plain substring test on those
 * forms (a needle made of whole characters matches only whole characters,
 * since both sides are composed the same way). An empty or NULL needle
 * never matches; a NULL text never matches.
 */
bool utf8_contains_folded(const char *folded_text, const char *folded_needle);

/*
 * utf8_grapheme_breaks fills brk[0..n) for the code points cps[0..n):
 * brk[k] is true when a grapheme cluster boundary lies before cps[k]
 * (brk[0] is true when n > 0). Code points outside Unicode count as
 * U+FFFD.
 */
void utf8_grapheme_breaks(const uint32_t *cps, size_t n, bool *brk);

/*
 * utf8_grapheme_len returns the length in bytes of the first grapheme
 * cluster of s[0..n) (0 when n == 0; invalid bytes decode as U+FFFD).
 */
size_t utf8_grapheme_len(const char *s, size_t n);

/*
 * utf8_display_width returns the columns NUL-terminated `s` takes on a
 * terminal (NULL counts as ""): each grapheme cluster as wide as its widest
 * code point by utf8proc_charwidth (East Asian Wide and Fullwidth: 2, so a
 * Hangul syllable or CJK ideograph takes 2; combining marks and controls:
 * 0; others 1), invalid bytes 1 each (as U+FFFD).
 */
size_t utf8_display_width(const char *s);

#endif
