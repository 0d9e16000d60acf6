/*
 * Packet codec.  Fields are read and written one by one at fixed offsets,
 * never by casting the buffer to a struct, and every length is checked
 * before the bytes it covers are touched.
 */
#include "wire.h"

#include <string.h>

#include "bytes.h"
#include "hash.h"

const char *wire_error_name(enum wire_error e)
{
	static const char *const names[] = {"ok", "short", "magic", "version", "type", "length", "field"};
	return e < WIRE_ERR_COUNT ? names[e] : "?";
}

const char *wire_role_name(uint8_t role)
{
	static const char *const names[] = {"listening", "slave", "candidate", "master"};
	return role <= WIRE_ROLE_MAX ? names[role] : "?";
}

const char *wire_type_name(uint8_t type)
{
	static const char *const names[] = {"?", "heartbeat", "claim", "resign", "handover", "vote"};
	return type <= WIRE_TYPE_MAX ? names[type] : "?";
}

uint64_t wire_cluster_digest(const char *name)
{
	return hash_fnv1a_str(HASH_FNV1A_INIT, name);
}

int wire_valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > WIRE_ID_MAX)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* A NUL-padded id field: empty, or a valid id followed only by NULs. */
static int get_id(const uint8_t *p, char *out, int allow_empty)
{
	size_t n = 0;

	while (n < WIRE_ID_MAX && p[n] != 0)
		n++;
	for (size_t i = n; i < WIRE_ID_MAX; i++)
		if (p[i] != 0)
			return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (n == 0)
		return allow_empty ? 0 : -1;
	return wire_valid_id(out) ? 0 : -1;
}

static void put_id(uint8_t *p, const char *id)
{
	size_t n = strlen(id);
	memset(p, 0, WIRE_ID_MAX);
	memcpy(p, id, n);
}

size_t wire_encode(const struct wire_msg *m, uint8_t *buf, size_t len)
{
	size_t ulen = strlen(m->url), total;

	if (!wire_valid_id(m->node) || (m->target[0] && !wire_valid_id(m->target)) || ulen > WIRE_URL_MAX ||
	    m->payload_len > WIRE_PAYLOAD_MAX || m->type == 0 || m->type > WIRE_TYPE_MAX || m->role > WIRE_ROLE_MAX)
		return 0;
	total = WIRE_HEADER_LEN + ulen + 2 + m->payload_len + WIRE_TRAILER_LEN;
	if (total > len || total > WIRE_MAX_LEN)
		return 0;
	bytes_put32(buf + 0, WIRE_MAGIC);
	buf[4] = WIRE_VERSION;
	buf[5] = m->type;
	bytes_put16(buf + 6, (uint16_t)total);
	bytes_put64(buf + 8, m->cluster);
	put_id(buf + 16, m->node);
	bytes_put64(buf + 48, m->boot);
	bytes_put64(buf + 56, m->seq);
	bytes_put64(buf + 64, m->term);
	buf[72] = m->role;
	buf[73] = m->flags;
	bytes_put16(buf + 74, m->position);
	bytes_put64(buf + 76, m->cache_digest);
	put_id(buf + 84, m->target);
	bytes_put32(buf + 116, m->master_age);
	bytes_put16(buf + 120, (uint16_t)ulen);
	memcpy(buf + 122, m->url, ulen);
	bytes_put16(buf + 122 + ulen, m->payload_len);
	if (m->payload_len)
		memcpy(buf + 124 + ulen, m->payload, m->payload_len);
	memset(buf + total - WIRE_TRAILER_LEN, 0, WIRE_TRAILER_LEN);
	return total;
}

enum wire_error wire_decode(const uint8_t *buf, size_t len, struct wire_msg *m)
{
	size_t ulen, plen, used;

	memset(m, 0, sizeof(*m));
	if (len < 8)
		return WIRE_ERR_SHORT;
	if (bytes_get32(buf) != WIRE_MAGIC)
		return WIRE_ERR_MAGIC;
	m->version = buf[4];
	if (m->version < WIRE_VERSION_MIN)
		return WIRE_ERR_VERSION;
	m->type = buf[5];
	/* a newer version may define types: its common part still tells who
	 * is alive, in which role and term (wire.h) */
	if (m->version <= WIRE_VERSION && !wire_type_known(m->type))
		return WIRE_ERR_TYPE;
	if (len < WIRE_MIN_LEN)
		return WIRE_ERR_SHORT;
	if (len > WIRE_MAX_LEN || bytes_get16(buf + 6) != len) /* no version sends more */
		return WIRE_ERR_LENGTH;
	ulen = bytes_get16(buf + 120);
	if (ulen > WIRE_URL_MAX || WIRE_HEADER_LEN + ulen + 2 + WIRE_TRAILER_LEN > len)
		return WIRE_ERR_LENGTH;
	plen = bytes_get16(buf + 122 + ulen);
	used = WIRE_HEADER_LEN + ulen + 2 + plen + WIRE_TRAILER_LEN;
	/* our version has no extension; a newer one's is skipped */
	if (used > len || (m->version <= WIRE_VERSION && used != len))
		return WIRE_ERR_LENGTH;
	m->ext_len = (uint16_t)(len - used);
	m->cluster = bytes_get64(buf + 8);
	if (get_id(buf + 16, m->node, 0) != 0 || get_id(buf + 84, m->target, 1) != 0)
		return WIRE_ERR_FIELD;
	m->boot = bytes_get64(buf + 48);
	m->seq = bytes_get64(buf + 56);
	m->term = bytes_get64(buf + 64);
	m->role = buf[72];
	if (m->role > WIRE_ROLE_MAX)
		return WIRE_ERR_FIELD;
	m->flags = buf[73];
	m->position = bytes_get16(buf + 74);
	m->cache_digest = bytes_get64(buf + 76);
	m->master_age = bytes_get32(buf + 116);
	memcpy(m->url, buf + 122, ulen);
	m->url[ulen] = '\0';
	if (memchr(m->url, '\0', ulen) != NULL)
		return WIRE_ERR_FIELD;
	m->payload_len = (uint16_t)plen;
	m->payload = plen ? buf + 124 + ulen : NULL;
	m->key_id = buf[len - WIRE_TRAILER_LEN];
	memcpy(m->tag, buf + len - WIRE_TAG_LEN, WIRE_TAG_LEN);
	return WIRE_OK;
}
