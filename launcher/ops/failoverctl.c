/*
 * failoverctl: the operator's client of a running failover-launcher.  It
 * sends one request line on the control socket and prints the reply.
 *
 * Exit status: 0 done; 1 usage error or the launcher refused the request;
 * 2 the launcher is not running or its socket is not accessible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ctlproto.h"

/* The launcher's default control.socket, read from its configuration
 * table so that the two programs cannot disagree. */
static const char *default_socket(void)
{
#define CFG(sec, key, type, def, ...) \
	if (strcmp(#sec "." #key, "control.socket") == 0) \
		return def;
#include "config.def"
#undef CFG
	return "";
}

static const char *sock_path;
static int timeout_ms = 5000;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: failoverctl [OPTION]... COMMAND [ARG]...\n"
		"Show and steer the local failover-launcher through its control socket.\n"
		"\n"
		"Commands:\n"
		"  status [--json]         node, role, term, master, quorum, peers, broker, cache\n"
		"  peers [--json]          the peers this node hears, with last-seen ages\n"
		"  switchover [NODE]       planned handover to NODE (default: the next in order);\n"
		"                          waits until a new master is declared (--no-wait: don't)\n"
		"  resign                  this node, if master, steps down\n"
		"  pause                   maintenance mode, cluster-wide: no node promotes, demotes\n"
		"                          or restarts a broker until resume (the fence still acts)\n"
		"  resume                  end maintenance mode, without a failover\n"
		"  locate [--uri failover|masterslave]\n"
		"                          the master's broker URL, or a client URI listing every\n"
		"                          node's URL with the master first\n"
		"  metrics                 Prometheus text format\n"
		"  history [--json]        the last 200 role changes, handovers, health verdicts,\n"
		"                          fence actions and pauses of this node, newest last\n"
		"  cache get KEY           print a value of the replicated cache\n"
		"  cache put KEY VALUE     store a value (VALUE - reads standard input); in sync\n"
		"                          mode it returns once every live peer has it\n"
		"  cache del KEY           remove a value everywhere\n"
		"  cache list              keys, sizes, and the term and node that wrote them\n"
		"  ping                    is the launcher answering?\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH       control socket (default %s, or $FAILOVERCTL_SOCKET)\n"
		"  -i, --instance NAME     the socket of failover-launcher@NAME\n"
		"                          (/run/failover-launcher/NAME.sock)\n"
		"  -t, --timeout SECONDS   how long to wait for the launcher (default 5; switchover 30)\n"
		"      --no-wait           switchover: return once the request is accepted\n"
		"  -h, --help              show this help and exit\n"
		"  -V, --version           show the version and exit\n"
		"\n"
		"Exit status: 0 done, 1 usage error or request refused, 2 launcher not running or\n"
		"socket not accessible.\n",
		default_socket());
}

/* Reads fd into *buf (malloc'd, NUL-terminated, *len bytes) until end of
 * file, until complete() (when given) says the text is whole, or until the
 * monotonic deadline in ms (-1: none).  A read error ends the text as end of
 * file does.  0, or -1 when the deadline came first (what arrived is in
 * *buf) or memory ran out (*buf NULL). */
static int read_until(int fd, long long deadline, int (*complete)(const char *in, size_t len), char **buf,
		      size_t *len)
{
	size_t n = 0, cap = 4096;
	char *in = malloc(cap);
	int rc = 0;

	*buf = NULL;
	if (in == NULL)
		return -1;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline < 0 ? -1 : deadline - (long long)clock_mono_ms();
		ssize_t got;
		int r;
		if (deadline >= 0 && left <= 0) {
			rc = -1;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			rc = -1;
			break;
		}
		if (n + 1 >= cap) {
			char *more = realloc(in, cap * 2);
			if (more == NULL) {
				free(in);
				return -1;
			}
			in = more;
			cap *= 2;
		}
		got = r < 0 ? -1 : read(fd, in + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
		in[n] = '\0';
		if (complete != NULL && complete(in, n))
			break;
	}
	in[n] = '\0';
	*buf = in;
	*len = n;
	return rc;
}

/* Sends line, reads the whole reply into *reply.  0, or 2 on a socket
 * problem (with a message printed). */
static int request(const char *line, char **reply)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t len = 0;
	char *buf;
	long long deadline = (long long)clock_mono_ms() + timeout_ms;

	if (fd < 0) {
		fprintf(stderr, "failoverctl: socket: %s\n", strerror(errno));
		return 2;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int e = errno;
		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr, "failoverctl: no launcher is running on %s (%s)\n", sock_path, strerror(e));
		else if (e == EACCES || e == EPERM)
			fprintf(stderr, "failoverctl: %s: %s; run as root or a member of the launcher's group\n",
				sock_path, strerror(e));
		else
			fprintf(stderr, "failoverctl: %s: %s\n", sock_path, strerror(e));
		close(fd);
		return 2;
	}
	{
		/* one write; a launcher that answered early (an error) and closed
		 * fails it with EPIPE, and its answer is still there to read */
		size_t n = strlen(line);
		char *out = malloc(n + 1);
		ssize_t w;

		if (out == NULL) {
			fprintf(stderr, "failoverctl: out of memory\n");
			close(fd);
			return 2;
		}
		memcpy(out, line, n);
		out[n] = '\n';
		w = write(fd, out, n + 1);
		free(out);
		if (w != (ssize_t)(n + 1) && !(w < 0 && (errno == EPIPE || errno == ECONNRESET))) {
			fprintf(stderr, "failoverctl: sending to %s: %s\n", sock_path, w < 0 ? strerror(errno) : "cut short");
			close(fd);
			return 2;
		}
	}
	if (read_until(fd, deadline, NULL, &buf, &len) != 0) {
		if (buf == NULL)
			fprintf(stderr, "failoverctl: out of memory\n");
		else
			fprintf(stderr, "failoverctl: no reply from %s within %d ms\n", sock_path, timeout_ms);
		free(buf);
		close(fd);
		return 2;
	}
	close(fd);
	*reply = buf;
	return 0;
}

/* Prints a reply: the body on stdout, an error on stderr.  0 or 1. */
static int print_reply(const char *reply)
{
	if (strncmp(reply, "ok\n", 3) == 0) {
		fputs(reply + 3, stdout);
		return 0;
	}
	fprintf(stderr, "failoverctl: %s", strncmp(reply, "error: ", 7) == 0 ? reply + 7 : reply);
	if (reply[0] == '\0' || reply[strlen(reply) - 1] != '\n')
		fputc('\n', stderr);
	return 1;
}

/* The value of "key:" in a text status reply. */
static void status_field(const char *reply, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);
	const char *p = reply;

	out[0] = '\0';
	while (p && *p) {
		if (strncmp(p, key, k) == 0 && p[k] == ':') {
			p += k + 1;
			while (*p == ' ')
				p++;
			snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

/* A memcached reply is whole: one line, or VALUE ... END. */
static int mc_reply_complete(const char *in, size_t len)
{
	return strncmp(in, "VALUE ", 6) == 0 ? len >= 5 && strcmp(in + len - 5, "END\r\n") == 0
					     : strstr(in, "\r\n") != NULL;
}

/* cache get/put/del speak the memcached protocol to the launcher's cache
 * listener, whose address the control socket gives. */
static int cache_cmd(int argc, char **argv)
{
	char *reply = NULL, addr[128], req[512], *colon;
	struct sockaddr_in a = {.sin_family = AF_INET};
	const char *op = argv[0];
	char *value = NULL;
	size_t vlen = 0, len = 0;
	char *in;
	int fd, rc = 1;

	if (strcmp(op, "list") == 0) {
		if (request("cache list", &reply) != 0)
			return 2;
		rc = print_reply(reply);
		free(reply);
		return rc;
	}
	if ((strcmp(op, "get") == 0 || strcmp(op, "del") == 0) ? argc != 2
	    : strcmp(op, "put") == 0 ? argc != 3 : 1) {
		fprintf(stderr, "failoverctl: cache get KEY | cache put KEY VALUE | cache del KEY | cache list\n");
		return 1;
	}
	if (strlen(argv[1]) > 250 || strpbrk(argv[1], " \t\r\n") != NULL) {
		fprintf(stderr, "failoverctl: a key is 1 to 250 bytes without blanks or control characters\n");
		return 1;
	}
	if (request("cache address", &reply) != 0)
		return 2;
	if (strncmp(reply, "ok\n", 3) != 0) {
		rc = print_reply(reply);
		free(reply);
		return rc;
	}
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(reply + 3, "\n"), reply + 3);
	free(reply);
	colon = strrchr(addr, ':');
	if (colon == NULL)
		return 2;
	*colon = '\0';
	inet_pton(AF_INET, addr, &a.sin_addr);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	if (strcmp(op, "put") == 0) {
		if (strcmp(argv[2], "-") == 0) {
			if (read_until(0, -1, NULL, &value, &vlen) != 0) {
				fprintf(stderr, "failoverctl: out of memory\n");
				return 1;
			}
		} else {
			value = strdup(argv[2]);
			vlen = strlen(value);
		}
		snprintf(req, sizeof(req), "set %s 0 0 %zu\r\n", argv[1], vlen);
	} else if (strcmp(op, "get") == 0) {
		snprintf(req, sizeof(req), "get %s\r\n", argv[1]);
	} else {
		snprintf(req, sizeof(req), "delete %s\r\n", argv[1]);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "failoverctl: the cache at %s:%s does not answer: %s\n", addr, colon + 1,
			strerror(errno));
		free(value);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (write(fd, req, strlen(req)) < 0 || (value && (write(fd, value, vlen) < 0 || write(fd, "\r\n", 2) < 0))) {
		fprintf(stderr, "failoverctl: sending to the cache: %s\n", strerror(errno));
		free(value);
		close(fd);
		return 2;
	}
	free(value);
	/* what came by the timeout is judged as it is */
	if (read_until(fd, (long long)clock_mono_ms() + timeout_ms, mc_reply_complete, &in, &len) != 0 && in == NULL) {
		fprintf(stderr, "failoverctl: out of memory\n");
		close(fd);
		return 2;
	}
	close(fd);
	if (strcmp(op, "get") == 0 && strncmp(in, "VALUE ", 6) == 0) {
		char *data = strstr(in, "\r\n");
		unsigned flags;
		size_t bytes = 0;
		char key[260];
		if (data && sscanf(in, "VALUE %259s %u %zu", key, &flags, &bytes) == 3 &&
		    (size_t)(data + 2 - in) + bytes <= len) {
			fwrite(data + 2, 1, bytes, stdout);
			if (bytes && data[2 + bytes - 1] != '\n' && isatty(1))
				putchar('\n');
			rc = 0;
		}
	} else if (strcmp(op, "get") == 0 && strncmp(in, "END", 3) == 0) {
		fprintf(stderr, "failoverctl: %s: not in the cache\n", argv[1]);
	} else if (strncmp(in, "STORED", 6) == 0 || strncmp(in, "DELETED", 7) == 0) {
		rc = 0;
	} else if (strncmp(in, "NOT_FOUND", 9) == 0) {
		fprintf(stderr, "failoverctl: %s: not in the cache\n", argv[1]);
	} else {
		fprintf(stderr, "failoverctl: the cache says: %.*s\n", (int)strcspn(in, "\r\n"), in);
	}
	free(in);
	return rc;
}

/* After a switchover: wait until a master other than old is declared. */
static int wait_switch(const char *old, const char *target, int wait_ms)
{
	long long deadline = (long long)clock_mono_ms() + wait_ms;
	char master[128], term[32];

	while ((long long)clock_mono_ms() < deadline) {
		char *reply = NULL;
		if (request("status", &reply) == 0 && strncmp(reply, "ok\n", 3) == 0) {
			status_field(reply + 3, "master", master, sizeof(master));
			status_field(reply + 3, "term", term, sizeof(term));
			if (strcmp(master, "none") != 0 && strcmp(master, old) != 0 &&
			    (target == NULL || strcmp(master, target) == 0)) {
				printf("switchover done: %s is master (term %s)\n", master, term);
				free(reply);
				return 0;
			}
		}
		free(reply);
		usleep(100000);
	}
	fprintf(stderr, "failoverctl: no new master within %d ms\n", wait_ms);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'}, {"instance", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'}, {"no-wait", no_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static char inst[300];
	char line[4 * CTL_LINE_MAX]; /* ctl_parse says when it is too long */
	size_t off = 0;
	int ch, no_wait = 0, timeout_given = 0, rc;
	char *reply = NULL;
	const char *env = getenv("FAILOVERCTL_SOCKET");

	/* a launcher that closes first is an error to report, not a death */
	signal(SIGPIPE, SIG_IGN);
	sock_path = env && *env ? env : default_socket();
	/* "+": options stop at the command, whose own flags (--json) pass on */
	while ((ch = getopt_long(argc, argv, "+s:i:t:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': sock_path = optarg; break;
		case 'i':
			snprintf(inst, sizeof(inst), "/run/failover-launcher/%s.sock", optarg);
			sock_path = inst;
			break;
		case 't':
			timeout_ms = (int)(atof(optarg) * 1000);
			timeout_given = 1;
			if (timeout_ms <= 0) {
				fprintf(stderr, "failoverctl: --timeout %s: give seconds > 0\n", optarg);
				return 1;
			}
			break;
		case 'W': no_wait = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("failoverctl %s\n", FL_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'failoverctl --help' for more information.\n");
			return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[optind], "cache") == 0) {
		if (optind + 1 >= argc) {
			fprintf(stderr, "failoverctl: cache get KEY | cache put KEY VALUE | cache del KEY | cache list\n");
			return 1;
		}
		return cache_cmd(argc - optind - 1, argv + optind + 1);
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--no-wait") == 0) {
			no_wait = 1;
			continue;
		}
		if (strpbrk(argv[i], " \t\n") != NULL) {
			fprintf(stderr, "failoverctl: argument '%.80s' is not allowed: it has a blank\n", argv[i]);
			return 1;
		}
		if (off + strlen(argv[i]) + 2 > sizeof(line)) {
			fprintf(stderr, "failoverctl: request longer than %d bytes\n", CTL_LINE_MAX);
			return 1;
		}
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", off ? " " : "", argv[i]);
	}
	/* the request checked here as the launcher would: a wrong one is a
	 * usage error whether a launcher runs or not */
	{
		struct ctl_request req;
		char err[256];

		if (ctl_parse(line, strlen(line), &req, err, sizeof(err)) != 0) {
			fprintf(stderr, "failoverctl: %s\nTry 'failoverctl --help' for more information.\n", err);
			return 1;
		}
	}
	if (strcmp(argv[optind], "switchover") == 0) {
		char old[128] = "";
		const char *target = optind + 1 < argc && strcmp(argv[optind + 1], "--no-wait") != 0 ? argv[optind + 1]
												 : NULL;
		if (request("status", &reply) != 0)
			return 2;
		if (strncmp(reply, "ok\n", 3) == 0)
			status_field(reply + 3, "master", old, sizeof(old));
		free(reply);
		reply = NULL;
		if ((rc = request(line, &reply)) != 0)
			return rc;
		rc = print_reply(reply);
		free(reply);
		if (rc != 0 || no_wait)
			return rc;
		return wait_switch(old, target, timeout_given ? timeout_ms : 30000);
	}
	if ((rc = request(line, &reply)) != 0)
		return rc;
	rc = print_reply(reply);
	free(reply);
	return rc;
}
