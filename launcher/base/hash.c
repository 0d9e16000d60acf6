/*
 * FNV-1a 64: xor a byte in, multiply by the FNV prime, for every byte.
 */
#include "hash.h"

#define FNV1A_PRIME 0x100000001b3ull

uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV1A_PRIME;
	}
	return h;
}

uint64_t hash_fnv1a_str(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= FNV1A_PRIME;
	}
	return h;
}
