/*
 * HMAC-SHA256 from libsodium; constant-time comparisons; keys zeroed by the
 * caller's lifetime (they live as long as the daemon).
 */
#include "auth.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire.h"

int auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void auth_random(void *buf, size_t n)
{
	randombytes_buf(buf, n);
}

int auth_load(struct auth_keys *ks, const char *path, int signing_id, char *err, size_t errlen)
{
	FILE *fp;
	char line[512];
	int lineno = 0, found = 0;

	memset(ks, 0, sizeof(*ks));
	fp = fopen(path, "re");
	if (fp == NULL) {
		snprintf(err, errlen, "cluster.key_file: cannot read %s: %s; create one with failover-launcher "
				      "--new-key %s, or set cluster.auth = none", path, strerror(errno), path);
		return -1;
	}
	if (file_check_private(fileno(fp), path, "cluster.key_file", err, errlen) != 0) {
		fclose(fp);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *colon;
		long id;
		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		colon = strchr(p, ':');
		id = 0;
		if (colon != NULL) {
			char *end;

			errno = 0;
			id = strtol(p, &end, 10);
			/* the digits and nothing else before the colon: "1x:" is no id */
			if (end == p || end != colon || errno != 0 || *p == '+' || *p == '-')
				id = 0;
		}
		if (colon == NULL || id < 1 || id > 255) {
			snprintf(err, errlen, "%s:%d: expected ID:HEX with ID 1..255", path, lineno);
			goto bad;
		}
		p = colon + 1;
		if (ks->n == AUTH_MAX_KEYS) {
			snprintf(err, errlen, "%s:%d: at most %d keys", path, lineno, AUTH_MAX_KEYS);
			goto bad;
		}
		{
			size_t got = 0;
			const char *end = NULL;
			if (sodium_hex2bin(ks->k[ks->n].key, AUTH_KEY_LEN, p, strlen(p), NULL, &got, &end) != 0 ||
			    got != AUTH_KEY_LEN || (end && *end != '\n' && *end != '\0' && *end != '\r' && *end != ' ')) {
				snprintf(err, errlen, "%s:%d: key %ld is not 64 hex digits", path, lineno, id);
				goto bad;
			}
		}
		for (int i = 0; i < ks->n; i++)
			if (ks->k[i].id == id) {
				snprintf(err, errlen, "%s:%d: key id %ld given twice", path, lineno, id);
				goto bad;
			}
		ks->k[ks->n++].id = (uint8_t)id;
		if (id == signing_id)
			found = 1;
	}
	fclose(fp);
	sodium_memzero(line, sizeof(line));
	if (ks->n == 0) {
		snprintf(err, errlen, "cluster.key_file: %s holds no key", path);
		return -1;
	}
	if (!found) {
		snprintf(err, errlen, "cluster.key_id: %d is not in %s", signing_id, path);
		return -1;
	}
	ks->signing = (uint8_t)signing_id;
	return 0;
bad:
	fclose(fp);
	sodium_memzero(line, sizeof(line));
	sodium_memzero(ks, sizeof(*ks));
	return -1;
}

int auth_new_key_file(const char *path, char *err, size_t errlen)
{
	uint8_t key[AUTH_KEY_LEN];
	char hex[2 * AUTH_KEY_LEN + 1];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *fp;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	fp = fdopen(fd, "w");
	if (fp == NULL || fprintf(fp, "# failover-launcher cluster key: copy to every node, keep it 0600\n1:%s\n",
				  hex) < 0 || fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	return 0;
}

static const uint8_t *key_for(const struct auth_keys *ks, uint8_t id)
{
	for (int i = 0; i < ks->n; i++)
		if (ks->k[i].id == id)
			return ks->k[i].key;
	return NULL;
}

void auth_sign(const struct auth_keys *ks, uint8_t *pkt, size_t n)
{
	size_t t = wire_trailer_offset(n);

	pkt[t] = ks->signing;
	pkt[t + 1] = 0;
	/* the tag covers everything before it, the key id included */
	crypto_auth_hmacsha256(pkt + n - WIRE_TAG_LEN, pkt, n - WIRE_TAG_LEN, key_for(ks, ks->signing));
}

int auth_verify(const struct auth_keys *ks, const uint8_t *pkt, size_t n)
{
	const uint8_t *key = key_for(ks, pkt[wire_trailer_offset(n)]);
	uint8_t tag[WIRE_TAG_LEN];

	if (key == NULL)
		return -1;
	crypto_auth_hmacsha256(tag, pkt, n - WIRE_TAG_LEN, key);
	return crypto_verify_32(tag, pkt + n - WIRE_TAG_LEN) == 0 ? 0 : -2;
}

void auth_session_key(const struct auth_keys *ks, const uint8_t *sender_nonce, const uint8_t *receiver_nonce,
		      const char *sender, uint8_t out[AUTH_KEY_LEN])
{
	auth_session_key_with(key_for(ks, ks->signing), sender_nonce, receiver_nonce, sender, out);
}

void auth_session_key_with(const uint8_t key[AUTH_KEY_LEN], const uint8_t *sender_nonce,
			   const uint8_t *receiver_nonce, const char *sender, uint8_t out[AUTH_KEY_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)"failover-replication", 20);
	crypto_auth_hmacsha256_update(&st, sender_nonce, AUTH_NONCE_LEN);
	crypto_auth_hmacsha256_update(&st, receiver_nonce, AUTH_NONCE_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)sender, strlen(sender));
	crypto_auth_hmacsha256_final(&st, out);
}

void auth_frame_tag(const uint8_t key[AUTH_KEY_LEN], uint64_t seq, const uint8_t *frame, size_t n,
		    uint8_t out[AUTH_FRAME_TAG])
{
	crypto_auth_hmacsha256_state st;
	uint8_t s[8], full[32];

	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (56 - 8 * i));
	crypto_auth_hmacsha256_init(&st, key, AUTH_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, s, 8);
	crypto_auth_hmacsha256_update(&st, frame, n);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(out, full, AUTH_FRAME_TAG);
}

int auth_frame_check(const uint8_t key[AUTH_KEY_LEN], uint64_t seq, const uint8_t *frame, size_t n,
		     const uint8_t tag[AUTH_FRAME_TAG])
{
	uint8_t want[AUTH_FRAME_TAG];

	auth_frame_tag(key, seq, frame, n, want);
	return crypto_verify_16(want, tag) == 0 ? 0 : -1;
}
