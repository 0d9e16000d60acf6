/*
 * The memcached text protocol, request side: parses one request from a
 * connection's buffer.  Pure, so that the fuzzer can drive it.
 */
#ifndef FL_MCPROTO_H
#define FL_MCPROTO_H

#include <stddef.h>
#include <stdint.h>

#define MC_LINE_MAX 2048
#define MC_KEYS_MAX 64

enum mc_cmd { MC_GET, MC_GETS, MC_SET, MC_ADD, MC_REPLACE, MC_CAS, MC_DELETE, MC_STATS, MC_VERSION, MC_QUIT };

enum mc_status {
	MC_NEED_MORE, /* no complete request yet */
	MC_REQUEST,   /* req is complete: consumed bytes */
	MC_ERROR,     /* reply err; drop consumed bytes, then skip req->skip more; close if req->close */
};

struct mc_req {
	enum mc_cmd cmd;
	char keybuf[MC_LINE_MAX + 1];
	char *keys[MC_KEYS_MAX];
	int nkeys;
	uint32_t flags;
	int64_t exptime;
	uint32_t bytes;
	uint64_t cas;
	int noreply;
	const uint8_t *data; /* points into the caller's buffer */
	size_t skip;         /* after an error: data bytes still to discard */
	int close;           /* after an error: the stream cannot be trusted */
};

/* Parses buf.  On MC_ERROR, err holds the whole reply line (with \r\n). */
enum mc_status mc_parse(const uint8_t *buf, size_t len, size_t max_key, size_t max_value, struct mc_req *req,
			size_t *consumed, char *err, size_t errlen);

#endif
