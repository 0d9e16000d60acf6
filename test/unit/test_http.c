/* Unit tests of the HTTP endpoint's routes: which status each one gives
 * for a node's situation, and that it stays read-only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"

/* a master whose broker serves and is healthy, in a cluster it leads */
static const struct http_facts MASTER = {
	.role_known = 1, .master = 1, .master_known = 1, .serving = 1, .healthy = 1, .eligible = 1,
};
/* a slave that follows a master and may take over */
static const struct http_facts SLAVE = {
	.role_known = 1, .slave = 1, .master_known = 1, .healthy = 1, .eligible = 1,
};
/* just started: still learning the cluster */
static const struct http_facts LISTENING = {.healthy = 1, .eligible = 1};

static unsigned code(const char *method, const char *path, const struct http_facts *f)
{
	return http_route(method, path, f).code;
}

static void primary(void **state)
{
	struct http_facts f = MASTER;
	(void)state;

	assert_int_equal(code("GET", "/primary", &f), 200);
	assert_int_equal(http_route("GET", "/primary", &f).body, HTTP_BODY_STATUS);
	assert_int_equal(code("HEAD", "/primary", &f), 200);
	assert_int_equal(code("GET", "/primary", &SLAVE), 503);
	assert_int_equal(code("GET", "/primary", &LISTENING), 503);
	/* master, but the broker is still starting */
	f.serving = 0;
	assert_int_equal(code("GET", "/primary", &f), 503);
	/* serving but unhealthy */
	f = MASTER;
	f.healthy = 0;
	assert_int_equal(code("GET", "/primary", &f), 503);
	/* unless in maintenance: the broker being worked on keeps its traffic */
	f.paused = 1;
	assert_int_equal(code("GET", "/primary", &f), 200);
	f.serving = 0; /* but not a broker that is down */
	assert_int_equal(code("GET", "/primary", &f), 503);
	/* on its way out: the balancer moves on before the broker stops */
	f = MASTER;
	f.stopping = 1;
	assert_int_equal(code("GET", "/primary", &f), 503);
	/* a 503 still carries the status, for whoever looks */
	assert_int_equal(http_route("GET", "/primary", &f).body, HTTP_BODY_STATUS);
}

static void replica(void **state)
{
	struct http_facts f = SLAVE;
	(void)state;

	assert_int_equal(code("GET", "/replica", &f), 200);
	assert_int_equal(code("GET", "/replica", &MASTER), 503);
	assert_int_equal(code("GET", "/replica", &LISTENING), 503);
	f.master_known = 0; /* a slave that sees no master */
	assert_int_equal(code("GET", "/replica", &f), 503);
	f = SLAVE;
	f.eligible = 0; /* fails its precheck: may not take over */
	assert_int_equal(code("GET", "/replica", &f), 503);
	f = SLAVE;
	f.stopping = 1;
	assert_int_equal(code("GET", "/replica", &f), 503);
}

static void probes(void **state)
{
	(void)state;
	/* health and liveness: answered means the loop runs */
	assert_int_equal(code("GET", "/health", &LISTENING), 200);
	assert_int_equal(code("GET", "/liveness", &LISTENING), 200);
	assert_int_equal(code("GET", "/liveness", &MASTER), 200);
	/* readiness: once the role is known */
	assert_int_equal(code("GET", "/readiness", &LISTENING), 503);
	assert_int_equal(code("GET", "/readiness", &SLAVE), 200);
	assert_int_equal(code("GET", "/readiness", &MASTER), 200);
}

static void reports(void **state)
{
	(void)state;
	assert_int_equal(code("GET", "/status", &LISTENING), 200);
	assert_int_equal(http_route("GET", "/status", &SLAVE).body, HTTP_BODY_STATUS);
	assert_int_equal(code("GET", "/peers", &SLAVE), 200);
	assert_int_equal(http_route("GET", "/peers", &SLAVE).body, HTTP_BODY_PEERS);
	assert_int_equal(code("GET", "/metrics", &LISTENING), 200);
	assert_int_equal(http_route("GET", "/metrics", &MASTER).body, HTTP_BODY_METRICS);
	assert_int_equal(code("GET", "/history", &LISTENING), 200);
	assert_int_equal(http_route("GET", "/history", &SLAVE).body, HTTP_BODY_HISTORY);
}

static void read_only(void **state)
{
	static const char *const paths[] = {"/primary", "/replica", "/health", "/liveness", "/readiness",
					    "/status", "/peers", "/metrics", "/history"};
	static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"};
	(void)state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
			struct http_answer a = http_route(methods[j], paths[i], &MASTER);
			assert_int_equal(a.code, 405);
			assert_int_equal(a.body, HTTP_BODY_NONE);
		}
}

static void unknown(void **state)
{
	static const char *const paths[] = {"/", "", "/primary/", "/PRIMARY", "/metrics/x", "/status?x",
					    "//primary", "/history/x"};
	(void)state;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(code("GET", paths[i], &MASTER), 404);
		assert_int_equal(code("POST", paths[i], &MASTER), 404);
	}
}

static void wildcard(void **state)
{
	(void)state;
	assert_true(http_listen_wildcard("0.0.0.0:8008"));
	assert_false(http_listen_wildcard("127.0.0.1:8008"));
	assert_false(http_listen_wildcard("10.0.0.0:80"));
	assert_false(http_listen_wildcard(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(primary), cmocka_unit_test(replica), cmocka_unit_test(probes),
		cmocka_unit_test(reports), cmocka_unit_test(read_only), cmocka_unit_test(unknown),
		cmocka_unit_test(wildcard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
