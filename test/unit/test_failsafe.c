/* Unit tests of etcd's failsafe mode, direct hearing (failsafe.h): the
 * slave's campaign hold, the master's deadline from its members' word,
 * and what the beacons say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "failsafe.h"

#define W 3000
#define MARGIN 500

static struct wire_msg beacon(const char *node, uint8_t role, const char *target, uint32_t age)
{
	static uint8_t payload[WIRE_HB_BEACON_PAYLOAD];
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.version = WIRE_VERSION;
	m.type = WIRE_HEARTBEAT;
	snprintf(m.node, sizeof(m.node), "%s", node);
	m.role = role;
	m.term = 7;
	snprintf(m.target, sizeof(m.target), "%s", target);
	m.master_age = age;
	/* its hold: the same lease TTL as ours */
	bytes_put32(payload + WIRE_HB_TIMEOUT, W);
	bytes_put64(payload + WIRE_HB_ECHO, 0);
	m.payload = payload;
	m.payload_len = sizeof(payload);
	return m;
}

/* A beacon heard at now; a slave's with an age echoes our beacon sent
 * age ms before now (an age beyond now: a stamp from the future) */
static void hear(struct failsafe *f, struct wire_msg *m, uint64_t now)
{
	uint8_t *p = (uint8_t *)m->payload;

	if (m->master_age != WIRE_AGE_NONE && m->target[0] != '\0')
		bytes_put64(p + WIRE_HB_ECHO, now >= m->master_age ? now - m->master_age : now + 1);
	failsafe_on_packet(f, m, now);
}

/* A slave that hears a master does not campaign until W after it last
 * did; the master saying it leads no more frees it at once. */
static void slave_holds_while_it_hears_a_master(void **state)
{
	struct failsafe f;
	struct wire_msg m;

	(void)state;
	failsafe_init(&f, "n2", W);
	assert_int_equal(failsafe_hold_until(&f), 0);
	m = beacon("n1", WIRE_ROLE_MASTER, "", WIRE_AGE_NONE);
	hear(&f, &m, 10000);
	assert_int_equal(failsafe_hold_until(&f), 10000 + W);
	hear(&f, &m, 11000);
	assert_int_equal(failsafe_hold_until(&f), 11000 + W);
	/* another slave's word about n1 does not hold us: only first-hand */
	m = beacon("n3", WIRE_ROLE_SLAVE, "n1", 10);
	hear(&f, &m, 12500);
	assert_int_equal(failsafe_hold_until(&f), 11000 + W);
	/* n1 resigned: its next beacon says slave */
	m = beacon("n1", WIRE_ROLE_SLAVE, "", WIRE_AGE_NONE);
	hear(&f, &m, 12600);
	assert_int_equal(failsafe_hold_until(&f), 0);
	/* our own packet (a copy looped back) changes nothing */
	m = beacon("n2", WIRE_ROLE_MASTER, "", WIRE_AGE_NONE);
	hear(&f, &m, 12700);
	assert_int_equal(failsafe_hold_until(&f), 0);
}

/* The master's deadline: the earliest time a member last heard it, plus
 * W, minus the margin; a member that never said so gives none. */
static void master_deadline_from_every_member(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	const char *members[] = {"n1", "n2", "n3"};

	(void)state;
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 5000);
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 0);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 100);
	hear(&f, &m, 6000);
	/* n3 never said it hears us */
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 0);
	assert_string_equal(failsafe_weakest(&f, members, 3), "n3");
	m = beacon("n3", WIRE_ROLE_SLAVE, "n1", 300);
	hear(&f, &m, 6100);
	/* n2 heard us at 5900, n3 at 5800: the earlier counts */
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 5800 + W - MARGIN);
	assert_string_equal(failsafe_weakest(&f, members, 3), "n3");
	/* an older word never moves it back; a newer one moves it on */
	m = beacon("n3", WIRE_ROLE_SLAVE, "n1", 900);
	hear(&f, &m, 6200);
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 5800 + W - MARGIN);
	m = beacon("n3", WIRE_ROLE_SLAVE, "n1", 50);
	hear(&f, &m, 7000);
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 5900 + W - MARGIN);
	/* a member that names another master, or none, does not count */
	m = beacon("n2", WIRE_ROLE_SLAVE, "n9", 10);
	hear(&f, &m, 8000);
	m = beacon("n2", WIRE_ROLE_SLAVE, "", WIRE_AGE_NONE);
	hear(&f, &m, 8100);
	assert_int_equal(failsafe_deadline(&f, members, 3, MARGIN), 5900 + W - MARGIN);
	/* no other member: no failsafe lead at all */
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
}

/* Word of an earlier lead does not carry a new one; nor does a member's
 * hearing of us from before we led. */
static void a_new_lead_starts_without_word(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	const char *members[] = {"n2"};

	(void)state;
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 1000);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 10);
	hear(&f, &m, 2000);
	assert_int_not_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
	failsafe_set_leading(&f, 0, 3000);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
	failsafe_set_leading(&f, 1, 9000);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
	/* heard us 2000 ms ago: before this lead began */
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 2000);
	hear(&f, &m, 10000);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 20);
	hear(&f, &m, 10100);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 10080 + W - MARGIN);
	/* a stamp from our future is no word */
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 0);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 50000);
	hear(&f, &m, 100);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
}

/* Beacons: a master says so; a slave names the master it heard and how
 * long ago, until W has passed. */
static void beacons_say_who_is_heard(void **state)
{
	struct failsafe f;
	struct wire_msg m, out;

	(void)state;
	failsafe_init(&f, "n2", W);
	memset(&out, 0, sizeof(out));
	failsafe_fill(&f, 7, 1000, &out);
	assert_int_equal(out.role, WIRE_ROLE_SLAVE);
	assert_string_equal(out.target, "");
	assert_int_equal(out.master_age, WIRE_AGE_NONE);
	m = beacon("n1", WIRE_ROLE_MASTER, "", WIRE_AGE_NONE);
	hear(&f, &m, 2000);
	failsafe_fill(&f, 7, 2250, &out);
	assert_string_equal(out.target, "n1");
	assert_int_equal(out.master_age, 250);
	assert_string_equal(out.node, "n2");
	assert_int_equal(out.term, 7);
	failsafe_fill(&f, 7, 2000 + W, &out);
	assert_int_equal(out.master_age, WIRE_AGE_NONE);
	failsafe_set_leading(&f, 1, 6000);
	failsafe_fill(&f, 8, 6000, &out);
	assert_int_equal(out.role, WIRE_ROLE_MASTER);
	assert_int_equal(out.term, 8);
	assert_string_equal(out.target, "");
}

/* More nodes than room: the one heard longest ago gives way (a member
 * forgotten so gives no time: the safe side). */
static void full_table_forgets_the_oldest(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	char id[16];
	const char *members[] = {"p0"};

	(void)state;
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 0);
	for (int i = 0; i <= FS_PEERS; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		m = beacon(id, WIRE_ROLE_SLAVE, "n1", 0);
		hear(&f, &m, 100 + (uint64_t)i);
	}
	assert_int_equal(f.npeers, FS_PEERS);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
}


/* A member's campaign hold is its own lease's TTL (its granted one, its
 * own lease_ttl: nothing compares the nodes' settings, and the beacon
 * says it in its payload).  The master's deadline must not count on a
 * longer hold than the member keeps: here the master's lease is 10 s, the
 * member's 3 s; the member campaigns 3 s after it last heard us. */
static void deadline_keeps_to_the_members_own_window(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	uint8_t payload[WIRE_HB_BEACON_PAYLOAD] = {0};
	const char *members[] = {"n2"};

	(void)state;
	failsafe_init(&f, "n1", 10000);
	failsafe_set_leading(&f, 1, 1000);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 100);
	bytes_put32(payload + WIRE_HB_TIMEOUT, 3000);
	m.payload = payload;
	m.payload_len = sizeof(payload);
	hear(&f, &m, 2000);
	/* n2 heard our beacon of 1900: it holds until 4900 at the earliest */
	assert_true(failsafe_deadline(&f, members, 1, MARGIN) <= 1900 + 3000 - MARGIN);
}

/* A member's beacon that waited (in a socket while our loop stalled, or
 * on the way) names our beacon's send time: the word counts from there,
 * whatever the beacon's age says and however late we read it. */
static void a_late_beacon_gives_no_more_time(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	const char *members[] = {"n2"};
	uint8_t *p;

	(void)state;
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 1000);
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 0);
	p = (uint8_t *)m.payload;
	/* it echoes our beacon of 2000, and says it heard us 0 ms ago; we
	 * read it at 4000, after a stall */
	bytes_put64(p + WIRE_HB_ECHO, 2000);
	failsafe_on_packet(&f, &m, 4000);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 2000 + W - MARGIN);
	/* no echo: no word, whatever its age */
	m = beacon("n2", WIRE_ROLE_SLAVE, "n1", 0);
	failsafe_init(&f, "n1", W);
	failsafe_set_leading(&f, 1, 1000);
	failsafe_on_packet(&f, &m, 4000);
	assert_int_equal(failsafe_deadline(&f, members, 1, MARGIN), 0);
}

/* The payload of a beacon: the hold, the send time, the master's send
 * time echoed while it is heard. */
static void beacon_payload_echoes_the_master(void **state)
{
	struct failsafe f;
	struct wire_msg m;
	uint8_t out[WIRE_HB_BEACON_PAYLOAD];

	(void)state;
	failsafe_init(&f, "n2", W);
	m = beacon("n1", WIRE_ROLE_MASTER, "", WIRE_AGE_NONE);
	bytes_put64((uint8_t *)m.payload + WIRE_HB_STAMP, 777);
	failsafe_on_packet(&f, &m, 5000);
	failsafe_payload(&f, 5100, out);
	assert_int_equal(bytes_get32(out + WIRE_HB_TIMEOUT), W);
	assert_int_equal(bytes_get64(out + WIRE_HB_STAMP), 5100);
	assert_int_equal(bytes_get64(out + WIRE_HB_ECHO), 777);
	/* not heard for W: nothing echoed */
	failsafe_payload(&f, 5000 + W, out);
	assert_int_equal(bytes_get64(out + WIRE_HB_ECHO), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slave_holds_while_it_hears_a_master),
		cmocka_unit_test(master_deadline_from_every_member),
		cmocka_unit_test(a_new_lead_starts_without_word),
		cmocka_unit_test(beacons_say_who_is_heard),
		cmocka_unit_test(full_table_forgets_the_oldest),
		cmocka_unit_test(deadline_keeps_to_the_members_own_window),
		cmocka_unit_test(a_late_beacon_gives_no_more_time),
		cmocka_unit_test(beacon_payload_echoes_the_master),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
