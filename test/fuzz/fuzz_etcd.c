/* libFuzzer harness for the etcd gateway replies (etcd_codec.h): any text,
 * no crash, no leak, and what a parser accepts holds together: keys are
 * C strings of their decoded length, values are NUL-terminated, a refused
 * reply hands back nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"

static void check_kv(const struct etcd_kv *kv)
{
	if (kv->key == NULL)
		return;
	if (kv->value == NULL || kv->value[kv->vlen] != '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct etcd_reply r;
	struct etcd_kvs kvs;
	struct etcd_watch_msg w;
	int64_t a, b;
	int ok;
	char err[ETCD_ERR_MAX], token[64];

	memset(&r, 0, sizeof(r));

	if (etcd_parse_range(s, size, &r, &kvs, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < kvs.n; i++)
			check_kv(&kvs.v[i]);
		etcd_kvs_free(&kvs);
	} else if (kvs.n != 0 || kvs.v != NULL) {
		abort();
	}
	if (etcd_parse_txn(s, size, &r, &ok, &kvs, err, sizeof(err)) == 0)
		etcd_kvs_free(&kvs);
	else if (kvs.n != 0 || kvs.v != NULL)
		abort();
	if (etcd_parse_watch(s, size, &w, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < w.nev; i++) {
			check_kv(&w.ev[i].kv);
			check_kv(&w.ev[i].prev);
		}
		etcd_watch_msg_free(&w);
	} else if (w.nev != 0 || w.ev != NULL) {
		abort();
	}
	(void)etcd_parse_lease_grant(s, size, &r, &a, &b, err, sizeof(err));
	(void)etcd_parse_keepalive(s, size, &r, &a, err, sizeof(err));
	if (etcd_parse_auth(s, size, &r, token, sizeof(token), err, sizeof(err)) == 0 && strlen(token) >= sizeof(token))
		abort();
	if (r.error[sizeof(r.error) - 1] != '\0')
		abort();
	return 0;
}
