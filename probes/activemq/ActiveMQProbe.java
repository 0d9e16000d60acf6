/*
 * activemq-probe: the deep health probe of the failover launcher for an
 * ActiveMQ broker.  The launcher starts it next to the master's broker once
 * the broker is ready ([health] probe) and stops it with the broker.
 *
 * Protocol (the launcher's, see its [health] section):
 *   stdin   one line per check: "check N" (N decimal)
 *   stdout  one line per check: "ok N rtt_us=U" (plus " stale=K" when K old
 *           probe messages were discarded first) or "fail N REASON"
 *   stderr  one line per state change (connected, lost, connect failed)
 *   EOF on stdin: close the connection, exit 0.
 *
 * A check sends a persistent TextMessage carrying this process's token and
 * N to a queue of its own, and receives from the same queue until that
 * message comes back: the broker took it into its store (a persistent send
 * waits for the broker's receipt) and dispatched it.  Older messages (an
 * answer too late for an earlier check, a killed predecessor's) are
 * discarded on the way.  The first check after connecting first drains what
 * is already there.  Messages live a few check timeouts (time to live), so
 * none outlives a dead consumer for long.
 *
 * One connection, one session, one producer and one consumer for the life
 * of the process while the broker answers: a check costs two small frames
 * each way, not a connection or a JVM.  Any JMS error (or no answer within
 * the budget) answers "fail N ...", drops the connection and connects anew
 * at the next check: a plain tcp:// transport, never failover:, so errors
 * surface instead of being retried away.
 *
 * The budget of a check is 4/5 of FAILOVER_CHECK_TIMEOUT_MS: the "fail"
 * reaches the launcher before its own timeout, which would kill this JVM
 * and start a new one.  Where the client library has no timeout of its own
 * (connecting to a broker that accepted the TCP connection but is stopped)
 * it may still block; the launcher's timeout covers that.
 *
 * Usage: activemq-probe [URL [QUEUE]]
 *   URL    broker URL (default $FAILOVER_BROKER_URL), e.g. tcp://10.5.0.1:61616;
 *          "-" or empty for the default
 *   QUEUE  probe queue (default failover.probe.$FAILOVER_NODE)
 * Exit status: 0 after EOF on stdin, 2 on a usage error.
 */

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.Session;
import javax.jms.TextMessage;

import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.transport.RequestTimedOutIOException;

public final class ActiveMQProbe {
	private static final String PROG = "activemq-probe";
	private static final long DEFAULT_TIMEOUT_MS = 2000;
	/* time to live of a probe message, in check timeouts */
	private static final int TTL_TIMEOUTS = 5;

	private final String url;
	private final String queueName;
	private final long timeoutMs;
	private final long budgetNs;
	private final ActiveMQConnectionFactory factory;
	/* told apart from a predecessor's messages with the same N */
	private final String token;
	private final Writer out;
	private final PrintStream err;

	private Connection connection;
	private MessageProducer producer;
	private MessageConsumer consumer;
	private Session session;
	private boolean purgeDue;
	/* the step of a check under way, for its "fail" reason */
	private String phase = "";
	/* what the connection's exception listener saw, for the next answer */
	private volatile Throwable asyncError;
	/* one stderr line per state change, not one per failing check */
	private String lastLogged = "";

	private ActiveMQProbe(String url, String queueName, long timeoutMs) {
		this.url = url;
		this.queueName = queueName;
		this.timeoutMs = timeoutMs;
		this.budgetNs = timeoutMs * 1000000L * 4 / 5;
		/* each step that can wait on the broker gives up within the
		 * budget: usually only one of them waits (a stopped broker's
		 * kernel accepts the connection, then nothing answers) */
		int b = (int) Math.max(1, Math.min(Integer.MAX_VALUE, budgetNs / 1000000L));
		this.factory = new ActiveMQConnectionFactory(transportUrl(url, b));
		factory.setSendTimeout(b);
		factory.setConnectResponseTimeout(b);
		factory.setCloseTimeout(b);
		/* no advisory consumer: nothing here watches temporary destinations */
		factory.setWatchTopicAdvisories(false);
		factory.setCopyMessageOnSend(false);
		byte[] r = new byte[6];
		new SecureRandom().nextBytes(r);
		StringBuilder sb = new StringBuilder();
		for (byte x : r)
			sb.append(String.format("%02x", x & 0xff));
		this.token = sb.toString();
		this.out = new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.US_ASCII);
		this.err = System.err;
	}

	/* The transport options that make a stopped broker an error within
	 * about a check timeout: the TCP connect, and the wire format exchange
	 * that follows it (a stopped JVM's kernel still accepts).  No
	 * soWriteTimeout: its filter would hide the negotiator from the
	 * negotiateTimeout option, and a probe's frames do not fill a socket. */
	static String transportUrl(String url, long timeoutMs) {
		StringBuilder sb = new StringBuilder(url);
		int q = url.indexOf('?');
		String query = q < 0 ? "" : "&" + url.substring(q + 1);
		for (String opt : new String[] { "connectionTimeout", "negotiateTimeout" }) {
			if (query.contains("&" + opt + "="))
				continue; /* the URL's own value stands */
			sb.append(sb.indexOf("?") < 0 ? '?' : '&').append(opt).append('=').append(timeoutMs);
		}
		return sb.toString();
	}

	/* A queue name from a node id: ActiveMQ reads '.', '*', '>' and ','
	 * in names (hierarchy, wildcards, composites), so only a plain id is kept. */
	static String defaultQueue(String node) {
		if (node == null || node.isEmpty())
			node = "default";
		StringBuilder sb = new StringBuilder("failover.probe.");
		for (int i = 0; i < node.length(); i++) {
			char c = node.charAt(i);
			boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
					|| c == '_';
			sb.append(plain ? c : '_');
		}
		return sb.toString();
	}

	/* One line, short, printable: the launcher logs it. */
	static String shortReason(Throwable t) {
		Throwable c = t;
		/* JMSException wraps the IOException that says what happened */
		while (c.getCause() != null && c.getCause() != c && (c.getMessage() == null || c instanceof JMSException))
			c = c.getCause();
		String m = c.getMessage();
		String s;
		/* these two have no message of their own */
		if (c instanceof RequestTimedOutIOException)
			s = "no receipt in time";
		else if (c instanceof java.io.EOFException)
			s = "connection closed by the broker";
		else
			s = c.getClass().getSimpleName() + (m == null || m.isEmpty() ? "" : ": " + m);
		return clean(s);
	}

	static String clean(String s) {
		StringBuilder sb = new StringBuilder();
		for (int i = 0; i < s.length() && sb.length() < 160; i++) {
			char c = s.charAt(i);
			sb.append(c < 0x20 || c > 0x7e ? ' ' : c);
		}
		return sb.toString().trim();
	}

	private void log(String what) {
		if (what.equals(lastLogged))
			return;
		lastLogged = what;
		err.println(PROG + ": " + what);
		err.flush();
	}

	private void answer(String line) throws IOException {
		out.write(line);
		out.write('\n');
		out.flush();
	}

	private void connect() throws JMSException {
		asyncError = null;
		Connection c = factory.createConnection();
		try {
			c.setExceptionListener(e -> asyncError = e);
			c.start();
			Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
			Queue q = s.createQueue(queueName);
			MessageProducer p = s.createProducer(q);
			p.setDeliveryMode(DeliveryMode.PERSISTENT);
			p.setTimeToLive(TTL_TIMEOUTS * timeoutMs);
			MessageConsumer m = s.createConsumer(q);
			connection = c;
			session = s;
			producer = p;
			consumer = m;
			purgeDue = true;
			log("connected to " + url + ", queue " + queueName);
		} catch (JMSException | RuntimeException e) {
			closeAsync(c);
			throw e;
		}
	}

	/* A dropped connection is closed off the main thread: against a hung
	 * broker close() waits for its receipt (up to the close timeout), and
	 * the next check must not wait for that. */
	private static void closeAsync(Connection c) {
		Thread t = new Thread(() -> {
			try {
				c.close();
			} catch (JMSException | RuntimeException ignored) {
				/* it is gone either way */
			}
		}, "probe-close");
		t.setDaemon(true);
		t.start();
	}

	private void drop(String why) {
		if (connection != null) {
			closeAsync(connection);
			log("lost: " + why);
		}
		connection = null;
		session = null;
		producer = null;
		consumer = null;
	}

	/* Answers check n: "ok ..." or "fail ..." */
	private String check(String n) {
		long start = System.nanoTime();
		long deadline = start + budgetNs;
		try {
			/* a connection the client library already saw fail (the
			 * broker went away between checks) is replaced at once */
			Throwable lost = asyncError;
			if (connection != null && lost != null)
				drop(shortReason(lost));
			if (connection == null) {
				try {
					connect();
				} catch (JMSException | RuntimeException e) {
					String r = shortReason(e);
					log("connect failed: " + r);
					return "fail " + n + " connect: " + r;
				}
			}
			int stale = 0;
			phase = "purge";
			if (purgeDue) {
				while (consumer.receiveNoWait() != null)
					stale++;
				purgeDue = false;
			}
			String body = token + " " + n;
			phase = "send";
			long sent = System.nanoTime();
			producer.send(session.createTextMessage(body));
			phase = "receive";
			for (;;) {
				long left = (deadline - System.nanoTime()) / 1000000L;
				/* receive(0) would wait for ever */
				Message m = left > 0 ? consumer.receive(left) : null;
				if (m == null) {
					Throwable e = asyncError;
					String r = e != null ? shortReason(e) : "nothing within " + budgetNs / 1000000L + " ms";
					drop(r);
					return "fail " + n + " receive: " + r;
				}
				if (m instanceof TextMessage && body.equals(((TextMessage) m).getText())) {
					long rtt = (System.nanoTime() - sent) / 1000L;
					return "ok " + n + " rtt_us=" + rtt + (stale > 0 ? " stale=" + stale : "");
				}
				stale++;
			}
		} catch (JMSException | RuntimeException e) {
			String r = shortReason(e);
			drop(r);
			return "fail " + n + " " + phase + ": " + r;
		}
	}

	private int run() throws IOException {
		/* connect before the first check: class loading and the TCP and
		 * wire format exchange are done by then, not inside its budget */
		try {
			connect();
		} catch (JMSException | RuntimeException e) {
			log("connect failed: " + shortReason(e));
		}
		BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
		String line;
		while ((line = in.readLine()) != null) {
			String n = parseCheck(line);
			if (n == null)
				continue; /* not a check: nothing to answer */
			answer(check(n));
		}
		/* EOF: the launcher is done with us; a hung broker must not hold
		 * the exit for longer than a check */
		Connection c = connection;
		if (c != null) {
			Thread t = new Thread(() -> {
				try {
					c.close();
				} catch (JMSException | RuntimeException ignored) {
					/* exiting anyway */
				}
			}, "probe-close");
			t.setDaemon(true);
			t.start();
			try {
				t.join(Math.min(timeoutMs, 1000));
			} catch (InterruptedException ignored) {
				Thread.currentThread().interrupt();
			}
		}
		return 0;
	}

	/* "check N" gives N (digits only), anything else null */
	static String parseCheck(String line) {
		String s = line.trim();
		if (!s.startsWith("check "))
			return null;
		String n = s.substring(6).trim();
		if (n.isEmpty() || n.length() > 20)
			return null;
		for (int i = 0; i < n.length(); i++)
			if (n.charAt(i) < '0' || n.charAt(i) > '9')
				return null;
		return n;
	}

	private static String env(String name) {
		String v = System.getenv(name);
		return v == null ? "" : v.trim();
	}

	public static void main(String[] args) throws IOException {
		if (args.length > 2 || (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help")))) {
			System.err.println("usage: " + PROG + " [URL [QUEUE]]   (defaults: $FAILOVER_BROKER_URL, "
					+ "failover.probe.$FAILOVER_NODE)");
			System.exit(2);
		}
		String url = args.length > 0 && !args[0].isEmpty() && !args[0].equals("-") ? args[0]
				: env("FAILOVER_BROKER_URL");
		String queue = args.length > 1 && !args[1].isEmpty() && !args[1].equals("-") ? args[1]
				: defaultQueue(env("FAILOVER_NODE"));
		if (url.isEmpty()) {
			System.err.println(PROG + ": no broker URL (argument or FAILOVER_BROKER_URL)");
			System.exit(2);
		}
		/* failover: would retry a lost broker quietly: the probe is to see it */
		String lower = url.toLowerCase(java.util.Locale.ROOT);
		if (lower.startsWith("failover:") || lower.startsWith("discovery:") || lower.startsWith("masterslave:")) {
			System.err.println(PROG + ": " + url + ": give this node's own broker URL (tcp://host:port), "
					+ "not a failover URL");
			System.exit(2);
		}
		long timeout = DEFAULT_TIMEOUT_MS;
		String t = env("FAILOVER_CHECK_TIMEOUT_MS");
		if (!t.isEmpty()) {
			try {
				timeout = Long.parseLong(t);
			} catch (NumberFormatException e) {
				timeout = -1;
			}
			if (timeout < 10 || timeout > 3600000) {
				System.err.println(PROG + ": FAILOVER_CHECK_TIMEOUT_MS=" + t + ": not a number of ms in 10..3600000");
				System.exit(2);
			}
		}
		int rc = new ActiveMQProbe(url, queue, timeout).run();
		/* the client's transport threads are not daemons */
		System.exit(rc);
	}
}
