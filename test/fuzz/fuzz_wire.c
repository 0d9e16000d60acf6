/* libFuzzer harness for the packet decoder: any bytes, no crash, no read
 * past the datagram, and what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m;
	uint8_t again[WIRE_MAX_LEN];
	size_t n;

	if (wire_decode(data, size, &m) != WIRE_OK)
		return 0;
	if (m.payload_len && (m.payload < data || m.payload + m.payload_len > data + size))
		abort();
	n = wire_encode(&m, again, sizeof(again));
	/* the trailer is zeroed by encode; everything before it must match */
	if (n != size || memcmp(again, data, n - WIRE_TRAILER_LEN) != 0)
		abort();
	return 0;
}
