#include "handshake.h"

#include <string.h>

#include "bytes.h"

/* cluster.auth = none: frames are still tagged, with a key everyone knows */
static const struct auth_keys *keys_or_zero(const struct auth_keys *ks, struct auth_keys *zero)
{
	if (ks != NULL)
		return ks;
	memset(zero, 0, sizeof(*zero));
	zero->n = 1;
	zero->k[0].id = 1;
	zero->signing = 1;
	return zero;
}

void hs_init(struct hs *h, uint64_t cluster, const char *self, const char *peer,
	     const uint8_t nonce[AUTH_NONCE_LEN])
{
	memset(h, 0, sizeof(*h));
	h->cluster = cluster;
	strncpy(h->self, self, WIRE_ID_MAX);
	if (peer != NULL)
		strncpy(h->peer, peer, WIRE_ID_MAX);
	memcpy(h->nonce, nonce, AUTH_NONCE_LEN);
}

size_t hs_hello(const struct hs *h, uint8_t out[HS_HELLO_MAX])
{
	size_t n = strlen(h->self);

	bytes_put_be(out, h->cluster, 8);
	out[8] = (uint8_t)n;
	memcpy(out + 9, h->self, n);
	memcpy(out + 9 + n, h->nonce, AUTH_NONCE_LEN);
	return 9 + n + AUTH_NONCE_LEN;
}

int hs_on_hello(struct hs *h, const struct auth_keys *ks, const uint8_t *a, size_t n)
{
	struct auth_keys zero;
	char node[WIRE_ID_MAX + 1];
	const uint8_t *nonce;

	if (h->heard || n < 9 || a[8] == 0 || a[8] > WIRE_ID_MAX || (size_t)a[8] + 9 + AUTH_NONCE_LEN != n ||
	    bytes_get_be(a, 8) != h->cluster)
		return -1;
	memcpy(node, a + 9, a[8]);
	node[a[8]] = '\0';
	nonce = a + 9 + a[8];
	/* our own id or our own nonce back: a reflection, not a peer */
	if (!wire_valid_id(node) || strcmp(node, h->self) == 0 || memcmp(nonce, h->nonce, AUTH_NONCE_LEN) == 0)
		return -1;
	if (h->peer[0] != '\0' && strcmp(h->peer, node) != 0)
		return -1;
	memcpy(h->peer, node, sizeof(node));
	memcpy(h->peer_nonce, nonce, AUTH_NONCE_LEN);
	auth_session_key(keys_or_zero(ks, &zero), h->nonce, h->peer_nonce, h->self, h->k_tx);
	h->tx_seq = 0;
	h->heard = 1;
	return 0;
}

size_t hs_frame_max(const struct hs *h)
{
	return h->authed ? FRAME_MAX : HS_FRAME_MAX;
}

void hs_tag(struct hs *h, const uint8_t *span, size_t n, uint8_t tag[FRAME_TAG])
{
	auth_frame_tag(h->k_tx, h->tx_seq++, span, n, tag);
}

int hs_check(struct hs *h, const struct auth_keys *ks, const uint8_t *span, size_t n,
	     const uint8_t tag[FRAME_TAG])
{
	struct auth_keys zero;
	uint8_t k[AUTH_KEY_LEN];

	if (h->authed)
		return auth_frame_check(h->k_rx, h->rx_seq++, span, n, tag);
	/* the first tagged frame must be the peer's AUTH: empty, sequence 0 */
	if (!h->heard || n != 1 || span[0] != FRAME_AUTH)
		return -1;
	ks = keys_or_zero(ks, &zero);
	for (int i = 0; i < ks->n; i++) {
		auth_session_key_with(ks->k[i].key, h->peer_nonce, h->nonce, h->peer, k);
		if (auth_frame_check(k, 0, span, n, tag) == 0) {
			memcpy(h->k_rx, k, sizeof(k));
			memset(k, 0, sizeof(k));
			h->rx_seq = 1;
			h->authed = 1;
			return 0;
		}
	}
	memset(k, 0, sizeof(k));
	return -1;
}

void hs_wipe(struct hs *h)
{
	volatile uint8_t *p = (volatile uint8_t *)h;

	/* volatile: the compiler may not drop the stores of a dying record */
	for (size_t i = 0; i < sizeof(*h); i++)
		p[i] = 0;
}
