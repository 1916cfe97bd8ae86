/*
 * fake_server: start and stop a loopback fake server of tests/fakes/ from a
 * cmocka test (linked into every tests/test_*.c).
 *
 * The fakes are Python scripts that take `--port 0`, bind 127.0.0.1 on a
 * free port and print that port on their first line of stdout once they
 * listen (tests/fakes/README.md). The script is looked up in $KW_FAKES_DIR,
 * which CTest sets.
 */
#ifndef KW_TESTS_FAKE_SERVER_H
#define KW_TESTS_FAKE_SERVER_H

#include <sys/types.h>

struct fake_server {
	pid_t pid;     /* the python3 process; 0 when not running */
	int port;      /* the port it listens on, 127.0.0.1 */
	char base[64]; /* "http://127.0.0.1:PORT", no trailing slash */
};

/*
 * fake_server_start runs `python3 -B $KW_FAKES_DIR/SCRIPT --port 0 ARGS...`
 * (`args`: NULL-terminated, may be NULL; at most 48) and waits up to 10 s
 * for its port line. It also removes the proxy variables curl reads from
 * the environment (loopback tests must not go through a proxy). Returns 0,
 * or -1 with the reason on stderr (nothing is left running).
 */
int fake_server_start(struct fake_server *fs, const char *script,
    const char *const *args);

/* fake_server_stop sends SIGTERM and waits for the process. Idempotent. */
void fake_server_stop(struct fake_server *fs);

#endif
