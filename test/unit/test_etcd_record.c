/* Unit tests of the cache's fields in a node's etcd record
 * (etcd_record.h): the address chosen, the fields written and read back,
 * and records a peer (or anyone who can write to etcd) got wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_record.h"

static void host_choice(void **state)
{
	char h[INET_ADDRSTRLEN];

	(void)state;
	/* a specific listener wins over the address toward etcd */
	assert_int_equal(etcd_record_cache_host("10.1.0.3", "192.168.7.1", h, sizeof(h)), 0);
	assert_string_equal(h, "10.1.0.3");
	/* a listener on every address: the address toward etcd */
	assert_int_equal(etcd_record_cache_host("0.0.0.0", "192.168.7.1", h, sizeof(h)), 0);
	assert_string_equal(h, "192.168.7.1");
	assert_int_equal(etcd_record_cache_host("", "127.0.0.1", h, sizeof(h)), 0);
	assert_string_equal(h, "127.0.0.1");
	/* nothing known yet, or only IPv6 toward etcd: nothing to advertise */
	assert_int_equal(etcd_record_cache_host("0.0.0.0", "", h, sizeof(h)), -1);
	assert_int_equal(etcd_record_cache_host("0.0.0.0", "fe80::1", h, sizeof(h)), -1);
	assert_int_equal(etcd_record_cache_host(NULL, NULL, h, sizeof(h)), -1);
	/* a buffer too small for any address */
	assert_int_equal(etcd_record_cache_host("10.1.0.3", "", h, 8), -1);
}

/* A record as etcd_elect writes it, with info's text as given. */
static int parse(const char *info, struct sockaddr_in *a, uint16_t *port)
{
	char rec[8192];

	snprintf(rec, sizeof(rec), "{\"node\":\"n2\",\"position\":1,\"may_lead\":true,\"proto\":1,\"info\":%s}", info);
	return etcd_record_cache(rec, a, port);
}

static void round_trip(void **state)
{
	json_object *o = json_object_new_object(), *info = json_object_new_object();
	struct sockaddr_in a;
	uint16_t port;
	char ip[INET_ADDRSTRLEN];

	(void)state;
	json_object_object_add(info, "role", json_object_new_string("slave"));
	etcd_record_put_cache(info, "10.213.0.2", 2710);
	json_object_object_add(o, "node", json_object_new_string("n2"));
	json_object_object_add(o, "info", info);
	assert_int_equal(etcd_record_cache(json_object_to_json_string(o), &a, &port), 1);
	assert_int_equal(a.sin_family, AF_INET);
	assert_int_equal(a.sin_port, 0);
	assert_string_equal(inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip)), "10.213.0.2");
	assert_int_equal(port, 2710);
	json_object_put(o);
	assert_int_equal(parse("{\"cache_addr\":\"127.0.0.1\",\"cache_port\":65535}", &a, &port), 1);
	assert_int_equal(port, 65535);
}

static void without_cache(void **state)
{
	struct sockaddr_in a;
	uint16_t port = 9;

	(void)state;
	/* a node with its cache off, or a record with no info at all */
	assert_int_equal(parse("{\"role\":\"master\",\"url\":\"tcp://x:1\"}", &a, &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(etcd_record_cache("{\"node\":\"n2\",\"position\":1}", &a, &port), 0);
}

static void hostile(void **state)
{
	struct sockaddr_in a;
	uint16_t port;
	char big[6000], info[6100];
	static const char *const bad[] = {
		/* one field without the other */
		"{\"cache_addr\":\"10.0.0.1\"}",
		"{\"cache_port\":2710}",
		/* wrong types */
		"{\"cache_addr\":167772161,\"cache_port\":2710}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":\"2710\"}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":2710.0}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":true}",
		"{\"cache_addr\":null,\"cache_port\":2710}",
		"{\"cache_addr\":[\"10.0.0.1\"],\"cache_port\":2710}",
		"{\"cache_addr\":{\"a\":1},\"cache_port\":{}}",
		/* ports out of range */
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":0}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":-1}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":65536}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":4294969006}",
		"{\"cache_addr\":\"10.0.0.1\",\"cache_port\":99999999999999999999999}",
		/* addresses that are not a unicast IPv4 address */
		"{\"cache_addr\":\"\",\"cache_port\":2710}",
		"{\"cache_addr\":\"::1\",\"cache_port\":2710}",
		"{\"cache_addr\":\"fe80::1%eth0\",\"cache_port\":2710}",
		"{\"cache_addr\":\"node2.example\",\"cache_port\":2710}",
		"{\"cache_addr\":\"10.0.0\",\"cache_port\":2710}",
		"{\"cache_addr\":\"10.0.0.256\",\"cache_port\":2710}",
		"{\"cache_addr\":\"10.0.0.1:2710\",\"cache_port\":2710}",
		"{\"cache_addr\":\" 10.0.0.1\",\"cache_port\":2710}",
		"{\"cache_addr\":\"10.0.0.1\\u0000evil\",\"cache_port\":2710}",
		"{\"cache_addr\":\"0.0.0.0\",\"cache_port\":2710}",
		"{\"cache_addr\":\"255.255.255.255\",\"cache_port\":2710}",
		"{\"cache_addr\":\"239.1.2.3\",\"cache_port\":2710}",
		/* info not an object */
		"\"cache_addr\"",
		"[{\"cache_addr\":\"10.0.0.1\",\"cache_port\":2710}]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 7;
		if (parse(bad[i], &a, &port) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(port, 0);
		assert_int_equal(a.sin_addr.s_addr, 0);
	}
	/* a huge address string */
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(info, sizeof(info), "{\"cache_addr\":\"%s\",\"cache_port\":2710}", big);
	assert_int_equal(parse(info, &a, &port), -1);
	/* not JSON, or not an object; cut short */
	assert_int_equal(etcd_record_cache("", &a, &port), -1);
	assert_int_equal(etcd_record_cache("not json", &a, &port), -1);
	assert_int_equal(etcd_record_cache("[1,2]", &a, &port), -1);
	assert_int_equal(etcd_record_cache("{\"info\":{\"cache_addr\":\"10.0.0.1\",\"cache_port\":27", &a, &port), -1);
	assert_int_equal(etcd_record_cache(NULL, &a, &port), -1);
	/* deeply nested: json-c's depth limit, no recursion to exhaust */
	memset(big, '[', 4000);
	big[4000] = '\0';
	assert_int_equal(etcd_record_cache(big, &a, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_choice),
		cmocka_unit_test(round_trip),
		cmocka_unit_test(without_cache),
		cmocka_unit_test(hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
