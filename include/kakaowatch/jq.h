/*
 * jq: a JSON document through a watch's `jq:` program -> items. The only
 * user of libjq (Debian libjq1 1.6; the jq language:
 * https://jqlang.github.io/jq/manual/v1.6/).
 *
 * Each output of the program is one item, in order:
 *   - a string: the item's text (no link);
 *   - an object: "title" (required: a string, or a number written as
 *     jq's tostring does) is the text; "link" (optional string, null = none)
 *     is resolved against the page URL like any item link (extract.h);
 *     "key" (optional string or number) is the item's identity (item.h);
 *     every other key that is a field name (item.h: item_field_name_valid)
 *     with a string, number or boolean value (written as jq's tostring)
 *     is a field of the item, its text normalised like the title (`image`
 *     resolved like the link), at most ITEM_FIELDS_MAX in key order;
 *     other keys are ignored;
 *   - null: skipped (so `.items[].title?` style programs may leave gaps);
 *   - anything else (a number, boolean, array, an object without a title)
 *     fails the run with the output's position.
 * The text is normalised as extract.h says for item text; an empty title
 * skips the output.
 *
 * A run is bounded: the program runs in a forked child process, so that
 * nothing it does can stall or crash the caller: libjq 1.6 has no way to
 * interrupt a running program (`def f: f; f`, `repeat(1)` and
 * `[range(1e9)]` never return). The child gets RLIMIT_CPU (the timeout,
 * rounded up to seconds), RLIMIT_AS (max_memory_bytes; not under ASan,
 * which reserves terabytes of address space), an empty environment (the
 * `env` builtin sees nothing of the daemon's secrets), /dev/null for
 * stdin/stdout/stderr and no other descriptor than its pipe. The parent
 * waits at most timeout_ms of wall-clock time, reads at most
 * max_output_bytes and max_items items, then kills the child (SIGKILL)
 * and reports why. Compiling always terminates, so it happens in the
 * caller, once per distinct program (jq_check or the first jq_items; up to
 * 32 compiled programs are kept, compiled against an empty environment so
 * that `$ENV` is empty too); the child inherits the compiled state by fork.
 * See docs/design.md §2.3.1 for the design and the cost per check.
 */
#ifndef KAKAOWATCH_JQ_H
#define KAKAOWATCH_JQ_H

#include <stddef.h>
#include <stdint.h>

#include "kakaowatch/item.h"
#include "kakaowatch/util.h"

#define JQ_DEFAULT_MAX_ITEMS 10000
#define JQ_DEFAULT_MAX_OUTPUT_BYTES (16u * 1024 * 1024)
#define JQ_DEFAULT_TIMEOUT_MS 3000
#define JQ_DEFAULT_MAX_MEMORY_BYTES (1024u * 1024 * 1024)

struct jq_limits {
	size_t max_items;        /* outputs that become items; > 0 */
	size_t max_output_bytes; /* bytes the child may send back; > 0 */
	int64_t timeout_ms;      /* wall clock, ms; the CPU limit too; > 0 */
	size_t max_memory_bytes; /* the child's address space; 0: no limit */
};

/* jq_limits_default fills `l` with the JQ_DEFAULT_* values */
void jq_limits_default(struct jq_limits *l);

/*
 * jq_check compiles `program` (in this process: compiling terminates;
 * the result is kept for jq_items) and returns 0, or -1 with libjq's first error message in `msg` (cut to
 * `msgsize` bytes, > 0), e.g. "syntax error, unexpected INVALID_CHARACTER
 * (Unix shell quoting issues?) at <top-level>, line 1", and *line the
 * program line it names (1-based; 0 when it names none). line may be NULL.
 */
int jq_check(const char *program, char *msg, size_t msgsize, unsigned *line);

/*
 * jq_items runs `program` on the JSON document json[0..len) (any bytes:
 * a document that is not JSON fails with "not JSON: <libjq's message>")
 * and appends an item per output (above) to `out`. page_url (may be NULL)
 * is the base for relative links; lim NULL means jq_limits_default.
 * Returns 0, or -1 with a message in `err` (compile error, a run-time
 * error "jq: error (at output 3): Cannot index string with \"title\"",
 * an output of the wrong type, a limit hit, the child killed by a signal,
 * fork or pipe failing); `out` is then as it was. Blocks the caller for at
 * most lim->timeout_ms plus the time to reap the child (plus compiling a
 * program not seen before, 25-35 ms with libjq 1.6).
 */
int jq_items(const char *program, const char *json, size_t len,
    const char *page_url, const struct jq_limits *lim, struct item_list *out,
    struct kw_err *err);

#endif
