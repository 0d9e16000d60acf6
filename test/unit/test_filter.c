/* Unit tests of the packet filter's replay protection and duplicate ids
 * (filter.c over replay.c): what a third party hears of a node whose clock
 * was stepped back, and of two processes with one node id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "election.h"
#include "filter.h"
#include "wire.h"

#define TIMEOUT 1000 /* delay 250 x retries 4 */

static struct filter f;
static struct election el;
static struct sockaddr_in from;

static int setup(void **state)
{
	struct el_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "c");
	p.delay_ms = 250;
	p.retries = 4;
	election_init(&el, &p, 0);
	memset(&f, 0, sizeof(f));
	f.cluster = wire_cluster_digest("lab");
	snprintf(f.node, sizeof(f.node), "c");
	f.boot = 5000;
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	return 0;
}

/* The verdict on a heartbeat of node, boot, seq and role at now. */
static enum filter_verdict packet(const char *node, uint64_t boot, uint64_t seq, uint8_t role, uint64_t now)
{
	struct wire_msg m, out;
	uint8_t buf[WIRE_MAX_LEN];
	size_t n;

	memset(&m, 0, sizeof(m));
	m.version = WIRE_VERSION;
	m.type = WIRE_HEARTBEAT;
	m.cluster = f.cluster;
	snprintf(m.node, sizeof(m.node), "%s", node);
	m.boot = boot;
	m.seq = seq;
	m.role = role;
	m.master_age = WIRE_AGE_NONE;
	n = wire_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	return filter_packet(&f, buf, n, &from, &el, now, &out);
}

static void test_replays_dropped(void **state)
{
	assert_int_equal(packet("b", 1000, 1, WIRE_ROLE_SLAVE, 10), FILTER_ACCEPT);
	assert_int_equal(packet("b", 1000, 2, WIRE_ROLE_SLAVE, 20), FILTER_ACCEPT);
	assert_int_equal(packet("b", 1000, 2, WIRE_ROLE_SLAVE, 30), FILTER_DROP);
	assert_int_equal(packet("b", 1000, 1, WIRE_ROLE_SLAVE, 40), FILTER_DROP);
	assert_int_equal(f.dropped[DROP_REPLAY], 2);
}

/* Path 2: b restarts on a clock an hour behind its previous run (its state
 * directory lost, or a release that did not keep boot ids): its lower boot
 * is heard once the previous one has been silent for a timeout, whatever
 * the boot ids say; a replay of the old boot stays dropped meanwhile. */
static void test_clock_stepped_back(void **state)
{
	uint64_t before = 100000000ull << 16, after = (100000000ull - 3600000) << 16;
	uint64_t t = 0, heard_at = 0;

	for (uint64_t s = 1; s <= 10; s++)
		assert_int_equal(packet("b", before, s, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
	/* killed at t, restarted 200 ms later: heard within a timeout of its last packet */
	t += 200;
	for (uint64_t s = 1; s <= 40 && heard_at == 0; s++, t += 250)
		if (packet("b", after, s, WIRE_ROLE_LISTENING, t) == FILTER_ACCEPT)
			heard_at = t;
	assert_true(heard_at != 0);
	assert_true(heard_at - 2500 <= TIMEOUT + 250);
	/* and then every packet of it */
	for (uint64_t s = 100; s < 110; s++)
		assert_int_equal(packet("b", after, s, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
	/* the old boot replayed while the new one is live: dropped */
	assert_int_equal(packet("b", before, 11, WIRE_ROLE_MASTER, t += 10), FILTER_DROP);
	assert_int_equal(packet("b", before, 12, WIRE_ROLE_MASTER, t += 10), FILTER_DROP);
}

/* The clock stepped forward, then back to true time: the same. */
static void test_clock_forward_then_back(void **state)
{
	uint64_t real = 100000ull << 16, ahead = (100000ull + 3600000) << 16;
	uint64_t t = 0;
	int heard = 0;

	assert_int_equal(packet("b", real, 1, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
	t += 300;
	assert_int_equal(packet("b", ahead, 1, WIRE_ROLE_SLAVE, t += TIMEOUT), FILTER_ACCEPT);
	assert_int_equal(packet("b", ahead, 2, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
	t += 300;
	for (uint64_t s = 1; s <= 10 && !heard; s++)
		heard = packet("b", real + 5, s, WIRE_ROLE_SLAVE, t += 250) == FILTER_ACCEPT;
	assert_true(heard);
}

/* Path 1, at a third party: b runs; a second process with b's id (a copied
 * configuration) starts with a higher boot, sends for a while, stops.  The
 * real b is heard all along, the other is dropped and counted as a second
 * live boot; and even a third party that followed the other (it heard it
 * first) hears the real b within a timeout of the other stopping. */
static void test_duplicate_at_third_party(void **state)
{
	uint64_t t = 0, s;

	for (s = 1; s <= 4; s++)
		assert_int_equal(packet("b", 1000, s, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
	for (uint64_t d = 1; d <= 8; d++) {
		assert_int_equal(packet("b", 2000, d, WIRE_ROLE_LISTENING, t += 100), FILTER_DROP);
		assert_int_equal(packet("b", 1000, s++, WIRE_ROLE_SLAVE, t += 150), FILTER_ACCEPT);
	}
	assert_true(f.two_boots >= 6);
	/* the other is gone: b goes on being heard */
	for (uint64_t k = 0; k < 8; k++)
		assert_int_equal(packet("b", 1000, s++, WIRE_ROLE_SLAVE, t += 250), FILTER_ACCEPT);
}

static void test_third_party_followed_the_duplicate(void **state)
{
	uint64_t t = 0, s = 1, stopped, heard_at = 0;

	/* it heard the other first */
	for (uint64_t d = 1; d <= 8; d++) {
		assert_int_equal(packet("b", 2000, d, WIRE_ROLE_SLAVE, t += 100), FILTER_ACCEPT);
		packet("b", 1000, s++, WIRE_ROLE_MASTER, t += 150);
	}
	stopped = t;
	while (heard_at == 0 && t < stopped + 5000)
		if (packet("b", 1000, s++, WIRE_ROLE_MASTER, t += 250) == FILTER_ACCEPT)
			heard_at = t;
	assert_true(heard_at != 0);
	assert_true(heard_at - stopped <= TIMEOUT + 250);
}

/* Another process with our own id is handed to the caller (which decides
 * who goes), not dropped silently, not taken for our own packet. */
static void test_duplicate_of_our_id(void **state)
{
	enum filter_verdict v;

	v = packet("c", 7000, 1, WIRE_ROLE_LISTENING, 100);
	assert_int_not_equal(v, FILTER_ACCEPT);
	assert_int_not_equal(v, FILTER_DROP);
	assert_int_not_equal(v, FILTER_OWN);
	assert_int_equal(f.dropped[DROP_DUPLICATE_ID], 1);
	assert_int_equal(packet("c", 5000, 1, WIRE_ROLE_SLAVE, 110), FILTER_OWN);
}

/* One with a boot below ours (its clock behind ours) too: taking it for
 * our own past, replayed, would hide a live duplicate master from us; its
 * packets replayed are still dropped. */
static void test_duplicate_of_our_id_behind(void **state)
{
	enum filter_verdict v;

	v = packet("c", 3999, 9, WIRE_ROLE_MASTER, 100);
	assert_int_not_equal(v, FILTER_ACCEPT);
	assert_int_not_equal(v, FILTER_DROP);
	assert_int_equal(packet("c", 3999, 9, WIRE_ROLE_MASTER, 120), FILTER_DROP);
	assert_int_equal(f.dropped[DROP_REPLAY], 1);
	assert_int_equal(f.dropped[DROP_DUPLICATE_ID], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_replays_dropped, setup),
		cmocka_unit_test_setup(test_clock_stepped_back, setup),
		cmocka_unit_test_setup(test_clock_forward_then_back, setup),
		cmocka_unit_test_setup(test_duplicate_at_third_party, setup),
		cmocka_unit_test_setup(test_third_party_followed_the_duplicate, setup),
		cmocka_unit_test_setup(test_duplicate_of_our_id, setup),
		cmocka_unit_test_setup(test_duplicate_of_our_id_behind, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
