/*
 * The replication frame codec (pure: no I/O, no clock, no logging).
 *
 * A frame on a replication connection, big-endian:
 *
 *   len u32 (of what follows) | type u8 | payload [| tag, FRAME_TAG bytes]
 *
 * Every type but HELLO carries a tag over type and payload; the codec
 * leaves the key and the sequence number to the caller's tagger.
 */
#ifndef FL_FRAME_H
#define FL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum { FRAME_HELLO = 1, FRAME_WRITE = 2, FRAME_ACK = 3, FRAME_SYNC = 4, FRAME_SNAPSHOT = 5, FRAME_AUTH = 6 };

#define FRAME_HEAD 5           /* len and type */
#define FRAME_TAG 16
/* the largest len an authenticated peer may send: a WRITE of the largest
 * value cache.max_value allows (16 MiB) with its request id, key, version
 * and tag; a SNAPSHOT frame holds at most one entry past its 4 MiB chunk */
#define FRAME_MAX ((16u << 20) + 4096)

struct frame_tagger {
	/* the tag of span (type and payload), for a frame being encoded */
	void (*tag)(void *ud, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG]);
	/* 0 when tag is span's, for a frame being decoded */
	int (*check)(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG]);
	void *ud;
};

struct frame {
	uint8_t type;            /* any value: a type this release does not know is the caller's to ignore */
	const uint8_t *payload;  /* inside the input, without the tag */
	size_t len;
};

enum frame_status {
	FRAME_OK,         /* *f is a frame, *used bytes of the input */
	FRAME_NEED_MORE,  /* no complete frame yet; nothing used */
	FRAME_BAD_LENGTH, /* len is 0 or above max */
	FRAME_BAD_TAG,    /* a tagged type without a tagger, too short for a tag, or a wrong tag
	                   * (*used is set: the frame is whole) */
};

/* Appends a frame of type with payload a then b (either may be empty) to
 * out, tagged by t unless it is a HELLO.  0, or -1 when out of memory or a
 * tagged type comes without t->tag (out may then hold part of a frame). */
int frame_encode(struct buf *out, uint8_t type, const void *a, size_t alen, const void *b, size_t blen,
		 const struct frame_tagger *t);

/* The first frame of in[0..n): len is checked against max as soon as the
 * head is there; a tagged frame is checked by t (NULL: no key yet, so
 * every tagged frame is refused), which is called once a frame, in order. */
enum frame_status frame_decode(const uint8_t *in, size_t n, size_t max, const struct frame_tagger *t,
			       struct frame *f, size_t *used);

#endif
