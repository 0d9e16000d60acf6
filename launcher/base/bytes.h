/*
 * Big-endian integers at a byte pointer: every byte format of the launcher
 * (packets, replication frames, the cache file, the store codec) writes its
 * integers this way, field by field, so no format depends on the host's
 * byte order or on struct layout.  The caller has checked the length.
 */
#ifndef FL_BYTES_H
#define FL_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* The low n bytes of v (n = 1..8), most significant first. */
static inline void bytes_put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* n bytes (1..8), most significant first. */
static inline uint64_t bytes_get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void bytes_put16(uint8_t *p, uint16_t v) { bytes_put_be(p, v, 2); }
static inline void bytes_put32(uint8_t *p, uint32_t v) { bytes_put_be(p, v, 4); }
static inline void bytes_put64(uint8_t *p, uint64_t v) { bytes_put_be(p, v, 8); }
static inline uint16_t bytes_get16(const uint8_t *p) { return (uint16_t)bytes_get_be(p, 2); }
static inline uint32_t bytes_get32(const uint8_t *p) { return (uint32_t)bytes_get_be(p, 4); }
static inline uint64_t bytes_get64(const uint8_t *p) { return bytes_get_be(p, 8); }

#endif
