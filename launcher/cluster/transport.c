/*
 * UDP transport.  SO_REUSEADDR lets several launchers (several nodes on one
 * host, or the template unit's instances) bind the same group and port; on
 * Linux each of them then receives every datagram sent to the group.
 */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "wire.h"

static int fail(char *err, size_t len, const char *what, const char *detail)
{
	snprintf(err, len, "%s: %s", what, detail ? detail : strerror(errno));
	return -1;
}

/* The interface by name, or by one of its IPv4 addresses. */
static int resolve_interface(const char *spec, struct ip_mreqn *mr, char *ifname, size_t len)
{
	struct in_addr a;
	struct ifaddrs *ifa, *i;

	if (inet_pton(AF_INET, spec, &a) != 1) {
		mr->imr_ifindex = (int)if_nametoindex(spec);
		snprintf(ifname, len, "%s", spec);
		return mr->imr_ifindex > 0 ? 0 : -1;
	}
	if (getifaddrs(&ifa) != 0)
		return -1;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == a.s_addr) {
			mr->imr_ifindex = (int)if_nametoindex(i->ifa_name);
			snprintf(ifname, len, "%s", i->ifa_name);
			break;
		}
	}
	freeifaddrs(ifa);
	return mr->imr_ifindex > 0 ? 0 : -1;
}

int transport_resolve_peer(const char *hostport, struct sockaddr_in *out)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	memcpy(out, res->ai_addr, sizeof(*out));
	freeaddrinfo(res);
	return 0;
}

int transport_check_interface(const char *spec)
{
	struct ip_mreqn mr = {0};
	char name[IF_NAMESIZE + 1];

	return resolve_interface(spec, &mr, name, sizeof(name));
}

int transport_open(struct transport *t, const struct transport_params *p, char *err, size_t len)
{
	struct sockaddr_in bind_addr = {.sin_family = AF_INET, .sin_port = htons(p->port)};
	struct ip_mreqn mr = {0};
	int one = 1;
	unsigned char ttl = p->ttl, loop = p->loopback;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (p->npeers > TRANSPORT_MAX_PEERS) {
		snprintf(err, len, "cluster.peer: %zu peers; allowed at most %d", p->npeers, TRANSPORT_MAX_PEERS);
		return -1;
	}
	t->multicast = p->npeers == 0;
	t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return fail(err, len, "socket", NULL);
	if (setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		return fail(err, len, "SO_REUSEADDR", NULL);
	{
		/* a burst of junk on the group must not push heartbeats out of a
		 * full receive queue: room for about 4 MiB of datagrams (beyond
		 * rmem_max when we may, FORCE) */
		int rcvbuf = 4 << 20;
		if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
			(void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	/* the kernel's receive time of each datagram: how long it waited
	 * for us (transport_recv); without it, nothing is known to be late */
	(void)setsockopt(t->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (t->multicast) {
		t->group.sin_family = AF_INET;
		t->group.sin_port = htons(p->port);
		inet_pton(AF_INET, p->group, &t->group.sin_addr);
		/* bound to the group address: only the group's datagrams arrive */
		bind_addr.sin_addr = t->group.sin_addr;
		if (*p->interface != '\0' && resolve_interface(p->interface, &mr, t->ifname, sizeof(t->ifname)) != 0)
			return fail(err, len, "cluster.interface", "no such interface or address on this host");
		mr.imr_multiaddr = t->group.sin_addr;
	} else {
		bind_addr.sin_addr.s_addr = htonl(INADDR_ANY);
		for (size_t i = 0; i < p->npeers; i++) {
			if (transport_resolve_peer(p->peers[i], &t->peers[t->npeers]) != 0) {
				snprintf(err, len, "cluster.peer: cannot resolve %s", p->peers[i]);
				return -1;
			}
			t->npeers++;
		}
	}
	if (bind(t->fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) != 0)
		return fail(err, len, "bind", NULL);
	if (t->multicast) {
		if (setsockopt(t->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
			return fail(err, len, "joining the multicast group", NULL);
		if (mr.imr_ifindex > 0 && setsockopt(t->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) != 0)
			return fail(err, len, "IP_MULTICAST_IF", NULL);
		if (setsockopt(t->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) != 0 ||
		    setsockopt(t->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) != 0)
			return fail(err, len, "multicast TTL/loopback", NULL);
	}
	return 0;
}

/*
 * A classic BPF program on the socket.  For a UDP socket the kernel runs it
 * with offset 0 at the UDP header, so the packet's offset k is at 8 + k.
 * Loads are big-endian words.  The NUL-padded node id (offset 16) and the
 * boot id after it (offset 48) are 40 contiguous bytes; the program returns
 * 0 (drop) only when all ten of their words match.  Any other packet, and
 * anything too short to hold them, is kept whole.
 */
#define UDP_HDR 8
#define OWN_AT 16                     /* the node id's offset in a packet */
#define OWN_LEN (WIRE_ID_MAX + 8)     /* node id, then boot id */
int transport_drop_own(struct transport *t, uint64_t boot, const char *node)
{
	enum { WORDS = OWN_LEN / 4 };
	struct sock_filter prog[2 + 2 * WORDS + 2];
	struct sock_fprog fp = {.len = 0, .filter = prog};
	uint8_t want[OWN_LEN] = {0};
	unsigned short n = 0;

	if (t->fd < 0) {
		errno = EBADF;
		return -1;
	}
	memcpy(want, node, strnlen(node, WIRE_ID_MAX));
	bytes_put64(want + WIRE_ID_MAX, boot);
	/* too short for a packet (WIRE_MIN_LEN): keep it, the decoder says why */
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0);
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, UDP_HDR + WIRE_MIN_LEN, 0,
						 (unsigned char)(2 * WORDS + 1));
	for (int i = 0; i < WORDS; i++) {
		prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, UDP_HDR + OWN_AT + 4 * i);
		/* a mismatch jumps to "keep", past the rest and "drop" */
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, bytes_get32(want + 4 * i), 0,
							 (unsigned char)(2 * (WORDS - 1 - i) + 1));
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	fp.len = n;
	return setsockopt(t->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
}

int transport_send(struct transport *t, const void *buf, size_t len)
{
	int failed = 0;

	if (t->multicast)
		return sendto(t->fd, buf, len, 0, (struct sockaddr *)&t->group, sizeof(t->group)) == (ssize_t)len ? 0 : 1;
	for (size_t i = 0; i < t->npeers; i++)
		if (sendto(t->fd, buf, len, 0, (struct sockaddr *)&t->peers[i], sizeof(t->peers[i])) != (ssize_t)len)
			failed++;
	return failed;
}

/* ms from the kernel's receive time (the wall clock's) to now, 0 when
 * it is not given or the wall clock went back meanwhile */
static uint32_t waited_since(const struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)mh); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		struct timespec at, now;
		int64_t ms;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS ||
		    c->cmsg_len < CMSG_LEN(sizeof(at)))
			continue;
		memcpy(&at, CMSG_DATA(c), sizeof(at));
		clock_gettime(CLOCK_REALTIME, &now);
		ms = ((int64_t)now.tv_sec - (int64_t)at.tv_sec) * 1000 + ((int64_t)now.tv_nsec - (int64_t)at.tv_nsec) / 1000000;
		return ms <= 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
	}
	return 0;
}

ssize_t transport_recv(struct transport *t, void *buf, size_t len, struct sockaddr_in *from, uint32_t *waited_ms)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct timespec))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_name = from,
			    .msg_namelen = sizeof(*from),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n = recvmsg(t->fd, &mh, 0);

	*waited_ms = n >= 0 ? waited_since(&mh) : 0;
	return n;
}

void transport_close(struct transport *t)
{
	if (t->fd > 0)
		close(t->fd);
	t->fd = -1;
}
