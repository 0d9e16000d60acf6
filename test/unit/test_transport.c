/* Unit tests of the socket's own-packet drop (transport_drop_own): a real
 * UDP socket on the loopback address, in unicast mode with itself as its
 * only peer, so that what it sends comes back as the group's loopback copy
 * does.  Nothing leaves 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"
#include "wire.h"

#define BOOT 0x0123456789abcdefull

static struct transport t;

/* a port free on 127.0.0.1 now */
static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static int setup(void **state)
{
	struct transport_params p;
	char err[128];
	uint16_t port = free_port();

	(void)state;
	memset(&p, 0, sizeof(p));
	p.port = port;
	p.npeers = 1;
	snprintf(p.peers[0], sizeof(p.peers[0]), "127.0.0.1:%u", (unsigned)port);
	assert_int_equal(transport_open(&t, &p, err, sizeof(err)), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	transport_close(&t);
	return 0;
}

/* a heartbeat of node id, boot, seq n: its encoded length */
static size_t packet(uint8_t *buf, const char *id, uint64_t boot, uint64_t seq)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.version = WIRE_VERSION;
	m.type = WIRE_HEARTBEAT;
	m.cluster = wire_cluster_digest("lab");
	snprintf(m.node, sizeof(m.node), "%s", id);
	m.boot = boot;
	m.seq = seq;
	m.term = 1;
	m.role = WIRE_ROLE_SLAVE;
	m.master_age = WIRE_AGE_NONE;
	return wire_encode(&m, buf, WIRE_MAX_LEN);
}

static void send_packet(const char *id, uint64_t boot, uint64_t seq)
{
	uint8_t buf[WIRE_MAX_LEN];
	size_t n = packet(buf, id, boot, seq);

	assert_true(n >= WIRE_MIN_LEN);
	assert_int_equal(transport_send(&t, buf, n), 0);
}

/* the next datagram (waiting up to 2 s for it): its length, its sequence
 * number in *seq when it decodes; -1 when none came */
static ssize_t next(uint64_t *seq)
{
	uint8_t buf[WIRE_MAX_LEN];
	struct sockaddr_in from;
	struct pollfd pfd = {.fd = t.fd, .events = POLLIN};
	struct wire_msg m;
	uint32_t waited;
	ssize_t n;

	if (poll(&pfd, 1, 2000) != 1)
		return -1;
	n = transport_recv(&t, buf, sizeof(buf), &from, &waited);
	if (n > 0 && seq != NULL)
		*seq = wire_decode(buf, (size_t)n, &m) == WIRE_OK ? m.seq : 0;
	return n;
}

/* nothing else is waiting: loopback delivery is done within sendto(), in
 * order, so a datagram sent before the last one read would be read first */
static void assert_empty(void)
{
	uint8_t buf[WIRE_MAX_LEN];
	struct sockaddr_in from;
	uint32_t waited;

	assert_int_equal(transport_recv(&t, buf, sizeof(buf), &from, &waited), -1);
	assert_int_equal(errno, EAGAIN);
}

/* without the drop our own datagram comes back: the set-up the rest relies on */
static void test_own_comes_back_without_the_drop(void **state)
{
	uint64_t seq = 0;

	(void)state;
	send_packet("n1", BOOT, 1);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 1);
	assert_empty();
}

static void test_own_is_dropped(void **state)
{
	uint64_t seq = 0;

	(void)state;
	assert_int_equal(transport_drop_own(&t, BOOT, "n1"), 0);
	send_packet("n1", BOOT, 1);
	send_packet("n1", BOOT, 2);
	send_packet("n2", BOOT, 3); /* another node that drew our boot id */
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 3);
	assert_empty();
}

/* another process with our node id (a copied configuration) must reach the
 * filter, which reports the duplicate; so must our id at any other boot */
static void test_our_id_at_another_boot_arrives(void **state)
{
	uint64_t seq = 0;

	(void)state;
	assert_int_equal(transport_drop_own(&t, BOOT, "n1"), 0);
	send_packet("n1", BOOT + 1, 4);
	send_packet("n1", BOOT ^ (1ull << 63), 5); /* high word differs only */
	send_packet("n1", BOOT, 6);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 4);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 5);
	assert_empty();
}

/* ids compared whole: a prefix, a longer id, and the longest id */
static void test_node_ids_compared_whole(void **state)
{
	char longest[WIRE_ID_MAX + 1];
	uint64_t seq = 0;

	(void)state;
	memset(longest, 'x', WIRE_ID_MAX);
	longest[WIRE_ID_MAX] = '\0';
	assert_int_equal(transport_drop_own(&t, BOOT, longest), 0);
	send_packet(longest, BOOT, 7);
	longest[WIRE_ID_MAX - 1] = 'y';
	send_packet(longest, BOOT, 8);
	longest[WIRE_ID_MAX - 1] = '\0';
	send_packet(longest, BOOT, 9);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 8);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 9);
	assert_empty();

	assert_int_equal(transport_drop_own(&t, BOOT, "n1"), 0);
	send_packet("n", BOOT, 10);
	send_packet("n12", BOOT, 11);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 10);
	assert_true(next(&seq) > 0);
	assert_int_equal(seq, 11);
	assert_empty();
}

/* a datagram too short to be a packet still arrives, with our boot id's
 * bytes where a packet has them: the filter counts it as malformed */
static void test_short_datagrams_arrive(void **state)
{
	uint8_t buf[WIRE_MAX_LEN];
	size_t n = packet(buf, "n1", BOOT, 12);

	(void)state;
	assert_int_equal(transport_drop_own(&t, BOOT, "n1"), 0);
	assert_int_equal(transport_send(&t, buf, WIRE_MIN_LEN - 1), 0);
	assert_int_equal(transport_send(&t, buf, 1), 0);
	assert_int_equal(transport_send(&t, buf, n), 0); /* the whole: dropped */
	assert_int_equal(next(NULL), WIRE_MIN_LEN - 1);
	assert_int_equal(next(NULL), 1);
	assert_empty();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_comes_back_without_the_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_our_id_at_another_boot_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_ids_compared_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_datagrams_arrive, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
