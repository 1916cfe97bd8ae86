/* deliver_fixture: the delivery tests' set-up (see deliver_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kakaowatch/config.h"
#include "kakaowatch/deliver.h"
#include "kakaowatch/message.h"
#include "kakaowatch/store.h"
#include "kakaowatch/util.h"

#include "deliver_fixture.h"

struct deliver_fixture *
deliver_fixture_new(const char *tag)
{
	struct deliver_fixture *f = calloc(1, sizeof(*f));
	struct kw_err err = { 0 };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/kw-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/kw.yaml", f->dir);
	snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", f->dir);
	snprintf(f->token_file, sizeof(f->token_file), "%s/token.json", f->dir);
	f->st = store_open(f->state_dir, &err);
	if (f->st == NULL)
		fail_msg("store_open %s: %s", f->state_dir, err.msg);
	f->out = tmpfile();
	assert_non_null(f->out);
	return f;
}

void
deliver_fixture_free(struct deliver_fixture *f)
{
	char cmd[120];

	if (f == NULL)
		return;
	deliver_set_abort_flag(NULL);
	fake_server_stop(&f->kakao);
	store_close(f->st);
	config_free(f->cfg);
	if (f->out != NULL)
		fclose(f->out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", f->dir);
	free(f);
}

void
deliver_fixture_kakao(struct deliver_fixture *f, const char *client_id,
    const char *redirect_uri)
{
	const char *const args[] = { "--client-id", client_id, "--redirect-uri",
		redirect_uri, NULL };

	if (fake_server_start(&f->kakao, "fake_kakao.py", args) != 0)
		fail_msg("fake_kakao.py did not start");
}

void
deliver_fixture_config(struct deliver_fixture *f, const char *fmt, ...)
{
	struct config_errors errs = { 0 };
	va_list ap;
	FILE *fp;

	fp = fopen(f->path, "w");
	assert_non_null(fp);
	va_start(ap, fmt);
	vfprintf(fp, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(fp), 0);
	config_free(f->cfg);
	f->cfg = NULL;
	if (config_load(f->path, NULL, &f->cfg, &errs) != 0)
		fail_msg("config: %s", errs.n ? errs.v[0] : "?");
}

void
deliver_fixture_restart(struct deliver_fixture *f)
{
	struct kw_err err = { 0 };

	store_close(f->st);
	f->st = store_open(f->state_dir, &err);
	if (f->st == NULL)
		fail_msg("store_open %s: %s", f->state_dir, err.msg);
}

void
deliver_fixture_queue(struct deliver_fixture *f, const char *watch,
    const char *text, int64_t at)
{
	struct kw_err err = { 0 };
	char *tmpl =
	    message_build_text(text, "http://127.0.0.1:9/item", NULL, &err);

	assert_non_null(tmpl);
	assert_int_equal(store_outbox_add(f->st, watch, tmpl, at, &err), 0);
	free(tmpl);
}

int64_t
deliver_fixture_pending(struct deliver_fixture *f)
{
	struct kw_err err = { 0 };
	int64_t n = -1;

	assert_int_equal(store_outbox_stats(f->st, &n, NULL, &err), 0);
	return n;
}

int
deliver_fixture_run(struct deliver_fixture *f, enum deliver_sink sink,
    int64_t at, struct deliver_report *rep)
{
	struct kw_err err = { 0 };
	int r;

	r = deliver_daily(f->st, f->cfg, sink, at, 100, f->out, rep, &err);
	if (r < 0)
		fail_msg("deliver_daily: %s", err.msg);
	return r;
}

json_t *
deliver_fixture_printed(struct deliver_fixture *f)
{
	json_t *a = json_array(), *o;
	char line[16384];

	assert_non_null(a);
	fflush(f->out);
	rewind(f->out);
	while (fgets(line, sizeof(line), f->out) != NULL) {
		o = json_loads(line, 0, NULL);
		if (o == NULL)
			fail_msg("the stdout sink printed a line that is not "
				 "JSON: %s",
			    line);
		json_array_append_new(a, o);
	}
	return a;
}
