/* Unit tests of the etcd gateway codec (etcd_codec.h): the bodies we send,
 * byte for byte, and replies as etcd 3.4's gateway writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_codec.h"

static void expect_body(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* "/fl/c1/leader" is L2ZsL2MxL2xlYWRlcg== in base64 */
static void requests(void **state)
{
	(void)state;
	expect_body(etcd_req_lease_grant(5), "{\"TTL\":\"5\"}");
	expect_body(etcd_req_lease(7587869411651234567LL), "{\"ID\":\"7587869411651234567\"}");
	expect_body(etcd_req_range("/fl/c1/leader", 0), "{\"key\":\"L2ZsL2MxL2xlYWRlcg==\"}");
	/* every key under "/fl/c1/": the range ends at "/fl/c10" */
	expect_body(etcd_req_range("/fl/c1/", 1), "{\"key\":\"L2ZsL2MxLw==\",\"range_end\":\"L2ZsL2MxMA==\"}");
	expect_body(etcd_req_put("/fl/c1/leader", "n1", 2, 42),
		    "{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"value\":\"bjE=\",\"lease\":\"42\"}");
	expect_body(etcd_req_put("/fl/c1/leader", "", 0, 0), "{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"value\":\"\"}");
	expect_body(etcd_req_create("/fl/c1/leader", "n1", 2, 42, NULL, 0),
		    "{\"compare\":[{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		    "\"create_revision\":\"0\"}],"
		    "\"success\":[{\"request_put\":{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"value\":\"bjE=\",\"lease\":\"42\"}}],"
		    "\"failure\":[{\"request_range\":{\"key\":\"L2ZsL2MxL2xlYWRlcg==\"}}]}");
	expect_body(etcd_req_delete_own("/fl/c1/leader", 17),
		    "{\"compare\":[{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		    "\"create_revision\":\"17\"}],"
		    "\"success\":[{\"request_delete_range\":{\"key\":\"L2ZsL2MxL2xlYWRlcg==\"}}],"
		    "\"failure\":[{\"request_range\":{\"key\":\"L2ZsL2MxL2xlYWRlcg==\"}}]}");
	expect_body(etcd_req_watch("/fl/c1/", 1, 18),
		    "{\"create_request\":{\"key\":\"L2ZsL2MxLw==\",\"range_end\":\"L2ZsL2MxMA==\","
		    "\"start_revision\":\"18\",\"prev_kv\":true}}");
	expect_body(etcd_req_auth("fl", "s\"e\\cret"), "{\"name\":\"fl\",\"password\":\"s\\\"e\\\\cret\"}");
}

static void create_with_guard(void **state)
{
	char *b;

	(void)state;
	b = etcd_req_create("/k", "v", 1, 0, "/g", 9);
	assert_non_null(b);
	/* both compares, and no lease field for lease 0 */
	assert_non_null(strstr(b, "\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"9\""));
	assert_null(strstr(b, "lease"));
	free(b);
}

/* a resignation: the key's delete and the puts in one transaction */
static void delete_with_puts(void **state)
{
	struct etcd_put puts[2] = {{"/r", "x", 1, 7}, {"/n", "y", 1, 0}};

	(void)state;
	expect_body(etcd_req_delete_own_put("/k", 5, puts, 2),
		    "{\"compare\":[{\"key\":\"L2s=\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
		    "\"create_revision\":\"5\"}],\"success\":[{\"request_delete_range\":{\"key\":\"L2s=\"}},"
		    "{\"request_put\":{\"key\":\"L3I=\",\"value\":\"eA==\",\"lease\":\"7\"}},"
		    "{\"request_put\":{\"key\":\"L24=\",\"value\":\"eQ==\"}}],"
		    "\"failure\":[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	assert_null(etcd_req_delete_own_put("/k", 5, puts, 5));
}

/* a prefix ending in 0xff: the byte before it is raised */
static void prefix_end_carries(void **state)
{
	char key[] = {'a', 'b', (char)0xff, 0};
	char *b;

	(void)state;
	b = etcd_req_range(key, 1);
	/* "ac" is YWM= */
	assert_non_null(strstr(b, "\"range_end\":\"YWM=\""));
	free(b);
}

static void grant(void **state)
{
	const char *ok = "{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"10276657743932975437\","
			 "\"revision\":\"7\",\"raft_term\":\"2\"},\"ID\":\"7587869411651234567\",\"TTL\":\"5\"}";
	struct etcd_reply r;
	int64_t id, ttl;
	char err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_lease_grant(ok, strlen(ok), &r, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(r.code, ETCD_OK);
	assert_int_equal(r.revision, 7);
	assert_true(id == 7587869411651234567LL);
	assert_int_equal(ttl, 5);
	/* an error reply: code and text */
	const char *e = "{\"error\":\"etcdserver: too many requests\",\"code\":14,\"message\":\"etcdserver: too many "
			"requests\"}";
	assert_int_equal(etcd_parse_lease_grant(e, strlen(e), &r, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(r.code, ETCD_UNAVAILABLE);
	assert_string_equal(r.error, "etcdserver: too many requests");
	/* no ID: malformed */
	const char *bad = "{\"header\":{\"revision\":\"7\"},\"TTL\":\"5\"}";
	assert_int_equal(etcd_parse_lease_grant(bad, strlen(bad), &r, &id, &ttl, err, sizeof(err)), -1);
}

static void keepalive(void **state)
{
	const char *ok = "{\"result\":{\"header\":{\"revision\":\"9\"},\"ID\":\"42\",\"TTL\":\"5\"}}\n";
	const char *gone = "{\"result\":{\"header\":{\"revision\":\"9\"},\"ID\":\"42\"}}";
	const char *err_line = "{\"error\":{\"grpc_code\":16,\"http_code\":401,\"message\":\"etcdserver: invalid auth "
			       "token\",\"http_status\":\"Unauthorized\"}}";
	struct etcd_reply r;
	int64_t ttl;
	char err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_keepalive(ok, strlen(ok), &r, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 5);
	assert_int_equal(r.revision, 9);
	assert_int_equal(etcd_parse_keepalive(gone, strlen(gone), &r, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(etcd_parse_keepalive(err_line, strlen(err_line), &r, &ttl, err, sizeof(err)), 0);
	assert_int_equal(r.code, ETCD_UNAUTHENTICATED);
	assert_string_equal(r.error, "etcdserver: invalid auth token");
}

static void range(void **state)
{
	const char *two = "{\"header\":{\"revision\":\"12\"},\"kvs\":[{\"key\":\"L2ZsL2MxL2xlYWRlcg==\","
			  "\"create_revision\":\"10\",\"mod_revision\":\"11\",\"version\":\"2\",\"value\":\"bjE=\","
			  "\"lease\":\"42\"},{\"key\":\"L2s=\",\"create_revision\":\"3\",\"mod_revision\":\"3\","
			  "\"version\":\"1\"}],\"count\":\"2\"}";
	const char *none = "{\"header\":{\"revision\":\"12\"}}";
	struct etcd_reply r;
	struct etcd_kvs kvs;
	char err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_range(two, strlen(two), &r, &kvs, err, sizeof(err)), 0);
	assert_int_equal(r.revision, 12);
	assert_int_equal(kvs.n, 2);
	assert_string_equal(kvs.v[0].key, "/fl/c1/leader");
	assert_int_equal(kvs.v[0].vlen, 2);
	assert_memory_equal(kvs.v[0].value, "n1", 3); /* NUL-terminated */
	assert_int_equal(kvs.v[0].create_revision, 10);
	assert_int_equal(kvs.v[0].mod_revision, 11);
	assert_int_equal(kvs.v[0].lease, 42);
	/* an empty value is left out: an empty string, and lease 0 */
	assert_string_equal(kvs.v[1].key, "/k");
	assert_int_equal(kvs.v[1].vlen, 0);
	assert_string_equal((char *)kvs.v[1].value, "");
	assert_int_equal(kvs.v[1].lease, 0);
	etcd_kvs_free(&kvs);
	assert_int_equal(etcd_parse_range(none, strlen(none), &r, &kvs, err, sizeof(err)), 0);
	assert_int_equal(kvs.n, 0);
	assert_null(kvs.v);
}

static void txn(void **state)
{
	const char *won = "{\"header\":{\"revision\":\"20\"},\"succeeded\":true,\"responses\":[{\"response_put\":"
			  "{\"header\":{\"revision\":\"20\"}}}]}";
	const char *lost = "{\"header\":{\"revision\":\"20\"},\"responses\":[{\"response_range\":{\"header\":"
			   "{\"revision\":\"20\"},\"kvs\":[{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"create_revision\":\"15\","
			   "\"mod_revision\":\"15\",\"version\":\"1\",\"value\":\"bjI=\",\"lease\":\"43\"}],"
			   "\"count\":\"1\"}}]}";
	struct etcd_reply r;
	struct etcd_kvs kvs;
	int ok;
	char err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_txn(won, strlen(won), &r, &ok, &kvs, err, sizeof(err)), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(r.revision, 20);
	assert_int_equal(kvs.n, 0);
	assert_int_equal(etcd_parse_txn(lost, strlen(lost), &r, &ok, &kvs, err, sizeof(err)), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(kvs.n, 1);
	assert_string_equal((char *)kvs.v[0].value, "n2");
	assert_int_equal(kvs.v[0].create_revision, 15);
	etcd_kvs_free(&kvs);
}

static void watch(void **state)
{
	const char *created = "{\"result\":{\"header\":{\"revision\":\"20\"},\"created\":true}}";
	const char *events = "{\"result\":{\"header\":{\"revision\":\"22\"},\"events\":[{\"kv\":{\"key\":"
			     "\"L2ZsL2MxL2xlYWRlcg==\",\"create_revision\":\"21\",\"mod_revision\":\"21\","
			     "\"version\":\"1\",\"value\":\"bjM=\",\"lease\":\"44\"}},{\"type\":\"DELETE\",\"kv\":"
			     "{\"key\":\"L2ZsL2MxL2xlYWRlcg==\",\"mod_revision\":\"22\"},\"prev_kv\":{\"key\":"
			     "\"L2ZsL2MxL2xlYWRlcg==\",\"create_revision\":\"21\",\"mod_revision\":\"21\","
			     "\"version\":\"1\",\"value\":\"bjM=\",\"lease\":\"44\"}}]}}";
	const char *compacted = "{\"result\":{\"header\":{\"revision\":\"90\"},\"watch_id\":\"1\",\"canceled\":true,"
				"\"compact_revision\":\"50\",\"cancel_reason\":\"mvcc: required revision has been "
				"compacted\"}}";
	struct etcd_watch_msg w;
	char err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_watch(created, strlen(created), &w, err, sizeof(err)), 0);
	assert_true(w.created);
	assert_int_equal(w.nev, 0);
	etcd_watch_msg_free(&w);
	assert_int_equal(etcd_parse_watch(events, strlen(events), &w, err, sizeof(err)), 0);
	assert_int_equal(w.r.revision, 22);
	assert_int_equal(w.nev, 2);
	assert_int_equal(w.ev[0].type, ETCD_EV_PUT);
	assert_string_equal((char *)w.ev[0].kv.value, "n3");
	assert_null(w.ev[0].prev.key);
	assert_int_equal(w.ev[1].type, ETCD_EV_DELETE);
	assert_int_equal(w.ev[1].kv.mod_revision, 22);
	assert_int_equal(w.ev[1].prev.create_revision, 21);
	etcd_watch_msg_free(&w);
	assert_int_equal(etcd_parse_watch(compacted, strlen(compacted), &w, err, sizeof(err)), 0);
	assert_true(w.canceled);
	assert_int_equal(w.compact_revision, 50);
	assert_string_equal(w.cancel_reason, "mvcc: required revision has been compacted");
	etcd_watch_msg_free(&w);
}

static void auth(void **state)
{
	const char *ok = "{\"header\":{\"revision\":\"3\"},\"token\":\"QXcDbYkjHBqzDsIX.27\"}";
	const char *denied = "{\"error\":\"etcdserver: authentication failed, invalid user ID or password\","
			     "\"code\":3,\"message\":\"etcdserver: authentication failed, invalid user ID or password\"}";
	struct etcd_reply r;
	char token[64], small[8], err[ETCD_ERR_MAX];

	(void)state;
	assert_int_equal(etcd_parse_auth(ok, strlen(ok), &r, token, sizeof(token), err, sizeof(err)), 0);
	assert_string_equal(token, "QXcDbYkjHBqzDsIX.27");
	assert_int_equal(etcd_parse_auth(ok, strlen(ok), &r, small, sizeof(small), err, sizeof(err)), -1);
	assert_int_equal(etcd_parse_auth(denied, strlen(denied), &r, token, sizeof(token), err, sizeof(err)), 0);
	assert_int_equal(r.code, ETCD_INVALID_ARGUMENT);
	assert_string_equal(token, "");
}

/* hostile or broken replies: refused with why, nothing leaked (ASan) */
static void malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{} x",
		"{\"header\":[]}",
		"{\"header\":{\"revision\":\"12x\"}}",
		"{\"header\":{\"revision\":true}}",
		"{\"kvs\":{}}",
		"{\"kvs\":[1]}",
		"{\"kvs\":[{\"key\":\"***\"}]}",
		"{\"kvs\":[{\"key\":\"YQBi\"}]}", /* "a\0b": a NUL in a key */
		"{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":5}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"YQ=\"}]}",
		"{\"error\":[],\"code\":14}",
		"{\"error\":\"x\",\"code\":\"y\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	struct etcd_reply r;
	struct etcd_kvs kvs;
	char err[ETCD_ERR_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(etcd_parse_range(bad[i], strlen(bad[i]), &r, &kvs, err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(kvs.n, 0);
	}
	/* a watch event of a type we do not know, and one without a kv */
	struct etcd_watch_msg w;
	const char *odd = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\"}},{\"type\":\"MERGE\",\"kv\":{}}]}}";
	const char *nokv = "{\"result\":{\"events\":[{\"type\":\"DELETE\"}]}}";
	assert_int_equal(etcd_parse_watch(odd, strlen(odd), &w, err, sizeof(err)), -1);
	assert_string_equal(err, "event type MERGE unknown");
	assert_int_equal(w.nev, 0);
	assert_int_equal(etcd_parse_watch(nokv, strlen(nokv), &w, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests), cmocka_unit_test(create_with_guard), cmocka_unit_test(delete_with_puts), cmocka_unit_test(prefix_end_carries),
		cmocka_unit_test(grant),    cmocka_unit_test(keepalive),         cmocka_unit_test(range),
		cmocka_unit_test(txn),      cmocka_unit_test(watch),             cmocka_unit_test(auth),
		cmocka_unit_test(malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
