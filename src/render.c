/* render: the headless browser child process (see render.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/render.h"
#include "kakaowatch/util.h"

int
render_find_browser(const char *browser, char **path, struct kw_err *err)
{
	const char *name = browser != NULL ? browser : RENDER_DEFAULT_BROWSER;
	const char *env, *p, *colon;
	char *cand;
	size_t dlen;

	*path = NULL;
	if (strchr(name, '/') != NULL) {
		if (access(name, X_OK) != 0)
			return kw_err_set(err, "browser '%s' cannot be run: %s",
			    name, strerror(errno));
		*path = strdup(name);
		return *path != NULL ? 0 : kw_err_set(err, "out of memory");
	}
	env = getenv("PATH");
	for (p = env != NULL ? env : "/usr/bin:/bin"; *p != '\0';
	    p = *colon != '\0' ? colon + 1 : colon) {
		colon = strchr(p, ':');
		if (colon == NULL)
			colon = p + strlen(p);
		dlen = (size_t)(colon - p);
		if (dlen == 0)
			continue;
		cand = malloc(dlen + strlen(name) + 2);
		if (cand == NULL)
			return kw_err_set(err, "out of memory");
		memcpy(cand, p, dlen);
		cand[dlen] = '/';
		strcpy(cand + dlen + 1, name);
		if (access(cand, X_OK) == 0) {
			*path = cand;
			return 0;
		}
		free(cand);
	}
	return kw_err_set(err, "browser '%s' not found on PATH: install "
	    "chromium-headless-shell (Debian) or set browser: to its path",
	    name);
}

/* remove_tree deletes the directory `fd`/`name` and everything in it */
static void
remove_tree(int dirfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0) {
		unlinkat(dirfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode))
			remove_tree(fd, de->d_name);
		else
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* opt_arg: "--NAME=VALUE" as a heap string, or NULL on out-of-memory */
static char *
opt_arg(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 4;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "--%s=%s", name, value);
	return s;
}

int
render_dom(const struct render_request *req, char **dom, size_t *len,
    struct kw_err *err)
{
	char *exe = NULL, *profile = NULL, *args[16], budget[64];
	char *owned[5] = { 0 };
	struct buf out;
	struct pollfd pfd;
	int64_t deadline, left;
	pid_t pid = -1;
	int pipefd[2] = { -1, -1 }, status, result = -1, nargs = 0, i;
	bool killed = false, too_big = false, exited = false;
	long vt;
	char chunk[16384];
	ssize_t n;

	*dom = NULL;
	*len = 0;
	buf_init(&out, req->max_bytes);
	if (render_find_browser(req->browser, &exe, err) != 0)
		return -1;
	profile = util_path_join(req->work_dir, "browser-XXXXXX");
	if (profile == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	if (mkdtemp(profile) == NULL) {
		kw_err_set(err, "cannot make a browser profile in '%s': %s",
		    req->work_dir, strerror(errno));
		free(profile);
		profile = NULL;
		goto out;
	}
	vt = req->timeout_ms / 2 < RENDER_VIRTUAL_TIME_MS ?
	    req->timeout_ms / 2 : RENDER_VIRTUAL_TIME_MS;
	snprintf(budget, sizeof(budget), "--virtual-time-budget=%ld", vt);
	owned[0] = opt_arg("user-data-dir", profile);
	owned[1] = req->proxy != NULL ? opt_arg("proxy-server", req->proxy) :
	    NULL;
	owned[2] = req->user_agent != NULL ?
	    opt_arg("user-agent", req->user_agent) : NULL;
	if (owned[0] == NULL || (req->proxy != NULL && owned[1] == NULL) ||
	    (req->user_agent != NULL && owned[2] == NULL)) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	args[nargs++] = exe;
	args[nargs++] = "--headless";
	args[nargs++] = "--disable-gpu";
	args[nargs++] = "--no-first-run";
	args[nargs++] = "--disable-extensions";
	args[nargs++] = "--disable-dev-shm-usage";
	/* Chromium refuses to run as root with its sandbox (containers) */
	if (geteuid() == 0)
		args[nargs++] = "--no-sandbox";
	args[nargs++] = owned[0];
	if (owned[1] != NULL)
		args[nargs++] = owned[1];
	if (owned[2] != NULL)
		args[nargs++] = owned[2];
	args[nargs++] = budget;
	args[nargs++] = "--dump-dom";
	args[nargs++] = (char *)req->url;
	args[nargs] = NULL;

	if (pipe(pipefd) != 0) {
		kw_err_set(err, "browser: pipe: %s", strerror(errno));
		goto out;
	}
	deadline = util_mono_ms() + req->timeout_ms;
	pid = fork();
	if (pid < 0) {
		kw_err_set(err, "browser: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(pipefd[1], 1);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 2);
		}
		close(pipefd[0]);
		close(pipefd[1]);
		execv(exe, args);
		_exit(127);
	}
	/* both sides, so the group is there before a kill */
	setpgid(pid, pid);
	close(pipefd[1]);
	pipefd[1] = -1;
	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0) {
			killed = true;
			break;
		}
		/* its helpers (zygote, renderers) hold the pipe open too: when
		 * the browser itself has gone, read what is left and stop */
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = true;
		pfd.fd = pipefd[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, exited ? 0 : (int)(left > 200 ? 200 : left)) <
		    0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents == 0) {
			if (exited)
				break;
			continue;
		}
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(&out, chunk, (size_t)n) != 0) {
			too_big = true;
			break;
		}
	}
	/* the browser's helpers (renderer, zygote) are in its group too */
	kill(-pid, SIGKILL);
	while (!exited && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (killed) {
		kw_err_set(err, "the browser did not finish within %lds "
		    "(timeout): killed", (req->timeout_ms + 999) / 1000);
		goto out;
	}
	if (too_big) {
		kw_err_set(err, "the rendered page is larger than %zu bytes",
		    req->max_bytes);
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && out.len == 0) {
		kw_err_set(err, "browser '%s' could not be started", exe);
		goto out;
	}
	if (out.len == 0) {
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			kw_err_set(err, "the browser crashed (signal %d)",
			    WTERMSIG(status));
		else
			kw_err_set(err, "the browser gave no page (exit "
			    "status %d)", WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		goto out;
	}
	*dom = buf_detach(&out, len);
	if (*dom == NULL) {
		kw_err_set(err, "out of memory");
		goto out;
	}
	result = 0;
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (profile != NULL) {
		remove_tree(AT_FDCWD, profile);
		free(profile);
	}
	for (i = 0; i < 5; i++)
		free(owned[i]);
	buf_release(&out);
	free(exe);
	return result;
}
