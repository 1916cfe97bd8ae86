/*
 * buf: a growable byte buffer with a cap, always NUL-terminated.
 */
#ifndef KAKAOWATCH_BUF_H
#define KAKAOWATCH_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when non-NULL; owned */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* cap on len in bytes; 0 = unlimited */
};

/* buf_init prepares an empty buffer (no allocation) with the given cap. */
void buf_init(struct buf *b, size_t max);

/*
 * buf_append adds `len` bytes. Returns 0, or -1 when the result would pass
 * `max` (nothing is appended) or on out-of-memory.
 */
int buf_append(struct buf *b, const void *data, size_t len);

/* buf_puts appends a NUL-terminated string; as buf_append. */
int buf_puts(struct buf *b, const char *s);

/* buf_printf appends formatted text; as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* buf_reset empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* buf_release frees the memory; the buffer is empty and reusable. */
void buf_release(struct buf *b);

/*
 * buf_detach returns the data (never NULL: "" when empty; caller frees) and
 * leaves the buffer empty. Returns NULL only on out-of-memory.
 */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
