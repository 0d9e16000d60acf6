#include "frame.h"

#include <string.h>

#include "bytes.h"

int frame_encode(struct buf *out, uint8_t type, const void *a, size_t alen, const void *b, size_t blen,
		 const struct frame_tagger *t)
{
	uint8_t head[FRAME_HEAD], tag[FRAME_TAG];
	int tagged = type != FRAME_HELLO;

	if (tagged && (t == NULL || t->tag == NULL))
		return -1;
	bytes_put_be(head, 1 + alen + blen + (tagged ? FRAME_TAG : 0), 4);
	head[4] = type;
	if (buf_add(out, head, FRAME_HEAD) != 0 || (alen && buf_add(out, a, alen) != 0) ||
	    (blen && buf_add(out, b, blen) != 0))
		return -1;
	if (tagged) {
		/* buf_add may have moved the buffer: find the frame from its end */
		size_t start = out->len - (FRAME_HEAD + alen + blen);
		t->tag(t->ud, out->p + start + 4, 1 + alen + blen, tag);
		if (buf_add(out, tag, sizeof(tag)) != 0)
			return -1;
	}
	return 0;
}

enum frame_status frame_decode(const uint8_t *in, size_t n, size_t max, const struct frame_tagger *t,
			       struct frame *f, size_t *used)
{
	uint32_t flen;

	if (n < FRAME_HEAD)
		return FRAME_NEED_MORE;
	flen = (uint32_t)bytes_get_be(in, 4);
	if (flen == 0 || flen > max)
		return FRAME_BAD_LENGTH;
	if (n - 4 < (size_t)flen)
		return FRAME_NEED_MORE;
	f->type = in[4];
	f->payload = in + FRAME_HEAD;
	f->len = flen - 1;
	*used = 4 + (size_t)flen;
	if (f->type == FRAME_HELLO)
		return FRAME_OK;
	/* every frame after the HELLOs carries its tag */
	if (t == NULL || t->check == NULL || f->len < FRAME_TAG ||
	    t->check(t->ud, in + 4, flen - FRAME_TAG, in + 4 + flen - FRAME_TAG) != 0)
		return FRAME_BAD_TAG;
	f->len -= FRAME_TAG;
	return FRAME_OK;
}
