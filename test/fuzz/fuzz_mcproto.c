/* libFuzzer harness for the memcached request parser: a stream of requests
 * parsed the way a connection does, never reading past the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, skip = 0;

	while (off < size) {
		struct mc_req req;
		size_t used;
		char err[128];
		enum mc_status st;

		if (skip) {
			size_t n = size - off < skip ? size - off : skip;
			off += n;
			skip -= n;
			continue;
		}
		st = mc_parse(data + off, size - off, 250, 4096, &req, &used, err, sizeof(err));
		if (st == MC_NEED_MORE)
			break;
		if (used == 0 || used > size - off)
			abort();
		if (st == MC_REQUEST && req.data && (req.data < data + off || req.data + req.bytes > data + off + used))
			abort();
		off += used;
		if (st == MC_ERROR) {
			if (req.close)
				break;
			skip = req.skip;
		}
	}
	return 0;
}
