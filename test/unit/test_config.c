/* Unit tests of configuration loading: every error class, precedence,
 * the interlok-failover keys and their unit conversions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cluster_settings.h"
#include "testutil.h"

static char *const no_env[] = {NULL};

struct fx {
	char *dir;
	struct config *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp();
	f->c = config_new();
	*state = f;
	return f->dir && f->c ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	config_free(f->c);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Loads INI text; returns config_load's result. */
static int load(struct fx *f, const char *ini, const struct strlist *over)
{
	char *p = tu_write(f->dir, "l.ini", ini);
	int rc = config_load(f->c, p, over, no_env);
	free(p);
	return rc;
}

/* The single error, which must contain every needle given. */
static void expect_error(struct fx *f, const char *needle1, const char *needle2)
{
	if (f->c->errors.n != 1) {
		for (size_t i = 0; i < f->c->errors.n; i++)
			print_error("error: %s\n", f->c->errors.v[i]);
		fail_msg("expected one error, got %zu", f->c->errors.n);
	}
	if (strstr(f->c->errors.v[0], needle1) == NULL || (needle2 && strstr(f->c->errors.v[0], needle2) == NULL))
		fail_msg("error '%s' lacks '%s' / '%s'", f->c->errors.v[0], needle1, needle2 ? needle2 : "");
}

static void defaults(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "", NULL), 0);
	assert_string_equal(f->c->cluster_group, "230.0.0.1");
	assert_int_equal(f->c->cluster_port, 2710);
	assert_int_equal(f->c->cluster_delay, 1000);
	assert_int_equal(f->c->cluster_retries, 5);
	assert_int_equal(f->c->cluster_ttl, 1);
	assert_string_equal(f->c->broker_main_class, "com.adaptris.core.management.SimpleBootstrap");
	assert_int_equal(f->c->broker_jvm_option.n, 1);
	assert_string_equal(f->c->broker_jvm_option.v[0], "-Xmx1024m");
	assert_int_equal(f->c->control_mode, 0660);
	assert_string_equal(f->c->origin[CFG_cluster_port].where, "default");
	/* home defaults to the INI file's directory; relative paths hang off it */
	assert_string_equal(f->c->broker_home, f->dir);
	assert_true(strncmp(f->c->broker_lib_dir, f->dir, strlen(f->dir)) == 0);
}

static void unknown_section(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\nname=x\n\n[brokr]\nhome=/x\n", NULL), -1);
	expect_error(f, "l.ini:4: [brokr]: unknown section", "allowed sections: cluster, broker, health, cache, control, http, log");
}

static void unknown_key(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\nnmae = x\n", NULL), -1);
	expect_error(f, "l.ini:2: cluster.nmae: unknown key", "keys of [cluster]: name, node");
}

static void bad_number(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\nport = 27x0\n", NULL), -1);
	expect_error(f, "l.ini:2: cluster.port: '27x0' is not a number", "allowed 1..65535");
}

static void out_of_range(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\n; comment\ndelay = 5\n", NULL), -1);
	expect_error(f, "l.ini:3: cluster.delay: 5 is out of range", "allowed 10..60000 ms");
}

static void bad_address(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\ngroup = 10.0.0.1\n", NULL), -1);
	expect_error(f, "l.ini:2: cluster.group: '10.0.0.1' is not an IPv4 multicast address", "224.0.0.0");
}

/* http.listen binds: a dotted IPv4 address and a port, empty for off */
static void http_listen(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[http]\nlisten = localhost:8008\n", NULL), -1);
	expect_error(f, "l.ini:2: http.listen: 'localhost:8008': the host must be a dotted IPv4 address", "0.0.0.0");
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[http]\nlisten = 10.0.0.1:0\n", NULL), -1);
	expect_error(f, "http.listen: '10.0.0.1:0' is not host:port", "1..65535");
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[http]\nlisten = 10.0.0.1\n", NULL), -1);
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[http]\nlisten = 10.0.0.1:8008\n", NULL), 0);
	assert_string_equal(f->c->http_listen, "10.0.0.1:8008");
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[cluster]\nname = x\n", NULL), 0);
	assert_string_equal(f->c->http_listen, ""); /* off by default */
}

/* http.listen is copied into a 64-byte field (settings_http): a value the
 * check accepts must fit whole, or the port is cut (here to 0: MHD would
 * bind a random port) while the log names the address meant */
static void http_listen_fits(void **state)
{
	struct fx *f = *state;
	char ini[256];

	snprintf(ini, sizeof(ini), "[http]\nlisten = 10.0.0.1:%s8008\n",
		 "000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(load(f, ini, NULL), -1);
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[http]\nlisten = 10.0.0.1:+8008\n", NULL), -1);
	/* hostile values: no host, a bad address, a port out of range, IPv6,
	 * a name, a port with more after it */
	static const char *const bad[] = {":0", ":8008", "999.1.1.1:80", "10.0.0.1:99999", "10.0.0.1:65536",
					  "[::1]:8008", "::1:8008", "localhost:8008", "10.0.0.1:80x", "10.0.0.1:",
					  "10.0.0.1:-1", "10.0.0.1.:80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(f->c);
		f->c = config_new();
		snprintf(ini, sizeof(ini), "[http]\nlisten = %s\n", bad[i]);
		if (load(f, ini, NULL) != -1)
			fail_msg("http.listen = %s accepted", bad[i]);
	}
}

/* cache.listen binds at start: a dotted address, as http.listen; the
 * broker URL fits a heartbeat whole */
static void cache_listen_and_url(void **state)
{
	struct fx *f = *state;
	char url[400];
	struct strlist over = {0};

	assert_int_equal(load(f, "[cache]\nlisten = localhost:11211\n", NULL), -1);
	expect_error(f, "l.ini:2: cache.listen: 'localhost:11211': the host must be a dotted IPv4 address", NULL);
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[cache]\nlisten = 127.0.0.1:0\n", NULL), 0);
	/* a URL of 256 bytes (from an override: an INI line is shorter) */
	config_free(f->c);
	f->c = config_new();
	/* "broker.url=" and tcp:// + 248 letters + ":1": 256 bytes of value */
	snprintf(url, sizeof(url), "broker.url=tcp://");
	memset(url + strlen(url), 'a', 248);
	snprintf(url + 17 + 248, sizeof(url) - 17 - 248, ":1");
	strlist_add(&over, url);
	assert_int_equal(load(f, "[cluster]\nname = x\n", &over), -1);
	expect_error(f, "broker.url: 256 bytes, longer than the 255 a heartbeat carries", NULL);
	strlist_clear(&over);
	/* 255 is accepted */
	config_free(f->c);
	f->c = config_new();
	memmove(url + strlen(url) - 3, ":1", 3); /* 255 bytes of value */
	strlist_add(&over, url);
	if (load(f, "[cluster]\nname = x\n", &over) != 0)
		fail_msg("%s", f->c->errors.n ? f->c->errors.v[0] : "refused");
	assert_int_equal(strlen(f->c->broker_url), 255);
	strlist_clear(&over);
}

/* health.tcp is connected to from the event loop: numbers only, no name
 * lookup; the [health] keys and their defaults */
static void health_keys(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[health]\ntcp = localhost:61616\n", NULL), -1);
	expect_error(f, "l.ini:2: health.tcp: 'localhost:61616' is not an IP address and port", "as numbers");
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[health]\ntcp = 10.0.0.1:61616\naction = resign\nfall = 1\n", NULL), 0);
	assert_string_equal(f->c->health_action, "resign");
	assert_int_equal(f->c->health_fall, 1);
	assert_int_equal(f->c->health_rise, 2);
	assert_int_equal(f->c->health_interval, 2000);
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[health]\naction = reboot\n", NULL), -1);
	expect_error(f, "health.action: 'reboot' is not allowed", "restart|resign");
}

/* backend = etcd: endpoints it can use, TLS and sign-in files in pairs, a
 * lease that leaves the fence its room */
static void etcd_keys(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *ini, *n1, *n2;
	} bad[] = {
		{"[cluster]\nbackend = etcd\n", "cluster.backend = etcd needs at least one cluster.etcd_endpoint", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = 10.0.0.1:2379\n", "'10.0.0.1:2379' is not http://", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = http://10.0.0.1:2379/v3\n", "no path", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = http://u:p@h:2379\n", "no user in it", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = http://h:2379\nlease_ttl = 10\n",
		 "l.ini:4: cluster.lease_ttl: 10 s leaves no room for the fence", "set lease_ttl to 12 s or more"},
		{"[cluster]\nbackend = etcd\netcd_endpoint = https://h:2379\netcd_cert = /c.pem\n",
		 "cluster.etcd_cert and cluster.etcd_key go together", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = http://h:2379\netcd_user = fl\n",
		 "cluster.etcd_user and cluster.etcd_password_file go together", NULL},
		{"[cluster]\nbackend = etcd\netcd_endpoint = http://h:2379\netcd_prefix = fl/\n",
		 "must start with '/', not end with one", NULL},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(f->c);
		f->c = config_new();
		assert_int_equal(load(f, bad[i].ini, NULL), -1);
		expect_error(f, bad[i].n1, bad[i].n2);
	}
	/* what a two-node pair uses: two endpoints, a short lease with a short stop */
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[cluster]\nbackend = etcd\netcd_endpoint = http://10.0.0.1:2379\n"
				 "etcd_endpoint = https://etcd2:2379\nlease_ttl = 3\n[broker]\nstop_timeout = 2000\n",
			      NULL),
			 0);
	assert_int_equal(f->c->cluster_etcd_endpoint.n, 2);
	assert_string_equal(f->c->cluster_etcd_prefix, "/failover-launcher");
	/* the default TTL leaves the default stop its room */
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[cluster]\nbackend = etcd\netcd_endpoint = http://h:2379\n", NULL), 0);
	assert_int_equal(f->c->cluster_lease_ttl, 15);
}

static void bad_bool_and_enum(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\npreempt = maybe\n[log]\nlevel = loud\n", NULL), -1);
	assert_int_equal(f->c->errors.n, 2);
	assert_non_null(strstr(f->c->errors.v[0], "l.ini:2: cluster.preempt: 'maybe' is not a boolean"));
	assert_non_null(strstr(f->c->errors.v[1], "l.ini:4: log.level: 'loud' is not allowed; allowed error|warning|info|debug"));
}

static void missing_required(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[broker]\nmain_class =\n", NULL), -1);
	expect_error(f, "l.ini:2: broker.main_class: missing required value", NULL);
}

static void unreadable_file(void **state)
{
	struct fx *f = *state;
	assert_int_equal(config_load(f->c, "/nonexistent/dir/l.ini", NULL, no_env), -1);
	expect_error(f, "/nonexistent/dir/l.ini:0: cannot read the configuration", "No such file");
}

/* a directory reads as an empty file: every default, no word said */
static void directory_refused(void **state)
{
	struct fx *f = *state;
	assert_int_equal(config_load(f->c, f->dir, NULL, no_env), -1);
	expect_error(f, ":0: cannot read the configuration: it is a directory", NULL);
}

/* "node = bad<NUL> 1" is not "bad": the line is refused */
static void nul_byte_refused(void **state)
{
	struct fx *f = *state;
	static const char ini[] = "[cluster]\nnode = bad\0 1\nname = x\n";
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/nul.ini", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(ini, 1, sizeof(ini) - 1, fp), sizeof(ini) - 1);
	fclose(fp);
	assert_int_equal(config_load(f->c, path, NULL, no_env), -1);
	expect_error(f, "nul.ini:2: line contains a NUL byte", NULL);
	assert_string_not_equal(f->c->cluster_node, "bad");
	assert_string_equal(f->c->cluster_name, "x"); /* the lines after it are read */
}

/* a scalar key twice in one file: refused, naming both lines */
static void scalar_twice_refused(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\nname = a\nport = 9000\n\n[cluster]\nname = b\n", NULL), -1);
	expect_error(f, "l.ini:6: cluster.name: given twice in this file (first at line 2)", NULL);
	/* the same key in another section is another key */
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[cluster]\nname = a\n[broker]\nhome = /x\n", NULL), 0);
}

static void unreadable_bootstrap(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[broker]\nbootstrap = nothere.properties\n", NULL), -1);
	expect_error(f, "l.ini:2: broker.bootstrap: cannot read", "nothere.properties");
}

static void long_line_refused_not_cut(void **state)
{
	struct fx *f = *state;
	char ini[1024];
	char big[300];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* the tail after inih's cut would read "port = 9" on its own */
	snprintf(ini, sizeof(ini), "[broker]\njvm_option = -D%.*s\n[cluster]\n", 180, big);
	snprintf(ini + strlen(ini), sizeof(ini) - strlen(ini), "name = %.*sport = 9\n", 200, big);
	assert_int_equal(load(f, ini, NULL), -1);
	assert_int_equal(f->c->errors.n, 1);
	assert_non_null(strstr(f->c->errors.v[0], "l.ini:4: line is 215 bytes, longer than the 198"));
	assert_non_null(strstr(f->c->errors.v[0], "repeated keys"));
	assert_int_equal(f->c->cluster_port, 2710);
	assert_string_equal(f->c->cluster_name, "failover");
	/* a line of exactly the limit is accepted */
	assert_int_equal(f->c->broker_jvm_option.n, 1);
	assert_int_equal(strlen(f->c->broker_jvm_option.v[0]), 182);
}

static void syntax_error(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[cluster]\nname = a\njust words\n", NULL), -1);
	expect_error(f, "l.ini:3: syntax error", "key = value");
}

static void indented_line_is_not_a_continuation(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[broker]\njvm_option = -Xmx1g\n    jvm_option = -Xss1m\n", NULL), 0);
	assert_int_equal(f->c->broker_jvm_option.n, 2);
	assert_string_equal(f->c->broker_jvm_option.v[1], "-Xss1m");
}

static void repeated_keys_make_lists(void **state)
{
	struct fx *f = *state;
	struct strlist over = {0};

	assert_int_equal(load(f, "[broker]\nproperty = a=1\nproperty = b=2\nproperty = c=3\n", NULL), 0);
	assert_int_equal(f->c->broker_property.n, 3);
	assert_string_equal(f->c->origin[CFG_broker_property].where + strlen(f->dir) + 1, "l.ini:2,3,4");
	/* a higher level replaces the whole list */
	config_free(f->c);
	f->c = config_new();
	strlist_add(&over, "broker.property=z=9");
	assert_int_equal(load(f, "[broker]\nproperty = a=1\nproperty = b=2\n", &over), 0);
	assert_int_equal(f->c->broker_property.n, 1);
	assert_string_equal(f->c->broker_property.v[0], "z=9");
	strlist_clear(&over);
}

static void precedence(void **state)
{
	struct fx *f = *state;
	struct strlist over = {0};
	char *boot = tu_write(f->dir, "b.properties", "failover.port=3000\nfailover.delay=200\nfailover.retries=7\n");

	free(boot);
	strlist_add(&over, "cluster.port=5000");
	assert_int_equal(load(f, "[broker]\nbootstrap = b.properties\n[cluster]\nport = 4000\ndelay = 300\n", &over), 0);
	assert_int_equal(f->c->cluster_port, 5000);     /* command line */
	assert_string_equal(f->c->origin[CFG_cluster_port].where, "command line");
	assert_int_equal(f->c->cluster_delay, 300);     /* INI over bootstrap */
	assert_non_null(strstr(f->c->origin[CFG_cluster_delay].where, "l.ini:5"));
	assert_int_equal(f->c->cluster_retries, 7);     /* bootstrap over default */
	assert_non_null(strstr(f->c->origin[CFG_cluster_retries].where, "b.properties:3 (failover.retries)"));
	assert_int_equal(f->c->cluster_ttl, 1);         /* default */
	strlist_clear(&over);
}

static void interlok_failover_keys(void **state)
{
	struct fx *f = *state;
	char *boot = tu_write(f->dir, "b.properties",
			      "failover.multicast.group=230.1.2.3\n"
			      "failover.multicast.port=2711\n"
			      "failover.tcp.peers=10.1.0.1:4000;10.1.0.2:4001\n"
			      "failover.slave.position=4\n"
			      "failover.ping.interval.seconds=3\n"
			      "failover.instance.timeout.seconds=20\n");
	free(boot);
	assert_int_equal(load(f, "[broker]\nbootstrap = b.properties\n", NULL), 0);
	assert_string_equal(f->c->cluster_group, "230.1.2.3");
	assert_int_equal(f->c->cluster_port, 2711);
	assert_int_equal(f->c->cluster_peer.n, 2);
	assert_string_equal(f->c->cluster_peer.v[1], "10.1.0.2:4001");
	assert_int_equal(f->c->cluster_position, 4);
	assert_int_equal(f->c->cluster_delay, 3000);   /* seconds to ms */
	assert_int_equal(f->c->cluster_retries, 7);    /* ceil(20 s / 3 s) */
	assert_non_null(strstr(f->c->origin[CFG_cluster_retries].where, "failover.instance.timeout.seconds=20"));
	/* the argument defaults to the bootstrap file */
	assert_int_equal(f->c->broker_argument.n, 1);
	assert_string_equal(f->c->broker_argument.v[0], f->c->broker_bootstrap);
}

static void seed_keys_and_timeout_with_ini_delay(void **state)
{
	struct fx *f = *state;
	char *boot = tu_write(f->dir, "b.properties", "failover.group=230.0.0.9\nfailover.instance.timeout.seconds=1\n");
	free(boot);
	assert_int_equal(load(f, "[broker]\nbootstrap = b.properties\n[cluster]\ndelay = 100\n", NULL), 0);
	assert_string_equal(f->c->cluster_group, "230.0.0.9");
	assert_int_equal(f->c->cluster_retries, 10); /* 1 s at the INI's 100 ms */
}

static void alias_conflict(void **state)
{
	struct fx *f = *state;
	char *boot = tu_write(f->dir, "b.properties", "failover.group=230.0.0.9\nx=y\nfailover.multicast.group=230.0.0.8\n");
	free(boot);
	assert_int_equal(load(f, "[broker]\nbootstrap = b.properties\n", NULL), -1);
	expect_error(f, "b.properties:3: failover.multicast.group: '230.0.0.8' conflicts with failover.group at line 1",
		     NULL);
}

static void bootstrap_bad_value(void **state)
{
	struct fx *f = *state;
	char *boot = tu_write(f->dir, "b.properties", "other=1\nfailover.port=99999\n");
	free(boot);
	assert_int_equal(load(f, "[broker]\nbootstrap = b.properties\n", NULL), -1);
	expect_error(f, "b.properties:2 (failover.port): cluster.port: 99999 is out of range", "1..65535");
}

static void override_errors(void **state)
{
	struct fx *f = *state;
	struct strlist over = {0};
	strlist_add(&over, "cluster.bogus=1");
	strlist_add(&over, "noequals");
	assert_int_equal(load(f, "", &over), -1);
	assert_int_equal(f->c->errors.n, 2);
	assert_non_null(strstr(f->c->errors.v[0], "command line: cluster.bogus: unknown key"));
	assert_non_null(strstr(f->c->errors.v[1], "expected section.key=value"));
	strlist_clear(&over);
}

static void env_home_and_java_home(void **state)
{
	struct fx *f = *state;
	char *env[] = {"ADAPTRIS_HOME=/opt/adaptris", "JAVA_HOME=/opt/jdk", NULL};
	char *p = tu_write(f->dir, "l.ini", "[broker]\n");
	assert_int_equal(config_load(f->c, p, NULL, env), 0);
	free(p);
	assert_string_equal(f->c->broker_home, "/opt/adaptris");
	assert_string_equal(f->c->origin[CFG_broker_home].where, "environment ADAPTRIS_HOME");
	assert_string_equal(f->c->broker_lib_dir, "/opt/adaptris/lib");
	assert_string_equal(f->c->broker_java_home, "/opt/jdk");
	assert_string_equal(f->c->broker_working_dir, "/opt/adaptris");
}

/* the launcher's own relative paths are the configuration's (its
 * directory), the broker's are the install's (broker.home) */
static void relative_paths(void **state)
{
	struct fx *f = *state;
	char *env[] = {"ADAPTRIS_HOME=/opt/adaptris", NULL};
	char *p = tu_write(f->dir, "l.ini",
			   "[cluster]\nstate_dir = state\nkey_file = keys/cluster.key\n[control]\nsocket = ctl.sock\n"
			   "[broker]\nconfig_dir = conf\n");
	char want[4096];

	assert_int_equal(config_load(f->c, p, NULL, env), 0);
	free(p);
	snprintf(want, sizeof(want), "%s/state", f->dir);
	assert_string_equal(f->c->cluster_state_dir, want);
	snprintf(want, sizeof(want), "%s/keys/cluster.key", f->dir);
	assert_string_equal(f->c->cluster_key_file, want);
	snprintf(want, sizeof(want), "%s/ctl.sock", f->dir);
	assert_string_equal(f->c->control_socket, want);
	assert_string_equal(f->c->broker_config_dir, "/opt/adaptris/conf");
}

static void pairs_checked(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[broker]\nproperty = novalue\nenv = 1BAD=x\n", NULL), -1);
	assert_int_equal(f->c->errors.n, 2);
	assert_non_null(strstr(f->c->errors.v[0], "broker.property: 'novalue' is not NAME=VALUE"));
	assert_non_null(strstr(f->c->errors.v[1], "broker.env: '1BAD' is not a variable name"));
}

static void dump_shows_origins(void **state)
{
	struct fx *f = *state;
	char *out = NULL;
	size_t len = 0;
	FILE *mem;

	assert_int_equal(load(f, "[cluster]\nport = 2800\n", NULL), 0);
	mem = open_memstream(&out, &len);
	config_dump(f->c, mem);
	fclose(mem);
	assert_non_null(strstr(out, "[cluster]\n"));
	assert_non_null(strstr(out, "port = 2800"));
	assert_non_null(strstr(out, "l.ini:2\n"));
	assert_non_null(strstr(out, "group = 230.0.0.1"));
	assert_non_null(strstr(out, "mode = 0660"));
	free(out);
	/* each value of a list with its own line, not every line each time */
	config_free(f->c);
	f->c = config_new();
	assert_int_equal(load(f, "[broker]\nproperty = a=1\nproperty = b=2\n\nproperty = c=3\n", NULL), 0);
	mem = open_memstream(&out, &len);
	config_dump(f->c, mem);
	fclose(mem);
	assert_non_null(strstr(out, "l.ini:2\n"));
	assert_non_null(strstr(out, "c=3"));
	assert_null(strstr(out, "l.ini:2,3,5"));
	assert_non_null(strstr(strstr(out, "property = b=2"), "l.ini:3\n"));
	assert_non_null(strstr(strstr(out, "property = c=3"), "l.ini:5\n"));
	free(out);
}

/* A peer past the transport's limit would never hear from this node: refused,
 * not cut. */
static void too_many_peers_refused(void **state)
{
	struct fx *f = *state;
	struct strlist over = {0};
	char kv[64];

	for (int i = 0; i <= CONFIG_MAX_PEERS; i++) {
		snprintf(kv, sizeof(kv), "cluster.peer=10.0.%d.%d:2710", i / 250, i % 250 + 1);
		strlist_add(&over, kv);
	}
	assert_int_equal(load(f, "", &over), -1);
	expect_error(f, "cluster.peer: 65 peers", "at most 64");
	strlist_clear(&over);
}

/* The fencing token and the other variables the launcher sets cannot be
 * configured for the broker. */
static void failover_env_not_configurable(void **state)
{
	struct fx *f = *state;
	assert_int_equal(load(f, "[broker]\nenv = FAILOVER_TERM=1\nenv = FAILOVER_OWN=ok\n", NULL), -1);
	assert_int_equal(f->c->errors.n, 1);
	expect_error(f, "broker.env: FAILOVER_TERM is set by the launcher", "remove it");
}

/* Every key says what a reload does with it. */
static void reload_column(void **state)
{
	(void)state;
	assert_int_equal(cfg_table[CFG_cluster_node].reload, CFG_RELOAD_RESTART);
	assert_int_equal(cfg_table[CFG_cache_listen].reload, CFG_RELOAD_RESTART);
	assert_int_equal(cfg_table[CFG_cluster_delay].reload, CFG_RELOAD_LIVE);
	assert_int_equal(cfg_table[CFG_broker_env].reload, CFG_RELOAD_START);
	assert_int_equal(cfg_table[CFG_broker_url].reload, CFG_RELOAD_LIVE);
	assert_int_equal(cfg_table[CFG_cache_mode].reload, CFG_RELOAD_LIVE);
}

/* The cluster-wide digest changes with what every node must share, not
 * with a node's own settings; the noise warning names the settings. */
static void cluster_digest_and_noise(void **state)
{
	struct fx *f = *state;
	uint64_t base, d;
	char why[400];

	assert_int_equal(load(f, "[cluster]\ndelay = 100\nretries = 3\n", NULL), 0);
	base = settings_cluster_digest(f->c);
	assert_true(base != 0);
	f->c->cluster_position = 7;
	assert_true(settings_cluster_digest(f->c) == base);
	f->c->cluster_retries = 4;
	d = settings_cluster_digest(f->c);
	assert_true(d != base);
	f->c->cluster_retries = 3;
	f->c->cluster_expected_nodes = 3;
	assert_true(settings_cluster_digest(f->c) != base && settings_cluster_digest(f->c) != d);
	f->c->cluster_expected_nodes = 0;
	f->c->cluster_key_id = 2;
	assert_true(settings_cluster_digest(f->c) != base);
	f->c->cluster_key_id = 1;
	assert_true(settings_cluster_digest(f->c) == base);
	/* 100 ms x 3: the master steps down 150 ms late */
	assert_int_equal(settings_master_margin_ms(f->c), 150);
	assert_int_equal(settings_noise_check(f->c, 2000, why, sizeof(why)), 0);
	assert_int_equal(settings_noise_check(f->c, 40000, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "cluster.retries 3"));
	assert_non_null(strstr(why, "150 ms"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(defaults), T(unknown_section), T(unknown_key), T(bad_number), T(out_of_range), T(bad_address), T(http_listen), T(http_listen_fits), T(health_keys), T(etcd_keys),
		T(bad_bool_and_enum), T(missing_required), T(unreadable_file), T(directory_refused), T(relative_paths), T(cache_listen_and_url), T(nul_byte_refused),
		T(scalar_twice_refused), T(unreadable_bootstrap),
		T(long_line_refused_not_cut), T(syntax_error), T(indented_line_is_not_a_continuation),
		T(repeated_keys_make_lists), T(precedence), T(interlok_failover_keys),
		T(seed_keys_and_timeout_with_ini_delay), T(alias_conflict), T(bootstrap_bad_value), T(override_errors),
		T(env_home_and_java_home), T(pairs_checked), T(dump_shows_origins), T(too_many_peers_refused), T(failover_env_not_configurable),
		T(reload_column), T(cluster_digest_and_noise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
