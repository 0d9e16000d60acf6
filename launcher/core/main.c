/*
 * failover-launcher: runs on every node of a broker cluster, elects one
 * master over UDP multicast and runs the broker JVM only there.
 *
 * main() reads as the table of contents: options, configuration, then one
 * of the modes (-n check, --print-command, the daemon).
 */
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cache.h"
#include "command.h"
#include "config.h"
#include "daemon.h"
#include "etcd_client.h"
#include "http.h"
#include "log.h"
#include "transport.h"

#ifndef FL_SYSCONFDIR
#define FL_SYSCONFDIR "/etc"
#endif
#define DEFAULT_INI FL_SYSCONFDIR "/failover-launcher/failover-launcher.ini"

/* Exit codes, a contract documented in the README. */
enum {
	EXIT_CLEAN = 0,   /* clean stop */
	EXIT_CONFIG = 1,  /* configuration or usage error: not worth restarting */
	EXIT_RUNTIME = 2, /* temporary failure (sockets, resources): restart */
};

extern char **environ;

struct options {
	const char *ini;
	int check;          /* -n */
	int print_command;  /* 1 one line, 2 one argument per line */
	int verbosity;      /* -v minus -q */
	const char *new_key; /* --new-key FILE */
	struct strlist overrides;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: failover-launcher [OPTION]...\n"
		"Elect one master among the nodes of a broker cluster and run the broker JVM there.\n"
		"\n"
		"  -c, --config FILE        launcher configuration (default %s)\n"
		"  -o, --set SECTION.KEY=VALUE\n"
		"                           override one setting (repeatable; beats the INI file)\n"
		"  -n, --check              validate the configuration, print every effective value\n"
		"                           with its source, and exit\n"
		"      --print-command[=lines]\n"
		"                           print the broker's command line, shell-quoted (or one\n"
		"                           argument per line), and exit\n"
		"      --new-key FILE       write a new random cluster key file (mode 0600) and exit;\n"
		"                           copy it to every node as cluster.key_file\n"
		"  -v, --verbose            log more (repeat for debug)\n"
		"  -q, --quiet              log less (repeat for errors only)\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n"
		"Exit status: 0 clean stop, 1 configuration or usage error, 2 temporary failure.\n"
		"Precedence of settings: command line > INI file > bootstrap.properties >\n"
		"environment (ADAPTRIS_HOME, JAVA_HOME) > defaults.\n",
		DEFAULT_INI);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"set", required_argument, NULL, 'o'},
		{"check", no_argument, NULL, 'n'},
		{"print-command", optional_argument, NULL, 'P'},
		{"new-key", required_argument, NULL, 'K'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:o:nvqhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->ini = optarg; break;
		case 'o': strlist_add(&o->overrides, optarg); break;
		case 'n': o->check = 1; break;
		case 'P':
			if (optarg == NULL)
				o->print_command = 1;
			else if (strcmp(optarg, "lines") == 0)
				o->print_command = 2;
			else {
				fprintf(stderr, "failover-launcher: --print-command=%s: allowed --print-command or "
						"--print-command=lines\n", optarg);
				return -1;
			}
			break;
		case 'K': o->new_key = optarg; break;
		case 'v': o->verbosity++; break;
		case 'q': o->verbosity--; break;
		case 'h': usage(stdout); exit(EXIT_CLEAN);
		case 'V': printf("failover-launcher %s\n", FL_VERSION); exit(EXIT_CLEAN);
		default:
			fprintf(stderr, "Try 'failover-launcher --help' for more information.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "failover-launcher: unexpected argument '%s'\nTry 'failover-launcher --help'.\n",
			argv[optind]);
		return -1;
	}
	if (o->ini == NULL)
		o->ini = DEFAULT_INI;
	return 0;
}

static struct config *load_config(const struct options *o)
{
	struct config *c = config_new();

	if (c == NULL) {
		fprintf(stderr, "failover-launcher: out of memory\n");
		return NULL;
	}
	if (config_load(c, o->ini, &o->overrides, environ) != 0) {
		for (size_t i = 0; i < c->errors.n; i++)
			fprintf(stderr, "%s\n", c->errors.v[i]);
		config_free(c);
		return NULL;
	}
	return c;
}

static void setup_logging(const struct config *c, const struct options *o)
{
	static const enum log_level ladder[] = {LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG};
	int level = log_level_parse(c->log_level), i = 0;
	enum log_journal j = strcmp(c->log_journal, "yes") == 0  ? LOG_JOURNAL_YES
			     : strcmp(c->log_journal, "no") == 0 ? LOG_JOURNAL_NO
								 : LOG_JOURNAL_AUTO;

	while ((int)ladder[i] != level)
		i++;
	i += o->verbosity;
	if (i < 0)
		i = 0;
	if (i > 3)
		i = 3;
	log_init("failover-launcher", ladder[i], j);
}

static int print_command(const struct config *c, int mode)
{
	struct command cmd;
	char err[2048];

	if (command_build(c, environ, &cmd, err, sizeof(err)) != 0) {
		fprintf(stderr, "failover-launcher: %s\n", err);
		return EXIT_CONFIG;
	}
	if (mode == 2)
		command_print_lines(&cmd, stdout);
	else
		command_print_line(&cmd, stdout);
	command_free(&cmd);
	return EXIT_CLEAN;
}

/* ready_tcp's host resolves (the probe looks it up at each try) */
static int resolves(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	freeaddrinfo(res);
	return 0;
}

/* the interface, the peers and the readiness address, on this host */
static int host_checks(const struct config *c, char *err, size_t len)
{
	struct sockaddr_in a;

	if (*c->cluster_interface != '\0' && transport_check_interface(c->cluster_interface) != 0) {
		snprintf(err, len, "cluster.interface: %s: no such interface or address on this host",
			 c->cluster_interface);
		return -1;
	}
	if (cache_check_interface(c->cluster_interface, err, len) != 0)
		return -1;
	if (strcmp(c->cluster_backend, "multicast") == 0)
		for (size_t i = 0; i < c->cluster_peer.n; i++)
			if (transport_resolve_peer(c->cluster_peer.v[i], &a) != 0) {
				snprintf(err, len, "cluster.peer: cannot resolve %s", c->cluster_peer.v[i]);
				return -1;
			}
	if (*c->broker_ready_tcp != '\0' && resolves(c->broker_ready_tcp) != 0) {
		snprintf(err, len, "broker.ready_tcp: cannot resolve the host of %s", c->broker_ready_tcp);
		return -1;
	}
	return 0;
}

static int check(const struct config *c)
{
	struct command cmd;
	char err[2048];
	int rc = EXIT_CLEAN;

	config_dump(c, stdout);
	if (strcmp(c->cluster_auth, "hmac") == 0) {
		struct auth_keys ks;
		if (auth_init() != 0 || auth_load(&ks, c->cluster_key_file, (int)c->cluster_key_id, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", c->ini_path ? c->ini_path : "configuration", err);
			return EXIT_CONFIG;
		}
	}
	if (strcmp(c->cluster_backend, "etcd") == 0 && daemon_etcd_check_files(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c->ini_path ? c->ini_path : "configuration", err);
		return EXIT_CONFIG;
	}
	/* the libraries loaded by the settings that use them (not linked) */
	if (strcmp(c->cluster_backend, "etcd") == 0 && etcd_client_load_library(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: cluster.backend = etcd: %s\n", c->ini_path ? c->ini_path : "configuration", err);
		return EXIT_CONFIG;
	}
	if (*c->http_listen != '\0' && http_load_library(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: http.listen: %s\n", c->ini_path ? c->ini_path : "configuration", err);
		return EXIT_CONFIG;
	}
	/* what the start does with the network settings, checked here: what
	 * -n passes must start */
	if (host_checks(c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c->ini_path ? c->ini_path : "configuration", err);
		return EXIT_CONFIG;
	}
	if (strncmp(c->cache_listen, "0.0.0.0:", 8) == 0)
		fprintf(stderr, "%s: warning: cache.listen = %s answers on every address of this host; the memcached "
				"port has no authentication, so every host that reaches it can read and change the cache: "
				"give 127.0.0.1 or an address only the broker reaches\n",
			c->ini_path ? c->ini_path : "configuration", c->cache_listen);
	if (http_listen_wildcard(c->http_listen))
		fprintf(stderr, "%s: warning: http.listen = %s answers on every address of this host, unauthenticated; "
				"give the address the load balancer and the scraper reach\n",
			c->ini_path ? c->ini_path : "configuration", c->http_listen);
	/* the broker's command is part of the configuration: preflight it too */
	if (command_build(c, environ, &cmd, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", c->ini_path ? c->ini_path : "configuration", err);
		return EXIT_CONFIG;
	}
	printf("\n; broker command\n; ");
	command_print_line(&cmd, stdout);
	command_free(&cmd);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct config *c;
	int rc;

	if (parse_options(argc, argv, &o) != 0) {
		strlist_clear(&o.overrides);
		return EXIT_CONFIG;
	}
	if (o.new_key != NULL) {
		char err[512];

		strlist_clear(&o.overrides); /* not used */
		if (auth_init() != 0 || auth_new_key_file(o.new_key, err, sizeof(err)) != 0) {
			fprintf(stderr, "failover-launcher: --new-key: %s\n", err);
			return EXIT_CONFIG;
		}
		printf("wrote %s (key id 1); copy it to every node and set cluster.key_file\n", o.new_key);
		return EXIT_CLEAN;
	}
	c = load_config(&o);
	if (c == NULL) {
		strlist_clear(&o.overrides);
		return EXIT_CONFIG;
	}
	setup_logging(c, &o);
	if (o.check)
		rc = check(c);
	else if (o.print_command)
		rc = print_command(c, o.print_command);
	else {
		rc = daemon_run(c, o.ini, &o.overrides);
		c = NULL;
	}
	config_free(c);
	strlist_clear(&o.overrides);
	return rc;
}
