# Per-key text of failover-launcher.ini(5), in roff.  Every key of
# launcher/config/config.def must be here and nothing else (gen5.py checks).
# 'default': replaces the generated "Default:" text (roff), when the
# config.def default is empty or computed.  'text': the description (gen5.py
# adds what a reload does, from config.def's reload column).
D = {}
def k(section, key, text, default=None, kind=None):
    D[(section, key)] = dict(text=text.strip('\n'), default=default, kind=kind)

# ---------------------------------------------------------------- cluster
k('cluster', 'name', r'''
The cluster's name.
A digest of it is carried in every packet: launchers of another cluster on
the same group and port are ignored (their packets count as
.B foreign\-cluster
drops).
The broker gets it as
.BR FAILOVER_CLUSTER .
''')
k('cluster', 'node', r'''
This node's id: 1 to 32 characters of
.BR A\-Z ,
.BR a\-z ,
.BR 0\-9 ,
.BR . ,
.BR _ ,
.B :
and
.BR \- .
Empty: the id kept in
.IR STATE_DIR/node\-id ,
else one generated once from the host name (dots become dashes) and six
random hex digits, and kept there.
An invalid id stops the daemon at start.
Two launchers with one id log an error and ignore each other's packets: give
every node its own.
''', default=r'empty (generated once, kept in \fISTATE_DIR/node\-id\fR)')
k('cluster', 'group', r'''
The IPv4 multicast group the launchers talk on, used when no
.B peer
is given.
Interlok's
.B failover.group
and
.B failover.multicast.group
set it too.
''')
k('cluster', 'port', r'''
The UDP port: of the multicast group, or with
.BR peer ,
the port this launcher binds on every local address (each peer names its
own).
.B failover.port
and
.B failover.multicast.port
set it too.
''')
k('cluster', 'interface', r'''
The interface, by name (for example
.BR eth1 )
or by one of its IPv4 addresses, that multicast is sent and received on.
Empty: the kernel's choice, which follows the routing table; name the
cluster network on hosts with several.
An interface that does not exist stops the daemon at start.
''', default=r'empty (the kernel\(aqs choice)')
k('cluster', 'ttl', r'''
Multicast TTL: how many routers a packet may cross; 1 stays on the local
network.
''')
k('cluster', 'loopback', r'''
Deliver this launcher's multicast to other launchers on the same host
.RB ( IP_MULTICAST_LOOP );
needed when several nodes share a host.
''')
k('cluster', 'peer', r'''
A unicast peer as
.IR host : port ,
one key each.
When any is given, multicast is off: every packet is sent to each peer.
Host names are resolved (IPv4) when the daemon starts; one that does not
resolve stops it.
At most 64 peers are used.
A node may list itself: its own packets are recognised, so every node can
use the same list.
.B failover.tcp.peers
sets it too.
''', default='none (multicast)')
k('cluster', 'delay', r'''
The heartbeat interval.
The failure timeout is
.BR retries " \(mu " delay ;
the claim window and the wait per rank are
.BR delay /2
(at least 10, at most 500 ms).
.B failover.delay
and
.B failover.ping.interval.seconds
set it too.
''')
k('cluster', 'retries', r'''
Missed heartbeats after which the master is lost: the failure timeout is
.BR retries " \(mu " delay
milliseconds without word of the master, from it or from a slave that heard
it.
A starting node also listens this long before it may claim.
.B failover.retries
sets it too, and so does
.B failover.instance.timeout.seconds
when no
.B retries
is given anywhere.
''')
k('cluster', 'position', r'''
Election order: the live node with the lowest position claims first, ties
broken by the node id in byte order.
Give each node its own.
.B failover.secondary.position
and
.B failover.slave.position
set it too.
''')
k('cluster', 'preempt', r'''
With
.BR yes ,
a node whose position is better than the live master's asks it to hand over,
and the master stops its broker and resigns in its favour.
With
.BR no ,
an old master that comes back stays slave (no failback).
''')
k('cluster', 'expected_nodes', r'''
The cluster's size, for quorum: a claim needs the votes of a majority (more
than half of this many nodes, the claimer included), and a master that sees
no majority for one failure timeout steps down and stops its broker.
0: no quorum.
1 is refused: it is not a cluster.
''')
k('cluster', 'state_dir', r'''
The directory of the node id, the term, the status file (see
.BR failover-launcher (8))
and the cache's file
.IR cache.db ;
created (mode 0750) when the daemon starts.
A relative path is taken from the INI file's directory, as for every path
key outside
.BR [broker] .
''')

k('cluster', 'auth', r'''
.B hmac
(the default): every cluster packet and every replication frame carries an
HMAC-SHA256 made with the shared key of
.BR key_file ;
packets without a known key, with a wrong tag, or replayed (an old sequence
number or boot of their sender) are dropped, counted by reason in the
metrics, and change no state.
.B none
turns authentication off, an explicit choice that is logged as a warning at
start.
''')

k('cluster', 'key_file', r'''
The shared key file: one key per line, \fIID\fR\fB:\fR\fIHEX\fR with an id
1..255 and 64 hex digits (32 bytes); lines starting with # are comments.
Several keys are accepted at once, for a rotation: add the new key on every
node, reload, switch
.BR key_id ,
reload, then remove the old key.
The file is refused when group or others may read it (keep it mode 0600).
.B failover\-launcher \-\-new\-key
.I FILE
writes a new one.
Reloaded by SIGHUP.
''')

k('cluster', 'key_id', r'''
The id of the key in
.B key_file
that new packets are signed with, 1..255.
Reloaded by SIGHUP.
''')

k('cluster', 'backend', r'''
Who decides which node leads.
.B multicast
(the default): the nodes' own heartbeats, on a LAN (multicast, or the unicast
.BR peer s).
.BR etcd :
a leader key in an etcd cluster (version 3.4 or later, through its v3 JSON
gateway), created only if absent and bound to the leader's lease; its term is
derived from the key's revision.
A master that cannot renew its lease stops its broker
.B lease_ttl
\(en margin after the last renewal it sent (the margin is a tenth of the TTL,
at least 500 ms), before the lease can end; with etcd down, no node serves.
With this backend no heartbeats are sent: each node's record in etcd tells
its peers where its cache replicates (see
.BR cache.port ).
''')

k('cluster', 'etcd_endpoint', r'''
An etcd client URL,
.BI http:// host : port
or
.BI https:// host : port
(repeat for each member).
A request that cannot reach one moves to the next.
''', default='none (required with \\fBbackend = etcd\\fR)')

k('cluster', 'etcd_prefix', r'''
The etcd key prefix: the cluster's keys are under
.IB PREFIX / name /
(the leader key, the term base, each node's record).
It starts with a slash and does not end with one.
''')

k('cluster', 'lease_ttl', r'''
The TTL in seconds of this node's etcd lease, which the leader key and its
record are bound to; etcd may grant more (the granted TTL is logged and used).
Renewed every third of it; a request to etcd waits a third of it, 5 s at
most, before it counts as failed (and goes to the next endpoint).
.B \-n
refuses a TTL that does not leave the broker's
.B stop_timeout
plus the margin before the lease ends.
''')

k('cluster', 'etcd_ca', r'''
The CA file that https endpoints are checked with.
''', default='the system\\(aqs')

k('cluster', 'etcd_cert', r'''
A client certificate for etcd, with
.BR etcd_key .
With etcd's authentication on (and
.BR etcd_user ),
give one without a CommonName: etcd's JSON gateway refuses a request whose
certificate has one (HTTP 400, \(lqCommonName of client sending a request
against gateway will be ignored\(rq).
''', default='none')

k('cluster', 'etcd_key', r'''
The client certificate's private key.
''', default='none')

k('cluster', 'etcd_user', r'''
The etcd user this node signs in as (etcd's simple or JWT tokens); with
.BR etcd_password_file .
''', default='none (no authentication)')

k('cluster', 'etcd_password_file', r'''
The file whose first line is
.BR etcd_user 's
password (keep it mode 0600).
The password is never printed, also not by
.BR \-n .
''', default='none')

k('cluster', 'etcd_failsafe', r'''
When no etcd member answers, a master normally stops its broker before its
lease ends.
With
.BR yes ,
it serves on while every other node in
.IB PREFIX / name /failsafe
(the members it wrote there while etcd answered) tells it, in the signed
heartbeats that every node then sends on the cluster socket, that it hears
it directly; a node that hears a master does not campaign, and a node not
listed there never does.
Needs
.B auth = hmac
and a
.B delay
of at most a third of
.BR lease_ttl .
Set it on every node, or on none.
''', default='no')

# ---------------------------------------------------------------- broker
k('broker', 'home', r'''
The broker's install root.
Relative paths of the other
.B [broker]
path keys (marked \(lqpath\(rq) are taken from it (those of the launcher's
own files, in the other sections, from the INI file's directory); a relative
.B home
itself is taken from the INI file's directory.
''', default=r'\fB$ADAPTRIS_HOME\fR, else the INI file\(aqs directory')
k('broker', 'bootstrap', r'''
The broker's
.IR bootstrap.properties .
Its failover keys are read (see
.BR BOOTSTRAP.PROPERTIES );
everything else in it belongs to the broker.
Its path is the default
.BR argument .
It must be readable when set.
''', default='none')
k('broker', 'java', r'''
The java binary.
A path with a slash is used as is (relative to
.BR home );
a bare name is looked up in
.BR PATH .
Empty:
.IB java_home /bin/java
when a java home is known, else
.B java
from
.BR PATH .
The preflight checks that it exists and is executable.
''', default=r'\fIjava_home\fB/bin/java\fR, else \fBjava\fR from \fBPATH\fR')
k('broker', 'java_home', r'''
The java home used to find
.B java
when
.B java
is empty.
It does not change the broker's environment (use
.B env = JAVA_HOME=.\|.\|.\&
for that).
''', default=r'\fB$JAVA_HOME\fR')
k('broker', 'config_dir', r'''
The first classpath entry; it must be a directory.
Empty for none.
''')
k('broker', 'lib_dir', r'''
Its
.I *.jar
files (regular files, any case of
.BR .jar ,
names starting with a dot skipped) follow on the classpath, sorted byte-wise
by name.
It must exist when set; empty for none.
The default agent is looked for among these jars.
''')
k('broker', 'lib_recursive', r'''
Also take the jars of
.BR lib_dir 's
subdirectories, sorted by their path relative to
.BR lib_dir .
''')
k('broker', 'classpath', r'''
An extra classpath entry after the jars, one key each: a path, which must
exist (with the
.B unix
separator, and with
.B windows
unless
.BR "path_style = none" );
a glob with
.BR * ,
.B ?\&
or
.BR [ ,
expanded by the launcher in byte order, which must match something; or
.IB dir /*\fR,\fP
Java's own wildcard, passed to java as is.
Relative entries are taken from
.B home
like every other path (with
.B path_style = none
and the
.B windows
separator they go to java as they are, and java reads them from
.BR working_dir ).
''', default='none')
k('broker', 'classpath_separator', r'''
.B unix
joins the classpath with
.BR : ;
.B windows
with
.BR ; ,
for a native Windows JVM started from Cygwin, MSYS2/MinGW or WSL.
With
.B windows
the launcher still reads and checks its own (Unix) paths, and every path it
puts on the JVM's command line (the classpath entries, the
.B \-javaagent
jar, an absolute
.BR aop_config ,
the class-data archive, and arguments and
.B \-D
values that name an existing file, such as the bootstrap properties) is
written as the JVM reads it:
.I C:\e...
or
.IR \e\eserver\eshare\e... ,
through the host's mount table (see
.B path_style
and
.BR mount_table ).
A classpath entry already in Windows form
.RI ( C:/x ,
.IR \e\eserver\ex )
is passed as it is, unchecked.
A path inside another value (an
.I xbean:file:/...
argument, a
.B \-D
value that is a URL or a list) is not converted: write it in the form the
JVM reads.
The java binary and the working directory stay Unix paths: the launcher
uses them itself.
''')
k('broker', 'path_style', r'''
With
.BR "classpath_separator = windows" :
the host's convention for turning Unix paths into Windows ones.
.B cygwin
(drives under the cygdrive prefix,
.IR /cygdrive/c ),
.B msys2
.RI ( /c ),
.B wsl
(drives under the automount root,
.IR /mnt/c ;
the distribution's own files become
.I \e\ewsl.localhost\eDISTRO\e...
when
.B WSL_DISTRO_NAME
is set);
a prefix the mount table shows (a drive's own mount, a
.B cygdrive
fstab line) replaces the default one, and the longest mount holding a path
wins.
.B auto
reads the convention from the mount table (a drvfs mount: WSL; another
Windows source: Cygwin or MSYS2, which read alike) and otherwise takes the
platform the launcher was built for.
.B none
passes the paths as they are (the JVM must then be given paths it can open).
A path under no mount and no drive is an error that names it.
''')
k('broker', 'mount_table', r'''
The mount table the Windows paths come from, read at each start of the
broker: the host's
.I /proc/mounts
(Cygwin, MSYS2 and WSL all have one) or a file holding the output of
.BR mount .
Not read with the
.B unix
separator or
.BR "path_style = none" .
''', default=r'\fI/proc/mounts\fR (none there: the convention\(aqs defaults)')
k('broker', 'profiler', r'''
Run the AspectJ profiler agent that Interlok's failover needs:
.BI \-javaagent: agent
and
.BI \-Dorg.aspectj.weaver.loadtime.configuration= aop_config
before the properties.
The preflight then also requires an
.I adp\-profiler.properties
naming
.B com.adaptris.profiler.plugin.factory
in the first classpath directory that holds one.
''')
k('broker', 'agent', r'''
The agent jar; it must exist.
Empty: the one
.I aspectjweaver*.jar
among the
.B lib_dir
jars; none, or several, is an error.
''', default=r'the one \fIaspectjweaver*.jar\fR in \fBlib_dir\fR')
k('broker', 'aop_config', r'''
The value of
.BR \-Dorg.aspectj.weaver.loadtime.configuration= ,
a resource name (not resolved as a path).
''')
k('broker', 'jvm_option', r'''
A JVM option, one key each, in order, after java.
The default applies only when the key is given nowhere;
.B jvm_option =
with an empty value gives no option at all.
.B \-jar
is refused: it ignores
.B \-cp
and the weaver misses classes; give
.B main_class
instead.
''', default=r'\fB\-Xmx1024m\fR')
k('broker', 'property', r'''
A system property
.IB NAME = VALUE\fR,\fP
passed as
.BI \-D NAME = VALUE\fR,\fP
one key each.
''', default='none')
k('broker', 'main_class', r'''
The main class, after the classpath.
The broker is never started with
.BR "java \-jar" .
''')
k('broker', 'argument', r'''
An argument after the main class, one key each.
''', default=r'the \fBbootstrap\fR path, when one is set; else none')
k('broker', 'env', r'''
An environment variable
.IB NAME = VALUE
for the broker, one key each; it replaces an inherited variable of that name.
.I NAME
is letters, digits and
.BR _ ,
not starting with a digit.
.B \-\-print\-command
shows these before the command.
''', default='none')
k('broker', 'working_dir', r'''
The broker's working directory.
''', default=r'\fBhome\fR')
k('broker', 'url', r'''
The broker URL this node advertises to clients, for example
.BR tcp://10.0.0.11:61616 ;
sent in heartbeats (at most 255 bytes) and shown by
.B failoverctl status
and
.BR "failoverctl locate" .
''', default='none')
k('broker', 'cds', r'''
A JVM class-data sharing archive in
.BR cluster.state_dir :
the first clean stop of the broker writes it
.RB ( \-XX:ArchiveClassesAtExit ),
later starts map it
.RB ( \-XX:SharedArchiveFile )
and reach serving sooner.
Its file name carries a digest of the java binary, the JVM options and the
classpath, so a change of any of them makes a new archive.
The JVM refuses an archive with a non-empty directory on the classpath; the
launcher says so before starting it.
''')

k('broker', 'warm_standby', r'''
Keep a JVM on every node that is idle or serving, started with the broker's
command but held before its main class
.RB ( failover.launcher.WarmStandby
from
.BR warm_jar ),
with the classes the broker loaded at its last run loaded
.RB ( load )
or also initialized
.RB ( init :
their static initializers run on the standby).
It binds and opens nothing of the broker's; when this node is to run the
broker (a promotion, a crashed broker), the fence holds it and the launcher
writes
.B go TERM
on its standard input, and it runs the broker's main method.
While it waits its process is named
.B warm\-standby
and its command carries
.BR \-Dfailover.warm=standby .
Its environment says
.B FAILOVER_ROLE=standby
and has no
.BR FAILOVER_TERM ;
the term is the system property
.BR failover.term .
JVM options that would open a port or a file at JVM start in the standby
too (a debugger agent, a GC or unified log file, a flight recording, a
remote JMX port) are refused.
It has the broker's heap options: about 70 MiB with ActiveMQ's example.
Not with the windows classpath separator.
''')

k('broker', 'warm_jar', r'''
The warm standby's helper jar, installed where the launcher was built with a
JDK.
''', default=r'\fIDATADIR\fB/failover\-launcher/failover\-warm.jar\fR (\fI/usr/share\fR in the Debian package)')

k('broker', 'stop_timeout', r'''
Stopping the broker sends
.B SIGTERM
(and
.BR SIGCONT )
to its process group, then
.B SIGKILL
after this long.
Exit status 143 after our
.B SIGTERM
is a clean stop.
The fence process uses it too: a master that cannot renew its deadline has
its broker sent
.B SIGTERM
this long before the deadline only when the deadline leaves that much
time (see
.BR failover\-launcher (8),
NOTES); otherwise, and at the defaults,
.B SIGKILL
at the deadline.
''')
k('broker', 'restart_min', r'''
After an unexpected exit (or a failed start) the broker is restarted after
this long, doubling with each failure up to
.BR restart_max .
''')
k('broker', 'restart_max', r'''
The longest restart delay.
''')
k('broker', 'max_restarts', r'''
Failures allowed within
.BR restart_window ;
one more makes the node resign mastership and stay slave for
.BR holddown .
''')
k('broker', 'restart_window', r'''
The window in which failures are counted.
''')
k('broker', 'holddown', r'''
How long a node that resigned because its broker kept failing makes no
claim.
''')
k('broker', 'ready_tcp', r'''
The broker is serving once this
.IR host : port
accepts a TCP connection (tried every 100 ms).
''', default='none')
k('broker', 'ready_pattern', r'''
The broker is serving once a line of its standard output or error contains
this text.
With neither
.B ready_tcp
nor
.BR ready_pattern ,
it is serving as soon as it is started.
''', default='none')
k('broker', 'ready_timeout', r'''
A broker not serving by then is a failed start: its group is killed and it
counts as a crash.
''')
k('broker', 'on_promote', r'''
A shell command
.RB ( "/bin/sh \-c" )
started when this node becomes master, without waiting for it; its
environment has
.BR FAILOVER_EVENT=promote ,
.BR FAILOVER_ROLE ,
.BR FAILOVER_NODE ,
.B FAILOVER_MASTER
and
.B FAILOVER_TERM
(see
.BR failover-launcher (8));
its output is logged.
After a partition heals and two masters meet, the one that stays master
runs it again, with the same environment, once the other has stepped down
(and the other runs
.BR on_demote ):
whatever the loser's hook told other systems during the split is put right.
With
.BR "cluster.backend = etcd" ,
there is no such meeting: etcd names one leader.
''', default='none')
k('broker', 'on_demote', r'''
The same, started when this node stops being master, with
.BR FAILOVER_EVENT=demote .
''', default='none')
k('broker', 'hook_timeout', r'''
A hook still running after this long is killed, with its process group.
''')

# ---------------------------------------------------------------- health
k('health', 'tcp', r'''
An IP address and port (numbers: no name is looked up on the event loop)
that must accept a TCP connection at each check.
It catches a listener that is gone or a port that is dropped, not a hung
JVM whose kernel still accepts connections for it.
''', default='none')
k('health', 'command', r'''
A shell command run at each check, in its own process group; exit status 0
is healthy.
What it printed last is the reason of a failure.
Killed, with its group, when the check times out.
''', default='none')
k('health', 'probe', r'''
A deep probe: a helper started once, when the broker is ready, that stays
up while it serves.
At each check the launcher writes
.BI "check " N
on its standard input and waits for
.BI "ok " N
(optionally followed by details;
.BI rtt_us= n
is shown as the probe's latency) or
.BI "fail " "N why"
on its standard output; its standard error is logged.
A helper that does not answer in time is killed, with its group, and a new
one is started for the next check.
It must exit at the end of its input.
For ActiveMQ,
.B probes/activemq
sends a persistent message through a queue of its own and receives it.
''', default='none')
k('health', 'interval', r'''
From the end of one check to the start of the next.
Checks never overlap.
''')
k('health', 'timeout', r'''
A check not done by then fails, and what it runs is killed.
''')
k('health', 'fall', r'''
Failed checks in a row before the broker is unhealthy.
''')
k('health', 'rise', r'''
Passed checks in a row before an unhealthy broker is healthy again.
A broker that failed fewer than
.B fall
checks is healthy again at its first pass.
''')
k('health', 'action', r'''
What an unhealthy broker does.
.B restart
stops it and starts it again on this node; after
.B broker.max_restarts
such restarts in a row (whatever
.B restart_window
says; ten passed checks in a row forget them) the node resigns.
.B resign
resigns at once; the node then stays slave for
.BR broker.holddown .
With no live eligible slave to take over, the master restarts its broker
instead and reports
.BR "degraded: no eligible healthy standby" .
''')
k('health', 'precheck', r'''
A shell command run every
.B precheck_interval
on every node; exit status 0: this node may become master.
A node that fails it, or has not run it yet, does not claim, is not named
by a resignation or a switchover and does not preempt; it still votes and
serves the cache.
Example:
.B "test -d /srv/activemq/kahadb"
where the shared store must be mounted.
''', default='none: always eligible')
k('health', 'precheck_interval', r'''
How often the precheck runs; it is killed after
.BR timeout .
''')

# ---------------------------------------------------------------- cache
k('cache', 'listen', kind='Host and port, port 0 to 65535.', text=r'''
The address of the cache's memcached text protocol listener: an IPv4
address and a port; port 0 takes any free one.
The broker finds the actual address in
.B FAILOVER_CACHE
and
.BR FAILOVER_CACHE_PORT .
Keep it on loopback: the protocol has no authentication.
''')
k('cache', 'max_entries', r'''
The most entries kept; a write beyond it is refused
.RB ( "SERVER_ERROR out of memory storing object" ),
nothing is evicted.
''')
k('cache', 'max_key', r'''
The longest key (memcached's own limit is 250).
''')
k('cache', 'max_value', r'''
The largest value; a larger one is refused
.RB ( "SERVER_ERROR object too large for cache" ).
''')
k('cache', 'mode', r'''
.BR sync :
a write returns once every live peer acknowledged it, or after
.B sync_timeout
with
.RI \(lqSERVER_ERROR\ stored\ here\ but\ not\ acknowledged\ by\  nodes .\|.\|.\(rq
(the write stays, and replication goes on).
.BR async :
a write returns at once and is replicated in the background.
''')
k('cache', 'sync_timeout', r'''
How long a synchronous write waits for acknowledgements.
''')
k('cache', 'port', r'''
The TCP port on which launchers replicate the cache to each other, on
.BR cluster.interface 's
address when it is set, else on every local address; advertised in
heartbeats, or with
.B cluster.backend = etcd
in the node's record there, with the listener's address (else the node's
address on its connection to etcd).
0 takes any free port.
Several launchers on one host each need their own (or 0), and their own
.BR listen .
''')
k('cache', 'tombstone_ttl', r'''
How long a removal is remembered, so that a peer that missed it does not
bring the value back.
''')

# ---------------------------------------------------------------- control
k('control', 'socket', r'''
The Unix socket
.BR failoverctl (1)
talks to, at most 107 bytes; its directory is created (mode 0750) when
missing.
A relative path is taken from
.BR broker.home .
A stale socket is replaced; one that another running launcher answers on
stops this one (exit status 1): give every launcher on a host its own.
''')
k('control', 'mode', r'''
The socket's permissions, in octal; connecting needs write permission, so
0660 admits the launcher's user and group.
''')

# ---------------------------------------------------------------- http
k('http', 'listen', r'''
The address and port of the read-only HTTP endpoint, for load balancers'
health checks and for Prometheus:
.B GET /primary
answers 200 on the master while its broker serves and is healthy, else 503;
.B /replica
200 on an eligible slave that sees a master, else 503 (both 503 from
SIGTERM on, so that a balancer moves away before the broker stops);
.B /health
and
.B /liveness
200 while the daemon's loop runs;
.B /readiness
200 once the node knows its role (past listening), else 503.
Their body, and that of
.BR /status ,
is the JSON of
.BR "failoverctl status \-\-json" ;
.B /peers
is that of
.BR "failoverctl peers \-\-json" ,
.B /history
that of
.BR "failoverctl history \-\-json" ,
.B /metrics
the Prometheus text of
.BR "failoverctl metrics" .
Only GET and HEAD (else 405); another path is 404.
The host is a dotted IPv4 address of this host;
.B 0.0.0.0
(every address) is accepted with a warning: the endpoint has no
authentication.
It is served on the daemon's event loop, at most 16 connections at once,
each closed after 5 s without progress or 10 s into a request that is not
yet answered (however slowly it trickles in), and refused (414 or 431)
past 8 KiB of request line and headers.
Examples for HAProxy (a health check on
.BR /primary )
and Prometheus, with alerting rules, are in
.IR /usr/share/failover\-launcher/examples .
''', default='empty (off)')

# ---------------------------------------------------------------- log
k('log', 'level', r'''
The least severe level logged.
.B \-v
and
.B \-q
move it one step each (at start; after a reload the level is this key's).
''')
k('log', 'journal', r'''
Prefix each line with its journald priority
.RB ( <3>
to
.BR <7> )
instead of a timestamp and level:
.B auto
when standard error is the journal
.RB ( JOURNAL_STREAM
names it),
.B yes
always,
.B no
never.
Read at start only.
''')
k('log', 'broker_output', r'''
Where the broker's output goes:
.B inherit
writes each line to the launcher's standard output or error as
.RI broker[ PID ]:\  line ;
anything else is a file each line is appended to (created with mode 0640; a
relative name is taken from the launcher's working directory).
A file that cannot be opened is logged and the launcher's streams are used.
''')
