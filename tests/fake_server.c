/* fake_server: loopback fake servers for the C tests (see fake_server.h). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_server.h"

#define MAX_ARGS 48
#define START_TIMEOUT_MS 10000

static void
no_proxies(void)
{
	static const char *const vars[] = { "http_proxy", "https_proxy",
		"HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

int
fake_server_start(struct fake_server *fs, const char *script,
    const char *const *args)
{
	const char *fakes = getenv("KW_FAKES_DIR");
	const char *argv[MAX_ARGS + 6];
	char path[PATH_MAX], line[32];
	struct pollfd pfd;
	size_t n = 0, got = 0;
	ssize_t r;
	long port;
	char *end;
	int p[2];

	memset(fs, 0, sizeof(*fs));
	no_proxies();
	if (fakes == NULL) {
		fprintf(stderr, "fake_server: KW_FAKES_DIR is not set\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", fakes, script);
	argv[n++] = "python3";
	argv[n++] = "-B";
	argv[n++] = path;
	argv[n++] = "--port";
	argv[n++] = "0";
	while (args != NULL && *args != NULL && n < MAX_ARGS + 5)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(p) != 0) {
		fprintf(stderr, "fake_server: pipe: %s\n", strerror(errno));
		return -1;
	}
	fs->pid = fork();
	if (fs->pid < 0) {
		fprintf(stderr, "fake_server: fork: %s\n", strerror(errno));
		close(p[0]);
		close(p[1]);
		fs->pid = 0;
		return -1;
	}
	if (fs->pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	/* the first line is the port, printed once the server listens */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (got < sizeof(line) - 1 && memchr(line, '\n', got) == NULL) {
		if (poll(&pfd, 1, START_TIMEOUT_MS) <= 0)
			break;
		r = read(p[0], line + got, sizeof(line) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(p[0]);
	line[got] = '\0';
	errno = 0;
	port = strtol(line, &end, 10);
	if (errno != 0 || end == line || *end != '\n' || port <= 0 ||
	    port > 65535) {
		fprintf(stderr, "fake_server: %s did not start (got '%s')\n",
		    script, line);
		fake_server_stop(fs);
		return -1;
	}
	fs->port = (int)port;
	snprintf(fs->base, sizeof(fs->base), "http://127.0.0.1:%d", fs->port);
	return 0;
}

void
fake_server_stop(struct fake_server *fs)
{
	if (fs->pid > 0) {
		kill(fs->pid, SIGTERM);
		waitpid(fs->pid, NULL, 0);
	}
	fs->pid = 0;
}
