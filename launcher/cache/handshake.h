/*
 * The replication handshake of one connection (pure: no I/O, no clock, no
 * logging; keys and nonces come from the caller).
 *
 * Each side sends an untagged HELLO (cluster digest u64 | node_len u8 |
 * node | nonce, 16 bytes), then, once it has the peer's HELLO, a tagged
 * AUTH frame; every later frame is tagged with a key per direction and a
 * sequence number.  The sender derives its key from its signing key, both
 * nonces and its node id (auth_session_key); the receiver tries each key it
 * accepts on the peer's AUTH (the first tagged frame, sequence 0), so a
 * peer signing with any accepted key id authenticates, as for heartbeats.
 *
 * Until that AUTH verifies, the node id in the peer's HELLO is a claim:
 * nothing may be attached to it.  A fresh nonce on our side makes every
 * recorded AUTH useless; the node ids in the keys make a reflected AUTH
 * fail.
 */
#ifndef FL_HANDSHAKE_H
#define FL_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "frame.h"
#include "wire.h"

/* the largest HELLO payload, and the largest frame (len) before the peer's
 * AUTH verified: a HELLO or an AUTH, nothing else */
#define HS_HELLO_MAX (8 + 1 + WIRE_ID_MAX + AUTH_NONCE_LEN)
#define HS_FRAME_MAX (1 + HS_HELLO_MAX)

struct hs {
	uint64_t cluster;
	char self[WIRE_ID_MAX + 1];
	char peer[WIRE_ID_MAX + 1];  /* expected (outbound), or claimed until authed */
	uint8_t nonce[AUTH_NONCE_LEN], peer_nonce[AUTH_NONCE_LEN];
	uint8_t k_tx[AUTH_KEY_LEN], k_rx[AUTH_KEY_LEN];
	uint64_t tx_seq, rx_seq;
	int heard;   /* the peer's HELLO taken: our AUTH and later frames can be tagged */
	int authed;  /* the peer's AUTH verified: peer is its node id */
};

/* A new handshake: peer is the node an outbound connection expects, or
 * NULL for an inbound one; nonce is fresh random bytes. */
void hs_init(struct hs *h, uint64_t cluster, const char *self, const char *peer,
	     const uint8_t nonce[AUTH_NONCE_LEN]);
/* Our HELLO's payload; its length. */
size_t hs_hello(const struct hs *h, uint8_t out[HS_HELLO_MAX]);
/* The peer's HELLO payload: 0 (our tx key is ready, send AUTH), or -1 for
 * a foreign cluster, a malformed or second HELLO, our own id or nonce, or
 * another node than the one expected.  ks NULL: cluster.auth = none. */
int hs_on_hello(struct hs *h, const struct auth_keys *ks, const uint8_t *a, size_t n);
/* The largest frame len the peer may send now. */
size_t hs_frame_max(const struct hs *h);
/* The tag of an outgoing frame's span (type and payload). */
void hs_tag(struct hs *h, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG]);
/* 0 when tag is span's.  Before authentication only an AUTH frame can
 * pass, tried with each accepted key; it sets authed. */
int hs_check(struct hs *h, const struct auth_keys *ks, const uint8_t *span, size_t n,
	     const uint8_t tag[FRAME_TAG]);
/* Forgets the keys. */
void hs_wipe(struct hs *h);

#endif
