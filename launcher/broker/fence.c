/*
 * The fence process and the launcher's side of it (see fence.h; its
 * decisions are fence_plan.c's).
 */
#include "fence.h"

#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fence_plan.h"
#include "log.h"

/* Shared between the launcher and the fence: written by one side each. */
struct fence_page {
	/* the launcher's: fence_pack(deadline, SIGTERM point), and when it
	 * was renewed (for the report only) */
	_Atomic uint64_t plan;
	_Atomic uint64_t renewed_at;
	/* the fence's: what it did, count last (the launcher reads it first) */
	_Atomic int fired_sig;
	_Atomic int fired_pid;
	_Atomic uint64_t fired_unrenewed, fired_late;
	_Atomic uint64_t fired;
	/* the launcher's: the death notice in two slots, the one not
	 * published written, then published by one store (slot in bit 16,
	 * length below; 0: none), so that a launcher killed while writing
	 * leaves the last whole one; and where it goes, written before the
	 * socket is handed over */
	_Atomic uint32_t notice_pub;
	uint8_t notice[2][FENCE_NOTICE_MAX];
	_Atomic uint32_t ndests;
	struct sockaddr_in dests[FENCE_DESTS_MAX];
};

/* One message on the socket: a broker (with its pidfd), or a wake-up. */
struct fence_msg {
	char type; /* 'B' broker, 'S' the cluster socket, 'W' look at the page again, 'X' exit when idle */
	int32_t pid;
};

/* The longest the fence sleeps without looking at the page: a deadline
 * that moved earlier (a reload) is seen by then at the latest. */
#define FENCE_POLL_MAX_MS 1000

/* ---- the fence process ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The broker process exited (a zombie or reaped). */
static int exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

/* sig to the broker's process group.  The group's id is the broker's pid
 * (spawn.c: setsid), a number that cannot go to another process while the
 * broker is not reaped: the pidfd says whether it is (pidfd_send_signal
 * of 0 fails with ESRCH once it is), and the leader itself is signalled
 * through the pidfd, which never names another process. */
static void stop_group(int pidfd, pid_t pid, int sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		kill(-pid, sig);
	syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	if (sig == SIGTERM && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0)
		kill(-pid, SIGCONT); /* a stopped broker must be able to act on it */
}

static void record(struct fence_page *pg, int sig, pid_t pid, uint64_t now, uint64_t due)
{
	uint64_t renewed = atomic_load(&pg->renewed_at);

	atomic_store(&pg->fired_sig, sig);
	atomic_store(&pg->fired_pid, (int)pid);
	atomic_store(&pg->fired_unrenewed, renewed != 0 && now > renewed ? now - renewed : 0);
	atomic_store(&pg->fired_late, now > due ? now - due : 0);
	atomic_fetch_add(&pg->fired, 1);
}

/* A message from the launcher: 1, 0 at EOF, -1 when there was nothing. */
static int receive(int sock, struct fence_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -1 : 0;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(*fd));
	if ((size_t)n != sizeof(*m)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		m->type = 'W';
	}
	return 1;
}

/* The launcher is dead and no broker of it lives: its death notice, if
 * it published one and its deadline has not passed (fence_plan.h). */
static int notice_armed(struct fence_page *pg)
{
	return (atomic_load(&pg->notice_pub) & 0xffff) != 0;
}

static void announce(struct fence_page *pg, int sfd)
{
	const struct timespec pause = {0, 5000000};
	uint32_t pub = atomic_load(&pg->notice_pub), n = atomic_load(&pg->ndests);
	uint64_t kill_at, term_at;
	const uint8_t *buf = pg->notice[(pub >> 16) & 1];
	size_t len = pub & 0xffff;

	fence_unpack(atomic_load(&pg->plan), &kill_at, &term_at);
	if (sfd < 0 || len == 0 || len > FENCE_NOTICE_MAX || n > FENCE_DESTS_MAX)
		return;
	for (int copy = 0; copy < FENCE_NOTICE_COPIES; copy++) {
		if (copy > 0)
			nanosleep(&pause, NULL);
		if (!fence_may_announce(kill_at, mono_ms()))
			return;
		for (uint32_t i = 0; i < n; i++)
			sendto(sfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&pg->dests[i],
			       sizeof(pg->dests[i]));
	}
}

static int fence_main(struct fence_page *pg, int sock)
{
	int bfd = -1, sfd = -1, term_sent = 0, eof = 0, quit = 0;
	pid_t bpid = 0;
	uint64_t held = 0; /* the packed plan this broker is held to */

	for (;;) {
		uint64_t kill_at, term_at, now = mono_ms(), wake = 0;
		struct pollfd p[2];
		int n = 0, timeout;

		if (bfd >= 0 && exited(bfd)) {
			close(bfd);
			bfd = -1;
		}
		if (bfd >= 0) {
			held = fence_hold(held, atomic_load(&pg->plan));
			fence_unpack(held, &kill_at, &term_at);
			switch (fence_next(kill_at, term_at, term_sent, now, &wake)) {
			case FENCE_KILL:
				stop_group(bfd, bpid, SIGKILL);
				record(pg, SIGKILL, bpid, now, kill_at);
				close(bfd);
				bfd = -1;
				continue;
			case FENCE_TERM:
				stop_group(bfd, bpid, SIGTERM);
				record(pg, SIGTERM, bpid, now, term_at);
				term_sent = 1;
				continue;
			case FENCE_WAIT:
				break;
			}
		}
		if (eof && bfd < 0) {
			announce(pg, sfd);
			return 0;
		}
		if (quit && bfd < 0)
			return 0; /* released: this node runs no broker now */
		timeout = FENCE_POLL_MAX_MS;
		if (bfd < 0)
			timeout = -1; /* nothing to stop: only a message matters */
		else if (wake != 0 && wake - now < FENCE_POLL_MAX_MS)
			timeout = (int)(wake - now);
		if (!eof)
			p[n++] = (struct pollfd){.fd = sock, .events = POLLIN};
		if (bfd >= 0)
			p[n++] = (struct pollfd){.fd = bfd, .events = POLLIN};
		if (poll(p, (nfds_t)n, timeout) <= 0 || eof || !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (;;) {
			struct fence_msg m;
			int fd, r = receive(sock, &m, &fd);

			if (r < 0)
				break;
			if (r == 0) {
				/* the launcher is gone: a broker held is still stopped
				 * at its deadline; at once when a master died (the
				 * kernel sent its broker SIGKILL already: this is for
				 * the rest of its group), and the notice goes out once
				 * the broker has exited (its pidfd; a zombie holds no
				 * port, lock or file) */
				eof = 1;
				if (bfd >= 0 && notice_armed(pg))
					stop_group(bfd, bpid, SIGKILL);
				break;
			}
			if (m.type == 'X')
				quit = 1;
			if (m.type == 'B' && fd >= 0) {
				if (bfd >= 0)
					close(bfd);
				bfd = fd;
				bpid = m.pid;
				term_sent = 0;
				held = 0;
				quit = 0;
			} else if (m.type == 'S' && fd >= 0) {
				if (sfd >= 0)
					close(sfd);
				sfd = fd;
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
}

/* In the fence process, right after the fork: a session of its own, no
 * descriptor but the socket (and stderr, for the sanitizers' reports),
 * signals at their defaults but those a terminal or a pipe sends. */
static void fence_child(struct fence_page *pg, int sock)
{
	sigset_t none;
	int fd;

	setsid();
	prctl(PR_SET_NAME, "failover-fence");
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	/* nothing of the launcher's: a socket or file it closes must close */
	if (sock > 3)
		close_range(3, (unsigned)sock - 1, 0);
	close_range((unsigned)sock + 1, ~0U, 0);
	_exit(fence_main(pg, sock));
}

/* ---- the launcher's side ---- */

static int send_msg(struct fence *f, char type, int fd, pid_t pid)
{
	struct fence_msg m = {.type = type, .pid = (int32_t)pid};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	if (f->sock < 0) {
		if (type == 'B')
			log_err("cannot hand broker pid %ld to the fence: it is not running", (long)pid);
		return -1;
	}
	memset(cbuf, 0, sizeof(cbuf));
	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	/* never blocks the loop: a fence that does not read is a dead one,
	 * which its child watcher replaces */
	if (sendmsg(f->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (type == 'B')
			log_err("cannot hand broker pid %ld to the fence: %s", (long)pid, strerror(errno));
		return -1;
	}
	return 0;
}

static int fence_fork(struct fence *f, char *err, size_t len);

static void fence_died_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct fence *f = w->data;
	char err[256];

	ev_child_stop(loop, w);
	f->pid = 0;
	if (f->sock < 0)
		return; /* closing: it was told to go */
	if (f->releasing) {
		/* released: gone as asked */
		close(f->sock);
		f->sock = -1;
		f->releasing = 0;
		return;
	}
	close(f->sock);
	f->sock = -1;
	log_err("the fence process died (status %d): starting another", w->rstatus);
	if (f->restarts++ > 100) {
		log_err("the fence keeps dying: the broker runs without it");
		return;
	}
	if (fence_fork(f, err, sizeof(err)) != 0)
		log_err("cannot start the fence: %s; the broker runs without it", err);
	else {
		if (f->route_fd >= 0)
			send_msg(f, 'S', f->route_fd, 0);
		if (f->broker_fd >= 0)
			send_msg(f, 'B', f->broker_fd, f->broker_pid);
	}
}

static int fence_fork(struct fence *f, char *err, size_t len)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, len, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, len, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		fence_child(f->page, sv[1]);
	}
	close(sv[1]);
	f->sock = sv[0];
	f->pid = pid;
	ev_child_set(&f->child_w, pid, 0);
	ev_child_start(f->loop, &f->child_w);
	return 0;
}

int fence_open(struct fence *f, struct ev_loop *loop, char *err, size_t len)
{
	void *pg;

	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->sock = -1;
	f->broker_fd = -1;
	f->route_fd = -1;
	ev_child_init(&f->child_w, fence_died_cb, 0, 0);
	f->child_w.data = f;
	pg = mmap(NULL, sizeof(struct fence_page), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (pg == MAP_FAILED) {
		snprintf(err, len, "mmap: %s", strerror(errno));
		return -1;
	}
	f->page = pg;
	memset(f->page, 0, sizeof(*f->page));
	return fence_fork(f, err, len);
}

void fence_release(struct fence *f)
{
	if (f->pid <= 0 || f->releasing || f->broker_fd >= 0 || f->notice_armed)
		return;
	if (send_msg(f, 'X', -1, 0) == 0)
		f->releasing = 1;
}

int fence_ensure(struct fence *f, char *err, size_t len)
{
	if (f->page == NULL) {
		snprintf(err, len, "no fence page");
		return -1;
	}
	if (f->pid > 0 && !f->releasing)
		return 0;
	if (f->restarts > 100) {
		snprintf(err, len, "it kept dying");
		return -1;
	}
	if (f->pid > 0) {
		/* still exiting (it holds nothing): wait for it rather than hand
		 * a broker to a fence on its way out */
		ev_child_stop(f->loop, &f->child_w);
		close(f->sock);
		f->sock = -1;
		if (waitpid(f->pid, NULL, 0) < 0 && errno != ECHILD)
			log_warn("waiting for the released fence %ld: %s", (long)f->pid, strerror(errno));
		f->pid = 0;
		f->releasing = 0;
	} else if (f->sock >= 0) {
		close(f->sock);
		f->sock = -1;
	}
	if (fence_fork(f, err, len) != 0)
		return -1;
	if (f->route_fd >= 0)
		send_msg(f, 'S', f->route_fd, 0);
	f->kill_at = 0; /* the page holds the deadline: the new fence reads it */
	return 0;
}

void fence_publish(struct fence *f, uint64_t kill_at, uint64_t term_at, uint64_t renewed_at)
{
	if (f->page == NULL)
		return;
	atomic_store(&f->page->renewed_at, renewed_at);
	atomic_store(&f->page->plan, fence_pack(kill_at, term_at));
	/* a deadline earlier than the one the fence sleeps towards: wake it
	 * (later ones it finds when it wakes) */
	if (kill_at != 0 && (f->kill_at == 0 || kill_at < f->kill_at))
		send_msg(f, 'W', -1, 0);
	f->kill_at = kill_at;
}

int fence_hand(struct fence *f, int pidfd, pid_t pid)
{
	if (pidfd < 0 || send_msg(f, 'B', pidfd, pid) != 0)
		return -1;
	f->broker_fd = pidfd;
	f->broker_pid = pid;
	return 0;
}

void fence_broker_gone(struct fence *f)
{
	f->broker_fd = -1;
	f->broker_pid = 0;
}

int fence_route(struct fence *f, int fd, const struct sockaddr_in *dests, size_t n)
{
	if (f->page == NULL || fd < 0 || n == 0 || n > FENCE_DESTS_MAX)
		return -1;
	memcpy(f->page->dests, dests, n * sizeof(*dests));
	atomic_store(&f->page->ndests, (uint32_t)n);
	f->route_fd = fd;
	/* a released fence gets it when forked again (fence_ensure) */
	return f->sock < 0 ? 0 : send_msg(f, 'S', fd, 0);
}

void fence_notice(struct fence *f, const void *buf, size_t len)
{
	uint32_t slot;

	if (f->page == NULL || (len == 0 && !f->notice_armed))
		return;
	if (buf == NULL || len == 0 || len > FENCE_NOTICE_MAX) {
		atomic_store(&f->page->notice_pub, 0);
		f->notice_armed = 0;
		return;
	}
	slot = ((atomic_load(&f->page->notice_pub) >> 16) & 1) ^ 1;
	memcpy(f->page->notice[slot], buf, len);
	atomic_store(&f->page->notice_pub, slot << 16 | (uint32_t)len);
	f->notice_armed = 1;
}

int fence_take_fired(struct fence *f, struct fence_fired *out)
{
	uint64_t n;

	if (f->page == NULL || (n = atomic_load(&f->page->fired)) == f->fired_seen)
		return 0;
	out->count = (unsigned)(n - f->fired_seen);
	f->fired_seen = n;
	out->sig = atomic_load(&f->page->fired_sig);
	out->pid = atomic_load(&f->page->fired_pid);
	out->unrenewed_ms = atomic_load(&f->page->fired_unrenewed);
	out->late_ms = atomic_load(&f->page->fired_late);
	return 1;
}

void fence_close(struct fence *f)
{
	fence_notice(f, NULL, 0); /* a graceful stop: the launcher said what it had to */
	if (f->pid > 0)
		ev_child_stop(f->loop, &f->child_w);
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	/* not reaped here: it exits once the broker is gone (at once when
	 * there is none), and the launcher is about to exit too */
}

int fence_wait_gone(struct fence *f, unsigned ms)
{
	const struct timespec tick = {0, 10000000};

	if (f->pid <= 0)
		return 0;
	for (unsigned waited = 0;; waited += 10) {
		pid_t r = waitpid(f->pid, NULL, WNOHANG);
		if (r == f->pid || (r < 0 && errno == ECHILD)) {
			f->pid = 0;
			return 0;
		}
		if (waited >= ms)
			return -1;
		nanosleep(&tick, NULL);
	}
}
