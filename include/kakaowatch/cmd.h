/*
 * cmd: the subcommands (git style) and what they share.
 *
 * Every command is `int cmd_NAME(int argc, char **argv, struct cmd_ctx *ctx)`
 * where argv[0] is the command name and the global options (-c, -v, -q) are
 * already in ctx. It returns the process exit status (docs/design.md §7):
 * 0 success, 1 runtime failure (some watch or send failed),
 * 2 usage or configuration error.
 */
#ifndef KAKAOWATCH_CMD_H
#define KAKAOWATCH_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "kakaowatch/config.h"
#include "kakaowatch/util.h"

enum { KW_EXIT_OK = 0, KW_EXIT_FAILURE = 1, KW_EXIT_USAGE = 2 };

struct cmd_ctx {
	const char *config_path; /* -c, $KAKAOWATCH_CONFIG, or the default */
	int verbose;             /* number of -v */
	bool quiet;              /* -q */
};

/*
 * cmd_getopt wraps getopt_long for a command: `shortopts`/`longopts` are the
 * command's own; -c/--config, -v/--verbose, -q/--quiet and -h/--help are
 * added and handled here (help prints `usage` on stdout and exits 0).
 * Returns the next option of the command's own, -1 at the end of options,
 * or '?' on a usage error (already reported on stderr).
 */
int cmd_getopt(int argc, char **argv, const char *shortopts,
    const struct option *longopts, const char *usage, struct cmd_ctx *ctx);

/* cmd_apply_verbosity sets the log threshold from ctx (-q, -v). */
void cmd_apply_verbosity(const struct cmd_ctx *ctx);

/*
 * cmd_load_config loads ctx->config_path with every XPath compiled into
 * cmd_xpaths() (check validates, and once and test use what it compiled).
 * On error prints every "FILE:LINE:COL: message" on stderr and returns
 * NULL. The caller frees the config with config_free.
 */
struct config *cmd_load_config(const struct cmd_ctx *ctx);

/*
 * cmd_xpaths: the command's compiled XPaths (extract.h), made on first
 * use; NULL on out-of-memory. Freed by cmd_xpaths_free (main, at exit);
 * the pointers it hands out live until then.
 */
struct extract_xpath_set;
struct extract_xpath_set *cmd_xpaths(void);
void cmd_xpaths_free(void);

/*
 * cmd_fetch fetches the page of `wc` with the request a check makes
 * (check_request_init, no validators) and waits for it. Returns 0 with a
 * 2xx response in *resp (the caller releases it with
 * http_response_release), or -1 with `err` ("'NAME': HTTP 404", the
 * transport error); *resp is then released.
 */
struct http_response;
int cmd_fetch(const struct watch_config *wc, struct http_response *resp,
    struct kw_err *err);

int cmd_check(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_test(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_once(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_run(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_auth(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_send(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_token(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_status(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_find(int argc, char **argv, struct cmd_ctx *ctx);
int cmd_outbox(int argc, char **argv, struct cmd_ctx *ctx);

#endif
