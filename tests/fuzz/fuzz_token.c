/*
 * fuzz_token: the token file reader and writer (token_load, token_save,
 * token_refresh_due; token.h).
 *
 * Input layout: byte 0 picks the file mode (bit 0 set: 0644, which must be
 * refused) and, with the next 8 bytes, the clock; the rest is the file.
 * Checked: a loaded token has a non-empty refresh token of printable ASCII
 * (an access token, when present, too) and is registered for redaction;
 * it saves and loads back to the same tokens and expiry times; the saved
 * file is one JSON object of mode 0600; token_refresh_due is total. A
 * group-readable file is always refused, with the chmod hint.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kakaowatch/log.h"
#include "kakaowatch/token.h"

#include "fuzz_util.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	return 0;
}

static bool
printable_token(const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static bool
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
check_roundtrip(const struct token *t, int64_t now_s)
{
	const char *path = fuzz_temp_path(1, "token-copy.json");
	struct token back = { 0 };
	struct kw_err err = { 0 };
	struct stat st;
	json_t *root;

	unlink(path);
	FUZZ_CHECK(token_save(path, t, &err) == 0, "token_save: %s", err.msg);
	FUZZ_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "saved token file mode %o", (unsigned)(st.st_mode & 0777));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(json_is_object(root), "saved token file is no object");
	json_decref(root);
	FUZZ_CHECK(token_load(path, &back, &err) == 0,
	    "a saved token file does not load: %s", err.msg);
	FUZZ_CHECK(str_same(back.access_token, t->access_token),
	    "access token changed");
	FUZZ_CHECK(str_same(back.refresh_token, t->refresh_token),
	    "refresh token changed");
	FUZZ_CHECK(str_same(back.token_type, t->token_type), "token_type");
	FUZZ_CHECK(str_same(back.scope, t->scope), "scope");
	if (t->access_token_expires_at > 0)
		FUZZ_CHECK(back.access_token_expires_at ==
			       t->access_token_expires_at,
		    "access expiry changed");
	if (t->refresh_token_expires_at > 0)
		FUZZ_CHECK(back.refresh_token_expires_at ==
			       t->refresh_token_expires_at,
		    "refresh expiry changed");
	(void)token_refresh_due(&back, now_s, 300);
	token_release(&back);
	unlink(path);
	unlink(fuzz_temp_path(1, "token-copy.json.bak"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_temp_path(0, "token.json");
	struct token t = { 0 };
	struct kw_err err = { 0 };
	int64_t now_s = 0;
	bool open_mode;
	size_t i;
	int r;

	if (size < 9 || size > TOKEN_FILE_MAX_BYTES + 64)
		return 0;
	open_mode = data[0] & 1;
	for (i = 1; i < 9; i++)
		now_s = (int64_t)((uint64_t)now_s << 8 | data[i]);
	if (data[0] & 2)
		now_s = 1700000000 + (now_s & 0xFFFFFFF); /* plausible */
	fuzz_write_file(path, data + 9, size - 9, open_mode ? 0644 : 0600);
	r = token_load(path, &t, &err);
	if (open_mode) {
		FUZZ_CHECK(r == -1 && strstr(err.msg, "chmod 600") != NULL,
		    "a group-readable token file was accepted");
	} else if (r == 0) {
		FUZZ_CHECK(printable_token(t.refresh_token),
		    "unusable refresh token accepted");
		FUZZ_CHECK(t.access_token == NULL ||
			       printable_token(t.access_token),
		    "bad access token");
		FUZZ_CHECK(t.expires_in >= 0 && t.refresh_token_expires_in >= 0,
		    "negative lifetime");
		(void)token_refresh_due(&t, now_s, 0);
		(void)token_refresh_due(&t, now_s, 300);
		(void)token_refresh_due(&t, now_s, INT64_MAX);
		check_roundtrip(&t, now_s);
	} else {
		FUZZ_CHECK(r == -1 && err.set, "failure without a message");
		FUZZ_CHECK(t.access_token == NULL && t.refresh_token == NULL &&
			       t.extra == NULL,
		    "failure left tokens behind");
	}
	token_release(&t);
	log_redact_clear();
	unlink(path);
	return 0;
}
