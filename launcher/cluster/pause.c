/*
 * The pause record (see pause.h).
 */
#include "pause.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

int pause_valid(const struct pause_rec *r)
{
	if (r->version == 0)
		return r->paused == 0 && r->by[0] == '\0';
	return r->version <= PAUSE_VERSION_MAX && r->paused <= 1 && wire_valid_id(r->by);
}

int pause_newer(const struct pause_rec *a, const struct pause_rec *b)
{
	int c;

	if (!pause_valid(b))
		return 0;
	if (b->version != a->version)
		return b->version > a->version;
	/* one version, set twice at once: the same answer on every node */
	if (b->paused != a->paused)
		return b->paused > a->paused;
	c = strcmp(b->by, a->by);
	return c > 0;
}

int pause_merge(struct pause_rec *a, const struct pause_rec *b)
{
	if (!pause_newer(a, b))
		return 0;
	*a = *b;
	return 1;
}

int pause_next(const struct pause_rec *known, int paused, const char *self, struct pause_rec *out)
{
	if (known->version >= PAUSE_VERSION_MAX || !wire_valid_id(self))
		return -1;
	memset(out, 0, sizeof(*out));
	out->version = known->version + 1;
	out->paused = paused ? 1 : 0;
	snprintf(out->by, sizeof(out->by), "%s", self);
	return 0;
}

void pause_encode(const struct pause_rec *r, uint8_t *payload)
{
	uint8_t *p = payload + WIRE_HB_PAUSE;
	size_t n = strlen(r->by);

	bytes_put64(p, r->version);
	p[8] = r->paused;
	memset(p + 9, 0, WIRE_ID_MAX);
	memcpy(p + 9, r->by, n < WIRE_ID_MAX ? n : WIRE_ID_MAX);
}

enum pause_decode pause_decode(const uint8_t *payload, size_t len, struct pause_rec *r)
{
	const uint8_t *p;
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	if (payload == NULL || len < WIRE_HB_PAUSE_PAYLOAD)
		return PAUSE_DEC_ABSENT;
	p = payload + WIRE_HB_PAUSE;
	r->version = bytes_get64(p);
	r->paused = p[8];
	while (n < WIRE_ID_MAX && p[9 + n] != 0)
		n++;
	/* NUL padding only: nothing after the id's end */
	for (size_t i = n; i < WIRE_ID_MAX; i++)
		if (p[9 + i] != 0)
			return PAUSE_DEC_BAD;
	memcpy(r->by, p + 9, n);
	r->by[n] = '\0';
	return pause_valid(r) ? PAUSE_DEC_OK : PAUSE_DEC_BAD;
}

size_t pause_format(const struct pause_rec *r, char *out, size_t len)
{
	int n = snprintf(out, len, "version=%llu paused=%u by=%s", (unsigned long long)r->version, r->paused, r->by);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* A decimal number, all of s, no sign, no leading blanks. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

int pause_parse(const char *text, size_t len, struct pause_rec *r)
{
	char buf[PAUSE_TEXT_MAX * 2], *w, *save = NULL;
	int have_v = 0, have_p = 0, have_b = 0;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL || memchr(text, '\n', len) != NULL)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (w = strtok_r(buf, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		char *val = strchr(w, '=');
		if (val == NULL)
			return -1;
		*val++ = '\0';
		if (strcmp(w, "version") == 0) {
			if (have_v++ || parse_u64(val, &r->version) != 0)
				return -1;
		} else if (strcmp(w, "paused") == 0) {
			if (have_p++ || parse_u64(val, &v) != 0 || v > 1)
				return -1;
			r->paused = (uint8_t)v;
		} else if (strcmp(w, "by") == 0) {
			if (have_b++ || strlen(val) > WIRE_ID_MAX)
				return -1;
			snprintf(r->by, sizeof(r->by), "%s", val);
		}
	}
	if (!have_v || !have_p || !have_b || !pause_valid(r)) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
}

size_t pause_unaware_peers(const struct election *e, uint64_t now, char *list, size_t len)
{
	size_t n = 0, used = 0;

	if (len > 0)
		list[0] = '\0';
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (!election_peer_live(e, p, now) || !p->hb_heard || p->hb_payload_len >= WIRE_HB_PAUSE_PAYLOAD)
			continue;
		n++;
		if (used < len) {
			int k = snprintf(list + used, len - used, "%s%s", used ? ", " : "", p->id);
			if (k > 0)
				used += (size_t)k;
		}
	}
	return n;
}
