/*
 * Packet authentication: HMAC-SHA256 (libsodium) with keys from a key file.
 *
 * Key file: one key per line, "ID:HEX" with ID 1..255 and HEX 64 hex digits
 * (32 bytes); '#' starts a comment.  Several keys are accepted at once (a
 * rotation: add the new key everywhere, switch cluster.key_id, remove the
 * old).  The file must not be readable by group or others.
 *
 * UDP packets carry the key id and a 32-byte tag over everything before
 * the tag (wire.h).  Replication connections derive a key per direction
 * from both sides' nonces, and tag every frame with a per-direction
 * sequence number, so nothing recorded can be replayed into a new one.
 */
#ifndef FL_AUTH_H
#define FL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEY_LEN 32
#define AUTH_MAX_KEYS 8
#define AUTH_NONCE_LEN 16
#define AUTH_FRAME_TAG 16

struct auth_keys {
	int n;
	uint8_t signing;  /* the id new packets are signed with */
	struct {
		uint8_t id;
		uint8_t key[AUTH_KEY_LEN];
	} k[AUTH_MAX_KEYS];
};

int auth_init(void);
/* Reads and checks path; 0, or -1 with a message saying what to fix. */
int auth_load(struct auth_keys *ks, const char *path, int signing_id, char *err, size_t errlen);
/* Writes a new random key file (mode 0600) with key id 1. */
int auth_new_key_file(const char *path, char *err, size_t errlen);

/* Signs an encoded packet of length n in place (its trailer). */
void auth_sign(const struct auth_keys *ks, uint8_t *pkt, size_t n);
/* 0 good, -1 unknown key id (or none), -2 wrong tag. */
int auth_verify(const struct auth_keys *ks, const uint8_t *pkt, size_t n);

/* A key for one direction of a replication connection. */
void auth_session_key(const struct auth_keys *ks, const uint8_t *sender_nonce, const uint8_t *receiver_nonce,
		      const char *sender, uint8_t out[AUTH_KEY_LEN]);
/* The same from one key: a receiver tries each accepted key in turn, since
 * the sender derived its key from its own signing key. */
void auth_session_key_with(const uint8_t key[AUTH_KEY_LEN], const uint8_t *sender_nonce,
			   const uint8_t *receiver_nonce, const char *sender, uint8_t out[AUTH_KEY_LEN]);
void auth_frame_tag(const uint8_t key[AUTH_KEY_LEN], uint64_t seq, const uint8_t *frame, size_t n,
		    uint8_t out[AUTH_FRAME_TAG]);
int auth_frame_check(const uint8_t key[AUTH_KEY_LEN], uint64_t seq, const uint8_t *frame, size_t n,
		     const uint8_t tag[AUTH_FRAME_TAG]);
void auth_random(void *buf, size_t n);

#endif
