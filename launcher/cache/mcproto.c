/*
 * Request parsing for the memcached text protocol (protocol.txt): a
 * command line ending in \r\n (a bare \n is accepted), and for storage
 * commands a data block of exactly <bytes> bytes followed by \r\n.
 */
#include "mcproto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static enum mc_status fail(char *err, size_t errlen, const char *text)
{
	snprintf(err, errlen, "%s\r\n", text);
	return MC_ERROR;
}

/* a key as memcached's text protocol allows it: 1..max bytes, no control
 * character and no blank (a tab or a DEL would pass a split on spaces) */
static int key_ok(const char *k, size_t max_key)
{
	size_t n = 0;

	for (; k[n]; n++)
		if ((unsigned char)k[n] <= 0x20 || (unsigned char)k[n] == 0x7f)
			return 0;
	return n > 0 && n <= max_key;
}

enum mc_status mc_parse(const uint8_t *buf, size_t len, size_t max_key, size_t max_value, struct mc_req *req,
			size_t *consumed, char *err, size_t errlen)
{
	const uint8_t *nl = memchr(buf, '\n', len < MC_LINE_MAX ? len : MC_LINE_MAX);
	size_t linelen, n = 0;
	char *w[MC_KEYS_MAX + 2], *save = NULL, *t;
	uint64_t u;

	memset(req, 0, sizeof(*req));
	*consumed = 0;
	/* the binary protocol's request magic: its header has no newline, so
	 * waiting for one would leave the client hanging; say so and close */
	if (len > 0 && buf[0] == 0x80) {
		req->close = 1;
		*consumed = len;
		return fail(err, errlen, "CLIENT_ERROR the binary protocol is not served here; use the text protocol");
	}
	if (nl == NULL) {
		if (len >= MC_LINE_MAX) {
			req->close = 1;
			*consumed = len;
			return fail(err, errlen, "CLIENT_ERROR line too long");
		}
		return MC_NEED_MORE;
	}
	linelen = (size_t)(nl - buf);
	*consumed = linelen + 1;
	if (linelen > 0 && buf[linelen - 1] == '\r')
		linelen--;
	if (memchr(buf, '\0', linelen) != NULL)
		return fail(err, errlen, "CLIENT_ERROR bad command line format");
	memcpy(req->keybuf, buf, linelen);
	req->keybuf[linelen] = '\0';
	for (t = strtok_r(req->keybuf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == MC_KEYS_MAX + 2)
			return fail(err, errlen, "CLIENT_ERROR too many arguments");
		w[n++] = t;
	}
	if (n == 0)
		return fail(err, errlen, "ERROR");
	if (strcmp(w[0], "get") == 0 || strcmp(w[0], "gets") == 0) {
		req->cmd = w[0][3] == 's' ? MC_GETS : MC_GET;
		if (n < 2)
			return fail(err, errlen, "ERROR");
		if (n - 1 > MC_KEYS_MAX)
			return fail(err, errlen, "CLIENT_ERROR too many keys");
		for (size_t i = 1; i < n; i++) {
			if (!key_ok(w[i], max_key))
				return fail(err, errlen, "CLIENT_ERROR bad command line format");
			req->keys[req->nkeys++] = w[i];
		}
		return MC_REQUEST;
	}
	if (strcmp(w[0], "delete") == 0) {
		req->cmd = MC_DELETE;
		if (n < 2 || n > 4 || !key_ok(w[1], max_key))
			return fail(err, errlen, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
		req->keys[req->nkeys++] = w[1];
		/* "delete <key> 0" (an old time argument) is still accepted */
		for (size_t i = 2; i < n; i++) {
			if (strcmp(w[i], "noreply") == 0)
				req->noreply = 1;
			else if (strcmp(w[i], "0") != 0)
				return fail(err, errlen,
					    "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
		}
		return MC_REQUEST;
	}
	if (strcmp(w[0], "stats") == 0 && n == 1) {
		req->cmd = MC_STATS;
		return MC_REQUEST;
	}
	if (strcmp(w[0], "version") == 0 && n == 1) {
		req->cmd = MC_VERSION;
		return MC_REQUEST;
	}
	if (strcmp(w[0], "quit") == 0 && n == 1) {
		req->cmd = MC_QUIT;
		return MC_REQUEST;
	}
	if (strcmp(w[0], "set") == 0)
		req->cmd = MC_SET;
	else if (strcmp(w[0], "add") == 0)
		req->cmd = MC_ADD;
	else if (strcmp(w[0], "replace") == 0)
		req->cmd = MC_REPLACE;
	else if (strcmp(w[0], "cas") == 0)
		req->cmd = MC_CAS;
	else
		return fail(err, errlen, "ERROR");
	{
		size_t need = req->cmd == MC_CAS ? 6 : 5;
		if (n < need || n > need + 1 || (n == need + 1 && strcmp(w[need], "noreply") != 0)) {
			/* the data block's length is unknown: the stream is lost */
			req->close = 1;
			return fail(err, errlen, "CLIENT_ERROR bad command line format");
		}
		req->noreply = n == need + 1;
		if (parse_u64(w[4], UINT32_MAX, &u) != 0) {
			req->close = 1;
			return fail(err, errlen, "CLIENT_ERROR bad command line format");
		}
		req->bytes = (uint32_t)u;
		if (!key_ok(w[1], max_key) || parse_u64(w[2], UINT32_MAX, &u) != 0 || parse_i64(w[3], &req->exptime) != 0 ||
		    (req->cmd == MC_CAS && parse_u64(w[5], UINT64_MAX, &req->cas) != 0)) {
			req->skip = (size_t)req->bytes + 2;
			return fail(err, errlen, "CLIENT_ERROR bad command line format");
		}
		req->flags = (uint32_t)u;
		req->keys[req->nkeys++] = w[1];
		if (req->bytes > max_value) {
			req->skip = (size_t)req->bytes + 2;
			return fail(err, errlen, "SERVER_ERROR object too large for cache");
		}
		if (len - *consumed < (size_t)req->bytes + 2) {
			*consumed = 0;
			return MC_NEED_MORE;
		}
		if (buf[*consumed + req->bytes] != '\r' || buf[*consumed + req->bytes + 1] != '\n') {
			req->close = 1;
			return fail(err, errlen, "CLIENT_ERROR bad data chunk");
		}
		req->data = buf + *consumed;
		*consumed += (size_t)req->bytes + 2;
		return MC_REQUEST;
	}
}
