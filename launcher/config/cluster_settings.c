/*
 * The settings every node of a cluster must share (cluster_settings.h).
 */
#include "cluster_settings.h"

#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "wire.h"

uint64_t settings_master_margin_ms(const struct config *c)
{
	/* election.c: election_beat_limit() - delay = retries x delay - 1.5 x delay */
	return (uint64_t)(c->cluster_retries * c->cluster_delay) - (uint64_t)c->cluster_delay * 3 / 2;
}

int settings_noise_check(const struct config *c, uint64_t noise_us, char *why, size_t len)
{
	uint64_t margin = settings_master_margin_ms(c);

	if (noise_us * 4 < margin * 1000)
		return 0;
	snprintf(why, len,
		 "this host's timers ran up to %.1f ms late; a master steps down when its heartbeat goes out %llu ms "
		 "late (cluster.delay %ld x (cluster.retries %ld - 1.5)): a busy moment would step it down; raise "
		 "cluster.retries or cluster.delay",
		 (double)noise_us / 1000.0, (unsigned long long)margin, c->cluster_delay, c->cluster_retries);
	return 1;
}

/*
 * What every node must agree on, or "the master could have been replaced"
 * means different things on different nodes: the timing (delay, retries),
 * the quorum, the protocol, and the key new packets are signed with (a
 * node signing with a key another lacks is not heard by it).  Never 0: 0
 * in a packet means "not sent" (an older node).
 */
uint64_t settings_cluster_digest(const struct config *c)
{
	char text[160];
	uint64_t h;

	snprintf(text, sizeof(text), "delay=%ld;retries=%ld;expected_nodes=%ld;protocol=%d;auth=%s;key_id=%ld",
		 c->cluster_delay, c->cluster_retries, c->cluster_expected_nodes, WIRE_VERSION, c->cluster_auth,
		 strcmp(c->cluster_auth, "none") == 0 ? 0L : c->cluster_key_id);
	h = hash_fnv1a_str(HASH_FNV1A_INIT, text);
	return h != 0 ? h : 1;
}
