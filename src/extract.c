/*
 * extract: charset decoding, lenient HTML parse, compiled XPath -> items
 * (see extract.h). The only user of libxml2.
 */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "extract_html5.h"
#include "extract_int.h"
#include "kakaowatch/buf.h"
#include "kakaowatch/extract.h"
#include "kakaowatch/utf8.h"

/* bytes of the page the <meta> prescan looks at */
#define PRESCAN_MAX 1024
/* bytes of an XPath expression quoted in error messages */
#define XPATH_QUOTE_MAX 200

struct extract_xpath {
	xmlXPathCompExprPtr comp;
};

/*
 * Charset labels of the WHATWG Encoding Standard ("Names and labels"), each
 * with the glibc iconv name that decodes it. euc-kr is windows-949 there,
 * which iconv calls CP949. The replacement encoding's labels and
 * x-user-defined are left out (unknown labels are skipped); iso-2022-kr and
 * a few labels seen on Korean sites in the wild (cp949, uhc, x-windows-949,
 * ks_c_5601) are added. One encoding's labels share a row (clang-format
 * would put one label a line).
 */
/* clang-format off */
static const struct {
	const char *label;
	const char *name;
} charset_labels[] = {
	{ "unicode-1-1-utf-8", "UTF-8" }, { "unicode11utf8", "UTF-8" },
	{ "unicode20utf8", "UTF-8" }, { "utf-8", "UTF-8" },
	{ "utf8", "UTF-8" }, { "x-unicode20utf8", "UTF-8" },
	{ "866", "IBM866" }, { "cp866", "IBM866" }, { "csibm866", "IBM866" },
	{ "ibm866", "IBM866" },
	{ "csisolatin2", "ISO-8859-2" }, { "iso-8859-2", "ISO-8859-2" },
	{ "iso-ir-101", "ISO-8859-2" }, { "iso8859-2", "ISO-8859-2" },
	{ "iso88592", "ISO-8859-2" }, { "iso_8859-2", "ISO-8859-2" },
	{ "iso_8859-2:1987", "ISO-8859-2" }, { "l2", "ISO-8859-2" },
	{ "latin2", "ISO-8859-2" },
	{ "csisolatin3", "ISO-8859-3" }, { "iso-8859-3", "ISO-8859-3" },
	{ "iso-ir-109", "ISO-8859-3" }, { "iso8859-3", "ISO-8859-3" },
	{ "iso88593", "ISO-8859-3" }, { "iso_8859-3", "ISO-8859-3" },
	{ "iso_8859-3:1988", "ISO-8859-3" }, { "l3", "ISO-8859-3" },
	{ "latin3", "ISO-8859-3" },
	{ "csisolatin4", "ISO-8859-4" }, { "iso-8859-4", "ISO-8859-4" },
	{ "iso-ir-110", "ISO-8859-4" }, { "iso8859-4", "ISO-8859-4" },
	{ "iso88594", "ISO-8859-4" }, { "iso_8859-4", "ISO-8859-4" },
	{ "iso_8859-4:1988", "ISO-8859-4" }, { "l4", "ISO-8859-4" },
	{ "latin4", "ISO-8859-4" },
	{ "csisolatincyrillic", "ISO-8859-5" }, { "cyrillic", "ISO-8859-5" },
	{ "iso-8859-5", "ISO-8859-5" }, { "iso-ir-144", "ISO-8859-5" },
	{ "iso8859-5", "ISO-8859-5" }, { "iso88595", "ISO-8859-5" },
	{ "iso_8859-5", "ISO-8859-5" }, { "iso_8859-5:1988", "ISO-8859-5" },
	{ "arabic", "ISO-8859-6" }, { "asmo-708", "ISO-8859-6" },
	{ "csiso88596e", "ISO-8859-6" }, { "csiso88596i", "ISO-8859-6" },
	{ "csisolatinarabic", "ISO-8859-6" }, { "ecma-114", "ISO-8859-6" },
	{ "iso-8859-6", "ISO-8859-6" }, { "iso-8859-6-e", "ISO-8859-6" },
	{ "iso-8859-6-i", "ISO-8859-6" }, { "iso-ir-127", "ISO-8859-6" },
	{ "iso8859-6", "ISO-8859-6" }, { "iso88596", "ISO-8859-6" },
	{ "iso_8859-6", "ISO-8859-6" }, { "iso_8859-6:1987", "ISO-8859-6" },
	{ "csisolatingreek", "ISO-8859-7" }, { "ecma-118", "ISO-8859-7" },
	{ "elot_928", "ISO-8859-7" }, { "greek", "ISO-8859-7" },
	{ "greek8", "ISO-8859-7" }, { "iso-8859-7", "ISO-8859-7" },
	{ "iso-ir-126", "ISO-8859-7" }, { "iso8859-7", "ISO-8859-7" },
	{ "iso88597", "ISO-8859-7" }, { "iso_8859-7", "ISO-8859-7" },
	{ "iso_8859-7:1987", "ISO-8859-7" }, { "sun_eu_greek", "ISO-8859-7" },
	{ "csiso88598e", "ISO-8859-8" }, { "csisolatinhebrew", "ISO-8859-8" },
	{ "hebrew", "ISO-8859-8" }, { "iso-8859-8", "ISO-8859-8" },
	{ "iso-8859-8-e", "ISO-8859-8" }, { "iso-ir-138", "ISO-8859-8" },
	{ "iso8859-8", "ISO-8859-8" }, { "iso88598", "ISO-8859-8" },
	{ "iso_8859-8", "ISO-8859-8" }, { "iso_8859-8:1988", "ISO-8859-8" },
	{ "visual", "ISO-8859-8" }, { "csiso88598i", "ISO-8859-8" },
	{ "iso-8859-8-i", "ISO-8859-8" }, { "logical", "ISO-8859-8" },
	{ "csisolatin6", "ISO-8859-10" }, { "iso-8859-10", "ISO-8859-10" },
	{ "iso-ir-157", "ISO-8859-10" }, { "iso8859-10", "ISO-8859-10" },
	{ "iso885910", "ISO-8859-10" }, { "l6", "ISO-8859-10" },
	{ "latin6", "ISO-8859-10" },
	{ "iso-8859-13", "ISO-8859-13" }, { "iso8859-13", "ISO-8859-13" },
	{ "iso885913", "ISO-8859-13" },
	{ "iso-8859-14", "ISO-8859-14" }, { "iso8859-14", "ISO-8859-14" },
	{ "iso885914", "ISO-8859-14" },
	{ "csisolatin9", "ISO-8859-15" }, { "iso-8859-15", "ISO-8859-15" },
	{ "iso8859-15", "ISO-8859-15" }, { "iso885915", "ISO-8859-15" },
	{ "iso_8859-15", "ISO-8859-15" }, { "l9", "ISO-8859-15" },
	{ "iso-8859-16", "ISO-8859-16" },
	{ "cskoi8r", "KOI8-R" }, { "koi", "KOI8-R" }, { "koi8", "KOI8-R" },
	{ "koi8-r", "KOI8-R" }, { "koi8_r", "KOI8-R" },
	{ "koi8-ru", "KOI8-U" }, { "koi8-u", "KOI8-U" },
	{ "csmacintosh", "MACINTOSH" }, { "mac", "MACINTOSH" },
	{ "macintosh", "MACINTOSH" }, { "x-mac-roman", "MACINTOSH" },
	{ "dos-874", "CP874" }, { "iso-8859-11", "CP874" },
	{ "iso8859-11", "CP874" }, { "iso885911", "CP874" },
	{ "tis-620", "CP874" }, { "windows-874", "CP874" },
	{ "cp1250", "CP1250" }, { "windows-1250", "CP1250" },
	{ "x-cp1250", "CP1250" },
	{ "cp1251", "CP1251" }, { "windows-1251", "CP1251" },
	{ "x-cp1251", "CP1251" },
	{ "ansi_x3.4-1968", "CP1252" }, { "ascii", "CP1252" },
	{ "cp1252", "CP1252" }, { "cp819", "CP1252" },
	{ "csisolatin1", "CP1252" }, { "ibm819", "CP1252" },
	{ "iso-8859-1", "CP1252" }, { "iso-ir-100", "CP1252" },
	{ "iso8859-1", "CP1252" }, { "iso88591", "CP1252" },
	{ "iso_8859-1", "CP1252" }, { "iso_8859-1:1987", "CP1252" },
	{ "l1", "CP1252" }, { "latin1", "CP1252" },
	{ "us-ascii", "CP1252" }, { "windows-1252", "CP1252" },
	{ "x-cp1252", "CP1252" },
	{ "cp1253", "CP1253" }, { "windows-1253", "CP1253" },
	{ "x-cp1253", "CP1253" },
	{ "cp1254", "CP1254" }, { "csisolatin5", "CP1254" },
	{ "iso-8859-9", "CP1254" }, { "iso-ir-148", "CP1254" },
	{ "iso8859-9", "CP1254" }, { "iso88599", "CP1254" },
	{ "iso_8859-9", "CP1254" }, { "iso_8859-9:1989", "CP1254" },
	{ "l5", "CP1254" }, { "latin5", "CP1254" },
	{ "windows-1254", "CP1254" }, { "x-cp1254", "CP1254" },
	{ "cp1255", "CP1255" }, { "windows-1255", "CP1255" },
	{ "x-cp1255", "CP1255" },
	{ "cp1256", "CP1256" }, { "windows-1256", "CP1256" },
	{ "x-cp1256", "CP1256" },
	{ "cp1257", "CP1257" }, { "windows-1257", "CP1257" },
	{ "x-cp1257", "CP1257" },
	{ "cp1258", "CP1258" }, { "windows-1258", "CP1258" },
	{ "x-cp1258", "CP1258" },
	{ "x-mac-cyrillic", "MAC-CYRILLIC" },
	{ "x-mac-ukrainian", "MAC-CYRILLIC" },
	{ "chinese", "GBK" }, { "csgb2312", "GBK" },
	{ "csiso58gb231280", "GBK" }, { "gb2312", "GBK" }, { "gb_2312", "GBK" },
	{ "gb_2312-80", "GBK" }, { "gbk", "GBK" }, { "iso-ir-58", "GBK" },
	{ "x-gbk", "GBK" },
	{ "gb18030", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "big5-hkscs", "BIG5-HKSCS" },
	{ "cn-big5", "BIG5-HKSCS" }, { "csbig5", "BIG5-HKSCS" },
	{ "x-x-big5", "BIG5-HKSCS" },
	{ "cseucpkdfmtjapanese", "EUC-JP" }, { "euc-jp", "EUC-JP" },
	{ "x-euc-jp", "EUC-JP" },
	{ "csiso2022jp", "ISO-2022-JP" }, { "iso-2022-jp", "ISO-2022-JP" },
	{ "csshiftjis", "CP932" }, { "ms932", "CP932" },
	{ "ms_kanji", "CP932" }, { "shift-jis", "CP932" },
	{ "shift_jis", "CP932" }, { "sjis", "CP932" },
	{ "windows-31j", "CP932" }, { "x-sjis", "CP932" },
	{ "cseuckr", "CP949" }, { "csksc56011987", "CP949" },
	{ "euc-kr", "CP949" }, { "iso-ir-149", "CP949" },
	{ "korean", "CP949" }, { "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601-1989", "CP949" }, { "ksc5601", "CP949" },
	{ "ksc_5601", "CP949" }, { "windows-949", "CP949" },
	{ "x-windows-949", "CP949" }, { "ks_c_5601", "CP949" },
	{ "cp949", "CP949" }, { "ms949", "CP949" }, { "uhc", "CP949" },
	{ "csiso2022kr", "ISO-2022-KR" }, { "iso-2022-kr", "ISO-2022-KR" },
	{ "unicodefffe", "UTF-16BE" }, { "utf-16be", "UTF-16BE" },
	{ "csunicode", "UTF-16LE" }, { "iso-10646-ucs-2", "UTF-16LE" },
	{ "ucs-2", "UTF-16LE" }, { "unicode", "UTF-16LE" },
	{ "unicodefeff", "UTF-16LE" }, { "utf-16", "UTF-16LE" },
	{ "utf-16le", "UTF-16LE" },
};
/* clang-format on */

/* ---- libxml2 error output ---------------------------------------------- */

static void
silent_generic_error(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void
silent_structured_error(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

/*
 * libxml2 writes some errors straight to xmlGenericError (e.g. "function foo
 * not found" during XPath evaluation); keep them off stderr even when
 * extract_global_init was not called.
 */
static void
silence_libxml(void)
{
	xmlSetGenericErrorFunc(NULL, silent_generic_error);
	xmlSetStructuredErrorFunc(NULL, silent_structured_error);
}

void
extract_global_init(void)
{
	xmlInitParser();
	silence_libxml();
}

void
extract_global_cleanup(void)
{
	xmlCleanupParser();
}

/* ---- charset decision --------------------------------------------------- */

static bool
is_ascii_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* charset_lookup maps a label (trimmed here) to an iconv name, or NULL. */
static const char *
charset_lookup(const char *label, size_t len)
{
	size_t i;

	while (len > 0 && is_ascii_ws((unsigned char)*label)) {
		label++;
		len--;
	}
	while (len > 0 && is_ascii_ws((unsigned char)label[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	for (i = 0; i < sizeof(charset_labels) / sizeof(charset_labels[0]);
	     i++) {
		if (strlen(charset_labels[i].label) == len &&
		    strncasecmp(charset_labels[i].label, label, len) == 0)
			return charset_labels[i].name;
	}
	return NULL;
}

static bool
iconv_knows(const char *name)
{
	iconv_t cd;

	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* mem_casefind: first case-insensitive occurrence of `word` in s[0..len) */
static const char *
mem_casefind(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word), i;

	for (i = 0; wlen <= len && i <= len - wlen; i++) {
		if (strncasecmp(s + i, word, wlen) == 0)
			return s + i;
	}
	return NULL;
}

/*
 * charset_from_content: the WHATWG "algorithm for extracting a character
 * encoding from a meta element" on s[0..len); also used, leniently, on the
 * HTTP Content-Type value. Returns an iconv name or NULL.
 */
static const char *
charset_from_content(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *hit, *v;
	char q;

	for (;;) {
		hit = mem_casefind(p, (size_t)(end - p), "charset");
		if (hit == NULL)
			return NULL;
		p = hit + 7;
		while (p < end && is_ascii_ws((unsigned char)*p))
			p++;
		if (p < end && *p == '=')
			break;
	}
	p++;
	while (p < end && is_ascii_ws((unsigned char)*p))
		p++;
	if (p == end)
		return NULL;
	if (*p == '"' || *p == '\'') {
		q = *p++;
		v = p;
		while (p < end && *p != q)
			p++;
		if (p == end)
			return NULL;
		return charset_lookup(v, (size_t)(p - v));
	}
	v = p;
	while (p < end && *p != ';' && !is_ascii_ws((unsigned char)*p))
		p++;
	return charset_lookup(v, (size_t)(p - v));
}

static const char *
charset_from_bom(const unsigned char *b, size_t len, size_t *bom_len)
{
	if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
		*bom_len = 3;
		return "UTF-8";
	}
	if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
		*bom_len = 2;
		return "UTF-16LE";
	}
	if (len >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
		*bom_len = 2;
		return "UTF-16BE";
	}
	*bom_len = 0;
	return NULL;
}

struct span {
	const char *p;
	size_t len;
};

static bool
span_is(const struct span *s, const char *word)
{
	return s->len == strlen(word) && strncasecmp(s->p, word, s->len) == 0;
}

/*
 * prescan_attr: the WHATWG prescan's "get an attribute" on b[*pos..end).
 * Returns 1 with name/value spans, 0 at the end of the tag (*pos at the
 * ">") or of the data (*pos = end).
 */
static int
prescan_attr(const char *b, size_t end, size_t *pos, struct span *name,
    struct span *value)
{
	size_t i = *pos;
	char q;

	while (i < end && (is_ascii_ws((unsigned char)b[i]) || b[i] == '/'))
		i++;
	if (i < end && b[i] == '>') {
		*pos = i; /* the caller moves past the ">" */
		return 0;
	}
	if (i >= end)
		goto none;
	name->p = b + i;
	value->p = b + i;
	value->len = 0;
	for (;;) {
		if (i >= end)
			goto none;
		if (b[i] == '=' && b + i > name->p)
			break;
		if (is_ascii_ws((unsigned char)b[i])) {
			name->len = (size_t)(b + i - name->p);
			while (i < end && is_ascii_ws((unsigned char)b[i]))
				i++;
			if (i >= end)
				goto none;
			if (b[i] != '=') {
				*pos = i;
				return 1;
			}
			goto value;
		}
		if (b[i] == '/' || b[i] == '>') {
			name->len = (size_t)(b + i - name->p);
			*pos = i;
			return 1;
		}
		i++;
	}
	name->len = (size_t)(b + i - name->p);
value:
	i++; /* the "=" */
	while (i < end && is_ascii_ws((unsigned char)b[i]))
		i++;
	if (i >= end)
		goto none;
	if (b[i] == '"' || b[i] == '\'') {
		q = b[i++];
		value->p = b + i;
		while (i < end && b[i] != q)
			i++;
		if (i >= end)
			goto none;
		value->len = (size_t)(b + i - value->p);
		*pos = i + 1;
		return 1;
	}
	if (b[i] == '>') {
		*pos = i;
		return 1;
	}
	value->p = b + i;
	while (i < end && b[i] != '>' && !is_ascii_ws((unsigned char)b[i]))
		i++;
	value->len = (size_t)(b + i - value->p);
	*pos = i;
	return 1;
none:
	*pos = end;
	return 0;
}

/* prescan_meta: one <meta> tag's charset, or NULL (WHATWG prescan) */
static const char *
prescan_meta(const char *b, size_t end, size_t *pos)
{
	struct span name, value;
	bool got_pragma = false, seen_he = false, seen_content = false;
	bool seen_charset = false;
	int need_pragma = -1; /* -1 null, 0 false, 1 true */
	const char *cs = NULL;

	while (prescan_attr(b, end, pos, &name, &value)) {
		if (span_is(&name, "http-equiv") && !seen_he) {
			seen_he = true;
			if (span_is(&value, "content-type"))
				got_pragma = true;
		} else if (span_is(&name, "content") && !seen_content) {
			seen_content = true;
			if (cs == NULL) {
				cs = charset_from_content(value.p, value.len);
				if (cs != NULL)
					need_pragma = 1;
			}
		} else if (span_is(&name, "charset") && !seen_charset) {
			seen_charset = true;
			cs = charset_lookup(value.p, value.len);
			need_pragma = 0;
		}
	}
	/* the data ended inside the tag: no <meta> (a tokenizer drops a
	 * tag cut by the end of the file) */
	if (*pos >= end)
		return NULL;
	if (need_pragma == -1 || cs == NULL)
		return NULL;
	if (need_pragma == 1 && !got_pragma)
		return NULL;
	/* a page that an ASCII prescan can read is not UTF-16 */
	if (strncmp(cs, "UTF-16", 6) == 0)
		cs = "UTF-8";
	return cs;
}

static bool
is_ascii_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * charset_prescan: the WHATWG HTML "prescan a byte stream to determine its
 * encoding", over the first PRESCAN_MAX bytes.
 */
static const char *
charset_prescan(const char *b, size_t len)
{
	size_t end = len < PRESCAN_MAX ? len : PRESCAN_MAX, pos = 0;
	struct span name, value;
	const char *cs, *close;

	while (pos < end) {
		if (b[pos] != '<') {
			pos++;
			continue;
		}
		if (end - pos >= 4 && memcmp(b + pos, "<!--", 4) == 0) {
			/* "-->" from pos + 2 on, so "<!-->" closes too */
			for (pos += 2;
			     pos + 3 <= end && memcmp(b + pos, "-->", 3) != 0;
			     pos++)
				;
			if (pos + 3 > end)
				return NULL;
			pos += 3;
		} else if (end - pos >= 6 &&
			   strncasecmp(b + pos, "<meta", 5) == 0 &&
			   (is_ascii_ws((unsigned char)b[pos + 5]) ||
			       b[pos + 5] == '/')) {
			pos += 5;
			cs = prescan_meta(b, end, &pos);
			if (cs != NULL)
				return cs;
		} else if (end - pos >= 2 &&
			   (is_ascii_alpha((unsigned char)b[pos + 1]) ||
			       (b[pos + 1] == '/' && end - pos >= 3 &&
				   is_ascii_alpha(
				       (unsigned char)b[pos + 2])))) {
			/* a tag: skip its name, then its attributes */
			pos++;
			while (pos < end && b[pos] != '>' &&
			       !is_ascii_ws((unsigned char)b[pos]))
				pos++;
			while (prescan_attr(b, end, &pos, &name, &value))
				;
		} else if (end - pos >= 2 &&
			   (b[pos + 1] == '!' || b[pos + 1] == '/' ||
			       b[pos + 1] == '?')) {
			close = memchr(b + pos, '>', end - pos);
			if (close == NULL)
				return NULL;
			pos = (size_t)(close - b) + 1;
		} else {
			pos++;
		}
	}
	return NULL;
}

/* where the charset of a page came from (HTML Standard: its confidence) */
enum charset_source {
	CS_OVERRIDE, /* the watch's encoding: (certain) */
	CS_HTTP,     /* the Content-Type charset (certain) */
	CS_BOM,      /* a byte order mark (certain) */
	CS_META,     /* the prescan's <meta> (tentative) */
	CS_DEFAULT,  /* nothing declared it (tentative) */
};

static const char *
detect_charset(const char *body, size_t len, const char *content_type,
    const char *encoding, enum charset_source *src)
{
	const char *cs, *bom;
	size_t bom_len;

	if (encoding != NULL && *encoding != '\0') {
		*src = CS_OVERRIDE;
		cs = charset_lookup(encoding, strlen(encoding));
		if (cs != NULL)
			return cs;
		if (iconv_knows(encoding))
			return encoding;
	}
	bom = body != NULL ?
		  charset_from_bom((const unsigned char *)body, len, &bom_len) :
		  NULL;
	if (content_type != NULL) {
		*src = CS_HTTP;
		cs = charset_from_content(content_type, strlen(content_type));
		/* "utf-16" says nothing about byte order; a BOM does */
		if (cs != NULL && bom != NULL &&
		    strncmp(cs, "UTF-16", 6) == 0 &&
		    strncmp(bom, "UTF-16", 6) == 0)
			return bom;
		if (cs != NULL)
			return cs;
	}
	*src = CS_BOM;
	if (bom != NULL)
		return bom;
	*src = CS_META;
	cs = body != NULL ? charset_prescan(body, len) : NULL;
	if (cs == NULL)
		*src = CS_DEFAULT;
	return cs;
}

const char *
extract_detect_charset(const char *body, size_t len, const char *content_type,
    const char *encoding)
{
	enum charset_source src;

	return detect_charset(body, len, content_type, encoding, &src);
}

/* the charset of pages that declare none and are not UTF-8 */
static const char *default_cs = "CP949";
static char default_cs_buf[64];

int
extract_set_default_encoding(const char *label, struct kw_err *err)
{
	const char *cs;

	if (label == NULL || *label == '\0') {
		default_cs = "CP949";
		return 0;
	}
	cs = charset_lookup(label, strlen(label));
	if (cs != NULL) {
		default_cs = cs;
		return 0;
	}
	if (strlen(label) < sizeof(default_cs_buf) && iconv_knows(label)) {
		snprintf(default_cs_buf, sizeof(default_cs_buf), "%s", label);
		default_cs = default_cs_buf;
		return 0;
	}
	return kw_err_set(err, "unknown encoding '%s'", label);
}

static const char *
default_charset(void)
{
	return default_cs;
}

int
extract_encoding_check(const char *label, char *msg, size_t msgsize)
{
	if (label != NULL && charset_lookup(label, strlen(label)) != NULL)
		return 0;
	if (label != NULL && *label != '\0' && iconv_knows(label))
		return 0;
	snprintf(msg, msgsize,
	    "unknown encoding '%s': use a charset label such as utf-8, "
	    "euc-kr, cp949, shift_jis or iso-8859-1",
	    label ? label : "");
	return -1;
}

/* ---- decoding to UTF-8 -------------------------------------------------- */

static const char utf8_replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/*
 * utf8_check: the length (1..4) of the well-formed UTF-8 sequence at
 * s[0..n), or 0 with *bad = the length of its maximal ill-formed subpart
 * (>= 1), which one U+FFFD replaces (utf8_decode; WHATWG UTF-8 decoder).
 */
static size_t
utf8_check(const unsigned char *s, size_t n, size_t *bad)
{
	uint32_t cp;
	int len;

	*bad = 0;
	if (s[0] < 0x80)
		return 1;
	len = utf8_decode((const char *)s, n, &cp);
	if (len < 0) {
		*bad = (size_t)-len;
		return 0;
	}
	return (size_t)len;
}

/* utf8_clean: s[0..n) is well-formed UTF-8 without NUL bytes */
static bool
utf8_clean(const unsigned char *s, size_t n)
{
	const uint64_t high = 0x8080808080808080ULL;
	const uint64_t ones = 0x0101010101010101ULL;
	size_t i = 0, l, bad;
	uint64_t v;

	while (i < n) {
		if (n - i >= 8) {
			memcpy(&v, s + i, 8);
			/* 8 ASCII bytes, none of them NUL */
			if ((v & high) == 0 && ((v - ones) & ~v & high) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] == 0)
			return false;
		l = utf8_check(s + i, n - i, &bad);
		if (l == 0)
			return false;
		i += l;
	}
	return true;
}

static int
grow_out(char **out, size_t *cap, char **op, size_t *ol, size_t need)
{
	size_t used = (size_t)(*op - *out), ncap = *cap;
	char *p;

	while (ncap - used < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (ncap == *cap)
		return 0;
	p = realloc(*out, ncap);
	if (p == NULL)
		return -1;
	*out = p;
	*cap = ncap;
	*op = p + used;
	*ol = ncap - used;
	return 0;
}

/*
 * iconv_to_utf8 converts in[0..inlen) from charset `cs` into a heap UTF-8
 * string (caller frees). A sequence iconv cannot decode becomes one U+FFFD
 * and decoding resumes one code unit later, so one bad byte never loses the
 * rest of the page (libxml2's own iconv use stops at the first one).
 */
static char *
iconv_to_utf8(const char *cs, const char *in, size_t inlen, size_t *outlen,
    struct kw_err *err)
{
	iconv_t cd;
	char *out = NULL, *ip = (char *)in, *op;
	size_t cap, il = inlen, ol, unit = 1, r;
	int e;

	cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1) {
		kw_err_set(err, "charset '%s' is not supported by iconv", cs);
		return NULL;
	}
	if (strncasecmp(cs, "UTF-16", 6) == 0 ||
	    strncasecmp(cs, "UCS-2", 5) == 0)
		unit = 2;
	else if (strncasecmp(cs, "UTF-32", 6) == 0 ||
		 strncasecmp(cs, "UCS-4", 5) == 0)
		unit = 4;
	if (inlen > SIZE_MAX / 2 - 64)
		goto nomem;
	cap = inlen + inlen / 2 + 64;
	out = malloc(cap);
	if (out == NULL)
		goto nomem;
	op = out;
	ol = cap - 1; /* room for the NUL */
	while (il > 0) {
		r = iconv(cd, &ip, &il, &op, &ol);
		if (r != (size_t)-1)
			break;
		e = errno; /* realloc below may change errno */
		if (e == E2BIG) {
			ol++;
			if (grow_out(&out, &cap, &op, &ol, cap) != 0)
				goto nomem;
			ol--;
			continue;
		}
		if (e != EILSEQ && e != EINVAL) {
			kw_err_set(err, "cannot decode page from %s: %s", cs,
			    strerror(e));
			goto fail;
		}
		/* EILSEQ: an undecodable sequence; EINVAL: cut at the end */
		if (ol < 3) {
			ol++;
			if (grow_out(&out, &cap, &op, &ol, 64) != 0)
				goto nomem;
			ol--;
		}
		memcpy(op, utf8_replacement, 3);
		op += 3;
		ol -= 3;
		if (e == EINVAL) {
			il = 0;
			break;
		}
		r = il < unit ? il : unit;
		ip += r;
		il -= r;
	}
	/* flush a stateful decoder (ISO-2022-*) */
	for (;;) {
		r = iconv(cd, NULL, NULL, &op, &ol);
		if (r != (size_t)-1 || errno != E2BIG)
			break;
		ol++;
		if (grow_out(&out, &cap, &op, &ol, 64) != 0)
			goto nomem;
		ol--;
	}
	*op = '\0';
	*outlen = (size_t)(op - out);
	iconv_close(cd);
	return out;
nomem:
	kw_err_set(err, "out of memory decoding page from %s", cs);
fail:
	free(out);
	iconv_close(cd);
	return NULL;
}

/*
 * decode_body turns the page into UTF-8 without NUL bytes for libxml2:
 * *text is `body` itself (past a BOM) when it already is, else a heap copy
 * also stored in *owned (caller frees). Returns 0 or -1 with `err`.
 */
static int
decode_body(const char *body, size_t len, const char *cs, const char **text,
    size_t *textlen, char **owned, struct kw_err *err)
{
	const unsigned char *b = (const unsigned char *)body;
	const char *bom_cs;
	char *conv, *clean;
	size_t bom_len, n, m;

	*owned = NULL;
	if (cs == NULL)
		cs = "UTF-8";
	bom_cs = charset_from_bom(b, len, &bom_len);
	if (bom_cs != NULL && strcmp(bom_cs, cs) == 0) {
		b += bom_len;
		len -= bom_len;
	}
	if (strcmp(cs, "UTF-8") == 0) {
		if (utf8_clean(b, len)) {
			*text = (const char *)b;
			*textlen = len;
			return 0;
		}
		/* ill-formed sequences become U+FFFD, NUL bytes go (the
		 * HTML tree builder ignores them in text) */
		*owned = utf8_repair((const char *)b, len, textlen);
		if (*owned == NULL)
			return kw_err_set(err, "out of memory decoding page");
		*text = *owned;
		return 0;
	}
	conv = iconv_to_utf8(cs, (const char *)b, len, &n, err);
	if (conv == NULL)
		return -1;
	if (!utf8_clean((const unsigned char *)conv, n)) {
		/* NUL bytes decoded from the page (iconv emits valid UTF-8) */
		clean = utf8_repair(conv, n, &m);
		free(conv);
		if (clean == NULL)
			return kw_err_set(err, "out of memory decoding page");
		conv = clean;
		n = m;
	}
	*owned = conv;
	*text = conv;
	*textlen = n;
	return 0;
}

/* ---- item text ---------------------------------------------------------- */

struct text_acc {
	struct buf b;
	bool space; /* whitespace seen since the last character */
};

static int
text_emit(struct text_acc *t, const void *s, size_t n)
{
	if (t->space && t->b.len > 0 && buf_append(&t->b, " ", 1) != 0)
		return -1;
	t->space = false;
	return buf_append(&t->b, s, n);
}

/*
 * windows-1252 for U+0080..U+009F, as the HTML spec reads numeric character
 * references to C1 controls (&#150; is "–"); 0 where windows-1252 has no
 * character (read as a control: whitespace).
 */
static const uint16_t c1_cp1252[32] = {
	0x20AC,
	0,
	0x201A,
	0x0192,
	0x201E,
	0x2026,
	0x2020,
	0x2021,
	0x02C6,
	0x2030,
	0x0160,
	0x2039,
	0x0152,
	0,
	0x017D,
	0,
	0,
	0x2018,
	0x2019,
	0x201C,
	0x201D,
	0x2022,
	0x2013,
	0x2014,
	0x02DC,
	0x2122,
	0x0161,
	0x203A,
	0x0153,
	0,
	0x017E,
	0x0178,
};

/* Unicode White_Space above U+00A0 (U+0085 is handled as a C1 above) */
static bool
is_unicode_space(uint32_t cp)
{
	return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
	       cp == 0x3000;
}

/* text_add appends s[0..n) to the item text, collapsing whitespace. */
static int
text_add(struct text_acc *t, const unsigned char *s, size_t n)
{
	size_t i = 0, j, l;
	uint32_t cp;
	char enc[UTF8_MAX_BYTES];
	int dl;

	while (i < n) {
		if (s[i] < 0x80) {
			if (s[i] <= 0x20 || s[i] == 0x7F) {
				t->space = true;
				i++;
				continue;
			}
			for (j = i; j < n && s[j] > 0x20 && s[j] < 0x7F; j++)
				;
			if (text_emit(t, s + i, j - i) != 0)
				return -1;
			i = j;
			continue;
		}
		dl = utf8_decode((const char *)s + i, n - i, &cp);
		if (dl < 0) {
			if (text_emit(t, utf8_replacement, 3) != 0)
				return -1;
			i += (size_t)-dl;
			continue;
		}
		l = (size_t)dl;
		if (cp >= 0x80 && cp <= 0x9F) {
			cp = c1_cp1252[cp - 0x80];
			if (cp == 0) {
				t->space = true;
			} else {
				if (text_emit(t, enc, utf8_encode(cp, enc)) !=
				    0)
					return -1;
			}
		} else if (is_unicode_space(cp)) {
			t->space = true;
		} else if (cp != 0xFEFF) { /* a stray BOM is dropped */
			if (text_emit(t, s + i, l) != 0)
				return -1;
		}
		i += l;
	}
	return 0;
}

static int
text_add_str(struct text_acc *t, const xmlChar *s)
{
	if (s == NULL)
		return 0;
	return text_add(t, s, strlen((const char *)s));
}

enum element_kind { EK_INLINE, EK_BLOCK, EK_SKIP };

static int
cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* element_kind: how an element's boundaries and content read as text */
static enum element_kind
element_kind(const xmlChar *name)
{
	/* sorted (strcmp): the bsearch below needs it */
	static const char *const blocks[] = {
		"address",
		"article",
		"aside",
		"blockquote",
		"body",
		"br",
		"caption",
		"center",
		"dd",
		"details",
		"dialog",
		"dir",
		"div",
		"dl",
		"dt",
		"fieldset",
		"figcaption",
		"figure",
		"footer",
		"form",
		"frameset",
		"h1",
		"h2",
		"h3",
		"h4",
		"h5",
		"h6",
		"header",
		"hgroup",
		"hr",
		"html",
		"legend",
		"li",
		"main",
		"menu",
		"nav",
		"ol",
		"optgroup",
		"option",
		"p",
		"pre",
		"section",
		"summary",
		"table",
		"tbody",
		"td",
		"tfoot",
		"th",
		"thead",
		"title",
		"tr",
		"ul",
	};
	const char *n = (const char *)name;

	if (n == NULL)
		return EK_INLINE;
	if (strcmp(n, "script") == 0 || strcmp(n, "style") == 0 ||
	    strcmp(n, "noscript") == 0 || strcmp(n, "template") == 0)
		return EK_SKIP;
	if (bsearch(n, blocks, sizeof(blocks) / sizeof(blocks[0]),
		sizeof(blocks[0]), cmp_name) != NULL)
		return EK_BLOCK;
	return EK_INLINE;
}

/*
 * text_add_tree appends the text under `top` in document order (iterative:
 * broken pages nest deeply), see extract.h for what counts.
 */
static int
text_add_tree(struct text_acc *t, xmlNodePtr top)
{
	xmlNodePtr cur = top->children;
	enum element_kind k;
	bool descend;

	while (cur != NULL) {
		descend = false;
		if (cur->type == XML_TEXT_NODE ||
		    cur->type == XML_CDATA_SECTION_NODE) {
			if (text_add_str(t, cur->content) != 0)
				return -1;
		} else if (cur->type == XML_ELEMENT_NODE) {
			k = element_kind(cur->name);
			if (k == EK_BLOCK)
				t->space = true;
			descend = k != EK_SKIP;
		}
		if (descend && cur->children != NULL) {
			cur = cur->children;
			continue;
		}
		for (;;) {
			if (cur->type == XML_ELEMENT_NODE &&
			    element_kind(cur->name) == EK_BLOCK)
				t->space = true;
			if (cur->next != NULL) {
				cur = cur->next;
				break;
			}
			cur = cur->parent;
			if (cur == NULL || cur == top) {
				cur = NULL;
				break;
			}
		}
	}
	return 0;
}

/* node_text: the item text of any node type into t->b (see extract.h) */
static int
node_text(struct text_acc *t, xmlNodePtr node)
{
	xmlNodePtr c;
	xmlChar *s;
	int rc;

	switch (node->type) {
	case XML_ELEMENT_NODE:
	case XML_DOCUMENT_NODE:
	case XML_HTML_DOCUMENT_NODE:
	case XML_DOCUMENT_FRAG_NODE:
		return text_add_tree(t, node);
	case XML_ATTRIBUTE_NODE:
		for (c = node->children; c != NULL; c = c->next) {
			if (text_add_str(t, c->content) != 0)
				return -1;
		}
		return 0;
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
	case XML_COMMENT_NODE:
	case XML_PI_NODE:
		return text_add_str(t, node->content);
	case XML_NAMESPACE_DECL:
		return text_add_str(t, ((xmlNsPtr)node)->href);
	default:
		s = xmlXPathCastNodeToString(node);
		if (s == NULL)
			return -1;
		rc = text_add_str(t, s);
		xmlFree(s);
		return rc;
	}
}

/* ---- item link ---------------------------------------------------------- */

struct extract_run {
	xmlDocPtr doc;
	const char *page_url;
	char *base;     /* document base URL (heap), once computed */
	bool base_done; /* base computed (it may be NULL) */
	struct text_acc text;
};

static bool
is_anchor(xmlNodePtr n)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL &&
	       xmlStrcasecmp(n->name, BAD_CAST "a") == 0 &&
	       xmlHasProp(n, BAD_CAST "href") != NULL;
}

/* first element named `name` with an href, in document order, under top */
static xmlNodePtr
find_first(xmlNodePtr top, const char *name)
{
	xmlNodePtr cur = top->children;

	while (cur != NULL) {
		if (cur->type == XML_ELEMENT_NODE && cur->name != NULL &&
		    xmlStrcasecmp(cur->name, BAD_CAST name) == 0 &&
		    xmlHasProp(cur, BAD_CAST "href") != NULL)
			return cur;
		if (cur->type == XML_ELEMENT_NODE && cur->children != NULL) {
			cur = cur->children;
			continue;
		}
		for (;;) {
			if (cur->next != NULL) {
				cur = cur->next;
				break;
			}
			cur = cur->parent;
			if (cur == NULL || cur == top)
				return NULL;
		}
	}
	return NULL;
}

/* the <a href> an element's link comes from (docs/design.md §2.3), or NULL */
static xmlNodePtr
find_anchor(xmlNodePtr node)
{
	xmlNodePtr a;

	if (is_anchor(node))
		return node;
	a = find_first(node, "a");
	if (a != NULL)
		return a;
	for (a = node->parent; a != NULL && a->type == XML_ELEMENT_NODE;
	     a = a->parent) {
		if (is_anchor(a))
			return a;
	}
	return NULL;
}

static bool
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/*
 * url_clean: the href as a URL parser reads it (WHATWG URL: leading and
 * trailing C0 controls and spaces stripped, tabs and newlines removed);
 * with `escape`, also percent-encoding what RFC 3986 does not allow there
 * (non-ASCII as its UTF-8 bytes, spaces, "<>\"{}|\\^`", a second "#",
 * "[]", a "%" not starting an escape). Heap string or NULL (out of memory).
 */
static char *
url_clean(const char *href, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)href, *e;
	bool hash = false;
	size_t n;
	char *out, *o;

	while (*s != '\0' && *s <= 0x20)
		s++;
	e = s + strlen((const char *)s);
	while (e > s && e[-1] <= 0x20)
		e--;
	n = (size_t)(e - s);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1);
	if (out == NULL)
		return NULL;
	for (o = out; s < e; s++) {
		if (*s == '\t' || *s == '\n' || *s == '\r')
			continue;
		if (escape &&
		    (*s <= 0x20 || *s >= 0x7F || strchr("<>\"{}|\\^`[]", *s) ||
			(*s == '#' && hash) ||
			(*s == '%' &&
			    !(e - s > 2 && is_hex(s[1]) && is_hex(s[2]))))) {
			*o++ = '%';
			*o++ = hex[*s >> 4];
			*o++ = hex[*s & 15];
			continue;
		}
		if (*s == '#')
			hash = true;
		*o++ = (char)*s;
	}
	*o = '\0';
	return out;
}

/* javascript:, vbscript: and data: URLs are no links to send */
static bool
url_is_script(const char *u)
{
	return strncasecmp(u, "javascript:", 11) == 0 ||
	       strncasecmp(u, "vbscript:", 9) == 0 ||
	       strncasecmp(u, "data:", 5) == 0;
}

/* url_has_scheme: RFC 3986 scheme ":" at the start */
static bool
url_has_scheme(const char *u)
{
	const char *p = u;

	if (!is_ascii_alpha((unsigned char)*p))
		return false;
	while (is_ascii_alpha((unsigned char)*p) || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return *p == ':';
}

/*
 * url_escape_rest percent-encodes what a resolved URL may still hold that no
 * URI may: libxml2 decodes %XX in the host, and sometimes in other parts,
 * and writes the bytes back raw, so href="//a%3Cb%95/#%EA%B0%80" comes out
 * of xmlBuildURI as "//a<b\x95/#\xEA\xB0\x80". Encodes spaces, controls,
 * "<>\"{}|\\^`", bytes that are not UTF-8, and non-ASCII outside the
 * authority (in the authority it is an internationalised host name, which
 * curl and message_url_ok take as it is). Takes `u` (heap) and returns it
 * or a new heap string, NULL on out-of-memory (`u` freed).
 */
static char *
url_escape_rest(char *u)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)u;
	const char *colon = strchr(u, ':');
	size_t n = strlen(u), i, l, bad, k, a0 = n, a1 = n;
	bool escape, changed = false;
	struct buf b;

	if (strncmp(u, "//", 2) == 0)
		a0 = 2;
	else if (url_has_scheme(u) && strncmp(colon, "://", 3) == 0)
		a0 = (size_t)(colon - u) + 3;
	if (a0 < n)
		a1 = a0 + strcspn(u + a0, "/?#");
	buf_init(&b, 0);
	for (i = 0; i < n; i += l) {
		l = s[i] < 0x80 ? 1 : utf8_check(s + i, n - i, &bad);
		if (l == 0) {
			escape = true;
			l = bad;
		} else if (l == 1) {
			escape = s[i] <= 0x20 || s[i] == 0x7F ||
				 strchr("<>\"{}|\\^`", s[i]) != NULL;
		} else {
			escape = i < a0 || i >= a1;
		}
		if (!escape) {
			if (buf_append(&b, s + i, l) != 0)
				goto nomem;
			continue;
		}
		changed = true;
		for (k = i; k < i + l; k++)
			if (buf_append(&b, "%", 1) != 0 ||
			    buf_append(&b, &hex[s[k] >> 4], 1) != 0 ||
			    buf_append(&b, &hex[s[k] & 15], 1) != 0)
				goto nomem;
	}
	if (!changed) {
		buf_release(&b);
		return u;
	}
	free(u);
	return buf_detach(&b, NULL);
nomem:
	buf_release(&b);
	free(u);
	return NULL;
}

/*
 * url_resolve resolves `href` against `base` (NULL: none, the cleaned href
 * is kept as written) as RFC 3986 says (xmlBuildURI). Sets *out to a heap
 * string, or NULL for script links and hrefs that are no URL even after
 * escaping. Returns 0, or -1 on out-of-memory.
 */
static int
url_resolve(const char *href, const char *base, char **out)
{
	char *clean = NULL;
	xmlChar *u = NULL;
	xmlURIPtr parsed;
	int pass, rc = -1;

	*out = NULL;
	for (pass = 0; pass < 2 && u == NULL; pass++) {
		free(clean);
		clean = url_clean(href, pass == 1);
		if (clean == NULL)
			goto out;
		if (url_is_script(clean))
			break;
		if (base != NULL) {
			u = xmlBuildURI(BAD_CAST clean, BAD_CAST base);
			continue;
		}
		if (*clean == '\0')
			break;
		parsed = xmlParseURI(clean);
		if (parsed != NULL || pass == 1) {
			xmlFreeURI(parsed);
			*out = clean;
			clean = NULL;
			break;
		}
	}
	if (u != NULL && !url_is_script((const char *)u)) {
		*out = strdup((const char *)u);
		if (*out == NULL)
			goto out;
	}
	if (*out != NULL) {
		*out = url_escape_rest(*out);
		if (*out == NULL)
			goto out;
	}
	rc = 0;
out:
	xmlFree(u);
	free(clean);
	return rc;
}

/*
 * run_base: the document base URL (HTML "document base URL"): the first
 * <base href> resolved against page_url, else page_url. NULL when neither
 * exists. Computed once per page, only when a link needs it.
 */
static int
run_base(struct extract_run *run, const char **base)
{
	xmlNodePtr b;
	xmlChar *href;
	char *page = NULL, *resolved = NULL;
	int rc = -1;

	if (run->base_done) {
		*base = run->base;
		return 0;
	}
	if (run->page_url != NULL) {
		page = url_clean(run->page_url, true);
		if (page == NULL)
			goto out;
	}
	b = find_first((xmlNodePtr)run->doc, "base");
	if (b != NULL) {
		href = xmlGetProp(b, BAD_CAST "href");
		if (href == NULL)
			goto out;
		rc = url_resolve((const char *)href, page, &resolved);
		xmlFree(href);
		if (rc != 0)
			goto out;
		rc = -1;
		/* a relative base without a page URL says nothing */
		if (resolved != NULL && !url_has_scheme(resolved)) {
			free(resolved);
			resolved = NULL;
		}
	}
	if (resolved != NULL) {
		run->base = resolved;
		free(page);
	} else {
		run->base = page;
	}
	page = NULL;
	run->base_done = true;
	*base = run->base;
	rc = 0;
out:
	free(page);
	return rc;
}

/* node_link: the item link of an element, or NULL (see extract.h) */
static int
node_link(struct extract_run *run, xmlNodePtr node, char **link)
{
	xmlNodePtr a;
	xmlChar *href;
	const char *base;
	int rc;

	*link = NULL;
	if (node->type != XML_ELEMENT_NODE)
		return 0;
	a = find_anchor(node);
	if (a == NULL)
		return 0;
	if (run_base(run, &base) != 0)
		return -1;
	href = xmlGetProp(a, BAD_CAST "href");
	if (href == NULL)
		return -1;
	rc = url_resolve((const char *)href, base, link);
	xmlFree(href);
	return rc;
}

/* ---- items -------------------------------------------------------------- */

/* add_text_item takes the text in run->text (and `link`) as one item */
static int
add_text_item(struct extract_run *run, char *link, struct item_list *out)
{
	char *text;

	if (run->text.b.len == 0) {
		free(link);
		return 0;
	}
	text = strdup(run->text.b.data);
	if (text == NULL) {
		free(link);
		return -1;
	}
	return item_list_add_take(out, text, link);
}

static int
add_node_item(struct extract_run *run, xmlNodePtr node, struct item_list *out)
{
	char *link = NULL;

	buf_reset(&run->text.b);
	run->text.space = false;
	if (node_text(&run->text, node) != 0)
		return -1;
	if (run->text.b.len == 0)
		return 0;
	if (node->type == XML_ELEMENT_NODE && node_link(run, node, &link) != 0)
		return -1;
	return add_text_item(run, link, out);
}

struct xpath_error {
	bool set;
	int code;
	int pos;
};

static void
xpath_error_cb(void *data, xmlErrorPtr e)
{
	struct xpath_error *xe = data;

	if (xe->set || e == NULL)
		return;
	xe->set = true;
	xe->code = e->code;
	xe->pos = e->int1;
}

/*
 * what libxml2's XPath error codes mean (xpath.c, xmlXPathErrorMessages);
 * one code a line (clang-format would put each return under its case)
 */
/* clang-format off */
static const char *
xpath_error_text(int code)
{
	switch (code) {
	case XML_XPATH_NUMBER_ERROR: return "bad number";
	case XML_XPATH_UNFINISHED_LITERAL_ERROR: return "unfinished string";
	case XML_XPATH_START_LITERAL_ERROR: return "expected a string";
	case XML_XPATH_VARIABLE_REF_ERROR: return "expected $ for a variable";
	case XML_XPATH_UNDEF_VARIABLE_ERROR: return "undefined variable";
	case XML_XPATH_INVALID_PREDICATE_ERROR: return "invalid predicate";
	case XML_XPATH_EXPR_ERROR: return "invalid expression";
	case XML_XPATH_UNCLOSED_ERROR: return "missing closing brace";
	case XML_XPATH_UNKNOWN_FUNC_ERROR: return "unknown function";
	case XML_XPATH_INVALID_OPERAND: return "invalid operand";
	case XML_XPATH_INVALID_TYPE: return "invalid type";
	case XML_XPATH_INVALID_ARITY:
		return "wrong number of function arguments";
	case XML_XPATH_INVALID_CTXT_SIZE: return "invalid context size";
	case XML_XPATH_INVALID_CTXT_POSITION:
		return "invalid context position";
	case XML_XPATH_MEMORY_ERROR: return "out of memory";
	case XML_XPTR_SYNTAX_ERROR: return "syntax error";
	case XML_XPTR_RESOURCE_ERROR: return "resource error";
	case XML_XPTR_SUB_RESOURCE_ERROR: return "sub-resource error";
	case XML_XPATH_UNDEF_PREFIX_ERROR: return "undefined namespace prefix";
	case XML_XPATH_ENCODING_ERROR: return "not UTF-8";
	case XML_XPATH_INVALID_CHAR_ERROR: return "invalid character";
	default: return "error";
	}
}
/* clang-format on */

/* quote_len: how much of `s` to quote in a message (whole UTF-8 chars) */
static int
quote_len(const char *s)
{
	size_t n = strlen(s);

	if (n <= XPATH_QUOTE_MAX)
		return (int)n;
	n = XPATH_QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

struct extract_doc *
extract_doc_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, struct kw_err *err)
{
	struct extract_doc *d;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	if (page_url != NULL) {
		d->page_url = strdup(page_url);
		if (d->page_url == NULL) {
			kw_err_set(err, "out of memory");
			goto fail;
		}
	}
	d->doc =
	    xi_html_parse(body, len, content_type, encoding, page_url, err);
	if (d->doc == NULL)
		goto fail;
	return d;
fail:
	extract_doc_free(d);
	return NULL;
}

void
extract_doc_free(struct extract_doc *d)
{
	if (d == NULL)
		return;
	if (d->doc != NULL)
		xmlFreeDoc(d->doc);
	free(d->page_url);
	free(d);
}

char *
extract_node_text(xmlNodePtr node)
{
	struct text_acc t;

	buf_init(&t.b, 0);
	t.space = false;
	if (node_text(&t, node) != 0) {
		buf_release(&t.b);
		return NULL;
	}
	return buf_detach(&t.b, NULL);
}

int
extract_doc_items(const struct extract_doc *d, const struct extract_xpath *xp,
    struct item_list *out, struct kw_err *err)
{
	struct extract_run run = { 0 };
	struct xpath_error xe = { 0 };
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr obj = NULL;
	xmlChar *s;
	size_t n0 = out->n, i;
	int rc = -1, nodes;

	silence_libxml();
	buf_init(&run.text.b, 0);
	run.page_url = d->page_url;
	run.doc = d->doc;
	ctx = xmlXPathNewContext(run.doc);
	if (ctx == NULL) {
		kw_err_set(err, "out of memory");
		goto fail;
	}
	ctx->node = (xmlNodePtr)run.doc;
	ctx->error = xpath_error_cb;
	ctx->userData = &xe;
	obj = xmlXPathCompiledEval(xp->comp, ctx);
	if (obj == NULL) {
		kw_err_set(err, "xpath evaluation failed: %s",
		    xe.set ? xpath_error_text(xe.code) : "error");
		goto fail;
	}
	switch (obj->type) {
	case XPATH_NODESET:
		nodes = obj->nodesetval ? obj->nodesetval->nodeNr : 0;
		for (i = 0; i < (size_t)nodes; i++) {
			if (add_node_item(&run, obj->nodesetval->nodeTab[i],
				out) != 0)
				goto nomem;
		}
		break;
	case XPATH_STRING:
	case XPATH_NUMBER:
	case XPATH_BOOLEAN:
		s = xmlXPathCastToString(obj);
		if (s == NULL)
			goto nomem;
		buf_reset(&run.text.b);
		run.text.space = false;
		rc = text_add_str(&run.text, s);
		xmlFree(s);
		if (rc != 0 || add_text_item(&run, NULL, out) != 0)
			goto nomem;
		break;
	default:
		kw_err_set(err, "xpath result has an unsupported type (%d)",
		    (int)obj->type);
		goto fail;
	}
	rc = 0;
	goto out;
nomem:
	kw_err_set(err, "out of memory extracting items");
fail:
	rc = -1;
	while (out->n > n0) {
		out->n--;
		free(out->v[out->n].text);
		free(out->v[out->n].link);
	}
out:
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	free(run.base);
	buf_release(&run.text.b);
	return rc;
}

int
extract_items(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, const struct extract_xpath *xp,
    struct item_list *out, struct kw_err *err)
{
	struct extract_doc *d;
	int rc;

	d = extract_doc_parse(body, len, content_type, encoding, page_url, err);
	if (d == NULL)
		return -1;
	rc = extract_doc_items(d, xp, out, err);
	extract_doc_free(d);
	return rc;
}

/* ---- XPath compilation -------------------------------------------------- */

static bool
is_name_start(unsigned char c)
{
	return is_ascii_alpha(c) || c == '_' || c >= 0x80;
}

static bool
is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.';
}

static const unsigned char *
skip_xpath_ws(const unsigned char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/*
 * xpath_check_names finds what compiles but fails on every page: function
 * names XPath 1.0 does not define, variable references and namespace
 * prefixes. It tokenises an expression libxml2 already accepted, with the
 * disambiguation rules of XPath 1.0 §3.7 (an NCName after a token that is
 * not @ :: ( [ , or an operator is an operator name; before "(" it is a
 * node type or a function name). Returns 0 or -1 with `err`.
 */
static bool prefix_known(const unsigned char *name, size_t len,
    const char *const *ns, size_t nns);

static int
xpath_check_names(xmlXPathContextPtr ctx, const char *expr,
    const char *const *ns, size_t nns, struct kw_err *err)
{
	const unsigned char *p = (const unsigned char *)expr, *name, *q;
	bool opctx = true; /* the next NCName or "*" is a name, not an op */
	size_t nlen;
	char fname[64];
	unsigned char c;

	while (*p != '\0') {
		c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p++;
		} else if (c == '"' || c == '\'') {
			q = (const unsigned char *)strchr((const char *)p + 1,
			    c);
			p = q != NULL ? q + 1 : p + strlen((const char *)p);
			opctx = false;
		} else if ((c >= '0' && c <= '9') ||
			   (c == '.' && p[1] >= '0' && p[1] <= '9')) {
			while ((*p >= '0' && *p <= '9') || *p == '.')
				p++;
			opctx = false;
		} else if (c == '$') {
			p = skip_xpath_ws(p + 1);
			for (name = p; is_name_char(*p) || *p == ':'; p++)
				;
			return kw_err_set(err,
			    "xpath '%.*s': undefined variable '$%.*s' "
			    "(kakaowatch defines none)",
			    quote_len(expr), expr, (int)(p - name),
			    (const char *)name);
		} else if (is_name_start(c)) {
			name = p;
			while (is_name_char(*p))
				p++;
			if (!opctx) { /* and, or, div, mod */
				opctx = true;
				continue;
			}
			/* "xml" is the one prefix XPath knows unasked */
			if (p[0] == ':' && p[1] != ':' &&
			    !prefix_known(name, (size_t)(p - name), ns, nns))
				return kw_err_set(err,
				    "xpath '%.*s': undefined namespace prefix "
				    "'%.*s' (declare it under namespaces:; "
				    "HTML elements have no namespace)",
				    quote_len(expr), expr, (int)(p - name),
				    (const char *)name);
			nlen = (size_t)(p - name);
			opctx = false;
			if (*skip_xpath_ws(p) != '(')
				continue;
			if (nlen < sizeof(fname)) {
				memcpy(fname, name, nlen);
				fname[nlen] = '\0';
				if (strcmp(fname, "node") == 0 ||
				    strcmp(fname, "text") == 0 ||
				    strcmp(fname, "comment") == 0 ||
				    strcmp(fname, "processing-instruction") ==
					0)
					continue;
				if (xmlXPathFunctionLookup(ctx,
					BAD_CAST fname) != NULL)
					continue;
			}
			return kw_err_set(err,
			    "xpath '%.*s': unknown function '%.*s()'",
			    quote_len(expr), expr, (int)nlen,
			    (const char *)name);
		} else if (c == '*') {
			opctx = !opctx;
			p++;
		} else if (c == '.' && p[1] == '.') {
			opctx = false;
			p += 2;
		} else if (c == ')' || c == ']' || c == '.') {
			opctx = false;
			p++;
		} else if (c == ':' && p[1] == ':') {
			opctx = true;
			p += 2;
		} else {
			/* / // | + - = != < <= > >= ( [ , @ */
			opctx = true;
			p++;
		}
	}
	return 0;
}

struct extract_xpath *
extract_xpath_compile(const char *expr, struct kw_err *err)
{
	return extract_xpath_compile_ns(expr, NULL, 0, err);
}

struct extract_xpath *
extract_xpath_compile_ns(const char *expr, const char *const *ns, size_t nns,
    struct kw_err *err)
{
	struct extract_xpath *xp = NULL;
	struct xpath_error xe = { 0 };
	xmlXPathContextPtr ctx = NULL;
	xmlXPathCompExprPtr comp = NULL;
	size_t n;

	silence_libxml();
	if (expr == NULL ||
	    *skip_xpath_ws((const unsigned char *)expr) == '\0') {
		kw_err_set(err, "xpath is empty");
		goto fail;
	}
	ctx = xmlXPathNewContext(NULL);
	if (ctx == NULL)
		goto nomem;
	ctx->error = xpath_error_cb;
	ctx->userData = &xe;
	comp = xmlXPathCtxtCompile(ctx, BAD_CAST expr);
	if (comp == NULL) {
		if (!xe.set) {
			kw_err_set(err, "xpath '%.*s': invalid expression",
			    quote_len(expr), expr);
			goto fail;
		}
		n = strlen(expr);
		if (xe.pos < 0 || (size_t)xe.pos >= n)
			kw_err_set(err, "xpath '%.*s': %s at the end",
			    quote_len(expr), expr, xpath_error_text(xe.code));
		else
			kw_err_set(err, "xpath '%.*s': %s at character %d",
			    quote_len(expr), expr, xpath_error_text(xe.code),
			    xe.pos + 1);
		goto fail;
	}
	if (xpath_check_names(ctx, expr, ns, nns, err) != 0)
		goto fail;
	xp = malloc(sizeof(*xp));
	if (xp == NULL)
		goto nomem;
	xp->comp = comp;
	xmlXPathFreeContext(ctx);
	return xp;
nomem:
	kw_err_set(err, "out of memory compiling xpath");
fail:
	if (comp != NULL)
		xmlXPathFreeCompExpr(comp);
	xmlXPathFreeContext(ctx);
	return NULL;
}

void
extract_xpath_free(struct extract_xpath *xp)
{
	if (xp == NULL)
		return;
	xmlXPathFreeCompExpr(xp->comp);
	free(xp);
}

int
extract_xpath_check(const char *xpath, char *msg, size_t msgsize)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;

	xp = extract_xpath_compile(xpath, &err);
	if (xp == NULL) {
		/* the caller (config) already quotes the expression: keep
		 * only the reason after "xpath '...': " */
		const char *reason = err.msg;
		size_t plen = strlen(xpath);

		if (strncmp(reason, "xpath '", 7) == 0 &&
		    strncmp(reason + 7, xpath, plen) == 0 &&
		    strncmp(reason + 7 + plen, "': ", 3) == 0)
			reason += 7 + plen + 3;
		snprintf(msg, msgsize, "%s", reason);
		return -1;
	}
	extract_xpath_free(xp);
	if (msgsize > 0)
		msg[0] = '\0';
	return 0;
}

/* ---- shared with extract_xml.c and extract_feed.c (extract_int.h) ----- */

/* the prefixes XML and feed documents know without a namespaces: entry */
const char *const xi_feed_ns[] = {
	"atom",
	XI_NS_ATOM,
	"rdf",
	XI_NS_RDF,
	"rss",
	XI_NS_RSS1,
	"dc",
	XI_NS_DC,
	"content",
	XI_NS_CONTENT,
};
const size_t xi_feed_nns = sizeof(xi_feed_ns) / sizeof(xi_feed_ns[0]) / 2;

static bool
prefix_in(const unsigned char *name, size_t len, const char *const *ns,
    size_t nns)
{
	size_t i;

	for (i = 0; i < nns; i++)
		if (strlen(ns[2 * i]) == len &&
		    memcmp(ns[2 * i], name, len) == 0)
			return true;
	return false;
}

static bool
prefix_known(const unsigned char *name, size_t len, const char *const *ns,
    size_t nns)
{
	if (len == 3 && memcmp(name, "xml", 3) == 0)
		return true;
	return prefix_in(name, len, ns, nns) ||
	       prefix_in(name, len, xi_feed_ns, xi_feed_nns);
}

xmlXPathCompExprPtr
xi_xpath_comp(const struct extract_xpath *xp)
{
	return xp->comp;
}

static int
register_ns(xmlXPathContextPtr ctx, const char *const *ns, size_t nns)
{
	size_t i;

	for (i = 0; i < nns; i++)
		if (xmlXPathRegisterNs(ctx, BAD_CAST ns[2 * i],
			BAD_CAST ns[2 * i + 1]) != 0)
			return -1;
	return 0;
}

xmlXPathObjectPtr
xi_xpath_eval(xmlXPathCompExprPtr comp, xmlDocPtr doc, xmlNodePtr node,
    const char *const *ns, size_t nns, struct kw_err *err)
{
	struct xpath_error xe = { 0 };
	xmlXPathContextPtr ctx;
	xmlXPathObjectPtr obj;

	ctx = xmlXPathNewContext(doc);
	if (ctx == NULL) {
		kw_err_set(err, "out of memory");
		return NULL;
	}
	/* the feed prefixes first: the watch's own pairs may redefine them */
	if (register_ns(ctx, xi_feed_ns, xi_feed_nns) != 0 ||
	    register_ns(ctx, ns, nns) != 0) {
		xmlXPathFreeContext(ctx);
		kw_err_set(err, "out of memory");
		return NULL;
	}
	ctx->node = node != NULL ? node : (xmlNodePtr)doc;
	ctx->error = xpath_error_cb;
	ctx->userData = &xe;
	obj = xmlXPathCompiledEval(comp, ctx);
	if (obj == NULL)
		kw_err_set(err, "xpath evaluation failed: %s",
		    xe.set ? xpath_error_text(xe.code) : "error");
	xmlXPathFreeContext(ctx);
	return obj;
}

const char *
xi_charset_label(const char *s, size_t len)
{
	return charset_lookup(s, len);
}

const char *
xi_charset_param(const char *content_type)
{
	if (content_type == NULL)
		return NULL;
	return charset_from_content(content_type, strlen(content_type));
}

int
xi_decode(const char *body, size_t len, const char *cs, const char **text,
    size_t *textlen, char **owned, struct kw_err *err)
{
	return decode_body(body, len, cs, text, textlen, owned, err);
}

int
xi_normalize(struct buf *b, bool *space, const char *s, size_t n)
{
	struct text_acc t;
	int rc;

	t.b = *b;
	t.space = *space;
	rc = text_add(&t, (const unsigned char *)s, n);
	*b = t.b;
	*space = t.space;
	return rc;
}

int
xi_url_resolve(const char *href, const char *base, char **out)
{
	return url_resolve(href, base, out);
}

int
extract_url_resolve(const char *href, const char *base, char **out)
{
	return url_resolve(href, base, out);
}

/*
 * meta_charset: the encoding the first of the page's <meta> elements that
 * declares one declares, as the tree builder's "in head" rules read them
 * (HTML Standard 13.2.6.4.4, "A start tag whose tag name is meta"): its
 * charset attribute if that is a known label, else http-equiv=Content-Type
 * with a charset in content. NULL when none does.
 */
static const char *
meta_charset(const struct html5_doc *h5)
{
	const char *cs;
	xmlChar *v;
	size_t i;
	bool pragma;

	for (i = 0; i < h5->nmetas; i++) {
		v = xmlGetProp(h5->metas[i], BAD_CAST "charset");
		cs = v != NULL ? charset_lookup((const char *)v,
				     strlen((const char *)v)) :
				 NULL;
		xmlFree(v);
		if (cs != NULL)
			return cs;
		v = xmlGetProp(h5->metas[i], BAD_CAST "http-equiv");
		pragma = v != NULL &&
			 strcasecmp((const char *)v, "content-type") == 0;
		xmlFree(v);
		if (!pragma)
			continue;
		v = xmlGetProp(h5->metas[i], BAD_CAST "content");
		cs = v != NULL ? charset_from_content((const char *)v,
				     strlen((const char *)v)) :
				 NULL;
		xmlFree(v);
		if (cs != NULL)
			return cs;
	}
	return NULL;
}

/* decode with `cs` and build the tree; *h5 is empty on failure */
static int
decode_and_parse(const char *body, size_t len, const char *cs,
    const char *page_url, struct html5_doc *h5, struct kw_err *err)
{
	const char *text = NULL;
	char *owned = NULL;
	size_t textlen;
	int rc = -1;

	memset(h5, 0, sizeof(*h5));
	if (decode_body(body, len, cs, &text, &textlen, &owned, err) != 0)
		goto out;
	if (textlen > INT32_MAX) {
		kw_err_set(err, "page is too large to parse (%zu bytes)",
		    textlen);
		goto out;
	}
	if (textlen == 0) {
		/* a browser shows an empty page; here it is an error */
		kw_err_set(err, "cannot parse page as HTML: it is empty");
		goto out;
	}
	rc = extract_html5_parse(text, textlen, page_url, h5, err);
out:
	free(owned);
	return rc;
}

/*
 * page_parse: the page's bytes -> its HTML5 document (*doc, caller frees
 * with xmlFreeDoc), decoded as the HTML Standard's "determining the
 * character encoding" (13.2.3.2) and "change the encoding" (13.2.3.4) say,
 * with the choices a Korean browser makes (see extract.h for the order).
 */
static int
page_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, xmlDocPtr *doc,
    const char **used, bool *declared, struct kw_err *err)
{
	struct html5_doc h5;
	enum charset_source src;
	const char *cs, *late;
	bool decl = true;

	*doc = NULL;
	if (body == NULL || len == 0)
		return kw_err_set(err, "page is empty");
	cs = detect_charset(body, len, content_type, encoding, &src);
	if (cs == NULL) {
		/* nothing declares it: UTF-8 if it is, else the default */
		cs = utf8_valid(body, len) ? "UTF-8" : default_charset();
		src = CS_DEFAULT;
		decl = false;
	}
	if (decode_and_parse(body, len, cs, page_url, &h5, err) != 0)
		return -1;
	if (src == CS_META || src == CS_DEFAULT) {
		/* the confidence is tentative: a <meta> the prescan did not
		 * see (after its 1024 bytes) changes the encoding, once */
		late = meta_charset(&h5);
		if (late != NULL && strncmp(late, "UTF-16", 6) == 0)
			late = "UTF-8";
		if (late != NULL)
			decl = true;
		if (late != NULL && strcmp(late, cs) != 0) {
			xmlFreeDoc(h5.doc);
			cs = late;
			if (decode_and_parse(body, len, late, page_url, &h5,
				err) != 0)
				return -1;
		}
	}
	*doc = h5.doc;
	if (used != NULL)
		*used = cs;
	if (declared != NULL)
		*declared = decl;
	return 0;
}

const char *
extract_page_charset(const char *body, size_t len, const char *content_type,
    const char *encoding, bool *declared, struct kw_err *err)
{
	xmlDocPtr doc;
	const char *cs;

	silence_libxml();
	if (page_parse(body, len, content_type, encoding, NULL, &doc, &cs,
		declared, err) != 0)
		return NULL;
	xmlFreeDoc(doc);
	return cs;
}

xmlDocPtr
xi_html_parse(const char *body, size_t len, const char *content_type,
    const char *encoding, const char *page_url, struct kw_err *err)
{
	xmlDocPtr doc;

	silence_libxml();
	if (page_parse(body, len, content_type, encoding, page_url, &doc, NULL,
		NULL, err) != 0)
		return NULL;
	return doc;
}

struct extract_run *
xi_html_run_new(xmlDocPtr doc, const char *page_url)
{
	struct extract_run *run = calloc(1, sizeof(*run));

	if (run == NULL)
		return NULL;
	run->doc = doc;
	run->page_url = page_url;
	buf_init(&run->text.b, 0);
	return run;
}

void
xi_html_run_free(struct extract_run *run)
{
	if (run == NULL)
		return;
	free(run->base);
	buf_release(&run->text.b);
	free(run);
}

int
xi_html_text(struct extract_run *run, xmlNodePtr node, char **text)
{
	buf_reset(&run->text.b);
	run->text.space = false;
	*text = NULL;
	if (node_text(&run->text, node) != 0)
		return -1;
	*text = strdup(run->text.b.len > 0 ? run->text.b.data : "");
	return *text == NULL ? -1 : 0;
}

int
xi_html_link(struct extract_run *run, xmlNodePtr node, char **link)
{
	return node_link(run, node, link);
}

int
xi_html_resolve(struct extract_run *run, const char *href, char **link)
{
	const char *base;

	*link = NULL;
	if (run_base(run, &base) != 0)
		return -1;
	return url_resolve(href, base, link);
}

int
extract_field_check(const char *expr, const char *const *ns, size_t nns,
    char *msg, size_t msgsize)
{
	struct kw_err err = { 0 };
	struct extract_xpath *xp;
	const char *reason;
	size_t plen;

	xp = extract_xpath_compile_ns(expr, ns, nns, &err);
	if (xp != NULL) {
		extract_xpath_free(xp);
		if (msgsize > 0)
			msg[0] = '\0';
		return 0;
	}
	reason = err.msg;
	plen = strlen(expr);
	if (strncmp(reason, "xpath '", 7) == 0 &&
	    strncmp(reason + 7, expr, plen) == 0 &&
	    strncmp(reason + 7 + plen, "': ", 3) == 0)
		reason += 7 + plen + 3;
	snprintf(msg, msgsize, "%s", reason);
	return -1;
}

char *
extract_text_normalize(const char *s, size_t n)
{
	struct text_acc t;
	char *out;

	buf_init(&t.b, 0);
	t.space = false;
	if (text_add(&t, (const unsigned char *)s, n) != 0 ||
	    buf_append(&t.b, "", 0) != 0) {
		buf_release(&t.b);
		return NULL;
	}
	out = buf_detach(&t.b, NULL);
	return out != NULL ? out : strdup("");
}

/* ---- tree dump ---------------------------------------------------------- */

static int
dump_indent(struct buf *out, size_t depth)
{
	size_t i;

	if (buf_append(out, "| ", 2) != 0)
		return -1;
	for (i = 0; i < depth; i++)
		if (buf_append(out, "  ", 2) != 0)
			return -1;
	return 0;
}

static int
cmp_attr(const void *a, const void *b)
{
	const xmlAttr *x = *(const xmlAttr *const *)a;
	const xmlAttr *y = *(const xmlAttr *const *)b;

	return strcmp((const char *)x->name, (const char *)y->name);
}

static int
dump_attrs(struct buf *out, xmlNodePtr node, size_t depth)
{
	xmlAttrPtr a, *v;
	xmlChar *val;
	size_t n = 0, i;
	int rc = -1;

	for (a = node->properties; a != NULL; a = a->next)
		n++;
	if (n == 0)
		return 0;
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		return -1;
	for (a = node->properties, i = 0; a != NULL; a = a->next)
		v[i++] = a;
	qsort(v, n, sizeof(*v), cmp_attr);
	for (i = 0; i < n; i++) {
		val = xmlNodeGetContent((xmlNodePtr)v[i]);
		if (dump_indent(out, depth) != 0 ||
		    buf_printf(out, "%s=\"%s\"\n", (const char *)v[i]->name,
			val != NULL ? (const char *)val : "") != 0) {
			xmlFree(val);
			goto out;
		}
		xmlFree(val);
	}
	rc = 0;
out:
	free(v);
	return rc;
}

static int
dump_node(struct buf *out, xmlNodePtr cur, size_t depth)
{
	xmlDtdPtr dtd;

	switch (cur->type) {
	case XML_DTD_NODE:
		dtd = (xmlDtdPtr)cur;
		if (dump_indent(out, depth) != 0)
			return -1;
		if (dtd->ExternalID == NULL && dtd->SystemID == NULL)
			return buf_printf(out, "<!DOCTYPE %s>\n",
			    dtd->name ? (const char *)dtd->name : "");
		return buf_printf(out, "<!DOCTYPE %s \"%s\" \"%s\">\n",
		    dtd->name ? (const char *)dtd->name : "",
		    dtd->ExternalID ? (const char *)dtd->ExternalID : "",
		    dtd->SystemID ? (const char *)dtd->SystemID : "");
	case XML_ELEMENT_NODE:
		if (dump_indent(out, depth) != 0 ||
		    buf_printf(out, "<%s>\n", (const char *)cur->name) != 0)
			return -1;
		return dump_attrs(out, cur, depth + 1);
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (dump_indent(out, depth) != 0)
			return -1;
		return buf_printf(out, "\"%s\"\n",
		    cur->content ? (const char *)cur->content : "");
	case XML_COMMENT_NODE:
		if (dump_indent(out, depth) != 0)
			return -1;
		return buf_printf(out, "<!-- %s -->\n",
		    cur->content ? (const char *)cur->content : "");
	default:
		return 0;
	}
}

int
extract_tree_dump(const char *body, size_t len, const char *content_type,
    const char *encoding, struct buf *out, struct kw_err *err)
{
	xmlDocPtr doc;
	xmlNodePtr cur;
	size_t depth = 0;
	int rc = -1;

	silence_libxml();
	if (page_parse(body, len, content_type, encoding, NULL, &doc, NULL,
		NULL, err) != 0)
		return -1;
	cur = doc->children;
	while (cur != NULL) {
		if (dump_node(out, cur, depth) != 0)
			goto nomem;
		if (cur->type == XML_ELEMENT_NODE && cur->children != NULL) {
			cur = cur->children;
			depth++;
			continue;
		}
		while (cur != NULL && cur->next == NULL) {
			cur = cur->parent;
			if (cur == NULL || cur == (xmlNodePtr)doc) {
				cur = NULL;
				break;
			}
			depth--;
		}
		if (cur != NULL)
			cur = cur->next;
	}
	rc = 0;
	goto out;
nomem:
	kw_err_set(err, "out of memory writing the tree");
out:
	xmlFreeDoc(doc);
	return rc;
}
