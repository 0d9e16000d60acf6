/* libFuzzer harness for the replication frame decoder: a stream of frames
 * decoded the way a connection does, never reading past the buffer; every
 * frame it accepts encodes back to the same bytes.  The tag is a stand-in
 * the fuzzer can learn (byte i is seq + i), so tagged frames get through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static void tag_cb(void *ud, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG])
{
	uint64_t *seq = ud;

	(void)span;
	(void)n;
	for (int i = 0; i < FRAME_TAG; i++)
		tag[i] = (uint8_t)(*seq + (uint64_t)i);
	(*seq)++;
}

static int check_cb(void *ud, const uint8_t *span, size_t n, const uint8_t tag[FRAME_TAG])
{
	uint8_t want[FRAME_TAG];

	tag_cb(ud, span, n, want);
	return memcmp(want, tag, FRAME_TAG) == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rx = 0, tx = 0;
	const struct frame_tagger r = {.check = check_cb, .ud = &rx};
	const struct frame_tagger t = {.tag = tag_cb, .ud = &tx};
	size_t off = 1, max;

	if (size < 1)
		return 0;
	/* the first byte picks the limit: a tiny one (before authentication) or the full one */
	max = data[0] & 1 ? (size_t)(data[0] >> 1) : FRAME_MAX;
	while (off < size) {
		struct frame f;
		struct buf b = {0};
		size_t used = 0;
		enum frame_status st = frame_decode(data + off, size - off, max, off > 1 ? &r : NULL, &f, &used);

		if (st == FRAME_NEED_MORE)
			break;
		if (st != FRAME_OK)
			break; /* a connection closes here */
		if (used < FRAME_HEAD || used > size - off || used - FRAME_HEAD > max ||
		    f.payload != data + off + FRAME_HEAD || f.len > used - FRAME_HEAD)
			abort();
		if (frame_encode(&b, f.type, f.payload, f.len, NULL, 0, &t) != 0 || b.len != used ||
		    memcmp(b.p, data + off, used) != 0)
			abort();
		buf_free(&b);
		off += used;
	}
	return 0;
}
