/*
 * fuzz_util.h: helpers shared by the fuzz targets (tests only).
 *
 * Every target defines LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize).
 * Built with -DKW_FUZZ=ON (clang) they are libFuzzer binaries; otherwise
 * replay.c gives them a main() that feeds every file of the corpus
 * directories named on the command line, so CTest (and the sanitizer build
 * in CI) replays the corpora, including every crash found so far.
 *
 * A broken invariant is reported with FUZZ_CHECK, which prints what failed
 * and calls abort(): libFuzzer saves the input as a crash.
 */
#ifndef KAKAOWATCH_FUZZ_UTIL_H
#define KAKAOWATCH_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                          \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr,                                \
			    "%s:%d: invariant failed: %s: ", __FILE__, \
			    __LINE__, #cond);                          \
			fprintf(stderr, __VA_ARGS__);                  \
			fputc('\n', stderr);                           \
			abort();                                       \
		}                                                      \
	} while (0)

/* fuzz_strndup: a NUL-terminated heap copy of data[0..size) (aborts on
 * out-of-memory; NULs inside stay and end the C string early). */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * fuzz_utf8_valid: is s[0..n) well-formed UTF-8 (Unicode table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF)? Independent of the
 * decoders under test.
 */
static inline bool
fuzz_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, need, k;
	unsigned char lo, hi;

	while (i < n) {
		unsigned char c = s[i];

		lo = 0x80;
		hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		for (k = 1; k <= need; k++) {
			if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
				return false;
			lo = 0x80;
			hi = 0xBF;
		}
		i += need + 1;
	}
	return true;
}

/* fuzz_code_points: the number of code points of valid UTF-8 `s` */
static inline size_t
fuzz_code_points(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * fuzz_utf16_units: the length Kakao's limits count (UTF-16 code units) of
 * valid UTF-8 `s`.
 */
static inline size_t
fuzz_utf16_units(const char *s)
{
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p & 0xC0) != 0x80)
			n++;
		if (*p >= 0xF0)
			n++;
	}
	return n;
}

/*
 * fuzz_temp_path: a per-process scratch path "DIR/kwfuzz-PID-NAME" in
 * $TMPDIR (else /tmp), in a static buffer per name slot.
 */
static inline const char *
fuzz_temp_path(int slot, const char *name)
{
	static char paths[4][512];
	const char *dir = getenv("TMPDIR");

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(paths[slot & 3], sizeof(paths[0]), "%s/kwfuzz-%ld-%s", dir,
	    (long)getpid(), name);
	return paths[slot & 3];
}

/* fuzz_write_file replaces `path` with data[0..size), mode `mode`. */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t size, mode_t mode)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		perror(path);
		abort();
	}
	if (fchmod(fd, mode) != 0)
		abort();
	while (off < size) {
		n = write(fd, data + off, size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror(path);
			abort();
		}
		off += (size_t)n;
	}
	close(fd);
}

#endif
