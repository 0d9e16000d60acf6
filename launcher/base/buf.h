/*
 * A growable byte buffer: bytes are added at len and consumed from off, so
 * one buffer serves as a connection's input or output queue.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len, off, cap;
};

/* Room for more bytes at len (consumed bytes are dropped first); 0, or -1
 * when out of memory.  p may move. */
int buf_reserve(struct buf *b, size_t more);
/* Appends n bytes; 0, or -1 when out of memory. */
int buf_add(struct buf *b, const void *p, size_t n);
/* Frees the memory; the buffer is empty and usable again. */
void buf_free(struct buf *b);

#endif
