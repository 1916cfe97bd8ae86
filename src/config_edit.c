/*
 * config_edit: append a watch to a configuration file, keeping every other
 * byte (see config_append_watch in config.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "kakaowatch/buf.h"
#include "kakaowatch/config.h"
#include "kakaowatch/util.h"

/* where the watches: list is and how its items are indented */
struct layout {
	size_t dash_col; /* column of the items' '-' */
	size_t key_col;  /* column of the items' keys */
	size_t nitems;
};

static int
errs_add(struct config_errors *errs, const char *path, const char *msg)
{
	char **v, *s;
	size_t n;

	if (errs == NULL)
		return -1;
	n = strlen(path) + strlen(msg) + 3;
	s = malloc(n);
	if (s == NULL)
		return -1;
	snprintf(s, n, "%s: %s", path, msg);
	v = realloc(errs->v, (errs->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(s);
		return -1;
	}
	errs->v = v;
	errs->v[errs->n++] = s;
	return -1;
}

static int
refuse(struct config_errors *errs, const char *path, const char *why)
{
	char msg[400];

	snprintf(msg, sizeof(msg),
	    "cannot add the watch safely: %s; add it by hand", why);
	return errs_add(errs, path, msg);
}

/* the item's '-' on the line of `mark`, which only it may precede */
static int
dash_before(const char *text, const yaml_mark_t *mark, size_t *dash)
{
	size_t start = mark->index - mark->column, i;
	bool seen = false;

	for (i = start; i < mark->index; i++) {
		if (text[i] == '-' && !seen) {
			seen = true;
			*dash = i - start;
		} else if (text[i] != ' ') {
			return -1;
		}
	}
	return seen ? 0 : -1;
}

/*
 * read_layout checks that the file is one block mapping whose last key is
 * `watches:`, a block sequence of block mappings all indented alike
 */
static int
read_layout(const char *path, const char *text, size_t len, struct layout *lay,
    struct config_errors *errs)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, result = -1, docs = 0;
	bool key = true, in_watches = false, watches_done = false;
	bool last_is_watches = false, done = false;
	size_t dash, item_depth_items = 0;
	const char *why = NULL;
	char *curkey = NULL;

	memset(lay, 0, sizeof(*lay));
	if (!yaml_parser_initialize(&parser))
		return errs_add(errs, path, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			why = "it does not parse as YAML (run check)";
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				why = "it holds more than one YAML document";
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == 0) {
				if (ev.type != YAML_MAPPING_START_EVENT ||
				    ev.data.mapping_start.style ==
					YAML_FLOW_MAPPING_STYLE ||
				    ev.start_mark.column != 0)
					why = "its top level is not a block "
					      "mapping starting in column 1";
			} else if (depth == 1) {
				last_is_watches = in_watches;
				if (in_watches &&
				    (ev.type != YAML_SEQUENCE_START_EVENT ||
					ev.data.sequence_start.style ==
					    YAML_FLOW_SEQUENCE_STYLE))
					why = "watches: is not a block list "
					      "(\"- name: ...\" items)";
				key = true;
			} else if (depth == 2 && in_watches) {
				if (ev.type != YAML_MAPPING_START_EVENT ||
				    ev.data.mapping_start.style ==
					YAML_FLOW_MAPPING_STYLE) {
					why = "a watch is not a block mapping";
				} else if (dash_before(text, &ev.start_mark,
					       &dash) != 0) {
					why = "a watch does not start with "
					      "\"- key:\" on one line";
				} else if (item_depth_items++ == 0) {
					lay->dash_col = dash;
					lay->key_col = ev.start_mark.column;
				} else if (dash != lay->dash_col ||
					   ev.start_mark.column !=
					       lay->key_col) {
					why = "the watches are not all "
					      "indented alike";
				}
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			if (depth == 1) {
				if (in_watches)
					watches_done = true;
				in_watches = false;
			}
			break;
		case YAML_SCALAR_EVENT:
			if (depth == 1) {
				if (key) {
					free(curkey);
					curkey = strdup(
					    (const char *)ev.data.scalar.value);
					in_watches =
					    curkey != NULL &&
					    strcmp(curkey, "watches") == 0;
					if (in_watches && watches_done)
						why = "watches: appears twice";
				} else {
					last_is_watches = in_watches;
					if (in_watches)
						why = "watches: is not a block "
						      "list";
					in_watches = false;
				}
				key = !key;
			}
			break;
		case YAML_ALIAS_EVENT:
			if (depth == 1)
				key = !key;
			if (depth >= 1 && in_watches)
				why = "watches: uses an alias";
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (why != NULL)
			break;
	}
	if (why == NULL && !watches_done)
		why = "it has no watches: list";
	if (why == NULL && !last_is_watches)
		why = "watches: is not the last top-level key";
	if (why == NULL) {
		lay->nitems = item_depth_items;
		result = 0;
	} else {
		refuse(errs, path, why);
	}
	free(curkey);
	yaml_parser_delete(&parser);
	return result;
}

/* a YAML double-quoted scalar */
static int
put_quoted(struct buf *b, const char *s)
{
	const unsigned char *u;
	int r = buf_puts(b, "\"");

	for (u = (const unsigned char *)s; *u != '\0' && r == 0; u++) {
		if (*u == '"' || *u == '\\')
			r = buf_printf(b, "\\%c", *u);
		else if (*u < 0x20 || *u == 0x7F)
			r = buf_printf(b, "\\x%02x", *u);
		else
			r = buf_append(b, u, 1);
	}
	return r == 0 ? buf_puts(b, "\"") : -1;
}

static int
put_spaces(struct buf *b, size_t n)
{
	while (n-- > 0)
		if (buf_puts(b, " ") != 0)
			return -1;
	return 0;
}

/* config errors name the temp file: give them the real one */
static void
rename_errors(struct config_errors *errs, const char *tmp, const char *path)
{
	size_t i, tl = strlen(tmp), n;
	char *s;

	for (i = 0; errs != NULL && i < errs->n; i++) {
		if (strncmp(errs->v[i], tmp, tl) != 0)
			continue;
		n = strlen(path) + strlen(errs->v[i] + tl) + 1;
		s = malloc(n);
		if (s == NULL)
			continue;
		snprintf(s, n, "%s%s", path, errs->v[i] + tl);
		free(errs->v[i]);
		errs->v[i] = s;
	}
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
config_append_watch(const char *path, const char *const *keys,
    const char *const *values, size_t n, config_xpath_check_fn xpath_check,
    struct config_errors *errs)
{
	struct kw_err err = { 0 };
	struct layout lay;
	struct config *cfg = NULL;
	struct stat st;
	struct buf b;
	char real[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX + 64];
	char msg[KW_ERR_MAX + 64];
	const char *dname;
	char *text = NULL;
	size_t len = 0, i;
	int fd = -1, dfd, result = -1;
	bool tmp_made = false;

	buf_init(&b, 0);
	if (realpath(path, real) == NULL || stat(real, &st) != 0) {
		snprintf(msg, sizeof(msg), "cannot open: %s", strerror(errno));
		return errs_add(errs, path, msg);
	}
	text = util_read_file(real, CONFIG_FILE_MAX_BYTES, &len, &err);
	if (text == NULL)
		return errs_add(errs, path, err.msg);
	if (memchr(text, '\t', len) != NULL) {
		refuse(errs, path, "it holds tab characters");
		goto out;
	}
	if (memchr(text, '\r', len) != NULL || memchr(text, '\0', len)) {
		refuse(errs, path, "it has CR or NUL bytes");
		goto out;
	}
	if (read_layout(path, text, len, &lay, errs) != 0)
		goto out;
	/* the file as it is, then the new item */
	if (buf_append(&b, text, len) != 0 ||
	    (len > 0 && text[len - 1] != '\n' && buf_puts(&b, "\n") != 0))
		goto nomem;
	for (i = 0; i < n; i++) {
		if (i == 0) {
			if (put_spaces(&b, lay.dash_col) != 0 ||
			    buf_puts(&b, "-") != 0 ||
			    put_spaces(&b, lay.key_col - lay.dash_col - 1) != 0)
				goto nomem;
		} else if (put_spaces(&b, lay.key_col) != 0) {
			goto nomem;
		}
		if (buf_printf(&b, "%s: ", keys[i]) != 0 ||
		    put_quoted(&b, values[i]) != 0 || buf_puts(&b, "\n") != 0)
			goto nomem;
	}
	/* written next to the file, checked, then renamed over it */
	snprintf(dir, sizeof(dir), "%s", real);
	snprintf(base, sizeof(base), "%s", real);
	dname = dirname(dir);
	snprintf(tmp, sizeof(tmp), "%s/.%s.add-%ld", dname, basename(base),
	    (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    st.st_mode & 07777);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "cannot write %.300s: %s", tmp,
		    strerror(errno));
		errs_add(errs, path, msg);
		goto out;
	}
	tmp_made = true;
	if (fchmod(fd, st.st_mode & 07777) != 0 ||
	    write_all(fd, b.data, b.len) != 0 || fsync(fd) != 0) {
		snprintf(msg, sizeof(msg), "cannot write %.300s: %s", tmp,
		    strerror(errno));
		errs_add(errs, path, msg);
		goto out;
	}
	close(fd);
	fd = -1;
	if (config_load(tmp, xpath_check, &cfg, errs) != 0) {
		rename_errors(errs, tmp, path);
		goto out;
	}
	if (rename(tmp, real) != 0) {
		snprintf(msg, sizeof(msg), "cannot replace: %s",
		    strerror(errno));
		errs_add(errs, path, msg);
		goto out;
	}
	tmp_made = false;
	dfd = open(dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	result = 0;
	goto out;
nomem:
	errs_add(errs, path, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	if (tmp_made)
		unlink(tmp);
	config_free(cfg);
	buf_release(&b);
	free(text);
	return result;
}
