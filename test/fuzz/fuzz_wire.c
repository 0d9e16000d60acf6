/* libFuzzer harness for the packet decoder: any bytes, no crash, no read
 * past the datagram, and what decodes re-encodes to the same bytes (for a
 * newer version's packet: the same common part, see wire.h). */
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
	if (m.version > WIRE_VERSION) {
		/* the common part, re-encoded as ours, without the extension */
		size_t common = size - WIRE_TRAILER_LEN - m.ext_len;
		if (m.ext_len > size || common < WIRE_HEADER_LEN)
			abort();
		if (!wire_type_known(m.type))
			m.type = WIRE_HEARTBEAT;
		n = wire_encode(&m, again, sizeof(again));
		if (n != common + WIRE_TRAILER_LEN || memcmp(again + 8, data + 8, common - 8) != 0)
			abort();
		return 0;
	}
	if (m.ext_len != 0)
		abort();
	n = wire_encode(&m, again, sizeof(again));
	/* the trailer is zeroed by encode; everything before it must match */
	if (n != size || memcmp(again, data, n - WIRE_TRAILER_LEN) != 0)
		abort();
	return 0;
}
